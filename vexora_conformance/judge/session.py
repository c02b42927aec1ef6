"""Memory across exchanges: the rules a single exchange cannot decide.

A tradeNo is unique within its endpoint's space (the pay-ins, the pay-outs) per merchant; a platFormTradeNo is
unique across the run; a run without a secret is warned once. Identity is the order of arrival, never the
label: the same file given twice (``validate f f``) has the same labels and is still two sets of requests. This
Session keeps labels in dicts (the live doors see few exchanges); ``validate`` uses ``ledger.Ledger``, which keeps
the same rules in tens of bytes per exchange.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..contract.registry import ENDPOINTS, RESPONSE_ROOT
from ..contract.rules import run_rule
from ..core.exchange import Exchange
from ..core.findings import Finding, Kind
from .exchange import JudgeOptions, Verdict, diagnosed_in_full, judge_exchange

TradeKey = tuple[str | None, str, str]  # (merchantNo, the endpoint's space, tradeNo)


def unchecked_warning() -> Finding:
    return run_rule(Kind.SIGN_UNCHECKED).finding("signatures were not checked (no app secret given)")


def duplicate_trade_no(endpoint: str, trade_no: str, first: str) -> Finding:
    return ENDPOINTS[endpoint].rule(Kind.TRADE_NO_DUPLICATE).finding(
        f"tradeNo {trade_no[:64]!r} was already used by {first}", "/tradeNo")


def duplicate_platform_trade_no(endpoint: str, platform: str, first: str) -> Finding:
    return ENDPOINTS[endpoint].rule(Kind.PLATFORM_TRADE_NO_DUPLICATE).finding(
        f"platFormTradeNo {platform[:64]!r} was already returned to {first}", RESPONSE_ROOT + "/data/platFormTradeNo")


def trade_space(endpoint: str) -> str | None:
    return ENDPOINTS[endpoint].trade_no_space


@dataclass
class Session:
    options: JudgeOptions = field(default_factory=JudgeOptions)
    trade_nos: dict[TradeKey, tuple[int, str]] = field(default_factory=dict)
    platform_trade_nos: dict[str, tuple[int, str]] = field(default_factory=dict)
    warned_unchecked: bool = False
    arrivals: int = 0

    def first_trade_no(self, merchant: str | None, space: str, trade_no: str, source: str,
                       index: int) -> str | None:
        """Where this merchant's tradeNo was first used in this space (None, and remembered, the first time)."""
        this = (self.arrivals, f"{source}#{index}")
        first = self.trade_nos.setdefault((merchant, space, trade_no), this)
        return None if first is this else first[1]

    def first_platform_trade_no(self, platform: str, source: str, index: int) -> str | None:
        this = (self.arrivals, f"{source}#{index}")
        first = self.platform_trade_nos.setdefault(platform, this)
        return None if first is this else first[1]

    def observe(self, verdict: Verdict, source: str, index: int) -> list[Finding]:
        """Cross-exchange findings for a verdict, in the order exchanges arrive."""
        return self.observe_keys(verdict.endpoint, verdict.body_is_object, verdict.merchant_no, verdict.trade_no,
                                 verdict.platform_trade_no, source, index)

    def observe_keys(self, endpoint: str, body_is_object: bool, merchant: str | None, trade_no: str | None,
                     platform: str | None, source: str, index: int) -> list[Finding]:
        found: list[Finding] = []
        self.arrivals += 1
        if self.options.secret is None and not self.warned_unchecked and body_is_object:
            self.warned_unchecked = True
            found.append(unchecked_warning())
        space = trade_space(endpoint)
        if trade_no is not None and space is not None:
            first = self.first_trade_no(merchant, space, trade_no, source, index)
            if first is not None:
                found.append(duplicate_trade_no(endpoint, trade_no, first))
        if platform is not None:
            first = self.first_platform_trade_no(platform, source, index)
            if first is not None:
                found.append(duplicate_platform_trade_no(endpoint, platform, first))
        return found

    def resolve(self, verdict: Verdict, source: str, index: int) -> list[Finding]:
        """The verdict's findings with a pending diagnosis completed (here: searched in full, every time)."""
        p = verdict.pending
        if p is None or self.options.secret is None:
            return verdict.findings
        return diagnosed_in_full(verdict.findings, p, self.options.secret)

    def conclude(self, verdict: Verdict, source: str, index: int) -> list[Finding]:
        """The verdict's own findings plus the cross-exchange ones, stamped with where the exchange came from."""
        found = self.resolve(verdict, source, index) + self.observe(verdict, source, index)
        return [f.at(source, index) for f in found]


def judge(exchange: Exchange, session: Session) -> list[Finding]:
    """All findings for one exchange, stamped with its source and index."""
    return session.conclude(judge_exchange(exchange, session.options), exchange.source, exchange.index)
