"""A blob stream broken mid-copy between registries starts over with a fresh upload."""
import json

import pytest

import mm_images
from mm_cli import run_cli
from mm_faults import FaultProxy, reset_mid_body


@pytest.mark.fault("blob-stream-broken", "survived")
def test_broken_blob_stream_is_copied_again(registry, registry2, repo_name):
    img = mm_images.push_image(registry2, f"{repo_name}-src", "v1", arch="amd64", layers=1)
    layer = img["layer_digests"][0]
    with FaultProxy(registry2) as source:
        source.add_rule("GET", rf"/blobs/{layer}", on_attempts={1}, fault=reset_mid_body())
        r = run_cli("push", "from-matrix", "-", "--target", f"{registry.host}/{repo_name}:v1", "--json",
                    stdin=json.dumps([{"image": f"{source.host}/{repo_name}-src:v1"}]))
        statuses = [s.status for s in source.seen if layer in s.path and s.method == "GET"]
    assert r.code == 0, r.err
    assert len(statuses) == 2 and "starting it again" in r.err
    assert mm_images.blob_exists(registry, repo_name, layer)
    assert mm_images.list_tags(registry, repo_name) == ["v1"]
