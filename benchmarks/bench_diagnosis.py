"""Cost of diagnosing a wrong sign, against the cost of verifying a right one (the baseline), in the same run.

    python benchmarks/bench_diagnosis.py [ROUNDS]      (default 7)

Bodies: a documented Checkout body (strings only), and the same body with the values the extra
recipes look at (null, a boolean, a fractional number, a nested object, a big integer). Wrong signs:
one known mistake (insertion order), and a value changed after signing (no recipe reproduces it: the
worst case, every candidate is tried). Interleaved rounds; medians of microseconds per call.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from vexora_conformance.contract import signing
from vexora_conformance.contract.signing.diagnosis import diagnose, recipe_for, sign_with

SECRET = "bench-secret"
PLAIN: dict[str, Any] = {"timestamp": "1764000000000", "tradeNo": "2025112416000123", "amount": "300",
                         "notifyUrl": "https://merchant.example/notify", "wayCode": "va", "remark": "order 17",
                         "payer": "Jose Perez", "email": "jose@example.mx", "mobile": "5512345678"}
AMBIGUOUS: dict[str, Any] = {**PLAIN, "remark": None, "promo": True, "rate": 1.5, "meta": {"a": 1},
                             "big": 2**60 + 1}


def per_call(fn: Callable[[], Any], n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - started) / n * 1e6


def cases() -> dict[str, Callable[[], Any]]:
    out: dict[str, Callable[[], Any]] = {}
    for name, body in (("plain", PLAIN), ("ambiguous values", AMBIGUOUS)):
        good = {**body, "sign": signing.sign(body, SECRET)}
        known = sign_with(body, SECRET, recipe_for("insertion-order"))
        changed = {**good, "amount": "301"}
        out[f"{name}: verify (baseline)"] = lambda good=good: signing.verify(good, SECRET)
        out[f"{name}: diagnose insertion-order"] = lambda body=body, known=known: diagnose(body, SECRET, known)
        out[f"{name}: diagnose value changed"] = lambda changed=changed: diagnose(changed, SECRET, changed["sign"])
    return out


def main(rounds: int) -> None:
    table: dict[str, list[float]] = {name: [] for name in cases()}
    for _ in range(rounds):
        for name, fn in cases().items():
            table[name].append(per_call(fn, 3000 if "verify" in name else 60))
    width = max(map(len, table))
    for name, samples in table.items():
        base = statistics.median(table[name.split(":")[0] + ": verify (baseline)"])
        med = statistics.median(samples)
        print(f"{name:<{width}}  {med:9.1f} us  {med / base:7.1f}x verify  "
              f"(range {min(samples):.1f}-{max(samples):.1f})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
