"""What ``serve`` keeps of a run: every exchange and finding counted, a bounded part of them kept.

The loopback fake can run for hours under a hostile client, so it keeps no request or answer: each call
becomes its findings and a one-line label. The record is append-only - ``/__vexora__/reset`` forgets the
provider's state (orders, tradeNos, queued outcomes), never what was found - and past ``MAX_FINDINGS``
findings or ``MAX_EXCHANGES`` labels it goes on counting and says, in the report's notes, what it stopped
keeping.
"""

from __future__ import annotations

import threading
from typing import IO, Protocol

from ...contract.registry import NAMES as ENDPOINT_NAMES
from ...contract.registry import shared_notes
from ...core.errors import os_reason
from ...core.findings import FailOn, Finding
from ...core.outcome import Judged, Outcome

MAX_FINDINGS = 50_000  # findings kept for the report, of every one counted
MAX_EXCHANGES = 200_000  # exchanges named in the report (JUnit's test cases), of every one counted


class RunRecord:
    """Every call's verdict, counted; the first findings and labels kept (thread-safe)."""

    def __init__(self, source: str) -> None:
        self.outcome = Outcome(sources=[source], endpoint_order=ENDPOINT_NAMES, collect=False)
        self.source = source
        self.dropped_findings = 0
        self.dropped_exchanges = 0
        self._lock = threading.Lock()

    def add(self, index: int, what: str, endpoint: str | None, market: str, variant: str,
            findings: list[Finding]) -> None:
        with self._lock:
            outcome = self.outcome
            if endpoint is not None:
                outcome.judged_exchange(endpoint, market, variant)
            else:
                outcome.exchanges += 1
            if len(outcome.judged) < MAX_EXCHANGES:
                outcome.judged.append(Judged(self.source, index, what))
            else:
                self.dropped_exchanges += 1
            for f in findings:
                outcome.count(f)
                if len(outcome.findings) < MAX_FINDINGS:
                    outcome.findings.append(f)
                else:
                    self.dropped_findings += 1

    def report(self) -> Outcome:
        """A copy to report from while the run goes on."""
        with self._lock:
            outcome = self.outcome
            copy = Outcome(findings=list(outcome.findings), judged=list(outcome.judged), exchanges=outcome.exchanges,
                           by_rule=outcome.by_rule.copy(), sources=list(outcome.sources),
                           by_endpoint=outcome.by_endpoint.copy(), errors=outcome.errors, warnings=outcome.warnings,
                           collect=False, endpoint_order=outcome.endpoint_order, contracts=outcome.contracts.copy())
            copy._per_endpoint = outcome._per_endpoint.copy()
            dropped_findings, dropped_exchanges = self.dropped_findings, self.dropped_exchanges
        copy.notes = shared_notes(copy.contracts)
        if dropped_findings:
            copy.notes.append(f"serve kept the first {MAX_FINDINGS:,} findings of the run; {dropped_findings:,} "
                              "more were counted in the totals, not kept")
        if dropped_exchanges:
            copy.notes.append(f"serve named the first {MAX_EXCHANGES:,} exchanges of the run; "
                              f"{dropped_exchanges:,} more were counted, not named")
        return copy


class Reports(Protocol):
    def report(self) -> Outcome: ...


def finish_run(door: str, record: Reports, report: IO[str] | None, fmt: str | None, out: IO[str],
               err: IO[str], fail_on: FailOn, broken: bool = False) -> int:
    """The end of a long-running door (serve, proxy, listen): one summary line on ``err``, the report written to
    the open file ``report`` (closed here) in ``fmt`` (None: JUnit for ``.xml``, JSON otherwise), and the exit
    code: 1 for what ``fail_on`` fails, 2 when the report could not be written or ``broken`` (the door could not
    do its job, as a state adapter that stopped answering)."""
    from ... import report as reports

    final = record.report()
    where = f"; report: {report.name}" if report is not None else ""
    print(f"vexora-conformance {door}: stopped after {final.exchanges} exchange(s): {final.errors} error(s), "
          f"{final.warnings} warning(s){where}", file=err)
    if report is not None:
        fmt = fmt or ("junit" if report.name.endswith(".xml") else "json")
        try:
            with report:
                (reports.write_text if fmt == "text" else reports.WRITERS[fmt])(final, report)
        except OSError as exc:
            # The findings are in hand: print them rather than lose them, and say why the file has none.
            print(f"vexora-conformance {door}: cannot write the report {report.name}: {os_reason(exc)}; "
                  "the report follows on standard output", file=err)
            reports.write_json(final, out)
            return 2
    if broken:
        return 2
    failing = final.errors or (fail_on is FailOn.WARNING and final.warnings)
    return 1 if failing else 0
