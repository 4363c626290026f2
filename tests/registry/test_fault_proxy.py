"""The fault-injecting proxy (``mm_faults``) against a real registry, driven with plain requests."""
from __future__ import annotations

import email.utils
import hashlib
import os
import threading
import time
import urllib.parse

import pytest
import requests

import mm_images
from mm_faults import (
    FaultProxy,
    not_found_until,
    redirect,
    reset_before,
    reset_mid_body,
    retry_after_date,
    slow,
    status,
    tamper,
    truncate,
)

ACCEPT = {"Accept": ", ".join(mm_images.ALL_MANIFEST_TYPES)}


@pytest.fixture
def proxy(registry):
    with FaultProxy(registry) as p:
        yield p


@pytest.fixture
def http():
    with requests.Session() as s:
        s.trust_env = False
        yield s


@pytest.fixture
def image(registry, repo_name):
    return mm_images.push_image(registry, repo_name, "v1")


def _manifest_path(repo, ref="v1"):
    return f"/v2/{repo}/manifests/{ref}"


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _blob(registry, repo, size=256 * 1024) -> tuple[bytes, str]:
    data = os.urandom(size)
    return data, mm_images.client(registry).push_blob(repo, data)


def test_passthrough_get_and_head_equal_upstream(registry, proxy, http, repo_name, image):
    path = _manifest_path(repo_name)
    for method in ("GET", "HEAD"):
        direct = http.request(method, registry.url + path, headers=ACCEPT, timeout=5)
        via = http.request(method, proxy.url + path, headers=ACCEPT, timeout=5)
        assert (via.status_code, via.content) == (direct.status_code, direct.content)
        for h in ("Content-Type", "Content-Length", "Docker-Content-Digest", "Etag"):
            assert via.headers.get(h) == direct.headers.get(h), h
        assert via.headers["Connection"] == "close"
    r = http.get(proxy.url + path, headers=ACCEPT, timeout=5)
    assert _sha(r.content) == image["digest"]
    layer = image["layer_digests"][0]
    r = http.get(f"{proxy.url}/v2/{repo_name}/blobs/{layer}", timeout=5)
    assert r.status_code == 200 and _sha(r.content) == layer
    assert [(m, p, s) for m, p, s, _ in proxy.seen[-2:]] == [
        ("GET", path, 200), ("GET", f"/v2/{repo_name}/blobs/{layer}", 200)]
    assert proxy.seen[-1].headers["Host"] == proxy.host          # as the client sent it
    assert proxy.count("GET", r"/manifests/") == 2 and proxy.count("HEAD") == 1
    assert http.get(proxy.url + _manifest_path(repo_name, "nope"), headers=ACCEPT,
                    timeout=5).status_code == 404


def test_blob_upload_through_proxy_rewrites_location(registry, proxy, http, repo_name):
    # monolithic: POST, then PUT ?digest= with a Content-Length body
    small = os.urandom(4096)
    r = http.post(f"{proxy.url}/v2/{repo_name}/blobs/uploads/", timeout=5)
    assert r.status_code == 202, r.text
    location = r.headers["Location"]
    assert registry.host not in location
    url = urllib.parse.urljoin(proxy.url + "/", location)
    assert url.startswith(proxy.url + "/")
    r = http.put(url, params={"digest": _sha(small)}, data=small, timeout=5,
                 headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 201, r.text
    assert registry.host not in r.headers["Location"]
    assert mm_images.blob_exists(registry, repo_name, _sha(small))

    # chunked: POST, PATCH 24 MiB with Transfer-Encoding: chunked, PUT to finish
    big = os.urandom(24 * 1024 * 1024)
    r = http.post(f"{proxy.url}/v2/{repo_name}/blobs/uploads/", timeout=5)
    url = urllib.parse.urljoin(proxy.url + "/", r.headers["Location"])
    chunks = (big[i:i + (1 << 20)] for i in range(0, len(big), 1 << 20))
    r = http.patch(url, data=chunks, timeout=10,
                   headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 202, r.text
    assert r.headers["Range"] == f"0-{len(big) - 1}"
    url = urllib.parse.urljoin(proxy.url + "/", r.headers["Location"])
    assert url.startswith(proxy.url + "/")
    r = http.put(url, params={"digest": _sha(big)}, timeout=10)
    assert r.status_code == 201, r.text
    r = http.get(f"{registry.url}/v2/{repo_name}/blobs/{_sha(big)}", timeout=10)
    assert r.status_code == 200 and _sha(r.content) == _sha(big)
    assert [m for m, *_ in proxy.seen] == ["POST", "PUT", "POST", "PATCH", "PUT"]
    deadline = time.monotonic() + 3                  # the access log line trails the response
    while True:
        upstream = [(m, s) for m, p, s in registry.request_log() if repo_name in p]
        if ("PATCH", 202) in upstream and upstream.count(("PUT", 201)) == 2:
            break
        assert time.monotonic() < deadline, upstream
        time.sleep(0.05)


def test_status_429_retry_after_seconds_and_date(proxy, http, repo_name, image):
    path = _manifest_path(repo_name)
    proxy.add_rule(method="GET", path=path, on_attempts={1}, fault=status(429, {"Retry-After": "2"}))
    date = retry_after_date(3)
    proxy.add_rule(method="GET", path=path, on_attempts={2},
                   fault=status(429, {"Retry-After": date}, b"slow down"))
    r = http.get(proxy.url + path, headers=ACCEPT, timeout=5)
    assert (r.status_code, r.headers["Retry-After"], r.content) == (429, "2", b"")
    r = http.get(proxy.url + path, headers=ACCEPT, timeout=5)
    assert (r.status_code, r.headers["Retry-After"], r.content) == (429, date, b"slow down")
    delta = email.utils.parsedate_to_datetime(date).timestamp() - time.time()
    assert 1 < delta <= 3
    assert http.get(proxy.url + path, headers=ACCEPT, timeout=5).status_code == 200
    assert [s.status for s in proxy.seen] == [429, 429, 200]


def test_503_on_first_two_attempts_then_passthrough(proxy, http, repo_name, image):
    path = _manifest_path(repo_name)
    rule = proxy.add_rule(method="GET", path=path, on_attempts={1, 2}, fault=status(503))
    assert http.head(proxy.url + path, headers=ACCEPT, timeout=5).status_code == 200  # not GET
    codes = [http.get(proxy.url + path, headers=ACCEPT, timeout=5).status_code for _ in range(4)]
    assert codes == [503, 503, 200, 200]
    assert (rule.hits, rule.fired) == (4, 2)


def test_callable_attempts_and_error_codes(proxy, http, repo_name, image):
    path = _manifest_path(repo_name)
    proxy.add_rule(path=r"/manifests/", on_attempts=lambda n: n % 2 == 0, fault=status(502))
    proxy.add_rule(path=r"/manifests/", fault=status(500))          # takes the odd ones
    codes = [http.get(proxy.url + path, timeout=5).status_code for _ in range(3)]
    assert codes == [500, 502, 500]
    proxy.clear_rules()
    proxy.add_rule(fault=status(504))
    assert http.get(proxy.url + "/v2/", timeout=5).status_code == 504


def test_reset_before_raises_connection_error(proxy, http, repo_name, image):
    path = _manifest_path(repo_name)
    proxy.add_rule(method="GET", path=path, on_attempts={1}, fault=reset_before())
    with pytest.raises(requests.ConnectionError):
        http.get(proxy.url + path, headers=ACCEPT, timeout=5)
    assert proxy.seen[-1].status is None
    assert http.get(proxy.url + path, headers=ACCEPT, timeout=5).status_code == 200


@pytest.mark.parametrize("fault", [reset_mid_body, truncate])
def test_broken_body_raises_on_read(registry, proxy, http, repo_name, fault):
    data, digest = _blob(registry, repo_name)
    proxy.add_rule(method="GET", path=r"/blobs/sha256:", fault=fault())
    r = http.get(f"{proxy.url}/v2/{repo_name}/blobs/{digest}", stream=True, timeout=5)
    assert r.status_code == 200
    assert r.headers["Content-Length"] == str(len(data))              # the real length
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        _ = r.content   # reading the body is what fails
    assert proxy.seen[-1].status == 200


def test_slow_times_out_then_passes(proxy, http, repo_name, image):
    path = _manifest_path(repo_name)
    proxy.add_rule(method="GET", path=path, on_attempts={1}, fault=slow(2))
    proxy.add_rule(method="GET", path=path, on_attempts={2}, fault=slow(0.3))
    t0 = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        http.get(proxy.url + path, headers=ACCEPT, timeout=0.5)
    assert time.monotonic() - t0 < 1.5
    t0 = time.monotonic()
    r = http.get(proxy.url + path, headers=ACCEPT, timeout=5)
    assert r.status_code == 200 and _sha(r.content) == image["digest"]
    assert time.monotonic() - t0 >= 0.3


def test_tamper_keeps_length_and_headers_but_breaks_digest(registry, proxy, http, repo_name,
                                                           image):
    data, digest = _blob(registry, repo_name, 10_000)
    proxy.add_rule(method="GET", fault=tamper())
    r = http.get(f"{proxy.url}/v2/{repo_name}/blobs/{digest}", timeout=5)
    assert r.status_code == 200 and len(r.content) == len(data)
    assert r.headers["Docker-Content-Digest"] == digest and _sha(r.content) != digest
    r = http.get(proxy.url + _manifest_path(repo_name), headers=ACCEPT, timeout=5)
    assert r.headers["Docker-Content-Digest"] == image["digest"] != _sha(r.content)
    assert len(r.content) == image["size"]


def test_redirect_to_other_proxy_drops_authorization(registry, proxy, http, repo_name, image):
    path = _manifest_path(repo_name)
    with FaultProxy(registry) as other:
        proxy.add_rule(method="GET", path=path, fault=redirect(other))
        r = http.get(proxy.url + path, timeout=5,
                     headers={**ACCEPT, "Authorization": "Bearer secret-token"})
        assert r.status_code == 200 and _sha(r.content) == image["digest"]
        assert [h.status_code for h in r.history] == [307]
        assert r.history[0].headers["Location"] == other.url + path
        assert [(m, p, s) for m, p, s, _ in proxy.seen] == [("GET", path, 307)]
        assert proxy.seen[0].headers["Authorization"] == "Bearer secret-token"
        assert [(m, p, s) for m, p, s, _ in other.seen] == [("GET", path, 200)]
        assert "Authorization" not in other.seen[0].headers
    with pytest.raises(ValueError):
        redirect("10.0.0.1:5000")


def test_not_found_until_tag_appears(proxy, http, repo_name, image):
    path = _manifest_path(repo_name)
    proxy.add_rule(method=("GET", "HEAD"), path=path, fault=not_found_until(2))
    r = http.get(proxy.url + path, headers=ACCEPT, timeout=5)
    assert r.status_code == 404 and r.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    assert http.head(proxy.url + path, headers=ACCEPT, timeout=5).status_code == 404
    r = http.get(proxy.url + path, headers=ACCEPT, timeout=5)
    assert r.status_code == 200 and _sha(r.content) == image["digest"]


def test_stop_is_prompt_with_requests_in_flight(registry, http):
    proxy = FaultProxy(registry).start()
    proxy.add_rule(fault=slow(30))
    errors = []

    def call():
        try:
            http.get(proxy.url + "/v2/", timeout=5)
        except requests.RequestException as e:
            errors.append(e)

    t = threading.Thread(target=call, daemon=True)
    t.start()
    deadline = time.monotonic() + 2
    while not proxy.seen and time.monotonic() < deadline:
        time.sleep(0.01)
    t0 = time.monotonic()
    proxy.stop()
    t.join(2)
    assert time.monotonic() - t0 < 1.5 and not t.is_alive() and len(errors) == 1
    assert not [th for th in threading.enumerate() if th.name == f"fault-proxy-{proxy.host}"]
    with pytest.raises(requests.ConnectionError):
        http.get(proxy.url + "/v2/", timeout=1)
