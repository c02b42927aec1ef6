"""``vexora-conformance proxy``: a judging reverse proxy in front of the sandbox (or ``serve``)."""

from __future__ import annotations

import argparse
from typing import IO

from .common import UsageErrorWithUsage, market_option, seconds, secret_options
from .live import live_options, run_live


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("proxy", help="a reverse proxy to the sandbox that judges every exchange live",
                       description="Point your client's base URL at the printed address: each request goes to "
                                   "--upstream as it came and each answer comes back as it came, and both are "
                                   "judged as validate judges them.")
    p.add_argument("--upstream", required=True, metavar="URL", help="the provider's sandbox base URL (or serve's)")
    live_options(p, 8089)
    secret_options(p)
    p.add_argument("--no-sign-check", action="store_true", help="judge without the app secret: signs not checked")
    p.add_argument("--merchant-no", metavar="N", help="the merchantNo every request must carry")
    market_option(p)
    p.add_argument("--strict-tables", action="store_true",
                   help="follow the pages' tables literally: another reading (the page's example) is doc.conflict")
    p.add_argument("--upstream-timeout", type=seconds, default=30.0, metavar="SECONDS",
                   help="time the upstream may take for a whole exchange before the client gets 504 (default 30)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    from ..core.urls import http_url_problem
    from ..doors.proxy import ProxyServer
    from ..judge.exchange import JudgeOptions
    from .credentials import resolve_secret

    problem = http_url_problem(args.upstream)
    if problem is not None:
        raise UsageErrorWithUsage(f"the upstream {args.upstream[:80]!r} is not a usable http(s) URL: {problem}")
    if args.no_sign_check and (args.secret_env or args.secret_file):
        raise UsageErrorWithUsage("--no-sign-check and a secret option contradict each other: give one")
    secret = None if args.no_sign_check else resolve_secret(
        args.secret_env, args.secret_file, instead="or --no-sign-check to judge without checking signatures")
    options = JudgeOptions(secret=secret, merchant_no=args.merchant_no, strict_tables=args.strict_tables,
                           market=args.market)
    return run_live("proxy", lambda recorder: ProxyServer(
        args.listen, args.upstream, options, recorder=recorder, live=None if args.quiet else err,
        verbose=args.verbose, timeout=args.upstream_timeout), args, out, err)
