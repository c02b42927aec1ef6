"""check-notify's battery: the provider's notification and its broken twins, sent to a running handler.

Without a state adapter the answers alone are judged: a valid notification wants exactly ``OK``, a repeat of an
acknowledged one ``OK`` again, a tampered, unsigned or foreign-signed one anything but ``OK``, a malformed body
neither ``OK`` nor a 5xx. With one (``effects``), each sequence runs on a fresh order and the order's state is
judged after every step too. Either way no contradicting sequence is sent to one order without being said to be
undocumented, and a generated tradeNo (an order the handler cannot know) is never held against a refusal.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field, replace
from typing import IO

from ..contract import signing
from ..contract.markets import DEFAULT
from ..core.findings import Finding, Severity
from ..core.outcome import Judged, Outcome
from ..core.text import one_line
from ..judge.exchange import JudgeOptions
from .effects import run_sequences, step_label
from .notify import TIMEOUT_S, Case, Delivery, Send, deliver, judge_case, signed, tampered
from .state import StateAdapter


def battery_cases(secret: signing.Secret, trade_no: str, amount: str, platform: str,
                  known: bool = True) -> list[Case]:
    """Every case of the answers-only battery, in order (the repeat repeats the first). ``known``: the handler
    has this order (``--trade-no``); else its valid notifications may be refused."""
    base = {"platFormTradeNo": platform, "tradeNo": trade_no, "amount": amount}
    paid = signed({**base, "status": "0000"}, secret)
    smaller = str(max(1, int(amount) // 2)) if amount.isdigit() and int(amount) > 1 else "1"
    other_hex = hashlib.md5(b"not the sign of this body", usedforsecurity=False).hexdigest()
    valid = "valid" if known else "valid-unknown"
    return [
        Case("valid notification: 0000 paid", paid, valid),
        Case("the first notification again (a retry)", paid, "duplicate" if known else valid),
        # after a final 0000 the pages say nothing of another status for the order: shown, not judged
        Case("0001 after the 0000 (undocumented)", signed({**base, "amount": smaller, "status": "0001"}, secret),
             "undocumented"),
        Case("00029 after the 0000 (undocumented)", signed({**base, "status": "00029"}, secret), "undocumented"),
        Case("a tampered amount with the old sign", tampered(paid), "forged"),
        Case("a wrong sign", json.dumps({**base, "status": "0000", "sign": other_hex}).encode(), "forged"),
        Case("no sign", json.dumps({**base, "status": "0000"}).encode(), "forged"),
        Case("a sign made with another secret", signed({**base, "status": "0000"}, "not-the-app-secret"), "forged"),
        *extra_cases(secret, trade_no, platform),
    ]


def extra_cases(secret: signing.Secret, trade_no: str, platform: str) -> list[Case]:
    """The cases no order's state is about: bodies that are no notification, and an order nobody has."""
    return [
        Case("malformed JSON", b'{"tradeNo": "' + trade_no.encode() + b'", ', "malformed"),
        Case("an empty body", b"", "malformed"),
        Case("an unknown tradeNo", signed({"platFormTradeNo": platform, "tradeNo": f"unknown-{time.time_ns()}",
                                           "amount": "300", "status": "0000"}, secret), "unknown-order"),
    ]


@dataclass
class CaseResult:
    case: Case
    delivery: Delivery
    findings: list[Finding]
    state: str | None = None  # "credited 0, status 'pending' -> credited 500, status 'paid'"


@dataclass
class BatteryResult:
    url: str
    cases: list[CaseResult] = field(default_factory=list)
    generated_trade_no: bool = False
    with_state: bool = False

    @property
    def unreachable(self) -> bool:
        return bool(self.cases) and all(r.delivery.failure is not None and r.delivery.failure.startswith(
            "unreachable") for r in self.cases)


def _stamped(found: list[Finding], url: str, n: int, delivery: Delivery, name: str) -> list[Finding]:
    return [replace(f, source=url, index=n, details={**f.details, **delivery.details(name)}) for f in found]


def battery(send: Send, url: str, secret: signing.Secret, trade_no: str | None, amount: str | None,
            timeout: float = TIMEOUT_S) -> BatteryResult:
    """The answers-only battery; stops early when the first case cannot reach the handler."""
    generated = trade_no is None
    options = JudgeOptions(secret=secret)
    cases = battery_cases(secret, trade_no or f"vexora-check-{time.time_ns()}", amount or "300",
                          f"vx{time.time_ns() % 10**14:014d}", known=not generated)
    result = BatteryResult(url, [], generated)
    first_acknowledged = True
    for n, case in enumerate(cases):
        if case.kind == "duplicate" and not first_acknowledged:
            case = replace(case, kind="valid")  # a repeat of a notification that was never acknowledged
        delivery = deliver(send, url, case.body, options, timeout)
        if n == 0:
            first_acknowledged = delivery.acknowledged
        result.cases.append(CaseResult(case, delivery, _stamped(judge_case(case, delivery), url, n, delivery,
                                                                 case.name)))
        if n == 0 and delivery.failure is not None and delivery.failure.startswith("unreachable"):
            break
    return result


def effect_battery(send: Send, url: str, secret: signing.Secret, state: StateAdapter,
                   timeout: float = TIMEOUT_S) -> BatteryResult:
    """Every sequence on a fresh order (``effects``), then the cases no order is about."""
    result = BatteryResult(url, with_state=True)
    options = JudgeOptions(secret=secret)
    for n, step in enumerate(run_sequences(send, url, secret, state, timeout)):
        name = step_label(step)
        change = step.before.shown() if step.after == step.before else f"{step.before.shown()} -> {step.after.shown()}"
        result.cases.append(CaseResult(replace(step.case, name=name), step.delivery,
                                       _stamped(step.findings, url, n, step.delivery, name), change))
        if n == 0 and step.delivery.failure is not None and step.delivery.failure.startswith("unreachable"):
            return result
    for case in extra_cases(secret, f"vexora-check-{time.time_ns()}", f"vx{time.time_ns() % 10**14:014d}"):
        n = len(result.cases)
        delivery = deliver(send, url, case.body, options, timeout)
        result.cases.append(CaseResult(case, delivery, _stamped(judge_case(case, delivery), url, n, delivery,
                                                                 case.name)))
    return result


def battery_outcome(result: BatteryResult) -> Outcome:
    """A check-notify run in the report model of ``validate`` (one exchange per case, all notifications)."""
    outcome = Outcome(sources=[result.url], endpoint_order=("notify",))
    for n, r in enumerate(result.cases):
        outcome.judged_exchange("notify", DEFAULT, "shared")
        outcome.judged.append(Judged(result.url, n, r.case.name))
        for f in r.findings:
            outcome.add(f)
    return outcome


def write_battery_text(result: BatteryResult, out: IO[str], merchant_no: str | None) -> None:
    """One line per case (verdict, case, answer, time; the order's state), its findings under it, the verdict."""
    print(f"check-notify {one_line(result.url)}" + (f" (merchant {merchant_no})" if merchant_no else ""), file=out)
    errors = 0
    for r in result.cases:
        delivery = r.delivery
        answer = (f"HTTP {delivery.status} {delivery.text[:40]!r}" if delivery.status is not None
                  else delivery.failure)
        verdict = "FAIL" if any(f.severity is Severity.ERROR for f in r.findings) else ("warn" if r.findings
                                                                                       else "ok")
        errors += verdict == "FAIL"
        print(one_line(f"  {verdict:<4} {r.case.name}: {answer} ({delivery.elapsed_s * 1000:.0f} ms)"), file=out)
        if r.state is not None:
            print(one_line(f"         order: {r.state}"), file=out)
        for f in r.findings:
            print(one_line(f"         {f.severity} {f.rule}: {f.message}"), file=out)
            if f.hint:
                print(one_line(f"         hint: {f.hint}"), file=out)
    if result.generated_trade_no:
        print("note: a generated tradeNo was used, so a refusal of the valid notifications was not held against "
              "the handler; give --trade-no and --amount of an order it knows, or a state adapter (--state-cmd, "
              "--state-url), to judge its acknowledgements and what it credits", file=out)
    elif not result.with_state:
        print("note: only the answers were judged; a state adapter (--state-cmd, --state-url) also judges what the "
              "handler credits", file=out)
    print(f"{'FAIL' if errors else 'PASS'}: {len(result.cases)} case(s), {errors} failed", file=out)
