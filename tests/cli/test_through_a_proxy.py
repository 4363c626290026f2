"""Pushes through a forward proxy named by HTTP_PROXY / HTTPS_PROXY (a real proxy on loopback, not a fake
of our client): absolute-URI requests for a plain-HTTP registry, a CONNECT tunnel for HTTPS with proxy
credentials from the proxy URL, an HTTPS proxy (TLS to the proxy, and TLS in TLS to an HTTPS registry),
and NO_PROXY honoured. urllib3 speaks to the proxy; which proxy, and NO_PROXY, stay ours (proxies.py)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import mm_images
from mm_cli import run_cli
from mm_forward_proxy import ForwardProxy
from mm_hostile import make_cert

NO_PROXY_VARS = {"NO_PROXY": "", "no_proxy": ""}
CA_VARS = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@pytest.fixture(autouse=True)
def _only_the_test_ca(monkeypatch):
    for var in CA_VARS:
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def proxy():
    p = ForwardProxy()
    yield p
    p.stop()


@pytest.fixture
def auth_proxy():
    p = ForwardProxy("proxyuser", "pr0xy pass")
    yield p
    p.stop()


@pytest.fixture
def tls_proxy(tmp_path):
    p = ForwardProxy("proxyuser", "pr0xy pass", tls=make_cert(tmp_path / "proxy-cert", "proxy"))
    yield p
    p.stop()


def seed(reg, repo: str) -> list[dict]:
    return [mm_images.push_image(reg, repo, "amd64", arch="amd64"),
            mm_images.push_image(reg, repo, "arm64", arch="arm64", variant="v8")]


def matrix(tmp_path: Path, images: list[dict]) -> Path:
    path = tmp_path / "matrix.json"
    path.write_text(json.dumps([{"image": img["ref"]} for img in images]))
    return path


def assert_index_of(reg, repo: str, tag: str, images: list[dict]) -> None:
    body, _, _ = mm_images.get_manifest(reg, repo, tag)
    assert sorted(m["digest"] for m in json.loads(body)["manifests"]) == sorted(i["digest"] for i in images)


def test_a_plain_http_registry_through_http_proxy(registry, repo_name, tmp_path, proxy):
    images = seed(registry, f"{repo_name}/src")
    run = run_cli("push", "from-matrix", str(matrix(tmp_path, images)), "--target",
                  f"{registry.host}/{repo_name}/dst:v1", env={"HTTP_PROXY": proxy.url(), **NO_PROXY_VARS})
    assert run.code == 0, run.err
    assert_index_of(registry, f"{repo_name}/dst", "v1", images)
    targets = [t for _, t, _ in proxy.seen]
    assert f"http://{registry.host}/v2/" in targets                    # absolute URIs: it went through
    assert any(m == "PUT" and t.endswith(f"/v2/{repo_name}/dst/manifests/v1") for m, t, _ in proxy.seen)


def test_https_through_a_connect_tunnel_with_proxy_credentials(tls_registry, repo_name, tmp_path, auth_proxy):
    reg = tls_registry
    images = seed(reg, f"{repo_name}/src")
    run = run_cli("push", "from-matrix", str(matrix(tmp_path, images)), "--target", f"{reg.host}/{repo_name}/dst:v1",
                  "--username", reg.username, "--password-stdin", stdin=reg.password + "\n",
                  env={"HTTPS_PROXY": auth_proxy.url("proxyuser:pr0xy%20pass@"), "SSL_CERT_FILE": str(reg.ca_file),
                       **NO_PROXY_VARS})
    assert run.code == 0, run.err
    assert_index_of(reg, f"{repo_name}/dst", "v1", images)
    connects = [(t, a) for m, t, a in auth_proxy.seen if m == "CONNECT"]
    assert connects and {t for t, _ in connects} == {reg.host}
    assert all(a == "Basic cHJveHl1c2VyOnByMHh5IHBhc3M=" for _, a in connects)   # proxyuser:pr0xy pass
    assert "pr0xy" not in run.out + run.err


def test_a_refused_proxy_login_is_one_line_naming_the_proxy(tls_registry, repo_name, tmp_path, auth_proxy):
    reg = tls_registry
    images = seed(reg, f"{repo_name}/src")
    run = run_cli("push", "from-matrix", str(matrix(tmp_path, images)), "--target", f"{reg.host}/{repo_name}/dst:v1",
                  "--wait-timeout", "0", env={"HTTPS_PROXY": auth_proxy.url("proxyuser:wrong@"),
                                              "SSL_CERT_FILE": str(reg.ca_file), **NO_PROXY_VARS})
    assert run.code == 1, run.err
    assert len(run.err_lines) == 1, run.err
    assert f"the proxy 127.0.0.1:{auth_proxy.port} refused to connect to {reg.host}: 407" in run.err, run.err
    assert "wrong" not in run.err and "proxyuser" not in run.err
    assert [m for m, _, _ in auth_proxy.seen] == ["CONNECT"]          # no retries, no fall back to plain HTTP
    assert not mm_images.manifest_exists(reg, f"{repo_name}/dst", "v1")


def test_no_proxy_sends_the_registry_around_the_proxy(registry, repo_name, tmp_path, proxy):
    images = seed(registry, f"{repo_name}/src")
    run = run_cli("push", "from-matrix", str(matrix(tmp_path, images)), "--target",
                  f"{registry.host}/{repo_name}/dst:v1",
                  env={"HTTP_PROXY": proxy.url(), "HTTPS_PROXY": proxy.url(), "NO_PROXY": "localhost,127.0.0.0/8",
                       "no_proxy": ""})
    assert run.code == 0, run.err
    assert proxy.seen == []


@pytest.mark.parametrize("registry_kind", ["https-registry", "http-registry"])
def test_through_an_https_proxy(registry, tls_registry, repo_name, tmp_path, tls_proxy, registry_kind):
    """TLS to the proxy (its certificate verified with the run's CA bundle), credentials inside that TLS; an
    HTTPS registry through a CONNECT tunnel (TLS in TLS), a plain-HTTP one forwarded (HTTP_PROXY alone: plain
    HTTP is never a fallback from an HTTPS attempt that went through a proxy)."""
    reg = tls_registry if registry_kind == "https-registry" else registry
    images = seed(reg, f"{repo_name}/src")
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(tls_proxy.tls.crt.read_bytes() + (reg.ca_file.read_bytes() if reg.ca_file else b""))
    login = ["--username", reg.username, "--password-stdin"] if reg.username else []
    proxy_var = "HTTPS_PROXY" if reg.scheme == "https" else "HTTP_PROXY"
    run = run_cli("push", "from-matrix", str(matrix(tmp_path, images)), "--target", f"{reg.host}/{repo_name}/dst:v1",
                  *login, stdin=(reg.password + "\n") if reg.username else None,
                  env={proxy_var: tls_proxy.url("proxyuser:pr0xy%20pass@"), "SSL_CERT_FILE": str(bundle),
                       **NO_PROXY_VARS})
    assert run.code == 0, run.err
    assert_index_of(reg, f"{repo_name}/dst", "v1", images)
    methods = {m for m, _, _ in tls_proxy.seen}
    assert tls_proxy.seen and all(a == "Basic cHJveHl1c2VyOnByMHh5IHBhc3M=" for _, _, a in tls_proxy.seen)
    assert methods == {"CONNECT"} if reg.scheme == "https" else methods >= {"GET", "PUT"} and "CONNECT" not in methods
    assert "pr0xy" not in run.out + run.err
