"""Hostile clients of `serve`, over raw sockets: every request gets an HTTP answer, every complete one is counted.

Includes a structure-aware fuzz of the server's request handling (Hypothesis builds near-valid HTTP requests:
request line, headers, Content-Length, body, and cuts them short).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import signed_body
from tests.hostile import cli, fuzz_examples, memory_cap

SECRET = "hostile-serve-secret"
MERCHANT = "1000000001"
PATH = "/mx/v1/vexora/checkout"


@dataclass(frozen=True)
class Served:
    base_url: str
    host: str
    port: int


@pytest.fixture(scope="module")
def server() -> Iterator[Served]:
    """`vexora-conformance serve` in a child process under the hostile suite's memory cap: a regression that
    lets a client grow the server's memory kills it (and fails these tests) instead of the machine."""
    proc = subprocess.Popen([sys.executable, "-m", "vexora_conformance", "serve", "--merchant-no", MERCHANT],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=memory_cap(),
                            env={**os.environ, "VEXORA_SECRET": SECRET})
    assert proc.stdout is not None
    base = proc.stdout.readline().strip()
    url = httpx.URL(base)
    yield Served(base, str(url.host), int(url.port or 80))
    assert proc.poll() is None, "the server died during the hostile tests"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode in (0, 1) and "Traceback" not in err, err


def raw(srv: Served, data: bytes, *, close_after: bool = False, timeout: float = 5.0) -> bytes:
    """Send bytes, then read the answer (until the connection closes or a whole response has arrived)."""
    with socket.create_connection((srv.host, srv.port), timeout=timeout) as s:
        s.sendall(data)
        if close_after:
            s.shutdown(socket.SHUT_WR)
        return _read_response(s)


def _read_response(s: socket.socket) -> bytes:
    got = b""
    while True:
        try:
            chunk = s.recv(65536)
        except (TimeoutError, ConnectionResetError):
            return got
        if not chunk:
            return got
        got += chunk
        head, sep, rest = got.partition(b"\r\n\r\n")
        if sep:
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), None)
            if length is not None and len(rest) >= length:
                return got


def request(body: bytes, *, target: bytes = PATH.encode(), length: bytes | None = None,
            extra: bytes = b"") -> bytes:
    length = str(len(body)).encode() if length is None else length
    return (b"POST " + target + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nmerchantNo: " +
            MERCHANT.encode() + b"\r\nContent-Length: " + length + b"\r\n" + extra + b"\r\n" + body)


def counted(srv: Served) -> int:
    return int(httpx.get(srv.base_url + "/__vexora__/findings").json()["summary"]["exchanges"])


def status_of(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1."), answer[:80]
    return int(answer.split(b" ", 2)[1])


def valid() -> bytes:
    return json.dumps(signed_body(SECRET)).encode()


# --- 4. every request gets an answer; complete Checkout requests are all counted ---

def test_the_issue_cases_each_get_an_answer_and_complete_requests_are_counted(server: Served) -> None:
    before = counted(server)
    assert status_of(raw(server, request(valid(), length=b"9" * 5000))) == 400
    assert status_of(raw(server, request(valid(), length="²".encode()))) == 400
    absolute = raw(server, request(valid(), target=b"http://x" + PATH.encode()))
    assert status_of(absolute) == 200 and b'"0000"' in absolute
    surrogate_remark = json.dumps(signed_body(SECRET, remark="\ud800")).encode()  # ASCII JSON with \ud800
    assert status_of(raw(server, request(surrogate_remark))) == 200
    surrogate_key = json.dumps(signed_body(SECRET, **{"k\udfff": "1"})).encode()
    assert status_of(raw(server, request(surrogate_key))) == 200
    findings = httpx.get(server.base_url + "/__vexora__/findings")
    assert findings.status_code == 200
    assert counted(server) - before == 3  # absolute-form, remark, key: the malformed lengths are no requests


def test_an_aborted_upload_is_not_an_exchange(server: Served) -> None:
    before = counted(server)
    body = valid()
    for _ in range(50):
        raw(server, request(body[:20], length=str(len(body)).encode()), close_after=True)
    assert counted(server) == before


def test_a_huge_integer_timestamp_is_judged_and_answered(server: Served) -> None:
    body = signed_body(SECRET)
    body["timestamp"] = 10**400
    answer = raw(server, request(json.dumps(body).encode()))
    assert status_of(answer) == 200 and b'"8000"' in answer  # an error envelope: timestamp is not a string


# --- 5. scenarios are checked when queued ---

@pytest.mark.parametrize("payload", [
    *({"outcome": "slow", "delay": d} for d in (-1, 1e400, 1e9)),
    *({"outcome": "http", "http_status": s} for s in (0, -1, 1000, 10**30, 101, 204)),
    {"outcome": "envelope", "msg": "\ud800"}, {"outcome": "status", "status": "\udc00x"},
])
def test_a_bad_scenario_is_refused_with_a_reason(server: Served, payload: dict[str, Any]) -> None:
    r = httpx.post(server.base_url + "/__vexora__/scenario", content=json.dumps(payload).encode())
    assert r.status_code == 400 and r.json()["error"]


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_delays_are_refused(server: Served, text: str) -> None:
    r = httpx.post(server.base_url + "/__vexora__/scenario", content=b'{"outcome": "slow", "delay": ' +
                   text.encode() + b"}")
    assert r.status_code == 400


# --- the fuzz: near-valid HTTP requests, some cut short ---

methods = st.sampled_from([b"POST", b"GET", b"PUT", b"post", b"BREW", b""])
targets = st.sampled_from([PATH.encode(), b"http://h" + PATH.encode(), b"/__vexora__/findings", b"/__vexora__/x",
                           b"*", b"/" + b"a" * 9000, PATH.encode() + b"?q=\xff", b"/cashier/1"])
header_lines = st.lists(st.sampled_from([b"Content-Type: application/json", b"merchantNo: " + MERCHANT.encode(),
                                         b"Transfer-Encoding: chunked", b"X: \xff\xfe", b": empty-name",
                                         b"no-colon", b"Content-Length: -1", b"Content-Length: 1e3"]), max_size=5)
bodies = st.one_of(st.binary(max_size=200), st.builds(lambda r: json.dumps(signed_body(SECRET, remark=r)).encode(),
                                                      st.text(max_size=20)))


@settings(max_examples=fuzz_examples(40), deadline=None)
@given(methods, targets, header_lines, bodies, st.booleans(), st.integers(0, 30))
def test_fuzz_every_complete_request_gets_an_http_answer(server: Served, method: bytes, target: bytes,
                                                         headers: list[bytes], body: bytes, with_length: bool,
                                                         cut: int) -> None:
    head = method + b" " + target + b" HTTP/1.1\r\nHost: x\r\n" + b"".join(h + b"\r\n" for h in headers)
    if with_length:
        head += b"Content-Length: " + str(len(body)).encode() + b"\r\n"
    data = head + b"\r\n" + body
    answer = raw(server, data[: len(data) - cut] if cut else data, close_after=True, timeout=3)
    if not cut:
        assert answer.startswith(b"HTTP/1.") or answer == b"", answer[:100]
    assert b"internal error in the fake provider" not in answer  # the last net must never be needed
    assert status_of(raw(server, request(valid()))) == 200  # still serving


# --- 7. serve's own options ---

@pytest.mark.parametrize("port", ["-1", "99999", "http"])
def test_a_bad_port_is_a_usage_error(port: str) -> None:
    assert cli(["serve", "--port", port]).one_line_error()


def test_a_report_path_that_cannot_be_written_fails_at_start(tmp_path: Path) -> None:
    for path in (tmp_path, tmp_path / "missing" / "r.json"):
        ran = cli(["serve", "--report", str(path)])
        assert ran.one_line_error() and "cannot write the report" in ran.err


def test_a_report_that_fails_at_shutdown_is_printed_instead(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "vexora_conformance", "serve", "--report", "/dev/full"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    base = proc.stdout.readline().strip()
    httpx.post(base + PATH, json={"amount": "1"})
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "Traceback" not in err and "cannot write the report" in err
    assert json.loads(out)["summary"]["exchanges"] == 1


def test_raw_utf8_in_a_header_is_judged_like_any_request(server: Served) -> None:
    """Found by the fuzz: httpx refused a non-ASCII header value, and the request got a 500."""
    before = counted(server)
    answer = raw(server, request(valid(), extra="X-Note: café ☕\r\n".encode()))
    assert status_of(answer) == 200 and counted(server) == before + 1


def test_a_client_that_hangs_up_mid_answer_leaves_no_traceback(server: Served) -> None:
    for _ in range(20):
        with socket.create_connection((server.host, server.port), timeout=3) as s:
            s.sendall(b"GET / HTTP/9.9\r\n\r\n")  # refused by http.server; the client is gone before the answer
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    assert status_of(raw(server, request(valid()))) == 200  # still serving; the teardown checks stderr


# --- round two: every method judged, framing conflicts refused, odd paths judged ---

@pytest.mark.parametrize("method", [b"TRACE", b"PROPFIND", b"BREW"])
def test_every_method_is_judged_and_answered_in_the_providers_manner(server: Served, method: bytes) -> None:
    before = counted(server)
    answer = raw(server, request(valid()).replace(b"POST", method, 1))
    assert status_of(answer) == 405 and b'"8000"' in answer
    assert counted(server) == before + 1
    rules = [f["rule"] for f in httpx.get(server.base_url + "/__vexora__/findings").json()["findings"]]
    assert "request.method" in rules


@pytest.mark.parametrize("extra", [b"Content-Length: 3\r\n", b"Transfer-Encoding: chunked\r\n"])
def test_conflicting_framing_is_refused(server: Served, extra: bytes) -> None:
    assert status_of(raw(server, request(valid(), extra=extra))) == 400


def test_a_control_character_in_the_path_is_judged(server: Served) -> None:
    before = counted(server)
    answer = raw(server, request(valid(), target=PATH.encode() + b"\x01"))
    assert status_of(answer) in (200, 404) and b"internal error" not in answer
    assert counted(server) == before + 1


def _child_serve(*args: str) -> tuple[subprocess.Popen[str], Served]:
    proc = subprocess.Popen([sys.executable, "-m", "vexora_conformance", "serve", "--merchant-no", MERCHANT, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=memory_cap(),
                            env={**os.environ, "VEXORA_SECRET": SECRET})
    assert proc.stdout is not None
    url = httpx.URL(proc.stdout.readline().strip())
    return proc, Served(str(url), str(url.host), int(url.port or 80))


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    return err


def test_verbose_logging_never_shows_the_query(tmp_path: Path) -> None:
    proc, srv = _child_serve("--verbose")
    try:
        raw(srv, request(valid(), target=PATH.encode() + b"?email=jose.perez%40example.mx&mobile=5512345678"))
        raw(srv, b"GET /x?name=Jos%C3%A9 HTTP/1.1\r\nHost: x\r\n\r\n", close_after=True)
    finally:
        err = _stop(proc)
    assert "/mx/v1/vexora/checkout" in err  # it logs
    assert "email" not in err and "5512345678" not in err and "name=" not in err


def test_calls_are_kept_as_verdicts_not_bodies() -> None:
    """Before, serve kept every request: 1.2 MB per 1 MB one, until MemoryError. Now its memory stays flat."""
    proc, srv = _child_serve()
    big = json.dumps(signed_body(SECRET, remark="r" * (1000 * 1000))).encode()
    try:
        def rss() -> int:
            status = Path(f"/proc/{proc.pid}/status").read_text()
            return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))) * 1024

        for _ in range(10):
            raw(srv, request(big))
        start = rss()
        for _ in range(150):
            raw(srv, request(big))
        grown = rss() - start
        assert counted(srv) == 160
    finally:
        _stop(proc)
    assert grown < 60 * 1024 * 1024, f"serve grew by {grown / 2**20:.0f} MiB over 150 requests of 1 MB"


def test_past_the_connection_cap_a_client_gets_503_not_silence(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.helpers import running_server
    from vexora_conformance.doors import httpdoor

    monkeypatch.setattr(httpdoor, "MAX_CONNECTIONS", 4)
    with running_server(SECRET, MERCHANT) as srv:
        host, port = srv.server_address[:2]
        idle = [socket.create_connection((host, port), timeout=5) for _ in range(4)]
        time.sleep(0.3)  # each accepted, each holding its thread
        here = Served(srv.base_url, host, port)
        answer = raw(here, request(valid()))
        assert status_of(answer) == 503 and b"busy" in answer
        for s in idle:
            s.close()
        time.sleep(0.5)  # the threads see the closes and end
        assert status_of(raw(here, request(valid()))) == 200


def test_answers_go_out_in_one_write_with_nodelay(monkeypatch: pytest.MonkeyPatch) -> None:
    """A keep-alive client waited ~40 ms per answer (headers and body written apart, Nagle's algorithm): now one
    write per answer, on a socket with TCP_NODELAY."""
    import socketserver

    from tests.helpers import running_server

    writes: list[int] = []
    original = socketserver._SocketWriter.write  # type: ignore[attr-defined]

    def counting(self: Any, data: Any) -> int:
        writes.append(len(data))
        return original(self, data)  # type: ignore[no-any-return]

    monkeypatch.setattr(socketserver._SocketWriter, "write", counting)  # type: ignore[attr-defined]
    with running_server(SECRET, MERCHANT) as srv:
        host, port = srv.server_address[:2]
        with socket.create_connection((host, port), timeout=5) as s:
            for _ in range(5):
                s.sendall(request(valid()))
                assert status_of(_read_response(s)) == 200
    assert len(writes) == 5
    from vexora_conformance.contract.signing import Secret
    from vexora_conformance.doors.fake.provider import FakeProvider
    from vexora_conformance.doors.server import VexoraServer

    idle = VexoraServer(("127.0.0.1", 0), FakeProvider(Secret(SECRET)))  # bound, not serving: we accept
    try:
        with socket.create_connection(idle.server_address[:2], timeout=5):
            accepted, _ = idle.get_request()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        idle.server_close()
