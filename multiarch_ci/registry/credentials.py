"""Credentials for registry hosts, looked up the way the docker CLI does it.

Precedence for a host: ``explicit`` credentials (``--username``/``--password-stdin``), then the
docker config (``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``: ``credHelpers``,
``auths``, ``credsStore``), then ``fallback`` credentials (CI variables).

In the docker config, ``credHelpers[host]`` wins for its host; otherwise an ``auths`` entry that
holds credentials is used; otherwise ``credsStore`` is asked.  An ``auths`` entry whose ``auth``
is empty and that holds nothing else is what ``docker login`` writes when a store keeps the
secret: it only records the server address the store knows the host by.

Credential helpers speak the docker-credential-helpers protocol: ``docker-credential-NAME get``
with the server address on stdin; stdout is ``{"ServerURL", "Username", "Secret"}``; a Username
of ``<token>`` means Secret is an identity token; "credentials not found in native keychain" on
stdout (with a non-zero exit) means there is nothing stored for that address.

Secrets never appear in messages, reprs or exceptions: helper output is never echoed, and a bad
``auth`` value is reported by its host key only.  Environment variables are read only from the
``environ`` mapping handed to :class:`CredentialStore`.
"""
from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from multiarch_ci.errors import InputError, MultiarchError, RegistryError

__all__ = ["Credential", "CredentialStore", "DOCKER_HUB_CONFIG_KEY", "normalize_registry"]

#: The key ``docker login`` uses for Docker Hub in config.json and in credential stores.
DOCKER_HUB_CONFIG_KEY = "https://index.docker.io/v1/"
_HUB = "docker.io"
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io",
                          "registry.hub.docker.com"})
_TOKEN_USERNAME = "<token>"
_NOT_FOUND = "credentials not found in native keychain"
_CONFIG_FILE = "config.json"
_MASK = "***"


@dataclass(frozen=True, slots=True)
class Credential:
    """Username and password/token for one registry; ``source`` says where it came from."""

    username: str | None = None
    password: str | None = None          # a password or a registry token
    identity_token: str | None = None    # docker's "identitytoken": an OAuth2 refresh token
    source: str = ""                     # e.g. "config.json auths"; never a secret

    def __repr__(self) -> str:
        def mask(value: str | None) -> str:
            return "None" if value is None else repr(_MASK)
        return (f"Credential(username={self.username!r}, password={mask(self.password)}, "
                f"identity_token={mask(self.identity_token)}, source={self.source!r})")

    __str__ = __repr__

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value in this credential, for masking output (no empty strings)."""
        out: list[str] = []
        for value in (self.password, self.identity_token):
            if value and value not in out:
                out.append(value)
        if self.password:
            basic = base64.b64encode(f"{self.username or ''}:{self.password}".encode()).decode()
            if basic not in out:
                out.append(basic)
        return tuple(out)


def _split_key(key: str) -> tuple[str, str]:
    """``'https://Host:5000/v2/'`` -> ``('host:5000', '/v2/')``; the host is lower-cased."""
    rest = key.strip()
    lower = rest.lower()
    for scheme in ("https://", "http://"):
        if lower.startswith(scheme):
            rest = rest[len(scheme):]
            break
    host, sep, path = rest.partition("/")
    return host.lower(), sep + path


def normalize_registry(key: str) -> str:
    """A registry host as used for lookups: scheme and path stripped, Docker Hub aliases folded.

    ``https://index.docker.io/v1/``, ``index.docker.io``, ``registry-1.docker.io`` and
    ``docker.io`` all become ``docker.io``; ``http://127.0.0.1:5000/v2/`` becomes
    ``127.0.0.1:5000``.
    """
    host, _ = _split_key(key)
    return _HUB if host in _HUB_ALIASES else host


def _key_rank(key: str, host: str) -> int:
    """Which of several ``auths`` keys for one host to prefer: lower is better."""
    if key == host or (host == _HUB and key == DOCKER_HUB_CONFIG_KEY):
        return 0
    _, path = _split_key(key)
    if path.strip("/") in ("", "v1", "v2"):
        return 1
    return 2    # a repository-scoped key (podman style): usable, but the least specific match


@dataclass(frozen=True, slots=True)
class _DockerConfig:
    path: str
    auths: dict[str, list[tuple[str, dict]]]   # normalised host -> [(raw key, entry)], ranked
    cred_helpers: dict[str, str]               # normalised host -> helper name
    creds_store: str | None

    @classmethod
    def empty(cls, path: str) -> _DockerConfig:
        return cls(path, {}, {}, None)


def _load_docker_config(path: str) -> _DockerConfig:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return _DockerConfig.empty(path)
    except OSError as e:
        raise InputError(f"cannot read docker config {path}: {e.strerror or e}",
                         "check the file's permissions, or point DOCKER_CONFIG elsewhere") from None
    # Errors are raised outside the except blocks: a chained UnicodeDecodeError/JSONDecodeError
    # would carry the file's bytes (secrets) in its .object/.doc attribute.
    try:
        text: str | None = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = None
    if text is None:
        raise InputError(f"docker config {path} is not UTF-8 text",
                         "fix or remove the file; `docker login` rewrites it")
    if not text.strip():
        return _DockerConfig.empty(path)   # docker treats an empty config.json as no config
    problem = None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        # e.msg / position only: never the document text, which may hold secrets
        problem = f"{e.msg} at line {e.lineno} column {e.colno}"
    if problem is not None:
        raise InputError(f"docker config {path} is not valid JSON: {problem}",
                         "fix or remove the file; `docker login` rewrites it")
    if not isinstance(data, dict):
        raise InputError(f"docker config {path} is not a JSON object",
                         "fix or remove the file; `docker login` rewrites it")

    auths_raw = data.get("auths")
    auths_raw = {} if auths_raw is None else auths_raw
    if not isinstance(auths_raw, dict):
        raise InputError(f"docker config {path}: \"auths\" is not an object")
    auths: dict[str, list[tuple[str, dict]]] = {}
    for key, entry in auths_raw.items():
        if entry is None:
            entry = {}
        if not isinstance(entry, dict):
            raise InputError(f"docker config {path}: auths entry {key!r} is not an object")
        auths.setdefault(normalize_registry(key), []).append((key, entry))
    for host, entries in auths.items():
        entries.sort(key=lambda item: _key_rank(item[0], host))   # stable: file order otherwise

    helpers_raw = data.get("credHelpers")
    helpers_raw = {} if helpers_raw is None else helpers_raw
    if not isinstance(helpers_raw, dict):
        raise InputError(f"docker config {path}: \"credHelpers\" is not an object")
    cred_helpers: dict[str, str] = {}
    for key, name in helpers_raw.items():
        if not isinstance(name, str):
            raise InputError(f"docker config {path}: credHelpers entry {key!r} is not a string")
        if name:
            cred_helpers.setdefault(normalize_registry(key), name)

    store = data.get("credsStore")
    if store is not None and not isinstance(store, str):
        raise InputError(f"docker config {path}: \"credsStore\" is not a string")
    return _DockerConfig(path, auths, cred_helpers, store or None)


def _opt_str(entry: dict, field: str, key: str, path: str) -> str | None:
    value = entry.get(field)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InputError(f"docker config {path}: auths entry {key!r} field {field!r} "
                         f"is not a string")
    return value


def _decode_auth(value: str, key: str, path: str) -> tuple[str | None, str | None]:
    """``auth`` is base64("user:password"); errors name the host key, never the value."""
    hint = "the \"auth\" field is base64 of \"username:password\"; run `docker login` again"
    compact = "".join(value.split())
    try:
        text: str | None = base64.b64decode(compact + "=" * (-len(compact) % 4),
                                            validate=True).decode("utf-8")
    except (binascii.Error, ValueError):   # raised below, unchained: the error holds the bytes
        text = None
    if text is None:
        raise InputError(f"docker config {path}: auths entry {key!r} has an invalid \"auth\" "
                         f"value (not base64 of UTF-8 text)", hint)
    user, sep, password = text.partition(":")
    if not sep:
        raise InputError(f"docker config {path}: auths entry {key!r} has an invalid \"auth\" "
                         f"value (no ':' between username and password)", hint)
    return user or None, password.strip("\x00") or None


def _entry_credential(key: str, entry: dict, path: str) -> Credential | None:
    auth = entry.get("auth")
    if auth is not None and not isinstance(auth, str):
        raise InputError(f"docker config {path}: auths entry {key!r} field 'auth' "
                         f"is not a string")
    if auth:
        username, password = _decode_auth(auth, key, path)   # "auth" wins over username/password
    else:
        username = _opt_str(entry, "username", key, path)
        password = _opt_str(entry, "password", key, path)
    identity_token = _opt_str(entry, "identitytoken", key, path)
    if password is None and identity_token is None:
        return None     # a placeholder ("auth": "") or a username alone: no usable secret
    return Credential(username, password, identity_token, "config.json auths")


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
        self._cache: dict[str, Credential | None | MultiarchError] = {}
        self._config: _DockerConfig | MultiarchError | None = None
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
            outcome: Credential | None | MultiarchError
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
    def _unwrap(outcome: Credential | None | MultiarchError) -> Credential | None:
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

    def _docker_config(self) -> _DockerConfig | None:
        with self._config_lock:     # read and parse config.json once per store
            if self._config is None:
                path = self.config_path
                if path is None:
                    return None
                try:
                    self._config = _load_docker_config(path)
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
                cred = _entry_credential(key, entry, config.path)
                if cred is not None:
                    return cred
            helper = config.creds_store
            setting = "credsStore"
        else:
            setting = "credHelpers"
        if helper is None:
            return None
        default = DOCKER_HUB_CONFIG_KEY if host == _HUB else host
        urls = [key for key, _ in entries]          # the address `docker login` stored it under
        urls = list(dict.fromkeys([*urls, default]))
        if host == _HUB:
            urls.sort(key=lambda u: u != DOCKER_HUB_CONFIG_KEY)
        return self._run_helper(helper, host, urls, setting, config.path)

    def _run_helper(self, name: str, host: str, server_urls: list[str], setting: str,
                    config_path: str) -> Credential | None:
        exe = f"docker-credential-{name}"
        search_path = self._environ.get("PATH", os.defpath)
        program = shutil.which(exe, path=search_path)
        if program is None:
            raise RegistryError(
                f"credential helper '{exe}' (needed for {host}) is not on PATH",
                f"install {exe}, or remove the \"{setting}\" setting from {config_path}")
        env = dict(self._environ)
        for url in server_urls:
            # Errors are raised outside the except blocks: TimeoutExpired carries the helper's
            # partial output, which must not ride along as __context__.
            failure: RegistryError | None = None
            try:
                proc = subprocess.run([program, "get"], input=url.encode(), capture_output=True,
                                      env=env, timeout=self._helper_timeout, check=False)
            except subprocess.TimeoutExpired:
                failure = RegistryError(
                    f"credential helper '{exe}' timed out after {self._helper_timeout:g}s "
                    f"getting credentials for {host}")
            except OSError as e:
                failure = RegistryError(
                    f"credential helper '{exe}' could not be run for {host}: "
                    f"{e.strerror or type(e).__name__}",
                    f"check that {program} is an executable docker credential helper")
            if failure is not None:
                raise failure
            # Never echo the helper's stdout/stderr: either may contain secrets.
            stdout = proc.stdout.decode("utf-8", errors="replace")
            if proc.returncode != 0:
                if _NOT_FOUND in stdout:
                    continue
                raise RegistryError(
                    f"credential helper '{exe}' failed (exit {proc.returncode}) "
                    f"getting credentials for {host}",
                    f"run `{exe} get` by hand to see its error")
            cred = self._parse_helper_output(stdout, exe, host, name)
            if cred is not None:
                return cred
        return None

    @staticmethod
    def _parse_helper_output(stdout: str, exe: str, host: str, name: str) -> Credential | None:
        try:
            data = json.loads(stdout)
        except json.JSONDecodeError:
            data = None
        if not isinstance(data, dict):
            raise RegistryError(f"credential helper '{exe}' returned output for {host} that is "
                                f"not a JSON object")
        username, secret = data.get("Username") or "", data.get("Secret") or ""
        if not isinstance(username, str) or not isinstance(secret, str):
            raise RegistryError(f"credential helper '{exe}' returned output for {host} whose "
                                f"Username/Secret are not strings")
        source = f"credential helper '{name}'"
        if username == _TOKEN_USERNAME:
            return Credential(None, None, secret or None, source) if secret else None
        if not secret:
            return None
        return Credential(username or None, secret, None, source)
