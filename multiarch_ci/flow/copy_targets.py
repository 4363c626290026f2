"""Several target repositories: the run's copier, and the index in every target by digest before any tag
is written (publish.py writes the tags, target by target, after `put_everywhere` or `put_as_is`).
"""
from __future__ import annotations

import threading
from collections.abc import Callable

from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import Kind, RegistryError
from multiarch_ci.core.location import LayoutRef
from multiarch_ci.core.model import ImageIndex
from multiarch_ci.core.options import Options
from multiarch_ci.core.plain_copy import oci_holding_docker, recompose_reason
from multiarch_ci.core.plan import PushPlan
from multiarch_ci.core.reference import ImageRef
from multiarch_ci.flow.children import Copier
from multiarch_ci.flow.resolve import Child

TYPE_CHECKING = False   # not typing's: typing is not worth its import here
if TYPE_CHECKING:
    from multiarch_ci.flow.store import Stores


def make_copier(stores: Stores, targets: tuple[ImageRef | LayoutRef, ...], stop: threading.Event,
                log: Callable[[str], None], known: dict[str, bytes], referrers: str = "auto",
                submit: Callable | None = None):
    """The run's copier (children.Copier); with `referrers` auto, wrapped so the artifacts referring to
    each copied child follow it (referrers_copy.py; `submit` puts its early lookups on the request pool)."""
    copier = Copier(stores, targets, stop, log, known)
    if referrers == "none":
        return copier
    from multiarch_ci.flow.referrers_copy import ReferrersCopier
    return ReferrersCopier(copier, stores, targets, log, submit)


def put_everywhere(stores: Stores, targets: tuple[ImageRef | LayoutRef, ...], index: ImageIndex, fmt: str,
                   log: Callable[[str], None]) -> ImageIndex:
    """The index PUT by digest in every target, the first first: where the first stored a Docker list
    instead (a registry's fallback, Store.put_index), the same list goes everywhere, so every target holds
    one digest."""
    index = stores(targets[0]).put_index(targets[0], index, fmt, log)
    body = index.to_bytes()   # rule 1: serialised once, PUT under the digest of those same bytes
    for target in targets[1:]:
        stores(target).put_manifest(target, str(Digest.of(body)), body, index.media_type)
    return index


def index_source(plan: PushPlan, options: Options, fmt: str, done: list) -> tuple[Child | None, str | None]:
    """The one source of the plan when it is an index (chain.Done's `top`), and why it is recomposed
    (None: it is copied byte for byte); (None, None) when no copy could be expected. `fmt`: the format
    the target store writes (Store.index_format)."""
    top = done[0].top if len(plan.sources) == 1 and len(done) == 1 else None
    if top is None or not isinstance(top.fetched.manifest, ImageIndex):
        return None, None
    kept = [str(c.fetched.digest) for c in done[0].children]
    return top, recompose_reason(plan, options, top.fetched.manifest, kept, fmt)


def put_as_is(copier, source: Child, fan_out: Callable, fmt: str, log: Callable[[str], None]) -> bool:
    """A plain copy (core/plain_copy.py): the source index's own bytes PUT by digest in every target, as a
    child is (its children are present already); then what refers to the index follows it (the same
    subject digest, so signatures of the source index stay valid). False when a registry refuses an OCI
    index holding Docker manifests and --format auto lets a recomposed index go instead (Store.put_index
    then writes the Docker list such a registry takes)."""
    plain = getattr(copier, "inner", copier)   # the children's copier, without the referrers wrapper
    try:
        plain.copy([source], fan_out)
    except RegistryError as e:
        index = source.fetched.manifest
        if fmt != "auto" or e.kind is not Kind.REFUSED or not isinstance(index, ImageIndex) \
                or not oci_holding_docker(index):
            raise
        log(f"note: {e.ref or 'the target'} refused the OCI index as it is ({e.code or e.status}); recomposing "
            "it, so its digest differs from the source's")
        return False
    if plain is not copier:
        copier.copy([source], fan_out)   # the index is present (its claim settled): only its referrers now
    return True
