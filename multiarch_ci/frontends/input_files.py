"""The front ends' edge to the file system: a spec or matrix file's text (or standard input's), a folder's
entries. What a source kind needs fetched (sources/kinds.py) is fetched here; reading it is pure (sources/)."""
from __future__ import annotations

import os

from multiarch_ci.core.errors import InputError

TYPE_CHECKING = False   # not typing's: typing is not worth its import at every start
if TYPE_CHECKING:
    from typing import TextIO

MAX_INPUT = 1024 * 1024


def read_text(path: str, stdin: TextIO | None = None) -> tuple[str, str]:
    """(text, display name) of a file or '-' for stdin; refuses huge and non-UTF-8 input."""
    if path == "-":
        if stdin is None:
            raise InputError("'-' given but there is no standard input")
        text = stdin.read(MAX_INPUT + 1)
        if len(text) > MAX_INPUT:
            raise InputError(f"<stdin>: larger than {MAX_INPUT} bytes", "is this the right input?")
        return text, "<stdin>"
    p = path.rstrip("/") or path   # as pathlib.Path(path) names it (not imported at start-up)
    try:
        if not os.path.isfile(p):
            raise InputError(f"{path}: no such file", "check the path")
        if os.stat(p).st_size > MAX_INPUT:
            raise InputError(f"{path}: {os.stat(p).st_size} bytes, larger than the {MAX_INPUT}-byte limit",
                             "is this the right file?")
        with open(p, "rb") as f:
            data = f.read()
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror})") from None
    try:
        return data.decode("utf-8-sig"), path
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: not UTF-8 text (byte 0x{data[e.start]:02x})",
                         "save the file as UTF-8") from None


def list_digests_dir(path: str) -> list[tuple[str, str]]:
    """(name, kind) for each entry; kinds: file, dir, symlink-inside, symlink-outside, symlink-broken,
    symlink-loop, other."""
    from pathlib import Path  # only for a digests folder: pathlib is not worth its import at every start

    root = Path(path)
    if not root.is_dir():
        raise InputError(f"{path}: not a directory", "give the folder the matrix legs wrote digests into")
    try:
        real_root = root.resolve()
    except (RuntimeError, OSError):
        raise InputError(f"{path}: a symlink loop", "give the folder itself") from None
    entries = []
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        if entry.is_symlink():
            try:
                target = Path(entry.path).resolve()
            except (RuntimeError, OSError):  # a symlink loop (RuntimeError before Python 3.13)
                entries.append((entry.name, "symlink-loop"))
                continue
            if not target.exists():
                entries.append((entry.name, "symlink-broken"))
            else:
                inside = target.parent == real_root and target.is_file()
                entries.append((entry.name, "symlink-inside" if inside else "symlink-outside"))
        elif entry.is_dir():
            entries.append((entry.name, "dir"))
        elif entry.is_file():
            entries.append((entry.name, "file"))
        else:
            entries.append((entry.name, "other"))
    return entries
