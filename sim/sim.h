
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * dualcam-sim: many simulated trackers in one process, each one driven
 * by the device core (src/dualcam_device.h) over a real socket.
 */


#ifndef _DUALCAM_SIM_H_INCLUDED_
#define _DUALCAM_SIM_H_INCLUDED_


#include <stdint.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "dualcam.h"
#include "dualcam_device.h"


#define SIM_FILES_MAX       DUALCAM_DEVICE_FILES_MAX
#define SIM_META_MAX        256
#define SIM_IN_SIZE         2048        /* > the largest server frame */
#define SIM_OUT_SIZE        65536       /* one write of many frames */
#define SIM_OUT_SLACK       8192        /* room for control frames */
#define SIM_DROPS_MAX       10          /* per file, with --drop-rate */


/* one entry of --files */

typedef struct {
    dualcam_kind_e          kind;
    dualcam_side_e          side;
    dualcam_meta_type_e     meta_type;
    char                    name[DUALCAM_PATH_MAX + 1];  /* for humans */
    unsigned char           path[DUALCAM_PATH_MAX + 1];  /* path mode */
    size_t                  path_len;   /* as sent, NUL included */
    uint64_t                size;
    unsigned                jpeg:1;     /* FF D8 ... FF D9 */
    unsigned                h265:1;     /* 00 00 00 01 ... */
    unsigned                from_file:1;    /* --file-from content */
    unsigned char          *data;       /* KIND:@PATH content, or NULL */
} sim_file_t;


typedef struct {
    const char             *host;
    const char             *port;
    unsigned                tls:1;
    const char             *tls_ca;

    unsigned                devices;
    uint64_t                imei_base;
    uint64_t                imei;
    unsigned                one_imei:1;

    unsigned                nfiles;
    sim_file_t              files[SIM_FILES_MAX];
    unsigned char          *from;       /* --file-from content */
    size_t                  from_len;

    uint64_t                seed;
    uint64_t                rate;       /* bytes/s per device, 0: no limit */
    uint64_t                sndbuf;     /* SO_SNDBUF, 0: the kernel's */
    unsigned                concurrency;
    unsigned                reconnects;
    unsigned                reconnect_delay;    /* ms */

    uint32_t                crc_error_at;
    double                  crc_error_rate;
    uint32_t                drop_after;
    double                  drop_rate;
    uint32_t                status;
    unsigned                status_on;  /* DUALCAM_CMD_*, 0: none */
    uint32_t                stall_after;
    unsigned                no_meta:1;
    unsigned                protocol;
    unsigned                enhanced:1;

    double                  timeout;    /* s, 0: none */
    unsigned                expect_refused:1;
    const char             *verify_dir;
    unsigned                json:1;
    unsigned                log_resumes:1;
    unsigned                verbose:1;
    unsigned                quiet:1;

    unsigned                raw:1;
    const char             *send_hex;
} sim_opts_t;


typedef enum {
    SIM_IDLE = 0,           /* waiting for its turn to connect */
    SIM_WAIT,               /* timer: reconnect delay */
    SIM_CONNECTING,
    SIM_HANDSHAKE,
    SIM_ACTIVE,
    SIM_FINISHED
} sim_state_e;


typedef enum {
    SIM_ERR_REFUSED = 0,    /* CLOSE answered the first init */
    SIM_ERR_CLOSED,         /* the server ended it with files pending */
    SIM_ERR_TIMEOUT,        /* --timeout with files pending */
    SIM_ERR_CONNECT,
    SIM_ERR_TLS,
    SIM_ERR_PROTOCOL,       /* the server broke the protocol */
    SIM_ERR_STATUS,         /* files answered with STATUS */
    SIM_ERR_SKIPPED,        /* 00 09 before the last DATA */
    SIM_ERR_N
} sim_err_e;


typedef struct sim_dev_s  sim_dev_t;

struct sim_dev_s {
    void                   *sim;        /* sim_t */
    uint64_t                imei;
    sim_state_e             state;

    /* per file of the spec */
    uint32_t                delivered;  /* bitmask */
    uint32_t                finished;   /* delivered, skipped or STATUS */
    uint32_t                started;    /* first START seen */
    unsigned char           drops[SIM_FILES_MAX];
    double                  t_start[SIM_FILES_MAX];

    /* this connection: the device core sees only what is left */
    int                     fd;
    SSL                    *ssl;
    unsigned                map[SIM_FILES_MAX];  /* conf file -> spec */
    dualcam_device_conf_t   conf;
    dualcam_device_t        dev;
    unsigned                reconnects_left;
    unsigned                stalled:1;
    unsigned                dropping:1; /* flush, then close */

    double                  tokens;
    double                  t_tokens;
    double                  wake;       /* timer, ms; 0: none */
    sim_dev_t              *timer_next;
    unsigned                on_timer:1;

    size_t                  in_len;
    unsigned char           in[SIM_IN_SIZE];
    unsigned char          *out;        /* DATA in bulk, and SENDs */
    size_t                  out_pos;
    size_t                  out_len;
    size_t                  out_cap;
};


typedef struct {
    uint64_t                devices;
    uint64_t                connections;
    uint64_t                files_offered;
    uint64_t                files_delivered;
    uint64_t                files_empty;
    uint64_t                bytes_offered;
    uint64_t                bytes_delivered;    /* file bytes */
    uint64_t                bytes_sent;         /* file bytes in DATA,
                                                   resends included */
    uint64_t                wire_bytes;         /* all bytes written */
    uint64_t                resumes;            /* beyond the start */
    uint64_t                drops;
    uint64_t                crc_errors;
    uint64_t                stalls;
    uint64_t                stalls_closed;
    uint64_t                err[SIM_ERR_N];
    double                  wall;               /* s */

    double                 *times;              /* ms per delivered file */
    size_t                  ntimes;

    uint64_t                verify_ok;
    uint64_t                verify_missing;
    uint64_t                verify_corrupt;
    unsigned                verified:1;
} sim_stats_t;


typedef struct {
    sim_opts_t             *opts;
    sim_stats_t             stats;
    sim_dev_t              *devs;
    SSL_CTX                *ssl_ctx;
    struct addrinfo        *addr;
    int                     ep;
    double                  t0;         /* ms */
    double                  capture_ms; /* metadata capture time base */

    /* the metadata of each file, the same for every device */
    size_t                  meta_len[SIM_FILES_MAX];
    unsigned char           meta[SIM_FILES_MAX][SIM_META_MAX];

    size_t                  out_size;   /* DATA bytes per write, at most */
    unsigned                next_idle;  /* next device to connect */
    unsigned                connecting;
    unsigned                finished;

    sim_dev_t              *timers;
    double                  next_wake;
    uint64_t                rng;
} sim_t;


/* options.c */
int sim_options(sim_opts_t *o, int argc, char **argv);
uint64_t sim_parse_size(const char *s, int *ok);

/* content.c */
void sim_content(const sim_opts_t *o, uint64_t imei, unsigned file,
    uint64_t offset, unsigned char *dst, size_t n);
size_t sim_meta(const sim_file_t *f, unsigned file, double capture_ms,
    unsigned char *dst);
uint64_t sim_rand(uint64_t *state);
double sim_rand01(uint64_t *state);

/* loop.c */
int sim_run(sim_t *s);
double sim_now(void);

/* tls.c */
SSL_CTX *sim_tls_ctx(const sim_opts_t *o);
int sim_tls_new(sim_t *s, sim_dev_t *d);
int sim_tls_handshake(sim_dev_t *d);
ssize_t sim_tls_read(sim_dev_t *d, unsigned char *buf, size_t len);
ssize_t sim_tls_write(sim_dev_t *d, const unsigned char *buf, size_t len);
void sim_tls_free(sim_dev_t *d);

/* verify.c */
void sim_verify(sim_t *s);

/* stats.c */
void sim_report(sim_t *s);
int sim_exit_status(sim_t *s);

/* raw.c */
int sim_raw(sim_opts_t *o);


#endif /* _DUALCAM_SIM_H_INCLUDED_ */
