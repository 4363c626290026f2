"""How to read a cross-repository mount answer (POST /blobs/uploads/?mount=&from=).

Spec: https://github.com/opencontainers/distribution-spec/blob/main/spec.md#mounting-a-blob-from-another-repository
- 201: mounted (a missing Location does not matter: the blob is there);
- 202 with Location: the registry opened an upload session instead (Amazon ECR does this when no
  manifest in the source references the blob, aws/containers-roadmap#2860; registries without
  mount support do it always): upload into that same session, no extra round trip;
- 202 without Location, 401/403/404 (no pull on the source), 405/501 (no mount support at all):
  start a plain upload.
"""
from __future__ import annotations

MOUNTED, SESSION, UPLOAD, ERROR = "mounted", "session", "upload", "error"


def mount_outcome(status: int, location: str | None) -> str:
    if status == 201:
        return MOUNTED
    if status == 202:
        return SESSION if location else UPLOAD
    if status in (401, 403, 404, 405, 501):
        return UPLOAD
    return ERROR
