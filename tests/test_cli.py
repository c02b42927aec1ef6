"""The `sign`, `doctor` and top-level command line: outputs, exit codes, secret handling, start-up cost."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_signing import TRAP_BODY
from vexora_conformance.cli import run
from vexora_conformance.contract import signing
from vexora_conformance.contract.registry import contract
from vexora_conformance.contract.signing.diagnosis import MISTAKE_IDS, recipes_for, sign_with

CANARY = "canary-cli-secret-77e2"
BODY = {k: v for k, v in contract("checkout").example_request.items() if k != "sign"}


def cli(args: list[str], stdin_text: str | None = None, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    stdin = io.TextIOWrapper(io.BytesIO(stdin_text.encode())) if stdin_text is not None else None
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("VEXORA_SECRET", raising=False)
        for k, v in (env if env is not None else {"VEXORA_SECRET": CANARY}).items():
            mp.setenv(k, v)
        code = run(args, out, err, stdin=stdin)
    return code, out.getvalue(), err.getvalue()


def test_sign_prints_canonical_string_masked_preimage_and_sign() -> None:
    code, out, _ = cli(["sign", "-"], json.dumps(BODY))
    assert code == 0
    assert f"canonical: {signing.canonical_string(BODY)}" in out
    assert f"sign:      {signing.sign(BODY, CANARY)}" in out
    assert "********" in out and CANARY not in out


def test_sign_json_and_ambiguity_warnings(tmp_path: Path) -> None:
    path = tmp_path / "body.json"
    path.write_text(json.dumps({**BODY, "remark": None}))
    code, out, _ = cli(["sign", str(path), "--format", "json"])
    result = json.loads(out)
    assert code == 0 and result["sign"] == signing.sign({**BODY, "remark": None}, CANARY)
    assert [a["id"] for a in result["ambiguities"]] == ["null-value"]


@pytest.mark.parametrize("mistake", MISTAKE_IDS)
def test_doctor_names_each_single_mistake_from_the_command_line(mistake: str) -> None:
    secret = f" {CANARY}\t"  # white space around it, so that secret-trimmed can show too
    observed = sign_with(TRAP_BODY, secret, recipes_for(mistake)[0], merchant_no="1000000001")
    code, out, err = cli(["doctor", "-", "--sign", observed, "--merchant-no", "1000000001", "--format", "json"],
                         json.dumps(TRAP_BODY), env={"VEXORA_SECRET": secret})
    assert code == 1, err
    assert json.loads(out)["matches"] == [mistake]
    assert CANARY not in out + err


def test_doctor_text_and_correct_sign() -> None:
    good = {**BODY, "sign": signing.sign(BODY, CANARY)}
    code, out, _ = cli(["doctor", "-"], json.dumps(good))
    assert code == 0 and "diagnosis: the sign is correct" in out
    code, out, _ = cli(["doctor", "-", "--sign", "0" * 32], json.dumps(BODY))
    assert code == 1 and "no known mistake" in out


def test_secret_sources(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-file\n")
    _, out, _ = cli(["sign", "-", "--secret-file", str(secret_file), "--format", "json"], json.dumps(BODY), env={})
    assert json.loads(out)["sign"] == signing.sign(BODY, "from-file")
    _, out, _ = cli(["sign", "-", "--secret-env", "MY_SECRET", "--format", "json"], json.dumps(BODY),
                    env={"MY_SECRET": "from-env"})
    assert json.loads(out)["sign"] == signing.sign(BODY, "from-env")


@pytest.mark.parametrize("args, stdin, fragment", [
    (["sign", "-"], "{}", "no app secret"),
    (["sign", "-", "--secret-file", "/nonexistent"], "{}", "cannot read the secret file"),
    (["sign", "-", "--secret-env", "A", "--secret-file", "B"], "{}", "not both"),
    (["sign", "/nonexistent.json"], None, "cannot read"),
    (["sign", "-"], "{not json", "not valid JSON"),
    (["sign", "-"], "[1, 2]", "expected a JSON object"),
    (["sign", "-"], "[" * 10000, "nested deeper"),
    (["doctor", "-"], "{}", "has no sign"),
    (["sign"], None, "required"),
    (["nonsense"], None, "invalid choice"),
])
def test_errors_are_one_line_exit_2_and_never_show_the_secret(args: list[str], stdin: str | None,
                                                             fragment: str) -> None:
    env = {} if fragment == "no app secret" else {"VEXORA_SECRET": CANARY}
    code, out, err = cli(args, stdin, env=env)
    assert code == 2 and fragment in err
    assert err.strip().splitlines()[-1].startswith("vexora-conformance: error:")
    assert "Traceback" not in err and CANARY not in out + err


def test_version_and_module_entry_point() -> None:
    from vexora_conformance import __version__

    out = subprocess.run([sys.executable, "-m", "vexora_conformance", "--version"], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == f"vexora-conformance {__version__}"


def test_help_imports_nothing_heavy() -> None:
    """--help must start fast: heavy modules load only in the command that needs them."""
    code = ("import sys, contextlib, io\nfrom vexora_conformance import cli\n"
            "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
            "    cli.run(['--help'])\n"
            "print(sorted(m for m in ('jsonschema', 'httpx', 'respx', 'hypothesis', "
            "'vexora_conformance.judge.exchange', 'vexora_conformance.contract.signing.diagnosis') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_secret_repr_in_options_is_masked() -> None:
    from vexora_conformance.judge.exchange import JudgeOptions

    options = JudgeOptions(secret=signing.Secret(CANARY))
    assert CANARY not in repr(options) and CANARY not in str(options)




@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_lone_surrogate_prints_as_an_escape(fmt: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "vexora_conformance", "sign", "-", "--format", fmt],
                          input='{"a": "\\ud800", "b": "\\u00e9"}', capture_output=True, text=True,
                          env={"VEXORA_SECRET": "x", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    assert "\\ud800" in proc.stdout and "é" in proc.stdout
    if fmt == "json":
        assert json.loads(proc.stdout)["canonical"] == "a=\ud800b=é"
