"""The source kinds: every input form that names the per-arch images, one row each in `KINDS`.

The CLI's `push FORM` subcommands, the action's "exactly one source input" and the settings builder all
read this table, so a new kind is a module here in sources/ (its reader), a row below, and its input in
action.yml. An image in an OCI layout (oci-layout://PATH[:TAG|@DIGEST]) is not a kind of its own: every
kind's references may name one. Pure: the front end fetches what a row says it needs (a file's text, a
folder's listing) and hands it to the row's reader.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from multiarch_ci.core.errors import InputError
from multiarch_ci.core.location import LayoutRef, registry_of
from multiarch_ci.core.plan import SourceSpec
from multiarch_ci.core.reference import ImageRef

# What a front end hands a reader, as a row says for that front end:
PATH = "path"       # the value is a file's path ('-': standard input): its text is read
TEXT = "text"       # the value is the text itself (an input's lines, the command line's words)
FOLDER = "folder"   # the value is a folder: its entries are listed
VALUE = "value"     # the value alone (a template), with the row's companion (its platforms)


@dataclass(frozen=True, slots=True)
class Given:
    """What a front end fetched for a kind: the value as written and the text or folder listing read for it."""

    value: str                                  # as written: a path, a folder, a template, text
    text: str = ""                              # a file's or an input's text (PATH, TEXT)
    name: str = ""                              # where that text came from, for messages
    listing: tuple[tuple[str, str], ...] = ()   # a folder's (name, kind) entries (FOLDER)
    companion: str = ""                         # the companion setting's value (the template's platforms)


@dataclass(frozen=True, slots=True)
class Context:
    """What a reader may need besides its input: the target given, and how the front end names settings."""

    target: ImageRef | LayoutRef | None
    label: Callable[[str], str]                 # a setting's name as the user wrote it (--platforms, input …)
    removing: bool = False                      # --remove alone: no sources is fine


@dataclass(frozen=True, slots=True)
class Found:
    """What a reader read: the sources, where they were looked for, and what a spec file says besides."""

    sources: tuple[SourceSpec, ...]
    looked: str                                 # where the sources were looked for (--require's message)
    notes: tuple[str, ...] = ()                 # what was read other than written (linux/x86_64: amd64)
    target: ImageRef | None = None              # a spec's image
    tags: tuple[str, ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class SourceKind:
    """One input form: its names in each front end, what each front end fetches for it, and its reader."""

    name: str                                   # the kind, neutrally
    cli_form: str                               # `push FORM`
    action_input: str                           # the action's input (action.yml)
    reader: Callable[[Given, Context], Found]
    cli_gives: str                              # PATH, TEXT, FOLDER or VALUE
    action_gives: str
    cli_dest: str                               # the argparse dest holding the value
    cli_args: tuple[tuple[tuple[str, ...], dict], ...]   # add_argument(*names, **kw) of the form's own words
    cli_help: str                               # the form's line in `push --help`
    about: tuple[str, str]                      # its --help: what it does (one line) and an example
    gives_target: bool = False                  # the kind names the target itself (a spec's image)
    plan_per_value: bool = False                # several values given: one push each (several spec files)
    by_platform: bool = False                   # its sources have no order: the entries are sorted by platform
    companion: str = ""                         # a setting that goes with this kind only (template: platforms)
    companion_hint: str = ""


def _spec(given: Given, ctx: Context) -> Found:
    from multiarch_ci.sources import specfile  # YAML: not imported for the other kinds

    spec = specfile.parse_spec(given.text, given.name)
    return Found(spec.sources, f"the spec {given.name}", target=spec.target, tags=spec.tags,
                 annotations=spec.annotations)


def _template(given: Given, ctx: Context) -> Found:
    from multiarch_ci.sources.forms import sources_from_template
    from multiarch_ci.sources.notes import hub_note, normalised_notes

    platforms, template = ctx.label("platforms"), ctx.label("template")
    srcs = sources_from_template(given.companion, given.value, platforms, template)
    notes = normalised_notes(given.companion, platforms)
    notes += tuple(filter(None, [hub_note(given.value, srcs[0].ref, template)]))
    return Found(srcs, f"the template's images for {platforms} {', '.join(str(s.platform) for s in srcs)}", notes)


def _matrix(given: Given, ctx: Context) -> Found:
    from multiarch_ci.sources.forms import parse_matrix

    name = given.name or "matrix"
    return Found(parse_matrix(given.text, name, allow_empty=ctx.removing), f"the matrix {name}")


def _refs(given: Given, ctx: Context) -> Found:
    from multiarch_ci.sources.forms import parse_refs

    return Found(parse_refs(given.text, where=given.name),
                 f"the sources of {given.name}" if given.name else "the sources given")


def _digests(given: Given, ctx: Context) -> Found:
    from multiarch_ci.sources.digests_folder import sources_from_digests

    target = ctx.target
    if target is not None and registry_of(target) is None:
        raise InputError(f"a digests folder names images in the target repository, and {target} is a "
                         "layout", "list the per-arch images instead (a matrix, sources or a spec)")
    assert isinstance(target, ImageRef)   # the builder asks a target of every kind but a spec
    folder = given.value.rstrip("/") or given.value
    srcs = sources_from_digests(list(given.listing), target.with_tag(None), folder)
    return Found(srcs, f"the digests folder {folder} ({len(srcs)} digest file(s), each an image or index in "
                       f"{target.with_tag(None)})")


# In the order the action names them ("give exactly one source input of …") and `push --help` lists them.
KINDS: tuple[SourceKind, ...] = (
    SourceKind(
        "refs", "from-sources", "sources", _refs, cli_gives=TEXT, action_gives=TEXT, cli_dest="sources",
        cli_args=((("sources",), {"nargs": "+", "metavar": "[PLATFORM=]REF",
                                  "help": "each per-arch image, optionally prefixed with its platform "
                                          "(linux/arm64/v8=REF); oci-layout://PATH[:TAG] names one in a layout"}),),
        cli_help="the per-arch images themselves, [PLATFORM=]REF each",
        about=("Push the index of the images named on the command line, each optionally prefixed with the "
               "platform it declares.",
               "push from-sources ghcr.io/org/app:v1-amd64 ghcr.io/org/app:v1-arm64 --target ghcr.io/org/app:v1")),
    SourceKind(
        "digests", "from-digests", "digests-dir", _digests, cli_gives=FOLDER, action_gives=FOLDER, cli_dest="dir",
        cli_args=((("dir",), {"help": "DIR of empty files named <hex digest>, each an image the build legs pushed "
                                      "to --target's repository (looked for there, by digest)"}),),
        cli_help="a folder of files named by per-arch manifest digests, pushed to --target's repository",
        about=("Push the index of the images a digests folder names, the Docker docs' merge pattern: each build "
               "leg pushes its image by digest to --target's repository and touches DIR/<hex digest>. Digests "
               "are looked for in --target's repository only (registry and repository, the tag aside): the "
               "legs must push there.", "push from-digests digests --target ghcr.io/org/app:v1 --tags latest"),
        by_platform=True),
    SourceKind(
        "matrix", "from-matrix", "matrix", _matrix, cli_gives=PATH, action_gives=TEXT, cli_dest="matrix",
        cli_args=((("matrix",), {"help": "FILE or -"}),),
        cli_help="JSON/YAML list of {image, digest?, platform?} ('-' for stdin)",
        about=("Push the index of the images a JSON or YAML list names: one {image, digest, platform} per "
               "build leg (digest and platform optional).", "push from-matrix legs.json --target ghcr.io/org/app:v1")),
    SourceKind(
        "spec", "from-spec", "spec", _spec, cli_gives=PATH, action_gives=PATH, cli_dest="spec",
        cli_args=((("spec",), {"nargs": "+", "help": "SPEC.yaml [SPEC.yaml ...]"}),),
        cli_help="a manifest-tool style YAML spec (several: one run, one pool)",
        about=("Push the index a manifest-tool style YAML spec describes (image, tags, manifests with their "
               "platforms).", "push from-spec spec.yaml"),
        gives_target=True, plan_per_value=True),
    SourceKind(
        "template", "from-args", "template", _template, cli_gives=VALUE, action_gives=VALUE, cli_dest="template",
        cli_args=((("--platforms",), {"required": True, "action": "append",
                                      "help": "e.g. linux/amd64,linux/arm64/v8 (comma separated; repeatable)"}),
                  (("--template",), {"required": True, "help": "e.g. REG/app:v1-ARCHVARIANT"})),
        cli_help="--platforms and a --template with OS/ARCH/VARIANT placeholders",
        about=("Push the index of one image per platform, named by a template whose OS, ARCH and VARIANT are "
               "filled in for each of --platforms.",
               "push from-args --platforms linux/amd64,linux/arm64/v8 --template ghcr.io/org/app:v1-ARCH "
               "--target ghcr.io/org/app:v1"),
        companion="platforms", companion_hint="e.g. platforms: linux/amd64,linux/arm64"),
)


def by_cli_form(form: str) -> SourceKind:
    return next(k for k in KINDS if k.cli_form == form)

