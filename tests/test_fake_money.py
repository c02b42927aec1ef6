"""The fake provider moves money both ways, as the pages say: pay-outs freeze and release the balance, a pay-out
tradeNo never pays twice, the status queries answer from the books, pay-out notifications are signed and retried."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.helpers import running_server
from tests.notify_handlers import serving
from vexora_conformance.contract import signing
from vexora_conformance.doors.fake.mock import fake_provider

SECRET, MERCHANT = "money-secret", "1000000001"
BASE = "https://sandbox.vexora.example/bangladesh/v1/vexora/"
HEADERS = {"merchantNo": MERCHANT}


def _signed(b: dict[str, Any]) -> dict[str, Any]:
    b = {"timestamp": int(time.time() * 1000), **b}
    return {**b, "sign": signing.sign(b, SECRET)}


def payout(trade_no: str, amount: str = "300", notify: str = "https://merchant.example/payout") -> dict[str, Any]:
    return _signed({"tradeNo": trade_no, "amount": amount, "walletId": "01712345678", "wayCode": "BKASH",
                    "notifyUrl": notify})


def post(path: str, body: dict[str, Any], base: str = BASE, client: Any = httpx) -> dict[str, Any]:
    return dict(client.post(base + path, json=body, headers=HEADERS).json())


def balance(base: str = BASE, client: Any = httpx) -> dict[str, Any]:
    return dict(post("queryBalance", _signed({}), base, client)["data"])


def test_a_pay_out_freezes_its_amount_then_pays_or_returns_it() -> None:
    with fake_provider(secret=SECRET, merchant_no=MERCHANT, balance="1000") as fake:
        opened = post("disbursements", payout("PO1"))
        assert opened["code"] == "0000" and opened["data"]["status"] == "0015"
        assert balance() == {"availableAmount": 700.0, "freezeAmount": 300.0, "unsettledAmount": 0.0}
        assert post("queryPayOutResult", _signed({"tradeNo": "PO1"}))["data"]["status"] == "0015"
        note = fake.pay_out("PO1")  # the provider pays it
        assert note["status"] == "0000" and signing.verify(note, SECRET)
        assert balance() == {"availableAmount": 700.0, "freezeAmount": 0.0, "unsettledAmount": 0.0}
        assert post("queryPayOutResult", _signed({"tradeNo": "PO1"}))["data"]["status"] == "0000"
        post("disbursements", payout("PO2", "200"))
        fake.pay_out("PO2", "00029")  # the transfer fails: the money comes back
        assert balance()["availableAmount"] == 700.0 and balance()["freezeAmount"] == 0.0
        assert post("queryPayOutResult", _signed({"tradeNo": "PO2"}))["data"]["status"] == "00029"
        with pytest.raises(ValueError, match="already ended"):
            fake.pay_out("PO2", "0000")


def test_a_pay_out_above_the_available_balance_is_refused_and_nothing_moves() -> None:
    with fake_provider(secret=SECRET, merchant_no=MERCHANT, balance="250.00") as fake:
        refused = post("disbursements", payout("PO3", "300"))
        assert (refused["code"], refused["msg"], refused["data"]) == ("8000", "insufficient balance", None)
        assert fake.balance.available == Decimal("250.00") and fake.balance.frozen == 0
        assert fake.books.pay_out("PO3") is None


def test_the_same_pay_out_trade_no_never_pays_twice() -> None:
    with fake_provider(secret=SECRET, merchant_no=MERCHANT, balance="1000", check=False) as fake:
        assert post("disbursements", payout("PO4"))["code"] == "0000"
        again = post("disbursements", payout("PO4"))
        assert again["code"] == "8000" and "already used" in again["msg"]
        assert fake.balance.frozen == Decimal(300) and fake.balance.available == Decimal(700)
    assert [f.rule for f in fake.findings] == ["payout.trade-no.duplicate"]


def test_pay_ins_land_unsettled_and_settle_into_the_available_balance() -> None:
    with fake_provider(secret=SECRET, merchant_no=MERCHANT, balance="0") as fake:
        body = _signed({"tradeNo": "BD1", "amount": "500", "wayCode": "BKASH",
                        "notifyUrl": "https://merchant.example/n"})
        opened = post("checkout", body)
        submitted = post("payinSubmit", _signed({"platFormTradeNo": opened["data"]["platFormTradeNo"],
                                                 "trxId": "TRX1"}))
        assert submitted["data"] is True
        fake.pay("BD1")
        assert balance() == {"availableAmount": 0.0, "freezeAmount": 0.0, "unsettledAmount": 500.0}
        fake.settle()
        assert balance()["availableAmount"] == 500.0
        assert post("disbursements", payout("PO5", "500"))["code"] == "0000"


def test_the_checkout_link_field_is_the_page_s_unless_asked() -> None:
    body = _signed({"tradeNo": "BD2", "amount": "500", "wayCode": "BKASH", "notifyUrl": "https://merchant.example/n"})
    for field, names in (("paymentUrl", {"paymentUrl"}), ("paymentLink", {"paymentLink"}),
                         ("both", {"paymentUrl", "paymentLink"})):
        with fake_provider(secret=SECRET, merchant_no=MERCHANT, link_field=field):
            data = post("checkout", {**body, "tradeNo": f"BD2{field}"} | {"sign": signing.sign(
                {k: v for k, v in {**body, "tradeNo": f"BD2{field}"}.items() if k != "sign"}, SECRET)})["data"]
        assert {"paymentUrl", "paymentLink"} & set(data) == names


def test_serve_notifies_a_pay_out_s_notify_url_signed_and_retries_until_ok() -> None:
    attempts: list[dict[str, Any]] = []

    def flaky(environ: dict[str, Any], start: Any) -> Any:
        attempts.append(json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))))
        ok = len(attempts) > 1
        start("200 OK" if ok else "500 Error", [("Content-Type", "text/plain")])
        return [b"OK" if ok else b"busy"]

    with serving(flaky) as notify_url, running_server(SECRET, MERCHANT, notify_retry_scale=0.01) as srv, \
            httpx.Client(base_url=srv.base_url) as client:
        base = f"{srv.base_url}/bangladesh/v1/vexora/"
        assert post("disbursements", payout("PO6", notify=notify_url), base, client)["code"] == "0000"
        done = client.post("/__vexora__/pay-out", json={"tradeNo": "PO6", "status": "0000"}).json()
        assert done["notifying"] and done["notifyUrl"] == notify_url
        deadline = time.monotonic() + 30
        while len(attempts) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [a["status"] for a in attempts] == ["0000", "0000"]
        assert all(signing.verify(a, SECRET) for a in attempts) and attempts[0]["tradeNo"] == "PO6"
        assert client.get("/__vexora__/balance").json() == {"available": "999700.00", "frozen": "0.00",
                                                            "unsettled": "0.00"}
        time.sleep(0.2)
        rules = [f["rule"] for f in client.get("/__vexora__/findings").json()["findings"]]
    assert rules == ["notify.reply"]  # the first attempt's answer, retried; the second was OK


def test_full_books_refuse_new_orders_with_a_system_error_and_judge_on(monkeypatch: pytest.MonkeyPatch) -> None:
    from vexora_conformance.contract import books

    monkeypatch.setattr(books, "MAX_ORDERS", 2)
    with fake_provider(secret=SECRET, merchant_no=MERCHANT, check=False) as fake:
        answers = [post("disbursements", payout(f"FULL-{n}"))["code"] for n in range(3)]
    assert answers == ["0000", "0000", "5000"]  # bounded memory: a third order is refused, not kept
    assert len(fake.calls) == 3 and not fake.findings  # each request judged, none of them wrong
