"""Checkout: a pay-in through the provider's cashier page (``POST /v1/vexora/checkout``)."""

from __future__ import annotations

from typing import Any

from ..books import PROCESSING, BooksFull
from ..endpoint import Asked, Endpoint, refusal, spec_beside, success
from ._answers import echoed, text


def answer(asked: Asked) -> dict[str, Any]:
    """Open the pay-in in 0015 (or the queued status) and answer with the cashier's link."""
    status = asked.status or PROCESSING
    platform = asked.platform_trade_no()
    try:
        asked.books.open_pay_in(asked.body, platform, asked.market, status)
    except BooksFull as full:
        return refusal("5000", str(full))
    data: dict[str, Any] = {"tradeNo": text(asked.body.get("tradeNo")), "platFormTradeNo": platform,
                            "status": status, "desc": "Create" if status == PROCESSING else "Failed",
                            "remark": text(asked.body.get("remark"))}
    link = f"{asked.base_url.rstrip('/')}/cashier/#/order/{platform}"
    # The page names the link paymentUrl, both integrations read paymentLink: the merchant chooses which to test.
    if asked.link_field in ("paymentUrl", "both"):
        data["paymentUrl"] = link
    if asked.link_field in ("paymentLink", "both"):
        data["paymentLink"] = link
    return success(data)


ENDPOINT = Endpoint(
    name="checkout", order=10, rule_prefix="", noun="Checkout request", spec=spec_beside(__file__),
    trade_no_space="pay-in", unique_platform_trade_no=True, echo=("tradeNo", "remark"),
    answer_checks=(echoed,), fake=answer,
    coverage={
        "success": "a conformant Checkout request (the default answer)",
        "status 0015": "a conformant Checkout request (created, processing)",
        "status failure": 'vexora_mock.fail_with_status("00029")',
        "envelope 8000": 'vexora_mock.fail_with_envelope("8000")',
        "envelope 5000": 'vexora_mock.fail_with_envelope("5000", "system exception")',
        "HTTP 5xx": "vexora_mock.fail_with_http(503)",
        "not JSON": "vexora_mock.answer_not_json()",
        "connection error": "vexora_mock.fail_to_connect()",
        "read timeout": "vexora_mock.time_out()",
        "slow answer": "vexora_mock.respond_slowly(seconds)",
    },
)
