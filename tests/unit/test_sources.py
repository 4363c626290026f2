"""Tests for multiarch_ci.sources.forms: every input format's happy path and its bad inputs (all InputError)."""
from __future__ import annotations

import pytest

from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import InputError
from multiarch_ci.core.plan import PushPlan, SourceSpec, make_plan, parse_tags
from multiarch_ci.core.platform import Platform
from multiarch_ci.core.reference import ImageRef
from multiarch_ci.sources.digests_folder import sources_from_digests
from multiarch_ci.sources.forms import parse_annotations, parse_matrix, parse_refs, sources_from_template
from multiarch_ci.sources.specfile import SpecFile, parse_spec

A, B, C = "a" * 64, "b" * 64, "c" * 64
DA, DB, DC = Digest("sha256", A), Digest("sha256", B), Digest("sha256", C)
REPO = ImageRef.parse("ghcr.io/owner/app")


def ref(text: str) -> ImageRef:
    return ImageRef.parse(text)


def plat(text: str, features: tuple[str, ...] = ()) -> Platform:
    p = Platform.parse(text)
    return Platform(p.os, p.architecture, p.variant, p.os_version, features)


def src(r: str, origin: str, platform: str | None = None, digest: Digest | None = None,
        filters: tuple[str, ...] = (), features: tuple[str, ...] = ()) -> SourceSpec:
    return SourceSpec(ref(r), digest, plat(platform, features) if platform else None,
                      tuple(plat(f) for f in filters), origin)


# --- parse_spec: happy paths ---------------------------------------------------------------------------

# In the style of manifest-tool's README "push from-spec" example.
README_SPEC = """\
image: myprivreg:5000/someimage:latest
tags: ['1.0.0', '1.0', 'latest']
manifests:
  -
    image: myprivreg:5000/someimage:ppc64le
    platform:
      architecture: ppc64le
      os: linux
  -
    image: myprivreg:5000/someimage:amd64
    platform:
      architecture: amd64
      os: linux
  -
    image: myprivreg:5000/someimage:s390x
    platform:
      architecture: s390x
      os: linux
  -
    image: myprivreg:5000/someimage:arm
    platform:
      architecture: arm
      os: linux
      variant: v7
  -
    image: myprivreg:5000/someimage:windows-amd64
    platform:
      architecture: amd64
      os: windows
      osversion: "10.0.14393.2312"
"""

WINDOWS_SPEC = """\
image: docker.io/example/tool:2.1
manifests:
  - image: docker.io/example/tool:2.1-ltsc2019
    platform:
      os: windows
      architecture: amd64
      osversion: 10.0.17763.6054
      osfeatures: [win32k]
  - image: docker.io/example/tool:2.1-ltsc2022
    platform: {os: windows, architecture: amd64, osversion: 10.0.20348.2582, osfeatures: [win32k]}
  - image: docker.io/example/tool:2.1-linux
    platform: {os: linux, architecture: amd64}
"""

ARM_SPEC = f"""\
# our extensions: comma-separated tags, annotations, per-entry digest and platforms filter
image: 127.0.0.1:5000/app
tags: v1.2.3, 1.2, latest
annotations:
  org.opencontainers.image.source: https://github.com/o/app
  org.opencontainers.image.version: 1.10
manifests:
  - image: 127.0.0.1:5000/app:v1-armv6
    platform: {{os: linux, architecture: arm, variant: v6}}
  - image: 127.0.0.1:5000/app:v1-armv7
    digest: sha256:{A}
    platform: {{os: linux, architecture: arm, variant: v7}}
  - image: 127.0.0.1:5000/app@sha256:{B}
    platform: linux/arm64/v8
  - image: 127.0.0.1:5000/app:v1-x86
    digest: sha256:{C}
    platforms: [linux/amd64, linux/386]
"""

SPEC_CASES = [
    pytest.param(README_SPEC, SpecFile(
        ref("myprivreg:5000/someimage:latest"), ("1.0.0", "1.0", "latest"), (
            src("myprivreg:5000/someimage:ppc64le", "spec.yaml:5", "linux/ppc64le"),
            src("myprivreg:5000/someimage:amd64", "spec.yaml:10", "linux/amd64"),
            src("myprivreg:5000/someimage:s390x", "spec.yaml:15", "linux/s390x"),
            src("myprivreg:5000/someimage:arm", "spec.yaml:20", "linux/arm/v7"),
            src("myprivreg:5000/someimage:windows-amd64", "spec.yaml:26", "windows(10.0.14393.2312)/amd64"),
        ), ()), id="manifest-tool-readme"),
    pytest.param(WINDOWS_SPEC, SpecFile(
        ref("docker.io/example/tool:2.1"), (), (
            src("example/tool:2.1-ltsc2019", "spec.yaml:3", "windows(10.0.17763.6054)/amd64", features=("win32k",)),
            src("example/tool:2.1-ltsc2022", "spec.yaml:9", "windows(10.0.20348.2582)/amd64", features=("win32k",)),
            src("example/tool:2.1-linux", "spec.yaml:11", "linux/amd64"),
        ), ()), id="windows-osversion"),
    pytest.param(ARM_SPEC, SpecFile(
        ref("127.0.0.1:5000/app"), ("v1.2.3", "1.2", "latest"), (
            src("127.0.0.1:5000/app:v1-armv6", "spec.yaml:8", "linux/arm/v6"),
            src("127.0.0.1:5000/app:v1-armv7", "spec.yaml:10", "linux/arm/v7", DA),
            src(f"127.0.0.1:5000/app@sha256:{B}", "spec.yaml:13", "linux/arm64/v8", DB),
            src("127.0.0.1:5000/app:v1-x86", "spec.yaml:15", None, DC, ("linux/amd64", "linux/386")),
        ), (("org.opencontainers.image.source", "https://github.com/o/app"),
            ("org.opencontainers.image.version", "1.10"))), id="arm-v6-v7-arm64-v8-extensions"),
    pytest.param("image: ghcr.io/o/app:v1\ntags: [1.10, '2', on]\nmanifests: [ghcr.io/o/app:v1-amd64]\n",
                 SpecFile(ref("ghcr.io/o/app:v1"), ("1.10", "2", "on"),
                          (src("ghcr.io/o/app:v1-amd64", "spec.yaml:3"),), ()),
                 id="scalars-stay-strings-and-string-entry"),
]


@pytest.mark.parametrize("text, want", SPEC_CASES)
def test_parse_spec(text, want):
    got = parse_spec(text, "spec.yaml")
    assert got == want
    for source, expected in zip(got.sources, want.sources, strict=True):
        assert (source.ref, source.digest, source.platform, source.platform_filter, source.origin) == (
            expected.ref, expected.digest, expected.platform, expected.platform_filter, expected.origin)


# --- sources_from_template ---------------------------------------------------------------------------

TEMPLATE_CASES = [
    pytest.param("linux/amd64,linux/arm64/v8", "127.0.0.1:5000/app:v1-ARCHVARIANT", [
        src("127.0.0.1:5000/app:v1-amd64", "--template linux/amd64", "linux/amd64"),
        src("127.0.0.1:5000/app:v1-arm64v8", "--template linux/arm64/v8", "linux/arm64/v8"),
    ], id="arch-variant"),
    pytest.param(["linux/arm/v6", "linux/arm/v7, linux/arm64"], "ghcr.io/o/app:OS-ARCH-VARIANT", [
        src("ghcr.io/o/app:linux-arm-v6", "--template linux/arm/v6", "linux/arm/v6"),
        src("ghcr.io/o/app:linux-arm-v7", "--template linux/arm/v7", "linux/arm/v7"),
        src("ghcr.io/o/app:linux-arm64-", "--template linux/arm64", "linux/arm64"),
    ], id="list-os-arch-variant"),
    pytest.param("windows(10.0.17763.6054)/amd64", "example/tool:OS-ARCH", [
        src("example/tool:windows-amd64", "--template windows(10.0.17763.6054)/amd64",
            "windows(10.0.17763.6054)/amd64"),
    ], id="windows-version"),
    pytest.param("linux/amd64", f"ghcr.io/o/ARCH@sha256:{A}", [
        src(f"ghcr.io/o/amd64@sha256:{A}", "--template linux/amd64", "linux/amd64", DA),
    ], id="digest-in-template"),
]


@pytest.mark.parametrize("platforms, template, want", TEMPLATE_CASES)
def test_sources_from_template(platforms, template, want):
    assert sources_from_template(platforms, template) == tuple(want)


# --- parse_matrix ------------------------------------------------------------------------------------

MATRIX_CASES = [
    pytest.param("matrix.json", f"""[
  {{"image": "ghcr.io/o/app:amd64", "platform": "linux/amd64"}},
  {{"image": "ghcr.io/o/app:arm64", "digest": "sha256:{A}",
    "platform": {{"os": "linux", "architecture": "arm64", "variant": "v8"}}}},
  "ghcr.io/o/app@sha256:{B}",
  {{"image": "ghcr.io/o/base:1", "platforms": ["linux/s390x", "linux/ppc64le"]}}
]""", [
        src("ghcr.io/o/app:amd64", "matrix.json:2", "linux/amd64"),
        src("ghcr.io/o/app:arm64", "matrix.json:3", "linux/arm64/v8", DA),
        src(f"ghcr.io/o/app@sha256:{B}", "matrix.json:5", None, DB),
        src("ghcr.io/o/base:1", "matrix.json:6", None, None, ("linux/s390x", "linux/ppc64le")),
    ], id="json-list"),
    pytest.param("needs.json", f"""{{
  "build-amd64": {{"image": "ghcr.io/o/app:amd64", "platform": "linux/amd64"}},
  "build-arm64": {{"image": "ghcr.io/o/app@sha256:{A}", "digest": "sha256:{A}", "platform": "linux/arm64"}}
}}""", [
        src("ghcr.io/o/app:amd64", "needs.json:2", "linux/amd64"),
        src(f"ghcr.io/o/app@sha256:{A}", "needs.json:3", "linux/arm64", DA),
    ], id="json-legs-mapping"),
    pytest.param("matrix.yaml", f"""\
- image: ghcr.io/o/app:armv7
  platform: linux/arm/v7
- image: ghcr.io/o/app:win
  digest: sha256:{C}
  platform: {{os: windows, architecture: amd64, os.version: 10.0.17763.6054}}
- ghcr.io/o/app:riscv64
- image: ghcr.io/o/multi:2
  platforms: linux/amd64, linux/arm64
""", [
        src("ghcr.io/o/app:armv7", "matrix.yaml:1", "linux/arm/v7"),
        src("ghcr.io/o/app:win", "matrix.yaml:3", "windows(10.0.17763.6054)/amd64", DC),
        src("ghcr.io/o/app:riscv64", "matrix.yaml:6"),
        src("ghcr.io/o/multi:2", "matrix.yaml:7", None, None, ("linux/amd64", "linux/arm64")),
    ], id="yaml-list"),
    pytest.param("legs.yaml", "amd64:\n  image: ghcr.io/o/app:amd64\narm64: ghcr.io/o/app:arm64\n", [
        src("ghcr.io/o/app:amd64", "legs.yaml:2"),
        src("ghcr.io/o/app:arm64", "legs.yaml:3"),
    ], id="yaml-legs-mapping"),
]


@pytest.mark.parametrize("filename, text, want", MATRIX_CASES)
def test_parse_matrix(filename, text, want):
    assert parse_matrix(text, filename) == tuple(want)


# --- sources_from_digests ----------------------------------------------------------------------------

def test_sources_from_digests():
    entries = [(f"sha256-{C}", "file"), (B, "symlink-inside"), (f"sha256:{A}", "file")]
    got = sources_from_digests(entries, ref("ghcr.io/owner/app:ignored"), "/tmp/digests/")
    assert got == (
        SourceSpec(REPO.with_digest(DB), DB, None, (), f"/tmp/digests/{B}"),
        SourceSpec(REPO.with_digest(DC), DC, None, (), f"/tmp/digests/sha256-{C}"),
        SourceSpec(REPO.with_digest(DA), DA, None, (), f"/tmp/digests/sha256:{A}"),
    )
    assert all(s.ref.tag is None for s in got)  # sorted by file name: "bbb" < "sha256-ccc" < "sha256:aaa"


# --- parse_refs, parse_annotations, parse_tags ----------------------------------------------------------

REFS_CASES = [
    pytest.param(f"# per-arch images\n\nghcr.io/o/app:amd64\nlinux/arm64=ghcr.io/o/app:arm64  # arm\n"
                 f"  ghcr.io/o/app@sha256:{A}\n", {}, [
                     src("ghcr.io/o/app:amd64", "ghcr.io/o/app:amd64"),
                     src("ghcr.io/o/app:arm64", "linux/arm64=ghcr.io/o/app:arm64", "linux/arm64"),
                     src(f"ghcr.io/o/app@sha256:{A}", f"ghcr.io/o/app@sha256:{A}", None, DA),
                 ], id="text"),
    pytest.param(["linux/arm/v7=docker.io/o/app:armv7", "", "o/app:x86"], {}, [
        src("o/app:armv7", "linux/arm/v7=docker.io/o/app:armv7", "linux/arm/v7"),
        src("o/app:x86", "o/app:x86"),
    ], id="list"),
    pytest.param("\n# c\nghcr.io/o/app:a\n", {"where": "refs.txt"}, [src("ghcr.io/o/app:a", "refs.txt:3")],
                 id="where"),
    pytest.param("# nothing\n", {}, [], id="empty"),
]


@pytest.mark.parametrize("lines, kwargs, want", REFS_CASES)
def test_parse_refs(lines, kwargs, want):
    assert parse_refs(lines, **kwargs) == tuple(want)


@pytest.mark.parametrize("items, want", [
    pytest.param(["a=b", "org.opencontainers.image.url=https://x/?q=1&r=2", "empty="],
                 (("a", "b"), ("org.opencontainers.image.url", "https://x/?q=1&r=2"), ("empty", "")), id="values"),
    pytest.param(["", "k=v w"], (("k", "v w"),), id="blank-skipped-spaces-in-value"),
    pytest.param([], (), id="none"),
])
def test_parse_annotations(items, want):
    assert parse_annotations(items) == (want, ())   # no level written: index annotations, none on the entries


@pytest.mark.parametrize("items, want", [
    pytest.param("v1, latest\nv1.2,,latest", ("v1", "latest", "v1.2"), id="string"),
    pytest.param(["a,b", " c ", "a", ""], ("a", "b", "c"), id="list"),
    pytest.param("", (), id="empty"),
])
def test_parse_tags(items, want):
    assert parse_tags(items) == want


# --- make_plan ---------------------------------------------------------------------------------------

def test_make_plan():
    sources = (src("ghcr.io/o/app:amd64", "m:1", "linux/amd64"), src("ghcr.io/o/app:arm64", "m:2", "linux/arm64"),
               src("ghcr.io/o/base:1", "m:3", None, None, ("linux/s390x",)))
    plan = make_plan(ref("ghcr.io/o/app:v1"), ["latest", "v1", "1.0,latest"], sources, (("k", "v"),))
    assert plan == PushPlan(ref("ghcr.io/o/app"), ("v1", "latest", "1.0"), sources, (("k", "v"),))
    assert plan.target.tag is None and plan.target.digest is None


def test_make_plan_without_target_tag_and_dict_annotations():
    sources = (src(f"ghcr.io/o/app@sha256:{A}", "d/a", None, DA),)
    plan = make_plan(ref("ghcr.io/o/app"), ("v2",), sources, {"a": "b"})
    assert (plan.target, plan.tags, plan.sources, plan.annotations) == (ref("ghcr.io/o/app"), ("v2",), sources,
                                                                         (("a", "b"),))


def test_make_plan_later_annotation_wins():
    sources = (src("ghcr.io/o/app:amd64", "m:1"),)
    plan = make_plan(ref("ghcr.io/o/app:v1"), (), sources, (("a", "spec"), ("b", "1"), ("a", "cli")))
    assert plan.annotations == (("a", "cli"), ("b", "1"))


def test_make_plan_allows_target_tag_source_by_digest():
    sources = (src(f"ghcr.io/o/app:v1@sha256:{A}", "x", "linux/amd64", DA),)
    assert make_plan(ref("ghcr.io/o/app:v1"), (), sources).sources == sources


# --- bad inputs: each raises InputError naming what and where ---------------------------------------------

GOOD_ENTRY = "manifests:\n  - image: ghcr.io/o/app:amd64\n"


def _spec(text):
    return lambda: parse_spec(text, "spec.yaml")


def _matrix(text, name="matrix.json"):
    return lambda: parse_matrix(text, name)


def _digests(*entries):
    return lambda: sources_from_digests(list(entries), REPO, "digests")


def _plan(target, tags, *sources):
    return lambda: make_plan(ref(target), tags, tuple(sources))


BAD_CASES = [
    # parse_spec
    pytest.param(_spec("image: a/b:c\ntags: [x]\n\n\n\n\nmanfests: []\n"),
                 ["spec.yaml:7:", "unknown key 'manfests'", "did you mean 'manifests'?"], id="spec-unknown-key"),
    pytest.param(_spec("image: a/b:c\nmanifests:\n  - image: x:1\n    platfrom: linux/amd64\n"),
                 ["spec.yaml:4:", "'platfrom'", "did you mean 'platform'?"], id="spec-entry-unknown-key"),
    pytest.param(_spec("image: a/b:c\nmanifests:\n  - image: x:1\n    platform:\n      os: linux\n"
                       "      archtecture: arm64\n"),
                 ["spec.yaml:6:", "'archtecture'", "did you mean 'architecture'?"], id="spec-platform-unknown-key"),
    pytest.param(_spec("image: a/b:c\nmanifests:\n  - image: x:1\n    platform:\n      os_version: 10\n"),
                 ["spec.yaml:5:", "'os_version'", "did you mean"], id="spec-platform-os-version-spelling"),
    pytest.param(_spec("image: a/b:c\nmanifests:\n\t- image: x:1\n"),
                 ["spec.yaml:3:", "invalid YAML", "'\\t'"], id="spec-yaml-tab"),
    pytest.param(_spec("image: a/b:c\nmanifests: [\n  {image: x:1\n"),
                 ["spec.yaml:", "invalid YAML"], id="spec-yaml-unclosed"),
    pytest.param(_spec("image: a/b:c\n" + GOOD_ENTRY + "---\nimage: d/e:f\n"),
                 ["spec.yaml:4:", "more than one YAML document"], id="spec-two-documents"),
    pytest.param(_spec("- image: a/b:c\n"), ["spec.yaml:1:", "must be a mapping", "a list"], id="spec-top-list"),
    pytest.param(_spec("# only a comment\n"), ["spec.yaml:1:", "must be a mapping"], id="spec-empty"),
    pytest.param(_spec("image: a/b:c\n" + GOOD_ENTRY + "image: d/e:f\n"),
                 ["spec.yaml:4:", "duplicate key 'image'", "first on line 1"], id="spec-duplicate-key"),
    pytest.param(_spec("image: a/b:c\nmanifests:\n  - image: x:1\n    image: y:1\n"),
                 ["spec.yaml:4:", "duplicate key 'image'"], id="spec-entry-duplicate-key"),
    pytest.param(_spec("image: a/b:c\nmanifests:\n  image: x:1\n"),
                 ["spec.yaml:3:", "manifests must be a list", "a mapping"], id="spec-manifests-not-list"),
    pytest.param(_spec("image: a/b:c\nmanifests: []\n"), ["spec.yaml:2:", "manifests is empty"], id="spec-empty-list"),
    pytest.param(_spec("image: a/b:c\ntags: [x]\n"), ["spec.yaml:1:", "no manifests"], id="spec-no-manifests"),
    pytest.param(_spec(GOOD_ENTRY), ["spec.yaml:1:", "no image"], id="spec-no-image"),
    pytest.param(_spec("image:\n  - a/b:c\n" + GOOD_ENTRY),
                 ["spec.yaml:2:", "image", "must be a string", "a list"], id="spec-image-not-string"),
    pytest.param(_spec("image: a/b:c\nmanifests:\n  - image: {x: 1}\n"),
                 ["spec.yaml:3:", "image in manifests entry must be a string"], id="spec-entry-image-not-string"),
    pytest.param(_spec("image: a/b:c\nmanifests:\n  - platform: linux/amd64\n"),
                 ["spec.yaml:3:", "no image"], id="spec-entry-no-image"),
    pytest.param(_spec("image: a/b:c\nmanifests:\n  - image: x:1\n    platform: [linux, amd64]\n"),
                 ["spec.yaml:4:", "platform must be a mapping", "a list"], id="spec-platform-not-mapping"),
    pytest.param(_spec("image: a/b:c\nmanifests:\n  - image: x:1\n    platform: {os: linux}\n"),
                 ["spec.yaml:4:", "needs os and architecture"], id="spec-platform-no-arch"),
    pytest.param(_spec("image: a/b:c\nmanifests:\n  - image: x:1\n    platform:\n      os: windows\n"
                       "      architecture: amd64\n      osfeatures: win32k\n"),
                 ["spec.yaml:7:", "osfeatures must be a list of strings"], id="spec-osfeatures-not-list"),
    pytest.param(_spec("image: a/b:c\ntags: {a: b}\n" + GOOD_ENTRY),
                 ["spec.yaml:2:", "tags must be a list or a comma-separated string"], id="spec-tags-mapping"),
    pytest.param(_spec("image: a/b:c\ntags:\n  - ok\n  - [nested]\n" + GOOD_ENTRY),
                 ["spec.yaml:4:", "tags must be strings"], id="spec-tag-not-string"),
    pytest.param(_spec("image: a/b:c\ntags:\n  - ok\n  - -bad\n" + GOOD_ENTRY),
                 ["spec.yaml:4:", "invalid tag '-bad'"], id="spec-invalid-tag"),
    pytest.param(_spec("image: ghcr.io/o/App:v1\n" + GOOD_ENTRY),
                 ["spec.yaml:1:", "invalid reference", "'App'"], id="spec-bad-target-ref"),
    pytest.param(_spec(f"image: a/b@sha256:{A}\n" + GOOD_ENTRY),
                 ["spec.yaml:1:", "may not carry a digest"], id="spec-target-digest"),
    pytest.param(_spec(f"image: a/b:c\nmanifests:\n  - image: x@sha256:{A}\n    digest: sha256:{B}\n"),
                 ["spec.yaml:4:", "disagrees"], id="spec-digest-disagrees"),
    pytest.param(_spec("image: a/b:c\nannotations: [a=b]\n" + GOOD_ENTRY),
                 ["spec.yaml:2:", "annotations must be a mapping"], id="spec-annotations-list"),
    pytest.param(_spec("image: a/b:c\nannotations:\n  ok: yes\n  bad: [1]\n" + GOOD_ENTRY),
                 ["spec.yaml:4:", "annotation 'bad'"], id="spec-annotation-value-list"),
    pytest.param(_spec("image: a/b:c\nmanifests:\n  - image: x:1\n    platform: linux/amd64\n"
                       "    platforms: [linux/arm64]\n"),
                 ["spec.yaml:3:", "both platform and platforms"], id="spec-platform-and-filter"),
    pytest.param(_spec("image: a/b:c\nmanifests:\n  - image: x:1\n    platforms: [linux]\n"),
                 ["spec.yaml:4:", "invalid platform 'linux'"], id="spec-bad-filter"),
    pytest.param(_spec("image: a/b:c\nmanifests:\n  - image: !!int x\n"),
                 ["spec.yaml:3:", "invalid YAML"], id="spec-bad-explicit-tag"),
    pytest.param(_spec("image: a/b:c\nmanifests:\n  - image: x:1\n\x07\n"),
                 ["spec.yaml:4:", "invalid YAML", "#x0007"], id="spec-control-character"),
    pytest.param(_spec("image: *nope\n"), ["spec.yaml:1:", "undefined alias"], id="spec-undefined-alias"),
    pytest.param(_spec("image: a/b:c\nmanifests:\n  - 42\n  - [x]\n"),
                 ["spec.yaml:4:", "must be a mapping with an image", "a list"], id="spec-entry-list"),
    # parse_matrix
    pytest.param(_matrix('[\n  {"image": "ghcr.io/o/app:amd64"},\n  {"image": "ghcr.io/o/app:arm64"},\n]\n'),
                 ["matrix.json:4:", "invalid JSON"], id="matrix-json-trailing-comma"),
    pytest.param(_matrix('[\n  {"image": "ghcr.io/o/app:amd64",\n   "digest": "sha256:1234"}\n]'),
                 ["matrix.json:3:", "invalid digest 'sha256:1234'"], id="matrix-bad-digest"),
    pytest.param(_matrix(f'[{{"image": "x:1",\n "digest": "sha256:{A.upper()}"}}]'),
                 ["matrix.json:2:", "invalid digest"], id="matrix-upper-digest"),
    pytest.param(_matrix('[{"image": "x:1",\n  "platfrom": "linux/amd64"}]'),
                 ["matrix.json:2:", "unknown key 'platfrom'", "did you mean 'platform'?"], id="matrix-unknown-key"),
    pytest.param(_matrix('[{"image": "x:1",\n  "image": "y:1"}]'),
                 ["matrix.json:2:", "duplicate key 'image'"], id="matrix-json-duplicate-key"),
    pytest.param(_matrix("[]"), ["matrix.json:1:", "no entries"], id="matrix-empty-list"),
    pytest.param(_matrix("{}"), ["matrix.json:1:", "no entries"], id="matrix-empty-mapping"),
    pytest.param(_matrix("  \n", "m.yaml"), ["m.yaml:1:", "must be a list"], id="matrix-empty-text"),
    pytest.param(_matrix('"ghcr.io/o/app:1"'), ["matrix.json:1:", "a string"], id="matrix-scalar"),
    pytest.param(_matrix('[\n 1,\n {"image": 2}\n]'), ["matrix.json:2:", "entry must be a mapping"],
                 id="matrix-number-entry"),
    pytest.param(_matrix('[{"image": "x:1",\n  "platform": {"os": "linux", "arch": "arm64"}}]'),
                 ["matrix.json:2:", "unknown key 'arch'", "did you mean 'architecture'?"],
                 id="matrix-platform-unknown-key"),
    pytest.param(_matrix('[{"image": "x:1", "platforms": "linux/amd64,"}, {"image": "y:1", "platforms": []}]'),
                 ["matrix.json:1:", "platforms is empty"], id="matrix-empty-filter"),
    pytest.param(_matrix("- image: x:1\n  platform: linux/amd64\n- image: y:1\n  platform: linux\n", "m.yaml"),
                 ["m.yaml:4:", "invalid platform 'linux'"], id="matrix-yaml-bad-platform"),
    pytest.param(_matrix("- image: x:1\n\t platform: linux/amd64\n", "m.yaml"),
                 ["m.yaml:2:", "invalid YAML"], id="matrix-yaml-tab"),
    pytest.param(_matrix("[" * 3000), ["matrix.json:1:", "invalid JSON"], id="matrix-json-deep"),
    # sources_from_template
    pytest.param(lambda: sources_from_template("linux/amd64,linux/arm64", "ghcr.io/o/app:v1"),
                 ["--template", "no ARCH placeholder"], id="template-without-arch"),
    pytest.param(lambda: sources_from_template(" , ", "ghcr.io/o/app:ARCH"), ["--platforms is empty"],
                 id="template-no-platforms"),
    pytest.param(lambda: sources_from_template([], "ghcr.io/o/app:ARCH"), ["--platforms is empty"],
                 id="template-empty-list"),
    pytest.param(lambda: sources_from_template("linux/arm/v6,linux/arm/v7", "ghcr.io/o/app:ARCH"),
                 ["linux/arm/v6", "linux/arm/v7", "app:arm"], id="template-same-ref"),
    pytest.param(lambda: sources_from_template("linux/arm64,linux/arm64/v8", "ghcr.io/o/app:ARCHVARIANT"),
                 ["lists linux/arm64/v8 twice"], id="template-duplicate-platform"),
    pytest.param(lambda: sources_from_template("linux/amd64,linux", "ghcr.io/o/app:ARCH"),
                 ["--platforms linux:", "invalid platform"], id="template-bad-platform"),
    pytest.param(lambda: sources_from_template("linux/amd64", "ghcr.io/o/App:ARCH"),
                 ["--template linux/amd64:", "invalid reference"], id="template-bad-ref"),
    # sources_from_digests
    pytest.param(_digests((A, "file"), ("sub", "dir")), ["digests/sub:", "folder"], id="digests-subfolder"),
    pytest.param(_digests((A, "symlink-outside")), [f"digests/{A}:", "outside digests"], id="digests-symlink-out"),
    pytest.param(_digests(("fifo", "other")), ["digests/fifo:", "not a regular file"], id="digests-other"),
    pytest.param(_digests((A, "file"), ("README", "file")),
                 ["digests/README: not a digest (expected 64 hex characters"], id="digests-not-a-digest"),
    pytest.param(_digests(("A" * 64, "file")), [f"digests/{'A' * 64}:", "lower case"], id="digests-upper-hex"),
    pytest.param(_digests((A[:-1], "file")), ["not a digest"], id="digests-short"),
    pytest.param(_digests((f"sha512:{A}", "file")), ["not a digest"], id="digests-other-algorithm"),
    pytest.param(_digests((A, "file"), (f"sha256:{A}", "file")),
                 [f"digests/sha256:{A}", f"digests/{A}", "already named"], id="digests-duplicate"),
    pytest.param(_digests(), ["digests: no digest files"], id="digests-empty"),
    # parse_refs
    pytest.param(lambda: parse_refs(["ghcr.io/o/app:a", "linux=ghcr.io/o/app:b"]),
                 ["ref 'linux=ghcr.io/o/app:b'", "invalid platform"], id="refs-bad-platform"),
    pytest.param(lambda: parse_refs("ghcr.io/o/app:a\n\nghcr.io/o/App:b\n", where="refs.txt"),
                 ["refs.txt:3:", "invalid reference"], id="refs-bad-ref-line"),
    pytest.param(lambda: parse_refs(["linux/amd64="]), ["empty image reference"], id="refs-platform-no-ref"),
    # parse_annotations / parse_tags
    pytest.param(lambda: parse_annotations(["novalue"]), ["invalid annotation 'novalue'"], id="annotation-no-eq"),
    pytest.param(lambda: parse_annotations(["=v"]), ["invalid annotation '=v'"], id="annotation-empty-key"),
    pytest.param(lambda: parse_annotations(["a b=v"]), ["invalid annotation 'a b=v'"], id="annotation-space-key"),
    pytest.param(lambda: parse_annotations(["k=1", "k=2"]), ["annotation 'k' given twice"], id="annotation-dup"),
    pytest.param(lambda: parse_tags("v1, bad tag"), ["invalid tag 'bad tag'"], id="tags-space"),
    pytest.param(lambda: parse_tags(["ok", "." + "x"]), ["invalid tag '.x'"], id="tags-leading-dot"),
    # make_plan
    pytest.param(_plan("ghcr.io/o/app", [], src("ghcr.io/o/app:amd64", "m:1")),
                 ["target ghcr.io/o/app has no tag and no other tags were given"], id="plan-no-tags"),
    pytest.param(_plan(f"ghcr.io/o/app@sha256:{A}", ["v1"], src("ghcr.io/o/app:amd64", "m:1")),
                 ["carries a digest"], id="plan-target-digest"),
    pytest.param(_plan("ghcr.io/o/app:v1", []), ["no sources"], id="plan-no-sources"),
    pytest.param(_plan("ghcr.io/o/app:v1", ["latest"], src("ghcr.io/o/app:latest", "spec.yaml:4")),
                 ["source ghcr.io/o/app:latest is also the target tag", "spec.yaml:4"], id="plan-source-is-target"),
    pytest.param(_plan("ghcr.io/o/app:latest", [], src("ghcr.io/o/app", "refs:1")),
                 ["source ghcr.io/o/app is also the target tag"], id="plan-source-implicit-latest"),
    pytest.param(_plan("ghcr.io/o/app:v1", [], src("ghcr.io/o/app:arm64", "spec.yaml:3", "linux/arm64"),
                       src("ghcr.io/o/app:arm64v8", "spec.yaml:7", "linux/arm64/v8")),
                 ["ghcr.io/o/app:arm64 (spec.yaml:3) and ghcr.io/o/app:arm64v8 (spec.yaml:7) both declare platform"],
                 id="plan-conflicting-platforms"),
    pytest.param(_plan("ghcr.io/o/app:v1", [], src("ghcr.io/o/app:a", "r:1"), src("ghcr.io/o/app:a", "r:2")),
                 ["source ghcr.io/o/app:a is given twice", "r:1", "r:2"], id="plan-duplicate-source"),
    pytest.param(_plan("ghcr.io/o/app:v1", ["ok", "no good"], src("ghcr.io/o/app:a", "r:1")),
                 ["invalid tag 'no good'"], id="plan-bad-tag"),
]


@pytest.mark.parametrize("call, fragments", BAD_CASES)
def test_bad_input(call, fragments):
    with pytest.raises(InputError) as info:
        call()
    err = info.value
    assert err.exit_code == 2
    assert "\n" not in err.message and err.hint
    for fragment in fragments:
        assert fragment in err.message


@pytest.mark.parametrize("text", [
    "", "~", "[", "{", "a: [", "&a [*a]", "? [a, b]\n: c", "image: !!python/object:os.system x",
    "image: !!binary AAAA\nmanifests: [x]", "image: a/b:c\nmanifests: [[[]]]", "image: {\n", "@", "'",
    "image: a/b:c\nmanifests:\n  - image: x:1\n    platform: {os: 1, architecture: [a]}",
    "image: a/b:c\nmanifests:\n  - <<: *x\n", "\ufeffimage: a/b:c\nmanifests: {}\n", "-\n- - -",
], ids=lambda t: repr(t)[:30])
def test_garbage_spec_raises_only_input_error(text):
    with pytest.raises(InputError) as info:
        parse_spec(text, "g.yaml")
    assert info.value.message.startswith("g.yaml:")


@pytest.mark.parametrize("text", ['{"a": 1}', '[null]', '[{"image": null}]', '[{"image": "x:1", "platform": 3}]',
                                  '[{"image": "x:1", "platforms": [1]}]', '[{"image": "x:1", "digest": 5}]',
                                  '{"a": [NaN]}', '[1e999]', '["x:1"] trailing', '[{"image": "x:1", "platform":'
                                  ' {"os": "linux", "architecture": "arm64", "features": [1]}}]'],
                         ids=lambda t: t[:30])
def test_garbage_matrix_raises_only_input_error(text):
    with pytest.raises(InputError) as info:
        parse_matrix(text, "g.json")
    assert info.value.message.startswith("g.json:")


def test_bad_case_count():
    assert len(BAD_CASES) >= 30


def test_plan_accepts_one_filter_shared_by_index_sources():
    """A global --platform-filter gives every source the same keep-list: not a platform clash."""
    keep = tuple(Platform.parse(p) for p in ("linux/amd64", "linux/arm64"))
    a = SourceSpec(ImageRef.parse("ghcr.io/o/app-a:1"), platform_filter=keep, origin="a")
    b = SourceSpec(ImageRef.parse("ghcr.io/o/app-b:1"), platform_filter=keep, origin="b")
    plan = make_plan(ImageRef.parse("ghcr.io/o/app:1"), [], (a, b))
    assert [s.platform_filter for s in plan.sources] == [keep, keep]
