"""The action's image run outside a GitHub docker action (issue 19): in a GitLab job without `entrypoint: [""]`
the runner starts the image's entrypoint with GITLAB_CI set and its shell as arguments; it used to answer
with the GitHub error "give exactly one source input". Now one line says how to run the command line,
exit 2, with nothing of the arguments echoed. entrypoint.py run as a subprocess."""
from __future__ import annotations

import secrets
import subprocess
import sys

import pytest

import mm_registry
from mm_runner import ENTRYPOINT, ROOT, run_action


def entrypoint(*args: str, env: dict) -> subprocess.CompletedProcess:
    base = mm_registry.loopback_env()
    for key in [k for k in base if k.startswith(("INPUT_", "GITHUB_", "GITLAB_", "CI_"))]:
        del base[key]
    base.update({"PYTHONPATH": str(ROOT), **env})
    return subprocess.run([sys.executable, str(ENTRYPOINT), *args], capture_output=True, text=True, env=base,
                          cwd=ROOT, timeout=60)


SHELL = ["sh", "-c", "if [ -x /usr/local/bin/bash ]; then\n\texec /usr/local/bin/bash \nelse\n\texec sh\nfi"]


@pytest.mark.bad_input
@pytest.mark.parametrize("args, env, why", [
    pytest.param(SHELL, {"GITLAB_CI": "true", "CI": "true"}, "GITLAB_CI is set", id="gitlab-job"),
    pytest.param([], {"GITLAB_CI": "true"}, "GITLAB_CI is set", id="gitlab-ci-alone"),
    pytest.param(["push", "from-digests", "digests", "--target", "ghcr.io/o/app:v1"], {}, "arguments were given",
                 id="docker-run-with-arguments"),
])
def test_outside_a_github_action_it_says_how_to_run_the_command_line(args, env, why):
    token = "glpat-" + secrets.token_urlsafe(15)
    proc = entrypoint(*args, env={**env, "CI_REGISTRY_PASSWORD": token})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("multiarch-manifest: error: "), proc.stderr
    assert why in lines[0] and 'entrypoint: [""]' in lines[0] and "multiarch-manifest push" in lines[0], lines
    assert "::error" not in proc.stdout and "source input" not in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr and token not in proc.stdout + proc.stderr
    for word in args[2:]:   # the shell script given as an argument is not echoed
        assert word not in proc.stderr


def test_in_github_it_is_still_the_action(registry, repo_name):
    run = run_action({"target": f"{registry.host}/{repo_name}:v1"})
    assert run.code == 2 and len(run.errors) == 1 and "source input" in run.errors[0], run.out + run.err
