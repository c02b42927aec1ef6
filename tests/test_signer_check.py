"""check-signer: correct signers pass, each single mistake is named with a minimal example, broken signers exit 2."""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from vexora_conformance.cli import run
from vexora_conformance.contract import signing
from vexora_conformance.contract.diagnosis import MISTAKE_IDS
from vexora_conformance.signer_check import check_signer

MISTAKEN = str(Path(__file__).with_name("signers") / "mistaken_signer.py")
# Nulls are edge tier: a signer that skips them diverges, and fails only with --strict.
EDGE_ONLY = {"null-skipped"}


def check(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(["check-signer", "--examples", "150", *args], out, err)
    return code, out.getvalue(), err.getvalue()


def test_a_correct_external_signer_passes() -> None:
    code, out, err = check("--", sys.executable, MISTAKEN, "correct")
    assert code == 0, out + err
    assert out.strip().splitlines()[-1].startswith("PASS")


@pytest.mark.parametrize("mistake", MISTAKE_IDS)
def test_each_single_mistake_fails_named_with_a_minimal_example(mistake: str) -> None:
    strict = ["--strict"] if mistake in EDGE_ONLY else []
    code, out, err = check(*strict, "--merchant-no", "1000000001", "--format", "json", "--", sys.executable, MISTAKEN,
                           mistake)
    assert code == 1, err
    report = json.loads(out)
    first = (report["failures"] or report["divergences"])[0]
    assert any(mistake in m.split("+") for m in first["diagnosis"]), first
    assert first["expected"] != first["received"]
    assert first["expected"] == signing.sign(first["params"], first["secret"])  # reproducible as printed


def test_a_shrunk_example_is_small() -> None:
    code, out, _ = check("--format", "json", "--", sys.executable, MISTAKEN, "values-trimmed")
    failure = json.loads(out)["failures"][0]
    assert code == 1 and failure["tier"] == "contract"
    extra = set(failure["params"]) - {"timestamp", "tradeNo", "amount", "notifyUrl", "sign"}
    assert len(extra) == 1  # the one padded value the mistake needs, nothing else


def test_null_skipping_is_an_edge_divergence_without_strict() -> None:
    code, out, _ = check("--", sys.executable, MISTAKEN, "null-skipped")
    assert code == 0
    assert "edge-tier divergence" in out and "null-value" in out


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
    import shutil

    from tests.crosscheck import java_argv, node_argv

    php = Path(__file__).resolve().parents[1] / "examples" / "signers" / "signer.php"
    java = java_argv(tmp_path)
    return {
        "node": [a for a in node_argv() or [] if a != "--canonical"] or None,
        "java": [a for a in java if a != "--canonical"] if java else None,
        "php": ["php", str(php)] if shutil.which("php") else None,
    }


@pytest.mark.parametrize("language", ["node", "java", "php"])
def test_the_example_signers_in_other_languages_pass(tmp_path: Path, language: str) -> None:
    argv = _example_signers(tmp_path)[language]
    if argv is None:
        pytest.skip(f"{language} is not installed on this machine: its example signer was not exercised")
    code, out, err = check("--", *argv)
    assert code == 0, (out, err)


def test_examples_0_runs_the_vectors_only() -> None:
    out, err = io.StringIO(), io.StringIO()
    code = run(["check-signer", "--examples", "0", "--", sys.executable, MISTAKEN, "correct"], out, err)
    assert code == 0 and "PASS: 65 case(s)" in out.getvalue(), err.getvalue()
