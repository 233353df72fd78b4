#!/bin/bash
# SPDX-License-Identifier: MIT
#
# stats_cost.sh - what the per-loop counters cost the echo server, in
# instructions per request: examples/echo_server (one loop) under valgrind's
# callgrind, a ping-pong client of N1 and then N2 requests of 64 bytes on one
# connection, and the difference divided by N2 - N1 (start-up, the warm-up
# and the connection set-up cancel out).  Instruction counts, not time: they
# are stable on a loaded machine.  Run it on two builds, one configured with
# -Dloop_stats=false:
#
#     bench/stats_cost.sh build/examples/echo_server
#     bench/stats_cost.sh build-nostats/examples/echo_server
#
# (perf stat -e instructions does the same where the CPU's counters are
# available; callgrind counts user-space instructions only.)
set -eu
SERVER=${1:?usage: stats_cost.sh ECHO_SERVER [N1 N2]}
N1=${2:-1000}
N2=${3:-16000}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

cat >"$TMP/client.py" <<'PY'
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
for _ in range(600):
    try:
        s = socket.create_connection(("127.0.0.1", port))
        break
    except OSError:
        time.sleep(0.05)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
msg = b"x" * 64
for _ in range(n):
    s.sendall(msg)
    got = 0
    while got < len(msg):
        got += len(s.recv(4096))
s.close()
PY

# Instructions of the server while the client makes $1 requests.
measure() {
    local port pid cc
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.$port.%p" \
        "$SERVER" echo "$port" 1 >"$TMP/server.log" 2>&1 &
    pid=$!
    python3 "$TMP/client.py" "$port" 200 # warm-up: stacks, buffers
    callgrind_control -z "$pid" >/dev/null 2>&1 &
    cc=$!
    python3 "$TMP/client.py" "$port" 1 # a request wakes the loop to zero
    wait "$cc"
    python3 "$TMP/client.py" "$port" "$1"
    callgrind_control -d "$pid" >/dev/null 2>&1 &
    cc=$!
    python3 "$TMP/client.py" "$port" 1
    wait "$cc"
    kill -9 "$pid"
    wait "$pid" 2>/dev/null || true
    grep -h '^totals:' "$TMP"/cg."$port".*.1 | awk '{print $2}'
}

# The server's user and system CPU ticks (/proc/PID/stat) over $1 requests,
# natively: how much of a request's CPU is user space at all.
cpu_split() {
    local port pid a b
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$SERVER" echo "$port" 1 >/dev/null 2>&1 &
    pid=$!
    python3 "$TMP/client.py" "$port" 100
    a=$(awk '{print $14 + 0, $15 + 0}' "/proc/$pid/stat")
    python3 "$TMP/client.py" "$port" "$1"
    b=$(awk '{print $14 + 0, $15 + 0}' "/proc/$pid/stat")
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    set -- $a $b
    echo "user $(( $3 - $1 )) ticks, system $(( $4 - $2 )) ticks"
}

A=$(measure "$N1")
B=$(measure "$N2")
echo "$SERVER: $(( (B - A) / (N2 - N1) )) instructions per request" \
     "($A for $N1 requests, $B for $N2)"
echo "$SERVER: CPU over 80000 requests: $(cpu_split 80000)"
