"""The ``vexora-conformance`` command: ``parse_args`` -> ``run`` -> ``main``.

Each sub-command imports what it needs only when it runs, so ``--help`` stays
fast. Exit codes: 0 clean, 1 findings (or a wrong sign), 2 usage or input error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from ..core.errors import InputError, ToolError, os_reason

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
MAX_INPUT = 16 * 1024 * 1024  # a request body read by sign/doctor: the same cap as one capture line


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so ``run`` owns every exit code."""

    def error(self, message: str) -> Any:
        raise UsageErrorWithUsage(message, self.format_usage())


class UsageErrorWithUsage(ToolError):
    def __init__(self, message: str, usage: str) -> None:
        super().__init__(message)
        self.usage = usage


def _secret_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--secret-env", metavar="NAME", help="read the app secret from this environment variable "
                   "(default: VEXORA_SECRET)")
    p.add_argument("--secret-file", metavar="PATH", help="read the app secret from this file")


def _port(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a port number (0 to 65535)")
    return int(text)


def _number(low: float, high: float, what: str, low_open: bool = False, integer: bool = False) -> Any:
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


_scale = _number(0, 10, "a scale from 0 to 10")
_count = _number(0, 10**9, "a whole number from 0", integer=True)
_seconds = _number(0, 3600, "a number of seconds from 0 (excluded) to 3600", low_open=True)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="vexora-conformance",
                     description="Check a Vexora Checkout API client against the documented contract.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    p = sub.add_parser("schemas", help="write or check the generated JSON Schemas")
    p.add_argument("--check", action="store_true", help="exit 1 when DIR differs from what the generator writes")
    p.add_argument("--dir", default="schemas", help="the schemas directory (default: ./schemas)")

    p = sub.add_parser("sign", help="print the canonical string (secret masked) and the reference sign of a body")
    p.add_argument("file", metavar="FILE|-", help="a JSON request body; - reads standard input")
    _secret_options(p)
    p.add_argument("--format", choices=("text", "json"), default="text")

    p = sub.add_parser("doctor", help="name the client mistake behind a wrong sign")
    p.add_argument("file", metavar="FILE|-", help="the JSON request body as the client sent it")
    p.add_argument("--sign", metavar="HEX", help="the sign the client sent (default: the body's own sign)")
    p.add_argument("--merchant-no", metavar="N", help="the merchantNo header, to test whether it was signed")
    _secret_options(p)
    p.add_argument("--format", choices=("text", "json"), default="text")

    p = sub.add_parser("validate", help="judge captured traffic (HAR, JSON lines) against the contract")
    p.add_argument("paths", nargs="+", metavar="PATH", help="capture files; - reads standard input")
    _secret_options(p)
    p.add_argument("--merchant-no", metavar="N", help="the merchantNo every request must carry")
    p.add_argument("--strict", action="store_true", help="follow the page's tables literally (doc.conflict)")
    p.add_argument("--skew-window", type=float, default=300.0, metavar="SECONDS",
                   help="timestamp.skew when a timestamp is further than this from the capture time (default 300)")
    p.add_argument("--format", choices=("text", "json", "jsonl", "junit", "github"), default="text",
                   help="jsonl: one finding per line, then a summary line")
    p.add_argument("--output", metavar="FILE", help="write the report here instead of standard output")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="worker processes for JSON-lines files (0: one per core; default 1)")
    p.add_argument("--diagnosis-limit", type=_count, default=20, metavar="N",
                   help="full searches for the mistake behind wrong signs of one merchant and key set that find "
                        "no known mistake, before later ones are reported as 'same as' the first (default 20)")
    p.add_argument("--no-color", action="store_true", help="never colour text output")

    p = sub.add_parser("serve", help="run a loopback fake provider that judges every request it gets")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    p.add_argument("--port", type=_port, default=0, help="port (default 0: a free one)")
    p.add_argument("--merchant-no", metavar="N", default=None, help="the merchantNo clients must send "
                   "(default 1000000001)")
    _secret_options(p)
    p.add_argument("--strict", action="store_true", help="warnings fail too; tables followed literally")
    p.add_argument("--report", metavar="FILE", help="on SIGINT/SIGTERM write the report here (.xml: JUnit)")
    p.add_argument("--verbose", action="store_true", help="log each HTTP request to stderr")
    p.add_argument("--notify-retry-scale", type=_scale, default=1.0, metavar="X",
                   help="multiply the notification retry schedule (2 s ... 3 h) by X (default 1; tests: 0.001)")

    p = sub.add_parser("check-notify", help="judge a merchant's running notification handler (notifyUrl)",
                       description="Sends the provider's notification and its broken twins to URL and judges "
                                   "each answer: valid ones want exactly OK, forged ones anything else.")
    p.add_argument("url", metavar="URL", help="the handler's URL (http or https)")
    _secret_options(p)
    p.add_argument("--merchant-no", metavar="N", help="your merchantNo (notifications carry none; shown in the report)")
    p.add_argument("--trade-no", metavar="T", help="an order the handler knows (with --amount)")
    p.add_argument("--amount", metavar="A", help="that order's amount, digits (with --trade-no)")
    p.add_argument("--timeout", type=_seconds, default=10.0, metavar="SECONDS",
                   help="time the handler may take to answer (default 10, the provider's)")
    p.add_argument("--format", choices=("text", "json", "junit"), default="text")

    p = sub.add_parser("check-signer", help="property-test an external signer program against the reference",
                       description="Runs CMD once; writes {\"params\": {...}, \"secret\": \"...\"} lines to its "
                                   "stdin and reads one sign per line from its stdout.")
    p.add_argument("--examples", type=int, default=300, metavar="N", help="generated bodies per tier (default 300)")
    p.add_argument("--timeout", type=_seconds, default=5.0, metavar="SECONDS",
                   help="time a signer may take to answer one case (default 5)")
    p.add_argument("--strict", action="store_true", help="edge-tier divergences (null, numbers, booleans) fail too")
    p.add_argument("--merchant-no", metavar="N", help="your merchantNo, to diagnose a signer that signs it too")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD [ARGS...]", help="the signer program")
    return parser


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


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


def _cmd_schemas(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    from ..contract.schema import generate as schemagen

    directory = Path(args.dir)
    if args.check:
        problems = schemagen.differences(directory)
        for line in problems:
            print(line, file=err)
        if problems:
            print("run `vexora-conformance schemas` to regenerate", file=err)
            return EXIT_FINDINGS
        print(f"{directory}: up to date ({len(schemagen.SCHEMAS)} schemas)", file=out)
        return EXIT_CLEAN
    for name in schemagen.write(directory):
        print(f"wrote {directory / name}", file=out)
    return EXIT_CLEAN


def _cmd_sign(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    from ..contract import signing
    from .credentials import resolve_secret

    secret = resolve_secret(args.secret_env, args.secret_file)
    assert secret is not None
    body = read_json_object(args.file, _stdin(args))
    result: dict[str, Any] = {
        "canonical": signing.canonical_string(body),
        "hashed": signing.masked_preimage(body),
        "sign": signing.sign(body, secret),
        "ambiguities": [vars(a) for a in signing.ambiguities(body)],
    }
    if args.format == "json":
        json.dump(result, out, ensure_ascii=False, indent=2)
        out.write("\n")
    else:
        print(f"canonical: {result['canonical']}", file=out)
        print(f"hashed:    {result['hashed']}  (secret masked)", file=out)
        print(f"sign:      {result['sign']}", file=out)
        for a in result["ambiguities"]:
            print(f"warning: sign.ambiguous [{a['id']}] /{a['key']}: {a['message']}", file=out)
    return EXIT_CLEAN


def _cmd_doctor(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    from ..contract.signing import diagnose
    from .credentials import resolve_secret

    secret = resolve_secret(args.secret_env, args.secret_file)
    assert secret is not None
    body = read_json_object(args.file, _stdin(args))
    observed = args.sign if args.sign is not None else body.get("sign")
    if observed is None:
        raise InputError("the body has no sign; pass --sign HEX", source=args.file)
    d = diagnose(body, secret, observed, merchant_no=args.merchant_no)
    if args.format == "json":
        json.dump({"correct": d.correct, "observed": observed if isinstance(observed, str) else None,
                   "expected": d.expected, "matches": list(d.matches),
                   "explanations": list(d.explanations), "summary": d.summary}, out, indent=2)
        out.write("\n")
    else:
        print(f"observed: {observed}", file=out)
        print(f"expected: {d.expected}", file=out)
        if d.correct:
            print("diagnosis: the sign is correct", file=out)
        elif d.matches:
            for ident, why in zip(d.matches, d.explanations, strict=False):
                print(f"diagnosis: {ident}: {why}", file=out)
        else:
            print(f"diagnosis: {d.summary}", file=out)
    return EXIT_CLEAN if d.correct else EXIT_FINDINGS


class _HoldUntilJudged:
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


def _cmd_validate(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    from .. import report
    from ..doors.validate import validate
    from ..judge.exchange import JudgeOptions
    from .credentials import resolve_secret

    if args.jobs < 0:
        raise UsageErrorWithUsage("--jobs must be 0 (one per core) or more", "")
    if args.paths.count("-") > 1:
        raise UsageErrorWithUsage("standard input (-) can be read only once", "")
    secret = resolve_secret(args.secret_env, args.secret_file, required=False)
    options = JudgeOptions(secret=secret, merchant_no=args.merchant_no, strict=args.strict,
                           skew_window_s=args.skew_window)
    stdin = _stdin(args)
    try:  # opened first: a report that cannot be written fails now, not after the whole capture was judged
        target = (open(args.output, "w", encoding="utf-8", errors="backslashreplace")  # noqa: SIM115
                  if args.output else out)
    except OSError as exc:
        raise InputError(f"cannot write the report: {os_reason(exc)}", source=args.output) from None
    progress = _progress(err) if err.isatty() else None
    try:
        with target if args.output else contextlib.nullcontext(target):
            if args.format == "text":
                colour = target.isatty() and not args.no_color and "NO_COLOR" not in os.environ
                sink = report.TextReport(target, colour=colour)
            else:
                sink = report.SINKS[args.format](target)
            outcome = validate(args.paths, options, jobs=args.jobs, stdin=getattr(stdin, "buffer", None),
                               progress=progress, sink=_HoldUntilJudged(sink), collect=False,
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
                  if outcome.malformed else "no Checkout exchange found")
        print(f"vexora-conformance: error: nothing to judge in {', '.join(args.paths)}: {reason} "
              f"({outcome.skipped} other request(s) skipped)", file=err)
        return EXIT_ERROR
    return EXIT_FINDINGS if outcome.errors else EXIT_CLEAN


def _cmd_serve(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    from ..contract.signing.reference import Secret
    from ..doors.fake.provider import DEFAULT_MERCHANT, DEFAULT_SECRET, FakeProvider
    from ..doors.server import serve
    from .credentials import resolve_secret

    secret = resolve_secret(args.secret_env, args.secret_file, required=False) or Secret(DEFAULT_SECRET)
    report_file = None
    if args.report:
        try:  # opened now: a path that cannot be written fails at start, not at shutdown with findings in hand
            report_file = open(args.report, "w", encoding="utf-8", errors="backslashreplace")  # noqa: SIM115
        except OSError as exc:
            raise InputError(f"cannot write the report: {os_reason(exc)}", source=args.report) from None
    fake = FakeProvider(secret, args.merchant_no or DEFAULT_MERCHANT, strict=args.strict, source="serve")
    try:
        return serve(fake, args.host, args.port, out, report_file, verbose=args.verbose, err=err,
                     notify_retry_scale=args.notify_retry_scale)
    except OSError as exc:
        raise UsageErrorWithUsage(f"cannot listen on {args.host}:{args.port}: {os_reason(exc)}", "") from None


def _cmd_check_signer(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    from ..doors.signer_check import check, external_signer

    argv = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not argv:
        raise UsageErrorWithUsage("give the signer program after --, e.g. check-signer -- node signer.js", "")
    if args.examples < 0:
        raise UsageErrorWithUsage("--examples must be 0 or more", "")
    with external_signer(argv, args.timeout) as signer:
        report = check(signer.ask, args.examples, merchant_no=args.merchant_no, well_formed_only=True)
    if args.format == "json":
        json.dump(report.to_dict(args.strict), out, indent=2)  # ASCII: generated keys may hold any character
        out.write("\n")
    else:
        print(report.text(args.strict), file=out)
    return EXIT_CLEAN if report.ok(args.strict) else EXIT_FINDINGS


def _cmd_check_notify(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    import httpx

    from .. import report
    from ..doors.notify import battery, battery_outcome, http_sender, write_battery_text
    from .credentials import resolve_secret

    secret = resolve_secret(args.secret_env, args.secret_file)
    if secret is None:
        raise UsageErrorWithUsage("check-notify needs the app secret the handler verifies with", "")
    if (args.trade_no is None) != (args.amount is None):
        raise UsageErrorWithUsage("give --trade-no and --amount together (an order the handler knows)", "")
    if args.amount is not None and not (args.amount.isascii() and args.amount.isdigit()):
        raise UsageErrorWithUsage("--amount is digits, like the Checkout amount", "")
    url = httpx.URL(args.url) if args.url.startswith(("http://", "https://")) else None
    if url is None or not url.host:
        raise UsageErrorWithUsage(f"{args.url[:80]!r} is not an http(s) URL", "")
    with httpx.Client() as client:
        result = battery(http_sender(client), args.url, secret, args.trade_no, args.amount, args.timeout)
    if result.unreachable:
        first = result.cases[0][1]
        raise InputError(f"cannot reach the handler: {first.failure}", source=args.url)
    outcome = battery_outcome(result)
    if args.format == "text":
        write_battery_text(result, out, args.merchant_no)
    else:
        report.WRITERS[args.format](outcome, out)
    return EXIT_FINDINGS if outcome.errors else EXIT_CLEAN


def _progress(err: IO[str]) -> Any:
    def show(count: int) -> None:
        err.write(f"\rjudged {count} exchanges...")
        err.flush()

    return show


def _stdin(args: argparse.Namespace) -> IO[str] | None:
    return getattr(args, "stdin", None)


_COMMANDS = {"schemas": _cmd_schemas, "sign": _cmd_sign, "doctor": _cmd_doctor, "validate": _cmd_validate,
             "serve": _cmd_serve, "check-signer": _cmd_check_signer, "check-notify": _cmd_check_notify}


def run(argv: Sequence[str] | None, stdout: IO[str] | None = None, stderr: IO[str] | None = None,
        stdin: IO[str] | None = None) -> int:
    """Run the command; every outcome is an exit code, never a traceback for bad input."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    try:
        args = parse_args(argv)
        args.stdin = stdin
        if args.version:
            from .. import __version__

            print(f"vexora-conformance {__version__}", file=out)
            return EXIT_CLEAN
        if not args.command:
            build_parser().print_help(out)
            return EXIT_ERROR
        return int(_COMMANDS[args.command](args, out, err))
    except UsageErrorWithUsage as exc:
        err.write(exc.usage)
        print(f"vexora-conformance: error: {exc}", file=err)
        return EXIT_ERROR
    except ToolError as exc:
        print(f"vexora-conformance: error: {exc}", file=err)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("vexora-conformance: interrupted", file=err)
        return 130
    except BrokenPipeError:
        raise
    except Exception as exc:  # the last net: a bug of ours is one line and exit 2, never a traceback
        print(f"vexora-conformance: internal error ({type(exc).__name__}); please report it with the command "
              "you ran (the input is not needed to start)", file=err)
        return EXIT_ERROR


def main() -> None:
    # A lone surrogate (legal in JSON text) cannot be encoded: print it as the escape \udXXX,
    # which is also how JSON spells it, instead of crashing half-way through a report.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        code = run(sys.argv[1:])
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as Unix tools do, without a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 141
    except OSError as exc:  # standard output could not take the report (a full disk, /dev/full)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print(f"vexora-conformance: error: cannot write to standard output: {os_reason(exc)}", file=sys.stderr)
        code = EXIT_ERROR
    sys.exit(code)
