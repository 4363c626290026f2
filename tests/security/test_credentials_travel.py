"""Credentials go only where they belong (issue 9): the registry's own origin, never a host it names.

Each test puts a recording server of the suite's own (``mm_hostile.Hostile``) on 127.0.0.2 — loopback,
but another host than the registry on 127.0.0.1 — behind a redirect, a token realm, an upload
Location or a tag-list Link, and asserts that no Authorization header ever reached it.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest
import requests

import mm_images
from mm_cli import docker_config, one_error, run_cli
from mm_faults import Fault, FaultProxy, redirect
from mm_hostile import Hostile, Request, make_cert

ERROR = "multiarch-manifest: error: "
CA_VARS = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")


@pytest.fixture(autouse=True)
def _no_ambient_ca_bundle(monkeypatch):
    for var in CA_VARS:
        monkeypatch.delenv(var, raising=False)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def creds_for(tmp_path, host: str, reg) -> dict:
    cfg = docker_config(tmp_path / "docker", {host: {"auth": b64(f"{reg.username}:{reg.password}")}})
    return {"DOCKER_CONFIG": str(cfg)}


def token_realm(req: Request) -> None:
    """A token service that hands out a token to anyone: what a thief would run."""
    if req.path == "/token":
        req.respond(200, {"Content-Type": "application/json"}, b'{"token": "stolen-token", "expires_in": 300}')
    else:
        req.respond(401, {"WWW-Authenticate": f'Bearer realm="{req.server.url}/token",service="cdn"'})


# -- a 401 from the host a redirect led to is never answered ------------------------------------------

@pytest.mark.hostile("redirect-to-foreign-401")
def test_a_401_after_a_redirect_to_another_host_is_never_answered(token_registry, repo_name, tmp_path):
    reg = token_registry
    img = mm_images.push_image(reg, f"{repo_name}/src", "amd64")
    with FaultProxy(reg, timeout=3.0) as proxy, Hostile(token_realm) as cdn:
        proxy.add_rule("GET", rf"/blobs/{re.escape(img['config_digest'])}$", fault=redirect(cdn.host))
        run = run_cli("inspect", f"{proxy.host}/{repo_name}/src:amd64", env=creds_for(tmp_path, proxy.host, reg))
    line = one_error(run)
    assert cdn.requests, "the redirect was never followed"
    assert cdn.authorizations() == []                     # neither the registry's token nor the password
    assert "/token" not in cdn.paths()                    # its realm was never asked for a token
    assert "get blob" in line and "401" in line, line


# -- token realms: never plain HTTP for an HTTPS registry --------------------------------------------

def https_registry_with_realm(realm: str):
    def handler(req: Request) -> None:
        req.respond(401, {"WWW-Authenticate": f'Bearer realm="{realm}",service="reg"',
                          "Content-Type": "application/json"},
                    b'{"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}')
    return handler


@pytest.mark.hostile("plain-http-realm")
@pytest.mark.parametrize("marked", [False, True], ids=["refused", "insecure-registry"])
def test_a_plain_http_realm_for_an_https_registry_is_refused(tmp_path, marked):
    cert = make_cert(tmp_path / "tls")
    with Hostile(token_realm) as realm_host:
        realm = f"{realm_host.url}/token"
        with Hostile(https_registry_with_realm(realm), ip="127.0.0.1", tls=cert) as reg:
            extra = ["--insecure-registry", reg.host] if marked else []
            run = run_cli("inspect", f"{reg.host}/team/app:v1", "--username", "mm-user", "--password-stdin",
                          *extra, stdin="s3cret-pw\n", env={"SSL_CERT_FILE": str(cert.crt)})
    line = one_error(run)
    if marked:      # the user said so: the realm is asked (loopback, so clear text is allowed)
        assert realm_host.authorizations()
        assert set(realm_host.authorizations()) == {f"Basic {b64('mm-user:s3cret-pw')}"}
        return
    assert realm_host.requests == []                      # nothing at all went to the plain-HTTP realm
    assert realm in line and "plain HTTP" in line, line
    assert "--insecure-registry" in line, line
    assert "s3cret-pw" not in run.out + run.err


def tiny_image() -> tuple[bytes, bytes, str]:
    """(manifest, config, config digest) of a one-platform image with no layers."""
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    digest = "sha256:" + hashlib.sha256(config).hexdigest()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": mm_images.DOCKER_MANIFEST,
                           "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                                      "digest": digest, "size": len(config)}, "layers": []}).encode()
    return manifest, config, digest


def tiny_registry(realm: str | None = None, token: str = "good-token", blob_to: str | None = None):
    """Serves team/app:v1; with `realm`, only to `Bearer token`; with `blob_to`, blobs redirect there."""
    manifest, config, digest = tiny_image()

    def handler(req: Request) -> None:
        if realm and req.headers.get("Authorization") != f"Bearer {token}":
            return req.respond(401, {"WWW-Authenticate": f'Bearer realm="{realm}",service="reg"'})
        if req.path == "/v2/":
            return req.respond(200, {"Content-Type": "application/json"}, b"{}")
        if req.path == "/v2/team/app/manifests/v1":
            return req.respond(200, {"Content-Type": mm_images.DOCKER_MANIFEST}, manifest)
        if req.path == f"/v2/team/app/blobs/{digest}":
            if blob_to:
                return req.respond(307, {"Location": f"{blob_to}{req.target}"})
            return req.respond(200, {"Content-Type": "application/octet-stream"}, config)
        req.respond(404, {"Content-Type": "application/json"}, b'{"errors": [{"code": "NOT_FOUND"}]}')
    return handler


def test_a_cross_host_https_realm_still_works(tmp_path):
    """GitLab's and Docker Hub's token services live on another host, over HTTPS: that keeps working."""
    cert = make_cert(tmp_path / "tls")
    good = f"Basic {b64('mm-user:s3cret-pw')}"

    def realm_handler(req: Request) -> None:
        ok = req.headers.get("Authorization") == good
        req.respond(200 if ok else 401, {"Content-Type": "application/json"},
                    b'{"token": "good-token"}' if ok else b"{}")
    with (Hostile(realm_handler, tls=cert) as realm_host,
          Hostile(tiny_registry(f"{realm_host.url}/token"), ip="127.0.0.1", tls=cert) as reg):
        run = run_cli("inspect", f"{reg.host}/team/app:v1", "--json", "--username", "mm-user",
                      "--password-stdin", stdin="s3cret-pw\n", env={"SSL_CERT_FILE": str(cert.crt)})
    assert run.code == 0, run.err
    assert run.json()["manifests"][0]["platform"] == "linux/amd64"
    assert realm_host.authorizations() and set(realm_host.authorizations()) == {good}


# -- Authorization never follows a URL the registry supplies to another host ---------------------------

def location_to(host: str) -> Fault:
    """Forward the upload POST, then point its Location at `host` (same path)."""
    def action(ex) -> None:
        code, reason, headers, body = ex.fetch()
        headers = [(k, re.sub(r"^https?://[^/]+", f"http://{host}", v) if k.lower() == "location" else v)
                   for k, v in headers]
        headers = [(k, f"http://{host}{v}" if k.lower() == "location" and v.startswith("/") else v)
                   for k, v in headers]
        ex.send_head(code, reason, headers)
        ex.send(body)
    return Fault(f"location_to({host})", action)


@pytest.mark.hostile("upload-location-elsewhere")
def test_an_upload_location_on_another_host_gets_no_credentials(token_registry, registry2, repo_name, tmp_path):
    reg = token_registry
    img = mm_images.push_image(registry2, f"{repo_name}/src", "amd64")
    with FaultProxy(reg, timeout=3.0) as proxy, \
            Hostile(lambda req: req.respond(500, {}, b"elsewhere")) as elsewhere:
        proxy.add_rule("POST", rf"/v2/{re.escape(repo_name)}/dst/blobs/uploads/$", fault=location_to(elsewhere.host))
        run = run_cli("push", "from-matrix", "-", "--target", f"{proxy.host}/{repo_name}/dst:v1",
                      stdin=json.dumps([{"image": img["ref"]}]), env=creds_for(tmp_path, proxy.host, reg))
    one_error(run)
    assert elsewhere.requests, "the upload Location was never used"
    assert elsewhere.authorizations() == []
    assert {r.method for r in elsewhere.requests} <= {"PUT", "PATCH"}


@pytest.mark.hostile("tags-link-elsewhere")
def test_a_tag_list_link_to_another_host_is_not_followed(token_registry, repo_name, tmp_path):
    reg = token_registry
    mm_images.push_image(reg, f"{repo_name}/src", "amd64")
    with FaultProxy(reg, timeout=3.0) as proxy, \
            Hostile(lambda req: req.respond(200, {"Content-Type": "application/json"}, b'{"tags": []}')) as other:
        def page(ex) -> None:
            ex.drain()
            ex.respond(200, {"Content-Type": "application/json",
                             "Link": f'<http://{other.host}/v2/{repo_name}/dst/tags/list?last=0.9.0>; rel="next"'},
                       json.dumps({"name": f"{repo_name}/dst", "tags": ["0.9.0"]}).encode())
        proxy.add_rule("GET", r"/tags/list", fault=Fault("link-elsewhere", page))
        run = run_cli("push", "from-matrix", "-", "--dry-run", "--semver", "1.0.0",
                      "--target", f"{proxy.host}/{repo_name}/dst", stdin=json.dumps([{"image": f"{proxy.host}/"
                                                                                        f"{repo_name}/src:amd64"}]),
                      env=creds_for(tmp_path, proxy.host, reg))
    line = one_error(run)
    assert other.requests == []
    assert "list tags" in line and "another host" in line and other.host in line, line


# -- ~/.netrc is never consulted, not even on a redirect ----------------------------------------------

@pytest.mark.hostile("netrc-on-redirect")
def test_netrc_is_never_read_even_on_a_redirect(registry, repo_name, tmp_path):
    img = mm_images.push_image(registry, f"{repo_name}/src", "amd64")
    home = tmp_path / "home"
    home.mkdir()
    (home / ".netrc").write_text("machine 127.0.0.1 login netrc-user password netrc-pw-1\n"
                                 "machine 127.0.0.2 login netrc-user password netrc-pw-2\n")
    (home / ".netrc").chmod(0o600)

    def cdn_handler(req: Request) -> None:    # a CDN serving the blob from the registry's storage
        with requests.Session() as s:
            s.trust_env = False
            r = s.get(registry.url + req.target, timeout=10)
        req.respond(r.status_code, {"Content-Type": "application/octet-stream"}, r.content)
    with FaultProxy(registry, timeout=3.0) as proxy, Hostile(cdn_handler) as cdn:
        proxy.add_rule("GET", rf"/blobs/{re.escape(img['config_digest'])}$", fault=redirect(cdn.host))
        run = run_cli("inspect", f"{proxy.host}/{repo_name}/src:amd64", "--json", home=home)
        seen = list(proxy.seen)
    assert run.code == 0, run.err
    assert run.json()["manifests"][0]["platform"] == "linux/amd64"
    assert cdn.requests, "the redirect was never followed"
    assert cdn.authorizations() == []
    assert [s for s in seen if "Authorization" in s.headers] == []


# -- --insecure covers the registries named, never a host met later ----------------------------------

@pytest.mark.hostile("insecure-not-global")
@pytest.mark.parametrize("flag", ["--insecure", "--insecure-registry"])
def test_insecure_covers_the_named_registry_not_a_redirect_host(tmp_path, flag):
    mine, theirs = make_cert(tmp_path / "mine", "mine"), make_cert(tmp_path / "theirs", "theirs")
    with (Hostile(tiny_registry(), tls=theirs) as cdn,     # a CDN whose certificate nobody trusts
          Hostile(tiny_registry(blob_to=cdn.url), ip="127.0.0.1", tls=mine) as reg):
        args = [flag] if flag == "--insecure" else [flag, reg.host]
        run = run_cli("inspect", f"{reg.host}/team/app:v1", *args)
        plain = run_cli("inspect", f"{reg.host}/team/app:v1")
    line = one_error(run)
    assert cdn.requests == []                             # the TLS handshake failed: no request was sent
    assert "TLS" in line and cdn.host in line, line
    assert any(r.path == "/v2/team/app/manifests/v1" for r in reg.requests)   # the named one was used
    no_flag = one_error(plain)
    assert reg.host in no_flag and f"--insecure-registry {reg.host}" in no_flag, no_flag


def test_insecure_registry_must_be_host_and_port(registry, repo_name):
    run = run_cli("inspect", f"{registry.host}/{repo_name}:v1", "--insecure-registry", "http://10.0.0.5:5000")
    assert run.code == 2, run
    assert len(run.err_lines) == 1 and "HOST or HOST:PORT" in run.err, run.err


def test_the_action_input_insecure_registries_names_registries_one_per_line(tls_registry, repo_name):
    from mm_runner import run_action

    reg = tls_registry
    amd = mm_images.push_image(reg, f"{repo_name}-amd64", "v1", arch="amd64")
    run = run_action({"target": f"{reg.host}/{repo_name}:v1", "sources": amd["ref"], "wait-timeout": "0",
                      "insecure-registries": f"other.example:5000\n{reg.host}\n",
                      "username": reg.username, "password": reg.password})
    assert run.code == 0, run.out + run.err
    assert mm_images.list_tags(reg, repo_name) == ["v1"]
