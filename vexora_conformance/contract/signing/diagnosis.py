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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import cache, cached_property, lru_cache, partial
from itertools import compress
from operator import add, itemgetter, ne
from typing import Any
from urllib.parse import quote, quote_plus

from . import reference as signing
from .renderings import as_double, js_json, js_number, js_string

MAX_SAFE_INTEGER = 2**53


@dataclass(frozen=True)
class Recipe:
    """How a signer builds its sign; the defaults are the provider's reference."""

    order: str = "java"  # java | codepoint | insertion | casefold
    joiner: str = ""
    sign_placeholder: str | None = None  # "null", "" or "body" (the stale sign it held): what was signed as sign
    include_empty: bool = False
    skip_null: bool = False
    url_encode: str | None = None  # "form" (+ for space), "uri-component" (JS), "raw" (PHP rawurlencode)
    trim: bool = False
    secret_at: str = "suffix"  # suffix | prefix | key-param
    upper_hex: bool = False
    merchant_no: bool = False
    secret_trim: bool = False
    booleans: str = "java"  # java (true/false) | digit (PHP: 1 and "")
    nested: str = "json"  # json | skip | js (String(): [object Object], a,b)
    numbers: str = "java"  # java | js (300.0 -> 300, 1e21 -> 1e+21)
    big_integers: str = "exact"  # exact | double (JSON.parse: rounded past 2^53)

    @property
    def rendering(self) -> tuple[Any, ...]:
        """Everything that decides how one value is rendered (a cache key)."""
        return (self.skip_null, self.trim, self.url_encode, self.include_empty, self.booleans, self.nested,
                self.numbers, self.big_integers)


@dataclass(frozen=True)
class Mistake:
    id: str
    explanation: str
    change: dict[str, Any]
    alternatives: tuple[dict[str, Any], ...] = ()  # other concrete forms of the same mistake


UNCERTAIN = ("; the provider's own rendering of such a value is uncertain too: do not send it "
             "(send strings, or no key)")

MISTAKES: tuple[Mistake, ...] = (
    Mistake("secret-prefixed", "the app secret is put before the pairs instead of after them", {"secret_at": "prefix"}),
    Mistake("ampersand-joined", "pairs are joined with '&'; the reference joins them with nothing", {"joiner": "&"}),
    Mistake("key-param-secret", "the secret is appended as '&key=SECRET'; the reference appends the bare secret",
            {"secret_at": "key-param"}),
    Mistake("uppercase-hex", "the digest is upper-case hex; the page requires lower case", {"upper_hex": True}),
    Mistake("sign-included", "the sign key (null, empty, or a stale sign from a copied or retried body) is "
            "included in the signed string", {"sign_placeholder": "null"},
            alternatives=({"sign_placeholder": ""}, {"sign_placeholder": "body"})),
    Mistake("empty-included", "empty-string values are signed as 'key='; the reference skips them",
            {"include_empty": True}),
    Mistake("null-skipped", "null values are skipped (PHP, TypeScript); the reference signs them as 'key=null'"
            + UNCERTAIN, {"skip_null": True}),
    Mistake("insertion-order", "keys are taken in the order they were written, not sorted", {"order": "insertion"}),
    Mistake("case-insensitive-sort", "keys are sorted ignoring case (toLowerCase, CASE_INSENSITIVE_ORDER); the "
            "reference sorts case-sensitively (Z < a)", {"order": "casefold"}),
    Mistake("url-encoded-values", "values are URL-encoded before signing (+ or %20 for a space); the reference "
            "signs raw values", {"url_encode": "form"},
            alternatives=({"url_encode": "uri-component"}, {"url_encode": "raw"})),
    Mistake("merchant-no-included", "the merchantNo header is signed; the reference signs only body fields",
            {"merchant_no": True}),
    Mistake("values-trimmed", "values are trimmed of whitespace before signing; the reference keeps it",
            {"trim": True}),
    Mistake("codepoint-order", "keys are sorted by code point; the reference sorts by UTF-16 code unit (Java)",
            {"order": "codepoint"}),
    Mistake("secret-trimmed", "white space is stripped from the app secret before signing (PHP trim()); the "
            "reference appends the secret exactly as issued", {"secret_trim": True}),
    Mistake("boolean-as-digit", "true is signed as '1' and false as '' (then skipped), as PHP's (string) cast "
            "does; the reference signs 'true'/'false'" + UNCERTAIN, {"booleans": "digit"}),
    Mistake("nested-skipped", "arrays and objects are left out of the signed string; the reference signs them"
            + UNCERTAIN, {"nested": "skip"}),
    Mistake("nested-as-js-string", "arrays and objects are rendered as JavaScript's String() does ('[object "
            "Object]', 'a,b', an empty array as 'k=')" + UNCERTAIN, {"nested": "js"}),
    Mistake("number-as-js", "numbers are rendered as JavaScript prints them (300.0 as 300, 1e21 as 1e+21)"
            + UNCERTAIN, {"numbers": "js"}),
    Mistake("integer-precision-lost", "integers past 2^53 are rounded to the nearest double before signing "
            "(JSON.parse in JavaScript); the reference signs their exact digits" + UNCERTAIN,
            {"big_integers": "double"}),
)
MISTAKE_IDS = tuple(m.id for m in MISTAKES)
_BY_ID = {m.id: m for m in MISTAKES}
HEX32 = re.compile(r"[0-9a-fA-F]{32}")


def _ordered_keys(params: Mapping[str, Any], order: str) -> list[str]:
    keys = list(params)
    ascii_keys = "".join(keys).isascii()  # then UTF-16 and code-point order agree, and sorting is cheap
    if order == "java":
        return sorted(keys) if ascii_keys else sorted(keys, key=signing.java_order_key)
    if order == "codepoint":
        return sorted(keys)
    if order == "casefold":  # lower case, then compared by UTF-16 code unit: JS and Java both do
        return sorted(keys, key=str.lower) if ascii_keys else \
            sorted(keys, key=lambda k: signing.java_order_key(k.lower()))
    return keys


_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*\Z")  # what no form of URL-encoding changes


def _url_encode(text: str, how: str) -> str:
    # errors="replace": a lone surrogate must not crash diagnosis
    if how == "form":
        return quote_plus(text, safe="", errors="replace")
    if how == "uri-component":  # encodeURIComponent leaves A-Z a-z 0-9 - _ . ! ~ * ' ( ) as they are
        return quote(text, safe="-_.!~*'()", errors="replace")
    return quote(text, safe="-_.~", errors="replace")  # PHP rawurlencode (RFC 3986 unreserved)


def _text_of(value: Any, recipe: Recipe) -> tuple[str | None, bool]:
    """(the text a client's language gives a value, kept even when empty) or (None, _) when it skips the key."""
    if value is None:
        return (None, False) if recipe.skip_null else ("null", False)
    if isinstance(value, bool):
        return ("1" if value else "", False) if recipe.booleans == "digit" else (signing.render(value), False)
    if isinstance(value, (dict, list)):
        if recipe.nested == "skip":
            return None, False
        if recipe.nested == "js":
            return js_string(value), isinstance(value, list)  # JS clients sign an empty array as "k="
        if recipe.numbers == "js" or recipe.big_integers == "double":  # JSON.stringify of JavaScript numbers
            return js_json(value), False
        return signing.render(value), False
    if isinstance(value, float) and recipe.numbers == "js":
        return js_number(value), False
    if isinstance(value, int) and abs(value) > MAX_SAFE_INTEGER and \
            (recipe.big_integers == "double" or recipe.numbers == "js"):  # a JavaScript number is a double
        return js_number(as_double(value)), False
    return signing.render(value), False


def _render(value: Any, recipe: Recipe) -> str | None:
    """The text a recipe signs for one value, or None when it skips the key."""
    text, keep_empty = _text_of(value, recipe)
    if text is None:
        return None
    if recipe.trim:
        text = text.strip()
    if recipe.url_encode:
        text = _url_encode(text, recipe.url_encode)
    if text == "" and not recipe.include_empty and not keep_empty:
        return None
    return text


class _Body:
    """A body prepared once for many recipes: key orders and renderings are computed on first use."""

    def __init__(self, params: Mapping[str, Any], merchant_no: str | None) -> None:
        self.params = {k: v for k, v in params.items() if k != signing.SIGN_KEY}
        stale = params.get(signing.SIGN_KEY)
        self.stale_sign = stale if isinstance(stale, str) and stale else None
        self.merchant_no = merchant_no
        self.texts = [signing.render(v) for v in self.params.values()] + \
            ([merchant_no] if merchant_no is not None else [])
        self._orders: dict[tuple[str, bool, bool], list[str]] = {}
        self._texts: dict[tuple[Any, ...], str | None] = {}
        self._pairs: dict[tuple[Any, ...], list[str]] = {}

    def _values(self, recipe: Recipe) -> dict[str, Any]:
        body = dict(self.params)
        if recipe.merchant_no and self.merchant_no is not None:
            body["merchantNo"] = self.merchant_no
        if recipe.sign_placeholder is not None:
            body[signing.SIGN_KEY] = {"null": None, "": "", "body": self.stale_sign}[recipe.sign_placeholder]
        return body

    def pairs(self, recipe: Recipe) -> list[str]:
        key = (recipe.order, recipe.merchant_no, recipe.sign_placeholder, recipe.rendering)
        cached = self._pairs.get(key)
        if cached is None:
            cached = self._pairs[key] = self._build_pairs(recipe)
        return cached

    def inert(self, mistake: Mistake) -> bool:
        """True when the mistake cannot change this body's signed text, alone or beside any other mistake.

        Conservative: the keys and values other mistakes may add (merchantNo, a null or empty sign
        placeholder) are taken into account, so pruning an inert mistake never loses a candidate.
        """
        values = list(self.params.values())
        texts = self.texts
        if mistake.id == "null-skipped":
            return all(v is not None for v in values)
        if mistake.id == "values-trimmed":
            return all(t == t.strip() for t in texts)
        if mistake.id == "url-encoded-values":
            return all(_UNRESERVED.match(t) for t in texts)
        if mistake.id == "empty-included":
            return all(t.strip() != "" for t in texts) and all(v is not False for v in values)
        if mistake.id == "boolean-as-digit":
            return not any(isinstance(v, bool) for v in values)
        if mistake.id in ("nested-skipped", "nested-as-js-string"):
            return not any(isinstance(v, (dict, list)) for v in values)
        if mistake.id in ("number-as-js", "integer-precision-lost"):
            return all(js_json(v) == signing.render(v) for v in values if not isinstance(v, (str, bool))
                       and v is not None)
        order = mistake.change.get("order")
        if order is not None:
            return _ordered_keys(self._all_keys, order) == self._java_order
        return False

    @cached_property
    def _all_keys(self) -> dict[str, None]:
        """The body's keys and those another mistake may add (merchantNo, a sign placeholder)."""
        return dict.fromkeys([*self.params, "merchantNo", signing.SIGN_KEY])

    @cached_property
    def _java_order(self) -> list[str]:
        return _ordered_keys(self._all_keys, "java")

    @cached_property
    def _same_url_forms(self) -> frozenset[str]:
        """URL-encoding forms that give this body the same text as an earlier form (nothing new to try).

        The forms differ only on a space ("+" or "%20") and on ! * ' ( ) (left alone by encodeURIComponent).
        """
        joined = "".join(self.texts)
        space, marks = " " in joined, any(c in joined for c in "!*'()")
        same = set()
        if not space and not marks:
            same.add("uri-component")
        if not space or not marks:
            same.add("raw")
        return frozenset(same)

    def redundant(self, recipe: Recipe, observed: str) -> bool:
        """A form of a mistake that cannot give anything new here: skipped, so diagnosis stays cheap."""
        if recipe.sign_placeholder == "body" and self.stale_sign in (None, observed):
            return True  # a sign cannot have been computed over itself
        return recipe.url_encode is not None and recipe.url_encode in self._same_url_forms

    def meaningful(self, mistake: Mistake) -> bool:
        """Whether this body shows what the mistake is about (keys with case letters for a case-insensitive
        sort, keys out of order for insertion order, astral keys for code-point order); ranks equal matches."""
        keys = list(self.params)
        if mistake.id == "case-insensitive-sort":
            return any(k != k.lower() for k in keys)
        if mistake.id == "insertion-order":  # keys written in some sorted order point to that sort instead
            return all(keys != _ordered_keys(self.params, order) for order in ("java", "codepoint", "casefold"))
        if mistake.id == "codepoint-order":
            return any(ord(ch) > 0xFFFF for k in keys for ch in k)
        if mistake.id == "number-as-js":
            return any(isinstance(v, float) for v in self.params.values())
        return True

    def _build_pairs(self, recipe: Recipe) -> list[str]:
        body = self._values(recipe)
        order_key = (recipe.order, recipe.merchant_no, recipe.sign_placeholder is not None)
        keys = self._orders.get(order_key)
        if keys is None:
            keys = self._orders[order_key] = _ordered_keys(body, recipe.order)
        flags = recipe.rendering
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
    if recipe.secret_trim:
        secret = secret.strip()
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


# The search's bounds: its cost is (candidates) x (the body's size), and its caches hold each key's text per
# rendering, so a body of 200,000 keys once took 27 s and 2.5 GB. Real requests have a few dozen keys.
MAX_KEYS_PAIRS = 256  # above this, single mistakes only
MAX_KEYS = 1024  # above this, no search: the diagnosis says why
MAX_TEXT = 256 * 1024  # the same bound on the characters of the body's values
MAX_AMBIGUOUS_SHOWN = 5


@dataclass(frozen=True)
class Diagnosis:
    """What explains an observed sign. ``matches`` holds mistake ids (one id, or two joined by '+')."""

    correct: bool
    expected: str
    matches: tuple[str, ...]
    explanations: tuple[str, ...]
    ambiguous: tuple[str, ...] = ()  # "id at /key" for values whose rendering is uncertain (the first few)
    not_hex: bool = False  # the observed sign is not 32 hex digits at all
    cut: str | None = None  # why the search was cut short, when it was

    @property
    def summary(self) -> str:
        if self.correct:
            return "the sign is correct"
        if self.not_hex:
            return "the sign is not 32 lower-case hex digits (an MD5 digest in hex): check how it is encoded"
        if self.matches:
            found = "; ".join(f"{m}: {e}" for m, e in zip(self.matches, self.explanations, strict=False))
            return f"{found} ({self.cut})" if self.cut else found
        if self.cut:
            return f"no known mistake was found: {self.cut}"
        if self.ambiguous:
            # Never blame the secret while a value of uncertain rendering could explain the difference.
            return ("no known rendering reproduces this sign, but the body holds values whose signed text is "
                    f"uncertain ({', '.join(self.ambiguous)}): send strings or no key, then compare again "
                    "before suspecting the secret")
        return ("no known mistake reproduces this sign: most likely the secret differs, "
                "or a value was changed after signing")


def diagnose(params: Mapping[str, Any], secret: signing.Secret | str, observed: Any,
             merchant_no: str | None = None) -> Diagnosis:
    """Which known mistake(s) reproduce ``observed``: single mistakes before pairs, and among equals the one
    this body's keys and values make meaningful first."""
    expected = signing.sign(params, secret)
    text = signing.normalise_sign(observed)
    if text is not None and text == expected:
        return Diagnosis(True, expected, (), ())
    ambiguous = _shown_ambiguities(params)
    if text is None or not HEX32.fullmatch(text):
        return Diagnosis(False, expected, (), (), ambiguous, not_hex=True)  # no candidate could match
    size = sum(len(k) + (len(v) if isinstance(v, str) else 8) for k, v in params.items())
    keys = len(params) - (signing.SIGN_KEY in params)
    if keys > MAX_KEYS or size > MAX_TEXT:
        return Diagnosis(False, expected, (), (), ambiguous, cut=(
            f"the search was not run: the body has {keys:,} keys and {size:,} characters, more than the "
            f"{MAX_KEYS:,} keys or {MAX_TEXT // 1024} KiB it searches"))
    found: list[tuple[str, ...]] = []
    prepared = _Body(params, merchant_no)
    key = signing.as_secret(secret).reveal()
    active = [m for m in MISTAKES if not prepared.inert(m)
              and not (m.id == "merchant-no-included" and merchant_no is None)
              and not (m.id == "secret-trimmed" and key == key.strip())]
    candidates = _candidates(active)
    cut = None
    if keys > MAX_KEYS_PAIRS:
        candidates = [c for c in candidates if len(c) == 1]
        cut = f"single mistakes only: the body has {keys:,} keys, pairs are searched up to {MAX_KEYS_PAIRS}"
    for combo in candidates:
        if len(combo) == 2 and found and len(found[0]) == 1:
            break  # a single mistake explains it: pairs would only add noise
        for recipe in recipes_for(*combo):
            if prepared.redundant(recipe, text):
                continue
            candidate = _digest(prepared, key, recipe)
            if candidate == text and candidate != expected:
                found.append(combo)
                break
    found.sort(key=lambda combo: (len(combo), -sum(prepared.meaningful(_BY_ID[i]) for i in combo)))
    ids = tuple("+".join(c) for c in found)
    explanations = tuple(" and ".join(_BY_ID[i].explanation for i in c) for c in found)
    return Diagnosis(False, expected, ids, explanations, ambiguous, cut=cut)


def _shown_ambiguities(params: Mapping[str, Any]) -> tuple[str, ...]:
    """The first few uncertain values, "id at /key", and how many more (a body may hold thousands)."""
    found = signing.ambiguities(params)
    shown = tuple(f"{a.id} at /{a.key[:40]}" for a in found[:MAX_AMBIGUOUS_SHOWN])
    more = len(found) - MAX_AMBIGUOUS_SHOWN
    return (*shown, f"{more:,} more") if more > 0 else shown


CompiledSigner = Callable[[Mapping[str, Any], str], str]
COMPILED_MAX_KEYS = 64  # a documented body has about a dozen


_REFERENCE = Recipe()  # no mistake: the provider's routine
_NOT_SIGN = partial(ne, signing.SIGN_KEY)  # a key other than the sign's, tested in C


@lru_cache(maxsize=1024)
def compiled_signer(recipe: Recipe, keys: tuple[str, ...]) -> CompiledSigner | None:
    """``recipe``'s signer for bodies of exactly these keys (sign excluded, in their order) whose values are all
    strings: the key order, each key's ``k=`` and the secret's place worked out once, so a pattern's remembered
    mistake costs a join and a digest per request instead of the generic recipe's renderings. None for a recipe
    that adds keys (merchantNo, a sign placeholder): the generic path signs those."""
    if recipe.merchant_no or recipe.sign_placeholder is not None:
        return None
    order = tuple(_ordered_keys(dict.fromkeys(keys), recipe.order))
    prefixes = tuple(f"{k}=" for k in order)
    joiner, trim, encode, keep_empty = recipe.joiner, recipe.trim, recipe.url_encode, recipe.include_empty
    at, upper, secret_trim = recipe.secret_at, recipe.upper_hex, recipe.secret_trim

    values_of = itemgetter(*order) if len(order) > 1 else (lambda params: (params[order[0]],))

    def sign(params: Mapping[str, Any], secret: str) -> str:
        values = values_of(params)  # in signing order; then "k=" + value for each one kept, joined in C
        if trim:
            values = [text.strip() for text in values]
        if encode:
            values = [_url_encode(text, encode) for text in values]
        parts = map(add, prefixes, values) if keep_empty else map(add, compress(prefixes, values),
                                                                   filter(None, values))
        joined = joiner.join(parts)
        key_text = secret.strip() if secret_trim else secret
        preimage = key_text + joined if at == "prefix" else f"{joined}&key={key_text}" if at == "key-param" \
            else joined + key_text
        digest = signing.md5_hex(preimage)
        return digest.upper() if upper else digest

    return sign


def diagnose_known(params: Mapping[str, Any], secret: signing.Secret | str, observed: Any,
                   known: tuple[str, ...], merchant_no: str | None = None) -> Diagnosis | None:
    """The diagnosis if one of ``known`` (ids as in ``Diagnosis.matches``) reproduces ``observed``; else None.

    A client that makes a mistake makes it on every request: trying the one found before is a few
    digests instead of a search - compiled ones (``compiled_signer``) when every value is a string.
    """
    text = signing.normalise_sign(observed)
    if text is None or not HEX32.fullmatch(text):
        return None
    key = signing.as_secret(secret).reveal()
    keys = tuple(filter(_NOT_SIGN, params))
    # Compiled signers are kept per key set: only for bodies of the documented size, so a hostile capture of
    # many-key bodies cannot fill the cache with megabytes of key names (those take the generic path).
    plain = len(keys) <= COMPILED_MAX_KEYS and sum(map(len, keys)) <= 4096 and \
        list(map(type, map(params.__getitem__, keys))).count(str) == len(keys)
    prepared: _Body | None = None

    def reproduces(recipe: Recipe) -> bool:
        nonlocal prepared
        signer = compiled_signer(recipe, keys) if plain else None
        if signer is not None:
            return signer(params, key) == text
        if prepared is None:
            prepared = _Body(params, merchant_no)
        return _digest(prepared, key, recipe) == text

    found = [ids for ids in known if any(reproduces(recipe) for recipe in recipes_for(*ids.split("+")))]
    if not found:
        return None
    # The reference routine is the recipe of no mistake: compiled too, for a body of strings.
    reference = compiled_signer(_REFERENCE, keys) if plain else None
    expected = reference(params, key) if reference is not None else signing.sign(params, secret)
    if text == expected:  # the reference itself (a caller asked about a correct sign): no mistake
        return None
    ambiguous = _shown_ambiguities(params)
    explanations = tuple(" and ".join(_BY_ID[i].explanation for i in ids.split("+")) for ids in found)
    return Diagnosis(False, expected, tuple(found), explanations, ambiguous)
