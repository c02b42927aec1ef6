"""The generated JSON Schemas: in sync, faithful to every page, equal to jsonschema's verdicts, shipped in the wheel."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vexora_conformance.cli import run
from vexora_conformance.contract.registry import ENDPOINTS, contract
from vexora_conformance.contract.schema import compile as schemas
from vexora_conformance.contract.schema import generate as schemagen
from vexora_conformance.strategies import MUTATIONS, invalid_bodies, valid_bodies

ROOT = Path(__file__).resolve().parents[1]
SPEC = contract("checkout", "mexico")
EXAMPLE_REQUEST = SPEC.example_request
EXAMPLE_RESPONSE = SPEC.example_response
BODY, ANSWER = "mexico/checkout-request-body", "mexico/checkout-response-body"
NAMES = sorted(schemagen.schema_names())


def pointers_jsonschema(name: str, instance: Any) -> set[str]:
    """Where jsonschema finds errors; a missing field is named by its own pointer, as the compiled checker does."""
    found = set()
    for e in schemas.validator(name).iter_errors(instance):
        base = "".join(f"/{p}" for p in e.absolute_path)
        if e.validator == "required":
            found |= {f"{base}/{n}" for n in e.validator_value if n not in e.instance}
        elif e.validator == "anyOf" and all("required" in s for s in e.validator_value):
            found.add(f"{base}/{e.validator_value[0]['required'][0]}")
        else:
            found.add(base)
    return found


def pointers_compiled(name: str, instance: Any) -> set[str]:
    """Where the compiled checker finds errors (advice is not JSON Schema's: jsonschema ignores x-vexora-should)."""
    return {i.pointer for i in schemas.checker(name)(instance) if i.keyword != "should"}


def test_committed_schemas_are_exactly_what_the_generator_writes() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert run(["schemas", "--check", "--dir", str(ROOT / "schemas")], out, err) == 0, err.getvalue()


def test_check_detects_stale_missing_and_extra_files(tmp_path: Path) -> None:
    assert run(["schemas", "--dir", str(tmp_path)], io.StringIO(), io.StringIO()) == 0
    (tmp_path / "mexico" / "checkout-request-body.schema.json").write_text("{}")
    (tmp_path / "bangladesh" / "payout-request-body.schema.json").unlink()
    (tmp_path / "mexico" / "old.schema.json").write_text("{}")
    err = io.StringIO()
    assert run(["schemas", "--check", "--dir", str(tmp_path)], io.StringIO(), err) == 1
    text = err.getvalue()
    assert "stale" in text and "missing" in text and "not generated" in text
    assert "bangladesh/payout-request-body" in text and "mexico/old.schema.json" in text


def test_schemas_carry_ids_titles_descriptions_pages_and_conflicts() -> None:
    body = schemas.load_schema(BODY)
    assert body["$schema"].endswith("2020-12/schema") and body["$id"] == "urn:vexora-conformance:schema:mexico:" \
        "checkout-request-body" and "mexico" in body["title"]
    assert body["properties"]["amount"]["description"] == "Amount (no decimal support)"
    assert body["properties"]["timestamp"][schemagen.CONFLICT_KEY]["table"] == "long"
    assert body[schemagen.PAGE_KEY]["page"].startswith("[page: mexico/checkout]")
    response = schemas.load_schema(ANSWER)
    assert {k for k, v in response["properties"].items() if schemagen.CONFLICT_KEY in v} == {"timestamp", "success"}
    link = response["properties"]["data"]
    assert link["properties"]["paymentUrl"][schemagen.CONFLICT_KEY]["example"] == "paymentLink"
    assert link["anyOf"] == [{"required": ["paymentUrl"]}, {"required": ["paymentLink"]}]


def test_the_index_names_a_schema_for_every_market_and_endpoint() -> None:
    index = json.loads((ROOT / "schemas" / "index.json").read_text())
    assert index["bangladesh"]["payout"]["variant"] == "bangladesh"
    assert index["bangladesh"]["balance"]["variant"] == "shared"  # no Bangladesh balance page is stored
    assert index["myanmar"]["payin-submit"]["schemas"]["request-body"] == "myanmar/payin-submit-request-body"
    for market, entry in index.items():
        assert set(entry) == set(ENDPOINTS), market
        for item in entry.values():
            for name in item["schemas"].values():
                assert (ROOT / "schemas" / f"{name}.schema.json").is_file(), name


def _example_cases() -> list[tuple[str, str, dict[str, Any]]]:
    """Every example a stored page gives, with the schema it must pass (placeholders the page marks, filled)."""
    cases = []
    for ep in ENDPOINTS.values():
        for c in ep.spec.contracts():
            if c.example_request is not None:
                body = dict(c.example_request)
                if "sign" in body and not re.fullmatch(r"[0-9a-f]{32}", str(body["sign"])):
                    body["sign"] = "0" * 32  # the pages' signs are illustrations ("000000", "xxxx")
                for name in c.placeholders:
                    body[name] = {"notifyUrl": "https://merchant.example/n", "mobile": "9999999999"}.get(name, "0" * 32)
                cases.append((f"{c.variant}/{ep.name}-request-body", f"{ep.name} {c.variant} request", body))
            if c.example_response is not None:
                cases.append((f"{c.variant}/{ep.name}-response-body", f"{ep.name} {c.variant} answer",
                              c.example_response))
    return cases


EXAMPLES = _example_cases()


@pytest.mark.parametrize("name, label, instance", EXAMPLES, ids=[e[1] for e in EXAMPLES])
def test_every_pages_own_example_validates_with_its_conflicts_named(name: str, label: str, instance: Any) -> None:
    """A tool that fails the provider's own example is useless: where a page's example breaks its table, the
    spec records the conflict, and the default reading accepts it."""
    assert pointers_jsonschema(name, instance) == set()
    assert pointers_compiled(name, instance) == set()


def test_there_are_examples_of_every_endpoint_but_the_notification() -> None:
    assert {n.split("/")[1].rsplit("-", 2)[0] for n, _, _ in EXAMPLES} >= set(ENDPOINTS) - {"notify"} | {"notify"}


MUTATIONS_OF_THE_EXAMPLE = [
    *((f"missing {f}", {k: v for k, v in EXAMPLE_REQUEST.items() if k != f}, f"/{f}")
      for f in ("sign", "timestamp", "tradeNo", "amount", "notifyUrl")),
    ("amount 300.50", {**EXAMPLE_REQUEST, "amount": "300.50"}, "/amount"),
    ("amount as a number", {**EXAMPLE_REQUEST, "amount": 300}, "/amount"),
    ("amount empty", {**EXAMPLE_REQUEST, "amount": ""}, "/amount"),
    ("amount with a trailing newline", {**EXAMPLE_REQUEST, "amount": "300\n"}, "/amount"),
    ("timestamp with a trailing newline", {**EXAMPLE_REQUEST, "timestamp": "1728609257212\n"}, "/timestamp"),
    ("notifyUrl with a trailing newline", {**EXAMPLE_REQUEST, "notifyUrl": "https://google.com\n"}, "/notifyUrl"),
    ("wayCode oxxo", {**EXAMPLE_REQUEST, "wayCode": "oxxo"}, "/wayCode"),
    ("sign upper case", {**EXAMPLE_REQUEST, "sign": EXAMPLE_REQUEST["sign"].upper()}, "/sign"),
    ("sign of 31 characters", {**EXAMPLE_REQUEST, "sign": EXAMPLE_REQUEST["sign"][:31]}, "/sign"),
    ("timestamp abc", {**EXAMPLE_REQUEST, "timestamp": "abc"}, "/timestamp"),
    ("notifyUrl empty", {**EXAMPLE_REQUEST, "notifyUrl": ""}, "/notifyUrl"),
]


@pytest.mark.parametrize("label, body, pointer", MUTATIONS_OF_THE_EXAMPLE, ids=[m[0] for m in MUTATIONS_OF_THE_EXAMPLE])
def test_each_mutation_of_the_example_fails_naming_the_field(label: str, body: dict[str, Any], pointer: str) -> None:
    assert pointers_compiled(BODY, body) == {pointer}
    if "newline" not in label:  # jsonschema reads patterns with Python's $, which allows the newline (see below)
        assert pointers_jsonschema(BODY, body) == {pointer}


def test_python_jsonschema_lets_a_trailing_newline_through_and_the_compiled_checker_does_not() -> None:
    """Why the tool cannot rely on jsonschema for patterns: Python's $ matches before a final newline."""
    body = {**EXAMPLE_REQUEST, "amount": "300\n"}
    assert pointers_jsonschema(BODY, body) == set()
    assert pointers_compiled(BODY, body) == {"/amount"}
    assert not schemas.fast_accept(schemas.load_schema(BODY))(body)
    assert not schemas.is_email("a@b.co\n") and not schemas.is_uri("https://a.example/\n")


def test_strict_mode_names_every_conflict_of_the_page() -> None:
    request = schemas.checker(BODY + ".strict")(EXAMPLE_REQUEST)
    assert [(i.pointer, i.keyword) for i in request] == [("/timestamp", "conflict")]
    response = schemas.checker(ANSWER + ".strict")(EXAMPLE_RESPONSE)
    assert [(i.pointer, i.keyword) for i in response] == [("/timestamp", "conflict"), ("/success", "conflict")]
    assert "table documents long" in request[0].message
    # The table's own reading passes strict mode.
    assert schemas.checker(BODY + ".strict")({**EXAMPLE_REQUEST, "timestamp": 1728609257212}) == []


def test_the_link_field_is_either_name_by_default_and_the_pages_name_under_strict() -> None:
    data = {k: v for k, v in EXAMPLE_RESPONSE["data"].items() if k != "paymentUrl"}
    linked = {**EXAMPLE_RESPONSE, "timestamp": "1", "success": "true",
              "data": {**data, "paymentLink": "https://c.example/p"}}
    assert pointers_compiled(ANSWER, linked) == pointers_jsonschema(ANSWER, linked) == set()
    strict = schemas.checker(ANSWER + ".strict")(linked)
    assert [(i.pointer, i.keyword) for i in strict] == [("/data/paymentUrl", "conflict")]
    neither = {**EXAMPLE_RESPONSE, "data": data}
    assert pointers_compiled(ANSWER, neither) == pointers_jsonschema(ANSWER, neither) == {"/data/paymentUrl"}


def test_error_envelope_may_have_null_data_but_success_may_not() -> None:
    error = {"msg": "request failed", "code": "8000", "timestamp": 1, "success": False, "data": None}
    assert pointers_compiled(ANSWER, error) == pointers_jsonschema(ANSWER, error) == set()
    bad = {**EXAMPLE_RESPONSE, "data": None}
    assert pointers_compiled(ANSWER, bad) == pointers_jsonschema(ANSWER, bad) == {"/data"}
    # The pay-in submit's data is a boolean, not an object: the gate keeps the table's type.
    submitted = {"msg": "success", "code": "0000", "timestamp": 1, "success": True, "data": True}
    assert pointers_compiled("bangladesh/payin-submit-response-body", submitted) == set()


def test_advice_is_a_should_issue_never_an_error_keyword() -> None:
    body = {**contract("payout", "bangladesh").example_request, "amount": "300.50"}
    issues = schemas.checker("bangladesh/payout-request-body")(body)
    assert [(i.pointer, i.keyword) for i in issues] == [("/amount", "should")]
    assert pointers_jsonschema("bangladesh/payout-request-body", body) == set()


def test_messages_never_repeat_the_value() -> None:
    body = {**EXAMPLE_REQUEST, "email": "private.person@nowhere", "mobile": 15745896325, "payer": ["kevin"]}
    text = " ".join(i.message for i in schemas.checker(BODY)(body))
    assert "private.person" not in text and "15745896325" not in text and "kevin" not in text


def test_the_compiler_refuses_keywords_it_does_not_know() -> None:
    with pytest.raises(ValueError, match="additionalProperties"):
        schemas.compile_schema({"type": "object", "additionalProperties": False})


json_scalars = st.one_of(st.text(max_size=15), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                         st.booleans(), st.none(), st.just([]), st.just({}), st.just("300\n"),
                         st.sampled_from(["0000", "300", "300.50", "https://a.example/", "a@gmail.com"]))


def instances_of(name: str) -> st.SearchStrategy[Any]:
    """Instances shaped like a schema: some of its properties, with any scalar or a nested object's fields."""
    doc = schemas.load_schema(name)

    def obj(props: dict[str, Any]) -> st.SearchStrategy[Any]:
        values = {k: st.one_of(json_scalars, obj(v["properties"])) if "properties" in v else json_scalars
                  for k, v in props.items()}
        return st.fixed_dictionaries({}, optional=values)

    return st.one_of(obj(doc.get("properties", {})), json_scalars)


@given(st.sampled_from(NAMES).flatmap(lambda n: st.tuples(st.just(n), instances_of(n))))
def test_compiled_checkers_of_every_schema_agree_with_jsonschema(case: tuple[str, Any]) -> None:
    name, instance = case
    compiled, reference = pointers_compiled(name, instance), pointers_jsonschema(name, instance)
    assert reference <= compiled and compiled - reference <= _newline_misses(instance)


def _newline_misses(instance: Any) -> set[str]:
    """Pointers jsonschema misses on a trailing newline (its Python $): the compiled checker is right there."""
    if not isinstance(instance, dict):
        return set()
    return {f"/{k}" for k, v in instance.items() if isinstance(v, str) and v.endswith("\n")}


@given(st.one_of(valid_bodies(), invalid_bodies(secret="k").map(lambda mb: mb[1])), st.data())
def test_compiled_request_checker_agrees_with_jsonschema(body: dict[str, Any], data: st.DataObject) -> None:
    if data.draw(st.booleans()):
        key = data.draw(st.sampled_from([f.name for f in SPEC.table("body")]))
        body = {**body, key: data.draw(json_scalars)}
    for name in (BODY, BODY + ".strict"):
        compiled, reference = pointers_compiled(name, body), pointers_jsonschema(name, body)
        assert reference <= compiled and compiled - reference <= _newline_misses(body)


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
        "files = g.generated_files();"
        "print(json.dumps([str(s.schema_dir()), all(g.render(s.load_schema(n)) == files[n + '.schema.json']"
        " for n in g.schema_names()), s.checker('mexico/checkout-request-body')({})[0].pointer,"
        " __import__('vexora_conformance.judge.seen').judge.seen.compiled]))"
    )
    out = subprocess.run([sys.executable, "-S", "-c", probe], cwd=tmp_path, env={"PYTHONPATH": str(site)},
                         capture_output=True, text=True, check=True)
    where, in_sync, first, compiled = json.loads(out.stdout)
    assert where.startswith(str(site)), where
    assert in_sync is True and first == "/sign"
    # the wheel carries the compiled store where this install built one (hatch_build.py)
    assert compiled is __import__("vexora_conformance.judge.seen").judge.seen.compiled


def test_the_sdist_holds_the_package_and_a_wheel_built_from_it_does_too(tmp_path: Path) -> None:
    """What a packager does: the sdist, unpacked, built into a wheel (offline, hatchling's PEP 517 hooks). The
    sdist once held the package only under .editable/, and its wheel no module at all."""
    import tarfile

    build = "import sys, hatchling.build as b; print(getattr(b, sys.argv[1])(sys.argv[2]))"
    made = subprocess.run([sys.executable, "-c", build, "build_sdist", str(tmp_path)], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    sdist = tmp_path / made.stdout.strip().splitlines()[-1]
    with tarfile.open(sdist) as tar:
        names = tar.getnames()
        tar.extractall(tmp_path / "src", filter="data")
    top = names[0].split("/")[0]
    assert f"{top}/vexora_conformance/__init__.py" in names and f"{top}/hatch_build.py" in names
    assert not any("/.editable/" in n or n.endswith(".so") for n in names)
    wheel_dir = tmp_path / "wheel"
    made = subprocess.run([sys.executable, "-c", build, "build_wheel", str(wheel_dir)], cwd=tmp_path / "src" / top,
                          capture_output=True, text=True, check=True)
    wheel = zipfile.ZipFile(wheel_dir / made.stdout.strip().splitlines()[-1]).namelist()
    assert "vexora_conformance/judge/seen.py" in wheel and "vexora_conformance/cli/__init__.py" in wheel
    compiled = any(n.startswith("vexora_conformance/judge/_seen.") and n.endswith(".so") for n in wheel)
    assert compiled is __import__("vexora_conformance.judge.seen").judge.seen.compiled


@given(st.sampled_from(NAMES).flatmap(lambda n: st.tuples(st.just(n), instances_of(n))))
def test_the_fast_path_never_accepts_what_the_full_checker_rejects(case: tuple[str, Any]) -> None:
    name, instance = case
    schema = schemas.load_schema(name)
    if schemas.fast_accept(schema)(instance):
        assert schemas.compile_schema(schema)(instance) == [], name
        assert pointers_jsonschema(name, instance) == set(), name


@given(st.one_of(valid_bodies(), invalid_bodies(secret="k").map(lambda mb: mb[1])))
def test_the_fast_path_never_accepts_a_broken_checkout_body(body: dict[str, Any]) -> None:
    for name in (BODY, BODY + ".strict"):
        if schemas.fast_accept(schemas.load_schema(name))(body):
            assert schemas.compile_schema(schemas.load_schema(name))(body) == []


@given(valid_bodies(timestamp_as_string=False))
def test_the_fast_path_accepts_documented_valid_bodies(body: dict[str, Any]) -> None:
    """Not a correctness property (the full checker would accept them too): it keeps the speed-up real."""
    assert schemas.fast_accept(schemas.load_schema(BODY))(body)
    assert schemas.fast_accept(schemas.load_schema(BODY + ".strict"))(body)


def test_every_endpoint_and_stored_market_has_its_schemas() -> None:
    for ep in ENDPOINTS.values():
        for c in ep.spec.contracts():
            assert f"{c.variant}/{ep.name}-request-body" in schemagen.schema_names(), (ep.name, c.variant)
    for name in NAMES:
        doc = schemas.load_schema(name)
        variant, rest = name.split("/")
        assert doc["$id"] == f"urn:vexora-conformance:schema:{variant}:{rest}" and doc["title"]


QUERY, NOTIFY = contract("query", "mexico"), contract("notify")


def test_the_query_example_omits_what_its_table_requires_and_strict_says_so() -> None:
    strict = "mexico/query-response-body.strict"
    conflicts = {"/data/receivedAmount", "/data/paymentList", "/timestamp", "/success"}  # every one in query.md
    assert pointers_compiled(strict, QUERY.example_response) == conflicts
    assert pointers_jsonschema(strict, QUERY.example_response) == conflicts
    doc = schemas.load_schema("mexico/query-response-body")
    assert doc[schemagen.OPEN_KEY] and doc["properties"]["data"]["properties"]["paymentList"]["type"] == "array"


def test_a_numeric_query_timestamp_is_a_named_conflict_not_an_error() -> None:
    body = {**QUERY.example_request, "timestamp": 1728613488294}
    assert pointers_compiled("mexico/query-request-body", body) == set()
    issues = schemas.checker("mexico/query-request-body.strict")(body)
    assert [(i.pointer, i.keyword) for i in issues] == [("/timestamp", "conflict")]


def test_notification_fields_of_unknown_type_are_not_asserted() -> None:
    doc = schemas.load_schema("shared/notify-request-body")
    assert "type" not in doc["properties"]["message"] and doc["properties"]["message"][schemagen.SOURCE_KEY] == "[int]"
    assert pointers_compiled("shared/notify-request-body",
                             {**NOTIFY.example_request, "sign": "0" * 32, "message": 5}) == set()
