"""The OpenAPI 3.1 export: a valid document per market, and Schemathesis run against serve from it finds no server
error and no answer that breaks the document's own schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from tests.helpers import running_server
from vexora_conformance.contract.markets import MARKETS
from vexora_conformance.contract.registry import ENDPOINTS

ROOT = Path(__file__).resolve().parents[1]


def document(market: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((ROOT / "schemas" / market / "openapi.json").read_text())
    return doc


@pytest.mark.parametrize("market", sorted(MARKETS))
def test_each_markets_export_is_a_valid_openapi_31_document(market: str) -> None:
    validator = pytest.importorskip("openapi_spec_validator", reason="openapi-spec-validator (the [test] extra)")
    doc = document(market)
    validator.validate(doc)
    assert doc["openapi"] == "3.1.0" and "notification" in doc["webhooks"]
    assert {op["post"]["operationId"] for op in doc["paths"].values()} == {
        e.name for e in ENDPOINTS.values() if e.sent_by_merchant}
    assert "sign-vectors.json" in doc["x-vexora-signing"]["vectors"]


def test_the_export_keeps_the_pages_conflicts_and_their_market_paths() -> None:
    mexico, myanmar = document("mexico"), document("myanmar")
    checkout = mexico["components"]["schemas"]["checkout-request-body"]
    assert checkout["properties"]["timestamp"]["x-vexora-conflict"]["table"] == "long"
    assert "/v1/vexora/payInSubmit" in myanmar["paths"] and "/v1/vexora/payinSubmit" in mexico["paths"]
    assert myanmar["servers"][0]["url"].endswith("/myanmar")


def test_schemathesis_against_serve_finds_no_server_error_and_no_undocumented_answer() -> None:
    schemathesis = pytest.importorskip("schemathesis", reason="schemathesis (the [test] extra)")
    from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance

    schema = schemathesis.openapi.from_dict(document("bangladesh"))
    with running_server("schemathesis-secret", "1000000001") as srv:
        base = f"{srv.base_url}/bangladesh"
        for result in schema.get_all_operations():
            operation = result.ok()

            @settings(max_examples=25, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
            @given(operation.as_strategy())
            def probe(case: Any) -> None:
                case.call_and_validate(base_url=base, checks=[not_a_server_error, response_schema_conformance,
                                                                content_type_conformance])

            probe()
