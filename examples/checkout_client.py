"""A small, honest httpx client for the Vexora Checkout API, the way a merchant would write one.

It signs with its own code (not vexora-conformance's), so the fake provider judges it independently.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx


class CheckoutError(Exception):
    """The provider refused the request or could not be reached."""


@dataclass(frozen=True)
class PaymentLink:
    trade_no: str
    platform_trade_no: str
    status: str
    payment_url: str


def sign(params: dict[str, Any], secret: str) -> str:
    """Sorted key=value pairs (no separator, empty values skipped), then the secret; MD5, lower-case hex."""
    pairs = "".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign" and v != "")
    return hashlib.md5((pairs + secret).encode("utf-8")).hexdigest()


def new_trade_no() -> str:
    """The page's suggested format: YYYYMMDDHHMMSS + random digits."""
    return datetime.now(UTC).strftime("%Y%m%d%H%M%S") + f"{secrets.randbelow(10**6):06d}"


class CheckoutClient:
    def __init__(self, base_url: str, merchant_no: str, secret: str, http: httpx.Client | None = None) -> None:
        self.url = base_url.rstrip("/") + "/v1/vexora/checkout"
        self.merchant_no = merchant_no
        self._secret = secret
        self.http = http or httpx.Client(timeout=10)

    def create_payment(self, amount: int, notify_url: str, **optional: str) -> PaymentLink:
        body: dict[str, Any] = {"timestamp": str(int(time.time() * 1000)), "tradeNo": new_trade_no(),
                                "amount": str(amount), "notifyUrl": notify_url}
        body.update({k: v for k, v in optional.items() if v is not None})
        body["sign"] = sign(body, self._secret)
        try:
            response = self.http.post(self.url, json=body, headers={"merchantNo": self.merchant_no})
        except httpx.TransportError as exc:
            raise CheckoutError(f"provider unreachable: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise CheckoutError(f"provider answered HTTP {response.status_code}")
        try:
            envelope = response.json()
        except ValueError:
            raise CheckoutError("provider answered something that is not JSON") from None
        if envelope.get("code") != "0000" or not isinstance(envelope.get("data"), dict):
            raise CheckoutError(f"provider refused the request: {envelope.get('code')} {envelope.get('msg')}")
        data = envelope["data"]
        if data.get("status") not in ("0000", "0001", "0015"):
            raise CheckoutError(f"payment failed with status {data.get('status')}")
        return PaymentLink(data["tradeNo"], data["platFormTradeNo"], data["status"], data["paymentUrl"])
