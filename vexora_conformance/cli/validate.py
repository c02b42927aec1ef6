"""``vexora-conformance validate``: judge captured traffic (HAR, JSON lines) and write a report as it goes."""

from __future__ import annotations

import argparse
import contextlib
import os
from typing import IO, Any

from ..core.errors import InputError, os_reason
from ..core.findings import FailOn
from .common import (
    EXIT_CLEAN,
    EXIT_ERROR,
    EXIT_FINDINGS,
    UsageErrorWithUsage,
    count,
    fail_on_option,
    market_option,
    open_report,
    secret_options,
    stdin_of,
    window,
)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("validate", help="judge captured traffic (HAR, JSON lines) against the contract")
    p.add_argument("paths", nargs="+", metavar="PATH", help="capture files; - reads standard input")
    secret_options(p)
    p.add_argument("--no-sign-check", action="store_true",
                   help="judge without the app secret: signatures are not checked (said once in the report)")
    p.add_argument("--merchant-no", metavar="N", help="the merchantNo every request must carry")
    market_option(p)
    p.add_argument("--strict-tables", action="store_true",
                   help="follow the pages' tables literally: another reading (the page's example) is doc.conflict")
    fail_on_option(p)
    p.add_argument("--skew-window", type=window, default=300.0, metavar="SECONDS",
                   help="timestamp.skew when a timestamp is further than this from the capture time (default 300)")
    p.add_argument("--format", choices=("text", "json", "jsonl", "junit", "github"), default="text",
                   help="jsonl: one finding per line, then a summary line")
    p.add_argument("--output", metavar="FILE", help="write the report here instead of standard output")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="worker processes for JSON-lines files (0: one per core; default 1)")
    p.add_argument("--diagnosis-limit", type=count, default=20, metavar="N",
                   help="full searches for the mistake behind wrong signs of one merchant and key set that find "
                        "no known mistake, before later ones are reported as 'same as' the first (default 20)")
    p.add_argument("--no-color", action="store_true", help="never colour text output")
    p.set_defaults(run=run)


class HoldUntilJudged:
    """Passes records to a report once the first exchange is judged; a run that judges none writes nothing
    (it ends with "nothing to judge", exit 2). Until then only unreadable records arrive, at most
    MAX_MALFORMED_SHOWN per source, so what is held is bounded."""

    def __init__(self, sink: Any) -> None:
        self.sink, self.judged = sink, False
        self.held: list[tuple[str | None, int | None, str | None, list[Any]]] = []
        self.wants_labels = sink.wants_labels

    def record(self, source: str | None, index: int | None, what: str | None, findings: list[Any]) -> None:
        if not self.judged and what is None:
            self.held.append((source, index, what, findings))
            return
        if not self.judged:
            self.judged = True
            for held in self.held:
                self.sink.record(*held)
            self.held = []
        self.sink.record(source, index, what, findings)

    def finish(self, outcome: Any) -> None:
        if outcome.exchanges:
            for held in self.held:
                self.sink.record(*held)
            self.sink.finish(outcome)


def run(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    from .. import report
    from ..doors.validate import validate
    from ..judge.exchange import JudgeOptions
    from .credentials import resolve_secret

    if args.jobs < 0:
        raise UsageErrorWithUsage("--jobs must be 0 (one per core) or more")
    if args.paths.count("-") > 1:
        raise UsageErrorWithUsage("standard input (-) can be read only once")
    if args.no_sign_check and (args.secret_env or args.secret_file):
        raise UsageErrorWithUsage("--no-sign-check and a secret option contradict each other: give one")
    secret = None if args.no_sign_check else resolve_secret(
        args.secret_env, args.secret_file, instead="or --no-sign-check to judge without checking signatures")
    options = JudgeOptions(secret=secret, merchant_no=args.merchant_no, strict_tables=args.strict_tables,
                           skew_window_s=args.skew_window, market=args.market)
    stdin = stdin_of(args)
    target = open_report(args.output, out)  # a report that cannot be written fails now, not after judging
    progress = _progress(err) if err.isatty() else None
    try:
        with target if args.output else contextlib.nullcontext(target):
            if args.format == "text":
                colour = target.isatty() and not args.no_color and "NO_COLOR" not in os.environ
                sink: Any = report.TextReport(target, colour=colour)
            else:
                sink = report.SINKS[args.format](target)
            outcome = validate(args.paths, options, jobs=args.jobs, stdin=getattr(stdin, "buffer", None),
                               progress=progress, sink=HoldUntilJudged(sink), collect=False,
                               diagnosis_limit=args.diagnosis_limit)
            target.flush()
    except BrokenPipeError:
        raise  # the reader went away: main() ends quietly
    except OSError as exc:
        # Exit 2, not 1: CI must not read a lost report as "findings".
        raise InputError(f"cannot write the report: {os_reason(exc)}", source=args.output or "standard output") \
            from None
    finally:
        if progress:
            err.write("\r\033[K")
    if outcome.exchanges == 0:
        reason = (f"{outcome.malformed} unreadable record(s), the first: {outcome.first_malformed}"
                  if outcome.malformed else "no exchange with the provider found")
        print(f"vexora-conformance: error: nothing to judge in {', '.join(args.paths)}: {reason} "
              f"({outcome.skipped} other request(s) skipped)", file=err)
        return EXIT_ERROR
    failing = outcome.errors or (FailOn(args.fail_on) is FailOn.WARNING and outcome.warnings)
    return EXIT_FINDINGS if failing else EXIT_CLEAN


def _progress(err: IO[str]) -> Any:
    def show(count: int) -> None:
        err.write(f"\rjudged {count} exchanges...")
        err.flush()

    return show
