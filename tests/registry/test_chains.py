"""One chain per source (issue 15): a source's reads do not wait for another source's slow answer.

Order of events through a proxy in front of the real registry, not durations: the fast source's config
GET must reach the registry while the slow source's manifest GET is still unanswered (with phases, every
config GET waited for the last manifest GET).
"""
import json
import time

import mm_images
from mm_cli import run_cli
from mm_faults import Fault, FaultProxy


def test_a_slow_source_does_not_hold_back_the_reads_of_the_others(registry, repo_name):
    mm_images.push_image(registry, f"{repo_name}-a", "v1", arch="amd64")
    b = mm_images.push_image(registry, f"{repo_name}-b", "v1", arch="arm64", variant="v8")
    events: list[tuple[float, str]] = []

    def slow_manifest(ex):
        ex.wait(2.0)
        ex.forward()
        events.append((time.monotonic(), "a: manifest answered"))

    def config_asked(ex):
        events.append((time.monotonic(), "b: config asked"))
        ex.forward()

    with FaultProxy(registry) as proxy:
        proxy.add_rule("GET", rf"/v2/{repo_name}-a/manifests/", fault=Fault("slow manifest", slow_manifest))
        proxy.add_rule("GET", rf"/v2/{repo_name}-b/blobs/{b['config_digest']}", fault=Fault("config", config_asked))
        # --referrers none: the referrers tag GET (manifests/sha256-<hex>) would match the slow rule too
        r = run_cli("push", "from-matrix", "-", "--target", f"{proxy.host}/{repo_name}:v1", "--json",
                    "--referrers", "none",
                    stdin=json.dumps([{"image": f"{proxy.host}/{repo_name}-{x}:v1"} for x in "ab"]))
    assert r.code == 0, r.err
    assert [what for _, what in sorted(events)] == ["b: config asked", "a: manifest answered"]
    assert len(r.json()["manifests"]) == 2


def push_sharing(registry, repo: str, arch: str, shared: bytes, diff_id: str) -> dict:
    """An image whose only layer is `shared` (the same base layer as another source's)."""
    c, types = mm_images.client(registry), mm_images.FORMATS["docker"]
    layer = {"mediaType": types["layer"], "digest": c.push_blob(repo, shared), "size": len(shared)}
    config = mm_images.canonical_json({"architecture": arch, "os": "linux", "config": {},
                                       "rootfs": {"type": "layers", "diff_ids": [diff_id]}})
    body = mm_images.canonical_json({"schemaVersion": 2, "mediaType": types["manifest"], "layers": [layer],
                                     "config": {"mediaType": types["config"], "size": len(config),
                                                "digest": c.push_blob(repo, config)}})
    return {"digest": c.push_manifest(repo, body, types["manifest"], "v1"), "layer": layer["digest"]}


def test_a_layer_shared_by_two_sources_is_mounted_once(registry, repo_name):
    shared, diff_id = mm_images._layer(f"{repo_name} shared base layer")
    a = push_sharing(registry, f"{repo_name}-a", "amd64", shared, diff_id)
    b = push_sharing(registry, f"{repo_name}-b", "s390x", shared, diff_id)
    assert a["layer"] == b["layer"]
    with FaultProxy(registry) as proxy:
        r = run_cli("push", "from-matrix", "-", "--target", f"{proxy.host}/{repo_name}:v1", "--json",
                    stdin=json.dumps([{"image": f"{proxy.host}/{repo_name}-{x}:v1"} for x in "ab"]))
        mounts = [s.path for s in proxy.seen if "mount=" in s.path]
    assert r.code == 0, r.err
    assert sorted(m["digest"] for m in r.json()["manifests"]) == sorted([a["digest"], b["digest"]])
    assert sum(a["layer"].replace(":", "%3A") in m for m in mounts) == 1, mounts
    assert len(mounts) == 3    # the shared layer once, each config once
    assert mm_images.blob_exists(registry, repo_name, a["layer"])
