
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * See dualcam_http.h.  Strict about the shape (a receiver that speaks
 * something else is an error to report, not a status to guess), silent
 * about the reason phrase and everything after it.
 */


#include "dualcam_http.h"


int
dualcam_http_status(const unsigned char *p, size_t n, unsigned *status)
{
    size_t          i;
    unsigned        code;
    unsigned char   c;

    static const char  proto[] = "HTTP/1.";

    /* "HTTP/1." then a digit, a space, three digits, then an end */

    for (i = 0; i < n && i < sizeof(proto) - 1; i++) {
        if (p[i] != (unsigned char) proto[i]) {
            return DUALCAM_HTTP_INVALID;
        }
    }

    if (n < sizeof(proto) - 1) {
        return DUALCAM_HTTP_AGAIN;
    }

    if (n == 7) {
        return DUALCAM_HTTP_AGAIN;
    }

    if (p[7] < '0' || p[7] > '9') {
        return DUALCAM_HTTP_INVALID;
    }

    if (n == 8) {
        return DUALCAM_HTTP_AGAIN;
    }

    if (p[8] != ' ') {
        return DUALCAM_HTTP_INVALID;
    }

    code = 0;

    for (i = 9; i < 12; i++) {
        if (i == n) {
            return DUALCAM_HTTP_AGAIN;
        }

        c = p[i];

        if (c < '0' || c > '9') {
            return DUALCAM_HTTP_INVALID;
        }

        code = code * 10 + (c - '0');
    }

    if (n == 12) {
        return DUALCAM_HTTP_AGAIN;
    }

    if (p[12] != ' ' && p[12] != '\r' && p[12] != '\n') {
        return DUALCAM_HTTP_INVALID;
    }

    if (code < 100) {
        return DUALCAM_HTTP_INVALID;
    }

    *status = code;

    return DUALCAM_HTTP_DONE;
}
