"""Several target repositories: the run's copier, and the index in every target by digest before any tag
is written (publish.py writes the tags, target by target, after `put_everywhere`).
"""
from __future__ import annotations

import threading
from collections.abc import Callable

from multiarch_ci.flow.children import Copier
from multiarch_ci.core.model import ImageIndex
from multiarch_ci.core.reference import ImageRef
from multiarch_ci.registry.client import RegistryClient
from multiarch_ci.registry.index_format import put_by_digest, put_index


def make_copier(client: RegistryClient, targets: tuple[ImageRef, ...], stop: threading.Event,
                log: Callable[[str], None], known: dict[str, bytes], referrers: str = "auto",
                submit: Callable | None = None):
    """The run's copier (children.Copier); with `referrers` auto, wrapped so the artifacts referring to
    each copied child follow it (referrers_copy.py; `submit` puts its early lookups on the request pool)."""
    copier = Copier(client, targets, stop, log, known)
    if referrers == "none":
        return copier
    from multiarch_ci.flow.referrers_copy import ReferrersCopier
    return ReferrersCopier(copier, client, targets, log, submit)


def put_everywhere(client: RegistryClient, targets: tuple[ImageRef, ...], index: ImageIndex, fmt: str,
                   log: Callable[[str], None]) -> ImageIndex:
    """The index PUT by digest in every target, the first first: where the first stored a Docker list
    instead (index_format's fallback), the same list goes everywhere, so every target holds one digest."""
    index = put_index(client, targets[0], index, fmt, log)
    for target in targets[1:]:
        put_by_digest(client, target, index)
    return index
