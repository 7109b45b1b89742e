
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The store: a file in flight lives under dualcam_temp_path as a partial
 * (resumable: named from the IMEI and the file's identity, with a small
 * ".state" record beside it; otherwise a private name), written only
 * with verified bytes so that its size is always the verified prefix.
 * ngx_stream_dualcam_commit.c makes it durable and links it into
 * <store>/<IMEI>/.
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
    ngx_path_t               *store_path;   /* created by the master */
    ngx_flag_t                fsync;
    ngx_flag_t                sha256;       /* dualcam_sha256 */
    ngx_flag_t                resume;
    ngx_flag_t                mp4;          /* dualcam_mp4 */
    ngx_flag_t                mp4_audio;    /* dualcam_mp4_audio */
} ngx_stream_dualcam_store_conf_t;


typedef struct {
    ngx_file_t                file;         /* fd, name (NUL-terminated),
                                               log */
    off_t                     size;         /* bytes on disk */
    u_char                   *buf;          /* write buffer, while busy */
    size_t                    buf_len;
    off_t                     buf_offset;   /* file offset of buf[0] */
    ngx_err_t                 err;          /* of the failed write */

    /* what the partial is a prefix of, and where its resumable name is
       (a private partial has one too: the "stored" record is there) */
    u_char                   *id;
    size_t                    id_len;
    u_char                   *key;          /* NUL-terminated, room for
                                               ".stored" */
    size_t                    key_len;

    unsigned                  open:1;
    unsigned                  resumable:1;  /* named by identity, kept */
    unsigned                  failed:1;     /* a write failed */
} ngx_stream_dualcam_part_t;


/* IMEIs are printed one way everywhere: 15 digits, zero-padded */
#define NGX_STREAM_DUALCAM_IMEI_FMT  "%015uL"
#define NGX_STREAM_DUALCAM_IMEI_LEN  15


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

/* verified bytes at offset, buffered; NGX_ERROR logged at crit */
ngx_int_t ngx_stream_dualcam_store_write(ngx_stream_dualcam_part_t *part,
    const u_char *data, size_t len, uint64_t offset);

/*
 * The device is idle: write out and free the write buffer (allocated
 * again by the next write), so a slow device holds no buffer between
 * its packets.
 */
ngx_int_t ngx_stream_dualcam_store_idle(ngx_stream_dualcam_part_t *part);

/*
 * Writes out the buffer; no logging (a commit stage calls it from a
 * thread): NGX_ERROR with part->err set.
 */
ngx_int_t ngx_stream_dualcam_store_flush(ngx_stream_dualcam_part_t *part);

/* pwrite() of all len bytes: 0, or the errno */
ngx_err_t ngx_stream_dualcam_pwrite(ngx_fd_t fd, const u_char *p, size_t len,
    off_t offset);

/* pread() of all len bytes: 0, or the errno (EIO if the file is shorter) */
ngx_err_t ngx_stream_dualcam_pread(ngx_fd_t fd, u_char *p, size_t len,
    off_t offset);

/*
 * The file will not complete in this connection: with keep (and a
 * resumable partial with something in it) the first `verified` bytes
 * stay for a later resume, otherwise the partial is removed.  Closes.
 */
void ngx_stream_dualcam_store_abort(ngx_stream_dualcam_part_t *part,
    ngx_uint_t keep, uint64_t verified);

/*
 * The file is in the store: the partial and its state record are
 * removed and it is closed.  System calls only (a commit stage).
 */
void ngx_stream_dualcam_store_forget(ngx_stream_dualcam_part_t *part);

/* then, in the event loop: the buffer is freed */
void ngx_stream_dualcam_store_done(ngx_stream_dualcam_part_t *part);


#endif /* _NGX_STREAM_DUALCAM_STORE_H_INCLUDED_ */
