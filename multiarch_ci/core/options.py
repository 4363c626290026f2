"""How a push runs (the CLI's and the action's settings), apart from what it pushes (plan.PushPlan).

Its own module so that the CLI can build it without importing publish and everything publish needs:
those imports run while the registries' first requests are in flight (job.push_all)."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from multiarch_ci.core.platform import Platform

LAST_LOOK = 1.0          # seconds the look made when the wait's time is up may still take (wait.wait_for)


@dataclass(frozen=True, slots=True)
class Options:
    fmt: str = "auto"
    verify_platform: bool = True
    append: bool = False
    dry_run: bool = False
    workers: int = 32
    wait_timeout: float = 300.0
    tags_page_size: int | None = None
    ignore_missing: bool = False              # skip sources that never landed (manifest-tool's flag)
    required: tuple[Platform, ...] = ()       # these platforms must be in the index all the same
    remove: tuple[Platform, ...] = ()         # drop these from the index the tag holds now
    referrers: str = "auto"                   # auto: what refers to a copied child follows it; none
    attestations: str = "keep"                # keep: in the index (buildx's form); referrers: OCI referrers
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
