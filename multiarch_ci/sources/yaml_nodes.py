"""Dicts and lists that remember the 1-based line of each key and item, and checks on their keys (pure)."""
from __future__ import annotations

from multiarch_ci.core.errors import InputError


class YMap(dict):
    """A mapping with `line` (where it starts) and the line of each key and value."""

    __slots__ = ("key_lines", "line", "value_lines")

    def __init__(self, line: int = 1):
        super().__init__()
        self.line = line
        self.key_lines: dict[object, int] = {}
        self.value_lines: dict[object, int] = {}

    def key_line(self, key) -> int:
        return self.key_lines.get(key, self.line)

    def value_line(self, key) -> int:
        return self.value_lines.get(key, self.line)


class YList(list):
    """A list with `line` (where it starts) and the line of each item."""

    __slots__ = ("item_lines", "line")

    def __init__(self, line: int = 1):
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []

    def item_line(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


def line_of(value, default: int = 1) -> int:
    return getattr(value, "line", default)


_KINDS: dict[type[object], str] = {YMap: "a mapping", dict: "a mapping", YList: "a list", list: "a list",
                                   str: "a string"}


def kind_of(value: object) -> str:
    """How to name a loaded value's type in a message."""
    if value == "":
        return "an empty value"
    return _KINDS.get(type(value), "nothing" if value is None else type(value).__name__)


def check_keys(node: YMap, valid: tuple[str, ...], filename: str, what: str, note: str = "") -> None:
    """Reject a key not in valid, naming its line and the nearest valid spelling."""
    for key in node:
        if key not in valid:
            import difflib
            close = difflib.get_close_matches(str(key), valid, n=1) or [
                v for v in valid if len(str(key)) >= 3 and v.startswith(str(key))][:1]
            guess = f" (did you mean {close[0]!r}?)" if close else ""
            raise InputError(f"{filename}:{node.key_line(key)}: unknown key {key!r} in {what}{guess}",
                             f"valid keys: {', '.join(valid)}{note}")

