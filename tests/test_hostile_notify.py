"""Hostile handlers and notifyUrls: the notifier's side of the conversation holds (issue: hostile input, two).

check-notify, serve's notifier and ``deliver_notification(url)`` share one delivery (``doors/wire.py``): one
deadline over the whole exchange, the answer capped before and after decoding, a reason in words for each
failure. Each case runs against a handler speaking raw sockets (``tests/raw_handlers.py``); the command-line
cases run in a child process under the hostile suite's memory cap and a time guard.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import raw_handlers as rh
from tests.helpers import running_server, signed_body
from tests.hostile import CANARY, cli, fuzz_examples
from vexora_conformance.contract import signing
from vexora_conformance.contract.schema.compile import is_uri
from vexora_conformance.core.urls import http_url_problem
from vexora_conformance.doors import wire
from vexora_conformance.doors.fake.mock import fake_provider
from vexora_conformance.doors.notifier import Notifier
from vexora_conformance.doors.notify import MAX_ANSWER, Delivery, deliver, signed, url_sender
from vexora_conformance.judge.exchange import JudgeOptions

SECRET = signing.Secret(CANARY)
OPTIONS = JudgeOptions(secret=SECRET)
VALID = signed({"platFormTradeNo": "vx1", "tradeNo": "T1", "amount": "300", "status": "0000"}, SECRET)


def once(behaviour: rh.Behaviour, timeout: float = 2.0, body: bytes = VALID) -> Delivery:
    with rh.serving(behaviour) as handler:
        return deliver(url_sender(), handler.url, body, OPTIONS, timeout)


def rules(delivery: Delivery) -> set[str]:
    return {f.rule for f in delivery.findings}


# --- 2. a decompression bomb is inflated no further than the answer's cap ---

def test_a_gzip_bomb_in_check_notify_stays_under_the_memory_cap() -> None:
    rh.gzip_bomb()  # built before the handler's thread needs it
    with rh.serving(rh.bomb) as handler:
        ran = cli(["check-notify", handler.url, "--timeout", "5", "--format", "json", "--trade-no", "T1", "--amount",
                   "300"], memory=512 * 1024 * 1024)
    assert ran.code == 1, ran.err  # reached, and zeros are not OK: findings, not a crash
    assert "Traceback" not in ran.err and "MemoryError" not in ran.err
    assert "notify.reply" in ran.out and ran.clean_of_secrets()


def test_a_gzip_bomb_is_read_to_the_cap_in_process() -> None:
    rh.gzip_bomb()
    delivery = once(rh.bomb, timeout=10)
    assert delivery.status == 200 and len(delivery.text) <= MAX_ANSWER
    assert rules(delivery) == {"notify.reply"}


def test_an_encoding_the_provider_does_not_read_is_no_ok() -> None:
    delivery = once(rh.answers(b"200 OK", b"\x0bOK", b"Content-Encoding: br\r\n"))
    assert delivery.status is None and "br" in (delivery.failure or "")
    assert rules(delivery) == {"notify.reply"}


def test_a_gzipped_ok_is_an_ok() -> None:
    import gzip

    assert once(rh.answers(b"200 OK", gzip.compress(b"OK"), b"Content-Encoding: gzip\r\n")).acknowledged


# --- 3. the timeout bounds the whole exchange ---

def test_a_dripped_status_line_runs_out_of_time() -> None:
    started = time.monotonic()
    delivery = once(rh.drip, timeout=1.0)
    assert time.monotonic() - started < 20  # a hang guard: before, each dripped byte restarted the clock
    assert rules(delivery) == {"notify.slow"} and "status line" in (delivery.failure or "")


def test_100_continue_for_ever_is_no_answer() -> None:
    delivery = once(rh.continue_forever, timeout=5.0)
    assert delivery.status is None and rules(delivery) == {"notify.reply"}
    assert "interim" in (delivery.failure or "")


def test_check_notify_against_a_dripping_handler_ends() -> None:
    with rh.serving(rh.drip) as handler:
        ran = cli(["check-notify", handler.url, "--timeout", "0.5"], timeout=60)
    assert ran.code == 1 and "notify.slow" in ran.out and "Traceback" not in ran.err


# --- 10. what the handler did, in words; a handler that closes kept-alive connections ---

@pytest.mark.parametrize(("behaviour", "words"), [
    (rh.garbage, "not an HTTP status line"),
    (rh.reset, "reset the connection"),
    (rh.answers(b"200 OK", b"O"), None),  # a short OK-ish answer: judged, not a transport failure
])
def test_a_reached_handler_that_answers_garbage_is_said_to(behaviour: rh.Behaviour, words: str | None) -> None:
    delivery = once(behaviour)
    assert rules(delivery) == {"notify.reply"}
    if words:
        assert words in (delivery.failure or ""), delivery.failure
        assert "unreachable" not in (delivery.failure or "")


def test_garbage_to_a_forged_notification_is_a_refusal() -> None:
    forged = json.dumps({**json.loads(VALID), "amount": "999"}).encode()
    assert once(rh.garbage, body=forged).findings == []


def test_a_handler_that_closes_kept_alive_connections_is_never_unreachable() -> None:
    with rh.serving(rh.keep_alive_then_close) as handler:
        ran = cli(["check-notify", handler.url, "--format", "json"])
    assert "unreachable" not in ran.out and ran.code == 1  # it acknowledges forged ones: findings
    assert "notify.accepts-bad-sign" in ran.out


@pytest.mark.parametrize("url", ["http://127.0.0.1:abc/n", "http://127.0.0.1/n\x01", "http://" + "a" * 70 + ".x/n",
                                 "ftp://h/n", "http://[::1/n"])
def test_check_notify_with_an_unusable_url_is_a_usage_error(url: str) -> None:
    ran = cli(["check-notify", url])
    assert ran.one_line_error() and "not a usable http(s) URL" in ran.err


# --- 5. the judge and the notifier agree on what a usable URL is ---

UNUSABLE = ["http://127.0.0.1:abc/n", "http://127.0.0.1/n\x01x", "https://m.example/n\n",
            "http://" + "a" * 70 + ".example/n", "http://h:0/n", "http://h:65536/n"]


@pytest.mark.parametrize("url", UNUSABLE)
def test_an_unusable_notify_url_is_a_request_finding_at_checkout(url: str) -> None:
    with fake_provider(secret="s", check=False) as fake:
        answer = httpx.post("https://h.example/v1/vexora/checkout", json=signed_body("s", notifyUrl=url),
                            headers={"merchantNo": "1000000001"}).json()
    assert answer["code"] == "8000"
    assert any(f.pointer == "/notifyUrl" for f in fake.findings), [f.rule for f in fake.findings]
    delivery = deliver(url_sender(), url, VALID, OPTIONS, 1.0)  # and if it is paid all the same
    assert rules(delivery) == {"notify.unreachable"} and "cannot be called" in (delivery.failure or "")


# --- 7. only the handler's own time counts ---

def test_a_good_handler_is_not_blamed_for_the_queue_in_front_of_it() -> None:
    recorded: list[Delivery] = []
    with rh.serving(rh.silent) as slow, rh.serving(rh.answers(b"200 OK", b"OK")) as fast:
        notifier = Notifier(url_sender(), OPTIONS, recorded.append, timeout=1.0, workers=1)
        for _ in range(3):
            assert notifier.reserve()
            notifier.start(slow.url, VALID)
        assert notifier.reserve()
        notifier.start(fast.url, VALID)
        deadline = time.monotonic() + 30
        while not any(d.url == fast.url for d in recorded) and time.monotonic() < deadline:
            time.sleep(0.05)
        notifier.close()
    good = [d for d in recorded if d.url == fast.url]
    assert good and good[0].acknowledged and good[0].findings == []  # it waited ~3 s in the queue, unblamed
    assert all(rules(d) == {"notify.slow"} for d in recorded if d.url == slow.url)


def test_the_notifier_is_bounded_and_says_no_before_anything_is_paid() -> None:
    notifier = Notifier(url_sender(), OPTIONS, lambda d: None, capacity=2, workers=1)
    assert notifier.reserve() and notifier.reserve() and not notifier.reserve()
    notifier.release()
    assert notifier.reserve()
    notifier.close()


def _checkout(srv: Any, trade_no: str, notify_url: str) -> None:
    body = signed_body(CANARY, tradeNo=trade_no, notifyUrl=notify_url)
    answer = httpx.post(srv.base_url + "/v1/vexora/checkout", json=body, headers={"merchantNo": "1000000001"})
    assert answer.json()["code"] == "0000", answer.text


def test_serve_refuses_a_pay_it_cannot_notify_without_paying() -> None:
    with rh.serving(rh.silent) as hanging, running_server(CANARY, "1000000001") as srv:
        srv.notifier.capacity = 1
        _checkout(srv, "P1", hanging.url)
        _checkout(srv, "P2", hanging.url)
        assert httpx.post(srv.base_url + "/__vexora__/pay", json={"tradeNo": "P1"}).status_code == 200
        full = httpx.post(srv.base_url + "/__vexora__/pay", json={"tradeNo": "P2"})
        assert full.status_code == 503 and "pending" in full.json()["error"]
        assert srv.fake.books.pay_in("P2").status == "0015"  # nothing was paid


# --- 6. a client cannot erase the findings against it ---

def test_a_notify_url_at_serve_itself_is_never_called() -> None:
    with running_server(CANARY, "1000000001", notify_retry_scale=0.001) as srv:
        bad = signed_body(CANARY, tradeNo="DUP")
        for _ in range(2):
            httpx.post(srv.base_url + "/v1/vexora/checkout", json=bad, headers={"merchantNo": "1000000001"})
        _checkout(srv, "ERASE", srv.base_url + "/__vexora__/reset")
        httpx.post(srv.base_url + "/__vexora__/pay", json={"tradeNo": "ERASE"})
        assert srv.notifier.idle(10)
        report = httpx.get(srv.base_url + "/__vexora__/findings").json()
    found = [f["rule"] for f in report["findings"]]
    assert "trade-no.duplicate" in found  # not erased
    unreachable = [f for f in report["findings"] if f["rule"] == "notify.unreachable"]
    assert unreachable and "fake provider itself" in unreachable[0]["message"]


# --- 11. an in-process app that never returns ---

def test_an_in_process_app_that_never_returns_is_bounded() -> None:
    release = threading.Event()

    def stuck(environ: Any, start_response: Any) -> list[bytes]:
        release.wait(30)
        start_response("200 OK", [])
        return [b"OK"]

    with fake_provider(secret=CANARY, check=False) as fake:
        started = time.monotonic()
        delivery = fake.deliver_notification(stuck, body=VALID, timeout=1.0)
        assert time.monotonic() - started < 10
    release.set()
    assert rules(delivery) == {"notify.slow"} and "in-process app" in (delivery.failure or "")


def test_wire_reasons_are_words_not_class_names() -> None:
    for behaviour in (rh.garbage, rh.reset, rh.continue_forever):
        with rh.serving(behaviour) as handler, pytest.raises(wire.DeliveryError) as caught:
            wire.post(handler.url, VALID, {}, 3.0, MAX_ANSWER)
        assert "Error" not in str(caught.value) and str(caught.value)[0].islower()


# --- structure-aware fuzzing of the new surfaces (VEXORA_FUZZ_EXAMPLES=N for a long run) ---


_STATUS = st.sampled_from([b"HTTP/1.1 200 OK", b"HTTP/1.1 204 No Content", b"HTTP/1.0 500 X", b"HTTP/1.1 100 Go",
                           b"HTTP/1.1 2000 OK", b"HTTP/2 200", b"http/1.1 200 ok", b"", b"OK", b"HTTP/1.1 200"])
_HEADER = st.one_of(
    st.sampled_from([b"Content-Length: 2", b"Content-Length: 99999999", b"Content-Length: -1", b"Content-Length: x",
                     b"Transfer-Encoding: chunked", b"Content-Encoding: gzip", b"Content-Encoding: deflate, gzip",
                     b"Content-Encoding: br", b"Connection: close", b"no colon", b" Folded: x", b": empty"]),
    st.binary(max_size=40))
_BODY = st.one_of(st.sampled_from([b"OK", b"2\r\nOK\r\n0\r\n\r\n", b"zz\r\n", b"\x1f\x8b\x08garbage", b""]),
                  st.binary(max_size=300))


@st.composite
def _answers(draw: st.DrawFn) -> tuple[bytes, str]:
    head = draw(_STATUS) + b"".join(b"\r\n" + h for h in draw(st.lists(_HEADER, max_size=6)))
    data = head + b"\r\n\r\n" + draw(_BODY)
    cut = draw(st.integers(0, len(data)))
    return data[:cut] if draw(st.booleans()) else data, draw(st.sampled_from(["close", "reset", "hold"]))


_ANSWER: list[tuple[bytes, str]] = []


def _scripted(conn: Any) -> None:
    import socket
    import struct

    rh.read_request(conn)
    data, end = _ANSWER[-1]
    conn.sendall(data)
    if end == "reset":
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    elif end == "hold":
        time.sleep(0.5)


@pytest.fixture(scope="module")
def scripted_handler() -> Any:
    with rh.serving(_scripted) as handler:
        yield handler


@settings(max_examples=fuzz_examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answer=_answers())
def test_fuzz_any_answer_is_a_delivery_in_time(scripted_handler: Any, answer: tuple[bytes, str]) -> None:
    _ANSWER.append(answer)
    started = time.monotonic()
    delivery = deliver(url_sender(), scripted_handler.url, VALID, OPTIONS, 0.3)
    _ANSWER.clear()
    assert time.monotonic() - started < 5  # the deadline holds whatever the handler sends
    assert len(delivery.text) <= MAX_ANSWER
    assert delivery.acknowledged or delivery.findings  # a valid notification not acknowledged is a finding


_LABEL = st.text("abcxyz019-_", min_size=0, max_size=70)


@st.composite
def _urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "ftp", ""]))
    host = ".".join(draw(st.lists(_LABEL, min_size=1, max_size=4)))
    port = draw(st.one_of(st.none(), st.sampled_from(["", "0", "80", "65535", "65536", "abc", "-1", "８０"])))
    path = draw(st.text(st.characters(codec="utf-8"), max_size=20))
    sep = draw(st.sampled_from(["://", ":/", "//"]))
    return f"{scheme}{sep}{host}{'' if port is None else ':' + port}/{path}"


@settings(max_examples=fuzz_examples(500), deadline=None)
@given(url=_urls())
def test_fuzz_the_judge_and_the_notifier_agree_on_urls(url: str) -> None:
    if url.lower().startswith(("http://", "https://")):
        assert is_uri(url) == (http_url_problem(url) is None), url


@settings(max_examples=fuzz_examples(40), deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.booleans(), st.floats(allow_nan=False), st.integers(),
                                 st.text(max_size=5), st.lists(st.integers(), max_size=2)),
                       min_size=1, max_size=40),
       keys=st.integers(1, 3000))
def test_fuzz_many_keys_through_the_diagnosis(values: list[Any], keys: int) -> None:
    from vexora_conformance.contract.signing.diagnosis import diagnose

    body = {f"k{i}": values[i % len(values)] for i in range(keys)}
    d = diagnose(body, SECRET, "0" * 32)
    assert not d.correct and len(d.summary) < 2000
