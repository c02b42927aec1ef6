"""The documentation runs: every shell and Python example in the README and docs/, and the site builds strictly.

A shell block runs in a scratch folder that sees the checkout's ``.venv``, ``examples`` and ``tests`` as the
docs' reader does; a line ending in ``# exit: N`` must exit N (a validate run that finds the bundled
capture's planted defects exits 1), every other line must succeed. The set-up (it makes the venv this suite
runs in; the rest of its line runs) and the command that runs this suite are not run here, said in the skip.
A Python block that defines tests runs under pytest with the installed plugin; any other runs as a script.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)
EXIT = re.compile(r"\s+# exit: (\d+)$")
NOT_RUN = ("-m pytest",)  # this very suite
SET_UP = ("python3 -m venv", "pip install")  # the set-up of this very venv: the rest of its line runs
VENV = Path(sys.prefix)


FILE = re.compile(r"(?:#|//) file: (\S+)\n")  # a block that is a file the page's shell blocks use


def _blocks(language: str) -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for n, match in enumerate(m for m in FENCE.finditer(page.read_text(encoding="utf-8"))
                                  if m.group(1) == language and not FILE.match(m.group(2))):
            found.append((f"{page.relative_to(ROOT)}#{n}", match.group(2)))
    return found


def _files(where: str) -> dict[str, str]:
    """The blocks of ``where``'s page that are files (``# file: NAME`` first): written beside its shell blocks."""
    page = ROOT / where.split("#", 1)[0]
    return {f.group(1): m.group(2) for m in FENCE.finditer(page.read_text(encoding="utf-8"))
            if (f := FILE.match(m.group(2)))}


SHELL = _blocks("sh")
PYTHON = _blocks("python")


def _scratch(tmp_path: Path, where: str = "") -> Path:
    for name, target in ((".venv", VENV), ("examples", ROOT / "examples"), ("tests", ROOT / "tests")):
        (tmp_path / name).symlink_to(target)
    for name, text in (_files(where) if where else {}).items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def _script(block: str) -> tuple[str, list[str]]:
    lines, skipped = ["set -e"], []
    for line in block.splitlines():
        if not line.strip():
            continue
        if any(marker in line for marker in NOT_RUN):
            skipped.append(line)
            continue
        if any(marker in line for marker in SET_UP):
            parts = line.split(" && ")
            skipped += [p for p in parts if any(marker in p for marker in SET_UP)]
            line = " && ".join(p for p in parts if not any(marker in p for marker in SET_UP))
            if not line.strip():
                continue
        expected = EXIT.search(line)
        if expected is None:
            lines.append(line)
            continue
        command = line[: expected.start()]
        lines += ["set +e", command, "rc=$?", "set -e",
                  f'[ "$rc" -eq {expected.group(1)} ] || {{ echo "exit $rc, not {expected.group(1)}: '
                  f'{command.replace(chr(34), chr(39))}" >&2; exit 99; }}']
    return "\n".join(lines) + "\n", skipped


def test_every_page_has_the_examples_this_test_runs() -> None:
    # a fence renamed (```shell, ```bash) would silently leave its block unrun
    for page in PAGES:
        languages = {m.group(1) for m in FENCE.finditer(page.read_text(encoding="utf-8"))}
        assert languages <= {"sh", "python", "text", "json", "js", "java", "php", "toml", "yaml"}, page
    for page in PAGES:  # every file block is used by a shell block of its page
        text = page.read_text(encoding="utf-8")
        for name in _files(str(page.relative_to(ROOT))):
            assert any(name in m.group(2) for m in FENCE.finditer(text) if m.group(1) == "sh"), (page, name)
    assert len(SHELL) >= 6 and len(PYTHON) >= 6


@pytest.mark.parametrize(("where", "block"), SHELL, ids=[w for w, _ in SHELL])
def test_shell_example_runs(where: str, block: str, tmp_path: Path) -> None:
    script, skipped = _script(block)
    if "node " in block and shutil.which("node") is None:
        pytest.skip("node is not installed: the example runs a Node signer")
    if script.strip() == "set -e":
        assert skipped, where
        pytest.skip(f"only the set-up or the suite's own command: {skipped}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEXORA_")}
    done = subprocess.run(["bash", "-c", script], cwd=_scratch(tmp_path, where), env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, f"{where}:\n{script}\nstdout:\n{done.stdout[-2000:]}\nstderr:\n{done.stderr[-2000:]}"
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("where", "block"), PYTHON, ids=[w for w, _ in PYTHON])
def test_python_example_runs(where: str, block: str, tmp_path: Path) -> None:
    if "distributed" in block and importlib.util.find_spec("distributed") is None:
        pytest.skip("the [dask] extra is not installed")
    cwd = _scratch(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VEXORA_", "PYTEST_"))}
    if re.search(r"^def test_", block, re.M):
        (cwd / "test_example.py").write_text(block, encoding="utf-8")
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W",
                   "error::pytest.PytestUnraisableExceptionWarning", "test_example.py"]
    else:
        (cwd / "example.py").write_text(block, encoding="utf-8")
        command = [sys.executable, "example.py"]
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{where}:\n{block}\nstdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-2000:]}"


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    if importlib.util.find_spec("mkdocs") is None:
        pytest.skip("mkdocs is not installed (it is in the [test] extra)")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f", str(ROOT / "mkdocs.yml"),
                           "-d", str(tmp_path / "site")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


def test_every_page_is_in_the_navigation() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in (ROOT / "docs").glob("*.md"):
        assert f": {page.name}" in nav, page.name


def test_the_readme_is_short_and_links_every_page() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 130
    for page in (ROOT / "docs").glob("*.md"):
        assert f"(docs/{page.name})" in readme, page.name


def test_benchmark_commands_use_the_venv() -> None:
    for page in PAGES:
        for line in page.read_text(encoding="utf-8").splitlines():
            if "benchmarks/" in line and "python " in line:
                assert ".venv/bin/python benchmarks/" in line, (page.name, line)
