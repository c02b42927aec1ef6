"""Cost of the pytest plugin: per-call overhead of vexora_mock vs a bare respx route, and import cost.

    python benchmarks/bench_plugin.py [CALLS]      (default 2000)
    python benchmarks/bench_plugin.py --instructions   (needs valgrind: counts instead of seconds)

With ``--instructions`` each side runs under ``valgrind --tool=callgrind`` at two sizes and
the per-call cost is the difference, in instructions: repeatable on this VM, whose wall-clock
timing drifts by tens of percent between runs.

Both sides send the same signed body with the same httpx.Client; the bare side's
route returns a fixed JSON response. Import cost: the plugin's cumulative time
under `-X importtime` (best of 15 fresh interpreters), next to pytest's own; whole-interpreter
wall time is too noisy here (+-15 ms) to resolve a few milliseconds.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from typing import Any

import httpx
import respx

from vexora_conformance.contract import signing
from vexora_conformance.doors.fake.mock import fake_provider

URL = "https://sandbox.example/mexico/v1/vexora/checkout"
SECRET = "vexora-test-secret"


def body(i: int) -> dict[str, Any]:
    b: dict[str, Any] = {"timestamp": str(int(time.time() * 1000)), "tradeNo": f"T{i:012d}", "amount": "300",
                         "notifyUrl": "https://shop.example/notify", "remark": f"r{i}"}
    b["sign"] = signing.sign(b, SECRET)
    return b


def per_call(calls: int, use_fake: bool) -> float:
    bodies = [body(i) for i in range(calls)]
    headers = {"merchantNo": "1000000001"}
    with httpx.Client() as client:
        if use_fake:
            with fake_provider(check=True):
                client.post(URL, json=body(-1), headers=headers)  # warm-up: schemas compiled
                t = time.perf_counter()
                for b in bodies:
                    client.post(URL, json=b, headers=headers)
                return (time.perf_counter() - t) / calls
        with respx.mock() as router:
            router.post(URL).mock(return_value=httpx.Response(200, json={"code": "0000", "msg": "success"}))
            client.post(URL, json=body(-1), headers=headers)
            t = time.perf_counter()
            for b in bodies:
                client.post(URL, json=b, headers=headers)
            return (time.perf_counter() - t) / calls


def import_us(code: str, module: str) -> int:
    """Cumulative import time of ``module`` (microseconds, best of 15), as ``-X importtime`` reports it."""
    best = 10**9
    for _ in range(15):
        err = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True,
                             check=True).stderr
        for line in err.splitlines():
            parts = [p.strip() for p in line.split("|")]
            if len(parts) == 3 and parts[2] == module:
                best = min(best, int(parts[1]))
    return best


def instructions_per_call(mode: str, small: int = 100, large: int = 600) -> float:
    """Callgrind's instruction count per client call of ``mode`` ("bare" or "fake"), setup excluded."""
    def count(n: int) -> int:
        run = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
                              __file__, "--child", mode, str(n)], capture_output=True, text=True, check=True)
        return int(next(ln for ln in run.stderr.splitlines() if "Collected" in ln).split()[-1])

    return (count(large) - count(small)) / (large - small)


def child(mode: str, calls: int) -> None:
    """One side, ``calls`` times, for the instruction count; "bodies" only builds the bodies (subtracted)."""
    bodies = [body(i) for i in range(calls)]
    headers = {"merchantNo": "1000000001"}
    if mode == "bodies":
        return
    with httpx.Client() as client:
        if mode == "fake":
            with fake_provider(check=False):
                for b in bodies:
                    client.post(URL, json=b, headers=headers)
        else:
            with respx.mock() as router:
                router.post(URL).mock(return_value=httpx.Response(200, json={"code": "0000", "msg": "success"}))
                for b in bodies:
                    client.post(URL, json=b, headers=headers)


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], int(sys.argv[3]))
        return
    if sys.argv[1:2] == ["--instructions"]:
        setup = instructions_per_call("bodies")  # building and signing the test bodies: not the call's cost
        bare, fake = instructions_per_call("bare") - setup, instructions_per_call("fake") - setup
        print(f"bare respx route: {bare:12,.0f} instructions/call")
        print(f"vexora_mock:      {fake:12,.0f} instructions/call")
        print(f"ratio: {fake / bare:.2f} (target <= 1.20)")
        return
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    # Interleaved rounds, median of the per-round ratios: this VM's timing drifts by tens of
    # percent between runs, so a baseline measured minutes apart would not be a baseline.
    rounds = [(per_call(calls // 4, False), per_call(calls // 4, True)) for _ in range(7)]
    ratios = sorted(fake / bare for bare, fake in rounds)
    bare = statistics.median(b for b, _ in rounds)
    fake = statistics.median(f for _, f in rounds)
    print(f"bare respx route: {bare * 1e6:7.0f} us/call (median of 7 interleaved rounds)")
    print(f"vexora_mock:      {fake * 1e6:7.0f} us/call")
    print(f"ratio: median {statistics.median(ratios):.2f}, range {ratios[0]:.2f}-{ratios[-1]:.2f} (target <= 1.40)")
    base = import_us("import pytest", "pytest")
    plugin = import_us("import pytest, vexora_conformance.plugin", "vexora_conformance.plugin")
    print(f"import pytest: {base / 1000:.0f} ms; the plugin (with its package) adds {plugin / 1000:.1f} ms "
          f"({plugin / base:.1%} of pytest's own import)")


if __name__ == "__main__":
    main()
