"""Referrers follow their images: signatures, SBOMs and attestations of each child copied come with it.

For every child copied into a target repository (another repository, another registry), the source
repository is asked what refers to it (registry/referrers.py: the OCI 1.1 API, else the `sha256-<hex>`
tag schema, and cosign's `sha256-<hex>.sig/.att/.sbom` tags); each referrer is then copied like a child
(its blobs, its manifest PUT by digest), a cosign tag is recreated in the target (the scheme's own
pointer, never one of our tags; a tag that already holds something else there is left alone), and the
target's `sha256-<hex>` index lists what was copied where the target has no referrers API (a layout
target: its index.json, layout/referrers.py).
A child already in the target repository needs none of this. Discovery that fails is a warning (the
image itself is still pushed); a copy that fails is an error like any other.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial

from multiarch_ci.core.errors import CompositionError, RegistryError
from multiarch_ci.core.model import ImageManifest
from multiarch_ci.core.reference import ImageRef
from multiarch_ci.core.location import LayoutRef
from multiarch_ci.core.referrers import Referrer, subject_of
from multiarch_ci.registry.client import Fetched, RegistryClient
from multiarch_ci.registry.referrers import api_listing, few_tags, list_referrers, update_tag_schema
from multiarch_ci.flow.resolve import Child

MAX_PER_IMAGE = 256   # a source that lists more (a hostile or runaway one) gets the first 256 copied


class ReferrersCopier:
    """Wraps the run's copier (same interface): after a source's children, their referrers."""

    def __init__(self, inner, client: RegistryClient, targets: tuple[ImageRef, ...], log: Callable[[str], None],
                 submit: Callable | None = None):
        self.inner, self.client, self.targets, self.log, self._submit = inner, client, targets, log, submit
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
        late = [c for c, f in zip(todo, early) if f is None]
        jobs = [lambda: self.inner.copy(children, fan_out), *(partial(self._discover, c) for c in late)]
        looked = iter(fan_out(lambda job: job(), jobs)[1:])
        found = [f.result() if f is not None else next(looked) for f in early]
        pairs = [(c, r) for c, refs in zip(todo, found) for r in refs]
        if not pairs:
            return
        self.check()
        fetched = fan_out(self._fetch, pairs)
        fetched = [f if f is None or self._refers(c, r, f) else None for (c, r), f in zip(pairs, fetched)]
        images = [(c, r, f) for (c, r), f in zip(pairs, fetched) if f and isinstance(f.manifest, ImageManifest)]
        for (c, r), f in zip(pairs, fetched):
            if f and not isinstance(f.manifest, ImageManifest):
                self.log(f"warning: referrer {r.digest.short} of {c.fetched.digest.short} is an index; "
                         "not copied (only image manifests are)")
        self.inner.copy([Child(c.repo, f) for c, _, f in images], fan_out)
        for c, r, f in images:
            for target in self._where(c):
                if r.tag:
                    self._tag(target, r.tag, f)
        for c in todo:
            mine = [r for cc, r, _ in images if cc is c]
            for target in self._where(c) if mine else ():
                if isinstance(target, LayoutRef):   # a layout lists them in its index.json (layout/referrers.py)
                    self.client.add_referrers(target, c.fetched.digest, mine)
                else:
                    update_tag_schema(self.client, target, c.fetched.digest, mine)
        rows = [_row(c, r, f, self._where(c)) for c, r, f in images]
        for row in rows:
            self.log(f"referrer {row['digest']} ({row['artifactType'] or row['tag'] or row['mediaType']}) of "
                     f"{row['subject']} copied to {', '.join(row['targets'])}")
        with self._lock:
            self.report += rows

    def _where(self, c: Child) -> list[ImageRef]:
        """The targets this child is copied into (registries and a layout alike)."""
        return [t for t in self.targets if not c.repo.in_repository(t)]

    def _discover(self, c: Child) -> list[Referrer]:
        self.check()
        try:
            if isinstance(c.repo, LayoutRef):     # a layout: its index.json
                listed = self.client.layout_referrers(c.repo, c.fetched.digest)
            else:
                listed = self._listed(c)
            found = [r for r in listed if r.digest != c.fetched.digest]
        except (RegistryError, CompositionError) as e:
            self.log(f"warning: cannot list the referrers of {c.repo.with_digest(c.fetched.digest)}: {e.message}; "
                     "they are not copied (--referrers none skips looking)")
            return []
        if len(found) > MAX_PER_IMAGE:
            self.log(f"warning: {len(found)} referrers of {c.repo.with_digest(c.fetched.digest)}; copying the first "
                     f"{MAX_PER_IMAGE} only")
        return found[:MAX_PER_IMAGE]

    def _listed(self, c: Child) -> tuple:
        """The first child of a registry asks whether it has the referrers API; its other children wait
        for that answer (one round trip) instead of each asking (distribution 2.8 has none: one 404 per
        run, not one per child). Then the repository's tags, listed once for all its children."""
        mine: list = []

        def ask() -> bool:
            mine.append(api_listing(self.client, c.repo, c.fetched.digest))
            return mine[0] is not None

        # a child that finds the question being asked lists its tags meanwhile (it needs them anyway) and
        # only then waits, by which time the answer is mostly in: no request-pool worker idles for it
        api = self._once(self._api, c.repo.registry, ask, wait=False)
        tags = self._once(self._tags, c.repo.name, lambda: few_tags(self.client, c.repo))
        if api is None:
            api = self._once(self._api, c.repo.registry, ask)
        return list_referrers(self.client, c.repo, c.fetched.digest, api=api, tags=tags,
                              listed=mine[0] if mine else None).referrers

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
        """The referrer's manifest, verified; None (a warning) when the source lists one it no longer has
        (a stale `sha256-<hex>` entry after a deletion)."""
        c, r = pair
        self.check()
        try:
            return self.client.get_manifest(c.repo.with_digest(r.digest))
        except RegistryError as e:
            if e.status != 404:
                raise
            self.log(f"warning: {c.repo.name} lists referrer {r.digest.short} of {c.fetched.digest.short}, but it "
                     "is not there (HTTP 404); not copied")
            return None

    def _refers(self, c: Child, r: Referrer, f: Fetched) -> bool:
        """A listed referrer must name the child as its subject (a cosign tag's artifact names none)."""
        subject = subject_of(f.body)
        if subject == c.fetched.digest or (subject is None and r.tag is not None):
            return True
        self.log(f"warning: {c.repo.name} lists {r.digest.short} as a referrer of {c.fetched.digest.short}, but its "
                 f"subject is {subject.short if subject else 'missing'}; not copied")
        return False

    def _tag(self, target: ImageRef, tag: str, f: Fetched) -> None:
        """Recreate a cosign tag; never move one that holds another artifact in the target."""
        self.check()
        there = self.client.head_manifest(target.with_tag(tag))
        if there is not None and there.digest != f.digest:
            self.log(f"warning: {target.name}:{tag} already holds {there.digest.short}; left as it is "
                     f"(the copied {f.digest.short} is present by digest)")
            return
        if there is None:
            try:
                self.client.put_manifest(target, tag, f.body, f.media_type)
            except CompositionError as e:   # a layout tags only OCI types: say what stays behind
                self.log(f"warning: {target.name}:{tag} not written ({e.message}); the referrer "
                         f"{f.digest.short} is in {target.name} by digest only, not findable by that tag")


def _row(c: Child, r: Referrer, f: Fetched, targets: list[ImageRef]) -> dict:
    return {"subject": str(c.fetched.digest), "digest": str(f.digest), "mediaType": f.media_type,
            "artifactType": r.artifact_type, "tag": r.tag, "size": len(f.body),
            "targets": [t.name for t in targets]}
