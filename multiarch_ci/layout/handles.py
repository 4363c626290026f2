"""Writing inside a layout directory through handles opened once, so no symlink can lead a byte outside it.

The layout's root is opened once (`os.open` with O_DIRECTORY), each folder under it once more relative to
its parent with O_NOFOLLOW (`blobs`, `blobs/sha256`), and every open, mkdir, rename and unlink then goes
through those handles (`dir_fd=`). A folder swapped for a symlink while the run goes on changes nothing:
the handles still name the folders that were opened; one that is a symlink when first opened is refused.
Where the platform has no `dir_fd` (Windows), paths are used and every component is `lstat`ed first, a
symlink refused: the same rule, checked instead of enforced.
"""
from __future__ import annotations

import errno
import hashlib
import os
import secrets
import stat
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import BinaryIO

from multiarch_ci.core.errors import InputError

try:
    import fcntl
except ImportError:   # Windows: no flock; one writer per layout is then the user's to ensure
    fcntl = None  # type: ignore[assignment]

DIR_FD = {os.open, os.mkdir, os.rename, os.unlink, os.stat} <= os.supports_dir_fd
_FLAGS = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
TEMP = ".tmp-"   # the prefix of a file being written (never a blob's name: those are hex)
_HINT = "a layout target holds only its own folders and files; remove the link (or give another path)"


class LayoutDir:
    """A layout directory opened once; `rel` paths ('blobs/sha256') name folders inside it."""

    def __init__(self, root: str, where: str | None = None, fd_ok: bool = DIR_FD, root_fd: int | None = None):
        self.root, self.where = root, where or root
        self._dir_fd = fd_ok
        self._lock = threading.Lock()       # the handle table
        self._threads = threading.Lock()    # index.json updates within this process
        self._fds: dict[str, int] = {}
        if self._dir_fd:
            self._fds[""] = root_fd if root_fd is not None else os.open(root, os.O_RDONLY | _DIRECTORY | _FLAGS)

    def close(self) -> None:
        with self._lock:
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()

    # -- folders ---------------------------------------------------------------------------
    def folder(self, rel: str, create: bool = False) -> int | str:
        """The handle (dir_fd) of a folder inside the layout, opened once; a path where dir_fd is not had."""
        if not self._dir_fd:
            return self._checked_path(rel, create)
        with self._lock:
            fd = self._fds.get(rel)
            if fd is not None:
                return fd
            parent, _, name = rel.rpartition("/")
            up: int | str | None = self._fds[""] if not parent else None
        if up is None:
            up = self.folder(parent, create)
        assert isinstance(up, int)
        if create:
            try:
                os.mkdir(name, 0o755, dir_fd=up)
            except FileExistsError:
                pass
        try:
            fd = os.open(name, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _FLAGS, dir_fd=up)
        except FileNotFoundError:
            raise
        except OSError as e:   # ELOOP: a symlink; ENOTDIR: a file
            if e.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                raise InputError(f"{self.where}: refusing {rel}: not a folder of the layout (a symlink or a "
                                 "file)", _HINT) from None
            raise
        with self._lock:
            if rel in self._fds:   # another thread opened it meanwhile: keep the first
                os.close(fd)
                return self._fds[rel]
            self._fds[rel] = fd
            return fd

    def _checked_path(self, rel: str, create: bool) -> str:
        """No dir_fd: each component lstat'ed, a symlink or a non-folder refused."""
        path = self.root
        for part in [p for p in rel.split("/") if p]:
            path = os.path.join(path, part)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                if not create:
                    raise
                os.makedirs(path, exist_ok=True)
                st = os.lstat(path)
            if not stat.S_ISDIR(st.st_mode):
                raise InputError(f"{self.where}: refusing {rel}: not a folder of the layout (a symlink or a "
                                 "file)", _HINT)
        return path

    # -- files -----------------------------------------------------------------------------
    def open_file(self, rel: str) -> BinaryIO:
        """A regular file inside the layout, for reading; a symlink, a fifo or a folder there is refused.
        FileNotFoundError when it is absent."""
        folder, _, name = rel.rpartition("/")
        where = self.folder(folder)
        if isinstance(where, int):
            try:
                fd = os.open(name, os.O_RDONLY | _NOFOLLOW | os.O_NONBLOCK | _FLAGS, dir_fd=where)
            except OSError as e:
                if e.errno == errno.ELOOP:
                    raise InputError(f"{self.where}: refusing {rel}: a symlink", _HINT) from None
                raise
        else:
            path = os.path.join(where, name)
            if os.path.islink(path):
                raise InputError(f"{self.where}: refusing {rel}: a symlink", _HINT)
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | _FLAGS)   # a fifo never blocks
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise InputError(f"{self.where}: refusing {rel}: not a regular file", _HINT)
        if hasattr(os, "O_NONBLOCK"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")

    def hashes_to(self, rel: str, algorithm: str, hexdigest: str) -> bool:
        """Whether the file at `rel` is there and its bytes hash to `hexdigest` (empty or altered: False).
        A symlink at that name counts as absent: it is replaced, never followed."""
        folder, _, name = rel.rpartition("/")
        try:
            where = self.folder(folder)
            st = (os.stat(name, dir_fd=where, follow_symlinks=False) if isinstance(where, int)
                  else os.lstat(os.path.join(where, name)))
        except FileNotFoundError:
            return False
        if stat.S_ISLNK(st.st_mode):
            return False
        hasher = hashlib.new(algorithm)
        with self.open_file(rel) as f:
            while piece := f.read(1 << 20):
                hasher.update(piece)
        return hasher.hexdigest() == hexdigest

    def write(self, rel: str, chunks: Iterable[bytes] = (), check: Callable[[], None] | None = None,
              fill: Callable[[BinaryIO], None] | None = None) -> None:
        """Write `rel` whole: a temp file beside it (through the same handle) filled from `chunks` (or by
        `fill(file)`), fsync, `check()` (raising leaves nothing behind), then renamed over `rel`."""
        folder, _, name = rel.rpartition("/")
        where = self.folder(folder, create=True)
        tmp = f"{TEMP}{secrets.token_hex(8)}"
        if isinstance(where, int):
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _FLAGS, 0o644, dir_fd=where)
        else:
            fd = os.open(os.path.join(where, tmp), os.O_WRONLY | os.O_CREAT | os.O_EXCL | _FLAGS, 0o644)
        done = False
        try:
            with os.fdopen(fd, "wb") as f:
                if fill is not None:
                    fill(f)
                for chunk in chunks:
                    f.write(chunk)
                f.flush()
                os.fsync(f.fileno())
            if check is not None:
                check()
            if isinstance(where, int):
                os.replace(tmp, name, src_dir_fd=where, dst_dir_fd=where)
            else:
                os.replace(os.path.join(where, tmp), os.path.join(where, name))
            done = True
        finally:
            if not done:
                try:
                    if isinstance(where, int):
                        os.unlink(tmp, dir_fd=where)
                    else:
                        os.unlink(os.path.join(where, tmp))
                except FileNotFoundError:
                    pass

    def exists(self, rel: str) -> bool:
        folder, _, name = rel.rpartition("/")
        try:
            where = self.folder(folder)
        except FileNotFoundError:
            return False
        try:
            if isinstance(where, int):
                os.stat(name, dir_fd=where, follow_symlinks=False)
            else:
                os.lstat(os.path.join(where, name))
        except FileNotFoundError:
            return False
        return True

    def names(self, rel: str) -> list[str]:
        """The entries of a folder inside the layout ([] when absent)."""
        try:
            where = self.folder(rel)
        except FileNotFoundError:
            return []
        if isinstance(where, int):
            fd = os.open(".", os.O_RDONLY | _DIRECTORY | _FLAGS, dir_fd=where)   # listdir consumes its handle
            try:
                return os.listdir(fd)
            finally:
                os.close(fd)
        return os.listdir(where)

    def walk(self, rel: str = "") -> Iterator[tuple[str, bool]]:
        """(path, is_folder) of every folder and regular file under `rel`, sorted, folders before their
        contents; temp files and anything else (a symlink) left out."""
        where = self.folder(rel)
        for name in sorted(self.names(rel)):
            if name.startswith(TEMP):
                continue
            st = (os.stat(name, dir_fd=where, follow_symlinks=False) if isinstance(where, int)
                  else os.lstat(os.path.join(where, name)))
            path = f"{rel}/{name}" if rel else name
            if stat.S_ISDIR(st.st_mode):
                yield path, True
                yield from self.walk(path)
            elif stat.S_ISREG(st.st_mode):
                yield path, False

    def inner(self, name: str, where: str) -> LayoutDir:
        """A folder directly inside this one as a LayoutDir of its own, opened through this one's handle."""
        handle = self.folder(name, create=True)
        path = os.path.join(self.root, name)
        if not isinstance(handle, int):
            return LayoutDir(path, where, fd_ok=False)
        return LayoutDir(path, where, root_fd=os.open(".", os.O_RDONLY | _DIRECTORY | _FLAGS, dir_fd=handle))

    # -- lock --------------------------------------------------------------------------------
    @contextmanager
    def locked(self) -> Iterator[None]:
        """The layout's lock: threads of this run, and (flock on the root) other processes writing it."""
        with self._threads:
            if fcntl is None:
                yield
                return
            # a new open of the root: its own open file description (flock excludes per description)
            fd = (os.open(".", os.O_RDONLY | _DIRECTORY | _FLAGS, dir_fd=self._fds[""]) if self._dir_fd
                  else os.open(self.root, os.O_RDONLY | _FLAGS))
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)   # releases the flock


class FdFiles:
    """`files.LayoutFiles` over a LayoutDir: a target's reads go through the same handles as its writes."""

    def __init__(self, d: LayoutDir):
        self.d = d
        self.where = d.where
        self.root = d.root

    def exists(self, rel: str) -> bool:
        try:
            self.open(rel).close()
        except FileNotFoundError:
            return False
        return True

    def open(self, rel: str) -> BinaryIO:
        return self.d.open_file(rel)

    def size(self, rel: str) -> int:
        with self.d.open_file(rel) as f:
            return os.fstat(f.fileno()).st_size
