"""Write a validate run as text, JSON, JSON lines, JUnit XML or GitHub workflow annotations, as it goes.

Each writer is a ``validate.Sink``: it is handed each record's findings when the
record is concluded and writes them at once (JSON and JUnit write their summary
or counts last, JUnit through a spool file), so a report's memory does not grow
with its findings. ``WRITERS`` replays a finished ``Outcome`` (check-notify's).

Every message was built by the judge from field names and reasons, never from
the payer's values, and no reporter ever sees the secret.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter, defaultdict
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

import orjson

from ..core.findings import Finding
from ..core.outcome import Outcome
from ..core.text import RULES_URL, STDIN, one_line, xml_text

_COLOURS = {"error": "\033[31m", "warning": "\033[33m", "dim": "\033[2m", "bold": "\033[1m", "reset": "\033[0m"}
SPOOL_BYTES = 4 * 1024 * 1024  # JUnit test cases kept in memory before they spill to a temporary file


def dumps(value: Any, indent: bool = False) -> str:
    """``json.dumps(value, ensure_ascii=False)`` (indent 2, or compact), written by orjson: the same text.

    orjson refuses a lone surrogate (it has no UTF-8 form), which a key in a capture may hold: json writes it.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2 if indent else 0).decode("utf-8")
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value, ensure_ascii=False, **({"indent": 2} if indent else {"separators": (",", ":")}))


def _counts_line(outcome: Outcome) -> str:
    return (f"{outcome.exchanges} exchange(s) judged, {outcome.skipped} skipped, {outcome.malformed} malformed: "
            f"{outcome.errors} error(s), {outcome.warnings} warning(s)")


class TextReport:
    """Findings under their record's name as they come, then PASS or FAIL with the counts."""

    wants_labels = False

    def __init__(self, out: IO[str], colour: bool = False) -> None:
        self.out, self.colour = out, colour

    def c(self, name: str, text: str) -> str:
        return f"{_COLOURS[name]}{text}{_COLOURS['reset']}" if self.colour else text

    def record(self, source: str | None, index: int | None, what: str | None, findings: list[Finding]) -> None:
        if not findings:
            return
        where = f"{source}#{index}" if index is not None else str(source or "run")
        lines = [self.c("bold", one_line(where))]
        for f in findings:
            field = f" {f.pointer}" if f.pointer else ""
            lines.append(f"  {self.c(f.severity, f'{f.severity:<7}')} {f.rule}{one_line(f'{field}: {f.message}')}")
            if f.hint:
                lines.append(self.c("dim", f"          hint: {one_line(f.hint)}"))
            if f.basis:
                lines.append(self.c("dim", f"          basis: {one_line(f.basis)}"))
        self.out.write("\n".join(lines) + "\n")

    def finish(self, outcome: Outcome) -> None:
        for line in outcome.notes:
            print(self.c("dim", f"note: {line}"), file=self.out)
        if outcome.errors or outcome.warnings:
            print(self.c("dim", f"every rule, and what to do about it: {RULES_URL}"), file=self.out)
        verdict = "FAIL" if outcome.errors else "PASS"
        print(self.c("error" if outcome.errors else "bold", f"{verdict}: {_counts_line(outcome)}"), file=self.out)


class JsonReport:
    """One JSON document: ``findings`` as they come, then ``summary`` (the counts are known only at the end)."""

    wants_labels = False

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.written = 0

    def record(self, source: str | None, index: int | None, what: str | None, findings: list[Finding]) -> None:
        for f in findings:
            item = dumps(f.to_dict(), indent=True).replace("\n", "\n    ")
            self.out.write(("{\n  \"findings\": [\n    " if not self.written else ",\n    ") + item)
            self.written += 1

    def finish(self, outcome: Outcome) -> None:
        summary = dumps(outcome.summary(), indent=True).replace("\n", "\n  ")
        head = "\n  ],\n" if self.written else '{\n  "findings": [],\n'
        self.out.write(f'{head}  "summary": {summary}\n}}\n')


class JsonLinesReport:
    """One finding per line (compact JSON), then one ``{"summary": ...}`` line."""

    wants_labels = False

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def record(self, source: str | None, index: int | None, what: str | None, findings: list[Finding]) -> None:
        for f in findings:
            self.out.write(dumps(f.to_dict()) + "\n")

    def finish(self, outcome: Outcome) -> None:
        self.out.write(dumps({"summary": outcome.summary()}) + "\n")


def _gh_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


class GithubReport:
    """One workflow command per finding (GitHub shows them on the run and the pull request), then the counts."""

    wants_labels = False

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def record(self, source: str | None, index: int | None, what: str | None, findings: list[Finding]) -> None:
        for f in findings:
            level = "error" if f.severity == "error" else "warning"
            props = f"title={_gh_escape(f.rule, True)}"
            if f.source and f.source != STDIN:
                props = f"file={_gh_escape(one_line(f.source), True)},{props}"
            where = f"#{f.index} " if f.index is not None else ""
            hint = f" (hint: {f.hint})" if f.hint else ""
            pointer = f.pointer or "-"
            print(f"::{level} {props}::{_gh_escape(one_line(f'{where}{pointer}: {f.message}{hint}'))}", file=self.out)

    def finish(self, outcome: Outcome) -> None:
        print(_counts_line(outcome), file=self.out)


def _failure_text(found: list[Finding]) -> str:
    return "\n".join(f"{f.severity} {f.rule} {f.pointer or '-'}: {f.message}" + (f" (hint: {f.hint})" if f.hint
                                                                                  else "") for f in found)


class JunitReport:
    """One test case per judged exchange (unique names) and per unreadable record.

    The suite's counts come first in the file but are known only at the end: the cases go to a spool
    (memory up to ``SPOOL_BYTES``, then a temporary file) and are copied after the header.
    """

    wants_labels = True

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.spool = tempfile.SpooledTemporaryFile(SPOOL_BYTES, mode="w+", encoding="utf-8")  # noqa: SIM115
        self.cases = self.failures = 0
        self.readings: Counter[str] = Counter()  # a source read twice (validate f f): its names get a mark
        self.last_index: dict[str, int] = {}
        self.run_level: list[Finding] = []

    def record(self, source: str | None, index: int | None, what: str | None, findings: list[Finding]) -> None:
        if source is None or index is None:
            self.run_level += findings
            return
        if index <= self.last_index.get(source, -1) or source not in self.readings:
            self.readings[source] += 1  # indices start again: another reading of the same source
        self.last_index[source] = index
        label = f"{source}#{index} {what if what is not None else '(unreadable record)'}"
        name = xml_text(label) + "'" * (self.readings[source] - 1)  # unique: GitLab keeps only the first
        self.cases += 1
        errors = [f for f in findings if f.severity == "error"]
        warnings = [f for f in findings if f.severity == "warning"]
        w = self.spool.write
        w(f"    <testcase classname={quoteattr(xml_text(source))} name={quoteattr(name)} time=\"0\"")
        if not errors and not warnings:
            w(" />\n")
            return
        w(">\n")
        if errors:
            self.failures += 1
            message = xml_text(f"{errors[0].rule}: {errors[0].message}")
            w(f"      <failure message={quoteattr(message)} type={quoteattr(xml_text(errors[0].rule))}>"
              f"{escape(xml_text(_failure_text(errors)))}</failure>\n")
        if warnings:
            w(f"      <system-out>{escape(xml_text(_failure_text(warnings)))}</system-out>\n")
        w("    </testcase>\n")

    def finish(self, outcome: Outcome) -> None:
        out = self.out
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        out.write(f'<testsuites name="vexora-conformance" tests="{self.cases}" failures="{self.failures}">\n')
        out.write(f'  <testsuite name="vexora-conformance" time="0" tests="{self.cases}" '
                  f'failures="{self.failures}" errors="0" skipped="0"')
        if not self.cases and not self.run_level:
            out.write(" />\n</testsuites>\n")
            return
        out.write(">\n")
        self.spool.seek(0)
        shutil.copyfileobj(self.spool, out)
        self.spool.close()
        if self.run_level:
            out.write(f"    <system-out>{escape(xml_text(_failure_text(self.run_level)))}</system-out>\n")
        out.write("  </testsuite>\n</testsuites>\n")


SINKS = {"text": TextReport, "json": JsonReport, "jsonl": JsonLinesReport, "github": GithubReport,
         "junit": JunitReport}


def replay(outcome: Outcome, sink: Any) -> None:
    """Write a finished ``Outcome`` (its findings and, for JUnit, its labels) through a streaming writer."""
    groups: dict[tuple[str | None, int | None], list[Finding]] = defaultdict(list)
    for f in outcome.findings:
        groups[(f.source, f.index)].append(f)
    if sink.wants_labels:
        for judged in outcome.judged:
            sink.record(judged.source, judged.index, judged.what, groups.pop((judged.source, judged.index), []))
    for (source, index), found in groups.items():
        # Findings of no judged exchange: unreadable records (JUnit names them so) or run-level ones.
        sink.record(source, index, None if sink.wants_labels or index is None else "", found)
    sink.finish(outcome)


def write_text(outcome: Outcome, out: IO[str], colour: bool = False) -> None:
    replay(outcome, TextReport(out, colour))


def write_json(outcome: Outcome, out: IO[str]) -> None:
    replay(outcome, JsonReport(out))


def write_jsonl(outcome: Outcome, out: IO[str]) -> None:
    replay(outcome, JsonLinesReport(out))


def write_junit(outcome: Outcome, out: IO[str]) -> None:
    replay(outcome, JunitReport(out))


def write_github(outcome: Outcome, out: IO[str]) -> None:
    replay(outcome, GithubReport(out))


WRITERS = {"json": write_json, "jsonl": write_jsonl, "junit": write_junit, "github": write_github}
