"""A digests folder (the Docker docs' merge pattern: each build leg runs `touch digests/${digest#sha256:}`):
its file names, as listed by frontends.input_files.list_digests_dir, become one source each. Pure: names in,
sources out."""
from __future__ import annotations

import re

from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import InputError
from multiarch_ci.core.plan import SourceSpec
from multiarch_ci.core.reference import ImageRef

_DIGEST_NAME = re.compile(r"(?:sha256[:-])?([0-9a-fA-F]{64})")


def sources_from_digests(entries: list[tuple[str, str]], repo: ImageRef, dirname: str) -> tuple[SourceSpec, ...]:
    """One source per file named after a pushed manifest's sha256 (the `touch digests/${digest#sha256:}` pattern)."""
    base = ImageRef(repo.registry, repo.repository)
    dirname = dirname.rstrip("/") or dirname
    seen: dict[Digest, str] = {}
    out: list[SourceSpec] = []
    for name, kind in sorted(entries):
        shown = name if name.isprintable() else repr(name)  # keep the error on one line
        where = f"{dirname}/{shown}"
        if kind == "dir":
            raise InputError(f"{where}: is a folder, not a digest file", f"{dirname} must hold only digest files")
        if kind == "symlink-outside":
            raise InputError(f"{where}: is a symlink pointing outside {dirname}",
                             "copy the digest files in instead of linking to them")
        if kind == "symlink-loop":
            raise InputError(f"{where}: is a symlink loop", "copy the digest files in instead of linking to them")
        if kind == "symlink-broken":
            raise InputError(f"{where}: is a broken symlink", "copy the digest files in instead of linking to them")
        if kind not in ("file", "symlink-inside"):
            raise InputError(f"{where}: is not a regular file", f"{dirname} must hold only digest files")
        m = _DIGEST_NAME.fullmatch(name)
        if not m:
            raise InputError(f"{where}: not a digest (expected 64 hex characters named after a pushed "
                             f"manifest's sha256)", f"create them with touch {dirname}/${{digest#sha256:}}")
        if m[1] != m[1].lower():
            raise InputError(f"{where}: not a digest (sha256 hex must be lower case)",
                             "rename the file in lower case; registries compare digests exactly")
        digest = Digest("sha256", m[1])
        if digest in seen:
            raise InputError(f"{where}: digest {digest.short} is already named by {dirname}/{seen[digest]}",
                             "keep one file per digest")
        seen[digest] = name
        out.append(SourceSpec(base.with_digest(digest), digest, origin=where))
    if not out:
        raise InputError(f"{dirname}: no digest files", "each build leg should touch a file named by its digest")
    return tuple(out)
