"""One push job, as the CLI and the CI adapters run it: connect, publish, masking all output."""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from multiarch_ci.errors import MultiarchError
from multiarch_ci.location import registry_of
from multiarch_ci.output import Console
from multiarch_ci.publish import Options, Publisher, Result
from multiarch_ci.registry.connect import connect
from multiarch_ci.registry.credentials import Credential
from multiarch_ci.sources import PushPlan


def push(plan: PushPlan, options: Options, console: Console, *, insecure: bool, environ: Mapping[str, str],
         explicit: Credential | None = None, fallback: dict[str, Credential] | None = None,
         timeout: float = 60.0, insecure_registries: Iterable[str] = ()) -> Result:
    """Run the plan; `explicit` credentials apply to the target's registry, `fallback` by host."""
    outcome = push_all([plan], options, console, insecure=insecure, environ=environ, explicit=explicit,
                       fallback=fallback, timeout=timeout, insecure_registries=insecure_registries)[0]
    if isinstance(outcome, MultiarchError):
        raise outcome
    return outcome


def push_all(plans: list[PushPlan], options: Options, console: Console, *, insecure: bool,
             environ: Mapping[str, str], explicit: Credential | None = None,
             fallback: dict[str, Credential] | None = None, timeout: float = 60.0,
             insecure_registries: Iterable[str] = ()) -> list[Result | MultiarchError]:
    """The batch form: every plan on one client (one session, one token cache) and one request pool.

    `insecure` (docker's --insecure) marks the registries the plans name, targets and sources, as
    insecure; never a host met later (a redirect or a token realm)."""
    registries = {r for p in plans if (r := registry_of(p.target))}   # a layout has none
    named: set[str] = set()
    if insecure:
        refs = [ref for p in plans for ref in (p.target, *p.also, *(s.ref for s in p.sources))]
        named = {r for ref in refs if (r := registry_of(ref))}
    client = connect(insecure_registries=[*insecure_registries, *sorted(named)], environ=environ,
                     debug=console.debug, fallback=fallback, timeout=timeout,
                     explicit={r: explicit for r in registries} if explicit else None,   # first targets only
                     pool_size=options.workers)
    console.secrets = client.auth.secrets
    return Publisher(client, options, log=console.progress).run_all(plans)
