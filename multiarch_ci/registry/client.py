"""Registry API v2 operations: manifests, blobs, tags.

Spec: https://github.com/opencontainers/distribution-spec/blob/main/spec.md
Every manifest read is checked against its digest; every PUT sends the bytes that were hashed.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote, urljoin

from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import DigestMismatch, InputError, Kind, RegistryError
from multiarch_ci.core.fetched import Fetched
from multiarch_ci.core.limits import CHUNK, CONFIG_CAP, MANIFEST_CAP
from multiarch_ci.core.model import Descriptor, MediaType, parse_manifest
from multiarch_ci.core.reference import ImageRef
from multiarch_ci.registry.http.bodies import is_encoded, iter_raw
from multiarch_ci.registry.http.hosts import Origin
from multiarch_ci.registry.http.transport import BodyBroken, short_reason
from multiarch_ci.registry.http.wire import BROKEN, Response
from multiarch_ci.registry.mounts import MOUNTED, SESSION, UPLOAD, mount_outcome
from multiarch_ci.registry.refusals import registry_error
from multiarch_ci.registry.session import RegistrySession, pull, push
from multiarch_ci.registry.uploads import upload_blob

MAX_TAG_PAGES = 5000
RAW = {"Accept-Encoding": "identity"}  # blob bytes are hashed as sent, never content-decoded


class RegistryClient(RegistrySession):
    """The registry operations the publish flow needs; auth and retries live below it."""

    # -- manifests --------------------------------------------------------------------------
    def get_manifest(self, ref: ImageRef, expect: Digest | None = None, cap: int = MANIFEST_CAP) -> Fetched:
        """GET a manifest by tag or digest; verify it hashes to the digest asked for (or expected). At most
        `cap` bytes are read (e.g. a referrer: the size its listing gives)."""
        want = ref.digest or expect
        resp = self.request("GET", ref, f"manifests/{ref.reference}", (pull(ref),), what="get manifest",
                            headers={"Accept": MediaType.ACCEPT}, body_cap=min(cap, MANIFEST_CAP))
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
        resp = self.request("HEAD", ref, f"manifests/{ref.reference}", (pull(ref),), what="head manifest",
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
        try:
            digest = Digest.parse(header)
        except InputError as e:  # registry data, not the user's input: exit 1, naming the ref
            raise RegistryError(f"head manifest {ref}: the registry sent a bad Docker-Content-Digest: {e.message}",
                                status=resp.status_code, ref=str(ref), kind=Kind.BAD_ANSWER) from None
        return Descriptor(resp.headers.get("Content-Type", "").split(";")[0], digest, int(length))

    def put_manifest(self, repo: ImageRef, reference: str, body: bytes, media_type: str) -> Digest:
        """PUT exactly `body` under a tag or digest; check the registry's digest matches ours."""
        ours = Digest.of(body)
        ref = repo.with_digest(ours) if reference.startswith("sha256:") else repo.with_tag(reference)
        resp = self.request("PUT", ref, f"manifests/{reference}", (push(repo),), what="put manifest",
                            headers={"Content-Type": media_type}, data=body)
        resp.close()
        if resp.status_code not in (200, 201):
            error = registry_error(resp, "put manifest", str(ref))
            if error.kind is Kind.REFUSED and self._holds(ref, body):
                return ours
            raise error
        theirs = resp.headers.get("Docker-Content-Digest")
        if theirs and theirs != str(ours):
            raise DigestMismatch(f"put manifest {ref}: registry stored {theirs}, we sent {ours}", ref=str(ref))
        return ours

    def _holds(self, ref: ImageRef, body: bytes) -> bool:
        """After a refused PUT: does `ref` hold exactly `body` already? A registry that will not write an
        asset twice (Nexus with "Disable redeploy", immutable tags) refuses an unchanged rerun, yet what it
        holds is what was asked for; a HEAD that cannot say so leaves the refusal standing."""
        try:
            there = self.head_manifest(ref)
        except RegistryError:
            return False
        if there is None or not there.digest.names(body):
            return False
        self.transport.debug(f"put manifest {ref}: refused, but it holds these bytes already ({there.digest})")
        return True

    # -- blobs ------------------------------------------------------------------------------
    def get_blob(self, repo: ImageRef, desc: Descriptor, cap: int = CONFIG_CAP) -> bytes:
        """GET a small blob (an image config) and verify its digest."""
        ref = repo.with_digest(desc.digest)
        if desc.size > cap:
            raise RegistryError(f"get blob {ref}: {desc.size} bytes exceeds the {cap}-byte limit for a config",
                                ref=str(ref), kind=Kind.BAD_ANSWER)
        resp = self.request("GET", repo, f"blobs/{desc.digest}", (pull(repo),), what="get blob",
                            body_cap=desc.size, raw=True, headers=RAW)
        if resp.status_code != 200:
            raise registry_error(resp, "get blob", str(ref))
        if not desc.digest.names(resp.content):
            raise DigestMismatch(f"get blob {ref}: content does not hash to its digest", ref=str(ref))
        return resp.content

    def mount_blob(self, target: ImageRef, digest: Digest, source: ImageRef) -> str | None:
        """Cross-repo mount; None when mounted, else the upload URL the registry opened instead."""
        path = f"blobs/uploads/?mount={quote(str(digest))}&from={quote(source.repository)}"
        resp = self.request("POST", target, path, (push(target), pull(source)), what="mount blob")
        resp.close()
        outcome = mount_outcome(resp.status_code, resp.headers.get("Location"))
        if outcome == MOUNTED:
            return None
        if outcome == SESSION:
            return self.location(resp, target)
        if outcome == UPLOAD:
            return self.start_upload(target)
        raise registry_error(resp, "mount blob", str(target.with_digest(digest)))

    def upload_blob(self, target: ImageRef, location: str, digest: Digest, chunks: Iterator[bytes],
                    source: str = "the source") -> None:
        """Upload a blob (see uploads.upload_blob)."""
        upload_blob(self, target, location, digest, chunks, source)

    def stream_blob(self, source: ImageRef, digest: Digest, size: int | None = None) -> Iterator[bytes]:
        """Stream a blob from a repository in CHUNK-sized pieces, exactly as sent (never content-decoded);
        more bytes than `size` is an integrity error at once."""
        resp = self.request("GET", source, f"blobs/{digest}", (pull(source),), what="get blob", stream=True,
                            headers=RAW)
        ref = str(source.with_digest(digest))
        if resp.status_code != 200:
            raise registry_error(resp, "get blob", ref)
        declared = resp.headers.get("Content-Length", "")
        if size is not None and declared.isdigit() and int(declared) > size:
            _close(resp)
            raise DigestMismatch(f"get blob {ref}: the registry announces {declared} bytes, its descriptor {size}",
                                 "the source registry or a proxy altered it; nothing was tagged", ref=ref)
        return _chunks(resp, ref, size)

    def get_bounded(self, repo: ImageRef, path: str, *, what: str, accept: str | None = None,
                    url: str | None = None) -> Response:
        """A GET under /v2/<repo>/ (or a Link `url`), body capped like a manifest; the status is the caller's."""
        return self.request("GET", repo, path, (pull(repo),), what=what, url=url, body_cap=MANIFEST_CAP,
                            headers={"Accept": accept} if accept else None)

    # -- tags -------------------------------------------------------------------------------
    def list_tags(self, repo: ImageRef, page_size: int | None = None, max_pages: int = MAX_TAG_PAGES) -> list[str]:
        """All tags of a repository, following Link pagination: same origin only, no page twice, at most
        `max_pages` pages."""
        tags: list[str] = []
        self.auth.ensure_ping(repo.registry)
        base = self.transport.base_url(repo.registry) or ""
        url = urljoin(base + "/", f"/v2/{repo.repository}/tags/list" + (f"?n={page_size}" if page_size else ""))
        seen: set[str] = set()
        while True:
            if len(seen) >= max_pages:
                raise RegistryError(f"list tags {repo.name}: more than {max_pages} pages", "the registry's tag "
                                    "list does not end; report it to the registry's operator", ref=repo.name,
                                    kind=Kind.BAD_ANSWER)
            seen.add(url)
            resp = self.request("GET", repo, "", (pull(repo),), what="list tags", url=url, body_cap=MANIFEST_CAP)
            if resp.status_code == 404:
                return tags
            if resp.status_code != 200:
                raise registry_error(resp, "list tags", repo.name)
            try:
                page = json.loads(resp.content).get("tags") or []
                if not isinstance(page, list) or not all(isinstance(t, str) for t in page):
                    raise ValueError("tags is not a list of strings")
            except (ValueError, AttributeError, RecursionError) as e:
                raise RegistryError(f"list tags {repo.name}: malformed answer ({type(e).__name__})",
                                    status=resp.status_code, ref=repo.name, kind=Kind.BAD_ANSWER) from None
            tags.extend(page)
            link = resp.headers.get("Link", "")
            if "rel=\"next\"" not in link and "rel=next" not in link:
                return tags
            url = urljoin(base + "/", link.split(";")[0].strip(" <>"))
            if not self.auth.same_origin(repo.registry, url):
                raise RegistryError(f"list tags {repo.name}: the next page is on another host "
                                    f"({Origin.of(url)}); refusing to follow it", ref=repo.name, kind=Kind.BAD_ANSWER)
            if url in seen:
                raise RegistryError(f"list tags {repo.name}: the registry's next-page links loop", ref=repo.name,
                                    kind=Kind.BAD_ANSWER)


def _close(resp: Response) -> None:
    resp.close()
    if resp.ticket is not None:
        resp.ticket.close()


def _chunks(resp: Response, what: str, size: int | None = None) -> Iterator[bytes]:
    """The body as sent, in CHUNK pieces; each MiB must arrive within the request timeout (the ticket)."""
    buf = bytearray()
    total = 0
    ticket = resp.ticket
    try:
        for piece in iter_raw(resp, 1024 * 1024):
            if ticket is not None:
                ticket.extend()
            total += len(piece)
            if size is not None and total > size:
                raise DigestMismatch(f"get blob {what}: more bytes than its descriptor's {size} arrived"
                                     + (" (the registry sent it content-encoded)" if is_encoded(resp) else ""),
                                     "the source registry or a proxy altered it; nothing was tagged", ref=what)
            buf += piece
            if len(buf) >= CHUNK:
                yield bytes(buf)
                buf.clear()
    except BROKEN as e:
        expired = ticket is not None and ticket.expired
        reason = f"timed out: no data for {ticket.seconds:g} s" if ticket and expired else short_reason(e)
        raise BodyBroken(f"get blob {what}: connection broke while streaming: {reason}",
                         "rerunning is safe") from None
    finally:
        _close(resp)
    if buf:
        yield bytes(buf)

