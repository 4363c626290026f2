"""Attestations as referrers (pure): buildx's attestation manifests rewritten as OCI 1.1 referrers of their images.

buildx attaches provenance and SBOMs as index entries of platform `unknown/unknown` annotated
`vnd.docker.reference.type: attestation-manifest` and `vnd.docker.reference.digest: <image>`; registry UIs
and some clients show them as a platform. With `--attestations referrers` each one becomes a manifest of its
own with a `subject` naming its image, the form BuildKit writes with its `oci-artifact=true` exporter option
and buildx's imagetools looks for among an image's referrers: `artifactType`
`application/vnd.docker.attestation.manifest.v1+json`, the OCI empty config, the layers (the in-toto
statements, with their `in-toto.io/predicate-type` annotations) and the manifest's annotations unchanged.
Same input, same bytes: reruns write the same digests.
"""
from __future__ import annotations

import json

from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import CompositionError, InputError, setting
from multiarch_ci.core.model import Descriptor, MediaType

TYPE_CHECKING = False   # not typing's: typing is not worth its import at every start
if TYPE_CHECKING:
    from typing import Any

MODES = ("keep", "referrers")    # --attestations: keep them in the index (buildx's form), or write referrers
ARTIFACT_TYPE = "application/vnd.docker.attestation.manifest.v1+json"   # BuildKit's, for its attestation manifests
EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY_BLOB = b"{}"
EMPTY_DIGEST = Digest.of(EMPTY_BLOB)


def as_referrer(attestation: bytes, subject: Descriptor, where: str) -> bytes:
    """The attestation manifest as a referrer of `subject` (the image as pushed: media type, digest, size).

    One that is a referrer of that image already (an OCI manifest with an artifactType and that subject:
    BuildKit's oci-artifact form) is returned as it is, so its digest is kept; any other is rewritten,
    and its digest differs from the attestation's (a subject is added, the config replaced)."""
    try:
        doc = json.loads(attestation)
        layers = doc["layers"]
        notes = doc.get("annotations")
    except (ValueError, UnicodeDecodeError, RecursionError, KeyError, TypeError) as e:
        raise CompositionError(f"{where}: attestation manifest cannot be read ({e})") from None
    if not isinstance(layers, list) or not (notes is None or isinstance(notes, dict)):
        raise CompositionError(f"{where}: attestation manifest has no list of layers")
    named = doc.get("subject")
    if (doc.get("mediaType") == MediaType.OCI_MANIFEST and doc.get("artifactType")
            and isinstance(named, dict) and named.get("digest") == str(subject.digest)):
        return attestation
    out: dict[str, Any] = {"schemaVersion": 2, "mediaType": MediaType.OCI_MANIFEST, "artifactType": ARTIFACT_TYPE,
                 "config": {"mediaType": EMPTY_MEDIA_TYPE, "digest": str(EMPTY_DIGEST), "size": len(EMPTY_BLOB)},
                 "layers": layers,
                 "subject": {"mediaType": subject.media_type, "digest": str(subject.digest), "size": subject.size}}
    if notes:
        out["annotations"] = notes
    return json.dumps(out, indent=2).encode() + b"\n"


def refuse_target(target: str) -> InputError:
    """--attestations referrers with a target that takes no referrers (an OCI layout, for now): bad input,
    since the attestations would be dropped."""
    return InputError(f"{setting('attestations')} referrers: {target} takes no referrers (an OCI layout target "
                      "holds none yet), so its attestations would be dropped",
                      f"use {setting('attestations')} keep (the default) with a layout target")
