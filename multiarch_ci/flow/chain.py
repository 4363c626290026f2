"""One chain per source: manifest GET -> config GET, then blob mounts/copies -> child PUT, back to back.

Every source's chain runs at once in the chain pool; no source waits for another's step, with one
exception: nothing is written until every source has landed and passed the checks that need more than
one source (two sources giving one platform), so a bad composition or a missing source writes nothing.
Those checks run as each platform becomes known; the first failure sets `stop`, the other chains stop
before their next request or write (children.Copier checks it), and the index PUT waits for the last
chain. A chain's own parallel requests (an index source's children, a child's blobs) go to the separate
request pool, whose tasks never wait on anything, so a full pool cannot deadlock.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass

from multiarch_ci.core.compose import Candidate, PlatformSeen, choose_media_type, platform_of
from multiarch_ci.core.plan import SourceSpec
from multiarch_ci.flow.children import Copier, Stopped
from multiarch_ci.flow.resolve import Child, Resolver
from multiarch_ci.flow.wait import LANDED, Probe

TYPE_CHECKING = False   # not typing's: typing is not worth its import here
if TYPE_CHECKING:
    from multiarch_ci.flow.attestations import Attached, AttestationReferrers


@dataclass(frozen=True, slots=True)
class Done:
    """What one source's chain resolved (and, unless a dry run, made present in the target)."""

    candidates: list[Candidate]
    children: list[Child]
    seconds: float                # when its source was seen landed, from the start of the run
    attached: tuple[Attached, ...] = ()   # its attestations as referrers of their images (flow/attestations.py)
    top: Child | None = None      # the source's own manifest as read (an index may be copied as it is)


class Chains:
    """Runs the chains of one plan: `read` (the map wait_for polls with), then `write`."""

    def __init__(self, sources: tuple[SourceSpec, ...], resolver: Resolver, copier: Copier | None,
                 pool: ThreadPoolExecutor, fan_out: Callable, *, fmt: str, annotations: tuple,
                 verify_platform: bool, clock: Callable[[], float], attach: AttestationReferrers | None = None):
        self.resolver, self.copier, self.pool, self.fan_out = resolver, copier, pool, fan_out
        self.attach = attach   # --attestations referrers: attestations leave the index, written as referrers
        self.fmt, self.annotations, self.verify, self.clock = fmt, annotations, verify_platform, clock
        self.position = {id(s): i for i, s in enumerate(sources)}
        self.stop = copier.stop if copier else threading.Event()
        self._seen = PlatformSeen()
        self._lock = threading.Lock()
        self._start = clock()

    def read(self, look: Callable[[SourceSpec], Probe], specs: list[SourceSpec]) -> list[Probe]:
        """wait_for's map: each source's reads (manifest, children, config) back to back, concurrently.
        `look` is wait_for's probe (bounded by the wait's deadline); the rest of the chain follows it."""
        return self._all([(lambda s: self._read(look, s), s) for s in specs])

    def write(self, done: list[Done]) -> None:
        """Every source resolved and checked: each one's children copied, concurrently."""
        if self.copier is not None:
            self._all([(self._write, d) for d in done])

    def _write(self, d: Done) -> None:
        """A source's children, then its attestations as referrers of those children."""
        if self.copier is not None:
            self.copier.copy(d.children, self.fan_out)
        if self.attach is not None:
            self.attach.write(d.attached, self.fan_out)

    def _all(self, calls: list) -> list:
        """Run the calls on the chain pool and wait for all of them (a failure sets `stop`, so the others
        stop before their next request), then raise the failure of the first one in input order."""
        futures = [self.pool.submit(self._guard, fn, arg) for fn, arg in calls]
        wait(futures)
        failures = [e for e in (f.exception() for f in futures) if e is not None]
        real = [e for e in failures if not isinstance(e, Stopped)]
        if failures:
            raise (real or failures)[0]
        return [f.result() for f in futures]

    def _guard(self, fn, arg):
        if self.stop.is_set():
            raise Stopped()
        try:
            return fn(arg)
        except BaseException:
            self.stop.set()
            raise

    def _read(self, look: Callable[[SourceSpec], Probe], spec: SourceSpec) -> Probe:
        probe = look(spec)
        if probe.state != LANDED:
            return probe
        seconds = self.clock() - self._start
        if self.stop.is_set():
            raise Stopped()
        candidates, children = self.resolver.resolve(spec, probe.value, self.fan_out)
        attached: tuple[Attached, ...] = ()
        if self.attach is not None:
            candidates, children, attached = self.attach.detach(candidates, children)
        self._check(spec, candidates, children)
        prefetch = getattr(self.copier, "prefetch", None)   # reads only: they overlap the other sources' reads
        if prefetch is not None:
            prefetch(children)
        return Probe(LANDED, value=Done(candidates, children, seconds, attached,
                                        Child(spec.ref.with_tag(None), probe.value)))

    def _check(self, spec: SourceSpec, candidates: list[Candidate], children: list[Child]) -> None:
        """This source's composition rules (declared vs config platform, format), then its platforms
        against every other source's seen so far, before anything of it is written."""
        choose_media_type(self.fmt, [c.fetched.descriptor for c in children], self.annotations)
        where = self.position[id(spec)]
        platforms = [platform_of(c, self.verify) for c in candidates]
        with self._lock:
            for i, (c, platform) in enumerate(zip(candidates, platforms, strict=True)):
                self._seen.add((where, i), platform, c.origin, c.descriptor)
