"""``listen``: the notification relay between the provider's sandbox and the merchant's handler.

The merchant exposes it as their notifyUrl (behind a tunnel) during sandbox tests. Each notification that
arrives is judged with the real secret (``notify.*``), forwarded as it came to the handler (``--forward-to``),
and the handler's answer relayed back as it came; the answer is judged as ``check-notify`` judges one: a valid
notification wants exactly OK, a repeat of an acknowledged one OK again, a forgery anything but OK, a body that
is no notification neither OK nor a 5xx. With ``retry_locally``, a notification the handler did not acknowledge
is delivered to it again on the provider's documented schedule (``--notify-retry-scale``), which is what a
relay that forwards once leaves untested.
"""

from __future__ import annotations

import time
from typing import IO
from urllib.parse import urlsplit

from ..contract.markets import DEFAULT
from ..contract.registry import ENDPOINTS
from ..core.exchange import Exchange, Request, Response, header_map
from ..core.findings import Finding, Kind
from ..judge.exchange import JudgeOptions, judge_exchange, ok_reply_problem
from . import wire
from .live import LiveHandler, LiveServer
from .notifier import Notifier
from .notify import TIMEOUT_S, Delivery, url_sender
from .recording import Recorder
from .reply_judge import ReplyJudge, is_deliverable

MAX_ANSWER = 64 * 1024
NOTIFY = ENDPOINTS["notify"]


class RelayHandler(LiveHandler):
    server: RelayServer
    door = "listen"


class RelayServer(LiveServer):
    door = "listen"

    def __init__(self, address: tuple[str, int], forward_to: str, options: JudgeOptions, *,
                 recorder: Recorder | None = None, live: IO[str] | None = None, verbose: bool = False,
                 timeout: float = TIMEOUT_S, retry_locally: bool = False, scale: float = 1.0) -> None:
        parts = urlsplit(forward_to)
        self.forward_to = forward_to
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.options, self.handler_timeout = options, timeout
        self.replies = ReplyJudge()
        self.retrier = Notifier(url_sender(), options, self._retried, scale=scale, timeout=timeout) \
            if retry_locally else None
        super().__init__(address, RelayHandler, patience=timeout + 5, recorder=recorder, live=live, verbose=verbose)

    def relay(self, handler: RelayHandler, target: str, body: bytes) -> None:
        """Every request goes to the handler's URL, whatever path the provider called (``target``)."""
        headers = [(k.encode("latin-1", "replace"), v.encode("latin-1", "replace")) for k, v in handler.headers.items()]
        ticket = self.order.ticket()
        started, clock = time.time(), time.monotonic()
        answer: wire.RawAnswer | None = None
        failure: str | None = None
        try:
            answer = wire.forward(self._origin, handler.command, self._target, headers, body, self.handler_timeout,
                                  MAX_ANSWER)
        except wire.TimedOut as exc:
            failure = f"slow: {exc}"
        except wire.DeliveryError as exc:
            failure = f"unreachable: {exc}"
        elapsed = time.monotonic() - clock  # the handler's time, not the judge's
        self.answer(handler, answer, 504 if (failure or "").startswith("slow") else 502,
                    f"vexora-conformance listen: the handler: {failure}")
        text = answer.body.decode("utf-8", "replace") if answer is not None else ""
        request = Request(handler.command, self.forward_to, header_map(list(handler.headers.items())), body)
        response = Response(answer.status, header_map(list(answer.headers)), text) if answer is not None else None
        exchange = Exchange(request, response, time=started, source="listen", endpoint="notify")
        verdict = judge_exchange(exchange, self.options)
        with self.order.turn(ticket):  # in arrival order: a repeat is judged after what it repeats
            found = [f.at("listen", ticket) for f in self._judged(body, verdict.findings, answer, text, failure,
                                                                   elapsed)]
            self.record.add(ticket, f"{handler.command[:16]} {self._target[:200]}", "notify", DEFAULT, verdict.variant,
                            found)
            if self.recorder is not None:
                self.recorder.write(exchange, found, "notify", self.options.secret)
        for f in found:
            self.say(f)
        acknowledged = answer is not None and ok_reply_problem(answer.status, text) is None
        retry = self.retrier is not None and is_deliverable(verdict.findings) and not acknowledged
        if retry and self.retrier is not None and self.retrier.reserve():
            self.retrier.start(self.forward_to, body, later=True)

    def _judged(self, body: bytes, verdict: list[Finding], answer: wire.RawAnswer | None, text: str,
                failure: str | None, elapsed: float) -> list[Finding]:
        """The judge's verdict on the notification and its answer, read as check-notify reads its cases."""
        if failure is not None:
            rule_kind = Kind.SLOW if failure.startswith("slow") else Kind.UNREACHABLE
            verdict = [*verdict, NOTIFY.rule(rule_kind).finding(f"the handler: {failure}")]
        return self.replies.judge(Delivery(self.forward_to, body, answer.status if answer else None, text, elapsed,
                                           failure, verdict))

    def _retried(self, delivery: Delivery) -> None:
        index = self.order.ticket()
        with self.order.turn(index):
            found = [f.at("listen", index) for f in delivery.findings]
            self.record.add(index, "POST (retried locally)", "notify", DEFAULT, "shared", found)
        for f in found:
            self.say(f)

    def server_close(self) -> None:
        super().server_close()
        if self.retrier is not None:
            self.retrier.close()
