"""What one --append/--remove leg changes, and whether an index another leg left still has it (pure): the test the
converging loop (flow/append_race.py) puts to every read-back, and the removals left when it merges again."""
import pytest

from multiarch_ci.core.compose import Candidate, compose_update
from multiarch_ci.core.digest import Digest
from multiarch_ci.core.model import ATTESTATION, REF_DIGEST, REF_TYPE, Descriptor, ImageIndex, MediaType
from multiarch_ci.core.our_change import OurChange
from multiarch_ci.core.platform import Platform

OCI = MediaType.OCI_MANIFEST


def desc(name: str, platform: str | None = None, **ann) -> Descriptor:
    return Descriptor(OCI, Digest.of(name.encode()), 100, Platform.parse(platform) if platform else None,
                      tuple(ann.items()))


def att(of: Descriptor) -> Descriptor:
    return desc(f"att-{of.digest}", "unknown/unknown", **{REF_TYPE: ATTESTATION, REF_DIGEST: str(of.digest)})


def index(*entries: Descriptor) -> ImageIndex:
    return ImageIndex(MediaType.OCI_INDEX, entries)


OURS, THEIRS, OLD_OURS = desc("ours", "linux/arm64/v8"), desc("theirs", "linux/amd64"), desc("old", "linux/arm64/v8")
S390 = desc("s390", "linux/s390x")
CHANGE = OurChange((OURS,), (att(OURS),))
REMOVING = OurChange((OURS,), (att(OURS),), (Platform.parse("linux/s390x"),))


@pytest.mark.parametrize("change, held, lacking", [
    (CHANGE, None, [f"linux/arm64/v8 {OURS.digest}", f"attestation {att(OURS).digest} of {OURS.digest}"]),
    (CHANGE, index(THEIRS, OURS, att(OURS)), []),
    (CHANGE, index(OURS, THEIRS, att(OURS), att(THEIRS)), []),
    (CHANGE, index(THEIRS, OLD_OURS, att(OURS)), [f"linux/arm64/v8 {OURS.digest}"]),
    (CHANGE, index(THEIRS, OURS), [f"attestation {att(OURS).digest} of {OURS.digest}"]),
    (CHANGE, index(THEIRS, desc("ours", "linux/riscv64"), att(OURS)), [f"linux/arm64/v8 {OURS.digest}"]),
    (REMOVING, index(THEIRS, OURS, att(OURS)), []),
    (REMOVING, index(THEIRS, OURS, S390, att(OURS)), ["linux/s390x (removed) back in"]),
    (OurChange(removed=(Platform.parse("linux/arm64"),)), index(THEIRS, OURS), ["linux/arm64 (removed) back in"]),
    (OurChange(removed=(Platform.parse("linux/arm64"),)), index(THEIRS), []),
], ids=["nothing-there", "ours-among-theirs", "another-order", "our-platform-older-image", "attestation-gone",
        "our-digest-under-another-platform", "removal-done", "removed-platform-back", "remove-only-left",
        "remove-only-done"])
def test_what_an_index_lacks_of_this_legs_change(change, held, lacking):
    assert change.lacking(held) == lacking


def test_our_change_is_the_images_this_leg_brought_with_their_attestations():
    composed = index(THEIRS, OURS, S390, att(THEIRS), att(OURS))
    assert OurChange.of(composed, [OURS.digest, S390.digest]) == OurChange((OURS, S390), (att(OURS),))


@pytest.mark.parametrize("removed, held, left", [
    (("linux/s390x",), index(THEIRS, S390), ("linux/s390x",)),
    (("linux/s390x",), index(THEIRS), ()),
    (("linux/arm64",), index(THEIRS, OURS), ()),   # removed and brought again: ours, not a removal left
    (("linux/s390x",), None, ()),
], ids=["still-there", "gone-already", "brought-again", "no-index"])
def test_merging_again_removes_only_what_is_still_there(removed, held, left):
    change = OurChange((OURS,), (), tuple(Platform.parse(p) for p in removed))
    assert change.still_held(held) == tuple(Platform.parse(p) for p in left)


def test_merging_our_change_again_into_another_legs_index_keeps_theirs():
    """The re-merge is compose_update onto the index another leg left: theirs kept, ours replaced or added."""
    mine = [Candidate(OURS, "leg arm64", None, OURS.platform)]
    first, _ = compose_update(mine, existing=index(OLD_OURS))
    other = index(OLD_OURS, THEIRS)   # a leg that read before us and wrote after us
    again, _ = compose_update(mine, existing=other)
    change = OurChange.of(first, [OURS.digest])
    assert change.lacking(other) == [f"linux/arm64/v8 {OURS.digest}"]
    assert change.lacking(again) == [] and [d.digest for d in again.images] == [OURS.digest, THEIRS.digest]
