"""Client CPU per request: our Transport against requests, urllib3 and http.client, on a local registry.

Issue 15: a run is bound by client CPU more than by round trips on a loaded 2-core machine. This sends
the same K manifest GETs (then K blob HEADs) straight to a local registry (no proxy, no delay), one
after another on one keep-alive connection, and reports the process CPU time per request of:

- `transport`: multiarch_ci.registry.http.transport.Transport.send (on urllib3, as the CLI uses it)
- `requests`: a bare requests.Session (trust_env on, as requests defaults)
- `requests-noenv`: the same with trust_env off (proxies not re-read from the environment per request)
- `urllib3`: urllib3.PoolManager.request, reading the body
- `http.client`: one bare keep-alive http.client.HTTPConnection, reading the body

Usage: PYTHONPATH=. .venv/bin/python bench/http_cpu.py [--requests 2000] [--rounds 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.append(str(Path(__file__).resolve().parents[1]))   # after PYTHONPATH: an older checkout can be measured
import run as B
import seed as seedmod

ACCEPT = ", ".join(["application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
                    "application/vnd.docker.distribution.manifest.list.v2+json",
                    "application/vnd.docker.distribution.manifest.v2+json"])


def clients(host: str) -> dict:
    import requests
    import urllib3

    from multiarch_ci.registry.http.transport import Policy, Transport

    transport = Transport(Policy(), environ=os.environ)
    plain = requests.Session()
    noenv = requests.Session()
    noenv.trust_env = False
    pool = urllib3.PoolManager(maxsize=4, retries=False, timeout=urllib3.Timeout(connect=10, read=60))

    def via_transport(method, url):
        r = transport.send(method, url, what="bench", headers={"Accept": ACCEPT}, body_cap=1 << 22)
        return r.status_code, len(r.content)

    def via(session):
        def send(method, url):
            r = session.request(method, url, headers={"Accept": ACCEPT}, timeout=(10, 60))
            return r.status_code, len(r.content)
        return send

    def via_urllib3(method, url):
        r = pool.request(method, url, headers={"Accept": ACCEPT}, preload_content=True)
        return r.status, len(r.data)

    import http.client
    hostname, port = host.rsplit(":", 1)
    conn = http.client.HTTPConnection(hostname, int(port), timeout=60)

    def via_http_client(method, url):
        conn.request(method, "/" + url.split("/", 3)[3], headers={"Accept": ACCEPT, "User-Agent": "bench"})
        r = conn.getresponse()
        return r.status, len(r.read())

    return {"transport": via_transport, "requests": via(plain), "requests-noenv": via(noenv), "urllib3": via_urllib3,
            "http.client": via_http_client}


def measure(send, urls: list[tuple[str, str]]) -> tuple[float, float]:
    """(CPU ms per request, wall ms per request)."""
    for method, url in urls[:20]:          # warm: connection, caches
        send(method, url)
    c, w = time.process_time(), time.perf_counter()
    for method, url in urls:
        status, _ = send(method, url)
        assert status == 200, (method, url, status)
    n = len(urls)
    return (time.process_time() - c) * 1000 / n, (time.perf_counter() - w) * 1000 / n


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    os.environ.update(B.clean_env())       # as the CLI runs in the bench: NO_PROXY=*, no proxy variables
    work = Path(tempfile.mkdtemp(prefix="mm-httpcpu."))
    try:
        reg = B.Registry(work, "registry", 0)
        item = seedmod.seed_set(reg.pusher, reg.host, "cpu", "cross", "docker", False, 1)[0]
        base = f"http://{reg.host}/v2/{item['repository']}"
        urls = [("GET", f"{base}/manifests/{item['manifest_digest']}")] * args.requests
        results: dict[str, list[tuple[float, float]]] = {}
        sends = clients(reg.host)
        for _ in range(args.rounds):           # interleaved rounds: load changes hit every client alike
            for name, send in sends.items():
                results.setdefault(name, []).append(measure(send, urls))
        load = os.getloadavg()
        print(f"# Client CPU per request ({args.requests} manifest GETs x {args.rounds} rounds, loopback, "
              f"load average {load[0]:.1f}; median of rounds)\n")
        print("| client | CPU ms/request | wall ms/request |\n|---|---|---|")
        for name, runs in results.items():
            cpu = statistics.median(r[0] for r in runs)
            wall = statistics.median(r[1] for r in runs)
            print(f"| {name} | {cpu:.3f} | {wall:.3f} |")
    finally:
        B.stop_servers()
        import shutil
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
