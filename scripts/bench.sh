#!/usr/bin/env bash
# Benchmark: multiarch-manifest vs `docker manifest` and `buildah manifest` on a loopback registry behind
# a latency proxy (HAProxy, default +20 ms per request). See bench/README.md.
#   bash scripts/bench.sh            full run (N = 2, 8, 32, 64; a few minutes) -> bench/results/latest.{md,json}
#   bash scripts/bench.sh --quick    N = 2 and 8 only (under 2 minutes)   -> bench/results/latest-quick.{md,json}
#   bash scripts/bench.sh --chain [--before DIR]   only the chain targets (bench/chain_targets.py)
# Other options go to bench/run.py (--reps, --latency-ms, --full, --only, --keep, --proxy python; see --help). Every run
# ends with bench/chain_targets.py (ratios to docker, the 100 ms floor, N up to 256, timelines).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# Debian packages only the bench needs (not the tests): haproxy (with Lua) adds the latency, buildah is one
# of the tools compared. Installed only if missing, and only as root.
bench_debs=()
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || bench_debs+=(haproxy)
command -v buildah >/dev/null 2>&1 || bench_debs+=(buildah)
if [ ${#bench_debs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "bench: installing Debian packages: ${bench_debs[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "${bench_debs[@]}" >/dev/null 2>&1 ||
      { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${bench_debs[@]}" >/dev/null; } ||
      echo "bench: could not install ${bench_debs[*]} (without haproxy: --proxy python; without buildah its rows say so)" >&2
  else
    echo "bench: missing ${bench_debs[*]} and this is not root (without haproxy: --proxy python)" >&2
  fi
fi

export NO_PROXY='*' no_proxy='*'
unset HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy
if [ "${1:-}" = "--chain" ]; then
  shift
  exec .venv/bin/python bench/chain_targets.py "$@"
fi
.venv/bin/python bench/run.py "$@"
chain=()
prev=
for a in "$@"; do
  case $a in --quick) chain+=(--quick) ;; --proxy=*) chain+=("$a") ;; esac
  [ "$prev" = --proxy ] && chain+=(--proxy "$a")
  prev=$a
done
exec .venv/bin/python bench/chain_targets.py "${chain[@]}"
