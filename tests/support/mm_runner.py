"""Run the GitHub Action's entry point (``entrypoint.py``) as the runner runs a docker action.

The runner hands a docker action its inputs as ``INPUT_<NAME>`` (upper-cased, hyphens kept), points
``GITHUB_OUTPUT`` / ``GITHUB_STEP_SUMMARY`` at files it reads back afterwards, and reads workflow
commands (``::error ...::``, ``::add-mask::``) from stdout.  ``run_action`` does the same with the
real entry point and parses what came back: in-process by default (``main(environ)``, as
``entrypoint.py`` calls it), in a subprocess running ``entrypoint.py`` with ``subprocess=True`` or when
``env`` sets a PYTHON* variable (see ``mm_cli``).
"""
from __future__ import annotations

import os
import re
import subprocess as sp
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import mm_registry
from mm_cli import in_process, needs_a_process

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "entrypoint.py"
CA_VARS = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE")
ERROR_PREFIX = "::error title=multiarch-manifest::"

_HEREDOC = re.compile(r"^([^=<\r\n]+)<<(.+)$")


def parse_github_output(text: str) -> dict[str, str]:
    """Parse a ``$GITHUB_OUTPUT`` file: ``name<<DELIM`` heredocs and ``name=value`` lines.

    Raises AssertionError on anything malformed (an unterminated heredoc, a stray line), since the
    runner would reject the file too.  A later value for a name replaces an earlier one.
    """
    out: dict[str, str] = {}
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    i = 0
    while i < len(lines):
        line = lines[i].rstrip("\r")
        i += 1
        if not line:
            continue
        m = _HEREDOC.match(line)
        if m:
            name, delim = m.group(1), m.group(2)
            value: list[str] = []
            while True:
                if i >= len(lines):
                    raise AssertionError(f"GITHUB_OUTPUT: heredoc {name!r} has no closing {delim!r}")
                current = lines[i].rstrip("\r")
                i += 1
                if current == delim:
                    break
                value.append(current)
            out[name] = "\n".join(value)
            continue
        name, sep, value_text = line.partition("=")
        if not sep or not name:
            raise AssertionError(f"GITHUB_OUTPUT: malformed line {line!r}")
        out[name] = value_text
    return out


@dataclass
class ActionRun:
    code: int
    out: str
    err: str
    output_text: str                    # raw $GITHUB_OUTPUT
    summary: str                        # raw $GITHUB_STEP_SUMMARY
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def out_lines(self) -> list[str]:
        return self.out.splitlines()

    @property
    def errors(self) -> list[str]:
        """The messages of every ``::error title=multiarch-manifest::`` line on stdout."""
        return [line[len(ERROR_PREFIX):] for line in self.out_lines if line.startswith(ERROR_PREFIX)]

    @property
    def all_text(self) -> str:
        return "\n".join((self.out, self.err, self.output_text, self.summary))


def run_action(inputs: dict[str, str], *, env: dict | None = None, actor: str = "octocat",
               timeout: float = 120, subprocess: bool = False) -> ActionRun:
    """Run the action's entry point with ``inputs`` as ``INPUT_*`` variables (hyphens kept).

    DOCKER_CONFIG is an empty folder and ambient CA bundle variables are removed unless ``env``
    sets them; ``env`` entries with the value None are removed from the environment.
    """
    with tempfile.TemporaryDirectory(prefix="mm-action-") as tmp:
        tmpdir = Path(tmp)
        output_file, summary_file = tmpdir / "github_output", tmpdir / "step_summary"
        output_file.write_text("")
        summary_file.write_text("")
        (tmpdir / "docker-config").mkdir()
        base = mm_registry.loopback_env()
        for var in CA_VARS:
            base.pop(var, None)
        for key in [k for k in base if k.startswith("INPUT_") or k.startswith("GITHUB_")
                    or k == "RUNNER_DEBUG"]:
            del base[key]
        base.update({
            "GITHUB_OUTPUT": str(output_file),
            "GITHUB_STEP_SUMMARY": str(summary_file),
            "GITHUB_ACTOR": actor,
            "GITHUB_ACTIONS": "true",
            "DOCKER_CONFIG": str(tmpdir / "docker-config"),
            "PYTHONPATH": str(ROOT),
        })
        for name, value in inputs.items():
            base[f"INPUT_{name.upper()}"] = value
        for key, value in (env or {}).items():
            if value is None:
                base.pop(key, None)
            else:
                base[key] = value
        if subprocess or needs_a_process(env):
            proc = sp.run([sys.executable, str(ENTRYPOINT)], capture_output=True, text=True,
                          env=base, cwd=ROOT, timeout=timeout)
            code, out, err = proc.returncode, proc.stdout, proc.stderr
        else:
            code, out, err = in_process(lambda i, o, e: _entrypoint(base, i, o, e), stdin=None, timeout=timeout,
                                        name=[sys.executable, str(ENTRYPOINT)], serial=True)
        output_text = output_file.read_text()
        summary = summary_file.read_text()
    return ActionRun(code, out, err, output_text, summary, parse_github_output(output_text))


def _entrypoint(environ: dict[str, str], stdin, stdout, stderr) -> int:
    """entrypoint.py in this process: `main(os.environ)` with this run's environment and streams.

    actions_toolkit itself writes to sys.stdout and finds GITHUB_OUTPUT in os.environ, so both are this
    run's while it lasts (in_process(serial=True): one action at a time)."""
    from multiarch_ci.frontends.github import main

    saved_streams, saved_environ = (sys.stdin, sys.stdout, sys.stderr), dict(os.environ)
    sys.stdin, sys.stdout, sys.stderr = stdin, stdout, stderr
    os.environ.clear()
    os.environ.update(environ)
    try:
        return main(os.environ)
    finally:
        os.environ.clear()
        os.environ.update(saved_environ)
        sys.stdin, sys.stdout, sys.stderr = saved_streams


# -- the registry's access log ---------------------------------------------------------------------

WRITE_METHODS = ("PUT", "POST", "PATCH", "DELETE")


def log_mark(reg, settle: float = 0.05, limit: float = 2.0) -> int:
    """The access log's length once it has stopped growing (the registry logs a request after
    answering it, so the last request of a previous step may land in the log a moment later)."""
    import time

    deadline = time.monotonic() + limit
    count = len(reg.request_log())
    while time.monotonic() < deadline:
        time.sleep(settle)
        now = len(reg.request_log())
        if now == count:
            break
        count = now
    return count


def requests_since(reg, mark: int, repo: str | None = None) -> list[tuple[str, str, int]]:
    """Access-log entries after ``mark``; with ``repo``, only those for that exact repository
    (``/v2/REPO/...``) and the ``/v2/`` ping."""
    entries = reg.request_log()[mark:]
    if repo is None:
        return entries
    return [e for e in entries if e[1].split("?")[0] == "/v2/" or e[1].startswith(f"/v2/{repo}/")]


def writes_since(reg, mark: int, repo: str | None = None) -> list[tuple[str, str, int]]:
    """Write requests (PUT/POST/PATCH/DELETE) after ``mark``, to ``repo`` only when given."""
    return [e for e in requests_since(reg, mark, repo) if e[0] in WRITE_METHODS]
