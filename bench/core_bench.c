
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The protocol core alone, without nginx and without sockets: what one
 * upload costs in dualcam_server_step() (framing, the running CRC, the
 * state machine, the actions), against memcpy(3) of the same bytes.
 *
 * The device's side of a whole session is built in memory (init, START,
 * SYNC, the DATA frames of one --size byte video with a correct running
 * CRC, the final init) and fed the way the nginx glue does: a window that
 * grows by 64 KiB per "read", whole frames consumed, the rest presented
 * again with what follows.
 *
 *   core_bench [--size BYTES] [--runs N] [--once]
 *
 * --once makes one pass and no memcpy run (for callgrind: Ir per frame).
 * Prints a table on stderr and one JSON line on stdout.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dualcam.h"


#define CORE_READ      65536


static double core_now(void);
static unsigned char *core_stream(uint64_t size, size_t *len);
static int core_feed(const unsigned char *stream, size_t len,
    uint64_t size, uint64_t *frames);


static volatile unsigned char  core_sink;


int
main(int argc, char **argv)
{
    int             i, runs, once;
    double          t, best, mem;
    size_t          len;
    uint64_t        size, frames;
    unsigned char  *stream, *copy;

    size = 64ULL << 20;
    runs = 5;
    once = 0;

    for (i = 1; i < argc; i++) {

        if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) {
            size = strtoull(argv[++i], NULL, 10);

        } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            runs = atoi(argv[++i]);

        } else if (strcmp(argv[i], "--once") == 0) {
            once = 1;

        } else {
            fprintf(stderr, "usage: core_bench [--size BYTES] [--runs N] "
                            "[--once]\n");
            return 2;
        }
    }

    if (size == 0 || size > 0xffffffffULL || runs < 1) {
        fprintf(stderr, "core_bench: bad --size or --runs\n");
        return 2;
    }

    stream = core_stream(size, &len);
    if (stream == NULL) {
        return 1;
    }

    if (once) {
        return core_feed(stream, len, size, &frames) == 0 ? 0 : 1;
    }

    copy = malloc(len);
    if (copy == NULL) {
        perror("malloc");
        return 1;
    }

    best = 0;
    mem = 0;
    frames = 0;

    for (i = 0; i < runs; i++) {

        t = core_now();
        if (core_feed(stream, len, size, &frames) != 0) {
            return 1;
        }
        t = core_now() - t;

        if (best == 0 || t < best) {
            best = t;
        }

        /* the same bytes copied once, in 64 KiB pieces like the reads */

        t = core_now();
        memcpy(copy, stream, len);
        __asm__ __volatile__("" : : "r" (copy) : "memory");
        t = core_now() - t;

        if (mem == 0 || t < mem) {
            mem = t;
        }
    }

    core_sink = copy[len / 2];

    fprintf(stderr, "core: %llu frames, %.0f MB/s of payload "
            "(%.0f ns/frame), memcpy of the stream %.0f MB/s, "
            "CRC path %s\n",
            (unsigned long long) frames, size / best / 1e6,
            best * 1e9 / frames, len / mem / 1e6, dualcam_crc16_impl_name());
    printf("{\"size\": %llu, \"frames\": %llu, \"core_mb_s\": %.1f, "
           "\"ns_per_frame\": %.1f, \"memcpy_mb_s\": %.1f, "
           "\"crc\": \"%s\"}\n",
           (unsigned long long) size, (unsigned long long) frames,
           size / best / 1e6, best * 1e9 / frames, len / mem / 1e6,
           dualcam_crc16_impl_name());

    free(copy);
    free(stream);

    return 0;
}


static double
core_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


/* what a front-video device sends over one whole session */

static unsigned char *
core_stream(uint64_t size, size_t *len)
{
    size_t          n, i;
    uint16_t        crc;
    uint32_t        x, packets, k;
    uint64_t        left;
    unsigned char  *buf, *p;

    packets = (uint32_t) ((size + DUALCAM_PACKET_SIZE - 1)
                          / DUALCAM_PACKET_SIZE);

    n = 2 * DUALCAM_INIT_LEN + 10 + 8
        + (size_t) packets * (DUALCAM_HEADER_LEN + 2) + (size_t) size;

    buf = malloc(n);
    if (buf == NULL) {
        perror("malloc");
        return NULL;
    }

    p = buf;

    /* init: protocol 5, IMEI, front video pending */
    p = dualcam_put16(p, DUALCAM_CMD_CLOSE);
    p = dualcam_put16(p, 5);
    p = dualcam_put32(p, 0x0003118c);
    p = dualcam_put32(p, 0x43db077f);
    p = dualcam_put32(p, (uint32_t) DUALCAM_FLAG_VIDEO_FRONT << 24);

    /* START total, 2 blank bytes */
    p = dualcam_put16(p, DUALCAM_CMD_START);
    p = dualcam_put16(p, 6);
    p = dualcam_put32(p, packets);
    p = dualcam_put16(p, 0);

    /* SYNC 1 */
    p = dualcam_put16(p, DUALCAM_CMD_SYNC);
    p = dualcam_put16(p, 4);
    p = dualcam_put32(p, 1);

    x = 2463534242u;
    crc = 0;
    left = size;

    for (k = 0; k < packets; k++) {
        n = left < DUALCAM_PACKET_SIZE ? (size_t) left : DUALCAM_PACKET_SIZE;

        p = dualcam_put16(p, DUALCAM_CMD_DATA);
        p = dualcam_put16(p, (uint16_t) (n + 2));

        for (i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            p[i] = (unsigned char) x;
        }

        crc = dualcam_crc16(crc, p, n);
        p = dualcam_put16(p + n, crc);
        left -= n;
    }

    /* the repeated init, nothing left */
    p = dualcam_put16(p, DUALCAM_CMD_CLOSE);
    p = dualcam_put16(p, 5);
    p = dualcam_put32(p, 0x0003118c);
    p = dualcam_put32(p, 0x43db077f);
    p = dualcam_put32(p, 0x40000000);

    *len = (size_t) (p - buf);

    return buf;
}


static int
core_feed(const unsigned char *stream, size_t len, uint64_t size,
    uint64_t *frames)
{
    int                     rc, committed, closed;
    size_t                  pos, end, used;
    uint64_t                written, writes;
    unsigned char           x;
    dualcam_action_t        act;
    dualcam_server_t        s;
    dualcam_server_conf_t   conf;

    memset(&conf, 0, sizeof(dualcam_server_conf_t));
    conf.buffer_size = DUALCAM_DATA_FRAME_MAX;
    conf.max_crc_errors = 10;
    conf.max_resume_repeats = 3;

    dualcam_server_init(&s, &conf);

    pos = 0;
    end = 0;
    written = 0;
    writes = 0;
    committed = 0;
    closed = 0;
    x = 0;

    while (!closed) {

        if (end < len) {
            end = (len - end < CORE_READ) ? len : end + CORE_READ;
        }

        for ( ;; ) {
            rc = dualcam_server_step(&s, stream + pos, end - pos, &used,
                                     &act);
            pos += used;

            if (rc != DUALCAM_ACTION) {
                break;
            }

            switch (act.type) {

            case DUALCAM_ACT_FILE_WRITE:
                written += act.len;
                writes++;
                x ^= act.data[act.len - 1];
                break;

            case DUALCAM_ACT_FILE_COMMIT:
                committed = 1;
                dualcam_server_committed(&s, DUALCAM_COMMIT_STORED);
                break;

            case DUALCAM_ACT_FILE_ABORT:
                fprintf(stderr, "core_bench: file aborted\n");
                return -1;

            case DUALCAM_ACT_CLOSE:
                closed = 1;
                break;

            case DUALCAM_ACT_LOG:
                if (act.level <= DUALCAM_LOG_WARN) {
                    fprintf(stderr, "core_bench: %s\n", act.msg);
                }
                break;

            default:
                break;
            }

            if (closed) {
                break;
            }
        }

        if (!closed && pos == len) {
            fprintf(stderr, "core_bench: input ended without CLOSE\n");
            return -1;
        }
    }

    core_sink = x;

    if (!committed || written != size) {
        fprintf(stderr, "core_bench: %llu of %llu bytes written, "
                "committed %d, result %s\n",
                (unsigned long long) written, (unsigned long long) size,
                committed, dualcam_result_name(s.result));
        return -1;
    }

    *frames = writes;

    return 0;
}
