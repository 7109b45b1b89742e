
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The raw sink: the baseline the benchmarks compare the module against.
 * A minimal epoll server that accepts TCP connections and only write(2)s
 * what it reads to one file per connection, nothing else: no parsing, no
 * CRC, no answer.  On EOF it closes the file (fsync(2) first with
 * --fsync) and then the socket, so a sender that waits for the close
 * measures the same end-to-end time as a device that waits for 00 09.
 *
 *   sink --listen 127.0.0.1:0 --dir DIR [--fsync] [--exit-after N]
 *
 * Prints "port N" when listening, and on exit (after --exit-after
 * connections have closed, or on SIGTERM/SIGINT) one JSON line with the
 * connections, bytes, busy wall time and the process's CPU time.
 */


#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


#define SINK_BUF_SIZE  65536
#define SINK_EVENTS    256


typedef struct {
    int                 file;       /* -1: slot unused */
    unsigned long long  bytes;
} sink_conn_t;


typedef struct {
    int                 lfd;
    int                 ep;
    const char         *dir;
    int                 fsync;
    unsigned long       exit_after;

    sink_conn_t        *conns;
    int                 nconns;

    unsigned long       accepted;
    unsigned long       closed;
    unsigned long       errors;
    unsigned long long  bytes;
    double              first;      /* first accept, 0: none yet */
    double              last;       /* last close */

    unsigned char       buf[SINK_BUF_SIZE];
} sink_t;


static double sink_now(void);
static void sink_signal(int signo);
static int sink_listen(sink_t *s, const char *addr);
static void sink_accept(sink_t *s);
static void sink_read(sink_t *s, int fd);
static void sink_close(sink_t *s, int fd);
static void sink_report(sink_t *s);
static void sink_usage(void);


static volatile sig_atomic_t  sink_quit;


int
main(int argc, char **argv)
{
    int                 i, n, fd;
    sink_t             *s;
    const char         *addr;
    struct rlimit       rl;
    struct sigaction    sa;
    struct epoll_event  ev, events[SINK_EVENTS];

    s = calloc(1, sizeof(sink_t));
    if (s == NULL) {
        perror("calloc");
        return 1;
    }

    addr = "127.0.0.1:0";
    s->dir = ".";

    for (i = 1; i < argc; i++) {

        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            addr = argv[++i];

        } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            s->dir = argv[++i];

        } else if (strcmp(argv[i], "--fsync") == 0) {
            s->fsync = 1;

        } else if (strcmp(argv[i], "--exit-after") == 0 && i + 1 < argc) {
            s->exit_after = strtoul(argv[++i], NULL, 10);

        } else {
            sink_usage();
            return 2;
        }
    }

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        perror("getrlimit");
        return 1;
    }

    s->nconns = (int) rl.rlim_cur;
    s->conns = calloc((size_t) s->nconns, sizeof(sink_conn_t));
    if (s->conns == NULL) {
        perror("calloc");
        return 1;
    }

    for (i = 0; i < s->nconns; i++) {
        s->conns[i].file = -1;
    }

    memset(&sa, 0, sizeof(struct sigaction));
    sa.sa_handler = sink_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    s->ep = epoll_create1(EPOLL_CLOEXEC);
    if (s->ep == -1) {
        perror("epoll_create1");
        return 1;
    }

    if (sink_listen(s, addr) != 0) {
        return 1;
    }

    ev.events = EPOLLIN;
    ev.data.fd = s->lfd;

    if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->lfd, &ev) != 0) {
        perror("epoll_ctl");
        return 1;
    }

    while (!sink_quit) {

        if (s->exit_after && s->closed >= s->exit_after) {
            break;
        }

        n = epoll_wait(s->ep, events, SINK_EVENTS, 1000);

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }

            perror("epoll_wait");
            break;
        }

        for (i = 0; i < n; i++) {
            fd = events[i].data.fd;

            if (fd == s->lfd) {
                sink_accept(s);

            } else {
                sink_read(s, fd);
            }
        }
    }

    sink_report(s);

    return 0;
}


static double
sink_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static void
sink_signal(int signo)
{
    (void) signo;

    sink_quit = 1;
}


static int
sink_listen(sink_t *s, const char *addr)
{
    int                 one;
    char                host[64], *colon;
    socklen_t           len;
    struct sockaddr_in  sin;

    if (strlen(addr) >= sizeof(host)) {
        fprintf(stderr, "sink: bad address \"%s\"\n", addr);
        return -1;
    }

    strcpy(host, addr);

    colon = strrchr(host, ':');
    if (colon == NULL) {
        fprintf(stderr, "sink: bad address \"%s\"\n", addr);
        return -1;
    }

    *colon = '\0';

    memset(&sin, 0, sizeof(struct sockaddr_in));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((unsigned short) atoi(colon + 1));

    if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
        fprintf(stderr, "sink: bad address \"%s\"\n", addr);
        return -1;
    }

    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->lfd == -1) {
        perror("socket");
        return -1;
    }

    one = 1;
    setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(int));

    if (bind(s->lfd, (struct sockaddr *) &sin, sizeof(sin)) != 0) {
        perror("bind");
        return -1;
    }

    if (listen(s->lfd, 4096) != 0) {
        perror("listen");
        return -1;
    }

    len = sizeof(sin);

    if (getsockname(s->lfd, (struct sockaddr *) &sin, &len) != 0) {
        perror("getsockname");
        return -1;
    }

    printf("port %d\n", ntohs(sin.sin_port));
    fflush(stdout);

    return 0;
}


static void
sink_accept(sink_t *s)
{
    int                 fd, file;
    char                name[4096];
    struct epoll_event  ev;

    for ( ;; ) {
        fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd == -1) {
            if (errno != EAGAIN && errno != EINTR) {
                perror("accept4");
                s->errors++;
            }

            return;
        }

        if (fd >= s->nconns) {
            s->errors++;
            close(fd);
            continue;
        }

        snprintf(name, sizeof(name), "%s/conn-%lu.bin", s->dir, s->accepted);

        file = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (file == -1) {
            perror(name);
            s->errors++;
            close(fd);
            continue;
        }

        if (s->first == 0) {
            s->first = sink_now();
        }

        s->accepted++;
        s->conns[fd].file = file;
        s->conns[fd].bytes = 0;

        ev.events = EPOLLIN;
        ev.data.fd = fd;

        if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            perror("epoll_ctl");
            sink_close(s, fd);
        }
    }
}


static void
sink_read(sink_t *s, int fd)
{
    ssize_t       n, w, off;
    sink_conn_t  *c;

    c = &s->conns[fd];

    for ( ;; ) {
        n = read(fd, s->buf, SINK_BUF_SIZE);

        if (n == -1) {
            if (errno == EAGAIN || errno == EINTR) {
                return;
            }

            s->errors++;
            sink_close(s, fd);
            return;
        }

        if (n == 0) {
            sink_close(s, fd);
            return;
        }

        for (off = 0; off < n; off += w) {
            w = write(c->file, s->buf + off, (size_t) (n - off));

            if (w == -1) {
                if (errno == EINTR) {
                    w = 0;
                    continue;
                }

                perror("write");
                s->errors++;
                sink_close(s, fd);
                return;
            }
        }

        c->bytes += (unsigned long long) n;
        s->bytes += (unsigned long long) n;

        if (n < SINK_BUF_SIZE) {
            /* most likely drained: let epoll say when there is more */
            return;
        }
    }
}


static void
sink_close(sink_t *s, int fd)
{
    sink_conn_t  *c;

    c = &s->conns[fd];

    if (c->file != -1) {
        if (s->fsync && fsync(c->file) != 0) {
            perror("fsync");
            s->errors++;
        }

        close(c->file);
        c->file = -1;
    }

    close(fd);

    s->closed++;
    s->last = sink_now();
}


static void
sink_report(sink_t *s)
{
    double         busy;
    struct rusage  ru;

    getrusage(RUSAGE_SELF, &ru);

    busy = (s->first != 0 && s->last > s->first) ? s->last - s->first : 0;

    printf("{\"connections\": %lu, \"closed\": %lu, \"errors\": %lu, "
           "\"bytes\": %llu, \"busy_s\": %.6f, "
           "\"utime_s\": %.6f, \"stime_s\": %.6f, \"maxrss_kib\": %ld}\n",
           s->accepted, s->closed, s->errors, s->bytes, busy,
           ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
           ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
           ru.ru_maxrss);
    fflush(stdout);
}


static void
sink_usage(void)
{
    fprintf(stderr,
            "usage: sink [--listen ADDR:PORT] [--dir DIR] [--fsync] "
            "[--exit-after N]\n");
}
