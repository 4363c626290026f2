"""Referrers, pure: the tag schema's names, cosign's tags, parsing, merging, and the fallback index."""
import json

import pytest

from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import CompositionError
from multiarch_ci.core.referrers import (
    Referrer,
    cosign_tags,
    describe_manifest,
    fallback_index,
    merge,
    next_link,
    only_type,
    parse_referrers,
    referrers_tag,
    subject_of,
)

A, B, C = (Digest("sha256", ch * 64) for ch in "abc")
SIG = "application/vnd.example.signature.v1"
SBOM = "application/spdx+json"


def test_tag_schema_names():
    assert referrers_tag(A) == "sha256-" + "a" * 64
    assert referrers_tag(Digest("sha512", "f" * 128)) == "sha512-" + "f" * 64     # encoded truncated to 64
    assert cosign_tags(A) == tuple(f"sha256-{'a' * 64}{s}" for s in (".sig", ".att", ".sbom"))


def test_spec_example_with_separators_and_truncation():
    """The distribution-spec's own example: '+' and '=' become '-', algorithm cut at 32, encoded at 64."""
    odd = Digest.__new__(Digest)
    object.__setattr__(odd, "algorithm", "test+algorithm+using+algorithm+separators+and+lots+of+characters+to+"
                                         "excercise+overall+truncation")
    object.__setattr__(odd, "hex", "alsoSome=InTheEncodedSectionToShowHyphenReplacementAndLotsAndLotsOfCharacters"
                                   "ToExcerciseEncodedTruncation")
    assert referrers_tag(odd) == ("test-algorithm-using-algorithm-s-alsoSome-InTheEncodedSectionToShow"
                                  "HyphenReplacementAndLotsAndLot")


def _index(*entries) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                       "manifests": list(entries)}).encode()


def _entry(d: Digest, art=None, **notes) -> dict:
    e = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": str(d), "size": 100}
    if art:
        e["artifactType"] = art
    if notes:
        e["annotations"] = notes
    return e


def test_parse_keeps_artifact_type_and_annotations():
    found = parse_referrers(_index(_entry(A, SIG, created="2026"), _entry(B)), "here")
    assert found == [Referrer("application/vnd.oci.image.manifest.v1+json", A, 100, SIG, (("created", "2026"),)),
                     Referrer("application/vnd.oci.image.manifest.v1+json", B, 100)]
    assert found[0].to_dict() == _entry(A, SIG, created="2026")
    assert parse_referrers(_index(), "here") == []


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"manifests": {}}', _index("x"),
                                  _index({"digest": "sha256:zz", "size": 1, "mediaType": "m"}),
                                  json.dumps({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                              "manifests": []}).encode()],
                         ids=["not-json", "list", "manifests-object", "string-entry", "bad-digest", "not-index"])
def test_malformed_lists_are_composition_errors(body):
    with pytest.raises(CompositionError, match="here"):
        parse_referrers(body, "here")


def test_merge_dedupes_and_keeps_the_cosign_tag_and_artifact_type():
    api = [Referrer("m", A, 1, SIG), Referrer("m", B, 2, SBOM)]
    tags = [Referrer("m", A, 1, None, (), "sha256-x.sig"), Referrer("m", C, 3, None, (), "sha256-x.att")]
    merged = merge(api, tags, api)
    assert [r.digest for r in merged] == [A, B, C]
    assert merged[0].tag == "sha256-x.sig" and merged[0].artifact_type == SIG
    assert merge(tags, api)[0].artifact_type == SIG
    assert only_type(merged, SBOM) == [api[1]] and only_type(merged, None) == merged


def test_fallback_index_is_deterministic_and_keeps_what_was_there():
    found = [Referrer("m", C, 3, SBOM), Referrer("m", B, 2, SIG)]
    fresh = fallback_index(None, found)
    assert fresh == fallback_index(None, list(reversed(found)))        # discovery order does not matter
    assert [e["digest"] for e in json.loads(fresh)["manifests"]] == [str(B), str(C)]
    existing = _index(_entry(C, SBOM, by="someone"))
    updated = json.loads(fallback_index(existing, found))
    assert updated["manifests"][0] == _entry(C, SBOM, by="someone")    # kept verbatim, first
    assert [e["digest"] for e in updated["manifests"]] == [str(C), str(B)]
    assert fallback_index(fallback_index(existing, found), found) is None  # nothing new: no PUT
    assert fallback_index(b"garbage", found) == fresh


def test_describe_manifest_as_the_spec_lists_it():
    with_type = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                            "artifactType": SIG, "config": {"mediaType": "application/vnd.oci.empty.v1+json"},
                            "subject": {"digest": str(A)}, "annotations": {"k": "v"}}).encode()
    r = describe_manifest(with_type, "application/vnd.oci.image.manifest.v1+json")
    assert (r.artifact_type, r.annotations, r.size, r.digest) == (SIG, (("k", "v"),), len(with_type),
                                                                   Digest.of(with_type))
    config_only = json.dumps({"config": {"mediaType": SBOM}}).encode()
    assert describe_manifest(config_only, "application/vnd.oci.image.manifest.v1+json").artifact_type == SBOM
    assert subject_of(with_type) == A and subject_of(config_only) is None and subject_of(b"{") is None


@pytest.mark.parametrize("header,url", [
    ('</v2/r/referrers/sha256:a?n=2&last=x>; rel="next"', "/v2/r/referrers/sha256:a?n=2&last=x"),
    ("<https://h/v2/next>; rel=next", "https://h/v2/next"),
    ('<https://h/prev>; rel="prev", <https://h/next>; rel="next"', "https://h/next"),
    ('<https://h/prev>; rel="prev"', None), ("", None), (None, None),
], ids=["quoted", "bare", "second", "prev-only", "empty", "none"])
def test_next_link(header, url):
    assert next_link(header) == url
