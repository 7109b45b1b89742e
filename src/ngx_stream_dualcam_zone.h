
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The shared-memory zone: totals, one entry per active session and the
 * last N finished uploads, written by every worker, read by the HTTP
 * status module.  The stream handler calls only the functions below.
 */


#ifndef _NGX_STREAM_DUALCAM_ZONE_H_INCLUDED_
#define _NGX_STREAM_DUALCAM_ZONE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "dualcam.h"


/* per-session handle, allocated from the session pool */
typedef struct ngx_stream_dualcam_zone_sess_s  ngx_stream_dualcam_zone_sess_t;


/* totals that are counted by name rather than derived from a session */
typedef enum {
    NGX_STREAM_DUALCAM_CNT_CRC_FAILURES = 0,
    NGX_STREAM_DUALCAM_CNT_RESUMES,         /* within a session */
    NGX_STREAM_DUALCAM_CNT_RESUMES_ACROSS,  /* from a kept partial */
    NGX_STREAM_DUALCAM_CNT_PROTOCOL_ERRORS,
    NGX_STREAM_DUALCAM_CNT_TIMEOUTS,
    NGX_STREAM_DUALCAM_CNT_REFUSED,
    NGX_STREAM_DUALCAM_CNT_STORE_ERRORS,
    NGX_STREAM_DUALCAM_CNT_LAST
} ngx_stream_dualcam_counter_e;


/* "dualcam_zone NAME SIZE [recent=N]" in stream main */
char *ngx_stream_dualcam_zone_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* "zone=NAME" of the dualcam directive: the zone, or NULL on error */
ngx_shm_zone_t *ngx_stream_dualcam_zone_get(ngx_conf_t *cf, ngx_str_t *name);

/*
 * A connection was accepted.  Creates the session entry and registers a
 * pool cleanup that removes it on every exit path.  Returns NULL (and
 * logs) only when the session pool is out of memory; a full zone is not
 * an error: the session is then reported in the totals only.
 */
ngx_stream_dualcam_zone_sess_t *ngx_stream_dualcam_zone_session_start(
    ngx_shm_zone_t *zone, ngx_stream_session_t *s);

void ngx_stream_dualcam_zone_hello(ngx_stream_dualcam_zone_sess_t *zs,
    uint64_t imei, ngx_uint_t protocol);
void ngx_stream_dualcam_zone_file_begin(ngx_stream_dualcam_zone_sess_t *zs,
    dualcam_file_t *file);
void ngx_stream_dualcam_zone_progress(ngx_stream_dualcam_zone_sess_t *zs,
    dualcam_file_t *file);

/* a file was stored (path is the final path in the store) or failed */
void ngx_stream_dualcam_zone_file_end(ngx_stream_dualcam_zone_sess_t *zs,
    dualcam_file_t *file, ngx_str_t *path, dualcam_result_e result);

void ngx_stream_dualcam_zone_count(ngx_stream_dualcam_zone_sess_t *zs,
    ngx_stream_dualcam_counter_e counter, ngx_uint_t n);
void ngx_stream_dualcam_zone_device_status(
    ngx_stream_dualcam_zone_sess_t *zs, uint32_t code);

/* the session is over; also run by the pool cleanup if not called */
void ngx_stream_dualcam_zone_session_end(ngx_stream_dualcam_zone_sess_t *zs,
    dualcam_result_e result);


#endif /* _NGX_STREAM_DUALCAM_ZONE_H_INCLUDED_ */
