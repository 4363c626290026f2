#!/usr/bin/env bash
# Quick start, command 2: install everything, then run the whole test suite against real registries.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export NO_PROXY='*' no_proxy='*'
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
