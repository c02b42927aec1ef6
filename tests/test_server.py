"""`vexora-conformance serve`: provider-like answers over HTTP, findings, scenarios, robustness, exit codes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import httpx
import pytest

from tests.helpers import running_server, signed_body
from vexora_conformance.contract import signing
from vexora_conformance.doors.server import VexoraServer

SECRET = "server-test-secret"
MERCHANT = "1000000001"


def body(**kw: Any) -> dict[str, Any]:
    return signed_body(SECRET, **kw)


@pytest.fixture
def server() -> Iterator[VexoraServer]:
    with running_server(SECRET, MERCHANT) as srv:
        yield srv


def post(srv: VexoraServer, b: Any, path: str = "/mexico/v1/vexora/checkout", **kw: Any) -> httpx.Response:
    headers = kw.pop("headers", {"merchantNo": MERCHANT})
    return httpx.post(srv.base_url + path, json=b, headers=headers, **kw)


def test_a_conformant_request_gets_a_documented_success_with_a_served_cashier_page(server: VexoraServer) -> None:
    r = post(server, body(remark="echo me"))
    data = r.json()["data"]
    assert r.status_code == 200 and r.json()["code"] == "0000" and data["remark"] == "echo me"
    assert data["paymentUrl"].startswith(server.base_url + "/cashier/")
    assert httpx.get(data["paymentUrl"]).status_code == 200


def test_a_bad_request_gets_an_error_envelope_and_a_finding(server: VexoraServer) -> None:
    r = post(server, body(amount="300.50"))
    assert r.json()["code"] != "0000" and "amount" in r.json()["msg"] and r.json()["data"] is None
    findings = httpx.get(server.base_url + "/__vexora__/findings").json()
    assert findings["summary"]["exchanges"] == 1
    assert [(f["rule"], f["pointer"]) for f in findings["findings"]] == [("request.amount", "/amount")]
    assert set(findings) == {"summary", "findings"}  # the shape of `validate --format json`


def test_wrong_sign_is_diagnosed_and_says_sign_error(server: VexoraServer) -> None:
    b = body()
    b["sign"] = b["sign"].upper()
    assert post(server, b).json()["msg"] == "sign error"
    f = httpx.get(server.base_url + "/__vexora__/findings").json()["findings"][0]
    assert f["rule"] == "sign.format" and "uppercase-hex" in f["hint"]


@pytest.mark.parametrize("scenario, expect", [
    ({"outcome": "envelope", "code": "5000", "msg": "system exception"}, "5000"),
    ({"outcome": "status", "status": "00029"}, "00029"),
    ({"outcome": "http", "http_status": 503}, 503),
    ({"outcome": "not-json"}, "not-json"),
    ({"outcome": "connect-error"}, httpx.RemoteProtocolError),
    ({"outcome": "read-timeout", "delay": 1.5}, httpx.ReadTimeout),
    ({"outcome": "slow", "delay": 0.3}, "slow"),
])
def test_each_scenario_reaches_the_client(server: VexoraServer, scenario: dict[str, Any], expect: Any) -> None:
    assert httpx.post(server.base_url + "/__vexora__/scenario", json=scenario).json()["queued"] == 1
    started = time.monotonic()
    if isinstance(expect, type):
        with pytest.raises(expect):
            post(server, body(), timeout=0.5)
        return
    r = post(server, body())
    if expect == "5000":
        assert r.json()["code"] == "5000" and r.json()["data"] is None
    elif expect == "00029":
        assert r.json()["code"] == "0000" and r.json()["data"]["status"] == "00029"
    elif expect == 503:
        assert r.status_code == 503
    elif expect == "not-json":
        with pytest.raises(ValueError):
            r.json()
    else:
        assert time.monotonic() - started >= 0.3 and r.json()["code"] == "0000"
    assert post(server, body()).json()["data"]["status"] == "0015"  # one call only


def test_a_scripted_slow_answer_holds_up_no_other_connection(server: VexoraServer) -> None:
    """Requests take turns in order of arrival (doors/turn.py); a slow answer waits away from its turn."""
    import threading

    assert httpx.post(server.base_url + "/__vexora__/scenario", json={"outcome": "slow", "delay": 2.0}).json()[
        "queued"] == 1
    slow: list[float] = []
    first = threading.Thread(target=lambda: slow.append(_timed(lambda: post(server, body(), timeout=10))))
    first.start()
    time.sleep(0.3)  # the slow one is waiting by now
    other = _timed(lambda: post(server, body(), timeout=10))
    first.join()
    assert slow[0] >= 2.0 and other < 1.5, (slow, other)


def _timed(call: Any) -> float:
    started = time.monotonic()
    response = call()
    assert response.json()["code"] == "0000"
    return time.monotonic() - started


@pytest.mark.parametrize("bad", [{"outcome": "explode"}, {"outcome": "http", "times": 0}, {"outcome": "http", "x": 1},
                                 "not an object"])
def test_bad_scenarios_are_refused(server: VexoraServer, bad: Any) -> None:
    assert httpx.post(server.base_url + "/__vexora__/scenario", json=bad).status_code == 400


def test_reset_forgets_the_queue_and_trade_nos_but_never_the_findings(server: VexoraServer) -> None:
    b = body()
    post(server, b)
    post(server, b)
    assert httpx.get(server.base_url + "/__vexora__/findings").json()["summary"]["errors"] == 1
    httpx.post(server.base_url + "/__vexora__/scenario", json={"outcome": "http"})
    httpx.post(server.base_url + "/__vexora__/reset")
    assert post(server, b).json()["code"] == "0000"  # the tradeNo is free again, and the scenario is gone
    report = httpx.get(server.base_url + "/__vexora__/findings").json()
    # the run's record is append-only: a client cannot erase the findings against it
    assert report["summary"]["exchanges"] == 3 and report["summary"]["errors"] == 1
    assert [f["rule"] for f in report["findings"]] == ["trade-no.duplicate"]


def test_oversized_bodies_get_413_and_malformed_http_does_not_kill_the_server(server: VexoraServer) -> None:
    host, port = server.server_address[:2]
    with socket.create_connection((str(host), port)) as s:
        s.sendall(b"POST /v1/vexora/checkout HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n")
        assert b" 413 " in s.recv(1000)
    for garbage in (b"\x00\xff\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"POST /v1/vexora/checkout HTTP/1.1\r\n" +
                    b"X: " + b"a" * 70000 + b"\r\n\r\n", b"POST /v1/vexora/checkout HTTP/1.1\r\nContent-Length: x\r\n\r\n"):
        with socket.create_connection((str(host), port)) as s:
            s.sendall(garbage)
            s.settimeout(2)
            with contextlib.suppress(TimeoutError, ConnectionError):
                s.recv(1000)
    assert post(server, body()).json()["code"] == "0000"


def test_unknown_paths_are_404(server: VexoraServer) -> None:
    assert httpx.get(server.base_url + "/nothing").status_code == 404
    assert httpx.get(server.base_url + "/__vexora__/nothing").status_code == 404


def _start(tmp_path: Path, *extra: str, secret: str = SECRET) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "VEXORA_SECRET": secret}
    proc = subprocess.Popen([sys.executable, "-m", "vexora_conformance", "serve", "--port", "0", "--verbose", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:")
    return proc, url


@pytest.mark.parametrize("report_name", ["report.json", "report.xml"])
def test_sigterm_writes_the_report_and_the_exit_code_reflects_findings(tmp_path: Path, report_name: str) -> None:
    canary = "canary-serve-secret-3a9f"
    report = tmp_path / report_name
    proc, url = _start(tmp_path, "--report", str(report), secret=canary)
    good = body()
    good["sign"] = signing.sign({k: v for k, v in good.items() if k != "sign"}, canary)
    r = httpx.post(url + "/v1/vexora/checkout", json=good, headers={"merchantNo": MERCHANT})
    bad = httpx.post(url + "/v1/vexora/checkout", json={**good, "sign": "0" * 32}, headers={"merchantNo": MERCHANT})
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert r.json()["code"] == "0000" and bad.json()["msg"] == "sign error"
    text = report.read_text()
    for blob in (text, out, err, r.text, bad.text):
        assert canary not in blob
    if report_name.endswith(".xml"):
        assert len(ET.fromstring(text).findall(".//testcase")) == 2
    else:
        assert json.loads(text)["summary"]["by_rule"] == {"sign.mismatch": 1, "trade-no.duplicate": 1}


def test_sigint_with_only_conformant_traffic_exits_0(tmp_path: Path) -> None:
    proc, url = _start(tmp_path)
    assert httpx.post(url + "/v1/vexora/checkout", json=body(), headers={"merchantNo": MERCHANT}).json()["code"] \
        == "0000"
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 0


def test_serve_refuses_a_port_in_use(server: VexoraServer) -> None:
    port = server.server_address[1]
    out = subprocess.run([sys.executable, "-m", "vexora_conformance", "serve", "--port", str(port)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "cannot listen" in out.stderr and "Traceback" not in out.stderr


def test_an_unwritable_report_path_is_refused_at_start() -> None:
    out = subprocess.run([sys.executable, "-m", "vexora_conformance", "serve", "--report", "/nonexistent/dir/r.json"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "cannot write the report" in out.stderr and "Traceback" not in out.stderr


def test_parsed_urls_are_remembered_within_bounds() -> None:
    """serve remembers the httpx.URL of a path it was sent: at most _URL_ENTRIES of them, none longer than
    _URL_TEXT, and the one remembered is the URL httpx would parse."""
    import httpx

    from vexora_conformance.doors import server

    for i in range(server._URL_ENTRIES + 50):
        assert server._parsed_url(f"http://127.0.0.1:1/p{i}") == httpx.URL(f"http://127.0.0.1:1/p{i}")
    long_url = "http://127.0.0.1:1/" + "a" * server._URL_TEXT
    assert server._parsed_url(long_url) == httpx.URL(long_url)
    assert len(server._URLS) <= server._URL_ENTRIES and long_url not in server._URLS


def _masked(content: bytes) -> Any:
    """An answer with what differs between two fakes by design (the clock, the platform's numbers) masked."""
    doc = json.loads(content)
    if isinstance(doc, dict):
        doc.pop("timestamp", None)
        if isinstance(doc.get("data"), dict):
            for key in ("platFormTradeNo", "paymentUrl", "paymentLink"):
                doc["data"].pop(key, None)
    return doc


@pytest.mark.parametrize("case", ["clean", "bad-sign", "missing-field", "not-found", "not-json", "http", "envelope"])
def test_what_serve_writes_is_what_the_plugin_s_fake_answers(case: str) -> None:
    """serve writes ``answer_bytes``; the plugin returns ``handle``'s httpx.Response: two fakes given the same
    request and scenario answer with the same status, content type and body."""
    from vexora_conformance.contract.signing import Secret
    from vexora_conformance.doors.fake.provider import FakeProvider

    b = body()
    if case == "bad-sign":
        b["sign"] = "0" * 32
    if case == "missing-field":
        del b["amount"]
    path = "/mexico/v1/vexora/nowhere" if case == "not-found" else "/mexico/v1/vexora/checkout"
    answers, found = [], []
    for way in ("handle", "answer_bytes"):
        fake = FakeProvider(secret=Secret(SECRET), merchant_no=MERCHANT)
        if case == "not-json":
            fake.answer_not_json()
        elif case == "http":
            fake.fail_with_http(503)
        elif case == "envelope":
            fake.fail_with_envelope("5000", "system")
        request = httpx.Request("POST", "https://sandbox.vexora.test" + path, json=b, headers={"merchantNo": MERCHANT})
        if way == "handle":
            r = fake.handle(request)
            answers.append((r.status_code, r.content, r.headers["content-type"]))
        else:
            answers.append(fake.answer_bytes(request))
        found.append([(f.rule, f.pointer) for c in fake.calls for f in c.findings])
    (s1, c1, t1), (s2, c2, t2) = answers
    assert found[0] == found[1] and (found[0] != []) == (case in ("bad-sign", "missing-field", "not-found"))
    assert (s1, t1) == (s2, t2)
    if t1 == "application/json":
        assert _masked(c1) == _masked(c2)
    else:
        assert c1 == c2


@pytest.mark.parametrize("connection", ["keep-alive", "close"])
def test_an_answer_s_head_is_the_one_http_server_writes(server: VexoraServer, connection: str) -> None:
    """serve writes its status line and headers in one piece: the same lines, in the same order, as
    http.server's send_response and send_header would, with a Date of now."""
    import email.utils
    from http.server import BaseHTTPRequestHandler

    payload = json.dumps(body()).encode()
    host, port = server.server_address[:2]
    with socket.create_connection((str(host), int(port)), timeout=10) as sock:
        sock.sendall(f"POST /mexico/v1/vexora/checkout HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     f"merchantNo: {MERCHANT}\r\nConnection: {connection}\r\nContent-Length: {len(payload)}\r\n\r\n"
                     .encode() + payload)
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = int(lines[4].split(": ")[1])
        while len(rest) < length:
            rest += sock.recv(65536)
    server_line = f"Server: {BaseHTTPRequestHandler.server_version} {BaseHTTPRequestHandler.sys_version}"
    assert lines[:2] == ["HTTP/1.1 200 OK", server_line]
    assert lines[2].startswith("Date: ") and lines[2].endswith(" GMT")
    assert abs(email.utils.parsedate_to_datetime(lines[2][6:]).timestamp() - time.time()) < 5
    assert lines[3:5] == ["Content-Type: application/json", f"Content-Length: {len(rest)}"]
    assert lines[5:] == (["Connection: close"] if connection == "close" else [])
    assert json.loads(rest)["code"] == "0000"
