#!/usr/bin/env bash
# pkcs11-deps.sh: what the PKCS#11 build and tests need, installed when
# missing (make pkcs11-deps; make test and make lint run it): a C compiler
# for cgo (the pkcs11 build tag) and Debian's softhsm2 (the PKCS#11 module
# libsofthsm2.so and softhsm2-util, which the tests initialise tokens
# with). It installs with apt-get as root (CI runs .ci/run as root on a
# fresh machine); otherwise it says what to install.
set -euo pipefail
module=${SOFTHSM2_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
missing=()
command -v gcc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
{ [ -e "$module" ] && command -v softhsm2-util >/dev/null 2>&1; } || missing+=(softhsm2)
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "pkcs11-deps: missing ${missing[*]}: install them (Debian: apt-get install -y ${missing[*]}), or run make as root on Debian to let it do so" >&2
	exit 1
fi
echo "pkcs11-deps: installing ${missing[*]} with apt-get..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
[ -e "$module" ] || { echo "pkcs11-deps: softhsm2 is installed but $module is missing; set SOFTHSM2_MODULE" >&2; exit 1; }
