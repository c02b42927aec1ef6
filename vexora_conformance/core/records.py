"""What a capture reader (or a worker process) hands the session for each record, in order: typed, small.

A clean record travels as its keys only - the session needs nothing else to apply the cross-exchange rules -
and every other record as the verdict the explaining path gave it. They are NamedTuples: typed fields, and as
cheap to pickle between processes as the plain tuples they replace.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Clean(NamedTuple):
    """A record proven clean by the fast path: only what the session remembers (and its name, for JUnit)."""

    endpoint: str
    market: str
    variant: str  # the contract that judged it: the market's own, or "shared"
    merchant_no: str | None
    trade_no: str | None  # to remember, when the endpoint has a tradeNo space
    platform_trade_no: str | None  # to remember, when the endpoint's answers carry a unique one
    method: str = ""
    path: str = ""


class Explained(NamedTuple):
    """A record the explaining path judged (``verdict`` is a ``judge.exchange.Verdict``)."""

    what: str  # "METHOD path"
    verdict: Any


class Skipped(NamedTuple):
    """Other traffic: not an exchange with the provider."""


class Unreadable(NamedTuple):
    reason: str


class ReadFailed(NamedTuple):
    """A worker could not read its range of the file (removed or changed mid-run)."""

    reason: str


Record = Clean | Explained | Skipped | Unreadable
SKIPPED = Skipped()
