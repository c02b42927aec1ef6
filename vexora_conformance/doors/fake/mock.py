"""The fake provider inside a test: ``fake_provider()`` mounts ``FakeProvider.handle`` on respx while a block runs.

The pytest fixture ``vexora_mock`` is this same context manager, so the two report the same findings and warn
the same way. Requests elsewhere raise ``NotMocked`` in the client, never silently answered.
"""

from __future__ import annotations

import inspect
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import httpx

from ...contract.books import DEFAULT_BALANCE
from ...contract.markets import DEFAULT
from ...contract.signing import Secret
from ...core.findings import FailOn, Severity, VexoraContractWarning
from ...core.text import docs
from ...judge.session import Session
from .provider import DEFAULT_MERCHANT, DEFAULT_SECRET, FakeProvider

PROVIDER_PATHS = r".*/vexora/.*"  # the provider's API lives under /v1/vexora/ (near misses of v1 are judged too)
DOCS_PLUGIN = docs("plugin")
_REQUEST_ONLY = inspect.Signature([inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD)])


class NotMocked(AssertionError):
    """A request the fake provider does not answer (another host, or a path outside the provider's API)."""


def _not_mocked(base_url: str | None) -> Any:
    mocked = f"every request to {httpx.URL(base_url).host}" if base_url else "paths under /v1/vexora/ on any host"

    def refuse(request: httpx.Request) -> httpx.Response:
        __tracebackhide__ = True
        # Only the method, host and path: the query string and the body may hold the payer's data.
        raise NotMocked(f"vexora_mock: {request.method[:16]} {request.url.host}{request.url.path[:200]} is not "
                        f"answered by the fake provider, which mocks {mocked}. Point the client at the fake's "
                        f"base_url, or mock this URL yourself. See {DOCS_PLUGIN}")

    return refuse


def warn_findings(fake: FakeProvider, filename: str, lineno: int) -> None:
    """Each warning finding that ``fail_on`` does not fail, the pytest way: filterable, escalatable, attributed
    to the caller's code (the test), not to this package."""
    if fake.fail_on is FailOn.WARNING:
        return
    for f in fake.findings:
        if f.severity is Severity.WARNING:
            where = f" {f.pointer}" if f.pointer else ""
            warnings.warn_explicit(
                VexoraContractWarning(f"{f.rule}{where}: {f.message} (call #{f.index}; see {DOCS_PLUGIN})"),
                VexoraContractWarning, filename, lineno)


@contextmanager
def fake_provider(secret: str | Secret = DEFAULT_SECRET, merchant_no: str = DEFAULT_MERCHANT,
                  base_url: str | None = None, strict_tables: bool = False, check: bool = True,
                  skew_window_s: float = 300.0, session: Session | None = None, source: str = "vexora_mock",
                  market: str = DEFAULT, link_field: str = "paymentUrl", fail_on: FailOn | str = FailOn.ERROR,
                  balance: Decimal | str = DEFAULT_BALANCE, warn_at: tuple[str, int] | None = None,
                  ) -> Iterator[FakeProvider]:
    """A fake provider answering every httpx request meant for the provider while the block runs.

    With ``base_url``, every request to its host is judged and answered (a wrong method or path too);
    without, every request whose path is under ``/v1/vexora/``, on any host. With ``check`` the block ends with
    ``assert_conformant()``; its warning findings become ``VexoraContractWarning``s either way (attributed to
    ``warn_at`` = (file, line), by default the line that opened the block).
    """
    import respx

    if warn_at is None:  # the frame that entered the block: this generator, contextlib's __enter__, the caller
        caller = sys._getframe(2)
        warn_at = (caller.f_code.co_filename, caller.f_lineno)
    fake = FakeProvider(secret if isinstance(secret, Secret) else Secret(secret), merchant_no,
                        base_url or "https://sandbox.vexora.test", strict_tables, skew_window_s, session, source,
                        market=market, link_field=link_field, fail_on=FailOn(fail_on),
                        opening_balance=Decimal(balance))
    with respx.mock(assert_all_called=False, assert_all_mocked=False) as router:
        pattern = {"host": httpx.URL(base_url).host} if base_url else {"path__regex": PROVIDER_PATHS}

        def handle(request: httpx.Request) -> httpx.Response:
            __tracebackhide__ = True
            return fake.handle(request)

        # respx reads the side effect's signature on every call (inspect.getfullargspec, to pass ``route`` to
        # one that asks for it); a signature set in advance is read instead of rebuilt: 5.4 us to 1.3 us a call.
        handle.__signature__ = _REQUEST_ONLY  # type: ignore[attr-defined]

        router.route(**pattern).mock(side_effect=handle)
        router.route().mock(side_effect=_not_mocked(base_url))
        yield fake
    warn_findings(fake, *warn_at)
    if check:
        fake.assert_conformant()
