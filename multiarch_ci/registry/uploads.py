"""Blob uploads: PATCH chunks, then the final PUT ?digest=, hashed as the bytes pass.

A failed commit (a 5xx on the final PUT, e.g. the registry's disk is full) may have closed its upload
session, so the PUT is never retried into the same URL: a fresh session is opened (a new POST) and the
first real cause is what gets reported, not the 404 a reused session gives. A PATCH is never sent twice
either: when its answer is lost the registry may hold the chunk already, and the same PATCH again gets a
416 or 404 BLOB_UPLOAD_INVALID; the copy starts again from a fresh session instead (BodyBroken).
Spec: https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pushing-blobs
"""
from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import DigestMismatch, RegistryError
from multiarch_ci.core.reference import ImageRef
from multiarch_ci.registry.http.transport import RETRY_STATUSES, BodyBroken
from multiarch_ci.registry.refusals import registry_error
from multiarch_ci.registry.session import RegistrySession, push

UPLOAD_TRIES = 3


def upload_blob(client: RegistrySession, target: ImageRef, location: str, digest: Digest,
                chunks: Iterator[bytes], source: str = "the source") -> None:
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
            location = _patch(client, target, location, digest, chunk, offset)
            offset += len(chunk)
        body = b""
    if hasher.hexdigest() != digest.hex:
        raise DigestMismatch(f"copy blob {digest} from {source}: its content does not hash to its digest",
                             "the source registry or a proxy altered it; nothing was tagged",
                             ref=str(target.with_digest(digest)))
    errors: list[RegistryError] = []   # the loop runs at least once: a refusal, or it returned
    for attempt in range(UPLOAD_TRIES if second is None else 1):
        if attempt:  # a failed commit may have closed the session: start a fresh one, never reuse it
            client.transport.backoff(attempt - 1)
            location = client.start_upload(target)
        error = _finish(client, target, location, digest, body)
        if error is None:
            return
        errors.append(error)
        if error.status is not None and error.status not in RETRY_STATUSES:
            break
    cause = errors[0]   # the first refusal says why
    if second is not None and (cause.status is None or cause.status in RETRY_STATUSES):
        # the bytes streamed are gone: the caller copies again, from a fresh session too
        raise BodyBroken(cause.message, "the copy starts again with a fresh upload", status=cause.status,
                         code=cause.code, ref=cause.ref)
    raise cause


def _finish(client: RegistrySession, target: ImageRef, location: str, digest: Digest,
            body: bytes) -> RegistryError | None:
    """The final PUT ?digest= of an upload, sent once into its session: None when committed, else why not."""
    ref = str(target.with_digest(digest))
    sep = "&" if "?" in location else "?"
    try:
        resp = client.request("PUT", target, "", (push(target),), what="finish upload",
                              url=f"{location}{sep}digest={quote(str(digest))}", data=body, retries=0,
                              headers={"Content-Type": "application/octet-stream"})
    except RegistryError as e:
        error = e
    else:
        if resp.status_code in (201, 204):
            return None
        error = registry_error(resp, "finish upload", ref)
        if not 400 <= resp.status_code < 500:
            return error   # 5xx: the caller may try again in a fresh session
    # lost or refused, yet the blob is there: an attempt committed it and only its answer was lost (no answer,
    # or a 404 to a retry), or another push stored it at the same moment and a registry that never stores a
    # blob twice said no (Nexus with "Disable redeploy", sonatype/nexus-public#967): it is in the repository
    return None if client.blob_exists(target, digest) else error


def _patch(client: RegistrySession, target: ImageRef, location: str, digest: Digest, chunk: bytes,
           offset: int) -> str:
    """One chunk, sent once into its session; the session's next URL."""
    ref = str(target.with_digest(digest))
    try:
        resp = client.request("PATCH", target, "", (push(target),), what="upload blob", url=location, retries=0,
                              headers={"Content-Type": "application/octet-stream",
                                       "Content-Range": f"{offset}-{offset + len(chunk) - 1}"}, data=chunk)
    except RegistryError as e:   # the answer was lost: the registry may hold the chunk, the session is spent
        if isinstance(e, BodyBroken) or e.status is None:
            raise BodyBroken(e.message, "the copy starts again with a fresh upload", ref=ref) from None
        raise
    resp.close()
    if resp.status_code in RETRY_STATUSES:   # "not now": a fresh session later, never this one again
        error = registry_error(resp, "upload blob", ref)
        raise BodyBroken(error.message, "the copy starts again with a fresh upload", status=error.status,
                         code=error.code, ref=ref)
    if resp.status_code != 202:
        raise registry_error(resp, "upload blob", ref)
    return client.location(resp, target)


def _chain(first: bytes, second: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield second
    yield from rest
