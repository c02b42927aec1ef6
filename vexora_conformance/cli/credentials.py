"""Where the app secret comes from: an environment variable or a file, never argv."""

from __future__ import annotations

import os
from collections.abc import Mapping

from ..contract.signing.reference import Secret
from ..core.errors import UsageError, os_reason

DEFAULT_ENV = "VEXORA_SECRET"
MAX_SECRET_FILE = 64 * 1024  # /dev/zero is a file too


def resolve_secret(secret_env: str | None, secret_file: str | None,
                   environ: Mapping[str, str] | None = None, required: bool = True) -> Secret | None:
    """The secret named by the options, else ``$VEXORA_SECRET``; ``UsageError`` when required and absent."""
    environ = os.environ if environ is None else environ
    if secret_env and secret_file:
        raise UsageError("give --secret-env or --secret-file, not both")
    if secret_file:
        try:
            with open(secret_file, "rb") as f:
                text = f.read(MAX_SECRET_FILE + 1).decode("utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read the secret file {secret_file}: {os_reason(exc)}") from None
        except UnicodeDecodeError:
            raise UsageError(f"the secret file {secret_file} is not UTF-8 text") from None
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
        raise UsageError(f"no app secret: set ${name}, or pass --secret-env NAME or --secret-file PATH")
    return None
