"""The host-to-host deposit (``POST /v1/vexora/deposits``): a pay-in whose payer data the merchant collects."""

from __future__ import annotations

from typing import Any

from ..books import PROCESSING, BooksFull
from ..endpoint import Asked, Endpoint, refusal, spec_beside, success
from ._answers import text


def answer(asked: Asked) -> dict[str, Any]:
    """Open the pay-in in 0015; no stored page shows the payment instructions, so none are invented."""
    status = asked.status or PROCESSING
    platform = asked.platform_trade_no()
    try:
        asked.books.open_pay_in(asked.body, platform, asked.market, status)
    except BooksFull as full:
        return refusal("5000", str(full))
    data = {"tradeNo": text(asked.body.get("tradeNo")), "platFormTradeNo": platform, "status": status}
    if asked.market == "kenya":  # Kenya's page names the provider's id serialNumber
        data["serialNumber"] = platform
    return success(data)


ENDPOINT = Endpoint(
    name="deposit", order=30, rule_prefix="deposit.", noun="deposit request", spec=spec_beside(__file__),
    trade_no_space="pay-in", unique_platform_trade_no=True, fake=answer,
    coverage={
        "success": "a conformant deposit request (the default answer)",
        "status failure": 'vexora_mock.fail_with_status("00029")',
        "envelope 8000": 'vexora_mock.fail_with_envelope("8000")',
        "envelope 5000": 'vexora_mock.fail_with_envelope("5000", "system exception")',
    },
)
