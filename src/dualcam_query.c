
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The status location's arguments; see dualcam_query.h.
 */


#include <string.h>

#include "dualcam_query.h"


typedef struct {
    const char               *name;
    size_t                    len;
    int                     (*set)(dualcam_query_t *q,
                                   const unsigned char *v, size_t n);
} dualcam_query_arg_t;


static int dualcam_query_format(dualcam_query_t *q, const unsigned char *v,
    size_t n);
static int dualcam_query_limit(dualcam_query_t *q, const unsigned char *v,
    size_t n);
static int dualcam_query_imei_set(dualcam_query_t *q,
    const unsigned char *v, size_t n);
static int dualcam_query_active(dualcam_query_t *q, const unsigned char *v,
    size_t n);
static int dualcam_query_caseeq(const unsigned char *a, const char *b,
    size_t n);


/* one table: the arguments and what reads each */

static const dualcam_query_arg_t  dualcam_query_args[] = {
    { "format", 6, dualcam_query_format },
    { "limit", 5, dualcam_query_limit },
    { "imei", 4, dualcam_query_imei_set },
    { "active", 6, dualcam_query_active },
};

#define DUALCAM_QUERY_NARGS                                                  \
    (sizeof(dualcam_query_args) / sizeof(dualcam_query_args[0]))


static const struct {
    const char               *name;
    size_t                    len;
    dualcam_format_e          format;
} dualcam_query_formats[] = {
    { "json", 4, DUALCAM_FORMAT_JSON },
    { "prometheus", 10, DUALCAM_FORMAT_PROMETHEUS },
    { "html", 4, DUALCAM_FORMAT_HTML },
};


const char *
dualcam_query_parse(dualcam_query_t *q, const unsigned char *args,
    size_t len, const unsigned char **bad, size_t *bad_len)
{
    size_t                      i, klen, vlen;
    unsigned                    seen;
    const char                 *invalid;
    const unsigned char        *p, *end, *key, *eq, *amp;
    const dualcam_query_arg_t  *a;

    memset(q, 0, sizeof(dualcam_query_t));
    q->limit = DUALCAM_QUERY_NO_LIMIT;

    seen = 0;
    invalid = NULL;
    p = args;
    end = args + len;

    while (p < end) {
        key = p;
        amp = memchr(p, '&', end - p);

        if (amp == NULL) {
            amp = end;
        }

        p = amp + 1;

        eq = memchr(key, '=', amp - key);

        if (eq == NULL) {
            /* "name" without "=" is no argument, as for $arg_NAME */
            continue;
        }

        klen = eq - key;
        vlen = amp - (eq + 1);

        for (i = 0; i < DUALCAM_QUERY_NARGS; i++) {
            a = &dualcam_query_args[i];

            if (klen != a->len || !dualcam_query_caseeq(key, a->name, klen)
                || (seen & (1u << i)))
            {
                continue;
            }

            seen |= 1u << i;

            /* the others are still read: "format" may make them moot */

            if (a->set(q, eq + 1, vlen) != 0 && invalid == NULL) {
                invalid = a->name;

                if (bad != NULL) {
                    *bad = eq + 1;
                    *bad_len = vlen;
                }
            }

            break;
        }
    }

    return invalid;
}


static int
dualcam_query_format(dualcam_query_t *q, const unsigned char *v, size_t n)
{
    size_t  i;

    for (i = 0; i < sizeof(dualcam_query_formats)
                    / sizeof(dualcam_query_formats[0]); i++)
    {
        if (n == dualcam_query_formats[i].len
            && dualcam_query_caseeq(v, dualcam_query_formats[i].name, n))
        {
            q->format = dualcam_query_formats[i].format;
            return 0;
        }
    }

    q->format = DUALCAM_FORMAT_INVALID;

    return -1;
}


static int
dualcam_query_limit(dualcam_query_t *q, const unsigned char *v, size_t n)
{
    size_t    i;
    uint64_t  limit;

    /* digits only, at most 18 of them: no sign, no overflow */

    if (n == 0 || n > 18) {
        return -1;
    }

    limit = 0;

    for (i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') {
            return -1;
        }

        limit = limit * 10 + (v[i] - '0');
    }

    q->limit = limit;

    return 0;
}


static int
dualcam_query_imei_set(dualcam_query_t *q, const unsigned char *v,
    size_t n)
{
    size_t  i;

    if (n > DUALCAM_QUERY_IMEI_LEN) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') {
            return -1;
        }
    }

    memcpy(q->imei, v, n);
    q->imei[n] = '\0';
    q->imei_len = n;

    return 0;
}


static int
dualcam_query_active(dualcam_query_t *q, const unsigned char *v, size_t n)
{
    if (n != 1 || (v[0] != '0' && v[0] != '1')) {
        return -1;
    }

    q->active = (v[0] == '1');

    return 0;
}


int
dualcam_query_imei(const dualcam_query_t *q, uint64_t imei)
{
    int   i;
    char  digits[DUALCAM_QUERY_IMEI_LEN + 1];

    if (q->imei_len == 0) {
        return 1;
    }

    /* the 15 digits as the status prints them, leading zeros kept */

    digits[DUALCAM_QUERY_IMEI_LEN] = '\0';

    for (i = DUALCAM_QUERY_IMEI_LEN - 1; i >= 0; i--) {
        digits[i] = (char) ('0' + imei % 10);
        imei /= 10;
    }

    if (imei != 0) {
        /* more than 15 digits: no IMEI a device can send */
        return 0;
    }

    return strstr(digits, q->imei) != NULL;
}


static int
dualcam_query_caseeq(const unsigned char *a, const char *b, size_t n)
{
    size_t         i;
    unsigned char  c;

    for (i = 0; i < n; i++) {
        c = a[i];

        if (c >= 'A' && c <= 'Z') {
            c = (unsigned char) (c - 'A' + 'a');
        }

        if (c != (unsigned char) b[i]) {
            return 0;
        }
    }

    return 1;
}
