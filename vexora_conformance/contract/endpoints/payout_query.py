"""The pay-out status query (``POST /v1/vexora/queryPayOutResult``): what became of a pay-out."""

from __future__ import annotations

from typing import Any

from ..endpoint import Asked, Endpoint, refusal, spec_beside, success
from ._answers import echoed


def answer(asked: Asked) -> dict[str, Any]:
    """Answer from the pay-out as it stands, naming the amounts as the market's page does."""
    order = asked.books.pay_out(asked.body.get("tradeNo"))
    if order is None:
        return refusal("8000", "order not found")
    status = asked.status or order.status
    data: dict[str, Any] = {"tradeNo": order.trade_no, "platFormTradeNo": order.platform_trade_no,
                            "status": status, "message": order.message}
    rows = {f.name: f for f in ENDPOINT.contract(asked.market).table("response")}
    names = ("orderAmount", "payAmount") if "data.orderAmount" in rows else ("amount",)
    for name in names:  # as the market's table types it: a float there is a JSON number
        data[name] = float(order.amount) if rows[f"data.{name}"].doc_type.lower() == "float" else order.amount
    row = rows.get("data.successTime")
    if order.success_time is not None or (row is not None and row.required):  # Australia's table requires it
        data["successTime"] = order.success_time or ""
    return success(data)


ENDPOINT = Endpoint(
    name="payout-query", order=60, rule_prefix="payout-query.", noun="pay-out status query",
    spec=spec_beside(__file__), echo=("tradeNo",), answer_checks=(echoed,), fake=answer,
    coverage={
        "success": "a conformant pay-out query of a pay-out the fake knows",
        "status 0015": "the pay-out query of a pay-out still processing",
        "status 0000": "vexora_mock.pay_out(trade_no) then the pay-out query",
        "status failure": 'vexora_mock.pay_out(trade_no, "00029") then the pay-out query',
        "envelope 8000": 'vexora_mock.fail_with_envelope("8000") before the pay-out query',
        "envelope 5000": 'vexora_mock.fail_with_envelope("5000", "system exception") before the pay-out query',
        "read timeout": "vexora_mock.time_out() before the pay-out query",
    },
)
