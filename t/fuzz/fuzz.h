
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * Shared pieces of the fuzz targets: a checked server driver (the server
 * core driven the way the nginx glue drives it, with the invariants of
 * dualcam.h asserted on every action), the options every server target
 * takes from the first bytes of its input, and a small PRNG.
 */


#ifndef _DUALCAM_FUZZ_H_INCLUDED_
#define _DUALCAM_FUZZ_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "dualcam.h"


/* an invariant: abort with a message, sanitizer or not */
#define fz_assert(expr)                                                      \
    do {                                                                     \
        if (!(expr)) {                                                       \
            fz_fail(__FILE__, __LINE__, #expr);                              \
        }                                                                    \
    } while (0)


/* bytes of options at the start of a server target's input */
#define FZ_OPTS_LEN  8


typedef struct {
    uint32_t                  s;
} fz_rand_t;


typedef struct {
    dualcam_server_conf_t     conf;
    unsigned                  refuse;       /* dualcam_server_refuse() at
                                               this HELLO (1-based), 0 */
    unsigned                  timers:1;     /* fire the RESUME timer */
    unsigned                  resume_mode;  /* what to hold at FILE_OPEN */
    unsigned                  resume_arg;
    unsigned                  misuse:1;     /* calls out of turn */
    uint32_t                  seed;         /* chunking */
} fz_opts_t;


/* called for every action after it has been checked */
typedef void (*fz_action_pt)(void *ctx, dualcam_action_t *a);

/* at FILE_OPEN: non-zero and *bytes set to resume from what is held */
typedef int (*fz_resume_pt)(void *ctx, dualcam_file_t *file,
    uint64_t *bytes);


typedef struct {
    dualcam_server_t          s;
    fz_opts_t                 opts;

    unsigned char            *buf;          /* conf.buffer_size bytes */
    size_t                    len;          /* held, not yet consumed */
    unsigned char            *in;           /* exact copy given to step */

    fz_action_pt              on_action;
    fz_resume_pt              on_resume;
    void                     *ctx;

    unsigned                  closed:1;
    unsigned                  file_open:1;
    unsigned                  path_mode:1;
    unsigned                  sent_close:1;
    unsigned                  committed:1;  /* 00 09 not sent yet */
    unsigned                  refused:1;
    unsigned                  wrote:1;      /* since FILE_OPEN */
    unsigned                  trace:1;      /* FZ_TRACE set */
    unsigned                  hellos;
    uint32_t                  total;
    uint64_t                  bound;        /* bytes the START allows */
    uint64_t                  held;         /* contiguous bytes held */
    uint64_t                  reused;       /* from resume_from */
    uint64_t                  last_end;     /* of the last write */

    unsigned long             actions;
    unsigned long             writes;
    unsigned long             commits;
    unsigned long             aborts;
    unsigned long             sends;
    dualcam_result_e          result;
} fz_server_t;


void fz_fail(const char *file, int line, const char *expr);

uint32_t fz_rand(fz_rand_t *r);

size_t fz_opts_parse(fz_opts_t *o, const unsigned char *p, size_t n);

void fz_server_init(fz_server_t *f, const fz_opts_t *opts);
size_t fz_server_feed(fz_server_t *f, const unsigned char *p, size_t n);
void fz_server_timer(fz_server_t *f);
void fz_server_end(fz_server_t *f, dualcam_result_e result);
void fz_server_free(fz_server_t *f);

void fz_check_send(const unsigned char *p, size_t n);


#endif /* _DUALCAM_FUZZ_H_INCLUDED_ */
