"""The pay-in status query (``POST /v1/vexora/queryPayInResult``): what became of a Checkout or a deposit."""

from __future__ import annotations

from typing import Any

from ...core.findings import Kind, Severity
from ..endpoint import Asked, Endpoint, Words, refusal, spec_beside, success
from ._answers import echoed


def answer(asked: Asked) -> dict[str, Any]:
    """Answer from the pay-in as it stands (the queued status, if any, instead of its own)."""
    order = asked.books.pay_in(asked.body.get("tradeNo"))
    if order is None:
        return refusal("8000", "order not found")
    status = asked.status or order.status
    return success({"tradeNo": order.trade_no, "platFormTradeNo": order.platform_trade_no, "status": status,
                    "message": order.message if status == order.status else "Fail", "amount": order.amount,
                    "receivedAmount": order.received_amount, "paymentList": [dict(p) for p in order.payments]})


ENDPOINT = Endpoint(
    name="query", order=20, rule_prefix="query.", noun="pay-in status query", spec=spec_beside(__file__),
    echo=("tradeNo",), answer_checks=(echoed,), fake=answer,
    words={
        Kind.MERCHANT_NO: Words("the merchantNo header of the pay-in status query is missing, empty or not the "
                                "expected merchant",
                                "Send your merchant number in the 'merchantNo' header: Mexico's page marks it "
                                "not required for the query, every other market requires it."),
        Kind.UNKNOWN_FIELD: Words("the pay-in status query has a field the page does not document",
                                  "The query takes tradeNo, timestamp and sign only; every field sent is signed."),
    },
    # what the client's code did to the order after an answer of the query (read through the state adapter)
    own_rules={
        Kind.EFFECT_ERROR_CHANGED: (Severity.ERROR, Words(
            "the order changed after the status query failed (an error envelope or a timeout)",
            "An envelope error (8000: the request was refused, 5000: the provider's own error) or a timeout says "
            "nothing about the payment: leave the order as it is and ask again later.")),
        Kind.EFFECT_OVERCREDIT: (Severity.ERROR, Words(
            "the order was credited more than the status query says was paid",
            "0001 is a partial payment: credit receivedAmount, not the order's amount.")),
        Kind.EFFECT_CREDITED_ON_FAILURE: (Severity.ERROR, Words(
            "the order was credited after the status query answered a failure status",
            "Credit only on 0000 (in full) or 0001 (what was received); 0015 is still processing.")),
    },
    coverage={
        "success": "a conformant status query of an order the fake knows",
        "status 0000": 'vexora_mock.pay(trade_no) then the status query',
        "status 0001": 'vexora_mock.pay(trade_no, "0001", smaller) then the status query',
        "status 0015": "the status query of an order not yet paid",
        "status failure": 'vexora_mock.pay(trade_no, "00029") then the status query',
        "envelope 8000": 'vexora_mock.fail_with_envelope("8000") before the query',
        "envelope 5000": 'vexora_mock.fail_with_envelope("5000", "system exception") before the query',
        "read timeout": "vexora_mock.time_out() before the query",
    },
)
