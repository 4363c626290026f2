"""Content digests: `algorithm:encoded` (https://github.com/opencontainers/image-spec/blob/main/descriptor.md#digests)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from multiarch_ci.core.errors import InputError

TYPE_CHECKING = False   # not typing's: typing is not worth its import at every start
if TYPE_CHECKING:
    from typing import Protocol

    class Hasher(Protocol):
        """What digest checks use of a hashlib object: feed it, then read its hex digest."""

        def update(self, data: bytes, /) -> None: ...

        def hexdigest(self) -> str: ...

_HEX_LEN = {"sha256": 64, "sha512": 128}
_GRAMMAR = re.compile(r"([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)")  # fullmatch: no trailing \n


@dataclass(frozen=True, slots=True, order=True)
class Digest:
    """A validated digest; `str()` prints `sha256:<hex>`."""

    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: str) -> Digest:
        m = _GRAMMAR.fullmatch(text.strip(" \t") if isinstance(text, str) else "")
        if not m:
            raise InputError(f"invalid digest {text!r}", "expected sha256:<64 lower-case hex digits>")
        algorithm, encoded = m.groups()
        want = _HEX_LEN.get(algorithm)
        if want is None:
            raise InputError(f"invalid digest {text!r}: unsupported algorithm {algorithm!r}",
                             "use sha256 (or sha512)")
        if len(encoded) != want or not re.fullmatch(r"[0-9a-f]+", encoded):
            raise InputError(f"invalid digest {text!r}: {algorithm} takes {want} lower-case hex digits",
                             f"got {len(encoded)} characters")
        return cls(algorithm, encoded)

    @classmethod
    def of(cls, data: bytes, algorithm: str = "sha256") -> Digest:
        import hashlib  # here, not at start-up: loading OpenSSL's hashes waits until the first body
        return cls(algorithm, hashlib.new(algorithm, data).hexdigest())

    def names(self, data: bytes) -> bool:
        """Whether this digest names `data`, hashed in this digest's own algorithm (a registry may answer in
        sha512 for bytes we hashed in sha256)."""
        return self == Digest.of(data, self.algorithm)

    def hasher(self) -> Hasher:
        """A fresh hashlib object of this digest's algorithm (to verify streamed content)."""
        import hashlib
        return hashlib.new(self.algorithm)

    @property
    def short(self) -> str:
        return f"{self.algorithm}:{self.hex[:12]}"

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"
