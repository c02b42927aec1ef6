"""The fake provider's order book: what a Checkout created, what was paid, what a query and a notification say.

A successful Checkout opens an order in state ``0015`` (processing). A scripted
payment moves it on: ``0000`` paid, ``0001`` partly paid (a smaller amount), any
other status a failure (``00029``). The status query answers from the order; the
notification is the signed message the provider POSTs to the order's notifyUrl.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ...contract import signing

PAID, PARTIAL, PROCESSING = "0000", "0001", "0015"
MESSAGES = {PAID: "Success", PARTIAL: "Partial payment", PROCESSING: "Create"}


@dataclass
class Order:
    trade_no: str
    amount: str
    notify_url: str | None
    platform_trade_no: str
    status: str = PROCESSING
    received_amount: str = "0"  # the first successful payment only, as the page documents
    payments: list[dict[str, str]] = field(default_factory=list)

    @property
    def message(self) -> str:
        return MESSAGES.get(self.status, "Fail")


class OrderBook:
    """Orders by tradeNo, safe to use from the loopback server's threads."""

    def __init__(self) -> None:
        self._orders: dict[str, Order] = {}
        self._lock = threading.Lock()

    def open(self, body: dict[str, Any], platform_trade_no: str, status: str = PROCESSING) -> None:
        trade_no, amount, notify_url = body.get("tradeNo"), body.get("amount"), body.get("notifyUrl")
        if not isinstance(trade_no, str) or not trade_no:
            return
        with self._lock:
            self._orders[trade_no] = Order(trade_no, amount if isinstance(amount, str) else str(amount),
                                           notify_url if isinstance(notify_url, str) else None, platform_trade_no,
                                           status)

    def get(self, trade_no: Any) -> Order | None:
        with self._lock:
            return self._orders.get(trade_no) if isinstance(trade_no, str) else None

    def pay(self, trade_no: str, status: str = PAID, amount: str | None = None) -> Order:
        """Record a payment (or a failed attempt); ``ValueError`` says why it cannot be."""
        if not isinstance(status, str) or not status.isascii() or not status.isdigit() or len(status) > 10:
            raise ValueError("status must be a status code of digits, like 0000, 0001 or 00029")
        if amount is not None and (not isinstance(amount, str) or not amount.isascii() or not amount.isdigit()):
            raise ValueError("amount must be a string of digits, like the Checkout amount")
        with self._lock:
            order = self._orders.get(trade_no)
            if order is None:
                raise ValueError(f"no order with tradeNo {trade_no!r}: create it with a Checkout request first")
            if status == PARTIAL and (amount is None or int(amount) >= int(order.amount or "0")):
                raise ValueError("a partial payment (0001) needs an amount smaller than the order's")
            paid = amount if amount is not None else order.amount
            if status in (PAID, PARTIAL) and not any(p["status"] in (PAID, PARTIAL) for p in order.payments):
                order.received_amount = paid
            order.payments.append({"amount": paid, "status": status, "time": str(int(time.time() * 1000))})
            order.status = status
            return order

    def clear(self) -> None:
        with self._lock:
            self._orders.clear()


def query_data(order: Order) -> dict[str, Any]:
    """``data`` of the status query's answer, from the order as it stands."""
    return {"tradeNo": order.trade_no, "platFormTradeNo": order.platform_trade_no, "status": order.status,
            "message": order.message, "amount": order.amount, "receivedAmount": order.received_amount,
            "paymentList": [dict(p) for p in order.payments]}


def notification(order: Order, secret: signing.Secret, status: str | None = None,
                 amount: str | None = None) -> dict[str, Any]:
    """The signed notification for an order: its last payment's status and amount unless given.

    Only the fields the page documents are sent (platFormTradeNo, tradeNo, amount, status) and
    the sign; the fields one integration lists (message, successTime, timestamp) are left out,
    so a handler that needs them fails here first (spec/notify.md, open questions).
    """
    last = order.payments[-1] if order.payments else {"amount": order.amount, "status": order.status}
    body: dict[str, Any] = {"platFormTradeNo": order.platform_trade_no, "tradeNo": order.trade_no,
                            "amount": amount if amount is not None else last["amount"],
                            "status": status if status is not None else last["status"]}
    body["sign"] = signing.sign(body, secret)
    return body
