"""The CLI as a process ends without tearing its interpreter down (boundary.leave): what it printed is all
there, through a pipe too, and the exit code is the run's, for a push, bad input and a runtime failure."""
import json

import pytest

import mm_images
from mm_cli import run_cli

N = 8   # sources; a pipe's output is block-buffered: without the flush before leaving it would be lost


@pytest.fixture
def sources(registry, repo_name):
    return [mm_images.push_image(registry, f"{repo_name}-src", f"w{k}", os="windows",
                                 os_version=f"10.0.17763.{k + 1}", salt=str(k))["ref"] for k in range(N)]


CASES = {
    # id: (arguments after the matrix, exit code, what must be printed in full)
    "push": (["--json"], 0, "json"),
    "bad-input": (["--format", "nope"], 2, "error"),
    "runtime-failure": (["--require", "linux/riscv64"], 1, "error"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_process_prints_everything_and_exits_with_the_runs_code(registry, repo_name, sources, case):
    extra, code, printed = CASES[case]
    matrix = json.dumps([{"image": ref} for ref in sources])
    r = run_cli("push", "from-matrix", "-", "--target", f"{registry.host}/{repo_name}:v1", *extra,
                stdin=matrix, subprocess=True)
    assert r.code == code, r.err[-2000:]
    if printed == "json":
        report = json.loads(r.out)   # whole: the last byte of a report larger than the pipe's buffer arrived
        assert len(report["manifests"]) == N and report["tags"] == [f"{registry.host}/{repo_name}:v1"]
        assert r.err.rstrip().endswith(f"tagged {registry.host}/{repo_name}:v1"), r.err[-500:]
    else:
        assert r.err.rstrip().splitlines()[-1].startswith("multiarch-manifest: error: "), r.err[-500:]
