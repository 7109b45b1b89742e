
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The store: a file in flight lives under dualcam_temp_path as a partial
 * (resumable: named from the IMEI and the file's identity, with a small
 * ".state" record beside it; otherwise a private name), written only
 * with verified bytes so that its size is always the verified prefix.
 * Commit makes it durable and links it into <store>/<IMEI>/ under a name
 * nobody else has, then writes the ".json" sidecar next to it.
 */


#ifndef _NGX_STREAM_DUALCAM_STORE_H_INCLUDED_
#define _NGX_STREAM_DUALCAM_STORE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "dualcam.h"


#define NGX_STREAM_DUALCAM_WRITE_BUF  65536


typedef struct {
    ngx_path_t               *temp_path;
    ngx_str_t                 store;        /* NUL-terminated */
    ngx_flag_t                fsync;
    ngx_flag_t                resume;
} ngx_stream_dualcam_store_conf_t;


typedef struct {
    ngx_file_t                file;         /* fd, name (NUL-terminated),
                                               log */
    off_t                     size;         /* bytes on disk */
    u_char                   *buf;          /* write buffer, while busy */
    size_t                    buf_len;
    off_t                     buf_offset;   /* file offset of buf[0] */
    unsigned                  open:1;
    unsigned                  resumable:1;  /* named by identity, kept */
    unsigned                  failed:1;     /* a write failed */
} ngx_stream_dualcam_part_t;


/* what goes into the sidecar besides the file itself */

typedef struct {
    uint64_t                  imei;
    ngx_uint_t                protocol;
    ngx_str_t                *peer;
    dualcam_file_t           *file;
    uint64_t                  started_ms;
    uint64_t                  finished_ms;
    uint64_t                  size;
    ngx_str_t                 meta_json;    /* protocol >= 6, a copy */

    /* set by ngx_stream_dualcam_store_prepare() */
    u_char                   *target;
    u_char                   *tmp;
    u_char                   *json;
    size_t                    json_size;

    ngx_str_t                 stored;       /* the result of the commit */
    ngx_int_t                 rc;
} ngx_stream_dualcam_commit_t;


/*
 * Opens the partial for file of imei in the pool; with resume on, a
 * partial of the same identity that no other connection holds is reused
 * and *have is set to its verified bytes (else 0).  A partial held by
 * another connection (any worker) is not touched: this upload goes to a
 * private temp file instead.  NGX_ERROR after logging at crit.
 */
ngx_int_t ngx_stream_dualcam_store_open(ngx_stream_dualcam_part_t *part,
    ngx_stream_dualcam_store_conf_t *conf, ngx_pool_t *pool, ngx_log_t *log,
    uint64_t imei, dualcam_file_t *file, uint64_t *have);

/* keep only the first bytes of a reused partial */
ngx_int_t ngx_stream_dualcam_store_keep(ngx_stream_dualcam_part_t *part,
    uint64_t bytes);

/* verified bytes at offset, buffered */
ngx_int_t ngx_stream_dualcam_store_write(ngx_stream_dualcam_part_t *part,
    const u_char *data, size_t len, uint64_t offset);

/*
 * The device is idle: write out and free the write buffer (allocated
 * again by the next write), so a slow device holds no buffer between
 * its packets.
 */
ngx_int_t ngx_stream_dualcam_store_idle(ngx_stream_dualcam_part_t *part);

/* allocates what the commit needs, so that it can run in a thread */
ngx_int_t ngx_stream_dualcam_store_prepare(ngx_stream_dualcam_part_t *part,
    ngx_stream_dualcam_store_conf_t *conf, ngx_pool_t *pool,
    ngx_stream_dualcam_commit_t *info);

/*
 * Flush, fsync, link into <store>/<IMEI>/ under a new name, write the
 * sidecar, fsync the directory, remove the partial.  *stored is the final
 * path (in info->target).  On NGX_ERROR (logged at crit with path and
 * errno) nothing is left in the store and the partial is kept as it was.
 * Only system calls: safe in a thread pool while the session waits.
 */
ngx_int_t ngx_stream_dualcam_store_commit(ngx_stream_dualcam_part_t *part,
    ngx_stream_dualcam_store_conf_t *conf, ngx_stream_dualcam_commit_t *info,
    ngx_str_t *stored);

/*
 * The file will not complete in this connection: with keep (and a
 * resumable partial with something in it) the first `verified` bytes
 * stay for a later resume, otherwise the partial is removed.  Closes.
 */
void ngx_stream_dualcam_store_abort(ngx_stream_dualcam_part_t *part,
    ngx_uint_t keep, uint64_t verified);

/* removes partials and state records older than timeout, skipping any
   partial a connection holds */
void ngx_stream_dualcam_store_sweep(ngx_path_t *path, time_t timeout,
    ngx_log_t *log);


#endif /* _NGX_STREAM_DUALCAM_STORE_H_INCLUDED_ */
