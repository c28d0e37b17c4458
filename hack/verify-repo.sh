#!/usr/bin/env bash
# Repository hygiene, run by `make verify`:
#  - no tracked file is larger than 1 MiB (build outputs belong in bin/);
#  - every hand-written Go file carries the license header of
#    hack/boilerplate.go.txt (after its //go:build line, if any).
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
max=$((1024 * 1024))
while IFS= read -r -d '' f; do
	[ -f "$f" ] || continue
	size=$(stat -c %s "$f")
	if [ "$size" -gt "$max" ]; then
		echo "tracked file $f is $size bytes, more than 1 MiB: build outputs go to bin/ (git rm --cached it)"
		status=1
	fi
done < <(git ls-files -z)

header=$(cat hack/boilerplate.go.txt)
while IFS= read -r -d '' f; do
	case "$f" in
	*zz_generated*) continue ;;
	esac
	[ -f "$f" ] || continue
	# The header follows an optional //go:build line and a blank line.
	if ! head -n 20 "$f" | sed '/^\/\/go:build/,/^$/d' | head -n "$(wc -l <hack/boilerplate.go.txt)" | diff -q - <(echo "$header") >/dev/null; then
		echo "$f lacks the license header of hack/boilerplate.go.txt (run hack/add-license-headers.sh)"
		status=1
	fi
done < <(git ls-files -z -- '*.go')
exit $status
