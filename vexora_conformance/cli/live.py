"""What ``proxy`` and ``listen`` share: the address they listen on, the recording, the report at exit."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import IO, Any

from ..core.errors import InputError, os_reason
from .common import UsageErrorWithUsage, fail_on_option, port


def listen_address(text: str) -> tuple[str, int]:
    """HOST:PORT, or PORT alone (on loopback)."""
    host, _, number = text.rpartition(":")
    try:
        return (host.strip("[]") or "127.0.0.1", port(number))
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not HOST:PORT (or a port)") from None


def live_options(p: argparse.ArgumentParser, default_port: int) -> None:
    p.add_argument("--listen", type=listen_address, default=("127.0.0.1", default_port), metavar="HOST:PORT",
                   help=f"where to listen (default 127.0.0.1:{default_port}; port 0: a free one, printed)")
    p.add_argument("--record", metavar="FILE", help="append each exchange, as it completes, to FILE in the JSON-lines "
                   "format validate reads (HAR when FILE ends .har); payer data redacted")
    p.add_argument("--record-resign-with", metavar="FILE", help="a fixture secret: signs in the recording are "
                   "rewritten with it (a wrong one stays wrong), so the real secret's signs are never stored")
    fail_on_option(p, "make the exit code 1")
    p.add_argument("--report", metavar="FILE", help="on SIGINT/SIGTERM write the report here")
    p.add_argument("--format", choices=("text", "json", "jsonl", "junit", "github"), default=None,
                   help="the report's format (default: junit for a .xml file, json otherwise)")
    p.add_argument("--quiet", action="store_true", help="do not print each finding on stderr as it happens")
    p.add_argument("--verbose", action="store_true", help="log each request's method and path to stderr")


def open_report_file(path: str | None) -> IO[str] | None:
    if not path:
        return None
    try:  # opened now: a path that cannot be written fails at start, not at shutdown with findings in hand
        return open(path, "w", encoding="utf-8", errors="backslashreplace")
    except OSError as exc:
        raise InputError(f"cannot write the report: {os_reason(exc)}", source=path) from None


def recorder_for(args: argparse.Namespace, err: IO[str]) -> Any:
    """The recorder ``--record`` asks for (None without it); the fixture secret read from its file."""
    from ..doors.recording import Recorder, Redactor, Rewriter
    from .credentials import resolve_secret

    if args.record_resign_with and not args.record:
        raise UsageErrorWithUsage("--record-resign-with rewrites the signs of a recording: give --record FILE too")
    if not args.record:
        return None
    fixture = resolve_secret(None, args.record_resign_with) if args.record_resign_with else None
    if fixture is None:
        print(f"vexora-conformance: note: {args.record} keeps the signs as sent, made with your app secret (anyone "
              "holding it can test guesses of a weak secret); --record-resign-with FILE rewrites them with a "
              "fixture secret", file=err)
    def failed(reason: str) -> None:
        print(f"vexora-conformance: the recording {args.record} stopped: {reason}; the door goes on judging, "
              "and exits 2 at the end", file=err, flush=True)

    try:
        return Recorder(args.record, Rewriter(Redactor(), fixture), failed)
    except OSError as exc:
        raise InputError(f"cannot write the recording: {os_reason(exc)}", source=args.record) from None


def run_live(door: str, make_server: Callable[[Any], Any], args: argparse.Namespace, out: IO[str],
             err: IO[str]) -> int:
    """Open the report and the recording, start the door's server (``make_server(recorder)``) on ``--listen``,
    print its base URL once it catches SIGINT/SIGTERM, and at the signal write the report: the exit code."""
    from ..core.findings import FailOn
    from ..doors.fake.record import finish_run
    from ..doors.httpdoor import run_until_signal

    report_file = open_report_file(args.report)
    recorder = recorder_for(args, err)
    try:
        server = make_server(recorder)
    except OSError as exc:
        host, number = args.listen
        raise UsageErrorWithUsage(f"cannot listen on {host}:{number}: {os_reason(exc)}") from None
    run_until_signal(server, ready=lambda: print(server.base_url, file=out, flush=True))
    problem = recorder.problem() if recorder is not None else None  # the recorder is closed by now
    if problem is not None:
        print(f"vexora-conformance {door}: {problem}", file=err)
    return finish_run(door, server, report_file, args.format, out, err, FailOn(args.fail_on),
                      broken=problem is not None)
