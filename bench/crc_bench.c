
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * MB/s of the core's CRC-16/KERMIT: the dispatching dualcam_crc16() and
 * every path behind it (PCLMULQDQ folding where the CPU has it,
 * slicing-by-8, the byte table, the bytewise reference), and memcpy(3)
 * over the same bytes as the yardstick.  Two shapes: 1024-byte packets
 * (what one DATA frame's CRC covers, chained like the running CRC of a
 * transfer) and 64 KiB buffers.  Every path must give the same CRC; the
 * program fails if one does not.
 *
 *   crc_bench [--ms N] [--repeat N]
 *
 * Each figure is the best of --repeat (default 20) windows of --ms (default
 * 30) milliseconds: on a shared machine the best window is the one least
 * disturbed by other processes.
 *
 * Prints a table on stderr and one JSON line per measurement on stdout.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dualcam.h"


#define BENCH_AREA     (256 * 1024)     /* stays in L2 */


typedef uint16_t (*bench_crc_pt)(uint16_t crc, const unsigned char *p,
    size_t n);


typedef struct {
    const char     *name;
    bench_crc_pt    fn;             /* NULL: memcpy */
} bench_impl_t;


static double bench_now(void);
static double bench_run(bench_impl_t *impl, const unsigned char *area,
    unsigned char *dst, size_t chunk, double seconds, uint16_t *crc);


static volatile unsigned char  bench_sink;


int
main(int argc, char **argv)
{
    int             i, s, n, fail, repeat;
    double          seconds, mbs, best_mbs[6];
    size_t          k;
    uint16_t        crc, ref;
    uint32_t        x;
    unsigned char  *area, *dst;
    bench_impl_t    impls[6];
    size_t          shapes[2] = { DUALCAM_PACKET_SIZE, 65536 };

    seconds = 0.03;
    repeat = 20;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--ms") == 0 && i + 1 < argc) {
            seconds = atoi(argv[++i]) / 1000.0;

        } else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
            repeat = atoi(argv[++i]);

        } else {
            fprintf(stderr, "usage: crc_bench [--ms N] [--repeat N]\n");
            return 2;
        }
    }

    if (seconds <= 0 || repeat < 1) {
        fprintf(stderr, "crc_bench: bad --ms or --repeat\n");
        return 2;
    }

    if (posix_memalign((void **) &area, 64, BENCH_AREA) != 0
        || posix_memalign((void **) &dst, 64, BENCH_AREA) != 0)
    {
        perror("posix_memalign");
        return 1;
    }

    x = 2463534242u;

    for (k = 0; k < BENCH_AREA; k++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        area[k] = (unsigned char) x;
    }

    memset(dst, 0, BENCH_AREA);

    n = 0;
    impls[n].name = "dualcam_crc16";
    impls[n++].fn = dualcam_crc16;

    impls[n].name = "clmul";
    impls[n].fn = dualcam_crc16_clmul_impl();
    if (impls[n].fn != NULL) {
        n++;
    }

    impls[n].name = "slice8";
    impls[n++].fn = dualcam_crc16_slice8;
    impls[n].name = "table";
    impls[n++].fn = dualcam_crc16_table;
    impls[n].name = "bytewise";
    impls[n++].fn = dualcam_crc16_bytewise;
    impls[n].name = "memcpy";
    impls[n++].fn = NULL;

    fprintf(stderr, "dispatch: dualcam_crc16 -> %s\n",
            dualcam_crc16_impl_name());
    printf("{\"dispatch\": \"%s\"}\n", dualcam_crc16_impl_name());

    /* one check value and one long run agree on every path */

    fail = 0;
    ref = dualcam_crc16_bytewise(0, area, BENCH_AREA);

    for (i = 0; i < n; i++) {
        if (impls[i].fn == NULL) {
            continue;
        }

        crc = impls[i].fn(0, (const unsigned char *) "123456789", 9);

        if (crc != 0x2189 || impls[i].fn(0, area, BENCH_AREA) != ref) {
            fprintf(stderr, "%s: wrong CRC\n", impls[i].name);
            fail = 1;
        }
    }

    /*
     * Round robin: every window of every path in turn, so that a burst of
     * load elsewhere hits all paths alike and the ratios stay fair.
     */

    for (s = 0; s < 2; s++) {

        for (i = 0; i < n; i++) {
            best_mbs[i] = 0;
        }

        for (k = 0; k < (size_t) repeat; k++) {

            for (i = 0; i < n; i++) {
                mbs = bench_run(&impls[i], area, dst, shapes[s], seconds,
                                &crc);
                if (mbs > best_mbs[i]) {
                    best_mbs[i] = mbs;
                }

                if (impls[i].fn != NULL && crc != ref) {
                    fprintf(stderr, "%s: chained CRC %04x, expected %04x\n",
                            impls[i].name, crc, ref);
                    fail = 1;
                }
            }
        }

        for (i = 0; i < n; i++) {
            fprintf(stderr, "%-14s %6zu-byte chunks %10.0f MB/s\n",
                    impls[i].name, shapes[s], best_mbs[i]);
            printf("{\"impl\": \"%s\", \"chunk\": %zu, \"mb_s\": %.1f}\n",
                   impls[i].name, shapes[s], best_mbs[i]);
        }
    }


    (void) bench_sink;

    return fail;
}


static double
bench_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


/*
 * Passes over the area in chunks until the time is up; the CRC runs on
 * across chunks, so one pass gives the CRC of the whole area.
 */

static double
bench_run(bench_impl_t *impl, const unsigned char *area, unsigned char *dst,
    size_t chunk, double seconds, uint16_t *crc)
{
    size_t     off;
    double     start, elapsed;
    uint16_t   c;
    uint64_t   bytes;

    bytes = 0;
    start = bench_now();

    do {
        c = 0;

        for (off = 0; off < BENCH_AREA; off += chunk) {

            if (impl->fn != NULL) {
                c = impl->fn(c, area + off, chunk);

            } else {
                memcpy(dst + off, area + off, chunk);
                __asm__ __volatile__("" : : "r" (dst) : "memory");
            }
        }

        bytes += BENCH_AREA;
        *crc = c;
        elapsed = bench_now() - start;

    } while (elapsed < seconds);

    bench_sink = dst[bytes % BENCH_AREA];

    return bytes / elapsed / 1e6;
}
