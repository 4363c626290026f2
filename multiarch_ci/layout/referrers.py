"""What refers to an image inside an OCI layout: the layout's own listing, read like a registry's.

A layout has no referrers API. Tools that put artifacts into a layout list them in `index.json` (skopeo
copying an artifact, `oras attach --oci-layout`), and cosign's tags (`sha256-<hex>.sig`, `.att`, `.sbom`)
are ordinary tags there. So: every image-manifest entry of index.json whose manifest names the subject
(each read and verified; at most MAX_ENTRIES looked at), plus the cosign tags the layout holds.
"""
from __future__ import annotations

from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import CompositionError, InputError
from multiarch_ci.core.location import LayoutRef
from multiarch_ci.core.model import MediaType
from multiarch_ci.core.referrers import Referrer, cosign_tags, describe_manifest, merge, subject_of

MAX_ENTRIES = 4096   # index.json entries read in search of referrers (a layout is not a registry)


def layout_referrers(layout, ref: LayoutRef, subject: Digest) -> list[Referrer]:
    """The referrers of `subject` in the layout `ref` names (`layout` is its reader)."""
    found: list[Referrer] = []
    tags = set(layout.list_tags())
    for entry in layout.entries()[:MAX_ENTRIES]:
        if entry.get("mediaType") != MediaType.OCI_MANIFEST or entry.get("digest") == str(subject):
            continue
        try:
            fetched = layout.get_manifest(ref.with_tag(None).with_digest(Digest.parse(entry["digest"])))
        except (InputError, CompositionError, KeyError, TypeError):
            continue   # not readable as a manifest: not a referrer of anything
        if subject_of(fetched.body) == subject:
            found.append(describe_manifest(fetched.body, fetched.media_type))
    tagged = []
    for tag in cosign_tags(subject):
        if tag in tags:
            desc = layout.head_manifest(ref.with_digest(None).with_tag(tag))
            if desc is not None:
                tagged.append(Referrer(desc.media_type, desc.digest, desc.size, None, (), tag))
    return merge(found, tagged)
