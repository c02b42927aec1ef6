"""Bodies built to make the judge work without end: many keys, many uncertain values, a wrong sign.

Before: one 3.9 MiB record of 200,000 null, boolean, float and nested values with a wrong sign took 27 s and
2.5 GB in the diagnosis (validate: "internal error (MemoryError)"); one 4.4 MiB record gave 600,000 findings
and a 186 MB report; the plugin turned such a body into 300,000 pytest warnings. Now the diagnosis is bounded
by the body's keys and says when it was cut, and each exchange lists at most 20 findings of each rule.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.hostile import CANARY, cli
from vexora_conformance.contract import signing
from vexora_conformance.contract.signing.diagnosis import MAX_KEYS_PAIRS, diagnose
from vexora_conformance.judge.capped import MAX_PER_RULE

UNCERTAIN: list[Any] = [None, True, 1.5, [1], {"a": 1}]


def record(body: dict[str, Any]) -> str:
    return json.dumps({"request": {"method": "POST", "url": "https://h.example/mx/v1/vexora/checkout",
                                   "headers": {"Content-Type": "application/json", "merchantNo": "1000000001"},
                                   "body": json.dumps(body)}})


def base(n: int) -> dict[str, Any]:
    body: dict[str, Any] = {"timestamp": "1728609257212", "tradeNo": "T-many", "amount": "300",
                            "notifyUrl": "https://m.example/n"}
    body.update({f"k{i:07d}": UNCERTAIN[i % len(UNCERTAIN)] for i in range(n)})
    body["sign"] = "0" * 32  # wrong
    return body


def test_200k_uncertain_values_with_a_wrong_sign_are_judged_in_bounds(tmp_path: Path) -> None:
    path = tmp_path / "many.jsonl"
    path.write_text(record(base(200_000)) + "\n" + record(base(3)) + "\n")
    assert path.stat().st_size > 3 * 2**20
    ran = cli(["validate", str(path), "--format", "json", "--merchant-no", "1000000001"], timeout=120)
    assert ran.code == 1, ran.err
    assert len(ran.out) < 200_000, f"the report is {len(ran.out):,} characters"
    report = json.loads(ran.out)
    assert report["summary"]["exchanges"] == 2  # the small record after it is judged too
    first = [f for f in report["findings"] if f["index"] == 0]
    mismatch = next(f for f in first if f["rule"] == "sign.mismatch")
    assert "not run" in mismatch["hint"] and "200,004 keys" in mismatch["hint"]
    per_rule: dict[str, int] = {}
    for f in first:
        per_rule[f["rule"]] = per_rule.get(f["rule"], 0) + 1
    assert max(per_rule.values()) <= MAX_PER_RULE + 1
    more = [f for f in first if f["rule"] == "request.unknown-field" and f.get("details", {}).get("not_listed")]
    assert more and more[0]["details"]["not_listed"] == 200_000 - MAX_PER_RULE
    assert ran.clean_of_secrets()


def test_600k_undocumented_keys_make_a_short_report(tmp_path: Path) -> None:
    body = {f"x{i}": "v" for i in range(600_000)}
    path = tmp_path / "wide.jsonl"
    path.write_text(record(body) + "\n")
    ran = cli(["validate", str(path), "--no-sign-check", "--format", "jsonl"], timeout=120)
    assert ran.code == 1 and len(ran.out.splitlines()) < 100


def test_the_diagnosis_says_when_it_searched_less() -> None:
    secret = signing.Secret("s")
    wide = {f"k{i:04d}": "v" for i in range(MAX_KEYS_PAIRS + 10)}
    upper = signing.sign(wide, secret).upper()
    d = diagnose(wide, secret, upper)
    assert d.matches == ("uppercase-hex",) and "single mistakes only" in d.summary
    huge = {f"k{i:05d}": None for i in range(5000)}
    d = diagnose(huge, secret, "0" * 32)
    assert not d.matches and "not run" in d.summary and len(d.summary) < 600


def test_the_plugin_lists_a_wide_body_in_few_warnings(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
import httpx
from vexora_conformance import signing

def test_wide(vexora_mock):
    body = {"timestamp": "1728609257212", "tradeNo": "W1", "amount": "300", "notifyUrl": "https://m.example/n"}
    body.update({f"extra{i}": "v" for i in range(50_000)})
    body["sign"] = signing.sign(body, vexora_mock.secret)
    httpx.post(vexora_mock.base_url + "/v1/vexora/checkout", json=body,
               headers={"merchantNo": vexora_mock.merchant_no})
""")
    result = pytester.runpytest("-p", "no:cacheprovider", "-q")
    # the first 20 undocumented fields, one "more", and the page's 2024 timestamp (timestamp.skew)
    result.assert_outcomes(passed=1, warnings=MAX_PER_RULE + 1 + 1)


def test_no_secret_in_a_cut_diagnosis() -> None:
    secret = signing.Secret(CANARY)
    d = diagnose(base(2000), secret, "0" * 32)
    assert CANARY not in repr(d) and CANARY not in d.summary
