"""Parse untrusted JSON text safely: nesting depth is capped before the parser recurses.

Python's ``json`` raises ``RecursionError`` (not ``ValueError``) near a
thousand levels, and anything recursive downstream would too; a Checkout body
is two levels deep, so anything past ``MAX_DEPTH`` is refused up front.
"""

from __future__ import annotations

import json
import re
from typing import Any

from orjson import dumps as _orjson_dumps

from .findings import json_pointer

MAX_DEPTH = 64
_TOKENS = re.compile(r'[\[\]{}"]')
_ESCAPES = re.compile(r"\\.", re.S)


class JSONTextError(ValueError):
    """The text is not usable JSON; the message never quotes the text."""


class DuplicateKeyObject(dict):  # type: ignore[type-arg]  # a JSON object: str keys, any values
    """A parsed object in which a key appeared more than once (the last value is kept, as every parser here does).

    Parsers disagree on which value wins: a provider that keeps the first signs
    another body than the client did. The judge reports ``duplicates``.
    """

    __slots__ = ("duplicates",)
    duplicates: tuple[str, ...]


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) == len(pairs):
        return value
    marked = DuplicateKeyObject(value)
    seen: set[str] = set()
    marked.duplicates = tuple(dict.fromkeys(k for k, _ in pairs if k in seen or seen.add(k)))  # type: ignore[func-returns-value]
    return marked


_CONTAINERS = (dict, list, DuplicateKeyObject)


def duplicate_keys(value: Any, pointer: str = "") -> list[str]:
    """JSON pointers of every key that appears twice in one object, anywhere in ``value``."""
    if type(value) is dict and not any(type(v) in _CONTAINERS for v in value.values()):
        return []  # the common case: a flat object parsed without a repeated key
    found: list[str] = []
    if isinstance(value, dict):
        if isinstance(value, DuplicateKeyObject):
            found += [pointer + json_pointer(k) for k in value.duplicates]
        for k, v in value.items():
            if isinstance(v, (dict, list)):
                found += duplicate_keys(v, pointer + json_pointer(k))
    elif isinstance(value, list):
        for n, v in enumerate(value):
            if isinstance(v, (dict, list)):
                found += duplicate_keys(v, f"{pointer}/{n}")
    return found


def nesting_depth(text: str) -> int:
    """Maximum bracket depth outside strings."""
    depth = deepest = 0
    in_string = False
    for ch in _TOKENS.findall(_ESCAPES.sub("", text)):
        if ch == '"':
            in_string = not in_string
        elif in_string:
            continue
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


_DECODER = json.JSONDecoder(object_pairs_hook=_object)
_PLAIN = json.JSONDecoder()


def loads(text: str | bytes, max_depth: int = MAX_DEPTH, duplicates: bool = True) -> Any:
    """``json.loads`` that refuses deep nesting and reports every failure as ``JSONTextError``.

    With ``duplicates`` (the default) an object holding a key twice comes back as a
    ``DuplicateKeyObject``; without, parsing is a little faster (for text whose objects are not judged).
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JSONTextError(f"not UTF-8 (invalid byte at offset {exc.start})") from None
    # Cheap guard first: only text with many brackets can be deep.
    if text.count("[") + text.count("{") > max_depth and nesting_depth(text) > max_depth:
        raise JSONTextError(f"nested deeper than {max_depth} levels")
    try:
        return (_DECODER if duplicates else _PLAIN).decode(text)
    except json.JSONDecodeError as exc:
        raise JSONTextError(f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise JSONTextError("nested too deeply to read") from None
    except ValueError:  # what remains: an integer past Python's 4300-digit conversion limit
        raise JSONTextError("not usable JSON (a number with thousands of digits)") from None


def json_bytes(value: Any) -> bytes:
    """Compact JSON in UTF-8; a lone surrogate (it parses, but has no UTF-8 form) is written as its escape."""
    if _orjson_writes_alike(value):
        # orjson writes strings, integers, booleans, null and containers of them byte for byte as json.dumps does
        # here (tests/test_report.py holds it to that), at a twentieth of the cost: the fake answers every call.
        try:
            return _orjson_dumps(value)
        except TypeError:  # a key that is not a string, an integer past 64 bits, a lone surrogate: json's way
            pass
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, separators=(",", ":")).encode("ascii")


_ALIKE = frozenset({str, int, bool, type(None)})  # exact types: a subclass (an Enum, say) takes json's way
_ARRAYS_AND_OBJECTS = frozenset({dict, list, tuple})
_ALIKE_OR_CONTAINER = _ALIKE | _ARRAYS_AND_OBJECTS


def _orjson_writes_alike(value: Any) -> bool:
    """Whether ``value`` holds only what orjson writes exactly as json.dumps: no floats (their exponent form
    differs), nothing json would refuse and orjson would take (a dataclass, a datetime)."""
    kind = type(value)
    if kind is dict:
        items: Any = value.values()
    elif kind is list or kind is tuple:
        items = value
    else:
        return kind in _ALIKE
    kinds = set(map(type, items))
    if kinds <= _ALIKE:
        return True
    if not kinds <= _ALIKE_OR_CONTAINER:
        return False
    for v in items:  # noqa: SIM110 (a loop: all() over a generator costs a frame per call)
        if type(v) in _ARRAYS_AND_OBJECTS and not _orjson_writes_alike(v):
            return False
    return True
