#!/usr/bin/env bash
# go-install-tool.sh OUTPUT PACKAGE VERSION: go install PACKAGE@VERSION and
# move the binary to OUTPUT (a versioned path under bin/), atomically.
set -euo pipefail
out=$1 pkg=$2 version=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
name=$(basename "$pkg")
# A major-version suffix (.../kustomize/v5) is not the binary's name.
if [[ $name =~ ^v[0-9]+$ ]]; then name=$(basename "$(dirname "$pkg")"); fi
echo "building $name $version (first time only)..." >&2
GOBIN=$tmp GOFLAGS=-buildvcs=false go install "$pkg@$version"
mkdir -p "$(dirname "$out")"
mv "$tmp/$name" "$out"
