
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * MB/s of the remuxer (src/dualcam_mp4.h) on real DualCam recordings: the
 * whole of what the module's "mp4" commit stage computes (the planning
 * pass, the moov, the copy pass into an output buffer), in memory, so
 * the figure is the CPU's share of an MP4 and not the disk's.  Input
 * MB/s; memcpy(3) of the same bytes is the yardstick.
 *
 *   mp4_bench [--ms N] [--repeat N] FILE...
 *
 * Each figure is the best of --repeat (default 20) windows of --ms
 * (default 50) milliseconds.  A table on stderr, one JSON line per file
 * on stdout.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dualcam_mp4.h"


static double
bench_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


/* one remux in memory; the MP4's size, 0 when refused */

static size_t
bench_remux(const unsigned char *in, size_t n, unsigned char *out,
    size_t room)
{
    int                 rc;
    size_t              size;
    dualcam_mp4_t      *m;
    dualcam_mp4_io_t    io;
    dualcam_mp4_conf_t  conf;

    memset(&conf, 0, sizeof(conf));
    conf.audio = 1;

    m = dualcam_mp4_create(&conf);

    if (m == NULL || dualcam_mp4_plan(m, in, n) != DUALCAM_MP4_OK
        || dualcam_mp4_plan_end(m) != DUALCAM_MP4_OK
        || dualcam_mp4_info(m)->size > room)
    {
        fprintf(stderr, "mp4_bench: %s\n",
                m ? dualcam_mp4_error(m) : "out of memory");
        dualcam_mp4_destroy(m);
        return 0;
    }

    io.in = in;
    io.in_len = n;
    io.out = out;
    io.out_len = room;

    rc = dualcam_mp4_copy(m, &io);
    size = (rc == DUALCAM_MP4_DONE) ? (size_t) (io.out - out) : 0;

    dualcam_mp4_destroy(m);

    return size;
}


int
main(int argc, char **argv)
{
    int             i, r, repeat;
    FILE           *fp;
    long            len;
    size_t          n, size;
    double          ms, t, t0, best, mbest, runs;
    unsigned char  *in, *out, *copy;

    ms = 50;
    repeat = 20;

    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--ms") == 0 && i + 1 < argc) {
            ms = atof(argv[++i]);

        } else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
            repeat = atoi(argv[++i]);

        } else {
            fprintf(stderr, "usage: mp4_bench [--ms N] [--repeat N] "
                    "FILE...\n");
            return 2;
        }
    }

    for ( /* void */ ; i < argc; i++) {
        fp = fopen(argv[i], "rb");
        if (fp == NULL || fseek(fp, 0, SEEK_END) != 0
            || (len = ftell(fp)) <= 0 || fseek(fp, 0, SEEK_SET) != 0)
        {
            perror(argv[i]);
            return 1;
        }

        n = (size_t) len;
        in = malloc(n);
        out = malloc(2 * n + (1 << 20));
        copy = malloc(n);

        if (in == NULL || out == NULL || copy == NULL
            || fread(in, 1, n, fp) != n)
        {
            perror(argv[i]);
            return 1;
        }

        fclose(fp);

        size = bench_remux(in, n, out, 2 * n + (1 << 20));
        if (size == 0) {
            return 1;
        }

        best = 0;
        mbest = 0;

        for (r = 0; r < repeat; r++) {
            runs = 0;
            t0 = bench_now();

            do {
                (void) bench_remux(in, n, out, 2 * n + (1 << 20));
                runs++;
                t = bench_now();
            } while (t - t0 < ms / 1000);

            best = (runs * n / (t - t0) > best) ? runs * n / (t - t0) : best;

            runs = 0;
            t0 = bench_now();

            do {
                memcpy(copy, in, n);
                __asm__ __volatile__("" : : "r"(copy) : "memory");
                runs++;
                t = bench_now();
            } while (t - t0 < ms / 1000);

            mbest = (runs * n / (t - t0) > mbest) ? runs * n / (t - t0)
                                                  : mbest;
        }

        fprintf(stderr, "%-40s %8zu B -> %8zu B  %7.0f MB/s  "
                "(memcpy %6.0f MB/s)\n", strrchr(argv[i], '/')
                ? strrchr(argv[i], '/') + 1 : argv[i], n, size,
                best / (1 << 20), mbest / (1 << 20));
        printf("{\"file\": \"%s\", \"bytes\": %zu, \"mp4_bytes\": %zu, "
               "\"mb_s\": %.1f, \"memcpy_mb_s\": %.1f}\n",
               strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i],
               n, size, best / (1 << 20), mbest / (1 << 20));

        free(in);
        free(out);
        free(copy);
    }

    return 0;
}
