
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The outbox (see ngx_stream_dualcam_notify.h): the spool's process
 * directories and their locks, the walk that adopts the events of
 * processes that are gone (a thread-pool task: it reads directories),
 * the event files, and the commit stages of the "stored" event.
 *
 * An event file is written under a temporary name, ".<id>.tmp", and
 * linked as "<id>.<hash>" once per receiver, so the receivers of one
 * event share one inode (and one fsync) and each has its own name to
 * remove when it answered.  Walks skip names that begin with a dot.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <sys/file.h>
#include <openssl/rand.h>

#include "ngx_stream_dualcam.h"
#include "ngx_stream_dualcam_notify.h"


/* what a walk found: an event now in this worker's directory */

typedef struct {
    u_char                         name[NGX_STREAM_DUALCAM_EVENT_NAME_LEN
                                        + 1];
    ngx_uint_t                     type;        /* 0: unreadable */
    uint64_t                       created_ms;
} ngx_stream_dualcam_found_t;


typedef struct {
    ngx_stream_dualcam_outbox_t   *outbox;
} ngx_stream_dualcam_outbox_ctx_t;


static ngx_int_t ngx_stream_dualcam_outbox_lock(ngx_stream_dualcam_outbox_t *ob,
    ngx_log_t *log);
static void ngx_stream_dualcam_outbox_timer(ngx_event_t *ev);
static void ngx_stream_dualcam_outbox_start_walk(
    ngx_stream_dualcam_outbox_t *ob);
#if (NGX_THREADS)
static void ngx_stream_dualcam_outbox_thread(void *data, ngx_log_t *log);
static void ngx_stream_dualcam_outbox_thread_done(ngx_event_t *ev);
#endif
static void ngx_stream_dualcam_outbox_walk(ngx_stream_dualcam_outbox_t *ob);
static void ngx_stream_dualcam_outbox_walk_own(
    ngx_stream_dualcam_outbox_t *ob);
static void ngx_stream_dualcam_outbox_adopt(ngx_stream_dualcam_outbox_t *ob,
    u_char *name, size_t len);
static void ngx_stream_dualcam_outbox_found(ngx_stream_dualcam_outbox_t *ob,
    u_char *path, u_char *name, size_t len);
static void ngx_stream_dualcam_outbox_walk_done(
    ngx_stream_dualcam_outbox_t *ob);
static void ngx_stream_dualcam_outbox_error(ngx_stream_dualcam_outbox_t *ob,
    ngx_err_t err, const char *op, u_char *path);
static ngx_int_t ngx_stream_dualcam_outbox_head(u_char *p, size_t n,
    ngx_uint_t *type, uint64_t *created_ms);
static u_char *ngx_stream_dualcam_outbox_name(u_char *p,
    ngx_stream_dualcam_outbox_t *ob, u_char *id,
    ngx_stream_dualcam_notify_target_t *t);


ngx_stream_dualcam_outbox_t *
ngx_stream_dualcam_outbox(ngx_conf_t *cf, ngx_array_t *outboxes,
    ngx_path_t *path, void *pool)
{
    u_char                        *p;
    ngx_uint_t                     i;
    ngx_path_t                    *failed;
    ngx_stream_dualcam_outbox_t  **obp, *ob;

    obp = outboxes->elts;

    for (i = 0; i < outboxes->nelts; i++) {
        if (obp[i]->path->name.len == path->name.len
            && ngx_strncmp(obp[i]->path->name.data, path->name.data,
                           path->name.len)
               == 0)
        {
            return obp[i];
        }
    }

    ob = ngx_pcalloc(cf->pool, sizeof(ngx_stream_dualcam_outbox_t));
    if (ob == NULL) {
        return NULL;
    }

    ob->path = path;
    ob->lock = NGX_INVALID_FILE;

    if (ngx_array_init(&ob->targets, cf->pool, 2,
                       sizeof(ngx_stream_dualcam_notify_target_t *))
        != NGX_OK)
    {
        return NULL;
    }

    /* failed/ is made by the master, with the spool, as temp paths are */

    failed = ngx_pcalloc(cf->pool, sizeof(ngx_path_t));
    if (failed == NULL) {
        return NULL;
    }

    failed->name.len = path->name.len + sizeof("/failed") - 1;
    failed->name.data = ngx_pnalloc(cf->pool, failed->name.len + 1);
    if (failed->name.data == NULL) {
        return NULL;
    }

    p = ngx_cpymem(failed->name.data, path->name.data, path->name.len);
    ngx_memcpy(p, "/failed", sizeof("/failed"));

    failed->conf_file = cf->conf_file->file.name.data;
    failed->line = cf->conf_file->line;

    if (ngx_add_path(cf, &failed) != NGX_OK) {
        return NULL;
    }

    ob->failed = failed->name;

#if (NGX_THREADS)
    ob->pool = pool;
#endif

    obp = ngx_array_push(outboxes);
    if (obp == NULL) {
        return NULL;
    }

    *obp = ob;

    return ob;
}


ngx_int_t
ngx_stream_dualcam_outbox_init_process(ngx_cycle_t *cycle,
    ngx_stream_dualcam_outbox_t *ob)
{
#if (NGX_THREADS)
    ngx_stream_dualcam_outbox_ctx_t  *ctx;
#endif

    ob->log = cycle->log;
    ob->start_ms = ngx_stream_dualcam_now_ms();

    ngx_rbtree_init(&ob->events, &ob->sentinel, ngx_str_rbtree_insert_value);

    ob->dir = ngx_pnalloc(cycle->pool, ob->path->name.len + 1
                                       + NGX_INT64_LEN + sizeof(".lock"));
    if (ob->dir == NULL) {
        return NGX_ERROR;
    }

    ob->dir_len = ngx_sprintf(ob->dir, "%V/%P%Z", &ob->path->name, ngx_pid)
                  - ob->dir - 1;

    ob->adopt.handler = ngx_stream_dualcam_outbox_timer;
    ob->adopt.data = ob;
    ob->adopt.log = cycle->log;
    ob->adopt.cancelable = 1;

#if (NGX_THREADS)

    if (ob->pool) {
        ob->task = ngx_thread_task_alloc(cycle->pool,
                                    sizeof(ngx_stream_dualcam_outbox_ctx_t));
        if (ob->task == NULL) {
            return NGX_ERROR;
        }

        ctx = ob->task->ctx;
        ctx->outbox = ob;

        ob->task->handler = ngx_stream_dualcam_outbox_thread;
        ob->task->event.handler = ngx_stream_dualcam_outbox_thread_done;
        ob->task->event.data = ob;
        ob->task->event.log = cycle->log;
    }

#endif

    /*
     * Without its directory a worker cannot write events: its commits
     * fail (and say why), so no file is stored without its event.
     */

    if (ngx_stream_dualcam_outbox_lock(ob, cycle->log) == NGX_OK) {
        ob->ready = 1;
        ob->own = 1;
        ngx_stream_dualcam_outbox_start_walk(ob);
    }

    return NGX_OK;
}


/*
 * <spool>/<pid>.lock, then <spool>/<pid>/.  An adopter that holds the
 * lock of an earlier process with this pid finishes first (it unlinks
 * the lock file when done, hence the check that ours is still linked).
 */

static ngx_int_t
ngx_stream_dualcam_outbox_lock(ngx_stream_dualcam_outbox_t *ob,
    ngx_log_t *log)
{
    u_char           *lock;
    ngx_fd_t          fd;
    ngx_err_t         err;
    ngx_uint_t        tries;
    ngx_file_info_t   fi, li;

    lock = ob->dir + ob->dir_len;

    for (tries = 0; tries < 100; tries++) {

        ngx_memcpy(lock, ".lock", sizeof(".lock"));

        fd = ngx_open_file(ob->dir, NGX_FILE_RDWR, NGX_FILE_CREATE_OR_OPEN,
                           NGX_FILE_DEFAULT_ACCESS);

        if (fd == NGX_INVALID_FILE) {
            ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                          ngx_open_file_n " \"%s\" failed", ob->dir);
            *lock = '\0';
            return NGX_ERROR;
        }

        /* an adoption holds it for a moment at most */

        if (flock(fd, LOCK_EX) == -1) {
            ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                          "flock(\"%s\") failed", ob->dir);
            (void) ngx_close_file(fd);
            *lock = '\0';
            return NGX_ERROR;
        }

        if (ngx_fd_info(fd, &fi) != NGX_FILE_ERROR
            && ngx_file_info(ob->dir, &li) != NGX_FILE_ERROR
            && fi.st_ino == li.st_ino && fi.st_dev == li.st_dev)
        {
            break;
        }

        (void) ngx_close_file(fd);
        fd = NGX_INVALID_FILE;
    }

    *lock = '\0';

    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_CRIT, log, 0,
                      "cannot lock \"%s.lock\"", ob->dir);
        return NGX_ERROR;
    }

    if (ngx_create_dir(ob->dir, 0700) == NGX_FILE_ERROR) {
        err = ngx_errno;

        if (err != NGX_EEXIST) {
            ngx_log_error(NGX_LOG_CRIT, log, err,
                          ngx_create_dir_n " \"%s\" failed", ob->dir);
            (void) ngx_close_file(fd);
            return NGX_ERROR;
        }
    }

    /* held until the process ends: the kernel lets go of it then */
    ob->lock = fd;

    return NGX_OK;
}


static void
ngx_stream_dualcam_outbox_timer(ngx_event_t *ev)
{
    ngx_stream_dualcam_outbox_t  *ob;

    ob = ev->data;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    ngx_stream_dualcam_outbox_start_walk(ob);
}


static void
ngx_stream_dualcam_outbox_start_walk(ngx_stream_dualcam_outbox_t *ob)
{
    if (ob->walking) {
        return;
    }

    ob->walking = 1;
    ob->found_len = 0;
    ob->adopted = 0;
    ob->errors = 0;

#if (NGX_THREADS)

    if (ob->task) {
        if (ngx_thread_task_post(ob->pool, ob->task) == NGX_OK) {
            return;
        }

        /* the pool's queue is full: nginx said so; try again later */

        ob->walking = 0;
        ngx_add_timer(&ob->adopt, NGX_STREAM_DUALCAM_ADOPT_INTERVAL);
        return;
    }

#endif

    ngx_stream_dualcam_outbox_walk(ob);
    ngx_stream_dualcam_outbox_walk_done(ob);
}


#if (NGX_THREADS)

static void
ngx_stream_dualcam_outbox_thread(void *data, ngx_log_t *log)
{
    ngx_stream_dualcam_outbox_ctx_t  *ctx = data;

    ngx_stream_dualcam_outbox_walk(ctx->outbox);
}


static void
ngx_stream_dualcam_outbox_thread_done(ngx_event_t *ev)
{
    ngx_stream_dualcam_outbox_walk_done(ev->data);
}

#endif


/* system calls only: it may run in a thread */

static void
ngx_stream_dualcam_outbox_walk(ngx_stream_dualcam_outbox_t *ob)
{
    size_t      n, i;
    u_char     *name;
    ngx_dir_t   d;
    ngx_err_t   err;

    if (ob->own) {
        ngx_stream_dualcam_outbox_walk_own(ob);
    }

    if (ngx_open_dir(&ob->path->name, &d) == NGX_ERROR) {
        ngx_stream_dualcam_outbox_error(ob, ngx_errno, ngx_open_dir_n,
                                        ob->path->name.data);
        return;
    }

    for ( ;; ) {
        ngx_set_errno(0);

        if (ngx_read_dir(&d) == NGX_ERROR) {
            err = ngx_errno;

            if (err != NGX_ENOMOREFILES) {
                ngx_stream_dualcam_outbox_error(ob, err, ngx_read_dir_n,
                                                ob->path->name.data);
            }

            break;
        }

        name = ngx_de_name(&d);
        n = ngx_de_namelen(&d);

        /* "<pid>" and "<pid>.lock": another process's */

        for (i = 0; i < n && name[i] >= '0' && name[i] <= '9'; i++) {
            /* void */
        }

        if (i == 0 || i > NGX_INT64_LEN
            || (i < n && ngx_strcmp(name + i, ".lock") != 0))
        {
            continue;
        }

        if (i == ob->dir_len - ob->path->name.len - 1
            && ngx_strncmp(name, ob->dir + ob->path->name.len + 1, i) == 0)
        {
            continue;
        }

        ngx_stream_dualcam_outbox_adopt(ob, name, i);
    }

    ngx_close_dir(&d);
}


/*
 * The directory of a process with this pid before: its events are ours
 * now; a temporary file older than this process is the remainder of a
 * commit that never finished, and goes.
 */

static void
ngx_stream_dualcam_outbox_walk_own(ngx_stream_dualcam_outbox_t *ob)
{
    size_t           n;
    u_char          *name;
    ngx_str_t        str;
    ngx_dir_t        d;
    ngx_err_t        err;
    ngx_file_info_t  fi;
    u_char           path[NGX_MAX_PATH];

    ob->own = 0;

    str.data = ob->dir;
    str.len = ob->dir_len;

    if (ngx_open_dir(&str, &d) == NGX_ERROR) {
        ngx_stream_dualcam_outbox_error(ob, ngx_errno, ngx_open_dir_n,
                                        ob->dir);
        return;
    }

    for ( ;; ) {
        ngx_set_errno(0);

        if (ngx_read_dir(&d) == NGX_ERROR) {
            err = ngx_errno;

            if (err != NGX_ENOMOREFILES) {
                ngx_stream_dualcam_outbox_error(ob, err, ngx_read_dir_n,
                                                ob->dir);
            }

            break;
        }

        name = ngx_de_name(&d);
        n = ngx_de_namelen(&d);

        if (ob->dir_len + 1 + n >= NGX_MAX_PATH) {
            continue;
        }

        ngx_sprintf(path, "%s/%*s%Z", ob->dir, n, name);

        if (name[0] == '.') {
            if (n > 4 && ngx_strcmp(name + n - 4, ".tmp") == 0
                && ngx_link_info(path, &fi) != NGX_FILE_ERROR
                && (uint64_t) ngx_file_mtime(&fi) * 1000 + 1000
                   < ob->start_ms)
            {
                (void) ngx_delete_file(path);
            }

            continue;
        }

        ngx_stream_dualcam_outbox_found(ob, path, name, n);
    }

    ngx_close_dir(&d);
}


/* name[0 .. len) is a pid */

static void
ngx_stream_dualcam_outbox_adopt(ngx_stream_dualcam_outbox_t *ob,
    u_char *name, size_t len)
{
    size_t           n, plen;
    u_char          *e;
    ngx_fd_t         fd;
    ngx_str_t        str;
    ngx_dir_t        d;
    ngx_err_t        err;
    ngx_file_info_t  fi, li;
    u_char           lock[NGX_MAX_PATH], dir[NGX_MAX_PATH],
                     from[NGX_MAX_PATH], to[NGX_MAX_PATH];

    if (ob->path->name.len + 1 + len + sizeof(".lock") > NGX_MAX_PATH
        || ob->dir_len + 2 + NGX_STREAM_DUALCAM_EVENT_NAME_LEN
           >= NGX_MAX_PATH)
    {
        return;
    }

    plen = ngx_sprintf(dir, "%V/%*s%Z", &ob->path->name, len, name) - dir
           - 1;
    ngx_sprintf(lock, "%s.lock%Z", dir);

    fd = ngx_open_file(lock, NGX_FILE_RDWR, NGX_FILE_CREATE_OR_OPEN,
                       NGX_FILE_DEFAULT_ACCESS);
    if (fd == NGX_INVALID_FILE) {
        return;
    }

    /* held: the process lives (or another worker adopts it right now) */

    if (flock(fd, LOCK_EX|LOCK_NB) == -1
        || ngx_fd_info(fd, &fi) == NGX_FILE_ERROR
        || ngx_file_info(lock, &li) == NGX_FILE_ERROR
        || fi.st_ino != li.st_ino || fi.st_dev != li.st_dev)
    {
        (void) ngx_close_file(fd);
        return;
    }

    str.data = dir;
    str.len = plen;

    if (ngx_open_dir(&str, &d) == NGX_ERROR) {
        err = ngx_errno;

        if (err == NGX_ENOENT) {
            /* a lock left by an adopter that stopped halfway */
            (void) ngx_delete_file(lock);

        } else {
            ngx_stream_dualcam_outbox_error(ob, err, ngx_open_dir_n, dir);
        }

        (void) ngx_close_file(fd);
        return;
    }

    for ( ;; ) {
        ngx_set_errno(0);

        if (ngx_read_dir(&d) == NGX_ERROR) {
            err = ngx_errno;

            if (err != NGX_ENOMOREFILES) {
                ngx_stream_dualcam_outbox_error(ob, err, ngx_read_dir_n,
                                                dir);
            }

            break;
        }

        e = ngx_de_name(&d);
        n = ngx_de_namelen(&d);

        if (e[0] == '.' && (n == 1 || (n == 2 && e[1] == '.'))) {
            continue;
        }

        if (plen + 1 + n >= NGX_MAX_PATH) {
            continue;
        }

        ngx_sprintf(from, "%s/%*s%Z", dir, n, e);

        if (e[0] == '.') {
            /* a commit of the dead process that never finished */
            (void) ngx_delete_file(from);
            continue;
        }

        if (n != NGX_STREAM_DUALCAM_EVENT_NAME_LEN) {
            continue;
        }

        ngx_sprintf(to, "%s/%*s%Z", ob->dir, n, e);

        if (ngx_rename_file(from, to) == NGX_FILE_ERROR) {
            ngx_stream_dualcam_outbox_error(ob, ngx_errno,
                                            ngx_rename_file_n, from);
            continue;
        }

        ob->adopted++;

        ngx_stream_dualcam_outbox_found(ob, to, e, n);
    }

    ngx_close_dir(&d);

    if (ngx_delete_dir(dir) == NGX_FILE_ERROR) {
        err = ngx_errno;

        if (err != NGX_ENOENT) {
            /* what could not be moved stays for the next walk */
            (void) ngx_close_file(fd);
            return;
        }
    }

    (void) ngx_delete_file(lock);
    (void) ngx_close_file(fd);
}


/* an event file now in our directory: its first line says what it is */

static void
ngx_stream_dualcam_outbox_found(ngx_stream_dualcam_outbox_t *ob,
    u_char *path, u_char *name, size_t len)
{
    size_t                       size;
    ssize_t                      n;
    ngx_fd_t                     fd;
    ngx_stream_dualcam_found_t  *f, *found;
    u_char                       head[NGX_STREAM_DUALCAM_EVENT_HEAD_MAX];

    if (len != NGX_STREAM_DUALCAM_EVENT_NAME_LEN) {
        return;
    }

    if ((ob->found_len + 1) * sizeof(ngx_stream_dualcam_found_t)
        > ob->found_size)
    {
        size = ngx_max(ob->found_size * 2,
                       64 * sizeof(ngx_stream_dualcam_found_t));

        /* not ngx_alloc(): no logging in a thread */
        found = realloc(ob->found, size);
        if (found == NULL) {
            ngx_stream_dualcam_outbox_error(ob, ngx_errno, "realloc()",
                                            path);
            return;
        }

        ob->found = (u_char *) found;
        ob->found_size = size;
    }

    f = (ngx_stream_dualcam_found_t *) ob->found + ob->found_len++;

    ngx_memcpy(f->name, name, len);
    f->name[len] = '\0';
    f->type = 0;
    f->created_ms = 0;

    fd = ngx_open_file(path, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ob->found_len--;
        return;
    }

    n = ngx_read_fd(fd, head, sizeof(head));
    (void) ngx_close_file(fd);

    if (n > 0) {
        (void) ngx_stream_dualcam_outbox_head(head, n, &f->type,
                                              &f->created_ms);
    }
}


static void
ngx_stream_dualcam_outbox_walk_done(ngx_stream_dualcam_outbox_t *ob)
{
    ngx_uint_t                   i;
    ngx_stream_dualcam_found_t  *f;

    ob->walking = 0;

    if (ob->errors) {
        ngx_log_error(NGX_LOG_CRIT, ob->log, ob->err, "%s%s", ob->error,
                      ob->errors > 1 ? " (and more errors in this walk)"
                                     : "");
    }

    if (ob->adopted) {
        ngx_log_error(NGX_LOG_NOTICE, ob->log, 0,
                      "dualcam notify: %ui events of an earlier process "
                      "adopted into \"%s\"", ob->adopted, ob->dir);
    }

    f = (ngx_stream_dualcam_found_t *) ob->found;

    for (i = 0; i < ob->found_len; i++) {
        (void) ngx_stream_dualcam_notify_add(ob, f[i].name, f[i].type,
                                             f[i].created_ms, 1);
    }

    if (ob->found) {
        free(ob->found);
        ob->found = NULL;
        ob->found_size = 0;
        ob->found_len = 0;
    }

    ngx_stream_dualcam_notify_kick(ob);

    if (!(ngx_exiting || ngx_quit || ngx_terminate)) {
        ngx_add_timer(&ob->adopt, NGX_STREAM_DUALCAM_ADOPT_INTERVAL);
    }
}


static void
ngx_stream_dualcam_outbox_error(ngx_stream_dualcam_outbox_t *ob,
    ngx_err_t err, const char *op, u_char *path)
{
    if (ob->errors++ == 0) {
        ob->err = err;
        ngx_snprintf(ob->error, sizeof(ob->error) - 1, "%s \"%s\" failed%Z",
                     op, path);
        ob->error[sizeof(ob->error) - 1] = '\0';
    }
}


/* "DCN1 <event> <created ms>\n" */

static ngx_int_t
ngx_stream_dualcam_outbox_head(u_char *p, size_t n, ngx_uint_t *type,
    uint64_t *created_ms)
{
    u_char     *last, *sp, *nl;
    ngx_int_t   ms;

    last = p + n;

    if (n < sizeof(NGX_STREAM_DUALCAM_EVENT_MAGIC) - 1
        || ngx_strncmp(p, NGX_STREAM_DUALCAM_EVENT_MAGIC,
                       sizeof(NGX_STREAM_DUALCAM_EVENT_MAGIC) - 1) != 0)
    {
        return NGX_ERROR;
    }

    p += sizeof(NGX_STREAM_DUALCAM_EVENT_MAGIC) - 1;

    sp = ngx_strlchr(p, last, ' ');
    nl = ngx_strlchr(p, last, '\n');

    if (sp == NULL || nl == NULL || nl < sp) {
        return NGX_ERROR;
    }

    ms = ngx_atoi(sp + 1, nl - sp - 1);

    if (ms == NGX_ERROR) {
        return NGX_ERROR;
    }

    *type = ngx_stream_dualcam_notify_event_type(p, sp - p);
    *created_ms = (uint64_t) ms;

    return (*type == 0) ? NGX_ERROR : NGX_OK;
}


void
ngx_stream_dualcam_outbox_id(u_char *id)
{
    u_char    rnd[NGX_STREAM_DUALCAM_EVENT_ID_LEN / 2];
    uint64_t  ms;

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {

        /* cannot happen with a seeded OpenSSL; still unique per process */

        ms = ngx_stream_dualcam_now_ms();
        ngx_memcpy(rnd, &ms, sizeof(ms));
        ngx_memcpy(rnd + sizeof(ms), &ngx_pid, sizeof(ngx_pid));
    }

    ngx_hex_dump(id, rnd, sizeof(rnd));
    id[NGX_STREAM_DUALCAM_EVENT_ID_LEN] = '\0';
}


/* <dir>/<id>.<hash of the URL> */

static u_char *
ngx_stream_dualcam_outbox_name(u_char *p, ngx_stream_dualcam_outbox_t *ob,
    u_char *id, ngx_stream_dualcam_notify_target_t *t)
{
    return ngx_sprintf(p, "%s/%s.%08xD%Z", ob->dir, id, t->hash);
}


/*
 * A "failed" or "session" event, from the event loop: small, written and
 * linked at once, not synced (a power cut may lose it; a crash does not).
 */

void
ngx_stream_dualcam_outbox_write(ngx_stream_dualcam_notify_srv_conf_t *conf,
    ngx_uint_t type, u_char *id, uint64_t created_ms, u_char *body,
    size_t len, ngx_log_t *log)
{
    u_char                           *p, *name;
    ngx_fd_t                          fd;
    ngx_err_t                         err;
    ngx_uint_t                        i;
    ngx_stream_dualcam_outbox_t      *ob;
    ngx_stream_dualcam_notify_send_t *sd;
    u_char                            head[NGX_STREAM_DUALCAM_EVENT_HEAD_MAX];
    u_char                            tmp[NGX_MAX_PATH];
    u_char                            path[NGX_MAX_PATH];

    ob = conf->outbox;

    if (!ob->ready) {
        ngx_log_error(NGX_LOG_CRIT, log, 0,
                      "dualcam notify: a \"%s\" event is lost: the spool "
                      "\"%V\" is not usable by this worker",
                      ngx_stream_dualcam_notify_event_name(type),
                      &ob->path->name);
        return;
    }

    if (ob->dir_len + 2 + NGX_STREAM_DUALCAM_EVENT_NAME_LEN + 8
        >= NGX_MAX_PATH)
    {
        return;
    }

    ngx_sprintf(tmp, "%s/.%s.tmp%Z", ob->dir, id);

    fd = ngx_open_file(tmp, NGX_FILE_WRONLY, NGX_FILE_TRUNCATE,
                       NGX_FILE_DEFAULT_ACCESS);
    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      ngx_open_file_n " \"%s\" failed", tmp);
        return;
    }

    p = ngx_sprintf(head, NGX_STREAM_DUALCAM_EVENT_MAGIC "%s %uL\n",
                    ngx_stream_dualcam_notify_event_name(type), created_ms);

    err = ngx_stream_dualcam_pwrite(fd, head, p - head, 0);

    if (err == 0) {
        err = ngx_stream_dualcam_pwrite(fd, body, len, p - head);
    }

    if (ngx_close_file(fd) == NGX_FILE_ERROR && err == 0) {
        err = ngx_errno;
    }

    if (err) {
        ngx_log_error(NGX_LOG_CRIT, log, err,
                      "writing \"%s\" failed", tmp);
        (void) ngx_delete_file(tmp);
        return;
    }

    sd = conf->sends.elts;

    for (i = 0; i < conf->sends.nelts; i++) {

        if (!(sd[i].events & type)) {
            continue;
        }

        (void) ngx_stream_dualcam_outbox_name(path, ob, id, sd[i].target);

        if (link((char *) tmp, (char *) path) == -1) {
            ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                          "link() \"%s\" to \"%s\" failed", tmp, path);
            continue;
        }

        name = path + ob->dir_len + 1;

        if (ngx_stream_dualcam_notify_add(ob, name, type, created_ms, 0)
            == NGX_OK)
        {
            ngx_stream_dualcam_zone_notify(sd[i].target->zone,
                                           NGX_STREAM_DUALCAM_NOTIFY_WRITTEN,
                                           created_ms, NULL);
        }
    }

    (void) ngx_delete_file(tmp);

    ngx_stream_dualcam_notify_kick(ob);
}


/* delivered, or gone: its file is removed */

void
ngx_stream_dualcam_outbox_forget(ngx_stream_dualcam_outbox_t *ob,
    ngx_stream_dualcam_notify_event_t *ev)
{
    u_char  path[NGX_MAX_PATH];

    ngx_sprintf(path, "%s/%s%Z", ob->dir, ev->name);

    if (ngx_delete_file(path) == NGX_FILE_ERROR && ngx_errno != NGX_ENOENT) {
        ngx_log_error(NGX_LOG_CRIT, ob->log, ngx_errno,
                      ngx_delete_file_n " \"%s\" failed: the event may be "
                      "sent again", path);
    }
}


ngx_int_t
ngx_stream_dualcam_outbox_dead(ngx_stream_dualcam_outbox_t *ob,
    ngx_stream_dualcam_notify_event_t *ev, ngx_log_t *log)
{
    u_char  from[NGX_MAX_PATH], to[NGX_MAX_PATH];

    ngx_sprintf(from, "%s/%s%Z", ob->dir, ev->name);
    ngx_sprintf(to, "%V/%s%Z", &ob->failed, ev->name);

    if (ngx_rename_file(from, to) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      ngx_rename_file_n " \"%s\" to \"%s\" failed",
                      from, to);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the commit stages of the "stored" event */

ngx_int_t
ngx_stream_dualcam_notify_prepare(ngx_stream_dualcam_commit_t *cm,
    ngx_pool_t *pool)
{
    size_t                                 path;
    ngx_stream_dualcam_outbox_t           *ob;
    ngx_stream_dualcam_notify_commit_t    *nc;
    ngx_stream_dualcam_notify_srv_conf_t  *conf;

    conf = cm->notify;
    cm->notify = NULL;

    if (conf == NULL || !(conf->events & NGX_STREAM_DUALCAM_EV_STORED)) {
        return NGX_OK;
    }

    ob = conf->outbox;

    nc = ngx_pcalloc(pool, sizeof(ngx_stream_dualcam_notify_commit_t));
    if (nc == NULL) {
        return NGX_ERROR;
    }

    nc->conf = conf;
    nc->fd = NGX_INVALID_FILE;
    nc->created_ms = ngx_stream_dualcam_now_ms();

    ngx_stream_dualcam_outbox_id(nc->id);

    nc->tmp = ngx_pnalloc(pool, ob->dir_len + sizeof("/.") - 1
                                + NGX_STREAM_DUALCAM_EVENT_ID_LEN
                                + sizeof(".tmp"));
    nc->name = ngx_pnalloc(pool, ob->dir_len + 1
                                 + NGX_STREAM_DUALCAM_EVENT_NAME_LEN + 1);

    /* a path in the store, as link_prepare() bounds it, escaped */

    path = cm->conf->store.len + 1 + NGX_STREAM_DUALCAM_IMEI_LEN + 1 + 64 + 1
           + NGX_INT_T_LEN + 1 + 8 + sizeof(".json");

    nc->body_size = NGX_STREAM_DUALCAM_EVENT_HEAD_MAX + 1024 + cm->json_size
                    + (NGX_STREAM_DUALCAM_ARTIFACTS + 2) * (6 * path + 32);
    nc->body = ngx_pnalloc(pool, nc->body_size);

    if (nc->tmp == NULL || nc->name == NULL || nc->body == NULL) {
        return NGX_ERROR;
    }

    if (ob->dir) {
        ngx_sprintf(nc->tmp, "%s/.%s.tmp%Z", ob->dir, nc->id);
    }

    cm->notify = nc;

    return NGX_OK;
}


/*
 * The sidecar's fields, after the event's own: a receiver reads one
 * flat object, the sidecar is its tail.
 */

ngx_int_t
ngx_stream_dualcam_notify_run(ngx_stream_dualcam_commit_t *cm)
{
    u_char                              *p, *s;
    ngx_fd_t                             fd;
    ngx_err_t                            err;
    ngx_uint_t                           k;
    ngx_stream_dualcam_outbox_t         *ob;
    ngx_stream_dualcam_artifact_t       *a;
    ngx_stream_dualcam_notify_commit_t  *nc;

    nc = cm->notify;

    if (nc == NULL) {
        return NGX_OK;
    }

    ob = nc->conf->outbox;

    if (!ob->ready) {
        return ngx_stream_dualcam_commit_fail(cm, NGX_LOG_CRIT, 0,
                                 "the dualcam_notify_spool \"%V\" is not "
                                 "usable by this worker: the file is not "
                                 "stored without its event",
                                 &ob->path->name);
    }

    if (cm->json_len < 2 || cm->json[0] != '{') {
        return ngx_stream_dualcam_commit_fail(cm, NGX_LOG_ALERT, 0,
                                 "the sidecar of \"%s\" is no JSON object",
                                 cm->artifacts[0].path);
    }

    p = ngx_sprintf(nc->body, NGX_STREAM_DUALCAM_EVENT_MAGIC "stored %uL\n",
                    nc->created_ms);
    p = ngx_sprintf(p, "{\n  \"event\": \"stored\",\n  \"id\": \"%s\",\n"
                    "  \"time\": ", nc->id);
    p = ngx_stream_dualcam_json_time(p, nc->created_ms);
    p = ngx_sprintf(p, ",\n  \"path\": ");
    p = ngx_stream_dualcam_json_str(p, cm->artifacts[0].path,
                                           ngx_strlen(cm->artifacts[0].path));
    p = ngx_sprintf(p, ",\n  \"sidecar\": ");
    p = ngx_stream_dualcam_json_str(p, cm->sidecar,
                                           ngx_strlen(cm->sidecar));
    p = ngx_sprintf(p, ",\n  \"artifacts\": [");

    for (k = 0; k < cm->nartifacts; k++) {
        a = &cm->artifacts[k];

        p = ngx_sprintf(p, "%s{\"ext\": ", k ? ", " : "");
        p = ngx_stream_dualcam_json_str(p, (u_char *) a->ext,
                                               ngx_strlen(a->ext));
        p = ngx_sprintf(p, ", \"path\": ");
        p = ngx_stream_dualcam_json_str(p, a->path,
                                               ngx_strlen(a->path));
        *p++ = '}';
    }

    p = ngx_sprintf(p, "],");

    s = cm->json + 1;

    if ((size_t) (p - nc->body) + cm->json_len > nc->body_size) {
        return ngx_stream_dualcam_commit_fail(cm, NGX_LOG_ALERT, 0,
                                 "the event of \"%s\" does not fit",
                                 cm->artifacts[0].path);
    }

    p = ngx_cpymem(p, s, cm->json_len - 1);

    nc->body_len = p - nc->body;

    fd = ngx_open_file(nc->tmp, NGX_FILE_WRONLY, NGX_FILE_TRUNCATE,
                       NGX_FILE_DEFAULT_ACCESS);

    if (fd == NGX_INVALID_FILE) {
        return ngx_stream_dualcam_commit_fail(cm, NGX_LOG_CRIT, ngx_errno,
                                              ngx_open_file_n
                                              " \"%s\" failed", nc->tmp);
    }

    nc->fd = fd;
    nc->written = 1;

    err = ngx_stream_dualcam_pwrite(fd, nc->body, nc->body_len, 0);

    if (err) {
        return ngx_stream_dualcam_commit_fail(cm, NGX_LOG_CRIT, err,
                                              "pwrite() \"%s\" failed",
                                              nc->tmp);
    }

    return ngx_stream_dualcam_commit_sync_fd(cm, fd, nc->tmp);
}


void
ngx_stream_dualcam_notify_undo(ngx_stream_dualcam_commit_t *cm)
{
    ngx_stream_dualcam_notify_commit_t  *nc;

    nc = cm->notify;

    if (nc == NULL) {
        return;
    }

    if (nc->fd != NGX_INVALID_FILE) {
        (void) ngx_close_file(nc->fd);
        nc->fd = NGX_INVALID_FILE;
    }

    if (nc->written) {
        (void) ngx_delete_file(nc->tmp);
        nc->written = 0;
    }
}


/* one link per receiver; the directory is synced at the next barrier */

ngx_int_t
ngx_stream_dualcam_notify_publish_run(ngx_stream_dualcam_commit_t *cm)
{
    ngx_err_t                             err;
    ngx_uint_t                            i;
    ngx_stream_dualcam_outbox_t          *ob;
    ngx_stream_dualcam_notify_send_t     *sd;
    ngx_stream_dualcam_notify_commit_t   *nc;

    nc = cm->notify;

    if (nc == NULL) {
        return NGX_OK;
    }

    ob = nc->conf->outbox;

    if (ngx_close_file(nc->fd) == NGX_FILE_ERROR) {
        err = ngx_errno;
        nc->fd = NGX_INVALID_FILE;
        return ngx_stream_dualcam_commit_fail(cm, NGX_LOG_CRIT, err,
                                              ngx_close_file_n
                                              " \"%s\" failed", nc->tmp);
    }

    nc->fd = NGX_INVALID_FILE;

    sd = nc->conf->sends.elts;

    for (i = 0; i < nc->conf->sends.nelts; i++) {

        if (!(sd[i].events & NGX_STREAM_DUALCAM_EV_STORED)) {
            continue;
        }

        (void) ngx_stream_dualcam_outbox_name(nc->name, ob, nc->id,
                                              sd[i].target);

        if (link((char *) nc->tmp, (char *) nc->name) == -1) {
            return ngx_stream_dualcam_commit_fail(cm, NGX_LOG_CRIT,
                                                  ngx_errno,
                                                  "link() \"%s\" to \"%s\" "
                                                  "failed", nc->tmp,
                                                  nc->name);
        }

        nc->published = i + 1;
    }

    (void) ngx_delete_file(nc->tmp);
    nc->written = 0;

    return ngx_stream_dualcam_commit_sync_dir(cm, ob->dir);
}


void
ngx_stream_dualcam_notify_publish_undo(ngx_stream_dualcam_commit_t *cm)
{
    ngx_uint_t                           i;
    ngx_stream_dualcam_outbox_t         *ob;
    ngx_stream_dualcam_notify_send_t    *sd;
    ngx_stream_dualcam_notify_commit_t  *nc;

    nc = cm->notify;

    if (nc == NULL) {
        return;
    }

    ob = nc->conf->outbox;
    sd = nc->conf->sends.elts;

    for (i = 0; i < nc->published; i++) {

        if (!(sd[i].events & NGX_STREAM_DUALCAM_EV_STORED)) {
            continue;
        }

        (void) ngx_stream_dualcam_outbox_name(nc->name, ob, nc->id,
                                              sd[i].target);
        (void) ngx_delete_file(nc->name);
    }

    nc->published = 0;
}


/* in the event loop: the events are the delivery's now */

void
ngx_stream_dualcam_notify_report(ngx_stream_dualcam_commit_t *cm)
{
    ngx_uint_t                           i;
    ngx_stream_dualcam_outbox_t         *ob;
    ngx_stream_dualcam_notify_send_t    *sd;
    ngx_stream_dualcam_notify_commit_t  *nc;

    nc = cm->notify;

    if (nc == NULL || cm->rc != NGX_OK || nc->published == 0) {
        return;
    }

    ob = nc->conf->outbox;
    sd = nc->conf->sends.elts;

    for (i = 0; i < nc->published; i++) {

        if (!(sd[i].events & NGX_STREAM_DUALCAM_EV_STORED)) {
            continue;
        }

        (void) ngx_stream_dualcam_outbox_name(nc->name, ob, nc->id,
                                              sd[i].target);

        if (ngx_stream_dualcam_notify_add(ob, nc->name + ob->dir_len + 1,
                                          NGX_STREAM_DUALCAM_EV_STORED,
                                          nc->created_ms, 0)
            == NGX_OK)
        {
            ngx_stream_dualcam_zone_notify(sd[i].target->zone,
                                           NGX_STREAM_DUALCAM_NOTIFY_WRITTEN,
                                           nc->created_ms, NULL);
        }
    }

    ngx_stream_dualcam_notify_kick(ob);
}
