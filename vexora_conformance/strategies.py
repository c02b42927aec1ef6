"""Hypothesis strategies for Checkout request bodies: valid ones, and broken ones by named mutation.

Public API for users' own tests. Nothing is drawn at import time. Every
invalid example carries exactly one labelled defect (a :class:`Mutation`), so
a failing test shrinks to a small body with a name you can read.

    from hypothesis import given
    from vexora_conformance import strategies as vst

    @given(vst.valid_bodies(secret="test-secret"))
    def test_my_client_accepts(body): ...
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from .contract import signing
from .contract.signing.diagnosis import MISTAKES, recipe_for, sign_with

__all__ = [
    "MUTATIONS",
    "Mutation",
    "contract_params",
    "edge_params",
    "invalid_bodies",
    "mutated",
    "signable_params",
    "valid_bodies",
]

SAFE_TEXT = st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"])
# Timestamps in milliseconds between 2001-09-09 and 2286-11-20: always 13 digits.
timestamps = st.integers(min_value=10**12, max_value=10**13 - 1)
amounts = st.integers(min_value=1, max_value=10**9).map(str)
trade_nos = st.from_regex(r"\A20[0-9]{12}[0-9]{4,8}\Z")
hosts = st.sampled_from(["merchant.example", "shop.example.mx", "api.example.com"])
urls = st.builds(lambda scheme, host, path: f"{scheme}://{host}/{path}", st.sampled_from(["https", "http"]), hosts,
                 st.from_regex(r"\A[a-z0-9_/-]{0,20}\Z"))
emails = st.builds(lambda user, host: f"{user}@{host}", st.from_regex(r"\A[a-z0-9._]{1,12}\Z"), hosts)
mobiles = st.from_regex(r"\A[0-9]{10,13}\Z")
names = st.text(SAFE_TEXT, min_size=1, max_size=30)


@st.composite
def valid_bodies(draw: st.DrawFn, secret: signing.Secret | str | None = None,
                 timestamp_as_string: bool | None = None) -> dict[str, Any]:
    """Documented-valid Checkout bodies, signed with ``secret`` (or a random secret when None).

    ``timestamp_as_string``: True sends it like the page's example, False like its
    table (``long``), None draws either.
    """
    ts = draw(timestamps)
    as_string = draw(st.booleans()) if timestamp_as_string is None else timestamp_as_string
    body: dict[str, Any] = {
        "timestamp": str(ts) if as_string else ts,
        "tradeNo": draw(trade_nos),
        "amount": draw(amounts),
        "notifyUrl": draw(urls),
    }
    optional = {
        "mobile": mobiles,
        "email": emails,
        "payer": names,
        "wayCode": st.sampled_from(["store", "va"]),
        "returnUrl": urls,
        "remark": st.text(SAFE_TEXT, min_size=1, max_size=40),
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            body[name] = draw(strategy)
    signer: signing.Secret | str = secret if secret is not None else draw(st.text(SAFE_TEXT, min_size=1, max_size=32))
    body["sign"] = signing.sign(body, signer)
    return body


@dataclass(frozen=True)
class Mutation:
    """One labelled defect: what the judge must report (rule id and JSON pointer)."""

    id: str
    rule: str
    pointer: str


def _drop(field: str) -> tuple[Mutation, Any]:
    return Mutation(f"missing-{field}", "sign.missing" if field == "sign" else "request.required", f"/{field}"), None


MUTATIONS: tuple[Mutation, ...] = (
    *(_drop(f)[0] for f in ("sign", "timestamp", "tradeNo", "amount", "notifyUrl")),
    Mutation("decimal-amount", "request.format", "/amount"),
    Mutation("amount-number", "request.type", "/amount"),
    Mutation("empty-amount", "request.format", "/amount"),
    Mutation("unknown-way-code", "request.enum", "/wayCode"),
    Mutation("uppercase-sign", "sign.format", "/sign"),
    Mutation("short-sign", "sign.format", "/sign"),
    Mutation("bad-timestamp", "request.format", "/timestamp"),
    Mutation("seconds-timestamp", "request.format", "/timestamp"),
    Mutation("empty-notify-url", "request.format", "/notifyUrl"),
    Mutation("escaped-return-url", "request.format", "/returnUrl"),
    Mutation("bad-email", "request.format", "/email"),
    Mutation("wrong-secret", "sign.mismatch", "/sign"),
    # uppercase-hex breaks the format first; secret-trimmed is a property of the secret, not of a body.
    *(Mutation(f"signer-{m.id}", "sign.mismatch", "/sign") for m in MISTAKES
      if m.id not in ("uppercase-hex", "secret-trimmed")),
)
_BY_ID = {m.id: m for m in MUTATIONS}


def mutated(body: dict[str, Any], mutation_id: str, secret: signing.Secret | str,
            merchant_no: str = "1000000001") -> dict[str, Any]:
    """``body`` with one defect applied and re-signed so that only that defect shows."""
    m = _BY_ID[mutation_id]
    out = dict(body)
    field = m.pointer[1:]
    resign = True
    if m.id.startswith("missing-"):
        out.pop(field, None)
        resign = field != "sign"
    elif m.id == "decimal-amount":
        out["amount"] = out["amount"] + ".50"
    elif m.id == "amount-number":
        out["amount"] = int(out["amount"])
    elif m.id == "empty-amount":
        out["amount"] = ""
    elif m.id == "unknown-way-code":
        out["wayCode"] = "oxxo"
    elif m.id == "bad-timestamp":
        out["timestamp"] = "abc"
    elif m.id == "seconds-timestamp":
        out["timestamp"] = str(int(out["timestamp"]) // 1000)
    elif m.id == "empty-notify-url":
        out["notifyUrl"] = ""
    elif m.id == "escaped-return-url":
        out["returnUrl"] = "https:\\/\\/merchant.example\\/done"
    elif m.id == "bad-email":
        out["email"] = "not-an-email"
    if resign:
        out["sign"] = signing.sign(out, secret)
    if m.id == "uppercase-sign":
        out["sign"] = out["sign"].upper()
    elif m.id == "short-sign":
        out["sign"] = out["sign"][:31]
    elif m.id == "wrong-secret":
        out["sign"] = signing.sign(out, signing.as_secret(secret).reveal() + "-wrong")
    elif m.id.startswith("signer-"):
        out["sign"] = sign_with(out, secret, recipe_for(m.id[len("signer-"):]), merchant_no)
    return out


# Mutations that change nothing on some bodies (a signer mistake needs the trait it trips on).
_TRAITS: dict[str, dict[str, Any]] = {
    "signer-empty-included": {"remark": ""},
    "signer-null-skipped": {"remark": None},
    "signer-values-trimmed": {"payer": " padded "},
    "signer-url-encoded-values": {"remark": "a b&c"},
    "signer-case-insensitive-sort": {"Zeta": "z"},
    "signer-codepoint-order": {"\uFF21": "x", "\U0001F600": "y"},
    "signer-boolean-as-digit": {"promo": True},
    "signer-nested-skipped": {"meta": {"a": 1}},
    "signer-nested-as-js-string": {"meta": {"a": 1}},
    "signer-number-as-js": {"rate": 300.0},
    "signer-integer-precision-lost": {"big": 2**60 + 1},
}


@st.composite
def invalid_bodies(draw: st.DrawFn, secret: signing.Secret | str,
                   mutations: tuple[str, ...] | None = None) -> tuple[Mutation, dict[str, Any]]:
    """``(mutation, body)``: a valid body with exactly one labelled defect."""
    ident = draw(st.sampled_from(mutations or tuple(_BY_ID)))
    body = draw(valid_bodies(secret=secret))
    if ident == "escaped-return-url" or ident == "bad-email":
        body.setdefault("returnUrl" if ident == "escaped-return-url" else "email", "x")
    if ident in _TRAITS:
        trait = _TRAITS[ident]
        body = {**body, **trait}
    return _BY_ID[ident], mutated(body, ident, secret)


# --- for the signer's own property tests and for check-signer's edge tier ---

ANY_CHAR = st.characters(codec="utf-8", exclude_categories=["Cs"])
keys = st.text(ANY_CHAR, min_size=1, max_size=8)
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


def contract_params() -> st.SearchStrategy[dict[str, Any]]:
    """String values only (the timestamp too; extras empty, padded, unicode-keyed): the published rule decides
    every one of them, whatever the client's language."""
    return st.builds(lambda base, extra: {**base, **extra}, valid_bodies(timestamp_as_string=True),
                     st.dictionaries(keys, string_values, max_size=4))


def edge_params() -> st.SearchStrategy[dict[str, Any]]:
    """Valid bodies plus at least one value that is not a string (null, boolean, integer, big integer,
    fractional or integral float, array, object): renderings that depend on the language."""
    return st.builds(lambda base, extra, more: {**base, **extra, **more}, valid_bodies(),
                     st.dictionaries(keys, non_string_values, min_size=1, max_size=3),
                     st.dictionaries(keys, string_values, max_size=2))
