#!/usr/bin/env bash
# The release tag must name the version the code reports (`multiarch-manifest --version`, the package's
# metadata) and the CHANGELOG's newest entry. Run by .github/workflows/release.yml before anything is
# built, so a tag on a commit that was not bumped stops the release instead of shipping the old number.
#   scripts/release-version.sh vX.Y.Z [REPO_DIR]
set -euo pipefail
tag=${1:-}
root=${2:-.}
code=$(sed -n 's/^__version__ = "\([^"]*\)"$/\1/p' "$root/multiarch_ci/__init__.py")
logged=$(sed -n 's/^## \[\([0-9][^]]*\)\].*/\1/p' "$root/CHANGELOG.md" | head -n 1)
if [ -z "$code" ]; then
  echo "release-version: no __version__ line in $root/multiarch_ci/__init__.py" >&2
  exit 2
fi
if [ "$tag" != "v$code" ]; then
  echo "release-version: the tag '$tag' does not match the code's version $code (multiarch_ci/__init__.py);" \
       "bump __version__ and the CHANGELOG on the commit you tag, or tag v$code" >&2
  exit 1
fi
if [ "$logged" != "$code" ]; then
  echo "release-version: the CHANGELOG's newest version is '$logged', the code's $code: add its entry" >&2
  exit 1
fi
echo "release-version: $tag = multiarch_ci $code = CHANGELOG [$logged]"
