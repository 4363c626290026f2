"""Referrers follow their images: signatures, SBOMs and attestations of each child copied come with it.

For every child copied into a target repository (another repository, another registry), the source
repository is asked what refers to it (registry/referrers.py: the OCI 1.1 API, else the `sha256-<hex>`
tag schema, and cosign's `sha256-<hex>.sig/.att/.sbom` tags); each referrer is then copied like a child
(its blobs, its manifest PUT by digest), a cosign tag is recreated in the target (the scheme's own
pointer, never one of our tags; a tag that already holds something else there is left alone), and the
target's `sha256-<hex>` index lists what was copied where the target has no referrers API (a layout
target: its index.json, layout/referrers.py).
A child already in the target repository needs none of this. Discovery that fails is a warning (the
image itself is still pushed); a copy that fails is an error like any other; an image whose referrers
exceed a cap (core/referrers.py: count, listing bytes, manifest bytes) fails the run, naming the image.

Memory: the referrer manifests are read capped at their listed sizes and copied in batches that hold at
most HELD_BYTES of them at once, run-wide; their blobs are streamed like the children's (children.py).
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from functools import partial

from multiarch_ci.core.errors import CompositionError, DigestMismatch, Kind, RegistryError
from multiarch_ci.core.fetched import Fetched
from multiarch_ci.core.location import LayoutRef
from multiarch_ci.core.model import ImageManifest
from multiarch_ci.core.reference import ImageRef
from multiarch_ci.core.referrers import Referrer, ReferrersOverCap, subject_of, within_caps
from multiarch_ci.flow.resolve import Child

TYPE_CHECKING = False   # not typing's: typing is not worth its import here
if TYPE_CHECKING:
    from multiarch_ci.flow.store import Stores

HELD_BYTES = 8 * 1024 * 1024   # referrer manifests held at once, run-wide (each at most MAX_REFERRER_MANIFEST)


class Budget:
    """At most `total` bytes held at once across threads; a holder waits for room. A batch takes its whole
    share at once and gives it back before it waits for another, so holders cannot deadlock."""

    def __init__(self, total: int):
        self.total, self.used = total, 0
        self._room = threading.Condition()

    @contextmanager
    def hold(self, size: int) -> Iterator[None]:
        size = min(size, self.total)
        with self._room:
            self._room.wait_for(lambda: self.used + size <= self.total)
            self.used += size
        try:
            yield
        finally:
            with self._room:
                self.used -= size
                self._room.notify_all()


HELD = Budget(HELD_BYTES)


def batches(pairs: list, limit: int) -> Iterator[list]:
    """Consecutive runs of (child, referrer) whose listed sizes sum to at most `limit` (one at least)."""
    batch: list = []
    size = 0
    for pair in pairs:
        if batch and size + pair[1].size > limit:
            yield batch
            batch, size = [], 0
        batch.append(pair)
        size += pair[1].size
    if batch:
        yield batch


class ReferrersCopier:
    """Wraps the run's copier (same interface): after a source's children, their referrers."""

    def __init__(self, inner, stores: Stores, targets: tuple[ImageRef | LayoutRef, ...], log: Callable[[str], None],
                 submit: Callable | None = None):
        self.inner, self.stores, self.targets, self.log, self._submit = inner, stores, targets, log, submit
        self.stop = inner.stop
        self.report: list[dict] = []      # one row per referrer copied (the report's `referrers`)
        self._lock = threading.Lock()
        self._api: dict[str, tuple[threading.Lock, list]] = {}    # registry -> (lock, [has the referrers API])
        self._tags: dict[str, tuple[threading.Lock, list]] = {}   # repository -> (lock, [its tags or None])
        self._early: dict[int, Future] = {}   # id(child) -> its lookup, started as soon as it was resolved

    def check(self) -> None:
        self.inner.check()

    def summary(self) -> str | None:
        return self.inner.summary()

    def prefetch(self, children: list[Child]) -> None:
        """Start looking up what refers to each child as soon as it is resolved (reads only), on the
        request pool: the lookups overlap the wait for the other sources instead of the copy's mounts."""
        if self._submit is None:
            return
        for c in children:
            if self._where(c):
                future = self._submit(self._discover, c)
                with self._lock:
                    self._early[id(c)] = future

    def copy(self, children: list[Child], fan_out: Callable) -> None:
        """The children (the inner copier), then what refers to each, copied into the same targets."""
        todo = [c for c in children if self._where(c)]
        with self._lock:
            early = [self._early.pop(id(c), None) for c in todo]
        # lookups not started early overlap the copy: the copy runs inline (it fans out itself), the
        # lookups on the request pool (which never wait on a pool)
        late = [c for c, f in zip(todo, early, strict=True) if f is None]
        jobs = [lambda: self.inner.copy(children, fan_out), *(partial(self._discover, c) for c in late)]
        looked = iter(fan_out(lambda job: job(), jobs)[1:])
        found = [f.result() if f is not None else next(looked) for f in early]
        pairs = [(c, r) for c, refs in zip(todo, found, strict=True) for r in refs]
        if not pairs:
            return
        self.check()
        copied: list[tuple[Child, Referrer, dict]] = []
        for batch in batches(pairs, HELD_BYTES):   # the manifests of one batch in memory at a time
            with HELD.hold(sum(r.size for _, r in batch)):
                copied += self._copy_batch(batch, fan_out)
        for c in todo:
            mine = [r for cc, r, _ in copied if cc is c]
            for target in self._where(c) if mine else ():
                self.stores(target).update_referrers_tag(target, c.fetched.digest, mine)
        rows = [row for _, _, row in copied]
        for row in rows:
            self.log(f"referrer {row['digest']} ({row['artifactType'] or row['tag'] or row['mediaType']}) of "
                     f"{row['subject']} copied to {', '.join(row['targets'])}")
        with self._lock:
            self.report += rows

    def _copy_batch(self, batch: list[tuple[Child, Referrer]],
                    fan_out: Callable) -> list[tuple[Child, Referrer, dict]]:
        """Read a batch's referrer manifests, copy them (their blobs streamed) and recreate cosign tags."""
        fetched = fan_out(self._fetch, batch)
        fetched = [f if f is None or self._refers(c, r, f) else None
                   for (c, r), f in zip(batch, fetched, strict=True)]
        images = [(c, r, f) for (c, r), f in zip(batch, fetched, strict=True)
                  if f and isinstance(f.manifest, ImageManifest)]
        for (c, r), f in zip(batch, fetched, strict=True):
            if f and not isinstance(f.manifest, ImageManifest):
                self.log(f"warning: referrer {r.digest.short} of {c.fetched.digest.short} is an index; "
                         "not copied (only image manifests are)")
        self.inner.copy([Child(c.repo, f) for c, _, f in images], fan_out)
        for c, r, f in images:
            for target in self._where(c):
                if r.tag:
                    self._tag(target, r.tag, f)
        return [(c, r, _row(c, r, f, self._where(c))) for c, r, f in images]

    def _where(self, c: Child) -> list[ImageRef | LayoutRef]:
        """The targets this child is copied into that take referrers (registries and layouts alike)."""
        return [t for t in self.targets if self.stores(t).takes_referrers and not c.repo.in_repository(t)]

    def _discover(self, c: Child) -> list[Referrer]:
        self.check()
        try:
            listed = self._listed(c)
            found = [r for r in listed if r.digest != c.fetched.digest]
        except ReferrersOverCap:
            raise   # never copy some and drop the rest without failing
        except (RegistryError, CompositionError) as e:
            self.log(f"warning: cannot list the referrers of {c.repo.with_digest(c.fetched.digest)}: {e.message}; "
                     "they are not copied (--referrers none skips looking)")
            return []
        return within_caps(found, f"referrers of {c.repo.with_digest(c.fetched.digest)}")

    def _listed(self, c: Child) -> tuple:
        """The first child of a store (a registry, a layout) asks whether it has a referrers listing (the
        API; a layout's index.json); its other children wait for that answer (one round trip) instead of
        each asking (distribution 2.8 has none: one 404 per run, not one per child). Then the repository's
        tags, listed once for all its children."""
        mine: list = []
        store = self.stores(c.repo)

        def ask() -> bool:
            mine.append(store.referrers_api(c.repo, c.fetched.digest))
            return mine[0] is not None

        # a child that finds the question being asked lists its tags meanwhile (it needs them anyway) and
        # only then waits, by which time the answer is mostly in: no request-pool worker idles for it
        api = self._once(self._api, store.where, ask, wait=False)
        tags = self._once(self._tags, c.repo.name, lambda: store.few_tags(c.repo))
        if api is None:
            api = self._once(self._api, store.where, ask)
        return store.list_referrers(c.repo, c.fetched.digest, api=api, tags=tags, listed=mine[0] if mine else None)

    def _once(self, boxes: dict, key: str, compute: Callable, wait: bool = True):
        """`compute()` once per key for the run; concurrent callers wait for it (a failure is not kept).
        With `wait=False`, None at once when another caller is computing it."""
        with self._lock:
            lock, box = boxes.setdefault(key, (threading.Lock(), []))
        if box:
            return box[0]
        if not lock.acquire(blocking=wait):
            return None
        try:
            if not box:
                box.append(compute())
            return box[0]
        finally:
            lock.release()

    def _fetch(self, pair: tuple[Child, Referrer]) -> Fetched | None:
        """The referrer's manifest, verified, read capped at its listed size (what the batch's share of HELD
        counts); None (a warning) when the source lists one it no longer has (a stale `sha256-<hex>` entry)."""
        c, r = pair
        self.check()
        ref = c.repo.with_digest(r.digest)
        try:
            f = self.stores(c.repo).get_manifest(ref, cap=r.size)
        except RegistryError as e:   # a body over its listed size is one too: read no further than that
            if e.kind is not Kind.NOT_FOUND:
                raise
            self.log(f"warning: {c.repo.name} lists referrer {r.digest.short} of {c.fetched.digest.short}, but it "
                     "is not there (HTTP 404); not copied")
            return None
        if len(f.body) != r.size:
            raise DigestMismatch(f"{ref}: {len(f.body)} bytes, not the {r.size} its source lists for it",
                                 "the source registry's referrers listing is wrong; nothing was tagged", ref=str(ref))
        return f

    def _refers(self, c: Child, r: Referrer, f: Fetched) -> bool:
        """A listed referrer must name the child as its subject (a cosign tag's artifact names none)."""
        subject = subject_of(f.body)
        if subject == c.fetched.digest or (subject is None and r.tag is not None):
            return True
        self.log(f"warning: {c.repo.name} lists {r.digest.short} as a referrer of {c.fetched.digest.short}, but its "
                 f"subject is {subject.short if subject else 'missing'}; not copied")
        return False

    def _tag(self, target: ImageRef | LayoutRef, tag: str, f: Fetched) -> None:
        """Recreate a cosign tag; never move one that holds another artifact in the target."""
        self.check()
        store = self.stores(target)
        there = store.head_manifest(target.with_tag(tag))
        if there is not None and there.digest != f.digest:
            self.log(f"warning: {target.name}:{tag} already holds {there.digest.short}; left as it is "
                     f"(the copied {f.digest.short} is present by digest)")
            return
        if there is None:
            try:
                store.put_manifest(target, tag, f.body, f.media_type)
            except CompositionError as e:   # a layout tags only OCI types: say what stays behind
                self.log(f"warning: {target.name}:{tag} not written ({e.message}); the referrer "
                         f"{f.digest.short} is in {target.name} by digest only, not findable by that tag")


def _row(c: Child, r: Referrer, f: Fetched, targets: list[ImageRef | LayoutRef]) -> dict:
    return {"subject": str(c.fetched.digest), "digest": str(f.digest), "mediaType": f.media_type,
            "artifactType": r.artifact_type, "tag": r.tag, "size": len(f.body),
            "targets": [t.name for t in targets]}
