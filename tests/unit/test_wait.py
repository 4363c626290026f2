"""wait_for over a fake clock: rounds, backoff, progress lines, timeout; never sleeps."""
import pytest

from multiarch_ci.core.errors import WaitTimeout
from multiarch_ci.core.plan import SourceSpec
from multiarch_ci.core.platform import Platform
from multiarch_ci.core.reference import ImageRef
from multiarch_ci.flow.wait import BUSY, LANDED, MISSING, STALE, Probe, wait_for


class FakeTime:
    def __init__(self):
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def spec(name: str, platform: str | None = None) -> SourceSpec:
    return SourceSpec(ImageRef.parse(f"reg.io/org/{name}:v1"), platform=Platform.parse(platform) if platform else None)


def scripted(script: dict[str, list[Probe]]):
    """A probe answering each source's scripted outcomes in turn (the last one repeats)."""
    seen: dict[str, int] = {}

    def probe(s: SourceSpec) -> Probe:
        name = s.ref.repository.split("/")[-1]
        n = seen.get(name, 0)
        seen[name] = n + 1
        answers = script[name]
        return answers[min(n, len(answers) - 1)]
    probe.seen = seen
    return probe


def landed(v="x"):
    return Probe(LANDED, value=v)


def test_all_present_first_round_no_sleep_no_progress():
    t, lines = FakeTime(), []
    probe = scripted({"a": [landed("A")], "b": [landed("B")]})
    out = wait_for([spec("a"), spec("b")], probe, timeout=300, clock=t.clock, sleep=t.sleep, on_progress=lines.append)
    assert [o.value for o in out] == ["A", "B"] and t.sleeps == [] and lines == []
    assert [o.seconds for o in out] == [0, 0]


def test_late_source_waits_with_growing_jittered_backoff_and_reports_progress():
    t, lines = FakeTime(), []
    probe = scripted({"a": [landed()], "s390x": [Probe(MISSING, "not found")] * 4 + [landed("late")]})
    out = wait_for([spec("a"), spec("s390x", "linux/s390x")], probe, timeout=300, clock=t.clock, sleep=t.sleep,
                   on_progress=lines.append, rand=lambda: 1.0)
    assert t.sleeps == pytest.approx([1.0, 1.6, 2.56, 4.096])
    assert probe.seen == {"a": 1, "s390x": 5}  # a landed source is not asked again
    assert out[1].value == "late" and out[1].seconds == pytest.approx(sum(t.sleeps)) and out[0].seconds == 0
    assert lines[0] == "1/2 landed (0 s); waiting for linux/s390x reg.io/org/s390x:v1 (not found)"
    assert lines[-1].startswith("2/2 landed (")


def test_backoff_caps_at_ten_seconds_and_jitter_halves_at_most():
    t = FakeTime()
    probe = scripted({"a": [Probe(MISSING, "not found")] * 12 + [landed()]})
    wait_for([spec("a")], probe, timeout=300, clock=t.clock, sleep=t.sleep, rand=lambda: 0.0)
    assert max(t.sleeps) == pytest.approx(5.0) and t.sleeps[0] == pytest.approx(0.5)


def test_timeout_names_every_missing_and_stale_source():
    t, lines = FakeTime(), []
    probe = scripted({"a": [landed()], "b": [Probe(MISSING, "not found")],
                      "c": [Probe(STALE, "stale: v1 is sha256:ab12… expected sha256:cd34…")],
                      "d": [Probe(BUSY, "registry busy: HTTP 429")]})
    with pytest.raises(WaitTimeout) as e:
        wait_for([spec("a"), spec("b", "linux/arm64/v8"), spec("c"), spec("d")], probe, timeout=30, clock=t.clock,
                 sleep=t.sleep, on_progress=lines.append, rand=lambda: 1.0)
    msg = str(e.value)
    assert msg.startswith("3 of 4 source(s) did not land within 30 s: linux/arm64/v8 reg.io/org/b:v1 (not found), "
                          "reg.io/org/c:v1 (stale: v1 is sha256:ab12… expected sha256:cd34…), "
                          "reg.io/org/d:v1 (registry busy: HTTP 429)")
    assert "no index was pushed and nothing was tagged" in msg
    assert sum(t.sleeps) == pytest.approx(30)  # the last sleep is cut to the deadline, then one last look
    assert lines[-1].startswith("1/4 landed (")


def test_timeout_zero_looks_once():
    t = FakeTime()
    probe = scripted({"a": [Probe(MISSING, "not found"), landed()]})
    with pytest.raises(WaitTimeout, match="1 of 1 source"):
        wait_for([spec("a")], probe, timeout=0, clock=t.clock, sleep=t.sleep)
    assert t.sleeps == [] and probe.seen == {"a": 1}


def test_probe_errors_propagate_at_once():
    t = FakeTime()

    def probe(s):
        raise PermissionError("401")
    with pytest.raises(PermissionError):
        wait_for([spec("a")], probe, timeout=300, clock=t.clock, sleep=t.sleep)
    assert t.sleeps == []
