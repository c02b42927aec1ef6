"""The session of a ``validate`` run: the judge's cross-exchange rules, in memory that stays small.

It keeps the same rules as ``session.Session`` (duplicate tradeNo per merchant,
duplicate platFormTradeNo, the unchecked-sign warning) but remembers keys by
position in ``seen.FirstSeen`` and turns a position back into ``file#index``
only when a finding needs it; wrong signs are diagnosed once per pattern
(``patterns.DiagnosisMemory``).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

from ..contract.registry import ENDPOINTS
from ..core.findings import Finding
from .exchange import Verdict, complete_diagnosis
from .patterns import DEFAULT_LIMIT, DiagnosisMemory
from .seen import FirstSeen
from .session import Session

_SPACES = {name: endpoint.trade_no_space for name, endpoint in ENDPOINTS.items()}  # session.trade_space, as a table


@dataclass
class Ledger(Session):
    diagnosis_limit: int = DEFAULT_LIMIT
    _trade: FirstSeen = field(default_factory=FirstSeen)
    _platform: FirstSeen = field(default_factory=FirstSeen)
    # A position is a run's first position plus the index: one run per reading of a source, so
    # ``validate f f`` reads f twice as two sets of requests, and a label is rebuilt only for a finding.
    _starts: list[int] = field(default_factory=list)
    _runs: list[tuple[int, str]] = field(default_factory=list)  # (first position, source)
    _next: int = 0  # the first position after every one given so far
    _source: str | None = None  # the current run's source and first position (_runs[-1], read per record)
    _start: int = 0
    _memory: DiagnosisMemory | None = None

    def __post_init__(self) -> None:
        if self.options.secret is not None:
            self._memory = DiagnosisMemory(self.options.secret, self.diagnosis_limit)

    def begin(self, source: str) -> None:
        """A new reading of ``source`` starts: its indices count from 0 again, its positions after the last."""
        self._starts.append(self._next)
        self._runs.append((self._next, source))
        self._source, self._start = source, self._next

    def _position(self, source: str, index: int) -> int:
        if source != self._source:
            self.begin(source)
        position = self._start + index
        if position >= self._next:
            self._next = position + 1
        return position

    def remember(self, endpoint: str, merchant: str | None, trade_no: str | None, platform: str | None,
                 source: str, index: int) -> list[Finding]:
        """``observe_keys`` for a clean record (its body is an object): the same findings, on the path every
        clean record of a capture takes (so it reads no more than it must)."""
        if self.options.secret is None and not self.warned_unchecked:
            return self.observe_keys(endpoint, True, merchant, trade_no, platform, source, index)
        space = _SPACES[endpoint] if trade_no is not None else None
        if space is None and platform is None:
            self.arrivals += 1
            return []
        position = self._position(source, index)
        first_trade = first_platform = None
        if space is not None and trade_no is not None:
            first_trade = self._trade.first(_trade_key(merchant, space, trade_no), position)
        if platform is not None:
            first_platform = self._platform.first(platform, position)
        if first_trade is None and first_platform is None:
            self.arrivals += 1
            return []
        # A repeat (rare): the general path words the findings; looking the keys up again finds the first.
        return self.observe_keys(endpoint, True, merchant, trade_no if first_trade is not None else None,
                                 platform if first_platform is not None else None, source, index)

    def observe(self, verdict: Verdict, source: str, index: int) -> list[Finding]:
        """``Session.observe``; a verdict on a body that is an object takes ``remember``'s way (the same findings),
        as every wrong sign the fast path hands on does."""
        if verdict.body_is_object:
            return self.remember(verdict.endpoint, verdict.merchant_no, verdict.trade_no, verdict.platform_trade_no,
                                 source, index)
        return super().observe(verdict, source, index)

    def label(self, position: int) -> str:
        start, source = self._runs[bisect_right(self._starts, position) - 1]
        return f"{source}#{position - start}"

    def first_trade_no(self, merchant: str | None, space: str, trade_no: str, source: str,
                       index: int) -> str | None:
        first = self._trade.first(_trade_key(merchant, space, trade_no), self._position(source, index))
        return None if first is None else self.label(first)

    def first_platform_trade_no(self, platform: str, source: str, index: int) -> str | None:
        first = self._platform.first(platform, self._position(source, index))
        return None if first is None else self.label(first)

    def resolve(self, verdict: Verdict, source: str, index: int) -> list[Finding]:
        p = verdict.pending
        if p is None or self._memory is None:
            return super().resolve(verdict, source, index)
        hint, details = self._memory.explain(p.body, p.observed, p.merchant_no, f"{source}#{index}")
        return complete_diagnosis(verdict.findings, p.at, hint, **details)

    def retained_bytes(self) -> int:
        return self._trade.retained_bytes() + self._platform.retained_bytes()

    @property
    def searches(self) -> int:
        return self._memory.searches if self._memory is not None else 0


def _trade_key(merchant: str | None, space: str, trade_no: str) -> str:
    """One text per (merchant, space, tradeNo): the length prefix keeps ("ab", "c") apart from ("a", "bc"), and a
    request without a merchantNo header apart from every merchant's; the space is one of a few fixed words."""
    return f"{space}\0{trade_no}" if merchant is None else f"{space}:{len(merchant)}:{merchant}{trade_no}"
