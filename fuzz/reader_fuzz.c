/* SPDX-License-Identifier: MIT */
/*
 * reader_fuzz.c - libFuzzer target: each input is a reader_diff script (a
 * stream, its chunking and end, then reader calls), run on a fresh runtime
 * of one loop; an answer that differs from the model aborts with the call
 * that differed.  Built by `make fuzz` (clang, ASan+UBSan).
 */
#include "reader_diff.h"
#include "coring.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
    const uint8_t *data;
    size_t size;
    int rc;
    char why[320];
};

static void *fuzz_main(void *arg)
{
    struct input *in = arg;
    in->rc = rd_run(in->data, in->size, in->why, sizeof in->why);
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = {.data = data, .size = size};
    cor_run_opts o = {.loops = 1};
    int rc = cor_run_ex(fuzz_main, &in, &o, NULL);
    if (rc < 0 || in.rc < 0) {
        fprintf(stderr, "reader_fuzz: could not run: %d %d\n", rc, in.rc);
        abort();
    }
    if (in.rc) {
        fprintf(stderr, "reader_fuzz: the reader differs from its model: "
                        "%s\n", in.why);
        abort();
    }
    return 0;
}
