"""Smoke tests for the test-support layer: registries, seeding client, token issuer, CLIs."""
from __future__ import annotations

import hashlib
import json

import pytest
import requests

import mm_clients
import mm_images

KINDS = ["registry", "registry2", "tls_registry", "token_registry"]


@pytest.fixture(params=KINDS)
def any_registry(request):
    return request.getfixturevalue(request.param)


def _check_roundtrip(reg, repo, pushed: dict, reference: str) -> dict:
    body, media_type, digest_header = mm_images.get_manifest(reg, repo, reference)
    assert "sha256:" + hashlib.sha256(body).hexdigest() == pushed["digest"]
    assert digest_header == pushed["digest"]
    assert media_type == pushed["media_type"]
    assert len(body) == pushed["size"]
    return json.loads(body)


@pytest.mark.parametrize("fmt", ["docker", "oci"])
def test_push_image_roundtrip(any_registry, repo_name, fmt):
    reg = any_registry
    img = mm_images.push_image(reg, repo_name, "v1", fmt=fmt, arch="arm64", variant="v8", layers=2)
    assert img["ref"] == f"{reg.host}/{repo_name}:v1"
    assert _check_roundtrip(reg, repo_name, img, "v1") == img["manifest"]
    assert _check_roundtrip(reg, repo_name, img, img["digest"]) == img["manifest"]
    assert len(img["layer_digests"]) == 2
    assert all(mm_images.blob_exists(reg, repo_name, d)
               for d in img["layer_digests"] + [img["config_digest"]])
    assert mm_images.manifest_exists(reg, repo_name, "v1")
    assert not mm_images.manifest_exists(reg, repo_name, "nope")
    assert mm_images.list_tags(reg, repo_name) == ["v1"]

    assert mm_clients.skopeo_inspect(reg, img["ref"]) == img["manifest"]
    summary = mm_clients.skopeo_inspect(reg, img["ref"], raw=False)
    assert (summary["Architecture"], summary["Digest"]) == ("arm64", img["digest"])
    assert mm_clients.docker_manifest_inspect(reg, img["ref"])["config"]["digest"] == \
        img["config_digest"]


def test_push_attested_index_roundtrip(any_registry, repo_name):
    reg = any_registry
    idx = mm_images.push_attested_index(
        reg, repo_name, "multi", platforms=[("linux", "amd64"), ("linux", "arm64", "v8")])
    manifest = _check_roundtrip(reg, repo_name, idx, "multi")
    assert manifest["mediaType"] == mm_images.OCI_INDEX
    descs = manifest["manifests"]
    arches = [d["platform"]["architecture"] for d in descs]
    assert arches == ["amd64", "unknown", "arm64", "unknown"]
    for image, att, image_desc, att_desc in zip(idx["images"], idx["attestations"],
                                                descs[0::2], descs[1::2]):
        assert image_desc["digest"] == image["digest"]
        assert att_desc["digest"] == att["digest"]
        assert att["ref_digest"] == image["digest"]
        assert att_desc["annotations"] == {"vnd.docker.reference.digest": image["digest"],
                                           "vnd.docker.reference.type": "attestation-manifest"}
        att_manifest = json.loads(mm_images.get_manifest(reg, repo_name, att["digest"])[0])
        assert att_manifest["layers"][0]["mediaType"] == mm_images.INTOTO
        assert mm_images.manifest_exists(reg, repo_name, image["digest"])
    assert mm_images.list_tags(reg, repo_name) == ["multi"]

    assert mm_clients.skopeo_inspect(reg, idx["ref"]) == manifest
    picked = mm_clients.skopeo_inspect(reg, idx["ref"], raw=False, override_arch="arm64",
                                       override_variant="v8")
    assert picked["Layers"] == idx["images"][1]["layer_digests"]   # arm64's own layer
    assert (picked["Architecture"], picked["Digest"]) == ("arm64", idx["digest"])
    shown = mm_clients.docker_manifest_inspect(reg, idx["ref"])
    assert [d["digest"] for d in shown["manifests"]] == [d["digest"] for d in descs]


def test_push_is_deterministic_and_salted(registry, repo_name):
    a = mm_images.push_image(registry, repo_name, fmt="oci")
    b = mm_images.push_image(registry, repo_name, fmt="oci")
    c = mm_images.push_image(registry, repo_name, fmt="oci", salt="x")
    d = mm_images.push_image(registry, repo_name, fmt="oci", os="windows",
                             os_version="10.0.20348.2582", os_features=["win32k"])
    assert a["digest"] == b["digest"] != c["digest"]
    assert a["ref"] == f"{registry.host}/{repo_name}@{a['digest']}"
    assert d["platform"] == {"architecture": "amd64", "os": "windows",
                             "os.version": "10.0.20348.2582", "os.features": ["win32k"]}
    assert mm_images.list_tags(registry, repo_name) == []


def test_put_raw_manifest(registry, repo_name):
    img = mm_images.push_image(registry, repo_name)
    index = {"schemaVersion": 2, "mediaType": mm_images.DOCKER_LIST, "manifests": [
        {"mediaType": img["media_type"], "digest": img["digest"], "size": img["size"],
         "platform": img["platform"]}]}
    body = json.dumps(index, indent=3).encode()          # unusual whitespace on purpose
    resp = mm_images.put_raw_manifest(registry, repo_name, "list", body, mm_images.DOCKER_LIST)
    assert resp.headers["Docker-Content-Digest"] == mm_images.sha256_digest(body)
    assert mm_images.get_manifest(registry, repo_name, "list")[0] == body
    bad = mm_images.put_raw_manifest(registry, repo_name, "bad", b"{not json",
                                     mm_images.OCI_MANIFEST, check=False)
    assert bad.status_code == 400


def test_cross_registry_fixtures_are_distinct(registry, registry2, repo_name):
    img = mm_images.push_image(registry, repo_name, "v1")
    assert registry.host != registry2.host
    assert not mm_images.manifest_exists(registry2, repo_name, img["digest"])


def test_token_issuer(token_registry, repo_name):
    reg, issuer = token_registry, token_registry.token_issuer
    session = reg.session()
    before = len(issuer.requests_log)
    params = {"service": issuer.service, "scope": f"repository:{repo_name}:pull,push"}
    wrong = session.get(reg.token_url, params=params, auth=(reg.username, "wrong"))
    assert wrong.status_code == 401
    anon = session.get(reg.token_url, params=params)
    assert anon.status_code == 200 and "refresh_token" not in anon.json()

    form = {"grant_type": "password", "username": reg.username, "password": reg.password,
            "service": issuer.service, "scope": params["scope"], "client_id": "mm-tests"}
    first = session.post(reg.token_url, data=form).json()
    refreshed = session.post(reg.token_url, data={
        "grant_type": "refresh_token", "refresh_token": first["refresh_token"],
        "service": issuer.service, "scope": params["scope"]})
    assert refreshed.status_code == 200
    assert session.post(reg.token_url, data={**form, "password": "wrong"}).status_code == 401

    # an anonymous token only allows pull: the registry refuses a push with it
    token = anon.json()["token"]
    push = session.post(f"{reg.url}/v2/{repo_name}/blobs/uploads/",
                        headers={"Authorization": f"Bearer {token}"})
    assert push.status_code == 401
    # the full-access token from the refresh grant is accepted
    ok = session.post(f"{reg.url}/v2/{repo_name}/blobs/uploads/",
                      headers={"Authorization": f"Bearer {refreshed.json()['token']}"})
    assert ok.status_code == 202

    log = issuer.requests_log[before:]
    assert [(e["method"], e["grant"], e["status"]) for e in log] == [
        ("GET", "basic", 401), ("GET", "anonymous", 200), ("POST", "password", 200),
        ("POST", "refresh_token", 200), ("POST", "password", 401)]
    assert log[1]["access"] == [{"type": "repository", "name": repo_name, "actions": ["pull"]}]
    assert log[2]["access"][0]["actions"] == ["pull", "push"]


def test_tls_registry_rejects_unverified_and_anonymous(tls_registry):
    unverified = requests.Session()
    unverified.trust_env = False                 # default CA bundle: no ca_file
    with pytest.raises(requests.exceptions.SSLError):
        unverified.get(tls_registry.url + "/v2/")
    assert tls_registry.session().get(tls_registry.url + "/v2/").status_code == 401


def test_access_log(registry, repo_name):
    before = len(registry.request_log())
    mm_images.push_image(registry, repo_name, "v1")
    entries = registry.request_log()[before:]
    assert ("PUT", f"/v2/{repo_name}/manifests/v1", 201) in entries
    methods = [m for m, _, _ in entries]
    assert methods.count("PUT") == 4            # layer, config, manifest by digest, by tag
