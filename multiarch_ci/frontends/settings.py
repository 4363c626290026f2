"""The CLI's edge to the file system: read spec/matrix files, list a digests folder, read stdin.

Parsing itself is pure (sources.py); this module only fetches text safely and hands it over.
"""
from __future__ import annotations

import argparse
import os
import re
from collections import Counter
from dataclasses import dataclass, replace

from multiarch_ci.core import tags as tags_rules
from multiarch_ci.core import targets
from multiarch_ci.core.errors import InputError, setting
from multiarch_ci.core.location import LayoutRef, parse_location
from multiarch_ci.core.model import FORMATS  # not compose: the push imports it after its first request
from multiarch_ci.core.plan import PushPlan, make_plan, parse_tags, split_items
from multiarch_ci.core.platform import Platform
from multiarch_ci.core.reference import ImageRef
from multiarch_ci.registry.auth.credentials import Credential
from multiarch_ci.sources import forms as sources

TYPE_CHECKING = False   # not typing's: typing is not worth its import at every start
if TYPE_CHECKING:
    from typing import TextIO

MAX_INPUT = 1024 * 1024


def read_text(path: str, stdin: TextIO | None = None) -> tuple[str, str]:
    """(text, display name) of a file or '-' for stdin; refuses huge and non-UTF-8 input."""
    if path == "-":
        if stdin is None:
            raise InputError("'-' given but there is no standard input")
        text = stdin.read(MAX_INPUT + 1)
        if len(text) > MAX_INPUT:
            raise InputError(f"<stdin>: larger than {MAX_INPUT} bytes", "is this the right input?")
        return text, "<stdin>"
    p = path.rstrip("/") or path   # as pathlib.Path(path) names it (not imported at start-up)
    try:
        if not os.path.isfile(p):
            raise InputError(f"{path}: no such file", "check the path")
        if os.stat(p).st_size > MAX_INPUT:
            raise InputError(f"{path}: {os.stat(p).st_size} bytes, larger than the {MAX_INPUT}-byte limit",
                             "is this the right file?")
        with open(p, "rb") as f:
            data = f.read()
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror})") from None
    try:
        return data.decode("utf-8-sig"), path
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: not UTF-8 text (byte 0x{data[e.start]:02x})",
                         "save the file as UTF-8") from None


def list_digests_dir(path: str) -> list[tuple[str, str]]:
    """(name, kind) for each entry; kinds: file, dir, symlink-inside, symlink-outside, symlink-broken,
    symlink-loop, other."""
    from pathlib import Path  # only for a digests folder: pathlib is not worth its import at every start

    root = Path(path)
    if not root.is_dir():
        raise InputError(f"{path}: not a directory", "give the folder the matrix legs wrote digests into")
    try:
        real_root = root.resolve()
    except (RuntimeError, OSError):
        raise InputError(f"{path}: a symlink loop", "give the folder itself") from None
    entries = []
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        if entry.is_symlink():
            try:
                target = Path(entry.path).resolve()
            except (RuntimeError, OSError):  # a symlink loop (RuntimeError before Python 3.13)
                entries.append((entry.name, "symlink-loop"))
                continue
            if not target.exists():
                entries.append((entry.name, "symlink-broken"))
            else:
                inside = target.parent == real_root and target.is_file()
                entries.append((entry.name, "symlink-inside" if inside else "symlink-outside"))
        elif entry.is_dir():
            entries.append((entry.name, "dir"))
        elif entry.is_file():
            entries.append((entry.name, "file"))
        else:
            entries.append((entry.name, "other"))
    return entries


def parse_seconds(text: str, what: str = "") -> float:
    """A wait in seconds, 0 to 86400."""
    try:
        value = float(str(text).strip())
    except ValueError:
        value = -1.0
    if not 0 <= value <= 86400:
        raise InputError(f"{what + ': ' if what else ''}{text!r} is not a number of seconds from 0 to 86400",
                         "e.g. 300; 0 looks once")
    return value


def platform_list(text: str | list[str], label: str) -> tuple[Platform, ...]:
    """--remove / --require / --platform-filter: platforms split on commas and newlines (the option repeated:
    a list, each item split), each once."""
    out: list[Platform] = []
    for part in split_items(text or []):
        p = labelled(label, Platform.parse, part)
        if not any(p.same_as(q) for q in out):
            out.append(p)
    return tuple(out)


def explicit_credentials(args: argparse.Namespace, stdin: TextIO) -> Credential | None:
    """--username with --password-stdin (the password is never taken from argv)."""
    if args.password_stdin and not args.username:
        raise InputError("--password-stdin needs --username")
    if args.username and not args.password_stdin:
        raise InputError("--username needs --password-stdin", "pipe the password: echo $TOKEN | ... --password-stdin")
    if not args.username:
        return None
    password = stdin.read(MAX_INPUT).rstrip("\r\n")
    if not password:
        raise InputError("--password-stdin: standard input was empty")
    return Credential(username=args.username, password=password, source="--username with --password-stdin")


@dataclass(frozen=True, slots=True)
class SourceForm:
    """Which input form names the sources, and its value: a spec path, a template with platforms,
    matrix text, a digests folder, or plain refs (`[PLATFORM=]REF` lines)."""

    kind: str                       # "spec" | "template" | "matrix" | "digests" | "refs"
    value: str = ""                 # spec path, template, matrix text, folder, or refs text
    platforms: str = ""             # with "template"
    name: str = ""                  # where matrix/refs text came from, for messages


@dataclass(frozen=True, slots=True)
class TagPolicy:
    """--semver and how its floating tags behave."""

    semver: str = ""
    latest: str = "auto"
    floating: bool = True
    major_zero: bool = False


@dataclass(frozen=True, slots=True)
class Labels:
    """How each setting is named to the user: CLI flags, or the action's inputs."""

    target: str = "--target"
    tags: str = "--tags"
    annotations: str = "--annotation"
    platforms: str = "--platforms"
    template: str = "--template"
    platform_filter: str = "--platform-filter"
    semver: str = "--semver"


ACTION_LABELS = Labels(*(f"input {n}" for n in ("target", "tags", "annotations", "platforms", "template",
                                               "platform-filter", "semver")))


def normalised_notes(platforms: str | list[str], label: str = "--platforms") -> tuple[str, ...]:
    """'--platforms linux/x86_64 read as linux/amd64' for each platform written other than it is read."""
    notes = []
    for text in re.split(r"[,\s]+", platforms if isinstance(platforms, str) else ",".join(platforms)):
        if not text:
            continue
        platform = Platform.parse(text)
        if str(platform) != text:
            notes.append(f"{label} {text} read as {platform}")
    return tuple(notes)


def hub_note(text: str, ref: ImageRef, label: str) -> str | None:
    """'--target app:1 names no registry: Docker Hub assumed (docker.io/library/app)', else None."""
    first, sep, _ = text.strip().partition("/")
    if not isinstance(ref, ImageRef):   # an oci-layout:// path names no registry
        return None
    if ref.registry != "docker.io" or (sep and ("." in first or ":" in first or first == "localhost")):
        return None
    return f"{label} {text.strip()} names no registry: Docker Hub assumed ({ref.name})"


def labelled(label: str, fn, *args):
    """Call fn; an InputError it raises is prefixed with the setting it came from."""
    try:
        return fn(*args)
    except InputError as e:
        if e.message.startswith(label):
            raise
        raise InputError(f"{label}: {e.message}", e.hint) from None


def build_plan(form: SourceForm, *, target: str | None, tags, annotations, platform_filter: str | list[str] = "",
               fmt: str = "auto", labels: Labels = Labels(), policy: TagPolicy = TagPolicy(),
               removing: bool = False) -> PushPlan:
    """One way from a source form and options to a validated PushPlan (CLI and CI adapters alike)."""
    if fmt not in FORMATS:
        raise InputError(f"format {fmt!r} is not one of {', '.join(FORMATS)}", "auto picks Docker or OCI by the children")
    target, more_texts = targets.split_targets(target, labels.target)   # --target repeated: several targets
    more = targets.parse_more(more_texts, labels.target)
    given = [tags] if isinstance(tags, str) else list(tags)
    extra_tags = labelled(labels.tags, parse_tags, [*given, *(r.tag for r in more if r.tag)])
    notes, entry_notes = labelled(labels.annotations, sources.parse_annotations, annotations)
    if target is not None and not target.strip() and labels.target.startswith("--"):
        raise InputError(f"{labels.target} is empty", "give REGISTRY/REPO[:TAG], or leave the option out")
    target_ref = labelled(labels.target, parse_location, target) if target else None   # a registry or a layout
    said: tuple[str, ...] = tuple(filter(None, [target_ref and hub_note(target, target_ref, labels.target)]))
    if form.kind == "spec":
        from multiarch_ci.sources import specfile  # a spec file only (YAML): not imported for the other forms

        text, name = read_text(form.value)
        spec = specfile.parse_spec(text, name)
        target_ref = target_ref or spec.target
        srcs, extra_tags, notes = spec.sources, spec.tags + extra_tags, spec.annotations + notes
        looked = f"the spec {name}"
    else:
        if target_ref is None:
            raise InputError(f"{form.kind} sources need a target: give {labels.target} REGISTRY/REPO[:TAG]")
        if form.kind == "template":
            srcs = sources.sources_from_template(form.platforms, form.value, labels.platforms, labels.template)
            said += normalised_notes(form.platforms, labels.platforms)
            said += tuple(filter(None, [hub_note(form.value, srcs[0].ref, labels.template)]))
            looked = f"the template's images for {labels.platforms} {', '.join(str(s.platform) for s in srcs)}"
        elif form.kind == "matrix":
            srcs = sources.parse_matrix(form.value, form.name or "matrix", allow_empty=removing)
            looked = f"the matrix {form.name or 'matrix'}"
        elif form.kind == "refs":
            srcs = sources.parse_refs(form.value, where=form.name)
            looked = f"the sources of {form.name}" if form.name else "the sources given"
        else:
            if isinstance(target_ref, LayoutRef):
                raise InputError(f"a digests folder names images in the target repository, and {target_ref} is a "
                                 "layout", "list the per-arch images instead (a matrix, sources or a spec)")
            from multiarch_ci.sources.digests_folder import sources_from_digests  # this form only
            folder = form.value.rstrip("/") or form.value
            srcs = sources_from_digests(list_digests_dir(form.value), target_ref.with_tag(None), folder)
            looked = (f"the digests folder {folder} ({len(srcs)} digest file(s), each an image or index in "
                      f"{target_ref.with_tag(None)})")
    if fmt == "docker" and isinstance(target_ref, LayoutRef):
        raise InputError(f"{setting('format')} docker: a Docker manifest list cannot be tagged in the OCI layout "
                         f"{target_ref}",
                         "skopeo and containers/image find only OCI manifests and indexes by tag in a layout: "
                         "use format oci or auto")
    keep = platform_list(platform_filter, labels.platform_filter)   # repeated or comma separated: all of them
    if keep:
        srcs = tuple(replace(s, platform_filter=s.platform_filter + keep) for s in srcs)
    if fmt == "docker" and (notes or entry_notes):
        raise InputError("annotations need an OCI index, but format docker was asked for", "use oci (or auto)")
    floating, version = (), None
    if policy.semver:
        parsed = labelled(labels.semver, tags_rules.parse_version, policy.semver)
        exact, floating = tags_rules.tag_set(parsed, policy.latest, policy.floating, policy.major_zero)
        extra_tags, version = extra_tags + exact, str(parsed)
    plan = make_plan(target_ref, extra_tags, srcs, notes, floating, version, allow_empty=removing)
    said += tuple(filter(None, [hub_note(t, r, labels.target) for t, r in zip(more_texts, more)]))
    plan = targets.with_more(plan, more, labels.target) if more else plan
    return replace(plan, by_platform=form.kind == "digests", notes=said, entry_annotations=entry_notes,
                   looked_in=looked)


def plans_from_args(args: argparse.Namespace, stdin: TextIO) -> list[PushPlan]:
    """The PushPlans of a `push from-*` command (several with more than one spec file); every input
    error surfaces here, for all of them, before any request."""
    if args.form == "from-spec" and len(args.spec) > 1:
        if args.target:
            raise InputError("--target goes with one spec file; with several, each spec's image is its target")
        if args.dotenv:
            raise InputError("--dotenv goes with one target; with several spec files use --json")
        if len(set(args.spec)) != len(args.spec):
            raise InputError("the same spec file is given twice")
    platform_list(getattr(args, "remove", []), "--remove")  # input errors first, before any request
    platform_list(getattr(args, "require", []), "--require")   # alone: a guard on the index's platforms
    specs = args.spec if args.form == "from-spec" else [None]
    plans = [plan_from_args(args, stdin, spec) for spec in specs]
    counts = Counter((p.target.name, t) for p in plans for t in p.tags)
    clash = next((t for t, n in counts.items() if n > 1), None)
    if clash:
        raise InputError(f"two spec files push {clash[0]}:{clash[1]}", "each tag may be written by one spec")
    return plans


def plan_from_args(args: argparse.Namespace, stdin: TextIO, spec: str | None = None) -> PushPlan:
    """Build the PushPlan of a `push from-*` command; all input errors surface here, before any request."""
    if args.form == "from-spec":
        form = SourceForm("spec", spec or args.spec[0])
    elif args.form == "from-args":
        form = SourceForm("template", args.template, platforms=",".join(args.platforms))   # repeated: all
    elif args.form == "from-matrix":
        if args.matrix == "-" and args.password_stdin:
            raise InputError("stdin cannot carry both the matrix and the password")
        text, name = read_text(args.matrix, stdin)
        form = SourceForm("matrix", text, name=name)
    else:
        form = SourceForm("digests", args.dir)
    return build_plan(form, target=args.target, tags=args.tags, annotations=args.annotation,
                      platform_filter=args.platform_filter, fmt=args.format,
                      policy=TagPolicy(args.semver or "", args.latest, not args.no_floating,
                                       args.floating_major_zero),
                      removing=bool(getattr(args, "remove", []))   # no sources: --remove alone, or the check
                      or (getattr(args, "append", False) and bool(getattr(args, "require", []))))   # of docs/append.md
