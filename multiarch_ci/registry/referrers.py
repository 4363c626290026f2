"""Find the artifacts that refer to an image, and keep a target's referrers tag in step when copying them.

Discovery: the OCI 1.1 referrers API (`GET /v2/<name>/referrers/<digest>`, Link-paginated); where it
answers 404 (distribution 2.8), the referrers tag schema (`sha256-<hex>` holding an OCI index); and
cosign's `sha256-<hex>.sig/.att/.sbom` tags. Spec:
https://github.com/opencontainers/distribution-spec/blob/main/spec.md#listing-referrers
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from urllib.parse import quote, urljoin

from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import CompositionError, RegistryError
from multiarch_ci.core.model import MediaType
from multiarch_ci.core.reference import ImageRef
from multiarch_ci.core.referrers import (
    MAX_LISTING_BYTES,
    MAX_REFERRERS,
    Referrer,
    ReferrersOverCap,
    cosign_tags,
    fallback_index,
    merge,
    next_link,
    only_type,
    over_cap,
    parse_referrers,
    referrers_tag,
)
from multiarch_ci.registry.client import RegistryClient
from multiarch_ci.registry.refusals import registry_error

MAX_PAGES = 100
# Listing pages read and parsed at once, run-wide: each takes at most a 4 MiB read (the transport's cap),
# of which at most 1 MiB, holding a bounded number of JSON values, is parsed (core/referrers.py).
LISTINGS_AT_ONCE = 4
_LISTING = threading.BoundedSemaphore(LISTINGS_AT_ONCE)


@dataclass(frozen=True, slots=True)
class Found:
    """What refers to a subject, and whether the repository's registry has the referrers API."""

    referrers: tuple[Referrer, ...]
    api: bool


def list_referrers(client: RegistryClient, repo: ImageRef, subject: Digest, artifact_type: str | None = None,
                   *, cosign: bool = True, api: bool = True, tags: frozenset[str] | None = None,
                   listed: list[Referrer] | None = None) -> Found:
    """Everything that refers to `subject` in `repo`: API (or the tag schema where it is absent) + cosign tags.

    `api=False`: the registry is known to lack the API (skip asking); `listed`: the API's answer, already
    read (`api_listing`). `tags`: the repository's tags when known (`few_tags`); then only the tags it
    holds are read, not four guesses per image."""
    found: list[Referrer] | None
    if listed is not None:
        found, has_api = listed, True
    else:
        found, has_api = _from_api(client, repo, subject, artifact_type) if api else (None, False)
    if found is None:
        found = _from_tag_schema(client, repo, subject) if tags is None or referrers_tag(subject) in tags else []
    tagged = _from_cosign_tags(client, repo, subject, tags) if cosign else []
    return Found(tuple(only_type(merge(found, tagged), artifact_type)), has_api)


def api_listing(client: RegistryClient, repo: ImageRef, subject: Digest) -> list[Referrer] | None:
    """What the referrers API lists for `subject`, or None when the registry has no such API (404)."""
    return _from_api(client, repo, subject, None)[0]


def few_tags(client: RegistryClient, repo: ImageRef, limit: int = 1000) -> frozenset[str] | None:
    """The repository's tags when one page of at most `limit` holds them all, else None (read per image).

    One tag list per source repository replaces the `sha256-<hex>` GET and three cosign HEADs per image
    (issue 15: 5 reads per child were 160 of a 32-image push's 324 requests)."""
    resp = client.get_bounded(repo, f"tags/list?n={limit}", what="list tags")
    if resp.status_code != 200 or next_link(resp.headers.get("Link")):
        return None
    try:
        tags = json.loads(resp.content).get("tags") or []   # a 200 is read whole (get_bounded)
    except (ValueError, AttributeError, RecursionError):
        return None
    return frozenset(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else None


def _from_api(client: RegistryClient, repo: ImageRef, subject: Digest,
              artifact_type: str | None) -> tuple[list[Referrer] | None, bool]:
    """The API's pages; (None, False) when the registry has no referrers API (404)."""
    path = f"referrers/{subject}" + (f"?artifactType={quote(artifact_type, safe='')}" if artifact_type else "")
    where = f"referrers of {repo.with_digest(subject)}"
    found: list[Referrer] = []
    url = None
    read = 0
    for _ in range(MAX_PAGES):
        with _LISTING:
            resp = client.get_bounded(repo, path, what="list referrers", accept=MediaType.OCI_INDEX, url=url)
            if resp.status_code == 404 and url is None:
                resp.close()
                return None, False
            if resp.status_code != 200:
                raise registry_error(resp, "list referrers", str(repo.with_digest(subject)))
            body = resp.content   # a 200 is read whole (get_bounded)
            read += len(body)
            if read > MAX_LISTING_BYTES:   # checked before parsing: a page's bytes past the cap are never parsed
                raise over_cap(where, f"the listing runs past {MAX_LISTING_BYTES // 1024} KiB "
                                      f"({read} bytes read), the cap per image")
            found.extend(parse_referrers(body, where, MAX_REFERRERS - len(found)))
        link = next_link(resp.headers.get("Link"))
        if not link:
            return found, True
        url = urljoin((client.transport.base_url(repo.registry) or "") + "/", link)   # known: it answered
    raise RegistryError(f"{where}: more than {MAX_PAGES} pages", "the registry keeps answering rel=next",
                        ref=str(repo.with_digest(subject)))


def _has_api(client: RegistryClient, repo: ImageRef, subject: Digest) -> bool:
    try:
        return _from_api(client, repo, subject, None)[1]
    except ReferrersOverCap:
        return True   # it answered with a (long) listing: it has the API


def _from_tag_schema(client: RegistryClient, repo: ImageRef, subject: Digest) -> list[Referrer]:
    with _LISTING:
        body = _tag_index(client, repo, subject)
        if body is None:
            return []
        where = f"referrers of {repo.with_digest(subject)}"
        if len(body) > MAX_LISTING_BYTES:
            raise over_cap(where, f"its listing (tag {referrers_tag(subject)}) is {len(body)} bytes, over the "
                                  f"cap of {MAX_LISTING_BYTES // 1024} KiB per image")
        try:
            return parse_referrers(body, where)
        except CompositionError:
            return []  # not a valid index: the spec says to assume there are no referrers


def _tag_index(client: RegistryClient, repo: ImageRef, subject: Digest) -> bytes | None:
    try:
        return client.get_manifest(repo.with_tag(referrers_tag(subject))).body
    except CompositionError:
        return b""
    except RegistryError as e:
        if e.status == 404:
            return None
        raise


def _from_cosign_tags(client: RegistryClient, repo: ImageRef, subject: Digest,
                      tags: frozenset[str] | None = None) -> list[Referrer]:
    out = []
    for tag in cosign_tags(subject):
        if tags is not None and tag not in tags:
            continue
        desc = client.head_manifest(repo.with_tag(tag))
        if desc is not None:
            out.append(Referrer(desc.media_type, desc.digest, desc.size, None, (), tag))
    return out


def update_tag_schema(client: RegistryClient, target: ImageRef, subject: Digest,
                      copied: list[Referrer]) -> Digest | None:
    """After copying referrers of `subject` into `target`, list them in its `sha256-<hex>` index where the
    registry has no referrers API (what the index held is kept, the rest appended in digest order).

    Returns the index digest PUT, or None when nothing needed writing (API present, or all listed already).
    """
    wanted = [r for r in copied if r.tag is None]  # cosign-tagged artifacts are found by their own tag
    if not wanted or _has_api(client, target, subject):
        return None
    body = fallback_index(_tag_index(client, target, subject), wanted)
    if body is None:
        return None
    return client.put_manifest(target, referrers_tag(subject), body, MediaType.OCI_INDEX)
