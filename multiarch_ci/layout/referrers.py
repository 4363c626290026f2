"""What refers to an image inside an OCI layout, read like a registry's listing, and written the same way.

A layout has no referrers API. The image-spec's layout (image-layout.md) lets index.json list "auxiliary
descriptors" beside the tagged ones, and that is where tools put referrers: skopeo copying an artifact,
`oras attach --oci-layout` and oras-go's OCI store (an untagged index.json entry per referrer manifest).
The alternative, the referrers tag schema (`sha256-<hex>` tagged in the layout), fills the layout's tag
namespace (every tag lister, skopeo's included, shows one per signed image) and was left to registries
without an API; the proposal for referrers in layouts (image-spec PR 1171, not merged) moves away from it
too. So a layout target gets one untagged index.json entry per referrer copied into it (`write_listed`),
cosign's `sha256-<hex>.sig/.att/.sbom` stay tags (they are the scheme's own pointers), and a layout
source is read the same way: every image-manifest entry whose manifest names the subject, plus the
cosign tags, plus a `sha256-<hex>` tag index where another tool wrote one.

Reading is linear: index.json is parsed once and each entry's manifest read once, at the first question;
every later subject is a dictionary lookup (a layout of 4,000 entries took over a minute when each child
re-read index.json for each entry).
"""
from __future__ import annotations

import threading
from collections import defaultdict

from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import CompositionError, InputError
from multiarch_ci.core.location import LayoutRef
from multiarch_ci.core.model import MediaType
from multiarch_ci.core.referrers import (
    Referrer,
    cosign_tags,
    describe_manifest,
    merge,
    parse_referrers,
    referrers_tag,
    subject_of,
)
from multiarch_ci.layout import index as ix

MAX_ENTRIES = 4096   # index.json entries read in search of referrers (a layout is not a registry)


class LayoutReferrers:
    """The referrers a layout lists, by subject; built once from its index.json (see the module's note)."""

    def __init__(self, layout, ref: LayoutRef):
        self.layout, self.ref = layout, ref.with_tag(None)
        self._by_subject: dict[Digest, list[Referrer]] | None = None
        self._tags: set[str] = set()
        self._lock = threading.Lock()

    def _build(self) -> dict[Digest, list[Referrer]]:
        with self._lock:
            if self._by_subject is not None:
                return self._by_subject
            entries = self.layout.entries()
            self._tags = {t for e in entries for t in ix.entry_tags(e)}
            found: dict[Digest, list[Referrer]] = defaultdict(list)
            for entry in entries[:MAX_ENTRIES]:
                if entry.get("mediaType") != MediaType.OCI_MANIFEST:
                    continue
                try:
                    digest = Digest.parse(entry["digest"])
                    fetched = self.layout.read_manifest(self.ref.with_digest(digest), digest, ix.descriptor(entry))
                except (InputError, CompositionError, KeyError, TypeError):
                    continue   # not readable as a manifest: not a referrer of anything
                subject = subject_of(fetched.body)
                if subject is not None and subject != fetched.digest:
                    found[subject].append(describe_manifest(fetched.body, fetched.media_type))
            self._by_subject = dict(found)
            return self._by_subject

    def of(self, subject: Digest) -> list[Referrer]:
        """The referrers of `subject`: listed entries, a `sha256-<hex>` tag index, cosign's tags."""
        found = self._build().get(subject, [])
        schema = []
        if referrers_tag(subject) in self._tags:
            try:
                body = self.layout.get_manifest(self.ref.with_digest(None).with_tag(referrers_tag(subject))).body
                schema = parse_referrers(body, f"{self.layout.path}:{referrers_tag(subject)}")
            except (InputError, CompositionError):
                schema = []   # not an index: the spec says to assume there are none
        tagged = []
        for tag in cosign_tags(subject):
            if tag in self._tags:
                desc = self.layout.head_manifest(self.ref.with_digest(None).with_tag(tag))
                if desc is not None:
                    tagged.append(Referrer(desc.media_type, desc.digest, desc.size, None, (), tag))
        return merge(found, schema, tagged)


def write_listed(layout, ref: LayoutRef, subject: Digest, copied: list[Referrer]) -> int:
    """List referrers copied into a layout target (`layout`: its WritableLayout) as untagged index.json
    entries, described from their manifests as stored (verified); a cosign-tagged one is found by its tag.
    How many entries were added (0 when all were listed already)."""
    listed = []
    for r in copied:
        if r.tag is not None:
            continue
        fetched = layout.get_manifest(ref.with_digest(r.digest))
        if subject_of(fetched.body) != subject:
            continue
        entry = describe_manifest(fetched.body, fetched.media_type).to_dict()
        notes = {k: v for k, v in (entry.get("annotations") or {}).items()
                 if k not in (ix.REF_NAME, ix.CONTAINERD_NAME)}
        if notes:
            entry["annotations"] = notes
        else:
            entry.pop("annotations", None)
        listed.append(entry)
    return layout.list_entries(listed) if listed else 0
