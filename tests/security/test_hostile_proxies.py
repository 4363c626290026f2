"""A proxy named by HTTPS_PROXY / HTTP_PROXY cannot hold a run past its timeout, downgrade a registry to plain
HTTP or crash the run: the attacker's probes of issue 20, each played by a raw loopback proxy (mm_hostile).

The registries named here (127.0.0.9:5000) are never connected to: the hostile proxy answers for them.
"""
from __future__ import annotations

import base64
import time

import pytest

from mm_cli import one_error, run_cli
from mm_hostile import Hostile, Request
from multiarch_ci.registry.http.hosts import HostPolicy
from multiarch_ci.registry.http.transport import Policy, Transport

REGISTRY = "127.0.0.9:5000"
PROXY_VARS = ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY",
              "all_proxy")


def through(proxy: str, **more: str) -> dict:
    """The environment of a run whose HTTP and HTTPS go through `proxy` (nothing exempt)."""
    return {"HTTPS_PROXY": proxy, "HTTP_PROXY": proxy, "NO_PROXY": "", "no_proxy": "", **more}


def connect_then_drip(req: Request) -> None:
    """CONNECT answered 200 at once, then header lines one every half second, never the blank line."""
    if req.method != "CONNECT":
        return req.respond(405)
    req.sock.sendall(b"HTTP/1.1 200 Connection established\r\n")
    while not req.server.stopping.wait(0.5):
        try:
            req.sock.sendall(b"X-Drip: .\r\n")
        except OSError:
            return


@pytest.mark.hostile("proxy-drips-connect")
def test_a_proxy_dripping_its_connect_answer_ends_near_the_timeout():
    with Hostile(connect_then_drip) as proxy:
        started = time.monotonic()
        run = run_cli("inspect", f"{REGISTRY}/app:v1", "--timeout", "3", env=through(proxy.url), timeout=90)
        elapsed = time.monotonic() - started
    line = one_error(run)
    assert "timed out" in line, line
    assert elapsed < 3 * 2 + 6, elapsed              # the ping's 2 tries of 3 s, a backoff, start-up (not 45 s)
    assert {r.method for r in proxy.requests} == {"CONNECT"}


def garbage_connect_basic_realm(req: Request) -> None:
    """CONNECT answered with bytes that are no HTTP; a plain-HTTP request gets a Basic challenge."""
    if req.method == "CONNECT":
        req.sock.sendall(b"\x16\x03\x01 this is not HTTP\r\n\r\n")
        return
    req.respond(401, {"WWW-Authenticate": 'Basic realm="proxy-in-the-middle"'})


@pytest.mark.hostile("proxy-garbage-connect-downgrade")
def test_a_garbage_connect_answer_never_sends_an_insecure_registry_through_the_proxy_in_clear():
    with Hostile(garbage_connect_basic_realm) as proxy:
        run = run_cli("inspect", f"{REGISTRY}/app:v1", "--insecure-registry", REGISTRY, "--username", "bob",
                      "--password-stdin", stdin="s3cret-pass\n", env=through(proxy.url), timeout=90)
        methods = [r.method for r in proxy.requests]
        leaked = proxy.authorizations()
    line = one_error(run)
    assert set(methods) == {"CONNECT"}, methods      # never a plain-HTTP request through the proxy
    assert leaked == []
    assert "plain HTTP is never tried through a proxy" in line and "NO_PROXY" in line, line
    assert "s3cret" not in run.err and base64.b64encode(b"bob:s3cret-pass").decode() not in run.err


@pytest.mark.bad_input
@pytest.mark.parametrize("variable, value, says", [
    ("HTTPS_PROXY", "http://127.0.0.2:99999", "HTTPS_PROXY: http://127.0.0.2:99999 is not HOST:PORT"),
    ("HTTP_PROXY", "http://user:hunter2@127.0.0.2:99999", "HTTP_PROXY: http://127.0.0.2:99999 is not HOST:PORT"),
    ("https_proxy", "socks5://127.0.0.2:1080",
     "https_proxy: SOCKS proxies (socks5://127.0.0.2:1080) are not supported"),
], ids=["port-99999", "port-99999-with-credentials", "socks"])
def test_a_proxy_setting_that_cannot_be_used_is_bad_input(variable, value, says):
    env = {v: "" for v in PROXY_VARS}
    run = run_cli("inspect", f"{REGISTRY}/app:v1", env={**env, variable: value}, timeout=60)
    line = one_error(run, code=2)
    assert says in line, line
    assert "hunter2" not in run.err


@pytest.mark.hostile("ipv6-through-a-proxy")
@pytest.mark.parametrize("scheme", ["https", "http"])
def test_an_ipv6_registry_is_named_right_through_a_proxy(scheme):
    """CONNECT [::1]:5000 (RFC 9110's authority form), or an absolute URI with the brackets kept."""
    with Hostile(lambda req: req.respond(407 if req.method == "CONNECT" else 200, body=b"{}")) as proxy:
        t = Transport(Policy(hosts=HostPolicy.of(()), retries=0), environ=through(proxy.url))
        try:
            t.send("GET", f"{scheme}://[::1]:5000/v2/", what="ping [::1]:5000", body_cap=1024)
        except Exception:      # noqa: BLE001 - the https case ends in a refused tunnel (407): the target is what counts
            pass
        targets = [(r.method, r.target) for r in proxy.requests]
    assert targets == ([("CONNECT", "[::1]:5000")] if scheme == "https" else [("GET", "http://[::1]:5000/v2/")])
