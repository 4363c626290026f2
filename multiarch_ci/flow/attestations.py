"""--attestations referrers: each attestation manifest of a source index is written as an OCI referrer of its
image (core/attestations.py builds it) and the composed index holds the platform images only.

In each source's chain, right after it is resolved, `detach` takes the attestations off the candidates and
the children, and makes one referrer per attestation (`Attached`). After the chain has copied its children
(so every subject is present in the targets), `write` makes each referrer present in every target: its
blobs (the statements mounted or copied from the source, the 2-byte empty config uploaded) and its manifest
PUT by digest, in the source's own repository too (a referrer there is new). Then the target lists it:
a registry with the referrers API picks it up from the `subject`; one without gets the referrers tag schema
(`sha256-<hex>`, Store.update_referrers_tag: what it listed is kept, nothing is listed twice).
These are the push's own artifacts, not copied referrers: `--referrers none` does not skip them.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

from multiarch_ci.core.attestations import EMPTY_BLOB, EMPTY_DIGEST, MODES, as_referrer, refuse_target
from multiarch_ci.core.compose import Candidate
from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import InputError, setting
from multiarch_ci.core.fetched import Fetched
from multiarch_ci.core.location import LayoutRef
from multiarch_ci.core.model import MediaType, parse_manifest
from multiarch_ci.core.options import Options
from multiarch_ci.core.reference import ImageRef
from multiarch_ci.core.referrers import Referrer, describe_manifest
from multiarch_ci.flow.children import Copier
from multiarch_ci.flow.resolve import Child

TYPE_CHECKING = False   # not typing's: typing is not worth its import here
if TYPE_CHECKING:
    from multiarch_ci.flow.store import Stores


@dataclass(frozen=True, slots=True)
class Attached:
    """One attestation written as a referrer: the image it refers to, and the referrer where it is read from."""

    subject: Child
    referrer: Child
    attestation: Digest     # the attestation manifest it came from (its digest differs when rewritten)


class AttestationReferrers:
    """The attestations of one plan, as referrers of their images in every target."""

    def __init__(self, stores: Stores, targets: tuple[ImageRef | LayoutRef, ...], stop: threading.Event,
                 log: Callable[[str], None], known: dict[str, bytes]):
        for target in targets:
            if not stores(target).takes_referrers:
                raise refuse_target(target.name)
        self.stores, self.targets, self.log = stores, targets, log
        known[str(EMPTY_DIGEST)] = EMPTY_BLOB   # the referrers' config: uploaded from here, never read
        self.copier = Copier(stores, targets, stop, log, known)   # blobs mounted or copied once per target
        self.report: list[dict] = []          # one row per referrer written (the report's `referrers`)
        self._lock = threading.Lock()

    def detach(self, candidates: list[Candidate], children: list[Child]
               ) -> tuple[list[Candidate], list[Child], tuple[Attached, ...]]:
        """The candidates without attestations, the children without the attestation manifests, and a
        referrer for each of those (pure: nothing is read or written)."""
        of = {str(a.digest): str(c.descriptor.digest) for c in candidates for a in c.attestations}
        if not of:
            return candidates, children, ()
        images = {str(c.fetched.digest): c for c in children}
        kept, attached = [], []
        for child in children:
            image = of.get(str(child.fetched.digest))
            if image is None:
                kept.append(child)
                continue
            subject = images[image]
            where = str(child.repo.with_digest(child.fetched.digest))
            body = as_referrer(child.fetched.body, subject.fetched.descriptor, where)
            digest = Digest.of(body)
            fetched = Fetched(child.repo.with_digest(digest), body, MediaType.OCI_MANIFEST, digest,
                              parse_manifest(body, MediaType.OCI_MANIFEST, where))
            attached.append(Attached(subject, Child(child.repo, fetched), child.fetched.digest))
        return [replace(c, attestations=()) for c in candidates], kept, tuple(attached)

    def write(self, attached: tuple[Attached, ...], fan_out: Callable) -> None:
        """One source's referrers in every target (their subjects are there already), then listed."""
        if not attached:
            return
        self.copier.copy([a.referrer for a in attached], fan_out)   # targets other than the source repository
        fan_out(self._in_place, [(a, t) for a in attached for t in self.targets if a.referrer.repo.in_repository(t)])
        by_subject: dict[str, list[Attached]] = {}
        for a in attached:
            by_subject.setdefault(str(a.subject.fetched.digest), []).append(a)
        for group in by_subject.values():
            listed = [describe_manifest(a.referrer.fetched.body, MediaType.OCI_MANIFEST) for a in group]
            for target in self.targets:
                self.copier.check()
                self.stores(target).update_referrers_tag(target, group[0].subject.fetched.digest, listed)
        rows = [_row(a, listed, self.targets) for a, listed in
                ((a, describe_manifest(a.referrer.fetched.body, MediaType.OCI_MANIFEST)) for a in attached)]
        for row in rows:
            self.log(f"attestation {row['attestation']} written as referrer {row['digest']} of {row['subject']} "
                     f"in {', '.join(row['targets'])}")
        with self._lock:
            self.report += rows

    def _in_place(self, item: tuple[Attached, ImageRef | LayoutRef]) -> None:
        """A referrer in the repository its attestation is read from: the statements are there; the empty
        config may not be, and the manifest is new."""
        a, target = item
        self.copier.check()
        store = self.stores(target)
        f = a.referrer.fetched
        if f.digest != a.attestation and not store.blob_exists(target, EMPTY_DIGEST):   # rewritten: its config
            store.upload_blob(target, store.start_upload(target), EMPTY_DIGEST, iter([EMPTY_BLOB]))
        store.put_manifest(target, str(f.digest), f.body, f.media_type)


def attestation_referrers(stores: Stores, targets: tuple[ImageRef | LayoutRef, ...], options: Options,
                          stop: threading.Event, log: Callable[[str], None], known: dict[str, bytes]
                          ) -> AttestationReferrers | None:
    """The plan's AttestationReferrers with --attestations referrers (None: keep, the default); a target that
    takes no referrers is bad input, raised before any request."""
    if options.attestations not in MODES:
        raise InputError(f"invalid {setting('attestations')} {options.attestations!r}", "use keep or referrers")
    if options.attestations == "keep":
        return None
    attach = AttestationReferrers(stores, targets, stop, log, known)
    if options.referrers == "none":
        log("note: referrers none skips copying the referrers the sources hold, not the attestations: with "
            "attestations referrers they are still written as referrers of their images (this push's own)")
    return attach


def _row(a: Attached, listed: Referrer, targets: tuple[ImageRef | LayoutRef, ...]) -> dict:
    """As referrers_copy's rows, plus the attestation manifest it came from."""
    return {"subject": str(a.subject.fetched.digest), "digest": str(listed.digest), "mediaType": listed.media_type,
            "artifactType": listed.artifact_type, "tag": None, "size": listed.size,
            "targets": [t.name for t in targets], "attestation": str(a.attestation)}
