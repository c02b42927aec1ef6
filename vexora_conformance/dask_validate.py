"""``validate`` for captures too big for one machine, on Dask (the optional ``[dask]`` extra).

The judge is pure, so each byte range of a JSON-lines file is judged on a worker
exactly as ``validate --jobs N`` judges it (``validate._judge_range``). The rules
that need memory across exchanges run as shuffles, never by collecting keys in
one process:

- duplicate tradeNo / platFormTradeNo: group by (merchant, tradeNo) or
  platFormTradeNo; within a group, every record after the first is a duplicate;
- the mistake behind wrong signs, once per pattern: group by (merchant, set of
  keys); within a group the session's ``DiagnosisMemory`` runs in arrival order.

Only the findings travel back to the client, which writes them in file order,
one partition at a time. The result equals ``validate --jobs 1`` (a test holds it
on the bundled captures and 100k records), except past 65,536 distinct patterns
of wrong signs, where the single-process run stops remembering new ones.
Workers read the files by path: a local cluster, or a file system every worker mounts.
"""

from __future__ import annotations

import os
from typing import Any

from .contract.endpoints import RESPONSE_ROOT
from .contract.rules import rule
from .errors import InputError
from .judge import JudgeOptions, complete_diagnosis
from .models import Finding
from .patterns import DEFAULT_LIMIT, DiagnosisMemory
from .validate import CHUNK_BYTES, MAX_MALFORMED_SHOWN, Outcome, Record, Sink, _judge_range

Label = tuple[int, int]  # (source number, index): where a record is


def _keys(partition: tuple[int, int, list[Record]]) -> list[tuple[Any, Label]]:
    """(key, where) for every remembered key of a partition: ("t", merchant, tradeNo) and ("p", platFormTradeNo)."""
    source, first, records = partition
    out: list[tuple[Any, Label]] = []
    for n, r in enumerate(records):
        if r[0] == "c":
            merchant, trade_no, platform = r[2], r[3], r[4]
        elif r[0] == "x":
            merchant, trade_no, platform = r[3], r[4], r[5]
        else:
            continue
        if trade_no is not None:
            out.append((("t", merchant, trade_no), (source, first + n)))
        if platform is not None:
            out.append((("p", platform), (source, first + n)))
    return out


def _pending(partition: tuple[int, int, list[Record]]) -> list[tuple[Any, tuple[Label, Any]]]:
    source, first, records = partition
    out = []
    for n, r in enumerate(records):
        if r[0] == "x" and r[8] is not None:
            at, body, observed, merchant = r[8]
            out.append(((merchant, tuple(sorted(body))), ((source, first + n), (at, body, observed, merchant))))
    return out


def _duplicates(group: tuple[Any, list[tuple[Any, Label]]]) -> list[tuple[Label, tuple[str, Any, Label]]]:
    key, members = group
    where = sorted(w for _, w in members)
    return [(w, (key[0], key[-1], where[0])) for w in where[1:]]


def _diagnose_group(group: tuple[Any, list[tuple[Any, tuple[Label, Any]]]], options: JudgeOptions, limit: int,
                    names: list[str]) -> list[tuple[Label, tuple[int, str, dict[str, Any]]]]:
    assert options.secret is not None
    memory = DiagnosisMemory(options.secret, limit)
    out = []
    for _, (where, (at, body, observed, merchant)) in sorted(group[1], key=lambda item: item[1][0]):
        hint, details = memory.explain(body, observed, merchant, f"{names[where[0]]}#{where[1]}")
        out.append((where, (at, hint, details)))
    return out


def _ranges(paths: list[str], blocksize: int) -> list[tuple[int, str, int, int]]:
    out = []
    for n, name in enumerate(paths):
        size = os.stat(name).st_size
        out += [(n, name, a, min(a + blocksize, size)) for a in range(0, max(size, 1), blocksize)]
    return out


def validate_on_dask(paths: list[str], options: JudgeOptions, client: Any = None, *, blocksize: int = CHUNK_BYTES,
                     sink: Sink | None = None, collect: bool = True,
                     diagnosis_limit: int = DEFAULT_LIMIT) -> Outcome:
    """Judge JSON-lines captures on a Dask cluster (the current client, or ``client``); findings as ``validate``'s."""
    import dask
    import dask.bag as db

    labels = sink is not None and sink.wants_labels
    ranges = _ranges(paths, blocksize)
    chunks = [dask.delayed(_judge_range)(name, a, b, options, labels) for _, name, a, b in ranges]
    judged = dask.persist(*chunks, **({"scheduler": client} if client is not None else {}))
    compute = client.compute if client is not None else None

    def run(*values: Any) -> Any:
        return client.gather(compute(list(values))) if compute else dask.compute(*values)

    counts = run(*[dask.delayed(len)(c) for c in judged])
    for (_, name, _, _), chunk in zip(ranges, run(*[dask.delayed(lambda c: c[:1])(c) for c in judged]), strict=True):
        if chunk and chunk[0][0] == "error":
            raise InputError(f"read failed: {chunk[0][1]}", source=name)
    # Where each partition starts: its source and the index of its first record.
    firsts, seen = [], [0] * len(paths)
    for (source, _, _, _), count in zip(ranges, counts, strict=True):
        firsts.append((source, seen[source]))
        seen[source] += count
    parts = db.from_delayed([dask.delayed(lambda c, s, f: [(s, f, c)])(c, s, f)
                             for c, (s, f) in zip(judged, firsts, strict=True)])
    duplicates = parts.map(_keys).flatten().groupby(lambda kv: kv[0], shuffle="tasks").map(_duplicates).flatten()
    cross: dict[Label, list[tuple[str, Any, Label]]] = {}
    for where, found in run(duplicates)[0]:
        cross.setdefault(where, []).append(found)
    diagnoses: dict[Label, tuple[int, str, dict[str, Any]]] = {}
    if options.secret is not None:
        pending = parts.map(_pending).flatten().groupby(lambda kv: kv[0], shuffle="tasks")
        diagnoses = dict(run(pending.map(_diagnose_group, options, diagnosis_limit, list(paths)).flatten())[0])

    outcome = Outcome(sources=list(paths), collect=collect)
    unchecked = options.secret is None
    shown = [0] * len(paths)  # unreadable records reported per source, as validate caps them
    for (source, _, _, _), (_, first), delayed_chunk in zip(ranges, firsts, judged, strict=True):
        name = paths[source]
        records: list[Record] = run(delayed_chunk)[0]  # one partition at a time on the client
        for n, r in enumerate(records):
            index = first + n
            found, what, unchecked = _conclude(r, (source, index), cross, diagnoses, paths, outcome, unchecked)
            if r[0] == "s":
                continue
            if r[0] == "m":
                shown[source] += 1
                if shown[source] > MAX_MALFORMED_SHOWN:
                    continue
                if shown[source] == MAX_MALFORMED_SHOWN:
                    found = [rule("input.malformed").finding(r[1] + "; further malformed records not listed")]
            if found:
                found = [f.at(name, index) for f in found]
                for f in found:
                    outcome.add(f)
            if sink is not None and (found or labels):
                sink.record(name, index, what, found)
        del records
    if sink is not None:
        sink.finish(outcome)
    return outcome


def _conclude(r: Record, where: Label, cross: dict[Label, list[tuple[str, Any, Label]]],
              diagnoses: dict[Label, tuple[int, str, dict[str, Any]]], paths: list[str], outcome: Outcome,
              unchecked: bool) -> tuple[list[Finding], str | None, bool]:
    """One record's findings in the order ``Ledger.conclude`` gives them."""
    kind = r[0]
    if kind == "s":
        outcome.skipped += 1
        return [], None, unchecked
    if kind == "m":
        outcome.malformed += 1
        outcome.first_malformed = outcome.first_malformed or r[1]
        return [rule("input.malformed").finding(r[1])], None, unchecked
    outcome.exchanges += 1
    found: list[Finding]
    if kind == "c":
        outcome.by_endpoint[r[1]] += 1
        found, is_object = [], True
        what = f"{r[5][:16]} {r[6][:200]}" if len(r) > 5 else None
    else:
        _, what, findings, _, _, _, is_object, endpoint, _ = r
        outcome.by_endpoint[endpoint] += 1
        found = list(findings)
        if where in diagnoses:
            at, hint, details = diagnoses[where]
            found = complete_diagnosis(found, at, hint, **details)
    if unchecked and is_object:
        found.append(rule("sign.unchecked").finding("signatures were not checked (no app secret given)"))
        unchecked = False
    for kind_of_key, value, first in sorted(cross.get(where, []), key=lambda c: c[0] != "t"):
        label = f"{paths[first[0]]}#{first[1]}"
        if kind_of_key == "t":
            found.append(rule("trade-no.duplicate").finding(f"tradeNo {value!r} was already used by {label}",
                                                            "/tradeNo"))
        else:
            found.append(rule("response.platform-trade-no.duplicate").finding(
                f"platFormTradeNo {value!r} was already returned to {label}", RESPONSE_ROOT + "/data/platFormTradeNo"))
    return found, what, unchecked
