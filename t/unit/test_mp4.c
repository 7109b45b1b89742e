
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The remuxer on the two real DualCam recordings
 * (../shared/fixtures/video/): the PTMF records (counts, times, the exact
 * end), input split anywhere, every truncation and every corrupted
 * length refused with a reason, the hvcC against the SPS, the box tree
 * (sizes add up, moov before mdat, the tables agree with the counts),
 * plain Annex B made from the same frames, and G.711.  ffmpeg checks the
 * decoded frames and samples in t/test_mp4.py.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests.h"
#include "dualcam_mp4_int.h"


#define DUALCAM_VIDEO_1S  "dualcam-front-20241101T070713Z.h265"
#define DUALCAM_VIDEO_3S  "dualcam-front-20241101T095040Z.h265"


typedef struct {
    unsigned char  *data;
    size_t          len;
} dualcam_blob_t;


static dualcam_blob_t
dualcam_video_load(const char *name)
{
    FILE            *fp;
    char             path[512];
    size_t           i;
    const char      *env, *dirs[3];
    dualcam_blob_t   b;

    env = getenv("DUALCAM_FIXTURES");
    dirs[0] = env ? env : "";
    dirs[1] = "../../../shared/fixtures";
    dirs[2] = "../../shared/fixtures";

    b.data = NULL;
    b.len = 0;

    for (i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/video/%s", dirs[i], name);

        fp = fopen(path, "rb");
        if (fp == NULL) {
            continue;
        }

        b.data = malloc(1 << 20);
        ck_assert_ptr_nonnull(b.data);
        b.len = fread(b.data, 1, 1 << 20, fp);
        fclose(fp);
        return b;
    }

    ck_abort_msg("fixture %s not found", name);
    return b;
}


static dualcam_mp4_t *
dualcam_plan(const unsigned char *p, size_t n, size_t split, int audio)
{
    dualcam_mp4_t       *m;
    dualcam_mp4_conf_t   conf;

    memset(&conf, 0, sizeof(conf));
    conf.audio = audio;

    m = dualcam_mp4_create(&conf);
    ck_assert_ptr_nonnull(m);

    split = (split < n) ? split : n;

    if (dualcam_mp4_plan(m, p, split) == DUALCAM_MP4_OK
        && dualcam_mp4_plan(m, p + split, n - split) == DUALCAM_MP4_OK)
    {
        (void) dualcam_mp4_plan_end(m);
    }

    return m;
}


/* the copy pass with the given buffer sizes; returns the MP4 */

static unsigned char *
dualcam_copy(dualcam_mp4_t *m, const unsigned char *p, size_t n,
    size_t in_chunk, size_t out_chunk, size_t *len)
{
    int                rc;
    size_t             off, size;
    unsigned char     *out;
    dualcam_mp4_io_t   io;

    size = dualcam_mp4_info(m)->size;
    out = malloc(size + 1);
    ck_assert_ptr_nonnull(out);

    off = 0;
    *len = 0;
    io.in_len = 0;
    rc = DUALCAM_MP4_AGAIN;

    while (rc == DUALCAM_MP4_AGAIN) {
        if (io.in_len == 0) {
            io.in = p + off;
            io.in_len = (n - off < in_chunk) ? n - off : in_chunk;
            off += io.in_len;
        }

        io.out = out + *len;
        io.out_len = (size - *len < out_chunk) ? size - *len : out_chunk;

        rc = dualcam_mp4_copy(m, &io);
        ck_assert_int_ne(rc, DUALCAM_MP4_ERROR);

        *len = io.out - out;
        ck_assert_uint_le(*len, size);
    }

    ck_assert_int_eq(rc, DUALCAM_MP4_DONE);
    ck_assert_uint_eq(*len, size);

    return out;
}


static uint32_t
dualcam_be32(const unsigned char *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}


/* the boxes in [p, p + n) fill it exactly; containers recursively */

static void
dualcam_boxes(const unsigned char *p, size_t n, int depth)
{
    size_t   size;
    char     type[5];

    while (n) {
        ck_assert_uint_ge(n, 8);

        size = dualcam_be32(p);
        memcpy(type, p + 4, 4);
        type[4] = '\0';

        ck_assert_msg(size >= 8 && size <= n, "box %s of %zu in %zu", type,
                      size, n);

        if (strstr(" moov trak mdia minf stbl dinf edts ", type) != NULL
            && strlen(type) == 4)
        {
            dualcam_boxes(p + 8, size - 8, depth + 1);
        }

        p += size;
        n -= size;
    }
}


static const unsigned char *
dualcam_find(const unsigned char *p, size_t n, const char *path)
{
    size_t   size;

    while (n >= 8) {
        size = dualcam_be32(p);

        if (size < 8 || size > n) {
            return NULL;
        }

        if (memcmp(p + 4, path, 4) == 0) {
            if (path[4] == '\0') {
                return p;
            }

            return dualcam_find(p + 8, size - 8, path + 5);
        }

        p += size;
        n -= size;
    }

    return NULL;
}


START_TEST(test_mp4_fixture_records)
{
    size_t                     i, n;
    const dualcam_mp4_info_t  *info;
    dualcam_mp4_t             *m;
    dualcam_blob_t             b;
    dualcam_mp4_frame_t       *f;
    dualcam_mp4_chunk_t       *c;

    static const struct {
        const char  *name;
        unsigned     frames, keys, chunks;
        uint64_t     records;
    } want[] = {
        { DUALCAM_VIDEO_1S, 20, 1, 25, 45 },
        { DUALCAM_VIDEO_3S, 60, 3, 75, 135 }
    };

    b = dualcam_video_load(want[_i].name);
    m = dualcam_plan(b.data, b.len, b.len, 1);

    ck_assert_msg(dualcam_mp4_error(m) == NULL, "%s", dualcam_mp4_error(m));

    info = dualcam_mp4_info(m);

    /* every byte consumed, by whole records */
    ck_assert_uint_eq(m->record, want[_i].records);
    ck_assert_uint_eq(info->input, b.len);
    ck_assert_uint_eq(m->hdr_len, 0);

    ck_assert_int_eq(info->container, DUALCAM_MP4_CONTAINER_PTMF);
    ck_assert_uint_eq(info->frames, want[_i].frames);
    ck_assert_uint_eq(info->key_frames, want[_i].keys);
    ck_assert_uint_eq(info->dropped, 0);
    ck_assert_uint_eq(info->audio_frames, want[_i].chunks);
    ck_assert_uint_eq(info->audio_samples, want[_i].chunks * 320);
    ck_assert_uint_eq(info->audio_rate, 8000);
    ck_assert_int_eq(info->g711, DUALCAM_G711_ALAW);
    ck_assert_uint_eq(info->width, 1280);
    ck_assert_uint_eq(info->height, 720);
    ck_assert_str_eq(info->codec, "hvc1.1.6.L93.B0");

    /* the frames: 66.6 and 33.4 ms apart in turn; audio 40 ms */

    f = m->frames.elts;
    n = m->frames.nelts;

    for (i = 1; i < n; i++) {
        ck_assert_int_gt(f[i].ts - f[i - 1].ts, 33000);
        ck_assert_int_lt(f[i].ts - f[i - 1].ts, 67000);
        ck_assert_int_lt(llabs((f[i].ts - f[i - 1].ts)
                               + (i > 1 ? f[i - 1].ts - f[i - 2].ts : 33390)
                               - 100000), 1000);
    }

    c = m->chunks.elts;

    for (i = 1; i < m->chunks.nelts; i++) {
        ck_assert_int_gt(c[i].ts - c[i - 1].ts, 39000);
        ck_assert_int_lt(c[i].ts - c[i - 1].ts, 41000);
    }

    /* the 1 s file: as in ../shared/fixtures/video/README.md */

    if (_i == 0) {
        ck_assert_int_eq(f[0].ts, 228527346);
        ck_assert_int_eq(f[1].ts, 228593956);
        ck_assert_int_eq(c[0].ts, 228590493);
    }

    /* 1.0 s (3.0 s) within one frame */
    ck_assert_int_lt(llabs((long long) info->duration_us
                           - (long long) want[_i].frames * 50000), 50000);

    dualcam_mp4_destroy(m);
    free(b.data);
}
END_TEST


/* the output is the same however the input and output are split */

START_TEST(test_mp4_splits)
{
    size_t                     i, len, len2, split;
    unsigned char             *ref, *out;
    dualcam_mp4_t             *m;
    dualcam_blob_t             b;

    b = dualcam_video_load(DUALCAM_VIDEO_1S);

    m = dualcam_plan(b.data, b.len, b.len, 1);
    ref = dualcam_copy(m, b.data, b.len, b.len, dualcam_mp4_info(m)->size,
                       &len);

    /* every split in the first record's head, then every 997th byte (a
       small recording is split at every byte in test_mp4_every_cut) */

    for (split = 0; split < b.len; split += (split < 256) ? 1 : 997) {
        dualcam_mp4_t  *s;

        s = dualcam_plan(b.data, b.len, split, 1);
        ck_assert_msg(dualcam_mp4_error(s) == NULL, "split %zu: %s", split,
                      dualcam_mp4_error(s));
        ck_assert_uint_eq(dualcam_mp4_info(s)->size, len);
        ck_assert_uint_eq(s->segs.nelts, m->segs.nelts);

        if (split % 7 == 0) {
            out = dualcam_copy(s, b.data, b.len, 1 + split % 7919,
                               1 + split % 6007, &len2);
            ck_assert_int_eq(memcmp(out, ref, len), 0);
            free(out);
        }

        dualcam_mp4_destroy(s);
    }

    /* a byte at a time, both passes */

    {
        dualcam_mp4_t       *s;
        dualcam_mp4_conf_t   conf;

        memset(&conf, 0, sizeof(conf));
        conf.audio = 1;
        s = dualcam_mp4_create(&conf);

        for (i = 0; i < b.len; i++) {
            ck_assert_int_eq(dualcam_mp4_plan(s, b.data + i, 1),
                             DUALCAM_MP4_OK);
        }

        ck_assert_int_eq(dualcam_mp4_plan_end(s), DUALCAM_MP4_OK);
        out = dualcam_copy(s, b.data, b.len, 1, 1, &len2);
        ck_assert_uint_eq(len2, len);
        ck_assert_int_eq(memcmp(out, ref, len), 0);
        free(out);
        dualcam_mp4_destroy(s);
    }

    free(ref);
    dualcam_mp4_destroy(m);
    free(b.data);
}
END_TEST


/*
 * A file cut anywhere but at a record's end is refused, and says where;
 * a cut at a record's end is a shorter recording
 */

START_TEST(test_mp4_truncated)
{
    size_t           cut, off, rec;
    uint32_t         len;
    const char      *err;
    dualcam_mp4_t   *m;
    dualcam_blob_t   b;

    b = dualcam_video_load(DUALCAM_VIDEO_1S);

    for (off = 0, rec = 0; off < b.len; rec++) {
        len = b.data[off + 24] | b.data[off + 25] << 8
              | b.data[off + 26] << 16 | (uint32_t) b.data[off + 27] << 24;
        off += 36 + len;
    }

    ck_assert_uint_eq(off, b.len);

    for (cut = 1; cut < b.len; cut++) {
        int     boundary;
        size_t  prev;

        prev = 0;

        for (off = 0; off < cut; ) {
            prev = off;
            len = b.data[off + 24] | b.data[off + 25] << 8
                  | b.data[off + 26] << 16
                  | (uint32_t) b.data[off + 27] << 24;
            off += 36 + len;
        }

        boundary = (off == cut);

        /* every cut in headers and near the ends of records, else some */

        if (!boundary && cut - prev > 40 && off - cut > 8 && cut > 256
            && cut % 4999 != 0)
        {
            continue;
        }

        m = dualcam_plan(b.data, cut, cut / 2, 1);
        err = dualcam_mp4_error(m);

        if (boundary) {
            /* the first record is the only key frame */
            ck_assert_msg(err == NULL, "cut %zu: %s", cut, err);

        } else {
            ck_assert_msg(err != NULL, "cut %zu accepted", cut);
            ck_assert_msg(strstr(err, "the file ends") != NULL
                          || strstr(err, "no key frame") != NULL,
                          "cut %zu: %s", cut, err);
        }

        dualcam_mp4_destroy(m);
    }

    free(b.data);
}
END_TEST


/*
 * A small recording (6 frames of libx265, 64x64, with the real audio
 * chunks; t/fuzz/mkcorpus_mp4.py) cut at every byte, and split at every
 * byte: every cut that is not a record's end is refused, every split
 * gives the same MP4
 */

START_TEST(test_mp4_every_cut)
{
    FILE            *fp;
    size_t           n, cut, off, len2, ref_len;
    uint32_t         len;
    const char      *err;
    unsigned char   *p, *ref, *out;
    dualcam_mp4_t   *m;
    unsigned char    buf[16384];

    fp = fopen("../fuzz/corpus/fuzz_mp4/ptmf", "rb");
    ck_assert_ptr_nonnull(fp);
    n = fread(buf, 1, sizeof(buf), fp);
    fclose(fp);

    /* the first byte is fuzz_mp4's option byte */
    p = buf + 1;
    n -= 1;

    m = dualcam_plan(p, n, n, 1);
    ck_assert_msg(dualcam_mp4_error(m) == NULL, "%s", dualcam_mp4_error(m));
    ck_assert_uint_eq(dualcam_mp4_info(m)->frames, 6);
    ck_assert_uint_gt(dualcam_mp4_info(m)->audio_frames, 0);
    ref = dualcam_copy(m, p, n, n, dualcam_mp4_info(m)->size, &ref_len);
    dualcam_mp4_destroy(m);

    for (cut = 1; cut < n; cut++) {

        for (off = 0; off < cut; off += 36 + len) {
            len = p[off + 24] | p[off + 25] << 8 | p[off + 26] << 16
                  | (uint32_t) p[off + 27] << 24;
        }

        m = dualcam_plan(p, cut, cut / 2, 1);
        err = dualcam_mp4_error(m);

        if (off != cut) {
            ck_assert_msg(err != NULL
                          && strstr(err, "the file ends") != NULL,
                          "cut %zu: %s", cut, err ? err : "accepted");
        }

        dualcam_mp4_destroy(m);
    }

    for (cut = 0; cut <= n; cut++) {
        m = dualcam_plan(p, n, cut, 1);
        ck_assert_msg(dualcam_mp4_error(m) == NULL, "split %zu", cut);
        ck_assert_uint_eq(dualcam_mp4_info(m)->size, ref_len);

        if (cut % 13 == 0) {
            out = dualcam_copy(m, p, n, 1 + cut % 97, 1 + cut % 89, &len2);
            ck_assert_int_eq(memcmp(out, ref, ref_len), 0);
            free(out);
        }

        dualcam_mp4_destroy(m);
    }

    free(ref);
}
END_TEST



/*
 * A lost audio chunk leaves a gap of its length in the audio track (the
 * chunk before it lasts longer), so the sound after it stays in sync;
 * and a PTMF recording that starts before its first key frame drops the
 * frames and the audio before it
 */

START_TEST(test_mp4_audio_gap)
{
    FILE                 *fp;
    size_t                off, k, n, len_out, i;
    uint32_t              len, entries, count, delta, total;
    unsigned char        *copy, *out, buf[16384];
    const unsigned char  *stts, *p, *trak;
    dualcam_mp4_t        *m;
    dualcam_blob_t        b;

    b = dualcam_video_load(DUALCAM_VIDEO_1S);
    copy = malloc(b.len);

    /* without the 5th audio record */

    n = 0;
    k = 0;

    for (off = 0; off < b.len; off += 36 + len) {
        len = b.data[off + 24] | b.data[off + 25] << 8
              | b.data[off + 26] << 16 | (uint32_t) b.data[off + 27] << 24;

        if (b.data[off + 5] == 'A' && k++ == 4) {
            continue;
        }

        memcpy(copy + n, b.data + off, 36 + len);
        n += 36 + len;
    }

    m = dualcam_plan(copy, n, n, 1);
    ck_assert_msg(dualcam_mp4_error(m) == NULL, "%s", dualcam_mp4_error(m));
    ck_assert_uint_eq(dualcam_mp4_info(m)->audio_frames, 24);
    out = dualcam_copy(m, copy, n, n, dualcam_mp4_info(m)->size, &len_out);

    /* the second trak's stts: 320 each, one of 640 (+- the jitter) */

    p = dualcam_find(out, len_out, "moov");
    p += 8;
    p += dualcam_be32(p);
    p += dualcam_be32(p);
    trak = p;
    stts = dualcam_find(trak, dualcam_be32(trak), "trak/mdia/minf/stbl/stts");
    ck_assert_ptr_nonnull(stts);

    entries = dualcam_be32(stts + 12);
    total = 0;
    count = 0;

    for (i = 0; i < entries; i++) {
        delta = dualcam_be32(stts + 20 + 8 * i);
        count += dualcam_be32(stts + 16 + 8 * i);
        total += dualcam_be32(stts + 16 + 8 * i) * delta;

        if (delta != 320) {
            ck_assert_int_lt(abs((int) delta - 640), 8);
            ck_assert_uint_eq(dualcam_be32(stts + 16 + 8 * i), 1);
        }
    }

    ck_assert_uint_eq(count, 24);
    ck_assert_int_lt(abs((int) total - 25 * 320), 8);

    free(out);
    dualcam_mp4_destroy(m);
    free(copy);
    free(b.data);

    /* PTMF from a P frame on (t/fuzz/mkcorpus_mp4.py) */

    fp = fopen("../fuzz/corpus/fuzz_mp4/ptmf-late-key", "rb");
    ck_assert_ptr_nonnull(fp);
    n = fread(buf, 1, sizeof(buf), fp);
    fclose(fp);

    m = dualcam_plan(buf + 1, n - 1, n / 2, 1);
    ck_assert_msg(dualcam_mp4_error(m) == NULL, "%s", dualcam_mp4_error(m));
    ck_assert_uint_eq(dualcam_mp4_info(m)->frames, 3);
    ck_assert_uint_eq(dualcam_mp4_info(m)->dropped, 2);
    ck_assert_uint_gt(dualcam_mp4_info(m)->audio_dropped, 0);
    dualcam_mp4_destroy(m);
}
END_TEST



/* the 32-bit microseconds wrap every 71.6 min: the same MP4 across it */

START_TEST(test_mp4_time_wraps)
{
    size_t           off, len_a, len_b;
    uint32_t         len, ts;
    unsigned char   *copy, *a, *b2;
    dualcam_mp4_t   *m;
    dualcam_blob_t   b;

    b = dualcam_video_load(DUALCAM_VIDEO_1S);
    copy = malloc(b.len);
    memcpy(copy, b.data, b.len);

    /* the first record at 2^32 - 0.5 s: the clock wraps half way */

    for (off = 0; off < b.len; off += 36 + len) {
        len = b.data[off + 24] | b.data[off + 25] << 8
              | b.data[off + 26] << 16 | (uint32_t) b.data[off + 27] << 24;
        ts = b.data[off + 28] | b.data[off + 29] << 8
             | b.data[off + 30] << 16 | (uint32_t) b.data[off + 31] << 24;
        ts = ts - 228527346u - 500000u;
        copy[off + 28] = ts & 0xff;
        copy[off + 29] = (ts >> 8) & 0xff;
        copy[off + 30] = (ts >> 16) & 0xff;
        copy[off + 31] = ts >> 24;
    }

    m = dualcam_plan(b.data, b.len, b.len, 1);
    a = dualcam_copy(m, b.data, b.len, b.len, dualcam_mp4_info(m)->size,
                     &len_a);
    dualcam_mp4_destroy(m);

    m = dualcam_plan(copy, b.len, b.len, 1);
    ck_assert_msg(dualcam_mp4_error(m) == NULL, "%s", dualcam_mp4_error(m));
    b2 = dualcam_copy(m, copy, b.len, b.len, dualcam_mp4_info(m)->size,
                      &len_b);
    dualcam_mp4_destroy(m);

    ck_assert_uint_eq(len_a, len_b);
    ck_assert_int_eq(memcmp(a, b2, len_a), 0);

    free(a);
    free(b2);
    free(copy);
    free(b.data);
}
END_TEST



/* every record's length, and magic and type, corrupted: refused */

START_TEST(test_mp4_corrupt_lengths)
{
    size_t           off, rec, k;
    uint32_t         len, bad[5];
    const char      *err;
    unsigned char   *copy;
    dualcam_mp4_t   *m;
    dualcam_blob_t   b;

    b = dualcam_video_load(DUALCAM_VIDEO_1S);
    copy = malloc(b.len);

    for (off = 0, rec = 0; off < b.len; rec++) {
        len = b.data[off + 24] | b.data[off + 25] << 8
              | b.data[off + 26] << 16 | (uint32_t) b.data[off + 27] << 24;

        bad[0] = len - 1;
        bad[1] = len + 1;
        bad[2] = 0;
        bad[3] = len + 36;
        bad[4] = 0xffffffff;

        for (k = 0; k < 5; k++) {
            memcpy(copy, b.data, b.len);
            copy[off + 24] = bad[k] & 0xff;
            copy[off + 25] = (bad[k] >> 8) & 0xff;
            copy[off + 26] = (bad[k] >> 16) & 0xff;
            copy[off + 27] = bad[k] >> 24;

            m = dualcam_plan(copy, b.len, off + 25, 1);
            err = dualcam_mp4_error(m);

            /* a record 36 longer may swallow exactly the next one whole */
            if (k != 3) {
                ck_assert_msg(err != NULL, "record %zu length %u accepted",
                              rec, bad[k]);
            }

            dualcam_mp4_destroy(m);
        }

        memcpy(copy, b.data, b.len);
        copy[off + 1] = 'X';
        m = dualcam_plan(copy, b.len, b.len, 1);
        ck_assert_ptr_nonnull(strstr(dualcam_mp4_error(m),
                                     off ? "no PTMF magic" : "neither"));
        dualcam_mp4_destroy(m);

        memcpy(copy, b.data, b.len);
        copy[off + 5] = 'Q';
        m = dualcam_plan(copy, b.len, b.len, 1);
        ck_assert_ptr_nonnull(strstr(dualcam_mp4_error(m), "unknown type"));
        dualcam_mp4_destroy(m);

        off += 36 + len;
    }

    /* time going back */

    memcpy(copy, b.data, b.len);
    off = 36 + 69012 + 36 + 324 + 36 + 324;
    ck_assert_int_eq(copy[off + 5], 'P');
    memcpy(copy + off + 28, b.data + 28, 4);
    m = dualcam_plan(copy, b.len, b.len, 1);
    ck_assert_ptr_nonnull(strstr(dualcam_mp4_error(m), "not after"));
    dualcam_mp4_destroy(m);

    free(copy);
    free(b.data);
}
END_TEST


/* the hvcC says what the SPS says; the tables what the counts say */

START_TEST(test_mp4_boxes)
{
    size_t                     len, i;
    unsigned char             *out;
    const unsigned char       *p, *hvcc, *sps, *stsz, *stss, *stts, *mdat;
    const unsigned char       *moov;
    uint64_t                   sum;
    dualcam_mp4_t             *m;
    dualcam_blob_t             b;
    dualcam_hevc_sps_t         s;
    char                       err[DUALCAM_MP4_ERR_LEN];

    b = dualcam_video_load(DUALCAM_VIDEO_3S);
    m = dualcam_plan(b.data, b.len, b.len, 1);
    out = dualcam_copy(m, b.data, b.len, 65536, 65536, &len);

    /* ftyp, moov, mdat, nothing else, in this order */

    dualcam_boxes(out, len, 0);
    ck_assert_int_eq(memcmp(out + 4, "ftyp", 4), 0);
    p = out + dualcam_be32(out);
    ck_assert_int_eq(memcmp(p + 4, "moov", 4), 0);
    moov = p;
    mdat = p + dualcam_be32(p);
    ck_assert_int_eq(memcmp(mdat + 4, "mdat", 4), 0);
    ck_assert_uint_eq(mdat + dualcam_be32(mdat) - out, len);

    hvcc = dualcam_find(out, len,
                        "moov/trak/mdia/minf/stbl/stsd");
    ck_assert_ptr_nonnull(hvcc);
    ck_assert_int_eq(memcmp(hvcc + 16 + 4, "hvc1", 4), 0);
    /* the hvc1 entry: 8 + 78 bytes, then the hvcC */
    hvcc += 16 + 86;
    ck_assert_int_eq(memcmp(hvcc + 4, "hvcC", 4), 0);
    hvcc += 8;

    /* the SPS in the hvcC's second array */
    p = hvcc + 23;
    ck_assert_uint_eq(p[0], 0x80 | 32);
    ck_assert_uint_eq(p[1] << 8 | p[2], 1);
    p += 3 + 2 + (p[3] << 8 | p[4]);
    ck_assert_uint_eq(p[0], 0x80 | 33);
    ck_assert_uint_eq(p[1] << 8 | p[2], 1);
    sps = p + 5;
    ck_assert_int_eq(dualcam_hevc_parse_sps(sps, p[3] << 8 | p[4], &s, err,
                                            sizeof(err)), 0);

    ck_assert_uint_eq(hvcc[0], 1);
    ck_assert_uint_eq(hvcc[1], s.profile_space << 6 | s.tier << 5
                               | s.profile_idc);
    ck_assert_uint_eq(dualcam_be32(hvcc + 2), s.compat);
    ck_assert_uint_eq(hvcc[12], s.level_idc);
    ck_assert_uint_eq(hvcc[16] & 3, s.chroma_format_idc);
    ck_assert_uint_eq((hvcc[17] & 7) + 8, s.bit_depth_luma);
    ck_assert_uint_eq((hvcc[18] & 7) + 8, s.bit_depth_chroma);
    ck_assert_uint_eq(hvcc[21] & 3, 3);
    ck_assert_uint_eq(hvcc[22], 3);
    ck_assert_uint_eq(s.profile_idc, 1);
    ck_assert_uint_eq(s.level_idc, 93);
    ck_assert_uint_eq(s.width, 1280);
    ck_assert_uint_eq(s.height, 720);
    ck_assert_uint_eq(s.max_num_reorder, 0);

    /* 60 sizes that add up to the video's bytes; 3 sync samples */

    stsz = dualcam_find(out, len, "moov/trak/mdia/minf/stbl/stsz");
    ck_assert_uint_eq(dualcam_be32(stsz + 16), 60);

    for (i = 0, sum = 0; i < 60; i++) {
        sum += dualcam_be32(stsz + 20 + 4 * i);
    }

    stss = dualcam_find(out, len, "moov/trak/mdia/minf/stbl/stss");
    ck_assert_uint_eq(dualcam_be32(stss + 12), 3);
    ck_assert_uint_eq(dualcam_be32(stss + 16), 1);

    stts = dualcam_find(out, len, "moov/trak/mdia/minf/stbl/stts");
    ck_assert_uint_gt(dualcam_be32(stts + 12), 1);

    /* the audio track's frames and the video's fill mdat exactly */

    p = moov + 8;
    p += dualcam_be32(p);                        /* mvhd */
    p += dualcam_be32(p);                        /* the video trak */
    ck_assert_int_eq(memcmp(p + 4, "trak", 4), 0);
    stsz = dualcam_find(p, dualcam_be32(p), "trak/mdia/minf/stbl/stsz");
    ck_assert_ptr_nonnull(stsz);
    ck_assert_uint_eq(dualcam_be32(stsz + 16), 75);

    for (i = 0; i < 75; i++) {
        sum += dualcam_be32(stsz + 20 + 4 * i);
    }

    ck_assert_uint_eq(sum + 8, dualcam_be32(mdat));

    free(out);
    dualcam_mp4_destroy(m);

    /* without audio: one track */

    m = dualcam_plan(b.data, b.len, b.len, 0);
    ck_assert_uint_eq(dualcam_mp4_info(m)->audio_rate, 0);
    out = dualcam_copy(m, b.data, b.len, 4096, 4096, &len);
    dualcam_boxes(out, len, 0);
    p = dualcam_find(out, len, "moov");
    p += 8;
    p += dualcam_be32(p);
    p += dualcam_be32(p);
    ck_assert_int_eq(memcmp(p + 4, "mdat", 4), 0);

    free(out);
    dualcam_mp4_destroy(m);
    free(b.data);
}
END_TEST


/* the video records' payloads as plain Annex B; and cut before an IRAP */

START_TEST(test_mp4_annexb)
{
    int                        pass;
    size_t                     off, n, frames, first_p;
    uint32_t                   len;
    unsigned char             *raw;
    const dualcam_mp4_info_t  *info;
    dualcam_mp4_t             *m;
    dualcam_blob_t             b;

    b = dualcam_video_load(DUALCAM_VIDEO_3S);
    raw = malloc(b.len + 16);

    for (pass = 0; pass < 2; pass++) {
        n = 0;
        frames = 0;
        first_p = 0;

        for (off = 0; off < b.len; off += 36 + len) {
            len = b.data[off + 24] | b.data[off + 25] << 8
                  | b.data[off + 26] << 16
                  | (uint32_t) b.data[off + 27] << 24;

            if (b.data[off + 5] == 'A') {
                continue;
            }

            /* pass 1: the stream starts at the first P frame */
            if (pass == 1 && frames == 0 && b.data[off + 5] == 'I') {
                frames++;
                continue;
            }

            if (pass == 1 && first_p == 0) {
                first_p = n + 1;
            }

            memcpy(raw + n, b.data + off + 36, len);
            n += len;
            frames++;
        }

        m = dualcam_plan(raw, n, n / 3, 1);
        ck_assert_msg(dualcam_mp4_error(m) == NULL, "%s",
                      dualcam_mp4_error(m));
        info = dualcam_mp4_info(m);

        ck_assert_int_eq(info->container, DUALCAM_MP4_CONTAINER_ANNEXB);
        ck_assert_uint_eq(info->audio_rate, 0);

        if (pass == 0) {
            ck_assert_uint_eq(info->frames, 60);
            ck_assert_uint_eq(info->key_frames, 3);
            ck_assert_uint_eq(info->dropped, 0);
            /* 20 fps, the default */
            ck_assert_uint_eq(info->duration_us, 3000000);

        } else {
            /* 19 P frames before the second key frame cannot be shown */
            ck_assert_uint_eq(info->frames, 40);
            ck_assert_uint_eq(info->key_frames, 2);
            ck_assert_uint_eq(info->dropped, 19);
        }

        dualcam_mp4_destroy(m);
    }

    /* junk before the first start code */

    raw[0] = 0x47;
    m = dualcam_plan(raw, n, n, 1);
    ck_assert_ptr_nonnull(dualcam_mp4_error(m));
    dualcam_mp4_destroy(m);

    free(raw);
    free(b.data);
}
END_TEST


START_TEST(test_mp4_refusals)
{
    dualcam_mp4_t        *m;
    static unsigned char  mp4[] = "\0\0\0\x20" "ftypisom";
    static unsigned char  text[] = "hello, world";
    static unsigned char  sc[] = { 0, 0, 0, 1, 0x02, 0x01, 0xd0 };

    m = dualcam_plan(mp4, sizeof(mp4) - 1, 3, 1);
    ck_assert_ptr_nonnull(strstr(dualcam_mp4_error(m), "already an MP4"));
    dualcam_mp4_destroy(m);

    ck_assert_int_eq(dualcam_mp4_is_mp4(mp4, sizeof(mp4) - 1), 1);
    ck_assert_int_eq(dualcam_mp4_is_mp4(text, sizeof(text) - 1), 0);

    m = dualcam_plan(text, sizeof(text) - 1, 5, 1);
    ck_assert_ptr_nonnull(strstr(dualcam_mp4_error(m), "neither"));
    dualcam_mp4_destroy(m);

    m = dualcam_plan(text, 0, 0, 1);
    ck_assert_ptr_nonnull(strstr(dualcam_mp4_error(m), "empty"));
    dualcam_mp4_destroy(m);

    /* a P slice alone: nothing to show */
    m = dualcam_plan(sc, sizeof(sc), 2, 1);
    ck_assert_ptr_nonnull(strstr(dualcam_mp4_error(m), "no key frame"));
    dualcam_mp4_destroy(m);

    /* one frame of endless slice segments: refused, not kept in memory */
    {
        size_t          i;
        unsigned char  *many;

        many = malloc(5 * 2000);
        ck_assert_ptr_nonnull(many);

        for (i = 0; i < 2000; i++) {
            memcpy(many + 5 * i, "\0\0\1\2\1", 5);
        }

        m = dualcam_plan(many, 5 * 2000, 777, 1);
        ck_assert_ptr_nonnull(strstr(dualcam_mp4_error(m),
                                     "a frame of more than 1024 NAL units"));
        ck_assert_uint_le(m->segs.nelts, DUALCAM_MP4_AU_NALS);
        dualcam_mp4_destroy(m);
        free(many);
    }
}
END_TEST


START_TEST(test_mp4_g711)
{
    /* each law's zero codes; ITU-T G.711's extremes */

    ck_assert_int_eq(dualcam_g711_alaw(0xd5), 8);
    ck_assert_int_eq(dualcam_g711_alaw(0x55), -8);
    ck_assert_int_eq(dualcam_g711_alaw(0xaa), 32256);
    ck_assert_int_eq(dualcam_g711_alaw(0x2a), -32256);
    ck_assert_int_eq(dualcam_g711_ulaw(0xff), 0);
    ck_assert_int_eq(dualcam_g711_ulaw(0x7f), 0);
    ck_assert_int_eq(dualcam_g711_ulaw(0x80), 32124);
    ck_assert_int_eq(dualcam_g711_ulaw(0x00), -32124);

    /* quiet A-law is loud as u-law */
    ck_assert_int_gt(abs(dualcam_g711_ulaw(0xd5)), 500);
}
END_TEST


Suite *
mp4_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("mp4");
    tc = tcase_create("remux");
    tcase_set_timeout(tc, 120);

    tcase_add_loop_test(tc, test_mp4_fixture_records, 0, 2);
    tcase_add_test(tc, test_mp4_splits);
    tcase_add_test(tc, test_mp4_truncated);
    tcase_add_test(tc, test_mp4_every_cut);
    tcase_add_test(tc, test_mp4_audio_gap);
    tcase_add_test(tc, test_mp4_time_wraps);
    tcase_add_test(tc, test_mp4_corrupt_lengths);
    tcase_add_test(tc, test_mp4_boxes);
    tcase_add_test(tc, test_mp4_annexb);
    tcase_add_test(tc, test_mp4_refusals);
    tcase_add_test(tc, test_mp4_g711);
    suite_add_tcase(s, tc);

    return s;
}
