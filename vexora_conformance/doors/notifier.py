"""serve's notifier: each paid order's notification delivered as the provider does, within fixed bounds.

With a state adapter it also reads the order in the merchant's system before the first delivery and after each
one, and names what the handler did to the money (``effects``). The asked-for variants (a repeat, a tampered
copy) follow the first delivery whether or not it was acknowledged: a handler that never answers OK is tested on
them too.

Every pending delivery sits in one schedule (a heap by due time) that a few worker threads drain: a
notification is sent at once, then again on anything but ``OK`` on the documented schedule (2 s ... 3 h, times
``scale``), then its asked-for variants. What a hostile client can make it hold is bounded: at most
``capacity`` notifications are pending at a time (``reserve`` says no beyond that, before anything is paid),
and ``workers`` deliveries run at once. A delivery's time starts when a worker sends it, so a handler is never
blamed for the queue in front of it. The notifier never calls the fake provider's own address (``refuse``):
a notifyUrl pointing there gets ``notify.unreachable``, and nothing is sent.
"""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal

from ..contract.rules import rule
from ..core.findings import Finding
from ..judge.exchange import JudgeOptions
from .effects import Step, effect_findings, forgery_acknowledged, settled
from .notify import RETRY_SCHEDULE_S, TIMEOUT_S, Case, Delivery, Send, deliver, judge_case, tampered
from .state import OrderState, StateAdapter, StateError

VARIANTS = ("duplicate", "bad-sign")
WORKERS = 8  # deliveries in flight at once
CAPACITY = 256  # notifications pending (sent, being retried, or waiting for their variants)
_UNREACHABLE = rule("notify.unreachable")


@dataclass(order=True)
class _Job:
    due: float
    seq: int
    url: str = field(compare=False)
    body: bytes = field(compare=False)
    variants: tuple[str, ...] = field(compare=False)
    attempt: int = field(default=0, compare=False)  # index into (0, *RETRY_SCHEDULE_S)
    before: OrderState | None = field(default=None, compare=False)  # the order as the adapter read it last
    order_amount: str | None = field(default=None, compare=False)


class Notifier:
    """Deliver notifications on the documented retry schedule, in bounded threads and memory."""

    def __init__(self, send: Send, options: JudgeOptions, record: Callable[[Delivery], None],
                 scale: float = 1.0, timeout: float = TIMEOUT_S, workers: int = WORKERS, capacity: int = CAPACITY,
                 refuse: Callable[[str], str | None] = lambda url: None, state: StateAdapter | None = None,
                 on_state_error: Callable[[str], None] = lambda reason: None) -> None:
        self.send, self.options, self.record, self.refuse = send, options, record, refuse
        self.state, self.on_state_error = state, on_state_error
        self.scale, self.timeout, self.capacity = scale, timeout, capacity
        self._heap: list[_Job] = []
        self._seq = itertools.count()
        self._pending = 0  # reserved, not yet finished
        self._running = 0
        self._wake = threading.Condition()
        self._closed = False
        self._workers = [threading.Thread(target=self._work, daemon=True, name=f"vexora-notifier-{n}")
                         for n in range(workers)]
        for worker in self._workers:
            worker.start()

    def reserve(self) -> bool:
        """Room for one more notification (then ``start`` it, or ``release`` the room); False when full."""
        with self._wake:
            if self._pending >= self.capacity:
                return False
            self._pending += 1
            return True

    def release(self) -> None:
        with self._wake:
            self._pending -= 1
            self._wake.notify_all()

    def start(self, url: str, body: bytes, variants: tuple[str, ...] = (), order_amount: str | None = None,
              later: bool = False) -> None:
        """Deliver a notification whose room was reserved (``order_amount``: the order's own, for the effects;
        ``later``: it was delivered once already, so the first retry of the schedule comes next)."""
        reason = self.refuse(url)
        if reason is not None:
            self.record(Delivery(url, body, None, "", 0.0, f"not sent: {reason}", [
                _UNREACHABLE.finding(f"the notifyUrl is unusable: {reason}; nothing was sent")]))
            self.release()
            return
        if later:
            self._push(_Job(time.monotonic() + RETRY_SCHEDULE_S[0] * self.scale, next(self._seq), url, body, (),
                            attempt=1, order_amount=order_amount))
            return
        self._push(_Job(time.monotonic(), next(self._seq), url, body, variants, order_amount=order_amount))

    @property
    def pending(self) -> int:
        with self._wake:
            return self._pending

    def idle(self, timeout: float) -> bool:
        """Wait until nothing is pending (tests, shutdown); True when that happened within ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._wake:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._wake.wait(left)
            return True

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify_all()

    # --- the workers ---

    def _push(self, job: _Job) -> None:
        with self._wake:
            heapq.heappush(self._heap, job)
            self._wake.notify()

    def _next(self) -> _Job | None:
        with self._wake:
            while not self._closed:
                now = time.monotonic()
                if self._heap and self._heap[0].due <= now:
                    return heapq.heappop(self._heap)
                self._wake.wait(self._heap[0].due - now if self._heap else None)
            return None

    def _work(self) -> None:
        while (job := self._next()) is not None:
            try:
                self._attempt(job)
            except Exception as exc:  # a bug of ours must not kill a worker and leave the room taken
                self.record(Delivery(job.url, job.body, None, "", 0.0, f"internal error ({type(exc).__name__})",
                                     []))
                self.release()

    def _attempt(self, job: _Job) -> None:
        """One delivery (the first is preceded by the forged variant, followed by the repeat)."""
        note = _fields(job.body, job.order_amount)
        if job.attempt == 0:
            job = replace(job, before=self._read(note))
            # the forgery first, while the order is still open: after the payment it could change nothing
            forged_first = replace(job, variants=tuple(v for v in job.variants if v == "bad-sign"))
            job = replace(self._variants(forged_first, note, False), variants=job.variants)
        delivery = deliver(self.send, job.url, job.body, self.options, self.timeout)
        job, effect = self._effect(job, note, Step("pay", note.status, note.amount), delivery.acknowledged)
        self.record(replace(delivery, findings=delivery.findings + effect) if effect else delivery)
        if job.attempt == 0:
            job = self._variants(job, note, delivery.acknowledged, skip=("bad-sign",))
        if delivery.acknowledged or job.attempt >= len(RETRY_SCHEDULE_S):
            self.release()  # acknowledged, or out of retries: the provider gives up
            return
        wait = RETRY_SCHEDULE_S[job.attempt] * self.scale
        self._push(replace(job, due=time.monotonic() + wait, seq=next(self._seq), attempt=job.attempt + 1))

    def _variants(self, job: _Job, note: _Note, acknowledged: bool, skip: tuple[str, ...] = ()) -> _Job:
        for variant in (v for v in job.variants if v not in skip):
            case = _variant(variant, job.body, acknowledged)
            answer = deliver(self.send, job.url, case.body, self.options, self.timeout)
            found = judge_case(case, answer)
            step = Step("repeat", note.status, note.amount) if variant == "duplicate" else \
                Step("forged", how="tampered")
            before = job.before
            job, effect = self._effect(job, note, step, answer.acknowledged)
            if step.role == "forged" and answer.acknowledged and self.state is not None and before is not None:
                found = forgery_acknowledged(found, job.before != before)
            self.record(replace(answer, findings=found + effect))
        return job

    def _read(self, note: _Note) -> OrderState | None:
        if self.state is None or not note.trade_no:
            return None
        try:
            return settled(self.state, note.trade_no)
        except StateError as exc:
            self.on_state_error(str(exc))
            return None

    def _effect(self, job: _Job, note: _Note, step: Step, acknowledged: bool) -> tuple[_Job, list[Finding]]:
        """The order read after a delivery, and what the delivery did to it (nothing without an adapter)."""
        if job.before is None:
            return job, []
        after = self._read(note)
        if after is None:
            return job, []
        paid = note.amount if note.status in ("0000", "0001") else Decimal(0)
        found = effect_findings(step, job.before, after, paid, acknowledged, note.order_amount)
        return replace(job, before=after), found


def _variant(name: str, body: bytes, acknowledged: bool) -> Case:
    if name == "duplicate":  # "a repeat of an acknowledged notification" only when the first one was
        return Case("the same notification again", body, "duplicate" if acknowledged else "valid")
    return Case("a tampered amount with the old sign", tampered(body), "forged")


@dataclass(frozen=True)
class _Note:
    trade_no: str
    status: str
    amount: Decimal
    order_amount: Decimal


def _fields(body: bytes, order_amount: str | None) -> _Note:
    """What the effect rules need of a notification this notifier built (so it parses)."""
    try:
        note = json.loads(body)
        amount = Decimal(str(note.get("amount", "0")))
        order = Decimal(order_amount) if order_amount is not None else amount
    except (ValueError, ArithmeticError):
        return _Note("", "", Decimal(0), Decimal(0))
    return _Note(str(note.get("tradeNo", "")), str(note.get("status", "")), amount, order)
