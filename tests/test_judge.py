"""The judge, rule by rule (written from mutation testing: each test kills mutants that the traffic tests let live)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given

from vexora_conformance.contract import signing
from vexora_conformance.contract.rules import catalogue
from vexora_conformance.contract.signing.diagnosis import recipe_for, sign_with
from vexora_conformance.core.exchange import Exchange, Request, Response, header_map
from vexora_conformance.core.findings import Finding
from vexora_conformance.judge.exchange import JudgeOptions, judge_exchange
from vexora_conformance.judge.session import Session, judge
from vexora_conformance.strategies import Mutation, invalid_bodies

SECRET = "judge-secret"
NOW = 1764000000.0
URL = "https://h.example/mx/v1/vexora/checkout"
HEADERS = {"Content-Type": "application/json", "merchantNo": "1000000001"}


def body(**changes: Any) -> dict[str, Any]:
    b: dict[str, Any] = {"timestamp": str(int(NOW * 1000)), "tradeNo": "T1", "amount": "300",
                         "notifyUrl": "https://m.example/n", "remark": "r"}
    b.update(changes)
    b = {k: v for k, v in b.items() if v is not ...}
    b["sign"] = signing.sign(b, SECRET)
    return b


def exchange(b: Any = None, *, method: str = "POST", url: str = URL, headers: dict[str, str] | None = None,
             raw: str | bytes | None = None, response: Any = None, when: float | None = NOW) -> Exchange:
    text = raw if raw is not None else (json.dumps(b if b is not None else body()))
    return Exchange(Request(method, url, header_map(HEADERS if headers is None else headers), text), response,
                    when, "t", 0)


def findings(ex: Exchange, **options: Any) -> list[Finding]:
    opts = {"secret": signing.Secret(SECRET), **options}
    return judge_exchange(ex, JudgeOptions(**opts)).findings


def rules_of(found: list[Finding]) -> list[str]:
    return [f.rule for f in found]


def test_a_clean_exchange_has_no_finding() -> None:
    assert findings(exchange()) == []


def test_every_finding_has_a_message_and_a_catalogued_rule_and_severity() -> None:
    bad = exchange(body(amount="1.5", wayCode="x", extra=None), method="GET", url=URL + "/", headers={})
    found = findings(bad, strict_tables=True)
    assert len(found) >= 6
    for f in found:
        assert isinstance(f.message, str) and len(f.message) > 8
        assert f.severity == catalogue()[f.rule].severity
        assert f.hint


@pytest.mark.parametrize("ctype, ok", [
    ("application/json", True), ("application/json; charset=utf-8", True), ("Application/JSON", True),
    ("application/json;charset=UTF-8", True), (" application/json ", True),
    ("text/plain", False), ("application/jsonp", False), ("application/x-www-form-urlencoded", False), (None, False),
])
def test_content_type(ctype: str | None, ok: bool) -> None:
    headers = {"merchantNo": "1000000001", **({"Content-Type": ctype} if ctype is not None else {})}
    found = [f for f in findings(exchange(headers=headers)) if f.rule == "request.content-type"]
    assert (found == []) is ok
    if not ok:
        assert ("missing" if ctype is None else repr(ctype)) in found[0].message


def test_method_and_path_messages_name_what_was_sent() -> None:
    found = findings(exchange(method="PUT", url="https://h.example/v2/vexora/checkout"))
    by_rule = {f.rule: f.message for f in found}
    assert "PUT" in by_rule["request.method"] and "POST" in by_rule["request.method"]
    assert "/v2/vexora/checkout" in by_rule["request.path"]
    assert findings(exchange(method="post")) == []  # methods are case-insensitive on the wire


def test_long_values_are_truncated_in_messages() -> None:
    found = findings(exchange(method="X" * 500, url="https://h.example/" + "p" * 5000))
    assert all(len(f.message) < 300 for f in found)


@pytest.mark.parametrize("headers, expected, fragment", [
    ({"Content-Type": "application/json"}, None, "missing"),
    ({"Content-Type": "application/json", "merchantNo": ""}, None, "empty"),
    ({"Content-Type": "application/json", "merchantNo": "   "}, None, "empty"),
    ({"Content-Type": "application/json", "merchantNo": "999"}, "1000000001", "expected '1000000001'"),
    ({"Content-Type": "application/json", "MERCHANTNO": "1000000001"}, "1000000001", None),
])
def test_merchant_no_header(headers: dict[str, str], expected: str | None, fragment: str | None) -> None:
    found = [f for f in findings(exchange(headers=headers), merchant_no=expected) if f.rule == "request.merchant-no"]
    if fragment is None:
        assert found == []
    else:
        assert len(found) == 1 and fragment in found[0].message


@pytest.mark.parametrize("raw, fragment", [
    ("", "has no body"),
    ("amount=300&tradeNo=T1", "form-encoded"),
    (b"amount=300&sign=x", "form-encoded"),
    ("{not json", "not valid JSON"),
    ("[1, 2]", "an array"),
    ('"text"', "a string"),
    ("12", "a number"),
    ("null", "null"),
    ("true", "a boolean"),
])
def test_bodies_that_are_not_objects(raw: str | bytes, fragment: str) -> None:
    found = findings(exchange(raw=raw))
    assert rules_of(found)[-1] == "request.json"
    assert fragment in found[-1].message


def test_request_json_stops_further_body_checks() -> None:
    found = findings(exchange(raw="[1]"))
    assert rules_of(found) == ["request.json"]
    assert judge_exchange(exchange(raw="[1]"), JudgeOptions()).trade_no is None


def test_schema_issues_become_request_rules_with_field_hints() -> None:
    found = findings(exchange(body(amount="1.5", wayCode="oxxo", notifyUrl=..., payer=3)))
    assert {(f.rule, f.pointer) for f in found} >= {("request.amount", "/amount"), ("request.enum", "/wayCode"),
                                                   ("request.required", "/notifyUrl"), ("request.type", "/payer")}
    amount = next(f for f in found if f.pointer == "/amount")
    assert amount.hint and "no decimal support" in amount.hint and amount.message.startswith("amount ")


def test_unknown_fields_warn_and_say_they_are_signed() -> None:
    found = [f for f in findings(exchange(body(currency="MXN"))) if f.rule == "request.unknown-field"]
    assert found[0].pointer == "/currency" and "signed" in found[0].message and found[0].severity == "warning"


def test_sign_missing_and_format_are_sign_rules() -> None:
    b = body()
    del b["sign"]
    assert "sign.missing" in rules_of(findings(exchange(b)))
    b = body()
    b["sign"] = b["sign"][:31]
    assert "sign.format" in rules_of(findings(exchange(b)))


def test_sign_mismatch_carries_the_diagnosis_in_hint_and_details() -> None:
    b = body()
    b["sign"] = sign_with(b, SECRET, recipe_for("ampersand-joined"))
    found = [f for f in findings(exchange(b)) if f.rule.startswith("sign.")]
    assert rules_of(found) == ["sign.mismatch"]
    assert found[0].pointer == "/sign" and found[0].details == {"diagnosis": ["ampersand-joined"]}
    assert found[0].hint.startswith("diagnosis: ampersand-joined")
    b["sign"] = "0" * 32
    unexplained = next(f for f in findings(exchange(b)) if f.rule == "sign.mismatch")
    assert unexplained.details == {"diagnosis": []} and "doctor" in (unexplained.hint or "")


def test_an_upper_case_sign_is_one_format_finding_with_the_diagnosis() -> None:
    b = body()
    b["sign"] = b["sign"].upper()
    found = [f for f in findings(exchange(b)) if f.rule.startswith("sign.")]
    assert rules_of(found) == ["sign.format"]
    assert found[0].details == {"diagnosis": ["uppercase-hex"]} and "uppercase-hex" in (found[0].hint or "")


def test_merchant_no_is_passed_to_the_diagnosis() -> None:
    b = body()
    b["sign"] = sign_with(b, SECRET, recipe_for("merchant-no-included"), "1000000001")
    found = next(f for f in findings(exchange(b)) if f.rule == "sign.mismatch")
    assert found.details["diagnosis"] == ["merchant-no-included"]


def test_without_a_secret_no_sign_is_checked() -> None:
    b = body()
    b["sign"] = "0" * 32
    assert findings(exchange(b), secret=None) == []


def test_ambiguous_values_warn_with_their_id() -> None:
    found = [f for f in findings(exchange(body(remark=None))) if f.rule == "sign.ambiguous"]
    assert found[0].details == {"ambiguity": "null-value"} and found[0].pointer == "/remark"


@pytest.mark.parametrize("offset_s, expect", [(0, None), (300, None), (301, "behind"), (-301, "ahead of"),
                                              (-300, None), (3600, "behind")])
def test_timestamp_skew_window_is_inclusive(offset_s: int, expect: str | None) -> None:
    ex = exchange(body(timestamp=str(int((NOW - offset_s) * 1000))))
    found = [f for f in findings(ex) if f.rule == "timestamp.skew"]
    if expect is None:
        assert found == []
    else:
        assert expect in found[0].message and f"{abs(offset_s)} s" in found[0].message and "±300 s" in found[0].message


@pytest.mark.parametrize("ts", [int(NOW * 1000) - 3_600_000, str(int(NOW * 1000) - 3_600_000)])
def test_skew_reads_integer_and_string_timestamps(ts: Any) -> None:
    assert "timestamp.skew" in rules_of(findings(exchange(body(timestamp=ts))))


@pytest.mark.parametrize("ts", [True, "١٧٦٤٠٠٠٠٠٠٠٠٠", "1" * 25, "abc"])
def test_skew_ignores_timestamps_it_cannot_read(ts: Any) -> None:
    assert "timestamp.skew" not in rules_of(findings(exchange(body(timestamp=ts))))


def test_skew_uses_the_clock_only_without_a_capture_time() -> None:
    old = exchange(body(timestamp=str(int((NOW - 3600) * 1000))), when=None)
    assert "timestamp.skew" not in rules_of(findings(old))
    assert "timestamp.skew" in rules_of(findings(old, clock=lambda: NOW))
    assert "timestamp.skew" not in rules_of(findings(old, clock=lambda: NOW - 3600))
    assert "timestamp.skew" in rules_of(findings(exchange(body(), when=NOW + 999), clock=lambda: NOW))


def success(b: dict[str, Any], **data: Any) -> Response:
    payload = {"msg": "success", "code": "0000", "timestamp": 1, "success": True,
               "data": {"tradeNo": b["tradeNo"], "platFormTradeNo": "P1", "status": "0015", "desc": "Create",
                        "remark": b.get("remark", ""), "paymentUrl": "https://c.example/p", **data}}
    return Response(200, {}, json.dumps(payload))


@pytest.mark.parametrize("raw, fragment", [("", "empty"), ("<html>", "not valid JSON"), ("[]", "not an object")])
def test_response_bodies_that_are_not_objects(raw: str, fragment: str) -> None:
    found = findings(exchange(response=Response(502, {}, raw)))
    assert rules_of(found) == ["response.json"] and fragment in found[0].message and "HTTP 502" in found[0].message


def test_response_echo_of_trade_no_and_remark() -> None:
    b = body()
    assert findings(exchange(b, response=success(b))) == []
    found = findings(exchange(b, response=success(b, tradeNo="other", remark="changed")))
    assert [(f.rule, f.pointer) for f in found] == [("response.echo", "/response/data/tradeNo"),
                                                    ("response.echo", "/response/data/remark")]
    assert all(f.message.startswith("response data.") for f in found)


def test_no_echo_check_on_an_error_envelope_or_without_a_remark() -> None:
    b = body()
    err = Response(200, {}, json.dumps({"msg": "failed", "code": "8000", "timestamp": 1, "success": False,
                                        "data": None}))
    assert findings(exchange(b, response=err)) == []
    no_remark = body(remark=...)
    assert findings(exchange(no_remark, response=success(no_remark, remark="anything"))) == []


def test_response_schema_issues_point_under_response() -> None:
    b = body()
    found = findings(exchange(b, response=success(b, paymentUrl="not a url")))
    assert [(f.rule, f.pointer) for f in found] == [("response.format", "/response/data/paymentUrl")]
    assert found[0].message.startswith("response data.paymentUrl")


def test_verdict_keys_for_the_session() -> None:
    b = body()
    v = judge_exchange(exchange(b, response=success(b)), JudgeOptions())
    assert (v.merchant_no, v.trade_no, v.platform_trade_no, v.body_is_object) == ("1000000001", "T1", "P1", True)
    assert judge_exchange(exchange(body(tradeNo="")), JudgeOptions()).trade_no is None
    assert judge_exchange(exchange(body(tradeNo=5)), JudgeOptions()).trade_no is None


def _judged(session: Session, b: dict[str, Any], index: int, merchant: str = "1000000001",
            response: Response | None = None) -> list[str]:
    ex = Exchange(Request("POST", URL, header_map({**HEADERS, "merchantNo": merchant}), json.dumps(b)), response,
                  NOW, "s", index)
    found = judge(ex, session)
    assert all(f.source == "s" and f.index == index for f in found)
    return [f"{f.rule}:{f.message}" for f in found]


def test_session_duplicates_are_per_merchant_and_name_the_first_use() -> None:
    session = Session(JudgeOptions(secret=signing.Secret(SECRET)))
    b = body()
    assert _judged(session, b, 0) == []
    assert _judged(session, b, 1, merchant="2000000002") == []
    dup = _judged(session, b, 2)
    assert dup == ["trade-no.duplicate:tradeNo 'T1' was already used by s#0"]


def test_session_platform_trade_no_duplicates() -> None:
    session = Session(JudgeOptions(secret=signing.Secret(SECRET)))
    a, b = body(tradeNo="A"), body(tradeNo="B")
    assert _judged(session, a, 0, response=success(a)) == []
    assert _judged(session, b, 1, response=success(b)) == [
        "response.platform-trade-no.duplicate:platFormTradeNo 'P1' was already returned to s#0"]


def test_unchecked_signatures_are_reported_once_and_only_for_judged_bodies() -> None:
    session = Session(JudgeOptions())
    assert [r.split(":")[0] for r in _judged_raw(session, "[1]", 0)] == ["request.json"]
    assert [r.split(":")[0] for r in _judged(session, body(tradeNo="A"), 1)] == ["sign.unchecked"]
    assert _judged(session, body(tradeNo="B"), 2) == []


def _judged_raw(session: Session, raw: str, index: int) -> list[str]:
    ex = Exchange(Request("POST", URL, header_map(HEADERS), raw), None, NOW, "s", index)
    return [f"{f.rule}:{f.message}" for f in judge(ex, session)]


def test_already_parsed_bodies_are_judged_as_they_are() -> None:
    b = body()
    ex = Exchange(Request("POST", URL, header_map(HEADERS), None, parsed=b), None, NOW)
    assert findings(ex) == []
    ex = Exchange(Request("POST", URL, header_map(HEADERS), None, parsed=[b]), None, NOW)
    assert rules_of(findings(ex)) == ["request.json"]


# --- closing gaps that the second mutation run showed ---


def test_integer_timestamps_inside_the_window_are_fine() -> None:
    # Guards the milliseconds conversion: any other factor puts "now" far outside the window.
    assert "timestamp.skew" not in rules_of(findings(exchange(body(timestamp=int(NOW * 1000)))))
    assert "timestamp.skew" not in rules_of(findings(exchange(body(timestamp=int(NOW * 1000) + 299_000))))


def test_timestamps_of_20_digits_or_more_are_not_read() -> None:
    assert "timestamp.skew" not in rules_of(findings(exchange(body(timestamp="1" * 20))))
    assert "timestamp.skew" in rules_of(findings(exchange(body(timestamp="1" * 19))))


def test_skew_and_duplicate_findings_point_at_their_field() -> None:
    skew = next(f for f in findings(exchange(body(timestamp=int(NOW * 1000) - 3_600_000)))
                if f.rule == "timestamp.skew")
    assert skew.pointer == "/timestamp"
    session = Session(JudgeOptions())
    b = body()
    first = judge(exchange(b), session)
    assert [f.rule for f in first] == ["sign.unchecked"] and "no app secret" in first[0].message
    dup = judge(Exchange(exchange(b).request, None, NOW, "t", 1), session)
    assert [(f.rule, f.pointer) for f in dup] == [("trade-no.duplicate", "/tradeNo")]
    x, y = body(tradeNo="X"), body(tradeNo="Y")  # both answered with platFormTradeNo "P1"
    judge(Exchange(exchange(x).request, success(x), NOW, "t", 2), session)
    again = judge(Exchange(exchange(y).request, success(y), NOW, "t", 3), session)
    assert [(f.rule, f.pointer) for f in again] == [("response.platform-trade-no.duplicate",
                                                     "/response/data/platFormTradeNo")]


@pytest.mark.parametrize("raw, fragment", [
    (b"amount=\xff&tradeNo=T1", "form-encoded"),   # invalid UTF-8 in a form body must not crash
    ("hello", "not valid JSON"),                   # no '=': not mistaken for a form
    (" {a=1", "not valid JSON"),                   # JSON-looking after leading blanks
    (b"", "has no body"),
])
def test_more_bodies_that_are_not_objects(raw: str | bytes, fragment: str) -> None:
    found = findings(exchange(raw=raw))
    assert found[-1].rule == "request.json" and fragment in found[-1].message


def test_content_type_with_several_parameters() -> None:
    headers = {"merchantNo": "1000000001", "Content-Type": "application/json; charset=utf-8; boundary=x"}
    assert findings(exchange(headers=headers)) == []


def test_each_finding_keeps_its_own_hint() -> None:
    b = body(amount="1.5", wayCode="oxxo")
    b["sign"] = b["sign"].upper()
    found = {f.pointer: f for f in findings(exchange(b))}
    assert "no decimal support" in (found["/amount"].hint or "")
    assert '"store"' in (found["/wayCode"].hint or "") and '"va"' in (found["/wayCode"].hint or "")
    assert "uppercase-hex" in (found["/sign"].hint or "")


def test_an_explained_mismatch_does_not_send_you_to_doctor() -> None:
    b = body()
    b["sign"] = sign_with(b, SECRET, recipe_for("secret-prefixed"))
    mismatch = next(f for f in findings(exchange(b)) if f.rule == "sign.mismatch")
    assert "doctor" not in (mismatch.hint or "") and "reference signature" in mismatch.message


def test_no_echo_check_on_an_error_envelope_that_carries_data() -> None:
    b = body()
    payload = {"msg": "failed", "code": "8000", "timestamp": 1, "success": False,
               "data": {"tradeNo": "someone-else", "platFormTradeNo": "P9", "status": "0029", "desc": "x",
                        "remark": "other", "paymentUrl": "https://c.example/p"}}
    found = findings(exchange(b, response=Response(200, {}, json.dumps(payload))))
    assert "response.echo" not in rules_of(found)


def test_an_empty_platform_trade_no_is_not_remembered() -> None:
    session = Session(JudgeOptions(secret=signing.Secret(SECRET)))
    for i, trade in enumerate(("A", "B")):
        b = body(tradeNo=trade)
        rules = [f.rule for f in judge(Exchange(exchange(b).request, success(b, platFormTradeNo=""), NOW, "t", i),
                                       session)]
        assert "response.platform-trade-no.duplicate" not in rules


def test_pointers_escape_keys_and_messages_quote_what_the_client_sent() -> None:
    found = findings(exchange(body(**{"a/b~c": None}), method="PO\nST"))
    pointers = {f.rule: f.pointer for f in found}
    assert pointers["request.unknown-field"] == "/a~1b~0c" and pointers["sign.ambiguous"] == "/a~1b~0c"
    assert all("\n" not in f.message for f in found)  # a hostile method or key cannot forge report lines


@given(invalid_bodies(secret=SECRET))
def test_each_public_mutation_is_reported_as_it_promises(mutation_and_body: tuple[Mutation, dict[str, Any]]) -> None:
    mutation, b = mutation_and_body
    found = findings(exchange(b), merchant_no="1000000001")
    assert (mutation.rule, mutation.pointer) in {(f.rule, f.pointer) for f in found}, (mutation.id, rules_of(found))


# --- the status query and the notification: the same checks, each under its own rule ids ---

QUERY_URL = "https://h.example/mx/v1/vexora/queryPayInResult"
NOTIFY_URL = "https://merchant.example/hooks/vexora"


def signed(fields: dict[str, Any]) -> dict[str, Any]:
    fields = {k: v for k, v in fields.items() if v is not ...}
    return {**fields, "sign": signing.sign(fields, SECRET)}


def query(**changes: Any) -> dict[str, Any]:
    return signed({"tradeNo": "T1", "timestamp": str(int(NOW * 1000)), **changes})


def notification(**changes: Any) -> dict[str, Any]:
    return signed({"platFormTradeNo": "P1", "tradeNo": "T1", "amount": "300", "status": "0000", **changes})


def test_a_clean_query_and_a_clean_acknowledged_notification_have_no_finding() -> None:
    answer = {"msg": "success", "code": "0000", "timestamp": 1, "success": True,
              "data": {"tradeNo": "T1", "platFormTradeNo": "P1", "status": "0000", "message": "Success",
                       "amount": "300", "receivedAmount": "300", "paymentList": []}}
    assert findings(exchange(query(), url=QUERY_URL, response=Response(200, {}, json.dumps(answer)))) == []
    ok = Response(200, {}, "OK")
    assert findings(exchange(notification(), url=NOTIFY_URL, headers={"Content-Type": "application/json"},
                             response=ok)) == []


@pytest.mark.parametrize(("make", "url", "expected"), [
    (lambda: query(timestamp=...), QUERY_URL, "query.request.required"),
    (lambda: {**query(), "tradeNo": "T2"}, QUERY_URL, "query.sign.mismatch"),
    (lambda: query(timestamp=1764000000000.5), QUERY_URL, "query.request.type"),
    (lambda: query(extra="x"), QUERY_URL, "query.request.unknown-field"),
    (lambda: notification(status=...), NOTIFY_URL, "notify.request.required"),
    (lambda: {**notification(), "amount": "1"}, NOTIFY_URL, "notify.sign.mismatch"),
    (lambda: notification(amount="3,5"), NOTIFY_URL, "notify.request.amount"),
])
def test_the_other_endpoints_report_under_their_own_ids(make: Any, url: str, expected: str) -> None:
    found = rules_of(findings(exchange(make(), url=url)))
    assert expected in found and not any(r.startswith(("request.", "sign.", "response.")) for r in found), found


def test_the_query_path_is_judged_and_a_near_miss_is_flagged() -> None:
    assert "query.request.path" in rules_of(findings(exchange(query(), url=QUERY_URL.lower() + "/")))
    assert "query.request.method" in rules_of(findings(exchange(query(), url=QUERY_URL, method="GET")))


@pytest.mark.parametrize(("note", "status", "text", "expected"), [
    (notification, 200, "OK", None),
    (notification, 200, "success", "notify.reply"),
    (notification, 200, '{"code":"OK"}', "notify.reply"),
    (notification, 500, "OK", "notify.reply"),
    (notification, 200, " OK\n", "notify.reply-padded"),
    (lambda: {**notification(), "amount": "1"}, 200, "OK", "notify.accepts-bad-sign"),
    (lambda: {**notification(), "amount": "1"}, 400, "FAIL", None),
    (lambda: notification(status=...), 200, "OK", "notify.malformed-accepted"),
])
def test_the_merchants_answer_to_a_notification(note: Any, status: int, text: str, expected: str | None) -> None:
    found = rules_of(findings(exchange(note(), url=NOTIFY_URL, response=Response(status, {}, text))))
    answer_rules = [r for r in found if r in ("notify.reply", "notify.reply-padded", "notify.accepts-bad-sign",
                                              "notify.malformed-accepted")]
    assert answer_rules == ([expected] if expected else []), found


def test_a_door_may_name_the_endpoint() -> None:
    ex = Exchange(Request("POST", "https://m.example/x", header_map(HEADERS), json.dumps(query())), endpoint="query")
    assert judge_exchange(ex, JudgeOptions(secret=signing.Secret(SECRET))).endpoint == "query"
