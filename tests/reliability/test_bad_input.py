"""The bad-input corpus: every case is refused with exit 2, one error line, and nothing sent.

Each case runs the real CLI (``python -m multiarch_ci``, see ``mm_cli``) or the GitHub Action's entry
point (``mm_runner.run_action``) against the session's loopback ``registry``: targets and sources name
that registry's host, so a request wrongly sent before the input was checked shows in its access log.

What every case asserts:

* exit code 2;
* CLI: exactly one line on stderr, starting ``multiarch-manifest: error: ``, and empty stdout;
  Action: exactly one ``::error title=multiarch-manifest::`` line on stdout, nothing else printed;
* the line says what is wrong and where (``FILE:LINE:`` for YAML/JSON, the flag or input otherwise):
  each case lists the fragments it must contain, and a ``(hint: ...)`` unless the case says none;
* no ``Traceback`` anywhere;
* not one request reached the registry (access log length unchanged once it has settled);
* bounded time (each case has a wall-clock limit; the alias bombs and the huge list assert it).

Placeholders in argv, inputs, file contents and expected fragments: ``{H}`` the registry host,
``{R}`` ``{H}/{repo_name}``, ``{D}`` the case's temporary folder (files are written there).
"""
from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mm_cli import run_cli
from mm_runner import ERROR_PREFIX, log_mark, run_action

CLI_PREFIX = "multiarch-manifest: error: "
MIB = 1024 * 1024

HEX = "0123456789abcdef" * 4                     # 64 lower-case hex digits
HEX2 = "fedcba9876543210" * 4


# -- special folder entries for the files table -----------------------------------------------------

@dataclass(frozen=True)
class Folder:
    """An (empty) sub-folder."""


@dataclass(frozen=True)
class Symlink:
    target: str


@dataclass(frozen=True)
class Fifo:
    """A named pipe (neither file nor folder)."""


Content = str | bytes | Callable[[dict], str | bytes] | Folder | Symlink | Fifo


@dataclass(frozen=True)
class Case:
    """One bad input. Exactly one of ``argv`` (CLI) and ``action`` (INPUT_* values) is given."""

    argv: tuple[str, ...] = ()
    action: dict[str, str] | None = None
    files: dict[str, Content] = field(default_factory=dict)
    stdin: str | None = None
    expect: tuple[str | re.Pattern, ...] = ()
    hint: bool = True                           # the line carries "(hint: ...)"
    limit: float = 30.0                         # seconds before the case counts as hanging


def cli(*argv: str, expect=(), files=None, stdin=None, hint=True, limit=30.0) -> Case:
    return Case(argv=argv, files=files or {}, stdin=stdin, expect=tuple(expect), hint=hint, limit=limit)


def action(inputs: dict[str, str], expect=(), files=None, hint=True, limit=30.0) -> Case:
    return Case(action=inputs, files=files or {}, expect=tuple(expect), hint=hint, limit=limit)


# -- builders for common command lines --------------------------------------------------------------

def from_spec(*extra: str, **kw) -> Case:
    return cli("push", "from-spec", "{D}/spec.yaml", *extra, **kw)


def from_matrix(name: str = "matrix.json", *extra: str, **kw) -> Case:
    return cli("push", "from-matrix", "{D}/" + name, "--target", "{R}:v1", *extra, **kw)


def from_args(*extra: str, platforms: str = "linux/amd64,linux/arm64", template: str = "{R}:v1-ARCH",
              target: str = "{R}:v1", **kw) -> Case:
    return cli("push", "from-args", "--platforms", platforms, "--template", template, "--target", target,
               *extra, **kw)


def from_digests(*extra: str, **kw) -> Case:
    return cli("push", "from-digests", "{D}/digests", "--target", "{R}:v1", *extra, **kw)


def spec(body: str) -> dict[str, Content]:
    return {"spec.yaml": body}


def matrix(body: str, name: str = "matrix.json") -> dict[str, Content]:
    return {name: body}


# -- generated contents -----------------------------------------------------------------------------

def _huge_spec(s: dict) -> str:
    head = f"image: {s['R']}:v1\nmanifests:\n  - image: {s['R']}:amd64\n    platform: linux/amd64\n"
    return head + "# " + "x" * (MIB + 10) + "\n"


def _laughs(s: dict) -> str:
    """Billion laughs: 13 levels of 10 aliases each (10**13 'lol's if ever expanded)."""
    lines = [f"image: {s['R']}:v1", "manifests:", "  - &l0 [" + ", ".join(["lol"] * 10) + "]"]
    lines += [f"  - &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 13)]
    return "\n".join(lines) + "\n"


def _merge_bomb(s: dict) -> str:
    """Merge keys doubling at each of 40 levels (2**40 pairs if flattened naively)."""
    lines = [f"leg0: &m0 {{image: '{s['R']}:amd64', platfrom: linux/amd64}}"]
    lines += [f"leg{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}]}}" for i in range(1, 40)]
    return "\n".join(lines) + "\n"


def _long_list(s: dict) -> str:
    """15,000 distinct sources (~500 KB, half the size limit) whose last entry repeats the first one."""
    n = 15000
    lines = [f"image: {s['R']}:v1", "manifests:"]
    lines += [f"  - {s['H']}/t/src{i}:v1" for i in range(n)]
    lines.append(f"  - {s['H']}/t/src0:v1")
    return "\n".join(lines) + "\n"


# -- the corpus -------------------------------------------------------------------------------------

CASES = [
    # ---- malformed YAML spec, with the line -------------------------------------------------------
    pytest.param(from_spec(files=spec(
        "image: {R}:v1\nmanifests:\n  - image: {R}:amd64\n    platform: linux/amd64\n"
        "  - image: {R}:arm64\n    platform: [linux/arm64\n  - image: {R}:ppc64le\n"),
        expect=["{D}/spec.yaml:7: invalid YAML", "column"]), id="spec-yaml-unclosed-flow-sequence"),
    pytest.param(from_spec(files=spec(
        "image: {R}:v1\nmanifests:\n  - image: {R}:amd64\n    platform: \"linux/amd64\n"),
        expect=["{D}/spec.yaml:", "invalid YAML", "quoting"]), id="spec-yaml-unclosed-quote"),
    pytest.param(from_spec(files=spec(
        "image: {R}:v1\nmanifests:\n  - image: {R}:amd64\nimage: {R}:v2\n"),
        expect=["{D}/spec.yaml:4:", "duplicate key 'image' (first on line 1)", "give each key once"]),
        id="spec-yaml-duplicate-key"),
    pytest.param(from_spec(files=spec(
        "image: {R}:v1\nmanifests:\n  - image: {R}:amd64\n    platform: linux/amd64\n"
        "    platform: linux/arm64\n"),
        expect=["{D}/spec.yaml:5:", "duplicate key 'platform' (first on line 4)"]),
        id="spec-yaml-duplicate-key-in-entry"),
    pytest.param(from_spec(files=spec(
        "image: {R}:v1\nmanifests:\n  - image: {R}:amd64\n---\nimage: {R}:v2\nmanifests: []\n"),
        expect=["{D}/spec.yaml:4: more than one YAML document", "one spec per file"]),
        id="spec-yaml-two-documents"),
    pytest.param(from_spec(files=spec(
        "image: {R}:v1\nmanifests:\n\t- image: {R}:amd64\n"),
        expect=["{D}/spec.yaml:3: invalid YAML", "indent with spaces"]), id="spec-yaml-tab-indentation"),
    pytest.param(from_spec(files=spec(""),
        expect=["{D}/spec.yaml:1: the spec must be a mapping, got nothing"]), id="spec-empty-file"),
    pytest.param(from_spec(files=spec(
        "image: {R}:v1\nmanifests:\n  - image: {R}:amd64\n    platform: " + "[" * 5000 + "]" * 5000 + "\n"),
        expect=["{D}/spec.yaml:", "invalid YAML"], limit=15), id="spec-yaml-nested-5000-deep"),
    pytest.param(from_spec(files={"spec.yaml": _laughs},
        expect=["{D}/spec.yaml:3: each manifests entry must be a mapping with an image, got a list"],
        limit=10), id="spec-yaml-alias-bomb-billion-laughs"),
    pytest.param(cli("push", "from-matrix", "{D}/matrix.yaml", "--target", "{R}:v1",
                     files={"matrix.yaml": _merge_bomb},
                     expect=["{D}/matrix.yaml:1: unknown key 'platfrom' in matrix entry",
                             "did you mean 'platform'"], limit=10),
                 id="matrix-yaml-merge-key-bomb"),
    pytest.param(from_spec(files={"spec.yaml": _long_list},
        expect=["source {H}/t/src0:v1 is given twice", "{D}/spec.yaml:3", "{D}/spec.yaml:15003"],
        limit=10), id="spec-15000-sources-duplicate-last-refused-in-bounded-time"),

    # ---- malformed JSON matrix, with the line -----------------------------------------------------
    pytest.param(from_matrix(files=matrix(
        '[\n  {"image": "{R}:amd64", "platform": "linux/amd64"},\n'
        '  {"image": "{R}:arm64", "platform": "linux/arm64"},\n]\n'),
        expect=["{D}/matrix.json:4: invalid JSON", "trailing commas"]), id="matrix-json-trailing-comma"),
    pytest.param(from_matrix(files=matrix(
        '[\n  {"image": "{R}:amd64", "platform": "linux/amd64"},\n'
        '  {"image": "{R}:arm64", "platform": "linux/arm64"}\n'),
        expect=["{D}/matrix.json:4: invalid JSON"]), id="matrix-json-unclosed-bracket"),
    pytest.param(from_matrix(files=matrix(
        '[\n  {"image": "{R}:amd64",\n   "image": "{R}:arm64"}\n]\n'),
        expect=["{D}/matrix.json:3: duplicate key 'image' (first on line 2)"]), id="matrix-json-duplicate-key"),
    pytest.param(from_matrix(files=matrix("[]\n"),
        expect=["{D}/matrix.json:1: the matrix has no entries"]), id="matrix-empty-list"),
    pytest.param(from_matrix(files=matrix(""),
        expect=["{D}/matrix.json:1: the matrix must be a list", "got nothing"]), id="matrix-empty-file"),
    pytest.param(from_matrix(files=matrix(
        '[\n  {"image": "{R}:amd64",\n   "platform": ' + "1" * 5000 + '}\n]\n'),
        expect=[re.compile(r"matrix\.json:\d+: ")]), id="matrix-json-5000-digit-number"),
    pytest.param(cli("push", "from-matrix", "-", "--target", "{R}:v1",
                     stdin='[{"image": "{R}:amd64"}]' + " " * (MIB + 1),
                     expect=["<stdin>: larger than 1048576 bytes"]), id="matrix-stdin-over-1-MiB"),

    # ---- wrong types ------------------------------------------------------------------------------
    pytest.param(from_spec(files=spec(
        "image: {R}:v1\nmanifests:\n  amd64: {R}:amd64\n"),
        expect=["{D}/spec.yaml:3: manifests must be a list, got a mapping"]), id="spec-manifests-not-a-list"),
    pytest.param(from_spec(files=spec(
        "image: {R}:v1\nmanifests:\n  - image: {R}:amd64\n    platform: 64\n"),
        expect=["{D}/spec.yaml:4: invalid platform '64'"]), id="spec-platform-a-number"),
    pytest.param(from_matrix(files=matrix(
        '[\n  {"image": "{R}:amd64",\n   "platform": 64}\n]\n'),
        expect=["{D}/matrix.json:3: platform must be a mapping or os/arch[/variant], got int"]),
        id="matrix-platform-a-number"),
    pytest.param(from_spec(files=spec(
        "image: {R}:v1\ntags:\n  latest: yes\nmanifests:\n  - image: {R}:amd64\n"),
        expect=["{D}/spec.yaml:3: tags must be a list or a comma-separated string, got a mapping"]),
        id="spec-tags-an-object"),
    pytest.param(from_spec(files=spec(
        "image:\n  - {R}:v1\n  - {R}:v2\nmanifests:\n  - image: {R}:amd64\n"),
        expect=["{D}/spec.yaml:2: image in the spec must be a string, got a list"]), id="spec-image-a-list"),
    pytest.param(from_matrix(files=matrix(
        '[\n  {"image": ["{R}:amd64"], "platform": "linux/amd64"}\n]\n'),
        expect=["{D}/matrix.json:2: image in matrix entry must be a string, got a list"]),
        id="matrix-image-a-list"),
    pytest.param(from_spec(files=spec(
        "image: {R}:v1\nmanifests:\n  - image: {R}:amd64\n    platform:\n      os: linux\n"
        "      architecture: amd64\n      features: sse4\n"),
        expect=["{D}/spec.yaml:7: platform features must be a list of strings, got a string"]),
        id="spec-platform-features-a-string"),

    # ---- unknown keys, with the near spelling -----------------------------------------------------
    pytest.param(from_spec(files=spec(
        "image: {R}:v1\nmanifest:\n  - image: {R}:amd64\n"),
        expect=["{D}/spec.yaml:2: unknown key 'manifest' in the spec", "did you mean 'manifests'"]),
        id="spec-unknown-top-level-key"),
    pytest.param(from_spec(files=spec(
        "image: {R}:v1\nmanifests:\n  - image: {R}:amd64\n    plaform: linux/amd64\n"),
        expect=["{D}/spec.yaml:4: unknown key 'plaform' in manifests entry", "did you mean 'platform'"]),
        id="spec-unknown-entry-key"),
    pytest.param(from_spec(files=spec(
        "image: {R}:v1\nmanifests:\n  - image: {R}:amd64\n    platform:\n      os: linux\n"
        "      architcture: amd64\n"),
        expect=["{D}/spec.yaml:6: unknown key 'architcture' in platform", "did you mean 'architecture'"]),
        id="spec-unknown-platform-key"),
    pytest.param(from_matrix(files=matrix(
        '[\n  {"imge": "{R}:amd64", "platform": "linux/amd64"}\n]\n'),
        expect=["{D}/matrix.json:2: unknown key 'imge' in matrix entry", "did you mean 'image'"]),
        id="matrix-unknown-entry-key"),

    # ---- empty / missing things -------------------------------------------------------------------
    pytest.param(from_spec(files=spec("image: {R}:v1\nmanifests: []\n"),
        expect=["{D}/spec.yaml:2: manifests is empty"]), id="spec-empty-manifests"),
    pytest.param(from_spec(files=spec("image: {R}:v1\n"),
        expect=["{D}/spec.yaml:1: the spec has no manifests"]), id="spec-without-manifests"),
    pytest.param(cli("push", "from-spec", "{D}/no-such-spec.yaml",
                     expect=["{D}/no-such-spec.yaml: no such file", "check the path"]), id="spec-file-missing"),
    pytest.param(from_spec(files={"spec.yaml": _huge_spec},
        expect=["{D}/spec.yaml:", "larger than the 1048576-byte limit"]), id="spec-over-1-MiB"),

    # ---- non-UTF-8 text ---------------------------------------------------------------------------
    pytest.param(from_spec(files=spec("image: {R}:v1\nmanifests:\n  - image: {R}:amd64\n".encode("utf-16")),
        expect=["{D}/spec.yaml:1: not UTF-8 text (byte 0xff)", "save the file as UTF-8"]),
        id="spec-utf16-bom-ff-fe"),
    pytest.param(from_spec(files=spec(b"image: {R}:v1\nmanifests:\n  - image: {R}:amd64\n"
                                      b"    platform: linux/\xff\xfe\n"),
        expect=["{D}/spec.yaml:4: not UTF-8 text (byte 0xff)"]), id="spec-non-utf8-bytes"),
    pytest.param(from_matrix(files=matrix(b'[\n  {"image": "{R}:amd64",\n   "platform": "\xff\xfe"}\n]\n'),
        expect=["{D}/matrix.json:3: not UTF-8 text (byte 0xff)"]), id="matrix-non-utf8-bytes"),

    # ---- invalid references -----------------------------------------------------------------------
    pytest.param(from_args(target="{H}/t/MyApp:v1",
        expect=["--target: invalid reference '{H}/t/MyApp:v1'", "'MyApp'", "lower case"]),
        id="ref-upper-case-repository"),
    pytest.param(from_args(target="{R}:" + "a" * 129,
        expect=["--target: invalid reference", "invalid tag 'aaaa", "1-128 characters"]),
        id="ref-tag-longer-than-128"),
    pytest.param(from_args(target="{R}:v1/x",
        expect=["--target: invalid reference '{R}:v1/x'"]), id="ref-tag-with-slash"),
    pytest.param(from_matrix(files=matrix('[\n  {"image": "{R}/app!:amd64", "platform": "linux/amd64"}\n]\n'),
        expect=["{D}/matrix.json:2: invalid reference '{R}/app!:amd64'", "'app!'"]), id="ref-bad-characters"),
    pytest.param(from_matrix(files=matrix('[\n  {"image": "{R}:amd64"},\n  {"image": "  "}\n]\n'),
        expect=["{D}/matrix.json:3: empty image reference"]), id="ref-empty"),
    pytest.param(from_args(target="", expect=["--target is empty"]),
        id="ref-empty-target"),
    pytest.param(from_args(template="{H}/t/" + "a" * 260 + ":v1-ARCH",
        expect=["--template linux/amd64: invalid reference", "longer than 255 characters"]),
        id="ref-name-over-255-characters"),
    pytest.param(from_args(target="127.0.0.1:5000x/t/app:v1",
        expect=["--target: invalid reference", "invalid registry host '127.0.0.1:5000x'"]),
        id="ref-port-not-a-number"),
    pytest.param(from_args("--wait-timeout", "0", target="127.0.0.1:99999/t/app:v1",
                           expect=["--target", "99999"], limit=15),
        id="ref-port-out-of-range"),
    pytest.param(from_args(target="{R}@sha256:" + HEX,
        expect=["target {R}@sha256:" + HEX + " carries a digest"]), id="ref-target-with-digest"),
    pytest.param(from_args(target="{R}", expect=["target {R} has no tag", "--tags"]),
        id="ref-target-without-tag"),

    # ---- invalid tags via --tags and the spec -----------------------------------------------------
    pytest.param(from_args("--tags=-x", expect=["--tags", "'-x'"]), id="tags-leading-dash"),
    pytest.param(from_args("--tags", "latest,a b", expect=["--tags", "'a b'"]), id="tags-with-space"),
    pytest.param(from_args("--tags", "t" * 129, expect=["--tags", "'" + "t" * 129 + "'"]),
        id="tags-longer-than-128"),
    pytest.param(from_args("--tags", "v1/x", expect=["--tags", "'v1/x'"]), id="tags-with-slash"),
    pytest.param(from_spec(files=spec("image: {R}:v1\ntags:\n  - latest\n  - .hidden\n"
                                      "manifests:\n  - image: {R}:amd64\n"),
        expect=["{D}/spec.yaml:4: invalid tag '.hidden'"]), id="spec-tag-leading-dot"),

    # ---- invalid platforms ------------------------------------------------------------------------
    pytest.param(from_args(platforms="linux", expect=["--platforms", "invalid platform 'linux'"]),
        id="platform-os-only-in-platforms-flag"),
    pytest.param(from_spec(files=spec("image: {R}:v1\nmanifests:\n  - image: {R}:amd64\n    platform: linux\n"),
        expect=["{D}/spec.yaml:4: invalid platform 'linux'"]), id="platform-os-only-in-spec"),
    pytest.param(from_spec(files=spec("image: {R}:v1\nmanifests:\n  - image: {R}:arm64\n"
                                      "    platform: linux/arm64/v8/x\n"),
        expect=["{D}/spec.yaml:4: invalid platform 'linux/arm64/v8/x'"]), id="platform-four-parts"),
    pytest.param(from_matrix(files=matrix('[\n  {"image": "{R}:arm", "platform": "linux/armhf/v6"}\n]\n'),
        expect=["{D}/matrix.json:2: invalid platform", "armhf implies variant v7, not v6"], hint=False),
        id="platform-armhf-v6"),
    pytest.param(from_spec(files=spec("image: {R}:v1\nmanifests:\n  - image: {R}:amd64\n"
                                      "    platform: {os: linux}\n"),
        expect=["{D}/spec.yaml:4: invalid platform: needs os and architecture"]),
        id="platform-mapping-without-architecture"),
    pytest.param(from_args("--platform-filter", "linux",
        expect=["--platform-filter", "invalid platform 'linux'"]), id="platform-filter-os-only"),

    # ---- bad digests: in a matrix digest and in a @ reference -------------------------------------
    pytest.param(from_matrix(files=matrix('[\n  {"image": "{R}:amd64",\n   "digest": "sha256:abc123"}\n]\n'),
        expect=["{D}/matrix.json:3: invalid digest 'sha256:abc123'", "64 lower-case hex digits"]),
        id="digest-wrong-length"),
    pytest.param(from_matrix(files=matrix('[\n  {"image": "{R}:amd64",\n'
                                          '   "digest": "md5:d41d8cd98f00b204e9800998ecf8427e"}\n]\n'),
        expect=["{D}/matrix.json:3: invalid digest", "unsupported algorithm 'md5'"]), id="digest-md5"),
    pytest.param(from_matrix(files=matrix('[\n  {"image": "{R}:amd64",\n   "digest": "sha256:' + HEX.upper()
                                          + '"}\n]\n'),
        expect=["{D}/matrix.json:3: invalid digest", "64 lower-case hex digits"]), id="digest-upper-case-hex"),
    pytest.param(from_matrix(files=matrix('[\n  {"image": "{R}:amd64",\n   "digest": "sha256:' + "g" * 64
                                          + '"}\n]\n'),
        expect=["{D}/matrix.json:3: invalid digest", "64 lower-case hex digits"]), id="digest-non-hex"),
    pytest.param(from_matrix(files=matrix('[\n  {"image": "{R}@sha256:' + HEX + '",\n   "digest": "sha256:'
                                          + HEX2 + '"}\n]\n'),
        expect=["{D}/matrix.json:3: digest sha256:" + HEX2 + " disagrees"]), id="digest-disagrees-with-ref"),
    pytest.param(from_spec(files=spec("image: {R}:v1\nmanifests:\n  - image: {R}:amd64\n"
                                      "  - image: {R}@sha256:abc123\n"),
        expect=["{D}/spec.yaml:4: invalid reference '{R}@sha256:abc123': invalid digest"]),
        id="ref-digest-wrong-length"),
    pytest.param(from_matrix(files=matrix('[\n  "{R}@sha256:' + HEX.upper() + '"\n]\n'),
        expect=["{D}/matrix.json:2: invalid reference", "64 lower-case hex digits"]),
        id="ref-digest-upper-case-hex"),
    pytest.param(from_spec(files=spec("image: {R}:v1\nmanifests:\n"
                                      "  - image: {R}@md5:d41d8cd98f00b204e9800998ecf8427e\n"),
        expect=["{D}/spec.yaml:3: invalid reference", "unsupported algorithm 'md5'"]), id="ref-digest-md5"),
    pytest.param(from_spec(files=spec("image: {R}:v1\nmanifests:\n  - image: {R}@sha256:" + "z" * 64 + "\n"),
        expect=["{D}/spec.yaml:3: invalid reference", "64 lower-case hex digits"]), id="ref-digest-non-hex"),

    # ---- the digests folder -----------------------------------------------------------------------
    pytest.param(from_digests(files={"digests/" + HEX: "", "digests/notes.txt": ""},
        expect=["{D}/digests/notes.txt: not a digest"]), id="digests-non-digest-name"),
    pytest.param(from_digests(files={"digests/" + HEX: "", "digests/" + HEX2 + "/": Folder()},
        expect=["{D}/digests/" + HEX2 + ": is a folder"]), id="digests-subfolder"),
    pytest.param(from_digests(files={"digests/" + HEX: "", "digests/" + HEX2: Symlink("/etc/passwd")},
        expect=["{D}/digests/" + HEX2 + ": is a symlink pointing outside"]), id="digests-symlink-to-etc-passwd"),
    pytest.param(from_digests(files={"digests/": Folder()},
        expect=["{D}/digests: no digest files"]), id="digests-empty-folder"),
    pytest.param(cli("push", "from-digests", "{D}/no-such-folder", "--target", "{R}:v1",
                     expect=["{D}/no-such-folder: not a directory"]), id="digests-missing-folder"),
    pytest.param(from_digests(files={"digests/" + HEX.upper(): ""},
        expect=["{D}/digests/" + HEX.upper() + ": not a digest", "lower case"]), id="digests-upper-case-name"),
    pytest.param(from_digests(files={"digests/" + HEX: "", "digests/sha256-" + HEX: ""},
        expect=["already named by"]), id="digests-same-digest-twice"),
    pytest.param(from_digests(files={"digests/" + HEX: "", "digests/pipe": Fifo()},
        expect=["{D}/digests/pipe: is not a regular file"]), id="digests-named-pipe"),
    pytest.param(from_digests(files={"digests/" + HEX: "", "digests/bad\nname": ""},
        expect=["not a digest"]), id="digests-name-with-newline"),

    # ---- target equal to a source -----------------------------------------------------------------
    pytest.param(from_matrix(files=matrix('[\n  {"image": "{R}:v1", "platform": "linux/amd64"}\n]\n'),
        expect=["source {R}:v1 is also the target tag", "{D}/matrix.json:2"]), id="target-is-a-source-matrix"),
    pytest.param(from_spec(files=spec("image: {R}:v1\nmanifests:\n  - image: {R}:amd64\n  - image: {R}:v1\n"),
        expect=["source {R}:v1 is also the target tag", "{D}/spec.yaml:4"]), id="target-is-a-source-spec"),
    pytest.param(from_args("--tags", "amd64", template="{R}:ARCH",
        expect=["source {R}:amd64 is also the target tag", "--template linux/amd64"]),
        id="target-tag-is-a-template-source"),

    # ---- duplicate declared platforms -------------------------------------------------------------
    pytest.param(from_spec(files=spec("image: {R}:v1\nmanifests:\n  - image: {R}:a\n    platform: linux/amd64\n"
                                      "  - image: {R}:b\n    platform: linux/amd64\n"),
        expect=["both declare platform linux/amd64", "{D}/spec.yaml:3", "{D}/spec.yaml:5"]),
        id="duplicate-platform-amd64"),
    pytest.param(from_matrix(files=matrix('[\n  {"image": "{R}:a", "platform": "linux/arm64"},\n'
                                          '  {"image": "{R}:b", "platform": "linux/arm64/v8"}\n]\n'),
        expect=["both declare platform linux/arm64", "{D}/matrix.json:2", "{D}/matrix.json:3"]),
        id="duplicate-platform-arm64-vs-arm64-v8"),
    pytest.param(from_spec(files=spec("image: {R}:v1\nmanifests:\n  - image: {R}:a\n    platform: linux/aarch64\n"
                                      "  - image: {R}:b\n    platform: {os: linux, architecture: arm64}\n"),
        expect=["both declare platform linux/arm64"]), id="duplicate-platform-aarch64-vs-mapping"),
    pytest.param(from_args(platforms="linux/amd64,linux/arm64,linux/amd64",
        expect=["--platforms lists linux/amd64 twice"]), id="duplicate-platform-in-platforms-flag"),
    pytest.param(from_args(platforms="linux/arm/v6,linux/arm/v7",
        expect=["--template gives {R}:v1-arm for both linux/arm/v6 and linux/arm/v7", "VARIANT"]),
        id="template-same-image-for-two-platforms"),

    # ---- annotations ------------------------------------------------------------------------------
    pytest.param(from_args("--annotation", "org.opencontainers.image.source=https://x", "--format", "docker",
        expect=["annotations need an OCI index, but format docker"]), id="annotation-with-format-docker"),
    pytest.param(from_spec("--format", "docker", files=spec(
        "image: {R}:v1\nannotations:\n  org.opencontainers.image.source: https://x\n"
        "manifests:\n  - image: {R}:amd64\n"),
        expect=["annotations need an OCI index, but format docker"]), id="spec-annotation-with-format-docker"),
    pytest.param(from_args("--annotation", "org.opencontainers.image.source",
        expect=["invalid annotation 'org.opencontainers.image.source'", "KEY=VALUE", "--annotation"]),
        id="annotation-without-equals"),
    pytest.param(from_spec(files=spec("image: {R}:v1\nannotations:\n  org.example.list: [a, b]\n"
                                      "manifests:\n  - image: {R}:amd64\n"),
        expect=["{D}/spec.yaml:3: annotation 'org.example.list' must be"]), id="spec-annotation-not-a-string"),

    # ---- --semver ---------------------------------------------------------------------------------
    pytest.param(from_args("--semver", "1.4", expect=["semver '1.4' is not a semantic version", "MAJOR.MINOR.PATCH"]),
        id="semver-two-parts"),
    pytest.param(from_args("--semver", "1.4.2+build.5", expect=["semver '1.4.2+build.5' carries build metadata"]),
        id="semver-build-metadata"),
    pytest.param(from_args("--semver", "main", expect=["semver 'main' is not a semantic version"]),
        id="semver-branch-name"),

    # ---- other flags ------------------------------------------------------------------------------
    pytest.param(from_args("--wait-timeout", "-1", expect=["--wait-timeout", "'-1'", "0 to 86400"]),
        id="wait-timeout-negative"),
    pytest.param(from_args("--wait-timeout", "abc", expect=["--wait-timeout", "'abc'"]), id="wait-timeout-abc"),
    pytest.param(from_args("--format", "zip", expect=["--format", "invalid choice: 'zip'"]), id="format-zip"),
    pytest.param(from_args("--timeout", "0", expect=["--timeout 0"]), id="timeout-zero"),
    pytest.param(from_args("--username", "ci-bot", expect=["--username needs --password-stdin"]),
        id="username-without-password-stdin"),
    pytest.param(from_args("--password-stdin", stdin="hunter22\n", expect=["--password-stdin needs --username"],
                           hint=False), id="password-stdin-without-username"),
    pytest.param(from_args(template="{R}:v1", expect=["--template '{R}:v1' has no ARCH placeholder"]),
        id="template-without-ARCH"),
    pytest.param(cli("push", "from-args", "--platforms", "linux/amd64", "--target", "{R}:v1",
                     expect=["push from-args: the following arguments are required: --template"]),
        id="template-flag-missing"),

    # ---- the GitHub Action --------------------------------------------------------------------------
    pytest.param(action({"target": "{R}:v1", "sources": "{R}:amd64", "spec": "{D}/spec.yaml"},
                        files=spec("image: {R}:v1\nmanifests:\n  - image: {R}:amd64\n"),
                        expect=["give exactly one source input", "(given: sources, spec)"]),
                 id="action-two-source-inputs"),
    pytest.param(action({"target": "{R}:v1", "tags": "latest"},
                        expect=["give exactly one source input", "(given: none)"]),
                 id="action-no-source-input"),
    pytest.param(action({"target": "{R}:v1", "matrix": '[\n  {"image": "{R}:amd64"},\n  {"image": "{R}:arm64"},\n]'},
                        expect=["input matrix:4: invalid JSON", "trailing commas"]),
                 id="action-matrix-trailing-comma"),
    pytest.param(action({"target": "{R}:v1", "sources": "linux/amd64={R}:amd64\nlinux={R}:arm64"},
                        expect=["input sources:2: invalid platform 'linux'"]),
                 id="action-sources-bad-platform"),
    pytest.param(action({"spec": "{D}/spec.yaml"},
                        files=spec("image: {R}:v1\nmanifest:\n  - image: {R}:amd64\n"),
                        expect=["{D}/spec.yaml:2: unknown key 'manifest'", "did you mean 'manifests'"]),
                 id="action-spec-unknown-key"),
    pytest.param(action({"target": "{R}:v1", "digests-dir": "{D}/digests"},
                        files={"digests/" + HEX: "", "digests/" + HEX2: Symlink("/etc/passwd")},
                        expect=["{D}/digests/" + HEX2 + ": is a symlink pointing outside"]),
                 id="action-digests-symlink-outside"),
    pytest.param(action({"target": "{R}:v1", "platforms": "linux/amd64,linux/arm64", "template": "{R}:v1"},
                        expect=["input template", "has no ARCH placeholder"]),
                 id="action-template-without-ARCH"),
    pytest.param(action({"target": "{R}:v1", "sources": "{R}:amd64", "tags": "latest,a b"},
                        expect=["input tags", "'a b'"]),
                 id="action-tags-with-space"),
    pytest.param(action({"target": "{R}:v1", "sources": "{R}:amd64", "semver": "1.4.2+build.5"},
                        expect=["semver '1.4.2+build.5' carries build metadata"]),
                 id="action-semver-build-metadata"),
]


# -- running a case ---------------------------------------------------------------------------------

def _sub(value, s: dict):
    if isinstance(value, str):
        for key, rep in s.items():
            value = value.replace("{" + key + "}", rep)
        return value
    if isinstance(value, bytes):
        return _sub(value.decode("latin-1"), s).encode("latin-1")
    return value


def _materialise(files: dict[str, Content], root: Path, s: dict) -> None:
    for name, content in files.items():
        path = root / name.rstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        if callable(content) and not isinstance(content, (Folder, Symlink, Fifo)):
            content = content(s)
        if isinstance(content, Folder):
            path.mkdir(exist_ok=True)
        elif isinstance(content, Symlink):
            os.symlink(content.target, path)
        elif isinstance(content, Fifo):
            os.mkfifo(path)
        elif isinstance(content, bytes):
            path.write_bytes(_sub(content, s))
        else:
            path.write_text(_sub(content, s), encoding="utf-8")


def _check_fragments(line: str, case: Case, s: dict) -> None:
    for fragment in case.expect:
        if isinstance(fragment, re.Pattern):
            assert fragment.search(line), f"{fragment.pattern!r} not found in: {line}"
        else:
            want = _sub(fragment, s)
            assert want in line, f"{want!r} not in: {line}"
    if case.hint:
        assert "(hint: " in line, f"no hint in: {line}"


@pytest.mark.bad_input
@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_refused_with_exit_2_and_nothing_sent(registry, repo_name, tmp_path, case: Case):
    s = {"H": registry.host, "R": f"{registry.host}/{repo_name}", "D": str(tmp_path)}
    _materialise(case.files, tmp_path, s)
    mark = log_mark(registry)
    started = time.monotonic()
    try:
        if case.action is not None:
            run = run_action({k: _sub(v, s) for k, v in case.action.items()}, timeout=case.limit)
        else:
            run = run_cli(*(_sub(a, s) for a in case.argv), stdin=_sub(case.stdin, s), timeout=case.limit)
    except subprocess.TimeoutExpired:
        pytest.fail(f"not refused within {case.limit:.0f} s (hangs on this input)")
    elapsed = time.monotonic() - started

    if case.action is not None:
        shown = run.out + run.err
        assert "Traceback" not in run.all_text, shown
        assert run.code == 2, shown
        error_lines = [line for line in run.out_lines if line.startswith("::error")]
        assert len(error_lines) == 1 and error_lines[0].startswith(ERROR_PREFIX), shown
        others = [line for line in run.out_lines if not line.startswith(("::error", "::add-mask::"))]
        assert others == [], shown
        assert run.err.strip() == "", shown
        assert run.output_text == "", run.all_text
        # the step summary says what failed, in the annotation's words
        assert run.summary == f"### multiarch-manifest: failed\n\n{run.errors[0]}\n\nNothing was tagged.\n"
        line = run.errors[0]
    else:
        shown = f"exit {run.code}\nstdout: {run.out!r}\nstderr: {run.err!r}"
        assert "Traceback" not in run.out + run.err, shown
        assert run.code == 2, shown
        assert run.out == "", shown
        assert len(run.err.splitlines()) == 1, shown
        line = run.err.splitlines()[0]
        assert line.startswith(CLI_PREFIX), shown
    _check_fragments(line, case, s)
    assert elapsed < case.limit

    # nothing pushed, nothing even asked: the registry's access log did not grow
    after = log_mark(registry)
    assert after == mark, f"{after - mark} request(s) reached the registry: {registry.request_log()[mark:]}"


def test_corpus_is_at_least_45_cases():
    ids = [p.id for p in CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    assert len(CASES) >= 45, len(CASES)
    assert all(isinstance(p.values[0], Case) for p in CASES)
    assert sum(1 for p in CASES if p.values[0].action is not None) >= 5
