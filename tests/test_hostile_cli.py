"""Hostile input for sign, doctor, check-signer, the judge and the fake provider: the rest of the issue's cases."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import signed_body
from tests.hostile import CANARY, PAYER, cli
from vexora_conformance import cli as cli_module
from vexora_conformance.contract import signing
from vexora_conformance.core.exchange import Exchange, Request, Response
from vexora_conformance.doors.fake.mock import fake_provider
from vexora_conformance.judge.exchange import JudgeOptions, judge_exchange

URL = "https://h.example/v1/vexora/checkout"
HEADERS = {"content-type": "application/json", "merchantno": "1000000001"}


# --- 8. sign and doctor read at most 16 MiB ---

@pytest.mark.parametrize("command", ["sign", "doctor"])
def test_standard_input_is_capped(command: str) -> None:
    with open("/dev/zero", "rb") as zero:
        ran = cli([command, "-"], stdin=zero)
    assert ran.one_line_error() and "larger than 16 MiB" in ran.err


@pytest.mark.parametrize("command", ["sign", "doctor"])
def test_a_device_as_the_file_is_capped_too(command: str) -> None:
    assert cli([command, "/dev/zero"]).one_line_error()


# --- 9. check-signer: a timeout per case, the whole process group ended ---

def signer(tmp_path: Path, source: str) -> list[str]:
    path = tmp_path / "signer.py"
    path.write_text(source)
    return [sys.executable, str(path)]


def test_a_signer_that_drips_one_character_at_a_time_times_out(tmp_path: Path) -> None:
    argv = signer(tmp_path, "import sys, time\nfor line in sys.stdin:\n    for ch in '0' * 32:\n"
                            "        sys.stdout.write(ch); sys.stdout.flush(); time.sleep(0.3)\n")
    started = time.monotonic()
    ran = cli(["check-signer", "--timeout", "1", "--", *argv])
    assert ran.one_line_error() and "within 1 s" in ran.err
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("value", ["nan", "1e300", "inf", "0", "-1", "soon"])
def test_a_bad_timeout_is_a_usage_error(value: str) -> None:
    assert cli(["check-signer", "--timeout", value, "--", "true"]).one_line_error()


def test_what_the_signer_started_is_ended_with_it(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    argv = signer(tmp_path, "import subprocess, sys\n"
                            f"p = subprocess.Popen(['sleep', '300'])\nopen({str(pid_file)!r}, 'w').write(str(p.pid))\n"
                            "sys.stdin.readline()\nprint('not a sign', flush=True)\n")
    ran = cli(["check-signer", "--", *argv])
    assert ran.one_line_error()
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"  # a zombie is dead, only not yet reaped
    except FileNotFoundError:
        return False


# --- 10. duplicate keys ---

def judged(raw: bytes, response: bytes | None = None) -> list[tuple[str, str | None]]:
    resp = Response(200, {"content-type": "application/json"}, response) if response is not None else None
    verdict = judge_exchange(Exchange(Request("POST", URL, HEADERS, raw), resp),
                             JudgeOptions(secret=signing.Secret("s")))
    return [(f.rule, f.pointer) for f in verdict.findings]


def test_a_key_given_twice_is_an_error_at_its_pointer() -> None:
    body = signed_body("s")
    text = json.dumps(body)[:-1]
    assert ("request.duplicate-key", "/amount") in judged((text + ', "amount": "999"}').encode())
    assert ("request.duplicate-key", "/sign") in judged((text + f', "sign": "{"0" * 32}"}}').encode())
    nested = (text + ', "x": {"a/b": 1, "a/b": 2}}').encode()
    assert ("request.duplicate-key", "/x/a~1b") in judged(nested)


def test_a_response_key_given_twice_is_an_error_under_response() -> None:
    body = json.dumps(signed_body("s")).encode()
    reply = b'{"msg":"success","code":"0000","code":"8000","timestamp":1,"success":true,"data":null}'
    assert ("response.duplicate-key", "/response/code") in judged(body, reply)


# --- 3, 12: the fake provider with huge integers; reprs without payer data ---

def test_the_fake_answers_a_huge_integer_timestamp_and_records_it() -> None:
    with fake_provider(check=False) as fake:
        body = signed_body("vexora-test-secret", email=PAYER[0])
        body["timestamp"] = 10**400
        r = httpx.post("https://sandbox.vexora.test/v1/vexora/checkout", content=json.dumps(body),
                       headers={"merchantNo": "1000000001", "Content-Type": "application/json"})
    assert r.json()["code"] == "8000" and len(fake.calls) == 1


def test_reprs_show_no_payer_data_and_no_secret() -> None:
    with fake_provider(secret=CANARY, check=False) as fake:
        body = signed_body(CANARY, email=PAYER[0], mobile=PAYER[1], payer=PAYER[2])
        httpx.post(f"https://sandbox.vexora.test/v1/vexora/checkout?email={PAYER[0]}", json=body,
                   headers={"merchantNo": "1000000001"})
    exchange = Exchange(Request("POST", f"{URL}?email={PAYER[0]}", HEADERS, json.dumps(body)),
                        Response(200, {}, json.dumps({"payer": PAYER[2]})))
    for text in (repr(fake), repr(fake.calls[0]), repr(fake.calls), repr(exchange), str(fake)):
        assert CANARY not in text and not any(p in text for p in PAYER), text


# --- 13. error text in words; the last net ---

def test_os_errors_are_said_in_words(tmp_path: Path) -> None:
    cases = {"/nope": "no such file", str(tmp_path): "is a folder"}
    for path, words in cases.items():
        ran = cli(["sign", "-", "--secret-file", path], stdin=b"{}")
        assert ran.one_line_error() and words in ran.err and "Error" not in ran.err, ran.err
        ran = cli(["validate", path])
        assert ran.one_line_error() and words in ran.err and "Error" not in ran.err, ran.err


def test_an_unexpected_error_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def broken(*args: Any) -> Any:
        raise RuntimeError(f"boom with {CANARY}")

    from vexora_conformance.cli import sign as sign_command

    monkeypatch.setattr(sign_command, "run_sign", broken)
    import io

    err = io.StringIO()
    code = cli_module.run(["sign", "-"], io.StringIO(), err)
    assert code == 2 and "please report" in err.getvalue() and CANARY not in err.getvalue()
    assert len(err.getvalue().strip().splitlines()) == 1
