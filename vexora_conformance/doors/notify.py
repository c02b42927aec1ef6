"""The provider's side of the notification: deliver it, judge the merchant's answer, retry, and the battery.

One delivery is one POST of a notification body to a handler and what came
back. The answer is judged by the one judge (the notification endpoint's rules:
a valid notification wants exactly ``OK``, a broken or forged one anything
else); only the verdicts about the *answer* are kept, since the body is ours.
``battery`` is what ``check-notify`` runs; ``Retrier`` is ``serve``'s notifier.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..contract import signing
from ..contract.registry import ENDPOINTS
from ..contract.rules import rule
from ..core.exchange import Exchange, Request, Response
from ..core.findings import Finding, Severity
from ..judge.exchange import JudgeOptions, judge_exchange, ok_reply_problem
from . import wire

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


def url_sender(tls: ssl.SSLContext | None = None) -> Send:
    """POST to a handler's URL over a connection of its own, the whole exchange within ``timeout``
    (``wire.post``: connect, TLS, send, status line, headers and body; the answer capped before and after
    decoding)."""
    def send(url: str, body: bytes, timeout: float) -> tuple[int, str]:
        answer = wire.post(url, body, _JSON, timeout, MAX_ANSWER, tls)
        return answer.status, answer.body.decode("utf-8", "replace")

    return send


def app_sender(client: httpx.Client) -> Send:
    """POST to an in-process app behind an httpx transport (WSGI), reading at most MAX_ANSWER raw bytes and
    undoing any Content-Encoding with the same bounded decoder as ``wire``."""
    def send(url: str, body: bytes, timeout: float) -> tuple[int, str]:
        with client.stream("POST", url, content=body, headers=_JSON, timeout=timeout) as answer:
            data = b""
            for chunk in answer.iter_raw():
                data += chunk
                if len(data) >= MAX_ANSWER:
                    break
            text, _ = wire.decode(data[:MAX_ANSWER], answer.headers.get("content-encoding", ""), MAX_ANSWER)
            return answer.status_code, text.decode("utf-8", "replace")

    return bounded_by_thread(send)


def bounded_by_thread(send: Send) -> Send:
    """``send`` in a thread of its own, waited for at most ``timeout``: an in-process app that never returns
    cannot be stopped, but the delivery ends on time (``notify.slow``) and the thread is left to finish."""
    def bounded(url: str, body: bytes, timeout: float) -> tuple[int, str]:
        result: list[tuple[int, str]] = []
        error: list[BaseException] = []

        def run() -> None:
            try:
                result.append(send(url, body, timeout))
            except BaseException as exc:  # handed to the caller's thread as it was
                error.append(exc)

        worker = threading.Thread(target=run, daemon=True, name="vexora-app-delivery")
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            raise wire.TimedOut(f"timed out after {timeout:g} s: the in-process app had not returned (its "
                                "thread is left running)")
        if error:
            raise error[0]
        return result[0]

    return bounded


@contextmanager
def sender_for(target: Any) -> Iterator[Send]:
    """How to deliver to ``target``: a URL (``wire``), an ASGI app (a coroutine function) or a WSGI app, each
    bounded by the delivery's timeout."""
    if isinstance(target, str):
        yield url_sender()
    elif _is_asgi(target):
        yield bounded_by_thread(lambda u, b, t: asyncio.run(_send_asgi(target, u, b, t)))
    else:
        with httpx.Client(transport=httpx.WSGITransport(app=target)) as client:
            yield app_sender(client)


def deliver_to(target: Any, url: str, body: bytes, options: JudgeOptions, timeout: float = TIMEOUT_S) -> Delivery:
    """Deliver to a URL (then ``url`` is ``target``), a WSGI app or an ASGI app."""
    with sender_for(target) as send:
        return deliver(send, target if isinstance(target, str) else url, body, options, timeout)


def _is_asgi(app: Any) -> bool:
    call = app if inspect.isfunction(app) or inspect.ismethod(app) else getattr(app, "__call__", None)  # noqa: B004
    return inspect.iscoroutinefunction(call)


async def _send_asgi(app: Any, url: str, body: bytes, timeout: float) -> tuple[int, str]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        try:
            async with client.stream("POST", url, content=body, headers=_JSON) as answer:
                data = b""
                async for chunk in answer.aiter_raw():
                    data += chunk
                    if len(data) >= MAX_ANSWER:
                        break
                text, _ = wire.decode(data[:MAX_ANSWER], answer.headers.get("content-encoding", ""),
                                      MAX_ANSWER)
                return answer.status_code, text.decode("utf-8", "replace")
        except httpx.TimeoutException:
            raise wire.TimedOut(f"timed out after {timeout:g} s") from None


def deliver(send: Send, url: str, body: bytes, options: JudgeOptions, timeout: float = TIMEOUT_S) -> Delivery:
    """Send once and judge the answer: too late is ``notify.slow``, no connection ``notify.unreachable``, an
    answer that is not HTTP ``notify.reply`` (for a notification that wanted OK)."""
    started = time.monotonic()
    try:
        status, text = send(url, body, timeout)
    except wire.TimedOut as exc:
        return _timed_out(url, body, started, timeout, str(exc))
    except httpx.TimeoutException:  # an in-process app's transport
        return _timed_out(url, body, started, timeout)
    except wire.Unreachable as exc:
        return _unreachable(url, body, started, str(exc))
    except wire.BadAnswer as exc:
        return _garbled(url, body, started, str(exc), options)
    except ValueError as exc:  # core.urls: the URL cannot be called at all
        return _unreachable(url, body, started, f"the notifyUrl cannot be called: {exc}")
    except (httpx.HTTPError, OSError) as exc:  # an in-process app's transport
        return _unreachable(url, body, started, unreachable_reason(exc))
    if time.monotonic() - started > timeout:  # an answer that came too late is no answer to the provider
        return _timed_out(url, body, started, timeout)
    return answered(url, body, status, text, started, options)


def _unreachable(url: str, body: bytes, started: float, reason: str) -> Delivery:
    return Delivery(url, body, None, "", time.monotonic() - started, f"unreachable: {reason}",
                    [rule("notify.unreachable").finding(f"the notifyUrl is unreachable: {reason}")])


def _garbled(url: str, body: bytes, started: float, reason: str, options: JudgeOptions) -> Delivery:
    """Reached, and no answer the provider can read: for a valid notification that is no OK (``notify.reply``);
    for one the handler should refuse, it is a refusal."""
    verdict = judge_exchange(Exchange(Request("POST", url, {"content-type": "application/json"}, body),
                                      endpoint="notify"), options)
    valid = not any(f.severity is Severity.ERROR for f in verdict.findings)
    found = [rule("notify.reply").finding(f"the handler gave no answer the provider can read: {reason}",
                                          "/response")] if valid else []
    return Delivery(url, body, None, "", time.monotonic() - started, f"no answer: {reason}", found)


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


def _timed_out(url: str, body: bytes, started: float, timeout: float, what: str | None = None) -> Delivery:
    what = what or f"timed out after {timeout:g} s"
    return Delivery(url, body, None, "", time.monotonic() - started, what,
                    [rule("notify.slow").finding(f"the handler did not answer within {timeout:g} s, the provider's "
                                                 f"timeout ({what})")])


def signed(fields: dict[str, Any], secret: signing.Secret | str) -> bytes:
    return json.dumps({**fields, "sign": signing.sign(fields, secret)}, separators=(",", ":")).encode()


# --- the cases: what an answer means for the handler ---


@dataclass(frozen=True)
class Case:
    """One notification sent, and what its answer should be. ``kind``:

    - ``valid``: a valid notification of an order the handler knows: it wants exactly OK;
    - ``valid-unknown``: valid, for an order the handler may not know (a generated tradeNo): OK or a refusal;
    - ``duplicate``: a repeat of a notification the handler acknowledged: OK again;
    - ``forged``: a tampered, unsigned or foreign-signed one: anything but OK;
    - ``malformed``: not a notification: neither OK nor a 5xx;
    - ``unknown-order``: valid, for a tradeNo nobody has: either answer, a warning when acknowledged;
    - ``undocumented``: a status that contradicts a final one before it (the pages say nothing): its answer is
      shown, never judged.
    """

    name: str
    body: bytes
    kind: str


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
    elif case.kind in ("valid-unknown", "undocumented"):
        found = [f for f in found if f.rule not in ("notify.reply", "notify.reply-padded")]
    return found


def _answer(delivery: Delivery) -> str:
    if delivery.status is None:
        return delivery.failure or "no answer"
    shown = delivery.text[:40].encode("unicode_escape").decode("ascii")
    return f"HTTP {delivery.status} {shown!r}"
