"""Load on the loopback fake provider, against a stdlib floor server in the same run; none lost.

    python benchmarks/load_serve.py [REQUESTS] [CLIENTS]     (default 10000 50)
    python benchmarks/load_serve.py --instructions   (needs valgrind: each server's instructions per request)

Starts `vexora-conformance serve --port 0` on 127.0.0.1 and, in the same run, a floor: the standard library's
ThreadingHTTPServer answering every request with a fixed JSON body in one write (what no Python HTTP server
on threads can undercut). Each gets REQUESTS signed Checkout requests from CLIENTS keep-alive connections.
The client is not the bottleneck: the requests are built and signed before the clock starts, and each
connection is a raw socket that writes a request and reads the answer by its Content-Length. serve must
count exactly REQUESTS exchanges at /__vexora__/findings. Prints req/s, median and p99 latency of each, and
serve's share of the floor. Loopback only; bounded by count and a 10-minute cap.

With ``--instructions`` each server runs under ``valgrind --tool=callgrind`` and answers 200, then 800 requests
sent one after another on one keep-alive connection; the per-request cost is the difference, in
instructions: the repeatable figure of the server's own work (latency under load is the VM's as much as
serve's: it moved by a third between hours here).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from vexora_conformance.contract import signing

SECRET = "load-test-secret"
PATH = "/mexico/v1/vexora/checkout"


def request_bytes(i: int, host: str) -> bytes:
    b: dict[str, Any] = {"timestamp": str(int(time.time() * 1000)), "tradeNo": f"L{i:010d}-{time.time_ns()}",
                         "amount": "300", "notifyUrl": "https://shop.example/notify", "remark": f"r{i}"}
    b["sign"] = signing.sign(b, SECRET)
    body = json.dumps(b).encode()
    return (f"POST {PATH} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nmerchantNo: 1000000001\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def read_answer(sock: socket.socket, pending: bytearray) -> bytes:
    """One HTTP/1.1 answer framed by Content-Length; what follows it stays in ``pending``."""
    while b"\r\n\r\n" not in pending:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the answer's headers")
        pending += chunk
    head, _, _ = bytes(pending).partition(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(
        b"content-length:"))
    end = len(head) + 4 + length
    while len(pending) < end:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed in the middle of the answer")
        pending += chunk
    answer = bytes(pending[:end])
    del pending[:end]
    return answer


def load(host: str, port: int, total: int, clients: int) -> tuple[float, list[float], int]:
    """(seconds, latencies, answers that were not 200)."""
    requests = [request_bytes(i, f"{host}:{port}") for i in range(total)]
    latencies: list[float] = []
    bad = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + 600
    go = threading.Event()

    def worker(k: int) -> None:
        mine: list[float] = []
        sock = socket.create_connection((host, port), timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pending = bytearray()
        go.wait()
        try:
            for i in range(k, total, clients):
                if time.monotonic() > deadline:
                    break
                t = time.perf_counter()
                sock.sendall(requests[i])
                answer = read_answer(sock, pending)
                mine.append(time.perf_counter() - t)
                if not answer.startswith(b"HTTP/1.1 200") and not answer.startswith(b"HTTP/1.0 200"):
                    with lock:
                        bad[0] += 1
        finally:
            sock.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    time.sleep(0.2)  # every connection open before the clock starts
    started = time.perf_counter()
    go.set()
    for t in threads:
        t.join()
    return time.perf_counter() - started, latencies, bad[0]


class Floor(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    ANSWER = json.dumps({"code": "0000", "msg": "success", "success": True, "data": {"status": "0015"}}).encode()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                         + str(len(self.ANSWER)).encode() + b"\r\n\r\n" + self.ANSWER)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def floor_server() -> tuple[subprocess.Popen[str], int]:
    """The floor in its own process, as serve is."""
    proc = subprocess.Popen([sys.executable, __file__, "--floor"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def report(name: str, elapsed: float, latencies: list[float], bad: int) -> float:
    q = statistics.quantiles(latencies, n=100)
    rate = len(latencies) / elapsed
    print(f"{name:6s} {rate:7.0f} req/s, latency median {q[49] * 1000:5.1f} ms, p99 {q[98] * 1000:6.1f} ms; "
          f"non-200 answers: {bad}")
    return rate


def instructions_per_request(which: str, small: int = 200, large: int = 800) -> float:
    """Callgrind's instructions per request of ``which`` ("floor" or "serve"), start-up excluded."""
    def count(n: int) -> int:
        server = [sys.executable, "-m", "vexora_conformance", "serve", "--port", "0"] if which == "serve" else \
            [sys.executable, __file__, "--floor"]
        proc = subprocess.Popen(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *server],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "VEXORA_SECRET": SECRET})
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        port = int(first.rsplit(":", 1)[-1])
        requests = [request_bytes(i, f"127.0.0.1:{port}") for i in range(n)]
        with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
            pending = bytearray()
            for r in requests:
                sock.sendall(r)
                read_answer(sock, pending)
        proc.send_signal(signal.SIGINT if which == "serve" else signal.SIGTERM)
        _, err = proc.communicate(timeout=300)
        return int(next(ln for ln in err.splitlines() if "Collected" in ln).split()[-1])

    return (count(large) - count(small)) / (large - small)


def main() -> int:
    if sys.argv[1:2] == ["--instructions"]:
        base, ours = instructions_per_request("floor"), instructions_per_request("serve")
        print(f"floor (stdlib server, fixed answer): {base:11,.0f} instructions/request\n"
              f"serve:                               {ours:11,.0f} instructions/request "
              f"({base / ours:.2f} of the floor)")
        return 0
    if sys.argv[1:2] == ["--floor"]:
        server = ThreadingHTTPServer(("127.0.0.1", 0), Floor)
        server.daemon_threads = True
        print(server.server_address[1], flush=True)
        server.serve_forever()
        return 0
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    clients = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; {clients} keep-alive clients, "
          f"{total} requests each run; client and servers on the same cores")
    floor, port = floor_server()
    try:
        floor_rate = report("floor", *load("127.0.0.1", port, total, clients))
    finally:
        floor.send_signal(signal.SIGTERM)
        floor.wait(timeout=30)
    proc = subprocess.Popen([sys.executable, "-m", "vexora_conformance", "serve", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "VEXORA_SECRET": SECRET})
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    host, port = url.removeprefix("http://").split(":")
    try:
        elapsed, latencies, bad = load(host, int(port), total, clients)
        with socket.create_connection((host, int(port)), timeout=60) as sock:
            sock.sendall(f"GET /__vexora__/findings HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            answer = read_answer(sock, bytearray())
        summary = json.loads(answer.partition(b"\r\n\r\n")[2])["summary"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    rate = report("serve", elapsed, latencies, bad)
    lost = len(latencies) - summary["exchanges"]
    print(f"serve: {rate / floor_rate:.2f} of the floor; recorded {summary['exchanges']} exchanges, "
          f"{summary['errors']} error findings; lost: {lost}")
    return 0 if lost == 0 and len(latencies) == total and not bad else 1


if __name__ == "__main__":
    sys.exit(main())
