"""What the merchant's code does with the money, judged through a state adapter in every door.

Two small handlers written without the project's code (``tests/merchant/shop.py``: one correct, and one per
flaw the two public integrations showed) and a state adapter for each in another language
(``tests/merchant/state.mjs``, Node, command form) or the shop's own ``/state`` (URL form). Each flaw must be
named by its effect rule in check-notify (text and JSON), in serve's report and in the plugin; the correct
handler gets no finding and exit 0.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import signed_body
from tests.hostile import cli

HERE = Path(__file__).resolve().parent / "merchant"
SECRET = "effects-secret"
NODE = shutil.which("node")


@dataclass
class Shop:
    flaw: str
    port: int
    orders: Path
    proc: subprocess.Popen[str]

    @property
    def notify(self) -> str:
        return f"http://127.0.0.1:{self.port}/vexora/notify"

    @property
    def state(self) -> str:
        return f"http://127.0.0.1:{self.port}/state"

    @property
    def state_cmd(self) -> str:
        return f"node {HERE / 'state.mjs'} {self.orders}"


def _start(flaw: str, folder: Path) -> Shop:
    orders = folder / f"orders-{flaw}.json"
    proc = subprocess.Popen([sys.executable, str(HERE / "shop.py"), str(orders), SECRET, "--flaw", flaw],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    return Shop(flaw, int(proc.stdout.readline()), orders, proc)


FLAWS = ["partial-in-full", "amount-unchecked", "no-final-state", "ok-then-nothing", "double-credit",
         "no-sign-check", "credit-on-failure"]


@pytest.fixture(scope="module")
def shops(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Shop]]:
    folder = tmp_path_factory.mktemp("shops")
    running = {flaw: _start(flaw, folder) for flaw in ["none", *FLAWS]}
    yield running
    for shop in running.values():
        shop.proc.kill()
        shop.proc.communicate()


def check_notify(shop: Shop, *args: str) -> Any:
    return cli(["check-notify", shop.notify, *args], env={"VEXORA_SECRET": SECRET}, timeout=120)


# --- check-notify ---

@pytest.mark.skipif(NODE is None, reason="node is not installed: the Node state adapter was not exercised")
def test_the_correct_handler_with_the_node_adapter_gets_no_finding(shops: dict[str, Shop]) -> None:
    ran = check_notify(shops["none"], "--state-cmd", shops["none"].state_cmd, "--format", "json")
    assert ran.code == 0, ran.out[-3000:] + ran.err
    report = json.loads(ran.out)
    assert report["findings"] == [] and report["summary"]["by_endpoint"]["notify"]["exchanges"] > 20


def test_the_correct_handler_with_the_url_adapter_gets_no_finding(shops: dict[str, Shop]) -> None:
    ran = check_notify(shops["none"], "--state-url", shops["none"].state)
    assert ran.code == 0, ran.out[-3000:] + ran.err
    assert ran.out.strip().splitlines()[-1].startswith("PASS") and "order: credited" in ran.out


def test_a_handler_that_refuses_unknown_orders_passes_without_a_trade_no(shops: dict[str, Shop]) -> None:
    ran = check_notify(shops["none"])
    assert ran.code == 0, ran.out
    assert "generated tradeNo" in ran.out


EXPECTED = {  # flaw -> the effect rules that must name it
    "partial-in-full": {"notify.effect.overcredit"},
    "amount-unchecked": {"notify.effect.overcredit"},
    "no-final-state": {"notify.effect.final-changed"},
    "ok-then-nothing": {"notify.effect.ack-dropped", "notify.forgery-acknowledged"},
    "double-credit": {"notify.effect.double-credit"},
    "no-sign-check": {"notify.effect.forged-changed", "notify.accepts-bad-sign"},
    "credit-on-failure": {"notify.effect.credited-on-failure"},
}


@pytest.mark.parametrize("flaw", FLAWS)
def test_each_flaw_is_named_by_its_effect_rule(shops: dict[str, Shop], flaw: str) -> None:
    shop = shops[flaw]
    # The flawed shops through the HTTP adapter (the correct one runs with the Node adapter, whose every read is
    # a process); every flaw in the JSON report and in the text one.
    ran = check_notify(shop, "--state-url", shop.state, "--format", "json")
    rules = set(json.loads(ran.out)["summary"]["by_rule"])
    assert EXPECTED[flaw] <= rules, (flaw, rules)
    assert ran.code == 1
    text = check_notify(shop, "--state-url", shop.state).out
    for rule in EXPECTED[flaw]:
        assert rule in text
    if flaw == "partial-in-full":
        assert "200 was paid (0001, a partial payment) and 500 was credited" in text


def test_an_ok_to_a_forgery_that_changed_nothing_is_a_warning_not_the_error(shops: dict[str, Shop]) -> None:
    ran = check_notify(shops["ok-then-nothing"], "--state-url", shops["ok-then-nothing"].state, "--format", "json")
    rules = json.loads(ran.out)["summary"]["by_rule"]
    assert "notify.accepts-bad-sign" not in rules and rules["notify.forgery-acknowledged"] == 3


@pytest.mark.parametrize(("adapter", "words"), [
    (f"{sys.executable} -c 'import sys; sys.exit(3)'", "exited with code 3"),
    (f"{sys.executable} -c 'print(42)'", "credited"),
    (f"{sys.executable} -c 'print(\"not json\")'", "not one JSON object"),
    ("/nonexistent/adapter", "cannot start"),
])
def test_a_broken_adapter_is_exit_2_with_one_line(shops: dict[str, Shop], adapter: str, words: str) -> None:
    ran = check_notify(shops["none"], "--state-cmd", adapter)
    assert ran.one_line_error() and words in ran.err, ran.err


def test_a_broken_state_url_is_exit_2_with_one_line(shops: dict[str, Shop]) -> None:
    ran = check_notify(shops["none"], "--state-url", f"http://127.0.0.1:{shops['none'].port}/nothing-here")
    assert ran.one_line_error() and "HTTP 404" in ran.err


def test_a_hanging_adapter_is_bounded() -> None:
    from vexora_conformance.doors.state import CommandState, StateError

    started = time.monotonic()
    with pytest.raises(StateError, match="did not finish within 1 s"):
        CommandState(f"{sys.executable} -c 'import time; time.sleep(60)'", timeout=1).read("T")
    assert time.monotonic() - started < 10


def test_an_adapter_that_prints_without_end_is_bounded() -> None:
    from vexora_conformance.doors.state import CommandState, StateError

    with pytest.raises(StateError, match="more than 64 KiB"):
        CommandState(f"{sys.executable} -c 'print(\"x\" * 10**6)'").read("T")


def test_trade_no_and_an_adapter_do_not_mix(shops: dict[str, Shop]) -> None:
    ran = check_notify(shops["none"], "--state-url", shops["none"].state, "--trade-no", "T", "--amount", "1")
    assert ran.one_line_error() and "fresh order" in ran.err


# --- serve ---

def _serve(shop: Shop) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "vexora_conformance", "serve", "--notify-retry-scale", "0.001",
                             "--state-url", shop.state], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "VEXORA_SECRET": SECRET})
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def _order_paid_through_serve(shop: Shop, base: str, trade_no: str, variants: list[str]) -> dict[str, Any]:
    httpx.post(shop.state, json={"tradeNo": trade_no, "amount": "300"})  # the merchant's own order
    body = signed_body(SECRET, tradeNo=trade_no, amount="300", notifyUrl=shop.notify)
    assert httpx.post(f"{base}/v1/vexora/checkout", json=body,
                      headers={"merchantNo": "1000000001"}).json()["code"] == "0000"
    assert httpx.post(f"{base}/__vexora__/pay", json={"tradeNo": trade_no, "variants": variants}).status_code == 200
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        report = httpx.get(f"{base}/__vexora__/findings").json()
        if report["summary"]["by_endpoint"].get("notify", {}).get("exchanges", 0) >= 1 + len(variants):
            return report  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError("the notifications were not delivered")


@pytest.mark.parametrize(("flaw", "rule"), [("none", None), ("double-credit", "notify.effect.double-credit"),
                                            ("no-sign-check", "notify.effect.forged-changed"),
                                            ("ok-then-nothing", "notify.effect.ack-dropped")])
def test_serve_reads_the_state_after_each_delivery(shops: dict[str, Shop], flaw: str, rule: str | None) -> None:
    proc, base = _serve(shops[flaw])
    try:
        report = _order_paid_through_serve(shops[flaw], base, f"SERVE-{flaw}", ["duplicate", "bad-sign"])
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    rules = {f["rule"] for f in report["findings"]}
    if rule is None:
        assert rules == set(), report["findings"]
    else:
        assert rule in rules, rules


def test_serve_sends_the_variants_even_when_the_first_was_not_acknowledged(shops: dict[str, Shop]) -> None:
    """The correct shop refuses an order it does not have: serve still tests it on the repeat and the forgery."""
    proc, base = _serve(shops["none"])
    try:
        body = signed_body(SECRET, tradeNo="NOT-IN-SHOP", amount="300", notifyUrl=shops["none"].notify)
        httpx.post(f"{base}/v1/vexora/checkout", json=body, headers={"merchantNo": "1000000001"})
        httpx.post(f"{base}/__vexora__/pay", json={"tradeNo": "NOT-IN-SHOP", "variants": ["duplicate", "bad-sign"]})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = httpx.get(f"{base}/__vexora__/findings").json()
            if found["summary"]["by_endpoint"].get("notify", {}).get("exchanges", 0) >= 3:
                break
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    messages = [f["message"] for f in found["findings"]]
    assert found["summary"]["by_endpoint"]["notify"]["exchanges"] >= 3
    assert not any("a repeat of an acknowledged notification" in m for m in messages)


# --- the pytest plugin ---

PLUGIN_TEST = """
import json
import urllib.request

import pytest

class ShopState:  # the state adapter, in the merchant's own test code (urllib: the fake answers httpx calls)
    def __init__(self, url):
        self.url = url
    def create(self, trade_no, amount):
        data = json.dumps({"tradeNo": trade_no, "amount": amount}).encode()
        urllib.request.urlopen(urllib.request.Request(self.url, data=data, method="POST")).read()
    def read(self, trade_no):
        with urllib.request.urlopen(f"{self.url}?tradeNo={trade_no}") as answer:
            return json.loads(answer.read())

@pytest.mark.vexora(secret="SECRET")  # the app secret the shop verifies with
def test_handler(vexora_mock):
    result = vexora_mock.check_notification_handler("NOTIFY", state=ShopState("STATE"))
    assert result.cases
"""


@pytest.mark.parametrize(("flaw", "rule"), [("none", None), ("partial-in-full", "notify.effect.overcredit")])
def test_the_plugin_runs_the_battery_in_process(pytester: pytest.Pytester, shops: dict[str, Shop], flaw: str,
                                                rule: str | None) -> None:
    shop = shops[flaw]
    pytester.makepyfile(PLUGIN_TEST.replace("NOTIFY", shop.notify).replace("STATE", shop.state)
                        .replace("SECRET", SECRET))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    if rule is None:
        result.assert_outcomes(passed=1)
    else:
        result.assert_outcomes(passed=1, errors=1)  # the test body passed; the fake fails it at teardown
        assert rule in result.stdout.str()


def test_deliver_notification_posts_at_the_orders_own_path() -> None:
    from vexora_conformance.contract import signing
    from vexora_conformance.doors.fake.mock import fake_provider

    def app(environ: Any, start_response: Any) -> list[bytes]:
        ok = environ["PATH_INFO"] == "/vexora/notify"
        start_response("200 OK" if ok else "404 Not Found", [("Content-Type", "text/plain")])
        return [b"OK" if ok else b"no"]

    with fake_provider(secret=SECRET, check=False) as fake:
        body = signed_body(SECRET, tradeNo="PATH-1", notifyUrl="https://shop.example/vexora/notify")
        body["sign"] = signing.sign({k: v for k, v in body.items() if k != "sign"}, SECRET)
        httpx.post("https://h.example/v1/vexora/checkout", json=body, headers={"merchantNo": "1000000001"})
        fake.pay("PATH-1")
        assert fake.deliver_notification(app, "PATH-1").acknowledged


def test_the_client_s_reaction_to_the_query_is_judged() -> None:
    """A client job in the shape of the public one: it rejects a pending order on an envelope 8000 and approves
    0001 in full. Both are named; a correct job gets nothing."""
    from vexora_conformance.doors.fake.mock import fake_provider

    orders: dict[str, dict[str, str]] = {}

    class State:
        def create(self, trade_no: str, amount: str) -> None:
            orders[trade_no] = {"credited": "0", "status": "pending", "amount": amount}

        def read(self, trade_no: str) -> dict[str, str]:
            return {k: v for k, v in orders[trade_no].items() if k != "amount"}

    def job(flawed: bool) -> Any:
        def poll() -> None:
            query = {"tradeNo": "Q-1", "timestamp": str(int(time.time() * 1000))}
            from vexora_conformance.contract import signing
            query["sign"] = signing.sign(query, SECRET)
            answer = httpx.post("https://h.example/v1/vexora/queryPayInResult", json=query,
                                headers={"merchantNo": "1000000001"}).json()
            order = orders["Q-1"]
            if answer["code"] != "0000":
                if flawed:
                    order["status"] = "rejected"
                return
            status = answer["data"]["status"]
            if status == "0001":
                order["credited"] = order["amount"] if flawed else answer["data"]["receivedAmount"]
        return poll

    for flawed in (False, True):
        with fake_provider(secret=SECRET, check=False) as fake:
            body = signed_body(SECRET, tradeNo="Q-1", amount="500")
            httpx.post("https://h.example/v1/vexora/checkout", json=body, headers={"merchantNo": "1000000001"})
            State().create("Q-1", "500")
            found = fake.check_query_reaction("Q-1", State(), job(flawed))
        rules = sorted({f.rule for f in found})
        assert rules == (["query.effect.error-changed", "query.effect.overcredit"] if flawed else []), found


def test_a_replayed_recording_with_a_state_adapter_finds_what_a_regressed_handler_does_to_the_money(
        shops: dict[str, Shop], tmp_path: Path) -> None:
    """Notifications recorded by listen in front of the correct shop, replayed at the one that credits each 0000
    again: the answers are the same (OK), only the money shows the regression."""
    from vexora_conformance.contract.signing import Secret
    from vexora_conformance.doors.notify import url_sender
    from vexora_conformance.doors.notify_check import battery
    from vexora_conformance.doors.recording import Recorder, Redactor, Rewriter
    from vexora_conformance.doors.relay import RelayServer
    from vexora_conformance.doors.replay import ReplayOptions, replay
    from vexora_conformance.doors.state import UrlState
    from vexora_conformance.judge.exchange import JudgeOptions

    recording = tmp_path / "notifications.jsonl"
    correct = shops["none"]
    trade_no = f"replay-{time.time_ns()}"
    UrlState(correct.state).create(trade_no, "500")
    relay = RelayServer(("127.0.0.1", 0), correct.notify, JudgeOptions(secret=Secret(SECRET)),
                        recorder=Recorder(str(recording), Rewriter(Redactor(), None)))
    thread = threading.Thread(target=relay.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        battery(url_sender(), relay.base_url + "/vexora/notify", Secret(SECRET), trade_no, "500", 5.0)
    finally:
        relay.shutdown()
        relay.server_close()
    outcomes = {flaw: replay(str(recording), ReplayOptions(shops[flaw].notify, Secret(SECRET), Secret(SECRET),
                                                           state=UrlState(shops[flaw].state)))
                for flaw in ("none", "double-credit")}
    assert not any(".effect." in rule or rule == "replay.changed" for rule in outcomes["none"].by_rule), [
        f.message for f in outcomes["none"].findings]
    assert "notify.effect.double-credit" in outcomes["double-credit"].by_rule
