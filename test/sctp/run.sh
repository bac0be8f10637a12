#!/usr/bin/env bash
# Runs Go tests that need SCTP inside a qemu-booted Debian kernel, because the kernels of CI machines
# and containers usually have no SCTP (socket(..., IPPROTO_SCTP) fails with EPROTONOSUPPORT).
#
# Usage: test/sctp/run.sh [PACKAGE[:RUN_REGEX]]...
#   PACKAGE is what `go test` takes (./pkg/diameter/peer, or a pattern such as ./pkg/...);
#   RUN_REGEX is passed as -test.run. Without arguments the DEFAULT_TESTS below run.
#
# How: the newest linux-image-6.1.0-N-amd64 that apt knows is fetched once with `apt-get download`
# (apt checks it against the signed archive) and cached; an initramfs holds a static busybox, the
# SCTP modules and the test binaries built with `CGO_ENABLED=0 go test -c`. Its /init brings up lo,
# loads the modules, runs every binary with -test.v and IMS_SCTP_TEST=1 (so SCTP tests fail instead of
# skipping) and prints a marker per binary and one for the whole run, then powers off. The script
# exits non-zero when a test fails, the VM times out or a marker is missing.
#
# Environment:
#   IMS_SCTP_CACHE         kernel cache (default ${XDG_CACHE_HOME:-$HOME/.cache}/imscore/sctp)
#   IMS_SCTP_KERNEL        kernel package to use instead of the newest (e.g. linux-image-6.1.0-56-amd64)
#   IMS_SCTP_TIMEOUT       seconds for the whole VM run (default 900)
#   IMS_SCTP_TEST_TIMEOUT  -test.timeout of each test binary (default 5m)
#   IMS_SCTP_MEM           VM memory in MiB (default 512)
#   IMS_SCTP_ACCEL         auto (default: KVM when /dev/kvm is usable and boots the kernel within
#                          IMS_SCTP_KVM_BOOT_LIMIT seconds, default 15; else TCG), kvm or tcg
#   IMS_ARTIFACTS          when set, the console log of the run is copied there
#
# Needs go, qemu-system-x86_64, a static busybox, cpio, gzip and GNU coreutils/sed; run as root, it
# installs the missing ones with apt-get (busybox-static qemu-system-x86 cpio).
set -euo pipefail

DEFAULT_TESTS=(
	'./pkg/diameter/peer:^TestEndToEnd$/^sctp$'
	'./dra:^TestRelay$/^(sctp|mixed)$'
	"./test/sctp"
)

# Debian bookworm's signed generic kernel; sctp and what it needs are modules there, loaded in this
# order (sctp needs libcrc32c and ip6_udp_tunnel/udp_tunnel for SCTP over UDP encapsulation).
KERNEL_PATTERN='^linux-image-6\.1\.0-[0-9]+-amd64$'
MODULES=(crc32c_generic libcrc32c udp_tunnel ip6_udp_tunnel sctp)

CACHE=${IMS_SCTP_CACHE:-${XDG_CACHE_HOME:-${HOME:?set HOME or IMS_SCTP_CACHE}/.cache}/imscore/sctp}
TIMEOUT=${IMS_SCTP_TIMEOUT:-900}
TEST_TIMEOUT=${IMS_SCTP_TEST_TIMEOUT:-5m}
MEM=${IMS_SCTP_MEM:-512}
ACCEL=${IMS_SCTP_ACCEL:-auto}
KVM_BOOT_LIMIT=${IMS_SCTP_KVM_BOOT_LIMIT:-15}

log() { printf 'sctp-vm: %s\n' "$*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}

# --- tools -------------------------------------------------------------------------------------

static_busybox() {
	local bb
	bb=$(command -v busybox 2>/dev/null) || return 1
	# ldd says "not a dynamic executable" for a static binary.
	if ldd "$bb" >/dev/null 2>&1; then return 1; fi
	printf '%s\n' "$bb"
}

ensure_tools() {
	local missing=()
	command -v go >/dev/null || die "go not found in PATH"
	command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
	command -v cpio >/dev/null || missing+=(cpio)
	command -v gzip >/dev/null || missing+=(gzip)
	static_busybox >/dev/null || missing+=(busybox-static)
	[[ ${#missing[@]} -eq 0 ]] && return
	if [[ $(id -u) -ne 0 ]]; then
		die "missing ${missing[*]}; install with: sudo apt-get install -y ${missing[*]}"
	fi
	log "installing ${missing[*]}"
	apt-get update -q >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
	static_busybox >/dev/null || die "busybox-static installed but no static busybox in PATH"
}

# --- kernel ------------------------------------------------------------------------------------

newest_known_kernel() {
	command -v apt-cache >/dev/null || return 0
	apt-cache search --names-only "$KERNEL_PATTERN" 2>/dev/null | awk '{print $1}' | sort -V | tail -n 1
}

# pick_kernel prints the package name to use: IMS_SCTP_KERNEL, else the newest apt knows (after one
# apt-get update when apt knows none and we are root), else the newest already cached.
pick_kernel() {
	if [[ -n ${IMS_SCTP_KERNEL:-} ]]; then
		printf '%s\n' "$IMS_SCTP_KERNEL"
		return
	fi
	local pkg
	pkg=$(newest_known_kernel)
	if [[ -z $pkg && $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
		log "apt knows no kernel matching $KERNEL_PATTERN; running apt-get update"
		apt-get update -q >&2
		pkg=$(newest_known_kernel)
	fi
	if [[ -z $pkg ]]; then
		pkg=$(find "$CACHE" -mindepth 2 -maxdepth 2 -name .complete -printf '%h\n' 2>/dev/null |
			xargs -r -n1 basename | sort -V | tail -n 1)
		[[ -n $pkg ]] && log "apt knows no kernel; using cached $pkg"
	fi
	[[ -n $pkg ]] || die "no kernel package matching $KERNEL_PATTERN (apt-get update as root, or set IMS_SCTP_KERNEL)"
	printf '%s\n' "$pkg"
}

# fetch_kernel fills $CACHE/$1 with vmlinuz and modules/<name>.ko (decompressed), unless done before.
fetch_kernel() {
	local pkg=$1 dest="$CACHE/$1"
	[[ -f $dest/.complete ]] && return
	command -v apt-get >/dev/null || die "$pkg is not cached and apt-get is missing"
	mkdir -p "$CACHE"
	local tmp
	tmp=$(mktemp -d "$CACHE/.fetch.XXXXXX")
	# apt-get download drops privileges to _apt when that user can write the directory.
	if [[ $(id -u) -eq 0 ]] && id _apt >/dev/null 2>&1; then chown _apt "$tmp"; fi
	log "downloading $pkg"
	(cd "$tmp" && apt-get download -q "$pkg" >&2) || die "apt-get download $pkg failed"
	local deb
	deb=$(find "$tmp" -maxdepth 1 -name "${pkg}_*.deb" | head -n 1)
	[[ -n $deb ]] || die "apt-get download $pkg produced no .deb"
	dpkg-deb -x "$deb" "$tmp/x"
	mkdir -p "$tmp/out/modules"
	cp "$tmp"/x/boot/vmlinuz-* "$tmp/out/vmlinuz" || die "$pkg has no /boot/vmlinuz-*"
	local moddir
	moddir=$(find "$tmp/x/lib/modules" -mindepth 1 -maxdepth 1 -type d | head -n 1)
	local m f
	for m in "${MODULES[@]}"; do
		f=$(find "$moddir/kernel" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" -o -name "$m.ko.gz" | head -n 1)
		if [[ -z $f ]]; then
			# Built into this kernel: nothing to load.
			grep -q "/$m\.ko\$" "$moddir/modules.builtin" 2>/dev/null && continue
			die "$pkg has no module $m"
		fi
		case $f in
		*.xz) xz -dc "$f" >"$tmp/out/modules/$m.ko" ;;
		*.zst) zstd -qdc "$f" >"$tmp/out/modules/$m.ko" ;;
		*.gz) gzip -dc "$f" >"$tmp/out/modules/$m.ko" ;;
		*) cp "$f" "$tmp/out/modules/$m.ko" ;;
		esac
	done
	printf '%s\n' "$(basename "$deb")" >"$tmp/out/deb"
	touch "$tmp/out/.complete"
	rm -rf "$dest"
	mv "$tmp/out" "$dest"
	rm -rf "$tmp"
	# Older kernels are no longer used.
	find "$CACHE" -mindepth 1 -maxdepth 1 -type d -name 'linux-image-*' ! -name "$pkg" -exec rm -rf {} +
}

# --- initramfs ---------------------------------------------------------------------------------

# add_tests builds one test binary per package of a PACKAGE[:RUN_REGEX] spec into $ROOT/tests/<n>/,
# with the package's directory (testdata...) copied to the same path under $ROOT/src, where the
# binary runs, as `go test` runs it in the package directory.
add_tests() {
	local spec=$1 pkg run=
	pkg=${spec%%:*}
	[[ $spec == *:* ]] && run=${spec#*:}
	local listing
	listing=$(go list -f '{{.ImportPath}} {{.Dir}} {{len .TestGoFiles}} {{len .XTestGoFiles}}' "$pkg") ||
		die "go list $pkg failed (does the package exist?)"
	local modroot
	modroot=$(go list -m -f '{{.Dir}}')
	local built=0 ipath dir nt nx
	while read -r ipath dir nt nx; do
		if [[ $((nt + nx)) -eq 0 ]]; then
			log "$ipath has no tests; skipped"
			continue
		fi
		local n=$((NTESTS += 1)) rel=${dir#"$modroot"/}
		local t="$ROOT/tests/$n"
		mkdir -p "$t" "$ROOT/src/$rel"
		if [[ -n $run ]]; then log "building $ipath (-test.run $run)"; else log "building $ipath"; fi
		CGO_ENABLED=0 go test -c -o "$t/test.bin" "$ipath" || die "go test -c $ipath failed"
		cp -a "$dir/." "$ROOT/src/$rel/"
		printf '%s\n' "$ipath" >"$t/name"
		printf '%s\n' "/src/$rel" >"$t/dir"
		printf '%s\n' "$run" >"$t/run"
		built=$((built + 1))
	done <<<"$listing"
	[[ $built -gt 0 ]] || die "$pkg: no package with tests"
}

write_init() {
	cat >"$ROOT/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin HOME=/tmp TMPDIR=/tmp
mount -t devtmpfs dev /dev
exec >/dev/console 2>&1 </dev/null
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs tmp /tmp
ip link set lo up

M="$MARKER"
finish() {
	echo "\$M RESULT \$1"
	sync
	poweroff -f
	sleep 5
	echo o >/proc/sysrq-trigger
}

echo "\$M kernel \$(uname -r)"
for m in \$(cat /modules/order); do
	[ -f "/modules/\$m.ko" ] || continue
	insmod "/modules/\$m.ko" || { echo "\$M insmod \$m failed"; finish FAIL; }
done

set -o pipefail
status=PASS
for t in /tests/*; do
	name=\$(cat "\$t/name")
	run=\$(cat "\$t/run")
	echo "\$M RUN \$name"
	cd "\$(cat "\$t/dir")"
	if [ -n "\$run" ]; then
		IMS_SCTP_TEST=1 "\$t/test.bin" -test.v -test.timeout=$TEST_TIMEOUT -test.run "\$run" 2>&1 | tee /tmp/out
	else
		IMS_SCTP_TEST=1 "\$t/test.bin" -test.v -test.timeout=$TEST_TIMEOUT 2>&1 | tee /tmp/out
	fi
	rc=\$?
	cd /
	if [ \$rc -ne 0 ]; then
		echo "\$M FAIL \$name (exit \$rc)"
		status=FAIL
	elif ! grep -q '^--- PASS' /tmp/out; then
		# A -test.run that matches nothing, or only skips, proves nothing about SCTP.
		echo "\$M FAIL \$name (no test passed; does -test.run '\$run' match?)"
		status=FAIL
	else
		echo "\$M PASS \$name"
	fi
done
finish \$status
EOF
	chmod 0755 "$ROOT/init"
}

build_initramfs() {
	local kdir=$1
	mkdir -p "$ROOT"/{bin,dev,proc,sys,tmp,etc,modules}
	cp "$(static_busybox)" "$ROOT/bin/busybox"
	printf '127.0.0.1 localhost\n::1 localhost\n' >"$ROOT/etc/hosts"
	cp "$kdir"/modules/*.ko "$ROOT/modules/"
	printf '%s\n' "${MODULES[@]}" >"$ROOT/modules/order"
	write_init
	(cd "$ROOT" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 >"$WORK/initrd"
}

# --- VM ----------------------------------------------------------------------------------------

QEMU_PID=
stop_vm() {
	[[ -n $QEMU_PID ]] || return 0
	kill "$QEMU_PID" 2>/dev/null || true
	wait "$QEMU_PID" 2>/dev/null || true
	QEMU_PID=
}
# cleanup runs at exit: it stops a VM still running and removes the work directory, except the
# console log of a failed run.
WORK=
KEEP_LOG=0
cleanup() {
	stop_vm
	[[ -n $WORK ]] || return 0
	if [[ $KEEP_LOG -eq 1 ]]; then
		rm -rf "$WORK/root" "$WORK/initrd"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run_vm ACCEL SMP BOOT_LIMIT boots the kernel with the initramfs and shows its console. It returns
# qemu's status, 124 when the run takes more than IMS_SCTP_TIMEOUT, or 125 when BOOT_LIMIT is not 0
# and /init has not started after BOOT_LIMIT seconds (KVM that hangs, as nested KVM can).
run_vm() {
	local accel=$1 smp=$2 boot_limit=$3 start=$SECONDS rc=0 booted=0
	log "booting qemu (-accel $accel -smp $smp, timeout ${TIMEOUT}s)"
	: >"$CONSOLE"
	qemu-system-x86_64 -accel "$accel" -cpu max -smp "$smp" -m "$MEM" -nographic -no-reboot \
		-kernel "$KERNEL_DIR/vmlinuz" -initrd "$WORK/initrd" \
		-append "console=ttyS0 panic=-1 loglevel=3 random.trust_cpu=on" </dev/null >"$CONSOLE" 2>&1 &
	QEMU_PID=$!
	tail -n +1 -f --pid="$QEMU_PID" "$CONSOLE" | sed -u 's/\r$//' &
	local tail_pid=$!
	while kill -0 "$QEMU_PID" 2>/dev/null; do
		if [[ $booted -eq 0 ]] && grep -q "$MARKER kernel" "$CONSOLE"; then booted=1; fi
		if [[ $boot_limit -gt 0 && $booted -eq 0 && $((SECONDS - start)) -ge $boot_limit ]]; then
			rc=125
			break
		fi
		if [[ $((SECONDS - start)) -ge $TIMEOUT ]]; then
			rc=124
			break
		fi
		sleep 1
	done
	if [[ $rc -eq 0 ]]; then
		wait "$QEMU_PID" || rc=$?
		QEMU_PID=
	else
		stop_vm
	fi
	wait "$tail_pid" 2>/dev/null || true
	echo
	return "$rc"
}

# --- main --------------------------------------------------------------------------------------

main() {
	local specs=("$@")
	[[ ${#specs[@]} -gt 0 ]] || specs=("${DEFAULT_TESTS[@]}")

	cd "$(dirname "$0")/../.."
	ensure_tools

	local kpkg
	kpkg=$(pick_kernel)
	fetch_kernel "$kpkg"
	log "kernel $(cat "$CACHE/$kpkg/deb")"

	WORK=$(mktemp -d "${TMPDIR:-/tmp}/imscore-sctp.XXXXXX")
	ROOT="$WORK/root"
	NTESTS=0
	# A fresh marker per run, so nothing a test prints can pass for the result.
	MARKER="IMSCORE-SCTP-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
	local spec
	for spec in "${specs[@]}"; do add_tests "$spec"; done
	KERNEL_DIR="$CACHE/$kpkg"
	CONSOLE="$WORK/console.log"
	build_initramfs "$KERNEL_DIR"
	log "initramfs $(du -h "$WORK/initrd" | cut -f1), $NTESTS test binaries"

	local rc=0 start=$SECONDS
	case $ACCEL in
	auto)
		if [[ -r /dev/kvm && -w /dev/kvm ]]; then
			run_vm kvm 2 "$KVM_BOOT_LIMIT" || rc=$?
			if [[ $rc -eq 125 ]]; then
				log "KVM did not boot the kernel to /init within ${KVM_BOOT_LIMIT}s (nested KVM?); using TCG"
				rc=0
				run_vm tcg 1 0 || rc=$?
			fi
		else
			run_vm tcg 1 0 || rc=$?
		fi
		;;
	kvm) run_vm kvm 2 0 || rc=$? ;;
	tcg) run_vm tcg 1 0 || rc=$? ;;
	*) die "IMS_SCTP_ACCEL=$ACCEL: want auto, kvm or tcg" ;;
	esac
	log "VM done (status $rc) after $((SECONDS - start))s"
	if [[ -n ${IMS_ARTIFACTS:-} ]]; then
		mkdir -p "$IMS_ARTIFACTS"
		tr -d '\r' <"$CONSOLE" >"$IMS_ARTIFACTS/sctp-vm-console.log"
	fi

	local result
	result=$(tr -d '\r' <"$CONSOLE" | sed -n "s/.*$MARKER RESULT //p" | tail -n 1)
	tr -d '\r' <"$CONSOLE" | grep -E "$MARKER (PASS|FAIL) " | sed "s/.*$MARKER /sctp-vm: /" >&2 || true
	if [[ $rc -eq 0 && $result == PASS ]]; then
		log "PASS"
		return
	fi
	KEEP_LOG=1
	if [[ $rc -eq 124 ]]; then
		log "FAIL: the VM did not finish within ${TIMEOUT}s; console log kept in $CONSOLE"
	elif [[ $result == FAIL ]]; then
		log "FAIL: see the test output above; console log kept in $CONSOLE"
	else
		log "FAIL: no result marker (qemu status $rc; VM crashed or init failed); console log kept in $CONSOLE"
	fi
	exit 1
}

main "$@"
