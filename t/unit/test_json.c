
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * JSON strings and log text from device bytes: every byte value, every
 * class of malformed UTF-8, the boundaries of the well-formed ranges, and
 * random bytes checked by a strict validator and an unescaper written
 * here independently of the code under test.
 */


#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests.h"
#include "harness.h"
#include "dualcam_json.h"


/*
 * The oracle: decode by the bit pattern, then reject what RFC 3629 does
 * not allow (overlong forms, surrogates, beyond U+10FFFF).  Returns the
 * sequence length, 0 when p does not start a well-formed one.
 */

static size_t
dualcam_test_utf8(const unsigned char *p, size_t n)
{
    size_t    len, i;
    uint32_t  u, min;

    if (n == 0) {
        return 0;
    }

    if ((p[0] & 0x80) == 0) {
        return 1;

    } else if ((p[0] & 0xe0) == 0xc0) {
        len = 2;
        u = p[0] & 0x1f;
        min = 0x80;

    } else if ((p[0] & 0xf0) == 0xe0) {
        len = 3;
        u = p[0] & 0x0f;
        min = 0x800;

    } else if ((p[0] & 0xf8) == 0xf0) {
        len = 4;
        u = p[0] & 0x07;
        min = 0x10000;

    } else {
        return 0;
    }

    if (n < len) {
        return 0;
    }

    for (i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }

        u = (u << 6) | (p[i] & 0x3f);
    }

    if (u < min || u > 0x10ffff || (u >= 0xd800 && u <= 0xdfff)) {
        return 0;
    }

    return len;
}


/*
 * A strict check of the inside of a JSON string (RFC 8259 with UTF-8):
 * well-formed UTF-8, no raw control character, quote or lone backslash,
 * only the escapes JSON defines.  Then the reverse of the escaper: \u00XX
 * gives back byte XX; the bytes must be what was escaped.
 */

static int
dualcam_test_json_unescape(const unsigned char *p, size_t n,
    unsigned char *out, size_t *out_len)
{
    size_t         i, k, len;
    unsigned long  u;
    char           hex[5];

    *out_len = 0;

    for (i = 0; i < n; /* void */) {

        if (p[i] < 0x20 || p[i] == '"') {
            return -1;
        }

        if (p[i] >= 0x80) {
            len = dualcam_test_utf8(p + i, n - i);
            if (len == 0) {
                return -1;
            }

            memcpy(out + *out_len, p + i, len);
            *out_len += len;
            i += len;
            continue;
        }

        if (p[i] != '\\') {
            out[(*out_len)++] = p[i++];
            continue;
        }

        if (i + 1 >= n) {
            return -1;
        }

        switch (p[i + 1]) {

        case '"':
        case '\\':
        case '/':
            out[(*out_len)++] = p[i + 1];
            i += 2;
            continue;

        case 'n':
            out[(*out_len)++] = '\n';
            i += 2;
            continue;

        case 'r':
            out[(*out_len)++] = '\r';
            i += 2;
            continue;

        case 't':
            out[(*out_len)++] = '\t';
            i += 2;
            continue;

        case 'u':
            break;

        default:
            return -1;
        }

        if (i + 6 > n) {
            return -1;
        }

        for (k = 0; k < 4; k++) {
            hex[k] = (char) p[i + 2 + k];

            if (!((hex[k] >= '0' && hex[k] <= '9')
                  || (hex[k] >= 'a' && hex[k] <= 'f')
                  || (hex[k] >= 'A' && hex[k] <= 'F')))
            {
                return -1;
            }
        }

        hex[4] = '\0';
        u = strtoul(hex, NULL, 16);

        /* the escaper only ever writes \u00XX */

        if (u > 0xff) {
            return -1;
        }

        out[(*out_len)++] = (unsigned char) u;
        i += 6;
    }

    return 0;
}


static void
dualcam_test_json_check(const unsigned char *src, size_t len)
{
    size_t          size, back_len;
    unsigned char  *out, *back, *end;

    size = dualcam_json_escape_len(src, len);
    ck_assert_uint_le(size, len * DUALCAM_JSON_ESCAPE_MAX);

    out = malloc(size + 1);
    back = malloc(len + 1);
    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_nonnull(back);

    out[size] = 0xa5;
    end = dualcam_json_escape(out, src, len);

    ck_assert_uint_eq((size_t) (end - out), size);
    ck_assert_uint_eq(out[size], 0xa5);

    ck_assert_int_eq(dualcam_test_json_unescape(out, size, back, &back_len),
                     0);
    ck_assert_uint_eq(back_len, len);
    ck_assert(len == 0 || memcmp(back, src, len) == 0);

    free(out);
    free(back);
}


static void
dualcam_test_json_is(const char *src, size_t len, const char *expect)
{
    size_t         size;
    unsigned char  out[512], *end;

    size = dualcam_json_escape_len((const unsigned char *) src, len);
    ck_assert_uint_lt(size, sizeof(out));

    end = dualcam_json_escape(out, (const unsigned char *) src, len);
    *end = '\0';

    ck_assert_uint_eq((size_t) (end - out), size);
    ck_assert_str_eq((char *) out, expect);

    dualcam_test_json_check((const unsigned char *) src, len);
}


#define dualcam_test_json(s, expect)                                         \
    dualcam_test_json_is(s, sizeof(s) - 1, expect)


START_TEST(test_json_every_byte)
{
    char           expect[8];
    unsigned char  b, out[8], *end;

    b = (unsigned char) _i;

    end = dualcam_json_escape(out, &b, 1);
    *end = '\0';

    if (b == '"' || b == '\\') {
        expect[0] = '\\';
        expect[1] = (char) b;
        expect[2] = '\0';

    } else if (b == '\n' || b == '\r' || b == '\t') {
        expect[0] = '\\';
        expect[1] = b == '\n' ? 'n' : b == '\r' ? 'r' : 't';
        expect[2] = '\0';

    } else if (b >= 0x20 && b < 0x7f) {
        expect[0] = (char) b;
        expect[1] = '\0';

    } else {
        /* controls, DEL, and any byte >= 0x80 alone is not UTF-8 */
        snprintf(expect, sizeof(expect), "\\u%04x", b);
    }

    ck_assert_str_eq((char *) out, expect);
    ck_assert_uint_eq(dualcam_json_escape_len(&b, 1), strlen(expect));
    ck_assert_uint_eq(dualcam_utf8_len(&b, 1), b < 0x80 ? 1 : 0);

    dualcam_test_json_check(&b, 1);

    /* the same byte between ASCII and after a valid character */
    {
        unsigned char  in[6] = { 'a', 0xc3, 0xbc, 0, 'z', 0xe2 };

        in[3] = b;
        dualcam_test_json_check(in, sizeof(in));
    }
}
END_TEST


START_TEST(test_json_malformed)
{
    /* the path: Latin-1 u-umlaut, then two bytes that are not a
       sequence (0xce needs a continuation byte, 0xfd is never UTF-8) */
    dualcam_test_json("dsm/picture/J\xfcrgen-\xce\xfd.jpg",
                      "dsm/picture/J\\u00fcrgen-\\u00ce\\u00fd.jpg");

    /* stray continuation bytes */
    dualcam_test_json("\x80", "\\u0080");
    dualcam_test_json("a\xbf\x80z", "a\\u00bf\\u0080z");

    /* overlong forms of '/' and of U+07FF, U+FFFF */
    dualcam_test_json("\xc0\xaf", "\\u00c0\\u00af");
    dualcam_test_json("\xc1\xbf", "\\u00c1\\u00bf");
    dualcam_test_json("\xe0\x80\xaf", "\\u00e0\\u0080\\u00af");
    dualcam_test_json("\xe0\x9f\xbf", "\\u00e0\\u009f\\u00bf");
    dualcam_test_json("\xf0\x80\x80\xaf",
                      "\\u00f0\\u0080\\u0080\\u00af");
    dualcam_test_json("\xf0\x8f\xbf\xbf",
                      "\\u00f0\\u008f\\u00bf\\u00bf");

    /* surrogates, alone and as a CESU-8 pair */
    dualcam_test_json("\xed\xa0\x80", "\\u00ed\\u00a0\\u0080");
    dualcam_test_json("\xed\xbf\xbf", "\\u00ed\\u00bf\\u00bf");
    dualcam_test_json("\xed\xa0\xbd\xed\xb2\xa9",
                      "\\u00ed\\u00a0\\u00bd\\u00ed\\u00b2\\u00a9");

    /* above U+10FFFF */
    dualcam_test_json("\xf4\x90\x80\x80",
                      "\\u00f4\\u0090\\u0080\\u0080");
    dualcam_test_json("\xf5\x80\x80\x80",
                      "\\u00f5\\u0080\\u0080\\u0080");
    dualcam_test_json("\xf8\x88\x80\x80\x80",
                      "\\u00f8\\u0088\\u0080\\u0080\\u0080");
    dualcam_test_json("\xfe\xff", "\\u00fe\\u00ff");

    /* cut short: at the end, before ASCII, before another lead byte */
    dualcam_test_json("\xe2\x82", "\\u00e2\\u0082");
    dualcam_test_json("\xe2\x82" "A", "\\u00e2\\u0082A");
    dualcam_test_json("\xf0\x9f\x98", "\\u00f0\\u009f\\u0098");
    dualcam_test_json("\xf0\x9f\x98\xc3\xbc", "\\u00f0\\u009f\\u0098\xc3\xbc");
    dualcam_test_json("\xc3", "\\u00c3");
    dualcam_test_json("\xc3\xc3\xbc", "\\u00c3\xc3\xbc");

    /* an embedded NUL and the other controls */
    dualcam_test_json_is("a\0b", 3, "a\\u0000b");
    dualcam_test_json("\x01\x1f\x7f\b\f", "\\u0001\\u001f\\u007f\\u0008"
                      "\\u000c");
    dualcam_test_json("\"\\\n\r\t/", "\\\"\\\\\\n\\r\\t/");
}
END_TEST


START_TEST(test_json_valid)
{
    /* the first and last code point of every range pass unchanged */
    static const char  *valid[] = {
        "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xe0\xbf\xbf",
        "\xe1\x80\x80", "\xec\xbf\xbf", "\xed\x80\x80", "\xed\x9f\xbf",
        "\xee\x80\x80", "\xef\xbf\xbf", "\xf0\x90\x80\x80",
        "\xf0\xbf\xbf\xbf", "\xf1\x80\x80\x80", "\xf3\xbf\xbf\xbf",
        "\xf4\x80\x80\x80", "\xf4\x8f\xbf\xbf",
        "J\xc3\xbcrgen", "\xe2\x82\xac 5", "\xf0\x9f\x93\xb7",
        "\xe2\x80\xa8\xe2\x80\xa9", "\xef\xbb\xbf"
    };

    size_t  i;

    for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        dualcam_test_json_is(valid[i], strlen(valid[i]), valid[i]);

        ck_assert_uint_eq(dualcam_utf8_len((const unsigned char *) valid[i],
                                           strlen(valid[i])),
                          dualcam_test_utf8((const unsigned char *) valid[i],
                                            strlen(valid[i])));
    }

    dualcam_test_json("", "");
}
END_TEST


/*
 * dualcam_utf8_len() against the oracle for every lead byte and every
 * second byte, with later bytes from the edges of each class, at every
 * length that cuts the sequence.
 */

START_TEST(test_json_utf8_exhaustive)
{
    size_t         n, a, b, c, d, nc, nd;
    unsigned char  p[4];

    static const unsigned char  edges[] = {
        0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2,
        0xe0, 0xed, 0xf0, 0xf4, 0xf5, 0xff
    };

    for (a = 0; a < 256; a++) {
        /* the bytes after the second matter only to longer sequences */

        nc = a >= 0xe0 ? sizeof(edges) : 1;
        nd = a >= 0xf0 ? sizeof(edges) : 1;

        for (b = 0; b < 256; b++) {
            for (c = 0; c < nc; c++) {
                for (d = 0; d < nd; d++) {
                    p[0] = (unsigned char) a;
                    p[1] = (unsigned char) b;
                    p[2] = edges[c];
                    p[3] = edges[d];

                    for (n = 0; n <= 4; n++) {
                        if (dualcam_utf8_len(p, n) != dualcam_test_utf8(p, n))
                        {
                            ck_abort_msg("utf8 %02x %02x %02x %02x n %zu: "
                                         "%zu, oracle %zu", p[0], p[1], p[2],
                                         p[3], n, dualcam_utf8_len(p, n),
                                         dualcam_test_utf8(p, n));
                        }
                    }
                }
            }
        }
    }
}
END_TEST


/* random bytes, more often high ones and UTF-8 pieces */

START_TEST(test_json_random)
{
    size_t         len, i, k;
    unsigned int   seed;
    unsigned char  buf[96];

    static const unsigned char  pieces[] = {
        0xc3, 0xbc, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x93, 0xb7, 0xed, 0xa0,
        0xf4, 0x8f, 0xbf, 0x80, '"', '\\', 0x00, 0x1f, 0x7f
    };

    seed = 20261203;

    for (i = 0; i < 20000; i++) {
        len = rand_r(&seed) % sizeof(buf);

        for (k = 0; k < len; k++) {
            switch (rand_r(&seed) % 3) {
            case 0:
                buf[k] = (unsigned char) rand_r(&seed);
                break;
            case 1:
                buf[k] = (unsigned char) (0x80 | rand_r(&seed));
                break;
            default:
                buf[k] = pieces[rand_r(&seed) % sizeof(pieces)];
            }
        }

        dualcam_test_json_check(buf, len);
    }
}
END_TEST


START_TEST(test_json_log_escape)
{
    char           hex[3];
    size_t         i, n;
    unsigned char  in[256], out[256 * 4 + 1], *end, *p;
    unsigned char  back[256];

    for (i = 0; i < 256; i++) {
        in[i] = (unsigned char) i;
    }

    end = dualcam_log_escape(out, out + sizeof(out), in, 256);

    /* printable ASCII only, and it reads back to every byte */

    n = 0;

    for (p = out; p < end; /* void */) {
        ck_assert(*p >= 0x20 && *p < 0x7f);

        if (*p == '\\') {
            ck_assert_int_eq(p[1], 'x');
            hex[0] = (char) p[2];
            hex[1] = (char) p[3];
            hex[2] = '\0';
            back[n++] = (unsigned char) strtoul(hex, NULL, 16);
            p += 4;

        } else {
            back[n++] = *p++;
        }
    }

    ck_assert_uint_eq(n, 256);
    ck_assert(memcmp(back, in, 256) == 0);

    /* 95 printable, minus '\', as themselves; 162 escapes */
    ck_assert_uint_eq((size_t) (end - out), 94 + 162 * 4);

    /* the end is never passed, and no escape is cut in half */

    for (i = 0; i < 12; i++) {
        memset(out, 0, sizeof(out));
        end = dualcam_log_escape(out, out + i,
                                 (const unsigned char *) "J\xfc" "r", 3);

        ck_assert_uint_le((size_t) (end - out), i);
        ck_assert_uint_eq((size_t) (end - out),
                          i < 1 ? 0 : i < 5 ? 1 : i < 6 ? 5 : 6);
        ck_assert_int_eq(out[i], 0);
    }

    end = dualcam_log_escape(out, out + sizeof(out),
                             (const unsigned char *) "a\\b\"c\n", 6);
    *end = '\0';
    ck_assert_str_eq((char *) out, "a\\x5cb\"c\\x0a");
}
END_TEST


START_TEST(test_json_number)
{
    double  zero;

    zero = 0.0;

    ck_assert(dualcam_json_number_ok(0.0));
    ck_assert(dualcam_json_number_ok(-180.0));
    ck_assert(dualcam_json_number_ok(54.6872));
    ck_assert(dualcam_json_number_ok(999999999999999.0));
    ck_assert(!dualcam_json_number_ok(1e15));
    ck_assert(!dualcam_json_number_ok(-1e15));
    ck_assert(!dualcam_json_number_ok(1e300));
    ck_assert(!dualcam_json_number_ok(zero / zero));
    ck_assert(!dualcam_json_number_ok(1.0 / zero));
    ck_assert(!dualcam_json_number_ok(-1.0 / zero));
    ck_assert(!dualcam_json_number_ok(NAN));
    ck_assert(!dualcam_json_number_ok(INFINITY));
}
END_TEST


/*
 * The core's log lines carry device bytes (a path) as \xHH: a path-mode
 * file offered empty is logged at info with its path.
 */

START_TEST(test_json_server_log)
{
    size_t                 i;
    dualcam_server_t       s;
    dualcam_script_t       sc;
    dualcam_harness_t      h;
    dualcam_server_conf_t  conf;

    static const char  path[] = "dsm/J\xfcrgen-\xce\xfd\x01\\\n.jpg";

    memset(&conf, 0, sizeof(conf));
    conf.buffer_size = 4096;

    dualcam_script_init(&sc);
    dualcam_script_hello(&sc, 6, 863719061653375ULL, 0x02);
    dualcam_script_frame(&sc, DUALCAM_CMD_PATH, path, sizeof(path));
    dualcam_script_start(&sc, 0);
    dualcam_script_hello(&sc, 6, 863719061653375ULL, 0x00);

    dualcam_server_init(&s, &conf);
    dualcam_harness_init(&h, conf.buffer_size);
    dualcam_harness_feed(&h, &s, sc.p, sc.len, NULL, 0);

    ck_assert_msg(!h.error, "harness: %s", h.error_msg);
    ck_assert_int_eq(h.result, DUALCAM_RESULT_OK);
    ck_assert_msg(dualcam_harness_logged(&h, "offers dsm/J\\xfcrgen-\\xce"
                                         "\\xfd\\x01\\x5c\\x0a.jpg with "
                                         "START 0"), "%s", h.logtext);

    for (i = 0; i < h.logtext_len; i++) {
        ck_assert_msg(h.logtext[i] == '\n'
                      || (h.logtext[i] >= 0x20 && h.logtext[i] < 0x7f),
                      "byte %02x in the log", (unsigned char) h.logtext[i]);
    }

    dualcam_harness_free(&h);
    dualcam_script_free(&sc);
}
END_TEST


Suite *
json_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("json");
    tc = tcase_create("json");

    tcase_set_timeout(tc, 60);

    tcase_add_loop_test(tc, test_json_every_byte, 0, 256);
    tcase_add_test(tc, test_json_malformed);
    tcase_add_test(tc, test_json_valid);
    tcase_add_test(tc, test_json_utf8_exhaustive);
    tcase_add_test(tc, test_json_random);
    tcase_add_test(tc, test_json_log_escape);
    tcase_add_test(tc, test_json_number);
    tcase_add_test(tc, test_json_server_log);

    suite_add_tcase(s, tc);

    return s;
}
