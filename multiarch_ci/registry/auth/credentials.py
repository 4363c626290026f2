"""Credentials for registry hosts, looked up the way the docker CLI does it.

Precedence for a host: ``explicit`` credentials (``--username``/``--password-stdin``), then the
docker config (``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``: ``credHelpers``,
``auths``, ``credsStore``), then ``fallback`` credentials (CI variables).

In the docker config, ``credHelpers[host]`` wins for its host; otherwise an ``auths`` entry that
holds credentials is used; otherwise ``credsStore`` is asked.  Parsing config.json lives in
:mod:`.dockerconfig`, running credential helpers in :mod:`.credhelper`, and the
:class:`Credential` type in :mod:`.credential`; this module holds :class:`CredentialStore`, which
ties them together, caches results and is safe to use from several threads.

Secrets never appear in messages, reprs or exceptions.  Environment variables are read only from
the ``environ`` mapping handed to :class:`CredentialStore`.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Mapping

from multiarch_ci.core.errors import MultiarchError
from multiarch_ci.registry.auth.credential import Credential
from multiarch_ci.registry.auth.credhelper import run_helper
from multiarch_ci.registry.auth.dockerconfig import (
    DOCKER_HUB_CONFIG_KEY,
    HUB,
    DockerConfig,
    entry_credential,
    load_docker_config,
    normalize_registry,
)

__all__ = ["DOCKER_HUB_CONFIG_KEY", "Credential", "CredentialStore", "normalize_registry"]

_CONFIG_FILE = "config.json"


class CredentialStore:
    """Looks up credentials per registry host; results are cached, lookups are thread-safe."""

    def __init__(self, explicit: dict[str, Credential] | None = None,
                 environ: Mapping[str, str] | None = None, config_dir: str | None = None,
                 fallback: dict[str, Credential] | None = None, helper_timeout: float = 30.0):
        self._environ: Mapping[str, str] = os.environ if environ is None else environ
        self._explicit = {normalize_registry(k): v for k, v in (explicit or {}).items()}
        self._fallback = {normalize_registry(k): v for k, v in (fallback or {}).items()}
        self._config_dir = config_dir
        self._helper_timeout = helper_timeout
        self._lock = threading.Lock()
        self._config_lock = threading.Lock()
        self._host_locks: dict[str, threading.Lock] = {}
        self._cache: dict[str, Credential | MultiarchError | None] = {}
        self._config: DockerConfig | MultiarchError | None = None
        self._secrets: set[str] = set()
        for cred in (*self._explicit.values(), *self._fallback.values()):
            self._secrets.update(cred.secrets)   # known up front: always worth masking

    # -- public -------------------------------------------------------------------------------

    @property
    def config_path(self) -> str | None:
        """The docker config.json this store reads (it may not exist), or None without a home."""
        directory = self._config_dir or self._environ.get("DOCKER_CONFIG") or None
        if directory is None:
            home = self._environ.get("HOME") or self._environ.get("USERPROFILE")
            if not home:
                return None
            directory = os.path.join(home, ".docker")
        return os.path.join(directory, _CONFIG_FILE)

    def load(self) -> None:
        """Read the docker config now, so a malformed one is an input error before any request."""
        self._docker_config()

    def lookup(self, registry: str) -> Credential | None:
        """Credentials for ``registry`` (a host such as ``ghcr.io`` or ``127.0.0.1:5000``).

        Returns None when nothing is configured.  Raises InputError for a broken docker config
        and RegistryError when a credential helper is missing or fails; both are cached too, so
        a helper runs at most once per host.
        """
        host = normalize_registry(registry)
        with self._lock:
            if host in self._cache:
                return self._unwrap(self._cache[host])
            host_lock = self._host_locks.setdefault(host, threading.Lock())
        with host_lock:
            with self._lock:
                if host in self._cache:
                    return self._unwrap(self._cache[host])
            outcome: Credential | MultiarchError | None
            try:
                outcome = self._find(host)
            except MultiarchError as e:
                outcome = e
            with self._lock:
                self._cache[host] = outcome
                if isinstance(outcome, Credential):
                    self._secrets.update(outcome.secrets)
        return self._unwrap(outcome)

    def secrets(self) -> set[str]:
        """Every secret this store knows of (explicit, fallback, and each one handed out)."""
        with self._lock:
            return set(self._secrets)

    # -- internals ----------------------------------------------------------------------------

    @staticmethod
    def _unwrap(outcome: Credential | MultiarchError | None) -> Credential | None:
        if isinstance(outcome, MultiarchError):
            raise outcome
        return outcome

    def _find(self, host: str) -> Credential | None:
        if host in self._explicit:
            return self._explicit[host]
        found = self._from_docker_config(host)
        if found is not None:
            return found
        return self._fallback.get(host)

    def _docker_config(self) -> DockerConfig | None:
        with self._config_lock:     # read and parse config.json once per store
            if self._config is None:
                path = self.config_path
                if path is None:
                    return None
                try:
                    self._config = load_docker_config(path)
                except MultiarchError as e:
                    self._config = e
            cached = self._config
        if isinstance(cached, MultiarchError):
            raise cached
        return cached

    def _from_docker_config(self, host: str) -> Credential | None:
        config = self._docker_config()
        if config is None:
            return None
        entries = config.auths.get(host, [])
        helper = config.cred_helpers.get(host)
        if helper is None:
            for key, entry in entries:
                cred = entry_credential(key, entry, config.path)
                if cred is not None:
                    return cred
            helper = config.creds_store
            setting = "credsStore"
        else:
            setting = "credHelpers"
        if helper is None:
            return None
        default = DOCKER_HUB_CONFIG_KEY if host == HUB else host
        urls = [key for key, _ in entries]          # the address `docker login` stored it under
        urls = list(dict.fromkeys([*urls, default]))
        if host == HUB:
            urls.sort(key=lambda u: u != DOCKER_HUB_CONFIG_KEY)
        return run_helper(helper, host, urls, setting, config.path,
                          environ=self._environ, timeout=self._helper_timeout)
