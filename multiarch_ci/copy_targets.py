"""Children made present in several target repositories at once, each source blob read once.

For each blob a child needs, every target that lacks it is asked first (a mount on the source's registry,
else a HEAD); the targets still lacking it then get it from ONE read of the source: bytes already read
and verified (a config) are uploaded to each, anything else is streamed through fanout.fan_out to every
target's upload at the same time. Claims (children.Claims) are per target and digest, so a blob or child
shared by several sources is still written once per target. The index goes to every target by digest
before any tag is written (publish.py writes the tags, target by target, after `put_everywhere`).
"""
from __future__ import annotations

import threading
from collections.abc import Callable

from multiarch_ci.children import Claims, Copier, Stopped, settle
from multiarch_ci.digest import Digest
from multiarch_ci.fanout import fan_out as feed
from multiarch_ci.location import same_registry
from multiarch_ci.model import Descriptor, ImageIndex
from multiarch_ci.reference import ImageRef
from multiarch_ci.registry.client import RegistryClient
from multiarch_ci.registry.index_format import put_index
from multiarch_ci.registry.transport import BodyBroken
from multiarch_ci.resolve import Child


class TargetsCopier:
    """The Copier of a run with several targets (same interface: copy, summary, stop, check)."""

    def __init__(self, client: RegistryClient, targets: tuple[ImageRef, ...], stop: threading.Event,
                 log: Callable[[str], None], known: dict[str, bytes]):
        self.client, self.targets, self.stop, self.log, self.known = client, targets, stop, log, known
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
        return (f"made {self.children} child manifest(s) present in {len(self.targets)} targets "
                f"({', '.join(t.name for t in self.targets)}): {self.mounted} blob(s) mounted or present, "
                f"{self.copied} copied from {self.reads} source read(s)")

    def _put_child(self, c: Child, target: ImageRef) -> None:
        self.check()
        self.client.put_manifest(target, str(c.fetched.digest), c.fetched.body, c.fetched.media_type)
        with self._lock:
            self.children += 1

    def _copy_blob(self, item: tuple[ImageRef, Descriptor, list]) -> None:
        """One blob into every target that claimed it; every claim is settled either way."""
        source, blob, wanted = item
        try:
            for attempt in range(3):
                try:
                    self._copy_blob_once(source, blob, [t for t, _ in wanted])
                    break
                except BodyBroken as e:
                    if attempt == 2:
                        raise
                    self.log(f"copy of {blob.digest.short} broke ({e.message}); starting it again")
        except BaseException as e:
            for _, future in wanted:
                future.set_exception(e)
            raise
        for _, future in wanted:
            future.set_result(None)

    def _copy_blob_once(self, source: ImageRef, blob: Descriptor, targets: list[ImageRef]) -> None:
        uploads = []
        for target in targets:   # what each target lacks: a mount or a HEAD first (a retry skips the done)
            self.check()
            if same_registry(source, target):   # a mount; a layout source has no registry to mount from
                location = self.client.mount_blob(target, blob.digest, source)
            else:
                location = None if self.client.blob_exists(target, blob.digest) else self.client.start_upload(target)
            if location is None:
                with self._lock:
                    self.mounted += 1
            else:
                uploads.append((target, location))
        if not uploads:
            return
        self.check()

        def sink(target: ImageRef, location: str):
            return lambda chunks: self.client.upload_blob(target, location, blob.digest, chunks, source=source.name)
        known = self.known.get(str(blob.digest))
        if known is not None:   # read and verified already (a config): no source read at all
            for target, location in uploads:
                sink(target, location)(iter([known]))
        else:
            with self._lock:
                self.reads += 1
            stream = self.client.stream_blob(source, blob.digest, blob.size)
            if len(uploads) == 1:
                sink(*uploads[0])(stream)
            else:
                errors = feed(stream, [sink(t, loc) for t, loc in uploads])
                failed = next((e for e in errors if e is not None), None)
                if failed is not None:
                    raise failed
        with self._lock:
            self.copied += len(uploads)


def make_copier(client: RegistryClient, targets: tuple[ImageRef, ...], stop: threading.Event,
                log: Callable[[str], None], known: dict[str, bytes], referrers: str = "auto"):
    """The run's copier: children.Copier for one target, TargetsCopier for several; with `referrers`
    auto, wrapped so the artifacts referring to each copied child follow it (referrers_copy.py)."""
    copier = Copier(client, targets[0], stop, log, known) if len(targets) == 1 else \
        TargetsCopier(client, targets, stop, log, known)
    if referrers == "none":
        return copier
    from multiarch_ci.referrers_copy import ReferrersCopier
    return ReferrersCopier(copier, client, targets, log)


def put_everywhere(client: RegistryClient, targets: tuple[ImageRef, ...], index: ImageIndex, fmt: str,
                   log: Callable[[str], None]) -> ImageIndex:
    """The index PUT by digest in every target, the first first: where the first stored a Docker list
    instead (index_format's fallback), the same list goes everywhere, so every target holds one digest."""
    index = put_index(client, targets[0], index, fmt, log)
    body = index.to_bytes()
    for target in targets[1:]:
        client.put_manifest(target, str(Digest.of(body)), body, index.media_type)
    return index
