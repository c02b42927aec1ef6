"""The fake provider: ``handle(httpx.Request) -> httpx.Response``, judged by the shared judge.

Every endpoint of the registry is answered: a request with an error gets the provider's error envelope (``sign
error`` for a wrong sign, ``param error: ...`` otherwise); a conformant one gets its endpoint's documented
answer, and the books move as the pages say (a pay-in opens, a pay-out freezes its amount). The pytest fixture
mounts ``handle`` as a respx side effect (``mock.fake_provider``); the loopback server wraps the very same
function, so the two fakes cannot drift apart.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from ...contract.books import DEFAULT_BALANCE, PAID, Books, PayIn, PayOut
from ...contract.endpoint import Asked, Endpoint, refusal
from ...contract.markets import DEFAULT, require
from ...contract.registry import ENDPOINTS, paths_text, route
from ...contract.rules import RUN_RULES
from ...contract.signing import Secret
from ...core.exchange import Exchange, Request, header_map
from ...core.findings import SIGN_KINDS, FailOn, Finding, Kind, Severity
from ...core.jsontext import json_bytes
from ...judge.exchange import JudgeOptions, judge_exchange
from ...judge.session import Session
from ..fastpath import clean_request_verdict
from ..notify import TIMEOUT_S, Case, Delivery, deliver_to, judge_case, sender_for
from ..notify_check import BatteryResult, effect_battery
from ..state import adapter_from
from .coverage import answered, name_of, sent, transport
from .notifications import notification
from .report import failure_report
from .scenarios import Scenario, SilentTimeout

DEFAULT_SECRET = "vexora-test-secret"
DEFAULT_MERCHANT = "1000000001"
LINK_FIELDS = ("paymentUrl", "paymentLink", "both")
_platform_ids = itertools.count(1)
_UNKNOWN_PATH = next(r for r in RUN_RULES if r.id == "request.unknown-endpoint")


def next_platform_trade_no() -> str:
    return f"vx{next(_platform_ids):014d}"


@dataclass
class Call:
    """One request the client sent, what the fake answered, and what the judge found."""

    request: httpx.Request
    body: Any
    response: httpx.Response | None
    findings: list[Finding]
    endpoint: str | None = "checkout"  # "notify": a notification the fake sent; None: a path it does not serve
    market: str = DEFAULT
    variant: str = DEFAULT

    def __repr__(self) -> str:
        # Not the dataclass repr: the body and the URL's query hold the payer's email, name and mobile.
        answer = f"HTTP {self.response.status_code}" if self.response is not None else "no response"
        return (f"Call({self.request.method} {self.request.url.path}, {answer}, "
                f"findings={[f.rule for f in self.findings]})")


@dataclass
class FakeProvider:
    secret: Secret = field(default_factory=lambda: Secret(DEFAULT_SECRET))
    merchant_no: str = DEFAULT_MERCHANT
    base_url: str = "https://sandbox.vexora.test"
    strict_tables: bool = False
    skew_window_s: float = 300.0
    session: Session | None = None
    source: str = "vexora_mock"  # names the calls in findings (the pytest fixture uses the test's node id)
    market: str = DEFAULT  # the market of a request whose path names none
    link_field: str = "paymentUrl"  # the Checkout answer's link: the page's paymentUrl, paymentLink, or both
    fail_on: FailOn = FailOn.ERROR
    opening_balance: Decimal = DEFAULT_BALANCE
    calls: list[Call] = field(default_factory=list)
    books: Books = field(default_factory=Books)
    _queue: deque[Scenario] = field(default_factory=deque)
    _acknowledged: set[bytes] = field(default_factory=set, repr=False)  # notification bodies answered OK
    exercised: set[str] = field(default_factory=set)  # outcomes met and optional fields sent (outcome coverage)
    # serve keeps no calls, only each call's verdict (``on_call``, its run record); the fixture keeps them all
    keep_calls: bool = True
    on_call: Callable[[int, Call], None] | None = None
    # how a scripted slow answer waits: serve's sleeps without holding its turn (doors/turn.py)
    pause: Callable[[float], None] = field(default=time.sleep, repr=False)
    _count: int = 0  # calls so far: the next call's index
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.market = require(self.market)
        if self.link_field not in LINK_FIELDS:
            raise ValueError(f"link_field must be one of {', '.join(LINK_FIELDS)}")
        if self.opening_balance != self.books.balance.available:
            self.books.clear(self.opening_balance)
        if self.session is None:
            self.session = Session(self.options)

    def __repr__(self) -> str:
        # The calls hold payer data, and the secret stays masked: counts and settings only.
        return (f"FakeProvider(base_url={self.base_url!r}, merchant_no={self.merchant_no!r}, secret={self.secret!r}, "
                f"market={self.market!r}, calls={len(self.calls)}, findings={len(self.findings)})")

    @property
    def options(self) -> JudgeOptions:
        return JudgeOptions(secret=self.secret, merchant_no=self.merchant_no, strict_tables=self.strict_tables,
                            skew_window_s=self.skew_window_s, clock=time.time, market=self.market)

    @property
    def findings(self) -> list[Finding]:
        return [f for c in self.calls for f in c.findings]

    @property
    def balance(self) -> Any:
        """The merchant's balance in the fake's books (``available``, ``frozen``, ``unsettled``: Decimals)."""
        return self.books.balance

    # --- queue scenarios for the next conformant call(s) ---

    def queue(self, scenario: Scenario, times: int = 1) -> None:
        with self._lock:
            self._queue.extend([scenario] * times)

    def snapshot(self) -> list[Call]:
        """The calls so far, copied under the lock (the loopback server reads while handling)."""
        with self._lock:
            return list(self.calls)

    def reset(self) -> None:
        """Forget every call, finding, queued scenario, remembered tradeNo, order and pay-out (what ``on_call``
        was given is its own: serve's run record is append-only)."""
        with self._lock:
            self.calls.clear()
            if self.keep_calls:
                self._count = 0
            self._queue.clear()
            self._acknowledged.clear()
            self.exercised.clear()
            self.session = Session(self.options)
        self.books.clear(self.opening_balance)

    def fail_with_envelope(self, code: str = "8000", msg: str = "request failed", times: int = 1) -> None:
        """An error envelope: ``code`` not "0000", ``data`` null (codes seen: 8000 request failed, 5000 system)."""
        self.queue(Scenario("envelope", code=code, msg=msg), times)

    def fail_with_status(self, status: str = "00029", times: int = 1) -> None:
        """A "0000" envelope whose ``data.status`` is a business failure."""
        self.queue(Scenario("status", status=status), times)

    def fail_with_http(self, http_status: int = 503, times: int = 1) -> None:
        self.queue(Scenario("http", http_status=http_status), times)

    def answer_not_json(self, times: int = 1) -> None:
        self.queue(Scenario("not-json"), times)

    def fail_to_connect(self, times: int = 1) -> None:
        self.queue(Scenario("connect-error"), times)

    def time_out(self, times: int = 1) -> None:
        self.queue(Scenario("read-timeout"), times)

    def respond_slowly(self, seconds: float, times: int = 1) -> None:
        self.queue(Scenario("slow", delay=seconds), times)

    # --- the handler ---

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Judge a request to any provider endpoint and answer it as the provider would."""
        __tracebackhide__ = True
        call, status, payload = self._respond(request)
        call.response = _json(request, payload, status) if isinstance(payload, dict) else \
            httpx.Response(status, text=payload, headers=_HTML_HEADERS, request=request)
        return call.response

    def answer_bytes(self, request: httpx.Request) -> tuple[int, bytes, str]:
        """``handle``'s answer as (status, body, content type), for a server that writes its own (serve): the
        same bytes, without an httpx.Response to build and read. The call keeps no response (serve keeps
        verdicts, not calls)."""
        _, status, payload = self._respond(request)
        if isinstance(payload, dict):
            return status, json_bytes(payload), _JSON_HEADERS[0][1]
        return status, payload.encode(), _HTML_HEADERS[0][1]

    def _respond(self, request: httpx.Request) -> tuple[Call, int, dict[str, Any] | str]:
        """Judge, keep and answer a request: (the call kept, the HTTP status, the JSON payload or HTML text)."""
        endpoint, _ = route(request.url.path)
        if endpoint is None:
            return self._not_found(request)
        exchange = Exchange(
            Request(request.method, str(request.url), _header_map(request.headers), request.content),
            source=self.source, endpoint=endpoint.name)  # its index is stamped under the lock below
        assert self.session is not None
        options = self.session.options
        verdict = clean_request_verdict(exchange, options) or judge_exchange(exchange, options)
        errors = _has_error(verdict.findings)
        with self._lock:  # the loopback server calls handle from many threads
            findings = self.session.conclude(verdict, self.source, self._count)
            errors = errors or _has_error(findings)
            scenario = self._queue.popleft() if self._queue and not errors else None
            call = Call(request, verdict.body if verdict.body is not None else _parsed(request.content), None,
                        findings, endpoint.name, verdict.market, verdict.variant)
            self._keep(call)
        self.exercised |= sent(endpoint, endpoint.contract(verdict.market), call.body)
        if scenario is not None and scenario.kind == "connect-error":
            self.exercised |= transport(endpoint, "connection error")
            raise httpx.ConnectError("vexora_mock: connection refused (queued scenario)", request=request)
        if scenario is not None and scenario.kind == "read-timeout":
            self.exercised |= transport(endpoint, "read timeout")
            raise SilentTimeout("vexora_mock: read timed out (queued scenario)", request=request,
                                delay=scenario.delay)
        if scenario is not None and scenario.kind == "slow":
            self.exercised |= transport(endpoint, "slow answer")
            self.pause(scenario.delay)
        status, payload = self._answer(endpoint, verdict.market, request, call.body, findings, scenario)
        self.exercised |= answered(endpoint, status, payload)
        return call, status, payload

    def _not_found(self, request: httpx.Request) -> tuple[Call, int, dict[str, Any]]:
        """A path the provider does not document: a finding, and the 404 a web server gives."""
        finding = _UNKNOWN_PATH.finding(
            f"{request.method[:16]} {request.url.path[:200]!r} is not an endpoint the provider documents",
            hint=f"The provider's API is POST {{base}} + one of: {paths_text()}.")
        with self._lock:
            call = Call(request, None, None, [finding.at(self.source, self._count)], None)
            self._keep(call)
        return call, 404, refusal("8000", "not found")

    def _answer(self, endpoint: Endpoint, market: str, request: httpx.Request, body: Any,
                findings: list[Finding], scenario: Scenario | None) -> tuple[int, dict[str, Any] | str]:
        """(HTTP status, the JSON payload, or HTML text for the answers that are not JSON)."""
        errors = [f for f in findings if f.severity is Severity.ERROR] if findings else []
        if errors and any(f.kind is Kind.METHOD for f in errors):  # a web server refuses it before the API does
            return 405, refusal("8000", f"method {request.method[:16]} not allowed: use POST")
        if errors:
            return 200, refusal("8000", _first_problem(errors[0]))
        if scenario is not None and scenario.kind == "http":
            return scenario.http_status, "<html><body>upstream error</body></html>"
        if scenario is not None and scenario.kind == "not-json":
            return 200, "<html>maintenance</html>"
        if scenario is not None and scenario.kind == "envelope":
            return 200, refusal(scenario.code, scenario.msg)
        if endpoint.fake is None or not isinstance(body, dict):
            return 200, refusal("8000", "not served")
        status = scenario.status if scenario is not None and scenario.kind == "status" else None
        return 200, endpoint.fake(Asked(body, market, self.books, self.base_url, self.link_field, status,
                                        next_platform_trade_no))

    # --- payments, pay-outs and notifications ---

    def pay(self, trade_no: str, status: str = PAID, amount: str | None = None) -> dict[str, Any]:
        """Script a payment of a pay-in a Checkout (or deposit) created; returns the signed notification.

        ``status``: "0000" paid, "0001" partly paid (give the smaller ``amount``), another code a failure
        ("00029"). The status query answers from the order from now on.
        """
        return notification(self.books.pay(trade_no, status, amount), self.secret)

    def pay_out(self, trade_no: str, status: str = PAID) -> dict[str, Any]:
        """End a pay-out the client requested: "0000" paid (the frozen amount leaves), or a failure code
        ("00029": the amount returns to the available balance). Returns the signed notification it causes."""
        return notification(self.books.finish_pay_out(trade_no, status), self.secret)

    def settle(self) -> None:
        """Move what was collected to the available balance (the provider settles T+1)."""
        self.books.settle()

    def order(self, trade_no: str) -> PayIn | PayOut | None:
        return self.books.pay_in(trade_no) or self.books.pay_out(trade_no)

    def notification(self, trade_no: str, status: str | None = None, amount: str | None = None) -> dict[str, Any]:
        """The signed notification body for a pay-in or a pay-out, as the provider would POST it (nothing
        changes)."""
        order = self.order(trade_no)
        if order is None:
            raise ValueError(f"no order with tradeNo {trade_no!r}: create it with a Checkout or pay-out first")
        return notification(order, self.secret, status, amount)

    def deliver_notification(self, target: Any, trade_no: str | None = None, *, status: str | None = None,
                             amount: str | None = None, body: dict[str, Any] | bytes | None = None,
                             url: str | None = None, timeout: float = TIMEOUT_S) -> Delivery:
        """POST a notification to a handler and judge its answer like the provider's notifier would.

        ``target`` is a URL, a WSGI app or an ASGI app (served in-process through httpx's transports), posted at
        the path of the order's own notifyUrl (or ``url``). The notification is the order's (``trade_no``,
        optional ``status``/``amount``) or ``body`` as given, which may be tampered with on purpose: a broken or
        forged one must not be answered OK. The answer's findings are recorded like request findings, so the
        test fails at teardown when the handler is wrong.
        """
        if body is None:
            if trade_no is None:
                raise ValueError("give trade_no (an order created by a Checkout request) or body")
            body = self.notification(trade_no, status, amount)
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        delivery = deliver_to(target, url or self._notify_url(trade_no, raw), raw, JudgeOptions(secret=self.secret),
                              timeout)
        self.exercised |= _notified(raw, delivery)
        with self._lock:
            repeat = raw in self._acknowledged
            if delivery.acknowledged:
                self._acknowledged.add(raw)
        if repeat:  # the provider's retry of a notification the handler already acknowledged
            delivery = _with_findings(delivery, judge_case(Case("a repeat", raw, "duplicate"), delivery))
        self.record_delivery(delivery)
        return delivery

    def check_notification_handler(self, target: Any, state: Any, *, url: str | None = None,
                                   timeout: float = TIMEOUT_S) -> BatteryResult:
        """Run the provider's notification sequences against a handler (a WSGI or ASGI app, or a URL), each on
        a fresh order made through ``state`` (an object with ``create(trade_no, amount)`` and ``read(trade_no)``
        returning ``{"credited": "<digits>", "status": "..."}``, or a state command or URL), and judge the
        answers and what the handler did to the money. The findings are recorded: the test fails at teardown.
        """
        with sender_for(target) as send:
            result = effect_battery(send, target if isinstance(target, str) else url or "http://merchant.test/notify",
                                    self.secret, adapter_from(state), timeout)
        for r in result.cases:
            self.record_delivery(_with_findings(r.delivery, r.findings))
            self.exercised |= _notified(r.delivery.body, r.delivery)
        self.exercised.add(name_of("notify", "the effect battery"))
        return result

    def check_query_reaction(self, trade_no: str, state: Any, poll: Callable[[], Any],
                             partial: str | None = None) -> list[Finding]:
        """What the client's code does to an order after each answer the status query can give.

        For each of: the envelope 8000 (a refused request), the envelope 5000, a timeout, status 0015, status
        00029 and last a real partial payment (0001, ``partial`` or half the order): the answer is queued for
        the next query, ``poll()`` runs the client's job (what raises in it is its own business), and the order
        is read through ``state`` before and after. An envelope error or a timeout must change nothing, 0015
        and 00029 credit nothing, 0001 no more than was received. The findings are recorded and returned.
        """
        adapter = adapter_from(state)
        order = self.books.pay_in(trade_no)
        if order is None:
            raise ValueError(f"no pay-in with tradeNo {trade_no!r}: create it with a Checkout request first")
        received = partial or money_half(order.amount)
        query = ENDPOINTS["query"]
        found: list[Finding] = []
        for name, prepare in (("the envelope 8000 (a refused request)", lambda: self.fail_with_envelope("8000")),
                              ("the envelope 5000 (the provider's error)",
                               lambda: self.fail_with_envelope("5000", "system exception")),
                              ("a timeout", self.time_out),
                              ("status 0015 (processing)", lambda: self.fail_with_status("0015")),
                              ("status 00029 (failed)", lambda: self.fail_with_status("00029")),
                              (f"status 0001 ({received} received)", lambda: self.pay(trade_no, "0001", received))):
            before = adapter.read(trade_no)
            prepare()
            with contextlib.suppress(Exception):
                poll()
            with self._lock:
                self._queue.clear()  # a job that did not query leaves its outcome unused: it must not leak on
            after = adapter.read(trade_no)
            found += _reaction(query, name, before, after, Decimal(received))
        self._record(found, "query")
        return found

    def _record(self, findings: list[Finding], endpoint: str) -> None:
        """Findings about the client's code that no one request carries (its reactions), kept like a call's."""
        if not findings:
            return
        request = httpx.Request("POST", f"{self.base_url.rstrip('/')}/v1/vexora/queryPayInResult")
        with self._lock:
            self._keep(Call(request, None, None, [f.at(self.source, self._count) for f in findings], endpoint))

    def _notify_url(self, trade_no: str | None, raw: bytes) -> str:
        """The order's own notifyUrl (a handler mounted at /vexora/notify is posted there), else a stand-in."""
        if trade_no is None:
            try:
                trade_no = json.loads(raw).get("tradeNo")
            except (ValueError, AttributeError):
                trade_no = None
        order = self.order(trade_no) if isinstance(trade_no, str) else None
        return order.notify_url if order is not None and order.notify_url else "http://merchant.test/notify"

    def record_delivery(self, delivery: Delivery) -> None:
        """Keep a notification sent to the merchant, and the findings about its answer, with the calls."""
        request = httpx.Request("POST", delivery.url, content=delivery.body,
                                headers={"Content-Type": "application/json"})
        response = httpx.Response(delivery.status, text=delivery.text, request=request) \
            if delivery.status is not None else None
        with self._lock:
            findings = [f.at(self.source, self._count) for f in delivery.findings]
            self._keep(Call(request, _parsed(delivery.body), response, findings, "notify"))

    def _keep(self, call: Call) -> None:
        """Number a call (under the lock) and keep it, or hand its verdict to ``on_call``."""
        index, self._count = self._count, self._count + 1
        if self.keep_calls:
            self.calls.append(call)
        if self.on_call is not None:
            self.on_call(index, call)

    def assert_conformant(self, fail_on: FailOn | str | None = None) -> None:
        """Fail (``AssertionError``) with one readable block when any call broke the contract."""
        __tracebackhide__ = True
        text = failure_report(self.calls, FailOn(fail_on) if fail_on is not None else self.fail_on)
        if text:
            raise AssertionError(text)


def money_half(amount: str) -> str:
    value = Decimal(amount) / 2 if amount else Decimal(0)
    return f"{value.quantize(Decimal(1)) if value == value.to_integral() else value:f}"


def _reaction(query: Endpoint, answered: str, before: Any, after: Any, received: Decimal) -> list[Finding]:
    """What an answer of the status query must not do to the order."""
    if answered.startswith(("the envelope", "a timeout")):
        if after == before:
            return []
        return [query.rule(Kind.EFFECT_ERROR_CHANGED).finding(
            f"after {answered} the order went from {before.shown()} to {after.shown()}: an envelope error or a "
            "timeout is not a failed payment")]
    if answered.startswith("status 0001"):
        if after.credited <= received:
            return []
        return [query.rule(Kind.EFFECT_OVERCREDIT).finding(
            f"{received} was received (0001, a partial payment) and {after.credited} was credited")]
    if after.credited > before.credited:
        return [query.rule(Kind.EFFECT_CREDITED_ON_FAILURE).finding(
            f"after {answered} {after.credited - before.credited} was credited: it is not a payment")]
    return []


def _notified(raw: bytes, delivery: Delivery) -> set[str]:
    """The notification outcomes a delivery exercised (outcome coverage)."""
    try:
        note = json.loads(raw)
        status = note.get("status") if isinstance(note, dict) else None
        signed_ok = isinstance(note, dict) and "sign" in note
    except ValueError:
        return {name_of("notify", "a malformed body")}
    names = {name_of("notify", "a forged notification")} if not signed_ok or any(
        f.rule in ("notify.accepts-bad-sign", "notify.forgery-acknowledged") for f in delivery.findings) else set()
    if status == "0000":
        names.add(name_of("notify", "delivered 0000"))
    elif status == "0001":
        names.add(name_of("notify", "delivered 0001"))
    elif isinstance(status, str) and status != "0015":
        names.add(name_of("notify", "delivered a failure"))
    return names


def _with_findings(delivery: Delivery, findings: list[Finding]) -> Delivery:
    from dataclasses import replace

    return replace(delivery, findings=findings)


def _parsed(content: bytes) -> Any:
    try:
        return json.loads(content) if content else None
    except (ValueError, RecursionError):
        return None


_JSON_HEADERS = (("content-type", "application/json"),)
_HTML_HEADERS = (("content-type", "text/html"),)


def _has_error(findings: list[Finding]) -> bool:
    return bool(findings) and any(f.severity is Severity.ERROR for f in findings)  # most calls have none


def _header_map(headers: httpx.Headers) -> dict[str, str]:
    """``header_map(headers.multi_items())``, read once from the raw pairs. httpx decodes headers as ASCII when
    every one is (its ``encoding`` tries that first, by decoding them all): so does this, without the trial."""
    out: dict[str, str] = {}
    try:
        for name, value in headers.raw:
            out.setdefault(name.decode("ascii").lower(), value.decode("ascii"))  # lower-cased, the first wins
    except UnicodeDecodeError:
        encoding = headers.encoding
        return header_map([(name.decode(encoding), value.decode(encoding)) for name, value in headers.raw])
    return out


def _json(request: httpx.Request, payload: dict[str, Any], status: int = 200) -> httpx.Response:
    """The answer httpx.Response(status, content=..., headers=_JSON_HEADERS) builds, read, without its header
    bookkeeping (a case-insensitive look-up and insert per header it adds: 6 us of the 14 it takes). The wire
    form is the same compact JSON; tests/test_plugin.py holds the two to the same headers and content."""
    body = json_bytes(payload)  # never empty: a JSON object
    response = httpx.Response(status, stream=httpx.ByteStream(body), request=request,
                              headers=(*_JSON_HEADERS, ("Content-Length", str(len(body)))))
    response.read()
    return response


def _first_problem(finding: Finding) -> str:
    # The provider answers with a short reason; "sign error" is what merchants see in production.
    return "sign error" if finding.kind in SIGN_KINDS else f"param error: {finding.message}"
