"""The fake provider's settings in a pytest run: command line, ini, and the ``vexora`` marker, in one object.

``Settings(**marker.kwargs)`` makes a misspelt keyword a ``TypeError`` (pytest-httpx's habit); each setting has a
``--vexora-*`` option and an ini twin, and the closest marker wins per keyword (a test's own over its module's).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from ...contract.markets import DEFAULT, require
from ...core.findings import FailOn
from .provider import DEFAULT_MERCHANT, DEFAULT_SECRET, LINK_FIELDS


@dataclass(frozen=True, kw_only=True)
class Settings:
    """What one test's fake provider is set to; the marker keywords are exactly these names."""

    secret: str = DEFAULT_SECRET
    merchant_no: str = DEFAULT_MERCHANT
    base_url: str | None = None
    market: str = DEFAULT
    link_field: str = "paymentUrl"
    fail_on: str = FailOn.ERROR
    strict_tables: bool = False
    skew_window: float = 300.0
    balance: str = "1000000.00"
    check: bool = True

    def __post_init__(self) -> None:
        require(self.market)  # ValueError naming the known markets
        window = self.skew_window
        if isinstance(window, bool) or not isinstance(window, (int, float)) or not 0 < window < 10**9:  # NaN too
            raise ValueError("skew_window must be a finite number of seconds above 0")
        FailOn(self.fail_on)
        if self.link_field not in LINK_FIELDS:
            raise ValueError(f"link_field must be one of {', '.join(LINK_FIELDS)}")


KEYWORDS = tuple(f.name for f in fields(Settings))


def from_config(values: dict[str, Any], markers: list[dict[str, Any]]) -> Settings:
    """Settings from the run's options (``values``: set ones only), then each marker, closest last.

    ``TypeError`` for an unknown marker keyword, ``ValueError`` for a bad value: the caller reports either once.
    """
    settings = Settings(**{k: v for k, v in values.items() if v is not None and k in KEYWORDS})
    for kwargs in markers:
        unknown = sorted(set(kwargs) - set(KEYWORDS))
        if unknown:
            raise TypeError(f"unknown keyword {', '.join(unknown)}")
        settings = replace(settings, **kwargs)
    return settings
