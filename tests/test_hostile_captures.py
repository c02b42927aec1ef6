"""Hostile captures for `validate`: each case of the hostile-input issue, run as written, under a memory cap.

Every run must end in findings or exit 2 with one line; never a traceback, never past 1.5 GB or 15 s.
Large inputs are generated here, at test time.
"""

from __future__ import annotations

import errno
import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from examples import make_captures as mc
from tests.hostile import CANARY, PAYER, cli
from vexora_conformance.contract import signing
from vexora_conformance.contract.signing.reference import Secret
from vexora_conformance.core.exchange import Exchange
from vexora_conformance.doors import validate as validate_module
from vexora_conformance.doors.capture import read_capture
from vexora_conformance.doors.harsplit import Entry, split_har
from vexora_conformance.doors.validate import validate
from vexora_conformance.judge.exchange import JudgeOptions, judge_exchange

URL = "https://sandbox.vexora.example/mexico/v1/vexora/checkout"


def checkout_entry(n: int = 0, **changes: Any) -> dict[str, Any]:
    body = {"timestamp": str(int((mc.T0 + n) * 1000)), "tradeNo": f"H{n:06d}", "amount": "300",
            "notifyUrl": "https://m.example/n", "email": PAYER[0], "mobile": PAYER[1], "payer": PAYER[2], **changes}
    body["sign"] = signing.sign(body, CANARY)
    return {"startedDateTime": "2025-11-24T16:00:00Z",
            "request": {"method": "POST", "url": URL, "headers": [{"name": "Content-Type", "value": "application/json"},
                                                                  {"name": "merchantNo", "value": mc.MERCHANT}],
                        "postData": {"text": json.dumps(body, ensure_ascii=False)}}}


def har_bytes(entries: list[bytes], before: bytes = b"") -> bytes:
    return b'{"log":{"version":"1.2",' + before + b'"entries":[' + b",".join(entries) + b"]}}"


GOOD = json.dumps(checkout_entry(1)).encode()


@pytest.fixture
def captures() -> Path:
    return Path(__file__).resolve().parent.parent / "examples" / "captures"


def run_har(tmp_path: Path, data: bytes, fmt: str = "json") -> Any:
    path = tmp_path / "hostile.har"
    path.write_bytes(data)
    return cli(["validate", str(path), "--format", fmt])


def summary(ran: Any) -> dict[str, Any]:
    assert "Traceback" not in ran.err, ran.err
    return json.loads(ran.out)["summary"]  # type: ignore[no-any-return]


# --- 1. nesting: refused while streaming, a finding, and the next entry is still read ---

@pytest.mark.parametrize("deep", [
    pytest.param(b"[" * 20_000 + b"]" * 20_000, id="20k-deep-arrays-as-an-entry"),
    pytest.param(b"[" * 60_000 + b"]" * 60_000, id="120KB-of-nesting"),
    pytest.param(b'{"a":' * 40_000 + b"1" + b"}" * 40_000, id="40k-deep-objects-as-an-entry"),
])
def test_deep_nesting_in_an_entry_is_one_finding_and_the_next_entry_is_judged(tmp_path: Path, deep: bytes) -> None:
    ran = run_har(tmp_path, har_bytes([deep, GOOD]))
    s = summary(ran)
    assert s["malformed"] == 1 and s["exchanges"] == 1
    assert "nested deeper than 64" in json.dumps(json.loads(ran.out)["findings"])


def test_deep_nesting_inside_post_data_and_pages(tmp_path: Path) -> None:
    entry = json.dumps(checkout_entry(2)).encode()
    nested_post = entry.replace(b'"postData": {', b'"postData": {"x": ' + b"[" * 30_000 + b"]" * 30_000 + b", ", 1)
    pages = b'"pages":' + b"[" * 50_000 + b"]" * 50_000 + b","
    s = summary(run_har(tmp_path, har_bytes([nested_post, GOOD], before=pages)))
    assert s["exchanges"] == 1 and s["malformed"] == 2  # the deep entry, and a note for the pages


# --- 2. long strings: linear ---

def test_a_200_MB_string_is_read_in_linear_time(tmp_path: Path) -> None:
    path = tmp_path / "long.har"
    with path.open("wb") as f:
        f.write(b'{"log":{"entries":[{"request":{"method":"POST","url":"' + URL.encode() + b'","postData":{"text":"')
        for _ in range(200):
            f.write(b"a" * 1_000_000)
        f.write(b'"}}},' + GOOD + b"]}}")
    ran = cli(["validate", str(path), "--format", "json"])  # the cap: 15 s (it took 162 s when quadratic)
    s = summary(ran)
    assert s["exchanges"] == 1 and s["malformed"] == 1
    assert "larger than 16 MiB" in ran.out


@pytest.mark.parametrize("chunk", [7, 64, 4096])
def test_the_splitter_agrees_with_json_on_valid_files_whatever_the_read_size(chunk: int) -> None:
    """A differential check of harsplit: every entry it cuts parses to what json.loads sees in the whole file."""
    entries = [checkout_entry(n, remark='quote " back\\\\slash } ] { [') for n in range(4)] + [[1, [2]], "s", 3, None]
    text = json.dumps({"log": {"pages": [{"a": [1, {"b": "]"}]}], "entries": entries, "after": 1}}, indent=1)
    pieces = list(split_har(io.BytesIO(text.encode()), 1 << 20, chunk=chunk))
    kept = [json.loads(p.text) for p in pieces if isinstance(p, Entry) and p.problem is None]
    assert kept == [e for e in entries if isinstance(e, (dict, list))]
    assert sum(1 for p in pieces if isinstance(p, Entry) and p.problem is not None) == 3  # "s", 3, None


# --- 3. integers of 310 digits and more ---

@pytest.mark.parametrize("where", ["body-timestamp", "jsonl-time", "har-started"])
def test_huge_integers_are_findings_not_overflows(tmp_path: Path, where: str) -> None:
    huge = 10**400
    if where == "har-started":
        entry = checkout_entry(3)
        entry["startedDateTime"] = huge
        s = summary(run_har(tmp_path, har_bytes([json.dumps(entry).encode(), GOOD])))
        assert s["malformed"] == 1 and s["exchanges"] == 1
        return
    body = {"timestamp": huge if where == "body-timestamp" else "1764000000000", "tradeNo": "X1", "amount": "300",
            "notifyUrl": "https://m.example/n"}
    record = {"request": {"method": "POST", "url": URL, "headers": {"merchantNo": mc.MERCHANT,
                                                                      "Content-Type": "application/json"},
                          "body": json.dumps(body)}, "time": huge if where == "jsonl-time" else mc.T0}
    path = tmp_path / "huge.jsonl"
    path.write_text(json.dumps(record) + "\n" + json.dumps({**record, "time": mc.T0}) + "\n")
    ran = cli(["validate", str(path), "--format", "json"])
    s = summary(ran)
    assert s["exchanges"] + s["malformed"] == 2 and ran.code == 1


# --- 6. --jobs ---

def big_jsonl(path: Path, records: int) -> Path:
    lines = mc.jsonl_lines()
    with path.open("w", encoding="utf-8") as f:
        for n in range(records):
            f.write(lines[n % len(lines)] + "\n")
    return path


@pytest.mark.parametrize("make", ["missing", "directory", "symlink-loop"])
def test_jobs_2_on_a_path_that_cannot_be_read_is_one_line_exit_2(tmp_path: Path, make: str) -> None:
    path = tmp_path / "target"
    if make == "directory":
        path.mkdir()
    elif make == "symlink-loop":
        os.symlink(tmp_path / "other", path)
        os.symlink(path, tmp_path / "other")
    for jobs in ("1", "2"):
        ran = cli(["validate", str(path), "--jobs", jobs])
        assert ran.one_line_error(), (jobs, ran.err)


def test_jobs_2_on_an_unreadable_file_is_one_line_exit_2(tmp_path: Path) -> None:
    path = big_jsonl(tmp_path / "locked.jsonl", 10)
    path.chmod(0)
    if os.access(path, os.R_OK):
        pytest.skip("running as root: a file without read permission is still readable here")
    assert cli(["validate", str(path), "--jobs", "2"]).one_line_error()


@pytest.mark.parametrize(("code", "words"), [(errno.ENOENT, "no such file"), (errno.EACCES, "permission denied")])
def test_a_file_removed_or_locked_while_workers_read_it_is_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  code: int, words: str) -> None:
    """What a worker meets when the file goes away (or loses its permissions) after the run started."""
    path = big_jsonl(tmp_path / "vanishing.jsonl", 50)
    monkeypatch.setattr(validate_module, "CHUNK_BYTES", 4096)

    def vanished(*args: Any) -> Any:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(validate_module, "_judge_lines", vanished)  # the workers are forked: they inherit it
    from tests.test_validate import cli as in_process

    exit_code, _, err = in_process(["validate", str(path), "--jobs", "2"])
    assert exit_code == 2 and words in err and len(err.strip().splitlines()) == 1


def test_a_fifo_is_read_in_order_with_jobs_2(tmp_path: Path) -> None:
    source = big_jsonl(tmp_path / "big.jsonl", 12_000)  # 3 chunks of 4 MiB: the old code judged none of them
    fifo = tmp_path / "capture.fifo"
    os.mkfifo(fifo)

    def feed() -> None:
        with fifo.open("wb") as w:
            w.write(source.read_bytes())

    threading.Thread(target=feed, daemon=True).start()
    ran = cli(["validate", str(fifo), "--jobs", "2", "--format", "json"], timeout=60)
    assert summary(ran)["exchanges"] == 12_000


def test_workers_are_capped_at_the_chunks_there_are(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = big_jsonl(tmp_path / "twelve.jsonl", 120)
    monkeypatch.setattr(validate_module, "CHUNK_BYTES", path.stat().st_size // 12 + 1)
    asked: list[int] = []
    real = validate_module.ProcessPoolExecutor

    def counting(max_workers: int) -> Any:
        asked.append(max_workers)
        return real(max_workers=max_workers)

    monkeypatch.setattr(validate_module, "ProcessPoolExecutor", counting)
    outcome = validate([str(path)], JudgeOptions(secret=Secret(mc.SECRET)), jobs=1000)
    assert asked == [12] and outcome.exchanges == 120


def test_workers_drain_an_over_long_line_in_bounded_reads(tmp_path: Path) -> None:
    """A 150 MB line under a 300 MB cap: a worker reading it whole (its bytes, then its text) would die."""
    path = tmp_path / "long-line.jsonl"
    line = mc.jsonl_lines()[0]
    with path.open("wb") as f:
        f.write(line.encode() + b"\n" + b'{"pad": "')
        for _ in range(150):
            f.write(b"x" * 1_000_000)
        f.write(b'"}\n' + line.encode() + b"\n")
    ran = cli(["validate", str(path), "--jobs", "2", "--format", "json"], memory=300 * 1024 * 1024, timeout=180)
    s = summary(ran)
    assert s["malformed"] == 1 and s["exchanges"] == 2


# --- 7. write failures are exit 2, never "findings" ---

def test_a_report_that_cannot_be_written_is_exit_2(captures: Path) -> None:
    jsonl = str(captures / "checkout.jsonl")
    assert cli(["validate", jsonl, "--output", "/dev/full"]).one_line_error()
    with open("/dev/full", "wb") as full:  # standard output on a full disk
        proc = subprocess.run([sys.executable, "-m", "vexora_conformance", "validate", jsonl, "--format", "json"],
                              stdout=full, stderr=subprocess.PIPE, env={**os.environ, "VEXORA_SECRET": mc.SECRET},
                              timeout=60)
    assert proc.returncode == 2 and b"Traceback" not in proc.stderr
    assert b"cannot write" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


# --- 10, 11, 13: duplicates, the same file twice, BOM, side files, pointers ---

def test_the_same_capture_given_twice_reports_every_tradeno_again(captures: Path) -> None:
    jsonl = str(captures / "checkout.jsonl")
    once = summary(cli(["validate", jsonl, "--format", "json"]))
    twice = summary(cli(["validate", jsonl, jsonl, "--format", "json"]))
    options = JudgeOptions(secret=Secret(mc.SECRET))
    verdicts = [judge_exchange(item, options) for item in read_capture(jsonl) if isinstance(item, Exchange)]
    for endpoint in ("checkout", "payout"):
        remembered = sum(1 for v in verdicts if v.trade_no is not None and v.endpoint == endpoint)
        rule = {"checkout": "trade-no.duplicate", "payout": "payout.trade-no.duplicate"}[endpoint]
        # The second pass repeats every remembered tradeNo of the first.
        assert twice["by_rule"][rule] == once["by_rule"][rule] + remembered, endpoint


@pytest.mark.parametrize("name", ["checkout.har", "checkout.jsonl"])
def test_a_utf8_bom_is_accepted(captures: Path, tmp_path: Path, name: str) -> None:
    plain = summary(cli(["validate", str(captures / name), "--format", "json"]))
    path = tmp_path / name
    path.write_bytes(b"\xef\xbb\xbf" + (captures / name).read_bytes())
    for jobs in ("1", "2"):
        with_bom = summary(cli(["validate", str(path), "--format", "json", "--jobs", jobs]))
        assert {**with_bom, "sources": []} == {**plain, "sources": []}


def test_side_file_that_is_not_a_name_or_is_a_fifo(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "body.fifo")
    entries = []
    for side in (5, "body.fifo"):
        e = checkout_entry(7)
        e["request"]["postData"] = {"_file": side}
        entries.append(json.dumps(e).encode())
    ran = run_har(tmp_path, har_bytes([*entries, GOOD]))  # a FIFO read would hang past the time cap
    text = json.dumps(json.loads(ran.out)["findings"])
    assert "content._file is not a file name" in text and "not a regular file" in text


def test_a_control_character_in_a_key_cannot_forge_a_report_line(tmp_path: Path) -> None:
    body = {"timestamp": "1764000000000", "tradeNo": "K1", "amount": "300", "notifyUrl": "https://m.example/n",
            "x\nFAIL: forged\x1b[2J": "1"}
    body["sign"] = signing.sign(body, CANARY)
    record = {"request": {"method": "POST", "url": URL, "body": json.dumps(body),
                          "headers": {"merchantNo": "1", "Content-Type": "application/json"}}}
    path = tmp_path / "keys.jsonl"
    path.write_text(json.dumps(record) + "\n")
    for fmt in ("text", "github"):
        ran = cli(["validate", str(path), "--format", fmt])
        assert "\x1b" not in ran.out and not any(ln.startswith("FAIL: forged") for ln in ran.out.splitlines())


def test_no_output_repeats_the_secret_or_the_payer(tmp_path: Path) -> None:
    entries = [json.dumps(checkout_entry(n, amount="300.5" if n % 2 else "300")).encode() for n in range(4)]
    for fmt in ("text", "json", "jsonl", "junit", "github"):
        ran = run_har(tmp_path, har_bytes(entries), fmt)
        assert ran.code == 1 and ran.clean_of_secrets()


# --- round two: a file cut short while it is read ---

class _Truncating:
    """A sink that cuts the capture short when the first record is reported (someone rotating the log)."""

    wants_labels = False

    def __init__(self, path: Path) -> None:
        self.path, self.done = path, False

    def record(self, *args: Any) -> None:
        if not self.done:
            self.done = True
            with open(self.path, "r+b") as f:
                f.truncate(f.seek(0, 2) // 2)

    def finish(self, outcome: Any) -> None:
        pass


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_file_cut_short_while_it_is_read_is_an_input_error(tmp_path: Path, jobs: int) -> None:
    from vexora_conformance.core.errors import InputError

    line = mc.jsonl_lines()[0] + "\n"
    path = tmp_path / "rotating.jsonl"
    path.write_text(line * (validate_module.CHUNK_BYTES * 2 // len(line) + 10))
    with pytest.raises(InputError, match="changed while it was read"):
        validate([str(path)], JudgeOptions(secret=Secret(mc.SECRET)), jobs=jobs, sink=_Truncating(path),
                 collect=False)

