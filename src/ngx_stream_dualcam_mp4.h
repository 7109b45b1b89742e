
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The MP4 of a stored video (issue 10): two commit stages that make it in
 * the commit task (src/ngx_stream_dualcam_mp4.c, on the sans-I/O remuxer
 * of src/dualcam_mp4.h), its part of the sidecar, $dualcam_mp4.
 *
 * cm->mp4 points to an ngx_stream_dualcam_mp4_result_t (or is NULL: no
 * MP4 was tried) that the stages after "mp4 link" may read: the MP4's
 * path in the store, or why there is none.
 */


#ifndef _NGX_STREAM_DUALCAM_MP4_H_INCLUDED_
#define _NGX_STREAM_DUALCAM_MP4_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_stream_dualcam_commit.h"


typedef struct {
    u_char                        *path;    /* in the store, once linked;
                                               NULL: no MP4 */
    const char                    *error;   /* why not; NULL: made */
} ngx_stream_dualcam_mp4_result_t;


ngx_int_t ngx_stream_dualcam_mp4_prepare(ngx_stream_dualcam_commit_t *cm,
    ngx_pool_t *pool);
ngx_int_t ngx_stream_dualcam_mp4_run(ngx_stream_dualcam_commit_t *cm);
void ngx_stream_dualcam_mp4_undo(ngx_stream_dualcam_commit_t *cm);
void ngx_stream_dualcam_mp4_report(ngx_stream_dualcam_commit_t *cm);
ngx_int_t ngx_stream_dualcam_mp4_link_run(ngx_stream_dualcam_commit_t *cm);

/* the sidecar's "mp4" member: an upper bound of its size, and itself */
size_t ngx_stream_dualcam_mp4_sidecar_size(ngx_stream_dualcam_commit_t *cm);
u_char *ngx_stream_dualcam_mp4_sidecar(u_char *p,
    ngx_stream_dualcam_commit_t *cm);

/* $dualcam_mp4: the name of the session's last MP4 in the store */
void ngx_stream_dualcam_mp4_committed(ngx_stream_session_t *s,
    ngx_stream_dualcam_commit_t *cm);
ngx_int_t ngx_stream_dualcam_mp4_variable(ngx_stream_session_t *s,
    ngx_stream_variable_value_t *v, uintptr_t data);


#endif /* _NGX_STREAM_DUALCAM_MP4_H_INCLUDED_ */
