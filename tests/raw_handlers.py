"""Notification handlers that speak raw sockets, for the hostile tests of the notifier's side.

Each behaviour gets one accepted connection, reads the request (or not), and answers as a broken, slow or
hostile handler would: a decompression bomb, a status line dripped a byte at a time, ``100 Continue`` for
ever, bytes that are not HTTP, a reset. ``RawHandler`` serves one behaviour on a loopback port from a thread.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from functools import cache

Behaviour = Callable[[socket.socket], None]


def read_request(conn: socket.socket, limit: float = 5.0) -> bytes:
    """The request's head and its Content-Length body (best effort, bounded)."""
    conn.settimeout(limit)
    data = b""
    with contextlib.suppress(OSError):
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return data
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(rest) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            rest += chunk
        return head + b"\r\n\r\n" + rest
    return data


class RawHandler:
    """Serve ``behaviour`` on 127.0.0.1 until the block ends; ``url`` is where to deliver."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/notify"
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> RawHandler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            self.behaviour(conn)


@contextlib.contextmanager
def serving(behaviour: Behaviour) -> Iterator[RawHandler]:
    with RawHandler(behaviour) as handler:
        yield handler


# --- behaviours ---

def answers(status: bytes, body: bytes, headers: bytes = b"") -> Behaviour:
    def behave(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n" + headers
                     + b"\r\n" + body)
    return behave


def keep_alive_then_close(conn: socket.socket) -> None:
    """Answers OK without saying Connection: close, then closes: a pooled client's next request would fail."""
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")


@cache
def gzip_bomb(inflated: int = 1 << 30) -> bytes:
    """``inflated`` zero bytes, gzipped twice: a few KiB on the wire (``Content-Encoding: gzip, gzip``)."""
    def gzip(chunks: Iterator[bytes]) -> bytes:
        z = zlib.compressobj(9, zlib.DEFLATED, 31)
        return b"".join(z.compress(c) for c in chunks) + z.flush()

    zeros = bytes(1 << 20)
    inner = gzip(iter([zeros] * (inflated >> 20)))
    return gzip(iter([inner]))


def bomb(conn: socket.socket) -> None:
    read_request(conn)
    data = gzip_bomb()
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip, gzip\r\nContent-Length: " + str(len(data)).encode()
                 + b"\r\n\r\n" + data)


def drip(conn: socket.socket) -> None:
    """The status line one byte every 0.2 s, for ever: each read gets a byte, so no read ever times out."""
    read_request(conn)
    for byte in b"HTTP/1.1 200 OK\r\n" * 1000:
        conn.sendall(bytes([byte]))
        time.sleep(0.2)


def continue_forever(conn: socket.socket) -> None:
    read_request(conn)
    for _ in range(10_000):
        conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        time.sleep(0.05)


def garbage(conn: socket.socket) -> None:
    read_request(conn)
    conn.sendall(b"hello, this is not HTTP\r\n\r\n")


def reset(conn: socket.socket) -> None:
    read_request(conn)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close() sends RST


def silent(conn: socket.socket) -> None:
    read_request(conn)
    time.sleep(60)


def after(seconds: float, behaviour: Behaviour) -> Behaviour:
    def behave(conn: socket.socket) -> None:
        time.sleep(seconds)
        behaviour(conn)
    return behave
