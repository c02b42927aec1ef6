"""How a handler's answer to a notification the tool did not make is judged: ``listen`` relays the
provider's, ``replay`` sends recorded ones. Neither knows what a case is meant to be, so each notification's
kind is read from its body and what came before, as check-notify's cases would name it: a forgery (its sign
fails), a body that is no notification, a repeat of one the handler acknowledged, a payment status after the
provider's final one for the order (undocumented: shown, not judged), or a valid notification (wants OK).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any

from ..contract.books import FAILED, PAID, PROCESSING
from ..core.findings import Finding, Kind, Severity
from .notify import Case, Delivery, judge_case

MAX_REMEMBERED = 100_000  # notifications and final statuses remembered, to judge a repeat as a repeat
FORGED = frozenset({Kind.SIGN_MISSING, Kind.SIGN_FORMAT, Kind.SIGN_MISMATCH})
MALFORMED = frozenset({Kind.JSON, Kind.REQUIRED, Kind.TYPE, Kind.FORMAT, Kind.DUPLICATE_KEY, Kind.AMOUNT,
                       Kind.ENUM})
_FINAL = (PAID, FAILED)


def _object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def _digest(trade_no: str) -> bytes:
    return hashlib.sha256(trade_no.encode("utf-8", "surrogatepass")).digest()


def is_deliverable(verdict: list[Finding]) -> bool:
    """A notification the provider would send again when not acknowledged: signed and well formed."""
    return not any(f.severity is Severity.ERROR and f.kind in FORGED | MALFORMED for f in verdict)


class ReplyJudge:
    """Remembers what the handler acknowledged and the final status of each order (bounded; thread-safe)."""

    def __init__(self) -> None:
        self._acknowledged: OrderedDict[bytes, None] = OrderedDict()
        # the digest of a tradeNo -> the final status the provider sent (a digest: a tradeNo has no length bound)
        self._final: OrderedDict[bytes, str] = OrderedDict()
        self._lock = threading.Lock()

    def final_of(self, trade_no: str) -> str | None:
        with self._lock:
            return self._final.get(_digest(trade_no))

    def kind(self, body: bytes, verdict: list[Finding]) -> str:
        kinds = {f.kind for f in verdict if f.severity is Severity.ERROR}
        note = _object(body)
        with self._lock:
            repeat = hashlib.sha256(body).digest() in self._acknowledged
            final = self._final.get(_digest(str(note.get("tradeNo"))))
        # After a final status the pages say nothing of another payment status for the order (a late 0015 is
        # documented: acknowledged, changing nothing): shown, not judged, as check-notify does.
        contradicts = final is not None and note.get("status") not in (final, PROCESSING) and not repeat
        return "forged" if kinds & FORGED else "malformed" if kinds & MALFORMED else \
            "duplicate" if repeat else "undocumented" if contradicts else "valid"

    def judge(self, delivery: Delivery) -> list[Finding]:
        """The delivery's findings read as check-notify reads its cases; what it showed is remembered."""
        kind = self.kind(delivery.body, delivery.findings)
        note = _object(delivery.body)
        with self._lock:
            if delivery.acknowledged and kind in ("valid", "duplicate"):
                self._acknowledged[hashlib.sha256(delivery.body).digest()] = None
                while len(self._acknowledged) > MAX_REMEMBERED:
                    self._acknowledged.popitem(last=False)
            if kind in ("valid", "duplicate") and note.get("status") in _FINAL:  # acknowledged or not
                self._final[_digest(str(note.get("tradeNo")))] = str(note["status"])
                while len(self._final) > MAX_REMEMBERED:
                    self._final.popitem(last=False)
        return judge_case(Case("relayed", delivery.body, kind), delivery)
