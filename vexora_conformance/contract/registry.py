"""The registry: every endpoint of the provider's API family, and which one an exchange is for.

``ENDPOINTS`` lists the modules under ``endpoints/`` in the order reports show them. An exchange is recognised
by its path first (``.../v1/vexora/<name>``, with a near miss of it - a trailing slash, another version, another
letter case - judged and then flagged by ``request.path``), and by its body's shape only where the path names
no endpoint of the provider (a notification, posted to the merchant's own URL).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from .endpoint import Endpoint
from .endpoints import ALL
from .markets import API_ROOT, canonical

RESPONSE_ROOT = "/response"  # findings point into the request body, or under this root into the answer

ENDPOINTS: dict[str, Endpoint] = {e.name: e for e in ALL}
NAMES: tuple[str, ...] = tuple(ENDPOINTS)
_BY_SEGMENT: dict[str, Endpoint] = {p.rsplit("/", 1)[1].lower(): e for e in ALL for p in e.spec.paths()
                                    if p.startswith("/")}
CHECKOUT = ENDPOINTS["checkout"]


def endpoint(name: str) -> Endpoint:
    """An endpoint by its registry name (``KeyError`` naming the known ones)."""
    try:
        return ENDPOINTS[name]
    except KeyError:
        raise KeyError(f"unknown endpoint {name!r}; known: {', '.join(NAMES)}") from None


def route(url_or_path: str) -> tuple[Endpoint | None, str | None]:
    """(the provider endpoint a URL or path is for, the market its prefix names), either None when it names none."""
    # Captures repeat a handful of URLs thousands of times; a long one (hostile or not) is not kept.
    return _route(url_or_path) if len(url_or_path) <= 512 else _route.__wrapped__(url_or_path)


@lru_cache(maxsize=4096)
def _route(url_or_path: str) -> tuple[Endpoint | None, str | None]:
    try:
        path = urlsplit(url_or_path).path if "://" in url_or_path[:16] else url_or_path.split("?", 1)[0]
    except ValueError:
        return None, None
    lower = path.lower()
    parts = lower.rstrip("/").rsplit("/", 2)
    found = _BY_SEGMENT.get(parts[2]) if len(parts) == 3 and parts[1] == "vexora" else None
    at = lower.find(API_ROOT)
    market = canonical(path[:at].rstrip("/").rsplit("/", 1)[-1]) if at > 0 else None
    return found, market


def endpoint_for_path(url_or_path: str) -> Endpoint | None:
    return route(url_or_path)[0]


def by_shape(body: Any) -> Endpoint | None:
    """The endpoint a body's shape names where no path does (only the notification has such a shape)."""
    return next((e for e in ALL if e.recognise is not None and e.recognise(body)), None)


def paths_text() -> str:
    """Every documented path, for messages that list what the provider serves."""
    return ", ".join(sorted({p for e in ALL for p in e.spec.paths() if p.startswith("/")}))


def shared_notes(contracts: Iterable[tuple[str, str, str]]) -> list[str]:
    """One line per endpoint and market judged by the shared shape because no page of that market is stored
    (an endpoint documented once for every market, the notification, needs no such note)."""
    notes = []
    for name, market, variant in sorted(set(contracts), key=lambda k: (NAMES.index(k[0]), k[1])):
        if variant == "shared" and ENDPOINTS[name].spec.markets:
            notes.append(f"no {market} page of {name} is stored: it was judged by the shape every stored market's "
                         f"page shares ({ENDPOINTS[name].spec.shared.page})")
    return notes


def contract(endpoint_name: str, market: str | None = None) -> Any:
    """One endpoint's contract for a market (its own page, else the shared shape); Mexico's by default."""
    from .markets import DEFAULT

    return endpoint(endpoint_name).contract(market or DEFAULT)
