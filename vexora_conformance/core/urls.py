"""What makes an http(s) URL usable: one rule for the judge (is a notifyUrl valid?) and the notifier (can it
be called?), so a URL the judge accepts is one the notifier can deliver to, and the other way round.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urlsplit

MAX_HOST = 253  # DNS: a name of at most 253 characters, each label at most 63 (RFC 1035)
MAX_LABEL = 63


class Target(NamedTuple):
    """Where an http(s) URL points: what a connection needs."""

    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent on the request line


def http_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be called as an http(s) URL, in words; None when it can."""
    try:
        target(url)
    except ValueError as exc:
        return str(exc)
    return None


def target(url: str) -> Target:
    """The connection an http(s) URL asks for; ValueError with the reason it cannot be called."""
    if not isinstance(url, str) or not url:
        raise ValueError("it is empty")
    if not url.isprintable() or any(c.isspace() for c in url):
        raise ValueError("it holds white space or a control character")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # an unbalanced [ in the host
        raise ValueError(f"it cannot be read as a URL ({exc})") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("it is not an http or https URL")
    host = parts.hostname or ""
    if not host:
        raise ValueError("it names no host")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("its port is not a number from 0 to 65535") from None
    if port == 0:
        raise ValueError("its port is 0")
    if not host.startswith("[") and ":" not in host:  # a name or an IPv4 address, not an IPv6 one
        if len(host) > MAX_HOST:
            raise ValueError(f"its host name is longer than {MAX_HOST} characters")
        if any(len(label) > MAX_LABEL for label in host.split(".")):
            raise ValueError(f"a label of its host name is longer than {MAX_LABEL} characters")
        if any(not label for label in host.rstrip(".").split(".")):
            raise ValueError("its host name has an empty label")
    scheme = parts.scheme.lower()
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme, host, port or (443 if scheme == "https" else 80), path)
