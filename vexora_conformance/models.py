"""The data that flows through every door: an Exchange in, Findings out."""

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


class VexoraContractWarning(UserWarning):
    """A warning finding of the pytest plugin (rule id, field, message): filter or escalate it with filterwarnings."""


@dataclass(frozen=True)
class Finding:
    """One way the client (or the response it got) breaks the contract."""

    rule: str
    severity: str  # "error" | "warning"
    message: str
    pointer: str | None = None  # JSON pointer into the request (or response) body
    hint: str | None = None
    source: str | None = None
    index: int | None = None
    details: dict[str, Any] = field(default_factory=dict)  # machine-readable extras (e.g. diagnosis ids)

    def at(self, source: str | None, index: int | None) -> Finding:
        """This finding stamped with where it was found (``dataclasses.replace`` costs several times more)."""
        return Finding(self.rule, self.severity, self.message, self.pointer, self.hint, source, index, self.details)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule, "severity": self.severity, "pointer": self.pointer, "message": self.message,
            "hint": self.hint, "source": self.source, "index": self.index,
        }
        if self.details:
            out["details"] = self.details
        return out


def json_pointer(*parts: str) -> str:
    """An RFC 6901 pointer: '~' and '/' inside a key are escaped, so any key names one field."""
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)
