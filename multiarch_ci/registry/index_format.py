"""Registries that refuse an OCI index holding Docker manifests (Quay before quay/quay#1649).

Quay answers ``400 MANIFEST_INVALID`` ("manifest data does not match schema:
'application/vnd.docker.distribution.manifest.v2+json' is not one of [...]", openshift/oc-mirror#253).
With ``--format auto`` and only Docker children, the same children go out again as a Docker manifest
list, as buildah does (containers/buildah#3550); otherwise the error names the mixed children and the
``--format`` that would work.
"""
from __future__ import annotations

from collections.abc import Callable

from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import RegistryError
from multiarch_ci.core.model import ImageIndex, MediaType
from multiarch_ci.core.plain_copy import oci_holding_docker
from multiarch_ci.core.reference import ImageRef


def refuses_oci_with_docker_children(index: ImageIndex, err: RegistryError) -> bool:
    """Was this the refusal of an OCI index because it holds Docker manifests?"""
    return err.code == "MANIFEST_INVALID" and oci_holding_docker(index)


def docker_list_fallback(index: ImageIndex, err: RegistryError, fmt: str) -> ImageIndex:
    """The Docker list to try instead, or `err` re-raised with a hint naming what to change (pure)."""
    if not refuses_oci_with_docker_children(index, err):
        raise err
    odd = [d for d in index.manifests if d.media_type != MediaType.DOCKER_MANIFEST]
    if fmt == "auto" and not odd:
        return ImageIndex(MediaType.DOCKER_LIST, index.manifests)
    docker = [d for d in index.manifests if d.media_type == MediaType.DOCKER_MANIFEST]
    if odd:
        hint = (f"the registry (e.g. Quay before 3.8) refuses an OCI index holding Docker manifests, and this one "
                f"mixes Docker ({', '.join(d.digest.short for d in docker)}) with OCI "
                f"({', '.join(d.digest.short for d in odd)}); rebuild the sources in one format (buildx "
                "--output oci-mediatypes=true, or without attestations) or upgrade the registry")
    else:
        hint = ("the registry (e.g. Quay before 3.8) refuses an OCI index holding Docker manifests: use "
                "--format auto or docker (a Docker manifest list; --annotation needs OCI)")
    raise RegistryError(err.message, hint, status=err.status, code=err.code, ref=err.ref, kind=err.kind)


def put_index(client, target: ImageRef, index: ImageIndex, fmt: str, log: Callable[[str], None]) -> ImageIndex:
    """PUT the index by digest; on a refusal above, PUT the Docker list instead. Returns what was stored."""
    try:
        put_by_digest(client, target, index)
        return index
    except RegistryError as e:
        fallback, code = docker_list_fallback(index, e, fmt), e.code
    dropped = f", dropping {len(index.annotations)} annotation(s)" if index.annotations else ""
    log(f"warning: {target.name} refused the OCI index ({code}); pushing a Docker manifest list instead{dropped}")
    put_by_digest(client, target, fallback)
    return fallback


def put_by_digest(client, target: ImageRef, index: ImageIndex) -> None:
    """Rule 1: serialise once, PUT those bytes under the digest of those same bytes."""
    body = index.to_bytes()
    client.put_manifest(target, str(Digest.of(body)), body, index.media_type)
