"""Hosted registries' behaviour, emulated in the fault proxy in front of the real registry.

Each builder returns a :class:`mm_faults.Fault` answering the way that registry does, in its own
wording (the source of each is in its docstring); :class:`HttpsFront` serves a token realm over
HTTPS on another loopback host, as GitLab's realm lives on the GitLab host, not the registry's.
"""
from __future__ import annotations

import datetime
import http.client
import ipaddress
import json
import ssl
import tempfile
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mm_faults import Exchange, Fault

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
JSON = {"Content-Type": "application/json"}


def registry_error(code: str, message: str, detail=None) -> bytes:
    err = {"code": code, "message": message}
    if detail is not None:
        err["detail"] = detail
    return json.dumps({"errors": [err]}).encode()


def _answer(name: str, code: int, body: bytes, headers: dict | None = None) -> Fault:
    def action(ex: Exchange) -> None:
        ex.drain()
        ex.respond(code, {**JSON, **(headers or {})}, body)
    return Fault(name, action)


# -- mounts ----------------------------------------------------------------------------------------

def mount_answered_with_upload_session() -> Fault:
    """Amazon ECR: a mount it will not do is answered 202 with an upload session, not 201
    (aws/containers-roadmap#2860; the OCI spec's "SHOULD return a 202" for no mount support)."""
    def action(ex: Exchange) -> None:
        path, _, query = ex.target.partition("?")
        rest = [(k, v) for k, v in urllib.parse.parse_qsl(query) if k not in ("mount", "from")]
        ex.target = path + ("?" + urllib.parse.urlencode(rest) if rest else "")
        ex.forward()                         # upstream opens an upload session: 202 + Location
    return Fault("ecr_mount_as_upload", action)


def mount_created_without_location() -> Fault:
    """A registry that mounts (201) but sends no Location header."""
    def action(ex: Exchange) -> None:
        code, reason, headers, body = ex.fetch()
        ex.send_head(code, reason, [(k, v) for k, v in headers if k.lower() != "location"])
        ex.send(body)
    return Fault("mount_201_without_location", action)


def mount_unsupported(code: int = 405) -> Fault:
    """A registry with no mount support that refuses the parameters (405 UNSUPPORTED, distribution's
    code for an unsupported operation: https://distribution.github.io/distribution/spec/api/#errors-2)."""
    return _answer(f"mount_unsupported({code})", code,
                   registry_error("UNSUPPORTED", "The operation is unsupported."))


# -- Amazon ECR ------------------------------------------------------------------------------------

def ecr_repository_missing(repository: str, registry_id: str = "123456789012") -> Fault:
    """ECR: 404 NAME_UNKNOWN "The repository with name 'x' does not exist in the registry with id '…'"
    (actions/starter-workflows#2647, aws-actions/amazon-ecr-login#166)."""
    return _answer("ecr_repository_missing", 404, registry_error(
        "NAME_UNKNOWN", f"The repository with name '{repository}' does not exist in the registry with id "
                        f"'{registry_id}'"))


def ecr_immutable_tag(repository: str, tag: str) -> Fault:
    """ECR immutable tags: "tag invalid: The image tag 'latest' already exists in the 'x' repository and
    cannot be overwritten because the repository is immutable." (aws/containers-roadmap#862)."""
    return _answer("ecr_immutable_tag", 400, registry_error(
        "TAG_INVALID", f"The image tag '{tag}' already exists in the '{repository}' repository and cannot be "
                       "overwritten because the repository is immutable."))


# -- GHCR, Docker Hub, Harbor ------------------------------------------------------------------------

def ghcr_write_package_denied() -> Fault:
    """GHCR: 403 "denied: permission_denied: write_package" (danger/danger-js#1414, tuna-os/tunaOS#642)."""
    return _answer("ghcr_write_package", 403, registry_error("DENIED", "permission_denied: write_package"))


def hub_rate_limited(limit: int = 100, window: int = 21600, source: str = "127.0.0.1") -> Fault:
    """Docker Hub: 429 TOOMANYREQUESTS, RateLimit-Limit/-Remaining "N;w=SECONDS"
    (https://docs.docker.com/docker-hub/usage/pulls/)."""
    return _answer("hub_rate_limited", 429, registry_error(
        "TOOMANYREQUESTS", "You have reached your pull rate limit. You may increase the limit by authenticating "
                           "and upgrading: https://www.docker.com/increase-rate-limit"),
        {"RateLimit-Limit": f"{limit};w={window}", "RateLimit-Remaining": f"0;w={window}",
         "Docker-RateLimit-Source": source})


def harbor_project_missing(repository: str) -> Fault:
    """Harbor, pushing into a project that does not exist or may not be pushed to:
    401 "unauthorized to access repository: p/app, action: push: …" (goharbor/harbor#13988)."""
    what = f"unauthorized to access repository: {repository}, action: push"
    return _answer("harbor_project_missing", 401, registry_error("UNAUTHORIZED", f"{what}: {what}"))


# -- Quay --------------------------------------------------------------------------------------------

def quay_refuses_oci_index_with_docker_children() -> Fault:
    """Quay before quay/quay#1649 (3.8): an OCI index whose children are Docker manifests is refused
    with 400 MANIFEST_INVALID, detail "manifest data does not match schema" (openshift/oc-mirror#253);
    anything else is passed through."""
    def action(ex: Exchange) -> None:
        data = b"".join(ex.body())
        ex.body = lambda: iter([data])       # forward() replays what was read
        try:
            doc = json.loads(data)
        except ValueError:
            doc = {}
        children = [m.get("mediaType") for m in doc.get("manifests") or []]
        if ex.headers.get("Content-Type", "").startswith(OCI_INDEX) and DOCKER_MANIFEST in children:
            message = ("failed to parse manifest: manifest data does not match schema: "
                       f"'{DOCKER_MANIFEST}' is not one of ['application/vnd.oci.image.manifest.v1+json', "
                       f"'{OCI_INDEX}']")
            return ex.respond(400, JSON, registry_error("MANIFEST_INVALID", "manifest invalid",
                                                        {"message": message}))
        ex.forward()
    return Fault("quay_oci_index_refused", action)


# -- tag-list pagination with an opaque cursor --------------------------------------------------------

def tags_paged_with_cursor(page: int = 2, absolute: bool = True) -> Fault:
    """Tag lists paged by an opaque cursor in an absolute Link URL, ignoring any ``n`` the client sent:
    Quay's ``next_page=…`` (deitch/docker_registry2#56) and ECR's ``last=…`` absolute links
    (deitch/docker_registry2#34)."""
    def action(ex: Exchange) -> None:
        path, _, query = ex.target.partition("?")
        params = dict(urllib.parse.parse_qsl(query))
        ex.target = path
        code, _reason, _headers, body = ex.fetch()
        if code != 200:
            return ex.respond(code, JSON, body)
        doc = json.loads(body)
        tags = sorted(doc.get("tags") or [])
        start = int(bytes.fromhex(params["next_page"]).decode()) if "next_page" in params else 0
        chunk, extra = tags[start:start + page], dict(JSON)
        if start + page < len(tags):
            cursor = str(start + page).encode().hex()
            base = f"http://{ex.proxy.host}" if absolute else ""
            extra["Link"] = f'<{base}{path}?next_page={cursor}>; rel="next"'
        ex.respond(200, extra, json.dumps({"name": doc.get("name"), "tags": chunk}).encode())
    return Fault("tags_paged_with_cursor", action)


# -- a token realm over HTTPS on another loopback host (GitLab) ------------------------------------------

def realm_moved_to(realm: str) -> Fault:
    """Forward, rewriting the Bearer challenge's realm (the registry is unchanged otherwise)."""
    def action(ex: Exchange) -> None:
        code, reason, headers, body = ex.fetch()
        out = []
        for k, v in headers:
            if k.lower() == "www-authenticate" and 'realm="' in v:
                start = v.index('realm="') + 7
                v = v[:start] + realm + v[v.index('"', start):]
            out.append((k, v))
        ex.send_head(code, reason, out)
        ex.send(body)
    return Fault("realm_moved", action)


class HttpsFront:
    """HTTPS on ``host`` (e.g. 127.0.0.2, a different host from 127.0.0.1) forwarding to a plain-HTTP
    loopback server; ``ca_file`` is its self-signed certificate (SAN IP:host) for SSL_CERT_FILE."""

    def __init__(self, upstream: str, host: str = "127.0.0.2"):
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"{host} is not loopback")
        self.upstream, self.bind, self.seen = upstream, host, []
        self._dir = Path(tempfile.mkdtemp(prefix="mm-https-front-"))
        self.ca_file = self._dir / "front.pem"
        key_file = self._dir / "front.key"
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
        now = datetime.datetime.now(datetime.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=7))
                .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), False)
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
                .sign(key, hashes.SHA256()))
        self.ca_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_a):
                pass

            def _relay(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                front.seen.append((self.command, self.path))
                conn = http.client.HTTPConnection(front.upstream, timeout=10)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path, body=body or None, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_POST = _relay

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.ca_file, key_file)
        self._server.socket = ctx.wrap_socket(self._server.socket, server_side=True)
        self.url = f"https://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="mm-https-front")
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def token_registry_for(tmp_path_factory, name: str, username: str, password: str):
    """A registry with bearer tokens whose issuer accepts exactly ``username``/``password`` (hosted
    registries' special user names: robot$…, _json_key, 00000000-…)."""
    from mm_registry import start_registry
    reg = start_registry(tmp_path_factory.mktemp(name), auth="token")
    reg.token_issuer.username, reg.token_issuer.password = username, password
    reg.username, reg.password = username, password
    return reg
