#!/bin/bash
# SPDX-License-Identifier: MIT
#
# insn_per_req.sh - user-space instructions per request of a server, under
# callgrind: a count, not a time, so it means the same on a busy machine
# (cpu_per_req.sh times the same servers and wants a quiet one).
#
#   bench/insn_per_req.sh                 # coring on epoll, echo and HTTP
#   BACKEND=io_uring bench/insn_per_req.sh
#   SERVER=epoll bench/insn_per_req.sh    # the peers' srv_epoll
#
# The server (one loop) runs under valgrind --tool=callgrind; a warm-up
# load of 1 s, then the counters are zeroed (callgrind_control -z), a load
# of SECS seconds runs (wrk for HTTP keep-alive, the peers' echo_client for
# echo 64 B, CONNS connections), and the counters are dumped: that dump's
# instructions over the requests the load counted is the figure, one
# `<wl>_<server>_insn_per_req: N` line per workload.  The dump is kept
# (OUT, default build/insn) for `callgrind_annotate --inclusive=no`, which
# says where the instructions go.
#
# Environment: SERVER (coring, or a peer: epoll, uring), BACKEND (coring's:
# epoll), BUILD (build), CORING (its echo_server), PEERS (../shared/peers),
# SECS (4), CONNS (20), PORT (18841), ONLY ("echo http"), OUT.  Needs
# valgrind, wrk, gcc (and liburing's headers for srv_uring).  Only the
# processes it starts are killed.
set -eu

BUILD=${BUILD:-build}
PEERS=${PEERS:-../shared/peers}
SERVER=${SERVER:-coring}
BACKEND=${BACKEND:-epoll}
SECS=${SECS:-4}
CONNS=${CONNS:-20}
PORT=${PORT:-18841}
ONLY=${ONLY:-echo http}
OUT=${OUT:-$BUILD/insn}
CORING=${CORING:-$BUILD/examples/echo_server}

die() { echo "insn_per_req: $*" >&2; exit 1; }

for t in valgrind callgrind_control callgrind_annotate wrk gcc ss; do
    command -v "$t" >/dev/null || die "$t is missing"
done
PB=$BUILD/peers
mkdir -p "$PB" "$OUT"
[ -f "$PEERS/src/echo_client.c" ] || die "no peers at $PEERS (set PEERS)"
[ -x "$PB/echo_client" ] ||
    gcc -O2 -g -o "$PB/echo_client" "$PEERS/src/echo_client.c" -lpthread
case $SERVER in
coring)
    [ -x "$CORING" ] || die "no $CORING (build first)"
    export COR_BACKEND=$BACKEND
    CMD=("$CORING") ;;
epoll)
    [ -x "$PB/srv_epoll" ] ||
        gcc -O2 -g -o "$PB/srv_epoll" "$PEERS/src/srv_epoll.c" -lpthread
    CMD=("$PB/srv_epoll") ;;
uring)
    [ -x "$PB/srv_uring" ] ||
        gcc -O2 -g -o "$PB/srv_uring" "$PEERS/src/srv_uring.c" \
            $(pkg-config --cflags --libs liburing) -lpthread
    CMD=("$PB/srv_uring") ;;
*) die "SERVER is coring, epoll or uring, not $SERVER" ;;
esac

SRV=
cleanup() {
    if [ -n "$SRV" ]; then
        kill "$SRV" 2>/dev/null || true
        wait "$SRV" 2>/dev/null || true
    fi
}
trap cleanup EXIT INT TERM

port_busy() { ss -Htln "sport = :$PORT" | grep -q .; }
port_busy && die "port $PORT is in use (set PORT)"

# load WL SECS: run the load, print the requests it counted
load() {
    if [ "$1" = http ]; then
        wrk -t1 -c"$CONNS" -d"$2" "http://127.0.0.1:$PORT/" |
            awk '/requests in/ { print $1 }'
    else
        "$PB/echo_client" -p "$PORT" -c "$CONNS" -s 64 -d "$2" -w 0 |
            sed -n 's/.*msgs=\([0-9]*\).*/\1/p'
    fi
}

name=$SERVER
[ "$SERVER" = coring ] && name=coring_$BACKEND
for wl in $ONLY; do
    f=$OUT/$name-$wl.out
    rm -f "$f" "$f".*
    valgrind --tool=callgrind --callgrind-out-file="$f" \
        "${CMD[@]}" "$wl" "$PORT" 1 >/dev/null 2>&1 &
    SRV=$!
    for i in $(seq 200); do
        port_busy && break
        sleep 0.1
    done
    port_busy || die "$name did not start listening on $PORT"
    load "$wl" 1 >/dev/null
    callgrind_control -z "$SRV" >/dev/null 2>&1
    n=$(load "$wl" "$SECS")
    callgrind_control -d "$SRV" >/dev/null 2>&1
    kill -INT "$SRV" 2>/dev/null || true
    for i in $(seq 50); do
        kill -0 "$SRV" 2>/dev/null || break
        sleep 0.1
    done
    kill -TERM "$SRV" 2>/dev/null || true
    wait "$SRV" 2>/dev/null || true
    SRV=
    ir=$(callgrind_annotate "$f.1" 2>/dev/null |
        awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
    [ -n "$n" ] && [ "$n" -gt 0 ] && [ -n "$ir" ] ||
        die "$wl: no count (requests '$n', instructions '$ir')"
    echo "${wl}_${name}_requests: $n"
    echo "${wl}_${name}_insn_per_req: $(awk -v a="$ir" -v b="$n" \
        'BEGIN { printf "%.0f", a / b }')"
done
