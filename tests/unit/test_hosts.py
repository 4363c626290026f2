"""Unit tests for multiarch_ci.registry.http.hosts: origins, and which hosts are marked insecure."""
from __future__ import annotations

import pytest

from multiarch_ci.core.errors import InputError
from multiarch_ci.registry.http.hosts import HostPolicy, Origin, parse_insecure


@pytest.mark.parametrize("a, b, same", [
    ("https://reg.example/v2/", "https://reg.example:443/v2/x", True),
    ("https://REG.example/v2/", "https://reg.example/token", True),
    ("https://reg.example/v2/", "http://reg.example/v2/", False),          # scheme
    ("https://reg.example/v2/", "https://cdn.reg.example/v2/", False),     # host
    ("http://127.0.0.1:5000/v2/", "http://127.0.0.1:5001/v2/", False),     # port
    ("http://127.0.0.1:5000/v2/", "http://127.0.0.2:5000/v2/", False),     # another loopback host
    ("http://[::1]:5000/a", "http://[::1]:5000/b", True),
], ids=["default-port", "case", "scheme", "host", "port", "loopback-host", "ipv6"])
def test_origin_equality(a, b, same):
    assert (Origin.of(a) == Origin.of(b)) is same


@pytest.mark.parametrize("entries, host, insecure", [
    (["reg:5000"], "reg:5000", True),
    (["reg:5000"], "reg:5001", False),
    (["reg"], "reg:5001", True),                  # HOST: any port
    (["reg"], "other:5000", False),
    (["10.0.0.5:5000"], "10.0.0.5:5000", True),
    (["[::1]:5000"], "[::1]:5000", True),
    ([], "reg:443", False),
])
def test_host_policy_matches(entries, host, insecure):
    assert HostPolicy.of(entries).is_insecure(host) is insecure


@pytest.mark.parametrize("host, ok", [("127.0.0.2:80", True), ("localhost:1", True), ("10.0.0.5:80", False)])
def test_cleartext_only_to_loopback_when_nothing_is_marked(host, ok):
    assert HostPolicy().cleartext_ok(host) is ok


@pytest.mark.parametrize("entry", ["http://reg:5000", "reg:5000/path", "user@reg", "reg:", "reg:port", "", "a b"])
def test_insecure_entry_must_be_host_or_host_port(entry):
    with pytest.raises(InputError) as info:
        parse_insecure(entry)
    assert "HOST or HOST:PORT" in str(info.value)
