"""Small helpers shared by the test modules."""

from __future__ import annotations

import time
from typing import Any

from vexora_conformance.contract import signing


def signed_body(secret: str, **changes: Any) -> dict[str, Any]:
    """A documented-valid body stamped now, with a fresh tradeNo, signed with ``secret`` after ``changes``."""
    body: dict[str, Any] = {"timestamp": str(int(time.time() * 1000)), "tradeNo": f"T{time.time_ns()}",
                            "amount": "300", "notifyUrl": "https://shop.example/n", "remark": "r"}
    body.update(changes)
    body["sign"] = signing.sign(body, secret)
    return body
