"""The endpoints of the payment conversation, as data plus each one's own checks.

The judge knows only what every exchange has (a request with a signed JSON body,
maybe an answer); everything that differs between the Checkout request, the
status query and the notification lives here. Adding an endpoint is a spec file,
an entry below, and its rules in the catalogue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any
from urllib.parse import urlsplit

from ..core.findings import Finding
from .rules import rule
from .schema.generate import SCHEMAS
from .schema.tables import Spec, load_spec

RESPONSE_ROOT = "/response"  # findings point into the request body, or under this root into the answer

# (request body, answer body) -> findings that only this endpoint's answer can have
AnswerCheck = Callable[["Endpoint", dict[str, Any], dict[str, Any]], list[Finding]]


@dataclass(frozen=True)
class Endpoint:
    name: str  # "checkout", "query", "notify"
    prefix: str  # rule-id prefix: "" for Checkout (its ids came first and stay stable), "query.", "notify."
    merchant_header: str  # "required" (error when missing), "recommended" (warning), "none"
    answer: str  # "envelope": the provider's JSON answer; "ok-text": the merchant's plain OK
    checks_skew: bool  # the body's timestamp is the sending time, in milliseconds
    diagnoses: bool  # a wrong sign is the merchant's own: name the mistake behind it
    remembers: bool  # tradeNo and platFormTradeNo are unique across exchanges
    answer_checks: tuple[AnswerCheck, ...] = field(default=())

    # Computed once per endpoint (cached_property writes the instance's __dict__, frozen or not): the judge
    # reads these for every exchange.
    @cached_property
    def spec(self) -> Spec:
        return load_spec(self.name)

    @cached_property
    def path(self) -> str:
        return self.spec.path

    @cached_property
    def sent_by_merchant(self) -> bool:
        return self.spec.sender == "merchant"

    def rule(self, kind: str) -> str:
        """This endpoint's id for a kind of finding (``request.required`` -> ``query.request.required``)."""
        return self.prefix + kind

    def schema(self, part: str, strict: bool) -> str | None:
        """The bundled schema for ``request-body``, ``request-headers`` or ``response-body``, if there is one."""
        return self._schemas.get((part, strict))

    @cached_property
    def _schemas(self) -> dict[tuple[str, bool], str]:
        found = {}
        for part in ("request-headers", "request-body", "response-body"):
            name = f"{self.name}-{part}"
            if name in SCHEMAS:
                found[(part, False)] = name
                found[(part, True)] = f"{name}.strict" if f"{name}.strict" in SCHEMAS else name
        return found

    @cached_property
    def documented_fields(self) -> frozenset[str]:
        return frozenset(f.name for f in self.spec.table("body"))


def _echo(keys: tuple[str, ...]) -> AnswerCheck:
    def check(endpoint: Endpoint, request: dict[str, Any], answer: dict[str, Any]) -> list[Finding]:
        data = answer.get("data")
        if answer.get("code") != "0000" or not isinstance(data, dict):
            return []
        return [rule(endpoint.rule("response.echo")).finding(
            f"response data.{key} differs from the request's {key}", f"{RESPONSE_ROOT}/data/{key}")
            for key in keys if key in request and key in data and data[key] != request[key]]

    return check


CHECKOUT = Endpoint("checkout", "", "required", "envelope", checks_skew=True, diagnoses=True, remembers=True,
                    answer_checks=(_echo(("tradeNo", "remark")),))
QUERY = Endpoint("query", "query.", "recommended", "envelope", checks_skew=True, diagnoses=True, remembers=False,
                 answer_checks=(_echo(("tradeNo",)),))
NOTIFY = Endpoint("notify", "notify.", "none", "ok-text", checks_skew=False, diagnoses=False, remembers=False)
ENDPOINTS: dict[str, Endpoint] = {e.name: e for e in (CHECKOUT, QUERY, NOTIFY)}
_BY_LAST_SEGMENT = {e.path.rsplit("/", 1)[1].lower(): e for e in (CHECKOUT, QUERY)}


def endpoint_for_path(url_or_path: str) -> Endpoint | None:
    """The provider endpoint a request is for: its documented path, or a near miss of it (a trailing slash,
    another version or letter case), which is judged and then flagged by ``request.path``."""
    # Captures repeat a handful of URLs thousands of times; a long one (hostile or not) is not kept.
    return _endpoint_for(url_or_path) if len(url_or_path) <= 512 else _endpoint_for.__wrapped__(url_or_path)


@lru_cache(maxsize=4096)
def _endpoint_for(url_or_path: str) -> Endpoint | None:
    try:
        path = urlsplit(url_or_path).path
    except ValueError:
        return None
    parts = path.lower().rstrip("/").rsplit("/", 2)
    if len(parts) < 3 or parts[1] != "vexora":
        return None
    return _BY_LAST_SEGMENT.get(parts[2])


def looks_like_notification(body: Any) -> bool:
    """A request body shaped like the provider's notification (what captures of a merchant's server hold):
    only the provider sends platFormTradeNo; a Checkout request carries notifyUrl instead."""
    return isinstance(body, dict) and "platFormTradeNo" in body and "notifyUrl" not in body
