"""The loopback fake provider: ``FakeProvider.handle`` behind a small threaded HTTP server.

Every Checkout request goes through the very same ``handle`` the pytest
fixture uses, so the two fakes cannot drift apart. Control endpoints under
``/__vexora__/`` expose findings, queue outcomes and reset state.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable
from typing import IO, Any

import httpx

from ..contract.registry import paths_text
from ..core.jsontext import json_bytes
from ..core.outcome import Outcome
from ..core.urls import target as url_target
from ..judge.exchange import JudgeOptions
from .fake.mock import PROVIDER_PATHS
from .fake.provider import Call, FakeProvider
from .fake.record import RunRecord, finish_run
from .fake.scenarios import SCENARIO_KINDS, Scenario, SilentTimeout
from .httpdoor import (
    CONTROL,
    BoundedHandler,
    BoundedServer,
    run_until_signal,
    visible,
)
from .notifier import VARIANTS, Notifier
from .notify import url_sender
from .state import StateAdapter
from .turn import FairTurn

SCENARIO_FIELDS: dict[str, type | tuple[type, ...]] = {"code": str, "msg": str, "status": str, "http_status": int,
                                                      "delay": (int, float)}
_PROVIDER = re.compile(PROVIDER_PATHS)


def label(call: Call) -> str:
    """How a report names a call: its method and path (never its query, which may hold payer data)."""
    return f"{call.request.method[:16]} {call.request.url.path[:200]}"


def keep_verdict(record: RunRecord) -> Callable[[int, Call], None]:
    """What serve keeps of a call: its verdict, in the run record."""
    def keep(index: int, call: Call) -> None:
        record.add(index, label(call), call.endpoint, call.market, call.variant, call.findings)

    return keep


def report_of(fake: FakeProvider) -> Outcome:
    """The calls a fake kept, as the same report ``validate`` produces (serve reports its run record)."""
    record = RunRecord(fake.source)
    keep = keep_verdict(record)
    for index, call in enumerate(fake.snapshot()):
        keep(index, call)
    return record.report()


def parse_payment(payload: Any) -> tuple[str, str, str | None, tuple[str, ...]]:
    """``{"tradeNo": ..., "status": "0000", "amount": "...", "variants": [...]}``; ValueError with a reason."""
    if not isinstance(payload, dict) or not isinstance(payload.get("tradeNo"), str):
        raise ValueError('expected {"tradeNo": "...", "status": "0000", "amount": "...", "variants": [...]}')
    unknown = set(payload) - {"tradeNo", "status", "amount", "variants"}
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(sorted(repr(k)[:40] for k in unknown))}")
    variants = payload.get("variants", [])
    if not isinstance(variants, list) or any(v not in VARIANTS for v in variants):
        raise ValueError(f"variants must be a list of {', '.join(VARIANTS)}")
    status = payload.get("status", "0000")
    amount = payload.get("amount")
    if not isinstance(status, str) or (amount is not None and not isinstance(amount, str)):
        raise ValueError("status and amount are strings")
    return payload["tradeNo"], status, amount, tuple(variants)


def parse_scenario(payload: Any) -> tuple[Scenario, int]:
    """``{"outcome": kind, "times": N, ...fields}`` -> (Scenario, times); ValueError with a reason."""
    if not isinstance(payload, dict) or payload.get("outcome") not in SCENARIO_KINDS:
        raise ValueError(f"expected {{\"outcome\": one of {sorted(SCENARIO_KINDS)}, ...}}")
    times = payload.get("times", 1)
    if not isinstance(times, int) or isinstance(times, bool) or not 1 <= times <= 10_000:
        raise ValueError("times must be an integer from 1 to 10000")
    fields: dict[str, Any] = {}
    for key, value in payload.items():
        if key in ("outcome", "times"):
            continue
        if key not in SCENARIO_FIELDS or not isinstance(value, SCENARIO_FIELDS[key]) or isinstance(value, bool):
            raise ValueError(f"unknown or mistyped field {key!r}")
        fields[key] = value
    if payload["outcome"] == "read-timeout":
        fields.setdefault("delay", 30.0)
    return Scenario(payload["outcome"], **fields), times


_URLS: dict[str, httpx.URL] = {}  # URLs parsed for httpx, by their text: clients repeat a few
_URL_ENTRIES, _URL_TEXT = 1024, 2048  # at most this many, each at most this long (a hostile path is not kept)


def _request(method: str, url: str, headers: list[tuple[bytes, bytes]], body: bytes) -> httpx.Request:
    """The request as it arrived, for the fake: built from a stream (httpx's way on the server side of a
    transport), so its headers are the client's own, with no Host or Content-Length added, and read at once."""
    request = httpx.Request(method, _parsed_url(url), headers=headers, stream=httpx.ByteStream(body))
    request.read()
    return request


def _parsed_url(url: str) -> httpx.URL:
    """httpx.URL(url), remembered: parsing it is half the cost of building the request httpx.Request; a URL
    object is immutable, so one may serve many requests."""
    found = _URLS.get(url)
    if found is None:
        found = httpx.URL(url)
        if len(url) <= _URL_TEXT:
            if len(_URLS) >= _URL_ENTRIES:
                _URLS.clear()
            _URLS[url] = found
    return found


class Handler(BoundedHandler):
    """The fake provider's routes: control paths, the provider's endpoints, the cashier page."""

    server: VexoraServer
    door = "serve"

    def _route(self, body: bytes, target: str, path: str) -> None:
        if path.startswith(CONTROL):
            self._control(path[len(CONTROL):], body)
        elif _PROVIDER.match(path):
            self._provider(target, body)
        elif self.command == "GET" and path.startswith("/cashier/"):
            self._send(200, b"<!doctype html><title>Vexora cashier (fake)</title>"
                            b"<h1>Fake cashier page</h1><p>vexora-conformance serve</p>", "text/html")
        else:
            self._json(404, {"code": "8000", "msg": f"not found: the fake serves POST {paths_text()}, after an "
                                                    "optional market prefix (/bangladesh/v1/vexora/...)"})

    def _provider(self, path: str, body: bytes) -> None:
        fake = self.server.fake
        url = f"{self.server.base_url}{visible(path)}"
        # http.server decoded the header bytes as Latin-1: encoding them back gives httpx the bytes as sent
        # (as str, httpx would insist on ASCII and refuse a client's raw UTF-8 header). raw_items: what items()
        # gives for Latin-1 text (its policy only rewrites surrogates, which Latin-1 never makes), without a
        # policy call per header.
        headers = [(k.encode("latin-1", "replace"), v.encode("latin-1", "replace"))
                   for k, v in self.headers.raw_items()]
        try:
            with self.server.turn:  # the answer is written after, outside the turn: a slow reader holds up no one
                status, content, content_type = fake.answer_bytes(_request(self.command, url, headers, body))
        except httpx.ConnectError:
            self.close_connection = True  # hang up without a response, as a refused upstream looks
            return
        except SilentTimeout as exc:
            time.sleep(exc.delay)  # silent past the client's timeout, then hang up
            self.close_connection = True
            return
        self._send(status, content, content_type)

    def _control(self, what: str, body: bytes) -> None:
        fake = self.server.fake
        if what == "findings" and self.command == "GET":
            self._findings(self.server.record.report())
        elif what == "scenario" and self.command == "POST":
            try:
                outcome, times = parse_scenario(json.loads(body or b"null"))
            except (ValueError, RecursionError) as exc:
                self._json(400, {"error": str(exc)[:300]})
                return
            fake.queue(outcome, times)
            self._json(200, {"queued": times, "outcome": outcome.kind})
        elif what in ("pay", "pay-out") and self.command == "POST":
            self._pay(body, what)
        elif what == "balance" and self.command == "GET":
            b = fake.balance
            self._json(200, {"available": f"{b.available:.2f}", "frozen": f"{b.frozen:.2f}",
                             "unsettled": f"{b.unsettled:.2f}"})
        elif what == "settle" and self.command == "POST":
            fake.settle()
            self._json(200, {"settled": True})
        elif what == "reset" and self.command == "POST":
            fake.reset()
            self._json(200, {"reset": True})
        else:
            self._json(404, {"error": "control endpoints: GET findings, GET balance, POST scenario, POST pay, "
                                      "POST pay-out, POST settle, POST reset"})

    def _pay(self, body: bytes, what: str) -> None:
        """Pay a pay-in, or end a pay-out (``{"tradeNo", "status", "amount", "variants"}``), then notify its
        notifyUrl meanwhile."""
        fake, notifier = self.server.fake, self.server.notifier
        try:
            trade_no, status, amount, variants = parse_payment(json.loads(body or b"null"))
            if what == "pay-out" and amount is not None:
                raise ValueError("a pay-out ends for its own amount: give tradeNo and status only")
        except (ValueError, RecursionError) as exc:
            self._json(400, {"error": str(exc)[:300]})
            return
        order = fake.books.pay_in(trade_no) if what == "pay" else fake.books.pay_out(trade_no)
        notify_url = order.notify_url if order is not None else None
        if notify_url and not notifier.reserve():  # before anything is paid: a refused pay changes nothing
            self._json(503, {"error": f"{notifier.capacity} notifications are pending (sent, or waiting for a "
                                      "retry); pay again when the handler has answered some"})
            return
        try:
            notification = fake.pay(trade_no, status, amount) if what == "pay" else fake.pay_out(trade_no, status)
        except ValueError as exc:
            if notify_url:
                notifier.release()
            self._json(400, {"error": str(exc)[:300]})
            return
        if notify_url:
            notifier.start(notify_url, json_bytes(notification), variants, order.amount if order else None)
        self._json(200, {"paid": trade_no, "notification": notification, "notifyUrl": notify_url,
                         "notifying": bool(notify_url)})


class VexoraServer(BoundedServer):
    def __init__(self, address: tuple[str, int], fake: FakeProvider, verbose: bool = False,
                 notify_retry_scale: float = 1.0, state: StateAdapter | None = None,
                 err: IO[str] | None = None) -> None:
        self.fake = fake
        self.turn = FairTurn()  # the requests' work, first come first served (doors/turn.py)
        fake.pause = self.turn.away
        self.record = RunRecord(fake.source)
        fake.keep_calls, fake.on_call = False, keep_verdict(self.record)
        # before binding: a failed bind calls server_close(), which closes it
        self.state_error: str | None = None  # the first thing the state adapter did wrong: serve then exits 2
        self._err = err
        self.notifier = Notifier(url_sender(), JudgeOptions(secret=fake.secret), fake.record_delivery,
                                 scale=notify_retry_scale, refuse=self.own_address, state=state,
                                 on_state_error=self._state_failed)
        super().__init__(address, Handler, verbose)
        host, port = self.server_address[:2]
        self.base_url = f"http://{host!s}:{port}"
        fake.base_url = self.base_url  # paymentUrl points at the cashier page this server serves

    def _state_failed(self, reason: str) -> None:
        if self.state_error is None:
            self.state_error = reason
            print(f"vexora-conformance serve: the state adapter: {reason}; effects are not judged until it "
                  "answers, and serve will exit 2", file=self._err or sys.stderr, flush=True)

    def own_address(self, url: str) -> str | None:
        """Why the notifier must not call ``url``: it is this server (its control paths could erase a run)."""
        try:
            where = url_target(url)
        except ValueError:
            return None  # the delivery says why it cannot be called
        host = where.host.strip("[]").lower()
        ours = {str(self.server_address[0]).lower(), "localhost", "0.0.0.0", "::", "::1"}
        if where.port == self.server_address[1] and (host in ours or host.startswith("127.")):
            return "it points at the fake provider itself"
        return None

    def server_close(self) -> None:
        super().server_close()
        self.notifier.close()


def serve(fake: FakeProvider, host: str, port: int, out: IO[str], report: IO[str] | None,
          verbose: bool = False, err: IO[str] | None = None, notify_retry_scale: float = 1.0,
          state: StateAdapter | None = None) -> int:
    """Run until SIGINT/SIGTERM; then write the report (to the open file ``report``, which is closed).

    Returns 1 if a finding that ``fake.fail_on`` fails was recorded, 2 when the report could not be written.
    """
    server = VexoraServer((host, port), fake, verbose, notify_retry_scale, state, err)
    run_until_signal(server, ready=lambda: print(server.base_url, file=out, flush=True))
    return finish_run("serve", server.record, report, None, out, err or sys.stderr, fake.fail_on,
                      broken=server.state_error is not None)
