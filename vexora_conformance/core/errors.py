"""Tool errors: the user's invocation or input file is unusable (exit 2).

These are distinct from findings, which are data about the client under test.
Messages are one line and never contain the app secret.
"""

from __future__ import annotations

import errno

_REASONS = {
    errno.ENOENT: "no such file or folder", errno.EISDIR: "is a folder, not a file",
    errno.ENOTDIR: "a part of the path is not a folder", errno.EACCES: "permission denied",
    errno.EPERM: "permission denied", errno.ELOOP: "too many symbolic links (a loop?)",
    errno.ENOSPC: "no space left on the device", errno.EROFS: "the file system is read-only",
    errno.ENAMETOOLONG: "the name is too long", errno.EMFILE: "too many open files",
    errno.EIO: "input/output error", errno.ENXIO: "no such device",
}


def os_reason(exc: OSError) -> str:
    """What an operating-system error means, in words a person can act on."""
    if exc.errno in _REASONS:
        return _REASONS[exc.errno]
    return (exc.strerror or "the operating system refused").lower()


class ToolError(Exception):
    """A usage or input problem; ``str()`` is the one-line reason shown to the user."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class UsageError(ToolError):
    """Bad options or a missing secret."""


class InputError(ToolError):
    """An input file that cannot be read at all (not one bad record: that is a finding)."""
