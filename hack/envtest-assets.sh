#!/usr/bin/env bash
# Build the kube-apiserver and etcd binaries that controller-runtime's envtest
# needs (KUBEBUILDER_ASSETS) from Go modules, so no release downloads are needed.
#
# Usage:
#   hack/envtest-assets.sh <output-dir>
#
#   e.g. hack/envtest-assets.sh bin/envtest/k8s-v1.37.2-etcd-v3.6.16
#
# Only binaries missing from <output-dir> are built, so a second run builds
# nothing. Key <output-dir> by version (as above): the script does not look
# inside binaries that are already there. Each binary is built under a
# temporary name in <output-dir> and then renamed, so an interrupted build
# never leaves a partial binary behind.
#
# Progress goes to stderr. On success the absolute <output-dir> is printed on
# stdout (and nothing else), e.g. for a Makefile:
#   KUBEBUILDER_ASSETS ?= $(shell hack/envtest-assets.sh bin/envtest/...)
#
# Environment:
#   KUBE_VERSION  (default v1.37.2)  must equal the k8s.io/kubernetes version
#                                    in hack/envtest-assets/kube-apiserver-v<major>.<minor>/go.mod
#                                    (v1.37 is the local stack; v1.36 keeps
#                                    the v1beta1 certificate APIs testable)
#   ETCD_VERSION  (default v3.6.16)  must equal the go.etcd.io/etcd/server/v3
#                                    version in hack/envtest-assets/etcd/go.mod
#   The versions are pinned by the committed nested modules; the variables
#   exist so callers can key <output-dir> on them, and the script fails if
#   they disagree with the go.mods. To bump, edit the go.mod (for
#   kube-apiserver also every staging `replace` line), run `go mod tidy`
#   there, and update the defaults here and in the Makefile.
#
# First build: kube-apiserver 5 min (1.36) to 15 min (1.37, busy machine) on
# 2 cores (~120 MB stripped),
# etcd (~27 MB) about 30-40 s. Rebuilding into another dir reuses the Go
# build cache (etcd relinks in ~2 s).

set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"

log() { echo "envtest-assets: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if [[ $# -ne 1 || -z "$1" ]]; then
  echo "usage: $0 <output-dir>" >&2
  echo "  env: KUBE_VERSION (default v1.37.2), ETCD_VERSION (default v3.6.16)" >&2
  exit 2
fi

command -v go >/dev/null 2>&1 || die "go not found in PATH"

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mods_dir="${script_dir}/envtest-assets"

# Version that module dir's go.mod requires for module $2 (first match,
# ignoring `replace` lines).
gomod_version() {
  awk -v mod="$2" '
    /^[[:space:]]*\/\// || /=>/ { next }
    { for (i = 1; i < NF; i++) if ($i == mod) { print $(i + 1); exit } }
  ' "$1/go.mod"
}

check_version() { # <name> <module dir> <module path> <wanted version> <env var>
  local got
  got="$(gomod_version "$2" "$3")"
  [[ -n "$got" ]] || die "$3 not found in $2/go.mod"
  [[ "$got" == "$4" ]] ||
    die "$5=$4 but $2/go.mod requires $3 $got; update the go.mod (and go mod tidy) or $5"
}

[[ "$KUBE_VERSION" =~ ^v([0-9]+)\.([0-9]+)\.[0-9]+ ]] ||
  die "KUBE_VERSION=$KUBE_VERSION is not of the form vMAJOR.MINOR.PATCH"
kube_major="${BASH_REMATCH[1]}"
kube_minor="${BASH_REMATCH[2]}"
# One nested module per Kubernetes minor: kube-apiserver-v<major>.<minor>.
kube_mod="kube-apiserver-v${kube_major}.${kube_minor}"
[[ -d "${mods_dir}/${kube_mod}" ]] ||
  die "no module ${mods_dir}/${kube_mod} for KUBE_VERSION=$KUBE_VERSION"
check_version kube-apiserver "${mods_dir}/${kube_mod}" k8s.io/kubernetes "$KUBE_VERSION" KUBE_VERSION
check_version etcd "${mods_dir}/etcd" go.etcd.io/etcd/server/v3 "$ETCD_VERSION" ETCD_VERSION

mkdir -p "$1" || die "cannot create output dir $1"
out_dir="$(cd "$1" && pwd)"

tmp_files=()
cleanup() {
  local f
  for f in "${tmp_files[@]+"${tmp_files[@]}"}"; do rm -f -- "$f"; done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

build() { # <binary name> <module dir> <version> <note> <ldflags>
  local name="$1" mod="$2" version="$3" note="$4" ldflags="$5"
  local target="${out_dir}/${name}"
  if [[ -x "$target" ]]; then
    log "${name} ${version} already built: ${target}"
    return 0
  fi
  local tmp="${out_dir}/.${name}.tmp.$$"
  tmp_files+=("$tmp")
  log "building ${name} ${version}${note}..."
  local start=$SECONDS
  # GOWORK=off: a go.work at the repo root must not pull these nested modules
  # in. -mod=readonly: build exactly what the committed go.mod/go.sum pin.
  (
    cd "${mods_dir}/${mod}"
    GOWORK=off CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" \
      go build -trimpath -ldflags "-s -w ${ldflags}" -o "$tmp" .
  ) || die "building ${name} ${version} failed"
  mv -f -- "$tmp" "$target"
  log "built ${name} ${version} in $((SECONDS - start))s: ${target}"
}

kube_ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X ${pkg}.gitVersion=${KUBE_VERSION}"
  kube_ldflags+=" -X ${pkg}.gitMajor=${kube_major}"
  kube_ldflags+=" -X ${pkg}.gitMinor=${kube_minor}"
  kube_ldflags+=" -X ${pkg}.gitTreeState=clean"
done
etcd_ldflags="-X go.etcd.io/etcd/api/v3/version.GitSHA=go-module"

build kube-apiserver "$kube_mod" "$KUBE_VERSION" " (first time takes 5-15 min on 2 cores)" "$kube_ldflags"
build etcd etcd "$ETCD_VERSION" " (first time takes ~40 s on 2 cores)" "$etcd_ldflags"

echo "$out_dir"
