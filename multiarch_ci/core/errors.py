"""The error kinds; `cli.main` maps them to exit codes (InputError -> 2, the rest -> 1)."""
from __future__ import annotations

from multiarch_ci.core.text import clean
import re
from collections.abc import Mapping

_SETTING = re.compile(r"\{setting:([a-z][a-z-]*)\}")


def setting(name: str) -> str:
    """A setting named neutrally in a message (`setting("wait-timeout")`); each front end renders it in
    its own vocabulary (the CLI as --wait-timeout, the action as input wait-timeout). See `render`."""
    return "{setting:%s}" % name


def cli_name(name: str) -> str:
    return f"--{name}"


def name_settings(text: str, names: Mapping[str, str] | None = None) -> str:
    """`text` with each `setting(...)` named as `names` says (default: CLI flags)."""
    return _SETTING.sub(lambda m: (names or {}).get(m[1]) or cli_name(m[1]), text)


class MultiarchError(Exception):
    """Base error: a one-line message and an optional hint for the user."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self, names: Mapping[str, str] | None = None) -> str:
        """The message and hint, with each `setting(...)` named as `names` says (default: CLI flags)."""
        text = f"{self.message} (hint: {self.hint})" if self.hint else self.message
        return clean(name_settings(text, names))

    def __str__(self) -> str:
        """One clean line: a registry's message or an input value cannot break it or inject a command."""
        return self.render()


class InputError(MultiarchError):
    """The input alone is wrong: nothing was sent to a registry."""

    exit_code = 2


class RegistryError(MultiarchError):
    """A registry refused or failed a request; names the ref, HTTP status and error code."""

    def __init__(self, message: str, hint: str | None = None, *, status: int | None = None,
                 code: str | None = None, ref: str | None = None):
        super().__init__(message, hint)
        self.status, self.code, self.ref = status, code, ref


class AuthError(RegistryError):
    """Logging in failed (token service, missing or refused credentials): no use waiting for sources."""


class DigestMismatch(RegistryError):
    """What a registry sent or stored does not hash to the digest it should."""


class WaitTimeout(MultiarchError):
    """Sources did not land in time."""


class CompositionError(MultiarchError):
    """What the registry holds cannot form a valid index (platform clash, bad manifest)."""
