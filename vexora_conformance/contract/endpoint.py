"""What an endpoint declares: the unit the rest of the tool is built from.

An endpoint is two files under ``contract/endpoints/``: its spec (``<name>.md``, the pages' tables as data) and
its module (``<name>.py``), which builds one :class:`Endpoint` from the spec and what is particular to it - the
words of its rules, its answer checks, the fake provider's answer and state change, its coverage outcomes and
its strategies' sample values. The judge, the fake, the capture reader, the reports and the generated rule
reference read the registry of them; none names an endpoint.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any

from ..core.findings import Finding, Kind, Severity
from .books import Books
from .schema.tables import Contract, Spec, parse_spec


class Answer(StrEnum):
    """What comes back to the sender."""

    ENVELOPE = "envelope"  # the provider's JSON answer (msg, code, timestamp, success, data)
    OK_TEXT = "ok-text"  # the merchant's plain-text OK to a notification


class Sender(StrEnum):
    MERCHANT = "merchant"
    PROVIDER = "provider"


@dataclass(frozen=True)
class Words:
    """What a rule says: one line of what is wrong, one line of what to do."""

    summary: str
    hint: str


@dataclass(frozen=True)
class Rule:
    """One finding id of one endpoint (or of the run, ``endpoint`` None), with its words and severity."""

    id: str
    kind: Kind
    severity: Severity
    summary: str
    hint: str
    endpoint: str | None = None

    def finding(self, message: str, pointer: str | None = None, hint: str | None = None, basis: str | None = None,
                **details: Any) -> Finding:
        return Finding(rule=self.id, kind=self.kind, severity=self.severity, message=message, pointer=pointer,
                       hint=hint or self.hint, endpoint=self.endpoint, basis=basis, details=details)


@dataclass(frozen=True)
class Asked:
    """What the fake provider was asked, by a request the judge found no error in."""

    body: dict[str, Any]
    market: str
    books: Books
    base_url: str
    link_field: str = "paymentUrl"  # "paymentUrl", "paymentLink" or "both": the Checkout link's name
    status: str | None = None  # a queued scenario's business status (fail_with_status)
    platform_trade_no: Callable[[], str] = field(default=lambda: "vx0")


# (the endpoint, the request body, the answer body) -> findings only this endpoint's answer can have
AnswerCheck = Callable[["Endpoint", dict[str, Any], dict[str, Any]], list[Finding]]
# What the fake answers a request that broke nothing: the answer's JSON (the books changed as the page says).
FakeAnswer = Callable[[Asked], dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    name: str  # the registry's key, the JSON-lines "endpoint" hint, the reports' by_endpoint key
    order: int  # where reports list it
    rule_prefix: str  # "" for Checkout (its ids came first and stay stable), "payout." ...
    noun: str  # how its messages name one exchange: "pay-out request", "notification"
    spec: Spec
    answer: Answer = Answer.ENVELOPE
    checks_skew: bool = True  # the body's timestamp is the sending time, in milliseconds
    diagnoses: bool = True  # a wrong sign is the sender's own: name the mistake behind it
    trade_no_space: str | None = None  # tradeNo is unique within this space ("pay-in", "pay-out") per merchant
    unique_platform_trade_no: bool = False  # the answer's platFormTradeNo is unique across the run
    echo: tuple[str, ...] = ()  # request fields the answer's data returns as sent
    words: Mapping[Kind, Words] = field(default_factory=dict)  # this endpoint's own words, over the templates
    own_rules: Mapping[Kind, tuple[Severity, Words]] = field(default_factory=dict)  # kinds no template covers
    answer_checks: tuple[AnswerCheck, ...] = ()
    fake: FakeAnswer | None = None  # None: the fake does not answer it (the notification is the fake's own)
    coverage: Mapping[str, str] = field(default_factory=dict)  # outcome -> how a test makes a client meet it
    samples: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # strategy values for unruled fields
    recognise: Callable[[Any], bool] | None = None  # a body shape that names it where no path does

    @property
    def path(self) -> str:
        return self.spec.path

    @property
    def sender(self) -> Sender:
        return Sender(self.spec.sender)

    @property
    def sent_by_merchant(self) -> bool:
        return self.sender is Sender.MERCHANT

    def contract(self, market: str | None) -> Contract:
        return self.spec.contract(market)

    def rule(self, kind: Kind) -> Rule:
        """This endpoint's rule of a kind (``KeyError`` for a kind it cannot have)."""
        return self.rules[kind]

    @cached_property
    def rules(self) -> dict[Kind, Rule]:
        from .rules import rules_of  # the catalogue builds an endpoint's rules from its declaration

        return rules_of(self)

    def __hash__(self) -> int:
        return hash(self.name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Endpoint) and other.name == self.name


def now_ms() -> int:
    return int(time.time() * 1000)


def success(data: Any) -> dict[str, Any]:
    """The documented success envelope around ``data``."""
    return {"msg": "success", "code": "0000", "timestamp": now_ms(), "success": True, "data": data}


def refusal(code: str, msg: str) -> dict[str, Any]:
    """An error envelope: ``code`` not "0000", ``data`` null (codes seen: 8000 request failed, 5000 system)."""
    return {"msg": msg, "code": code, "timestamp": now_ms(), "success": False, "data": None}


def spec_beside(module_file: str) -> Spec:
    """The spec file next to an endpoint's module (``payout.py`` -> ``payout.md``)."""
    return parse_spec(Path(module_file).with_suffix(".md").read_text("utf-8"))
