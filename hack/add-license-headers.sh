#!/usr/bin/env bash
# Adds the license header of hack/boilerplate.go.txt to every hand-written
# Go file that lacks it, after its //go:build line if it has one.
set -euo pipefail
cd "$(dirname "$0")/.."
header=$(cat hack/boilerplate.go.txt)
git ls-files -- '*.go' | grep -v zz_generated | while read -r f; do
	if grep -qF "Licensed under the Apache License, Version 2.0" "$f"; then
		continue
	fi
	tmp=$(mktemp)
	if head -n 1 "$f" | grep -q '^//go:build'; then
		{ head -n 1 "$f"; echo; echo "$header"; echo; tail -n +2 "$f" | sed '1{/^$/d}'; } >"$tmp"
	else
		{ echo "$header"; echo; cat "$f"; } >"$tmp"
	fi
	mv "$tmp" "$f"
done
