"""How a merchant tests their Checkout client with the vexora_mock fixture (no conftest needed)."""

from __future__ import annotations

import httpx
import pytest

from examples.checkout_client import CheckoutClient, CheckoutError


@pytest.fixture
def client(vexora_mock) -> CheckoutClient:  # type: ignore[no-untyped-def]
    return CheckoutClient(vexora_mock.base_url, vexora_mock.merchant_no, vexora_mock.secret.reveal())


def test_creates_a_payment_link(client: CheckoutClient, vexora_mock) -> None:  # type: ignore[no-untyped-def]
    link = client.create_payment(300, "https://shop.example/notify", remark="order 17", wayCode="va")
    assert link.status == "0015" and link.payment_url.startswith("https://")
    assert vexora_mock.calls[0].body["remark"] == "order 17"
    vexora_mock.assert_conformant()


def test_reports_an_error_envelope(client: CheckoutClient, vexora_mock) -> None:  # type: ignore[no-untyped-def]
    vexora_mock.fail_with_envelope(code="5000", msg="system exception")
    with pytest.raises(CheckoutError, match="5000"):
        client.create_payment(300, "https://shop.example/notify")


def test_reports_a_failed_payment(client: CheckoutClient, vexora_mock) -> None:  # type: ignore[no-untyped-def]
    vexora_mock.fail_with_status("00029")
    with pytest.raises(CheckoutError, match="00029"):
        client.create_payment(300, "https://shop.example/notify")


@pytest.mark.parametrize("queue", ["fail_with_http", "answer_not_json", "fail_to_connect", "time_out"])
def test_survives_a_misbehaving_provider(client: CheckoutClient, vexora_mock, queue: str) -> None:  # type: ignore[no-untyped-def]
    getattr(vexora_mock, queue)()
    with pytest.raises(CheckoutError):
        client.create_payment(300, "https://shop.example/notify")


def test_other_hosts_are_not_answered(vexora_mock) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Exception, match="not answered by the fake provider"):
        httpx.get("https://example.org/")
