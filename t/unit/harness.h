/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * A stand-in for the nginx glue, for tests: drives a dualcam_server_t
 * with a byte stream cut into given chunk sizes ("TCP reads"), keeps the
 * unconsumed bytes in a buffer of the configured size exactly as the glue
 * does, and records every action.  It also checks the input contract: a
 * step that consumes nothing while its buffer is full, FILE_WRITE data
 * outside the consumed input, a write that leaves a gap, anything after
 * CLOSE, a log line with a newline.  Such violations set h->error.
 *
 * Typical use:
 *
 *     dualcam_harness_init(&h, conf.buffer_size);
 *     dualcam_server_init(&s, &conf);
 *     dualcam_harness_feed(&h, &s, bytes, n, chunks, nchunks);
 *     ck_assert_int_eq(h.result, DUALCAM_RESULT_OK);
 *     dualcam_harness_free(&h);
 */


#ifndef _DUALCAM_HARNESS_H_INCLUDED_
#define _DUALCAM_HARNESS_H_INCLUDED_


#include "dualcam.h"


#define DUALCAM_HARNESS_SENDS   64
#define DUALCAM_HARNESS_FILES   8
#define DUALCAM_HARNESS_TYPES   1024
#define DUALCAM_HARNESS_LOGTEXT 8192


typedef struct {
    unsigned char            *data;         /* malloc()ed, len bytes */
    size_t                    len;
    dualcam_file_t            file;         /* a copy at commit time */
} dualcam_harness_file_t;


typedef struct {
    /* knobs: set after init, before feeding */
    unsigned                  refuse:1;     /* refuse at every HELLO */
    unsigned                  commit_hold:1;  /* FILE_COMMIT is not
                                                 answered with
                                                 dualcam_server_committed */
    dualcam_commit_e          commit_outcome;   /* what it is answered
                                                   with otherwise */
    const unsigned char      *resume_data;  /* offered at FILE_OPEN through */
    size_t                    resume_len;   /* dualcam_server_resume_from() */

    /* what the server sent: frames concatenated, and each one's place */
    unsigned char            *out;
    size_t                    out_len;
    size_t                    nsends;
    size_t                    send_off[DUALCAM_HARNESS_SENDS];
    size_t                    send_len[DUALCAM_HARNESS_SENDS];

    /* the file in flight, assembled by offset */
    unsigned char            *cur;
    size_t                    cur_len;
    size_t                    cur_cap;

    /* committed files, in order */
    size_t                    nfiles;
    dualcam_harness_file_t    files[DUALCAM_HARNESS_FILES];

    /* counters */
    unsigned                  hellos;
    unsigned                  metas;
    unsigned                  opens;
    unsigned                  writes;
    unsigned                  progress;
    unsigned                  commits;
    unsigned                  aborts;
    unsigned                  logs;
    unsigned                  logs_at[DUALCAM_LOG_DEBUG + 1];
    uint64_t                  abort_received;   /* of the last FILE_ABORT */
    dualcam_meta_t            meta;             /* of the last METADATA */

    /* action types in order; FILE_WRITE runs collapse into one entry */
    size_t                    ntypes;
    int                       types[DUALCAM_HARNESS_TYPES];

    /* every LOG above DEBUG, one per line */
    size_t                    logtext_len;
    char                      logtext[DUALCAM_HARNESS_LOGTEXT];

    unsigned                  closed:1;
    dualcam_result_e          result;

    int                       error;        /* contract violations */
    char                      error_msg[256];

    /* the glue's input buffer: bytes [pos, last) of buf[cap] */
    unsigned char            *buf;
    size_t                    pos;
    size_t                    last;
    size_t                    cap;
} dualcam_harness_t;


/* buffer_size as in the server's conf (a frame never exceeds it) */
void dualcam_harness_init(dualcam_harness_t *h, size_t buffer_size);
void dualcam_harness_free(dualcam_harness_t *h);

/*
 * Delivers in[0 .. len) as reads of chunks[0], chunks[1], ... bytes
 * (cycling; nchunks 0: one read), stepping the server after each read
 * until it needs more input.  Reads never exceed the free buffer space,
 * as with recv() into the glue's buffer.  Stops once CLOSE was seen.
 */
void dualcam_harness_feed(dualcam_harness_t *h, dualcam_server_t *s,
    const unsigned char *in, size_t len, const size_t *chunks,
    size_t nchunks);

/* steps over the retained input until the server needs more */
void dualcam_harness_pump(dualcam_harness_t *h, dualcam_server_t *s);

/* records an action obtained outside a step (timer, end) */
void dualcam_harness_record(dualcam_harness_t *h, dualcam_server_t *s,
    const dualcam_action_t *act);

/* the connection ends from outside: dualcam_server_end(), recorded */
void dualcam_harness_end(dualcam_harness_t *h, dualcam_server_t *s,
    dualcam_result_e result);

/* 1 when send number i is exactly frame[0 .. len) */
int dualcam_harness_sent(dualcam_harness_t *h, size_t i,
    const unsigned char *frame, size_t len);

/* 1 when some logged line (above DEBUG) contains text */
int dualcam_harness_logged(dualcam_harness_t *h, const char *text);

/* retained input bytes, not yet consumed */
size_t dualcam_harness_pending(dualcam_harness_t *h);


/*
 * A device's byte stream for tests, built frame by frame.  DATA frames
 * carry the running CRC, which restarts at every SYNC added; the _bad
 * variant sends a wrong CRC (and the chain goes on as the device
 * computed it).
 */

typedef struct {
    unsigned char            *p;
    size_t                    len;
    size_t                    cap;
    uint16_t                  crc;
} dualcam_script_t;


void dualcam_script_init(dualcam_script_t *sc);
void dualcam_script_free(dualcam_script_t *sc);
void dualcam_script_raw(dualcam_script_t *sc, const void *data, size_t len);
void dualcam_script_hello(dualcam_script_t *sc, unsigned protocol,
    uint64_t imei, unsigned flags);
void dualcam_script_frame(dualcam_script_t *sc, unsigned cmd,
    const void *data, size_t len);
void dualcam_script_u32(dualcam_script_t *sc, unsigned cmd, uint32_t v);
void dualcam_script_start(dualcam_script_t *sc, uint32_t total);
void dualcam_script_sync(dualcam_script_t *sc, uint32_t v);
void dualcam_script_data(dualcam_script_t *sc, const void *data, size_t n);
void dualcam_script_data_bad(dualcam_script_t *sc, const void *data,
    size_t n);
void dualcam_script_enhanced(dualcam_script_t *sc, uint32_t offset,
    const void *data, size_t n);

/* the whole file as 1024-byte DATA frames, from byte `from` */
void dualcam_script_file(dualcam_script_t *sc, const unsigned char *data,
    size_t len, size_t from);


#endif /* _DUALCAM_HARNESS_H_INCLUDED_ */
