"""Tags: the first is written and read back alone, the others at once (each read back), the floating ones
after the repository's tags are read; a run with several tags no longer pays two round trips per tag.

Through the fault proxy: the PUTs of the tags that should go together wait at a barrier that opens only
when all of them are in flight (written one after another, it times out and they are answered 500); the
first tag's PUT and read-back are seen before any of them, and the tag listing before the floating ones.
"""
from __future__ import annotations

import json
import re
import threading

import pytest

import mm_images
from mm_cli import run_cli
from mm_faults import Fault, FaultProxy


@pytest.fixture
def proxy(registry):
    with FaultProxy(registry, timeout=10.0) as p:
        yield p


def together(n: int) -> Fault:
    """Forward a request only once `n` of them wait here together; else 500 (they were not sent at once)."""
    barrier = threading.Barrier(n, timeout=5)

    def action(ex) -> None:
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            ex.respond(500, body=b"not in flight together")
            return
        ex.forward()
    return Fault("together", action)


CASES = {
    # id: (target tag, extra arguments, tags that must be in flight together, every tag the run writes)
    "exact-tags": ("v1", ["--tags", "a,b,c"], ("a", "b", "c"), ("v1", "a", "b", "c")),
    "floating-tags": (None, ["--semver", "1.4.2"], ("1.4", "1", "latest"), ("1.4.2", "1.4", "1", "latest")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_tags_after_the_first_are_written_at_once_and_each_read_back(proxy, registry, repo_name, case):
    first, extra, at_once, every = CASES[case]
    img = mm_images.push_image(registry, f"{repo_name}-amd64", "x", arch="amd64")
    source = img["ref"].replace(registry.host, proxy.host)
    names = "|".join(re.escape(t) for t in at_once)
    proxy.add_rule("PUT", rf"/{re.escape(repo_name)}/manifests/({names})$", fault=together(len(at_once)))
    target = f"{proxy.host}/{repo_name}" + (f":{first}" if first else "")
    r = run_cli("push", "from-matrix", "-", "--target", target, *extra, "--json",
                stdin=json.dumps([{"image": source}]))
    assert r.code == 0, r.err[-2000:]
    assert r.json()["tags"] == [f"{proxy.host}/{repo_name}:{t}" for t in every]
    digest = r.json()["digest"]
    assert {t: mm_images.get_manifest(registry, repo_name, t)[2] for t in every} == dict.fromkeys(every, digest)
    seen = [(s.method, s.path.split("?")[0].rsplit("/", 2)[-2:], s.status) for s in proxy.seen
            if s.path.startswith(f"/v2/{repo_name}/")]
    tag_puts = [i for i, (m, (kind, ref), _) in enumerate(seen) if m == "PUT" and kind == "manifests"
                and not ref.startswith("sha256:")]
    heads = {ref: i for i, (m, (kind, ref), _) in enumerate(seen) if m == "HEAD" and kind == "manifests"}
    first_tag = every[0]
    first_put = next(i for i in tag_puts if seen[i][1][1] == first_tag)
    assert first_put < heads[first_tag] < min(i for i in tag_puts if seen[i][1][1] != first_tag), seen
    assert set(heads) >= set(every), seen                      # every tag read back
    if case == "floating-tags":                                 # the repository's tags read in between
        listed = [i for i, (m, (kind, _), _) in enumerate(seen) if m == "GET" and kind == "tags"]
        assert listed and heads[first_tag] < listed[-1] < min(i for i in tag_puts if seen[i][1][1] != first_tag)
    assert [seen[i][2] for i in tag_puts] == [201] * len(every), seen
