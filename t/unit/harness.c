/*
 * Copyright (C) ngx_stream_dualcam authors
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"


static void dualcam_harness_act(dualcam_harness_t *h, dualcam_server_t *s,
    const dualcam_action_t *act, const unsigned char *in, size_t consumed);
static void dualcam_harness_write(dualcam_harness_t *h,
    const dualcam_action_t *act);
static void dualcam_harness_fail(dualcam_harness_t *h, const char *fmt, ...);
static void *dualcam_harness_alloc(void *p, size_t size);


void
dualcam_harness_init(dualcam_harness_t *h, size_t buffer_size)
{
    memset(h, 0, sizeof(dualcam_harness_t));

    if (buffer_size < DUALCAM_DATA_FRAME_MAX) {
        buffer_size = DUALCAM_DATA_FRAME_MAX;
    }

    h->cap = buffer_size;
    h->buf = dualcam_harness_alloc(NULL, buffer_size);
    h->out = dualcam_harness_alloc(NULL, DUALCAM_HARNESS_SENDS
                                         * sizeof(((dualcam_server_t *) 0)
                                                  ->out));
}


void
dualcam_harness_free(dualcam_harness_t *h)
{
    size_t  i;

    for (i = 0; i < h->nfiles; i++) {
        free(h->files[i].data);
    }

    free(h->cur);
    free(h->buf);
    free(h->out);

    memset(h, 0, sizeof(dualcam_harness_t));
}


void
dualcam_harness_feed(dualcam_harness_t *h, dualcam_server_t *s,
    const unsigned char *in, size_t len, const size_t *chunks,
    size_t nchunks)
{
    size_t  i, want, n;

    i = 0;

    while (len > 0 && !h->closed && !h->error) {
        want = nchunks ? chunks[i++ % nchunks] : len;

        if (want == 0) {
            want = 1;
        }

        while (want > 0 && len > 0 && !h->closed && !h->error) {

            /* like the glue: move the retained bytes to the front */

            if (h->last == h->cap && h->pos > 0) {
                memmove(h->buf, h->buf + h->pos, h->last - h->pos);
                h->last -= h->pos;
                h->pos = 0;
            }

            n = h->cap - h->last;

            if (n == 0) {
                dualcam_harness_fail(h, "input buffer full (%zu bytes) "
                                     "and nothing consumed", h->cap);
                return;
            }

            if (n > want) {
                n = want;
            }

            if (n > len) {
                n = len;
            }

            memcpy(h->buf + h->last, in, n);
            h->last += n;
            in += n;
            len -= n;
            want -= n;

            dualcam_harness_pump(h, s);
        }
    }
}


void
dualcam_harness_pump(dualcam_harness_t *h, dualcam_server_t *s)
{
    int               rc;
    size_t            consumed, avail;
    dualcam_action_t  act;

    for ( ;; ) {
        avail = h->last - h->pos;
        consumed = (size_t) -1;

        rc = dualcam_server_step(s, h->buf + h->pos, avail, &consumed, &act);

        if (consumed > avail) {
            dualcam_harness_fail(h, "consumed %zu of %zu bytes", consumed,
                                 avail);
            return;
        }

        if (rc == DUALCAM_ACTION) {
            if (h->closed) {
                dualcam_harness_fail(h, "action %d after CLOSE",
                                     (int) act.type);
                return;
            }

            dualcam_harness_act(h, s, &act, h->buf + h->pos, consumed);
            h->pos += consumed;

            if (h->error) {
                return;
            }

            continue;
        }

        if (rc != DUALCAM_AGAIN) {
            dualcam_harness_fail(h, "step returned %d", rc);
            return;
        }

        h->pos += consumed;

        if (h->pos == h->last) {
            h->pos = 0;
            h->last = 0;
        }

        return;
    }
}


void
dualcam_harness_record(dualcam_harness_t *h, dualcam_server_t *s,
    const dualcam_action_t *act)
{
    dualcam_harness_act(h, s, act, NULL, 0);
}


void
dualcam_harness_end(dualcam_harness_t *h, dualcam_server_t *s,
    dualcam_result_e result)
{
    dualcam_action_t  act;

    if (dualcam_server_end(s, result, &act) == DUALCAM_ACTION) {
        dualcam_harness_act(h, s, &act, NULL, 0);
    }

    if (!h->closed) {
        h->closed = 1;
        h->result = s->result;
    }
}


int
dualcam_harness_sent(dualcam_harness_t *h, size_t i,
    const unsigned char *frame, size_t len)
{
    if (i >= h->nsends || h->send_len[i] != len) {
        return 0;
    }

    return memcmp(h->out + h->send_off[i], frame, len) == 0;
}


int
dualcam_harness_logged(dualcam_harness_t *h, const char *text)
{
    return strstr(h->logtext, text) != NULL;
}


size_t
dualcam_harness_pending(dualcam_harness_t *h)
{
    return h->last - h->pos;
}


static void
dualcam_harness_act(dualcam_harness_t *h, dualcam_server_t *s,
    const dualcam_action_t *act, const unsigned char *in, size_t consumed)
{
    size_t                   n;
    dualcam_harness_file_t  *hf;

    if (h->ntypes < DUALCAM_HARNESS_TYPES
        && !(act->type == DUALCAM_ACT_FILE_WRITE && h->ntypes > 0
             && h->types[h->ntypes - 1] == DUALCAM_ACT_FILE_WRITE))
    {
        h->types[h->ntypes++] = act->type;
    }

    switch (act->type) {

    case DUALCAM_ACT_SEND:
        if (h->nsends == DUALCAM_HARNESS_SENDS) {
            dualcam_harness_fail(h, "too many sends");
            return;
        }

        if (act->len == 0 || act->len > sizeof(s->out)) {
            dualcam_harness_fail(h, "send of %zu bytes", act->len);
            return;
        }

        h->send_off[h->nsends] = h->out_len;
        h->send_len[h->nsends] = act->len;
        h->nsends++;
        memcpy(h->out + h->out_len, act->data, act->len);
        h->out_len += act->len;
        break;

    case DUALCAM_ACT_HELLO:
        h->hellos++;

        if (h->refuse) {
            dualcam_server_refuse(s);
        }

        break;

    case DUALCAM_ACT_METADATA:
        h->metas++;
        h->meta = act->file->meta;

        if (h->meta.json != NULL
            && (in == NULL || h->meta.json < in
                || h->meta.json + h->meta.json_len > in + consumed))
        {
            dualcam_harness_fail(h, "JSON metadata outside the input");
        }

        break;

    case DUALCAM_ACT_FILE_OPEN:
        h->opens++;
        h->cur_len = 0;

        if (h->resume_data != NULL) {
            n = (size_t) dualcam_server_resume_from(s, h->resume_len);

            if (n > h->resume_len) {
                dualcam_harness_fail(h, "resume_from kept %zu of %zu", n,
                                     h->resume_len);
                return;
            }

            if (n > h->cur_cap) {
                h->cur = dualcam_harness_alloc(h->cur, n);
                h->cur_cap = n;
            }

            if (n > 0) {
                memcpy(h->cur, h->resume_data, n);
            }

            h->cur_len = n;
        }

        break;

    case DUALCAM_ACT_FILE_WRITE:
        h->writes++;

        if (in == NULL || act->data < in
            || act->data + act->len > in + consumed)
        {
            dualcam_harness_fail(h, "FILE_WRITE data outside the consumed "
                                 "input");
            return;
        }

        dualcam_harness_write(h, act);
        break;

    case DUALCAM_ACT_PROGRESS:
        h->progress++;
        break;

    case DUALCAM_ACT_FILE_COMMIT:
        h->commits++;

        if (act->offset != h->cur_len) {
            dualcam_harness_fail(h, "commit of %llu bytes, %zu written",
                                 (unsigned long long) act->offset,
                                 h->cur_len);
            return;
        }

        if (h->nfiles == DUALCAM_HARNESS_FILES) {
            dualcam_harness_fail(h, "too many files");
            return;
        }

        hf = &h->files[h->nfiles++];
        hf->len = h->cur_len;
        hf->data = dualcam_harness_alloc(NULL, h->cur_len + 1);

        if (h->cur_len > 0) {
            memcpy(hf->data, h->cur, h->cur_len);
        }

        hf->file = *act->file;
        hf->file.meta.json = NULL;
        h->cur_len = 0;

        /* stored: the device may hear 00 09 now */
        if (!h->commit_hold) {
            dualcam_server_committed(s, h->commit_outcome);
        }
        break;

    case DUALCAM_ACT_FILE_ABORT:
        h->aborts++;
        h->abort_received = act->file->received;

        if (act->file->received > h->cur_len) {
            dualcam_harness_fail(h, "abort claims %llu bytes, %zu written",
                                 (unsigned long long) act->file->received,
                                 h->cur_len);
        }

        break;

    case DUALCAM_ACT_LOG:
        h->logs++;

        if (act->level <= DUALCAM_LOG_DEBUG) {
            h->logs_at[act->level]++;
        }

        if (act->msg == NULL || strchr(act->msg, '\n') != NULL
            || strlen(act->msg) >= sizeof(s->msg))
        {
            dualcam_harness_fail(h, "bad log line");
            return;
        }

        if (act->level != DUALCAM_LOG_DEBUG) {
            n = strlen(act->msg);

            if (h->logtext_len + n + 2 < sizeof(h->logtext)) {
                memcpy(h->logtext + h->logtext_len, act->msg, n);
                h->logtext_len += n;
                h->logtext[h->logtext_len++] = '\n';
                h->logtext[h->logtext_len] = '\0';
            }
        }

        break;

    case DUALCAM_ACT_CLOSE:
        h->closed = 1;
        h->result = act->result;
        break;

    default:
        dualcam_harness_fail(h, "unknown action %d", (int) act->type);
    }
}


static void
dualcam_harness_write(dualcam_harness_t *h, const dualcam_action_t *act)
{
    size_t  end, cap;

    if (act->offset > h->cur_len) {
        dualcam_harness_fail(h, "write at %llu leaves a gap after %zu",
                             (unsigned long long) act->offset, h->cur_len);
        return;
    }

    end = (size_t) act->offset + act->len;

    if (end > h->cur_cap) {
        cap = h->cur_cap ? h->cur_cap : 65536;

        while (cap < end) {
            cap *= 2;
        }

        h->cur = dualcam_harness_alloc(h->cur, cap);
        h->cur_cap = cap;
    }

    memcpy(h->cur + act->offset, act->data, act->len);

    /* a SYNC may rewind: the file is what was written last */
    h->cur_len = end;
}


static void
dualcam_harness_fail(dualcam_harness_t *h, const char *fmt, ...)
{
    va_list  args;

    if (h->error) {
        return;
    }

    h->error = 1;

    va_start(args, fmt);
    vsnprintf(h->error_msg, sizeof(h->error_msg), fmt, args);
    va_end(args);
}


static void *
dualcam_harness_alloc(void *p, size_t size)
{
    p = realloc(p, size ? size : 1);

    if (p == NULL) {
        abort();
    }

    return p;
}


void
dualcam_script_init(dualcam_script_t *sc)
{
    memset(sc, 0, sizeof(dualcam_script_t));
}


void
dualcam_script_free(dualcam_script_t *sc)
{
    free(sc->p);
    memset(sc, 0, sizeof(dualcam_script_t));
}


void
dualcam_script_raw(dualcam_script_t *sc, const void *data, size_t len)
{
    size_t  cap;

    if (sc->len + len > sc->cap) {
        cap = sc->cap ? sc->cap : 4096;

        while (cap < sc->len + len) {
            cap *= 2;
        }

        sc->p = dualcam_harness_alloc(sc->p, cap);
        sc->cap = cap;
    }

    if (len) {
        memcpy(sc->p + sc->len, data, len);
    }

    sc->len += len;
}


void
dualcam_script_hello(dualcam_script_t *sc, unsigned protocol, uint64_t imei,
    unsigned flags)
{
    unsigned char  b[16];

    memset(b, 0, sizeof(b));
    dualcam_put16(b + 2, (uint16_t) protocol);
    dualcam_put32(b + 4, (uint32_t) (imei >> 32));
    dualcam_put32(b + 8, (uint32_t) imei);
    b[12] = (unsigned char) flags;
    b[14] = 0x04;

    dualcam_script_raw(sc, b, sizeof(b));
}


void
dualcam_script_frame(dualcam_script_t *sc, unsigned cmd, const void *data,
    size_t len)
{
    unsigned char  h[4];

    dualcam_put16(h, (uint16_t) cmd);
    dualcam_put16(h + 2, (uint16_t) len);

    dualcam_script_raw(sc, h, 4);
    dualcam_script_raw(sc, data, len);
}


void
dualcam_script_u32(dualcam_script_t *sc, unsigned cmd, uint32_t v)
{
    unsigned char  b[4];

    dualcam_put32(b, v);
    dualcam_script_frame(sc, cmd, b, 4);
}


void
dualcam_script_start(dualcam_script_t *sc, uint32_t total)
{
    unsigned char  b[6];

    dualcam_put32(b, total);
    b[4] = 0;
    b[5] = 0;

    dualcam_script_frame(sc, DUALCAM_CMD_START, b, 6);
}


void
dualcam_script_sync(dualcam_script_t *sc, uint32_t v)
{
    dualcam_script_u32(sc, DUALCAM_CMD_SYNC, v);
    sc->crc = 0;
}


void
dualcam_script_data(dualcam_script_t *sc, const void *data, size_t n)
{
    unsigned char  h[4], c[2];

    sc->crc = dualcam_crc16_bytewise(sc->crc, data, n);

    dualcam_put16(h, DUALCAM_CMD_DATA);
    dualcam_put16(h + 2, (uint16_t) (n + 2));
    dualcam_put16(c, sc->crc);

    dualcam_script_raw(sc, h, 4);
    dualcam_script_raw(sc, data, n);
    dualcam_script_raw(sc, c, 2);
}


void
dualcam_script_data_bad(dualcam_script_t *sc, const void *data, size_t n)
{
    dualcam_script_data(sc, data, n);
    sc->p[sc->len - 1] ^= 0x5a;
}


void
dualcam_script_enhanced(dualcam_script_t *sc, uint32_t offset,
    const void *data, size_t n)
{
    unsigned char  h[8], c[2];

    sc->crc = dualcam_crc16_bytewise(sc->crc, data, n);

    dualcam_put16(h, DUALCAM_CMD_ENHANCED_DATA);
    dualcam_put16(h + 2, (uint16_t) (n + 6));
    dualcam_put32(h + 4, offset);
    dualcam_put16(c, sc->crc);

    dualcam_script_raw(sc, h, 8);
    dualcam_script_raw(sc, data, n);
    dualcam_script_raw(sc, c, 2);
}


void
dualcam_script_file(dualcam_script_t *sc, const unsigned char *data,
    size_t len, size_t from)
{
    size_t  n;

    while (from < len) {
        n = len - from < DUALCAM_PACKET_SIZE ? len - from
                                             : DUALCAM_PACKET_SIZE;
        dualcam_script_data(sc, data + from, n);
        from += n;
    }
}
