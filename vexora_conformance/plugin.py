"""pytest plugin: the ``vexora_mock`` fixture, ``vexora`` marker and ``--vexora-*`` options (hooks and fixtures only).

Imported by every pytest run where the package is installed, so it imports
nothing heavy: respx, httpx and the judge load when the fixture is first used.
"""

from __future__ import annotations

import warnings
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .doors.fake.provider import FakeProvider

README = "README.md#the-pytest-plugin-a-fake-provider-in-your-own-tests"
OPTIONS = [  # (name, help); each has an ini twin named vexora_<name with underscores>
    ("secret", "app secret of the fake provider (a test credential)"),
    ("merchant-no", "merchantNo the client must send"),
    ("base-url", "answer every request to this base URL's host (default: any host, paths under /v1/vexora/)"),
    ("coverage-json", "write the outcome coverage as JSON to this file"),
    ("coverage-fail-under", "fail the session when the outcome coverage is below this percentage"),
]
FLAGS = [  # (name, help): switches, with a bool ini twin
    ("strict", "warnings fail too; the page's tables are followed literally"),
    ("session-trade-nos", "tradeNo must be unique across the whole session, not only per test"),
    ("coverage", "list the provider outcomes and request fields the suite exercised, and those it never did"),
]
MARKER_KEYWORDS = ("secret", "merchant_no", "base_url", "strict", "check", "skew_window")

_FAKE = pytest.StashKey[Any]()  # the test's fake provider, for the report hook
_STRICT = pytest.StashKey[bool]()
_REPORTED = pytest.StashKey[bool]()  # its findings went into the failed call's report already
_SESSION_KEY = pytest.StashKey[Any]()
COVERAGE_PROPERTY = "vexora_coverage"


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
    config.addinivalue_line(
        "markers", "vexora(secret=, merchant_no=, base_url=, strict=, check=, skew_window=): "
                   "settings of the vexora_mock fake provider for this test")
    wanted = _setting(config, "coverage") or _setting(config, "coverage_json") or \
        _setting(config, "coverage_fail_under")
    if wanted and not hasattr(config, "workerinput"):  # xdist workers report to the controller instead
        config.pluginmanager.register(CoverageReport(config), "vexora-coverage")


def _setting(config: pytest.Config, name: str) -> Any:
    value = config.getoption(f"vexora_{name}")
    return value if value is not None else config.getini(f"vexora_{name}")


def _marker_options(node: pytest.Item) -> dict[str, Any]:
    """The ``vexora`` markers of a test, merged: the closest wins per keyword (a test's own over its module's)."""
    merged: dict[str, Any] = {}
    for marker in node.iter_markers("vexora"):
        unknown = sorted(set(marker.kwargs) - set(MARKER_KEYWORDS))
        if marker.args or unknown:
            what = f"unknown keyword {', '.join(unknown)}" if unknown else "positional arguments"
            raise ValueError(f"@pytest.mark.vexora: {what}; valid keywords: {', '.join(MARKER_KEYWORDS)}")
        for key, value in marker.kwargs.items():
            merged.setdefault(key, value)
    return merged


@pytest.fixture
def vexora_mock(request: pytest.FixtureRequest) -> Iterator[FakeProvider]:
    """A fake Vexora provider answering every httpx request of this test meant for the provider; see the README."""
    __tracebackhide__ = True
    from .doors.fake.provider import DEFAULT_MERCHANT, DEFAULT_SECRET, fake_provider
    from .judge.exchange import Session

    try:
        opts = _marker_options(request.node)
    except ValueError as exc:
        pytest.fail(str(exc), pytrace=False)
    config = request.config
    strict = bool(opts["strict"] if opts.get("strict") is not None else _setting(config, "strict"))
    shared = config.stash.setdefault(_SESSION_KEY, {}) if _setting(config, "session_trade_nos") else None
    with fake_provider(secret=opts.get("secret") or _setting(config, "secret") or DEFAULT_SECRET,
                       merchant_no=opts.get("merchant_no") or _setting(config, "merchant_no") or DEFAULT_MERCHANT,
                       base_url=opts.get("base_url") or _setting(config, "base_url"), strict=strict, check=False,
                       skew_window_s=opts["skew_window"] if opts.get("skew_window") is not None else 300.0,
                       source=request.node.nodeid) as fake:
        if shared is not None:  # this test's session, remembering every tradeNo of the run
            fake.session = Session(fake.options, trade_nos=shared.setdefault("trade_nos", {}))
        if opts.get("check", True):
            request.node.stash[_FAKE] = fake
            request.node.stash[_STRICT] = strict
        yield fake
    _warn(fake, strict, request.node)
    if opts.get("check", True) and not request.node.stash.get(_REPORTED, False):
        from .doors.fake.provider import failure_report

        text = failure_report(fake.calls, strict)
        if text:
            pytest.fail(text, pytrace=False)


def _warn(fake: FakeProvider, strict: bool, node: pytest.Item) -> None:
    """Each warning finding of a test that strict mode does not fail, the pytest way: filterable, escalatable.

    Attributed to the test itself, so the warnings summary points at the user's code, not at this plugin.
    """
    if strict:
        return
    from .core.findings import VexoraContractWarning

    path, line, _ = node.location
    for f in fake.findings:
        if f.severity == "warning":
            where = f" {f.pointer}" if f.pointer else ""
            warnings.warn_explicit(
                VexoraContractWarning(f"{f.rule}{where}: {f.message} (call #{f.index}; see {README})"),
                VexoraContractWarning, str(node.path) if hasattr(node, "path") else path, (line or 0) + 1)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """A test that already failed gets the findings as a section of that failure, not a second error."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    fake = item.stash.get(_FAKE, None)
    if fake is None:
        return
    if report.when == "call" and report.failed:
        from .doors.fake.provider import failure_report

        text = failure_report(fake.calls, item.stash.get(_STRICT, False))
        if text:
            report.sections.append(("vexora_mock findings", text))
            item.stash[_REPORTED] = True
    elif report.when == "teardown":
        report.user_properties.append((COVERAGE_PROPERTY, sorted(fake.exercised)))


class CoverageReport:
    """Gathers what each test exercised (from every xdist worker) and reports it at the end of the session."""

    def __init__(self, config: pytest.Config) -> None:
        from .doors.fake.coverage import Tally

        self.config = config
        self.tally = Tally()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if name == COVERAGE_PROPERTY:
                self.tally.add(report.nodeid, value if isinstance(value, list) else [])

    def _floor(self) -> float | None:
        text = _setting(self.config, "coverage_fail_under")
        if text in (None, ""):
            return None
        try:
            return float(text)
        except ValueError:
            raise pytest.UsageError(f"--vexora-coverage-fail-under: {str(text)[:20]!r} is not a percentage") from None

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        path = _setting(self.config, "coverage_json")
        if path:
            import json

            with open(path, "w", encoding="utf-8") as f:
                json.dump(self.tally.to_dict(), f, indent=2)
        floor = self._floor()
        if floor is not None and self.tally.percent < floor and exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if _setting(self.config, "coverage"):
            terminalreporter.section("vexora-conformance: outcome coverage")
            for line in self.tally.lines():
                terminalreporter.write_line(line)
        floor = self._floor()
        if floor is not None and self.tally.percent < floor:
            terminalreporter.write_line(f"FAIL: vexora outcome coverage {self.tally.percent:.0f}% is below "
                                        f"--vexora-coverage-fail-under {floor:g}%", red=True)
