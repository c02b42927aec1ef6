"""The loopback fake provider: ``FakeProvider.handle`` behind a small threaded HTTP server.

Every Checkout request goes through the very same ``handle`` the pytest
fixture uses, so the two fakes cannot drift apart. Control endpoints under
``/__vexora__/`` expose findings, queue outcomes and reset state.
"""

from __future__ import annotations

import json
import re
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, Any

import httpx

from .provider import CHECKOUT_REGEX, FakeProvider, Outcome
from .validate import Outcome as Report

MAX_BODY = 1024 * 1024
CONTROL = "/__vexora__/"
OUTCOME_KINDS = {"envelope", "status", "http", "not-json", "connect-error", "read-timeout", "slow"}
OUTCOME_FIELDS: dict[str, type | tuple[type, ...]] = {"code": str, "msg": str, "status": str, "http_status": int,
                                                      "delay": (int, float)}
_CHECKOUT = re.compile(CHECKOUT_REGEX)


def report_of(fake: FakeProvider) -> Report:
    """The calls so far, as the same report ``validate`` produces."""
    report = Report(sources=[fake.source])
    for index, call in enumerate(fake.snapshot()):
        report.exchanges += 1
        report.judged.append(f"{fake.source}#{index} {call.request.method} {call.request.url.path}")
        for f in call.findings:
            report.add(f)
    return report


def parse_scenario(payload: Any) -> tuple[Outcome, int]:
    """``{"outcome": kind, "times": N, ...fields}`` -> (Outcome, times); ValueError with a reason."""
    if not isinstance(payload, dict) or payload.get("outcome") not in OUTCOME_KINDS:
        raise ValueError(f"expected {{\"outcome\": one of {sorted(OUTCOME_KINDS)}, ...}}")
    times = payload.get("times", 1)
    if not isinstance(times, int) or isinstance(times, bool) or not 1 <= times <= 10_000:
        raise ValueError("times must be an integer from 1 to 10000")
    fields: dict[str, Any] = {}
    for key, value in payload.items():
        if key in ("outcome", "times"):
            continue
        if key not in OUTCOME_FIELDS or not isinstance(value, OUTCOME_FIELDS[key]) or isinstance(value, bool):
            raise ValueError(f"unknown or mistyped field {key!r}")
        fields[key] = value
    if payload["outcome"] == "read-timeout":
        fields.setdefault("delay", 30.0)
    return Outcome(payload["outcome"], **fields), times


class Handler(BaseHTTPRequestHandler):
    server: VexoraServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        # Quiet by default: the findings endpoint and the report are the output.
        if self.server.verbose:
            super().log_message(format, *args)

    # -- plumbing --

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload, ensure_ascii=False).encode())

    def _body(self) -> bytes | None:
        """The request body, or None after answering 411/413/400 (never reads an oversized body)."""
        length = self.headers.get("Content-Length")
        if length is None:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                self.close_connection = True
                self._json(411, {"code": "8000", "msg": "send a Content-Length"})
                return None
            return b""
        if not length.isdigit():
            self.close_connection = True
            self._json(400, {"code": "8000", "msg": "bad Content-Length"})
            return None
        if int(length) > MAX_BODY:
            self.close_connection = True
            self._json(413, {"code": "8000", "msg": f"body larger than {MAX_BODY} bytes"})
            return None
        return self.rfile.read(int(length))

    # -- dispatch --

    def _dispatch(self) -> None:
        try:
            body = self._body()
            if body is None:
                return
            path = self.path.split("?", 1)[0]
            if path.startswith(CONTROL):
                self._control(path[len(CONTROL):], body)
            elif _CHECKOUT.match(path):
                self._checkout(body)
            elif self.command == "GET" and path.startswith("/cashier/"):
                self._send(200, b"<!doctype html><title>Vexora cashier (fake)</title>"
                                b"<h1>Fake cashier page</h1><p>vexora-conformance serve</p>", "text/html")
            else:
                self._json(404, {"code": "8000", "msg": "not found: the fake serves POST .../v1/vexora/checkout"})
        except (TimeoutError, ConnectionError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _dispatch

    def _checkout(self, body: bytes) -> None:
        fake = self.server.fake
        url = f"{self.server.base_url}{self.path}"
        request = httpx.Request(self.command, url, headers=list(self.headers.items()), content=body)
        try:
            response = fake.handle(request)
        except httpx.ConnectError:
            self.close_connection = True  # hang up without a response, as a refused upstream looks
            return
        except httpx.ReadTimeout as exc:
            time.sleep(getattr(exc, "delay", 30.0))  # silent past the client's timeout, then hang up
            self.close_connection = True
            return
        self._send(response.status_code, response.content, response.headers.get("content-type", "text/plain"))

    def _control(self, what: str, body: bytes) -> None:
        fake = self.server.fake
        if what == "findings" and self.command == "GET":
            report = report_of(fake)
            self._json(200, {"summary": report.summary(), "findings": [f.to_dict() for f in report.findings]})
        elif what == "scenario" and self.command == "POST":
            try:
                outcome, times = parse_scenario(json.loads(body or b"null"))
            except (ValueError, RecursionError) as exc:
                self._json(400, {"error": str(exc)[:300]})
                return
            fake.queue(outcome, times)
            self._json(200, {"queued": times, "outcome": outcome.kind})
        elif what == "reset" and self.command == "POST":
            fake.reset()
            self._json(200, {"reset": True})
        else:
            self._json(404, {"error": "control endpoints: GET findings, POST scenario, POST reset"})


class VexoraServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], fake: FakeProvider, verbose: bool = False) -> None:
        super().__init__(address, Handler)
        self.fake = fake
        self.verbose = verbose
        host, port = self.server_address[:2]
        self.base_url = f"http://{host!s}:{port}"
        fake.base_url = self.base_url  # paymentUrl points at the cashier page this server serves


def serve(fake: FakeProvider, host: str, port: int, out: IO[str], report_path: str | None,
          verbose: bool = False) -> int:
    """Run until SIGINT/SIGTERM; then write the report and return 1 if any error finding was recorded."""
    from . import report as reports

    server = VexoraServer((host, port), fake, verbose)
    print(server.base_url, file=out, flush=True)
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        while not stop.wait(0.2):
            pass
    finally:
        server.shutdown()
        server.server_close()
        for s, handler in previous.items():
            signal.signal(s, handler)
    final = report_of(fake)
    if report_path:
        with open(report_path, "w", encoding="utf-8", errors="backslashreplace") as f:
            (reports.write_junit if report_path.endswith(".xml") else reports.write_json)(final, f)
    return 1 if final.errors else 0
