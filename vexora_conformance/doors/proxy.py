"""``proxy``: a reverse proxy in front of the sandbox (or ``serve``) that judges both directions live.

The merchant points their client's base URL at it. Each request goes to the upstream as it came (only Host is
set to the upstream's: it named the proxy), and the answer comes back as it came, status line, headers and body
byte for byte; the proxy adds no header. Each exchange is judged by the one judge, with the memory across
exchanges ``validate`` keeps (repeated tradeNos, platFormTradeNos), each finding printed as it happens, kept
for ``/__vexora__/findings`` (the proxy's own path, never forwarded) and the report on exit, and, with
``--record``, the exchange written as ``validate`` reads it. An upstream that is slow, refuses, resets, answers
what is not HTTP or more than ``MAX_ANSWER`` gives the client a 504 or a 502 and the run a finding.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from ..contract.markets import DEFAULT
from ..contract.registry import RESPONSE_ROOT
from ..contract.rules import rule
from ..core.exchange import Exchange, Request, Response, header_map
from ..core.findings import Finding
from ..judge.exchange import JudgeOptions, judge_exchange
from ..judge.session import Session
from . import wire
from .capture import worth_judging
from .live import LiveHandler, LiveServer
from .recording import Recorder

MAX_ANSWER = 4 * 1024 * 1024  # an upstream's answer relayed; a bigger one is a 502
UPSTREAM_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Fault:
    status: int
    rule: str
    words: str


class ProxyHandler(LiveHandler):
    server: ProxyServer
    door = "proxy"


class ProxyServer(LiveServer):
    door = "proxy"

    def __init__(self, address: tuple[str, int], upstream: str, options: JudgeOptions, *,
                 recorder: Recorder | None = None, live: IO[str] | None = None, verbose: bool = False,
                 timeout: float = UPSTREAM_TIMEOUT_S, clock: Callable[[], float] = time.time) -> None:
        self.upstream = upstream.rstrip("/")
        self.clock = clock  # the time an exchange is judged at (a timestamp's skew); a test replays a capture's
        self.options = options
        self.session = Session(options)
        self.upstream_timeout = timeout
        super().__init__(address, ProxyHandler, patience=timeout + 5, recorder=recorder, live=live, verbose=verbose)

    def relay(self, handler: ProxyHandler, target: str, body: bytes) -> None:
        headers = [(k.encode("latin-1", "replace"), v.encode("latin-1", "replace")) for k, v in handler.headers.items()]
        ticket = self.order.ticket()
        started = self.clock()
        answer: wire.RawAnswer | None = None
        fault: Fault | None = None
        try:
            answer = wire.forward(self.upstream, handler.command, target, headers, body,
                                   self.upstream_timeout, MAX_ANSWER)
        except wire.TooLarge as exc:
            fault = Fault(502, "upstream.too-large", str(exc))
        except wire.TimedOut as exc:
            fault = Fault(504, "upstream.timeout", str(exc).replace("the answer", "the upstream's answer"))
        except wire.Unreachable as exc:
            fault = Fault(502, "upstream.unreachable", str(exc))
        except wire.BadAnswer as exc:
            fault = Fault(502, "upstream.bad-answer", str(exc).replace("the handler", "the upstream"))
        except ValueError as exc:
            fault = Fault(502, "upstream.unreachable", f"the upstream URL cannot be called: {exc}")
        self.answer(handler, answer, fault.status if fault else 502,
                    f"vexora-conformance proxy: {fault.words if fault else ''}")
        url = f"{self.upstream}{target}"
        request = Request(handler.command, url, header_map([(k, v) for k, v in handler.headers.items()]), body)
        response = Response(answer.status, header_map(list(answer.headers)), answer.body) if answer else None
        self.judge(Exchange(request, response, time=started, source="proxy"), fault, ticket)

    def judge(self, exchange: Exchange, fault: Fault | None, index: int) -> None:
        body_text = exchange.request.body.decode("utf-8", "replace") if isinstance(exchange.request.body, bytes) \
            else exchange.request.body
        judged = worth_judging(exchange.request.url, body_text)
        verdict = judge_exchange(exchange, self.options) if judged else None
        with self.order.turn(index):  # in arrival order: the memory across exchanges is the same as validate's
            found: list[Finding] = self.session.conclude(verdict, "proxy", index) if verdict else []
            if fault is not None:
                found.append(rule(fault.rule).finding(fault.words, RESPONSE_ROOT).at("proxy", index))
            what = f"{exchange.request.method[:16]} {exchange.request.path[:200]}"
            if verdict is not None:
                self.record.add(index, what, verdict.endpoint, verdict.market, verdict.variant, found)
            elif found:
                self.record.add(index, what, None, DEFAULT, "shared", found)
            else:
                self.record.outcome.skipped += 1
            if self.recorder is not None:
                self.recorder.write(exchange, found, verdict.endpoint if verdict else None, self.options.secret)
        for f in found:
            self.say(f)
