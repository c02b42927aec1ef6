"""Validate captured traffic: read every source, judge every Checkout exchange, count and collect findings.

With ``jobs > 1`` a JSON-lines file is cut into byte ranges judged in worker
processes; the parent applies the cross-exchange rules in file order, so the
result is identical to a sequential run.
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from typing import IO, Any

from .capture import Malformed, item_from_line, iter_lines, read_capture, skip_bom, skip_line, sniff_format
from .contract.rules import endpoint_of_rule, rule
from .contract.tables import ENDPOINTS as ENDPOINT_NAMES
from .errors import InputError, os_reason
from .harsplit import BOM
from .judge import JudgeOptions, Session, Verdict, judge_exchange
from .models import Exchange, Finding

CHUNK_BYTES = 4 * 1024 * 1024
MAX_MALFORMED_SHOWN = 20  # per source: a binary file must not drown the report


@dataclass
class Outcome:
    findings: list[Finding] = field(default_factory=list)
    judged: list[str] = field(default_factory=list)  # exchange labels, kept only when a report needs them
    exchanges: int = 0
    skipped: int = 0
    malformed: int = 0
    by_rule: Counter[str] = field(default_factory=Counter)
    sources: list[str] = field(default_factory=list)
    by_endpoint: Counter[str] = field(default_factory=Counter)  # exchanges judged per endpoint

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == "warning")

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)
        self.by_rule[finding.rule] += 1

    def summary(self) -> dict[str, Any]:
        return {"sources": self.sources, "exchanges": self.exchanges, "skipped": self.skipped,
                "malformed": self.malformed, "errors": self.errors, "warnings": self.warnings,
                "by_rule": dict(sorted(self.by_rule.items())), "by_endpoint": self.endpoint_counts()}

    def endpoint_counts(self) -> dict[str, dict[str, int]]:
        """Exchanges, errors and warnings per endpoint (checkout, query, notify), in that order."""
        counts = {name: {"exchanges": n, "errors": 0, "warnings": 0} for name, n in self.by_endpoint.items()}
        for f in self.findings:
            name = endpoint_of_rule(f.rule)
            if name is not None:
                counts.setdefault(name, {"exchanges": 0, "errors": 0, "warnings": 0})[f"{f.severity}s"] += 1
        return {name: counts[name] for name in ENDPOINT_NAMES if name in counts}


# (kind, index, "METHOD path" or the malformed reason, verdict): what a reader + judge produce per record.
Judged = tuple[str, int, str, Verdict | None]


def _what(exchange: Exchange) -> str:
    return f"{exchange.request.method[:16]} {exchange.request.path[:200]}"


def _sequential(name: str, options: JudgeOptions, stdin: IO[bytes] | None) -> Iterator[Judged]:
    for item in read_capture(name, stdin):
        if isinstance(item, Exchange):
            yield "x", item.index, _what(item), judge_exchange(item, options)
        elif isinstance(item, Malformed):
            yield "m", item.index, item.reason, None
        else:
            yield "s", item.index, "", None


def _judge_range(name: str, start: int, end: int, options: JudgeOptions) -> list[tuple[Any, ...]]:
    """Judge the JSON lines that start inside [start, end); indices are relative to the chunk.

    A file that cannot be read (removed or changed mid-run) gives ``[("error", reason)]``.
    """
    try:
        return _judge_lines(name, start, end, options)
    except OSError as exc:
        return [("error", os_reason(exc))]


def _judge_lines(name: str, start: int, end: int, options: JudgeOptions) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    with open(name, "rb") as f:
        if start > 0:
            f.seek(start - 1)
            skip_line(f)  # finish the line that began before this chunk, in bounded reads
        else:
            skip_bom(f)
        index = 0
        lines = iter_lines(f)  # lazy: f.tell() before each next() is where the coming line starts
        while f.tell() < end:
            try:
                line = next(lines)
            except StopIteration:
                break
            item = item_from_line(line, name, index)
            if item is None:
                continue
            if isinstance(item, Exchange):
                v = judge_exchange(item, options)
                # Plain tuples: a dataclass per record costs more to pickle than the judging saves.
                out.append(("x", index, _what(item), tuple(v.findings) or None, v.merchant_no, v.trade_no,
                            v.platform_trade_no, v.body_is_object, v.endpoint))
            elif isinstance(item, Malformed):
                out.append(("m", index, item.reason))
            else:
                out.append(("s", index, ""))
            index += 1
    return out


def _parallel(name: str, options: JudgeOptions, jobs: int, size: int) -> Iterator[Judged]:
    starts = range(0, size, CHUNK_BYTES)
    with ProcessPoolExecutor(max_workers=min(jobs, len(starts))) as pool:  # no idle workers for a small file
        futures = [pool.submit(_judge_range, name, a, min(a + CHUNK_BYTES, size), options) for a in starts]
        offset = 0
        for fut in futures:
            try:
                chunk = fut.result()
            except BrokenProcessPool:
                raise InputError("a worker process died (out of memory?); try --jobs 1", source=name) from None
            if chunk[:1] and chunk[0][0] == "error":
                raise InputError(f"read failed: {chunk[0][1]} (was the file removed or changed while it was read?)",
                                 source=name)
            for kind, index, text, *rest in chunk:
                verdict = None
                if kind == "x":
                    findings, merchant, trade_no, platform, is_object, endpoint = rest
                    verdict = Verdict(list(findings or ()), merchant, trade_no, platform, None, is_object, endpoint)
                yield kind, index + offset, text, verdict
            offset += len(chunk)


def _stream(name: str, options: JudgeOptions, jobs: int, stdin: IO[bytes] | None) -> Iterator[Judged]:
    """Worker processes only for a regular JSON-lines file of more than one chunk; the rest is read in order.

    Pipes, FIFOs and devices cannot be cut into byte ranges; anything that cannot be opened is left to the
    sequential reader, which says why in one line.
    """
    jobs = jobs or os.cpu_count() or 1
    if jobs > 1 and name != "-":
        try:
            info = os.stat(name)
            if stat.S_ISREG(info.st_mode) and info.st_size > CHUNK_BYTES:
                with open(name, "rb") as f:
                    head = f.read(65536)
                if sniff_format(head.removeprefix(BOM), name) == "jsonl":
                    return _parallel(name, options, jobs, info.st_size)
        except OSError:
            pass
    return _sequential(name, options, stdin)


def validate(paths: list[str], options: JudgeOptions, *, jobs: int = 1, keep_labels: bool = False,
             stdin: IO[bytes] | None = None, progress: Callable[[int], None] | None = None) -> Outcome:
    """Judge every capture in ``paths``; raises ``InputError`` only for a source that cannot be opened."""
    outcome = Outcome(sources=list(paths))
    session = Session(options)
    for name in paths:
        shown = 0
        for kind, index, text, verdict in _stream(name, options, jobs, stdin):
            if kind == "s":
                outcome.skipped += 1
                continue
            if kind == "m":
                outcome.malformed += 1
                shown += 1
                if shown <= MAX_MALFORMED_SHOWN:
                    outcome.add(replace(rule("input.malformed").finding(
                        text + ("" if shown < MAX_MALFORMED_SHOWN else "; further malformed records not listed")),
                        source=name, index=index))
                continue
            assert verdict is not None
            outcome.exchanges += 1
            outcome.by_endpoint[verdict.endpoint] += 1
            if keep_labels:
                outcome.judged.append(f"{name}#{index} {text}")
            for f in session.conclude(verdict, name, index):
                outcome.add(f)
            if progress and outcome.exchanges % 5000 == 0:
                progress(outcome.exchanges)
    return outcome
