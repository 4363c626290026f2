"""What the flow sees of the places images live: a `Store` (a registry, or an OCI layout), and `Stores`, which
gives the store of each reference.

A registry (registry/store.py) and an OCI layout (layout/stores.py) are the two stores; the front end
chooses between them, once per reference (frontends/stores.py), and hands the flow a `Stores`. The flow
never asks which kind of store it holds: what differs is behind these methods (a layout needs no upload
session, is never mounted into, lists referrers in its index.json, holds OCI indexes only). Refs passed to a store are
the ones it was chosen for (or the same repository with another tag or digest). Failures are
`core.errors.RegistryError`s whose `kind` says what they mean; bad input found in a layout is InputError.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from multiarch_ci.core.digest import Digest
    from multiarch_ci.core.fetched import Fetched
    from multiarch_ci.core.location import LayoutRef
    from multiarch_ci.core.model import Descriptor, ImageIndex
    from multiarch_ci.core.plan import PushPlan
    from multiarch_ci.core.reference import ImageRef
    from multiarch_ci.core.referrers import Referrer

Ref = TypeVar("Ref", contravariant=True)   # the refs a store takes: a registry's ImageRef, a layout's LayoutRef


class Store(Protocol[Ref]):
    """One place images live, read and written like a repository; every read is verified."""

    where: str              # for once-per-place answers and messages: a registry's host, a layout's name
    takes_referrers: bool   # whether referrers copied along with their images are written here

    def index_format(self, fmt: str) -> str:
        """The --format an index composed for this store as the target is written in (a layout: OCI for auto)."""

    # -- reads ---------------------------------------------------------------------------------
    def get_manifest(self, ref: Ref, expect: Digest | None = None, cap: int | None = None) -> Fetched:
        """A manifest, verified; `cap` bounds the bytes read (a referrer: the size its listing gives)."""

    def head_manifest(self, ref: Ref) -> Descriptor | None:
        """The descriptor a tag or digest names now, or None when it names nothing."""

    def list_tags(self, repo: Ref, page_size: int | None = None) -> list[str]: ...

    def get_blob(self, repo: Ref, desc: Descriptor) -> bytes:
        """A small blob (an image config), read whole and verified."""

    def stream_blob(self, repo: Ref, digest: Digest, size: int | None = None) -> Iterator[bytes]:
        """A blob in pieces; a content that does not hash to `digest` fails before its last piece."""

    def blob_exists(self, repo: Ref, digest: Digest) -> bool: ...

    # -- writes --------------------------------------------------------------------------------
    def mount_blob(self, target: Ref, digest: Digest, source: Ref) -> str | None:
        """A blob from another repository of this store: None when mounted, else an upload to use."""

    def start_upload(self, target: Ref) -> str: ...

    def upload_blob(self, target: Ref, location: str, digest: Digest, chunks: Iterable[bytes],
                    source: str = "the source") -> None: ...

    def put_manifest(self, repo: Ref, reference: str, body: bytes, media_type: str) -> Digest:
        """Exactly `body`, under a tag or its digest."""

    def put_index(self, target: Ref, index: ImageIndex, fmt: str, log: Callable[[str], None]) -> ImageIndex:
        """The index PUT by its digest; returns what was stored (a registry may need a Docker list instead)."""

    # -- referrers -----------------------------------------------------------------------------
    def referrers_api(self, repo: Ref, subject: Digest) -> list[Referrer] | None:
        """What the store's own listing says refers to `subject`; None when it has no listing to ask."""

    def few_tags(self, repo: Ref) -> frozenset[str] | None:
        """The repository's tags when they are few enough to read at once, else None."""

    def list_referrers(self, repo: Ref, subject: Digest, *, api: bool, tags: frozenset[str] | None,
                       listed: list[Referrer] | None) -> tuple[Referrer, ...]:
        """Everything that refers to `subject` (`api`, `tags`, `listed`: what is known already)."""

    def update_referrers_tag(self, target: Ref, subject: Digest, copied: list[Referrer]) -> Digest | None:
        """List referrers copied here where the store has no referrers API of its own."""


class Stores(Protocol):
    """The store of each reference, chosen once per reference by the front end."""

    def __call__(self, ref: ImageRef | LayoutRef) -> Store[Any]: ...

    def prepare(self, plan: PushPlan, dry_run: bool) -> None:
        """Before any request: open and check what the plan names (bad input raises), plan the logins."""

    def close(self) -> None:
        """The run is over: what a store staged is finished (a `.tar` layout target is packed)."""

    def bounded(self, seconds: float) -> AbstractContextManager:
        """Requests this thread sends inside the block end within `seconds` (the wait's deadline)."""
