"""A registry behind the latency proxy (HAProxy; --proxy python) with N seeded cross/docker images, kept
up until Ctrl-C or SIGTERM.

For measuring one push from outside (e.g. `/usr/bin/time -v`, before and after a change, side by side):
writes DIR/matrix.json (the N source refs, through the proxy) and DIR/proxy (HOST:PORT of the proxy),
then waits. Push to a fresh repository each run, e.g.

    .venv/bin/python bench/serve_seeded.py --n 32 --dir /tmp/mm-seeded &
    /usr/bin/time -v sh -c 'exec .venv/bin/python -m multiarch_ci push from-matrix /tmp/mm-seeded/matrix.json \\
        --target "$(cat /tmp/mm-seeded/proxy)/t-$$:v1" --json'

Usage: .venv/bin/python bench/serve_seeded.py [--n 32] [--latency-ms 20] [--tls [--handshake-rtts 2]] [--proxy python]
       --dir DIR
"""
from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as B
import seed as seedmod


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--latency-ms", type=float, default=20.0)
    ap.add_argument("--tls", action="store_true",
                    help="HTTPS through HAProxy, each new connection held --handshake-rtts round trips (TCP + TLS); "
                         "trust DIR/ca.pem (SSL_CERT_FILE)")
    ap.add_argument("--handshake-rtts", type=float, default=2)
    ap.add_argument("--dir", type=Path, required=True)
    B.add_proxy_option(ap)
    args = ap.parse_args(argv)
    B.use_proxy(args.proxy)
    signal.signal(signal.SIGTERM, B._on_term)
    args.dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="mm-seeded."))
    try:
        reg = B.Registry(work, "registry", args.latency_ms)
        if args.tls:   # the refs name an HTTPS proxy where a new connection costs its handshakes too
            pem = tls_pem(work, args.dir / "ca.pem")
            reg.proxy = reg.add_proxy(args.latency_ms, reg.dir / "proxy-tls.log", "proxy-tls",
                                      ("--tls-cert", str(pem), "--handshake-rtts", str(args.handshake_rtts)))
            reg.proxy_log = reg.dir / "proxy-tls.log"
        items = seedmod.seed_set(reg.pusher, reg.proxy, "seeded", "cross", "docker", False, args.n)
        (args.dir / "matrix.json").write_text(json.dumps([{"image": i["ref"]} for i in items]))
        (args.dir / "proxy").write_text(reg.proxy)
        print(f"ready: {args.n} images behind {reg.proxy} ({args.latency_ms:g} ms/request)", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        B.stop_servers()
        import shutil
        shutil.rmtree(work, ignore_errors=True)


def tls_pem(work: Path, ca: Path) -> Path:
    """A self-signed certificate for 127.0.0.1 (its own CA): the key and certificate for HAProxy in one
    PEM, the certificate alone at `ca` for the client to trust."""
    key, crt, pem = work / "tls.key", work / "tls.crt", work / "tls.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-sha256", "-nodes", "-days", "7", "-keyout", str(key), "-out", str(crt), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:TRUE"],
                   check=True, capture_output=True)
    pem.write_bytes(crt.read_bytes() + key.read_bytes())
    ca.write_bytes(crt.read_bytes())
    return pem


if __name__ == "__main__":
    sys.exit(main())
