
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The bodies of the "failed" and "session" events, made in the event
 * loop from what the session knows, and the JSON helpers every event
 * body uses (the "stored" one is made by the commit stage, in
 * ngx_stream_dualcam_outbox.c).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>
#include <ngx_stream.h>

#include "ngx_stream_dualcam.h"
#include "ngx_stream_dualcam_notify.h"
#include "dualcam_json.h"


static u_char *ngx_stream_dualcam_notify_event_head(u_char *p,
    ngx_uint_t type, u_char *id, uint64_t ms, ngx_stream_session_t *s,
    ngx_stream_dualcam_ctx_t *ctx);


void
ngx_stream_dualcam_notify_failed(ngx_stream_session_t *s,
    dualcam_file_t *file, dualcam_result_e result)
{
    u_char                                *body, *p;
    size_t                                 size;
    ngx_uint_t                             kept;
    ngx_file_info_t                        fi;
    ngx_stream_dualcam_ctx_t              *ctx;
    ngx_stream_dualcam_notify_srv_conf_t  *conf;
    u_char                                 id[NGX_STREAM_DUALCAM_EVENT_ID_LEN
                                              + 1];
    uint64_t                               now;

    conf = ngx_stream_get_module_srv_conf(s, ngx_stream_dualcam_notify_module);

    if (conf->outbox == NULL
        || !(conf->events & NGX_STREAM_DUALCAM_EV_FAILED))
    {
        return;
    }

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_dualcam_module);

    /* what the store kept of it is what a resume starts from */

    kept = ctx->part.resumable && ctx->part.file.name.data != NULL
           && ngx_file_info(ctx->part.file.name.data, &fi) != NGX_FILE_ERROR;

    size = 2048 + 6 * (file->name_len + s->connection->addr_text.len);

    body = ngx_alloc(size, s->connection->log);
    if (body == NULL) {
        return;
    }

    now = ngx_stream_dualcam_now_ms();
    ngx_stream_dualcam_outbox_id(id);

    p = ngx_stream_dualcam_notify_event_head(body,
                                             NGX_STREAM_DUALCAM_EV_FAILED,
                                             id, now, s, ctx);

    p = ngx_sprintf(p, ",\n  \"side\": \"%s\",\n  \"kind\": \"%s\",\n"
                    "  \"name\": ", dualcam_side_name(file->side),
                    dualcam_kind_name(file->kind));
    p = ngx_stream_dualcam_json_str(p, (u_char *) file->name,
                                           ngx_strnlen((u_char *) file->name,
                                                       file->name_len));
    p = ngx_sprintf(p, ",\n  \"result\": \"%s\",\n"
                    "  \"max_size\": %uL,\n  \"verified_bytes\": %uL,\n"
                    "  \"kept_for_resume\": %s,\n  \"packets\": %uD,\n"
                    "  \"crc_failures\": %uD,\n  \"resumes\": %uD,\n"
                    "  \"resumed_from\": %uL,\n  \"started\": ",
                    dualcam_result_name(result), file->max_size,
                    file->received, kept ? "true" : "false", file->packets,
                    file->crc_errors, file->resumes, file->resume_from);
    p = ngx_stream_dualcam_json_time(p, ctx->file_started_ms);
    p = ngx_sprintf(p, "\n}\n");

    ngx_stream_dualcam_outbox_write(conf, NGX_STREAM_DUALCAM_EV_FAILED, id,
                                    now, body, p - body,
                                    s->connection->log);
    ngx_free(body);
}


void
ngx_stream_dualcam_notify_session(ngx_stream_session_t *s,
    dualcam_result_e result)
{
    u_char                                *p;
    uint64_t                               now, start;
    ngx_stream_dualcam_ctx_t              *ctx;
    ngx_stream_dualcam_notify_srv_conf_t  *conf;
    u_char                                 id[NGX_STREAM_DUALCAM_EVENT_ID_LEN
                                              + 1];
    u_char                                 body[1024
                                               + 6 * NGX_SOCKADDR_STRLEN];

    conf = ngx_stream_get_module_srv_conf(s, ngx_stream_dualcam_notify_module);

    if (conf->outbox == NULL
        || !(conf->events & NGX_STREAM_DUALCAM_EV_SESSION))
    {
        return;
    }

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_dualcam_module);

    if (ctx == NULL || !ctx->hello
        || s->connection->addr_text.len > NGX_SOCKADDR_STRLEN)
    {
        return;
    }

    now = ngx_stream_dualcam_now_ms();
    ngx_stream_dualcam_outbox_id(id);

    p = ngx_stream_dualcam_notify_event_head(body,
                                             NGX_STREAM_DUALCAM_EV_SESSION,
                                             id, now, s, ctx);

    /* the session's start, in the same clock as now */
    start = (uint64_t) s->start_sec * 1000 + s->start_msec;
    start = ngx_min(start, now);

    if (result == DUALCAM_RESULT_NONE) {
        p = ngx_sprintf(p, ",\n  \"state\": \"connect\"\n}\n");

    } else {
        p = ngx_sprintf(p, ",\n  \"state\": \"end\",\n  \"result\": \"%s\","
                        "\n  \"files\": %ui,\n  \"bytes\": %uL,\n"
                        "  \"duration_ms\": %uL\n}\n",
                        dualcam_result_name(result),
                        (ngx_uint_t) ctx->server.files_done,
                        ctx->server.bytes_done,
                        now - start);
    }

    ngx_stream_dualcam_outbox_write(conf, NGX_STREAM_DUALCAM_EV_SESSION, id,
                                    now, body, p - body,
                                    s->connection->log);
}


static u_char *
ngx_stream_dualcam_notify_event_head(u_char *p, ngx_uint_t type, u_char *id,
    uint64_t ms, ngx_stream_session_t *s, ngx_stream_dualcam_ctx_t *ctx)
{
    p = ngx_sprintf(p, "{\n  \"event\": \"%s\",\n  \"id\": \"%s\",\n"
                    "  \"time\": ",
                    ngx_stream_dualcam_notify_event_name(type), id);
    p = ngx_stream_dualcam_json_time(p, ms);
    p = ngx_sprintf(p, ",\n  \"imei\": \"" NGX_STREAM_DUALCAM_IMEI_FMT
                    "\",\n  \"peer\": ", ctx->server.imei);
    p = ngx_stream_dualcam_json_str(p, s->connection->addr_text.data,
                                           s->connection->addr_text.len);

    return ngx_sprintf(p, ",\n  \"protocol\": %ui",
                       (ngx_uint_t) ctx->server.protocol);
}
