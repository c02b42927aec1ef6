"""serve's notifier: each paid order's notification delivered as the provider does, within fixed bounds.

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
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from ..contract.rules import rule
from ..judge.exchange import JudgeOptions
from .notify import RETRY_SCHEDULE_S, TIMEOUT_S, Case, Delivery, Send, deliver, judge_case, tampered

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


class Notifier:
    """Deliver notifications on the documented retry schedule, in bounded threads and memory."""

    def __init__(self, send: Send, options: JudgeOptions, record: Callable[[Delivery], None],
                 scale: float = 1.0, timeout: float = TIMEOUT_S, workers: int = WORKERS, capacity: int = CAPACITY,
                 refuse: Callable[[str], str | None] = lambda url: None) -> None:
        self.send, self.options, self.record, self.refuse = send, options, record, refuse
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

    def start(self, url: str, body: bytes, variants: tuple[str, ...] = ()) -> None:
        """Deliver a notification whose room was reserved."""
        reason = self.refuse(url)
        if reason is not None:
            self.record(Delivery(url, body, None, "", 0.0, f"not sent: {reason}", [
                _UNREACHABLE.finding(f"the notifyUrl is unusable: {reason}; nothing was sent")]))
            self.release()
            return
        self._push(_Job(time.monotonic(), next(self._seq), url, body, variants))

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
        delivery = deliver(self.send, job.url, job.body, self.options, self.timeout)
        self.record(delivery)
        if delivery.acknowledged:
            for variant in job.variants:
                case = _variant(variant, job.body)
                answer = deliver(self.send, job.url, case.body, self.options, self.timeout)
                self.record(replace(answer, findings=judge_case(case, answer)))
            self.release()
            return
        if job.attempt >= len(RETRY_SCHEDULE_S):
            self.release()  # out of retries: the provider gives up
            return
        wait = RETRY_SCHEDULE_S[job.attempt] * self.scale
        self._push(replace(job, due=time.monotonic() + wait, seq=next(self._seq), attempt=job.attempt + 1))


def _variant(name: str, body: bytes) -> Case:
    if name == "duplicate":
        return Case("the same notification again", body, "duplicate")
    return Case("a tampered amount with the old sign", tampered(body), "forged")
