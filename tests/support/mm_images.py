"""Independent minimal registry client for tests: seed images and read back what got pushed.

Deliberately separate from ``multiarch_ci`` so it can verify the tool's output.  Handles no auth,
Basic and Bearer (token from the realm in the ``WWW-Authenticate`` challenge, scope
``repository:REPO:pull,push``, cached per repository) and trusts the registry's ``ca_file``.

Content is deterministic: the same arguments give the same digests; ``salt`` changes them.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import re
import tarfile
import urllib.parse
import weakref

import requests

from mm_registry import RunningRegistry

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
ALL_MANIFEST_TYPES = (OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST)
FORMATS = {
    "docker": {"manifest": DOCKER_MANIFEST,
               "config": "application/vnd.docker.container.image.v1+json",
               "layer": "application/vnd.docker.image.rootfs.diff.tar.gzip"},
    "oci": {"manifest": OCI_MANIFEST, "config": "application/vnd.oci.image.config.v1+json",
            "layer": "application/vnd.oci.image.layer.v1.tar+gzip"},
}
INTOTO = "application/vnd.in-toto+json"
SLSA_V02 = "https://slsa.dev/provenance/v0.2"


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


class _Client:
    """One per RunningRegistry: a session plus cached Authorization headers."""

    def __init__(self, reg: RunningRegistry):
        # no reference to ``reg`` itself, so the WeakKeyDictionary entry can go away with it
        self.url, self.host = reg.url, reg.host
        self.creds = (reg.username, reg.password) if reg.username else None
        self.session = reg.session()
        self.auth_headers: dict[str, str] = {}   # repo -> "Bearer ..." / "Basic ..."

    def _authorize(self, repo: str, challenge: str) -> str:
        scheme, _, params = challenge.partition(" ")
        creds = self.creds
        if scheme.lower() == "basic":
            if not creds:
                raise AssertionError(f"{self.host} wants Basic auth but has no credentials")
            return "Basic " + base64.b64encode(":".join(creds).encode()).decode()
        if scheme.lower() != "bearer":
            raise AssertionError(f"unsupported auth challenge {challenge!r}")
        kv = dict(re.findall(r'(\w+)="([^"]*)"', params))
        query = {"service": kv.get("service", ""), "scope": f"repository:{repo}:pull,push"}
        r = self.session.get(kv["realm"], params=query, auth=creds, timeout=10)
        if r.status_code != 200:
            raise AssertionError(f"token request to {kv['realm']} failed: {r.status_code} {r.text}")
        body = r.json()
        return "Bearer " + (body.get("token") or body["access_token"])

    def request(self, method: str, repo: str, path_or_url: str, **kw) -> requests.Response:
        """Send a request, authenticating once on a 401 challenge."""
        url = urllib.parse.urljoin(self.url + "/", path_or_url)
        headers = dict(kw.pop("headers", None) or {})
        for attempt in range(2):
            if repo in self.auth_headers:
                headers["Authorization"] = self.auth_headers[repo]
            r = self.session.request(method, url, headers=headers, timeout=30, **kw)
            if r.status_code != 401 or attempt:
                return r
            self.auth_headers[repo] = self._authorize(repo, r.headers.get("WWW-Authenticate", ""))
        return r

    def push_blob(self, repo: str, data: bytes) -> str:
        digest = sha256_digest(data)
        if self.request("HEAD", repo, f"/v2/{repo}/blobs/{digest}").status_code == 200:
            return digest
        r = self.request("POST", repo, f"/v2/{repo}/blobs/uploads/")
        if r.status_code != 202:
            raise AssertionError(f"start upload {repo}: {r.status_code} {r.text}")
        location = r.headers["Location"]
        location += ("&" if "?" in location else "?") + "digest=" + urllib.parse.quote(digest)
        r = self.request("PUT", repo, location, data=data,
                         headers={"Content-Type": "application/octet-stream"})
        if r.status_code != 201:
            raise AssertionError(f"PUT blob {repo}@{digest}: {r.status_code} {r.text}")
        return digest

    def put_manifest(self, repo: str, reference: str, body: bytes,
                     media_type: str) -> requests.Response:
        return self.request("PUT", repo, f"/v2/{repo}/manifests/{reference}", data=body,
                            headers={"Content-Type": media_type})

    def push_manifest(self, repo: str, body: bytes, media_type: str, tag: str | None) -> str:
        """PUT by digest, then by tag if given; returns the digest."""
        digest = sha256_digest(body)
        for ref in [digest] + ([tag] if tag else []):
            r = self.put_manifest(repo, ref, body, media_type)
            if r.status_code != 201:
                raise AssertionError(f"PUT manifest {repo}:{ref}: {r.status_code} {r.text}")
            got = r.headers.get("Docker-Content-Digest", digest)
            if got != digest:
                raise AssertionError(f"registry digest {got} != {digest}")
        return digest


_clients: weakref.WeakKeyDictionary[RunningRegistry, _Client] = weakref.WeakKeyDictionary()


def client(reg: RunningRegistry) -> _Client:
    """The (cached) client for ``reg``; exposes ``request(method, repo, path)`` for raw calls."""
    if reg not in _clients:
        _clients[reg] = _Client(reg)
    return _clients[reg]


def _layer(text: str) -> tuple[bytes, str]:
    """A gzip'd tar holding /content.txt; returns (blob, diff_id)."""
    payload = (text + "\n").encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        info = tarfile.TarInfo("content.txt")
        info.size, info.mtime, info.mode = len(payload), 0, 0o644
        tf.addfile(info, io.BytesIO(payload))
    raw = buf.getvalue()
    return gzip.compress(raw, mtime=0), sha256_digest(raw)


def _ref(reg: RunningRegistry, repo: str, tag: str | None, digest: str) -> str:
    return f"{reg.host}/{repo}:{tag}" if tag else f"{reg.host}/{repo}@{digest}"


def push_image(reg: RunningRegistry, repo: str, tag: str | None = None, *, fmt: str = "docker",
               os: str = "linux", arch: str = "amd64", variant: str | None = None,
               os_version: str | None = None, os_features: list[str] | None = None,
               layers: int = 1, salt: str = "") -> dict:
    """Push a single-platform image (layers, config, manifest; by digest and by ``tag``).

    Returns ``{"ref", "digest", "size", "media_type", "config_digest", "layer_digests",
    "platform", "manifest"}``.
    """
    types, c = FORMATS[fmt], client(reg)
    platform = {"architecture": arch, "os": os}
    optional = (("variant", variant), ("os.version", os_version), ("os.features", os_features))
    for key, value in optional:
        if value:
            platform[key] = value
    layer_descs, diff_ids = [], []
    for i in range(layers):
        blob, diff_id = _layer(f"{repo} {os}/{arch}/{variant or ''} {os_version or ''} "
                               f"{fmt} layer {i} salt={salt}")
        layer_descs.append({"mediaType": types["layer"], "digest": c.push_blob(repo, blob),
                            "size": len(blob)})
        diff_ids.append(diff_id)
    config = canonical_json({**platform, "rootfs": {"type": "layers", "diff_ids": diff_ids},
                             "config": {}})
    manifest = {"schemaVersion": 2, "mediaType": types["manifest"],
                "config": {"mediaType": types["config"], "digest": c.push_blob(repo, config),
                           "size": len(config)},
                "layers": layer_descs}
    body = canonical_json(manifest)
    digest = c.push_manifest(repo, body, types["manifest"], tag)
    return {"ref": _ref(reg, repo, tag, digest), "digest": digest, "size": len(body),
            "media_type": types["manifest"], "config_digest": manifest["config"]["digest"],
            "layer_digests": [d["digest"] for d in layer_descs], "platform": platform,
            "manifest": manifest}


def _push_attestation(reg: RunningRegistry, repo: str, image: dict, salt: str) -> dict:
    c = client(reg)
    statement = canonical_json({
        "_type": "https://in-toto.io/Statement/v0.1", "predicateType": SLSA_V02,
        "subject": [{"name": f"pkg:docker/{repo}",
                     "digest": {"sha256": image["digest"].split(":", 1)[1]}}],
        "predicate": {"builder": {"id": "mm-test"}, "metadata": {"salt": salt}}})
    stmt_digest = c.push_blob(repo, statement)
    config = canonical_json({"architecture": "unknown", "os": "unknown", "config": {},
                             "rootfs": {"type": "layers", "diff_ids": [stmt_digest]}})
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": FORMATS["oci"]["config"],
                           "digest": c.push_blob(repo, config), "size": len(config)},
                "layers": [{"mediaType": INTOTO, "digest": stmt_digest, "size": len(statement),
                            "annotations": {"in-toto.io/predicate-type": SLSA_V02}}]}
    body = canonical_json(manifest)
    return {"digest": c.push_manifest(repo, body, OCI_MANIFEST, None), "size": len(body),
            "ref_digest": image["digest"]}


def push_attested_index(reg: RunningRegistry, repo: str, tag: str | None = None, *,
                        platforms=(("linux", "amd64", None),), fmt: str = "oci",
                        salt: str = "") -> dict:
    """Push a buildx-style OCI index: per platform an image plus its attestation manifest.

    ``platforms`` holds ``(os, arch)`` or ``(os, arch, variant)`` tuples.  Returns ``{"ref",
    "digest", "size", "media_type", "manifest", "images": [push_image() dicts], "attestations":
    [{"digest", "size", "ref_digest"}]}`` (attestations in the same order as images).
    """
    images, attestations, descriptors = [], [], []
    for os_, arch, *rest in platforms:
        image = push_image(reg, repo, fmt=fmt, os=os_, arch=arch,
                           variant=rest[0] if rest else None, salt=salt)
        att = _push_attestation(reg, repo, image, salt)
        images.append(image)
        attestations.append(att)
        descriptors.append({"mediaType": image["media_type"], "digest": image["digest"],
                            "size": image["size"], "platform": image["platform"]})
        descriptors.append({"mediaType": OCI_MANIFEST, "digest": att["digest"], "size": att["size"],
                            "annotations": {"vnd.docker.reference.digest": image["digest"],
                                            "vnd.docker.reference.type": "attestation-manifest"},
                            "platform": {"architecture": "unknown", "os": "unknown"}})
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descriptors}
    body = canonical_json(index)
    digest = client(reg).push_manifest(repo, body, OCI_INDEX, tag)
    return {"ref": _ref(reg, repo, tag, digest), "digest": digest, "size": len(body),
            "media_type": OCI_INDEX, "manifest": index, "images": images,
            "attestations": attestations}


def put_raw_manifest(reg: RunningRegistry, repo: str, reference: str, body: bytes,
                     media_type: str, *, check: bool = True) -> requests.Response:
    """PUT ``body`` verbatim as a manifest; raises AssertionError unless 201 when ``check``."""
    r = client(reg).put_manifest(repo, reference, body, media_type)
    if check and r.status_code != 201:
        raise AssertionError(f"PUT manifest {repo}:{reference}: {r.status_code} {r.text}")
    return r


def get_manifest(reg: RunningRegistry, repo: str, reference: str) -> tuple[bytes, str, str | None]:
    """``(body bytes, Content-Type, Docker-Content-Digest header)``; AssertionError unless 200."""
    r = client(reg).request("GET", repo, f"/v2/{repo}/manifests/{reference}",
                            headers={"Accept": ", ".join(ALL_MANIFEST_TYPES)})
    if r.status_code != 200:
        raise AssertionError(f"GET manifest {repo}:{reference}: {r.status_code} {r.text}")
    return r.content, r.headers.get("Content-Type", ""), r.headers.get("Docker-Content-Digest")


def manifest_exists(reg: RunningRegistry, repo: str, reference: str) -> bool:
    r = client(reg).request("HEAD", repo, f"/v2/{repo}/manifests/{reference}",
                            headers={"Accept": ", ".join(ALL_MANIFEST_TYPES)})
    return r.status_code == 200


def blob_exists(reg: RunningRegistry, repo: str, digest: str) -> bool:
    return client(reg).request("HEAD", repo, f"/v2/{repo}/blobs/{digest}").status_code == 200


def list_tags(reg: RunningRegistry, repo: str) -> list[str]:
    """Tags of ``repo`` (sorted; empty if the repository does not exist)."""
    r = client(reg).request("GET", repo, f"/v2/{repo}/tags/list")
    if r.status_code == 404:
        return []
    if r.status_code != 200:
        raise AssertionError(f"GET tags {repo}: {r.status_code} {r.text}")
    return sorted(r.json().get("tags") or [])


def stored_index(reg: RunningRegistry, repo: str, reference: str) -> tuple[bytes, dict, str]:
    """(bytes, parsed, digest) of what the registry holds under reference; checks header/body agree."""
    body, content_type, header = get_manifest(reg, repo, reference)
    digest = sha256_digest(body)
    assert header == digest, (header, digest)
    doc = json.loads(body)
    assert content_type.split(";")[0] == doc["mediaType"]
    return body, doc, digest
