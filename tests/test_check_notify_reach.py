"""check-notify says in words why it cannot reach a handler, and --cacert makes a self-signed handler reachable.

Each case runs the command against a real socket: nothing listening, a name that cannot resolve, plain HTTP
where https was asked, a certificate nobody vouches for; then the same TLS handler trusted through --cacert.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

SECRET = "reach-secret"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vexora_conformance", "check-notify", *args],
                          capture_output=True, text=True, timeout=120, env={"VEXORA_SECRET": SECRET, "PATH": ""})


class _OK(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(400)  # refuses everything: reachable, and wrong about valid notifications
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"no")

    def log_message(self, *args: object) -> None:
        pass


def _serve(tls: ssl.SSLContext | None) -> tuple[ThreadingHTTPServer, int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OK)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_nothing_listening_is_refused_in_words() -> None:
    done = run(f"http://127.0.0.1:{_free_port()}/notify")
    assert done.returncode == 2
    assert "connection refused" in done.stderr and "Traceback" not in done.stderr


def test_a_name_that_does_not_resolve_says_so() -> None:
    done = run("http://no-such-host.invalid/notify")
    assert done.returncode == 2
    assert "host name does not resolve" in done.stderr


def test_https_to_a_plain_http_handler_names_tls() -> None:
    server, port = _serve(None)
    try:
        done = run(f"https://127.0.0.1:{port}/notify")
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 2
    assert "TLS" in done.stderr and "handshake" in done.stderr


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: no self-signed certificate to test --cacert with")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True, timeout=60)
    return cert, key


def _tls_server(cert: Path, key: Path) -> tuple[ThreadingHTTPServer, int]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return _serve(context)


def test_an_untrusted_certificate_says_to_pass_cacert(self_signed: tuple[Path, Path]) -> None:
    server, port = _tls_server(*self_signed)
    try:
        done = run(f"https://127.0.0.1:{port}/notify")
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 2
    assert "certificate is not trusted" in done.stderr and "--cacert" in done.stderr


def test_cacert_trusts_a_self_signed_handler(self_signed: tuple[Path, Path]) -> None:
    server, port = _tls_server(*self_signed)
    try:
        done = run(f"https://127.0.0.1:{port}/notify", "--cacert", str(self_signed[0]), "--format", "json",
                   "--trade-no", "T1", "--amount", "300")
    finally:
        server.shutdown()
        server.server_close()
    # reached: the handler refuses valid notifications, so findings (exit 1), not an input error (exit 2)
    assert done.returncode == 1, done.stderr
    assert "notify.reply" in done.stdout
