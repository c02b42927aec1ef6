"""The failure text of the fake provider: what a failing test shows, one line per finding."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...core.findings import FailOn, Severity
from ...core.text import RULES_URL, one_line


def failure_report(calls: Sequence[Any], fail_on: FailOn) -> str:
    """One line per finding (call, severity, rule, field, message) and its hint; empty when nothing fails.

    Findings about a handler's answers (the notifications the fake sent) are told apart from the client's.
    """
    listed = [f for c in calls for f in c.findings]
    if not fail_on.fails(listed):
        return ""
    lines = []
    for title, mine in (("the client broke the provider's contract", False),
                        ("the notification handler broke the contract", True)):
        found = [f for c in calls if (c.endpoint == "notify") is mine for f in c.findings]
        if not found:
            continue
        errors = sum(f.severity is Severity.ERROR for f in found)
        lines.append(f"vexora_mock: {title} ({errors} error(s), {len(found) - errors} warning(s)):")
        for f in found:
            lines.append(one_line(f"  call #{f.index} {f.severity} {f.rule} {f.pointer or '-'}: {f.message}"))
            if f.hint:
                lines.append(one_line(f"      hint: {f.hint}"))
            if f.basis:
                lines.append(one_line(f"      basis: {f.basis}"))
    lines.append(f"every rule, and what to do about it: {RULES_URL}")
    return "\n".join(lines)
