"""Validate captured traffic: read every source, judge every exchange, hand each record's findings to a report.

A JSON-lines record first meets ``fastpath.accept_line``, which proves most clean
records clean with no objects at all; anything else is read and judged by the
explaining path (``capture`` + ``judge``). Findings go to the ``sink`` as each
record is concluded, so memory does not grow with them (the Python API collects
them in ``Outcome.findings`` unless told not to).

With ``jobs > 1`` a JSON-lines file is cut into byte ranges judged in worker
processes, which return compact records (the keys of clean records, the
findings of the others); the parent applies the cross-exchange rules and names
wrong signs' mistakes in file order, so the result is identical to a sequential run.
"""

from __future__ import annotations

import os
import stat
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import IO, Any, NamedTuple, TypeGuard

from ..contract.registry import NAMES as ENDPOINT_NAMES
from ..contract.registry import shared_notes
from ..contract.rules import run_rule
from ..core.errors import InputError, os_reason
from ..core.exchange import Exchange
from ..core.findings import Finding, Kind
from ..core.outcome import Judged, Outcome, Sink
from ..core.records import SKIPPED, Clean, Explained, ReadFailed, Record, Skipped, Unreadable
from ..core.text import STDIN
from ..judge.exchange import JudgeOptions, PendingDiagnosis, Verdict, judge_exchange, sign_mismatch
from ..judge.ledger import Ledger
from ..judge.patterns import DEFAULT_LIMIT
from . import capture
from .capture import (
    Malformed,
    item_from_line,
    iter_lines,
    opened_capture,
    skip_bom,
    skip_line,
    sniff_format,
)
from .fastpath import BadSign, accept_har_entry, accept_line
from .harsplit import BOM, Broken, Entry, split_har

CHUNK_BYTES = 4 * 1024 * 1024
MAX_MALFORMED_SHOWN = 20  # per source: a binary file must not drown the report
IN_FLIGHT_PER_WORKER = 2  # chunks submitted ahead of the one being merged: enough to keep workers busy


class Shipped(NamedTuple):
    """An Explained record as a worker ships it: the verdict's fields, flat (a dataclass costs more to pickle)."""

    what: str
    findings: tuple[Finding, ...]
    endpoint: str
    market: str
    variant: str
    merchant_no: str | None
    trade_no: str | None
    platform_trade_no: str | None
    body_is_object: bool
    pending: tuple[int, dict[str, Any], Any, str | None] | None


# What one worker returns per record; a clean one without its name is its first six fields as a plain tuple,
# which pickles and unpickles in C (a NamedTuple is rebuilt through its Python __new__, a record at a time in
# the one process that merges).
Unnamed = tuple[str, str, str, str | None, str | None, str | None]  # a Clean's first six fields
Worked = Clean | Unnamed | Shipped | Skipped | Unreadable
_UNNAMED = ("", "")  # a clean record's method and path when the report names no exchange
_new_clean = tuple.__new__  # Clean(*fields), without the NamedTuple's Python __new__


def malformed_finding(reason: str, shown: int) -> Finding | None:
    """The ``shown``-th unreadable record of a source as a finding; None past ``MAX_MALFORMED_SHOWN``."""
    if shown > MAX_MALFORMED_SHOWN:
        return None
    tail = "" if shown < MAX_MALFORMED_SHOWN else "; further malformed records not listed"
    return run_rule(Kind.INPUT_MALFORMED).finding(reason + tail)


def _what(exchange: Exchange) -> str:
    return f"{exchange.request.method[:16]} {exchange.request.path[:200]}"


def _judged(item: Any, options: JudgeOptions) -> Record:
    if isinstance(item, Exchange):
        return Explained(_what(item), judge_exchange(item, options, diagnose=False))
    if isinstance(item, Malformed):
        return Unreadable(item.reason)
    return SKIPPED


def _from_line(line: bytes | None, name: str, index: int, options: JudgeOptions) -> Record | None:
    """One JSON line: the fast path when it can prove the record clean or other traffic, else the explaining one."""
    fast = accept_line(line, options) if line is not None else None
    if isinstance(fast, Clean):
        return fast
    if fast is not None:
        return _skipped_or_bad_sign(fast)
    item = item_from_line(line, name, index)
    return None if item is None else _judged(item, options)


def _skipped_or_bad_sign(fast: BadSign | Skipped) -> Record:
    """The fast path's "other traffic", or its "clean but for the sign" as the verdict the explaining path
    would give."""
    if type(fast) is Skipped:
        return SKIPPED
    assert isinstance(fast, BadSign)
    c = fast.clean
    verdict = Verdict(findings=[sign_mismatch(c.endpoint)], endpoint=c.endpoint, market=c.market,
                      variant=c.variant, merchant_no=c.merchant_no, trade_no=c.trade_no,
                      platform_trade_no=c.platform_trade_no, body_is_object=True,
                      pending=PendingDiagnosis(0, fast.body, fast.observed, c.merchant_no))
    return Explained(f"{c.method[:16]} {c.path[:200]}", verdict)


def _sequential(name: str, options: JudgeOptions, stdin: IO[bytes] | None) -> Iterator[tuple[int, Record]]:
    """Every record of one source, in order, with its index (a capture.read_capture that tries the fast path)."""
    with opened_capture(name, stdin) as (stream, fmt, har_dir):
        if fmt == "jsonl":
            yield from _jsonl_records(stream, name, options)
        else:
            yield from _har_records(stream, name, har_dir, options)


def _jsonl_records(stream: Any, name: str, options: JudgeOptions) -> Iterator[tuple[int, Record]]:
    index = 0
    for line in iter_lines(stream):
        record = _from_line(line, name, index, options)
        if record is not None:
            yield index, record
            index += 1


def _har_records(stream: Any, name: str, har_dir: Path | None, options: JudgeOptions) -> Iterator[tuple[int, Record]]:
    """capture.read_har with the fast path tried on each whole entry first."""
    index = 0
    for piece in split_har(stream, capture.MAX_RECORD_BYTES):
        if isinstance(piece, Entry):
            fast = accept_har_entry(piece.text, options) if piece.problem is None else None
            if fast is None:
                yield index, _judged(capture._har_item(piece, name, index, har_dir), options)
            elif isinstance(fast, Clean):
                yield index, fast
            else:  # other traffic, or clean but for the sign
                yield index, _skipped_or_bad_sign(fast)
            index += 1
        else:
            yield index, Unreadable(piece.reason)
            if isinstance(piece, Broken):
                return


def _compact(record: Record, labels: bool) -> Worked:
    """A record as a worker ships it: a clean one without its name unless a report names exchanges."""
    if type(record) is Clean:
        return record if labels else record[:6]
    if type(record) is not Explained:
        return record  # type: ignore[return-value]  # Skipped or Unreadable, shipped as they are
    v: Verdict = record.verdict
    p = v.pending
    return Shipped(record.what, tuple(v.findings), v.endpoint, v.market, v.variant, v.merchant_no, v.trade_no,
                   v.platform_trade_no, v.body_is_object,
                   None if p is None else (p.at, p.body, p.observed, p.merchant_no))


def is_clean(record: Worked | None) -> TypeGuard[Clean | Unnamed]:
    """A clean record as a worker ships it: a Clean, or (without its name) its first six fields."""
    return type(record) is Clean or type(record) is tuple


def _expand(record: Worked) -> Record:
    if type(record) is tuple:
        return _new_clean(Clean, record + _UNNAMED)
    if type(record) is not Shipped:
        return record  # type: ignore[return-value]
    p = None if record.pending is None else PendingDiagnosis(*record.pending)
    return Explained(record.what, Verdict(
        findings=list(record.findings), endpoint=record.endpoint, market=record.market, variant=record.variant,
        merchant_no=record.merchant_no, trade_no=record.trade_no, platform_trade_no=record.platform_trade_no,
        body_is_object=record.body_is_object, pending=p))


def _judge_range(name: str, start: int, end: int, options: JudgeOptions,
                 labels: bool) -> list[Worked] | ReadFailed:
    """Judge the JSON lines that start inside [start, end), in order (a record's index is its place).

    A file that cannot be read (removed or changed mid-run) gives ``ReadFailed``.
    """
    try:
        return _judge_lines(name, start, end, options, labels)
    except OSError as exc:
        return ReadFailed(os_reason(exc))


def _judge_lines(name: str, start: int, end: int, options: JudgeOptions, labels: bool) -> list[Worked]:
    out: list[Worked] = []
    with open(name, "rb") as f:
        if start > 0:
            f.seek(start - 1)
            skip_line(f)  # finish the line that began before this chunk, in bounded reads
        else:
            skip_bom(f)
        lines = iter_lines(f)  # lazy: f.tell() before each next() is where the coming line starts
        while f.tell() < end:
            try:
                line = next(lines)
            except StopIteration:
                break
            record = _from_line(line, name, len(out), options)
            if record is not None:
                out.append(_compact(record, labels))
    return out


def _parallel(name: str, options: JudgeOptions, jobs: int, size: int,
              labels: bool) -> Iterator[tuple[int, Record]]:
    starts = iter(range(0, size, CHUNK_BYTES))
    workers = min(jobs, -(-size // CHUNK_BYTES))  # no idle workers for a small file
    with ProcessPoolExecutor(max_workers=workers) as pool:
        # A bounded window of chunks in flight: a merged chunk is released at once, and a fast reader
        # never holds the whole file's results waiting for a slow merge.
        pending: deque[Future[list[Worked] | ReadFailed]] = deque()

        def submit() -> None:
            a = next(starts, None)
            if a is not None:
                pending.append(pool.submit(_judge_range, name, a, min(a + CHUNK_BYTES, size), options, labels))

        for _ in range(workers * IN_FLIGHT_PER_WORKER):
            submit()
        index = 0
        while pending:
            fut = pending.popleft()
            try:
                chunk = fut.result()
            except BrokenProcessPool:
                raise InputError("a worker process died (out of memory?); try --jobs 1", source=name) from None
            del fut
            submit()
            if isinstance(chunk, ReadFailed):
                raise InputError(f"read failed: {chunk.reason} (was the file removed or changed while it was "
                                 "read?)", source=name)
            for record in chunk:
                yield index, _expand(record)
                index += 1
            del chunk


def _stream(name: str, options: JudgeOptions, jobs: int, stdin: IO[bytes] | None,
            labels: bool = False) -> Iterator[tuple[int, Record]]:
    """Worker processes only for a regular JSON-lines file of more than one chunk; the rest is read in order.

    Pipes, FIFOs and devices cannot be cut into byte ranges; anything that cannot be opened is left to the
    sequential reader, which says why in one line.
    """
    jobs = jobs or os.cpu_count() or 1
    size = _regular_size(name)
    if jobs > 1 and size is not None and size > CHUNK_BYTES:
        try:
            with open(name, "rb") as f:
                head = f.read(65536)
            if sniff_format(head.removeprefix(BOM), name) == "jsonl":
                return _unchanged(name, size, _parallel(name, options, jobs, size, labels))
        except OSError:
            pass
    records = _sequential(name, options, stdin)
    return _unchanged(name, size, records) if size is not None else records


def _regular_size(name: str) -> int | None:
    if name == "-":
        return None
    try:
        info = os.stat(name)
    except OSError:
        return None  # the reader says why it cannot be opened
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def _unchanged(name: str, size: int, records: Iterator[tuple[int, Record]]) -> Iterator[tuple[int, Record]]:
    """The records, then a check that the file still has the size it had when opened: a file cut short (or
    written to) while it was read would be judged in part, and the verdict would not say so."""
    yield from records
    now = _regular_size(name)
    if now != size:
        raise InputError(f"the file changed while it was read ({size:,} bytes when it was opened, "
                         f"{'gone' if now is None else f'{now:,} bytes'} at the end): the report covers part of it; "
                         "judge a copy that is not being written", source=name)


def validate(paths: list[str], options: JudgeOptions, *, jobs: int = 1, keep_labels: bool = False,
             stdin: IO[bytes] | None = None, progress: Callable[[int], None] | None = None,
             sink: Sink | None = None, collect: bool = True, diagnosis_limit: int = DEFAULT_LIMIT) -> Outcome:
    """Judge every capture in ``paths``; raises ``InputError`` only for a source that cannot be opened.

    Each record's findings go to ``sink`` as it is concluded, and to ``Outcome.findings`` when ``collect``.
    """
    outcome = Outcome(sources=[STDIN if p == "-" else p for p in paths], collect=collect,
                      endpoint_order=ENDPOINT_NAMES)
    ledger = Ledger(options, diagnosis_limit=diagnosis_limit)
    labels = keep_labels or (sink is not None and sink.wants_labels)
    # Clean records per (endpoint, market, variant), the first three fields of a Clean: counted here and
    # handed to the outcome once, at the end (outcome.judged_exchange per record costs three counters).
    clean: Counter[tuple[str, ...]] = Counter()
    try:
        for path in paths:
            _validate_source(path, options, jobs, stdin, labels, keep_labels, outcome, ledger, clean, sink, progress)
    finally:
        for (endpoint, market, variant), count in clean.items():
            outcome.judged_by(endpoint, market, variant, count)
    outcome.notes = shared_notes(outcome.contracts)
    if sink is not None:
        sink.finish(outcome)
    return outcome


def _validate_source(path: str, options: JudgeOptions, jobs: int, stdin: IO[bytes] | None, labels: bool,
                     keep_labels: bool, outcome: Outcome, ledger: Ledger, clean: Counter[tuple[str, ...]],
                     sink: Sink | None, progress: Callable[[int], None] | None) -> None:
    """One source's records into the outcome, the ledger and the sink (``validate``'s loop)."""
    shown = 0
    name = STDIN if path == "-" else path  # how findings name the source
    ledger.begin(name)
    for index, record in _stream(path, options, jobs, stdin, labels):
        what: str | None
        if type(record) is Clean:
            outcome.exchanges += 1
            clean[record[:3]] += 1
            found: list[Finding] = ledger.remember(record.endpoint, record.merchant_no, record.trade_no,
                                                   record.platform_trade_no, name, index)
            what = f"{record.method[:16]} {record.path[:200]}" if labels else None
        elif type(record) is Explained:
            verdict: Verdict = record.verdict
            outcome.judged_exchange(verdict.endpoint, verdict.market, verdict.variant)
            found = ledger.resolve(verdict, name, index) + ledger.observe(verdict, name, index)
            what = record.what
        elif type(record) is Skipped:
            outcome.skipped += 1
            continue
        else:
            assert isinstance(record, Unreadable)
            outcome.malformed += 1
            outcome.first_malformed = outcome.first_malformed or record.reason
            shown += 1
            finding = malformed_finding(record.reason, shown)
            if finding is None:
                continue
            found = [finding]
            what = None
        if found:
            found = [f.at(name, index) for f in found]
            for f in found:
                outcome.add(f)
        if what is not None and keep_labels:
            outcome.judged.append(Judged(name, index, what))
        if sink is not None and (found or labels):
            sink.record(name, index, what, found)
        if progress and type(record) is not Unreadable and outcome.exchanges % 5000 == 0:
            progress(outcome.exchanges)
