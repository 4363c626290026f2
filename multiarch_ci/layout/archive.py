"""A layout target named `.tar`: an OCI archive (a tar of oci-layout, index.json and blobs/, what skopeo's
`oci-archive:` reads), written whole when the run is done.

The run writes into a folder staged beside the archive (`.NAME.<random>.staging`, in the same directory so
the final rename stays on one filesystem). An archive already there is read first (every member checked
as for a source, files.TarFiles) and unpacked into that folder, so its tags and blobs are kept and added
to. When the run is done, if it wrote a tag (or listed a referrer), the folder is packed into a temp file
beside the archive, fsynced and renamed over it: a reader sees the old archive or the new one, never half
of one, and a run that tags nothing leaves the archive as it was. The staging folder is removed either
way. Two runs writing one archive at the same time: the last rename wins; give each job its own archive.
"""
from __future__ import annotations

import os
import secrets
import shutil
import tarfile
from typing import BinaryIO

from multiarch_ci.core.errors import InputError
from multiarch_ci.layout.files import TarFiles, chunks
from multiarch_ci.layout.handles import LayoutDir
from multiarch_ci.layout.writer import WritableLayout

SUFFIX = ".tar"
COMPRESSED = (".tar.gz", ".tgz", ".tar.zst", ".tar.xz", ".tar.bz2")


def is_archive(path: str) -> bool:
    """A target path that names an OCI archive: ends in .tar and is not a directory already (a folder an
    earlier version wrote under that name stays a folder)."""
    return path.lower().endswith(SUFFIX) and not os.path.isdir(path)


def refuse_compressed(path: str) -> None:
    """A compressed archive is read as a source but never written: say so before anything is."""
    if path.lower().endswith(COMPRESSED) and not os.path.isdir(path):
        raise InputError(f"target layout {path!r}: a compressed archive cannot be written",
                         "name it .tar (an OCI archive skopeo reads as oci-archive:) or give a directory; "
                         "compress it afterwards if needed")


class ArchiveTarget:
    """One `.tar` target for the run: `layout` is the staged folder to write; `finish()` packs it."""

    def __init__(self, path: str):
        self.path = path
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        self.parent = LayoutDir(parent, parent)
        self.name = os.path.basename(path)
        self.staging = f".{self.name}.{secrets.token_hex(4)}.staging"
        self.staged: LayoutDir | None = None
        try:
            self.staged = self.parent.inner(self.staging, path)
            if os.path.exists(path):
                _unpack(TarFiles(path), self.staged)
            self.layout = WritableLayout(self.staged.root, path, self.staged)
        except BaseException:
            self.discard()
            raise

    def finish(self) -> None:
        """Pack the staged folder over the archive (only if the run wrote a tag or a referrer), then clean up."""
        try:
            if self.layout.changed:
                self.parent.write(self.name, [], fill=lambda f: _pack(self.layout.dir, f))
        finally:
            self.discard()

    def discard(self) -> None:
        if self.staged is not None:
            self.staged.close()
        shutil.rmtree(os.path.join(self.parent.root, self.staging), ignore_errors=True)
        self.parent.close()


def _unpack(tar: TarFiles, into: LayoutDir) -> None:
    for rel in sorted(tar.members):
        into.write(rel, chunks(tar.open(rel), 1 << 20))


def _pack(d: LayoutDir, out: BinaryIO) -> None:
    """Every folder and file of the staged layout, sorted (blobs/, its folders and blobs, index.json,
    oci-layout: the order skopeo's oci-archive has), owned by root, no times."""
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel, folder in d.walk():
            info = tarfile.TarInfo(rel)   # a folder's name gets its "/" from tarfile
            if folder:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
                continue
            with d.open_file(rel) as f:
                info.size, info.mode = os.fstat(f.fileno()).st_size, 0o644
                tar.addfile(info, f)
