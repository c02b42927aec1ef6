"""``vexora-conformance serve``: the fake provider on loopback, for clients in any language."""

from __future__ import annotations

import argparse
from decimal import Decimal, InvalidOperation
from typing import IO

from ..core.errors import InputError, os_reason
from .common import UsageErrorWithUsage, fail_on_option, market_option, port, scale, secret_options


def _balance(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal(-1)
    if not value.is_finite() or value < 0 or value > Decimal("1e15"):
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not an amount (digits, maybe decimals)")
    return value


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("serve", help="run a loopback fake provider that judges every request it gets")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    p.add_argument("--port", type=port, default=0, help="port (default 0: a free one)")
    p.add_argument("--merchant-no", metavar="N", default=None, help="the merchantNo clients must send "
                   "(default 1000000001)")
    secret_options(p)
    market_option(p)
    p.add_argument("--link-field", choices=("paymentUrl", "paymentLink", "both"), default="paymentUrl",
                   help="the Checkout answer's link field: the page's paymentUrl (default), the integrations' "
                        "paymentLink, or both")
    p.add_argument("--balance", type=_balance, default=Decimal("1000000.00"), metavar="AMOUNT",
                   help="the merchant's available balance at start, for pay-outs (default 1000000.00)")
    p.add_argument("--strict-tables", action="store_true",
                   help="follow the pages' tables literally: another reading (the page's example) is doc.conflict")
    fail_on_option(p, "make the exit code 1")
    p.add_argument("--report", metavar="FILE", help="on SIGINT/SIGTERM write the report here (.xml: JUnit)")
    p.add_argument("--verbose", action="store_true", help="log each request's method and path to stderr")
    p.add_argument("--notify-retry-scale", type=scale, default=1.0, metavar="X",
                   help="multiply the notification retry schedule (2 s ... 3 h) by X (default 1; tests: 0.001)")
    state = p.add_mutually_exclusive_group()
    state.add_argument("--state-cmd", metavar="'CMD ...'", help="a state adapter (CMD ... read TRADE_NO): after "
                       "each notification, judge what the merchant's system did to the order")
    state.add_argument("--state-url", metavar="URL", help="a state adapter over HTTP (GET URL?tradeNo=...)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    from ..contract.signing import Secret
    from ..core.findings import FailOn
    from ..doors.fake.provider import DEFAULT_MERCHANT, DEFAULT_SECRET, FakeProvider
    from ..doors.server import serve
    from ..doors.state import CommandState, StateError, UrlState
    from .credentials import resolve_secret

    secret = resolve_secret(args.secret_env, args.secret_file, required=False) or Secret(DEFAULT_SECRET)
    report_file = None
    if args.report:
        try:  # opened now: a path that cannot be written fails at start, not at shutdown with findings in hand
            report_file = open(args.report, "w", encoding="utf-8", errors="backslashreplace")  # noqa: SIM115
        except OSError as exc:
            raise InputError(f"cannot write the report: {os_reason(exc)}", source=args.report) from None
    try:
        state = CommandState(args.state_cmd) if args.state_cmd else UrlState(args.state_url) if args.state_url \
            else None
    except StateError as exc:
        raise UsageErrorWithUsage(str(exc)) from None
    fake = FakeProvider(secret, args.merchant_no or DEFAULT_MERCHANT, strict_tables=args.strict_tables,
                        source="serve", market=args.market, link_field=args.link_field,
                        fail_on=FailOn(args.fail_on), opening_balance=args.balance)
    try:
        return serve(fake, args.host, args.port, out, report_file, verbose=args.verbose, err=err,
                     notify_retry_scale=args.notify_retry_scale, state=state)
    except OSError as exc:
        raise UsageErrorWithUsage(f"cannot listen on {args.host}:{args.port}: {os_reason(exc)}") from None
