"""Semver tags against a real registry: the backport scenario, reruns, mixed history, pagination."""
import json
import re

import pytest

import mm_images
from mm_cli import run_cli
from mm_faults import FaultProxy, paginate_tags


def release(reg, repo: str, version: str, *extra: str, page: str = "3"):
    """Push a per-arch image for `version`, then compose it into REPO with --semver VERSION."""
    img = mm_images.push_image(reg, f"{repo}-amd64", version.split("/")[-1].lstrip("v"), arch="amd64",
                               salt=version.split("/")[-1].lstrip("v"))
    r = run_cli("push", "from-matrix", "-", "--target", f"{reg.host}/{repo}", "--semver", version, "--json",
                "--tags-page-size", page, *extra, stdin=json.dumps([{"image": img["ref"]}]))
    assert r.code == 0, r.err
    return r.json()


VERSION_TAG = re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$")


def where(reg, repo: str) -> dict[str, str]:
    """tag -> the version tag (x.y.z[-pre], as this suite releases them) whose index it points at."""
    digests = {t: mm_images.get_manifest(reg, repo, t)[2] for t in mm_images.list_tags(reg, repo)}
    versions = {d: t for t, d in digests.items() if VERSION_TAG.match(t)}
    return {t: versions[d] for t, d in digests.items() if d in versions}


def test_backport_never_moves_latest_back(registry, repo_name):
    steps = [
        ("2.0.0", {"2.0.0": "2.0.0", "2.0": "2.0.0", "2": "2.0.0", "latest": "2.0.0"}, []),
        ("v1.9.0", {"1.9.0": "1.9.0", "1.9": "1.9.0", "1": "1.9.0"}, [("latest", "2.0.0")]),
        ("refs/tags/v1.9.1", {"1.9.1": "1.9.1", "1.9": "1.9.1", "1": "1.9.1"}, [("latest", "2.0.0")]),
        ("2.1.0-rc.1", {"2.1.0-rc.1": "2.1.0-rc.1"}, []),
        ("2.1.0", {"2.1.0": "2.1.0", "2.1": "2.1.0", "2": "2.1.0", "latest": "2.1.0"}, []),
    ]
    expected: dict[str, str] = {}
    for version, moved, held in steps:
        out = release(registry, repo_name, version)
        expected.update(moved)
        assert where(registry, repo_name) == expected, version
        assert sorted(t.rsplit(":", 1)[1] for t in out["tags"]) == sorted(moved)
        assert [(h["tag"], h["newer"]) for h in out["held"]] == held
    # after all five: latest/2/2.0 never went back to 1.x; 1 and 1.9 followed 1.9.x
    assert expected["latest"] == "2.1.0" and expected["2.0"] == "2.0.0" and expected["1"] == "1.9.1"


def test_rerun_of_the_same_version_is_idempotent(registry, repo_name):
    first = release(registry, repo_name, "1.2.3")
    before = where(registry, repo_name)
    again = release(registry, repo_name, "v1.2.3")
    assert again["digest"] == first["digest"] and again["held"] == [] and where(registry, repo_name) == before


def test_v_prefixed_history_and_non_semver_tags(registry, repo_name):
    old = release(registry, repo_name, "1.0.0")
    # history written by another tool: v-prefixed versions and tags that are not versions at all
    body, media_type, _ = mm_images.get_manifest(registry, repo_name, "1.0.0")
    for tag in ("v3.0.0", "v2.5.0", "nightly", "3.1", "sha-0123abc"):
        mm_images.put_raw_manifest(registry, repo_name, tag, body, media_type)
    out = release(registry, repo_name, "2.6.0")
    assert [(h["tag"], h["newer"]) for h in out["held"]] == [("latest", "3.0.0")]
    tags = where(registry, repo_name)
    assert tags["2"] == "2.6.0" and tags["latest"] == "1.0.0" and old["held"] == []


def test_more_tags_than_a_page(registry, repo_name):
    """Hosted registries cap tag-list pages; the proxy pages the real list as distribution v3 does."""
    first = release(registry, repo_name, "1.0.0")
    body, media_type, _ = mm_images.get_manifest(registry, repo_name, "1.0.0")
    for i in range(120):  # 120 build tags sort before the release tags: the newest release is on a late page
        mm_images.put_raw_manifest(registry, repo_name, f"0build-{i:03d}", body, media_type)
    mm_images.put_raw_manifest(registry, repo_name, "9.0.0", body, media_type)
    with FaultProxy(registry) as proxy:
        proxy.add_rule("GET", r"/tags/list", fault=paginate_tags())
        out = release(proxy.registry, repo_name, "4.2.0", page="10")
        pages = [s.path for s in proxy.seen if f"/v2/{repo_name}/tags/list" in s.path]   # the target's
    assert len(pages) == 13, pages  # 125 tags before the write, 10 a page: every page read, once
    assert all("n=10" in p for p in pages) and "last=" in pages[-1]
    assert [(h["tag"], h["newer"]) for h in out["held"]] == [("latest", "9.0.0")]
    assert first["held"] == []


@pytest.mark.parametrize("args,tags", [
    (["--no-floating"], ["5.0.0"]),
    (["--latest", "never"], ["5.0.0", "5.0", "5"]),
    (["--tags", "latest,edge"], ["latest", "edge", "5.0.0", "5.0", "5"]),
], ids=["no-floating", "latest-never", "explicit-latest"])
def test_options_beside_semver(registry, repo_name, args, tags):
    out = release(registry, repo_name, "5.0.0", *args)
    assert [t.rsplit(":", 1)[1] for t in out["tags"]] == tags
    assert sorted(mm_images.list_tags(registry, repo_name)) == sorted(tags)


@pytest.mark.parametrize("version,needle", [
    ("1.4", "not a semantic version"), ("1.4.2+build.5", "build metadata"), ("main", "not a semantic version"),
], ids=["short", "build-metadata", "branch"])
def test_semver_garbage_is_input_error(registry, repo_name, version, needle):
    r = run_cli("push", "from-matrix", "-", "--target", f"{registry.host}/{repo_name}", "--semver", version,
                stdin=json.dumps([{"image": f"{registry.host}/{repo_name}-amd64:1"}]))
    assert r.code == 2 and len(r.err_lines) == 1 and needle in r.err
