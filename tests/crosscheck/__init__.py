"""Independent signer implementations (Java, Node) run as line-protocol child processes.

They exist to confirm the Python reference, never the other way round.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


class LineSigner:
    """A long-running signer process: one JSON case per line in, one answer line out."""

    def __init__(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     encoding="utf-8", bufsize=1)

    def ask(self, params: dict[str, Any], secret: str) -> str:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps({"params": params, "secret": secret}) + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().rstrip("\n")

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()


def java_argv(build_dir: Path) -> list[str] | None:
    """Compile Signer.java into build_dir; None when no JDK is installed."""
    if not (shutil.which("javac") and shutil.which("java")):
        return None
    subprocess.run(["javac", "-nowarn", "-d", str(build_dir), str(HERE / "Signer.java")], check=True,
                   capture_output=True)
    return ["java", "-cp", str(build_dir), "Signer", "--canonical"]


def node_argv() -> list[str] | None:
    if not shutil.which("node"):
        return None
    return ["node", str(HERE / "signer.js"), "--canonical"]
