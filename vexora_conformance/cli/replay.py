"""``vexora-conformance replay``: a recording sent again to a handler or to ``serve``, judged, and compared."""

from __future__ import annotations

import argparse
from typing import IO

from ..core.errors import InputError
from ..core.findings import FailOn
from .common import EXIT_CLEAN, EXIT_FINDINGS, UsageErrorWithUsage, fail_on_option, open_report, seconds


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("replay", help="send a recording again (notifications to a handler, requests to serve) and "
                                      "judge it",
                       description="Each recorded exchange is sent to --to in order, its timestamp moved to now and "
                                   "its sign remade with the test secret (a wrong one stays wrong), judged, and "
                                   "compared with its recorded verdict (replay.changed where it differs).")
    p.add_argument("path", metavar="FILE", help="a recording (proxy --record, listen --record) or any capture")
    p.add_argument("--to", required=True, metavar="URL",
                   help="the handler's URL for notifications; the base URL (serve's) for requests")
    p.add_argument("--secret-env", metavar="NAME", help="the test secret, from this environment variable "
                   "(default: VEXORA_SECRET)")
    p.add_argument("--secret-file", metavar="PATH", help="the test secret, from this file")
    p.add_argument("--recording-secret-file", metavar="PATH",
                   help="the secret the recording was signed with (--record-resign-with's); default: the test secret")
    p.add_argument("--merchant-no", metavar="N", help="the merchantNo every request must carry")
    p.add_argument("--timeout", type=seconds, default=10.0, metavar="SECONDS",
                   help="time each exchange may take (default 10)")
    state = p.add_mutually_exclusive_group()
    state.add_argument("--state-cmd", metavar="'CMD ...'", help="a state adapter: each recorded order is created "
                       "through it, and read after each notification (the effect rules)")
    state.add_argument("--state-url", metavar="URL", help="a state adapter over HTTP")
    fail_on_option(p)
    p.add_argument("--format", choices=("text", "json", "jsonl", "junit", "github"), default="text")
    p.add_argument("--output", metavar="FILE", help="write the report here instead of standard output")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    from .. import report
    from ..core.urls import http_url_problem
    from ..doors.replay import ReplayOptions, replay
    from ..doors.state import CommandState, StateError, UrlState
    from .credentials import resolve_secret

    problem = http_url_problem(args.to)
    if problem is not None:
        raise UsageErrorWithUsage(f"--to {args.to[:80]!r} is not a usable http(s) URL: {problem}")
    secret = resolve_secret(args.secret_env, args.secret_file, instead="the test secret the handler or serve uses")
    assert secret is not None
    recording = resolve_secret(None, args.recording_secret_file) if args.recording_secret_file else secret
    assert recording is not None
    try:
        state = CommandState(args.state_cmd) if args.state_cmd else UrlState(args.state_url) if args.state_url \
            else None
    except StateError as exc:
        raise UsageErrorWithUsage(str(exc)) from None
    target = open_report(args.output, out)
    try:
        outcome = replay(args.path, ReplayOptions(args.to, secret, recording, args.merchant_no, args.timeout,
                                                  state=state))
    except StateError as exc:
        raise InputError(str(exc)) from None  # says which adapter call did what
    if outcome.exchanges == 0:
        raise InputError("nothing to replay: no exchange in the recording", source=args.path)
    try:
        (report.write_text if args.format == "text" else report.WRITERS[args.format])(outcome, target)
    finally:
        if args.output:
            target.close()
    failing = outcome.errors or (FailOn(args.fail_on) is FailOn.WARNING and outcome.warnings)
    return EXIT_FINDINGS if failing else EXIT_CLEAN
