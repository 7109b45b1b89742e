
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The sweeper: the first worker walks every temp path now and then and
 * removes partials, state and "stored" records not touched for their
 * dualcam_resume_timeout.  The walk is a thread-pool task where a thread
 * pool is configured (it stats every file), and what it removed is
 * logged by the event loop afterwards.
 */


#ifndef _NGX_STREAM_DUALCAM_SWEEP_H_INCLUDED_
#define _NGX_STREAM_DUALCAM_SWEEP_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#if (NGX_THREADS)
#include <ngx_thread_pool.h>
#endif


#define NGX_STREAM_DUALCAM_SWEEP_REPORT  8192    /* names logged per walk */


typedef struct {
    ngx_path_t               *path;
    time_t                    timeout;
} ngx_stream_dualcam_sweep_t;


typedef struct {
    ngx_array_t               paths;        /* ngx_stream_dualcam_sweep_t */
    ngx_array_t               skip;         /* ngx_str_t: not swept */
    ngx_msec_t                interval;
    ngx_event_t               timer;
#if (NGX_THREADS)
    ngx_thread_pool_t        *pool;
    ngx_thread_task_t        *task;
#endif

    /* what a walk found, for the event loop to log */
    time_t                    now;
    ngx_uint_t                removed;
    ngx_uint_t                errors;
    ngx_err_t                 err;
    u_char                   *report;       /* "path\0" "mtime\0" ... */
    size_t                    report_len;
    u_char                    error[NGX_MAX_PATH + 64];
} ngx_stream_dualcam_sweeper_t;


ngx_int_t ngx_stream_dualcam_sweeper_init(ngx_conf_t *cf,
    ngx_stream_dualcam_sweeper_t *sw);
/* a temp path to sweep (each once, with its shortest timeout) */
ngx_int_t ngx_stream_dualcam_sweeper_add(ngx_stream_dualcam_sweeper_t *sw,
    ngx_path_t *path, time_t timeout);
/* a directory in a temp path that is not swept (an event spool) */
ngx_int_t ngx_stream_dualcam_sweeper_skip(ngx_stream_dualcam_sweeper_t *sw,
    ngx_str_t *dir);
/* in the first worker */
ngx_int_t ngx_stream_dualcam_sweeper_start(ngx_cycle_t *cycle,
    ngx_stream_dualcam_sweeper_t *sw);


#endif /* _NGX_STREAM_DUALCAM_SWEEP_H_INCLUDED_ */
