"""How other languages turn a JSON value into text, for naming the client mistake behind a wrong sign.

The reference renders with Java's ``String.valueOf``; JavaScript clients render with
``String(value)`` (ECMAScript ``Number::toString`` for numbers), which differs for
fractional numbers, exponents and nested values.
"""

from __future__ import annotations

import json
import math
from typing import Any


def js_number(value: float) -> str:
    """ECMAScript ``Number::toString``: the shortest round-trip digits, laid out by JavaScript's rules."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"  # -0 too
    sign = "-" if value < 0 else ""
    digits, n = _shortest(abs(value))
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + digits
    exponent = n - 1
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{sign}{mantissa}e{'+' if exponent > 0 else '-'}{abs(exponent)}"


def _shortest(value: float) -> tuple[str, int]:
    """(digits, n) with value = 0.digits x 10^n, from Python's repr (also the shortest round-trip form)."""
    text = repr(value)
    mantissa, _, exp = text.partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    n = len(whole.lstrip("0")) + (int(exp) if exp else 0)
    if not whole.lstrip("0"):  # 0.00ddd: the leading zeros of the fraction move the point
        n = (int(exp) if exp else 0) - (len(frac) - len(frac.lstrip("0")))
    return digits.rstrip("0") or "0", n


def js_string(value: Any) -> str:
    """``String(value)`` for a value parsed from JSON (arrays join their items with commas)."""
    if isinstance(value, dict):
        return "[object Object]"
    if isinstance(value, list):
        return ",".join("" if item is None else js_string(item) for item in value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return js_number(value)
    if isinstance(value, int):
        return js_number(as_double(value)) if abs(value) > 2**53 else str(value)
    return str(value)


def as_double(value: int) -> float:
    """The double JSON.parse makes of an integer: rounded past 2^53, Infinity past the largest double."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def js_json(value: Any) -> str:
    """``JSON.stringify(value)``: compact JSON whose numbers print as JavaScript prints them."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{js_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(js_json(v) for v in value) + "]"
    if isinstance(value, float) and not math.isfinite(value):
        return "null"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return js_string(value)
    return json.dumps(value, ensure_ascii=False)
