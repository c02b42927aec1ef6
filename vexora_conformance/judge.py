"""The one judge: an Exchange in, Findings out. Every door (captures, pytest, server) calls it.

``judge_exchange`` looks at one exchange alone (pure, safe to run in worker
processes); ``Session`` adds the rules that need memory across exchanges
(duplicate tradeNo / platFormTradeNo, the once-per-run unchecked-sign warning).
Neither raises on bad client data: everything wrong becomes a Finding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from .contract import signing
from .contract.rules import rule
from .contract.schemas import SchemaIssue, checker
from .contract.tables import load_spec
from .jsontext import JSONTextError, duplicate_keys, loads
from .models import CHECKOUT_PATH, NOT_PARSED, Exchange, Finding, Request, Response, json_pointer

# Findings point into the request body ("/amount"), or under this root into the response body.
RESPONSE_ROOT = "/response"
REQUEST_RULES = {"required": "request.required", "type": "request.type", "enum": "request.enum",
                 "conflict": "doc.conflict"}
RESPONSE_RULES = {"required": "response.required", "type": "response.type", "enum": "response.format",
                  "conflict": "doc.conflict"}


@dataclass(frozen=True)
class JudgeOptions:
    secret: signing.Secret | None = None
    merchant_no: str | None = None
    strict: bool = False
    skew_window_s: float = 300.0
    # Reference time when the exchange carries none (the live doors pass time.time); None: no skew check.
    clock: Callable[[], float] | None = None


@dataclass(frozen=True)
class Verdict:
    """What one exchange showed: its own findings and the keys the session remembers."""

    findings: list[Finding]
    merchant_no: str | None = None
    trade_no: str | None = None
    platform_trade_no: str | None = None
    body: dict[str, Any] | None = None  # the parsed request body, when it was an object
    body_is_object: bool = False  # kept when ``body`` is dropped to ship a verdict between processes


@dataclass
class Session:
    """Memory across exchanges: which tradeNos and platFormTradeNos were seen, and where first.

    Identity is the order of arrival, never the label: the same file given twice
    (``validate f f``) has the same labels and is still two sets of requests.
    """

    options: JudgeOptions = field(default_factory=JudgeOptions)
    trade_nos: dict[tuple[str | None, str], tuple[int, str]] = field(default_factory=dict)
    platform_trade_nos: dict[str, tuple[int, str]] = field(default_factory=dict)
    warned_unchecked: bool = False
    arrivals: int = 0

    def observe(self, verdict: Verdict, where: str) -> list[Finding]:
        """Cross-exchange findings for a verdict, in the order exchanges arrive."""
        found: list[Finding] = []
        self.arrivals += 1
        this = (self.arrivals, where)
        if self.options.secret is None and not self.warned_unchecked and verdict.body_is_object:
            self.warned_unchecked = True
            found.append(rule("sign.unchecked").finding("signatures were not checked (no app secret given)"))
        if verdict.trade_no is not None:
            first = self.trade_nos.setdefault((verdict.merchant_no, verdict.trade_no), this)
            if first is not this:
                found.append(rule("trade-no.duplicate").finding(
                    f"tradeNo {verdict.trade_no!r} was already used by {first[1]}", "/tradeNo"))
        if verdict.platform_trade_no is not None:
            first = self.platform_trade_nos.setdefault(verdict.platform_trade_no, this)
            if first is not this:
                found.append(rule("response.platform-trade-no.duplicate").finding(
                    f"platFormTradeNo {verdict.platform_trade_no!r} was already returned to {first[1]}",
                    RESPONSE_ROOT + "/data/platFormTradeNo"))
        return found

    def conclude(self, verdict: Verdict, source: str, index: int) -> list[Finding]:
        """The verdict's own findings plus the cross-exchange ones, stamped with where the exchange came from."""
        found = verdict.findings + self.observe(verdict, f"{source}#{index}")
        return [replace(f, source=source, index=index) for f in found]


def judge(exchange: Exchange, session: Session) -> list[Finding]:
    """All findings for one exchange, stamped with its source and index."""
    return session.conclude(judge_exchange(exchange, session.options), exchange.source, exchange.index)


def judge_exchange(exchange: Exchange, options: JudgeOptions) -> Verdict:
    found: list[Finding] = []
    req = exchange.request
    _check_envelope(req, options, found)
    body = _parse_body(req.body, req.parsed)
    if not isinstance(body, dict):
        found.append(rule("request.json").finding(_not_an_object(req, body)))
        return Verdict(found, _merchant(req))
    _check_duplicates(body, "request.duplicate-key", "", found)
    _check_body(body, options, found)
    _check_sign(body, req, options, found)
    _check_skew(body, exchange.time, options, found)
    platform = None
    if exchange.response is not None:
        platform = _check_response(exchange.response, body, options, found)
    trade_no = body.get("tradeNo")
    return Verdict(found, _merchant(req), trade_no if isinstance(trade_no, str) and trade_no else None,
                   platform, body, True)


# --- the request line and headers ---


def _merchant(req: Request) -> str | None:
    return req.headers.get("merchantno")


def _check_envelope(req: Request, options: JudgeOptions, found: list[Finding]) -> None:
    if req.method.upper() != "POST":
        found.append(rule("request.method").finding(f"method is {req.method[:16]!r}, not POST"))
    if not req.path.endswith(CHECKOUT_PATH):
        found.append(rule("request.path").finding(f"path {req.path[:200]!r} does not end with {CHECKOUT_PATH}"))
    ctype = req.headers.get("content-type")
    if ctype is None or ctype.split(";", 1)[0].strip().lower() != "application/json":
        shown = "missing" if ctype is None else repr(ctype[:80])
        found.append(rule("request.content-type").finding(f"Content-Type is {shown}, not application/json"))
    merchant = req.headers.get("merchantno")
    if merchant is None or not merchant.strip():
        found.append(rule("request.merchant-no").finding(
            "the merchantNo header is " + ("missing" if merchant is None else "empty")))
    elif options.merchant_no is not None and merchant != options.merchant_no:
        found.append(rule("request.merchant-no").finding(
            f"merchantNo header is {merchant[:40]!r}, expected {options.merchant_no!r}"))


def _parse_body(raw: str | bytes | None, parsed: Any) -> Any:
    if parsed is not NOT_PARSED:
        return parsed
    if raw is None or raw in ("", b""):
        return NOT_PARSED
    try:
        return loads(raw)
    except JSONTextError as exc:
        return exc


def _check_duplicates(body: dict[str, Any], rule_id: str, root: str, found: list[Finding]) -> None:
    for pointer in duplicate_keys(body):
        key = pointer.rsplit("/", 1)[1].replace("~1", "/").replace("~0", "~")
        found.append(rule(rule_id).finding(
            f"{key[:60]!r} appears more than once in one object; the last value was judged and signed, "
            "but a parser that keeps the first would see another body", root + pointer))


def _not_an_object(req: Request, body: Any) -> str:
    if body is NOT_PARSED:
        return "the request has no body"
    if isinstance(body, JSONTextError):
        text = req.body.decode("utf-8", "replace") if isinstance(req.body, bytes) else (req.body or "")
        if "=" in text and not text.lstrip().startswith(("{", "[")):
            return "the body is form-encoded (key=value&...), not JSON"
        return f"the body is {body}"
    kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(body), "a number")
    return f"the body is {kind}, not a JSON object"


# --- the body against the documented tables ---


@cache
def _documented_fields() -> frozenset[str]:
    return frozenset(f.name for f in load_spec().table("body"))


@cache
def _format_hints(table: str) -> dict[str, str]:
    """pointer -> the page's sentence behind the refinement, as a hint."""
    hints: dict[str, str] = {}
    for ref in load_spec().refinements:
        part, _, name = ref.field.partition(".")
        if part == table:
            hints.setdefault("/" + name.replace(".", "/"), f"the page says: {ref.source}")
    return hints


def _issue_finding(issue: SchemaIssue, rules: dict[str, str], fallback: str, table: str) -> Finding:
    rule_id = rules.get(issue.keyword, fallback)
    if table == "body" and issue.pointer == "/sign" and rule_id in ("request.required", "request.format"):
        rule_id = "sign.missing" if rule_id == "request.required" else "sign.format"
    where = issue.pointer[1:].replace("/", ".") or "body"
    hint = _format_hints(table).get(issue.pointer) if rule_id.endswith(".format") else None
    pointer = RESPONSE_ROOT + issue.pointer if table == "response" else issue.pointer
    return rule(rule_id).finding(f"{'response ' if table == 'response' else ''}{where} {issue.message}", pointer, hint)


def _add_issues(issues: list[SchemaIssue], rules: dict[str, str], fallback: str, table: str,
                found: list[Finding]) -> None:
    """One finding per (rule, field): a URL failing both its pattern and its format is one problem."""
    seen: set[tuple[str, str | None]] = set()
    for issue in issues:
        f = _issue_finding(issue, rules, fallback, table)
        if (f.rule, f.pointer) not in seen:
            seen.add((f.rule, f.pointer))
            found.append(f)


def _check_body(body: dict[str, Any], options: JudgeOptions, found: list[Finding]) -> None:
    name = "checkout-request-body.strict" if options.strict else "checkout-request-body"
    _add_issues(checker(name)(body), REQUEST_RULES, "request.format", "body", found)
    documented = _documented_fields()
    for key in body:
        if key not in documented:
            found.append(rule("request.unknown-field").finding(
                f"{key[:60]!r} is not a documented body field (it is still signed)", json_pointer(key)))


def _check_sign(body: dict[str, Any], req: Request, options: JudgeOptions, found: list[Finding]) -> None:
    for amb in signing.ambiguities(body):
        found.append(rule("sign.ambiguous").finding(f"{amb.key[:60]!r}: {amb.message}", json_pointer(amb.key),
                                                    ambiguity=amb.id))
    observed = body.get("sign")
    if options.secret is None or observed is None or signing.verify(body, options.secret):
        return
    d = signing.diagnose(body, options.secret, observed, merchant_no=_merchant(req))
    hint = f"diagnosis: {d.summary}" + ("" if d.matches else "; run `vexora-conformance doctor` to compare")
    if any(f.rule == "sign.format" for f in found):
        # Already reported as a format problem; add what produced it.
        found[:] = [replace(f, hint=hint, details={"diagnosis": list(d.matches)}) if f.rule == "sign.format" else f
                    for f in found]
        return
    found.append(rule("sign.mismatch").finding("sign does not match the reference signature of this body",
                                               "/sign", hint, diagnosis=list(d.matches)))


def _timestamp_seconds(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value / 1000 if abs(value) < 10**18 else None  # past that, no clock: and int/1000 would overflow
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 20:
        return int(value) / 1000
    return None


def _check_skew(body: dict[str, Any], when: float | None, options: JudgeOptions, found: list[Finding]) -> None:
    reference = when if when is not None else (options.clock() if options.clock else None)
    sent = _timestamp_seconds(body.get("timestamp"))
    if reference is None or sent is None:
        return
    gap = sent - reference
    if abs(gap) > options.skew_window_s:
        direction = "ahead of" if gap > 0 else "behind"
        found.append(rule("timestamp.skew").finding(
            f"timestamp is {abs(gap):.0f} s {direction} the time the request was sent "
            f"(window ±{options.skew_window_s:.0f} s)", "/timestamp"))


# --- the response ---


def _check_response(resp: Response, request_body: dict[str, Any], options: JudgeOptions,
                    found: list[Finding]) -> str | None:
    body = _parse_body(resp.body, resp.parsed)
    if not isinstance(body, dict):
        reason = "empty" if body is NOT_PARSED else (str(body) if isinstance(body, JSONTextError) else "not an object")
        found.append(rule("response.json").finding(f"response body (HTTP {resp.status}) is {reason}"))
        return None
    _check_duplicates(body, "response.duplicate-key", RESPONSE_ROOT, found)
    name = "checkout-response-body.strict" if options.strict else "checkout-response-body"
    _add_issues(checker(name)(body), RESPONSE_RULES, "response.format", "response", found)
    data = body.get("data")
    if body.get("code") != "0000" or not isinstance(data, dict):
        return None
    for key in ("tradeNo", "remark"):
        if key in request_body and key in data and data[key] != request_body[key]:
            found.append(rule("response.echo").finding(f"response data.{key} differs from the request's {key}",
                                                       f"{RESPONSE_ROOT}/data/{key}"))
    platform = data.get("platFormTradeNo")
    return platform if isinstance(platform, str) and platform else None
