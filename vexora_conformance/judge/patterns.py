"""Diagnosis once per pattern: a client that makes a mistake makes it on every request.

For each (merchantNo, set of body keys) the mistakes found before are tried
first (a few digests); after ``limit`` full searches that found no known
mistake, later wrong signs of that pattern are reported as "same as" the first
of them instead of being searched again. The memory lives in the session of one
``validate`` run and is consulted in arrival order, so ``--jobs N`` reports what
``--jobs 1`` does.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from ..contract import signing
from ..contract.signing.diagnosis import COMPILED_MAX_KEYS, diagnose, diagnose_known
from .exchange import diagnosis_hint

DEFAULT_LIMIT = 20
MAX_PATTERNS = 65536  # past this many distinct patterns, new ones are searched in full every time
MAX_KNOWN = 4  # mistakes remembered per pattern, most recent first


def pattern_key(merchant: str | None, body: dict[str, Any]) -> bytes:
    """A digest of (merchantNo, set of body keys): a hostile body's thousands of keys cost 32 bytes here.

    A client sends its keys in one order: the digest of a small body's (merchantNo, keys as sent) is remembered
    (``_KEYS_KEPT`` of them), since every wrong sign of a capture asks for it."""
    small = len(body) <= COMPILED_MAX_KEYS and sum(map(len, body)) <= 4096
    if small:
        memo = (merchant, *body)
        found = _KEYS.get(memo)
        if found is not None:
            return found
    text = json.dumps([merchant, sorted(body)], ensure_ascii=True)  # ASCII: lone surrogates in keys too
    digest = hashlib.sha256(text.encode("ascii")).digest()
    if small and (merchant is None or len(merchant) <= 256):
        if len(_KEYS) >= _KEYS_KEPT:
            _KEYS.clear()
        _KEYS[memo] = digest
    return digest


_KEYS_KEPT = 1024
_KEYS: dict[tuple[str | None, ...], bytes] = {}


@dataclass
class _Pattern:
    known: list[tuple[str, ...]] = field(default_factory=list)
    fruitless: int = 0  # full searches that found no known mistake
    first_fruitless: str | None = None  # the label of the first of them


@dataclass
class DiagnosisMemory:
    secret: signing.Secret
    limit: int = DEFAULT_LIMIT
    patterns: dict[bytes, _Pattern] = field(default_factory=dict)
    searches: int = 0  # full searches run (for the benchmark and the tests)

    def explain(self, body: dict[str, Any], observed: Any, merchant: str | None,
                where: str) -> tuple[str, dict[str, Any]]:
        """(hint, details) for the wrong sign of the request at ``where``."""
        key = pattern_key(merchant, body)
        pattern = self.patterns.get(key)
        if pattern is None:
            pattern = _Pattern()
            if len(self.patterns) < MAX_PATTERNS:
                self.patterns[key] = pattern
        for ids in pattern.known:
            d = diagnose_known(body, self.secret, observed, ids, merchant_no=merchant)
            if d is not None:
                return diagnosis_hint(d), {"diagnosis": list(d.matches)}
        if pattern.fruitless >= self.limit and pattern.first_fruitless is not None:
            return (f"diagnosis: same as {pattern.first_fruitless} (no known mistake reproduced the sign in "
                    f"{self.limit} searches of this merchant's requests with these keys, so it was not searched "
                    "again; run `vexora-conformance doctor` to compare)",
                    {"diagnosis": [], "same_as": pattern.first_fruitless})
        self.searches += 1
        d = diagnose(body, self.secret, observed, merchant_no=merchant)
        if d.matches:
            pattern.known = [d.matches, *(k for k in pattern.known if k != d.matches)][:MAX_KNOWN]
        elif not d.not_hex:
            pattern.fruitless += 1
            pattern.first_fruitless = pattern.first_fruitless or where
        return diagnosis_hint(d), {"diagnosis": list(d.matches)}
