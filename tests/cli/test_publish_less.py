"""Never publish less than was meant (issue 19, part 1), against the real loopback registry: --require alone in
every source form (nothing written when a platform is missing, the error says where it was looked for), list
options that add up when repeated, annotations at the levels buildx and metadata-action write, entry
annotations of an index made by buildah kept, and an --append that changes the index's format said in words.
What the registry holds is read back with skopeo and from its access log."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import mm_images
from mm_cli import ERROR, Run, one_error, run_cli, succeeded
from mm_clients import skopeo_inspect
from mm_images import DOCKER_LIST, OCI_INDEX, stored_index
from mm_layouts import Buildah, to_layout
from mm_runner import log_mark, run_action, writes_since

REQUIRE = ("linux/amd64", "linux/arm64")
LOST = "required platform(s) linux/arm64 not in the index (it would hold linux/amd64): linux/arm64: "


def _cli(*args: str, stdin: str | None = None) -> Run:
    return run_cli(*args, stdin=stdin)


def _via_template(reg, repo, tmp_path, amd):
    return lambda: _cli("push", "from-args", "--platforms", "linux/amd64", "--template", f"{reg.host}/{repo}-src:ARCH",
                "--target", f"{reg.host}/{repo}:v1", "--require", REQUIRE[0], "--require", REQUIRE[1]), \
        "no source gave it (looked for in the template's images for --platforms linux/amd64)"


def _via_matrix(reg, repo, tmp_path, amd):
    return lambda: _cli("push", "from-matrix", "-", "--target", f"{reg.host}/{repo}:v1", "--require",
                        ",".join(REQUIRE), stdin=json.dumps([{"image": amd["ref"]}])), \
        "no source gave it (looked for in the matrix <stdin>)"


def _via_spec(reg, repo, tmp_path, amd):
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"image: {reg.host}/{repo}:v1\nmanifests:\n  - image: {amd['ref']}\n")
    return lambda: _cli("push", "from-spec", str(spec), "--require", ",".join(REQUIRE)), \
        f"no source gave it (looked for in the spec {spec})"


def _digests(reg, repo, tmp_path) -> Path:
    """A digests folder whose arm64 leg 'failed quietly': it never wrote its file."""
    amd = mm_images.push_image(reg, repo, None, fmt="oci", arch="amd64")   # by digest, as a build leg pushes
    folder = tmp_path / "digests"
    folder.mkdir()
    (folder / amd["digest"].split(":", 1)[1]).touch()
    return folder


def _via_digests(reg, repo, tmp_path, amd):
    folder = _digests(reg, repo, tmp_path)
    return lambda: _cli("push", "from-digests", str(folder), "--target", f"{reg.host}/{repo}:v1",
                        "--require", ",".join(REQUIRE)), \
        f"no source gave it (looked for in the digests folder {folder} (1 digest file(s), each an image or index " \
        f"in {reg.host}/{repo})"


def _via_layout(reg, repo, tmp_path, amd):
    layout = tmp_path / "layout-amd64"
    to_layout(reg, f"{repo}-src", "amd64", layout)
    return lambda: _cli("push", "from-matrix", "-", "--target", f"{reg.host}/{repo}:v1", "--require",
                        ",".join(REQUIRE), stdin=json.dumps([{"image": f"oci-layout://{layout}:amd64"}])), \
        "(looked for in the matrix <stdin>)"


def _action(inputs: dict) -> Run:
    """The action's run as the CLI's: its ::error:: annotations are the error lines."""
    run = run_action(inputs)
    return Run(run.code, run.out, "".join(f"{ERROR}{e}\n" for e in run.errors))


def _via_action_refs(reg, repo, tmp_path, amd):
    return lambda: _action({"target": f"{reg.host}/{repo}:v1", "sources": amd["ref"],
                            "required-platforms": "linux/amd64\nlinux/arm64"}), \
        "no source gave it (looked for in the sources of input sources)"


def _via_action_digests(reg, repo, tmp_path, amd):
    folder = _digests(reg, repo, tmp_path)
    return lambda: _action({"target": f"{reg.host}/{repo}:v1", "digests-dir": str(folder),
                            "required-platforms": "linux/amd64, linux/arm64"}), \
        f"looked for in the digests folder {folder}"


@pytest.mark.parametrize("push", [
    pytest.param(_via_template, id="template"),
    pytest.param(_via_matrix, id="matrix"),
    pytest.param(_via_spec, id="spec"),
    pytest.param(_via_digests, id="digests-folder"),
    pytest.param(_via_layout, id="layout"),
    pytest.param(_via_action_refs, id="action-sources"),
    pytest.param(_via_action_digests, id="action-digests-dir"),
])
def test_require_alone_guards_every_source_form_and_writes_nothing(registry, repo_name, tmp_path, push):
    reg = registry
    amd = mm_images.push_image(reg, f"{repo_name}-src", "amd64", fmt="oci", arch="amd64")
    go, where = push(reg, repo_name, tmp_path, amd)   # the sources seeded first
    mark = log_mark(reg)
    line = one_error(go(), 1)
    assert LOST in line and where in line and "nothing was pushed" in line, line
    assert writes_since(reg, mark, repo_name) == []       # no child PUT, no blob upload, no index PUT, no tag
    assert mm_images.list_tags(reg, repo_name) == []


def test_require_passes_a_digests_folder_holding_every_leg(registry, repo_name, tmp_path):
    reg = registry
    folder = _digests(reg, repo_name, tmp_path)
    arm = mm_images.push_image(reg, repo_name, None, fmt="oci", arch="arm64", variant="v8")
    (folder / arm["digest"].split(":", 1)[1]).touch()
    succeeded(_cli("push", "from-digests", str(folder), "--target", f"{reg.host}/{repo_name}:v1",
                   "--require", "linux/amd64", "--require", "linux/arm64"))
    platforms = [e["platform"]["architecture"] for e in skopeo_inspect(reg, f"{reg.host}/{repo_name}:v1")["manifests"]]
    assert platforms == ["amd64", "arm64"]


# --- a list option given twice adds up ------------------------------------------------------------------


def test_require_given_twice_keeps_both_guards(registry, repo_name):
    reg = registry
    amd = mm_images.push_image(reg, f"{repo_name}-src", "amd64", arch="amd64")
    mark = log_mark(reg)
    line = one_error(_cli("push", "from-matrix", "-", "--target", f"{reg.host}/{repo_name}:v1", "--ignore-missing",
                          "--require", "linux/mips64le", "--require", "linux/amd64",
                          stdin=json.dumps([{"image": amd["ref"]}])), 1)
    assert "required platform(s) linux/mips64le not in the index" in line, line
    assert writes_since(reg, mark, repo_name) == []


def test_platforms_and_platform_filter_given_twice_add_up(registry, repo_name):
    reg = registry
    for arch in ("amd64", "arm64"):
        mm_images.push_image(reg, f"{repo_name}-src", arch, arch=arch)
    succeeded(_cli("push", "from-args", "--platforms", "linux/amd64", "--platforms", "linux/arm64", "--template",
                   f"{reg.host}/{repo_name}-src:ARCH", "--target", f"{reg.host}/{repo_name}:v1"))
    src = mm_images.push_attested_index(reg, f"{repo_name}-idx", "v1", platforms=(
        ("linux", "amd64"), ("linux", "arm64", "v8"), ("linux", "s390x")))
    succeeded(_cli("push", "from-matrix", "-", "--target", f"{reg.host}/{repo_name}:v2", "--platform-filter",
                   "linux/amd64", "--platform-filter", "linux/s390x", stdin=json.dumps([{"image": src["ref"]}])))
    for tag, archs in (("v1", ["amd64", "arm64"]), ("v2", ["amd64", "s390x"])):
        images = [e for e in skopeo_inspect(reg, f"{reg.host}/{repo_name}:{tag}")["manifests"]
                  if e["platform"]["os"] != "unknown"]
        assert [e["platform"]["architecture"] for e in images] == archs, tag


def test_remove_given_twice_removes_both(registry, repo_name):
    reg = registry
    images = [mm_images.push_image(reg, f"{repo_name}-src", a, arch=a) for a in ("amd64", "arm64", "s390x")]
    target = f"{reg.host}/{repo_name}:v1"
    succeeded(_cli("push", "from-matrix", "-", "--target", target, stdin=json.dumps([{"image": i["ref"]}
                                                                                     for i in images])))
    succeeded(_cli("push", "from-matrix", "-", "--target", target, "--remove", "linux/amd64", "--remove",
                   "linux/s390x", stdin="[]"))
    assert [e["digest"] for e in skopeo_inspect(reg, target)["manifests"]] == [images[1]["digest"]]


def test_annotations_split_on_commas_and_annotation_keeps_them(registry, repo_name):
    reg = registry
    amd = mm_images.push_image(reg, f"{repo_name}-src", "amd64", fmt="oci", arch="amd64")
    succeeded(_cli("push", "from-matrix", "-", "--target", f"{reg.host}/{repo_name}:v1",
                   "--annotations", "org.example.a=1,org.example.b=2",
                   "--annotation", "org.opencontainers.image.description=small, fast",
                   stdin=json.dumps([{"image": amd["ref"]}])))
    assert skopeo_inspect(reg, f"{reg.host}/{repo_name}:v1")["annotations"] == {
        "org.example.a": "1", "org.example.b": "2", "org.opencontainers.image.description": "small, fast"}
    line = one_error(_cli("push", "from-matrix", "-", "--target", f"{reg.host}/{repo_name}:v2",
                          "--annotations", "org.example.d=small, fast", stdin=json.dumps([{"image": amd["ref"]}])), 2)
    assert "' fast' is not KEY=VALUE" in line and "--annotation KEY=VALUE" in line, line


def test_action_lists_take_commas_and_newlines(tls_registry, repo_name):
    reg = tls_registry
    amd = mm_images.push_image(reg, f"{repo_name}-src", "amd64", arch="amd64")
    arm = mm_images.push_image(reg, f"{repo_name}-src", "arm64", arch="arm64")
    run = run_action({"target": f"{reg.host}/{repo_name}:v1", "sources": f"{amd['ref']}\n{arm['ref']}",
                      "insecure-registries": f"10.0.0.5:5000, {reg.host}", "required-platforms":
                      "linux/amd64,\nlinux/arm64", "username": reg.username, "password": reg.password})
    assert run.code == 0, run.out + run.err
    assert json.loads(run.outputs["platforms"]) == {"linux/amd64": amd["digest"], "linux/arm64": arm["digest"]}


# --- annotations as buildx and metadata-action write them -----------------------------------------------

TITLE = "org.opencontainers.image.title"


def test_buildx_levels_land_where_buildx_puts_them(registry, repo_name):
    reg = registry
    amd = mm_images.push_image(reg, f"{repo_name}-src", "amd64", fmt="oci", arch="amd64")
    arm = mm_images.push_image(reg, f"{repo_name}-src", "arm64", fmt="oci", arch="arm64", variant="v8")
    succeeded(_cli("push", "from-matrix", "-", "--target", f"{reg.host}/{repo_name}:v1",
                   "--annotation", f"index:{TITLE}=app", "--annotation", "manifest-descriptor:org.example.all=1",
                   "--annotation", "manifest-descriptor[linux/arm64]:org.example.arm=yes",
                   "--annotation", "index,manifest-descriptor:org.example.both=2",
                   stdin=json.dumps([{"image": amd["ref"]}, {"image": arm["ref"]}])))
    doc = skopeo_inspect(reg, f"{reg.host}/{repo_name}:v1")
    assert doc["mediaType"] == OCI_INDEX
    assert doc["annotations"] == {TITLE: "app", "org.example.both": "2"}
    assert [e.get("annotations") for e in doc["manifests"]] == [
        {"org.example.all": "1", "org.example.both": "2"},
        {"org.example.all": "1", "org.example.arm": "yes", "org.example.both": "2"}]
    assert [e["digest"] for e in doc["manifests"]] == [amd["digest"], arm["digest"]]   # the children unchanged


@pytest.mark.parametrize("lines, words", [
    pytest.param(f"manifest:{TITLE}=app", ["manifest level", "DOCKER_METADATA_ANNOTATIONS_LEVELS=index"],
                 id="metadata-action-default-level"),
    pytest.param(f"manifest[linux/amd64]:{TITLE}=app", ["manifest level"], id="manifest-one-platform"),
    pytest.param(f"index-descriptor:{TITLE}=app", ["index-descriptor level"], id="index-descriptor"),
])
def test_levels_that_would_rewrite_the_children_are_refused(registry, repo_name, lines, words):
    reg = registry
    amd = mm_images.push_image(reg, f"{repo_name}-src", "amd64", fmt="oci", arch="amd64")
    mark = log_mark(reg)
    run = run_action({"target": f"{reg.host}/{repo_name}:v1", "sources": amd["ref"],
                      "annotations": f"index:org.example.ok=1\n{lines}"})
    assert run.code == 2 and len(run.errors) == 1, run.out + run.err
    for word in words:
        assert word in run.errors[0], run.errors
    assert writes_since(reg, mark) == []


def test_the_index_level_from_the_action_as_metadata_action_writes_it(registry, repo_name):
    reg = registry
    amd = mm_images.push_image(reg, f"{repo_name}-src", "amd64", fmt="oci", arch="amd64")
    run = run_action({"target": f"{reg.host}/{repo_name}:v1", "sources": amd["ref"],
                      "annotations": f"index:{TITLE}=app\nindex:org.opencontainers.image.description=a, b"})
    assert run.code == 0, run.out + run.err
    assert skopeo_inspect(reg, f"{reg.host}/{repo_name}:v1")["annotations"] == {
        TITLE: "app", "org.opencontainers.image.description": "a, b"}


# --- per-entry annotations of an index source survive ---------------------------------------------------


def test_entry_annotations_of_an_index_made_by_buildah_are_kept(registry, repo_name, tmp_path):
    reg = registry
    amd = mm_images.push_image(reg, f"{repo_name}-src", "amd64", fmt="oci", arch="amd64")
    arm = mm_images.push_image(reg, f"{repo_name}-src", "arm64", fmt="oci", arch="arm64", variant="v8")
    buildah, source = Buildah(tmp_path / "buildah"), f"{reg.host}/{repo_name}-src:list"
    buildah("manifest", "create", "mm-list")
    for image in (amd, arm):
        buildah("manifest", "add", "--tls-verify=false", "mm-list", f"docker://{image['ref']}")
    buildah("manifest", "annotate", "--annotation", "org.example.leg=amd", "mm-list", amd["digest"])
    buildah("manifest", "annotate", "--annotation", "org.example.leg=arm", "mm-list", arm["digest"])
    buildah("manifest", "push", "--all", "--tls-verify=false", "mm-list", f"docker://{source}")
    made = {e["digest"]: e.get("annotations") for e in skopeo_inspect(reg, source)["manifests"]}
    assert made == {amd["digest"]: {"org.example.leg": "amd"}, arm["digest"]: {"org.example.leg": "arm"}}
    succeeded(_cli("push", "from-matrix", "-", "--target", f"{reg.host}/{repo_name}:v1",
                   stdin=json.dumps([{"image": source}])))
    doc = skopeo_inspect(reg, f"{reg.host}/{repo_name}:v1")
    assert doc["mediaType"] == OCI_INDEX
    assert [(e["digest"], e.get("annotations")) for e in doc["manifests"]] == [
        (amd["digest"], {"org.example.leg": "amd"}), (arm["digest"], {"org.example.leg": "arm"})]
    succeeded(_cli("push", "from-matrix", "-", "--target", f"{reg.host}/{repo_name}:v2", "--annotation",
                   "manifest-descriptor[linux/arm64]:org.example.more=1", stdin=json.dumps([{"image": source}])))
    doc = skopeo_inspect(reg, f"{reg.host}/{repo_name}:v2")   # one platform's entry gets one more; its own stay
    assert [e.get("annotations") for e in doc["manifests"]] == [
        {"org.example.leg": "amd"}, {"org.example.leg": "arm", "org.example.more": "1"}]


# --- say what was not done ------------------------------------------------------------------------------


def test_append_of_an_oci_image_onto_a_docker_list_says_so_in_the_real_run(registry, repo_name):
    reg = registry
    amd = mm_images.push_image(reg, f"{repo_name}-src", "amd64", arch="amd64")
    arm = mm_images.push_image(reg, f"{repo_name}-src", "arm64", fmt="oci", arch="arm64", variant="v8")
    target = f"{reg.host}/{repo_name}:v1"
    succeeded(_cli("push", "from-matrix", "-", "--target", target, stdin=json.dumps([{"image": amd["ref"]}])))
    assert stored_index(reg, repo_name, "v1")[1]["mediaType"] == DOCKER_LIST
    run = _cli("push", "from-matrix", "-", "--target", target, "--append", stdin=json.dumps([{"image": arm["ref"]}]))
    succeeded(run)
    assert stored_index(reg, repo_name, "v1")[1]["mediaType"] == OCI_INDEX
    said = [line for line in run.err_lines if "is now OCI image index" in line]
    assert said == [f"note: {target} was Docker manifest list, is now OCI image index: "
                    f"sha256:{arm['digest'].split(':')[1][:12]} (linux/arm64/v8) is "
                    "application/vnd.oci.image.manifest.v1+json, which a Docker list cannot hold"], run.err
