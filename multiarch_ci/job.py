"""One push job, as the CLI and the CI adapters run it: connect, publish, masking all output."""
from __future__ import annotations

from collections.abc import Mapping

from multiarch_ci.output import Console
from multiarch_ci.publish import Options, Publisher, Result
from multiarch_ci.registry.connect import connect
from multiarch_ci.registry.credentials import Credential
from multiarch_ci.sources import PushPlan


def push(plan: PushPlan, options: Options, console: Console, *, insecure: bool, environ: Mapping[str, str],
         explicit: Credential | None = None, fallback: dict[str, Credential] | None = None,
         timeout: float = 60.0) -> Result:
    """Run the plan; `explicit` credentials apply to the target's registry, `fallback` by host."""
    client = connect(insecure=insecure, environ=environ, debug=console.debug, fallback=fallback, timeout=timeout,
                     explicit={plan.target.registry: explicit} if explicit else None)
    console.secrets = client.auth.secrets
    return Publisher(client, options, log=console.progress).run(plan)
