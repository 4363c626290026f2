"""The ping on loopback: a plain-HTTP registry is told apart by a bare TLS hello, before any verifying TLS
context (the CA bundle) is built; a TLS registry is still pinged over verified HTTPS (issue 15)."""
import ssl

import pytest

from multiarch_ci.registry.http.transport import Transport


@pytest.fixture
def ca_loads(monkeypatch):
    calls = []
    real = ssl.SSLContext.load_verify_locations

    def counting(self, *a, **kw):
        calls.append(a or kw)
        return real(self, *a, **kw)
    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)
    monkeypatch.setenv("NO_PROXY", "*")
    return calls


def test_a_plain_http_loopback_registry_is_pinged_without_loading_a_ca_bundle(registry, ca_loads):
    t = Transport(environ={})
    resp = t.ping(registry.host)
    assert resp.status_code == 200 and t.base_url(registry.host) == f"http://{registry.host}"
    assert ca_loads == [] and t.count == 1        # one request: the plain-HTTP ping


def test_a_tls_loopback_registry_is_still_pinged_over_verified_https(tls_registry, ca_loads):
    t = Transport(environ={"SSL_CERT_FILE": str(tls_registry.ca_file)})
    t.ping(tls_registry.host)
    assert t.base_url(tls_registry.host) == f"https://{tls_registry.host}"
    assert ca_loads, "the HTTPS ping verifies the server against the CA"
