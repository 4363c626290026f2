"""One Publisher runs plans more than once: its pools live for one `run_all`, not for the Publisher (issue 20).

Before, the request and chain pools were made with the Publisher and shut at the end of the first
`run_all`, so a second run failed with "cannot schedule new futures after interpreter/pool shutdown".
"""
from __future__ import annotations

import pytest

import mm_images
from multiarch_ci.core.digest import Digest
from multiarch_ci.core.options import Options
from multiarch_ci.core.plan import SourceSpec, make_plan
from multiarch_ci.core.reference import ImageRef
from multiarch_ci.flow.publish import Publisher
from multiarch_ci.frontends.stores import Stores
from multiarch_ci.registry.connect import connect

RUNS = [   # (id, how the second run is started)
    ("run-then-run", lambda p, plans: [p.run(plans[0]), p.run(plans[1])]),
    ("run_all-then-run_all", lambda p, plans: p.run_all(plans[:1]) + p.run_all(plans[1:])),
]


@pytest.mark.parametrize("twice", [r[1] for r in RUNS], ids=[r[0] for r in RUNS])
def test_a_publisher_runs_twice(registry, repo_name, twice):
    amd = mm_images.push_image(registry, f"{repo_name}-amd64", "v1", arch="amd64")
    arm = mm_images.push_image(registry, f"{repo_name}-arm64", "v1", arch="arm64")
    sources = tuple(SourceSpec(ImageRef.parse(f"{registry.host}/{repo_name}-{a}:v1"), Digest.parse(i["digest"]))
                    for a, i in (("amd64", amd), ("arm64", arm)))
    plans = [make_plan(ImageRef.parse(f"{registry.host}/{repo_name}:{tag}"), (), sources) for tag in ("v1", "v2")]
    client = connect(environ={}, insecure_registries=[registry.host])
    publisher = Publisher(Stores(client), Options(wait_timeout=0, workers=4))
    first, second = twice(publisher, plans)
    assert first.pushed and second.pushed, (first, second)
    assert first.digest == second.digest   # the same sources: the same index, under v1 and then v2
    for tag in ("v1", "v2"):
        _, doc, digest = mm_images.stored_index(registry, repo_name, tag)
        assert digest == str(first.digest)
        assert sorted(m["digest"] for m in doc["manifests"]) == sorted([amd["digest"], arm["digest"]])
