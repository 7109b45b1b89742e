
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * fuzz_device: the device core (src/dualcam_device.c) fed arbitrary server
 * bytes, driven as dualcam_device.h says: step until AGAIN, fill while
 * streaming, step again.
 *
 * Input: 1 byte (protocol, number of files, a corrupt callback, a get
 * callback that fails past 3000 bytes), 6 bytes per file (kind, side,
 * size, enhanced, metadata, injected faults, STATUS answers), 4 bytes of
 * chunking seed, then the bytes the server sends.
 *
 * Checked: consumed <= len and AGAIN leaves at most one partial frame;
 * never more than DUALCAM_DEVICE_IN_MAX bytes needed; the action queue
 * never overflows; every SEND is one well-formed device frame (an init
 * with our IMEI, START with the file's total, SYNC, STATUS, METADATA as
 * configured, PATH as configured); fill writes whole DATA frames within
 * cap, carrying the file's bytes from the position the last SYNC named,
 * with the running CRC restarted at that SYNC (or the injected bad one);
 * the get callback is never asked for bytes past a file's end; after
 * CLOSED, DROP or ERROR the device stays silent.
 */


#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "dualcam_device.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


#define FZ_DEV_FILES   4
#define FZ_DEV_CFG     6


typedef struct {
    dualcam_device_conf_t     conf;
    dualcam_device_t          d;
    unsigned char             meta[DUALCAM_DEVICE_META_MAX + 16];

    /* what the SYNC promised */
    int                       cur;
    uint64_t                  pos;
    uint16_t                  crc;
    unsigned                  get_fails:1;  /* no bytes past 3000 */
    unsigned                  dead:1;       /* CLOSED, DROP or ERROR */
    unsigned                  stalled:1;
    unsigned long             frames;
} fz_devctx_t;


static unsigned char
fz_byte(unsigned file, uint64_t off)
{
    return (unsigned char) (off * 131 + file * 7 + (off >> 8));
}


static int
fz_get(void *ctx, unsigned file, uint64_t offset, unsigned char *dst,
    size_t n)
{
    size_t        i;
    fz_devctx_t  *c;

    c = ctx;

    fz_assert(file < c->conf.nfiles);
    fz_assert(n >= 1 && n <= DUALCAM_PACKET_SIZE);
    fz_assert(offset + n <= c->conf.files[file].size);

    if (c->get_fails && offset >= 3000) {
        /* the SD card fails under the device */
        return -1;
    }

    for (i = 0; i < n; i++) {
        dst[i] = fz_byte(file, offset + i);
    }

    return 0;
}


static int
fz_corrupt(void *ctx, unsigned file, uint32_t packet)
{
    (void) ctx;

    return (packet + file) % 5 == 0;
}


static void
fz_check_frame(fz_devctx_t *c, const unsigned char *p, size_t n)
{
    size_t                        len;
    unsigned                      cmd, i, flags;
    uint32_t                      v;
    const dualcam_device_file_t  *f;

    fz_assert(n >= 4);
    cmd = dualcam_get16(p);

    if (cmd == 0) {
        /* the init */
        fz_assert(n == DUALCAM_INIT_LEN);
        fz_assert(dualcam_get16(p + 2) == (c->conf.protocol & 0xffff));
        fz_assert(dualcam_get64(p + 4) == c->conf.imei);

        flags = 0;
        for (i = 0; i < c->conf.nfiles; i++) {
            if (c->d.pending & (1u << i)) {
                flags |= dualcam_device_file_flag(&c->conf.files[i]);
            }
        }
        fz_assert((p[12] & DUALCAM_FLAG_FILES) == flags);

        c->cur = -1;
        return;
    }

    len = dualcam_get16(p + 2);
    fz_assert(n == 4 + len);

    switch (cmd) {

    case DUALCAM_CMD_START:
        fz_assert(len == 6);
        fz_assert(c->d.cur >= 0 && (unsigned) c->d.cur < c->conf.nfiles);
        f = &c->conf.files[c->d.cur];
        fz_assert(dualcam_get32(p + 4) == dualcam_device_file_total(f));
        c->cur = c->d.cur;
        break;

    case DUALCAM_CMD_SYNC:
        fz_assert(len == 4);
        fz_assert(c->cur >= 0 && c->cur == c->d.cur);
        f = &c->conf.files[c->cur];
        v = dualcam_get32(p + 4);

        if (f->kind == DUALCAM_KIND_PATH) {
            c->pos = v;
        } else {
            fz_assert(v >= 1);
            c->pos = (uint64_t) (v - 1) * DUALCAM_PACKET_SIZE;
        }

        fz_assert(c->pos <= f->size);
        c->crc = 0;
        break;

    case DUALCAM_CMD_STATUS:
        fz_assert(len == 4);
        break;

    case DUALCAM_CMD_METADATA:
        fz_assert(len <= DUALCAM_DEVICE_META_MAX);
        fz_assert(memcmp(p + 4, c->meta, len) == 0);
        break;

    case DUALCAM_CMD_PATH:
        fz_assert(len >= 1);
        for (i = 0; i < c->conf.nfiles; i++) {
            f = &c->conf.files[i];
            if (f->kind == DUALCAM_KIND_PATH && f->path_len == len
                && memcmp(f->path, p + 4, len) == 0)
            {
                break;
            }
        }
        fz_assert(i < c->conf.nfiles);
        break;

    default:
        fz_fail(__FILE__, __LINE__, "device sent an unknown command");
    }
}


static void
fz_check_fill(fz_devctx_t *c, const unsigned char *p, size_t n)
{
    size_t                        len, k, hdr, i;
    unsigned                      cmd;
    uint16_t                      crc, sent;
    const dualcam_device_file_t  *f;

    fz_assert(c->cur >= 0);
    f = &c->conf.files[c->cur];

    while (n > 0) {
        fz_assert(n >= 4);
        cmd = dualcam_get16(p);
        len = dualcam_get16(p + 2);
        fz_assert(n >= 4 + len);

        hdr = f->enhanced ? 8 : 4;
        fz_assert(cmd == (f->enhanced ? DUALCAM_CMD_ENHANCED_DATA
                                      : DUALCAM_CMD_DATA));
        fz_assert(len >= hdr - 4 + 3);

        k = len - (hdr - 4) - 2;
        fz_assert(k >= 1 && k <= DUALCAM_PACKET_SIZE);
        fz_assert(c->pos + k <= f->size);
        fz_assert(k == DUALCAM_PACKET_SIZE || c->pos + k == f->size);

        if (f->enhanced) {
            fz_assert(dualcam_get32(p + 4) == (uint32_t) c->pos);
        }

        for (i = 0; i < k; i++) {
            fz_assert(p[hdr + i] == fz_byte((unsigned) c->cur, c->pos + i));
        }

        crc = dualcam_crc16_bytewise(c->crc, p + hdr, k);
        sent = dualcam_get16(p + hdr + k);
        fz_assert(sent == crc || sent == (crc ^ 0xa5a5));
        c->crc = crc;

        c->pos += k;
        p += 4 + len;
        n -= 4 + len;
        c->frames++;
    }
}


static void
fz_action(fz_devctx_t *c, dualcam_device_action_t *a)
{
    fz_assert(!c->dead);

    switch (a->type) {

    case DUALCAM_DEV_SEND:
        fz_assert(!c->stalled);
        fz_check_frame(c, a->data, a->len);
        break;

    case DUALCAM_DEV_RESUME:
    case DUALCAM_DEV_FILE_DONE:
        fz_assert(a->file >= 0 && (unsigned) a->file < c->conf.nfiles);
        break;

    case DUALCAM_DEV_CLOSED:
    case DUALCAM_DEV_DROP:
    case DUALCAM_DEV_ERROR:
        c->dead = 1;
        break;

    case DUALCAM_DEV_STALL:
        c->stalled = 1;
        break;

    case DUALCAM_DEV_LOG:
        fz_assert(a->msg != NULL && strlen(a->msg) < sizeof(c->d.msg));
        break;

    default:
        fz_fail(__FILE__, __LINE__, "unknown device action");
    }
}


/* step until AGAIN over in[0 .. len), returns what was consumed */

static size_t
fz_steps(fz_devctx_t *c, const unsigned char *in, size_t len)
{
    int                      rc;
    size_t                   pos, consumed, rest;
    unsigned                 guard;
    unsigned char           *copy;
    dualcam_device_action_t  a;
    static unsigned char     none[1];

    if (in == NULL) {
        in = none;
    }

    pos = 0;

    for (guard = 0; ; guard++) {
        fz_assert(guard < 100000);

        copy = malloc(len - pos + 1);
        fz_assert(copy != NULL);
        memcpy(copy + (len == pos), in + pos, len - pos);

        memset(&a, 0, sizeof(a));
        rc = dualcam_device_step(&c->d, copy + (len == pos), len - pos,
                                 &consumed, &a);

        fz_assert(rc == DUALCAM_AGAIN || rc == DUALCAM_ACTION);
        fz_assert(consumed <= len - pos);
        fz_assert(c->d.qlen <= DUALCAM_DEVICE_QUEUE);

        rest = len - pos - consumed;
        pos += consumed;

        if (rc == DUALCAM_AGAIN) {
            free(copy);

            /* a complete server frame is never left behind */
            if (!c->dead && rest >= 2) {
                fz_assert(dualcam_get16(in + pos)
                          != DUALCAM_CMD_REPEAT_INIT);
            }
            if (!c->dead && rest >= 4) {
                fz_assert(rest < 4 + (size_t) dualcam_get16(in + pos + 2));
            }
            return pos;
        }

        if (c->dead) {
            /* nothing after CLOSED, DROP or ERROR but queued notes */
            fz_assert(a.type == DUALCAM_DEV_LOG);
            free(copy);
            continue;
        }

        fz_action(c, &a);
        free(copy);
    }
}


static void
fz_pump(fz_devctx_t *c, fz_rand_t *r)
{
    size_t          cap, n;
    unsigned        guard;
    unsigned char  *buf;

    for (guard = 0; dualcam_device_streaming(&c->d); guard++) {
        fz_assert(guard < 100000);
        fz_assert(!c->dead && !c->stalled);

        switch (fz_rand(r) & 3) {
        case 0:
            cap = fz_rand(r) % DUALCAM_DATA_FRAME_MAX;
            break;
        case 1:
            cap = DUALCAM_DATA_FRAME_MAX;
            break;
        default:
            cap = 1 + fz_rand(r) % 65536;
        }

        buf = malloc(cap + 1);
        fz_assert(buf != NULL);

        n = dualcam_device_fill(&c->d, buf, cap);
        fz_assert(n <= cap);

        if (n > 0) {
            fz_check_fill(c, buf, n);
        }

        free(buf);

        /* what fill queued: DROP, STALL, ERROR and their notes */
        (void) fz_steps(c, NULL, 0);

        if (n == 0 && cap >= DUALCAM_DATA_FRAME_MAX) {
            /* enough room and nothing written: only a failure may */
            fz_assert(c->dead || !dualcam_device_streaming(&c->d));
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                  i, k, n, len;
    unsigned                b;
    fz_rand_t               r;
    fz_devctx_t            *c;
    dualcam_device_file_t  *f;
    unsigned char           in[DUALCAM_DEVICE_IN_MAX];

    static const unsigned char  *paths[] = {
        (const unsigned char *) "dsm/picture/231020/231452.jpg",
        (const unsigned char *) "adas/video/x.mp4",
    };

    if (size < 1 + 4) {
        return 0;
    }

    c = calloc(1, sizeof(fz_devctx_t));
    fz_assert(c != NULL);

    b = data[0];
    c->conf.protocol = (b & 1) ? 6 : 5;
    c->conf.imei = 863719061653375ULL;
    c->conf.nfiles = 1 + ((b >> 1) & 3);
    c->conf.get = fz_get;
    c->conf.corrupt = (b & 0x08) ? fz_corrupt : NULL;
    c->conf.ctx = c;
    c->get_fails = (b >> 4) & 1;
    data++;
    size--;

    for (i = 0; i < sizeof(c->meta); i++) {
        c->meta[i] = (unsigned char) (i * 17 + 3);
    }

    for (i = 0; i < c->conf.nfiles; i++) {
        f = &c->conf.files[i];

        if (size < FZ_DEV_CFG) {
            c->conf.nfiles = (unsigned) i;
            break;
        }

        b = data[0];
        f->kind = (b & 3) == 0 ? DUALCAM_KIND_PATH
                  : (b & 3) == 1 ? DUALCAM_KIND_PHOTO : DUALCAM_KIND_VIDEO;
        f->side = (b & 4) ? DUALCAM_SIDE_REAR : DUALCAM_SIDE_FRONT;
        f->enhanced = (b >> 3) & 1;
        f->no_meta_answer = (b >> 4) & 1;

        if (f->kind == DUALCAM_KIND_PATH) {
            f->path = paths[(b >> 5) & 1];
            f->path_len = strlen((const char *) f->path) + ((b >> 6) & 1);
        }

        f->size = (uint64_t) dualcam_get16(data + 1) * ((b >> 7) ? 1 : 3);

        if (data[3] & 0x80) {
            f->meta = NULL;
        } else {
            f->meta = c->meta;
            f->meta_len = (size_t) (data[3] & 0x7f) * 9;
        }

        f->crc_error_at = data[4] & 0x0f;
        f->drop_after = (data[4] >> 4) & 0x0f;
        f->stall_after = data[5] & 0x0f;

        switch ((data[5] >> 4) & 7) {
        case 1:
            f->status_on = DUALCAM_CMD_METADATA_QUERY;
            break;
        case 2:
            f->status_on = DUALCAM_CMD_FILE_REQUEST;
            break;
        case 3:
            f->status_on = DUALCAM_CMD_RESUME;
            break;
        default:
            f->status_on = 0;
        }
        f->status = data[5] >> 7 ? 17 : 4;

        data += FZ_DEV_CFG;
        size -= FZ_DEV_CFG;
    }

    if (size < 4) {
        free(c);
        return 0;
    }

    r.s = dualcam_get32(data);
    data += 4;
    size -= 4;

    c->cur = -1;
    dualcam_device_init(&c->d, &c->conf);

    /* the init comes first */
    (void) fz_steps(c, NULL, 0);

    len = 0;

    while (size > 0 && !c->dead) {
        switch (fz_rand(&r) & 3) {
        case 0:
            n = 1 + fz_rand(&r) % 8;
            break;
        case 1:
            n = 1 + fz_rand(&r) % 300;
            break;
        default:
            n = size;
        }

        if (n > size) {
            n = size;
        }
        if (n > sizeof(in) - len) {
            n = sizeof(in) - len;
        }

        memcpy(in + len, data, n);
        len += n;
        data += n;
        size -= n;

        k = fz_steps(c, in, len);
        memmove(in, in + k, len - k);
        len -= k;

        /* DUALCAM_DEVICE_IN_MAX is always enough */
        fz_assert(c->dead || len < sizeof(in));

        if (!c->dead && !c->stalled) {
            fz_pump(c, &r);
        }

        /* idle: nothing pending, so the init offers nothing */
        (void) dualcam_device_idle(&c->d);
    }

    if (c->dead) {
        n = dualcam_device_fill(&c->d, in, sizeof(in));
        fz_assert(n == 0);
    }

    free(c);

    return 0;
}
