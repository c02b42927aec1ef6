"""Name the client mistake behind a wrong ``sign``.

Each known mistake is a small change to the reference recipe. Diagnosis
recomputes the sign under every single mistake and every compatible pair, and
reports those that reproduce the observed value. A mistake that changes
nothing for this body (say ``empty-included`` with no empty value) cannot be
told apart from the reference and is never reported.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import Any
from urllib.parse import quote_plus

from . import signing


@dataclass(frozen=True)
class Recipe:
    """How a signer builds its sign; the defaults are the provider's reference."""

    order: str = "java"  # java | codepoint | insertion | casefold
    joiner: str = ""
    sign_placeholder: str | None = None  # "null" or "": what the sign key held when the client signed
    include_empty: bool = False
    skip_null: bool = False
    url_encode: bool = False
    trim: bool = False
    secret_at: str = "suffix"  # suffix | prefix | key-param
    upper_hex: bool = False
    merchant_no: bool = False


@dataclass(frozen=True)
class Mistake:
    id: str
    explanation: str
    change: dict[str, Any]
    alternatives: tuple[dict[str, Any], ...] = ()  # other concrete forms of the same mistake


MISTAKES: tuple[Mistake, ...] = (
    Mistake("secret-prefixed", "the app secret is put before the pairs instead of after them", {"secret_at": "prefix"}),
    Mistake("ampersand-joined", "pairs are joined with '&'; the reference joins them with nothing", {"joiner": "&"}),
    Mistake("key-param-secret", "the secret is appended as '&key=SECRET'; the reference appends the bare secret",
            {"secret_at": "key-param"}),
    Mistake("uppercase-hex", "the digest is upper-case hex; the page requires lower case", {"upper_hex": True}),
    Mistake("sign-included", "the sign key (still null or empty when signing) is included in the signed string",
            {"sign_placeholder": "null"}, alternatives=({"sign_placeholder": ""},)),
    Mistake("empty-included", "empty-string values are signed as 'key='; the reference skips them",
            {"include_empty": True}),
    Mistake("null-skipped", "null values are skipped; the reference signs them as 'key=null' (better: send no key)",
            {"skip_null": True}),
    Mistake("insertion-order", "keys are taken in the order they were written, not sorted", {"order": "insertion"}),
    Mistake("case-insensitive-sort", "keys are sorted ignoring case; the reference sorts case-sensitively (Z < a)",
            {"order": "casefold"}),
    Mistake("url-encoded-values", "values are URL-encoded before signing; the reference signs raw values",
            {"url_encode": True}),
    Mistake("merchant-no-included", "the merchantNo header is signed; the reference signs only body fields",
            {"merchant_no": True}),
    Mistake("values-trimmed", "values are trimmed of whitespace before signing; the reference keeps it",
            {"trim": True}),
    Mistake("codepoint-order", "keys are sorted by code point; the reference sorts by UTF-16 code unit (Java)",
            {"order": "codepoint"}),
)
MISTAKE_IDS = tuple(m.id for m in MISTAKES)
_BY_ID = {m.id: m for m in MISTAKES}
HEX32 = re.compile(r"[0-9a-fA-F]{32}")


def _ordered_keys(params: Mapping[str, Any], order: str) -> list[str]:
    keys = list(params)
    if order == "java":
        return sorted(keys, key=signing.java_order_key)
    if order == "codepoint":
        return sorted(keys)
    if order == "casefold":
        return sorted(keys, key=lambda k: k.lower())
    return keys


def _render(value: Any, recipe: Recipe) -> str | None:
    """The text a recipe signs for one value, or None when it skips the key."""
    if value is None and recipe.skip_null:
        return None
    text = signing.render(value)
    if recipe.trim:
        text = text.strip()
    if recipe.url_encode:
        text = quote_plus(text, safe="", errors="replace")  # a lone surrogate must not crash diagnosis
    if text == "" and not recipe.include_empty:
        return None
    return text


class _Body:
    """A body prepared once for many recipes: key orders and renderings are computed on first use."""

    def __init__(self, params: Mapping[str, Any], merchant_no: str | None) -> None:
        self.params = {k: v for k, v in params.items() if k != signing.SIGN_KEY}
        self.merchant_no = merchant_no
        self._orders: dict[tuple[str, bool, bool], list[str]] = {}
        self._texts: dict[tuple[str, bool, bool, bool, bool], str | None] = {}
        self._pairs: dict[tuple[Any, ...], list[str]] = {}

    def _values(self, recipe: Recipe) -> dict[str, Any]:
        body = dict(self.params)
        if recipe.merchant_no and self.merchant_no is not None:
            body["merchantNo"] = self.merchant_no
        if recipe.sign_placeholder is not None:
            body[signing.SIGN_KEY] = None if recipe.sign_placeholder == "null" else ""
        return body

    def pairs(self, recipe: Recipe) -> list[str]:
        key = (recipe.order, recipe.merchant_no, recipe.sign_placeholder, recipe.skip_null, recipe.trim,
               recipe.url_encode, recipe.include_empty)
        cached = self._pairs.get(key)
        if cached is None:
            cached = self._pairs[key] = self._build_pairs(recipe)
        return cached

    def inert(self, mistake: Mistake) -> bool:
        """True when the mistake cannot change this body's signed text, alone or beside any other mistake.

        Conservative: the keys and values other mistakes may add (merchantNo, a null or empty sign
        placeholder) are taken into account, so pruning an inert mistake never loses a candidate.
        """
        texts = [signing.render(v) for v in self.params.values()]
        if self.merchant_no is not None:
            texts.append(self.merchant_no)
        if mistake.id == "null-skipped":
            return all(v is not None for v in self.params.values())
        if mistake.id == "values-trimmed":
            return all(t == t.strip() for t in texts)
        if mistake.id == "url-encoded-values":
            return all(quote_plus(t, safe="", errors="replace") == t for t in texts)
        if mistake.id == "empty-included":
            return all(t.strip() != "" for t in texts)
        order = mistake.change.get("order")
        if order is not None:
            keys = dict.fromkeys([*self.params, "merchantNo", signing.SIGN_KEY])
            return _ordered_keys(keys, order) == _ordered_keys(keys, "java")
        return False

    def _build_pairs(self, recipe: Recipe) -> list[str]:
        body = self._values(recipe)
        order_key = (recipe.order, recipe.merchant_no, recipe.sign_placeholder is not None)
        keys = self._orders.get(order_key)
        if keys is None:
            keys = self._orders[order_key] = _ordered_keys(body, recipe.order)
        flags = (recipe.skip_null, recipe.trim, recipe.url_encode, recipe.include_empty)
        out = []
        for key in keys:
            memo = (key, *flags)
            if key == signing.SIGN_KEY or memo not in self._texts:
                text = _render(body[key], recipe)
                if key == signing.SIGN_KEY and text is None:
                    text = ""  # the mistake is that the sign pair is there at all
                if key != signing.SIGN_KEY:
                    self._texts[memo] = text
            else:
                text = self._texts[memo]
            if text is not None:
                out.append(f"{key}={text}")
        return out


def _preimage(body: _Body, secret: str, recipe: Recipe) -> str:
    """The full hashed text under ``recipe``: it contains the secret, so it is never returned to a caller."""
    joined = recipe.joiner.join(body.pairs(recipe))
    if recipe.secret_at == "prefix":
        return secret + joined
    if recipe.secret_at == "key-param":
        return f"{joined}&key={secret}"
    return joined + secret


def _digest(body: _Body, secret: str, recipe: Recipe) -> str:
    digest = signing.md5_hex(_preimage(body, secret, recipe))
    return digest.upper() if recipe.upper_hex else digest


def sign_with(params: Mapping[str, Any], secret: signing.Secret | str, recipe: Recipe,
              merchant_no: str | None = None) -> str:
    """The sign a client following ``recipe`` would send."""
    return _digest(_Body(params, merchant_no), signing.as_secret(secret).reveal(), recipe)


def recipe_for(*mistake_ids: str) -> Recipe:
    """The reference recipe with the named mistakes applied, in their first form (KeyError on an unknown id)."""
    return recipes_for(*mistake_ids)[0]


@cache
def recipes_for(*mistake_ids: str) -> list[Recipe]:
    """Every concrete recipe for the named mistakes (a mistake may take several forms)."""
    recipes = [Recipe()]
    for ident in mistake_ids:
        m = _BY_ID[ident]
        recipes = [replace(r, **change) for r in recipes for change in (m.change, *m.alternatives)]
    return recipes


def _compatible(a: Mistake, b: Mistake) -> bool:
    return not set(a.change) & set(b.change)


def _candidates(active: list[Mistake]) -> list[tuple[str, ...]]:
    singles: list[tuple[str, ...]] = [(m.id,) for m in active]
    pairs = [(a.id, b.id) for a, b in itertools.combinations(active, 2) if _compatible(a, b)]
    return singles + pairs


@dataclass(frozen=True)
class Diagnosis:
    """What explains an observed sign. ``matches`` holds mistake ids (one id, or two joined by '+')."""

    correct: bool
    expected: str
    matches: tuple[str, ...]
    explanations: tuple[str, ...]

    @property
    def summary(self) -> str:
        if self.correct:
            return "the sign is correct"
        if not self.matches:
            return ("no known mistake reproduces this sign: most likely the secret differs, "
                    "or a value was changed after signing")
        return "; ".join(f"{m}: {e}" for m, e in zip(self.matches, self.explanations, strict=False))


def diagnose(params: Mapping[str, Any], secret: signing.Secret | str, observed: Any,
             merchant_no: str | None = None) -> Diagnosis:
    """Which known mistake(s) reproduce ``observed``; single mistakes win over pairs."""
    expected = signing.sign(params, secret)
    text = signing.normalise_sign(observed)
    if text is not None and text == expected:
        return Diagnosis(True, expected, (), ())
    found: list[tuple[str, ...]] = []
    if text is None or not HEX32.fullmatch(text):
        return Diagnosis(False, expected, (), ())  # every candidate is 32 hex digits: nothing can match
    prepared = _Body(params, merchant_no)
    key = signing.as_secret(secret).reveal()
    active = [m for m in MISTAKES if not prepared.inert(m)
              and not (m.id == "merchant-no-included" and merchant_no is None)]
    for combo in _candidates(active):
        if len(combo) == 2 and found and len(found[0]) == 1:
            break  # a single mistake explains it: pairs would only add noise
        for recipe in recipes_for(*combo):
            candidate = _digest(prepared, key, recipe)
            if candidate == text and candidate != expected:
                found.append(combo)
                break
    ids = tuple("+".join(c) for c in found)
    explanations = tuple(" and ".join(_BY_ID[i].explanation for i in c) for c in found)
    return Diagnosis(False, expected, ids, explanations)
