"""The generated JSON Schemas: in sync, faithful to the page, equal to jsonschema's verdicts, shipped in the wheel."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vexora_conformance.cli import run
from vexora_conformance.contract.schema import compile as schemas
from vexora_conformance.contract.schema import generate as schemagen
from vexora_conformance.contract.schema.tables import load_spec
from vexora_conformance.strategies import MUTATIONS, invalid_bodies, valid_bodies

ROOT = Path(__file__).resolve().parents[1]
SPEC = load_spec()
EXAMPLE_REQUEST = SPEC.example_request
EXAMPLE_RESPONSE = SPEC.example_response


def pointers_jsonschema(name: str, instance: Any) -> set[str]:
    """Where jsonschema finds errors; a missing field is named by its own pointer, as the compiled checker does."""
    found = set()
    for e in schemas.validator(name).iter_errors(instance):
        base = "".join(f"/{p}" for p in e.absolute_path)
        if e.validator == "required":
            found |= {f"{base}/{n}" for n in e.validator_value if n not in e.instance}
        else:
            found.add(base)
    return found


def pointers_compiled(name: str, instance: Any) -> set[str]:
    return {i.pointer for i in schemas.checker(name)(instance)}


def test_committed_schemas_are_exactly_what_the_generator_writes() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert run(["schemas", "--check", "--dir", str(ROOT / "schemas")], out, err) == 0, err.getvalue()


def test_check_detects_stale_missing_and_extra_files(tmp_path: Path) -> None:
    assert run(["schemas", "--dir", str(tmp_path)], io.StringIO(), io.StringIO()) == 0
    (tmp_path / "checkout-request-body.schema.json").write_text("{}")
    (tmp_path / "checkout-response-body.schema.json").unlink()
    (tmp_path / "old.schema.json").write_text("{}")
    err = io.StringIO()
    assert run(["schemas", "--check", "--dir", str(tmp_path)], io.StringIO(), err) == 1
    text = err.getvalue()
    assert "stale" in text and "missing" in text and "not generated" in text


def test_schemas_carry_ids_titles_descriptions_and_conflicts() -> None:
    body = schemas.load_schema("checkout-request-body")
    assert body["$schema"].endswith("2020-12/schema") and body["$id"] and body["title"]
    assert body["properties"]["amount"]["description"] == "Amount (no decimal support)"
    assert body["properties"]["timestamp"][schemagen.CONFLICT_KEY]["table"] == "long"
    response = schemas.load_schema("checkout-response-body")
    assert {k for k, v in response["properties"].items() if schemagen.CONFLICT_KEY in v} == {"timestamp", "success"}


@pytest.mark.parametrize("name, instance", [("checkout-request-body", EXAMPLE_REQUEST),
                                            ("checkout-response-body", EXAMPLE_RESPONSE),
                                            ("checkout-request-headers", {"merchantNo": "1000000001"})])
def test_the_pages_own_examples_validate(name: str, instance: Any) -> None:
    assert pointers_jsonschema(name, instance) == set()
    assert pointers_compiled(name, instance) == set()


MUTATIONS_OF_THE_EXAMPLE = [
    *((f"missing {f}", {k: v for k, v in EXAMPLE_REQUEST.items() if k != f}, f"/{f}")
      for f in ("sign", "timestamp", "tradeNo", "amount", "notifyUrl")),
    ("amount 300.50", {**EXAMPLE_REQUEST, "amount": "300.50"}, "/amount"),
    ("amount as a number", {**EXAMPLE_REQUEST, "amount": 300}, "/amount"),
    ("amount empty", {**EXAMPLE_REQUEST, "amount": ""}, "/amount"),
    ("wayCode oxxo", {**EXAMPLE_REQUEST, "wayCode": "oxxo"}, "/wayCode"),
    ("sign upper case", {**EXAMPLE_REQUEST, "sign": EXAMPLE_REQUEST["sign"].upper()}, "/sign"),
    ("sign of 31 characters", {**EXAMPLE_REQUEST, "sign": EXAMPLE_REQUEST["sign"][:31]}, "/sign"),
    ("timestamp abc", {**EXAMPLE_REQUEST, "timestamp": "abc"}, "/timestamp"),
    ("notifyUrl empty", {**EXAMPLE_REQUEST, "notifyUrl": ""}, "/notifyUrl"),
]


@pytest.mark.parametrize("label, body, pointer", MUTATIONS_OF_THE_EXAMPLE, ids=[m[0] for m in MUTATIONS_OF_THE_EXAMPLE])
def test_each_mutation_of_the_example_fails_naming_the_field(label: str, body: dict[str, Any], pointer: str) -> None:
    assert pointers_jsonschema("checkout-request-body", body) == {pointer}
    assert pointers_compiled("checkout-request-body", body) == {pointer}


def test_strict_mode_names_every_conflict_of_the_page() -> None:
    request = schemas.checker("checkout-request-body.strict")(EXAMPLE_REQUEST)
    assert [(i.pointer, i.keyword) for i in request] == [("/timestamp", "conflict")]
    response = schemas.checker("checkout-response-body.strict")(EXAMPLE_RESPONSE)
    assert [(i.pointer, i.keyword) for i in response] == [("/timestamp", "conflict"), ("/success", "conflict")]
    assert "table documents long" in request[0].message
    # The table's own reading passes strict mode.
    assert schemas.checker("checkout-request-body.strict")({**EXAMPLE_REQUEST, "timestamp": 1728609257212}) == []


def test_error_envelope_may_have_null_data_but_success_may_not() -> None:
    error = {"msg": "request failed", "code": "8000", "timestamp": 1, "success": False, "data": None}
    assert pointers_compiled("checkout-response-body", error) == pointers_jsonschema("checkout-response-body", error)
    assert pointers_compiled("checkout-response-body", error) == set()
    bad = {**EXAMPLE_RESPONSE, "data": None}
    assert pointers_compiled("checkout-response-body", bad) == pointers_jsonschema("checkout-response-body", bad) \
        == {"/data"}


def test_messages_never_repeat_the_value() -> None:
    body = {**EXAMPLE_REQUEST, "email": "private.person@nowhere", "mobile": 15745896325, "payer": ["kevin"]}
    text = " ".join(i.message for i in schemas.checker("checkout-request-body")(body))
    assert "private.person" not in text and "15745896325" not in text and "kevin" not in text


def test_the_compiler_refuses_keywords_it_does_not_know() -> None:
    with pytest.raises(ValueError, match="additionalProperties"):
        schemas.compile_schema({"type": "object", "additionalProperties": False})


json_scalars = st.one_of(st.text(max_size=15), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                         st.booleans(), st.none(), st.just([]), st.just({}))


@given(st.one_of(valid_bodies(), invalid_bodies(secret="k").map(lambda mb: mb[1])), st.data())
def test_compiled_request_checker_agrees_with_jsonschema(body: dict[str, Any], data: st.DataObject) -> None:
    if data.draw(st.booleans()):
        key = data.draw(st.sampled_from([f.name for f in SPEC.table("body")]))
        body = {**body, key: data.draw(json_scalars)}
    for name in ("checkout-request-body", "checkout-request-body.strict"):
        assert pointers_compiled(name, body) == pointers_jsonschema(name, body)


response_values = st.fixed_dictionaries(
    {"msg": st.just("success"), "code": st.sampled_from(["0000", "8000"]), "timestamp": json_scalars,
     "success": json_scalars},
    optional={"data": st.one_of(st.none(), st.fixed_dictionaries(
        {}, optional={k: st.one_of(st.text(max_size=5), json_scalars, st.just("https://c.example/p"))
                      for k in ("tradeNo", "platFormTradeNo", "status", "desc", "remark", "paymentUrl")}))})


@given(st.one_of(response_values, json_scalars))
def test_compiled_response_checker_agrees_with_jsonschema(response: Any) -> None:
    for name in ("checkout-response-body", "checkout-response-body.strict"):
        assert pointers_compiled(name, response) == pointers_jsonschema(name, response)


def test_every_public_mutation_has_a_rule() -> None:
    assert len({m.id for m in MUTATIONS}) == len(MUTATIONS)
    assert all(m.rule.startswith(("request.", "sign.")) for m in MUTATIONS)


def test_schemas_load_from_an_installed_wheel(tmp_path: Path) -> None:
    """Build the wheel offline (hatchling's PEP 517 hook) and import the package from it alone.

    ``-S`` skips site-packages, so neither an editable install nor the checkout can stand in for the wheel.
    """
    build = subprocess.run(
        [sys.executable, "-c", "import sys, hatchling.build as b; print(b.build_wheel(sys.argv[1]))", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, check=True)
    wheel = tmp_path / build.stdout.strip().splitlines()[-1]
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    probe = (
        "import json, vexora_conformance.contract.schema.compile as s, vexora_conformance.contract.schema.generate as g;"
        "print(json.dumps([str(s.schema_dir()), all(g.render(s.load_schema(n)) == g.generated_files()[n + '.schema.json']"
        " for n in g.SCHEMAS), s.checker('checkout-request-body')({})[0].pointer]))"
    )
    out = subprocess.run([sys.executable, "-S", "-c", probe], cwd=tmp_path, env={"PYTHONPATH": str(site)},
                         capture_output=True, text=True, check=True)
    where, in_sync, first = json.loads(out.stdout)
    assert where.startswith(str(site)), where
    assert in_sync is True and first == "/sign"


@given(st.one_of(valid_bodies(), invalid_bodies(secret="k").map(lambda mb: mb[1]), response_values, json_scalars),
       st.data())
def test_the_fast_path_never_accepts_what_the_full_checker_rejects(instance: Any, data: st.DataObject) -> None:
    if isinstance(instance, dict) and instance and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(instance)))
        instance = {**instance, key: data.draw(json_scalars)}
    for name in schemagen.SCHEMAS:
        schema = schemas.load_schema(name)
        if schemas.fast_accept(schema)(instance):
            assert schemas.compile_schema(schema)(instance) == [], name
            assert pointers_jsonschema(name, instance) == set(), name


@given(valid_bodies(timestamp_as_string=False))
def test_the_fast_path_accepts_documented_valid_bodies(body: dict[str, Any]) -> None:
    """Not a correctness property (the full checker would accept them too): it keeps the speed-up real."""
    assert schemas.fast_accept(schemas.load_schema("checkout-request-body"))(body)
    assert schemas.fast_accept(schemas.load_schema("checkout-request-body.strict"))(body)


# --- the status query and the notification ---

QUERY, NOTIFY = load_spec("query"), load_spec("notify")


def test_every_endpoint_has_its_schemas_and_the_checkout_names_stay() -> None:
    assert {n.split("-", 1)[0] for n in schemagen.SCHEMAS} == {"checkout", "query", "notify"}
    assert {"checkout-request-headers", "checkout-request-body", "checkout-request-body.strict",
            "checkout-response-body", "checkout-response-body.strict"} <= set(schemagen.SCHEMAS)
    for name in schemagen.SCHEMAS:
        doc = schemas.load_schema(name)
        assert doc["$id"].startswith(f"urn:vexora-conformance:schema:{name.split('-', 1)[0]}:") and doc["title"]


@pytest.mark.parametrize("name, instance", [("query-request-body", QUERY.example_request),
                                            ("query-response-body", QUERY.example_response),
                                            ("query-request-headers", {}),
                                            ("notify-request-body", {**NOTIFY.example_request, "sign": "0" * 32})])
def test_the_other_pages_examples_validate(name: str, instance: Any) -> None:
    assert pointers_jsonschema(name, instance) == set()
    assert pointers_compiled(name, instance) == set()


def test_the_query_example_omits_what_its_table_requires_and_strict_says_so() -> None:
    strict = "query-response-body.strict"
    conflicts = {"/data/receivedAmount", "/data/paymentList", "/timestamp", "/success"}  # every one in spec/query.md
    assert pointers_compiled(strict, QUERY.example_response) == conflicts
    assert pointers_jsonschema(strict, QUERY.example_response) == conflicts
    doc = schemas.load_schema("query-response-body")
    assert doc[schemagen.OPEN_KEY] and doc["properties"]["data"]["properties"]["paymentList"]["type"] == "array"


def test_notification_fields_of_unknown_type_are_not_asserted() -> None:
    doc = schemas.load_schema("notify-request-body")
    assert "type" not in doc["properties"]["message"] and doc["properties"]["message"][schemagen.SOURCE_KEY] == "[int]"
    assert pointers_compiled("notify-request-body", {**NOTIFY.example_request, "sign": "0" * 32, "message": 5}) \
        == set()


query_bodies = st.fixed_dictionaries({}, optional={k: json_scalars for k in ("tradeNo", "timestamp", "sign", "x")})
query_answers = st.fixed_dictionaries(
    {"msg": st.just("success"), "code": st.sampled_from(["0000", "8000"])},
    optional={"timestamp": json_scalars, "success": json_scalars, "data": st.one_of(json_scalars, st.fixed_dictionaries(
        {}, optional={k: json_scalars for k in ("tradeNo", "platFormTradeNo", "status", "message", "amount",
                                                "receivedAmount", "paymentList")}))})
notifications = st.fixed_dictionaries({}, optional={k: json_scalars for k in (
    "platFormTradeNo", "tradeNo", "amount", "status", "sign", "message", "remark")})


@given(query_bodies, query_answers, notifications)
def test_compiled_checkers_of_the_other_endpoints_agree_with_jsonschema(body: Any, answer: Any, note: Any) -> None:
    for name, instance in (("query-request-body", body), ("query-response-body", answer),
                           ("query-response-body.strict", answer), ("notify-request-body", note)):
        assert pointers_compiled(name, instance) == pointers_jsonschema(name, instance), name
        if schemas.fast_accept(schemas.load_schema(name))(instance):
            assert pointers_jsonschema(name, instance) == set(), name
