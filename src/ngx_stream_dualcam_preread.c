
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * dualcam_preread: the device's IMEI before proxy_pass, so that a front
 * tier can route every device by it (upstream { hash $dualcam_imei
 * consistent; }) and a resume lands on the node that holds the partial,
 * whatever address the device comes back from.  The shape is that of
 * ngx_stream_ssl_preread_module.c: a preread phase handler that judges
 * what the core has read into c->buffer so far and leaves those bytes in
 * place for the proxy to forward.  What an init is, is decided by the
 * sans-I/O core (dualcam_init_parse()), the allow list is the one of
 * dualcam_allow_imei, and $dualcam_imei / $dualcam_protocol are the
 * variables of ngx_stream_dualcam_module, which ask here when no
 * session of their own has seen an init.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_stream_dualcam.h"


typedef struct {
    ngx_flag_t                        enabled;
} ngx_stream_dualcam_preread_srv_conf_t;


typedef struct {
    dualcam_init_t                    init;
    unsigned                          valid:1;      /* a well-formed init */
    unsigned                          judged:1;     /* accepted or refused,
                                                       and logged */
} ngx_stream_dualcam_preread_ctx_t;


static ngx_int_t ngx_stream_dualcam_preread_handler(ngx_stream_session_t *s);
static ngx_int_t ngx_stream_dualcam_preread_judge(ngx_stream_session_t *s,
    ngx_stream_dualcam_preread_ctx_t *ctx, ngx_int_t rc);
static void ngx_stream_dualcam_preread_refuse(ngx_connection_t *c);
static ngx_int_t ngx_stream_dualcam_preread_log(ngx_stream_session_t *s);
static void *ngx_stream_dualcam_preread_create_srv_conf(ngx_conf_t *cf);
static char *ngx_stream_dualcam_preread_merge_srv_conf(ngx_conf_t *cf,
    void *parent, void *child);
static ngx_int_t ngx_stream_dualcam_preread_init(ngx_conf_t *cf);


static ngx_command_t  ngx_stream_dualcam_preread_commands[] = {

    { ngx_string("dualcam_preread"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_dualcam_preread_srv_conf_t, enabled),
      NULL },

      ngx_null_command
};


static ngx_stream_module_t  ngx_stream_dualcam_preread_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_stream_dualcam_preread_init,       /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    ngx_stream_dualcam_preread_create_srv_conf,
                                           /* create server configuration */
    ngx_stream_dualcam_preread_merge_srv_conf
                                           /* merge server configuration */
};


ngx_module_t  ngx_stream_dualcam_preread_module = {
    NGX_MODULE_V1,
    &ngx_stream_dualcam_preread_module_ctx,  /* module context */
    ngx_stream_dualcam_preread_commands,   /* module directives */
    NGX_STREAM_MODULE,                     /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/*
 * Called by the core's preread phase on entry and after every read into
 * c->buffer; NGX_AGAIN asks for more (bounded by preread_timeout), a
 * status code ends the session before any upstream is chosen.
 */

static ngx_int_t
ngx_stream_dualcam_preread_handler(ngx_stream_session_t *s)
{
    ngx_int_t                               rc;
    ngx_connection_t                       *c;
    ngx_stream_dualcam_preread_ctx_t       *ctx;
    ngx_stream_dualcam_preread_srv_conf_t  *pscf;

    c = s->connection;

    pscf = ngx_stream_get_module_srv_conf(s,
                                          ngx_stream_dualcam_preread_module);

    if (!pscf->enabled || c->type != SOCK_STREAM) {
        return NGX_DECLINED;
    }

    /* the context says the phase was reached, for the log handler */

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_dualcam_preread_module);
    if (ctx == NULL) {
        ctx = ngx_pcalloc(c->pool, sizeof(ngx_stream_dualcam_preread_ctx_t));
        if (ctx == NULL) {
            return NGX_ERROR;
        }

        ngx_stream_set_ctx(s, ctx, ngx_stream_dualcam_preread_module);
    }

    if (c->buffer == NULL) {
        return NGX_AGAIN;
    }

    rc = dualcam_init_parse(&ctx->init, c->buffer->pos,
                            c->buffer->last - c->buffer->pos);

    ngx_log_debug2(NGX_LOG_DEBUG_STREAM, c->log, 0,
                   "dualcam preread: %uz bytes, rc %i",
                   (size_t) (c->buffer->last - c->buffer->pos), rc);

    if (rc == DUALCAM_INIT_AGAIN) {
        return NGX_AGAIN;
    }

    ctx->judged = 1;

    return ngx_stream_dualcam_preread_judge(s, ctx, rc);
}


static ngx_int_t
ngx_stream_dualcam_preread_judge(ngx_stream_session_t *s,
    ngx_stream_dualcam_preread_ctx_t *ctx, ngx_int_t rc)
{
    size_t                          n;
    ngx_connection_t               *c;
    ngx_stream_dualcam_srv_conf_t  *dscf;

    c = s->connection;
    dscf = ngx_stream_get_module_srv_conf(s, ngx_stream_dualcam_module);

    switch (rc) {

    case DUALCAM_INIT_NOT_INIT:

        /* a port scanner, TLS to a plain port, HTTP: nothing to answer */

        n = ngx_min((size_t) (c->buffer->last - c->buffer->pos), 8);

        ngx_log_error(dscf->log_level, c->log, 0,
                      "not a dualcam init packet (starts %*xs), closing",
                      n, c->buffer->pos);

        return NGX_STREAM_BAD_REQUEST;

    case DUALCAM_INIT_BAD_IMEI:

        ngx_log_error(dscf->log_level, c->log, 0,
                      "invalid IMEI %uL in init packet, closing",
                      ctx->init.imei);

        ngx_stream_dualcam_preread_refuse(c);

        return NGX_STREAM_BAD_REQUEST;

    default: /* DUALCAM_INIT_OK */
        break;
    }

    ctx->valid = 1;

    if (dscf->allow != NULL
        && !ngx_stream_dualcam_allowed(dscf->allow, ctx->init.imei))
    {
        ngx_log_error(dscf->log_level, c->log, 0,
                      "IMEI " NGX_STREAM_DUALCAM_IMEI_FMT
                      " is not in the allow list", ctx->init.imei);

        ngx_stream_dualcam_preread_refuse(c);

        return NGX_STREAM_FORBIDDEN;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_STREAM, c->log, 0,
                   "dualcam preread: IMEI " NGX_STREAM_DUALCAM_IMEI_FMT
                   ", protocol %ui", ctx->init.imei,
                   (ngx_uint_t) ctx->init.protocol);

    return NGX_OK;
}


/*
 * CLOSE, as a camera server answers an init it does not want: the
 * device then stops, where a bare TCP close makes it retry.  One
 * non-blocking send on a fresh connection; if it does not go out at
 * once the close alone has to do.
 */

static void
ngx_stream_dualcam_preread_refuse(ngx_connection_t *c)
{
    ssize_t  n;

    n = c->send(c, (u_char *) DUALCAM_CLOSE_FRAME, DUALCAM_CLOSE_FRAME_LEN);

    ngx_log_debug1(NGX_LOG_DEBUG_STREAM, c->log, 0,
                   "dualcam preread: CLOSE sent: %z", n);
}


/*
 * The core's preread phase ends a session silently when the device
 * closes or preread_timeout expires before the init is complete; say so
 * at the configured level, as the content handler does for a silent
 * device.
 */

static ngx_int_t
ngx_stream_dualcam_preread_log(ngx_stream_session_t *s)
{
    size_t                             n;
    ngx_connection_t                  *c;
    ngx_stream_dualcam_srv_conf_t     *dscf;
    ngx_stream_dualcam_preread_ctx_t  *ctx;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_dualcam_preread_module);

    if (ctx == NULL || ctx->judged) {
        return NGX_OK;
    }

    c = s->connection;
    dscf = ngx_stream_get_module_srv_conf(s, ngx_stream_dualcam_module);

    n = c->buffer ? (size_t) (c->buffer->last - c->buffer->pos) : 0;

    c->log->action = "prereading a dualcam init packet";

    if (c->read->timedout) {
        ngx_log_error(dscf->log_level, c->log, 0,
                      "no dualcam init packet within preread_timeout "
                      "(%uz of 16 bytes), closing", n);

    } else {
        ngx_log_error(dscf->log_level, c->log, 0,
                      "device closed before its init packet was complete "
                      "(%uz of 16 bytes)", n);
    }

    return NGX_OK;
}


/*
 * $dualcam_imei (data NGX_STREAM_DUALCAM_VAR_IMEI) and $dualcam_protocol:
 * one definition for a backend and a front.  The init this session's
 * content handler parsed, else the one its preread phase accepted (or
 * refused by the allow list only), else not found ("-").
 */

ngx_int_t
ngx_stream_dualcam_init_variable(ngx_stream_session_t *s,
    ngx_stream_variable_value_t *v, uintptr_t data)
{
    u_char                            *p;
    uint64_t                           imei;
    ngx_uint_t                         protocol;
    ngx_stream_dualcam_ctx_t          *ctx;
    ngx_stream_dualcam_preread_ctx_t  *pctx;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_dualcam_module);
    pctx = ngx_stream_get_module_ctx(s, ngx_stream_dualcam_preread_module);

    if (ctx != NULL && ctx->hello) {
        imei = ctx->server.imei;
        protocol = ctx->server.protocol;

    } else if (pctx != NULL && pctx->valid) {
        imei = pctx->init.imei;
        protocol = pctx->init.protocol;

    } else {
        v->not_found = 1;
        return NGX_OK;
    }

    p = ngx_pnalloc(s->connection->pool, NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    if (data == NGX_STREAM_DUALCAM_VAR_IMEI) {
        v->len = ngx_sprintf(p, NGX_STREAM_DUALCAM_IMEI_FMT, imei) - p;

    } else {
        v->len = ngx_sprintf(p, "%ui", protocol) - p;
    }

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = p;

    return NGX_OK;
}


static void *
ngx_stream_dualcam_preread_create_srv_conf(ngx_conf_t *cf)
{
    ngx_stream_dualcam_preread_srv_conf_t  *conf;

    conf = ngx_palloc(cf->pool, sizeof(ngx_stream_dualcam_preread_srv_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->enabled = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_stream_dualcam_preread_merge_srv_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_stream_dualcam_preread_srv_conf_t *prev = parent;
    ngx_stream_dualcam_preread_srv_conf_t *conf = child;

    ngx_conf_merge_value(conf->enabled, prev->enabled, 0);

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_stream_dualcam_preread_init(ngx_conf_t *cf)
{
    ngx_stream_handler_pt        *h;
    ngx_stream_core_main_conf_t  *cmcf;

    cmcf = ngx_stream_conf_get_module_main_conf(cf, ngx_stream_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_STREAM_PREREAD_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_stream_dualcam_preread_handler;

    h = ngx_array_push(&cmcf->phases[NGX_STREAM_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_stream_dualcam_preread_log;

    return NGX_OK;
}
