"""The ``vexora-conformance`` command: ``build_parser`` -> ``run`` -> ``main``; one module per sub-command.

Each sub-command imports what it needs only when it runs, so ``--help`` stays fast. Exit codes: 0 clean,
1 findings (or a wrong sign), 2 usage or input error. ``run`` maps every tool error to one line and exit 2; with
``VEXORA_DEBUG=1`` an internal error shows its traceback instead of the one-line apology.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from typing import IO

from ..core.errors import ToolError, os_reason
from . import check_notify, check_signer, listen, proxy, replay, schemas, serve, sign, validate
from .common import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, Parser, UsageErrorWithUsage

__all__ = ["EXIT_CLEAN", "EXIT_ERROR", "EXIT_FINDINGS", "build_parser", "main", "run"]

COMMANDS = (schemas, sign, validate, serve, proxy, listen, replay, check_signer, check_notify)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="vexora-conformance",
                    description="Check a Vexora API client, and its notification handler, against the provider's "
                                "documented contract.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", parser_class=Parser)
    for command in COMMANDS:
        command.register(sub)
    return parser


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


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
        return int(args.run(args, out, err))
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
        if os.environ.get("VEXORA_DEBUG"):
            traceback.print_exc(file=err)
        print(f"vexora-conformance: internal error ({type(exc).__name__}); please report it with the command "
              "you ran (the input is not needed to start; VEXORA_DEBUG=1 shows the traceback)", file=err)
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
