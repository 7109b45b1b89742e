/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * Metadata payloads of every family and length, and the name tables.
 */


#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests.h"
#include "harness.h"


/* the real capture's 0x000B payload (PROTOCOL.md section 7) */

static const unsigned char  dualcam_meta_v3[32] = {
    0x03, 0x04, 0x00, 0x00, 0x01, 0x92, 0xdd, 0x35, 0x36, 0x28, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x2c, 0x40, 0x38, 0xed, 0xb6, 0x1b, 0xb0, 0x5f, 0xaf,
    0x40, 0x50, 0xc8, 0x45, 0x85, 0xd4, 0x79, 0x22
};


static size_t
dualcam_test_meta_len(unsigned version)
{
    switch (version) {
    case 1:
        return 13;
    case 2:
        return 14;
    case 3:
        return 32;
    default:
        return 40;
    }
}


START_TEST(test_meta_capture)
{
    dualcam_meta_t  m;

    ck_assert_int_eq(dualcam_meta_decode(&m, DUALCAM_META_DUALCAM,
                                         dualcam_meta_v3, 32), 0);

    ck_assert_int_eq(m.type, DUALCAM_META_DUALCAM);
    ck_assert_uint_eq(m.version, 3);
    ck_assert_uint_eq(m.file_type, 4);
    ck_assert_uint_eq(m.time_ms, 0x192DD353628ULL);

    /* 2024-10-30 11:35:05 UTC */
    ck_assert_uint_eq(m.time_ms / 1000, 1730288105ULL);

    ck_assert_uint_eq(m.trigger, 0);
    ck_assert_uint_eq(m.duration, 0);
    ck_assert_uint_eq(m.framerate, 0);
    ck_assert_int_eq(m.tz_minutes, 300);
    ck_assert(m.has_position);
    ck_assert(!m.has_trigger_time);
    ck_assert(fabs(m.latitude - 24.92856) < 1e-9);
    ck_assert(fabs(m.longitude - 67.12924) < 1e-5);
    ck_assert_uint_eq(m.raw_len, 32);
    ck_assert(memcmp(m.raw, dualcam_meta_v3, 32) == 0);
    ck_assert_ptr_null(m.json);
    ck_assert_str_eq(dualcam_trigger_text(m.type, m.trigger),
                     "server request");
}
END_TEST


START_TEST(test_meta_versions)
{
    unsigned char   b[64];
    dualcam_meta_t  m;

    memset(b, 0, sizeof(b));
    b[1] = 16;
    dualcam_put32(b + 2, 0);
    dualcam_put32(b + 6, 1000);
    b[10] = 3;
    dualcam_put16(b + 11, 20);
    b[13] = 25;
    dualcam_put16(b + 14, (uint16_t) -120);
    dualcam_put32(b + 32, 0);
    dualcam_put32(b + 36, 777);

    /* v1: 13 bytes, or 14 with the uncounted frame-rate byte */

    b[0] = 1;
    ck_assert_int_eq(dualcam_meta_decode(&m, DUALCAM_META_DUALCAM, b, 13), 0);
    ck_assert_uint_eq(m.version, 1);
    ck_assert_uint_eq(m.file_type, 16);
    ck_assert_uint_eq(m.time_ms, 1000);
    ck_assert_uint_eq(m.trigger, 3);
    ck_assert_uint_eq(m.duration, 20);
    ck_assert_uint_eq(m.framerate, 0);
    ck_assert(!m.has_position);
    ck_assert_int_eq(dualcam_meta_decode(&m, DUALCAM_META_DUALCAM, b, 14), 0);

    b[0] = 2;
    ck_assert_int_eq(dualcam_meta_decode(&m, DUALCAM_META_DUALCAM, b, 14), 0);
    ck_assert_uint_eq(m.framerate, 25);
    ck_assert_int_eq(m.tz_minutes, 0);
    ck_assert_int_eq(dualcam_meta_decode(&m, DUALCAM_META_DUALCAM, b, 15), 0);

    b[0] = 3;
    ck_assert_int_eq(dualcam_meta_decode(&m, DUALCAM_META_DUALCAM, b, 33), 0);
    ck_assert_int_eq(m.tz_minutes, -120);
    ck_assert(m.has_position);

    b[0] = 4;
    ck_assert_int_eq(dualcam_meta_decode(&m, DUALCAM_META_DUALCAM, b, 40), 0);
    ck_assert(m.has_trigger_time);
    ck_assert_uint_eq(m.trigger_time_ms, 777);
    ck_assert_int_eq(dualcam_meta_decode(&m, DUALCAM_META_DUALCAM, b, 41), 0);

    /* a later version: the v4 part decoded, everything kept raw */

    b[0] = 7;
    b[50] = 0xee;
    ck_assert_int_eq(dualcam_meta_decode(&m, DUALCAM_META_DUALCAM, b, 52), 0);
    ck_assert_uint_eq(m.version, 7);
    ck_assert_uint_eq(m.trigger_time_ms, 777);
    ck_assert_uint_eq(m.raw_len, 52);
    ck_assert_uint_eq(m.raw[50], 0xee);
}
END_TEST


START_TEST(test_meta_wrong_lengths)
{
    size_t          n, need;
    unsigned        v;
    unsigned char   b[80];
    dualcam_meta_t  m;

    memset(b, 0x5a, sizeof(b));

    for (v = 0; v <= 6; v++) {
        b[0] = (unsigned char) v;
        need = dualcam_test_meta_len(v);

        for (n = 0; n <= 80; n++) {
            int  ok;

            if (n == 0 || v == 0) {
                ok = 0;

            } else if (v <= 4) {
                ok = (n == need || n == need + 1);

            } else {
                ok = 1;     /* newer than we know: any length */
            }

            memset(&m, 0xff, sizeof(m));

            ck_assert_msg(dualcam_meta_decode(&m, DUALCAM_META_DUALCAM, b, n)
                          == (ok ? 0 : -1), "version %u length %zu", v, n);

            if (!ok) {
                ck_assert_int_eq(m.type, DUALCAM_META_NONE);
                ck_assert_uint_eq(m.raw_len, 0);
            }
        }
    }

    for (n = 0; n <= 64; n++) {
        ck_assert_int_eq(dualcam_meta_decode(&m, DUALCAM_META_ADAS, b, n),
                         n == 15 ? 0 : -1);
        ck_assert_int_eq(dualcam_meta_decode(&m, DUALCAM_META_DSM, b, n),
                         n == 26 ? 0 : -1);
    }
}
END_TEST


/* the known layout a payload of version v and length n is decoded as */

static unsigned
dualcam_test_layout(unsigned v, size_t n)
{
    if (v >= 1 && v <= 4) {
        return v;
    }

    return n >= 40 ? 4 : n >= 32 ? 3 : n >= 14 ? 2 : n >= 13 ? 1 : 0;
}


/*
 * A version newer than 4 at every length up to the largest frame of a
 * 4 KiB buffer: accepted, kept whole in raw (a reference into the input,
 * nothing copied), the fields of the longest known layout it covers
 * decoded exactly as that version would be, nothing beyond.
 */

START_TEST(test_meta_newer_every_length)
{
    size_t           n, i, need;
    unsigned         v, layout;
    unsigned char   *b, known[41];
    unsigned int     seed;
    dualcam_meta_t   m, k;

    static const unsigned  versions[] = { 5, 9, 72, 128, 255 };

    b = malloc(4096);
    ck_assert_ptr_nonnull(b);

    seed = 9;

    for (i = 0; i < 4096; i++) {
        b[i] = (unsigned char) rand_r(&seed);
    }

    for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
        v = versions[i];
        b[0] = (unsigned char) v;

        for (n = 1; n <= 4096 - DUALCAM_HEADER_LEN; n++) {
            memset(&m, 0xa5, sizeof(m));

            ck_assert_msg(dualcam_meta_decode(&m, DUALCAM_META_DUALCAM, b, n)
                          == 0, "version %u length %zu", v, n);

            layout = dualcam_test_layout(v, n);

            ck_assert_int_eq(m.type, DUALCAM_META_DUALCAM);
            ck_assert_uint_eq(m.version, v);
            ck_assert_uint_eq(m.layout, layout);
            ck_assert_ptr_eq(m.raw, b);
            ck_assert_uint_eq(m.raw_len, n);
            ck_assert_ptr_null(m.json);
            ck_assert_uint_eq(m.json_len, 0);
            ck_assert_uint_eq(m.has_position, layout >= 3);
            ck_assert_uint_eq(m.has_trigger_time, layout >= 4);

            if (layout == 0) {
                ck_assert_uint_eq(m.file_type, 0);
                ck_assert_uint_eq(m.time_ms, 0);
                ck_assert_uint_eq(m.trigger, 0);
                ck_assert_uint_eq(m.duration, 0);
                continue;
            }

            /* the same bytes as that known version: the same fields */

            memcpy(known, b, dualcam_test_meta_len(layout));
            known[0] = (unsigned char) layout;

            need = dualcam_test_meta_len(layout);

            ck_assert_int_eq(dualcam_meta_decode(&k, DUALCAM_META_DUALCAM,
                                                 known, need), 0);

            ck_assert_uint_eq(m.file_type, k.file_type);
            ck_assert_uint_eq(m.time_ms, k.time_ms);
            ck_assert_uint_eq(m.trigger, k.trigger);
            ck_assert_uint_eq(m.duration, k.duration);
            ck_assert_uint_eq(m.framerate, k.framerate);
            ck_assert_int_eq(m.tz_minutes, k.tz_minutes);
            ck_assert_uint_eq(m.trigger_time_ms, k.trigger_time_ms);
            ck_assert(memcmp(&m.latitude, &k.latitude, sizeof(double)) == 0);
            ck_assert(memcmp(&m.longitude, &k.longitude, sizeof(double))
                      == 0);
        }
    }

    free(b);
}
END_TEST


/*
 * A session whose metadata answer is of a newer version (20 and 72 bytes
 * as in the issue, 1 byte, and the largest frame the buffer takes): the
 * file is requested and stored, split at every byte boundary.
 */

START_TEST(test_meta_newer_session)
{
    size_t                 k, n, chunks[2], i;
    unsigned char         *meta, *file;
    dualcam_server_t       s;
    dualcam_script_t       sc;
    dualcam_harness_t      h;
    dualcam_server_conf_t  conf;

    static const size_t    lens[] = { 20, 72, 1, 2048 - 4 };

    n = lens[_i];

    meta = malloc(n);
    file = malloc(3000);
    ck_assert_ptr_nonnull(meta);
    ck_assert_ptr_nonnull(file);

    for (i = 0; i < n; i++) {
        meta[i] = (unsigned char) (i * 7 + 3);
    }

    meta[0] = 9;

    for (i = 0; i < 3000; i++) {
        file[i] = (unsigned char) (i * 13);
    }

    dualcam_script_init(&sc);
    dualcam_script_hello(&sc, 5, 863719061653375ULL, 0x44);
    dualcam_script_frame(&sc, DUALCAM_CMD_METADATA, meta, n);
    dualcam_script_start(&sc, 3);
    dualcam_script_sync(&sc, 1);
    dualcam_script_file(&sc, file, 3000, 0);
    dualcam_script_hello(&sc, 5, 863719061653375ULL, 0x40);

    memset(&conf, 0, sizeof(conf));
    conf.buffer_size = 2048;
    conf.metadata = 1;

    for (k = 0; k < sc.len; k++) {
        chunks[0] = k ? k : sc.len;
        chunks[1] = sc.len;

        dualcam_server_init(&s, &conf);
        dualcam_harness_init(&h, conf.buffer_size);
        dualcam_harness_feed(&h, &s, sc.p, sc.len, chunks, 2);

        ck_assert_msg(!h.error, "split %zu: %s", k, h.error_msg);
        ck_assert_msg(h.result == DUALCAM_RESULT_OK, "split %zu: %d %s", k,
                      h.result, h.logtext);
        ck_assert_uint_eq(h.metas, 1);
        ck_assert_uint_eq(h.nfiles, 1);
        ck_assert_uint_eq(h.files[0].len, 3000);
        ck_assert(memcmp(h.files[0].data, file, 3000) == 0);
        ck_assert(h.files[0].file.has_meta);
        ck_assert_uint_eq(h.files[0].file.meta.version, 9);
        ck_assert_uint_eq(h.files[0].file.meta.layout,
                          dualcam_test_layout(9, n));
        ck_assert_uint_eq(h.files[0].file.meta.raw_len, n);

        /* the reference into the input is gone after the action */
        ck_assert_ptr_null(s.file.meta.raw);

        dualcam_harness_free(&h);
    }

    dualcam_script_free(&sc);
    free(meta);
    free(file);
}
END_TEST


START_TEST(test_meta_adas_dsm_json)
{
    unsigned char         b[26];
    dualcam_meta_t        m;
    static const char     json[] = "{\"version\":1,\"file\":{}}";

    memset(b, 0, sizeof(b));
    dualcam_put32(b, 1700000000);
    b[4] = 1;
    b[5] = 5;
    dualcam_put32(b + 6, (uint32_t) -12345678);
    dualcam_put32(b + 10, 98765432);
    b[14] = 9;

    ck_assert_int_eq(dualcam_meta_decode(&m, DUALCAM_META_ADAS, b, 15), 0);
    ck_assert_int_eq(m.type, DUALCAM_META_ADAS);
    ck_assert_uint_eq(m.time_ms, 1700000000000ULL);
    ck_assert_uint_eq(m.file_type, 1);
    ck_assert_str_eq(dualcam_trigger_text(m.type, m.trigger), "crash");
    ck_assert(fabs(m.latitude + 12.345678) < 1e-9);
    ck_assert(fabs(m.longitude - 98.765432) < 1e-9);
    ck_assert_uint_eq(m.duration, 9);

    /* the length decides without a hint */
    ck_assert_int_eq(dualcam_meta_decode(&m, DUALCAM_META_NONE, b, 15), 0);
    ck_assert_int_eq(m.type, DUALCAM_META_ADAS);

    dualcam_put16(b + 14, 0x0103);
    memcpy(b + 16, "Jonas\0\0\0\0\0", 10);
    b[5] = 13;

    ck_assert_int_eq(dualcam_meta_decode(&m, DUALCAM_META_DSM, b, 26), 0);
    ck_assert_int_eq(m.type, DUALCAM_META_DSM);
    ck_assert_uint_eq(m.dsm_events, 0x0103);
    ck_assert_str_eq(m.driver, "Jonas");
    ck_assert_str_eq(dualcam_trigger_text(m.type, m.trigger), "DSM event");

    ck_assert_int_eq(dualcam_meta_decode(&m, DUALCAM_META_NONE, b, 26), 0);
    ck_assert_int_eq(m.type, DUALCAM_META_DSM);

    /* a name with control bytes and quotes is made safe */
    memcpy(b + 16, "a\n\"b\\c\x80zz ", 10);
    ck_assert_int_eq(dualcam_meta_decode(&m, DUALCAM_META_DSM, b, 26), 0);
    ck_assert_str_eq(m.driver, "a??b?c?zz");

    ck_assert_int_eq(dualcam_meta_decode(&m, DUALCAM_META_JSON,
                                         (const unsigned char *) json,
                                         sizeof(json) - 1), 0);
    ck_assert_int_eq(m.type, DUALCAM_META_JSON);
    ck_assert_ptr_eq(m.json, (const unsigned char *) json);
    ck_assert_uint_eq(m.json_len, sizeof(json) - 1);
    ck_assert_uint_eq(m.raw_len, 0);

    ck_assert_int_eq(dualcam_meta_decode(&m, DUALCAM_META_NONE,
                                         (const unsigned char *) json, 5),
                     0);
    ck_assert_int_eq(m.type, DUALCAM_META_JSON);

    ck_assert_int_eq(dualcam_meta_decode(&m, DUALCAM_META_JSON, b, 0), -1);
    ck_assert_int_eq(dualcam_meta_decode(&m, DUALCAM_META_JSON, b, 26), -1);
    ck_assert_int_eq(dualcam_meta_decode(&m, DUALCAM_META_NONE, b, 20), -1);
}
END_TEST


START_TEST(test_meta_names)
{
    ck_assert_str_eq(dualcam_status_text(0), "file successfully received");
    ck_assert(strstr(dualcam_status_text(17), "failed to read file") != NULL);
    ck_assert_str_eq(dualcam_status_text(26), "wrong bootloader version");
    ck_assert_str_eq(dualcam_status_text(27), "unknown status");
    ck_assert_str_eq(dualcam_status_text(0xffffffff), "unknown status");

    ck_assert_str_eq(dualcam_trigger_text(DUALCAM_META_DUALCAM, 11), "DIN4");
    ck_assert_str_eq(dualcam_trigger_text(DUALCAM_META_DUALCAM, 12),
                     "unknown");
    ck_assert_str_eq(dualcam_trigger_text(DUALCAM_META_ADAS, 10),
                     "green driving");
    ck_assert_str_eq(dualcam_trigger_text(DUALCAM_META_DSM, 14),
                     "file retransmit");
    ck_assert_str_eq(dualcam_trigger_text(DUALCAM_META_JSON, 0), "unknown");

    ck_assert_str_eq(dualcam_kind_name(DUALCAM_KIND_PHOTO), "photo");
    ck_assert_str_eq(dualcam_kind_name(DUALCAM_KIND_VIDEO), "video");
    ck_assert_str_eq(dualcam_kind_name(DUALCAM_KIND_PATH), "path");
    ck_assert_str_eq(dualcam_kind_name(DUALCAM_KIND_LAST), "none");
    ck_assert_str_eq(dualcam_side_name(DUALCAM_SIDE_LAST), "none");
    ck_assert_str_eq(dualcam_side_name(DUALCAM_SIDE_FRONT), "front");
    ck_assert_str_eq(dualcam_side_name(DUALCAM_SIDE_REAR), "rear");
    ck_assert_str_eq(dualcam_side_name(DUALCAM_SIDE_NONE), "none");

    ck_assert_str_eq(dualcam_result_name(DUALCAM_RESULT_OK), "ok");
    ck_assert_str_eq(dualcam_result_name(DUALCAM_RESULT_CLOSED_BY_DEVICE),
                     "closed_by_device");
    ck_assert_str_eq(dualcam_result_name(DUALCAM_RESULT_TIMEOUT), "timeout");
    ck_assert_str_eq(dualcam_result_name(DUALCAM_RESULT_PROTOCOL_ERROR),
                     "protocol_error");
    ck_assert_str_eq(dualcam_result_name(DUALCAM_RESULT_CRC_LIMIT),
                     "crc_limit");
    ck_assert_str_eq(dualcam_result_name(DUALCAM_RESULT_REFUSED), "refused");
    ck_assert_str_eq(dualcam_result_name(DUALCAM_RESULT_STORE_ERROR),
                     "store_error");
    ck_assert_str_eq(dualcam_result_name(DUALCAM_RESULT_DEVICE_STATUS),
                     "device_status");
    ck_assert_str_eq(dualcam_result_name(DUALCAM_RESULT_SHUTDOWN),
                     "shutdown");
    ck_assert_str_eq(dualcam_result_name(DUALCAM_RESULT_DUPLICATE),
                     "duplicate");
    ck_assert_str_eq(dualcam_result_name(DUALCAM_RESULT_INTERNAL_ERROR),
                     "internal_error");
    ck_assert_str_eq(dualcam_result_name(DUALCAM_RESULT_LAST), "none");

    ck_assert_uint_eq(dualcam_result_status(DUALCAM_RESULT_OK), 200);
    ck_assert_uint_eq(dualcam_result_status(DUALCAM_RESULT_TIMEOUT), 200);
    ck_assert_uint_eq(dualcam_result_status(DUALCAM_RESULT_PROTOCOL_ERROR),
                      400);
    ck_assert_uint_eq(dualcam_result_status(DUALCAM_RESULT_CRC_LIMIT), 400);
    ck_assert_uint_eq(dualcam_result_status(DUALCAM_RESULT_REFUSED), 403);
    ck_assert_uint_eq(dualcam_result_status(DUALCAM_RESULT_STORE_ERROR),
                      500);
    ck_assert_uint_eq(dualcam_result_status(DUALCAM_RESULT_SHUTDOWN), 503);
    ck_assert_uint_eq(dualcam_result_status(DUALCAM_RESULT_DUPLICATE), 200);
    ck_assert_uint_eq(dualcam_result_status(DUALCAM_RESULT_INTERNAL_ERROR),
                      500);

    ck_assert_str_eq(dualcam_meta_type_name(DUALCAM_META_DUALCAM),
                     "dualcam");
    ck_assert_str_eq(dualcam_meta_type_name(DUALCAM_META_JSON), "json");
}
END_TEST


START_TEST(test_meta_file_word)
{
    dualcam_file_t  f;

    memset(&f, 0, sizeof(f));

    f.kind = DUALCAM_KIND_PHOTO;
    ck_assert_str_eq(dualcam_file_word(&f), "photo");
    f.kind = DUALCAM_KIND_VIDEO;
    ck_assert_str_eq(dualcam_file_word(&f), "video");
    f.kind = DUALCAM_KIND_PATH;
    ck_assert_str_eq(dualcam_file_word(&f), "file");
    f.has_meta = 1;
    f.meta.type = DUALCAM_META_ADAS;
    ck_assert_str_eq(dualcam_file_word(&f), "adas");
    f.meta.type = DUALCAM_META_DSM;
    ck_assert_str_eq(dualcam_file_word(&f), "dsm");
    f.meta.type = DUALCAM_META_JSON;
    ck_assert_str_eq(dualcam_file_word(&f), "file");
}
END_TEST


START_TEST(test_meta_path_extension)
{
#define ext(s)  dualcam_path_extension(s, sizeof(s) - 1)

    ck_assert_str_eq(ext("dsm/picture/231020/231452.jpg\0"), "jpg");
    ck_assert_str_eq(ext("mdas9/video/clip.MP4"), "mp4");
    ck_assert_str_eq(ext("a.JpEg"), "jpeg");
    ck_assert_str_eq(ext("x/y.h265"), "h265");
    ck_assert_str_eq(ext("v.avi"), "avi");
    ck_assert_str_eq(ext("noext"), "bin");
    ck_assert_str_eq(ext("dir.jpg/file"), "bin");
    ck_assert_str_eq(ext("../../etc/passwd"), "bin");
    ck_assert_str_eq(ext("a.jpg/"), "bin");
    ck_assert_str_eq(ext("a.jpgx"), "bin");
    ck_assert_str_eq(ext("a.jp"), "bin");
    ck_assert_str_eq(ext("a."), "bin");
    ck_assert_str_eq(ext("a.exe"), "bin");
    ck_assert_str_eq(ext("a.jpg\0.exe"), "jpg");
    ck_assert_str_eq(ext("a.exe\0.jpg"), "bin");
    ck_assert_str_eq(ext("c:\\x\\y.mp4"), "mp4");
    ck_assert_str_eq(ext(".jpg"), "jpg");
    ck_assert_str_eq(ext(""), "bin");
    ck_assert_str_eq(dualcam_path_extension(NULL, 4), "bin");

    /* the length bounds the scan: "a.jpg" cut to "a.j" */
    ck_assert_str_eq(dualcam_path_extension("a.jpg", 3), "bin");

#undef ext
}
END_TEST


Suite *
meta_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("meta");
    tc = tcase_create("meta");

    tcase_add_test(tc, test_meta_capture);
    tcase_add_test(tc, test_meta_versions);
    tcase_add_test(tc, test_meta_wrong_lengths);
    tcase_add_test(tc, test_meta_newer_every_length);
    tcase_add_loop_test(tc, test_meta_newer_session, 0, 4);
    tcase_add_test(tc, test_meta_adas_dsm_json);
    tcase_add_test(tc, test_meta_names);
    tcase_add_test(tc, test_meta_file_word);
    tcase_add_test(tc, test_meta_path_extension);
    suite_add_tcase(s, tc);

    return s;
}
