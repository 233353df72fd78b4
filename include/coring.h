/* SPDX-License-Identifier: MIT */
/*
 * coring.h - the umbrella header: asyncio's model in C, on io_uring, one
 * event loop per core.  Each area has its own header under coring/.
 */
#ifndef CORING_H
#define CORING_H

#include "coring/common.h"
#include "coring/future.h"
#include "coring/task.h"
#include "coring/runtime.h"
#include "coring/executor.h"
#include "coring/channel.h"
#include "coring/io.h"
#include "coring/stream.h"
#include "coring/proc.h"
#include "coring/combinators.h"
#include "coring/sync.h"
#include "coring/queue.h"
#include "coring/gen.h"
#include "coring/xsync.h"
#include "coring/debug.h"
#include "coring/signal.h"
#include "coring/resolve.h"

#endif
