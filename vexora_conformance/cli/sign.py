"""``vexora-conformance sign`` and ``doctor``: a body's canonical string and sign; the mistake behind a wrong one."""

from __future__ import annotations

import argparse
import json
from typing import IO, Any

from ..core.errors import InputError
from .common import EXIT_CLEAN, EXIT_FINDINGS, read_json_object, secret_options, stdin_of


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("sign", help="print the canonical string (secret masked) and the reference sign of a body")
    p.add_argument("file", metavar="FILE|-", help="a JSON request body; - reads standard input")
    secret_options(p)
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(run=run_sign)

    p = sub.add_parser("doctor", help="name the client mistake behind a wrong sign")
    p.add_argument("file", metavar="FILE|-", help="the JSON request body as the client sent it")
    p.add_argument("--sign", metavar="HEX", help="the sign the client sent (default: the body's own sign)")
    p.add_argument("--merchant-no", metavar="N", help="the merchantNo header, to test whether it was signed")
    secret_options(p)
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(run=run_doctor)


def run_sign(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    from ..contract import signing
    from .credentials import resolve_secret

    secret = resolve_secret(args.secret_env, args.secret_file)
    assert secret is not None
    body = read_json_object(args.file, stdin_of(args))
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


def run_doctor(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    from ..contract.signing import diagnose
    from .credentials import resolve_secret

    secret = resolve_secret(args.secret_env, args.secret_file)
    assert secret is not None
    body = read_json_object(args.file, stdin_of(args))
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
