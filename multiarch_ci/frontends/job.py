"""One push job, as the CLI and the action run it from their Settings: connect, ping ahead, publish, masking
all output."""
from __future__ import annotations

import threading
from collections.abc import Mapping

from multiarch_ci.core.errors import MultiarchError
from multiarch_ci.core.location import registry_of
from multiarch_ci.core.options import LAST_LOOK, Options
from multiarch_ci.core.plan import PushPlan
from multiarch_ci.frontends.output import Console
from multiarch_ci.registry.auth.login_hints import naming_credential
from multiarch_ci.registry.client import RegistryClient
from multiarch_ci.registry.connect import connect

TYPE_CHECKING = False   # not typing's: typing is not worth its import at every start
if TYPE_CHECKING:
    from multiarch_ci.flow.publish import Result
    from multiarch_ci.frontends.settings import Settings


def push_all(settings: Settings, console: Console, environ: Mapping[str, str]) -> list[Result | MultiarchError]:
    """Every plan on one client (one session, one token cache) and one request pool; the settings' explicit
    login applies to the first targets' registries, the fallback ones by host."""
    plans, options = list(settings.plans), settings.options
    registries = {r for p in plans if (r := registry_of(p.target))}   # a layout has none
    explicit = settings.explicit
    client = connect(insecure_registries=settings.insecure_registries, environ=environ, debug=console.debug,
                     fallback=settings.fallback, timeout=settings.timeout,
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
