"""The fast accept path against the explaining path: the same verdict on every generated record.

``fastpath.accept_line`` may hand any record to the explaining path, but what it
accepts must be what ``capture.item_from_line`` + ``judge.judge_exchange`` find
clean (same endpoint and keys), and what it skips they must skip. The records are
valid Checkout, query and notification exchanges bent in the ways where orjson
and json differ or where a shortcut could lie: repeated keys, integers past 2**64,
floats, NaN, lone surrogates, BOMs, deep nesting, escaped text, header variants.
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.helpers import assert_fast_agrees
from vexora_conformance.contract import signing
from vexora_conformance.contract.schema.compile import _PLAIN_URI
from vexora_conformance.core.exchange import Exchange
from vexora_conformance.core.records import SKIPPED, Clean
from vexora_conformance.doors import validate as validate_module
from vexora_conformance.doors.capture import Skipped, _har_item, item_from_line
from vexora_conformance.doors.fastpath import BadSign, accept_har_entry, accept_line
from vexora_conformance.doors.harsplit import Entry
from vexora_conformance.doors.validate import validate
from vexora_conformance.judge.exchange import JudgeOptions, judge_exchange, sign_mismatch
from vexora_conformance.report import JsonReport

SECRET = "fast-path-secret"
OPTIONS = JudgeOptions(secret=signing.Secret(SECRET), clock=None)
BASE = "https://sandbox.vexora.example/mexico/v1/vexora/"


def _checkout(i: int, amount: Any = "300") -> tuple[dict[str, Any], dict[str, Any]]:
    body: dict[str, Any] = {"timestamp": str(1764000000000 + i), "tradeNo": f"T{i:08d}", "amount": amount,
                            "notifyUrl": "https://m.example/notify", "wayCode": "va", "remark": f"order {i}"}
    body["sign"] = signing.sign(body, SECRET)
    answer = {"msg": "success", "code": "0000", "timestamp": 1764000000150 + i, "success": True,
              "data": {"tradeNo": body["tradeNo"], "platFormTradeNo": f"p{i:015d}", "status": "0015",
                       "desc": "Create", "remark": body["remark"], "paymentUrl": f"https://pay.example/#/o/{i}"}}
    return body, answer


# Text-level changes: (name, function of the body's JSON text)
BODY_EDITS = [
    ("none", lambda t: t),
    ("repeated key", lambda t: t[:-1] + ', "remark": "other"}'),
    ("repeated key, same value", lambda t: t.replace('"wayCode": "va"', '"wayCode": "va", "wayCode": "va"')),
    ("big integer", lambda t: t.replace('"amount": "300"', '"amount": 18446744073709551616')),
    ("integer", lambda t: t.replace('"amount": "300"', '"amount": 300')),
    ("float", lambda t: t.replace('"amount": "300"', '"amount": 300.5')),
    ("NaN", lambda t: t.replace('"amount": "300"', '"amount": NaN')),
    ("lone surrogate", lambda t: t.replace('"order ', '"\\ud800order ')),
    ("escaped slash", lambda t: t.replace("https://m.example/notify", "https:\\/\\/m.example\\/notify")),
    ("escaped quote", lambda t: t.replace('"order ', '"\\"order ')),
    ("backslash", lambda t: t.replace('"order ', '"\\\\order ')),
    ("BOM", lambda t: "\ufeff" + t),
    ("deep", lambda t: t[:-1] + ', "x": ' + "[" * 70 + "]" * 70 + "}"),
    ("empty value", lambda t: t.replace('"order ', '"" , "r2": "')),
    ("null", lambda t: t.replace('"wayCode": "va"', '"wayCode": null')),
    ("unknown field", lambda t: t[:-1] + ', "extra": "x"}'),
    ("non-ASCII key", lambda t: t[:-1] + ', "\u00e9": "x"}'),
    ("not an object", lambda t: "[" + t + "]"),
    ("empty", lambda t: ""),
    ("form", lambda t: "a=1&b=2"),
    ("changed after signing", lambda t: t.replace('"wayCode": "va"', '"wayCode": "store"')),
    ("upper-case sign", lambda t: t.replace('"sign": "', '"sign": "A')[:-1] + "}"),
]
ANSWER_EDITS = [
    ("none", lambda a: a),
    ("code", lambda a: {**a, "code": "5001"}),
    ("data null", lambda a: {**a, "data": None}),
    ("no paymentUrl", lambda a: {**a, "data": {k: v for k, v in a["data"].items() if k != "paymentUrl"}}),
    ("bad paymentUrl", lambda a: {**a, "data": {**a["data"], "paymentUrl": "pay.example/x"}}),
    ("url with port", lambda a: {**a, "data": {**a["data"], "paymentUrl": "https://pay.example:8443/x"}}),
    ("echo", lambda a: {**a, "data": {**a["data"], "tradeNo": "other"}}),
    ("float", lambda a: {**a, "timestamp": 1.5}),
    ("list", lambda a: {**a, "extra": [1]}),
]
ANSWER_TEXT_EDITS = [
    ("none", lambda t: t),
    ("repeated nested key", lambda t: t.replace('"status": "0015"', '"status": "0015", "status": "0016"')),
    ("repeated key", lambda t: t[:-1] + ', "msg": "x"}'),
    ("BOM", lambda t: "\ufeff" + t),
]
HEADER_EDITS = [
    ("none", lambda h: h),
    ("lower case", lambda h: {k.lower(): v for k, v in h.items()}),
    ("charset", lambda h: {**h, "Content-Type": "application/json; charset=utf-8"}),
    ("text/plain", lambda h: {**h, "Content-Type": "text/plain"}),
    ("no merchant", lambda h: {k: v for k, v in h.items() if k != "merchantNo"}),
    ("empty merchant", lambda h: {**h, "merchantNo": " "}),
    ("number merchant", lambda h: {**h, "merchantNo": 18446744073709551616}),
    ("pairs", lambda h: [[k, v] for k, v in h.items()]),
    ("twice", lambda h: {**h, "MERCHANTNO": "other"}),
    ("pairs twice", lambda h: [[k, v] for k, v in h.items()] + [["MERCHANTNO", "other"]]),
    ("pairs, first value wins", lambda h: [["merchantNo", "other"]] + [[k, v] for k, v in h.items()]),
    ("HAR objects", lambda h: [{"name": k, "value": v} for k, v in h.items()]),
    ("HAR object with a comment", lambda h: [{"name": k, "value": v, "comment": ""} for k, v in h.items()]),
    ("a pair of three", lambda h: [[k, v] for k, v in h.items()] + [["x", "y", "z"]]),
    ("a number in a pair", lambda h: [[k, v] for k, v in h.items()] + [["x-n", 12345678901234567890]]),
    ("a pair without a value", lambda h: [[k, v] for k, v in h.items()] + [["x"]]),
    ("HAR object without a value", lambda h: [{"name": "x"}, *({"name": k, "value": v} for k, v in h.items())]),
]


def _edit(draw: st.DrawFn, edits: list[tuple[str, Any]]) -> Any:
    """Most often no change: a record bent in every way at once would never be clean."""
    return edits[0][1] if draw(st.integers(0, 2)) else draw(st.sampled_from(edits))[1]


@st.composite
def records(draw: st.DrawFn) -> bytes:
    i = draw(st.integers(0, 10**6))
    endpoint = draw(st.sampled_from(["checkout", "checkout", "query", "notify", "other"]))
    body, answer = _checkout(i)
    url = BASE + "checkout"
    response: dict[str, Any] | None = {"status": 200, "headers": {"Content-Type": "application/json"}}
    if endpoint == "query":
        body = {"timestamp": body["timestamp"], "tradeNo": body["tradeNo"]}
        body["sign"] = signing.sign(body, SECRET)
        url = BASE + "query"
        answer = {**answer, "data": {k: v for k, v in answer["data"].items() if k != "paymentUrl"}}
    elif endpoint == "notify":
        body = {"tradeNo": body["tradeNo"], "platFormTradeNo": f"p{i:015d}", "amount": "300", "status": "0000"}
        body["sign"] = signing.sign(body, SECRET)
        url = "https://m.example/notify"
    elif endpoint == "other":
        url = draw(st.sampled_from(["https://cdn.example/app.js", "https://x.example/v1/vexora/refund"]))
    if draw(st.integers(0, 3)) == 0:
        body["tradeNo"] += "0"  # changed after signing: a sign that does not verify
    body_text = _edit(draw, BODY_EDITS)(json.dumps(body))
    if draw(st.booleans()):
        body_text = body_text.replace(", ", ",").replace(": ", ":")
    if endpoint == "notify":
        response["body"] = draw(st.sampled_from(["OK", " OK", "FAIL", None]))
    else:
        answer = _edit(draw, ANSWER_EDITS)(answer)
        response["body"] = _edit(draw, ANSWER_TEXT_EDITS)(json.dumps(answer))
    headers: Any = _edit(draw, HEADER_EDITS)(
        {"Content-Type": "application/json", "merchantNo": "1000000001"})
    record: dict[str, Any] = {
        "request": {"method": draw(st.sampled_from(["POST", "POST", "post", "GET"])),
                    "url": url + draw(st.sampled_from(["", "", "/", "?x=1"])), "headers": headers, "body": body_text},
        "time": draw(st.sampled_from([1764000000 + i / 1000, 1764000000 + i / 1000, None, "2025-11-24T16:00:00Z",
                                      10**20, 1764000000000 + i])),
    }
    if draw(st.integers(0, 3)):
        record["response"] = response if draw(st.integers(0, 9)) else {**response, "status": True}
    if draw(st.integers(0, 9)) == 0:
        record["endpoint"] = draw(st.sampled_from(["checkout", "notify", "bogus", []]))
    if draw(st.integers(0, 9)) == 0:
        record["request"]["body"] = body  # an already-parsed body
    line = json.dumps(record, allow_nan=True)
    if draw(st.integers(0, 9)) == 0:
        line = line[:-1] + ', "request": {}}'  # the record's own key repeated
    return line.encode("utf-8", "surrogatepass")


def _explained(line: bytes) -> Any:
    item = item_from_line(line, "f", 0)
    if isinstance(item, Exchange):
        return judge_exchange(item, OPTIONS, diagnose=False)
    return item


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_what_the_fast_path_accepts_the_explaining_path_finds_clean(line: bytes) -> None:
    fast = accept_line(line, OPTIONS)
    slow = _explained(line)
    if fast is None:
        return
    if fast == SKIPPED:
        assert isinstance(slow, Skipped)
        return
    clean = fast.clean if isinstance(fast, BadSign) else fast
    assert not isinstance(slow, (Skipped,)) and hasattr(slow, "findings"), slow
    assert (slow.endpoint, slow.market, slow.variant, slow.merchant_no, slow.trade_no, slow.platform_trade_no) == \
        (clean.endpoint, clean.market, clean.variant, clean.merchant_no, clean.trade_no, clean.platform_trade_no)
    if isinstance(fast, Clean):
        assert slow.findings == []
    else:  # clean but for the sign: exactly the explaining path's one finding, its mistake left to the session
        assert [f.rule for f in slow.findings] == [sign_mismatch(clean.endpoint).rule]
        assert slow.findings[0] == replace(sign_mismatch(clean.endpoint), hint=slow.findings[0].hint,
                                           details=slow.findings[0].details)
        assert slow.pending is not None and (slow.pending.at, slow.pending.body, slow.pending.observed) == \
            (0, fast.body, fast.observed)


def test_the_fast_path_takes_the_common_records() -> None:
    """It must not be a path that refuses everything: clean records of each endpoint are accepted."""
    body, answer = _checkout(7)
    record = {"request": {"method": "POST", "url": BASE + "checkout",
                          "headers": {"Content-Type": "application/json", "merchantNo": "1000000001"},
                          "body": json.dumps(body)},
              "response": {"status": 200, "headers": {}, "body": json.dumps(answer)}, "time": 1764000000.007}
    fast = accept_line(json.dumps(record).encode(), OPTIONS)
    assert isinstance(fast, Clean)
    assert fast[:6] == ("checkout", "mexico", "mexico", "1000000001", "T00000007", "p000000000000007")
    other = {"request": {"method": "GET", "url": "https://cdn.example/a.js", "headers": {}, "body": None}}
    assert accept_line(json.dumps(other).encode(), OPTIONS) == SKIPPED


@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60).map(
    lambda s: "https://h.example" + s) | st.text(max_size=40))
@example("https://h.example:99999/x")
@example("https://h.example/a\tb")
def test_the_plain_uri_shortcut_agrees_with_urlsplit(value: str) -> None:
    if _PLAIN_URI.match(value):
        parts = urlsplit(value)
        assert parts.scheme and parts.netloc


def _report(paths: list[str], fast: bool, monkeypatch: pytest.MonkeyPatch, options: JudgeOptions = OPTIONS) -> str:
    if not fast:
        monkeypatch.setattr(validate_module, "accept_line", lambda *a: None)
    out = io.StringIO()
    validate(paths, options, sink=JsonReport(out), collect=False)
    monkeypatch.undo()
    return out.getvalue()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(lines=st.lists(records(), min_size=1, max_size=40))
def test_a_run_reports_the_same_bytes_with_and_without_the_fast_path(lines: list[bytes], tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "capture.jsonl"
    path.write_bytes(b"\n".join(line.rstrip(b"\n") for line in lines) + b"\n")
    assert _report([str(path), str(path)], True, monkeypatch) == _report([str(path), str(path)], False, monkeypatch)


def test_the_bundled_capture_reports_the_same_bytes_with_and_without_the_fast_path(
        monkeypatch: pytest.MonkeyPatch) -> None:
    captures = Path(__file__).parents[1] / "examples" / "captures"
    options = JudgeOptions(secret=signing.Secret((captures / "sandbox-secret.txt").read_text().strip()))
    paths = [str(captures / "checkout.jsonl")]
    assert _report(paths, True, monkeypatch, options) == _report(paths, False, monkeypatch, options)


# --- HAR entries: the same records, as browsers and proxies write them ---


def _har_headers(headers: Any) -> Any:
    if isinstance(headers, dict):
        return [{"name": k, "value": v} for k, v in headers.items()]
    return headers


@st.composite
def har_entries(draw: st.DrawFn) -> dict[str, Any]:
    record = json.loads(draw(records()).decode("utf-8", "surrogatepass"))
    req = record["request"]
    body = req.get("body")
    post: dict[str, Any] = {"mimeType": "application/json",
                            "text": body if isinstance(body, str) or body is None else json.dumps(body)}
    variant = draw(st.sampled_from(["plain"] * 6 + ["base64", "side file", "no postData", "missing value",
                                                    "bad time", "no time"]))
    if variant == "base64":
        post = {"mimeType": "application/json", "encoding": "base64",
                "text": base64.b64encode((post["text"] or "").encode("utf-8", "surrogatepass")).decode()}
    elif variant == "side file":
        post = {"mimeType": "application/json", "_file": "body.json"}
    headers = _har_headers(req.get("headers"))
    if variant == "missing value" and isinstance(headers, list) and headers and isinstance(headers[0], dict):
        headers = [{"name": headers[0]["name"]}, *headers[1:]]
    started: Any = "2025-11-24T16:00:00.000Z"
    if isinstance(record.get("time"), float):
        started = datetime.fromtimestamp(record["time"], UTC).isoformat().replace("+00:00", "Z")
    entry: dict[str, Any] = {"startedDateTime": {"bad time": "yesterday", "no time": None}.get(variant, started),
                             "request": {"method": req.get("method"), "url": req.get("url"), "headers": headers}}
    if variant != "no postData":
        entry["request"]["postData"] = post
    resp = record.get("response")
    if isinstance(resp, dict):
        rbody = resp.get("body")
        entry["response"] = {"status": draw(st.sampled_from([resp.get("status"), resp.get("status"), 0])),
                             "headers": _har_headers(resp.get("headers")),
                             "content": {"mimeType": "application/json"} if rbody is None else
                             {"mimeType": "application/json", "text": rbody}}
    return entry


def _explained_har(text: bytes) -> Any:
    item = _har_item(Entry(text), "f.har", 0, None)
    if isinstance(item, Exchange):
        return judge_exchange(item, OPTIONS, diagnose=False)
    return item


@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow])
@given(har_entries())
def test_what_the_fast_path_accepts_in_a_har_the_explaining_path_finds_clean(entry: dict[str, Any]) -> None:
    text = json.dumps(entry).encode("utf-8", "surrogatepass")
    fast = accept_har_entry(text, OPTIONS)
    if fast is None:
        return
    assert_fast_agrees(fast, _explained_har(text))


def _har_report(path: Path, fast: bool, monkeypatch: pytest.MonkeyPatch, options: JudgeOptions = OPTIONS) -> str:
    if not fast:
        monkeypatch.setattr(validate_module, "accept_har_entry", lambda *a: None)
    out = io.StringIO()
    validate([str(path)], options, sink=JsonReport(out), collect=False)
    monkeypatch.undo()
    return out.getvalue()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(entries=st.lists(har_entries(), min_size=1, max_size=30))
def test_a_har_reports_the_same_bytes_with_and_without_the_fast_path(entries: list[dict[str, Any]], tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "capture.har"
    path.write_bytes(json.dumps({"log": {"version": "1.2", "entries": entries}}).encode("utf-8", "surrogatepass"))
    assert _har_report(path, True, monkeypatch) == _har_report(path, False, monkeypatch)


def test_the_bundled_har_reports_the_same_bytes_with_and_without_the_fast_path(
        monkeypatch: pytest.MonkeyPatch) -> None:
    captures = Path(__file__).parents[1] / "examples" / "captures"
    options = JudgeOptions(secret=signing.Secret((captures / "sandbox-secret.txt").read_text().strip()))
    path = captures / "checkout.har"
    assert _har_report(path, True, monkeypatch, options) == _har_report(path, False, monkeypatch, options)
