"""No merge job: every leg runs `push ... --append` on one tag at the same time, and nothing is lost.

Each leg is a real CLI process appending its own platform's image (pushed by digest beforehand, as a build
leg would) to the same tag; the legs start together, several rounds in a row (each round every leg replaces
its platform with a new image). After each round the tag holds every platform with that round's image, read
with the independent client and with skopeo, and every leg exited 0. Against the real registry; then behind
the fault proxy: every leg's first read of the tag held until all have read it (so every leg composes from
the same index: the worst case for lost writes), and a registry whose tag reads come from a replica that
lags the writes (reads answer what the tag held a while ago: a leg must not take a stale read for success).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import mm_images
from mm_cli import one_error, run_cli
from mm_faults import Exchange, Fault, FaultProxy
from mm_replica import lagging_replica

PLATFORMS = ["linux/amd64", "linux/386", "linux/arm64/v8", "linux/arm/v5", "linux/arm/v6", "linux/arm/v7",
             "linux/ppc64le", "linux/ppc64", "linux/s390x", "linux/riscv64", "linux/mips", "linux/mipsle",
             "linux/mips64", "linux/mips64le", "linux/loong64", "linux/sparc64"]
TAG = "edge"


def seed(reg, repo: str, legs: int, salt: str) -> dict[str, dict]:
    """One image per leg, pushed by digest (no tag), as each build leg would: platform -> image."""
    images = {}
    for platform in PLATFORMS[:legs]:
        _, arch, *variant = platform.split("/")
        images[platform] = mm_images.push_image(reg, repo, fmt="oci", arch=arch, variant=variant[0] if variant
                                                else None, salt=salt)
    return images


def leg(host: str, repo: str, image: dict, *extra: str):
    ref = f"{host}/{repo}@{image['digest']}"
    return run_cli("push", "from-matrix", "-", "--target", f"{host}/{repo}:{TAG}", "--append", "--wait-timeout",
                   "30", *extra, stdin=json.dumps([{"image": ref}]), subprocess=True)   # a process per leg, as in CI


def run_legs(host: str, repo: str, images: dict[str, dict], *extra: str) -> list:
    """Every leg at once, each a CLI process."""
    with ThreadPoolExecutor(max_workers=len(images)) as pool:
        return list(pool.map(lambda i: leg(host, repo, i, *extra), images.values()))


def skopeo_raw(ref: str) -> bytes:
    proc = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
                          capture_output=True, timeout=60, env={**os.environ, "NO_PROXY": "*", "no_proxy": "*"})
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout


def assert_every_leg_in(reg, repo: str, images: dict[str, dict], runs: list) -> None:
    failed = [(r.code, r.err) for r in runs if r.code != 0]
    assert not failed, failed
    body, index, _ = mm_images.stored_index(reg, repo, TAG)
    held = {e["digest"] for e in index["manifests"]}
    lost = [p for p, i in images.items() if i["digest"] not in held]
    assert not lost, f"lost: {lost}; the tag holds {[e['platform'] for e in index['manifests']]}"
    assert len(index["manifests"]) == len(images), index   # each platform once: replaced, not added again
    assert skopeo_raw(f"{reg.host}/{repo}:{TAG}") == body
    for r in runs:
        assert re.search(r"^tagged \S+:edge$", r.err, re.M), r.err


@pytest.mark.parametrize("legs, rounds", [(6, 3), (16, 1)], ids=["6-legs-3-rounds", "16-legs"])
def test_every_leg_appends_itself_and_none_is_lost(registry, repo_name, legs, rounds):
    for n in range(rounds):
        images = seed(registry, repo_name, legs, salt=f"round-{n}")
        runs = run_legs(registry.host, repo_name, images)
        assert_every_leg_in(registry, repo_name, images, runs)


def held_until_all_read(parties: int) -> Fault:
    """Every leg's first read of the tag waits for the others: all compose from the same index."""
    barrier = threading.Barrier(parties, timeout=30)

    def action(ex: Exchange) -> None:
        barrier.wait()
        ex.forward()
    return Fault("held_until_all_read", action)


@pytest.mark.fault("concurrent appends from one read", "survived")
def test_legs_that_all_read_the_same_index_still_all_land(registry, repo_name):
    legs = 6
    with FaultProxy(registry) as proxy:
        images = seed(registry, repo_name, legs, salt="same-read")
        proxy.add_rule(method="GET", path=f"/manifests/{TAG}$", on_attempts=set(range(1, legs + 1)),
                       fault=held_until_all_read(legs))
        runs = run_legs(proxy.host, repo_name, images)
        assert_every_leg_in(registry, repo_name, images, runs)


@pytest.mark.fault("stale replica reads of the tag", "survived")
def test_a_replica_that_lags_the_writes_is_waited_out_not_believed(registry, repo_name):
    legs = 3
    with FaultProxy(registry) as proxy:
        proxy.add_rule(path=f"/manifests/{TAG}$", fault=lagging_replica(0.5, registry))
        images = seed(registry, repo_name, legs, salt="lagging")
        runs = run_legs(proxy.host, repo_name, images)
        assert_every_leg_in(registry, repo_name, images, runs)
        assert any("read back" in r.err for r in runs), [r.err for r in runs]   # the lag was seen, and waited out


@pytest.mark.fault("tag reads that never show the write", "reported")
def test_a_leg_that_cannot_see_its_index_land_fails_naming_what_the_tag_holds(registry, repo_name):
    """Reads of the tag lag a minute behind its writes, --wait-timeout is 1 s: the leg gives up after a few
    passes, exit 1, one line naming the tag, what reads of it show and what of this leg's is missing."""
    first = seed(registry, repo_name, 1, salt="there")
    assert leg(registry.host, repo_name, first["linux/amd64"]).code == 0
    _, _, before = mm_images.stored_index(registry, repo_name, TAG)
    late = seed(registry, repo_name, 2, salt="late")["linux/386"]
    with FaultProxy(registry) as proxy:
        proxy.add_rule(path=f"/manifests/{TAG}$", fault=lagging_replica(60, registry))
        run = leg(proxy.host, repo_name, late, "--wait-timeout", "1")
    line = one_error(run, 1)
    assert f"--append: {proxy.host}/{repo_name}:{TAG} does not hold this run's change after " in line, line
    assert f"reads of it show {before} (linux/amd64), without linux/386 {late['digest']}" in line, line
    assert "give --wait-timeout more" in line, line


def check(host: str, repo: str, required: list[str]):
    """The optional final job: no sources, --append --require: does the tag hold every platform? (pushes nothing)"""
    return run_cli("push", "from-matrix", "-", "--target", f"{host}/{repo}:{TAG}", "--append", "--require",
                   ",".join(required), "--dry-run", stdin="[]")


def test_a_final_check_job_requires_every_platform_and_pushes_nothing(registry, repo_name):
    images = seed(registry, repo_name, 2, salt="check")
    assert_every_leg_in(registry, repo_name, images, run_legs(registry.host, repo_name, images))
    _, _, before = mm_images.stored_index(registry, repo_name, TAG)
    run = check(registry.host, repo_name, list(images))
    assert run.code == 0, run.err
    assert "dry run: no change: the tag already holds this index" in run.err, run.err
    line = one_error(check(registry.host, repo_name, [*images, "linux/s390x"]), 1)
    held = re.search(r"required platform\(s\) linux/s390x not in the index \(it would hold ([^)]*)\)", line)
    assert held and sorted(held[1].split(", ")) == sorted(images), line   # in the order the legs landed
    assert mm_images.stored_index(registry, repo_name, TAG)[2] == before


def sha512_on_head(registry, repo: str) -> Fault:
    """A manifest HEAD answered with Docker-Content-Digest in sha512 (of the stored bytes)."""
    def action(ex: Exchange) -> None:
        code, _reason, headers, _body = ex.fetch()
        stored = mm_images.get_manifest(registry, repo, ex.target.rsplit("/", 1)[1])[0] if code == 200 else b""
        ex.respond(code, {k: ("sha512:" + hashlib.sha512(stored).hexdigest() if k.lower() == "docker-content-digest"
                              else v) for k, v in headers})
    return Fault("sha512-on-head", action)


def test_a_read_back_in_sha512_is_this_legs_index_not_a_clash(registry, repo_name):
    """A registry answering tag reads with sha512 digests: the read-back hashes the index that way (as a plain
    push does), so the leg does not take its own index for another leg's and loop until it runs out of time."""
    images = seed(registry, repo_name, 2, salt="sha512")
    with FaultProxy(registry) as proxy:
        proxy.add_rule("HEAD", f"/manifests/{TAG}$", fault=sha512_on_head(registry, repo_name))
        runs = [leg(proxy.host, repo_name, i, "--wait-timeout", "5") for i in images.values()]
    assert_every_leg_in(registry, repo_name, images, runs)
    assert not [r.err for r in runs if "read back" in r.err]
