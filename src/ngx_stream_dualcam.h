
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The stream module's configuration and per-session context.
 */


#ifndef _NGX_STREAM_DUALCAM_H_INCLUDED_
#define _NGX_STREAM_DUALCAM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "dualcam.h"
#include "ngx_stream_dualcam_store.h"
#include "ngx_stream_dualcam_commit.h"
#include "ngx_stream_dualcam_sweep.h"
#include "ngx_stream_dualcam_zone.h"


#define NGX_STREAM_DUALCAM_OUT_SIZE       (4 + DUALCAM_PATH_MAX + 1)
/* the input buffer of a device that sends faster than it is read */
#define NGX_STREAM_DUALCAM_BIG_BUFFER     65536
#define NGX_STREAM_DUALCAM_RESUME_REPEAT  2000     /* ms */
#define NGX_STREAM_DUALCAM_RESUME_TRIES   5


typedef struct {
    ngx_flag_t                        enabled;
    ngx_shm_zone_t                   *zone;

    ngx_stream_dualcam_store_conf_t   store;

    ngx_msec_t                        timeout;
    time_t                            resume_timeout;
    off_t                             max_file_size;
    size_t                            buffer_size;
    ngx_uint_t                        max_crc_errors;
    ngx_uint_t                        log_level;
    ngx_flag_t                        metadata;

    ngx_array_t                      *allow;    /* sorted uint64_t IMEIs */

#if (NGX_THREADS)
    ngx_thread_pool_t                *thread_pool;  /* NULL: off */
#endif
    ngx_stream_dualcam_committer_t   *committer;
} ngx_stream_dualcam_srv_conf_t;


typedef struct {
    ngx_array_t                       committers;   /* one per pool */
    ngx_stream_dualcam_sweeper_t      sweeper;
} ngx_stream_dualcam_main_conf_t;


typedef struct {
    dualcam_server_t                  server;
    ngx_stream_session_t             *session;
    ngx_stream_dualcam_zone_sess_t   *zs;

    /* the input: in->start is NULL while the device is idle */
    ngx_buf_t                        *in;
    ngx_msec_t                        last_input;   /* its last byte */
    ngx_msec_t                        last_repeat;  /* RESUME repeated */

    ngx_stream_dualcam_part_t         part;
    ngx_stream_dualcam_commit_t      *commit;
    uint64_t                          file_started_ms;
    ngx_str_t                         meta_json;    /* protocol >= 6 */
    ngx_str_t                         meta_raw;     /* binary payload */

    ngx_event_t                       resume_timer;

    size_t                            out_pos;
    size_t                            out_len;
    u_char                            out[NGX_STREAM_DUALCAM_OUT_SIZE];

    ngx_uint_t                        device_statuses;  /* counted */
    ngx_str_t                         mp4;          /* $dualcam_mp4 */

    dualcam_result_e                  result;       /* how it ended */
    dualcam_result_e                  end_pending;  /* an end that came
                                                       during a commit */

    unsigned                          hello:1;
    unsigned                          done:1;       /* CLOSE queued */
    unsigned                          committing:1;
    unsigned                          fast:1;       /* the last read filled
                                                       the buffer */
} ngx_stream_dualcam_ctx_t;


/* the allow list, src/ngx_stream_dualcam_allow.c */
char *ngx_stream_dualcam_allow_imei(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_uint_t ngx_stream_dualcam_allowed(ngx_array_t *allow, uint64_t imei);


/* the store made ready by the master, src/ngx_stream_dualcam_paths.c */
ngx_int_t ngx_stream_dualcam_paths_add(ngx_conf_t *cf,
    ngx_stream_dualcam_store_conf_t *sc);


/* $dualcam_imei, $dualcam_protocol: src/ngx_stream_dualcam_preread.c */
#define NGX_STREAM_DUALCAM_VAR_IMEI       0
ngx_int_t ngx_stream_dualcam_init_variable(ngx_stream_session_t *s,
    ngx_stream_variable_value_t *v, uintptr_t data);


extern ngx_module_t  ngx_stream_dualcam_module;
extern ngx_module_t  ngx_stream_dualcam_paths_module;
extern ngx_module_t  ngx_stream_dualcam_preread_module;


#endif /* _NGX_STREAM_DUALCAM_H_INCLUDED_ */
