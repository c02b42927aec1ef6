"""What one exchange may produce: at most ``MAX_PER_RULE`` findings of each rule (request and answer apart),
then one finding that says how many more there were.

A body of 200,000 undocumented keys is one mistake, not 200,000 findings: listed in full it made a 186 MB
report and 300,000 pytest warnings. Every door judges through ``judge_exchange``, so every door caps alike.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from ..contract.registry import RESPONSE_ROOT
from ..core.findings import Finding

MAX_PER_RULE = 20


def _key(f: Finding) -> tuple[str, bool]:
    return f.rule, f.pointer is not None and f.pointer.startswith(RESPONSE_ROOT)


class CappedFindings(list[Finding]):
    """A list of findings that keeps the first MAX_PER_RULE of each rule and counts the rest."""

    def __init__(self) -> None:
        super().__init__()
        self._kept: Counter[tuple[str, bool]] = Counter()
        self._more: dict[tuple[str, bool], tuple[Finding, int]] = {}

    def append(self, f: Finding) -> None:
        key = _key(f)
        if self._kept[key] < MAX_PER_RULE:
            self._kept[key] += 1
            super().append(f)
        else:
            self.not_listed(f, 1)

    def not_listed(self, example: Finding, count: int) -> None:
        """``count`` more findings like ``example`` were found and not built (a producer's own shortcut)."""
        key = _key(example)
        first, more = self._more.get(key, (example, 0))
        self._more[key] = (first, more + count)

    def closed(self) -> list[Finding]:
        """The findings, and one per capped rule saying how many more there were."""
        out = list(self)
        for first, more in self._more.values():
            out.append(replace(first, pointer=None, message=f"{more:,} more finding(s) of this rule in this exchange "
                               f"are not listed: at most {MAX_PER_RULE} are", hint=first.hint,
                               details={"not_listed": more}))
        return out
