
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


static inline void dualcam_bitw_put(dualcam_bitw_t *w, uint32_t v,
    unsigned n);
static void dualcam_bitw_unary(dualcam_bitw_t *w, uint32_t q);
static void dualcam_bitw_flush(dualcam_bitw_t *w);
static uint64_t dualcam_flac_residual(const int16_t *x, size_t n,
    unsigned order, unsigned w, int32_t *res);
static uint64_t dualcam_flac_rice_bits(const int32_t *res, size_t n,
    uint64_t sum, unsigned *param);
static unsigned dualcam_flac_choose(const int16_t *pcm, size_t n,
    int32_t *res, unsigned *wasted, unsigned *param);
static size_t dualcam_flac_utf8(unsigned char *p, uint64_t v);
static unsigned dualcam_crc8(const unsigned char *p, size_t n);
static unsigned dualcam_crc16_flac(const unsigned char *p, size_t n);


/* CRC-16/UMTS (poly 0x8005) and CRC-8 (poly 0x07), RFC 9639 9.1.8, 9.3 */

static const uint16_t  dualcam_flac_crc16_table[256] = {
    0x0000, 0x8005, 0x800f, 0x000a, 0x801b, 0x001e, 0x0014, 0x8011,
    0x8033, 0x0036, 0x003c, 0x8039, 0x0028, 0x802d, 0x8027, 0x0022,
    0x8063, 0x0066, 0x006c, 0x8069, 0x0078, 0x807d, 0x8077, 0x0072,
    0x0050, 0x8055, 0x805f, 0x005a, 0x804b, 0x004e, 0x0044, 0x8041,
    0x80c3, 0x00c6, 0x00cc, 0x80c9, 0x00d8, 0x80dd, 0x80d7, 0x00d2,
    0x00f0, 0x80f5, 0x80ff, 0x00fa, 0x80eb, 0x00ee, 0x00e4, 0x80e1,
    0x00a0, 0x80a5, 0x80af, 0x00aa, 0x80bb, 0x00be, 0x00b4, 0x80b1,
    0x8093, 0x0096, 0x009c, 0x8099, 0x0088, 0x808d, 0x8087, 0x0082,
    0x8183, 0x0186, 0x018c, 0x8189, 0x0198, 0x819d, 0x8197, 0x0192,
    0x01b0, 0x81b5, 0x81bf, 0x01ba, 0x81ab, 0x01ae, 0x01a4, 0x81a1,
    0x01e0, 0x81e5, 0x81ef, 0x01ea, 0x81fb, 0x01fe, 0x01f4, 0x81f1,
    0x81d3, 0x01d6, 0x01dc, 0x81d9, 0x01c8, 0x81cd, 0x81c7, 0x01c2,
    0x0140, 0x8145, 0x814f, 0x014a, 0x815b, 0x015e, 0x0154, 0x8151,
    0x8173, 0x0176, 0x017c, 0x8179, 0x0168, 0x816d, 0x8167, 0x0162,
    0x8123, 0x0126, 0x012c, 0x8129, 0x0138, 0x813d, 0x8137, 0x0132,
    0x0110, 0x8115, 0x811f, 0x011a, 0x810b, 0x010e, 0x0104, 0x8101,
    0x8303, 0x0306, 0x030c, 0x8309, 0x0318, 0x831d, 0x8317, 0x0312,
    0x0330, 0x8335, 0x833f, 0x033a, 0x832b, 0x032e, 0x0324, 0x8321,
    0x0360, 0x8365, 0x836f, 0x036a, 0x837b, 0x037e, 0x0374, 0x8371,
    0x8353, 0x0356, 0x035c, 0x8359, 0x0348, 0x834d, 0x8347, 0x0342,
    0x03c0, 0x83c5, 0x83cf, 0x03ca, 0x83db, 0x03de, 0x03d4, 0x83d1,
    0x83f3, 0x03f6, 0x03fc, 0x83f9, 0x03e8, 0x83ed, 0x83e7, 0x03e2,
    0x83a3, 0x03a6, 0x03ac, 0x83a9, 0x03b8, 0x83bd, 0x83b7, 0x03b2,
    0x0390, 0x8395, 0x839f, 0x039a, 0x838b, 0x038e, 0x0384, 0x8381,
    0x0280, 0x8285, 0x828f, 0x028a, 0x829b, 0x029e, 0x0294, 0x8291,
    0x82b3, 0x02b6, 0x02bc, 0x82b9, 0x02a8, 0x82ad, 0x82a7, 0x02a2,
    0x82e3, 0x02e6, 0x02ec, 0x82e9, 0x02f8, 0x82fd, 0x82f7, 0x02f2,
    0x02d0, 0x82d5, 0x82df, 0x02da, 0x82cb, 0x02ce, 0x02c4, 0x82c1,
    0x8243, 0x0246, 0x024c, 0x8249, 0x0258, 0x825d, 0x8257, 0x0252,
    0x0270, 0x8275, 0x827f, 0x027a, 0x826b, 0x026e, 0x0264, 0x8261,
    0x0220, 0x8225, 0x822f, 0x022a, 0x823b, 0x023e, 0x0234, 0x8231,
    0x8213, 0x0216, 0x021c, 0x8219, 0x0208, 0x820d, 0x8207, 0x0202
};


static const uint8_t  dualcam_flac_crc8_table[256] = {
    0x00, 0x07, 0x0e, 0x09, 0x1c, 0x1b, 0x12, 0x15,
    0x38, 0x3f, 0x36, 0x31, 0x24, 0x23, 0x2a, 0x2d,
    0x70, 0x77, 0x7e, 0x79, 0x6c, 0x6b, 0x62, 0x65,
    0x48, 0x4f, 0x46, 0x41, 0x54, 0x53, 0x5a, 0x5d,
    0xe0, 0xe7, 0xee, 0xe9, 0xfc, 0xfb, 0xf2, 0xf5,
    0xd8, 0xdf, 0xd6, 0xd1, 0xc4, 0xc3, 0xca, 0xcd,
    0x90, 0x97, 0x9e, 0x99, 0x8c, 0x8b, 0x82, 0x85,
    0xa8, 0xaf, 0xa6, 0xa1, 0xb4, 0xb3, 0xba, 0xbd,
    0xc7, 0xc0, 0xc9, 0xce, 0xdb, 0xdc, 0xd5, 0xd2,
    0xff, 0xf8, 0xf1, 0xf6, 0xe3, 0xe4, 0xed, 0xea,
    0xb7, 0xb0, 0xb9, 0xbe, 0xab, 0xac, 0xa5, 0xa2,
    0x8f, 0x88, 0x81, 0x86, 0x93, 0x94, 0x9d, 0x9a,
    0x27, 0x20, 0x29, 0x2e, 0x3b, 0x3c, 0x35, 0x32,
    0x1f, 0x18, 0x11, 0x16, 0x03, 0x04, 0x0d, 0x0a,
    0x57, 0x50, 0x59, 0x5e, 0x4b, 0x4c, 0x45, 0x42,
    0x6f, 0x68, 0x61, 0x66, 0x73, 0x74, 0x7d, 0x7a,
    0x89, 0x8e, 0x87, 0x80, 0x95, 0x92, 0x9b, 0x9c,
    0xb1, 0xb6, 0xbf, 0xb8, 0xad, 0xaa, 0xa3, 0xa4,
    0xf9, 0xfe, 0xf7, 0xf0, 0xe5, 0xe2, 0xeb, 0xec,
    0xc1, 0xc6, 0xcf, 0xc8, 0xdd, 0xda, 0xd3, 0xd4,
    0x69, 0x6e, 0x67, 0x60, 0x75, 0x72, 0x7b, 0x7c,
    0x51, 0x56, 0x5f, 0x58, 0x4d, 0x4a, 0x43, 0x44,
    0x19, 0x1e, 0x17, 0x10, 0x05, 0x02, 0x0b, 0x0c,
    0x21, 0x26, 0x2f, 0x28, 0x3d, 0x3a, 0x33, 0x34,
    0x4e, 0x49, 0x40, 0x47, 0x52, 0x55, 0x5c, 0x5b,
    0x76, 0x71, 0x78, 0x7f, 0x6a, 0x6d, 0x64, 0x63,
    0x3e, 0x39, 0x30, 0x37, 0x22, 0x25, 0x2c, 0x2b,
    0x06, 0x01, 0x08, 0x0f, 0x1a, 0x1d, 0x14, 0x13,
    0xae, 0xa9, 0xa0, 0xa7, 0xb2, 0xb5, 0xbc, 0xbb,
    0x96, 0x91, 0x98, 0x9f, 0x8a, 0x8d, 0x84, 0x83,
    0xde, 0xd9, 0xd0, 0xd7, 0xc2, 0xc5, 0xcc, 0xcb,
    0xe6, 0xe1, 0xe8, 0xef, 0xfa, 0xfd, 0xf4, 0xf3
};


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


/* n <= 32 bits; whole 32-bit words leave the accumulator */

static inline void
dualcam_bitw_put(dualcam_bitw_t *w, uint32_t v, unsigned n)
{
    uint32_t  word;

    w->acc = (w->acc << n) | (v & (((uint64_t) 1 << n) - 1));
    w->bits += n;

    if (w->bits >= 32) {
        w->bits -= 32;
        word = (uint32_t) (w->acc >> w->bits);
        w->p[0] = (unsigned char) (word >> 24);
        w->p[1] = (unsigned char) (word >> 16);
        w->p[2] = (unsigned char) (word >> 8);
        w->p[3] = (unsigned char) word;
        w->p += 4;
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


/* zero bits to the byte, and out with the rest */

static void
dualcam_bitw_flush(dualcam_bitw_t *w)
{
    if (w->bits & 7) {
        dualcam_bitw_put(w, 0, 8 - (w->bits & 7));
    }

    while (w->bits >= 8) {
        w->bits -= 8;
        *w->p++ = (unsigned char) (w->acc >> w->bits);
    }
}


/*
 * The fixed predictors of RFC 9639 9.2.5, a loop per order, on the PCM
 * (w wasted bits: every sample, so every residual, is a multiple of 2^w,
 * and the shift divides exactly); returns the sum of the folded residual
 */

#define dualcam_flac_fold(e)                                                 \
    (((uint32_t) (e) << 1) ^ (uint32_t) ((e) >> 31))

static uint64_t
dualcam_flac_residual(const int16_t *x, size_t n, unsigned order,
    unsigned w, int32_t *res)
{
    size_t    i;
    int32_t   e;
    uint64_t  sum;

    sum = 0;

    switch (order) {

    case 0:
        for (i = 0; i < n; i++) {
            e = x[i] >> w;
            res[i] = e;
            sum += dualcam_flac_fold(e);
        }
        break;

    case 1:
        for (i = 1; i < n; i++) {
            e = (x[i] - x[i - 1]) >> w;
            res[i] = e;
            sum += dualcam_flac_fold(e);
        }
        break;

    case 2:
        for (i = 2; i < n; i++) {
            e = (x[i] - 2 * x[i - 1] + x[i - 2]) >> w;
            res[i] = e;
            sum += dualcam_flac_fold(e);
        }
        break;

    case 3:
        for (i = 3; i < n; i++) {
            e = (x[i] - 3 * x[i - 1] + 3 * x[i - 2] - x[i - 3]) >> w;
            res[i] = e;
            sum += dualcam_flac_fold(e);
        }
        break;

    default:
        for (i = 4; i < n; i++) {
            e = (x[i] - 4 * x[i - 1] + 6 * x[i - 2] - 4 * x[i - 3]
                 + x[i - 4]) >> w;
            res[i] = e;
            sum += dualcam_flac_fold(e);
        }
    }

    return sum;
}


/*
 * One partition: the parameter from the mean of the folded residual
 * (RFC 9639 leaves the choice to the encoder), and the bits it takes
 */

static uint64_t
dualcam_flac_rice_bits(const int32_t *res, size_t n, uint64_t sum,
    unsigned *param)
{
    size_t    i;
    uint64_t  bits;
    unsigned  k;

    for (k = 0; k < DUALCAM_FLAC_RICE_MAX && ((uint64_t) n << (k + 1)) <= sum;
         k++)
    {
        /* void */
    }

    bits = (uint64_t) n * (k + 1);

    for (i = 0; i < n; i++) {
        bits += dualcam_flac_fold(res[i]) >> k;
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
dualcam_flac_choose(const int16_t *pcm, size_t n, int32_t *res,
    unsigned *wasted, unsigned *param)
{
    size_t    i;
    int32_t   e0, e1, e2, e3, e4, last[4];
    unsigned  w, bps, order, k, all, diff;
    uint64_t  err[5], b, sum;

    /*
     * One pass: which bits are always zero, whether all are the same,
     * and the residuals of every order from sample 4 on (on the PCM: a
     * shift by the wasted bits scales them all alike)
     */

    all = 0;
    diff = 0;
    err[0] = err[1] = err[2] = err[3] = err[4] = 0;

    for (i = 0; i < n && i < 4; i++) {
        all |= (uint16_t) pcm[i];
        diff |= (uint16_t) (pcm[i] ^ pcm[0]);
    }

    if (n > 4) {
        last[0] = pcm[3];
        last[1] = pcm[3] - pcm[2];
        last[2] = last[1] - (pcm[2] - pcm[1]);
        last[3] = last[2] - ((pcm[2] - pcm[1]) - (pcm[1] - pcm[0]));

        for (i = 4; i < n; i++) {
            e0 = pcm[i];
            all |= (uint16_t) e0;
            diff |= (uint16_t) (e0 ^ pcm[0]);

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

    if (diff == 0) {
        *wasted = 0;
        *param = 0;
        return DUALCAM_FLAC_CONSTANT;
    }

    for (w = 0; (all & 1) == 0; w++) {
        all >>= 1;
    }

    bps = 16 - w;
    order = 0;

    for (i = 1; i < 5; i++) {
        if (err[i] < err[order]) {
            order = i;
        }
    }

    sum = dualcam_flac_residual(pcm, n, order, w, res);

    /* warm-up, coding method, partition order, parameter, residual */
    b = (uint64_t) order * bps + 2 + 4 + 4
        + dualcam_flac_rice_bits(res + order, n - order, sum, &k);

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
    unsigned  crc;

    crc = 0;

    while (n--) {
        crc = dualcam_flac_crc8_table[crc ^ *p++];
    }

    return crc;
}


static unsigned
dualcam_crc16_flac(const unsigned char *p, size_t n)
{
    unsigned  crc;

    crc = 0;

    while (n--) {
        crc = ((crc << 8) & 0xffff)
              ^ dualcam_flac_crc16_table[(crc >> 8) ^ *p++];
    }

    return crc;
}


size_t
dualcam_flac_frame(unsigned char *buf, const int16_t *pcm, size_t n,
    uint64_t number, int variable)
{
    size_t          i, len;
    int32_t         res[DUALCAM_MP4_AUDIO_MAX];
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

    type = dualcam_flac_choose(pcm, n, res, &w, &k);

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

        /* res[] is what dualcam_flac_choose() left there */

        if (type == DUALCAM_FLAC_VERBATIM) {
            for (i = 0; i < n; i++) {
                dualcam_bitw_put(&bw, (uint32_t) (pcm[i] >> w), bps);
            }

        } else {
            for (i = 0; i < type; i++) {
                dualcam_bitw_put(&bw, (uint32_t) (pcm[i] >> w), bps);
            }

            /* Rice method 0, partition order 0 */
            dualcam_bitw_put(&bw, 0, 2 + 4);
            dualcam_bitw_put(&bw, k, 4);

            for (i = type; i < n; i++) {
                u = dualcam_flac_fold(res[i]);

                if ((u >> k) + 1 + k <= 32) {
                    /* the quotient's zeros, its one and the remainder */
                    dualcam_bitw_put(&bw, (1u << k) | (u & ((1u << k) - 1)),
                                     (u >> k) + 1 + k);

                } else {
                    dualcam_bitw_unary(&bw, u >> k);
                    dualcam_bitw_put(&bw, u, k);
                }
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
