"""Run the real CLI as a process and measure its peak resident set size from outside.

Linux records, at exec, the high-water RSS of the memory the new program replaces: a child forked (or
vforked) from the test process inherits that process's peak as its own `ru_maxrss`. The suite runs most CLI
calls in-process, so the test process grows, and a measured child would report the test's size, not its
own. So measured runs are started by a small spawner process (a bare interpreter reading requests on
stdin): each child replaces the spawner's few MiB, never the suite's. `wait4` in the spawner gives the
child's own peak; the caller can still watch and kill the child by pid while it runs.
"""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import mm_cli
import mm_registry
from mm_cli import Run

MIB = 1024 * 1024

_SPAWNER = r"""
import json, os, subprocess, sys
for line in sys.stdin:
    req = json.loads(line)
    with open(req["out"], "wb") as out, open(req["err"], "wb") as err:
        proc = subprocess.Popen(req["argv"], stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                env=req["env"], cwd=req["cwd"])
        print(json.dumps({"pid": proc.pid}), flush=True)
        _, status, usage = os.wait4(proc.pid, 0)
    print(json.dumps({"status": status, "maxrss": usage.ru_maxrss * 1024}), flush=True)
"""

_lock = threading.Lock()
_spawner: subprocess.Popen | None = None


def _the_spawner() -> subprocess.Popen:
    global _spawner
    if _spawner is None or _spawner.poll() is not None:
        _spawner = subprocess.Popen([sys.executable, "-S", "-c", _SPAWNER], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True, bufsize=1)
    return _spawner


@dataclass
class Measured:
    run: Run
    seconds: float
    rss: int                  # the child's own peak resident set size, bytes
    stopped: str = ""         # why the watchdog killed the run early ("" if it ran to its end)


def rss_now(pid: int) -> int:
    """The process's resident set size now, bytes (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_measured(*args: str, env: dict | None = None, timeout: float = 90,
                 stop_when: Callable[[int], str] | None = None) -> Measured:
    """``multiarch-manifest ARGS`` as ``mm_cli.run_cli`` runs it (same environment), measured from outside.

    ``stop_when(pid)`` is polled while the run lasts; once it returns a reason the run is killed (so a test
    that has already seen the tool misbehave does not wait for the rest of it)."""
    base = mm_registry.loopback_env()
    base["DOCKER_CONFIG"] = mm_cli._EMPTY_DOCKER_CONFIG
    base["PYTHONPATH"] = str(mm_cli.ROOT)
    base.update(env or {})
    stopped = ""
    with _lock, tempfile.TemporaryDirectory() as tmp:
        out, err = os.path.join(tmp, "out"), os.path.join(tmp, "err")
        spawner = _the_spawner()
        assert spawner.stdin is not None and spawner.stdout is not None
        started = time.monotonic()
        spawner.stdin.write(json.dumps({"argv": [sys.executable, "-m", "multiarch_ci", *args], "env": base,
                                        "cwd": str(mm_cli.ROOT), "out": out, "err": err}) + "\n")
        spawner.stdin.flush()
        pid = json.loads(spawner.stdout.readline())["pid"]
        while not select.select([spawner.stdout], [], [], 0.02)[0]:
            if not stopped and stop_when is not None:
                stopped = stop_when(pid)
            if time.monotonic() - started > timeout:
                stopped = stopped or f"still running after {timeout:g} s"
            if stopped:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                break
        done = json.loads(spawner.stdout.readline())
        elapsed = time.monotonic() - started
        with open(out, "rb") as o, open(err, "rb") as e:
            run = Run(os.waitstatus_to_exitcode(done["status"]), o.read().decode(errors="replace"),
                      e.read().decode(errors="replace"))
    return Measured(run, elapsed, done["maxrss"], stopped)
