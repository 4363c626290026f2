"""Helpers for the hosted-registry tests: the CLI against a real registry behind the fault proxy,
which answers the way the hosted registry does (tests/support/mm_hosted.py)."""
from __future__ import annotations

import json
import time

import pytest

import mm_images
from mm_cli import run_cli
from mm_faults import FaultProxy

ERROR = "multiarch-manifest: error: "


@pytest.fixture
def proxy(registry):
    with FaultProxy(registry, timeout=3.0) as p:
        yield p


class Hosted:
    """Sources in REPO-src (tags amd64/arm64) pushed to REPO:v1 through ``host``."""

    @staticmethod
    def seed(reg, repo: str, fmt: str = "docker", fmt2: str | None = None) -> list[dict]:
        return [mm_images.push_image(reg, f"{repo}-src", "amd64", arch="amd64", fmt=fmt),
                mm_images.push_image(reg, f"{repo}-src", "arm64", arch="arm64", variant="v8", fmt=fmt2 or fmt)]

    @staticmethod
    def push(host: str, repo: str, *args: str, env: dict | None = None, stdin_extra: str | None = None,
             target: str | None = None):
        matrix = json.dumps([{"image": f"{host}/{repo}-src:{t}"} for t in ("amd64", "arm64")])
        started = time.monotonic()
        run = run_cli("push", "from-matrix", "-", "--target", target or f"{host}/{repo}:v1", "--json",
                      "--wait-timeout", "0", *args, stdin=matrix, env=env, timeout=90)
        return run, time.monotonic() - started

    @staticmethod
    def one_error(run) -> str:
        assert run.code == 1, (run.code, run.out, run.err)
        assert "Traceback" not in run.err, run.err
        errors = [line for line in run.err_lines if line.startswith(ERROR)]
        assert len(errors) == 1, run.err
        return errors[0]

    @staticmethod
    def ok(run) -> dict:
        assert run.code == 0, run.err
        assert "Traceback" not in run.err
        return run.json()


@pytest.fixture
def hosted():
    return Hosted

