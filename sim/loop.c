
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * dualcam-sim: the event loop.  One epoll instance, every socket
 * edge-triggered for both directions; a device reads until EAGAIN, lets
 * its device core answer, then fills its 64 KiB buffer with as many DATA
 * frames as the buffer (and its token bucket) allow and writes it out.
 * Timers (rate limits, reconnect delays) are a plain list scanned when
 * the earliest one is due.
 */


#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "sim.h"


#define SIM_AGAIN   -2


static void sim_timer_add(sim_t *s, sim_dev_t *d, double wake);
static void sim_timers(sim_t *s, double now);
static void sim_start_more(sim_t *s);
static void sim_connect(sim_t *s, sim_dev_t *d);
static void sim_event(sim_t *s, sim_dev_t *d);
static void sim_established(sim_t *s, sim_dev_t *d);
static void sim_session(sim_t *s, sim_dev_t *d);
static void sim_read(sim_t *s, sim_dev_t *d);
static int sim_process(sim_t *s, sim_dev_t *d);
static void sim_action(sim_t *s, sim_dev_t *d, dualcam_device_action_t *a);
static void sim_pump(sim_t *s, sim_dev_t *d);
static int sim_flush(sim_t *s, sim_dev_t *d);
static int sim_append(sim_t *s, sim_dev_t *d, const unsigned char *p,
    size_t n);
static void sim_close(sim_t *s, sim_dev_t *d);
static void sim_lost(sim_t *s, sim_dev_t *d, const char *why);
static void sim_retry(sim_t *s, sim_dev_t *d, unsigned delay);
static void sim_failed(sim_t *s, sim_dev_t *d, sim_err_e err);
static void sim_finish(sim_t *s, sim_dev_t *d);
static uint32_t sim_pending(sim_t *s, sim_dev_t *d);


double
sim_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}


static int
sim_get(void *ctx, unsigned file, uint64_t offset, unsigned char *dst,
    size_t n)
{
    sim_dev_t  *d;
    sim_t      *s;

    d = ctx;
    s = d->sim;

    sim_content(s->opts, d->imei, d->map[file], offset, dst, n);

    return 0;
}


static int
sim_corrupt(void *ctx, unsigned file, uint32_t packet)
{
    sim_dev_t  *d;
    sim_t      *s;

    (void) file;
    (void) packet;

    d = ctx;
    s = d->sim;

    if (sim_rand01(&s->rng) < s->opts->crc_error_rate) {
        s->stats.crc_errors++;
        return 1;
    }

    return 0;
}


int
sim_run(sim_t *s)
{
    int                  i, n, ms;
    double               now, deadline;
    unsigned             k;
    sim_dev_t           *d;
    struct epoll_event   events[1024];

    s->ep = epoll_create1(EPOLL_CLOEXEC);
    if (s->ep == -1) {
        perror("dualcam-sim: epoll_create1");
        return -1;
    }

    /*
     * A rate-limited device never has more than its burst to write, so
     * thousands of slow devices need no 64 KiB buffer each.
     */
    s->out_size = SIM_OUT_SIZE;

    if (s->opts->rate && s->opts->rate / 10 + 2 * DUALCAM_DATA_FRAME_MAX
                         < SIM_OUT_SIZE)
    {
        s->out_size = s->opts->rate / 10 + 2 * DUALCAM_DATA_FRAME_MAX;
    }

    s->t0 = sim_now();
    deadline = s->opts->timeout > 0 ? s->t0 + s->opts->timeout * 1000 : 0;

    sim_start_more(s);

    while (s->finished < s->opts->devices) {
        now = sim_now();

        if (deadline && now >= deadline) {
            break;
        }

        ms = -1;

        if (s->timers != NULL) {
            ms = s->next_wake > now ? (int) (s->next_wake - now) + 1 : 0;
        }

        if (deadline && (ms < 0 || ms > (int) (deadline - now) + 1)) {
            ms = (int) (deadline - now) + 1;
        }

        n = epoll_wait(s->ep, events, 1024, ms);

        if (n == -1 && errno != EINTR) {
            perror("dualcam-sim: epoll_wait");
            return -1;
        }

        for (i = 0; i < n; i++) {
            sim_event(s, events[i].data.ptr);
        }

        if (s->timers != NULL) {
            now = sim_now();

            if (now >= s->next_wake) {
                sim_timers(s, now);
            }
        }

        sim_start_more(s);
    }

    s->stats.wall = (sim_now() - s->t0) / 1000;

    /* the deadline passed: whoever is not done timed out */
    for (k = 0; k < s->opts->devices; k++) {
        d = &s->devs[k];

        if (d->state != SIM_FINISHED) {
            s->stats.err[SIM_ERR_TIMEOUT]++;
            sim_close(s, d);
            sim_finish(s, d);
        }
    }

    close(s->ep);

    return 0;
}


static void
sim_timer_add(sim_t *s, sim_dev_t *d, double wake)
{
    d->wake = wake;

    if (!d->on_timer) {
        d->on_timer = 1;
        d->timer_next = s->timers;
        s->timers = d;
    }

    if (s->timers == d && d->timer_next == NULL) {
        s->next_wake = wake;

    } else if (wake < s->next_wake) {
        s->next_wake = wake;
    }
}


static void
sim_timers(sim_t *s, double now)
{
    sim_dev_t  *d, *next, *due;

    /* detach the list first: a timer that fires may arm itself again */
    due = NULL;
    d = s->timers;
    s->timers = NULL;
    s->next_wake = 0;

    for ( /* void */ ; d != NULL; d = next) {
        next = d->timer_next;

        if (d->wake <= now) {
            d->timer_next = due;
            due = d;
            continue;
        }

        d->timer_next = s->timers;
        s->timers = d;

        if (s->next_wake == 0 || d->wake < s->next_wake) {
            s->next_wake = d->wake;
        }
    }

    for (d = due; d != NULL; d = next) {
        next = d->timer_next;
        d->on_timer = 0;
        d->timer_next = NULL;
        d->wake = 0;

        if (d->state == SIM_WAIT) {
            sim_connect(s, d);

        } else if (d->state == SIM_ACTIVE) {
            sim_pump(s, d);
        }
    }
}


static void
sim_start_more(sim_t *s)
{
    while (s->connecting < s->opts->concurrency
           && s->next_idle < s->opts->devices)
    {
        sim_connect(s, &s->devs[s->next_idle++]);
    }
}


static void
sim_connect(sim_t *s, sim_dev_t *d)
{
    int                  fd, one, rc;
    struct addrinfo     *ai;
    struct epoll_event   ev;

    ai = s->addr;

    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                0);
    if (fd == -1) {
        if (s->opts->verbose) {
            fprintf(stderr, "imei=%llu socket: %s\n",
                    (unsigned long long) d->imei, strerror(errno));
        }

        sim_failed(s, d, SIM_ERR_CONNECT);
        return;
    }

    /* control frames are small and each one waits for an answer */
    one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    if (s->opts->sndbuf) {
        /* before connect(): a fixed buffer is not autotuned */
        one = (int) s->opts->sndbuf;

        if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &one, sizeof(one)) == -1) {
            perror("dualcam-sim: setsockopt(SO_SNDBUF)");
        }
    }

    d->fd = fd;
    d->state = SIM_CONNECTING;
    s->connecting++;

    ev.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP;
    ev.data.ptr = d;

    if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
        perror("dualcam-sim: epoll_ctl");
        sim_failed(s, d, SIM_ERR_CONNECT);
        return;
    }

    rc = connect(fd, ai->ai_addr, ai->ai_addrlen);

    if (rc == -1 && errno != EINPROGRESS) {
        if (s->opts->verbose) {
            fprintf(stderr, "imei=%llu connect: %s\n",
                    (unsigned long long) d->imei, strerror(errno));
        }

        sim_failed(s, d, SIM_ERR_CONNECT);
    }

    /* connected or not, the first EPOLLOUT edge tells */
}


static void
sim_event(sim_t *s, sim_dev_t *d)
{
    int        err, rc;
    socklen_t  len;

    switch (d->state) {

    case SIM_CONNECTING:
        err = 0;
        len = sizeof(err);

        if (getsockopt(d->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1) {
            err = errno;
        }

        if (err == EINPROGRESS || err == EALREADY) {
            return;
        }

        if (err != 0) {
            if (s->opts->verbose) {
                fprintf(stderr, "imei=%llu connect: %s\n",
                        (unsigned long long) d->imei, strerror(err));
            }

            sim_failed(s, d, SIM_ERR_CONNECT);
            return;
        }

        s->stats.connections++;

        if (!s->opts->tls) {
            sim_established(s, d);
            return;
        }

        if (sim_tls_new(s, d) != 0) {
            sim_failed(s, d, SIM_ERR_TLS);
            return;
        }

        d->state = SIM_HANDSHAKE;

        /* fall through */

    case SIM_HANDSHAKE:
        rc = sim_tls_handshake(d);

        if (rc == 0) {
            return;
        }

        if (rc < 0) {
            if (s->opts->verbose) {
                fprintf(stderr, "imei=%llu TLS handshake failed\n",
                        (unsigned long long) d->imei);
            }

            sim_failed(s, d, SIM_ERR_TLS);
            return;
        }

        sim_established(s, d);
        return;

    case SIM_ACTIVE:
        sim_read(s, d);

        if (d->state == SIM_ACTIVE) {
            sim_pump(s, d);
        }

        return;

    default:
        return;
    }
}


static void
sim_established(sim_t *s, sim_dev_t *d)
{
    s->connecting--;
    d->state = SIM_ACTIVE;
    d->t_tokens = sim_now();
    /* a small burst: one frame right away, like a modem's buffer */
    d->tokens = DUALCAM_DATA_FRAME_MAX;

    sim_session(s, d);
    sim_pump(s, d);
}


/* the device core for this connection holds only the files still due */

static void
sim_session(sim_t *s, sim_dev_t *d)
{
    unsigned                k, i, packets;
    sim_opts_t             *o;
    sim_file_t             *sf;
    dualcam_device_file_t  *f;

    o = s->opts;
    k = 0;

    memset(&d->conf, 0, sizeof(dualcam_device_conf_t));

    for (i = 0; i < o->nfiles; i++) {
        if (d->finished & (1u << i)) {
            continue;
        }

        sf = &o->files[i];
        f = &d->conf.files[k];

        f->kind = sf->kind;
        f->side = sf->side;
        f->path = sf->path;
        f->path_len = sf->path_len;
        f->size = sf->size;
        f->meta = s->meta[i];
        f->meta_len = s->meta_len[i];
        f->enhanced = o->enhanced;
        f->no_meta_answer = o->no_meta;
        f->crc_error_at = o->crc_error_at;
        f->stall_after = o->stall_after;
        f->status = o->status;
        f->status_on = o->status_on;

        /* a given drop happens once per file, then the upload goes on */
        if (o->drop_after && d->drops[i] == 0) {
            f->drop_after = o->drop_after;
        }

        packets = (unsigned) ((sf->size + DUALCAM_PACKET_SIZE - 1)
                              / DUALCAM_PACKET_SIZE);

        if (o->drop_rate > 0 && d->drops[i] < SIM_DROPS_MAX && packets
            && sim_rand01(&s->rng) < o->drop_rate)
        {
            f->drop_after = 1 + (uint32_t) (sim_rand(&s->rng) % packets);
        }

        d->map[k++] = i;
    }

    d->conf.imei = d->imei;
    d->conf.protocol = o->protocol;
    d->conf.nfiles = k;
    d->conf.get = sim_get;
    d->conf.corrupt = o->crc_error_rate > 0 ? sim_corrupt : NULL;
    d->conf.ctx = d;

    d->in_len = 0;
    d->out_pos = 0;
    d->out_len = 0;
    d->stalled = 0;
    d->dropping = 0;

    dualcam_device_init(&d->dev, &d->conf);
}


static void
sim_read(sim_t *s, sim_dev_t *d)
{
    ssize_t  n;

    for ( ;; ) {
        if (d->in_len == SIM_IN_SIZE) {
            /* the device core never leaves this much unconsumed */
            s->stats.err[SIM_ERR_PROTOCOL]++;
            sim_close(s, d);
            sim_finish(s, d);
            return;
        }

        if (d->ssl != NULL) {
            n = sim_tls_read(d, d->in + d->in_len, SIM_IN_SIZE - d->in_len);

        } else {
            n = read(d->fd, d->in + d->in_len, SIM_IN_SIZE - d->in_len);

            if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                n = SIM_AGAIN;

            } else if (n == -1 && errno == EINTR) {
                continue;
            }
        }

        if (n == SIM_AGAIN) {
            return;
        }

        if (n <= 0) {
            sim_lost(s, d, n == 0 ? "closed" : d->ssl ? "TLS read failed"
                                               : strerror(errno));
            return;
        }

        d->in_len += (size_t) n;

        if (sim_process(s, d) != 0) {
            return;
        }
    }
}


/* runs the device core over what arrived; -1 when the device is gone */

static int
sim_process(sim_t *s, sim_dev_t *d)
{
    int                      rc;
    size_t                   pos, consumed;
    dualcam_device_action_t  a;

    pos = 0;

    for ( ;; ) {
        rc = dualcam_device_step(&d->dev, d->in + pos, d->in_len - pos,
                                 &consumed, &a);
        pos += consumed;

        if (rc == DUALCAM_AGAIN) {
            break;
        }

        sim_action(s, d, &a);

        if (d->state != SIM_ACTIVE) {
            return -1;
        }
    }

    if (pos) {
        memmove(d->in, d->in + pos, d->in_len - pos);
        d->in_len -= pos;
    }

    return 0;
}


static void
sim_action(sim_t *s, sim_dev_t *d, dualcam_device_action_t *a)
{
    unsigned     i, beyond;
    double       now;
    sim_file_t  *sf;

    i = a->file >= 0 ? d->map[a->file] : 0;
    sf = &s->opts->files[i];

    switch (a->type) {

    case DUALCAM_DEV_SEND:
        if (dualcam_get16(a->data) == DUALCAM_CMD_START) {
            i = d->map[d->dev.cur];

            if (!(d->started & (1u << i))) {
                d->started |= 1u << i;
                d->t_start[i] = sim_now();
            }
        }

        if (sim_append(s, d, a->data, a->len) != 0) {
            perror("dualcam-sim: malloc");
            exit(1);
        }

        return;

    case DUALCAM_DEV_RESUME:
        beyond = sf->kind == DUALCAM_KIND_PATH ? a->value > 0 : a->value > 1;
        s->stats.resumes += beyond;

        if (s->opts->log_resumes) {
            fprintf(stderr, "resume imei=%llu file=%s unit=%llu\n",
                    (unsigned long long) d->imei, sf->name,
                    (unsigned long long) a->value);
        }

        return;

    case DUALCAM_DEV_FILE_DONE:
        d->finished |= 1u << i;

        if (a->status != 0) {
            s->stats.err[SIM_ERR_STATUS]++;

        } else if (sf->size == 0) {
            s->stats.files_empty++;

        } else if (a->complete) {
            d->delivered |= 1u << i;
            s->stats.files_delivered++;
            s->stats.bytes_delivered += sf->size;

            now = sim_now();
            if (d->started & (1u << i)) {
                s->stats.times[s->stats.ntimes++] = now - d->t_start[i];
            }

        } else {
            s->stats.err[SIM_ERR_SKIPPED]++;
        }

        if (s->opts->verbose) {
            fprintf(stderr, "imei=%llu file=%s %s\n",
                    (unsigned long long) d->imei, sf->name,
                    a->status ? "answered with STATUS"
                    : a->complete ? "delivered" : "ended by the server");
        }

        return;

    case DUALCAM_DEV_CLOSED:
        if (sim_pending(s, d) && d->dev.inits == 1 && d->started == 0) {
            s->stats.err[SIM_ERR_REFUSED]++;
            sim_close(s, d);
            sim_finish(s, d);
            return;
        }

        sim_lost(s, d, "sent CLOSE");
        return;

    case DUALCAM_DEV_DROP:
        i = d->map[d->dev.cur];
        d->drops[i]++;
        d->dropping = 1;
        s->stats.drops++;

        if (s->opts->verbose) {
            fprintf(stderr, "imei=%llu file=%s drop after packet %u\n",
                    (unsigned long long) d->imei, s->opts->files[i].name,
                    (unsigned) (d->dev.packet - 1));
        }

        return;

    case DUALCAM_DEV_STALL:
        d->stalled = 1;
        s->stats.stalls++;
        return;

    case DUALCAM_DEV_ERROR:
        s->stats.err[SIM_ERR_PROTOCOL]++;
        sim_close(s, d);
        sim_finish(s, d);
        return;

    case DUALCAM_DEV_LOG:
        if (s->opts->verbose) {
            fprintf(stderr, "imei=%llu %s\n", (unsigned long long) d->imei,
                    a->msg);
        }

        return;
    }
}


static void
sim_pump(sim_t *s, sim_dev_t *d)
{
    int       rc, full;
    size_t    room, space, n;
    double    now;
    uint64_t  rate;

    rate = s->opts->rate;
    now = 0;

    for ( ;; ) {
        /* what fill queued (DROP, STALL) */
        if (sim_process(s, d) != 0) {
            return;
        }

        n = 0;
        full = 0;

        if (dualcam_device_streaming(&d->dev) && !d->dropping) {
            if (d->out_pos) {
                memmove(d->out, d->out + d->out_pos, d->out_len - d->out_pos);
                d->out_len -= d->out_pos;
                d->out_pos = 0;
            }

            if (d->out == NULL && sim_append(s, d, NULL, 0) != 0) {
                perror("dualcam-sim: malloc");
                exit(1);
            }

            space = d->out_len < s->out_size ? s->out_size - d->out_len : 0;
            room = space;

            /*
             * What an earlier partial write left takes the room of a
             * frame: nothing is added now, and once the flush below has
             * written it all, the socket has room and no EPOLLOUT edge
             * will come, so the loop must fill again itself.
             */
            full = space < DUALCAM_DATA_FRAME_MAX;

            if (rate) {
                now = sim_now();
                d->tokens += (now - d->t_tokens) * rate / 1000;
                d->t_tokens = now;

                /* a burst of 1/10 s at most, and never less than a frame */
                if (d->tokens > rate / 10 + DUALCAM_DATA_FRAME_MAX) {
                    d->tokens = rate / 10 + DUALCAM_DATA_FRAME_MAX;
                }

                if (room > d->tokens) {
                    room = (size_t) d->tokens;
                }
            }

            n = dualcam_device_fill(&d->dev, d->out + d->out_len, room);
            d->out_len += n;
            d->tokens -= n;

            if (n == 0 && rate && room < space) {
                /* out of tokens, not of buffer: wait for a frame's worth */
                sim_timer_add(s, d, now + (DUALCAM_DATA_FRAME_MAX - d->tokens)
                                          * 1000 / rate);
            }
        }

        rc = sim_flush(s, d);

        if (rc < 0) {
            return;
        }

        if (rc == 0) {
            /* the socket is full: the EPOLLOUT edge brings us back */
            return;
        }

        if (d->dropping) {
            /* everything up to the drop point went out: now vanish */
            sim_close(s, d);
            sim_retry(s, d, s->opts->reconnect_delay);
            return;
        }

        if (n == 0 && !full) {
            /* waiting for the server, or for tokens (timer armed) */
            return;
        }
    }
}


static int
sim_append(sim_t *s, sim_dev_t *d, const unsigned char *p, size_t n)
{
    size_t          cap;
    unsigned char  *out;

    if (d->out_len + n > d->out_cap) {
        if (d->out_pos) {
            memmove(d->out, d->out + d->out_pos, d->out_len - d->out_pos);
            d->out_len -= d->out_pos;
            d->out_pos = 0;
        }

        if (d->out_len + n > d->out_cap || d->out == NULL) {
            cap = d->out_cap ? d->out_cap * 2 : s->out_size + SIM_OUT_SLACK;

            while (cap < d->out_len + n) {
                cap *= 2;
            }

            out = realloc(d->out, cap);
            if (out == NULL) {
                return -1;
            }

            d->out = out;
            d->out_cap = cap;
        }
    }

    if (n) {
        memcpy(d->out + d->out_len, p, n);
        d->out_len += n;
    }

    return 0;
}


/* 1: all written, 0: the socket is full, -1: the connection is gone */

static int
sim_flush(sim_t *s, sim_dev_t *d)
{
    ssize_t  n;

    while (d->out_pos < d->out_len) {
        if (d->ssl != NULL) {
            n = sim_tls_write(d, d->out + d->out_pos, d->out_len - d->out_pos);

        } else {
            n = send(d->fd, d->out + d->out_pos, d->out_len - d->out_pos,
                     MSG_NOSIGNAL);

            if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                n = SIM_AGAIN;

            } else if (n == -1 && errno == EINTR) {
                continue;
            }
        }

        if (n == SIM_AGAIN) {
            return 0;
        }

        if (n < 0) {
            sim_lost(s, d, d->ssl ? "TLS write failed" : strerror(errno));
            return -1;
        }

        d->out_pos += (size_t) n;
        s->stats.wire_bytes += (uint64_t) n;
    }

    d->out_pos = 0;
    d->out_len = 0;

    return 1;
}


static uint32_t
sim_pending(sim_t *s, sim_dev_t *d)
{
    uint32_t  all;

    all = s->opts->nfiles == 32 ? 0xffffffffu
                                : (1u << s->opts->nfiles) - 1;

    return all & ~d->finished;
}


static void
sim_close(sim_t *s, sim_dev_t *d)
{
    if (d->state == SIM_CONNECTING || d->state == SIM_HANDSHAKE) {
        s->connecting--;
    }

    if (d->state == SIM_ACTIVE) {
        s->stats.bytes_sent += d->dev.bytes;
    }

    sim_tls_free(d);

    if (d->fd != -1) {
        close(d->fd);
        d->fd = -1;
    }

    d->in_len = 0;
    d->out_pos = 0;
    d->out_len = 0;

    /* between connections the device is not active */
    d->state = SIM_IDLE;
}


/* the connection ended from the server's side, or broke */

static void
sim_lost(sim_t *s, sim_dev_t *d, const char *why)
{
    unsigned  stalled;

    stalled = d->stalled;

    if (d->dropping) {
        sim_close(s, d);
        sim_retry(s, d, s->opts->reconnect_delay);
        return;
    }

    sim_close(s, d);

    if (sim_pending(s, d) == 0) {
        sim_finish(s, d);
        return;
    }

    if (stalled) {
        /* what a stall test wants: the server gave up on us */
        s->stats.stalls_closed++;
        sim_finish(s, d);
        return;
    }

    if (d->reconnects_left) {
        d->reconnects_left--;
        sim_retry(s, d, s->opts->reconnect_delay);
        return;
    }

    s->stats.err[SIM_ERR_CLOSED]++;

    if (s->opts->verbose) {
        fprintf(stderr, "imei=%llu the server ended the connection with "
                "files pending: %s\n", (unsigned long long) d->imei, why);
    }

    sim_finish(s, d);
}


/* a connect or a handshake failed: try again while reconnects are left */

static void
sim_failed(sim_t *s, sim_dev_t *d, sim_err_e err)
{
    sim_close(s, d);

    if (d->reconnects_left) {
        d->reconnects_left--;
        sim_retry(s, d, s->opts->reconnect_delay);
        return;
    }

    s->stats.err[err]++;
    sim_finish(s, d);
}


static void
sim_retry(sim_t *s, sim_dev_t *d, unsigned delay)
{
    d->state = SIM_WAIT;
    sim_timer_add(s, d, sim_now() + delay);
}


static void
sim_finish(sim_t *s, sim_dev_t *d)
{
    if (d->state == SIM_FINISHED) {
        return;
    }

    d->state = SIM_FINISHED;
    s->finished++;

    free(d->out);
    d->out = NULL;
    d->out_cap = 0;
}
