"""A tag read back with a digest in another algorithm (issue 19 §3): what was written is reported as written.

The fault proxy in front of the real registry rewrites the read-back HEAD's Docker-Content-Digest. A sha512
digest of the index is verified (the index hashed with sha512); a sha512 digest of something else, or an
algorithm the tool does not know, cannot verify the tag: exit 1 naming the tag and why, listing the tags
written (the unverified one marked) and those not written. Today's code said "tags written: none".
"""
from __future__ import annotations

import hashlib

import pytest

import mm_images
from mm_cli import one_error, run_cli
from mm_faults import Fault, FaultProxy


@pytest.fixture
def proxy(registry):
    with FaultProxy(registry, timeout=5.0) as p:
        yield p


def head_digest(registry, repo: str, rewrite) -> Fault:
    """Answer a manifest HEAD from upstream with Docker-Content-Digest replaced by `rewrite(stored bytes)`."""
    def action(ex) -> None:
        code, _reason, headers, _body = ex.fetch()
        stored = mm_images.get_manifest(registry, repo, ex.target.rsplit("/", 1)[1])[0] if code == 200 else b""
        ex.respond(code, {k: (rewrite(stored) if k.lower() == "docker-content-digest" else v) for k, v in headers})
    return Fault("head-digest", action)


CASES = {
    # id: (the digest the read-back HEAD says, verified?, what the error says)
    "sha512-of-the-index": (lambda body: "sha512:" + hashlib.sha512(body).hexdigest(), True, None),
    "sha512-of-something-else": (lambda body: "sha512:" + hashlib.sha512(body + b" ").hexdigest(), False,
                                 "it holds sha512:"),
    "unknown-algorithm": (lambda body: "blake3:" + hashlib.sha256(body).hexdigest(), False,
                          "unsupported algorithm 'blake3'"),
}


@pytest.mark.hostile("read-back digest in another algorithm")
@pytest.mark.parametrize("case", list(CASES))
def test_a_tag_read_back_in_another_algorithm_is_reported_as_written(proxy, registry, repo_name, case):
    rewrite, verified, says = CASES[case]
    mm_images.push_image(registry, repo_name, "amd64", arch="amd64")
    proxy.add_rule("HEAD", rf"/{repo_name}/manifests/v1$", fault=head_digest(registry, repo_name, rewrite))
    run = run_cli("push", "from-args", "--platforms", "linux/amd64", "--template", f"{proxy.host}/{repo_name}:ARCH",
                  "--target", f"{proxy.host}/{repo_name}:v1", "--tags", "v2", "--json")
    if verified:
        assert run.code == 0, run.err
        assert run.json()["tags"] == [f"{proxy.host}/{repo_name}:v1", f"{proxy.host}/{repo_name}:v2"]
        assert {"v1", "v2"} <= set(mm_images.list_tags(registry, repo_name))
        return
    line = one_error(run)
    assert f"tag {proxy.host}/{repo_name}:v1 was written but could not be verified" in line, line
    assert says in line and "tags written: v1 (v1 unverified); not written: v2" in line, line
    tags = mm_images.list_tags(registry, repo_name)
    assert "v1" in tags and "v2" not in tags, tags
    digest = mm_images.stored_index(registry, repo_name, "v1")[2]   # v1 holds the index, as reported
    assert mm_images.manifest_exists(registry, repo_name, digest)
