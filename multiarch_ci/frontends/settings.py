"""The one settings builder: a front end's raw settings (`RawSettings`, as it read them) -> what to run
(`Settings`: the plans, the Options, the insecure registries, the credentials). The CLI and the GitHub
Action both build through `build`; they differ only in how they read their settings and name them
(labels.py). Every input error surfaces here, for every plan, before any request."""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from multiarch_ci.core import tags as tags_rules
from multiarch_ci.core import targets
from multiarch_ci.core.attestations import MODES
from multiarch_ci.core.errors import InputError, setting
from multiarch_ci.core.location import LayoutRef, parse_location
from multiarch_ci.core.model import FORMATS  # not compose: the push imports it after its first request
from multiarch_ci.core.options import Options
from multiarch_ci.core.plan import PushPlan, make_plan, parse_tags
from multiarch_ci.frontends.input_files import list_digests_dir, read_text
from multiarch_ci.frontends.labels import Labels
from multiarch_ci.frontends.values import flag, insecure_list, labelled, one_of, parse_seconds, platform_list
from multiarch_ci.registry.auth.credentials import Credential
from multiarch_ci.sources import forms as sources
from multiarch_ci.sources.kinds import FOLDER, PATH, TEXT, Context, Given, SourceKind
from multiarch_ci.sources.notes import hub_note

TYPE_CHECKING = False   # not typing's: typing is not worth its import at every start
if TYPE_CHECKING:
    from typing import TextIO


@dataclass(frozen=True, slots=True)
class RawSettings:
    """A push's settings as a front end read them: text and lists not checked yet (a bool or a number
    where the front end's own parser made one already), and the front end's names for them."""

    labels: Labels
    kind: SourceKind                            # a sources.kinds row
    values: tuple[str, ...]                     # the kind's value as written; several (spec files): a push each
    gives: str                                  # what the value is to this front end: kinds.PATH, TEXT, ...
    origin: str = ""                            # where TEXT came from, for messages (input matrix)
    companion: str = ""                         # the kind's companion setting (the template's platforms)
    target: str | Sequence[str] | None = None   # repeated, or one per line: several targets
    tags: Sequence[str] = ()
    annotations: Sequence[str] = ()
    platform_filter: Sequence[str] = ()
    format: str = "auto"
    semver: str = ""
    latest: str = "auto"
    floating: bool = True
    major_zero: bool = False
    verify_platform: bool = True
    append: bool = False
    remove: str | Sequence[str] = ()
    require: str | Sequence[str] = ()
    ignore_missing: bool | str = False
    dry_run: bool | str = False
    wait_timeout: float | str = 300.0
    referrers: str = "auto"
    attestations: str = "keep"
    tags_page_size: int | None = None
    workers: int = 32
    insecure: bool | str = False                # docker's --insecure: every registry the run names
    insecure_registries: str | Sequence[str] = ()
    timeout: float = 60.0
    explicit: Credential | None = None          # the front end's login, for the targets' registries
    fallback: Mapping[str, Credential] = field(default_factory=dict)   # by host (the action's token: ghcr.io)


@dataclass(frozen=True, slots=True)
class Settings:
    """What a front end runs: every plan (one run, one client), how, and with which logins."""

    plans: tuple[PushPlan, ...]
    options: Options
    insecure_registries: tuple[str, ...]
    explicit: Credential | None
    fallback: dict[str, Credential]
    timeout: float

    @property
    def notes(self) -> tuple[str, ...]:
        """What the input was read as, where that differs from what was written (each once)."""
        return tuple(dict.fromkeys(n for p in self.plans for n in p.notes))


def build(raw: RawSettings, environ: Mapping[str, str], stdin: TextIO | None = None) -> Settings:
    """The one way from a front end's settings to the pushes it runs (CLI and action alike)."""
    from multiarch_ci.frontends.gitlab import registry_credentials

    labels = raw.labels
    remove = platform_list(raw.remove, labels.remove)
    required = platform_list(raw.require, labels.require)   # alone, too: a guard on the index's platforms
    fmt = one_of(raw.format, labels.format, FORMATS, "auto", "auto picks Docker or OCI by the children")
    plans = build_plans(raw, fmt, stdin)
    options = Options(
        fmt=fmt, verify_platform=raw.verify_platform, append=raw.append, tags_page_size=raw.tags_page_size,
        workers=max(1, min(64, raw.workers)), required=required, remove=remove,
        ignore_missing=flag(raw.ignore_missing, labels.ignore_missing),
        referrers=one_of(raw.referrers, labels.referrers, ("auto", "none"), "auto",
                         "auto copies signatures and SBOMs with their images; none skips them"),
        attestations=one_of(raw.attestations, labels.attestations, MODES, "keep",
                            "keep leaves buildx's attestations in the index; referrers writes each as a referrer "
                            "of its image"),
        dry_run=flag(raw.dry_run, labels.dry_run),
        wait_timeout=parse_seconds(raw.wait_timeout or "300", labels.wait_timeout)
        if isinstance(raw.wait_timeout, str) else raw.wait_timeout)
    refs = [ref for p in plans for ref in (p.target, *p.also, *(s.ref for s in p.sources))]
    insecure = insecure_list(raw.insecure_registries, flag(raw.insecure, labels.insecure), refs,
                             labels.insecure_registry)
    return Settings(tuple(plans), options, insecure, raw.explicit,
                    {**raw.fallback, **registry_credentials(environ)}, raw.timeout)


def build_plans(raw: RawSettings, fmt: str, stdin: TextIO | None) -> list[PushPlan]:
    """The plans of one run: one, or one per value of a kind that takes several (spec files)."""
    labels = raw.labels
    if len(raw.values) > 1:
        if raw.target:
            raise InputError(f"{labels.target} goes with one spec file; with several, each spec's image is its target")
        if len(set(raw.values)) != len(raw.values):
            raise InputError("the same spec file is given twice")
    plans = [build_plan(raw, value, fmt, stdin) for value in raw.values]
    counts = Counter((p.target.name, t) for p in plans for t in p.tags)
    clash = next((t for t, n in counts.items() if n > 1), None)
    if clash:
        raise InputError(f"two spec files push {clash[0]}:{clash[1]}", "each tag may be written by one spec")
    return plans


def fetch(raw: RawSettings, value: str, stdin: TextIO | None) -> Given:
    """What the kind's reader reads, fetched as the front end gave it: a file's text, a folder's entries."""
    if raw.gives == PATH:
        text, name = read_text(value, stdin)
        return Given(value, text, name, companion=raw.companion)
    if raw.gives == FOLDER:
        return Given(value, listing=tuple(list_digests_dir(value)))
    if raw.gives == TEXT:
        return Given(value, value, raw.origin, companion=raw.companion)
    return Given(value, companion=raw.companion)


def build_plan(raw: RawSettings, value: str, fmt: str, stdin: TextIO | None) -> PushPlan:
    """One validated PushPlan: the kind's sources, the targets, tags, annotations and tag policy."""
    labels, kind = raw.labels, raw.kind
    target, more_texts = targets.split_targets(raw.target, labels.target)   # repeated: several targets
    more = targets.parse_more(more_texts, labels.target)
    extra_tags = labelled(labels.tags, parse_tags, [*raw.tags, *(r.tag for r in more if r.tag)])
    notes, entry_notes = labelled(labels.annotations, sources.parse_annotations, list(raw.annotations))
    if target is not None and not target.strip():
        raise InputError(f"{labels.target} is empty", "give REGISTRY/REPO[:TAG], or leave the option out")
    target_ref = labelled(labels.target, parse_location, target) if target else None   # a registry or a layout
    said: tuple[str, ...] = tuple(filter(None, [target and target_ref and hub_note(target, target_ref, labels.target)]))
    if target_ref is None and not kind.gives_target:
        raise InputError(f"{kind.name} sources need a target: give {labels.target} REGISTRY/REPO[:TAG]")
    # no sources is fine with --remove alone, or for the check of docs/append.md (--append --require)
    removing = bool(raw.remove) or (raw.append and bool(raw.require))
    found = kind.reader(fetch(raw, value, stdin), Context(target_ref, labels, removing))
    target_ref = target_ref or found.target
    assert target_ref is not None   # a kind that gives no target was refused above without one
    srcs, extra_tags, notes = found.sources, found.tags + extra_tags, found.annotations + notes   # a spec's first
    said += found.notes
    if fmt == "docker" and isinstance(target_ref, LayoutRef):
        raise InputError(f"{setting('format')} docker: a Docker manifest list cannot be tagged in the OCI layout "
                         f"{target_ref}",
                         "skopeo and containers/image find only OCI manifests and indexes by tag in a layout: "
                         "use format oci or auto")
    keep = platform_list(raw.platform_filter, labels.platform_filter)   # repeated or comma separated: all of them
    if keep:
        srcs = tuple(replace(s, platform_filter=s.platform_filter + keep) for s in srcs)
    if fmt == "docker" and (notes or entry_notes):
        raise InputError("annotations need an OCI index, but format docker was asked for", "use oci (or auto)")
    floating: tuple[tags_rules.Floating, ...] = ()
    version = None
    if raw.semver:
        parsed = labelled(labels.semver, tags_rules.parse_version, raw.semver)
        exact, floating = tags_rules.tag_set(parsed, raw.latest, raw.floating, raw.major_zero)
        extra_tags, version = extra_tags + exact, str(parsed)
    plan = make_plan(target_ref, extra_tags, srcs, notes, floating, version, allow_empty=removing)
    said += tuple(filter(None, [hub_note(t, r, labels.target) for t, r in zip(more_texts, more, strict=True)]))
    plan = targets.with_more(plan, more, labels.target) if more else plan
    return replace(plan, by_platform=kind.by_platform, notes=said, entry_annotations=entry_notes,
                   looked_in=found.looked)
