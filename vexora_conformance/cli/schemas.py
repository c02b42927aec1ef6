"""``vexora-conformance schemas``: write the generated JSON Schemas (and the OpenAPI documents), or check them."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import IO

from .common import EXIT_CLEAN, EXIT_FINDINGS


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("schemas", help="write or check the generated JSON Schemas")
    p.add_argument("--check", action="store_true", help="exit 1 when DIR differs from what the generator writes")
    p.add_argument("--dir", default="schemas", help="the schemas directory (default: ./schemas)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    from ..contract.schema import generate

    directory = Path(args.dir)
    if args.check:
        problems = generate.differences(directory)
        for line in problems:
            print(line, file=err)
        if problems:
            print("run `vexora-conformance schemas` to regenerate", file=err)
            return EXIT_FINDINGS
        print(f"{directory}: up to date ({len(generate.generated_files())} files)", file=out)
        return EXIT_CLEAN
    written = generate.write(directory)
    print(f"wrote {len(written)} files under {directory}", file=out)
    return EXIT_CLEAN
