"""Where the app secret comes from: an environment variable or a file, never argv."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping

from ..contract.signing import Secret
from ..core.errors import UsageError, os_reason

DEFAULT_ENV = "VEXORA_SECRET"
MAX_SECRET_FILE = 64 * 1024  # /dev/zero is a file too


def _read_file(path: str) -> str:
    """The secret file's text: a regular file only (a FIFO with no writer would block for ever), bounded."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            if not stat.S_ISREG(mode):
                raise UsageError(f"the secret file {path} is not a regular file (a pipe or a device?)")
            data = f.read(MAX_SECRET_FILE + 1)
    except OSError as exc:
        raise UsageError(f"cannot read the secret file {path}: {os_reason(exc)}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"the secret file {path} is not UTF-8 text") from None


def resolve_secret(secret_env: str | None, secret_file: str | None, environ: Mapping[str, str] | None = None,
                   required: bool = True, instead: str | None = None) -> Secret | None:
    """The secret named by the options, else ``$VEXORA_SECRET``; ``UsageError`` when required and absent
    (``instead`` names the option that makes a run without one deliberate)."""
    environ = os.environ if environ is None else environ
    if secret_env and secret_file:
        raise UsageError("give --secret-env or --secret-file, not both")
    if secret_file:
        text = _read_file(secret_file)
        if len(text) > MAX_SECRET_FILE:
            raise UsageError(f"the secret file {secret_file} is larger than {MAX_SECRET_FILE} bytes: not an app secret")
        value = text.rstrip("\r\n")
        if not value:
            raise UsageError(f"the secret file {secret_file} is empty")
        return Secret(value)
    name = secret_env or DEFAULT_ENV
    value = environ.get(name, "")
    if value:
        return Secret(value)
    if required or secret_env:
        tail = f" ({instead})" if instead else ""
        raise UsageError(f"no app secret: set ${name}, or pass --secret-env NAME or --secret-file PATH{tail}")
    return None
