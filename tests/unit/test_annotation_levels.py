"""Annotations as `docker buildx imagetools create --annotation` and docker/metadata-action write them (pure):
the index and manifest-descriptor levels are read, the levels that would rewrite the children are refused,
and compose puts entry annotations on the entries (keeping what a source index's entries carried)."""
from __future__ import annotations

import pytest

from multiarch_ci.core.compose import Candidate, compose, compose_update
from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import CompositionError, InputError
from multiarch_ci.core.model import Descriptor, ImageIndex, MediaType
from multiarch_ci.core.plan import EntryAnnotation
from multiarch_ci.core.platform import Platform
from multiarch_ci.core.update import media_type_note
from multiarch_ci.sources.forms import parse_annotations

T = "org.opencontainers.image.title"
ARM = Platform.parse("linux/arm64")


@pytest.mark.parametrize("items, index, entries", [
    pytest.param([f"index:{T}=x"], ((T, "x"),), (), id="index-level"),
    pytest.param([f"{T}=x"], ((T, "x"),), (), id="no-level-is-index"),
    pytest.param([f"manifest-descriptor:{T}=x"], (), (EntryAnnotation(T, "x"),), id="descriptor"),
    pytest.param([f"manifest-descriptor[linux/arm64]:{T}=x"], (), (EntryAnnotation(T, "x", ARM),),
                 id="descriptor-one-platform"),
    pytest.param([f"index,manifest-descriptor:{T}=x, y"], ((T, "x, y"),), (EntryAnnotation(T, "x, y"),),
                 id="two-levels-value-with-comma"),
    pytest.param(["com.example:part=1"], (("com.example:part", "1"),), (), id="colon-in-a-plain-key"),
    pytest.param(["index:a:b=1"], (("a:b", "1"),), (), id="colon-after-the-level"),
    pytest.param([f"manifest-descriptor[linux/amd64]:{T}=a", f"manifest-descriptor[linux/arm64]:{T}=b"], (),
                 (EntryAnnotation(T, "a", Platform.parse("linux/amd64")), EntryAnnotation(T, "b", ARM)),
                 id="one-key-per-platform"),
])
def test_levels_are_read_as_buildx_writes_them(items, index, entries):
    assert parse_annotations(items) == (index, entries)


@pytest.mark.parametrize("item, words", [
    pytest.param(f"manifest:{T}=x", ["manifest level", "change the children's digests",
                                     "DOCKER_METADATA_ANNOTATIONS_LEVELS=index"], id="manifest"),
    pytest.param(f"manifest[linux/arm64]:{T}=x", ["manifest level", "DOCKER_METADATA_ANNOTATIONS_LEVELS=index"],
                 id="manifest-one-platform"),
    pytest.param(f"index,manifest:{T}=x", ["manifest level"], id="manifest-among-levels"),
    pytest.param(f"index-descriptor:{T}=x", ["index-descriptor level"], id="index-descriptor"),
    pytest.param(f"index[linux/arm64]:{T}=x", ["index level takes no platform"], id="index-with-platform"),
    pytest.param(f"manifest-descritpor:{T}=x", ["unknown level 'manifest-descritpor'"], id="typo"),
    pytest.param(f"manifest-descriptor[linux]:{T}=x", ["invalid platform 'linux'"], id="bad-platform"),
    pytest.param(f"manifest-descriptor:{T}", ["expected [LEVEL:]KEY=VALUE"], id="no-value"),
    pytest.param(f"index:{T}=1", None, id="dup-across-spellings"),
])
def test_levels_that_cannot_be_honoured_are_refused(item, words):
    items = [item] if words is not None else [f"{T}=0", item]
    with pytest.raises(InputError) as e:
        parse_annotations(items)
    text = str(e.value)
    for word in words or [f"annotation {T!r} given twice"]:
        assert word in text, text


def _desc(n: int, media_type: str = MediaType.OCI_MANIFEST, platform: str | None = None, **notes) -> Descriptor:
    return Descriptor(media_type, Digest("sha256", f"{n:064x}"), 100 + n,
                      Platform.parse(platform) if platform else None, tuple(notes.items()))


def test_entry_annotations_go_on_every_entry_or_one_platforms():
    amd = Candidate(_desc(1), "amd", Platform.parse("linux/amd64"))
    arm = Candidate(_desc(2, **{"org.example.kept": "yes", T: "old"}), "arm", ARM)   # from a source index entry
    index = compose_update([amd, arm],
                           entry_annotations=(EntryAnnotation(T, "all"), EntryAnnotation("k", "arm", ARM)))[0]
    assert index.media_type == MediaType.OCI_INDEX
    assert [dict(d.annotations) for d in index.manifests] == [
        {T: "all"}, {"org.example.kept": "yes", T: "all", "k": "arm"}]


def test_a_source_entrys_annotations_are_kept_and_make_auto_choose_oci():
    docker = Candidate(_desc(1, MediaType.DOCKER_MANIFEST, **{"org.example.leg": "amd"}), "src",
                       Platform.parse("linux/amd64"))
    index = compose([docker])
    assert index.media_type == MediaType.OCI_INDEX   # a Docker list cannot carry them: auto keeps them
    assert dict(index.manifests[0].annotations) == {"org.example.leg": "amd"}
    with pytest.raises(CompositionError, match=r"carries annotations .*org\.example\.leg.*Docker manifest list"):
        compose([docker], fmt="docker")


def test_an_entry_annotation_for_a_platform_the_index_lacks_is_an_error():
    amd = Candidate(_desc(1), "amd", Platform.parse("linux/amd64"))
    with pytest.raises(CompositionError, match=r"manifest-descriptor\[linux/arm64\]:k: the index holds no "):
        compose_update([amd], entry_annotations=(EntryAnnotation("k", "v", ARM),))


def test_append_of_an_oci_image_onto_a_docker_list_is_said_in_words():
    old = ImageIndex(MediaType.DOCKER_LIST, (_desc(1, MediaType.DOCKER_MANIFEST, "linux/amd64"),))
    new, _ = compose_update([Candidate(_desc(2), "arm", ARM)], existing=old)
    assert new.media_type == MediaType.OCI_INDEX
    note = media_type_note(old, new)
    assert note and note.startswith("was Docker manifest list, is now OCI image index: ") \
        and f"{_desc(2).digest.short} (linux/arm64) is {MediaType.OCI_MANIFEST}" in note, note
    assert media_type_note(old, old) is None and media_type_note(None, new) is None
