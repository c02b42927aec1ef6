"""What every door hands the judge: an Exchange (a request, maybe its answer, when and where it was seen)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

NOT_PARSED: Any = object()  # marks a body given as raw text (not already-parsed JSON)


def header_map(headers: Mapping[str, str] | Iterable[tuple[str, str]] | None) -> dict[str, str]:
    """Headers with lower-cased names (HTTP names are case-insensitive); the first value wins."""
    items = headers.items() if isinstance(headers, Mapping) else (headers or ())
    out: dict[str, str] = {}
    for name, value in items:
        out.setdefault(str(name).lower(), str(value))
    return out


def url_path(url: str) -> str:
    """The path of a URL (or the text itself when it cannot be split: the path rules then say what is wrong)."""
    try:
        return urlsplit(url).path
    except ValueError:
        return url


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    headers: dict[str, str]  # lower-cased names
    body: str | bytes | None = None  # raw text as sent
    parsed: Any = NOT_PARSED  # or the body already parsed (a JSON-lines capture may hold an object)

    path: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", url_path(self.url))  # frozen: computed once, read by several rules

    def __repr__(self) -> str:
        # The body and the query string hold the payer's data: a repr names the request, not its contents.
        return f"Request({self.method[:16]!r} {self.path[:200]!r}, {_size(self.body)})"


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: str | bytes | None = None
    parsed: Any = NOT_PARSED

    def __repr__(self) -> str:
        return f"Response({self.status}, {_size(self.body)})"


def _size(body: str | bytes | None) -> str:
    return "no body" if body is None else f"body of {len(body)} {'bytes' if isinstance(body, bytes) else 'chars'}"


@dataclass(frozen=True)
class Exchange:
    """One request, maybe its response, maybe when it was sent (epoch seconds), and where it came from."""

    request: Request
    response: Response | None = None
    time: float | None = None
    source: str = "<memory>"
    index: int = 0
    endpoint: str | None = None  # "checkout", "query" or "notify" when the door knows; else the judge decides

    @property
    def label(self) -> str:
        return f"{self.source}#{self.index} {self.request.method} {self.request.path}"
