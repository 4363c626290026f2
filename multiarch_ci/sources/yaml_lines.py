"""Load YAML or JSON input text into dicts and lists that remember the 1-based line of each key and item.

Pure: takes text, never reads files. Every failure is an `InputError` saying `FILE:LINE: ...`.
YAML plain scalars all load as strings (so `tags: [1.10]` stays "1.10" and `on` stays "on");
duplicate keys are an error; more than one document is an error.
"""
from __future__ import annotations

import json
import json.decoder
import json.scanner
import re
from collections.abc import Callable

from multiarch_ci.core.errors import InputError
from multiarch_ci.sources.yaml_nodes import YList, YMap


class _LinedDecoder(json.JSONDecoder):
    """A JSONDecoder whose per-instance parsers (set by CPython's __init__, absent from the stub) are declared,
    so load_json may swap them for ones that record lines."""

    parse_object: Callable[..., tuple[YMap, int]]
    parse_array: Callable[..., tuple[YList, int]]
    scan_once: Callable[[str, int], tuple[object, int]]


def load_yaml(text: str, filename: str, what: str = "spec"):
    """One YAML document as YMap/YList/str values; None when the text holds no document.

    PyYAML is imported here, on the first YAML input, not at start-up (a from-args push never needs it)."""
    from multiarch_ci.sources.yaml_loader import load_yaml as load
    return load(text, filename, what)


def _line_at(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def load_json(text: str, filename: str):
    """A JSON document as YMap/YList values (each with lines); duplicate keys are an error."""

    def parse_object(s_and_end, strict, scan_once, object_hook, object_pairs_hook, memo=None):
        s, start = s_and_end
        starts: list[int] = []

        def scan(string, idx):
            starts.append(idx)
            return scan_once(string, idx)

        def pairs(items):
            out = YMap(_line_at(s, start - 1))
            for (key, value), pos in zip(items, starts, strict=True):   # one scan per value
                if key in out:
                    raise InputError(f"{filename}:{_line_at(s, pos)}: duplicate key {key!r} "
                                     f"(first on line {out.key_lines[key]})", "give each key once")
                out[key] = value
                out.key_lines[key] = out.value_lines[key] = _line_at(s, pos)
            return out

        return json.decoder.JSONObject(s_and_end, strict, scan, None, pairs, memo)

    def parse_array(s_and_end, scan_once):
        s, start = s_and_end
        starts: list[int] = []

        def scan(string, idx):
            starts.append(idx)
            return scan_once(string, idx)

        values, end = json.decoder.JSONArray(s_and_end, scan)
        out = YList(_line_at(s, start - 1))
        out.extend(values)
        out.item_lines = [_line_at(s, pos) for pos in starts[:len(values)]]
        return out, end

    decoder = _LinedDecoder()
    decoder.parse_object, decoder.parse_array = parse_object, parse_array
    # the pure-Python scanner: the C one parses objects and arrays itself, never calling the two above;
    # typeshed's json.scanner stub declares make_scanner only
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    try:
        return decoder.decode(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{filename}:{e.lineno}: invalid JSON: {e.msg} (column {e.colno})",
                         "JSON allows no trailing commas, comments or single quotes") from None
    except RecursionError:
        raise InputError(f"{filename}:1: invalid JSON: nested too deeply", "flatten the document") from None
    except ValueError:  # an integer longer than Python converts (over 4300 digits)
        m = re.search(r"\d{4301,}", text)
        line = text.count("\n", 0, m.start()) + 1 if m else 1
        raise InputError(f"{filename}:{line}: invalid JSON: a number of more than 4300 digits",
                         "no field here takes such a number") from None
