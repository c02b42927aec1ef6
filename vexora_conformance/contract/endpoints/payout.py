"""The pay-out (``POST /v1/vexora/disbursements``): money from the merchant's balance to a beneficiary."""

from __future__ import annotations

from typing import Any

from ...core.findings import Kind
from ..books import PROCESSING, BooksFull, Refused
from ..endpoint import Asked, Endpoint, Words, refusal, spec_beside, success
from ._answers import echoed


def answer(asked: Asked) -> dict[str, Any]:
    """Freeze the amount and open the pay-out in 0015; refuse a repeated tradeNo or too little balance."""
    platform = asked.platform_trade_no()
    try:
        order = asked.books.open_pay_out(asked.body, platform, asked.market)
    except Refused as why:
        return refusal("8000", str(why))
    except BooksFull as full:
        return refusal("5000", str(full))
    if asked.status not in (None, PROCESSING):  # a queued scenario: the pay-out fails (or pays) at once
        asked.books.finish_pay_out(order.trade_no, asked.status)
    data = {"tradeNo": order.trade_no, "platFormTradeNo": order.platform_trade_no, "status": order.status,
            "message": order.message}
    if asked.market == "kenya":  # Kenya's page names the provider's id serialNumber
        data["serialNumber"] = order.platform_trade_no
    return success(data)


ENDPOINT = Endpoint(
    name="payout", order=50, rule_prefix="payout.", noun="pay-out request", spec=spec_beside(__file__),
    trade_no_space="pay-out", unique_platform_trade_no=True, echo=("tradeNo",), answer_checks=(echoed,),
    fake=answer,
    words={
        Kind.TRADE_NO_DUPLICATE: Words(
            "a pay-out tradeNo was used again by the same merchant",
            "A pay-out's tradeNo is what keeps it from being paid twice: never reuse one (the provider refuses "
            "it), and after a timeout or an envelope error ask queryPayOutResult before sending anything new."),
        Kind.AMOUNT: Words("the pay-out amount breaks the market's rule on decimals",
                           "Write the amount as the market's pay-out page does: integers where it says 'integer "
                           "only' or 'no decimals', at most two decimals where it allows them."),
    },
    coverage={
        "success": "a conformant pay-out request within the available balance",
        "status 0015": "a conformant pay-out request (frozen, processing)",
        "status failure": 'vexora_mock.fail_with_status("00029"), or vexora_mock.pay_out(trade_no, "00029")',
        "insufficient balance": "a pay-out above vexora_mock.balance.available",
        "repeated tradeNo refused": "a second pay-out request with the same tradeNo",
        "envelope 8000": 'vexora_mock.fail_with_envelope("8000")',
        "envelope 5000": 'vexora_mock.fail_with_envelope("5000", "system exception")',
        "read timeout": "vexora_mock.time_out()",
    },
)
