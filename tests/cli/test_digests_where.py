"""Where a digests folder's images are looked for (issue 19): with the target's repository wrong, the run used
to wait the whole --wait-timeout showing "0/N landed". Now, when nothing is there at the first look, one
line says at once where the digests were looked for and that the legs must push there; the wait goes on,
so a leg that lands late still makes the index. Real registry; the CLI as a subprocess."""
from __future__ import annotations

import subprocess
import sys
import threading
import time

import mm_images
import mm_registry
from mm_cli import ROOT, later, run_cli, succeeded
from mm_runner import run_action

LOOKED = "at the first look: looked for in"


def digests_folder(tmp_path, *digests: str):
    folder = tmp_path / "digests"
    folder.mkdir()
    for d in digests:
        (folder / d.split(":", 1)[1]).touch()
    return folder


def test_a_wrong_target_repository_is_said_at_once_not_after_the_wait(registry, repo_name, tmp_path):
    """The legs pushed to REPO-legs; the merge job's --target names REPO: said within seconds of a
    300 s wait (the process is stopped once it has said it)."""
    legs = [mm_images.push_image(registry, f"{repo_name}-legs", None, arch=a) for a in ("amd64", "arm64", "s390x")]
    folder = digests_folder(tmp_path, *(leg["digest"] for leg in legs))
    env = {**mm_registry.loopback_env(), "PYTHONPATH": str(ROOT), "DOCKER_CONFIG": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "multiarch_ci", "push", "from-digests", str(folder),
                             "--target", f"{registry.host}/{repo_name}:v1"],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
    lines: list[str] = []
    said = threading.Event()

    def read() -> None:
        for line in proc.stderr:
            lines.append(line.rstrip("\n"))
            if LOOKED in line:
                said.set()
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    started = time.monotonic()
    try:
        assert said.wait(30), lines
        assert time.monotonic() - started < 30
        assert proc.poll() is None            # still waiting: a leg may land late
    finally:
        proc.kill()
        proc.wait(10)
        reader.join(10)
    line = next(x for x in lines if LOOKED in x)
    assert line == (f"none of the 3 sources is there at the first look: looked for in {registry.host}/{repo_name} "
                    "(a digests folder names images in --target's repository, by digest); the build legs must "
                    "push there (still waiting up to 300 s)"), line
    assert lines.index(line) == 0, lines
    assert mm_images.list_tags(registry, repo_name) == []


def test_a_leg_landing_after_the_first_look_still_makes_the_index(registry, registry2, repo_name, tmp_path):
    """The same image bytes pushed to another registry give its digest up front; it lands in the target's
    repository 3 s into the wait."""
    early = mm_images.push_image(registry2, repo_name, None, arch="amd64")
    folder = digests_folder(tmp_path, early["digest"])
    pusher = later(3, mm_images.push_image, registry, repo_name, None, arch="amd64")
    run = run_cli("push", "from-digests", str(folder), "--target", f"{registry.host}/{repo_name}:v1",
                  "--wait-timeout", "60")
    pusher.join(30)
    succeeded(run)
    assert LOOKED in run.err_lines[0] and f"{registry.host}/{repo_name} " in run.err_lines[0], run.err
    _, index, _ = mm_images.stored_index(registry, repo_name, "v1")
    assert [m["digest"] for m in index["manifests"]] == [early["digest"]]


def test_the_action_says_it_in_its_own_words(registry, repo_name, tmp_path):
    leg = mm_images.push_image(registry, f"{repo_name}-legs", None, arch="amd64")
    folder = digests_folder(tmp_path, leg["digest"])
    run = run_action({"target": f"{registry.host}/{repo_name}:v1", "digests-dir": str(folder),
                      "wait-timeout": "2"})
    assert run.code == 1, run.out + run.err
    said = [x for x in run.err.splitlines() if LOOKED in x]
    assert said and "input target's repository" in said[0] and "--target" not in said[0], run.err
