"""Parse untrusted JSON text safely: nesting depth is capped before the parser recurses.

Python's ``json`` raises ``RecursionError`` (not ``ValueError``) near a
thousand levels, and anything recursive downstream would too; a Checkout body
is two levels deep, so anything past ``MAX_DEPTH`` is refused up front.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64
_TOKENS = re.compile(r'[\[\]{}"]')
_ESCAPES = re.compile(r"\\.", re.S)


class JSONTextError(ValueError):
    """The text is not usable JSON; the message never quotes the text."""


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


def loads(text: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` that refuses deep nesting and reports every failure as ``JSONTextError``."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JSONTextError(f"not UTF-8 (invalid byte at offset {exc.start})") from None
    # Cheap guard first: only text with many brackets can be deep.
    if text.count("[") + text.count("{") > max_depth and nesting_depth(text) > max_depth:
        raise JSONTextError(f"nested deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise JSONTextError(f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except (RecursionError, ValueError) as exc:
        raise JSONTextError(f"not valid JSON ({type(exc).__name__})") from None
