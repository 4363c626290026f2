#!/usr/bin/env python3
"""Write the action's inputs and outputs into docs/action.md, generated from action.yml.

The tables sit between the BEGIN/END markers below; the hand-written text around them is kept.
  python scripts/gen-action-docs.py          rewrite docs/action.md
  python scripts/gen-action-docs.py --check  exit 1 (saying what to run) when docs/action.md is stale
tests/lint/test_docs.py runs the check, so the page and action.yml cannot disagree unseen.
"""
from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
ACTION = ROOT / "action.yml"
PAGE = ROOT / "docs" / "action.md"
BEGIN = "<!-- BEGIN GENERATED from action.yml by scripts/gen-action-docs.py: do not edit by hand -->"
END = "<!-- END GENERATED -->"


def cell(text: str) -> str:
    """One table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def default_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return f"`{text}`" if text else "—"


def tables(meta: dict) -> str:
    """The generated part: every input (with its default) and every output, in action.yml's order."""
    lines = ["### Inputs", "", "| input | default | description |", "|---|---|---|"]
    for name, spec in meta["inputs"].items():
        lines.append(f"| `{name}` | {default_cell(spec.get('default'))} | {cell(spec['description'])} |")
    lines += ["", "### Outputs", "", "| output | description |", "|---|---|"]
    for name, spec in meta["outputs"].items():
        lines.append(f"| `{name}` | {cell(spec['description'])} |")
    return "\n".join(lines)


def render(page: str, meta: dict) -> str:
    """``page`` with the text between the markers replaced by the tables generated from ``meta``."""
    head, sep, rest = page.partition(BEGIN)
    if not sep or END not in rest:
        raise SystemExit(f"gen-action-docs: {PAGE.relative_to(ROOT)} lacks the markers {BEGIN!r} ... {END!r}")
    tail = rest.split(END, 1)[1]
    return f"{head}{BEGIN}\n{tables(meta)}\n{END}{tail}"


def main(argv: list[str]) -> int:
    meta = yaml.safe_load(ACTION.read_text())
    page = PAGE.read_text()
    want = render(page, meta)
    if "--check" in argv:
        if page != want:
            print(f"gen-action-docs: {PAGE.relative_to(ROOT)} disagrees with action.yml "
                  "(run: python scripts/gen-action-docs.py)", file=sys.stderr)
            return 1
        return 0
    if page != want:
        PAGE.write_text(want)
        print(f"gen-action-docs: wrote {PAGE.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
