"""The Structs generated from the schemas against jsonschema: what a Struct accepts, the schema accepts.

``contract.schema.structs`` turns each bundled schema into a msgspec decoder and the checks left after it. It
may refuse a valid body (it narrows: floats in a request, lists in an answer, a value of no declared type), but
what it accepts must be valid for jsonschema's Draft 2020-12 validator with formats asserted - an
implementation that is not ours. Bodies come from the public strategies (valid and labelled-defective) of every
endpoint and market, then bent.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vexora_conformance.contract.registry import ENDPOINTS
from vexora_conformance.contract.schema.compile import load_schema, validator
from vexora_conformance.contract.schema.generate import schema_for, schema_names
from vexora_conformance.contract.schema.structs import struct_checker
from vexora_conformance.strategies import invalid_bodies, valid_bodies

SECRET = "structs-secret"
SENT = [e for e in ENDPOINTS.values() if e.sent_by_merchant]
PAIRS = [(e.name, m) for e in SENT for m in e.spec.markets] + [(e.name, "argentina") for e in SENT]
BENDS = [
    lambda b: b,
    lambda b: {**b, next(iter(b)): 12345},
    lambda b: {**b, next(iter(b)): 1.5},
    lambda b: {**b, next(iter(b)): None},
    lambda b: {**b, next(iter(b)): ""},
    lambda b: {**b, next(iter(b)): {"a": "b"}},
    lambda b: {k: v for k, v in list(b.items())[1:]},
    lambda b: {**b, "extra": "x"},
]


def _accepted(name: str, text: str, request: bool) -> bool:
    checker = struct_checker(name, None, request)
    assert checker is not None
    try:
        decoded = checker.decode(text)
    except msgspec.MsgspecError:
        return False
    checked = checker.check(decoded, text)
    return checked is not None and (not request or checker.sign_shape(checked[0][-1]))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PAIRS).flatmap(lambda p: st.tuples(
    st.just(p), valid_bodies(secret=SECRET, endpoint=p[0], market=p[1]) |
    invalid_bodies(SECRET, endpoint=p[0], market=p[1]).map(lambda m: m[1]))), st.sampled_from(BENDS),
    st.booleans())
def test_what_a_request_struct_accepts_jsonschema_accepts(case: Any, bend: Any, strict: bool) -> None:
    (name, market), body = case
    body = bend(body)
    schema = schema_for(name, ENDPOINTS[name].contract(market).variant, "request-body", strict)
    if schema is None or struct_checker(schema, None, True) is None:
        return
    if _accepted(schema, json.dumps(body), True):
        assert validator(schema).is_valid(body), (schema, body)


def _data(a: dict[str, Any]) -> dict[str, Any]:
    data = a.get("data")
    return data if isinstance(data, dict) else {}


ANSWER_BENDS = [
    lambda a: a,
    lambda a: {**a, "code": "0000", "data": None},
    lambda a: {**a, "code": "0000", "data": {}},
    lambda a: {**a, "code": 0},
    lambda a: {**a, "success": "yes", "timestamp": 1.5},
    lambda a: {**a, "msg": None},
    lambda a: {**a, "data": {**_data(a), "paymentUrl": "not a url"}},
    lambda a: {**a, "data": {**_data(a), "paymentUrl": "https://pay.example/x", "paymentLink": 1}},
    lambda a: {**a, "data": {k: v for k, v in list(_data(a).items())[1:]}},
    lambda a: {**a, "data": {**_data(a), "status": ["x"]}},
]
ANSWERS = [n for n in schema_names() if "response-body" in n]


def _answer_sample(name: str) -> dict[str, Any]:
    """A document close to the schema: each declared property with a value of its first type."""
    def value(schema: dict[str, Any]) -> Any:
        t = schema.get("type")
        t = t[0] if isinstance(t, list) else t
        if "enum" in schema:
            return schema["enum"][0]
        if t == "object":
            return {k: value(v) for k, v in schema.get("properties", {}).items()}
        if schema.get("format") == "uri" or "http" in schema.get("pattern", ""):
            return "https://pay.example/o/1"
        return {"string": "0000" if "code" in schema.get("description", "").lower() else "s", "integer": 1,
                "number": 1.5, "boolean": True, "null": None, "array": []}.get(t, "s")

    return {k: value(v) for k, v in load_schema(name).get("properties", {}).items()}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ANSWERS), st.sampled_from(ANSWER_BENDS))
def test_what_an_answer_struct_accepts_jsonschema_accepts(name: str, bend: Any) -> None:
    if struct_checker(name, None, False) is None:
        return
    answer = bend(_answer_sample(name))
    if _accepted(name, json.dumps(answer), False):
        assert validator(name).is_valid(answer), (name, answer)


def test_a_repeated_key_is_counted_out() -> None:
    """A decoder keeps the last value of a repeated key: the quote count the check compares refuses it."""
    name = "mexico/checkout-response-body"
    text = json.dumps(_answer_sample(name))
    assert _accepted(name, text, False)
    assert not _accepted(name, text[:-1] + ', "msg": "again"}', False)
    assert not _accepted(name, text.replace('"data": {', '"data": {"status": "x", '), False)


SCALARS = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False) \
    | st.text(alphabet="abc0 ", max_size=4) | st.just([])


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ANSWERS), st.data())
def test_an_answer_with_a_key_written_twice_is_never_accepted(name: str, data: st.DataObject) -> None:
    """Whatever the types of the values, the quote count worked out per field refuses a repeated key, at the
    top or inside data (the decoder would keep the last value and never know)."""
    if struct_checker(name, None, False) is None:
        return
    answer = _answer_sample(name)
    for key in data.draw(st.lists(st.sampled_from(sorted(answer)), max_size=3)):
        answer[key] = data.draw(SCALARS)  # the schema may refuse it: then nothing is accepted either way
    for inner in (answer, answer.get("data")):
        if isinstance(inner, dict) and inner:  # absent fields, which count no quotes
            for key in data.draw(st.lists(st.sampled_from(sorted(inner)), max_size=2)):
                inner.pop(key, None)
    text = json.dumps(answer)
    if validator(name).is_valid(answer) and "\\" not in text:
        assert _accepted(name, text, False), text  # written once, it is taken: the count is not refusing all
    nested = isinstance(answer.get("data"), dict) and answer["data"]
    where = data.draw(st.sampled_from(["top", "data"] if nested else ["top"]))
    inner = answer["data"] if where == "data" else answer
    again = data.draw(st.sampled_from(sorted(inner)))
    twice = json.dumps({again: data.draw(SCALARS)})[1:-1]
    if where == "top":
        text = text[:-1] + ", " + twice + "}"
    else:
        text = text.replace('"data": {', '"data": {' + twice + ", ", 1)
    assert not _accepted(name, text, False), text


@pytest.mark.parametrize("schema, why", [
    ({"type": "object", "properties": {"a": {"type": "string"}}, "not": {}}, "a keyword it does not model"),
    ({"type": "object", "anyOf": [{"required": ["a"]}], "properties": {"a": {"type": "string"}}},
     "anyOf over the whole body"),
    ({"type": "array"}, "a body that is not an object"),
    ({"type": "object", "properties": {"a": {"type": "integer", "minimum": 0.5}}}, "a bound that is not an integer"),
])
def test_a_schema_it_does_not_model_is_declined(schema: dict[str, Any], why: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from vexora_conformance.contract.schema import structs

    monkeypatch.setattr(structs, "load_schema", lambda name: schema)
    struct_checker.cache_clear()
    try:
        assert struct_checker("toy", None, False) is None, why
    finally:
        struct_checker.cache_clear()


def test_long_accepted_strings_are_not_remembered() -> None:
    """Accepted URLs and e-mails are remembered to be parsed once (256 per field), but not long ones: a capture of
    distinct megabyte URLs would otherwise keep hundreds of megabytes. Both generated checkers."""
    import gc
    import tracemalloc

    from vexora_conformance.contract.schema.compile import acceptor

    name = "mexico/checkout-request-body"
    checker = struct_checker(name, None, True)
    assert checker is not None
    accept = acceptor(name)
    base = {"sign": "0" * 32, "timestamp": "1764000000000", "tradeNo": "T1", "amount": "1"}
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(300):
        body = {**base, "notifyUrl": f"https://m.example/{i}/" + "a" * 20_000}
        text = json.dumps(body)
        assert accept(body)
        assert checker.check(checker.decode(text), text) is not None
        del body, text
    gc.collect()
    kept = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert kept < 1_000_000, kept  # 300 x 20 KB would be 6 MB


_URL_TAILS = st.text(alphabet="ab.-_~/:?#%\\ \t\u00e9\u3000!0" + "x" * 5, max_size=70)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["http://", "https://", "https:/", "ftp://", "HTTP://", ""]), _URL_TAILS)
def test_a_url_the_plain_regex_takes_meets_the_pattern_and_the_format(prefix: str, tail: str) -> None:
    """The one-regex case of a page's URL field never takes a value the field's pattern or its format (as
    jsonschema asserts it) refuses."""
    import jsonschema

    from vexora_conformance.contract.schema.compile import format_checker
    from vexora_conformance.contract.schema.structs import _PLAIN_URLS

    value = prefix + tail
    for pattern, plain in _PLAIN_URLS.items():
        if plain.match(value):
            field = {"type": "string", "pattern": pattern, "format": "uri"}
            assert jsonschema.Draft202012Validator(field, format_checker=format_checker()).is_valid(value), value


def test_the_plain_url_regex_takes_the_common_form_and_refuses_what_the_format_refuses() -> None:
    from vexora_conformance.contract.schema.structs import _PLAIN_URLS

    plain = _PLAIN_URLS["^https?://[^\\s\\\\]+$"]
    assert plain.match("https://cashier.vexora.example/#/order/12")
    assert plain.match("http://a.b")
    assert plain.match("https://a./x") and plain.match("https://" + "a" * 63) and plain.match("https://a-b.c_d~e/")
    for refused in ["https://", "https://.a/", "https://a..b/", "https://" + "a" * 64 + "/", "https://a b/",
                    "https://a/b\\c", "https://a:80/", "ftp://a/"]:
        assert not plain.match(refused), refused
