"""What a person reads: masked stdout/stderr lines and the inspect table."""
from __future__ import annotations

import base64
from collections.abc import Callable
from typing import TextIO


class Console:
    """Writes lines, replacing every known secret (and its base64) with ***."""

    def __init__(self, out: TextIO, err: TextIO, secrets: Callable[[], set[str]] = set):
        self._out, self._err = out, err
        self.secrets = secrets
        self.debug_on = False

    def mask(self, text: str) -> str:
        for s in sorted(self.secrets(), key=len, reverse=True):
            if s and len(s) >= 3:
                text = text.replace(s, "***")
                text = text.replace(base64.b64encode(s.encode()).decode(), "***")
        return text

    def out(self, line: str) -> None:
        self._out.write(self.mask(line) + "\n")
        self._out.flush()

    def raw(self, data: bytes) -> None:
        """The exact bytes, unmasked and unchanged (a manifest holds no credentials)."""
        self._out.flush()
        if hasattr(self._out, "buffer"):
            self._out.buffer.write(data)
        else:
            self._out.write(data.decode(errors="replace"))
        self._out.flush()

    def err(self, line: str) -> None:
        self._err.write(self.mask(line) + "\n")
        self._err.flush()

    def progress(self, line: str) -> None:
        self.err(line)

    def debug(self, line: str) -> None:
        if self.debug_on:
            self.err(f"debug: {line}")


def inspect_table(rows: list[dict]) -> str:
    """PLATFORM, DIGEST, SIZE, MEDIA TYPE; attestation rows marked."""
    table = [("PLATFORM", "DIGEST", "SIZE", "MEDIA TYPE")]
    platform_of = {r["digest"]: r["platform"] for r in rows if "attestationFor" not in r}
    for r in rows:
        platform = r["platform"]
        if "attestationFor" in r:
            platform += f" (attests {platform_of.get(r['attestationFor'] or '', 'another image')})"
        table.append((platform, r["digest"], str(r["size"]), r["mediaType"]))
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in table)
