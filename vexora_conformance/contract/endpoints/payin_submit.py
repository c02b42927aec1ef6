"""Pay-in submit (``POST /v1/vexora/payinSubmit``, ``payInSubmit`` in Myanmar): the payer's transaction id for
a pay-in that a Checkout or a deposit opened."""

from __future__ import annotations

from typing import Any

from ...core.findings import Kind
from ..endpoint import Asked, Endpoint, Words, refusal, spec_beside, success


def answer(asked: Asked) -> dict[str, Any]:
    """``data: true`` for a pay-in the fake opened; the envelope 8000 otherwise (the page: "being processed")."""
    if asked.books.pay_in_by_platform(asked.body.get("platFormTradeNo")) is None:
        return refusal("8000", "order not found")
    return success(True)


ENDPOINT = Endpoint(
    name="payin-submit", order=40, rule_prefix="payin-submit.", noun="pay-in submit",
    spec=spec_beside(__file__), fake=answer,
    words={
        Kind.PATH: Words("the path of the pay-in submit is neither /v1/vexora/payinSubmit nor the market's spelling",
                         "Send the spelling of your market's page: /v1/vexora/payinSubmit (bangladesh), "
                         "/v1/vexora/payInSubmit (myanmar)."),
    },
    coverage={
        "success": "a conformant pay-in submit of a pay-in the fake opened",
        "envelope 8000": "a pay-in submit of an unknown platFormTradeNo, or vexora_mock.fail_with_envelope()",
    },
)
