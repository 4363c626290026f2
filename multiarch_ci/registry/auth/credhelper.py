"""Asking a docker credential helper for credentials (the docker-credential-helpers protocol).

``docker-credential-NAME get`` is run with the server address on stdin; stdout is
``{"ServerURL", "Username", "Secret"}``; a Username of ``<token>`` means Secret is an identity
token; "credentials not found in native keychain" on stdout (with a non-zero exit) means there
is nothing stored for that address.

Secrets never appear in messages or exceptions: the helper's stdout and stderr are never echoed,
and the helper runs with exactly the ``environ`` mapping it is handed.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping

from multiarch_ci.core.errors import RegistryError
from multiarch_ci.registry.auth.credential import Credential

__all__ = ["run_helper"]

_TOKEN_USERNAME = "<token>"
_NOT_FOUND = "credentials not found in native keychain"


def run_helper(name: str, host: str, server_urls: list[str], setting: str, config_path: str, *,
               environ: Mapping[str, str], timeout: float) -> Credential | None:
    """Ask ``docker-credential-NAME`` for ``host``'s credentials under each of ``server_urls``.

    The first address the helper has credentials for wins; None if it has none.  ``setting``
    (``credHelpers`` or ``credsStore``) and ``config_path`` only go into error hints.  Raises
    RegistryError when the helper is not on ``environ``'s PATH, cannot run, times out, fails or
    answers with something that is not protocol output.
    """
    import shutil  # only when a helper is configured: every other run starts without them
    import subprocess

    exe = f"docker-credential-{name}"
    search_path = environ.get("PATH", os.defpath)
    program = shutil.which(exe, path=search_path)
    if program is None:
        raise RegistryError(
            f"credential helper '{exe}' (needed for {host}) is not on PATH",
            f"install {exe}, or remove the \"{setting}\" setting from {config_path}")
    env = dict(environ)
    for url in server_urls:
        # Errors are raised outside the except blocks: TimeoutExpired carries the helper's
        # partial output, which must not ride along as __context__.
        failure: RegistryError | None = None
        try:
            proc = subprocess.run([program, "get"], input=url.encode(), capture_output=True,
                                  env=env, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            failure = RegistryError(
                f"credential helper '{exe}' timed out after {timeout:g}s "
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
        cred = _parse_helper_output(stdout, exe, host, name)
        if cred is not None:
            return cred
    return None


def _parse_helper_output(stdout: str, exe: str, host: str, name: str) -> Credential | None:
    """A ``get`` answer as a Credential; None if it holds no secret.  Never echoes ``stdout``."""
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
