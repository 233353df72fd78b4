#!/bin/bash
# SPDX-License-Identifier: MIT
#
# cpu_per_req.sh - server CPU and system calls per request, coring's
# examples/echo_server against a raw peer, one loop each.  Two comparisons
# (COMPARE):
#
#   uring (the default): coring on io_uring against raw liburing (the peers'
#     srv_uring, plain recv and -m: multishot recv with provided buffers);
#   epoll: coring on its epoll backend (COR_BACKEND=epoll) against the
#     peers' level-triggered epoll server (srv_epoll).
#
#   bench/cpu_per_req.sh                  # from the repository root, after a build
#   COMPARE=epoll bench/cpu_per_req.sh
#   BASE=../old/build/examples/echo_server bench/cpu_per_req.sh
#
# The server runs pinned to CPU 0, the load on CPU 1 (wrk for HTTP
# keep-alive, the peers' echo_client for echo 64 B), loopback only.  For
# each workload the servers run interleaved, RUNS rounds (the order
# rotated each round); each run is a warm-up, then `perf stat` on the
# server's PID for the length of one bounded load run.  Printed, medians over
# the rounds, one `name: value unit` line per figure:
#
#   <wl>_<server>_cpu_per_req: server task-clock / requests   (us)
#   <wl>_<server>_enters_per_req: io_uring_enter calls / requests (uring)
#   <wl>_<server>_busy: server task-clock / SECS, the load run's nominal
#     length (fraction)
#   <wl>_<server>_sleeps_per_req: the server's context switches / requests
#     (on a quiet machine each one a wait that blocked: the loop had run
#     out of work)
#   <wl>_cpu_per_req_coring_over_<peer>, <wl>_enters_per_req_coring_over_<peer>
#     (the ratio of the two medians), and with `_paired` after them the
#     median over the rounds of the ratio within each round
#
# and, from one more run per server with tracepoints on (not timed: the
# tracepoints cost CPU themselves), the kernel's work per request.  uring:
# SQEs (io_uring_submit_req), CQEs (io_uring_complete), runs of deferred
# task work (io_uring_local_work_run), poll arms (io_uring_poll_arm).
# epoll: every system call (raw_syscalls:sys_enter, `syscalls_per_req`) and
# those of each kind that serves a request: `epoll_waits` (epoll_wait,
# epoll_pwait, epoll_pwait2), `epoll_ctls`, `reads` (read, readv, recvfrom,
# recvmsg), `writes` (write, writev, sendto, sendmsg), and the ratios of
# `syscalls_per_req` over the peer's.
#
# BASE names a second echo_server binary measured beside the first as
# server `base` (its ratios: `..._coring_over_base`): a build of an older
# commit, say (`git worktree add ../old COMMIT`, build it there).  CORING
# replaces the measured binary itself (default $BUILD/examples/echo_server).
#
# Environment: COMPARE (uring), BUILD (coring's build dir, default build),
# CORING, BASE, PEERS (the peers' directory, default ../shared/peers), RUNS
# (5), SECS per run (3), CONNS (100), PORT (18733), SERVER_CPU (0), LOAD_CPU
# (1), ONLY ("echo http").  Needs perf (run as root, or with
# kernel.perf_event_paranoid <= 0 and tracefs readable), wrk, gcc and
# liburing's headers for the peers.  About 3 minutes at the defaults (uring;
# epoll: 2).  Only the processes it starts are killed.
set -eu

BUILD=${BUILD:-build}
PEERS=${PEERS:-../shared/peers}
RUNS=${RUNS:-5}
SECS=${SECS:-3}
CONNS=${CONNS:-100}
PORT=${PORT:-18733}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
ONLY=${ONLY:-echo http}
COMPARE=${COMPARE:-uring}
BASE=${BASE:-}

die() { echo "cpu_per_req: $*" >&2; exit 1; }

CORING=${CORING:-$BUILD/examples/echo_server}
[ -x "$CORING" ] || die "no $CORING (build first: meson setup build && ninja -C build)"
[ -z "$BASE" ] || [ -x "$BASE" ] || die "no $BASE (BASE)"
case $COMPARE in
uring) BACKEND=io_uring ;;
epoll) BACKEND=epoll ;;
*) die "COMPARE is uring or epoll, not $COMPARE" ;;
esac
for t in perf wrk taskset gcc pkg-config ss; do
    command -v "$t" >/dev/null || die "$t is missing"
done
PB=$BUILD/peers
mkdir -p "$PB"
if [ ! -x "$PB/srv_uring" ] || [ ! -x "$PB/echo_client" ] ||
   [ ! -x "$PB/srv_epoll" ]; then
    [ -f "$PEERS/src/srv_uring.c" ] || die "no peers at $PEERS (set PEERS)"
    gcc -O2 -g -o "$PB/srv_uring" "$PEERS/src/srv_uring.c" \
        $(pkg-config --cflags --libs liburing) -lpthread
    gcc -O2 -g -o "$PB/srv_epoll" "$PEERS/src/srv_epoll.c" -lpthread
    gcc -O2 -g -o "$PB/echo_client" "$PEERS/src/echo_client.c" -lpthread
fi
perf stat -e syscalls:sys_enter_io_uring_enter -- true >/dev/null 2>&1 ||
    die "perf cannot count syscalls:sys_enter_io_uring_enter (run as root?)"

TMP=$(mktemp -d)
SRV=
cleanup() {
    if [ -n "$SRV" ]; then
        kill "$SRV" 2>/dev/null || true
        wait "$SRV" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

port_busy() { ss -Htln "sport = :$PORT" | grep -q .; }
port_busy && die "port $PORT is in use (set PORT)"

# start_server NAME PROTO: the server on SERVER_CPU, in SRV
start_server() {
    case $1 in
    coring) COR_BACKEND=$BACKEND taskset -c "$SERVER_CPU" "$CORING" "$2" "$PORT" 1 2>/dev/null & ;;
    base) COR_BACKEND=$BACKEND taskset -c "$SERVER_CPU" "$BASE" "$2" "$PORT" 1 2>/dev/null & ;;
    epoll) taskset -c "$SERVER_CPU" "$PB/srv_epoll" "$2" "$PORT" 1 2>/dev/null & ;;
    uring) taskset -c "$SERVER_CPU" "$PB/srv_uring" "$2" "$PORT" 1 2>/dev/null & ;;
    uring-m) taskset -c "$SERVER_CPU" "$PB/srv_uring" "$2" "$PORT" 1 -m 2>/dev/null & ;;
    esac
    SRV=$!
    local i
    for i in $(seq 100); do
        port_busy && return 0
        sleep 0.05
    done
    die "$1 did not start listening on $PORT"
}

stop_server() {
    kill "$SRV" 2>/dev/null || true
    wait "$SRV" 2>/dev/null || true
    SRV=
    local i
    for i in $(seq 100); do
        port_busy || return 0
        sleep 0.05
    done
}

# load_cmd PROTO SECS: one bounded load run on LOAD_CPU (output in TMP/load)
load_cmd() {
    if [ "$1" = http ]; then
        echo taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"$2"s "http://127.0.0.1:$PORT/"
    else
        echo taskset -c "$LOAD_CPU" "$PB/echo_client" -p "$PORT" -c "$CONNS" -s 64 -d "$2" -w 0
    fi
}

# requests PROTO: completed requests of the last load run
requests() {
    if [ "$1" = http ]; then
        awk '/requests in/ {print $1}' "$TMP/load"
    else
        tr ' ' '\n' <"$TMP/load" | awk -F= '$1 == "msgs" {print $2}'
    fi
}

# measure NAME PROTO EVENTS: warm up, then perf stat on the server for one
# load run; prints "requests event=count ..."
measure() {
    start_server "$1" "$2"
    $(load_cmd "$2" 1) >"$TMP/load" 2>&1 || true
    perf stat -x, -e "$3" -p "$SRV" -o "$TMP/perf" -- \
        $(load_cmd "$2" "$SECS") >"$TMP/load" 2>&1 || true
    stop_server
    local reqs
    reqs=$(requests "$2")
    [ -n "$reqs" ] && [ "$reqs" -gt 0 ] ||
        die "$1 $2: no requests ($(cat "$TMP/load"))"
    awk -F, -v r="$reqs" 'BEGIN {printf "%s", r}
        /^[0-9.]+,/ {e = $3; sub(/.*:/, "", e); printf " %s=%s", e, $1}
        END {print ""}' "$TMP/perf"
}

# paired KIND WL PEER: the median over the rounds of coring's figure over
# the peer's in the same round (adjacent in time: drifts of the machine
# that span a round cancel out)
paired() {
    paste "$TMP/$2.coring.$1" "$TMP/$2.$3.$1" |
        awk '{printf "%.6f\n", $1 / $2}' | median | awk '{printf "%.3f", $1}'
}

field() { tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}'; }
median() { sort -g | awk '{a[NR] = $1} END {
    if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# The servers of the comparison, the peers coring's figures are divided
# by, the events of the timed runs and of the traced ones.
if [ "$COMPARE" = uring ]; then
    SERVERS=(coring uring uring-m)
    TIMED=task-clock,context-switches,syscalls:sys_enter_io_uring_enter
    TRACED=io_uring:io_uring_submit_req,io_uring:io_uring_complete
    TRACED=$TRACED,io_uring:io_uring_local_work_run,io_uring:io_uring_task_work_run
    TRACED=$TRACED,io_uring:io_uring_poll_arm,syscalls:sys_enter_io_uring_enter
    KINDS="io_uring_submit_req:sqes io_uring_complete:cqes
           io_uring_local_work_run:task_work_runs
           io_uring_task_work_run:tctx_task_work_runs io_uring_poll_arm:poll_arms"
else
    SERVERS=(coring epoll)
    TIMED=task-clock,context-switches
    TRACED=raw_syscalls:sys_enter
    for c in epoll_wait epoll_pwait epoll_pwait2 epoll_ctl read readv recvfrom \
             recvmsg write writev sendto sendmsg; do
        TRACED=$TRACED,syscalls:sys_enter_$c
    done
    # kind = the sum of these tracepoints
    KINDS="sys_enter:syscalls
           sys_enter_epoll_wait+sys_enter_epoll_pwait+sys_enter_epoll_pwait2:epoll_waits
           sys_enter_epoll_ctl:epoll_ctls
           sys_enter_read+sys_enter_readv+sys_enter_recvfrom+sys_enter_recvmsg:reads
           sys_enter_write+sys_enter_writev+sys_enter_sendto+sys_enter_sendmsg:writes"
fi
PEERS_OF=("${SERVERS[@]:1}")
if [ -n "$BASE" ]; then
    SERVERS+=(base)
    PEERS_OF+=(base)
fi
echo "# server on CPU $SERVER_CPU, load on CPU $LOAD_CPU, $CONNS connections," \
     "$RUNS rounds of ${SECS} s, $(nproc) CPUs, coring on $BACKEND"
for wl in $ONLY; do
    for ((r = 0; r < RUNS; r++)); do
        for ((k = 0; k < ${#SERVERS[@]}; k++)); do
            s=${SERVERS[(k + r) % ${#SERVERS[@]}]}
            line=$(measure "$s" "$wl" "$TIMED")
            reqs=${line%% *}
            ms=$(echo "$line" | field task-clock)
            awk -v m="$ms" -v q="$reqs" 'BEGIN {printf "%.4f\n", m * 1000 / q}' >>"$TMP/$wl.$s.cpu"
            awk -v m="$ms" -v t="$SECS" 'BEGIN {printf "%.4f\n", m / (t * 1000)}' >>"$TMP/$wl.$s.busy"
            cs=$(echo "$line" | field context-switches)
            awk -v c="$cs" -v q="$reqs" 'BEGIN {printf "%.5f\n", c / q}' >>"$TMP/$wl.$s.sleeps"
            if [ "$COMPARE" = uring ]; then
                en=$(echo "$line" | field sys_enter_io_uring_enter)
                awk -v e="$en" -v q="$reqs" 'BEGIN {printf "%.4f\n", e / q}' >>"$TMP/$wl.$s.enters"
            fi
            echo "# $wl round $((r + 1)) $s: $reqs requests" >&2
        done
    done
    for s in "${SERVERS[@]}"; do
        n=${s/-/_}
        echo "${wl}_${n}_cpu_per_req: $(median <"$TMP/$wl.$s.cpu") us"
        echo "${wl}_${n}_busy: $(median <"$TMP/$wl.$s.busy") fraction"
        echo "${wl}_${n}_sleeps_per_req: $(median <"$TMP/$wl.$s.sleeps") count"
        if [ "$COMPARE" = uring ]; then
            echo "${wl}_${n}_enters_per_req: $(median <"$TMP/$wl.$s.enters") calls"
        fi
    done
    c_cpu=$(median <"$TMP/$wl.coring.cpu")
    for s in "${PEERS_OF[@]}"; do
        n=${s/-/_}
        p_cpu=$(median <"$TMP/$wl.$s.cpu")
        awk -v a="$c_cpu" -v b="$p_cpu" -v n="${wl}_cpu_per_req_coring_over_$n" \
            'BEGIN {printf "%s: %.3f ratio\n", n, a / b}'
        echo "${wl}_cpu_per_req_coring_over_${n}_paired: $(paired cpu "$wl" "$s") ratio"
        if [ "$COMPARE" = uring ]; then
            c_en=$(median <"$TMP/$wl.coring.enters")
            p_en=$(median <"$TMP/$wl.$s.enters")
            awk -v a="$c_en" -v b="$p_en" -v n="${wl}_enters_per_req_coring_over_$n" \
                'BEGIN {printf "%s: %.3f ratio\n", n, a / b}'
            echo "${wl}_enters_per_req_coring_over_${n}_paired: $(paired enters "$wl" "$s") ratio"
        fi
    done
    for s in "${SERVERS[@]}"; do
        n=${s/-/_}
        line=$(measure "$s" "$wl" "$TRACED")
        reqs=${line%% *}
        for ev in $KINDS; do
            v=0
            for t in $(echo "${ev%%:*}" | tr + ' '); do
                v=$((v + $(echo "$line" | field "$t" | awk '{print $1 + 0}')))
            done
            echo "$v" >"$TMP/$wl.$s.${ev##*:}"
            awk -v v="$v" -v q="$reqs" -v n="${wl}_${n}_${ev##*:}_per_req" \
                'BEGIN {printf "%s: %.3f count\n", n, v / q}'
            echo "$reqs" >"$TMP/$wl.$s.reqs"
        done
    done
    if [ "$COMPARE" = epoll ]; then
        for s in "${PEERS_OF[@]}"; do
            awk -v a="$(cat "$TMP/$wl.coring.syscalls")" -v qa="$(cat "$TMP/$wl.coring.reqs")" \
                -v b="$(cat "$TMP/$wl.$s.syscalls")" -v qb="$(cat "$TMP/$wl.$s.reqs")" \
                -v n="${wl}_syscalls_per_req_coring_over_${s/-/_}" \
                'BEGIN {printf "%s: %.3f ratio\n", n, (a / qa) / (b / qb)}'
        done
    fi
done
