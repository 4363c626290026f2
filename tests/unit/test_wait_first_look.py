"""wait_for's first look: when no source is there, one line says at once where they are looked for, and the
wait goes on (a leg may still be pushing). Fake clock; never sleeps."""
import pytest

from multiarch_ci.core.plan import SourceSpec
from multiarch_ci.core.reference import ImageRef
from multiarch_ci.flow.wait import LANDED, MISSING, STALE, Probe, wait_for


class FakeTime:
    def __init__(self):
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def spec(ref: str) -> SourceSpec:
    return SourceSpec(ImageRef.parse(ref))


def answers(*rounds: dict[str, str]):
    """A probe answering round by round: ref -> state (the last round repeats)."""
    seen: dict[str, int] = {}

    def probe(s: SourceSpec) -> Probe:
        n = seen[str(s.ref)] = seen.get(str(s.ref), -1) + 1
        state = rounds[min(n, len(rounds) - 1)][str(s.ref)]
        return Probe(state, "not found: HTTP 404 MANIFEST_UNKNOWN" if state == MISSING else state, value="x")
    return probe


A, B, C = "reg.io/org/app:amd64", "reg.io/org/app:arm64", "other.io/org/app:s390x"


def test_nothing_there_at_the_first_look_is_said_once_and_the_wait_goes_on():
    t, lines = FakeTime(), []
    probe = answers({A: MISSING, B: MISSING, C: MISSING}, {A: MISSING, B: LANDED, C: MISSING},
                    {A: LANDED, B: LANDED, C: LANDED})
    out = wait_for([spec(A), spec(B), spec(C)], probe, timeout=300, clock=t.clock, sleep=t.sleep,
                   on_progress=lines.append, rand=lambda: 1.0, where="why there")
    assert len(out) == 3                                   # the late legs still landed
    said = [line for line in lines if "looked for in" in line]
    assert said == ["none of the 3 sources is there at the first look: looked for in reg.io/org/app, "
                    "other.io/org/app (why there); the build legs must push there (still waiting up to 300 s)"]
    assert lines[0] == said[0]                             # before the first progress line


@pytest.mark.parametrize("first", [{A: LANDED, B: MISSING}, {A: STALE, B: MISSING}], ids=["one-landed", "one-stale"])
def test_not_said_when_something_is_there(first):
    t, lines = FakeTime(), []
    wait_for([spec(A), spec(B)], answers(first, {A: LANDED, B: LANDED}), timeout=300, clock=t.clock,
             sleep=t.sleep, on_progress=lines.append)
    assert not any("looked for in" in line for line in lines)


def test_not_said_when_the_wait_is_one_look():
    """--wait-timeout 0: the timeout error itself names every ref at once."""
    t, lines = FakeTime(), []
    with pytest.raises(Exception, match="did not land"):
        wait_for([spec(A)], answers({A: MISSING}), timeout=0, clock=t.clock, sleep=t.sleep, on_progress=lines.append)
    assert lines == []
