"""``validate`` for captures too big for one machine, on Dask (the optional ``[dask]`` extra).

The judge is pure, so each byte range of a JSON-lines file is judged on a worker
exactly as ``validate --jobs N`` judges it (``validate._judge_range``). The rules
that need memory across exchanges run as hash-partitioned shuffles, never by
collecting keys in one process:

- duplicate tradeNo / platFormTradeNo: every (merchant, tradeNo) and every
  platFormTradeNo goes to the bucket its hash names; within a bucket, every
  occurrence after the first is a duplicate;
- the mistake behind wrong signs, once per pattern: the same by (merchant, set
  of keys); within a bucket, each pattern's ``DiagnosisMemory`` runs in arrival order.

Workers keep the judged records; the client receives only what has findings (and,
for JUnit, every exchange's name), one partition at a time, and writes it in file
order. The result equals ``validate --jobs 1`` (``tests/test_dask.py``), except past
65,536 distinct wrong-sign patterns, where the single-process run stops
remembering new ones. Workers read the files by path: a local cluster, or a file
system every worker mounts.
"""

from __future__ import annotations

import os
import zlib
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator
from typing import Any

from ..contract.registry import NAMES as ENDPOINT_NAMES
from ..contract.registry import shared_notes
from ..core.errors import InputError
from ..core.findings import Finding
from ..core.outcome import Outcome, Sink
from ..core.records import Clean, ReadFailed, Skipped, Unreadable
from ..judge.exchange import JudgeOptions, complete_diagnosis
from ..judge.patterns import DEFAULT_LIMIT, DiagnosisMemory
from ..judge.session import duplicate_platform_trade_no, duplicate_trade_no, trade_space, unchecked_warning
from .validate import CHUNK_BYTES, Shipped, Worked, _judge_range, is_clean, malformed_finding

Where = tuple[int, int]  # (source number, index): where a record is
Part = tuple[int, int, list[Worked]]  # (source number, index of its first record, its records)
Contract = tuple[str, str, str]  # (endpoint, market, the contract that judged it)


def _bucket(text: str, buckets: int) -> int:
    """The same bucket in every worker process (Python's own str hash differs between processes)."""
    return zlib.crc32(text.encode("utf-8", "surrogatepass")) % buckets


def _keys_of(record: Worked) -> tuple[str | None, str | None, str | None, str | None]:
    """(endpoint, merchant, tradeNo, platFormTradeNo) of a judged record, as the session remembers them."""
    if type(record) is Shipped:
        return record.endpoint, record.merchant_no, record.trade_no, record.platform_trade_no
    if is_clean(record):  # a Clean, or its fields as a plain tuple: the same places
        return record[0], record[3], record[4], record[5]
    return None, None, None, None


def _scatter(part: Part, buckets: int) -> tuple[list[list[Any]], list[list[Any]]]:
    """Each remembered key and each wrong sign of a partition, put in its bucket."""
    source, first, records = part
    keys: list[list[Any]] = [[] for _ in range(buckets)]
    pending: list[list[Any]] = [[] for _ in range(buckets)]
    for n, r in enumerate(records):
        endpoint, merchant, trade_no, platform = _keys_of(r)
        where = (source, first + n)
        space = trade_space(endpoint) if endpoint is not None else None
        if trade_no is not None and space is not None:
            key = ("t", merchant, space, trade_no)
            keys[_bucket(f"t{merchant!r}{space}{trade_no}", buckets)].append((key, where, endpoint))
        if platform is not None:
            keys[_bucket(f"p{platform}", buckets)].append((("p", None, None, platform), where, endpoint))
        if type(r) is Shipped and r.pending is not None:
            at, body, observed, merchant = r.pending
            pattern = (merchant, tuple(sorted(body)))
            pending[_bucket(repr(pattern), buckets)].append((pattern, where, (at, body, observed, merchant)))
    return keys, pending


def _split(found: dict[Where, Any], firsts: list[Where]) -> list[dict[int, Any]]:
    """A bucket's results, per partition and keyed by the index inside it: each partition takes only its own,
    so no process ever holds the run's findings."""
    out: list[dict[int, Any]] = [{} for _ in firsts]
    for where, value in found.items():
        k = bisect_right(firsts, where) - 1  # partitions are in (source, first index) order
        out[k][where[1] - firsts[k][1]] = value
    return out


def _duplicates(firsts: list[Where], *lists: list[Any]) -> list[dict[int, list[tuple[str, str, Where, str]]]]:
    """One bucket's keys from every partition: each later occurrence points at the first (and names its own
    endpoint, whose rule the finding is)."""
    first: dict[Any, Where] = {}
    found: dict[Where, list[tuple[str, str, Where, str]]] = {}
    for key, where, endpoint in sorted((item for items in lists for item in items), key=lambda item: item[1]):
        earliest = first.setdefault(key, where)
        if earliest != where:
            found.setdefault(where, []).append((key[0], key[3], earliest, endpoint))
    return _split(found, firsts)


def _diagnose(options: JudgeOptions, limit: int, names: list[str], firsts: list[Where],
              *lists: list[Any]) -> list[dict[int, tuple[int, str, dict[str, Any]]]]:
    """One bucket's wrong signs from every partition, diagnosed in arrival order, one memory per pattern."""
    assert options.secret is not None
    memories: dict[Any, DiagnosisMemory] = {}
    out = {}
    for pattern, where, (at, body, observed, merchant) in sorted(
            (item for items in lists for item in items), key=lambda item: item[1]):
        memory = memories.setdefault(pattern, DiagnosisMemory(options.secret, limit))
        hint, details = memory.explain(body, observed, merchant, f"{names[where[0]]}#{where[1]}")
        out[where] = (at, hint, details)
    return _split(out, firsts)


Summary = tuple[list[tuple[int, Worked]], Counter[Contract], int, int | None, dict[int, list[Any]],
                dict[int, tuple[int, str, dict[str, Any]]]]


def _kept(part: Part, labels: bool, duplicates: list[dict[int, list[Any]]],
          diagnoses: list[dict[int, tuple[int, str, dict[str, Any]]]]) -> Summary:
    """What the client needs of a partition: the records that are not clean (every exchange for JUnit, which
    names them all), the clean ones counted per endpoint, the skipped ones counted, the first record
    with an object body (the one that carries the run's "signatures not checked" warning), and this
    partition's share of the shuffles' results."""
    _, _, records = part
    kept: list[tuple[int, Worked]] = []
    clean: Counter[Contract] = Counter()
    skipped = 0
    first_object = None
    for n, r in enumerate(records):
        if is_clean(r):
            clean[r[:3]] += 1
            if labels:
                kept.append((n, r))
        elif type(r) is Skipped:
            skipped += 1
        elif type(r) is Shipped:  # the body behind a wrong sign stays here: its diagnosis came through the shuffle
            kept.append((n, r._replace(pending=None)))
        else:
            kept.append((n, r))
        if first_object is None and (is_clean(r) or (type(r) is Shipped and r.body_is_object)):
            first_object = n
    repeats: dict[int, list[Any]] = {}
    for found in duplicates:  # a record's tradeNo and platFormTradeNo may lie in two buckets
        for n, items in found.items():
            repeats.setdefault(n, []).extend(items)
    named: dict[int, tuple[int, str, dict[str, Any]]] = {}
    for found_diagnoses in diagnoses:
        named.update(found_diagnoses)
    return kept, clean, skipped, first_object, repeats, named


def _ranges(paths: list[str], blocksize: int) -> list[tuple[int, str, int, int]]:
    out = []
    for n, name in enumerate(paths):
        try:
            size = os.stat(name).st_size
        except OSError as exc:
            raise InputError(f"cannot open: {exc.strerror or exc}", source=name) from None
        out += [(n, name, a, min(a + blocksize, size)) for a in range(0, max(size, 1), blocksize)]
    return out


def _part(records: list[Worked], source: int, first: int) -> Part:
    return source, first, records


def validate_on_dask(paths: list[str], options: JudgeOptions, client: Any = None, *, blocksize: int = CHUNK_BYTES,
                     sink: Sink | None = None, collect: bool = True,
                     diagnosis_limit: int = DEFAULT_LIMIT) -> Outcome:
    """Judge JSON-lines captures on a Dask cluster (``client``, else Dask's default scheduler); the same findings
    as ``validate``, handed to ``sink`` in file order."""
    import dask

    labels = sink is not None and sink.wants_labels
    ranges = _ranges(paths, blocksize)
    names = list(paths)
    if client is not None:
        def run(*values: Any) -> list[Any]:
            return list(client.gather(client.compute(list(values))))
    else:
        def run(*values: Any) -> list[Any]:
            return list(dask.compute(*values))

    judged = [dask.delayed(_judge_range)(name, a, b, options, labels) for _, name, a, b in ranges]
    judged = list(client.persist(judged) if client is not None else dask.persist(*judged))
    heads = run(*[dask.delayed(lambda c: c if isinstance(c, ReadFailed) else len(c))(c) for c in judged])
    for name, size in {name: b for _, name, _, b in ranges}.items():  # every range is read by now
        try:
            now = str(f"{os.stat(name).st_size:,} bytes")
        except OSError:
            now = "gone"
        if now != f"{size:,} bytes":
            raise InputError(f"the file changed while it was read ({size:,} bytes when it was cut into ranges, "
                             f"{now} after they were read): judge a copy that is not being written", source=name)
    firsts, seen = [], [0] * len(paths)  # where each partition starts: its source and its first record's index
    for (source, name, _, _), count in zip(ranges, heads, strict=True):
        if isinstance(count, ReadFailed):
            raise InputError(f"read failed: {count.reason} (was the file removed or changed while it was read?)",
                             source=name)
        firsts.append((source, seen[source]))
        seen[source] += count
    parts = [dask.delayed(_part)(c, s, f) for c, (s, f) in zip(judged, firsts, strict=True)]

    # Two buckets per worker thread: enough to spread the work, few enough that the tasks that hand each
    # bucket its share of every partition (partitions x buckets) cost less than the work itself.
    threads = sum(client.nthreads().values()) if client is not None else (os.cpu_count() or 1)
    buckets = max(1, min(len(parts), 2 * threads))
    scattered = [dask.delayed(_scatter, nout=2)(p, buckets) for p in parts]
    shared_firsts = dask.delayed(firsts)  # one copy in the graph, not one per bucket
    dup_tasks = [dask.delayed(_duplicates)(shared_firsts, *[s[0][b] for s in scattered]) for b in range(buckets)]
    diag_tasks = [dask.delayed(_diagnose)(options, diagnosis_limit, names, shared_firsts,
                                          *[s[1][b] for s in scattered])
                  for b in range(buckets)] if options.secret is not None else []
    summaries = [dask.delayed(_kept)(part, labels, [d[k] for d in dup_tasks], [d[k] for d in diag_tasks])
                 for k, part in enumerate(parts)]

    outcome = Outcome(sources=names, collect=collect, endpoint_order=ENDPOINT_NAMES)
    writer = _Writer(outcome, sink, names, options.secret is None)
    # Every partition's summary is computed at once on the cluster, and taken by the client in file order,
    # one at a time: the client holds one partition's findings, not the run's.
    for (source, first), summary in zip(firsts, _in_order(summaries, client), strict=True):
        writer.partition(source, first, *summary)
    outcome.notes = shared_notes(outcome.contracts)
    if sink is not None:
        sink.finish(outcome)
    return outcome


def _in_order(tasks: list[Any], client: Any) -> Iterator[Any]:
    """The tasks' results in order, one held at a time (on a cluster, all are computed at once meanwhile)."""
    import dask

    if client is None:
        for task in tasks:
            yield dask.compute(task)[0]
        return
    for future in client.compute(tasks):
        yield future.result()


class _Writer:
    """Concludes records in file order from what the workers kept, in the order ``Ledger.conclude`` gives."""

    def __init__(self, outcome: Outcome, sink: Sink | None, names: list[str], unchecked: bool) -> None:
        self.outcome, self.sink, self.names, self.unchecked = outcome, sink, names, unchecked
        self.shown = [0] * len(names)  # unreadable records reported per source, as validate caps them
        self.labels = sink is not None and sink.wants_labels
        self.cross: dict[int, list[Any]] = {}  # the partition at hand's repeated keys and diagnoses
        self.diagnoses: dict[int, tuple[int, str, dict[str, Any]]] = {}
        self.first = 0

    def partition(self, source: int, first: int, kept: list[tuple[int, Worked]], clean: Counter[Contract],
                  skipped: int, first_object: int | None, repeats: dict[int, list[Any]],
                  diagnoses: dict[int, tuple[int, str, dict[str, Any]]]) -> None:
        for (endpoint, market, variant), count in clean.items():
            self.outcome.by_endpoint[endpoint] += count
            self.outcome.contracts[(endpoint, market, variant)] += count
        self.outcome.exchanges += sum(clean.values())
        self.outcome.skipped += skipped
        self.cross, self.diagnoses, self.first = repeats, diagnoses, first
        records = dict(kept)
        # Clean records the workers did not send still have findings when they repeat a key or carry the warning.
        wanted = set(records) | set(repeats)
        if self.unchecked and first_object is not None:
            wanted.add(first_object)
        for n in sorted(wanted):
            self.record(source, first + n, records.get(n))

    def record(self, source: int, index: int, r: Worked | None) -> None:
        """One record in order (None: a clean one the workers kept to themselves, counted with its partition)."""
        outcome, name = self.outcome, self.names[source]
        what = None
        if type(r) is Unreadable:
            outcome.malformed += 1
            outcome.first_malformed = outcome.first_malformed or r.reason
            self.shown[source] += 1
            shown = malformed_finding(r.reason, self.shown[source])
            if shown is None:
                return
            found = [shown]
        elif r is None or is_clean(r):  # counted with its partition
            what = f"{r.method[:16]} {r.path[:200]}" if type(r) is Clean and r.method else None
            found = self._session(index - self.first, True, [])
        else:
            assert type(r) is Shipped
            what = r.what
            outcome.judged_exchange(r.endpoint, r.market, r.variant)
            own = list(r.findings)
            if index - self.first in self.diagnoses:
                at, hint, details = self.diagnoses[index - self.first]
                own = complete_diagnosis(own, at, hint, **details)
            found = self._session(index - self.first, r.body_is_object, own)
        found = [f.at(name, index) for f in found]
        for f in found:
            outcome.add(f)
        if self.sink is not None and (found or self.labels):
            self.sink.record(name, index, what, found)

    def _session(self, n: int, is_object: bool, found: list[Finding]) -> list[Finding]:
        if self.unchecked and is_object:
            found.append(unchecked_warning())
            self.unchecked = False
        for kind, value, first, endpoint in sorted(self.cross.get(n, []), key=lambda c: c[0] != "t"):
            label = f"{self.names[first[0]]}#{first[1]}"
            found.append(duplicate_trade_no(endpoint, value, label) if kind == "t"
                         else duplicate_platform_trade_no(endpoint, value, label))
        return found
