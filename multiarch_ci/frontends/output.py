"""What a person reads: masked, neutralised stdout/stderr lines and the inspect table.

Console is the one way out to stdout/stderr: every line is masked (secrets) and then cleaned
(`text.clean_lines`: control characters escaped, no line can start a workflow command).
"""
from __future__ import annotations

import base64
from collections.abc import Callable, Mapping

from multiarch_ci.core.errors import name_settings
from multiarch_ci.core.text import cell, clean, clean_lines

TYPE_CHECKING = False   # not typing's: typing is not worth its import at every start
if TYPE_CHECKING:
    from typing import TextIO


class Console:
    """Writes lines, replacing every known secret (and its base64) with ***."""

    def __init__(self, out: TextIO, err: TextIO, secrets: Callable[[], set[str]] = set):
        self._out, self._err = out, err
        self.secrets = secrets
        self.debug_on = False
        self.names: Mapping[str, str] | None = None   # how settings are named (errors.setting; default: flags)
        self.on_warning: Callable[[str], None] | None = None   # the action: "warning: …" lines as annotations

    def mask(self, text: str) -> str:
        for s in sorted(self.secrets(), key=len, reverse=True):
            if s and len(s) >= 3:
                text = text.replace(s, "***")
                text = text.replace(base64.b64encode(s.encode()).decode(), "***")
        return text

    def out(self, text: str) -> None:
        """Our output, possibly several lines (a table, JSON): each line cleaned."""
        self._out.write(clean_lines(self.mask(text)) + "\n")
        self._out.flush()

    def raw(self, data: bytes) -> None:
        """The exact bytes, unmasked and unchanged (a manifest holds no credentials); the caller checks
        them with `text.is_clean` first."""
        self._out.flush()
        if hasattr(self._out, "buffer"):
            self._out.buffer.write(data)
        else:
            self._out.write(data.decode(errors="replace"))
        self._out.flush()

    def err(self, text: str) -> None:
        """An error report or a traceback (our line breaks kept, each line cleaned)."""
        self._err.write(clean_lines(self.mask(text)) + "\n")
        self._err.flush()

    def progress(self, line: str) -> None:
        """One line, whatever it holds: a newline from outside is escaped, not printed. A "warning: …" line
        goes to `on_warning` when set (the action's ::warning:: annotation)."""
        line = name_settings(line, self.names)
        if self.on_warning is not None and line.startswith("warning: "):
            self.on_warning(self.mask(line[len("warning: "):]))
            return
        self._err.write(clean(self.mask(line)) + "\n")
        self._err.flush()

    def debug(self, line: str) -> None:
        if self.debug_on:
            self.progress(f"debug: {line}")


def inspect_table(rows: list[dict]) -> str:
    """PLATFORM, DIGEST, SIZE, MEDIA TYPE; attestation rows marked."""
    table: list[tuple[str, ...]] = [("PLATFORM", "DIGEST", "SIZE", "MEDIA TYPE")]
    platform_of = {r["digest"]: r["platform"] for r in rows if "attestationFor" not in r}
    for r in rows:
        platform = r["platform"]
        if "attestationFor" in r:
            platform += f" (attests {platform_of.get(r['attestationFor'] or '', 'another image')})"
        table.append(tuple(cell(v) for v in (platform, r["digest"], r["size"], r["mediaType"])))
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table)
