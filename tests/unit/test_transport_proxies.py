"""Proxies from the environment are read once (issue 15), keeping HTTP(S)_PROXY / NO_PROXY meaning; a
proxy setting that cannot be used is bad input naming its variable (never its credentials)."""
import pytest

from multiarch_ci.core.errors import InputError
from multiarch_ci.registry.http.proxies import Proxy, parse_proxy
from multiarch_ci.registry.http.transport import Transport

PROXY = Proxy("http://127.0.0.1:3128")


def transport(monkeypatch, **env) -> Transport:
    for k in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
              "no_proxy"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return Transport()


def test_https_proxy_applies_except_to_no_proxy_hosts(monkeypatch):
    t = transport(monkeypatch, HTTPS_PROXY=PROXY.url, NO_PROXY="reg.internal,127.0.0.1")
    assert t.proxies.for_url("https://ghcr.io/v2/o/a/manifests/v1") == PROXY
    assert t.proxies.for_url("https://reg.internal:5000/v2/") is None
    assert t.proxies.for_url("http://127.0.0.1:5000/v2/") is None
    assert t.proxies.for_url("http://ghcr.io/v2/") is None          # HTTPS_PROXY is for https only


def test_the_environment_is_read_once(monkeypatch):
    t = transport(monkeypatch, HTTPS_PROXY=PROXY.url)
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
    t = transport(monkeypatch, HTTPS_PROXY=PROXY.url, no_proxy=no_proxy)
    assert (t.proxies.for_url(url) is None) is bypassed


def test_lower_case_wins_and_all_proxy_is_the_fallback(monkeypatch):
    t = transport(monkeypatch, https_proxy="http://127.0.0.2:1", HTTPS_PROXY=PROXY.url, ALL_PROXY="http://127.0.0.3:1")
    assert t.proxies.for_url("https://ghcr.io/v2/") == Proxy("http://127.0.0.2:1")
    assert t.proxies.for_url("http://ghcr.io/v2/") == Proxy("http://127.0.0.3:1")


def test_proxy_credentials_become_a_proxy_authorization_header():
    proxy = parse_proxy("http://me:p%40ss@127.0.0.1:3128", "HTTPS_PROXY")
    assert proxy.url == "http://127.0.0.1:3128" and proxy.hostport == "127.0.0.1:3128"
    assert proxy.headers() == {"Proxy-Authorization": "Basic bWU6cEBzcw=="}     # me:p@ss
    assert parse_proxy("127.0.0.1:8080", "HTTP_PROXY") == Proxy("http://127.0.0.1:8080")   # a bare host:port is http
    assert parse_proxy("https://proxy.example", "HTTPS_PROXY") == Proxy("https://proxy.example:443")
    assert parse_proxy("http://[::1]:3128", "HTTPS_PROXY") == Proxy("http://[::1]:3128")


@pytest.mark.parametrize("value, says", [
    ("socks5://127.0.0.1:1080", "SOCKS proxies (socks5://127.0.0.1:1080) are not supported"),
    ("socks5h://me:secret@127.0.0.1:1080", "SOCKS proxies (socks5h://127.0.0.1:1080) are not supported"),
    ("http://127.0.0.1:99999", "http://127.0.0.1:99999 is not HOST:PORT with a port from 1 to 65535"),
    ("http://me:secret@127.0.0.1:0", "http://127.0.0.1:0 is not HOST:PORT"),
    ("http://127.0.0.1:port", "http://127.0.0.1:port is not HOST:PORT"),
    ("http://:3128", "http://:3128 is not HOST:PORT"),
    ("ftp://127.0.0.1:21", "a proxy must be http:// or https://, not ftp://127.0.0.1:21"),
], ids=["socks5", "socks5h-with-credentials", "port-99999", "port-0", "port-not-a-number", "no-host", "ftp"])
def test_a_proxy_that_cannot_be_used_is_bad_input_naming_its_variable(monkeypatch, value, says):
    with pytest.raises(InputError) as info:
        transport(monkeypatch, https_proxy=value)
    assert info.value.message.startswith("https_proxy: ") and says in info.value.message, info.value.message
    assert "secret" not in str(info.value)
