"""Copying children into the target repositories (rule 4): blobs first (mount, else stream), then each
child manifest PUT by digest; never tagged.

For each blob a child needs, every target that lacks it is asked first (a mount on the source's registry,
else a HEAD); the targets still lacking it then get it from ONE read of the source: bytes already read
and verified (a config) are uploaded to each, anything else is streamed (through fanout.fan_out when
several targets need it).

Each source's chain copies its own children. A blob or child shared by several sources is written once
per run: the first chain to need it claims it, and the others wait for that claim only after writing
their own (a chain never waits while holding an unfinished claim, so claims cannot deadlock); claims are per
target and digest. Before
each write the run's `stop` flag is checked: once any chain has failed, nothing more is written.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future

from multiarch_ci.core.errors import Kind, RegistryError
from multiarch_ci.core.location import LayoutRef, same_registry
from multiarch_ci.core.model import Descriptor
from multiarch_ci.core.reference import ImageRef
from multiarch_ci.flow.fanout import fan_out as feed
from multiarch_ci.flow.resolve import Child

TYPE_CHECKING = False   # not typing's: typing is not worth its import here
if TYPE_CHECKING:
    from multiarch_ci.flow.store import Stores


class Stopped(Exception):
    """This chain stopped before writing because another part of the run failed (not an error of its own)."""


class Claims:
    """First come, first served: claim(key) -> (mine, future settled by the claimer)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: dict[str, Future] = {}

    def claim(self, key: str) -> tuple[bool, Future]:
        with self._lock:
            if key in self._futures:
                return False, self._futures[key]
            future = self._futures[key] = Future()
            return True, future


def settle(future: Future, fn: Callable[[], object]) -> object:
    """Run the claimed work and settle its future either way, so waiters never hang."""
    try:
        value = fn()
    except BaseException as e:
        future.set_exception(e)
        raise
    future.set_result(value)
    return value


class Copier:
    """Makes children present in the run's target repositories (one or several); shared by all the
    chains of a plan."""

    def __init__(self, stores: Stores, targets: tuple[ImageRef | LayoutRef, ...], stop: threading.Event,
                 log: Callable[[str], None], known: dict[str, bytes]):
        self.stores, self.targets, self.stop, self.log, self.known = stores, targets, stop, log, known
        self.target = targets[0]
        self._blobs, self._children = Claims(), Claims()
        self._lock = threading.Lock()
        self.mounted = self.copied = self.children = self.reads = 0

    def check(self) -> None:
        if self.stop.is_set():
            raise Stopped()

    def copy(self, children: list[Child], fan_out: Callable) -> None:
        """One source's children: blobs (one source read each) concurrently, then manifests per target."""
        items, theirs = [], []
        for c in children:
            for b in c.fetched.manifest.blobs:
                wanted = []
                for i, t in enumerate(self.targets):
                    if c.repo.in_repository(t):
                        continue
                    owned, future = self._blobs.claim(f"{i} {b.digest}")
                    if owned:
                        wanted.append((t, future))
                    else:
                        theirs.append(future)
                if wanted:
                    items.append((c.repo, b, wanted))
        fan_out(self._copy_blob, items)
        for future in theirs:
            future.result()
        puts, waits = [], []
        for c in children:
            for i, t in enumerate(self.targets):
                if c.repo.in_repository(t):
                    continue
                owned, future = self._children.claim(f"{i} {c.fetched.digest}")
                if owned:
                    puts.append((c, t, future))
                else:
                    waits.append(future)
        fan_out(lambda item: settle(item[2], lambda: self._put_child(item[0], item[1])), puts)
        for future in waits:
            future.result()

    def summary(self) -> str | None:
        if not self.children:
            return None
        if len(self.targets) == 1:
            return (f"made {self.children} child manifest(s) present in {self.target.name} "
                    f"({self.mounted} blob(s) mounted, {self.copied} copied)")
        return (f"made {self.children} child manifest(s) present in {len(self.targets)} targets "
                f"({', '.join(t.name for t in self.targets)}): {self.mounted} blob(s) mounted or present, "
                f"{self.copied} copied from {self.reads} source read(s)")

    def _put_child(self, c: Child, target: ImageRef | LayoutRef) -> None:
        self.check()
        self.stores(target).put_manifest(target, str(c.fetched.digest), c.fetched.body, c.fetched.media_type)
        with self._lock:
            self.children += 1

    def _copy_blob(self, item: tuple[ImageRef | LayoutRef, Descriptor, list]) -> None:
        """One blob into every target that claimed it; every claim is settled either way."""
        source, blob, wanted = item
        try:
            for attempt in range(3):
                try:
                    self._copy_blob_once(source, blob, [t for t, _ in wanted])
                    break
                except RegistryError as e:
                    if e.kind is not Kind.BROKEN or attempt == 2:   # a broken stream: the copy starts again
                        raise
                    self.log(f"copy of {blob.digest.short} broke ({e.message}); starting it again")
        except BaseException as e:
            for _, future in wanted:
                future.set_exception(e)
            raise
        for _, future in wanted:
            future.set_result(None)

    def _copy_blob_once(self, source: ImageRef | LayoutRef, blob: Descriptor,
                        targets: list[ImageRef | LayoutRef]) -> None:
        uploads = []
        for target in targets:   # what each target lacks: a mount or a HEAD first (a retry skips the done)
            self.check()
            store = self.stores(target)
            if same_registry(source, target):   # a mount; a layout source has no registry to mount from
                location = store.mount_blob(target, blob.digest, source)
            else:
                location = None if store.blob_exists(target, blob.digest) else store.start_upload(target)
            if location is None:
                with self._lock:
                    self.mounted += 1
            else:
                uploads.append((target, location))
        if not uploads:
            return
        self.check()

        def sink(target: ImageRef | LayoutRef, location: str):
            store = self.stores(target)
            return lambda chunks: store.upload_blob(target, location, blob.digest, chunks, source=source.name)
        known = self.known.get(str(blob.digest))
        if known is not None:   # read and verified already (a config): no source read at all
            for target, location in uploads:
                sink(target, location)(iter([known]))
        else:
            with self._lock:
                self.reads += 1
            stream = self.stores(source).stream_blob(source, blob.digest, blob.size)
            if len(uploads) == 1:
                sink(*uploads[0])(stream)
            else:
                errors = feed(stream, [sink(t, loc) for t, loc in uploads])
                failed = next((e for e in errors if e is not None), None)
                if failed is not None:
                    raise failed
        with self._lock:
            self.copied += len(uploads)
