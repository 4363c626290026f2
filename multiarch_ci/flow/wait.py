"""Wait until every per-arch source has landed in its registry, as expected.

Pure over injected parts: `probe` asks the registry about one source, `clock`/`sleep` measure and pass
time (tests pass fakes and never sleep). A source has landed when it is present and, where an expected
digest is known, resolves to exactly that digest; a tag still pointing elsewhere is "stale".
"""
from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from multiarch_ci.core.errors import WaitTimeout, setting
from multiarch_ci.core.options import LAST_LOOK
from multiarch_ci.core.plan import SourceSpec

TYPE_CHECKING = False   # not typing's: typing is not worth its import at every start
if TYPE_CHECKING:
    from typing import Any

LANDED, MISSING, STALE, BUSY = "landed", "not found", "stale", "registry busy"


@dataclass(frozen=True, slots=True)
class Probe:
    """What one look at the registry found for a source."""

    state: str               # LANDED, MISSING, STALE or BUSY
    detail: str = ""         # for people: "stale: sha256:ab12… expected sha256:cd34…"
    value: Any = None        # what was fetched, when landed


@dataclass(frozen=True, slots=True)
class Landed:
    spec: SourceSpec
    value: Any
    seconds: float           # how long after the start of the wait it was seen landed


def describe(spec: SourceSpec, probe: Probe) -> str:
    """'linux/s390x org/app-s390x:v1 (not found)'."""
    head = f"{spec.platform} {spec.ref}" if spec.platform else str(spec.ref)
    return f"{head} ({probe.detail or probe.state})"


def wait_for(specs: Iterable[SourceSpec], probe: Callable[[SourceSpec], Probe], *, timeout: float,
             clock: Callable[[], float], sleep: Callable[[float], None],
             on_progress: Callable[[str], None] = lambda _l: None,
             map_fn: Callable = map, rand: Callable[[], float] = random.random,
             first_delay: float = 1.0, max_delay: float = 10.0, partial: bool = False,
             bound: Callable[[float], AbstractContextManager] | None = None, where: str = "") -> list[Landed]:
    """Poll all pending sources each round (concurrently through `map_fn`) until all have landed.

    Raises WaitTimeout naming every source still missing or stale once `timeout` seconds have passed
    (timeout 0: look once); with `partial` (--ignore-missing) returns those that landed instead, unless
    none did. Errors other than "not there yet" propagate from `probe` at once.
    `bound(seconds)` makes the requests a probe sends end when the wait's time runs out, so the whole
    wait, requests included, ends within `timeout` + LAST_LOOK (one unbounded look when timeout is 0).
    When no source is there at the first look, one line says at once where they are looked for (and
    `where`, why there), and the wait goes on: a leg may still be pushing.
    """
    specs = list(specs)
    start = clock()

    def look(spec: SourceSpec) -> Probe:
        if bound is None or timeout <= 0:
            return probe(spec)
        with bound(max(LAST_LOOK, timeout - (clock() - start))):
            return probe(spec)

    landed: dict[int, Landed] = {}
    pending = list(range(len(specs)))
    delay, first = first_delay, True
    while True:
        outcomes = list(map_fn(look, [specs[i] for i in pending]))
        elapsed = clock() - start
        waiting = []
        for i, outcome in zip(pending, outcomes, strict=True):
            if outcome.state == LANDED:
                landed[i] = Landed(specs[i], outcome.value, elapsed)
            else:
                waiting.append((i, outcome))
        if not waiting:
            if elapsed >= 1:
                on_progress(f"{len(specs)}/{len(specs)} landed ({elapsed:.0f} s)")
            return [landed[i] for i in range(len(specs))]
        names = ", ".join(describe(specs[i], o) for i, o in waiting)
        if first and not landed and elapsed < timeout and all(o.state == MISSING for _, o in waiting):
            on_progress(looked_for(specs, where, timeout))
        if elapsed >= timeout and partial and landed:
            on_progress(f"{len(landed)}/{len(specs)} landed; going on without {names}")
            return [landed[i] for i in sorted(landed)]
        if elapsed >= timeout:
            raise WaitTimeout(f"{len(waiting)} of {len(specs)} source(s) did not land"
                              + (f" within {timeout:g} s" if timeout else "") + f": {names}",
                              "no index was pushed and nothing was tagged; check that every build leg "
                              f"pushed, or raise {setting('wait-timeout')}"
                              + ("" if partial
                                 else f" ({setting('ignore-missing')} pushes what landed, like manifest-tool's)"))
        on_progress(f"{len(specs) - len(waiting)}/{len(specs)} landed ({elapsed:.0f} s); waiting for {names}")
        sleep(max(0.0, min(delay * (0.5 + rand() / 2), timeout - elapsed)))
        delay, first = min(max_delay, delay * 1.6), False
        pending = [i for i, _ in waiting]


def looked_for(specs: list[SourceSpec], where: str, timeout: float) -> str:
    """'none of the 3 sources is there at the first look: looked for in REG/REPO; the build legs must push
    there (still waiting up to 300 s)'."""
    repos = list(dict.fromkeys(s.ref.name for s in specs))
    many = f"none of the {len(specs)} sources is" if len(specs) > 1 else "the source is not"
    return (f"{many} there at the first look: looked for in {', '.join(repos)}"
            + (f" ({where})" if where else "")
            + f"; the build legs must push there (still waiting up to {timeout:g} s)")


def describe_missing(specs: Iterable[SourceSpec], landed: list[Landed]) -> list[str]:
    """The sources that did not land (with --ignore-missing), as 'linux/s390x REF' or 'REF'."""
    seen = {w.spec for w in landed}
    return [f"{s.platform} {s.ref}" if s.platform else str(s.ref) for s in specs if s not in seen]
