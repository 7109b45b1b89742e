
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The audio of a recording: G.711 expanded to 16-bit PCM and stored as
 * FLAC (RFC 9639), which is lossless, so the PCM a player decodes is
 * exactly G.711's own expansion, and which browsers play from MP4.  The
 * encoder is the small part of FLAC that this needs: mono 16-bit frames,
 * CONSTANT, VERBATIM or FIXED (orders 0-4) subframes with "wasted bits"
 * (A-law expands to multiples of 8, u-law to multiples of 4) and one
 * Rice partition.
 */


#include <string.h>

#include "dualcam_mp4.h"


typedef struct {
    unsigned char  *p;
    uint64_t        acc;
    unsigned        bits;     /* in acc */
} dualcam_bitw_t;


static void dualcam_bitw_put(dualcam_bitw_t *w, uint32_t v, unsigned n);
static void dualcam_bitw_unary(dualcam_bitw_t *w, uint32_t q);
static void dualcam_bitw_flush(dualcam_bitw_t *w);
static unsigned dualcam_flac_wasted(const int16_t *pcm, size_t n);
static void dualcam_flac_residual(const int32_t *s, size_t n,
    unsigned order, int32_t *res);
static uint64_t dualcam_flac_rice_bits(const int32_t *res, size_t n,
    unsigned *param);
static unsigned dualcam_flac_choose(const int16_t *pcm, size_t n,
    int32_t *s, int32_t *res, unsigned *wasted, unsigned *param);
static size_t dualcam_flac_utf8(unsigned char *p, uint64_t v);
static unsigned dualcam_crc8(const unsigned char *p, size_t n);
static unsigned dualcam_crc16_flac(const unsigned char *p, size_t n);


#define DUALCAM_FLAC_CONSTANT  0x10
#define DUALCAM_FLAC_VERBATIM  0x11
#define DUALCAM_FLAC_RICE_MAX  14


/* ITU-T G.711, the expansion every decoder (ffmpeg's too) uses */

int
dualcam_g711_alaw(unsigned char a)
{
    int  t, seg;

    a ^= 0x55;
    t = a & 0x0f;
    seg = (a & 0x70) >> 4;

    if (seg) {
        t = (t + t + 1 + 32) << (seg + 2);

    } else {
        t = (t + t + 1) << 3;
    }

    return (a & 0x80) ? t : -t;
}


int
dualcam_g711_ulaw(unsigned char u)
{
    int  t;

    u = ~u;
    t = ((u & 0x0f) << 3) + 0x84;
    t <<= (u & 0x70) >> 4;

    return (u & 0x80) ? (0x84 - t) : (t - 0x84);
}


static void
dualcam_bitw_put(dualcam_bitw_t *w, uint32_t v, unsigned n)
{
    if (n == 0) {
        return;
    }

    w->acc = (w->acc << n) | (v & (((uint64_t) 1 << n) - 1));
    w->bits += n;

    while (w->bits >= 8) {
        w->bits -= 8;
        *w->p++ = (unsigned char) (w->acc >> w->bits);
    }
}


static void
dualcam_bitw_unary(dualcam_bitw_t *w, uint32_t q)
{
    while (q >= 24) {
        dualcam_bitw_put(w, 0, 24);
        q -= 24;
    }

    dualcam_bitw_put(w, 1, q + 1);
}


static void
dualcam_bitw_flush(dualcam_bitw_t *w)
{
    if (w->bits) {
        dualcam_bitw_put(w, 0, 8 - w->bits);
    }
}


static unsigned
dualcam_flac_wasted(const int16_t *pcm, size_t n)
{
    size_t    i;
    unsigned  w, all;

    all = 0;

    for (i = 0; i < n; i++) {
        all |= (uint16_t) pcm[i];
    }

    if (all == 0) {
        return 0;
    }

    for (w = 0; (all & 1) == 0; w++) {
        all >>= 1;
    }

    return w;
}


/* the fixed predictors of RFC 9639 9.2.5 */

static void
dualcam_flac_residual(const int32_t *s, size_t n, unsigned order,
    int32_t *res)
{
    size_t  i;

    for (i = order; i < n; i++) {

        switch (order) {

        case 0:
            res[i] = s[i];
            break;

        case 1:
            res[i] = s[i] - s[i - 1];
            break;

        case 2:
            res[i] = s[i] - 2 * s[i - 1] + s[i - 2];
            break;

        case 3:
            res[i] = s[i] - 3 * s[i - 1] + 3 * s[i - 2] - s[i - 3];
            break;

        default:
            res[i] = s[i] - 4 * s[i - 1] + 6 * s[i - 2] - 4 * s[i - 3]
                     + s[i - 4];
        }
    }
}


/*
 * One partition: the parameter from the mean of the folded residual
 * (RFC 9639 leaves the choice to the encoder), and the bits it takes
 */

static uint64_t
dualcam_flac_rice_bits(const int32_t *res, size_t n, unsigned *param)
{
    size_t    i;
    uint32_t  u;
    uint64_t  sum, bits;
    unsigned  k;

    sum = 0;

    for (i = 0; i < n; i++) {
        u = ((uint32_t) res[i] << 1) ^ (uint32_t) (res[i] >> 31);
        sum += u;
    }

    for (k = 0; k < DUALCAM_FLAC_RICE_MAX && ((uint64_t) n << (k + 1)) <= sum;
         k++)
    {
        /* void */
    }

    bits = (uint64_t) n * (k + 1);

    for (i = 0; i < n; i++) {
        u = ((uint32_t) res[i] << 1) ^ (uint32_t) (res[i] >> 31);
        bits += u >> k;
    }

    *param = k;

    return bits;
}


/*
 * The subframe: CONSTANT if every sample is the same, else the fixed
 * predictor whose residual is smallest in sum (as libFLAC picks it),
 * unless VERBATIM is shorter.  Leaves the shifted samples in s[] and
 * the residual in res[]; returns the type.
 */

static unsigned
dualcam_flac_choose(const int16_t *pcm, size_t n, int32_t *s, int32_t *res,
    unsigned *wasted, unsigned *param)
{
    size_t    i;
    int32_t   e0, e1, e2, e3, e4, last[4];
    unsigned  w, bps, order, k;
    uint64_t  err[5], b;

    for (i = 1; i < n && pcm[i] == pcm[0]; i++) { /* void */ }

    if (i == n) {
        *wasted = 0;
        *param = 0;
        return DUALCAM_FLAC_CONSTANT;
    }

    w = dualcam_flac_wasted(pcm, n);
    bps = 16 - w;

    for (i = 0; i < n; i++) {
        s[i] = pcm[i] >> w;
    }

    /* the residuals of every order at once, from sample 4 on */

    err[0] = err[1] = err[2] = err[3] = err[4] = 0;

    if (n > 4) {
        last[0] = s[3];
        last[1] = s[3] - s[2];
        last[2] = last[1] - (s[2] - s[1]);
        last[3] = last[2] - ((s[2] - s[1]) - (s[1] - s[0]));

        for (i = 4; i < n; i++) {
            e0 = s[i];
            e1 = e0 - last[0];
            e2 = e1 - last[1];
            e3 = e2 - last[2];
            e4 = e3 - last[3];

            last[0] = e0;
            last[1] = e1;
            last[2] = e2;
            last[3] = e3;

            err[0] += (uint32_t) (e0 < 0 ? -e0 : e0);
            err[1] += (uint32_t) (e1 < 0 ? -e1 : e1);
            err[2] += (uint32_t) (e2 < 0 ? -e2 : e2);
            err[3] += (uint32_t) (e3 < 0 ? -e3 : e3);
            err[4] += (uint32_t) (e4 < 0 ? -e4 : e4);
        }
    }

    order = 0;

    for (i = 1; i < 5; i++) {
        if (err[i] < err[order]) {
            order = i;
        }
    }

    dualcam_flac_residual(s, n, order, res);

    /* warm-up, coding method, partition order, parameter, residual */
    b = (uint64_t) order * bps + 2 + 4 + 4
        + dualcam_flac_rice_bits(res + order, n - order, &k);

    *wasted = w;
    *param = k;

    return (b < (uint64_t) n * bps) ? order : DUALCAM_FLAC_VERBATIM;
}


/* FLAC's extended UTF-8 coding of frame and sample numbers (36 bits) */

static size_t
dualcam_flac_utf8(unsigned char *p, uint64_t v)
{
    size_t    len, i;
    unsigned  lead;

    if (v < 0x80) {
        if (p) {
            p[0] = (unsigned char) v;
        }
        return 1;
    }

    for (len = 2; len < 7 && v >= ((uint64_t) 1 << (5 * len + 1)); len++) {
        /* void */
    }

    if (p) {
        lead = (0xff00 >> len) & 0xff;

        for (i = len - 1; i > 0; i--) {
            p[i] = 0x80 | (v & 0x3f);
            v >>= 6;
        }

        p[0] = (unsigned char) (lead | v);
    }

    return len;
}


static unsigned
dualcam_crc8(const unsigned char *p, size_t n)
{
    unsigned  crc, i;

    crc = 0;

    while (n--) {
        crc ^= *p++;

        for (i = 0; i < 8; i++) {
            crc = (crc & 0x80) ? ((crc << 1) ^ 0x07) & 0xff : crc << 1;
        }
    }

    return crc;
}


static unsigned
dualcam_crc16_flac(const unsigned char *p, size_t n)
{
    unsigned  crc, i;

    crc = 0;

    while (n--) {
        crc ^= (unsigned) *p++ << 8;

        for (i = 0; i < 8; i++) {
            crc = (crc & 0x8000) ? ((crc << 1) ^ 0x8005) & 0xffff
                                 : (crc << 1) & 0xffff;
        }
    }

    return crc;
}


size_t
dualcam_flac_frame(unsigned char *buf, const int16_t *pcm, size_t n,
    uint64_t number, int variable)
{
    size_t          i, len;
    int32_t         s[DUALCAM_MP4_AUDIO_MAX], res[DUALCAM_MP4_AUDIO_MAX];
    uint32_t        u;
    unsigned        type, w, k, bps;
    unsigned char  *p;
    dualcam_bitw_t  bw;

    /*
     * sync code, blocking strategy; block size "16 bits at the end",
     * 8 kHz; mono, 16 bits per sample
     */

    p = buf;
    *p++ = 0xff;
    *p++ = variable ? 0xf9 : 0xf8;
    *p++ = 0x74;
    *p++ = 0x08;
    p += dualcam_flac_utf8(p, number);
    *p++ = (unsigned char) ((n - 1) >> 8);
    *p++ = (unsigned char) (n - 1);
    *p = (unsigned char) dualcam_crc8(buf, p - buf);
    p++;

    type = dualcam_flac_choose(pcm, n, s, res, &w, &k);

    bw.p = p;
    bw.acc = 0;
    bw.bits = 0;

    if (type == DUALCAM_FLAC_CONSTANT) {
        dualcam_bitw_put(&bw, 0x00, 8);
        dualcam_bitw_put(&bw, (uint16_t) pcm[0], 16);

    } else {
        bps = 16 - w;

        dualcam_bitw_put(&bw, (type == DUALCAM_FLAC_VERBATIM ? 0x01
                                                            : 0x08 | type)
                              << 1 | (w ? 1 : 0), 8);
        if (w) {
            dualcam_bitw_unary(&bw, w - 1);
        }

        /* s[] and res[] are what dualcam_flac_choose() left there */

        if (type == DUALCAM_FLAC_VERBATIM) {
            for (i = 0; i < n; i++) {
                dualcam_bitw_put(&bw, (uint32_t) s[i], bps);
            }

        } else {
            for (i = 0; i < type; i++) {
                dualcam_bitw_put(&bw, (uint32_t) s[i], bps);
            }

            /* Rice method 0, partition order 0 */
            dualcam_bitw_put(&bw, 0, 2 + 4);
            dualcam_bitw_put(&bw, k, 4);

            for (i = type; i < n; i++) {
                u = ((uint32_t) res[i] << 1) ^ (uint32_t) (res[i] >> 31);
                dualcam_bitw_unary(&bw, u >> k);
                dualcam_bitw_put(&bw, u, k);
            }
        }
    }

    dualcam_bitw_flush(&bw);
    p = bw.p;

    len = p - buf;
    u = dualcam_crc16_flac(buf, len);
    *p++ = (unsigned char) (u >> 8);
    *p++ = (unsigned char) u;

    return p - buf;
}
