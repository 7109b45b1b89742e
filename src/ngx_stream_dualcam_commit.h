
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The commit of a finished file: a named list of stages (flush, hash,
 * duplicate check, link into the store, sidecar, ...) run for a batch
 * of files in one thread-pool task, or in the event loop where no
 * thread pool is configured.  Stages run stage by stage over the whole
 * batch, and the fsyncs between them are barriers shared by the batch:
 * the files that land together share their journal commits and their
 * directory fsyncs (group commit).
 *
 * In a stage's run() only system calls and computation happen: no log,
 * no pool, no nginx event.  A failure is recorded in the commit (level,
 * errno, a formatted message) and the event loop logs it afterwards, as
 * ngx_thread_read() does with what ngx_thread_read_handler() recorded.
 */


#ifndef _NGX_STREAM_DUALCAM_COMMIT_H_INCLUDED_
#define _NGX_STREAM_DUALCAM_COMMIT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#if (NGX_THREADS)
#include <ngx_thread_pool.h>
#endif

#include "dualcam.h"
#include "ngx_stream_dualcam_store.h"


#define NGX_STREAM_DUALCAM_ARTIFACTS   4    /* files under one base name */
#define NGX_STREAM_DUALCAM_SYNC_FDS    4    /* per barrier and commit */
#define NGX_STREAM_DUALCAM_SYNC_DIRS   4
#define NGX_STREAM_DUALCAM_BATCH       64   /* commits per task */
#define NGX_STREAM_DUALCAM_BATCHES     8    /* tasks in flight */
#define NGX_STREAM_DUALCAM_SHA256_LEN  32


typedef struct ngx_stream_dualcam_commit_s     ngx_stream_dualcam_commit_t;
typedef struct ngx_stream_dualcam_committer_s  ngx_stream_dualcam_committer_t;
typedef struct ngx_stream_dualcam_batch_s      ngx_stream_dualcam_batch_t;

typedef void (*ngx_stream_dualcam_commit_done_pt)(
    ngx_stream_dualcam_commit_t *cm);


/* a file linked into the store under the commit's one base name */

typedef struct {
    u_char                        *tmp;     /* in the temp path */
    const char                    *ext;     /* "jpg", "mp4", ... */
    u_char                        *path;    /* in the store, once linked */
    unsigned                       linked:1;
} ngx_stream_dualcam_artifact_t;


/*
 * A stage.  prepare() and report() run in the event loop (prepare may
 * allocate from the session pool; report logs what run() found that is
 * not a failure).  run() and undo() run wherever the batch runs.  A
 * stage without run() is a barrier: the files (or directories) that the
 * stages before it registered are made durable, for the whole batch.
 */

typedef enum {
    NGX_STREAM_DUALCAM_STAGE = 0,
    NGX_STREAM_DUALCAM_SYNC_FILES,
    NGX_STREAM_DUALCAM_SYNC_DIRECTORIES
} ngx_stream_dualcam_stage_type_e;


typedef struct {
    const char                    *name;
    ngx_stream_dualcam_stage_type_e  type;
    unsigned                       duplicate:1;   /* runs for a duplicate
                                                     too */
    ngx_int_t                    (*prepare)(ngx_stream_dualcam_commit_t *cm,
                                            ngx_pool_t *pool);
    ngx_int_t                    (*run)(ngx_stream_dualcam_commit_t *cm);
    void                         (*undo)(ngx_stream_dualcam_commit_t *cm);
    void                         (*report)(ngx_stream_dualcam_commit_t *cm);
} ngx_stream_dualcam_stage_t;


struct ngx_stream_dualcam_commit_s {
    ngx_queue_t                        queue;
    ngx_stream_dualcam_committer_t    *committer;
    ngx_stream_dualcam_batch_t        *batch;     /* once in one */
    ngx_log_t                         *log;       /* event loop only */
    ngx_stream_dualcam_commit_done_pt  done;
    void                              *data;

    /* what is committed, set by the caller */
    ngx_stream_dualcam_store_conf_t   *conf;
    ngx_stream_dualcam_part_t         *part;
    dualcam_file_t                    *file;
    uint64_t                           imei;
    ngx_uint_t                         protocol;
    ngx_str_t                          peer;
    uint64_t                           started_ms;
    uint64_t                           finished_ms;
    uint64_t                           size;
    ngx_str_t                          meta_json;   /* protocol >= 6 */
    ngx_str_t                          meta_raw;    /* binary payload */

    /* what the stages make */
    ngx_uint_t                         nartifacts;
    ngx_stream_dualcam_artifact_t      artifacts[NGX_STREAM_DUALCAM_ARTIFACTS];

    u_char                            *dir;         /* <store>/<IMEI> */
    unsigned                           new_dir:1;
    u_char                            *names;       /* room for the paths
                                                       in the store */
    size_t                             names_size;

    u_char                            *sidecar_tmp;
    u_char                            *sidecar;     /* in the store */
    ngx_fd_t                           sidecar_fd;
    u_char                            *json;
    size_t                             json_size;
    size_t                             json_len;

    u_char                            *record;      /* "stored" record */
    unsigned                           record_valid:1;  /* lists files of
                                                           this identity */
    u_char                             sha256[NGX_STREAM_DUALCAM_SHA256_LEN];
    ngx_str_t                          first;       /* a duplicate: where
                                                       the file is */
    ngx_stream_dualcam_commit_t       *first_of;    /* ... or the commit
                                                       in this batch that
                                                       stores it */
    ngx_err_t                          record_err;

    ngx_uint_t                         nfds;
    ngx_fd_t                           fds[NGX_STREAM_DUALCAM_SYNC_FDS];
    u_char                            *fd_names[NGX_STREAM_DUALCAM_SYNC_FDS];
    ngx_uint_t                         ndirs;
    u_char                            *dirs[NGX_STREAM_DUALCAM_SYNC_DIRS];

    /* the outcome */
    ngx_int_t                          rc;
    unsigned                           duplicate:1;
    unsigned                           posted:1;
    ngx_uint_t                         stage;       /* that failed */
    ngx_uint_t                         level;
    ngx_err_t                          err;
    u_char                             msg[NGX_MAX_PATH + 256];

    /* the stages' own state */
    void                              *mp4;
    void                              *notify;
};


/* commits run together, by one task */

struct ngx_stream_dualcam_batch_s {
    ngx_queue_t                        commits;
    ngx_stream_dualcam_committer_t    *committer;
#if (NGX_THREADS)
    ngx_thread_task_t                 *task;
#endif
    unsigned                           running:1;
};


/*
 * Several batches are in flight at once, each in its own thread: fsyncs
 * that wait together share the file system's journal commits, where one
 * thread would wait for each in turn.
 */

struct ngx_stream_dualcam_committer_s {
    ngx_queue_t                        waiting;
    ngx_uint_t                         running;   /* batches in flight */
    ngx_event_t                        start;     /* posted */
    ngx_event_t                        keepalive;
#if (NGX_THREADS)
    ngx_thread_pool_t                 *pool;
#endif
    ngx_stream_dualcam_batch_t         batches[NGX_STREAM_DUALCAM_BATCHES];
};


/*
 * The committer of a thread pool (NULL: the event loop), one per pool,
 * created with the configuration.
 */
ngx_stream_dualcam_committer_t *ngx_stream_dualcam_committer(ngx_conf_t *cf,
    ngx_array_t *committers, void *pool);

/*
 * Starts the commit of cm (its inputs and done set, the rest zeroed):
 * prepares every stage, then queues it; cm->done runs once it is over,
 * with cm->rc NGX_OK (stored, or cm->duplicate) or NGX_ERROR (logged).
 * NGX_ERROR here (out of memory) means done will not run.
 */
ngx_int_t ngx_stream_dualcam_commit(ngx_stream_dualcam_committer_t *cr,
    ngx_stream_dualcam_commit_t *cm, ngx_pool_t *pool);

/* for the stages: record a failure (no logging: the loop logs it) */
ngx_int_t ngx_stream_dualcam_commit_fail(ngx_stream_dualcam_commit_t *cm,
    ngx_uint_t level, ngx_err_t err, const char *fmt, ...);
/* a file to fsync at the next file barrier, a directory at the next
   directory barrier */
ngx_int_t ngx_stream_dualcam_commit_sync_fd(ngx_stream_dualcam_commit_t *cm,
    ngx_fd_t fd, u_char *name);
ngx_int_t ngx_stream_dualcam_commit_sync_dir(ngx_stream_dualcam_commit_t *cm,
    u_char *dir);


/* the sidecar, src/ngx_stream_dualcam_sidecar.c */
size_t ngx_stream_dualcam_sidecar_size(ngx_stream_dualcam_commit_t *cm);
u_char *ngx_stream_dualcam_sidecar(u_char *p, ngx_stream_dualcam_commit_t *cm);
/* a JSON string (escaped, quoted); a time as an ISO 8601 UTC string */
u_char *ngx_stream_dualcam_json_str(u_char *p, u_char *s, size_t len);
u_char *ngx_stream_dualcam_json_time(u_char *p, uint64_t ms);


/*
 * The "stored" event, src/ngx_stream_dualcam_outbox.c: written after the
 * sidecar (synced with it), linked into the spool after "publish"
 * (before the directories are synced), handed to the delivery in the
 * event loop afterwards.  cm->notify: the server's notify configuration
 * (set by the caller, or NULL), then the stages' state.
 */
ngx_int_t ngx_stream_dualcam_notify_prepare(ngx_stream_dualcam_commit_t *cm,
    ngx_pool_t *pool);
ngx_int_t ngx_stream_dualcam_notify_run(ngx_stream_dualcam_commit_t *cm);
void ngx_stream_dualcam_notify_undo(ngx_stream_dualcam_commit_t *cm);
ngx_int_t ngx_stream_dualcam_notify_publish_run(
    ngx_stream_dualcam_commit_t *cm);
void ngx_stream_dualcam_notify_publish_undo(ngx_stream_dualcam_commit_t *cm);
void ngx_stream_dualcam_notify_report(ngx_stream_dualcam_commit_t *cm);


#endif /* _NGX_STREAM_DUALCAM_COMMIT_H_INCLUDED_ */
