"""Throughput and memory of `validate`, against the parse floor measured in the same run.

    python benchmarks/bench_validate.py [N] [--rounds R] [--skip-jobs] [--skip-rss] [--pairs]
    python benchmarks/bench_validate.py --instructions   (needs valgrind: counts instead of seconds)

With ``--instructions`` each side (the floor, validate on clean and on defective traffic) runs under
``valgrind --tool=callgrind`` at two sizes; the per-record cost is the difference, in instructions, which is
repeatable on this VM where wall time drifts. ``--pairs`` writes headers as ``[name, value]`` pairs (what the
JSON-lines format documents and the public integrations' captures use) instead of an object.

The floor: orjson parses each JSON line and both bodies, then the reference
canonical string and MD5 are computed - what no validator of this contract can
avoid. Measured interleaved with validate (floor, clean, defective, floor, ...)
for R rounds; each ratio compares runs taken seconds apart (this VM drifts by
tens of percent between minutes) and the median is printed with the range.

- clean: N valid Checkout exchanges with their answers;
- defective: a third defective, half of them signed with a known mistake
  (secret prefixed) and half with a value changed after signing;
- peak RSS of the command at N and 3N records (`--format json` to /dev/null),
  for clean and defective traffic, against the target RSS(3N) <= 1.3 x RSS(N) + 20 MB;
- `--jobs 2` against `--jobs 1` on 180k records (wall time of the command).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from vexora_conformance.contract import signing
from vexora_conformance.contract.signing.diagnosis import recipe_for, sign_with
from vexora_conformance.doors.validate import validate
from vexora_conformance.judge.exchange import JudgeOptions
from vexora_conformance.report import JsonReport

SECRET = "bench-secret"
URL = "https://sandbox.vexora.example/mexico/v1/vexora/checkout"


PAIRS = False  # headers as [name, value] pairs (--pairs)


def _headers(headers: dict[str, str]) -> Any:
    return [[k, v] for k, v in headers.items()] if PAIRS else headers


def record(i: int, defect: str | None = None) -> str:
    body: dict[str, Any] = {"timestamp": str(1764000000000 + i), "tradeNo": f"2025112416{i:010d}",
                            "amount": str(100 + i % 900), "notifyUrl": "https://merchant.example/notify",
                            "wayCode": "va", "remark": f"order {i}", "email": "payer@example.mx"}
    if defect == "mistake":
        body["sign"] = sign_with(body, SECRET, recipe_for("secret-prefixed"))
    else:
        body["sign"] = signing.sign(body, SECRET)
        if defect == "tampered":
            body["amount"] = str(101 + i % 900)  # changed after signing
    answer = {"msg": "success", "code": "0000", "timestamp": 1764000000150 + i, "success": True,
              "data": {"tradeNo": body["tradeNo"], "platFormTradeNo": f"p{i:015d}", "status": "0015",
                       "desc": "Create", "remark": body["remark"],
                       "paymentUrl": f"https://cashier.vexora.example/#/order/{i}"}}
    return json.dumps({"request": {"method": "POST", "url": URL,
                                   "headers": _headers({"Content-Type": "application/json",
                                                        "merchantNo": "1000000001"}),
                                   "body": json.dumps(body)},
                       "response": {"status": 200, "headers": _headers({"Content-Type": "application/json"}),
                                    "body": json.dumps(answer)},
                       "time": 1764000000 + i / 1000})


def make(path: Path, n: int, defective: bool = False) -> None:
    with path.open("w") as f:
        for i in range(n):
            defect = None
            if defective and i % 3 == 0:
                defect = "mistake" if i % 6 == 0 else "tampered"
            f.write(record(i, defect) + "\n")


def floor(path: Path) -> int:
    n = 0
    with path.open("rb") as f:
        for line in f:
            r = orjson.loads(line)
            body = orjson.loads(r["request"]["body"])
            orjson.loads(r["response"]["body"])
            signing.sign(body, SECRET)
            n += 1
    return n


def ours(path: Path) -> int:
    outcome = validate([str(path)], JudgeOptions(secret=signing.Secret(SECRET)), sink=JsonReport(io.StringIO()),
                       collect=False)
    return outcome.exchanges


def seconds(fn: Any, path: Path) -> float:
    t = time.perf_counter()
    fn(path)
    return time.perf_counter() - t


def cli_run(path: Path, jobs: int, fmt: str = "json") -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of the installed command."""
    code = ("import os, resource, subprocess, sys, time; t = time.perf_counter();"
            "subprocess.run([sys.executable, '-m', 'vexora_conformance', 'validate', sys.argv[1],"
            " '--format', sys.argv[4], '--jobs', sys.argv[2], '--output', '/dev/null'],"
            " env={**os.environ, 'VEXORA_SECRET': sys.argv[3]});"
            "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, str(path), str(jobs), SECRET, fmt], capture_output=True,
                         text=True, check=True).stdout.split()
    return float(out[0]), int(out[1])


def _judge_alone(path: str, start: int, end: int) -> int:
    from vexora_conformance.doors.validate import _judge_range

    return len(_judge_range(path, start, end, JudgeOptions(secret=signing.Secret(SECRET)), False))


def ceiling(path: Path) -> float:
    """What two processes can gain on this machine right now: the file's chunks judged with no merge, in one
    process and in two (a measure of the machine, which --jobs 2 cannot beat)."""
    from concurrent.futures import ProcessPoolExecutor

    from vexora_conformance.doors.validate import CHUNK_BYTES

    size = path.stat().st_size
    starts = list(range(0, size, CHUNK_BYTES))
    ends = [min(a + CHUNK_BYTES, size) for a in starts]
    t = time.perf_counter()
    for a, b in zip(starts, ends, strict=True):
        _judge_alone(str(path), a, b)
    one = time.perf_counter() - t
    with ProcessPoolExecutor(2) as pool:
        t = time.perf_counter()
        list(pool.map(_judge_alone, [str(path)] * len(starts), starts, ends))
        two = time.perf_counter() - t
    return one / two


def instructions_per_record(side: str, pairs: bool, small: int = 1000, large: int = 4000) -> float:
    """Callgrind's instructions per record of ``side`` (floor, clean, defective): the captures are written
    before, outside valgrind, so the count is of reading and judging them alone."""
    global PAIRS
    PAIRS = pairs

    def count(n: int) -> int:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp, "capture.jsonl")
            make(path, n, defective=side == "defective")
            run = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
                                  __file__, "--child", side, str(path)], capture_output=True, text=True, check=True)
        return int(next(ln for ln in run.stderr.splitlines() if "Collected" in ln).split()[-1])

    return (count(large) - count(small)) / (large - small)


def child(side: str, path: Path) -> None:
    if side == "floor":
        floor(path)
    else:
        ours(path)


def main() -> None:
    global PAIRS
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], Path(sys.argv[3]))
        return
    if sys.argv[1:2] == ["--instructions"]:
        for pairs in (False, True):
            base = instructions_per_record("floor", pairs)
            clean, bad = instructions_per_record("clean", pairs), instructions_per_record("defective", pairs)
            form = "[name, value] pairs" if pairs else "an object"
            print(f"headers as {form}: floor {base:9,.0f} instructions/record; clean {clean:9,.0f} "
                  f"({base / clean:.2f} of the floor); a third defective {bad:9,.0f} ({base / bad:.2f})")
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--skip-jobs", action="store_true")
    ap.add_argument("--skip-rss", action="store_true")
    ap.add_argument("--pairs", action="store_true", help="headers as [name, value] pairs")
    args = ap.parse_args()
    PAIRS = args.pairs
    n = args.n
    with tempfile.TemporaryDirectory() as tmp:
        clean, mixed = Path(tmp, "clean.jsonl"), Path(tmp, "defective.jsonl")
        make(clean, n)
        make(mixed, n, defective=True)
        ours(clean)  # warm: schema predicates built, caches filled
        rounds = []
        for _ in range(args.rounds):
            f = seconds(floor, clean)
            rounds.append((f / seconds(ours, clean), f / seconds(ours, mixed), n / f))
        rc = sorted(r[0] for r in rounds)
        rd = sorted(r[1] for r in rounds)
        print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, N = {n}, "
              f"{args.rounds} interleaved rounds")
        print(f"floor (orjson: line + both bodies, reference MD5)  {statistics.median(r[2] for r in rounds):8.0f} "
              "records/s")
        print(f"clean traffic        {statistics.median(rc):.2f} of the floor (range {rc[0]:.2f}-{rc[-1]:.2f}; "
              "target >= 0.50)")
        print(f"one third defective  {statistics.median(rd):.2f} of the floor (range {rd[0]:.2f}-{rd[-1]:.2f}; "
              "target >= 0.20)")
        if not args.skip_rss:
            for name, defective in (("clean", False), ("defective", True)):
                small, large = Path(tmp, f"{name}-n.jsonl"), Path(tmp, f"{name}-3n.jsonl")
                make(small, n, defective)
                make(large, 3 * n, defective)
                for fmt in ("json", "junit") if defective else ("json",):
                    _, rss_n = cli_run(small, 1, fmt)
                    _, rss_3n = cli_run(large, 1, fmt)
                    limit = 1.3 * rss_n / 1024 + 20
                    print(f"peak RSS, {name:9s} {fmt:5s} {rss_n / 1024:6.1f} MiB at N, {rss_3n / 1024:6.1f} MiB at "
                          f"3N (target <= {limit:.1f} MiB: {'met' if rss_3n / 1024 <= limit else 'NOT met'})")
                small.unlink()
                large.unlink()
        if not args.skip_jobs:
            big = Path(tmp, "big.jsonl")
            make(big, 180_000)
            times, ceilings = [], []
            for _ in range(3):
                t1, _ = cli_run(big, 1)
                t2, rss2 = cli_run(big, 2)
                times.append((t1, t2))
                ceilings.append(ceiling(big))
            speedups = sorted(t1 / t2 for t1, t2 in times)
            print(f"--jobs 2 on 180000 records: {statistics.median(speedups):.2f}x --jobs 1 "
                  f"(range {speedups[0]:.2f}-{speedups[-1]:.2f}; target >= 1.8; --jobs 1 "
                  f"{statistics.median(t for t, _ in times):.1f} s, peak RSS with --jobs 2 {rss2 / 1024:.0f} MiB)")
            ceilings.sort()
            print(f"  the machine's own ceiling, interleaved: two processes judging with no merge "
                  f"{statistics.median(ceilings):.2f}x one (range {ceilings[0]:.2f}-{ceilings[-1]:.2f})")


if __name__ == "__main__":
    main()
