"""validate's memory across exchanges: keys by position in little memory, wrong signs diagnosed once per pattern."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vexora_conformance.cli import run
from vexora_conformance.contract import signing
from vexora_conformance.contract.signing.diagnosis import recipe_for, sign_with
from vexora_conformance.doors import validate as validate_mod
from vexora_conformance.doors.validate import validate
from vexora_conformance.judge import seen as seen_mod
from vexora_conformance.judge.exchange import JudgeOptions
from vexora_conformance.judge.ledger import Ledger
from vexora_conformance.judge.seen import PyFirstSeen

SECRET = "ledger-secret"
URL = "https://sandbox.vexora.example/mexico/v1/vexora/checkout"


NOT_BUILT = "the compiled store (judge/_seen.c) was not built at install here: no C compiler, or VEXORA_PURE_PYTHON=1"
# Both tables, the compiled one where the install built it (else the case is skipped, with the reason shown)
STORES = [pytest.param(PyFirstSeen, id="python"),
          pytest.param(seen_mod.FirstSeen, id="compiled", marks=pytest.mark.skipif(not seen_mod.compiled,
                                                                                   reason=NOT_BUILT))]
KEYS = st.text(max_size=12) | st.text(max_size=120) | st.sampled_from(["a" * 96, "a" * 97, "\ud800", "\udc00x", "é"])


@pytest.mark.parametrize("store", STORES)
@given(st.lists(KEYS, max_size=3000))
def test_first_seen_agrees_with_a_dict(store: type[PyFirstSeen], keys: list[str]) -> None:
    seen, model = store(), {}
    for position, key in enumerate(keys):
        assert seen.first(key, position) == model.get(key)
        model.setdefault(key, position)
    assert len(seen) == len(model)


@pytest.mark.parametrize("store", STORES)
def test_first_seen_confirms_a_hash_hit_against_the_exact_key(store: type[PyFirstSeen]) -> None:
    """Every key hashed alike: only the stored bytes tell them apart (a long key's digest among them)."""
    seen = store(every_hash_alike=True)
    keys = ["a", "b", "a", "c", "b", "x" * 200, "x" * 199 + "y", "x" * 200, "\ud800", "\ud800"]
    assert [seen.first(k, n) for n, k in enumerate(keys)] == [None, None, 0, None, 1, None, None, 5, None, 8]


@pytest.mark.parametrize("store", STORES)
def test_a_megabyte_key_is_remembered_in_bytes_not_megabytes(store: type[PyFirstSeen]) -> None:
    seen = store()
    long_a, long_b = "a" * 1_000_000, "a" * 999_999 + "b"
    assert seen.first(long_a, 0) is None and seen.first(long_b, 1) is None
    assert seen.first(long_a, 2) == 0 and seen.first("a" * 5, 3) is None
    assert seen.retained_bytes() < 10_000


@pytest.mark.skipif(not seen_mod.compiled, reason=NOT_BUILT)
def test_a_compiled_store_never_initialised_refuses_instead_of_crashing() -> None:
    store = seen_mod.FirstSeen.__new__(seen_mod.FirstSeen)
    with pytest.raises(RuntimeError, match="not initialised"):
        store.first("a", 0)
    with pytest.raises(TypeError):
        seen_mod.FirstSeen().first(b"bytes", 0)  # type: ignore[arg-type]


def test_where_a_compiler_is_the_install_built_the_compiled_store() -> None:
    """hatch_build.py compiles the store when the package is installed; a silent failure there would leave
    validate four fifths as fast with every test green, so it is a failure here."""
    import os
    import shlex
    import shutil
    import sysconfig

    compiler = shlex.split(sysconfig.get_config_var("CC") or "cc")[:1]
    if os.environ.get("VEXORA_PURE_PYTHON") == "1" or not compiler or shutil.which(compiler[0]) is None:
        pytest.skip(NOT_BUILT)
    assert seen_mod.compiled, "reinstall (pip install -e .): the build's output says why the C store failed"


@pytest.mark.parametrize("store", STORES)
def test_retained_state_is_under_150_bytes_per_clean_record(store: type[PyFirstSeen]) -> None:
    """Measured from outside: the memory the ledger holds after remembering N records' keys, as tracemalloc
    counts what is still allocated (the store's own account, retained_bytes, agrees to within a tenth)."""
    import gc
    import tracemalloc

    n = 100_000
    keys = [("1000000001", f"2025112416{i:010d}", f"p{i:015d}") for i in range(n)]  # made before measuring
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    ledger = Ledger(JudgeOptions(secret=signing.Secret("s")), _trade=store(), _platform=store())
    ledger.begin("f")
    for i, (merchant, trade_no, platform) in enumerate(keys):
        ledger.remember("checkout", merchant, trade_no, platform, "f", i)
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert held / n <= 150, held / n
    assert abs(ledger.retained_bytes() - held) <= held / 10


def test_distinct_platform_trade_nos_never_collide() -> None:
    ledger = Ledger(JudgeOptions(secret=signing.Secret("s")))
    ledger.begin("f")
    found = [f for i in range(20_000) for f in ledger.remember("checkout", "m", None, f"p{i}", "f", i)]
    assert found == []
    # ... and a real repeat among them is found, pointing at its first
    repeat = ledger.remember("checkout", "m", None, "p17", "f", 20_000)
    assert [f.rule for f in repeat] == ["response.platform-trade-no.duplicate"] and "f#17" in repeat[0].message


def test_the_same_file_twice_is_two_sets_of_requests() -> None:
    ledger = Ledger(JudgeOptions())
    ledger.begin("f")
    assert ledger.observe_keys("checkout", True, "m", "T1", None, "f", 0)[1:] == []
    ledger.begin("f")
    found = ledger.observe_keys("checkout", True, "m", "T1", None, "f", 0)
    assert [f.rule for f in found] == ["trade-no.duplicate"]
    assert "f#0" in found[0].message


def _line(i: int, mistake: str | None = None, tamper: bool = False, merchant: str = "1000000001") -> str:
    body: dict[str, Any] = {"timestamp": str(1764000000000 + i), "tradeNo": f"T{i:08d}", "amount": "300",
                            "notifyUrl": "https://m.example/notify", "wayCode": "va", "remark": f"order {i}"}
    body["sign"] = sign_with(body, SECRET, recipe_for(mistake)) if mistake else signing.sign(body, SECRET)
    if tamper:
        body["amount"] = "301"  # changed after signing: no known mistake reproduces it
    return json.dumps({"request": {"method": "POST", "url": URL, "body": json.dumps(body),
                                   "headers": {"Content-Type": "application/json", "merchantNo": merchant}}})


def _run(path: Path, limit: int = 20) -> tuple[Any, list[Any]]:
    ledgers: list[Ledger] = []
    real = validate_mod.Ledger

    def keep(*args: Any, **kwargs: Any) -> Ledger:
        ledgers.append(real(*args, **kwargs))
        return ledgers[-1]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(validate_mod, "Ledger", keep)
        outcome = validate([str(path)], JudgeOptions(secret=signing.Secret(SECRET)), diagnosis_limit=limit)
    return ledgers[0], outcome.findings


def test_a_known_mistake_is_searched_for_once_per_pattern(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(_line(i, "secret-prefixed") for i in range(30)) + "\n")
    ledger, findings = _run(path)
    assert ledger.searches == 1
    assert len(findings) == 30
    assert all(f.details["diagnosis"] == ["secret-prefixed"] for f in findings)


def test_after_the_limit_an_unexplained_sign_is_same_as_the_first(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    lines = [_line(i, tamper=True) for i in range(25)] + [_line(99, tamper=True, merchant="other")]
    path.write_text("\n".join(lines) + "\n")
    ledger, findings = _run(path)
    assert ledger.searches == 21  # 20 for the first merchant, 1 for the other (another pattern)
    same = [f for f in findings if "same_as" in f.details]
    assert [f.index for f in same] == [20, 21, 22, 23, 24]
    assert all(f.details["same_as"] == f"{path}#0" and f"same as {path}#0" in (f.hint or "") for f in same)
    _, none_skipped = _run(path, limit=1000)
    assert not any("same_as" in f.details for f in none_skipped)


def test_jobs_2_names_the_same_mistakes_as_jobs_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "many.jsonl"
    lines = [_line(i, tamper=i % 3 == 0, mistake="secret-prefixed" if i % 3 == 1 else None) for i in range(600)]
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(validate_mod, "CHUNK_BYTES", 9000)
    monkeypatch.setenv("VEXORA_SECRET", SECRET)
    reports = []
    for jobs in ("1", "2"):
        out = io.StringIO()
        assert run(["validate", str(path), "--jobs", jobs], out, io.StringIO()) == 1
        reports.append(out.getvalue())
    assert reports[0] == reports[1]
    assert "same as" in reports[0]


@given(st.dictionaries(st.text(max_size=6), st.just("v"), max_size=8), st.none() | st.text(max_size=8),
       st.randoms(use_true_random=False))
def test_a_patterns_key_is_its_key_set_whatever_the_order_and_the_memo(body: dict[str, Any], merchant: str | None,
                                                                       rnd: Any) -> None:
    """The digest of (merchantNo, key set) is remembered per order of the keys as sent; it is the same digest
    for any order, whether remembered or not."""
    from vexora_conformance.judge import patterns

    keys = list(body)
    rnd.shuffle(keys)
    shuffled = {k: body[k] for k in keys}
    patterns._KEYS.clear()
    fresh = patterns.pattern_key(merchant, body)
    assert patterns.pattern_key(merchant, body) == fresh == patterns.pattern_key(merchant, shuffled)
    assert fresh == patterns.hashlib.sha256(json.dumps([merchant, sorted(body)]).encode()).digest()


def test_the_pattern_key_memo_is_bounded() -> None:
    from vexora_conformance.judge import patterns

    for i in range(patterns._KEYS_KEPT + 5):
        patterns.pattern_key("m", {f"k{i}": 1})
    assert 0 < len(patterns._KEYS) <= patterns._KEYS_KEPT
    big = {f"k{i}": 1 for i in range(100)}
    patterns._KEYS.clear()
    patterns.pattern_key("m", big)  # more keys than a documented body has: not remembered
    assert len(patterns._KEYS) == 0
    patterns.pattern_key("m", {"a": 1})
    assert len(patterns._KEYS) == 1
