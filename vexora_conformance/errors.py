"""Tool errors: the user's invocation or input file is unusable (exit 2).

These are distinct from findings, which are data about the client under test.
Messages are one line and never contain the app secret.
"""

from __future__ import annotations


class ToolError(Exception):
    """A usage or input problem; ``str()`` is the one-line reason shown to the user."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class UsageError(ToolError):
    """Bad options or a missing secret."""


class InputError(ToolError):
    """An input file that cannot be read at all (not one bad record: that is a finding)."""
