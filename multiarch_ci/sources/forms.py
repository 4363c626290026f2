"""Where the per-arch images come from: matrices, templates, digest folders, plain refs (spec files: specfile.py).

Pure: the CLI reads files and folders and passes their text and listings in. Every bad input raises
`InputError` (exit 2) with one line saying what and where (`FILE:LINE: ...` for YAML/JSON) and a hint.
"""
from __future__ import annotations

import re

from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import InputError
from multiarch_ci.core.location import parse_location
from multiarch_ci.core.plan import EntryAnnotation, SourceSpec, split_items
from multiarch_ci.core.platform import Platform
from multiarch_ci.core.reference import ImageRef, redact
from multiarch_ci.sources.yaml_lines import load_json, load_yaml
from multiarch_ci.sources.yaml_nodes import YList, YMap, check_keys, kind_of, line_of

_ENTRY_KEYS = ("image", "platform", "digest", "platforms")
_PLATFORM_KEYS = ("architecture", "os", "variant", "features", "osversion", "osfeatures",
                  "os.version", "os.features")
# fullmatch only: `$` would accept a file name or key ending in "\n".
ANNOTATION_KEY = re.compile(r"[^\s\x00-\x1f\x7f]+")


def at(where: str, fn, *args):
    """Call fn; re-raise its InputError prefixed with where."""
    try:
        return fn(*args)
    except InputError as e:
        raise InputError(f"{where}: {e.message}", e.hint) from None


def string(node: YMap, key: str, filename: str, what: str) -> str:
    value = node[key]
    if not isinstance(value, str):
        raise InputError(f"{filename}:{node.value_line(key)}: {key} in {what} must be a string, got {kind_of(value)}",
                         f"e.g. {key}: ghcr.io/owner/app:tag" if key == "image" else "quote the value")
    return value


def _platform(value, where: str) -> Platform:
    if isinstance(value, str):
        return at(where, Platform.parse, value)
    if not isinstance(value, YMap):
        raise InputError(f"{where}: platform must be a mapping or os/arch[/variant], got {kind_of(value)}",
                         "e.g. platform: {os: linux, architecture: arm64, variant: v8}")
    filename = where.rsplit(":", 1)[0]
    check_keys(value, _PLATFORM_KEYS, filename, "platform", "; manifest-tool ignores an unknown platform key, here "
               "it is an error (no flag skips it) so a misspelt field is not lost")
    for key, item in value.items():
        ok = (isinstance(item, YList) and all(isinstance(f, str) for f in item)) if "features" in key \
            else isinstance(item, str)
        if not ok:
            want = "a list of strings" if "features" in key else "a string"
            raise InputError(f"{filename}:{value.value_line(key)}: platform {key} must be {want}, "
                             f"got {kind_of(item)}", f"e.g. {key}: [win32k]" if "features" in key
                             else f"e.g. {key}: \"10.0.17763.1879\"" if "version" in key else "quote the value")
    platform = at(f"{filename}:{value.line}", Platform.from_dict, dict(value), "platform")
    return at(f"{filename}:{value.line}", platform.known, "platform")   # a typo fails now, not after the wait


def _platform_list(value, where: str) -> tuple[Platform, ...]:
    if isinstance(value, YList) and all(isinstance(v, str) for v in value):
        value = list(value)
    elif not isinstance(value, str):
        raise InputError(f"{where}: platforms must be a list of os/arch[/variant] strings, got {kind_of(value)}",
                         "e.g. platforms: [linux/amd64, linux/arm64]")
    out: dict[tuple, Platform] = {}   # by identity: the first spelling of each platform, in order
    for text in split_items(value):
        p = at(where, Platform.parse, text)
        out.setdefault(p.identity(), p)
    if not out:
        raise InputError(f"{where}: platforms is empty", "list the platforms to keep, or drop the key")
    return tuple(out.values())


def _entry(value, filename: str, line: int, what: str) -> SourceSpec:
    origin = f"{filename}:{line}"
    if isinstance(value, str):
        ref = at(origin, parse_location, value)
        return SourceSpec(ref, ref.digest, origin=origin)
    if not isinstance(value, YMap):
        raise InputError(f"{origin}: each {what} entry must be a mapping with an image, got {kind_of(value)}",
                         "e.g. - image: ghcr.io/owner/app:amd64")
    check_keys(value, _ENTRY_KEYS, filename, f"{what} entry")
    if "image" not in value:
        raise InputError(f"{origin}: {what} entry has no image", "add image: REGISTRY/REPOSITORY:TAG")
    image = string(value, "image", filename, f"{what} entry")
    ref = at(f"{filename}:{value.value_line('image')}", parse_location, image)
    digest = None
    if "digest" in value:
        where = f"{filename}:{value.value_line('digest')}"
        digest = at(where, Digest.parse, string(value, "digest", filename, f"{what} entry"))
        if ref.digest and ref.digest != digest:
            raise InputError(f"{where}: digest {digest} disagrees with the reference's @{ref.digest}",
                             "give the digest once, or make both the same")
    platform = filters = None
    if "platform" in value:
        platform = _platform(value["platform"], f"{filename}:{value.value_line('platform')}")
    if "platforms" in value:
        filters = _platform_list(value["platforms"], f"{filename}:{value.value_line('platforms')}")
    if platform and filters:
        raise InputError(f"{origin}: entry has both platform and platforms",
                         "platform declares what a single image is; platforms filters a source that is an index")
    return SourceSpec(ref, digest or ref.digest, platform, filters or (), origin)


def entries(items: YList, filename: str, what: str) -> tuple[SourceSpec, ...]:
    return tuple(_entry(item, filename, items.item_line(i), what) for i, item in enumerate(items))


def sources_from_template(platforms: str | list[str], template: str, platforms_label: str = "--platforms",
                          template_label: str = "--template") -> tuple[SourceSpec, ...]:
    """manifest-tool `from-args`: OS, ARCH and VARIANT in the template are replaced per platform."""
    texts = split_items(platforms, r"[,\s]+")
    if not texts:
        raise InputError(f"{platforms_label} is empty", "e.g. linux/amd64,linux/arm64")
    if "ARCH" not in template:
        raise InputError(f"{template_label} {template!r} has no ARCH placeholder",
                         "every platform would give the same image; e.g. ghcr.io/o/app:v1-OS-ARCHVARIANT")
    out: list[SourceSpec] = []
    by_platform: dict[tuple, Platform] = {}
    by_ref: dict[ImageRef, Platform] = {}
    for text in texts:
        origin = f"{template_label} {text}"
        platform = at(f"{platforms_label} {text}", Platform.parse, text)
        # filled with the normalised names: Linux/AMD64 and linux/x86_64 both give linux, amd64
        os_name, arch, variant = platform.os, platform.architecture, platform.variant or ""
        ref_text = template.replace("OS", os_name).replace("ARCH", arch).replace("VARIANT", variant)
        ref = at(origin, parse_location, ref_text)
        if by_platform.setdefault(platform.identity(), platform) is not platform:
            raise InputError(f"{platforms_label} lists {platform} twice", "give each platform once")
        seen = by_ref.setdefault(ref, platform)
        if seen is not platform:
            raise InputError(f"{template_label} gives {ref} for both {seen} and {platform}",
                             "add VARIANT (or OS) to the template so each platform names its own image")
        out.append(SourceSpec(ref, ref.digest, platform, (), origin))
    return tuple(out)


def parse_matrix(text: str, filename: str, allow_empty: bool = False) -> tuple[SourceSpec, ...]:
    """A JSON/YAML list of {image, digest?, platform?, platforms?} (or ref strings), or a mapping of legs."""
    stripped = text.lstrip("\ufeff \t\r\n")
    doc = load_json(text.lstrip("\ufeff"), filename) if stripped[:1] in ("[", "{") \
        else load_yaml(text, filename, "matrix")
    if isinstance(doc, YMap):
        items = YList(doc.line)
        items.extend(doc.values())
        items.item_lines = [doc.value_line(key) for key in doc]
        doc = items
    if not isinstance(doc, YList):
        raise InputError(f"{filename}:{line_of(doc)}: the matrix must be a list of entries or a mapping of "
                         f"legs, got {kind_of(doc)}", '[{"image": "REF", "platform": "linux/amd64"}, ...]')
    if not doc and not allow_empty:
        raise InputError(f"{filename}:{doc.line}: the matrix has no entries", "list at least one per-arch image")
    return entries(doc, filename, "matrix")


def parse_refs(lines: list[str] | str, *, where: str = "") -> tuple[SourceSpec, ...]:
    """Plain refs (or PLATFORM=REF), one per line or item; blank lines and # comments skipped.

    `where` (e.g. a refs file's name) makes origins and errors read `WHERE:LINE`; nothing given -> ().
    """
    out: list[SourceSpec] = []
    items = [lines] if isinstance(lines, str) else list(lines)
    for n, line in enumerate([line for item in items for line in item.splitlines()], 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        origin = f"{where}:{n}" if where else text
        label = f"{where}:{n}" if where else f"ref {redact(text)!r}"
        platform = None
        if "=" in text:
            ptext, _, text = text.partition("=")
            platform = at(label, Platform.parse, ptext)
        ref = at(label, parse_location, text)
        out.append(SourceSpec(ref, ref.digest, platform, (), origin))
    return tuple(out)


# buildx's `--annotation TYPES:KEY=VALUE`: TYPES is one or more comma separated levels, each with an optional
# [PLATFORM]; a key whose text before ':' is not written like that (e.g. com.example:x) is a plain key.
_LEVELS = re.compile(r"[a-z-]+(?:\[[^\[\]]*\])?(?:,[a-z-]+(?:\[[^\[\]]*\])?)*")
_LEVEL = re.compile(r"(?P<name>[a-z-]+)(?:\[(?P<platform>[^\[\]]*)\])?")
_METADATA_HINT = ("docker/metadata-action writes the manifest level unless told otherwise: set "
                  "DOCKER_METADATA_ANNOTATIONS_LEVELS=index (or index,manifest-descriptor) in its env")


def parse_annotations(items: list[str]) -> tuple[tuple[tuple[str, str], ...], tuple[EntryAnnotation, ...]]:
    """KEY=VALUE items (the value may contain '='), each optionally prefixed with the levels `docker buildx
    imagetools create --annotation` reads: `index:` (the default), `manifest-descriptor:` (every entry) or
    `manifest-descriptor[PLATFORM]:` (that platform's entry), several joined by commas. Returns
    (index annotations, entry annotations); levels that would change the children's digests are refused."""
    index: dict[str, str] = {}
    entries: dict[tuple, EntryAnnotation] = {}
    for item in items:
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        levels, colon, name = key.partition(":")
        if not colon or not _LEVELS.fullmatch(levels):
            levels, name = "index", key   # no level written: an index annotation, as manifest-tool has it
        if not sep or not name or not ANNOTATION_KEY.fullmatch(name):
            raise InputError(f"invalid annotation {item!r}: expected [LEVEL:]KEY=VALUE with a non-empty key "
                             "without spaces",
                             "e.g. --annotation org.opencontainers.image.source=https://github.com/o/app")
        for level in levels.split(","):
            m = _LEVEL.fullmatch(level)
            if m is None:   # _LEVELS matched the whole list, so each level matches: never reached
                raise InputError(f"annotation {item!r}: invalid level {level!r}")
            platform = at(f"annotation {item!r}", Platform.parse, m["platform"]) if m["platform"] is not None \
                else None
            _check_level(m["name"], platform, item)
            if m["name"] == "index":
                if name in index:
                    raise InputError(f"annotation {name!r} given twice", "give each annotation key once")
                index[name] = value
                continue
            one = EntryAnnotation(name, value, platform)
            if entries.setdefault((name, platform.identity() if platform else None), one) is not one:
                raise InputError(f"annotation {one} given twice", "give each annotation key once per level")
    return tuple(index.items()), tuple(entries.values())


def _check_level(name: str, platform: Platform | None, item: str) -> None:
    """Only the levels an index can hold without rewriting its children."""
    if name in ("index", "manifest-descriptor"):
        if name == "index" and platform is not None:
            raise InputError(f"annotation {item!r}: the index level takes no platform",
                             "write index:KEY=VALUE, or manifest-descriptor[PLATFORM]:KEY=VALUE for one entry")
        return
    if name == "manifest":
        raise InputError(f"annotation {item!r}: the manifest level goes inside each per-arch image manifest, "
                         "which would change the children's digests (they are copied as pushed, signatures "
                         "and all)", f"use index: or manifest-descriptor: instead; {_METADATA_HINT}")
    if name == "index-descriptor":
        raise InputError(f"annotation {item!r}: the index-descriptor level goes on a descriptor that points at "
                         "the index, and a pushed index has none (buildx refuses it too)",
                         "use index: or manifest-descriptor: instead")
    raise InputError(f"annotation {item!r}: unknown level {name!r}",
                     "levels are index, manifest-descriptor and manifest-descriptor[PLATFORM]; a key holding ':' "
                     "needs a level first, e.g. index:KEY=VALUE")
