
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * Event notifications (see ngx_stream_dualcam_notify.h): the directives,
 * the bodies of the "failed" and "session" events, and the delivery of
 * the events of this worker's spool directory.
 *
 * A delivery is one HTTP/1.1 POST on its own connection (Connection:
 * close), made with nginx's own machinery as an upstream is:
 * ngx_event_connect_peer(), then ngx_ssl_create_connection() and
 * ngx_ssl_handshake() for https.  Only the status line of the answer is
 * read: 2xx removes the event, anything else (or nothing within
 * dualcam_notify_timeout) is retried after an exponential backoff with
 * jitter, until the event is older than dualcam_notify_max_age.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>
#include <ngx_stream.h>

#include <openssl/hmac.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "ngx_stream_dualcam.h"
#include "ngx_stream_dualcam_notify.h"
#include "dualcam_http.h"
#include "dualcam_json.h"


#define NGX_STREAM_DUALCAM_NOTIFY_HEADERS  1024   /* besides URI and Host */


typedef struct {
    ngx_str_t                            url;
    ngx_uint_t                           events;
} ngx_stream_dualcam_notify_spec_t;


typedef struct {
    ngx_stream_dualcam_notify_event_t   *ev;
    ngx_stream_dualcam_notify_target_t  *target;
    ngx_stream_dualcam_outbox_t         *outbox;
    ngx_pool_t                          *pool;
    ngx_peer_connection_t                peer;
    ngx_log_t                            log;
    ngx_event_t                          timer;

    u_char                              *out;
    size_t                               out_len;
    size_t                               out_pos;
    u_char                               in[512];
    size_t                               in_len;

    unsigned                             connected:1;
    unsigned                             sent:1;
} ngx_stream_dualcam_delivery_t;


static void ngx_stream_dualcam_notify_kick_handler(ngx_event_t *kev);
static void ngx_stream_dualcam_notify_start(ngx_stream_dualcam_outbox_t *ob,
    ngx_stream_dualcam_notify_event_t *ev);
static ngx_int_t ngx_stream_dualcam_notify_request(
    ngx_stream_dualcam_delivery_t *d, ngx_str_t *err);
static void ngx_stream_dualcam_notify_write_handler(ngx_event_t *wev);
static void ngx_stream_dualcam_notify_read_handler(ngx_event_t *rev);
static void ngx_stream_dualcam_notify_timeout(ngx_event_t *tev);
static void ngx_stream_dualcam_notify_send(ngx_stream_dualcam_delivery_t *d);
#if (NGX_STREAM_SSL)
static void ngx_stream_dualcam_notify_ssl_init(
    ngx_stream_dualcam_delivery_t *d);
static void ngx_stream_dualcam_notify_ssl_handshake(ngx_connection_t *c);
static void ngx_stream_dualcam_notify_ssl_save(ngx_connection_t *c);
static void ngx_stream_dualcam_notify_forget_session(
    ngx_stream_dualcam_notify_target_t *t);
#endif
static void ngx_stream_dualcam_notify_dummy(ngx_event_t *ev);
static void ngx_stream_dualcam_notify_close(ngx_stream_dualcam_delivery_t *d);
static void ngx_stream_dualcam_notify_done(ngx_stream_dualcam_delivery_t *d,
    ngx_uint_t status);
static void ngx_stream_dualcam_notify_fail(ngx_stream_dualcam_delivery_t *d,
    const char *fmt, ...);
static void ngx_stream_dualcam_notify_retry(
    ngx_stream_dualcam_outbox_t *ob, ngx_stream_dualcam_notify_event_t *ev,
    u_char *reason, size_t len);
static void ngx_stream_dualcam_notify_retry_handler(ngx_event_t *rev);
static void ngx_stream_dualcam_notify_free(ngx_stream_dualcam_outbox_t *ob,
    ngx_stream_dualcam_notify_event_t *ev);
static ngx_stream_dualcam_notify_target_t *ngx_stream_dualcam_notify_target(
    ngx_stream_dualcam_outbox_t *ob, u_char *name);
static u_char *ngx_stream_dualcam_notify_log_error(ngx_log_t *log,
    u_char *buf, size_t len);
static u_char *ngx_stream_dualcam_notify_event_head(u_char *p,
    ngx_uint_t type, u_char *id, uint64_t ms, ngx_stream_session_t *s,
    ngx_stream_dualcam_ctx_t *ctx);

static void *ngx_stream_dualcam_notify_create_main_conf(ngx_conf_t *cf);
static void *ngx_stream_dualcam_notify_create_srv_conf(ngx_conf_t *cf);
static char *ngx_stream_dualcam_notify_merge_srv_conf(ngx_conf_t *cf,
    void *parent, void *child);
static ngx_int_t ngx_stream_dualcam_notify_targets(ngx_conf_t *cf,
    ngx_stream_dualcam_notify_srv_conf_t *conf,
    ngx_stream_dualcam_srv_conf_t *dscf);
static ngx_stream_dualcam_notify_target_t *ngx_stream_dualcam_notify_url(
    ngx_conf_t *cf, ngx_stream_dualcam_notify_srv_conf_t *conf,
    ngx_str_t *url);
static char *ngx_stream_dualcam_notify(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_stream_dualcam_notify_backoff(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_stream_dualcam_notify_init_process(ngx_cycle_t *cycle);


/* the events: the words of "events=", of the spool and of the bodies */

static ngx_conf_bitmask_t  ngx_stream_dualcam_notify_events[] = {
    { ngx_string("stored"), NGX_STREAM_DUALCAM_EV_STORED },
    { ngx_string("failed"), NGX_STREAM_DUALCAM_EV_FAILED },
    { ngx_string("session"), NGX_STREAM_DUALCAM_EV_SESSION },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_stream_dualcam_notify_commands[] = {

    { ngx_string("dualcam_notify"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE12,
      ngx_stream_dualcam_notify,
      NGX_STREAM_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("dualcam_notify_spool"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_path_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_dualcam_notify_srv_conf_t, spool),
      NULL },

    { ngx_string("dualcam_notify_secret"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_dualcam_notify_srv_conf_t, secret),
      NULL },

    { ngx_string("dualcam_notify_timeout"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_dualcam_notify_srv_conf_t, timeout),
      NULL },

    { ngx_string("dualcam_notify_concurrency"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_dualcam_notify_srv_conf_t, concurrency),
      NULL },

    { ngx_string("dualcam_notify_backoff"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE12,
      ngx_stream_dualcam_notify_backoff,
      NGX_STREAM_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("dualcam_notify_max_age"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_dualcam_notify_srv_conf_t, max_age),
      NULL },

    { ngx_string("dualcam_notify_ssl_verify"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_dualcam_notify_srv_conf_t, ssl_verify),
      NULL },

    { ngx_string("dualcam_notify_ssl_trusted_certificate"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_dualcam_notify_srv_conf_t,
               ssl_trusted_certificate),
      NULL },

      ngx_null_command
};


static ngx_stream_module_t  ngx_stream_dualcam_notify_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_stream_dualcam_notify_create_main_conf,
    NULL,                                  /* init main configuration */

    ngx_stream_dualcam_notify_create_srv_conf,
    ngx_stream_dualcam_notify_merge_srv_conf
};


ngx_module_t  ngx_stream_dualcam_notify_module = {
    NGX_MODULE_V1,
    &ngx_stream_dualcam_notify_module_ctx, /* module context */
    ngx_stream_dualcam_notify_commands,    /* module directives */
    NGX_STREAM_MODULE,                     /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_stream_dualcam_notify_init_process, /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


const char *
ngx_stream_dualcam_notify_event_name(ngx_uint_t type)
{
    ngx_conf_bitmask_t  *e;

    for (e = ngx_stream_dualcam_notify_events; e->name.len; e++) {
        if (e->mask == type) {
            return (const char *) e->name.data;
        }
    }

    return "unknown";
}


ngx_uint_t
ngx_stream_dualcam_notify_event_type(u_char *name, size_t len)
{
    ngx_conf_bitmask_t  *e;

    for (e = ngx_stream_dualcam_notify_events; e->name.len; e++) {
        if (e->name.len == len && ngx_strncmp(e->name.data, name, len) == 0)
        {
            return e->mask;
        }
    }

    return 0;
}


/* the module's hooks */

void *
ngx_stream_dualcam_notify_conf(ngx_stream_session_t *s)
{
    ngx_stream_dualcam_notify_srv_conf_t  *conf;

    conf = ngx_stream_get_module_srv_conf(s, ngx_stream_dualcam_notify_module);

    return conf->outbox ? conf : NULL;
}


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
    p = ngx_stream_dualcam_notify_json_str(p, (u_char *) file->name,
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
    p = ngx_stream_dualcam_notify_json_time(p, ctx->file_started_ms);
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
    p = ngx_stream_dualcam_notify_json_time(p, ms);
    p = ngx_sprintf(p, ",\n  \"imei\": \"" NGX_STREAM_DUALCAM_IMEI_FMT
                    "\",\n  \"peer\": ", ctx->server.imei);
    p = ngx_stream_dualcam_notify_json_str(p, s->connection->addr_text.data,
                                           s->connection->addr_text.len);

    return ngx_sprintf(p, ",\n  \"protocol\": %ui",
                       (ngx_uint_t) ctx->server.protocol);
}


/*
 * Every string of an event goes through the core's escaper, as the
 * sidecar's do: a strict parser takes it whatever bytes a device sent.
 */

u_char *
ngx_stream_dualcam_notify_json_str(u_char *p, u_char *s, size_t len)
{
    *p++ = '"';
    p = dualcam_json_escape(p, s, len);
    *p++ = '"';

    return p;
}


u_char *
ngx_stream_dualcam_notify_json_time(u_char *p, uint64_t ms)
{
    ngx_tm_t  tm;

    ngx_gmtime((time_t) (ms / 1000), &tm);

    return ngx_sprintf(p, "\"%4d-%02d-%02dT%02d:%02d:%02d.%03uDZ\"",
                       tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                       tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec,
                       (uint32_t) (ms % 1000));
}


/* the delivery, in the worker that owns the spool directory */

ngx_int_t
ngx_stream_dualcam_notify_add(ngx_stream_dualcam_outbox_t *ob, u_char *name,
    ngx_uint_t type, uint64_t created_ms, ngx_uint_t loaded)
{
    uint32_t                              hash;
    ngx_str_t                             str;
    ngx_stream_dualcam_notify_event_t    *ev;
    ngx_stream_dualcam_notify_target_t   *t;

    str.data = name;
    str.len = ngx_strlen(name);

    if (str.len != NGX_STREAM_DUALCAM_EVENT_NAME_LEN) {
        return NGX_DECLINED;
    }

    hash = ngx_crc32_short(name, str.len);

    if (ngx_str_rbtree_lookup(&ob->events, &str, hash) != NULL) {
        return NGX_DECLINED;
    }

    ev = ngx_calloc(sizeof(ngx_stream_dualcam_notify_event_t), ob->log);
    if (ev == NULL) {
        /* it stays in the spool: the next start sends it */
        return NGX_ERROR;
    }

    ngx_memcpy(ev->name, name, str.len + 1);

    ev->node.node.key = hash;
    ev->node.str.data = ev->name;
    ev->node.str.len = str.len;
    ev->created_ms = created_ms;
    ev->type = type;

    ev->retry.handler = ngx_stream_dualcam_notify_retry_handler;
    ev->retry.data = ev;
    ev->retry.log = ob->log;
    ev->retry.cancelable = 1;

    ngx_rbtree_insert(&ob->events, &ev->node.node);

    t = ngx_stream_dualcam_notify_target(ob, name);

    if (type == 0 || t == NULL) {
        ngx_log_error(NGX_LOG_ERR, ob->log, 0,
                      "dualcam notify: event \"%s/%s\" is %s: moved to "
                      "\"%V\"", ob->dir, ev->name,
                      type ? "for a receiver no longer configured"
                           : "unreadable", &ob->failed);

        (void) ngx_stream_dualcam_outbox_dead(ob, ev, ob->log);
        ngx_stream_dualcam_notify_free(ob, ev);
        return NGX_DECLINED;
    }

    ev->target = t;

    if (loaded) {
        ngx_stream_dualcam_zone_notify(t->zone,
                                       NGX_STREAM_DUALCAM_NOTIFY_LOADED,
                                       created_ms, NULL);
    }

    ngx_queue_insert_tail(&t->ready, &ev->queue);
    ev->queued = 1;

    return NGX_OK;
}


/* "<id>.<hash>": the receiver of the hash, among this spool's */

static ngx_stream_dualcam_notify_target_t *
ngx_stream_dualcam_notify_target(ngx_stream_dualcam_outbox_t *ob,
    u_char *name)
{
    ngx_int_t                             hash;
    ngx_uint_t                            i;
    ngx_stream_dualcam_notify_target_t  **t;

    if (name[NGX_STREAM_DUALCAM_EVENT_ID_LEN] != '.') {
        return NULL;
    }

    hash = ngx_hextoi(name + NGX_STREAM_DUALCAM_EVENT_ID_LEN + 1, 8);

    if (hash == NGX_ERROR) {
        return NULL;
    }

    t = ob->targets.elts;

    for (i = 0; i < ob->targets.nelts; i++) {
        if (t[i]->hash == (uint32_t) hash) {
            return t[i];
        }
    }

    return NULL;
}


/* posted, so that a delivery that fails at once never recurses */

void
ngx_stream_dualcam_notify_kick(ngx_stream_dualcam_outbox_t *ob)
{
    if (ob->kick.handler == NULL) {
        ob->kick.handler = ngx_stream_dualcam_notify_kick_handler;
        ob->kick.data = ob;
        ob->kick.log = ob->log;
    }

    if (!ob->kick.posted) {
        ngx_post_event(&ob->kick, &ngx_posted_events);
    }
}


static void
ngx_stream_dualcam_notify_kick_handler(ngx_event_t *kev)
{
    ngx_uint_t                            i;
    ngx_queue_t                          *q;
    ngx_stream_dualcam_outbox_t          *ob;
    ngx_stream_dualcam_notify_event_t    *ev;
    ngx_stream_dualcam_notify_target_t  **t;

    ob = kev->data;

    /* an exiting worker finishes what it sends; the rest is adopted */

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    t = ob->targets.elts;

    for (i = 0; i < ob->targets.nelts; i++) {

        while (t[i]->active < t[i]->concurrency
               && !ngx_queue_empty(&t[i]->ready))
        {
            q = ngx_queue_head(&t[i]->ready);
            ngx_queue_remove(q);

            ev = ngx_queue_data(q, ngx_stream_dualcam_notify_event_t, queue);
            ev->queued = 0;

            ngx_stream_dualcam_notify_start(ob, ev);
        }
    }
}


static void
ngx_stream_dualcam_notify_start(ngx_stream_dualcam_outbox_t *ob,
    ngx_stream_dualcam_notify_event_t *ev)
{
    ngx_int_t                            rc;
    ngx_str_t                            err;
    ngx_pool_t                          *pool;
    ngx_connection_t                    *c;
    ngx_stream_dualcam_delivery_t       *d;
    ngx_stream_dualcam_notify_target_t  *t;

    t = ev->target;

    pool = ngx_create_pool(2048, ob->log);
    if (pool == NULL) {
        ngx_stream_dualcam_notify_retry(ob, ev, (u_char *) "out of memory",
                                        sizeof("out of memory") - 1);
        return;
    }

    d = ngx_pcalloc(pool, sizeof(ngx_stream_dualcam_delivery_t));
    if (d == NULL) {
        ngx_destroy_pool(pool);
        ngx_stream_dualcam_notify_retry(ob, ev, (u_char *) "out of memory",
                                        sizeof("out of memory") - 1);
        return;
    }

    d->ev = ev;
    d->target = t;
    d->outbox = ob;
    d->pool = pool;

    d->log = *ob->log;
    d->log.handler = ngx_stream_dualcam_notify_log_error;
    d->log.data = d;
    d->log.action = "delivering a dualcam event";

    ev->sending = 1;
    ev->attempts++;
    t->active++;

    rc = ngx_stream_dualcam_notify_request(d, &err);

    if (rc == NGX_DECLINED) {
        /* the file is gone: delivered before a crash, or removed */
        t->active--;
        ev->sending = 0;
        ngx_destroy_pool(pool);
        ngx_stream_dualcam_zone_notify(t->zone, NGX_STREAM_DUALCAM_NOTIFY_GONE,
                                       0, NULL);
        ngx_stream_dualcam_notify_free(ob, ev);
        return;
    }

    if (rc != NGX_OK) {
        t->active--;
        ev->sending = 0;
        ngx_destroy_pool(pool);
        ngx_stream_dualcam_notify_retry(ob, ev, err.data, err.len);
        return;
    }

    d->timer.handler = ngx_stream_dualcam_notify_timeout;
    d->timer.data = d;
    d->timer.log = &d->log;

    /* not cancelable: an exiting worker waits for it, a timeout bounds it */
    ngx_add_timer(&d->timer, t->timeout);

    d->peer.sockaddr = t->addrs[t->next_addr].sockaddr;
    d->peer.socklen = t->addrs[t->next_addr].socklen;
    d->peer.name = &t->addrs[t->next_addr].name;
    d->peer.get = ngx_event_get_peer;
    d->peer.log = &d->log;
    d->peer.log_error = NGX_ERROR_ERR;

    rc = ngx_event_connect_peer(&d->peer);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        ngx_stream_dualcam_notify_fail(d, "cannot connect to %V",
                                       d->peer.name);
        return;
    }

    c = d->peer.connection;
    c->data = d;
    c->pool = pool;

    c->read->handler = ngx_stream_dualcam_notify_read_handler;
    c->write->handler = ngx_stream_dualcam_notify_write_handler;

    if (rc == NGX_AGAIN) {
        return;
    }

    ngx_stream_dualcam_notify_write_handler(c->write);
}


/*
 * The request, in one buffer: the headers right before the body read
 * from the event file.  The signature is an HMAC-SHA256 of
 * "<timestamp>.<body>", as Stripe's and GitHub's webhooks sign.
 */

static ngx_int_t
ngx_stream_dualcam_notify_request(ngx_stream_dualcam_delivery_t *d,
    ngx_str_t *err)
{
    u_char                              *buf, *body, *nl, *p, *last, *ts;
    size_t                               room, len;
    ssize_t                              n;
    time_t                               now;
    ngx_fd_t                             fd;
    unsigned int                         mdlen;
    ngx_file_info_t                      fi;
    ngx_stream_dualcam_outbox_t         *ob;
    ngx_stream_dualcam_notify_target_t  *t;
    u_char                               path[NGX_MAX_PATH];
    u_char                               md[EVP_MAX_MD_SIZE];
    u_char                               tsbuf[NGX_TIME_T_LEN + 1];

    static u_char  unreadable[] = "cannot read the event file";

    ob = d->outbox;
    t = d->target;

    err->data = unreadable;
    err->len = sizeof(unreadable) - 1;

    ngx_sprintf(path, "%s/%s%Z", ob->dir, d->ev->name);

    /* a small file the walk or the commit has just read or written */

    fd = ngx_open_file(path, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        if (ngx_errno == NGX_ENOENT) {
            return NGX_DECLINED;
        }

        ngx_log_error(NGX_LOG_CRIT, &d->log, ngx_errno,
                      ngx_open_file_n " \"%s\" failed", path);
        return NGX_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) > NGX_STREAM_DUALCAM_EVENT_MAX)
    {
        (void) ngx_close_file(fd);
        return NGX_ERROR;
    }

    room = NGX_STREAM_DUALCAM_NOTIFY_HEADERS + t->uri.len + t->host.len;
    len = (size_t) ngx_file_size(&fi);

    buf = ngx_pnalloc(d->pool, room + len + 1);
    if (buf == NULL) {
        (void) ngx_close_file(fd);
        return NGX_ERROR;
    }

    n = ngx_read_fd(fd, buf + room, len);
    (void) ngx_close_file(fd);

    if (n != (ssize_t) len) {
        return NGX_ERROR;
    }

    last = buf + room + len;
    nl = ngx_strlchr(buf + room, last, '\n');

    if (nl == NULL) {
        return NGX_ERROR;
    }

    body = nl + 1;
    len = last - body;

    p = ngx_sprintf(buf, "POST %V HTTP/1.1\r\nHost: %V\r\n"
                    "User-Agent: ngx_stream_dualcam\r\n"
                    "Content-Type: application/json\r\n"
                    "Content-Length: %uz\r\nConnection: close\r\n"
                    "X-Dualcam-Event: %s\r\nX-Dualcam-Id: %*s\r\n"
                    "X-Dualcam-Attempt: %ui\r\n",
                    &t->uri, &t->host, len,
                    ngx_stream_dualcam_notify_event_name(d->ev->type),
                    (size_t) NGX_STREAM_DUALCAM_EVENT_ID_LEN, d->ev->name,
                    d->ev->attempts);

    if (t->secret.len) {

        /* "<timestamp>." right before the body, over the file's first line */

        now = ngx_time();
        ts = ngx_sprintf(tsbuf, "%T.", now);

        if ((size_t) (body - (buf + room)) < (size_t) (ts - tsbuf)) {
            return NGX_ERROR;
        }

        ngx_memcpy(body - (ts - tsbuf), tsbuf, ts - tsbuf);

        if (HMAC(EVP_sha256(), t->secret.data, (int) t->secret.len,
                 body - (ts - tsbuf), (ts - tsbuf) + len, md, &mdlen)
            == NULL)
        {
            return NGX_ERROR;
        }

        p = ngx_sprintf(p, "X-Dualcam-Signature: t=%T,v1=%*xs\r\n",
                        now, (size_t) mdlen, md);
    }

    *p++ = CR; *p++ = LF;

    if ((size_t) (p - buf) > room) {
        return NGX_ERROR;
    }

    d->out = ngx_movemem(body - (p - buf), buf, p - buf) - (p - buf);
    d->out_len = (p - buf) + len;

    return NGX_OK;
}


static void
ngx_stream_dualcam_notify_write_handler(ngx_event_t *wev)
{
    int                             err;
    socklen_t                       len;
    ngx_connection_t               *c;
    ngx_stream_dualcam_delivery_t  *d;

    c = wev->data;
    d = c->data;

    if (c->close) {
        /* worker_shutdown_timeout: the event stays for the next worker */
        ngx_stream_dualcam_notify_fail(d, "the worker is shutting down");
        return;
    }

    if (!d->connected) {
        err = 0;
        len = sizeof(int);

        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len)
            == -1)
        {
            err = ngx_socket_errno;
        }

        if (err) {
            (void) ngx_connection_error(c, err, "connect() failed");
            ngx_stream_dualcam_notify_fail(d, "cannot connect to %V",
                                           d->peer.name);
            return;
        }

        d->connected = 1;

#if (NGX_STREAM_SSL)
        if (d->target->https) {
            ngx_stream_dualcam_notify_ssl_init(d);
            return;
        }
#endif
    }

    ngx_stream_dualcam_notify_send(d);
}


static void
ngx_stream_dualcam_notify_send(ngx_stream_dualcam_delivery_t *d)
{
    ssize_t            n;
    ngx_connection_t  *c;

    c = d->peer.connection;

    while (d->out_pos < d->out_len) {
        n = c->send(c, d->out + d->out_pos, d->out_len - d->out_pos);

        if (n == NGX_ERROR) {
            ngx_stream_dualcam_notify_fail(d, "sending to %V failed",
                                           d->peer.name);
            return;
        }

        if (n == NGX_AGAIN) {
            if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
                ngx_stream_dualcam_notify_fail(d, "cannot wait to send");
            }

            return;
        }

        d->out_pos += n;
    }

    if (!d->sent) {
        d->sent = 1;
        c->write->handler = ngx_stream_dualcam_notify_dummy;
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_stream_dualcam_notify_fail(d, "cannot wait for the answer");
        return;
    }

    if (c->read->ready) {
        ngx_stream_dualcam_notify_read_handler(c->read);
    }
}


static void
ngx_stream_dualcam_notify_read_handler(ngx_event_t *rev)
{
    int                             rc;
    ssize_t                         n;
    unsigned                        status;
    ngx_connection_t               *c;
    ngx_stream_dualcam_delivery_t  *d;

    c = rev->data;
    d = c->data;

    if (c->close) {
        ngx_stream_dualcam_notify_fail(d, "the worker is shutting down");
        return;
    }

    for ( ;; ) {
        n = c->recv(c, d->in + d->in_len, sizeof(d->in) - d->in_len);

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
                ngx_stream_dualcam_notify_fail(d,
                                               "cannot wait for the answer");
            }

            return;
        }

        if (n == NGX_ERROR) {
            ngx_stream_dualcam_notify_fail(d, "the connection to %V broke",
                                           d->peer.name);
            return;
        }

        if (n == 0) {
            ngx_stream_dualcam_notify_fail(d, "%V closed the connection "
                                           "without an answer",
                                           d->peer.name);
            return;
        }

        d->in_len += n;

        rc = dualcam_http_status(d->in, d->in_len, &status);

        if (rc == DUALCAM_HTTP_DONE) {
            ngx_stream_dualcam_notify_done(d, status);
            return;
        }

        if (rc == DUALCAM_HTTP_INVALID || d->in_len == sizeof(d->in)) {
            ngx_stream_dualcam_notify_fail(d, "%V answered no HTTP status "
                                           "line", d->peer.name);
            return;
        }
    }
}


static void
ngx_stream_dualcam_notify_timeout(ngx_event_t *tev)
{
    ngx_stream_dualcam_delivery_t  *d;

    d = tev->data;

    ngx_stream_dualcam_notify_fail(d, "%V timed out %s", d->peer.name,
                                   !d->connected ? "connecting"
                                   : !d->sent ? "before the request was sent"
                                   : "before it answered");
}


#if (NGX_STREAM_SSL)

static void
ngx_stream_dualcam_notify_ssl_init(ngx_stream_dualcam_delivery_t *d)
{
    ngx_int_t          rc;
    ngx_connection_t  *c;

    c = d->peer.connection;

    if (ngx_ssl_create_connection(d->target->ssl, c,
                                  NGX_SSL_BUFFER|NGX_SSL_CLIENT)
        != NGX_OK)
    {
        ngx_stream_dualcam_notify_fail(d, "cannot start SSL");
        return;
    }

    /* one full handshake per receiver and worker, not per event */

    if (d->target->session
        && ngx_ssl_set_session(c, d->target->session) != NGX_OK)
    {
        ngx_stream_dualcam_notify_fail(d, "cannot resume the SSL session");
        return;
    }

    c->ssl->save_session = ngx_stream_dualcam_notify_ssl_save;

#ifdef SSL_CTRL_SET_TLSEXT_HOSTNAME

    /* as per RFC 6066, no IP address as the server name */

    if (d->target->sni.len
        && SSL_set_tlsext_host_name(c->ssl->connection,
                                    (char *) d->target->sni.data)
           == 0)
    {
        ngx_ssl_error(NGX_LOG_ERR, &d->log, 0,
                      "SSL_set_tlsext_host_name(\"%s\") failed",
                      d->target->sni.data);
        ngx_stream_dualcam_notify_fail(d, "cannot set the SSL server name");
        return;
    }

#endif

    rc = ngx_ssl_handshake(c);

    if (rc == NGX_AGAIN) {
        c->ssl->handler = ngx_stream_dualcam_notify_ssl_handshake;
        return;
    }

    ngx_stream_dualcam_notify_ssl_handshake(c);
}


static void
ngx_stream_dualcam_notify_ssl_handshake(ngx_connection_t *c)
{
    long                                 rc;
    X509                                *cert;
    ngx_str_t                           *name;
    ngx_stream_dualcam_delivery_t       *d;
    ngx_stream_dualcam_notify_target_t  *t;

    d = c->data;
    t = d->target;

    if (!c->ssl->handshaked) {
        ngx_stream_dualcam_notify_fail(d, "SSL handshake with %V failed",
                                       d->peer.name);
        return;
    }

    if (t->ssl_verify) {
        rc = SSL_get_verify_result(c->ssl->connection);

        if (rc != X509_V_OK) {
            ngx_stream_dualcam_notify_forget_session(t);
            ngx_stream_dualcam_notify_fail(d, "SSL certificate verify "
                                           "error: (%l:%s)", rc,
                                           X509_verify_cert_error_string(rc));
            return;
        }

        if (t->sni.len) {
            name = &t->sni;

            if (ngx_ssl_check_host(c, name) != NGX_OK) {
                ngx_stream_dualcam_notify_forget_session(t);
                ngx_stream_dualcam_notify_fail(d, "SSL certificate does not "
                                               "match \"%V\"", name);
                return;
            }

        } else {

            /* an address in the URL: the certificate must name it */

            cert = SSL_get_peer_certificate(c->ssl->connection);

            rc = (cert != NULL
                  && X509_check_ip_asc(cert, (char *) t->ip.data, 0) == 1);

            if (cert) {
                X509_free(cert);
            }

            if (!rc) {
                ngx_stream_dualcam_notify_forget_session(t);
                ngx_stream_dualcam_notify_fail(d, "SSL certificate does not "
                                               "match \"%s\"", t->ip.data);
                return;
            }
        }
    }

    c->read->handler = ngx_stream_dualcam_notify_read_handler;
    c->write->handler = ngx_stream_dualcam_notify_write_handler;

    ngx_stream_dualcam_notify_send(d);
}


/* a session (or, TLS 1.3, a ticket) the receiver gave: the next one */

static void
ngx_stream_dualcam_notify_ssl_save(ngx_connection_t *c)
{
    ngx_ssl_session_t                   *session;
    ngx_stream_dualcam_delivery_t       *d;
    ngx_stream_dualcam_notify_target_t  *t;

    d = c->data;
    t = d->target;

    session = ngx_ssl_get_session(c);

    if (session == NULL) {
        return;
    }

    ngx_stream_dualcam_notify_forget_session(t);
    t->session = session;
}


static void
ngx_stream_dualcam_notify_forget_session(
    ngx_stream_dualcam_notify_target_t *t)
{
    if (t->session) {
        ngx_ssl_free_session(t->session);
        t->session = NULL;
    }
}

#endif


static void
ngx_stream_dualcam_notify_dummy(ngx_event_t *ev)
{
}


static void
ngx_stream_dualcam_notify_close(ngx_stream_dualcam_delivery_t *d)
{
    ngx_connection_t  *c;

    if (d->timer.timer_set) {
        ngx_del_timer(&d->timer);
    }

    c = d->peer.connection;

    if (c == NULL) {
        return;
    }

#if (NGX_STREAM_SSL)
    if (c->ssl) {
        /* the answer is read: nothing more to say, or to wait for */
        c->ssl->no_wait_shutdown = 1;
        c->ssl->no_send_shutdown = 1;
        (void) ngx_ssl_shutdown(c);
    }
#endif

    ngx_close_connection(c);
    d->peer.connection = NULL;
}


static void
ngx_stream_dualcam_notify_done(ngx_stream_dualcam_delivery_t *d,
    ngx_uint_t status)
{
    ngx_pool_t                          *pool;
    ngx_stream_dualcam_outbox_t         *ob;
    ngx_stream_dualcam_notify_event_t   *ev;
    ngx_stream_dualcam_notify_target_t  *t;

    if (status < 200 || status > 299) {
        ngx_stream_dualcam_notify_fail(d, "%V answered %ui", d->peer.name,
                                       status);
        return;
    }

    ob = d->outbox;
    ev = d->ev;
    t = d->target;
    pool = d->pool;

    ngx_log_debug3(NGX_LOG_DEBUG_STREAM, &d->log, 0,
                   "dualcam notify: %s delivered to %V, %ui", ev->name,
                   &t->url, status);

    ngx_stream_dualcam_notify_close(d);
    ngx_destroy_pool(pool);

    t->active--;
    ev->sending = 0;

    ngx_stream_dualcam_outbox_forget(ob, ev);
    ngx_stream_dualcam_zone_notify(t->zone, NGX_STREAM_DUALCAM_NOTIFY_SENT,
                                   0, NULL);
    ngx_stream_dualcam_notify_free(ob, ev);

    ngx_stream_dualcam_notify_kick(ob);
}


static void
ngx_stream_dualcam_notify_fail(ngx_stream_dualcam_delivery_t *d,
    const char *fmt, ...)
{
    u_char                             *p;
    va_list                             args;
    ngx_pool_t                         *pool;
    ngx_stream_dualcam_outbox_t        *ob;
    ngx_stream_dualcam_notify_event_t  *ev;
    u_char                              reason[NGX_STREAM_DUALCAM_NOTIFY_ERROR];

    va_start(args, fmt);
    p = ngx_vslprintf(reason, reason + sizeof(reason), fmt, args);
    va_end(args);

    ob = d->outbox;
    ev = d->ev;
    pool = d->pool;

    ngx_stream_dualcam_notify_close(d);

    d->target->active--;
    ev->sending = 0;

    ngx_destroy_pool(pool);

    ngx_stream_dualcam_notify_retry(ob, ev, reason, p - reason);
    ngx_stream_dualcam_notify_kick(ob);
}


/* an attempt failed: again after a backoff, or failed/ after max_age */

static void
ngx_stream_dualcam_notify_retry(ngx_stream_dualcam_outbox_t *ob,
    ngx_stream_dualcam_notify_event_t *ev, u_char *reason, size_t len)
{
    uint64_t                             age;
    ngx_str_t                            error;
    ngx_msec_t                           delay;
    ngx_uint_t                           shift;
    ngx_stream_dualcam_notify_target_t  *t;

    t = ev->target;

    error.data = reason;
    error.len = len;

    ngx_stream_dualcam_zone_notify(t->zone,
                                   NGX_STREAM_DUALCAM_NOTIFY_ATTEMPT_FAILED,
                                   0, &error);

    /* the next attempt tries the next address of the receiver */

    t->next_addr = (t->next_addr + 1) % t->naddrs;

    age = ngx_stream_dualcam_now_ms() - ev->created_ms;

    if (ev->created_ms > ngx_stream_dualcam_now_ms()) {
        age = 0;
    }

    if (age >= (uint64_t) t->max_age * 1000) {

        if (ngx_stream_dualcam_outbox_dead(ob, ev, ob->log) == NGX_OK) {
            ngx_stream_dualcam_zone_notify(t->zone,
                                           NGX_STREAM_DUALCAM_NOTIFY_DEAD,
                                           0, NULL);

            ngx_log_error(NGX_LOG_ERR, ob->log, 0,
                          "dualcam notify: event %s for %V is %uL s old "
                          "after %ui attempts (the last: %V): moved to "
                          "\"%V/%s\"", ev->name, &t->url, age / 1000,
                          ev->attempts, &error, &ob->failed, ev->name);

            ngx_stream_dualcam_notify_free(ob, ev);
            return;
        }

        /* still in the spool (the rename said why): tried again */
    }

    shift = ngx_min(ev->attempts ? ev->attempts - 1 : 0, 30);
    delay = t->backoff_min;

    while (shift-- && delay < t->backoff_max) {
        delay *= 2;
    }

    delay = ngx_min(delay, t->backoff_max);

    /* jitter: receivers that come back do not see every worker at once */
    delay = delay / 2 + (ngx_msec_t) ngx_random() % (delay / 2 + 1);
    delay = ngx_max(delay, 1);

    ngx_log_error(NGX_LOG_WARN, ob->log, 0,
                  "dualcam notify: event %s for %V, attempt %ui: %V; "
                  "again in %M ms", ev->name, &t->url, ev->attempts,
                  &error, delay);

    ngx_add_timer(&ev->retry, delay);
}


static void
ngx_stream_dualcam_notify_retry_handler(ngx_event_t *rev)
{
    ngx_stream_dualcam_notify_event_t  *ev;

    ev = rev->data;

    ngx_queue_insert_tail(&ev->target->ready, &ev->queue);
    ev->queued = 1;

    ngx_stream_dualcam_notify_kick(ev->target->outbox);
}


static void
ngx_stream_dualcam_notify_free(ngx_stream_dualcam_outbox_t *ob,
    ngx_stream_dualcam_notify_event_t *ev)
{
    if (ev->retry.timer_set) {
        ngx_del_timer(&ev->retry);
    }

    if (ev->queued) {
        ngx_queue_remove(&ev->queue);
    }

    ngx_rbtree_delete(&ob->events, &ev->node.node);
    ngx_free(ev);
}


static u_char *
ngx_stream_dualcam_notify_log_error(ngx_log_t *log, u_char *buf, size_t len)
{
    u_char                         *p;
    ngx_stream_dualcam_delivery_t  *d;

    d = log->data;
    p = buf;

    if (log->action) {
        p = ngx_snprintf(p, len, " while %s", log->action);
        len -= p - buf;
    }

    return ngx_snprintf(p, len, ", event: %s, receiver: %V", d->ev->name,
                        &d->target->url);
}


/* the configuration */

static void *
ngx_stream_dualcam_notify_create_main_conf(ngx_conf_t *cf)
{
    ngx_stream_dualcam_notify_main_conf_t  *nmcf;

    nmcf = ngx_pcalloc(cf->pool, sizeof(ngx_stream_dualcam_notify_main_conf_t));
    if (nmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&nmcf->outboxes, cf->pool, 1,
                       sizeof(ngx_stream_dualcam_outbox_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return nmcf;
}


static void *
ngx_stream_dualcam_notify_create_srv_conf(ngx_conf_t *cf)
{
    ngx_stream_dualcam_notify_srv_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_stream_dualcam_notify_srv_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->specs = NULL;
     *     conf->spool = NULL;
     *     conf->secret = { 0, NULL };
     *     conf->ssl_trusted_certificate = { 0, NULL };
     *     conf->events = 0;
     *     conf->outbox = NULL;
     */

    conf->timeout = NGX_CONF_UNSET_MSEC;
    conf->backoff_min = NGX_CONF_UNSET_MSEC;
    conf->backoff_max = NGX_CONF_UNSET_MSEC;
    conf->max_age = NGX_CONF_UNSET;
    conf->concurrency = NGX_CONF_UNSET_UINT;
    conf->ssl_verify = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_stream_dualcam_notify_merge_srv_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_stream_dualcam_notify_srv_conf_t *prev = parent;
    ngx_stream_dualcam_notify_srv_conf_t *conf = child;

    u_char                                 *p;
    void                                   *pool;
    ngx_path_init_t                         init;
    ngx_stream_dualcam_srv_conf_t          *dscf;
    ngx_stream_dualcam_main_conf_t         *dmcf;
    ngx_stream_dualcam_notify_main_conf_t  *nmcf;

    if (conf->specs == NULL) {
        conf->specs = prev->specs;
    }

    ngx_conf_merge_str_value(conf->secret, prev->secret, "");
    ngx_conf_merge_msec_value(conf->timeout, prev->timeout, 10000);
    ngx_conf_merge_msec_value(conf->backoff_min, prev->backoff_min, 1000);
    ngx_conf_merge_msec_value(conf->backoff_max, prev->backoff_max, 600000);
    ngx_conf_merge_sec_value(conf->max_age, prev->max_age, 3 * 86400);
    ngx_conf_merge_uint_value(conf->concurrency, prev->concurrency, 16);
    ngx_conf_merge_value(conf->ssl_verify, prev->ssl_verify, 1);
    ngx_conf_merge_str_value(conf->ssl_trusted_certificate,
                             prev->ssl_trusted_certificate, "");

    if (conf->backoff_min == 0 || conf->backoff_max < conf->backoff_min) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"dualcam_notify_backoff\" needs 0 < min <= max");
        return NGX_CONF_ERROR;
    }

    if (conf->concurrency == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"dualcam_notify_concurrency\" must be at "
                           "least 1");
        return NGX_CONF_ERROR;
    }

    dscf = ngx_stream_conf_get_module_srv_conf(cf, ngx_stream_dualcam_module);

    if (!dscf->enabled || conf->specs == NULL) {
        return NGX_CONF_OK;
    }

    /* by default the spool is <temp path>/notify: one file system */

    ngx_memzero(&init, sizeof(ngx_path_init_t));

    init.name.len = dscf->store.temp_path->name.len + sizeof("/notify") - 1;
    init.name.data = ngx_pnalloc(cf->pool, init.name.len + 1);
    if (init.name.data == NULL) {
        return NGX_CONF_ERROR;
    }

    p = ngx_cpymem(init.name.data, dscf->store.temp_path->name.data,
                   dscf->store.temp_path->name.len);
    ngx_memcpy(p, "/notify", sizeof("/notify"));

    if (ngx_conf_merge_path_value(cf, &conf->spool, prev->spool, &init)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    /* the sweeper of partials never walks into it */

    dmcf = ngx_stream_conf_get_module_main_conf(cf, ngx_stream_dualcam_module);

    if (ngx_stream_dualcam_sweeper_skip(&dmcf->sweeper, &conf->spool->name)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    pool = NULL;

#if (NGX_THREADS)
    pool = dscf->thread_pool;
#endif

    nmcf = ngx_stream_conf_get_module_main_conf(cf,
                                            ngx_stream_dualcam_notify_module);

    conf->outbox = ngx_stream_dualcam_outbox(cf, &nmcf->outboxes,
                                             conf->spool, pool);
    if (conf->outbox == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_stream_dualcam_notify_targets(cf, conf, dscf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_stream_dualcam_notify_targets(ngx_conf_t *cf,
    ngx_stream_dualcam_notify_srv_conf_t *conf,
    ngx_stream_dualcam_srv_conf_t *dscf)
{
    ngx_uint_t                            i, j;
    ngx_stream_dualcam_notify_send_t     *sd;
    ngx_stream_dualcam_notify_spec_t     *spec;
    ngx_stream_dualcam_notify_target_t  **tp, *t;

    if (ngx_array_init(&conf->sends, cf->pool, conf->specs->nelts,
                       sizeof(ngx_stream_dualcam_notify_send_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    spec = conf->specs->elts;

    for (i = 0; i < conf->specs->nelts; i++) {

        /* one URL of one spool is one receiver, with one set of events */

        t = NULL;
        tp = conf->outbox->targets.elts;

        for (j = 0; j < conf->outbox->targets.nelts; j++) {
            if (tp[j]->url.len == spec[i].url.len
                && ngx_strncmp(tp[j]->url.data, spec[i].url.data,
                               spec[i].url.len)
                   == 0)
            {
                t = tp[j];
                break;
            }
        }

        if (t == NULL) {
            t = ngx_stream_dualcam_notify_url(cf, conf, &spec[i].url);
            if (t == NULL) {
                return NGX_ERROR;
            }

            t->zone = dscf->zone;
            t->outbox = conf->outbox;

            tp = ngx_array_push(&conf->outbox->targets);
            if (tp == NULL) {
                return NGX_ERROR;
            }

            *tp = t;
        }

        sd = ngx_array_push(&conf->sends);
        if (sd == NULL) {
            return NGX_ERROR;
        }

        sd->target = t;
        sd->events = spec[i].events;

        conf->events |= spec[i].events;
    }

    return NGX_OK;
}


/*
 * http[s]://host[:port]/path, resolved now, as proxy_pass resolves a
 * name without a resolver: the addresses are those of the load.
 */

static ngx_stream_dualcam_notify_target_t *
ngx_stream_dualcam_notify_url(ngx_conf_t *cf,
    ngx_stream_dualcam_notify_srv_conf_t *conf, ngx_str_t *url)
{
    u_char                              *p;
    size_t                               skip;
    ngx_url_t                            u;
    ngx_uint_t                           https;
    ngx_pool_cleanup_t                  *cln;
    ngx_stream_dualcam_notify_target_t  *t;

    if (url->len > 7 && ngx_strncasecmp(url->data, (u_char *) "http://", 7)
                        == 0)
    {
        skip = 7;
        https = 0;

    } else if (url->len > 8
               && ngx_strncasecmp(url->data, (u_char *) "https://", 8) == 0)
    {
        skip = 8;
        https = 1;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid URL \"%V\" in \"dualcam_notify\": "
                           "http:// or https:// expected", url);
        return NULL;
    }

#if !(NGX_STREAM_SSL)
    if (https) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"dualcam_notify\" with https needs nginx "
                           "built with the stream SSL module");
        return NULL;
    }
#endif

    t = ngx_pcalloc(cf->pool, sizeof(ngx_stream_dualcam_notify_target_t));
    if (t == NULL) {
        return NULL;
    }

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url.data = url->data + skip;
    u.url.len = url->len - skip;
    u.default_port = https ? 443 : 80;
    u.uri_part = 1;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s in \"%V\"",
                           u.err ? u.err : "invalid URL", url);
        return NULL;
    }

    if (u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no address for \"%V\"", url);
        return NULL;
    }

    t->url = *url;
    t->hash = ngx_crc32_short(url->data, url->len);
    t->addrs = u.addrs;
    t->naddrs = u.naddrs;
    t->https = https;

    if (u.uri.len) {
        t->uri = u.uri;

    } else {
        ngx_str_set(&t->uri, "/");
    }

    /* Host: the name as written, with the port when it is not the default */

    t->host.data = ngx_pnalloc(cf->pool, u.host.len + sizeof(":65535"));
    if (t->host.data == NULL) {
        return NULL;
    }

    p = ngx_cpymem(t->host.data, u.host.data, u.host.len);

    if (u.port != u.default_port) {
        p = ngx_sprintf(p, ":%d", (int) u.port);
    }

    t->host.len = p - t->host.data;

    /* SNI and the name checked: no IP addresses (RFC 6066) */

    if (u.host.len && u.host.data[0] != '['
        && ngx_inet_addr(u.host.data, u.host.len) == INADDR_NONE)
    {
        t->sni.data = ngx_pnalloc(cf->pool, u.host.len + 1);
        if (t->sni.data == NULL) {
            return NULL;
        }

        (void) ngx_cpystrn(t->sni.data, u.host.data, u.host.len + 1);
        t->sni.len = u.host.len;

    } else {
        p = u.host.data;
        skip = u.host.len;

        if (skip > 2 && p[0] == '[') {
            p++;
            skip -= 2;
        }

        t->ip.data = ngx_pnalloc(cf->pool, skip + 1);
        if (t->ip.data == NULL) {
            return NULL;
        }

        (void) ngx_cpystrn(t->ip.data, p, skip + 1);
        t->ip.len = skip;
    }

    t->secret = conf->secret;
    t->timeout = conf->timeout;
    t->backoff_min = conf->backoff_min;
    t->backoff_max = conf->backoff_max;
    t->max_age = conf->max_age;
    t->concurrency = conf->concurrency;
    t->ssl_verify = conf->ssl_verify ? 1 : 0;

#if (NGX_STREAM_SSL)

    if (!https) {
        return t;
    }

    t->ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
    if (t->ssl == NULL) {
        return NULL;
    }

    t->ssl->log = cf->log;

    if (ngx_ssl_create(t->ssl, NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3, NULL)
        != NGX_OK)
    {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(t->ssl);
        return NULL;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = t->ssl;

    if (ngx_ssl_client_session_cache(cf, t->ssl, 1) != NGX_OK) {
        return NULL;
    }

    if (!t->ssl_verify) {
        return t;
    }

    if (conf->ssl_trusted_certificate.len) {
        if (ngx_ssl_trusted_certificate(cf, t->ssl,
                                        &conf->ssl_trusted_certificate, 4)
            != NGX_OK)
        {
            return NULL;
        }

    } else if (SSL_CTX_set_default_verify_paths(t->ssl->ctx) != 1) {

        /* a public receiver: the system's certificate authorities */

        ngx_ssl_error(NGX_LOG_EMERG, cf->log, 0,
                      "SSL_CTX_set_default_verify_paths() failed");
        return NULL;
    }

#else
    (void) cln;
#endif

    return t;
}


/* dualcam_notify URL [events=stored,failed,session] */

static char *
ngx_stream_dualcam_notify(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_stream_dualcam_notify_srv_conf_t *ncf = conf;

    u_char                            *p, *last, *comma;
    ngx_str_t                         *value;
    ngx_uint_t                         type;
    ngx_stream_dualcam_notify_spec_t  *spec;

    value = cf->args->elts;

    if (ncf->specs == NULL) {
        ncf->specs = ngx_array_create(cf->pool, 2,
                                      sizeof(ngx_stream_dualcam_notify_spec_t));
        if (ncf->specs == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    spec = ngx_array_push(ncf->specs);
    if (spec == NULL) {
        return NGX_CONF_ERROR;
    }

    spec->url = value[1];
    spec->events = NGX_STREAM_DUALCAM_EV_STORED|NGX_STREAM_DUALCAM_EV_FAILED;

    if (cf->args->nelts == 2) {
        return NGX_CONF_OK;
    }

    if (ngx_strncmp(value[2].data, "events=", 7) != 0 || value[2].len == 7) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[2]);
        return NGX_CONF_ERROR;
    }

    spec->events = 0;

    p = value[2].data + 7;
    last = value[2].data + value[2].len;

    while (p < last) {
        comma = ngx_strlchr(p, last, ',');

        if (comma == NULL) {
            comma = last;
        }

        type = ngx_stream_dualcam_notify_event_type(p, comma - p);

        if (type == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown event \"%*s\" in \"%V\"",
                               comma - p, p, &value[2]);
            return NGX_CONF_ERROR;
        }

        spec->events |= type;
        p = comma + 1;
    }

    return NGX_CONF_OK;
}


/* dualcam_notify_backoff MIN [MAX] */

static char *
ngx_stream_dualcam_notify_backoff(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_stream_dualcam_notify_srv_conf_t *ncf = conf;

    ngx_str_t   *value;
    ngx_msec_t   v[2];
    ngx_uint_t   i;

    if (ncf->backoff_min != NGX_CONF_UNSET_MSEC) {
        return "is duplicate";
    }

    value = cf->args->elts;

    v[1] = 600000;

    for (i = 1; i < cf->args->nelts; i++) {
        v[i - 1] = ngx_parse_time(&value[i], 0);

        if (v[i - 1] == (ngx_msec_t) NGX_ERROR) {
            return "has an invalid time";
        }
    }

    ncf->backoff_min = v[0];
    ncf->backoff_max = ngx_max(v[0], v[1]);

    if (cf->args->nelts == 3 && v[1] < v[0]) {
        return "has max below min";
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_stream_dualcam_notify_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                              i, j;
    ngx_stream_dualcam_outbox_t           **ob;
    ngx_stream_dualcam_notify_target_t    **t;
    ngx_stream_dualcam_notify_main_conf_t  *nmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    nmcf = ngx_stream_cycle_get_module_main_conf(cycle,
                                            ngx_stream_dualcam_notify_module);
    if (nmcf == NULL) {
        return NGX_OK;
    }

    ob = nmcf->outboxes.elts;

    for (i = 0; i < nmcf->outboxes.nelts; i++) {

        t = ob[i]->targets.elts;

        for (j = 0; j < ob[i]->targets.nelts; j++) {
            ngx_queue_init(&t[j]->ready);
            t[j]->active = 0;
#if (NGX_STREAM_SSL)
            t[j]->session = NULL;
#endif
        }

        if (ngx_stream_dualcam_outbox_init_process(cycle, ob[i]) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}
