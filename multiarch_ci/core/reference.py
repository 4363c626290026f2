"""Image references per the distribution grammar (https://github.com/distribution/reference)."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import InputError, setting

DOCKER_HUB = "docker.io"
_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
# All matched with fullmatch: Python's `$` also matches before a final newline ("v1\n").
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_DOMAIN = re.compile(
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
    r"|\[[0-9a-fA-F:]+\])(?::[0-9]+)?")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")  # ASCII \w: a tag is ASCII
_MAX_NAME = 255
_ALGORITHMS = ("sha256:", "sha512:")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


def redact(text: str) -> str:
    """Hide credentials written into a reference: `user:pass@host/repo` -> `user:***@host/repo`,
    `token@host/repo` -> `***@host/repo`; any other text comes back unchanged."""
    if not isinstance(text, str) or "@" not in text:
        return text
    scheme, sep, rest = text.partition("://")
    head, body = (scheme + sep, rest) if sep else ("", text)
    userinfo, _, after = body.partition("@")
    if "/" in userinfo or after.startswith(_ALGORITHMS):
        return text  # name@digest: no credentials here
    user, colon, _ = userinfo.partition(":")
    return f"{head}{user}:***@{after}" if colon else f"{head}***@{after}"


def _is_domain(first: str) -> bool:
    return "." in first or ":" in first or first == "localhost" or first.lower() != first


def check_tag(tag: str, where: str = "tag") -> str:
    """Validate a tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}."""
    if not isinstance(tag, str) or not _TAG.fullmatch(tag):
        raise InputError(f"invalid {where} {tag!r}",
                         "a tag is 1-128 characters of letters, digits, _ . - and may not start with . or -")
    return tag


def tag_from(text: str) -> str:
    """A valid tag made from any text (a branch name): what is not allowed becomes '-', as
    docker/metadata-action does for type=ref (feature/foo -> feature-foo)."""
    tag = re.sub(r"[^\w.-]", "-", text.strip()).lstrip(".-")[:128]
    return tag or "latest"


def _no_scheme(raw: str) -> None:
    """'http://host/app:v1' or skopeo's 'docker://host/app:v1': a reference names no scheme or transport."""
    m = _SCHEME.match(raw)
    if not m:
        return
    scheme = m[1].lower()
    if scheme in ("oci", "oci-archive", "oci-dir"):
        hint = f"an OCI layout is written oci-layout://{raw[m.end():]}"
    elif scheme == "http":
        hint = (f"drop it: {raw[m.end():]} (HTTPS is tried first; for plain HTTP mark the registry with "
                f"{setting('insecure-registry')} HOST[:PORT], a loopback one needs nothing)")
    else:
        hint = f"drop it: {raw[m.end():]}"
    raise InputError(f"invalid reference {raw!r}: a reference has no scheme ({m[1]}://)", hint)


def _tag_with_slash(rest: str, raw: str) -> None:
    """'ghcr.io/o/app:feature/foo': a ':' after the registry host, before a '/', is a tag holding '/'."""
    first, sep, remainder = rest.partition("/")
    host = sep and _is_domain(first) and (":" not in first or first.endswith("]") or first.rsplit(":", 1)[1].isdigit())
    if sep and not host and "." in first:
        return  # 'ghcr.io:x/a': a bad registry port, which _split_domain reports
    path = remainder if host else rest   # 'app:feature/foo' has no host: its ':' starts a tag
    if ":" in path:
        tag = path.partition(":")[2]
        raise InputError(f"invalid reference {raw!r}: tag {tag!r} cannot contain '/'",
                         f"use a tag such as {tag_from(tag)} (letters, digits, _ . -)")


@dataclass(frozen=True, slots=True)
class ImageRef:
    """registry/repository[:tag][@digest]; registry is docker.io for Docker Hub."""

    registry: str
    repository: str
    tag: str | None = None
    digest: Digest | None = None

    @classmethod
    def parse(cls, text: str) -> ImageRef:
        raw = text.strip(" \t") if isinstance(text, str) else ""
        if not raw:
            raise InputError("empty image reference", "write it as registry/repository:tag")
        shown = redact(raw)
        if shown != raw:
            raise InputError(f"invalid reference {shown!r}: credentials (user:password@) do not belong in a "
                             "reference and were not used", "log in with docker login, --username/--password-stdin "
                             "or the action's username/password inputs")
        if not raw.isprintable():
            raise InputError(f"invalid reference {raw!r}: holds a control character or line break",
                             "write it on one line as registry/repository:tag")
        _no_scheme(raw)
        rest, digest = raw, None
        if "@" in rest:
            rest, _, dtext = rest.partition("@")
            try:
                digest = Digest.parse(dtext)
            except InputError as e:
                raise InputError(f"invalid reference {raw!r}: {e.message}", e.hint) from None
        name, tag = rest, None
        slash = rest.rfind("/")
        colon = rest.rfind(":")
        if colon > slash:
            name, tag = rest[:colon], rest[colon + 1:]
            try:
                check_tag(tag)
            except InputError as e:
                raise InputError(f"invalid reference {raw!r}: invalid tag {tag!r}", e.hint) from None
        else:
            _tag_with_slash(rest, raw)
        registry, path = cls._split_domain(name, raw)
        return cls(registry, path, tag, digest)

    @staticmethod
    def _split_domain(name: str, raw: str) -> tuple[str, str]:
        first, sep, remainder = name.partition("/")
        if sep and _is_domain(first):
            port = first.rsplit(":", 1)[1] if ":" in first.rsplit("]", 1)[-1] else None
            if not _DOMAIN.fullmatch(first) or (port is not None and not 1 <= int(port or 0) <= 65535):
                raise InputError(f"invalid reference {raw!r}: invalid registry host {first!r}",
                                 "a registry is host[:port] with a port from 1 to 65535, e.g. 127.0.0.1:5000")
            registry, path = first, remainder
        else:
            registry, path = DOCKER_HUB, name
        if registry in _HUB_ALIASES:
            registry = DOCKER_HUB
            if "/" not in path:
                path = f"library/{path}"
        if not path:
            raise InputError(f"invalid reference {raw!r}: no repository", "write it as registry/repository:tag")
        for component in path.split("/"):
            if component.lower() != component and _COMPONENT.fullmatch(component.lower()):
                explicit = name[:len(name) - len(remainder)] if sep and _is_domain(first) else ""
                lowered = explicit + name[len(explicit):].lower() + raw[len(name):]
                raise InputError(f"invalid reference {raw!r}: repository names are lower case ({component!r})",
                                 f"use {lowered}")
            if not _COMPONENT.fullmatch(component):
                raise InputError(f"invalid reference {raw!r}: invalid repository component {component!r}",
                                 "each path component is lower-case letters and digits, joined by . _ __ or -")
        if len(registry) + 1 + len(path) > _MAX_NAME:
            raise InputError(f"invalid reference {raw[:60]!r}…: name longer than {_MAX_NAME} characters",
                             "shorten the repository path")
        return registry, path

    @property
    def name(self) -> str:
        """registry/repository, without tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def reference(self) -> str:
        """What goes after /manifests/: the digest when pinned, else the tag (default latest)."""
        return str(self.digest) if self.digest else (self.tag or "latest")

    def with_tag(self, tag: str | None) -> ImageRef:
        return replace(self, tag=tag, digest=None)

    def with_digest(self, digest: Digest | None) -> ImageRef:
        return replace(self, digest=digest)

    def in_repository(self, other: object) -> bool:
        return (isinstance(other, ImageRef) and self.registry == other.registry
                and self.repository == other.repository)

    def __str__(self) -> str:
        out = self.name
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out
