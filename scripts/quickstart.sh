#!/usr/bin/env bash
# Quick start, command 1: the main job end to end on this machine.
# Installs what it needs (scripts/setup.sh runtime), starts a distribution registry on 127.0.0.1 (free port,
# temp storage), pushes four sample per-arch images, composes and pushes the index, prints its digest and
# table, and ends with a command to try next.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== installing what is missing: Debian packages docker-registry, python3-venv; .venv with multiarch-manifest (pip install -e .)"
bash scripts/setup.sh runtime
export NO_PROXY='*' no_proxy='*'
PY=.venv/bin/python

work=$(mktemp -d /tmp/multiarch-quickstart.XXXXXX)
port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$work/registry.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/storage}}
http: {addr: 127.0.0.1:$port, secret: quickstart}
YML
/usr/bin/docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
trap 'kill $registry_pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/v2/" 2>/dev/null && break
  $PY -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/v2/')" 2>/dev/null && break
  sleep 0.1
done
REG=127.0.0.1:$port
echo "== registry on $REG (storage $work/storage)"

echo "== pushing sample per-arch images"
$PY scripts/seed_demo.py "$REG" linux/amd64 linux/arm64/v8 linux/ppc64le linux/s390x

echo "== multiarch-manifest push from-args"
set -x
$PY -m multiarch_ci push from-args \
  --platforms linux/amd64,linux/arm64/v8,linux/ppc64le,linux/s390x \
  --template "$REG/demo/app-ARCHVARIANT:v1" \
  --target "$REG/demo/app:v1" --tags latest
{ set +x; } 2>/dev/null

echo "== multiarch-manifest inspect $REG/demo/app:latest"
$PY -m multiarch_ci inspect "$REG/demo/app:latest"

echo "== try it yourself: the CLI is $PWD/.venv/bin/multiarch-manifest (the sample registry stops now); next:"
echo "   $PWD/.venv/bin/multiarch-manifest push from-args --help   # then: bash scripts/test.sh"
