
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * dualcam-sim: the summary, for people and (--json) for scripts.
 */


#include <stdio.h>
#include <stdlib.h>

#include "sim.h"


static const char  *sim_err_names[SIM_ERR_N] = {
    "refused", "closed", "timeouts", "connect", "tls", "protocol",
    "status", "skipped"
};


static int
sim_cmp_double(const void *a, const void *b)
{
    double  x, y;

    x = *(const double *) a;
    y = *(const double *) b;

    return x < y ? -1 : x > y;
}


static double
sim_pct(const sim_stats_t *st, double p)
{
    size_t  i;

    if (st->ntimes == 0) {
        return 0;
    }

    /* nearest rank */
    i = (size_t) (p / 100 * st->ntimes + 0.999999);
    if (i > 0) {
        i--;
    }

    if (i >= st->ntimes) {
        i = st->ntimes - 1;
    }

    return st->times[i];
}


int
sim_exit_status(sim_t *s)
{
    uint64_t      expected;
    sim_stats_t  *st;

    st = &s->stats;

    if (st->verify_missing || st->verify_corrupt) {
        return 1;
    }

    if (s->opts->expect_refused) {
        return st->err[SIM_ERR_REFUSED] == st->devices ? 0 : 1;
    }

    if (s->opts->stall_after) {
        /* the server must have timed every stalled device out */
        return st->stalls > 0 && st->stalls == st->stalls_closed
               && st->err[SIM_ERR_TIMEOUT] == 0 ? 0 : 1;
    }

    expected = st->files_delivered + st->files_empty;

    if (s->opts->status_on) {
        expected += st->err[SIM_ERR_STATUS];
    }

    return expected == st->files_offered ? 0 : 1;
}


void
sim_report(sim_t *s)
{
    int           i;
    double        mbps;
    sim_stats_t  *st;

    st = &s->stats;

    qsort(st->times, st->ntimes, sizeof(double), sim_cmp_double);

    mbps = st->wall > 0 ? st->bytes_delivered / st->wall / 1e6 : 0;

    if (s->opts->json) {
        printf("{\"devices\":%llu,\"connections\":%llu,"
               "\"files_offered\":%llu,\"files_delivered\":%llu,"
               "\"files_empty\":%llu,\"bytes_offered\":%llu,"
               "\"bytes_delivered\":%llu,\"bytes_sent\":%llu,"
               "\"wire_bytes\":%llu,\"wall_s\":%.3f,\"mb_per_s\":%.3f,"
               "\"file_ms\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,"
               "\"max\":%.1f},\"resumes\":%llu,\"drops\":%llu,"
               "\"crc_errors\":%llu,\"stalls\":%llu,"
               "\"stalls_closed\":%llu,\"errors\":{",
               (unsigned long long) st->devices,
               (unsigned long long) st->connections,
               (unsigned long long) st->files_offered,
               (unsigned long long) st->files_delivered,
               (unsigned long long) st->files_empty,
               (unsigned long long) st->bytes_offered,
               (unsigned long long) st->bytes_delivered,
               (unsigned long long) st->bytes_sent,
               (unsigned long long) st->wire_bytes,
               st->wall, mbps,
               sim_pct(st, 50), sim_pct(st, 90), sim_pct(st, 99),
               sim_pct(st, 100),
               (unsigned long long) st->resumes,
               (unsigned long long) st->drops,
               (unsigned long long) st->crc_errors,
               (unsigned long long) st->stalls,
               (unsigned long long) st->stalls_closed);

        for (i = 0; i < SIM_ERR_N; i++) {
            printf("%s\"%s\":%llu", i ? "," : "", sim_err_names[i],
                   (unsigned long long) st->err[i]);
        }

        printf("}");

        if (st->verified) {
            printf(",\"verify\":{\"ok\":%llu,\"missing\":%llu,"
                   "\"corrupt\":%llu}",
                   (unsigned long long) st->verify_ok,
                   (unsigned long long) st->verify_missing,
                   (unsigned long long) st->verify_corrupt);
        }

        printf(",\"ok\":%s}\n", sim_exit_status(s) == 0 ? "true" : "false");
        fflush(stdout);
        return;
    }

    printf("devices          %llu (%llu connections)\n"
           "files            %llu offered, %llu delivered, %llu empty\n"
           "bytes            %llu delivered, %llu in DATA, %llu on the "
           "wire\n"
           "wall time        %.3f s\n"
           "throughput       %.2f MB/s (delivered file bytes)\n"
           "file time (ms)   p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n"
           "faults           %llu resumes, %llu drops, %llu CRC errors "
           "(by rate), %llu stalls (%llu closed by the server)\n"
           "errors          ",
           (unsigned long long) st->devices,
           (unsigned long long) st->connections,
           (unsigned long long) st->files_offered,
           (unsigned long long) st->files_delivered,
           (unsigned long long) st->files_empty,
           (unsigned long long) st->bytes_delivered,
           (unsigned long long) st->bytes_sent,
           (unsigned long long) st->wire_bytes,
           st->wall, mbps,
           sim_pct(st, 50), sim_pct(st, 90), sim_pct(st, 99),
           sim_pct(st, 100),
           (unsigned long long) st->resumes,
           (unsigned long long) st->drops,
           (unsigned long long) st->crc_errors,
           (unsigned long long) st->stalls,
           (unsigned long long) st->stalls_closed);

    for (i = 0; i < SIM_ERR_N; i++) {
        printf(" %s %llu", sim_err_names[i], (unsigned long long) st->err[i]);
    }

    printf("\n");

    if (st->verified) {
        printf("verify           %llu ok, %llu missing, %llu corrupt\n",
               (unsigned long long) st->verify_ok,
               (unsigned long long) st->verify_missing,
               (unsigned long long) st->verify_corrupt);
    }

    printf("result           %s\n", sim_exit_status(s) == 0 ? "ok" : "FAILED");
    fflush(stdout);
}
