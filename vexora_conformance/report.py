"""Turn an Outcome into text, JSON, JUnit XML or GitHub workflow annotations.

Every message was built by the judge from field names and reasons, never from
the payer's values, and no reporter ever sees the secret.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import IO
from xml.etree import ElementTree as ET

from .models import Finding
from .validate import Outcome

# XML 1.0 cannot carry these; ElementTree would write them raw and the file would not parse.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_COLOURS = {"error": "\033[31m", "warning": "\033[33m", "dim": "\033[2m", "bold": "\033[1m", "reset": "\033[0m"}


def xml_text(text: str) -> str:
    return _XML_ILLEGAL.sub("", text)


def one_line(text: str) -> str:
    """Control characters as visible escapes: a key holding ESC or a newline cannot forge a report line."""
    return _CONTROL.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)


def _grouped(findings: list[Finding]) -> dict[tuple[str | None, int | None], list[Finding]]:
    groups: dict[tuple[str | None, int | None], list[Finding]] = defaultdict(list)
    for f in findings:
        groups[(f.source, f.index)].append(f)
    return groups


def _counts_line(outcome: Outcome) -> str:
    return (f"{outcome.exchanges} exchange(s) judged, {outcome.skipped} skipped, {outcome.malformed} malformed: "
            f"{outcome.errors} error(s), {outcome.warnings} warning(s)")


def write_text(outcome: Outcome, out: IO[str], colour: bool = False) -> None:
    def c(name: str, text: str) -> str:
        return f"{_COLOURS[name]}{text}{_COLOURS['reset']}" if colour else text

    for (source, index), found in _grouped(outcome.findings).items():
        where = f"{source}#{index}" if index is not None else str(source or "run")
        print(c("bold", one_line(where)), file=out)
        for f in found:
            field = f" {f.pointer}" if f.pointer else ""
            print(f"  {c(f.severity, f'{f.severity:<7}')} {f.rule}{one_line(f'{field}: {f.message}')}", file=out)
            if f.hint:
                print(c("dim", f"          hint: {one_line(f.hint)}"), file=out)
    verdict = "FAIL" if outcome.errors else "PASS"
    print(c("error" if outcome.errors else "bold", f"{verdict}: {_counts_line(outcome)}"), file=out)


def write_json(outcome: Outcome, out: IO[str]) -> None:
    json.dump({"summary": outcome.summary(), "findings": [f.to_dict() for f in outcome.findings]}, out,
              ensure_ascii=False, indent=2)
    out.write("\n")


def _failure_text(found: list[Finding]) -> str:
    return "\n".join(f"{f.severity} {f.rule} {f.pointer or '-'}: {f.message}" + (f" (hint: {f.hint})" if f.hint
                                                                                  else "") for f in found)


def write_junit(outcome: Outcome, out: IO[str]) -> None:
    """One test case per judged exchange (unique names), plus one per malformed record."""
    groups = _grouped(outcome.findings)
    suite = ET.Element("testsuite", name="vexora-conformance", time="0")
    cases = 0
    failures = 0
    seen: set[str] = set()
    labels = list(outcome.judged)
    labelled = {tuple(label.split(" ", 1)[0].rsplit("#", 1)) for label in labels}
    # Records that were never judged (malformed) still get a case, so nothing is lost from the report.
    labels += [f"{s}#{i} (unreadable record)" for (s, i) in groups if s is not None and i is not None
               and (s, str(i)) not in labelled]
    for label in labels:
        head = label.split(" ", 1)[0]
        source, _, idx = head.rpartition("#")
        name = xml_text(label)
        while name in seen:  # unique names: GitLab keeps only the first of duplicates
            name += "'"
        seen.add(name)
        case = ET.SubElement(suite, "testcase", classname=xml_text(source), name=name, time="0")
        cases += 1
        found = groups.get((source, int(idx))) if idx.isdigit() else None
        errors = [f for f in found or [] if f.severity == "error"]
        warnings = [f for f in found or [] if f.severity == "warning"]
        if errors:
            failures += 1
            fail = ET.SubElement(case, "failure", message=xml_text(f"{errors[0].rule}: {errors[0].message}"),
                                 type=errors[0].rule)
            fail.text = xml_text(_failure_text(errors))
        if warnings:
            ET.SubElement(case, "system-out").text = xml_text(_failure_text(warnings))
    run_level = groups.get((None, None), [])
    if run_level:
        ET.SubElement(suite, "system-out").text = xml_text(_failure_text(run_level))
    suite.set("tests", str(cases))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", "0")
    root = ET.Element("testsuites", name="vexora-conformance", tests=str(cases), failures=str(failures))
    root.append(suite)
    ET.indent(root)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(ET.tostring(root, encoding="unicode"))
    out.write("\n")


def _gh_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def write_github(outcome: Outcome, out: IO[str]) -> None:
    for f in outcome.findings:
        level = "error" if f.severity == "error" else "warning"
        props = f"title={_gh_escape(f.rule, True)}"
        if f.source and f.source != "-":
            props = f"file={_gh_escape(one_line(f.source), True)},{props}"
        where = f"#{f.index} " if f.index is not None else ""
        hint = f" (hint: {f.hint})" if f.hint else ""
        pointer = f.pointer or "-"
        print(f"::{level} {props}::{_gh_escape(one_line(f'{where}{pointer}: {f.message}{hint}'))}", file=out)
    print(_counts_line(outcome), file=out)


WRITERS = {"json": write_json, "junit": write_junit, "github": write_github}
