"""Structure-aware fuzzing of the capture readers: whatever the records hold, nothing raises and nothing is lost."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.hostile import fuzz_examples
from vexora_conformance.contract.signing.reference import Secret
from vexora_conformance.doors.validate import validate
from vexora_conformance.judge.exchange import JudgeOptions

URL = "https://h.example/mx/v1/vexora/checkout"
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=12))  # finite: json.dumps would write Infinity, which is not JSON
anything = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6),
                                                                                               inner, max_size=3),
                        max_leaves=8)
# Near-valid pieces: each slot is usually well-formed, sometimes anything at all.
methods = st.sampled_from(["POST", "GET", "post", ""]) | anything
urls = st.sampled_from([URL, URL + "/", "https://h.example/other", "not a url", "http://[::1"]) | anything
headers = st.one_of(st.dictionaries(st.sampled_from(["Content-Type", "merchantNo", "X"]), st.text(max_size=20)),
                    st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)).map(list), max_size=3), anything)
bodies = st.one_of(st.text(max_size=40), st.just('{"amount": "300", "sign": "' + "0" * 32 + '"}'),
                   st.dictionaries(st.sampled_from(["amount", "sign", "tradeNo", "timestamp"]), scalars), anything)
responses = st.one_of(st.none(), st.fixed_dictionaries({"status": st.integers(-1, 600) | anything,
                                                        "headers": headers, "body": bodies}), anything)
records = st.one_of(
    st.fixed_dictionaries({"request": st.fixed_dictionaries({"method": methods, "url": urls, "headers": headers,
                                                             "body": bodies}),
                           "response": responses, "time": st.one_of(st.none(), st.floats(), st.text(max_size=25))}),
    anything)


def _run(path: Path) -> Any:
    return validate([str(path)], JudgeOptions(secret=Secret("fuzz-secret")))


@settings(max_examples=fuzz_examples(300), deadline=None)
@given(st.lists(records, min_size=1, max_size=8), st.sampled_from(["", "garbage{\n", "\n\n"]))
def test_json_lines_never_raise_and_every_record_is_counted(recs: list[Any], noise: str) -> None:
    text = "\n".join(json.dumps(r) for r in recs) + "\n" + noise
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "fuzz.jsonl")
        path.write_text(text)
        out = _run(path)
    lines = [ln for ln in text.split("\n") if ln.strip()]
    assert out.exchanges + out.skipped + out.malformed == len(lines)


har_entries = st.one_of(
    st.fixed_dictionaries({"request": st.fixed_dictionaries({"method": methods, "url": urls, "headers": headers},
                                                            optional={"postData": st.fixed_dictionaries(
                                                                {"text": bodies}, optional={"_file": anything})}),
                           "response": st.one_of(anything, st.fixed_dictionaries({
                               "status": st.integers(0, 600), "content": st.fixed_dictionaries(
                                   {}, optional={"text": st.text(max_size=20), "encoding": st.sampled_from(["base64", "x"])})}))},
                          optional={"startedDateTime": st.text(max_size=30)}),
    anything)


@settings(max_examples=fuzz_examples(300), deadline=None)
@given(st.lists(har_entries, max_size=6), st.integers(0, 40))
def test_har_never_raises_even_truncated(entries: list[Any], cut: int) -> None:
    text = json.dumps({"log": {"version": "1.2", "entries": entries}})
    if cut:
        text = text[: max(1, len(text) - cut)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "fuzz.har")
        path.write_text(text)
        out = _run(path)
    assert out.exchanges + out.skipped <= len(entries)
    if not cut:
        assert out.exchanges + out.skipped + out.malformed == len(entries)
