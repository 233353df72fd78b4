/* SPDX-License-Identifier: MIT */
/* netscale.h - the server side of build/bench/netscale: the handlers of
 * examples/echo_server.c (netscale_server.c). */
#ifndef NETSCALE_H
#define NETSCALE_H

#include <coring.h>

extern cor_conn_fn *const netscale_echo_handler;
extern cor_conn_fn *const netscale_http_handler;

#endif
