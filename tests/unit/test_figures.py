"""The figures scripts/test.sh prints at the end add up."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import mm_figures
from mm_figures import fault_counts


def test_fault_kinds_are_counted_once_so_the_parts_sum_to_the_total():
    faults = {"500": {"survived", "reported"}, "slow": {"survived", "reported"}, "429": {"survived"},
              "tampered": {"reported"}, "reset": {"survived"}}
    text = fault_counts(faults)
    assert text == ("5 fault kinds injected: 2 survived, 1 reported (exit 1, nothing tagged), 2 both "
                    "(survived at one dose, reported at a larger one)")
    total, *parts = map(int, re.findall(r"(\d+) (?:fault kinds|survived|reported|both)", text))
    assert total == sum(parts)


def test_without_overlap_no_both_part():
    assert fault_counts({"a": {"survived"}, "b": {"reported"}}) == \
        "2 fault kinds injected: 1 survived, 1 reported (exit 1, nothing tagged)"


# -- the session's lines: added up from each test's report, so -n N (pytest-xdist workers) prints the same ----

TINY_A = '''
import mm_secrets
import pytest


@pytest.mark.fault("500", "survived")
@pytest.mark.bad_input
def test_a_survives():
    mm_secrets.assert_no_secrets({"out": "no secret here"}, ["hunter22"], user="me")


@pytest.mark.fault("tampered", "reported")
def test_a_fails_so_its_marks_do_not_count():
    assert False
'''
TINY_B = '''
import mm_secrets
import pytest


@pytest.fixture
def scanned_in_teardown():
    yield
    mm_secrets.assert_no_secrets({"log": b"abc", "err": "defg"}, ["s3cret"])


@pytest.mark.fault("500", "reported")
@pytest.mark.hostile("drip")
def test_b_reported(scanned_in_teardown):
    pass


@pytest.mark.bad_input
@pytest.mark.hostile("huge-header")
def test_b_refused():
    pass
'''


def _tiny_session(tmp_path, *args: str) -> list[str]:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_a.py").write_text(TINY_A)
    (tmp_path / "test_b.py").write_text(TINY_B)
    env = {**os.environ, "PYTHONPATH": str(Path(mm_figures.__file__).parent)}
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "mm_session_figures",
                          "test_a.py", "test_b.py", *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 1 and "1 failed, 3 passed" in run.stdout, run.stdout + run.stderr
    return [line for line in run.stdout.splitlines() if line.startswith(("reliability:", "security:"))]


def test_the_figures_from_two_workers_add_up_to_the_one_process_figures(tmp_path):
    one = _tiny_session(tmp_path, "-p", "no:xdist")
    two = _tiny_session(tmp_path, "-n", "2", "--dist", "loadfile")
    assert one == [
        "reliability: 1 fault kinds injected: 0 survived, 0 reported (exit 1, nothing tagged), 1 both (survived at "
        "one dose, reported at a larger one); 2 bad inputs refused (exit 2, nothing pushed); 3 secrets scanned in "
        "3 outputs (21 bytes), none leaked",
        "security: hostile registry behaviours tried: 2, credentials leaked 0, unbounded runs 0, injected lines 0 "
        "(each counted from a passing test that asserts it)",
        "reliability: survived: 500",
        "reliability: reported: 500",
        "reliability: both: 500",
    ]
    assert two == one
