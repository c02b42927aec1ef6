"""The rule reference (``docs/rules.md``), generated from the catalogue: every rule of every endpoint, in its own
words. ``python -m vexora_conformance.contract.reference docs/rules.md`` writes it; a test holds the two equal."""

from __future__ import annotations

import sys
from pathlib import Path

from .endpoint import Rule
from .registry import ENDPOINTS
from .rules import RUN_RULES

INTRO = """# Rules

Every finding the tool reports, by endpoint. An id is the endpoint's prefix and the kind of finding
(`payout.request.required`); the same kind means the same thing on every endpoint, in that endpoint's words.
Errors fail a run; warnings fail it only with `--fail-on warning` (`fail_on="warning"` in the plugin).
Generated from the rule catalogue (`vexora_conformance/contract/rules.py` and each endpoint's module): do not edit
by hand.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\\\|")


def _table(rules: list[Rule]) -> list[str]:
    lines = ["| rule | severity | what it means | what to do |", "|---|---|---|---|"]
    lines += [f"| `{r.id}` | {r.severity} | {_cell(r.summary)} | {_cell(r.hint)} |" for r in rules]
    return lines


def rules_markdown() -> str:
    out = [INTRO]
    for endpoint in ENDPOINTS.values():
        markets = ", ".join(endpoint.spec.markets) or "one format for every market"
        out += [f"## {endpoint.spec.title} (`{endpoint.name}`)", "",
                f"Path: `{endpoint.path}`. Pages stored: {markets}.", ""]
        out += _table(list(endpoint.rules.values()))
        out.append("")
    out += ["## The run", "", "Findings about the run itself, not one endpoint.", ""]
    out += _table(list(RUN_RULES))
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/rules.md")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(rules_markdown(), encoding="utf-8")
    print(f"wrote {target}")
