"""``vexora-conformance check-notify``: judge a merchant's running notification handler (its notifyUrl)."""

from __future__ import annotations

import argparse
from typing import IO

from ..core.errors import InputError
from ..core.findings import FailOn
from .common import EXIT_CLEAN, EXIT_FINDINGS, UsageErrorWithUsage, fail_on_option, seconds, secret_options


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("check-notify", help="judge a merchant's running notification handler (notifyUrl)",
                       description="Sends the provider's notification and its broken twins to URL and judges "
                                   "each answer: valid ones want exactly OK, forged ones anything else.")
    p.add_argument("url", metavar="URL", help="the handler's URL (http or https)")
    secret_options(p)
    p.add_argument("--merchant-no", metavar="N", help="your merchantNo (notifications carry none; shown in the report)")
    p.add_argument("--trade-no", metavar="T", help="an order the handler knows (with --amount)")
    p.add_argument("--amount", metavar="A", help="that order's amount, digits (with --trade-no)")
    p.add_argument("--timeout", type=seconds, default=10.0, metavar="SECONDS",
                   help="time the handler may take to answer each case, in all (default 10, the provider's)")
    p.add_argument("--cacert", metavar="FILE", help="trust this CA bundle for an https handler (a self-signed "
                   "certificate)")
    state = p.add_mutually_exclusive_group()
    state.add_argument("--state-cmd", metavar="'CMD ...'", help="a state adapter: run as CMD ... create TRADE_NO "
                       "AMOUNT and CMD ... read TRADE_NO; judges what the handler credits (docs: the state adapter)")
    state.add_argument("--state-url", metavar="URL", help="a state adapter over HTTP: POST URL creates an order, "
                       "GET URL?tradeNo=... reads it")
    fail_on_option(p)
    p.add_argument("--format", choices=("text", "json", "jsonl", "junit", "github"), default="text")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    import ssl

    from .. import report
    from ..core.urls import http_url_problem
    from ..doors.notify import url_sender
    from ..doors.notify_check import battery, battery_outcome, effect_battery, write_battery_text
    from ..doors.state import CommandState, StateError, UrlState
    from .credentials import resolve_secret

    secret = resolve_secret(args.secret_env, args.secret_file)
    if secret is None:
        raise UsageErrorWithUsage("check-notify needs the app secret the handler verifies with")
    if (args.state_cmd or args.state_url) and args.trade_no is not None:
        raise UsageErrorWithUsage("with a state adapter each sequence runs on a fresh order it creates: leave out "
                                  "--trade-no and --amount")
    if (args.trade_no is None) != (args.amount is None):
        raise UsageErrorWithUsage("give --trade-no and --amount together (an order the handler knows)")
    if args.amount is not None and not (args.amount.isascii() and args.amount.isdigit()):
        raise UsageErrorWithUsage("--amount is digits, like the Checkout amount")
    problem = http_url_problem(args.url)
    if problem is not None:
        shown = args.url[:80].encode("unicode_escape").decode("ascii")
        raise UsageErrorWithUsage(f"{shown!r} is not a usable http(s) URL: {problem}")
    try:
        tls = ssl.create_default_context(cafile=args.cacert) if args.cacert else None
    except OSError as exc:
        raise InputError(f"cannot read the CA bundle: {exc.strerror or exc}", source=args.cacert) from None
    except ssl.SSLError as exc:
        raise InputError(f"the CA bundle holds no certificate it can use ({exc.reason or 'not PEM'})",
                         source=args.cacert) from None
    send = url_sender(tls)
    if args.state_cmd or args.state_url:
        try:
            state = CommandState(args.state_cmd) if args.state_cmd else UrlState(args.state_url)
            result = effect_battery(send, args.url, secret, state, args.timeout)
        except StateError as exc:
            raise InputError(str(exc)) from None  # says which adapter call did what
    else:
        result = battery(send, args.url, secret, args.trade_no, args.amount, args.timeout)
    if result.unreachable:
        first = result.cases[0].delivery
        raise InputError(f"cannot reach the handler: {first.failure}", source=args.url)
    outcome = battery_outcome(result)
    if args.format == "text":
        write_battery_text(result, out, args.merchant_no)
    else:
        report.WRITERS[args.format](outcome, out)
    failing = outcome.errors or (FailOn(args.fail_on) is FailOn.WARNING and outcome.warnings)
    return EXIT_FINDINGS if failing else EXIT_CLEAN
