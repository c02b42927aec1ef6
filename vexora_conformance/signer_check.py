"""Property-test someone else's signer against the reference routine.

The signer is anything that maps ``(params, secret)`` to a sign: a Python
function, or an external program speaking the line protocol (one JSON object
``{"params": {...}, "secret": "..."}`` per stdin line, one sign per stdout
line). Cases: every published test vector, then Hypothesis-generated bodies in
two tiers:

- **contract**: bodies whose reference sign is fully determined by the published
  rule (string values, including empty, padded and unicode-keyed ones). Every
  one must match; a mismatch is shrunk to the smallest failing body and diagnosed.
- **edge**: bodies with values whose rendering depends on the server's JSON
  library (null, numbers, booleans). Divergences are reported with their
  ambiguity ids and fail only under ``strict``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from .contract import signing
from .errors import ToolError, os_reason

HEX32 = re.compile(r"^[0-9a-fA-F]{32}$")
SECRETS = ("check-signer-secret", "sandbox-0f9e8d7c6b5a", "s3cr3t with spaces", "clé-秘密")

Ask = Callable[[dict[str, Any], str], str]


class SignerError(ToolError):
    """The signer under test crashed, hung, or printed something that is not a sign."""


@dataclass(frozen=True)
class Mismatch:
    tier: str  # "vector" | "contract" | "edge"
    params: dict[str, Any]
    secret: str
    expected: str
    received: str
    canonical: str
    diagnosis: tuple[str, ...]
    ambiguities: tuple[str, ...] = ()
    vector: int | None = None

    def to_dict(self) -> dict[str, Any]:
        # The test secrets are ours, not the user's: printing them makes a failure reproducible.
        return {"tier": self.tier, "tcId": self.vector, "params": self.params, "secret": self.secret,
                "expected": self.expected, "received": self.received, "canonical": self.canonical,
                "diagnosis": list(self.diagnosis), "ambiguities": list(self.ambiguities)}


@dataclass
class SignerReport:
    cases: int = 0
    failures: list[Mismatch] = field(default_factory=list)  # contract-tier (and vector) mismatches
    divergences: list[Mismatch] = field(default_factory=list)  # edge tier

    def ok(self, strict: bool = False) -> bool:
        return not self.failures and not (strict and self.divergences)

    def to_dict(self, strict: bool = False) -> dict[str, Any]:
        return {"ok": self.ok(strict), "cases": self.cases, "failures": [m.to_dict() for m in self.failures],
                "divergences": [m.to_dict() for m in self.divergences]}

    def text(self, strict: bool = False) -> str:
        lines = []
        for m in self.failures[:1] + (self.divergences[:3] if strict else []):
            lines += _describe(m)
        if self.divergences and not strict:
            ids = sorted({a for d in self.divergences for a in d.ambiguities})
            lines.append(f"note: {len(self.divergences)} edge-tier divergence(s) from the reference "
                         f"({', '.join(ids) or 'unknown'}); they fail only with --strict")
        verdict = "PASS" if self.ok(strict) else "FAIL"
        lines.append(f"{verdict}: {self.cases} case(s), {len(self.failures)} contract mismatch(es), "
                     f"{len(self.divergences)} edge divergence(s)")
        return "\n".join(lines)


def _printable(text: str) -> str:
    """Lone surrogates and other unencodable characters as escapes, so the report always prints."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _describe(m: Mismatch) -> list[str]:
    where = f"test vector tc{m.vector}" if m.vector is not None else f"smallest failing {m.tier}-tier body"
    return [
        f"mismatch on {where}:",
        f"  params:    {_printable(json.dumps(m.params, ensure_ascii=False))}",
        f"  secret:    {_printable(json.dumps(m.secret, ensure_ascii=False))}  (a test secret)",
        f"  hashed:    {_printable(m.canonical)}  (canonical string + secret, masked)",
        f"  expected:  {m.expected}",
        f"  received:  {m.received}",
        "  diagnosis: " + (", ".join(m.diagnosis) if m.diagnosis else
                           "no known mistake reproduces it (compare your canonical string with the one above)"),
    ] + ([f"  ambiguous: {', '.join(m.ambiguities)}"] if m.ambiguities else [])


# --- cases ---


def load_vectors() -> list[dict[str, Any]]:
    text = resources.files("vexora_conformance.contract").joinpath("data/sign-vectors.json").read_text("utf-8")
    return [t for g in json.loads(text)["testGroups"] for t in g["tests"]]


# Vector flags whose cases depend on the signer's language, not on the published rule.
EDGE_FLAGS = {"LoneSurrogate": "lone-surrogate", "BeyondDoublePrecision": "beyond-double-precision"}


def edge_ids(params: dict[str, Any], flags: Sequence[str] = ()) -> tuple[str, ...]:
    """Why a body is edge tier: its ambiguity ids, ``non-string-value``, and language-dependent vector flags."""
    ids = {a.id for a in signing.ambiguities(params)}
    if any(type(v) is not str for k, v in params.items() if k != signing.SIGN_KEY):
        ids.add("non-string-value")
    ids |= {EDGE_FLAGS[f] for f in flags if f in EDGE_FLAGS}
    return tuple(sorted(ids))


def tier_of(params: dict[str, Any], flags: Sequence[str] = ()) -> str:
    """"contract" when the published rule fully determines the sign, else "edge"."""
    return "edge" if edge_ids(params, flags) else "contract"


def _mismatch(tier: str, params: dict[str, Any], secret: str, received: str, vector: int | None = None,
              flags: Sequence[str] = (), merchant_no: str | None = None) -> Mismatch:
    d = signing.diagnose(params, secret, received, merchant_no=merchant_no)
    return Mismatch(tier, params, secret, d.expected, received, signing.masked_preimage(params), d.matches,
                    edge_ids(params, flags), vector)


def _checked(ask: Ask, params: dict[str, Any], secret: str) -> str | None:
    """The signer's answer when it differs from the reference, else None."""
    received = ask(params, secret)
    return None if received == signing.sign(params, secret) else received


def check(ask: Ask, examples: int = 300, seed: int | None = 0, merchant_no: str | None = None,
          well_formed_only: bool = False) -> SignerReport:
    """Run every vector, then ``examples`` generated bodies per tier; shrink the first contract failure.

    ``merchant_no`` lets the diagnosis recognise a signer that signs the merchantNo header too;
    ``well_formed_only`` leaves out the vector whose JSON text holds an unpaired surrogate (external signers).
    """
    report = SignerReport()
    for v in load_vectors():
        if well_formed_only and "LoneSurrogate" in v["flags"]:
            continue  # JSON with an unpaired surrogate is not interoperable (RFC 8259 8.2): parsers may refuse it
        report.cases += 1
        received = _checked(ask, v["params"], v["secret"])
        if received is not None:
            tier = tier_of(v["params"], v["flags"])
            target = report.failures if tier == "contract" else report.divergences
            target.append(_mismatch("vector" if tier == "contract" else "edge", v["params"], v["secret"], received,
                                    v["tcId"], v["flags"], merchant_no))
    for tier in ("contract", "edge") if examples > 0 else ():  # --examples 0: the vectors only
        found, count = _search(ask, tier, examples, seed)
        report.cases += count
        if found is not None:
            params, secret, received = found
            (report.failures if tier == "contract" else report.divergences).insert(
                0, _mismatch(tier, params, secret, received, merchant_no=merchant_no))
    return report


def _search(ask: Ask, tier: str, examples: int, seed: int | None) -> tuple[tuple[dict[str, Any], str, str] | None, int]:
    """Hypothesis ``find``: the smallest body of the tier on which the signer differs."""
    from hypothesis import HealthCheck, Phase, find, settings
    from hypothesis import strategies as st
    from hypothesis.errors import NoSuchExample

    from .strategies import contract_params, edge_params

    strategy = st.tuples(contract_params() if tier == "contract" else edge_params(), st.sampled_from(SECRETS))
    seen = [0]

    def differs(case: tuple[dict[str, Any], str]) -> bool:
        seen[0] += 1
        return _checked(ask, case[0], case[1]) is not None

    config = settings(max_examples=examples, database=None, deadline=None, derandomize=seed is not None,
                      suppress_health_check=list(HealthCheck), phases=[Phase.generate, Phase.shrink])
    try:
        params, secret = find(strategy, differs, settings=config)
    except NoSuchExample:
        return None, seen[0]
    return (params, secret, ask(params, secret)), seen[0]


def check_signer(fn: Callable[[dict[str, Any], str], str], examples: int = 300, strict: bool = False,
                 merchant_no: str | None = None) -> SignerReport:
    """Check a Python signer ``fn(params, secret) -> sign``; ``AssertionError`` with the smallest failing body."""
    __tracebackhide__ = True
    report = check(fn, examples, merchant_no=merchant_no)
    if not report.ok(strict):
        raise AssertionError(report.text(strict))
    return report


# --- an external signer program ---


class ExternalSigner:
    """A child process speaking the line protocol, with a per-case timeout; always ended on exit."""

    def __init__(self, argv: Sequence[str], timeout: float = 5.0) -> None:
        self.argv = list(argv)
        self.timeout = timeout
        try:
            # A session of its own: ending it ends whatever the signer started too (a `sleep &`, a shell's child).
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.DEVNULL, start_new_session=True)
        except OSError as exc:
            raise SignerError(f"cannot start the signer {self.argv[0]!r}: {os_reason(exc)}") from None
        assert self.proc.stdout is not None
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.proc.stdout, selectors.EVENT_READ)
        self.buffer = b""
        self.answered = 0

    def ask(self, params: dict[str, Any], secret: str) -> str:
        assert self.proc.stdin is not None
        # ASCII with \u escapes: every JSON parser reads it, and a lone surrogate stays representable.
        line = json.dumps({"params": params, "secret": secret}) + "\n"
        try:
            self.proc.stdin.write(line.encode("ascii"))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise SignerError(self._died("before reading case")) from None
        answer = self._read_line()
        self.answered += 1
        text = answer.decode("utf-8", "replace").strip()
        if not HEX32.match(text):
            shown = text[:40] + ("..." if len(text) > 40 else "")
            raise SignerError(f"the signer printed {shown!r} for case {self.answered}, which is not a 32-hex sign")
        return text

    def _read_line(self) -> bytes:
        """One answer line, within ``timeout`` seconds for the whole line (not for each piece of it)."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + self.timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not self.selector.select(left):
                raise SignerError(f"the signer did not answer case {self.answered + 1} within {self.timeout:g} s")
            chunk = self.proc.stdout.read(65536)
            if not chunk:
                raise SignerError(self._died(f"answering case {self.answered + 1}"))
            self.buffer += chunk
            if len(self.buffer) > 1 << 20:
                raise SignerError("the signer printed more than 1 MiB without a newline")
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line

    def _died(self, when: str) -> str:
        try:
            code: int | None = self.proc.wait(timeout=1)  # output closed: it is most likely exiting
        except subprocess.TimeoutExpired:
            code = None
        if code is None:
            return f"the signer closed its output {when}"
        return f"the signer exited with code {code} {when}"

    def close(self) -> None:
        self.selector.close()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        with contextlib.suppress(OSError):  # the group is gone already when nothing of it is left
            os.killpg(self.proc.pid, signal.SIGKILL)


@contextmanager
def external_signer(argv: Sequence[str], timeout: float = 5.0) -> Iterator[ExternalSigner]:
    signer = ExternalSigner(argv, timeout)
    try:
        yield signer
    finally:
        signer.close()
