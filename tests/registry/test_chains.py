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
        r = run_cli("push", "from-matrix", "-", "--target", f"{proxy.host}/{repo_name}:v1", "--json",
                    stdin=json.dumps([{"image": f"{proxy.host}/{repo_name}-{x}:v1"} for x in "ab"]))
    assert r.code == 0, r.err
    assert [what for _, what in sorted(events)] == ["b: config asked", "a: manifest answered"]
    assert len(r.json()["manifests"]) == 2
