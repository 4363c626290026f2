"""A layout source's cost is linear in its index.json entries with referrers on (issue 19 §3: 4,000 entries
ran past 60 s, index.json re-read and re-parsed for every entry; 0.2 s with referrers off). Counted, not
only timed: index.json is read once for all the children asking, each entry's manifest once."""
from __future__ import annotations

import json
import time

import mm_images
from mm_cli import run_cli
from multiarch_ci.core.digest import Digest
from multiarch_ci.core.location import LayoutRef
from multiarch_ci.layout.stores import LayoutStore

OCI_MANIFEST, OCI_INDEX = mm_images.OCI_MANIFEST, mm_images.OCI_INDEX
SIG = "application/vnd.example.signature.v1"


def _blob(out, data: bytes) -> dict:
    digest = mm_images.sha256_digest(data)
    (out / "blobs" / "sha256" / digest.split(":")[1]).write_bytes(data)
    return {"digest": digest, "size": len(data)}


def big_layout(out, entries: int) -> dict:
    """An index of two images tagged `app`, then `entries` artifact manifests listed in index.json, each
    referring to some other subject, and one signature of each child among them."""
    (out / "blobs" / "sha256").mkdir(parents=True)
    (out / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    empty = {"mediaType": "application/vnd.oci.empty.v1+json", **_blob(out, b"{}")}
    children = []
    for arch in ("amd64", "arm64"):
        config = _blob(out, json.dumps({"architecture": arch, "os": "linux",
                                        "rootfs": {"type": "layers", "diff_ids": []}}).encode())
        body = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": [],
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config}}).encode()
        children.append({"mediaType": OCI_MANIFEST, **_blob(out, body),
                         "platform": {"os": "linux", "architecture": arch}})
    top = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children}).encode()
    listed = [{"mediaType": OCI_INDEX, **_blob(out, top), "annotations": {"org.opencontainers.image.ref.name": "app"}}]
    signatures = {}
    for n in range(entries):
        subject = children[n % 2] if n < 2 else {"mediaType": OCI_MANIFEST, "digest": "sha256:" + f"{n:064x}",
                                                   "size": 10}
        payload = _blob(out, f"signature {n}".encode())
        body = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": SIG, "config": empty,
                           "layers": [{"mediaType": SIG, **payload}],
                           "subject": {k: subject[k] for k in ("mediaType", "digest", "size")}}).encode()
        desc = {"mediaType": OCI_MANIFEST, "artifactType": SIG, **_blob(out, body)}
        listed.append(desc)
        if n < 2:
            signatures[subject["digest"]] = desc["digest"]
    (out / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": listed}))
    return {"children": [c["digest"] for c in children], "signatures": signatures}


class Counting:
    """Wraps a layout's files and counts what is opened: index.json, and every other file."""

    def __init__(self, inner, counts: dict):
        self.inner, self.counts, self.where = inner, counts, inner.where

    def exists(self, rel):
        return self.inner.exists(rel)

    def size(self, rel):
        return self.inner.size(rel)

    def open(self, rel):
        key = "index.json" if rel == "index.json" else "other"
        self.counts[key] = self.counts.get(key, 0) + 1
        return self.inner.open(rel)


def referrers_of_every_child(monkeypatch, out, made: dict) -> tuple[dict, float]:
    """What the publish flow asks of a layout source with referrers on, as it asks it: each child's
    referrers through the layout's store; (files opened, seconds)."""
    import multiarch_ci.layout.reader as reader
    from multiarch_ci.layout.files import open_files as real
    counts: dict = {}
    monkeypatch.setattr(reader, "open_files", lambda path: Counting(real(path), counts))
    ref = LayoutRef(str(out), "app")
    store = LayoutStore(ref.path)
    start = time.perf_counter()
    for child in made["children"]:
        found = store.referrers_api(ref, Digest.parse(child)) or []
        assert [str(r.digest) for r in found] == [made["signatures"][child]]
    return counts, time.perf_counter() - start


def test_index_json_is_read_once_and_each_entry_once(monkeypatch, tmp_path):
    runs = {}
    for entries in (400, 4000):
        out = tmp_path / f"layout-{entries}"
        made = big_layout(out, entries)
        runs[entries] = referrers_of_every_child(monkeypatch, out, made)
    for entries, (counts, _) in runs.items():
        assert counts["index.json"] == 1, (entries, counts)
        assert counts["other"] <= entries + 10, (entries, counts)   # each entry's manifest, once
    small, big = runs[400][1], runs[4000][1]
    assert big < 30 * small + 1.0, (small, big)   # linear: about 10x the entries, about 10x the time


def test_a_4000_entry_layout_source_pushes_with_referrers_at_linear_cost(registry, repo_name, tmp_path):
    """The CLI end to end, referrers on: 4,000 entries cost a bounded multiple of 400 (they took over 60 s)."""
    seconds = {}
    for entries in (400, 4000):
        src = tmp_path / f"src-{entries}"
        made = big_layout(src, entries)
        start = time.perf_counter()
        r = run_cli("push", "from-matrix", "-", "--target", f"{registry.host}/{repo_name}-{entries}:v1", "--json",
                    stdin=json.dumps([{"image": f"oci-layout://{src}:app"}]), timeout=300)
        seconds[entries] = time.perf_counter() - start
        assert r.code == 0, r.err
        assert sorted(row["digest"] for row in r.json()["referrers"]) == sorted(made["signatures"].values())
    assert seconds[4000] < 4 * seconds[400] + 5, seconds
