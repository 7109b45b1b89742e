
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The arguments of the status location, as a request's query string
 * holds them: plain C99, no nginx, unit tested in t/unit/test_query.c.
 *
 *   format=json|prometheus|html    (any case) what to answer
 *   limit=N                        at most N entries in each list
 *   imei=DIGITS                    1..15 digits found anywhere in an
 *                                  IMEI's 15 (leading zeros included);
 *                                  empty: no filter
 *   active=0|1                     1: only sessions with a file
 *
 * Names are matched without regard to case, the first occurrence of a
 * name counts (as nginx's $arg_NAME), other names are ignored, values are
 * taken as sent (not URL-decoded: an escaped digit is not a digit).
 */


#ifndef _DUALCAM_QUERY_H_INCLUDED_
#define _DUALCAM_QUERY_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define DUALCAM_QUERY_IMEI_LEN   15
#define DUALCAM_QUERY_NO_LIMIT   UINT64_MAX


typedef enum {
    DUALCAM_FORMAT_DEFAULT = 0,     /* none given: the Accept header */
    DUALCAM_FORMAT_JSON,
    DUALCAM_FORMAT_PROMETHEUS,
    DUALCAM_FORMAT_HTML,
    DUALCAM_FORMAT_INVALID          /* "format=" something else */
} dualcam_format_e;


typedef struct {
    dualcam_format_e          format;
    uint64_t                  limit;        /* DUALCAM_QUERY_NO_LIMIT */
    unsigned                  active;       /* 0 or 1 */
    size_t                    imei_len;     /* 0: every IMEI */
    char                      imei[DUALCAM_QUERY_IMEI_LEN + 1];
} dualcam_query_t;


/*
 * Fills q from the query string args (len bytes, without the '?').
 * Returns NULL when every argument it knows is valid, else the name of
 * the first invalid one ("format", "limit", "imei", "active"); *bad and
 * *bad_len then point at its value within args.  The valid ones are in q
 * either way (an invalid one leaves its default).  limit: 1..18 digits.
 */
const char *dualcam_query_parse(dualcam_query_t *q,
    const unsigned char *args, size_t len, const unsigned char **bad,
    size_t *bad_len);

/* whether the IMEI (as a number) holds q's digits; true without a filter */
int dualcam_query_imei(const dualcam_query_t *q, uint64_t imei);


#endif /* _DUALCAM_QUERY_H_INCLUDED_ */
