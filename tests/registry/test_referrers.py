"""Referrers found as a registry holds them: signatures and SBOMs pushed by an independent client.

Distribution 2.8 has no referrers API (it answers 404), so discovery there goes through the referrers
tag schema and cosign's tags; the API path (pages, Link, a filter the registry ignores) is exercised by a
proxy that serves the API over the same real artifacts, as distribution 3 and hosted registries do.
"""
import json
import urllib.parse

import pytest

import mm_images
from mm_artifacts import SBOM, SIG, push_artifact, push_cosign_signature, push_tag_index
from mm_faults import Fault, FaultProxy
from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import RegistryError
from multiarch_ci.core.reference import ImageRef
from multiarch_ci.core.referrers import Referrer, referrers_tag
from multiarch_ci.registry.connect import connect
from multiarch_ci.registry.referrers import MAX_PAGES, list_referrers, update_tag_schema


@pytest.fixture
def signed(registry, repo_name):
    image = mm_images.push_image(registry, repo_name, "v1", fmt="oci")
    sig = push_artifact(registry, repo_name, image, SIG, b"signature bytes", created="2026-11-28")
    sbom = push_artifact(registry, repo_name, image, SBOM, b'{"spdxVersion":"SPDX-2.3"}')
    push_tag_index(registry, repo_name, image, [sig["entry"], sbom["entry"]])
    cosign = push_cosign_signature(registry, repo_name, image)
    return {"image": image, "sig": sig, "sbom": sbom, "cosign": cosign,
            "repo": ImageRef.parse(f"{registry.host}/{repo_name}"), "subject": Digest.parse(image["digest"])}


def test_tag_schema_and_cosign_tags_found_where_the_api_is_absent(registry, signed):
    client = connect(environ={})
    found = list_referrers(client, signed["repo"], signed["subject"])
    assert found.api is False
    by_digest = {str(r.digest): r for r in found.referrers}
    assert set(by_digest) == {signed["sig"]["digest"], signed["sbom"]["digest"], signed["cosign"]["digest"]}
    assert by_digest[signed["sig"]["digest"]].to_dict() == signed["sig"]["entry"]
    assert by_digest[signed["sbom"]["digest"]].artifact_type == SBOM
    cosign = by_digest[signed["cosign"]["digest"]]
    assert cosign.tag == signed["cosign"]["tag"] and cosign.size == signed["cosign"]["size"]
    only = list_referrers(client, signed["repo"], signed["subject"], SBOM)
    assert [str(r.digest) for r in only.referrers] == [signed["sbom"]["digest"]]


def test_an_image_nobody_refers_to_costs_five_requests(registry, repo_name):
    image = mm_images.push_image(registry, repo_name, "v1", fmt="oci", salt="lonely")
    client = connect(environ={})
    before = len(registry.request_log())
    found = list_referrers(client, ImageRef.parse(f"{registry.host}/{repo_name}"), Digest.parse(image["digest"]))
    assert found.referrers == () and found.api is False
    log = [entry for entry in registry.request_log()[before:] if entry[1] != "/v2/"]  # the client's first ping
    assert [(m, s) for m, _, s in log] == [("GET", 404), ("GET", 404), ("HEAD", 404), ("HEAD", 404), ("HEAD", 404)]
    assert log[0][1].endswith(f"/referrers/{image['digest']}")


def serve_referrers(pages: list[list[dict]]) -> Fault:
    """Answer GET /v2/<repo>/referrers/<digest> as a registry with the API: pages linked by rel="next"."""
    def action(x) -> None:
        path, _, query = x.target.partition("?")
        page = int(dict(urllib.parse.parse_qsl(query)).get("page", 0))
        headers = {"Content-Type": mm_images.OCI_INDEX}
        if page + 1 < len(pages):
            headers["Link"] = f'<{path}?page={page + 1}>; rel="next"'
        body = json.dumps({"schemaVersion": 2, "mediaType": mm_images.OCI_INDEX, "manifests": pages[page]})
        x.drain()
        x.respond(200, headers, body.encode())
    return Fault("serve_referrers", action)


def test_api_pages_are_followed_and_an_ignored_filter_is_applied(registry, signed):
    with FaultProxy(registry) as proxy:
        proxy.add_rule(method="GET", path=r"/referrers/",
                       fault=serve_referrers([[signed["sig"]["entry"]], [signed["sbom"]["entry"]]]))
        client = connect(environ={})
        repo = ImageRef.parse(f"{proxy.host}/{signed['repo'].repository}")
        found = list_referrers(client, repo, signed["subject"])
        assert found.api is True
        assert [str(r.digest) for r in found.referrers] == [signed["sig"]["digest"], signed["sbom"]["digest"],
                                                             signed["cosign"]["digest"]]
        assert proxy.count("GET", r"/referrers/") == 2
        assert proxy.count("GET", r"/manifests/sha256-") == 0  # the API answered: no tag-schema read
        filtered = list_referrers(client, repo, signed["subject"], SIG, cosign=False)
        assert [str(r.digest) for r in filtered.referrers] == [signed["sig"]["digest"]]
        assert any("artifactType=application%2Fvnd.example.signature.v1" in s.path for s in proxy.seen)


@pytest.mark.hostile("endless referrers pages")
def test_endless_pages_are_bounded(registry, signed):
    def endless(x) -> None:
        x.drain()
        x.respond(200, {"Content-Type": mm_images.OCI_INDEX, "Link": '</v2/any/referrers/x?again>; rel="next"'},
                  b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}')
    with FaultProxy(registry) as proxy:
        proxy.add_rule(method="GET", path=r"/referrers/", fault=Fault("endless", endless))
        client = connect(environ={})
        with pytest.raises(RegistryError, match=f"more than {MAX_PAGES} pages"):
            list_referrers(client, ImageRef.parse(f"{proxy.host}/{signed['repo'].repository}"), signed["subject"])
        assert proxy.count("GET", r"referrers") == MAX_PAGES


def copy_manifest(registry, src_repo: str, registry2, dst_repo: str, body: bytes) -> None:
    """Copy an artifact with the independent client (the publish chain's job later)."""
    doc = json.loads(body)
    src, dst = mm_images.client(registry), mm_images.client(registry2)
    for blob in [doc["config"], *doc["layers"]]:
        data = src.request("GET", src_repo, f"/v2/{src_repo}/blobs/{blob['digest']}").content
        dst.push_blob(dst_repo, data)
    dst.push_manifest(dst_repo, body, doc["mediaType"], None)


def test_copied_referrers_are_listed_in_the_target_tag_index(registry, registry2, repo_name, signed):
    client = connect(environ={})
    target = ImageRef.parse(f"{registry2.host}/{repo_name}")
    image = signed["image"]
    image2 = mm_images.push_image(registry2, repo_name, "v1", fmt="oci")  # same content, same digest
    assert image2["digest"] == image["digest"]
    found = list_referrers(client, signed["repo"], signed["subject"]).referrers
    for a in (signed["sig"], signed["sbom"]):
        copy_manifest(registry, repo_name, registry2, repo_name, a["body"])
    other = push_artifact(registry2, repo_name, image2, "application/vnd.other.v1", b"already here", by="someone")
    push_tag_index(registry2, repo_name, image2, [other["entry"]])  # the target already lists one
    written = update_tag_schema(client, target, signed["subject"], list(found))
    body, _, header = mm_images.get_manifest(registry2, repo_name, referrers_tag(signed["subject"]))
    assert str(written) == header == mm_images.sha256_digest(body)
    listed = json.loads(body)["manifests"]
    assert listed[0] == other["entry"]                                # kept verbatim, first
    assert [e["digest"] for e in listed[1:]] == sorted([signed["sig"]["digest"], signed["sbom"]["digest"]])
    assert listed[1:] == sorted([signed["sig"]["entry"], signed["sbom"]["entry"]], key=lambda e: e["digest"])
    before = len(registry2.request_log())
    assert update_tag_schema(client, target, signed["subject"], list(found)) is None  # nothing new: no PUT
    assert not [m for m, *_ in registry2.request_log()[before:] if m == "PUT"]
    again = list_referrers(client, target, signed["subject"], cosign=False)
    assert {str(r.digest) for r in again.referrers} == {other["digest"], signed["sig"]["digest"],
                                                        signed["sbom"]["digest"]}


def test_no_tag_index_where_the_target_has_the_api(registry, signed):
    with FaultProxy(registry) as proxy:
        proxy.add_rule(method="GET", path=r"/referrers/", fault=serve_referrers([[]]))
        client = connect(environ={})
        target = ImageRef.parse(f"{proxy.host}/{signed['repo'].repository}-api")
        r = Referrer(mm_images.OCI_MANIFEST, Digest.parse(signed["sig"]["digest"]), len(signed["sig"]["body"]), SIG)
        assert update_tag_schema(client, target, signed["subject"], [r]) is None
        assert proxy.count("PUT") == 0
