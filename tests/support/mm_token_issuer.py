"""In-process bearer-token issuer for a distribution registry running with ``auth: token``.

Implements the subset of the distribution token spec that registry clients use:

* ``GET /token?service=S&scope=repository:NAME:pull,push[&scope=...]`` with optional
  ``Authorization: Basic`` credentials (``offline_token=true`` adds a refresh token);
* ``POST /token`` OAuth2 form: ``grant_type=password`` (username/password, always returns a
  ``refresh_token``) or ``grant_type=refresh_token``; ``scope`` is space separated.

Tokens are RS256 JWTs whose header ``kid`` is the libtrust fingerprint of the signing key; the
registry verifies them against ``cert_pem`` (its ``auth.token.rootcertbundle``).  Claims: iss, aud,
sub, exp, nbf, iat, jti, access.  Policy: the configured user gets every action it asks for,
anonymous callers get ``pull`` only, wrong credentials get 401.

Every request is appended to ``requests_log`` so tests can count token round trips.
"""
from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import os
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def libtrust_key_id(public_key) -> str:
    """libtrust key id: base32(SHA256(DER SubjectPublicKeyInfo)[:30]) in 12 ':'-separated groups."""
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    s = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(s[i:i + 4] for i in range(0, len(s), 4))


def parse_scope(scope: str):
    """``'repository:a/b:pull,push'`` -> ``('repository', 'a/b', ['pull', 'push'])`` or None."""
    typ, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    if not typ or not name:
        return None
    return typ, name, [a for a in actions.split(",") if a]


class TokenIssuer:
    """A token server on ``127.0.0.1:<free port>`` served from a daemon thread.

    Attributes: ``realm`` (URL of /token), ``service``, ``issuer``, ``kid``, ``cert_pem`` (bytes,
    for the registry's rootcertbundle), ``requests_log`` (list of dicts with keys method, grant,
    account, scopes, access, status).
    """

    def __init__(self, username: str, password: str, *, service: str = "mm-test-registry",
                 issuer: str = "mm-test-issuer", ttl: int = 300):
        self.username, self.password = username, password
        self.service, self.issuer, self.ttl = service, issuer, ttl
        self.requests_log: list[dict] = []
        self.issued: list[str] = []   # every JWT signed, so tests can scan output for each
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = libtrust_key_id(self._key.public_key())
        self.cert_pem = self._self_signed_cert()
        self._secret = os.urandom(32)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.realm = ""

    def _self_signed_cert(self) -> bytes:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.issuer)])
        now = datetime.datetime.now(datetime.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(self._key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=30))
                .sign(self._key, hashes.SHA256()))
        return cert.public_bytes(serialization.Encoding.PEM)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> TokenIssuer:
        """Bind 127.0.0.1 on a kernel-chosen free port and serve in a daemon thread."""
        handler = type("BoundHandler", (_Handler,), {"issuer_obj": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.realm = f"http://127.0.0.1:{self._server.server_address[1]}/token"
        self._thread = threading.Thread(target=self._server.serve_forever, name="mm-token-issuer",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- policy and signing ----------------------------------------------------------------
    def check_password(self, user: str, password: str) -> bool:
        return (bool(user) and hmac.compare_digest(user, self.username)
                and hmac.compare_digest(password, self.password))

    def make_refresh_token(self, user: str) -> str:
        return user + "." + hmac.new(self._secret, user.encode(), "sha256").hexdigest()

    def check_refresh_token(self, token: str) -> str | None:
        user, _, mac = token.rpartition(".")
        good = hmac.new(self._secret, user.encode(), "sha256").hexdigest()
        return user if user and hmac.compare_digest(mac, good) else None

    def grant(self, account: str | None, scopes: list[str]) -> list[dict]:
        """Access list for ``account`` (None = anonymous: pull on repositories only)."""
        access = []
        for scope in scopes:
            parsed = parse_scope(scope)
            if not parsed:
                continue
            typ, name, actions = parsed
            if not account:
                actions = [a for a in actions if a == "pull" and typ == "repository"]
            access.append({"type": typ, "name": name, "actions": actions})
        return access

    def issue(self, account: str | None, access: list[dict]) -> str:
        """A signed RS256 JWT for ``account`` carrying ``access``."""
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "kid": self.kid}
        claims = {"iss": self.issuer, "aud": self.service, "sub": account or "",
                  "exp": now + self.ttl, "nbf": now - 5, "iat": now,
                  "jti": _b64url(os.urandom(12)), "access": access}
        signing_input = ".".join(_b64url(json.dumps(p, separators=(",", ":")).encode())
                                 for p in (header, claims))
        sig = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        token = signing_input + "." + _b64url(sig)
        self.issued.append(token)
        return token

    def log(self, **entry) -> None:
        with self._lock:
            self.requests_log.append(entry)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    issuer_obj: TokenIssuer  # set on the per-issuer subclass

    def log_message(self, fmt, *args):  # keep pytest output quiet; requests_log has the data
        pass

    def _send(self, code: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _deny(self, grant: str, scopes: list[str]) -> None:
        self.issuer_obj.log(method=self.command, grant=grant, account=None, scopes=scopes,
                            access=[], status=401)
        self._send(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]},
                   {"WWW-Authenticate": 'Basic realm="mm-token-issuer"'})

    def _token(self, account, scopes, service, grant, refresh: bool) -> None:
        iss = self.issuer_obj
        if service and service != iss.service:
            iss.log(method=self.command, grant=grant, account=account, scopes=scopes,
                    access=[], status=400)
            return self._send(400, {"errors": [{"code": "UNSUPPORTED",
                                                "message": f"unknown service {service}"}]})
        access = iss.grant(account, scopes)
        token = iss.issue(account, access)
        body = {"token": token, "access_token": token, "expires_in": iss.ttl,
                "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        if account and refresh:
            body["refresh_token"] = iss.make_refresh_token(account)
        iss.log(method=self.command, grant=grant, account=account, scopes=scopes,
                access=access, status=200)
        self._send(200, body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/token":
            return self._send(404, {"error": "not found"})
        query = urllib.parse.parse_qs(url.query)
        scopes = [s for v in query.get("scope", []) for s in v.split(" ") if s]
        auth = self.headers.get("Authorization", "")
        account = None
        if auth.lower().startswith("basic "):
            try:
                user, _, pw = base64.b64decode(auth[6:].strip()).decode().partition(":")
            except ValueError:
                user, pw = "", ""
            if not self.issuer_obj.check_password(user, pw):
                return self._deny("basic", scopes)
            account = user
        offline = (query.get("offline_token") or ["false"])[0] == "true"
        self._token(account, scopes, (query.get("service") or [""])[0],
                    "basic" if account else "anonymous", offline)

    def do_POST(self):
        if urllib.parse.urlsplit(self.path).path != "/token":
            return self._send(404, {"error": "not found"})
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        field = lambda k: (form.get(k) or [""])[0]  # noqa: E731
        grant = field("grant_type")
        scopes = [s for s in field("scope").split(" ") if s]
        if grant == "password":
            ok = self.issuer_obj.check_password(field("username"), field("password"))
            account = field("username") if ok else None
        elif grant == "refresh_token":
            account = self.issuer_obj.check_refresh_token(field("refresh_token"))
        else:
            return self._send(400, {"error": "unsupported_grant_type"})
        if not account:
            return self._deny(grant, scopes)
        self._token(account, scopes, field("service"), grant, grant == "password")
