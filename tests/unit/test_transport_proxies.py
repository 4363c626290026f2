"""Proxies from the environment are read once (issue 15), keeping HTTP(S)_PROXY / NO_PROXY meaning."""
import pytest

from multiarch_ci.registry.http.transport import Transport
from multiarch_ci.registry.http.wire import ProxyRefused, _proxy_parts

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
    assert t.proxies.for_url("https://ghcr.io/v2/o/a/manifests/v1") == PROXY
    assert t.proxies.for_url("https://reg.internal:5000/v2/") is None
    assert t.proxies.for_url("http://127.0.0.1:5000/v2/") is None
    assert t.proxies.for_url("http://ghcr.io/v2/") is None          # HTTPS_PROXY is for https only


def test_the_environment_is_read_once(monkeypatch):
    t = transport(monkeypatch, HTTPS_PROXY=PROXY)
    assert t.proxies.for_url("https://ghcr.io/v2/") == PROXY
    monkeypatch.setenv("NO_PROXY", "*")
    assert t.proxies.for_url("https://ghcr.io/v2/a") == PROXY          # the run's setting holds
    assert t.proxies.for_url("https://quay.io/v2/") == PROXY


@pytest.mark.parametrize("no_proxy, url, bypassed", [
    ("example.com", "https://example.com/v2/", True),
    ("example.com", "https://cdn.example.com/v2/", True),            # a domain covers its subdomains
    (".example.com", "https://cdn.example.com/v2/", True),
    ("*.example.com", "https://cdn.example.com/v2/", True),
    ("example.com", "https://badexample.com/v2/", False),            # ...not a name that merely ends alike
    ("reg.internal:5000", "https://reg.internal:5000/v2/", True),
    ("reg.internal:5000", "https://reg.internal:6000/v2/", False),
    ("10.0.0.0/8", "https://10.1.2.3:5000/v2/", True),
    ("10.0.0.0/8", "https://11.1.2.3/v2/", False),
    ("*", "https://anything.example/v2/", True),
    ("  ghcr.io , quay.io ", "https://quay.io/v2/", True),
])
def test_no_proxy_entries(monkeypatch, no_proxy, url, bypassed):
    t = transport(monkeypatch, HTTPS_PROXY=PROXY, no_proxy=no_proxy)
    assert (t.proxies.for_url(url) is None) is bypassed


def test_lower_case_wins_and_all_proxy_is_the_fallback(monkeypatch):
    t = transport(monkeypatch, https_proxy="http://127.0.0.2:1", HTTPS_PROXY=PROXY, ALL_PROXY="http://127.0.0.3:1")
    assert t.proxies.for_url("https://ghcr.io/v2/") == "http://127.0.0.2:1"
    assert t.proxies.for_url("http://ghcr.io/v2/") == "http://127.0.0.3:1"


def test_proxy_credentials_become_a_proxy_authorization_header():
    host, port, headers = _proxy_parts("http://me:p%40ss@127.0.0.1:3128")
    assert (host, port) == ("127.0.0.1", 3128)
    assert headers == {"Proxy-Authorization": "Basic bWU6cEBzcw=="}     # me:p@ss
    assert _proxy_parts("127.0.0.1:8080")[:2] == ("127.0.0.1", 8080)    # a bare host:port is http


def test_a_socks_proxy_is_refused_with_a_reason():
    with pytest.raises(ProxyRefused, match="only http:// proxies"):
        _proxy_parts("socks5://127.0.0.1:1080")
