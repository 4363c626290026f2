"""manifest-tool's `push from-spec` YAML: the target, its tags and annotations, and the per-arch entries.

Pure, like sources.py (whose entry rules it shares): every bad input is one `InputError` naming FILE:LINE.
"""
from __future__ import annotations

from dataclasses import dataclass

from multiarch_ci.core.errors import InputError
from multiarch_ci.core.plan import SourceSpec, parse_tags
from multiarch_ci.core.reference import ImageRef
from multiarch_ci.sources.forms import ANNOTATION_KEY, at, entries, string
from multiarch_ci.sources.yaml_lines import load_yaml
from multiarch_ci.sources.yaml_nodes import YList, YMap, check_keys, kind_of, line_of

_SPEC_KEYS = ("image", "tags", "manifests", "annotations")


@dataclass(frozen=True, slots=True)
class SpecFile:
    target: ImageRef
    tags: tuple[str, ...]
    sources: tuple[SourceSpec, ...]
    annotations: tuple[tuple[str, str], ...]


def parse_spec(text: str, filename: str) -> SpecFile:
    """A manifest-tool `push from-spec` YAML file, plus `annotations` and per-entry `digest`/`platforms`."""
    doc = load_yaml(text, filename, "spec")
    if not isinstance(doc, YMap):
        raise InputError(f"{filename}:{line_of(doc)}: the spec must be a mapping, got {kind_of(doc)}",
                         "start with image: REGISTRY/REPOSITORY:TAG and manifests: [...]")
    check_keys(doc, _SPEC_KEYS, filename, "the spec")
    for key in ("image", "manifests"):
        if key not in doc:
            raise InputError(f"{filename}:{doc.line}: the spec has no {key}",
                             "a spec needs image: (the target) and manifests: (the per-arch sources)")
    where = f"{filename}:{doc.value_line('image')}"
    target = at(where, ImageRef.parse, string(doc, "image", filename, "the spec"))
    if target.digest:
        raise InputError(f"{where}: the target image may not carry a digest", "a target is a repository and tags")
    tags: tuple[str, ...] = ()
    if "tags" in doc:
        value, where = doc["tags"], f"{filename}:{doc.value_line('tags')}"
        if not isinstance(value, (YList, str)):
            raise InputError(f"{where}: tags must be a list or a comma-separated string, got {kind_of(value)}",
                             "e.g. tags: ['1.0', latest]")
        found: list[str] = []
        for i, item in enumerate(value if isinstance(value, YList) else [value]):
            line = value.item_line(i) if isinstance(value, YList) else doc.value_line("tags")
            if not isinstance(item, str):
                raise InputError(f"{filename}:{line}: tags must be strings, got {kind_of(item)}", "quote the tag")
            found += at(f"{filename}:{line}", parse_tags, item)
        tags = tuple(dict.fromkeys(found))
    manifests = doc["manifests"]
    if not isinstance(manifests, YList):
        raise InputError(f"{filename}:{doc.value_line('manifests')}: manifests must be a list, "
                         f"got {kind_of(manifests)}", "e.g. manifests: [{image: REF, platform: {...}}]")
    if not manifests:
        raise InputError(f"{filename}:{doc.value_line('manifests')}: manifests is empty",
                         "list at least one per-arch image")
    annotations: list[tuple[str, str]] = []
    if "annotations" in doc:
        value = doc["annotations"]
        if not isinstance(value, YMap):
            raise InputError(f"{filename}:{doc.value_line('annotations')}: annotations must be a mapping, "
                             f"got {kind_of(value)}", "e.g. annotations: {org.opencontainers.image.source: URL}")
        for key, item in value.items():
            if not isinstance(key, str) or not ANNOTATION_KEY.fullmatch(key) or not isinstance(item, str):
                raise InputError(f"{filename}:{value.key_line(key)}: annotation {key!r} must be a key "
                                 f"without spaces and a string value", "quote the value")
            annotations.append((key, item))
    return SpecFile(target, tags, entries(manifests, filename, "manifests"), tuple(annotations))
