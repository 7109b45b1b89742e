
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The device state machine; see dualcam_device.h.
 */


#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dualcam_device.h"


enum {
    DEV_WAIT_CMD = 0,           /* init sent, waiting for the server */
    DEV_WAIT_RESUME,            /* START sent */
    DEV_STREAMING,              /* SYNC sent, DATA to produce */
    DEV_WAIT_DONE,              /* all DATA produced, waiting for 00 09 */
    DEV_STALLED,
    DEV_DONE                    /* closed, dropped or failed: inert */
};


static const char  *dualcam_device_idents[] = {
    "%photof", "%photor", "%videof", "%videor"
};


static dualcam_device_action_t *dualcam_device_push(dualcam_device_t *d,
    dualcam_device_action_type_e type);
static void dualcam_device_log(dualcam_device_t *d, dualcam_log_level_e level,
    const char *fmt, ...);
static void dualcam_device_send_init(dualcam_device_t *d);
static void dualcam_device_send_u32(dualcam_device_t *d, unsigned cmd,
    uint32_t v, size_t len);
static void dualcam_device_send_status(dualcam_device_t *d, int file,
    uint32_t status);
static void dualcam_device_finish(dualcam_device_t *d, int file,
    uint32_t status);
static void dualcam_device_fail(dualcam_device_t *d, const char *why);
static int dualcam_device_find(dualcam_device_t *d, const unsigned char *p,
    size_t n);
static void dualcam_device_frame(dualcam_device_t *d, unsigned cmd,
    const unsigned char *p, size_t n);
static void dualcam_device_resume(dualcam_device_t *d, uint32_t v);


static const char *
dualcam_device_ident(const dualcam_device_file_t *f)
{
    unsigned  i;

    i = (f->kind == DUALCAM_KIND_VIDEO ? 2 : 0)
        + (f->side == DUALCAM_SIDE_REAR ? 1 : 0);

    return dualcam_device_idents[i];
}


unsigned
dualcam_device_file_flag(const dualcam_device_file_t *f)
{
    if (f->kind == DUALCAM_KIND_PATH) {
        return DUALCAM_FLAG_PATH;
    }

    if (f->kind == DUALCAM_KIND_VIDEO) {
        return f->side == DUALCAM_SIDE_REAR ? DUALCAM_FLAG_VIDEO_REAR
                                            : DUALCAM_FLAG_VIDEO_FRONT;
    }

    return f->side == DUALCAM_SIDE_REAR ? DUALCAM_FLAG_PHOTO_REAR
                                        : DUALCAM_FLAG_PHOTO_FRONT;
}


uint32_t
dualcam_device_file_total(const dualcam_device_file_t *f)
{
    if (f->kind == DUALCAM_KIND_PATH) {
        return (uint32_t) f->size;
    }

    return (uint32_t) ((f->size + DUALCAM_PACKET_SIZE - 1)
                       / DUALCAM_PACKET_SIZE);
}


void
dualcam_device_init(dualcam_device_t *d, const dualcam_device_conf_t *conf)
{
    unsigned  n;

    memset(d, 0, sizeof(dualcam_device_t));

    d->conf = conf;
    d->cur = -1;
    d->path_cur = -1;

    n = conf->nfiles < DUALCAM_DEVICE_FILES_MAX ? conf->nfiles
                                                : DUALCAM_DEVICE_FILES_MAX;
    d->pending = n == 32 ? 0xffffffffu : (1u << n) - 1;

    /* a unit speaks first: the init packet opens every connection */
    dualcam_device_send_init(d);
}


int
dualcam_device_streaming(dualcam_device_t *d)
{
    return d->state == DEV_STREAMING;
}


int
dualcam_device_idle(dualcam_device_t *d)
{
    return d->pending == 0;
}


static dualcam_device_action_t *
dualcam_device_push(dualcam_device_t *d, dualcam_device_action_type_e type)
{
    dualcam_device_action_t  *a;

    /* at most one SEND and three notes result from one frame */
    a = &d->queue[(d->qhead + d->qlen) % DUALCAM_DEVICE_QUEUE];
    d->qlen++;

    memset(a, 0, sizeof(dualcam_device_action_t));
    a->type = type;
    a->file = -1;

    return a;
}


static void
dualcam_device_log(dualcam_device_t *d, dualcam_log_level_e level,
    const char *fmt, ...)
{
    va_list                   args;
    dualcam_device_action_t  *a;

    va_start(args, fmt);
    vsnprintf(d->msg, sizeof(d->msg), fmt, args);
    va_end(args);

    a = dualcam_device_push(d, DUALCAM_DEV_LOG);
    a->level = level;
    a->msg = d->msg;
}


static void
dualcam_device_send(dualcam_device_t *d)
{
    dualcam_device_action_t  *a;

    a = dualcam_device_push(d, DUALCAM_DEV_SEND);
    a->data = d->out;
    a->len = d->out_len;
}


static void
dualcam_device_send_init(dualcam_device_t *d)
{
    unsigned       i, flags;
    unsigned char *p;

    /* 0x40 is set by every real unit; its meaning is unknown */
    flags = 0x40;

    for (i = 0; i < d->conf->nfiles && i < DUALCAM_DEVICE_FILES_MAX; i++) {
        if (d->pending & (1u << i)) {
            flags |= dualcam_device_file_flag(&d->conf->files[i]);
        }
    }

    p = dualcam_put16(d->out, 0);
    p = dualcam_put16(p, (uint16_t) d->conf->protocol);
    p = dualcam_put32(p, (uint32_t) (d->conf->imei >> 32));
    p = dualcam_put32(p, (uint32_t) d->conf->imei);

    /* settings as the real capture has them: 44 00 04 00 */
    *p++ = (unsigned char) flags;
    *p++ = 0;
    *p++ = 0x04;
    *p++ = 0;

    d->out_len = DUALCAM_INIT_LEN;
    d->inits++;
    d->cur = -1;
    d->state = DEV_WAIT_CMD;

    dualcam_device_send(d);
}


/* STATUS, SYNC (len 4) and START (len 6: the value, then 00 00) */

static void
dualcam_device_send_u32(dualcam_device_t *d, unsigned cmd, uint32_t v,
    size_t len)
{
    unsigned char  *p;

    p = dualcam_put16(d->out, (uint16_t) cmd);
    p = dualcam_put16(p, (uint16_t) len);
    p = dualcam_put32(p, v);

    if (len == 6) {
        /* START: the blank field */
        dualcam_put16(p, 0);
    }

    d->out_len = 4 + len;
    dualcam_device_send(d);
}


static void
dualcam_device_send_status(dualcam_device_t *d, int file, uint32_t status)
{
    dualcam_device_log(d, DUALCAM_LOG_INFO, "device: STATUS %u (%s)",
                       (unsigned) status, dualcam_status_text(status));
    dualcam_device_send_u32(d, DUALCAM_CMD_STATUS, status, 4);

    if (file >= 0) {
        /* the file is "not there": a real unit does not offer it again */
        dualcam_device_finish(d, file, status);
    }

    d->cur = -1;
    d->state = DEV_WAIT_CMD;
}


static void
dualcam_device_finish(dualcam_device_t *d, int file, uint32_t status)
{
    uint64_t                  sent;
    dualcam_device_action_t  *a;

    sent = (file == d->cur) ? d->pos : 0;

    a = dualcam_device_push(d, DUALCAM_DEV_FILE_DONE);
    a->file = file;
    a->status = status;
    a->value = sent;
    /*
     * 00 09 in the middle of sending the file again (the device answered
     * a RESUME the server repeated while the SYNC was on its way) still
     * means the server has it all: the device had sent every byte.
     */

    a->complete = (status == 0 && file == d->cur
                   && (d->state == DEV_WAIT_DONE || d->sent_all));

    d->pending &= ~(1u << file);

    if (d->path_cur == file) {
        d->path_cur = -1;
    }
}


static void
dualcam_device_fail(dualcam_device_t *d, const char *why)
{
    dualcam_device_log(d, DUALCAM_LOG_INFO, "device: %s", why);
    dualcam_device_push(d, DUALCAM_DEV_ERROR);
    d->state = DEV_DONE;
}


int
dualcam_device_step(dualcam_device_t *d, const unsigned char *in,
    size_t len, size_t *consumed, dualcam_device_action_t *action)
{
    size_t    pos, rest, flen, n;
    unsigned  cmd;

    pos = 0;

    for ( ;; ) {

        if (d->qlen) {
            *action = d->queue[d->qhead];
            d->qhead = (d->qhead + 1) % DUALCAM_DEVICE_QUEUE;
            d->qlen--;
            *consumed = pos;
            return DUALCAM_ACTION;
        }

        rest = len - pos;

        if (d->state == DEV_DONE) {
            /* nothing the server says matters after CLOSE or a drop */
            *consumed = len;
            return DUALCAM_AGAIN;
        }

        if (rest < 2) {
            break;
        }

        cmd = dualcam_get16(in + pos);

        if (cmd == DUALCAM_CMD_REPEAT_INIT) {
            /* the vendor server sends it without a length */
            pos += 2;
            dualcam_device_frame(d, cmd, NULL, 0);
            continue;
        }

        if (rest < 4) {
            break;
        }

        n = dualcam_get16(in + pos + 2);

        if (4 + n > DUALCAM_DEVICE_IN_MAX) {
            pos += 4;
            dualcam_device_fail(d, "server frame too long");
            continue;
        }

        flen = 4 + n;

        if (rest < flen) {
            break;
        }

        pos += flen;
        dualcam_device_frame(d, cmd, in + pos - n, n);
    }

    *consumed = pos;
    return DUALCAM_AGAIN;
}


static int
dualcam_device_find(dualcam_device_t *d, const unsigned char *p, size_t n)
{
    unsigned                      i;
    const dualcam_device_file_t  *f;

    for (i = 0; i < d->conf->nfiles && i < DUALCAM_DEVICE_FILES_MAX; i++) {
        if (!(d->pending & (1u << i))) {
            continue;
        }

        f = &d->conf->files[i];

        if (f->kind == DUALCAM_KIND_PATH) {
            if (f->path_len == n && memcmp(f->path, p, n) == 0) {
                return (int) i;
            }

        } else if (n == DUALCAM_IDENT_LEN
                   && memcmp(dualcam_device_ident(f), p, n) == 0)
        {
            return (int) i;
        }
    }

    return -1;
}


static void
dualcam_device_frame(dualcam_device_t *d, unsigned cmd,
    const unsigned char *p, size_t n)
{
    int                           i;
    unsigned                      k;
    const dualcam_device_file_t  *f;

    if (d->state == DEV_STALLED && cmd != DUALCAM_CMD_CLOSE) {
        /* a stalled unit hears nothing: the server must time it out */
        return;
    }

    switch (cmd) {

    case DUALCAM_CMD_CLOSE:
        if (n != 0) {
            dualcam_device_fail(d, "CLOSE with data");
            return;
        }

        dualcam_device_push(d, DUALCAM_DEV_CLOSED);
        d->state = DEV_DONE;
        return;

    case DUALCAM_CMD_REPEAT_INIT:
        if (d->cur >= 0) {
            dualcam_device_finish(d, d->cur, 0);
        }

        dualcam_device_send_init(d);
        return;

    case DUALCAM_CMD_PATH_REQUEST:
        for (k = 0; k < d->conf->nfiles && k < DUALCAM_DEVICE_FILES_MAX; k++) {
            if ((d->pending & (1u << k))
                && d->conf->files[k].kind == DUALCAM_KIND_PATH)
            {
                break;
            }
        }

        if (k == d->conf->nfiles || k == DUALCAM_DEVICE_FILES_MAX) {
            dualcam_device_send_status(d, -1, DUALCAM_STATUS_READ_FAILED);
            return;
        }

        f = &d->conf->files[k];
        d->path_cur = (int) k;

        dualcam_put16(d->out, DUALCAM_CMD_PATH);
        dualcam_put16(d->out + 2, (uint16_t) f->path_len);
        memcpy(d->out + 4, f->path, f->path_len);
        d->out_len = 4 + f->path_len;
        dualcam_device_send(d);
        return;

    case DUALCAM_CMD_METADATA_QUERY:
        /* an empty query asks about the path just sent */
        i = (n == 0) ? d->path_cur : dualcam_device_find(d, p, n);

        if (i < 0) {
            dualcam_device_send_status(d, -1, DUALCAM_STATUS_READ_FAILED);
            return;
        }

        f = &d->conf->files[i];

        if (f->no_meta_answer) {
            dualcam_device_log(d, DUALCAM_LOG_INFO,
                               "device: metadata query left unanswered");
            return;
        }

        if (f->status_on == DUALCAM_CMD_METADATA_QUERY) {
            dualcam_device_send_status(d, i, f->status);
            return;
        }

        if (f->meta == NULL || f->meta_len > DUALCAM_DEVICE_META_MAX) {
            dualcam_device_send_status(d, i, DUALCAM_STATUS_READ_FAILED);
            return;
        }

        dualcam_put16(d->out, DUALCAM_CMD_METADATA);
        dualcam_put16(d->out + 2, (uint16_t) f->meta_len);
        memcpy(d->out + 4, f->meta, f->meta_len);
        d->out_len = 4 + f->meta_len;
        dualcam_device_send(d);
        return;

    case DUALCAM_CMD_FILE_REQUEST:
        i = dualcam_device_find(d, p, n);

        if (i < 0) {
            dualcam_device_log(d, DUALCAM_LOG_INFO,
                               "device: request for a file not held");
            dualcam_device_send_status(d, -1, DUALCAM_STATUS_READ_FAILED);
            return;
        }

        f = &d->conf->files[i];

        if (f->status_on == DUALCAM_CMD_FILE_REQUEST) {
            dualcam_device_send_status(d, i, f->status);
            return;
        }

        d->cur = i;
        d->pos = 0;
        d->sent_all = 0;
        d->packet = 1;
        d->state = DEV_WAIT_RESUME;
        dualcam_device_send_u32(d, DUALCAM_CMD_START,
                                dualcam_device_file_total(f), 6);
        return;

    case DUALCAM_CMD_RESUME:
        if (n != 4) {
            dualcam_device_fail(d, "RESUME of a wrong length");
            return;
        }

        dualcam_device_resume(d, dualcam_get32(p));
        return;

    default:
        dualcam_device_fail(d, "unknown server command");
        return;
    }
}


static void
dualcam_device_resume(dualcam_device_t *d, uint32_t v)
{
    uint32_t                      sync;
    uint64_t                      pos;
    dualcam_device_action_t      *a;
    const dualcam_device_file_t  *f;

    if (d->cur < 0 || d->state == DEV_WAIT_CMD) {
        dualcam_device_log(d, DUALCAM_LOG_INFO,
                           "device: RESUME without a file request");
        dualcam_device_send_status(d, -1, DUALCAM_STATUS_BAD_RESUME);
        return;
    }

    f = &d->conf->files[d->cur];

    if (d->nresumes < DUALCAM_DEVICE_RESUMES_MAX) {
        d->resumes[d->nresumes].file = (unsigned) d->cur;
        d->resumes[d->nresumes].value = v;
    }

    d->nresumes++;

    a = dualcam_device_push(d, DUALCAM_DEV_RESUME);
    a->file = d->cur;
    a->value = v;

    if (f->status_on == DUALCAM_CMD_RESUME) {
        dualcam_device_send_status(d, d->cur, f->status);
        return;
    }

    if (f->kind == DUALCAM_KIND_PATH) {
        pos = v;
        sync = v;

    } else {
        /* packet units, 1-based; RESUME 0 means the first (SYNC 1) */
        sync = v ? v : 1;
        pos = (uint64_t) (sync - 1) * DUALCAM_PACKET_SIZE;
    }

    if (pos > f->size) {
        dualcam_device_send_status(d, d->cur, DUALCAM_STATUS_BAD_RESUME);
        return;
    }

    d->pos = pos;
    d->packet = (uint32_t) (pos / DUALCAM_PACKET_SIZE) + 1;
    d->crc = 0;
    d->state = (pos < f->size) ? DEV_STREAMING : DEV_WAIT_DONE;

    dualcam_device_send_u32(d, DUALCAM_CMD_SYNC, sync, 4);
}


size_t
dualcam_device_fill(dualcam_device_t *d, unsigned char *buf, size_t cap)
{
    int                           bad;
    size_t                        n, hdr, flen;
    uint16_t                      sent;
    unsigned char                *p, *last;
    const dualcam_device_file_t  *f;

    if (d->state != DEV_STREAMING || d->qlen) {
        /* a queued SYNC must reach the wire before the DATA after it */
        return 0;
    }

    f = &d->conf->files[d->cur];
    hdr = f->enhanced ? 8 : 4;
    p = buf;
    last = buf + cap;

    while (d->pos < f->size) {
        n = (f->size - d->pos < DUALCAM_PACKET_SIZE)
            ? (size_t) (f->size - d->pos) : DUALCAM_PACKET_SIZE;
        flen = hdr + n + 2;

        if ((size_t) (last - p) < flen) {
            break;
        }

        if (d->conf->get(d->conf->ctx, (unsigned) d->cur, d->pos, p + hdr, n)
            != 0)
        {
            dualcam_device_fail(d, "cannot read the file content");
            break;
        }

        if (f->enhanced) {
            dualcam_put16(p, DUALCAM_CMD_ENHANCED_DATA);
            dualcam_put16(p + 2, (uint16_t) (n + 6));
            dualcam_put32(p + 4, (uint32_t) d->pos);

        } else {
            dualcam_put16(p, DUALCAM_CMD_DATA);
            dualcam_put16(p + 2, (uint16_t) (n + 2));
        }

        d->crc = dualcam_crc16(d->crc, p + hdr, n);
        sent = d->crc;

        bad = 0;

        if (f->crc_error_at == d->packet
            && !(d->injected & (1u << d->cur)))
        {
            d->injected |= 1u << d->cur;
            bad = 1;
        }

        if (d->conf->corrupt
            && d->conf->corrupt(d->conf->ctx, (unsigned) d->cur, d->packet))
        {
            bad = 1;
        }

        if (bad) {
            /* the line garbled it; the unit's own chain goes on */
            sent ^= 0xa5a5;
        }

        dualcam_put16(p + hdr + n, sent);

        p += flen;
        d->pos += n;
        d->frames++;
        d->bytes += n;

        if (f->drop_after == d->packet) {
            d->packet++;
            dualcam_device_push(d, DUALCAM_DEV_DROP);
            d->state = DEV_DONE;
            return (size_t) (p - buf);
        }

        if (f->stall_after == d->packet) {
            d->packet++;
            dualcam_device_push(d, DUALCAM_DEV_STALL);
            d->state = DEV_STALLED;
            return (size_t) (p - buf);
        }

        d->packet++;
    }

    if (d->state == DEV_STREAMING && d->pos >= f->size) {
        d->state = DEV_WAIT_DONE;
        d->sent_all = 1;
    }

    return (size_t) (p - buf);
}
