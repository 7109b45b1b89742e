
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


/*
 * Totals counted by name; what a session's result says (protocol
 * errors, timeouts, ...) is sessions[result], not counted again.
 */
typedef enum {
    NGX_STREAM_DUALCAM_CNT_CRC_FAILURES = 0,
    NGX_STREAM_DUALCAM_CNT_RESUMES,         /* within a session */
    NGX_STREAM_DUALCAM_CNT_RESUMES_ACROSS,  /* from a kept partial */
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
/*
 * The file in flight (the core's own, read again at every call): at
 * FILE_OPEN, and after each run of packets.
 */
void ngx_stream_dualcam_zone_file(ngx_stream_dualcam_zone_sess_t *zs,
    dualcam_file_t *file, uint64_t started_ms);

/*
 * A file was stored (result ok, path the file in the store), was stored
 * before (duplicate, path the first copy), or failed (path NULL).
 */
/* the MP4 stored with the file that ends next: its recent entry */
void ngx_stream_dualcam_zone_file_mp4(ngx_stream_dualcam_zone_sess_t *zs,
    ngx_str_t *path);
void ngx_stream_dualcam_zone_file_end(ngx_stream_dualcam_zone_sess_t *zs,
    dualcam_file_t *file, ngx_str_t *path, dualcam_result_e result);

void ngx_stream_dualcam_zone_count(ngx_stream_dualcam_zone_sess_t *zs,
    ngx_stream_dualcam_counter_e counter, ngx_uint_t n);
void ngx_stream_dualcam_zone_device_status(
    ngx_stream_dualcam_zone_sess_t *zs, uint32_t code);

/* the session is over; also run by the pool cleanup if not called */
void ngx_stream_dualcam_zone_session_end(ngx_stream_dualcam_zone_sess_t *zs,
    dualcam_result_e result);

/* what happened to an event, for the notify counters */
typedef enum {
    NGX_STREAM_DUALCAM_NOTIFY_WRITTEN = 0,  /* a new event: pending */
    NGX_STREAM_DUALCAM_NOTIFY_LOADED,       /* found in a spool: pending if
                                               older than the zone */
    NGX_STREAM_DUALCAM_NOTIFY_SENT,
    NGX_STREAM_DUALCAM_NOTIFY_ATTEMPT_FAILED,   /* error says why */
    NGX_STREAM_DUALCAM_NOTIFY_DEAD,
    NGX_STREAM_DUALCAM_NOTIFY_GONE          /* its file went away */
} ngx_stream_dualcam_notify_stat_e;

void ngx_stream_dualcam_zone_notify(ngx_shm_zone_t *zone,
    ngx_stream_dualcam_notify_stat_e what, uint64_t created_ms,
    ngx_str_t *error);

/* the wall clock in ms, as the zone, the sidecars and the logs print it */
uint64_t ngx_stream_dualcam_now_ms(void);


/*
 * What the status module reads: a copy of the zone taken under its lock
 * (ngx_stream_dualcam_zone_snapshot()), so formatting needs no lock.
 */

#define NGX_STREAM_DUALCAM_STATUS_CODES  32    /* STATUS 0..31, then other */
#define NGX_STREAM_DUALCAM_NOTIFY_ERROR  160   /* the last delivery error */
/* "[ipv6]:port"; a longer (unix) peer text is cut to this */
#define NGX_STREAM_DUALCAM_ADDR_LEN                                        \
    (NGX_INET6_ADDRSTRLEN + sizeof("[]:65535") - 1)


typedef struct {
    uint64_t                  connections;
    uint64_t                  sessions_active;
    uint64_t                  sessions[DUALCAM_RESULT_LAST];
    uint64_t                  files[DUALCAM_KIND_LAST][DUALCAM_SIDE_LAST];
    uint64_t                  files_failed;
    uint64_t                  files_duplicate;
    uint64_t                  bytes;
    uint64_t                  counters[NGX_STREAM_DUALCAM_CNT_LAST];
    uint64_t                  status[NGX_STREAM_DUALCAM_STATUS_CODES];
    uint64_t                  status_other;
    uint64_t                  evicted;    /* recent entries evicted early */
    uint64_t                  dropped;    /* entries that found no room */

    /* event notifications (ngx_stream_dualcam_notify.h) */
    uint64_t                  notify_events;      /* written to a spool */
    uint64_t                  notify_sent;        /* answered 2xx */
    uint64_t                  notify_failed;      /* attempts that failed */
    uint64_t                  notify_dead;        /* moved to failed/ */
    uint64_t                  notify_pending;     /* in the spools */
    uint64_t                  notify_last_sent_ms;
    uint64_t                  notify_last_error_ms;
    size_t                    notify_last_error_len;
    u_char                    notify_last_error[
                                  NGX_STREAM_DUALCAM_NOTIFY_ERROR];
} ngx_stream_dualcam_zone_totals_t;


typedef struct {
    uint64_t                  imei;       /* 0: no init yet */
    ngx_uint_t                protocol;
    ngx_pid_t                 pid;
    unsigned                  ssl:1;
    unsigned                  has_imei:1;
    unsigned                  has_file:1;

    uint64_t                  connected_ms;     /* wall clock, ms */
    uint64_t                  activity_ms;

    ngx_uint_t                files_done;
    uint64_t                  bytes_done;

    /* the file in flight */
    dualcam_kind_e            kind;
    dualcam_side_e            side;
    uint32_t                  total;            /* START value, units */
    uint64_t                  size;             /* bytes, upper bound */
    uint64_t                  received;         /* verified bytes */
    uint64_t                  resume_from;
    uint32_t                  packets;
    uint32_t                  crc_errors;
    uint64_t                  rate;             /* bytes/s */
    uint64_t                  file_start_ms;

    size_t                    addr_len;
    u_char                    addr[NGX_STREAM_DUALCAM_ADDR_LEN];
    size_t                    name_len;
    u_char                    name[DUALCAM_PATH_MAX + 1];
} ngx_stream_dualcam_zone_session_t;


typedef struct {
    uint64_t                  imei;
    dualcam_kind_e            kind;
    dualcam_side_e            side;
    dualcam_result_e          result;
    uint64_t                  size;             /* verified bytes */
    uint64_t                  start_ms;
    uint64_t                  end_ms;
    ngx_str_t                 name;             /* as the device named it */
    ngx_str_t                 path;             /* stored path; empty when
                                                   not stored */
    ngx_str_t                 addr;
    ngx_str_t                 mp4;              /* its MP4's path; empty:
                                                   none */
} ngx_stream_dualcam_zone_recent_t;


typedef struct {
    ngx_str_t                           name;   /* zone name */
    uint64_t                            start_ms;
    size_t                              size;   /* zone size */
    ngx_uint_t                          recent_max;
    ngx_stream_dualcam_zone_totals_t    totals;
    ngx_uint_t                          nsessions;
    ngx_stream_dualcam_zone_session_t  *sessions;  /* oldest first */
    ngx_uint_t                          nrecent;
    ngx_stream_dualcam_zone_recent_t   *recent;    /* newest first */
} ngx_stream_dualcam_zone_snapshot_t;


/* copies the zone into pool memory; NGX_ERROR when out of memory */
ngx_int_t ngx_stream_dualcam_zone_snapshot(ngx_shm_zone_t *zone,
    ngx_pool_t *pool, ngx_stream_dualcam_zone_snapshot_t *snap);


#endif /* _NGX_STREAM_DUALCAM_ZONE_H_INCLUDED_ */
