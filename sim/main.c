
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * dualcam-sim: a device simulator and load generator for camera servers
 * speaking the Teltonika camera file-transfer protocol.  See --help.
 */


#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "sim.h"


static void
sim_rlimit(const sim_opts_t *o)
{
    struct rlimit  rl;

    /* a socket per device: take every descriptor the hard limit allows */
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return;
    }

    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    if (rl.rlim_cur != RLIM_INFINITY && o->devices + 64 > rl.rlim_cur) {
        fprintf(stderr, "dualcam-sim: warning: %u devices but only %llu "
                "descriptors (ulimit -n)\n", o->devices,
                (unsigned long long) rl.rlim_cur);
    }
}


int
main(int argc, char **argv)
{
    int              rc;
    unsigned         i, j;
    sim_t            s;
    sim_dev_t       *d;
    sim_opts_t       o;
    struct timespec  ts;
    struct addrinfo  hints;

    if (sim_options(&o, argc, argv) != 0) {
        return 2;
    }

    /* a server that closes mid-write must not kill the whole fleet */
    signal(SIGPIPE, SIG_IGN);

    if (o.raw) {
        return sim_raw(&o);
    }

    sim_rlimit(&o);

    memset(&s, 0, sizeof(sim_t));
    s.opts = &o;
    s.rng = o.seed * 0x2545f4914f6cdd1dULL + 1;

    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;

    rc = getaddrinfo(o.host, o.port, &hints, &s.addr);
    if (rc != 0) {
        fprintf(stderr, "dualcam-sim: %s:%s: %s\n", o.host, o.port,
                gai_strerror(rc));
        return 1;
    }

    if (o.tls) {
        s.ssl_ctx = sim_tls_ctx(&o);
        if (s.ssl_ctx == NULL) {
            return 1;
        }
    }

    s.devs = calloc(o.devices, sizeof(sim_dev_t));
    s.stats.times = calloc((size_t) o.devices * o.nfiles, sizeof(double));

    if (s.devs == NULL || s.stats.times == NULL) {
        perror("dualcam-sim: calloc");
        return 1;
    }

    /* capture times in the metadata: now, whole seconds */
    clock_gettime(CLOCK_REALTIME, &ts);
    s.capture_ms = (double) ts.tv_sec * 1000;

    for (j = 0; j < o.nfiles; j++) {
        s.meta_len[j] = sim_meta(&o.files[j], j, s.capture_ms, s.meta[j]);
    }

    for (i = 0; i < o.devices; i++) {
        d = &s.devs[i];
        d->sim = &s;
        d->imei = o.one_imei ? o.imei : o.imei_base + i;
        d->fd = -1;
        d->reconnects_left = o.reconnects;
        s.stats.files_offered += o.nfiles;

        for (j = 0; j < o.nfiles; j++) {
            s.stats.bytes_offered += o.files[j].size;
        }
    }

    s.stats.devices = o.devices;

    if (sim_run(&s) != 0) {
        return 1;
    }

    if (o.verify_dir != NULL) {
        sim_verify(&s);
    }

    if (!o.quiet) {
        sim_report(&s);
    }

    rc = sim_exit_status(&s);

    free(s.devs);
    free(s.stats.times);
    freeaddrinfo(s.addr);

    if (s.ssl_ctx != NULL) {
        SSL_CTX_free(s.ssl_ctx);
    }

    free(o.from);

    return rc;
}
