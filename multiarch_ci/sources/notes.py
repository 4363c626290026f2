"""What an input was read as, when that differs from what was written: a note printed before the push."""
from __future__ import annotations

import re

from multiarch_ci.core.location import LayoutRef
from multiarch_ci.core.platform import Platform
from multiarch_ci.core.reference import ImageRef


def normalised_notes(platforms: str | list[str], label: str = "--platforms") -> tuple[str, ...]:
    """'--platforms linux/x86_64 read as linux/amd64' for each platform written other than it is read."""
    notes = []
    for text in re.split(r"[,\s]+", platforms if isinstance(platforms, str) else ",".join(platforms)):
        if not text:
            continue
        platform = Platform.parse(text)
        if str(platform) != text:
            notes.append(f"{label} {text} read as {platform}")
    return tuple(notes)


def hub_note(text: str, ref: ImageRef | LayoutRef, label: str) -> str | None:
    """'--target app:1 names no registry: Docker Hub assumed (docker.io/library/app)', else None."""
    first, sep, _ = text.strip().partition("/")
    if not isinstance(ref, ImageRef):   # an oci-layout:// path names no registry
        return None
    if ref.registry != "docker.io" or (sep and ("." in first or ":" in first or first == "localhost")):
        return None
    return f"{label} {text.strip()} names no registry: Docker Hub assumed ({ref.name})"
