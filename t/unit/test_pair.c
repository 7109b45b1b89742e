
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * pair_suite: the server core against the device core, in memory.  Both
 * directions are cut into random read sizes (the glue's and the
 * simulator's reads), the device streams DATA in random batch sizes, and
 * every file the server commits must equal the device's file byte for
 * byte: every file kind and size, bad CRCs, resumes, path mode, 0x000E.
 */


#include <stdlib.h>
#include <string.h>

#include "tests.h"
#include "dualcam_device.h"


#define PAIR_FILES      4
#define PAIR_ROUNDS     20000000


typedef struct {
    unsigned char  *p;
    size_t          len;        /* bytes written by the sender */
    size_t          vis;        /* bytes "arrived" at the receiver */
    size_t          pos;        /* bytes consumed by the receiver */
    size_t          cap;
} pair_pipe_t;


typedef struct {
    dualcam_server_t       srv;
    dualcam_server_conf_t  sconf;
    dualcam_device_t       dev;
    dualcam_device_conf_t  dconf;

    const unsigned char   *content[PAIR_FILES];

    pair_pipe_t            d2s;
    pair_pipe_t            s2d;

    /* the server's file in flight, assembled by offset */
    unsigned char         *cur;
    size_t                 cur_cap;
    uint64_t               cur_len;
    int                    cur_file;    /* device file it is, by content */

    /* knob: at FILE_OPEN the server holds this verified prefix */
    uint64_t               resume_bytes;
    uint64_t               resume_kept;

    unsigned               commits;
    unsigned               aborts;
    uint64_t               abort_received;
    unsigned               metas;
    unsigned               mismatches;
    uint64_t               committed[PAIR_FILES];   /* sizes */
    unsigned               committed_ok[PAIR_FILES];
    unsigned               path_mode[PAIR_FILES];
    dualcam_meta_type_e    meta_type;
    unsigned               srv_closed;
    dualcam_result_e       result;

    unsigned               dev_closed;
    unsigned               dev_done;
    unsigned               dev_complete;
    unsigned               dev_errors;
    unsigned               dev_dropped;

    unsigned               timer_fires; /* knob: RESUME repeats to force */
    unsigned               rewinds;     /* writes before the end so far */
    unsigned               timer_fired;
    uint64_t               moved;       /* bytes put or consumed */
    uint64_t               rng;
} pair_t;


static unsigned char  *big;
static size_t          big_len;


static uint64_t
pair_rand(pair_t *p)
{
    uint64_t  x;

    p->rng += 0x9e3779b97f4a7c15ULL;
    x = p->rng;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;

    return x ^ (x >> 31);
}


/* a read: mostly small, sometimes large, now and then exactly one byte */

static size_t
pair_chunk(pair_t *p)
{
    uint64_t  r;

    r = pair_rand(p);

    switch (r & 3) {
    case 0:
        return 1 + (r >> 8) % 16;
    case 1:
        return 1 + (r >> 8) % 2100;
    default:
        return 1 + (r >> 8) % 70000;
    }
}


static void
pipe_put(pair_t *p, pair_pipe_t *pp, const unsigned char *data, size_t n)
{
    p->moved += n;

    if (pp->pos == pp->len) {
        /* everything consumed: start over at the front */
        pp->pos = 0;
        pp->vis = 0;
        pp->len = 0;
    }

    if (pp->len + n > pp->cap) {
        pp->cap = (pp->len + n) * 2 + 65536;
        pp->p = realloc(pp->p, pp->cap);
        ck_assert_ptr_nonnull(pp->p);
    }

    memcpy(pp->p + pp->len, data, n);
    pp->len += n;
}


static int
pair_get(void *ctx, unsigned file, uint64_t offset, unsigned char *dst,
    size_t n)
{
    pair_t  *p;

    p = ctx;
    memcpy(dst, p->content[file] + offset, n);

    return 0;
}


static void
pair_init(pair_t *p, uint64_t seed)
{
    memset(p, 0, sizeof(pair_t));

    p->sconf.buffer_size = 4096;
    p->sconf.max_crc_errors = 10;
    p->sconf.max_resume_repeats = 3;
    p->sconf.metadata = 1;

    p->dconf.imei = 352093081234567ULL;
    p->dconf.protocol = 5;
    p->dconf.get = pair_get;
    p->dconf.ctx = p;

    p->cur_file = -1;
    p->rng = seed * 7919 + 1;
}


static void
pair_free(pair_t *p)
{
    free(p->d2s.p);
    free(p->s2d.p);
    free(p->cur);
}


static void
pair_server_action(pair_t *p, dualcam_action_t *a)
{
    unsigned         i;
    uint64_t         end;
    dualcam_file_t  *f;

    switch (a->type) {

    case DUALCAM_ACT_SEND:
        pipe_put(p, &p->s2d, a->data, a->len);
        break;

    case DUALCAM_ACT_METADATA:
        p->metas++;
        p->meta_type = a->file->meta.type;
        break;

    case DUALCAM_ACT_FILE_OPEN:
        f = a->file;
        p->cur_len = 0;

        /* which device file: the one the device just started */
        p->cur_file = p->dev.cur;
        ck_assert_int_ge(p->cur_file, 0);

        if (p->cur_cap < f->max_size + 1) {
            p->cur_cap = f->max_size + 1;
            p->cur = realloc(p->cur, p->cur_cap);
            ck_assert_ptr_nonnull(p->cur);
        }

        if (p->resume_bytes) {
            p->resume_kept = dualcam_server_resume_from(&p->srv,
                                                        p->resume_bytes);
            ck_assert_uint_le(p->resume_kept, p->resume_bytes);

            /* the prefix an earlier connection left in the store */
            memcpy(p->cur, p->content[p->cur_file], p->resume_kept);
            p->cur_len = p->resume_kept;
        }

        break;

    case DUALCAM_ACT_FILE_WRITE:
        end = a->offset + a->len;
        ck_assert_uint_le(end, p->cur_cap);
        /*
         * no gap; a rewrite only from where a device's SYNC went back
         * (it answered a repeated RESUME), which the commit's byte
         * comparison covers
         */
        ck_assert_uint_le(a->offset, p->cur_len);
        if (a->offset < p->cur_len) {
            p->rewinds++;
        }
        memcpy(p->cur + a->offset, a->data, a->len);
        p->cur_len = end;
        break;

    case DUALCAM_ACT_FILE_COMMIT:
        i = (unsigned) p->cur_file;
        ck_assert_uint_eq(a->offset, p->cur_len);
        p->commits++;
        p->committed[i] = a->offset;
        p->path_mode[i] = a->file->path_mode;

        if (a->offset == p->dconf.files[i].size
            && memcmp(p->cur, p->content[i], a->offset) == 0)
        {
            p->committed_ok[i]++;

        } else {
            p->mismatches++;
        }

        dualcam_server_committed(&p->srv, DUALCAM_COMMIT_STORED);
        break;

    case DUALCAM_ACT_FILE_ABORT:
        p->aborts++;
        p->abort_received = a->offset;
        break;

    case DUALCAM_ACT_CLOSE:
        p->srv_closed = 1;
        p->result = a->result;
        break;

    default:
        break;
    }
}


static void
pair_device_action(pair_t *p, dualcam_device_action_t *a)
{
    switch (a->type) {
    case DUALCAM_DEV_SEND:
        pipe_put(p, &p->d2s, a->data, a->len);
        break;
    case DUALCAM_DEV_FILE_DONE:
        p->dev_done++;
        p->dev_complete += a->complete;
        break;
    case DUALCAM_DEV_CLOSED:
        p->dev_closed = 1;
        break;
    case DUALCAM_DEV_DROP:
        p->dev_dropped = 1;
        break;
    case DUALCAM_DEV_ERROR:
    case DUALCAM_DEV_STALL:
        p->dev_errors++;
        break;
    default:
        break;
    }
}


/* one "read" of a pipe: more bytes become visible to the receiver */

static void
pipe_arrive(pair_t *p, pair_pipe_t *pp)
{
    size_t  n;

    n = pair_chunk(p);
    pp->vis = (pp->len - pp->vis < n) ? pp->len : pp->vis + n;
}


/* runs the conversation until both sides are done or nothing moves */

static void
pair_run(pair_t *p)
{
    int                      rc;
    size_t                   consumed, cap, n;
    uint64_t                 before;
    unsigned                 idle, round;
    unsigned char           *buf;
    dualcam_action_t         sa;
    dualcam_device_action_t  da;

    buf = malloc(65536);
    ck_assert_ptr_nonnull(buf);

    dualcam_server_init(&p->srv, &p->sconf);
    dualcam_device_init(&p->dev, &p->dconf);

    idle = 0;

    for (round = 0; round < PAIR_ROUNDS; round++) {
        before = p->moved;

        /* the device reads what the server sent, then writes */
        pipe_arrive(p, &p->s2d);

        for ( ;; ) {
            rc = dualcam_device_step(&p->dev, p->s2d.p + p->s2d.pos,
                                     p->s2d.vis - p->s2d.pos, &consumed,
                                     &da);
            p->s2d.pos += consumed;
            p->moved += consumed;
            ck_assert_uint_le(p->s2d.pos, p->s2d.vis);

            if (rc == DUALCAM_AGAIN) {
                break;
            }

            pair_device_action(p, &da);
        }

        if (dualcam_device_streaming(&p->dev)) {
            cap = DUALCAM_DATA_FRAME_MAX + pair_rand(p) % (65536 - 1040);
            n = dualcam_device_fill(&p->dev, buf, cap);
            pipe_put(p, &p->d2s, buf, n);

            /* what fill queued */
            while (dualcam_device_step(&p->dev, NULL, 0, &consumed, &da)
                   == DUALCAM_ACTION)
            {
                pair_device_action(p, &da);
            }
        }

        /* the server reads */
        pipe_arrive(p, &p->d2s);

        while (!p->srv_closed) {
            rc = dualcam_server_step(&p->srv, p->d2s.p + p->d2s.pos,
                                     p->d2s.vis - p->d2s.pos, &consumed,
                                     &sa);
            p->d2s.pos += consumed;
            p->moved += consumed;
            ck_assert_uint_le(p->d2s.pos, p->d2s.vis);

            if (rc == DUALCAM_AGAIN) {
                /* the glue's buffer never holds more than one frame */
                ck_assert_uint_lt(p->d2s.vis - p->d2s.pos,
                                  p->sconf.buffer_size);
                break;
            }

            pair_server_action(p, &sa);
        }

        /* the RESUME timer fires before the device's SYNC is read */
        if (p->timer_fires && !p->srv_closed
            && dualcam_server_waiting_sync(&p->srv)
            && (pair_rand(p) & 1))
        {
            p->timer_fires--;
            p->timer_fired++;

            if (dualcam_server_timer(&p->srv, &sa) == DUALCAM_ACTION) {
                pair_server_action(p, &sa);
            }
        }

        if (p->dev_closed && p->srv_closed) {
            break;
        }

        if (p->dev_errors) {
            break;
        }

        if (p->dev_dropped && p->d2s.pos == p->d2s.len) {
            /* the server read everything before the FIN: now it ends */
            if (dualcam_server_end(&p->srv, DUALCAM_RESULT_CLOSED_BY_DEVICE,
                                   &sa)
                == DUALCAM_ACTION)
            {
                pair_server_action(p, &sa);
            }

            break;
        }

        if (before == p->moved
            && p->d2s.vis == p->d2s.len && p->s2d.vis == p->s2d.len)
        {
            if (++idle > 3) {
                break;
            }

        } else {
            idle = 0;
        }
    }

    free(buf);
}


static void
big_init(void)
{
    size_t    i;
    uint64_t  x;

    if (big != NULL) {
        return;
    }

    /* the largest file, at any of the offsets pair_file() picks */
    big_len = 6 * 1024 * 1024 + 777 + 1000;
    big = malloc(big_len);
    ck_assert_ptr_nonnull(big);

    x = 12345;
    for (i = 0; i < big_len; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        big[i] = (unsigned char) (x >> 56);
    }
}


/* the seven kinds: four identifiers, ADAS, DSM, protocol 6 JSON */

typedef struct {
    dualcam_kind_e         kind;
    dualcam_side_e         side;
    const char            *path;
    unsigned               protocol;
    dualcam_meta_type_e    meta_type;
} pair_kind_t;


static const unsigned char  meta_v3[] = {
    0x03, 0x04, 0x00, 0x00, 0x01, 0x92, 0xdd, 0x35, 0x36, 0x28, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x2c, 0x40, 0x38, 0xed, 0xb6, 0x1b, 0xb0, 0x5f, 0xaf,
    0x40, 0x50, 0xc8, 0x45, 0x85, 0xd4, 0x79, 0x22
};

static const unsigned char  meta_adas[15] = {
    0x65, 0x32, 0x9a, 0x5c, 0x01, 0x00, 0x03, 0x42, 0x72, 0x44, 0x01, 0x81,
    0x9a, 0x64, 0x00
};

static const unsigned char  meta_dsm[26] = {
    0x65, 0x32, 0x9a, 0x5c, 0x01, 0x0d, 0x03, 0x42, 0x72, 0x44, 0x01, 0x81,
    0x9a, 0x64, 0x00, 0x01, 'J', 'O', 'N', 'A', 'S', ' ', ' ', ' ', ' ', ' '
};

static const char  meta_json[] =
    "{\"version\":1,\"file\":{\"file_type\":1,\"file_timestamp\":1698000000,"
    "\"duration\":0},\"location\":{\"latitude\":54.6,\"longitude\":25.2}}";


static const pair_kind_t  pair_kinds[] = {
    { DUALCAM_KIND_PHOTO, DUALCAM_SIDE_FRONT, NULL, 5, DUALCAM_META_DUALCAM },
    { DUALCAM_KIND_PHOTO, DUALCAM_SIDE_REAR, NULL, 5, DUALCAM_META_DUALCAM },
    { DUALCAM_KIND_VIDEO, DUALCAM_SIDE_FRONT, NULL, 5, DUALCAM_META_DUALCAM },
    { DUALCAM_KIND_VIDEO, DUALCAM_SIDE_REAR, NULL, 5, DUALCAM_META_DUALCAM },
    { DUALCAM_KIND_PATH, DUALCAM_SIDE_NONE, "mdas9/picture/241030/113505.jpg",
      5, DUALCAM_META_ADAS },
    { DUALCAM_KIND_PATH, DUALCAM_SIDE_NONE, "dsm/picture/231020/231452.jpg",
      5, DUALCAM_META_DSM },
    { DUALCAM_KIND_PATH, DUALCAM_SIDE_NONE, "dualcam_front/picture/1.jpg",
      6, DUALCAM_META_JSON },
};

#define PAIR_NKINDS  (sizeof(pair_kinds) / sizeof(pair_kinds[0]))

static const size_t  pair_sizes[] = {
    0, 1, 1023, 1024, 1025, 6 * 1024 * 1024 + 777
};

#define PAIR_NSIZES  (sizeof(pair_sizes) / sizeof(pair_sizes[0]))


static void
pair_file(pair_t *p, unsigned k, size_t size)
{
    unsigned                kind;
    const pair_kind_t      *pk;
    dualcam_device_file_t  *f;

    kind = k % PAIR_NKINDS;
    pk = &pair_kinds[kind];
    f = &p->dconf.files[p->dconf.nfiles];

    f->kind = pk->kind;
    f->side = pk->side;
    f->size = size;
    p->dconf.protocol = pk->protocol;

    if (pk->path != NULL) {
        f->path = (const unsigned char *) pk->path;
        /* real units send the NUL; send it for one kind, not the other */
        f->path_len = strlen(pk->path) + (kind == 5 ? 1 : 0);
    }

    switch (pk->meta_type) {
    case DUALCAM_META_DUALCAM:
        f->meta = meta_v3;
        f->meta_len = sizeof(meta_v3);
        break;
    case DUALCAM_META_ADAS:
        f->meta = meta_adas;
        f->meta_len = sizeof(meta_adas);
        break;
    case DUALCAM_META_DSM:
        f->meta = meta_dsm;
        f->meta_len = sizeof(meta_dsm);
        break;
    default:
        f->meta = (const unsigned char *) meta_json;
        f->meta_len = sizeof(meta_json) - 1;
        break;
    }

    big_init();
    p->content[p->dconf.nfiles] = big + (k * 4099) % 1000;
    p->dconf.nfiles++;
}


static void
pair_check_ok(pair_t *p)
{
    unsigned  i;

    ck_assert_uint_eq(p->dev_errors, 0);
    ck_assert_msg(p->srv_closed, "the server did not close (result %s)",
                  dualcam_result_name(p->srv.result));
    ck_assert_int_eq(p->result, DUALCAM_RESULT_OK);
    ck_assert(p->dev_closed);
    ck_assert_uint_eq(p->mismatches, 0);
    ck_assert(dualcam_device_idle(&p->dev));

    /* only a device answering a repeated RESUME goes back */
    if (p->timer_fired == 0) {
        ck_assert_uint_eq(p->rewinds, 0);
    }

    for (i = 0; i < p->dconf.nfiles; i++) {
        if (p->dconf.files[i].size == 0) {
            ck_assert_uint_eq(p->committed_ok[i], 0);

        } else {
            ck_assert_msg(p->committed_ok[i] == 1,
                          "file %u (%u bytes) committed %u times", i,
                          (unsigned) p->dconf.files[i].size,
                          p->committed_ok[i]);
        }
    }
}


/* every kind, every size; _i = kind * sizes + size */

START_TEST(test_pair_kinds_sizes)
{
    pair_t   p;
    size_t   size;
    unsigned kind;

    kind = (unsigned) _i / PAIR_NSIZES;
    size = pair_sizes[_i % PAIR_NSIZES];

    pair_init(&p, (uint64_t) _i);
    pair_file(&p, kind, size);
    pair_run(&p);
    pair_check_ok(&p);

    ck_assert_uint_eq(p.commits, size ? 1 : 0);
    ck_assert_uint_eq(p.metas, 1);
    ck_assert_int_eq(p.meta_type, pair_kinds[kind].meta_type);

    if (size) {
        ck_assert_uint_eq(p.path_mode[0],
                          pair_kinds[kind].kind == DUALCAM_KIND_PATH);
    }

    /* one RESUME, from the start */
    ck_assert_uint_eq(p.dev.nresumes, size ? 1 : 0);

    if (size) {
        ck_assert_uint_le(p.dev.resumes[0].value, 1);
    }

    pair_free(&p);
}
END_TEST


/* several files in one session, in random order of offering */

START_TEST(test_pair_many)
{
    pair_t    p;
    unsigned  k;

    /* _i: with and without metadata queries */
    pair_init(&p, 99 + _i);
    p.sconf.metadata = !_i;

    for (k = 0; k < 4; k++) {
        pair_file(&p, k, 3000 + k * 5000);
    }

    pair_run(&p);
    pair_check_ok(&p);
    ck_assert_uint_eq(p.commits, 4);
    ck_assert_uint_eq(p.metas, _i ? 0 : 4);
    ck_assert_uint_eq(p.dev.inits, 5);
    pair_free(&p);
}
END_TEST


/*
 * The device answers with STATUS 17 instead: to the metadata query the
 * server moves on to the next file; to the file request it ends the
 * session with device_status.
 */

START_TEST(test_pair_status)
{
    pair_t  p;

    pair_init(&p, 555);
    pair_file(&p, 0, 5000);
    pair_file(&p, 2, 7000);
    p.dconf.files[0].status = 17;
    p.dconf.files[0].status_on = DUALCAM_CMD_METADATA_QUERY;
    pair_run(&p);

    ck_assert(p.srv_closed);
    ck_assert_int_eq(p.result, DUALCAM_RESULT_OK);
    ck_assert(p.dev_closed);
    ck_assert_uint_eq(p.commits, 1);
    ck_assert_uint_eq(p.committed_ok[1], 1);
    ck_assert_uint_eq(p.mismatches, 0);
    pair_free(&p);

    pair_init(&p, 556);
    pair_file(&p, 0, 5000);
    p.dconf.files[0].status = 17;
    p.dconf.files[0].status_on = DUALCAM_CMD_FILE_REQUEST;
    pair_run(&p);

    ck_assert(p.srv_closed);
    ck_assert_int_eq(p.result, DUALCAM_RESULT_DEVICE_STATUS);
    ck_assert_uint_eq(p.commits, 0);
    pair_free(&p);
}
END_TEST


/* a bad CRC at the first, a middle and the last packet: _i = mode * 3 +
   where; packet mode and path mode */

START_TEST(test_pair_bad_crc)
{
    pair_t    p;
    unsigned  mode, where, kind;
    uint32_t  bad, want;
    size_t    size;

    mode = (unsigned) _i / 3;
    where = (unsigned) _i % 3;
    kind = mode ? 4 : 0;
    size = 20 * 1024 + 300;                 /* 21 packets */
    bad = where == 0 ? 1 : where == 1 ? 11 : 21;

    pair_init(&p, 1000 + _i);
    pair_file(&p, kind, size);
    p.dconf.files[0].crc_error_at = bad;
    pair_run(&p);
    pair_check_ok(&p);

    /* the first RESUME starts the file, the second asks for the bad one */
    ck_assert_uint_eq(p.dev.nresumes, 2);
    want = mode ? (bad - 1) * 1024 : bad;
    ck_assert_uint_eq(p.dev.resumes[1].value, want);
    ck_assert_uint_eq(p.commits, 1);
    ck_assert_uint_eq(p.srv.file.crc_errors, 1);

    pair_free(&p);
}
END_TEST


/* a bad CRC in every file of a big transfer, with 0x000E too */

START_TEST(test_pair_bad_crc_enhanced)
{
    pair_t  p;

    pair_init(&p, 77);
    pair_file(&p, 4, 1024 * 1024 + 5);
    p.dconf.files[0].crc_error_at = 500;
    p.dconf.files[0].enhanced = 1;
    pair_run(&p);
    pair_check_ok(&p);
    ck_assert_uint_eq(p.dev.resumes[1].value, 499 * 1024);
    pair_free(&p);
}
END_TEST


/*
 * Resume from a verified prefix kept from an earlier connection: the
 * RESUME asks for what follows it, and the stored file is byte-exact.
 * _i: 0 packet mode, 1 path mode, 2 path mode with 0x000E, 3 packet mode
 * with 0x000E.
 */

START_TEST(test_pair_resume_from)
{
    pair_t    p;
    unsigned  path;
    uint64_t  bytes, want;

    path = (_i == 1 || _i == 2);
    bytes = 5000;

    pair_init(&p, 2000 + _i);
    pair_file(&p, path ? 5 : 2, 9 * 1024 + 11);
    p.dconf.files[0].enhanced = (_i >= 2);
    p.resume_bytes = bytes;
    pair_run(&p);
    pair_check_ok(&p);

    /* packet mode keeps whole packets: 4 of them, RESUME 5 */
    ck_assert_uint_eq(p.resume_kept, path ? 5000 : 4096);
    want = path ? 5000 : 5;
    ck_assert_uint_eq(p.dev.nresumes, 1);
    ck_assert_uint_eq(p.dev.resumes[0].value, want);
    pair_free(&p);
}
END_TEST


/*
 * The link drops after packet 7; the next connection offers the same
 * file and the server resumes from what the first one verified (the
 * glue keeps the aborted prefix): RESUME 8, or byte 7168 in path mode.
 */

/*
 * The RESUME timer fires while the device's SYNC is on its way, alone and
 * with a bad CRC after it: the device answers every RESUME, so late and
 * stale SYNCs arrive, some after the file was complete.  Every run must
 * end with the file stored once, byte-exact, and the device told so.
 */

START_TEST(test_pair_resume_repeated)
{
    pair_t  p;

    pair_init(&p, 5000 + _i);
    pair_file(&p, (unsigned) _i % 2 ? 4 : 0,
              _i % 8 < 4 ? 40 * 1024 + 100 : 300 * 1024 + 100);
    p.timer_fires = 1 + (unsigned) _i % 3;

    if (_i % 4 >= 2) {
        p.dconf.files[0].crc_error_at = 2 + (unsigned) _i % 30;
    }

    pair_run(&p);
    pair_check_ok(&p);
    ck_assert_uint_eq(p.dev_complete, 1);
    pair_free(&p);
}
END_TEST


START_TEST(test_pair_drop_resume)
{
    pair_t    p, q;
    unsigned  kind;
    uint64_t  kept;

    kind = _i ? 6 : 1;

    pair_init(&p, 3000 + _i);
    pair_file(&p, kind, 30 * 1024 + 5);
    p.dconf.files[0].drop_after = 7;
    pair_run(&p);

    ck_assert(p.dev_dropped);
    ck_assert_uint_eq(p.commits, 0);
    ck_assert_uint_eq(p.aborts, 1);
    kept = p.abort_received;
    ck_assert_uint_eq(kept, 7 * 1024);
    ck_assert_int_eq(p.srv.result, DUALCAM_RESULT_CLOSED_BY_DEVICE);

    pair_init(&q, 4000 + _i);
    pair_file(&q, kind, 30 * 1024 + 5);
    q.resume_bytes = kept;
    pair_run(&q);
    pair_check_ok(&q);
    ck_assert_uint_eq(q.dev.nresumes, 1);
    ck_assert_uint_eq(q.dev.resumes[0].value, _i ? 7 * 1024 : 8);

    pair_free(&p);
    pair_free(&q);
}
END_TEST


Suite *
pair_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("pair");

    tc = tcase_create("pair");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_pair_kinds_sizes, 0,
                        (int) (PAIR_NKINDS * PAIR_NSIZES));
    tcase_add_loop_test(tc, test_pair_many, 0, 2);
    tcase_add_test(tc, test_pair_status);
    tcase_add_loop_test(tc, test_pair_bad_crc, 0, 6);
    tcase_add_test(tc, test_pair_bad_crc_enhanced);
    tcase_add_loop_test(tc, test_pair_resume_from, 0, 4);
    tcase_add_loop_test(tc, test_pair_drop_resume, 0, 2);
    tcase_add_loop_test(tc, test_pair_resume_repeated, 0, 64);
    suite_add_tcase(s, tc);

    return s;
}
