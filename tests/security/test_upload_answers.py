"""A chunked blob upload reads the registry's answers truthfully (issue 20, the attacker's probes):

- a registry that refuses a PATCH early (413 too large, 401) and closes without reading the chunk is
  reported at once with its status, not as a connection reset after 5 attempts;
- a PATCH whose answer was lost may have been taken: it is never sent again into the same upload (the
  registry then says 416 or 404 BLOB_UPLOAD_INVALID); the copy starts again from a fresh session.

The source image's one layer spans two 8 MiB chunks, so its copy to another registry is PATCHed. The
target is the real registry behind the fault proxy.
"""
from __future__ import annotations

import hashlib
import json

import pytest

import mm_images
from mm_cli import one_error, run_cli
from mm_faults import Fault, FaultProxy

BIG = 9 * 1024 * 1024 + 5
PATCH = r"/blobs/uploads/"


def push_big_image(reg, repo: str) -> dict:
    """An image whose one layer spans two chunks."""
    block = hashlib.sha512(repo.encode()).digest() * 16384
    layer = (block * (BIG // len(block) + 1))[:BIG]
    c, types = mm_images.client(reg), mm_images.FORMATS["oci"]
    desc = {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": c.push_blob(repo, layer), "size": BIG}
    config = mm_images.canonical_json({"architecture": "amd64", "os": "linux", "config": {},
                                       "rootfs": {"type": "layers", "diff_ids": [desc["digest"]]}})
    body = mm_images.canonical_json({"schemaVersion": 2, "mediaType": types["manifest"], "layers": [desc],
                                     "config": {"mediaType": types["config"], "size": len(config),
                                                "digest": c.push_blob(repo, config)}})
    digest = c.push_manifest(repo, body, types["manifest"], "v1")
    return {"ref": f"{reg.host}/{repo}:v1", "digest": digest, "layer": desc["digest"]}


def refuse_unread(status: int, headers: dict | None = None) -> Fault:
    """Answer at once, before reading the chunk, then close with the chunk unread (the client's send fails)."""
    def action(ex) -> None:
        body = json.dumps({"errors": [{"code": "SIZE_INVALID" if status == 413 else "UNAUTHORIZED",
                                       "message": "refused before reading"}]}).encode()
        ex.respond(status, {"Content-Type": "application/json", **(headers or {})}, body)
        ex.close()
    return Fault(f"refuse_unread({status})", action)


def answer_lost() -> Fault:
    """The registry takes the chunk; its answer never reaches the client (the connection is reset)."""
    def action(ex) -> None:
        ex.fetch()
        ex.reset()
    return Fault("answer_lost", action)


@pytest.fixture
def target(registry):
    with FaultProxy(registry, timeout=10.0) as p:
        yield p


def patches(proxy) -> list:
    return [s for s in proxy.seen if s.method == "PATCH"]


@pytest.mark.fault("upload-patch-refused-early", "reported")
@pytest.mark.parametrize("status, says", [(413, "HTTP 413"), (401, "HTTP 401")], ids=["413", "401"])
def test_a_patch_refused_before_its_chunk_was_read_is_reported_at_once(target, registry, registry2, repo_name,
                                                                        status, says):
    img = push_big_image(registry2, f"{repo_name}/src")
    target.add_rule("PATCH", PATCH, fault=refuse_unread(status))
    run = run_cli("push", "from-matrix", "-", "--target", f"{target.host}/{repo_name}:v1",
                  stdin=json.dumps([{"image": img["ref"]}]), timeout=120)
    line = one_error(run)
    assert "upload blob" in line and says in line, line
    assert "reset" not in line.lower() and "attempt" not in line, line
    assert len(patches(target)) == 1, [s.path for s in patches(target)]
    assert mm_images.list_tags(registry, repo_name) == []


@pytest.mark.fault("upload-patch-answer-lost", "survived")
def test_a_patch_whose_answer_was_lost_starts_a_fresh_upload(target, registry, registry2, repo_name):
    img = push_big_image(registry2, f"{repo_name}/src")
    rule = target.add_rule("PATCH", PATCH, on_attempts={1}, fault=answer_lost())
    run = run_cli("push", "from-matrix", "-", "--target", f"{target.host}/{repo_name}:v1",
                  stdin=json.dumps([{"image": img["ref"]}]), timeout=120)
    assert run.code == 0, run.err
    assert rule.fired == 1
    sent = [(s.path.split("?")[0], s.headers.get("Content-Range")) for s in patches(target)]
    assert len(sent) == len(set(sent)), sent        # no PATCH sent twice into the same session
    first_session = sent[0][0]
    assert any(path != first_session for path, _ in sent[1:]), sent     # a fresh session took the blob
    assert mm_images.blob_exists(registry, repo_name, img["layer"])
    assert mm_images.list_tags(registry, repo_name) == ["v1"]
