"""The errors, and the kinds of failure they carry; frontends/boundary.py maps the classes to exit codes
(InputError -> 2, the rest -> 1), the flow decides what to do next on a RegistryError's `kind` alone."""
from __future__ import annotations

import re
from collections.abc import Mapping
from enum import Enum

from multiarch_ci.core.text import clean

_SETTING = re.compile(r"\{setting:([a-z][a-z-]*)\}")


def setting(name: str) -> str:
    """A setting named neutrally in a message (`setting("wait-timeout")`); each front end renders it in
    its own vocabulary (the CLI as --wait-timeout, the action as input wait-timeout). See `render`."""
    return f"{{setting:{name}}}"


def cli_name(name: str) -> str:
    return f"--{name}"


class Kind(Enum):
    """What a failed request means for whoever decides what to do next; set where the error is raised
    (registry/, layout/), so the flow never reads HTTP statuses or transport classes to decide."""

    NOT_FOUND = "not found"      # not there (yet): HTTP 404, a tag a target layout does not hold yet
    TEMPORARY = "temporary"      # the registry said "not now" (408, 429 with quota left, 5xx): a later look may do
    BROKEN = "broken"            # a connection broke mid-answer or a body came short: the whole step may start again
    OUT_OF_TIME = "out of time"  # an outer deadline (the wait's) passed before an answer came
    DENIED = "denied"            # credentials, permissions, a failed login or a spent quota: waiting does not help
    BAD_ANSWER = "bad answer"    # an answer that cannot be used: wrong digest, malformed, too large, looping
    REFUSED = "refused"          # the registry refused the request as sent (another 4xx: invalid manifest, ...)
    UNREACHABLE = "unreachable"  # no usable connection: TLS not trusted, a proxy that refuses
    FAILED = "failed"            # none of the above was said where it was raised: final


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
    """A registry (or a layout read like one) refused or failed a request; names the ref, HTTP status and
    error code, and its `kind` (the class's own unless the raiser names one)."""

    kind: Kind = Kind.FAILED

    def __init__(self, message: str, hint: str | None = None, *, status: int | None = None,
                 code: str | None = None, ref: str | None = None, kind: Kind | None = None):
        super().__init__(message, hint)
        self.status, self.code, self.ref = status, code, ref
        if kind is not None:
            self.kind = kind


class AuthError(RegistryError):
    """Logging in failed (token service, missing or refused credentials): no use waiting for sources."""

    kind = Kind.DENIED


class DigestMismatch(RegistryError):
    """What a registry sent or stored does not hash to the digest it should."""

    kind = Kind.BAD_ANSWER


class WaitTimeout(MultiarchError):
    """Sources did not land in time."""


class CompositionError(MultiarchError):
    """What the registry holds cannot form a valid index (platform clash, bad manifest)."""
