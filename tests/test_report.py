"""Streaming reports: every format agrees with the findings, JSON is json's bytes, nothing waits for the end."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from examples import make_captures as mc
from vexora_conformance import report
from vexora_conformance.cli import run
from vexora_conformance.core.findings import Finding
from vexora_conformance.doors.validate import Outcome

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),  # text includes lone surrogates and controls
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


@given(json_values)
def test_dumps_writes_what_json_writes(value: Any) -> None:
    assert report.dumps(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    assert report.dumps(value, indent=True) == json.dumps(value, ensure_ascii=False, indent=2)


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("captures")
    mc.write(d)
    return d / "checkout.jsonl"


def _cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VEXORA_SECRET", mc.SECRET)
        code = run(["validate", *args], out, io.StringIO())
    return code, out.getvalue()


def test_jsonl_is_one_finding_per_line_then_the_summary(capture: Path) -> None:
    code, text = _cli(str(capture), "--format", "jsonl")
    _, whole = _cli(str(capture), "--format", "json")
    lines = [json.loads(line) for line in text.splitlines()]
    assert code == 1
    assert lines[-1] == {"summary": json.loads(whole)["summary"]}
    assert lines[:-1] == json.loads(whole)["findings"]


def test_json_has_the_findings_then_the_summary(capture: Path) -> None:
    _, text = _cli(str(capture), "--format", "json")
    doc = json.loads(text)
    assert list(doc) == ["findings", "summary"]
    assert doc["summary"]["errors"] == sum(f["severity"] == "error" for f in doc["findings"])


def test_findings_reach_the_report_while_the_capture_is_still_being_read(
        capture: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A report that waited for the end would see its first record only after every line was read."""
    from vexora_conformance.contract.signing.reference import Secret
    from vexora_conformance.doors import validate as validate_module
    from vexora_conformance.judge.exchange import JudgeOptions

    lines_read = 0
    real = validate_module.accept_line

    def counting(line: bytes, options: JudgeOptions) -> Any:
        nonlocal lines_read
        lines_read += 1
        return real(line, options)

    class Spy:
        wants_labels = False

        def __init__(self) -> None:
            self.read_when_called: list[int] = []

        def record(self, source: str, index: int, what: str | None, findings: list[Finding]) -> None:
            self.read_when_called.append(lines_read)

        def finish(self, outcome: Outcome) -> None:
            pass

    monkeypatch.setattr(validate_module, "accept_line", counting)
    spy = Spy()
    outcome = validate_module.validate([str(capture)], JudgeOptions(secret=Secret(mc.SECRET)), sink=spy,
                                       collect=False)
    assert outcome.findings == []  # not collected: the sink had them
    assert len(spy.read_when_called) > 10
    assert spy.read_when_called[0] < lines_read / 4  # the first findings went out with most lines unread
    assert spy.read_when_called == sorted(spy.read_when_called)


def test_a_run_with_nothing_to_judge_writes_no_report(tmp_path: Path) -> None:
    path = tmp_path / "junk.jsonl"
    path.write_text("not json\n{}\n")
    out, err = io.StringIO(), io.StringIO()
    assert run(["validate", str(path), "--format", "json", "--no-sign-check"], out, err) == 2
    assert out.getvalue() == "" and "nothing to judge" in err.getvalue()


def test_junit_names_a_second_reading_apart(capture: Path) -> None:
    from xml.etree import ElementTree as ET

    _, text = _cli(str(capture), str(capture), "--format", "junit")
    names = [case.get("name") for case in ET.fromstring(text).iter("testcase")]
    assert len(names) == len(set(names)) == 2 * len(mc.cases())


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats() |
    st.text(st.characters(codec="utf-8")) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner) |
    st.dictionaries(st.text(max_size=4) | st.integers(0, 3), inner, max_size=4),
    max_leaves=12)


@given(_JSON_VALUES)
def test_json_bytes_writes_what_json_dumps_writes(value: Any) -> None:
    """json_bytes takes orjson where it writes alike: held to the stdlib writer on floats, big integers,
    lone surrogates, keys that are not strings and tuples."""
    import json

    from vexora_conformance.core.jsontext import json_bytes

    try:
        expected = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:
        expected = json.dumps(value, separators=(",", ":")).encode("ascii")
    assert json_bytes(value) == expected
