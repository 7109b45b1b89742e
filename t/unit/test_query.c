
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The status location's arguments (src/dualcam_query.c): every valid
 * form, every invalid one named, first occurrence wins, names without
 * case, every prefix of a query string read within its bounds (each one
 * copied into a buffer of exactly its size, so ASan sees a read past it),
 * and the IMEI digits matched against the 15 printed with leading zeros.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests.h"
#include "dualcam_query.h"


static const char *
dualcam_test_parse(dualcam_query_t *q, const char *args)
{
    size_t                len;
    const char           *r;
    unsigned char        *copy;
    const unsigned char  *bad;
    size_t                bad_len;

    /* an exact-size copy: a read beyond len is caught by ASan */

    len = strlen(args);
    copy = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, args, len);

    bad = NULL;
    bad_len = 0;
    r = dualcam_query_parse(q, copy, len, &bad, &bad_len);

    if (r != NULL) {
        ck_assert_ptr_nonnull(bad);
        ck_assert(bad >= copy && bad + bad_len <= copy + len);
    }

    free(copy);

    return r;
}


START_TEST(test_query_defaults)
{
    dualcam_query_t  q;

    ck_assert_ptr_null(dualcam_test_parse(&q, ""));
    ck_assert_int_eq(q.format, DUALCAM_FORMAT_DEFAULT);
    ck_assert(q.limit == DUALCAM_QUERY_NO_LIMIT);
    ck_assert_uint_eq(q.active, 0);
    ck_assert_uint_eq(q.imei_len, 0);

    /* unknown names, names without "=", empty pieces: nothing */
    ck_assert_ptr_null(dualcam_test_parse(&q,
        "&&x=1&limit&imei&active&format&limits=3&xlimit=4&=5&&"));
    ck_assert(q.limit == DUALCAM_QUERY_NO_LIMIT);
    ck_assert_int_eq(q.format, DUALCAM_FORMAT_DEFAULT);
    ck_assert_uint_eq(q.imei_len, 0);
}
END_TEST


START_TEST(test_query_valid)
{
    dualcam_query_t  q;

    ck_assert_ptr_null(dualcam_test_parse(&q,
        "format=json&limit=100&active=1&imei=352093"));
    ck_assert_int_eq(q.format, DUALCAM_FORMAT_JSON);
    ck_assert(q.limit == 100);
    ck_assert_uint_eq(q.active, 1);
    ck_assert_str_eq(q.imei, "352093");
    ck_assert_uint_eq(q.imei_len, 6);

    ck_assert_ptr_null(dualcam_test_parse(&q, "FORMAT=Prometheus"));
    ck_assert_int_eq(q.format, DUALCAM_FORMAT_PROMETHEUS);
    ck_assert_ptr_null(dualcam_test_parse(&q, "Format=HTML&Active=0"));
    ck_assert_int_eq(q.format, DUALCAM_FORMAT_HTML);
    ck_assert_uint_eq(q.active, 0);

    ck_assert_ptr_null(dualcam_test_parse(&q, "limit=0"));
    ck_assert(q.limit == 0);
    ck_assert_ptr_null(dualcam_test_parse(&q, "limit=000000000000000007"));
    ck_assert(q.limit == 7);
    ck_assert_ptr_null(dualcam_test_parse(&q, "limit=999999999999999999"));
    ck_assert(q.limit == 999999999999999999ULL);

    ck_assert_ptr_null(dualcam_test_parse(&q, "imei=352093081234567"));
    ck_assert_uint_eq(q.imei_len, 15);
    ck_assert_ptr_null(dualcam_test_parse(&q, "imei="));
    ck_assert_uint_eq(q.imei_len, 0);

    /* the first occurrence counts, as for nginx's $arg_NAME */
    ck_assert_ptr_null(dualcam_test_parse(&q, "limit=3&LIMIT=x&limit=5"));
    ck_assert(q.limit == 3);
}
END_TEST


START_TEST(test_query_invalid)
{
    size_t           i;
    dualcam_query_t  q;

    static const struct {
        const char  *args;
        const char  *name;
    } bad[] = {
        { "limit=", "limit" },
        { "limit=-1", "limit" },
        { "limit=+1", "limit" },
        { "limit=1e3", "limit" },
        { "limit= 1", "limit" },
        { "limit=0x10", "limit" },
        { "limit=%31", "limit" },
        { "limit=1000000000000000000", "limit" },   /* 19 digits */
        { "limit=99999999999999999999999", "limit" },
        { "imei=35209308123456a", "imei" },
        { "imei=3520930812345678", "imei" },        /* 16 digits */
        { "imei=%2035", "imei" },
        { "imei=-1", "imei" },
        { "active=", "active" },
        { "active=2", "active" },
        { "active=11", "active" },
        { "active=yes", "active" },
        { "format=", "format" },
        { "format=xml", "format" },
        { "format=jsonx", "format" },
        { "format=jso", "format" },
        { "limit=5&active=x&imei=y", "active" },
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char  *r = dualcam_test_parse(&q, bad[i].args);

        ck_assert_msg(r != NULL && strcmp(r, bad[i].name) == 0,
                      "%s: %s", bad[i].args, r ? r : "(valid)");
    }

    /* a bad format is said whatever came first */
    dualcam_test_parse(&q, "limit=zzz&format=xml");
    ck_assert_int_eq(q.format, DUALCAM_FORMAT_INVALID);

    /* the valid ones are kept: the page ignores a bad limit */
    ck_assert_str_eq(dualcam_test_parse(&q, "limit=zzz&format=html"),
                     "limit");
    ck_assert_int_eq(q.format, DUALCAM_FORMAT_HTML);
    ck_assert(q.limit == DUALCAM_QUERY_NO_LIMIT);
}
END_TEST


/* every prefix of a query string: within bounds, and valid or named */

START_TEST(test_query_every_prefix)
{
    size_t            i, n;
    char              buf[128];
    const char       *r;
    dualcam_query_t   q;
    static const char args[] =
        "format=json&limit=100&active=1&imei=352093&x=&limit=7";

    n = strlen(args);

    for (i = 0; i <= n; i++) {
        memcpy(buf, args, i);
        buf[i] = '\0';
        r = dualcam_test_parse(&q, buf);

        if (r != NULL) {
            /* only a value cut short is invalid: "format=js", "active=" */
            ck_assert_msg(strcmp(r, "format") == 0 || strcmp(r, "limit")
                          == 0 || strcmp(r, "active") == 0,
                          "prefix %zu: %s", i, r);
        }
    }

    ck_assert_ptr_null(dualcam_test_parse(&q, args));
    ck_assert(q.limit == 100);
}
END_TEST


START_TEST(test_query_imei_match)
{
    dualcam_query_t  q;

    ck_assert_ptr_null(dualcam_test_parse(&q, ""));
    ck_assert(dualcam_query_imei(&q, 0));
    ck_assert(dualcam_query_imei(&q, 352093081234567ULL));

    ck_assert_ptr_null(dualcam_test_parse(&q, "imei=352093081234567"));
    ck_assert(dualcam_query_imei(&q, 352093081234567ULL));
    ck_assert(!dualcam_query_imei(&q, 352093081234568ULL));

    /* anywhere in the 15: start, middle, end */
    ck_assert_ptr_null(dualcam_test_parse(&q, "imei=3520"));
    ck_assert(dualcam_query_imei(&q, 352093081234567ULL));
    ck_assert_ptr_null(dualcam_test_parse(&q, "imei=0812"));
    ck_assert(dualcam_query_imei(&q, 352093081234567ULL));
    ck_assert_ptr_null(dualcam_test_parse(&q, "imei=4567"));
    ck_assert(dualcam_query_imei(&q, 352093081234567ULL));
    ck_assert_ptr_null(dualcam_test_parse(&q, "imei=4568"));
    ck_assert(!dualcam_query_imei(&q, 352093081234567ULL));

    /* leading zeros are digits of the IMEI as the status prints it */
    ck_assert_ptr_null(dualcam_test_parse(&q, "imei=00000000000001"));
    ck_assert(dualcam_query_imei(&q, 1));
    ck_assert(dualcam_query_imei(&q, 10));
    ck_assert(!dualcam_query_imei(&q, 100000000000000ULL));
    ck_assert_ptr_null(dualcam_test_parse(&q, "imei=000000000000000"));
    ck_assert(dualcam_query_imei(&q, 0));
    ck_assert(!dualcam_query_imei(&q, 1));

    /* more than 15 digits is no IMEI: never a match, never a long read */
    ck_assert_ptr_null(dualcam_test_parse(&q, "imei=1"));
    ck_assert(!dualcam_query_imei(&q, 1000000000000000ULL));
    ck_assert(!dualcam_query_imei(&q, UINT64_MAX));
    ck_assert_ptr_null(dualcam_test_parse(&q, "imei=9"));
    ck_assert(dualcam_query_imei(&q, 999999999999999ULL));
    ck_assert(!dualcam_query_imei(&q, 9999999999999999ULL));
}
END_TEST


Suite *
query_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("query");
    tc = tcase_create("args");
    tcase_add_test(tc, test_query_defaults);
    tcase_add_test(tc, test_query_valid);
    tcase_add_test(tc, test_query_invalid);
    tcase_add_test(tc, test_query_every_prefix);
    tcase_add_test(tc, test_query_imei_match);
    suite_add_tcase(s, tc);

    return s;
}
