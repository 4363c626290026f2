"""The :class:`Credential` value type shared by the credential lookup modules.

It lives on its own so that :mod:`.dockerconfig`, :mod:`.credhelper` and :mod:`.credentials`
can all build credentials without importing each other in a cycle.  Import it from
:mod:`multiarch_ci.registry.auth.credentials`, which re-exports it.

Secrets never appear in a credential's repr or str: both mask the password and identity token.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass

__all__ = ["Credential"]

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
