"""What the merchant's code did with the money: notification sequences on fresh orders, judged on the answers
and on the order's state read through the state adapter after every step.

A handler can answer every notification rightly and still lose money: credit a partial payment in full, credit
the order's amount whatever was paid, credit a retry twice, let a forged notification through while answering
no, or answer OK and record nothing. Each sequence below is what the provider can send (the last two are what
its pages do not document, and say so); ``effect_findings`` names what happened to the money.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, replace
from decimal import Decimal

from ..contract import signing
from ..contract.books import FAILED, PAID, PARTIAL, PROCESSING
from ..contract.registry import ENDPOINTS
from ..core.findings import Finding, Kind
from ..judge.exchange import JudgeOptions
from .notify import TIMEOUT_S, Case, Delivery, Send, deliver, judge_case, signed
from .state import OrderState, StateAdapter

NOTIFY = ENDPOINTS["notify"]
ORDER_AMOUNT = Decimal(500)  # each sequence's fresh order
PARTIAL_AMOUNT = Decimal(200)
COPIES = 5  # concurrent copies of one notification: the race that fulfils twice
SETTLE_S = 1.0  # how long a state may take to settle after an answer (a handler that queues its work)


@dataclass(frozen=True)
class Step:
    """One notification of a sequence. ``role``: ``pay`` (valid), ``repeat`` (the previous one again),
    ``copies`` (COPIES at once), ``forged`` (``how``: wrong, absent, other-secret), ``late`` (an earlier status
    arriving after a final one), ``contradict`` (a final status after another final one: undocumented)."""

    role: str
    status: str = PAID
    amount: Decimal = ORDER_AMOUNT
    how: str = ""


@dataclass(frozen=True)
class Sequence:
    name: str
    steps: tuple[Step, ...]
    documented: bool = True


SEQUENCES: tuple[Sequence, ...] = (
    Sequence("0015 then 0000", (Step("pay", PROCESSING), Step("pay", PAID))),
    Sequence("0001, a partial payment", (Step("pay", PARTIAL, PARTIAL_AMOUNT),)),
    Sequence("0001, then 0000", (Step("pay", PARTIAL, PARTIAL_AMOUNT), Step("pay", PAID))),
    Sequence("0000 for less than the order", (Step("pay", PAID, ORDER_AMOUNT - 100),)),
    Sequence("0000 for more than the order", (Step("pay", PAID, ORDER_AMOUNT + 100),)),
    Sequence("a failure status", (Step("pay", FAILED),)),
    Sequence("a retry of an acknowledged 0000", (Step("pay", PAID), Step("repeat"))),
    Sequence(f"{COPIES} concurrent copies of one 0000", (Step("copies"),)),
    Sequence("out of order: 0000, then a late 0015", (Step("pay", PAID), Step("late", PROCESSING))),
    # each forgery on an order of its own: one that got through would hide what the next one does
    Sequence("a forged 0000: a wrong sign", (Step("forged", how="wrong"),)),
    Sequence("a forged 0000: no sign", (Step("forged", how="absent"),)),
    Sequence("a forged 0000: another secret", (Step("forged", how="other-secret"),)),
    Sequence("0000, then 00029 (undocumented)", (Step("pay", PAID), Step("contradict", FAILED)), documented=False),
    Sequence("00029, then 0000 (undocumented)", (Step("pay", FAILED), Step("contradict", PAID)), documented=False),
)


def money(value: Decimal) -> str:
    return f"{value.normalize():f}"


def effect_findings(step: Step, before: OrderState, after: OrderState, paid: Decimal, acknowledged: bool,
                    order_amount: Decimal = ORDER_AMOUNT) -> list[Finding]:
    """What the step did to the money. ``paid`` is what the provider has said was paid after this step."""
    changed = after != before
    if step.role == "forged":
        if not changed:
            return []
        return [NOTIFY.rule(Kind.EFFECT_FORGED_CHANGED).finding(
            f"a forged 0000 ({_FORGERIES[step.how]}) moved the order from {before.shown()} to {after.shown()}")]
    if step.role in ("contradict", "late"):
        if not changed:
            return []
        return [NOTIFY.rule(Kind.EFFECT_FINAL_CHANGED).finding(
            f"a {step.status} after a final status moved the order from {before.shown()} to {after.shown()}"
            + (" (the pages do not say what a contradicting notification means)" if step.role == "contradict"
               else " (a late notification of an earlier status)"))]
    credited = after.credited
    if credited > paid:
        if step.role in ("repeat", "copies") and paid > 0:
            times = f" ({credited / paid:g} times)" if credited % paid == 0 else ""
            return [NOTIFY.rule(Kind.EFFECT_DOUBLE_CREDIT).finding(
                f"{money(paid)} was paid once and {money(credited)} was credited{times}, after "
                + ("a retry of the acknowledged notification" if step.role == "repeat"
                   else f"{COPIES} concurrent copies of one notification"))]
        if step.status not in (PAID, PARTIAL) and credited > before.credited:
            return [NOTIFY.rule(Kind.EFFECT_CREDITED_ON_FAILURE).finding(
                f"{money(credited - before.credited)} was credited on status {step.status}, which is not a payment"
                f" ({'still processing' if step.status == PROCESSING else 'a failure'})")]
        what = f"{money(paid)} was paid ({step.status}"
        what += ", a partial payment)" if step.status == PARTIAL else f" for {money(step.amount)})"
        return [NOTIFY.rule(Kind.EFFECT_OVERCREDIT).finding(
            f"{what} and {money(credited)} was credited" + (
                " - the order's amount, not the notified one" if credited == order_amount != step.amount else ""))]
    if step.role == "pay" and step.status == PAID and step.amount == order_amount and acknowledged and credited == 0 \
            and before.credited == 0:
        return [NOTIFY.rule(Kind.EFFECT_ACK_DROPPED).finding(
            f"the handler answered OK to a valid 0000 for {money(step.amount)}, and the order still reads "
            f"{after.shown()}: the provider will not send it again")]
    return []


_FORGERIES = {"wrong": "a wrong sign", "absent": "no sign", "other-secret": "signed with another secret",
              "tampered": "a tampered amount with the old sign"}


def forgery_acknowledged(found: list[Finding], changed: bool) -> list[Finding]:
    """An OK to a forgery that changed nothing is a warning that the handler acknowledges forgeries; the error
    that it "could mark it paid" is for handlers whose state is unknown, or shown to change."""
    if changed:
        return found
    return [NOTIFY.rule(Kind.FORGERY_ACKNOWLEDGED).finding(
        "the handler answered OK to a forged notification; the state adapter shows the order did not change",
        f.pointer) if f.rule == "notify.accepts-bad-sign" else f for f in found]


# --- the battery ---


@dataclass
class StepResult:
    sequence: Sequence
    step: Step
    case: Case
    delivery: Delivery
    before: OrderState
    after: OrderState
    findings: list[Finding]


def _body(order: tuple[str, str], status: str, amount: Decimal, secret: signing.Secret | str) -> bytes:
    trade_no, platform = order
    return signed({"platFormTradeNo": platform, "tradeNo": trade_no, "amount": money(amount), "status": status},
                  secret)


def _forged(order: tuple[str, str], how: str, secret: signing.Secret) -> bytes:
    fields = {"platFormTradeNo": order[1], "tradeNo": order[0], "amount": money(ORDER_AMOUNT), "status": PAID}
    if how == "absent":
        return json.dumps(fields).encode()
    if how == "other-secret":
        return signed(fields, "not-the-app-secret")
    return json.dumps({**fields, "sign": hashlib.md5(b"forged", usedforsecurity=False).hexdigest()}).encode()


def settled(state: StateAdapter, trade_no: str, settle_s: float = SETTLE_S) -> OrderState:
    """The order's state once two reads 0.05 s apart agree (or ``settle_s`` has passed): a handler that queues
    its work is read when it is done, a synchronous one costs two reads."""
    deadline = time.monotonic() + settle_s
    last = state.read(trade_no)
    while True:
        time.sleep(0.05)
        now = state.read(trade_no)
        if now == last or time.monotonic() >= deadline:
            return now
        last = now


def run_sequences(send: Send, url: str, secret: signing.Secret, state: StateAdapter,
                  timeout: float = TIMEOUT_S, settle_s: float = SETTLE_S,
                  sequences: tuple[Sequence, ...] = SEQUENCES) -> list[StepResult]:
    """Each sequence on a fresh order made through the adapter; every step judged on its answer and its effect."""
    options = JudgeOptions(secret=secret)
    results: list[StepResult] = []
    stamp = time.time_ns()
    for n, sequence in enumerate(sequences):
        order = (f"vexora-effect-{stamp}-{n}", f"vx{(stamp // 1000 + n) % 10**14:014d}")
        state.create(order[0], money(ORDER_AMOUNT))
        before = settled(state, order[0], 0.0)
        paid = Decimal(0)
        last: tuple[bytes, bool] | None = None  # the previous valid notification, and whether it was acknowledged
        for step in sequence.steps:
            case, deliveries = _deliver_step(send, url, secret, order, step, last, options, timeout)
            delivery = deliveries[-1]
            if step.role in ("pay", "copies") and step.status in (PAID, PARTIAL):
                paid = step.amount
            after = settled(state, order[0], settle_s)
            found = [f for d in deliveries for f in judge_case(case, d)]
            acknowledged = any(d.acknowledged for d in deliveries)
            if step.role == "forged" and acknowledged:
                found = forgery_acknowledged(found, after != before)
            found += effect_findings(step, before, after, paid, acknowledged)
            results.append(StepResult(sequence, step, case, delivery, before, after,
                                      [replace(f, details={**f.details, "sequence": sequence.name}) for f in found]))
            if step.role in ("pay", "copies"):
                last = (case.body, acknowledged)
            before = after
    return results


def _deliver_step(send: Send, url: str, secret: signing.Secret, order: tuple[str, str], step: Step,
                  last: tuple[bytes, bool] | None, options: JudgeOptions,
                  timeout: float) -> tuple[Case, list[Delivery]]:
    if step.role == "forged":
        case = Case(f"a forged 0000: {_FORGERIES[step.how]}", _forged(order, step.how, secret), "forged")
    elif step.role == "repeat":
        assert last is not None
        # "a repeat of an acknowledged notification" only when it was acknowledged; else it is one more valid one
        case = Case("the same notification again", last[0], "duplicate" if last[1] else "valid")
    elif step.role == "contradict":
        case = Case(f"{step.status} after a final status (undocumented)",
                    _body(order, step.status, step.amount, secret), "undocumented")
    else:
        label = "a late " if step.role == "late" else ""
        case = Case(f"{label}{step.status} for {money(step.amount)}", _body(order, step.status, step.amount, secret),
                    "valid")
    if step.role != "copies":
        return case, [deliver(send, url, case.body, options, timeout)]
    case = Case(f"{COPIES} copies of 0000 at once", _body(order, PAID, ORDER_AMOUNT, secret), "valid")
    deliveries: list[Delivery | None] = [None] * COPIES
    gate = threading.Barrier(COPIES)

    def one(k: int) -> None:
        gate.wait()
        deliveries[k] = deliver(send, url, case.body, options, timeout)

    threads = [threading.Thread(target=one, args=(k,), daemon=True) for k in range(COPIES)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout + 5)
    return case, [d for d in deliveries if d is not None]


def step_label(result: StepResult) -> str:
    return f"{result.sequence.name}: {result.case.name}"

