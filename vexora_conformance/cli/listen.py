"""``vexora-conformance listen``: the notification relay between the sandbox and the merchant's handler."""

from __future__ import annotations

import argparse
from typing import IO

from .common import UsageErrorWithUsage, scale, seconds, secret_options
from .live import live_options, run_live


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("listen", help="relay the sandbox's notifications to your handler, judging both",
                       description="Expose the printed address as your notifyUrl (behind a tunnel): each "
                                   "notification is judged, sent to --forward-to as it came, and the handler's "
                                   "answer relayed back as it came and judged as check-notify judges it.")
    p.add_argument("--forward-to", required=True, metavar="URL", help="your notification handler's URL")
    live_options(p, 8090)
    secret_options(p)
    p.add_argument("--timeout", type=seconds, default=10.0, metavar="SECONDS",
                   help="time the handler may take to answer, in all (default 10, the provider's)")
    p.add_argument("--retry-locally", action="store_true",
                   help="when the handler does not answer OK, deliver the notification to it again on the "
                        "provider's retry schedule")
    p.add_argument("--notify-retry-scale", type=scale, default=1.0, metavar="X",
                   help="multiply that schedule (2 s ... 3 h) by X (default 1; tests: 0.001)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    from ..core.urls import http_url_problem
    from ..doors.relay import RelayServer
    from ..judge.exchange import JudgeOptions
    from .credentials import resolve_secret

    problem = http_url_problem(args.forward_to)
    if problem is not None:
        raise UsageErrorWithUsage(f"the handler {args.forward_to[:80]!r} is not a usable http(s) URL: {problem}")
    secret = resolve_secret(args.secret_env, args.secret_file,
                            instead="the relay verifies each notification's sign with it")
    return run_live("listen", lambda recorder: RelayServer(
        args.listen, args.forward_to, JudgeOptions(secret=secret), recorder=recorder,
        live=None if args.quiet else err, verbose=args.verbose, timeout=args.timeout,
        retry_locally=args.retry_locally, scale=args.notify_retry_scale), args, out, err)
