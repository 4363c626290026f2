"""Waiting against a real registry: late pushes, stale tags, sources that never land."""
import json
import time

import mm_images
from mm_cli import later, run_cli


def test_push_that_lands_seconds_after_the_merge_starts(registry, repo_name):
    amd = mm_images.push_image(registry, f"{repo_name}-amd64", "v1", arch="amd64")
    late = later(2.0, mm_images.push_image, registry, f"{repo_name}-s390x", "v1", arch="s390x")
    started = time.monotonic()
    r = run_cli("push", "from-matrix", "-", "--target", f"{registry.host}/{repo_name}:v1", "--json",
                "--wait-timeout", "60", stdin=json.dumps([
                    {"image": amd["ref"]},
                    {"image": f"{registry.host}/{repo_name}-s390x:v1", "platform": "linux/s390x"}]))
    late.join()
    assert r.code == 0, r.err
    assert 2.0 <= time.monotonic() - started < 20
    assert f"1/2 landed (0 s); waiting for linux/s390x {registry.host}/{repo_name}-s390x:v1 (not found" in r.err
    assert "2/2 landed" in r.err
    assert [m["platform"] for m in r.json()["manifests"]] == ["linux/amd64", "linux/s390x"]


def test_stale_tag_is_waited_out_until_the_expected_digest_lands(registry, registry2, repo_name):
    src = f"{repo_name}-arm64"
    old = mm_images.push_image(registry, src, "v1", arch="arm64", salt="old-run")
    # The matrix leg recorded the new build's digest, but its push has not landed here yet (the same
    # image on another registry tells us that digest in advance):
    expected = mm_images.push_image(registry2, src, None, arch="arm64", salt="new-run")["digest"]
    assert expected != old["digest"]
    later(2.0, mm_images.push_image, registry, src, "v1", arch="arm64", salt="new-run")
    r = run_cli("push", "from-matrix", "-", "--target", f"{registry.host}/{repo_name}:v1", "--json",
                "--wait-timeout", "60", stdin=json.dumps([{"image": f"{registry.host}/{src}:v1", "digest": expected}]))
    assert r.code == 0, r.err
    assert f"(stale: v1 is {old['digest'][:19]}… expected {expected[:19]}…)" in r.err
    assert [m["digest"] for m in r.json()["manifests"]] == [expected]


def test_source_that_never_lands_times_out_and_pushes_nothing(registry, repo_name):
    amd = mm_images.push_image(registry, f"{repo_name}-amd64", "v1", arch="amd64")
    ghost = f"{registry.host}/{repo_name}-riscv64:v1"
    mark = len(registry.request_log())
    started = time.monotonic()
    r = run_cli("push", "from-matrix", "-", "--target", f"{registry.host}/{repo_name}:v1", "--wait-timeout", "3",
                stdin=json.dumps([{"image": amd["ref"]}, {"image": ghost, "platform": "linux/riscv64"}]))
    took = time.monotonic() - started
    assert r.code == 1, r.err
    assert 3 <= took < 15
    last = r.err_lines[-1]
    assert last.startswith("multiarch-manifest: error: 1 of 2 source(s) did not land within 3 s: "
                           f"linux/riscv64 {ghost} (not found")
    assert "Traceback" not in r.err
    writes = [(m, p) for m, p, s in registry.request_log()[mark:] if m in ("PUT", "POST", "PATCH")]
    assert writes == [] and mm_images.list_tags(registry, repo_name) == []
