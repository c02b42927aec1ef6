"""Hypothesis strategies for request bodies of every endpoint and market: valid ones, and broken ones by named
mutation. Generated from the registry: each field's values come from its market's refinements (listed values,
patterns, formats, bounds), so they cannot drift from the schemas.

Public API for users' own tests. Nothing is drawn at import time. Every invalid example carries exactly one
labelled defect (a :class:`Mutation`), so a failing test shrinks to a small body with a name you can read.

    from hypothesis import given
    from vexora_conformance import strategies as vst

    @given(vst.valid_bodies(secret="test-secret"))                       # Mexico's Checkout
    def test_my_client_accepts(body): ...

    @given(vst.invalid_bodies("test-secret", endpoint="payout", market="bangladesh"))
    def test_my_client_refuses(mutation_and_body): ...
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from hypothesis import strategies as st

from .contract import signing
from .contract.endpoint import Endpoint
from .contract.markets import DEFAULT
from .contract.registry import endpoint as endpoint_named
from .contract.schema.generate import DOC_TYPES, EXAMPLE_TYPES
from .contract.schema.tables import Contract, Field, Strength
from .contract.signing.diagnosis import MISTAKES, recipe_for, sign_with
from .core.findings import Kind

__all__ = [
    "MUTATIONS",
    "Mutation",
    "contract_params",
    "edge_params",
    "invalid_bodies",
    "mutated",
    "mutations_for",
    "signable_params",
    "valid_bodies",
]

SAFE_TEXT = st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"])
hosts = st.sampled_from(["merchant.example", "shop.example.mx", "api.example.com"])
paths = st.from_regex(r"[a-z0-9_/-]{0,20}", fullmatch=True)
names = st.text(SAFE_TEXT, min_size=1, max_size=30).filter(str.strip)
_WINDOW_MS = 60_000  # valid timestamps lie within a minute of the clock, far inside the judge's skew window


def urls(https_only: bool = False) -> st.SearchStrategy[str]:
    schemes = st.just("https") if https_only else st.sampled_from(["https", "http"])
    return st.builds(lambda scheme, host, path: f"{scheme}://{host}/{path}", schemes, hosts, paths)


def emails(domain: str | None = None) -> st.SearchStrategy[str]:
    return st.builds(lambda user, host: f"{user}@{host}", st.from_regex(r"[a-z0-9._]{1,12}", fullmatch=True),
                     st.just(domain) if domain else hosts)


def timestamps(clock: Callable[[], float] = time.time) -> st.SearchStrategy[int]:
    """Milliseconds near ``clock()``, read when each example is drawn (a replayed example is fresh again)."""
    return st.integers(-_WINDOW_MS, _WINDOW_MS).map(lambda d: int(clock() * 1000) + d)


def _inner(pattern: str) -> str:
    """A JSON Schema pattern for ``from_regex(fullmatch=True)``: without its own anchors."""
    return pattern.removeprefix("^").removesuffix("$")


def _rules(contract: Contract, name: str, strict_tables: bool) -> dict[str, Any]:
    """keyword -> value of what a valid value must (and, to stay free of warnings, should) satisfy."""
    out: dict[str, Any] = {}
    for ref in contract.refinements_for(f"body.{name}"):
        if ref.strength is Strength.SHOULD or ref.keyword not in out:
            out[ref.keyword] = ref.value
    return out


def _amounts(rules: dict[str, Any], json_type: Any) -> st.SearchStrategy[Any]:
    low = int(rules.get("minimum", 1))
    whole = st.integers(min_value=low, max_value=max(low, 10**6) * 10)
    if json_type == "number":
        return whole
    pattern = rules.get("pattern", "")
    if r"\." in pattern:  # decimals allowed: sometimes write them, within the places allowed
        places = 2 if "{1,2}" in pattern else 1
        cents = st.integers(0, 10**places - 1).map(lambda c: f".{c:0{places}d}")
        return st.builds(lambda n, c: f"{n}{c}", whole, st.one_of(st.just(""), cents))
    return whole.map(str)


def _value(contract: Contract, field: Field, strict_tables: bool, clock: Callable[[], float],
           samples: dict[str, tuple[str, ...]]) -> st.SearchStrategy[Any]:
    rules = _rules(contract, field.name, strict_tables)
    json_type = DOC_TYPES[field.doc_type]
    conflict = contract.conflict_for(f"body.{field.name}")
    other = EXAMPLE_TYPES.get(conflict.example_type) if conflict is not None and not strict_tables else None
    if field.name == "timestamp":
        ts = timestamps(clock)
        readings = [t for t in (json_type, other) if t in ("integer", "string")] or ["string"]
        return st.sampled_from(readings).flatmap(lambda t: ts if t == "integer" else ts.map(str))
    if field.name == "amount":
        return _amounts(rules, json_type)
    if "enum" in rules:
        return st.sampled_from(rules["enum"])
    if field.name in samples:
        return st.sampled_from(samples[field.name])
    if rules.get("format") == "email":
        domain = "gmail.com" if "gmail" in str(rules.get("pattern", "")) else None
        return emails(domain)
    if rules.get("format") == "uri" or field.name.endswith("Url"):
        return urls(https_only="https://" in str(rules.get("pattern", "")) and "s?" not in str(rules["pattern"]))
    if "pattern" in rules:
        return st.from_regex(_inner(rules["pattern"]), fullmatch=True)
    if json_type == "integer":
        return st.integers(0, 10**9)
    if json_type == "number":
        return st.integers(0, 10**9)
    low, high = int(rules.get("minLength", 1)), int(rules.get("maxLength", 32))
    if field.name == "tradeNo":
        return st.from_regex(r"20[0-9]{12}[0-9]{4,8}", fullmatch=True).map(lambda t: t[:high])
    return st.text(SAFE_TEXT, min_size=low, max_size=max(low, min(high, 30))).filter(
        lambda t: t.strip() == t and t != "")


@cache
def _fields(endpoint: str, market: str, strict_tables: bool,
            clock: Callable[[], float]) -> tuple[tuple[str, bool, st.SearchStrategy[Any]], ...]:
    """(name, required, the strategy of its values) for each body field of a contract, built once."""
    ep = endpoint_named(endpoint)
    contract = ep.contract(market)
    return tuple((f.name, f.required, _value(contract, f, strict_tables, clock, dict(ep.samples)))
                 for f in contract.table("body") if f.name != "sign")


@st.composite
def valid_bodies(draw: st.DrawFn, secret: signing.Secret | str | None = None,
                 timestamp_as_string: bool | None = None, *, endpoint: str = "checkout", market: str = DEFAULT,
                 strict_tables: bool = False, clock: Callable[[], float] = time.time) -> dict[str, Any]:
    """Bodies the market's page documents as valid, signed with ``secret`` (or a random secret when None).

    Every required field, each optional one sometimes; values from the field's refinements (and what the page
    advises, so a valid body raises no warning either); the timestamp near ``clock()``. ``timestamp_as_string``:
    True sends it as a string, False as a number, None draws what the page's readings allow.
    """
    body: dict[str, Any] = {}
    for name, required, values in _fields(endpoint, market, strict_tables, clock):
        if required or draw(st.booleans()):
            body[name] = draw(values)
    if timestamp_as_string is not None and "timestamp" in body:
        body["timestamp"] = str(body["timestamp"]) if timestamp_as_string else int(body["timestamp"])
    signer: signing.Secret | str = secret if secret is not None else draw(st.text(SAFE_TEXT, min_size=1, max_size=32))
    body["sign"] = signing.sign(body, signer)
    return body


@dataclass(frozen=True)
class Mutation:
    """One labelled defect: what the judge must report (rule id and JSON pointer)."""

    id: str
    rule: str
    pointer: str


def _accepts(contract: Contract, name: str, json_type: str) -> bool:
    """Whether the field's default reading takes a value of this JSON type (its table's, or a conflict's)."""
    row = next(f for f in contract.table("body") if f.name == name)
    conflict = contract.conflict_for(f"body.{name}")
    return json_type in (DOC_TYPES[row.doc_type], EXAMPLE_TYPES.get(conflict.example_type if conflict else ""))


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"-\1", name).lower()


@cache
def mutations_for(endpoint: str = "checkout", market: str = DEFAULT) -> tuple[Mutation, ...]:
    """Every labelled defect the market's contract can show, each with the rule it must raise."""
    ep = endpoint_named(endpoint)
    c = ep.contract(market)

    def m(ident: str, kind: Kind, field: str) -> Mutation:
        return Mutation(ident, ep.rule(kind).id, f"/{field}")

    out: list[Mutation] = []
    for f in c.table("body"):
        conflict = c.conflict_for(f"body.{f.name}")
        if f.required and not (conflict is not None and conflict.example_type == "absent"):
            out.append(m(f"missing-{f.name}", Kind.SIGN_MISSING if f.name == "sign" else Kind.REQUIRED, f.name))
    amounts = {(r.strength, r.keyword): r.value for r in c.refinements_for("body.amount")}
    if any(f.name == "amount" for f in c.table("body")) and _accepts(c, "amount", "string"):
        must = amounts.get((Strength.MUST, "pattern"))
        if must is not None:
            out.append(m("three-decimals-amount" if r"\." in must else "decimal-amount", Kind.AMOUNT, "amount"))
            out.append(m("empty-amount", Kind.AMOUNT, "amount"))
        if (Strength.SHOULD, "pattern") in amounts and (must is None or r"\." in must):
            out.append(m("decimal-amount", Kind.ADVICE, "amount"))  # allowed, but the page advises against it
        if not c.conflict_for("body.amount"):
            out.append(m("amount-number", Kind.TYPE, "amount"))
    if any(r.strength is Strength.SHOULD and "gmail" in str(r.value) for r in c.refinements_for("body.email")):
        out.append(m("advised-email", Kind.ADVICE, "email"))
    for ref in c.refinements:
        name = ref.field[5:]
        if not ref.field.startswith("body.") or ref.strength is not Strength.MUST or name in ("sign", "amount"):
            continue
        if ref.keyword == "enum":
            out.append(m(f"unknown-{_kebab(name)}", Kind.ENUM, name))
        elif ref.keyword == "format" and ref.value == "email":
            out.append(m(f"bad-{_kebab(name)}", Kind.FORMAT, name))
        elif ref.keyword == "pattern" and name.endswith("Url"):
            out.append(m(f"empty-{_kebab(name)}", Kind.FORMAT, name))
            if name == "returnUrl":
                out.append(m("escaped-return-url", Kind.FORMAT, name))
        elif ref.keyword == "pattern" and name == "timestamp":
            # A string where only the table's integer is accepted is a type error, not a format one.
            kind = Kind.FORMAT if _accepts(c, name, "string") else Kind.TYPE
            out.append(m("bad-timestamp", kind, name))
            out.append(m("seconds-timestamp", Kind.FORMAT, name))
        elif ref.keyword == "pattern" and name not in ("tradeNo",):
            out.append(m(f"bad-{_kebab(name)}", Kind.FORMAT, name))
    out += [m("uppercase-sign", Kind.SIGN_FORMAT, "sign"), m("short-sign", Kind.SIGN_FORMAT, "sign"),
            m("number-sign", Kind.TYPE, "sign"), m("wrong-secret", Kind.SIGN_MISMATCH, "sign")]
    # uppercase-hex breaks the format first; secret-trimmed is a property of the secret, not of a body.
    out += [m(f"signer-{x.id}", Kind.SIGN_MISMATCH, "sign") for x in MISTAKES
            if x.id not in ("uppercase-hex", "secret-trimmed")]
    return tuple(dict((x.id, x) for x in out).values())


MUTATIONS = mutations_for()  # Mexico's Checkout, as before


def _broken_value(ident: str, current: Any) -> Any:
    if ident == "decimal-amount":
        return str(current) + ".50"
    if ident == "three-decimals-amount":
        return str(current).split(".")[0] + ".505"
    if ident == "empty-amount":
        return ""
    if ident == "amount-number":
        return int(float(current))
    if ident.startswith("unknown-"):
        return "not-a-documented-value"
    if ident == "bad-timestamp":
        return "abc"  # a string: wrong in format, or in type where the table takes only numbers
    if ident == "seconds-timestamp":
        return str(int(current) // 1000) if isinstance(current, str) else int(current) // 1000
    if ident.startswith("empty-"):
        return ""
    if ident == "escaped-return-url":
        return "https:\\/\\/merchant.example\\/done"
    if ident == "advised-email":
        return "someone@example.com"
    if ident.startswith("bad-"):
        return "not valid\x20here"
    raise KeyError(ident)


def mutated(body: dict[str, Any], mutation_id: str, secret: signing.Secret | str,
            merchant_no: str = "1000000001", *, endpoint: str = "checkout", market: str = DEFAULT) -> dict[str, Any]:
    """``body`` with one defect applied and re-signed so that only that defect shows."""
    m = {x.id: x for x in mutations_for(endpoint, market)}[mutation_id]
    out = dict(body)
    field = m.pointer[1:]
    resign = True
    if m.id.startswith("missing-"):
        out.pop(field, None)
        resign = field != "sign"
    elif not m.id.endswith("-sign") and m.id != "wrong-secret" and not m.id.startswith("signer-"):
        out[field] = _broken_value(m.id, out.get(field, "300"))
    if resign:
        out["sign"] = signing.sign(out, secret)
    if m.id == "uppercase-sign":
        out["sign"] = out["sign"].upper()
    elif m.id == "short-sign":
        out["sign"] = out["sign"][:31]
    elif m.id == "number-sign":
        out["sign"] = int(out["sign"][:12], 16)  # a JSON number where the table says String
    elif m.id == "wrong-secret":
        out["sign"] = signing.sign(out, signing.as_secret(secret).reveal() + "-wrong")
    elif m.id.startswith("signer-"):
        out["sign"] = sign_with(out, secret, recipe_for(m.id[len("signer-"):]), merchant_no)
    return out


# Mutations that change nothing on some bodies (a signer mistake needs the trait it trips on).
_TRAITS: dict[str, dict[str, Any]] = {
    "signer-empty-included": {"remark": ""},
    "signer-null-skipped": {"remark": None},
    "signer-values-trimmed": {"remark": " padded "},
    "signer-url-encoded-values": {"remark": "a b&c"},
    "signer-case-insensitive-sort": {"Zeta": "z"},
    "signer-codepoint-order": {"\uFF21": "x", "\U0001F600": "y"},
    "signer-insertion-order": {"zzExtra": "1", "aaExtra": "2"},  # written out of order, whatever the table's
    "signer-ampersand-joined": {"aaExtra": "1"},  # two pairs at least, for a joiner to show
    "signer-boolean-as-digit": {"promo": True},
    "signer-nested-skipped": {"meta": {"a": 1}},
    "signer-nested-as-js-string": {"meta": {"a": 1}},
    "signer-number-as-js": {"rate": 300.0},
    "signer-integer-precision-lost": {"big": 2**60 + 1},
}


@st.composite
def invalid_bodies(draw: st.DrawFn, secret: signing.Secret | str, mutations: tuple[str, ...] | None = None, *,
                   endpoint: str = "checkout", market: str = DEFAULT) -> tuple[Mutation, dict[str, Any]]:
    """``(mutation, body)``: a valid body of the market's contract with exactly one labelled defect."""
    by_id = {x.id: x for x in mutations_for(endpoint, market)}
    ident = draw(st.sampled_from(mutations or tuple(by_id)))
    body = draw(valid_bodies(secret=secret, endpoint=endpoint, market=market))
    field = by_id[ident].pointer[1:]
    if field not in body and not ident.startswith(("missing-", "signer-")) and field != "sign":
        # The defect is in an optional field: send the field, valid, then break it.
        contract = endpoint_named(endpoint).contract(market)
        row = next(f for f in contract.table("body") if f.name == field)
        body[field] = draw(_value(contract, row, False, time.time, dict(endpoint_named(endpoint).samples)))
    if ident in _TRAITS:
        body = {**body, **_TRAITS[ident]}
    return by_id[ident], mutated(body, ident, secret, endpoint=endpoint, market=market)


def endpoint_and_market() -> st.SearchStrategy[tuple[Endpoint, str]]:
    """Any merchant-sent endpoint of the registry, with any market whose page it has (or Mexico's shared)."""
    from .contract.registry import ENDPOINTS

    pairs = [(e, m) for e in ENDPOINTS.values() if e.sent_by_merchant for m in (*e.spec.markets, "argentina")]
    return st.sampled_from(pairs)


# --- for the signer's own property tests and for check-signer's edge tier ---

ANY_CHAR = st.characters(codec="utf-8", exclude_categories=["Cs"])
keys = st.text(ANY_CHAR, min_size=1, max_size=8)
# What an unknown field of a real request is called: ASCII, as every documented field is.
ascii_keys = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=8)
scalar_values = st.one_of(
    st.text(ANY_CHAR, max_size=20),
    st.sampled_from(["", " ", "\t", "null"]),
    st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
    st.booleans(),
    st.none(),
)


def signable_params() -> st.SearchStrategy[dict[str, Any]]:
    """Flat bodies with unicode keys and string/integer/boolean/null values: the reference's whole domain."""
    return st.dictionaries(keys, scalar_values, max_size=10)


string_values = st.one_of(
    st.text(ANY_CHAR, max_size=20),
    st.sampled_from(["", " ", "\t", "  padded  ", "a b&c=d", "null"]),
)
_numbers = st.one_of(
    st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
    st.integers(min_value=2**53 + 1, max_value=2**64),  # past what a double holds exactly (JavaScript)
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(10**6), max_value=10**6).map(float),  # integral floats: 300.0
    st.sampled_from([1e21, 1.5, 0.1, 1e-7, 300.5]),
)
_flat = st.one_of(st.none(), st.booleans(), _numbers, st.text(ANY_CHAR, max_size=5))
non_string_values = st.one_of(
    st.none(), st.booleans(), _numbers,
    st.lists(_flat, max_size=3), st.dictionaries(st.text(ANY_CHAR, min_size=1, max_size=3), _flat, max_size=2),
)


def _signing_clock() -> float:
    """A fixed clock for bodies that only a signer sees: the same examples, and reports, on every run."""
    return 1764000000.0


def contract_params() -> st.SearchStrategy[dict[str, Any]]:
    """What a real request can contain, all of it decided by the published rule whatever the client's language:
    documented fields and unknown ASCII keys, string values only (the timestamp too; empty, padded, unicode)."""
    return st.builds(lambda base, extra: {**base, **extra},
                     valid_bodies(timestamp_as_string=True, clock=_signing_clock),
                     st.dictionaries(ascii_keys, string_values, max_size=4))


def edge_params() -> st.SearchStrategy[dict[str, Any]]:
    """Valid bodies plus at least one value that is not a string (null, boolean, integer, big integer,
    fractional or integral float, array, object), and keys of any character (an astral key sorts differently by
    code point and by UTF-16): renderings and orders that depend on the language."""
    return st.builds(lambda base, extra, more: {**base, **extra, **more}, valid_bodies(clock=_signing_clock),
                     st.dictionaries(keys, non_string_values, min_size=1, max_size=3),
                     st.dictionaries(keys, string_values, max_size=2))
