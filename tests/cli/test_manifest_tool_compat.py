"""What manifest-tool users wrote, pushed through our CLI against a real registry and read back by skopeo.

manifest-tool's release specs (tests/data/manifest-tool, origin in its README) with the image names
rewritten to the loopback registry; images built by buildah where the point is interop; manifest-tool's
flag spellings; `features` versus `osfeatures`; --ignore-missing / --require (CLI and action).
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

import mm_clients
import mm_images
from mm_cli import one_error, run_cli, succeeded
from mm_images import DOCKER_LIST, OCI_INDEX, stored_index
from mm_runner import run_action

DATA = Path(__file__).resolve().parents[1] / "data" / "manifest-tool"
VERSION = "v2.1.7"
WIN = {"win2019": "10.0.17763.6054", "win2016": "10.0.14393.7159"}


def release_spec(reg, name: str, repo: str, tmp_path: Path) -> tuple[Path, dict]:
    """What manifest-tool's release job does (VERS -> version), plus the image names moved to `reg`."""
    text = (DATA / name).read_text().replace("VERS", VERSION).replace("mplatform/manifest-tool",
                                                                      f"{reg.host}/{repo}")
    path = tmp_path / name
    path.write_text(text)
    return path, yaml.safe_load(text)


def seed(reg, repo: str, doc: dict) -> list[dict]:
    """Each image the spec names, with the platform its entry declares (Windows: os.version per tag)."""
    images = []
    for entry in doc["manifests"]:
        tag = entry["image"].rsplit(":", 1)[1]
        p = {k: str(v) for k, v in entry["platform"].items()}   # safe_load reads `architecture: 386` as a number
        os_version = next((v for k, v in WIN.items() if tag.startswith(k)), None)
        variant = p.get("variant") or ("v8" if p["architecture"] == "arm64" else None)  # as buildx writes it
        images.append(mm_images.push_image(reg, repo, tag, os=p["os"], arch=p["architecture"], variant=variant,
                                           os_version=os_version))
    return images


def platform_text(p: dict) -> str:
    head = f"{p['os']}({p['os.version']})" if p.get("os.version") else p["os"]
    return "/".join([head, p["architecture"]] + ([p["variant"]] if p.get("variant") else []))


@pytest.mark.parametrize("name, tags", [("pushml.yaml", [VERSION, "latest"]), ("pushml-pre.yaml", [VERSION])],
                         ids=["release", "prerelease"])
def test_manifest_tool_release_spec_pushes_and_skopeo_picks_each_platform(registry, repo_name, tmp_path,
                                                                          name, tags):
    spec, doc = release_spec(registry, name, repo_name, tmp_path)
    images = seed(registry, repo_name, doc)
    run = run_cli("push", "from-spec", str(spec), "--json")
    succeeded(run)
    _body, index, digest = stored_index(registry, repo_name, VERSION)
    assert run.json()["digest"] == digest and index["mediaType"] == DOCKER_LIST   # manifest-tool's default
    # the order given, Windows os.version read from each config (the declared platforms were equal)
    assert [e["digest"] for e in index["manifests"]] == [i["digest"] for i in images]
    assert [platform_text(e["platform"]) for e in index["manifests"]][-2:] == [
        f"windows({WIN['win2019']})/amd64", f"windows({WIN['win2016']})/amd64"]
    for tag in tags:
        assert stored_index(registry, repo_name, tag)[2] == digest
    assert ("latest" in mm_images.list_tags(registry, repo_name)) == ("latest" in tags)

    ref = f"{registry.host}/{repo_name}:{VERSION}"
    assert mm_clients.skopeo_inspect(registry, ref, raw=True) == index
    for img in images:
        p = img["platform"]
        picked = mm_clients.skopeo_inspect(registry, ref, raw=False, override_os=p["os"],
                                           override_arch=p["architecture"], override_variant=p.get("variant"))
        if p["os"] == "windows":   # os/arch alone: the first match, the one listed first
            img = images[-2]
        assert picked["Layers"] == img["layer_digests"], p
        assert (picked["Os"], picked["Architecture"]) == (p["os"], p["architecture"])


def test_manifest_tool_readme_sample_spec_pushes_as_written(registry, tmp_path):
    """manifest-tool's own README sample, byte for byte but for the registry host (origin in DATA/README.md)."""
    text = (DATA / "readme-sample.yaml").read_text().replace("myprivreg:5000", registry.host)
    spec = tmp_path / "someimage.yaml"
    spec.write_text(text)
    arm = mm_images.push_image(registry, "someimage", "arm64", os="linux", arch="arm64", variant="v8")
    amd = mm_images.push_image(registry, "someimage", "amd64", os="linux", arch="amd64")
    succeeded(run_cli("push", "from-spec", str(spec)))
    _body, index, digest = stored_index(registry, "someimage", "latest")
    assert [e["digest"] for e in index["manifests"]] == [arm["digest"], amd["digest"]]   # the order written
    assert index["mediaType"] == DOCKER_LIST
    for tag in ("1.0.0", "1.0", "1"):
        assert stored_index(registry, "someimage", tag)[2] == digest
    picked = mm_clients.skopeo_inspect(registry, f"{registry.host}/someimage:1.0.0", raw=False,
                                       override_os="linux", override_arch="arm64", override_variant=None)
    assert picked["Layers"] == arm["layer_digests"]


def _buildah(root: Path, *args: str) -> str:
    cmd = ["buildah", "--storage-driver", "vfs", "--root", str(root / "root"), "--runroot", str(root / "run"), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"{' '.join(cmd)}: {proc.stderr}"
    return proc.stdout.strip()


@pytest.mark.skipif(shutil.which("buildah") is None, reason="buildah is not installed")
def test_buildah_built_windows_images_in_a_manifest_tool_spec(registry, repo_name, tmp_path):
    """Two windows/amd64 images built by buildah (different os.version), declared alike as in pushml.yaml."""
    with tempfile.TemporaryDirectory(prefix="mm-buildah-") as tmp:
        root = Path(tmp)
        refs = {}
        for name, os_, arch, version in (("w2019", "windows", "amd64", WIN["win2019"]),
                                         ("w2016", "windows", "amd64", WIN["win2016"]),
                                         ("arm64", "linux", "arm64", None)):
            _buildah(root, "from", "--name", name, "scratch")
            _buildah(root, "config", "--os", os_, "--arch", arch, *(["--os-version", version] if version else []),
                     *(["--variant", "v8"] if arch == "arm64" else []), name)
            _buildah(root, "commit", "--format", "oci", name, f"localhost/mm-{name}")
            refs[name] = f"{registry.host}/{repo_name}:{name}"
            _buildah(root, "push", "--tls-verify=false", "--format", "oci", f"localhost/mm-{name}",
                     f"docker://{refs[name]}")
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"image: {registry.host}/{repo_name}:multi\nmanifests:\n" + "".join(
        f"  -\n    image: {refs[n]}\n    platform:\n      architecture: {a}\n      os: {o}\n"
        for n, o, a in (("arm64", "linux", "arm64"), ("w2019", "windows", "amd64"), ("w2016", "windows", "amd64"))))
    run = run_cli("push", "--type", "oci", "from-spec", str(spec), "--json")   # manifest-tool's flag position
    succeeded(run)
    index = mm_clients.skopeo_inspect(registry, f"{registry.host}/{repo_name}:multi", raw=True)
    assert index["mediaType"] == OCI_INDEX
    assert [e["platform"] for e in index["manifests"]] == [
        {"architecture": "arm64", "os": "linux", "variant": "v8"},
        {"architecture": "amd64", "os": "windows", "os.version": WIN["win2019"]},
        {"architecture": "amd64", "os": "windows", "os.version": WIN["win2016"]}]
    for n, e in zip(("arm64", "w2019", "w2016"), index["manifests"]):
        assert mm_clients.skopeo_inspect(registry, refs[n], raw=True) == \
            mm_clients.skopeo_inspect(registry, f"{registry.host}/{repo_name}@{e['digest']}", raw=True)


def test_features_are_cpu_features_in_a_docker_list_and_refused_for_oci(registry, repo_name, tmp_path):
    amd = mm_images.push_image(registry, repo_name, "amd64", arch="amd64")
    win = mm_images.push_image(registry, repo_name, "win", os="windows", arch="amd64", os_version=WIN["win2019"])
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"image: {registry.host}/{repo_name}:v1\nmanifests:\n"
                    f"  - image: {amd['ref']}\n    platform: {{os: linux, architecture: amd64, features: [sse4]}}\n"
                    f"  - image: {win['ref']}\n"
                    "    platform: {os: windows, architecture: amd64, osfeatures: [win32k]}\n")
    succeeded(run_cli("push", "from-spec", str(spec)))
    index = mm_clients.skopeo_inspect(registry, f"{registry.host}/{repo_name}:v1", raw=True)
    assert index["mediaType"] == DOCKER_LIST
    assert index["manifests"][0]["platform"] == {"architecture": "amd64", "os": "linux", "features": ["sse4"]}
    assert index["manifests"][1]["platform"] == {"architecture": "amd64", "os": "windows",
                                                 "os.version": WIN["win2019"], "os.features": ["win32k"]}
    spec.write_text(spec.read_text().replace(":v1", ":v2"))
    line = one_error(run_cli("push", "from-spec", str(spec), "--type", "oci"), 2)
    assert "OCI image-index spec reserves platform.features" in line and "osfeatures" in line, line
    assert not mm_images.manifest_exists(registry, repo_name, "v2")


def test_osversion_contradicting_the_config_says_what_manifest_tool_did(registry, repo_name, tmp_path):
    win = mm_images.push_image(registry, repo_name, "win", os="windows", arch="amd64", os_version=WIN["win2019"])
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"image: {registry.host}/{repo_name}:v1\nmanifests:\n  - image: {win['ref']}\n"
                    f"    platform: {{os: windows, architecture: amd64, osversion: 10.0.20348.1}}\n")
    line = one_error(run_cli("push", "from-spec", str(spec)), 1)
    assert "declared os.version 10.0.20348.1 but the image config says" in line
    assert "manifest-tool writes the declared platform" in line and "--no-verify-platform" in line
    succeeded(run_cli("push", "from-spec", str(spec), "--no-verify-platform"))
    _, index, _ = stored_index(registry, repo_name, "v1")
    assert index["manifests"][0]["platform"]["os.version"] == "10.0.20348.1"


def test_from_args_with_manifest_tool_spellings_and_ignore_missing(registry, repo_name):
    amd = mm_images.push_image(registry, repo_name, "v1-amd64", arch="amd64")
    arm = mm_images.push_image(registry, repo_name, "v1-arm64", arch="arm64", variant="v8")
    target = f"{registry.host}/{repo_name}:v1"
    args = ["push", "from-args", "--platforms", "linux/arm64,linux/s390x,linux/amd64",
            "--template", f"{registry.host}/{repo_name}:v1-ARCH", "--target", target, "--wait-timeout", "0"]
    line = one_error(run_cli(*args), 1)
    assert "s390x" in line and "--ignore-missing" in line, line
    assert not mm_images.manifest_exists(registry, repo_name, "v1")

    line = one_error(run_cli(*args, "--ignore-missing", "--require", "linux/amd64,linux/s390x"), 1)
    assert "required platform(s) linux/s390x not in the index" in line, line
    assert not mm_images.manifest_exists(registry, repo_name, "v1")

    run = run_cli(*args, "--ignore-missing", "--require", "linux/amd64", "--annotations", "org.example=1",
                  "--type", "oci", "--json")
    succeeded(run)
    assert run.json()["missing"] == [f"linux/s390x {registry.host}/{repo_name}:v1-s390x"]
    assert re.search(r"warning: skipped \(--ignore-missing\): linux/s390x ", run.err), run.err
    _, index, _ = stored_index(registry, repo_name, "v1")
    assert [e["digest"] for e in index["manifests"]] == [arm["digest"], amd["digest"]]
    assert index["mediaType"] == OCI_INDEX and index["annotations"] == {"org.example": "1"}


def test_action_ignore_missing_outputs_missing_and_summary(registry, repo_name):
    amd = mm_images.push_image(registry, f"{repo_name}-amd64", "v1", arch="amd64")
    ghost = f"{registry.host}/{repo_name}-riscv64:v1"
    inputs = {"target": f"{registry.host}/{repo_name}:v1", "wait-timeout": "0",
              "sources": f"{amd['ref']}\nlinux/riscv64={ghost}", "ignore-missing": "true"}
    run = run_action({**inputs, "required-platforms": "linux/riscv64"})
    assert run.code == 1 and len(run.errors) == 1 and "linux/riscv64" in run.errors[0], run.out + run.err
    assert not mm_images.manifest_exists(registry, repo_name, "v1")
    run = run_action(inputs)
    assert run.code == 0, run.out + run.err
    assert json.loads(run.outputs["missing"]) == [f"linux/riscv64 {ghost}"]
    assert f"`linux/riscv64 {ghost}` did not land" in run.summary
    _, index, _ = stored_index(registry, repo_name, "v1")
    assert [e["digest"] for e in index["manifests"]] == [amd["digest"]]
