"""Read-only file access inside an OCI layout, a directory or a tar, refusing hostile paths.

A layout is untrusted input: a tar member with an absolute path, a `..` component, a link or a device is
refused when the tar is opened; in a directory, a file whose real path leaves the layout (a symlink out)
or that is not a regular file is refused when it is opened.
"""
from __future__ import annotations

import io
import os
import stat
import tarfile
from collections.abc import Iterator
from types import TracebackType
from typing import BinaryIO, Protocol

from multiarch_ci.core.errors import InputError

_HOSTILE = "a layout holds only regular files and directories inside itself; rebuild it with skopeo, buildah or buildx"


def clean_member(name: str, where: str) -> str:
    """A tar member name as a relative path ('./a/b' -> 'a/b'); refuses absolute paths and '..'."""
    if name.startswith("/") or "\\" in name or "\x00" in name:
        raise InputError(f"{where}: refusing tar member {name!r}: not a relative path", _HOSTILE)
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise InputError(f"{where}: refusing tar member {name!r}: it climbs out of the layout", _HOSTILE)
    return "/".join(parts)


class ReadFile(Protocol):
    """An open file of a layout, read in pieces in a `with` block: a regular file, or a tar member."""

    def read(self, size: int = -1, /) -> bytes | None: ...   # None: io.RawIOBase's "no data yet" (non-blocking)

    def close(self) -> None: ...

    def __enter__(self) -> object: ...

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None, /) -> object: ...


class LayoutFiles(Protocol):
    """What the layout reader needs: open a file by its path inside the layout, or learn it is absent."""

    where: str

    def exists(self, rel: str) -> bool: ...

    def open(self, rel: str) -> ReadFile: ...

    def size(self, rel: str) -> int: ...


class DirFiles:
    """A layout directory; every opened path must resolve to a regular file inside it."""

    def __init__(self, root: str):
        self.where = root
        self.root = os.path.realpath(root)

    def _resolve(self, rel: str) -> str | None:
        path = os.path.realpath(os.path.join(self.root, rel))
        if os.path.commonpath([self.root, path]) != self.root:
            raise InputError(f"{self.where}: refusing {rel}: it is a link leading out of the layout", _HOSTILE)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{self.where}: refusing {rel}: not a regular file", _HOSTILE)
        return path

    def exists(self, rel: str) -> bool:
        return self._resolve(rel) is not None

    def open(self, rel: str) -> BinaryIO:
        path = self._resolve(rel)
        if path is None:
            raise FileNotFoundError(rel)
        return open(path, "rb")

    def size(self, rel: str) -> int:
        path = self._resolve(rel)
        if path is None:
            raise FileNotFoundError(rel)
        return os.path.getsize(path)


class TarFiles:
    """A layout tar (plain or compressed); members are checked once, when it is opened."""

    def __init__(self, path: str):
        self.where = path
        self.path = path
        try:
            with tarfile.open(path, "r:*") as tar:
                members = tar.getmembers()
                self._compressed = not isinstance(tar.fileobj, io.BufferedReader)
        except (tarfile.TarError, OSError, EOFError) as e:
            raise InputError(f"{path}: not a readable layout tar ({e})", _HOSTILE) from None
        self.members: dict[str, tarfile.TarInfo] = {}
        for m in members:
            rel = clean_member(m.name, path)
            if not (m.isfile() or m.isdir()):
                kind = "link" if (m.issym() or m.islnk()) else "special file"
                raise InputError(f"{path}: refusing tar member {m.name!r}: a {kind}", _HOSTILE)
            if m.isfile():
                if rel in self.members:
                    raise InputError(f"{path}: refusing tar member {m.name!r}: it appears twice", _HOSTILE)
                self.members[rel] = m

    def exists(self, rel: str) -> bool:
        return rel in self.members

    def size(self, rel: str) -> int:
        if rel not in self.members:
            raise FileNotFoundError(rel)
        return self.members[rel].size

    def open(self, rel: str) -> ReadFile:
        member = self.members.get(rel)
        if member is None:
            raise FileNotFoundError(rel)
        if self._compressed:
            return _Member(self.path, member)
        f = open(self.path, "rb")
        f.seek(member.offset_data)
        return _Window(f, member.size)

class _Window(io.RawIOBase):
    """The bytes of one member of a plain tar, read straight from the file (thread-safe: own handle)."""

    def __init__(self, f: BinaryIO, size: int):
        self._f, self._left = f, size

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = min(len(b), self._left)
        if n <= 0:
            return 0
        data = self._f.read(n)
        b[:len(data)] = data
        self._left -= len(data)
        return len(data)

    def close(self) -> None:
        self._f.close()
        super().close()


class _Member(io.RawIOBase):
    """One member of a compressed tar, through its own handle (sequential reads decompress once)."""

    def __init__(self, path: str, member: tarfile.TarInfo):
        self._tar = tarfile.open(path, "r:*")
        f = self._tar.extractfile(member)
        if f is None:   # never: TarFiles keeps regular files only, and extractfile is None for other kinds
            self._tar.close()
            raise FileNotFoundError(member.name)
        self._f = f

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        data = self._f.read(len(b))
        b[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self._tar.close()
        super().close()


def read_capped(f: ReadFile, cap: int) -> bytes:
    """Read at most cap + 1 bytes (so the caller can tell 'too big' from 'exactly cap')."""
    with f:
        return f.read(cap + 1) or b""   # blocking files: None never comes


def chunks(f: ReadFile, size: int) -> Iterator[bytes]:
    with f:
        while piece := f.read(size):
            yield piece


def open_files(path: str) -> LayoutFiles:
    """A directory or a tar file; anything else is an input error."""
    if os.path.isdir(path):
        return DirFiles(path)
    if os.path.isfile(path):
        return TarFiles(path)
    raise InputError(f"OCI layout {path!r} does not exist",
                     "give a directory or a tar written by skopeo, buildah or buildx --output type=oci")
