"""One push job, as the CLI and the CI adapters run it: connect, ping ahead, publish, masking all output."""
from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

from multiarch_ci.core.errors import MultiarchError
from multiarch_ci.core.location import registry_of
from multiarch_ci.core.options import LAST_LOOK, Options
from multiarch_ci.core.plan import PushPlan
from multiarch_ci.frontends.output import Console
from multiarch_ci.registry.auth.credentials import Credential
from multiarch_ci.registry.auth.login_hints import naming_credential
from multiarch_ci.registry.client import RegistryClient
from multiarch_ci.registry.connect import connect

TYPE_CHECKING = False   # not typing's: typing is not worth its import at every start
if TYPE_CHECKING:
    from multiarch_ci.flow.publish import Result


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
    ping_ahead(client, plans, options)
    from multiarch_ci.flow.publish import Publisher  # its imports (~60 ms) overlap the pings' round trips
    from multiarch_ci.frontends.stores import Stores  # the store of each reference: a registry's or a layout's
    outcomes = Publisher(Stores(client), options, log=console.progress).run_all(plans)
    return [naming_credential(o, client.auth.credentials.lookup) if isinstance(o, MultiarchError) else o
            for o in outcomes]


def ping_ahead(client: RegistryClient, plans: list[PushPlan], options: Options) -> None:
    """Send each registry's first request (the ping) now, in the background, so its round trip overlaps
    the rest of the set-up; the run's own first request to that registry then finds the answer cached
    (auth.ensure_ping: one ping per registry; a failure is kept and raised to that caller, once).

    Every input is checked by now but a layout's (Publisher.run_all opens them before any request), so
    a plan naming a layout sends nothing ahead. Only registries the run asks are pinged: a dry run
    reads the first target (to compare) but the others only for --semver's tags. A source's registry
    is first asked inside the wait, whose requests end when its time does: its ping gets that bound."""
    refs = [(s.ref, True) for p in plans for s in p.sources]
    refs += [(ref, False) for p in plans for ref in (p.target, *p.also)
             if ref is p.target or not options.dry_run or p.floating]
    if any(registry_of(ref) is None for p in plans for ref in (p.target, *p.also, *(s.ref for s in p.sources))):
        return   # a layout: it has no registry, and it is checked before any request (Stores.prepare)
    in_wait: dict[str, bool] = {}
    for ref, source in refs:
        registry = registry_of(ref) or ""   # every ref has one here: layouts returned above
        in_wait[registry] = in_wait.get(registry, False) or source
    for registry, bounded in in_wait.items():
        seconds = max(LAST_LOOK, options.wait_timeout) if bounded and options.wait_timeout > 0 else None
        threading.Thread(target=_ping, args=(client, registry, seconds), name="mm-ping", daemon=True).start()


def _ping(client: RegistryClient, registry: str, seconds: float | None) -> None:
    try:
        if seconds is None:
            client.auth.ensure_ping(registry)
        else:
            with client.transport.bounded(seconds):
                client.auth.ensure_ping(registry)
    except Exception:   # noqa: BLE001  the run's own first request to this registry raises it (or retries)
        pass
