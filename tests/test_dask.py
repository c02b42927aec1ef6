"""validate on Dask's local cluster reports what `validate --jobs 1` reports (the optional [dask] extra)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from examples import make_captures as mc
from tests.test_ledger import SECRET, _line
from vexora_conformance.contract import signing
from vexora_conformance.doors.validate import validate
from vexora_conformance.judge.exchange import JudgeOptions
from vexora_conformance.report import JsonReport

distributed = pytest.importorskip("distributed", reason="the [dask] extra is not installed: Dask was not exercised")


@pytest.fixture(scope="module")
def client():  # type: ignore[no-untyped-def]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c, \
            distributed.Client(c) as cl:
        yield cl


def _both(paths: list[str], options: JudgeOptions, client, blocksize: int) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    from vexora_conformance.doors.dask_validate import validate_on_dask

    one, many = io.StringIO(), io.StringIO()
    validate(paths, options, sink=JsonReport(one), collect=False)
    validate_on_dask(paths, options, client, blocksize=blocksize, sink=JsonReport(many), collect=False)
    return one.getvalue(), many.getvalue()


def test_the_bundled_capture_gives_the_same_report(client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    mc.write(tmp_path)
    path = str(tmp_path / "checkout.jsonl")
    for options, blocksize in ((JudgeOptions(secret=signing.Secret(mc.SECRET)), 4000), (JudgeOptions(), 4000),
                               (JudgeOptions(secret=signing.Secret(mc.SECRET)), 600)):  # 600: some partitions hold no record
        one, many = _both([path, path], options, client, blocksize=blocksize)
        assert one == many
        assert json.loads(many)["summary"]["errors"] > 0


def test_100k_generated_records_give_the_same_report(client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "big.jsonl"
    lines = [_line(i, tamper=i % 7 == 0, mistake="secret-prefixed" if i % 11 == 0 else None) for i in range(100_000)]
    lines += [_line(i) for i in range(0, 100_000, 997)]  # duplicate tradeNos, spread over partitions
    path.write_text("\n".join(lines) + "\n")
    one, many = _both([str(path)], JudgeOptions(secret=signing.Secret(SECRET)), client, blocksize=4 * 1024 * 1024)
    assert one == many
    summary = json.loads(many)["summary"]
    assert summary["exchanges"] == len(lines) and summary["by_rule"]["trade-no.duplicate"] == 101
