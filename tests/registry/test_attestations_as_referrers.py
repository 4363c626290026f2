"""--attestations referrers: buildx's attestation manifests leave the index and are written as OCI referrers of
their images, read back by an independent client (skopeo for the `sha256-<hex>` tag schema index, plain
requests for the manifests and blobs).

Distribution 2.8 has no referrers API, so the tag schema is what lists them here; a registry with the API
is played by the fault proxy answering GET /v2/<repo>/referrers/<digest> over the same real registry.
"""
import json

import pytest

import mm_images
from mm_cli import run_cli
from mm_clients import skopeo_inspect
from mm_faults import Fault, FaultProxy
from mm_layouts import to_layout
from mm_runner import run_action

ARTIFACT_TYPE = "application/vnd.docker.attestation.manifest.v1+json"
EMPTY = "application/vnd.oci.empty.v1+json"
EMPTY_DIGEST = mm_images.sha256_digest(b"{}")
PLATFORMS = {"amd64": ("linux", "amd64"), "arm64": ("linux", "arm64", "v8")}


def referrers_api() -> Fault:
    """Answer GET /v2/<repo>/referrers/<digest> as a registry with the API (an empty listing)."""
    def action(x) -> None:
        x.drain()
        x.respond(200, {"Content-Type": mm_images.OCI_INDEX},
                  json.dumps({"schemaVersion": 2, "mediaType": mm_images.OCI_INDEX, "manifests": []}).encode())
    return Fault("referrers_api", action)


def attested_sources(reg, repo: str) -> list[dict]:
    """Two per-arch pushes as buildx makes them (an index: the image and its attestation), tags amd64/arm64."""
    out = []
    for tag, platform in PLATFORMS.items():
        pushed = mm_images.push_attested_index(reg, repo, tag, platforms=(platform,))
        att = pushed["attestations"][0]
        body, _, _ = mm_images.get_manifest(reg, repo, att["digest"])
        out.append({"ref": pushed["ref"], "image": pushed["images"][0], "attestation": att,
                    "att_manifest": json.loads(body)})
    return out


def matrix(sources: list[dict]) -> str:
    return json.dumps([{"image": s["ref"]} for s in sources])


def tag_listing(reg, repo: str, subject: str) -> dict:
    """The referrers tag schema index for `subject`, as skopeo reads it."""
    return skopeo_inspect(reg, f"{reg.host}/{repo}:{subject.replace(':', '-')}")


def assert_written_as_referrers(reg, repo: str, sources: list[dict]) -> dict[str, str]:
    """Each image's attestation, as any client listing referrers finds it; returns image -> referrer digest."""
    found = {}
    for s in sources:
        image = s["image"]
        listed = tag_listing(reg, repo, image["digest"])["manifests"]
        assert len(listed) == 1, listed   # one attestation, listed once
        entry = listed[0]
        assert entry["artifactType"] == ARTIFACT_TYPE and entry["mediaType"] == mm_images.OCI_MANIFEST
        body, _, header = mm_images.get_manifest(reg, repo, entry["digest"])
        assert header == entry["digest"] == mm_images.sha256_digest(body) and entry["size"] == len(body)
        referrer = json.loads(body)
        assert referrer["subject"] == {"mediaType": image["media_type"], "digest": image["digest"],
                                       "size": image["size"]}
        assert referrer["artifactType"] == ARTIFACT_TYPE
        assert referrer["config"] == {"mediaType": EMPTY, "digest": EMPTY_DIGEST, "size": 2}
        assert referrer["layers"] == s["att_manifest"]["layers"]   # the in-toto statements, unchanged
        assert referrer["layers"][0]["annotations"]["in-toto.io/predicate-type"] == mm_images.SLSA_V02
        for blob in [EMPTY_DIGEST, *(layer["digest"] for layer in referrer["layers"])]:
            assert mm_images.blob_exists(reg, repo, blob), blob
        assert entry["digest"] != s["attestation"]["digest"]   # a subject added: another digest
        found[image["digest"]] = entry["digest"]
    return found


def assert_only_images(doc: dict, sources: list[dict]) -> None:
    assert [m["digest"] for m in doc["manifests"]] == [s["image"]["digest"] for s in sources]
    assert all(m["platform"]["os"] != "unknown" and "annotations" not in m for m in doc["manifests"])


TARGETS = [("another-registry", "registry2", "{repo}"), ("same-registry", "registry", "{repo}-released"),
           ("the-sources-repository", "registry", "{repo}-src")]


@pytest.mark.parametrize("target_reg,target_repo", [t[1:] for t in TARGETS], ids=[t[0] for t in TARGETS])
def test_attestations_become_referrers_and_leave_the_index(request, registry, repo_name, target_reg, target_repo):
    sources = attested_sources(registry, f"{repo_name}-src")
    reg = request.getfixturevalue(target_reg)
    repo = target_repo.format(repo=repo_name)
    r = run_cli("push", "from-matrix", "-", "--target", f"{reg.host}/{repo}:v1", "--attestations", "referrers",
                "--json", stdin=matrix(sources))
    assert r.code == 0, r.err
    doc = r.json()
    assert [m["platform"] for m in doc["manifests"]] == ["linux/amd64", "linux/arm64/v8"]
    _, stored, digest = mm_images.stored_index(reg, repo, "v1")
    assert digest == doc["digest"]
    assert_only_images(stored, sources)
    written = assert_written_as_referrers(reg, repo, sources)
    rows = [row for row in doc["referrers"] if row.get("attestation")]
    assert {row["subject"]: row["digest"] for row in rows} == written
    assert {row["attestation"] for row in rows} == {s["attestation"]["digest"] for s in sources}
    assert sum("written as referrer" in line for line in r.err_lines) == 2, r.err
    if repo != f"{repo_name}-src":   # the attestation manifests themselves are not copied: nothing points at them
        assert not any(mm_images.manifest_exists(reg, repo, s["attestation"]["digest"]) for s in sources)

    listings = {s["image"]["digest"]: mm_images.get_manifest(reg, repo, s["image"]["digest"].replace(":", "-"))[2]
                for s in sources}
    again = run_cli("push", "from-matrix", "-", "--target", f"{reg.host}/{repo}:v1", "--attestations", "referrers",
                    "--json", stdin=matrix(sources))
    assert again.code == 0, again.err
    assert again.json()["digest"] == digest   # reruns converge: the same index, the same referrers
    assert assert_written_as_referrers(reg, repo, sources) == written   # listed once, not twice
    assert {d: mm_images.get_manifest(reg, repo, d.replace(":", "-"))[2] for d in listings} == listings


def test_two_targets_each_get_them(registry, registry2, repo_name):
    sources = attested_sources(registry, f"{repo_name}-src")
    r = run_cli("push", "from-matrix", "-", "--target", f"{registry2.host}/{repo_name}:v1",
                "--target", f"{registry.host}/{repo_name}-also:v1", "--attestations", "referrers", "--json",
                stdin=matrix(sources))
    assert r.code == 0, r.err
    written = [assert_written_as_referrers(reg, repo, sources)
               for reg, repo in ((registry2, repo_name), (registry, f"{repo_name}-also"))]
    assert written[0] == written[1]
    for reg, repo in ((registry2, repo_name), (registry, f"{repo_name}-also")):
        assert_only_images(mm_images.stored_index(reg, repo, "v1")[1], sources)


def test_from_an_oci_layout_source(registry, repo_name, tmp_path):
    """A layout (buildx --output type=oci) has no registry to mount from: the statements are copied."""
    sources = attested_sources(registry, f"{repo_name}-src")
    layout = tmp_path / "build"
    for tag in PLATFORMS:
        to_layout(registry, f"{repo_name}-src", tag, layout)
    r = run_cli("push", "from-matrix", "-", "--target", f"{registry.host}/{repo_name}:v1",
                "--attestations", "referrers", "--json",
                stdin=json.dumps([{"image": f"oci-layout://{layout}:{tag}"} for tag in PLATFORMS]))
    assert r.code == 0, r.err
    assert_only_images(mm_images.stored_index(registry, repo_name, "v1")[1], sources)
    assert_written_as_referrers(registry, repo_name, sources)


def test_docker_images_make_a_docker_list_once_their_attestations_leave_it(registry, repo_name):
    """buildx's attestations are OCI manifests, which a Docker manifest list cannot hold; as referrers they
    are not in the index, so --format docker takes Docker images with attestations."""
    src = f"{repo_name}-src"
    sources = []
    for tag, platform in PLATFORMS.items():
        pushed = mm_images.push_attested_index(registry, src, tag, platforms=(platform,), fmt="docker")
        body, _, _ = mm_images.get_manifest(registry, src, pushed["attestations"][0]["digest"])
        sources.append({"ref": pushed["ref"], "image": pushed["images"][0], "attestation": pushed["attestations"][0],
                        "att_manifest": json.loads(body)})
    kept = run_cli("push", "from-matrix", "-", "--target", f"{registry.host}/{repo_name}:v1", "--format", "docker",
                   stdin=matrix(sources))
    assert kept.code == 1 and "a Docker manifest list may only hold Docker manifests" in kept.err, kept.err
    r = run_cli("push", "from-matrix", "-", "--target", f"{registry.host}/{repo_name}:v1", "--format", "docker",
                "--attestations", "referrers", "--json", stdin=matrix(sources))
    assert r.code == 0, r.err
    _, stored, _ = mm_images.stored_index(registry, repo_name, "v1")
    assert stored["mediaType"] == mm_images.DOCKER_LIST
    assert_only_images(stored, sources)
    assert_written_as_referrers(registry, repo_name, sources)


def oci_artifact_source(reg, repo: str) -> dict:
    """A per-arch push as BuildKit's oci-artifact=true exporter makes it: the attestation manifest already a
    referrer (artifactType, the empty config, a subject), still listed in the index as unknown/unknown."""
    c = mm_images.client(reg)
    image = mm_images.push_image(reg, repo, fmt="oci", arch="riscv64")
    spdx = "https://spdx.dev/Document"
    statement = mm_images.canonical_json({"_type": "https://in-toto.io/Statement/v1", "predicateType": spdx,
                                          "subject": [{"digest": {"sha256": image["digest"].split(":")[1]}}]})
    manifest = {"schemaVersion": 2, "mediaType": mm_images.OCI_MANIFEST, "artifactType": ARTIFACT_TYPE,
                "config": {"mediaType": EMPTY, "digest": c.push_blob(repo, b"{}"), "size": 2},
                "layers": [{"mediaType": mm_images.INTOTO, "digest": c.push_blob(repo, statement),
                            "size": len(statement), "annotations": {"in-toto.io/predicate-type": spdx}}],
                "subject": {"mediaType": image["media_type"], "digest": image["digest"], "size": image["size"]}}
    att = mm_images.canonical_json(manifest)
    att_digest = c.push_manifest(repo, att, mm_images.OCI_MANIFEST, None)
    index = mm_images.canonical_json({"schemaVersion": 2, "mediaType": mm_images.OCI_INDEX, "manifests": [
        {"mediaType": image["media_type"], "digest": image["digest"], "size": image["size"],
         "platform": image["platform"]},
        {"mediaType": mm_images.OCI_MANIFEST, "digest": att_digest, "size": len(att),
         "annotations": {"vnd.docker.reference.digest": image["digest"],
                         "vnd.docker.reference.type": "attestation-manifest"},
         "platform": {"architecture": "unknown", "os": "unknown"}}]})
    c.push_manifest(repo, index, mm_images.OCI_INDEX, "riscv64")
    return {"ref": f"{reg.host}/{repo}:riscv64", "image": image, "attestation": att_digest}


def test_an_attestation_that_is_a_referrer_already_keeps_its_digest(registry, registry2, repo_name):
    source = oci_artifact_source(registry, f"{repo_name}-src")
    r = run_cli("push", "from-matrix", "-", "--target", f"{registry2.host}/{repo_name}:v1",
                "--attestations", "referrers", "--json", stdin=json.dumps([{"image": source["ref"]}]))
    assert r.code == 0, r.err
    _, stored, _ = mm_images.stored_index(registry2, repo_name, "v1")
    assert [m["digest"] for m in stored["manifests"]] == [source["image"]["digest"]]
    listed = tag_listing(registry2, repo_name, source["image"]["digest"])["manifests"]
    assert [(e["digest"], e["artifactType"]) for e in listed] == [(source["attestation"], ARTIFACT_TYPE)]
    body, _, _ = mm_images.get_manifest(registry2, repo_name, source["attestation"])
    assert body == mm_images.get_manifest(registry, f"{repo_name}-src", source["attestation"])[0]
    assert all(mm_images.blob_exists(registry2, repo_name, layer["digest"])
               for layer in [json.loads(body)["config"], *json.loads(body)["layers"]])


def test_keep_is_the_default_and_leaves_the_index_as_buildx_wrote_it(registry, repo_name):
    sources = attested_sources(registry, f"{repo_name}-src")
    digests = []
    for flags in ([], ["--attestations", "keep"]):
        r = run_cli("push", "from-matrix", "-", "--target", f"{registry.host}/{repo_name}:v1", *flags, "--json",
                    stdin=matrix(sources))
        assert r.code == 0, r.err
        digests.append(r.json()["digest"])
        _, stored, _ = mm_images.stored_index(registry, repo_name, "v1")
        atts = [m for m in stored["manifests"] if m["platform"]["os"] == "unknown"]
        assert [a["digest"] for a in atts] == [s["attestation"]["digest"] for s in sources]
        assert all(a["annotations"]["vnd.docker.reference.type"] == "attestation-manifest" for a in atts)
        assert not [row for row in r.json()["referrers"] if row.get("attestation")]
    assert digests[0] == digests[1]
    assert mm_images.list_tags(registry, repo_name) == ["v1"]   # no sha256-<hex> listing written


def test_a_registry_with_the_referrers_api_lists_them_itself(registry, repo_name):
    sources = attested_sources(registry, f"{repo_name}-src")
    with FaultProxy(registry) as proxy:
        proxy.add_rule(method="GET", path=r"/referrers/", fault=referrers_api())
        r = run_cli("push", "from-matrix", "-", "--target", f"{proxy.host}/{repo_name}:v1",
                    "--attestations", "referrers", "--referrers", "none", "--json",
                    stdin=json.dumps([{"image": f"{proxy.host}/{repo_name}-src:{tag}"} for tag in PLATFORMS]))
        tag_puts = proxy.count("PUT", r"/manifests/sha256-")
    assert r.code == 0, r.err
    assert tag_puts == 0   # the API lists a manifest by its subject: no tag schema index written
    assert mm_images.list_tags(registry, repo_name) == ["v1"]
    rows = [row for row in r.json()["referrers"] if row.get("attestation")]
    for s in sources:
        row = next(row for row in rows if row["subject"] == s["image"]["digest"])
        body, _, _ = mm_images.get_manifest(registry, repo_name, row["digest"])
        assert json.loads(body)["subject"]["digest"] == s["image"]["digest"]


def test_referrers_none_does_not_drop_them(registry, registry2, repo_name):
    """--referrers none skips copying what the sources' referrers are; the attestations are this push's own:
    still written (and said so), never dropped without a word."""
    sources = attested_sources(registry, f"{repo_name}-src")
    r = run_cli("push", "from-matrix", "-", "--target", f"{registry2.host}/{repo_name}:v1",
                "--attestations", "referrers", "--referrers", "none", "--json", stdin=matrix(sources))
    assert r.code == 0, r.err
    assert any(line.startswith("note: referrers none") and "still written as referrers" in line
               for line in r.err_lines), r.err
    _, stored, _ = mm_images.stored_index(registry2, repo_name, "v1")
    assert_only_images(stored, sources)
    assert_written_as_referrers(registry2, repo_name, sources)


def test_a_dry_run_says_what_would_be_written_and_writes_nothing(registry, repo_name):
    sources = attested_sources(registry, f"{repo_name}-src")
    r = run_cli("push", "from-matrix", "-", "--target", f"{registry.host}/{repo_name}:v1",
                "--attestations", "referrers", "--dry-run", "--json", stdin=matrix(sources))
    assert r.code == 0, r.err
    assert [m["platform"] for m in r.json()["manifests"]] == ["linux/amd64", "linux/arm64/v8"]
    assert "dry run: 2 attestation(s) would be written as referrers of their images" in r.err_lines
    assert mm_images.list_tags(registry, repo_name) == []


@pytest.mark.bad_input
def test_a_layout_target_lists_them_in_its_index_json(registry, repo_name, tmp_path):
    """A layout target takes referrers (entries of index.json naming their subject): each attestation is
    written there as a referrer of its image, and the index holds only the platform images."""
    sources = attested_sources(registry, f"{repo_name}-src")
    out = tmp_path / "release"
    r = run_cli("push", "from-matrix", "-", "--target", f"oci-layout://{out}:v1", "--attestations", "referrers",
                stdin=matrix(sources))
    assert r.code == 0, r.err
    index = json.loads((out / "index.json").read_text())
    tagged = [m for m in index["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name")]
    top = json.loads((out / "blobs" / "sha256" / tagged[0]["digest"].split(":")[1]).read_bytes())
    assert [m["platform"]["architecture"] for m in top["manifests"]] == ["amd64", "arm64"]
    listed = [m for m in index["manifests"] if m.get("artifactType")]
    assert len(listed) == 2
    for entry in listed:
        referrer = json.loads((out / "blobs" / "sha256" / entry["digest"].split(":")[1]).read_bytes())
        assert referrer["subject"]["digest"] in {s["image"]["digest"] for s in sources}
        for layer in referrer["layers"]:
            assert (out / "blobs" / "sha256" / layer["digest"].split(":")[1]).is_file()


def test_the_action_input(registry, registry2, repo_name):
    sources = attested_sources(registry, f"{repo_name}-src")
    run = run_action({"target": f"{registry2.host}/{repo_name}:v1", "attestations": "referrers",
                      "sources": "\n".join(s["ref"] for s in sources)})
    assert run.code == 0, run.out + run.err
    assert json.loads(run.outputs["platforms"]) == {"linux/amd64": sources[0]["image"]["digest"],
                                                    "linux/arm64/v8": sources[1]["image"]["digest"]}
    written = assert_written_as_referrers(registry2, repo_name, sources)
    rows = json.loads(run.outputs["referrers"])
    assert {row["subject"]: row["digest"] for row in rows} == written
    assert run.summary.count("**Attestation written as referrer:**") == 2 and "(attestation)" not in run.summary


@pytest.mark.bad_input
def test_an_unknown_attestations_value_is_refused_in_the_action(registry, repo_name):
    mark = len(registry.request_log())
    run = run_action({"target": f"{registry.host}/{repo_name}:v1", "attestations": "drop",
                      "sources": f"{registry.host}/{repo_name}-src:amd64"})
    assert run.code == 2 and len(run.errors) == 1, run.out
    assert "input attestations: 'drop' is not one of keep, referrers" in run.errors[0]
    assert registry.request_log()[mark:] == []
