
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The checked server driver.  It holds a buffer of conf.buffer_size bytes
 * like the nginx glue does, presents [pos, last) to dualcam_server_step()
 * as an exactly sized heap copy (so a read past either end is an ASan
 * report), and checks every action against what dualcam.h promises:
 *
 *   - consumed <= len; AGAIN leaves no complete frame behind; a full
 *     buffer is never needed for more than conf.buffer_size bytes;
 *   - SEND is whole, well-formed frames; nothing is sent after CLOSE;
 *   - FILE_* only for an open file; writes start within what is held
 *     (no holes), stay inside the START bound and max_file_size, whole
 *     1024-byte packets in packet units (only the last one short);
 *   - FILE_COMMIT's size is what was written, and equals the START value
 *     (bytes) or fits it (packets); the next SEND is 00 09;
 *   - CLOSE ends the session with a result and no file open; after it,
 *     no step, timer or end yields an action.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"


static void fz_handle(fz_server_t *f, dualcam_action_t *a,
    const unsigned char *in, size_t n);
static void fz_file_open(fz_server_t *f, dualcam_action_t *a);
static void fz_after_close(fz_server_t *f);
static void fz_trace(fz_server_t *f, dualcam_action_t *a);
static void fz_misuse(fz_server_t *f);


/* 512: below the minimum, the core raises it to DUALCAM_DATA_FRAME_MAX */
static const size_t  fz_buffer_sizes[] = {
    DUALCAM_DATA_FRAME_MAX, DUALCAM_DATA_FRAME_MAX + 1, 1100, 2048,
    4096, 8192, 65536 + 8, 512
};

static const uint64_t  fz_max_sizes[] = { 0, 1000, 30000, 1 << 20 };


void
fz_fail(const char *file, int line, const char *expr)
{
    fprintf(stderr, "%s:%d: invariant violated: %s\n", file, line, expr);
    abort();
}


uint32_t
fz_rand(fz_rand_t *r)
{
    uint32_t  x;

    /* xorshift32; a zero state would stay zero */
    x = r->s ? r->s : 0x9e3779b9;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    r->s = x;

    return x;
}


size_t
fz_opts_parse(fz_opts_t *o, const unsigned char *p, size_t n)
{
    unsigned char  b[FZ_OPTS_LEN];

    memset(b, 0, sizeof(b));
    memcpy(b, p, n < FZ_OPTS_LEN ? n : FZ_OPTS_LEN);
    memset(o, 0, sizeof(fz_opts_t));

    o->conf.metadata = b[0] & 1;
    o->timers = (b[0] >> 1) & 1;
    o->conf.buffer_size = fz_buffer_sizes[(b[0] >> 2) & 7];
    o->conf.max_resume_repeats = b[0] >> 5;

    o->conf.max_crc_errors = b[1] & 0x0f;
    o->conf.max_file_size = fz_max_sizes[(b[1] >> 4) & 3];
    o->refuse = b[1] >> 6;

    o->resume_mode = b[2] & 7;
    o->misuse = (b[2] >> 3) & 1;
    o->resume_arg = b[3];

    o->seed = ((uint32_t) b[4] << 24) | ((uint32_t) b[5] << 16)
              | ((uint32_t) b[6] << 8) | b[7];

    return n < FZ_OPTS_LEN ? n : FZ_OPTS_LEN;
}


/* calls out of turn are no-ops: resume_from outside FILE_OPEN, a timer
 * that nobody armed */

static void
fz_misuse(fz_server_t *f)
{
    dualcam_action_t  a;

    fz_assert(dualcam_server_resume_from(&f->s, 5000) == 0);

    if (!dualcam_server_waiting_sync(&f->s)) {
        memset(&a, 0, sizeof(a));
        fz_assert(dualcam_server_timer(&f->s, &a) == DUALCAM_AGAIN);
    }
}


/* FZ_TRACE=1 in the environment: every action on stderr */

static void
fz_trace(fz_server_t *f, dualcam_action_t *a)
{
    size_t  i;

    static const char  *names[] = {
        "?", "SEND", "HELLO", "FILE_OPEN", "FILE_WRITE", "FILE_COMMIT",
        "FILE_ABORT", "PROGRESS", "LOG", "CLOSE", "METADATA"
    };

    fprintf(stderr, "  %s", (unsigned) a->type < 11 ? names[a->type] : "?");

    switch (a->type) {
    case DUALCAM_ACT_SEND:
        for (i = 0; i < a->len && i < 16; i++) {
            fprintf(stderr, " %02x", a->data[i]);
        }
        break;
    case DUALCAM_ACT_FILE_OPEN:
        fprintf(stderr, " %s total %u", a->file->name,
                (unsigned) a->file->total);
        break;
    case DUALCAM_ACT_FILE_WRITE:
    case DUALCAM_ACT_FILE_COMMIT:
        fprintf(stderr, " offset %llu len %zu",
                (unsigned long long) a->offset, a->len);
        break;
    case DUALCAM_ACT_LOG:
        fprintf(stderr, " %s", a->msg);
        break;
    case DUALCAM_ACT_CLOSE:
        fprintf(stderr, " %s", dualcam_result_name(a->result));
        break;
    default:
        break;
    }

    fprintf(stderr, "\n");
    (void) f;
}


void
fz_server_init(fz_server_t *f, const fz_opts_t *opts)
{
    memset(f, 0, sizeof(fz_server_t));

    f->trace = getenv("FZ_TRACE") != NULL;

    f->opts = *opts;
    dualcam_server_init(&f->s, &opts->conf);

    /* the limit in effect: the core raises one below a DATA frame */
    fz_assert(f->s.conf.buffer_size >= DUALCAM_DATA_FRAME_MAX);
    fz_assert(f->s.conf.buffer_size >= opts->conf.buffer_size);
    f->opts.conf.buffer_size = f->s.conf.buffer_size;

    f->buf = malloc(f->opts.conf.buffer_size);
    fz_assert(f->buf != NULL);
}


void
fz_server_free(fz_server_t *f)
{
    free(f->buf);
    free(f->in);
    f->buf = NULL;
    f->in = NULL;
}


static void
fz_drain(fz_server_t *f)
{
    int                rc;
    size_t             pos, n, consumed, rest, flen;
    unsigned           idle;
    dualcam_action_t   a;
    unsigned char     *in;

    pos = 0;
    idle = 0;

    while (!f->closed) {
        n = f->len - pos;

        free(f->in);
        f->in = malloc(n + 1);
        fz_assert(f->in != NULL);

        /* an empty input is one past the end of a 1-byte block */
        in = f->in + (n == 0);
        memcpy(in, f->buf + pos, n);

        memset(&a, 0, sizeof(a));
        consumed = (size_t) -1;

        rc = dualcam_server_step(&f->s, in, n, &consumed, &a);

        fz_assert(rc == DUALCAM_AGAIN || rc == DUALCAM_ACTION);
        fz_assert(consumed <= n);

        pos += consumed;

        if (rc == DUALCAM_AGAIN) {
            /* "all complete input consumed": at most one partial frame,
             * whether the server waits for an init or a framed command */
            rest = n - consumed;
            if (rest >= 4) {
                flen = 4 + (size_t) dualcam_get16(in + consumed + 2);
                fz_assert(!(rest >= flen && rest >= DUALCAM_INIT_LEN));
            }
            break;
        }

        /* an action without input is fine, an endless run of them not */
        idle = consumed ? 0 : idle + 1;
        fz_assert(idle < 64);

        fz_handle(f, &a, in, n);
    }

    memmove(f->buf, f->buf + pos, f->len - pos);
    f->len -= pos;
}


size_t
fz_server_feed(fz_server_t *f, const unsigned char *p, size_t n)
{
    size_t  room;

    if (f->closed) {
        return n;
    }

    room = f->opts.conf.buffer_size - f->len;
    if (n > room) {
        n = room;
    }

    memcpy(f->buf + f->len, p, n);
    f->len += n;

    fz_drain(f);

    /* never more than conf.buffer_size needed to make progress */
    fz_assert(f->closed || f->len < f->opts.conf.buffer_size);

    if (f->closed) {
        fz_after_close(f);
    }

    return n;
}


void
fz_server_timer(fz_server_t *f)
{
    int               rc;
    dualcam_action_t  a;

    if (f->closed || !dualcam_server_waiting_sync(&f->s)) {
        return;
    }

    memset(&a, 0, sizeof(a));
    rc = dualcam_server_timer(&f->s, &a);
    fz_assert(rc == DUALCAM_AGAIN || rc == DUALCAM_ACTION);

    if (rc == DUALCAM_ACTION) {
        fz_handle(f, &a, NULL, 0);
    }

    /* follow-up actions come from the next step */
    fz_drain(f);

    if (f->closed) {
        fz_after_close(f);
    }
}


void
fz_server_end(fz_server_t *f, dualcam_result_e result)
{
    int               rc;
    dualcam_action_t  a;

    if (f->closed) {
        return;
    }

    memset(&a, 0, sizeof(a));
    rc = dualcam_server_end(&f->s, result, &a);
    fz_assert(rc == DUALCAM_AGAIN || rc == DUALCAM_ACTION);

    if (rc == DUALCAM_ACTION) {
        fz_assert(a.type == DUALCAM_ACT_FILE_ABORT);
        fz_assert(f->file_open);
        fz_handle(f, &a, NULL, 0);
    }

    fz_assert(!f->file_open);

    f->closed = 1;
    f->result = result;

    /* a second end is harmless and silent */
    memset(&a, 0, sizeof(a));
    fz_assert(dualcam_server_end(&f->s, result, &a) == DUALCAM_AGAIN);
}


static void
fz_after_close(fz_server_t *f)
{
    int               rc;
    size_t            consumed;
    dualcam_action_t  a;
    unsigned char     junk[DUALCAM_DATA_FRAME_MAX];

    /* after CLOSE: no more actions, whatever arrives */
    fz_assert(!dualcam_server_waiting_sync(&f->s));

    memset(junk, 0, sizeof(junk));
    memset(&a, 0, sizeof(a));
    rc = dualcam_server_step(&f->s, junk, sizeof(junk), &consumed, &a);
    fz_assert(rc == DUALCAM_AGAIN);
    fz_assert(consumed <= sizeof(junk));

    rc = dualcam_server_end(&f->s, DUALCAM_RESULT_CLOSED_BY_DEVICE, &a);
    fz_assert(rc == DUALCAM_AGAIN);
}


void
fz_check_send(const unsigned char *p, size_t n)
{
    size_t    len;
    unsigned  cmd;

    fz_assert(p != NULL);
    fz_assert(n >= 2);

    while (n > 0) {
        fz_assert(n >= 2);
        cmd = dualcam_get16(p);

        if (cmd == DUALCAM_CMD_REPEAT_INIT) {
            /* 00 09, two bytes only */
            p += 2;
            n -= 2;
            continue;
        }

        fz_assert(n >= 4);
        len = dualcam_get16(p + 2);

        if (cmd == DUALCAM_CMD_CLOSE) {
            fz_assert(len == 0);
            p += 4;
            n -= 4;
            continue;
        }

        fz_assert(n >= 4 + len);

        switch (cmd) {

        case DUALCAM_CMD_RESUME:
        case DUALCAM_CMD_STATUS:
            fz_assert(len == 4);
            break;

        case DUALCAM_CMD_FILE_REQUEST:
            fz_assert(len >= 1 && len <= DUALCAM_PATH_MAX);
            break;

        case DUALCAM_CMD_METADATA_QUERY:
            fz_assert(len == 0 || len == DUALCAM_IDENT_LEN
                      || len <= DUALCAM_PATH_MAX);
            break;

        case DUALCAM_CMD_PATH_REQUEST:
            fz_assert(len == 2 && p[4] == 0 && p[5] == 0);
            break;

        default:
            fz_fail(__FILE__, __LINE__, "SEND of an unknown command");
        }

        p += 4 + len;
        n -= 4 + len;
    }
}


static void
fz_handle(fz_server_t *f, dualcam_action_t *a, const unsigned char *in,
    size_t n)
{
    size_t             mlen, used;
    uint64_t           end, max;
    dualcam_action_t   b;

    f->actions++;
    max = f->opts.conf.max_file_size;

    if (f->trace) {
        fz_trace(f, a);
    }

    switch (a->type) {

    case DUALCAM_ACT_SEND:
        fz_check_send(a->data, a->len);
        /* nothing after the CLOSE frame */
        fz_assert(!(f->sent_close));
        if (a->len == 4 && dualcam_get32(a->data) == 0) {
            f->sent_close = 1;
        }
        if (f->committed) {
            /* the device hears 00 09 only after the commit */
            fz_assert(a->len == 2
                      && dualcam_get16(a->data) == DUALCAM_CMD_REPEAT_INIT);
            f->committed = 0;
        }
        f->sends++;
        break;

    case DUALCAM_ACT_HELLO:
        fz_assert(!f->file_open);
        fz_assert(f->s.imei <= DUALCAM_IMEI_MAX);
        f->hellos++;
        if (f->opts.misuse) {
            fz_misuse(f);
        }
        if (f->opts.refuse && f->hellos == f->opts.refuse) {
            dualcam_server_refuse(&f->s);
            f->refused = 1;
        }
        break;

    case DUALCAM_ACT_FILE_OPEN:
        fz_assert(!f->refused);
        fz_file_open(f, a);
        break;

    case DUALCAM_ACT_FILE_WRITE:
        fz_assert(f->file_open);
        fz_assert(a->file == &f->s.file);
        fz_assert(a->len >= 1 && a->len <= DUALCAM_PACKET_SIZE);
        fz_assert(in != NULL);
        fz_assert(a->data >= in && a->data + a->len <= in + n);

        end = a->offset + a->len;
        fz_assert(a->offset <= f->held);
        fz_assert(end <= f->bound);
        fz_assert(max == 0 || end <= max);

        if (!f->path_mode) {
            fz_assert(a->offset % DUALCAM_PACKET_SIZE == 0);
            fz_assert(a->len == DUALCAM_PACKET_SIZE
                      || a->offset / DUALCAM_PACKET_SIZE + 1 == f->total);
        }

        if (end > f->held) {
            f->held = end;
        }
        f->last_end = end;
        f->wrote = 1;
        f->writes++;
        break;

    case DUALCAM_ACT_FILE_COMMIT:
        fz_assert(f->file_open);
        fz_assert(a->file == &f->s.file);
        fz_assert(a->offset == f->held);
        fz_assert(f->wrote == 0 || f->last_end == f->held);
        fz_assert(a->file->received == a->offset);

        if (f->path_mode) {
            fz_assert(a->offset == f->total);
        } else {
            fz_assert(f->total > 0);
            fz_assert(a->offset > (uint64_t) (f->total - 1)
                                  * DUALCAM_PACKET_SIZE);
            fz_assert(a->offset <= f->bound);
        }

        f->file_open = 0;
        f->committed = 1;
        f->commits++;

        /* nothing but 00 09 follows until the caller says it is stored */
        memset(&b, 0, sizeof(b));
        fz_assert(dualcam_server_step(&f->s, NULL, 0, &used, &b)
                  == DUALCAM_AGAIN && used == 0);
        dualcam_server_committed(&f->s, DUALCAM_COMMIT_STORED);
        break;

    case DUALCAM_ACT_FILE_ABORT:
        fz_assert(f->file_open);
        fz_assert(a->file == &f->s.file);
        fz_assert(a->file->received <= f->held);
        f->file_open = 0;
        f->aborts++;
        break;

    case DUALCAM_ACT_PROGRESS:
        fz_assert(f->file_open);
        fz_assert(a->file == &f->s.file);
        break;

    case DUALCAM_ACT_LOG:
        fz_assert(a->msg != NULL);
        fz_assert(a->level >= DUALCAM_LOG_ERR
                  && a->level <= DUALCAM_LOG_DEBUG);
        mlen = strlen(a->msg);
        fz_assert(mlen < 4096);
        break;

    case DUALCAM_ACT_METADATA:
        fz_assert(!f->file_open);
        fz_assert(a->file == &f->s.file);
        if (a->file->meta.raw != NULL) {
            fz_assert(in != NULL);
            fz_assert(a->file->meta.raw >= in
                      && a->file->meta.raw + a->file->meta.raw_len
                         <= in + n);
        }
        if (a->file->meta.json != NULL) {
            fz_assert(in != NULL);
            fz_assert(a->file->meta.json >= in
                      && a->file->meta.json + a->file->meta.json_len
                         <= in + n);
        }
        break;

    case DUALCAM_ACT_CLOSE:
        fz_assert(!f->file_open);
        fz_assert(a->result != DUALCAM_RESULT_NONE);
        fz_assert(!f->refused || a->result == DUALCAM_RESULT_REFUSED);
        f->closed = 1;
        f->result = a->result;
        break;

    default:
        fz_fail(__FILE__, __LINE__, "unknown action type");
    }

    if (f->on_action != NULL) {
        f->on_action(f->ctx, a);
    }
}


static void
fz_file_open(fz_server_t *f, dualcam_action_t *a)
{
    uint64_t         want, got;
    dualcam_file_t  *file;

    fz_assert(!f->file_open);
    fz_assert(a->file == &f->s.file);

    file = a->file;

    f->file_open = 1;
    f->path_mode = file->path_mode;
    f->total = file->total;
    f->bound = f->path_mode ? file->total
                            : (uint64_t) file->total * DUALCAM_PACKET_SIZE;
    f->held = 0;
    f->last_end = 0;
    f->wrote = 0;

    /* START 0 is an empty file: skipped, never opened */
    fz_assert(file->total > 0);
    fz_assert(file->name_len <= DUALCAM_PATH_MAX);
    fz_assert(file->name[sizeof(file->name) - 1] == '\0');

    if (f->on_resume != NULL && f->on_resume(f->ctx, file, &want)) {
        goto resume;
    }

    switch (f->opts.resume_mode) {
    case 0:
        return;
    case 1:
        want = 0;
        break;
    case 2:
        want = (uint64_t) f->opts.resume_arg * 113;
        break;
    case 3:
        want = (uint64_t) f->opts.resume_arg * DUALCAM_PACKET_SIZE;
        break;
    case 4:
        want = f->bound;
        break;
    case 5:
        want = f->bound ? f->bound - 1 : 0;
        break;
    case 6:
        want = UINT64_MAX;
        break;
    default:
        want = f->bound + 1;
        break;
    }

resume:

    got = dualcam_server_resume_from(&f->s, want);

    fz_assert(got <= want);
    fz_assert(got <= f->bound);
    fz_assert(f->path_mode || got % DUALCAM_PACKET_SIZE == 0);

    f->held = got;
    f->reused = got;
}
