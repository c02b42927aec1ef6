"""Load on the loopback fake provider: 10,000 requests from 50 concurrent clients, none lost.

    python benchmarks/load_serve.py [REQUESTS] [CLIENTS]     (default 10000 50)

Starts `vexora-conformance serve --port 0` on 127.0.0.1, sends signed Checkout
requests from CLIENTS threads (one keep-alive httpx.Client each), then checks that
/__vexora__/findings counts exactly REQUESTS exchanges, and prints p50/p99 latency.
Traffic goes to loopback only; the run is bounded by count and by a 10-minute cap.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

import httpx

from vexora_conformance.contract import signing

SECRET = "load-test-secret"


def body(i: int) -> dict[str, Any]:
    b: dict[str, Any] = {"timestamp": str(int(time.time() * 1000)), "tradeNo": f"L{i:010d}", "amount": "300",
                         "notifyUrl": "https://shop.example/notify", "remark": f"r{i}"}
    b["sign"] = signing.sign(b, SECRET)
    return b


def main() -> int:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    clients = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    proc = subprocess.Popen([sys.executable, "-m", "vexora_conformance", "serve", "--port", "0"],
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "VEXORA_SECRET": SECRET})
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + 600

    def worker(k: int) -> None:
        mine: list[float] = []
        with httpx.Client(base_url=url, timeout=30) as client:
            for i in range(k, total, clients):
                if time.monotonic() > deadline:
                    break
                b = body(i)
                t = time.perf_counter()
                try:
                    r = client.post("/mexico/v1/vexora/checkout", json=b, headers={"merchantNo": "1000000001"})
                    ok = r.status_code == 200 and r.json()["code"] == "0000"
                except httpx.HTTPError as exc:
                    ok, r = False, exc  # type: ignore[assignment]
                mine.append(time.perf_counter() - t)
                if not ok:
                    with lock:
                        failures.append(str(r)[:100])
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    summary = httpx.get(url + "/__vexora__/findings", timeout=60).json()["summary"]
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    q = statistics.quantiles(latencies, n=100)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; {clients} concurrent clients")
    print(f"sent {len(latencies)} requests in {elapsed:.1f} s ({len(latencies) / elapsed:.0f} req/s); "
          f"non-success answers: {len(failures)}")
    print(f"recorded by the server: {summary['exchanges']} exchanges, {summary['errors']} error findings; "
          f"lost: {len(latencies) - summary['exchanges']}")
    print(f"latency p50 {q[49] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms")
    return 0 if summary["exchanges"] == len(latencies) == total and not failures else 1


if __name__ == "__main__":
    sys.exit(main())
