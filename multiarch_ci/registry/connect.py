"""Build a RegistryClient from CLI settings: transport policy, credentials, authenticator."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from multiarch_ci.core.errors import InputError
from multiarch_ci.registry.auth.authenticator import Authenticator
from multiarch_ci.registry.auth.credentials import Credential, CredentialStore
from multiarch_ci.registry.client import RegistryClient
from multiarch_ci.registry.http.hosts import HostPolicy
from multiarch_ci.registry.http.transport import Policy, Transport


def connect(*, insecure_registries: Iterable[str] = (), environ: Mapping[str, str] | None = None,
            explicit: dict[str, Credential] | None = None, fallback: dict[str, Credential] | None = None,
            debug: Callable[[str], None] | None = None, policy: Policy | None = None,
            timeout: float = 60.0, pool_size: int = 32) -> RegistryClient:
    """A client with one keep-alive session and one token cache for the whole run.

    `insecure_registries`: HOST[:PORT] of the registries that may use plain HTTP or unverified TLS."""
    if not 0 < timeout <= 3600:
        raise InputError(f"--timeout {timeout:g}: give seconds from 0 to 3600", "the default is 60")
    policy = policy or Policy(hosts=HostPolicy.of(insecure_registries), read_timeout=timeout,
                              connect_timeout=min(10.0, timeout), pool_size=pool_size)
    transport = Transport(policy, environ=environ, debug=debug)
    store = CredentialStore(explicit=explicit, environ=environ, fallback=fallback)
    store.load()
    return RegistryClient(transport, Authenticator(transport, store))
