"""How each kind of the notification's rules is provoked (used by test_registry's every-rule test)."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import httpx

from vexora_conformance.contract import signing
from vexora_conformance.core.exchange import Exchange, Request, Response, header_map
from vexora_conformance.core.findings import Finding, Kind
from vexora_conformance.doors.effects import Step, effect_findings, forgery_acknowledged
from vexora_conformance.doors.notify import Case, deliver, judge_case
from vexora_conformance.doors.state import OrderState
from vexora_conformance.judge.exchange import JudgeOptions, judge_exchange

SECRET = "registry-secret"
OPTIONS = JudgeOptions(secret=signing.Secret(SECRET))
URL = "https://merchant.example/hooks/vexora"


def _note(**changes: Any) -> dict[str, Any]:
    b = {"platFormTradeNo": "vx1", "tradeNo": "T1", "amount": "300", "status": "0000", **changes}
    b = {k: v for k, v in b.items() if v is not ...}
    return {**b, "sign": signing.sign(b, SECRET)}


def _judged(body: Any, *, method: str = "POST", headers: dict[str, str] | None = None,
            reply: tuple[int, str] | None = None) -> list[Finding]:
    raw = body if isinstance(body, str) else json.dumps(body)
    request = Request(method, URL, header_map(headers or {"content-type": "application/json"}), raw)
    response = Response(reply[0], {}, reply[1]) if reply else None
    return judge_exchange(Exchange(request, response, endpoint="notify"), OPTIONS).findings


def _sender(status: int | None, text: str = "", error: Exception | None = None) -> Any:
    def send(url: str, body: bytes, timeout: float) -> tuple[int, str]:
        if error is not None:
            raise error
        assert status is not None
        return status, text

    return send


def provoke_notification(kind: Kind) -> list[Finding]:
    good = _note()
    if kind is Kind.METHOD:
        return _judged(good, method="PUT")
    if kind is Kind.CONTENT_TYPE:
        return _judged(good, headers={"content-type": "text/plain"})
    if kind is Kind.JSON:
        return _judged("[1]")
    if kind is Kind.REQUIRED:
        return _judged(_note(status=...))
    if kind is Kind.TYPE:
        return _judged(_note(amount=300))
    if kind is Kind.FORMAT:
        return _judged(_note(status="ok"))
    if kind is Kind.AMOUNT:
        return _judged(_note(amount="3,5"))
    if kind is Kind.DUPLICATE_KEY:
        return _judged(json.dumps(good)[:-1] + ', "amount": "1"}')
    if kind is Kind.UNKNOWN_FIELD:
        return _judged(_note(extra="x"))
    if kind is Kind.SIGN_MISSING:
        return _judged({k: v for k, v in good.items() if k != "sign"})
    if kind is Kind.SIGN_FORMAT:
        return _judged({**good, "sign": good["sign"].upper()})
    if kind is Kind.SIGN_MISMATCH:
        return _judged({**good, "sign": signing.sign(good, "another-secret")})
    if kind is Kind.SIGN_AMBIGUOUS:
        return _judged(_note(remark=None))
    if kind is Kind.REPLY:
        return _judged(good, reply=(200, "success"))
    if kind is Kind.REPLY_PADDED:
        return _judged(good, reply=(200, " OK "))
    if kind is Kind.ACCEPTS_BAD_SIGN:
        return _judged({**good, "sign": "0" * 32}, reply=(200, "OK"))
    if kind is Kind.MALFORMED_ACCEPTED:
        return _judged(_note(status=...), reply=(200, "OK"))
    raw = json.dumps(good).encode()
    if kind is Kind.SLOW:
        return deliver(_sender(None, error=httpx.ReadTimeout("slow")), URL, raw, OPTIONS, 1.0).findings
    if kind is Kind.UNREACHABLE:
        return deliver(_sender(None, error=httpx.ConnectError("refused")), URL, raw, OPTIONS, 1.0).findings
    if kind is Kind.DUPLICATE:
        return judge_case(Case("a repeat", raw, "duplicate"), deliver(_sender(200, "no"), URL, raw, OPTIONS, 1.0))
    if kind is Kind.CRASH:
        return judge_case(Case("malformed", b"{", "malformed"), deliver(_sender(500, "boom"), URL, b"{", OPTIONS, 1.0))
    if kind is Kind.UNKNOWN_ORDER:
        return judge_case(Case("unknown", raw, "unknown-order"), deliver(_sender(200, "OK"), URL, raw, OPTIONS, 1.0))
    if kind is Kind.FORGERY_ACKNOWLEDGED:
        return forgery_acknowledged(_judged({**good, "sign": "0" * 32}, reply=(200, "OK")), changed=False)
    effect = _EFFECTS.get(kind)
    if effect is not None:
        step, before, after, paid = effect
        return effect_findings(step, before, after, Decimal(paid), acknowledged=True)
    raise AssertionError(f"no way to provoke {kind}")


def _state(credited: int, status: str) -> OrderState:
    return OrderState(Decimal(credited), status)


_EFFECTS = {  # kind -> (the step, the order before and after it, what was paid)
    Kind.EFFECT_OVERCREDIT: (Step("pay", "0001", Decimal(200)), _state(0, "pending"), _state(500, "paid"), 200),
    Kind.EFFECT_DOUBLE_CREDIT: (Step("repeat", "0000"), _state(500, "paid"), _state(1000, "paid"), 500),
    Kind.EFFECT_FORGED_CHANGED: (Step("forged", how="wrong"), _state(0, "pending"), _state(500, "paid"), 0),
    Kind.EFFECT_ACK_DROPPED: (Step("pay", "0000"), _state(0, "pending"), _state(0, "pending"), 500),
    Kind.EFFECT_CREDITED_ON_FAILURE: (Step("pay", "00029"), _state(0, "pending"), _state(500, "paid"), 0),
    Kind.EFFECT_FINAL_CHANGED: (Step("contradict", "00029"), _state(500, "paid"), _state(0, "failed"), 500),
}


def provoke_query_reaction(kind: Kind) -> list[Finding]:
    """A client job that gets each reaction wrong: it rejects on an envelope, credits 0015 and 0001 in full."""
    from tests.helpers import signed_body
    from vexora_conformance.doors.fake.mock import fake_provider

    orders = {"R1": {"credited": "0", "status": "pending"}}

    class State:
        def create(self, trade_no: str, amount: str) -> None: ...

        def read(self, trade_no: str) -> dict[str, str]:
            return dict(orders[trade_no])

    def poll() -> None:
        query = {"tradeNo": "R1", "timestamp": str(int(time.time() * 1000))}
        query["sign"] = signing.sign(query, SECRET)
        answer = httpx.post("https://h.example/v1/vexora/queryPayInResult", json=query,
                            headers={"merchantNo": "1000000001"}).json()
        if answer["code"] != "0000":
            orders["R1"]["status"] = "rejected"
        elif answer["data"]["status"] in ("0015", "0001"):
            orders["R1"]["credited"] = str(int(orders["R1"]["credited"]) + 500)

    with fake_provider(secret=SECRET, check=False) as fake:
        httpx.post("https://h.example/v1/vexora/checkout", json=signed_body(SECRET, tradeNo="R1", amount="500"),
                   headers={"merchantNo": "1000000001"})
        return fake.check_query_reaction("R1", State(), poll)
