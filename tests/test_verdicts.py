"""Every verdict right, each word meaning one thing: the misses, false alarms and frictions a new user and a
reviewer found, each run as written (issue "Every verdict right")."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import httpx
import pytest

from examples import make_captures as mc
from tests.helpers import running_server, signed_body
from vexora_conformance.cli import build_parser, run
from vexora_conformance.contract import signing
from vexora_conformance.contract.registry import ENDPOINTS
from vexora_conformance.contract.rules import catalogue
from vexora_conformance.core.exchange import Exchange, Request, Response, header_map
from vexora_conformance.doors.fake.mock import fake_provider
from vexora_conformance.doors.notify import Case, deliver, judge_case
from vexora_conformance.doors.validate import validate
from vexora_conformance.judge.exchange import JudgeOptions, judge_exchange
from vexora_conformance.report import write_junit

ROOT = Path(__file__).resolve().parents[1]
SECRET = "verdict-secret"
OPTIONS = JudgeOptions(secret=signing.Secret(SECRET), clock=time.time)
CHECKOUT = "https://h.example/mexico/v1/vexora/checkout"
HEADERS = {"content-type": "application/json", "merchantno": "1000000001"}


def findings(body: dict[str, Any], url: str = CHECKOUT, response: Response | None = None,
             endpoint: str | None = None) -> list[tuple[str, str | None]]:
    ex = Exchange(Request("POST", url, header_map(HEADERS), json.dumps(body)), response, endpoint=endpoint)
    return [(f.rule, f.pointer) for f in judge_exchange(ex, OPTIONS).findings]


# --- misses ---

@pytest.mark.parametrize("field, value, rule", [
    ("amount", "300\n", "request.amount"), ("timestamp", "1764000000000\n", "request.format"),
    ("notifyUrl", "https://shop.example/n\n", "request.format"), ("email", "a@shop.example\n", "request.format"),
])
def test_a_trailing_newline_passes_no_pattern(field: str, value: str, rule: str) -> None:
    assert (rule, f"/{field}") in findings(signed_body(SECRET, **{field: value}))


def test_every_generated_pattern_reads_as_ecma_262_does() -> None:
    """Each pattern of every schema, held to Node's RegExp on probes that tell the readings apart."""
    node = pytest.importorskip("shutil").which("node")
    if node is None:
        pytest.skip("node is not installed: the patterns were not held to an ECMA-262 engine")
    from vexora_conformance.contract.schema.compile import ecma_regex

    patterns = sorted({r.value for e in ENDPOINTS.values() for c in e.spec.contracts() for r in c.refinements
                       if r.keyword == "pattern"})
    probes = ["", "0", "300", "300\n", "300.50", "300.505", "\n300", "1764000000000", "1764000000000\n",
              "https://a.example/x", "https://a.example/x\n", "http://a.example", "a@gmail.com", "a@gmail.com\n",
              "0be92a962072b1786a01a2cab4891a1d", "0BE92A962072B1786A01A2CAB4891A1D", "01712345678", "254712345678",
              "6281245907765", "0812345678", "2024-01-31", "ABCD0123456", "x y", "٣٠٠", "300\r", "300\u2028"]
    script = ("const [patterns, probes] = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "console.log(JSON.stringify(patterns.map(p => probes.map(s => new RegExp(p, 'u').test(s)))));")
    out = subprocess.run([node, "-e", script], input=json.dumps([patterns, probes]), capture_output=True,
                         text=True, check=True, timeout=60)
    ecma = json.loads(out.stdout)
    for pattern, verdicts in zip(patterns, ecma, strict=True):
        ours = [bool(ecma_regex(pattern).search(s)) for s in probes]
        assert ours == verdicts, (pattern, [p for p, a, b in zip(probes, ours, verdicts, strict=True) if a != b])


@pytest.mark.parametrize("window", ["nan", "inf", "-1", "0"])
def test_a_skew_window_that_would_turn_the_check_off_or_flag_everything_is_refused(window: str) -> None:
    err = io.StringIO()
    assert run(["validate", "-", "--no-sign-check", "--skew-window", window], io.StringIO(), err) == 2
    assert "--skew-window" in err.getvalue() and "Traceback" not in err.getvalue()


def _reply(text: str, status: int, note: dict[str, Any]) -> list[tuple[str, str | None]]:
    return findings(note, url="https://merchant.example/notify", endpoint="notify",
                    response=Response(status, {}, text))


def _notification(secret: str = SECRET) -> dict[str, Any]:
    b = {"platFormTradeNo": "vx1", "tradeNo": "T1", "amount": "300", "status": "0000"}
    return {**b, "sign": signing.sign(b, secret)}


def test_a_padded_ok_to_a_forged_notification_is_accepting_it() -> None:
    found = _reply(" OK ", 200, _notification("not-the-secret"))
    assert ("notify.accepts-bad-sign", "/response") in found
    delivery = deliver(lambda u, b, t: (200, " OK "), "https://m.example/n",
                       json.dumps(_notification("not-the-secret")).encode(), OPTIONS, 1.0)
    assert delivery.acknowledged is False and "notify.accepts-bad-sign" in {f.rule for f in delivery.findings}


def test_a_3xx_with_ok_is_not_an_acknowledgement() -> None:
    assert ("notify.reply", "/response") in _reply("OK", 300, _notification())
    assert ("notify.reply", "/response") not in _reply("OK", 299, _notification())
    delivery = deliver(lambda u, b, t: (300, "OK"), "https://m.example/n", json.dumps(_notification()).encode(),
                       OPTIONS, 1.0)
    assert not delivery.acknowledged
    repeat = judge_case(Case("a repeat", delivery.body, "duplicate"), delivery)
    assert [f.rule for f in repeat] == ["notify.duplicate"]


# --- false alarms ---

README_SIGNER = '''
import hashlib, json, sys
for line in sys.stdin:
    case = json.loads(line)
    body, secret = case["params"], case["secret"]
    text = "".join(f"{k}={v}" for k, v in sorted(body.items()) if k != "sign" and v not in ("", None))
    print(hashlib.md5((text + secret).encode()).hexdigest(), flush=True)
'''


def test_the_readmes_python_signer_passes_and_its_code_point_order_is_an_edge_divergence(tmp_path: Path) -> None:
    script = tmp_path / "signer.py"
    script.write_text(README_SIGNER)
    out, err = io.StringIO(), io.StringIO()
    code = run(["check-signer", "--examples", "40", "--format", "json", "--", sys.executable, str(script)], out, err)
    report = json.loads(out.getvalue())
    assert code == 0, report["root_causes"]
    assert report["root_causes"]["contract"] == [] and "codepoint-order" in report["root_causes"]["edge"]
    assert run(["check-signer", "--examples", "40", "--fail-on", "warning", "--", sys.executable, str(script)],
               io.StringIO(), io.StringIO()) == 1


def test_serve_answers_a_query_with_a_number_timestamp_and_strict_tables_names_it() -> None:
    with running_server(SECRET, "1000000001") as srv, httpx.Client(base_url=srv.base_url) as client:
        body = signed_body(SECRET)
        assert client.post("/mexico/v1/vexora/checkout", json=body,
                           headers={"merchantNo": "1000000001"}).json()["code"] == "0000"
        query = {"tradeNo": body["tradeNo"], "timestamp": int(time.time() * 1000)}
        query["sign"] = signing.sign(query, SECRET)
        answer = client.post("/mexico/v1/vexora/queryPayInResult", json=query, headers={"merchantNo": "1000000001"})
        assert answer.json()["code"] == "0000" and answer.json()["data"]["status"] == "0015"
    strict = JudgeOptions(secret=signing.Secret(SECRET), strict_tables=True)
    ex = Exchange(Request("POST", "https://h.example/v1/vexora/queryPayInResult", header_map(HEADERS),
                          json.dumps(query)))
    assert [f.rule for f in judge_exchange(ex, strict).findings] == ["query.doc.conflict"]


# --- words ---

def test_every_rule_id_the_specs_and_docs_cite_exists() -> None:
    ids = set(catalogue())
    texts = [*(ROOT / "vexora_conformance" / "contract" / "endpoints").glob("*.md"),
             *(ROOT / "docs").rglob("*.md"), ROOT / "README.md"]
    heads = {e.rule_prefix.rstrip(".") for e in ENDPOINTS.values() if e.rule_prefix} | {
        "request", "sign", "response", "trade-no", "timestamp", "doc", "input"}
    cited = {m for p in texts for m in re.findall(r"`((?:[a-z-]+\.)+[a-z-]+)`", p.read_text())}
    files = (".md", ".py", ".json", ".txt", ".mjs", ".js", ".php")  # `notify.md` names a file, not a rule
    rule_like = {c for c in cited if c.split(".", 1)[0] in heads and not c.endswith(files)}
    assert rule_like <= ids, sorted(rule_like - ids)


def test_no_rule_of_another_endpoint_speaks_of_checkouts_path_or_fields() -> None:
    for rule in catalogue().values():
        if rule.endpoint not in (None, "checkout"):
            words = rule.summary + " " + rule.hint
            assert "/v1/vexora/checkout" not in words and "wayCode" not in words and "remark" not in words, rule.id
        if rule.endpoint == "notify":  # the merchant receives it: nothing to send or remove
            assert not rule.hint.startswith(("Send", "Add", "Remove")) and "remove fields" not in rule.hint, rule.id


def test_a_wrong_sign_on_the_status_query_is_answered_sign_error() -> None:
    with fake_provider(secret=SECRET, check=False) as fake:
        query = {"tradeNo": "T1", "timestamp": str(int(time.time() * 1000))}
        query["sign"] = signing.sign(query, "another-secret")
        answer = httpx.post("https://h.example/v1/vexora/queryPayInResult", json=query,
                            headers={"merchantNo": "1000000001"}).json()
    assert (answer["code"], answer["msg"]) == ("8000", "sign error")
    assert [f.rule for f in fake.findings] == ["query.sign.mismatch"]


def test_labels_stay_data_to_the_last_step(tmp_path: Path) -> None:
    path = tmp_path / "my capture#1.jsonl"  # a space and a hash in the name
    path.write_text("\n".join(mc.jsonl_lines()) + "\n")
    outcome = validate([str(path)], JudgeOptions(secret=signing.Secret(mc.SECRET)), keep_labels=True)
    out = io.StringIO()
    write_junit(outcome, out)
    cases = ET.fromstring(out.getvalue()).findall(".//testcase")
    assert len(cases) == outcome.exchanges == len(mc.cases())
    assert not any("unreadable" in (c.get("name") or "") for c in cases)


def test_stdin_is_named_so_in_findings() -> None:
    line = mc.jsonl_lines()[2] + "\n"  # the wrong method
    out = io.StringIO()
    stdin = io.TextIOWrapper(io.BytesIO(line.encode()), encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VEXORA_SECRET", mc.SECRET)
        assert run(["validate", "-"], out, io.StringIO(), stdin=stdin) == 1
    assert "<stdin>#0" in out.getvalue() and "-#0" not in out.getvalue()


def test_a_secret_on_the_command_line_is_refused_with_the_ways_to_give_one() -> None:
    err = io.StringIO()
    assert run(["validate", "x.jsonl", "--secret", "abc"], io.StringIO(), err) == 2
    text = err.getvalue()
    assert "never taken on the command line" in text and "--secret-file" in text and "ambiguous" not in text
    assert "abc" not in text.replace("x.jsonl", "")


def test_the_exit_codes_are_in_every_commands_help() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, command in sub.choices.items():  # type: ignore[union-attr]
        assert "exit codes: 0" in command.format_help(), name


def test_without_a_secret_validate_says_so_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(mc.jsonl_lines()[0] + "\n")
    err = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("VEXORA_SECRET", raising=False)
        assert run(["validate", str(path)], io.StringIO(), err) == 2
    assert len(err.getvalue().strip().splitlines()) == 1 and "--no-sign-check" in err.getvalue()


def test_fail_on_warning_means_the_same_in_validate_and_serve(tmp_path: Path) -> None:
    path = tmp_path / "warned.jsonl"
    path.write_text(mc.jsonl_lines()[11] + "\n")  # an undocumented field: a warning only
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VEXORA_SECRET", mc.SECRET)
        assert run(["validate", str(path)], io.StringIO(), io.StringIO()) == 0
        assert run(["validate", str(path), "--fail-on", "warning"], io.StringIO(), io.StringIO()) == 1
    from vexora_conformance.core.findings import FailOn
    from vexora_conformance.doors.fake.provider import FakeProvider
    from vexora_conformance.doors.server import report_of

    fake = FakeProvider(signing.Secret(SECRET), fail_on=FailOn.WARNING)
    with fake_provider(secret=SECRET, check=False) as inner:
        httpx.post(CHECKOUT, json=signed_body(SECRET, currency="MXN"), headers={"merchantNo": "1000000001"})
    fake.calls = inner.calls
    final = report_of(fake)
    assert final.errors == 0 and final.warnings == 1 and fake.fail_on.fails(final.findings)


def test_the_context_manager_warns_as_the_fixture_does() -> None:
    from vexora_conformance.core.findings import VexoraContractWarning

    with pytest.warns(VexoraContractWarning, match="request.unknown-field"), fake_provider(secret=SECRET):
        httpx.post(CHECKOUT, json=signed_body(SECRET, currency="MXN"), headers={"merchantNo": "1000000001"})


def test_handler_findings_are_not_told_as_the_clients() -> None:
    from vexora_conformance.doors.fake.report import failure_report

    with fake_provider(secret=SECRET, check=False) as fake:
        body = signed_body(SECRET)
        httpx.post(CHECKOUT, json=body, headers={"merchantNo": "1000000001"})
        fake.deliver_notification(lambda environ, start: (start("200 OK", []), [b"success"])[1], body["tradeNo"])
    text = failure_report(fake.calls, fake.fail_on)
    assert "the notification handler broke the contract" in text and "the client broke" not in text


def test_strategies_draw_bodies_a_strict_run_finds_clean() -> None:
    from hypothesis import given, settings

    from vexora_conformance.strategies import valid_bodies

    strict = JudgeOptions(secret=signing.Secret(SECRET), clock=time.time, strict_tables=True)

    @settings(max_examples=30, deadline=None)
    @given(valid_bodies(secret=SECRET, strict_tables=True))
    def clean(body: dict[str, Any]) -> None:
        ex = Exchange(Request("POST", CHECKOUT, header_map(HEADERS), json.dumps(body)))
        assert judge_exchange(ex, strict).findings == []

    clean()
