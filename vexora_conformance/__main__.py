"""``python -m vexora_conformance``: the same command as ``vexora-conformance``."""

from .cli import main

main()
