"""The published test vectors: current, and confirmed by implementations other than ours."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from tests.crosscheck import LineSigner, java_argv, node_argv
from tests.vectors import make_vectors
from vexora_conformance.contract import signing
from vexora_conformance.strategies import signable_params

VECTORS = json.loads(resources.files("vexora_conformance.contract").joinpath("data/sign-vectors.json").read_text("utf-8"))
CASES = [t for g in VECTORS["testGroups"] for t in g["tests"]]
# What each independent implementation cannot represent, by the file's own flags.
NODE_CANNOT = {"LoneSurrogate", "BeyondDoublePrecision"}


def expected_line(case: dict[str, Any]) -> str:
    return f"{case['sign']} {case['canonical'].encode('utf-8', 'replace').hex()}"


@pytest.fixture(scope="module")
def java(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LineSigner]:
    argv = java_argv(tmp_path_factory.mktemp("java"))
    if argv is None:
        pytest.skip("no JDK (javac/java) on this machine: the Java cross-check did not run")
    signer = LineSigner(argv)
    yield signer
    signer.close()


@pytest.fixture(scope="module")
def node() -> Iterator[LineSigner]:
    argv = node_argv()
    if argv is None:
        pytest.skip("no node on this machine: the Node cross-check did not run")
    signer = LineSigner(argv)
    yield signer
    signer.close()


def test_file_is_what_the_generator_writes() -> None:
    assert Path(make_vectors.OUT).read_text(encoding="utf-8") == make_vectors.render()


def test_file_structure() -> None:
    assert VECTORS["numberOfTests"] == len(CASES) >= 60
    assert [c["tcId"] for c in CASES] == list(range(1, len(CASES) + 1))
    for case in CASES:
        assert set(case["flags"]) <= set(VECTORS["notes"]), case["tcId"]
        assert len(case["sign"]) == 32


def test_flags_cover_the_traps_the_issue_names() -> None:
    used = {f for c in CASES for f in c["flags"]}
    assert {"PageExample", "JavaOrder", "AstralKey", "Unicode", "EmptySkipped", "WhitespaceKept", "NullSigned",
            "Integer", "Boolean", "SpecialChars", "LongValue"} <= used
    assert {"null-value", "boolean-value"} <= {a for c in CASES for a in c["ambiguities"]}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"tc{c['tcId']}")
def test_python_reference_matches_vector(case: dict[str, Any]) -> None:
    assert signing.canonical_string(case["params"]) == case["canonical"]
    assert signing.sign(case["params"], case["secret"]) == case["sign"]
    assert signing.verify({**case["params"], "sign": case["sign"]}, case["secret"])
    assert sorted({a.id for a in signing.ambiguities(case["params"])}) == case["ambiguities"]


def test_java_confirms_every_vector(java: LineSigner) -> None:
    wrong = [c["tcId"] for c in CASES if java.ask(c["params"], c["secret"]) != expected_line(c)]
    assert wrong == []


def test_node_confirms_every_vector_it_can_represent(node: LineSigner) -> None:
    cases = [c for c in CASES if not NODE_CANNOT & set(c["flags"])]
    assert len(cases) >= len(CASES) - 3
    wrong = [c["tcId"] for c in cases if node.ask(c["params"], c["secret"]) != expected_line(c)]
    assert wrong == []


SECRETS = signable_params().map(lambda p: "s3cr3t-" + "".join(p)[:10])


@settings(max_examples=1500)
@given(params=signable_params(), secret=SECRETS)
def test_java_agrees_on_random_bodies(java: LineSigner, params: dict[str, Any], secret: str) -> None:
    case = {"sign": signing.sign(params, secret), "canonical": signing.canonical_string(params)}
    assert java.ask(params, secret) == expected_line(case)


@settings(max_examples=1500)
@given(params=signable_params(), secret=SECRETS)
def test_node_agrees_on_random_bodies(node: LineSigner, params: dict[str, Any], secret: str) -> None:
    case = {"sign": signing.sign(params, secret), "canonical": signing.canonical_string(params)}
    assert node.ask(params, secret) == expected_line(case)
