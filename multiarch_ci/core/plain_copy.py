"""When a push is a copy (pure): one index given alone, nothing asked to change -> its own bytes go out.

A copy keeps the source's digest, so signatures and attestations made on the source index stay valid in
every target (promotion from staging to production). Anything asked to change (a platform filter,
annotations, another format, --append or --remove) recomposes the index, and its digest differs:
`recompose_reason` says why, for the one note the run prints.
"""
from __future__ import annotations

from collections.abc import Iterable

from multiarch_ci.core.model import ImageIndex, MediaType
from multiarch_ci.core.options import Options
from multiarch_ci.core.plan import PushPlan

FORMAT_OF = {"docker": MediaType.DOCKER_LIST, "oci": MediaType.OCI_INDEX}


def recompose_reason(plan: PushPlan, options: Options, source: ImageIndex, kept: Iterable[str],
                     fmt: str | None = None) -> str | None:
    """None when the one source, the index `source`, can be pushed byte for byte; else what asks for a new
    index, in words. `kept`: the digests of the children the run copies (each image and its attestations);
    `options` as given; `fmt` the format the target writes (an OCI layout: oci for auto), else options.fmt."""
    spec = plan.sources[0]
    why = []
    if plan.annotations:
        why.append("--annotation adds index annotations")
    if plan.entry_annotations:
        why.append("--annotation manifest-descriptor: adds entry annotations")
    if spec.platform_filter:
        why.append(f"--platform-filter {','.join(map(str, spec.platform_filter))} keeps only those platforms")
    if spec.platform:
        why.append(f"the platform given for the source ({spec.platform}) keeps only that platform")
    if options.append:
        why.append("--append updates the index the tag holds")
    if options.remove:
        why.append("--remove drops platforms")
    if options.attestations == "referrers" and any(d.is_attestation for d in source.manifests):
        why.append("--attestations referrers moves the attestations out of the index")
    wanted = FORMAT_OF.get(fmt or options.fmt)
    if wanted and wanted != source.media_type:
        why.append(f"--format {options.fmt} asks for another format than the source's {source.kind}"
                   if options.fmt != "auto" else f"{plan.target} holds OCI image indexes only, not the source's "
                   f"{source.kind}")
    if not why:
        copied = set(kept)
        left = [d for d in source.manifests if str(d.digest) not in copied]
        if left:
            why.append(f"{len(left)} of its entries would not be copied: attestations of no image in it")
    return " and ".join(why) or None


def oci_holding_docker(index: ImageIndex) -> bool:
    """An OCI index whose entries include Docker manifests (what Quay before 3.8 refuses as it is)."""
    return index.media_type == MediaType.OCI_INDEX and any(d.media_type == MediaType.DOCKER_MANIFEST
                                                           for d in index.manifests)
