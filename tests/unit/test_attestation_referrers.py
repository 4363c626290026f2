"""Attestations as referrers, pure: a buildx attestation manifest rewritten as a referrer of its image."""
import json

import pytest

from multiarch_ci.core.attestations import ARTIFACT_TYPE, EMPTY_DIGEST, EMPTY_MEDIA_TYPE, as_referrer
from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import CompositionError
from multiarch_ci.core.model import Descriptor, MediaType
from multiarch_ci.core.referrers import describe_manifest, subject_of

IMAGE = Descriptor(MediaType.OCI_MANIFEST, Digest("sha256", "a" * 64), 401)
OTHER = Digest("sha256", "b" * 64)
LAYERS = [{"mediaType": "application/vnd.in-toto+json", "digest": "sha256:" + "c" * 64, "size": 287,
           "annotations": {"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"}},
          {"mediaType": "application/vnd.in-toto+json", "digest": "sha256:" + "d" * 64, "size": 1290,
           "annotations": {"in-toto.io/predicate-type": "https://spdx.dev/Document"}, "urls": ["kept/as/is"]}]
BUILDX = {"schemaVersion": 2, "mediaType": MediaType.OCI_MANIFEST,
          "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + "e" * 64,
                     "size": 240}, "layers": LAYERS}
OCI_ARTIFACT = {"schemaVersion": 2, "mediaType": MediaType.OCI_MANIFEST, "artifactType": ARTIFACT_TYPE,
                "config": {"mediaType": EMPTY_MEDIA_TYPE, "digest": str(EMPTY_DIGEST), "size": 2, "data": "e30="},
                "layers": LAYERS, "subject": {"mediaType": IMAGE.media_type, "digest": str(IMAGE.digest),
                                              "size": IMAGE.size}}


def body(doc: dict) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


REWRITTEN = [
    ("buildx-legacy", BUILDX, {}),
    ("manifest-annotations-kept", {**BUILDX, "annotations": {"org.example/built": "2026-12-01"}},
     {"org.example/built": "2026-12-01"}),
    ("subject-of-another-image", {**OCI_ARTIFACT, "subject": {**OCI_ARTIFACT["subject"], "digest": str(OTHER)}}, {}),
    ("no-artifact-type", {k: v for k, v in OCI_ARTIFACT.items() if k != "artifactType"}, {}),
]


@pytest.mark.parametrize("doc,notes", [r[1:] for r in REWRITTEN], ids=[r[0] for r in REWRITTEN])
def test_rewritten_as_a_referrer_of_its_image(doc, notes):
    out = as_referrer(body(doc), IMAGE, "src@att")
    got = json.loads(out)
    assert got["subject"] == {"mediaType": IMAGE.media_type, "digest": str(IMAGE.digest), "size": IMAGE.size}
    assert got["artifactType"] == ARTIFACT_TYPE and got["mediaType"] == MediaType.OCI_MANIFEST
    assert got["config"] == {"mediaType": EMPTY_MEDIA_TYPE, "digest": str(EMPTY_DIGEST), "size": 2}
    assert got["layers"] == doc["layers"]   # the statements unchanged, every field of their descriptors too
    assert got.get("annotations", {}) == notes
    assert out == as_referrer(body(doc), IMAGE, "src@att")   # same input, same bytes: reruns converge
    assert subject_of(out) == IMAGE.digest
    listed = describe_manifest(out, MediaType.OCI_MANIFEST)
    assert listed.artifact_type == ARTIFACT_TYPE and listed.digest == Digest.of(out) != Digest.of(body(doc))


def test_buildkit_oci_artifact_form_is_kept_byte_for_byte():
    original = body(OCI_ARTIFACT)
    assert as_referrer(original, IMAGE, "src@att") == original


BROKEN = [("not-json", b"{"), ("no-layers", body({"schemaVersion": 2, "mediaType": MediaType.OCI_MANIFEST})),
          ("layers-not-a-list", body({**BUILDX, "layers": {}})),
          ("annotations-not-an-object", body({**BUILDX, "annotations": []}))]


@pytest.mark.parametrize("raw", [b[1] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_an_unreadable_attestation_is_a_composition_error(raw):
    with pytest.raises(CompositionError, match="src@att: attestation manifest"):
        as_referrer(raw, IMAGE, "src@att")
