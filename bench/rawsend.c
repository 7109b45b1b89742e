
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The raw sender: feeds the raw sink (sink.c) the bytes a device would
 * put on the wire for a file of --size bytes (DATA frames of 1024 file
 * bytes, 1030 bytes each), in 64 KiB write(2)s like dualcam-sim, over
 * --conns connections at once.  After the last byte it shuts down its
 * side and waits for the sink to close, so the time covers the bytes
 * being in the sink's files.
 *
 *   rawsend --host 127.0.0.1 --port N --conns N --size BYTES
 *
 * Prints one JSON line: connections, payload and wire bytes, seconds,
 * and the sender's CPU time.
 */


#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>


#define RAW_CHUNK      65536
#define RAW_FRAME      1030
#define RAW_PACKET     1024
#define RAW_EVENTS     256


typedef struct {
    int                 fd;
    unsigned long long  sent;
    int                 done;       /* 1: shut down, 2: sink closed */
} raw_conn_t;


static double raw_now(void);
static int raw_connect(struct sockaddr_in *sin);
static void raw_fill(unsigned char *buf, size_t size);
static int raw_send(raw_conn_t *c, int ep, const unsigned char *buf,
    unsigned long long wire);


int
main(int argc, char **argv)
{
    int                  i, n, ep, conns, left, errors;
    char                 drain[4096];
    ssize_t              r;
    double               start, end;
    const char          *host;
    raw_conn_t          *c, *all;
    unsigned char       *buf;
    struct rusage        ru;
    struct sockaddr_in   sin;
    unsigned long long   size, wire;
    struct epoll_event   ev, events[RAW_EVENTS];

    host = "127.0.0.1";
    conns = 1;
    size = 64ULL << 20;
    memset(&sin, 0, sizeof(struct sockaddr_in));
    sin.sin_family = AF_INET;

    for (i = 1; i < argc; i++) {

        if (strcmp(argv[i], "--host") == 0 && i + 1 < argc) {
            host = argv[++i];

        } else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            sin.sin_port = htons((unsigned short) atoi(argv[++i]));

        } else if (strcmp(argv[i], "--conns") == 0 && i + 1 < argc) {
            conns = atoi(argv[++i]);

        } else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) {
            size = strtoull(argv[++i], NULL, 10);

        } else {
            fprintf(stderr, "usage: rawsend --host H --port N --conns N "
                            "--size BYTES\n");
            return 2;
        }
    }

    if (inet_pton(AF_INET, host, &sin.sin_addr) != 1 || conns < 1) {
        fprintf(stderr, "rawsend: bad host or --conns\n");
        return 2;
    }

    /* the bytes on the wire: a 6-byte header and CRC per 1024 file bytes */
    wire = size + (size + RAW_PACKET - 1) / RAW_PACKET * (RAW_FRAME
                                                          - RAW_PACKET);

    buf = malloc(RAW_CHUNK);
    all = calloc((size_t) conns, sizeof(raw_conn_t));
    if (buf == NULL || all == NULL) {
        perror("malloc");
        return 1;
    }

    raw_fill(buf, RAW_CHUNK);

    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep == -1) {
        perror("epoll_create1");
        return 1;
    }

    start = raw_now();
    errors = 0;

    for (i = 0; i < conns; i++) {
        c = &all[i];

        c->fd = raw_connect(&sin);
        if (c->fd == -1) {
            return 1;
        }

        ev.events = EPOLLOUT | EPOLLIN;
        ev.data.ptr = c;

        if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
            perror("epoll_ctl");
            return 1;
        }
    }

    left = conns;

    while (left > 0) {
        n = epoll_wait(ep, events, RAW_EVENTS, 10000);

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }

            perror("epoll_wait");
            return 1;
        }

        if (n == 0) {
            fprintf(stderr, "rawsend: no progress for 10 s\n");
            return 1;
        }

        for (i = 0; i < n; i++) {
            c = events[i].data.ptr;

            if (c->done == 0 && (events[i].events & EPOLLOUT)) {
                if (raw_send(c, ep, buf, wire) != 0) {
                    errors++;
                    c->done = 2;
                    close(c->fd);
                    left--;
                    continue;
                }
            }

            if (c->done == 1
                && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
            {
                r = read(c->fd, drain, sizeof(drain));

                if (r > 0 || (r == -1 && errno == EAGAIN)) {
                    continue;
                }

                c->done = 2;
                close(c->fd);
                left--;
            }
        }
    }

    end = raw_now();

    getrusage(RUSAGE_SELF, &ru);

    printf("{\"connections\": %d, \"errors\": %d, \"payload_bytes\": %llu, "
           "\"wire_bytes\": %llu, \"seconds\": %.6f, "
           "\"utime_s\": %.6f, \"stime_s\": %.6f}\n",
           conns, errors, size * (unsigned long long) conns,
           wire * (unsigned long long) conns, end - start,
           ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
           ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);

    return errors ? 1 : 0;
}


static double
raw_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static int
raw_connect(struct sockaddr_in *sin)
{
    int  fd;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        perror("socket");
        return -1;
    }

    if (connect(fd, (struct sockaddr *) sin, sizeof(struct sockaddr_in))
        != 0 && errno != EINPROGRESS)
    {
        perror("connect");
        close(fd);
        return -1;
    }

    return fd;
}


/* what DATA frames look like: header, 1024 pseudo-random bytes, CRC */

static void
raw_fill(unsigned char *buf, size_t size)
{
    size_t    i;
    uint32_t  x;

    x = 2463534242u;

    for (i = 0; i < size; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;

        switch (i % RAW_FRAME) {
        case 0:
        case 2:
            buf[i] = 0x00;
            break;
        case 1:
            buf[i] = 0x04;
            break;
        case 3:
            buf[i] = 0x02;
            break;
        default:
            buf[i] = (unsigned char) x;
        }
    }
}


static int
raw_send(raw_conn_t *c, int ep, const unsigned char *buf,
    unsigned long long wire)
{
    size_t              len;
    ssize_t             n;
    struct epoll_event  ev;

    while (c->sent < wire) {
        len = RAW_CHUNK;
        if (wire - c->sent < len) {
            len = (size_t) (wire - c->sent);
        }

        n = write(c->fd, buf, len);

        if (n == -1) {
            if (errno == EAGAIN || errno == EINTR) {
                return 0;
            }

            perror("write");
            return -1;
        }

        c->sent += (unsigned long long) n;
    }

    shutdown(c->fd, SHUT_WR);
    c->done = 1;

    ev.events = EPOLLIN;
    ev.data.ptr = c;

    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
        perror("epoll_ctl");
        return -1;
    }

    return 0;
}
