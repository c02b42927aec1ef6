"""check-signer: correct signers pass, each single mistake is named with a minimal example, broken signers exit 2."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from vexora_conformance.cli import run
from vexora_conformance.contract import signing
from vexora_conformance.contract.signing.diagnosis import MISTAKE_IDS
from vexora_conformance.doors import signer_check
from vexora_conformance.doors.signer_check import check_signer

MISTAKEN = str(Path(__file__).with_name("signers") / "mistaken_signer.py")
# Nulls, booleans and nested values are edge tier: a signer that mishandles them diverges, failing only with --fail-on warning.
EDGE_ONLY = {"null-skipped", "boolean-as-digit", "nested-skipped", "codepoint-order"}
JS_ONLY = {"nested-as-js-string", "number-as-js", "integer-precision-lost"}  # tested with the Node signer


def check(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(["check-signer", "--examples", "150", *args], out, err)
    return code, out.getvalue(), err.getvalue()


def test_a_correct_external_signer_passes() -> None:
    code, out, err = check("--", sys.executable, MISTAKEN, "correct")
    assert code == 0, out + err
    assert out.strip().splitlines()[-1].startswith("PASS")


@pytest.mark.parametrize("mistake", [m for m in MISTAKE_IDS if m not in JS_ONLY])
def test_each_single_mistake_fails_named_with_a_minimal_example(mistake: str) -> None:
    strict = ["--fail-on", "warning"] if mistake in EDGE_ONLY else []
    code, out, err = check(*strict, "--examples", "150", "--merchant-no", "1000000001", "--format", "json", "--",
                           sys.executable, MISTAKEN, mistake)
    assert code == 1, err
    report = json.loads(out)
    first = (report["failures"] or report["divergences"])[0]
    assert any(mistake in m.split("+") for m in first["diagnosis"]), first
    assert first["expected"] != first["received"]
    assert first["expected"] == signing.sign(first["params"], first["secret"])  # reproducible as printed
    tier = "contract" if report["failures"] else "edge"
    assert report["root_causes"][tier] == [mistake]  # one mistake, one root cause


NODE_MISTAKEN = str(Path(__file__).resolve().parent / "signers" / "mistaken_signer.js")


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed on this machine: the JavaScript "
                                                          "client's mistakes were not exercised")
@pytest.mark.parametrize("mistake", [*sorted(JS_ONLY), "case-insensitive-sort"])  # the rest: the Python signer
def test_a_javascript_clients_mistakes_are_each_named(mistake: str) -> None:
    """A TypeScript-style signer: JavaScript's own number rendering comes with it, as a second root cause."""
    code, out, err = check("--fail-on", "warning", "--examples", "150", "--format", "json", "--", "node", NODE_MISTAKEN, mistake)
    report = json.loads(out)
    causes = report["root_causes"]["contract"] + report["root_causes"]["edge"]
    assert code == 1 and mistake in causes, (causes, err)
    assert set(causes) <= {mistake, "number-as-js", "integer-precision-lost"}, causes


PHP_LIKE = """
import hashlib, json, sys
for line in sys.stdin:
    case = json.loads(line)
    params = case["params"]
    keys = sorted(k for k in params if k != "sign")  # code-point order, not UTF-16
    text = "".join(f"{k}={params[k]}" for k in keys if params[k] != "")
    print(hashlib.md5((text + case["secret"].strip()).encode("utf-8", "replace")).hexdigest(), flush=True)
"""


def test_every_root_cause_of_a_signer_with_two_is_listed(tmp_path: Path) -> None:
    """A PHP-style client: code-point key order and a trimmed secret, each with its own smallest example."""
    script = tmp_path / "php_like.py"
    script.write_text(PHP_LIKE)
    code, out, _ = check("--fail-on", "warning", "--format", "json", "--", sys.executable, str(script))
    report = json.loads(out)
    # a trimmed secret breaks documented requests (contract); code-point order only astral keys (edge)
    assert code == 1 and report["root_causes"]["contract"] == ["secret-trimmed"], report
    assert "codepoint-order" in report["root_causes"]["edge"], report
    examples = {f["cause"]: f for f in report["failures"] + report["divergences"]}  # a vector or a generated body
    assert examples["secret-trimmed"]["secret"] != examples["secret-trimmed"]["secret"].strip()
    assert "U+FFFF" in examples["codepoint-order"]["reach"]["codepoint-order"]
    code, text, _ = check("--examples", "30", "--", sys.executable, str(script))  # the text form of the same
    assert "root causes: contract: " in text and "secret-trimmed" in text.splitlines()[-2]


def test_a_python_signer_that_raises_on_an_edge_case_is_a_divergence_not_a_crash() -> None:
    def ordinary(params: dict[str, Any], secret: str) -> str:
        text = "".join(f"{k}={'null' if params[k] is None else params[k]}"
                       for k in sorted(params, key=lambda k: k.encode("utf-16-be", "surrogatepass"))
                       if k != "sign" and params[k] != "")
        return hashlib.md5((text + secret).encode()).hexdigest()  # raises on a lone surrogate

    report = signer_check.check_signer(ordinary, examples=50)  # passes: edge divergences fail only strictly
    raised = [d for d in report.divergences if d.received.startswith("raised ")]
    assert raised and "lone-surrogate" in raised[0].ambiguities


def test_a_python_signer_that_raises_on_a_contract_case_fails_with_its_input() -> None:
    def broken(params: dict[str, Any], secret: str) -> str:
        raise ValueError("cannot sign")

    with pytest.raises(AssertionError, match="raised ValueError"):
        signer_check.check_signer(broken, examples=5)


def test_a_shrunk_example_is_small() -> None:
    code, out, _ = check("--format", "json", "--", sys.executable, MISTAKEN, "values-trimmed")
    failure = json.loads(out)["failures"][0]
    assert code == 1 and failure["tier"] == "contract"
    extra = set(failure["params"]) - {"timestamp", "tradeNo", "amount", "notifyUrl", "sign"}
    assert len(extra) == 1  # the one padded value the mistake needs, nothing else


def test_null_skipping_is_an_edge_divergence_without_strict() -> None:
    code, out, _ = check("--", sys.executable, MISTAKEN, "null-skipped")
    assert code == 0
    assert "edge-tier divergence" in out and "(null-skipped)" in out and "reach of null-skipped" in out


def test_text_report_shows_expected_received_and_diagnosis() -> None:
    code, out, _ = check("--", sys.executable, MISTAKEN, "ampersand-joined")
    assert code == 1
    for label in ("params:", "hashed:", "expected:", "received:", "diagnosis: ampersand-joined"):
        assert label in out


@pytest.mark.parametrize("behaviour, fragment", [
    ("crash", "exited with code 3"), ("garbage", "not a 32-hex sign"), ("hang", "did not answer"),
    ("silent", "did not answer"),
])
def test_a_broken_signer_gives_exit_2_within_seconds(behaviour: str, fragment: str) -> None:
    started = time.monotonic()
    code, _, err = check("--timeout", "1", "--", sys.executable, MISTAKEN, behaviour)
    assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1
    assert time.monotonic() - started < 10


def test_a_missing_program_or_command_is_a_usage_error() -> None:
    assert check("--", "/nonexistent/signer")[0] == 2
    code, _, err = check()
    assert code == 2 and "after --" in err


def test_check_signer_from_python() -> None:
    report = check_signer(signing.sign, examples=100)
    assert report.ok() and report.cases >= 66 + 100

    def trimmed(params: dict[str, Any], secret: Any) -> str:
        return signing.sign({k: v.strip() if isinstance(v, str) else v for k, v in params.items()}, secret)

    with pytest.raises(AssertionError, match="diagnosis: values-trimmed"):
        check_signer(trimmed, examples=100)


def _example_signers(tmp_path: Path) -> dict[str, list[str] | None]:

    from tests.crosscheck import java_argv, node_argv

    php = Path(__file__).resolve().parents[1] / "examples" / "signers" / "signer.php"
    java = java_argv(tmp_path)
    return {
        "node": [a for a in node_argv() or [] if a != "--canonical"] or None,
        "java": [a for a in java if a != "--canonical"] if java else None,
        "php": ["php", str(php)] if _php_with_mbstring() else None,
    }


def _php_with_mbstring() -> bool:
    """php, with the mbstring extension its example signer needs (some builds leave it out)."""
    import shutil
    import subprocess

    if shutil.which("php") is None:
        return False
    modules = subprocess.run(["php", "-m"], capture_output=True, text=True, timeout=30).stdout.split()
    return "mbstring" in modules


@pytest.mark.parametrize("language", ["node", "java", "php"])
def test_the_example_signers_in_other_languages_pass(tmp_path: Path, language: str) -> None:
    argv = _example_signers(tmp_path)[language]
    if argv is None:
        pytest.skip(f"{language} is not installed on this machine (or php lacks mbstring): its example signer was "
                    "not exercised")
    code, out, err = check("--", *argv)
    assert code == 0, (out, err)


def test_examples_0_runs_the_vectors_only() -> None:
    out, err = io.StringIO(), io.StringIO()
    code = run(["check-signer", "--examples", "0", "--", sys.executable, MISTAKEN, "correct"], out, err)
    assert code == 0 and "PASS: 65 case(s)" in out.getvalue(), err.getvalue()
