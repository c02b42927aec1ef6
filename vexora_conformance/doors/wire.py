"""One bounded HTTP/1.1 exchange with a merchant's handler (a POST, as the provider's notifier makes it).

The handler is untrusted, so everything is bounded: one deadline covers the whole exchange (the name lookup,
the connection, the TLS handshake, sending, the status line, interim ``1xx`` answers, the headers and the
body), the answer's bytes are capped before and after any ``Content-Encoding`` is undone (a decompression
bomb inflates no further than the cap), and every failure is said in words: whether the handler was reached
at all (``Unreachable``), or was reached and then ran out of time (``TimedOut``) or answered what is not HTTP
(``BadAnswer``). Each delivery has a connection of its own (``Connection: close``): no pool to wait for, whose
wait would be counted against the handler, and no stale kept-alive connection to fail on.

An HTTP client library bounds each read, not the exchange, and inflates an answer before it can be cut; this
module is the small part of HTTP/1.1 a notifier needs, with those bounds.
"""

from __future__ import annotations

import socket
import ssl
import time
import zlib
from dataclasses import dataclass

from ..core.urls import Target, target

MAX_HEAD = 16 * 1024  # status line and headers
MAX_INTERIM = 8  # 1xx answers before the final one: a handler sending 100 Continue for ever is not answering
_RECV = 16 * 1024


class DeliveryError(Exception):
    """A delivery that got no usable answer; the message says what happened, in words."""


class Unreachable(DeliveryError):
    """No connection: the name, the port, or the TLS handshake."""


class TimedOut(DeliveryError):
    """The deadline passed; the message says during which step."""


class BadAnswer(DeliveryError):
    """The handler was reached and answered what is not an HTTP answer (or hung up mid-answer)."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes  # at most the cap, Content-Encoding undone
    cut: bool = False  # more was sent than the cap


def post(url: str, body: bytes, headers: dict[str, str], timeout: float, max_body: int,
         tls: ssl.SSLContext | None = None) -> Answer:
    """POST ``body`` to ``url``; the answer, or a DeliveryError saying why there is none."""
    return request("POST", url, body, headers, timeout, max_body, tls)


def request(method: str, url: str, body: bytes, headers: dict[str, str], timeout: float, max_body: int,
            tls: ssl.SSLContext | None = None) -> Answer:
    """One bounded exchange (a state adapter's URL is read with GET)."""
    deadline = time.monotonic() + timeout
    where = target(url)  # ValueError: the URL cannot be called (the caller says so as a usage error)
    sock = _connect(where.host, where.port, deadline, timeout)
    try:
        if where.scheme == "https":
            sock = _tls(sock, where.host, tls, deadline, timeout)
        length = [f"Content-Length: {len(body)}"] if body or method == "POST" else []
        head = [f"{method} {where.path} HTTP/1.1", f"Host: {_host_header(where.host, where.port, where.scheme)}",
                *length, "Connection: close", "Accept-Encoding: identity",
                *(f"{k}: {v}" for k, v in headers.items() if body or k.lower() != "content-type")]
        _send(sock, ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body, deadline, timeout)
        return _read_answer(_Reader(sock, deadline, timeout), max_body)
    finally:
        sock.close()


def _host_header(host: str, port: int, scheme: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if port == (443 if scheme == "https" else 80) else f"{shown}:{port}"


def _remaining(deadline: float, timeout: float, step: str) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimedOut(f"timed out after {timeout:g} s {step}")
    return left


def _connect(host: str, port: int, deadline: float, timeout: float) -> socket.socket:
    # getaddrinfo cannot be given a timeout; a name that resolves slowly is bounded by the resolver's own.
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise Unreachable("its host name does not resolve") from None
    except UnicodeError:
        raise Unreachable("its host name cannot be encoded for DNS") from None
    last: OSError | None = None
    for family, kind, proto, _, address in addresses:
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(_remaining(deadline, timeout, "connecting"))
            sock.connect(address)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except (TimeoutError, TimedOut):
            sock.close()
            raise Unreachable(f"no connection within {timeout:g} s") from None
        except OSError as exc:
            sock.close()
            last = exc
    if isinstance(last, ConnectionRefusedError):
        raise Unreachable("connection refused: nothing listens on that port")
    reason = last.strerror if last is not None and last.strerror else "no address to connect to"
    raise Unreachable(f"no connection ({reason})")


def _tls(sock: socket.socket, host: str, context: ssl.SSLContext | None, deadline: float,
         timeout: float) -> socket.socket:
    context = context or ssl.create_default_context()
    try:
        sock.settimeout(_remaining(deadline, timeout, "in the TLS handshake"))
        return context.wrap_socket(sock, server_hostname=host)
    except ssl.SSLCertVerificationError as exc:
        sock.close()
        raise Unreachable(f"TLS: its certificate is not trusted ({exc.verify_message}); a self-signed one needs "
                          "--cacert") from None
    except ssl.SSLError as exc:
        sock.close()
        raise Unreachable(f"TLS: the handshake failed ({exc.reason or 'not TLS'}); is it https?") from None
    except TimeoutError:
        sock.close()
        raise TimedOut(f"timed out after {timeout:g} s in the TLS handshake") from None
    except OSError as exc:
        sock.close()
        raise Unreachable(f"TLS: the connection failed in the handshake ({exc.strerror or 'closed'})") from None


def _send(sock: socket.socket, data: bytes, deadline: float, timeout: float) -> None:
    view = memoryview(data)
    while view:
        sock.settimeout(_remaining(deadline, timeout, "sending the notification"))
        try:
            sent = sock.send(view)
        except TimeoutError:
            raise TimedOut(f"timed out after {timeout:g} s sending the notification") from None
        except OSError as exc:
            raise BadAnswer(f"the handler closed the connection before the notification was sent "
                            f"({exc.strerror or 'reset'})") from None
        view = view[sent:]


class _Reader:
    """Bytes from the socket, each read bounded by what is left of the one deadline."""

    def __init__(self, sock: socket.socket, deadline: float, timeout: float) -> None:
        self.sock, self.deadline, self.timeout = sock, deadline, timeout
        self.buffer = b""
        self.closed = False

    def more(self, step: str) -> bool:
        """Read once more; False when the handler has closed the connection."""
        if self.closed:
            return False
        self.sock.settimeout(_remaining(self.deadline, self.timeout, step))
        try:
            chunk = self.sock.recv(_RECV)
        except TimeoutError:
            raise TimedOut(f"timed out after {self.timeout:g} s {step}") from None
        except ConnectionResetError:
            raise BadAnswer(f"the handler reset the connection {step}") from None
        except OSError as exc:
            raise BadAnswer(f"the connection failed {step} ({exc.strerror or type(exc).__name__})") from None
        if not chunk:
            self.closed = True
            return False
        self.buffer += chunk
        return True

    def head(self) -> bytes:
        """Up to the blank line that ends the headers (bounded)."""
        while b"\r\n\r\n" not in self.buffer and b"\n\n" not in self.buffer:
            if len(self.buffer) > MAX_HEAD:
                raise BadAnswer(f"the answer's status line and headers run past {MAX_HEAD // 1024} KiB")
            if not self.more("waiting for the answer's status line and headers"):
                if not self.buffer:
                    raise BadAnswer("the handler closed the connection without answering")
                raise BadAnswer("the handler closed the connection in the middle of the answer's headers")
        end, skip = min((i, n) for i, n in ((self.buffer.find(b"\r\n\r\n"), 4), (self.buffer.find(b"\n\n"), 2))
                        if i >= 0)
        head, self.buffer = self.buffer[:end], self.buffer[end + skip:]
        return head

    def take(self, size: int, step: str) -> tuple[bytes, bool]:
        """``size`` bytes, or fewer when the connection closes first (then False)."""
        while len(self.buffer) < size:
            if not self.more(step):
                data, self.buffer = self.buffer, b""
                return data, False
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data, True

    def line(self, step: str) -> bytes:
        while b"\n" not in self.buffer:
            if len(self.buffer) > 1024:
                raise BadAnswer("a chunk size line of the answer is too long")
            if not self.more(step):
                raise BadAnswer("the handler closed the connection in the middle of a chunked answer")
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.rstrip(b"\r")


def _read_answer(reader: _Reader, max_body: int) -> Answer:
    for _ in range(MAX_INTERIM + 1):
        status, headers = _parse_head(reader.head())
        if not 100 <= status < 200:
            break
    else:
        raise BadAnswer(f"the handler sent more than {MAX_INTERIM} interim (1xx) answers and no final one")
    names = {k.lower(): v for k, v in headers}
    raw, cut = _read_body(reader, names, max_body, status)
    body, cut_decoded = decode(raw, names.get("content-encoding", ""), max_body)
    return Answer(status, headers, body, cut or cut_decoded)


def _parse_head(head: bytes) -> tuple[int, tuple[tuple[str, str], ...]]:
    lines = head.decode("latin-1").replace("\r\n", "\n").split("\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not (parts[1].isascii() and parts[1].isdigit()
                                                                   and len(parts[1]) == 3):
        shown = lines[0][:60].encode("unicode_escape").decode("ascii")
        raise BadAnswer(f"the handler answered what is not an HTTP status line: {shown!r}")
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise BadAnswer("the answer has a header line that is not 'Name: value'")
        headers.append((name, value.strip()))
    return int(parts[1]), tuple(headers)


def _read_body(reader: _Reader, names: dict[str, str], max_body: int, status: int) -> tuple[bytes, bool]:
    if status in (204, 304):
        return b"", False
    step = "reading the answer's body"
    if "chunked" in names.get("transfer-encoding", "").lower():
        data = b""
        while True:
            size_text = reader.line(step).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise BadAnswer("a chunk size of the answer is not a hexadecimal number") from None
            if size == 0:
                return data, False
            want = min(size, max_body - len(data))
            chunk, whole = reader.take(want, step)
            data += chunk
            if not whole:
                raise BadAnswer("the handler closed the connection in the middle of a chunked answer")
            if len(data) >= max_body:
                return data, True  # the rest is not needed: the connection is closed, not drained
            reader.take(size - want + 2, step)  # the chunk's CRLF
    length = names.get("content-length")
    if length is not None:
        if not (length.isascii() and length.isdigit()):
            raise BadAnswer("the answer's Content-Length is not a number")
        want = min(int(length), max_body)
        data, whole = reader.take(want, step)
        if not whole:
            raise BadAnswer(f"the handler closed the connection after {len(data)} of the {length} bytes it "
                            "announced")
        return data, int(length) > max_body
    data = b""  # no length: the body runs to the close
    while len(reader.buffer) < max_body and reader.more(step):
        pass
    data, reader.buffer = reader.buffer[:max_body], b""
    return data, not reader.closed


def decode(raw: bytes, encoding: str, max_body: int) -> tuple[bytes, bool]:
    """Undo each Content-Encoding in turn, never inflating past ``max_body`` (a bomb stops at the cap)."""
    data, cut = raw, False
    for coding in reversed([c.strip().lower() for c in encoding.split(",") if c.strip()]):
        if coding == "identity":
            continue
        if coding in ("gzip", "x-gzip", "deflate"):
            wbits = 31 if coding != "deflate" else (15 if data[:1] == b"\x78" else -15)
            inflater = zlib.decompressobj(wbits)
            try:
                out = inflater.decompress(data, max_body)
            except zlib.error:
                raise BadAnswer(f"the answer says Content-Encoding {coding}, and is not") from None
            cut = cut or bool(inflater.unconsumed_tail)
            data = out
            continue
        raise BadAnswer(f"the answer is encoded as {coding[:20]!r}, which the provider does not read "
                        "(it asks for identity)")
    return data, cut


# --- a reverse proxy's exchange: forwarded as it came, answered as it came ---


@dataclass(frozen=True)
class RawAnswer:
    """An upstream's answer as it came: the status line, the headers in order, the body's bytes on the wire
    (chunk framing and Content-Encoding kept), and the body undone of both, for the judge."""

    head: bytes  # the status line and headers, as received, without the blank line
    status: int
    headers: tuple[tuple[str, str], ...]
    raw_body: bytes
    body: bytes
    until_close: bool  # the body ran to the connection's end: the client's connection must close after it


def forward(upstream: str, method: str, request_target: str, headers: list[tuple[bytes, bytes]], body: bytes,
            timeout: float, max_body: int, tls: ssl.SSLContext | None = None) -> RawAnswer:
    """Send a client's request to ``upstream`` (a base URL) as it came, Host aside (it names the proxy), and
    read the answer as it comes, within one deadline and ``max_body`` bytes (``TooLarge`` past it)."""
    deadline = time.monotonic() + timeout
    where: Target = target(upstream)
    prefix = where.path.split("?", 1)[0].rstrip("/")
    sock = _connect(where.host, where.port, deadline, timeout)
    try:
        if where.scheme == "https":
            sock = _tls(sock, where.host, tls, deadline, timeout)
        host = _host_header(where.host, where.port, where.scheme).encode("latin-1")
        lines = [f"{method} {prefix}{request_target} HTTP/1.1".encode("latin-1")]
        lines += [k + b": " + (host if k.lower() == b"host" else v) for k, v in headers]
        if not any(k.lower() == b"host" for k, _ in headers):
            lines.append(b"Host: " + host)
        _send(sock, b"\r\n".join(lines) + b"\r\n\r\n" + body, deadline, timeout)
        reader = _Reader(sock, deadline, timeout)
        for _ in range(MAX_INTERIM + 1):
            head = reader.head()
            status, answer_headers = _parse_head(head)
            if not 100 <= status < 200:
                break
        else:
            raise BadAnswer(f"the upstream sent more than {MAX_INTERIM} interim (1xx) answers")
        names = {k.lower(): v for k, v in answer_headers}
        raw, plain, until_close = _raw_body(reader, names, max_body, status, method)
        decoded, _ = decode(plain, names.get("content-encoding", ""), max_body)
        return RawAnswer(head, status, answer_headers, raw, decoded, until_close)
    finally:
        sock.close()


class TooLarge(DeliveryError):
    """The upstream's answer is larger than the proxy relays."""


def _raw_body(reader: _Reader, names: dict[str, str], max_body: int, status: int,
              method: str) -> tuple[bytes, bytes, bool]:
    """(the body's bytes as sent, the body de-chunked, whether it ran to the close)."""
    if method == "HEAD" or status in (204, 304):
        return b"", b"", False
    step = "reading the upstream's body"
    if "chunked" in names.get("transfer-encoding", "").lower():
        raw, plain = b"", b""
        while True:
            line = reader.line(step)
            raw += line + b"\r\n"
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise BadAnswer("a chunk size of the upstream's answer is not a hexadecimal number") from None
            if size == 0:  # the last chunk: trailers, if any, up to the blank line
                while True:
                    trailer = reader.line(step)
                    raw += trailer + b"\r\n"
                    if not trailer:
                        return raw, plain, False
                    if len(raw) > max_body:
                        raise TooLarge(f"the upstream's answer is larger than {max_body // 2**20} MiB")
            if len(plain) + size > max_body:
                raise TooLarge(f"the upstream's answer is larger than {max_body // 2**20} MiB")
            chunk, whole = reader.take(size + 2, step)
            if not whole:
                raise BadAnswer("the upstream closed the connection in the middle of a chunked answer")
            raw += chunk
            plain += chunk[:size]
    length = names.get("content-length")
    if length is not None:
        if not (length.isascii() and length.isdigit()):
            raise BadAnswer("the upstream's Content-Length is not a number")
        if int(length) > max_body:
            raise TooLarge(f"the upstream's answer is larger than {max_body // 2**20} MiB ({int(length):,} bytes)")
        data, whole = reader.take(int(length), step)
        if not whole:
            raise BadAnswer(f"the upstream closed the connection after {len(data)} of the {length} bytes it "
                            "announced")
        return data, data, False
    while len(reader.buffer) <= max_body and reader.more(step):
        pass
    if len(reader.buffer) > max_body:
        raise TooLarge(f"the upstream's answer is larger than {max_body // 2**20} MiB")
    data, reader.buffer = reader.buffer, b""
    return data, data, True
