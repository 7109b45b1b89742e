
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The status endpoint of the camera server: "dualcam_status NAME" in an
 * http location answers GET and HEAD with what the dualcam zone NAME
 * holds, as JSON (the default) or in the Prometheus text format 0.0.4
 * ("?format=prometheus", or "Accept: text/plain"), or the operator's
 * page, one HTML document compiled in (ngx_http_dualcam_page.c, made
 * from src/dualcam_page.html) that polls the JSON ("?format=html", or
 * "Accept: text/html").  It only reads the shared zone, so every worker's
 * sessions appear.  "?limit=N", "?imei=DIGITS" and "?active=1" cut the
 * JSON to what the page shows.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <nginx.h>

#include "ngx_stream_dualcam_store.h"
#include "ngx_stream_dualcam_zone.h"
#include "dualcam_json.h"
#include "dualcam_query.h"
#include "ngx_http_dualcam_page.h"


#define NGX_HTTP_DUALCAM_STATUS_JSON        0
#define NGX_HTTP_DUALCAM_STATUS_PROMETHEUS  1
#define NGX_HTTP_DUALCAM_STATUS_HTML        2

#define NGX_HTTP_DUALCAM_STATUS_BUF         16384
#define NGX_HTTP_DUALCAM_STATUS_LINE        512


typedef struct {
    ngx_shm_zone_t               *zone;
    ngx_str_t                     store_url;   /* "store_url=", or empty */
} ngx_http_dualcam_status_loc_conf_t;


typedef struct {
    ngx_pool_t                   *pool;
    ngx_chain_t                  *first;
    ngx_chain_t                 **last;
    ngx_buf_t                    *buf;
    off_t                         len;
    ngx_uint_t                    error;
    ngx_str_t                     store_url;
} ngx_http_dualcam_status_out_t;


static ngx_int_t ngx_http_dualcam_status_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_dualcam_status_accept(ngx_http_request_t *r);
static ngx_int_t ngx_http_dualcam_status_page(ngx_http_request_t *r);
static ngx_int_t ngx_http_dualcam_status_header(ngx_http_request_t *r,
    char *key, char *value);
static void ngx_http_dualcam_status_json(ngx_http_dualcam_status_out_t *o,
    ngx_stream_dualcam_zone_snapshot_t *snap, uint64_t now,
    dualcam_query_t *q);
static ngx_uint_t ngx_http_dualcam_status_match(dualcam_query_t *q,
    ngx_uint_t has, uint64_t imei);
static void ngx_http_dualcam_status_url(ngx_http_dualcam_status_out_t *o,
    ngx_str_t *path);
static void ngx_http_dualcam_status_json_session(
    ngx_http_dualcam_status_out_t *o, ngx_stream_dualcam_zone_session_t *s,
    uint64_t now);
static void ngx_http_dualcam_status_json_recent(
    ngx_http_dualcam_status_out_t *o, ngx_stream_dualcam_zone_recent_t *r);
static void ngx_http_dualcam_status_json_notify(
    ngx_http_dualcam_status_out_t *o, ngx_stream_dualcam_zone_totals_t *t);
static void ngx_http_dualcam_status_prometheus_notify(
    ngx_http_dualcam_status_out_t *o, ngx_stream_dualcam_zone_totals_t *t);
static void ngx_http_dualcam_status_prometheus(
    ngx_http_dualcam_status_out_t *o,
    ngx_stream_dualcam_zone_snapshot_t *snap, uint64_t now);
static void ngx_http_dualcam_status_metric(ngx_http_dualcam_status_out_t *o,
    char *name, char *type, char *help);
static u_char *ngx_http_dualcam_status_reserve(
    ngx_http_dualcam_status_out_t *o, size_t size);
static void ngx_http_dualcam_status_printf(ngx_http_dualcam_status_out_t *o,
    const char *fmt, ...);
static void ngx_http_dualcam_status_string(ngx_http_dualcam_status_out_t *o,
    u_char *data, size_t len);
static void ngx_http_dualcam_status_imei(ngx_http_dualcam_status_out_t *o,
    ngx_uint_t has, uint64_t imei);
static void ngx_http_dualcam_status_time(ngx_http_dualcam_status_out_t *o,
    uint64_t ms);
static void *ngx_http_dualcam_status_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_dualcam_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


extern ngx_module_t  ngx_stream_dualcam_module;


static ngx_command_t  ngx_http_dualcam_status_commands[] = {

    { ngx_string("dualcam_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_dualcam_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_dualcam_status_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_dualcam_status_create_loc_conf,  /* create location conf */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_dualcam_status_module = {
    NGX_MODULE_V1,
    &ngx_http_dualcam_status_module_ctx,   /* module context */
    ngx_http_dualcam_status_commands,      /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_dualcam_status_handler(ngx_http_request_t *r)
{
    uint64_t                             now;
    size_t                               bad_len;
    ngx_int_t                            rc, format;
    ngx_time_t                          *tp;
    const char                          *invalid;
    const u_char                        *bad;
    ngx_table_elt_t                     *h;
    ngx_http_dualcam_status_out_t        out;
    dualcam_query_t                      query;
    ngx_stream_dualcam_zone_snapshot_t   snap;
    ngx_http_dualcam_status_loc_conf_t  *dlcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {

        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Allow");
        ngx_str_set(&h->value, "GET, HEAD");

        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    /*
     * the page ignores the other arguments (it asks for the JSON with
     * its own); a bad one is a 400 for the JSON, so that a script asking
     * for something else learns it instead of getting the whole zone
     */

    invalid = dualcam_query_parse(&query, r->args.data, r->args.len, &bad,
                                  &bad_len);

    switch (query.format) {

    case DUALCAM_FORMAT_JSON:
        format = NGX_HTTP_DUALCAM_STATUS_JSON;
        break;

    case DUALCAM_FORMAT_PROMETHEUS:
        format = NGX_HTTP_DUALCAM_STATUS_PROMETHEUS;
        break;

    case DUALCAM_FORMAT_HTML:
        format = NGX_HTTP_DUALCAM_STATUS_HTML;
        break;

    case DUALCAM_FORMAT_INVALID:
        /* invalid is then set: a 400 below */
        format = NGX_HTTP_DUALCAM_STATUS_JSON;
        break;

    default:
        format = ngx_http_dualcam_status_accept(r);
    }

    if (format == NGX_HTTP_DUALCAM_STATUS_HTML) {
        return ngx_http_dualcam_status_page(r);
    }

    if (invalid != NULL) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "dualcam_status: invalid \"%s\" argument \"%*s\"",
                      invalid, bad_len, bad);
        return NGX_HTTP_BAD_REQUEST;
    }

    dlcf = ngx_http_get_module_loc_conf(r, ngx_http_dualcam_status_module);

    if (ngx_stream_dualcam_zone_snapshot(dlcf->zone, r->pool, &snap)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    tp = ngx_timeofday();
    now = (uint64_t) tp->sec * 1000 + tp->msec;

    ngx_memzero(&out, sizeof(ngx_http_dualcam_status_out_t));
    out.pool = r->pool;
    out.last = &out.first;
    out.store_url = dlcf->store_url;

    if (format == NGX_HTTP_DUALCAM_STATUS_PROMETHEUS) {
        ngx_str_set(&r->headers_out.content_type,
                    "text/plain; version=0.0.4; charset=utf-8");
        ngx_http_dualcam_status_prometheus(&out, &snap, now);

    } else {
        ngx_str_set(&r->headers_out.content_type, "application/json");
        ngx_http_dualcam_status_json(&out, &snap, now, &query);
    }

    if (out.error || out.buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = out.len;

    /* a live view: never cached */

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Cache-Control");
    ngx_str_set(&h->value, "no-store");

    /* the same URL answers JSON or the page, by the Accept header */

    if (ngx_http_dualcam_status_header(r, "Vary", "Accept") != NGX_OK
        || ngx_http_dualcam_status_header(r, "X-Content-Type-Options",
                                          "nosniff")
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->method == NGX_HTTP_HEAD) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf->last_buf = (r == r->main) ? 1 : 0;
    out.buf->last_in_chain = 1;

    return ngx_http_output_filter(r, out.first);
}


/*
 * Without "?format=": an Accept header naming text/html (a browser) and
 * not application/json asks for the page, one naming text/plain and not
 * application/json for Prometheus; anything else gets JSON.
 */

static ngx_int_t
ngx_http_dualcam_status_accept(ngx_http_request_t *r)
{
    ngx_uint_t        i, text, json, html;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    text = 0;
    json = 0;
    html = 0;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash == 0
            || h[i].key.len != 6
            || ngx_strncasecmp(h[i].key.data, (u_char *) "accept", 6) != 0)
        {
            continue;
        }

        if (ngx_strlcasestrn(h[i].value.data,
                             h[i].value.data + h[i].value.len,
                             (u_char *) "text/plain", 10 - 1)
            != NULL)
        {
            text = 1;
        }

        if (ngx_strlcasestrn(h[i].value.data,
                             h[i].value.data + h[i].value.len,
                             (u_char *) "application/json", 16 - 1)
            != NULL)
        {
            json = 1;
        }

        if (ngx_strlcasestrn(h[i].value.data,
                             h[i].value.data + h[i].value.len,
                             (u_char *) "text/html", 9 - 1)
            != NULL)
        {
            html = 1;
        }
    }

    if (html && !json) {
        return NGX_HTTP_DUALCAM_STATUS_HTML;
    }

    if (text && !json) {
        return NGX_HTTP_DUALCAM_STATUS_PROMETHEUS;
    }

    return NGX_HTTP_DUALCAM_STATUS_JSON;
}


/* the page is static: it needs no snapshot, it asks for the JSON itself */

static ngx_int_t
ngx_http_dualcam_status_page(ngx_http_request_t *r)
{
    ngx_int_t     rc;
    ngx_str_t     page;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    ngx_http_dualcam_page(&page);

    ngx_str_set(&r->headers_out.content_type, "text/html; charset=utf-8");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = page.len;

    /*
     * the page loads nothing from elsewhere and may not be framed; what
     * a device sent is only ever text in it, and this is the second line
     * of defence should that ever break
     */

    if (ngx_http_dualcam_status_header(r, "Cache-Control", "no-store")
        != NGX_OK
        || ngx_http_dualcam_status_header(r, "Vary", "Accept") != NGX_OK
        || ngx_http_dualcam_status_header(r, "X-Content-Type-Options",
                                          "nosniff")
           != NGX_OK
        || ngx_http_dualcam_status_header(r, "Referrer-Policy", "no-referrer")
           != NGX_OK
        || ngx_http_dualcam_status_header(r, "Content-Security-Policy",
               "default-src 'none'; script-src 'unsafe-inline'; "
               "style-src 'unsafe-inline'; connect-src 'self'; "
               "img-src 'self'; media-src 'self'; base-uri 'none'; "
               "form-action 'none'; frame-ancestors 'none'")
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->method == NGX_HTTP_HEAD) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = page.data;
    b->last = page.data + page.len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static ngx_int_t
ngx_http_dualcam_status_header(ngx_http_request_t *r, char *key,
    char *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.len = ngx_strlen(key);
    h->key.data = (u_char *) key;
    h->value.len = ngx_strlen(value);
    h->value.data = (u_char *) value;

    return NGX_OK;
}


static void
ngx_http_dualcam_status_json(ngx_http_dualcam_status_out_t *o,
    ngx_stream_dualcam_zone_snapshot_t *snap, uint64_t now,
    dualcam_query_t *q)
{
    char                               *sep;
    uint64_t                            stored;
    uint64_t                            n;
    ngx_uint_t                          i, k, sd, matched;
    ngx_stream_dualcam_zone_totals_t   *t;
    ngx_stream_dualcam_zone_session_t  *s;

    t = &snap->totals;

    ngx_http_dualcam_status_printf(o, "{\"nginx_version\":\"%s\","
                                   "\"version\":\"%s\",\"zone\":",
                                   NGINX_VERSION, NGX_STREAM_DUALCAM_VERSION);
    ngx_http_dualcam_status_string(o, snap->name.data, snap->name.len);

    ngx_http_dualcam_status_printf(o,
        ",\"zone_size\":%uz,\"recent_max\":%ui,\"uptime\":%uL,"
        "\"start_time\":",
        snap->size, snap->recent_max,
        (uint64_t) (now > snap->start_ms ? (now - snap->start_ms) / 1000 : 0));
    ngx_http_dualcam_status_time(o, snap->start_ms);

    /* the server's clock, for ages and rates computed in the page */

    ngx_http_dualcam_status_printf(o, ",\"time\":");
    ngx_http_dualcam_status_time(o, now);

    ngx_http_dualcam_status_printf(o, ",\"store_url\":");

    if (o->store_url.len) {
        ngx_http_dualcam_status_string(o, o->store_url.data,
                                       o->store_url.len);

    } else {
        ngx_http_dualcam_status_printf(o, "null");
    }

    ngx_http_dualcam_status_printf(o,
        ",\"totals\":{\"connections\":%uL,\"sessions_active\":%uL,"
        "\"sessions_ended\":{",
        t->connections, t->sessions_active);

    for (i = 0; i < DUALCAM_RESULT_LAST; i++) {
        ngx_http_dualcam_status_printf(o, "%s\"%s\":%uL",
                                       i ? "," : "",
                                       dualcam_result_name(i),
                                       t->sessions[i]);
    }

    stored = 0;

    for (k = 0; k < DUALCAM_KIND_LAST; k++) {
        for (sd = 0; sd < DUALCAM_SIDE_LAST; sd++) {
            stored += t->files[k][sd];
        }
    }

    ngx_http_dualcam_status_printf(o,
        "},\"files_stored\":%uL,\"files_stored_by_kind\":{", stored);

    for (k = 1; k < DUALCAM_KIND_LAST; k++) {
        ngx_http_dualcam_status_printf(o,
            "%s\"%s\":{\"front\":%uL,\"rear\":%uL,\"none\":%uL}",
            k > 1 ? "," : "", dualcam_kind_name(k),
            t->files[k][DUALCAM_SIDE_FRONT], t->files[k][DUALCAM_SIDE_REAR],
            t->files[k][DUALCAM_SIDE_NONE]);
    }

    ngx_http_dualcam_status_printf(o,
        "},\"files_failed\":%uL,\"files_duplicate\":%uL,"
        "\"file_bytes_stored\":%uL,"
        "\"crc_failures\":%uL,\"resumes\":%uL,"
        "\"resumes_across_connections\":%uL,\"device_status\":{",
        t->files_failed, t->files_duplicate, t->bytes,
        t->counters[NGX_STREAM_DUALCAM_CNT_CRC_FAILURES],
        t->counters[NGX_STREAM_DUALCAM_CNT_RESUMES],
        t->counters[NGX_STREAM_DUALCAM_CNT_RESUMES_ACROSS]);

    sep = "";

    for (i = 0; i < NGX_STREAM_DUALCAM_STATUS_CODES; i++) {
        if (t->status[i]) {
            ngx_http_dualcam_status_printf(o, "%s\"%ui\":%uL", sep, i,
                                           t->status[i]);
            sep = ",";
        }
    }

    if (t->status_other) {
        ngx_http_dualcam_status_printf(o, "%s\"other\":%uL", sep,
                                       t->status_other);
    }

    /* four results by name too, as the schema had them from the start */

    ngx_http_dualcam_status_printf(o,
        "},\"protocol_errors\":%uL,\"timeouts\":%uL,\"refused\":%uL,"
        "\"store_errors\":%uL,\"evicted\":%uL,\"dropped\":%uL}",
        t->sessions[DUALCAM_RESULT_PROTOCOL_ERROR],
        t->sessions[DUALCAM_RESULT_TIMEOUT],
        t->sessions[DUALCAM_RESULT_REFUSED],
        t->sessions[DUALCAM_RESULT_STORE_ERROR],
        t->evicted, t->dropped);

    ngx_http_dualcam_status_json_notify(o, t);

    ngx_http_dualcam_status_printf(o, ",\"sessions\":[");

    /*
     * "*_matched" count the entries the query selects, of which "limit"
     * are listed: the page says "20 of 5000" without fetching 5000
     */

    n = 0;
    matched = 0;

    for (i = 0; i < snap->nsessions; i++) {
        s = &snap->sessions[i];

        if ((q->active && !s->has_file)
            || !ngx_http_dualcam_status_match(q, s->has_imei, s->imei))
        {
            continue;
        }

        matched++;

        if (n == q->limit) {
            continue;
        }

        if (n++) {
            ngx_http_dualcam_status_printf(o, ",");
        }

        ngx_http_dualcam_status_json_session(o, s, now);
    }

    ngx_http_dualcam_status_printf(o, "],\"sessions_matched\":%ui,"
                                   "\"recent\":[", matched);

    n = 0;
    matched = 0;

    for (i = 0; i < snap->nrecent; i++) {

        if (!ngx_http_dualcam_status_match(q, snap->recent[i].imei != 0,
                                           snap->recent[i].imei))
        {
            continue;
        }

        matched++;

        if (n == q->limit) {
            continue;
        }

        if (n++) {
            ngx_http_dualcam_status_printf(o, ",");
        }

        ngx_http_dualcam_status_json_recent(o, &snap->recent[i]);
    }

    ngx_http_dualcam_status_printf(o, "],\"recent_matched\":%ui}\n",
                                   matched);
}


static ngx_uint_t
ngx_http_dualcam_status_match(dualcam_query_t *q, ngx_uint_t has,
    uint64_t imei)
{
    if (q->imei_len == 0) {
        return 1;
    }

    /* a session before its init has no IMEI to match */

    return has && dualcam_query_imei(q, imei);
}


static void
ngx_http_dualcam_status_json_session(ngx_http_dualcam_status_out_t *o,
    ngx_stream_dualcam_zone_session_t *s, uint64_t now)
{
    uint64_t  progress;

    ngx_http_dualcam_status_printf(o, "{\"imei\":");
    ngx_http_dualcam_status_imei(o, s->has_imei, s->imei);

    if (s->has_imei) {
        ngx_http_dualcam_status_printf(o, ",\"protocol\":%ui", s->protocol);

    } else {
        ngx_http_dualcam_status_printf(o, ",\"protocol\":null");
    }

    ngx_http_dualcam_status_printf(o, ",\"peer\":");
    ngx_http_dualcam_status_string(o, s->addr, s->addr_len);

    ngx_http_dualcam_status_printf(o,
        ",\"tls\":%s,\"pid\":%P,\"connected_since\":",
        s->ssl ? "true" : "false", s->pid);
    ngx_http_dualcam_status_time(o, s->connected_ms);

    ngx_http_dualcam_status_printf(o, ",\"last_activity\":");
    ngx_http_dualcam_status_time(o, s->activity_ms);

    ngx_http_dualcam_status_printf(o, ",\"files_done\":%ui,"
                                   "\"bytes_done\":%uL,\"file\":",
                                   s->files_done, s->bytes_done);

    if (!s->has_file) {
        ngx_http_dualcam_status_printf(o, "null}");
        return;
    }

    ngx_http_dualcam_status_printf(o, "{\"name\":");
    ngx_http_dualcam_status_string(o, s->name, s->name_len);

    if (s->size == 0) {
        progress = 0;

    } else if (s->received >= s->size) {
        progress = 10000;

    } else {
        progress = s->received * 10000 / s->size;
    }

    ngx_http_dualcam_status_printf(o,
        ",\"kind\":\"%s\",\"side\":\"%s\",\"total\":%uD,\"size\":%uL,"
        "\"received\":%uL,\"resume_from\":%uL,\"packets\":%uD,"
        "\"crc_errors\":%uD,\"progress\":%uL.%04uL,\"rate\":%uL,"
        "\"started\":",
        dualcam_kind_name(s->kind), dualcam_side_name(s->side),
        s->total, s->size, s->received, s->resume_from, s->packets,
        s->crc_errors, progress / 10000, progress % 10000, s->rate);
    ngx_http_dualcam_status_time(o, s->file_start_ms);

    ngx_http_dualcam_status_printf(o, "}}");
}


static void
ngx_http_dualcam_status_json_recent(ngx_http_dualcam_status_out_t *o,
    ngx_stream_dualcam_zone_recent_t *r)
{
    uint64_t  ms;

    ngx_http_dualcam_status_printf(o, "{\"imei\":");
    ngx_http_dualcam_status_imei(o, r->imei != 0, r->imei);

    ngx_http_dualcam_status_printf(o, ",\"peer\":");
    ngx_http_dualcam_status_string(o, r->addr.data, r->addr.len);

    ngx_http_dualcam_status_printf(o, ",\"file\":");
    ngx_http_dualcam_status_string(o, r->name.data, r->name.len);

    ngx_http_dualcam_status_printf(o, ",\"kind\":\"%s\",\"side\":\"%s\","
        "\"path\":",
        dualcam_kind_name(r->kind), dualcam_side_name(r->side));

    if (r->path.len) {
        ngx_http_dualcam_status_string(o, r->path.data, r->path.len);

    } else {
        ngx_http_dualcam_status_printf(o, "null");
    }

    ngx_http_dualcam_status_printf(o, ",\"url\":");
    ngx_http_dualcam_status_url(o, &r->path);

    ngx_http_dualcam_status_printf(o, ",\"mp4\":");

    if (r->mp4.len) {
        ngx_http_dualcam_status_string(o, r->mp4.data, r->mp4.len);

    } else {
        ngx_http_dualcam_status_printf(o, "null");
    }

    ngx_http_dualcam_status_printf(o, ",\"mp4_url\":");
    ngx_http_dualcam_status_url(o, &r->mp4);

    ms = r->end_ms > r->start_ms ? r->end_ms - r->start_ms : 0;

    ngx_http_dualcam_status_printf(o,
        ",\"size\":%uL,\"result\":\"%s\",\"duration\":%uL.%03uL,"
        "\"started\":",
        r->size,
        dualcam_result_name(r->result),
        ms / 1000, ms % 1000);
    ngx_http_dualcam_status_time(o, r->start_ms);

    ngx_http_dualcam_status_printf(o, ",\"finished\":");
    ngx_http_dualcam_status_time(o, r->end_ms);

    ngx_http_dualcam_status_printf(o, "}");
}


/*
 * Where the stored file is served: "store_url=" followed by the file's
 * place in the store, "<IMEI>/<name>" (the last two parts of its path),
 * escaped as a URI; null without store_url or without a stored file.
 */

static void
ngx_http_dualcam_status_url(ngx_http_dualcam_status_out_t *o,
    ngx_str_t *path)
{
    u_char      *p, *start, *last;
    size_t       len;
    uintptr_t    escape;
    ngx_uint_t   slashes;

    if (o->store_url.len == 0 || path->len == 0) {
        ngx_http_dualcam_status_printf(o, "null");
        return;
    }

    last = path->data + path->len;
    start = path->data;
    slashes = 0;

    for (p = last; p > path->data; p--) {
        if (p[-1] == '/' && ++slashes == 2) {
            start = p;
            break;
        }
    }

    escape = ngx_escape_uri(NULL, start, last - start, NGX_ESCAPE_URI);
    len = o->store_url.len + (last - start) + 2 * escape;

    p = ngx_pnalloc(o->pool, len);
    if (p == NULL) {
        o->error = 1;
        return;
    }

    ngx_memcpy(p, o->store_url.data, o->store_url.len);
    ngx_escape_uri(p + o->store_url.len, start, last - start,
                   NGX_ESCAPE_URI);

    ngx_http_dualcam_status_string(o, p, len);
}


static void
ngx_http_dualcam_status_prometheus(ngx_http_dualcam_status_out_t *o,
    ngx_stream_dualcam_zone_snapshot_t *snap, uint64_t now)
{
    ngx_uint_t                         i, k, sd;
    ngx_stream_dualcam_zone_totals_t  *t;

    t = &snap->totals;

    ngx_http_dualcam_status_metric(o, "dualcam_build_info", "gauge",
        "The module's version (debian/changelog) and nginx's; always 1.");
    ngx_http_dualcam_status_printf(o,
        "dualcam_build_info{version=\"%s\",nginx_version=\"%s\"} 1\n",
        NGX_STREAM_DUALCAM_VERSION, NGINX_VERSION);

    ngx_http_dualcam_status_metric(o, "dualcam_uptime_seconds", "gauge",
        "Seconds since the dualcam zone was created (kept across reloads).");
    ngx_http_dualcam_status_printf(o, "dualcam_uptime_seconds %uL\n",
        (uint64_t) (now > snap->start_ms ? (now - snap->start_ms) / 1000 : 0));

    ngx_http_dualcam_status_metric(o, "dualcam_connections_total", "counter",
        "Device connections accepted.");
    ngx_http_dualcam_status_printf(o, "dualcam_connections_total %uL\n",
                                   t->connections);

    ngx_http_dualcam_status_metric(o, "dualcam_sessions_active", "gauge",
        "Device sessions open now, in all workers.");
    ngx_http_dualcam_status_printf(o, "dualcam_sessions_active %uL\n",
                                   t->sessions_active);

    ngx_http_dualcam_status_metric(o, "dualcam_sessions_ended_total",
        "counter", "Device sessions ended, by result.");

    for (i = 0; i < DUALCAM_RESULT_LAST; i++) {
        ngx_http_dualcam_status_printf(o,
            "dualcam_sessions_ended_total{result=\"%s\"} %uL\n",
            dualcam_result_name(i), t->sessions[i]);
    }

    ngx_http_dualcam_status_metric(o, "dualcam_files_stored_total",
        "counter", "Files stored complete and verified, by kind and side.");

    for (k = 1; k < DUALCAM_KIND_LAST; k++) {
        for (sd = 0; sd < DUALCAM_SIDE_LAST; sd++) {
            ngx_http_dualcam_status_printf(o,
                "dualcam_files_stored_total{kind=\"%s\",side=\"%s\"} %uL\n",
                dualcam_kind_name(k), dualcam_side_name(sd),
                t->files[k][sd]);
        }
    }

    ngx_http_dualcam_status_metric(o, "dualcam_files_failed_total",
        "counter", "Files started and not stored.");
    ngx_http_dualcam_status_printf(o, "dualcam_files_failed_total %uL\n",
                                   t->files_failed);

    ngx_http_dualcam_status_metric(o, "dualcam_files_duplicate_total",
        "counter", "Files that arrived again identical to one stored before: "
        "acknowledged, not stored again.");
    ngx_http_dualcam_status_printf(o, "dualcam_files_duplicate_total %uL\n",
                                   t->files_duplicate);

    ngx_http_dualcam_status_metric(o, "dualcam_file_bytes_stored_total",
        "counter", "Bytes of the files stored.");
    ngx_http_dualcam_status_printf(o,
        "dualcam_file_bytes_stored_total %uL\n", t->bytes);

    ngx_http_dualcam_status_metric(o, "dualcam_crc_failures_total",
        "counter", "Data packets that failed the CRC check.");
    ngx_http_dualcam_status_printf(o, "dualcam_crc_failures_total %uL\n",
        t->counters[NGX_STREAM_DUALCAM_CNT_CRC_FAILURES]);

    ngx_http_dualcam_status_metric(o, "dualcam_resumes_total", "counter",
        "Resumes within a session, after a bad CRC.");
    ngx_http_dualcam_status_printf(o, "dualcam_resumes_total %uL\n",
        t->counters[NGX_STREAM_DUALCAM_CNT_RESUMES]);

    ngx_http_dualcam_status_metric(o,
        "dualcam_resumes_across_connections_total", "counter",
        "Uploads resumed from a partial file of an earlier connection.");
    ngx_http_dualcam_status_printf(o,
        "dualcam_resumes_across_connections_total %uL\n",
        t->counters[NGX_STREAM_DUALCAM_CNT_RESUMES_ACROSS]);

    ngx_http_dualcam_status_metric(o, "dualcam_device_status_total",
        "counter", "STATUS codes sent by devices, by code.");

    for (i = 0; i < NGX_STREAM_DUALCAM_STATUS_CODES; i++) {
        if (t->status[i]) {
            ngx_http_dualcam_status_printf(o,
                "dualcam_device_status_total{code=\"%ui\"} %uL\n",
                i, t->status[i]);
        }
    }

    if (t->status_other) {
        ngx_http_dualcam_status_printf(o,
            "dualcam_device_status_total{code=\"other\"} %uL\n",
            t->status_other);
    }

    ngx_http_dualcam_status_metric(o, "dualcam_protocol_errors_total",
        "counter", "Sessions ended by a protocol error.");
    ngx_http_dualcam_status_printf(o, "dualcam_protocol_errors_total %uL\n",
        t->sessions[DUALCAM_RESULT_PROTOCOL_ERROR]);

    ngx_http_dualcam_status_metric(o, "dualcam_timeouts_total", "counter",
        "Sessions ended by a timeout.");
    ngx_http_dualcam_status_printf(o, "dualcam_timeouts_total %uL\n",
        t->sessions[DUALCAM_RESULT_TIMEOUT]);

    ngx_http_dualcam_status_metric(o, "dualcam_refused_total", "counter",
        "Devices refused by IMEI.");
    ngx_http_dualcam_status_printf(o, "dualcam_refused_total %uL\n",
        t->sessions[DUALCAM_RESULT_REFUSED]);

    ngx_http_dualcam_status_metric(o, "dualcam_store_errors_total",
        "counter", "Errors writing or committing files to the store.");
    ngx_http_dualcam_status_printf(o, "dualcam_store_errors_total %uL\n",
        t->sessions[DUALCAM_RESULT_STORE_ERROR]);

    ngx_http_dualcam_status_metric(o, "dualcam_zone_evicted_total",
        "counter", "Finished uploads evicted early from a full zone.");
    ngx_http_dualcam_status_printf(o, "dualcam_zone_evicted_total %uL\n",
                                   t->evicted);

    ngx_http_dualcam_status_metric(o, "dualcam_zone_dropped_total",
        "counter", "Session or upload entries that found no room in the "
        "zone.");
    ngx_http_dualcam_status_printf(o, "dualcam_zone_dropped_total %uL\n",
                                   t->dropped);

    ngx_http_dualcam_status_metric(o, "dualcam_zone_sessions", "gauge",
        "Session entries held in the zone.");
    ngx_http_dualcam_status_printf(o, "dualcam_zone_sessions %ui\n",
                                   snap->nsessions);

    ngx_http_dualcam_status_metric(o, "dualcam_zone_recent", "gauge",
        "Finished uploads held in the zone.");
    ngx_http_dualcam_status_printf(o, "dualcam_zone_recent %ui\n",
                                   snap->nrecent);

    ngx_http_dualcam_status_prometheus_notify(o, t);
}


/* the event notifications (dualcam_notify) of the servers of this zone */

static void
ngx_http_dualcam_status_json_notify(ngx_http_dualcam_status_out_t *o,
    ngx_stream_dualcam_zone_totals_t *t)
{
    ngx_http_dualcam_status_printf(o,
        ",\"notify\":{\"events\":%uL,\"sent\":%uL,\"failed_attempts\":%uL,"
        "\"pending\":%uL,\"dead_lettered\":%uL,\"last_sent\":",
        t->notify_events, t->notify_sent, t->notify_failed,
        t->notify_pending, t->notify_dead);

    if (t->notify_last_sent_ms) {
        ngx_http_dualcam_status_time(o, t->notify_last_sent_ms);

    } else {
        ngx_http_dualcam_status_printf(o, "null");
    }

    ngx_http_dualcam_status_printf(o, ",\"last_error\":");

    if (t->notify_last_error_ms) {
        ngx_http_dualcam_status_string(o, t->notify_last_error,
                                       t->notify_last_error_len);
        ngx_http_dualcam_status_printf(o, ",\"last_error_time\":");
        ngx_http_dualcam_status_time(o, t->notify_last_error_ms);

    } else {
        ngx_http_dualcam_status_printf(o, "null,\"last_error_time\":null");
    }

    ngx_http_dualcam_status_printf(o, "}");
}


static void
ngx_http_dualcam_status_prometheus_notify(ngx_http_dualcam_status_out_t *o,
    ngx_stream_dualcam_zone_totals_t *t)
{
    ngx_http_dualcam_status_metric(o, "dualcam_notify_events_total",
        "counter", "Events written to a dualcam_notify spool.");
    ngx_http_dualcam_status_printf(o, "dualcam_notify_events_total %uL\n",
                                   t->notify_events);

    ngx_http_dualcam_status_metric(o, "dualcam_notify_sent_total",
        "counter", "Events a receiver answered with 2xx.");
    ngx_http_dualcam_status_printf(o, "dualcam_notify_sent_total %uL\n",
                                   t->notify_sent);

    ngx_http_dualcam_status_metric(o,
        "dualcam_notify_failed_attempts_total", "counter",
        "Deliveries that failed (and are retried).");
    ngx_http_dualcam_status_printf(o,
        "dualcam_notify_failed_attempts_total %uL\n", t->notify_failed);

    ngx_http_dualcam_status_metric(o, "dualcam_notify_pending", "gauge",
        "Events in the spools, not delivered yet.");
    ngx_http_dualcam_status_printf(o, "dualcam_notify_pending %uL\n",
                                   t->notify_pending);

    ngx_http_dualcam_status_metric(o, "dualcam_notify_dead_lettered_total",
        "counter", "Events moved to failed/ after dualcam_notify_max_age.");
    ngx_http_dualcam_status_printf(o,
        "dualcam_notify_dead_lettered_total %uL\n", t->notify_dead);

    ngx_http_dualcam_status_metric(o,
        "dualcam_notify_last_sent_timestamp_seconds", "gauge",
        "When an event was last delivered (0: never).");
    ngx_http_dualcam_status_printf(o,
        "dualcam_notify_last_sent_timestamp_seconds %uL.%03uL\n",
        t->notify_last_sent_ms / 1000, t->notify_last_sent_ms % 1000);

    ngx_http_dualcam_status_metric(o,
        "dualcam_notify_last_error_timestamp_seconds", "gauge",
        "When a delivery last failed (0: never).");
    ngx_http_dualcam_status_printf(o,
        "dualcam_notify_last_error_timestamp_seconds %uL.%03uL\n",
        t->notify_last_error_ms / 1000, t->notify_last_error_ms % 1000);
}


static void
ngx_http_dualcam_status_metric(ngx_http_dualcam_status_out_t *o,
    char *name, char *type, char *help)
{
    ngx_http_dualcam_status_printf(o, "# HELP %s %s\n# TYPE %s %s\n",
                                   name, help, name, type);
}


static u_char *
ngx_http_dualcam_status_reserve(ngx_http_dualcam_status_out_t *o,
    size_t size)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (o->error) {
        return NULL;
    }

    if (o->buf != NULL && (size_t) (o->buf->end - o->buf->last) >= size) {
        return o->buf->last;
    }

    b = ngx_create_temp_buf(o->pool,
                            ngx_max(size, NGX_HTTP_DUALCAM_STATUS_BUF));
    if (b == NULL) {
        o->error = 1;
        return NULL;
    }

    cl = ngx_alloc_chain_link(o->pool);
    if (cl == NULL) {
        o->error = 1;
        return NULL;
    }

    cl->buf = b;
    cl->next = NULL;

    *o->last = cl;
    o->last = &cl->next;
    o->buf = b;

    return b->last;
}


/* for numbers and fixed text only: at most a line's worth */

static void
ngx_http_dualcam_status_printf(ngx_http_dualcam_status_out_t *o,
    const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    p = ngx_http_dualcam_status_reserve(o, NGX_HTTP_DUALCAM_STATUS_LINE);
    if (p == NULL) {
        return;
    }

    va_start(args, fmt);
    p = ngx_vslprintf(p, o->buf->end, fmt, args);
    va_end(args);

    o->len += p - o->buf->last;
    o->buf->last = p;
}


/* device bytes as a JSON string: dualcam_json.h says how */

static void
ngx_http_dualcam_status_string(ngx_http_dualcam_status_out_t *o,
    u_char *data, size_t len)
{
    u_char  *p, *start;
    size_t   size;

    size = dualcam_json_escape_len(data, len) + 2;

    p = ngx_http_dualcam_status_reserve(o, size);
    if (p == NULL) {
        return;
    }

    start = p;

    *p++ = '"';
    p = dualcam_json_escape(p, data, len);
    *p++ = '"';

    o->len += p - start;
    o->buf->last = p;
}


/* IMEIs as strings: 15 digits, leading zeros kept */

static void
ngx_http_dualcam_status_imei(ngx_http_dualcam_status_out_t *o,
    ngx_uint_t has, uint64_t imei)
{
    if (has) {
        ngx_http_dualcam_status_printf(o,
                                       "\"" NGX_STREAM_DUALCAM_IMEI_FMT "\"",
                                       imei);

    } else {
        ngx_http_dualcam_status_printf(o, "null");
    }
}


/* wall-clock times as UNIX seconds with milliseconds */

static void
ngx_http_dualcam_status_time(ngx_http_dualcam_status_out_t *o, uint64_t ms)
{
    ngx_http_dualcam_status_printf(o, "%uL.%03uL", ms / 1000, ms % 1000);
}


static void *
ngx_http_dualcam_status_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_dualcam_status_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_dualcam_status_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->zone = NULL;
     *     conf->store_url = { 0, NULL };
     */

    return conf;
}


static char *
ngx_http_dualcam_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_dualcam_status_loc_conf_t *dlcf = conf;

    ngx_str_t                 *value;
    ngx_uint_t                 i;
    ngx_http_core_loc_conf_t  *clcf;

    if (dlcf->zone != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "store_url=", 10) == 0) {

            /* the URL of the store's top: "<IMEI>/<name>" is appended */

            if (value[i].len == 10 || value[i].data[value[i].len - 1] != '/')
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"store_url\" must end with \"/\" "
                                   "in \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            dlcf->store_url.data = value[i].data + 10;
            dlcf->store_url.len = value[i].len - 10;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (value[1].len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone name \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    /* size 0: the zone is defined by "dualcam_zone" in the stream block */

    dlcf->zone = ngx_shared_memory_add(cf, &value[1], 0,
                                       &ngx_stream_dualcam_module);
    if (dlcf->zone == NULL) {
        return NGX_CONF_ERROR;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_dualcam_status_handler;

    return NGX_CONF_OK;
}
