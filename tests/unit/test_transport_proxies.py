"""Proxies from the environment are read once per host (issue 15), keeping HTTPS_PROXY/NO_PROXY meaning."""
import requests

from multiarch_ci.registry.transport import Transport

PROXY = "http://127.0.0.1:3128"


def transport(monkeypatch, **env) -> Transport:
    for k in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
              "no_proxy"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return Transport()


def test_https_proxy_applies_except_to_no_proxy_hosts(monkeypatch):
    t = transport(monkeypatch, HTTPS_PROXY=PROXY, NO_PROXY="reg.internal,127.0.0.1")
    assert t.session.proxies_for("https://ghcr.io/v2/o/a/manifests/v1") == {"https": PROXY}
    assert t.session.proxies_for("https://reg.internal:5000/v2/") == {}
    assert t.session.proxies_for("http://127.0.0.1:5000/v2/") == {}
    assert t.session.proxies_for("http://ghcr.io/v2/") == {}          # HTTPS_PROXY is for https only


def test_the_environment_is_read_once_per_host(monkeypatch):
    t = transport(monkeypatch, HTTPS_PROXY=PROXY)
    assert t.session.proxies_for("https://ghcr.io/v2/") == {"https": PROXY}
    monkeypatch.setenv("NO_PROXY", "*")
    assert t.session.proxies_for("https://ghcr.io/v2/a") == {"https": PROXY}   # cached for ghcr.io
    assert t.session.proxies_for("https://quay.io/v2/") == {}                  # a new host reads it now
    assert t.session.trust_env is False


def test_a_redirect_gets_the_proxies_of_its_new_host(monkeypatch):
    t = transport(monkeypatch, HTTPS_PROXY=PROXY, NO_PROXY="blobs.internal")
    to_cdn = requests.Request("GET", "https://cdn.example/blob").prepare()
    to_internal = requests.Request("GET", "https://blobs.internal/blob").prepare()
    assert t.session.rebuild_proxies(to_cdn, {}) == {"https": PROXY}
    assert t.session.rebuild_proxies(to_internal, {"https": PROXY}) == {}
