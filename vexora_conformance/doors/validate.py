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
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import IO, Any

from ..contract.rules import rule
from ..contract.schema.tables import ENDPOINTS as ENDPOINT_NAMES
from ..core.errors import InputError, os_reason
from ..core.exchange import Exchange
from ..core.findings import Finding
from ..core.outcome import Judged, Outcome, Sink
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
from .fastpath import accept_har_entry, accept_line
from .harsplit import BOM, Broken, Entry, split_har

CHUNK_BYTES = 4 * 1024 * 1024
MAX_MALFORMED_SHOWN = 20  # per source: a binary file must not drown the report
IN_FLIGHT_PER_WORKER = 2  # chunks submitted ahead of the one being merged: enough to keep workers busy


# One record of a source, in order; its index is its place in the stream (every record has one):
#   ("s",)                               skipped (other traffic)
#   ("m", reason)                        unreadable
#   ("c", endpoint, merchant, tradeNo, platFormTradeNo[, method, path])   clean (the fast path's own tuple;
#                                        from a worker, method and path only when labels are kept)
#   ("x", what, verdict)                 judged by the explaining path
Record = tuple[Any, ...]


def malformed_finding(reason: str, shown: int) -> Finding | None:
    """The ``shown``-th unreadable record of a source as a finding; None past ``MAX_MALFORMED_SHOWN``."""
    if shown > MAX_MALFORMED_SHOWN:
        return None
    tail = "" if shown < MAX_MALFORMED_SHOWN else "; further malformed records not listed"
    return rule("input.malformed").finding(reason + tail)


def _what(exchange: Exchange) -> str:
    return f"{exchange.request.method[:16]} {exchange.request.path[:200]}"


def _judged(item: Any, options: JudgeOptions) -> Record:
    if isinstance(item, Exchange):
        return "x", _what(item), judge_exchange(item, options, diagnose=False)
    if isinstance(item, Malformed):
        return "m", item.reason
    return ("s",)


def _from_line(line: bytes | None, name: str, index: int, options: JudgeOptions) -> Record | None:
    """One JSON line: the fast path when it can prove the record clean or other traffic, else the explaining one."""
    fast = accept_line(line, options) if line is not None else None
    return fast if type(fast) is tuple and fast[0] == "c" else _from_fast(fast, line, name, index, options)


def _from_fast(fast: Any, line: bytes | None, name: str, index: int, options: JudgeOptions) -> Record | None:
    """What is not a clean record: other traffic, clean but for the sign, or the explaining path's verdict."""
    if fast is not None:
        return _skipped_or_bad_sign(fast)
    item = item_from_line(line, name, index)
    return None if item is None else _judged(item, options)


def _skipped_or_bad_sign(fast: Any) -> Record:
    """The fast path's SKIP, or its "clean but for the sign" as the verdict the explaining path would give."""
    if isinstance(fast, str):  # SKIP
        return ("s",)
    _, endpoint, merchant, trade_no, platform, method, path, body, observed = fast
    verdict = Verdict([sign_mismatch(endpoint)], merchant, trade_no, platform, None, True, endpoint,
                      PendingDiagnosis(0, body, observed, merchant))
    return "x", f"{method[:16]} {path[:200]}", verdict


def _sequential(name: str, options: JudgeOptions, stdin: IO[bytes] | None,
                labels: bool) -> Iterator[tuple[int, Record]]:
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
            elif type(fast) is tuple and fast[0] == "c":
                yield index, fast
            else:  # other traffic, or clean but for the sign
                yield index, _skipped_or_bad_sign(fast)
            index += 1
        else:
            yield index, ("m", piece.reason)
            if isinstance(piece, Broken):
                return


def _compact(record: Record, labels: bool) -> Record:
    """A record as a worker ships it: a verdict becomes a plain tuple (a dataclass costs more to pickle), and a
    clean record only what the session needs (its method and path only for a report that names exchanges)."""
    if record[0] == "c":
        return record if labels else record[:5]
    if record[0] != "x":
        return record
    v: Verdict = record[2]
    p = v.pending
    pending = None if p is None else (p.at, p.body, p.observed, p.merchant_no)
    return ("x", record[1], tuple(v.findings), v.merchant_no, v.trade_no, v.platform_trade_no, v.body_is_object,
            v.endpoint, pending)


def _expand(record: Record) -> Record:
    if record[0] != "x":
        return record
    _, what, findings, merchant, trade_no, platform, is_object, endpoint, pending = record
    p = None if pending is None else PendingDiagnosis(*pending)
    return "x", what, Verdict(list(findings), merchant, trade_no, platform, None, is_object, endpoint, p)


def _judge_range(name: str, start: int, end: int, options: JudgeOptions, labels: bool) -> list[Record]:
    """Judge the JSON lines that start inside [start, end), in order (a record's index is its place).

    A file that cannot be read (removed or changed mid-run) gives ``[("error", reason)]``.
    """
    try:
        return _judge_lines(name, start, end, options, labels)
    except OSError as exc:
        return [("error", os_reason(exc))]


def _judge_lines(name: str, start: int, end: int, options: JudgeOptions, labels: bool) -> list[Record]:
    out: list[Record] = []
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
        pending: deque[Future[list[Record]]] = deque()

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
            if chunk[:1] and chunk[0][0] == "error":
                raise InputError(f"read failed: {chunk[0][1]} (was the file removed or changed while it was read?)",
                                 source=name)
            for record in chunk:
                yield index, (_expand(record) if record[0] == "x" else record)
                index += 1
            del chunk


def _stream(name: str, options: JudgeOptions, jobs: int, stdin: IO[bytes] | None,
            labels: bool) -> Iterator[tuple[int, Record]]:
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
                    return _parallel(name, options, jobs, info.st_size, labels)
        except OSError:
            pass
    return _sequential(name, options, stdin, labels)


def validate(paths: list[str], options: JudgeOptions, *, jobs: int = 1, keep_labels: bool = False,
             stdin: IO[bytes] | None = None, progress: Callable[[int], None] | None = None,
             sink: Sink | None = None, collect: bool = True, diagnosis_limit: int = DEFAULT_LIMIT) -> Outcome:
    """Judge every capture in ``paths``; raises ``InputError`` only for a source that cannot be opened.

    Each record's findings go to ``sink`` as it is concluded, and to ``Outcome.findings`` when ``collect``.
    """
    outcome = Outcome(sources=list(paths), collect=collect, endpoint_order=ENDPOINT_NAMES)
    ledger = Ledger(options, diagnosis_limit=diagnosis_limit)
    labels = keep_labels or (sink is not None and sink.wants_labels)
    for name in paths:
        shown = 0
        ledger.begin(name)
        for index, record in _stream(name, options, jobs, stdin, labels):
            kind = record[0]
            if kind == "c":
                outcome.exchanges += 1
                outcome.by_endpoint[record[1]] += 1
                found: list[Finding] = ledger.remember(record[2], record[3], record[4], name, index)
                what = f"{record[5][:16]} {record[6][:200]}" if labels else None
            elif kind == "x":
                verdict: Verdict = record[2]
                outcome.exchanges += 1
                outcome.by_endpoint[verdict.endpoint] += 1
                found = ledger.resolve(verdict, name, index) + ledger.observe(verdict, name, index)
                what = record[1]
            elif kind == "s":
                outcome.skipped += 1
                continue
            else:
                outcome.malformed += 1
                outcome.first_malformed = outcome.first_malformed or record[1]
                shown += 1
                finding = malformed_finding(record[1], shown)
                if finding is None:
                    continue
                found = [finding]
                what = None
            if found:
                found = [f.at(name, index) for f in found]
                for f in found:
                    outcome.add(f)
            if kind != "m" and keep_labels:
                outcome.judged.append(Judged(name, index, what or ""))
            if sink is not None and (found or labels):
                sink.record(name, index, what, found)
            if progress and kind != "m" and outcome.exchanges % 5000 == 0:
                progress(outcome.exchanges)
    if sink is not None:
        sink.finish(outcome)
    return outcome
