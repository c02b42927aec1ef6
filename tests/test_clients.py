"""Merchant clients in the shape of the two public integrations, run as a new user would: through ``serve`` at
their market's prefix, then ``validate`` on the capture the client wrote. Each request is judged by its own
endpoint and market, the planted mistakes are named, and the two doors give the same findings."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import running_server
from vexora_conformance.contract import signing
from vexora_conformance.doors.validate import validate
from vexora_conformance.judge.exchange import JudgeOptions

ROOT = Path(__file__).resolve().parents[1]
CLIENT = ROOT / "examples" / "clients" / "bangladesh_client.mjs"
SECRET, MERCHANT = "bangladesh-sandbox-secret", "1000000001"
MISTAKES = ["repeat-payout-tradeno", "decimal-payout", "secret-first-payout", "no-wallet-payout", "myanmar-submit-path"]
node = shutil.which("node")
needs_node = pytest.mark.skipif(node is None, reason="node is not installed on this machine: the TypeScript-style "
                                                    "Bangladesh client was not run")


def _run(tmp_path: Path, mistakes: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]], Path]:
    capture = tmp_path / "bangladesh.jsonl"
    with running_server(SECRET, MERCHANT) as srv:
        run = subprocess.run([str(node), str(CLIENT), f"{srv.base_url}/bangladesh", SECRET, MERCHANT, str(capture),
                              *mistakes], capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr[-2000:]
        report = httpx.get(f"{srv.base_url}/__vexora__/findings").json()
    return json.loads(run.stdout), report["findings"], capture


def _by_exchange(findings: list[Any]) -> dict[int, set[tuple[str, str | None]]]:
    out: dict[int, set[tuple[str, str | None]]] = {}
    for f in findings:
        d = f if isinstance(f, dict) else f.to_dict()
        out.setdefault(d["index"], set()).add((d["rule"], d["pointer"]))
    return out


@needs_node
def test_a_correct_bangladesh_client_is_clean_in_serve_and_in_validate(tmp_path: Path) -> None:
    result, served, capture = _run(tmp_path, [])
    assert result == {"deposit": "0000", "submitted": True, "payout": "0015", "status": "0015",
                      "available": 999700.0}
    assert served == []
    outcome = validate([str(capture)], JudgeOptions(secret=signing.Secret(SECRET), merchant_no=MERCHANT))
    assert outcome.findings == [] and outcome.exchanges == 5
    assert {(c["endpoint"], c["market"], c["judged_by"]) for c in outcome.summary()["contracts"]} == {
        ("checkout", "bangladesh", "bangladesh"), ("payin-submit", "bangladesh", "bangladesh"),
        ("payout", "bangladesh", "bangladesh"), ("payout-query", "bangladesh", "shared"),
        ("balance", "bangladesh", "shared")}
    assert len(outcome.notes) == 2 and all("no bangladesh page" in n for n in outcome.notes)


@needs_node
def test_each_planted_mistake_is_named_and_validate_agrees_with_serve(tmp_path: Path) -> None:
    _, served, capture = _run(tmp_path, MISTAKES)
    outcome = validate([str(capture)], JudgeOptions(secret=signing.Secret(SECRET), merchant_no=MERCHANT))
    live, recorded = _by_exchange(served), _by_exchange(outcome.findings)
    assert live == recorded
    assert live == {
        1: {("payin-submit.request.advice", None)},  # Myanmar's spelling of the path
        3: {("payout.trade-no.duplicate", "/tradeNo")},  # the same pay-out again
        4: {("payout.request.advice", "/amount")},  # "decimals are not recommended" on Bangladesh's page
        5: {("payout.sign.mismatch", "/sign")},
        6: {("payout.request.required", "/walletId")},
    }
    mismatch = next(f for f in outcome.findings if f.rule == "payout.sign.mismatch")
    assert "secret-prefixed" in (mismatch.hint or "")
    advice = next(f for f in outcome.findings if f.rule == "payout.request.advice")
    assert advice.basis == "[page: bangladesh/payout]" and "not recommended" in (advice.hint or "")


# --- a port of the PHP CRM's client (Korea and Cambodia), written without this package's code ---

def crm_sign(body: dict[str, Any], secret: str) -> str:
    """The CRM's signer: scalars cast to strings, nulls and empty strings skipped, sorted, key=value, secret."""
    import hashlib

    text = "".join(f"{k}={body[k]}" for k in sorted(body) if k != "sign" and body[k] not in (None, ""))
    return hashlib.md5((text + secret).encode()).hexdigest()


class CrmClient:
    """VexoraService of the CRM: Korea adds subMerchantNo to every body; Cambodia does not."""

    def __init__(self, base: str, region: str, capture: Path) -> None:
        self.base, self.region, self.capture = base, region, capture

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        import time

        body = {**body, "timestamp": str(int(time.time() * 1000))}
        if self.region == "korea":
            body["subMerchantNo"] = "SUB0001"
        body["sign"] = crm_sign(body, SECRET)
        url = f"{self.base}{path}"
        r = httpx.post(url, json=body, headers={"merchantNo": MERCHANT})
        with self.capture.open("a") as f:
            f.write(json.dumps({"request": {"method": "POST", "url": url, "headers": {
                "Content-Type": "application/json", "merchantNo": MERCHANT}, "body": json.dumps(body)},
                "response": {"status": r.status_code, "headers": {}, "body": r.text}, "time": time.time()}) + "\n")
        return dict(r.json())


def _crm_run(tmp_path: Path, market_path: str, region: str, deposit: dict[str, Any],
             withdrawal: dict[str, Any]) -> tuple[list[Any], Any]:
    capture = tmp_path / f"{region}.jsonl"
    with running_server(SECRET, MERCHANT) as srv:
        client = CrmClient(f"{srv.base_url}/{market_path}", region, capture)
        answer = client.post("/v1/vexora/checkout", deposit)
        assert answer["data"] is None or answer["data"].get("paymentUrl")  # the page's field, by default
        client.post("/v1/vexora/disbursements", withdrawal)
        client.post("/v1/vexora/queryPayOutResult", {"tradeNo": withdrawal["tradeNo"]})
        served = httpx.get(f"{srv.base_url}/__vexora__/findings").json()["findings"]
    outcome = validate([str(capture)], JudgeOptions(secret=signing.Secret(SECRET), merchant_no=MERCHANT))
    assert _by_exchange(served) == _by_exchange(outcome.findings)
    return served, outcome


KOREA_DEPOSIT = {"tradeNo": "KR20251124160000001", "amount": "50000", "mobile": "01012345678", "firstname": "Min",
                 "lastname": "Kim", "email": "min@example.kr", "channelCode": "EWALLET", "wayCode": "KAKAOPAY",
                 "notifyUrl": "https://crm.example/api/callback/vexora/deposit",
                 "returnUrl": "https://crm.example/done", "ipAddress": "203.0.113.9"}
KOREA_WITHDRAWAL = {"tradeNo": "KRW20251124160000001", "amount": "30000", "bankCode": "004", "bankAccountNo": "12345",
                    "customerName": "Min Kim", "mobile": "01012345678", "email": "min@example.kr",
                    "notifyUrl": "https://crm.example/api/callback/vexora/withdrawal"}
CAMBODIA_DEPOSIT = {"tradeNo": "KH20251124160000001", "amount": "25.50", "mobile": "12345678", "firstname": "Dara",
                    "lastname": "Sok", "email": "dara@example.kh", "channelCode": "KHQR", "wayCode": "KHQR",
                    "notifyUrl": "https://crm.example/api/callback/vexora/deposit",
                    "returnUrl": "https://crm.example/done", "userId": "u-1",
                    "remark": "checkout_KH20251124160000001"}
CAMBODIA_WITHDRAWAL = {"tradeNo": "KHW20251124160000001", "amount": "10.00", "userId": "u-1", "firstname": "Dara",
                       "lastname": "Sok", "mobile": "12345678", "email": "dara@example.kh", "channelCode": "BAKONG",
                       "wayCode": "BAKONG", "bankCode": "ABA", "accountNo": "000123",
                       "notifyUrl": "https://crm.example/api/callback/vexora/withdrawal",
                       "remark": "payout_KHW20251124160000001"}


def test_the_korean_crm_client_is_clean_and_its_market_fields_are_known(tmp_path: Path) -> None:
    served, outcome = _crm_run(tmp_path, "SouthKorea", "korea", KOREA_DEPOSIT, KOREA_WITHDRAWAL)
    assert served == [] and outcome.exchanges == 3  # subMerchantNo, ipAddress, channelCode: all the market's


def test_the_cambodian_crm_client_is_clean_and_its_market_fields_are_known(tmp_path: Path) -> None:
    served, outcome = _crm_run(tmp_path, "Cambodia", "cambodia", CAMBODIA_DEPOSIT, CAMBODIA_WITHDRAWAL)
    assert served == [] and outcome.exchanges == 3


def test_the_crm_clients_planted_mistakes_are_named_in_their_market(tmp_path: Path) -> None:
    korea_decimal = {**KOREA_DEPOSIT, "amount": "50000.50"}  # KRW: "integer only"
    served, _ = _crm_run(tmp_path, "SouthKorea", "korea", korea_decimal, KOREA_WITHDRAWAL)
    assert {(f["rule"], f["pointer"]) for f in served} == {("request.amount", "/amount")}
    no_remark = {k: v for k, v in CAMBODIA_DEPOSIT.items() if k != "remark"}  # required on Cambodia's page
    served, _ = _crm_run(tmp_path, "Cambodia", "cambodia", no_remark, CAMBODIA_WITHDRAWAL)
    assert {(f["rule"], f["pointer"]) for f in served} == {("request.required", "/remark")}
