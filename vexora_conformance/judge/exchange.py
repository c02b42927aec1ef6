"""The one judge of one exchange: a request (and maybe its answer) in, a Verdict out. Every door calls it.

``judge_exchange`` looks at one exchange alone (pure, safe to run in worker processes): it finds the endpoint
and the market, then holds the request to that market's contract - its tables, its signing rule, its clock -
and the answer to that contract's answer table and the endpoint's own checks. Nothing here raises on bad client
data: everything wrong becomes a Finding. The rules that need memory across exchanges are ``session``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from ..contract import signing
from ..contract.endpoint import Answer, Endpoint
from ..contract.markets import DEFAULT
from ..contract.registry import CHECKOUT, ENDPOINTS, RESPONSE_ROOT, by_shape, endpoint, route
from ..contract.schema.compile import SchemaIssue, checker
from ..contract.schema.generate import schema_for
from ..contract.schema.tables import Contract
from ..core.exchange import NOT_PARSED, Exchange, Request, Response
from ..core.findings import Finding, Kind, Severity, json_pointer
from ..core.jsontext import JSONTextError, duplicate_keys, loads
from .capped import MAX_PER_RULE, CappedFindings

OK = "OK"  # the notification's documented acknowledgement: plain text, case-sensitive

# Schema keywords -> kinds of finding (each endpoint gives a kind its own rule id).
_BODY_KINDS = {"required": Kind.REQUIRED, "type": Kind.TYPE, "enum": Kind.ENUM, "conflict": Kind.DOC_CONFLICT,
               "should": Kind.ADVICE}
_ANSWER_KINDS = {"required": Kind.RESPONSE_REQUIRED, "type": Kind.RESPONSE_TYPE, "conflict": Kind.DOC_CONFLICT}


@dataclass(frozen=True, kw_only=True)
class JudgeOptions:
    secret: signing.Secret | None = None
    merchant_no: str | None = None
    strict_tables: bool = False  # the tables only: another reading (the page's example) is a doc.conflict
    skew_window_s: float = 300.0
    # Reference time when the exchange carries none (the live doors pass time.time); None: no skew check.
    clock: Callable[[], float] | None = None
    market: str = DEFAULT  # the market of an exchange whose path names none


@dataclass(frozen=True)
class PendingDiagnosis:
    """A wrong sign whose mistake is named later, by the session (once per pattern of requests).

    ``at`` is the finding to complete: a ``sign.mismatch`` placeholder or the ``sign.format`` finding.
    """

    at: int
    body: dict[str, Any]
    observed: Any
    merchant_no: str | None


@dataclass(kw_only=True, slots=True)
class Verdict:
    """What one exchange showed: its own findings, and the keys the session remembers.

    Not frozen, though nothing changes one once made: a frozen dataclass sets each of its eleven fields
    through ``object.__setattr__``, about 17k of the ~250k instructions the plugin's fake adds to a call
    (docs/performance.md)."""

    findings: list[Finding]
    endpoint: str = "checkout"
    market: str = DEFAULT
    variant: str = DEFAULT  # the contract that judged it: the market's own, or "shared"
    merchant_no: str | None = None
    trade_no: str | None = None  # a tradeNo that must be unique in the endpoint's space
    platform_trade_no: str | None = None  # a platFormTradeNo an answer gave (unique across the run)
    body: dict[str, Any] | None = None  # the parsed request body, when it was an object
    body_is_object: bool = False  # kept when ``body`` is dropped to ship a verdict between processes
    pending: PendingDiagnosis | None = None  # only when judged with ``diagnose=False``


def diagnosis_hint(d: signing.Diagnosis) -> str:
    return f"diagnosis: {d.summary}" + ("" if d.matches else "; run `vexora-conformance doctor` to compare")


def complete_diagnosis(findings: list[Finding], at: int, hint: str, **details: Any) -> list[Finding]:
    """``findings`` with the sign finding at ``at`` given its diagnosis."""
    done = list(findings)
    done[at] = done[at].with_hint(hint, **details)
    return done


def diagnosed_in_full(findings: list[Finding], pending: PendingDiagnosis, secret: signing.Secret) -> list[Finding]:
    """``findings`` with the pending wrong sign's mistake searched for among every known one."""
    d = signing.diagnose(pending.body, secret, pending.observed, merchant_no=pending.merchant_no)
    return complete_diagnosis(findings, pending.at, diagnosis_hint(d), diagnosis=list(d.matches))


def judge_exchange(exchange: Exchange, options: JudgeOptions, diagnose: bool = True) -> Verdict:
    """One exchange alone: the request against its market's contract and the signing rule, then the answer.

    With ``diagnose=False`` a wrong sign's mistake is left for the session to name (``Verdict.pending``).
    """
    found = CappedFindings()
    req = exchange.request
    body = _parse_body(req.body, req.parsed)
    ep, market = recognise(exchange, body, options)
    contract = ep.contract(market)
    merchant = _merchant(req)
    _check_envelope(ep, contract, req, options, found)
    if not isinstance(body, dict):
        found.append(ep.rule(Kind.JSON).finding(_not_an_object(req, body)))
        if exchange.response is not None and ep.answer is Answer.OK_TEXT:  # an OK to what is no notification
            _check_ok_reply(ep, exchange.response, found)
        return Verdict(findings=found.closed(), endpoint=ep.name, market=market, variant=contract.variant,
                       merchant_no=merchant)
    _check_duplicates(body, ep.rule(Kind.DUPLICATE_KEY).finding, "", found)
    _check_body(ep, contract, body, options, found)
    pending = _check_sign(ep, body, req, options, found, diagnose)
    if ep.checks_skew:
        _check_skew(ep, body, exchange.time, options, found)
    platform = None
    if exchange.response is not None:
        if ep.answer is Answer.OK_TEXT:
            _check_ok_reply(ep, exchange.response, found)
        else:
            platform = _check_response(ep, contract, exchange.response, body, options, found)
    trade_no = body.get("tradeNo")
    remembered = ep.trade_no_space is not None and isinstance(trade_no, str) and trade_no
    return Verdict(findings=found.closed(), endpoint=ep.name, market=market, variant=contract.variant,
                   merchant_no=merchant, trade_no=trade_no if remembered else None,
                   platform_trade_no=platform if ep.unique_platform_trade_no else None, body=body,
                   body_is_object=True, pending=pending)


def recognise(exchange: Exchange, body: Any, options: JudgeOptions) -> tuple[Endpoint, str]:
    """(the endpoint, the market): the door's word first (the fake knows what it received), else the path, else
    the body's shape; the market from the path's prefix, else the run's."""
    by_path, market = route(exchange.request.path)
    named = endpoint(exchange.endpoint) if exchange.endpoint is not None else None
    return named or by_path or by_shape(body) or CHECKOUT, market or options.market


# --- the request line and headers ---


def is_json_content_type(ctype: str | None) -> bool:
    return ctype == "application/json" or (  # the common spelling first: asked of every request
        ctype is not None and ctype.split(";", 1)[0].strip().lower() == "application/json")


def _merchant(req: Request) -> str | None:
    return req.headers.get("merchantno")


def path_problem(ep: Endpoint, contract: Contract, path: str) -> tuple[Kind, str] | None:
    """Why a request's path is not the market's documented one: another market's spelling only advises."""
    if path.endswith(contract.path):
        return None
    shown = repr(path[:200])
    others = sorted(p for p in ep.spec.paths() if p != contract.path and path.endswith(p))
    if others:
        return Kind.ADVICE, (f"path {shown} is another market's spelling ({others[0]}); the "
                             f"{contract.variant} page writes {contract.path}")
    return Kind.PATH, f"path {shown} does not end with {contract.path}"


def _check_envelope(ep: Endpoint, contract: Contract, req: Request, options: JudgeOptions,
                    found: list[Finding]) -> None:
    if req.method.upper() != "POST":
        found.append(ep.rule(Kind.METHOD).finding(f"method is {req.method[:16]!r}, not POST"))
    if ep.sent_by_merchant:
        problem = path_problem(ep, contract, req.path)
        if problem is not None:
            found.append(ep.rule(problem[0]).finding(problem[1], basis=contract.page))
    ctype = req.headers.get("content-type")
    if not is_json_content_type(ctype):
        shown = "missing" if ctype is None else repr(ctype[:80])
        found.append(ep.rule(Kind.CONTENT_TYPE).finding(f"Content-Type is {shown}, not application/json"))
    row = next((f for f in contract.table("header") if f.name == "merchantNo"), None)
    if row is None:
        return
    merchant = req.headers.get("merchantno")
    if merchant is None or not merchant.strip():
        missing = "missing" if merchant is None else "empty"
        if row.required:
            found.append(ep.rule(Kind.MERCHANT_NO).finding(f"the merchantNo header is {missing}",
                                                           basis=contract.source_of("header", "merchantNo")))
        else:  # the page marks it optional, every other market requires it
            found.append(ep.rule(Kind.ADVICE).finding(
                f"the merchantNo header is {missing}: the {contract.variant} page marks it not required, other "
                "markets' pages require it", hint="Send your merchant number in the 'merchantNo' header.",
                basis=contract.source_of("header", "merchantNo")))
    elif options.merchant_no is not None and merchant != options.merchant_no:
        found.append(ep.rule(Kind.MERCHANT_NO).finding(
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


def _check_duplicates(body: dict[str, Any], finding: Callable[..., Finding], root: str,
                      found: list[Finding]) -> None:
    for pointer in duplicate_keys(body):
        key = pointer.rsplit("/", 1)[1].replace("~1", "/").replace("~0", "~")
        found.append(finding(
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


# --- the body against the market's tables ---


@cache
def _hints(ep_name: str, variant: str, table: str, advice: bool) -> dict[str, str]:
    """pointer -> the page's sentence behind the field's rules (or, with ``advice``, behind what it advises), as a
    hint: the first one of each field."""
    contract = ENDPOINTS[ep_name].contract(None if variant == "shared" else variant)
    hints: dict[str, str] = {}
    for ref in contract.refinements:
        part, _, name = ref.field.partition(".")
        if part == table and ref.keyword != "nullable-unless-success" and (ref.strength != "must") == advice:
            hints.setdefault("/" + name.replace(".", "/"), f"the page says: {ref.source}")
    return hints


def _body_kind(issue: SchemaIssue) -> Kind:
    if issue.pointer == "/sign" and issue.keyword not in ("type", "conflict", "should"):
        return Kind.SIGN_MISSING if issue.keyword == "required" else Kind.SIGN_FORMAT
    kind = _BODY_KINDS.get(issue.keyword)
    if kind is not None:
        return kind
    return Kind.AMOUNT if issue.pointer == "/amount" else Kind.FORMAT


def _issue_finding(ep: Endpoint, contract: Contract, issue: SchemaIssue, table: str) -> Finding:
    kind = _body_kind(issue) if table == "body" else _ANSWER_KINDS.get(issue.keyword, Kind.RESPONSE_FORMAT)
    where = issue.pointer[1:].replace("/", ".") or "body"
    hint = None
    if kind in (Kind.FORMAT, Kind.AMOUNT, Kind.ADVICE, Kind.ENUM, Kind.RESPONSE_FORMAT):
        hint = _hints(ep.name, contract.variant, table, kind is Kind.ADVICE).get(issue.pointer)
    elif kind is Kind.REQUIRED:
        required = [f.name for f in contract.table("body") if f.required]
        hint = f"The {contract.variant} table requires {', '.join(required)}."
    pointer = RESPONSE_ROOT + issue.pointer if table == "response" else issue.pointer
    name = issue.pointer[1:].split("/", 1)[0]
    text = f"{'response ' if table == 'response' else ''}{where} {issue.message}"
    return ep.rule(kind).finding(text, pointer, hint, basis=contract.source_of(table, name) if name else contract.page)


def _add_issues(ep: Endpoint, contract: Contract, issues: list[SchemaIssue], table: str,
                found: list[Finding]) -> None:
    """One finding per (rule, field): a URL failing both its pattern and its format is one problem."""
    seen: set[tuple[str, str | None]] = set()
    for issue in issues:
        f = _issue_finding(ep, contract, issue, table)
        if (f.rule, f.pointer) not in seen:
            seen.add((f.rule, f.pointer))
            found.append(f)


@cache
def documented_fields(ep_name: str, variant: str) -> frozenset[str] | None:
    """The body fields a contract documents (and the other names its conflicts give them); None: not stored."""
    contract = ENDPOINTS[ep_name].contract(None if variant == "shared" else variant)
    if contract.open_body:
        return None
    names = {f.name for f in contract.table("body")}
    names |= {c.example_type for c in contract.conflicts if c.field.startswith("body.")
              and c.example_type not in ("string", "integer", "number", "boolean", "absent")}
    return frozenset(names)


def _check_body(ep: Endpoint, contract: Contract, body: dict[str, Any], options: JudgeOptions,
                found: list[Finding]) -> None:
    name = schema_for(ep.name, contract.variant, "request-body", options.strict_tables)
    if name is not None:
        _add_issues(ep, contract, checker(name)(body), "body", found)
    documented = documented_fields(ep.name, contract.variant)
    if documented is None:
        return
    unknown = [key for key in body if key not in documented]
    for n, key in enumerate(unknown):
        finding = ep.rule(Kind.UNKNOWN_FIELD).finding(
            f"{key[:60]!r} is not a documented body field of the {contract.variant} page (it is still signed)",
            json_pointer(key), basis=contract.page)
        if n == MAX_PER_RULE:  # the rest are counted, not built: a body of 200,000 keys is one mistake
            _more(found, finding, len(unknown) - n)
            break
        found.append(finding)


def _more(found: list[Finding], example: Finding, count: int) -> None:
    if isinstance(found, CappedFindings):
        found.not_listed(example, count)


def _check_sign(ep: Endpoint, body: dict[str, Any], req: Request, options: JudgeOptions,
                found: list[Finding], diagnose: bool) -> PendingDiagnosis | None:
    ambiguous = signing.ambiguities(body)
    for n, amb in enumerate(ambiguous):
        finding = ep.rule(Kind.SIGN_AMBIGUOUS).finding(f"{amb.key[:60]!r}: {amb.message}", json_pointer(amb.key),
                                                       ambiguity=amb.id)
        if n == MAX_PER_RULE:
            _more(found, finding, len(ambiguous) - n)
            break
        found.append(finding)
    observed = body.get("sign")
    if options.secret is None or observed is None or signing.verify(body, options.secret):
        return None
    at = next((i for i, f in enumerate(found) if f.kind is Kind.SIGN_FORMAT), None)
    if at is None:  # not already reported as a format problem: a mismatch, to which the diagnosis is added
        at = len(found)
        found.append(sign_mismatch(ep.name))
    if not ep.diagnoses:  # the provider's sign (a notification): no client mistake to name
        found[:] = complete_diagnosis(found, at, "the notification was not signed with this app secret",
                                      diagnosis=[])
        return None
    pending = PendingDiagnosis(at, body, observed, _merchant(req))
    if not diagnose:
        return pending
    found[:] = diagnosed_in_full(found, pending, options.secret)
    return None


@cache
def sign_mismatch(ep_name: str) -> Finding:
    """The finding for a sign that does not verify, before its diagnosis is added (findings are immutable)."""
    return ENDPOINTS[ep_name].rule(Kind.SIGN_MISMATCH).finding(
        "sign does not match the reference signature of this body", "/sign")


def _skew(timestamp: Any, when: float | None, options: JudgeOptions) -> float | None:
    """Seconds between a body's timestamp value (milliseconds, as digits or an integer) and the time of sending,
    when both are known. It runs for every request: the documented form, a string, is tried first."""
    if type(timestamp) is str:
        if not (timestamp.isdigit() and timestamp.isascii() and len(timestamp) < 20):
            return None
        sent = int(timestamp) / 1000
    elif isinstance(timestamp, int) and not isinstance(timestamp, bool):
        if abs(timestamp) >= 10**18:
            return None  # past that, no clock: and int/1000 would overflow
        sent = timestamp / 1000
    elif isinstance(timestamp, str):  # a str subclass: the same rule
        return _skew(str(timestamp), when, options)
    else:
        return None
    reference = when if when is not None else (options.clock() if options.clock else None)
    return None if reference is None else sent - reference


def skew_exceeded(body: dict[str, Any], when: float | None, options: JudgeOptions) -> bool:
    return timestamp_skew_exceeded(body.get("timestamp"), when, options)


def timestamp_skew_exceeded(timestamp: Any, when: float | None, options: JudgeOptions) -> bool:
    """``skew_exceeded`` on the body's timestamp value alone (None: the body has none)."""
    gap = _skew(timestamp, when, options)
    return gap is not None and abs(gap) > options.skew_window_s


def _check_skew(ep: Endpoint, body: dict[str, Any], when: float | None, options: JudgeOptions,
                found: list[Finding]) -> None:
    gap = _skew(body.get("timestamp"), when, options)
    if gap is not None and abs(gap) > options.skew_window_s:
        direction = "ahead of" if gap > 0 else "behind"
        found.append(ep.rule(Kind.TIMESTAMP_SKEW).finding(
            f"timestamp is {abs(gap):.0f} s {direction} the time the request was sent "
            f"(window ±{options.skew_window_s:.0f} s)", "/timestamp"))


# --- the answer ---


def _check_response(ep: Endpoint, contract: Contract, resp: Response, request_body: dict[str, Any],
                    options: JudgeOptions, found: list[Finding]) -> str | None:
    body = _parse_body(resp.body, resp.parsed)
    if not isinstance(body, dict):
        reason = "empty" if body is NOT_PARSED else (str(body) if isinstance(body, JSONTextError) else "not an object")
        found.append(ep.rule(Kind.RESPONSE_JSON).finding(f"response body (HTTP {resp.status}) is {reason}"))
        return None
    _check_duplicates(body, ep.rule(Kind.RESPONSE_DUPLICATE_KEY).finding, RESPONSE_ROOT, found)
    name = schema_for(ep.name, contract.variant, "response-body", options.strict_tables)
    if name is not None:
        _add_issues(ep, contract, checker(name)(body), "response", found)
    for check in ep.answer_checks:
        found.extend(check(ep, request_body, body))
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


_BAD_SIGN = frozenset({Kind.SIGN_MISSING, Kind.SIGN_FORMAT, Kind.SIGN_MISMATCH})


def _check_ok_reply(ep: Endpoint, resp: Response, found: list[Finding]) -> None:
    """The merchant's answer to a notification: OK to a valid one, anything else to one that is not."""
    raw = resp.body if resp.body is not None else ""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    problem = ok_reply_problem(resp.status, text)
    broken = [f for f in found if f.severity is Severity.ERROR]
    if broken:
        if problem is None or problem == "padded":  # acknowledged what it should have refused
            if any(f.kind in _BAD_SIGN for f in broken):
                found.append(ep.rule(Kind.ACCEPTS_BAD_SIGN).finding(
                    "the handler answered OK to a notification whose sign does not verify", RESPONSE_ROOT))
            else:
                found.append(ep.rule(Kind.MALFORMED_ACCEPTED).finding(
                    f"the handler answered OK to a notification that breaks the contract ({broken[0].rule})",
                    RESPONSE_ROOT))
        else:  # refused: the handler did the right thing, and what was wrong with the message is not its fault
            found[:] = [f for f in found if f.severity is not Severity.ERROR]
    elif problem == "padded":
        found.append(ep.rule(Kind.REPLY_PADDED).finding("the handler answered OK with white space around it",
                                                        RESPONSE_ROOT))
    elif problem is not None:
        found.append(ep.rule(Kind.REPLY).finding(f"the handler {problem}", RESPONSE_ROOT))
