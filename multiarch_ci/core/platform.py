"""Platforms: parse `os[(os.version)]/arch[/variant]`, normalise, compare with an image config.

Field meanings: https://github.com/opencontainers/image-spec/blob/main/image-index.md#image-index-property-descriptions
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from multiarch_ci.core.errors import InputError

TYPE_CHECKING = False   # not typing's: typing is not worth its import at every start
if TYPE_CHECKING:
    from typing import Any

# (os, arch-alias) -> (architecture, variant); containerd/regclient spellings.
_ARCH_ALIASES: dict[str, tuple[str, str | None]] = {
    "x86_64": ("amd64", None), "x86-64": ("amd64", None), "x64": ("amd64", None),
    "aarch64": ("arm64", None), "armv8": ("arm64", "v8"), "arm64v8": ("arm64", "v8"),
    "i386": ("386", None), "i486": ("386", None), "i586": ("386", None), "i686": ("386", None),
    "x86": ("386", None),
    "armhf": ("arm", "v7"), "armel": ("arm", "v6"), "armv7": ("arm", "v7"), "armv7l": ("arm", "v7"),
    "armv6": ("arm", "v6"), "armv6l": ("arm", "v6"), "armv5": ("arm", "v5"), "armv5l": ("arm", "v5"),
    "arm32v7": ("arm", "v7"), "arm32v6": ("arm", "v6"), "arm32v5": ("arm", "v5"),
    "ppc64el": ("ppc64le", None), "powerpc64le": ("ppc64le", None),
    "riscv64gc": ("riscv64", None),
}
_OS_ALIASES = {"macos": "darwin", "osx": "darwin", "win": "windows"}
# Go's known GOOS/GOARCH values (go/build/syslist.go), which the OCI image spec's platform fields take, and
# "unknown" (buildx's attestation entries): a platform the user writes must name one of them, so a typo
# (linux/arm46) is an input error at once, not a wait for an image that can never land. Registry data is
# not held to this list.
KNOWN_OS = ("aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js", "linux", "nacl",
            "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows", "zos", "unknown")
KNOWN_ARCH = ("386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "loong64", "mips", "mipsle",
              "mips64", "mips64le", "mips64p32", "mips64p32le", "ppc", "ppc64", "ppc64le", "riscv", "riscv64",
              "s390", "s390x", "sparc", "sparc64", "wasm", "unknown")
# The variant a bare architecture means, so linux/arm64 and linux/arm64/v8 compare equal.
_DEFAULT_VARIANT = {"arm64": "v8", "arm": "v7", "amd64": "v1"}
# Whole-string matches (fullmatch): a field "linux\n" is refused, never pushed into an index.
_WORD = re.compile(r"[a-z0-9_.-]+")
_OS_VERSION = re.compile(r"[0-9]+(?:\.[0-9]+)*")
# What makes two platforms the same (`Platform.identity`): os, architecture, variant (default filled in),
# os.version, sorted os.features, sorted CPU features.
PlatformIdentity = tuple[str, str, str | None, str | None, tuple[str, ...], tuple[str, ...]]
_SPEC = re.compile(r"(?P<os>[^/()]+)(?:\((?P<ver>[^()]*)\))?/(?P<arch>[^/]+)(?:/(?P<variant>[^/]+))?")


@dataclass(frozen=True, slots=True)
class Platform:
    """An OCI platform; `str()` prints `os/arch[/variant]` or `windows(10.0.17763.6054)/amd64`."""

    os: str
    architecture: str
    variant: str | None = None
    os_version: str | None = None
    os_features: tuple[str, ...] = ()         # `os.features` (e.g. win32k)
    features: tuple[str, ...] = ()            # CPU features: Docker list `platform.features`; reserved in OCI

    @classmethod
    def parse(cls, text: str) -> Platform:
        m = _SPEC.fullmatch(text.strip(" \t") if isinstance(text, str) else "")
        if not m:
            raise InputError(f"invalid platform {text!r}",
                             "write os/arch[/variant], e.g. linux/arm64/v8 or windows(10.0.17763.6054)/amd64")
        return cls.of(m["os"], m["arch"], m["variant"], m["ver"] or None, where=repr(text)).known(repr(text))

    def known(self, where: str) -> Platform:
        """Itself, when its os and architecture are ones images use; else an InputError naming the nearest."""
        for label, value, known, common in (("os", self.os, KNOWN_OS, "linux, windows, freebsd, darwin"),
                                            ("architecture", self.architecture, KNOWN_ARCH,
                                             "amd64, arm64, arm, 386, ppc64le, s390x, riscv64, mips64le")):
            if value not in known:
                import difflib  # on this error only: not worth its import at every start

                near = difflib.get_close_matches(value, known, n=1, cutoff=0.5)
                said = f"did you mean {near[0]}? " if near else ""
                raise InputError(f"invalid platform {where}: unknown {label} {value!r}",
                                 f"{said}{label} values are Go's, e.g. {common}")
        return self

    @classmethod
    def of(cls, os: str, architecture: str, variant: str | None = None, os_version: str | None = None,
           os_features: tuple[str, ...] | list[str] = (), where: str = "",
           features: tuple[str, ...] | list[str] = ()) -> Platform:
        """Build a normalised platform from its parts (aarch64 -> arm64, armhf -> arm/v7, ...)."""
        where = where or f"{os}/{architecture}"
        osn = _OS_ALIASES.get(str(os).lower(), str(os).lower())
        arch = str(architecture).lower()
        var = str(variant).lower() if variant else None
        alias_arch, alias_var = _ARCH_ALIASES.get(arch, (arch, None))
        if alias_var and var and var != alias_var:
            raise InputError(f"invalid platform {where}: {architecture} implies variant {alias_var}, not {var}")
        arch, var = alias_arch, var or alias_var
        for label, value in (("os", osn), ("architecture", arch), ("variant", var)):
            if value is not None and not _WORD.fullmatch(value):
                raise InputError(f"invalid platform {where}: bad {label} {value!r}",
                                 "lower-case letters, digits, . _ -")
        if os_version is not None and not _OS_VERSION.fullmatch(str(os_version)):
            raise InputError(f"invalid platform {where}: bad os.version {os_version!r}",
                             "digits and dots, e.g. 10.0.17763.6054")
        for label, words in (("os.features", os_features), ("features", features)):
            if not isinstance(words or (), (list, tuple)) or not all(
                    isinstance(f, str) and _WORD.fullmatch(f) for f in words or ()):
                raise InputError(f"invalid platform {where}: bad {label} {words!r}",
                                 "a list of lower-case words, e.g. [win32k] or [sse4]")
        return cls(osn, arch, var, str(os_version) if os_version else None, tuple(os_features or ()),
                   tuple(features or ()))

    @classmethod
    def from_dict(cls, d: object, where: str = "platform") -> Platform:
        """From an OCI descriptor's `platform` object, an image config or a spec platform.

        `os.features`/`osfeatures` are OS features; `features` is the Docker list's CPU features list.
        """
        if not isinstance(d, dict) or not d.get("os") or not d.get("architecture"):
            raise InputError(f"invalid {where}: needs os and architecture", "e.g. {os: linux, architecture: arm64}")
        os_features = d.get("os.features") or d.get("osfeatures") or ()
        version = d.get("os.version") or d.get("osversion")
        return cls.of(d["os"], d["architecture"], d.get("variant"), version, tuple(os_features), where=where,
                      features=tuple(d.get("features") or ()))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"architecture": self.architecture, "os": self.os}
        if self.os_version:
            out["os.version"] = self.os_version
        if self.os_features:
            out["os.features"] = list(self.os_features)
        if self.variant:
            out["variant"] = self.variant
        if self.features:
            out["features"] = list(self.features)
        return out

    @property
    def is_unknown(self) -> bool:
        """The unknown/unknown platform buildx gives attestation manifests."""
        return self.os == "unknown" and self.architecture == "unknown"

    def sort_key(self) -> tuple[str, str, str, str, tuple[str, ...], tuple[str, ...]]:
        return (self.os, self.architecture, self.variant or "", self.os_version or "", self.os_features,
                self.features)

    def _variant_or_default(self) -> str | None:
        return self.variant or _DEFAULT_VARIANT.get(self.architecture)

    def identity(self) -> PlatformIdentity:
        """What makes two platforms the same once default variants are filled in."""
        return (self.os, self.architecture, self._variant_or_default(), self.os_version or None,
                tuple(sorted(self.os_features)), tuple(sorted(self.features)))

    def same_as(self, other: Platform) -> bool:
        """Equal once default variants are filled in (linux/arm64 == linux/arm64/v8)."""
        return self.identity() == other.identity()

    def conflicts_with(self, config: Platform) -> str | None:
        """Why this declared platform contradicts an image's config platform, or None."""
        if (self.os, self.architecture) != (config.os, config.architecture):
            return f"declared {self} but the image config says {config}"
        if self.variant and config.variant and self._variant_or_default() != config._variant_or_default():
            return f"declared variant {self.variant} but the image config says {config.variant}"
        if self.os_version and config.os_version and self.os_version != config.os_version:
            return f"declared os.version {self.os_version} but the image config says {config.os_version}"
        return None

    def merged_with(self, config: Platform) -> Platform:
        """The declared platform completed from the config (config wins where both speak)."""
        return replace(config, variant=config.variant or self.variant,
                       os_version=config.os_version or self.os_version,
                       os_features=config.os_features or self.os_features,
                       features=config.features or self.features)

    def __str__(self) -> str:
        head = f"{self.os}({self.os_version})" if self.os_version else self.os
        return f"{head}/{self.architecture}/{self.variant}" if self.variant else f"{head}/{self.architecture}"
