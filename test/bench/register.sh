#!/usr/bin/env bash
# The IMS registration benchmark of docs/PERFORMANCE.md ("SIP proxy core and CSCFs"): SIPp
# registers with AKA through the real binaries, SIPp -> P-CSCF -> I-CSCF -> S-CSCF, Diameter Cx
# through the DRA to the HSS (DRA=0: straight to the HSS), all on 127.0.0.1 (ports picked at
# random, configs and data in a temp dir). Two phases:
#   1. initial registrations: test/sipp/bench_register_aka.xml, one call per subscriber at
#      INIT_RATE calls/s (REGISTER -> 401 -> REGISTER -> 200);
#   2. re-registrations: test/sipp/bench_reregister_aka.xml, REREG_CALLS calls at REREG_RATE
#      calls/s, each registering then re-registering REREG_PER_CALL times in its dialog.
# Prints, per phase: completed registrations/s, failures, SIPp's res00 retries (RES with a 0x00
# byte, which SIPp gets wrong), p50/p95/p99 response times, and the CPU of every process.
#   make bench-sipp            # or: test/bench/register.sh
#   USERS=20000 INIT_RATE=400 test/bench/register.sh
#   TMPDIR=/dev/shm PROFILE=1 test/bench/register.sh   # data on tmpfs; CPU profile of each node
# A phase with INIT_RATE=0 or REREG_CALLS=0 is skipped.
set -euo pipefail

USERS=${USERS:-6000}              # subscribers provisioned; phase 1 registers each once
INIT_RATE=${INIT_RATE:-200}       # phase 1 calls (registrations) per second
INIT_LIMIT=${INIT_LIMIT:-2000}    # SIPp's cap on calls in progress (-l)
REREG_CALLS=${REREG_CALLS:-600}   # phase 2 calls
REREG_RATE=${REREG_RATE:-60}      # phase 2 calls per second: 60 x 50 offers the goal, 3,000 re-REGISTER/s
REREG_PER_CALL=${REREG_PER_CALL:-50}
KEEP=${KEEP:-0}                   # 1 keeps the work dir (logs, SIPp traces)
LOG_LEVEL=${LOG_LEVEL:-warn}       # of every node
PROFILE=${PROFILE:-0}             # 1 runs the nodes with a CPU profile (test/bench/profnode)
SIPP_EXTRA=${SIPP_EXTRA:-}        # more SIPp options for both phases, e.g. -trace_msg
BIN=${BIN:-}                      # a directory with the five binaries already built: no build, so the tree may change meanwhile
OVERLOAD=${OVERLOAD:-1}           # 0 turns the overload controls off (sip.max_transactions, registrar.overload_cx_latency)
MAX_TX=${MAX_TX:-}                # sip.max_transactions of the three CSCFs; empty: their default
STORE_FLUSH=${STORE_FLUSH:-}      # the S-CSCF's registrar.store_flush_interval (0: write through); empty: its default
REFRESH_NOTIFY=${REFRESH_NOTIFY:-} # the S-CSCF's registrar.refresh_notify_interval (e.g. 10m); empty: its default, every refresh notified
DRA=${DRA:-1}                     # 0: the CSCFs peer with the HSS directly (as docker_open5gs's Kamailio CSCFs do with PyHSS), no DRA
CORE_TRANSPORT=${CORE_TRANSPORT:-udp} # tcp: REGISTER P -> I -> S and the NOTIFYs S -> P over TCP (;transport=tcp, the P-CSCF's core_transport); SIPp stays on UDP
read -ra sipp_extra <<<"$SIPP_EXTRA"

root=$(cd "$(dirname "$0")/../.." && pwd)
command -v sipp >/dev/null || { echo "register.sh: sipp not found (apt-get install sip-tester)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/imscore-bench-XXXXXX") # TMPDIR=/dev/shm: no disk syncs
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ "$KEEP" = 1 ]; then echo "work dir kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# port prints a port that is free for both UDP and TCP on 127.0.0.1 and not handed out before.
used=" "
port() {
	local p
	while :; do
		# Below Linux's ephemeral range (32768-60999): a port handed out to an outgoing
		# connection meanwhile (Diameter, SIP over TCP) cannot collide with a node or SIPp.
		# Sockets in any state count (a connection of a previous run may still hold one).
		p=$((20000 + RANDOM % 12000))
		case $used in *" $p "*) continue ;; esac
		if [ -z "$(ss -Hanut "sport = :$p")" ]; then used+="$p "; echo "$p"; return; fi
	done
}

echo "== build"
mkdir -p "$work/bin"
if [ -n "$BIN" ]; then
	# With PROFILE=1, BIN holds profnode (go build -tags bench -o BIN/ ./test/bench/profnode).
	for n in hss dra icscf scscf pcscf; do
		if [ "$PROFILE" = 1 ]; then cp "$BIN/profnode" "$work/bin/$n"; else cp "$BIN/$n" "$work/bin/$n"; fi
	done
elif [ "$PROFILE" = 1 ]; then
	(cd "$root" && CGO_ENABLED=0 go build -trimpath -tags bench -o "$work/bin/profnode" ./test/bench/profnode)
	for n in hss dra icscf scscf pcscf; do ln "$work/bin/profnode" "$work/bin/$n"; done
else
	(cd "$root" && CGO_ENABLED=0 go build -trimpath -o "$work/bin/" ./cmd/hss ./cmd/dra ./cmd/icscf ./cmd/scscf ./cmd/pcscf)
fi

domain=ims.mnc001.mcc001.3gppnetwork.org
token=bench-token
hss_admin=127.0.0.1:$(port); hss_diam=$(port)
dra_admin=127.0.0.1:$(port); dra_diam=$(port)
scscf_admin=127.0.0.1:$(port); scscf_sip=$(port)
icscf_admin=127.0.0.1:$(port); icscf_sip=$(port)
pcscf_admin=127.0.0.1:$(port); pcscf_sip=$(port)
# sip_max: the sip section's overload bound (MAX_TX, OVERLOAD=0); cx_overload: the registrar's.
sip_max="" cx_overload="" core_tp=""
case $CORE_TRANSPORT in
udp) ;;
tcp) core_tp=";transport=tcp" ;;
*) echo "register.sh: CORE_TRANSPORT=$CORE_TRANSPORT: udp or tcp" >&2; exit 1 ;;
esac
if [ -n "$MAX_TX" ]; then sip_max=", max_transactions: $MAX_TX"; fi
if [ "$OVERLOAD" = 0 ]; then sip_max=", max_transactions: 0" cx_overload=", overload_cx_latency: 0s"; fi
# cx_peer: the Diameter peer of the three CSCFs.
cx_peer="{host: dra.$domain, realm: $domain, network: tcp, addr: \"127.0.0.1:$dra_diam\", apps: [cx]}"
nodes=(pcscf icscf scscf dra hss)
if [ "$DRA" = 0 ]; then
	cx_peer="{host: hss.$domain, realm: $domain, network: tcp, addr: \"127.0.0.1:$hss_diam\", apps: [cx]}"
	nodes=(pcscf icscf scscf hss)
fi

declare -A pid_of
# start NAME CONFIG: writes the config and runs the node in its own directory (its ./data).
start() {
	local name=$1 dir=$work/$1
	mkdir -p "$dir"
	printf '%s\n' "$2" >"$dir/$name.yaml"
	(cd "$dir" && IMS_CPUPROFILE=$([ "$PROFILE" = 1 ] && echo "$dir/cpu.pprof") \
		exec "$work/bin/$name" -config "$name.yaml" 2>"$dir/stderr.log" >/dev/null) &
	pids+=($!)
	pid_of[$name]=$!
}
# healthy NAME ADMIN: waits until /healthz says ok (Diameter peers connected); else shows why.
healthy() {
	for _ in $(seq 300); do
		curl -sf "http://$2/healthz" >/dev/null 2>&1 && return
		sleep 0.1
	done
	echo "register.sh: $1: $2/healthz not ok after 30 s: $(curl -s "http://$2/healthz" 2>&1 | head -c 300)" >&2
	tail -5 "$work/$1/stderr.log" >&2
	exit 1
}

echo "== start ${nodes[*]}"
start hss "admin: {listen: \"$hss_admin\"}
log: {level: $LOG_LEVEL}
diameter:
  listen: [{network: tcp, addr: \"127.0.0.1:$hss_diam\"}]
api_token: $token"
healthy hss "$hss_admin"
[ "$DRA" = 0 ] || start dra "admin: {listen: \"$dra_admin\"}
log: {level: $LOG_LEVEL}
diameter:
  listen: [{network: tcp, addr: \"127.0.0.1:$dra_diam\"}]
  peers:
    - {host: hss.$domain, realm: $domain, network: tcp, addr: \"127.0.0.1:$hss_diam\", apps: [cx]}
routes:
  - {realm: $domain, peers: [{host: hss.$domain}]}"
[ "$DRA" = 0 ] || healthy dra "$dra_admin"
start scscf "admin: {listen: \"$scscf_admin\"}
log: {level: $LOG_LEVEL}
sip: {listen: \"127.0.0.1:$scscf_sip\"$sip_max}
diameter: {peers: [$cx_peer]}
registrar: {server_name: \"sip:127.0.0.1:$scscf_sip$core_tp\"${STORE_FLUSH:+, store_flush_interval: $STORE_FLUSH}${REFRESH_NOTIFY:+, refresh_notify_interval: $REFRESH_NOTIFY}$cx_overload}"
start icscf "admin: {listen: \"$icscf_admin\"}
log: {level: $LOG_LEVEL}
sip: {listen: \"127.0.0.1:$icscf_sip\"$sip_max}
diameter: {peers: [$cx_peer]}
scscfs: [{name: \"sip:127.0.0.1:$scscf_sip$core_tp\"}]"
start pcscf "admin: {listen: \"$pcscf_admin\"}
log: {level: $LOG_LEVEL}
sip: {listen: \"127.0.0.1:$pcscf_sip\"$sip_max}
diameter: {peers: [$cx_peer]}
icscf: \"sip:127.0.0.1:$icscf_sip$core_tp\"${core_tp:+
core_transport: tcp}"
healthy scscf "$scscf_admin"
healthy icscf "$icscf_admin"
healthy pcscf "$pcscf_admin"

echo "== provision $USERS subscribers"
"$root/test/bench/users.sh" "$USERS" "$work"
t0=$(date +%s.%N)
code=$(curl -s -o "$work/import.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $token" \
	-H 'Content-Type: application/x-ndjson' --data-binary "@$work/subscribers.ndjson" \
	"http://$hss_admin/api/v1/subscribers/import")
[ "${code:0:1}" = 2 ] || { echo "import: HTTP $code $(head -c 500 "$work/import.json")" >&2; exit 1; }
echo "imported in $(echo "$(date +%s.%N) - $t0" | bc) s"

# cpu_ticks PID: user+system clock ticks of a process so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# phase NAME SCENARIO RTD OFFERED SIPP-ARGS...: runs SIPp and reports.
phase() {
	local name=$1 scenario=$2 rtd=$3 offered=$4 dir=$work/$1
	shift 4
	mkdir -p "$dir"
	declare -A before
	for n in "${nodes[@]}"; do before[$n]=$(cpu_ticks "${pid_of[$n]}"); done
	# Per-second CPU of every node, for the peak.
	(
		declare -A last
		for n in "${nodes[@]}"; do last[$n]=$(cpu_ticks "${pid_of[$n]}"); done
		while sleep 1; do
			line=""
			for n in "${nodes[@]}"; do
				t=$(cpu_ticks "${pid_of[$n]}"); line+="$n=$((t - ${last[$n]})) "; last[$n]=$t
			done
			echo "$line"
		done
	) >"$dir/cpu_per_second.txt" &
	local sampler=$!
	local start end
	start=$(date +%s.%N)
	# -nd: a refused registration just ends. By default SIPp aborts it with a BYE, which no UE
	# sends; the P-CSCF routes that BYE by DNS (its Request-URI is the home domain), and with
	# no resolver here each BYE held a transaction slot for the resolver's timeout: past
	# capacity the P-CSCF then refused everything for seconds while the chain idled.
	(cd "$dir" && /usr/bin/time -f '%U %S' -o sipp.time sipp -sf "$root/test/sipp/$scenario" \
		-inf "$work/users.csv" -t u1 -i 127.0.0.1 -p "$(port)" -nostdin -nd \
		-trace_stat -fd 1 -trace_rtt -rtt_freq 1 -trace_logs -trace_err -trace_screen \
		-timeout_error -recv_timeout 10s -max_recv_loops 10000 -max_sched_loops 10000 \
		"${sipp_extra[@]}" "$@" "127.0.0.1:$pcscf_sip" >sipp.out 2>&1) || true
	end=$(date +%s.%N)
	kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true

	local stats rtts stat rtt
	stats=("$dir"/*_.csv) rtts=("$dir"/*_rtt.csv)
	stat=${stats[0]} rtt=${rtts[0]}
	# The last line of the stat file holds the cumulative counters.
	local ok failed
	ok=$(awk -F';' 'NR==1{for(i=1;i<=NF;i++) if($i=="SuccessfulCall(C)") c=i} END{print $c}' "$stat")
	failed=$(awk -F';' 'NR==1{for(i=1;i<=NF;i++) if($i=="FailedCall(C)") c=i} END{print $c}' "$stat")
	local res00 res00twice res00thrice
	res00=$(cat "$dir"/*_logs.log 2>/dev/null | grep -c '^res00 ' || true)
	res00twice=$(cat "$dir"/*_logs.log 2>/dev/null | grep -c '^res00twice ' || true)
	res00thrice=$(cat "$dir"/*_logs.log 2>/dev/null | grep -c '^res00thrice ' || true)
	# Response times of rtd $rtd: rows "date_ms;response_time_ms;rtd_no".
	local times="$dir/rtd$rtd.txt"
	awk -F';' -v r="$rtd" '$3==r{print $2}' "$rtt" | sort -n >"$times"
	local count first last
	count=$(wc -l <"$times")
	read -r first last < <(awk -F';' -v r="$rtd" '$3==r{if(f=="")f=$1; l=$1} END{print f, l}' "$rtt")
	pct() { awk -v p="$1" -v n="$count" 'NR==int((n-1)*p)+1{printf "%.1f", $1; exit}' "$times"; }
	{
		echo "== $name: sipp $scenario $*; offered $offered/s"
		printf 'completed: %d (%s), in %.1f s of traffic: %.0f/s' "$count" "rtd$rtd" \
			"$(echo "($last - $first)/1000" | bc -l)" "$(echo "$count * 1000 / ($last - $first)" | bc -l)"
		# The average above counts the ramp up and the tail, when fewer calls run (the last
		# calls' re-registrations follow one another for REREG_PER_CALL round trips after
		# SIPp stops starting calls); the median second is the sustained rate.
		awk -F';' -v r="$rtd" '$3==r{n[int($1/1000)]++} END{for(s in n) print n[s]}' "$rtt" | sort -n |
			awk '{v[NR]=$1} END{printf "; median second %d/s, best second %d/s\n", v[int((NR+1)/2)], v[NR]}'
		echo "sipp calls: successful $ok, failed $failed; SIPp's wrong RES (0x00 byte): $res00 answered again, $res00twice twice (403, started over), $res00thrice a third time (no registration)"
		echo "response time ms: p50 $(pct 0.5) p95 $(pct 0.95) p99 $(pct 0.99) max $(tail -1 "$times")"
		local wall
		wall=$(echo "$end - $start" | bc -l)
		printf 'cpu over %.1f s (%% of one core, average / peak second):' "$wall"
		for n in "${nodes[@]}"; do
			local used
			used=$(($(cpu_ticks "${pid_of[$n]}") - ${before[$n]}))
			printf ' %s %.0f/%s' "$n" "$(echo "$used / $wall" | bc -l)" \
				"$(grep -o "$n=[0-9]*" "$dir/cpu_per_second.txt" | cut -d= -f2 | sort -n | tail -1)"
		done
		printf ' sipp %.0f\n' "$(tail -1 "$dir/sipp.time" | awk -v w="$wall" '{print ($1 + $2) * 100 / w}')"
		printf 'cpu ms per completed rtd%s:' "$rtd"
		local total=0
		for n in "${nodes[@]}"; do
			local used
			used=$(($(cpu_ticks "${pid_of[$n]}") - ${before[$n]}))
			total=$((total + used))
			printf ' %s %.2f' "$n" "$(echo "$used * 10 / $count" | bc -l)"
		done
		printf ' all nodes %.2f\n' "$(echo "$total * 10 / $count" | bc -l)"
		if [ "$failed" != 0 ]; then
			echo "sipp errors by kind:"
			cat "$dir"/*_errors.log 2>/dev/null | tr -d '\r' | grep -E -o \
				"receive timeout on message [^ ]+|Aborting call on unexpected message|received 'SIP/2.0 [0-9]+ [A-Za-z ]+" |
				sort | uniq -c | sort -rn | head -8
		fi
	} | tee "$dir/summary.txt"
}

echo "== machine: $(nproc) CPUs, $(go version | cut -d' ' -f3), $(sipp -v 2>&1 | grep -o 'SIPp v[^ ]*')"
[ "$INIT_RATE" = 0 ] || phase initial bench_register_aka.xml 1 "$INIT_RATE" -r "$INIT_RATE" -m "$USERS" -l "$INIT_LIMIT"
[ "$REREG_CALLS" = 0 ] || phase reregister bench_reregister_aka.xml 2 $((REREG_RATE * REREG_PER_CALL)) -r "$REREG_RATE" -m "$REREG_CALLS" -set rereg "$REREG_PER_CALL"
for n in "${nodes[@]}"; do
	if grep -q 'level=ERROR' "$work/$n/stderr.log"; then
		echo "$n logged $(grep -c 'level=ERROR' "$work/$n/stderr.log") errors, first: $(grep -m1 'level=ERROR' "$work/$n/stderr.log")"
	fi
done
if [ "$PROFILE" = 1 ]; then
	for p in "${pids[@]}"; do kill -TERM "$p"; done
	for p in "${pids[@]}"; do wait "$p" || true; done
	pids=()
	for n in "${nodes[@]}"; do
		echo "== CPU profile of $n (both phases), top 20 by cumulative time"
		go tool pprof -top -cum -nodecount 20 "$work/bin/$n" "$work/$n/cpu.pprof" 2>/dev/null | sed -n '4,30p'
	done
fi
