/* SPDX-License-Identifier: MIT */
/*
 * netscale_server.c - the connection handlers of examples/echo_server.c,
 * compiled into build/bench/netscale: the benchmark measures the very code
 * path the peers' script runs (echo, and HTTP keep-alive/pipelined through
 * a receive stream), not a copy of it.  The example's main() is renamed so
 * that it does not clash with the benchmark's.
 */
#include "netscale.h"

int netscale_example_main(int argc, char **argv);
#define main netscale_example_main
#include "../examples/echo_server.c"
#undef main

cor_conn_fn *const netscale_echo_handler = echo;
cor_conn_fn *const netscale_http_handler = http;
