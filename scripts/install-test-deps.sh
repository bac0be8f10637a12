#!/usr/bin/env bash
# install-test-deps.sh: install the tools the end-to-end tests drive, when they are missing.
#
# Idempotent and fast when everything is there (one dpkg-query). As root it runs apt-get update
# once and installs what is missing; as another user it prints what is missing and exits 0, so
# that `make test` still runs (the tests that need a missing tool then fail under
# IMS_REQUIRE_TOOLS=1, naming the tool).
set -euo pipefail

# Debian package -> what the tests use from it.
PACKAGES=(
	tshark           # Wireshark dissector checks of captured SIP and Diameter
	sip-tester       # sipp: SIP call flows
	freediameter     # freeDiameterd: an independent Diameter peer
	qemu-system-x86  # test/sctp: a kernel with SCTP
	busybox-static   # test/sctp: the initramfs userland
	cpio             # test/sctp: building the initramfs
	postgresql       # HSS store tests against PostgreSQL
	libxml2-utils    # xmllint: the Cx-User-Data XML we write against the TS 29.228 schema
)

installed() {
	dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

missing=()
for pkg in "${PACKAGES[@]}"; do
	installed "$pkg" || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "install-test-deps: all test tools installed"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-test-deps: not root, not installing. Missing: ${missing[*]}" >&2
	echo "install-test-deps: as root: apt-get install ${missing[*]}" >&2
	exit 0
fi

echo "install-test-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; the tests capture as root, so answer no.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
