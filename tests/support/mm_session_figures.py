"""The suite's closing figures (`reliability: …`, `security: …`): each test's part travels in its report.

A test's part (its fault/bad_input/hostile marks when it passed, and what ``mm_secrets`` scanned during it) is
put in ``report.user_properties``, which pytest-xdist sends from a worker to the controller; the figures are
added up in ``pytest_runtest_logreport``, which runs where the terminal is, so the lines are the same whether
the suite runs in one process or in several (``-n N``). Loaded by tests/conftest.py (``pytest_plugins``).
"""
from __future__ import annotations

from collections import Counter

import pytest

import mm_figures
import mm_secrets

KEY = "mm_figures"   # the user_properties entry holding a report's part


class Figures:
    """What the passing tests showed, added up from their reports."""

    def __init__(self) -> None:
        self.fault: dict[str, set[str]] = {}
        self.bad_input = 0
        self.hostile: set[str] = set()
        self.tally: Counter = Counter()   # mm_secrets.TALLY, summed over every worker

    def add(self, part: dict) -> None:
        for kind, result in part.get("fault", ()):
            self.fault.setdefault(kind, set()).add(result)
        self.bad_input += part.get("bad_input", 0)
        self.hostile.update(part.get("hostile", ()))
        self.tally.update(part.get("tally", {}))

    def lines(self) -> list[str]:
        """The summary lines; none when no test counted anything."""
        faults, t = self.fault, self.tally
        if not (faults or self.bad_input or +t or self.hostile):
            return []
        survived = sorted(k for k, v in faults.items() if "survived" in v)
        reported = sorted(k for k, v in faults.items() if "reported" in v)
        both = sorted(set(survived) & set(reported))   # e.g. 5xx a few times (survived) and forever (reported)
        out = [f"reliability: {mm_figures.fault_counts(faults)}; {self.bad_input} bad inputs refused (exit 2, "
               "nothing pushed); "
               f"{t['secrets']} secrets scanned in {t['scans']} outputs ({t['bytes']} bytes), none leaked"]
        if self.hostile:
            out.append(f"security: hostile registry behaviours tried: {len(self.hostile)}, credentials leaked 0, "
                       "unbounded runs 0, injected lines 0 (each counted from a passing test that asserts it)")
        if faults:
            out.append("reliability: survived: " + ", ".join(survived))
            out.append("reliability: reported: " + ", ".join(reported))
            if both:
                out.append("reliability: both: " + ", ".join(both))
        return out


FIGURES = Figures()
_sent: Counter = Counter()   # the part of mm_secrets.TALLY already put in a report (this process)


def pytest_configure(config):
    config.addinivalue_line("markers", "fault(kind, outcome): a fault injected; outcome survived|reported")
    config.addinivalue_line("markers", "bad_input: a bad input refused with exit 2 and nothing pushed")
    config.addinivalue_line("markers", "hostile(kind): a hostile registry/input behaviour tried; the test asserts "
                            "no credential leaked, the run was bounded and no line was injected")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Put this phase's part in its report: the marks (a passing call only) and the scans since the last report."""
    report = (yield).get_result()
    part: dict = {}
    tally = Counter(mm_secrets.TALLY)
    tally.subtract(_sent)
    if +tally:
        part["tally"] = dict(+tally)
        _sent.update(+tally)
    if report.when == "call" and report.passed:
        faults = [list(m.args) for m in item.iter_markers("fault")]
        hostile = [m.args[0] for m in item.iter_markers("hostile")]
        if faults:
            part["fault"] = faults
        if item.get_closest_marker("bad_input"):
            part["bad_input"] = 1
        if hostile:
            part["hostile"] = hostile
    if part:
        report.user_properties.append((KEY, part))


def pytest_runtest_logreport(report):
    """Add a report's part up (in the controller under xdist: the reports come from the workers)."""
    for name, value in report.user_properties:
        if name == KEY:
            FIGURES.add(value)


def pytest_terminal_summary(terminalreporter):
    for line in FIGURES.lines():
        terminalreporter.write_line(line)
