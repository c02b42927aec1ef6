"""The provider's markets: each documents the API family on pages of its own, at a sandbox path of its own.

The sandbox's base URL carries the market as a path prefix (``https://sandbox-api.vexora.tech/indonesia``), so a
request to ``/bangladesh/v1/vexora/checkout`` is Bangladesh's Checkout. The provider spells some markets with
capitals (``SouthKorea``, ``Vietnam``); a prefix is matched without regard to case.
"""

from __future__ import annotations

from functools import lru_cache

DEFAULT = "mexico"  # the seed's market: what an exchange with no market prefix is judged against

# canonical name -> the provider's own spelling (docs.vexora.com/guide/areas/<spelling>/...)
MARKETS: dict[str, str] = {
    "argentina": "argentina", "australia": "Australia", "bangladesh": "bangladesh", "brazil": "brazil",
    "cambodia": "Cambodia", "chile": "chile", "colombia": "colombia", "india": "india", "indonesia": "indonesia",
    "japan": "Japan", "kenya": "kenya", "malaysia": "Malaysia", "mexico": "mexico", "myanmar": "myanmar",
    "nigeria": "nigeria", "pakistan": "pakistan", "peru": "peru", "philippines": "philippines",
    "southkorea": "SouthKorea", "thailand": "thailand", "vietnam": "Vietnam",
}
API_ROOT = "/v1/vexora/"


def canonical(name: str) -> str | None:
    """The market a name means (any letter case), or None."""
    key = name.lower()
    return key if key in MARKETS else None


def require(name: str) -> str:
    """The market a name means; ``ValueError`` naming the known ones when it means none."""
    market = canonical(name)
    if market is None:
        raise ValueError(f"{name[:40]!r} is not a market the provider documents; known: {', '.join(sorted(MARKETS))}")
    return market


@lru_cache(maxsize=1024)
def market_of_path(path: str) -> str | None:
    """The market a path's prefix names (``/bangladesh/v1/vexora/checkout`` -> bangladesh), or None."""
    at = path.lower().find(API_ROOT)
    if at <= 0:
        return None
    prefix = path[:at].rstrip("/").rsplit("/", 1)[-1]
    return canonical(prefix)
