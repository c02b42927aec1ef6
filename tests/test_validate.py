"""`vexora-conformance validate`: the right rule per planted defect, every report format, broken inputs."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from examples import make_captures as mc
from vexora_conformance.cli import run
from vexora_conformance.contract.rules import catalogue
from vexora_conformance.doors import capture
from vexora_conformance.doors import validate as validate_mod

CANARY = "canary-secret-7d41"


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("captures")
    mc.write(d)
    return d


def cli(args: list[str], env_secret: str | None = mc.SECRET, stdin: Any = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        if env_secret is None:
            mp.delenv("VEXORA_SECRET", raising=False)
        else:
            mp.setenv("VEXORA_SECRET", env_secret)
        code = run(args, out, err, stdin=stdin)
    return code, out.getvalue(), err.getvalue()


def by_index(report: dict[str, Any]) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for f in report["findings"]:
        found.setdefault(f["index"], set()).add(f["rule"])
    return found


@pytest.mark.parametrize("name, first_index", [("checkout.jsonl", 0), ("checkout.har", 1)])
def test_each_planted_defect_gets_its_rule_and_clean_exchanges_get_none(captures: Path, name: str,
                                                                       first_index: int) -> None:
    code, out, err = cli(["validate", str(captures / name), "--merchant-no", mc.MERCHANT, "--format", "json"])
    assert code == 1, err
    report = json.loads(out)
    found = by_index(report)
    for n, (label, rule, *_rest) in enumerate(mc.cases()):
        rules = found.get(n + first_index, set())
        errors = {r for r in rules if catalogue()[r].severity == "error"}
        if rule is None:
            assert errors == set(), label
        else:
            assert rule in rules, (label, rules)
    assert report["summary"]["exchanges"] == len(mc.cases())
    assert report["summary"]["skipped"] == (1 if name.endswith(".har") else 0)


def test_the_planted_defects_cover_every_traffic_rule() -> None:
    """Every Checkout rule, and a few of each other endpoint (every rule of every endpoint fires in
    tests/test_registry.py; the rest share the same checks)."""
    planted = {rule for _, rule, *_ in mc.cases() if rule}
    checkout = {r.id for r in catalogue().values() if r.endpoint == "checkout"}
    not_in_traffic = {"doc.conflict", "request.advice", "request.format"}  # tested separately below, and in test_judge
    conversation = {"query.sign.mismatch", "query.request.required", "query.request.advice",
                    "query.response.echo", "notify.reply", "notify.reply-padded", "notify.accepts-bad-sign",
                    "notify.malformed-accepted", "payin-submit.request.advice", "payout.trade-no.duplicate",
                    "payout.request.advice", "payout.sign.mismatch", "payout.request.required",
                    "balance.request.merchant-no"}
    assert planted == (checkout - not_in_traffic) | conversation


def test_text_output_names_exchange_rule_field_and_hint(captures: Path) -> None:
    code, out, _ = cli(["validate", str(captures / "checkout.jsonl")])
    assert code == 1
    assert "checkout.jsonl#14" in out
    line = next(ln for ln in out.splitlines() if "sign.mismatch" in ln)
    assert "/sign" in line
    assert "diagnosis: insertion-order" in out
    assert out.strip().splitlines()[-1].startswith(f"FAIL: {len(mc.cases())} exchange(s) judged")
    assert "\033[" not in out  # not a TTY: no colour


def test_clean_capture_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "clean.jsonl"
    path.write_text("\n".join(mc.jsonl_lines()[:2]) + "\n")
    code, out, _ = cli(["validate", str(path)])
    assert code == 0
    assert out.strip().splitlines()[-1].startswith("PASS: 2 exchange(s) judged")


def test_without_a_secret_validate_refuses_unless_told_not_to_check_signs(captures: Path) -> None:
    code, out, err = cli(["validate", str(captures / "checkout.jsonl")], env_secret=None)
    assert code == 2 and out == "" and "--no-sign-check" in err and len(err.strip().splitlines()) == 1
    code, out, _ = cli(["validate", str(captures / "checkout.jsonl"), "--format", "json", "--no-sign-check"],
                       env_secret=None)
    assert code == 1
    report = json.loads(out)
    assert report["summary"]["by_rule"]["sign.unchecked"] == 1
    assert "sign.mismatch" not in report["summary"]["by_rule"]


def test_strict_mode_names_the_pages_conflicts(captures: Path) -> None:
    code, out, _ = cli(["validate", str(captures / "checkout.jsonl"), "--strict-tables", "--format", "json"])
    assert code == 1
    report = json.loads(out)
    conflicts = {(f["index"], f["pointer"]) for f in report["findings"] if f["rule"] == "doc.conflict"}
    assert (0, "/timestamp") in conflicts and (0, "/response/success") in conflicts
    assert (1, "/timestamp") not in conflicts  # exchange 1 sends the table's long


def test_junit_is_parseable_with_one_unique_case_per_exchange(captures: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.xml"
    code, out, _ = cli(["validate", str(captures / "checkout.har"), "--format", "junit", "--output", str(target)])
    assert code == 1 and out == ""
    root = ET.parse(target).getroot()
    cases = root.findall(".//testcase")
    assert len(cases) == len(mc.cases())
    assert len({c.get("name") for c in cases}) == len(cases)
    failed = [c for c in cases if c.find("failure") is not None]
    assert 0 < len(failed) < len(cases)
    assert root.find("testsuite").get("failures") == str(len(failed))  # type: ignore[union-attr]


def test_junit_strips_control_characters(tmp_path: Path) -> None:
    record = json.loads(mc.jsonl_lines()[2])
    record["request"]["method"] = "P\x01UT\x1b"
    path = tmp_path / "ctl.jsonl"
    path.write_text(json.dumps(record) + "\n")
    code, out, _ = cli(["validate", str(path), "--format", "junit"])
    assert code == 1
    ET.fromstring(out.split("\n", 1)[1])  # parses


def test_github_annotations(captures: Path) -> None:
    code, out, _ = cli(["validate", str(captures / "checkout.jsonl"), "--format", "github"])
    assert code == 1
    assert any(ln.startswith("::error file=") and "title=sign.mismatch::" in ln for ln in out.splitlines())
    assert any(ln.startswith("::warning ") for ln in out.splitlines())


@pytest.mark.parametrize("fmt", ["text", "json", "junit", "github"])
def test_secret_and_payer_data_never_appear_in_any_format(captures: Path, fmt: str) -> None:
    for name in ("checkout.jsonl", "checkout.har"):
        code, out, err = cli(["validate", str(captures / name), "--format", fmt], env_secret=CANARY)
        assert code == 1
        for private in (CANARY, "José", "jose@example.mx", "5512345678"):
            assert private not in out and private not in err


def test_jobs_2_gives_the_same_report_as_jobs_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "many.jsonl"
    path.write_text(("\n".join(mc.jsonl_lines()) + "\n") * 8)  # repeats: duplicates across chunks too
    monkeypatch.setattr(validate_mod, "CHUNK_BYTES", 7000)  # many chunks, lines cut at chunk borders
    _, one, _ = cli(["validate", str(path), "--format", "json"])
    _, two, _ = cli(["validate", str(path), "--format", "json", "--jobs", "2"])
    assert json.loads(one) == json.loads(two)
    assert json.loads(two)["summary"]["exchanges"] == 8 * len(mc.cases())
    # JUnit names every exchange: the workers then ship clean records with their names
    _, one, _ = cli(["validate", str(path), "--format", "junit"])
    _, two, _ = cli(["validate", str(path), "--format", "junit", "--jobs", "2"])
    assert one == two and one.count("<testcase") == 8 * len(mc.cases())


def test_stdin_is_read_with_dash(captures: Path) -> None:
    stream = io.TextIOWrapper(io.BytesIO((captures / "checkout.jsonl").read_bytes()))
    code, out, _ = cli(["validate", "-", "--format", "json"], stdin=stream)
    assert code == 1 and json.loads(out)["summary"]["exchanges"] == len(mc.cases())


# --- broken inputs: exit 2 or a finding, one line, never a traceback ---


def _broken_inputs(tmp: Path) -> dict[str, bytes]:
    good = mc.jsonl_lines()[0].encode()
    return {
        "empty.jsonl": b"",
        "truncated.har": json.dumps(mc.har()).encode()[:-4000],
        "binary.bin": bytes(range(256)) * 64,
        "invalid-utf8.jsonl": b"\xff\xfe" + good + b"\n",
        "deep.jsonl": b"[" * 100000 + b"\n",
        "deep-body.jsonl": json.dumps({"request": {"method": "POST", "url": mc.BASE + "/v1/vexora/checkout",
                                                   "headers": {}, "body": "[" * 5000}}).encode() + b"\n",
        "array.jsonl": b"[1, 2]\n",
        "har-not-object.har": b"[]",
        "no-checkout.jsonl": json.dumps({"request": {"method": "GET", "url": "https://x/a"}}).encode() + b"\n",
    }


@pytest.mark.parametrize("name", list(_broken_inputs(Path("."))))
def test_broken_input_gives_a_one_line_reason(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(_broken_inputs(tmp_path)[name])
    code, out, err = cli(["validate", str(path), "--format", "json"])
    assert "Traceback" not in out + err
    if code == 2:
        assert len(err.strip().splitlines()) == 1 and "error:" in err
    else:
        assert code == 1
        assert any(f["rule"] in ("input.malformed", "request.json") for f in json.loads(out)["findings"])


def test_bad_records_do_not_lose_the_rest(tmp_path: Path) -> None:
    lines = mc.jsonl_lines()
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join([lines[0].encode(), b"{not json", b"\xff\xff", lines[2].encode()]) + b"\n")
    code, out, _ = cli(["validate", str(path), "--format", "json"])
    assert code == 1
    report = json.loads(out)
    assert report["summary"]["exchanges"] == 2 and report["summary"]["malformed"] == 2
    assert {f["index"] for f in report["findings"] if f["rule"] == "input.malformed"} == {1, 2}
    assert any(f["rule"] == "request.method" and f["index"] == 3 for f in report["findings"])


def test_an_over_long_line_is_skipped_without_holding_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(capture, "MAX_RECORD_BYTES", 1024)
    path = tmp_path / "long.jsonl"
    lines = mc.jsonl_lines()
    path.write_bytes(lines[0].encode()[:50] + b"x" * 100_000 + b"\n" + lines[2].encode() + b"\n")
    code, out, _ = cli(["validate", str(path), "--format", "json"])
    assert code == 1
    report = json.loads(out)
    assert report["summary"]["malformed"] == 1 and report["summary"]["exchanges"] == 1
    assert any("longer than" in f["message"] for f in report["findings"] if f["rule"] == "input.malformed")


def test_truncated_har_keeps_the_entries_before_the_break(tmp_path: Path) -> None:
    text = json.dumps(mc.har())
    cut = text.index('"startedDateTime"', len(text) // 2)
    path = tmp_path / "cut.har"
    path.write_text(text[:cut])
    code, out, _ = cli(["validate", str(path), "--format", "json"])
    report = json.loads(out)
    assert code == 1 and report["summary"]["exchanges"] > 5
    assert report["findings"][-1]["rule"] == "input.malformed"


def test_har_quirks_base64_bad_base64_side_files_and_traversal(tmp_path: Path) -> None:
    har = mc.har()
    entries = har["log"]["entries"]
    body = entries[1]["request"]["postData"]["text"]
    (tmp_path / "body-1.json").write_text(body)
    entries[1]["request"]["postData"] = {"mimeType": "application/json", "_file": "body-1.json"}
    entries[2]["request"]["postData"] = {"mimeType": "application/json", "_file": "../../etc/passwd"}
    entries[3]["response"]["content"] = {"text": "not base64!", "encoding": "base64"}
    entries[4]["response"]["content"] = {"size": -1}  # omitted content
    (tmp_path / "quirks.har").write_text(json.dumps(har))
    code, out, _ = cli(["validate", str(tmp_path / "quirks.har"), "--format", "json"])
    assert code == 1
    report = json.loads(out)
    malformed = {f["index"]: f["message"] for f in report["findings"] if f["rule"] == "input.malformed"}
    assert set(malformed) == {2, 3}
    assert "refused" in malformed[2] and "base64" in malformed[3]
    assert not any(f["index"] == 1 and f["severity"] == "error" for f in report["findings"])


@pytest.mark.parametrize("args, fragment", [
    (["validate", "/nonexistent/file.har"], "cannot open"),
    (["validate", "x", "--jobs", "-1"], "--jobs"),
    (["validate", "-", "-"], "only once"),
    (["validate"], "required"),
    (["validate", "x", "--secret-env", "NOPE_NOT_SET"], "NOPE_NOT_SET"),
])
def test_usage_errors_exit_2_with_one_line(args: list[str], fragment: str) -> None:
    code, _, err = cli(args)
    assert code == 2 and fragment in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("vexora-conformance: error:")


def test_the_rule_reference_is_the_catalogue_meaning_and_all() -> None:
    """docs/rules.md is generated: every rule of every endpoint, with its severity and words, and nothing else."""
    from vexora_conformance.contract.reference import rules_markdown

    text = (Path(__file__).resolve().parents[1] / "docs" / "rules.md").read_text(encoding="utf-8")
    assert text == rules_markdown(), "regenerate: python -m vexora_conformance.contract.reference docs/rules.md"
    for rule in catalogue().values():
        assert f"| `{rule.id}` | {rule.severity} | " in text


def test_bundled_example_captures_are_current(tmp_path: Path) -> None:
    mc.write(tmp_path)
    for name in ("checkout.jsonl", "checkout.har", "sandbox-secret.txt"):
        assert (tmp_path / name).read_bytes() == (mc.HERE / name).read_bytes(), name


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    import subprocess
    import sys

    big = tmp_path / "big.jsonl"
    big.write_text(("\n".join(mc.jsonl_lines()) + "\n") * 200)  # ~1 MB of report: far more than a pipe buffer
    proc = subprocess.run(f"{sys.executable} -m vexora_conformance validate {big} | head -1", shell=True,
                          capture_output=True, text=True, env={"VEXORA_SECRET": mc.SECRET, "PATH": "/usr/bin:/bin"})
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr
    assert proc.stdout.count("\n") == 1


class Unseekable(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self.inner = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self.inner.readinto(buffer)


def test_har_with_an_integer_past_64_bits_is_read_whole(tmp_path: Path) -> None:
    """Found by fuzzing: ijson's C backend stopped at such integers; the HAR splitter reads them from files and pipes."""
    har = mc.har()
    har["log"]["entries"][0]["response"]["bodySize"] = 2**64  # valid JSON, in the unrelated first entry
    path = tmp_path / "bigint.har"
    path.write_text(json.dumps(har))
    _, out, _ = cli(["validate", str(path), "--format", "json"])
    report = json.loads(out)
    assert report["summary"]["exchanges"] == len(mc.cases()) and report["summary"]["malformed"] == 0
    stream = io.TextIOWrapper(io.BufferedReader(Unseekable(path.read_bytes())))  # like a pipe on stdin
    _, out, _ = cli(["validate", "-", "--format", "json"], stdin=stream)
    assert json.loads(out)["summary"] == {**report["summary"], "sources": ["<stdin>"]}


def test_an_unwritable_output_is_a_one_line_error(captures: Path) -> None:
    code, _, err = cli(["validate", str(captures / "checkout.jsonl"), "--output", "/nonexistent/dir/report.xml"])
    assert code == 2 and "cannot write the report" in err and "Traceback" not in err
