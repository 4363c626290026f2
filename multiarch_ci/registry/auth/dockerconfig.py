"""Reading and parsing the docker CLI's ``config.json``, and normalising its registry keys.

:func:`load_docker_config` reads ``auths``, ``credHelpers`` and ``credsStore`` into a
:class:`DockerConfig` whose keys are normalised hosts (see :func:`normalize_registry`); a
missing or empty file is an empty config.  :func:`entry_credential` turns one ``auths`` entry
into a :class:`Credential`.  An ``auths`` entry whose ``auth`` is empty and that holds nothing
else is what ``docker login`` writes when a store keeps the secret: it only records the server
address the store knows the host by, so it yields no credential.

Secrets never appear in messages or exceptions: a broken file is described by its path and a
JSON position only, and a bad ``auth`` value is reported by its host key only.
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from multiarch_ci.core.errors import InputError
from multiarch_ci.registry.auth.credential import Credential

__all__ = ["DOCKER_HUB_CONFIG_KEY", "HUB", "DockerConfig", "entry_credential",
           "load_docker_config", "normalize_registry"]

#: The key ``docker login`` uses for Docker Hub in config.json and in credential stores.
DOCKER_HUB_CONFIG_KEY = "https://index.docker.io/v1/"
#: The normalised host every Docker Hub alias folds to.
HUB = "docker.io"
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io",
                          "registry.hub.docker.com"})


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
    return HUB if host in _HUB_ALIASES else host


def _key_rank(key: str, host: str) -> int:
    """Which of several ``auths`` keys for one host to prefer: lower is better."""
    if key == host or (host == HUB and key == DOCKER_HUB_CONFIG_KEY):
        return 0
    _, path = _split_key(key)
    if path.strip("/") in ("", "v1", "v2"):
        return 1
    return 2    # a repository-scoped key (podman style): usable, but the least specific match


@dataclass(frozen=True, slots=True)
class DockerConfig:
    """The parts of one config.json that credential lookup uses, keyed by normalised host."""

    path: str
    auths: dict[str, list[tuple[str, dict]]]   # normalised host -> [(raw key, entry)], ranked
    cred_helpers: dict[str, str]               # normalised host -> helper name
    creds_store: str | None

    @classmethod
    def empty(cls, path: str) -> DockerConfig:
        return cls(path, {}, {}, None)


def load_docker_config(path: str) -> DockerConfig:
    """Read and validate the config.json at ``path``; InputError names the path, not secrets."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return DockerConfig.empty(path)
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
        return DockerConfig.empty(path)   # docker treats an empty config.json as no config
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
    return DockerConfig(path, auths, cred_helpers, store or None)


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


def entry_credential(key: str, entry: dict, path: str) -> Credential | None:
    """The credential in one ``auths`` entry, or None if it holds no usable secret."""
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
    return Credential(username, password, identity_token, f"the config.json auth for {key}")
