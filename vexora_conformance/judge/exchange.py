"""The one judge: an Exchange in, Findings out. Every door (captures, pytest, server) calls it.

``judge_exchange`` looks at one exchange alone (pure, safe to run in worker
processes); ``Session`` adds the rules that need memory across exchanges
(duplicate tradeNo / platFormTradeNo, the once-per-run unchecked-sign warning).
Neither raises on bad client data: everything wrong becomes a Finding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from ..contract import signing
from ..contract.registry import (
    CHECKOUT,
    ENDPOINTS,
    NOTIFY,
    RESPONSE_ROOT,
    Endpoint,
    endpoint_for_path,
    looks_like_notification,
)
from ..contract.rules import rule
from ..contract.schema.compile import SchemaIssue, checker
from ..contract.schema.tables import load_spec
from ..core.exchange import NOT_PARSED, Exchange, Request, Response
from ..core.findings import Finding, json_pointer
from ..core.jsontext import JSONTextError, duplicate_keys, loads

# Schema keywords -> kinds of finding (each endpoint gives a kind its own rule id).
REQUEST_RULES = {"required": "request.required", "type": "request.type", "enum": "request.enum",
                 "conflict": "doc.conflict"}
RESPONSE_RULES = {"required": "response.required", "type": "response.type", "enum": "response.format",
                  "conflict": "doc.conflict"}
OK = "OK"  # the notification's documented acknowledgement: plain text, case-sensitive


@dataclass(frozen=True)
class JudgeOptions:
    secret: signing.Secret | None = None
    merchant_no: str | None = None
    strict: bool = False
    skew_window_s: float = 300.0
    # Reference time when the exchange carries none (the live doors pass time.time); None: no skew check.
    clock: Callable[[], float] | None = None


@dataclass(frozen=True)
class PendingDiagnosis:
    """A wrong sign whose mistake is named later, by the session (once per pattern of requests).

    ``at`` is the finding to complete: a ``sign.mismatch`` placeholder or the ``sign.format`` finding.
    """

    at: int
    body: dict[str, Any]
    observed: Any
    merchant_no: str | None


@dataclass(frozen=True)
class Verdict:
    """What one exchange showed: its own findings and the keys the session remembers."""

    findings: list[Finding]
    merchant_no: str | None = None
    trade_no: str | None = None
    platform_trade_no: str | None = None
    body: dict[str, Any] | None = None  # the parsed request body, when it was an object
    body_is_object: bool = False  # kept when ``body`` is dropped to ship a verdict between processes
    endpoint: str = "checkout"
    pending: PendingDiagnosis | None = None  # only when judged with ``diagnose=False``


def diagnosis_hint(d: signing.Diagnosis) -> str:
    return f"diagnosis: {d.summary}" + ("" if d.matches else "; run `vexora-conformance doctor` to compare")


def complete_diagnosis(findings: list[Finding], at: int, hint: str, **details: Any) -> list[Finding]:
    """``findings`` with the sign finding at ``at`` given its diagnosis."""
    done = list(findings)
    f = done[at]
    done[at] = f.with_hint(hint, **details)
    return done


def diagnosed_in_full(findings: list[Finding], pending: PendingDiagnosis, secret: signing.Secret) -> list[Finding]:
    """``findings`` with the pending wrong sign's mistake searched for among every known one."""
    d = signing.diagnose(pending.body, secret, pending.observed, merchant_no=pending.merchant_no)
    return complete_diagnosis(findings, pending.at, diagnosis_hint(d), diagnosis=list(d.matches))


# The cross-exchange findings, worded once for every session (the doors' Session, validate's Ledger, Dask).

def unchecked_warning() -> Finding:
    return rule("sign.unchecked").finding("signatures were not checked (no app secret given)")


def duplicate_trade_no(trade_no: str, first: str) -> Finding:
    return rule("trade-no.duplicate").finding(f"tradeNo {trade_no!r} was already used by {first}", "/tradeNo")


def duplicate_platform_trade_no(platform: str, first: str) -> Finding:
    return rule("response.platform-trade-no.duplicate").finding(
        f"platFormTradeNo {platform!r} was already returned to {first}", RESPONSE_ROOT + "/data/platFormTradeNo")


@dataclass
class Session:
    """Memory across exchanges: which tradeNos and platFormTradeNos were seen, and where first.

    Identity is the order of arrival, never the label: the same file given twice
    (``validate f f``) has the same labels and is still two sets of requests.
    This one keeps labels in dicts (the live doors see few exchanges); ``validate``
    uses ``ledger.Ledger``, which keeps the same rules in tens of bytes per exchange.
    """

    options: JudgeOptions = field(default_factory=JudgeOptions)
    trade_nos: dict[tuple[str | None, str], tuple[int, str]] = field(default_factory=dict)
    platform_trade_nos: dict[str, tuple[int, str]] = field(default_factory=dict)
    warned_unchecked: bool = False
    arrivals: int = 0

    def first_trade_no(self, merchant: str | None, trade_no: str, source: str, index: int) -> str | None:
        """Where this merchant's tradeNo was first used (None, and remembered here, when this is the first)."""
        this = (self.arrivals, f"{source}#{index}")
        first = self.trade_nos.setdefault((merchant, trade_no), this)
        return None if first is this else first[1]

    def first_platform_trade_no(self, platform: str, source: str, index: int) -> str | None:
        this = (self.arrivals, f"{source}#{index}")
        first = self.platform_trade_nos.setdefault(platform, this)
        return None if first is this else first[1]

    def observe(self, verdict: Verdict, source: str, index: int) -> list[Finding]:
        """Cross-exchange findings for a verdict, in the order exchanges arrive."""
        return self.observe_keys(verdict.body_is_object, verdict.merchant_no, verdict.trade_no,
                                 verdict.platform_trade_no, source, index)

    def observe_keys(self, body_is_object: bool, merchant: str | None, trade_no: str | None,
                     platform: str | None, source: str, index: int) -> list[Finding]:
        found: list[Finding] = []
        self.arrivals += 1
        if self.options.secret is None and not self.warned_unchecked and body_is_object:
            self.warned_unchecked = True
            found.append(unchecked_warning())
        if trade_no is not None:
            first = self.first_trade_no(merchant, trade_no, source, index)
            if first is not None:
                found.append(duplicate_trade_no(trade_no, first))
        if platform is not None:
            first = self.first_platform_trade_no(platform, source, index)
            if first is not None:
                found.append(duplicate_platform_trade_no(platform, first))
        return found

    def resolve(self, verdict: Verdict, source: str, index: int) -> list[Finding]:
        """The verdict's findings with a pending diagnosis completed (here: searched in full, every time)."""
        p = verdict.pending
        if p is None or self.options.secret is None:
            return verdict.findings
        return diagnosed_in_full(verdict.findings, p, self.options.secret)

    def conclude(self, verdict: Verdict, source: str, index: int) -> list[Finding]:
        """The verdict's own findings plus the cross-exchange ones, stamped with where the exchange came from."""
        found = self.resolve(verdict, source, index) + self.observe(verdict, source, index)
        return [f.at(source, index) for f in found]


def judge(exchange: Exchange, session: Session) -> list[Finding]:
    """All findings for one exchange, stamped with its source and index."""
    return session.conclude(judge_exchange(exchange, session.options), exchange.source, exchange.index)


def judge_exchange(exchange: Exchange, options: JudgeOptions, diagnose: bool = True) -> Verdict:
    """One exchange alone: the request against its endpoint's tables and signing rule, then the answer.

    With ``diagnose=False`` a wrong sign's mistake is left for the session to name (``Verdict.pending``).
    """
    found: list[Finding] = []
    req = exchange.request
    body = _parse_body(req.body, req.parsed)
    endpoint = endpoint_of(exchange, body)
    _check_envelope(endpoint, req, options, found)
    if not isinstance(body, dict):
        found.append(rule(endpoint.rule("request.json")).finding(_not_an_object(req, body)))
        return Verdict(found, _merchant(req), endpoint=endpoint.name)
    _check_duplicates(body, endpoint.rule("request.duplicate-key"), "", found)
    _check_body(endpoint, body, options, found)
    pending = _check_sign(endpoint, body, req, options, found, diagnose)
    if endpoint.checks_skew:
        _check_skew(endpoint, body, exchange.time, options, found)
    platform = None
    if exchange.response is not None:
        if endpoint.answer == "ok-text":
            _check_ok_reply(exchange.response, found)
        else:
            platform = _check_response(endpoint, exchange.response, body, options, found)
    trade_no = body.get("tradeNo")
    remembered = endpoint.remembers and isinstance(trade_no, str) and trade_no
    return Verdict(found, _merchant(req), trade_no if remembered else None,
                   platform if endpoint.remembers else None, body, True, endpoint.name, pending)


def endpoint_of(exchange: Exchange, body: Any = None) -> Endpoint:
    """The door's word first (the fake knows what it received), else the path, else the body's shape."""
    if exchange.endpoint is not None:
        return ENDPOINTS[exchange.endpoint]
    by_path = endpoint_for_path(exchange.request.path)
    if by_path is not None:
        return by_path
    return NOTIFY if looks_like_notification(body) else CHECKOUT


# --- the request line and headers ---


def is_json_content_type(ctype: str | None) -> bool:
    return ctype is not None and ctype.split(";", 1)[0].strip().lower() == "application/json"


def _merchant(req: Request) -> str | None:
    return req.headers.get("merchantno")


def _check_envelope(endpoint: Endpoint, req: Request, options: JudgeOptions, found: list[Finding]) -> None:
    if req.method.upper() != "POST":
        found.append(rule(endpoint.rule("request.method")).finding(f"method is {req.method[:16]!r}, not POST"))
    if endpoint.sent_by_merchant and not req.path.endswith(endpoint.path):
        found.append(rule(endpoint.rule("request.path")).finding(
            f"path {req.path[:200]!r} does not end with {endpoint.path}"))
    ctype = req.headers.get("content-type")
    if not is_json_content_type(ctype):
        shown = "missing" if ctype is None else repr(ctype[:80])
        found.append(rule(endpoint.rule("request.content-type")).finding(
            f"Content-Type is {shown}, not application/json"))
    if endpoint.merchant_header == "none":
        return
    merchant = req.headers.get("merchantno")
    if merchant is None or not merchant.strip():
        found.append(rule(endpoint.rule("request.merchant-no")).finding(
            "the merchantNo header is " + ("missing" if merchant is None else "empty")))
    elif options.merchant_no is not None and merchant != options.merchant_no:
        found.append(rule(endpoint.rule("request.merchant-no")).finding(
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
def _format_hints(endpoint: str, table: str) -> dict[str, str]:
    """pointer -> the page's sentence behind the refinement, as a hint."""
    hints: dict[str, str] = {}
    for ref in load_spec(endpoint).refinements:
        part, _, name = ref.field.partition(".")
        if part == table:
            hints.setdefault("/" + name.replace(".", "/"), f"the page says: {ref.source}")
    return hints


def _issue_finding(endpoint: Endpoint, issue: SchemaIssue, table: str) -> Finding:
    kinds = REQUEST_RULES if table == "body" else RESPONSE_RULES
    kind = kinds.get(issue.keyword, "request.format" if table == "body" else "response.format")
    if table == "body" and issue.pointer == "/sign" and kind in ("request.required", "request.format"):
        kind = "sign.missing" if kind == "request.required" else "sign.format"
    rule_id = "doc.conflict" if kind == "doc.conflict" else endpoint.rule(kind)
    where = issue.pointer[1:].replace("/", ".") or "body"
    hint = _format_hints(endpoint.name, table).get(issue.pointer) if rule_id.endswith(".format") else None
    pointer = RESPONSE_ROOT + issue.pointer if table == "response" else issue.pointer
    return rule(rule_id).finding(f"{'response ' if table == 'response' else ''}{where} {issue.message}", pointer, hint)


def _add_issues(endpoint: Endpoint, issues: list[SchemaIssue], table: str, found: list[Finding]) -> None:
    """One finding per (rule, field): a URL failing both its pattern and its format is one problem."""
    seen: set[tuple[str, str | None]] = set()
    for issue in issues:
        f = _issue_finding(endpoint, issue, table)
        if (f.rule, f.pointer) not in seen:
            seen.add((f.rule, f.pointer))
            found.append(f)


def _check_body(endpoint: Endpoint, body: dict[str, Any], options: JudgeOptions, found: list[Finding]) -> None:
    name = endpoint.schema("request-body", options.strict)
    if name is not None:
        _add_issues(endpoint, checker(name)(body), "body", found)
    documented = endpoint.documented_fields
    for key in body:
        if key not in documented:
            found.append(rule(endpoint.rule("request.unknown-field")).finding(
                f"{key[:60]!r} is not a documented body field (it is still signed)", json_pointer(key)))


def _check_sign(endpoint: Endpoint, body: dict[str, Any], req: Request, options: JudgeOptions,
                found: list[Finding], diagnose: bool) -> PendingDiagnosis | None:
    for amb in signing.ambiguities(body):
        found.append(rule(endpoint.rule("sign.ambiguous")).finding(f"{amb.key[:60]!r}: {amb.message}",
                                                                  json_pointer(amb.key), ambiguity=amb.id))
    observed = body.get("sign")
    if options.secret is None or observed is None or signing.verify(body, options.secret):
        return None
    format_rule = endpoint.rule("sign.format")
    at = next((i for i, f in enumerate(found) if f.rule == format_rule), None)
    if at is None:  # not already reported as a format problem: a mismatch, to which the diagnosis is added
        at = len(found)
        found.append(sign_mismatch(endpoint.name))
    if not endpoint.diagnoses:  # the provider's sign (a notification): no client mistake to name
        found[:] = complete_diagnosis(found, at, "the notification was not signed with this app secret",
                                      diagnosis=[])
        return None
    pending = PendingDiagnosis(at, body, observed, _merchant(req))
    if not diagnose:
        return pending
    found[:] = diagnosed_in_full(found, pending, options.secret)
    return None


@cache
def sign_mismatch(endpoint: str) -> Finding:
    """The finding for a sign that does not verify, before its diagnosis is added (findings are immutable)."""
    return rule(ENDPOINTS[endpoint].rule("sign.mismatch")).finding(
        "sign does not match the reference signature of this body", "/sign")


def _timestamp_seconds(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value / 1000 if abs(value) < 10**18 else None  # past that, no clock: and int/1000 would overflow
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 20:
        return int(value) / 1000
    return None


def _skew(body: dict[str, Any], when: float | None, options: JudgeOptions) -> float | None:
    """Seconds between the body's timestamp and the time of sending, when both are known."""
    reference = when if when is not None else (options.clock() if options.clock else None)
    sent = _timestamp_seconds(body.get("timestamp"))
    return None if reference is None or sent is None else sent - reference


def skew_exceeded(body: dict[str, Any], when: float | None, options: JudgeOptions) -> bool:
    gap = _skew(body, when, options)
    return gap is not None and abs(gap) > options.skew_window_s


def _check_skew(endpoint: Endpoint, body: dict[str, Any], when: float | None, options: JudgeOptions,
                found: list[Finding]) -> None:
    gap = _skew(body, when, options)
    if gap is not None and abs(gap) > options.skew_window_s:
        direction = "ahead of" if gap > 0 else "behind"
        found.append(rule(endpoint.rule("timestamp.skew")).finding(
            f"timestamp is {abs(gap):.0f} s {direction} the time the request was sent "
            f"(window ±{options.skew_window_s:.0f} s)", "/timestamp"))


# --- the answer ---


def _check_response(endpoint: Endpoint, resp: Response, request_body: dict[str, Any], options: JudgeOptions,
                    found: list[Finding]) -> str | None:
    body = _parse_body(resp.body, resp.parsed)
    if not isinstance(body, dict):
        reason = "empty" if body is NOT_PARSED else (str(body) if isinstance(body, JSONTextError) else "not an object")
        found.append(rule(endpoint.rule("response.json")).finding(f"response body (HTTP {resp.status}) is {reason}"))
        return None
    _check_duplicates(body, endpoint.rule("response.duplicate-key"), RESPONSE_ROOT, found)
    name = endpoint.schema("response-body", options.strict)
    if name is not None:
        _add_issues(endpoint, checker(name)(body), "response", found)
    for check in endpoint.answer_checks:
        found.extend(check(endpoint, request_body, body))
    return platform_trade_no(body)


def platform_trade_no(answer: dict[str, Any]) -> str | None:
    """The platFormTradeNo a successful answer gave (remembered: it must be unique)."""
    data = answer.get("data")
    if answer.get("code") != "0000" or not isinstance(data, dict):
        return None
    platform = data.get("platFormTradeNo")
    return platform if isinstance(platform, str) and platform else None


def ok_reply_problem(status: int, text: str) -> str | None:
    """Why a notification answer is not the documented acknowledgement (a 2xx whose body is exactly OK)."""
    if not 200 <= status < 300:
        return f"answered HTTP {status}, not a 2xx"
    if text == OK:
        return None
    shown = text[:40].encode("unicode_escape").decode("ascii")
    return f"answered {shown!r}, not exactly {OK!r}" if text.strip() != OK else "padded"


_BAD_SIGN = frozenset(NOTIFY.rule(k) for k in ("sign.missing", "sign.format", "sign.mismatch"))


def _check_ok_reply(resp: Response, found: list[Finding]) -> None:
    """The merchant's answer to a notification: OK to a valid one, anything else to one that is not."""
    raw = resp.body if resp.body is not None else ""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    problem = ok_reply_problem(resp.status, text)
    broken = [f for f in found if f.severity == "error"]
    if broken:
        if problem is None or problem == "padded":  # acknowledged what it should have refused
            if any(f.rule in _BAD_SIGN for f in broken):
                found.append(rule("notify.accepts-bad-sign").finding(
                    "the handler answered OK to a notification whose sign does not verify", RESPONSE_ROOT))
            else:
                found.append(rule("notify.malformed-accepted").finding(
                    f"the handler answered OK to a notification that breaks the contract ({broken[0].rule})",
                    RESPONSE_ROOT))
    elif problem == "padded":
        found.append(rule("notify.reply-padded").finding("the handler answered OK with white space around it",
                                                         RESPONSE_ROOT))
    elif problem is not None:
        found.append(rule("notify.reply").finding(f"the handler {problem}", RESPONSE_ROOT))
