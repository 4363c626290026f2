"""Which threads wait for what: a referrer lookup never holds a request-pool thread the mounts need.

The lookups (the referrers API question, the source repository's tag list) start as each source is read
and may still be out when every source is checked and the mounts go. On the request pool they held its
threads, so half of the mounts waited a round trip for them. Here the tag list is held by the fault proxy
until the run's mounts have all arrived (or 5 s); with `--workers 2` the request pool has two threads,
exactly as many as the lookups of two sources.
"""
from __future__ import annotations

import json
import threading

import mm_images
from mm_cli import run_cli
from mm_faults import Fault, FaultProxy


def hold_until(proxy: FaultProxy, method: str, path_regex: str, count: int, seconds: float, waited: list) -> Fault:
    """Answer only once `count` requests like (method, path_regex) have come in; `waited` gets True when
    the time ran out first."""
    arrived = threading.Event()

    def action(ex) -> None:
        for _ in range(int(seconds / 0.02)):
            if proxy.count(method, path_regex) >= count:
                arrived.set()
                break
            ex.wait(0.02)
        waited.append(not arrived.is_set())
        ex.forward()
    return Fault("hold-until-mounts", action)


def test_the_mounts_go_while_the_referrer_lookups_are_out(registry, repo_name):
    images = [mm_images.push_image(registry, f"{repo_name}-src", "amd64", arch="amd64"),
              mm_images.push_image(registry, f"{repo_name}-src", "arm64", arch="arm64", variant="v8")]
    mounts = sum(1 + len(i["layer_digests"]) for i in images)   # config + layers, each mounted once
    waited: list[bool] = []
    with FaultProxy(registry, timeout=10.0) as proxy:
        proxy.add_rule("GET", r"/tags/list", fault=hold_until(proxy, "POST", r"/blobs/uploads/\?mount=", mounts,
                                                              5.0, waited))
        run = run_cli("push", "from-matrix", "-", "--target", f"{proxy.host}/{repo_name}:v1", "--workers", "2",
                      "--json", stdin=json.dumps([{"image": f"{proxy.host}/{repo_name}-src:{t}"}
                                                  for t in ("amd64", "arm64")]))
        assert run.code == 0, run.err
        assert proxy.count("GET", r"/tags/list") >= 1   # the lookups did list the tags
    assert proxy.count("POST", r"/blobs/uploads/\?mount=") == mounts
    assert waited and not any(waited), "the mounts waited for the referrer lookups"
