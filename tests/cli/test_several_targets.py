"""Several targets in one run: `--target` repeated pushes the same index (same bytes, same digest) to
every target, with every tag, each source blob read once, and no tag anywhere until the index is present
by digest in every target. Targets: another repository on the source's registry (mounts), and two
repositories on a second registry (one source read streamed to both)."""
import hashlib
import json

import pytest

import mm_artifacts
import mm_images
from mm_cli import run_cli
from mm_clients import skopeo_inspect
from mm_faults import FaultProxy, status

ARCHES = [("amd64", None), ("arm64", "v8")]
BIG = 9 * 1024 * 1024 + 5   # more than one 8 MiB chunk: a streamed, PATCHed upload per target


def push_big_image(reg, repo: str, seed: str) -> dict:
    """An s390x image whose one layer spans two chunks."""
    block = hashlib.sha512(seed.encode()).digest() * 16384
    layer = (block * (BIG // len(block) + 1))[:BIG]
    c, types = mm_images.client(reg), mm_images.FORMATS["oci"]
    desc = {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": c.push_blob(repo, layer), "size": BIG}
    config = mm_images.canonical_json({"architecture": "s390x", "os": "linux", "config": {},
                                       "rootfs": {"type": "layers", "diff_ids": [desc["digest"]]}})
    body = mm_images.canonical_json({"schemaVersion": 2, "mediaType": types["manifest"], "layers": [desc],
                                     "config": {"mediaType": types["config"], "size": len(config),
                                                "digest": c.push_blob(repo, config)}})
    digest = c.push_manifest(repo, body, types["manifest"], "v1")
    return {"digest": digest, "config_digest": mm_images.sha256_digest(config), "layer_digests": [desc["digest"]]}


def seed(reg, repo: str) -> list[dict]:
    images = [dict(repo=f"{repo}-{a}", **mm_images.push_image(reg, f"{repo}-{a}", "v1", arch=a, variant=v, layers=2))
              for a, v in ARCHES]
    return images + [dict(repo=f"{repo}-s390x", **push_big_image(reg, f"{repo}-s390x", repo))]


def matrix(host: str, images: list[dict]) -> str:
    return json.dumps([{"image": f"{host}/{i['repo']}:v1"} for i in images])


def test_one_index_in_every_target_each_source_blob_read_once(registry, registry2, repo_name, tmp_path):
    images = seed(registry, repo_name)
    with FaultProxy(registry) as proxy:
        targets = [f"{proxy.host}/{repo_name}", f"{registry2.host}/{repo_name}", f"{registry2.host}/{repo_name}-mirror"]
        r = run_cli("push", "from-matrix", "-", "--target", f"{targets[0]}:v1", "--target", targets[1],
                    "--target", f"{targets[2]}:stable", "--tags", "latest", "--json",
                    "--dotenv", str(tmp_path / "merge.env"), stdin=matrix(proxy.host, images))
        blob_gets = {}
        for s in proxy.seen:
            if s.method == "GET" and "/blobs/sha256:" in s.path:
                key = s.path.rsplit("/", 1)[1]
                blob_gets[key] = blob_gets.get(key, 0) + 1
        mounts = proxy.count("POST", r"mount=")
    assert r.code == 0, r.err
    out = r.json()
    digest = out["digest"]
    # every source blob (configs and layers, 9 MiB one included) read once for three targets
    wanted = {d for i in images for d in [i["config_digest"], *i["layer_digests"]]}
    assert set(blob_gets) == wanted and set(blob_gets.values()) == {1}, blob_gets
    assert mounts == len(wanted)          # the target on the source's registry mounts every blob
    # the same bytes under every tag of every target, read back with skopeo
    tags = ["v1", "latest", "stable"]
    assert out["ref"] == f"{targets[0]}@{digest}"
    assert out["refs"] == [f"{t}@{digest}" for t in targets]
    assert out["tags"] == [f"{t}:{tag}" for t in targets for tag in tags]
    regs = [registry, registry2, registry2]
    bodies = set()
    for reg, target in zip(regs, targets):
        repo = target.split("/", 1)[1]
        for tag in tags:
            body, _, header = mm_images.get_manifest(reg, repo, tag)
            assert header == digest
            bodies.add(body)
        doc = skopeo_inspect(reg, f"{reg.host}/{repo}@{digest}")
        for entry in doc["manifests"]:   # children present in each
            assert skopeo_inspect(reg, f"{reg.host}/{repo}@{entry['digest']}")["schemaVersion"] == 2
        for blob in wanted:
            assert mm_images.blob_exists(reg, repo, blob)
    assert len(bodies) == 1 and mm_images.sha256_digest(bodies.pop()) == digest
    env = dict(line.split("=", 1) for line in (tmp_path / "merge.env").read_text().splitlines())
    assert env["MULTIARCH_REFS"].split(" ") == out["refs"]
    assert env["MULTIARCH_TAGS"].split(" ") == out["tags"]
    assert any(line.startswith("made ") and "3 targets" in line for line in r.err_lines), r.err


@pytest.mark.fault("the index PUT fails in the second target", "reported")
def test_no_target_is_tagged_while_another_lacks_the_index(registry, registry2, repo_name):
    images = seed(registry, repo_name)[:2]
    planned = run_cli("push", "from-matrix", "-", "--target", f"{registry.host}/{repo_name}:v1", "--dry-run",
                      "--json", stdin=matrix(registry.host, images))
    assert planned.code == 0, planned.err
    digest = planned.json()["digest"]
    with FaultProxy(registry2) as proxy:
        proxy.add_rule("PUT", rf"/manifests/{digest}$",
                       fault=status(403, body=b'{"errors":[{"code":"DENIED","message":"quota reached"}]}'))
        r = run_cli("push", "from-matrix", "-", "--target", f"{registry.host}/{repo_name}:v1",
                    "--target", f"{proxy.host}/{repo_name}", "--tags", "latest", stdin=matrix(registry.host, images))
    assert r.code == 1
    assert "403" in r.err and "DENIED" in r.err and f"{proxy.host}/{repo_name}@{digest}" in r.err
    assert mm_images.manifest_exists(registry, repo_name, digest)      # present by digest in the first ...
    assert not mm_images.manifest_exists(registry, repo_name, "v1")    # ... and tagged nowhere
    assert not mm_images.manifest_exists(registry, repo_name, "latest")
    assert mm_images.list_tags(registry2, repo_name) == []


def test_referrers_follow_into_every_target(registry, registry2, repo_name):
    image = mm_images.push_image(registry, f"{repo_name}-amd64", "v1", fmt="oci", arch="amd64")
    signed = mm_artifacts.sign(registry, f"{repo_name}-amd64", image)
    targets = [(registry2, f"{repo_name}"), (registry2, f"{repo_name}-mirror"), (registry, repo_name)]
    args = [a for reg, repo in targets for a in ("--target", f"{reg.host}/{repo}:v1")]
    r = run_cli("push", "from-matrix", "-", *args, "--json",
                stdin=json.dumps([{"image": f"{registry.host}/{repo_name}-amd64:v1"}]))
    assert r.code == 0, r.err
    for reg, repo in targets:
        for art in (signed["sig"], signed["sbom"], signed["cosign"]):
            assert mm_images.manifest_exists(reg, repo, art["digest"])
        _, _, header = mm_images.get_manifest(reg, repo, signed["cosign"]["tag"])
        assert header == signed["cosign"]["digest"]
        listed = skopeo_inspect(reg, f"{reg.host}/{repo}:{image['digest'].replace(':', '-')}")["manifests"]
        assert sorted(e["digest"] for e in listed) == sorted([signed["sig"]["digest"], signed["sbom"]["digest"]])
    rows = r.json()["referrers"]
    assert len(rows) == 3 and all(len(row["targets"]) == 3 for row in rows)


@pytest.mark.bad_input
@pytest.mark.parametrize("second, message", [
    ("{host}/{repo}", "is given twice"),
    ("{host}/{repo}@sha256:" + "a" * 64, "carries a digest"),
    ("{host}/{repo}-b:BAD TAG", "--target"),
    ("{host}/{repo}-amd64:v1", "is also a target tag"),
], ids=["twice", "digest", "bad-tag", "overwrites-a-source"])
def test_bad_second_targets_are_refused_before_any_request(registry, repo_name, second, message):
    mark = len(registry.request_log())
    r = run_cli("push", "from-matrix", "-", "--target", f"{registry.host}/{repo_name}:v1",
                "--target", second.format(host=registry.host, repo=repo_name),
                stdin=json.dumps([{"image": f"{registry.host}/{repo_name}-amd64:v1"}]))
    assert r.code == 2 and len(r.err_lines) == 1 and message in r.err, r.err
    assert "Traceback" not in r.err
    assert registry.request_log()[mark:] == []


def test_a_dry_run_plans_every_target_and_writes_nowhere(registry, registry2, repo_name):
    images = seed(registry, repo_name)[:2]
    marks = [len(registry.request_log()), len(registry2.request_log())]
    r = run_cli("push", "from-matrix", "-", "--target", f"{registry.host}/{repo_name}:v1",
                "--target", f"{registry2.host}/{repo_name}", "--dry-run", "--json", stdin=matrix(registry.host, images))
    assert r.code == 0, r.err
    out = r.json()
    assert out["refs"] is None and out["tags"] is None and out["pushed"] is False
    assert out["plannedRefs"] == [f"{h}/{repo_name}@{out['digest']}" for h in (registry.host, registry2.host)]
    assert out["plannedTags"] == [f"{registry.host}/{repo_name}:v1", f"{registry2.host}/{repo_name}:v1"]
    writes = [e for reg, mark in zip((registry, registry2), marks) for e in reg.request_log()[mark:]
              if e[0] in ("PUT", "POST", "PATCH", "DELETE")]
    assert writes == []


def test_from_spec_targets_replace_the_spec_image(registry, registry2, repo_name, tmp_path):
    """With from-spec, --target (once or several times) names every target; the spec's `image` is the target
    only when no --target is given, as with one --target before."""
    images = seed(registry, repo_name)[:2]
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"image: {registry.host}/{repo_name}-spec:v1\ntags: [latest]\nmanifests:\n" + "".join(
        f"  - image: {registry.host}/{i['repo']}:v1\n" for i in images))
    r = run_cli("push", "from-spec", str(spec), "--target", f"{registry.host}/{repo_name}:v2",
                "--target", f"{registry2.host}/{repo_name}", "--json")
    assert r.code == 0, r.err
    assert r.json()["tags"] == [f"{h}/{repo_name}:{t}" for h in (registry.host, registry2.host)
                                for t in ("v2", "latest")]
    assert mm_images.list_tags(registry, f"{repo_name}-spec") == []
    assert set(mm_images.list_tags(registry2, repo_name)) == {"v2", "latest"}


def test_the_plain_output_ends_with_every_target_ref(registry, registry2, repo_name):
    images = seed(registry, repo_name)[:1]
    r = run_cli("push", "from-matrix", "-", "--target", f"{registry.host}/{repo_name}:v1",
                "--target", f"{registry2.host}/{repo_name}", stdin=matrix(registry.host, images))
    assert r.code == 0, r.err
    digest = mm_images.get_manifest(registry2, repo_name, "v1")[2]
    assert r.out.strip().splitlines()[-2:] == [f"{h}/{repo_name}@{digest}" for h in (registry.host, registry2.host)]
