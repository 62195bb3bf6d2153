#!/usr/bin/env bash
# HAProxy and tsgw-proxy side by side under the same wrk load; appends the
# results to bench/HISTORY.md (bench/RESULTS.md holds the current figures,
# copied from there by hand). Run from anywhere; `make bench-dataplane`
# builds bin/proxy first.
#
# Environment: ROUNDS (3), DURATION (10s), CONNECTIONS (50), THREADS (2).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-50}
THREADS=${THREADS:-2}
BACKEND_PORTS=(18081 18082 18083)
HAPROXY_PORT=18090
TSGW_PORT=18091

if ! command -v haproxy >/dev/null || ! command -v wrk >/dev/null; then
	apt-get update && apt-get install -y haproxy wrk
fi
[ -x bin/proxy ] || go build -o bin/ ./cmd/proxy
go build -o bin/bench-backend ./bench/backend

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

bin/bench-backend -ports "$(IFS=,; echo "${BACKEND_PORTS[*]}")" &
pids+=($!)

{
	echo "global"
	echo "  maxconn 8000"
	echo "defaults"
	echo "  mode tcp"
	echo "  timeout connect 5s"
	echo "  timeout client 60s"
	echo "  timeout server 60s"
	echo "frontend fe"
	echo "  bind 127.0.0.1:$HAPROXY_PORT"
	echo "  default_backend be"
	echo "backend be"
	echo "  balance roundrobin"
	for i in "${!BACKEND_PORTS[@]}"; do echo "  server b$i 127.0.0.1:${BACKEND_PORTS[$i]}"; done
} >"$work/haproxy.cfg"
haproxy -f "$work/haproxy.cfg" -db >/dev/null 2>&1 &
pids+=($!)
haproxy_pid=$!

{
	echo "listeners: [{address: \"127.0.0.1:$TSGW_PORT\", service: bench}]"
	echo "services:"
	echo "  - name: bench"
	echo "    strategy: round-robin"
	echo "    backends:"
	for i in "${!BACKEND_PORTS[@]}"; do echo "      - {name: b$i, address: \"127.0.0.1:${BACKEND_PORTS[$i]}\"}"; done
} >"$work/tsgw.yaml"
bin/proxy --config "$work/tsgw.yaml" 2>"$work/tsgw.log" &
pids+=($!)
tsgw_pid=$!

for port in "${BACKEND_PORTS[@]}" $HAPROXY_PORT $TSGW_PORT; do
	for _ in $(seq 100); do
		(exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
		sleep 0.1
	done
done

ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# ms converts wrk's latency ("812.00us", "1.20ms", "2.01s") to milliseconds.
ms() { awk -v v="$1" 'BEGIN{ if (v ~ /us$/) printf "%.3f", v/1000; else if (v ~ /ms$/) printf "%.3f", v+0; else if (v ~ /s$/) printf "%.3f", v*1000; else print v }'; }

rows="$work/rows"
: >"$rows"
run() { # name pid port mode
	local name=$1 pid=$2 port=$3 mode=$4 header=()
	[ "$mode" = close ] && header=(-H 'Connection: close')
	local before start out end after
	before=$(cpu_ticks "$pid")
	start=$(date +%s.%N)
	out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "${header[@]}" "http://127.0.0.1:$port/")
	end=$(date +%s.%N)
	after=$(cpu_ticks "$pid")
	local rps p50 p99 errors cpu
	rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
	p50=$(ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
	p99=$(ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
	errors=$(awk '/Socket errors|Non-2xx/ {printf "%s ", $0}' <<<"$out")
	cpu=$(awk -v d=$((after - before)) -v t="$ticks" -v s="$start" -v e="$end" 'BEGIN{printf "%.0f", 100 * d / t / (e - s)}')
	# CPU time per request is steadier than req/s on a shared machine.
	us=$(awk -v c="$cpu" -v r="$rps" 'BEGIN{printf "%.1f", c * 10000 / r}')
	echo "$name $mode $rps $p50 $p99 $cpu $us ${errors:-none}" >>"$rows"
	echo "$name $mode: $rps req/s, p50 ${p50}ms, p99 ${p99}ms, CPU ${cpu}% (${us} us/request) ${errors}" >&2
}

# The two proxies take turns going first, so that a machine that slows
# down or speeds up during a round favours neither.
for round in $(seq "$ROUNDS"); do
	echo "round $round/$ROUNDS" >&2
	for mode in keepalive close; do
		if ((round % 2)); then
			run haproxy "$haproxy_pid" $HAPROXY_PORT $mode
			run tsgw-proxy "$tsgw_pid" $TSGW_PORT $mode
		else
			run tsgw-proxy "$tsgw_pid" $TSGW_PORT $mode
			run haproxy "$haproxy_pid" $HAPROXY_PORT $mode
		fi
	done
done

summary() { # mode
	awk -v mode="$1" '$2 == mode { n[$1]++; rps[$1] += $3; p50[$1] += $4; p99[$1] += $5; cpu[$1] += $6; us[$1] += $7 }
		END {
			for (p in n) printf "| %s | %s | %.0f | %.3f | %.3f | %.0f%% | %.1f |\n", mode, p, rps[p]/n[p], p50[p]/n[p], p99[p]/n[p], cpu[p]/n[p], us[p]/n[p]
			if (n["haproxy"] && n["tsgw-proxy"])
				printf "| %s | **ratio tsgw/haproxy** | **%.2f** | | %.2f | | %.2f |\n", mode, (rps["tsgw-proxy"]/n["tsgw-proxy"]) / (rps["haproxy"]/n["haproxy"]), (p99["tsgw-proxy"]/n["tsgw-proxy"]) / (p99["haproxy"]/n["haproxy"]), (us["tsgw-proxy"]/n["tsgw-proxy"]) / (us["haproxy"]/n["haproxy"])
		}' "$rows" | sort
}

# paired MODE: the median over the rounds of each round's tsgw/haproxy
# ratio of req/s and of p99, which a noisy neighbour moves less than the
# ratio of the averages.
paired() {
	awk -v mode="$1" '$2 == mode { v[$1] = $3 " " $5 }
		$2 == mode && ("haproxy" in v) && ("tsgw-proxy" in v) {
			split(v["haproxy"], h); split(v["tsgw-proxy"], t)
			print t[1] / h[1], t[2] / h[2]; delete v }' "$rows" >"$work/pairs"
	local n rps p99
	n=$(wc -l <"$work/pairs")
	rps=$(cut -d' ' -f1 "$work/pairs" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}')
	p99=$(cut -d' ' -f2 "$work/pairs" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}')
	printf "| %s | median of %d rounds' ratios | %.2f | | %.2f | | |\n" "$1" "$n" "$rps" "$p99"
}

{
	echo
	echo "## $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "- Machine: $(nproc) CPUs, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), kernel $(uname -r)"
	echo "- $(haproxy -v | head -1); tsgw-proxy $(git rev-parse --short HEAD 2>/dev/null || echo unknown) built with $(go version | awk '{print $3}')"
	echo "- Load: \`wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency [-H 'Connection: close'] http://127.0.0.1:PORT/\`, $ROUNDS alternating rounds, three Go HTTP backends (bench/backend), both proxies TCP mode round-robin, all on the same machine"
	echo "- Command: \`ROUNDS=$ROUNDS DURATION=$DURATION CONNECTIONS=$CONNECTIONS THREADS=$THREADS hack/bench-dataplane.sh\`"
	echo
	echo "Averages over the rounds (CPU: proxy process, % of one core; CPU µs/request: its CPU time per request, steadier than req/s on a shared machine):"
	echo
	echo "| mode | proxy | req/s | p50 ms | p99 ms | CPU | CPU µs/request |"
	echo "|---|---|---|---|---|---|---|"
	summary keepalive
	paired keepalive
	summary close
	paired close
	echo
	echo "<details><summary>Every run</summary>"
	echo
	echo "| proxy | mode | req/s | p50 ms | p99 ms | CPU | CPU µs/request | errors |"
	echo "|---|---|---|---|---|---|---|---|"
	while read -r name mode rps p50 p99 cpu us errors; do
		echo "| $name | $mode | $rps | $p50 | $p99 | $cpu% | $us | $errors |"
	done <"$rows"
	echo
	echo "</details>"
} >>bench/HISTORY.md
echo "results appended to bench/HISTORY.md; copy them to bench/RESULTS.md if they are the new current figures" >&2
