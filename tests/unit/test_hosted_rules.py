"""The pure decisions behind hosted-registry handling: hints, mount outcomes, rate limits, the Docker
list fallback. Table-driven; the end-to-end behaviour is in tests/hosted/."""
from __future__ import annotations

import pytest

from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import RegistryError
from multiarch_ci.core.model import Descriptor, ImageIndex, MediaType
from multiarch_ci.registry.auth.credential import Credential
from multiarch_ci.registry.auth.login_hints import login_hint
from multiarch_ci.registry.hosted_errors import hosted_hint
from multiarch_ci.registry.http.quota import quota_spent, rate_limit
from multiarch_ci.registry.index_format import docker_list_fallback
from multiarch_ci.registry.mounts import ERROR, MOUNTED, SESSION, UPLOAD, mount_outcome


@pytest.mark.parametrize("status, code, message, headers, says", [
    (404, "NAME_UNKNOWN", "The repository with name 'app' does not exist in the registry with id '1'", {},
     "aws ecr create-repository --repository-name app"),
    (404, "NAME_UNKNOWN", "The repository with name 'public.ecr.aws/a1/app' does not exist in the registry "
                          "with id '1'", {}, "not its URI"),
    (400, "TAG_INVALID", "The image tag 'latest' already exists in the 'app' repository and cannot be "
                         "overwritten because the repository is immutable.", {}, "IMMUTABLE_WITH_EXCLUSION"),
    (403, "DENIED", "permission_denied: write_package", {}, "permissions: packages: write"),
    (403, "DENIED", "installation not allowed to Write organization package", {}, "Manage Actions access"),
    (429, "TOOMANYREQUESTS", "You have reached your pull rate limit.",
     {"RateLimit-Limit": "100;w=21600", "RateLimit-Remaining": "0;w=21600"}, "0 of 100 pulls left per 6 h"),
    (401, "UNAUTHORIZED", "unauthorized to access repository: proj/app, action: push: unauthorized to access "
                          "repository: proj/app, action: push", {}, "the project 'proj' must exist"),
    (401, None, None, {"WWW-Authenticate": 'Basic realm="Gitea Package API"'}, "write:package scope"),
    (401, None, "reqPackageAccess", {}, "Actions job token cannot push packages"),
    (400, "BLOB_UPLOAD_INVALID", "blob upload invalid Repository does not allow updating assets: docker-hosted", {},
     'Nexus says "Repository does not allow updating assets: docker-hosted"'),
    (400, "BLOB_UPLOAD_INVALID", "blob upload invalid Repository does not allow updating assets: releases", {},
     "allow redeploy on the hosted repository"),
    (400, "BLOB_UPLOAD_INVALID", "blob upload invalid hosted/v2/-/blobs/sha256:ab cannot be updated", {},
     "rerunning is safe"),
], ids=["ecr-missing", "ecr-uri", "ecr-immutable", "ghcr-write", "ghcr-org", "hub-429", "harbor-project",
        "gitea-realm", "gitea-body", "nexus-redeploy", "nexus-redeploy-fix", "nexus-blob-race"])
def test_hosted_hint(status, code, message, headers, says):
    assert says in hosted_hint(status, code, message, headers)


@pytest.mark.parametrize("ref, owner", [
    ("git.example.com/octo/app:v1", "octo"), ("git.example.com:3000/octo/team/app@sha256:ab", "octo"),
    ("127.0.0.1:5000/t/app", "t"),
], ids=["tag", "nested-digest", "port"])
def test_gitea_hint_names_the_owner(ref, owner):
    """A Gitea repository is OWNER/IMAGE (https://docs.gitea.com/usage/packages/container/)."""
    assert f"write access to the packages of {owner!r}" in hosted_hint(401, None, "reqPackageAccess", {}, ref)


def test_bare_403_from_ghcr_gets_the_ghcr_hint():
    """int128/docker-manifest-create-action#158: the index PUT answered a bare 403 Forbidden."""
    assert "Manage Actions access" in hosted_hint(403, None, None, {}, "ghcr.io/o/app:v1")
    assert hosted_hint(403, None, None, {}, "quay.io/o/app:v1") is None


@pytest.mark.parametrize("status, code, message, headers", [
    (404, "MANIFEST_UNKNOWN", "manifest unknown", {}),
    (400, "TAG_INVALID", "manifest tag did not match URI", {}),
    (403, "DENIED", "requested access to the resource is denied", {}),
    (429, "TOOMANYREQUESTS", "slow down", {}),
    (401, "UNAUTHORIZED", "authentication required", {"WWW-Authenticate": 'Basic realm="Registry Realm"'}),
    (400, "BLOB_UPLOAD_INVALID", "blob upload invalid", {}),
    (400, "MANIFEST_INVALID", "Repository does not allow updating assets: x", {}),
], ids=["plain-404", "tag-invalid-mutable", "plain-403", "429-no-headers", "basic-401", "blob-upload-invalid",
        "nexus-words-other-code"])
def test_no_hosted_hint_for_ordinary_answers(status, code, message, headers):
    assert hosted_hint(status, code, message, headers) is None


@pytest.mark.parametrize("status, location, outcome", [
    (201, "/v2/a/blobs/sha256:x", MOUNTED), (201, None, MOUNTED), (202, "/v2/a/blobs/uploads/u", SESSION),
    (202, None, UPLOAD), (401, None, UPLOAD), (404, None, UPLOAD), (405, None, UPLOAD), (501, None, UPLOAD),
    (400, None, ERROR), (500, None, ERROR),
])
def test_mount_outcome(status, location, outcome):
    assert mount_outcome(status, location) == outcome


def test_rate_limit_headers():
    rl = rate_limit({"RateLimit-Limit": "200;w=21600", "RateLimit-Remaining": "0;w=21600",
                     "Docker-RateLimit-Source": "192.0.2.1"})
    assert (rl.limit, rl.remaining, rl.window, rl.source, rl.spent) == (200, 0, 21600, "192.0.2.1", True)
    assert not quota_spent({"RateLimit-Limit": "100;w=21600", "RateLimit-Remaining": "7;w=21600"})
    assert not quota_spent({})


@pytest.mark.parametrize("user, identity, says", [
    ("robot+ci", None, "$$ in .gitlab-ci.yml"), ("robot$proj+ci", None, ""),
    ("_json_key", None, "JSON key file"), ("oauth2accesstoken", None, "print-access-token"),
    ("00000000-0000-0000-0000-000000000000", "tok", "az acr login"), ("alice", None, ""),
])
def test_login_hint(user, identity, says):
    hint = login_hint(Credential(user, None if identity else "pw", identity))
    assert (says in hint) if says else hint == ""


def _d(media_type: str, n: int) -> Descriptor:
    return Descriptor(media_type, Digest.parse("sha256:" + f"{n:064x}"), 100)


REFUSED = RegistryError("put manifest x: HTTP 400 MANIFEST_INVALID: manifest invalid", status=400,
                        code="MANIFEST_INVALID")


def test_docker_children_fall_back_to_a_docker_list_under_auto():
    index = ImageIndex(MediaType.OCI_INDEX, (_d(MediaType.DOCKER_MANIFEST, 1), _d(MediaType.DOCKER_MANIFEST, 2)),
                       (("a", "b"),))
    out = docker_list_fallback(index, REFUSED, "auto")
    assert out.media_type == MediaType.DOCKER_LIST and out.manifests == index.manifests and not out.annotations


@pytest.mark.parametrize("children, fmt, says", [
    ((MediaType.DOCKER_MANIFEST, MediaType.OCI_MANIFEST), "auto", "mixes Docker"),
    ((MediaType.DOCKER_MANIFEST, MediaType.DOCKER_MANIFEST), "oci", "use --format auto or docker"),
])
def test_no_fallback_names_the_fix(children, fmt, says):
    index = ImageIndex(MediaType.OCI_INDEX, tuple(_d(m, i) for i, m in enumerate(children)))
    with pytest.raises(RegistryError) as e:
        docker_list_fallback(index, REFUSED, fmt)
    assert says in e.value.hint


def test_other_refusals_pass_through_untouched():
    index = ImageIndex(MediaType.OCI_INDEX, (_d(MediaType.OCI_MANIFEST, 1),))
    other = RegistryError("x", status=400, code="MANIFEST_INVALID")
    with pytest.raises(RegistryError) as e:
        docker_list_fallback(index, other, "auto")
    assert e.value is other
