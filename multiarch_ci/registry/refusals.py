"""How a registry's refusal reads: the ref, the HTTP status, the registry's error code and message, and a
hint (a hosted registry's own, from hosted_errors.py, else one per status)."""
from __future__ import annotations

import json

from multiarch_ci.core.errors import Kind, RegistryError
from multiarch_ci.registry.hosted_errors import hosted_hint
from multiarch_ci.registry.http.quota import quota_spent
from multiarch_ci.registry.http.transport import RETRY_STATUSES
from multiarch_ci.registry.http.wire import Response
from multiarch_ci.registry.rate_limits import QuotaSpent


def registry_error(resp: Response, what: str, ref: str) -> RegistryError:
    """Turn an error response into a RegistryError naming the ref, status and the registry's error code."""
    code = message = said = None
    try:
        errors = json.loads(resp.content[:65536]).get("errors") or []   # no body: ValueError
        if errors:
            code, message, extra = errors[0].get("code"), errors[0].get("message"), errors[0].get("detail")
            said = " ".join(s for s in (message, extra) if isinstance(s, str) and s)   # Nexus says why in detail
    except (ValueError, AttributeError, TypeError, RecursionError):
        pass
    hint = hosted_hint(resp.status_code, code, said, resp.headers, ref) or {
        401: "check the credentials (docker login, --username/--password-stdin)",
        403: "the credentials lack permission for this repository",
        404: "check that the image was pushed and the name is right",
        429: "the registry is rate limiting; try again later"}.get(resp.status_code)
    detail = f"{code}: {message}" if code else (message or resp.reason or "")
    if resp.status_code == 429 and quota_spent(resp.headers):
        return QuotaSpent(f"{what} {ref}: HTTP {resp.status_code} {detail}".rstrip(), hint,
                          status=resp.status_code, code=code, ref=ref)
    return RegistryError(f"{what} {ref}: HTTP {resp.status_code} {detail}".rstrip(), hint,
                         status=resp.status_code, code=code, ref=ref, kind=status_kind(resp.status_code))


def status_kind(status: int) -> Kind:
    """What an HTTP status that is not the answer asked for means: gone, denied, not now, refused."""
    if status == 404:
        return Kind.NOT_FOUND
    if status in (401, 403):
        return Kind.DENIED
    if status in RETRY_STATUSES:
        return Kind.TEMPORARY
    return Kind.REFUSED if 400 <= status < 600 else Kind.BAD_ANSWER
