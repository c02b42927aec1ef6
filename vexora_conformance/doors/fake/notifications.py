"""The provider's notification of a pay-in or a pay-out: one signed format for both (the notification spec)."""

from __future__ import annotations

from typing import Any

from ...contract import signing
from ...contract.books import PayIn, PayOut


def notification(order: PayIn | PayOut, secret: signing.Secret, status: str | None = None,
                 amount: str | None = None) -> dict[str, Any]:
    """The signed notification for an order: its last payment's status and amount unless given.

    Only the fields the page documents are sent (platFormTradeNo, tradeNo, amount, status) and the sign; the
    fields one integration lists (message, successTime, timestamp) are left out, so a handler that needs them
    fails here first (the notification spec's open questions).
    """
    if isinstance(order, PayIn) and order.payments:
        last = order.payments[-1]
    else:
        last = {"amount": order.amount, "status": order.status}
    body: dict[str, Any] = {"platFormTradeNo": order.platform_trade_no, "tradeNo": order.trade_no,
                            "amount": amount if amount is not None else last["amount"],
                            "status": status if status is not None else last["status"]}
    body["sign"] = signing.sign(body, secret)
    return body
