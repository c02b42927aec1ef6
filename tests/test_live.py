"""The live doors: ``proxy`` in front of ``serve``, ``listen`` in front of a handler, and their recordings.

Everything runs on loopback with ``serve`` (or a raw socket server) as the upstream. The proxy must judge what
``validate`` judges, relay every byte as it came, turn an upstream's faults into 502/504 and a finding, and
write a recording that ``validate`` reads to the same verdicts, holding neither the secret nor payer data.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import raw_handlers as raw
from tests.helpers import running_server
from tests.notify_handlers import CORRECT, MISTAKES, handler, serving
from vexora_conformance.contract import signing
from vexora_conformance.contract.signing import Secret
from vexora_conformance.doors.notify import url_sender
from vexora_conformance.doors.notify_check import battery
from vexora_conformance.doors.proxy import ProxyServer
from vexora_conformance.doors.recording import Recorder, Redactor, Rewriter
from vexora_conformance.doors.relay import RelayServer
from vexora_conformance.doors.replay import ReplayOptions, replay
from vexora_conformance.doors.validate import validate
from vexora_conformance.judge.exchange import JudgeOptions

ROOT = Path(__file__).resolve().parents[1]
CAPTURE = ROOT / "examples" / "captures" / "checkout.jsonl"
SANDBOX_SECRET = (ROOT / "examples" / "captures" / "sandbox-secret.txt").read_text().strip()
FIXTURE = "fixture-secret-for-recordings"
CLIENT = ROOT / "examples" / "clients" / "bangladesh_client.mjs"
node = shutil.which("node")


@contextmanager
def threaded(server: Any) -> Iterator[Any]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def proxy(upstream: str, secret: str, **kwargs: Any) -> Any:
    return threaded(ProxyServer(("127.0.0.1", 0), upstream, JudgeOptions(secret=Secret(secret)), **kwargs))


def rules_by_index(findings: list[Any], keep: Any = lambda f: True) -> dict[int, set[tuple[str, str | None]]]:
    out: dict[int, set[tuple[str, str | None]]] = {}
    for f in findings:
        d = f if isinstance(f, dict) else f.to_dict()
        if keep(d):
            out.setdefault(d["index"], set()).add((d["rule"], d["pointer"]))
    return out


def request_side(d: dict[str, Any]) -> bool:
    return ".response." not in f".{d['rule']}" and not (d["pointer"] or "").startswith("/response")


def _capture_requests() -> list[tuple[int, dict[str, Any]]]:
    records = [json.loads(line) for line in CAPTURE.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(i, r) for i, r in enumerate(records) if "merchant.example/notify" not in r["request"]["url"]]


def _send_capture(srv: ProxyServer, clock: list[float]) -> list[int]:
    """Each recorded request (not the notifications: they go the other way) through the proxy, in order, judged
    at its recorded time; the capture's index of each."""
    sent = []
    with httpx.Client(base_url=srv.base_url, timeout=10) as client:
        for index, record in _capture_requests():
            req = record["request"]
            headers = req["headers"].items() if isinstance(req["headers"], dict) else req["headers"]
            path = "/" + req["url"].split("://", 1)[1].split("/", 1)[1]
            clock[0] = record["time"]
            client.request(req["method"], path, content=(req.get("body") or "").encode("utf-8"),
                           headers=[(k, v) for k, v in headers if k.lower() not in ("host", "content-length")])
            sent.append(index)
    return sent


def test_the_bundled_capture_through_the_proxy_gets_the_findings_validate_gives_it(tmp_path: Path) -> None:
    """Each request of the bundled capture, sent through the proxy to serve, is judged as validate judges it in
    the capture; serve answers correctly, so the answer side is clean where the capture's planted defects were."""
    recording = tmp_path / "recording.jsonl"
    clock = [0.0]
    recorder = Recorder(str(recording), Rewriter(Redactor(), Secret(FIXTURE)))
    with running_server(SANDBOX_SECRET, "1000000001") as upstream, \
            proxy(upstream.base_url, SANDBOX_SECRET, recorder=recorder, clock=lambda: clock[0]) as srv:
        sent = _send_capture(srv, clock)
        live = srv.report()
    recorded = validate([str(CAPTURE)], JudgeOptions(secret=Secret(SANDBOX_SECRET)))
    expected = rules_by_index(recorded.findings, request_side)
    by_proxy = {sent[i]: rules for i, rules in rules_by_index(live.findings).items()}
    assert by_proxy == {i: rules for i, rules in expected.items() if i in sent}
    assert live.exchanges == len(sent) == 44

    # The recording: validate with the fixture secret gives the live run's verdicts, exchange by exchange...
    replayed = validate([str(recording)], JudgeOptions(secret=Secret(FIXTURE)))
    assert rules_by_index(replayed.findings) == rules_by_index(live.findings)
    # ...and holds neither the secret nor the payer's data that the capture carried.
    data = recording.read_bytes()
    for canary in (SANDBOX_SECRET, "jose@example.mx", "5512345678", "José Pérez", "Jos\\u00e9"):
        assert canary.encode() not in data, canary


@pytest.mark.parametrize("suffix", [".jsonl", ".har"])
def test_a_recording_verifies_under_the_fixture_secret_and_holds_no_canary(tmp_path: Path, suffix: str) -> None:
    secret = "canary-secret-7f3a9"
    payer = {"email": "canary.payer@example.mx", "mobile": "5599887766", "payer": "Canary Payer"}
    recording = tmp_path / f"recording{suffix}"
    recorder = Recorder(str(recording), Rewriter(Redactor(), Secret(FIXTURE)))
    bodies = []
    with running_server(secret, "1000000001") as upstream, proxy(upstream.base_url, secret, recorder=recorder) as srv:
        for n, wrong in enumerate((False, False, True)):
            fields = {"tradeNo": f"T-canary-{n}", "amount": "300", "wayCode": "va", "timestamp": str(int(time.time() * 1000)),
                      "notifyUrl": "https://merchant.example/notify", **payer}
            fields["sign"] = signing.sign(fields, Secret("another" if wrong else secret))
            bodies.append(fields)
            httpx.post(f"{srv.base_url}/mexico/v1/vexora/checkout", json=fields, headers={"merchantNo": "1000000001"})
        # a body that is not JSON cannot be read field by field: it is scrambled whole, and still not JSON
        httpx.post(f"{srv.base_url}/mexico/v1/vexora/checkout", content=b'{"email": "canary.payer@example.mx", ',
                   headers={"merchantNo": "1000000001", "Content-Type": "application/json"})
        # the payer's email written twice (the parsed body keeps the last), and a mobile sent as a number
        httpx.post(f"{srv.base_url}/mexico/v1/vexora/checkout", headers={"merchantNo": "1000000001",
                   "Content-Type": "application/json"}, content=b'{"email": "canary.payer@example.mx", "tradeNo": '
                   b'"T-dup", "email": "second@example.mx", "mobile": 5599887766}')
        httpx.post(f"{srv.base_url}/mexico/v1/vexora/checkout", headers={"merchantNo": "1000000001",
                   "Content-Type": "application/json"}, content=b'{"email": "canary.payer@example.mx", "email": ""}')
        # the payer's keys written with escapes, which every JSON parser reads as "email" and "mobile"
        httpx.post(f"{srv.base_url}/mexico/v1/vexora/checkout", headers={"merchantNo": "1000000001",
                   "Content-Type": "application/json"}, content=b'{"em\\u0061il": "canary.payer@example.mx", '
                   b'"\\u0065mail": "second@example.mx", "\\u006dobile": 5599887766, "tradeNo": "T-esc"}')
        live = srv.report()
    data = recording.read_bytes()
    for canary in (secret, *payer.values(), "5599887766", "Canary", "canary.payer", "second@example"):
        assert canary.encode() not in data, canary
    if suffix == ".har":
        recorded = [{"request": {"body": e["request"]["postData"]["text"]}} for e in json.loads(data)["log"]["entries"]]
    else:
        recorded = [json.loads(line) for line in data.decode().splitlines()]
    signs = [json.loads(r["request"]["body"])["sign"] for r in recorded[:3]]
    assert signs[0] != bodies[0]["sign"]  # rewritten: a sign made with the real secret is never stored
    # The same payer data gets the same placeholders in every exchange, of the same shape.
    first, second = (json.loads(r["request"]["body"]) for r in recorded[:2])
    assert {k: first[k] for k in payer} == {k: second[k] for k in payer}
    assert first["email"].count("@") == 1 and first["mobile"].isdigit() and len(first["mobile"]) == 10
    outcome = validate([str(recording)], JudgeOptions(secret=Secret(FIXTURE)))
    assert rules_by_index(outcome.findings) == rules_by_index(live.findings)
    assert rules_by_index(live.findings)[2] == {("sign.mismatch", "/sign")}
    assert ("request.json", None) in rules_by_index(live.findings)[3]


CANNED = (b"HTTP/1.1 200 OK\r\nX-Odd:   spaced value  \r\nset-cookie: a=1\r\nSet-Cookie: b=2\r\n"
          b"Content-Type: application/json; charset=utf-8\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
          b"4\r\n{\"co\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(b'de":"0000","msg":"success"}'), b'de":"0000","msg":"success"}'))


def test_the_proxy_relays_the_answer_byte_for_byte_and_the_request_but_for_host() -> None:
    seen: list[bytes] = []

    def upstream(conn: socket.socket) -> None:
        seen.append(raw.read_request(conn))
        conn.sendall(CANNED)

    sent = (b"POST /mexico/v1/vexora/checkout HTTP/1.1\r\nHost: proxy.example\r\nmerchantNo: 1000000001\r\n"
            b"X-Trace:  kept  \r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
    with raw.serving(upstream) as up, proxy(up.url.rsplit("/", 1)[0], SANDBOX_SECRET) as srv:
        host, port = srv.server_address[:2]
        with socket.create_connection((host, port), timeout=10) as conn:
            conn.sendall(sent)
            got = b""
            while chunk := conn.recv(65536):
                got += chunk
        findings = httpx.get(f"{srv.base_url}/__vexora__/findings").json()  # the proxy's own path
    assert got == CANNED
    assert len(seen) == 1 and findings["summary"]["exchanges"] == 1  # never forwarded
    # The request's fields as they came, in order, names in their case, Host aside; the whitespace around a
    # field's value is not part of it (RFC 9110 5.5), and the server that reads the request drops it.
    def fields(request: bytes) -> list[tuple[bytes, bytes]]:
        head, _, body = request.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        return [(lines[0], b"")] + [(n, v.strip()) for n, v in (line.split(b":", 1) for line in lines[1:])
                                    if n.lower() != b"host"] + [(body, b"")]

    assert fields(seen[0]) == fields(sent)
    assert b"\r\nhost: 127.0.0.1:" in seen[0].lower()


FAULTS = {
    "refused": (None, 502, "upstream.unreachable"),
    "reset": (raw.reset, 502, "upstream.bad-answer"),  # reached, then the connection broke
    "slow": (raw.after(5, raw.answers(b"200 OK", b"{}")), 504, "upstream.timeout"),
    "huge": (raw.answers(b"200 OK", b"{" + b" " * (5 * 1024 * 1024) + b"}"), 502, "upstream.too-large"),
    "not HTTP": (raw.garbage, 502, "upstream.bad-answer"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_an_upstream_fault_is_a_502_or_504_and_a_finding_never_a_hang(fault: str) -> None:
    behaviour, status, rule = FAULTS[fault]
    if behaviour is None:
        sock = socket.create_server(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        sock.close()  # nothing listens there now
        context: Any = None
    else:
        context = raw.serving(behaviour)
        url = context.__enter__().url.rsplit("/", 1)[0]
    try:
        with proxy(url, SANDBOX_SECRET, timeout=1.0) as srv:
            started = time.monotonic()
            answer = httpx.post(f"{srv.base_url}/mexico/v1/vexora/checkout", json={}, timeout=20)
            assert time.monotonic() - started < 10
            found = srv.report().findings
    finally:
        if context is not None:
            context.__exit__(None, None, None)
    assert answer.status_code == status
    assert answer.json()["msg"].startswith("vexora-conformance proxy: ")
    assert rule in {f.rule for f in found}
    message = next(f.message for f in found if f.rule == rule)
    assert "Traceback" not in message and "Error" not in message.split(":")[0]


def test_an_answer_that_is_not_json_is_relayed_as_it_came_and_judged() -> None:
    page = b"<html>maintenance</html>"
    with raw.serving(raw.answers(b"503 Service Unavailable", page, b"Content-Type: text/html\r\n")) as up, \
            proxy(up.url.rsplit("/", 1)[0], SANDBOX_SECRET) as srv:
        answer = httpx.post(f"{srv.base_url}/mexico/v1/vexora/checkout", json={})
        found = {f.rule for f in srv.report().findings}
    assert answer.status_code == 503 and answer.content == page
    assert "response.json" in found


# ---- listen: the relay judges a handler as check-notify does ----

def _case_rules(findings: list[Any]) -> list[set[str]]:
    by = rules_by_index(findings)
    return [{rule for rule, _ in by.get(i, set())} for i in range(max(by, default=-1) + 1)]


@pytest.mark.parametrize("kind", [CORRECT, *MISTAKES])
def test_a_handler_behind_listen_gets_the_verdicts_check_notify_gives_it(kind: str) -> None:
    secret, trade_no = "notify-secret", "T-relay-1"
    options = MISTAKES[kind][0] if kind in MISTAKES else {}
    with serving(handler(secret, {trade_no: "500"}, **options)) as url:
        direct = battery(url_sender(), url, Secret(secret), trade_no, "500", 5.0)
    with serving(handler(secret, {trade_no: "500"}, **options)) as url, \
            threaded(RelayServer(("127.0.0.1", 0), url, JudgeOptions(secret=Secret(secret)))) as relay:
        through = battery(url_sender(), relay.base_url + "/notify", Secret(secret), trade_no, "500", 5.0)
        relayed = relay.report().findings
    cases = [r.case for r in direct.cases]
    expected = [{f.rule for f in r.findings} for r in direct.cases]
    assert [{f.rule for f in r.findings} for r in through.cases] == expected  # the relay changed no answer
    got = _case_rules(relayed) + [set()] * (len(cases) - len(_case_rules(relayed)))
    # The relay reads a notification's sign as the provider's would: a forgery is also a finding of its own.
    got = [rules - {"notify.sign.mismatch", "notify.sign.missing", "notify.request.json",
                    "notify.request.required"} for rules in got]
    for case, want, have in zip(cases, expected, got, strict=True):
        if case.kind == "unknown-order":
            continue  # only check-notify knows that nobody has this tradeNo
        assert have == want, case.name


def test_listen_retries_locally_on_the_provider_schedule_when_the_handler_does_not_answer_ok() -> None:
    secret, trade_no = "notify-secret", "T-retry-1"
    hits: list[float] = []
    app = handler(secret, {trade_no: "500"}, reply=b"success")

    def counting(environ: dict[str, Any], start: Any) -> Any:
        hits.append(time.monotonic())
        return app(environ, start)

    body = json.dumps({"platFormTradeNo": "p1", "tradeNo": trade_no, "amount": "500", "status": "0000",
                       "sign": signing.sign({"platFormTradeNo": "p1", "tradeNo": trade_no, "amount": "500",
                                             "status": "0000"}, Secret(secret))}).encode()
    with serving(counting) as url, threaded(RelayServer(("127.0.0.1", 0), url, JudgeOptions(secret=Secret(secret)),
                                                        retry_locally=True, scale=0.0005)) as relay:
        answer = httpx.post(relay.base_url + "/notify", content=body)
        deadline = time.monotonic() + 15
        while len(hits) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        found = relay.report().findings
    assert answer.text == "success"  # relayed as the handler said it
    assert len(hits) >= 4
    assert "notify.reply" in {f.rule for f in found}


# ---- as a new user runs them: serve, proxy and the Node client as processes ----

def _start(argv: list[str], cwd: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen([sys.executable, "-m", "vexora_conformance", *argv], cwd=cwd, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


@pytest.mark.skipif(node is None, reason="node is not installed on this machine: the Node client was not run "
                                         "through the proxy")
def test_an_unchanged_node_client_through_proxy_sees_each_finding_live_and_validate_agrees(tmp_path: Path) -> None:
    secret = "bangladesh-sandbox-secret"
    (tmp_path / "secret.txt").write_text(secret + "\n")
    (tmp_path / "fixture.txt").write_text(FIXTURE + "\n")
    serve, upstream = _start(["serve", "--secret-file", "secret.txt"], tmp_path)
    live, base = _start(["proxy", "--upstream", upstream, "--listen", "127.0.0.1:0", "--secret-file", "secret.txt",
                         "--merchant-no", "1000000001", "--record", "rec.jsonl", "--record-resign-with",
                         "fixture.txt", "--report", "report.xml"], tmp_path)
    try:
        run = subprocess.run([str(node), str(CLIENT), f"{base}/bangladesh", secret, "1000000001", "client.jsonl",
                              "repeat-payout-tradeno", "decimal-payout", "secret-first-payout", "no-wallet-payout",
                              "myanmar-submit-path"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr[-2000:]
        served = httpx.get(f"{upstream}/__vexora__/findings").json()["findings"]
    finally:
        for process in (live, serve):
            process.send_signal(signal.SIGINT)
        _, proxy_err = live.communicate(timeout=30)
        serve.communicate(timeout=30)
    assert live.returncode == 1  # findings, as serve's exit code says them
    assert proxy_err.count("vexora-conformance proxy: proxy#") == 5 and "payout.sign.mismatch" in proxy_err
    assert secret not in proxy_err
    assert (tmp_path / "report.xml").read_text().startswith("<?xml")
    # The client saw serve's answers as serve wrote them: the recording (answers unredacted: no payer data in
    # them) holds the same bodies the client logged.
    client = [json.loads(line) for line in (tmp_path / "client.jsonl").read_text().splitlines()]
    recorded = [json.loads(line) for line in (tmp_path / "rec.jsonl").read_text().splitlines()]
    assert [c["response"]["body"] for c in client] == [r["response"]["body"] for r in recorded]
    # The proxy judged what serve judged, and validate on the recording what the proxy judged.
    outcome = validate([str(tmp_path / "rec.jsonl")], JudgeOptions(secret=Secret(FIXTURE), merchant_no="1000000001"))
    assert rules_by_index(outcome.findings) == rules_by_index(served) == {
        1: {("payin-submit.request.advice", None)}, 3: {("payout.trade-no.duplicate", "/tradeNo")},
        4: {("payout.request.advice", "/amount")}, 5: {("payout.sign.mismatch", "/sign")},
        6: {("payout.request.required", "/walletId")}}
    assert secret.encode() not in (tmp_path / "rec.jsonl").read_bytes()


# ---- replay: a recording sent again, matched by endpoint, tradeNo and sequence ----

def test_a_proxy_recording_replayed_against_serve_gets_its_recorded_findings(tmp_path: Path) -> None:
    """Recorded a year ago (the capture's times): each timestamp is moved to now and each sign remade, so no
    skew and no sign verdict changes; the verdicts are the recorded ones, exchange by exchange."""
    recording = tmp_path / "recording.jsonl"
    clock = [0.0]
    with running_server(SANDBOX_SECRET, "1000000001") as upstream, \
            proxy(upstream.base_url, SANDBOX_SECRET, recorder=Recorder(str(recording), Rewriter(Redactor(),
                                                                        Secret(FIXTURE))),
                  clock=lambda: clock[0]) as srv:
        _send_capture(srv, clock)
        live = srv.report()
    with running_server(FIXTURE, "1000000001") as fresh:
        outcome = replay(str(recording), ReplayOptions(fresh.base_url, Secret(FIXTURE), Secret(FIXTURE)))
    assert "replay.changed" not in outcome.by_rule
    assert rules_by_index(outcome.findings) == rules_by_index(live.findings)


def test_a_listen_recording_replayed_finds_a_handler_that_regressed(tmp_path: Path) -> None:
    secret, trade_no = "notify-secret", "T-replay-1"
    recording = tmp_path / "notifications.jsonl"
    with serving(handler(secret, {trade_no: "500"})) as url, \
            threaded(RelayServer(("127.0.0.1", 0), url, JudgeOptions(secret=Secret(secret)),
                                 recorder=Recorder(str(recording), Rewriter(Redactor(), Secret(FIXTURE))))) as relay:
        battery(url_sender(), relay.base_url + "/notify", Secret(secret), trade_no, "500", 5.0)
        recorded = relay.report()
    assert secret.encode() not in recording.read_bytes()
    test_secret = "the-handler-test-secret"
    with serving(handler(test_secret, {trade_no: "500"})) as url:  # the same handler, in the test suite
        same = replay(str(recording), ReplayOptions(url, Secret(test_secret), Secret(FIXTURE)))
    assert "replay.changed" not in same.by_rule, [f.message for f in same.findings]
    assert rules_by_index(same.findings) == rules_by_index(recorded.findings)
    with serving(handler(test_secret, {trade_no: "500"}, check_sign=False)) as url:  # a regression
        regressed = replay(str(recording), ReplayOptions(url, Secret(test_secret), Secret(FIXTURE)))
    changed = [f for f in regressed.findings if f.rule == "replay.changed"]
    assert changed and all("notify.accepts-bad-sign" in f.message for f in changed)
    assert regressed.by_rule["notify.accepts-bad-sign"] == len(changed)


@pytest.mark.parametrize(("argv", "words"), [
    (["proxy", "--upstream", "ftp://sandbox.example"], "not a usable http(s) URL"),
    (["proxy", "--upstream", "http://127.0.0.1:9", "--listen", "nowhere"], "not HOST:PORT"),
    (["proxy", "--upstream", "http://127.0.0.1:9", "--record-resign-with", "fixture.txt"], "give --record FILE too"),
    (["listen", "--forward-to", "http://127.0.0.1:9/notify", "--secret-env", "NOT_SET_ANYWHERE"], "no app secret"),
    (["replay", "missing.jsonl", "--to", "http://127.0.0.1:9"], "missing.jsonl"),
    (["replay", "x.jsonl", "--to", "not a url"], "not a usable http(s) URL"),
])
def test_a_live_door_given_bad_options_says_so_in_one_line_exit_2(argv: list[str], words: str,
                                                                   tmp_path: Path) -> None:
    from tests.hostile import cli

    ran = cli(argv, cwd=tmp_path)
    assert ran.code == 2 and ran.one_line_error() and words in ran.err, ran.err
    assert "canary" not in (ran.out + ran.err).lower()


def test_a_recording_without_a_fixture_secret_says_it_keeps_the_real_signs(tmp_path: Path) -> None:
    process, base = _start(["proxy", "--upstream", "http://127.0.0.1:9", "--listen", "127.0.0.1:0", "--no-sign-check",
                            "--record", "rec.jsonl"], tmp_path)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert base.startswith("http://127.0.0.1:") and process.returncode == 0
    assert "keeps the signs as sent" in err and "--record-resign-with FILE" in err


def test_a_client_that_hangs_up_before_its_answer_is_still_judged_and_holds_up_no_one() -> None:
    def slow_upstream(conn: socket.socket) -> None:
        raw.read_request(conn)
        time.sleep(0.5)  # the client is gone by now
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")

    with raw.serving(slow_upstream) as up, proxy(up.url.rsplit("/", 1)[0], SANDBOX_SECRET, timeout=5.0) as srv:
        host, port = srv.server_address[:2]
        client = socket.create_connection((host, port), timeout=5)
        client.sendall(b"POST /mexico/v1/vexora/checkout HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()  # a reset, not a polite close
        time.sleep(1.0)
        started = time.monotonic()
        report = srv.report()
        assert time.monotonic() - started < 3  # no exchange left waiting for its turn
    assert report.exchanges == 1


@pytest.mark.parametrize("text", [
    '{"em\\u0061il": "canary.payer@example.mx", "amount": "1"}',
    '{"\\u0065mail": "canary.payer@example.mx", "email": "second@example.mx"}',
    '{"remark": "a \\"email\\": \\"kept\\" quoted", "\\u006dobile": 5599887766}',
    '{"a\\"b": "c", "customer\\u004eame": "Canary Payer"}',
])
def test_a_payer_key_written_with_an_escape_is_redacted_where_it_is_written(text: str) -> None:
    """The text of a body keeps the client's own spelling, so the payer's value is replaced in place, under
    any spelling of its key a parser reads as a payer field; a quoted key inside a value is not one."""
    parsed = json.loads(text)
    out = Rewriter(Redactor()).request_body(text, parsed, [], None, None)
    assert out is not None
    for canary in ("canary.payer", "second@example", "5599887766", "Canary Payer"):
        assert canary not in out, out
    assert ('a \\"email\\": \\"kept\\" quoted' in out) == ("quoted" in text)  # a value's own text stays
    assert set(json.loads(out)) == set(parsed)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here: a full disk was not simulated")
def test_a_recording_that_cannot_be_written_stops_alone_and_the_door_exits_2(tmp_path: Path) -> None:
    """/dev/full answers every write with ENOSPC, as a full disk does: the proxy goes on judging and relaying,
    says once on standard error that the recording stopped, and exits 2 with the report written."""
    secret = "full-disk-secret"
    (tmp_path / "secret.txt").write_text(secret + "\n")
    with running_server(secret, "1000000001") as upstream:
        process, base = _start(["proxy", "--upstream", upstream.base_url, "--listen", "127.0.0.1:0",
                                "--secret-file", "secret.txt", "--record", "/dev/full", "--report", "report.json"],
                               tmp_path)
        try:
            answers = []
            for n in range(3):
                fields = {"tradeNo": f"T-full-{n}", "amount": "300", "wayCode": "va", "notifyUrl":
                          "https://merchant.example/notify", "timestamp": str(int(time.time() * 1000))}
                fields["sign"] = signing.sign(fields, Secret(secret if n else "wrong"))
                answers.append(httpx.post(f"{base}/mexico/v1/vexora/checkout", json=fields,
                                          headers={"merchantNo": "1000000001"}, timeout=30))
        finally:
            process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=30)
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert process.returncode == 2, err
    assert "Traceback" not in err and "please report it" not in err, err
    assert err.count("the recording /dev/full stopped:") == 1, err
    assert "stopped after 0 exchange(s)" in err and "3 exchange(s) were not recorded" in err, err
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["summary"]["exchanges"] == 3 and any(f["rule"] == "sign.mismatch" for f in report["findings"])


def test_a_body_of_backslashes_is_redacted_in_time_linear_in_its_length() -> None:
    """A hang guard (not a speed test): a key pattern that could match each escape two ways took time in the
    square of a string's length, 20 s for 80 KB of backslashes; a body the proxy would record is up to MiBs."""
    from tests.hostile import TIME_CAP_S, memory_cap

    code = ("import json; from vexora_conformance.doors.recording import Redactor;"
            "text = json.dumps({'remark': '\\\\' * 1_000_000, 'em\\\\u0061il': 'canary@example.mx'});"
            "out = Redactor().text(text.replace('em\\\\\\\\u0061il', 'em\\\\u0061il'));"
            "print('canary' in out, len(out) == len(text) - 1)")
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=TIME_CAP_S,
                         preexec_fn=memory_cap())
    assert ran.returncode == 0 and ran.stdout.split() == ["False", "True"], ran.stderr[-2000:]
