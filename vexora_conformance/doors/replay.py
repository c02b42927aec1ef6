"""``replay``: a recording sent again, for the regression suite.

Each recorded exchange is sent to ``to`` in the recorded order: a notification to the handler at that URL, a
request (Checkout, a query, a pay-out...) to the same path under that base URL (``serve``, or a sandbox). A
body is sent as recorded except for two things, since a timestamp and a sign change on every request: its
timestamp is moved by the time since it was recorded (so a request whose timestamp was off by an hour still is),
and its sign is remade with the test secret - one that verified under the recording's secret verifies under the
test secret, one with a known mistake is remade with that mistake, any other wrong one stays wrong. The
exchange now is judged by the same judge as at recording time (with the same memory across exchanges), the
handler's answers as ``listen`` judges them, and each exchange is matched with its recorded self by endpoint,
tradeNo and sequence (the second exchange of a pay-out's tradeNo with the second), never by its body; where
the verdict differs, ``replay.changed`` says what it was and what it is. With a state adapter, each order is
made through it the first time its tradeNo comes and read after each notification, and the effect rules
(``notify.effect.*``) judge what the handler did to it (they are not compared: the recording has none).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..contract import signing
from ..contract.books import PAID, PARTIAL, PROCESSING
from ..contract.markets import DEFAULT
from ..contract.registry import RESPONSE_ROOT
from ..contract.rules import rule
from ..core.exchange import Exchange, Request, Response, header_map
from ..core.findings import Finding, Kind
from ..core.jsontext import JSONTextError, loads
from ..core.outcome import Outcome
from ..judge.exchange import JudgeOptions, Verdict, judge_exchange
from ..judge.session import Session
from . import wire
from .capture import Malformed, read_capture
from .effects import Step, effect_findings, money, settled
from .fake.record import RunRecord
from .notify import TIMEOUT_S, Delivery, deliver, url_sender
from .recording import Rewriter
from .reply_judge import ReplyJudge
from .state import OrderState, StateAdapter

MAX_ANSWER = 4 * 1024 * 1024
_DROPPED = ("host", "content-length", "transfer-encoding", "connection")


@dataclass(frozen=True)
class ReplayOptions:
    to: str
    secret: signing.Secret  # the test secret: what the handler, or serve, verifies with now
    recording_secret: signing.Secret  # what the recording's signs were made with (the fixture secret)
    merchant_no: str | None = None
    timeout: float = TIMEOUT_S
    clock: Callable[[], float] = time.time
    state: StateAdapter | None = None  # read before and after each notification: the effect rules


def _parsed(text: str | None) -> Any:
    try:
        return loads(text) if text else None
    except JSONTextError:
        return None


def _text(body: str | bytes | None) -> str:
    return body.decode("utf-8", "replace") if isinstance(body, bytes) else body or ""


def _rules(findings: list[Finding]) -> set[str]:
    """What is compared with the recording: not the effect rules, which only a replay with a state adapter judges."""
    return {f.rule for f in findings if f.kind is not Kind.REPLAY_CHANGED and ".effect." not in f.rule}


def _amount(value: Any) -> Decimal | None:
    text = str(value)
    return Decimal(text) if text.isascii() and text.isdigit() else None


def _step(kind: str, note: Any, final: str | None) -> Step | None:
    """The recorded notification as a step of the effect rules, by what it is now (None: no effect to judge)."""
    if not isinstance(note, dict):
        return None
    status = str(note.get("status"))
    if kind == "forged":
        return Step("forged", how="wrong")
    if kind == "duplicate":
        return Step("repeat", status)
    if kind == "undocumented":
        return Step("contradict", status)
    if kind != "valid":
        return None
    if final is not None and status == PROCESSING:
        return Step("late", status)
    return Step("pay", status, _amount(note.get("amount")) or Decimal(0))


class Replayer:
    def __init__(self, options: ReplayOptions) -> None:
        self.options = options
        self.then = JudgeOptions(secret=options.recording_secret, merchant_no=options.merchant_no)
        self.now = JudgeOptions(secret=options.secret, merchant_no=options.merchant_no)
        self.sessions = Session(self.then), Session(self.now)
        self.replies = ReplyJudge(), ReplyJudge()
        self.seen: Counter[tuple[str, str]] = Counter()
        self.record = RunRecord("replay")
        self.orders: dict[str, list[Decimal]] = {}  # tradeNo -> [its amount, what the provider said was paid]

    def run(self, path: str) -> Outcome:
        for item in read_capture(path):
            if isinstance(item, Malformed):
                self.record.add(item.index, "unreadable record", None, DEFAULT, "shared",
                                [rule("input.malformed").finding(item.reason).at(item.source, item.index)])
            elif isinstance(item, Exchange):
                self.one(item)
        return self.record.report()

    def one(self, recorded: Exchange) -> None:
        then = judge_exchange(recorded, self.then)
        body = _parsed(_text(recorded.request.body))
        trade_no = str(body.get("tradeNo", "")) if isinstance(body, dict) else ""
        key = (then.endpoint, trade_no)
        self.seen[key] += 1
        findings_then = self.sessions[0].conclude(then, recorded.source, recorded.index)
        if then.endpoint == "notify":
            delivered = self._recorded_delivery(recorded, findings_then)
            findings_then = self.replies[0].judge(delivered)
            now, findings_now = self._notify(recorded, findings_then, delivered.acknowledged)
        else:
            now, findings_now = self._request(recorded, findings_then)
        findings_now = [f.at(recorded.source, recorded.index) for f in findings_now]
        if _rules(findings_then) != _rules(findings_now):
            was = ", ".join(sorted(_rules(findings_then))) or "no finding"
            is_ = ", ".join(sorted(_rules(findings_now))) or "no finding"
            nth = self.seen[key]
            findings_now.append(rule("replay.changed").finding(
                f"the verdict on this exchange ({then.endpoint}{f' {trade_no[:40]!r}' if trade_no else ''}, "
                f"#{nth} of its kind) changed since it was recorded: it was {was}; it is {is_}",
                was=sorted(_rules(findings_then)), now=sorted(_rules(findings_now))).at(recorded.source,
                                                                                       recorded.index))
        what = f"{recorded.request.method[:16]} {recorded.request.path[:200]}"
        self.record.add(recorded.index, what, now.endpoint, now.market, now.variant, findings_now)

    def _body_now(self, recorded: Exchange, findings_then: list[Finding], shift_ms: int) -> str:
        text = _text(recorded.request.body)
        parsed = _parsed(text)
        rewriter = Rewriter(None, self.options.secret, shift_ms)  # a moved timestamp needs a new sign too
        return rewriter.request_body(text, parsed, findings_then, recorded.request.headers.get("merchantno"),
                                     self.options.recording_secret) or ""

    def _recorded_delivery(self, recorded: Exchange, findings: list[Finding]) -> Delivery:
        response = recorded.response
        status = response.status if response is not None else None
        return Delivery(recorded.request.url, _text(recorded.request.body).encode("utf-8"), status,
                        _text(response.body) if response is not None else "", 0.0,
                        None if response is not None else "no answer recorded", findings)

    def _notify(self, recorded: Exchange, findings_then: list[Finding],
                acknowledged_then: bool) -> tuple[Verdict, list[Finding]]:
        body = self._body_now(recorded, findings_then, 0).encode("utf-8")
        note = _parsed(body.decode("utf-8", "replace"))
        trade_no = note.get("tradeNo") if isinstance(note, dict) else None
        # An order is made only for a tradeNo the recorded handler knew (it acknowledged its first notification):
        # making one for a tradeNo it refused would change the very answer the replay compares.
        known = isinstance(trade_no, str) and (trade_no in self.orders or acknowledged_then)
        before = self._before(note) if self.options.state is not None and known else None
        sent = deliver(url_sender(), self.options.to, body, self.now, self.options.timeout)
        request = Request("POST", self.options.to, {"content-type": "application/json"}, body)
        response = Response(sent.status, {}, sent.text) if sent.status is not None else None
        verdict = judge_exchange(Exchange(request, response, endpoint="notify"), self.now)
        found = self.sessions[1].conclude(verdict, recorded.source, recorded.index)
        if sent.failure is not None:
            found += [f for f in sent.findings if f.rule not in {g.rule for g in found}]
        delivery = Delivery(self.options.to, body, sent.status, sent.text, sent.elapsed_s, sent.failure, found)
        step = _step(self.replies[1].kind(body, found), note, self.replies[1].final_of(str(trade_no)))
        judged = self.replies[1].judge(delivery)
        if before is not None and step is not None and self.options.state is not None:
            order = self.orders[str(trade_no)]
            if step.role == "pay" and step.status in (PAID, PARTIAL):
                order[1] = step.amount
            after = settled(self.options.state, str(trade_no))
            judged += effect_findings(step, before, after, order[1], delivery.acknowledged, order[0])
        return verdict, judged

    def _before(self, note: dict[str, Any]) -> OrderState:
        """The order's state before a notification; the order made through the adapter the first time its
        tradeNo comes, at the amount of that first notification (the recording holds no order)."""
        assert self.options.state is not None
        trade_no = str(note["tradeNo"])
        if trade_no not in self.orders:
            amount = _amount(note.get("amount")) or Decimal(0)
            self.options.state.create(trade_no, money(amount))
            self.orders[trade_no] = [amount, Decimal(0)]
        return settled(self.options.state, trade_no, 0.0)

    def _request(self, recorded: Exchange, findings_then: list[Finding]) -> tuple[Verdict, list[Finding]]:
        now = self.options.clock()
        shift_ms = round((now - recorded.time) * 1000) if recorded.time is not None else 0
        body = self._body_now(recorded, findings_then, shift_ms)
        url = self.options.to.rstrip("/") + recorded.request.path
        headers = {k: v for k, v in recorded.request.headers.items() if k.lower() not in _DROPPED}
        request = Request(recorded.request.method, url, header_map(list(headers.items())), body)
        response: Response | None = None
        fault: Finding | None = None
        try:
            answer = wire.request(recorded.request.method, url, body.encode("utf-8"), headers, self.options.timeout,
                                  MAX_ANSWER)
            response = Response(answer.status, header_map(list(answer.headers)),
                                answer.body.decode("utf-8", "replace"))
        except wire.TimedOut as exc:
            fault = rule("upstream.timeout").finding(str(exc).replace("the handler", "the upstream"), RESPONSE_ROOT)
        except (wire.DeliveryError, ValueError) as exc:
            fault = rule("upstream.unreachable").finding(str(exc).replace("the handler", "the upstream"),
                                                         RESPONSE_ROOT)
        verdict = judge_exchange(Exchange(request, response, time=now, source="replay"), self.now)
        found = self.sessions[1].conclude(verdict, recorded.source, recorded.index)
        return verdict, found + ([fault] if fault is not None else [])


def replay(path: str, options: ReplayOptions) -> Outcome:
    return Replayer(options).run(path)

