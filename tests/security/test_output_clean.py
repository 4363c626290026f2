"""Output stays clean: text from outside (registry messages and codes, manifest and config fields,
annotations, file names, input values) is shown, never obeyed.

A line is "injected" when the GitHub runner would read it as a workflow command that we did not
write (it trims leading whitespace, then looks for ``::``; the older ``##[`` form anywhere in a
line), or when it carries a terminal escape.  Registries are real (loopback); hostile answers come
from the fault proxy or are stored in the registry itself with raw PUTs.
"""
from __future__ import annotations

import json
import os
import re

import pytest

import mm_images
from mm_cli import run_cli
from mm_faults import FaultProxy, status
from mm_runner import ERROR_PREFIX, log_mark, parse_github_output, run_action, writes_since
from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import MultiarchError
from multiarch_ci.core.model import Descriptor, ImageIndex, MediaType
from multiarch_ci.core.platform import Platform
from multiarch_ci.core.reference import ImageRef
from multiarch_ci.flow.publish import Result, manifest_rows
from multiarch_ci.frontends import github, gitlab
from multiarch_ci.frontends.output import inspect_table

OURS = (ERROR_PREFIX, "::add-mask::")
HOSTILE = ("pwned\n::add-mask::x\r\n  ::error::owned\x1b[31m red\x1b]0;title\x07 ##[add-mask]y "
           "\u202egnp.exe\u2028::warning::z")


def injected(*texts: str) -> list[str]:
    """Lines the runner would obey as commands we did not write, or that hold a terminal escape."""
    bad = []
    for text in texts:
        for line in re.split(r"\r\n|\r|\n|\u2028|\u2029|\x85", text):
            stripped = line.lstrip()
            if (stripped.startswith("::") and not stripped.startswith(OURS)) or "##[" in line \
                    or re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", line):
                bad.append(line)
    return bad


@pytest.fixture
def proxy(registry):
    with FaultProxy(registry, timeout=3.0) as p:
        yield p


def _error_body(code: str = "MANIFEST_INVALID", message: str = HOSTILE) -> bytes:
    return json.dumps({"errors": [{"code": code, "message": message, "detail": message}]}).encode()


def _seed(reg, repo: str) -> tuple[dict, dict]:
    amd = mm_images.push_image(reg, repo, "amd64", arch="amd64")
    arm = mm_images.push_image(reg, repo, "arm64", arch="arm64", variant="v8")
    return amd, arm


# -- registry error messages and codes --------------------------------------------------------------

@pytest.mark.hostile("error-message-workflow-commands")
def test_registry_error_message_with_commands_and_escapes_is_shown_not_obeyed(proxy, registry, repo_name):
    _seed(registry, repo_name)
    proxy.add_rule(method="PUT", path=r"/manifests/sha256:",
                   fault=status(400, {"Content-Type": "application/json"}, _error_body("X\n::error::c0de")))
    run = run_cli("push", "from-args", "--platforms", "linux/amd64,linux/arm64",
                  "--template", f"{proxy.host}/{repo_name}:ARCH", "--target", f"{proxy.host}/{repo_name}:v1")
    assert run.code == 1, run.err
    assert injected(run.out, run.err) == []
    line = run.err_lines[-1]                                 # one line, whatever the registry said
    assert line.startswith("multiarch-manifest: error: ")
    assert "HTTP 400" in line and f"{proxy.host}/{repo_name}" in line
    assert "\\n::add-mask::x" in line and "\\u001b[31m" in line  # shown, escaped
    assert mm_images.list_tags(registry, repo_name) == ["amd64", "arm64"]


@pytest.mark.hostile("error-code-in-progress-line")
def test_registry_error_code_in_a_wait_progress_line_is_escaped(proxy, registry, repo_name):
    _seed(registry, repo_name)
    proxy.add_rule(method="GET", path=r"/manifests/amd64$", on_attempts={1},
                   fault=status(404, {"Content-Type": "application/json"},
                                _error_body("MANIFEST_UNKNOWN\n::warning::pwned\x1b[2J")))
    run = run_cli("push", "from-args", "--platforms", "linux/amd64,linux/arm64",
                  "--template", f"{proxy.host}/{repo_name}:ARCH", "--target", f"{proxy.host}/{repo_name}:v1",
                  "--wait-timeout", "30")
    assert run.code == 0, run.err
    assert "MANIFEST_UNKNOWN\\n::warning::pwned\\u001b[2J" in run.err   # the progress line, escaped
    assert injected(run.out, run.err) == []


@pytest.mark.hostile("error-message-in-action-annotation")
def test_action_error_annotation_holds_no_escape_and_no_second_command(proxy, registry, repo_name):
    _seed(registry, repo_name)
    proxy.add_rule(method="PUT", path=r"/manifests/sha256:",
                   fault=status(400, {"Content-Type": "application/json"}, _error_body()))
    run = run_action({"target": f"{proxy.host}/{repo_name}:v1", "template": f"{proxy.host}/{repo_name}:ARCH",
                      "platforms": "linux/amd64,linux/arm64"})
    assert run.code == 1
    assert injected(run.out, run.err) == []
    [message] = run.errors
    assert "HTTP 400" in message and "pwned" in message
    assert run.output_text == ""
    # the failure is in the step summary too (issue 11), escaped like every other way out
    assert run.summary.startswith("### multiarch-manifest: failed") and injected(run.summary) == []


# -- manifest and config fields ----------------------------------------------------------------------

def push_with_config(reg, repo: str, tag: str, config: dict, fmt: str = "docker") -> dict:
    """An image whose config blob is exactly `config` (one real layer)."""
    c, types = mm_images.client(reg), mm_images.FORMATS[fmt]
    layer = c.push_blob(repo, f"{repo} {tag} layer".encode())
    body = mm_images.canonical_json(config)
    manifest = {"schemaVersion": 2, "mediaType": types["manifest"],
                "config": {"mediaType": types["config"], "digest": c.push_blob(repo, body), "size": len(body)},
                "layers": [{"mediaType": types["layer"], "digest": layer, "size": len(f"{repo} {tag} layer")}]}
    raw = mm_images.canonical_json(manifest)
    return {"digest": c.push_manifest(repo, raw, types["manifest"], tag), "size": len(raw)}


@pytest.mark.hostile("config-platform-trailing-newline")
def test_config_platform_with_a_newline_is_refused_by_the_action_and_nothing_is_pushed(registry, repo_name):
    mm_images.push_image(registry, repo_name, "amd64", arch="amd64")
    push_with_config(registry, repo_name, "arm64", {"os": "linux", "architecture": "arm64\n",
                                                     "rootfs": {"type": "layers", "diff_ids": []}})
    mark = log_mark(registry)
    run = run_action({"target": f"{registry.host}/{repo_name}:v1",
                      "sources": f"{registry.host}/{repo_name}:amd64\n{registry.host}/{repo_name}:arm64"})
    assert run.code == 1, run.all_text
    [message] = run.errors
    assert "bad architecture 'arm64\\n'" in message and f"{repo_name}:arm64" in message
    assert injected(run.out, run.err) == []
    assert writes_since(registry, mark, repo_name) == []
    assert run.output_text == ""
    # the failure is in the step summary too (issue 11), escaped like every other way out
    assert run.summary.startswith("### multiarch-manifest: failed") and injected(run.summary) == []


@pytest.mark.hostile("config-platform-workflow-command")
def test_config_platform_holding_a_command_is_registry_data_exit_1(registry, repo_name):
    push_with_config(registry, repo_name, "amd64", {"os": "linux\n::warning::pwned", "architecture": "amd64",
                                                     "rootfs": {"type": "layers", "diff_ids": []}})
    mark = log_mark(registry)
    run = run_cli("push", "from-args", "--platforms", "linux/amd64", "--template",
                  f"{registry.host}/{repo_name}:ARCH", "--target", f"{registry.host}/{repo_name}:v1")
    assert run.code == 1, run.err
    assert "image config" in run.err and injected(run.out, run.err) == []
    assert writes_since(registry, mark, repo_name) == []


@pytest.mark.hostile("descriptor-media-type-injection")
def test_inspect_of_an_index_whose_entry_media_type_holds_a_command_is_a_registry_error(registry, repo_name):
    amd = mm_images.push_image(registry, repo_name, "amd64", fmt="oci")
    index = {"schemaVersion": 2, "mediaType": mm_images.OCI_INDEX, "manifests": [
        {"mediaType": mm_images.OCI_MANIFEST + "|x\n::warning::pwned", "digest": amd["digest"], "size": amd["size"],
         "platform": {"os": "linux", "architecture": "amd64"}}]}
    mm_images.put_raw_manifest(registry, repo_name, "evil", mm_images.canonical_json(index), mm_images.OCI_INDEX)
    run = run_cli("inspect", f"{registry.host}/{repo_name}:evil")
    assert run.code == 1, run.out + run.err
    assert "malformed" in run.err and f"{repo_name}:evil" in run.err
    assert injected(run.out, run.err) == []


@pytest.mark.hostile("raw-manifest-workflow-command")
def test_inspect_raw_prints_exact_bytes_only_when_they_hold_no_command(registry, repo_name):
    amd = mm_images.push_image(registry, repo_name, "amd64", fmt="oci")
    index = {"schemaVersion": 2, "mediaType": mm_images.OCI_INDEX, "manifests": [
        {"mediaType": mm_images.OCI_MANIFEST, "digest": amd["digest"], "size": amd["size"],
         "platform": {"os": "linux", "architecture": "amd64"}}],
        "annotations": {"org.opencontainers.image.description": "##[add-mask]x \u009b31m"}}
    body = json.dumps(index, indent=2, ensure_ascii=False).encode()
    mm_images.put_raw_manifest(registry, repo_name, "evil", body, mm_images.OCI_INDEX)
    run = run_cli("inspect", "--raw", f"{registry.host}/{repo_name}:evil")
    assert run.code == 1 and run.out == ""
    assert "not printed raw" in run.err and injected(run.out, run.err) == []
    clean = mm_images.put_raw_manifest(registry, repo_name, "fine", json.dumps(index | {"annotations": {}},
                                       indent="\t").encode(), mm_images.OCI_INDEX)
    assert clean.status_code == 201
    run = run_cli("inspect", "--raw", f"{registry.host}/{repo_name}:fine")
    assert run.code == 0 and json.loads(run.out)["manifests"][0]["digest"] == amd["digest"]


# -- tables, outputs, dotenv (pure: values built past validation, as a hole would) ------------------

def _result(platform: Platform, tags=("v1",), media_type: str = MediaType.OCI_MANIFEST) -> Result:
    d = Descriptor(media_type, Digest.of(b"x"), 10, platform)
    index = ImageIndex(MediaType.OCI_INDEX, (d,))
    body = index.to_bytes()
    return Result(ImageRef("127.0.0.1:5000", "t/app"), Digest.of(body), index, body, tuple(tags), True)


@pytest.mark.hostile("table-cell-pipe-and-newline")
def test_tables_escape_pipe_and_newline_in_every_cell():
    result = _result(Platform("linux", "amd64|x\n::warning::pwned"), media_type="m|\nedia")
    table = inspect_table(manifest_rows(result.index))
    assert len(table.splitlines()) == 2 and injected(table) == []
    assert "amd64\\|x\\n::warning::pwned" in table and "m\\|\\nedia" in table
    summary = github.summary_markdown(result)
    rows = [line for line in summary.splitlines() if line.startswith("| linux")]
    assert len(rows) == 1 and rows[0].count(" | ") == 3 and injected(summary) == []


@pytest.mark.hostile("github-output-heredoc-delimiter")
def test_github_output_values_cannot_add_an_output(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.write_text("")
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    fake = "line one\nghadelimiter_00000000-0000-0000-0000-000000000000\nref=evil\nmanifest<<EOF\nEOF"
    github.set_output("manifest", fake)
    assert parse_github_output(out.read_text()) == {"manifest": fake}
    for name, value in (("ref", "a\nref=evil"), ("tags", "a\rref=evil"), ("manifest", "x\x1b[2J")):
        with pytest.raises(MultiarchError):
            github.set_output(name, value)
    assert parse_github_output(out.read_text()) == {"manifest": fake}


@pytest.mark.hostile("dotenv-value-injection")
@pytest.mark.parametrize("tag", ["v1\nMULTIARCH_EVIL=1", 'v1"\nMULTIARCH_EVIL=1', "v1 # $(id)"])
def test_dotenv_values_cannot_add_a_variable(tmp_path, tag):
    path = tmp_path / "merge.env"
    with pytest.raises(MultiarchError):
        gitlab.write_dotenv(str(path), _result(Platform("linux", "amd64"), tags=("v1", tag)))
    assert not path.exists() and os.listdir(tmp_path) == []
    gitlab.write_dotenv(str(path), _result(Platform("linux", "amd64")))
    assert [line.split("=")[0] for line in path.read_text().splitlines()] == [
        "MULTIARCH_PUSHED", "MULTIARCH_DIGEST", "MULTIARCH_REF", "MULTIARCH_TAGS", "MULTIARCH_REFS"]
