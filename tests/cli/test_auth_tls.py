"""End-to-end: the CLI against real registries with TLS, Basic auth, bearer tokens and helpers.

Per-arch images are seeded with the independent ``mm_images`` client; the tool then runs as a
subprocess (``mm_cli.run_cli``) and what it pushed is read back with ``mm_images`` again.
"""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
import ssl
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import requests

import mm_images
from mm_cli import docker_config, run_cli

# The host environment may point these at the system bundle; each test sets what it needs.
CA_VARS = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")
JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]{8,}")


@pytest.fixture(autouse=True)
def _no_ambient_ca_bundle(monkeypatch):
    for var in CA_VARS:
        monkeypatch.delenv(var, raising=False)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def seed(reg, repo: str, salt: str = "") -> list[dict]:
    """Two per-arch images (linux/amd64, linux/arm64/v8) tagged amd64 / arm64 in ``repo``."""
    return [mm_images.push_image(reg, repo, "amd64", arch="amd64", salt=salt),
            mm_images.push_image(reg, repo, "arm64", arch="arm64", variant="v8", salt=salt)]


def matrix_file(tmp_path: Path, images: list[dict]) -> Path:
    path = tmp_path / "matrix.json"
    path.write_text(json.dumps([{"image": img["ref"]} for img in images]))
    return path


def spec_file(tmp_path: Path, target: str, images: list[dict]) -> Path:
    lines = [f"image: {target}", "manifests:"]
    for img in images:
        p = img["platform"]
        lines.append(f"  - image: {img['ref']}")
        lines.append("    platform:")
        lines.append(f"      os: {p['os']}")
        lines.append(f"      architecture: {p['architecture']}")
        if "variant" in p:
            lines.append(f"      variant: {p['variant']}")
    path = tmp_path / "spec.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def assert_index(reg, repo: str, tag: str, images: list[dict]) -> str:
    """The tag holds a manifest list of exactly ``images``; returns its digest."""
    body, media_type, digest = mm_images.get_manifest(reg, repo, tag)
    assert media_type == mm_images.DOCKER_LIST
    doc = json.loads(body)
    got = [(m["digest"], m["size"], m["mediaType"], m["platform"]) for m in doc["manifests"]]
    want = [(i["digest"], i["size"], i["media_type"], i["platform"]) for i in images]
    assert sorted(got, key=str) == sorted(want, key=str)
    for img in images:    # the children were made present in the target repository too
        assert mm_images.manifest_exists(reg, repo, img["digest"])
    assert digest == mm_images.sha256_digest(body)
    return digest


def assert_pushed_output(run, reg, repo: str, digest: str) -> None:
    assert run.code == 0, run.err
    assert run.out.strip().splitlines()[-1] == f"{reg.host}/{repo}@{digest}"


def assert_no_secrets(run, *secrets: str) -> None:
    text = run.out + run.err
    for s in secrets:
        assert s and s not in text, f"secret leaked: {s[:4]}..."
        assert b64(s) not in text


def assert_no_auth_values(text: str) -> None:
    assert "Authorization" not in text
    assert not re.search(r"\b(Bearer|Basic) [A-Za-z0-9+/=._-]{6,}", text), text
    assert not JWT_RE.search(text), text


def tag_absent(reg, repo: str, tag: str) -> bool:
    return not mm_images.manifest_exists(reg, repo, tag)


def debug_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("debug: ")]


# -- TLS + Basic auth -------------------------------------------------------------------------

@pytest.mark.parametrize("trust_var", ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"])
def test_tls_basic_password_stdin_from_spec(tls_registry, repo_name, tmp_path, trust_var):
    reg = tls_registry
    src, dst = f"{repo_name}/src", f"{repo_name}/dst"
    images = seed(reg, src)
    spec = spec_file(tmp_path, f"{reg.host}/{dst}:v1", images)
    run = run_cli("push", "from-spec", str(spec), "--username", reg.username, "--password-stdin",
                  stdin=reg.password + "\n", env={trust_var: str(reg.ca_file)})
    assert run.code == 0, run.err
    digest = assert_index(reg, dst, "v1", images)
    assert_pushed_output(run, reg, dst, digest)
    assert_no_secrets(run, reg.password, f"{reg.username}:{reg.password}")


@pytest.mark.parametrize("trust_var", ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"])
def test_tls_basic_docker_config_from_matrix_then_inspect(tls_registry, repo_name, tmp_path,
                                                          trust_var):
    reg = tls_registry
    src, dst = f"{repo_name}/src", f"{repo_name}/dst"
    images = seed(reg, src)
    cfg = docker_config(tmp_path / "docker",
                        {reg.host: {"auth": b64(f"{reg.username}:{reg.password}")}})
    env = {trust_var: str(reg.ca_file), "DOCKER_CONFIG": str(cfg)}
    run = run_cli("push", "from-matrix", str(matrix_file(tmp_path, images)),
                  "--target", f"{reg.host}/{dst}:v2", env=env)
    assert run.code == 0, run.err
    digest = assert_index(reg, dst, "v2", images)
    assert_pushed_output(run, reg, dst, digest)

    shown = run_cli("inspect", f"{reg.host}/{dst}:v2", "--json", env=env)
    assert shown.code == 0, shown.err
    doc = shown.json()
    assert doc["digest"] == digest
    assert doc["mediaType"] == mm_images.DOCKER_LIST
    assert sorted(m["platform"] for m in doc["manifests"]) == ["linux/amd64", "linux/arm64/v8"]
    assert_no_secrets(run, reg.password)
    assert_no_secrets(shown, reg.password)


def test_tls_without_trust_fails_with_one_line_hint(tls_registry, repo_name, tmp_path):
    reg = tls_registry
    src, dst = f"{repo_name}/src", f"{repo_name}/dst"
    images = seed(reg, src)
    run = run_cli("push", "from-matrix", str(matrix_file(tmp_path, images)),
                  "--target", f"{reg.host}/{dst}:v1", "--username", reg.username,
                  "--password-stdin", stdin=reg.password + "\n")
    assert run.code == 1, run
    assert len(run.err_lines) == 1, run.err
    line = run.err_lines[0]
    assert "TLS" in line or "certificate" in line.lower(), line
    assert reg.host in line
    assert "--insecure" in line and "SSL_CERT_FILE" in line, line
    assert "Traceback" not in run.err
    assert tag_absent(reg, dst, "v1")

    shown = run_cli("inspect", f"{reg.host}/{src}:amd64", "--username", reg.username,
                    "--password-stdin", stdin=reg.password + "\n")
    assert shown.code == 1, shown
    assert len(shown.err_lines) == 1, shown.err
    assert "TLS" in shown.err or "certificate" in shown.err.lower(), shown.err
    assert "--insecure" in shown.err and "SSL_CERT_FILE" in shown.err


def test_tls_insecure_skips_verification(tls_registry, repo_name, tmp_path):
    reg = tls_registry
    src, dst = f"{repo_name}/src", f"{repo_name}/dst"
    images = seed(reg, src)
    run = run_cli("push", "from-matrix", str(matrix_file(tmp_path, images)),
                  "--target", f"{reg.host}/{dst}:v1", "--insecure", "--debug",
                  "--username", reg.username, "--password-stdin", stdin=reg.password + "\n")
    assert run.code == 0, run.err
    digest = assert_index(reg, dst, "v1", images)
    assert_pushed_output(run, reg, dst, digest)
    requests_made = [line for line in debug_lines(run.err) if reg.host in line]
    assert requests_made
    # still TLS (unverified), never a plain-HTTP downgrade: the one plain request is the credential-free
    # ping sent beside the TLS hello (HTTP is allowed for this host), and its answer is not used
    plain = [line for line in requests_made if f"http://{reg.host}/" in line]
    assert len(plain) == 1 and f"GET http://{reg.host}/v2/ -> 400" in plain[0], requests_made
    assert "the plain-HTTP ping sent beside the hello (no credentials) is not used" in run.err
    assert all(f"https://{reg.host}/" in line for line in requests_made if line not in plain and "://" in line), \
        requests_made
    assert_no_secrets(run, reg.password)


def test_unverified_tls_asked_for_prints_no_library_warning(tls_registry, repo_name, tmp_path):
    """--insecure-registry is the user's own choice: a real process's stderr holds our lines only, not the
    HTTP library's InsecureRequestWarning at every connection (unmasked, outside the one-line format)."""
    reg = tls_registry
    src, dst = f"{repo_name}/src", f"{repo_name}/dst"
    images = seed(reg, src)
    run = run_cli("push", "from-matrix", str(matrix_file(tmp_path, images)), "--target", f"{reg.host}/{dst}:v1",
                  "--insecure-registry", reg.host, "--username", reg.username, "--password-stdin",
                  stdin=reg.password + "\n", subprocess=True)
    assert run.code == 0, run.err
    assert "Warning" not in run.err and "warnings.warn" not in run.err, run.err


# -- wrong credentials never leak ---------------------------------------------------------------

WRONG = "Wr0ng-pa55word-zq9"


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
@pytest.mark.parametrize("source", ["stdin", "config"])
def test_tls_wrong_password(tls_registry, repo_name, tmp_path, debug, source):
    reg = tls_registry
    src, dst = f"{repo_name}/src", f"{repo_name}/dst"
    images = seed(reg, src)
    args = ["push", "from-matrix", str(matrix_file(tmp_path, images)), "--target",
            f"{reg.host}/{dst}:v1"] + (["--debug"] if debug else [])
    env = {"SSL_CERT_FILE": str(reg.ca_file)}
    if source == "stdin":
        run = run_cli(*args, "--username", reg.username, "--password-stdin", stdin=WRONG + "\n",
                      env=env)
    else:
        cfg = docker_config(tmp_path / "docker", {reg.host: {"auth": b64(f"{reg.username}:{WRONG}")}})
        run = run_cli(*args, env={**env, "DOCKER_CONFIG": str(cfg)})
    assert run.code == 1, run
    last = run.err_lines[-1]
    assert reg.host in last
    assert "401" in last and "UNAUTHORIZED" in last, last
    if not debug:
        assert len(run.err_lines) == 1, run.err
    for secret in (WRONG, f"{reg.username}:{WRONG}"):
        assert secret not in run.out + run.err
        assert b64(secret) not in run.out + run.err
    assert_no_auth_values(run.err)
    assert tag_absent(reg, dst, "v1")


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_token_registry_wrong_password(token_registry, repo_name, tmp_path, debug):
    reg = token_registry
    src, dst = f"{repo_name}/src", f"{repo_name}/dst"
    images = seed(reg, src)
    n0 = len(reg.token_issuer.requests_log)
    run = run_cli("push", "from-matrix", str(matrix_file(tmp_path, images)),
                  "--target", f"{reg.host}/{dst}:v1", "--username", reg.username,
                  "--password-stdin", *(["--debug"] if debug else []), stdin=WRONG + "\n")
    assert run.code == 1, run
    last = run.err_lines[-1]
    assert reg.host in last
    assert "401" in last or "UNAUTHORIZED" in last, last
    refused = [e for e in reg.token_issuer.requests_log[n0:] if e["status"] == 401]
    assert refused, "the token service never saw the wrong password"
    for secret in (WRONG, f"{reg.username}:{WRONG}"):
        assert secret not in run.out + run.err
        assert b64(secret) not in run.out + run.err
    assert_no_auth_values(run.err)
    assert tag_absent(reg, dst, "v1")


# -- bearer tokens --------------------------------------------------------------------------------

@pytest.fixture
def issued_tokens(token_registry):
    """Every JWT the (in-process) token issuer signs during the test."""
    token_registry.token_issuer.issued.clear()
    return token_registry.token_issuer.issued


def _mentioning(entries: list[dict], *repos: str) -> list[dict]:
    return [e for e in entries if any(f"repository:{r}:" in s for s in e["scopes"] for r in repos)]


def test_bearer_push_uses_one_token_for_all_planned_scopes(token_registry, repo_name, tmp_path,
                                                           issued_tokens):
    reg = token_registry
    src, dst = f"{repo_name}/src", f"{repo_name}/dst"
    images = seed(reg, src)
    cfg = docker_config(tmp_path / "docker",
                        {reg.host: {"auth": b64(f"{reg.username}:{reg.password}")}})
    n0 = len(reg.token_issuer.requests_log)
    issued_tokens.clear()
    run = run_cli("push", "from-matrix", str(matrix_file(tmp_path, images)),
                  "--target", f"{reg.host}/{dst}:v1", "--debug", env={"DOCKER_CONFIG": str(cfg)})
    log = reg.token_issuer.requests_log[n0:]     # before mm_images reads back (it asks too)
    assert run.code == 0, run.err
    digest = assert_index(reg, dst, "v1", images)
    assert_pushed_output(run, reg, dst, digest)

    assert log == _mentioning(log, src, dst)       # nothing else asked meanwhile
    short = [[sc.replace(f"repository:{repo_name}/", "") for sc in e["scopes"]] for e in log]
    assert len(log) == 1, f"{len(log)} token requests, scopes: {short}"
    entry = log[0]
    assert entry["status"] == 200
    assert entry["account"] == reg.username
    assert entry["grant"] == "basic"
    assert f"repository:{dst}:pull,push" in entry["scopes"]
    assert f"repository:{src}:pull" in entry["scopes"]

    # --debug logs requests, but never the password or a token
    assert f"{reg.host}/v2/" in run.err
    assert_no_secrets(run, reg.password, f"{reg.username}:{reg.password}")
    assert issued_tokens
    for token in issued_tokens:
        assert token not in run.err and token not in run.out
        assert token.split(".")[2] not in run.err         # not even the signature part
    assert_no_auth_values(run.err)


def test_bearer_identity_token_uses_refresh_grant(token_registry, repo_name, tmp_path,
                                                   issued_tokens):
    reg = token_registry
    src, dst = f"{repo_name}/src", f"{repo_name}/dst"
    images = seed(reg, src)
    with requests.Session() as s:
        s.trust_env = False
        r = s.post(reg.token_url, data={"grant_type": "password", "username": reg.username,
                                        "password": reg.password, "service": reg.token_issuer.service,
                                        "client_id": "mm-test", "scope": ""}, timeout=10)
    assert r.status_code == 200, r.text
    refresh = r.json()["refresh_token"]
    cfg = docker_config(tmp_path / "docker", {reg.host: {"auth": "", "identitytoken": refresh}})
    n0 = len(reg.token_issuer.requests_log)
    issued_tokens.clear()
    run = run_cli("push", "from-matrix", str(matrix_file(tmp_path, images)),
                  "--target", f"{reg.host}/{dst}:v1", "--debug", env={"DOCKER_CONFIG": str(cfg)})
    log = reg.token_issuer.requests_log[n0:]     # before mm_images reads back (it asks too)
    assert run.code == 0, run.err
    assert_index(reg, dst, "v1", images)

    assert log, "no token request"
    for entry in log:
        assert entry["method"] == "POST"
        assert entry["grant"] == "refresh_token"
        assert entry["account"] == reg.username
        assert entry["status"] == 200
    assert any(f"repository:{dst}:pull,push" in e["scopes"] for e in log)
    assert any(f"repository:{src}:pull" in e["scopes"] for e in log)
    assert refresh not in run.out + run.err
    for token in issued_tokens:
        assert token not in run.out + run.err
    assert_no_auth_values(run.err)


def test_bearer_anonymous_pull_inspects_but_push_is_refused(token_registry, repo_name, tmp_path):
    reg = token_registry
    src, dst = f"{repo_name}/src", f"{repo_name}/dst"
    idx = mm_images.push_attested_index(reg, src, "multi",
                                        platforms=[("linux", "amd64"), ("linux", "arm64", "v8")])
    n0 = len(reg.token_issuer.requests_log)
    shown = run_cli("inspect", f"{reg.host}/{src}:multi", "--json")
    assert shown.code == 0, shown.err
    doc = shown.json()
    assert doc["digest"] == idx["digest"]
    assert doc["mediaType"] == mm_images.OCI_INDEX
    images = [m for m in doc["manifests"] if "attestationFor" not in m]
    assert sorted(m["platform"] for m in images) == ["linux/amd64", "linux/arm64/v8"]
    anon = reg.token_issuer.requests_log[n0:]
    assert anon and all(e["account"] is None and e["grant"] == "anonymous" for e in anon)

    run = run_cli("push", "from-matrix", str(matrix_file(tmp_path, idx["images"])),
                  "--target", f"{reg.host}/{dst}:v1")
    assert run.code == 1, run
    assert len(run.err_lines) >= 1
    assert re.search(r"\b(401|403)\b|UNAUTHORIZED|DENIED", run.err_lines[-1]), run.err
    assert "Traceback" not in run.err
    assert tag_absent(reg, dst, "v1")


# -- credential helpers -----------------------------------------------------------------------------

HELPER = """#!{python}
import json, sys
action = sys.argv[1] if len(sys.argv) > 1 else ""
server = sys.stdin.read()
with open({log!r}, "a") as f:
    f.write(json.dumps({{"action": action, "server": server}}) + "\\n")
if action != "get":
    sys.exit(1)
print(json.dumps({{"ServerURL": server.strip(), "Username": {user!r}, "Secret": {secret!r}}}))
"""


def write_helper(bindir: Path, name: str, log: Path, user: str, secret: str) -> Path:
    bindir.mkdir(parents=True, exist_ok=True)
    exe = bindir / f"docker-credential-{name}"
    exe.write_text(HELPER.format(python=sys.executable, log=str(log), user=user, secret=secret))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return exe


def test_credential_helper_with_debug_never_logs_secrets(tls_registry, repo_name, tmp_path):
    reg = tls_registry
    src, dst = f"{repo_name}/src", f"{repo_name}/dst"
    images = seed(reg, src)
    log = tmp_path / "helper.log"
    write_helper(tmp_path / "bin", "mmtest", log, reg.username, reg.password)
    cfg = docker_config(tmp_path / "docker", {}, credHelpers={reg.host: "mmtest"})
    env = {"SSL_CERT_FILE": str(reg.ca_file), "DOCKER_CONFIG": str(cfg),
           "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ.get('PATH', os.defpath)}"}
    run = run_cli("push", "from-matrix", str(matrix_file(tmp_path, images)),
                  "--target", f"{reg.host}/{dst}:v1", "--debug", env=env)
    assert run.code == 0, run.err
    digest = assert_index(reg, dst, "v1", images)
    assert_pushed_output(run, reg, dst, digest)

    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert calls, "the credential helper was never run"
    assert all(c["action"] == "get" for c in calls)
    assert reg.host in {c["server"].strip() for c in calls}
    assert len(calls) == 1          # one lookup per host per run

    debug = debug_lines(run.err)
    assert any(re.match(rf"debug: (GET|HEAD|PUT|POST) https://{re.escape(reg.host)}/v2/", line)
               for line in debug), run.err
    assert_no_secrets(run, reg.password, f"{reg.username}:{reg.password}")
    assert_no_auth_values(run.err)


# -- argument checks --------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["push", "inspect"])
def test_username_without_password_stdin_is_a_usage_error(registry, repo_name, tmp_path, command):
    before = len(registry.request_log())
    if command == "push":
        img = mm_images.push_image(registry, f"{repo_name}/src", "amd64")
        before = len(registry.request_log())
        args = ["push", "from-matrix", str(matrix_file(tmp_path, [img])),
                "--target", f"{registry.host}/{repo_name}/dst:v1"]
    else:
        args = ["inspect", f"{registry.host}/{repo_name}/src:amd64"]
    run = run_cli(*args, "--username", "someone", stdin="ignored\n")
    assert run.code == 2, run
    assert "--password-stdin" in run.err
    assert len(run.err_lines) == 1, run.err
    assert "ignored" not in run.out + run.err
    assert len(registry.request_log()) == before      # nothing was sent

    run = run_cli(*args, "--password-stdin", stdin="ignored\n")
    assert run.code == 2, run
    assert "--username" in run.err
    assert len(registry.request_log()) == before


# -- plain HTTP on loopback ---------------------------------------------------------------------------

def test_plain_http_loopback_without_insecure_tries_https_first(registry, repo_name, tmp_path):
    reg = registry
    src, dst = f"{repo_name}/src", f"{repo_name}/dst"
    images = seed(reg, src)
    n0 = len(reg.request_log())
    run = run_cli("push", "from-matrix", str(matrix_file(tmp_path, images)),
                  "--target", f"{reg.host}/{dst}:v1", "--debug")
    assert run.code == 0, run.err
    digest = assert_index(reg, dst, "v1", images)
    assert_pushed_output(run, reg, dst, digest)

    # the registry served the run over plain HTTP
    served = reg.request_log()[n0:]
    assert ("GET", "/v2/", 200) in served
    assert any(m == "PUT" and p == f"/v2/{dst}/manifests/v1" for m, p, _ in served)

    # ... with HTTPS tried too: a TLS hello (sent beside the plain ping, so learning the scheme costs one
    # round trip), refused, and no request of the run itself over HTTPS
    debug = debug_lines(run.err)
    assert any(f"TLS hello to https://{reg.host}/v2/ -> answered in plain HTTP" in line for line in debug), run.err
    assert sum(f"GET http://{reg.host}/v2/ " in line for line in debug) == 1, run.err
    assert not any(f"https://{reg.host}/v2/{src}" in line for line in debug)


def test_the_system_ca_folder_is_read_as_handshakes_need_it(tls_registry, repo_name, tmp_path, monkeypatch):
    """No CA variable set: the system's CAs. Where OpenSSL's CA folder holds hashed links (Debian, Ubuntu,
    Alpine), an issuer is read from it during the handshake instead of the whole bundle being parsed before
    the first HTTPS request (~30 ms at every start, docs/performance.md): a registry whose CA is only in that
    folder is verified, and the context starts with nothing loaded. A folder without hashed names falls back
    to the default load."""
    from multiarch_ci.registry.http.trust import Contexts, Trust

    reg = tls_registry
    folder = tmp_path / "certs"
    folder.mkdir()
    shutil.copy(reg.ca_file, folder / "registry-ca.pem")
    subprocess.run(["openssl", "rehash", str(folder)], check=True, capture_output=True, timeout=30)
    real = ssl.get_default_verify_paths()
    monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: real._replace(capath=str(folder)))
    assert Contexts(Trust()).get(True).cert_store_stats()["x509_ca"] == 0   # nothing parsed up front

    src, dst = f"{repo_name}/src", f"{repo_name}/dst"
    images = seed(reg, src)
    run = run_cli("push", "from-matrix", str(matrix_file(tmp_path, images)), "--target", f"{reg.host}/{dst}:v1",
                  "--username", reg.username, "--password-stdin", stdin=reg.password + "\n")
    assert run.code == 0, run.err
    assert_index(reg, dst, "v1", images)

    plain = tmp_path / "no-links"
    plain.mkdir()
    shutil.copy(reg.ca_file, plain / "registry-ca.pem")
    monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: real._replace(capath=str(plain)))
    loaded = Contexts(Trust()).get(True).cert_store_stats()["x509_ca"]
    assert loaded == ssl.create_default_context().cert_store_stats()["x509_ca"]
