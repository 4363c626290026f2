"""When a token service refuses a login: what the user name says about the registry and the fix."""
from __future__ import annotations

from multiarch_ci.core.errors import AuthError, MultiarchError, RegistryError
from multiarch_ci.registry.auth.credential import Credential


def login_hint(cred: Credential | None) -> str:
    """An extra sentence for a refused login, from the shape of the user name ("" when none applies)."""
    user = (cred.username or "") if cred else ""
    if user.startswith("robot") and "$" not in user and (user == "robot" or user[5:6] in ("+", "_", "-", "")):
        # goharbor/harbor#9732: GitLab and shells expand the "$project" of robot$project+name
        return ("; Harbor robot accounts are named robot$project+name: the '$…' part looks expanded as a "
                "variable - write $$ in .gitlab-ci.yml, single-quote it in a shell, or turn off "
                "'Expand variable reference' on the CI variable")
    if user in ("_json_key", "_json_key_base64"):
        return ("; with _json_key the password is the whole service-account JSON key file (--password-stdin "
                "< key.json), not its path; with _json_key_base64 its base64")
    if user == "oauth2accesstoken":
        return "; the password is an access token (gcloud auth print-access-token) and expires after 1 h"
    if cred and cred.identity_token:
        return ("; the config.json identitytoken (a refresh token written by az acr login) has expired or was revoked: "
                "log in again in this job")
    return ""


def naming_credential(error: MultiarchError, lookup) -> MultiarchError:
    """A registry's 401 with the credential that was tried named in its hint (where it came from: config.json,
    a credential helper, CI_REGISTRY_USER, --username, the action's inputs), never its value; other errors
    as they are. `lookup(host)` is the run's CredentialStore.lookup (cached: asks nothing again)."""
    if not isinstance(error, RegistryError) or error.status != 401 or not error.ref or "tried" in (error.hint or ""):
        return error
    if isinstance(error, AuthError) and error.code != "UNAUTHORIZED":
        return error
    host = error.ref.split("/")[0]
    try:
        cred = lookup(host)
    except MultiarchError:
        return error
    said = f"the credential tried was {cred.source}" if cred else f"no credential was found for {host}"
    hint = f"{error.hint}; {said}" if error.hint else said
    return type(error)(error.message, hint, status=error.status, code=error.code, ref=error.ref)
