"""The protocol's floor of requests, counted through a proxy in front of the real registry.

Per child: 1 manifest GET, 1 config GET (0 with --no-verify-platform and a declared platform), 1 mount
per blob, 1 child PUT; then 1 index PUT and 1 PUT per tag; the ping once per registry. Beyond the floor,
by choice: 1 HEAD per tag, the read-back that proves each tag holds the index (rule 9).
Referrers (default --referrers auto), for children copied from another repository while nothing refers
to them: one referrers API GET per registry (distribution 2.8 answers 404: the API is absent, so its other
children do not ask) and one tag list per source repository (the `sha256-<hex>` and cosign tags are looked
up in it, not guessed with 4 reads per child); --referrers none is the floor without them.
"""
import json
import re
from collections import Counter

import pytest

import mm_images
from mm_cli import run_cli
from mm_faults import FaultProxy

ARCHES = [("amd64", None), ("arm64", "v8"), ("ppc64le", None), ("s390x", None)]


def kinds(seen) -> Counter:
    c = Counter()
    for s in seen:
        path = s.path.split("?")[0]
        if path == "/v2/":
            c["ping"] += 1
        elif "/referrers/" in path:
            c[f"referrers {s.method}"] += 1
        elif "/manifests/" in path:
            c[f"manifest {s.method}"] += 1
        elif "/blobs/uploads/" in path:
            c["mount" if "mount=" in s.path else f"upload {s.method}"] += 1
        elif "/blobs/" in path:
            c[f"blob {s.method}"] += 1
        elif "/tags/list" in path:
            c["tags list"] += 1
        else:
            c[f"other {s.method} {path}"] += 1
    return c


def push_through(proxy, args, stdin=None):
    r = run_cli("push", *args, "--json", stdin=stdin)
    assert r.code == 0, r.err
    return r.json()




@pytest.mark.parametrize("verify", [True, False], ids=["verify-platform", "no-verify-platform"])
@pytest.mark.parametrize("referrers", ["auto", "none"])
def test_cross_repo_floor(registry, repo_name, verify, referrers):
    with FaultProxy(registry) as proxy:
        reg = proxy.registry
        imgs = [mm_images.push_image(registry, f"{repo_name}-{a}{v or ''}", "v1", arch=a, variant=v, layers=2)
                for a, v in ARCHES]
        matrix = [{"image": f"{reg.host}/{repo_name}-{a}{v or ''}:v1",
                   "platform": f"linux/{a}" + (f"/{v}" if v else "")} for a, v in ARCHES]
        mark = len(proxy.seen)
        push_through(proxy, ["from-matrix", "-", "--target", f"{reg.host}/{repo_name}:v1", "--tags", "latest",
                             "--referrers", referrers] + ([] if verify else ["--no-verify-platform"]),
                     stdin=json.dumps(matrix))
        got = kinds(proxy.seen[mark:])
    n, blobs, tags = len(imgs), sum(1 + 2 for _ in imgs), 2
    floor = Counter({"ping": 1, "manifest GET": n, "blob GET": n if verify else 0, "mount": blobs,
                     "manifest PUT": n + 1 + tags, "manifest HEAD": tags})
    discovery = Counter({"referrers GET": 1, "tags list": n}) if referrers == "auto" else Counter()
    assert got == floor + discovery - Counter(), got


def test_same_repo_needs_no_copy(registry, repo_name, tmp_path):
    with FaultProxy(registry) as proxy:
        reg = proxy.registry
        folder = tmp_path / "digests"
        folder.mkdir()
        for a, v in ARCHES:
            (folder / mm_images.push_image(registry, repo_name, None, arch=a, variant=v)["digest"][7:]).touch()
        mark = len(proxy.seen)
        push_through(proxy, ["from-digests", str(folder), "--target", f"{reg.host}/{repo_name}:v1"])
        got = kinds(proxy.seen[mark:])
    assert got == Counter({"ping": 1, "manifest GET": 4, "blob GET": 4, "manifest PUT": 2, "manifest HEAD": 1}), got


def test_attested_sources_floor(registry, repo_name):
    with FaultProxy(registry) as proxy:
        reg = proxy.registry
        for a in ("amd64", "s390x"):
            mm_images.push_attested_index(registry, f"{repo_name}-{a}", "v1", platforms=[("linux", a)])
        mark = len(proxy.seen)
        out = push_through(proxy, ["from-matrix", "-", "--target", f"{reg.host}/{repo_name}:v1",
                                   "--referrers", "none"],
                           stdin=json.dumps([{"image": f"{reg.host}/{repo_name}-{a}:v1"} for a in ("amd64", "s390x")]))
        got = kinds(proxy.seen[mark:])
    assert len(out["manifests"]) == 4  # 2 images + 2 attestations
    # per source: the index GET, then its image and attestation manifests; configs of images only;
    # each image has config + 1 layer, each attestation config + 1 in-toto layer: 8 blobs mounted
    assert got == Counter({"ping": 1, "manifest GET": 2 + 4, "blob GET": 2, "mount": 8,
                           "manifest PUT": 4 + 1 + 1, "manifest HEAD": 1}), got


def test_one_token_per_scope_group(token_registry, repo_name, tmp_path):
    reg = token_registry
    cfg = tmp_path / "docker"
    cfg.mkdir()
    import base64
    auth = base64.b64encode(f"{reg.username}:{reg.password}".encode()).decode()
    (cfg / "config.json").write_text(json.dumps({"auths": {reg.host: {"auth": auth}}}))
    for a, v in ARCHES:
        mm_images.push_image(reg, f"{repo_name}-{a}{v or ''}", "v1", arch=a, variant=v)
    n0 = len(reg.token_issuer.requests_log)
    r = run_cli("push", "from-matrix", "-", "--target", f"{reg.host}/{repo_name}:v1", "--json",
                env={"DOCKER_CONFIG": str(cfg)},
                stdin=json.dumps([{"image": f"{reg.host}/{repo_name}-{a}{v or ''}:v1"} for a, v in ARCHES]))
    assert r.code == 0, r.err
    tokens = reg.token_issuer.requests_log[n0:]
    assert len(tokens) == 1, tokens  # target push + 4 source pulls fit one scope group
    assert len([s for s in tokens[0]["scopes"] if re.match(r"repository:.*:pull", s)]) == 5


def test_cross_registry_reads_each_source_blob_once(registry, registry2, repo_name):
    """The config read for its platform is the one copied: no second GET of it."""
    with FaultProxy(registry2) as source:
        imgs = [mm_images.push_image(registry2, f"{repo_name}-{a}", "v1", arch=a, variant=v) for a, v in ARCHES[:2]]
        push_through(source, ["from-matrix", "-", "--target", f"{registry.host}/{repo_name}:v1"],
                     stdin=json.dumps([{"image": f"{source.host}/{repo_name}-{a}:v1"} for a, _ in ARCHES[:2]]))
        blob_gets = Counter(s.path.rsplit("/", 1)[1] for s in source.seen if s.method == "GET" and "/blobs/" in s.path)
    wanted = {d for i in imgs for d in [i["config_digest"], *i["layer_digests"]]}
    assert set(blob_gets) == wanted and set(blob_gets.values()) == {1}, blob_gets
