"""What the judge says: a Finding, with its Severity and its Kind.

A finding's ``rule`` is its public id (``query.sign.mismatch``): the endpoint's prefix and the kind. Code that
acts on findings reads ``kind``, ``severity`` and ``endpoint``, never the id's text: a prefix test once answered
a bad sign on the status query "param error".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"  # the contract is broken: the run fails
    WARNING = "warning"  # likely a mistake, or a place the documentation leaves open: fails only when asked


class Kind(StrEnum):
    """What kind of thing went wrong, whatever the endpoint (an endpoint's rule id is its prefix plus this)."""

    # the request line, headers and body against the documented tables
    METHOD = "request.method"
    PATH = "request.path"
    CONTENT_TYPE = "request.content-type"
    MERCHANT_NO = "request.merchant-no"
    JSON = "request.json"
    REQUIRED = "request.required"
    TYPE = "request.type"
    FORMAT = "request.format"
    AMOUNT = "request.amount"
    ADVICE = "request.advice"
    ENUM = "request.enum"
    DUPLICATE_KEY = "request.duplicate-key"
    UNKNOWN_FIELD = "request.unknown-field"
    # the signature
    SIGN_MISSING = "sign.missing"
    SIGN_FORMAT = "sign.format"
    SIGN_MISMATCH = "sign.mismatch"
    SIGN_AMBIGUOUS = "sign.ambiguous"
    SIGN_UNCHECKED = "sign.unchecked"
    # across exchanges
    TRADE_NO_DUPLICATE = "trade-no.duplicate"
    TIMESTAMP_SKEW = "timestamp.skew"
    # the provider's answer
    RESPONSE_JSON = "response.json"
    RESPONSE_DUPLICATE_KEY = "response.duplicate-key"
    RESPONSE_REQUIRED = "response.required"
    RESPONSE_TYPE = "response.type"
    RESPONSE_FORMAT = "response.format"
    RESPONSE_ECHO = "response.echo"
    PLATFORM_TRADE_NO_DUPLICATE = "response.platform-trade-no.duplicate"
    # the documentation itself, and the input
    DOC_CONFLICT = "doc.conflict"
    INPUT_MALFORMED = "input.malformed"
    # what a notification handler answers
    REPLY = "reply"
    REPLY_PADDED = "reply-padded"
    SLOW = "slow"
    DUPLICATE = "duplicate"
    ACCEPTS_BAD_SIGN = "accepts-bad-sign"
    MALFORMED_ACCEPTED = "malformed-accepted"
    CRASH = "crash"
    UNKNOWN_ORDER = "unknown-order"
    UNREACHABLE = "unreachable"
    FORGERY_ACKNOWLEDGED = "forgery-acknowledged"
    # what the merchant's code did to the order (read through a state adapter)
    EFFECT_OVERCREDIT = "effect.overcredit"
    EFFECT_DOUBLE_CREDIT = "effect.double-credit"
    EFFECT_FORGED_CHANGED = "effect.forged-changed"
    EFFECT_ACK_DROPPED = "effect.ack-dropped"
    EFFECT_CREDITED_ON_FAILURE = "effect.credited-on-failure"
    EFFECT_FINAL_CHANGED = "effect.final-changed"
    EFFECT_ERROR_CHANGED = "effect.error-changed"
    # what the proxy met upstream (the sandbox, or serve)
    UPSTREAM_UNREACHABLE = "upstream.unreachable"
    UPSTREAM_TIMEOUT = "upstream.timeout"
    UPSTREAM_BAD_ANSWER = "upstream.bad-answer"
    UPSTREAM_TOO_LARGE = "upstream.too-large"
    REPLAY_CHANGED = "replay.changed"


SIGN_KINDS = frozenset({Kind.SIGN_MISSING, Kind.SIGN_FORMAT, Kind.SIGN_MISMATCH})


class FailOn(StrEnum):
    """Which findings fail a run (``--fail-on``, the same in every door): errors only, or warnings too."""

    ERROR = "error"
    WARNING = "warning"

    def fails(self, findings: Iterable[Finding]) -> bool:
        return any(f.severity is Severity.ERROR or self is FailOn.WARNING for f in findings)


class VexoraContractWarning(UserWarning):
    """A warning finding of the pytest plugin (rule id, field, message): filter or escalate it with filterwarnings."""


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One way the client (or the answer it got, or a handler) breaks the contract."""

    rule: str  # the public id: the endpoint's prefix and the kind
    kind: Kind
    severity: Severity
    message: str
    pointer: str | None = None  # JSON pointer into the request (or, under /response, the answer) body
    hint: str | None = None
    source: str | None = None  # where the exchange was seen: a capture file, a test, the server
    index: int | None = None  # its place there
    endpoint: str | None = None  # None for the run-level findings (input, an unchecked sign)
    basis: str | None = None  # the documentation the finding rests on: "[page: bangladesh/payout]"
    details: dict[str, Any] = field(default_factory=dict)  # machine-readable extras (e.g. diagnosis ids)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def at(self, source: str | None, index: int | None) -> Finding:
        """This finding stamped with where it was found (``dataclasses.replace`` costs several times more)."""
        return Finding(rule=self.rule, kind=self.kind, severity=self.severity, message=self.message,
                       pointer=self.pointer, hint=self.hint, source=source, index=index, endpoint=self.endpoint,
                       basis=self.basis, details=self.details)

    def with_hint(self, hint: str | None, **details: Any) -> Finding:
        """This finding with another hint and these details (a wrong sign's diagnosis)."""
        return Finding(rule=self.rule, kind=self.kind, severity=self.severity, message=self.message,
                       pointer=self.pointer, hint=hint, source=self.source, index=self.index,
                       endpoint=self.endpoint, basis=self.basis, details=details)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule, "severity": str(self.severity), "pointer": self.pointer, "message": self.message,
            "hint": self.hint, "source": self.source, "index": self.index,
        }
        if self.basis is not None:
            out["basis"] = self.basis
        if self.details:
            out["details"] = self.details
        return out


def json_pointer(*parts: str) -> str:
    """An RFC 6901 pointer: '~' and '/' inside a key are escaped, so any key names one field."""
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)
