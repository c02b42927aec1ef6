"""Merchant notification handlers, written without vexora_conformance: one correct, four with real mistakes.

Each is a WSGI app (served over real HTTP by ``serving``, or in-process through httpx's WSGI transport);
``as_asgi`` wraps one as an ASGI app. The sign check is the merchant's own code: sorted keys, empty values
and ``sign`` skipped, ``key=value`` joined, the secret appended, MD5 in lower-case hex.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def merchant_sign(params: dict[str, Any], secret: str) -> str:
    text = "".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k] not in ("", None))
    return hashlib.md5((text + secret).encode("utf-8")).hexdigest()


def handler(secret: str, orders: dict[str, str], *, reply: bytes = b"OK", reply_type: str = "text/plain",
            check_sign: bool = True, idempotent: bool = True) -> Wsgi:
    """A notification handler for ``orders`` (tradeNo -> amount), with the chosen mistakes."""
    seen: set[bytes] = set()
    lock = threading.Lock()

    def app(environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length)

        def answer(status: str, body: bytes, kind: str = "text/plain") -> list[bytes]:
            start(status, [("Content-Type", kind), ("Content-Length", str(len(body)))])
            return [body]

        try:
            note = json.loads(raw)
        except ValueError:
            return answer("400 Bad Request", b"FAIL")
        if not isinstance(note, dict) or not isinstance(note.get("tradeNo"), str):
            return answer("400 Bad Request", b"FAIL")
        if check_sign and note.get("sign") != merchant_sign(note, secret):
            return answer("400 Bad Request", b"FAIL")
        if note["tradeNo"] not in orders:
            return answer("400 Bad Request", b"FAIL")
        with lock:
            repeat = raw in seen
            seen.add(raw)
        if repeat and not idempotent:
            return answer("409 Conflict", b"already processed")
        return answer("200 OK", reply, reply_type)  # fulfilment would go here, once per notification

    return app


CORRECT = "correct"
MISTAKES = {  # name -> (handler options, the rule check-notify must report)
    "answers success": ({"reply": b"success"}, "notify.reply"),
    "skips the sign check": ({"check_sign": False}, "notify.accepts-bad-sign"),
    "not idempotent": ({"idempotent": False}, "notify.duplicate"),
    "answers JSON": ({"reply": b'{"code":"OK"}', "reply_type": "application/json"}, "notify.reply"),
}


def as_asgi(app: Wsgi) -> Any:
    """The same handler as an ASGI app (a coroutine function), for the ASGI transport."""
    import io

    async def asgi(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        started: dict[str, Any] = {}

        def start(status: str, headers: list[tuple[str, str]]) -> None:
            started.update(status=int(status.split()[0]), headers=headers)

        chunks = list(app({"CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}, start))
        await send({"type": "http.response.start", "status": started["status"],
                    "headers": [(k.lower().encode(), v.encode()) for k, v in started["headers"]]})
        await send({"type": "http.response.body", "body": b"".join(chunks)})

    return asgi


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serving(app: Wsgi) -> Iterator[str]:
    """Serve ``app`` on a free loopback port; yields its URL."""
    server = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/notify"
    finally:
        server.shutdown()
        server.server_close()
