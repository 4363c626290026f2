"""Artifacts pushed as an independent client would (oras attach, notation, syft, cosign): plain requests.

An OCI 1.1 artifact manifest with `subject` + `artifactType` (pushed by digest), the referrers tag schema
index (`sha256-<hex>`) a pusher writes where the registry has no API, and cosign's `sha256-<hex>.sig`.
"""
from __future__ import annotations

import mm_images

SIG = "application/vnd.example.signature.v1"
SBOM = "application/spdx+json"
COSIGN_LAYER = "application/vnd.dev.cosign.simplesigning.v1+json"
EMPTY = "application/vnd.oci.empty.v1+json"


def push_artifact(reg, repo: str, subject: dict, artifact_type: str, payload: bytes, **notes) -> dict:
    """An artifact manifest referring to `subject` (a mm_images.push_image result), pushed by digest."""
    c = mm_images.client(reg)
    manifest = {"schemaVersion": 2, "mediaType": mm_images.OCI_MANIFEST, "artifactType": artifact_type,
                "config": {"mediaType": EMPTY, "digest": c.push_blob(repo, b"{}"), "size": 2},
                "layers": [{"mediaType": artifact_type, "digest": c.push_blob(repo, payload), "size": len(payload)}],
                "subject": {"mediaType": subject["media_type"], "digest": subject["digest"], "size": subject["size"]}}
    if notes:
        manifest["annotations"] = notes
    body = mm_images.canonical_json(manifest)
    digest = c.push_manifest(repo, body, mm_images.OCI_MANIFEST, None)
    entry = {"mediaType": mm_images.OCI_MANIFEST, "digest": digest, "size": len(body), "artifactType": artifact_type}
    if notes:
        entry["annotations"] = notes
    return {"digest": digest, "body": body, "entry": entry, "payload": manifest["layers"][0]["digest"]}


def push_tag_index(reg, repo: str, subject: dict, entries: list[dict]) -> None:
    """The `sha256-<hex>` tag listing the referrers (a registry without the referrers API)."""
    body = mm_images.canonical_json({"schemaVersion": 2, "mediaType": mm_images.OCI_INDEX, "manifests": entries})
    mm_images.put_raw_manifest(reg, repo, subject["digest"].replace(":", "-"), body, mm_images.OCI_INDEX)


def push_cosign_signature(reg, repo: str, subject: dict, note: str = "MEUCIQ-not-a-real-signature") -> dict:
    """cosign's layout: a simplesigning layer with the signature annotation, tagged sha256-<hex>.sig."""
    c = mm_images.client(reg)
    payload = mm_images.canonical_json({"critical": {"image": {"docker-manifest-digest": subject["digest"]}}})
    config = mm_images.canonical_json({"architecture": "", "os": "", "config": {}, "rootfs": {"type": "layers"}})
    body = mm_images.canonical_json({
        "schemaVersion": 2, "mediaType": mm_images.OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": c.push_blob(repo, config),
                   "size": len(config)},
        "layers": [{"mediaType": COSIGN_LAYER, "digest": c.push_blob(repo, payload), "size": len(payload),
                    "annotations": {"dev.cosignproject.cosign/signature": note}}]})
    tag = subject["digest"].replace(":", "-") + ".sig"
    return {"digest": c.push_manifest(repo, body, mm_images.OCI_MANIFEST, tag), "tag": tag, "size": len(body),
            "payload": mm_images.sha256_digest(payload)}


def sign(reg, repo: str, image: dict) -> dict:
    """A signature and an SBOM listed under the tag schema, and a cosign signature: what a release has."""
    sig = push_artifact(reg, repo, image, SIG, b"signature of " + image["digest"].encode(), created="2026-11-28")
    sbom = push_artifact(reg, repo, image, SBOM, b'{"spdxVersion":"SPDX-2.3","name":"' + repo.encode() + b'"}')
    push_tag_index(reg, repo, image, [sig["entry"], sbom["entry"]])
    return {"sig": sig, "sbom": sbom, "cosign": push_cosign_signature(reg, repo, image)}
