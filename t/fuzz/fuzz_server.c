
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * fuzz_server: the server core fed arbitrary device bytes.
 *
 * Input: FZ_OPTS_LEN bytes of options (fz_opts_parse(): metadata on/off,
 * buffer_size, max_crc_errors, max_resume_repeats, max_file_size, refuse
 * at the n-th HELLO, what is held at FILE_OPEN, the seed of the chunking),
 * then the bytes the device sends.  They arrive in chunks of pseudo-random
 * sizes (1 byte to everything at once); between chunks the RESUME timer
 * may fire.  At the end the device goes away.  fuzz_driver.c checks every
 * action.
 */


#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static size_t
fz_chunk(fz_rand_t *r, size_t left)
{
    size_t  n;

    switch (fz_rand(r) & 3) {
    case 0:
        n = 1 + fz_rand(r) % 16;
        break;
    case 1:
        n = 1 + fz_rand(r) % 1100;
        break;
    case 2:
        n = 1 + fz_rand(r) % 8192;
        break;
    default:
        n = left;
    }

    return n < left ? n : left;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t        k, n, got;
    fz_opts_t     opts;
    fz_rand_t     r;
    fz_server_t   f;

    k = fz_opts_parse(&opts, data, size);
    data += k;
    size -= k;

    r.s = opts.seed;

    fz_server_init(&f, &opts);

    while (size > 0 && !f.closed) {
        n = fz_chunk(&r, size);
        got = fz_server_feed(&f, data, n);

        data += got;
        size -= got;

        if (opts.timers && (fz_rand(&r) & 3) == 0) {
            fz_server_timer(&f);
        }
    }

    if (opts.timers) {
        /* the device went silent: the timer runs out the repeats */
        for (k = 0; k < 8 && !f.closed; k++) {
            fz_server_timer(&f);
        }
    }

    fz_server_end(&f, (r.s & 1) ? DUALCAM_RESULT_CLOSED_BY_DEVICE
                                : DUALCAM_RESULT_TIMEOUT);
    fz_server_free(&f);

    return 0;
}
