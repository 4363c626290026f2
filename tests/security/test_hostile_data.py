"""Hostile data, from the input or from a registry: refused whole, bounded, and reported truthfully.

Bad input is exit 2 with nothing sent (the real registry's access log proves it); registry data that
cannot be trusted (a bad digest header, an attestation pointing at a non-digest, JSON nested past
the parser's depth) is exit 1 naming the ref, never exit 2 and never "internal error".
"""
from __future__ import annotations

import json
import os

import pytest

import mm_images
from mm_cli import run_cli
from mm_faults import Fault, FaultProxy, status
from mm_runner import log_mark, run_action

SECRET = "s3cr3t-Pa55"
HEX = "0123456789abcdef" * 4


@pytest.fixture
def proxy(registry):
    with FaultProxy(registry, timeout=3.0) as p:
        yield p


def assert_refused(run, registry, mark: int, *fragments: str) -> str:
    """Exit 2, one error line holding `fragments`, no traceback, not one request sent."""
    text = getattr(run, "all_text", None) or run.out + run.err
    assert run.code == 2, text
    assert "Traceback" not in text and "internal error" not in text
    for fragment in fragments:
        assert fragment in text, text
    assert log_mark(registry) == mark, registry.request_log()[mark:]
    return text


def assert_registry_error(run, *fragments: str) -> None:
    """Exit 1 (registry data, not the user's input), naming what it must; no internal error."""
    assert run.code == 1, run.out + run.err
    assert "internal error" not in run.err and "Traceback" not in run.err
    for fragment in fragments:
        assert fragment in run.err, run.err


# -- credentials written into a reference ----------------------------------------------------------

def _forms(tmp_path, host: str, repo: str):
    cred = f"ci-bot:{SECRET}@{host}/{repo}"
    matrix = tmp_path / "matrix.json"
    matrix.write_text(json.dumps([{"image": f"{cred}:amd64", "platform": "linux/amd64"}]))
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"image: {host}/{repo}:v1\nmanifests:\n  - image: {cred}:amd64\n")
    target = ("--target", f"{host}/{repo}:v1")
    return {
        "cli-target": ("cli", ["push", "from-args", "--platforms", "linux/amd64", "--template",
                               f"{host}/{repo}:ARCH", "--target", f"{cred}:v1"]),
        "cli-template": ("cli", ["push", "from-args", "--platforms", "linux/amd64", "--template",
                                 f"{cred}:ARCH", *target]),
        "cli-matrix": ("cli", ["push", "from-matrix", str(matrix), *target]),
        "cli-spec": ("cli", ["push", "from-spec", str(spec)]),
        "cli-inspect": ("cli", ["inspect", f"{cred}:amd64"]),
        "action-target": ("action", {"target": f"{cred}:v1", "sources": f"{host}/{repo}:amd64"}),
        "action-sources": ("action", {"target": f"{host}/{repo}:v1", "sources": f"linux/amd64={cred}:amd64"}),
        "action-token-as-user": ("action", {"target": f"{host}/{repo}:v1",
                                            "sources": f"{SECRET}@{host}/{repo}:amd64"}),
    }


FORMS = ["cli-target", "cli-template", "cli-matrix", "cli-spec", "cli-inspect", "action-target",
         "action-sources", "action-token-as-user"]


@pytest.mark.hostile("credentials-in-reference")
@pytest.mark.bad_input
@pytest.mark.parametrize("form", FORMS)
def test_reference_with_credentials_is_refused_without_echoing_the_secret(registry, repo_name, tmp_path, form):
    kind, args = _forms(tmp_path, registry.host, repo_name)[form]
    mark = log_mark(registry)
    run = run_cli(*args) if kind == "cli" else run_action(args)
    text = assert_refused(run, registry, mark, "credentials")
    assert SECRET not in text
    assert ("***@" + registry.host) in text
    if form != "action-token-as-user":
        assert f"ci-bot:***@{registry.host}" in text


# -- validation matches the whole string -----------------------------------------------------------

def _newline_cases(tmp_path, host: str, repo: str):
    def matrix(entry: dict) -> list[str]:
        path = tmp_path / "matrix.json"
        path.write_text(json.dumps([entry]))
        return ["push", "from-matrix", str(path), "--target", f"{host}/{repo}:v1"]

    spec = tmp_path / "spec.yaml"
    spec.write_text(f'image: {host}/{repo}:v1\nannotations:\n  "org.example.key\\n": value\n'
                    f"manifests:\n  - image: {host}/{repo}:amd64\n")
    digests = tmp_path / "digests"
    digests.mkdir()
    (digests / f"{HEX}\n").touch()
    return {
        "target-tag": ["push", "from-args", "--platforms", "linux/amd64", "--template", f"{host}/{repo}:ARCH",
                       "--target", f"{host}/{repo}:v1\n"],
        "repository-component": matrix({"image": f"{host}/{repo}\n:amd64"}),
        "digest": matrix({"image": f"{host}/{repo}:amd64", "digest": f"sha256:{HEX}\n"}),
        "platform-string": matrix({"image": f"{host}/{repo}:amd64", "platform": "linux/amd64\n"}),
        "platform-os": matrix({"image": f"{host}/{repo}:amd64", "platform": {"os": "linux\n",
                                                                            "architecture": "amd64"}}),
        "annotation-key": ["push", "from-spec", str(spec)],
        "digest-file-name": ["push", "from-digests", str(digests), "--target", f"{host}/{repo}:v1"],
    }


@pytest.mark.hostile("trailing-newline-in-input")
@pytest.mark.bad_input
@pytest.mark.parametrize("case", ["target-tag", "repository-component", "digest", "platform-string", "platform-os",
                                  "annotation-key", "digest-file-name"])
def test_a_trailing_newline_is_refused_not_matched_by_dollar(registry, repo_name, tmp_path, case):
    args = _newline_cases(tmp_path, registry.host, repo_name)[case]
    mark = log_mark(registry)
    run = run_cli(*args, "--wait-timeout", "0", timeout=60)  # look once: today's code went on to the registry
    assert_refused(run, registry, mark, "multiarch-manifest: error: ")
    assert len(run.err_lines) == 1


# -- a registry's data is a registry error, exit 1, naming the ref ----------------------------------

def _head_digest(value: str) -> Fault:
    """Answer HEAD from upstream, with Docker-Content-Digest replaced by `value`."""
    def action(ex):
        code, _reason, headers, _body = ex.fetch()
        ex.respond(code, {k: (value if k.lower() == "docker-content-digest" else v) for k, v in headers})
    return Fault("head-digest", action)


@pytest.mark.hostile("digest-header-unknown-algorithm")
def test_unknown_algorithm_in_docker_content_digest_is_exit_1_naming_the_ref(proxy, registry, repo_name):
    mm_images.push_image(registry, repo_name, "amd64")
    proxy.add_rule(method="HEAD", path=r"/manifests/v1$", fault=_head_digest("md5:0123456789abcdef"))
    run = run_cli("push", "from-args", "--platforms", "linux/amd64", "--template",
                  f"{proxy.host}/{repo_name}:ARCH", "--target", f"{proxy.host}/{repo_name}:v1")
    assert_registry_error(run, f"head manifest {proxy.host}/{repo_name}:v1", "Docker-Content-Digest", "md5")


@pytest.mark.hostile("attestation-reference-not-a-digest")
def test_attestation_pointing_at_a_non_digest_is_exit_1_naming_the_source(registry, repo_name):
    built = mm_images.push_attested_index(registry, repo_name, "build")
    doc = built["manifest"]
    doc["manifests"][1]["annotations"]["vnd.docker.reference.digest"] = "not-a-digest\n::warning::x"
    mm_images.put_raw_manifest(registry, repo_name, "evil", mm_images.canonical_json(doc), mm_images.OCI_INDEX)
    run = run_cli("push", "from-matrix", "-", "--target", f"{registry.host}/{repo_name}:v1",
                  stdin=json.dumps([f"{registry.host}/{repo_name}:evil"]))
    assert_registry_error(run, f"{registry.host}/{repo_name}:evil", "malformed", "invalid digest")
    assert "v1" not in mm_images.list_tags(registry, repo_name)


def _deep(depth: int = 5000) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.hostile("deeply-nested-manifest")
def test_deeply_nested_manifest_is_a_registry_error(registry, repo_name):
    img = mm_images.push_image(registry, repo_name, "amd64", fmt="oci")
    body = json.dumps(img["manifest"])[:-1] + ', "x": ' + _deep() + "}"
    mm_images.put_raw_manifest(registry, repo_name, "deep", body.encode(), mm_images.OCI_MANIFEST)
    run = run_cli("inspect", f"{registry.host}/{repo_name}:deep")
    assert_registry_error(run, f"{registry.host}/{repo_name}:deep", "nested too deeply")


@pytest.mark.hostile("deeply-nested-config")
def test_deeply_nested_image_config_is_a_registry_error(registry, repo_name):
    c = mm_images.client(registry)
    config = ('{"os": "linux", "architecture": "amd64", "x": ' + _deep() + "}").encode()
    cdigest = c.push_blob(repo_name, config)
    layer = c.push_blob(repo_name, b"layer")
    manifest = {"schemaVersion": 2, "mediaType": mm_images.DOCKER_MANIFEST,
                "config": {"mediaType": mm_images.FORMATS["docker"]["config"], "digest": cdigest, "size": len(config)},
                "layers": [{"mediaType": mm_images.FORMATS["docker"]["layer"], "digest": layer, "size": 5}]}
    c.push_manifest(repo_name, mm_images.canonical_json(manifest), mm_images.DOCKER_MANIFEST, "amd64")
    run = run_cli("push", "from-args", "--platforms", "linux/amd64", "--template",
                  f"{registry.host}/{repo_name}:ARCH", "--target", f"{registry.host}/{repo_name}:v1")
    assert_registry_error(run, f"{registry.host}/{repo_name}:amd64", "nested too deeply")


@pytest.mark.hostile("deeply-nested-error-body")
def test_deeply_nested_error_body_is_reported_with_the_status(proxy, registry, repo_name):
    mm_images.push_image(registry, repo_name, "amd64")
    proxy.add_rule(method="PUT", path=r"/manifests/sha256:",
                   fault=status(400, {"Content-Type": "application/json"}, ('{"errors": ' + _deep() + "}").encode()))
    run = run_cli("push", "from-args", "--platforms", "linux/amd64", "--template",
                  f"{proxy.host}/{repo_name}:ARCH", "--target", f"{proxy.host}/{repo_name}:v1")
    assert_registry_error(run, "HTTP 400", f"{proxy.host}/{repo_name}")


# -- bounded, structural input ---------------------------------------------------------------------

@pytest.mark.hostile("deeply-nested-input")
@pytest.mark.bad_input
def test_deeply_nested_matrix_input_to_the_action_is_bad_input(registry, repo_name):
    mark = log_mark(registry)
    run = run_action({"target": f"{registry.host}/{repo_name}:v1", "matrix": _deep(20000)})
    assert_refused(run, registry, mark, "nested too deeply")


@pytest.mark.hostile("digests-symlink-loop")
@pytest.mark.bad_input
def test_digests_folder_with_a_symlink_loop_is_bad_input(registry, repo_name, tmp_path):
    digests = tmp_path / "digests"
    digests.mkdir()
    (digests / HEX).touch()
    os.symlink("loop-b", digests / "loop-a")
    os.symlink("loop-a", digests / "loop-b")
    mark = log_mark(registry)
    run = run_cli("push", "from-digests", str(digests), "--target", f"{registry.host}/{repo_name}:v1")
    assert_refused(run, registry, mark, "loop-a: is a symlink loop")


@pytest.mark.hostile("too-many-sources")
@pytest.mark.bad_input
def test_more_than_1000_sources_is_bad_input(registry, repo_name, tmp_path):
    matrix = tmp_path / "matrix.json"
    matrix.write_text(json.dumps([f"{registry.host}/{repo_name}:leg{i}" for i in range(1001)]))
    mark = log_mark(registry)
    run = run_cli("push", "from-matrix", str(matrix), "--target", f"{registry.host}/{repo_name}:v1",
                  "--wait-timeout", "0", timeout=60)
    assert_refused(run, registry, mark, "1001 sources", "at most 1000")


@pytest.mark.hostile("deeply-nested-token-answer")
def test_deeply_nested_token_answer_is_a_login_error(proxy, registry, repo_name):
    realm = f'Bearer realm="http://{proxy.host}/token",service="mm-test"'
    proxy.add_rule(path=r"^/token", fault=status(200, {"Content-Type": "application/json"},
                                                 ('{"token": ' + _deep() + "}").encode()))
    proxy.add_rule(path=r"^/v2/", fault=status(401, {"WWW-Authenticate": realm, "Content-Type": "application/json"},
                                               b'{"errors": [{"code": "UNAUTHORIZED", "message": "login"}]}'))
    run = run_cli("inspect", f"{proxy.host}/{repo_name}:v1")
    assert_registry_error(run, "token service sent no token")
    assert proxy.count("GET", r"^/token") >= 1
