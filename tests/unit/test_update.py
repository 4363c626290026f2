"""Updating an index (pure): --append keeps what is there, --remove, the dry-run diff, --ignore-missing
and --require, CPU features versus os.features, and entries in the order given."""
import pytest

from multiarch_ci.core.compose import Candidate, compose, compose_update
from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import CompositionError, InputError, WaitTimeout
from multiarch_ci.core.model import ATTESTATION, REF_DIGEST, REF_TYPE, Descriptor, ImageIndex, MediaType, parse_manifest
from multiarch_ci.core.plan import SourceSpec, make_plan
from multiarch_ci.core.platform import Platform
from multiarch_ci.core.reference import ImageRef
from multiarch_ci.core.update import diff, require_platforms
from multiarch_ci.flow.wait import LANDED, MISSING, Probe, describe_missing, wait_for
from multiarch_ci.sources.specfile import parse_spec

D, OCI = MediaType.DOCKER_MANIFEST, MediaType.OCI_MANIFEST


def desc(name: str, mt: str = D, platform: str | None = None, **ann) -> Descriptor:
    return Descriptor(mt, Digest.of(name.encode()), 100 + len(name), Platform.parse(platform) if platform else None,
                      tuple(ann.items()))


def cand(name: str, config: str, mt: str = D, declared: Platform | None = None) -> Candidate:
    return Candidate(desc(name, mt), f"src-{name}", declared, Platform.parse(config))


def att(of: Descriptor) -> Descriptor:
    return desc(f"att-{of.digest}", OCI, "unknown/unknown", **{REF_TYPE: ATTESTATION, REF_DIGEST: str(of.digest)})


AMD, ARM, S390 = (desc("old-amd", OCI, "linux/amd64"), desc("old-arm", OCI, "linux/arm64"),
                  desc("old-s390x", OCI, "linux/s390x"))
EXISTING = ImageIndex(MediaType.OCI_INDEX, (S390, AMD, ARM, att(AMD)), (("a", "old"), ("keep", "1")))


def platforms(index: ImageIndex) -> list[str]:
    return [str(m.platform) for m in index.manifests]


def test_append_replaces_in_place_adds_at_the_end_and_keeps_annotations():
    index, changes = compose_update([cand("new-arm", "linux/arm64", OCI), cand("ppc", "linux/ppc64le", OCI)],
                                    annotations=(("a", "new"),), existing=EXISTING)
    assert platforms(index) == ["linux/s390x", "linux/amd64", "linux/arm64", "linux/ppc64le", "unknown/unknown"]
    assert index.manifests[2].digest == Digest.of(b"new-arm") and index.manifests[4] == att(AMD)
    assert dict(index.annotations) == {"a": "new", "keep": "1"}
    assert [str(c) for c in changes] == [
        f"linux/arm64 replaced ({ARM.digest} -> {Digest.of(b'new-arm')})",
        f"linux/ppc64le added ({Digest.of(b'ppc')})"]


def test_append_keeps_the_media_type_unless_format_asks_otherwise():
    docker_list = ImageIndex(MediaType.DOCKER_LIST, (desc("d-amd", D, "linux/amd64"),))
    assert compose(cand_list := [cand("arm", "linux/arm64", D)],
                   existing=docker_list).media_type == MediaType.DOCKER_LIST
    oci = ImageIndex(MediaType.OCI_INDEX, (desc("d-amd", D, "linux/amd64"),))
    assert compose(cand_list, existing=oci).media_type == MediaType.OCI_INDEX     # auto alone would pick Docker
    assert compose(cand_list, "docker", existing=oci).media_type == MediaType.DOCKER_LIST


def test_remove_drops_the_platform_and_its_attestations_and_names_what_is_there():
    index, changes = compose_update([], existing=EXISTING, remove=(Platform.parse("linux/amd64"),))
    assert platforms(index) == ["linux/s390x", "linux/arm64"]
    assert [str(c) for c in changes] == [f"linux/amd64 removed ({AMD.digest})"]
    with pytest.raises(InputError, match=r"--remove linux/riscv64: the index does not hold that platform "
                                         r"\(it holds linux/s390x, linux/amd64, linux/arm64\)"):
        compose_update([], existing=EXISTING, remove=(Platform.parse("linux/riscv64"),))
    with pytest.raises(CompositionError, match="no images"):
        compose_update([], existing=ImageIndex(MediaType.OCI_INDEX, (AMD,)), remove=(Platform.parse("linux/amd64"),))


def test_diff_names_added_removed_changed_and_annotations():
    new = ImageIndex(MediaType.OCI_INDEX, (desc("new-amd", OCI, "linux/amd64"), ARM, desc("ppc", OCI, "linux/ppc64le")),
                     (("a", "new"),))
    d = diff(EXISTING, new)
    assert [c.platform for c in d.added] == ["linux/ppc64le"] and [c.platform for c in d.removed] == ["linux/s390x"]
    assert [(c.platform, c.old, c.new) for c in d.changed] == [("linux/amd64", str(AMD.digest),
                                                               str(Digest.of(b"new-amd")))]
    assert d.annotations == (("a", "old", "new"), ("keep", "1", None))
    assert d.to_json()["changed"][0]["old"] == str(AMD.digest)
    assert diff(EXISTING, EXISTING).lines() == ["no change: the tag already holds this index"]
    assert not diff(None, new).exists and len(diff(None, new).added) == 3


def test_cpu_features_go_in_a_docker_list_and_are_refused_for_an_oci_index():
    featured = Platform.parse("linux/amd64")
    featured = Platform(featured.os, featured.architecture, features=("sse4",))
    index = compose([cand("a", "linux/amd64", D, declared=featured)])
    entry = index.to_dict()["manifests"][0]["platform"]
    assert entry == {"architecture": "amd64", "os": "linux", "features": ["sse4"]}
    assert parse_manifest(index.to_bytes(), None, "x") == index
    with pytest.raises(InputError, match=r"OCI image-index spec reserves platform\.features"):
        compose([cand("a", "linux/amd64", D, declared=featured)], "oci")
    with pytest.raises(CompositionError, match="CPU features"):
        compose([cand("a", "linux/amd64", OCI, declared=featured)])


def test_spec_features_are_cpu_features_and_osfeatures_are_os_features():
    spec = parse_spec("image: r.io/o/app:1\nmanifests:\n  - image: r.io/o/app:w\n    platform:\n"
                      "      {os: windows, architecture: amd64, features: [sse4], osfeatures: [win32k]}\n", "s.yaml")
    p = spec.sources[0].platform
    assert p.features == ("sse4",) and p.os_features == ("win32k",)
    assert p.to_dict() == {"architecture": "amd64", "os": "windows", "os.features": ["win32k"], "features": ["sse4"]}


def test_unknown_platform_key_says_what_manifest_tool_did():
    with pytest.raises(InputError) as e:
        parse_spec("image: r.io/o/app:1\nmanifests:\n  - image: r.io/o/app:a\n    platform:\n"
                   "      {os: linux, architecture: amd64, cpu: x}\n", "s.yaml")
    assert "unknown key 'cpu'" in e.value.message and "manifest-tool ignores" in e.value.hint


def test_two_windows_entries_without_osversion_wait_for_their_configs():
    win = Platform.parse("windows/amd64")
    specs = (SourceSpec(ImageRef.parse("r.io/o/app:w1"), platform=win, origin="s:3"),
             SourceSpec(ImageRef.parse("r.io/o/app:w2"), platform=win, origin="s:7"))
    make_plan(ImageRef.parse("r.io/o/app:1"), (), specs)   # not an input error: os.version comes from configs
    index = compose([cand("w1", "windows(10.0.17763.1)/amd64", declared=win),
                     cand("w2", "windows(10.0.14393.1)/amd64", declared=win)])
    assert platforms(index) == ["windows(10.0.17763.1)/amd64", "windows(10.0.14393.1)/amd64"]
    with pytest.raises(CompositionError, match="two images for windows"):
        compose([cand("w1", "windows/amd64", declared=win), cand("w2", "windows/amd64", declared=win)])
    lin = Platform.parse("linux/amd64")
    with pytest.raises(InputError, match="both declare platform linux/amd64"):
        make_plan(ImageRef.parse("r.io/o/app:1"), (), tuple(
            SourceSpec(ImageRef.parse(f"r.io/o/app:{t}"), platform=lin, origin=t) for t in ("a", "b")))


def _specs(*names):
    return [SourceSpec(ImageRef.parse(f"r.io/o/{n}:1"), platform=Platform.parse(p) if p else None)
            for n, p in names]


def test_ignore_missing_returns_what_landed_in_order_and_names_the_rest():
    specs = _specs(("a", "linux/amd64"), ("b", "linux/s390x"), ("c", None))
    there = {"a", "c"}

    def probe(s):
        return Probe(LANDED, value=s) if s.ref.repository.endswith(tuple(there)) else Probe(MISSING, "not found")
    landed = wait_for(specs, probe, timeout=0, clock=lambda: 0.0, sleep=lambda _s: None, partial=True)
    assert [w.spec for w in landed] == [specs[0], specs[2]]
    assert describe_missing(specs, landed) == ["linux/s390x r.io/o/b:1"]
    with pytest.raises(WaitTimeout, match="--ignore-missing"):
        wait_for(specs, probe, timeout=0, clock=lambda: 0.0, sleep=lambda _s: None)

    def none(s):
        return Probe(MISSING, "not found")
    with pytest.raises(WaitTimeout, match="3 of 3"):
        wait_for(specs, none, timeout=0, clock=lambda: 0.0, sleep=lambda _s: None, partial=True)


SKIPPED = SourceSpec(ImageRef.parse("r.io/o/b:1"), None, Platform.parse("linux/s390x"), (), "input sources:2")
LANDED_AMD = SourceSpec(ImageRef.parse("r.io/o/a:1"), None, None, (), "input sources:1")
FILTERED = SourceSpec(ImageRef.parse("r.io/o/c:1"), None, None, (Platform.parse("linux/s390x"),), "m.json:3")


@pytest.mark.parametrize("sources, landed, looked_in, words", [
    pytest.param((LANDED_AMD, SKIPPED), [LANDED_AMD], "", [
        "linux/s390x: r.io/o/b:1 (input sources:2) did not land (skipped)"], id="skipped-by-ignore-missing"),
    pytest.param((LANDED_AMD,), [LANDED_AMD], "the digests folder digests (1 digest file(s), each an image or "
                 "index in r.io/o/a)", ["linux/s390x: no source gave it (looked for in the digests folder digests "
                                        "(1 digest file(s)"], id="a-digests-folder-missing-a-leg"),
    pytest.param((FILTERED,), [FILTERED], "the matrix m.json", [
        "linux/s390x: r.io/o/c:1 (m.json:3) holds no linux/s390x image"], id="a-filter-that-found-none"),
])
def test_require_fails_naming_the_platform_and_where_it_was_looked_for(sources, landed, looked_in, words):
    index = ImageIndex(MediaType.OCI_INDEX, (AMD, ARM))
    require_platforms(index, (Platform.parse("linux/amd64"), Platform.parse("linux/arm64/v8")), sources, landed,
                      looked_in)   # held: nothing to say
    with pytest.raises(CompositionError) as e:
        require_platforms(index, (Platform.parse("linux/s390x"), Platform.parse("linux/amd64")), sources, landed,
                          looked_in)
    text = str(e.value)
    assert text.startswith("required platform(s) linux/s390x not in the index (it would hold linux/amd64, "
                           "linux/arm64): "), text
    assert "nothing was pushed" in text
    for word in words:
        assert word in text, text
