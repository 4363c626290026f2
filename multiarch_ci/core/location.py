"""Where an image lives: a registry reference or an OCI image layout (`oci-layout://PATH[:TAG|@DIGEST]`).

The layout spelling is buildx's (https://docs.docker.com/build/exporters/oci-docker/); the layout itself is
https://github.com/opencontainers/image-spec/blob/main/image-layout.md. A path may hold ':' only before its
last '/', so `oci-layout://./out:v1` is path `./out` tag `v1`, and `oci-layout://C:/out` is path `C:/out`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import InputError
from multiarch_ci.core.reference import ImageRef, check_tag

SCHEME = "oci-layout://"
_HINT = "write it as oci-layout://PATH, oci-layout://PATH:TAG or oci-layout://PATH@sha256:<hex>"


@dataclass(frozen=True, slots=True)
class LayoutRef:
    """An image in an OCI image layout (a directory or a tar): at most one of tag and digest."""

    path: str
    tag: str | None = None
    digest: Digest | None = None

    @classmethod
    def parse(cls, text: str) -> LayoutRef:
        raw = text.strip() if isinstance(text, str) else ""
        if not raw.startswith(SCHEME):
            raise InputError(f"invalid layout reference {raw!r}: it does not start with {SCHEME}", _HINT)
        rest = raw[len(SCHEME):]
        tag = digest = None
        if "@" in rest and "/" not in rest.rpartition("@")[2]:
            rest, _, dtext = rest.rpartition("@")
            try:
                digest = Digest.parse(dtext)
            except InputError as e:
                raise InputError(f"invalid layout reference {raw!r}: {e.message}", e.hint) from None
        else:
            slash, colon = rest.rfind("/"), rest.rfind(":")
            if colon > slash:
                rest, tag = rest[:colon], rest[colon + 1:]
                try:
                    check_tag(tag)
                except InputError as e:
                    raise InputError(f"invalid layout reference {raw!r}: invalid tag {tag!r}", e.hint) from None
        if not rest:
            raise InputError(f"invalid layout reference {raw!r}: no path", _HINT)
        if "\x00" in rest or "\n" in rest:
            raise InputError(f"invalid layout reference {raw!r}: the path holds a control character", _HINT)
        if digest is not None and (":" in rest[rest.rfind("/") + 1:]):
            raise InputError(f"invalid layout reference {raw!r}: give a tag or a digest, not both", _HINT)
        return cls(rest, tag, digest)

    @property
    def reference(self) -> str | None:
        """The digest when pinned, else the tag, else None (the layout's only image)."""
        return str(self.digest) if self.digest else self.tag

    def with_tag(self, tag: str | None) -> LayoutRef:
        return replace(self, tag=tag, digest=None)

    def with_digest(self, digest: Digest | None) -> LayoutRef:
        return replace(self, digest=digest, tag=None if digest else self.tag)

    @property
    def name(self) -> str:
        return f"{SCHEME}{self.path}"

    def in_repository(self, other: object) -> bool:
        """The same layout (a layout is one repository); never a registry repository."""
        return isinstance(other, LayoutRef) and other.path == self.path

    def __str__(self) -> str:
        if self.digest:
            return f"{self.name}@{self.digest}"
        return f"{self.name}:{self.tag}" if self.tag else self.name


def is_layout(text: str) -> bool:
    return isinstance(text, str) and text.strip().startswith(SCHEME)


def parse_location(text: str) -> ImageRef | LayoutRef:
    """`oci-layout://...` is a LayoutRef; anything else is parsed as a registry ImageRef."""
    return LayoutRef.parse(text) if is_layout(text) else ImageRef.parse(text)


def registry_of(ref: ImageRef | LayoutRef) -> str | None:
    """The registry a ref names; None for a layout (no host to connect to, log in to or mount from)."""
    return ref.registry if isinstance(ref, ImageRef) else None


def same_registry(a: ImageRef | LayoutRef, b: ImageRef | LayoutRef) -> bool:
    """Both on one registry, so a blob may be mounted from one into the other."""
    return registry_of(a) is not None and registry_of(a) == registry_of(b)
