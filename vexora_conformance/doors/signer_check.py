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
  ambiguity ids and fail only with ``--fail-on warning``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from ..contract import signing
from ..core.errors import ToolError, os_reason

HEX32 = re.compile(r"^[0-9a-fA-F]{32}$")
# Test secrets (ours, printed in reports): one with white space around it, since some clients trim it.
SECRETS = ("check-signer-secret", "sandbox-0f9e8d7c6b5a", "s3cr3t with spaces", "clé-秘密", " padded-secret ")
MAX_CAUSES = 8  # distinct root causes searched for per tier
# What a divergence needs in a body to matter: the practical reach of each mistake or edge value.
REACH = {
    "codepoint-order": "only keys beyond U+FFFF next to keys in U+E000-U+FFFF sort differently; the documented "
                       "fields are ASCII",
    "case-insensitive-sort": "any two keys whose order changes when lower-cased: the documented fields "
                             "(notifyUrl, returnUrl, tradeNo, wayCode) already do",
    "insertion-order": "every body whose keys are not written in sorted order",
    "secret-trimmed": "only a secret with white space at either end",
    "values-trimmed": "any value with white space at either end (a remark, a name)",
    "empty-included": "any empty string value",
    "url-encoded-values": "any value with a space, '&', '=', '/', or a non-ASCII character (URLs, names)",
    "null-skipped": "whenever the client sends null",
    "null-value": "whenever the client sends null",
    "boolean-as-digit": "whenever the client sends true or false",
    "boolean-value": "whenever the client sends true or false",
    "nested-skipped": "whenever the client sends an object or an array",
    "nested-as-js-string": "whenever the client sends an object or an array",
    "nested-value": "whenever the client sends an object or an array",
    "number-as-js": "whenever the client sends a fractional number, an integral float (300.0) or an exponent",
    "fractional-number": "whenever the client sends a fractional number",
    "integer-precision-lost": "only integers beyond 2^53 (9007199254740992); the documented fields are strings",
    "beyond-double-precision": "only integers beyond 2^53 (9007199254740992)",
    "lone-surrogate": "only text holding an unpaired UTF-16 surrogate, which no valid UTF-8 request carries",
    "non-ascii-key": "only keys outside ASCII, which no documented field has",
    "merchant-no-included": "every request",
    "sign-included": "every request", "secret-prefixed": "every request", "ampersand-joined": "every request",
    "key-param-secret": "every request", "uppercase-hex": "every request",
}

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

    @property
    def cause(self) -> str:
        """The root cause: the best-ranked named mistake, else what is uncertain in the body, else unexplained."""
        if self.diagnosis:
            return self.diagnosis[0]
        uncertain = [a for a in self.ambiguities if a != "non-string-value"]
        return uncertain[0] if len(uncertain) == 1 else "unexplained"

    @property
    def causes(self) -> tuple[str, ...]:
        return tuple(self.cause.split("+"))

    def to_dict(self) -> dict[str, Any]:
        # The test secrets are ours, not the user's: printing them makes a failure reproducible.
        return {"tier": self.tier, "tcId": self.vector, "params": self.params, "secret": self.secret,
                "expected": self.expected, "received": self.received, "canonical": self.canonical,
                "diagnosis": list(self.diagnosis), "ambiguities": list(self.ambiguities),
                "cause": self.cause, "reach": {c: REACH[c] for c in self.causes if c in REACH}}


@dataclass
class SignerReport:
    cases: int = 0
    failures: list[Mismatch] = field(default_factory=list)  # contract-tier (and vector) mismatches
    divergences: list[Mismatch] = field(default_factory=list)  # edge tier

    def ok(self, edge_fails: bool = False) -> bool:
        return not self.failures and not (edge_fails and self.divergences)

    def to_dict(self, edge_fails: bool = False) -> dict[str, Any]:
        return {"ok": self.ok(edge_fails), "cases": self.cases, "failures": [m.to_dict() for m in self.failures],
                "divergences": [m.to_dict() for m in self.divergences],
                "root_causes": {"contract": self.causes("contract"), "edge": self.causes("edge")}}

    def causes(self, tier: str) -> list[str]:
        """The distinct root causes found in a tier, in the order found: each mistake once, a pair as its two
        mistakes; a test vector on which two explanations tie names neither."""
        found = self.failures if tier == "contract" else self.divergences
        return list(dict.fromkeys(c for m in found if not (m.vector is not None and len(m.diagnosis) > 1)
                                  for c in m.causes))

    def text(self, edge_fails: bool = False) -> str:
        lines = []
        for group in _by_cause(self.failures + (self.divergences if edge_fails else [])):
            lines += _describe(group[0])
            if len(group) > 1:
                vectors = [f"tc{m.vector}" for m in group[1:] if m.vector is not None]
                shown = ", ".join(vectors[:8]) + (", ..." if len(vectors) > 8 else "")
                others = len(group) - 1 - len(vectors)
                lines.append(f"  and {len(group) - 1} more case(s) with the same cause"
                             + (f": test vector(s) {shown}" if vectors else "")
                             + (f"{';' if vectors else ':'} {others} generated body(ies)" if others else ""))
        if self.divergences and not edge_fails:
            lines.append(f"note: {len(self.divergences)} edge-tier divergence(s) from the reference "
                         f"({', '.join(self.causes('edge'))}); they fail only with --fail-on warning")
            lines += [f"  reach of {c}: {REACH[c]}" for c in self.causes("edge") if c in REACH]
        lines.append("root causes: contract: " + (", ".join(self.causes("contract")) or "none")
                     + "; edge: " + (", ".join(self.causes("edge")) or "none"))
        verdict = "PASS" if self.ok(edge_fails) else "FAIL"
        lines.append(f"{verdict}: {self.cases} case(s), {len(self.failures)} contract mismatch(es), "
                     f"{len(self.divergences)} edge divergence(s)")
        return "\n".join(lines)


def _by_cause(found: list[Mismatch]) -> list[list[Mismatch]]:
    """Mismatches grouped by root cause, each group's smallest body first (a generated, shrunk one if any)."""
    groups: dict[str, list[Mismatch]] = {}
    for m in found:
        groups.setdefault(f"{m.tier == 'edge'}:{m.cause}", []).append(m)
    return [sorted(g, key=lambda m: (m.vector is not None, len(json.dumps(m.params)))) for g in groups.values()]


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
    ] + ([f"  ambiguous: {', '.join(m.ambiguities)}"] if m.ambiguities else []) + \
        [f"  reach:     {c}: {REACH[c]}" for c in m.causes if c in REACH]


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
    if not "".join(params).isascii():  # no documented key is: orders and case folding differ by language here
        ids.add("non-ascii-key")
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
    known: set[str] = set()  # root causes found so far: the edge tier looks only for new ones
    for tier in ("contract", "edge") if examples > 0 else ():  # --examples 0: the vectors only
        found, count = _search(ask, tier, examples, seed, merchant_no, known)
        report.cases += count
        target = report.failures if tier == "contract" else report.divergences
        target[:0] = found  # the generated root causes first: they are the smallest examples
    return report


def _search(ask: Ask, tier: str, examples: int, seed: int | None, merchant_no: str | None,
            known: set[str]) -> tuple[list[Mismatch], int]:
    """Hypothesis ``find``, again and again: the smallest body of the tier for each distinct root cause."""
    from hypothesis import HealthCheck, Phase, find, settings
    from hypothesis import strategies as st
    from hypothesis.errors import NoSuchExample

    from ..strategies import contract_params, edge_params

    strategy = st.tuples(contract_params() if tier == "contract" else edge_params(), st.sampled_from(SECRETS))
    seen = [0]
    found: list[Mismatch] = []

    def new_cause(case: tuple[dict[str, Any], str], unambiguous: bool) -> bool:
        seen[0] += 1
        received = _checked(ask, case[0], case[1])
        if received is None:
            return False
        mismatch = _mismatch(tier, case[0], case[1], received, merchant_no=merchant_no)
        if set(mismatch.causes) <= known:
            return False
        # A body on which two explanations tie, or that needs two mistakes at once, is a less clear example:
        # look for one that shows a single mistake first.
        clear = len(mismatch.diagnosis) == 1 and "+" not in mismatch.cause
        unclear_seen[0] |= not clear
        return clear or not unambiguous

    config = settings(max_examples=examples, database=None, deadline=None, derandomize=seed is not None,
                      suppress_health_check=list(HealthCheck), phases=[Phase.generate, Phase.shrink])
    unclear_seen = [False]
    for unambiguous in (True, False):  # then, if only unclear bodies were left, the best-ranked explanation
        if not unambiguous and not unclear_seen[0]:
            break
        while len(found) < MAX_CAUSES:
            try:
                params, secret = find(strategy, functools.partial(new_cause, unambiguous=unambiguous),
                                      settings=config)
            except NoSuchExample:
                break
            mismatch = _mismatch(tier, params, secret, ask(params, secret), merchant_no=merchant_no)
            found.append(mismatch)
            known.update(mismatch.causes)
    return found, seen[0]


def check_signer(fn: Callable[[dict[str, Any], str], str], examples: int = 300, edge_fails: bool = False,
                 merchant_no: str | None = None) -> SignerReport:
    """Check a Python signer ``fn(params, secret) -> sign``; ``AssertionError`` with the smallest failing body."""
    __tracebackhide__ = True
    report = check(_tolerant(fn), examples, merchant_no=merchant_no)
    if not report.ok(edge_fails):
        raise AssertionError(report.text(edge_fails))
    return report


def _tolerant(fn: Callable[[dict[str, Any], str], str]) -> Ask:
    """A Python signer whose exception on a case is its answer to that case (a mismatch), never a crash."""
    def ask(params: dict[str, Any], secret: str) -> str:
        try:
            return fn(params, secret)
        except Exception as exc:  # the function under test may fail in any way on an edge case
            return f"raised {type(exc).__name__}"

    return ask


# --- an external signer program ---


class ExternalSigner:
    """A child process speaking the line protocol, with a per-case timeout; always ended on exit."""

    def __init__(self, argv: Sequence[str], timeout: float = 5.0) -> None:
        self.argv = list(argv)
        self.timeout = timeout
        try:
            # A session of its own: ending it ends whatever the signer started too (a `sleep &`, a shell's child).
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, start_new_session=True)
        except OSError as exc:
            raise SignerError(f"cannot start the signer {self.argv[0]!r}: {os_reason(exc)}") from None
        self.stderr = _Tail(self.proc.stderr)
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
        said = self.stderr.last_lines()
        tail = f"; its last words on standard error: {said}" if said else ""
        if code is None:
            return f"the signer closed its output {when}{tail}"
        return f"the signer exited with code {code} {when}{tail}"

    def close(self) -> None:
        """End the signer and all it started. Standard error is left to its reader thread, which closes it at
        the end: closing it here would wait for that thread's read, as long as the child lives."""
        self.selector.close()
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                if stream:
                    stream.close()
        try:
            self.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        with contextlib.suppress(OSError):  # the group is gone already when nothing of it is left
            os.killpg(self.proc.pid, signal.SIGKILL)


class _Tail:
    """The end of what a child writes to standard error, kept in bounded memory by a reader thread (a signer that
    writes gigabytes there costs nothing; one that crashed says why: a PHP fatal, a Node TypeError)."""

    KEEP = 4096
    LINES = 5

    def __init__(self, stream: Any) -> None:
        self.kept = b""
        self._thread = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        self._thread.start()

    def _drain(self, stream: Any) -> None:
        with contextlib.suppress(OSError, ValueError), stream:
            for chunk in iter(lambda: stream.read1(65536), b""):
                self.kept = (self.kept + chunk)[-self.KEEP:]

    def last_lines(self) -> str:
        self._thread.join(timeout=1)
        lines = [ln.strip() for ln in self.kept.decode("utf-8", "replace").splitlines() if ln.strip()]
        return " | ".join(ln[:200] for ln in lines[-self.LINES:])


@contextmanager
def external_signer(argv: Sequence[str], timeout: float = 5.0) -> Iterator[ExternalSigner]:
    signer = ExternalSigner(argv, timeout)
    try:
        yield signer
    finally:
        signer.close()
