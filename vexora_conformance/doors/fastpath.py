"""The fast accept path of ``validate``: a record proven clean on its parsed values, with no objects.

``accept_line`` answers for one JSON-lines record, ``accept_har_entry`` for one
HAR entry: ``SKIPPED`` when the explaining path (``capture.item_from_line`` or
``capture._har_item``, then ``judge.judge_exchange``) would skip the record,
a ``Clean`` record when that path would find nothing wrong with it (or ``BadSign``
when it would find only a wrong sign), and ``None``
whenever anything is unusual - the caller then runs the explaining path, which
alone decides and explains. So this module may refuse a clean record, but must
never accept one the explaining path would fault; ``tests/test_fastpath.py``
holds the two to the same findings on generated traffic.

A JSON-lines record of exactly the documented shape is tried first against
msgspec Structs generated from the schemas (``contract.schema.structs``): the
record, its body and its answer are decoded and mostly checked in C, and the sign's
canonical string is joined in signing order. Only its acceptances count; anything
else goes on to the general tier, which parses with orjson and checks the parsed
values. msgspec refuses lone surrogates, NaN, BOMs and floats where integers are
declared, and keeps the last value of a repeated key, as orjson does; so the same
quote count rules repeated keys out in both tiers.

orjson differs from ``json`` in ways that all lead here to
``None``: it refuses lone surrogates, NaN and numbers that overflow a double, it
turns integers of 2**64 or more into floats (floats are never accepted), and,
like ``json``, it keeps the last value of a repeated key silently - so repeated
keys are ruled out by counting quotes (below) before a body is accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from hmac import compare_digest
from itertools import chain, compress
from typing import Any, NamedTuple

import msgspec
import orjson

from ..contract.endpoint import Answer, Endpoint
from ..contract.endpoints._answers import echoed
from ..contract.registry import CHECKOUT, ENDPOINTS, by_shape, route
from ..contract.schema.compile import acceptor
from ..contract.schema.generate import schema_for
from ..contract.schema.structs import UNSET, StructChecker, struct_checker
from ..contract.signing import verify
from ..contract.signing.reference import canonical_string, md5_hex
from ..core.exchange import NOT_PARSED, Exchange, url_path
from ..core.jsontext import MAX_DEPTH
from ..core.records import SKIPPED, Clean, Skipped
from ..judge.exchange import (
    JudgeOptions,
    Verdict,
    documented_fields,
    is_json_content_type,
    ok_reply_problem,
    path_problem,
    platform_trade_no,
    skew_exceeded,
    timestamp_skew_exceeded,
)
from .capture import RecordError, _epoch, worth_judging


class BadSign(NamedTuple):
    """Clean but for a sign that does not verify: the explaining path would give exactly one finding,
    sign.mismatch, whose mistake the session names (the verdict's ``pending``)."""

    clean: Clean
    body: dict[str, Any]
    observed: Any


_MEMO_TEXT = 8192  # a URL, or a record, longer than this is decided without being remembered
_loads = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError


def _route(url: str) -> tuple[str, Endpoint | None, str | None]:
    """(path, endpoint by path, market by prefix) exactly as ``Request`` and ``recognise`` compute them; captures
    repeat URLs, so a short one's answer is remembered (a long one, hostile or not, is not kept)."""
    return _remembered_route(url) if len(url) <= _MEMO_TEXT else _remembered_route.__wrapped__(url)


@lru_cache(maxsize=4096)
def _remembered_route(url: str) -> tuple[str, Endpoint | None, str | None]:
    path = url_path(url)
    found, market = route(path)
    return path, found, market


def _headers(value: Any) -> dict[str, str] | None:
    """Lower-cased names, first value wins (as ``header_map``), from each form the capture reader takes: an
    object, a list of ``[name, value]`` pairs (what the JSON-lines format documents, and what both public
    integrations' captures write), or HAR's ``{name, value}`` objects; a value that is not a string: None."""
    if value is None:
        return {}
    out: dict[str, str] = {}
    if type(value) is dict:
        for name, text in value.items():
            if type(text) is not str:
                return None  # str() of a number parsed by orjson may differ from json's (a big integer)
            out.setdefault(name.lower(), text)
        return out
    if type(value) is not list:
        return None
    for h in value:
        if type(h) is list and len(h) == 2:
            name, text = h
        elif type(h) is dict and len(h) == 2:
            name, text = h.get("name"), h.get("value")
        else:
            return None  # the explaining path says what is wrong with it
        if type(name) is not str or type(text) is not str:
            return None
        out.setdefault(name.lower(), text)
    return out


def _plain_text(text: str) -> bool:
    """No escaped quote or backslash and no deep nesting: every quote in ``text`` delimits a string."""
    if "\\" in text and ('\\"' in text or "\\\\" in text):
        return False
    return text.count("{") + text.count("[") <= MAX_DEPTH


def _quotes(obj: dict[str, Any]) -> int:
    """The quotes ``obj`` has when written with each key once; -1 for an array (its items are not counted).

    A repeated key in the text adds at least two quotes that the parsed object no longer has. Counted on
    the list of value types (C loops): this runs for every answer. A float or an integer orjson made a
    float has no quotes; where the judge reads one, the schema predicate refuses it.
    """
    types = list(map(type, obj.values()))
    if list in types:
        return -1
    n = 2 * len(types) + 2 * types.count(str)
    if dict in types:
        for v in obj.values():
            if type(v) is dict:
                inner = _quotes(v)
                if inner < 0:
                    return -1
                n += inner
    return n


def _object(text: Any) -> dict[str, Any] | None:
    """A JSON object from plain text (see ``_plain_text``), parsed by orjson; else None."""
    if type(text) is not str or not text or not _plain_text(text):
        return None
    try:
        value = _loads(text)
    except _JSONDecodeError:
        return None
    return value if type(value) is dict else None


def _flat_body(text: Any) -> dict[str, Any] | None:
    """A request body whose values are all strings or integers, written with each key once."""
    body = _object(text)
    if body is None:
        return None
    types = list(map(type, body.values()))
    strs, ints = types.count(str), types.count(int)
    if strs + ints != len(types):
        return None  # null, booleans, floats, nested values: findings or doubts, the explaining path's job
    return body if text.count('"') == 4 * strs + 2 * ints else None


def _answer_body(text: Any) -> dict[str, Any] | None:
    """An answer written with each key once, and no arrays."""
    body = _object(text)
    if body is None:
        return None
    n = _quotes(body)
    return body if n >= 0 and text.count('"') == n else None


def _with_request(raw: bytes) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the record or entry, its request object) when both are JSON objects, nested as the explaining path
    allows (the same bracket count as ``jsontext.loads``); else Nones."""
    if raw.count(b"{") + raw.count(b"[") > MAX_DEPTH:
        return None, None
    try:
        outer = _loads(raw)
    except _JSONDecodeError:
        return None, None
    if type(outer) is not dict:
        return None, None
    req = outer.get("request")
    return outer, req if type(req) is dict else None


def accept_line(line: bytes, options: JudgeOptions) -> Clean | BadSign | Skipped | None:
    """``SKIPPED``, a ``Clean`` record, ``BadSign``, or None (let the explaining path judge it), for one
    JSON-lines record."""
    decided = _by_structs(line, options)
    if decided is not None:
        return decided
    record, req = _with_request(line)
    if record is None or req is None:
        return None
    url = req.get("url")
    text = req.get("body")
    hint = record.get("endpoint")
    if hint is None and not worth_judging(url, text):
        return SKIPPED  # other traffic (read again with duplicate detection or not, it is skipped all the same)
    if hint is not None and (type(hint) is not str or hint not in ENDPOINTS):
        return None
    headers = _headers(req.get("headers"))
    resp = record.get("response")
    status: Any = None
    reply = None
    if resp is not None:
        if type(resp) is not dict:
            return None
        status = resp.get("status")
        reply = resp.get("body")
        if type(status) is not int or _headers(resp.get("headers")) is None:
            return None
    try:
        when = _epoch(record.get("time"))
    except RecordError:
        return None
    return _accept(hint, req.get("method"), url, headers, text, status, reply, when, options)


def accept_har_entry(text: bytes, options: JudgeOptions) -> Clean | BadSign | Skipped | None:
    """The same for one HAR entry's JSON text (``capture._har_item`` and ``exchange_from_har_entry`` are its
    explaining path): bodies in base64 or in side files are left to that path."""
    entry, req = _with_request(text)
    if entry is None or req is None:
        return None
    url = req.get("url")
    post = req.get("postData")
    if not worth_judging(url, post.get("text") if type(post) is dict else None):
        return SKIPPED
    headers = _har_headers(req.get("headers"))
    resp = entry.get("response")
    status: Any = None
    reply = None
    if type(resp) is dict and type(resp.get("status")) is int and resp["status"] > 0:
        status = resp["status"]
        reply = _har_text(resp.get("content"))
        if reply is False or _har_headers(resp.get("headers")) is None:
            return None
    elif type(resp) is dict and type(resp.get("status")) is bool:
        return None  # True is an int to the explaining path
    body = _har_text(post)
    started = entry.get("startedDateTime")
    try:
        when = _epoch(started)
    except RecordError:
        return None
    if body is False:
        return None
    return _accept(None, req.get("method"), url, headers, body, status, reply, when, options)


def _har_headers(value: Any) -> dict[str, str] | None:
    """HAR's list of {name, value} of strings as ``_headers`` gives them; anything else: None."""
    if value is None:
        return {}
    if type(value) is not list:
        return None
    out: dict[str, str] = {}
    for h in value:
        if type(h) is not dict:
            return None
        name, text = h.get("name"), h.get("value")
        if type(name) is not str or type(text) is not str:
            return None
        out.setdefault(name.lower(), text)
    return out


def _har_text(content: Any) -> str | bool | None:
    """A HAR body as plain text, None when there is none, False when the explaining path must read it
    (base64, a side file, a text that is not a string)."""
    if type(content) is not dict:
        return None
    text = content.get("text")
    if text is None:
        return False if "_file" in content else None
    if type(text) is not str or content.get("encoding") == "base64":
        return False
    return text


class _Plan(NamedTuple):
    """What the fast path asks of one contract, worked out once: the lookups it made per record before."""

    needs_merchant: bool  # the header table has merchantNo
    request: Callable[[Any], bool] | None  # the request body's acceptor
    documented: frozenset[str] | None
    response: Callable[[Any], bool] | None  # the answer body's acceptor


@lru_cache(maxsize=1024)  # the market comes from the path: bounded
def _plan(name: str, market: str, strict: bool) -> _Plan:
    endpoint = ENDPOINTS[name]
    contract = endpoint.contract(market)
    variant = contract.variant
    request = schema_for(endpoint.name, variant, "request-body", strict)
    response = schema_for(endpoint.name, variant, "response-body", strict)
    return _Plan(any(f.name == "merchantNo" for f in contract.table("header")),
                 acceptor(request) if request is not None else None, documented_fields(endpoint.name, variant),
                 acceptor(response) if response is not None else None)


def _accept(hint: Any, method: Any, url: Any, headers: dict[str, str] | None, text: Any, status: Any, reply: Any,
            when: float | None, options: JudgeOptions) -> Clean | BadSign | None:
    """The checks of ``judge.judge_exchange``, accept-only, on one exchange's parts (``status`` None: no answer)."""
    if type(method) is not str or type(url) is not str or headers is None:
        return None
    body = _flat_body(text)
    if body is None:
        return None
    path, by_path, market = _route(url)
    endpoint = ENDPOINTS[hint] if hint is not None else by_path or by_shape(body) or CHECKOUT
    market = market or options.market
    contract = endpoint.contract(market)
    variant = contract.variant
    plan = _plan(endpoint.name, market, options.strict_tables)

    # the request line and headers
    if method.upper() != "POST" or (endpoint.sent_by_merchant and path_problem(endpoint, contract, path)):
        return None
    if not is_json_content_type(headers.get("content-type")):
        return None
    merchant = headers.get("merchantno")
    if plan.needs_merchant and (merchant is None or not merchant.strip()
                                or (options.merchant_no is not None and merchant != options.merchant_no)):
        return None

    # the body: tables, fields, sign, clock
    if plan.request is not None and not plan.request(body):
        return None
    if plan.documented is not None and not plan.documented.issuperset(body):
        return None
    bad_sign = options.secret is not None and body.get("sign") is not None and not verify(body, options.secret)
    if bad_sign and not (endpoint.diagnoses and endpoint.answer is Answer.ENVELOPE):
        return None  # a notification's bad sign changes what its reply means: the explaining path judges it
    if endpoint.checks_skew and skew_exceeded(body, when, options):
        return None

    # the answer
    platform = None
    if status is not None:
        if endpoint.answer is Answer.OK_TEXT:
            if (reply is not None and type(reply) is not str) or ok_reply_problem(status, reply or "") is not None:
                return None
        else:
            answer = _answer_body(reply)
            if answer is None:
                return None
            if plan.response is not None and not plan.response(answer):
                return None
            for check in endpoint.answer_checks:
                if check(endpoint, body, answer):
                    return None
            platform = platform_trade_no(answer)
    trade_no = body.get("tradeNo")
    if endpoint.trade_no_space is None or type(trade_no) is not str or not trade_no:
        trade_no = None
    if not endpoint.unique_platform_trade_no:
        platform = None
    clean = Clean(endpoint.name, market, variant, merchant, trade_no, platform, method, path)
    if bad_sign:
        return BadSign(clean, body, body["sign"])
    return clean


# --- the first tier: a record of the documented shape, decoded into generated Structs ---


_NULL = msgspec.Raw(b"null")


class _Request(msgspec.Struct, forbid_unknown_fields=True):
    method: str
    url: str
    body: str  # a body already parsed into the record, or none: the general tier
    # Kept as their JSON text: captures repeat a few header sets, each decoded (into _Headers) and judged once
    headers: msgspec.Raw = _NULL


class _Response(msgspec.Struct, forbid_unknown_fields=True):
    status: int
    headers: msgspec.Raw = _NULL
    body: str | None = None


class _Record(msgspec.Struct, forbid_unknown_fields=True):
    """What the JSON-lines format documents, and nothing else: such a record cannot nest deeper than this."""

    request: _Request
    response: _Response | None = None
    time: int | float | str | None = None
    endpoint: str | None = None


_decode_record = msgspec.json.Decoder(_Record).decode
_Headers = dict[str, str] | list[tuple[str, str]] | None  # the header forms the first tier takes
_decode_headers = msgspec.json.Decoder(_Headers).decode
_new_clean = tuple.__new__  # Clean(...) without the NamedTuple's own __new__, a Python call per record
_MsgspecError = msgspec.MsgspecError


class _StructPlan(NamedTuple):
    """What the first tier asks of one contract, worked out once."""

    variant: str
    needs_merchant: bool
    request: StructChecker
    response: StructChecker
    echo: tuple[str, ...]
    diagnoses: bool  # a wrong sign is the sender's own, named by the diagnosis (else the explaining path's)


@lru_cache(maxsize=1024)  # the market comes from the path: bounded
def _struct_plan(name: str, market: str, strict: bool) -> _StructPlan | None:
    """None where the first tier does not model the contract: an answer that is not the envelope, an answer
    check of the endpoint's own, a schema the generator declines."""
    endpoint = ENDPOINTS[name]
    if endpoint.answer is not Answer.ENVELOPE or any(c is not echoed for c in endpoint.answer_checks):
        return None
    contract = endpoint.contract(market)
    variant = contract.variant
    documented = documented_fields(endpoint.name, variant)
    request = schema_for(endpoint.name, variant, "request-body", strict)
    response = schema_for(endpoint.name, variant, "response-body", strict)
    if request is None or response is None:
        return None
    # A body the tables leave open (documented None) may carry any field; the Struct still refuses those it
    # does not declare, which only sends such bodies on to the general tier.
    request_checker = struct_checker(request, documented, True)
    response_checker = struct_checker(response, None, False)
    if request_checker is None or response_checker is None:
        return None
    return _StructPlan(variant, any(f.name == "merchantNo" for f in contract.table("header")), request_checker,
                       response_checker, endpoint.echo if endpoint.answer_checks else (), endpoint.diagnoses)


_UNSEEN: Any = object()
# (URL, hint) pairs and header sets remembered, from records of at most _MEMO_TEXT bytes: captures repeat a few,
# and a hostile one that never repeats holds at most 1,024 x 8 KiB in each table.
_MEMO_ENTRIES = 1024
_Site = tuple[Endpoint, str, str, _StructPlan]  # endpoint, market, path, plan
_SITES: dict[tuple[Any, ...], _Site | None] = {}
_HEADERS: dict[Any, Any] = {}
_NOT_JSON: Any = object()


def _site(url: str, hint: str | None, default_market: str, strict: bool) -> _Site | None:
    """(endpoint, market, path, plan) of a request to ``url`` the first tier can judge; None when it cannot (the
    endpoint unknown by path or hint, a contract it does not model, a path that is not the market's own)."""
    path, by_path, market = _route(url)
    endpoint = by_path if hint is None else ENDPOINTS.get(hint)
    if endpoint is None:
        return None
    market = market or default_market
    plan = _struct_plan(endpoint.name, market, strict)
    if plan is None or (endpoint.sent_by_merchant and path_problem(endpoint, endpoint.contract(market), path)):
        return None
    return endpoint, market, path, plan


_BAD: Any = object()


def _raw_header_verdict(raw: msgspec.Raw, memo: bool) -> Any:
    """``_header_verdict`` of a record's header set, from its JSON text; ``_BAD`` when it is not of the forms the
    first tier takes. Remembered by the text when ``memo``."""
    text = bytes(raw)
    found = _HEADERS.get(text, _UNSEEN) if memo else _UNSEEN
    if found is _UNSEEN:
        try:
            found = _header_verdict(_decode_headers(text))
        except _MsgspecError:
            found = _BAD
        if memo:
            if len(_HEADERS) >= _MEMO_ENTRIES:
                _HEADERS.clear()
            _HEADERS[text] = found
    return found


def _header_verdict(headers: Any) -> Any:
    """The merchantNo header of a header set whose content type is JSON (None: it has none); ``_NOT_JSON`` when
    the content type is not JSON."""
    found = _headers([list(h) for h in headers] if type(headers) is list else headers)
    if found is None or not is_json_content_type(found.get("content-type")):
        return _NOT_JSON
    return found.get("merchantno")


def _by_structs(line: bytes, options: JudgeOptions) -> Clean | BadSign | Skipped | None:
    """A ``Clean`` record, ``BadSign`` or ``SKIPPED`` when the first tier can prove it; None otherwise (the
    general tier then decides)."""
    try:
        record = _decode_record(line)
    except _MsgspecError:
        return None
    req, resp = record.request, record.response
    memo = len(line) <= _MEMO_TEXT
    merchant = _raw_header_verdict(req.headers, memo)
    if merchant is _BAD or (resp is not None and _raw_header_verdict(resp.headers, memo) is _BAD):
        return None
    return _by_structs_parts(req.url, record.endpoint, req.method, req.body, record.time, True, resp, options, memo,
                             merchant)


def _by_structs_parts(url: str, hint: str | None, method: str, text: str, time: Any, capture_time: bool,
                      resp: _Response | None, options: JudgeOptions, memo: bool,
                      merchant: Any) -> Clean | BadSign | Skipped | None:
    """The first tier on one exchange's parts: ``time`` is a capture's (``capture_time``) or epoch seconds;
    ``memo``: the URL is short enough to be remembered; ``merchant``: what ``_header_verdict`` says of the
    request's headers."""
    key = (url, hint, options.market, options.strict_tables)
    site = _SITES.get(key, _UNSEEN) if memo else _site(*key)
    if site is _UNSEEN:
        site = _site(*key)
        if len(_SITES) >= _MEMO_ENTRIES:
            _SITES.clear()
        _SITES[key] = site
    if site is None:
        return SKIPPED if hint is None and not worth_judging(url, text) else None
    endpoint, market, path, plan = site
    if method.upper() != "POST":
        return None
    if merchant is _NOT_JSON:
        return None
    if plan.needs_merchant and (merchant is None or not merchant.strip()
                                or (options.merchant_no is not None and merchant != options.merchant_no)):
        return None
    try:
        when = _epoch(time) if capture_time else time
    except RecordError:
        return None

    # the body: decoded against its Struct, then what the decoder cannot check
    checker = plan.request
    if "\\" in text and ('\\"' in text or "\\\\" in text):  # _plain_text, less its nesting count: a Struct cannot nest
        return None
    try:
        body = checker.decode(text)
    except _MsgspecError:
        return None
    checked = checker.check(body, text)
    if checked is None:
        return None
    values, has_int = checked
    sign = values[-1]
    secret = options.secret
    bad_sign = False
    if secret is None:
        if not checker.sign_shape(sign):
            return None
    else:
        signed = values[:-1]
        if has_int:  # rendered by the reference (String.valueOf), as the general tier does
            canonical = canonical_string({k[:-1]: v for k, v in zip(checker.prefixes, signed, strict=True)
                                          if v is not UNSET})
        else:  # "key=" and value of each non-empty string, in signing order: joined in C (the two tuples come
            # from the same field list, so zip's strict check, a fifth of the join's cost, is left out)
            canonical = "".join(chain.from_iterable(compress(zip(checker.prefixes, signed), signed)))  # noqa: B905
        bad_sign = not (sign.isascii() and compare_digest(md5_hex(canonical + secret.reveal()), sign))
        if bad_sign:
            # Clean but for the sign, if the rest holds: the diagnosis needs the body as sent (its key order),
            # which orjson gives; an integer it would read otherwise (past 64 bits) leaves it to the general tier.
            if has_int or not plan.diagnoses or not checker.sign_shape(sign):
                return None
        elif not checker.digest_is_shape and not checker.sign_shape(sign):
            return None
    if endpoint.checks_skew and timestamp_skew_exceeded(getattr(body, "timestamp", None), when, options):
        return None

    # the answer
    platform = None
    if resp is not None:
        reply = resp.body
        if not reply or ("\\" in reply and ('\\"' in reply or "\\\\" in reply)):
            return None
        try:
            answer = plan.response.decode(reply)
        except _MsgspecError:
            return None
        if plan.response.check(answer, reply) is None:
            return None
        data = getattr(answer, "data", None)
        if getattr(answer, "code", None) == "0000" and data is not None and type(data) is not bool:
            for echoed_field in plan.echo:  # contract.endpoints._answers.echoed, on the Structs
                sent, returned = getattr(body, echoed_field, UNSET), getattr(data, echoed_field, UNSET)
                if sent is not UNSET and returned is not UNSET and sent != returned:
                    return None
            if endpoint.unique_platform_trade_no:
                found = getattr(data, "platFormTradeNo", None)
                platform = found if type(found) is str and found else None
    trade_no = getattr(body, "tradeNo", None)
    if endpoint.trade_no_space is None or type(trade_no) is not str or not trade_no:
        trade_no = None
    clean = _new_clean(Clean, (endpoint.name, market, plan.variant, merchant, trade_no, platform, method, path))
    if bad_sign:
        return BadSign(clean, _loads(text), sign)
    return clean


# --- for the doors that judge one request at a time (the plugin's fake, serve) ---


def clean_request_verdict(exchange: Exchange, options: JudgeOptions) -> Verdict | None:
    """``judge_exchange``'s verdict on a request without an answer, when either tier proves it clean;
    None when it does not (then ``judge_exchange`` decides and explains). ``tests/test_fastpath_family.py``
    holds the two to the same verdict, field for field."""
    req = exchange.request
    raw = req.body
    if exchange.response is not None or req.parsed is not NOT_PARSED or type(raw) is not bytes:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    headers = req.headers  # header_map's: names lower-cased, the first value kept (as _headers would make them)
    merchant = headers.get("merchantno") if is_json_content_type(headers.get("content-type")) else _NOT_JSON
    fast = _by_structs_parts(req.url, exchange.endpoint, req.method, text, exchange.time, False, None, options,
                             len(req.url) <= _MEMO_TEXT, merchant)
    if fast is None:
        fast = _accept(exchange.endpoint, req.method, req.url, headers, text, None, None, exchange.time, options)
    if type(fast) is not Clean:
        return None  # a wrong sign is named by the diagnosis, which the explaining path runs
    body = _loads(text)
    if float in map(type, body.values()):
        return None  # an integer past 64 bits, which orjson reads as a float and the judge as an integer
    return Verdict(findings=[], endpoint=fast.endpoint, market=fast.market, variant=fast.variant,
                   merchant_no=fast.merchant_no, trade_no=fast.trade_no, body=body, body_is_object=True)
