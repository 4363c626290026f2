"""The action's image: the Dockerfile built (buildah, no Docker engine) and the image run, once per session.

The image is built from the repository's Dockerfile as a runner builds it, only ``BASE`` pointed at a
local stand-in (``mm_image_build``: no registry outside is reachable).  It is then run
* as GitHub runs a docker action: the image's own ENTRYPOINT, the workspace mounted at
  ``/github/workspace`` as the working directory, every input of action.yml as ``INPUT_<NAME>`` (hyphens
  kept, defaults filled in, as the runner does), ``GITHUB_OUTPUT`` / ``GITHUB_STEP_SUMMARY`` as files in
  the mounted ``/github/file_commands``;
* as GitLab runs it with ``entrypoint: [""]``: ``multiarch-manifest push ... --dotenv FILE``.
Both push to the real loopback registries: chroot isolation makes no network namespace, so the container
shares the host's loopback (checked below).  What was pushed is read back with skopeo and ``mm_images``.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import time
from pathlib import Path

import pytest
import yaml

import mm_images
from mm_image_build import ROOT, Buildah, cache_dir, remove_image, standin_base
from mm_runner import log_mark, parse_github_output, writes_since

# The layers the Dockerfile adds to its base (the venv with the package and its dependencies, the entry
# point), uncompressed.  The base is the stand-in here, so it is not budgeted.  The last measurement is
# recorded in image-size.json, which docs/action.md quotes (tests/lint/test_docs.py checks the quote):
# a build that moves away from it fails until it is recorded again (MM_RECORD_IMAGE_SIZE=1) and the docs
# follow, so the size the docs quote cannot drift unseen.
ADDED_SIZE_BUDGET = 10 * 1024 * 1024
SIZE_RECORD = Path(__file__).with_name("image-size.json")
SIZE_TOLERANCE_MB = 0.3
OUTPUT_NAMES = set(yaml.safe_load((ROOT / "action.yml").read_text())["outputs"])   # every output, every run


class Image:
    def __init__(self, buildah: Buildah, base: str, tag: str, build, base_seconds: float):
        self.buildah, self.base, self.tag, self.build, self.base_seconds = buildah, base, tag, build, base_seconds
        self.container: str | None = None

    def require(self) -> None:
        if self.build.code != 0:
            pytest.fail(f"the Dockerfile did not build ({self.build.code}):\n{self.build.log_tail}")

    def working_container(self) -> str:
        self.require()
        if self.container is None:
            self.container = self.buildah("from", "--pull-never", "--name", f"mm-image-test-{os.getpid()}",
                                          self.tag).out.strip().splitlines()[-1]
        return self.container

    def entrypoint(self) -> list[str]:
        self.require()
        return self.buildah.image_config(self.tag)["Entrypoint"]

    def run(self, command: list[str], **kw):
        return self.buildah.run(self.working_container(), command, **kw)


@pytest.fixture(scope="session")
def image():
    buildah = Buildah(cache_dir() / "buildah")
    start = time.monotonic()
    base = standin_base(buildah, log=lambda message: None)
    base_seconds = time.monotonic() - start
    tag = f"localhost/multiarch-manifest:test-{os.getpid()}"
    img = Image(buildah, base, tag, buildah.build(tag, base), base_seconds)
    try:
        yield img
    finally:
        if img.container:
            buildah("rm", img.container, check=False)
        remove_image(buildah, tag)


def test_the_dockerfile_builds_and_stays_within_its_size_budget(image):
    image.require()
    log = image.build.out + image.build.err
    # the Dockerfile's own smoke check ran the installed console script, inside the build
    assert re.search(r"^multiarch-manifest \d+\.\d+\.\d+", log, re.M), image.build.log_tail
    added = image.buildah.image_size(image.tag) - image.buildah.image_size(image.base)
    print(f"\nimage: base ready in {image.base_seconds:.1f}s, Dockerfile built in {image.build.seconds:.1f}s, "
          f"{added / 1e6:.1f} MB added to the base")
    assert 0 < added < ADDED_SIZE_BUDGET, f"the Dockerfile adds {added} bytes (budget {ADDED_SIZE_BUDGET})"
    record = json.loads(SIZE_RECORD.read_text())
    measured = round(added / 1e6, 1)
    if os.environ.get("MM_RECORD_IMAGE_SIZE") == "1":
        SIZE_RECORD.write_text(json.dumps({**record, "added_mb": measured}, indent=2) + "\n")
        record["added_mb"] = measured
    assert abs(measured - record["added_mb"]) <= SIZE_TOLERANCE_MB, (
        f"the Dockerfile adds {measured} MB; {SIZE_RECORD.name} (quoted in docs/action.md) says "
        f"{record['added_mb']} MB: rerun with MM_RECORD_IMAGE_SIZE=1, then update docs/action.md")


def test_the_container_shares_the_hosts_network(image):
    """Why the loopback registries are reachable from inside: chroot isolation keeps the host's netns."""
    run = image.run(["readlink", "/proc/self/ns/net"])
    assert run.code == 0, run.log_tail
    assert run.out.strip() == os.readlink("/proc/self/ns/net")


# -- GitHub: the image's ENTRYPOINT, as the runner runs a docker action ---------------------------


def action_inputs(given: dict[str, str], token: str) -> dict[str, str]:
    """Every input of action.yml as the runner passes it: INPUT_<NAME> upper-cased, hyphens kept,
    the default for each input not given (``${{ github.token }}`` evaluated to ``token``)."""
    spec = yaml.safe_load((ROOT / "action.yml").read_text())["inputs"]
    unknown = set(given) - set(spec)
    assert not unknown, f"not inputs of action.yml: {unknown}"
    env = {}
    for name, meta in spec.items():
        value = given.get(name, str(meta.get("default", "")))
        env[f"INPUT_{name.upper()}"] = value.replace("${{ github.token }}", token)
    return env


def run_as_github(image: Image, tmp_path: Path, inputs: dict[str, str], token: str):
    """docker run --workdir /github/workspace -v workspace -v file_commands -v home -e INPUT_* ... IMAGE."""
    workspace, commands, home = tmp_path / "workspace", tmp_path / "file_commands", tmp_path / "home"
    commands.mkdir(exist_ok=True)
    home.mkdir(exist_ok=True)
    run_id = secrets.token_hex(4)
    output, summary = commands / f"set_output_{run_id}", commands / f"step_summary_{run_id}"
    output.write_text("")
    summary.write_text("")
    env = {**action_inputs(inputs, token),
           "HOME": "/github/home", "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_ACTOR": "octocat",
           "GITHUB_WORKSPACE": "/github/workspace",
           "GITHUB_OUTPUT": f"/github/file_commands/{output.name}",
           "GITHUB_STEP_SUMMARY": f"/github/file_commands/{summary.name}",
           "NO_PROXY": "*", "no_proxy": "*"}
    run = image.run(image.entrypoint(), env=env, workdir="/github/workspace",
                    volumes={str(workspace): "/github/workspace", str(commands): "/github/file_commands",
                             str(home): "/github/home"})
    return run, output.read_text(), summary.read_text()


def skopeo_raw(ref: str) -> bytes:
    proc = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
                          capture_output=True, timeout=60, env={**os.environ, "NO_PROXY": "*", "no_proxy": "*"})
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout


def test_the_entrypoint_runs_as_a_github_docker_action(image, registry, repo_name, tmp_path):
    amd = mm_images.push_image(registry, repo_name, None, arch="amd64")
    arm = mm_images.push_image(registry, repo_name, None, arch="arm64", variant="v8")
    digests = tmp_path / "workspace" / "digests"           # relative to the workspace, as documented
    digests.mkdir(parents=True)
    for d in (amd["digest"], arm["digest"]):
        (digests / d.split(":", 1)[1]).touch()
    token = "ghs_" + secrets.token_hex(12)
    target = f"{registry.host}/{repo_name}"

    run, output_text, summary = run_as_github(
        image, tmp_path, {"target": f"{target}:v1", "tags": "latest", "digests-dir": "digests",
                          "wait-timeout": "0"}, token)
    assert run.code == 0, run.log_tail
    assert run.out.splitlines()[0] == f"::add-mask::{token}"
    assert token not in (run.out.replace(f"::add-mask::{token}", "", 1) + run.err + output_text + summary)
    outputs = parse_github_output(output_text)
    assert set(outputs) == OUTPUT_NAMES, output_text
    _body, doc, digest = mm_images.stored_index(registry, repo_name, "v1")
    assert outputs["digest"] == digest
    assert outputs["ref"] == f"{target}@{digest}"
    assert outputs["tags"].split("\n") == [f"{target}:v1", f"{target}:latest"]
    assert json.loads(outputs["platforms"]) == {"linux/amd64": amd["digest"], "linux/arm64/v8": arm["digest"]}
    assert outputs["media-type"] == doc["mediaType"] == mm_images.DOCKER_LIST
    assert json.loads(outputs["manifest"]) == doc
    # what skopeo reads from the registry is the index the outputs describe, under both tags
    for tag in ("v1", "latest"):
        raw = skopeo_raw(f"{target}:{tag}")
        assert mm_images.sha256_digest(raw) == digest
    assert sorted(m["digest"] for m in json.loads(raw)["manifests"]) == sorted([amd["digest"], arm["digest"]])
    assert outputs["ref"] in summary and amd["digest"] in summary and arm["digest"] in summary

    # a hyphenated input reaches the entry point: INPUT_DRY-RUN=true pushes nothing
    mark = log_mark(registry)
    dry, dry_output, dry_summary = run_as_github(
        image, tmp_path, {"target": f"{target}:dry", "digests-dir": "digests", "dry-run": "true",
                          "wait-timeout": "0"}, token)
    assert dry.code == 0, dry.log_tail
    dry_outputs = parse_github_output(dry_output)
    assert dry_outputs["planned-digest"] == digest      # the same index, composed again
    assert dry_outputs["pushed"] == "false" and dry_outputs["digest"] == dry_outputs["ref"] == ""
    assert "dry run" in dry_summary
    assert writes_since(registry, mark, repo_name) == []
    assert mm_images.list_tags(registry, repo_name) == ["latest", "v1"]


# -- GitLab: entrypoint [""], the console script with --dotenv -------------------------------------


def test_the_console_script_runs_the_gitlab_way_with_a_dotenv_report(image, tls_registry, repo_name, tmp_path):
    reg = tls_registry
    amd = mm_images.push_image(reg, f"{repo_name}-amd64", "v1", arch="amd64")
    arm = mm_images.push_image(reg, f"{repo_name}-arm64", "v1", arch="arm64")
    project = tmp_path / "project"
    project.mkdir()
    (tmp_path / "ca").mkdir()
    ca = tmp_path / "ca" / "registry-ca.pem"
    ca.write_bytes(reg.ca_file.read_bytes())
    env = {"CI": "true", "GITLAB_CI": "true", "CI_REGISTRY": reg.host, "CI_REGISTRY_USER": reg.username,
           "CI_REGISTRY_PASSWORD": reg.password, "SSL_CERT_FILE": "/certs/registry-ca.pem",
           "NO_PROXY": "*", "no_proxy": "*"}
    run = image.run(["multiarch-manifest", "push", "from-args", "--platforms", "linux/amd64,linux/arm64",
                     "--template", f"{reg.host}/{repo_name}-ARCH:v1", "--target", f"{reg.host}/{repo_name}:v1",
                     "--tags", "latest", "--dotenv", "merge.env", "--wait-timeout", "0"],
                    env=env, workdir="/builds/group/project",
                    volumes={str(project): "/builds/group/project", str(ca.parent): "/certs"})
    assert run.code == 0, run.log_tail
    assert reg.password not in run.out + run.err
    lines = (project / "merge.env").read_text().splitlines()
    assert [line.split("=", 1)[0] for line in lines] == ["MULTIARCH_PUSHED", "MULTIARCH_DIGEST", "MULTIARCH_REF",
                                                         "MULTIARCH_TAGS", "MULTIARCH_REFS"]
    values = dict(line.split("=", 1) for line in lines)
    _body, doc, digest = mm_images.stored_index(reg, repo_name, "v1")
    assert values["MULTIARCH_DIGEST"] == digest == mm_images.stored_index(reg, repo_name, "latest")[2]
    assert values["MULTIARCH_REF"] == f"{reg.host}/{repo_name}@{digest}"
    assert values["MULTIARCH_TAGS"] == f"{reg.host}/{repo_name}:v1 {reg.host}/{repo_name}:latest"
    assert sorted(m["digest"] for m in doc["manifests"]) == sorted([amd["digest"], arm["digest"]])
