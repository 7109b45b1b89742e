
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The stream module: directives, the content handler and its event
 * handlers, variables.  What the protocol means is decided by the sans-I/O
 * core (src/dualcam.h); this file owns the socket, the timers, and calls
 * the store, the commit and the status zone.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_stream.h>
#include <nginx.h>

#include "ngx_stream_dualcam.h"
#include "dualcam_json.h"
#include "ngx_stream_dualcam_notify.h"
#include "ngx_stream_dualcam_mp4.h"


/* NGX_STREAM_DUALCAM_VAR_IMEI (0) is in ngx_stream_dualcam.h */
#define NGX_STREAM_DUALCAM_VAR_FILES     1
#define NGX_STREAM_DUALCAM_VAR_BYTES     2
#define NGX_STREAM_DUALCAM_VAR_RESULT    3
#define NGX_STREAM_DUALCAM_VAR_PROTOCOL  4


static void ngx_stream_dualcam_handler(ngx_stream_session_t *s);
static void ngx_stream_dualcam_event_handler(ngx_event_t *ev);
static void ngx_stream_dualcam_resume_handler(ngx_event_t *ev);
static void ngx_stream_dualcam_process(ngx_stream_session_t *s);
static ngx_int_t ngx_stream_dualcam_repeat(ngx_stream_session_t *s,
    ngx_stream_dualcam_ctx_t *ctx);
static ngx_int_t ngx_stream_dualcam_read(ngx_stream_session_t *s,
    ngx_stream_dualcam_ctx_t *ctx);
static ngx_int_t ngx_stream_dualcam_buffer(ngx_stream_session_t *s,
    ngx_stream_dualcam_ctx_t *ctx, size_t size);
static void ngx_stream_dualcam_idle(ngx_stream_session_t *s,
    ngx_stream_dualcam_ctx_t *ctx);
static ngx_int_t ngx_stream_dualcam_flush(ngx_stream_session_t *s,
    ngx_stream_dualcam_ctx_t *ctx);
static ngx_int_t ngx_stream_dualcam_action(ngx_stream_session_t *s,
    ngx_stream_dualcam_ctx_t *ctx, dualcam_action_t *a);
static ngx_int_t ngx_stream_dualcam_file_open(ngx_stream_session_t *s,
    ngx_stream_dualcam_ctx_t *ctx, dualcam_file_t *file);
static ngx_int_t ngx_stream_dualcam_metadata(ngx_stream_session_t *s,
    ngx_stream_dualcam_ctx_t *ctx, dualcam_meta_t *m);
static ngx_int_t ngx_stream_dualcam_meta_copy(ngx_connection_t *c,
    ngx_str_t *dst, const u_char *src, size_t len);
static ngx_int_t ngx_stream_dualcam_file_commit(ngx_stream_session_t *s,
    ngx_stream_dualcam_ctx_t *ctx, dualcam_action_t *a);
static void ngx_stream_dualcam_committed(ngx_stream_dualcam_commit_t *cm);
static void ngx_stream_dualcam_file_abort(ngx_stream_session_t *s,
    ngx_stream_dualcam_ctx_t *ctx, dualcam_file_t *file);
static void ngx_stream_dualcam_file_counts(ngx_stream_dualcam_ctx_t *ctx,
    dualcam_file_t *file);
static void ngx_stream_dualcam_end(ngx_stream_session_t *s,
    dualcam_result_e result);
static void ngx_stream_dualcam_cleanup(void *data);
static u_char *ngx_stream_dualcam_log_error(ngx_log_t *log, u_char *buf,
    size_t len);

static ngx_int_t ngx_stream_dualcam_variable(ngx_stream_session_t *s,
    ngx_stream_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_stream_dualcam_add_variables(ngx_conf_t *cf);

static void *ngx_stream_dualcam_create_main_conf(ngx_conf_t *cf);
static void *ngx_stream_dualcam_create_srv_conf(ngx_conf_t *cf);
static char *ngx_stream_dualcam_merge_srv_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_stream_dualcam(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_stream_dualcam_store(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
#if (NGX_THREADS)
static char *ngx_stream_dualcam_thread_pool(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
#endif

static ngx_int_t ngx_stream_dualcam_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_stream_dualcam_init_process(ngx_cycle_t *cycle);


static ngx_conf_enum_t  ngx_stream_dualcam_log_levels[] = {
    { ngx_string("error"), NGX_LOG_ERR },
    { ngx_string("warn"), NGX_LOG_WARN },
    { ngx_string("notice"), NGX_LOG_NOTICE },
    { ngx_string("info"), NGX_LOG_INFO },
    { ngx_string("debug"), NGX_LOG_DEBUG },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_stream_dualcam_commands[] = {

    { ngx_string("dualcam"),
      NGX_STREAM_SRV_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_stream_dualcam,
      NGX_STREAM_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("dualcam_zone"),
      NGX_STREAM_MAIN_CONF|NGX_CONF_TAKE23,
      ngx_stream_dualcam_zone_directive,
      NGX_STREAM_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("dualcam_store"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_stream_dualcam_store,
      NGX_STREAM_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("dualcam_temp_path"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1234,
      ngx_conf_set_path_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_dualcam_srv_conf_t, store.temp_path),
      NULL },

    { ngx_string("dualcam_timeout"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_dualcam_srv_conf_t, timeout),
      NULL },

    { ngx_string("dualcam_max_file_size"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_off_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_dualcam_srv_conf_t, max_file_size),
      NULL },

    { ngx_string("dualcam_metadata"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_dualcam_srv_conf_t, metadata),
      NULL },

    { ngx_string("dualcam_resume"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_dualcam_srv_conf_t, store.resume),
      NULL },

    { ngx_string("dualcam_resume_timeout"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_dualcam_srv_conf_t, resume_timeout),
      NULL },

    { ngx_string("dualcam_max_crc_errors"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_dualcam_srv_conf_t, max_crc_errors),
      NULL },

    { ngx_string("dualcam_allow_imei"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_stream_dualcam_allow_imei,
      NGX_STREAM_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("dualcam_buffer_size"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_dualcam_srv_conf_t, buffer_size),
      NULL },

    { ngx_string("dualcam_log_level"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_dualcam_srv_conf_t, log_level),
      &ngx_stream_dualcam_log_levels },

    { ngx_string("dualcam_fsync"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_dualcam_srv_conf_t, store.fsync),
      NULL },

    { ngx_string("dualcam_sha256"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_dualcam_srv_conf_t, store.sha256),
      NULL },

    { ngx_string("dualcam_mp4"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_dualcam_srv_conf_t, store.mp4),
      NULL },

    { ngx_string("dualcam_mp4_audio"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_stream_dualcam_srv_conf_t, store.mp4_audio),
      NULL },

#if (NGX_THREADS)

    { ngx_string("dualcam_thread_pool"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_stream_dualcam_thread_pool,
      NGX_STREAM_SRV_CONF_OFFSET,
      0,
      NULL },

#endif

      ngx_null_command
};


static ngx_stream_module_t  ngx_stream_dualcam_module_ctx = {
    ngx_stream_dualcam_add_variables,      /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_stream_dualcam_create_main_conf,   /* create main configuration */
    NULL,                                  /* init main configuration */

    ngx_stream_dualcam_create_srv_conf,    /* create server configuration */
    ngx_stream_dualcam_merge_srv_conf      /* merge server configuration */
};


ngx_module_t  ngx_stream_dualcam_module = {
    NGX_MODULE_V1,
    &ngx_stream_dualcam_module_ctx,        /* module context */
    ngx_stream_dualcam_commands,           /* module directives */
    NGX_STREAM_MODULE,                     /* module type */
    NULL,                                  /* init master */
    ngx_stream_dualcam_init_module,        /* init module */
    ngx_stream_dualcam_init_process,       /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_stream_variable_t  ngx_stream_dualcam_vars[] = {

    /* a backend's session, or a front's preread phase */

    { ngx_string("dualcam_imei"), NULL, ngx_stream_dualcam_init_variable,
      NGX_STREAM_DUALCAM_VAR_IMEI, NGX_STREAM_VAR_NOCACHEABLE, 0 },

    { ngx_string("dualcam_protocol"), NULL, ngx_stream_dualcam_init_variable,
      NGX_STREAM_DUALCAM_VAR_PROTOCOL, NGX_STREAM_VAR_NOCACHEABLE, 0 },

    { ngx_string("dualcam_files"), NULL, ngx_stream_dualcam_variable,
      NGX_STREAM_DUALCAM_VAR_FILES, NGX_STREAM_VAR_NOCACHEABLE, 0 },

    { ngx_string("dualcam_bytes"), NULL, ngx_stream_dualcam_variable,
      NGX_STREAM_DUALCAM_VAR_BYTES, NGX_STREAM_VAR_NOCACHEABLE, 0 },

    { ngx_string("dualcam_result"), NULL, ngx_stream_dualcam_variable,
      NGX_STREAM_DUALCAM_VAR_RESULT, NGX_STREAM_VAR_NOCACHEABLE, 0 },

    { ngx_string("dualcam_mp4"), NULL, ngx_stream_dualcam_mp4_variable,
      0, NGX_STREAM_VAR_NOCACHEABLE, 0 },

      ngx_stream_null_variable
};


static void
ngx_stream_dualcam_handler(ngx_stream_session_t *s)
{
    ngx_connection_t               *c;
    ngx_pool_cleanup_t             *cln;
    dualcam_server_conf_t           conf;
    ngx_stream_dualcam_ctx_t       *ctx;
    ngx_stream_dualcam_srv_conf_t  *dscf;

    c = s->connection;
    dscf = ngx_stream_get_module_srv_conf(s, ngx_stream_dualcam_module);

    c->log->action = "serving a dualcam device";

    ctx = ngx_pcalloc(c->pool, sizeof(ngx_stream_dualcam_ctx_t));
    if (ctx == NULL) {
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return;
    }

    cln = ngx_pool_cleanup_add(c->pool, 0);
    if (cln == NULL) {
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return;
    }

    cln->handler = ngx_stream_dualcam_cleanup;
    cln->data = ctx;

    ctx->session = s;
    ctx->part.file.fd = NGX_INVALID_FILE;

    ngx_stream_set_ctx(s, ctx, ngx_stream_dualcam_module);

    ngx_memzero(&conf, sizeof(dualcam_server_conf_t));
    conf.max_file_size = (uint64_t) dscf->max_file_size;
    conf.buffer_size = dscf->buffer_size;
    conf.max_crc_errors = dscf->max_crc_errors;
    conf.max_resume_repeats = NGX_STREAM_DUALCAM_RESUME_TRIES;
    conf.metadata = dscf->metadata ? 1 : 0;

    dualcam_server_init(&ctx->server, &conf);

    ctx->resume_timer.handler = ngx_stream_dualcam_resume_handler;
    ctx->resume_timer.data = s;
    ctx->resume_timer.log = c->log;

    s->log_handler = ngx_stream_dualcam_log_error;

    c->read->handler = ngx_stream_dualcam_event_handler;
    c->write->handler = ngx_stream_dualcam_event_handler;

    /* what a preread phase read already stays in its buffer */

    if (c->buffer) {
        ctx->in = c->buffer;
        s->received += c->buffer->last - c->buffer->pos;

    } else {
        ctx->in = ngx_calloc_buf(c->pool);
        if (ctx->in == NULL) {
            ngx_stream_dualcam_end(s, DUALCAM_RESULT_INTERNAL_ERROR);
            return;
        }
    }

    ctx->last_input = ngx_current_msec;

    if (dscf->zone) {
        ctx->zs = ngx_stream_dualcam_zone_session_start(dscf->zone, s);
        if (ctx->zs == NULL) {
            ngx_stream_dualcam_end(s, DUALCAM_RESULT_INTERNAL_ERROR);
            return;
        }
    }

    ngx_stream_dualcam_process(s);
}


/* read and write events alike, as ngx_stream_proxy_module does */

static void
ngx_stream_dualcam_event_handler(ngx_event_t *ev)
{
    ngx_connection_t               *c;
    ngx_stream_session_t           *s;
    ngx_stream_dualcam_ctx_t       *ctx;
    ngx_stream_dualcam_srv_conf_t  *dscf;

    c = ev->data;
    s = c->data;
    ctx = ngx_stream_get_module_ctx(s, ngx_stream_dualcam_module);

    if (c->close) {

        if (ctx->committing) {
            /* the end waits for the commit: the device may hear 00 09 */
            ctx->end_pending = DUALCAM_RESULT_SHUTDOWN;
            return;
        }

        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "closing a dualcam session on shutdown");
        ngx_stream_dualcam_end(s, DUALCAM_RESULT_SHUTDOWN);
        return;
    }

    if (ctx->committing) {
        /* nothing is read or sent while the file is committed */
        return;
    }

    if (ev->timedout) {
        ev->timedout = 0;

        dscf = ngx_stream_get_module_srv_conf(s, ngx_stream_dualcam_module);
        ngx_log_error(dscf->log_level, c->log, NGX_ETIMEDOUT,
                      ev->write ? "device timed out while sending to it"
                                : "device timed out");
        ngx_stream_dualcam_end(s, DUALCAM_RESULT_TIMEOUT);
        return;
    }

    ngx_stream_dualcam_process(s);
}


/* a RESUME is unanswered: ngx_stream_dualcam_process() decides */

static void
ngx_stream_dualcam_resume_handler(ngx_event_t *ev)
{
    ngx_stream_dualcam_process(ev->data);
}


/*
 * The loop: flush what the core wants sent, run the core over the input
 * held, read more when it needs more.  Reading pauses while output is
 * blocked, so the core never has to queue more than one frame.
 */

static void
ngx_stream_dualcam_process(ngx_stream_session_t *s)
{
    size_t                          consumed;
    ngx_int_t                       rc;
    ngx_msec_t                      idle;
    ngx_uint_t                      frames;
    ngx_buf_t                      *b;
    ngx_connection_t               *c;
    dualcam_action_t                act;
    ngx_stream_dualcam_ctx_t       *ctx;
    ngx_stream_dualcam_srv_conf_t  *dscf;

    c = s->connection;
    ctx = ngx_stream_get_module_ctx(s, ngx_stream_dualcam_module);
    dscf = ngx_stream_get_module_srv_conf(s, ngx_stream_dualcam_module);
    b = ctx->in;

    frames = 0;

    while (!ctx->committing) {

        if (ctx->out_len) {
            rc = ngx_stream_dualcam_flush(s, ctx);

            if (rc == NGX_ERROR) {
                ngx_stream_dualcam_end(s, DUALCAM_RESULT_CLOSED_BY_DEVICE);
                return;
            }

            if (rc == NGX_AGAIN) {
                break;
            }
        }

        if (ctx->done) {
            ngx_stream_dualcam_end(s, ctx->server.result);
            return;
        }

        rc = dualcam_server_step(&ctx->server, b->pos, b->last - b->pos,
                                 &consumed, &act);
        b->pos += consumed;

        if (consumed) {
            frames = 1;
        }

        if (rc == DUALCAM_ACTION) {
            if (ngx_stream_dualcam_action(s, ctx, &act) != NGX_OK) {
                return;
            }

            continue;
        }

        /* the core needs more input */

        rc = c->read->ready ? ngx_stream_dualcam_read(s, ctx) : NGX_AGAIN;

        if (rc == NGX_AGAIN) {
            rc = ngx_stream_dualcam_repeat(s, ctx);

            if (rc == NGX_DECLINED) {
                break;
            }
        }

        if (rc == NGX_DONE) {
            ngx_log_debug0(NGX_LOG_DEBUG_STREAM, c->log, 0,
                           "dualcam device closed the connection");
            ngx_stream_dualcam_end(s, DUALCAM_RESULT_CLOSED_BY_DEVICE);
            return;
        }

        if (rc == NGX_ERROR) {
            ngx_stream_dualcam_end(s, DUALCAM_RESULT_INTERNAL_ERROR);
            return;
        }

        if (rc == NGX_ABORT) {
            return;
        }
    }

    if (ctx->committing) {
        return;
    }

    ngx_stream_dualcam_idle(s, ctx);

    if (ctx->part.failed) {
        ngx_stream_dualcam_end(s, DUALCAM_RESULT_STORE_ERROR);
        return;
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_stream_dualcam_end(s, DUALCAM_RESULT_CLOSED_BY_DEVICE);
        return;
    }

    if (ctx->out_len) {
        ngx_add_timer(c->write, dscf->timeout);

        if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
            ngx_stream_dualcam_end(s, DUALCAM_RESULT_CLOSED_BY_DEVICE);
            return;
        }

    } else if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    /* idle is between frames: a byte now and then does not count */

    if (frames || !c->read->timer_set) {
        ngx_add_timer(c->read, dscf->timeout);
    }

    if (dualcam_server_waiting_sync(&ctx->server)) {
        idle = ngx_current_msec - ngx_max(ctx->last_input, ctx->last_repeat);
        idle = ngx_min(idle, NGX_STREAM_DUALCAM_RESUME_REPEAT);
        ngx_add_timer(&ctx->resume_timer,
                      NGX_STREAM_DUALCAM_RESUME_REPEAT - idle + 1);

    } else if (ctx->resume_timer.timer_set) {
        ngx_del_timer(&ctx->resume_timer);
    }
}


/*
 * A RESUME unanswered: repeat it only when the device has been silent
 * for the repeat interval since its last byte (or the last repeat), and
 * only after reading what has arrived, since a worker that was busy may
 * hold the SYNC unread.  NGX_DECLINED: nothing to do; NGX_OK: go on; else
 * as ngx_stream_dualcam_read(), or NGX_ABORT: the session is over.
 */

static ngx_int_t
ngx_stream_dualcam_repeat(ngx_stream_session_t *s,
    ngx_stream_dualcam_ctx_t *ctx)
{
    int                waiting;
    ngx_int_t          rc;
    ngx_msec_t         since;
    ngx_connection_t  *c;
    dualcam_action_t   act;

    if (!dualcam_server_waiting_sync(&ctx->server)) {
        return NGX_DECLINED;
    }

    since = ngx_max(ctx->last_input, ctx->last_repeat);

    if (ngx_current_msec - since < NGX_STREAM_DUALCAM_RESUME_REPEAT) {
        return NGX_DECLINED;
    }

    /*
     * What epoll reported is stale here: with EPOLLRDHUP, nginx's recv()
     * does not even look at a socket that was empty at the last read and
     * has had no event since.  The kernel says what is waiting.
     */

    c = s->connection;
    waiting = 1;

#if (NGX_HAVE_FIONREAD)

    if (ngx_socket_nread(c->fd, &waiting) == -1) {
        ngx_connection_error(c, ngx_socket_errno,
                             ngx_socket_nread_n " failed");
        return NGX_DONE;
    }

#endif

    if (waiting > 0) {
        c->read->ready = 1;
        c->read->available = waiting;

        rc = ngx_stream_dualcam_read(s, ctx);

        if (rc != NGX_AGAIN) {
            return rc;
        }
    }

    ctx->last_repeat = ngx_current_msec;

    if (dualcam_server_timer(&ctx->server, &act) == DUALCAM_ACTION
        && ngx_stream_dualcam_action(s, ctx, &act) != NGX_OK)
    {
        return NGX_ABORT;
    }

    return NGX_OK;
}


/*
 * NGX_OK: bytes read; NGX_AGAIN: none waiting; NGX_DONE: the device
 * closed or reset; NGX_ERROR: no memory.  A tracker on a GSM link fills
 * a buffer of dualcam_buffer_size with a frame or two; one that filled
 * it at once has more waiting, and reads it in fewer, larger recv()s.
 */

static ngx_int_t
ngx_stream_dualcam_read(ngx_stream_session_t *s,
    ngx_stream_dualcam_ctx_t *ctx)
{
    size_t                          size;
    ssize_t                         n;
    ngx_buf_t                      *b;
    ngx_connection_t               *c;
    ngx_stream_dualcam_srv_conf_t  *dscf;

    c = s->connection;
    dscf = ngx_stream_get_module_srv_conf(s, ngx_stream_dualcam_module);
    b = ctx->in;

    size = dscf->buffer_size;

    if (ctx->fast) {
        size = ngx_max(size, NGX_STREAM_DUALCAM_BIG_BUFFER);
    }

    if (ngx_stream_dualcam_buffer(s, ctx, size) != NGX_OK) {
        return NGX_ERROR;
    }

    size = b->end - b->last;

    n = c->recv(c, b->last, size);

    if (n == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    if (n == NGX_ERROR || n == 0) {
        return NGX_DONE;
    }

    ctx->fast = ((size_t) n == size);
    ctx->last_input = ngx_current_msec;

    b->last += n;
    s->received += n;

    return NGX_OK;
}


/*
 * Room for at least a frame in a buffer of size bytes; the unread input
 * (never more than a frame, which the core bounds by dualcam_buffer_size)
 * is kept.  The buffers are large pool allocations, so ngx_pfree() gives
 * them back, as ngx_http_wait_request_handler() does.
 */

static ngx_int_t
ngx_stream_dualcam_buffer(ngx_stream_session_t *s,
    ngx_stream_dualcam_ctx_t *ctx, size_t size)
{
    u_char     *p;
    size_t      pending;
    ngx_buf_t  *b;

    b = ctx->in;
    pending = b->last - b->pos;

    if (b->start != NULL && (size_t) (b->end - b->start) == size) {

        if (pending == 0) {
            b->pos = b->start;
            b->last = b->start;

        } else if ((size_t) (b->end - b->last) < DUALCAM_DATA_FRAME_MAX) {
            b->last = ngx_movemem(b->start, b->pos, pending);
            b->pos = b->start;
        }

        return NGX_OK;
    }

    size = ngx_max(size, pending + DUALCAM_DATA_FRAME_MAX);

    p = ngx_palloc(s->connection->pool, size);
    if (p == NULL) {
        return NGX_ERROR;
    }

    if (pending) {
        ngx_memcpy(p, b->pos, pending);
    }

    if (b->start != NULL) {
        ngx_pfree(s->connection->pool, b->start);
    }

    b->start = p;
    b->pos = p;
    b->last = p + pending;
    b->end = p + size;

    return NGX_OK;
}


/* the core waits for input: what it holds meanwhile */

static void
ngx_stream_dualcam_idle(ngx_stream_session_t *s,
    ngx_stream_dualcam_ctx_t *ctx)
{
    ngx_buf_t                      *b;
    ngx_stream_dualcam_srv_conf_t  *dscf;

    dscf = ngx_stream_get_module_srv_conf(s, ngx_stream_dualcam_module);
    b = ctx->in;

    if (b->start == NULL) {
        return;
    }

    if (b->pos != b->last) {

        /* a device that waits mid-frame keeps only a small buffer */

        if ((size_t) (b->end - b->start) > dscf->buffer_size) {
            ctx->fast = 0;
            (void) ngx_stream_dualcam_buffer(s, ctx, dscf->buffer_size);
        }

        return;
    }

    /* an idle device holds no buffers */

    if (ngx_pfree(s->connection->pool, b->start) == NGX_OK) {
        b->start = NULL;
        b->pos = NULL;
        b->last = NULL;
        b->end = NULL;
    }

    if (ctx->out_len == 0) {
        (void) ngx_stream_dualcam_store_idle(&ctx->part);
    }
}


static ngx_int_t
ngx_stream_dualcam_flush(ngx_stream_session_t *s,
    ngx_stream_dualcam_ctx_t *ctx)
{
    ssize_t            n;
    ngx_connection_t  *c;

    c = s->connection;

    n = c->send(c, ctx->out + ctx->out_pos, ctx->out_len - ctx->out_pos);

    if (n == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (n > 0) {
        ctx->out_pos += n;
    }

    if (ctx->out_pos < ctx->out_len) {
        return NGX_AGAIN;
    }

    ctx->out_pos = 0;
    ctx->out_len = 0;

    return NGX_OK;
}


/* NGX_OK: go on; NGX_DONE: the session is finalized */

static ngx_int_t
ngx_stream_dualcam_action(ngx_stream_session_t *s,
    ngx_stream_dualcam_ctx_t *ctx, dualcam_action_t *a)
{
    ngx_connection_t               *c;
    ngx_stream_dualcam_srv_conf_t  *dscf;

    c = s->connection;
    dscf = ngx_stream_get_module_srv_conf(s, ngx_stream_dualcam_module);

    switch (a->type) {

    case DUALCAM_ACT_SEND:

        if (a->len > sizeof(ctx->out) - ctx->out_len) {
            ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                          "dualcam output of %uz bytes does not fit",
                          a->len);
            ngx_stream_dualcam_end(s, DUALCAM_RESULT_INTERNAL_ERROR);
            return NGX_DONE;
        }

        ngx_memcpy(ctx->out + ctx->out_len, a->data, a->len);
        ctx->out_len += a->len;

        return NGX_OK;

    case DUALCAM_ACT_HELLO:

        /* a device that sends its init again is still one session */

        if (!ctx->hello) {
            ctx->hello = 1;
            ngx_stream_dualcam_notify_session(s, DUALCAM_RESULT_NONE);
        }

        ngx_stream_dualcam_zone_hello(ctx->zs, ctx->server.imei,
                                      ctx->server.protocol);

        if (dscf->allow != NULL
            && !ngx_stream_dualcam_allowed(dscf->allow, ctx->server.imei))
        {
            ngx_log_error(dscf->log_level, c->log, 0,
                          "IMEI " NGX_STREAM_DUALCAM_IMEI_FMT
                          " is not in the allow list", ctx->server.imei);
            dualcam_server_refuse(&ctx->server);
        }

        return NGX_OK;

    case DUALCAM_ACT_FILE_OPEN:
        return ngx_stream_dualcam_file_open(s, ctx, a->file);

    case DUALCAM_ACT_FILE_WRITE:

        if (ngx_stream_dualcam_store_write(&ctx->part, a->data, a->len,
                                           a->offset)
            != NGX_OK)
        {
            ngx_stream_dualcam_end(s, DUALCAM_RESULT_STORE_ERROR);
            return NGX_DONE;
        }

        return NGX_OK;

    case DUALCAM_ACT_FILE_COMMIT:
        return ngx_stream_dualcam_file_commit(s, ctx, a);

    case DUALCAM_ACT_FILE_ABORT:
        ngx_stream_dualcam_file_abort(s, ctx, a->file);
        return NGX_OK;

    case DUALCAM_ACT_METADATA:
        return ngx_stream_dualcam_metadata(s, ctx, &a->file->meta);

    case DUALCAM_ACT_PROGRESS:
        ngx_stream_dualcam_zone_file(ctx->zs, a->file, ctx->file_started_ms);
        return NGX_OK;

    case DUALCAM_ACT_LOG:

        if (a->level >= DUALCAM_LOG_DEBUG) {
            ngx_log_debug1(NGX_LOG_DEBUG_STREAM, c->log, 0, "dualcam: %s",
                           a->msg);
            return NGX_OK;
        }

        /* whatever the core reports is about what the device did */

        ngx_log_error(dscf->log_level, c->log, 0, "%s", a->msg);

        /* a STATUS from the device is always reported with a LOG */

        if (ctx->server.device_statuses != ctx->device_statuses) {
            ctx->device_statuses = ctx->server.device_statuses;
            ngx_stream_dualcam_zone_device_status(ctx->zs,
                                                  ctx->server.device_status);
        }

        return NGX_OK;

    case DUALCAM_ACT_CLOSE:
        ctx->done = 1;
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_ALERT, c->log, 0, "unknown dualcam action %d",
                  (int) a->type);
    ngx_stream_dualcam_end(s, DUALCAM_RESULT_INTERNAL_ERROR);

    return NGX_DONE;
}


static ngx_int_t
ngx_stream_dualcam_file_open(ngx_stream_session_t *s,
    ngx_stream_dualcam_ctx_t *ctx, dualcam_file_t *file)
{
    uint64_t                        have, reused;
    ngx_connection_t               *c;
    ngx_stream_dualcam_srv_conf_t  *dscf;

    c = s->connection;
    dscf = ngx_stream_get_module_srv_conf(s, ngx_stream_dualcam_module);

    ctx->file_started_ms = ngx_stream_dualcam_now_ms();

    ngx_stream_dualcam_zone_file(ctx->zs, file, ctx->file_started_ms);

    if (ngx_stream_dualcam_store_open(&ctx->part, &dscf->store, c->pool,
                                      c->log, ctx->server.imei, file, &have)
        != NGX_OK)
    {
        ngx_stream_dualcam_end(s, DUALCAM_RESULT_STORE_ERROR);
        return NGX_DONE;
    }

    if (have) {
        reused = dualcam_server_resume_from(&ctx->server, have);

        if (ngx_stream_dualcam_store_keep(&ctx->part, reused) != NGX_OK) {
            ngx_stream_dualcam_end(s, DUALCAM_RESULT_STORE_ERROR);
            return NGX_DONE;
        }

        if (reused) {
            ngx_log_error(NGX_LOG_INFO, c->log, 0,
                          "resuming after %uL verified bytes", reused);

            ngx_stream_dualcam_zone_count(ctx->zs,
                                    NGX_STREAM_DUALCAM_CNT_RESUMES_ACROSS, 1);
            ngx_stream_dualcam_zone_file(ctx->zs, file,
                                         ctx->file_started_ms);
        }
    }

    return NGX_OK;
}


/*
 * The metadata refers to the input only during the action: the payload
 * is copied for the sidecar.  A DualCam version newer than the core knows
 * is no error (the upload goes on, its known prefix decoded); the
 * operator hears of it once, at notice, and the sidecar keeps the bytes.
 */

static ngx_int_t
ngx_stream_dualcam_metadata(ngx_stream_session_t *s,
    ngx_stream_dualcam_ctx_t *ctx, dualcam_meta_t *m)
{
    ngx_connection_t  *c;

    c = s->connection;

    if (ngx_stream_dualcam_meta_copy(c, &ctx->meta_json, m->json,
                                     m->json_len)
        != NGX_OK
        || ngx_stream_dualcam_meta_copy(c, &ctx->meta_raw, m->raw,
                                        m->raw_len)
           != NGX_OK)
    {
        ngx_stream_dualcam_end(s, DUALCAM_RESULT_INTERNAL_ERROR);
        return NGX_DONE;
    }

    if (m->type == DUALCAM_META_DUALCAM
        && m->version > DUALCAM_META_VERSION_MAX)
    {
        ngx_log_error(NGX_LOG_NOTICE, c->log, 0,
                      "metadata version %ud is newer than %d: %uz bytes "
                      "kept raw, the fields of version %ud decoded",
                      m->version, DUALCAM_META_VERSION_MAX, m->raw_len,
                      m->layout);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_stream_dualcam_meta_copy(ngx_connection_t *c, ngx_str_t *dst,
    const u_char *src, size_t len)
{
    ngx_str_null(dst);

    if (src == NULL || len == 0) {
        return NGX_OK;
    }

    dst->data = ngx_pnalloc(c->pool, len);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(dst->data, src, len);
    dst->len = len;

    return NGX_OK;
}


/* the file is complete: the session waits while the committer stores it */

static ngx_int_t
ngx_stream_dualcam_file_commit(ngx_stream_session_t *s,
    ngx_stream_dualcam_ctx_t *ctx, dualcam_action_t *a)
{
    ngx_connection_t               *c;
    ngx_stream_dualcam_commit_t    *cm;
    ngx_stream_dualcam_srv_conf_t  *dscf;

    c = s->connection;
    dscf = ngx_stream_get_module_srv_conf(s, ngx_stream_dualcam_module);

    if (ctx->commit == NULL) {
        ctx->commit = ngx_palloc(c->pool,
                                 sizeof(ngx_stream_dualcam_commit_t));
        if (ctx->commit == NULL) {
            ngx_stream_dualcam_end(s, DUALCAM_RESULT_INTERNAL_ERROR);
            return NGX_DONE;
        }
    }

    cm = ctx->commit;
    ngx_memzero(cm, sizeof(ngx_stream_dualcam_commit_t));

    cm->log = c->log;
    cm->done = ngx_stream_dualcam_committed;
    cm->data = s;

    cm->conf = &dscf->store;
    cm->part = &ctx->part;
    cm->file = a->file;
    cm->imei = ctx->server.imei;
    cm->protocol = ctx->server.protocol;
    cm->peer = c->addr_text;
    cm->started_ms = ctx->file_started_ms;
    cm->finished_ms = ngx_stream_dualcam_now_ms();
    cm->size = a->offset;
    cm->meta_json = ctx->meta_json;
    cm->meta_raw = ctx->meta_raw;
    cm->notify = ngx_stream_dualcam_notify_conf(s);

    if (ngx_stream_dualcam_commit(dscf->committer, cm, c->pool) != NGX_OK) {
        ngx_stream_dualcam_end(s, DUALCAM_RESULT_INTERNAL_ERROR);
        return NGX_DONE;
    }

    /*
     * The session waits: nothing is read, sent or ended meanwhile, and
     * the device waits for its 00 09, so no timeout runs either.
     */

    ctx->committing = 1;

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    if (ctx->resume_timer.timer_set) {
        ngx_del_timer(&ctx->resume_timer);
    }

    return NGX_AGAIN;
}


static void
ngx_stream_dualcam_committed(ngx_stream_dualcam_commit_t *cm)
{
    size_t                     consumed;
    ngx_str_t                  path;
    ngx_connection_t          *c;
    dualcam_action_t           act;
    ngx_stream_session_t      *s;
    ngx_stream_dualcam_ctx_t  *ctx;

    s = cm->data;
    c = s->connection;
    ctx = ngx_stream_get_module_ctx(s, ngx_stream_dualcam_module);

    ctx->committing = 0;

    if (cm->rc != NGX_OK) {
        ngx_stream_dualcam_end(s, DUALCAM_RESULT_STORE_ERROR);
        return;
    }

    ngx_stream_dualcam_file_counts(ctx, cm->file);

    if (cm->duplicate) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "already stored as \"%V\", %uL bytes: not stored again",
                      &cm->first, cm->size);

        ngx_stream_dualcam_zone_file_end(ctx->zs, cm->file, &cm->first,
                                         DUALCAM_RESULT_DUPLICATE);
        dualcam_server_committed(&ctx->server, DUALCAM_COMMIT_DUPLICATE);

    } else {
        ngx_log_error(NGX_LOG_INFO, c->log, 0, "stored \"%s\", %uL bytes",
                      cm->artifacts[0].path, cm->size);

        path.data = cm->artifacts[0].path;
        path.len = ngx_strlen(path.data);

        ngx_stream_dualcam_mp4_committed(s, cm);

        ngx_stream_dualcam_zone_file_end(ctx->zs, cm->file, &path,
                                         DUALCAM_RESULT_OK);
        dualcam_server_committed(&ctx->server, DUALCAM_COMMIT_STORED);
    }

    ngx_stream_dualcam_store_done(&ctx->part);

    if (ctx->end_pending == DUALCAM_RESULT_NONE) {
        ngx_stream_dualcam_process(s);
        return;
    }

    /* an end came during the commit: the file is stored, say so */

    if (dualcam_server_step(&ctx->server, NULL, 0, &consumed, &act)
        == DUALCAM_ACTION
        && act.type == DUALCAM_ACT_SEND
        && act.len <= sizeof(ctx->out))
    {
        ngx_memcpy(ctx->out, act.data, act.len);
        ctx->out_pos = 0;
        ctx->out_len = act.len;
        (void) ngx_stream_dualcam_flush(s, ctx);
    }

    ngx_stream_dualcam_end(s, ctx->end_pending);
}


static void
ngx_stream_dualcam_file_abort(ngx_stream_session_t *s,
    ngx_stream_dualcam_ctx_t *ctx, dualcam_file_t *file)
{
    dualcam_result_e                result;
    ngx_stream_dualcam_srv_conf_t  *dscf;

    dscf = ngx_stream_get_module_srv_conf(s, ngx_stream_dualcam_module);

    ngx_stream_dualcam_store_abort(&ctx->part, dscf->store.resume,
                                   file->received);

    ngx_stream_dualcam_file_counts(ctx, file);

    result = ctx->server.result ? ctx->server.result
                                : DUALCAM_RESULT_CLOSED_BY_DEVICE;

    ngx_stream_dualcam_zone_file_end(ctx->zs, file, NULL, result);
    ngx_stream_dualcam_notify_failed(s, file, result);
}


static void
ngx_stream_dualcam_file_counts(ngx_stream_dualcam_ctx_t *ctx,
    dualcam_file_t *file)
{
    if (file->crc_errors) {
        ngx_stream_dualcam_zone_count(ctx->zs,
                                      NGX_STREAM_DUALCAM_CNT_CRC_FAILURES,
                                      file->crc_errors);
    }

    if (file->resumes) {
        ngx_stream_dualcam_zone_count(ctx->zs,
                                      NGX_STREAM_DUALCAM_CNT_RESUMES,
                                      file->resumes);
    }
}


/*
 * The one exit of a session, as ngx_stream_proxy_finalize() is: the core
 * ends (the first reason it saw wins), a file in flight is aborted (its
 * verified part kept for a resume), the zone counts the session, and
 * $status comes from the result.
 */

static void
ngx_stream_dualcam_end(ngx_stream_session_t *s, dualcam_result_e result)
{
    ngx_uint_t                 status;
    dualcam_action_t           act;
    ngx_stream_dualcam_ctx_t  *ctx;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_dualcam_module);

    if (dualcam_server_end(&ctx->server, result, &act) == DUALCAM_ACTION
        && act.type == DUALCAM_ACT_FILE_ABORT)
    {
        ngx_stream_dualcam_file_abort(s, ctx, act.file);

    } else if (ctx->part.open) {
        /* the core had handed the file over: its commit failed */
        ngx_stream_dualcam_file_abort(s, ctx, &ctx->server.file);
    }

    ctx->result = ctx->server.result;
    status = dualcam_result_status(ctx->result);

    ngx_log_debug2(NGX_LOG_DEBUG_STREAM, s->connection->log, 0,
                   "dualcam end: %s, %ui",
                   dualcam_result_name(ctx->result), status);

    ngx_stream_dualcam_zone_session_end(ctx->zs, ctx->result);
    ngx_stream_dualcam_notify_session(s, ctx->result);

    ngx_stream_finalize_session(s, status);
}


static void
ngx_stream_dualcam_cleanup(void *data)
{
    ngx_stream_dualcam_ctx_t *ctx = data;

    ngx_stream_dualcam_srv_conf_t  *dscf;

    if (ctx->resume_timer.timer_set) {
        ngx_del_timer(&ctx->resume_timer);
    }

    if (ctx->part.open) {
        dscf = ngx_stream_get_module_srv_conf(ctx->session,
                                              ngx_stream_dualcam_module);
        ngx_stream_dualcam_store_abort(&ctx->part, dscf->store.resume,
                                       ctx->server.file.received);
    }
}


static u_char *
ngx_stream_dualcam_log_error(ngx_log_t *log, u_char *buf, size_t len)
{
    u_char                    *p, *last;
    size_t                     n;
    ngx_stream_session_t      *s;
    ngx_stream_dualcam_ctx_t  *ctx;

    s = log->data;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_dualcam_module);
    if (ctx == NULL || !ctx->hello) {
        return buf;
    }

    p = ngx_snprintf(buf, len, ", imei: " NGX_STREAM_DUALCAM_IMEI_FMT,
                     ctx->server.imei);

    if (!ctx->server.file_open) {
        return p;
    }

    last = buf + len;
    p = ngx_snprintf(p, last - p, ", file: ");

    /*
     * The device's name as printable ASCII, other bytes as \xHH; the NUL
     * a path may end with is not part of it.
     */

    n = ngx_min(ctx->server.file.name_len, DUALCAM_PATH_MAX);

    while (n > 0 && ctx->server.file.name[n - 1] == '\0') {
        n--;
    }

    return dualcam_log_escape(p, last,
                              (u_char *) ctx->server.file.name, n);
}


static ngx_int_t
ngx_stream_dualcam_variable(ngx_stream_session_t *s,
    ngx_stream_variable_value_t *v, uintptr_t data)
{
    u_char                    *p;
    const char                *word;
    ngx_stream_dualcam_ctx_t  *ctx;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_dualcam_module);

    if (ctx == NULL
        || (data == NGX_STREAM_DUALCAM_VAR_RESULT
            && ctx->result == DUALCAM_RESULT_NONE))
    {
        v->not_found = 1;
        return NGX_OK;
    }

    if (data == NGX_STREAM_DUALCAM_VAR_RESULT) {
        word = dualcam_result_name(ctx->result);

        v->len = ngx_strlen(word);
        v->valid = 1;
        v->no_cacheable = 0;
        v->not_found = 0;
        v->data = (u_char *) word;

        return NGX_OK;
    }

    p = ngx_pnalloc(s->connection->pool, NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    switch (data) {

    case NGX_STREAM_DUALCAM_VAR_FILES:
        v->len = ngx_sprintf(p, "%ui", (ngx_uint_t) ctx->server.files_done)
                 - p;
        break;

    default: /* NGX_STREAM_DUALCAM_VAR_BYTES */
        v->len = ngx_sprintf(p, "%uL", ctx->server.bytes_done) - p;
        break;
    }

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = p;

    return NGX_OK;
}


static ngx_int_t
ngx_stream_dualcam_add_variables(ngx_conf_t *cf)
{
    ngx_stream_variable_t  *var, *v;

    for (v = ngx_stream_dualcam_vars; v->name.len; v++) {
        var = ngx_stream_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static void *
ngx_stream_dualcam_create_main_conf(ngx_conf_t *cf)
{
    ngx_stream_dualcam_main_conf_t  *dmcf;

    dmcf = ngx_pcalloc(cf->pool, sizeof(ngx_stream_dualcam_main_conf_t));
    if (dmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&dmcf->committers, cf->pool, 2,
                       sizeof(ngx_stream_dualcam_committer_t *))
        != NGX_OK)
    {
        return NULL;
    }

    if (ngx_stream_dualcam_sweeper_init(cf, &dmcf->sweeper) != NGX_OK) {
        return NULL;
    }

    return dmcf;
}


static void *
ngx_stream_dualcam_create_srv_conf(ngx_conf_t *cf)
{
    ngx_stream_dualcam_srv_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_stream_dualcam_srv_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->enabled = 0;
     *     conf->zone = NULL;
     *     conf->store.temp_path = NULL;
     *     conf->store.store = { 0, NULL };
     *     conf->committer = NULL;
     */

    conf->store.fsync = NGX_CONF_UNSET;
    conf->store.mp4 = NGX_CONF_UNSET;
    conf->store.mp4_audio = NGX_CONF_UNSET;
    conf->store.sha256 = NGX_CONF_UNSET;
    conf->store.resume = NGX_CONF_UNSET;
    conf->timeout = NGX_CONF_UNSET_MSEC;
    conf->resume_timeout = NGX_CONF_UNSET;
    conf->max_file_size = NGX_CONF_UNSET;
    conf->buffer_size = NGX_CONF_UNSET_SIZE;
    conf->max_crc_errors = NGX_CONF_UNSET_UINT;
    conf->log_level = NGX_CONF_UNSET_UINT;
    conf->metadata = NGX_CONF_UNSET;
    conf->allow = NGX_CONF_UNSET_PTR;

#if (NGX_THREADS)
    conf->thread_pool = NGX_CONF_UNSET_PTR;
#endif

    return conf;
}


static char *
ngx_stream_dualcam_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_stream_dualcam_srv_conf_t *prev = parent;
    ngx_stream_dualcam_srv_conf_t *conf = child;

    u_char                          *p;
    void                            *pool;
    ngx_path_init_t                  init;
    ngx_stream_dualcam_main_conf_t  *dmcf;

    if (conf->store.store.data == NULL) {
        conf->store.store = prev->store.store;
    }

    ngx_conf_merge_value(conf->store.fsync, prev->store.fsync, 1);
    ngx_conf_merge_value(conf->store.mp4, prev->store.mp4, 1);
    ngx_conf_merge_value(conf->store.mp4_audio, prev->store.mp4_audio, 1);
    ngx_conf_merge_value(conf->store.sha256, prev->store.sha256, 0);
    ngx_conf_merge_value(conf->store.resume, prev->store.resume, 1);
    ngx_conf_merge_msec_value(conf->timeout, prev->timeout, 60000);
    ngx_conf_merge_sec_value(conf->resume_timeout, prev->resume_timeout,
                             7200);
    ngx_conf_merge_off_value(conf->max_file_size, prev->max_file_size,
                             100 * 1024 * 1024);
    ngx_conf_merge_size_value(conf->buffer_size, prev->buffer_size, 4096);
    ngx_conf_merge_uint_value(conf->max_crc_errors, prev->max_crc_errors,
                              10);
    ngx_conf_merge_uint_value(conf->log_level, prev->log_level,
                              NGX_LOG_INFO);
    ngx_conf_merge_value(conf->metadata, prev->metadata, 1);
    ngx_conf_merge_ptr_value(conf->allow, prev->allow, NULL);

#if (NGX_THREADS)
    if (conf->thread_pool == NGX_CONF_UNSET_PTR) {
        conf->thread_pool = prev->thread_pool;
    }
#endif

    if (conf->buffer_size < DUALCAM_DATA_FRAME_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"dualcam_buffer_size\" must be at least %uz",
                           (size_t) DUALCAM_DATA_FRAME_MAX);
        return NGX_CONF_ERROR;
    }

    if (!conf->enabled) {
        return NGX_CONF_OK;
    }

    if (conf->store.store.data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"dualcam\" needs \"dualcam_store\"");
        return NGX_CONF_ERROR;
    }

    /* the master creates the store for the worker user, or says why not */

    if (ngx_stream_dualcam_paths_add(cf, &conf->store) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* by default the temp path is <store>/.tmp: one file system */

    ngx_memzero(&init, sizeof(ngx_path_init_t));

    init.name.len = conf->store.store.len + sizeof("/.tmp") - 1;
    init.name.data = ngx_pnalloc(cf->pool, init.name.len + 1);
    if (init.name.data == NULL) {
        return NGX_CONF_ERROR;
    }

    p = ngx_cpymem(init.name.data, conf->store.store.data,
                   conf->store.store.len);
    ngx_memcpy(p, "/.tmp", sizeof("/.tmp"));

    if (ngx_conf_merge_path_value(cf, &conf->store.temp_path,
                                  prev->store.temp_path, &init)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    /*
     * Commits run in a thread pool unless told otherwise: nginx's
     * "default" pool (32 threads), which it creates when it is used
     */

    pool = NULL;

#if (NGX_THREADS)

    if (conf->thread_pool == NGX_CONF_UNSET_PTR) {
        conf->thread_pool = ngx_thread_pool_add(cf, NULL);
        if (conf->thread_pool == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    pool = conf->thread_pool;

#endif

    dmcf = ngx_stream_conf_get_module_main_conf(cf, ngx_stream_dualcam_module);

    conf->committer = ngx_stream_dualcam_committer(cf, &dmcf->committers,
                                                   pool);
    if (conf->committer == NULL) {
        return NGX_CONF_ERROR;
    }

    /* the sweeper visits every temp path once, with the shortest timeout */

#if (NGX_THREADS)
    if (dmcf->sweeper.pool == NULL) {
        dmcf->sweeper.pool = pool;
    }
#endif

    if (ngx_stream_dualcam_sweeper_add(&dmcf->sweeper, conf->store.temp_path,
                                       conf->resume_timeout)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_stream_dualcam(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_stream_dualcam_srv_conf_t *dscf = conf;

    ngx_str_t                    *value, name;
    ngx_uint_t                    i;
    ngx_stream_core_srv_conf_t   *cscf;

    if (dscf->enabled) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {
            name.data = value[i].data + 5;
            name.len = value[i].len - 5;

            if (name.len == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid zone name in \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            dscf->zone = ngx_stream_dualcam_zone_get(cf, &name);
            if (dscf->zone == NULL) {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    cscf = ngx_stream_conf_get_module_srv_conf(cf, ngx_stream_core_module);
    cscf->handler = ngx_stream_dualcam_handler;

    dscf->enabled = 1;

    return NGX_CONF_OK;
}


static char *
ngx_stream_dualcam_store(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_stream_dualcam_srv_conf_t *dscf = conf;

    ngx_str_t  *value;

    if (dscf->store.store.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;
    dscf->store.store = value[1];

    while (dscf->store.store.len > 1
           && dscf->store.store.data[dscf->store.store.len - 1] == '/')
    {
        dscf->store.store.len--;
        dscf->store.store.data[dscf->store.store.len] = '\0';
    }

    if (ngx_conf_full_name(cf->cycle, &dscf->store.store, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


#if (NGX_THREADS)

static char *
ngx_stream_dualcam_thread_pool(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_stream_dualcam_srv_conf_t *dscf = conf;

    ngx_str_t  *value;

    if (dscf->thread_pool != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        dscf->thread_pool = NULL;
        return NGX_CONF_OK;
    }

    dscf->thread_pool = ngx_thread_pool_add(cf, &value[1]);
    if (dscf->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}

#endif


static ngx_int_t
ngx_stream_dualcam_init_module(ngx_cycle_t *cycle)
{
    /*
     * which build a start or a reload runs: a reload keeps the .so that
     * is already mapped, so after a package upgrade this line still names
     * the old version until nginx is restarted
     */

    ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                  "ngx_stream_dualcam_module/" NGX_STREAM_DUALCAM_VERSION
                  " (nginx/" NGINX_VERSION ")");

    return NGX_OK;
}


static ngx_int_t
ngx_stream_dualcam_init_process(ngx_cycle_t *cycle)
{
    ngx_stream_dualcam_main_conf_t  *dmcf;

    /* the first worker sweeps */

    if ((ngx_process != NGX_PROCESS_WORKER
         && ngx_process != NGX_PROCESS_SINGLE)
        || ngx_worker != 0)
    {
        return NGX_OK;
    }

    dmcf = ngx_stream_cycle_get_module_main_conf(cycle,
                                                 ngx_stream_dualcam_module);
    if (dmcf == NULL) {
        return NGX_OK;
    }

    return ngx_stream_dualcam_sweeper_start(cycle, &dmcf->sweeper);
}
