"""Self-hosted registries' behaviour (Gitea/Forgejo's container registry, Sonatype Nexus Repository's
docker hosted repositories), emulated in the fault proxy in front of the real registry.

Each builder returns a :class:`mm_faults.Fault` answering in that registry's own words; the source of
each behaviour (the registry's code or the issue that shows the answer) is in its docstring.
"""
from __future__ import annotations

import json
import re
import urllib.parse

import mm_images
from mm_faults import Exchange, Fault
from mm_hosted import JSON, mount_answered_with_upload_session, registry_error

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEXES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")
GITEA_REALM = 'Basic realm="Gitea Package API"'
NEXUS_REPOSITORY = "docker-hosted"          # the Nexus repository's own name, not the image's
_MANIFEST_PATH = re.compile(r"^/v2/(?P<repo>.+)/manifests/(?P<ref>[^/?]+)")


def _body(ex: Exchange) -> bytes:
    """Read the request body once and let ``forward()`` replay it."""
    data = b"".join(ex.body())
    ex.body = lambda: iter([data])
    return data


# -- Gitea / Forgejo ---------------------------------------------------------------------------------

def gitea_package_write_denied() -> Fault:
    """Gitea/Forgejo's reqPackageAccess (routers/api/packages/api.go) when the token lacks the
    write:package scope or the account may not write the owner's packages: 401, the body the handler's
    name as text/plain (ctx.Error -> http.Error), WWW-Authenticate: Basic realm="Gitea Package API"
    (docker reads it as "unauthorized: reqPackageAccess": go-gitea/gitea#31531, #33732)."""
    def action(ex: Exchange) -> None:
        ex.drain()
        ex.respond(401, {"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff",
                         "WWW-Authenticate": GITEA_REALM}, b"reqPackageAccess\n")
    return Fault("gitea_package_write_denied", action)


def gitea_mount_as_upload() -> Fault:
    """Gitea before 1.18.1 looked the mount's ``from`` up as an image name, not OWNER/IMAGE, so no mount
    was ever found and the POST opened a plain upload session (202 + Location): go-gitea/gitea#21954,
    fixed by go-gitea/gitea#22226 ("The `from` parameter is not an image name but a repository name")."""
    return Fault("gitea_mount_as_upload", mount_answered_with_upload_session().action)


def gitea_index_children_in_same_image() -> Fault:
    """Gitea's processImageManifestIndex (routers/api/packages/container/manifest.go): every entry of an
    index must be an image manifest (else 400 MANIFEST_INVALID "manifest invalid") stored under the same
    OWNER/IMAGE (else 404 MANIFEST_BLOB_UNKNOWN "blob unknown to registry"): go-gitea/gitea#21954, "Image
    Index/Manifestlist can only reference images with same package name". Anything else is passed on."""
    def action(ex: Exchange) -> None:
        data, m = _body(ex), _MANIFEST_PATH.match(ex.target)
        try:
            doc = json.loads(data)
        except ValueError:
            doc = {}
        kind = ex.headers.get("Content-Type", "").split(";")[0].strip() or doc.get("mediaType", "")
        if m is None or not isinstance(doc, dict) or kind not in INDEXES:
            return ex.forward()
        for child in doc.get("manifests") or []:
            if child.get("mediaType") not in (OCI_MANIFEST, DOCKER_MANIFEST):
                return ex.respond(400, JSON, registry_error("MANIFEST_INVALID", "manifest invalid"))
            if not mm_images.manifest_exists(ex.proxy.upstream, m["repo"], child.get("digest", "")):
                return ex.respond(404, JSON, registry_error("MANIFEST_BLOB_UNKNOWN", "blob unknown to registry"))
        ex.forward()
    return Fault("gitea_index_children_in_same_image", action)


def gitea_no_referrers_api() -> Fault:
    """Gitea/Forgejo route no referrers API ("TODO: Content Discovery / References (not implemented yet)"
    in ContainerRoutes, routers/api/packages/api.go): the router's plain 404, no registry error body."""
    def action(ex: Exchange) -> None:
        ex.drain()
        ex.respond(404, {"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"},
                   b"404 page not found\n")
    return Fault("gitea_no_referrers_api", action)


# -- Sonatype Nexus Repository -------------------------------------------------------------------------

def nexus_redeploy_disabled(repository: str = NEXUS_REPOSITORY) -> Fault:
    """A Nexus docker hosted repository whose Deployment policy is "Disable redeploy": a manifest PUT
    that would update an asset already stored (a tag that exists, a manifest by a digest that exists) is
    refused 400 BLOB_UPLOAD_INVALID "blob upload invalid" with the reason only in ``detail``: "Repository
    does not allow updating assets: <repository>" (GoogleContainerTools/jib#3057 with that body,
    GoogleContainerTools/jib#2395 for an existing `latest`). New references are passed on."""
    def action(ex: Exchange) -> None:
        _body(ex)
        m = _MANIFEST_PATH.match(ex.target)
        if m and mm_images.manifest_exists(ex.proxy.upstream, m["repo"], urllib.parse.unquote(m["ref"])):
            return ex.respond(400, JSON, registry_error(
                "BLOB_UPLOAD_INVALID", "blob upload invalid",
                f"Repository does not allow updating assets: {repository}"))
        ex.forward()
    return Fault("nexus_redeploy_disabled", action)


def nexus_blob_race(repository: str = NEXUS_REPOSITORY) -> Fault:
    """Nexus with "Disable redeploy", two pushes storing the same new blob at once: the loser's closing
    upload PUT is refused 400 BLOB_UPLOAD_INVALID, detail "<repository>/v2/-/blobs/<digest> cannot be
    updated", although the blob is stored (sonatype/nexus-public#967). Emulated: the upload completes
    upstream (the other writer's copy) and the answer is that refusal."""
    def action(ex: Exchange) -> None:
        code, reason, headers, body = ex.fetch()
        digest = dict(urllib.parse.parse_qsl(ex.target.partition("?")[2])).get("digest", "")
        if code != 201 or not digest:
            ex.send_head(code, reason, headers)
            return ex.send(body)
        ex.respond(400, JSON, registry_error("BLOB_UPLOAD_INVALID", "blob upload invalid",
                                             f"{repository}/v2/-/blobs/{digest} cannot be updated"))
    return Fault("nexus_blob_race", action)


def nexus_manifest_needs_length() -> Fault:
    """Nexus 3.95 (an `oci` hosted repository): a manifest PUT without Content-Length (chunked) is refused
    411 MANIFEST_INVALID "manifest upload requires Content-Length", detail {"maxSize": 10485760}
    (sonatype/nexus-public#1040). With a length it is passed on."""
    def action(ex: Exchange) -> None:
        if ex.chunked or "Content-Length" not in ex.headers:
            ex.drain()
            return ex.respond(411, JSON, registry_error("MANIFEST_INVALID", "manifest upload requires Content-Length",
                                                        {"maxSize": 10485760}))
        ex.forward()
    return Fault("nexus_manifest_needs_length", action)

