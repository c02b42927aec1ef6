"""The HTTP plumbing every listening door shares (serve, proxy, listen): bounded, and never a traceback.

A request is read within bounds (``MAX_BODY``, one unambiguous Content-Length, a silent connection closed after
60 s), every method reaches the door's ``_route`` (TRACE too), an answer goes out in one write on a socket with
TCP_NODELAY, at most ``MAX_CONNECTIONS`` connections hold a thread (one more gets a 503), the log never shows a
query string, and a bug of ours is one line and a 500, never a traceback.
"""

from __future__ import annotations

import contextlib
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from ..core.jsontext import json_bytes

MAX_BODY = 1024 * 1024
MAX_CONNECTIONS = 128  # open connections, each with its thread; one more is answered 503 and closed
CONTROL = "/__vexora__/"
_LENGTH = re.compile(r"[0-9]{1,12}\Z")


def origin_form(target: str) -> str:
    """A request target as path and query: an absolute-form one (``POST http://host/path``) loses its host."""
    if "://" not in target.split("?", 1)[0]:
        return target if target.startswith("/") else "/" + target
    try:
        parts = urlsplit(target)
    except ValueError:
        return "/"
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def visible(target: str) -> str:
    """A request target with every byte that a URL cannot hold raw (controls, spaces, non-ASCII) %-escaped:
    http.server read the request line as Latin-1, so each character is one byte as sent. Judged, such a path is
    ``request.path`` like any other wrong one, instead of a URL httpx refuses to build."""
    if target.isascii() and target.isprintable() and " " not in target:
        return target
    return "".join(c if "!" <= c <= "~" else f"%{ord(c) & 0xFF:02X}" for c in target)


_DATE: tuple[int, str] = (0, "")  # (the second, its Date header text): one answer's worth of formatting a second


def _date_header(handler: BaseHTTPRequestHandler) -> str:
    global _DATE
    now = int(time.time())
    if _DATE[0] != now:
        _DATE = (now, handler.date_time_string(now))  # one assignment: a thread reads a whole pair or the last
    return _DATE[1]


class BoundedHandler(BaseHTTPRequestHandler):
    """Reads one bounded request at a time and answers it in one write; subclasses give ``_route``."""

    server: BoundedServer
    door = "serve"  # how its messages name the command
    protocol_version = "HTTP/1.1"
    timeout = 60  # seconds a silent connection may hold a thread (headers or body never finished)
    # http.server answers an unparsable request line as HTTP/0.9 would: a body with no status line at all.
    default_request_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        # Quiet by default: the findings endpoint and the report are the output.
        if self.server.verbose:
            super().log_message(format, *args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Not http.server's request line: its query string may carry the payer's email or mobile.
        if not self.server.verbose:
            return  # every answer calls this: nothing is worked out for a line nobody prints
        path = origin_form(getattr(self, "path", "")).split("?", 1)[0]
        self.log_message("%s %s %s", str(getattr(self, "command", "-"))[:16],
                         path[:200].encode("unicode_escape").decode("ascii"), code)

    def __getattr__(self, name: str) -> Any:
        # Every method gets an answer in the provider's manner (TRACE, PROPFIND, ...): http.server would give its
        # own 501 page to any it has no do_ method for, unjudged.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    # -- plumbing --

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        # Status line, headers and body in one write: written apart, with Nagle and delayed ACKs, a
        # keep-alive client waited ~40 ms for every answer. The bytes are send_response's and send_header's,
        # made in one piece (their calls were a tenth of what serve does per request), with the Date text
        # made once a second.
        self.log_request(status)
        close = "Connection: close\r\n" if self.close_connection else ""
        head = (f"{self.protocol_version} {status} {self.responses.get(status, ('',))[0]}\r\n"
                f"Server: {self.version_string()}\r\nDate: {_date_header(self)}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\n{close}\r\n")
        pending = getattr(self, "_headers_buffer", None)  # an interim answer (100 Continue) not yet written
        self._headers_buffer: list[bytes] = []
        self.wfile.write(b"".join(pending or ()) + head.encode("latin-1") + (body if self.command != "HEAD" else b""))

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json_bytes(payload))

    def _refuse(self, status: int, msg: str) -> None:
        self.close_connection = True  # what follows on this connection cannot be trusted to be a request
        self._json(status, {"code": "8000", "msg": msg})

    def _body(self) -> bytes | None:
        """The request body, or None after answering 411/413/400 (never reads an oversized body).

        An upload cut short (fewer bytes than announced, then a disconnect) is no request: None, unjudged.
        """
        lengths = self.headers.get_all("Content-Length") or []
        if len(set(lengths)) > 1 or (lengths and "Transfer-Encoding" in self.headers):
            # RFC 9112 6.3: which length frames the body is ambiguous; a proxy and we could read two requests
            self._refuse(400, "conflicting Content-Length and Transfer-Encoding: send one Content-Length")
            return None
        length = lengths[0] if lengths else None
        if length is None:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                self._refuse(411, "send a Content-Length")
                return None
            return b""
        if not _LENGTH.match(length):  # ASCII digits only: "²".isdigit() is true, and int() of 5000 digits raises
            self._refuse(400, "bad Content-Length")
            return None
        if int(length) > MAX_BODY:
            self._refuse(413, f"body larger than {MAX_BODY} bytes")
            return None
        body = self.rfile.read(int(length))
        if len(body) < int(length):
            self.close_connection = True
            return None
        return body

    # -- dispatch --

    def _dispatch(self) -> None:
        try:
            body = self._body()
            if body is None:
                return
            target = origin_form(self.path)
            self._route(body, target, target.split("?", 1)[0])
        except (TimeoutError, ConnectionError):
            self.close_connection = True
        except Exception as exc:  # the last net: a bug of ours must still give the client an answer
            print(f"vexora-conformance {self.door}: internal error ({type(exc).__name__}) while answering a "
                  "request; please report it", file=sys.stderr)
            self.close_connection = True
            with contextlib.suppress(OSError):
                self._json(500, {"code": "5000", "msg": f"internal error in vexora-conformance {self.door}; please "
                                                        "report it"})

    def _route(self, body: bytes, target: str, path: str) -> None:
        """Answer a request whose body was read: ``target`` in origin form, ``path`` without its query."""
        raise NotImplementedError

    def _findings(self, report: Any) -> None:
        """``GET /__vexora__/findings``: the run's summary and its findings so far (serve, proxy and listen)."""
        self._json(200, {"summary": report.summary(), "findings": [f.to_dict() for f in report.findings]})


class BoundedServer(ThreadingHTTPServer):
    """A threaded server with a cap on connections and TCP_NODELAY on each."""

    daemon_threads = True
    request_queue_size = 128
    door = "serve"

    def __init__(self, address: tuple[str, int], handler: type[BoundedHandler], verbose: bool = False) -> None:
        self.verbose = verbose
        self._connections = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(address, handler)

    def get_request(self) -> tuple[Any, Any]:
        sock, address = super().get_request()
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, address

    def process_request(self, request: Any, client_address: Any) -> None:
        """A thread per connection, up to MAX_CONNECTIONS; past that a 503 at once, and the connection closed."""
        if not self._connections.acquire(blocking=False):
            with contextlib.suppress(OSError):
                request.settimeout(1.0)
                body = json_bytes({"code": "5000", "msg": f"busy: {MAX_CONNECTIONS} connections are open; "
                                                          "retry shortly"})
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                                b"Connection: close\r\nRetry-After: 1\r\nContent-Length: "
                                + str(len(body)).encode() + b"\r\n\r\n" + body)
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._connections.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Never a traceback: a client that hung up is no news; anything else is one line (the request is lost)."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            return
        print(f"vexora-conformance {self.door}: a connection failed ({type(error).__name__}); please report it",
              file=sys.stderr)


def run_until_signal(server: BoundedServer, on_stop: Callable[[], None] = lambda: None,
                     ready: Callable[[], None] = lambda: None) -> None:
    """Serve from a thread until SIGINT or SIGTERM, then shut down and close (``on_stop`` first). ``ready``
    runs once the signals are caught (it prints the base URL: a script that signals the moment it reads it
    gets a clean stop, not an interrupted one)."""
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        ready()
        while not stop.wait(0.2):
            pass
    finally:
        on_stop()
        server.shutdown()
        server.server_close()
        for s, handler in previous.items():
            signal.signal(s, handler)


class ArrivalOrder:
    """Tickets in the order requests arrive, and turns taken in that order.

    A door that answers before it judges (the proxy and the relay: the client must not wait for the judge)
    would otherwise judge a client's next request, sent the moment it had its answer, before the previous one,
    and number, remember and record them out of order. A turn waits for the earlier tickets, at most
    ``patience`` seconds (an earlier exchange still in flight then is concluded after this one).
    """

    def __init__(self, patience: float) -> None:
        self.patience = patience
        self._issued = 0
        self._next = 0
        self._cond = threading.Condition()

    def wait(self, timeout: float) -> None:
        """Until every ticket issued so far is concluded (at most ``timeout`` s): a report asked for the moment
        the last answer went out includes that exchange."""
        deadline = time.monotonic() + timeout
        with self._cond:
            issued = self._issued
            while self._next < issued and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)

    def ticket(self) -> int:
        with self._cond:
            self._issued += 1
            return self._issued - 1

    @contextmanager
    def turn(self, ticket: int) -> Iterator[None]:
        deadline = time.monotonic() + self.patience
        with self._cond:
            while self._next < ticket and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)
            try:
                yield
            finally:
                # Normally ``_next == ticket``; after a wait that ran out, the later ones need not wait too.
                self._next = max(self._next, ticket + 1)
                self._cond.notify_all()
