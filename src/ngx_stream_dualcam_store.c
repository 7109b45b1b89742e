
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * Partials, commit and the sweeper (see ngx_stream_dualcam_store.h).
 *
 * A partial holds verified bytes only, written in order, so its size on
 * disk is always a verified prefix: a crash loses at most the buffered
 * tail, never correctness.  A connection owns a partial while it holds
 * flock() on it (flock, not fcntl: two connections of one worker must
 * exclude each other too); the sweeper takes the same lock before it
 * removes anything.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include <sys/file.h>

#include "ngx_stream_dualcam_store.h"


#define NGX_STREAM_DUALCAM_ID_LEN     (64 + 2 * (DUALCAM_PATH_MAX + 1))
#define NGX_STREAM_DUALCAM_FNAME_LEN  (NGX_INT64_LEN + 1 + 16 + 1 + 16)
#define NGX_STREAM_DUALCAM_BASE_LEN   64
#define NGX_STREAM_DUALCAM_SUFFIXES   10000


static size_t ngx_stream_dualcam_identity(u_char *id, uint64_t imei,
    dualcam_file_t *file);
static ngx_int_t ngx_stream_dualcam_state(ngx_stream_dualcam_part_t *part,
    u_char *id, size_t len, uint64_t *have);
static u_char *ngx_stream_dualcam_state_path(u_char *buf, ngx_str_t *name);
static ngx_int_t ngx_stream_dualcam_store_flush(
    ngx_stream_dualcam_part_t *part);
static void ngx_stream_dualcam_store_close(ngx_stream_dualcam_part_t *part);
static u_char *ngx_stream_dualcam_base_name(u_char *p,
    ngx_stream_dualcam_commit_t *info, const char **ext);
static ngx_int_t ngx_stream_dualcam_sidecar(ngx_stream_dualcam_part_t *part,
    ngx_stream_dualcam_store_conf_t *conf, ngx_stream_dualcam_commit_t *info,
    ngx_str_t *stored, u_char *tmp);
static u_char *ngx_stream_dualcam_json_str(u_char *p, u_char *s, size_t len);
static u_char *ngx_stream_dualcam_json_time(u_char *p, uint64_t ms);
static u_char *ngx_stream_dualcam_json_meta(u_char *p, dualcam_meta_t *m,
    ngx_str_t *json);
static ngx_int_t ngx_stream_dualcam_fsync_dir(u_char *dir, ngx_log_t *log);
static void ngx_stream_dualcam_sweep_dir(u_char *dir, size_t len,
    ngx_uint_t depth, time_t timeout, ngx_log_t *log);
static void ngx_stream_dualcam_sweep_file(u_char *path, size_t len,
    time_t mtime, ngx_log_t *log);


ngx_int_t
ngx_stream_dualcam_store_open(ngx_stream_dualcam_part_t *part,
    ngx_stream_dualcam_store_conf_t *conf, ngx_pool_t *pool, ngx_log_t *log,
    uint64_t imei, dualcam_file_t *file, uint64_t *have)
{
    u_char          *p, *fname;
    size_t           len, idlen;
    ngx_fd_t         fd;
    ngx_err_t        err;
    ngx_uint_t       n, created, resumable;
    ngx_path_t      *path;
    ngx_file_info_t  fi, pi;
    u_char           id[NGX_STREAM_DUALCAM_ID_LEN];

    *have = 0;

    ngx_memzero(part, sizeof(ngx_stream_dualcam_part_t));
    part->file.fd = NGX_INVALID_FILE;
    part->file.log = log;

    path = conf->temp_path;

    /* <temp>/<levels>/<fname>, room for ".state" and ".json" after it */

    len = path->name.len + path->len + 1 + NGX_STREAM_DUALCAM_FNAME_LEN;

    part->file.name.data = ngx_pnalloc(pool, len + sizeof(".state"));
    if (part->file.name.data == NULL) {
        return NGX_ERROR;
    }

    fname = part->file.name.data + path->name.len + path->len + 1;

    idlen = ngx_stream_dualcam_identity(id, imei, file);
    resumable = conf->resume;
    created = 0;

    for (n = 0; n < 16; n++) {

        if (resumable) {
            p = ngx_sprintf(fname, "%uL-%08xD%08xD", imei,
                            ngx_crc32_long(id, idlen),
                            ngx_murmur_hash2(id, idlen));

        } else {
            p = ngx_sprintf(fname, "%uL-%08xD%08xD", imei,
                            (uint32_t) ngx_pid,
                            (uint32_t) ngx_next_temp_number(n != 0));
        }

        *p = '\0';

        ngx_memcpy(part->file.name.data, path->name.data, path->name.len);
        part->file.name.len = p - part->file.name.data;
        ngx_create_hashed_filename(path, part->file.name.data,
                                   part->file.name.len);

        fd = ngx_open_file(part->file.name.data, NGX_FILE_RDWR,
                           (resumable ? NGX_FILE_CREATE_OR_OPEN
                                      : NGX_FILE_CREATE_OR_OPEN|O_EXCL),
                           NGX_FILE_DEFAULT_ACCESS);

        if (fd == NGX_INVALID_FILE) {
            err = ngx_errno;

            if (err == NGX_ENOENT && !created && path->len) {
                created = 1;

                if (ngx_create_path(&part->file, path) == NGX_ERROR) {
                    return NGX_ERROR;
                }

                continue;
            }

            if (err == NGX_EEXIST_FILE && !resumable) {
                continue;
            }

            ngx_log_error(NGX_LOG_CRIT, log, err,
                          ngx_open_file_n " \"%s\" failed",
                          part->file.name.data);
            return NGX_ERROR;
        }

        if (flock(fd, LOCK_EX|LOCK_NB) == -1) {
            err = ngx_errno;
            ngx_close_file(fd);

            if (err == NGX_EAGAIN && resumable) {
                /* another connection uploads this file: go private */
                ngx_log_error(NGX_LOG_INFO, log, 0,
                              "partial \"%s\" is in use, uploading into "
                              "a private temp file", part->file.name.data);
                resumable = 0;
                continue;
            }

            ngx_log_error(NGX_LOG_CRIT, log, err, "flock(\"%s\") failed",
                          part->file.name.data);
            return NGX_ERROR;
        }

        /* the lock counts only if the path still names this file */

        if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
            ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                          ngx_fd_info_n " \"%s\" failed",
                          part->file.name.data);
            ngx_close_file(fd);
            return NGX_ERROR;
        }

        if (ngx_file_info(part->file.name.data, &pi) == NGX_FILE_ERROR
            || ngx_file_uniq(&pi) != ngx_file_uniq(&fi))
        {
            ngx_close_file(fd);
            continue;
        }

        break;
    }

    if (n == 16) {
        ngx_log_error(NGX_LOG_CRIT, log, 0, "cannot open a partial for "
                      "\"%s\"", part->file.name.data);
        return NGX_ERROR;
    }

    part->file.fd = fd;
    part->open = 1;
    part->resumable = resumable;

    if (!resumable) {
        return NGX_OK;
    }

    if (ngx_stream_dualcam_state(part, id, idlen, have) != NGX_OK) {
        ngx_stream_dualcam_store_abort(part, 0, 0);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the state record: what the partial is a prefix of */

static size_t
ngx_stream_dualcam_identity(u_char *id, uint64_t imei, dualcam_file_t *file)
{
    u_char  *p;
    size_t   i;

    p = ngx_sprintf(id, "dualcam partial 1\nimei %uL\ntotal %uD\ntime %uL\n"
                    "name ", imei, file->total,
                    file->has_meta ? file->meta.time_ms : (uint64_t) 0);

    for (i = 0; i < file->name_len && i < DUALCAM_PATH_MAX + 1; i++) {
        p = ngx_sprintf(p, "%02xd", (u_char) file->name[i]);
    }

    *p++ = '\n';

    return p - id;
}


static ngx_int_t
ngx_stream_dualcam_state(ngx_stream_dualcam_part_t *part, u_char *id,
    size_t len, uint64_t *have)
{
    ssize_t          n;
    ngx_fd_t         fd;
    ngx_file_info_t  fi;
    u_char           name[NGX_MAX_PATH], old[NGX_STREAM_DUALCAM_ID_LEN + 1];

    if (part->file.name.len + sizeof(".state") > NGX_MAX_PATH) {
        ngx_log_error(NGX_LOG_CRIT, part->file.log, 0,
                      "temp path \"%s\" is too long", part->file.name.data);
        return NGX_ERROR;
    }

    ngx_stream_dualcam_state_path(name, &part->file.name);

    fd = ngx_open_file(name, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd != NGX_INVALID_FILE) {
        n = ngx_read_fd(fd, old, sizeof(old));
        ngx_close_file(fd);

        if (n == (ssize_t) len && ngx_memcmp(old, id, len) == 0) {

            if (ngx_fd_info(part->file.fd, &fi) == NGX_FILE_ERROR) {
                ngx_log_error(NGX_LOG_CRIT, part->file.log, ngx_errno,
                              ngx_fd_info_n " \"%s\" failed",
                              part->file.name.data);
                return NGX_ERROR;
            }

            part->size = ngx_file_size(&fi);
            *have = part->size;

            return NGX_OK;
        }
    }

    /* a new partial, or one of another file under a colliding name */

    if (ngx_fd_info(part->file.fd, &fi) != NGX_FILE_ERROR
        && ngx_file_size(&fi) == 0)
    {
        /*
         * still empty: no ftruncate(), which makes ext4 flush the
         * file on close() (auto_da_alloc)
         */

    } else if (ftruncate(part->file.fd, 0) == -1) {
        ngx_log_error(NGX_LOG_CRIT, part->file.log, ngx_errno,
                      "ftruncate() \"%s\" failed", part->file.name.data);
        return NGX_ERROR;
    }

    fd = ngx_open_file(name, NGX_FILE_WRONLY, NGX_FILE_TRUNCATE,
                       NGX_FILE_DEFAULT_ACCESS);

    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_CRIT, part->file.log, ngx_errno,
                      ngx_open_file_n " \"%s\" failed", name);
        return NGX_ERROR;
    }

    n = ngx_write_fd(fd, id, len);

    if (n != (ssize_t) len) {
        ngx_log_error(NGX_LOG_CRIT, part->file.log, ngx_errno,
                      ngx_write_fd_n " \"%s\" failed", name);
        ngx_close_file(fd);
        ngx_delete_file(name);
        return NGX_ERROR;
    }

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_CRIT, part->file.log, ngx_errno,
                      ngx_close_file_n " \"%s\" failed", name);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static u_char *
ngx_stream_dualcam_state_path(u_char *buf, ngx_str_t *name)
{
    u_char  *p;

    p = ngx_cpymem(buf, name->data, name->len);
    p = ngx_cpymem(p, ".state", sizeof(".state"));

    return buf;
}


ngx_int_t
ngx_stream_dualcam_store_keep(ngx_stream_dualcam_part_t *part,
    uint64_t bytes)
{
    if ((off_t) bytes == part->size) {
        return NGX_OK;
    }

    if (ftruncate(part->file.fd, (off_t) bytes) == -1) {
        ngx_log_error(NGX_LOG_CRIT, part->file.log, ngx_errno,
                      "ftruncate() \"%s\" failed", part->file.name.data);
        return NGX_ERROR;
    }

    part->size = (off_t) bytes;

    return NGX_OK;
}


ngx_int_t
ngx_stream_dualcam_store_write(ngx_stream_dualcam_part_t *part,
    const u_char *data, size_t len, uint64_t offset)
{
    if (part->buf_len
        && ((off_t) offset != part->buf_offset + (off_t) part->buf_len
            || part->buf_len + len > NGX_STREAM_DUALCAM_WRITE_BUF))
    {
        if (ngx_stream_dualcam_store_flush(part) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (len > NGX_STREAM_DUALCAM_WRITE_BUF) {
        if (ngx_write_file(&part->file, (u_char *) data, len, (off_t) offset)
            == NGX_ERROR)
        {
            part->failed = 1;
            return NGX_ERROR;
        }

        if ((off_t) (offset + len) > part->size) {
            part->size = (off_t) (offset + len);
        }

        return NGX_OK;
    }

    if (part->buf == NULL) {
        part->buf = ngx_alloc(NGX_STREAM_DUALCAM_WRITE_BUF, part->file.log);
        if (part->buf == NULL) {
            part->failed = 1;
            return NGX_ERROR;
        }
    }

    if (part->buf_len == 0) {
        part->buf_offset = (off_t) offset;
    }

    ngx_memcpy(part->buf + part->buf_len, data, len);
    part->buf_len += len;

    if (part->buf_len == NGX_STREAM_DUALCAM_WRITE_BUF) {
        return ngx_stream_dualcam_store_flush(part);
    }

    return NGX_OK;
}


ngx_int_t
ngx_stream_dualcam_store_idle(ngx_stream_dualcam_part_t *part)
{
    ngx_int_t  rc;

    if (!part->open || part->buf == NULL) {
        return NGX_OK;
    }

    rc = ngx_stream_dualcam_store_flush(part);

    ngx_free(part->buf);
    part->buf = NULL;

    return rc;
}


static ngx_int_t
ngx_stream_dualcam_store_flush(ngx_stream_dualcam_part_t *part)
{
    off_t  end;

    if (part->buf_len == 0) {
        return NGX_OK;
    }

    if (ngx_write_file(&part->file, part->buf, part->buf_len,
                       part->buf_offset)
        == NGX_ERROR)
    {
        part->failed = 1;
        part->buf_len = 0;
        return NGX_ERROR;
    }

    end = part->buf_offset + (off_t) part->buf_len;

    if (end > part->size) {
        part->size = end;
    }

    part->buf_len = 0;

    return NGX_OK;
}


ngx_int_t
ngx_stream_dualcam_store_prepare(ngx_stream_dualcam_part_t *part,
    ngx_stream_dualcam_store_conf_t *conf, ngx_pool_t *pool,
    ngx_stream_dualcam_commit_t *info)
{
    size_t           len;
    dualcam_file_t  *file;

    /* <store>/<IMEI>/<base>[-n].<ext>[.json] */

    len = conf->store.len + 1 + NGX_INT64_LEN + 1
          + NGX_STREAM_DUALCAM_BASE_LEN + 1 + NGX_INT_T_LEN + 1 + 8
          + sizeof(".json");

    info->target = ngx_pnalloc(pool, len);
    if (info->target == NULL) {
        return NGX_ERROR;
    }

    info->tmp = ngx_pnalloc(pool, part->file.name.len + sizeof(".json"));
    if (info->tmp == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ngx_cpymem(info->tmp, part->file.name.data,
                          part->file.name.len),
               ".json", sizeof(".json"));

    file = info->file;

    info->json_size = 2048
                      + 6 * (file->name_len + info->peer->len + len)
                      + 6 * info->meta_json.len + 2 * DUALCAM_META_RAW_MAX;

    info->json = ngx_pnalloc(pool, info->json_size);
    if (info->json == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_stream_dualcam_store_commit(ngx_stream_dualcam_part_t *part,
    ngx_stream_dualcam_store_conf_t *conf, ngx_stream_dualcam_commit_t *info,
    ngx_str_t *stored)
{
    u_char          *target, *dir_end, *base, *p;
    ngx_err_t        err;
    ngx_log_t       *log;
    ngx_uint_t       n, new_dir;
    const char      *ext;
    ngx_file_info_t  fi;

    log = part->file.log;

    if (part->failed || ngx_stream_dualcam_store_flush(part) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_fd_info(part->file.fd, &fi) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      ngx_fd_info_n " \"%s\" failed", part->file.name.data);
        return NGX_ERROR;
    }

    if (ngx_file_size(&fi) != (off_t) info->size) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "partial \"%s\" has %O bytes, the file %uL",
                      part->file.name.data, ngx_file_size(&fi), info->size);
        return NGX_ERROR;
    }

    if (conf->fsync && fsync(part->file.fd) == -1) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "fsync() \"%s\" failed", part->file.name.data);
        return NGX_ERROR;
    }

    target = info->target;

    dir_end = ngx_sprintf(target, "%V/%uL", &conf->store, info->imei);
    *dir_end = '\0';

    new_dir = 0;

    if (ngx_create_dir(target, 0755) == NGX_FILE_ERROR) {
        err = ngx_errno;

        if (err != NGX_EEXIST) {
            ngx_log_error(NGX_LOG_CRIT, log, err,
                          ngx_create_dir_n " \"%s\" failed", target);
            return NGX_ERROR;
        }

    } else {
        new_dir = 1;
    }

    *dir_end = '/';
    base = ngx_stream_dualcam_base_name(dir_end + 1, info, &ext);

    for (n = 0; n < NGX_STREAM_DUALCAM_SUFFIXES; n++) {

        p = base;

        if (n) {
            p = ngx_sprintf(p, "-%ui", n);
        }

        p = ngx_sprintf(p, ".%s%Z", ext);

        if (link((char *) part->file.name.data, (char *) target) == 0) {
            break;
        }

        err = ngx_errno;

        if (err == NGX_EEXIST_FILE) {
            continue;
        }

        if (err == NGX_EXDEV) {
            ngx_log_error(NGX_LOG_CRIT, log, err,
                          "link() \"%s\" to \"%s\" failed: "
                          "dualcam_temp_path must be on the file system "
                          "of dualcam_store", part->file.name.data, target);
        } else {
            ngx_log_error(NGX_LOG_CRIT, log, err,
                          "link() \"%s\" to \"%s\" failed",
                          part->file.name.data, target);
        }

        return NGX_ERROR;
    }

    if (n == NGX_STREAM_DUALCAM_SUFFIXES) {
        ngx_log_error(NGX_LOG_CRIT, log, 0, "no free name for \"%s\"",
                      target);
        return NGX_ERROR;
    }

    stored->data = target;
    stored->len = p - 1 - target;

    /* the sidecar: written beside the partial, then renamed */

    if (ngx_stream_dualcam_sidecar(part, conf, info, stored, info->tmp)
        != NGX_OK)
    {
        goto failed;
    }

    *dir_end = '\0';

    if (conf->fsync) {
        if (ngx_stream_dualcam_fsync_dir(target, log) != NGX_OK) {
            *dir_end = '/';
            goto failed_sidecar;
        }

        if (new_dir
            && ngx_stream_dualcam_fsync_dir(conf->store.data, log) != NGX_OK)
        {
            *dir_end = '/';
            goto failed_sidecar;
        }
    }

    *dir_end = '/';

    /* the file is in the store: the partial is done with */

    if (ngx_delete_file(part->file.name.data) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      ngx_delete_file_n " \"%s\" failed",
                      part->file.name.data);
    }

    ngx_stream_dualcam_store_close(part);

    return NGX_OK;

failed_sidecar:

    ngx_memcpy(stored->data + stored->len, ".json", sizeof(".json"));

    if (ngx_delete_file(stored->data) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      ngx_delete_file_n " \"%s\" failed", stored->data);
    }

    stored->data[stored->len] = '\0';

failed:

    if (ngx_delete_file(target) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      ngx_delete_file_n " \"%s\" failed", target);
    }

    ngx_str_null(stored);

    return NGX_ERROR;
}


static u_char *
ngx_stream_dualcam_base_name(u_char *p, ngx_stream_dualcam_commit_t *info,
    const char **ext)
{
    time_t           sec;
    uint64_t         ms;
    ngx_tm_t         tm;
    const char      *kind;
    dualcam_file_t  *file;

    file = info->file;

    ms = (file->has_meta && file->meta.time_ms) ? file->meta.time_ms
                                                : info->finished_ms;
    sec = (time_t) (ms / 1000);

    ngx_gmtime(sec, &tm);

    p = ngx_sprintf(p, "%4d%02d%02d-%02d%02d%02d-",
                    tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                    tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec);

    if (file->side != DUALCAM_SIDE_NONE) {
        p = ngx_sprintf(p, "%s-", dualcam_side_name(file->side));
    }

    switch (file->kind) {

    case DUALCAM_KIND_PHOTO:
        *ext = "jpg";
        kind = "photo";
        break;

    case DUALCAM_KIND_VIDEO:
        *ext = "h265";
        kind = "video";
        break;

    default:
        *ext = dualcam_path_extension(file->name, file->name_len);

        if (file->has_meta && file->meta.type == DUALCAM_META_ADAS) {
            kind = "adas";

        } else if (file->has_meta && file->meta.type == DUALCAM_META_DSM) {
            kind = "dsm";

        } else {
            kind = dualcam_kind_name(file->kind);
        }
    }

    return ngx_sprintf(p, "%s", kind);
}


static ngx_int_t
ngx_stream_dualcam_sidecar(ngx_stream_dualcam_part_t *part,
    ngx_stream_dualcam_store_conf_t *conf, ngx_stream_dualcam_commit_t *info,
    ngx_str_t *stored, u_char *tmp)
{
    u_char          *buf, *p, *json;
    ssize_t          n;
    ngx_fd_t         fd;
    ngx_str_t        sname;
    ngx_log_t       *log;
    dualcam_file_t  *file;

    log = part->file.log;
    file = info->file;

    buf = info->json;

    /* the name in the IMEI directory */

    sname.data = stored->data + stored->len;

    while (sname.data > stored->data && sname.data[-1] != '/') {
        sname.data--;
    }

    sname.len = stored->data + stored->len - sname.data;

    p = ngx_sprintf(buf, "{\n  \"imei\": \"%uL\",\n  \"peer\": ", info->imei);
    p = ngx_stream_dualcam_json_str(p, info->peer->data, info->peer->len);
    p = ngx_sprintf(p, ",\n  \"protocol\": %ui,\n  \"side\": \"%s\",\n"
                    "  \"kind\": \"%s\",\n  \"name\": ",
                    info->protocol, dualcam_side_name(file->side),
                    dualcam_kind_name(file->kind));
    p = ngx_stream_dualcam_json_str(p, (u_char *) file->name,
                                    ngx_strnlen((u_char *) file->name,
                                                file->name_len));
    p = ngx_sprintf(p, ",\n  \"file\": ");
    p = ngx_stream_dualcam_json_str(p, sname.data, sname.len);
    p = ngx_sprintf(p, ",\n  \"size\": %uL,\n  \"packets\": %uD,\n"
                    "  \"crc_failures\": %uD,\n  \"resumes\": %uD,\n"
                    "  \"resumed_from\": %uL,\n  \"started\": ",
                    info->size, file->packets, file->crc_errors,
                    file->resumes, file->resume_from);
    p = ngx_stream_dualcam_json_time(p, info->started_ms);
    p = ngx_sprintf(p, ",\n  \"finished\": ");
    p = ngx_stream_dualcam_json_time(p, info->finished_ms);

    if (file->has_meta) {
        p = ngx_sprintf(p, ",\n  \"metadata\": ");
        p = ngx_stream_dualcam_json_meta(p, &file->meta, &info->meta_json);
    }

    p = ngx_sprintf(p, "\n}\n");

    json = buf;

    fd = ngx_open_file(tmp, NGX_FILE_WRONLY, NGX_FILE_TRUNCATE,
                       NGX_FILE_DEFAULT_ACCESS);

    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      ngx_open_file_n " \"%s\" failed", tmp);
        return NGX_ERROR;
    }

    n = ngx_write_fd(fd, json, p - json);

    if (n != p - json) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      ngx_write_fd_n " \"%s\" failed", tmp);
        goto failed;
    }

    if (conf->fsync && fsync(fd) == -1) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "fsync() \"%s\" failed", tmp);
        goto failed;
    }

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      ngx_close_file_n " \"%s\" failed", tmp);
        ngx_delete_file(tmp);
        return NGX_ERROR;
    }

    ngx_memcpy(stored->data + stored->len, ".json", sizeof(".json"));

    if (ngx_rename_file(tmp, stored->data) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      ngx_rename_file_n " \"%s\" to \"%s\" failed",
                      tmp, stored->data);
        stored->data[stored->len] = '\0';
        ngx_delete_file(tmp);
        return NGX_ERROR;
    }

    stored->data[stored->len] = '\0';

    return NGX_OK;

failed:

    ngx_close_file(fd);
    ngx_delete_file(tmp);

    return NGX_ERROR;
}


static u_char *
ngx_stream_dualcam_json_str(u_char *p, u_char *s, size_t len)
{
    *p++ = '"';
    p = (u_char *) ngx_escape_json(p, s, len);
    *p++ = '"';

    return p;
}


static u_char *
ngx_stream_dualcam_json_time(u_char *p, uint64_t ms)
{
    ngx_tm_t  tm;

    ngx_gmtime((time_t) (ms / 1000), &tm);

    return ngx_sprintf(p, "\"%4d-%02d-%02dT%02d:%02d:%02d.%03uDZ\"",
                       tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                       tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec,
                       (uint32_t) (ms % 1000));
}


static u_char *
ngx_stream_dualcam_json_meta(u_char *p, dualcam_meta_t *m, ngx_str_t *json)
{
    size_t       i;
    const char  *type;

    switch (m->type) {
    case DUALCAM_META_DUALCAM:
        type = "dualcam";
        break;
    case DUALCAM_META_ADAS:
        type = "adas";
        break;
    case DUALCAM_META_DSM:
        type = "dsm";
        break;
    case DUALCAM_META_JSON:
        type = "json";
        break;
    default:
        type = "none";
    }

    p = ngx_sprintf(p, "{\n    \"type\": \"%s\"", type);

    if (m->type == DUALCAM_META_DUALCAM) {
        p = ngx_sprintf(p, ",\n    \"version\": %ud", m->version);
    }

    if (m->type != DUALCAM_META_JSON) {
        p = ngx_sprintf(p, ",\n    \"file_type\": %ud", m->file_type);
    }

    if (m->time_ms) {
        p = ngx_sprintf(p, ",\n    \"capture_time\": ");
        p = ngx_stream_dualcam_json_time(p, m->time_ms);
        p = ngx_sprintf(p, ",\n    \"capture_time_ms\": %uL", m->time_ms);
    }

    if (m->type == DUALCAM_META_DUALCAM || m->type == DUALCAM_META_ADAS
        || m->type == DUALCAM_META_DSM)
    {
        p = ngx_sprintf(p, ",\n    \"trigger\": %ud,\n"
                        "    \"trigger_text\": \"%s\"", m->trigger,
                        dualcam_trigger_text(m->type, m->trigger));
    }

    if (m->type == DUALCAM_META_DUALCAM || m->type == DUALCAM_META_ADAS) {
        p = ngx_sprintf(p, ",\n    \"duration\": %ud", m->duration);
    }

    if (m->type == DUALCAM_META_DUALCAM && m->version >= 2) {
        p = ngx_sprintf(p, ",\n    \"framerate\": %ud", m->framerate);
    }

    if (m->type == DUALCAM_META_DUALCAM && m->version >= 3) {
        p = ngx_sprintf(p, ",\n    \"timezone_minutes\": %d",
                        m->tz_minutes);
    }

    if (m->has_position) {
        p = ngx_sprintf(p, ",\n    \"latitude\": %.7f,\n"
                        "    \"longitude\": %.7f",
                        m->latitude, m->longitude);
    }

    if (m->has_trigger_time) {
        p = ngx_sprintf(p, ",\n    \"trigger_time\": ");
        p = ngx_stream_dualcam_json_time(p, m->trigger_time_ms);
    }

    if (m->type == DUALCAM_META_DSM) {
        p = ngx_sprintf(p, ",\n    \"dsm_events\": %ud,\n    \"driver\": ",
                        m->dsm_events);
        p = ngx_stream_dualcam_json_str(p, (u_char *) m->driver,
                                        ngx_strnlen((u_char *) m->driver,
                                                    sizeof(m->driver)));
    }

    if (json->len) {
        p = ngx_sprintf(p, ",\n    \"json\": ");
        p = ngx_stream_dualcam_json_str(p, json->data, json->len);
    }

    if (m->raw_len) {
        p = ngx_sprintf(p, ",\n    \"raw\": \"");

        for (i = 0; i < m->raw_len && i < DUALCAM_META_RAW_MAX; i++) {
            p = ngx_sprintf(p, "%02xd", m->raw[i]);
        }

        *p++ = '"';
    }

    return ngx_sprintf(p, "\n  }");
}


static ngx_int_t
ngx_stream_dualcam_fsync_dir(u_char *dir, ngx_log_t *log)
{
    ngx_fd_t  fd;

    fd = ngx_open_file(dir, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      ngx_open_file_n " \"%s\" failed", dir);
        return NGX_ERROR;
    }

    if (fsync(fd) == -1) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "fsync() \"%s\" failed", dir);
        ngx_close_file(fd);
        return NGX_ERROR;
    }

    ngx_close_file(fd);

    return NGX_OK;
}


void
ngx_stream_dualcam_store_abort(ngx_stream_dualcam_part_t *part,
    ngx_uint_t keep, uint64_t verified)
{
    ngx_file_info_t  fi;

    if (!part->open) {
        return;
    }

    if (keep && part->resumable && !part->failed
        && ngx_stream_dualcam_store_flush(part) == NGX_OK
        && ngx_fd_info(part->file.fd, &fi) != NGX_FILE_ERROR)
    {
        if (ngx_file_size(&fi) > (off_t) verified) {
            (void) ftruncate(part->file.fd, (off_t) verified);
        }

        if (verified > 0 && ngx_file_size(&fi) > 0) {
            ngx_log_debug2(NGX_LOG_DEBUG_STREAM, part->file.log, 0,
                           "dualcam partial \"%s\" kept, %uL bytes",
                           part->file.name.data, verified);
            ngx_stream_dualcam_store_close(part);
            return;
        }
    }

    if (keep && part->resumable && part->failed) {
        /* whatever reached the disk is still a verified prefix */
        ngx_stream_dualcam_store_close(part);
        return;
    }

    if (ngx_delete_file(part->file.name.data) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_CRIT, part->file.log, ngx_errno,
                      ngx_delete_file_n " \"%s\" failed",
                      part->file.name.data);
    }

    ngx_stream_dualcam_store_close(part);
}


/* also removes the state record unless the partial is kept open */

static void
ngx_stream_dualcam_store_close(ngx_stream_dualcam_part_t *part)
{
    u_char           name[NGX_MAX_PATH];
    ngx_file_info_t  fi;

    if (part->resumable
        && part->file.name.len + sizeof(".state") <= NGX_MAX_PATH
        && ngx_file_info(part->file.name.data, &fi) == NGX_FILE_ERROR)
    {
        ngx_stream_dualcam_state_path(name, &part->file.name);
        (void) ngx_delete_file(name);
    }

    if (ngx_close_file(part->file.fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, part->file.log, ngx_errno,
                      ngx_close_file_n " \"%s\" failed",
                      part->file.name.data);
    }

    part->file.fd = NGX_INVALID_FILE;
    part->open = 0;

    if (part->buf) {
        ngx_free(part->buf);
        part->buf = NULL;
    }
}


void
ngx_stream_dualcam_store_sweep(ngx_path_t *path, time_t timeout,
    ngx_log_t *log)
{
    ngx_stream_dualcam_sweep_dir(path->name.data, path->name.len, 0,
                                 timeout, log);
}


/*
 * Not ngx_walk_tree(): a file may vanish between readdir() and stat()
 * (the sweeper removes a state record with its partial, a session commits
 * or aborts meanwhile), and that is no error here.
 */

static void
ngx_stream_dualcam_sweep_dir(u_char *dir, size_t len, ngx_uint_t depth,
    time_t timeout, ngx_log_t *log)
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
            ngx_log_error(NGX_LOG_CRIT, log, err,
                          ngx_open_dir_n " \"%s\" failed", path);
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
                ngx_log_error(NGX_LOG_CRIT, log, err,
                              ngx_read_dir_n " \"%s\" failed", path);
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
            if (depth < NGX_MAX_PATH_LEVEL) {
                ngx_stream_dualcam_sweep_dir(path, len + 1 + n, depth + 1,
                                             timeout, log);
            }

            continue;
        }

        if (ngx_is_file(&fi)
            && ngx_file_mtime(&fi) + timeout <= ngx_time())
        {
            ngx_stream_dualcam_sweep_file(path, len + 1 + n,
                                          ngx_file_mtime(&fi), log);
        }
    }

    ngx_close_dir(&d);
}


/* path is NUL-terminated in a buffer of NGX_MAX_PATH */

static void
ngx_stream_dualcam_sweep_file(u_char *path, size_t len, time_t mtime,
    ngx_log_t *log)
{
    size_t           n;
    ngx_fd_t         fd;
    ngx_err_t        err;
    ngx_str_t        name;
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

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "dualcam: removing \"%s\", unused for %T s",
                  path, ngx_time() - mtime);

    if (ngx_delete_file(path) == NGX_FILE_ERROR) {
        err = ngx_errno;

        if (err != NGX_ENOENT) {
            ngx_log_error(NGX_LOG_CRIT, log, err,
                          ngx_delete_file_n " \"%s\" failed", path);
        }
    }

    name.data = path;
    name.len = len;
    ngx_stream_dualcam_state_path(other, &name);
    (void) ngx_delete_file(other);

    ngx_close_file(fd);
}
