"""Shared fixtures: real loopback registries (started lazily, once per session) and repo names.

* ``registry`` / ``registry2`` - plain HTTP, no auth (two, for cross-registry tests);
* ``tls_registry``             - HTTPS (self-signed, ``ca_file``) + htpasswd basic auth;
* ``token_registry``           - plain HTTP + bearer tokens from an in-process issuer.

Registries are shared by the whole session, so each test should push under ``repo_name``.
"""
from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from mm_registry import start_registry

_repo_counter = itertools.count(1)


ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def _from_the_checkout():
    """Run from the checkout's root, as the CLI's subprocesses did (cwd=ROOT): mm_cli.run_cli runs the CLI
    in-process, where a relative path is read from this process's working directory."""
    import multiarch_ci

    assert Path(multiarch_ci.__file__).resolve().parent == ROOT / "multiarch_ci", (
        f"tests import {multiarch_ci.__file__}, not this checkout's package")
    with pytest.MonkeyPatch.context() as mp:
        if Path.cwd() != ROOT:
            mp.chdir(ROOT)
        yield


@pytest.fixture(scope="session", autouse=True)
def _no_proxies():
    """Keep every client in this process (ours and the tool's) off any configured proxy."""
    with pytest.MonkeyPatch.context() as mp:
        for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                    "all_proxy"):
            mp.delenv(var, raising=False)
        mp.setenv("NO_PROXY", "*")
        mp.setenv("no_proxy", "*")
        yield


def _registry(tmp_path_factory, name: str, **kwargs):
    reg = start_registry(tmp_path_factory.mktemp(name), **kwargs)
    try:
        yield reg
    finally:
        reg.stop()


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    yield from _registry(tmp_path_factory, "registry")


@pytest.fixture(scope="session")
def registry2(tmp_path_factory):
    yield from _registry(tmp_path_factory, "registry2")


@pytest.fixture(scope="session")
def tls_registry(tmp_path_factory):
    yield from _registry(tmp_path_factory, "tls-registry", auth="basic", tls=True)


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory):
    yield from _registry(tmp_path_factory, "token-registry", auth="token")


@pytest.fixture
def repo_name(request) -> str:
    """A repository name unique within the session, e.g. ``t/test-push-docker-image-7``."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:50].strip("-")
    return f"t/{slug or 'test'}-{next(_repo_counter)}"


# -- the reliability figures the README quotes: counted from tests that passed ---------------------

_FIGURES: dict = {"fault": {}, "bad_input": 0, "hostile": set()}


# The fixtures that start a real registry (/usr/bin/docker-registry, Linux only); a test using one, directly
# or through another fixture, is marked `registry`. `-m "not registry"` keeps what runs anywhere Python does
# (the workflow's macOS and Windows jobs: tests/unit and the CLI's bad-input tests).
REGISTRY_FIXTURES = {"registry", "registry2", "tls_registry", "token_registry"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if REGISTRY_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.registry)


def pytest_configure(config):
    config.addinivalue_line("markers", "registry: starts a real registry (docker-registry, Linux); set by "
                            "conftest for every test using one of its registry fixtures")
    config.addinivalue_line("markers", "fault(kind, outcome): a fault injected; outcome survived|reported")
    config.addinivalue_line("markers", "bad_input: a bad input refused with exit 2 and nothing pushed")
    config.addinivalue_line("markers", "hostile(kind): a hostile registry/input behaviour tried; the test asserts "
                            "no credential leaked, the run was bounded and no line was injected")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.passed:
        return
    for mark in item.iter_markers("fault"):
        kind, result = mark.args
        _FIGURES["fault"].setdefault(kind, set()).add(result)
    if item.get_closest_marker("bad_input"):
        _FIGURES["bad_input"] += 1
    for mark in item.iter_markers("hostile"):
        _FIGURES["hostile"].add(mark.args[0])


def pytest_terminal_summary(terminalreporter):
    import mm_secrets

    faults = _FIGURES["fault"]
    if not (faults or _FIGURES["bad_input"] or mm_secrets.TALLY or _FIGURES["hostile"]):
        return
    import mm_figures

    survived = sorted(k for k, v in faults.items() if "survived" in v)
    reported = sorted(k for k, v in faults.items() if "reported" in v)
    both = sorted(set(survived) & set(reported))  # e.g. 5xx a few times (survived) and forever (reported)
    t = mm_secrets.TALLY
    terminalreporter.write_line(
        f"reliability: {mm_figures.fault_counts(faults)}; {_FIGURES['bad_input']} bad inputs refused (exit 2, "
        "nothing pushed); "
        f"{t['secrets']} secrets scanned in {t['scans']} outputs ({t['bytes']} bytes), none leaked")
    if _FIGURES["hostile"]:
        terminalreporter.write_line(
            f"security: hostile registry behaviours tried: {len(_FIGURES['hostile'])}, credentials leaked 0, "
            f"unbounded runs 0, injected lines 0 (each counted from a passing test that asserts it)")
    if faults:
        terminalreporter.write_line("reliability: survived: " + ", ".join(survived))
        terminalreporter.write_line("reliability: reported: " + ", ".join(reported))
        if both:
            terminalreporter.write_line("reliability: both: " + ", ".join(both))
