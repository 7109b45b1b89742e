
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The benchmark's own sender, in two modes, both over --conns connections
 * at once and both writing 64 KiB at a time like dualcam-sim:
 *
 * raw (default): feeds the raw sink (sink.c) the bytes a device puts on
 *   the wire for a file of --size bytes (DATA frames of 1024 file bytes,
 *   1030 bytes each).  After the last byte it shuts down its side and
 *   waits for the sink to close, so the time covers the bytes being in
 *   the sink's files.
 *
 * --dualcam: a minimal device: init (front video pending, or with
 *   --photo the front photo), METADATA v1
 *   when asked, START, SYNC as RESUME asks, the DATA frames, init without
 *   flags after 00 09, and it closes on CLOSE.  The running CRC is
 *   computed per frame with the core's dualcam_crc16().  It exists
 *   because dualcam-sim computes every content byte per send
 *   (sim_content() is ~75% of its CPU), which caps one connection below
 *   what loopback and the server can do.  --verify-store DIR checks the
 *   stored files byte for byte afterwards.
 *
 * The content is distinct per connection and offset, yet costs no more
 * than a memcpy: a 64 KiB pseudo-random block made once, read at an
 * offset that depends on the IMEI, with the IMEI and the offset XORed
 * into 16 bytes of every 1024-byte packet (raw mode: of every 64 KiB of
 * the stream).  A file stored under another device, shifted by any
 * number of bytes, cut, or with two packets swapped does not verify.
 * --verify-sink DIR checks the raw sink's files the same way: every
 * connection's stream in exactly one file, byte for byte.
 *
 *   rawsend --port N [--conns N] [--size BYTES] [--dualcam [--photo]]
 *           [--imei-base N] [--verify-store DIR] [--verify-sink DIR]
 *           [--verify-only]
 *
 * --verify-only: no connection, only the check of what an earlier run
 * with the same --conns, --size, --dualcam and --imei-base left.
 *
 * Prints one JSON line: connections, payload and wire bytes, seconds
 * (first connect to the last close), the sender's CPU time and, with
 * --verify-store, the files found intact.
 */


#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dualcam.h"


#define RAW_CHUNK      65536
#define RAW_FRAME      (DUALCAM_HEADER_LEN + DUALCAM_PACKET_SIZE + 2)
#define RAW_EVENTS     256
#define RAW_IN_SIZE    1024
#define RAW_STAMP_AT   4           /* after an H.265 start code */
#define RAW_STAMP_LEN  16          /* the IMEI and the offset */


typedef struct {
    int                 fd;
    int                 done;       /* 1: all sent, 2: closed */
    uint64_t            imei;

    /* raw mode: bytes sent */
    unsigned long long  sent;

    /* dualcam mode */
    int                 streaming;  /* DATA after SYNC */
    int                 file_done;  /* 00 09 seen */
    uint32_t            next;       /* next packet, 0-based */
    uint16_t            crc;
    size_t              in_len;
    unsigned char       in[RAW_IN_SIZE];
    size_t              out_pos;
    size_t              out_len;
    unsigned char      *out;
} raw_conn_t;


typedef struct {
    int                 ep;
    int                 dualcam;
    unsigned long long  size;
    unsigned long long  wire;
    uint32_t            packets;
    unsigned char      *block;      /* RAW_CHUNK bytes, and the first
                                       packet's again after them */
    unsigned char       orig[RAW_STAMP_LEN];    /* raw: unstamped bytes */
    int                 errors;

    /* dualcam: what the device offers */
    unsigned            flag;       /* DUALCAM_FLAG_VIDEO_FRONT, ... */
    const char         *ext;        /* how the store names it */
    size_t              ext_len;
    const unsigned char  *head;     /* the file's first 4 bytes */
} raw_t;


static double raw_now(void);
static int raw_connect(struct sockaddr_in *sin);
static void raw_fill(unsigned char *buf, size_t size, int framed);
static void raw_content(raw_t *r, uint64_t imei, uint64_t at,
    unsigned char *dst, size_t n);
static void raw_stamp(raw_t *r, uint64_t imei, uint64_t chunk);
static int raw_send(raw_t *r, raw_conn_t *c);
static int raw_dc_read(raw_t *r, raw_conn_t *c);
static int raw_dc_frame(raw_t *r, raw_conn_t *c, unsigned cmd,
    const unsigned char *p, size_t len);
static void raw_dc_queue(raw_conn_t *c, const unsigned char *p, size_t n);
static void raw_dc_init(raw_conn_t *c, unsigned flags);
static void raw_dc_data(raw_t *r, raw_conn_t *c);
static int raw_dc_write(raw_t *r, raw_conn_t *c);
static int raw_verify(raw_t *r, const char *dir, raw_conn_t *all,
    int conns);
static int raw_verify_sink(raw_t *r, const char *dir, uint64_t imei_base,
    int conns);
static int raw_file_is(raw_t *r, int fd, uint64_t imei);


int
main(int argc, char **argv)
{
    int                  i, n, conns, left, ok, verify_only;
    char                 drain[4096];
    double               start, end;
    ssize_t              got;
    raw_t                r;
    uint64_t             imei_base;
    const char          *host, *verify, *verify_sink;
    raw_conn_t          *c, *all;
    struct rusage        ru;
    struct sockaddr_in   sin;
    struct epoll_event   ev, events[RAW_EVENTS];

    memset(&r, 0, sizeof(raw_t));
    host = "127.0.0.1";
    verify = NULL;
    verify_sink = NULL;
    verify_only = 0;
    conns = 1;
    r.size = 64ULL << 20;
    r.flag = DUALCAM_FLAG_VIDEO_FRONT;
    r.ext = ".h265";
    r.head = (const unsigned char *) "\x00\x00\x00\x01";
    imei_base = 352093081000000ULL;
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
            r.size = strtoull(argv[++i], NULL, 10);

        } else if (strcmp(argv[i], "--dualcam") == 0) {
            r.dualcam = 1;

        } else if (strcmp(argv[i], "--photo") == 0) {
            /* a photo: no MP4 is made of it, the store keeps it as is */
            r.flag = DUALCAM_FLAG_PHOTO_FRONT;
            r.ext = ".jpg";
            r.head = (const unsigned char *) "\xff\xd8\xff\xe0";

        } else if (strcmp(argv[i], "--imei-base") == 0 && i + 1 < argc) {
            imei_base = strtoull(argv[++i], NULL, 10);

        } else if (strcmp(argv[i], "--verify-store") == 0 && i + 1 < argc) {
            verify = argv[++i];

        } else if (strcmp(argv[i], "--verify-sink") == 0 && i + 1 < argc) {
            verify_sink = argv[++i];

        } else if (strcmp(argv[i], "--verify-only") == 0) {
            verify_only = 1;

        } else {
            fprintf(stderr, "usage: rawsend --port N [--conns N] "
                    "[--size BYTES] [--dualcam [--photo]] [--imei-base N] "
                    "[--verify-store DIR] [--verify-sink DIR] "
                    "[--verify-only]\n");
            return 2;
        }
    }

    if (inet_pton(AF_INET, host, &sin.sin_addr) != 1 || conns < 1
        || r.size == 0 || r.size > 0xffffffffULL)
    {
        fprintf(stderr, "rawsend: bad --host, --conns or --size\n");
        return 2;
    }

    /* the bytes on the wire: a 6-byte header and CRC per 1024 file bytes */
    r.packets = (uint32_t) ((r.size + DUALCAM_PACKET_SIZE - 1)
                            / DUALCAM_PACKET_SIZE);
    r.wire = r.size + (unsigned long long) r.packets
                      * (RAW_FRAME - DUALCAM_PACKET_SIZE);

    r.ext_len = strlen(r.ext);
    r.block = malloc(RAW_CHUNK + DUALCAM_PACKET_SIZE);
    all = calloc((size_t) conns, sizeof(raw_conn_t));
    if (r.block == NULL || all == NULL) {
        perror("malloc");
        return 1;
    }

    raw_fill(r.block, RAW_CHUNK, !r.dualcam);

    /* a packet read at any offset of the block is contiguous */
    memcpy(r.block + RAW_CHUNK, r.block, DUALCAM_PACKET_SIZE);
    memcpy(r.orig, r.block + RAW_STAMP_AT, RAW_STAMP_LEN);

    r.ep = epoll_create1(EPOLL_CLOEXEC);
    if (r.ep == -1) {
        perror("epoll_create1");
        return 1;
    }

    start = raw_now();

    for (i = 0; i < conns; i++) {
        c = &all[i];
        c->imei = imei_base + (uint64_t) i;

        if (verify_only) {
            continue;
        }

        if (r.dualcam) {
            c->out = malloc(RAW_CHUNK + 256);
            if (c->out == NULL) {
                perror("malloc");
                return 1;
            }

            raw_dc_init(c, r.flag);
        }

        c->fd = raw_connect(&sin);
        if (c->fd == -1) {
            return 1;
        }

        /* dualcam: edge-triggered, so a device waiting for the server
           does not spin on EPOLLOUT */
        ev.events = EPOLLOUT | EPOLLIN | (r.dualcam ? EPOLLET : 0);
        ev.data.ptr = c;

        if (epoll_ctl(r.ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
            perror("epoll_ctl");
            return 1;
        }
    }

    left = verify_only ? 0 : conns;

    while (left > 0) {
        n = epoll_wait(r.ep, events, RAW_EVENTS, 10000);

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }

            perror("epoll_wait");
            return 1;
        }

        if (n == 0) {
            fprintf(stderr, "rawsend: no progress for 10 s, %d left\n",
                    left);
            return 1;
        }

        for (i = 0; i < n; i++) {
            c = events[i].data.ptr;

            if (c->done == 2) {
                continue;
            }

            if (r.dualcam) {
                ok = 0;

                if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                    ok = raw_dc_read(&r, c);
                }

                if (ok == 0) {
                    ok = raw_dc_write(&r, c);
                }

                if (ok != 0) {
                    if (ok < 0) {
                        r.errors++;
                    }

                    c->done = 2;
                    close(c->fd);
                    left--;
                }

                continue;
            }

            if (c->done == 0 && (events[i].events & EPOLLOUT)) {
                if (raw_send(&r, c) != 0) {
                    r.errors++;
                    c->done = 2;
                    close(c->fd);
                    left--;
                    continue;
                }
            }

            if (c->done == 1
                && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
            {
                got = read(c->fd, drain, sizeof(drain));

                if (got > 0 || (got == -1 && errno == EAGAIN)) {
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

    printf("{\"mode\": \"%s\", \"connections\": %d, \"errors\": %d, "
           "\"payload_bytes\": %llu, \"wire_bytes\": %llu, "
           "\"seconds\": %.6f, \"utime_s\": %.6f, \"stime_s\": %.6f",
           r.dualcam ? "dualcam" : "raw", conns, r.errors,
           r.size * (unsigned long long) conns,
           r.wire * (unsigned long long) conns, end - start,
           ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
           ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);

    if (verify != NULL) {
        n = raw_verify(&r, verify, all, conns);
        printf(", \"verified\": %d", n);

        if (n != conns) {
            r.errors++;
        }
    }

    if (verify_sink != NULL) {
        n = raw_verify_sink(&r, verify_sink, imei_base, conns);
        printf(", \"verified\": %d", n);

        if (n != conns) {
            r.errors++;
        }
    }

    printf("}\n");

    return r.errors ? 1 : 0;
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


/*
 * Pseudo-random bytes; framed: laid out as DATA frames (raw mode, the
 * sink does not care, but the bytes look like the real stream).
 */

static void
raw_fill(unsigned char *buf, size_t size, int framed)
{
    size_t    i;
    uint32_t  x;

    x = 2463534242u;

    for (i = 0; i < size; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;

        buf[i] = (unsigned char) x;

        if (!framed) {
            continue;
        }

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
            break;
        }
    }

    if (!framed) {
        /* an H.265 start code, as a video begins */
        buf[0] = 0;
        buf[1] = 0;
        buf[2] = 0;
        buf[3] = 1;
    }
}


static int
raw_send(raw_t *r, raw_conn_t *c)
{
    size_t              len, off;
    ssize_t             n;
    struct epoll_event  ev;

    while (c->sent < r->wire) {
        /* the stream at offset o is block[o % 64 KiB], stamped per chunk */
        off = (size_t) (c->sent % RAW_CHUNK);
        len = RAW_CHUNK - off;
        if (r->wire - c->sent < len) {
            len = (size_t) (r->wire - c->sent);
        }

        raw_stamp(r, c->imei, c->sent / RAW_CHUNK);

        n = write(c->fd, r->block + off, len);

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

    if (epoll_ctl(r->ep, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
        perror("epoll_ctl");
        return -1;
    }

    return 0;
}


/* dualcam mode: 0 go on, 1 finished (CLOSE), -1 error */

static int
raw_dc_read(raw_t *r, raw_conn_t *c)
{
    int       rc;
    size_t    pos, need, len;
    ssize_t   n;
    unsigned  cmd;

    for ( ;; ) {
        n = read(c->fd, c->in + c->in_len, RAW_IN_SIZE - c->in_len);

        if (n == -1) {
            if (errno == EAGAIN || errno == EINTR) {
                return 0;
            }

            perror("read");
            return -1;
        }

        if (n == 0) {
            fprintf(stderr, "rawsend: imei %llu: server closed early\n",
                    (unsigned long long) c->imei);
            return -1;
        }

        c->in_len += (size_t) n;
        pos = 0;

        for ( ;; ) {
            if (c->in_len - pos < 2) {
                break;
            }

            cmd = dualcam_get16(c->in + pos);

            if (cmd == DUALCAM_CMD_REPEAT_INIT) {
                /* 00 09 alone */
                len = 0;
                need = 2;

            } else {
                if (c->in_len - pos < DUALCAM_HEADER_LEN) {
                    break;
                }

                len = dualcam_get16(c->in + pos + 2);
                need = DUALCAM_HEADER_LEN + len;

                if (need > RAW_IN_SIZE) {
                    fprintf(stderr, "rawsend: frame too long\n");
                    return -1;
                }
            }

            if (c->in_len - pos < need) {
                break;
            }

            rc = raw_dc_frame(r, c, cmd, c->in + pos + need - len, len);
            if (rc != 0) {
                return rc;
            }

            pos += need;
        }

        memmove(c->in, c->in + pos, c->in_len - pos);
        c->in_len -= pos;
    }
}


static int
raw_dc_frame(raw_t *r, raw_conn_t *c, unsigned cmd, const unsigned char *p,
    size_t len)
{
    uint32_t       v;
    unsigned char  f[40], *q;

    switch (cmd) {

    case DUALCAM_CMD_CLOSE:
        return 1;

    case DUALCAM_CMD_METADATA_QUERY:
        /* METADATA v1: version, file type, time ms, trigger, duration */
        q = dualcam_put16(f, DUALCAM_CMD_METADATA);
        q = dualcam_put16(q, 13);
        *q++ = 1;
        *q++ = (unsigned char) r->flag;
        q = dualcam_put32(q, 0x00000193);
        q = dualcam_put32(q, 0x1b2c3d4e);
        *q++ = 9;
        q = dualcam_put16(q, 20);
        raw_dc_queue(c, f, (size_t) (q - f));
        return 0;

    case DUALCAM_CMD_FILE_REQUEST:
        q = dualcam_put16(f, DUALCAM_CMD_START);
        q = dualcam_put16(q, 6);
        q = dualcam_put32(q, r->packets);
        q = dualcam_put16(q, 0);
        raw_dc_queue(c, f, (size_t) (q - f));
        return 0;

    case DUALCAM_CMD_RESUME:
        if (len < 4) {
            return -1;
        }

        v = dualcam_get32(p);
        if (v == 0) {
            v = 1;
        }

        if (v > r->packets) {
            fprintf(stderr, "rawsend: RESUME %u beyond %u packets\n",
                    v, r->packets);
            return -1;
        }

        q = dualcam_put16(f, DUALCAM_CMD_SYNC);
        q = dualcam_put16(q, 4);
        q = dualcam_put32(q, v);
        raw_dc_queue(c, f, (size_t) (q - f));

        c->next = v - 1;
        c->crc = 0;
        c->streaming = 1;
        return 0;

    case DUALCAM_CMD_REPEAT_INIT:
        c->streaming = 0;
        c->file_done = 1;
        raw_dc_init(c, 0);
        return 0;

    case DUALCAM_CMD_STATUS:
        fprintf(stderr, "rawsend: STATUS from the server\n");
        return -1;

    default:
        fprintf(stderr, "rawsend: unexpected command 0x%04x\n", cmd);
        return -1;
    }
}


static void
raw_dc_queue(raw_conn_t *c, const unsigned char *p, size_t n)
{
    if (c->out_pos == c->out_len) {
        c->out_pos = 0;
        c->out_len = 0;
    }

    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
}


static void
raw_dc_init(raw_conn_t *c, unsigned flags)
{
    unsigned char  f[DUALCAM_INIT_LEN], *q;

    q = dualcam_put16(f, DUALCAM_CMD_CLOSE);
    q = dualcam_put16(q, 5);
    q = dualcam_put32(q, (uint32_t) (c->imei >> 32));
    q = dualcam_put32(q, (uint32_t) c->imei);
    (void) dualcam_put32(q, (uint32_t) (0x40 | flags) << 24);

    raw_dc_queue(c, f, DUALCAM_INIT_LEN);
}


/* up to 63 DATA frames (64890 bytes) after what is queued */

static void
raw_dc_data(raw_t *r, raw_conn_t *c)
{
    size_t          n;
    uint64_t        at;
    unsigned char  *q;

    while (c->streaming && c->next < r->packets
           && c->out_len + RAW_FRAME <= RAW_CHUNK)
    {
        at = (uint64_t) c->next * DUALCAM_PACKET_SIZE;
        n = r->size - at < DUALCAM_PACKET_SIZE ? (size_t) (r->size - at)
                                               : DUALCAM_PACKET_SIZE;

        q = c->out + c->out_len;
        q = dualcam_put16(q, DUALCAM_CMD_DATA);
        q = dualcam_put16(q, (uint16_t) (n + 2));
        raw_content(r, c->imei, at, q, n);
        c->crc = dualcam_crc16(c->crc, q, n);
        q = dualcam_put16(q + n, c->crc);

        c->out_len = (size_t) (q - c->out);
        c->next++;
    }

    if (c->next == r->packets) {
        /* all sent: wait for 00 09 (or a RESUME) */
        c->streaming = 0;
    }
}


static int
raw_dc_write(raw_t *r, raw_conn_t *c)
{
    ssize_t  n;

    for ( ;; ) {
        if (c->out_pos == c->out_len) {
            c->out_pos = 0;
            c->out_len = 0;
            raw_dc_data(r, c);

            if (c->out_len == 0) {
                return 0;
            }
        }

        n = write(c->fd, c->out + c->out_pos, c->out_len - c->out_pos);

        if (n == -1) {
            if (errno == EAGAIN || errno == EINTR) {
                return 0;
            }

            perror("write");
            return -1;
        }

        c->out_pos += (size_t) n;
    }
}


/* every connection's file, byte for byte, in DIR/<IMEI>/ */

static int
raw_verify(raw_t *r, const char *dir, raw_conn_t *all, int conns)
{
    int              i, fd, good, intact;
    char             path[4096];
    DIR             *d;
    size_t           len;
    struct dirent   *de;

    good = 0;

    for (i = 0; i < conns; i++) {
        snprintf(path, sizeof(path), "%s/%015llu", dir,
                 (unsigned long long) all[i].imei);

        d = opendir(path);
        if (d == NULL) {
            continue;
        }

        intact = 0;

        while (!intact && (de = readdir(d)) != NULL) {
            len = strlen(de->d_name);

            if (len <= r->ext_len
                || strcmp(de->d_name + len - r->ext_len, r->ext) != 0)
            {
                continue;
            }

            fd = openat(dirfd(d), de->d_name, O_RDONLY);
            if (fd == -1) {
                continue;
            }

            intact = raw_file_is(r, fd, all[i].imei);

            close(fd);
        }

        closedir(d);
        good += intact;
    }

    return good;
}


/* 1: fd holds exactly what connection imei sent (dualcam: its file) */

static int
raw_file_is(raw_t *r, int fd, uint64_t imei)
{
    int                 intact;
    size_t              len, k, n;
    ssize_t             got;
    struct stat         st;
    unsigned long long  off, size;
    unsigned char       buf[RAW_CHUNK], want[RAW_CHUNK];

    size = r->dualcam ? r->size : r->wire;

    if (fstat(fd, &st) != 0 || (unsigned long long) st.st_size != size) {
        return 0;
    }

    intact = 1;

    for (off = 0; intact && off < size; off += RAW_CHUNK) {
        len = size - off < RAW_CHUNK ? (size_t) (size - off) : RAW_CHUNK;

        got = read(fd, buf, len);
        if (got != (ssize_t) len) {
            return 0;
        }

        if (r->dualcam) {
            for (k = 0; k < len; k += n) {
                n = len - k < DUALCAM_PACKET_SIZE ? len - k
                                                  : DUALCAM_PACKET_SIZE;
                raw_content(r, imei, off + k, want + k, n);
            }

        } else {
            raw_stamp(r, imei, off / RAW_CHUNK);
            memcpy(want, r->block, len);
        }

        intact = memcmp(buf, want, len) == 0;
    }

    return intact;
}


/*
 * The raw sink names its files by the order of accepts: every
 * connection's stream must be in exactly one of them, and nothing else.
 */

static int
raw_verify_sink(raw_t *r, const char *dir, uint64_t imei_base, int conns)
{
    int             fd, good, i;
    DIR            *d;
    size_t          len;
    uint64_t        imei;
    unsigned char  *seen, head[RAW_STAMP_AT + RAW_STAMP_LEN];
    struct dirent  *de;

    d = opendir(dir);
    seen = calloc((size_t) conns, 1);

    if (d == NULL || seen == NULL) {
        perror(dir);
        return 0;
    }

    good = 0;

    while ((de = readdir(d)) != NULL) {
        len = strlen(de->d_name);

        if (len < 5 || strcmp(de->d_name + len - 4, ".bin") != 0) {
            continue;
        }

        fd = openat(dirfd(d), de->d_name, O_RDONLY);
        if (fd == -1) {
            continue;
        }

        /* whose stream: the stamp of its first chunk says */
        if (pread(fd, head, sizeof(head), 0) != (ssize_t) sizeof(head)) {
            close(fd);
            continue;
        }

        imei = 0;

        for (i = 0; i < 8; i++) {
            imei = imei << 8
                   | (unsigned char) (head[RAW_STAMP_AT + i] ^ r->orig[i]);
        }

        if (imei >= imei_base && imei - imei_base < (uint64_t) conns
            && !seen[imei - imei_base] && raw_file_is(r, fd, imei))
        {
            seen[imei - imei_base] = 1;
            good++;

        } else {
            fprintf(stderr, "rawsend: %s/%s is no connection's stream\n",
                    dir, de->d_name);
        }

        close(fd);
    }

    closedir(d);
    free(seen);

    return good;
}


/*
 * A packet of connection imei's file at offset at (a multiple of 1024):
 * the block from an offset of the IMEI, the IMEI and at XORed into
 * bytes 4-19; the file begins with an H.265 start code.
 */

static void
raw_content(raw_t *r, uint64_t imei, uint64_t at, unsigned char *dst,
    size_t n)
{
    size_t          k;
    unsigned char   stamp[RAW_STAMP_LEN];

    memcpy(dst, r->block + (size_t) ((at + imei * 4099) % RAW_CHUNK), n);

    dualcam_put32(stamp, (uint32_t) (imei >> 32));
    dualcam_put32(stamp + 4, (uint32_t) imei);
    dualcam_put32(stamp + 8, (uint32_t) (at >> 32));
    dualcam_put32(stamp + 12, (uint32_t) at);

    for (k = 0; k < RAW_STAMP_LEN && RAW_STAMP_AT + k < n; k++) {
        dst[RAW_STAMP_AT + k] ^= stamp[k];
    }

    if (at == 0) {
        for (k = 0; k < 4 && k < n; k++) {
            dst[k] = r->head[k];
        }
    }
}


/* raw mode: the block as chunk `chunk` of connection imei's stream */

static void
raw_stamp(raw_t *r, uint64_t imei, uint64_t chunk)
{
    size_t          k;
    unsigned char   stamp[RAW_STAMP_LEN];

    dualcam_put32(stamp, (uint32_t) (imei >> 32));
    dualcam_put32(stamp + 4, (uint32_t) imei);
    dualcam_put32(stamp + 8, (uint32_t) (chunk >> 32));
    dualcam_put32(stamp + 12, (uint32_t) chunk);

    for (k = 0; k < RAW_STAMP_LEN; k++) {
        r->block[RAW_STAMP_AT + k] = r->orig[k] ^ stamp[k];
    }
}
