
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * H.265 parameter sets, as far as an hvcC and the sample tables need
 * them (ITU-T H.265 7.3.2.2, 7.3.3): the SPS's profile, tier and level,
 * chroma format, bit depths, picture size and conformance window, and
 * whether pictures are reordered.  Everything is read from the RBSP
 * (emulation prevention bytes removed) with bounds checks: a short or
 * inconsistent SPS is refused with a reason.
 */


#include <stdio.h>
#include <string.h>

#include "dualcam_mp4.h"


typedef struct {
    const unsigned char  *p;
    size_t                n;       /* bytes */
    size_t                pos;     /* bits */
    int                   over;    /* read past the end */
} dualcam_bits_t;


static size_t dualcam_hevc_rbsp(unsigned char *dst, const unsigned char *src,
    size_t n);
static uint32_t dualcam_bits_u(dualcam_bits_t *b, unsigned n);
static uint32_t dualcam_bits_ue(dualcam_bits_t *b);
static void dualcam_bits_skip(dualcam_bits_t *b, size_t n);
static uint32_t dualcam_reverse32(uint32_t v);


/* without emulation prevention bytes (00 00 03 -> 00 00) */

static size_t
dualcam_hevc_rbsp(unsigned char *dst, const unsigned char *src, size_t n)
{
    size_t  i, k, zeros;

    zeros = 0;

    for (i = 0, k = 0; i < n; i++) {

        if (zeros >= 2 && src[i] == 3) {
            zeros = 0;
            continue;
        }

        zeros = (src[i] == 0) ? zeros + 1 : 0;
        dst[k++] = src[i];
    }

    return k;
}


static uint32_t
dualcam_bits_u(dualcam_bits_t *b, unsigned n)
{
    uint32_t  v;

    v = 0;

    while (n--) {
        if (b->pos >= 8 * b->n) {
            b->over = 1;
            return 0;
        }

        v = (v << 1) | ((b->p[b->pos >> 3] >> (7 - (b->pos & 7))) & 1);
        b->pos++;
    }

    return v;
}


/* Exp-Golomb; more than 31 leading zeros cannot be a valid value here */

static uint32_t
dualcam_bits_ue(dualcam_bits_t *b)
{
    unsigned  zeros;

    zeros = 0;

    while (dualcam_bits_u(b, 1) == 0) {
        if (b->over || ++zeros > 31) {
            b->over = 1;
            return 0;
        }
    }

    return ((1u << zeros) - 1) + dualcam_bits_u(b, zeros);
}


static void
dualcam_bits_skip(dualcam_bits_t *b, size_t n)
{
    b->pos += n;

    if (b->pos > 8 * b->n) {
        b->over = 1;
    }
}


int
dualcam_hevc_parse_sps(const unsigned char *nal, size_t n,
    dualcam_hevc_sps_t *sps, char *err, size_t err_size)
{
    unsigned        i, sub_profile[8], sub_level[8], sub_w, sub_h;
    uint32_t        left, right, top, bottom, first;
    unsigned char   rbsp[DUALCAM_MP4_PS_MAX];
    dualcam_bits_t  b;

    memset(sps, 0, sizeof(dualcam_hevc_sps_t));

    if (n < 2 || n > DUALCAM_MP4_PS_MAX) {
        snprintf(err, err_size, "an SPS of %zu bytes", n);
        return -1;
    }

    b.p = rbsp;
    b.n = dualcam_hevc_rbsp(rbsp, nal + 2, n - 2);
    b.pos = 0;
    b.over = 0;

    sps->vps_id = dualcam_bits_u(&b, 4);
    sps->max_sub_layers = dualcam_bits_u(&b, 3) + 1;
    sps->temporal_id_nesting = dualcam_bits_u(&b, 1);

    if (sps->max_sub_layers > 7) {
        snprintf(err, err_size, "an SPS with %u sub-layers",
                 sps->max_sub_layers);
        return -1;
    }

    /* profile_tier_level(1, sps_max_sub_layers_minus1), 7.3.3 */

    sps->profile_space = dualcam_bits_u(&b, 2);
    sps->tier = dualcam_bits_u(&b, 1);
    sps->profile_idc = dualcam_bits_u(&b, 5);
    sps->compat = dualcam_bits_u(&b, 32);
    sps->constraints = (uint64_t) dualcam_bits_u(&b, 16) << 32;
    sps->constraints |= dualcam_bits_u(&b, 32);
    sps->level_idc = dualcam_bits_u(&b, 8);

    for (i = 0; i + 1 < sps->max_sub_layers; i++) {
        sub_profile[i] = dualcam_bits_u(&b, 1);
        sub_level[i] = dualcam_bits_u(&b, 1);
    }

    if (sps->max_sub_layers > 1) {
        for (i = sps->max_sub_layers - 1; i < 8; i++) {
            dualcam_bits_skip(&b, 2);
        }
    }

    for (i = 0; i + 1 < sps->max_sub_layers; i++) {
        if (sub_profile[i]) {
            dualcam_bits_skip(&b, 88);
        }

        if (sub_level[i]) {
            dualcam_bits_skip(&b, 8);
        }
    }

    sps->sps_id = dualcam_bits_ue(&b);
    sps->chroma_format_idc = dualcam_bits_ue(&b);

    if (sps->chroma_format_idc == 3) {
        sps->separate_colour_plane = dualcam_bits_u(&b, 1);
    }

    sps->coded_width = dualcam_bits_ue(&b);
    sps->coded_height = dualcam_bits_ue(&b);

    left = right = top = bottom = 0;

    if (dualcam_bits_u(&b, 1)) {
        left = dualcam_bits_ue(&b);
        right = dualcam_bits_ue(&b);
        top = dualcam_bits_ue(&b);
        bottom = dualcam_bits_ue(&b);
    }

    sps->bit_depth_luma = dualcam_bits_ue(&b) + 8;
    sps->bit_depth_chroma = dualcam_bits_ue(&b) + 8;
    sps->log2_max_poc_lsb = dualcam_bits_ue(&b) + 4;

    /* the highest sub-layer's values are the ones that matter */

    first = dualcam_bits_u(&b, 1) ? 0 : sps->max_sub_layers - 1;

    for (i = first; i < sps->max_sub_layers; i++) {
        (void) dualcam_bits_ue(&b);
        sps->max_num_reorder = dualcam_bits_ue(&b);
        (void) dualcam_bits_ue(&b);
    }

    if (b.over) {
        snprintf(err, err_size, "the SPS (%zu bytes) ends early", n);
        return -1;
    }

    if (sps->sps_id > 15 || sps->chroma_format_idc > 3
        || sps->bit_depth_luma > 16 || sps->bit_depth_chroma > 16
        || sps->log2_max_poc_lsb > 16)
    {
        snprintf(err, err_size, "an SPS with invalid values (id %u, "
                 "chroma format %u, bit depth %u/%u)", sps->sps_id,
                 sps->chroma_format_idc, sps->bit_depth_luma,
                 sps->bit_depth_chroma);
        return -1;
    }

    if (sps->coded_width == 0 || sps->coded_height == 0
        || sps->coded_width > 16888 || sps->coded_height > 16888)
    {
        snprintf(err, err_size, "an SPS with a picture of %ux%u",
                 sps->coded_width, sps->coded_height);
        return -1;
    }

    /* the conformance window is in chroma samples (Table 6-1) */

    sub_w = (sps->chroma_format_idc == 1 || sps->chroma_format_idc == 2)
            && !sps->separate_colour_plane ? 2 : 1;
    sub_h = (sps->chroma_format_idc == 1) && !sps->separate_colour_plane
            ? 2 : 1;

    if ((uint64_t) (left + right) * sub_w >= sps->coded_width
        || (uint64_t) (top + bottom) * sub_h >= sps->coded_height)
    {
        snprintf(err, err_size, "an SPS whose conformance window leaves "
                 "no picture");
        return -1;
    }

    sps->width = sps->coded_width - (left + right) * sub_w;
    sps->height = sps->coded_height - (top + bottom) * sub_h;

    return 0;
}


int
dualcam_hevc_pps_id(const unsigned char *nal, size_t n)
{
    uint32_t        id;
    unsigned char   rbsp[8];
    dualcam_bits_t  b;

    if (n < 3) {
        return -1;
    }

    n = (n - 2 < sizeof(rbsp)) ? n - 2 : sizeof(rbsp);

    b.p = rbsp;
    b.n = dualcam_hevc_rbsp(rbsp, nal + 2, n);
    b.pos = 0;
    b.over = 0;

    id = dualcam_bits_ue(&b);

    return (b.over || id > 63) ? -1 : (int) id;
}


int
dualcam_hevc_parse_pps(const unsigned char *nal, size_t n, unsigned *pps_id,
    dualcam_hevc_slice_ctx_t *ctx)
{
    unsigned char   rbsp[16];
    dualcam_bits_t  b;

    if (n < 3) {
        return -1;
    }

    n = (n - 2 < sizeof(rbsp)) ? n - 2 : sizeof(rbsp);

    b.p = rbsp;
    b.n = dualcam_hevc_rbsp(rbsp, nal + 2, n);
    b.pos = 0;
    b.over = 0;

    memset(ctx, 0, sizeof(dualcam_hevc_slice_ctx_t));

    *pps_id = dualcam_bits_ue(&b);
    ctx->sps_id = dualcam_bits_ue(&b);
    ctx->dependent_slices = dualcam_bits_u(&b, 1);
    ctx->output_flag = dualcam_bits_u(&b, 1);
    ctx->extra_bits = dualcam_bits_u(&b, 3);

    return (b.over || *pps_id > 63 || ctx->sps_id > 15) ? -1 : 0;
}


/* 7.3.6.1: first_slice_segment_in_pic_flag, no_output_of_prior_pics */

static void
dualcam_hevc_slice_start(dualcam_bits_t *b, const unsigned char *nal,
    unsigned char *rbsp, size_t size, size_t n)
{
    unsigned  type;

    type = (nal[0] >> 1) & 0x3f;

    n = (n - 2 < size) ? n - 2 : size;

    b->p = rbsp;
    b->n = dualcam_hevc_rbsp(rbsp, nal + 2, n);
    b->pos = 0;
    b->over = 0;

    (void) dualcam_bits_u(b, 1);

    if (type >= 16 && type <= 23) {
        (void) dualcam_bits_u(b, 1);
    }
}


int
dualcam_hevc_slice_pps_id(const unsigned char *nal, size_t n)
{
    uint32_t        id;
    unsigned char   rbsp[32];
    dualcam_bits_t  b;

    if (n < 3) {
        return -1;
    }

    dualcam_hevc_slice_start(&b, nal, rbsp, sizeof(rbsp), n);
    id = dualcam_bits_ue(&b);

    return (b.over || id > 63) ? -1 : (int) id;
}


int
dualcam_hevc_slice_poc_lsb(const unsigned char *nal, size_t n,
    const dualcam_hevc_slice_ctx_t *ctx, uint32_t *lsb)
{
    unsigned        type;
    unsigned char   rbsp[32];
    dualcam_bits_t  b;

    if (n < 3) {
        return -1;
    }

    type = (nal[0] >> 1) & 0x3f;

    dualcam_hevc_slice_start(&b, nal, rbsp, sizeof(rbsp), n);

    (void) dualcam_bits_ue(&b);                 /* slice_pic_parameter_set */
    dualcam_bits_skip(&b, ctx->extra_bits);     /* slice_reserved_flag */
    (void) dualcam_bits_ue(&b);                 /* slice_type */

    if (ctx->output_flag) {
        (void) dualcam_bits_u(&b, 1);
    }

    if (ctx->separate_colour_plane) {
        (void) dualcam_bits_u(&b, 2);
    }

    *lsb = (type == 19 || type == 20) ? 0
                                      : dualcam_bits_u(&b, ctx->poc_bits);

    return b.over ? -1 : 0;
}


static uint32_t
dualcam_reverse32(uint32_t v)
{
    unsigned  i;
    uint32_t  r;

    r = 0;

    for (i = 0; i < 32; i++) {
        r = (r << 1) | ((v >> i) & 1);
    }

    return r;
}


/*
 * RFC 6381 with ISO/IEC 14496-15 Annex E: hvc1.[A-C]<profile>.<compat,
 * bit-reversed, hex>.<L|H><level>[.<constraint byte, hex>...], trailing
 * zero constraint bytes left out
 */

void
dualcam_hevc_codec(const dualcam_hevc_sps_t *sps, char *buf, size_t size)
{
    int       len, last, i;
    unsigned  byte;

    len = snprintf(buf, size, "hvc1.%s%u.%X.%c%u",
                   sps->profile_space == 0 ? ""
                   : sps->profile_space == 1 ? "A"
                   : sps->profile_space == 2 ? "B" : "C",
                   sps->profile_idc, dualcam_reverse32(sps->compat),
                   sps->tier ? 'H' : 'L', sps->level_idc);

    last = -1;

    for (i = 0; i < 6; i++) {
        if ((sps->constraints >> (40 - 8 * i)) & 0xff) {
            last = i;
        }
    }

    for (i = 0; i <= last && len > 0 && (size_t) len < size; i++) {
        byte = (sps->constraints >> (40 - 8 * i)) & 0xff;
        len += snprintf(buf + len, size - len, ".%X", byte);
    }
}
