"""Throughput of `validate` against its floor and a naive baseline, measured in one run.

    python benchmarks/bench_validate.py [N]      (default N = 20000)

(a) floor: parse each JSON line and its body, compute the reference MD5 sign;
(b) validate on valid traffic; (c) validate with a third of the exchanges defective;
(d) naive: floor + jsonschema.validate per record (a fresh validator each time, as
    `jsonschema.validate` does); then --jobs 1 vs --jobs 2 wall time and peak RSS at
    N and 4N (subprocesses). Prints records/s and ratios to the floor.
"""

from __future__ import annotations

import contextlib
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

from vexora_conformance.contract import signing
from vexora_conformance.contract.schemas import load_schema
from vexora_conformance.judge import JudgeOptions
from vexora_conformance.report import write_json
from vexora_conformance.validate import validate

SECRET = "bench-secret"
URL = "https://sandbox.example/mexico/v1/vexora/checkout"


def make(path: Path, n: int, defective_every: int = 0) -> None:
    with path.open("w") as f:
        for i in range(n):
            body: dict[str, Any] = {"timestamp": str(1764000000000 + i), "tradeNo": f"2025112416{i:010d}",
                                    "amount": str(100 + i % 900), "notifyUrl": "https://m.example/notify",
                                    "wayCode": "va", "remark": f"order {i}", "email": "a@b.mx"}
            body["sign"] = signing.sign(body, SECRET)
            if defective_every and i % defective_every == 0:
                body["amount"] = "300.50"  # decimal amount, and the sign no longer matches
            rec = {"request": {"method": "POST", "url": URL,
                               "headers": {"Content-Type": "application/json", "merchantNo": "1000000001"},
                               "body": json.dumps(body)}, "time": 1764000000 + i / 1000}
            f.write(json.dumps(rec) + "\n")


def floor(path: Path) -> int:
    n = 0
    with path.open("rb") as f:
        for line in f:
            body = json.loads(json.loads(line)["request"]["body"])
            signing.sign(body, SECRET)
            n += 1
    return n


def naive(path: Path) -> int:
    import jsonschema

    schema = load_schema("checkout-request-body")
    n = 0
    with path.open("rb") as f:
        for line in f:
            body = json.loads(json.loads(line)["request"]["body"])
            signing.verify(body, SECRET)
            with contextlib.suppress(jsonschema.ValidationError):
                jsonschema.validate(body, schema)
            n += 1
    return n


def ours(path: Path) -> int:
    outcome = validate([str(path)], JudgeOptions(secret=signing.Secret(SECRET)))
    write_json(outcome, io.StringIO())
    return outcome.exchanges


def rate(fn: Any, path: Path, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        n = fn(path)
        best = min(best, time.perf_counter() - t)
    return float(n) / best


def cli_run(path: Path, jobs: int) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of the installed command."""
    code = ("import os, resource, subprocess, sys, time; t = time.perf_counter();"
            "subprocess.run([sys.executable, '-m', 'vexora_conformance', 'validate', sys.argv[1], '--format', 'json',"
            " '--jobs', sys.argv[2], '--output', '/dev/null'], env={**os.environ, 'VEXORA_SECRET': sys.argv[3]});"
            "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, str(path), str(jobs), SECRET], capture_output=True, text=True,
                         check=True).stdout.split()
    return float(out[0]), int(out[1])


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    with tempfile.TemporaryDirectory() as tmp:
        valid, mixed, big = Path(tmp, "valid.jsonl"), Path(tmp, "mixed.jsonl"), Path(tmp, "big.jsonl")
        make(valid, n)
        make(mixed, n, defective_every=3)
        make(big, 4 * n)
        # Interleaved rounds, median ratio per round: this VM's speed drifts by tens of percent
        # between runs, so each ratio compares measurements taken seconds apart.
        rounds = [(rate(floor, valid, 1), rate(ours, valid, 1), rate(ours, mixed, 1)) for _ in range(5)]
        a = statistics.median(r[0] for r in rounds)
        b = statistics.median(r[1] for r in rounds)
        c = statistics.median(r[2] for r in rounds)
        rb = sorted(r[1] / r[0] for r in rounds)
        rc = sorted(r[2] / r[0] for r in rounds)
        d = rate(naive, valid, repeat=1)
        print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, N = {n}, 5 interleaved rounds")
        print(f"(a) floor (parse + MD5)           {a:10.0f} records/s  1.00")
        print(f"(b) validate, valid traffic       {b:10.0f} records/s  {statistics.median(rb):.2f} of floor "
              f"(range {rb[0]:.2f}-{rb[-1]:.2f}; target >= 0.50)")
        print(f"(c) validate, 1/3 defective       {c:10.0f} records/s  {statistics.median(rc):.2f} of floor "
              f"(range {rc[0]:.2f}-{rc[-1]:.2f}; target >= 0.20)")
        print(f"(d) naive jsonschema.validate     {d:10.0f} records/s  {d / a:.3f} of floor; validate is "
              f"{b / d:.0f}x naive")
        t1, rss1 = cli_run(big, 1)
        t2, rss2 = cli_run(big, 2)
        print(f"--jobs 1: {t1:.2f} s, --jobs 2: {t2:.2f} s on {4 * n} records: speed-up {t1 / t2:.2f}x")
        _, rss_small = cli_run(valid, 1)
        print(f"peak RSS: {rss_small / 1024:.0f} MiB at N = {n}, {rss1 / 1024:.0f} MiB at 4N = {4 * n} "
              f"(jobs 2: {rss2 / 1024:.0f} MiB, largest single process)")


if __name__ == "__main__":
    main()
