"""Composition rules over frozen values (DESIGN.md rules 5-8), no registry."""
import json

import pytest

from multiarch_ci.core.compose import Candidate, compose, flatten
from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import CompositionError, InputError
from multiarch_ci.core.model import ATTESTATION, REF_DIGEST, REF_TYPE, Descriptor, ImageIndex, MediaType, parse_manifest
from multiarch_ci.core.platform import Platform

D, OCI = MediaType.DOCKER_MANIFEST, MediaType.OCI_MANIFEST


def desc(name: str, mt: str = D, platform: str | None = None, **ann) -> Descriptor:
    return Descriptor(mt, Digest.of(name.encode()), 100 + len(name), Platform.parse(platform) if platform else None,
                      tuple(ann.items()))


def cand(name: str, mt=D, declared=None, config=None, atts=()) -> Candidate:
    return Candidate(desc(name, mt), f"src-{name}", Platform.parse(declared) if declared else None,
                     Platform.parse(config) if config else None, tuple(atts))


def attestation(of: Descriptor) -> Descriptor:
    return desc(f"att-{of.digest}", OCI, "unknown/unknown", **{REF_TYPE: ATTESTATION, REF_DIGEST: str(of.digest)})


def test_entries_keep_the_order_given_and_the_same_input_gives_the_same_digest():
    cs = [cand("s390x", config="linux/s390x"), cand("amd64", config="linux/amd64"),
          cand("arm64", config="linux/arm64/v8")]
    a, again, b = compose(cs), compose(list(cs)), compose(list(reversed(cs)))
    assert [str(m.platform) for m in a.manifests] == ["linux/s390x", "linux/amd64", "linux/arm64/v8"]
    assert [str(m.platform) for m in b.manifests] == ["linux/arm64/v8", "linux/amd64", "linux/s390x"]
    assert a.to_bytes() == again.to_bytes() and a.to_bytes() != b.to_bytes()
    assert a.media_type == MediaType.DOCKER_LIST
    assert b"created" not in a.to_bytes()


@pytest.mark.parametrize("fmt,children,annotations,want", [
    ("auto", [D, D], (), MediaType.DOCKER_LIST),
    ("auto", [D, OCI], (), MediaType.OCI_INDEX),
    ("auto", [D, D], (("k", "v"),), MediaType.OCI_INDEX),
    ("oci", [D, D], (), MediaType.OCI_INDEX),
    ("docker", [D, D], (), MediaType.DOCKER_LIST),
], ids=["all-docker", "mixed", "annotations-force-oci", "oci-asked", "docker-asked"])
def test_media_type_choice(fmt, children, annotations, want):
    cs = [cand(f"c{i}", mt, config=p) for i, (mt, p) in enumerate(zip(children, ["linux/amd64", "linux/arm64"]))]
    index = compose(cs, fmt, annotations)
    assert index.media_type == want
    assert dict(index.annotations) == (dict(annotations) if want == MediaType.OCI_INDEX else {})
    assert [m.media_type for m in index.manifests] == children


def test_docker_format_refuses_oci_children_and_annotations():
    with pytest.raises(CompositionError, match="Docker manifest list may only hold"):
        compose([cand("a", OCI, config="linux/amd64")], "docker")
    with pytest.raises(InputError, match="needs an OCI index"):
        compose([cand("a", D, config="linux/amd64")], "docker", (("k", "v"),))


def test_declared_platform_checked_against_config():
    with pytest.raises(CompositionError, match="declared linux/arm64 but the image config says linux/amd64"):
        compose([cand("a", declared="linux/arm64", config="linux/amd64")])
    index = compose([cand("a", declared="linux/arm64", config="linux/amd64")], verify_platform=False)
    assert str(index.manifests[0].platform) == "linux/arm64"
    index = compose([cand("w", declared="windows/amd64", config="windows(10.0.20348.1)/amd64")])
    assert str(index.manifests[0].platform) == "windows(10.0.20348.1)/amd64"


def test_duplicate_platform_is_an_error_naming_both():
    with pytest.raises(CompositionError, match=r"two images for linux/arm64(/v8)?: src-a and src-b"):
        compose([cand("a", config="linux/arm64/v8"), cand("b", config="linux/arm64")])


def test_two_windows_versions_are_distinct_platforms():
    index = compose([cand("a", config="windows(10.0.17763.6054)/amd64"),
                     cand("b", config="windows(10.0.20348.2582)/amd64")])
    assert [m.platform.os_version for m in index.manifests] == ["10.0.17763.6054", "10.0.20348.2582"]


def test_flatten_keeps_attestations_of_kept_images_only():
    amd, arm = desc("amd", OCI, "linux/amd64"), desc("arm", OCI, "linux/arm64/v8")
    entries = (amd, arm, attestation(amd), attestation(arm))
    images, atts = flatten(entries, (Platform.parse("linux/amd64"),), "src")
    assert images == [amd] and list(atts) == [str(amd.digest)]
    images, atts = flatten(entries, (), "src")
    assert images == [amd, arm] and len(atts) == 2
    with pytest.raises(CompositionError, match="no image for linux/s390x"):
        flatten(entries, (Platform.parse("linux/s390x"),), "src")


def test_attestations_follow_images_in_image_order():
    amd, arm = desc("amd", OCI), desc("arm", OCI)
    cs = [Candidate(arm, "b", config=Platform.parse("linux/arm64")), Candidate(
        amd, "a", config=Platform.parse("linux/amd64"), attestations=(attestation(amd),))]
    cs[0] = Candidate(arm, "b", config=Platform.parse("linux/arm64"), attestations=(attestation(arm),))
    index = compose(cs)
    kinds = [(str(m.platform), m.attests) for m in index.manifests]
    assert kinds == [("linux/arm64", None), ("linux/amd64", None),
                     ("unknown/unknown", arm.digest), ("unknown/unknown", amd.digest)]
    assert index.media_type == MediaType.OCI_INDEX


def test_append_replaces_platform_and_keeps_others():
    old_amd, old_arm = desc("old-amd", D, "linux/amd64"), desc("old-arm", D, "linux/arm64")
    existing = ImageIndex(MediaType.DOCKER_LIST, (old_amd, old_arm))
    index = compose([cand("new-amd", config="linux/amd64")], existing=existing)
    assert [(str(m.platform), m.digest) for m in index.manifests] == [
        ("linux/amd64", Digest.of(b"new-amd")), ("linux/arm64", old_arm.digest)]


def test_index_bytes_parse_back():
    index = compose([cand("a", OCI, config="linux/amd64")], annotations=(("org.opencontainers.image.version", "1"),))
    again = parse_manifest(index.to_bytes(), None, "x")
    assert again == index
    assert json.loads(index.to_bytes())["schemaVersion"] == 2


@pytest.mark.parametrize("body,needle", [
    (b"not json", "not JSON"), (b"[]", "not a JSON object"), (b'{"schemaVersion": 1}', "schema 1"),
    (b'{"mediaType": "application/x"}', "unsupported manifest media type"),
    (json.dumps({"mediaType": MediaType.OCI_INDEX, "manifests": [{"digest": "nope"}]}).encode(), "malformed"),
    (json.dumps({"mediaType": MediaType.OCI_MANIFEST}).encode(), "lacks config"),
], ids=["not-json", "array", "schema1", "unknown-type", "bad-descriptor", "no-config"])
def test_parse_manifest_rejects(body, needle):
    with pytest.raises(CompositionError, match=needle):
        parse_manifest(body, None, "x")
