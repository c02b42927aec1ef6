"""The balance query (``POST /v1/vexora/queryBalance``): available, frozen and unsettled amounts."""

from __future__ import annotations

from typing import Any

from ..endpoint import Asked, Endpoint, spec_beside, success


def answer(asked: Asked) -> dict[str, Any]:
    """The books' balance, as numbers (every stored example sends them so)."""
    b = asked.books.balance
    return success({"availableAmount": float(b.available), "freezeAmount": float(b.frozen),
                    "unsettledAmount": float(b.unsettled)})


ENDPOINT = Endpoint(
    name="balance", order=70, rule_prefix="balance.", noun="balance query", spec=spec_beside(__file__),
    fake=answer,
    coverage={
        "success": "a conformant balance query",
        "envelope 8000": 'vexora_mock.fail_with_envelope("8000") before the balance query',
        "envelope 5000": 'vexora_mock.fail_with_envelope("5000", "system exception") before the balance query',
    },
)
