"""The registry, enumerated: every endpoint and market is judged by every door, and every rule can fire.

Nothing here names an endpoint's fields: bodies come from the strategies (themselves generated from the specs),
so an endpoint added to the registry is covered by these tests the moment it exists.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import running_server, sample
from vexora_conformance.contract import signing
from vexora_conformance.contract.endpoint import Endpoint
from vexora_conformance.contract.registry import ENDPOINTS, route
from vexora_conformance.contract.rules import catalogue
from vexora_conformance.contract.schema.compile import checker
from vexora_conformance.contract.schema.generate import schema_for
from vexora_conformance.core.exchange import Exchange, Request, Response, header_map
from vexora_conformance.core.findings import Kind, Severity
from vexora_conformance.doors.fake.mock import fake_provider
from vexora_conformance.doors.validate import validate
from vexora_conformance.judge.exchange import JudgeOptions, judge_exchange
from vexora_conformance.judge.session import Session, judge
from vexora_conformance.strategies import invalid_bodies, mutations_for, valid_bodies

SECRET = "registry-secret"
MERCHANT = "1000000001"
OPTIONS = JudgeOptions(secret=signing.Secret(SECRET), merchant_no=MERCHANT, clock=time.time)
HEADERS = {"content-type": "application/json", "merchantno": MERCHANT}
SENT = [e for e in ENDPOINTS.values() if e.sent_by_merchant]
# Every (endpoint, market) with a page of its own, and one market without (judged by the shared shape).
PAIRS = [(e.name, m) for e in SENT for m in e.spec.markets] + [(e.name, "argentina") for e in SENT]


def url(ep: Endpoint, market: str) -> str:
    return f"https://sandbox.vexora.example/{market}{ep.contract(market).path}"


def exchange(ep: Endpoint, market: str, body: Any, **changes: Any) -> Exchange:
    raw = body if isinstance(body, str) else json.dumps(body)
    request = Request(changes.pop("method", "POST"), changes.pop("url", url(ep, market)),
                      header_map(changes.pop("headers", HEADERS)), raw)
    return Exchange(request, changes.pop("response", None), time.time(), "t", 0)


def test_every_merchant_endpoint_and_market_is_routed_by_its_own_path() -> None:
    for name, market in PAIRS:
        ep = ENDPOINTS[name]
        found, by_prefix = route(url(ep, market))
        assert (found, by_prefix) == (ep, market)


@settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.sampled_from(PAIRS).flatmap(lambda p: st.tuples(st.just(p), valid_bodies(
    secret=SECRET, endpoint=p[0], market=p[1]))))
def test_a_valid_body_of_every_endpoint_and_market_is_clean(case: tuple[tuple[str, str], dict[str, Any]]) -> None:
    (name, market), body = case
    verdict = judge_exchange(exchange(ENDPOINTS[name], market, body), OPTIONS)
    assert verdict.findings == [], (name, market, body)
    assert (verdict.endpoint, verdict.market) == (name, market)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.sampled_from(PAIRS).flatmap(lambda p: st.tuples(st.just(p), invalid_bodies(
    SECRET, endpoint=p[0], market=p[1]))))
def test_each_labelled_defect_of_every_endpoint_and_market_raises_its_rule(case: Any) -> None:
    (name, market), (mutation, body) = case
    found = judge_exchange(exchange(ENDPOINTS[name], market, body), OPTIONS).findings
    assert (mutation.rule, mutation.pointer) in {(f.rule, f.pointer) for f in found}, (name, market, mutation, found)


def test_every_endpoint_has_labelled_defects_for_every_market() -> None:
    for name, market in PAIRS:
        ids = {m.id for m in mutations_for(name, market)}
        assert {"missing-sign", "wrong-secret", "uppercase-sign"} <= ids, (name, market)


# --- every door ---

def _valid(name: str, market: str) -> dict[str, Any]:
    """A valid body of a market's contract, the same on every run."""
    body: dict[str, Any] = dict(sample(valid_bodies(secret=SECRET, endpoint=name, market=market)))
    body["timestamp"] = type(body["timestamp"])(int(time.time() * 1000))  # found once, sent now
    if "tradeNo" in body:  # one order per call
        body["tradeNo"] = str(next(_TRADE_NOS))[: len(body["tradeNo"]) if len(body["tradeNo"]) > 17 else 32]
    body["sign"] = signing.sign(body, SECRET)
    return body


_TRADE_NOS = itertools.count(20251124160000000)


def _call(ep: Endpoint, market: str, send: Any) -> dict[str, Any]:
    """One conformant call of an endpoint through a door; the calls it needs first (a pay-in to submit, a pay-out
    to query) are made the same way."""
    body = _valid(ep.name, market)
    if ep.name == "payin-submit":
        opened = send(ENDPOINTS["checkout"], market, _valid("checkout", market))
        body = {**body, "platFormTradeNo": opened["data"]["platFormTradeNo"]}
    elif ep.name in ("query", "payout-query"):
        first = ENDPOINTS["checkout" if ep.name == "query" else "payout"]
        opened = send(first, market, _valid(first.name, market))
        body = {**body, "tradeNo": opened["data"]["tradeNo"]}
    body["sign"] = signing.sign(body, SECRET)
    answer: dict[str, Any] = send(ep, market, body)
    return answer


def _answer_is_documented(ep: Endpoint, market: str, answer: dict[str, Any]) -> None:
    """The fake's own answer passes the market's answer schema: the fake speaks the contract it judges."""
    variant = ep.contract(market).variant
    assert answer["code"] == "0000", answer
    name = schema_for(ep.name, variant, "response-body", False)
    assert name is not None and checker(name)(answer) == [], (ep.name, market, checker(name)(answer))


@pytest.mark.parametrize("name, market", PAIRS, ids=[f"{n}-{m}" for n, m in PAIRS])
def test_the_plugins_fake_answers_every_endpoint_and_market_as_documented(name: str, market: str) -> None:
    with fake_provider(secret=SECRET, merchant_no=MERCHANT, check=False) as fake:
        def send(ep: Endpoint, mk: str, body: dict[str, Any]) -> dict[str, Any]:
            r = httpx.post(url(ep, mk), json=body, headers={"merchantNo": MERCHANT})
            return dict(r.json())

        answer = _call(ENDPOINTS[name], market, send)
    assert fake.findings == [], fake.findings
    assert fake.calls[-1].endpoint == name and fake.calls[-1].market == market
    _answer_is_documented(ENDPOINTS[name], market, answer)


def test_serve_answers_every_endpoint_and_market_as_documented() -> None:
    with running_server(SECRET, MERCHANT) as srv, httpx.Client(base_url=srv.base_url) as client:
        for name, market in PAIRS:
            def send(ep: Endpoint, mk: str, body: dict[str, Any]) -> dict[str, Any]:
                r = client.post(f"/{mk}{ep.contract(mk).path}", json=body, headers={"merchantNo": MERCHANT})
                return dict(r.json())

            _answer_is_documented(ENDPOINTS[name], market, _call(ENDPOINTS[name], market, send))
        summary = client.get("/__vexora__/findings").json()["summary"]
    assert summary["errors"] == 0 and summary["warnings"] == 0
    assert set(summary["by_endpoint"]) == {e.name for e in SENT}


def _capture_line(ep: Endpoint, market: str, body: dict[str, Any], answer: dict[str, Any] | None) -> str:
    record: dict[str, Any] = {"request": {"method": "POST", "url": url(ep, market),
                                          "headers": {"Content-Type": "application/json", "merchantNo": MERCHANT},
                                          "body": json.dumps(body)}, "time": time.time()}
    if answer is not None:
        record["response"] = {"status": 200, "headers": {}, "body": json.dumps(answer)}
    return json.dumps(record)


def _capture(tmp_path: Any) -> tuple[Any, list[tuple[str, str, str | None]]]:
    """A capture of every endpoint and market: a clean exchange (answered by the fake) and a broken one each;
    with what each record must raise."""
    lines, expected = [], []
    with fake_provider(secret=SECRET, merchant_no=MERCHANT, check=False):
        for name, market in PAIRS:
            ep = ENDPOINTS[name]
            body = _valid(name, market)
            answer = httpx.post(url(ep, market), json=body, headers={"merchantNo": MERCHANT}).json()
            lines.append(_capture_line(ep, market, body, answer))
            expected.append((name, market, None))
            mutation, broken = sample(invalid_bodies(SECRET, endpoint=name, market=market))
            lines.append(_capture_line(ep, market, broken, None))
            expected.append((name, market, mutation.rule))
    path = tmp_path / "family.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path, expected


def _check_report(findings: list[Any], expected: list[tuple[str, str, str | None]]) -> None:
    by_index: dict[int, set[str]] = {}
    for f in findings:
        by_index.setdefault(f.index, set()).add(f.rule)
    for n, (name, market, rule) in enumerate(expected):
        rules = by_index.get(n, set())
        errors = {r for r in rules if catalogue()[r].severity is Severity.ERROR}
        if rule is None:  # a clean request the fake answered: nothing but, perhaps, a repeated platFormTradeNo
            assert errors <= {"response.platform-trade-no.duplicate"}, (n, name, market, rules)
        else:
            assert rule in rules, (n, name, market, rule, rules)


def test_validate_judges_every_endpoint_and_market(tmp_path: Any) -> None:
    path, expected = _capture(tmp_path)
    outcome = validate([str(path)], OPTIONS)
    assert outcome.exchanges == len(expected)
    assert set(outcome.by_endpoint) == {e.name for e in SENT}
    _check_report(outcome.findings, expected)
    # --jobs 2 gives the same findings, in the same order
    again = validate([str(path)], OPTIONS, jobs=2)
    assert [f.to_dict() for f in again.findings] == [f.to_dict() for f in outcome.findings]


def test_dask_judges_every_endpoint_and_market_as_validate_does(tmp_path: Any) -> None:
    pytest.importorskip("dask", reason="the [dask] extra is not installed")
    from vexora_conformance.doors.dask_validate import validate_on_dask

    path, expected = _capture(tmp_path)
    local = validate([str(path)], OPTIONS)
    distributed = validate_on_dask([str(path)], OPTIONS, blocksize=2048)
    assert [f.to_dict() for f in distributed.findings] == [f.to_dict() for f in local.findings]
    assert distributed.summary() == local.summary()
    _check_report(distributed.findings, expected)


# --- every rule of every endpoint can fire ---

def _market_where(ep: Endpoint, test: Any) -> str | None:
    return next((m for m in (*ep.spec.markets, "argentina") if test(ep.contract(m), m)), None)


def _by_mutation(ep: Endpoint, kind: Kind) -> list[Any] | None:
    rule = ep.rule(kind).id
    for market in (*ep.spec.markets, "argentina"):
        mutation = next((m for m in mutations_for(ep.name, market) if m.rule == rule), None)
        if mutation is not None:
            body = _valid(ep.name, market)
            field = mutation.pointer[1:]
            if field not in body and field != "sign":
                contract = ep.contract(market)
                row = next(f for f in contract.table("body") if f.name == field)
                from vexora_conformance.strategies import _value

                body[field] = sample(_value(contract, row, False, time.time, {}))
            from vexora_conformance.strategies import mutated

            broken = mutated(body, mutation.id, SECRET, endpoint=ep.name, market=market)
            return judge_exchange(exchange(ep, market, broken), OPTIONS).findings
    return None


def _answer_of(ep: Endpoint, market: str, body: dict[str, Any]) -> dict[str, Any]:
    with fake_provider(secret=SECRET, merchant_no=MERCHANT, check=False):
        return dict(_call(ep, market, lambda e, m, b: httpx.post(url(e, m), json=b,
                                                                    headers={"merchantNo": MERCHANT}).json()))


def _provoke(ep: Endpoint, kind: Kind) -> list[Any]:
    """Findings of exchanges built to raise one kind of finding on one endpoint (some market where it can)."""
    market = next(iter(ep.spec.markets), "mexico")
    body = _valid(ep.name, market) if ep.sent_by_merchant else None
    if not ep.sent_by_merchant:
        from tests.test_registry_notify import provoke_notification

        return provoke_notification(kind)
    if kind.value.startswith("effect."):  # what the client's code did after a query answer
        from tests.test_registry_notify import provoke_query_reaction

        return provoke_query_reaction(kind)
    if kind is Kind.METHOD:
        return judge_exchange(exchange(ep, market, body, method="GET"), OPTIONS).findings
    if kind is Kind.PATH:
        return judge_exchange(exchange(ep, market, body, url=url(ep, market) + "/"), OPTIONS).findings
    if kind is Kind.CONTENT_TYPE:
        return judge_exchange(exchange(ep, market, body, headers={"merchantno": MERCHANT}), OPTIONS).findings
    if kind is Kind.MERCHANT_NO:
        m = _market_where(ep, lambda c, _: any(f.required for f in c.table("header")))
        return judge_exchange(exchange(ep, m, _valid(ep.name, m), headers={"content-type": "application/json"}),
                              OPTIONS).findings
    if kind is Kind.JSON:
        return judge_exchange(exchange(ep, market, "[]"), OPTIONS).findings
    if kind is Kind.DUPLICATE_KEY:
        text = json.dumps(body)
        return judge_exchange(exchange(ep, market, text[:-1] + ', "sign": "x"}'), OPTIONS).findings
    if kind is Kind.UNKNOWN_FIELD:
        m = _market_where(ep, lambda c, _: not c.open_body)
        b = {**_valid(ep.name, m), "zzUndocumented": "1"}
        b["sign"] = signing.sign(b, SECRET)
        return judge_exchange(exchange(ep, m, b), OPTIONS).findings
    if kind is Kind.SIGN_AMBIGUOUS:
        b = {**body, "remark": None}  # type: ignore[dict-item]
        b["sign"] = signing.sign(b, SECRET)
        return judge_exchange(exchange(ep, market, b), OPTIONS).findings
    if kind is Kind.TIMESTAMP_SKEW:
        b = {**body, "timestamp": str(int((time.time() - 7200) * 1000))}  # type: ignore[dict-item]
        b["sign"] = signing.sign(b, SECRET)
        return judge_exchange(exchange(ep, market, b), OPTIONS).findings
    if kind is Kind.ADVICE:
        found = _by_mutation(ep, kind)
        if found:
            return found
        m = _market_where(ep, lambda c, _: any(not f.required for f in c.table("header")))
        if m is not None:
            return judge_exchange(exchange(ep, m, _valid(ep.name, m), headers={"content-type": "application/json"}),
                                  OPTIONS).findings
        other = next(p for p in ep.spec.paths() if p != ep.contract(market).path)
        return judge_exchange(exchange(ep, market, body, url=f"https://h.example/{market}{other}"), OPTIONS).findings
    if kind is Kind.DOC_CONFLICT:
        for m in (*ep.spec.markets, "argentina"):
            c = ep.contract(m)
            for conflict in c.conflicts:
                if conflict.field == "body.timestamp" and conflict.example_type in ("string", "integer"):
                    b = _valid(ep.name, m)
                    b["timestamp"] = str(b["timestamp"]) if conflict.example_type == "string" else int(b["timestamp"])
                    b["sign"] = signing.sign(b, SECRET)
                    strict = JudgeOptions(secret=OPTIONS.secret, merchant_no=MERCHANT, clock=time.time,
                                          strict_tables=True)
                    return judge_exchange(exchange(ep, m, b), strict).findings
        return []
    if kind in (Kind.TRADE_NO_DUPLICATE, Kind.PLATFORM_TRADE_NO_DUPLICATE):
        session = Session(OPTIONS)
        answer = _answer_of(ep, market, body)
        first = exchange(ep, market, body, response=Response(200, {}, json.dumps(answer)))
        return judge(first, session) + judge(first, session)
    if kind.value.startswith("response."):
        answer = _answer_of(ep, market, body)
        broken_answers = {
            Kind.RESPONSE_JSON: lambda: "<html>502</html>",
            Kind.RESPONSE_DUPLICATE_KEY: lambda: json.dumps(answer)[:-1] + ', "code": "0000"}',
            Kind.RESPONSE_REQUIRED: lambda: json.dumps({k: v for k, v in answer.items() if k != "msg"}),
            Kind.RESPONSE_TYPE: lambda: json.dumps({**answer, "code": 0}),
            Kind.RESPONSE_ECHO: lambda: json.dumps({**answer, "data": {**answer["data"], "tradeNo": "someone-else"}}),
            Kind.RESPONSE_FORMAT: lambda: json.dumps({**answer, "data": {**answer["data"], "paymentUrl": "not a url"}}),
        }
        text = broken_answers[kind]()
        return judge_exchange(exchange(ep, market, body, response=Response(200, {}, text)), OPTIONS).findings
    found = _by_mutation(ep, kind)
    assert found is not None, (ep.name, kind)
    return found


RULES = [(e.name, k) for e in ENDPOINTS.values() for k in e.rules]


@pytest.mark.parametrize("name, kind", RULES, ids=[f"{n}:{k.value}" for n, k in RULES])
def test_every_rule_of_every_endpoint_can_fire(name: str, kind: Kind) -> None:
    """A rule that can never fire is a lie in the catalogue (and its words are never read)."""
    ep = ENDPOINTS[name]
    found = _provoke(ep, kind)
    assert ep.rule(kind).id in {f.rule for f in found}, (name, kind, [f.rule for f in found])
