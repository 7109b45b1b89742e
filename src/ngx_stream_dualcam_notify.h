
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * Event notifications: an HTTP POST of a JSON event for every stored
 * file (and, as configured, every lost file and every session) to the
 * receivers of "dualcam_notify".  An event is a file in the outbox, the
 * spool directory, before anything is sent, and it leaves the spool
 * only when a receiver answered 2xx (or, after dualcam_notify_max_age,
 * into <spool>/failed/).  A "stored" event is written by a commit stage
 * and synced with the sidecar, so a file in the store always has its
 * event on disk before the device hears 00 09.
 *
 * Who sends what: the spool holds a directory per worker process,
 * <spool>/<pid>/, locked (flock) by that process for its lifetime
 * through <spool>/<pid>.lock.  A process writes its events into its own
 * directory and only it sends them.  The directory of a process that is
 * gone (exited, crashed, killed) has a free lock: a worker that takes
 * the lock adopts the events (rename into its own directory), at its
 * start and every few seconds after.  So an event is in exactly one
 * directory, and sent by the one live process that holds its lock.
 *
 * ngx_stream_dualcam_notify_conf.c: the module, its directives, the
 * receivers; ngx_stream_dualcam_outbox.c: the spool (process
 * directories, adoption walks in a thread, the commit stages, event
 * files); ngx_stream_dualcam_event.c: the "failed" and "session" bodies;
 * ngx_stream_dualcam_notify.c: the delivery.
 */


#ifndef _NGX_STREAM_DUALCAM_NOTIFY_H_INCLUDED_
#define _NGX_STREAM_DUALCAM_NOTIFY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>
#include <ngx_stream.h>

#if (NGX_THREADS)
#include <ngx_thread_pool.h>
#endif

#include "ngx_stream_dualcam_commit.h"


/* the events a receiver asks for: one table, the names of "events=" */
#define NGX_STREAM_DUALCAM_EV_STORED   0x01
#define NGX_STREAM_DUALCAM_EV_FAILED   0x02
#define NGX_STREAM_DUALCAM_EV_SESSION  0x04

#define NGX_STREAM_DUALCAM_EVENT_ID_LEN   32    /* hex of 16 random bytes */
/* an event file: <id>.<crc32 of the receiver's URL, hex> */
#define NGX_STREAM_DUALCAM_EVENT_NAME_LEN                                   \
    (NGX_STREAM_DUALCAM_EVENT_ID_LEN + 1 + 8)
/* its first line: "DCN1 <event> <created ms>\n" */
#define NGX_STREAM_DUALCAM_EVENT_MAGIC    "DCN1 "
#define NGX_STREAM_DUALCAM_EVENT_HEAD_MAX 64
#define NGX_STREAM_DUALCAM_EVENT_MAX      (1024 * 1024)

#define NGX_STREAM_DUALCAM_ADOPT_INTERVAL 2000   /* ms */


typedef struct ngx_stream_dualcam_outbox_s  ngx_stream_dualcam_outbox_t;


/* a receiver: one URL of one spool, with its delivery settings */

typedef struct {
    ngx_str_t                       url;        /* as configured */
    uint32_t                        hash;       /* crc32 of url */
    ngx_str_t                       host;       /* Host: host[:port] */
    ngx_str_t                       sni;        /* NUL-terminated; empty
                                                   for an IP address */
    ngx_str_t                       ip;         /* ... which is here */
    ngx_str_t                       uri;
    ngx_addr_t                     *addrs;      /* resolved at load */
    ngx_uint_t                      naddrs;
    unsigned                        https:1;
    unsigned                        ssl_verify:1;
#if (NGX_STREAM_SSL)
    ngx_ssl_t                      *ssl;
#endif

    ngx_str_t                       secret;
    ngx_msec_t                      timeout;
    ngx_msec_t                      backoff_min;
    ngx_msec_t                      backoff_max;
    time_t                          max_age;
    ngx_uint_t                      concurrency;
    ngx_shm_zone_t                 *zone;       /* counters; may be NULL */
    ngx_stream_dualcam_outbox_t    *outbox;

    /* in the worker */
#if (NGX_STREAM_SSL)
    ngx_ssl_session_t              *session;    /* to resume, https */
#endif
    ngx_uint_t                      active;     /* deliveries in flight */
    ngx_uint_t                      next_addr;
    ngx_queue_t                     ready;      /* events due now */
} ngx_stream_dualcam_notify_target_t;


/* an event in the worker's memory; its content is in its file */

typedef struct {
    ngx_str_node_t                  node;       /* by file name */
    ngx_queue_t                     queue;      /* in target->ready */
    ngx_event_t                     retry;
    ngx_stream_dualcam_notify_target_t  *target;
    uint64_t                        created_ms;
    ngx_uint_t                      attempts;
    ngx_uint_t                      type;       /* NGX_STREAM_DUALCAM_EV_ */
    unsigned                        queued:1;
    unsigned                        sending:1;
    u_char                          name[NGX_STREAM_DUALCAM_EVENT_NAME_LEN
                                         + 1];
} ngx_stream_dualcam_notify_event_t;


struct ngx_stream_dualcam_outbox_s {
    ngx_path_t                     *path;
    ngx_str_t                       failed;     /* <path>/failed */
    ngx_array_t                     targets;    /* target * */
#if (NGX_THREADS)
    ngx_thread_pool_t              *pool;
    ngx_thread_task_t              *task;
#endif

    /* in the worker */
    ngx_log_t                      *log;
    u_char                         *dir;        /* <path>/<pid> */
    size_t                          dir_len;
    ngx_fd_t                        lock;
    uint64_t                        start_ms;   /* of this process */
    ngx_rbtree_t                    events;
    ngx_rbtree_node_t               sentinel;
    ngx_event_t                     adopt;
    ngx_event_t                     kick;       /* posted: deliveries */
    unsigned                        ready:1;    /* the directory is ours */
    unsigned                        walking:1;
    unsigned                        own:1;      /* this walk reads our own
                                                   directory too */

    /* what a walk found, for the event loop ("name\0" per event) */
    u_char                         *found;
    size_t                          found_len;
    size_t                          found_size;
    ngx_uint_t                      adopted;
    ngx_uint_t                      errors;
    ngx_err_t                       err;
    u_char                          error[NGX_MAX_PATH + 64];
};


typedef struct {
    ngx_stream_dualcam_notify_target_t  *target;
    ngx_uint_t                      events;
} ngx_stream_dualcam_notify_send_t;


typedef struct {
    ngx_array_t                    *specs;      /* dualcam_notify lines */
    ngx_path_t                     *spool;
    ngx_str_t                       secret;
    ngx_msec_t                      timeout;
    ngx_msec_t                      backoff_min;
    ngx_msec_t                      backoff_max;
    time_t                          max_age;
    ngx_uint_t                      concurrency;
    ngx_flag_t                      ssl_verify;
    ngx_str_t                       ssl_trusted_certificate;

    ngx_array_t                     sends;      /* ..._notify_send_t */
    ngx_uint_t                      events;     /* of all sends */
    ngx_stream_dualcam_outbox_t    *outbox;
} ngx_stream_dualcam_notify_srv_conf_t;


typedef struct {
    ngx_array_t                     outboxes;   /* outbox *, one per
                                                   spool */
} ngx_stream_dualcam_notify_main_conf_t;


/* the state of the commit stages, cm->notify */

typedef struct {
    ngx_stream_dualcam_notify_srv_conf_t  *conf;
    u_char                          id[NGX_STREAM_DUALCAM_EVENT_ID_LEN + 1];
    uint64_t                        created_ms;
    u_char                         *tmp;        /* <dir>/.<id>.tmp */
    u_char                         *name;       /* room for <dir>/<name> */
    ngx_fd_t                        fd;
    u_char                         *body;
    size_t                          body_size;
    size_t                          body_len;
    ngx_uint_t                      published;  /* links made */
    unsigned                        written:1;
} ngx_stream_dualcam_notify_commit_t;


/* for ngx_stream_dualcam_module.c */

/* the notify configuration of the session's server, or NULL */
void *ngx_stream_dualcam_notify_conf(ngx_stream_session_t *s);
/* a file was not stored: result, verified bytes, whether it was kept */
void ngx_stream_dualcam_notify_failed(ngx_stream_session_t *s,
    dualcam_file_t *file, dualcam_result_e result);
/* a session began (result NONE, after HELLO) or ended */
void ngx_stream_dualcam_notify_session(ngx_stream_session_t *s,
    dualcam_result_e result);


/* the outbox, ngx_stream_dualcam_outbox.c */

ngx_stream_dualcam_outbox_t *ngx_stream_dualcam_outbox(ngx_conf_t *cf,
    ngx_array_t *outboxes, ngx_path_t *path, void *pool);
ngx_int_t ngx_stream_dualcam_outbox_init_process(ngx_cycle_t *cycle,
    ngx_stream_dualcam_outbox_t *ob);
/* a new event id, hex */
void ngx_stream_dualcam_outbox_id(u_char *id);
/* writes an event (not synced) for every send of conf that wants type;
   in the event loop; logs its failures */
void ngx_stream_dualcam_outbox_write(ngx_stream_dualcam_notify_srv_conf_t *conf,
    ngx_uint_t type, u_char *id, uint64_t created_ms, u_char *body,
    size_t len, ngx_log_t *log);
/* an event file that left the spool */
void ngx_stream_dualcam_outbox_forget(ngx_stream_dualcam_outbox_t *ob,
    ngx_stream_dualcam_notify_event_t *ev);
/* moves an event to <spool>/failed/; NGX_ERROR logged */
ngx_int_t ngx_stream_dualcam_outbox_dead(ngx_stream_dualcam_outbox_t *ob,
    ngx_stream_dualcam_notify_event_t *ev, ngx_log_t *log);

/* the delivery, ngx_stream_dualcam_notify.c; the event names and the
   JSON helpers, ngx_stream_dualcam_notify_conf.c and _event.c */

/* an event in this worker's directory, created ms and type from its
   file; NGX_DECLINED: known already */
ngx_int_t ngx_stream_dualcam_notify_add(ngx_stream_dualcam_outbox_t *ob,
    u_char *name, ngx_uint_t type, uint64_t created_ms, ngx_uint_t loaded);
void ngx_stream_dualcam_notify_kick(ngx_stream_dualcam_outbox_t *ob);

/* the names of the events, "stored" ...; 0 for an unknown name */
const char *ngx_stream_dualcam_notify_event_name(ngx_uint_t type);
ngx_uint_t ngx_stream_dualcam_notify_event_type(u_char *name, size_t len);

extern ngx_module_t  ngx_stream_dualcam_notify_module;


#endif /* _NGX_STREAM_DUALCAM_NOTIFY_H_INCLUDED_ */
