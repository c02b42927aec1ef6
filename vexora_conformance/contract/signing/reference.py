"""The provider's reference signing routine, reproduced exactly.

The provider publishes it in Java (see README, "The signing rule"):
sort the body's keys with ``Collections.sort`` (UTF-16 code-unit order), render
each value with ``String.valueOf`` (``null`` -> ``"null"``), skip ``sign`` and
empty renderings, join ``key=value`` pairs with nothing between them, append
the app secret, MD5 the UTF-8 bytes, lowercase hex.

Values whose rendering depends on the server's JSON library are reported by
:func:`ambiguities`; they are still signed the way the routine most likely
renders them, never silently treated as safe.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

_md5: Callable[[bytes], Any]
try:
    # CPython's own MD5: on the short texts signed here, a third cheaper than OpenSSL's (every request is hashed)
    _md5 = importlib.import_module("_md5").md5
except ImportError:  # a Python built without it: hashlib's, which is OpenSSL's
    # usedforsecurity=False: MD5 is the provider's choice, and FIPS builds refuse it otherwise.
    _md5 = partial(hashlib.md5, usedforsecurity=False)

SIGN_KEY = "sign"
MASK = "********"


class Secret:
    """An app secret whose ``repr``/``str`` never show it; ``reveal()`` is the only way out."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("the app secret must be a str")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    __str__ = __repr__


def as_secret(secret: Secret | str) -> Secret:
    return secret if isinstance(secret, Secret) else Secret(secret)


def java_order_key(key: str) -> bytes:
    """Sort key equal to Java's ``String.compareTo``: UTF-16 code units, compared unsigned.

    Big-endian UTF-16 bytes compare exactly like the code-unit sequence;
    ``surrogatepass`` keeps lone surrogates (legal in JSON keys) sortable.
    """
    return key.encode("utf-16-be", "surrogatepass")


def render(value: Any) -> str:
    """``String.valueOf(value)`` for a value parsed from JSON."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Ambiguous (see ambiguities()); Java's Double.toString agrees with repr on plain cases.
        return repr(value)
    # Nested objects/arrays: the compact JSON text most Java JSON libraries print.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _require_object(params: Any) -> Mapping[str, Any]:
    if type(params) is not dict and not isinstance(params, Mapping):  # a dict first: the ABC check is slower
        raise TypeError(f"params must be a JSON object (a mapping), not {type(params).__name__}")
    return params


def signed_pairs(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The ``(key, rendered value)`` pairs the reference signs, in signing order."""
    params = _require_object(params)
    # Java and code-point order agree unless a key holds a surrogate-range or astral character.
    keys = sorted(params) if "".join(params).isascii() else sorted(params, key=java_order_key)
    pairs = []
    for key in keys:
        rendered = render(params[key])
        if key != SIGN_KEY and rendered != "":
            pairs.append((key, rendered))
    return pairs


def _plain_strings(params: Mapping[str, Any]) -> bool:
    """ASCII keys and non-empty string values only (checked in C: joining fails on anything but strings)."""
    values = params.values()
    try:
        "".join(values)
    except TypeError:
        return False
    return "" not in values and "".join(params).isascii()


def canonical_string(params: Mapping[str, Any]) -> str:
    """The string that is signed, before the secret is appended."""
    params = _require_object(params)
    if _plain_strings(params):
        # The common body - ASCII keys, non-empty string values - joined in C (validate signs one per record):
        # for it the rule is only "sort, skip sign, join key=value", and code-point order is Java's.
        pairs = dict(params)
        pairs.pop(SIGN_KEY, None)
        return "".join(map("=".join, sorted(pairs.items())))
    return "".join(f"{k}={v}" for k, v in signed_pairs(params))


def md5_hex(text: str) -> str:
    # "replace" turns a lone surrogate into "?", exactly as Java's getBytes(UTF_8) does.
    digest: str = _md5(text.encode("utf-8", "replace")).hexdigest()
    return digest


def sign(params: Mapping[str, Any], secret: Secret | str) -> str:
    """The reference ``sign``: 32 lowercase hex digits."""
    return md5_hex(canonical_string(params) + as_secret(secret).reveal())


def normalise_sign(observed: Any) -> str | None:
    """An observed sign as ASCII text, or None when it cannot be a sign at all."""
    if not isinstance(observed, str) or not observed.isascii():
        return None
    return str(observed)


def verify(params: Mapping[str, Any], secret: Secret | str, observed: Any = None) -> bool:
    """True when the observed sign (default: ``params["sign"]``) equals the reference, compared in constant time."""
    if observed is None:
        observed = _require_object(params).get(SIGN_KEY)
    text = normalise_sign(observed)
    if text is None:
        return False
    return hmac.compare_digest(text, sign(params, secret))  # both ASCII: compared as they are


# --- values the reference signs, but whose rendering the client cannot be sure of ---


@dataclass(frozen=True)
class Ambiguity:
    id: str  # stable: null-value, fractional-number, boolean-value, nested-value
    key: str
    message: str


AMBIGUITY_IDS = ("null-value", "fractional-number", "boolean-value", "nested-value")

_AMBIGUOUS: list[tuple[str, Callable[[Any], bool], str]] = [
    ("null-value", lambda v: v is None,
     "null is signed as the text 'null' by the reference, but many clients skip it; send no key instead"),
    ("boolean-value", lambda v: isinstance(v, bool),
     "a boolean is signed as 'true'/'false' by the reference; the contract documents strings, send a string"),
    ("fractional-number", lambda v: isinstance(v, float),
     "a fractional or exponent number renders differently across JSON libraries (300.5, 300.50, 3.005E2)"),
    ("nested-value", lambda v: isinstance(v, (dict, list)),
     "a nested object or array has no portable text rendering; it cannot be signed reliably"),
]


def ambiguities(params: Mapping[str, Any]) -> list[Ambiguity]:
    """Every signed value whose rendering is not portable, with a stable id; ``sign`` itself is ignored."""
    found = []
    for key, value in _require_object(params).items():
        if key == SIGN_KEY or type(value) is str or type(value) is int:
            continue  # the portable cases, checked first because they are nearly all of them
        for ident, test, message in _AMBIGUOUS:
            if test(value):
                found.append(Ambiguity(ident, key, message))
                break
    return found


def masked_preimage(params: Mapping[str, Any]) -> str:
    """What is hashed, with the secret masked: safe to print."""
    return canonical_string(params) + MASK


__all__ = [
    "AMBIGUITY_IDS",
    "Ambiguity",
    "Secret",
    "ambiguities",
    "canonical_string",
    "java_order_key",
    "masked_preimage",
    "md5_hex",
    "render",
    "sign",
    "signed_pairs",
    "verify",
]
