"""Registry API v2 operations: manifests, blobs, tags.

Spec: https://github.com/opencontainers/distribution-spec/blob/main/spec.md
Every manifest read is checked against its digest; every PUT sends the bytes that were hashed.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote, urljoin

import requests

from multiarch_ci.digest import Digest
from multiarch_ci.errors import DigestMismatch, InputError, RegistryError
from multiarch_ci.model import Descriptor, ImageIndex, ImageManifest, MediaType, parse_manifest
from multiarch_ci.reference import ImageRef
from multiarch_ci.registry.auth import Authenticator
from multiarch_ci.registry.transport import MANIFEST_CAP, BodyBroken, Transport, short_reason

CHUNK = 8 * 1024 * 1024
CONFIG_CAP = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Fetched:
    """A manifest as read: its exact bytes, media type and verified digest."""

    ref: ImageRef
    body: bytes
    media_type: str
    digest: Digest
    manifest: ImageManifest | ImageIndex

    @property
    def descriptor(self) -> Descriptor:
        return Descriptor(self.media_type, self.digest, len(self.body))


def pull(ref: ImageRef) -> str:
    return f"repository:{ref.repository}:pull"


def push(ref: ImageRef) -> str:
    return f"repository:{ref.repository}:pull,push"


def registry_error(resp: requests.Response, what: str, ref: str) -> RegistryError:
    """Turn an error response into a RegistryError naming the ref, status and the registry's error code."""
    code = message = None
    try:
        errors = json.loads(resp.content[:65536]).get("errors") or []
        if errors:
            code, message = errors[0].get("code"), errors[0].get("message")
    except (ValueError, AttributeError, TypeError, requests.RequestException):
        pass
    hint = {401: "check the credentials (docker login, --username/--password-stdin)",
            403: "the credentials lack permission for this repository",
            404: "check that the image was pushed and the name is right",
            429: "the registry is rate limiting; try again later"}.get(resp.status_code)
    detail = f"{code}: {message}" if code else (message or resp.reason or "")
    return RegistryError(f"{what} {ref}: HTTP {resp.status_code} {detail}".rstrip(), hint,
                         status=resp.status_code, code=code, ref=ref)


class RegistryClient:
    """The registry operations the publish flow needs; auth and retries live below it."""

    def __init__(self, transport: Transport, auth: Authenticator):
        self.transport = transport
        self.auth = auth

    # -- plumbing ---------------------------------------------------------------------------
    def _request(self, method: str, ref: ImageRef, path: str, scopes: tuple[str, ...], *, what: str,
                 headers: dict | None = None, data=None, stream: bool = False, body_cap: int | None = None,
                 url: str | None = None) -> requests.Response:
        registry = ref.registry
        for attempt in range(2):
            authz = self.auth.header(registry, scopes)
            h = dict(headers or {})
            if authz:
                h["Authorization"] = authz
            target = url or f"{self.transport.base_url(registry)}/v2/{ref.repository}/{path}"
            resp = self.transport.send(method, target, what=f"{what} {ref}", headers=h, data=data,
                                       stream=stream, body_cap=body_cap)
            if resp.status_code == 401 and attempt == 0 and self.auth.rechallenge(
                    registry, resp.headers.get("WWW-Authenticate")):
                resp.close()
                continue
            return resp
        return resp

    def _location(self, resp: requests.Response, ref: ImageRef) -> str:
        loc = resp.headers.get("Location")
        if not loc:
            raise RegistryError(f"upload to {ref.name}: registry gave no Location", status=resp.status_code,
                                ref=str(ref))
        return urljoin(self.transport.base_url(ref.registry) + "/", loc)

    # -- manifests --------------------------------------------------------------------------
    def get_manifest(self, ref: ImageRef, expect: Digest | None = None) -> Fetched:
        """GET a manifest by tag or digest; verify it hashes to the digest asked for (or expected)."""
        want = ref.digest or expect
        resp = self._request("GET", ref, f"manifests/{ref.reference}", (pull(ref),), what="get manifest",
                             headers={"Accept": MediaType.ACCEPT}, body_cap=MANIFEST_CAP)
        if resp.status_code != 200:
            raise registry_error(resp, "get manifest", str(ref))
        body = resp.content
        actual = Digest.of(body, want.algorithm if want else "sha256")
        header = resp.headers.get("Docker-Content-Digest")
        if ref.digest and actual != ref.digest:
            raise DigestMismatch(f"get manifest {ref}: body hashes to {actual}, not the digest asked for",
                                 "the registry or a proxy altered the content", ref=str(ref))
        if header and not ref.digest:
            try:
                hdr = Digest.parse(header)
            except InputError:
                hdr = None
            if hdr and hdr.algorithm == actual.algorithm and hdr != actual:
                raise DigestMismatch(f"get manifest {ref}: body hashes to {actual} but the registry says {hdr}",
                                     ref=str(ref))
        content_type = resp.headers.get("Content-Type")
        manifest = parse_manifest(body, content_type, str(ref))
        return Fetched(ref, body, manifest.media_type, actual, manifest)

    def head_manifest(self, ref: ImageRef) -> Descriptor | None:
        """HEAD a manifest: its descriptor, or None when absent; falls back to GET without a digest header."""
        resp = self._request("HEAD", ref, f"manifests/{ref.reference}", (pull(ref),), what="head manifest",
                             headers={"Accept": MediaType.ACCEPT})
        resp.close()
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise registry_error(resp, "head manifest", str(ref))
        header = resp.headers.get("Docker-Content-Digest")
        length = resp.headers.get("Content-Length", "")
        if not header or not length.isdigit():
            return self.get_manifest(ref).descriptor
        return Descriptor(resp.headers.get("Content-Type", "").split(";")[0], Digest.parse(header), int(length))

    def put_manifest(self, repo: ImageRef, reference: str, body: bytes, media_type: str) -> Digest:
        """PUT exactly `body` under a tag or digest; check the registry's digest matches ours."""
        ours = Digest.of(body)
        ref = repo.with_digest(ours) if reference.startswith("sha256:") else repo.with_tag(reference)
        resp = self._request("PUT", ref, f"manifests/{reference}", (push(repo),), what="put manifest",
                             headers={"Content-Type": media_type}, data=body)
        resp.close()
        if resp.status_code not in (200, 201):
            raise registry_error(resp, "put manifest", str(ref))
        theirs = resp.headers.get("Docker-Content-Digest")
        if theirs and theirs != str(ours):
            raise DigestMismatch(f"put manifest {ref}: registry stored {theirs}, we sent {ours}", ref=str(ref))
        return ours

    # -- blobs ------------------------------------------------------------------------------
    def get_blob(self, repo: ImageRef, desc: Descriptor, cap: int = CONFIG_CAP) -> bytes:
        """GET a small blob (an image config) and verify its digest."""
        ref = repo.with_digest(desc.digest)
        resp = self._request("GET", repo, f"blobs/{desc.digest}", (pull(repo),), what="get blob",
                             body_cap=cap)
        if resp.status_code != 200:
            raise registry_error(resp, "get blob", str(ref))
        if Digest.of(resp.content, desc.digest.algorithm) != desc.digest:
            raise DigestMismatch(f"get blob {ref}: content does not hash to its digest", ref=str(ref))
        return resp.content

    def blob_exists(self, repo: ImageRef, digest: Digest) -> bool:
        resp = self._request("HEAD", repo, f"blobs/{digest}", (pull(repo),), what="head blob")
        resp.close()
        if resp.status_code in (200, 404):
            return resp.status_code == 200
        raise registry_error(resp, "head blob", str(repo.with_digest(digest)))

    def mount_blob(self, target: ImageRef, digest: Digest, source: ImageRef) -> str | None:
        """Cross-repo mount; None when mounted, else the upload URL the registry opened instead."""
        path = f"blobs/uploads/?mount={quote(str(digest))}&from={quote(source.repository)}"
        resp = self._request("POST", target, path, (push(target), pull(source)), what="mount blob")
        resp.close()
        if resp.status_code == 201:
            return None
        if resp.status_code == 202:
            return self._location(resp, target)
        if resp.status_code in (401, 403, 404):
            return self.start_upload(target)
        raise registry_error(resp, "mount blob", str(target.with_digest(digest)))

    def start_upload(self, target: ImageRef) -> str:
        resp = self._request("POST", target, "blobs/uploads/", (push(target),), what="start upload")
        resp.close()
        if resp.status_code != 202:
            raise registry_error(resp, "start upload", target.name)
        return self._location(resp, target)

    def upload_blob(self, target: ImageRef, location: str, digest: Digest, chunks: Iterator[bytes],
                    source: str = "the source") -> None:
        """Upload a blob: one PUT when it fits in a chunk, else PATCHes with Content-Range then PUT ?digest=.

        Never holds more than a chunk; the content is hashed as it passes and refused before the final
        PUT if it does not match `digest`.
        """
        it = iter(chunks)
        first = next(it, b"")
        second = next(it, None)
        hasher = digest.hasher()
        if second is None:
            hasher.update(first)
            body = first
        else:
            offset = 0
            for chunk in _chain(first, second, it):
                hasher.update(chunk)
                location = self._patch(target, location, digest, chunk, offset)
                offset += len(chunk)
            body = b""
        if hasher.hexdigest() != digest.hex:
            raise DigestMismatch(f"copy blob {digest} from {source}: its content does not hash to its digest",
                                 "the source registry or a proxy altered it; nothing was tagged",
                                 ref=str(target.with_digest(digest)))
        sep = "&" if "?" in location else "?"
        resp = self._request("PUT", target, "", (push(target),), what="finish upload",
                             url=f"{location}{sep}digest={quote(str(digest))}", data=body,
                             headers={"Content-Type": "application/octet-stream"})
        resp.close()
        if resp.status_code == 404 and self.blob_exists(target, digest):
            return  # an earlier attempt committed it and its answer was lost; the retry found the session closed
        if resp.status_code not in (201, 204):
            raise registry_error(resp, "finish upload", str(target.with_digest(digest)))

    def _patch(self, target: ImageRef, location: str, digest: Digest, chunk: bytes, offset: int) -> str:
        resp = self._request("PATCH", target, "", (push(target),), what="upload blob", url=location,
                             headers={"Content-Type": "application/octet-stream",
                                      "Content-Range": f"{offset}-{offset + len(chunk) - 1}"}, data=chunk)
        resp.close()
        if resp.status_code != 202:
            raise registry_error(resp, "upload blob", str(target.with_digest(digest)))
        return self._location(resp, target)

    def stream_blob(self, source: ImageRef, digest: Digest) -> Iterator[bytes]:
        """Stream a blob from a repository in CHUNK-sized pieces."""
        resp = self._request("GET", source, f"blobs/{digest}", (pull(source),), what="get blob", stream=True)
        if resp.status_code != 200:
            raise registry_error(resp, "get blob", str(source.with_digest(digest)))
        return _chunks(resp, str(source.with_digest(digest)))

    def get_bounded(self, repo: ImageRef, path: str, *, what: str, accept: str | None = None,
                    url: str | None = None) -> requests.Response:
        """A GET under /v2/<repo>/ (or a Link `url`), body capped like a manifest; the status is the caller's."""
        return self._request("GET", repo, path, (pull(repo),), what=what, url=url, body_cap=MANIFEST_CAP,
                             headers={"Accept": accept} if accept else None)

    # -- tags -------------------------------------------------------------------------------
    def list_tags(self, repo: ImageRef, page_size: int | None = None) -> list[str]:
        """All tags of a repository, following Link pagination."""
        tags: list[str] = []
        path = "tags/list" + (f"?n={page_size}" if page_size else "")
        url = None
        while True:
            resp = self._request("GET", repo, path, (pull(repo),), what="list tags", url=url,
                                 body_cap=MANIFEST_CAP)
            if resp.status_code == 404:
                return tags
            if resp.status_code != 200:
                raise registry_error(resp, "list tags", repo.name)
            tags.extend(json.loads(resp.content).get("tags") or [])
            link = resp.headers.get("Link", "")
            if "rel=\"next\"" not in link and "rel=next" not in link:
                return tags
            url = urljoin(self.transport.base_url(repo.registry) + "/", link.split(";")[0].strip(" <>"))


def _chain(first: bytes, second: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield second
    yield from rest


def _chunks(resp: requests.Response, what: str) -> Iterator[bytes]:
    buf = bytearray()
    try:
        for piece in resp.iter_content(1024 * 1024):
            buf += piece
            if len(buf) >= CHUNK:
                yield bytes(buf)
                buf.clear()
    except requests.RequestException as e:
        raise BodyBroken(f"get blob {what}: connection broke while streaming: {short_reason(e)}",
                         "rerunning is safe") from None
    finally:
        resp.close()
    if buf:
        yield bytes(buf)

