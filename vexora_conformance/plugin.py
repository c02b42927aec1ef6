"""pytest plugin: the ``vexora_mock`` fixture, ``vexora`` marker and ``--vexora-*`` options (hooks and fixtures only).

Imported by every pytest run where the package is installed, so it imports
nothing heavy: respx, httpx and the judge load when the fixture is first used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

OPTIONS = [  # (name, help); each has an ini twin named vexora_<name with underscores>
    ("secret", "app secret of the fake provider (a test credential)"),
    ("merchant-no", "merchantNo the client must send"),
    ("base-url", "answer only this base URL (default: any host, path ending /v1/vexora/checkout)"),
]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("vexora", "vexora-conformance fake provider")
    for name, text in OPTIONS:
        group.addoption(f"--vexora-{name}", dest=f"vexora_{name.replace('-', '_')}", default=None, help=text)
        parser.addini(f"vexora_{name.replace('-', '_')}", text, default=None)
    group.addoption("--vexora-strict", dest="vexora_strict", action="store_true", default=None,
                    help="warnings fail too; the page's tables are followed literally")
    parser.addini("vexora_strict", "strict mode (see --vexora-strict)", type="bool", default=False)
    group.addoption("--vexora-session-trade-nos", dest="vexora_session_trade_nos", action="store_true",
                    default=None, help="tradeNo must be unique across the whole session, not only per test")
    parser.addini("vexora_session_trade_nos", "see --vexora-session-trade-nos", type="bool", default=False)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "vexora(secret=, merchant_no=, base_url=, strict=, check=, skew_window=): "
                   "settings of the vexora_mock fake provider for this test")


def _marker_options(*, secret: str | None = None, merchant_no: str | None = None, base_url: str | None = None,
                    strict: bool | None = None, check: bool = True, skew_window: float | None = None) -> dict[str, Any]:
    # Keyword-only: a typo in a marker keyword is a TypeError, not silently ignored. (A plain dict:
    # a dataclass here would cost every pytest run a millisecond at import.)
    return {"secret": secret, "merchant_no": merchant_no, "base_url": base_url, "strict": strict,
            "check": check, "skew_window": skew_window}


def _setting(config: pytest.Config, name: str) -> Any:
    value = config.getoption(f"vexora_{name}")
    return value if value is not None else config.getini(f"vexora_{name}")


_SESSION_KEY = pytest.StashKey[Any]()


@pytest.fixture
def vexora_mock(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fake Vexora provider answering every httpx Checkout request of this test; see the README."""
    __tracebackhide__ = True
    from .judge import Session
    from .provider import DEFAULT_MERCHANT, DEFAULT_SECRET, fake_provider

    marker = request.node.get_closest_marker("vexora")
    try:
        opts = _marker_options(*(marker.args if marker else ()), **(marker.kwargs if marker else {}))
    except TypeError as exc:
        raise pytest.UsageError(f"@pytest.mark.vexora: {exc}") from None
    config = request.config
    strict = opts["strict"] if opts["strict"] is not None else bool(_setting(config, "strict"))
    shared = None
    if _setting(config, "session_trade_nos"):
        shared = config.stash.setdefault(_SESSION_KEY, {})
    with fake_provider(secret=opts["secret"] or _setting(config, "secret") or DEFAULT_SECRET,
                       merchant_no=opts["merchant_no"] or _setting(config, "merchant_no") or DEFAULT_MERCHANT,
                       base_url=opts["base_url"] or _setting(config, "base_url"), strict=strict, check=False,
                       skew_window_s=opts["skew_window"] if opts["skew_window"] is not None else 300.0,
                       source=request.node.nodeid) as fake:
        if shared is not None:  # this test's session, remembering every tradeNo of the run
            fake.session = Session(fake.options, trade_nos=shared.setdefault("trade_nos", {}))
        yield fake
    if opts["check"]:
        from .provider import failure_report

        text = failure_report(fake.calls, strict)
        if text:
            pytest.fail(text, pytrace=False)
