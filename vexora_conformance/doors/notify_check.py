"""check-notify's battery: the provider's notification and its broken twins, sent to a running handler.

Valid ones want exactly ``OK``; a repeat wants ``OK`` again; tampered, unsigned, wrongly signed and
foreign-secret ones want anything but ``OK``; malformed ones neither ``OK`` nor a 5xx. Each answer is judged
by ``notify.deliver`` and ``notify.judge_case``.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, replace
from typing import IO

from ..contract import signing
from ..core.findings import Finding
from ..core.outcome import Judged, Outcome
from ..core.text import one_line
from ..judge.exchange import JudgeOptions
from .notify import TIMEOUT_S, Case, Delivery, Send, deliver, judge_case, signed, tampered


def battery_cases(secret: signing.Secret, trade_no: str, amount: str, platform: str) -> list[Case]:
    """Every case check-notify sends, in order (the duplicate repeats the first)."""
    base = {"platFormTradeNo": platform, "tradeNo": trade_no, "amount": amount}
    paid = signed({**base, "status": "0000"}, secret)
    smaller = str(max(1, int(amount) // 2)) if amount.isdigit() and int(amount) > 1 else "1"
    other_hex = hashlib.md5(b"not the sign of this body", usedforsecurity=False).hexdigest()
    return [
        Case("valid notification: 0000 paid", paid, "valid"),
        Case("valid notification: 0001 partial, a smaller amount",
             signed({**base, "amount": smaller, "status": "0001"}, secret), "valid"),
        Case("valid notification: 00029 failed", signed({**base, "status": "00029"}, secret), "valid"),
        Case("the first notification again (a retry)", paid, "duplicate"),
        Case("a tampered amount with the old sign", tampered(paid), "forged"),
        Case("a wrong sign", json.dumps({**base, "status": "0000", "sign": other_hex}).encode(), "forged"),
        Case("no sign", json.dumps({**base, "status": "0000"}).encode(), "forged"),
        Case("a sign made with another secret", signed({**base, "status": "0000"}, "not-the-app-secret"), "forged"),
        Case("malformed JSON", b'{"tradeNo": "' + trade_no.encode() + b'", ', "malformed"),
        Case("an empty body", b"", "malformed"),
        Case("an unknown tradeNo", signed({**base, "tradeNo": f"unknown-{time.time_ns()}", "status": "0000"},
                                          secret), "unknown-order"),
    ]


@dataclass
class BatteryResult:
    url: str
    cases: list[tuple[Case, Delivery, list[Finding]]]
    generated_trade_no: bool

    @property
    def unreachable(self) -> bool:
        return bool(self.cases) and all(d.failure is not None and d.failure.startswith("unreachable")
                                        for _, d, _ in self.cases)


def battery(send: Send, url: str, secret: signing.Secret, trade_no: str | None, amount: str | None,
            timeout: float = TIMEOUT_S) -> BatteryResult:
    """Run every case against a handler; stops early when the first case cannot reach it."""
    generated = trade_no is None
    options = JudgeOptions(secret=secret)
    cases = battery_cases(secret, trade_no or f"vexora-check-{time.time_ns()}", amount or "300",
                          f"vx{time.time_ns() % 10**14:014d}")
    result = BatteryResult(url, [], generated)
    for n, case in enumerate(cases):
        delivery = deliver(send, url, case.body, options, timeout)
        found = [replace(f, source=url, index=n, details={**f.details, **delivery.details(case.name)})
                 for f in judge_case(case, delivery)]
        if generated and case.kind == "valid":
            found = [replace(f, hint=f"{f.hint} (a generated tradeNo was used: a handler that refuses unknown "
                                     "orders needs --trade-no and --amount)") if f.rule == "notify.reply" else f
                     for f in found]
        result.cases.append((case, delivery, found))
        if n == 0 and delivery.failure is not None and delivery.failure.startswith("unreachable"):
            break
    return result


def battery_outcome(result: BatteryResult) -> Outcome:
    """A check-notify run in the report model of ``validate`` (one exchange per case)."""
    outcome = Outcome(sources=[result.url], exchanges=len(result.cases), endpoint_order=("notify",))
    for n, (case, _, found) in enumerate(result.cases):
        outcome.judged.append(Judged(result.url, n, case.name))
        for f in found:
            outcome.add(f)
    return outcome


def write_battery_text(result: BatteryResult, out: IO[str], merchant_no: str | None) -> None:
    """One line per case (verdict, case, answer, time), its findings under it, then PASS or FAIL."""
    print(f"check-notify {one_line(result.url)}" + (f" (merchant {merchant_no})" if merchant_no else ""), file=out)
    errors = 0
    for case, delivery, found in result.cases:
        answer = (f"HTTP {delivery.status} {delivery.text[:40]!r}" if delivery.status is not None
                  else delivery.failure)
        verdict = "FAIL" if any(f.severity == "error" for f in found) else ("warn" if found else "ok")
        errors += verdict == "FAIL"
        print(one_line(f"  {verdict:<4} {case.name}: {answer} ({delivery.elapsed_s * 1000:.0f} ms)"), file=out)
        for f in found:
            print(one_line(f"         {f.severity} {f.rule}: {f.message}"), file=out)
            if f.hint:
                print(one_line(f"         hint: {f.hint}"), file=out)
    if result.generated_trade_no:
        print("note: a generated tradeNo was used; a handler that refuses unknown orders needs --trade-no and "
              "--amount of an order it knows", file=out)
    print(f"{'FAIL' if errors else 'PASS'}: {len(result.cases)} case(s), {errors} failed", file=out)


