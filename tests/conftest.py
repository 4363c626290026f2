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

# The reliability and security figures the README quotes, added up from the tests' reports (also under -n N).
pytest_plugins = ("mm_session_figures",)

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
