"""Promotion: an index given as the only source, with nothing asked to change, is copied byte for byte, so its
digest (and every signature made on it) is the same at the target (issue 22, part 2).

Indexes as other tools write them: buildah (`manifest push --all`, OCI and v2s2), skopeo (`copy --all`)
and a Docker list laid out as `docker manifest push` writes it (indented, its own key order), so a
recomposition would certainly change the digest. Read back byte for byte with `skopeo inspect --raw`.
"""
from __future__ import annotations

import json
import subprocess

import pytest

import mm_artifacts
import mm_hosted
import mm_images
import mm_layouts
from mm_cli import run_cli, succeeded
from mm_faults import FaultProxy
from mm_registry import loopback_env

NOTE = "the index is recomposed"


def raw(reg, ref: str) -> bytes:
    """The registry's bytes under REPO:TAG or REPO@DIGEST, as skopeo reads them."""
    r = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{reg.host}/{ref}"],
                       capture_output=True, timeout=60, env=loopback_env())
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout


def digest_of(body: bytes) -> str:
    return mm_images.sha256_digest(body)


@pytest.fixture(scope="module")
def buildah_list(tmp_path_factory):
    """Two one-file images (linux/amd64, linux/arm64) built by buildah on vfs, in one buildah manifest list;
    returns push(reg, repo, tag, v2s2) running `buildah manifest push --all`."""
    root = tmp_path_factory.mktemp("buildah")
    base = ["buildah", "--storage-driver", "vfs", "--root", str(root / "root"), "--runroot", str(root / "run")]
    env = loopback_env({"BUILDAH_ISOLATION": "chroot", "STORAGE_DRIVER": "vfs"})

    def buildah(*args: str) -> str:
        r = subprocess.run([*base, *args], capture_output=True, text=True, timeout=300, env=env,
                           stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()
    buildah("manifest", "create", "localhost/mm-promote")
    for arch in ("amd64", "arm64"):
        (root / "hello.txt").write_text(f"hello from {arch}\n")
        ctr = buildah("from", "--arch", arch, "scratch")
        buildah("copy", ctr, str(root / "hello.txt"), "/hello.txt")
        buildah("config", "--arch", arch, "--os", "linux", ctr)
        buildah("commit", "--format", "oci", ctr, f"localhost/mm-promote-{arch}")
        buildah("manifest", "add", "localhost/mm-promote", f"localhost/mm-promote-{arch}")

    def push(reg, repo: str, tag: str, v2s2: bool = False) -> None:
        buildah("manifest", "push", "--all", *(["--format", "v2s2"] if v2s2 else []), "--tls-verify=false",
                "localhost/mm-promote", f"docker://{reg.host}/{repo}:{tag}")
    return push


def docker_cli_list(reg, repo: str, tag: str) -> None:
    """A Docker list as `docker manifest push` lays it out: indented, mediaType/size/digest/platform."""
    images = [mm_images.push_image(reg, repo, arch=a, variant=v) for a, v in (("amd64", None), ("arm64", "v8"))]
    entries = [{"mediaType": i["media_type"], "size": i["size"], "digest": i["digest"], "platform": i["platform"]}
               for i in images]
    body = json.dumps({"schemaVersion": 2, "mediaType": mm_images.DOCKER_LIST, "manifests": entries},
                      indent=3).encode()
    mm_images.put_raw_manifest(reg, repo, tag, body, mm_images.DOCKER_LIST)


def seed(kind: str, reg, repo: str, buildah_list) -> bytes:
    """The source index `repo:rc` as `kind` writes it; returns its bytes."""
    if kind == "buildah-oci":
        buildah_list(reg, repo, "rc")
    elif kind == "buildah-v2s2":
        buildah_list(reg, repo, "rc", v2s2=True)
    elif kind == "skopeo-copy-all":
        buildah_list(reg, f"{repo}-staging", "rc")
        mm_layouts.skopeo("copy", "--all", "--src-tls-verify=false", "--dest-tls-verify=false",
                          f"docker://{reg.host}/{repo}-staging:rc", f"docker://{reg.host}/{repo}:rc")
    else:
        docker_cli_list(reg, repo, "rc")
    body = raw(reg, f"{repo}:rc")
    assert json.loads(body)["mediaType"] in (mm_images.OCI_INDEX, mm_images.DOCKER_LIST)
    return body


def promote(reg, repo: str, *args: str):
    """`push from-matrix` with REG/REPO:rc as the only source."""
    return run_cli("push", "from-matrix", "-", *args, "--json", stdin=json.dumps([{"image": f"{reg.host}/{repo}:rc"}]))


KINDS = ["buildah-oci", "buildah-v2s2", "skopeo-copy-all", "docker-manifest-push"]


@pytest.mark.parametrize("kind", KINDS)
def test_an_index_alone_keeps_its_digest_at_the_target(registry, registry2, repo_name, buildah_list, kind):
    body = seed(kind, registry, repo_name, buildah_list)
    digest = digest_of(body)
    run = promote(registry, repo_name, "--target", f"{registry2.host}/{repo_name}:1.0")
    succeeded(run)
    out = run.json()
    assert out["digest"] == digest and out["ref"] == f"{registry2.host}/{repo_name}@{digest}"
    assert raw(registry2, f"{repo_name}:1.0") == body                  # byte for byte
    assert out["mediaType"] == json.loads(body)["mediaType"]
    for entry in json.loads(body)["manifests"]:                         # every child present in the target
        assert digest_of(raw(registry2, f"{repo_name}@{entry['digest']}")) == entry["digest"]
    assert NOTE not in run.err
    assert any(line.startswith("copying ") and "its digest kept" in line for line in run.err.splitlines()), run.err


def test_promotion_to_several_targets_and_the_same_repository_keeps_the_digest(registry, registry2, repo_name,
                                                                                buildah_list):
    body = seed("docker-manifest-push", registry, repo_name, buildah_list)
    targets = [(registry2, f"{repo_name}-prod"), (registry, f"{repo_name}-mirror"), (registry, repo_name)]
    args = [a for reg, repo in targets for a in ("--target", f"{reg.host}/{repo}")]
    run = promote(registry, repo_name, *args, "--tags", "1.0,latest")
    succeeded(run)
    assert run.json()["refs"] == [f"{reg.host}/{repo}@{digest_of(body)}" for reg, repo in targets]
    for reg, repo in targets:
        for tag in ("1.0", "latest"):
            assert raw(reg, f"{repo}:{tag}") == body


def test_promotion_to_a_layout_keeps_the_digest(registry, repo_name, buildah_list, tmp_path):
    body = seed("buildah-oci", registry, repo_name, buildah_list)
    run = promote(registry, repo_name, "--target", f"oci-layout://{tmp_path / 'release'}:1.0")
    succeeded(run)
    assert run.json()["digest"] == digest_of(body)
    assert mm_layouts.raw_manifest(tmp_path / "release", "1.0") == body
    assert mm_layouts.layout_tags(tmp_path / "release") == {"1.0": digest_of(body)}


def test_a_dry_run_plans_the_source_digest_and_writes_nothing(registry, registry2, repo_name, buildah_list):
    body = seed("buildah-v2s2", registry, repo_name, buildah_list)
    mark = len(registry2.request_log())
    run = promote(registry, repo_name, "--target", f"{registry2.host}/{repo_name}:1.0", "--dry-run")
    succeeded(run)
    assert run.json()["digest"] == digest_of(body) and run.json()["pushed"] is False
    assert [e for e in registry2.request_log()[mark:] if e[0] in ("PUT", "POST", "PATCH", "DELETE")] == []


@pytest.mark.parametrize("kind, args, named", [
    ("buildah-oci", ("--annotation", "org.opencontainers.image.source=https://example.test/app"), "--annotation"),
    ("buildah-oci", ("--annotation", "manifest-descriptor:org.example.note=x"), "manifest-descriptor"),
    ("buildah-oci", ("--platform-filter", "linux/amd64"), "--platform-filter linux/amd64"),
    ("docker-manifest-push", ("--platform-filter", "linux/amd64,linux/arm64/v8"), "--platform-filter"),
    ("docker-manifest-push", ("--format", "oci"), "--format oci"),
    ("buildah-v2s2", ("--target", "oci-layout://{tmp}/release:1.0"), "holds OCI image indexes only"),
], ids=["index-annotation", "entry-annotation", "filter", "filter-keeping-all", "format", "layout-of-docker-list"])
def test_a_change_asked_for_recomposes_and_says_the_digest_differs(registry, registry2, repo_name, buildah_list,
                                                                   tmp_path, kind, args, named):
    body = seed(kind, registry, repo_name, buildah_list)
    args = tuple(a.format(tmp=tmp_path) for a in args)
    target = () if "--target" in args else ("--target", f"{registry2.host}/{repo_name}:1.0")
    run = promote(registry, repo_name, *target, *args)
    succeeded(run)
    assert run.json()["digest"] != digest_of(body)
    notes = [line for line in run.err.splitlines() if NOTE in line]
    assert len(notes) == 1 and notes[0].startswith("note: ") and named in notes[0], run.err
    assert digest_of(body) in notes[0]


def test_several_sources_or_one_image_print_no_note(registry, registry2, repo_name):
    images = [mm_images.push_image(registry, f"{repo_name}-{a}", "v1", arch=a) for a in ("amd64", "arm64")]
    for sources in (images[:1], images):
        run = run_cli("push", "from-matrix", "-", "--target", f"{registry2.host}/{repo_name}:1.0", "--json",
                      stdin=json.dumps([{"image": i["ref"]} for i in sources]))
        succeeded(run)
        assert NOTE not in run.err and "copying " not in run.err


def test_signatures_of_the_source_index_follow_the_copy(registry, registry2, repo_name, buildah_list):
    """cosign signs the index digest; a byte copy keeps that digest, so the index's own referrers (a
    signature and an SBOM under the tag schema, a cosign `.sig` tag) are copied with it and stay valid."""
    body = seed("buildah-oci", registry, repo_name, buildah_list)
    index = {"media_type": mm_images.OCI_INDEX, "digest": digest_of(body), "size": len(body)}
    signed = mm_artifacts.sign(registry, repo_name, index)
    run = promote(registry, repo_name, "--target", f"{registry2.host}/{repo_name}:1.0")
    succeeded(run)
    for art in (signed["sig"], signed["sbom"], signed["cosign"]):
        assert mm_images.manifest_exists(registry2, repo_name, art["digest"])
    assert mm_images.get_manifest(registry2, repo_name, signed["cosign"]["tag"])[2] == signed["cosign"]["digest"]
    listed = json.loads(raw(registry2, f"{repo_name}:{index['digest'].replace(':', '-')}"))["manifests"]
    assert sorted(e["digest"] for e in listed) == sorted([signed["sig"]["digest"], signed["sbom"]["digest"]])
    rows = [r for r in run.json()["referrers"] if r["subject"] == index["digest"]]
    assert len(rows) == 3 and all(r["targets"] == [f"{registry2.host}/{repo_name}"] for r in rows)


@pytest.mark.fault("quay_oci_index_refused", "survived")
def test_a_registry_refusing_the_index_as_it_is_gets_a_recomposed_docker_list(registry, repo_name):
    """Quay before 3.8 refuses an OCI index holding Docker manifests (openshift/oc-mirror#253, fixed by
    quay/quay#1649): the byte copy cannot go there, so with --format auto a recomposed Docker list goes
    instead, as for any index (registry/index_format.py), and the note says the digest differs."""
    images = [mm_images.push_image(registry, repo_name, arch=a) for a in ("amd64", "s390x")]
    body = mm_images.canonical_json({"schemaVersion": 2, "mediaType": mm_images.OCI_INDEX, "manifests": [
        {"mediaType": i["media_type"], "digest": i["digest"], "size": i["size"], "platform": i["platform"]}
        for i in images]})
    mm_images.put_raw_manifest(registry, repo_name, "rc", body, mm_images.OCI_INDEX)
    with FaultProxy(registry) as proxy:
        proxy.add_rule(method="PUT", path=rf"^/v2/{repo_name}-quay/manifests/",
                       fault=mm_hosted.quay_refuses_oci_index_with_docker_children())
        run = promote(registry, repo_name, "--target", f"{proxy.host}/{repo_name}-quay:1.0")
    succeeded(run)
    out = run.json()
    assert out["mediaType"] == mm_images.DOCKER_LIST and out["digest"] != digest_of(body)
    stored, _, header = mm_images.get_manifest(registry, f"{repo_name}-quay", "1.0")
    assert header == out["digest"] and json.loads(stored)["mediaType"] == mm_images.DOCKER_LIST
    assert "refused the OCI index as it is" in run.err and "digest differs" in run.err


def test_layout_source_index_is_copied_as_it_is(registry, repo_name, buildah_list, tmp_path):
    """An index in an OCI layout (skopeo copy --all into oci:DIR) promoted to a registry keeps its digest."""
    body = seed("buildah-oci", registry, repo_name, buildah_list)
    mm_layouts.to_layout(registry, repo_name, "rc", tmp_path / "staging")
    run = run_cli("push", "from-matrix", "-", "--target", f"{registry.host}/{repo_name}-prod:1.0", "--json",
                  stdin=json.dumps([{"image": f"oci-layout://{tmp_path / 'staging'}:rc"}]))
    succeeded(run)
    assert run.json()["digest"] == digest_of(body)
    assert raw(registry, f"{repo_name}-prod:1.0") == body
