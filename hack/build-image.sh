#!/usr/bin/env bash
# build-image.sh OUT [fips|pkcs11]: the controller's OCI image, as
# `make image` (with "fips", `make image-fips`; with "pkcs11",
# `make image-pkcs11`) builds it, into the directory OUT:
#
#   OUT/nstance-issuer-linux-ARCH           static binary per architecture
#   OUT/nstance-issuer-linux-ARCH.cdx.json  its CycloneDX SBOM (cyclonedx-gomod bin)
#   OUT/oci/                                OCI image layout: an index of one
#                                           image per architecture and one
#                                           SBOM artefact per image
#   ARCHIVE                                 the layout as an OCI archive (if set)
#
# The FIPS variant builds against Go's frozen FIPS 140-3 Cryptographic
# Module GOFIPS140 (v1.0.0), which also makes GODEBUG=fips140=on the
# binary's default. The PKCS#11 variant builds with cgo and the pkcs11
# build tag, for this machine's architecture only (cgo cross-compiles
# need a cross C toolchain), and carries the glibc loader and libc.so.6
# the binary is linked against, copied from this machine (Debian's):
# glibc loads the HSM's module (dlopen), which is mounted into the pod.
# Everything is reproducible: no timestamp but the commit's, SBOM serial
# numbers derived from the binary's digest.
#
# Environment: CYCLONEDX_GOMOD (the pinned tool, required), IMAGE_ARCHES
# ("amd64 arm64"), VERSION ("dev"), REVISION and CREATED (the commit and
# its Unix time; empty outside git), GOFIPS140 (v1.0.0), ARCHIVE.
set -euo pipefail
out=${1:?usage: build-image.sh OUT [fips]}
variant=${2:-}
: "${CYCLONEDX_GOMOD:?CYCLONEDX_GOMOD must name the cyclonedx-gomod binary (make image sets it)}"
arches=${IMAGE_ARCHES:-amd64 arm64}
version=${VERSION:-dev}
fips=off
cgo=0
tags=
case "$variant" in
"") ;;
fips) fips=${GOFIPS140:-v1.0.0} ;;
pkcs11)
	cgo=1 tags=pkcs11
	arches=$(go env GOARCH)
	;;
*) echo "build-image.sh: unknown variant $variant (want fips, pkcs11 or nothing)" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
mkdir -p "$out"

args=(-out "$out/oci" -version "$version" -revision "${REVISION:-}" -created "${CREATED:-}")
if [ -n "${ARCHIVE:-}" ]; then args+=(-archive "$ARCHIVE"); fi
for a in $arches; do
	bin=$out/nstance-issuer-linux-$a
	CGO_ENABLED=$cgo GOOS=linux GOARCH=$a GOFIPS140=$fips \
		go build -trimpath -tags "$tags" -ldflags="-s -w" -o "$bin" ./cmd/nstance-issuer
	if [ "$variant" = pkcs11 ]; then
		# The loader (the ELF interpreter) and every library ldd lists,
		# at the paths the binary looks them up by.
		while read -r lib; do
			args+=(-runtime "$a=$lib")
		done < <(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u)
		args+=(-pkcs11 "glibc $(ldd --version | awk 'NR==1 {print $NF}')")
	fi
	# A serial number (a UUID) that names this binary: the same build
	# gives the same SBOM.
	h=$(sha256sum "$bin" | cut -c1-32)
	serial="urn:uuid:${h:0:8}-${h:8:4}-5${h:13:3}-8${h:17:3}-${h:20:12}"
	"$CYCLONEDX_GOMOD" bin -json -std -notimestamp -serial "$serial" -version "$version" -output "$bin.cdx.json" "$bin"
	args+=(-binary "$a=$bin" -sbom "$a=$bin.cdx.json")
done
go run ./cmd/nstance-image "${args[@]}"
