"""What several endpoints' answers share: the echo check, and the fake's status words (a private helper module:
it declares no endpoint)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...core.findings import Finding, Kind

if TYPE_CHECKING:
    from ..endpoint import Endpoint

RESPONSE_ROOT = "/response"


def echoed(endpoint: Endpoint, request: dict[str, Any], answer: dict[str, Any]) -> list[Finding]:
    """A successful answer's data returns the endpoint's echoed request fields exactly as sent."""
    data = answer.get("data")
    if answer.get("code") != "0000" or not isinstance(data, dict):
        return []
    return [endpoint.rule(Kind.RESPONSE_ECHO).finding(
        f"response data.{key} differs from the request's {key}", f"{RESPONSE_ROOT}/data/{key}")
        for key in endpoint.echo if key in request and key in data and data[key] != request[key]]


def text(value: Any) -> str:
    return value if isinstance(value, str) else ""
