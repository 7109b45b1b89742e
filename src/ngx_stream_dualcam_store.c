
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * Partials (see ngx_stream_dualcam_store.h).
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


static size_t ngx_stream_dualcam_identity(u_char *id, uint64_t imei,
    dualcam_file_t *file);
static u_char *ngx_stream_dualcam_part_name(ngx_path_t *path, u_char *name,
    u_char *last);
static ngx_int_t ngx_stream_dualcam_state(ngx_stream_dualcam_part_t *part,
    u_char *id, size_t len, uint64_t *have);
static u_char *ngx_stream_dualcam_state_path(u_char *buf, ngx_str_t *name);
static void ngx_stream_dualcam_store_close(ngx_stream_dualcam_part_t *part);



ngx_int_t
ngx_stream_dualcam_store_open(ngx_stream_dualcam_part_t *part,
    ngx_stream_dualcam_store_conf_t *conf, ngx_pool_t *pool, ngx_log_t *log,
    uint64_t imei, dualcam_file_t *file, uint64_t *have)
{
    u_char          *p, *fname, *kname;
    size_t           len, idlen;
    ngx_fd_t         fd;
    ngx_err_t        err;
    ngx_uint_t       n, created, resumable;
    ngx_path_t      *path;
    ngx_file_info_t  fi, pi;

    *have = 0;

    ngx_memzero(part, sizeof(ngx_stream_dualcam_part_t));
    part->file.fd = NGX_INVALID_FILE;
    part->file.log = log;

    path = conf->temp_path;

    /*
     * <temp>/<levels>/<fname>, room for ".state", ".stored" and ".json"
     * after it; the resumable name (the key) is kept in any case: the
     * record of a stored file is found by it
     */

    len = path->name.len + path->len + 1 + NGX_STREAM_DUALCAM_FNAME_LEN;

    part->file.name.data = ngx_pnalloc(pool, len + sizeof(".stored"));
    part->key = ngx_pnalloc(pool, len + sizeof(".stored"));
    part->id = ngx_pnalloc(pool, NGX_STREAM_DUALCAM_ID_LEN);

    if (part->file.name.data == NULL || part->key == NULL
        || part->id == NULL)
    {
        return NGX_ERROR;
    }

    fname = part->file.name.data + path->name.len + path->len + 1;

    idlen = ngx_stream_dualcam_identity(part->id, imei, file);
    part->id_len = idlen;

    kname = part->key + (fname - part->file.name.data);

    p = ngx_sprintf(kname, NGX_STREAM_DUALCAM_IMEI_FMT "-%08xD%08xD", imei,
                    ngx_crc32_long(part->id, idlen),
                    ngx_murmur_hash2(part->id, idlen));
    p = ngx_stream_dualcam_part_name(path, part->key, p);
    part->key_len = p - part->key;

    resumable = conf->resume;
    created = 0;

    for (n = 0; n < 16; n++) {

        if (resumable) {
            p = ngx_cpymem(part->file.name.data, part->key, part->key_len);

        } else {
            p = ngx_sprintf(fname, NGX_STREAM_DUALCAM_IMEI_FMT "-%08xD%08xD",
                            imei, (uint32_t) ngx_pid,
                            (uint32_t) ngx_next_temp_number(n != 0));
            p = ngx_stream_dualcam_part_name(path, part->file.name.data, p);
        }

        *p = '\0';
        part->file.name.len = p - part->file.name.data;

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

    if (ngx_stream_dualcam_state(part, part->id, idlen, have) != NGX_OK) {
        ngx_stream_dualcam_store_abort(part, 0, 0);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* <temp>/<levels>/<fname>: the temp path and the levels before fname */

static u_char *
ngx_stream_dualcam_part_name(ngx_path_t *path, u_char *name, u_char *last)
{
    ngx_memcpy(name, path->name.data, path->name.len);
    *last = '\0';
    ngx_create_hashed_filename(path, name, last - name);

    return last;
}


/* the state record: what the partial is a prefix of */

static size_t
ngx_stream_dualcam_identity(u_char *id, uint64_t imei, dualcam_file_t *file)
{
    u_char  *p;
    size_t   i;

    p = ngx_sprintf(id, "dualcam partial 1\nimei " NGX_STREAM_DUALCAM_IMEI_FMT
                    "\ntotal %uD\ntime %uL\n"
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
            goto failed;
        }
    }

    if (len > NGX_STREAM_DUALCAM_WRITE_BUF) {
        part->err = ngx_stream_dualcam_pwrite(part->file.fd, data, len,
                                              (off_t) offset);
        if (part->err) {
            part->failed = 1;
            goto failed;
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

    if (part->buf_len == NGX_STREAM_DUALCAM_WRITE_BUF
        && ngx_stream_dualcam_store_flush(part) != NGX_OK)
    {
        goto failed;
    }

    return NGX_OK;

failed:

    ngx_log_error(NGX_LOG_CRIT, part->file.log, part->err,
                  "pwrite() \"%s\" failed", part->file.name.data);

    return NGX_ERROR;
}


ngx_int_t
ngx_stream_dualcam_store_idle(ngx_stream_dualcam_part_t *part)
{
    ngx_int_t  rc;

    if (!part->open || part->buf == NULL) {
        return NGX_OK;
    }

    rc = ngx_stream_dualcam_store_flush(part);

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_CRIT, part->file.log, part->err,
                      "pwrite() \"%s\" failed", part->file.name.data);
    }

    ngx_free(part->buf);
    part->buf = NULL;

    return rc;
}


ngx_int_t
ngx_stream_dualcam_store_flush(ngx_stream_dualcam_part_t *part)
{
    off_t  end;

    if (part->buf_len == 0) {
        return NGX_OK;
    }

    part->err = ngx_stream_dualcam_pwrite(part->file.fd, part->buf,
                                          part->buf_len, part->buf_offset);
    if (part->err) {
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


/* all of it, or the errno; a disk that takes nothing is full */

ngx_err_t
ngx_stream_dualcam_pwrite(ngx_fd_t fd, const u_char *p, size_t len,
    off_t offset)
{
    ssize_t  n;

    while (len) {
        n = pwrite(fd, p, len, offset);

        if (n == -1) {
            if (ngx_errno == NGX_EINTR) {
                continue;
            }

            return ngx_errno;
        }

        if (n == 0) {
            return NGX_ENOSPC;
        }

        p += n;
        len -= n;
        offset += n;
    }

    return 0;
}


/* all len bytes at offset, or the errno; a file that ends before is EIO */

ngx_err_t
ngx_stream_dualcam_pread(ngx_fd_t fd, u_char *p, size_t len, off_t offset)
{
    ssize_t  n;

    while (len) {
        n = pread(fd, p, len, offset);

        if (n == -1) {
            if (ngx_errno == NGX_EINTR) {
                continue;
            }

            return ngx_errno;
        }

        if (n == 0) {
            return EIO;
        }

        p += n;
        len -= n;
        offset += n;
    }

    return 0;
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
        /* a partial longer than its verified prefix must not be kept */

        if (ngx_file_size(&fi) > (off_t) verified
            && ftruncate(part->file.fd, (off_t) verified) == -1)
        {
            ngx_log_error(NGX_LOG_CRIT, part->file.log, ngx_errno,
                          "ftruncate(\"%s\", %uL) failed",
                          part->file.name.data, verified);

        } else if (verified > 0 && ngx_file_size(&fi) > 0) {
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
ngx_stream_dualcam_store_forget(ngx_stream_dualcam_part_t *part)
{
    u_char  name[NGX_MAX_PATH];

    if (!part->open) {
        return;
    }

    (void) ngx_delete_file(part->file.name.data);

    if (part->resumable
        && part->file.name.len + sizeof(".state") <= NGX_MAX_PATH)
    {
        ngx_stream_dualcam_state_path(name, &part->file.name);
        (void) ngx_delete_file(name);
    }

    (void) ngx_close_file(part->file.fd);
    part->file.fd = NGX_INVALID_FILE;
}


void
ngx_stream_dualcam_store_done(ngx_stream_dualcam_part_t *part)
{
    part->open = 0;

    if (part->buf) {
        ngx_free(part->buf);
        part->buf = NULL;
    }
}
