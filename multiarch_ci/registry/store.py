"""A registry as the flow's store (flow/store.py): the RegistryClient's operations, the index PUT with its
Docker-list fallback (index_format.py), and referrers (referrers.py). One per registry host, all sharing
the run's client (one session, one token cache)."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from multiarch_ci.core.digest import Digest
from multiarch_ci.core.fetched import Fetched
from multiarch_ci.core.limits import MANIFEST_CAP
from multiarch_ci.core.model import Descriptor, ImageIndex
from multiarch_ci.core.reference import ImageRef
from multiarch_ci.core.referrers import Referrer
from multiarch_ci.registry import index_format, referrers
from multiarch_ci.registry.client import RegistryClient


class RegistryStore:
    """The repositories of one registry, through the run's RegistryClient."""

    takes_referrers = True

    def __init__(self, client: RegistryClient, registry: str):
        self.client, self.where = client, registry

    def index_format(self, fmt: str) -> str:
        return fmt

    # -- reads ---------------------------------------------------------------------------------
    def get_manifest(self, ref: ImageRef, expect: Digest | None = None, cap: int | None = None) -> Fetched:
        return self.client.get_manifest(ref, expect, MANIFEST_CAP if cap is None else cap)

    def head_manifest(self, ref: ImageRef) -> Descriptor | None:
        return self.client.head_manifest(ref)

    def list_tags(self, repo: ImageRef, page_size: int | None = None) -> list[str]:
        return self.client.list_tags(repo, page_size)

    def get_blob(self, repo: ImageRef, desc: Descriptor) -> bytes:
        return self.client.get_blob(repo, desc)

    def stream_blob(self, repo: ImageRef, digest: Digest, size: int | None = None) -> Iterator[bytes]:
        return self.client.stream_blob(repo, digest, size)

    def blob_exists(self, repo: ImageRef, digest: Digest) -> bool:
        return self.client.blob_exists(repo, digest)

    # -- writes --------------------------------------------------------------------------------
    def mount_blob(self, target: ImageRef, digest: Digest, source: ImageRef) -> str | None:
        return self.client.mount_blob(target, digest, source)

    def start_upload(self, target: ImageRef) -> str:
        return self.client.start_upload(target)

    def upload_blob(self, target: ImageRef, location: str, digest: Digest, chunks: Iterable[bytes],
                    source: str = "the source") -> None:
        self.client.upload_blob(target, location, digest, iter(chunks), source)

    def put_manifest(self, repo: ImageRef, reference: str, body: bytes, media_type: str) -> Digest:
        return self.client.put_manifest(repo, reference, body, media_type)

    def put_index(self, target: ImageRef, index: ImageIndex, fmt: str, log: Callable[[str], None]) -> ImageIndex:
        return index_format.put_index(self.client, target, index, fmt, log)

    # -- referrers -----------------------------------------------------------------------------
    def referrers_api(self, repo: ImageRef, subject: Digest) -> list[Referrer] | None:
        return referrers.api_listing(self.client, repo, subject)

    def few_tags(self, repo: ImageRef) -> frozenset[str] | None:
        return referrers.few_tags(self.client, repo)

    def list_referrers(self, repo: ImageRef, subject: Digest, *, api: bool, tags: frozenset[str] | None,
                       listed: list[Referrer] | None) -> tuple[Referrer, ...]:
        return referrers.list_referrers(self.client, repo, subject, api=api, tags=tags, listed=listed).referrers

    def update_referrers_tag(self, target: ImageRef, subject: Digest, copied: list[Referrer]) -> Digest | None:
        return referrers.update_tag_schema(self.client, target, subject, copied)
