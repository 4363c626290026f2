"""Copying children into the target repository (rule 4): blobs first (mount, else stream), then each
child manifest PUT by digest; never tagged.

Each source's chain copies its own children. A blob or child shared by several sources is written once
per run: the first chain to need it claims it, and the others wait for that claim only after writing
their own (a chain never waits while holding an unfinished claim, so claims cannot deadlock). Before
each write the run's `stop` flag is checked: once any chain has failed, nothing more is written.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future

from multiarch_ci.location import same_registry
from multiarch_ci.model import Descriptor
from multiarch_ci.reference import ImageRef
from multiarch_ci.registry.client import RegistryClient
from multiarch_ci.registry.transport import BodyBroken
from multiarch_ci.resolve import Child


class Stopped(Exception):
    """This chain stopped before writing because another part of the run failed (not an error of its own)."""


class Claims:
    """First come, first served: claim(key) -> (mine, future settled by the claimer)."""

    def __init__(self):
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
    """Makes children present in one target repository; shared by all the chains of a plan."""

    def __init__(self, client: RegistryClient, target: ImageRef, stop: threading.Event,
                 log: Callable[[str], None], known: dict[str, bytes]):
        self.client, self.target, self.stop, self.log = client, target, stop, log
        self.known = known                      # blobs already read and verified (configs), by digest
        self._blobs, self._children = Claims(), Claims()
        self._lock = threading.Lock()
        self.mounted = self.copied = self.children = 0

    def check(self) -> None:
        if self.stop.is_set():
            raise Stopped()

    def copy(self, children: list[Child], fan_out: Callable) -> None:
        """One source's children: their blobs concurrently, then their manifests concurrently."""
        foreign = [c for c in children if not c.repo.in_repository(self.target)]
        mine, theirs = [], []
        for c in foreign:
            for b in c.fetched.manifest.blobs:
                owned, future = self._blobs.claim(str(b.digest))
                (mine if owned else theirs).append((c.repo, b, future) if owned else future)
        fan_out(lambda item: settle(item[2], lambda: self._copy_blob(item[0], item[1])), mine)
        for future in theirs:
            future.result()
        puts, waits = [], []
        for c in foreign:
            owned, future = self._children.claim(str(c.fetched.digest))
            (puts if owned else waits).append((c, future) if owned else future)
        fan_out(lambda item: settle(item[1], lambda: self._put_child(item[0])), puts)
        for future in waits:
            future.result()

    def summary(self) -> str | None:
        if not self.children:
            return None
        return (f"made {self.children} child manifest(s) present in {self.target.name} "
                f"({self.mounted} blob(s) mounted, {self.copied} copied)")

    def _put_child(self, c: Child) -> None:
        self.check()
        self.client.put_manifest(self.target, str(c.fetched.digest), c.fetched.body, c.fetched.media_type)
        with self._lock:
            self.children += 1

    def _copy_blob(self, source: ImageRef, blob: Descriptor) -> None:
        """Mount, else stream (or upload bytes already read and verified, e.g. a config);
        a stream broken mid-way starts over with a fresh upload (3 tries)."""
        for attempt in range(3):
            try:
                copied = self._copy_blob_once(source, blob, self.known.get(str(blob.digest)))
                with self._lock:
                    self.copied += copied
                    self.mounted += 1 - copied
                return
            except BodyBroken as e:
                if attempt == 2:
                    raise
                self.log(f"copy of {blob.digest.short} broke ({e.message}); starting it again")

    def _copy_blob_once(self, source: ImageRef, blob: Descriptor, known: bytes | None) -> int:
        self.check()
        target = self.target
        if same_registry(source, target):   # never for a layout: its blobs are copied
            location = self.client.mount_blob(target, blob.digest, source)
            if location is None:
                return 0
        else:
            if self.client.blob_exists(target, blob.digest):
                return 0
            location = self.client.start_upload(target)
        chunks = iter([known]) if known is not None else self.client.stream_blob(source, blob.digest, blob.size)
        self.client.upload_blob(target, location, blob.digest, chunks, source=source.name)
        return 1
