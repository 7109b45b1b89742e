
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The MP4 of a stored video, made in the commit task (see
 * ngx_stream_dualcam_mp4.h).  "mp4" runs after the hash, in the thread:
 * it reads the flushed partial twice (plan, copy) with pread() and
 * writes <partial>.mp4 in the temp path, which becomes an artifact of
 * the commit, so "sync files" fsyncs it with the raw file and "link"
 * links both under the one base name, never over an existing file.
 * "mp4 link" then closes it and removes its temp name.
 *
 * A recording the remuxer refuses, or an MP4 that cannot be written, is
 * not a failed commit: the raw file is stored as received, the sidecar
 * says "mp4": {"error": ...}, and the report logs the reason at warn
 * (crit for a disk error).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_stream_dualcam.h"
#include "ngx_stream_dualcam_mp4.h"
#include "dualcam_mp4.h"
#include "dualcam_json.h"


#define NGX_STREAM_DUALCAM_MP4_BUF  (256 * 1024)


typedef struct {
    ngx_stream_dualcam_mp4_result_t   result;     /* first: for others */

    u_char                           *tmp;        /* <partial>.mp4 */
    ngx_fd_t                          fd;
    ngx_uint_t                        artifact;
    ngx_uint_t                        level;      /* of the error */
    ngx_err_t                         err;
    unsigned                          created:1;
    char                              error[DUALCAM_MP4_ERR_LEN + 64];
    char                              json[DUALCAM_MP4_JSON_MAX];
} ngx_stream_dualcam_mp4_t;


static ngx_int_t ngx_stream_dualcam_mp4_plan(ngx_stream_dualcam_commit_t *cm,
    ngx_stream_dualcam_mp4_t *st, dualcam_mp4_t *m, u_char *buf);
static ngx_int_t ngx_stream_dualcam_mp4_copy(ngx_stream_dualcam_commit_t *cm,
    ngx_stream_dualcam_mp4_t *st, dualcam_mp4_t *m, u_char *buf,
    u_char *obuf);
static ngx_int_t ngx_stream_dualcam_mp4_refuse(ngx_stream_dualcam_commit_t *cm,
    ngx_stream_dualcam_mp4_t *st, ngx_uint_t level, ngx_err_t err,
    const char *fmt, ...);


/* a video, or a path-mode .h265 (a path-mode .mp4 is stored as is) */

ngx_int_t
ngx_stream_dualcam_mp4_prepare(ngx_stream_dualcam_commit_t *cm,
    ngx_pool_t *pool)
{
    size_t                          len;
    dualcam_file_t                 *file;
    ngx_stream_dualcam_mp4_t       *st;
    ngx_stream_dualcam_artifact_t  *a;

    file = cm->file;

    if (!cm->conf->mp4
        || cm->nartifacts == NGX_STREAM_DUALCAM_ARTIFACTS
        || (file->kind != DUALCAM_KIND_VIDEO
            && !(file->kind == DUALCAM_KIND_PATH
                 && ngx_strcmp((u_char *) dualcam_path_extension(file->name,
                                                      file->name_len),
                               "h265") == 0)))
    {
        return NGX_OK;
    }

    st = ngx_pcalloc(pool, sizeof(ngx_stream_dualcam_mp4_t));
    if (st == NULL) {
        return NGX_ERROR;
    }

    len = cm->part->file.name.len;

    st->tmp = ngx_pnalloc(pool, len + sizeof(".mp4"));
    if (st->tmp == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ngx_cpymem(st->tmp, cm->part->file.name.data, len),
               ".mp4", sizeof(".mp4"));

    st->fd = NGX_INVALID_FILE;
    st->artifact = cm->nartifacts;

    a = &cm->artifacts[cm->nartifacts++];
    a->tmp = st->tmp;
    a->ext = "mp4";

    cm->mp4 = st;

    return NGX_OK;
}


ngx_int_t
ngx_stream_dualcam_mp4_run(ngx_stream_dualcam_commit_t *cm)
{
    u_char                    *buf;
    ngx_int_t                  rc;
    dualcam_file_t            *file;
    dualcam_mp4_t             *m;
    dualcam_mp4_conf_t         conf;
    ngx_stream_dualcam_mp4_t  *st;

    st = cm->mp4;

    if (st == NULL) {
        return NGX_OK;
    }

    file = cm->file;

    ngx_memzero(&conf, sizeof(dualcam_mp4_conf_t));
    conf.audio = cm->conf->mp4_audio ? 1 : 0;

    /* plain Annex B is timed by the metadata's frame rate */

    if (file->has_meta && file->meta.framerate > 0
        && file->meta.framerate <= 240)
    {
        conf.fps_num = file->meta.framerate;
        conf.fps_den = 1;
    }

    /* in a thread: malloc(), not the session's pool */

    buf = malloc(2 * NGX_STREAM_DUALCAM_MP4_BUF);
    m = dualcam_mp4_create(&conf);

    if (buf == NULL || m == NULL) {
        free(buf);
        dualcam_mp4_destroy(m);
        return ngx_stream_dualcam_mp4_refuse(cm, st, NGX_LOG_CRIT, 0,
                                             "out of memory");
    }

    rc = ngx_stream_dualcam_mp4_plan(cm, st, m, buf);

    if (rc == NGX_OK) {
        rc = ngx_stream_dualcam_mp4_copy(cm, st, m, buf,
                                         buf + NGX_STREAM_DUALCAM_MP4_BUF);
    }

    if (rc == NGX_OK) {
        (void) dualcam_mp4_json(dualcam_mp4_info(m), st->json,
                                sizeof(st->json));
    }

    dualcam_mp4_destroy(m);
    free(buf);

    if (rc != NGX_OK) {
        return NGX_OK;
    }

    /* synced at "sync files" with the raw file */

    return ngx_stream_dualcam_commit_sync_fd(cm, st->fd, st->tmp);
}


static ngx_int_t
ngx_stream_dualcam_mp4_plan(ngx_stream_dualcam_commit_t *cm,
    ngx_stream_dualcam_mp4_t *st, dualcam_mp4_t *m, u_char *buf)
{
    off_t       off;
    ssize_t     n;
    ngx_fd_t    fd;
    ngx_err_t   err;

    fd = cm->part->file.fd;

    for (off = 0; off < (off_t) cm->size; off += n) {
        n = pread(fd, buf, ngx_min(NGX_STREAM_DUALCAM_MP4_BUF,
                                   (off_t) cm->size - off), off);

        if (n <= 0) {
            err = (n == 0) ? EIO : ngx_errno;

            if (err == NGX_EINTR) {
                n = 0;
                continue;
            }

            return ngx_stream_dualcam_mp4_refuse(cm, st, NGX_LOG_CRIT, err,
                                       "pread() \"%s\" failed",
                                       cm->part->file.name.data);
        }

        if (dualcam_mp4_plan(m, buf, n) != DUALCAM_MP4_OK) {
            break;
        }
    }

    if (dualcam_mp4_error(m) == NULL) {
        (void) dualcam_mp4_plan_end(m);
    }

    if (dualcam_mp4_error(m) != NULL) {
        return ngx_stream_dualcam_mp4_refuse(cm, st, NGX_LOG_WARN, 0, "%s",
                                             dualcam_mp4_error(m));
    }

    return NGX_OK;
}


static ngx_int_t
ngx_stream_dualcam_mp4_copy(ngx_stream_dualcam_commit_t *cm,
    ngx_stream_dualcam_mp4_t *st, dualcam_mp4_t *m, u_char *buf,
    u_char *obuf)
{
    int                rc;
    off_t              in, out;
    ssize_t            n;
    ngx_err_t          err;
    dualcam_mp4_io_t   io;

    st->fd = ngx_open_file(st->tmp, NGX_FILE_WRONLY, NGX_FILE_TRUNCATE,
                           NGX_FILE_DEFAULT_ACCESS);

    if (st->fd == NGX_INVALID_FILE) {
        return ngx_stream_dualcam_mp4_refuse(cm, st, NGX_LOG_CRIT, ngx_errno,
                                             ngx_open_file_n " \"%s\" failed",
                                             st->tmp);
    }

    st->created = 1;

    in = 0;
    out = 0;
    io.in_len = 0;
    io.out = obuf;
    io.out_len = NGX_STREAM_DUALCAM_MP4_BUF;
    rc = DUALCAM_MP4_AGAIN;

    while (rc == DUALCAM_MP4_AGAIN) {

        if (io.in_len == 0 && in < (off_t) cm->size) {
            n = pread(cm->part->file.fd, buf,
                      ngx_min(NGX_STREAM_DUALCAM_MP4_BUF,
                              (off_t) cm->size - in), in);

            if (n <= 0) {
                err = (n == 0) ? EIO : ngx_errno;

                if (err == NGX_EINTR) {
                    continue;
                }

                return ngx_stream_dualcam_mp4_refuse(cm, st, NGX_LOG_CRIT,
                                       err, "pread() \"%s\" failed",
                                       cm->part->file.name.data);
            }

            io.in = buf;
            io.in_len = n;
            in += n;
        }

        rc = dualcam_mp4_copy(m, &io);

        if (rc == DUALCAM_MP4_ERROR
            || (rc == DUALCAM_MP4_AGAIN && io.in_len == 0 && io.out_len
                && in == (off_t) cm->size))
        {
            return ngx_stream_dualcam_mp4_refuse(cm, st, NGX_LOG_ALERT, 0,
                                       "the copy pass failed: %s",
                                       rc == DUALCAM_MP4_ERROR
                                       ? dualcam_mp4_error(m)
                                       : "the input ended early");
        }

        if (io.out_len == 0 || rc == DUALCAM_MP4_DONE) {
            err = ngx_stream_dualcam_pwrite(st->fd, obuf, io.out - obuf,
                                            out);
            if (err) {
                return ngx_stream_dualcam_mp4_refuse(cm, st, NGX_LOG_CRIT,
                                       err, "pwrite() \"%s\" failed",
                                       st->tmp);
            }

            out += io.out - obuf;
            io.out = obuf;
            io.out_len = NGX_STREAM_DUALCAM_MP4_BUF;
        }
    }

    return NGX_OK;
}


/* no MP4, and why: the artifact goes, the raw file is stored alone */

static ngx_int_t
ngx_stream_dualcam_mp4_refuse(ngx_stream_dualcam_commit_t *cm,
    ngx_stream_dualcam_mp4_t *st, ngx_uint_t level, ngx_err_t err,
    const char *fmt, ...)
{
    u_char      *p;
    va_list      args;
    ngx_uint_t   k;

    va_start(args, fmt);
    p = ngx_vslprintf((u_char *) st->error,
                      (u_char *) st->error + sizeof(st->error) - 1, fmt,
                      args);
    va_end(args);

    *p = '\0';

    st->result.error = st->error;
    st->level = level;
    st->err = err;

    if (st->fd != NGX_INVALID_FILE) {
        (void) ngx_close_file(st->fd);
        st->fd = NGX_INVALID_FILE;
    }

    if (st->created) {
        (void) ngx_delete_file(st->tmp);
        st->created = 0;
    }

    for (k = st->artifact; k + 1 < cm->nartifacts; k++) {
        cm->artifacts[k] = cm->artifacts[k + 1];
    }

    cm->nartifacts--;

    return NGX_ERROR;
}


void
ngx_stream_dualcam_mp4_undo(ngx_stream_dualcam_commit_t *cm)
{
    ngx_stream_dualcam_mp4_t  *st;

    st = cm->mp4;

    if (st == NULL) {
        return;
    }

    if (st->fd != NGX_INVALID_FILE) {
        (void) ngx_close_file(st->fd);
        st->fd = NGX_INVALID_FILE;
    }

    if (st->created) {
        (void) ngx_delete_file(st->tmp);
        st->created = 0;
    }

    /* "link" takes back the name in the store */
    st->result.path = NULL;
}


/* after "link": the MP4 is in the store, its temp name goes */

ngx_int_t
ngx_stream_dualcam_mp4_link_run(ngx_stream_dualcam_commit_t *cm)
{
    ngx_stream_dualcam_mp4_t  *st;

    st = cm->mp4;

    if (st == NULL || st->result.error != NULL) {
        return NGX_OK;
    }

    st->result.path = cm->artifacts[st->artifact].path;

    (void) ngx_close_file(st->fd);
    st->fd = NGX_INVALID_FILE;

    (void) ngx_delete_file(st->tmp);
    st->created = 0;

    return NGX_OK;
}


void
ngx_stream_dualcam_mp4_report(ngx_stream_dualcam_commit_t *cm)
{
    ngx_stream_dualcam_mp4_t  *st;

    st = cm->mp4;

    if (st == NULL || cm->duplicate) {
        return;
    }

    if (st->result.error) {
        ngx_log_error(st->level, cm->log, st->err,
                      "no MP4 of \"%s\", stored as received: %s",
                      cm->artifacts[0].path ? cm->artifacts[0].path
                                            : cm->part->file.name.data,
                      st->error);
        return;
    }

    if (st->result.path) {
        ngx_log_error(NGX_LOG_INFO, cm->log, 0, "stored \"%s\" too",
                      st->result.path);
    }
}


size_t
ngx_stream_dualcam_mp4_sidecar_size(ngx_stream_dualcam_commit_t *cm)
{
    if (cm->mp4 == NULL) {
        return 0;
    }

    return sizeof(",\n  \"mp4\": {\"file\": \"\", }")
           + DUALCAM_JSON_ESCAPE_MAX
             * (NGX_MAX_PATH + DUALCAM_MP4_ERR_LEN + 64)
           + DUALCAM_MP4_JSON_MAX;
}


u_char *
ngx_stream_dualcam_mp4_sidecar(u_char *p, ngx_stream_dualcam_commit_t *cm)
{
    u_char                    *name;
    ngx_stream_dualcam_mp4_t  *st;

    st = cm->mp4;

    if (st == NULL || (st->result.path == NULL && st->result.error == NULL))
    {
        return p;
    }

    p = ngx_sprintf(p, ",\n  \"mp4\": {");

    if (st->result.error) {
        p = ngx_sprintf(p, "\"error\": \"");
        p = dualcam_json_escape(p, (u_char *) st->error,
                                ngx_strlen(st->error));
        return ngx_sprintf(p, "\"}");
    }

    name = st->result.path + ngx_strlen(st->result.path);

    while (name > st->result.path && name[-1] != '/') {
        name--;
    }

    p = ngx_sprintf(p, "\"file\": \"");
    p = dualcam_json_escape(p, name, ngx_strlen(name));

    return ngx_sprintf(p, "\", %s}", st->json);
}


/* the session's last MP4, kept for $dualcam_mp4 */

void
ngx_stream_dualcam_mp4_committed(ngx_stream_session_t *s,
    ngx_stream_dualcam_commit_t *cm)
{
    u_char                    *name, *end;
    ngx_str_t                  path;
    ngx_stream_dualcam_ctx_t  *ctx;
    ngx_stream_dualcam_mp4_t  *st;

    st = cm->mp4;

    if (st == NULL || st->result.path == NULL || cm->duplicate) {
        return;
    }

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_dualcam_module);

    end = st->result.path + ngx_strlen(st->result.path);

    for (name = end; name > st->result.path && name[-1] != '/'; name--) {
        /* void */
    }

    ctx->mp4.data = ngx_pnalloc(s->connection->pool, end - name);
    if (ctx->mp4.data == NULL) {
        ctx->mp4.len = 0;
        return;
    }

    ctx->mp4.len = end - name;
    ngx_memcpy(ctx->mp4.data, name, ctx->mp4.len);

    /* the path lives in cm until the session's next commit */
    path.data = st->result.path;
    path.len = end - path.data;
    ngx_stream_dualcam_zone_file_mp4(ctx->zs, &path);
}


ngx_int_t
ngx_stream_dualcam_mp4_variable(ngx_stream_session_t *s,
    ngx_stream_variable_value_t *v, uintptr_t data)
{
    ngx_stream_dualcam_ctx_t  *ctx;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_dualcam_module);

    if (ctx == NULL || ctx->mp4.len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = ctx->mp4.len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = ctx->mp4.data;

    return NGX_OK;
}
