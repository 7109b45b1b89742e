
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The commit of finished files (see ngx_stream_dualcam_commit.h): the
 * committer that gathers them into batches, the runner that takes a
 * batch through the stage list, and the store's own stages.
 *
 * Why batches: a durable small file costs a journal commit per fsync,
 * and a photo is a data file, a sidecar and two directory entries.  The
 * stages of a batch start the writeback of all its files before the
 * first fsync waits (sync_file_range()), so the files that land
 * together share the journal commits, and each directory is fsynced
 * once per batch.  Up to NGX_STREAM_DUALCAM_BATCHES batches of a
 * committer are in flight at a time, each in a thread of its own, so
 * that their fsyncs also wait together; the commits that arrive
 * meanwhile form the next ones.  A commit whose partial (same IMEI and
 * file) is being committed in flight waits for that batch: the second
 * copy of a file then finds the record of the first.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <openssl/evp.h>

#include "ngx_stream_dualcam_commit.h"
#include "ngx_stream_dualcam_mp4.h"


#define NGX_STREAM_DUALCAM_SUFFIXES   10000
#define NGX_STREAM_DUALCAM_BASE_LEN   64
#define NGX_STREAM_DUALCAM_KEEPALIVE  60000


typedef struct {
    ngx_stream_dualcam_batch_t      *batch;
} ngx_stream_dualcam_task_ctx_t;


static void ngx_stream_dualcam_commit_start(ngx_event_t *ev);
static ngx_uint_t ngx_stream_dualcam_commit_gather(
    ngx_stream_dualcam_committer_t *cr, ngx_stream_dualcam_batch_t *b);
static ngx_uint_t ngx_stream_dualcam_commit_in_flight(
    ngx_stream_dualcam_committer_t *cr, ngx_stream_dualcam_commit_t *cm);
static void ngx_stream_dualcam_commit_run(ngx_queue_t *batch);
static void ngx_stream_dualcam_commit_undo(ngx_stream_dualcam_commit_t *cm,
    ngx_uint_t stage);
static void ngx_stream_dualcam_commit_sync_files(ngx_queue_t *batch,
    ngx_uint_t stage);
static void ngx_stream_dualcam_commit_sync_dirs(ngx_queue_t *batch,
    ngx_uint_t stage);
static void ngx_stream_dualcam_commit_finish(
    ngx_stream_dualcam_batch_t *b);
static void ngx_stream_dualcam_commit_keepalive(ngx_event_t *ev);
#if (NGX_THREADS)
static void ngx_stream_dualcam_commit_thread(void *data, ngx_log_t *log);
static void ngx_stream_dualcam_commit_thread_done(ngx_event_t *ev);
#endif

static ngx_int_t ngx_stream_dualcam_flush_prepare(
    ngx_stream_dualcam_commit_t *cm, ngx_pool_t *pool);
static ngx_int_t ngx_stream_dualcam_flush_run(
    ngx_stream_dualcam_commit_t *cm);
static ngx_int_t ngx_stream_dualcam_hash_run(ngx_stream_dualcam_commit_t *cm);
static ngx_int_t ngx_stream_dualcam_duplicate_prepare(
    ngx_stream_dualcam_commit_t *cm, ngx_pool_t *pool);
static ngx_int_t ngx_stream_dualcam_duplicate_run(
    ngx_stream_dualcam_commit_t *cm);
static ngx_uint_t ngx_stream_dualcam_same_bytes(
    ngx_stream_dualcam_commit_t *cm, ngx_fd_t fd);
static ngx_int_t ngx_stream_dualcam_link_prepare(
    ngx_stream_dualcam_commit_t *cm, ngx_pool_t *pool);
static ngx_int_t ngx_stream_dualcam_link_run(ngx_stream_dualcam_commit_t *cm);
static void ngx_stream_dualcam_link_undo(ngx_stream_dualcam_commit_t *cm);
static u_char *ngx_stream_dualcam_base_name(u_char *p,
    ngx_stream_dualcam_commit_t *cm);
static ngx_int_t ngx_stream_dualcam_sidecar_prepare(
    ngx_stream_dualcam_commit_t *cm, ngx_pool_t *pool);
static ngx_int_t ngx_stream_dualcam_sidecar_run(
    ngx_stream_dualcam_commit_t *cm);
static void ngx_stream_dualcam_sidecar_undo(ngx_stream_dualcam_commit_t *cm);
static ngx_int_t ngx_stream_dualcam_publish_run(
    ngx_stream_dualcam_commit_t *cm);
static void ngx_stream_dualcam_publish_undo(ngx_stream_dualcam_commit_t *cm);
static ngx_int_t ngx_stream_dualcam_forget_run(
    ngx_stream_dualcam_commit_t *cm);
static void ngx_stream_dualcam_forget_report(ngx_stream_dualcam_commit_t *cm);


/*
 * The stage list.  The next features add their stages here: a remuxer
 * before the first barrier (its file is then synced and linked with
 * the raw one), an outbox after the sidecar (its event is synced with
 * the sidecar and published before the directories are synced).
 */

static ngx_stream_dualcam_stage_t  ngx_stream_dualcam_stages[] = {

    { "flush", NGX_STREAM_DUALCAM_STAGE, 1,
      ngx_stream_dualcam_flush_prepare, ngx_stream_dualcam_flush_run,
      NULL, NULL },

    { "hash", NGX_STREAM_DUALCAM_STAGE, 1,
      NULL, ngx_stream_dualcam_hash_run, NULL, NULL },

    { "duplicate", NGX_STREAM_DUALCAM_STAGE, 1,
      ngx_stream_dualcam_duplicate_prepare,
      ngx_stream_dualcam_duplicate_run, NULL, NULL },

    { "mp4", NGX_STREAM_DUALCAM_STAGE, 0,
      ngx_stream_dualcam_mp4_prepare, ngx_stream_dualcam_mp4_run,
      ngx_stream_dualcam_mp4_undo, ngx_stream_dualcam_mp4_report },

    { "sync files", NGX_STREAM_DUALCAM_SYNC_FILES, 0,
      NULL, NULL, NULL, NULL },

    { "link", NGX_STREAM_DUALCAM_STAGE, 0,
      ngx_stream_dualcam_link_prepare, ngx_stream_dualcam_link_run,
      ngx_stream_dualcam_link_undo, NULL },

    { "mp4 link", NGX_STREAM_DUALCAM_STAGE, 0,
      NULL, ngx_stream_dualcam_mp4_link_run, NULL, NULL },

    { "sidecar", NGX_STREAM_DUALCAM_STAGE, 0,
      ngx_stream_dualcam_sidecar_prepare, ngx_stream_dualcam_sidecar_run,
      ngx_stream_dualcam_sidecar_undo, NULL },

    { "notify", NGX_STREAM_DUALCAM_STAGE, 0,
      ngx_stream_dualcam_notify_prepare, ngx_stream_dualcam_notify_run,
      ngx_stream_dualcam_notify_undo, NULL },

    { "sync sidecars", NGX_STREAM_DUALCAM_SYNC_FILES, 0,
      NULL, NULL, NULL, NULL },

    { "publish", NGX_STREAM_DUALCAM_STAGE, 0,
      NULL, ngx_stream_dualcam_publish_run,
      ngx_stream_dualcam_publish_undo, NULL },

    { "notify publish", NGX_STREAM_DUALCAM_STAGE, 0,
      NULL, ngx_stream_dualcam_notify_publish_run,
      ngx_stream_dualcam_notify_publish_undo,
      ngx_stream_dualcam_notify_report },

    { "sync directories", NGX_STREAM_DUALCAM_SYNC_DIRECTORIES, 0,
      NULL, NULL, NULL, NULL },

    { "forget", NGX_STREAM_DUALCAM_STAGE, 1,
      NULL, ngx_stream_dualcam_forget_run, NULL,
      ngx_stream_dualcam_forget_report }
};


#define NGX_STREAM_DUALCAM_NSTAGES                                          \
    (sizeof(ngx_stream_dualcam_stages) / sizeof(ngx_stream_dualcam_stage_t))


ngx_stream_dualcam_committer_t *
ngx_stream_dualcam_committer(ngx_conf_t *cf, ngx_array_t *committers,
    void *pool)
{
    ngx_uint_t                        i;
    ngx_stream_dualcam_committer_t  **crp, *cr;
#if (NGX_THREADS)
    ngx_thread_task_t                *task;
    ngx_stream_dualcam_task_ctx_t    *tc;
#endif

    crp = committers->elts;

    for (i = 0; i < committers->nelts; i++) {
#if (NGX_THREADS)
        if ((void *) crp[i]->pool == pool) {
            return crp[i];
        }
#else
        return crp[i];
#endif
    }

    cr = ngx_pcalloc(cf->pool, sizeof(ngx_stream_dualcam_committer_t));
    if (cr == NULL) {
        return NULL;
    }

    ngx_queue_init(&cr->waiting);

    for (i = 0; i < NGX_STREAM_DUALCAM_BATCHES; i++) {
        ngx_queue_init(&cr->batches[i].commits);
        cr->batches[i].committer = cr;
    }

    cr->start.handler = ngx_stream_dualcam_commit_start;
    cr->start.data = cr;

    /* not cancelable: an exiting worker waits for the batch in flight */
    cr->keepalive.handler = ngx_stream_dualcam_commit_keepalive;
    cr->keepalive.data = cr;

#if (NGX_THREADS)

    cr->pool = pool;

    for (i = 0; pool && i < NGX_STREAM_DUALCAM_BATCHES; i++) {
        task = ngx_thread_task_alloc(cf->pool,
                                     sizeof(ngx_stream_dualcam_task_ctx_t));
        if (task == NULL) {
            return NULL;
        }

        tc = task->ctx;
        tc->batch = &cr->batches[i];

        task->handler = ngx_stream_dualcam_commit_thread;
        task->event.handler = ngx_stream_dualcam_commit_thread_done;
        task->event.data = &cr->batches[i];

        cr->batches[i].task = task;
    }

#endif

    crp = ngx_array_push(committers);
    if (crp == NULL) {
        return NULL;
    }

    *crp = cr;

    return cr;
}


ngx_int_t
ngx_stream_dualcam_commit(ngx_stream_dualcam_committer_t *cr,
    ngx_stream_dualcam_commit_t *cm, ngx_pool_t *pool)
{
    ngx_uint_t                   i;
    ngx_stream_dualcam_stage_t  *st;

    cm->committer = cr;
    cm->rc = NGX_OK;
    cm->sidecar_fd = NGX_INVALID_FILE;

    for (i = 0; i < NGX_STREAM_DUALCAM_NSTAGES; i++) {
        st = &ngx_stream_dualcam_stages[i];

        if (st->prepare && st->prepare(cm, pool) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    ngx_queue_insert_tail(&cr->waiting, &cm->queue);
    cm->posted = 1;

    if (cr->start.log == NULL) {
        cr->start.log = ngx_cycle->log;
        cr->keepalive.log = ngx_cycle->log;
#if (NGX_THREADS)
        for (i = 0; i < NGX_STREAM_DUALCAM_BATCHES; i++) {
            if (cr->batches[i].task) {
                cr->batches[i].task->event.log = ngx_cycle->log;
            }
        }
#endif
    }

    /* the commits of this turn of the event loop go together */

    if (!cr->start.posted) {
        ngx_post_event(&cr->start, &ngx_posted_events);
    }

    return NGX_OK;
}


static void
ngx_stream_dualcam_commit_start(ngx_event_t *ev)
{
    ngx_uint_t                       i, n;
    ngx_stream_dualcam_batch_t      *b;
    ngx_stream_dualcam_committer_t  *cr;
#if (NGX_THREADS)
    ngx_queue_t                     *q;
    ngx_stream_dualcam_commit_t     *cm;
#endif

    cr = ev->data;

    for (i = 0; i < NGX_STREAM_DUALCAM_BATCHES; i++) {

        if (ngx_queue_empty(&cr->waiting)) {
            return;
        }

        b = &cr->batches[i];

        if (b->running) {
            continue;
        }

        n = ngx_stream_dualcam_commit_gather(cr, b);

        if (n == 0) {
            /* what waits, waits for a batch in flight */
            return;
        }

        b->running = 1;
        cr->running++;

        ngx_log_debug2(NGX_LOG_DEBUG_STREAM, ev->log, 0,
                       "dualcam commit: a batch of %ui, %ui in flight",
                       n, cr->running);

#if (NGX_THREADS)

        if (cr->pool) {

            if (ngx_thread_task_post(cr->pool, b->task) == NGX_OK) {
                if (!cr->keepalive.timer_set) {
                    ngx_add_timer(&cr->keepalive,
                                  NGX_STREAM_DUALCAM_KEEPALIVE);
                }

                continue;
            }

            /* the pool's queue is full (logged by nginx): the batch fails */

            for (q = ngx_queue_head(&b->commits);
                 q != ngx_queue_sentinel(&b->commits);
                 q = ngx_queue_next(q))
            {
                cm = ngx_queue_data(q, ngx_stream_dualcam_commit_t, queue);
                (void) ngx_stream_dualcam_commit_fail(cm, NGX_LOG_ALERT, 0,
                                          "cannot post a dualcam commit task");
            }

            ngx_stream_dualcam_commit_finish(b);
            return;
        }

#endif

        /* in the event loop: one batch at a time, to its end */

        ngx_stream_dualcam_commit_run(&b->commits);
        ngx_stream_dualcam_commit_finish(b);
        return;
    }
}


/* up to a batch of the waiting commits, in order, but for those whose
   partial is in a batch in flight */

static ngx_uint_t
ngx_stream_dualcam_commit_gather(ngx_stream_dualcam_committer_t *cr,
    ngx_stream_dualcam_batch_t *b)
{
    ngx_uint_t                    n;
    ngx_queue_t                  *q, *next;
    ngx_stream_dualcam_commit_t  *cm;

    n = 0;

    for (q = ngx_queue_head(&cr->waiting);
         q != ngx_queue_sentinel(&cr->waiting)
         && n < NGX_STREAM_DUALCAM_BATCH;
         q = next)
    {
        next = ngx_queue_next(q);
        cm = ngx_queue_data(q, ngx_stream_dualcam_commit_t, queue);

        if (ngx_stream_dualcam_commit_in_flight(cr, cm)) {
            continue;
        }

        ngx_queue_remove(q);
        ngx_queue_insert_tail(&b->commits, q);
        cm->batch = b;
        n++;
    }

    return n;
}


static ngx_uint_t
ngx_stream_dualcam_commit_in_flight(ngx_stream_dualcam_committer_t *cr,
    ngx_stream_dualcam_commit_t *cm)
{
    ngx_uint_t                    i;
    ngx_queue_t                  *q;
    ngx_stream_dualcam_batch_t   *b;
    ngx_stream_dualcam_commit_t  *other;

    for (i = 0; i < NGX_STREAM_DUALCAM_BATCHES; i++) {
        b = &cr->batches[i];

        if (!b->running) {
            continue;
        }

        for (q = ngx_queue_head(&b->commits);
             q != ngx_queue_sentinel(&b->commits);
             q = ngx_queue_next(q))
        {
            other = ngx_queue_data(q, ngx_stream_dualcam_commit_t, queue);

            if (other->part->key_len == cm->part->key_len
                && ngx_memcmp(other->part->key, cm->part->key,
                              cm->part->key_len)
                   == 0)
            {
                return 1;
            }
        }
    }

    return 0;
}


#if (NGX_THREADS)

static void
ngx_stream_dualcam_commit_thread(void *data, ngx_log_t *log)
{
    ngx_stream_dualcam_task_ctx_t  *tc = data;

    ngx_stream_dualcam_commit_run(&tc->batch->commits);
}


static void
ngx_stream_dualcam_commit_thread_done(ngx_event_t *ev)
{
    ngx_stream_dualcam_commit_finish(ev->data);
}

#endif


/* stage by stage over the batch: what one stage does, all do at once */

static void
ngx_stream_dualcam_commit_run(ngx_queue_t *batch)
{
    ngx_uint_t                    i;
    ngx_queue_t                  *q;
    ngx_stream_dualcam_stage_t   *st;
    ngx_stream_dualcam_commit_t  *cm;

    for (i = 0; i < NGX_STREAM_DUALCAM_NSTAGES; i++) {
        st = &ngx_stream_dualcam_stages[i];

        if (st->type == NGX_STREAM_DUALCAM_SYNC_FILES) {
            ngx_stream_dualcam_commit_sync_files(batch, i);
            continue;
        }

        if (st->type == NGX_STREAM_DUALCAM_SYNC_DIRECTORIES) {
            ngx_stream_dualcam_commit_sync_dirs(batch, i);
            continue;
        }

        for (q = ngx_queue_head(batch);
             q != ngx_queue_sentinel(batch);
             q = ngx_queue_next(q))
        {
            cm = ngx_queue_data(q, ngx_stream_dualcam_commit_t, queue);

            if (cm->rc != NGX_OK || (cm->duplicate && !st->duplicate)) {
                continue;
            }

            if (st->run(cm) != NGX_OK) {
                cm->stage = i;
                ngx_stream_dualcam_commit_undo(cm, i);
            }
        }
    }
}


static void
ngx_stream_dualcam_commit_undo(ngx_stream_dualcam_commit_t *cm,
    ngx_uint_t stage)
{
    ngx_uint_t  i;

    /* the failed stage too: an undo takes back only what was done */

    for (i = stage + 1; i > 0; i--) {
        if (ngx_stream_dualcam_stages[i - 1].undo) {
            ngx_stream_dualcam_stages[i - 1].undo(cm);
        }
    }

    if (cm->sidecar_fd != NGX_INVALID_FILE) {
        (void) ngx_close_file(cm->sidecar_fd);
        cm->sidecar_fd = NGX_INVALID_FILE;
    }
}


/*
 * Writeback of every file of the batch first, then the fsyncs: the
 * first fsync's journal commit then carries the allocations of the
 * others, which find little left to do.
 */

static void
ngx_stream_dualcam_commit_sync_files(ngx_queue_t *batch, ngx_uint_t stage)
{
    ngx_uint_t                    i;
    ngx_queue_t                  *q;
    ngx_stream_dualcam_commit_t  *cm;

#if (NGX_LINUX) && defined(SYNC_FILE_RANGE_WRITE)

    for (q = ngx_queue_head(batch);
         q != ngx_queue_sentinel(batch);
         q = ngx_queue_next(q))
    {
        cm = ngx_queue_data(q, ngx_stream_dualcam_commit_t, queue);

        if (cm->rc != NGX_OK || cm->duplicate || !cm->conf->fsync) {
            continue;
        }

        for (i = 0; i < cm->nfds; i++) {
            (void) sync_file_range(cm->fds[i], 0, 0, SYNC_FILE_RANGE_WRITE);
        }
    }

#endif

    for (q = ngx_queue_head(batch);
         q != ngx_queue_sentinel(batch);
         q = ngx_queue_next(q))
    {
        cm = ngx_queue_data(q, ngx_stream_dualcam_commit_t, queue);

        if (cm->rc == NGX_OK && !cm->duplicate && cm->conf->fsync) {

            for (i = 0; i < cm->nfds; i++) {
                if (fsync(cm->fds[i]) == -1) {
                    (void) ngx_stream_dualcam_commit_fail(cm, NGX_LOG_CRIT,
                                     ngx_errno, "fsync() \"%s\" failed",
                                     cm->fd_names[i]);
                    cm->stage = stage;
                    ngx_stream_dualcam_commit_undo(cm, stage);
                    break;
                }
            }
        }

        cm->nfds = 0;
    }
}


/* each directory once for the batch */

static void
ngx_stream_dualcam_commit_sync_dirs(ngx_queue_t *batch, ngx_uint_t stage)
{
    u_char                       *dir;
    ngx_fd_t                      fd;
    ngx_err_t                     err;
    ngx_uint_t                    i, j, seen;
    ngx_queue_t                  *q, *p;
    ngx_stream_dualcam_commit_t  *cm, *other;

    for (q = ngx_queue_head(batch);
         q != ngx_queue_sentinel(batch);
         q = ngx_queue_next(q))
    {
        cm = ngx_queue_data(q, ngx_stream_dualcam_commit_t, queue);

        for (i = 0; cm->rc == NGX_OK && cm->conf->fsync && i < cm->ndirs;
             i++)
        {
            dir = cm->dirs[i];

            /* synced already for a commit before this one? */

            seen = 0;

            for (p = ngx_queue_head(batch); p != q && !seen;
                 p = ngx_queue_next(p))
            {
                other = ngx_queue_data(p, ngx_stream_dualcam_commit_t,
                                       queue);

                for (j = 0; j < other->ndirs; j++) {
                    if (ngx_strcmp(other->dirs[j], dir) == 0) {
                        seen = 1;
                        break;
                    }
                }
            }

            if (seen) {
                continue;
            }

            err = 0;
            fd = ngx_open_file(dir, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

            if (fd == NGX_INVALID_FILE) {
                err = ngx_errno;

            } else {
                if (fsync(fd) == -1) {
                    err = ngx_errno;
                }

                (void) ngx_close_file(fd);
            }

            if (err == 0) {
                continue;
            }

            /* every commit that needs this directory fails */

            for (p = q; p != ngx_queue_sentinel(batch);
                 p = ngx_queue_next(p))
            {
                other = ngx_queue_data(p, ngx_stream_dualcam_commit_t,
                                       queue);

                for (j = 0; other->rc == NGX_OK && j < other->ndirs; j++) {
                    if (ngx_strcmp(other->dirs[j], dir) == 0) {
                        (void) ngx_stream_dualcam_commit_fail(other,
                                     NGX_LOG_CRIT, err,
                                     "fsync() \"%s\" failed", dir);
                        other->stage = stage;
                        ngx_stream_dualcam_commit_undo(other, stage);
                    }
                }
            }
        }
    }

    /* the list is kept until all are done: it is what "seen" looks at */

    for (q = ngx_queue_head(batch);
         q != ngx_queue_sentinel(batch);
         q = ngx_queue_next(q))
    {
        cm = ngx_queue_data(q, ngx_stream_dualcam_commit_t, queue);
        cm->ndirs = 0;
    }
}


/* in the event loop: log what the batch found, hand each commit back */

static void
ngx_stream_dualcam_commit_finish(ngx_stream_dualcam_batch_t *b)
{
    ngx_uint_t                       i;
    ngx_queue_t                      done, *q;
    ngx_stream_dualcam_stage_t      *st;
    ngx_stream_dualcam_commit_t     *cm;
    ngx_stream_dualcam_committer_t  *cr;

    cr = b->committer;

    ngx_queue_init(&done);

    if (!ngx_queue_empty(&b->commits)) {
        ngx_queue_add(&done, &b->commits);
        ngx_queue_init(&b->commits);
    }

    b->running = 0;
    cr->running--;

    if (cr->running == 0 && cr->keepalive.timer_set) {
        ngx_del_timer(&cr->keepalive);
    }

    while (!ngx_queue_empty(&done)) {
        q = ngx_queue_head(&done);
        ngx_queue_remove(q);

        cm = ngx_queue_data(q, ngx_stream_dualcam_commit_t, queue);
        cm->posted = 0;

        for (i = 0; i < NGX_STREAM_DUALCAM_NSTAGES; i++) {
            st = &ngx_stream_dualcam_stages[i];

            if (st->report && (cm->rc == NGX_OK || i < cm->stage)) {
                st->report(cm);
            }
        }

        if (cm->rc != NGX_OK) {
            ngx_log_error(cm->level, cm->log, cm->err, "%s", cm->msg);
        }

        /* may end the session and free cm */
        cm->done(cm);
    }

    if (!ngx_queue_empty(&cr->waiting) && !cr->start.posted) {
        ngx_post_event(&cr->start, &ngx_posted_events);
    }
}


static void
ngx_stream_dualcam_commit_keepalive(ngx_event_t *ev)
{
    ngx_add_timer(ev, NGX_STREAM_DUALCAM_KEEPALIVE);
}


ngx_int_t
ngx_stream_dualcam_commit_fail(ngx_stream_dualcam_commit_t *cm,
    ngx_uint_t level, ngx_err_t err, const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf(cm->msg, cm->msg + sizeof(cm->msg) - 1, fmt, args);
    va_end(args);

    *p = '\0';

    cm->rc = NGX_ERROR;
    cm->level = level;
    cm->err = err;

    return NGX_ERROR;
}


ngx_int_t
ngx_stream_dualcam_commit_sync_fd(ngx_stream_dualcam_commit_t *cm,
    ngx_fd_t fd, u_char *name)
{
    if (cm->nfds == NGX_STREAM_DUALCAM_SYNC_FDS) {
        return ngx_stream_dualcam_commit_fail(cm, NGX_LOG_ALERT, 0,
                                    "too many files to sync for \"%s\"",
                                    name);
    }

    cm->fds[cm->nfds] = fd;
    cm->fd_names[cm->nfds++] = name;

    return NGX_OK;
}


ngx_int_t
ngx_stream_dualcam_commit_sync_dir(ngx_stream_dualcam_commit_t *cm,
    u_char *dir)
{
    if (cm->ndirs == NGX_STREAM_DUALCAM_SYNC_DIRS) {
        return ngx_stream_dualcam_commit_fail(cm, NGX_LOG_ALERT, 0,
                                    "too many directories to sync for "
                                    "\"%s\"", dir);
    }

    cm->dirs[cm->ndirs++] = dir;

    return NGX_OK;
}


/* the stages of the store */

static ngx_int_t
ngx_stream_dualcam_flush_prepare(ngx_stream_dualcam_commit_t *cm,
    ngx_pool_t *pool)
{
    dualcam_file_t                 *file;
    ngx_stream_dualcam_artifact_t  *a;

    file = cm->file;

    a = &cm->artifacts[cm->nartifacts++];
    a->tmp = cm->part->file.name.data;

    switch (file->kind) {

    case DUALCAM_KIND_PHOTO:
        a->ext = "jpg";
        break;

    case DUALCAM_KIND_VIDEO:
        a->ext = "h265";
        break;

    default:
        a->ext = dualcam_path_extension(file->name, file->name_len);
    }

    /* the hash reads through the write buffer */

    if (cm->part->buf == NULL) {
        cm->part->buf = ngx_alloc(NGX_STREAM_DUALCAM_WRITE_BUF, cm->log);
        if (cm->part->buf == NULL) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_stream_dualcam_flush_run(ngx_stream_dualcam_commit_t *cm)
{
    ngx_file_info_t             fi;
    ngx_stream_dualcam_part_t  *part;

    part = cm->part;

    if (part->failed) {
        return ngx_stream_dualcam_commit_fail(cm, NGX_LOG_CRIT, part->err,
                                 "an earlier write to \"%s\" failed",
                                 part->file.name.data);
    }

    if (ngx_stream_dualcam_store_flush(part) != NGX_OK) {
        return ngx_stream_dualcam_commit_fail(cm, NGX_LOG_CRIT, part->err,
                                 "pwrite() \"%s\" failed",
                                 part->file.name.data);
    }

    if (ngx_fd_info(part->file.fd, &fi) == NGX_FILE_ERROR) {
        return ngx_stream_dualcam_commit_fail(cm, NGX_LOG_CRIT, ngx_errno,
                                 ngx_fd_info_n " \"%s\" failed",
                                 part->file.name.data);
    }

    if (ngx_file_size(&fi) != (off_t) cm->size) {
        return ngx_stream_dualcam_commit_fail(cm, NGX_LOG_ALERT, 0,
                                 "partial \"%s\" has %O bytes, the file %uL",
                                 part->file.name.data, ngx_file_size(&fi),
                                 cm->size);
    }

    return ngx_stream_dualcam_commit_sync_fd(cm, part->file.fd,
                                             part->file.name.data);
}


/* dualcam_sha256: the SHA-256 of the stored bytes, for the sidecar */

static ngx_int_t
ngx_stream_dualcam_hash_run(ngx_stream_dualcam_commit_t *cm)
{
    off_t                       off;
    size_t                      n;
    ngx_err_t                   err;
    unsigned int                len;
    EVP_MD_CTX                 *md;
    ngx_stream_dualcam_part_t  *part;

    if (!cm->conf->sha256) {
        return NGX_OK;
    }

    part = cm->part;

    md = EVP_MD_CTX_new();

    if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return ngx_stream_dualcam_commit_fail(cm, NGX_LOG_ALERT, 0,
                                              "EVP_DigestInit_ex() failed");
    }

    for (off = 0; off < (off_t) cm->size; off += n) {
        n = (size_t) ngx_min((off_t) NGX_STREAM_DUALCAM_WRITE_BUF,
                             (off_t) cm->size - off);

        err = ngx_stream_dualcam_pread(part->file.fd, part->buf, n, off);

        if (err) {
            EVP_MD_CTX_free(md);
            return ngx_stream_dualcam_commit_fail(cm, NGX_LOG_CRIT, err,
                                     "pread() \"%s\" failed",
                                     part->file.name.data);
        }

        (void) EVP_DigestUpdate(md, part->buf, n);
    }

    len = sizeof(cm->sha256);
    (void) EVP_DigestFinal_ex(md, cm->sha256, &len);
    EVP_MD_CTX_free(md);

    return NGX_OK;
}


/*
 * "Stored" records: <key>.stored beside the partials, where key is the
 * partial's resumable name, lists what was stored with that identity, a
 * line "<size> <path>" for each file (two files of one identity that
 * differ in content are both listed).  A file that arrives again (a
 * device that missed its 00 09) with the size of a listed one is
 * compared with it byte for byte, and acknowledged without a second
 * copy if identical.  Nothing is read back otherwise: for a new file the
 * check is one failed open().  The sweeper removes records after
 * dualcam_resume_timeout; a duplicate refreshes its record's time.
 *
 * The write buffer holds the comparison's two chunks, then the record.
 */

#define NGX_STREAM_DUALCAM_RECORD   "dualcam stored 2\n"
#define NGX_STREAM_DUALCAM_COMPARE  (NGX_STREAM_DUALCAM_WRITE_BUF / 4)
#define NGX_STREAM_DUALCAM_RECORD_ROOM                                      \
    (NGX_STREAM_DUALCAM_WRITE_BUF - 2 * NGX_STREAM_DUALCAM_COMPARE)


static ngx_int_t
ngx_stream_dualcam_duplicate_prepare(ngx_stream_dualcam_commit_t *cm,
    ngx_pool_t *pool)
{
    ngx_stream_dualcam_part_t  *part;

    part = cm->part;

    cm->record = ngx_pnalloc(pool, part->key_len + sizeof(".stored"));
    if (cm->record == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ngx_cpymem(cm->record, part->key, part->key_len),
               ".stored", sizeof(".stored"));

    if (sizeof(NGX_STREAM_DUALCAM_RECORD) + part->id_len + NGX_OFF_T_LEN
        + NGX_MAX_PATH > NGX_STREAM_DUALCAM_RECORD_ROOM)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_stream_dualcam_duplicate_run(ngx_stream_dualcam_commit_t *cm)
{
    u_char                       *rec, *p, *last, *nl, *sp;
    size_t                        len;
    ssize_t                       n;
    ngx_fd_t                      fd;
    ngx_queue_t                  *q;
    ngx_stream_dualcam_commit_t  *other;

    /* the same file twice in one batch (two connections at once) */

    for (q = ngx_queue_head(&cm->batch->commits);
         q != &cm->queue;
         q = ngx_queue_next(q))
    {
        other = ngx_queue_data(q, ngx_stream_dualcam_commit_t, queue);

        if (other->rc == NGX_OK && !other->duplicate
            && other->size == cm->size
            && other->part->id_len == cm->part->id_len
            && ngx_memcmp(other->part->id, cm->part->id, cm->part->id_len)
               == 0
            && ngx_stream_dualcam_same_bytes(cm, other->part->file.fd))
        {
            cm->duplicate = 1;
            cm->first_of = other;
            return NGX_OK;
        }
    }

    fd = ngx_open_file(cm->record, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        return NGX_OK;
    }

    rec = cm->part->buf + 2 * NGX_STREAM_DUALCAM_COMPARE;
    n = ngx_read_fd(fd, rec, NGX_STREAM_DUALCAM_RECORD_ROOM);
    (void) ngx_close_file(fd);

    len = sizeof(NGX_STREAM_DUALCAM_RECORD) - 1;

    if (n < (ssize_t) (len + cm->part->id_len)
        || ngx_memcmp(rec, NGX_STREAM_DUALCAM_RECORD, len) != 0
        || ngx_memcmp(rec + len, cm->part->id, cm->part->id_len) != 0)
    {
        /* an older or a torn record, or another identity: replaced */
        return NGX_OK;
    }

    cm->record_valid = 1;

    /* "<size> <path>\n" lines; a torn last line is left out */

    last = rec + n;

    for (p = rec + len + cm->part->id_len; p < last; p = nl + 1) {
        nl = ngx_strlchr(p, last, '\n');

        if (nl == NULL) {
            break;
        }

        sp = ngx_strlchr(p, nl, ' ');

        if (sp == NULL || nl - sp - 1 >= NGX_MAX_PATH
            || ngx_atoof(p, sp - p) != (off_t) cm->size)
        {
            continue;
        }

        /* where the first copy is, kept until the commit is done */

        cm->first.len = nl - sp - 1;
        cm->first.data = cm->names;
        ngx_memcpy(cm->first.data, sp + 1, cm->first.len);
        cm->first.data[cm->first.len] = '\0';

        fd = ngx_open_file(cm->first.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

        if (fd == NGX_INVALID_FILE) {
            /* moved or removed since: that copy is not there to count */
            continue;
        }

        cm->duplicate = ngx_stream_dualcam_same_bytes(cm, fd);
        (void) ngx_close_file(fd);

        if (cm->duplicate) {
            return NGX_OK;
        }
    }

    ngx_str_null(&cm->first);

    return NGX_OK;
}


/*
 * 1: the file in fd has exactly the partial's cm->size bytes.  A read
 * that fails counts as a difference: the file is then stored again.
 */

static ngx_uint_t
ngx_stream_dualcam_same_bytes(ngx_stream_dualcam_commit_t *cm, ngx_fd_t fd)
{
    off_t             off;
    size_t            n;
    u_char           *a, *b;
    ngx_file_info_t   fi;

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) != (off_t) cm->size)
    {
        return 0;
    }

    a = cm->part->buf;
    b = a + NGX_STREAM_DUALCAM_COMPARE;

    for (off = 0; off < (off_t) cm->size; off += n) {
        n = (size_t) ngx_min((off_t) NGX_STREAM_DUALCAM_COMPARE,
                             (off_t) cm->size - off);

        if (ngx_stream_dualcam_pread(cm->part->file.fd, a, n, off) != 0
            || ngx_stream_dualcam_pread(fd, b, n, off) != 0
            || ngx_memcmp(a, b, n) != 0)
        {
            return 0;
        }
    }

    return 1;
}


static ngx_int_t
ngx_stream_dualcam_link_prepare(ngx_stream_dualcam_commit_t *cm,
    ngx_pool_t *pool)
{
    /*
     * <store>/<IMEI>/<base>[-n].<ext> per artifact, the sidecar's
     * "<first>.json", and the IMEI directory: one buffer
     */

    cm->names_size = (NGX_STREAM_DUALCAM_ARTIFACTS + 3)
                     * (cm->conf->store.len + 1 + NGX_STREAM_DUALCAM_IMEI_LEN
                        + 1 + NGX_STREAM_DUALCAM_BASE_LEN + 1 + NGX_INT_T_LEN
                        + 1 + 8 + sizeof(".json"));

    cm->names_size = ngx_max(cm->names_size, NGX_MAX_PATH);

    cm->names = ngx_pnalloc(pool, cm->names_size);
    if (cm->names == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_stream_dualcam_link_run(ngx_stream_dualcam_commit_t *cm)
{
    u_char                         *p, *base, *end;
    ngx_err_t                       err;
    ngx_uint_t                      n, k, j;
    ngx_stream_dualcam_artifact_t  *a;

    cm->dir = cm->names;

    p = ngx_sprintf(cm->dir, "%V/" NGX_STREAM_DUALCAM_IMEI_FMT "%Z",
                    &cm->conf->store, cm->imei);

    if (ngx_create_dir(cm->dir, 0755) == NGX_FILE_ERROR) {
        err = ngx_errno;

        if (err != NGX_EEXIST) {
            return ngx_stream_dualcam_commit_fail(cm, NGX_LOG_CRIT, err,
                                                  ngx_create_dir_n
                                                  " \"%s\" failed", cm->dir);
        }

    } else {
        cm->new_dir = 1;
    }

    /* the base name, once, then the paths are made from it */

    base = p;
    p = ngx_sprintf(base, "%s/", cm->dir);
    end = ngx_stream_dualcam_base_name(p, cm);

    for (n = 0; n < NGX_STREAM_DUALCAM_SUFFIXES; n++) {

        p = end + 1;

        for (k = 0; k < cm->nartifacts; k++) {
            a = &cm->artifacts[k];
            a->path = p;

            p = ngx_cpymem(p, base, end - base);

            if (n) {
                p = ngx_sprintf(p, "-%ui", n);
            }

            p = ngx_sprintf(p, ".%s%Z", a->ext);

            if (link((char *) a->tmp, (char *) a->path) == 0) {
                a->linked = 1;
                continue;
            }

            err = ngx_errno;

            if (err == NGX_EEXIST_FILE) {
                break;
            }

            ngx_stream_dualcam_link_undo(cm);

            if (err == NGX_EXDEV) {
                return ngx_stream_dualcam_commit_fail(cm, NGX_LOG_CRIT, err,
                                 "link() \"%s\" to \"%s\" failed: "
                                 "dualcam_temp_path must be on the file "
                                 "system of dualcam_store", a->tmp, a->path);
            }

            return ngx_stream_dualcam_commit_fail(cm, NGX_LOG_CRIT, err,
                                 "link() \"%s\" to \"%s\" failed",
                                 a->tmp, a->path);
        }

        if (k == cm->nartifacts) {
            cm->sidecar = p;
            ngx_sprintf(p, "%s.json%Z", cm->artifacts[0].path);
            return NGX_OK;
        }

        /* the name is taken (for one of them): all try the next */

        for (j = 0; j < k; j++) {
            (void) ngx_delete_file(cm->artifacts[j].path);
            cm->artifacts[j].linked = 0;
        }
    }

    return ngx_stream_dualcam_commit_fail(cm, NGX_LOG_CRIT, 0,
                                          "no free name for \"%s\"", base);
}


static void
ngx_stream_dualcam_link_undo(ngx_stream_dualcam_commit_t *cm)
{
    ngx_uint_t                      k;
    ngx_stream_dualcam_artifact_t  *a;

    for (k = 0; k < cm->nartifacts; k++) {
        a = &cm->artifacts[k];

        if (a->linked) {
            (void) ngx_delete_file(a->path);
            a->linked = 0;
        }
    }
}


/* YYYYMMDD-HHMMSS-[side-]word, from the capture time, else the arrival */

static u_char *
ngx_stream_dualcam_base_name(u_char *p, ngx_stream_dualcam_commit_t *cm)
{
    uint64_t         ms;
    ngx_tm_t         tm;
    dualcam_file_t  *file;

    file = cm->file;

    ms = (file->has_meta && file->meta.time_ms) ? file->meta.time_ms
                                                : cm->finished_ms;

    ngx_gmtime((time_t) (ms / 1000), &tm);

    p = ngx_sprintf(p, "%4d%02d%02d-%02d%02d%02d-",
                    tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                    tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec);

    if (file->side != DUALCAM_SIDE_NONE) {
        p = ngx_sprintf(p, "%s-", dualcam_side_name(file->side));
    }

    return ngx_sprintf(p, "%s", dualcam_file_word(file));
}


static ngx_int_t
ngx_stream_dualcam_sidecar_prepare(ngx_stream_dualcam_commit_t *cm,
    ngx_pool_t *pool)
{
    ngx_stream_dualcam_part_t  *part;

    part = cm->part;

    cm->sidecar_tmp = ngx_pnalloc(pool, part->file.name.len + sizeof(".json"));
    if (cm->sidecar_tmp == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ngx_cpymem(cm->sidecar_tmp, part->file.name.data,
                          part->file.name.len),
               ".json", sizeof(".json"));

    cm->json_size = ngx_stream_dualcam_sidecar_size(cm);

    cm->json = ngx_pnalloc(pool, cm->json_size);
    if (cm->json == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_stream_dualcam_sidecar_run(ngx_stream_dualcam_commit_t *cm)
{
    ngx_err_t  err;
    ngx_fd_t   fd;

    cm->json_len = ngx_stream_dualcam_sidecar(cm->json, cm) - cm->json;

    fd = ngx_open_file(cm->sidecar_tmp, NGX_FILE_WRONLY, NGX_FILE_TRUNCATE,
                       NGX_FILE_DEFAULT_ACCESS);

    if (fd == NGX_INVALID_FILE) {
        return ngx_stream_dualcam_commit_fail(cm, NGX_LOG_CRIT, ngx_errno,
                                              ngx_open_file_n
                                              " \"%s\" failed",
                                              cm->sidecar_tmp);
    }

    cm->sidecar_fd = fd;

    err = ngx_stream_dualcam_pwrite(fd, cm->json, cm->json_len, 0);

    if (err) {
        return ngx_stream_dualcam_commit_fail(cm, NGX_LOG_CRIT, err,
                                              "pwrite() \"%s\" failed",
                                              cm->sidecar_tmp);
    }

    return ngx_stream_dualcam_commit_sync_fd(cm, fd, cm->sidecar_tmp);
}


static void
ngx_stream_dualcam_sidecar_undo(ngx_stream_dualcam_commit_t *cm)
{
    if (cm->sidecar_fd != NGX_INVALID_FILE) {
        (void) ngx_close_file(cm->sidecar_fd);
        cm->sidecar_fd = NGX_INVALID_FILE;
    }

    (void) ngx_delete_file(cm->sidecar_tmp);
}


/* the sidecar comes last: a consumer that waits for it sees both whole */

static ngx_int_t
ngx_stream_dualcam_publish_run(ngx_stream_dualcam_commit_t *cm)
{
    ngx_err_t  err;

    if (ngx_close_file(cm->sidecar_fd) == NGX_FILE_ERROR) {
        err = ngx_errno;
        cm->sidecar_fd = NGX_INVALID_FILE;
        return ngx_stream_dualcam_commit_fail(cm, NGX_LOG_CRIT, err,
                                              ngx_close_file_n
                                              " \"%s\" failed",
                                              cm->sidecar_tmp);
    }

    cm->sidecar_fd = NGX_INVALID_FILE;

    if (ngx_rename_file(cm->sidecar_tmp, cm->sidecar) == NGX_FILE_ERROR) {
        return ngx_stream_dualcam_commit_fail(cm, NGX_LOG_CRIT, ngx_errno,
                                              ngx_rename_file_n
                                              " \"%s\" to \"%s\" failed",
                                              cm->sidecar_tmp, cm->sidecar);
    }

    if (ngx_stream_dualcam_commit_sync_dir(cm, cm->dir) != NGX_OK) {
        return NGX_ERROR;
    }

    if (cm->new_dir) {
        return ngx_stream_dualcam_commit_sync_dir(cm, cm->conf->store.data);
    }

    return NGX_OK;
}


static void
ngx_stream_dualcam_publish_undo(ngx_stream_dualcam_commit_t *cm)
{
    if (cm->sidecar) {
        (void) ngx_delete_file(cm->sidecar);
    }
}


/*
 * The file is in the store (or was already): the partial goes, and the
 * record lists the file (a duplicate's record only gets a new time).
 * The record is not synced: after a power cut without it, a file
 * offered again is stored again, never lost.
 */

static ngx_int_t
ngx_stream_dualcam_forget_run(ngx_stream_dualcam_commit_t *cm)
{
    u_char    *p;
    size_t     len;
    ssize_t    n;
    ngx_fd_t   fd;

    if (cm->first_of && cm->first_of->rc != NGX_OK) {

        /* acknowledged only if the copy that it duplicates is stored */

        return ngx_stream_dualcam_commit_fail(cm, NGX_LOG_CRIT, 0,
                                 "the commit of the same file by another "
                                 "connection failed");
    }

    ngx_stream_dualcam_store_forget(cm->part);

    if (cm->first_of) {
        cm->first.data = cm->names;
        cm->first.len = ngx_strlen(cm->first_of->artifacts[0].path);
        ngx_memcpy(cm->first.data, cm->first_of->artifacts[0].path,
                   cm->first.len + 1);
    }

    if (cm->duplicate) {
        if (utimes((char *) cm->record, NULL) == -1) {
            cm->record_err = ngx_errno;
        }

        return NGX_OK;
    }

    p = cm->part->buf;

    if (cm->record_valid) {
        fd = ngx_open_file(cm->record, NGX_FILE_APPEND, NGX_FILE_OPEN, 0);

    } else {
        p = ngx_cpymem(p, NGX_STREAM_DUALCAM_RECORD,
                       sizeof(NGX_STREAM_DUALCAM_RECORD) - 1);
        p = ngx_cpymem(p, cm->part->id, cm->part->id_len);

        fd = ngx_open_file(cm->record, NGX_FILE_WRONLY, NGX_FILE_TRUNCATE,
                           NGX_FILE_DEFAULT_ACCESS);

        if (fd == NGX_INVALID_FILE && ngx_errno == NGX_ENOENT
            && ngx_create_full_path(cm->record, 0700) == 0)
        {
            fd = ngx_open_file(cm->record, NGX_FILE_WRONLY,
                               NGX_FILE_TRUNCATE, NGX_FILE_DEFAULT_ACCESS);
        }
    }

    if (fd == NGX_INVALID_FILE) {
        cm->record_err = ngx_errno;
        return NGX_OK;
    }

    p = ngx_sprintf(p, "%uL %s\n", cm->size, cm->artifacts[0].path);
    len = p - cm->part->buf;

    /* one write(2): the appends of two workers do not interleave */

    n = ngx_write_fd(fd, cm->part->buf, len);

    if (n != (ssize_t) len) {
        cm->record_err = (n == -1) ? ngx_errno : NGX_ENOSPC;
        (void) ngx_delete_file(cm->record);
    }

    (void) ngx_close_file(fd);

    return NGX_OK;
}


static void
ngx_stream_dualcam_forget_report(ngx_stream_dualcam_commit_t *cm)
{
    if (cm->record_err) {
        ngx_log_error(NGX_LOG_WARN, cm->log, cm->record_err,
                      "cannot write \"%s\": a copy offered again will be "
                      "stored again", cm->record);
    }
}
