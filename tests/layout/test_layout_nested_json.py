"""JSON nested past any parser's depth in a layout is bad input naming the file, never an internal error
(issue 19 §3: an index.json nested 200,000 deep was "internal error: RecursionError"): index.json and
oci-layout, a manifest blob the layout lists, in a layout source, a layout target and under `inspect`."""
from __future__ import annotations

import json

import pytest

import mm_images
from mm_cli import one_error, run_cli
from mm_layouts import to_layout
from mm_runner import log_mark, requests_since

DEEP = 200_000


def nested(depth: int) -> bytes:
    return b'{"schemaVersion":2,"manifests":' + b"[" * depth + b"]" * depth + b"}"


def hostile_manifest(out) -> str:
    """A blob named by its own digest, listed in index.json under tag `deep`, that nests too deeply."""
    body = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":' + \
        b"[" * DEEP + b"]" * DEEP + b"}"
    digest = mm_images.sha256_digest(body)
    (out / "blobs" / "sha256" / digest.split(":")[1]).write_bytes(body)
    index = json.loads((out / "index.json").read_text())
    index["manifests"].append({"mediaType": mm_images.OCI_MANIFEST, "digest": digest, "size": len(body),
                               "annotations": {"org.opencontainers.image.ref.name": "deep"}})
    (out / "index.json").write_text(json.dumps(index))
    return f"blobs/sha256/{digest.split(':')[1]}"


@pytest.mark.bad_input
@pytest.mark.hostile("layout JSON nested 200,000 deep")
@pytest.mark.parametrize("where,what", [
    ("source", "index.json"), ("source", "oci-layout"), ("source", "manifest"),
    ("target", "index.json"), ("inspect", "index.json"), ("inspect", "manifest"),
])
def test_json_nested_too_deeply_in_a_layout_is_bad_input_naming_the_file(registry, repo_name, tmp_path, where, what):
    image = mm_images.push_image(registry, repo_name, "v1", fmt="oci")
    out = tmp_path / "oci"
    to_layout(registry, repo_name, "v1", out)
    tag = "v1"
    if what == "index.json":
        (out / "index.json").write_bytes(nested(DEEP))
        named = "index.json"
    elif what == "oci-layout":
        (out / "oci-layout").write_bytes(b"[" * 2000 + b"]" * 2000)   # under its 4 KiB cap, still too deep
        named = "oci-layout"
    else:
        named, tag = hostile_manifest(out), "deep"
    if where == "inspect":
        args = ["inspect", f"oci-layout://{out}:{tag}"]
    elif where == "source":
        args = ["push", "from-matrix", "-", "--target", f"{registry.host}/{repo_name}-out:v1"]
    else:
        args = ["push", "from-matrix", "-", "--target", f"oci-layout://{out}:v2"]
    source = f"oci-layout://{out}:{tag}" if where == "source" else image["ref"]
    mark = log_mark(registry)
    line = one_error(run_cli(*args, stdin=json.dumps([{"image": source}])), code=2)
    assert str(out) in line and named in line and "internal error" not in line, line
    assert requests_since(registry, mark) == []
