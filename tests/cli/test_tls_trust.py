"""TLS trust names its bundle (issue 19 §2): which variable wins is defined and said, a TLS verification
error names the variable and the path in use, and a bundle that does not exist (or holds no certificate)
is bad input naming both, before anything is sent. The order (registry/http/trust.py): REQUESTS_CA_BUNDLE,
SSL_CERT_FILE, CURL_CA_BUNDLE, SSL_CERT_DIR, else the system's store.

Against the TLS registry fixture (a self-signed CA:TRUE certificate, Basic auth)."""
from __future__ import annotations

from pathlib import Path

import pytest

import mm_images
from mm_cli import one_error, run_cli
from mm_hostile import make_cert

TRUST_VARS = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE", "SSL_CERT_DIR")


@pytest.fixture(autouse=True)
def _no_ambient_trust(monkeypatch):
    for var in TRUST_VARS:
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory) -> Path:
    """A CA that did not sign the registry's certificate."""
    return make_cert(tmp_path_factory.mktemp("other-ca"), "other-ca").crt


def inspect(reg, repo: str, env: dict):
    return run_cli("inspect", f"{reg.host}/{repo}:amd64", "--username", reg.username, "--password-stdin",
                   stdin=reg.password + "\n", env=env, timeout=60)


@pytest.fixture(scope="module")
def seeded(tls_registry) -> str:
    repo = "t/tls-trust"
    mm_images.push_image(tls_registry, repo, "amd64")
    return repo


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE"])
def test_a_verification_error_names_the_variable_and_the_path(tls_registry, seeded, other_ca, variable):
    line = one_error(inspect(tls_registry, seeded, {variable: str(other_ca)}))
    assert "CERTIFICATE_VERIFY_FAILED" in line, line
    assert f"{variable}={other_ca}" in line, line                   # what was trusted, and where it came from
    assert f"add the registry's CA to {other_ca} (named by {variable})" in line, line
    assert f"--insecure-registry {tls_registry.host}" in line, line


def test_when_two_are_set_the_error_says_which_one_was_read(tls_registry, seeded, other_ca):
    env = {"REQUESTS_CA_BUNDLE": str(other_ca), "SSL_CERT_FILE": str(tls_registry.ca_file)}
    line = one_error(inspect(tls_registry, seeded, env))
    assert f"REQUESTS_CA_BUNDLE={other_ca}" in line, line
    assert "SSL_CERT_FILE also set but not read: REQUESTS_CA_BUNDLE comes first" in line, line
    assert "set SSL_CERT_FILE" not in line, line                    # not "set what you already set"


@pytest.mark.parametrize("first, second", [("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"), ("SSL_CERT_FILE", "CURL_CA_BUNDLE"),
                                           ("CURL_CA_BUNDLE", "SSL_CERT_DIR")],
                         ids=["requests-before-ssl-cert-file", "ssl-cert-file-before-curl", "curl-before-dir"])
def test_the_documented_order_decides(tls_registry, seeded, other_ca, tmp_path, first, second):
    wrong = str(other_ca.parent) if second == "SSL_CERT_DIR" else str(other_ca)
    run = inspect(tls_registry, seeded, {first: str(tls_registry.ca_file), second: wrong})
    assert run.code == 0, run.err


def test_no_variable_set_names_the_system_store(tls_registry, seeded):
    line = one_error(inspect(tls_registry, seeded, {}))
    assert "the system's CA store" in line and "set SSL_CERT_FILE to a PEM bundle" in line, line


@pytest.mark.bad_input
@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE", "SSL_CERT_DIR"])
def test_a_bundle_that_does_not_exist_is_bad_input_naming_the_variable_and_path(tls_registry, seeded, tmp_path,
                                                                               variable):
    missing = tmp_path / "no-such-ca.pem"
    before = len(tls_registry.request_log())
    line = one_error(inspect(tls_registry, seeded, {variable: str(missing)}), code=2)
    assert f"{variable}={missing}: no such CA bundle file or folder" in line, line
    assert len(tls_registry.request_log()) == before                # nothing was sent


@pytest.mark.bad_input
def test_a_bundle_with_no_certificate_is_bad_input(tls_registry, seeded, tmp_path):
    empty = tmp_path / "empty.pem"
    empty.write_text("not a certificate\n")
    line = one_error(inspect(tls_registry, seeded, {"SSL_CERT_FILE": str(empty)}), code=2)
    assert f"SSL_CERT_FILE={empty}: not a readable CA bundle" in line, line
