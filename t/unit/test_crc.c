/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * CRC-16/KERMIT: the published check value, the real capture's packet
 * CRCs, and every fast variant against the bytewise reference.
 */


#include <stdlib.h>
#include <string.h>

#include "tests.h"
#include "fixture.h"


typedef uint16_t (*dualcam_test_crc_pt)(uint16_t crc, const unsigned char *p,
    size_t n);


static const unsigned char  dualcam_check[] = "123456789";
static const unsigned char  dualcam_jpeg[] = { 0xff, 0xd8, 0xff, 0xe0 };


START_TEST(test_crc_check_value)
{
    dualcam_test_crc_pt  clmul;

    ck_assert_uint_eq(dualcam_crc16_bytewise(0, dualcam_check, 9), 0x2189);
    ck_assert_uint_eq(dualcam_crc16_table(0, dualcam_check, 9), 0x2189);
    ck_assert_uint_eq(dualcam_crc16_slice8(0, dualcam_check, 9), 0x2189);
    ck_assert_uint_eq(dualcam_crc16(0, dualcam_check, 9), 0x2189);

    ck_assert_uint_eq(dualcam_crc16_bytewise(0, dualcam_jpeg, 4), 0x94d1);
    ck_assert_uint_eq(dualcam_crc16(0, dualcam_jpeg, 4), 0x94d1);

    ck_assert_uint_eq(dualcam_crc16(0, dualcam_check, 0), 0);
    ck_assert_uint_eq(dualcam_crc16(0x1234, NULL, 0), 0x1234);

    clmul = dualcam_crc16_clmul_impl();

    if (clmul != NULL) {
        ck_assert_uint_eq(clmul(0, dualcam_check, 9), 0x2189);
        ck_assert_str_eq(dualcam_crc16_impl_name(), "pclmul");

    } else {
        ck_assert_str_eq(dualcam_crc16_impl_name(), "slice8");
    }
}
END_TEST


START_TEST(test_crc_capture)
{
    size_t              i, n, total, k;
    uint16_t            crc, sent;
    unsigned char      *all;
    dualcam_fixture_t   f;

    if (dualcam_fixture_load(&f, DUALCAM_FIXTURE_SESSION) != 0) {
        ck_abort_msg("fixture: %s", f.path);
    }

    all = malloc(f.all_len);
    ck_assert_ptr_nonnull(all);

    crc = 0;
    total = 0;
    k = 0;

    for (i = 0; i < f.nframes; i++) {
        if (f.len[i] < 4 || dualcam_get16(f.frame[i]) != DUALCAM_CMD_DATA) {
            continue;
        }

        n = dualcam_get16(f.frame[i] + 2) - 2;
        ck_assert_uint_eq(f.len[i], n + 6);

        sent = dualcam_get16(f.frame[i] + 4 + n);
        crc = dualcam_crc16(crc, f.frame[i] + 4, n);
        ck_assert_uint_eq(crc, sent);

        if (k == 0) {
            ck_assert_uint_eq(sent, 0x2389);
        }

        if (k == 1) {
            ck_assert_uint_eq(sent, 0x8921);

            /* with init 0 the second packet would give 0xa1a6 */
            ck_assert_uint_eq(dualcam_crc16(0, f.frame[i] + 4, n), 0xa1a6);
        }

        memcpy(all + total, f.frame[i] + 4, n);
        total += n;
        k++;
    }

    ck_assert_uint_eq(k, 29);
    ck_assert_uint_eq(total, 29395);

    /* the running CRC is the CRC of the concatenation */
    ck_assert_uint_eq(dualcam_crc16_bytewise(0, all, total), crc);
    ck_assert_uint_eq(dualcam_crc16_slice8(0, all, total), crc);
    ck_assert_uint_eq(dualcam_crc16(0, all, total), crc);

    free(all);
    dualcam_fixture_free(&f);
}
END_TEST


/*
 * Every length 0..2100 (short tails, whole 16- and 64-byte blocks and
 * all in between), random initial values, every misalignment 0..15.
 */

START_TEST(test_crc_variants)
{
    size_t               n, off, split;
    uint16_t             init, want;
    unsigned char       *buf;
    dualcam_test_crc_pt  clmul;

    srand(20241030);

    buf = malloc(2100 + 64);
    ck_assert_ptr_nonnull(buf);

    for (n = 0; n < 2100 + 64; n++) {
        buf[n] = (unsigned char) rand();
    }

    clmul = dualcam_crc16_clmul_impl();

    for (n = 0; n <= 2100; n++) {
        off = (size_t) rand() % 16;
        init = (uint16_t) rand();

        if (n % 7 == 0) {
            init = 0;
        }

        want = dualcam_crc16_bytewise(init, buf + off, n);

        ck_assert_uint_eq(dualcam_crc16_table(init, buf + off, n), want);
        ck_assert_uint_eq(dualcam_crc16_slice8(init, buf + off, n), want);
        ck_assert_uint_eq(dualcam_crc16(init, buf + off, n), want);

        if (clmul != NULL) {
            ck_assert_msg(clmul(init, buf + off, n) == want,
                          "pclmul n=%zu off=%zu init=%04x", n, off,
                          (unsigned) init);
        }

        /* chaining: two calls give the CRC of the concatenation */

        split = n ? (size_t) rand() % (n + 1) : 0;
        ck_assert_uint_eq(dualcam_crc16(dualcam_crc16(init, buf + off,
                                                      split),
                                        buf + off + split, n - split),
                          want);
    }

    /* all misalignments for a few interesting lengths */

    for (off = 0; off < 16; off++) {
        for (n = 0; n < 200; n += 13) {
            want = dualcam_crc16_bytewise(0xffff, buf + off, n);
            ck_assert_uint_eq(dualcam_crc16(0xffff, buf + off, n), want);
            ck_assert_uint_eq(dualcam_crc16_slice8(0xffff, buf + off, n),
                              want);
        }
    }

    free(buf);
}
END_TEST


Suite *
crc_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("crc");
    tc = tcase_create("crc");

    tcase_add_test(tc, test_crc_check_value);
    tcase_add_test(tc, test_crc_capture);
    tcase_add_test(tc, test_crc_variants);
    suite_add_tcase(s, tc);

    return s;
}
