"""The pytest side of outcome coverage: gather what each test exercised (across xdist workers), report it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .coverage import Tally

COVERAGE_PROPERTY = "vexora_coverage"


class CoverageReport:
    """Registered on the controller only when coverage is asked for; workers send their tests' names."""

    def __init__(self, config: pytest.Config, setting: Any) -> None:
        self.config = config
        self.setting = setting
        self.tally = Tally()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if name == COVERAGE_PROPERTY:
                self.tally.add(report.nodeid, value if isinstance(value, list) else [])

    def _floor(self) -> float | None:
        text = self.setting(self.config, "coverage_fail_under")
        if text in (None, ""):
            return None
        try:
            return float(text)
        except ValueError:
            raise pytest.UsageError(f"--vexora-coverage-fail-under: {str(text)[:20]!r} is not a percentage") from None

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        path = self.setting(self.config, "coverage_json")
        if path:
            with open(path, "w", encoding="utf-8") as f:
                json.dump(self.tally.to_dict(), f, indent=2)
        floor = self._floor()
        if floor is not None and self.tally.percent < floor and exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.setting(self.config, "coverage"):
            terminalreporter.section("vexora-conformance: outcome coverage")
            for line in self.tally.lines():
                terminalreporter.write_line(line)
        floor = self._floor()
        if floor is not None and self.tally.percent < floor:
            terminalreporter.write_line(f"FAIL: vexora outcome coverage {self.tally.percent:.0f}% is below "
                                        f"--vexora-coverage-fail-under {floor:g}%", red=True)
