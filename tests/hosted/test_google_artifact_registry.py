"""Google Artifact Registry as it really answers: _json_key / oauth2accesstoken user names, tag
lists handed out page by page."""
from __future__ import annotations

import json

import pytest

import mm_hosted
import mm_images
from mm_cli import run_cli
from mm_runner import run_action

KEY = json.dumps({"type": "service_account", "project_id": "mm-test", "private_key_id": "0123abcd",
                  "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n"
                                 "-----END PRIVATE KEY-----\n",
                  "client_email": "pusher@mm-test.iam.gserviceaccount.com"}, indent=2)


@pytest.fixture(scope="module")
def gar(tmp_path_factory):
    reg = mm_hosted.token_registry_for(tmp_path_factory, "gar", "_json_key", KEY)
    yield reg
    reg.stop()


def _push(reg, repo: str, tmp_path, *args: str, stdin: str | None = None):
    matrix = tmp_path / "matrix.json"
    matrix.write_text(json.dumps([{"image": f"{reg.host}/{repo}-src:amd64"}]))
    return run_cli("push", "from-matrix", str(matrix), "--target", f"{reg.host}/{repo}:v1", "--json",
                   "--wait-timeout", "0", *args, stdin=stdin)


def test_json_key_file_is_the_password_whole(gar, repo_name, tmp_path):
    """GAR: user name _json_key, password the whole multi-line service-account key file
    (https://docs.cloud.google.com/artifact-registry/docs/docker/authentication,
    https://github.com/Dokploy/dokploy/issues/3935). --password-stdin < key.json passes it intact."""
    mm_images.push_image(gar, f"{repo_name}-src", "amd64", arch="amd64")
    run = _push(gar, repo_name, tmp_path, "--username", "_json_key", "--password-stdin", stdin=KEY + "\n")
    assert run.code == 0, run.err
    assert mm_images.manifest_exists(gar, repo_name, "v1")
    assert "PRIVATE KEY" not in run.out + run.err


def test_json_key_through_a_multi_line_action_input(gar, repo_name):
    """The same key as a multi-line secret in the action's password input."""
    img = mm_images.push_image(gar, f"{repo_name}-src", "amd64", arch="amd64")
    run = run_action({"target": f"{gar.host}/{repo_name}:v1", "sources": img["ref"],
                      "username": "_json_key", "password": KEY + "\n"})
    assert run.code == 0, run.stderr
    assert mm_images.manifest_exists(gar, repo_name, "v1")
    shown = [line for line in run.all_text.splitlines() if not line.startswith("::add-mask::")]
    assert not any("PRIVATE KEY" in line for line in shown)


@pytest.mark.parametrize("user, password, says", [
    ("_json_key", "/home/runner/key.json", "the whole service-account JSON key file"),
    ("oauth2accesstoken", "ya29.expired-token", "gcloud auth print-access-token) and expires after 1 h"),
], ids=["key-path-not-content", "expired-access-token"])
def test_refused_google_login_names_what_the_password_must_be(gar, repo_name, tmp_path, user, password, says):
    """GAR's two user names and what their password is: _json_key + the key file's content,
    oauth2accesstoken + a short-lived access token
    (https://docs.cloud.google.com/artifact-registry/docs/docker/authentication)."""
    mm_images.push_image(gar, f"{repo_name}-src", "amd64", arch="amd64")
    run = _push(gar, repo_name, tmp_path, "--username", user, "--password-stdin", stdin=password)
    assert run.code == 1, run.err
    assert "refused by its token service (HTTP 401)" in run.err and says in run.err
    assert password not in run.err


@pytest.mark.fault("tags_paged_with_cursor", "survived")
def test_floating_tags_see_every_page_of_a_cursor_paged_tag_list(registry, proxy, repo_name, hosted):
    """Tag lists come in pages with an opaque cursor in an absolute Link URL, whatever n the client asks:
    Quay's next_page (https://github.com/deitch/docker_registry2/issues/56), ECR's absolute last=
    links (https://github.com/deitch/docker_registry2/issues/34), GAR's capped lists
    (https://github.com/google/go-containerregistry/issues/1643). A newer version on the last page still
    holds the floating tags back."""
    hosted.seed(registry, repo_name)
    old = mm_images.push_image(registry, repo_name, "0.0.1", arch="amd64", salt="old")
    body, media_type, _ = mm_images.get_manifest(registry, repo_name, old["digest"])
    for tag in ["0.0.2", "0.0.3", "0.0.4", "0.0.5", "0.0.6", "0.0.7", "1.9.0"]:
        mm_images.put_raw_manifest(registry, repo_name, tag, body, media_type)
    proxy.add_rule(method="GET", path=rf"^/v2/{repo_name}/tags/list", fault=mm_hosted.tags_paged_with_cursor(page=2))
    run, _ = hosted.push(proxy.host, repo_name, "--semver", "1.2.0", target=f"{proxy.host}/{repo_name}")
    out = hosted.ok(run)
    assert {(h["tag"], h["newer"]) for h in out["held"]} == {("1", "1.9.0"), ("latest", "1.9.0")}
    assert proxy.count("GET", rf"^/v2/{repo_name}/tags/list") >= 4
    assert not mm_images.manifest_exists(registry, repo_name, "1")          # held: never written
