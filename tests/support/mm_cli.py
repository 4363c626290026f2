"""Run the real CLI (`python -m multiarch_ci`) as a subprocess, as a user or CI job would."""
from __future__ import annotations

import atexit
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import mm_registry

ROOT = Path(__file__).resolve().parents[2]
_EMPTY_DOCKER_CONFIG = tempfile.mkdtemp(prefix="mm-empty-docker-config-")
atexit.register(shutil.rmtree, _EMPTY_DOCKER_CONFIG, True)  # one per process, removed at exit


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> dict:
        return json.loads(self.out)

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


def run_cli(*args: str, stdin: str | None = None, env: dict | None = None, home: Path | None = None,
            timeout: float = 120) -> Run:
    """Run `multiarch-manifest ARGS...`; DOCKER_CONFIG points at an empty dir unless env sets it."""
    base = mm_registry.loopback_env()
    base["DOCKER_CONFIG"] = _EMPTY_DOCKER_CONFIG
    base["PYTHONPATH"] = str(ROOT)
    if home is not None:
        base["HOME"] = str(home)
        base["DOCKER_CONFIG"] = str(home / ".docker")
    base.update(env or {})
    proc = subprocess.run([sys.executable, "-m", "multiarch_ci", *args], input=stdin, capture_output=True,
                          text=True, env=base, timeout=timeout, cwd=ROOT)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def docker_config(dirpath: Path, auths: dict | None = None, **extra) -> Path:
    """Write a docker config.json into dirpath and return dirpath (for DOCKER_CONFIG)."""
    dirpath.mkdir(parents=True, exist_ok=True)
    (dirpath / "config.json").write_text(json.dumps({"auths": auths or {}, **extra}))
    return dirpath


def later(seconds: float, fn, *args, **kw) -> threading.Thread:
    """Run fn(*args) in a thread after `seconds` (a push that lands while the tool waits)."""
    def go():
        time.sleep(seconds)
        fn(*args, **kw)
    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t


ERROR = "multiarch-manifest: error: "


def one_error(run: Run, code: int = 1) -> str:
    """Exit `code`, no traceback, exactly one error line and it is the last line of stderr; returns it."""
    assert run.code == code, (run.code, run.out, run.err)
    assert "Traceback" not in run.err, run.err
    errors = [line for line in run.err_lines if line.startswith(ERROR)]
    assert len(errors) == 1 and run.err_lines[-1] == errors[0], run.err
    return errors[0]


def succeeded(run: Run) -> None:
    assert run.code == 0, f"exit {run.code}\nstdout:\n{run.out}\nstderr:\n{run.err}"
