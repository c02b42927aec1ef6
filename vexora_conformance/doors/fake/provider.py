"""The fake provider: ``handle(httpx.Request) -> httpx.Response``, judged by the shared judge.

The pytest fixture mounts ``handle`` as a respx side effect; ``fake_provider()``
is the same thing as a context manager, for use inside a test body (for example
under ``@given``, fresh per example).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Literal, get_args

import httpx

from ...contract.registry import CHECKOUT, QUERY, endpoint_for_path
from ...contract.rules import rule
from ...contract.signing.reference import Secret
from ...core.exchange import Exchange, Request, header_map
from ...core.findings import Finding
from ...core.jsontext import json_bytes
from ...core.text import one_line
from ...judge.exchange import JudgeOptions, Session, judge_exchange
from ..notify import TIMEOUT_S, Case, Delivery, deliver_to, judge_case
from .coverage import answered, sent
from .orders import PAID, PROCESSING, OrderBook, notification, query_data

PROVIDER_PATHS = r".*/vexora/.*"  # the provider's API lives under /v1/vexora/ (near misses of v1 are judged too)
README_PLUGIN = "README.md#the-pytest-plugin-a-fake-provider-in-your-own-tests"


class NotMocked(AssertionError):
    """A request the fake provider does not answer (another host, or a path outside the provider's API)."""


def _not_mocked(base_url: str | None) -> Any:
    mocked = f"every request to {httpx.URL(base_url).host}" if base_url else "paths under /v1/vexora/ on any host"
    def refuse(request: httpx.Request) -> httpx.Response:
        __tracebackhide__ = True
        # Only the method, host and path: the query string and the body may hold the payer's data.
        raise NotMocked(f"vexora_mock: {request.method[:16]} {request.url.host}{request.url.path[:200]} is not "
                        f"answered by the fake provider, which mocks {mocked}. Point the client at the fake's "
                        f"base_url, or mock this URL yourself. See {README_PLUGIN}")
    return refuse
DEFAULT_SECRET = "vexora-test-secret"
DEFAULT_MERCHANT = "1000000001"
_platform_ids = itertools.count(1)


@dataclass
class Call:
    """One request the client sent, what the fake answered, and what the judge found."""

    request: httpx.Request
    body: Any
    response: httpx.Response | None
    findings: list[Finding]
    endpoint: str | None = "checkout"  # "query", "notify" (a notification the fake sent), None: unknown path

    def __repr__(self) -> str:
        # Not the dataclass repr: the body and the URL's query hold the payer's email, name and mobile.
        answered = f"HTTP {self.response.status_code}" if self.response is not None else "no response"
        return (f"Call({self.request.method} {self.request.url.path}, {answered}, "
                f"findings={[f.rule for f in self.findings]})")


ScenarioKind = Literal["envelope", "status", "http", "not-json", "connect-error", "read-timeout", "slow"]
SCENARIO_KINDS: frozenset[str] = frozenset(get_args(ScenarioKind))
MAX_DELAY_S = 600.0  # a scripted delay longer than ten minutes is a mistake, not a test
MAX_TEXT = 200


class SilentTimeout(httpx.ReadTimeout):
    """The queued read timeout; over HTTP the loopback server stays silent ``delay`` seconds, then hangs up."""

    def __init__(self, message: str, *, request: httpx.Request, delay: float) -> None:
        super().__init__(message, request=request)
        self.delay = delay


@dataclass(frozen=True)
class Scenario:
    """What the fake does with the next call, instead of the documented success.

    Checked when it is made (``ValueError`` with a reason), so a bad value is refused when it is
    queued rather than crashing or corrupting a later reply.
    """

    kind: ScenarioKind
    code: str = "8000"
    msg: str = "request failed"
    status: str = "00029"
    http_status: int = 500
    delay: float = 0.0  # "slow": seconds before answering; "read-timeout" over HTTP: seconds before hanging up

    def __post_init__(self) -> None:
        if self.kind not in SCENARIO_KINDS:
            raise ValueError(f"outcome must be one of {sorted(SCENARIO_KINDS)}")
        for name in ("code", "msg", "status"):
            _check_text(name, getattr(self, name))
        if type(self.http_status) is not int or not 400 <= self.http_status <= 599:
            raise ValueError("http_status must be an HTTP error status, an integer from 400 to 599")
        if type(self.delay) not in (int, float) or not 0 <= self.delay <= MAX_DELAY_S:  # NaN fails both
            raise ValueError(f"delay must be a number of seconds from 0 to {MAX_DELAY_S:g}")


def _check_text(name: str, value: Any) -> None:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise ValueError(f"{name} must be a string of at most {MAX_TEXT} characters")
    if not value.isprintable():  # lone surrogates are not printable either
        raise ValueError(f"{name} must hold printable characters only (no control characters or lone surrogates)")


@dataclass
class FakeProvider:
    secret: Secret = field(default_factory=lambda: Secret(DEFAULT_SECRET))
    merchant_no: str = DEFAULT_MERCHANT
    base_url: str = "https://sandbox.vexora.test"
    strict: bool = False
    skew_window_s: float = 300.0
    session: Session | None = None
    source: str = "vexora_mock"  # names the calls in findings (the pytest fixture uses the test's node id)
    calls: list[Call] = field(default_factory=list)
    orders: OrderBook = field(default_factory=OrderBook)
    _queue: deque[Scenario] = field(default_factory=deque)
    _acknowledged: set[bytes] = field(default_factory=set, repr=False)  # notification bodies answered OK
    exercised: set[str] = field(default_factory=set)  # outcomes met and optional fields sent (outcome coverage)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.session is None:
            self.session = Session(self.options)

    def __repr__(self) -> str:
        # The calls hold payer data, and the secret stays masked: counts and settings only.
        return (f"FakeProvider(base_url={self.base_url!r}, merchant_no={self.merchant_no!r}, secret={self.secret!r}, "
                f"strict={self.strict}, calls={len(self.calls)}, findings={len(self.findings)})")

    @property
    def options(self) -> JudgeOptions:
        return JudgeOptions(secret=self.secret, merchant_no=self.merchant_no, strict=self.strict,
                            skew_window_s=self.skew_window_s, clock=time.time)

    @property
    def findings(self) -> list[Finding]:
        return [f for c in self.calls for f in c.findings]

    # --- queue outcomes for the next call(s) ---

    def queue(self, outcome: Scenario, times: int = 1) -> None:
        with self._lock:
            self._queue.extend([outcome] * times)

    def snapshot(self) -> list[Call]:
        """The calls so far, copied under the lock (the loopback server reads while handling)."""
        with self._lock:
            return list(self.calls)

    def reset(self) -> None:
        """Forget every call, finding, queued outcome and remembered tradeNo."""
        with self._lock:
            self.calls.clear()
            self._queue.clear()
            self._acknowledged.clear()
            self.exercised.clear()
            self.session = Session(self.options)
        self.orders.clear()

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
        endpoint = endpoint_for_path(request.url.path)
        if endpoint is None:
            return self._not_found(request)
        exchange = Exchange(
            Request(request.method, str(request.url), header_map(request.headers.multi_items()), request.content),
            source=self.source, endpoint=endpoint.name)  # its index is stamped under the lock below
        assert self.session is not None
        verdict = judge_exchange(exchange, self.session.options)
        with self._lock:  # the loopback server calls handle from many threads
            findings = self.session.conclude(verdict, self.source, len(self.calls))
            outcome = self._queue.popleft() if self._queue else None
            call = Call(request, verdict.body if verdict.body is not None else _parsed(request.content), None,
                        findings, endpoint.name)
            self.calls.append(call)
        body = call.body
        if endpoint is CHECKOUT:
            self.exercised |= sent(body)
        if outcome is not None and outcome.kind == "connect-error":
            self.exercised.add("connection error")
            raise httpx.ConnectError("vexora_mock: connection refused (queued outcome)", request=request)
        if outcome is not None and outcome.kind == "read-timeout":
            self.exercised.add("read timeout")
            raise SilentTimeout("vexora_mock: read timed out (queued outcome)", request=request, delay=outcome.delay)
        if outcome is not None and outcome.kind == "slow":
            self.exercised.add("slow answer")
            time.sleep(outcome.delay)
        status, payload = self._answer(endpoint.name, request, body, findings, outcome)
        self.exercised |= answered(status, payload)
        call.response = _json(request, payload, status) if isinstance(payload, dict) else \
            httpx.Response(status, text=payload, headers=_HTML_HEADERS, request=request)
        return call.response

    def _not_found(self, request: httpx.Request) -> httpx.Response:
        """A path the provider does not document: a finding, and the 404 a web server gives."""
        finding = rule("request.path").finding(
            f"{request.method[:16]} {request.url.path[:200]!r} is not an endpoint the provider documents "
            f"({', '.join(e.path for e in (CHECKOUT, QUERY))})",
            hint="The provider's API is POST {base}/v1/vexora/checkout and POST {base}/v1/vexora/queryPayInResult.")
        with self._lock:
            call = Call(request, None, None, [replace(finding, source=self.source, index=len(self.calls))], None)
            self.calls.append(call)
        call.response = _json(request, _envelope("8000", "not found"), 404)
        return call.response

    def _answer(self, endpoint: str, request: httpx.Request, body: Any, findings: list[Finding],
                outcome: Scenario | None) -> tuple[int, dict[str, Any] | str]:
        """(HTTP status, the JSON payload, or HTML text for the answers that are not JSON)."""
        errors = [f for f in findings if f.severity == "error"]
        if any(f.rule.endswith("request.method") for f in errors):  # a web server refuses it before the API does
            return 405, _envelope("8000", f"method {request.method[:16]} not allowed: use POST")
        if outcome is not None and outcome.kind == "http":
            return outcome.http_status, "<html><body>upstream error</body></html>"
        if outcome is not None and outcome.kind == "not-json":
            return 200, "<html>maintenance</html>"
        if errors or (outcome is not None and outcome.kind == "envelope"):
            code, msg = ("8000", _first_problem(errors[0])) if errors else (outcome.code, outcome.msg)  # type: ignore[union-attr]
            return 200, _envelope(code, msg)
        if endpoint == "query":
            order = self.orders.get(body.get("tradeNo"))
            if order is None:
                return 200, _envelope("8000", "order not found")
            return 200, {"msg": "success", "code": "0000", "timestamp": _now_ms(), "success": True,
                         "data": query_data(order)}
        status = outcome.status if outcome is not None and outcome.kind == "status" else PROCESSING
        envelope = success_envelope(body, self.base_url, status)
        self.orders.open(body, envelope["data"]["platFormTradeNo"], status)
        return 200, envelope

    # --- payments and notifications ---

    def pay(self, trade_no: str, status: str = PAID, amount: str | None = None) -> dict[str, Any]:
        """Script a payment of an order a Checkout created; returns the signed notification it causes.

        ``status``: "0000" paid, "0001" partly paid (give the smaller ``amount``), another code a failure
        ("00029"). The status query answers from the order from now on.
        """
        order = self.orders.pay(trade_no, status, amount)
        return notification(order, self.secret)

    def notification(self, trade_no: str, status: str | None = None, amount: str | None = None) -> dict[str, Any]:
        """The signed notification body for an order, as the provider would POST it (nothing changes)."""
        order = self.orders.get(trade_no)
        if order is None:
            raise ValueError(f"no order with tradeNo {trade_no!r}: create it with a Checkout request first")
        return notification(order, self.secret, status, amount)

    def deliver_notification(self, target: Any, trade_no: str | None = None, *, status: str | None = None,
                             amount: str | None = None, body: dict[str, Any] | bytes | None = None,
                             url: str = "http://merchant.test/notify", timeout: float = TIMEOUT_S) -> Delivery:
        """POST a notification to a handler and judge its answer like the provider's notifier would.

        ``target`` is a URL, a WSGI app or an ASGI app (served in-process through httpx's transports).
        The notification is the order's (``trade_no``, optional ``status``/``amount``) or ``body`` as given,
        which may be tampered with on purpose: a broken or forged one must not be answered OK. The answer's
        findings are recorded like request findings, so the test fails at teardown when the handler is wrong.
        """
        if body is None:
            if trade_no is None:
                raise ValueError("give trade_no (an order created by a Checkout request) or body")
            body = self.notification(trade_no, status, amount)
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        delivery = deliver_to(target, url, raw, JudgeOptions(secret=self.secret), timeout)
        with self._lock:
            repeat = raw in self._acknowledged
            if delivery.acknowledged:
                self._acknowledged.add(raw)
        if repeat:  # the provider's retry of a notification the handler already acknowledged
            delivery = replace(delivery, findings=judge_case(Case("a repeat", raw, "duplicate"), delivery))
        self.record_delivery(delivery)
        return delivery

    def record_delivery(self, delivery: Delivery) -> None:
        """Keep a notification sent to the merchant, and the findings about its answer, with the calls."""
        request = httpx.Request("POST", delivery.url, content=delivery.body,
                                headers={"Content-Type": "application/json"})
        response = httpx.Response(delivery.status, text=delivery.text, request=request) \
            if delivery.status is not None else None
        with self._lock:
            index = len(self.calls)
            findings = [replace(f, source=self.source, index=index) for f in delivery.findings]
            self.calls.append(Call(request, _parsed(delivery.body), response, findings, "notify"))

    def assert_conformant(self, strict: bool | None = None) -> None:
        """Fail (``AssertionError``) with one readable block when any call broke the contract."""
        __tracebackhide__ = True
        text = failure_report(self.calls, self.strict if strict is None else strict)
        if text:
            raise AssertionError(text)


def _parsed(content: bytes) -> Any:
    try:
        return json.loads(content) if content else None
    except (ValueError, RecursionError):
        return None


def _now_ms() -> int:
    return int(time.time() * 1000)


def _envelope(code: str, msg: str) -> dict[str, Any]:
    """An error envelope: ``code`` not "0000", ``data`` null."""
    return {"msg": msg, "code": code, "timestamp": _now_ms(), "success": False, "data": None}


_JSON_HEADERS = (("content-type", "application/json"),)
_HTML_HEADERS = (("content-type", "text/html"),)


def _json(request: httpx.Request, payload: dict[str, Any], status: int = 200) -> httpx.Response:
    # Bytes in hand are cheaper for httpx than json=; the wire form is the same compact JSON.
    return httpx.Response(status, content=json_bytes(payload), headers=_JSON_HEADERS, request=request)


def _first_problem(finding: Finding) -> str:
    # The provider answers with a short reason; "sign error" is what merchants see in production.
    return "sign error" if finding.rule.startswith("sign.") else f"param error: {finding.message}"


def success_envelope(body: Any, base_url: str, status: str = "0015") -> dict[str, Any]:
    """The documented success response for a request body (tradeNo and remark echoed)."""
    body = body if isinstance(body, dict) else {}
    platform = f"vx{next(_platform_ids):014d}"
    trade_no, remark = body.get("tradeNo"), body.get("remark")
    return {
        "msg": "success", "code": "0000", "timestamp": _now_ms(), "success": True,
        "data": {
            "tradeNo": trade_no if isinstance(trade_no, str) else "",
            "platFormTradeNo": platform,
            "status": status,
            "desc": "Create" if status == "0015" else "Failed",
            "remark": remark if isinstance(remark, str) else "",
            "paymentUrl": f"{base_url.rstrip('/')}/cashier/#/order/{platform}",
        },
    }


def failure_report(calls: list[Call], strict: bool) -> str:
    """One line per finding (rule, field, message, hint); empty when nothing fails."""
    listed = [f for c in calls for f in c.findings]
    errors = sum(f.severity == "error" for f in listed)
    if not errors and not (strict and listed):
        return ""
    lines = [f"vexora_mock: the client broke the provider's contract "
             f"({errors} error(s), {len(listed) - errors} warning(s)):"]
    for f in listed:
        lines.append(one_line(f"  call #{f.index} {f.severity} {f.rule} {f.pointer or '-'}: {f.message}"))
        if f.hint:
            lines.append(one_line(f"      hint: {f.hint}"))
    return "\n".join(lines)


@contextmanager
def fake_provider(secret: str | Secret = DEFAULT_SECRET, merchant_no: str = DEFAULT_MERCHANT,
                  base_url: str | None = None, strict: bool = False, check: bool = True,
                  skew_window_s: float = 300.0, session: Session | None = None,
                  source: str = "vexora_mock") -> Iterator[FakeProvider]:
    """A fake provider answering every httpx request meant for the provider while the block runs.

    With ``base_url``, every request to its host is judged and answered (a wrong method or path too);
    without, every request whose path is under ``/v1/vexora/``, on any host. Requests elsewhere raise
    ``NotMocked`` in the client, never silently answered. With ``check`` the block ends with
    ``assert_conformant()``.
    """
    import respx

    fake = FakeProvider(secret if isinstance(secret, Secret) else Secret(secret), merchant_no,
                        base_url or "https://sandbox.vexora.test", strict, skew_window_s, session, source)
    with respx.mock(assert_all_called=False, assert_all_mocked=False) as router:
        pattern = {"host": httpx.URL(base_url).host} if base_url else {"path__regex": PROVIDER_PATHS}
        def handle(request: httpx.Request) -> httpx.Response:
            # A plain function: respx inspects the side effect's signature on every call, a bound method costs more.
            __tracebackhide__ = True
            return fake.handle(request)

        router.route(**pattern).mock(side_effect=handle)
        router.route().mock(side_effect=_not_mocked(base_url))
        yield fake
    if check:
        fake.assert_conformant()
