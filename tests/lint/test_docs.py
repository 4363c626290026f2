"""The user docs (README.md, docs/) cannot drift unseen from what they describe.

- docs/action.md's inputs and outputs are generated from action.yml (scripts/gen-action-docs.py);
- every example under examples/ is linked from the docs (tests/lint/test_workflows.py lints each one);
- every relative link and anchor resolves;
- the image size quoted is the one the image test last recorded (tests/image/image-size.json);
- the docs speak of the product, not of its history (no issue numbers), and the README stays short.
The README's quick-start sample is compared with what the quick start prints in tests/cli/test_scripts.py,
its workflow is linted and its merge step run in tests/ci/test_readme_snippet.py.
"""
from __future__ import annotations

import json
import re
import runpy
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md"))
USER_DOCS = [README, *(p for p in PAGES if not p.name.startswith("NOTES-"))]
ADOPTION = [ROOT / n for n in ("LICENSE", "CHANGELOG.md", "CONTRIBUTING.md", "SECURITY.md")]
GEN = runpy.run_path(str(ROOT / "scripts" / "gen-action-docs.py"))

LINK = re.compile(r"\]\(([^)\s]+)\)")


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower().replace("_", "-"))
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    return {slug(m) for m in re.findall(r"(?m)^#{1,6} (.+)$", text)}


def test_action_page_is_generated_from_action_yml():
    meta = yaml.safe_load((ROOT / "action.yml").read_text())
    page = (ROOT / "docs" / "action.md").read_text()
    assert page == GEN["render"](page, meta), "docs/action.md disagrees with action.yml: run " \
                                              "python scripts/gen-action-docs.py"
    for name in [*meta["inputs"], *meta["outputs"]]:
        assert f"| `{name}` |" in page, name


def test_the_generator_notices_a_changed_input():
    """The check above is real: an input described differently gives a different page."""
    meta = yaml.safe_load((ROOT / "action.yml").read_text())
    page = (ROOT / "docs" / "action.md").read_text()
    meta["inputs"]["tags"]["description"] = "something else entirely"
    assert GEN["render"](page, meta) != page


@pytest.mark.parametrize("example", sorted((ROOT / "examples").iterdir()), ids=lambda p: p.name)
def test_every_example_is_linked_from_the_docs(example: Path):
    linked = {m for doc in USER_DOCS for m in LINK.findall(doc.read_text())}
    targets = {(doc.parent / m.split("#")[0]).resolve() for doc in USER_DOCS for m in LINK.findall(doc.read_text())
               if not m.startswith(("http:", "https:", "#"))}
    assert example.resolve() in targets, f"{rel(example)} is linked from no page: {sorted(linked)[:5]}…"


@pytest.mark.parametrize("doc", [*USER_DOCS, *ADOPTION[1:]], ids=rel)
def test_relative_links_and_anchors_resolve(doc: Path):
    text = re.sub(r"```.*?```", "", doc.read_text(), flags=re.S)
    for link in LINK.findall(text):
        if link.startswith(("http:", "https:", "mailto:")):
            continue
        target, _, anchor = link.partition("#")
        path = (doc.parent / target).resolve() if target else doc
        assert path.exists(), f"{rel(doc)}: link to {link} names no file"
        if anchor and path.suffix == ".md":
            assert anchor in anchors(path), f"{rel(doc)}: link to {link}: no such heading in {path.name}"


def test_the_image_size_quoted_is_the_last_measured():
    recorded = json.loads((ROOT / "tests" / "image" / "image-size.json").read_text())["added_mb"]
    page = (ROOT / "docs" / "action.md").read_text()
    quoted = re.findall(r"The Dockerfile adds \*\*([\d.]+) MB\*\*", page)
    assert quoted == [f"{recorded:.1f}"], (quoted, recorded)
    others = [d for d in USER_DOCS if d.name != "action.md" and re.search(r"adds \*\*[\d.]+ MB", d.read_text())]
    assert not others, f"the image size is quoted once, in docs/action.md: {others}"


@pytest.mark.parametrize("doc", USER_DOCS, ids=rel)
def test_user_docs_speak_of_the_product_not_its_history(doc: Path):
    text = doc.read_text()
    found = re.findall(r"(?i)\bissue[ #]?\d+\b|\bissue\d+\.", text)
    assert not found, f"{rel(doc)}: {found}"


def test_readme_is_the_product_page():
    text = README.read_text()
    lines = text.splitlines()
    assert len(lines) <= 300, len(lines)
    order = [text.index(h) for h in ("```mermaid", "## GitHub Actions", "## GitLab CI", "## Command line",
                                     "## Quick start", "## Documentation")]
    assert order == sorted(order), "the README's sections are in the order a user needs them"
    first_uses = next(i for i, line in enumerate(lines) if "uses: org/multiarch-manifest@v1" in line)
    assert first_uses < 120, f"the action's `uses:` first appears at line {first_uses + 1}"
    for page in PAGES:
        if not page.name.startswith("NOTES-"):
            assert f"(docs/{page.name})" in text, f"README links no docs/{page.name}"
    for name in ("LICENSE", "CHANGELOG.md", "CONTRIBUTING.md", "SECURITY.md"):
        assert f"({name})" in text, name


@pytest.mark.parametrize("path", ADOPTION, ids=lambda p: p.name)
def test_adoption_files_exist(path: Path):
    assert path.is_file() and path.stat().st_size > 200, path


def test_license_is_apache_2():
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_changelog_keeps_a_changelog():
    text = (ROOT / "CHANGELOG.md").read_text()
    assert "https://keepachangelog.com/en/1.1.0/" in text and "https://semver.org/" in text
    releases = re.findall(r"(?m)^## \[([^\]]+)\]", text)
    assert "1.0.0" in releases, releases
    for section in re.findall(r"(?m)^### (.+)$", text):
        assert section in ("Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"), section
