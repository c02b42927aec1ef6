"""``vexora-conformance check-signer``: property-test an external signer program against the reference."""

from __future__ import annotations

import argparse
import json
from typing import IO

from .common import EXIT_CLEAN, EXIT_FINDINGS, UsageErrorWithUsage, fail_on_option, seconds


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("check-signer", help="property-test an external signer program against the reference",
                       description="Runs CMD once; writes {\"params\": {...}, \"secret\": \"...\"} lines to its "
                                   "stdin and reads one sign per line from its stdout.")
    p.add_argument("--examples", type=int, default=100, metavar="N", help="generated bodies per tier (default 100)")
    p.add_argument("--timeout", type=seconds, default=5.0, metavar="SECONDS",
                   help="time a signer may take to answer one case (default 5)")
    fail_on_option(p, "fail the run (warning: edge-tier divergences fail too)")
    p.add_argument("--merchant-no", metavar="N", help="your merchantNo, to diagnose a signer that signs it too")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD [ARGS...]", help="the signer program")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    from ..doors.signer_check import check, external_signer

    argv = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not argv:
        raise UsageErrorWithUsage("give the signer program after --, e.g. check-signer -- node signer.js")
    if args.examples < 0:
        raise UsageErrorWithUsage("--examples must be 0 or more")
    edge_fails = args.fail_on == "warning"
    with external_signer(argv, args.timeout) as signer:
        report = check(signer.ask, args.examples, merchant_no=args.merchant_no, well_formed_only=True)
    if args.format == "json":
        json.dump(report.to_dict(edge_fails), out, indent=2)  # ASCII: generated keys may hold any character
        out.write("\n")
    else:
        print(report.text(edge_fails), file=out)
    return EXIT_CLEAN if report.ok(edge_fails) else EXIT_FINDINGS
