/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The server (camera server) side of the protocol, sans I/O: the caller
 * feeds received bytes, the core answers with one action at a time
 * (PROTOCOL.md section 7 for the flow, section 4 for the units).
 *
 * A step may produce several actions (a log line, an abort, a frame to
 * send, the close); the first is returned, the rest are queued as bits in
 * s->pending and handed out, in a fixed order, before any more input is
 * parsed.  FILE_WRITE and METADATA are never queued: they point into the
 * caller's input, which is only valid during the call that parsed it.
 */


#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dualcam.h"
#include "dualcam_json.h"


enum {
    DUALCAM_ST_INIT = 0,    /* waiting for the 16-byte init */
    DUALCAM_ST_HELLO,       /* HELLO handed out, the caller may refuse */
    DUALCAM_ST_PATH,        /* 0x000C sent */
    DUALCAM_ST_META,        /* 0x000A sent */
    DUALCAM_ST_START,       /* 0x0008 sent */
    DUALCAM_ST_OPEN,        /* FILE_OPEN handed out, may resume_from */
    DUALCAM_ST_SYNC,        /* RESUME sent */
    DUALCAM_ST_DATA,        /* SYNC seen, DATA streaming */
    DUALCAM_ST_COMMIT,      /* FILE_COMMIT handed out, the device waits */
    DUALCAM_ST_CLOSED
};


/* queued actions, handed out in this order */

#define DUALCAM_P_LOG       0x01u
#define DUALCAM_P_ABORT     0x02u
#define DUALCAM_P_PROGRESS  0x04u
#define DUALCAM_P_COMMIT    0x08u
#define DUALCAM_P_SEND      0x10u
#define DUALCAM_P_CLOSE     0x20u


/* a frame was handled and produced no action of its own */
#define DUALCAM_NEXT        2

#define DUALCAM_PROGRESS_EVERY  16


static int dualcam_server_emit(dualcam_server_t *s, dualcam_action_t *act);
static int dualcam_server_frame(dualcam_server_t *s, const unsigned char *p,
    size_t n, size_t *used, dualcam_action_t *act);
static int dualcam_server_check_header(dualcam_server_t *s, unsigned cmd,
    size_t len);
static int dualcam_server_dispatch(dualcam_server_t *s, unsigned cmd,
    const unsigned char *p, size_t len, dualcam_action_t *act);
static int dualcam_server_init_packet(dualcam_server_t *s,
    const unsigned char *p, dualcam_action_t *act);
static void dualcam_server_next_file(dualcam_server_t *s);
static void dualcam_server_path(dualcam_server_t *s, const unsigned char *p,
    size_t len);
static int dualcam_server_meta(dualcam_server_t *s, const unsigned char *p,
    size_t len, dualcam_action_t *act);
static int dualcam_server_start(dualcam_server_t *s, const unsigned char *p,
    dualcam_action_t *act);
static void dualcam_server_resume(dualcam_server_t *s);
static void dualcam_server_sync(dualcam_server_t *s, const unsigned char *p);
static int dualcam_server_data(dualcam_server_t *s, unsigned cmd,
    const unsigned char *p, size_t len, dualcam_action_t *act);
static void dualcam_server_bad_data(dualcam_server_t *s, uint16_t got,
    uint16_t expected, uint32_t offset, int offset_bad);
static void dualcam_server_status(dualcam_server_t *s, uint32_t code);
static void dualcam_server_send(dualcam_server_t *s, unsigned cmd,
    const unsigned char *data, size_t len);
static void dualcam_server_send_raw(dualcam_server_t *s,
    const unsigned char *data, size_t len);
static void dualcam_server_fail(dualcam_server_t *s, dualcam_result_e result,
    dualcam_log_level_e level, const char *fmt, ...);
static void dualcam_server_log(dualcam_server_t *s, dualcam_log_level_e level,
    const char *fmt, ...);
static void dualcam_server_vlog(dualcam_server_t *s,
    dualcam_log_level_e level, const char *fmt, va_list args);
static const char *dualcam_server_state_name(int state);


static const unsigned char  dualcam_close_frame[4] = { 0, 0, 0, 0 };
static const unsigned char  dualcam_repeat_init[2] = { 0, 9 };


/*
 * The order files are asked for.  Decision (PROTOCOL.md section 7):
 * photos before videos, front before rear; a path-mode file last.
 */

static const unsigned  dualcam_file_order[] = {
    DUALCAM_FLAG_PHOTO_FRONT, DUALCAM_FLAG_PHOTO_REAR,
    DUALCAM_FLAG_VIDEO_FRONT, DUALCAM_FLAG_VIDEO_REAR, DUALCAM_FLAG_PATH
};


void
dualcam_server_init(dualcam_server_t *s, const dualcam_server_conf_t *conf)
{
    memset(s, 0, sizeof(dualcam_server_t));

    s->conf = *conf;

    /* a DATA frame must always fit, whatever the caller configured */

    if (s->conf.buffer_size < DUALCAM_DATA_FRAME_MAX) {
        s->conf.buffer_size = DUALCAM_DATA_FRAME_MAX;
    }

    s->state = DUALCAM_ST_INIT;
}


int
dualcam_server_step(dualcam_server_t *s, const unsigned char *in,
    size_t len, size_t *consumed, dualcam_action_t *action)
{
    int     rc;
    size_t  pos, used;

    pos = 0;

    /* the metadata referenced the input of the previous call */
    s->file.meta.raw = NULL;
    s->file.meta.json = NULL;

    for ( ;; ) {

        if (s->pending) {
            rc = dualcam_server_emit(s, action);

            if (rc == DUALCAM_ACTION) {
                *consumed = pos;
                return DUALCAM_ACTION;
            }
        }

        switch (s->state) {

        case DUALCAM_ST_CLOSED:
        case DUALCAM_ST_COMMIT:
            *consumed = pos;
            memset(action, 0, sizeof(dualcam_action_t));
            return DUALCAM_AGAIN;

        case DUALCAM_ST_HELLO:
            if (s->refused) {
                dualcam_server_send_raw(s, dualcam_close_frame, 4);
                s->result = DUALCAM_RESULT_REFUSED;
                s->pending |= DUALCAM_P_CLOSE;
                s->state = DUALCAM_ST_CLOSED;

            } else {
                dualcam_server_next_file(s);
            }

            continue;

        case DUALCAM_ST_OPEN:
            dualcam_server_resume(s);
            continue;

        default:
            break;
        }

        /* (in may be NULL with len 0: no arithmetic on it then) */

        used = 0;
        rc = dualcam_server_frame(s, pos ? in + pos : in, len - pos, &used,
                                  action);
        pos += used;

        if (rc == DUALCAM_AGAIN) {
            *consumed = pos;
            memset(action, 0, sizeof(dualcam_action_t));
            return DUALCAM_AGAIN;
        }

        if (rc == DUALCAM_ACTION) {
            *consumed = pos;
            return DUALCAM_ACTION;
        }
    }
}


void
dualcam_server_refuse(dualcam_server_t *s)
{
    if (s->state == DUALCAM_ST_HELLO) {
        s->refused = 1;
    }
}


uint64_t
dualcam_server_resume_from(dualcam_server_t *s, uint64_t bytes)
{
    uint64_t         kept, k;
    dualcam_file_t  *f;

    if (s->state != DUALCAM_ST_OPEN) {
        return 0;
    }

    f = &s->file;

    /*
     * At least the last unit is always fetched again: in packet mode the
     * exact size is only known from the last packet, and a transfer that
     * sends nothing would never complete.
     */

    if (f->path_mode) {
        kept = bytes < f->total ? bytes : f->total - 1;

    } else {
        k = bytes / DUALCAM_PACKET_SIZE;

        if (k > f->total - 1) {
            k = f->total - 1;
        }

        f->packets = (uint32_t) k;
        kept = k * DUALCAM_PACKET_SIZE;
    }

    f->received = kept;
    f->resume_from = kept;
    s->write_pos = kept;

    return kept;
}


void
dualcam_server_committed(dualcam_server_t *s, dualcam_commit_e outcome)
{
    if (s->state != DUALCAM_ST_COMMIT) {
        return;
    }

    if (outcome == DUALCAM_COMMIT_DUPLICATE) {
        s->duplicates++;

    } else {
        s->files_done++;
        s->bytes_done += s->file.received;
    }

    dualcam_server_send_raw(s, dualcam_repeat_init, 2);
    s->state = DUALCAM_ST_INIT;
}


int
dualcam_server_waiting_sync(dualcam_server_t *s)
{
    return s->state == DUALCAM_ST_SYNC && s->pending == 0;
}


int
dualcam_server_timer(dualcam_server_t *s, dualcam_action_t *action)
{
    unsigned char  buf[4];

    if (s->state != DUALCAM_ST_SYNC) {
        memset(action, 0, sizeof(dualcam_action_t));
        return DUALCAM_AGAIN;
    }

    if (++s->resume_repeats > s->conf.max_resume_repeats) {
        dualcam_server_fail(s, DUALCAM_RESULT_TIMEOUT, DUALCAM_LOG_NOTICE,
                            "no SYNC for %s: RESUME %u repeated %u times",
                            s->file.name, (unsigned) s->resume_value,
                            s->conf.max_resume_repeats);

    } else {
        dualcam_put32(buf, s->resume_value);
        dualcam_server_send(s, DUALCAM_CMD_RESUME, buf, 4);
        s->unanswered++;
    }

    return dualcam_server_emit(s, action);
}


int
dualcam_server_end(dualcam_server_t *s, dualcam_result_e result,
    dualcam_action_t *action)
{
    memset(action, 0, sizeof(dualcam_action_t));

    /* the first reason wins: a core-detected error stays the result */

    if (s->result == DUALCAM_RESULT_NONE) {
        s->result = result;
    }

    s->pending = 0;
    s->state = DUALCAM_ST_CLOSED;

    if (!s->file_open) {
        return DUALCAM_AGAIN;
    }

    s->file_open = 0;

    action->type = DUALCAM_ACT_FILE_ABORT;
    action->file = &s->file;
    action->offset = s->file.received;

    return DUALCAM_ACTION;
}


static int
dualcam_server_emit(dualcam_server_t *s, dualcam_action_t *act)
{
    unsigned  p;

    memset(act, 0, sizeof(dualcam_action_t));

    p = s->pending;

    if (p & DUALCAM_P_LOG) {
        s->pending &= ~DUALCAM_P_LOG;
        act->type = DUALCAM_ACT_LOG;
        act->level = s->log_level;
        act->msg = s->msg;
        return DUALCAM_ACTION;
    }

    if (p & DUALCAM_P_ABORT) {
        s->pending &= ~DUALCAM_P_ABORT;

        if (s->file_open) {
            s->file_open = 0;
            act->type = DUALCAM_ACT_FILE_ABORT;
            act->file = &s->file;
            act->offset = s->file.received;
            return DUALCAM_ACTION;
        }
    }

    if (p & DUALCAM_P_PROGRESS) {
        s->pending &= ~DUALCAM_P_PROGRESS;
        act->type = DUALCAM_ACT_PROGRESS;
        act->file = &s->file;
        act->offset = s->file.received;
        return DUALCAM_ACTION;
    }

    if (p & DUALCAM_P_COMMIT) {
        s->pending &= ~DUALCAM_P_COMMIT;
        s->file_open = 0;
        act->type = DUALCAM_ACT_FILE_COMMIT;
        act->file = &s->file;
        act->offset = s->file.received;
        return DUALCAM_ACTION;
    }

    if (p & DUALCAM_P_SEND) {
        s->pending &= ~DUALCAM_P_SEND;
        act->type = DUALCAM_ACT_SEND;
        act->data = s->out;
        act->len = s->out_len;
        return DUALCAM_ACTION;
    }

    if (p & DUALCAM_P_CLOSE) {
        s->pending &= ~DUALCAM_P_CLOSE;
        act->type = DUALCAM_ACT_CLOSE;
        act->result = s->result;
        return DUALCAM_ACTION;
    }

    s->pending = 0;

    return DUALCAM_AGAIN;
}


/*
 * Parses one frame from p[0 .. n).  The header is judged as soon as it
 * is complete, so an unknown command or an impossible length fails at
 * once instead of waiting for (and buffering) a body that cannot fit.
 */

static int
dualcam_server_frame(dualcam_server_t *s, const unsigned char *p, size_t n,
    size_t *used, dualcam_action_t *act)
{
    size_t    len;
    unsigned  cmd;

    if (s->state == DUALCAM_ST_INIT) {
        if (n < 2) {
            return DUALCAM_AGAIN;
        }

        if (p[0] == 0 && p[1] == 0) {
            if (n < DUALCAM_INIT_LEN) {
                return DUALCAM_AGAIN;
            }

            *used = DUALCAM_INIT_LEN;

            return dualcam_server_init_packet(s, p, act);
        }

        /* not an init: a STATUS may come instead */
    }

    if (n < DUALCAM_HEADER_LEN) {
        return DUALCAM_AGAIN;
    }

    cmd = dualcam_get16(p);
    len = dualcam_get16(p + 2);

    if (dualcam_server_check_header(s, cmd, len) != 0) {
        return DUALCAM_NEXT;
    }

    if (n - DUALCAM_HEADER_LEN < len) {
        return DUALCAM_AGAIN;
    }

    *used = DUALCAM_HEADER_LEN + len;

    return dualcam_server_dispatch(s, cmd, p + DUALCAM_HEADER_LEN, len, act);
}


static int
dualcam_server_check_header(dualcam_server_t *s, unsigned cmd, size_t len)
{
    size_t  min, max;

    switch (cmd) {

    case DUALCAM_CMD_START:
        min = 4;
        max = 8;
        break;

    case DUALCAM_CMD_SYNC:
    case DUALCAM_CMD_STATUS:
        min = 4;
        max = 4;
        break;

    case DUALCAM_CMD_DATA:
        min = 1 + 2;
        max = DUALCAM_PACKET_SIZE + 2;
        break;

    case DUALCAM_CMD_ENHANCED_DATA:
        min = 4 + 1 + 2;
        max = 4 + DUALCAM_PACKET_SIZE + 2;
        break;

    case DUALCAM_CMD_PATH:
        min = 1;
        max = DUALCAM_PATH_MAX;
        break;

    case DUALCAM_CMD_METADATA:
        min = 0;
        max = s->conf.buffer_size - DUALCAM_HEADER_LEN;
        break;

    default:
        dualcam_server_fail(s, DUALCAM_RESULT_PROTOCOL_ERROR,
                            DUALCAM_LOG_INFO,
                            "unknown command 0x%04x (length %u) in state %s",
                            cmd, (unsigned) len,
                            dualcam_server_state_name(s->state));
        return -1;
    }

    if (len < min || len > max
        || len > s->conf.buffer_size - DUALCAM_HEADER_LEN)
    {
        dualcam_server_fail(s, DUALCAM_RESULT_PROTOCOL_ERROR,
                            DUALCAM_LOG_INFO,
                            "command 0x%04x with length %u, allowed %u..%u",
                            cmd, (unsigned) len, (unsigned) min,
                            (unsigned) max);
        return -1;
    }

    /* DATA that cannot be used is refused before its body is awaited */

    if ((cmd == DUALCAM_CMD_DATA || cmd == DUALCAM_CMD_ENHANCED_DATA)
        && s->state != DUALCAM_ST_DATA
        && !(s->state == DUALCAM_ST_SYNC && s->discard)
        && !(s->state == DUALCAM_ST_INIT && s->stale))
    {
        dualcam_server_fail(s, DUALCAM_RESULT_PROTOCOL_ERROR,
                            DUALCAM_LOG_INFO,
                            "data command 0x%04x in state %s (before SYNC)",
                            cmd, dualcam_server_state_name(s->state));
        return -1;
    }

    return 0;
}


static int
dualcam_server_dispatch(dualcam_server_t *s, unsigned cmd,
    const unsigned char *p, size_t len, dualcam_action_t *act)
{
    switch (cmd) {

    case DUALCAM_CMD_STATUS:
        dualcam_server_status(s, dualcam_get32(p));
        return DUALCAM_NEXT;

    case DUALCAM_CMD_DATA:
    case DUALCAM_CMD_ENHANCED_DATA:
        if (s->state == DUALCAM_ST_SYNC || s->state == DUALCAM_ST_INIT) {
            /* after a bad CRC, or a late SYNC: dropped */
            return DUALCAM_NEXT;
        }

        return dualcam_server_data(s, cmd, p, len, act);

    case DUALCAM_CMD_SYNC:
        if (s->state == DUALCAM_ST_SYNC || s->state == DUALCAM_ST_DATA) {
            dualcam_server_sync(s, p);
            return DUALCAM_NEXT;
        }

        /*
         * The RESUME timer fired while the device's SYNC was on its way:
         * the device answers the repeated RESUME too, and streams the
         * file again, after the file was complete and 00 09 sent.  It
         * stops at the 00 09; what it sent until then is dropped.
         */

        if (s->state == DUALCAM_ST_INIT && s->unanswered) {
            s->unanswered--;
            s->stale = 1;
            dualcam_server_log(s, DUALCAM_LOG_DEBUG,
                               "late SYNC %u after %s ended, dropping its "
                               "data", (unsigned) dualcam_get32(p),
                               s->file.name);
            return DUALCAM_NEXT;
        }

        break;

    case DUALCAM_CMD_START:
        if (s->state == DUALCAM_ST_START) {
            return dualcam_server_start(s, p, act);
        }

        /*
         * A device that waits for the RESUME repeats its START
         * (PROTOCOL.md section 7): the same START again is harmless.
         */

        if (s->state == DUALCAM_ST_SYNC && !s->discard
            && dualcam_get32(p) == s->file.total)
        {
            return DUALCAM_NEXT;
        }

        break;

    case DUALCAM_CMD_METADATA:
        if (s->state == DUALCAM_ST_META) {
            return dualcam_server_meta(s, p, len, act);
        }

        break;

    case DUALCAM_CMD_PATH:
        if (s->state == DUALCAM_ST_PATH) {
            dualcam_server_path(s, p, len);
            return DUALCAM_NEXT;
        }

        break;
    }

    dualcam_server_fail(s, DUALCAM_RESULT_PROTOCOL_ERROR, DUALCAM_LOG_INFO,
                        "unexpected command 0x%04x (length %u) in state %s",
                        cmd, (unsigned) len,
                        dualcam_server_state_name(s->state));

    return DUALCAM_NEXT;
}


static int
dualcam_server_init_packet(dualcam_server_t *s, const unsigned char *p,
    dualcam_action_t *act)
{
    dualcam_init_t  init;

    /* the one judgement of an init, shared with a routing front */

    if (dualcam_init_parse(&init, p, DUALCAM_INIT_LEN)
        == DUALCAM_INIT_BAD_IMEI)
    {
        dualcam_server_log(s, DUALCAM_LOG_INFO,
                           "invalid IMEI %llu in init packet, closing",
                           (unsigned long long) init.imei);
        dualcam_server_send_raw(s, dualcam_close_frame, 4);
        s->result = DUALCAM_RESULT_PROTOCOL_ERROR;
        s->pending |= DUALCAM_P_CLOSE;
        s->state = DUALCAM_ST_CLOSED;
        return DUALCAM_NEXT;
    }

    if (s->inits > 0 && init.imei != s->imei) {
        dualcam_server_fail(s, DUALCAM_RESULT_PROTOCOL_ERROR,
                            DUALCAM_LOG_INFO,
                            "IMEI changed from %015llu to %015llu within a "
                            "session",
                            (unsigned long long) s->imei,
                            (unsigned long long) init.imei);
        return DUALCAM_NEXT;
    }

    s->inits++;
    s->imei = init.imei;
    s->stale = 0;
    s->unanswered = 0;
    s->protocol = init.protocol;
    s->flags = init.flags;
    s->refused = 0;
    s->state = DUALCAM_ST_HELLO;

    memset(act, 0, sizeof(dualcam_action_t));
    act->type = DUALCAM_ACT_HELLO;

    return DUALCAM_ACTION;
}


static void
dualcam_server_next_file(dualcam_server_t *s)
{
    size_t           i;
    unsigned         avail, flag;
    dualcam_file_t  *f;

    avail = s->flags & DUALCAM_FLAG_FILES & ~s->skip;
    flag = 0;

    for (i = 0; i < sizeof(dualcam_file_order) / sizeof(unsigned); i++) {
        if (avail & dualcam_file_order[i]) {
            flag = dualcam_file_order[i];
            break;
        }
    }

    if (flag == 0) {
        dualcam_server_log(s, DUALCAM_LOG_DEBUG,
                           "no file offered (flags 0x%02x), closing after "
                           "%u files", s->flags, s->files_done);
        dualcam_server_send_raw(s, dualcam_close_frame, 4);
        s->result = s->duplicates ? DUALCAM_RESULT_DUPLICATE
                                  : DUALCAM_RESULT_OK;
        s->pending |= DUALCAM_P_CLOSE;
        s->state = DUALCAM_ST_CLOSED;
        return;
    }

    f = &s->file;
    memset(f, 0, sizeof(dualcam_file_t));

    f->flag = flag;
    f->kind = (flag & (DUALCAM_FLAG_PHOTO_FRONT | DUALCAM_FLAG_PHOTO_REAR))
              ? DUALCAM_KIND_PHOTO : DUALCAM_KIND_VIDEO;
    f->side = (flag & (DUALCAM_FLAG_PHOTO_FRONT | DUALCAM_FLAG_VIDEO_FRONT))
              ? DUALCAM_SIDE_FRONT : DUALCAM_SIDE_REAR;

    s->crc = 0;
    s->write_pos = 0;
    s->next_packet = 1;
    s->discard = 0;

    if (flag == DUALCAM_FLAG_PATH) {
        f->kind = DUALCAM_KIND_PATH;
        f->side = DUALCAM_SIDE_NONE;
        f->path_mode = 1;

        dualcam_server_send(s, DUALCAM_CMD_PATH_REQUEST,
                            (const unsigned char *) "\0\0", 2);
        s->state = DUALCAM_ST_PATH;

        dualcam_server_log(s, DUALCAM_LOG_DEBUG, "requesting a file path");
        return;
    }

    memcpy(f->name, flag == DUALCAM_FLAG_PHOTO_FRONT ? "%photof"
                    : flag == DUALCAM_FLAG_PHOTO_REAR ? "%photor"
                    : flag == DUALCAM_FLAG_VIDEO_FRONT ? "%videof"
                    : "%videor", DUALCAM_IDENT_LEN + 1);
    f->name_len = DUALCAM_IDENT_LEN;

    if (s->conf.metadata) {
        dualcam_server_send(s, DUALCAM_CMD_METADATA_QUERY,
                            (const unsigned char *) f->name, f->name_len);
        s->state = DUALCAM_ST_META;

        dualcam_server_log(s, DUALCAM_LOG_DEBUG, "querying metadata of %s",
                           f->name);
        return;
    }

    dualcam_server_send(s, DUALCAM_CMD_FILE_REQUEST,
                        (const unsigned char *) f->name, f->name_len);
    s->state = DUALCAM_ST_START;

    dualcam_server_log(s, DUALCAM_LOG_DEBUG, "requesting %s", f->name);
}


static void
dualcam_server_path(dualcam_server_t *s, const unsigned char *p, size_t len)
{
    dualcam_file_t  *f;

    f = &s->file;

    /* echoed byte for byte; the NUL-terminated copy is for logs only */

    memcpy(f->name, p, len);
    f->name[len] = '\0';
    f->name_len = len;

    if (s->conf.metadata) {
        dualcam_server_send(s, DUALCAM_CMD_METADATA_QUERY, NULL, 0);
        s->state = DUALCAM_ST_META;

        dualcam_server_log(s, DUALCAM_LOG_DEBUG,
                           "querying metadata of path \"%s\"", f->name);
        return;
    }

    dualcam_server_send(s, DUALCAM_CMD_FILE_REQUEST, p, len);
    s->state = DUALCAM_ST_START;

    dualcam_server_log(s, DUALCAM_LOG_DEBUG, "requesting path \"%s\"",
                       f->name);
}


static int
dualcam_server_meta(dualcam_server_t *s, const unsigned char *p, size_t len,
    dualcam_action_t *act)
{
    dualcam_file_t       *f;
    dualcam_meta_type_e   hint;

    f = &s->file;

    hint = f->path_mode ? DUALCAM_META_NONE : DUALCAM_META_DUALCAM;

    if (s->protocol >= 6 && len > 0 && p[0] == '{') {
        hint = DUALCAM_META_JSON;
    }

    if (dualcam_meta_decode(&f->meta, hint, p, len) != 0) {
        dualcam_server_fail(s, DUALCAM_RESULT_PROTOCOL_ERROR,
                            DUALCAM_LOG_INFO,
                            "metadata of %s not understood: %u bytes, "
                            "version %u", f->name, (unsigned) len,
                            len > 0 ? p[0] : 0);
        return DUALCAM_NEXT;
    }

    f->has_meta = 1;

    dualcam_server_send(s, DUALCAM_CMD_FILE_REQUEST,
                        (const unsigned char *) f->name, f->name_len);
    s->state = DUALCAM_ST_START;

    memset(act, 0, sizeof(dualcam_action_t));
    act->type = DUALCAM_ACT_METADATA;
    act->file = f;

    return DUALCAM_ACTION;
}


static int
dualcam_server_start(dualcam_server_t *s, const unsigned char *p,
    dualcam_action_t *act)
{
    uint32_t         total;
    uint64_t         size, least;
    dualcam_file_t  *f;

    f = &s->file;
    total = dualcam_get32(p);

    if (total == 0) {

        /*
         * An empty file: nothing to store.  The flag is given up on for
         * the session so a device that keeps offering it cannot loop.
         */

        dualcam_server_log(s, DUALCAM_LOG_INFO,
                           "device offers %s with START 0, skipping it",
                           f->name);
        s->skip |= f->flag;
        dualcam_server_send_raw(s, dualcam_repeat_init, 2);
        s->state = DUALCAM_ST_INIT;
        return DUALCAM_NEXT;
    }

    size = f->path_mode ? total : (uint64_t) total * DUALCAM_PACKET_SIZE;

    /*
     * In packets START only bounds the size: the last packet holds 1 to
     * 1024 bytes.  Refused here is only a file that exceeds the limit
     * even at its smallest; one that may fit is measured as it arrives
     * (dualcam_server_data()).
     */

    least = f->path_mode ? size : size - (DUALCAM_PACKET_SIZE - 1);

    if (s->conf.max_file_size && least > s->conf.max_file_size) {
        dualcam_server_fail(s, DUALCAM_RESULT_PROTOCOL_ERROR,
                            DUALCAM_LOG_INFO,
                            "%s of at least %llu bytes (START %u) exceeds "
                            "the %llu-byte limit", f->name,
                            (unsigned long long) least, (unsigned) total,
                            (unsigned long long) s->conf.max_file_size);
        return DUALCAM_NEXT;
    }

    f->total = total;
    f->max_size = size;
    s->file_open = 1;
    s->state = DUALCAM_ST_OPEN;

    memset(act, 0, sizeof(dualcam_action_t));
    act->type = DUALCAM_ACT_FILE_OPEN;
    act->file = f;

    return DUALCAM_ACTION;
}


/*
 * RESUME after FILE_OPEN.  Packet mode: k packets kept asks for k + 1,
 * nothing kept asks for 0, as the vendor server does and the real
 * capture shows (the device answers SYNC 1).  Path mode: byte offset.
 */

static void
dualcam_server_resume(dualcam_server_t *s)
{
    unsigned char    buf[4];
    dualcam_file_t  *f;

    f = &s->file;

    if (f->path_mode) {
        s->resume_value = (uint32_t) f->received;

    } else {
        s->resume_value = f->packets ? f->packets + 1 : 0;
    }

    dualcam_put32(buf, s->resume_value);
    dualcam_server_send(s, DUALCAM_CMD_RESUME, buf, 4);

    s->state = DUALCAM_ST_SYNC;
    s->discard = 0;
    s->resume_repeats = 0;
    s->unanswered = 1;

    dualcam_server_log(s, DUALCAM_LOG_DEBUG,
                       "%s: %u units, RESUME %u", f->name,
                       (unsigned) f->total, (unsigned) s->resume_value);
}


static void
dualcam_server_sync(dualcam_server_t *s, const unsigned char *p)
{
    int              stale;
    uint32_t         v;
    uint64_t         pos;
    dualcam_file_t  *f;

    f = &s->file;
    v = dualcam_get32(p);

    /*
     * The device answers every RESUME, in order.  With more than one
     * unanswered (the timer repeated one, then a bad CRC asked for
     * another point), a SYNC that is not at the newest RESUME's point
     * answers an older one: its data is dropped like after a bad CRC,
     * since starting over there would rewind what the newer SYNC counts
     * on.  A device that skips a RESUME loses nothing: the timer repeats
     * the newest one, and its answer is taken.
     */

    stale = s->unanswered > 1
            && (f->path_mode ? v != s->resume_value
                             : (v ? v : 1) != (s->resume_value
                                               ? s->resume_value : 1));

    if (s->unanswered) {
        s->unanswered--;
    }

    if (stale) {
        dualcam_server_log(s, DUALCAM_LOG_DEBUG,
                           "%s: SYNC %u answers an earlier RESUME, waiting "
                           "for %u", f->name, (unsigned) v,
                           (unsigned) s->resume_value);
        s->discard = 1;
        s->state = DUALCAM_ST_SYNC;
        return;
    }

    if (f->path_mode) {
        if (v > f->received) {
            dualcam_server_fail(s, DUALCAM_RESULT_PROTOCOL_ERROR,
                                DUALCAM_LOG_INFO,
                                "SYNC %u beyond the %llu verified bytes of "
                                "%s", (unsigned) v,
                                (unsigned long long) f->received, f->name);
            return;
        }

        pos = v;

    } else {
        if (v == 0) {
            v = 1;
        }

        if (v - 1 > f->packets) {
            dualcam_server_fail(s, DUALCAM_RESULT_PROTOCOL_ERROR,
                                DUALCAM_LOG_INFO,
                                "SYNC %u beyond the %u verified packets of %s",
                                (unsigned) v, (unsigned) f->packets,
                                f->name);
            return;
        }

        f->packets = v - 1;
        s->next_packet = v;
        pos = (uint64_t) (v - 1) * DUALCAM_PACKET_SIZE;
    }

    /* what follows the SYNC point is written again */

    s->write_pos = pos;
    f->received = pos;
    s->crc = 0;
    s->discard = 0;
    s->state = DUALCAM_ST_DATA;

    dualcam_server_log(s, DUALCAM_LOG_DEBUG, "%s: SYNC %u, receiving",
                       f->name, (unsigned) v);
}


/*
 * The per-packet path: bounds, one CRC pass, a FILE_WRITE pointing into
 * the caller's input.  No copy, no formatting unless something is wrong.
 */

static int
dualcam_server_data(dualcam_server_t *s, unsigned cmd,
    const unsigned char *p, size_t len, dualcam_action_t *act)
{
    size_t           n;
    uint16_t         crc, got;
    uint32_t         offset;
    dualcam_file_t  *f;

    f = &s->file;

    if (cmd == DUALCAM_CMD_ENHANCED_DATA) {
        offset = dualcam_get32(p);
        p += 4;
        n = len - 6;

    } else {
        offset = 0;
        n = len - 2;
    }

    got = dualcam_get16(p + n);

    if (f->path_mode) {
        if (s->write_pos + n > f->total) {
            dualcam_server_fail(s, DUALCAM_RESULT_PROTOCOL_ERROR,
                                DUALCAM_LOG_INFO,
                                "%zu data bytes at %llu overrun the %u-byte "
                                "%s", n, (unsigned long long) s->write_pos,
                                (unsigned) f->total, f->name);
            return DUALCAM_NEXT;
        }

    } else if (n < DUALCAM_PACKET_SIZE && f->packets + 1 < f->total) {

        /* only the last packet may be short: positions are k * 1024 */

        dualcam_server_fail(s, DUALCAM_RESULT_PROTOCOL_ERROR,
                            DUALCAM_LOG_INFO,
                            "packet %u of %u of %s has %zu bytes",
                            (unsigned) f->packets + 1, (unsigned) f->total,
                            f->name, n);
        return DUALCAM_NEXT;
    }

    if (cmd == DUALCAM_CMD_ENHANCED_DATA && offset != s->write_pos) {
        dualcam_server_bad_data(s, got, 0, offset, 1);
        return DUALCAM_NEXT;
    }

    crc = dualcam_crc16(s->crc, p, n);

    if (crc != got) {
        dualcam_server_bad_data(s, got, crc, offset, 0);
        return DUALCAM_NEXT;
    }

    s->crc = crc;

    /* the limit on what arrived: only a short last packet tells the size */

    if (s->conf.max_file_size && s->write_pos + n > s->conf.max_file_size) {
        dualcam_server_fail(s, DUALCAM_RESULT_PROTOCOL_ERROR,
                            DUALCAM_LOG_INFO,
                            "%s has %llu bytes with packet %u of %u, over "
                            "the %llu-byte limit", f->name,
                            (unsigned long long) (s->write_pos + n),
                            (unsigned) f->packets + 1, (unsigned) f->total,
                            (unsigned long long) s->conf.max_file_size);
        return DUALCAM_NEXT;
    }

    memset(act, 0, sizeof(dualcam_action_t));
    act->type = DUALCAM_ACT_FILE_WRITE;
    act->data = p;
    act->len = n;
    act->offset = s->write_pos;
    act->file = f;

    s->write_pos += n;
    f->received = s->write_pos;
    f->packets++;
    s->next_packet++;

    if (f->path_mode ? s->write_pos == f->total : f->packets == f->total) {
        dualcam_server_log(s, DUALCAM_LOG_DEBUG,
                           "%s complete: %llu bytes, %u packets, "
                           "%u CRC errors", f->name,
                           (unsigned long long) f->received,
                           (unsigned) f->packets, (unsigned) f->crc_errors);
        /* 00 09 only once the caller has stored it */
        s->pending |= DUALCAM_P_PROGRESS | DUALCAM_P_COMMIT;
        s->state = DUALCAM_ST_COMMIT;

    } else if (f->packets % DUALCAM_PROGRESS_EVERY == 0) {
        s->pending |= DUALCAM_P_PROGRESS;
    }

    return DUALCAM_ACTION;
}


/*
 * A bad CRC or a 0x000E offset that is not where we are: ask again from
 * the first unit not verified and drop everything until the SYNC.
 */

static void
dualcam_server_bad_data(dualcam_server_t *s, uint16_t got, uint16_t expected,
    uint32_t offset, int offset_bad)
{
    unsigned char    buf[4];
    dualcam_file_t  *f;

    f = &s->file;
    f->crc_errors++;

    if (s->conf.max_crc_errors && f->crc_errors > s->conf.max_crc_errors) {
        dualcam_server_fail(s, DUALCAM_RESULT_CRC_LIMIT, DUALCAM_LOG_NOTICE,
                            "%s: %u bad packets, limit %u; keeping %llu "
                            "verified bytes", f->name,
                            (unsigned) f->crc_errors,
                            s->conf.max_crc_errors,
                            (unsigned long long) f->received);
        return;
    }

    s->resume_value = f->path_mode ? (uint32_t) f->received
                                   : f->packets + 1;

    if (offset_bad) {
        dualcam_server_log(s, DUALCAM_LOG_INFO,
                           "%s: data at offset %u, expected %llu; "
                           "RESUME %u", f->name, (unsigned) offset,
                           (unsigned long long) s->write_pos,
                           (unsigned) s->resume_value);

    } else {
        dualcam_server_log(s, DUALCAM_LOG_INFO,
                           "%s: CRC mismatch in packet %u at offset %llu: "
                           "got %04x, expected %04x; RESUME %u", f->name,
                           (unsigned) f->packets + 1,
                           (unsigned long long) s->write_pos,
                           (unsigned) got, (unsigned) expected,
                           (unsigned) s->resume_value);
    }

    dualcam_put32(buf, s->resume_value);
    dualcam_server_send(s, DUALCAM_CMD_RESUME, buf, 4);

    f->resumes++;
    s->crc = 0;
    s->discard = 1;
    s->resume_repeats = 0;
    s->unanswered++;
    s->state = DUALCAM_ST_SYNC;
}


/*
 * STATUS from the device.  Decisions (PROTOCOL.md sections 6 and 7):
 *
 *  - instead of PATH or METADATA: the file is not there; it is given up
 *    on for this session and the next offered file is asked for (or the
 *    session closes normally when there is none);
 *  - instead of START: code 0 is treated like START 0 (skip the file,
 *    00 09); any other code ends the session;
 *  - anywhere else: code 0 means nothing; any other code ends the
 *    session, keeping the verified part of a file in flight.
 */

static void
dualcam_server_status(dualcam_server_t *s, uint32_t code)
{
    dualcam_file_t  *f;

    f = &s->file;

    /* the glue counts codes from these (a silent STATUS 0 is not one) */

    if (code != 0 || s->state == DUALCAM_ST_PATH || s->state == DUALCAM_ST_META
        || s->state == DUALCAM_ST_START)
    {
        s->device_status = code;
        s->device_statuses++;
    }

    switch (s->state) {

    case DUALCAM_ST_PATH:
    case DUALCAM_ST_META:
        dualcam_server_log(s, DUALCAM_LOG_NOTICE,
                           "device status %u: %s, answering the %s query "
                           "for %s; skipping the file", (unsigned) code,
                           dualcam_status_text(code),
                           s->state == DUALCAM_ST_PATH ? "path" : "metadata",
                           f->path_mode && s->state == DUALCAM_ST_PATH
                           ? "a path-mode file" : f->name);
        s->skip |= f->flag;
        dualcam_server_next_file(s);
        return;

    case DUALCAM_ST_START:
        if (code == 0) {
            dualcam_server_log(s, DUALCAM_LOG_INFO,
                               "device status 0 answering the request for "
                               "%s, skipping it", f->name);
            s->skip |= f->flag;
            dualcam_server_send_raw(s, dualcam_repeat_init, 2);
            s->state = DUALCAM_ST_INIT;
            return;
        }

        break;

    default:
        if (code == 0) {
            return;
        }
    }

    dualcam_server_fail(s, DUALCAM_RESULT_DEVICE_STATUS, DUALCAM_LOG_NOTICE,
                        "device status %u: %s (state %s, %s)",
                        (unsigned) code, dualcam_status_text(code),
                        dualcam_server_state_name(s->state),
                        f->name[0] ? f->name : "no file");

    dualcam_server_send_raw(s, dualcam_close_frame, 4);
}


static void
dualcam_server_send(dualcam_server_t *s, unsigned cmd,
    const unsigned char *data, size_t len)
{
    unsigned char  *p;

    p = dualcam_put16(s->out, (uint16_t) cmd);
    p = dualcam_put16(p, (uint16_t) len);

    if (len) {
        memcpy(p, data, len);
    }

    s->out_len = DUALCAM_HEADER_LEN + len;
    s->pending |= DUALCAM_P_SEND;
}


static void
dualcam_server_send_raw(dualcam_server_t *s, const unsigned char *data,
    size_t len)
{
    memcpy(s->out, data, len);
    s->out_len = len;
    s->pending |= DUALCAM_P_SEND;
}


/* log, abort a file in flight, close: every way the core ends a session */

static void
dualcam_server_fail(dualcam_server_t *s, dualcam_result_e result,
    dualcam_log_level_e level, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    dualcam_server_vlog(s, level, fmt, args);
    va_end(args);

    s->result = result;
    s->pending |= DUALCAM_P_CLOSE;

    if (s->file_open) {
        s->pending |= DUALCAM_P_ABORT;
    }

    s->state = DUALCAM_ST_CLOSED;
}


static void
dualcam_server_log(dualcam_server_t *s, dualcam_log_level_e level,
    const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    dualcam_server_vlog(s, level, fmt, args);
    va_end(args);
}


/*
 * One message per step: a debug line never overwrites a pending message
 * of any level, an important one replaces a pending debug line.
 */

static void
dualcam_server_vlog(dualcam_server_t *s, dualcam_log_level_e level,
    const char *fmt, va_list args)
{
    int            n;
    unsigned char  *p;
    char           text[DUALCAM_LOG_MSG];

    if ((s->pending & DUALCAM_P_LOG)
        && (level == DUALCAM_LOG_DEBUG || s->log_level != DUALCAM_LOG_DEBUG))
    {
        return;
    }

    n = vsnprintf(text, sizeof(text), fmt, args);

    if (n < 0) {
        n = 0;

    } else if ((size_t) n >= sizeof(text)) {
        n = sizeof(text) - 1;
    }

    /*
     * Device bytes (a path) must neither break the log line nor make the
     * log binary: everything but printable ASCII becomes \xHH.  The
     * message's own text has no such bytes and no backslash.
     */

    p = dualcam_log_escape((unsigned char *) s->msg,
                           (unsigned char *) s->msg + sizeof(s->msg) - 1,
                           (unsigned char *) text, n);
    *p = '\0';

    s->log_level = level;
    s->pending |= DUALCAM_P_LOG;
}


static const char *
dualcam_server_state_name(int state)
{
    static const char  *names[] = {
        "init", "hello", "path", "metadata", "start", "open", "sync",
        "data", "commit", "closed"
    };

    if (state < 0 || (size_t) state >= sizeof(names) / sizeof(names[0])) {
        return "unknown";
    }

    return names[state];
}
