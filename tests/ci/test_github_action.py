"""The GitHub Action end to end: ``entrypoint.py`` run the way the runner runs a docker action.

Inputs arrive as ``INPUT_<NAME>`` (upper-cased, hyphens kept), outputs are read back from the
``$GITHUB_OUTPUT`` heredocs, the step summary from ``$GITHUB_STEP_SUMMARY`` and annotations
(``::error``, ``::add-mask::``) from stdout (see ``mm_runner``).  Per-arch images are seeded, and
what the action pushed is read back, with the independent ``mm_images`` client.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time

import pytest

import mm_images
from mm_cli import later
from mm_runner import ERROR_PREFIX, log_mark, parse_github_output, requests_since, run_action, writes_since
from multiarch_ci.core.errors import InputError
from multiarch_ci.frontends.github import Inputs, credentials

OUTPUT_NAMES = {"digest", "ref", "tags", "platforms", "media-type", "manifest", "held", "missing", "pushed",
                "planned-digest", "refs", "referrers"}


# -- helpers ---------------------------------------------------------------------------------------


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def summary_rows(summary: str) -> dict[str, tuple[str, int, str]]:
    """platform -> (digest, size, waited) from the summary's markdown table (header skipped)."""
    rows = {}
    for line in summary.splitlines():
        m = re.match(r"^\| (.+?) \| `(sha256:[0-9a-f]{64})` \| (\d+) \| (.*?) ?\|$", line)
        if m:
            rows[m.group(1)] = (m.group(2), int(m.group(3)), m.group(4).strip())
    return rows


def failure_summary(run) -> str:
    """The step summary of a failed run: it says what failed, in the words of the one annotation."""
    assert len(run.errors) == 1, run.out
    return f"### multiarch-manifest: failed\n\n{run.errors[0]}\n\nNothing was tagged.\n"


def assert_pushed(run, reg, repo: str, tags: list[str], images: dict[str, str], media_type: str) -> dict:
    """Every output, the stored index, the tags and the step summary agree; returns the index doc."""
    assert run.code == 0, run.out + run.err
    assert "Traceback" not in run.err
    assert run.errors == []
    assert set(run.outputs) == OUTPUT_NAMES, run.output_text
    out = run.outputs

    digest = out["digest"]
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest)
    assert out["pushed"] == "true" and out["planned-digest"] == digest
    body, doc, stored_digest = mm_images.stored_index(reg, repo, digest)
    assert stored_digest == digest == sha256(body)

    assert re.fullmatch(r"127\.0\.0\.1:\d+/[a-z0-9._/-]+@sha256:[0-9a-f]{64}", out["ref"])
    assert out["ref"] == f"{reg.host}/{repo}@{digest}"

    assert out["tags"].split("\n") == [f"{reg.host}/{repo}:{t}" for t in tags]
    for tag in tags:
        assert mm_images.stored_index(reg, repo, tag)[2] == digest, tag
    assert mm_images.list_tags(reg, repo) == sorted(tags)

    assert json.loads(out["platforms"]) == images
    assert out["media-type"] == doc["mediaType"] == media_type
    assert out["manifest"].rstrip("\n") == body.decode().rstrip("\n")
    assert json.loads(out["manifest"]) == doc

    rows = summary_rows(run.summary)
    for platform, image_digest in images.items():
        assert platform in rows, run.summary
        assert rows[platform][0] == image_digest
    sizes = {m["digest"]: m["size"] for m in doc["manifests"]}
    assert all(sizes[d] == size for d, size, _ in rows.values())
    assert len(rows) == len(doc["manifests"])      # attestations get (marked) rows too
    assert out["ref"] in run.summary
    for tag in tags:
        assert f"{reg.host}/{repo}:{tag}" in run.summary
    assert run.out_lines[-1] == out["ref"]
    return doc


def image_map(*images: dict) -> dict[str, str]:
    """platform string -> digest for mm_images.push_image() results."""
    out = {}
    for img in images:
        p = img["platform"]
        key = f"{p['os']}/{p['architecture']}" + (f"/{p['variant']}" if p.get("variant") else "")
        out[key] = img["digest"]
    return out


# -- the GITHUB_OUTPUT parser itself ---------------------------------------------------------------

def test_parse_github_output_heredocs_and_plain_lines():
    text = ("digest<<ghadelimiter_1\nsha256:abc\nghadelimiter_1\n"
            "tags<<EOF\na:1\na:2\nEOF\n"
            "empty<<D\n\nD\n"
            "plain=x=y\n")
    assert parse_github_output(text) == {"digest": "sha256:abc", "tags": "a:1\na:2", "empty": "",
                                         "plain": "x=y"}
    with pytest.raises(AssertionError, match="no closing"):
        parse_github_output("digest<<EOF\nsha256:abc\n")
    with pytest.raises(AssertionError, match="malformed"):
        parse_github_output("just words\n")


# -- every source form ---------------------------------------------------------------------------

@pytest.mark.parametrize("process", [False, True], ids=["in-process", "entrypoint-process"])
def test_sources_plain_refs_with_attested_index_and_comma_tags(registry, repo_name, process):
    """Also once as the runner starts it: `python entrypoint.py` in a process of its own."""
    amd = mm_images.push_image(registry, f"{repo_name}-amd64", "v1", arch="amd64")
    attested = mm_images.push_attested_index(registry, f"{repo_name}-arm64", "v1",
                                             platforms=(("linux", "arm64", "v8"),))
    token = "ghs_" + secrets.token_hex(12)
    run = run_action({"target": f"{registry.host}/{repo_name}:v1", "tags": "latest, edge",
                      "sources": f"{amd['ref']}\n\n{attested['ref']}\n", "token": token}, subprocess=process)
    doc = assert_pushed(run, registry, repo_name, ["v1", "latest", "edge"],
                        image_map(amd, attested["images"][0]), mm_images.OCI_INDEX)
    # the attestation is in the index, but not in the platforms output
    att_digest = attested["attestations"][0]["digest"]
    assert att_digest in [m["digest"] for m in doc["manifests"]]
    assert att_digest not in run.outputs["platforms"]
    assert summary_rows(run.summary)["unknown/unknown (attestation)"][0] == att_digest
    # the token (the action's default github.token) is masked first and shown nowhere else
    assert run.out_lines[0] == f"::add-mask::{token}"
    assert token not in run.all_text.replace(f"::add-mask::{token}", "", 1)


def test_sources_with_platform_prefixes_and_newline_tags(registry, repo_name):
    amd = mm_images.push_image(registry, f"{repo_name}-amd64", "v1", arch="amd64")
    arm = mm_images.push_image(registry, f"{repo_name}-arm64", "v1", arch="arm64", variant="v8")
    run = run_action({"target": f"{registry.host}/{repo_name}:v2", "tags": "latest\nstable\n",
                      "sources": f"linux/amd64={amd['ref']}\n  linux/arm64/v8={arm['ref']}  \n"})
    assert_pushed(run, registry, repo_name, ["v2", "latest", "stable"], image_map(amd, arm),
                  mm_images.DOCKER_LIST)


def test_digests_dir_of_images_pushed_by_digest(registry, repo_name, tmp_path):
    amd = mm_images.push_image(registry, repo_name, None, arch="amd64")
    attested = mm_images.push_attested_index(registry, repo_name, None,
                                             platforms=(("linux", "arm64", "v8"),))
    digests = tmp_path / "digests"
    digests.mkdir()
    for d in (amd["digest"], attested["digest"]):
        (digests / d.split(":", 1)[1]).touch()
    run = run_action({"target": f"{registry.host}/{repo_name}:v1", "digests-dir": str(digests)})
    assert_pushed(run, registry, repo_name, ["v1"], image_map(amd, attested["images"][0]),
                  mm_images.OCI_INDEX)


@pytest.mark.parametrize("kind", ["json", "yaml"])
def test_matrix_text(registry, repo_name, kind):
    amd = mm_images.push_image(registry, f"{repo_name}-amd64", "v1", arch="amd64")
    s390x = mm_images.push_image(registry, f"{repo_name}-s390x", "v1", arch="s390x")
    if kind == "json":
        text = json.dumps([{"image": amd["ref"], "platform": "linux/amd64"}, {"image": s390x["ref"]}])
    else:
        text = (f"amd64:\n  image: {amd['ref']}\n  platform: linux/amd64\n"
                f"s390x:\n  image: {s390x['ref']}\n  digest: {s390x['digest']}\n")
    run = run_action({"target": f"{registry.host}/{repo_name}:v1", "matrix": text})
    assert_pushed(run, registry, repo_name, ["v1"], image_map(amd, s390x), mm_images.DOCKER_LIST)


def test_spec_path_gives_the_target_and_tags(registry, repo_name, tmp_path):
    amd = mm_images.push_image(registry, f"{repo_name}-amd64", "v1", arch="amd64")
    arm = mm_images.push_image(registry, f"{repo_name}-arm", "v1", arch="arm", variant="v7")
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"image: {registry.host}/{repo_name}:1.0\n"
                    "tags: [latest]\n"
                    "manifests:\n"
                    f"  - image: {amd['ref']}\n"
                    "    platform: {os: linux, architecture: amd64}\n"
                    f"  - image: {arm['ref']}\n"
                    "    platform: {os: linux, architecture: arm, variant: v7}\n")
    run = run_action({"spec": str(spec), "tags": "extra"})
    assert_pushed(run, registry, repo_name, ["1.0", "latest", "extra"], image_map(amd, arm),
                  mm_images.DOCKER_LIST)


def test_platforms_and_template(registry, repo_name):
    amd = mm_images.push_image(registry, f"{repo_name}-amd64", "v1", arch="amd64")
    arm = mm_images.push_image(registry, f"{repo_name}-arm64v8", "v1", arch="arm64", variant="v8")
    run = run_action({"target": f"{registry.host}/{repo_name}:v1",
                      "platforms": "linux/amd64, linux/arm64/v8",
                      "template": f"{registry.host}/{repo_name}-ARCHVARIANT:v1"})
    assert_pushed(run, registry, repo_name, ["v1"], image_map(amd, arm), mm_images.DOCKER_LIST)


# -- format, annotations, dry run, waiting --------------------------------------------------------

@pytest.mark.parametrize("fmt, media_type", [("docker", mm_images.DOCKER_LIST), ("oci", mm_images.OCI_INDEX),
                                             ("auto", mm_images.DOCKER_LIST)])
def test_format(registry, repo_name, fmt, media_type):
    amd = mm_images.push_image(registry, f"{repo_name}-amd64", "v1", arch="amd64")
    arm = mm_images.push_image(registry, f"{repo_name}-arm64", "v1", arch="arm64")
    run = run_action({"target": f"{registry.host}/{repo_name}:v1", "format": fmt,
                      "sources": f"{amd['ref']}\n{arm['ref']}"})
    assert_pushed(run, registry, repo_name, ["v1"], image_map(amd, arm), media_type)
    kind = "OCI image index" if media_type == mm_images.OCI_INDEX else "Docker manifest list"
    assert kind in run.summary


def test_annotations_force_an_oci_index(registry, repo_name):
    amd = mm_images.push_image(registry, f"{repo_name}-amd64", "v1", arch="amd64")
    arm = mm_images.push_image(registry, f"{repo_name}-arm64", "v1", arch="arm64")
    run = run_action({"target": f"{registry.host}/{repo_name}:v1",
                      "sources": f"{amd['ref']}\n{arm['ref']}",
                      "annotations": "org.opencontainers.image.source=https://github.com/o/app\n"
                                     "org.opencontainers.image.description=a=b c\n"})
    doc = assert_pushed(run, registry, repo_name, ["v1"], image_map(amd, arm), mm_images.OCI_INDEX)
    assert doc["annotations"] == {"org.opencontainers.image.source": "https://github.com/o/app",
                                  "org.opencontainers.image.description": "a=b c"}


def test_dry_run_outputs_name_nothing_that_does_not_exist(registry, repo_name):
    """A deploy job reading digest/ref/tags after a dry run must find them empty, not a ghost digest."""
    amd = mm_images.push_image(registry, f"{repo_name}-amd64", "v1", arch="amd64")
    arm = mm_images.push_image(registry, f"{repo_name}-arm64", "v1", arch="arm64")
    mark = log_mark(registry)
    run = run_action({"target": f"{registry.host}/{repo_name}:v1", "tags": "latest", "dry-run": "true",
                      "sources": f"{amd['ref']}\n{arm['ref']}"})
    assert run.code == 0, run.out + run.err
    assert set(run.outputs) == OUTPUT_NAMES
    out = run.outputs
    assert out["pushed"] == "false"
    assert out["digest"] == out["ref"] == out["tags"] == ""
    manifest = out["manifest"]
    planned = out["planned-digest"]
    assert planned in (sha256(manifest.encode()), sha256(manifest.encode() + b"\n"))
    assert json.loads(out["platforms"]) == image_map(amd, arm)
    assert out["media-type"] == json.loads(manifest)["mediaType"] == mm_images.DOCKER_LIST
    assert "dry run" in run.summary and set(summary_rows(run.summary)) == {"linux/amd64", "linux/arm64"}
    # the log says so and shows the index JSON
    assert f"dry run: nothing pushed (would have pushed {registry.host}/{repo_name}@{planned})" in run.out_lines
    assert manifest.rstrip("\n") in run.out
    # nothing was written: no index, no children, no tags in the target repository
    assert writes_since(registry, mark, repo_name) == []
    assert not mm_images.manifest_exists(registry, repo_name, planned)
    assert mm_images.list_tags(registry, repo_name) == []
    # the real push stores exactly what the dry run planned, and says it pushed
    real = run_action({"target": f"{registry.host}/{repo_name}:v1", "tags": "latest",
                       "sources": f"{amd['ref']}\n{arm['ref']}"})
    assert real.outputs["pushed"] == "true"
    assert real.outputs["digest"] == real.outputs["planned-digest"] == planned


def test_wait_timeout_waits_for_a_late_source_and_the_summary_shows_it(registry, repo_name):
    amd = mm_images.push_image(registry, f"{repo_name}-amd64", "v1", arch="amd64")
    late_ref = f"{registry.host}/{repo_name}-arm64:v1"
    pushed: dict = {}
    thread = later(2.0, lambda: pushed.update(mm_images.push_image(registry, f"{repo_name}-arm64", "v1",
                                                                    arch="arm64")))
    started = time.monotonic()
    run = run_action({"target": f"{registry.host}/{repo_name}:v1", "wait-timeout": "60",
                      "sources": f"{amd['ref']}\nlinux/arm64={late_ref}"})
    thread.join()
    assert 2.0 <= time.monotonic() - started < 30
    assert_pushed(run, registry, repo_name, ["v1"], image_map(amd, pushed), mm_images.DOCKER_LIST)
    rows = summary_rows(run.summary)
    assert rows["linux/amd64"][2] == "0 s"
    waited = re.fullmatch(r"(\d+) s", rows["linux/arm64"][2])
    assert waited and int(waited.group(1)) >= 1, rows
    assert "(not found" in run.err


def test_semver_input_derives_tags(registry, repo_name):
    amd = mm_images.push_image(registry, f"{repo_name}-amd64", "v1", arch="amd64")
    arm = mm_images.push_image(registry, f"{repo_name}-arm64", "v1", arch="arm64")
    run = run_action({"target": f"{registry.host}/{repo_name}:sha-abc123", "semver": "1.4.2",
                      "sources": f"{amd['ref']}\n{arm['ref']}"})
    assert run.code == 0, run.out + run.err
    tags = run.outputs["tags"].split("\n")
    # the version itself and at least one tag derived from it (e.g. 1.4 / 1), besides the target's tag
    assert f"{registry.host}/{repo_name}:sha-abc123" in tags and f"{registry.host}/{repo_name}:1.4.2" in tags
    assert len(tags) >= 3, tags
    assert mm_images.list_tags(registry, repo_name) == sorted(t.rsplit(":", 1)[1] for t in tags)


# -- bad input: exit 2, one annotation, nothing sent -----------------------------------------------

@pytest.fixture(scope="module")
def source_image(registry):
    return mm_images.push_image(registry, "t/github-action-bad-input-source", "v1", arch="amd64")


def _bad_inputs(host: str, ref: str) -> dict[str, tuple[dict, str]]:
    target = f"{host}/t/github-action-bad-input:v1"
    return {
        "no-source-input": ({"target": target}, "exactly one source input"),
        "two-source-inputs": ({"target": target, "sources": ref, "matrix": json.dumps([{"image": ref}])},
                              "exactly one source input"),
        "platforms-without-template": ({"target": target, "platforms": "linux/amd64"}, "source input"),
        "platforms-with-sources": ({"target": target, "platforms": "linux/amd64", "sources": ref},
                                   "platforms"),
        "template-without-platforms": ({"target": target, "template": f"{host}/t/app-ARCH:v1"}, "platforms"),
        "username-without-password": ({"target": target, "sources": ref, "username": "u"}, "password"),
        "password-without-username": ({"target": target, "sources": ref, "password": "p4ssw0rd"},
                                      "username"),
        "wait-timeout-abc": ({"target": target, "sources": ref, "wait-timeout": "abc"}, "wait-timeout"),
        "wait-timeout-negative": ({"target": target, "sources": ref, "wait-timeout": "-1"}, "wait-timeout"),
        "insecure-yes": ({"target": target, "sources": ref, "insecure": "yes"}, "insecure"),
        "dry-run-maybe": ({"target": target, "sources": ref, "dry-run": "maybe"}, "dry-run"),
        "target-upper-case": ({"target": f"{host}/T/App:v1", "sources": ref}, "target"),
        "target-without-tag-and-no-tags": ({"target": f"{host}/t/github-action-bad-input", "sources": ref},
                                           "no tag"),
        "bad-tag": ({"target": target, "sources": ref, "tags": "not a tag"}, "tag"),
        "bad-annotation": ({"target": target, "sources": ref, "annotations": "no-equals-sign"}, "annotation"),
        "annotations-with-format-docker": ({"target": target, "sources": ref, "format": "docker",
                                            "annotations": "a=b"}, "annotations"),
        "format-xml": ({"target": target, "sources": ref, "format": "xml"}, "format"),
        "semver-not-a-version": ({"target": target, "sources": ref, "semver": "not-a-version"}, "semver"),
        "bad-source-ref": ({"target": target, "sources": "Not A Ref"}, "Not A Ref"),
        "bad-matrix": ({"target": target, "matrix": "[{\"image\": 1}]"}, "image"),
        "spec-missing": ({"spec": "/nonexistent/spec.yaml"}, "/nonexistent/spec.yaml"),
    }


BAD_INPUT_IDS = list(_bad_inputs("h:1", "r").keys())


@pytest.mark.parametrize("case", BAD_INPUT_IDS)
def test_bad_input_exits_2_with_one_annotation_and_sends_nothing(registry, source_image, case):
    inputs, fragment = _bad_inputs(registry.host, source_image["ref"])[case]
    mark = log_mark(registry)
    run = run_action(inputs)
    assert run.code == 2, run.out + run.err
    error_lines = [line for line in run.out_lines if line.startswith("::error")]
    assert len(error_lines) == 1 and error_lines[0].startswith(ERROR_PREFIX), run.out
    assert fragment.lower() in run.errors[0].lower(), run.errors
    others = [line for line in run.out_lines if not line.startswith(("::error", "::add-mask::"))]
    assert others == [], run.out
    assert "Traceback" not in run.out + run.err
    assert run.output_text == "" and run.summary == failure_summary(run)
    # an input error is found before any request: the registry saw nothing (no ping, no source, no target)
    assert requests_since(registry, mark, "t/github-action-bad-input") == []
    assert requests_since(registry, mark, "t/github-action-bad-input-source") == []


def test_missing_source_is_a_runtime_failure_naming_the_ref(registry, repo_name):
    amd = mm_images.push_image(registry, f"{repo_name}-amd64", "v1", arch="amd64")
    ghost = f"{registry.host}/{repo_name}-riscv64:v1"
    mark = log_mark(registry)
    run = run_action({"target": f"{registry.host}/{repo_name}:v1", "wait-timeout": "0",
                      "sources": f"{amd['ref']}\n{ghost}"})
    assert run.code == 1, run.out + run.err
    assert len(run.errors) == 1 and ghost in run.errors[0], run.out
    assert "not found" in run.errors[0]
    assert "Traceback" not in run.out + run.err
    assert run.output_text == "" and run.summary == failure_summary(run)
    assert writes_since(registry, mark, repo_name) == [] and mm_images.list_tags(registry, repo_name) == []


# -- secrets ---------------------------------------------------------------------------------------

def _tls_env(reg, debug: bool) -> dict:
    env = {"SSL_CERT_FILE": str(reg.ca_file)}
    if debug:
        env["RUNNER_DEBUG"] = "1"
    return env


def _assert_secret_hidden(run, username: str, password: str) -> None:
    assert run.out_lines[0] == f"::add-mask::{password}", run.out
    rest = run.all_text.replace(f"::add-mask::{password}", "", 1)
    assert password not in rest
    basic = base64.b64encode(f"{username}:{password}".encode()).decode()
    assert basic not in run.all_text


@pytest.mark.parametrize("debug", [False, True], ids=["quiet", "runner-debug"])
def test_password_is_masked_first_and_never_shown(tls_registry, repo_name, debug):
    reg = tls_registry
    amd = mm_images.push_image(reg, f"{repo_name}-amd64", "v1", arch="amd64")
    arm = mm_images.push_image(reg, f"{repo_name}-arm64", "v1", arch="arm64")
    run = run_action({"target": f"{reg.host}/{repo_name}:v1", "sources": f"{amd['ref']}\n{arm['ref']}",
                      "username": reg.username, "password": reg.password}, env=_tls_env(reg, debug))
    assert_pushed(run, reg, repo_name, ["v1"], image_map(amd, arm), mm_images.DOCKER_LIST)
    _assert_secret_hidden(run, reg.username, reg.password)
    if debug:
        assert "debug: " in run.err           # RUNNER_DEBUG=1 did turn request logging on


@pytest.mark.parametrize("insecure", ["true", "false"])
def test_insecure_input_against_an_untrusted_certificate(tls_registry, repo_name, insecure):
    reg = tls_registry
    amd = mm_images.push_image(reg, f"{repo_name}-amd64", "v1", arch="amd64")
    run = run_action({"target": f"{reg.host}/{repo_name}:v1", "sources": amd["ref"], "insecure": insecure,
                      "wait-timeout": "0", "username": reg.username, "password": reg.password})
    if insecure == "true":
        assert_pushed(run, reg, repo_name, ["v1"], image_map(amd), mm_images.DOCKER_LIST)
    else:
        assert run.code == 1, run.out + run.err
        assert len(run.errors) == 1 and "TLS" in run.errors[0] and reg.host in run.errors[0], run.out
        assert mm_images.list_tags(reg, repo_name) == []
    _assert_secret_hidden(run, reg.username, reg.password)


@pytest.mark.parametrize("debug", [False, True], ids=["quiet", "runner-debug"])
def test_wrong_password_fails_and_is_never_shown(tls_registry, repo_name, debug):
    reg = tls_registry
    amd = mm_images.push_image(reg, f"{repo_name}-amd64", "v1", arch="amd64")
    wrong = "wrong-" + secrets.token_urlsafe(12)
    mark = log_mark(reg)
    run = run_action({"target": f"{reg.host}/{repo_name}:v1", "sources": amd["ref"], "wait-timeout": "0",
                      "username": reg.username, "password": wrong}, env=_tls_env(reg, debug))
    assert run.code == 1, run.out + run.err
    assert len(run.errors) == 1 and "401" in run.errors[0], run.out
    _assert_secret_hidden(run, reg.username, wrong)
    assert reg.password not in run.all_text
    assert writes_since(reg, mark, repo_name) == []


# -- credentials(), unit ---------------------------------------------------------------------------

def test_credentials_token_and_actor_give_a_ghcr_fallback():
    explicit, fallback = credentials(Inputs({"INPUT_TOKEN": "ghs_tok", "GITHUB_ACTOR": "octocat"}))
    assert explicit is None
    assert set(fallback) == {"ghcr.io"}
    cred = fallback["ghcr.io"]
    assert (cred.username, cred.password) == ("octocat", "ghs_tok")
    assert "ghs_tok" not in repr(cred)


def test_credentials_token_without_actor_gives_nothing():
    assert credentials(Inputs({"INPUT_TOKEN": "ghs_tok"})) == (None, {})
    assert credentials(Inputs({})) == (None, {})


def test_credentials_username_and_password_are_explicit():
    explicit, fallback = credentials(Inputs({"INPUT_USERNAME": " me ", "INPUT_PASSWORD": "s3cret\n",
                                             "INPUT_TOKEN": "ghs_tok", "GITHUB_ACTOR": "octocat"}))
    assert (explicit.username, explicit.password) == ("me", "s3cret")
    assert fallback["ghcr.io"].password == "ghs_tok"


@pytest.mark.parametrize("env", [{"INPUT_USERNAME": "me"}, {"INPUT_PASSWORD": "s3cret"},
                                 {"INPUT_USERNAME": "me", "INPUT_PASSWORD": "   "}],
                         ids=["username-only", "password-only", "blank-password"])
def test_credentials_need_both_username_and_password(env):
    with pytest.raises(InputError) as e:
        credentials(Inputs(env))
    assert e.value.exit_code == 2
    assert "s3cret" not in str(e.value)


def test_action_yml_declares_every_output_the_action_writes(registry, source_image):
    from pathlib import Path

    import yaml
    declared = yaml.safe_load((Path(__file__).resolve().parents[2] / "action.yml").read_text())["outputs"]
    run = run_action({"target": f"{registry.host}/t/outputs-declared:v1", "sources": source_image["ref"],
                      "dry-run": "true"})
    assert run.code == 0, run.out + run.err
    assert set(run.outputs) == set(declared) == OUTPUT_NAMES
