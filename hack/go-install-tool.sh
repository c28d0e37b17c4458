#!/usr/bin/env bash
# go-install-tool.sh OUTPUT PACKAGE VERSION: go install PACKAGE@VERSION and
# move the binary to OUTPUT (a versioned path under bin/), atomically.
set -euo pipefail
out=$1 pkg=$2 version=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "building $(basename "$pkg") $version (first time only)..." >&2
GOBIN=$tmp GOFLAGS=-buildvcs=false go install "$pkg@$version"
mkdir -p "$(dirname "$out")"
mv "$tmp/$(basename "$pkg")" "$out"
