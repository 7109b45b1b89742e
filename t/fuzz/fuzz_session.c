
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * fuzz_session: the server core in deep states.  A valid session is
 * played by a small device model of this file (independent of
 * src/dualcam_device.c, so the two cores are not checked only against
 * each other): it answers the server's METADATA QUERY, PATH REQUEST, FILE
 * REQUEST, RESUME (SYNC, then DATA from there with the CRC chain restarted
 * at 0), REPEAT INIT (a new init without the delivered file) and CLOSE.
 * The fuzz input is a list of mutations applied to the frames the device
 * emits, so the server sees bad CRCs and resumes, drops, silences,
 * duplicated, truncated and garbled frames deep inside a transfer.
 *
 * Input:
 *
 *   FZ_OPTS_LEN bytes   server options and chunking seed (fuzz.h)
 *   1 byte              number of mutations, m
 *   4 bytes             seed of the generated session
 *   m * 5 bytes         mutations: op, frame index u16, a1, a2
 *   the rest            optional: a device byte stream (init, METADATA,
 *                       PATH, START, DATA ... as captured) from which the
 *                       files are taken; without it the session is
 *                       generated from the seed
 *
 * Oracle: besides every check of fuzz_driver.c, a committed file must be
 * byte-exact unless a mutation changed frame contents (a CRC collision is
 * then possible), and a session without any mutation or unusual option
 * must end OK with every file committed.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


#define FZ_MUT_LEN        5
#define FZ_FILES          5
#define FZ_FRAMES_MAX     20000
#define FZ_QUEUE_MAX      (4 * 1024 * 1024)
#define FZ_INITS_MAX      12
#define FZ_TIMERS_MAX     24
#define FZ_CONNS_MAX      8
#define FZ_CONTENT_MAX    (64 * 1024)
#define FZ_META_MAX       200
#define FZ_PATH_LEN       64
#define FZ_FRAME_MAX      (4 + 4 + DUALCAM_PACKET_SIZE + 2 + FZ_META_MAX)


enum {
    FZ_MUT_FLIP = 0,
    FZ_MUT_CRC,
    FZ_MUT_DROP,
    FZ_MUT_DUP,
    FZ_MUT_CUT,             /* part of the frame, then the device is gone */
    FZ_MUT_JUNK,
    FZ_MUT_SILENCE,         /* nothing more until the next RESUME */
    FZ_MUT_LEN_FIELD,
    FZ_MUT_SPLIT,           /* a chunk boundary inside this frame */
    FZ_MUT_CMD,
    FZ_MUT_SYNC,            /* a SYNC nobody asked for, before the frame */
    FZ_MUT_INIT,            /* an init out of turn, before the frame */
    FZ_MUT_HOLD,            /* the RESUME finds this many frames in flight */
    FZ_MUT_RECONNECT,       /* part of the frame, a drop, a new connection
                               that resumes from what the store kept */
    FZ_MUT_N
};


typedef struct {
    unsigned                  flag;
    unsigned                  path_mode:1;
    unsigned                  enhanced:1;   /* DATA as 0x000E */
    unsigned                  meta_status:1;    /* STATUS for 0x000A */
    unsigned                  done:1;
    unsigned                  sent_all:1;
    size_t                    chunk;        /* file bytes per DATA */
    const unsigned char      *content;
    size_t                    size;
    unsigned char             meta[FZ_META_MAX];
    size_t                    meta_len;
    unsigned char             path[FZ_PATH_LEN];
    size_t                    path_len;

    /* the store: verified bytes kept from an aborted connection */
    unsigned char            *shadow;
    size_t                    shadow_cap;
    uint64_t                  kept;
} fz_dfile_t;


typedef struct {
    fz_rand_t                 r;
    unsigned                  protocol;
    uint64_t                  imei;
    unsigned char             settings[4];

    unsigned                  nfiles;
    fz_dfile_t                files[FZ_FILES];
    fz_dfile_t               *cur;
    fz_dfile_t               *path_cur;
    unsigned char            *content;      /* all files' bytes */

    /* server to device */
    unsigned char             sin[2048];
    size_t                    sin_len;

    /* device to server */
    unsigned char            *q;
    size_t                    qlen;
    size_t                    qcap;
    size_t                    qpos;         /* delivered */
    size_t                   *ends;         /* frame ends in q */
    size_t                    nends;
    size_t                    ends_cap;
    size_t                    split;        /* forced chunk boundary */

    const unsigned char      *muts;
    size_t                    nmuts;
    unsigned                  nframe;
    unsigned                  hold;         /* frames kept in flight */
    unsigned                  inits;

    unsigned                  gone:1;       /* device closed */
    unsigned                  silent:1;
    unsigned                  closed:1;     /* server sent CLOSE */
    unsigned                  fired:1;      /* a mutation that may end
                                               the session badly */
    unsigned                  garbled:1;    /* one changed frame bytes */
    unsigned                  reconnect:1;  /* the device comes back */
    unsigned                  odd:1;        /* no "must end OK" oracle */

    /* the file the server has open */
    fz_dfile_t               *open;
    unsigned                  commits;
    unsigned                  conns;

    fz_server_t              *srv;
} fz_dev_t;


static void fz_dev_frame(fz_dev_t *d, const unsigned char *p, size_t n);


static const char  *fz_idents[] = {
    "%photof", "%photor", "%videof", "%videor"
};

static const unsigned  fz_flags[] = {
    DUALCAM_FLAG_PHOTO_FRONT, DUALCAM_FLAG_PHOTO_REAR,
    DUALCAM_FLAG_VIDEO_FRONT, DUALCAM_FLAG_VIDEO_REAR
};


static int
fz_ident(unsigned flag)
{
    unsigned  i;

    for (i = 0; i < 4; i++) {
        if (fz_flags[i] == flag) {
            return (int) i;
        }
    }

    return -1;
}


/* the device's output queue */

static void
fz_q_raw(fz_dev_t *d, const unsigned char *p, size_t n)
{
    if (d->gone || d->qlen + n > FZ_QUEUE_MAX) {
        d->gone = 1;
        return;
    }

    if (d->qlen + n > d->qcap) {
        d->qcap = (d->qlen + n) * 2;
        d->q = realloc(d->q, d->qcap);
        fz_assert(d->q != NULL);
    }

    if (d->nends == d->ends_cap) {
        d->ends_cap = d->ends_cap ? d->ends_cap * 2 : 256;
        d->ends = realloc(d->ends, d->ends_cap * sizeof(size_t));
        fz_assert(d->ends != NULL);
    }

    memcpy(d->q + d->qlen, p, n);
    d->qlen += n;
    d->ends[d->nends++] = d->qlen;
}


static void
fz_dev_frame(fz_dev_t *d, const unsigned char *p, size_t n)
{
    size_t          i, k;
    unsigned        op, idx, a1, a2, drop, dup;
    unsigned char   f[FZ_FRAME_MAX], x[16];
    const unsigned char  *m;

    if (d->gone || d->silent) {
        return;
    }

    fz_assert(n >= 2 && n <= FZ_FRAME_MAX);

    if (++d->nframe > FZ_FRAMES_MAX) {
        d->gone = 1;
        return;
    }

    memcpy(f, p, n);
    drop = 0;
    dup = 0;

    for (i = 0; i < d->nmuts; i++) {
        m = d->muts + i * FZ_MUT_LEN;
        idx = ((unsigned) m[1] << 8) | m[2];

        if (idx + 1 != d->nframe) {
            continue;
        }

        op = m[0] % FZ_MUT_N;
        a1 = m[3];
        a2 = m[4];

        if (op != FZ_MUT_SPLIT && op != FZ_MUT_HOLD
            && op != FZ_MUT_RECONNECT)
        {
            d->fired = 1;
        }

        switch (op) {

        case FZ_MUT_FLIP:
            f[a1 % n] ^= (unsigned char) (a2 | 1);
            d->garbled = 1;
            break;

        case FZ_MUT_CRC:
            f[n - 1 - (a1 & 1)] ^= (unsigned char) (a2 | 1);
            d->garbled = 1;
            break;

        case FZ_MUT_DROP:
            drop = 1;
            d->garbled = 1;
            break;

        case FZ_MUT_DUP:
            dup++;
            d->garbled = 1;
            break;

        case FZ_MUT_CUT:
            k = a1 % n;
            if (k > 0) {
                fz_q_raw(d, f, k);
            }
            d->gone = 1;
            return;

        case FZ_MUT_RECONNECT:
            k = a1 % n;
            if (k > 0) {
                fz_q_raw(d, f, k);
            }
            d->gone = 1;
            d->reconnect = 1;
            return;

        case FZ_MUT_JUNK:
            memset(x, a2, sizeof(x));
            fz_q_raw(d, x, 1 + a1 % sizeof(x));
            d->garbled = 1;
            break;

        case FZ_MUT_SILENCE:
            d->silent = 1;
            return;

        case FZ_MUT_LEN_FIELD:
            if (n >= 4) {
                f[2] = (unsigned char) a1;
                f[3] = (unsigned char) a2;
            }
            d->garbled = 1;
            break;

        case FZ_MUT_SPLIT:
            d->split = d->qlen + 1 + a1 % n;
            break;

        case FZ_MUT_CMD:
            f[0] = 0;
            f[1] = (unsigned char) (a1 & 0x0f);
            d->garbled = 1;
            break;

        case FZ_MUT_SYNC:
            x[0] = 0;
            x[1] = DUALCAM_CMD_SYNC;
            x[2] = 0;
            x[3] = 4;
            dualcam_put32(x + 4, (a1 << 8 | a2) % 64);
            fz_q_raw(d, x, 8);
            d->garbled = 1;
            break;

        case FZ_MUT_INIT:
            memset(x, 0, 16);
            x[3] = (unsigned char) d->protocol;
            dualcam_put32(x + 4, (uint32_t) (d->imei >> 32));
            dualcam_put32(x + 8, (uint32_t) d->imei);
            memcpy(x + 12, d->settings, 4);
            fz_q_raw(d, x, 16);
            d->garbled = 1;
            break;

        default: /* FZ_MUT_HOLD */
            d->hold = a1;
            break;
        }
    }

    if (drop) {
        return;
    }

    fz_q_raw(d, f, n);

    while (dup--) {
        fz_q_raw(d, f, n);
    }
}


static void
fz_dev_control(fz_dev_t *d, unsigned cmd, const unsigned char *p, size_t n)
{
    unsigned char  f[FZ_FRAME_MAX];

    fz_assert(n <= FZ_META_MAX);

    f[0] = (unsigned char) (cmd >> 8);
    f[1] = (unsigned char) cmd;
    f[2] = (unsigned char) (n >> 8);
    f[3] = (unsigned char) n;
    memcpy(f + 4, p, n);

    fz_dev_frame(d, f, 4 + n);
}


static void
fz_dev_status(fz_dev_t *d, uint32_t code)
{
    unsigned char  b[4];

    dualcam_put32(b, code);
    fz_dev_control(d, DUALCAM_CMD_STATUS, b, 4);
}


static void
fz_dev_init(fz_dev_t *d)
{
    unsigned       i, flags;
    unsigned char  f[16];

    if (++d->inits > FZ_INITS_MAX) {
        d->gone = 1;
        return;
    }

    flags = 0;
    for (i = 0; i < d->nfiles; i++) {
        if (!d->files[i].done) {
            flags |= d->files[i].flag;
        }
    }

    memset(f, 0, sizeof(f));
    f[2] = (unsigned char) (d->protocol >> 8);
    f[3] = (unsigned char) d->protocol;
    dualcam_put32(f + 4, (uint32_t) (d->imei >> 32));
    dualcam_put32(f + 8, (uint32_t) d->imei);
    memcpy(f + 12, d->settings, 4);
    f[12] = (unsigned char) ((d->settings[0] & ~DUALCAM_FLAG_FILES) | flags);

    fz_dev_frame(d, f, 16);
}


/* SYNC at a position, then every DATA frame from there */

static void
fz_dev_stream(fz_dev_t *d, fz_dfile_t *df, uint64_t pos, uint32_t sync)
{
    size_t          k;
    uint16_t        crc;
    unsigned char   f[FZ_FRAME_MAX], *p;

    f[0] = 0;
    f[1] = DUALCAM_CMD_SYNC;
    f[2] = 0;
    f[3] = 4;
    dualcam_put32(f + 4, sync);
    fz_dev_frame(d, f, 8);

    crc = 0;

    while (pos < df->size && !d->gone && !d->silent) {
        k = df->size - pos < df->chunk ? df->size - pos : df->chunk;
        crc = dualcam_crc16_bytewise(crc, df->content + pos, k);

        p = f;
        p = dualcam_put16(p, df->enhanced ? DUALCAM_CMD_ENHANCED_DATA
                                          : DUALCAM_CMD_DATA);
        p = dualcam_put16(p, (uint16_t) (k + (df->enhanced ? 6 : 2)));
        if (df->enhanced) {
            p = dualcam_put32(p, (uint32_t) pos);
        }
        memcpy(p, df->content + pos, k);
        p = dualcam_put16(p + k, crc);

        fz_dev_frame(d, f, p - f);
        pos += k;
    }

    if (pos >= df->size) {
        df->sent_all = 1;
    }
}


static fz_dfile_t *
fz_dev_find(fz_dev_t *d, const unsigned char *p, size_t n)
{
    int       i;
    unsigned  k;

    if (n == DUALCAM_IDENT_LEN && p[0] == '%') {
        for (k = 0; k < d->nfiles; k++) {
            i = fz_ident(d->files[k].flag);
            if (i >= 0 && !d->files[k].path_mode
                && memcmp(p, fz_idents[i], DUALCAM_IDENT_LEN) == 0)
            {
                return &d->files[k];
            }
        }
    }

    for (k = 0; k < d->nfiles; k++) {
        if (d->files[k].path_mode && d->files[k].path_len == n
            && memcmp(d->files[k].path, p, n) == 0)
        {
            return &d->files[k];
        }
    }

    return NULL;
}


static void
fz_dev_resume(fz_dev_t *d, uint32_t v)
{
    size_t       i, k;
    uint64_t     pos;
    fz_dfile_t  *df;

    df = d->cur;
    d->silent = 0;

    if (df == NULL) {
        fz_dev_status(d, 6);
        return;
    }

    /* frames already on the wire arrive; the device stops after `hold` */
    for (i = 0; i < d->nends && d->ends[i] <= d->qpos; i++) {
        /* void */
    }

    if (i < d->nends) {
        /* the frame being delivered completes */
        k = i + 1 + d->hold % 4;
        if (d->hold >= 4) {
            k = d->nends;
        }
        if (k < d->nends) {
            d->nends = k;
            d->qlen = d->ends[k - 1];
        }
    }

    if (df->path_mode) {
        pos = v;
    } else {
        v = v ? v : 1;
        pos = (uint64_t) (v - 1) * DUALCAM_PACKET_SIZE;
    }

    if (pos > df->size || (pos == df->size && df->size > 0
                           && !df->path_mode))
    {
        fz_dev_status(d, 6);
        d->odd = 1;
        return;
    }

    fz_dev_stream(d, df, pos, v);
}


static void
fz_dev_server_frame(fz_dev_t *d, unsigned cmd, const unsigned char *p,
    size_t n)
{
    unsigned       k;
    uint32_t       total;
    fz_dfile_t    *df;
    unsigned char  b[6];

    switch (cmd) {

    case DUALCAM_CMD_CLOSE:
        d->closed = 1;
        break;

    case DUALCAM_CMD_REPEAT_INIT:
        if (d->cur != NULL && d->cur->sent_all) {
            d->cur->done = 1;
        }
        d->cur = NULL;
        d->path_cur = NULL;
        d->silent = 0;
        fz_dev_init(d);
        break;

    case DUALCAM_CMD_PATH_REQUEST:
        df = NULL;
        for (k = 0; k < d->nfiles; k++) {
            if (d->files[k].path_mode && !d->files[k].done) {
                df = &d->files[k];
                break;
            }
        }
        if (df == NULL) {
            fz_dev_status(d, 17);
            break;
        }
        d->path_cur = df;
        fz_dev_control(d, DUALCAM_CMD_PATH, df->path, df->path_len);
        break;

    case DUALCAM_CMD_METADATA_QUERY:
        df = n ? fz_dev_find(d, p, n) : d->path_cur;
        if (df == NULL || df->meta_status) {
            fz_dev_status(d, 17);
            break;
        }
        fz_dev_control(d, DUALCAM_CMD_METADATA, df->meta, df->meta_len);
        break;

    case DUALCAM_CMD_FILE_REQUEST:
        df = fz_dev_find(d, p, n);
        if (df == NULL) {
            fz_dev_status(d, 17);
            d->odd = 1;
            break;
        }
        d->cur = df;
        total = df->path_mode ? (uint32_t) df->size
                : (uint32_t) ((df->size + DUALCAM_PACKET_SIZE - 1)
                              / DUALCAM_PACKET_SIZE);
        if (df->size == 0) {
            df->sent_all = 1;
        }
        dualcam_put32(b, total);
        b[4] = 0;
        b[5] = 0;
        fz_dev_control(d, DUALCAM_CMD_START, b, 6);
        break;

    case DUALCAM_CMD_RESUME:
        if (n == 4) {
            fz_dev_resume(d, dualcam_get32(p));
        }
        break;

    default:
        break;
    }
}


static void
fz_dev_hear(fz_dev_t *d, const unsigned char *p, size_t n)
{
    size_t    k, flen;
    unsigned  cmd;

    if (d->sin_len + n > sizeof(d->sin)) {
        d->gone = 1;
        return;
    }

    memcpy(d->sin + d->sin_len, p, n);
    d->sin_len += n;

    k = 0;

    while (d->sin_len - k >= 2 && !d->closed) {
        cmd = dualcam_get16(d->sin + k);

        if (cmd == DUALCAM_CMD_REPEAT_INIT) {
            flen = 2;
        } else if (d->sin_len - k < 4) {
            break;
        } else if (cmd == DUALCAM_CMD_CLOSE) {
            flen = 4;
        } else {
            flen = 4 + (size_t) dualcam_get16(d->sin + k + 2);
        }

        if (d->sin_len - k < flen) {
            break;
        }

        fz_dev_server_frame(d, cmd, d->sin + k + 4, flen < 4 ? 0 : flen - 4);
        k += flen;
    }

    memmove(d->sin, d->sin + k, d->sin_len - k);
    d->sin_len -= k;
}


/* what the store sees */

static void
fz_dev_action(void *ctx, dualcam_action_t *a)
{
    size_t       k;
    uint64_t     got;
    fz_dev_t    *d;
    fz_dfile_t  *df;

    d = ctx;

    switch (a->type) {

    case DUALCAM_ACT_SEND:
        fz_dev_hear(d, a->data, a->len);
        break;

    case DUALCAM_ACT_FILE_OPEN:
        df = d->cur;
        d->open = df;
        if (df == NULL) {
            d->odd = 1;
            break;
        }

        got = d->srv->reused;
        if (got > df->size) {
            /* "held" more than the file has: a pretend store */
            d->odd = 1;
            d->open = NULL;
            break;
        }

        if (got > df->kept) {
            /* pretend an earlier connection left the true bytes */
            memcpy(df->shadow, df->content, got);
        }
        break;

    case DUALCAM_ACT_FILE_WRITE:
        df = d->open;
        if (df == NULL || a->offset >= df->shadow_cap) {
            break;
        }
        k = a->offset + a->len <= df->shadow_cap ? a->len
                                                  : df->shadow_cap - a->offset;
        memcpy(df->shadow + a->offset, a->data, k);
        break;

    case DUALCAM_ACT_FILE_COMMIT:
        d->commits++;
        df = d->open;
        d->open = NULL;
        if (df == NULL) {
            break;
        }
        df->kept = 0;
        if (d->garbled) {
            break;
        }
        fz_assert(a->offset == df->size);
        fz_assert(memcmp(df->shadow, df->content, df->size) == 0);
        break;

    case DUALCAM_ACT_FILE_ABORT:
        df = d->open;
        d->open = NULL;
        if (df != NULL) {
            /* the verified prefix stays for the next connection */
            df->kept = a->file->received;
            fz_assert(df->kept <= df->shadow_cap);
        }
        break;

    default:
        break;
    }
}


/* FILE_OPEN: resume from what an earlier connection verified */

static int
fz_dev_resume_hook(void *ctx, dualcam_file_t *file, uint64_t *bytes)
{
    fz_dev_t  *d;

    d = ctx;

    (void) file;

    if (d->cur == NULL || d->cur->kept == 0) {
        return 0;
    }

    *bytes = d->cur->kept;

    return 1;
}


/* a new connection: the device forgets the server, not its files */

static void
fz_dev_connect(fz_dev_t *d)
{
    d->cur = NULL;
    d->path_cur = NULL;
    d->sin_len = 0;
    d->qlen = 0;
    d->qpos = 0;
    d->nends = 0;
    d->split = 0;
    d->inits = 0;
    d->gone = 0;
    d->silent = 0;
    d->closed = 0;
    d->reconnect = 0;
    d->open = NULL;

    fz_dev_init(d);
}


/* the session: from a captured stream, or generated */

static size_t
fz_dev_from_stream(fz_dev_t *d, const unsigned char *p, size_t n)
{
    size_t       k, flen, len, used;
    unsigned     cmd, flags, i;
    fz_dfile_t  *df, *nx;

    if (n < DUALCAM_INIT_LEN || p[0] != 0 || p[1] != 0) {
        return 0;
    }

    d->protocol = dualcam_get16(p + 2);
    d->imei = dualcam_get64(p + 4);
    memcpy(d->settings, p + 12, 4);
    flags = p[12] & DUALCAM_FLAG_FILES;

    df = NULL;
    used = 0;
    k = DUALCAM_INIT_LEN;

    while (n - k >= 4) {
        cmd = dualcam_get16(p + k);
        len = dualcam_get16(p + k + 2);
        flen = cmd == 0 ? DUALCAM_INIT_LEN : 4 + len;

        if (n - k < flen) {
            break;
        }

        nx = d->nfiles < FZ_FILES ? &d->files[d->nfiles] : NULL;
        df = d->nfiles ? &d->files[d->nfiles - 1] : NULL;

        switch (cmd) {

        case DUALCAM_CMD_START:
            if (nx == NULL) {
                break;
            }
            df = &d->files[d->nfiles++];
            df->content = d->content + used;
            df->chunk = DUALCAM_PACKET_SIZE;

            /* flags in the order the server asks for them */
            for (i = 0; i < 4; i++) {
                if (flags & fz_flags[i]) {
                    df->flag = fz_flags[i];
                    flags &= ~fz_flags[i];
                    break;
                }
            }
            if (i == 4) {
                df->flag = DUALCAM_FLAG_PATH;
                df->path_mode = 1;
            }
            break;

        case DUALCAM_CMD_METADATA:
            if (nx != NULL && len <= FZ_META_MAX) {
                memcpy(nx->meta, p + k + 4, len);
                nx->meta_len = len;
            }
            break;

        case DUALCAM_CMD_PATH:
            if (nx != NULL && len <= FZ_PATH_LEN) {
                memcpy(nx->path, p + k + 4, len);
                nx->path_len = len;
            }
            break;

        case DUALCAM_CMD_DATA:
        case DUALCAM_CMD_ENHANCED_DATA:
            i = cmd == DUALCAM_CMD_DATA ? 2 : 6;
            if (df == NULL || df->content == NULL || len <= i
                || used + len - i > FZ_CONTENT_MAX)
            {
                break;
            }
            memcpy(d->content + used, p + k + 4 + (i - 2), len - i);
            used += len - i;
            df->size += len - i;
            df->enhanced = cmd == DUALCAM_CMD_ENHANCED_DATA;
            break;

        default:
            break;
        }

        k += flen;
    }

    /* a file announced by metadata or path alone has no START */
    for (i = 0; i < d->nfiles; i++) {
        if (d->files[i].path_mode && d->files[i].path_len == 0) {
            memcpy(d->files[i].path, "adas/video/x.mp4", 16);
            d->files[i].path_len = 16;
        }
    }

    return d->nfiles;
}


static void
fz_dev_generate(fz_dev_t *d)
{
    size_t       used, j;
    unsigned     i, k, nfiles, v;
    uint64_t     t;
    fz_dfile_t  *df;

    static const size_t  sizes[] = {
        0, 1, 2, 1023, 1024, 1025, 2047, 2048, 3072, 4097
    };
    static const size_t  meta_lens[] = { 13, 14, 32, 40 };

    d->protocol = (fz_rand(&d->r) % 8 == 0) ? 6 : 5;
    d->imei = ((uint64_t) fz_rand(&d->r) << 32 | fz_rand(&d->r))
              % (DUALCAM_IMEI_MAX + 1);
    if (fz_rand(&d->r) % 32 == 0) {
        d->imei = DUALCAM_IMEI_MAX + 1 + fz_rand(&d->r);
        d->odd = 1;
    }
    d->settings[0] = 0x40;
    d->settings[2] = 4;

    nfiles = 1 + fz_rand(&d->r) % 4;
    used = 0;

    for (i = 0; i < nfiles; i++) {
        df = &d->files[d->nfiles];
        memset(df, 0, sizeof(fz_dfile_t));

        /* one of each camera file, maybe one path file */
        k = fz_rand(&d->r) % 5;
        if (k < 4 && d->protocol < 6) {
            df->flag = fz_flags[k];
            for (j = 0; j < d->nfiles; j++) {
                if (d->files[j].flag == df->flag) {
                    break;
                }
            }
            if (j < d->nfiles) {
                continue;
            }

        } else {
            for (j = 0; j < d->nfiles; j++) {
                if (d->files[j].path_mode) {
                    break;
                }
            }
            if (j < d->nfiles) {
                continue;
            }
            df->flag = DUALCAM_FLAG_PATH;
            df->path_mode = 1;
            df->enhanced = fz_rand(&d->r) & 1;
            j = (size_t) snprintf((char *) df->path, FZ_PATH_LEN,
                                  "%s/%06u/%06u.%s",
                                  (fz_rand(&d->r) & 1) ? "dsm/picture"
                                                       : "adas/video",
                                  fz_rand(&d->r) % 1000000,
                                  fz_rand(&d->r) % 1000000,
                                  (fz_rand(&d->r) & 1) ? "jpg" : "mp4");
            df->path_len = j + (fz_rand(&d->r) & 1);
        }

        df->size = (fz_rand(&d->r) & 1) ? sizes[fz_rand(&d->r) % 10]
                                        : fz_rand(&d->r) % 6000;
        df->chunk = DUALCAM_PACKET_SIZE;
        if (df->path_mode && (fz_rand(&d->r) & 3) == 0) {
            df->chunk = 1 + fz_rand(&d->r) % DUALCAM_PACKET_SIZE;
        }

        df->content = d->content + used;
        for (j = 0; j < df->size; j++) {
            d->content[used + j] = (unsigned char) (fz_rand(&d->r) >> 7);
        }
        used += df->size;

        /* metadata as each kind sends it */
        t = 1730288148000ULL + fz_rand(&d->r);
        if (d->protocol >= 6) {
            df->meta_len = (size_t) snprintf((char *) df->meta, FZ_META_MAX,
                                 "{\"time\":%llu,\"trigger\":%u}",
                                 (unsigned long long) t,
                                 fz_rand(&d->r) % 12);

        } else if (df->path_mode) {
            df->meta_len = (fz_rand(&d->r) & 1) ? 15 : 26;
            for (j = 0; j < df->meta_len; j++) {
                df->meta[j] = (unsigned char) fz_rand(&d->r);
            }
            dualcam_put32(df->meta, (uint32_t) (t / 1000));

        } else {
            /* v1..v4 (one extra byte tolerated), or a later version */
            v = 1 + fz_rand(&d->r) % 5;
            df->meta_len = v <= 4 ? meta_lens[v - 1] + (fz_rand(&d->r) & 1)
                                  : 40 + fz_rand(&d->r) % 25;
            for (j = 0; j < df->meta_len; j++) {
                df->meta[j] = (unsigned char) fz_rand(&d->r);
            }
            df->meta[0] = (unsigned char) v;
            df->meta[1] = (unsigned char) df->flag;
            dualcam_put32(df->meta + 2, (uint32_t) (t >> 32));
            dualcam_put32(df->meta + 6, (uint32_t) t);
        }

        if (fz_rand(&d->r) % 16 == 0) {
            df->meta_status = 1;
            d->odd = 1;
        }

        d->nfiles++;
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t        k, n, got;
    unsigned      i, timers;
    fz_opts_t     opts;
    fz_rand_t     r;
    fz_dev_t     *d;
    fz_dfile_t   *df;
    fz_server_t   f;
    dualcam_meta_t  meta;

    k = fz_opts_parse(&opts, data, size);
    data += k;
    size -= k;

    d = calloc(1, sizeof(fz_dev_t));
    fz_assert(d != NULL);
    d->content = malloc(FZ_CONTENT_MAX);
    fz_assert(d->content != NULL);

    if (size >= 5) {
        d->nmuts = data[0];
        d->r.s = dualcam_get32(data + 1);
        data += 5;
        size -= 5;
    }

    if (d->nmuts * FZ_MUT_LEN > size) {
        d->nmuts = size / FZ_MUT_LEN;
    }

    d->muts = data;
    data += d->nmuts * FZ_MUT_LEN;
    size -= d->nmuts * FZ_MUT_LEN;

    if (fz_dev_from_stream(d, data, size) == 0) {
        fz_dev_generate(d);
    }

    /* option values that make a clean end not the rule */
    if (opts.refuse || opts.resume_mode >= 4) {
        d->odd = 1;
    }

    for (i = 0; i < d->nfiles; i++) {
        /* the limit is checked against START: whole packets */
        if (opts.conf.max_file_size
            && (d->files[i].size + DUALCAM_PACKET_SIZE - 1)
               / DUALCAM_PACKET_SIZE * DUALCAM_PACKET_SIZE
               > opts.conf.max_file_size)
        {
            d->odd = 1;
        }
        /* metadata the server cannot read ends the session, rightly */
        if (opts.conf.metadata
            && dualcam_meta_decode(&meta, d->files[i].path_mode
                                          ? DUALCAM_META_NONE
                                          : DUALCAM_META_DUALCAM,
                                   d->files[i].meta, d->files[i].meta_len)
               != 0)
        {
            d->odd = 1;
        }

        if (d->files[i].size == 0 || d->files[i].path_mode
            || d->protocol >= 6 || d->protocol < 5)
        {
            /* the units and the skip are the core's decisions */
            d->odd = 1;
        }
    }

    if (d->imei > DUALCAM_IMEI_MAX || d->nfiles == 0) {
        d->odd = 1;
    }

    for (i = 0; i < d->nfiles; i++) {
        df = &d->files[i];
        df->shadow_cap = (df->size / DUALCAM_PACKET_SIZE + 2)
                         * DUALCAM_PACKET_SIZE;
        df->shadow = calloc(1, df->shadow_cap);
        fz_assert(df->shadow != NULL);
    }

    r.s = opts.seed;

    /* one connection, and another each time the device comes back */

    for ( ;; ) {
        fz_server_init(&f, &opts);
        f.on_action = fz_dev_action;
        f.on_resume = fz_dev_resume_hook;
        f.ctx = d;
        d->srv = &f;
        d->conns++;

        fz_dev_connect(d);
        timers = 0;

        while (!f.closed) {
            if (d->qpos < d->qlen) {
                n = d->qlen - d->qpos;

                switch (fz_rand(&r) & 3) {
                case 0:
                    k = 1 + fz_rand(&r) % 32;
                    break;
                case 1:
                    k = 1 + fz_rand(&r) % 2100;
                    break;
                case 2:
                    k = 1 + fz_rand(&r) % 20000;
                    break;
                default:
                    k = n;
                }

                if (d->split > d->qpos && d->split - d->qpos < k) {
                    k = d->split - d->qpos;
                }

                /* what the server takes is delivered before it answers */
                if (k > n) {
                    k = n;
                }
                if (k > f.opts.conf.buffer_size - f.len) {
                    k = f.opts.conf.buffer_size - f.len;
                }
                d->qpos += k;
                got = fz_server_feed(&f, d->q + d->qpos - k, k);
                fz_assert(got == k || f.closed);

                if (opts.timers && (fz_rand(&r) & 7) == 0
                    && dualcam_server_waiting_sync(&f.s))
                {
                    /*
                     * A slow link: the timer beats the device's SYNC,
                     * which then answers both RESUMEs.  Only running out
                     * of repeats may end the session.
                     */
                    fz_server_timer(&f);
                    if (f.closed) {
                        d->odd = 1;
                    }
                }

                continue;
            }

            if (d->gone || d->closed) {
                break;
            }

            /* the device says nothing: the server may repeat its RESUME */
            if (dualcam_server_waiting_sync(&f.s)
                && ++timers < FZ_TIMERS_MAX)
            {
                fz_server_timer(&f);
                continue;
            }

            break;
        }

        if (!f.closed) {
            if (!d->reconnect || d->conns == FZ_CONNS_MAX) {
                d->odd = 1;
            }
            fz_server_end(&f, d->gone ? DUALCAM_RESULT_CLOSED_BY_DEVICE
                                      : DUALCAM_RESULT_TIMEOUT);
        }

        fz_server_free(&f);

        if (!d->reconnect || d->conns == FZ_CONNS_MAX) {
            break;
        }
    }

    if (!d->fired && !d->odd) {
        /* a clean session ends OK with every file stored */
        fz_assert(f.result == DUALCAM_RESULT_OK);
        fz_assert(d->commits == d->nfiles);
    }

    for (i = 0; i < d->nfiles; i++) {
        free(d->files[i].shadow);
    }

    free(d->content);
    free(d->q);
    free(d->ends);
    free(d);

    return 0;
}
