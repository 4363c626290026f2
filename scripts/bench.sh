#!/usr/bin/env bash
# Benchmark: multiarch-manifest vs `docker manifest` and `buildah manifest` on a loopback registry behind
# a latency proxy (default +20 ms per request). See bench/README.md.
#   bash scripts/bench.sh            full run (N = 2, 8, 32, 64; a few minutes) -> bench/results/latest.{md,json}
#   bash scripts/bench.sh --quick    N = 2 and 8 only (under 2 minutes)   -> bench/results/latest-quick.{md,json}
#   bash scripts/bench.sh --chain [--before DIR]   only the chain targets (bench/chain_targets.py)
# Other options go to bench/run.py (--reps, --latency-ms, --full, --only, --keep; see --help). Every run
# ends with bench/chain_targets.py (ratios to docker, the 100 ms floor, N up to 256, timelines).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# buildah (Debian package) is one of the tools compared; install it only if missing, and only as root.
if ! command -v buildah >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "bench: installing Debian package buildah" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends buildah >/dev/null 2>&1 ||
      { apt-get update -qq && apt-get install -y -qq --no-install-recommends buildah >/dev/null; } ||
      echo "bench: buildah could not be installed; its rows will say so" >&2
  else
    echo "bench: buildah is missing and this is not root; its rows will say so" >&2
  fi
fi

export NO_PROXY='*' no_proxy='*'
unset HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy
if [ "${1:-}" = "--chain" ]; then
  shift
  exec .venv/bin/python bench/chain_targets.py "$@"
fi
.venv/bin/python bench/run.py "$@"
case " $* " in
  *" --quick "*) exec .venv/bin/python bench/chain_targets.py --quick ;;
  *) exec .venv/bin/python bench/chain_targets.py ;;
esac
