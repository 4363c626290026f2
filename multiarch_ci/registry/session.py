"""A registry session: requests carrying the registry's credentials (to its own origin only), and the
blob-upload session primitives both the client and the uploads build on.

Spec: https://github.com/opencontainers/distribution-spec/blob/main/spec.md
"""
from __future__ import annotations

from typing import cast
from urllib.parse import urljoin

from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import Kind, RegistryError
from multiarch_ci.core.reference import ImageRef
from multiarch_ci.registry.auth.authenticator import Authenticator
from multiarch_ci.registry.http.transport import Transport
from multiarch_ci.registry.http.wire import Response
from multiarch_ci.registry.refusals import registry_error


def pull(ref: ImageRef) -> str:
    return f"repository:{ref.repository}:pull"


def push(ref: ImageRef) -> str:
    return f"repository:{ref.repository}:pull,push"


class RegistrySession:
    """Authenticated requests to one run's registries; auth and retries live below it."""

    def __init__(self, transport: Transport, auth: Authenticator):
        self.transport = transport
        self.auth = auth

    def request(self, method: str, ref: ImageRef, path: str, scopes: tuple[str, ...], *, what: str,
                headers: dict | None = None, data=None, stream: bool = False, body_cap: int | None = None,
                url: str | None = None, raw: bool = False, retries: int | None = None) -> Response:
        """A request with the registry's credentials, which go only to the registry's own origin: a URL the
        registry supplied (Location, Link) on another scheme, host or port gets none, and a 401 from
        anywhere else (e.g. the host a blob redirected to) is never answered."""
        registry = ref.registry
        for attempt in range(2):
            authz = self.auth.header(registry, scopes)
            target = url or f"{self.transport.base_url(registry)}/v2/{ref.repository}/{path}"
            own = self.auth.same_origin(registry, target)
            h = dict(headers or {})
            if authz and own:
                h["Authorization"] = authz
            resp = self.transport.send(method, target, what=f"{what} {ref}", headers=h, data=data,
                                       stream=stream, body_cap=body_cap, raw=raw, retries=retries)
            if resp.status_code == 401 and attempt == 0 and own and self.auth.same_origin(registry, resp.url) \
                    and self.auth.rechallenge(registry, resp.headers.get("WWW-Authenticate")):
                resp.close()
                continue
            return resp
        return resp

    def location(self, resp: Response, ref: ImageRef) -> str:
        """The upload session URL an answer names (Location, relative to the registry)."""
        loc = resp.headers.get("Location")
        if not loc:
            raise RegistryError(f"upload to {ref.name}: registry gave no Location", status=resp.status_code,
                                ref=str(ref), kind=Kind.BAD_ANSWER)
        # known by construction: `resp` answered a request to this registry, and request() pinged it first
        base = cast(str, self.transport.base_url(ref.registry))
        return urljoin(base + "/", loc)

    def blob_exists(self, repo: ImageRef, digest: Digest) -> bool:
        resp = self.request("HEAD", repo, f"blobs/{digest}", (pull(repo),), what="head blob")
        resp.close()
        if resp.status_code in (200, 404):
            return resp.status_code == 200
        raise registry_error(resp, "head blob", str(repo.with_digest(digest)))

    def start_upload(self, target: ImageRef) -> str:
        """Open an upload session; its URL."""
        resp = self.request("POST", target, "blobs/uploads/", (push(target),), what="start upload")
        resp.close()
        if resp.status_code != 202:
            raise registry_error(resp, "start upload", target.name)
        return self.location(resp, target)
