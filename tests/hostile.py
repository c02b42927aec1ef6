"""Running the command-line tool on hostile input, each run in a child process under a memory and time cap.

A regression then fails its test (MemoryError, a kill, a timeout) instead of taking the machine down.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

MEMORY_CAP = 1536 * 1024 * 1024  # 1.5 GB of address space
TIME_CAP_S = 60.0  # a hang guard, not a speed test: wide enough for a loaded machine
CANARY = "CANARY-hostile-secret-7f3a"
PAYER = ("jose.perez@example.mx", "5512345678", "José Pérez")  # payer data planted in hostile inputs


def fuzz_examples(default: int) -> int:
    """Examples per fuzz test: the suite's size, or ``VEXORA_FUZZ_EXAMPLES`` for a long local run."""
    return int(os.environ.get("VEXORA_FUZZ_EXAMPLES", default))


@dataclass
class Ran:
    code: int
    out: str
    err: str

    def one_line_error(self) -> bool:
        """Exit 2 with exactly one line on standard error (argparse's usage block before it is allowed)."""
        lines = [ln for ln in self.err.splitlines() if ln.strip() and not ln.startswith(("usage:", " "))]
        return self.code == 2 and len(lines) == 1 and "Traceback" not in self.err

    def clean_of_secrets(self) -> bool:
        text = self.out + self.err
        return CANARY not in text and not any(p in text for p in PAYER)


def memory_cap(memory: int = MEMORY_CAP) -> Any:
    """A ``preexec_fn`` that caps the child's address space."""
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return apply


def cli(args: list[str], *, stdin: IO[bytes] | bytes | None = None, memory: int = MEMORY_CAP,
        timeout: float = TIME_CAP_S, env: dict[str, str] | None = None, cwd: Path | None = None) -> Ran:
    """``vexora-conformance ARGS`` in a child under the caps; ``subprocess.TimeoutExpired`` past the time cap."""
    environ = {**os.environ, "VEXORA_SECRET": CANARY, "NO_COLOR": "1", **(env or {})}
    data = stdin if isinstance(stdin, bytes) else None
    proc = subprocess.run([sys.executable, "-m", "vexora_conformance", *args], input=data,
                          stdin=None if data is not None else (stdin or subprocess.DEVNULL), capture_output=True,
                          timeout=timeout, preexec_fn=memory_cap(memory), env=environ, cwd=cwd)
    return Ran(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))
