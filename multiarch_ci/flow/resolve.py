"""Resolution: what each landed source holds, flattened to image candidates and the children to copy.

One look per source while waiting (GET by the expected digest, so a moved tag cannot stand in); then,
in the same source's chain, an index source is flattened, its children fetched and verified, and image
configs read for platforms.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace

from multiarch_ci.core.compose import Candidate, flatten, kept_by
from multiarch_ci.core.errors import CompositionError, InputError, Kind, RegistryError, setting
from multiarch_ci.core.fetched import Fetched
from multiarch_ci.core.location import LayoutRef
from multiarch_ci.core.model import Descriptor, ImageIndex, ImageManifest
from multiarch_ci.core.plan import SourceSpec
from multiarch_ci.core.platform import Platform
from multiarch_ci.core.reference import ImageRef
from multiarch_ci.flow.wait import BUSY, LANDED, MISSING, STALE, Probe

TYPE_CHECKING = False   # not typing's: typing is not worth its import here
if TYPE_CHECKING:
    from multiarch_ci.flow.store import Stores


@dataclass(frozen=True, slots=True)
class Child:
    """A manifest the index will point at, where it lives now and its exact bytes."""

    repo: ImageRef | LayoutRef
    fetched: Fetched


class Resolver:
    """Reads sources from their stores, one source at a time (each source's chain calls it)."""

    def __init__(self, stores: Stores, log: Callable[[str], None], verify_platform: bool = True):
        self.stores, self.log, self.verify_platform = stores, log, verify_platform
        self.configs: dict[str, bytes] = {}   # config blobs read (and verified), by digest
        self.filters: dict[str, SourceSpec] = {}   # single-image sources with a platform filter, by digest

    def probe(self, spec: SourceSpec) -> Probe:
        """One look: GET by the expected digest (a moved tag cannot stand in), else by tag."""
        store = self.stores(spec.ref)
        try:
            if not spec.digest:
                return Probe(LANDED, value=store.get_manifest(spec.ref))
            try:
                return Probe(LANDED, value=store.get_manifest(spec.ref.with_digest(spec.digest)))
            except RegistryError as e:
                if e.kind is not Kind.NOT_FOUND or not spec.ref.tag:
                    raise
            current = store.head_manifest(spec.ref.with_digest(None))
            if current is None:
                return Probe(MISSING, "not found")
            return Probe(STALE, f"stale: {spec.ref.tag} is {current.digest.short}… expected {spec.digest.short}…")
        except RegistryError as e:   # decided on the kind alone (core/errors.Kind), never on transport details
            if e.kind is Kind.OUT_OF_TIME:
                return Probe(BUSY, "no answer before the wait timed out")
            if e.kind is Kind.NOT_FOUND:
                looked = "" if spec.ref.tag or spec.digest else "; no tag given, so latest was looked for"
                return Probe(MISSING, f"not found: HTTP 404 {e.code or ''}".rstrip() + looked)
            if e.kind is Kind.TEMPORARY:
                return Probe(BUSY, f"registry busy: HTTP {e.status}")
            raise  # denied (a login that fails, a spent pull quota), a bad answer...: not a source still to land

    def resolve(self, spec: SourceSpec, top: Fetched, fan_out: Callable) -> tuple[list[Candidate], list[Child]]:
        """One landed source: an image is one candidate; an index is flattened into its images and
        their attestations (fetched and verified); then each image's config is read for its platform.
        `fan_out(fn, items)` runs this source's parallel requests (never on the caller's own pool)."""
        repo = spec.ref.with_tag(None)
        origin = f"{spec.ref} ({spec.origin})" if spec.origin else str(spec.ref)
        self.log(f"resolved {spec.ref} -> {top.digest.short} ({_kind(top)})")
        if isinstance(top.manifest, ImageManifest):
            if spec.platform_filter:
                self.filters[str(top.digest)] = spec
            candidates, children = [Candidate(top.descriptor, origin, spec.platform)], [Child(repo, top)]
        else:
            keep = spec.platform_filter + ((spec.platform,) if spec.platform else ())
            images, attestations = flatten(top.manifest.manifests, keep, origin)
            wanted = [x for d in images for x in (d, *attestations.get(str(d.digest), ()))]
            read = fan_out(lambda d: self._child(repo, d), wanted)   # one manifest per entry, in order
            fetched = dict(zip([str(d.digest) for d in wanted], read, strict=True))
            candidates, children = [], []
            for d in images:
                atts = tuple(attestations.get(str(d.digest), ()))
                candidates.append(Candidate(Descriptor(d.media_type, d.digest, d.size, annotations=d.annotations),
                                            origin, d.platform, attestations=atts))   # the entry's annotations stay
                children += [Child(repo, fetched[str(x.digest)]) for x in (d, *atts)]
        return self._read_configs(candidates, children, fan_out), children

    def _child(self, repo: ImageRef | LayoutRef, d: Descriptor) -> Fetched:
        f = self.stores(repo).get_manifest(repo.with_digest(d.digest))
        if not isinstance(f.manifest, ImageManifest):
            raise CompositionError(f"{repo.with_digest(d.digest)}: expected an image manifest, found an index")
        if f.descriptor.size != d.size:
            raise CompositionError(f"{repo.with_digest(d.digest)}: size {f.descriptor.size} differs from the "
                                   f"index entry's {d.size}")
        return f

    def _read_configs(self, candidates: list[Candidate], children: list[Child], fan_out: Callable
                      ) -> list[Candidate]:
        """Rule 6: read each image's config platform unless it is declared and verification is off."""
        by_digest = {str(c.fetched.digest): c for c in children}
        todo = [c for c in candidates if self.verify_platform or c.declared is None]

        def config_platform(c: Candidate) -> Platform:
            child = by_digest[str(c.descriptor.digest)]
            image = child.fetched.manifest
            if not isinstance(image, ImageManifest):   # never: a candidate's child is an image (see _child)
                raise CompositionError(f"{c.origin}: {child.fetched.ref} is an index, not an image")
            raw = self.stores(child.repo).get_blob(child.repo, image.config)
            self.configs[str(image.config.digest)] = raw  # verified; a copy reuses it
            try:
                return Platform.from_dict(json.loads(raw), f"config of {child.repo.with_digest(c.descriptor.digest)}")
            except (ValueError, InputError, RecursionError) as e:
                why = ("nested too deeply" if isinstance(e, RecursionError)
                       else e.message if isinstance(e, InputError) else str(e))   # one hint, not two
                raise CompositionError(f"{c.origin}: cannot read the platform from the image config: {why}",
                                       f"declare the platform and pass {setting('no-verify-platform')}") from None
        platforms = dict(zip([id(c) for c in todo], fan_out(config_platform, todo), strict=True))
        out = [replace(c, config=platforms[id(c)]) if id(c) in platforms else c for c in candidates]
        for c in out:  # a filter on a single image is a claim about it, not a keep-list to ignore
            spec = self.filters.get(str(c.descriptor.digest))
            platform = c.config or c.declared
            if spec and platform and not kept_by(spec.platform_filter, platform):
                asked = ", ".join(map(str, spec.platform_filter))
                raise CompositionError(f"{spec.ref} is a single image for {platform}, which the platform filter "
                                       f"({asked}) does not keep",
                                       f"drop that source, or fix the platforms asked for "
                                       f"({setting('platform-filter')})")
        return out


def _kind(f: Fetched) -> str:
    if isinstance(f.manifest, ImageIndex):
        return f"index of {len(f.manifest.manifests)}"
    return "image"
