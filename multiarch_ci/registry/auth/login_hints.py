"""When a token service refuses a login: what the user name says about the registry and the fix."""
from __future__ import annotations

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
