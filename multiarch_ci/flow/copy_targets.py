"""Several target repositories: the run's copier, and the index in every target by digest before any tag
is written (publish.py writes the tags, target by target, after `put_everywhere`).
"""
from __future__ import annotations

import threading
from collections.abc import Callable

from multiarch_ci.core.digest import Digest
from multiarch_ci.flow.children import Copier
from multiarch_ci.core.model import ImageIndex
from multiarch_ci.core.reference import ImageRef

TYPE_CHECKING = False   # not typing's: typing is not worth its import here
if TYPE_CHECKING:
    from multiarch_ci.flow.store import Stores


def make_copier(stores: Stores, targets: tuple[ImageRef, ...], stop: threading.Event,
                log: Callable[[str], None], known: dict[str, bytes], referrers: str = "auto",
                submit: Callable | None = None):
    """The run's copier (children.Copier); with `referrers` auto, wrapped so the artifacts referring to
    each copied child follow it (referrers_copy.py; `submit` puts its early lookups on the request pool)."""
    copier = Copier(stores, targets, stop, log, known)
    if referrers == "none":
        return copier
    from multiarch_ci.flow.referrers_copy import ReferrersCopier
    return ReferrersCopier(copier, stores, targets, log, submit)


def put_everywhere(stores: Stores, targets: tuple[ImageRef, ...], index: ImageIndex, fmt: str,
                   log: Callable[[str], None]) -> ImageIndex:
    """The index PUT by digest in every target, the first first: where the first stored a Docker list
    instead (a registry's fallback, Store.put_index), the same list goes everywhere, so every target holds
    one digest."""
    index = stores(targets[0]).put_index(targets[0], index, fmt, log)
    body = index.to_bytes()   # rule 1: serialised once, PUT under the digest of those same bytes
    for target in targets[1:]:
        stores(target).put_manifest(target, str(Digest.of(body)), body, index.media_type)
    return index
