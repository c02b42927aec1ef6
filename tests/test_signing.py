"""Property tests of the signing rules, and the diagnosis of wrong signs."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from typing import Any

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from vexora_conformance.contract import signing
from vexora_conformance.contract.signing.diagnosis import MISTAKE_IDS, MISTAKES, recipe_for, recipes_for, sign_with
from vexora_conformance.strategies import signable_params, valid_bodies

SECRET = "unit-test-secret"
HEX32 = re.compile(r"^[0-9a-f]{32}$")


@given(signable_params(), st.randoms())
def test_insertion_order_never_matters(params: dict[str, Any], rnd: Any) -> None:
    items = list(params.items())
    rnd.shuffle(items)
    assert signing.sign(dict(items), SECRET) == signing.sign(params, SECRET)


@given(signable_params(), st.one_of(st.none(), st.text(), st.integers()))
def test_the_sign_key_never_matters(params: dict[str, Any], value: Any) -> None:
    assert signing.sign({**params, "sign": value}, SECRET) == signing.sign(params, SECRET)


@given(signable_params(), st.text())
def test_output_is_32_lowercase_hex(params: dict[str, Any], secret: str) -> None:
    assert HEX32.match(signing.sign(params, secret))


@given(signable_params(), st.text(min_size=1, max_size=8))
def test_an_empty_value_is_the_same_as_an_absent_key(params: dict[str, Any], key: str) -> None:
    without = {k: v for k, v in params.items() if k != key}
    assert signing.sign({**without, key: ""}, SECRET) == signing.sign(without, SECRET)


@given(signable_params().filter(bool), st.data())
def test_changing_any_signed_value_changes_the_sign(params: dict[str, Any], data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(sorted(params)))
    assume(key != "sign" and signing.render(params[key]) != "")
    new = data.draw(st.text(min_size=1).filter(lambda v: v != signing.render(params[key])))
    assert signing.sign({**params, key: new}, SECRET) != signing.sign(params, SECRET)


@given(signable_params(), st.text(), st.text())
def test_changing_the_secret_changes_the_sign(params: dict[str, Any], a: str, b: str) -> None:
    assume(a != b)
    assert signing.sign(params, a) != signing.sign(params, b)


BMP_HIGH = st.characters(min_codepoint=0xE000, max_codepoint=0xFFFF)
ASTRAL = st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF)


@given(st.lists(st.text(min_size=1, max_size=3), min_size=2, max_size=6, unique=True))
@example(["\uFFFD", "\U0001F600"])
@example(["Z", "a", "_", "1"])
def test_java_order_differs_from_code_point_order_exactly_where_it_should(keys: list[str]) -> None:
    java = sorted(keys, key=signing.java_order_key)
    python = sorted(keys)
    assert java == sorted(keys, key=_utf16_units)  # Java's String.compareTo, computed independently
    # The two orders can only disagree when some key holds an astral character
    # and some key holds a U+E000..U+FFFF character.
    astral = any(ord(c) > 0xFFFF for k in keys for c in k)
    bmp_high = any(0xE000 <= ord(c) <= 0xFFFF for k in keys for c in k)
    if not (astral and bmp_high):
        assert java == python


def _utf16_units(key: str) -> list[int]:
    """The UTF-16 code units of a key, worked out by hand (not by the codec the implementation uses)."""
    units = []
    for ch in key:
        cp = ord(ch)
        if cp > 0xFFFF:
            units += [0xD800 + ((cp - 0x10000) >> 10), 0xDC00 + ((cp - 0x10000) & 0x3FF)]
        else:
            units.append(cp)
    return units


def test_java_order_is_not_code_point_order_on_astral_against_high_bmp() -> None:
    keys = ["\uFFFD", "\U0001F600"]
    assert sorted(keys, key=signing.java_order_key) == ["\U0001F600", "\uFFFD"] != sorted(keys)


@given(ASTRAL, BMP_HIGH)
def test_astral_sorts_before_bmp_high_in_java_order(astral: str, high: str) -> None:
    params = {high: "1", astral: "2"}
    assert signing.canonical_string(params).startswith(f"{astral}=2")
    assert sorted(params)[0] == high  # code-point order says the opposite


def test_reference_rules_on_named_values() -> None:
    assert signing.canonical_string({"b": None, "a": True, "c": 1715941383720, "d": "", "e": " "}) == (
        "a=trueb=nullc=1715941383720e= "
    )
    assert signing.canonical_string({"a": 1715941383720}) == signing.canonical_string({"a": "1715941383720"})


def test_verify_is_exact_and_tolerates_garbage() -> None:
    body = {"amount": "300"}
    good = signing.sign(body, SECRET)
    assert signing.verify({**body, "sign": good}, SECRET)
    assert not signing.verify({**body, "sign": good.upper()}, SECRET)
    assert not signing.verify({**body, "sign": "ñ" * 32}, SECRET)
    assert not signing.verify({**body, "sign": 12}, SECRET)
    assert not signing.verify(body, SECRET)
    assert signing.verify(body, SECRET, observed=good)


def test_params_must_be_an_object() -> None:
    with pytest.raises(TypeError, match="JSON object"):
        signing.sign(["a"], SECRET)  # type: ignore[arg-type]


def test_ambiguities_have_stable_ids() -> None:
    found = signing.ambiguities({"a": None, "b": 1.5, "c": True, "d": {"x": 1}, "e": [1], "f": "s", "g": 2,
                                 "sign": None})
    assert [(a.id, a.key) for a in found] == [
        ("null-value", "a"), ("fractional-number", "b"), ("boolean-value", "c"), ("nested-value", "d"),
        ("nested-value", "e")]


def test_secret_is_masked_everywhere() -> None:
    s = signing.Secret("canary-9c1f")
    assert "canary" not in repr(s) and "canary" not in str(s) and "canary" not in f"{s}" and "canary" not in f"{s!r}"
    assert "canary" not in repr([s]) and "canary" not in repr({"k": s})
    with pytest.raises(TypeError) as info:
        signing.Secret(123)  # type: ignore[arg-type]
    assert "123" not in str(info.value)


# --- diagnosis ---

# A body on which every known mistake changes the sign.
TRAP_BODY = {
    "amount": "300", "timestamp": "1728609257212", "tradeNo": "T1", "notifyUrl": "https://m.example/cb?a=1",
    "remark": None, "payer": " padded ", "email": "", "Zeta": "z", "\uFF21": "x", "\U0001F600": "y",
    "promo": True, "meta": {"a": [1, 2]}, "rate": 300.0, "big": 2**60 + 1,
    "sign": "placeholder",
}
PADDED_SECRET = " trap-secret\n"  # white space around it, as a secret pasted from a file often has


@pytest.mark.parametrize("mistake", MISTAKE_IDS)
def test_doctor_names_each_single_mistake(mistake: str) -> None:
    for recipe in recipes_for(mistake):
        observed = sign_with(TRAP_BODY, PADDED_SECRET, recipe, merchant_no="1000000001")
        d = signing.diagnose(TRAP_BODY, PADDED_SECRET, observed, merchant_no="1000000001")
        assert not d.correct
        assert d.matches == (mistake,), d.summary


PAIRS = [("ampersand-joined", "key-param-secret"), ("secret-prefixed", "uppercase-hex"),
         ("null-skipped", "codepoint-order"), ("empty-included", "values-trimmed")]


@pytest.mark.parametrize("pair", PAIRS, ids="+".join)
def test_doctor_names_pairs(pair: tuple[str, str]) -> None:
    observed = sign_with(TRAP_BODY, SECRET, recipe_for(*pair))
    assert signing.diagnose(TRAP_BODY, SECRET, observed).matches == ("+".join(pair),)


@given(valid_bodies(secret=SECRET), st.sampled_from([m for m in MISTAKES if m.id != "merchant-no-included"]))
def test_doctor_explains_every_reproduced_mistake_on_valid_bodies(body: dict[str, Any], mistake: Any) -> None:
    observed = sign_with(body, SECRET, recipe_for(mistake.id))
    d = signing.diagnose(body, SECRET, observed)
    if observed == body["sign"]:
        assert d.correct  # the mistake made no difference on this body
    else:
        assert mistake.id in d.matches


def test_doctor_says_plainly_when_nothing_matches() -> None:
    d = signing.diagnose(TRAP_BODY, SECRET, "0" * 32)
    assert not d.correct and d.matches == ()
    assert "secret" in d.summary
    assert signing.diagnose(TRAP_BODY, SECRET, signing.sign(TRAP_BODY, SECRET)).correct


def test_doctor_is_not_fooled_by_a_mistake_that_changes_nothing() -> None:
    body = {"amount": "300"}
    # No empty value: empty-included would give the correct sign and must never be named.
    d = signing.diagnose(body, SECRET, signing.sign(body, SECRET).upper())
    assert d.matches == ("uppercase-hex",)


@given(signable_params(), st.sampled_from(MISTAKE_IDS))
@example({"remark": "\ud800", "amount": "1"}, "url-encoded-values")  # once crashed in quote_plus
def test_diagnosis_names_the_mistake_that_produced_the_sign(params: dict[str, Any], mistake: str) -> None:
    observed = sign_with(params, SECRET, recipe_for(mistake), merchant_no="1000000001")
    d = signing.diagnose(params, SECRET, observed, merchant_no="1000000001")
    if observed == signing.sign(params, SECRET):
        assert d.correct  # the mistake changed nothing for this body
    else:
        assert mistake in d.matches


# Pairs that change different parts of the recipe: the candidates diagnosis searches.
COMPATIBLE_PAIRS = [(a.id, b.id) for a, b in itertools.combinations(MISTAKES, 2) if not set(a.change) & set(b.change)]


@given(st.one_of(signable_params(), valid_bodies(secret=SECRET)), st.sampled_from(COMPATIBLE_PAIRS))
@example({"a": None}, ("null-skipped", "sign-included"))
@example({"a": "  "}, ("empty-included", "values-trimmed"))
def test_every_named_pair_really_reproduces_the_sign(params: dict[str, Any], pair: tuple[str, str]) -> None:
    """Diagnosis prunes mistakes that are inert for the body; this holds the pruning to account."""
    observed = sign_with(params, SECRET, recipe_for(*pair), merchant_no="1000000001")
    d = signing.diagnose(params, SECRET, observed, merchant_no="1000000001")
    if observed == signing.sign(params, SECRET):
        assert d.correct
        return
    assert d.matches, "a pair of known mistakes produced this sign, but nothing was named"
    for match in d.matches:
        assert any(sign_with(params, SECRET, r, "1000000001") == observed for r in recipes_for(*match.split("+")))


def test_a_lone_surrogate_key_sorts_by_its_code_unit() -> None:
    # Java: "a" (0x61) < "\ud800" (0xD800) < "\ue000" (0xE000); encoding the key must not raise.
    params = {"\ue000": "2", "\ud800": "1", "a": "3"}
    assert [k for k, _ in signing.signed_pairs(params)] == ["a", "\ud800", "\ue000"]
    assert len(signing.sign(params, SECRET)) == 32


def test_rendering_of_ambiguous_values_is_pinned() -> None:
    # What the reference signs for values it flags as ambiguous: fixed here so a change is deliberate.
    assert signing.render(300.5) == "300.5"
    assert signing.render(1e20) == "1e+20"
    assert signing.render({"x": [1, "é"], "y": None}) == '{"x":[1,"é"],"y":null}'
    assert signing.canonical_string({"a": 1.5, "b": [1, 2]}) == "a=1.5b=[1,2]"


def test_ambiguity_messages_and_type_errors_say_what_is_wrong() -> None:
    found = signing.ambiguities({"a": None, "b": True, "c": 2.5, "d": {}})
    assert all(len(a.message) > 20 for a in found)
    assert "skip" in found[0].message and "string" in found[1].message
    with pytest.raises(TypeError, match="not list"):
        signing.canonical_string([])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be a str"):
        signing.Secret(b"bytes")  # type: ignore[arg-type]


# An oracle written without the diagnosis module: mutants in shared code cannot fool both sides.
from tests.signers.mistaken_signer import sign as independent_mistaken_sign  # noqa: E402


@pytest.mark.parametrize("mistake", MISTAKE_IDS)
@pytest.mark.parametrize("params", [
    TRAP_BODY,
    {"a": " x ", "b": "  y"},          # every value padded: values-trimmed must not be pruned
    {"a": "x y", "b": "p&q", "c": "a/b"},  # every value needs URL-encoding, '/' included
    {"a": " ", "b": "\t"},             # every value blank
    {"Zeta": "z", "alpha": "a"},       # written in Java order, yet case-insensitive order differs
    {"aB": "2", "a_b": "1"},           # case-folding to lower (as PHP and most do) puts '_' first
    {"\U0001F600": "y", "\uFF21": "x"},  # written in Java order, yet code-point order differs
    {"a": None, "b": "1"},
    {"flag": True, "off": False, "meta": {"k": [1, "x"]}, "list": [], "a": "x y"},  # PHP: booleans, arrays
], ids=["trap", "padded", "url", "blank", "case", "fold", "astral", "null", "php"])
def test_doctor_agrees_with_an_independent_mistaken_signer(mistake: str, params: dict[str, Any]) -> None:
    observed = independent_mistaken_sign(params, SECRET, mistake)
    d = signing.diagnose(params, SECRET, observed, merchant_no="1000000001")
    if observed == signing.sign(params, SECRET):
        assert d.correct is True and d.matches == () and d.explanations == () and d.expected == observed
    else:
        assert d.correct is False and mistake in d.matches, d.summary
        assert d.expected == signing.sign(params, SECRET)


def test_doctor_knows_the_empty_placeholder_form_of_sign_included() -> None:
    observed = independent_mistaken_sign(TRAP_BODY, SECRET, "sign-included-empty")
    assert signing.diagnose(TRAP_BODY, SECRET, observed).matches == ("sign-included",)


@pytest.mark.parametrize("observed", ["xyz", "Z" * 32, 12, None, "ñ" * 32])
def test_doctor_on_something_that_cannot_be_a_sign(observed: Any) -> None:
    d = signing.diagnose(TRAP_BODY, SECRET, observed)
    assert d.correct is False and d.matches == () and d.explanations == ()
    assert d.expected == signing.sign(TRAP_BODY, SECRET)


def test_a_pair_is_explained_with_both_mistakes() -> None:
    observed = sign_with(TRAP_BODY, SECRET, recipe_for("ampersand-joined", "key-param-secret"))
    d = signing.diagnose(TRAP_BODY, SECRET, observed)
    assert d.correct is False and d.matches == ("ampersand-joined+key-param-secret",)
    assert d.explanations[0].count(" and ") == 1 and "'&'" in d.explanations[0] and "&key=" in d.explanations[0]


def test_doctor_names_a_trimmed_secret_from_an_independent_signer() -> None:
    params = {"amount": "300", "tradeNo": "T1"}
    observed = independent_mistaken_sign(params, " padded-secret\t", "secret-trimmed")
    assert signing.diagnose(params, " padded-secret\t", observed).matches == ("secret-trimmed",)
    assert signing.diagnose(params, "unpadded", independent_mistaken_sign(params, "unpadded", "correct")).correct


def test_doctor_names_percent_encoding_as_url_encoded_values() -> None:
    params = {"remark": "a b/c", "tradeNo": "T1"}
    observed = independent_mistaken_sign(params, SECRET, "url-encoded-values-raw")
    assert signing.diagnose(params, SECRET, observed).matches == ("url-encoded-values",)


def test_doctor_knows_a_stale_sign_left_in_the_body() -> None:
    """A copied example body: its old sign was still there when the client signed, then replaced."""
    stale = {"amount": "300", "tradeNo": "T1", "sign": "0be92a962072b1786a01a2cab4891a1d"}
    observed = hashlib.md5(("amount=300sign=0be92a962072b1786a01a2cab4891a1dtradeNo=T1" + SECRET).encode()).hexdigest()
    assert signing.diagnose(stale, SECRET, observed).matches == ("sign-included",)


def test_doctor_never_blames_the_secret_while_an_uncertain_value_could_explain_it() -> None:
    params = {"amount": "300", "rate": 2.5e-3, "flag": None}
    d = signing.diagnose(params, SECRET, "0" * 32)
    assert "secret differs" not in d.summary and "uncertain" in d.summary and "null-value at /flag" in d.summary
    assert "secret differs" in signing.diagnose({"amount": "300"}, SECRET, "0" * 32).summary


@pytest.mark.parametrize("observed", ["zz", "abc", "0" * 31, "g" * 32])
def test_a_sign_that_is_not_hex_is_said_to_be_so(observed: str) -> None:
    d = signing.diagnose({"amount": "300"}, SECRET, observed)
    assert "not 32 lower-case hex digits" in d.summary and "secret" not in d.summary


def test_case_insensitive_sort_is_not_named_for_keys_without_case() -> None:
    params = {"\U0001F600": "y", "\uFF21": "x", "1": "z"}  # no key changes when lower-cased
    observed = independent_mistaken_sign(params, SECRET, "codepoint-order")
    assert signing.diagnose(params, SECRET, observed).matches == ("codepoint-order",)


def test_javascript_renderings_match_node() -> None:
    """js_number and js_string against Node itself, on awkward numbers and nested values."""
    import shutil
    import subprocess

    from vexora_conformance.contract.signing.renderings import js_json, js_string

    if shutil.which("node") is None:
        pytest.skip("node is not installed on this machine: JavaScript renderings were not cross-checked")
    values = [300.0, 1e21, 1e-7, 0.1 + 0.2, 123456789012345680000.0, 5e-324, -0.5, 2**60 + 1, 4.35, 1e300,
              [1, [2.5, None], {"a": 1.0}], [], {"b": [True, "x"]}]
    script = ("const v = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "console.log(JSON.stringify(v.map(x => [String(x), JSON.stringify(x)])));")
    node = subprocess.run(["node", "-e", script], input=json.dumps(values), capture_output=True, text=True,
                          check=True)
    assert json.loads(node.stdout) == [[js_string(v), js_json(v)] for v in values]
