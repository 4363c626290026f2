"""Steps that run once per source stay linear: counted in Python calls, never timed.

Issue 15 measured a gap between config reads and the first mount growing faster than N (80 ms at
N=256): compose compared every platform with every other. These tests count the function calls
(Python and C) each step makes at N and at 8N; a linear (or N log N) step grows about 8-12x, a
quadratic one 64x.
"""
import sys

from multiarch_ci.core.compose import Candidate, compose
from multiarch_ci.core.digest import Digest
from multiarch_ci.core.model import Descriptor, MediaType
from multiarch_ci.core.platform import Platform
from multiarch_ci.registry.auth.scopes import ScopeGroups
from multiarch_ci.sources.forms import sources_from_template

GROWTH = 16  # allowed growth of the call count when N grows 8x (N log N gives ~12, N^2 gives 64)


def calls(fn) -> int:
    """How many Python and C function calls `fn()` makes."""
    count = 0

    def profile(_frame, event, _arg):
        nonlocal count
        if event in ("call", "c_call"):
            count += 1
    sys.setprofile(profile)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return count


def platforms(n: int) -> list[Platform]:
    return [Platform.of("windows", "amd64", None, f"10.0.17763.{i}") for i in range(n)]


def candidates(n: int) -> list[Candidate]:
    return [Candidate(Descriptor(MediaType.DOCKER_MANIFEST, Digest.of(str(p).encode()), 500), f"src-{i}",
                      config=p) for i, p in enumerate(platforms(n))]


def growth(step, n: int = 64) -> float:
    small, large = step(n), step(8 * n)
    return calls(large) / calls(small)


def test_compose_checks_duplicates_in_linear_time():
    def step(n):
        cs = candidates(n)
        return lambda: compose(cs)
    assert growth(step) < GROWTH


def test_compose_append_keeps_existing_in_linear_time():
    def step(n):
        existing = compose(candidates(n))
        new = candidates(n)[: n // 2]
        return lambda: compose(new, existing=existing)
    assert growth(step) < GROWTH


def test_platform_identity_is_computed_once_per_candidate(monkeypatch):
    n = 512
    cs = candidates(n)
    seen = []
    real = Platform.identity
    monkeypatch.setattr(Platform, "identity", lambda self: seen.append(1) or real(self))
    compose(cs)
    assert len(seen) <= 2 * n


def test_from_args_template_checks_in_linear_time():
    def step(n):
        texts = ",".join(f"linux/arm/v{i}" for i in range(n))   # variants: an architecture must be a known one
        return lambda: sources_from_template(texts, "r.example/app:v1-OS-ARCH-VARIANT")
    assert growth(step) < GROWTH


def test_token_scope_groups_place_in_linear_time():
    def step(n):
        def run():
            g = ScopeGroups(limit=16)
            for i in range(n):   # planning: a mount bundle per cross-repo source
                g.place(["repository:t:pull,push", f"repository:s{i}:pull"])
            for _ in range(4):   # then each request of the run asks again
                for i in range(n):
                    g.place([f"repository:s{i}:pull"])
                    g.place(["repository:t:pull,push", f"repository:s{i}:pull"])
        return run
    assert growth(step, 128) < 12   # requests x groups (the old scan of every group) grows ~21x here
