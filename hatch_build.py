"""Hatchling build hook: compile the one C module, ``vexora_conformance/judge/_seen.c``, where a C compiler is.

The module is an accelerator, not a requirement: ``judge/seen.py`` holds the same table in Python and uses it
when the compiled one is absent, with the same answers (docs/development.md, "The compiled store"). So a
failed or impossible compilation is a warning on the build's output, never a failed install.
``VEXORA_PURE_PYTHON=1`` skips it.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = Path("vexora_conformance", "judge", "_seen.c")


def compile_module(root: Path) -> Path | None:
    """Build the module next to its source (an editable install imports it from there); None if it cannot be."""
    if os.environ.get("VEXORA_PURE_PYTHON") == "1":
        return None
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    source = root / SOURCE
    target = source.with_name("_seen" + suffix)
    compiler = shlex.split(sysconfig.get_config_var("CC") or "cc")
    if not compiler or shutil.which(compiler[0]) is None:
        print(f"vexora-conformance: no C compiler ({compiler[:1]}): the Python duplicate store is used",
              file=sys.stderr)
        return None
    command = [*compiler, "-O2", "-shared", "-fPIC", "-Wall", "-Werror=implicit-function-declaration",
               f"-I{sysconfig.get_paths()['include']}", str(source), "-o", str(target)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"vexora-conformance: the C duplicate store was not built ({exc}): the Python one is used",
              file=sys.stderr)
        return None
    if done.returncode != 0:
        print(f"vexora-conformance: the C duplicate store was not built: the Python one is used\n{done.stderr}",
              file=sys.stderr)
        target.unlink(missing_ok=True)
        return None
    return target


class CompiledStoreHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        built = compile_module(Path(self.root))
        if built is None:
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        if version != "editable":  # the tree's copy is ignored by git, so hatchling would leave it out
            build_data["force_include"][str(built)] = str(built.relative_to(self.root))
