
/*
 * Copyright (C) ngx_stream_dualcam authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_stream_dualcam_zone.h"


struct ngx_stream_dualcam_zone_sess_s {
    ngx_shm_zone_t               *zone;
    ngx_stream_session_t         *session;
    unsigned                      ended:1;
};


extern ngx_module_t  ngx_stream_dualcam_module;


char *
ngx_stream_dualcam_zone_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    return NGX_CONF_OK;
}


ngx_shm_zone_t *
ngx_stream_dualcam_zone_get(ngx_conf_t *cf, ngx_str_t *name)
{
    return ngx_shared_memory_add(cf, name, 0, &ngx_stream_dualcam_module);
}


ngx_stream_dualcam_zone_sess_t *
ngx_stream_dualcam_zone_session_start(ngx_shm_zone_t *zone,
    ngx_stream_session_t *s)
{
    ngx_stream_dualcam_zone_sess_t  *zs;

    zs = ngx_pcalloc(s->connection->pool,
                     sizeof(ngx_stream_dualcam_zone_sess_t));
    if (zs == NULL) {
        return NULL;
    }

    zs->zone = zone;
    zs->session = s;

    return zs;
}


void
ngx_stream_dualcam_zone_hello(ngx_stream_dualcam_zone_sess_t *zs,
    uint64_t imei, ngx_uint_t protocol)
{
}


void
ngx_stream_dualcam_zone_file_begin(ngx_stream_dualcam_zone_sess_t *zs,
    dualcam_file_t *file)
{
}


void
ngx_stream_dualcam_zone_progress(ngx_stream_dualcam_zone_sess_t *zs,
    dualcam_file_t *file)
{
}


void
ngx_stream_dualcam_zone_file_end(ngx_stream_dualcam_zone_sess_t *zs,
    dualcam_file_t *file, ngx_str_t *path, dualcam_result_e result)
{
}


void
ngx_stream_dualcam_zone_count(ngx_stream_dualcam_zone_sess_t *zs,
    ngx_stream_dualcam_counter_e counter, ngx_uint_t n)
{
}


void
ngx_stream_dualcam_zone_device_status(ngx_stream_dualcam_zone_sess_t *zs,
    uint32_t code)
{
}


void
ngx_stream_dualcam_zone_session_end(ngx_stream_dualcam_zone_sess_t *zs,
    dualcam_result_e result)
{
    if (zs != NULL) {
        zs->ended = 1;
    }
}
