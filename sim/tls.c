
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * dualcam-sim: TLS through OpenSSL on non-blocking sockets.  The event
 * loop registers every socket edge-triggered for both directions, so a
 * WANT_READ or WANT_WRITE needs nothing more than a retry on the next
 * event.
 */


#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "sim.h"


SSL_CTX *
sim_tls_ctx(const sim_opts_t *o)
{
    SSL_CTX  *ctx;

    ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        ERR_print_errors_fp(stderr);
        return NULL;
    }

    /* a 64 KiB buffer may be accepted in part, and retried from a
       different address after the unsent rest was moved to the front */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE
                          | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
                          | SSL_MODE_RELEASE_BUFFERS);

    if (o->tls_ca != NULL) {
        if (SSL_CTX_load_verify_locations(ctx, o->tls_ca, NULL) != 1) {
            fprintf(stderr, "dualcam-sim: --tls-ca %s: cannot load\n",
                    o->tls_ca);
            ERR_print_errors_fp(stderr);
            SSL_CTX_free(ctx);
            return NULL;
        }

        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);

    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }

    return ctx;
}


int
sim_tls_new(sim_t *s, sim_dev_t *d)
{
    unsigned char  addr[16];
    const char    *host;

    d->ssl = SSL_new(s->ssl_ctx);
    if (d->ssl == NULL || SSL_set_fd(d->ssl, d->fd) != 1) {
        return -1;
    }

    host = s->opts->host;

    /* SNI and the name check only for names, not for addresses */
    if (inet_pton(AF_INET, host, addr) != 1
        && inet_pton(AF_INET6, host, addr) != 1)
    {
        SSL_set_tlsext_host_name(d->ssl, host);

        if (s->opts->tls_ca != NULL) {
            SSL_set1_host(d->ssl, host);
        }
    }

    SSL_set_connect_state(d->ssl);

    return 0;
}


/* 1: done, 0: again, -1: failed */

int
sim_tls_handshake(sim_dev_t *d)
{
    int  rc, err;

    ERR_clear_error();
    rc = SSL_do_handshake(d->ssl);

    if (rc == 1) {
        return 1;
    }

    err = SSL_get_error(d->ssl, rc);

    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        return 0;
    }

    return -1;
}


/* > 0: bytes, 0: end of stream, -1: error, -2: again */

ssize_t
sim_tls_read(sim_dev_t *d, unsigned char *buf, size_t len)
{
    int  rc, err;

    ERR_clear_error();
    rc = SSL_read(d->ssl, buf, (int) len);

    if (rc > 0) {
        return rc;
    }

    err = SSL_get_error(d->ssl, rc);

    switch (err) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        return -2;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SYSCALL:
        /* a peer that closed without close_notify: an end all the same */
        return errno == 0 || errno == ECONNRESET ? 0 : -1;
    default:
        return -1;
    }
}


ssize_t
sim_tls_write(sim_dev_t *d, const unsigned char *buf, size_t len)
{
    int  rc, err;

    ERR_clear_error();
    rc = SSL_write(d->ssl, buf, (int) len);

    if (rc > 0) {
        return rc;
    }

    err = SSL_get_error(d->ssl, rc);

    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        return -2;
    }

    return -1;
}


void
sim_tls_free(sim_dev_t *d)
{
    if (d->ssl != NULL) {
        /* no close_notify: the loop closes the socket at once anyway */
        SSL_free(d->ssl);
        d->ssl = NULL;
    }
}
