
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * dualcam_init_parse(): the judgement of an init packet that a routing
 * front makes before any session exists.  Every prefix of every input,
 * every byte of the real init set to every value, and the server state
 * machine must judge each of those inits the same way.
 */


#include <string.h>

#include "tests.h"


/* the real unit's init (PROTOCOL.md section 2), front photo pending */

static const unsigned char  dualcam_i_real[16] = {
    0x00, 0x00, 0x00, 0x05, 0x00, 0x03, 0x11, 0x8c,
    0x43, 0xdb, 0x07, 0x7f, 0x44, 0x00, 0x04, 0x00
};


static void
dualcam_i_make(unsigned char *p, unsigned protocol, uint64_t imei,
    unsigned flags)
{
    memset(p, 0, 16);
    dualcam_put16(p + 2, (uint16_t) protocol);
    dualcam_put32(p + 4, (uint32_t) (imei >> 32));
    dualcam_put32(p + 8, (uint32_t) imei);
    p[12] = (unsigned char) flags;
}


/* what the parser must say of p[0 .. 16), from the spec alone */

static int
dualcam_i_expected(const unsigned char *p, size_t n)
{
    if ((n >= 1 && p[0] != 0) || (n >= 2 && p[1] != 0)) {
        return DUALCAM_INIT_NOT_INIT;
    }

    if (n < 16) {
        return DUALCAM_INIT_AGAIN;
    }

    return dualcam_get64(p + 4) > DUALCAM_IMEI_MAX ? DUALCAM_INIT_BAD_IMEI
                                                   : DUALCAM_INIT_OK;
}


/* every prefix, and the whole packet followed by more bytes */

static void
dualcam_i_check(const unsigned char *p)
{
    int             rc;
    size_t          n;
    unsigned char   buf[32];
    dualcam_init_t  init;

    for (n = 0; n <= 16; n++) {
        rc = dualcam_init_parse(&init, p, n);
        ck_assert_msg(rc == dualcam_i_expected(p, n), "n %zu: rc %d", n, rc);
    }

    memcpy(buf, p, 16);
    memset(buf + 16, 0xa5, 16);

    rc = dualcam_init_parse(&init, buf, 32);
    ck_assert_int_eq(rc, dualcam_i_expected(p, 16));

    if (rc == DUALCAM_INIT_OK || rc == DUALCAM_INIT_BAD_IMEI) {
        ck_assert_uint_eq(init.imei, dualcam_get64(p + 4));
        ck_assert_uint_eq(init.protocol, dualcam_get16(p + 2));
        ck_assert_uint_eq(init.flags, p[12]);
    }
}


/* the server's verdict on an init: HELLO, a protocol error, or other */

static int
dualcam_i_server(const unsigned char *p)
{
    int                    rc;
    size_t                 used, off, i;
    dualcam_action_t       a;
    dualcam_server_t       s;
    dualcam_server_conf_t  conf;

    memset(&conf, 0, sizeof(dualcam_server_conf_t));
    conf.buffer_size = 4096;
    conf.max_resume_repeats = 2;
    conf.metadata = 1;

    dualcam_server_init(&s, &conf);

    /* queued actions come out with no more input */

    off = 0;

    for (i = 0; i < 8; i++) {
        rc = dualcam_server_step(&s, p + off, 16 - off, &used, &a);
        off += used;

        if (rc == DUALCAM_AGAIN) {
            return -1;
        }

        if (a.type == DUALCAM_ACT_HELLO) {
            ck_assert_uint_eq(s.imei, dualcam_get64(p + 4));
            return DUALCAM_INIT_OK;
        }

        if (a.type == DUALCAM_ACT_CLOSE) {
            return a.result == DUALCAM_RESULT_PROTOCOL_ERROR
                   ? DUALCAM_INIT_BAD_IMEI : -1;
        }
    }

    return -1;
}


START_TEST(test_init_real)
{
    dualcam_init_t  init;

    dualcam_i_check(dualcam_i_real);

    ck_assert_int_eq(dualcam_init_parse(&init, dualcam_i_real, 16),
                     DUALCAM_INIT_OK);
    ck_assert_uint_eq(init.imei, 863719061653375ULL);
    ck_assert_uint_eq(init.protocol, 5);
    ck_assert_uint_eq(init.flags, 0x44);
}
END_TEST


START_TEST(test_init_imei_limits)
{
    size_t          i;
    unsigned char   p[16];
    dualcam_init_t  init;
    uint64_t        imeis[] = { 0, 1, 999999999999999ULL,
                                1000000000000000ULL, 0xffffffffffffffffULL,
                                0x8000000000000000ULL };
    int             want[] = { DUALCAM_INIT_OK, DUALCAM_INIT_OK,
                               DUALCAM_INIT_OK, DUALCAM_INIT_BAD_IMEI,
                               DUALCAM_INIT_BAD_IMEI, DUALCAM_INIT_BAD_IMEI };

    for (i = 0; i < sizeof(imeis) / sizeof(imeis[0]); i++) {
        dualcam_i_make(p, 6, imeis[i], 0x04);
        dualcam_i_check(p);

        ck_assert_int_eq(dualcam_init_parse(&init, p, 16), want[i]);
        ck_assert_uint_eq(init.imei, imeis[i]);
        ck_assert_uint_eq(init.protocol, 6);
        ck_assert_int_eq(dualcam_i_server(p), want[i]);
    }
}
END_TEST


START_TEST(test_init_not_init)
{
    dualcam_init_t  init;

    /* nothing yet: wait */
    ck_assert_int_eq(dualcam_init_parse(&init, (const unsigned char *) "",
                                        0),
                     DUALCAM_INIT_AGAIN);

    /* TLS, HTTP, a STATUS frame: refused on the first byte that shows it */
    ck_assert_int_eq(dualcam_init_parse(&init, (const unsigned char *)
                                        "\x16\x03\x01", 1),
                     DUALCAM_INIT_NOT_INIT);
    ck_assert_int_eq(dualcam_init_parse(&init, (const unsigned char *)
                                        "GET / HTTP/1.0\r\n", 16),
                     DUALCAM_INIT_NOT_INIT);
    ck_assert_int_eq(dualcam_init_parse(&init, (const unsigned char *)
                                        "\x00\x05\x00\x04", 2),
                     DUALCAM_INIT_NOT_INIT);
    ck_assert_int_eq(dualcam_init_parse(&init, (const unsigned char *)
                                        "\x00\x00", 2),
                     DUALCAM_INIT_AGAIN);
}
END_TEST


/* every byte of the real init set to every value, every prefix */

START_TEST(test_init_every_byte)
{
    int            want;
    size_t         i;
    unsigned       v;
    unsigned char  p[16];

    for (i = 0; i < 16; i++) {
        for (v = 0; v < 256; v++) {
            memcpy(p, dualcam_i_real, 16);
            p[i] = (unsigned char) v;

            dualcam_i_check(p);

            /* where the parser accepts or refuses, the server agrees */

            want = dualcam_i_expected(p, 16);

            if (want != DUALCAM_INIT_NOT_INIT) {
                ck_assert_msg(dualcam_i_server(p) == want,
                              "byte %zu = %02x: server disagrees", i, v);
            }
        }
    }
}
END_TEST


Suite *
init_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("init");
    tc = tcase_create("init");

    tcase_add_test(tc, test_init_real);
    tcase_add_test(tc, test_init_imei_limits);
    tcase_add_test(tc, test_init_not_init);
    tcase_add_test(tc, test_init_every_byte);
    suite_add_tcase(s, tc);

    return s;
}
