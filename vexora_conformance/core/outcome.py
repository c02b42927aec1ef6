"""What a run came to (``Outcome``), and where a report is written as the run goes (``Sink``).

Every door that reports - validate, Dask, serve, check-notify, the proxy - fills an Outcome and feeds a Sink,
so every report format reads one model.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

from .findings import Finding, Severity


class Sink(Protocol):
    """Where a report is written as records are concluded (see ``report``)."""

    wants_labels: bool  # JUnit: one test case per judged exchange, so every exchange is announced

    def record(self, source: str | None, index: int | None, what: str | None, findings: list[Finding]) -> None:
        """An exchange judged (``what`` is "METHOD path"), an unreadable record (``what`` is None), or run-level
        findings (``index`` is None)."""

    def finish(self, outcome: Outcome) -> None: ...


@dataclass(frozen=True)
class Judged:
    """One exchange a run judged: where it was seen, and what it was (for reports that name every exchange)."""

    source: str
    index: int
    what: str  # "METHOD path", or a check-notify case's name


@dataclass
class Outcome:
    findings: list[Finding] = field(default_factory=list)  # kept only when collecting (the Python API)
    judged: list[Judged] = field(default_factory=list)  # kept only when asked for
    exchanges: int = 0
    skipped: int = 0
    malformed: int = 0
    by_rule: Counter[str] = field(default_factory=Counter)
    sources: list[str] = field(default_factory=list)
    by_endpoint: Counter[str] = field(default_factory=Counter)  # exchanges judged per endpoint
    errors: int = 0
    warnings: int = 0
    first_malformed: str | None = None  # the first unreadable record's reason (the "nothing to judge" error)
    collect: bool = True
    endpoint_order: tuple[str, ...] = ()  # how reports list the endpoints (the registry's order)
    # (endpoint, market, contract that judged it) -> exchanges: the pages a run's verdicts rest on
    contracts: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)  # what the run could not check fully, said once at the end
    _per_endpoint: Counter[tuple[str, Severity]] = field(default_factory=Counter)

    def add(self, finding: Finding) -> None:
        if self.collect:
            self.findings.append(finding)
        self.count(finding)

    def count(self, finding: Finding) -> None:
        self.by_rule[finding.rule] += 1
        if finding.severity is Severity.ERROR:
            self.errors += 1
        else:
            self.warnings += 1
        if finding.endpoint is not None:
            self._per_endpoint[(finding.endpoint, finding.severity)] += 1

    def judged_exchange(self, endpoint: str, market: str, variant: str) -> None:
        self.exchanges += 1
        self.judged_by(endpoint, market, variant, 1)

    def judged_by(self, endpoint: str, market: str, variant: str, count: int) -> None:
        """``count`` exchanges, already in ``exchanges``, were judged by this endpoint's contract."""
        self.by_endpoint[endpoint] += count
        self.contracts[(endpoint, market, variant)] += count

    def summary(self) -> dict[str, Any]:
        return {"sources": self.sources, "exchanges": self.exchanges, "skipped": self.skipped,
                "malformed": self.malformed, "errors": self.errors, "warnings": self.warnings,
                "by_rule": dict(sorted(self.by_rule.items())), "by_endpoint": self.endpoint_counts(),
                "contracts": self.contract_counts(), "notes": self.notes}

    def contract_counts(self) -> list[dict[str, Any]]:
        """Which market's page judged how many exchanges of each endpoint ("shared": no page of that market is
        stored, so what every stored page agrees on)."""
        order = {name: n for n, name in enumerate(self.endpoint_order)}
        keys = sorted(self.contracts, key=lambda k: (order.get(k[0], len(order)), k[0], k[1]))
        return [{"endpoint": e, "market": m, "judged_by": v, "exchanges": self.contracts[(e, m, v)]}
                for e, m, v in keys]

    def endpoint_counts(self) -> dict[str, dict[str, int]]:
        """Exchanges, errors and warnings per endpoint, in the registry's order."""
        names = set(self.by_endpoint) | {name for name, _ in self._per_endpoint}
        order = [n for n in self.endpoint_order if n in names] + sorted(names - set(self.endpoint_order))
        return {name: {"exchanges": self.by_endpoint[name],
                       "errors": self._per_endpoint[(name, Severity.ERROR)],
                       "warnings": self._per_endpoint[(name, Severity.WARNING)]}
                for name in order}
