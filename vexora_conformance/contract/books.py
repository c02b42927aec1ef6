"""The provider's books, as its pages describe them: pay-in orders, pay-outs and the merchant's balance.

A pay-in (Checkout or a host-to-host deposit) opens in ``0015`` (processing); a payment moves it on: ``0000``
paid, ``0001`` partly paid (a smaller amount), any other status a failure (``00029``). What is paid lands in
the unsettled balance and reaches the available balance when settled (T+1 on the pages).

A pay-out is refused when it asks for more than the available balance; otherwise its amount is frozen and the
pay-out opens in ``0015``. It ends in ``0000`` (the frozen amount leaves) or a failure (it returns to the
available balance). A tradeNo pays out at most once: a repeat is refused and never executed again.

The fake provider keeps one ``Books`` per run; the status queries and the balance query answer from it, and the
notifications say what changed. All amounts are decimals: markets with decimals (Thailand, Malaysia) keep them.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

PAID, PARTIAL, PROCESSING, FAILED = "0000", "0001", "0015", "00029"
MESSAGES = {PAID: "Success", PARTIAL: "Partial payment", PROCESSING: "Create"}
DEFAULT_BALANCE = Decimal("1000000.00")
MAX_AMOUNT = Decimal("1e15")  # a larger amount is not money, and would make the balance's arithmetic slow


def amount_of(text: Any) -> Decimal | None:
    """A documented amount (digits, maybe decimals) as a Decimal; None for anything else."""
    if not isinstance(text, str) or not text or len(text) > 32 or not text.replace(".", "", 1).isdigit() \
            or not text.isascii():
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value <= MAX_AMOUNT else None


def money(value: Decimal) -> str:
    """An amount as the provider writes it: no exponent, the decimals it has."""
    return format(value, "f")


def is_status(value: Any) -> bool:
    return isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10


@dataclass
class PayIn:
    trade_no: str
    amount: str
    notify_url: str | None
    platform_trade_no: str
    market: str
    status: str = PROCESSING
    received_amount: str = "0"  # the first successful payment only, as the page documents
    payments: list[dict[str, str]] = field(default_factory=list)

    @property
    def message(self) -> str:
        return MESSAGES.get(self.status, "Fail")


@dataclass
class PayOut:
    trade_no: str
    amount: str
    notify_url: str | None
    platform_trade_no: str
    market: str
    status: str = PROCESSING
    success_time: str | None = None

    @property
    def message(self) -> str:
        return {PAID: "Success", PROCESSING: "In processing"}.get(self.status, "Fail")


@dataclass
class Balance:
    available: Decimal = DEFAULT_BALANCE
    frozen: Decimal = Decimal(0)
    unsettled: Decimal = Decimal(0)


class Refused(ValueError):
    """The provider refuses a request it understood (the envelope ``8000`` with this reason)."""


class BooksFull(Exception):
    """The fake's books hold as much as they may (``serve`` under a client that never resets it)."""


MAX_ORDERS = 100_000  # pay-ins and pay-outs the books hold
MAX_TEXT = 64 * 1024 * 1024  # characters of their tradeNos and notifyUrls (Mexico's page bounds neither)
FULL = (f"the fake provider's books are full ({MAX_ORDERS:,} orders or {MAX_TEXT // 2**20} MiB of their text): "
        "POST /__vexora__/reset, or start it again")


class Books:
    """Pay-ins, pay-outs and the balance, safe to use from the loopback server's threads."""

    def __init__(self, balance: Decimal = DEFAULT_BALANCE) -> None:
        self._pay_ins: dict[str, PayIn] = {}
        self._by_platform: dict[str, PayIn] = {}
        self._pay_outs: dict[str, PayOut] = {}
        self.balance = Balance(available=balance)
        self._lock = threading.Lock()
        self._text = 0  # characters held in tradeNos and notifyUrls

    def _room(self, *texts: str | None) -> None:
        """Count an order's text in, or ``BooksFull`` (called under the lock)."""
        size = sum(map(len, filter(None, texts)))
        if len(self._pay_ins) + len(self._pay_outs) >= MAX_ORDERS or self._text + size > MAX_TEXT:
            raise BooksFull(FULL)
        self._text += size

    # --- pay-ins ---

    def open_pay_in(self, body: dict[str, Any], platform_trade_no: str, market: str,
                    status: str = PROCESSING) -> PayIn | None:
        trade_no, amount, notify_url = body.get("tradeNo"), body.get("amount"), body.get("notifyUrl")
        if not isinstance(trade_no, str) or not trade_no:
            return None
        order = PayIn(trade_no, amount if isinstance(amount, str) else str(amount),
                      notify_url if isinstance(notify_url, str) else None, platform_trade_no, market, status)
        with self._lock:
            if trade_no not in self._pay_ins:
                self._room(trade_no, order.notify_url)
            self._pay_ins[trade_no] = order
            self._by_platform[platform_trade_no] = order
        return order

    def pay_in(self, trade_no: Any) -> PayIn | None:
        with self._lock:
            return self._pay_ins.get(trade_no) if isinstance(trade_no, str) else None

    def pay_in_by_platform(self, platform_trade_no: Any) -> PayIn | None:
        with self._lock:
            return self._by_platform.get(platform_trade_no) if isinstance(platform_trade_no, str) else None

    def pay(self, trade_no: str, status: str = PAID, amount: str | None = None) -> PayIn:
        """Record a payment (or a failed attempt) of a pay-in; ``ValueError`` says why it cannot be."""
        if not is_status(status):
            raise ValueError("status must be a status code of digits, like 0000, 0001 or 00029")
        paid_now = amount_of(amount) if amount is not None else None
        if amount is not None and paid_now is None:
            raise ValueError("amount must be a string of digits (decimals where the market allows them)")
        with self._lock:
            order = self._pay_ins.get(trade_no)
            if order is None:
                raise ValueError(f"no order with tradeNo {trade_no!r}: create it with a Checkout request first")
            ordered = amount_of(order.amount) or Decimal(0)
            if status == PARTIAL and (paid_now is None or paid_now >= ordered):
                raise ValueError("a partial payment (0001) needs an amount smaller than the order's")
            paid = money(paid_now) if paid_now is not None else order.amount
            if status in (PAID, PARTIAL):
                if not any(p["status"] in (PAID, PARTIAL) for p in order.payments):
                    order.received_amount = paid
                self.balance.unsettled += amount_of(paid) or Decimal(0)
            order.payments.append({"amount": paid, "status": status, "time": str(int(time.time() * 1000))})
            order.status = status
            return order

    def settle(self) -> None:
        """Move what was collected to the available balance (the pages: T+1)."""
        with self._lock:
            self.balance.available += self.balance.unsettled
            self.balance.unsettled = Decimal(0)

    # --- pay-outs ---

    def pay_out(self, trade_no: Any) -> PayOut | None:
        with self._lock:
            return self._pay_outs.get(trade_no) if isinstance(trade_no, str) else None

    def open_pay_out(self, body: dict[str, Any], platform_trade_no: str, market: str) -> PayOut:
        """Freeze the amount and open the pay-out; ``Refused`` for a repeated tradeNo or too little balance."""
        trade_no, notify_url = body.get("tradeNo"), body.get("notifyUrl")
        amount = amount_of(body.get("amount") if isinstance(body.get("amount"), str) else str(body.get("amount")))
        if not isinstance(trade_no, str) or not trade_no or amount is None:
            raise Refused("param error: tradeNo and amount are required")
        with self._lock:
            if trade_no in self._pay_outs:
                raise Refused(f"tradeNo {trade_no[:64]!r} was already used by a pay-out: it is not paid again")
            if amount > self.balance.available:
                raise Refused("insufficient balance")
            self._room(trade_no, notify_url if isinstance(notify_url, str) else None)
            self.balance.available -= amount
            self.balance.frozen += amount
            order = PayOut(trade_no, money(amount), notify_url if isinstance(notify_url, str) else None,
                           platform_trade_no, market)
            self._pay_outs[trade_no] = order
            return order

    def finish_pay_out(self, trade_no: str, status: str = PAID) -> PayOut:
        """End a processing pay-out: ``0000`` pays it, any other final code fails it (the money returns)."""
        if not is_status(status) or status in (PROCESSING, PARTIAL):
            raise ValueError("a pay-out ends in 0000 (paid) or a failure code such as 00029")
        with self._lock:
            order = self._pay_outs.get(trade_no)
            if order is None:
                raise ValueError(f"no pay-out with tradeNo {trade_no!r}: send the disbursement request first")
            if order.status != PROCESSING:
                raise ValueError(f"pay-out {trade_no!r} has already ended ({order.status}): it cannot end twice")
            amount = amount_of(order.amount) or Decimal(0)
            self.balance.frozen -= amount
            if status != PAID:
                self.balance.available += amount
            else:
                order.success_time = time.strftime("%Y-%m-%d %H:%M:%S")
            order.status = status
            return order

    def clear(self, balance: Decimal = DEFAULT_BALANCE) -> None:
        with self._lock:
            self._text = 0
            self._pay_ins.clear()
            self._by_platform.clear()
            self._pay_outs.clear()
            self.balance = Balance(available=balance)
