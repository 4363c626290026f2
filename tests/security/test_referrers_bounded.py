"""Referrers are bounded (issue 19 §3): what a source lists or serves as referrers cannot take the run's memory.

A hostile listing (the referrers API paging 22,000 descriptors a page, a tag-schema index of 300 entries,
64 referrers of 4 MiB) fails the run at once, exit 1, naming the image and the cap, with the
`--referrers none` hint: nothing is tagged and no referrer is dropped without a word. Big referrer
manifests that are within the caps are all copied, holding at most 8 MiB of them at once. A listing
whose sizes lie is an integrity error. The caps: docs/layouts-referrers-targets.md (referrers) and
docs/reliability.md.

The real CLI runs as a subprocess (sources and target behind the fault proxy, which also serves the API
pages distribution 2.8 lacks); its peak resident set size is measured from outside (`ru_maxrss` from
`os.wait4`) and compared with the same run with `--referrers none`. A watchdog kills a run whose RSS
passes KILL_AT, so a regression fails the test instead of exhausting the machine.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import mm_artifacts
import mm_images
import mm_measured
from mm_cli import one_error
from mm_faults import Fault, FaultProxy
from mm_measured import Measured

MIB = 1024 * 1024
REFERRERS_ADD_AT_MOST = 64 * MIB   # the stated bound: what referrers add to a run's peak RSS (see the notes)
KILL_AT = 384 * MIB                # a run past this is stopped (today's code reached 1.1 GiB)
HINT = "--referrers none"


def run_measured(*args: str, timeout: float = 120) -> Measured:
    """`multiarch-manifest ARGS` as mm_cli.run_cli runs it; its own peak RSS (mm_measured); killed past KILL_AT."""
    return mm_measured.run_measured(*args, timeout=timeout, stop_when=lambda pid: (
        f"resident set past {KILL_AT // MIB} MiB" if mm_measured.rss_now(pid) > KILL_AT else ""))


def within_bound(m: Measured, without: Measured) -> None:
    """The run ended by itself and its referrers added at most REFERRERS_ADD_AT_MOST to its peak RSS."""
    assert not m.stopped, (m.stopped, m.run.err[-2000:])
    assert m.rss <= without.rss + REFERRERS_ADD_AT_MOST, (m.rss // MIB, without.rss // MIB, m.run.err[-2000:])


@pytest.fixture
def proxy(registry):
    with FaultProxy(registry, timeout=10.0) as p:
        yield p


def matrix(tmp_path: Path, refs: list[str]) -> str:
    path = tmp_path / "matrix.json"
    path.write_text(json.dumps([{"image": r} for r in refs]))
    return str(path)


def fake_entry(i: int, size: int, art: str | None = mm_artifacts.SIG, **notes: str) -> dict:
    """A referrer descriptor naming a manifest nobody pushed (a listing is capped before anything is read)."""
    entry = {"mediaType": mm_images.OCI_MANIFEST, "digest": f"sha256:{i:064x}", "size": size}
    return {**entry, **({"artifactType": art} if art else {}), **({"annotations": notes} if notes else {})}


def page(entries: list[dict]) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": mm_images.OCI_INDEX, "manifests": entries},
                      separators=(",", ":")).encode()


def api_pages(body: bytes) -> Fault:
    """The referrers API (which distribution 2.8 lacks), answering every page with `body` and a rel=next
    link: it never ends before the page limit."""
    def action(ex) -> None:
        ex.drain()
        n = int(ex.target.rpartition("page=")[2]) + 1 if "page=" in ex.target else 1
        ex.respond(200, {"Content-Type": mm_images.OCI_INDEX,
                         "Link": f'<{ex.target.split("?")[0]}?page={n}>; rel="next"'}, body)
    return Fault("api_pages", action)


def tag_index(body: bytes) -> Fault:
    """The `sha256-<hex>` tag answering `body` (entries naming manifests the registry never stored)."""
    def action(ex) -> None:
        ex.drain()
        ex.respond(200, {"Content-Type": mm_images.OCI_INDEX}, body)
    return Fault("tag_index", action)


# -- a listing over a cap: exit 1 at once, naming the image and the cap -----------------------------------

def api_page(n: int) -> bytes:
    """A page of `n` descriptors as small as they come: 22,000 fit under the 4 MiB a page may be."""
    body = page([fake_entry(i, 600, art=None) for i in range(n)])
    assert len(body) < 4 * MIB
    return body


LISTINGS = {
    # id: (what the API answers on every page | None, what the tag-schema index holds | None, what the error says)
    "api-100-pages-of-22000": (lambda: api_page(22000), None, "KiB"),
    "api-pages-of-200": (lambda: api_page(200), None, "more than 256 referrers"),
    "api-page-of-empty-arrays": (lambda: b'{"manifests":[' + b",".join([b"[]"] * 300_000) + b"]}", None,
                                 "JSON values"),
    "tag-schema-300-entries": (None, lambda: page([fake_entry(i, 600, created="2026-12-01") for i in range(300)]),
                               "more than 256 referrers"),
    "64-referrers-of-4-MiB": (None, lambda: page([fake_entry(i, 4 * MIB) for i in range(64)]),
                              "over the cap of 64 MiB"),
    "one-referrer-of-5-MiB": (None, lambda: page([fake_entry(1, 5 * MIB)]), "over the cap of 4 MiB for a manifest"),
}


@pytest.mark.hostile("referrers listing over the caps")
@pytest.mark.parametrize("case", list(LISTINGS))
def test_a_listing_over_a_cap_fails_at_once_naming_the_image_and_the_cap(proxy, registry, repo_name, tmp_path,
                                                                         case):
    api, tagged, says = LISTINGS[case]
    src = f"{repo_name}-src"
    image = mm_images.push_image(registry, src, "v1", fmt="oci")
    if tagged:   # the tag exists (a registry checks an index's entries); the proxy serves the hostile one
        mm_artifacts.push_tag_index(registry, src, image, [])
        proxy.add_rule("GET", r"/manifests/sha256-[0-9a-f]{64}$", fault=tag_index(tagged()))
    if api:
        proxy.add_rule("GET", r"/referrers/", fault=api_pages(api()))
    args = ["push", "from-matrix", matrix(tmp_path, [f"{proxy.host}/{src}:v1"])]
    without = run_measured(*args, "--target", f"{proxy.host}/{repo_name}-none:v1", "--referrers", "none")
    assert without.run.code == 0, without.run.err
    since = len(proxy.seen)
    m = run_measured(*args, "--target", f"{proxy.host}/{repo_name}:v1")
    within_bound(m, without)
    line = one_error(m.run)
    assert f"referrers of {proxy.host}/{src}@{image['digest']}" in line, line
    assert says in line and HINT in line and "nothing tagged" in line, line
    assert mm_images.list_tags(registry, repo_name) == []
    seen = [s.path for s in proxy.seen[since:]]
    assert not [p for p in seen if "/manifests/sha256:000000" in p], seen   # no listed referrer was read
    assert sum("/referrers/" in p for p in seen) <= 2, seen                  # the listing stopped at the cap


# -- big referrers within the caps: all copied, at most 8 MiB of them held at once -----------------------

def big_referrer(reg, repo: str, subject: dict, i: int, size: int) -> dict:
    """An artifact manifest of about `size` bytes (a long annotation) referring to `subject`; its listing
    entry (which stays small)."""
    c = mm_images.client(reg)
    payload = b"signature %d of %s" % (i, subject["digest"].encode())
    doc = {"schemaVersion": 2, "mediaType": mm_images.OCI_MANIFEST, "artifactType": mm_artifacts.SIG,
           "config": {"mediaType": mm_artifacts.EMPTY, "digest": c.push_blob(repo, b"{}"), "size": 2},
           "layers": [{"mediaType": mm_artifacts.SIG, "digest": c.push_blob(repo, payload), "size": len(payload)}],
           "subject": {"mediaType": subject["media_type"], "digest": subject["digest"], "size": subject["size"]},
           "annotations": {"pad": chr(ord("a") + i % 26) * size}}
    body = mm_images.canonical_json(doc)
    digest = c.push_manifest(repo, body, mm_images.OCI_MANIFEST, None)
    return {"mediaType": mm_images.OCI_MANIFEST, "digest": digest, "size": len(body),
            "artifactType": mm_artifacts.SIG}


@pytest.mark.hostile("big referrer manifests")
def test_big_referrers_within_the_caps_are_all_copied_holding_few_at_once(registry, repo_name, tmp_path):
    refs, listed = [], []
    for arch in ("amd64", "arm64", "ppc64le", "s390x"):      # four sources: four chains copy at once
        src = f"{repo_name}-{arch}"
        image = mm_images.push_image(registry, src, "v1", fmt="oci", arch=arch)
        entries = [big_referrer(registry, src, image, i, 3 * MIB) for i in range(5)]
        mm_artifacts.push_tag_index(registry, src, image, entries)
        refs.append(f"{registry.host}/{src}:v1")
        listed += [e["digest"] for e in entries]
    args = ["push", "from-matrix", matrix(tmp_path, refs), "--json"]
    without = run_measured(*args, "--target", f"{registry.host}/{repo_name}-none:v1", "--referrers", "none")
    assert without.run.code == 0, without.run.err
    m = run_measured(*args, "--target", f"{registry.host}/{repo_name}:v1")
    assert m.run.code == 0, m.run.err
    within_bound(m, without)       # 60 MiB of referrer manifests; today all were held at once
    assert sorted(r["digest"] for r in m.run.json()["referrers"]) == sorted(listed)
    for digest in listed:
        assert mm_images.manifest_exists(registry, repo_name, digest), digest


# -- a listing whose sizes lie: an integrity error, not a bigger read -----------------------------------

@pytest.mark.hostile("referrer listed with a wrong size")
@pytest.mark.parametrize("lie", ["listed-smaller-than-it-is", "listed-larger-than-it-is"])
def test_a_referrer_whose_listed_size_is_wrong_fails_the_run(proxy, registry, repo_name, tmp_path, lie):
    src = f"{repo_name}-src"
    image = mm_images.push_image(registry, src, "v1", fmt="oci")
    entry = big_referrer(registry, src, image, 0, 64 * 1024)
    told = 1000 if lie == "listed-smaller-than-it-is" else entry["size"] + 1000
    mm_artifacts.push_tag_index(registry, src, image, [{**entry, "size": told}])
    m = run_measured("push", "from-matrix", matrix(tmp_path, [f"{proxy.host}/{src}:v1"]),
                     "--target", f"{proxy.host}/{repo_name}:v1")
    line = one_error(m.run)
    assert entry["digest"] in line and str(told) in line, line
    assert mm_images.list_tags(registry, repo_name) == []
    assert not mm_images.manifest_exists(registry, repo_name, entry["digest"])
