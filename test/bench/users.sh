#!/usr/bin/env bash
# Writes the subscribers of the SIPp registration benchmark: users.csv, the SIPp injection file
# (read in sequence; field0 = IMSI, field1 = SIPp's [authentication] keyword for it: SIPp
# does not expand [field0] inside a keyword written in the scenario, so the whole keyword
# comes from the file), and subscribers.ndjson, the same subscribers for the HSS
# bulk import (POST /api/v1/subscribers/import, Content-Type application/x-ndjson). Every
# subscriber has the AKA keys of test/sipp/bench_*.xml.
#   test/bench/users.sh COUNT DIR
set -euo pipefail
count=${1:?usage: users.sh COUNT DIR}
dir=${2:?usage: users.sh COUNT DIR}
domain=ims.mnc001.mcc001.3gppnetwork.org
# The keys of test/e2e: no 0x00 or 0x5b byte, which SIPp mishandles.
k=8baf473f2f8fd09487cccbd7097c6862
op=e734f8734007d6c5ce7a0508809e7e9c

mkdir -p "$dir"
awk -v n="$count" -v d="$domain" -v k="$k" -v op="$op" -v csv="$dir/users.csv" -v nd="$dir/subscribers.ndjson" 'BEGIN {
	print "SEQUENTIAL" > csv
	for (i = 1; i <= n; i++) {
		imsi = sprintf("00101%010d", 100000 + i)
		msisdn = sprintf("1666%07d", i)
		printf "%s;[authentication username=%s@%s aka_K=0x%s aka_OP=0x%s aka_AMF=0x8000]\n", imsi, imsi, d, k, op > csv
		printf "{\"imsi\":\"%s\",\"msisdn\":\"%s\",\"auth\":{\"k\":\"%s\",\"op\":\"%s\",\"amf\":\"8000\",\"sqn\":0},\"ims\":{\"impi\":\"%s@%s\",\"impus\":[\"sip:%s@%s\",\"tel:+%s\"]}}\n", imsi, msisdn, k, op, imsi, d, imsi, d, msisdn > nd
	}
}'
