/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The real DualCam session (PROTOCOL.md section 7) replayed into the
 * server core however TCP might cut it: at every single byte boundary,
 * in random chunkings, byte by byte, through the smallest buffer.  Each
 * run must send exactly what the vendor server sent and store exactly
 * the 29 395-byte JPEG the device sent.
 */


#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests.h"
#include "fixture.h"
#include "harness.h"


static dualcam_fixture_t   dualcam_fx;
static unsigned char      *dualcam_jpeg;
static size_t              dualcam_jpeg_len;


static const unsigned char  dualcam_q_meta[] = {
    0x00, 0x0a, 0x00, 0x07, '%', 'p', 'h', 'o', 't', 'o', 'f'
};
static const unsigned char  dualcam_q_file[] = {
    0x00, 0x08, 0x00, 0x07, '%', 'p', 'h', 'o', 't', 'o', 'f'
};
static const unsigned char  dualcam_q_resume[] = {
    0x00, 0x02, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00
};
static const unsigned char  dualcam_q_repeat[] = { 0x00, 0x09 };
static const unsigned char  dualcam_q_close[] = { 0x00, 0x00, 0x00, 0x00 };


/* SHA-256 (FIPS 180-4), small and slow: for one 29 KB file per run */

static const uint32_t  dualcam_sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
};


#define dualcam_ror(x, n)  (((x) >> (n)) | ((x) << (32 - (n))))


static void
dualcam_sha256_block(uint32_t h[8], const unsigned char *p)
{
    int       i;
    uint32_t  w[64], v[8], t1, t2;

    for (i = 0; i < 16; i++) {
        w[i] = dualcam_get32(p + 4 * i);
    }

    for (i = 16; i < 64; i++) {
        w[i] = w[i - 16] + w[i - 7]
               + (dualcam_ror(w[i - 15], 7) ^ dualcam_ror(w[i - 15], 18)
                  ^ (w[i - 15] >> 3))
               + (dualcam_ror(w[i - 2], 17) ^ dualcam_ror(w[i - 2], 19)
                  ^ (w[i - 2] >> 10));
    }

    memcpy(v, h, sizeof(v));

    /* v[] is a..h; each round shifts it by one */

    for (i = 0; i < 64; i++) {
        t1 = v[7] + (dualcam_ror(v[4], 6) ^ dualcam_ror(v[4], 11)
                     ^ dualcam_ror(v[4], 25))
             + ((v[4] & v[5]) ^ (~v[4] & v[6])) + dualcam_sha_k[i] + w[i];
        t2 = (dualcam_ror(v[0], 2) ^ dualcam_ror(v[0], 13)
              ^ dualcam_ror(v[0], 22))
             + ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));

        memmove(v + 1, v, 7 * sizeof(uint32_t));
        v[4] += t1;
        v[0] = t1 + t2;
    }

    for (i = 0; i < 8; i++) {
        h[i] += v[i];
    }
}


static void
dualcam_sha256_hex(const unsigned char *p, size_t n, char out[65])
{
    int            i;
    size_t         left;
    uint32_t       h[8] = {
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
    };
    unsigned char  tail[128];

    for (left = n; left >= 64; left -= 64, p += 64) {
        dualcam_sha256_block(h, p);
    }

    memset(tail, 0, sizeof(tail));
    memcpy(tail, p, left);
    tail[left] = 0x80;

    i = left < 56 ? 64 : 128;
    dualcam_put32(tail + i - 8, (uint32_t) ((uint64_t) n >> 29));
    dualcam_put32(tail + i - 4, (uint32_t) (n << 3));

    dualcam_sha256_block(h, tail);

    if (i == 128) {
        dualcam_sha256_block(h, tail + 64);
    }

    for (i = 0; i < 8; i++) {
        snprintf(out + 8 * i, 9, "%08x", (unsigned) h[i]);
    }
}


static void
dualcam_capture_setup(void)
{
    size_t  i, n;

    if (dualcam_fixture_load(&dualcam_fx, DUALCAM_FIXTURE_SESSION) != 0) {
        ck_abort_msg("fixture: %s", dualcam_fx.path);
    }

    /* the expected file: every DATA payload, in order */

    dualcam_jpeg = malloc(dualcam_fx.all_len);
    ck_assert_ptr_nonnull(dualcam_jpeg);
    dualcam_jpeg_len = 0;

    for (i = 0; i < dualcam_fx.nframes; i++) {
        if (dualcam_get16(dualcam_fx.frame[i]) == DUALCAM_CMD_DATA
            && dualcam_fx.len[i] > 6)
        {
            n = dualcam_fx.len[i] - 6;
            memcpy(dualcam_jpeg + dualcam_jpeg_len, dualcam_fx.frame[i] + 4,
                   n);
            dualcam_jpeg_len += n;
        }
    }
}


static void
dualcam_capture_teardown(void)
{
    free(dualcam_jpeg);
    dualcam_jpeg = NULL;
    dualcam_fixture_free(&dualcam_fx);
}


static void
dualcam_capture_conf(dualcam_server_conf_t *conf, size_t buffer_size)
{
    memset(conf, 0, sizeof(dualcam_server_conf_t));

    conf->max_file_size = 64 * 1024 * 1024;
    conf->buffer_size = buffer_size;
    conf->max_crc_errors = 8;
    conf->max_resume_repeats = 3;
    conf->metadata = 1;
}


/* everything one replay must have produced, checked cheaply */

static void
dualcam_capture_verify(dualcam_harness_t *h, const char *how)
{
    ck_assert_msg(!h->error, "%s: harness: %s", how, h->error_msg);
    ck_assert_msg(h->closed && h->result == DUALCAM_RESULT_OK,
                  "%s: closed %d result %d: %s", how, h->closed,
                  (int) h->result, h->logtext);
    ck_assert_msg(h->nsends == 5, "%s: %zu sends", how, h->nsends);
    ck_assert(dualcam_harness_sent(h, 0, dualcam_q_meta,
                                   sizeof(dualcam_q_meta)));
    ck_assert(dualcam_harness_sent(h, 1, dualcam_q_file,
                                   sizeof(dualcam_q_file)));
    ck_assert(dualcam_harness_sent(h, 2, dualcam_q_resume,
                                   sizeof(dualcam_q_resume)));
    ck_assert(dualcam_harness_sent(h, 3, dualcam_q_repeat,
                                   sizeof(dualcam_q_repeat)));
    ck_assert(dualcam_harness_sent(h, 4, dualcam_q_close,
                                   sizeof(dualcam_q_close)));

    ck_assert_uint_eq(h->commits, 1);
    ck_assert_uint_eq(h->aborts, 0);
    ck_assert_uint_eq(h->nfiles, 1);
    ck_assert_uint_eq(h->files[0].len, dualcam_jpeg_len);
    ck_assert_msg(memcmp(h->files[0].data, dualcam_jpeg, dualcam_jpeg_len)
                  == 0, "%s: file differs", how);
    ck_assert_uint_eq(h->logs_at[DUALCAM_LOG_INFO]
                      + h->logs_at[DUALCAM_LOG_NOTICE]
                      + h->logs_at[DUALCAM_LOG_WARN]
                      + h->logs_at[DUALCAM_LOG_ERR], 0);
}


static void
dualcam_capture_run(dualcam_harness_t *h, dualcam_server_t *s,
    size_t buffer_size)
{
    dualcam_server_conf_t  conf;

    dualcam_capture_conf(&conf, buffer_size);
    dualcam_harness_init(h, buffer_size);
    dualcam_server_init(s, &conf);
}


START_TEST(test_capture_fixture)
{
    char  hex[65];

    dualcam_sha256_hex((const unsigned char *) "abc", 3, hex);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223"
                          "b00361a396177a9cb410ff61f20015ad");

    /* the JPEG the device sent (PROTOCOL.md section 7) */
    dualcam_sha256_hex(dualcam_jpeg, dualcam_jpeg_len, hex);
    ck_assert_str_eq(hex, "e4db7ae7a4dce10feca83750501ec117"
                          "8fcade6319efb39733dca5ba73b229cd");

    ck_assert_uint_eq(dualcam_fx.nframes, 34);
    ck_assert_uint_eq(dualcam_jpeg_len, 29395);
    ck_assert_uint_eq(dualcam_jpeg[0], 0xff);
    ck_assert_uint_eq(dualcam_jpeg[1], 0xd8);
    ck_assert_uint_eq(dualcam_jpeg[dualcam_jpeg_len - 2], 0xff);
    ck_assert_uint_eq(dualcam_jpeg[dualcam_jpeg_len - 1], 0xd9);
}
END_TEST


static const int  dualcam_capture_order[] = {
    DUALCAM_ACT_HELLO, DUALCAM_ACT_SEND, DUALCAM_ACT_METADATA,
    DUALCAM_ACT_SEND, DUALCAM_ACT_FILE_OPEN, DUALCAM_ACT_SEND,
    DUALCAM_ACT_FILE_WRITE, DUALCAM_ACT_PROGRESS, DUALCAM_ACT_FILE_WRITE,
    DUALCAM_ACT_PROGRESS, DUALCAM_ACT_FILE_COMMIT, DUALCAM_ACT_SEND,
    DUALCAM_ACT_HELLO, DUALCAM_ACT_SEND, DUALCAM_ACT_CLOSE
};


START_TEST(test_capture_whole)
{
    char                hex[65];
    size_t              i, n, nelts;
    dualcam_file_t     *f;
    dualcam_server_t    s;
    dualcam_harness_t   h;

    dualcam_capture_run(&h, &s, 4096);
    dualcam_harness_feed(&h, &s, dualcam_fx.all, dualcam_fx.all_len, NULL,
                         0);
    dualcam_capture_verify(&h, "whole");

    dualcam_sha256_hex(h.files[0].data, h.files[0].len, hex);
    ck_assert_str_eq(hex, "e4db7ae7a4dce10feca83750501ec117"
                          "8fcade6319efb39733dca5ba73b229cd");

    ck_assert_uint_eq(s.imei, 863719061653375ULL);
    ck_assert_uint_eq(s.protocol, 5);
    ck_assert_uint_eq(s.flags, 0x40);
    ck_assert_uint_eq(s.inits, 2);
    ck_assert_uint_eq(s.files_done, 1);
    ck_assert_uint_eq(s.bytes_done, 29395);
    ck_assert_uint_eq(h.hellos, 2);
    ck_assert_uint_eq(h.metas, 1);
    ck_assert_uint_eq(h.opens, 1);
    ck_assert_uint_eq(h.writes, 29);

    /* every 16 packets and once at the end */
    ck_assert_uint_eq(h.progress, 2);

    /* the order of everything but the (debug) log lines */

    nelts = sizeof(dualcam_capture_order) / sizeof(int);

    for (i = 0, n = 0; i < h.ntypes; i++) {
        if (h.types[i] != DUALCAM_ACT_LOG) {
            ck_assert_uint_lt(n, nelts);
            ck_assert_msg(h.types[i] == dualcam_capture_order[n],
                          "action %zu is %d", n, h.types[i]);
            n++;
        }
    }

    ck_assert_uint_eq(n, nelts);

    f = &h.files[0].file;
    ck_assert_int_eq(f->kind, DUALCAM_KIND_PHOTO);
    ck_assert_int_eq(f->side, DUALCAM_SIDE_FRONT);
    ck_assert_uint_eq(f->flag, DUALCAM_FLAG_PHOTO_FRONT);
    ck_assert_str_eq(f->name, "%photof");
    ck_assert(!f->path_mode);
    ck_assert_uint_eq(f->total, 29);
    ck_assert_uint_eq(f->max_size, 29 * 1024);
    ck_assert_uint_eq(f->received, 29395);
    ck_assert_uint_eq(f->packets, 29);
    ck_assert_uint_eq(f->crc_errors, 0);
    ck_assert_uint_eq(f->resumes, 0);

    ck_assert(f->has_meta);
    ck_assert_int_eq(f->meta.type, DUALCAM_META_DUALCAM);
    ck_assert_uint_eq(f->meta.version, 3);
    ck_assert_uint_eq(f->meta.time_ms, 0x192DD353628ULL);
    ck_assert_int_eq(f->meta.tz_minutes, 300);
    ck_assert(fabs(f->meta.latitude - 24.92856) < 1e-5);
    ck_assert(fabs(f->meta.longitude - 67.12924) < 1e-5);

    dualcam_harness_free(&h);
}
END_TEST


/* the first k bytes in one read, the rest in another, for every k */

START_TEST(test_capture_every_split)
{
    size_t              k, len;
    dualcam_server_t    s;
    dualcam_harness_t   h;

    len = dualcam_fx.all_len;

    for (k = 0; k <= len; k++) {
        dualcam_capture_run(&h, &s, 4096);
        dualcam_harness_feed(&h, &s, dualcam_fx.all, k, NULL, 0);
        dualcam_harness_feed(&h, &s, dualcam_fx.all + k, len - k, NULL, 0);
        dualcam_capture_verify(&h, "split");
        dualcam_harness_free(&h);
    }
}
END_TEST


START_TEST(test_capture_byte_by_byte)
{
    size_t              one;
    dualcam_server_t    s;
    dualcam_harness_t   h;

    one = 1;

    dualcam_capture_run(&h, &s, 4096);
    dualcam_harness_feed(&h, &s, dualcam_fx.all, dualcam_fx.all_len, &one,
                         1);
    dualcam_capture_verify(&h, "bytes");
    dualcam_harness_free(&h);

    /* and through a buffer only just large enough for a DATA frame */

    dualcam_capture_run(&h, &s, DUALCAM_DATA_FRAME_MAX);
    dualcam_harness_feed(&h, &s, dualcam_fx.all, dualcam_fx.all_len, &one,
                         1);
    dualcam_capture_verify(&h, "bytes, small buffer");
    dualcam_harness_free(&h);
}
END_TEST


START_TEST(test_capture_random_chunks)
{
    size_t              i, n, max, chunks[64];
    unsigned            seed;
    dualcam_server_t    s;
    dualcam_harness_t   h;

    for (seed = 1; seed <= 300; seed++) {
        srand(seed);

        /* small reads, reads around a frame, reads of many frames */
        max = seed % 3 == 0 ? 8 : seed % 3 == 1 ? 1100 : 9000;

        for (i = 0; i < 64; i++) {
            chunks[i] = 1 + (size_t) rand() % max;
        }

        n = seed % 2 ? 4096 : DUALCAM_DATA_FRAME_MAX;

        dualcam_capture_run(&h, &s, n);
        dualcam_harness_feed(&h, &s, dualcam_fx.all, dualcam_fx.all_len,
                             chunks, 64);
        dualcam_capture_verify(&h, "random");
        dualcam_harness_free(&h);
    }
}
END_TEST


/* the vendor server's "-m 0": no metadata query, so no 0x000B frame */

START_TEST(test_capture_without_metadata)
{
    size_t                  i;
    dualcam_script_t        sc;
    dualcam_server_t        s;
    dualcam_harness_t       h;
    dualcam_server_conf_t   conf;

    dualcam_script_init(&sc);

    for (i = 0; i < dualcam_fx.nframes; i++) {
        if (dualcam_get16(dualcam_fx.frame[i]) != DUALCAM_CMD_METADATA
            || i == 0)
        {
            dualcam_script_raw(&sc, dualcam_fx.frame[i], dualcam_fx.len[i]);
        }
    }

    dualcam_capture_conf(&conf, 4096);
    conf.metadata = 0;
    dualcam_harness_init(&h, 4096);
    dualcam_server_init(&s, &conf);
    dualcam_harness_feed(&h, &s, sc.p, sc.len, NULL, 0);

    ck_assert_msg(!h.error, "harness: %s", h.error_msg);
    ck_assert_int_eq(h.result, DUALCAM_RESULT_OK);
    ck_assert_uint_eq(h.nsends, 4);
    ck_assert(dualcam_harness_sent(&h, 0, dualcam_q_file,
                                   sizeof(dualcam_q_file)));
    ck_assert(dualcam_harness_sent(&h, 1, dualcam_q_resume,
                                   sizeof(dualcam_q_resume)));
    ck_assert(dualcam_harness_sent(&h, 2, dualcam_q_repeat,
                                   sizeof(dualcam_q_repeat)));
    ck_assert(dualcam_harness_sent(&h, 3, dualcam_q_close,
                                   sizeof(dualcam_q_close)));
    ck_assert_uint_eq(h.nfiles, 1);
    ck_assert(!h.files[0].file.has_meta);
    ck_assert_uint_eq(h.files[0].len, dualcam_jpeg_len);
    ck_assert(memcmp(h.files[0].data, dualcam_jpeg, dualcam_jpeg_len) == 0);

    dualcam_harness_free(&h);
    dualcam_script_free(&sc);
}
END_TEST


/*
 * The link drops at every byte of the capture: the session ends with the
 * file aborted (once it was opened) and exactly the verified packets kept,
 * each byte of them the device's.
 */

START_TEST(test_capture_every_cut)
{
    size_t              k, len, start_end, last_begin;
    dualcam_server_t    s;
    dualcam_harness_t   h;

    len = dualcam_fx.all_len;

    /* the end of START and the beginning of the last DATA frame */
    start_end = 16 + 36 + 10;
    last_begin = len - 16 - dualcam_fx.len[32];

    for (k = 0; k < len; k++) {
        dualcam_capture_run(&h, &s, 4096);
        dualcam_harness_feed(&h, &s, dualcam_fx.all, k, NULL, 0);
        ck_assert_msg(!h.error, "cut %zu: %s", k, h.error_msg);
        ck_assert(!h.closed);

        dualcam_harness_end(&h, &s, DUALCAM_RESULT_CLOSED_BY_DEVICE);
        ck_assert(!h.error);
        ck_assert_int_eq(h.result, DUALCAM_RESULT_CLOSED_BY_DEVICE);

        if (k < start_end || k >= last_begin + dualcam_fx.len[32]) {
            ck_assert_msg(h.aborts == 0, "cut %zu", k);

        } else {
            ck_assert_msg(h.aborts == 1, "cut %zu", k);
            ck_assert_uint_eq(h.abort_received % DUALCAM_PACKET_SIZE, 0);
            ck_assert(h.abort_received <= h.cur_len);
            ck_assert(h.abort_received == 0
                      || memcmp(h.cur, dualcam_jpeg, h.abort_received) == 0);
        }

        ck_assert_uint_eq(h.commits, k >= last_begin + dualcam_fx.len[32]);

        dualcam_harness_free(&h);
    }
}
END_TEST


Suite *
capture_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("capture");
    tc = tcase_create("capture");

    tcase_add_checked_fixture(tc, dualcam_capture_setup,
                              dualcam_capture_teardown);
    tcase_set_timeout(tc, 600);

    tcase_add_test(tc, test_capture_fixture);
    tcase_add_test(tc, test_capture_whole);
    tcase_add_test(tc, test_capture_every_split);
    tcase_add_test(tc, test_capture_byte_by_byte);
    tcase_add_test(tc, test_capture_random_chunks);
    tcase_add_test(tc, test_capture_without_metadata);
    tcase_add_test(tc, test_capture_every_cut);
    suite_add_tcase(s, tc);

    return s;
}
