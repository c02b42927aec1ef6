"""pytest plugin: the ``vexora_mock`` fixture, the ``vexora`` marker and the ``--vexora-*`` options; hooks only.

Imported by every pytest run where the package is installed, so it imports nothing heavy: the fake provider,
respx and the judge load when the fixture is first used. What the hooks do lives in ``doors.fake``.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .doors.fake.provider import FakeProvider

OPTIONS = [  # (name, help); each has an ini twin named vexora_<name with underscores>
    ("secret", "app secret of the fake provider (a test credential)"),
    ("merchant-no", "merchantNo the client must send"),
    ("base-url", "answer every request to this base URL's host (default: any host, paths under /v1/vexora/)"),
    ("market", "the market of requests whose path has no market prefix (default mexico)"),
    ("link-field", "the Checkout answer's link: paymentUrl (the page), paymentLink (the integrations) or both"),
    ("fail-on", "the findings that fail a test: error (default) or warning"),
    ("coverage-json", "write the outcome coverage as JSON to this file"),
    ("coverage-fail-under", "fail the session when the outcome coverage is below this percentage"),
]
FLAGS = [  # switches, with a bool ini twin
    ("strict-tables", "follow the pages' tables literally: another reading (an example) is a doc.conflict"),
    ("session-trade-nos", "tradeNo must be unique across the whole session, not only per test"),
    ("coverage", "list the provider outcomes and request fields the suite exercised, and those it never did"),
]
MARKER = ("vexora(secret=, merchant_no=, base_url=, market=, link_field=, fail_on=, strict_tables=, skew_window=, "
          "balance=, check=): settings of the vexora_mock fake provider for this test")
_FAKE = pytest.StashKey[Any]()  # the test's fake provider, for the report hook
_REPORTED = pytest.StashKey[bool]()  # its findings went into the failed call's report already
_SESSION_KEY = pytest.StashKey[Any]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("vexora", "vexora-conformance fake provider")
    for name, text in OPTIONS:
        group.addoption(f"--vexora-{name}", dest=f"vexora_{name.replace('-', '_')}", default=None, help=text)
        parser.addini(f"vexora_{name.replace('-', '_')}", text, default=None)
    for name, text in FLAGS:
        group.addoption(f"--vexora-{name}", dest=f"vexora_{name.replace('-', '_')}", action="store_true",
                        default=None, help=text)
        parser.addini(f"vexora_{name.replace('-', '_')}", text, type="bool", default=False)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)
    wanted = setting(config, "coverage") or setting(config, "coverage_json") or setting(config, "coverage_fail_under")
    if wanted and not hasattr(config, "workerinput"):  # xdist workers report to the controller instead
        from .doors.fake.coverage_report import CoverageReport

        config.pluginmanager.register(CoverageReport(config, setting), "vexora-coverage")


def setting(config: pytest.Config, name: str) -> Any:
    value = config.getoption(f"vexora_{name}")
    return value if value is not None else config.getini(f"vexora_{name}")


@pytest.fixture
def vexora_mock(request: pytest.FixtureRequest) -> Iterator[FakeProvider]:
    """A fake Vexora provider answering every httpx request of this test meant for the provider (see the docs,
    "The pytest plugin")."""
    __tracebackhide__ = True
    from .doors.fake.mock import fake_provider
    from .doors.fake.report import failure_report
    from .doors.fake.settings import KEYWORDS, from_config
    from .judge.session import Session

    config = request.config
    markers = [m.kwargs for m in reversed(list(request.node.iter_markers("vexora")))]
    problem = ""
    try:
        if any(m.args for m in request.node.iter_markers("vexora")):
            raise TypeError("positional arguments")
        s = from_config({k: setting(config, k) for k in KEYWORDS if k in _OPTION_NAMES}, markers)
    except (TypeError, ValueError) as exc:
        problem = str(exc)
    if problem:  # failed outside the handler, so pytest shows one message, not a chained exception
        pytest.fail(f"@pytest.mark.vexora: {problem}; valid keywords: {', '.join(KEYWORDS)}", pytrace=False)
    shared = config.stash.setdefault(_SESSION_KEY, {}) if setting(config, "session_trade_nos") else None
    _hide_library_frames(request.node)
    path, line, _ = request.node.location
    warn_at = (str(getattr(request.node, "path", path)), (line or 0) + 1)
    with fake_provider(secret=s.secret, merchant_no=s.merchant_no, base_url=s.base_url, market=s.market,
                       link_field=s.link_field, fail_on=s.fail_on, strict_tables=s.strict_tables, check=False,
                       skew_window_s=s.skew_window, balance=s.balance, source=request.node.nodeid,
                       warn_at=warn_at) as fake:
        if shared is not None:  # this test's session, remembering every tradeNo of the run
            fake.session = Session(fake.options, trade_nos=shared.setdefault("trade_nos", {}))
        if s.check:
            request.node.stash[_FAKE] = fake
        yield fake
    if s.check and not request.node.stash.get(_REPORTED, False):
        text = failure_report(fake.calls, fake.fail_on)
        if text:
            pytest.fail(text, pytrace=False)


def _library_dirs() -> tuple[str, ...]:
    import httpcore
    import httpx
    import respx

    from . import doors

    return tuple(str(Path(m.__file__).parent) + os.sep for m in (httpx, httpcore, respx, doors)
                 if m.__file__)


def _hide_library_frames(item: Any) -> None:
    """A failing test's traceback without httpx's, respx's and the fake's frames: pytest prints each frame's
    arguments, and theirs are the client's Request, whose URL's query may hold the payer's email or mobile.

    ``_traceback_filter`` is pytest's own per-item filter (private); where it is missing, nothing changes.
    """
    original = getattr(item, "_traceback_filter", None)
    if original is None or item.config.getoption("fulltrace", False):
        return
    libraries = _library_dirs()

    def without_libraries(excinfo: Any) -> Any:
        kept = original(excinfo).filter(lambda entry: not str(entry.path).startswith(libraries))
        return kept if len(kept) else original(excinfo).filter(lambda entry: False)

    item._traceback_filter = without_libraries


_OPTION_NAMES = {n.replace("-", "_") for n, _ in OPTIONS} | {n.replace("-", "_") for n, _ in FLAGS}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """A test that already failed gets the findings as a section of that failure, not a second error."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    fake = item.stash.get(_FAKE, None)
    if fake is None:
        return
    if report.when == "call" and report.failed:
        from .doors.fake.report import failure_report

        text = failure_report(fake.calls, fake.fail_on)
        if text:
            report.sections.append(("vexora_mock findings", text))
            item.stash[_REPORTED] = True
    elif report.when == "teardown":
        from .doors.fake.coverage_report import COVERAGE_PROPERTY

        report.user_properties.append((COVERAGE_PROPERTY, sorted(fake.exercised)))
