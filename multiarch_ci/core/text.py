"""Neutralise text that came from outside before a person, a CI runner or a later job reads it (pure).

A registry's error message, a manifest field, a file name or an input value may hold a newline
followed by `::add-mask::…` (a GitHub workflow command), an ANSI escape, a GitLab section marker or
a bidi override. Everything we print, write to GITHUB_OUTPUT, the step summary or a dotenv file
passes through here, so such text is shown, never obeyed:

* control characters (C0, DEL, C1), line/paragraph separators, bidi controls and lone surrogates
  become JSON-style escapes (`\\n`, `\\t`, `\\u001b`), so an escaped JSON document stays valid JSON
  and decodes to the same value;
* a line that would start with `::` once leading whitespace is trimmed (as the GitHub runner trims
  it) gets its first colon escaped (`\\u003a:`), and `##[` (the runner's older command form,
  recognised anywhere in a line) becomes `\\u0023#[`.

Backslashes are left alone, so cleaning twice changes nothing.
"""
from __future__ import annotations

import re
import unicodedata

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_SPECIAL = re.compile(r"[^\x20-\x7e]")   # only these can need escaping; printable ASCII is fast-pathed


def _unsafe(c: str) -> bool:
    return c in _BIDI or unicodedata.category(c) in ("Cc", "Zl", "Zp", "Cs")


def _escape(c: str) -> str:
    return _NAMED.get(c) or f"\\u{ord(c):04x}"


def escape_controls(text: str, keep: str = "") -> str:
    """Only the control characters escaped (for a file no runner reads commands from)."""
    return _SPECIAL.sub(lambda m: m[0] if m[0] in keep or not _unsafe(m[0]) else _escape(m[0]), text)


def _defuse(line: str) -> str:
    """No workflow command in one line: escape a leading `::` and every `##[`."""
    line = line.replace("##[", "\\u0023#[")
    start = len(line) - len(line.lstrip())
    if line.startswith("::", start):
        line = line[:start] + "\\u003a" + line[start + 1:]
    return line


def clean(text: object) -> str:
    """One line: every control character (newlines included) escaped, no workflow command."""
    return _defuse(escape_controls(str(text), ""))


def clean_lines(text: object, keep: str = "\n") -> str:
    """Our own multi-line output (a table, a JSON document, a traceback): the newlines stay, and
    each line is cleaned as `clean` does; `keep` names other whitespace to leave (e.g. "\\r\\t")."""
    text = escape_controls(str(text), keep)
    return "\n".join(_defuse(line) for line in text.split("\n"))


def is_clean(text: str, keep: str = "\n\r\t") -> bool:
    """True when printing text as it is could not inject a line, a command or an escape sequence."""
    return clean_lines(text, keep) == text


def cell(text: object) -> str:
    """A table cell (stdout table or Markdown): one clean line with `|` escaped."""
    return clean(text).replace("|", "\\|")


def md_cell(text: object) -> str:
    """A Markdown table cell: as `cell`, and `<`, `>`, `&` as entities so no HTML gets through."""
    return cell(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
