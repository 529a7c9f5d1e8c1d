#!/bin/sh
# http_bench.sh — seglossd under wrk: requests/s and latency for a 512x512
# binary target with an 8-bit soft prediction (bce + dice), as JSON with
# base64 and as multipart, at 1, 8 and 32 connections; then the per-stage
# split the daemon reports in timing_ms.
#
#   bench/http_bench.sh BUILD_DIR [SECONDS]
set -eu
build=${1:-build/release}
secs=${2:-10}
dir=$(mktemp -d)
log="$dir/seglossd.log"
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"' EXIT

"$build/bench/gen_masks" 512 "$dir" "bce,dice" >/dev/null
"$build/seglossd" --bind 127.0.0.1 --port 0 --queue 1024 --db off 2>"$log" &
pid=$!
port=""
for _ in $(seq 100); do
	port=$(sed -n 's/.*seglossd listening.* port=\([0-9]*\).*/\1/p' "$log")
	[ -n "$port" ] && break
	sleep 0.05
done
[ -n "$port" ] || { echo "seglossd did not start"; cat "$log"; exit 1; }

cat > "$dir/post.lua" <<'LUA'
local f = io.open(os.getenv("BODY"), "rb")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = os.getenv("CTYPE")
LUA

echo "seglossd on $(nproc) cores, $(sed -n 's/.*workers=\([0-9]*\).*/\1/p' "$log") workers; wrk on the same machine, ${secs}s per run"
echo "request: 512x512 target PNG $(stat -c %s "$dir/target.png") B + prediction PNG $(stat -c %s "$dir/prediction.png") B, losses bce+dice"
printf "%-10s %6s %12s %10s %10s %8s\n" body conns "requests/s" "p50 ms" "p99 ms" errors
for form in json multipart; do
	if [ $form = json ]; then body="$dir/eval.json"; ct="application/json"
	else body="$dir/eval.multipart"; ct="multipart/form-data; boundary=segbench"; fi
	for c in 1 8 32; do
		t=$([ "$c" -lt 2 ] && echo 1 || echo 2)
		out=$(BODY="$body" CTYPE="$ct" wrk -t"$t" -c"$c" -d"${secs}s" --latency -s "$dir/post.lua" \
			"http://127.0.0.1:$port/v1/evaluate" 2>&1)
		rps=$(echo "$out" | sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p')
		p50=$(echo "$out" | awk '$1=="50%"{print $2}')
		p99=$(echo "$out" | awk '$1=="99%"{print $2}')
		non2xx=$(echo "$out" | sed -n 's/.*Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p')
		ms() { case "$1" in *us) echo "$1" | sed 's/us//' | awk '{printf "%.2f", $1/1000}';;
			*ms) echo "$1" | sed 's/ms//';; *s) echo "$1" | sed 's/s//' | awk '{printf "%.1f", $1*1000}';; esac; }
		printf "%-10s %6d %12s %10s %10s %8s\n" $form "$c" "$rps" "$(ms "$p50")" "$(ms "$p99")" "${non2xx:-0}"
	done
done

# Per-stage split: the daemon's own timing_ms, averaged over 200 sequential requests.
echo
echo "per-stage time inside the daemon (mean of 200 requests, ms) and the client's wall time:"
for form in json multipart; do
	if [ $form = json ]; then body="$dir/eval.json"; ct="application/json"
	else body="$dir/eval.multipart"; ct="multipart/form-data; boundary=segbench"; fi
	i=0; : > "$dir/t.txt"
	start=$(date +%s%N)
	while [ $i -lt 200 ]; do
		curl -s -H "Content-Type: $ct" --data-binary @"$body" "http://127.0.0.1:$port/v1/evaluate" |
			sed -n 's/.*"timing_ms":{\(.*\)}}$/\1/p' >> "$dir/t.txt"
		i=$((i + 1))
	done
	end=$(date +%s%N)
	awk -F'[:,]' -v form=$form -v wall="$(( (end - start) / 200000 ))" '
		{ for (i = 1; i < NF; i += 2) { gsub(/"/, "", $i); s[$i] += $(i+1); n[$i]++ } }
		END { printf "%-10s receive %.3f  parse+base64 %.3f  decode %.3f  compute %.3f  encode %.3f  total %.3f  (curl wall %.2f incl. process start)\n",
			form, s["receive"]/n["receive"], s["base64"]/n["base64"], s["decode"]/n["decode"],
			s["compute"]/n["compute"], s["encode"]/n["encode"], s["total"]/n["total"], wall/1000 }' "$dir/t.txt"
done
