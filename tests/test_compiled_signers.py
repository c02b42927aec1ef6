"""The compiled known-mistake signers (``compiled_signer``) against the generic recipes they stand for.

``diagnose_known`` uses a compiled signer for a body of strings only; a compiled signer that differed from the
generic recipe would name a mistake the client did not make, or miss the one it did. Each is held to
``sign_with`` (the generic path) on generated bodies of strings, for every mistake and every pair.
"""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from vexora_conformance.contract.signing.diagnosis import (
    MISTAKE_IDS,
    compiled_signer,
    diagnose_known,
    recipes_for,
    sign_with,
)

SECRET = " compiled-signer-secret "  # spaces: the secret-trim mistake changes something
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12) | st.sampled_from(
    ["", " ", " padded ", "a b", "x+y&z=1", "ñandú", "😀", "!*'()", "100.50"])
KEYS = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x2FF), min_size=1, max_size=8) | st.sampled_from(
    ["tradeNo", "amount", "Amount", "timestamp", "notifyUrl", "wayCode", "remark", "𝒜key"])
BODIES = st.dictionaries(KEYS.filter(lambda k: k != "sign"), TEXT, min_size=1, max_size=8)
COMBINATIONS = [(m,) for m in MISTAKE_IDS] + list(itertools.combinations(MISTAKE_IDS, 2))


@given(BODIES)
def test_every_compiled_signer_signs_as_its_generic_recipe(body: dict[str, Any]) -> None:
    keys = tuple(body)
    compiled = 0
    for ids in COMBINATIONS:
        for recipe in recipes_for(*ids):
            signer = compiled_signer(recipe, keys)
            if signer is None:
                continue
            compiled += 1
            assert signer(body, SECRET) == sign_with(body, SECRET, recipe), ids
    assert compiled > len(MISTAKE_IDS)  # most recipes compile: the test is not vacuous


@given(BODIES, st.sampled_from(COMBINATIONS))
def test_diagnose_known_finds_what_the_generic_recipes_find(body: dict[str, Any], ids: tuple[str, ...]) -> None:
    observed = sign_with(body, SECRET, recipes_for(*ids)[0], merchant_no="1000000001")
    known = ("+".join(ids), "secret-prefixed", "uppercase-hex")
    got = diagnose_known(body, SECRET, observed, known, merchant_no="1000000001")
    expected = [k for k in known if any(sign_with(body, SECRET, r, merchant_no="1000000001") == observed
                                        for r in recipes_for(*k.split("+")))]
    if observed == sign_with(body, SECRET, recipes_for()[0]):
        expected = []  # the reference sign itself: no mistake to name
    assert (got.matches if got is not None else []) == tuple(expected) or (got is None and not expected)


@given(BODIES)
def test_the_compiled_reference_signs_as_the_reference_routine(body: dict[str, Any]) -> None:
    """diagnose_known shows the expected sign from the compiled recipe of no mistake, for a body of strings."""
    from vexora_conformance.contract import signing

    signer = compiled_signer(recipes_for()[0], tuple(body))
    assert signer is not None
    assert signer(body, SECRET) == signing.sign(body, SECRET)
