"""Orchestration: one chain per source (wait, resolve, copy its children) -> compose -> push the index
by digest -> tags -> verify.

The chains (chain.py) run concurrently; nothing is written before every source has resolved and passed
the composition checks, and the index PUT waits only for the last chain. Copying lives in children.py;
this module keeps the order of things and the tags.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, replace

from multiarch_ci.core.compose import compose_update
from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import CompositionError, Kind, MultiarchError, RegistryError, setting
from multiarch_ci.core.location import LayoutRef
from multiarch_ci.core.model import ImageIndex
from multiarch_ci.core.options import Options
from multiarch_ci.core.plan import PushPlan
from multiarch_ci.core.reference import ImageRef
from multiarch_ci.core.tags import Decision, decide, moving_tags, parse_version
from multiarch_ci.core.targets import targets_of
from multiarch_ci.core.update import Change, Diff, diff, media_type_note, require_platforms
from multiarch_ci.flow.append_race import converge
from multiarch_ci.flow.attestations import attestation_referrers
from multiarch_ci.flow.chain import Chains
from multiarch_ci.flow.copy_targets import index_source, make_copier, put_as_is, put_everywhere
from multiarch_ci.flow.resolve import Resolver
from multiarch_ci.flow.tagging import Tagger
from multiarch_ci.flow.wait import describe_missing, wait_for

TYPE_CHECKING = False   # not typing's: typing is not worth its import here
if TYPE_CHECKING:
    from multiarch_ci.flow.store import Stores


@dataclass(frozen=True, slots=True)
class Result:
    target: ImageRef | LayoutRef
    digest: Digest
    index: ImageIndex
    body: bytes
    tags: tuple[str, ...]
    pushed: bool
    waited: tuple[tuple[str, float], ...] = ()   # (image digest, seconds until its source landed)
    held: tuple[tuple[str, str], ...] = ()       # (floating tag, the newer version that holds it back)
    missing: tuple[str, ...] = ()                # sources skipped with --ignore-missing
    changes: tuple[Change, ...] = ()             # --append/--remove: what changed in the existing index
    diff: Diff | None = None                     # --dry-run: the change against what the tag holds now
    also: tuple[tuple[ImageRef, tuple[str, ...]], ...] = ()   # the other targets and their tags
    referrers: tuple[dict, ...] = ()             # referrers copied with the children (referrers_copy.py)

    @property
    def ref(self) -> str:
        return f"{self.target.name}@{self.digest}"

    @property
    def refs(self) -> list[str]:
        """The index by digest in every target, the first first."""
        return [self.ref] + [f"{t.name}@{self.digest}" for t, _ in self.also]

    @property
    def tag_refs(self) -> list[str]:
        """Every tag written (or planned), as full references, target by target."""
        return [f"{t.name}:{tag}" for t, tags in ((self.target, self.tags), *self.also) for tag in tags]

    def to_json(self) -> dict:
        """In a dry run `ref` and `tags` are null (nothing exists under them); `plannedRef`/`plannedTags`
        and `digest` (the bytes' digest) say what a push would write."""
        tags = self.tag_refs
        return {"digest": str(self.digest), "ref": self.ref if self.pushed else None,
                "refs": self.refs if self.pushed else None, "referrers": list(self.referrers),
                "mediaType": self.index.media_type, "tags": tags if self.pushed else None,
                "plannedRef": self.ref, "plannedRefs": self.refs, "plannedTags": tags, "pushed": self.pushed,
                "held": [{"tag": t, "newer": n} for t, n in self.held],
                "manifests": manifest_rows(self.index), "missing": list(self.missing),
                **({"changes": [c.to_json() for c in self.changes]} if self.changes else {}),
                **({"diff": self.diff.to_json()} if self.diff else {})}


def manifest_rows(index: ImageIndex) -> list[dict]:
    """One row per entry: platform string, digest, media type, size; attestations as unknown/unknown."""
    rows = []
    for d in index.manifests:
        row = {"platform": str(d.platform) if d.platform else "unknown/unknown", "digest": str(d.digest),
               "mediaType": d.media_type, "size": d.size}
        if d.is_attestation:
            row["attestationFor"] = str(d.attests) if d.attests else None
        rows.append(row)
    return rows


class Publisher:
    """Runs PushPlans against the stores (registries, layouts) the front end's `stores` chooses per reference."""

    pool: ThreadPoolExecutor     # a run's requests, which never wait: made for each run_all and shut at its end,
    chains: ThreadPoolExecutor   # ... like the chains (one per source), so a Publisher runs again

    def __init__(self, stores: Stores, options: Options = Options(),
                 log: Callable[[str], None] = lambda _m: None):
        self.stores, self.options, self._log = stores, options, log
        self._local = threading.local()

    def _fan_out(self, fn, items: Iterable) -> list:
        """A chain's parallel requests: the first inline, the rest on the request pool (whose tasks never
        wait on a pool, so this cannot deadlock); every one finishes before this returns."""
        items = list(items)
        if len(items) <= 1:
            return [fn(i) for i in items]
        rest = [self.pool.submit(fn, i) for i in items[1:]]
        try:
            first = fn(items[0])
        finally:
            wait(rest)
        return [first] + [f.result() for f in rest]

    def run(self, plan: PushPlan) -> Result:
        outcome = self.run_all([plan])[0]
        if isinstance(outcome, MultiarchError):
            raise outcome
        return outcome

    def run_all(self, plans: list[PushPlan], parallel: int = 4) -> list[Result | MultiarchError]:
        """Run several plans (the batch form) on one client and one request pool; one failing
        plan does not stop the others. Up to `parallel` plans are orchestrated at a time."""
        workers = max(1, self.options.workers)
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mm")   # requests, never waiting
        self.chains = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mm-chain")  # one per source
        try:
            for plan in plans:
                self.stores.prepare(plan, self.options.dry_run)   # layouts checked: bad input before any request
            with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(plans))),
                                    thread_name_prefix="mm-plan") as outer:
                return [f.result() for f in [outer.submit(self._run_one, p, len(plans) > 1) for p in plans]]
        finally:
            self.chains.shutdown(wait=True)
            self.pool.shutdown(wait=True)
            self.stores.close()   # a .tar layout target is packed now, whole (layout/archive.py)

    def _run_one(self, plan: PushPlan, labelled: bool) -> Result | MultiarchError:
        self._local.label = f"[{plan.target.name}:{plan.tags[0]}] " if labelled else ""
        try:
            return self._run(plan)
        except MultiarchError as e:
            return e

    def log(self, line: str) -> None:
        self._log(getattr(self._local, "label", "") + line)

    def _run(self, plan: PushPlan) -> Result:
        o = replace(self.options, fmt=self.stores(plan.target).index_format(self.options.fmt))
        label = getattr(self._local, "label", "")   # chains log from their own threads: bind the label here

        def log(line: str) -> None:
            self._log(label + line)
        resolver = Resolver(self.stores, log, o.verify_platform)
        stop = threading.Event()
        targets = targets_of(plan)
        attach = attestation_referrers(self.stores, targets, o, stop, log, resolver.configs)   # bad input: no request
        copier = None if o.dry_run else make_copier(self.stores, targets, stop, log, resolver.configs, o.referrers,
                                                       self.pool.submit)
        chains = Chains(plan.sources, resolver, copier, self.chains, self._fan_out, fmt=o.fmt,
                        annotations=plan.annotations, verify_platform=o.verify_platform, clock=o.clock, attach=attach)
        landed = wait_for(plan.sources, resolver.probe, timeout=o.wait_timeout, clock=o.clock, sleep=o.sleep,
                          on_progress=self.log, map_fn=chains.read, partial=o.ignore_missing,
                          bound=self.stores.bounded,
                          where=f"a digests folder names images in {setting('target')}'s repository, by digest"
                          if plan.by_platform else "")
        missing = describe_missing(plan.sources, landed)
        for line in missing:
            self.log(f"warning: skipped ({setting('ignore-missing')}): {line}")
        done = [w.value for w in landed]
        if attach is not None and o.dry_run:
            written = sum(len(d.attached) for d in done)
            self.log(f"dry run: {written} attestation(s) would be written as referrers of their images")
        candidates = [c for d in done for c in d.candidates]
        waited = tuple((str(c.descriptor.digest), d.seconds) for d in done for c in d.candidates)
        updating = o.append or bool(o.remove)
        current = self._existing(plan, updating) if updating or o.dry_run else None
        index, changes = compose_update(candidates, o.fmt, plan.annotations, o.verify_platform,
                                        current if updating else None, o.remove, plan.by_platform,
                                        plan.entry_annotations)
        require_platforms(index, o.required, plan.sources, [w.spec for w in landed], plan.looked_in)
        for change in changes:
            self.log(f"{change}")
        source, why = index_source(plan, self.options, o.fmt, done)   # one index alone, nothing to change: a copy
        copy = source if source is not None and why is None else None
        chains.write(done)   # composed first: a composition error writes nothing
        if copier is not None and copier.summary():
            self.log(copier.summary())
        composed = index
        if copy is not None and isinstance(copy.fetched.manifest, ImageIndex):   # (index_source checked it)
            index = copy.fetched.manifest
        body = copy.fetched.body if copy else index.to_bytes()   # a copy: the bytes as read and verified
        digest = Digest.of(body)
        self.log(f"{'copying' if copy else 'composed'} {index.kind} {digest} with {len(index.images)} image(s), "
                 f"{len(index.manifests) - len(index.images)} attestation(s)"
                 + (f": {copy.fetched.ref} as it is, its digest kept" if copy else ""))
        if source is not None and why and digest != source.fetched.digest:
            self.log(f"note: {plan.target.with_tag(plan.tags[0])}: the index is recomposed because {why}, so its "
                     f"digest {digest} differs from the source's {source.fetched.digest}")
        if self.options.dry_run:
            decisions = self._floating(plan)
            preview = diff(current, index)
            for line in preview.lines():
                self.log(f"dry run: {line}")
            self.log(f"dry run: tags that would move: {', '.join(_tags(plan, decisions))}"
                     + "".join(f"; {t} held ({n} is newer)" for t, n in _held(decisions)))
            also = tuple((t, _tags(plan, self._floating(replace(plan, target=t)))) for t in targets[1:])
            return Result(plan.target, digest, index, body, _tags(plan, decisions), pushed=False, waited=waited,
                          held=_held(decisions), missing=tuple(missing), changes=tuple(changes), diff=preview,
                          also=also)
        if updating:   # other legs may update the tag at the same time: merge again until it holds ours
            tagged = converge(self.stores, plan, targets, composed, candidates, o, self._floating, self.log)
            index, body, digest, decided = tagged.index, tagged.body, tagged.digest, tagged.decisions
            note = media_type_note(current, index)
            if note:   # the dry run's diff says it too; the real run must not change a format unsaid
                self.log(f"note: {plan.target.with_tag(plan.tags[0])} {note}")
        else:
            if copy is None or not put_as_is(copier, copy, self._fan_out, o.fmt, self.log):
                index = put_everywhere(self.stores, targets, composed, o.fmt, self.log)  # may fall back to a Docker
                body = index.to_bytes()                                                  # list
                digest = Digest.of(body)
            tagger = Tagger(self.stores, self._fan_out, self._floating, self.log)
            decided = tuple(tagger.write(replace(plan, target=t), digest, body, index.media_type)
                            for t in targets)   # only now: present in every target
        decisions = decided[0]
        also = tuple((t, _tags(plan, d)) for t, d in zip(targets[1:], decided[1:], strict=True))
        return Result(plan.target, digest, index, body, _tags(plan, decisions), pushed=True, waited=waited,
                      held=_held(decisions), missing=tuple(missing), changes=tuple(changes), also=also,
                      referrers=tuple(getattr(copier, "report", ())) + tuple(attach.report if attach else ()))

    def _existing(self, plan: PushPlan, updating: bool) -> ImageIndex | None:
        """The index the first tag holds now (None if the tag does not exist yet): --append/--remove
        update it, --dry-run compares with it."""
        ref = plan.target.with_tag(plan.tags[0])
        flag = "--remove" if self.options.remove else "--append"
        try:
            current = self.stores(ref).get_manifest(ref)
        except RegistryError as e:
            if e.kind is not Kind.NOT_FOUND:
                raise
            if self.options.remove:
                raise CompositionError(f"--remove: {ref} does not exist, so there is nothing to remove from",
                                       "check the target tag") from None
            if updating:
                self.log(f"{flag}: {ref} does not exist yet; creating the index")
            return None
        if not isinstance(current.manifest, ImageIndex):
            if not updating:
                return ImageIndex(current.media_type, ())  # a single image: every platform reads as added
            raise CompositionError(f"{flag}: {ref} holds a single image, not an index",
                                   f"drop {flag} to replace it")
        if updating:
            self.log(f"updating {ref} ({len(current.manifest.images)} image(s), {current.manifest.kind})")
        return current.manifest

    def _floating(self, plan: PushPlan) -> list[Decision]:
        """Which floating tags may move: read the repository's tags now (rule 9's forward-only)."""
        if not plan.floating:
            return []
        existing = self.stores(plan.target).list_tags(plan.target, self.options.tags_page_size)
        decisions = decide(parse_version(plan.version or ""), plan.floating, existing)
        for d in decisions:
            if not d.moves:
                self.log(f"{d.floating.tag} held: {d.newer} is newer than {plan.version}")
        return decisions


def _tags(plan: PushPlan, decisions: list[Decision]) -> tuple[str, ...]:
    return plan.tags + moving_tags(decisions, plan.tags)


def _held(decisions: list[Decision]) -> tuple[tuple[str, str], ...]:
    return tuple((d.floating.tag, d.newer or "") for d in decisions if not d.moves)
