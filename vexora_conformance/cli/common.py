"""What every command shares: the parser that never exits, option types, exit codes, reading a body."""

from __future__ import annotations

import argparse
import math
import sys
from typing import IO, Any

from ..core.errors import InputError, ToolError, os_reason

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
EXIT_CODES = "exit codes: 0 nothing wrong, 1 findings, 2 usage or input error"
MAX_INPUT = 16 * 1024 * 1024  # a request body read by sign/doctor: the same cap as one capture line
DOCS = "https://vexora-conformance.readthedocs.io/en/latest/"
NO_SECRET_ON_ARGV = ("secrets are never taken on the command line (they would show in the process list and "
                     "the shell's history): use --secret-file PATH, --secret-env NAME, or set $VEXORA_SECRET")


class UsageErrorWithUsage(ToolError):
    def __init__(self, message: str, usage: str = "") -> None:
        super().__init__(message)
        self.usage = usage


class Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so ``run`` owns every exit code; no abbreviated options (an
    abbreviation of --secret-file would otherwise be ambiguous, or worse, accepted)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("epilog", EXIT_CODES)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> Any:
        raise UsageErrorWithUsage(message, self.format_usage())


class _Refuse(argparse.Action):
    """An option that exists only to say why it is refused (``--secret VALUE``)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        raise UsageErrorWithUsage(NO_SECRET_ON_ARGV)


def secret_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--secret-env", metavar="NAME", help="read the app secret from this environment variable "
                   "(default: VEXORA_SECRET)")
    p.add_argument("--secret-file", metavar="PATH", help="read the app secret from this file")
    p.add_argument("--secret", nargs="?", action=_Refuse, help=argparse.SUPPRESS)


def fail_on_option(p: argparse.ArgumentParser, what: str = "exit 1") -> None:
    p.add_argument("--fail-on", choices=("error", "warning"), default="error",
                   help=f"the findings that {what}: error (default) or warning too")


def market_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--market", type=market, default="mexico", metavar="NAME",
                   help="the market of requests whose path has no market prefix (/bangladesh/v1/...): default mexico")


def market(text: str) -> str:
    from ..contract.markets import require

    try:
        return require(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def port(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a port number (0 to 65535)")
    return int(text)


def number(low: float, high: float, what: str, low_open: bool = False, integer: bool = False) -> Any:
    """An argparse type: a finite number within [low, high] (or (low, high]); NaN and infinities are refused."""
    def parse(text: str) -> float:
        try:
            value = float(text) if not integer else int(text)
        except ValueError:
            value = math.nan
        if not (low < value <= high if low_open else low <= value <= high):  # NaN fails both
            raise argparse.ArgumentTypeError(f"{text[:20]!r} is not {what}")
        return value

    return parse


scale = number(0, 10, "a scale from 0 to 10")
count = number(0, 10**9, "a whole number from 0", integer=True)
seconds = number(0, 3600, "a number of seconds from 0 (excluded) to 3600", low_open=True)
window = number(0, 10**9, "a number of seconds from 0 (excluded), finite", low_open=True)


def read_json_object(name: str, stdin: IO[str] | None = None) -> dict[str, Any]:
    """A JSON object from a file or ``-``; ``InputError`` with a one-line reason otherwise."""
    from ..core.jsontext import JSONTextError, loads

    try:
        if name == "-":
            stream = stdin or sys.stdin
            raw: str | bytes = stream.buffer.read(MAX_INPUT + 1) if hasattr(stream, "buffer") \
                else stream.read(MAX_INPUT + 1)
        else:
            with open(name, "rb") as f:
                raw = f.read(MAX_INPUT + 1)
        if len(raw) > MAX_INPUT:
            raise InputError(f"larger than {MAX_INPUT // (1024 * 1024)} MiB: not a request body", source=name)
        value = loads(raw)
    except OSError as exc:
        raise InputError(f"cannot read: {os_reason(exc)}", source=name) from None
    except JSONTextError as exc:
        raise InputError(str(exc), source=name) from None
    if not isinstance(value, dict):
        raise InputError("expected a JSON object (the request body)", source=name)
    return value


def stdin_of(args: argparse.Namespace) -> IO[str] | None:
    return getattr(args, "stdin", None)


def open_report(path: str | None, out: IO[str]) -> IO[str]:
    """Where a report goes: the file, opened now (a path that cannot be written fails before any work), or out."""
    if not path:
        return out
    try:
        return open(path, "w", encoding="utf-8", errors="backslashreplace")
    except OSError as exc:
        raise InputError(f"cannot write the report: {os_reason(exc)}", source=path) from None
