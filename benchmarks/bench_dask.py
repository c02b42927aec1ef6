"""When Dask is worth it: `validate --jobs 1`, `--jobs 2` and Dask's local cluster (2 workers) on growing captures.

    python benchmarks/bench_dask.py [N ...]      (default 20000 100000 300000; needs the [dask] extra)

Wall seconds of each, same files, same machine, one after the other; prints the
ratio of Dask's time to --jobs 2's. The crossover is where Dask's fixed costs
(cluster start, scheduling, shuffles) are paid back - on one machine, never: it
is for captures bigger than one machine's disk or memory, on a real cluster.
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from pathlib import Path

from bench_validate import SECRET, make

from vexora_conformance.contract import signing
from vexora_conformance.doors.validate import validate
from vexora_conformance.judge.exchange import JudgeOptions
from vexora_conformance.report import JsonReport


def main() -> None:
    import distributed

    from vexora_conformance.doors.dask_validate import validate_on_dask

    sizes = [int(a) for a in sys.argv[1:]] or [20000, 100000, 300000]
    options = JudgeOptions(secret=signing.Secret(SECRET))
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
        client = distributed.Client(cluster)
        print(f"local cluster start: {time.perf_counter() - t:.1f} s (not counted below)")
        for n in sizes:
            path = Path(tmp, f"{n}.jsonl")
            make(path, n, defective=True)
            row = []
            for jobs in (1, 2):
                t = time.perf_counter()
                validate([str(path)], options, jobs=jobs, sink=JsonReport(io.StringIO()), collect=False)
                row.append(time.perf_counter() - t)
            t = time.perf_counter()
            validate_on_dask([str(path)], options, client, sink=JsonReport(io.StringIO()), collect=False)
            row.append(time.perf_counter() - t)
            print(f"N = {n:7d}: --jobs 1 {row[0]:6.1f} s, --jobs 2 {row[1]:6.1f} s, dask (2 workers) {row[2]:6.1f} s"
                  f" = {row[2] / row[1]:.1f}x --jobs 2")
            path.unlink()
        client.close()
        cluster.close()


if __name__ == "__main__":
    main()
