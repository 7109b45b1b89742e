/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The status line of an event receiver's answer: decided on every
 * prefix of good lines (AGAIN until the code and its end are in, then
 * DONE with the code), refused on every byte changed to something out
 * of shape.
 */


#include <stdlib.h>
#include <string.h>

#include "tests.h"
#include "dualcam_http.h"


typedef struct {
    const char  *text;
    unsigned     status;
} dualcam_test_http_t;


static const dualcam_test_http_t  dualcam_good[] = {
    { "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 200 },
    { "HTTP/1.0 204\r\n\r\n", 204 },
    { "HTTP/1.1 500 Internal Server Error\r\n", 500 },
    { "HTTP/1.1 301 Moved\n", 301 },
    { "HTTP/1.1 299 \r\n", 299 },
    { "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", 100 }
};


static const char  *dualcam_bad[] = {
    "HTTP/2 200 OK\r\n",
    "http/1.1 200 OK\r\n",
    "HTTP/1.x 200 OK\r\n",
    "HTTP/1.1  200 OK\r\n",
    "HTTP/1.1 20 OK\r\n",
    "HTTP/1.1 2000 OK\r\n",
    "HTTP/1.1 099 OK\r\n",
    "HTTP/1.1 2a0 OK\r\n",
    "SSH-2.0-OpenSSH_9.2\r\n",
    "<html>\r\n",
    "\r\n"
};


START_TEST(test_http_every_prefix)
{
    int          rc;
    size_t       len, n, end;
    unsigned     status;
    const char  *t;

    t = dualcam_good[_i].text;
    len = strlen(t);

    /* "HTTP/1.1 200" and the byte after it */
    end = 13;

    for (n = 0; n <= len; n++) {
        status = 0;
        rc = dualcam_http_status((const unsigned char *) t, n, &status);

        if (n < end) {
            ck_assert_int_eq(rc, DUALCAM_HTTP_AGAIN);
            ck_assert_uint_eq(status, 0);

        } else {
            ck_assert_int_eq(rc, DUALCAM_HTTP_DONE);
            ck_assert_uint_eq(status, dualcam_good[_i].status);
        }
    }
}
END_TEST


START_TEST(test_http_refused)
{
    int          rc, done;
    size_t       len, n;
    unsigned     status;
    const char  *t;

    t = dualcam_bad[_i];
    len = strlen(t);
    done = 0;

    /* no prefix decides for it, one of them refuses it */

    for (n = 0; n <= len; n++) {
        rc = dualcam_http_status((const unsigned char *) t, n, &status);
        ck_assert_int_ne(rc, DUALCAM_HTTP_DONE);

        if (rc == DUALCAM_HTTP_INVALID) {
            done = 1;
            break;
        }
    }

    ck_assert_int_eq(done, 1);
}
END_TEST


/* every byte of the shape replaced by every other byte value */

START_TEST(test_http_every_byte_corrupted)
{
    int            rc;
    size_t         i;
    unsigned       v, status;
    unsigned char  buf[32];

    static const char  line[] = "HTTP/1.1 200 OK\r\n";

    for (i = 0; i < 13; i++) {
        for (v = 0; v < 256; v++) {
            memcpy(buf, line, sizeof(line) - 1);

            if (buf[i] == v) {
                continue;
            }

            /* a version digit or a code digit may be another digit */
            if (((i == 7) || (i >= 9 && i <= 11))
                && v >= '0' && v <= '9')
            {
                continue;
            }

            /* the end of the code may be a space, CR or LF */
            if (i == 12 && (v == '\r' || v == '\n')) {
                continue;
            }

            buf[i] = (unsigned char) v;

            rc = dualcam_http_status(buf, sizeof(line) - 1, &status);
            ck_assert_msg(rc == DUALCAM_HTTP_INVALID,
                          "byte %zu as 0x%02x: %d", i, v, rc);
        }
    }
}
END_TEST


Suite *
http_suite(void)
{
    TCase  *tc;
    Suite  *s;

    s = suite_create("http");

    tc = tcase_create("status");
    tcase_add_loop_test(tc, test_http_every_prefix, 0,
                        sizeof(dualcam_good) / sizeof(dualcam_good[0]));
    tcase_add_loop_test(tc, test_http_refused, 0,
                        sizeof(dualcam_bad) / sizeof(dualcam_bad[0]));
    tcase_add_test(tc, test_http_every_byte_corrupted);
    suite_add_tcase(s, tc);

    return s;
}
