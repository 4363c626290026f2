#!/usr/bin/env bash
# Quick start, command 2: install what the tests need, then run the whole suite against real registries.
# The test files run in 4 worker processes (pytest-xdist, `-n 4 --dist loadfile`: a file's tests stay in one
# worker, in order, with its module fixtures; each worker starts its own registries). Most of the suite's time
# is waiting (retry backoff, timeouts, the registries' answers), not CPU, so 4 workers on 2 cores finish in
# about 3 minutes where one process took about 9, for the same CPU. Arguments go to pytest after these
# (`-n 0`: all in this one process).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
export NO_PROXY='*' no_proxy='*'
echo "test.sh: running the suite in 4 worker processes (about 3 min on 2 cores; a progress line of dots, the" \
     "percentage done at its end)" >&2
start=$(date +%s)
rc=0
.venv/bin/python -m pytest -p no:cacheprovider -n 4 --dist loadfile "$@" || rc=$?
took=$(( $(date +%s) - start ))
echo "test.sh: the suite took $((took / 60)) min $((took % 60)) s (exit $rc)" >&2
exit $rc
