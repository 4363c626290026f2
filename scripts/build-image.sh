#!/usr/bin/env bash
# Build the action's image from the Dockerfile without a Docker engine, as the test suite does
# (tests/image/test_image.py): buildah (vfs storage, chroot isolation) on a stand-in base made with
# mmdebstrap when no registry outside is reachable. Prints the build log, its time and the image size.
#   scripts/build-image.sh [TAG]      default TAG: localhost/multiarch-manifest:dev
# Needs root, buildah and mmdebstrap (scripts/setup.sh installs them). Cache: $MM_IMAGE_CACHE, else
# /var/cache/multiarch-manifest (or ~/.cache/multiarch-manifest when that is not writable).
set -euo pipefail
cd "$(dirname "$0")/.."
py=python3
[ -x .venv/bin/python ] && py=.venv/bin/python
exec "$py" tests/support/mm_image_build.py "$@"
