"""A registry behind the latency proxy with N seeded cross/docker images, kept up until Ctrl-C or SIGTERM.

For measuring one push from outside (e.g. `/usr/bin/time -v`, before and after a change, side by side):
writes DIR/matrix.json (the N source refs, through the proxy) and DIR/proxy (HOST:PORT of the proxy),
then waits. Push to a fresh repository each run, e.g.

    .venv/bin/python bench/serve_seeded.py --n 32 --dir /tmp/mm-seeded &
    /usr/bin/time -v sh -c 'exec .venv/bin/python -m multiarch_ci push from-matrix /tmp/mm-seeded/matrix.json \\
        --target "$(cat /tmp/mm-seeded/proxy)/t-$$:v1" --json'

Usage: .venv/bin/python bench/serve_seeded.py [--n 32] [--latency-ms 20] --dir DIR
"""
from __future__ import annotations

import argparse
import json
import signal
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
    ap.add_argument("--dir", type=Path, required=True)
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, B._on_term)
    args.dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="mm-seeded."))
    try:
        reg = B.Registry(work, "registry", args.latency_ms)
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


if __name__ == "__main__":
    sys.exit(main())
