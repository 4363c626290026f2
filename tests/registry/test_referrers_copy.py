"""Referrers follow their images: signatures and SBOMs pushed by an independent client into the source
repository are in the target after our push, found by digest, by the `sha256-<hex>` tag index and by the
cosign tag, read back with skopeo and plain requests (distribution 2.8: no referrers API, so the tag
schema is what lists them)."""
import json

import pytest

import mm_artifacts
import mm_images
from mm_cli import run_cli
from mm_clients import skopeo_inspect
from mm_faults import FaultProxy, status

ARCHES = [("amd64", None), ("arm64", "v8")]


def signed_sources(reg, repo: str) -> list[dict]:
    out = []
    for arch, variant in ARCHES:
        src = f"{repo}-{arch}"
        image = mm_images.push_image(reg, src, "v1", fmt="oci", arch=arch, variant=variant)
        out.append({"repo": src, "image": image, **mm_artifacts.sign(reg, src, image)})
    return out


def matrix(host: str, sources: list[dict]) -> str:
    return json.dumps([{"image": f"{host}/{s['repo']}:v1"} for s in sources])


def assert_referrers_in(reg, repo: str, sources: list[dict]) -> None:
    """What an independent client sees in the target: each artifact by digest (skopeo), the tag index
    listing the signature and the SBOM, the cosign tag holding the cosign signature, every blob present."""
    for s in sources:
        subject = s["image"]["digest"]
        for art in (s["sig"], s["sbom"]):
            raw = skopeo_inspect(reg, f"{reg.host}/{repo}@{art['digest']}")
            assert raw["subject"]["digest"] == subject and mm_images.blob_exists(reg, repo, art["payload"])
        listed = skopeo_inspect(reg, f"{reg.host}/{repo}:{subject.replace(':', '-')}")
        assert sorted(e["digest"] for e in listed["manifests"]) == sorted([s["sig"]["digest"], s["sbom"]["digest"]])
        assert {e["digest"]: e for e in listed["manifests"]}[s["sbom"]["digest"]]["artifactType"] == mm_artifacts.SBOM
        body, _, header = mm_images.get_manifest(reg, repo, s["cosign"]["tag"])
        assert header == s["cosign"]["digest"] == mm_images.sha256_digest(body)
        assert mm_images.blob_exists(reg, repo, s["cosign"]["payload"])


def test_signatures_and_sboms_follow_their_images_to_another_registry(registry, registry2, repo_name):
    sources = signed_sources(registry, repo_name)
    r = run_cli("push", "from-matrix", "-", "--target", f"{registry2.host}/{repo_name}:v1", "--json",
                stdin=matrix(registry.host, sources))
    assert r.code == 0, r.err
    assert_referrers_in(registry2, repo_name, sources)
    rows = r.json()["referrers"]
    assert sorted(row["digest"] for row in rows) == sorted(
        a["digest"] for s in sources for a in (s["sig"], s["sbom"], s["cosign"]))
    assert {row["tag"] for row in rows if row["tag"]} == {s["cosign"]["tag"] for s in sources}
    assert all(row["targets"] == [f"{registry2.host}/{repo_name}"] for row in rows)
    logged = [line for line in r.err_lines if line.startswith("referrer ")]
    assert len(logged) == 6 and any(mm_artifacts.SBOM in line for line in logged), r.err
    # the index itself is unchanged by its children's referrers: the same as without them
    again = run_cli("push", "from-matrix", "-", "--target", f"{registry2.host}/{repo_name}-bare:v1", "--json",
                    "--referrers", "none", stdin=matrix(registry.host, sources))
    assert again.code == 0, again.err
    assert again.json()["digest"] == r.json()["digest"] and again.json()["referrers"] == []


def test_cross_repo_on_one_registry_mounts_them(registry, repo_name):
    sources = signed_sources(registry, repo_name)
    with FaultProxy(registry) as proxy:
        r = run_cli("push", "from-matrix", "-", "--target", f"{proxy.host}/{repo_name}:v1", "--json",
                    stdin=matrix(proxy.host, sources))
        blob_gets = proxy.count("GET", r"/blobs/sha256:")
    assert r.code == 0, r.err
    assert_referrers_in(registry, repo_name, sources)
    assert blob_gets == len(sources)   # each image's config, for its platform: every artifact blob mounted


def test_referrers_none_copies_none_and_looks_for_none(registry, registry2, repo_name):
    sources = signed_sources(registry, repo_name)
    with FaultProxy(registry) as proxy:
        r = run_cli("push", "from-matrix", "-", "--target", f"{registry2.host}/{repo_name}:v1", "--json",
                    "--referrers", "none", stdin=matrix(proxy.host, sources))
        looked = proxy.count(None, r"/referrers/|\.sig$|/manifests/sha256-")
    assert r.code == 0, r.err
    assert looked == 0 and r.json()["referrers"] == []
    s = sources[0]
    assert not mm_images.manifest_exists(registry2, repo_name, s["sig"]["digest"])
    assert not mm_images.manifest_exists(registry2, repo_name, s["cosign"]["tag"])


def test_children_already_in_the_target_repository_need_nothing(registry, repo_name, tmp_path):
    folder = tmp_path / "digests"
    folder.mkdir()
    for arch, variant in ARCHES:
        image = mm_images.push_image(registry, repo_name, None, fmt="oci", arch=arch, variant=variant)
        mm_artifacts.sign(registry, repo_name, image)
        (folder / image["digest"][7:]).touch()
    with FaultProxy(registry) as proxy:
        r = run_cli("push", "from-digests", str(folder), "--target", f"{proxy.host}/{repo_name}:v1", "--json")
        looked = proxy.count(None, r"/referrers/|\.sig$|/manifests/sha256-")
    assert r.code == 0, r.err
    assert looked == 0 and r.json()["referrers"] == []


def test_a_cosign_tag_holding_another_signature_in_the_target_is_left_alone(registry, registry2, repo_name):
    sources = signed_sources(registry, repo_name)[:1]
    mm_images.push_image(registry2, repo_name, "other", fmt="oci", arch="amd64")   # the same image, same digest
    theirs = mm_artifacts.push_cosign_signature(registry2, repo_name, sources[0]["image"], note="signed-in-target")
    assert theirs["digest"] != sources[0]["cosign"]["digest"]
    r = run_cli("push", "from-matrix", "-", "--target", f"{registry2.host}/{repo_name}:v1",
                stdin=matrix(registry.host, sources))
    assert r.code == 0, r.err
    _, _, header = mm_images.get_manifest(registry2, repo_name, theirs["tag"])
    assert header == theirs["digest"]                                         # never moved
    assert mm_images.manifest_exists(registry2, repo_name, sources[0]["cosign"]["digest"])  # present by digest
    assert any("already holds" in line and theirs["tag"] in line for line in r.err_lines), r.err


@pytest.mark.fault("referrers listing fails", "survived")
def test_a_registry_that_cannot_list_referrers_still_gets_its_image_pushed(registry, registry2, repo_name):
    sources = signed_sources(registry, repo_name)[:1]
    with FaultProxy(registry) as proxy:
        proxy.add_rule("GET", r"/referrers/", fault=status(403, body=b'{"errors":[{"code":"DENIED","message":"no"}]}'))
        r = run_cli("push", "from-matrix", "-", "--target", f"{registry2.host}/{repo_name}:v1", "--json",
                    stdin=matrix(proxy.host, sources))
    assert r.code == 0, r.err
    assert r.json()["referrers"] == []
    assert any(line.startswith("warning: cannot list the referrers of") and "403" in line for line in r.err_lines)
    assert mm_images.manifest_exists(registry2, repo_name, "v1")


def serve_referrers(entries_by_subject: dict[str, list[dict]]):
    """Answer GET /v2/<repo>/referrers/<digest> as a registry with the API does (one page)."""
    from mm_faults import Fault

    def action(x) -> None:
        subject = x.target.split("?")[0].rsplit("/", 1)[1]
        body = json.dumps({"schemaVersion": 2, "mediaType": mm_images.OCI_INDEX,
                           "manifests": entries_by_subject.get(subject, [])})
        x.drain()
        x.respond(200, {"Content-Type": mm_images.OCI_INDEX}, body.encode())
    return Fault("serve_referrers", action)


def test_found_through_the_api_and_not_indexed_where_the_target_has_it(registry, registry2, repo_name):
    """Source and target both answer the referrers API (as distribution 3 and hosted registries do): the
    referrers are found through it (no tag-schema read) and the target gets no `sha256-<hex>` tag."""
    sources = signed_sources(registry, repo_name)
    listed = {s["image"]["digest"]: [s["sig"]["entry"], s["sbom"]["entry"]] for s in sources}
    with FaultProxy(registry) as src, FaultProxy(registry2) as dst:
        src.add_rule("GET", r"/referrers/", fault=serve_referrers(listed))
        dst.add_rule("GET", r"/referrers/", fault=serve_referrers({}))
        r = run_cli("push", "from-matrix", "-", "--target", f"{dst.host}/{repo_name}:v1", "--json",
                    stdin=matrix(src.host, sources))
        tag_reads = src.count("GET", r"/manifests/sha256-[0-9a-f]{64}$")
        tag_writes = dst.count("PUT", r"/manifests/sha256-[0-9a-f]{64}$")
    assert r.code == 0, r.err
    assert tag_reads == 0 and tag_writes == 0
    assert len(r.json()["referrers"]) == 6
    for s in sources:
        assert mm_images.manifest_exists(registry2, repo_name, s["sig"]["digest"])
        assert mm_images.manifest_exists(registry2, repo_name, s["sbom"]["digest"])
        assert not mm_images.manifest_exists(registry2, repo_name, s["image"]["digest"].replace(":", "-"))


@pytest.mark.hostile("referrers listed that are not there or refer to another image")
def test_stale_and_foreign_entries_are_skipped_not_copied(registry, registry2, repo_name):
    src = f"{repo_name}-amd64"
    image = mm_images.push_image(registry, src, "v1", fmt="oci", arch="amd64")
    other = mm_images.push_image(registry, src, "other", fmt="oci", arch="amd64", salt="other")
    sig = mm_artifacts.push_artifact(registry, src, image, mm_artifacts.SIG, b"the real one")
    foreign = mm_artifacts.push_artifact(registry, src, other, mm_artifacts.SIG, b"signs another image")
    gone = dict(sig["entry"], digest="sha256:" + "0" * 64)   # deleted since: distribution refuses to store
    index = json.dumps({"schemaVersion": 2, "mediaType": mm_images.OCI_INDEX,   # such an index, so it is served
                        "manifests": [sig["entry"], foreign["entry"], gone]}).encode()
    with FaultProxy(registry) as proxy:
        proxy.add_rule("GET", rf"/manifests/{image['digest'].replace(':', '-')}$",
                       fault=status(200, {"Content-Type": mm_images.OCI_INDEX}, index))
        tags = {"name": src, "tags": ["v1", "other", image["digest"].replace(":", "-")]}   # the served index's tag
        proxy.add_rule("GET", r"/tags/list", fault=status(200, {"Content-Type": "application/json"},
                                                          json.dumps(tags).encode()))
        r = run_cli("push", "from-matrix", "-", "--target", f"{registry2.host}/{repo_name}:v1", "--json",
                    stdin=json.dumps([{"image": f"{proxy.host}/{src}:v1"}]))
    assert r.code == 0, r.err
    assert [row["digest"] for row in r.json()["referrers"]] == [sig["digest"]]
    assert not mm_images.manifest_exists(registry2, repo_name, foreign["digest"])
    listed = skopeo_inspect(registry2, f"{registry2.host}/{repo_name}:{image['digest'].replace(':', '-')}")
    assert [e["digest"] for e in listed["manifests"]] == [sig["digest"]]
    warnings = [line for line in r.err_lines if line.startswith("warning:")]
    assert len(warnings) == 2 and any("HTTP 404" in w for w in warnings) and any("subject is" in w for w in warnings)


def test_a_repository_with_more_tags_than_one_page_is_still_searched_per_image(registry, registry2, repo_name):
    """The tag list stands in for four reads per image only when one page holds every tag; a paged one
    (here the registry answers with a next-page Link) means the tags are looked up one by one, as before."""
    sources = signed_sources(registry, repo_name)
    with FaultProxy(registry) as proxy:
        page = json.dumps({"name": "x", "tags": ["v1"]}).encode()
        proxy.add_rule("GET", r"/tags/list",
                       fault=status(200, {"Content-Type": "application/json",
                                          "Link": '</v2/x/tags/list?last=v1>; rel="next"'}, page))
        r = run_cli("push", "from-matrix", "-", "--target", f"{registry2.host}/{repo_name}:v1", "--json",
                    stdin=matrix(proxy.host, sources))
        cosign_heads = proxy.count("HEAD", r"/manifests/sha256-[0-9a-f]{64}\.(sig|att|sbom)$")
    assert r.code == 0, r.err
    assert_referrers_in(registry2, repo_name, sources)
    assert cosign_heads == 3 * len(sources)


def test_one_tag_list_per_source_repository_replaces_the_guesses(registry, registry2, repo_name):
    sources = signed_sources(registry, repo_name)
    with FaultProxy(registry) as proxy:
        r = run_cli("push", "from-matrix", "-", "--target", f"{registry2.host}/{repo_name}:v1", "--json",
                    stdin=matrix(proxy.host, sources))
        lists = proxy.count("GET", r"/tags/list")
        api = proxy.count("GET", r"/referrers/")
        guesses = proxy.count("HEAD", r"/manifests/sha256-[0-9a-f]{64}\.(att|sbom)$")   # tags nobody pushed
    assert r.code == 0, r.err
    assert_referrers_in(registry2, repo_name, sources)
    assert (lists, api, guesses) == (len(sources), 1, 0)
