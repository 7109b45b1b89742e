
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The delivery of event notifications (see ngx_stream_dualcam_notify.h):
 * the events of this worker's spool directory, to their receivers.
 *
 * A delivery is one HTTP/1.1 POST on its own connection (Connection:
 * close), made with nginx's own machinery as an upstream is:
 * ngx_event_connect_peer(), then ngx_ssl_create_connection() and
 * ngx_ssl_handshake() for https (the TLS session resumed from the last
 * one).  Only the status line of the answer is read: 2xx removes the
 * event, anything else (or nothing within dualcam_notify_timeout) is
 * retried after an exponential backoff with jitter, until the event is
 * older than dualcam_notify_max_age.
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


#define NGX_STREAM_DUALCAM_NOTIFY_HEADERS  1024   /* besides URI and Host */


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
