
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * dualcam-sim --raw: send given bytes, print the reply in hex.  Blocking
 * I/O on purpose: one connection, and a test reads the output.
 */


#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <openssl/err.h>

#include "sim.h"


static unsigned char *
sim_raw_bytes(const char *arg, size_t *len)
{
    int             c, hi;
    FILE           *fp;
    size_t          n, cap;
    unsigned char  *buf;
    const char     *p;

    cap = strlen(arg) / 2 + 4096;
    buf = malloc(cap);
    if (buf == NULL) {
        return NULL;
    }

    if (arg[0] == '@') {
        fp = fopen(arg + 1, "rb");
        if (fp == NULL) {
            fprintf(stderr, "dualcam-sim: %s: %s\n", arg + 1,
                    strerror(errno));
            free(buf);
            return NULL;
        }

        n = 0;
        while ((c = getc(fp)) != EOF) {
            if (n == cap) {
                cap *= 2;
                buf = realloc(buf, cap);
                if (buf == NULL) {
                    fclose(fp);
                    return NULL;
                }
            }

            buf[n++] = (unsigned char) c;
        }

        fclose(fp);
        *len = n;
        return buf;
    }

    n = 0;
    hi = -1;

    for (p = arg; *p; p++) {
        c = *p;

        if (c >= '0' && c <= '9') {
            c -= '0';
        } else if (c >= 'a' && c <= 'f') {
            c -= 'a' - 10;
        } else if (c >= 'A' && c <= 'F') {
            c -= 'A' - 10;
        } else if (c == ' ' || c == ',' || c == ':' || c == '\n') {
            continue;
        } else {
            fprintf(stderr, "dualcam-sim: --send-hex: bad character '%c'\n",
                    c);
            free(buf);
            return NULL;
        }

        if (hi < 0) {
            hi = c;
        } else {
            buf[n++] = (unsigned char) (hi << 4 | c);
            hi = -1;
        }
    }

    if (hi >= 0) {
        fputs("dualcam-sim: --send-hex: odd number of digits\n", stderr);
        free(buf);
        return NULL;
    }

    *len = n;
    return buf;
}


int
sim_raw(sim_opts_t *o)
{
    int               fd, rc, wait, closed;
    SSL              *ssl;
    size_t            len, i, total;
    ssize_t           n;
    SSL_CTX          *ctx;
    struct pollfd     pfd;
    unsigned char    *out, buf[4096];
    struct addrinfo   hints, *ai;

    out = sim_raw_bytes(o->send_hex, &len);
    if (out == NULL) {
        return 2;
    }

    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;

    rc = getaddrinfo(o->host, o->port, &hints, &ai);
    if (rc != 0) {
        fprintf(stderr, "dualcam-sim: %s: %s\n", o->host, gai_strerror(rc));
        return 1;
    }

    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd == -1 || connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
        fprintf(stderr, "dualcam-sim: connect %s:%s: %s\n", o->host, o->port,
                strerror(errno));
        freeaddrinfo(ai);
        return 1;
    }

    freeaddrinfo(ai);

    ssl = NULL;
    ctx = NULL;

    if (o->tls) {
        ctx = sim_tls_ctx(o);
        ssl = ctx ? SSL_new(ctx) : NULL;

        if (ssl == NULL || SSL_set_fd(ssl, fd) != 1
            || SSL_connect(ssl) != 1)
        {
            fputs("dualcam-sim: TLS handshake failed\n", stderr);
            ERR_print_errors_fp(stderr);
            return 1;
        }
    }

    if (len) {
        n = ssl ? SSL_write(ssl, out, (int) len)
                : send(fd, out, len, MSG_NOSIGNAL);

        if (n != (ssize_t) len) {
            fprintf(stderr, "dualcam-sim: send failed: %s\n",
                    strerror(errno));
        }
    }

    free(out);

    /* the reply: until the server closes, or is silent for a while */
    wait = o->timeout > 0 ? (int) (o->timeout * 1000) : 2000;
    total = 0;
    closed = 0;

    for ( ;; ) {
        if (ssl == NULL || SSL_pending(ssl) == 0) {
            pfd.fd = fd;
            pfd.events = POLLIN;

            if (poll(&pfd, 1, wait) <= 0) {
                break;
            }
        }

        n = ssl ? SSL_read(ssl, buf, sizeof(buf))
                : recv(fd, buf, sizeof(buf), 0);

        if (n <= 0) {
            closed = 1;
            break;
        }

        for (i = 0; i < (size_t) n; i++) {
            printf("%s%02x", total + i ? " " : "", buf[i]);
        }

        total += (size_t) n;
    }

    if (total) {
        printf("\n");
    }

    fprintf(stderr, "dualcam-sim: %zu bytes received, connection %s\n",
            total, closed ? "closed by the server" : "still open");

    if (ssl != NULL) {
        SSL_free(ssl);
        SSL_CTX_free(ctx);
    }

    close(fd);

    return 0;
}
