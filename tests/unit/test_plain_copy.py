"""core/plain_copy.py: when the one index source is copied byte for byte, and what asks to recompose it
(one source that is an index is flow/copy_targets.index_source's to find: tests/cli/test_plain_copy.py)."""
from dataclasses import replace

import pytest

from multiarch_ci.core.digest import Digest
from multiarch_ci.core.location import LayoutRef
from multiarch_ci.core.model import Descriptor, ImageIndex, MediaType
from multiarch_ci.core.options import Options
from multiarch_ci.core.plain_copy import recompose_reason
from multiarch_ci.core.plan import EntryAnnotation, SourceSpec, make_plan
from multiarch_ci.core.platform import Platform
from multiarch_ci.core.reference import ImageRef

AMD, ARM = Platform.parse("linux/amd64"), Platform.parse("linux/arm64")
IMAGES = [Descriptor(MediaType.OCI_MANIFEST, Digest.of(p.encode()), 500, Platform.parse(p))
          for p in ("linux/amd64", "linux/arm64")]
OCI = ImageIndex(MediaType.OCI_INDEX, tuple(IMAGES))
DOCKER = ImageIndex(MediaType.DOCKER_LIST, tuple(replace(d, media_type=MediaType.DOCKER_MANIFEST) for d in IMAGES))
KEPT = [str(d.digest) for d in IMAGES]
ORPHAN = Descriptor(MediaType.OCI_MANIFEST, Digest.of(b"orphan"), 300, Platform.parse("unknown/unknown"),
                    (("vnd.docker.reference.type", "attestation-manifest"),
                     ("vnd.docker.reference.digest", str(Digest.of(b"gone")))))
ATTESTATION = replace(ORPHAN, digest=Digest.of(b"att"), annotations=(
    ("vnd.docker.reference.type", "attestation-manifest"), ("vnd.docker.reference.digest", str(IMAGES[0].digest))))


def plan(target="reg.test/app:1.0", source: SourceSpec | None = None, **changes):
    base = make_plan(ImageRef.parse(target) if "://" not in target else LayoutRef.parse(target), (),
                     (source or SourceSpec(ImageRef.parse("reg.test/app:rc")),))
    return replace(base, **changes)


@pytest.mark.parametrize("the_plan, options, source, kept, reason", [
    (plan(), Options(), OCI, KEPT, None),
    (plan(), Options(), DOCKER, KEPT, None),
    (plan(), Options(fmt="docker"), DOCKER, KEPT, None),
    (plan(), Options(fmt="oci"), OCI, KEPT, None),
    (plan("oci-layout://release:1.0"), Options(), OCI, KEPT, None),   # with fmt "oci": the layout's rule
    (plan(), Options(verify_platform=False, required=(AMD,)), OCI, KEPT, None),
    (plan(annotations=(("k", "v"),)), Options(), OCI, KEPT, "--annotation"),
    (plan(entry_annotations=(EntryAnnotation("k", "v"),)), Options(), OCI, KEPT, "manifest-descriptor"),
    (plan(source=SourceSpec(ImageRef.parse("reg.test/app:rc"), platform_filter=(AMD, ARM))), Options(), OCI, KEPT,
     "--platform-filter linux/amd64,linux/arm64"),
    (plan(source=SourceSpec(ImageRef.parse("reg.test/app:rc"), platform=AMD)), Options(), OCI, KEPT,
     "the platform given for the source (linux/amd64)"),
    (plan(), Options(append=True), OCI, KEPT, "--append"),
    (plan(), Options(remove=(ARM,)), OCI, KEPT, "--remove"),
    (plan(), Options(fmt="oci"), DOCKER, KEPT, "--format oci"),
    (plan(), Options(fmt="docker"), OCI, KEPT, "--format docker"),
    (plan("oci-layout://release:1.0"), Options(), DOCKER, KEPT, "holds OCI image indexes only"),
    (plan(), Options(), replace(OCI, manifests=OCI.manifests + (ORPHAN,)), KEPT, "1 of its entries"),
    (plan(), Options(attestations="referrers"), replace(OCI, manifests=OCI.manifests + (ATTESTATION,)),
     KEPT + [str(ATTESTATION.digest)], "--attestations referrers"),
    (plan(), Options(attestations="referrers"), OCI, KEPT, None),   # nothing to move: still a copy
], ids=["oci", "docker", "docker-asked", "oci-asked", "layout", "reads-only", "annotation", "entry-annotation",
        "filter", "declared-platform", "append", "remove", "format-oci", "format-docker", "layout-docker-list",
        "orphan-attestation", "attestations-as-referrers", "attestations-as-referrers-none-there"])
def test_a_copy_unless_something_is_asked_to_change(the_plan, options, source, kept, reason):
    fmt = "oci" if isinstance(the_plan.target, LayoutRef) and options.fmt == "auto" else None   # Store.index_format
    why = recompose_reason(the_plan, options, source, kept, fmt)
    assert (why is None) if reason is None else (reason in why)


def test_every_reason_is_named():
    both = recompose_reason(plan(annotations=(("k", "v"),)), Options(fmt="docker"), OCI, KEPT)
    assert "--annotation" in both and "--format docker" in both

