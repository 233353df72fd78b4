/* SPDX-License-Identifier: MIT */
/*
 * reader_diff.h - the stream reader checked against a model: a script of
 * bytes chooses a stream (content, limit, how it is cut into chunks, how it
 * ends) and a list of reader calls with random lengths and caps; every
 * answer must be the model's, whatever the chunking.  Shared by the suite's
 * random test (tests/test_io_reader_diff.c) and the libFuzzer target
 * (fuzz/reader_fuzz.c).
 */
#ifndef CORING_READER_DIFF_H
#define CORING_READER_DIFF_H

#include <stddef.h>
#include <stdint.h>

/*
 * Run the script in data on the calling task's loop.  Returns 0 when every
 * answer matched the model, 1 with a description in why otherwise, or
 * -errno when the set-up failed (a pipe, a socket pair).  Must run in a
 * task; never asserts.
 */
int rd_run(const uint8_t *data, size_t size, char *why, size_t whylen);

#endif
