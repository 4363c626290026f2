"""Run the real CLI as a user or CI job would: `main(argv, environ)` in-process by default, or
`python -m multiarch_ci` as a subprocess where a new process is the point.

In-process is the same code against the same real registries, minus an interpreter start and its imports
per call: main gets the same argv, environment mapping and stdin a subprocess would, writes to its own
stdout/stderr, and runs in its own thread (its thread-locals are fresh, and `timeout` still bounds it).
A subprocess is used when asked (`subprocess=True`: signals, exit by the interpreter, the console script)
and whenever `env` sets a PYTHON* variable, which only a new interpreter honours (PYTHONPATH,
PYTHONPROFILEIMPORTTIME...).
"""
from __future__ import annotations

import atexit
import io
import json
import shutil
import subprocess as sp
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
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


def needs_a_process(env: Mapping[str, str] | None) -> bool:
    """True when `env` sets what only a new interpreter reads (PYTHON* variables)."""
    return any(k.startswith("PYTHON") for k in env or {})


def run_cli(*args: str, stdin: str | None = None, env: dict | None = None, home: Path | None = None,
            timeout: float = 120, subprocess: bool = False) -> Run:
    """Run `multiarch-manifest ARGS...`; DOCKER_CONFIG points at an empty dir unless env sets it.

    In-process unless `subprocess` is true or `env` sets a PYTHON* variable (see the module docstring)."""
    base = mm_registry.loopback_env()
    base["DOCKER_CONFIG"] = _EMPTY_DOCKER_CONFIG
    base["PYTHONPATH"] = str(ROOT)
    if home is not None:
        base["HOME"] = str(home)
        base["DOCKER_CONFIG"] = str(home / ".docker")
    base.update(env or {})
    if subprocess or needs_a_process(env):
        proc = sp.run([sys.executable, "-m", "multiarch_ci", *args], input=stdin, capture_output=True,
                      text=True, env=base, timeout=timeout, cwd=ROOT)
        return Run(proc.returncode, proc.stdout, proc.stderr)
    from multiarch_ci.frontends.cli import main

    code, out, err = in_process(lambda i, o, e: main(list(args), base, stdin=i, stdout=o, stderr=e),
                                stdin=stdin, timeout=timeout, name=["multiarch-manifest", *args])
    return Run(code, out, err)


_SERIAL = threading.Lock()


def in_process(body: Callable[[io.TextIOWrapper, io.TextIOWrapper, io.TextIOWrapper], int | None], *,
               stdin: str | None, timeout: float, name: list[str], serial: bool = False) -> tuple[int, str, str]:
    """Run `body(stdin, stdout, stderr)` in a thread of its own, as a subprocess would be run: streams of
    bytes behind text wrappers (UTF-8; `.buffer` for raw output), stdin empty unless given, the text read
    back with universal newlines (as subprocess.run(text=True) does), a None result read as exit 0, and
    subprocess.TimeoutExpired after `timeout` seconds. `serial`: one such body at a time (for a body
    that swaps process-wide state, e.g. sys.stdout or os.environ)."""
    stdin_stream = io.TextIOWrapper(io.BytesIO((stdin or "").encode()), encoding="utf-8")
    out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(out_bytes, encoding="utf-8", write_through=True)
    err = io.TextIOWrapper(err_bytes, encoding="utf-8", errors="backslashreplace", write_through=True)
    outcome: dict = {}

    def run() -> None:
        try:
            if serial:
                with _SERIAL:
                    outcome["code"] = body(stdin_stream, out, err)
            else:
                outcome["code"] = body(stdin_stream, out, err)
        except SystemExit as e:   # as the interpreter would turn it into an exit status
            outcome["code"] = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except BaseException as e:   # noqa: BLE001  a bug in the body: raised again in the test's thread
            outcome["error"] = e

    thread = threading.Thread(target=run, name="mm-cli-in-process", daemon=True)
    thread.start()
    thread.join(timeout)
    text = [_decode(b.getvalue()) for b in (out_bytes, err_bytes)]
    if thread.is_alive():
        raise sp.TimeoutExpired(name, timeout, output=text[0], stderr=text[1])
    if "error" in outcome:
        raise outcome["error"]
    code = outcome["code"]
    return (0 if code is None else int(code)), text[0], text[1]


def _decode(data: bytes) -> str:
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


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
