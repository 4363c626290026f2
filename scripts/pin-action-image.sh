#!/usr/bin/env bash
# Point action.yml at a published image pinned by digest (`runs.image: docker://REF`) so that users of a
# release pull it instead of building the Dockerfile at every job start. Run by
# .github/workflows/release.yml on the release commit only: the repository itself keeps
# `image: Dockerfile`, so `uses: ./` still builds what is checked out.
#   scripts/pin-action-image.sh REGISTRY/REPO@sha256:<64 hex> [ACTION_YML]
set -euo pipefail
ref=${1:-}
file=${2:-action.yml}
if ! [[ $ref =~ ^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+@sha256:[0-9a-f]{64}$ ]]; then
  echo "pin-action-image: '$ref' is not an image reference by digest (REGISTRY/REPO@sha256:<64 hex>)" >&2
  exit 2
fi
count=$(grep -c '^  image: Dockerfile$' "$file" || true)
if [ "$count" != 1 ]; then
  echo "pin-action-image: $file: expected exactly one '  image: Dockerfile' line (runs.image), found $count" \
       "- already pinned?" >&2
  exit 2
fi
sed -i "s|^  image: Dockerfile\$|  image: docker://$ref|" "$file"
echo "pin-action-image: $file now runs docker://$ref"
