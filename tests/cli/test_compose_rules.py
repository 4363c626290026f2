"""End to end: how the CLI composes an index - platforms, clashes, attestations, formats, --append, errors.

Per-arch images are seeded with ``mm_images``; the CLI runs as a subprocess; results are read back
from the registry with the independent client.  "Nothing pushed" is checked both by the target tag
being absent and by the registry's access log showing no write to the target repository.
"""
from __future__ import annotations

import hashlib
import json
import re

import pytest
import yaml

import mm_images
from mm_cli import run_cli
from mm_images import DOCKER_LIST, OCI_INDEX, OCI_MANIFEST, stored_index

REF_TYPE = "vnd.docker.reference.type"
REF_DIGEST = "vnd.docker.reference.digest"


# -- helpers ------------------------------------------------------------------------------------

def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def platform_str(p: dict) -> str:
    head = f"{p['os']}({p['os.version']})" if p.get("os.version") else p["os"]
    return "/".join([head, p["architecture"]] + ([p["variant"]] if p.get("variant") else []))


def ok(run) -> None:
    assert run.code == 0, f"exit {run.code}\nstdout:\n{run.out}\nstderr:\n{run.err}"


def fails(run, code: int) -> str:
    """Check the exit code and that exactly one error line was printed (and no traceback); return it.

    Bad input (2) prints nothing else; a runtime failure (1) may be preceded by progress lines.
    """
    assert run.code == code, f"exit {run.code}, wanted {code}\nstdout:\n{run.out}\nstderr:\n{run.err}"
    assert "Traceback" not in run.err
    errors = [line for line in run.err_lines if line.startswith("multiarch-manifest: ")]
    assert len(errors) == 1, run.err
    if code == 2:
        assert run.err_lines == errors, run.err
    return errors[0]



def writes_to(reg, repo: str, since: int) -> list[tuple[str, str, int]]:
    """Write requests to `repo` (exactly; not `repo-x`) in the registry log after entry `since`."""
    return [r for r in reg.request_log()[since:]
            if r[0] in ("PUT", "POST", "PATCH", "DELETE") and r[1].startswith(f"/v2/{repo}/")]


def requests_to(reg, repo: str, since: int) -> list[tuple[str, str, int]]:
    return [r for r in reg.request_log()[since:] if r[1].startswith(f"/v2/{repo}/")]


def assert_nothing_pushed(reg, repo: str, tags, mark: int) -> None:
    for tag in tags:
        assert not mm_images.manifest_exists(reg, repo, tag), f"{repo}:{tag} was pushed"
    assert writes_to(reg, repo, mark) == []


def matrix_push(reg, repo: str, entries: list[dict], *args: str, tag: str = "v1"):
    return run_cli("push", "from-matrix", "-", "--target", f"{reg.host}/{repo}:{tag}", *args,
                   stdin=json.dumps(entries))


def spec_push(tmp_path, target: str, entries: list[dict], *args: str, name: str = "spec.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"image": target, "manifests": entries}, sort_keys=False))
    return run_cli("push", "from-spec", str(path), *args), path


def platforms_of(doc: dict) -> list[str]:
    return [platform_str(e["platform"]) for e in doc["manifests"]]


# -- platform from config -----------------------------------------------------------------------

@pytest.mark.parametrize("form", ["spec", "matrix"])
def test_platform_read_from_config_when_undeclared(registry, repo_name, tmp_path, form):
    reg = registry
    arm = mm_images.push_image(reg, repo_name, "arm64", arch="arm64", variant="v8")
    amd = mm_images.push_image(reg, repo_name, "amd64", arch="amd64")
    ppc = mm_images.push_image(reg, repo_name, "ppc", arch="ppc64le")
    target = f"{reg.host}/{repo_name}:v1"
    if form == "spec":
        run, _ = spec_push(tmp_path, target, [{"image": i["ref"]} for i in (ppc, arm, amd)])
    else:
        # a matrix may also mix entries with and without a declared platform
        run = matrix_push(reg, repo_name, [{"image": ppc["ref"]}, {"image": arm["ref"]},
                                           {"image": amd["ref"], "platform": "linux/amd64"}])
    ok(run)
    _, doc, _ = stored_index(reg, repo_name, "v1")
    assert doc["mediaType"] == DOCKER_LIST
    assert [(platform_str(e["platform"]), e["digest"]) for e in doc["manifests"]] == [
        ("linux/ppc64le", ppc["digest"]), ("linux/arm64/v8", arm["digest"]),
        ("linux/amd64", amd["digest"])]  # the order given (issue 10)
    assert doc["manifests"][1]["platform"] == {"architecture": "arm64", "os": "linux", "variant": "v8"}


# -- declared vs config -------------------------------------------------------------------------

@pytest.mark.parametrize("form", ["spec", "matrix", "args"])
def test_declared_platform_contradicting_config(registry, repo_name, tmp_path, form):
    reg = registry
    amd = mm_images.push_image(reg, repo_name, "img-arm64", arch="amd64")   # mislabelled
    s390 = mm_images.push_image(reg, repo_name, "img-s390x", arch="s390x")
    target = f"{reg.host}/{repo_name}:v1"

    def push(*extra):
        if form == "spec":
            return spec_push(tmp_path, target, [
                {"image": s390["ref"], "platform": {"os": "linux", "architecture": "s390x"}},
                {"image": amd["ref"], "platform": {"os": "linux", "architecture": "arm64"}}],
                *extra)[0]
        if form == "matrix":
            return matrix_push(reg, repo_name, [{"image": s390["ref"], "platform": "linux/s390x"},
                                                {"image": amd["ref"], "platform": "linux/arm64"}], *extra)
        return run_cli("push", "from-args", "--platforms", "linux/s390x,linux/arm64",
                       "--template", f"{reg.host}/{repo_name}:img-ARCH", "--target", target, *extra)

    mark = len(reg.request_log())
    run = push()
    line = fails(run, 1)
    # names the source - by its reference or by a location that points at it alone - and both platforms
    if form == "spec":
        text = (tmp_path / "spec.yaml").read_text().splitlines()
        where = f"spec.yaml:{next(n for n, t in enumerate(text, 1) if amd['ref'] in t)}"
    elif form == "args":
        where = "--template linux/arm64"
    else:
        where = None   # a one-line JSON matrix (jq -c, toJSON): <stdin>:1 is every entry's location
    assert amd["ref"] in line or (where and re.search(re.escape(where) + r"\b", line)), line
    assert "declared linux/arm64" in line and "linux/amd64" in line, line
    assert_nothing_pushed(reg, repo_name, ["v1"], mark)

    run = push("--no-verify-platform", "--json")
    ok(run)
    _, doc, digest = stored_index(reg, repo_name, "v1")
    assert run.json()["digest"] == digest
    assert [(platform_str(e["platform"]), e["digest"]) for e in doc["manifests"]] == [
        ("linux/s390x", s390["digest"]), ("linux/arm64", amd["digest"])]  # the order given


# -- clashes ------------------------------------------------------------------------------------

@pytest.mark.parametrize("first, second", [
    ("linux/amd64", "linux/amd64"),
    ("linux/arm64", "linux/arm64/v8"),     # same platform once the default variant is filled in
    ("linux/arm/v7", "linux/armhf"),
])
def test_two_inputs_declare_same_platform(registry, repo_name, first, second):
    reg = registry
    a = mm_images.push_image(reg, repo_name, "a", arch="amd64")
    b = mm_images.push_image(reg, repo_name, "b", arch="amd64", salt="b")
    mark = len(reg.request_log())
    run = matrix_push(reg, repo_name, [{"image": a["ref"], "platform": first},
                                       {"image": b["ref"], "platform": second}])
    fails(run, 2)
    # bad input: decided before any request to the registry about this repository
    assert requests_to(reg, repo_name, mark) == []
    assert_nothing_pushed(reg, repo_name, ["v1"], mark)


@pytest.mark.parametrize("form", ["spec", "matrix"])
def test_two_sources_whose_configs_clash(registry, repo_name, tmp_path, form):
    reg = registry
    a = mm_images.push_image(reg, f"{repo_name}-a", "v1", arch="arm64", variant="v8")
    b = mm_images.push_image(reg, f"{repo_name}-b", "v1", fmt="oci", arch="arm64", variant="v8")
    mark = len(reg.request_log())
    entries = [{"image": a["ref"]}, {"image": b["ref"]}]
    if form == "spec":
        run, path = spec_push(tmp_path, f"{reg.host}/{repo_name}:v1", entries)
        text = path.read_text().splitlines()
        wheres = [f"spec.yaml:{next(n for n, t in enumerate(text, 1) if i['ref'] in t)}" for i in (a, b)]
    else:
        run = matrix_push(reg, repo_name, entries)   # one-line JSON: both entries are <stdin>:1
        wheres = [None, None]
    line = fails(run, 1)
    assert "linux/arm64" in line
    # both sources are named - by reference or by a location that points at each alone
    for img, where in zip((a, b), wheres):
        assert img["ref"] in line or (where and re.search(re.escape(where) + r"\b", line)), line
    assert_nothing_pushed(reg, repo_name, ["v1"], mark)
    assert mm_images.list_tags(reg, repo_name) == []


# -- windows os.version, arm variants, aliases --------------------------------------------------

WIN_OLD, WIN_NEW = "10.0.17763.6054", "10.0.20348.2582"


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "from-config"])
def test_windows_two_os_versions(registry, repo_name, declared):
    reg = registry
    new = mm_images.push_image(reg, repo_name, "ltsc2022", os="windows", arch="amd64", os_version=WIN_NEW)
    old = mm_images.push_image(reg, repo_name, "ltsc2019", os="windows", arch="amd64", os_version=WIN_OLD)
    lin = mm_images.push_image(reg, repo_name, "linux", arch="amd64")
    entries = [{"image": new["ref"]}, {"image": lin["ref"]}, {"image": old["ref"]}]
    if declared:
        for e, p in zip(entries, (f"windows({WIN_NEW})/amd64", "linux/amd64", f"windows({WIN_OLD})/amd64")):
            e["platform"] = p
    run = matrix_push(reg, repo_name, entries, "--json")
    ok(run)
    _, doc, digest = stored_index(reg, repo_name, "v1")
    assert run.json()["digest"] == digest
    assert [e["digest"] for e in doc["manifests"]] == [new["digest"], lin["digest"], old["digest"]]
    assert [doc["manifests"][i]["platform"] for i in (2, 0)] == [
        {"architecture": "amd64", "os": "windows", "os.version": WIN_OLD},
        {"architecture": "amd64", "os": "windows", "os.version": WIN_NEW}]
    assert [r["platform"] for r in run.json()["manifests"]] == [
        f"windows({WIN_NEW})/amd64", "linux/amd64", f"windows({WIN_OLD})/amd64"]  # the order given


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "from-config"])
def test_arm_variants_kept_and_ordered(registry, repo_name, declared):
    reg = registry
    imgs = {v: mm_images.push_image(reg, repo_name, f"arm{v}", arch="arm", variant=v) for v in ("v6", "v7")}
    a64 = mm_images.push_image(reg, repo_name, "arm64", arch="arm64", variant="v8")
    order = [(imgs["v7"], "linux/arm/v7"), (a64, "linux/arm64/v8"), (imgs["v6"], "linux/arm/v6")]
    entries = [{"image": i["ref"], **({"platform": p} if declared else {})} for i, p in order]
    run = matrix_push(reg, repo_name, entries, "--json")
    ok(run)
    _, doc, _ = stored_index(reg, repo_name, "v1")
    assert platforms_of(doc) == ["linux/arm/v7", "linux/arm64/v8", "linux/arm/v6"]  # the order given
    assert [e["digest"] for e in doc["manifests"]] == [imgs["v7"]["digest"], a64["digest"],
                                                       imgs["v6"]["digest"]]
    assert [r["platform"] for r in run.json()["manifests"]] == platforms_of(doc)


@pytest.mark.parametrize("config_arch, declared, extra", [
    pytest.param("arm64", "aarch64", (), id="declared-aarch64"),
    pytest.param("arm64", "aarch64", ("--no-verify-platform",), id="declared-aarch64-no-verify"),
    pytest.param("aarch64", None, (), id="config-aarch64"),
])
def test_arch_aliases_normalised(registry, repo_name, tmp_path, config_arch, declared, extra):
    reg = registry
    arm = mm_images.push_image(reg, repo_name, "arm", arch=config_arch)
    amd = mm_images.push_image(reg, repo_name, "amd", arch="amd64" if declared else "x86_64")
    entries = [{"image": amd["ref"]}, {"image": arm["ref"]}]
    if declared:
        entries[0]["platform"] = {"os": "linux", "architecture": "x86_64"}
        entries[1]["platform"] = {"os": "linux", "architecture": declared}
    run, _ = spec_push(tmp_path, f"{reg.host}/{repo_name}:v1", entries, *extra)
    ok(run)
    _, doc, _ = stored_index(reg, repo_name, "v1")
    assert [e["platform"] for e in doc["manifests"]] == [
        {"architecture": "amd64", "os": "linux"}, {"architecture": "arm64", "os": "linux"}]
    assert [e["digest"] for e in doc["manifests"]] == [amd["digest"], arm["digest"]]


# -- buildx attested indexes --------------------------------------------------------------------

def test_attested_index_sources(registry, repo_name, tmp_path):
    reg = registry
    srcs = {
        "s390x": mm_images.push_attested_index(reg, f"{repo_name}-s390x", "v1", platforms=[("linux", "s390x")]),
        "amd64": mm_images.push_attested_index(reg, f"{repo_name}-amd64", "v1", platforms=[("linux", "amd64")]),
        "arm64": mm_images.push_attested_index(reg, f"{repo_name}-arm64", "v1",
                                               platforms=[("linux", "arm64", "v8")]),
    }
    run, _ = spec_push(tmp_path, f"{reg.host}/{repo_name}:v1",
                       [{"image": s["ref"]} for s in srcs.values()], "--json")
    ok(run)
    _, doc, digest = stored_index(reg, repo_name, "v1")
    assert run.json()["digest"] == digest
    assert doc["mediaType"] == OCI_INDEX

    ordered = [srcs[k] for k in ("s390x", "amd64", "arm64")]  # the order given
    images = [s["images"][0] for s in ordered]
    atts = [s["attestations"][0] for s in ordered]
    entries = doc["manifests"]
    assert len(entries) == 6
    assert [e["digest"] for e in entries[:3]] == [i["digest"] for i in images]
    assert platforms_of({"manifests": entries[:3]}) == ["linux/s390x", "linux/amd64", "linux/arm64/v8"]
    assert all(REF_TYPE not in e.get("annotations", {}) for e in entries[:3])
    for entry, att, img in zip(entries[3:], atts, images):
        assert entry["digest"] == att["digest"]
        assert entry["mediaType"] == OCI_MANIFEST
        assert entry["size"] == att["size"]
        assert entry["platform"] == {"architecture": "unknown", "os": "unknown"}
        assert entry["annotations"][REF_TYPE] == "attestation-manifest"
        assert entry["annotations"][REF_DIGEST] == img["digest"]
    for d in [i["digest"] for i in images] + [a["digest"] for a in atts]:
        assert mm_images.manifest_exists(reg, repo_name, d), d
    for img in images:
        for blob in [img["config_digest"], *img["layer_digests"]]:
            assert mm_images.blob_exists(reg, repo_name, blob)
    assert mm_images.list_tags(reg, repo_name) == ["v1"]
    rows = run.json()["manifests"]
    assert [r["platform"] for r in rows] == ["linux/s390x", "linux/amd64", "linux/arm64/v8"] + \
        ["unknown/unknown"] * 3


@pytest.mark.parametrize("how", ["cli-filter", "spec-platforms"])
def test_platform_filter_on_attested_index(registry, repo_name, tmp_path, how):
    reg = registry
    src = mm_images.push_attested_index(reg, f"{repo_name}-src", "v1",
                                        platforms=[("linux", "arm64", "v8"), ("linux", "amd64"),
                                                   ("linux", "s390x")])
    amd, amd_att = src["images"][1], src["attestations"][1]
    target = f"{reg.host}/{repo_name}:v1"
    if how == "cli-filter":
        run, _ = spec_push(tmp_path, target, [{"image": src["ref"]}], "--platform-filter", "linux/amd64")
    else:
        run, _ = spec_push(tmp_path, target, [{"image": src["ref"], "platforms": ["linux/amd64"]}])
    ok(run)
    _, doc, _ = stored_index(reg, repo_name, "v1")
    assert doc["mediaType"] == OCI_INDEX
    assert [e["digest"] for e in doc["manifests"]] == [amd["digest"], amd_att["digest"]]
    assert doc["manifests"][0]["platform"] == {"architecture": "amd64", "os": "linux"}
    assert doc["manifests"][1]["annotations"][REF_DIGEST] == amd["digest"]
    for dropped in (src["images"][0], src["images"][2], src["attestations"][0], src["attestations"][2]):
        assert not mm_images.manifest_exists(reg, repo_name, dropped["digest"])
    assert mm_images.manifest_exists(reg, repo_name, amd_att["digest"])


def test_platform_filter_across_two_index_sources(registry, repo_name):
    """A global --platform-filter is a keep-list for every index source, not a platform claim."""
    reg = registry
    a = mm_images.push_attested_index(reg, f"{repo_name}-a", "v1",
                                      platforms=[("linux", "amd64"), ("linux", "arm64", "v8")])
    b = mm_images.push_attested_index(reg, f"{repo_name}-b", "v1",
                                      platforms=[("linux", "s390x"), ("linux", "ppc64le")])
    run = matrix_push(reg, repo_name, [{"image": b["ref"]}, {"image": a["ref"]}],
                      "--platform-filter", "linux/amd64,linux/s390x", "--json")
    ok(run)
    _, doc, digest = stored_index(reg, repo_name, "v1")
    assert run.json()["digest"] == digest
    assert [e["digest"] for e in doc["manifests"]] == [  # the order given: b's, then a's
        b["images"][0]["digest"], a["images"][0]["digest"],
        b["attestations"][0]["digest"], a["attestations"][0]["digest"]]
    assert [r["platform"] for r in run.json()["manifests"]] == \
        ["linux/s390x", "linux/amd64", "unknown/unknown", "unknown/unknown"]


# -- --format and --annotation ------------------------------------------------------------------

@pytest.mark.parametrize("children, args, code, media_type", [
    pytest.param("docker", (), 0, DOCKER_LIST, id="auto-docker"),
    pytest.param("mixed", (), 0, OCI_INDEX, id="auto-mixed"),
    pytest.param("docker", ("--format", "docker"), 0, DOCKER_LIST, id="docker-docker"),
    pytest.param("oci", ("--format", "docker"), 1, None, id="docker-with-oci-children"),
    pytest.param("mixed", ("--format", "docker"), 1, None, id="docker-with-mixed-children"),
    pytest.param("docker", ("--format", "docker", "--annotation", "k=v"), 2, None,
                 id="docker-with-annotation"),
    pytest.param("docker", ("--format", "oci"), 0, OCI_INDEX, id="oci-with-docker-children"),
    pytest.param("docker", ("--annotation", "k=v", "--annotation", "org.x=a=b"), 0, OCI_INDEX,
                 id="auto-with-annotations"),
])
def test_format_and_annotations(registry, repo_name, children, args, code, media_type):
    reg = registry
    fmts = {"docker": ("docker", "docker"), "oci": ("oci", "oci"), "mixed": ("docker", "oci")}[children]
    imgs = [mm_images.push_image(reg, repo_name, "amd", fmt=fmts[0], arch="amd64"),
            mm_images.push_image(reg, repo_name, "arm", fmt=fmts[1], arch="arm64", variant="v8")]
    mark = len(reg.request_log())
    run = matrix_push(reg, repo_name, [{"image": i["ref"]} for i in imgs], *args)
    if code:
        line = fails(run, code)
        if code == 2:
            assert requests_to(reg, repo_name, mark) == []
            assert "annotation" in line
        else:
            assert OCI_MANIFEST in line
        assert_nothing_pushed(reg, repo_name, ["v1"], mark)
        return
    ok(run)
    _, doc, _ = stored_index(reg, repo_name, "v1")
    assert doc["mediaType"] == media_type
    # children keep their own media types whatever the index type
    assert [e["mediaType"] for e in doc["manifests"]] == [i["media_type"] for i in imgs]
    assert [e["digest"] for e in doc["manifests"]] == [i["digest"] for i in imgs]
    expected_annotations = dict(a.split("=", 1) for a in args[1::2]) if "--annotation" in args else None
    assert doc.get("annotations") == expected_annotations


# -- --append -----------------------------------------------------------------------------------

def test_append_adds_and_replaces(registry, repo_name):
    reg = registry
    amd = mm_images.push_image(reg, repo_name, "amd64", arch="amd64")
    arm = mm_images.push_image(reg, repo_name, "arm64", arch="arm64", variant="v8")
    ok(matrix_push(reg, repo_name, [{"image": amd["ref"]}, {"image": arm["ref"]}], "--tags", "latest"))
    _, first, first_digest = stored_index(reg, repo_name, "v1")
    assert [e["digest"] for e in first["manifests"]] == [amd["digest"], arm["digest"]]

    s390 = mm_images.push_image(reg, repo_name, "s390x", arch="s390x")
    amd2 = mm_images.push_image(reg, repo_name, "amd64-new", arch="amd64", salt="rebuilt")
    run = matrix_push(reg, repo_name, [{"image": s390["ref"]}, {"image": amd2["ref"]}], "--append",
                      "--tags", "latest", "--json")
    ok(run)
    body, doc, digest = stored_index(reg, repo_name, "v1")
    assert digest != first_digest
    assert run.json()["digest"] == digest
    assert platforms_of(doc) == ["linux/amd64", "linux/arm64/v8", "linux/s390x"]
    assert [e["digest"] for e in doc["manifests"]] == [amd2["digest"], arm["digest"], s390["digest"]]
    assert amd["digest"] not in body.decode()
    assert mm_images.get_manifest(reg, repo_name, "latest")[0] == body


# -- failures -----------------------------------------------------------------------------------

def test_missing_source_is_404(registry, repo_name):
    reg = registry
    amd = mm_images.push_image(reg, repo_name, "amd64", arch="amd64")
    missing = f"{reg.host}/{repo_name}:never-pushed"
    mark = len(reg.request_log())
    run = matrix_push(reg, repo_name, [{"image": amd["ref"]}, {"image": missing}], "--wait-timeout", "0")
    line = fails(run, 1)
    assert missing in line
    assert "404" in line or "MANIFEST_UNKNOWN" in line
    assert_nothing_pushed(reg, repo_name, ["v1"], mark)


@pytest.mark.parametrize("case", ["target-without-tag", "upper-case-target", "upper-case-source",
                                  "upper-case-spec-image"])
def test_bad_input_exit_2(registry, repo_name, tmp_path, case):
    reg = registry
    amd = mm_images.push_image(reg, repo_name, "amd64", arch="amd64")
    upper = repo_name.replace("t/", "t/Upper", 1)
    mark = len(reg.request_log())
    if case == "target-without-tag":
        run = run_cli("push", "from-matrix", "-", "--target", f"{reg.host}/{repo_name}",
                      stdin=json.dumps([{"image": amd["ref"]}]))
    elif case == "upper-case-target":
        run = run_cli("push", "from-matrix", "-", "--target", f"{reg.host}/{upper}:v1",
                      stdin=json.dumps([{"image": amd["ref"]}]))
    elif case == "upper-case-source":
        run = matrix_push(reg, repo_name, [{"image": amd["ref"]}, {"image": f"{reg.host}/{upper}:x"}])
    else:
        run, _ = spec_push(tmp_path, f"{reg.host}/{upper}:v1", [{"image": amd["ref"]}])
    line = fails(run, 2)
    assert run.out == ""
    if case != "target-without-tag":
        assert "Upper" in line
    assert requests_to(reg, repo_name, mark) == []
    assert not mm_images.manifest_exists(reg, repo_name, "v1")
