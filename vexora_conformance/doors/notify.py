"""The provider's side of the notification: deliver it, judge the merchant's answer, retry, and the battery.

One delivery is one POST of a notification body to a handler and what came
back. The answer is judged by the one judge (the notification endpoint's rules:
a valid notification wants exactly ``OK``, a broken or forged one anything
else); only the verdicts about the *answer* are kept, since the body is ours.
``battery`` is what ``check-notify`` runs; ``Retrier`` is ``serve``'s notifier.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import IO, Any

import httpx

from ..contract import signing
from ..contract.registry import ENDPOINTS
from ..contract.rules import rule
from ..core.exchange import Exchange, Request, Response
from ..core.findings import Finding
from ..core.outcome import Judged, Outcome
from ..core.text import one_line
from ..judge.exchange import JudgeOptions, judge_exchange, ok_reply_problem

MAX_ANSWER = 64 * 1024  # what is read of an answer: enough to judge it, bounded whatever the handler sends
SHOWN = 200  # characters of an answer kept in a finding
REPLY_RULES = frozenset({"notify.reply", "notify.reply-padded", "notify.accepts-bad-sign",
                         "notify.malformed-accepted"})
_JSON = {"Content-Type": "application/json"}
_SPEC = ENDPOINTS["notify"].contract(None)
TIMEOUT_S = float(_SPEC.reply_fact("timeout_s"))
RETRY_SCHEDULE_S: tuple[float, ...] = tuple(_SPEC.reply_fact("retry_schedule_s"))


@dataclass(frozen=True)
class Delivery:
    """A notification sent once, and the answer (``status`` None when none came)."""

    url: str
    body: bytes
    status: int | None
    text: str
    elapsed_s: float
    failure: str | None = None  # "unreachable: ..." or "timed out after ..."
    findings: list[Finding] = field(default_factory=list)

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and ok_reply_problem(self.status, self.text) is None

    def details(self, case: str | None = None) -> dict[str, Any]:
        """What a finding carries: the notification (it holds no secret and no payer data) and the answer."""
        try:
            sent: Any = json.loads(self.body)
        except ValueError:
            sent = self.body[:SHOWN].decode("utf-8", "replace")
        answer = {"status": self.status, "body": self.text[:SHOWN]} if self.status is not None else \
            {"failure": self.failure}
        return {**({"case": case} if case else {}), "notification": sent, "answer": answer}


Send = Callable[[str, bytes, float], tuple[int, str]]


def http_sender(client: httpx.Client) -> Send:
    """POST with ``client`` (a URL, or an app behind a WSGI transport), reading at most MAX_ANSWER bytes.

    ``timeout`` bounds the whole answer, not each read: a handler that drips a byte at a time still runs out.
    """
    def send(url: str, body: bytes, timeout: float) -> tuple[int, str]:
        deadline = time.monotonic() + timeout
        with client.stream("POST", url, content=body, headers=_JSON, timeout=timeout) as answer:
            data = b""
            for chunk in answer.iter_bytes():
                data += chunk
                if len(data) >= MAX_ANSWER:
                    break
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout("the answer took longer than the timeout")
            return answer.status_code, data[:MAX_ANSWER].decode("utf-8", "replace")

    return send


def deliver_to(target: Any, url: str, body: bytes, options: JudgeOptions, timeout: float = TIMEOUT_S) -> Delivery:
    """Deliver to a URL, a WSGI app or an ASGI app (detected: an ASGI app is a coroutine function)."""
    if isinstance(target, str):
        with httpx.Client() as client:
            return deliver(http_sender(client), target, body, options, timeout)
    if _is_asgi(target):
        return _in_thread(lambda: asyncio.run(_deliver_asgi(target, url, body, options, timeout)))
    with httpx.Client(transport=httpx.WSGITransport(app=target)) as client:
        return deliver(http_sender(client), url, body, options, timeout)


def _is_asgi(app: Any) -> bool:
    call = app if inspect.isfunction(app) or inspect.ismethod(app) else getattr(app, "__call__", None)  # noqa: B004
    return inspect.iscoroutinefunction(call)


def _in_thread(fn: Callable[[], Delivery]) -> Delivery:
    """Run an event loop of our own, whether or not the caller is inside one (an async test)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn).result()


async def _deliver_asgi(app: Any, url: str, body: bytes, options: JudgeOptions, timeout: float) -> Delivery:
    started = time.monotonic()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        try:
            answer = await asyncio.wait_for(client.post(url, content=body, headers=_JSON), timeout)
        except (TimeoutError, httpx.TimeoutException):
            return _timed_out(url, body, started, timeout)
    return answered(url, body, answer.status_code, answer.text[:MAX_ANSWER], started, options)


def deliver(send: Send, url: str, body: bytes, options: JudgeOptions, timeout: float = TIMEOUT_S) -> Delivery:
    """Send once and judge the answer; a timeout is ``notify.slow``, no connection ``notify.unreachable``."""
    started = time.monotonic()
    try:
        status, text = send(url, body, timeout)
    except httpx.TimeoutException:
        return _timed_out(url, body, started, timeout)
    except (httpx.HTTPError, OSError) as exc:
        reason = f"unreachable: {unreachable_reason(exc)}"
        return Delivery(url, body, None, "", time.monotonic() - started, reason,
                        [rule("notify.unreachable").finding(f"the notifyUrl is {reason}")])
    if time.monotonic() - started > timeout:  # an answer that came too late is no answer to the provider
        return _timed_out(url, body, started, timeout)
    return answered(url, body, status, text, started, options)


def unreachable_reason(exc: BaseException) -> str:
    """Why a connection failed, in words: the cause is found down the exception's chain (httpx wraps it)."""
    seen: list[BaseException] = []
    while exc is not None and exc not in seen and len(seen) < 8:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    for cause in seen:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return (f"TLS: its certificate is not trusted ({cause.verify_message}); "
                    "a self-signed one needs --cacert")
        if isinstance(cause, ssl.SSLError):
            return f"TLS: the handshake failed ({cause.reason or 'not TLS'}); is it https?"
        if isinstance(cause, socket.gaierror):
            return "its host name does not resolve"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused: nothing listens on that port"
        if isinstance(cause, ConnectionResetError):
            return "the connection was reset"
    text = " ".join(str(seen[0]).split())[:120]
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "its host name does not resolve"
    if "Connection refused" in text or "Errno 111" in text:
        return "connection refused: nothing listens on that port"
    if "SSL" in text or "certificate" in text:
        return f"TLS: {text}"
    return f"no connection ({type(seen[0]).__name__.replace('Error', ' error').lower().strip()})"


def answered(url: str, body: bytes, status: int, text: str, started: float, options: JudgeOptions) -> Delivery:
    """The judge's verdict on an answer; only what concerns the answer is kept (the body is ours)."""
    exchange = Exchange(Request("POST", url, {"content-type": "application/json"}, body),
                        Response(status, {}, text), endpoint="notify")
    found = [f for f in judge_exchange(exchange, options).findings if f.rule in REPLY_RULES]
    return Delivery(url, body, status, text, time.monotonic() - started, None, found)


def _timed_out(url: str, body: bytes, started: float, timeout: float) -> Delivery:
    return Delivery(url, body, None, "", time.monotonic() - started, f"timed out after {timeout:g} s",
                    [rule("notify.slow").finding(f"the handler did not answer within {timeout:g} s "
                                                 "(the provider's timeout)")])


def signed(fields: dict[str, Any], secret: signing.Secret | str) -> bytes:
    return json.dumps({**fields, "sign": signing.sign(fields, secret)}, separators=(",", ":")).encode()


# --- the battery of check-notify ---


@dataclass(frozen=True)
class Case:
    name: str
    body: bytes
    kind: str  # "valid", "duplicate", "forged", "malformed", "unknown-order"


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


def tampered(body: bytes) -> bytes:
    """The notification with a larger amount and its old sign: what an attacker who saw one would send."""
    note = json.loads(body)
    amount = str(note.get("amount", "0"))
    note["amount"] = str(int(amount) + 1) if amount.isascii() and amount.isdigit() else amount + "0"
    return json.dumps(note, separators=(",", ":")).encode()


def judge_case(case: Case, delivery: Delivery) -> list[Finding]:
    """What a case's answer means for the handler, beyond the judge's verdict on the answer."""
    found = list(delivery.findings)
    if case.kind == "duplicate":
        found = [rule("notify.duplicate").finding(
            f"a repeat of an acknowledged notification got {_answer(delivery)}, not OK", f.pointer)
            if f.rule == "notify.reply" else f for f in found]
    elif case.kind == "malformed" and delivery.status is not None and delivery.status >= 500:
        found.append(rule("notify.crash").finding(f"a malformed body got {_answer(delivery)}", "/response"))
    elif case.kind == "unknown-order":
        found = [f for f in found if f.rule not in ("notify.reply", "notify.reply-padded")]
        if delivery.acknowledged:
            found.append(rule("notify.unknown-order").finding(
                "the handler acknowledged a notification for a tradeNo it cannot know", "/response"))
    return found


def _answer(delivery: Delivery) -> str:
    if delivery.status is None:
        return delivery.failure or "no answer"
    shown = delivery.text[:40].encode("unicode_escape").decode("ascii")
    return f"HTTP {delivery.status} {shown!r}"


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


# --- serve's notifier: the documented retries ---


class Retrier:
    """Deliver a notification as the provider does: again on anything but OK, on the documented schedule."""

    def __init__(self, send: Send, options: JudgeOptions, record: Callable[[Delivery], None],
                 scale: float = 1.0, timeout: float = TIMEOUT_S) -> None:
        self.send, self.options, self.record = send, options, record
        self.scale, self.timeout = scale, timeout

    def start(self, url: str, body: bytes, variants: tuple[str, ...] = ()) -> threading.Thread:
        thread = threading.Thread(target=self.run, args=(url, body, variants), daemon=True,
                                  name="vexora-notifier")
        thread.start()
        return thread

    def run(self, url: str, body: bytes, variants: tuple[str, ...] = ()) -> bool:
        """Deliver until acknowledged or out of retries; then the asked-for variants. True when acknowledged."""
        for wait in (0.0, *RETRY_SCHEDULE_S):
            if wait:
                time.sleep(wait * self.scale)
            delivery = deliver(self.send, url, body, self.options, self.timeout)
            self.record(delivery)
            if delivery.acknowledged:
                break
        else:
            return False
        for variant in variants:
            case = _variant(variant, body)
            delivery = deliver(self.send, url, case.body, self.options, self.timeout)
            self.record(replace(delivery, findings=judge_case(case, delivery)))
        return True


VARIANTS = ("duplicate", "bad-sign")


def _variant(name: str, body: bytes) -> Case:
    if name == "duplicate":
        return Case("the same notification again", body, "duplicate")
    return Case("a tampered amount with the old sign", tampered(body), "forged")
