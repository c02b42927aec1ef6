"""The notification: check-notify against real handlers over HTTP, the plugin's delivery to WSGI/ASGI apps,
and serve's notifier end to end over real sockets (pay, notify, retry, query)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.helpers import signed_body
from tests.notify_handlers import CORRECT, MISTAKES, handler, merchant_sign, serving
from vexora_conformance.cli import run
from vexora_conformance.contract import signing

SECRET = "notify-test-secret"
ORDER = ("ORDER-1", "300")


def app(kind: str, secret: str = SECRET) -> Any:
    options = {} if kind == CORRECT else MISTAKES[kind][0]
    return handler(secret, {ORDER[0]: ORDER[1]}, **options)


def check_notify(url: str, *extra: str, fmt: str = "json") -> tuple[int, Any, str]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VEXORA_SECRET", SECRET)
        code = run(["check-notify", url, "--trade-no", ORDER[0], "--amount", ORDER[1], "--format", fmt, *extra],
                   out, err)
    return code, (json.loads(out.getvalue()) if fmt == "json" and out.getvalue() else out.getvalue()), err.getvalue()


# --- check-notify against handlers served over real HTTP ---

def test_a_correct_handler_passes() -> None:
    with serving(app(CORRECT)) as url:
        code, report, _ = check_notify(url)
    assert code == 0, report
    assert report["summary"]["errors"] == 0 and report["summary"]["exchanges"] == 11


@pytest.mark.parametrize("kind", sorted(MISTAKES))
def test_each_mistaken_handler_fails_with_its_rule(kind: str) -> None:
    with serving(app(kind)) as url:
        code, report, _ = check_notify(url)
    rules = {f["rule"] for f in report["findings"]}
    assert code == 1 and MISTAKES[kind][1] in rules, rules
    finding = next(f for f in report["findings"] if f["rule"] == MISTAKES[kind][1])
    assert set(finding["details"]) >= {"case", "notification", "answer"}
    assert SECRET not in json.dumps(report)


def test_the_text_report_names_each_case_and_the_verdict() -> None:
    with serving(app("answers success")) as url:
        code, text, _ = check_notify(url, fmt="text")
    assert code == 1 and "FAIL valid notification: 0000 paid: HTTP 200 'success'" in text
    assert text.strip().splitlines()[-1].startswith("FAIL: 11 case(s)")


def test_without_an_order_a_refusal_is_not_held_against_the_handler_and_the_report_says_so() -> None:
    """A correct handler refuses an order it does not know: without --trade-no that is no finding."""
    with serving(app(CORRECT)) as url:
        out, err = io.StringIO(), io.StringIO()
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("VEXORA_SECRET", SECRET)
            code = run(["check-notify", url], out, err)
    assert code == 0 and "give --trade-no and --amount of an order it knows" in out.getvalue()


def test_an_unreachable_handler_is_exit_2_with_one_line() -> None:
    with serving(app(CORRECT)) as url:
        pass  # the port is free again
    code, _, err = check_notify(url)
    assert code == 2 and "cannot reach" in err and len(err.strip().splitlines()) == 1


def test_a_slow_handler_is_notify_slow() -> None:
    slow_app = app(CORRECT)

    def slow(environ: dict[str, Any], start: Any) -> Any:
        time.sleep(0.6)
        return slow_app(environ, start)

    with serving(slow) as url:
        code, report, _ = check_notify(url, "--timeout", "0.3")
    assert code == 1 and "notify.slow" in {f["rule"] for f in report["findings"]}


def test_junit_output_has_a_case_per_notification() -> None:
    with serving(app("not idempotent")) as url:
        code, xml, _ = check_notify(url, fmt="junit")
    assert code == 1 and xml.count("<testcase") == 11 and "notify.duplicate" in xml


# --- the plugin: deliver_notification to WSGI and ASGI apps ---

PLUGIN_TEST = '''
import httpx, pytest
from tests.notify_handlers import CORRECT, MISTAKES, as_asgi, handler

SECRET = "vexora-test-secret"

def open_order(vexora_mock, trade_no):
    body = {{"timestamp": str(__import__("time").time_ns() // 10**6), "tradeNo": trade_no, "amount": "300",
             "notifyUrl": "https://shop.example/notify"}}
    from vexora_conformance.contract import signing
    body["sign"] = signing.sign(body, SECRET)
    r = httpx.post(vexora_mock.base_url + "/v1/vexora/checkout", json=body,
                   headers={{"merchantNo": vexora_mock.merchant_no}})
    assert r.json()["code"] == "0000"

@pytest.mark.parametrize("asgi", [False, True])
def test_handler(vexora_mock, asgi):
    open_order(vexora_mock, "T-1")
    options = {{}} if "{kind}" == CORRECT else MISTAKES["{kind}"][0]
    app = handler(SECRET, {{"T-1": "300"}}, **options)
    target = as_asgi(app) if asgi else app
    delivery = vexora_mock.deliver_notification(target, "T-1", status="0000")
    again = vexora_mock.deliver_notification(target, "T-1", status="0000")  # the provider's retry
    forged = dict(vexora_mock.notification("T-1"), amount="1")
    vexora_mock.deliver_notification(target, body=forged)
'''


@pytest.mark.parametrize("kind", [CORRECT, *sorted(MISTAKES)])
def test_the_plugin_delivers_to_wsgi_and_asgi_apps_and_judges_the_answer(pytester: pytest.Pytester,
                                                                         kind: str) -> None:
    pytester.syspathinsert(str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    pytester.makepyfile(PLUGIN_TEST.format(kind=kind))
    result = pytester.runpytest("-p", "no:cacheprovider")
    if kind == CORRECT:
        result.assert_outcomes(passed=2)
    else:
        result.assert_outcomes(passed=2, errors=2)
        result.stdout.fnmatch_lines([f"*{MISTAKES[kind][1]}*"])


def test_pay_changes_what_the_query_answers_and_the_notification_verifies() -> None:
    from vexora_conformance.doors.fake.mock import fake_provider

    with fake_provider(secret=SECRET) as fake:
        body = signed_body(SECRET)
        httpx.post("https://sandbox.vexora.test/v1/vexora/checkout", json=body,
                   headers={"merchantNo": fake.merchant_no})
        query = {"tradeNo": body["tradeNo"], "timestamp": str(int(time.time() * 1000))}
        query["sign"] = merchant_sign(query, SECRET)

        def ask() -> dict[str, Any]:
            return httpx.post("https://sandbox.vexora.test/v1/vexora/queryPayInResult", json=query,
                              headers={"merchantNo": fake.merchant_no}).json()  # type: ignore[no-any-return]

        assert ask()["data"]["status"] == "0015"
        note = fake.pay(body["tradeNo"], "0001", "100")
        assert note["sign"] == merchant_sign(note, SECRET) and note["status"] == "0001" and note["amount"] == "100"
        answer = ask()["data"]
        assert (answer["status"], answer["receivedAmount"], answer["amount"]) == ("0001", "100", "300")
        fake.pay(body["tradeNo"], "0000", "200")
        answer = ask()["data"]
        assert answer["status"] == "0000" and answer["receivedAmount"] == "100" and len(answer["paymentList"]) == 2
        unknown = dict(query, tradeNo="nobody")
        unknown["sign"] = merchant_sign(unknown, SECRET)
        r = httpx.post("https://sandbox.vexora.test/v1/vexora/queryPayInResult", json=unknown,
                       headers={"merchantNo": fake.merchant_no})
        assert r.json()["code"] == "8000" and r.json()["data"] is None
        with pytest.raises(ValueError, match="smaller"):
            fake.pay(body["tradeNo"], "0001", "300")


# --- serve: the notifier over real sockets ---

@pytest.fixture
def serve_process() -> Iterator[str]:
    """serve with the retry schedule shrunk 10,000 times: the 24 hours of retries take about 3.6 s."""
    proc = subprocess.Popen([sys.executable, "-m", "vexora_conformance", "serve", "--notify-retry-scale", "0.0001"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**__import__("os").environ, "VEXORA_SECRET": SECRET})
    assert proc.stdout is not None
    yield proc.stdout.readline().strip()
    proc.terminate()
    proc.communicate(timeout=60)


def _checkout(base: str, notify_url: str) -> str:
    body = signed_body(SECRET, notifyUrl=notify_url)
    r = httpx.post(base + "/mx/v1/vexora/checkout", json=body, headers={"merchantNo": "1000000001"})
    assert r.json()["code"] == "0000", r.json()
    return str(body["tradeNo"])


def _findings(base: str, rule: str, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        found = [f for f in httpx.get(base + "/__vexora__/findings").json()["findings"] if f["rule"] == rule]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_serve_notifies_after_pay_and_the_query_sees_the_payment(serve_process: str) -> None:
    received: list[dict[str, Any]] = []

    def recording(environ: dict[str, Any], start: Any) -> Any:
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        received.append(json.loads(raw))
        start("200 OK", [("Content-Type", "text/plain")])
        return [b"OK"]

    with serving(recording) as url:
        trade_no = _checkout(serve_process, url)
        r = httpx.post(serve_process + "/__vexora__/pay", json={"tradeNo": trade_no, "status": "0000"})
        assert r.status_code == 200 and r.json()["notifying"]
        deadline = time.monotonic() + 30
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(received) == 1 and received[0]["tradeNo"] == trade_no and received[0]["status"] == "0000"
    assert signing.verify(received[0], SECRET)  # the reference signer agrees with serve's notification
    query = {"tradeNo": trade_no, "timestamp": str(int(time.time() * 1000))}
    query["sign"] = merchant_sign(query, SECRET)
    answer = httpx.post(serve_process + "/mx/v1/vexora/queryPayInResult", json=query,
                        headers={"merchantNo": "1000000001"}).json()
    assert answer["data"]["status"] == "0000" and answer["data"]["receivedAmount"] == "300"


def test_serve_retries_a_handler_that_does_not_answer_ok_and_records_it(serve_process: str) -> None:
    attempts: list[float] = []

    def success(environ: dict[str, Any], start: Any) -> Any:
        attempts.append(time.monotonic())
        start("200 OK", [("Content-Type", "text/plain")])
        return [b"success"]

    with serving(success) as url:
        trade_no = _checkout(serve_process, url)
        httpx.post(serve_process + "/__vexora__/pay", json={"tradeNo": trade_no})
        found = _findings(serve_process, "notify.reply", 9)
    assert len(attempts) == 9 and len(found) == 9  # the first delivery and the 8 documented retries


def test_serve_sends_the_asked_for_variants(serve_process: str) -> None:
    lenient = handler(SECRET, _AnyOrder(), check_sign=False, idempotent=False)  # two mistakes at once
    with serving(lenient) as url:
        trade_no = _checkout(serve_process, url)
        httpx.post(serve_process + "/__vexora__/pay",
                   json={"tradeNo": trade_no, "variants": ["duplicate", "bad-sign"]})
        assert _findings(serve_process, "notify.accepts-bad-sign", 1)
        assert _findings(serve_process, "notify.duplicate", 1)


@pytest.mark.parametrize("payment", [{"tradeNo": "nobody"}, {"tradeNo": "T", "variants": ["twice"]},
                                     {"tradeNo": "T", "status": "0001"}, {"status": "0000"}, [1],
                                     {"tradeNo": "T", "amount": 300}])
def test_serve_refuses_a_bad_payment_with_a_reason(serve_process: str, payment: Any) -> None:
    r = httpx.post(serve_process + "/__vexora__/pay", json=payment)
    assert r.status_code == 400 and r.json()["error"]


class _AnyOrder(dict):  # type: ignore[type-arg]
    """Every tradeNo is a known order."""

    def __contains__(self, key: object) -> bool:
        return True


def test_serve_records_an_unreachable_notify_url(serve_process: str) -> None:
    with serving(handler(SECRET, {})) as url:
        pass  # the port is free again: nothing listens there
    trade_no = _checkout(serve_process, url)
    httpx.post(serve_process + "/__vexora__/pay", json={"tradeNo": trade_no})
    found = _findings(serve_process, "notify.unreachable", 1)
    assert found and found[0]["severity"] == "error" and "unreachable" in found[0]["message"]


def test_a_handler_that_drips_its_answer_is_notify_slow() -> None:
    """The timeout covers the whole answer, not each read (as the provider's would)."""
    def dripping(environ: dict[str, Any], start: Any) -> Any:
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start("200 OK", [("Content-Type", "text/plain")])

        def body() -> Any:
            for ch in (b"O", b"K"):
                time.sleep(0.25)
                yield ch

        return body()

    with serving(dripping) as url:
        code, report, _ = check_notify(url, "--timeout", "0.3")
    slow = [f for f in report["findings"] if f["rule"] == "notify.slow"]
    assert code == 1 and slow and slow[0]["index"] == 0
