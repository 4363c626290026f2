"""No symlink swapped into a layout target sends a byte outside it (issue 19 §1: 6 of 60 pushes wrote temp
files outside when `blobs/` was swapped for a symlink). Writes go through folder handles opened once
(layout/handles.py); a folder that is a symlink when first opened is refused; where dir_fd is not had
(Windows) each path component is lstat'ed and a symlink refused."""
from __future__ import annotations

import json
import os
import threading

import pytest

import mm_images
from mm_cli import one_error, run_cli
from mm_runner import log_mark, requests_since
from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import InputError
from multiarch_ci.core.location import LayoutRef
from multiarch_ci.layout.writer import WritableLayout


def everything_in(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.hostile("layout target folder is a symlink out")
@pytest.mark.parametrize("swapped", ["blobs", "blobs/sha256"])
def test_a_target_whose_blob_folder_links_out_is_refused_and_nothing_lands_outside(registry, repo_name, tmp_path,
                                                                                    swapped):
    image = mm_images.push_image(registry, repo_name, "v1", fmt="oci", layers=2)
    out, outside = tmp_path / "oci", tmp_path / "outside"
    WritableLayout(str(out))
    outside.mkdir()
    (outside / "sha256").mkdir()
    victim = out / swapped
    victim.mkdir(parents=True, exist_ok=True)
    victim.rmdir()
    victim.symlink_to(outside if swapped == "blobs" else outside / "sha256", target_is_directory=True)
    mark = log_mark(registry)
    line = one_error(run_cli("push", "from-matrix", "-", "--target", f"oci-layout://{out}:v1",
                             stdin=json.dumps([{"image": image["ref"]}])), code=2)
    assert f"refusing {swapped}: a symlink" in line and "hint:" in line, line
    assert requests_since(registry, mark) == []   # bad input, found before the first request
    assert everything_in(outside) == ["sha256"]


@pytest.mark.hostile("layout folder symlink, no dir_fd")
@pytest.mark.parametrize("dir_fd", [True, False], ids=["dir_fd", "lstat-fallback"])
def test_a_symlinked_folder_is_refused_with_or_without_dir_fd(tmp_path, dir_fd):
    from multiarch_ci.layout.handles import DIR_FD, LayoutDir
    if dir_fd and not DIR_FD:
        dir_fd = False   # this platform has no dir_fd: the fallback is what runs here
    out, outside = tmp_path / "oci", tmp_path / "outside"
    (out / "blobs").mkdir(parents=True)
    outside.mkdir()
    (out / "blobs" / "sha256").symlink_to(outside, target_is_directory=True)
    d = LayoutDir(str(out), fd_ok=dir_fd)
    with pytest.raises(InputError, match="refusing blobs/sha256: not a folder of the layout"):
        d.write("blobs/sha256/" + "a" * 64, [b"bytes"])
    assert everything_in(outside) == []


def swap(folder, aside, link_to, stop: threading.Event) -> None:
    """Swap `folder` for a symlink to `link_to` and back, as fast as possible, until `stop`."""
    while not stop.is_set():
        try:
            os.rename(folder, aside)
            os.symlink(link_to, folder, target_is_directory=True)
            os.unlink(folder)
            os.rename(aside, folder)
        except OSError:
            pass


@pytest.mark.hostile("layout blobs swapped for a symlink during the run")
@pytest.mark.parametrize("swapped", ["blobs", "blobs/sha256"])
def test_swapping_a_folder_for_a_symlink_during_writes_never_writes_outside(tmp_path, swapped):
    """A thread keeps swapping the folder for a symlink to an outside folder and back while blobs are
    written, 60 rounds: every byte lands inside the layout (or the write is refused), never outside."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "sha256").mkdir()
    for round_ in range(60):
        out = tmp_path / f"oci-{round_}"
        layout = WritableLayout(str(out))
        ref = LayoutRef(str(out))
        if swapped == "blobs/sha256":
            layout.put_blob(ref, Digest.of(b"first"), [b"first"])   # the folder exists to be swapped
        folder, aside = out / swapped, out / f"{swapped}.aside"
        link_to = outside if swapped == "blobs" else outside / "sha256"
        stop = threading.Event()
        swapper = threading.Thread(target=swap, args=(folder, aside, link_to, stop))
        swapper.start()
        try:
            for n in range(20):
                data = f"round {round_} blob {n}".encode() * 50
                try:
                    layout.put_blob(ref, Digest.of(data), iter([data[:100], data[100:]]))
                except (InputError, OSError):
                    pass   # refused: the folder was a symlink when it was looked at; nothing written
        finally:
            stop.set()
            swapper.join()
    assert everything_in(outside) == ["sha256"]
