
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * JSON strings and log text from device bytes: see dualcam_json.h.
 */


#include <math.h>

#include "dualcam_json.h"


/* larger than any position and exact in a double and in a uint64_t */
#define DUALCAM_JSON_NUMBER_MAX     1e15


static const unsigned char  dualcam_hex[] = "0123456789abcdef";


/*
 * The well-formed byte sequences of Unicode 15, table 3-7: the second
 * byte's range depends on the first (which excludes overlong forms,
 * surrogates and code points above U+10FFFF), every later byte is
 * 0x80..0xBF.
 */

size_t
dualcam_utf8_len(const unsigned char *p, size_t n)
{
    size_t         len, i;
    unsigned char  c, lo, hi;

    if (n == 0) {
        return 0;
    }

    c = p[0];
    lo = 0x80;
    hi = 0xbf;

    if (c < 0x80) {
        return 1;

    } else if (c < 0xc2) {
        return 0;           /* a continuation byte, or overlong 0xC0/0xC1 */

    } else if (c < 0xe0) {
        len = 2;

    } else if (c < 0xf0) {
        len = 3;

        if (c == 0xe0) {
            lo = 0xa0;      /* overlong below U+0800 */

        } else if (c == 0xed) {
            hi = 0x9f;      /* surrogates U+D800..U+DFFF */
        }

    } else if (c < 0xf5) {
        len = 4;

        if (c == 0xf0) {
            lo = 0x90;      /* overlong below U+10000 */

        } else if (c == 0xf4) {
            hi = 0x8f;      /* above U+10FFFF */
        }

    } else {
        return 0;           /* 0xF5..0xFF: above U+10FFFF */
    }

    if (n < len || p[1] < lo || p[1] > hi) {
        return 0;
    }

    for (i = 2; i < len; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf) {
            return 0;
        }
    }

    return len;
}


size_t
dualcam_json_escape_len(const unsigned char *src, size_t len)
{
    size_t               size, n;
    const unsigned char  *last;

    size = 0;
    last = src + len;

    while (src < last) {

        if (*src < 0x80) {

            if (*src == '"' || *src == '\\' || *src == '\n'
                || *src == '\r' || *src == '\t')
            {
                size += 2;

            } else if (*src < 0x20 || *src == 0x7f) {
                size += 6;

            } else {
                size++;
            }

            src++;
            continue;
        }

        n = dualcam_utf8_len(src, last - src);

        if (n == 0) {
            size += 6;
            src++;
            continue;
        }

        size += n;
        src += n;
    }

    return size;
}


unsigned char *
dualcam_json_escape(unsigned char *dst, const unsigned char *src, size_t len)
{
    size_t               n;
    unsigned char        c;
    const unsigned char  *last;

    last = src + len;

    while (src < last) {

        c = *src;

        if (c >= 0x80) {
            n = dualcam_utf8_len(src, last - src);

            if (n != 0) {
                while (n--) {
                    *dst++ = *src++;
                }

                continue;
            }

        } else if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f) {
            *dst++ = c;
            src++;
            continue;
        }

        src++;
        *dst++ = '\\';

        switch (c) {

        case '"':
            *dst++ = '"';
            break;

        case '\\':
            *dst++ = '\\';
            break;

        case '\n':
            *dst++ = 'n';
            break;

        case '\r':
            *dst++ = 'r';
            break;

        case '\t':
            *dst++ = 't';
            break;

        default:
            *dst++ = 'u';
            *dst++ = '0';
            *dst++ = '0';
            *dst++ = dualcam_hex[c >> 4];
            *dst++ = dualcam_hex[c & 0xf];
        }
    }

    return dst;
}


unsigned char *
dualcam_log_escape(unsigned char *dst, unsigned char *end,
    const unsigned char *src, size_t len)
{
    unsigned char        c;
    const unsigned char  *last;

    last = src + len;

    while (src < last) {

        c = *src;

        if (c >= 0x20 && c < 0x7f && c != '\\') {

            if (end - dst < 1) {
                break;
            }

            *dst++ = c;
            src++;
            continue;
        }

        if (end - dst < DUALCAM_LOG_ESCAPE_MAX) {
            break;
        }

        *dst++ = '\\';
        *dst++ = 'x';
        *dst++ = dualcam_hex[c >> 4];
        *dst++ = dualcam_hex[c & 0xf];
        src++;
    }

    return dst;
}


int
dualcam_json_number_ok(double v)
{
    return isfinite(v) && v < DUALCAM_JSON_NUMBER_MAX
           && v > -DUALCAM_JSON_NUMBER_MAX;
}
