"""Snapshots of every report format, so a change in any word shows up as a diff in review.

validate (text, JSON, JSON lines, JUnit, GitHub) on the bundled capture, check-notify (text, JSON) on a handler
with a mistake, check-signer (text, JSON) on a signer with one, and the plugin's failure text. The few parts
that change from run to run (times, ports, generated numbers) are replaced by placeholders first.
``VEXORA_UPDATE_GOLDEN=1`` rewrites the files; review the diff before committing it.
"""

from __future__ import annotations

import io
import os
import re
import sys
from pathlib import Path

import pytest

from tests.notify_handlers import handler, serving
from vexora_conformance.cli import run

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "golden"
SECRET_FILE = "examples/captures/sandbox-secret.txt"
SIGNER = str(ROOT / "tests" / "signers" / "mistaken_signer.py")


def _normal(text: str) -> str:
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)
    text = re.sub(r"\(\d+ ms\)", "(N ms)", text)
    text = re.sub(r"vexora-check-\d+", "vexora-check-N", text)
    text = re.sub(r"unknown-\d+", "unknown-N", text)
    text = re.sub(r"vx\d{14}", "vxN", text)
    text = re.sub(r'"elapsed_s": [0-9.e-]+', '"elapsed_s": N', text)
    return text.replace(str(ROOT), "ROOT")


def _match(name: str, text: str) -> None:
    path = GOLDEN / name
    text = _normal(text)
    if os.environ.get("VEXORA_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"no golden file {name}: run with VEXORA_UPDATE_GOLDEN=1 and review it"
    assert text == path.read_text(encoding="utf-8"), f"{name} changed: review, then VEXORA_UPDATE_GOLDEN=1"


@pytest.mark.parametrize("fmt", ["text", "json", "jsonl", "junit", "github"])
def test_validate_reports(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    out = io.StringIO()
    code = run(["validate", "examples/captures/checkout.jsonl", "--secret-file", SECRET_FILE, "--merchant-no",
                "1000000001", "--format", fmt], out, io.StringIO())
    assert code == 1
    _match(f"validate.{fmt}", out.getvalue())


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_check_notify_reports(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEXORA_SECRET", "golden-secret")
    app = handler("golden-secret", {"T-GOLDEN": "300"}, reply=b"success")  # the first integration's mistake
    with serving(app) as url:
        out = io.StringIO()
        code = run(["check-notify", url, "--trade-no", "T-GOLDEN", "--amount", "300", "--format", fmt], out,
                   io.StringIO())
    assert code == 1
    # The battery numbers its orders by the clock, so their signs change too.
    _match(f"check-notify.{fmt}", re.sub(r'"sign": "[0-9a-f]{32}"', '"sign": "SIGN"', out.getvalue()))


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_check_signer_reports(fmt: str) -> None:
    out = io.StringIO()
    code = run(["check-signer", "--examples", "20", "--format", fmt, "--", sys.executable, SIGNER, "ampersand-joined"],
               out, io.StringIO())
    assert code == 1
    _match(f"check-signer.{fmt}", out.getvalue())


def test_plugin_failure_text(pytester: pytest.Pytester) -> None:
    pytester.makepyfile('''
import hashlib, httpx

def test_client(vexora_mock):
    body = {"timestamp": "1", "tradeNo": "T1", "amount": "300.5", "notifyUrl": "https://shop.example/n"}
    text = "".join(f"{k}={body[k]}" for k in sorted(body))
    body["sign"] = hashlib.md5(("vexora-test-secret" + text).encode()).hexdigest()
    httpx.post("https://h.example/mexico/v1/vexora/checkout", json=body, headers={"merchantNo": "1000000001"})
''')
    result = pytester.runpytest("-p", "no:cacheprovider")
    text = result.stdout.str()
    block = text[text.index("vexora_mock:"):text.index("every rule, and what to do")]
    _match("plugin-failure.txt", re.sub(r"timestamp is \d+ s", "timestamp is N s", block))
