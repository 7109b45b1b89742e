
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The sweeper (see ngx_stream_dualcam_sweep.h).  The walk makes system
 * calls only and records what it did in the sweeper; the timer's side,
 * in the event loop, logs it.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <sys/file.h>

#include "ngx_stream_dualcam_sweep.h"


typedef struct {
    ngx_stream_dualcam_sweeper_t  *sweeper;
} ngx_stream_dualcam_sweep_ctx_t;


static void ngx_stream_dualcam_sweep_timer(ngx_event_t *ev);
static void ngx_stream_dualcam_sweep_walk(ngx_stream_dualcam_sweeper_t *sw);
static void ngx_stream_dualcam_sweep_report(ngx_stream_dualcam_sweeper_t *sw,
    ngx_log_t *log);
#if (NGX_THREADS)
static void ngx_stream_dualcam_sweep_thread(void *data, ngx_log_t *log);
static void ngx_stream_dualcam_sweep_done(ngx_event_t *ev);
#endif
static void ngx_stream_dualcam_sweep_dir(ngx_stream_dualcam_sweeper_t *sw,
    u_char *dir, size_t len, ngx_uint_t depth, time_t timeout);
static void ngx_stream_dualcam_sweep_file(ngx_stream_dualcam_sweeper_t *sw,
    u_char *path, size_t len, time_t mtime);
static ngx_uint_t ngx_stream_dualcam_sweep_skipped(
    ngx_stream_dualcam_sweeper_t *sw, u_char *path, size_t len);
static void ngx_stream_dualcam_sweep_error(ngx_stream_dualcam_sweeper_t *sw,
    ngx_err_t err, const char *op, u_char *path);


ngx_int_t
ngx_stream_dualcam_sweeper_init(ngx_conf_t *cf,
    ngx_stream_dualcam_sweeper_t *sw)
{
    if (ngx_array_init(&sw->skip, cf->pool, 1, sizeof(ngx_str_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_array_init(&sw->paths, cf->pool, 2,
                          sizeof(ngx_stream_dualcam_sweep_t));
}


ngx_int_t
ngx_stream_dualcam_sweeper_skip(ngx_stream_dualcam_sweeper_t *sw,
    ngx_str_t *dir)
{
    ngx_str_t  *s;

    s = ngx_array_push(&sw->skip);
    if (s == NULL) {
        return NGX_ERROR;
    }

    *s = *dir;

    return NGX_OK;
}


ngx_int_t
ngx_stream_dualcam_sweeper_add(ngx_stream_dualcam_sweeper_t *sw,
    ngx_path_t *path, time_t timeout)
{
    ngx_uint_t                   i;
    ngx_stream_dualcam_sweep_t  *sp;

    sp = sw->paths.elts;

    for (i = 0; i < sw->paths.nelts; i++) {
        if (sp[i].path->name.len == path->name.len
            && ngx_strncmp(sp[i].path->name.data, path->name.data,
                           path->name.len)
               == 0)
        {
            sp[i].timeout = ngx_min(sp[i].timeout, timeout);
            return NGX_OK;
        }
    }

    sp = ngx_array_push(&sw->paths);
    if (sp == NULL) {
        return NGX_ERROR;
    }

    sp->path = path;
    sp->timeout = timeout;

    return NGX_OK;
}


ngx_int_t
ngx_stream_dualcam_sweeper_start(ngx_cycle_t *cycle,
    ngx_stream_dualcam_sweeper_t *sw)
{
    time_t                           t;
    ngx_uint_t                       i;
    ngx_stream_dualcam_sweep_t      *sp;
#if (NGX_THREADS)
    ngx_stream_dualcam_sweep_ctx_t  *ctx;
#endif

    if (sw->paths.nelts == 0) {
        return NGX_OK;
    }

    sw->report = ngx_pnalloc(cycle->pool, NGX_STREAM_DUALCAM_SWEEP_REPORT);
    if (sw->report == NULL) {
        return NGX_ERROR;
    }

#if (NGX_THREADS)

    if (sw->pool) {
        sw->task = ngx_thread_task_alloc(cycle->pool,
                                      sizeof(ngx_stream_dualcam_sweep_ctx_t));
        if (sw->task == NULL) {
            return NGX_ERROR;
        }

        ctx = sw->task->ctx;
        ctx->sweeper = sw;

        sw->task->handler = ngx_stream_dualcam_sweep_thread;
        sw->task->event.handler = ngx_stream_dualcam_sweep_done;
        sw->task->event.data = sw;
        sw->task->event.log = cycle->log;
    }

#endif

    /* twice per shortest timeout, at most once a minute */

    sp = sw->paths.elts;
    t = 120;

    for (i = 0; i < sw->paths.nelts; i++) {
        t = ngx_min(t, sp[i].timeout);
    }

    sw->interval = (ngx_msec_t) ngx_max(t, 2) * 500;

    sw->timer.handler = ngx_stream_dualcam_sweep_timer;
    sw->timer.data = sw;
    sw->timer.log = cycle->log;
    sw->timer.cancelable = 1;

    ngx_add_timer(&sw->timer, sw->interval);

    return NGX_OK;
}


static void
ngx_stream_dualcam_sweep_timer(ngx_event_t *ev)
{
    ngx_stream_dualcam_sweeper_t  *sw;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    sw = ev->data;

    sw->now = ngx_time();
    sw->removed = 0;
    sw->errors = 0;
    sw->report_len = 0;

#if (NGX_THREADS)

    if (sw->task) {
        if (ngx_thread_task_post(sw->pool, sw->task) == NGX_OK) {
            return;
        }

        /* the pool's queue is full: nginx said so; try again later */

        ngx_add_timer(&sw->timer, sw->interval);
        return;
    }

#endif

    ngx_stream_dualcam_sweep_walk(sw);
    ngx_stream_dualcam_sweep_report(sw, ev->log);

    ngx_add_timer(&sw->timer, sw->interval);
}


#if (NGX_THREADS)

static void
ngx_stream_dualcam_sweep_thread(void *data, ngx_log_t *log)
{
    ngx_stream_dualcam_sweep_ctx_t  *ctx = data;

    ngx_stream_dualcam_sweep_walk(ctx->sweeper);
}


static void
ngx_stream_dualcam_sweep_done(ngx_event_t *ev)
{
    ngx_stream_dualcam_sweeper_t  *sw;

    sw = ev->data;

    ngx_stream_dualcam_sweep_report(sw, ev->log);

    if (!(ngx_exiting || ngx_quit || ngx_terminate)) {
        ngx_add_timer(&sw->timer, sw->interval);
    }
}

#endif


static void
ngx_stream_dualcam_sweep_walk(ngx_stream_dualcam_sweeper_t *sw)
{
    ngx_uint_t                   i;
    ngx_stream_dualcam_sweep_t  *sp;

    sp = sw->paths.elts;

    for (i = 0; i < sw->paths.nelts; i++) {
        ngx_stream_dualcam_sweep_dir(sw, sp[i].path->name.data,
                                     sp[i].path->name.len, 0,
                                     sp[i].timeout);
    }
}


static void
ngx_stream_dualcam_sweep_report(ngx_stream_dualcam_sweeper_t *sw,
    ngx_log_t *log)
{
    u_char      *p, *last, *mtime;
    time_t       t;
    ngx_uint_t   n;

    p = sw->report;
    last = sw->report + sw->report_len;
    n = 0;

    while (p < last) {
        mtime = p + ngx_strlen(p) + 1;
        t = ngx_atotm(mtime, ngx_strlen(mtime));

        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "dualcam: removing \"%s\", unused for %T s",
                      p, sw->now - t);

        p = mtime + ngx_strlen(mtime) + 1;
        n++;
    }

    if (sw->removed > n) {
        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "dualcam: removed %ui more unused files",
                      sw->removed - n);
    }

    if (sw->errors) {
        ngx_log_error(NGX_LOG_CRIT, log, sw->err, "%s%s", sw->error,
                      sw->errors > 1 ? " (and more errors in this sweep)"
                                     : "");
    }
}


/*
 * Not ngx_walk_tree(): a file may vanish between readdir() and stat()
 * (the sweeper removes a state record with its partial, a session commits
 * or aborts meanwhile), and that is no error here.
 */

static void
ngx_stream_dualcam_sweep_dir(ngx_stream_dualcam_sweeper_t *sw, u_char *dir,
    size_t len, ngx_uint_t depth, time_t timeout)
{
    size_t           n;
    u_char          *name;
    ngx_str_t        str;
    ngx_dir_t        d;
    ngx_err_t        err;
    ngx_file_info_t  fi;
    u_char           path[NGX_MAX_PATH];

    if (len >= NGX_MAX_PATH - 2) {
        return;
    }

    ngx_memcpy(path, dir, len);
    path[len] = '\0';

    str.data = path;
    str.len = len;

    if (ngx_open_dir(&str, &d) == NGX_ERROR) {
        err = ngx_errno;

        if (err != NGX_ENOENT) {
            ngx_stream_dualcam_sweep_error(sw, err, ngx_open_dir_n, path);
        }

        return;
    }

    path[len] = '/';

    for ( ;; ) {
        ngx_set_errno(0);

        if (ngx_read_dir(&d) == NGX_ERROR) {
            err = ngx_errno;

            if (err != NGX_ENOMOREFILES) {
                path[len] = '\0';
                ngx_stream_dualcam_sweep_error(sw, err, ngx_read_dir_n, path);
            }

            break;
        }

        name = ngx_de_name(&d);
        n = ngx_de_namelen(&d);

        if (name[0] == '.' && (n == 1 || (n == 2 && name[1] == '.'))) {
            continue;
        }

        if (len + 1 + n >= NGX_MAX_PATH - sizeof(".state")) {
            continue;
        }

        ngx_memcpy(path + len + 1, name, n);
        path[len + 1 + n] = '\0';

        /*
         * lstat(): a symbolic link an administrator left in the temp
         * path is neither a directory nor a file here, so the sweeper
         * never walks or deletes anything outside it
         */

        if (ngx_link_info(path, &fi) == NGX_FILE_ERROR) {
            continue;
        }

        if (ngx_is_dir(&fi)) {
            if (depth < NGX_MAX_PATH_LEVEL
                && !ngx_stream_dualcam_sweep_skipped(sw, path, len + 1 + n))
            {
                ngx_stream_dualcam_sweep_dir(sw, path, len + 1 + n,
                                             depth + 1, timeout);
            }

            continue;
        }

        if (ngx_is_file(&fi) && ngx_file_mtime(&fi) + timeout <= sw->now) {
            ngx_stream_dualcam_sweep_file(sw, path, len + 1 + n,
                                          ngx_file_mtime(&fi));
        }
    }

    ngx_close_dir(&d);
}


/* path is NUL-terminated in a buffer of NGX_MAX_PATH */

static void
ngx_stream_dualcam_sweep_file(ngx_stream_dualcam_sweeper_t *sw, u_char *path,
    size_t len, time_t mtime)
{
    size_t           n;
    u_char          *p;
    ngx_fd_t         fd;
    ngx_err_t        err;
    ngx_file_info_t  fi;
    u_char           other[NGX_MAX_PATH];

    n = sizeof(".state") - 1;

    if (len > n && ngx_strcmp(path + len - n, ".state") == 0) {

        /* a state record goes with its partial */

        ngx_memcpy(other, path, len - n);
        other[len - n] = '\0';

        if (ngx_file_info(other, &fi) == NGX_FILE_ERROR
            && ngx_errno == NGX_ENOENT)
        {
            (void) ngx_delete_file(path);
        }

        return;
    }

    fd = ngx_open_file(path, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        return;
    }

    if (flock(fd, LOCK_EX|LOCK_NB) == -1) {
        /* a connection writes it */
        ngx_close_file(fd);
        return;
    }

    if (ngx_delete_file(path) == NGX_FILE_ERROR) {
        err = ngx_errno;

        if (err != NGX_ENOENT) {
            ngx_stream_dualcam_sweep_error(sw, err, ngx_delete_file_n, path);
        }

    } else {
        sw->removed++;

        if (sw->report_len + len + 1 + NGX_TIME_T_LEN + 1
            <= NGX_STREAM_DUALCAM_SWEEP_REPORT)
        {
            p = ngx_cpymem(sw->report + sw->report_len, path, len + 1);
            p = ngx_sprintf(p, "%T%Z", mtime);
            sw->report_len = p - sw->report;
        }
    }

    ngx_memcpy(ngx_cpymem(other, path, len), ".state", sizeof(".state"));
    (void) ngx_delete_file(other);

    ngx_close_file(fd);
}


static void
ngx_stream_dualcam_sweep_error(ngx_stream_dualcam_sweeper_t *sw,
    ngx_err_t err, const char *op, u_char *path)
{
    if (sw->errors++ == 0) {
        sw->err = err;
        ngx_sprintf(sw->error, "%s \"%s\" failed%Z", op, path);
    }
}


/* an event spool inside a temp path holds events, not partials */

static ngx_uint_t
ngx_stream_dualcam_sweep_skipped(ngx_stream_dualcam_sweeper_t *sw,
    u_char *path, size_t len)
{
    ngx_uint_t   i;
    ngx_str_t   *s;

    s = sw->skip.elts;

    for (i = 0; i < sw->skip.nelts; i++) {
        if (s[i].len == len && ngx_strncmp(s[i].data, path, len) == 0) {
            return 1;
        }
    }

    return 0;
}
