"""No secret ever reaches what a run writes: every way a credential enters, success and failure, quiet and debug.

Each case runs the real CLI (``mm_cli.run_cli``) or the real Action entry point (``mm_runner.run_action``)
against a real registry, once where the push succeeds, once where it fails (a wrong secret, or a failure
after the login worked: a source that is missing), with and without debug output (``--debug`` /
``RUNNER_DEBUG=1``).  Every byte the run produced - stdout, stderr, ``$GITHUB_OUTPUT``,
``$GITHUB_STEP_SUMMARY`` and the GitLab dotenv report - is scanned with ``mm_secrets.assert_no_secrets``
(plain, base64 and URL-safe base64, ``user:secret`` too) for the secret, and on the token registry for
every bearer token the in-process issuer signed during the run.

For the Action, ``::add-mask::SECRET`` is the one place a secret may be written (the runner consumes that
line and hides the value from then on), so it must come before any other line of stdout; those lines are
taken out and everything else is scanned.
"""
from __future__ import annotations

import base64
import json
import os
import secrets
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

import mm_images
from mm_cli import docker_config, run_cli
from mm_runner import run_action
from mm_secrets import assert_no_secrets

CA_VARS = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")
MASK = "::add-mask::"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    """No ambient CA bundle or CI variables: each case sets exactly what it means."""
    for var in CA_VARS:
        monkeypatch.delenv(var, raising=False)
    for var in [k for k in os.environ if k.startswith(("CI_", "GITLAB_", "RUNNER_", "INPUT_"))]:
        monkeypatch.delenv(var, raising=False)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def fresh_secret(prefix: str) -> str:
    return prefix + "-" + secrets.token_urlsafe(15)


# -- what a case produced ------------------------------------------------------------------------

@dataclass
class Outcome:
    code: int
    texts: dict[str, str]                 # every output the run produced, by name
    out_lines: list[str]                  # stdout lines (for the Action's add-mask order)
    err: str
    masked_inputs: list[str] = field(default_factory=list)   # secrets the Action was given as inputs


def cli_outcome(run, dotenv: Path | None = None) -> Outcome:
    texts = {"stdout": run.out, "stderr": run.err}
    if dotenv is not None and dotenv.exists():
        texts["dotenv"] = dotenv.read_text()
    return Outcome(run.code, texts, run.out.splitlines(), run.err)


def action_outcome(run, masked: list[str]) -> Outcome:
    texts = {"stdout": run.out, "stderr": run.err, "GITHUB_OUTPUT": run.output_text,
             "GITHUB_STEP_SUMMARY": run.summary}
    return Outcome(run.code, texts, run.out_lines, run.err, masked)


# -- seeding ---------------------------------------------------------------------------------------

def seed(reg, repo: str) -> list[dict]:
    return [mm_images.push_image(reg, f"{repo}/src", "amd64", arch="amd64"),
            mm_images.push_image(reg, f"{repo}/src", "arm64", arch="arm64", variant="v8")]


def source_refs(reg, repo: str, images: list[dict], outcome: str) -> list[str]:
    """The image refs to compose; for a later failure, one more that was never pushed."""
    refs = [img["ref"] for img in images]
    if outcome == "later":
        refs.append(f"{reg.host}/{repo}/src:never-pushed")
    return refs


def matrix_file(tmp_path: Path, refs: list[str]) -> Path:
    path = tmp_path / "matrix.json"
    path.write_text(json.dumps([{"image": r} for r in refs]))
    return path


def cli_push_args(tmp_path: Path, reg, repo: str, refs: list[str], debug: bool) -> list[str]:
    return ["push", "from-matrix", str(matrix_file(tmp_path, refs)), "--target", f"{reg.host}/{repo}/dst:v1",
            "--tags", "latest", "--wait-timeout", "0", *(["--debug"] if debug else [])]


# -- a credential helper that knows the secret and says so on stderr --------------------------------

HELPER = """#!{python}
import json, sys
action = sys.argv[1] if len(sys.argv) > 1 else ""
server = sys.stdin.read().strip()
secret = {secret!r}
# a chatty helper: its stderr names the secret (and its basic-auth form); the tool must not echo it
sys.stderr.write("docker-credential-x: using secret " + secret + " basic={basic}\\n")
if action != "get":
    sys.exit(1)
answer = json.dumps({{"ServerURL": server, "Username": {user!r}, "Secret": secret}})
if {fail!r}:
    print(answer)
    sys.stderr.write("docker-credential-x: keychain locked, secret=" + secret + "\\n")
    sys.exit(1)
print(answer)
"""


def write_helper(bindir: Path, user: str, secret: str, fail: bool) -> None:
    bindir.mkdir(parents=True, exist_ok=True)
    exe = bindir / "docker-credential-x"
    exe.write_text(HELPER.format(python=sys.executable, user=user, secret=secret, fail=fail,
                                 basic=b64(f"{user}:{secret}")))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


# -- the cases -------------------------------------------------------------------------------------
#
# (source, outcome): "ok" pushes; "wrong" gives a wrong secret; "later" logs in fine and then fails on a
# source that was never pushed; "helper-fails" has the credential helper exit 1 with the secret on both
# its stdout and its stderr; "broken-json" is a config.json cut short after the secret and
# "auth-not-base64" one whose "auth" holds "user:password" in clear (both bad input: exit 2).

CASES = [
    ("password-stdin", "ok"), ("password-stdin", "wrong"), ("password-stdin", "later"),
    ("password-stdin-bearer", "ok"), ("password-stdin-bearer", "wrong"), ("password-stdin-bearer", "later"),
    ("config-auth", "ok"), ("config-auth", "wrong"), ("config-auth", "broken-json"),
    ("config-auth", "auth-not-base64"),
    ("config-identitytoken", "ok"), ("config-identitytoken", "wrong"), ("config-identitytoken", "later"),
    ("cred-helper", "ok"), ("cred-helper", "wrong"), ("cred-helper", "helper-fails"),
    ("gitlab-ci-registry", "ok"), ("gitlab-ci-registry", "wrong"), ("gitlab-ci-registry", "later"),
    ("action-password", "ok"), ("action-password", "wrong"), ("action-password", "later"),
    ("action-password-bearer", "ok"), ("action-password-bearer", "wrong"), ("action-password-bearer", "later"),
    ("action-token", "ok"), ("action-token", "later"),
]
BEARER = {"password-stdin-bearer", "config-identitytoken", "action-password-bearer"}
ACTION = {"action-password", "action-password-bearer", "action-token"}


def _registry_for(request, source: str):
    if source in BEARER:
        return request.getfixturevalue("token_registry")
    if source == "action-token":
        return request.getfixturevalue("registry")
    return request.getfixturevalue("tls_registry")


def _record_issued(monkeypatch, reg) -> list[str]:
    """Every JWT the in-process issuer signs from now on."""
    reg.token_issuer.issued.clear()
    return reg.token_issuer.issued


def _refresh_token(reg) -> str:
    """An identity (refresh) token, as `docker login` stores it: the issuer's OAuth2 password grant."""
    with requests.Session() as s:
        s.trust_env = False
        r = s.post(reg.token_url, data={"grant_type": "password", "username": reg.username,
                                        "password": reg.password, "service": reg.token_issuer.service,
                                        "client_id": "mm-test", "scope": ""}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["refresh_token"]


def _run_case(source: str, outcome: str, debug: bool, reg, repo: str, images: list[dict], tmp_path: Path
              ) -> tuple[Outcome, list[str], str | None]:
    """Run one case; returns (what it produced, the secrets to scan for, the user name)."""
    refs = source_refs(reg, repo, images, outcome)
    wrong = outcome == "wrong"
    tls_env = {"SSL_CERT_FILE": str(reg.ca_file)} if reg.ca_file else {}
    user = reg.username

    if source in ("password-stdin", "password-stdin-bearer"):
        password = fresh_secret("wrong") if wrong else reg.password
        run = run_cli(*cli_push_args(tmp_path, reg, repo, refs, debug), "--username", user, "--password-stdin",
                      stdin=password + "\n", env=tls_env)
        return cli_outcome(run), [password, reg.password], user

    if source == "config-auth":
        password = fresh_secret("wrong") if wrong else reg.password
        auth = b64(f"{user}:{password}")
        if outcome == "auth-not-base64":
            auth = f"{user}:{password}"
        cfg = docker_config(tmp_path / "docker", {reg.host: {"auth": auth}})
        if outcome == "broken-json":
            text = (cfg / "config.json").read_text()
            (cfg / "config.json").write_text(text[:-2] + ",\n")   # cut short right after the secret
        run = run_cli(*cli_push_args(tmp_path, reg, repo, refs, debug), env={**tls_env, "DOCKER_CONFIG": str(cfg)})
        return cli_outcome(run), [password, auth, reg.password], user

    if source == "config-identitytoken":
        refresh = f"{user}.{secrets.token_hex(32)}" if wrong else _refresh_token(reg)
        cfg = docker_config(tmp_path / "docker", {reg.host: {"auth": "", "identitytoken": refresh}})
        run = run_cli(*cli_push_args(tmp_path, reg, repo, refs, debug), env={"DOCKER_CONFIG": str(cfg)})
        return cli_outcome(run), [refresh, reg.password], user

    if source == "cred-helper":
        secret = fresh_secret("wrong") if wrong else reg.password
        write_helper(tmp_path / "bin", user, secret, fail=outcome == "helper-fails")
        cfg = docker_config(tmp_path / "docker", {}, credHelpers={reg.host: "x"})
        env = {**tls_env, "DOCKER_CONFIG": str(cfg),
               "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ.get('PATH', os.defpath)}"}
        run = run_cli(*cli_push_args(tmp_path, reg, repo, refs, debug), env=env)
        return cli_outcome(run), [secret, reg.password], user

    if source == "gitlab-ci-registry":
        password = fresh_secret("wrong") if wrong else reg.password
        dotenv = tmp_path / "merge.env"
        env = {**tls_env, "GITLAB_CI": "true", "CI": "true", "CI_REGISTRY": reg.host, "CI_REGISTRY_USER": user,
               "CI_REGISTRY_PASSWORD": password}
        run = run_cli(*cli_push_args(tmp_path, reg, repo, refs, debug), "--dotenv", str(dotenv), env=env)
        if outcome == "ok":
            assert dotenv.exists(), run.err
        return cli_outcome(run, dotenv), [password, reg.password], user

    env = dict(tls_env)
    if debug:
        env["RUNNER_DEBUG"] = "1"
    inputs = {"target": f"{reg.host}/{repo}/dst:v1", "tags": "latest", "sources": "\n".join(refs),
              "wait-timeout": "0"}
    if source in ("action-password", "action-password-bearer"):
        password = fresh_secret("wrong") if wrong else reg.password
        run = run_action({**inputs, "username": user, "password": password}, env=env)
        return action_outcome(run, [password]), [password, reg.password], user

    assert source == "action-token"
    token = "ghs_" + secrets.token_hex(18)
    run = run_action({**inputs, "token": token}, env=env, actor="octocat")
    return action_outcome(run, [token]), [token], "octocat"


def _check_result(source: str, outcome: str, result: Outcome, reg, repo: str) -> None:
    if outcome == "ok":
        assert result.code == 0, result.err + result.texts["stdout"]
        assert sorted(mm_images.list_tags(reg, f"{repo}/dst")) == ["latest", "v1"]
        return
    assert result.code == (2 if outcome in ("broken-json", "auth-not-base64") else 1), \
        result.err + result.texts["stdout"]
    assert mm_images.list_tags(reg, f"{repo}/dst") == []
    message = result.texts["stdout"] + result.err
    if outcome == "later":
        assert "never-pushed" in message and "not found" in message, message
    elif outcome == "wrong":
        assert "401" in message or "UNAUTHORIZED" in message, message
    elif outcome in ("broken-json", "auth-not-base64"):
        assert result.code == 2 and "config" in message, message
    elif outcome == "helper-fails":
        assert "docker-credential-x" in message and "failed" in message, message


def _check_add_mask_first(result: Outcome) -> None:
    """Each secret input is masked, and every add-mask line comes before any other line on stdout."""
    lines = result.out_lines
    n_masks = 0
    while n_masks < len(lines) and lines[n_masks].startswith(MASK):
        n_masks += 1
    assert all(not line.startswith(MASK) for line in lines[n_masks:]), "an add-mask after other output"
    head = lines[:n_masks]
    for secret in result.masked_inputs:
        assert f"{MASK}{secret}" in head, f"secret input not masked first: stdout starts {lines[:1]!r}"


def _without_mask_lines(result: Outcome) -> dict[str, str]:
    texts = dict(result.texts)
    masks = {f"{MASK}{s}" for s in result.masked_inputs}
    texts["stdout"] = "\n".join(line for line in result.out_lines if line not in masks)
    return texts


@pytest.mark.parametrize("debug", [False, True], ids=["quiet", "debug"])
@pytest.mark.parametrize("source,outcome", CASES, ids=[f"{s}-{o}" for s, o in CASES])
def test_no_secret_in_any_output(request, monkeypatch, tmp_path, repo_name, source, outcome, debug):
    reg = _registry_for(request, source)
    issued = _record_issued(monkeypatch, reg) if reg.token_issuer else []
    images = seed(reg, repo_name)
    n_seeded = len(issued)             # the tokens mm_images got while seeding are not the run's
    n_log = len(reg.token_issuer.requests_log) if reg.token_issuer else 0
    result, secret_values, user = _run_case(source, outcome, debug, reg, repo_name, images, tmp_path)
    run_tokens = issued[n_seeded:]
    # the tool's own token requests (not the password grant a case makes to get a refresh token)
    log = [e for e in reg.token_issuer.requests_log[n_log:] if e["grant"] != "password"] if reg.token_issuer else []
    _check_result(source, outcome, result, reg, repo_name)

    if debug and result.code != 2:  # bad input is refused before any request: no request lines to show
        assert "debug: " in result.err, "debug output was not on: the scan would prove little"
    if debug and result.code == 2:
        assert "Traceback" in result.err, "--debug shows the traceback of the refusal"
    if reg.token_issuer:
        if outcome == "wrong":
            assert any(e["status"] == 401 for e in log), log
        else:
            assert run_tokens and any(e["status"] == 200 for e in log), "no bearer token was issued to the run"
        secret_values = secret_values + issued          # every token signed since seeding began
    if source in ACTION:
        _check_add_mask_first(result)
        texts = _without_mask_lines(result)
    else:
        texts = result.texts
    assert_no_secrets(texts, secret_values, user=user)
    for token in issued:                         # not even a bearer token's signature part
        signature = token.rsplit(".", 1)[-1]
        assert all(signature not in t for t in texts.values()), "a bearer token signature leaked"
