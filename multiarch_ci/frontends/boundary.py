"""The error boundary: the one place errors become exit codes, under both the CLI and the CI adapters."""
from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import NoReturn

from multiarch_ci.core.errors import MultiarchError
from multiarch_ci.frontends.output import Console

PROG = "multiarch-manifest"


def guarded(body: Callable[[], int], console: Console, debug: bool,
            report: Callable[[str], None] | None = None, names: Mapping[str, str] | None = None) -> int:
    """Run `body`; input errors exit 2, runtime errors 1, an interrupt 130.

    `report` shows the one error message (default: "multiarch-manifest: error: …" on stderr), its settings
    named as `names` says (errors.setting; default: CLI flags); tracebacks only with `debug`.
    """
    report = report or (lambda message: console.err(f"{PROG}: error: {message}"))

    def show_traceback() -> None:
        import traceback  # only with debug output on: not worth its import at every start
        console.err(traceback.format_exc().rstrip())

    try:
        return body()
    except MultiarchError as e:
        if debug:
            show_traceback()
        report(e.render(names))
        return e.exit_code
    except KeyboardInterrupt:
        report("interrupted")
        return 130
    except Exception as e:  # noqa: BLE001 - the one catch-all: a bug is still one line (exit 1) unless --debug
        if debug:
            show_traceback()
        report(f"internal error: {type(e).__name__}: {e} (rerun with debug output on and report it)")
        return 1


def leave(code: int) -> NoReturn:
    """End the process with `code` once the run is over (the console script, `python -m multiarch_ci`, the
    action's entry point): stdout and stderr flushed, then no interpreter teardown (freeing every module,
    the pools' connections and threads' objects: ~20-25 ms of CPU at the end of every run,
    bench/results/perf.md). By then every file the run wrote is closed (`with` blocks, the stores' close);
    in-process callers use `main` and keep their interpreter."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):   # a closed pipe or stream: nothing more can reach it
            pass
    os._exit(code)
