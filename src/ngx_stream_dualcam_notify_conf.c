
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The module of event notifications, ngx_stream_dualcam_notify_module
 * (see ngx_stream_dualcam_notify.h): its directives, the receivers made
 * from them at load (URLs resolved, TLS contexts), the spools, and the
 * start of each worker's outbox.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>
#include <ngx_stream.h>

#include "ngx_stream_dualcam.h"
#include "ngx_stream_dualcam_notify.h"


typedef struct {
    ngx_str_t                            url;
    ngx_uint_t                           events;
} ngx_stream_dualcam_notify_spec_t;


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
