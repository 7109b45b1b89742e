
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The remuxer's writer (see dualcam_mp4.h): once the planning pass has
 * seen everything, the timing of both tracks, the FLAC frames, the
 * layout of mdat and the moov that describes it (ISO/IEC 14496-12 and
 * -15; FLAC in ISO BMFF as the FLAC project specifies it); then the copy
 * pass, which writes ftyp, moov, and mdat: the NAL units with 4-byte
 * length prefixes, in input order, and the FLAC frames between them.
 *
 * Timing: PTMF records carry microseconds, so the video track (90 kHz)
 * has each frame's own duration (DualCam's alternate 66.6 and 33.4 ms)
 * and its last frame the average one; plain Annex B gets the configured
 * frame rate.  The audio track (8 kHz) starts where its first chunk's
 * time says (an empty edit before it), and each chunk lasts its samples
 * unless the next one comes more than half a chunk late (a lost chunk):
 * then the gap goes to the chunk before it, so sound stays in sync.
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dualcam_mp4_int.h"


#define DUALCAM_MP4_MOVIE_SCALE  1000


typedef struct {
    unsigned char            *p;       /* NULL: only measure */
    size_t                    len;
} dualcam_w_t;


static int dualcam_mp4_timing(dualcam_mp4_t *m, uint32_t **durations,
    uint64_t *duration);
static int dualcam_mp4_order(dualcam_mp4_t *m);
static int dualcam_mp4_order_cmp(const void *a, const void *b);
static int dualcam_mp4_audio(dualcam_mp4_t *m, uint64_t *offset_us,
    uint32_t **durations, uint64_t *duration);
static int dualcam_mp4_layout(dualcam_mp4_t *m, dualcam_mp4_array_t *vruns,
    dualcam_mp4_array_t *aruns);
static void dualcam_mp4_boxes(dualcam_mp4_t *m, dualcam_w_t *w,
    const uint32_t *vdur, uint64_t vduration, const uint32_t *adur,
    uint64_t aduration, uint64_t aoffset_us, dualcam_mp4_array_t *vruns,
    dualcam_mp4_array_t *aruns, int co64, uint64_t base);
static void dualcam_mp4_video_stsd(dualcam_mp4_t *m, dualcam_w_t *w);
static void dualcam_mp4_audio_stsd(dualcam_mp4_t *m, dualcam_w_t *w);
static void dualcam_mp4_runs(dualcam_w_t *w, const char *type,
    const uint32_t *d, size_t n);
static void dualcam_mp4_chunks(dualcam_w_t *w, dualcam_mp4_array_t *runs,
    int co64, uint64_t base);
static void dualcam_mp4_tkhd(dualcam_w_t *w, unsigned id, uint64_t duration,
    int audio, unsigned width, unsigned height);
static void dualcam_mp4_mdhd_hdlr(dualcam_w_t *w, unsigned scale,
    uint64_t duration, const char *type, const char *name);
static void dualcam_mp4_dinf(dualcam_w_t *w);
static size_t dualcam_w_begin(dualcam_w_t *w, const char *type);
static void dualcam_w_end(dualcam_w_t *w, size_t start);
static void dualcam_w_full(dualcam_w_t *w, unsigned version, unsigned flags);
static void dualcam_w8(dualcam_w_t *w, unsigned v);
static void dualcam_w16(dualcam_w_t *w, unsigned v);
static void dualcam_w32(dualcam_w_t *w, uint32_t v);
static void dualcam_w64(dualcam_w_t *w, uint64_t v);
static void dualcam_wbytes(dualcam_w_t *w, const void *p, size_t n);
static void dualcam_w_matrix(dualcam_w_t *w);
static size_t dualcam_mp4_put(dualcam_mp4_io_t *io, const unsigned char *p,
    size_t n);


dualcam_mp4_t *
dualcam_mp4_create(const dualcam_mp4_conf_t *conf)
{
    unsigned        i;
    dualcam_mp4_t  *m;

    m = calloc(1, sizeof(dualcam_mp4_t));
    if (m == NULL) {
        return NULL;
    }

    m->capture = malloc(DUALCAM_MP4_PS_MAX + 4);
    if (m->capture == NULL) {
        free(m);
        return NULL;
    }

    m->conf = *conf;

    for (i = 0; i < 256; i++) {
        m->pcm[DUALCAM_G711_ALAW][i] = (int16_t) dualcam_g711_alaw(i);
        m->pcm[DUALCAM_G711_ULAW][i] = (int16_t) dualcam_g711_ulaw(i);
        m->mag[i] = (uint64_t) abs(dualcam_g711_alaw(i))
                    | (uint64_t) abs(dualcam_g711_ulaw(i)) << 32;
    }

    if (m->conf.fps_num == 0 || m->conf.fps_den == 0) {
        m->conf.fps_num = 20;
        m->conf.fps_den = 1;
    }

    m->segs.size = sizeof(dualcam_mp4_seg_t);
    m->frames.size = sizeof(dualcam_mp4_frame_t);
    m->chunks.size = sizeof(dualcam_mp4_chunk_t);
    m->g711.size = 1;
    m->flac.size = 1;

    return m;
}


void
dualcam_mp4_destroy(dualcam_mp4_t *m)
{
    unsigned  i;

    if (m == NULL) {
        return;
    }

    for (i = 0; i < m->nps; i++) {
        free(m->ps[i].data);
    }

    free(m->segs.elts);
    free(m->frames.elts);
    free(m->chunks.elts);
    free(m->g711.elts);
    free(m->flac.elts);
    free(m->capture);
    free(m->moov);
    free(m->ctts);
    free(m);
}


int
dualcam_mp4_fail(dualcam_mp4_t *m, const char *fmt, ...)
{
    va_list  args;

    if (!m->failed) {
        va_start(args, fmt);
        vsnprintf(m->err, sizeof(m->err), fmt, args);
        va_end(args);
        m->failed = 1;
    }

    return DUALCAM_MP4_ERROR;
}


void *
dualcam_mp4_reserve(dualcam_mp4_t *m, dualcam_mp4_array_t *a, size_t n)
{
    void    *p;
    size_t   nalloc;

    if (a->nelts + n <= a->nalloc) {
        return (unsigned char *) a->elts + a->nelts * a->size;
    }

    if (a->size > 1 && a->nelts + n > DUALCAM_MP4_ENTRIES) {
        dualcam_mp4_fail(m, "more than %u NAL units, frames or chunks",
                         DUALCAM_MP4_ENTRIES);
        return NULL;
    }

    nalloc = a->nalloc ? 2 * a->nalloc : 64;

    while (nalloc < a->nelts + n) {
        nalloc *= 2;
    }

    p = realloc(a->elts, nalloc * a->size);
    if (p == NULL) {
        dualcam_mp4_fail(m, "out of memory");
        return NULL;
    }

    a->elts = p;
    a->nalloc = nalloc;

    return (unsigned char *) a->elts + a->nelts * a->size;
}


void *
dualcam_mp4_push(dualcam_mp4_t *m, dualcam_mp4_array_t *a)
{
    void  *p;

    p = dualcam_mp4_reserve(m, a, 1);

    if (p != NULL) {
        memset(p, 0, a->size);
        a->nelts++;
    }

    return p;
}


const char *
dualcam_mp4_error(dualcam_mp4_t *m)
{
    return m->failed ? m->err : NULL;
}


const dualcam_mp4_info_t *
dualcam_mp4_info(dualcam_mp4_t *m)
{
    return &m->info;
}


int
dualcam_mp4_is_mp4(const unsigned char *p, size_t n)
{
    return n >= 8 && memcmp(p + 4, "ftyp", 4) == 0;
}


int
dualcam_mp4_plan_end(dualcam_mp4_t *m)
{
    int                   rc, co64;
    size_t                i, j;
    uint32_t             *vdur, *adur;
    uint64_t              vduration, aduration, aoffset, total;
    dualcam_w_t           w;
    dualcam_mp4_array_t   vruns, aruns;
    dualcam_mp4_frame_t  *f;

    if (m->failed || m->ended) {
        return DUALCAM_MP4_ERROR;
    }

    m->ended = 1;
    m->info.input = m->pos + (m->detected ? 0 : m->hdr_len);

    if (dualcam_ptmf_end(m) != DUALCAM_MP4_OK) {
        return DUALCAM_MP4_ERROR;
    }

    if (m->frames.nelts == 0) {
        return dualcam_mp4_fail(m, "no key frame (IRAP picture) in %llu "
                                "frames", (unsigned long long) m->frames_seen);
    }

    for (i = 0, j = 0; i < m->nps; i++) {
        j |= 1u << (m->ps[i].type - 32);
    }

    if (j != 7 || !m->has_sps) {
        return dualcam_mp4_fail(m, "no %s in the stream",
                                !(j & 1) ? "VPS" : !(j & 2) ? "SPS" : "PPS");
    }

    f = m->frames.elts;

    for (i = 0; i < m->frames.nelts; i++) {
        m->info.key_frames += f[i].sync;
    }

    m->info.frames = m->frames.nelts;
    m->info.width = m->sps.width;
    m->info.height = m->sps.height;
    dualcam_hevc_codec(&m->sps, m->info.codec, sizeof(m->info.codec));

    vdur = NULL;
    adur = NULL;
    memset(&vruns, 0, sizeof(vruns));
    memset(&aruns, 0, sizeof(aruns));
    vruns.size = sizeof(dualcam_mp4_run_t);
    aruns.size = sizeof(dualcam_mp4_run_t);

    rc = DUALCAM_MP4_ERROR;
    vduration = 0;
    aduration = 0;
    aoffset = 0;

    if (dualcam_mp4_timing(m, &vdur, &vduration) != DUALCAM_MP4_OK
        || dualcam_mp4_audio(m, &aoffset, &adur, &aduration)
           != DUALCAM_MP4_OK
        || dualcam_mp4_layout(m, &vruns, &aruns) != DUALCAM_MP4_OK)
    {
        goto done;
    }

    /* measure with 32-bit offsets; 64-bit ones if the file needs them */

    for (co64 = 0; co64 < 2; co64++) {
        w.p = NULL;
        w.len = 0;
        dualcam_mp4_boxes(m, &w, vdur, vduration, adur, aduration, aoffset,
                          &vruns, &aruns, co64, 0);

        m->moov_len = w.len + ((8 + m->mdat_len > UINT32_MAX) ? 16 : 8);
        total = m->moov_len + m->mdat_len;

        if (total <= UINT32_MAX) {
            break;
        }
    }

    co64 = (co64 == 2) ? 1 : co64;

    m->moov = malloc(m->moov_len);
    if (m->moov == NULL) {
        dualcam_mp4_fail(m, "out of memory");
        goto done;
    }

    w.p = m->moov;
    w.len = 0;
    dualcam_mp4_boxes(m, &w, vdur, vduration, adur, aduration, aoffset,
                      &vruns, &aruns, co64, m->moov_len);

    /* the mdat header ends what is written from memory */

    if (8 + m->mdat_len > UINT32_MAX) {
        dualcam_w32(&w, 1);
        dualcam_wbytes(&w, "mdat", 4);
        dualcam_w64(&w, 16 + m->mdat_len);

    } else {
        dualcam_w32(&w, (uint32_t) (8 + m->mdat_len));
        dualcam_wbytes(&w, "mdat", 4);
    }

    m->info.size = m->moov_len + m->mdat_len;
    m->info.duration_us = (vduration * 1000000 + DUALCAM_MP4_TIMESCALE / 2)
                          / DUALCAM_MP4_TIMESCALE;

    rc = DUALCAM_MP4_OK;

done:

    free(vdur);
    free(adur);
    free(vruns.elts);
    free(aruns.elts);

    return rc;
}


/* the video track's sample durations at 90 kHz */

static int
dualcam_mp4_timing(dualcam_mp4_t *m, uint32_t **durations,
    uint64_t *duration)
{
    size_t                i, n;
    int64_t               t, next;
    uint32_t             *d;
    uint64_t              total;
    dualcam_mp4_frame_t  *f;

    n = m->frames.nelts;
    f = m->frames.elts;

    d = malloc(n * sizeof(uint32_t));
    if (d == NULL) {
        return dualcam_mp4_fail(m, "out of memory");
    }

    *durations = d;
    m->t0 = f[0].ts;

    if (m->info.container == DUALCAM_MP4_CONTAINER_ANNEXB) {

        for (i = 0; i < n; i++) {
            t = (int64_t) ((uint64_t) i * DUALCAM_MP4_TIMESCALE
                           * m->conf.fps_den / m->conf.fps_num);
            next = (int64_t) ((uint64_t) (i + 1) * DUALCAM_MP4_TIMESCALE
                              * m->conf.fps_den / m->conf.fps_num);
            d[i] = (uint32_t) (next - t);
        }

        *duration = (uint64_t) n * DUALCAM_MP4_TIMESCALE * m->conf.fps_den
                    / m->conf.fps_num;

        return dualcam_mp4_order(m);
    }

    total = 0;

    for (i = 0; i + 1 < n; i++) {
        t = ((f[i].ts - m->t0) * 9 + 50) / 100;
        next = ((f[i + 1].ts - m->t0) * 9 + 50) / 100;

        if (next <= t || next - t > UINT32_MAX) {
            return dualcam_mp4_fail(m, "frames %zu and %zu are %lld us apart",
                                    i, i + 1,
                                    (long long) (f[i + 1].ts - f[i].ts));
        }

        d[i] = (uint32_t) (next - t);
        total += d[i];
    }

    /* the last frame: as long as the average one */

    if (n > 1) {
        d[n - 1] = (uint32_t) ((total + (n - 1) / 2) / (n - 1));

    } else {
        d[0] = (uint32_t) ((uint64_t) DUALCAM_MP4_TIMESCALE * m->conf.fps_den
                           / m->conf.fps_num);
    }

    *duration = total + d[n - 1];

    return DUALCAM_MP4_OK;
}


/*
 * Plain Annex B with B-frames: each frame's place in presentation order
 * (coded video sequence, then picture order count) gives its composition
 * offset; the first one presented is shifted to time 0 by an edit list
 */

typedef struct {
    uint32_t  cvs;
    int32_t   poc;
    uint32_t  index;
} dualcam_mp4_order_t;


static int
dualcam_mp4_order_cmp(const void *a, const void *b)
{
    const dualcam_mp4_order_t  *x = a, *y = b;

    if (x->cvs != y->cvs) {
        return x->cvs < y->cvs ? -1 : 1;
    }

    if (x->poc != y->poc) {
        return x->poc < y->poc ? -1 : 1;
    }

    return x->index < y->index ? -1 : (x->index > y->index);
}


static int
dualcam_mp4_order(dualcam_mp4_t *m)
{
    size_t                i, n;
    int64_t               dts, pts, delay;
    uint64_t              scale, num;
    dualcam_mp4_order_t  *o;
    dualcam_mp4_frame_t  *f;

    n = m->frames.nelts;
    f = m->frames.elts;

    o = malloc(n * sizeof(dualcam_mp4_order_t));
    if (o == NULL) {
        return dualcam_mp4_fail(m, "out of memory");
    }

    for (i = 0; i < n; i++) {
        o[i].cvs = f[i].cvs;
        o[i].poc = f[i].poc;
        o[i].index = (uint32_t) i;
    }

    qsort(o, n, sizeof(dualcam_mp4_order_t), dualcam_mp4_order_cmp);

    for (i = 0; i < n && o[i].index == i; i++) { /* void */ }

    if (i == n) {
        free(o);
        return DUALCAM_MP4_OK;
    }

    m->ctts = malloc(n * sizeof(uint32_t));
    if (m->ctts == NULL) {
        free(o);
        return dualcam_mp4_fail(m, "out of memory");
    }

    scale = (uint64_t) DUALCAM_MP4_TIMESCALE * m->conf.fps_den;
    num = m->conf.fps_num;

    /* o[r].index is presented r-th: its offset, once all are >= 0 */

    delay = 0;

    for (i = 0; i < n; i++) {
        dts = (int64_t) (o[i].index * scale / num);
        pts = (int64_t) (i * scale / num);
        delay = (dts - pts > delay) ? dts - pts : delay;
    }

    for (i = 0; i < n; i++) {
        dts = (int64_t) (o[i].index * scale / num);
        pts = (int64_t) (i * scale / num);
        m->ctts[o[i].index] = (uint32_t) (pts + delay - dts);
    }

    m->ctts_delay = (uint32_t) delay;

    free(o);

    return DUALCAM_MP4_OK;
}


/*
 * The audio track: which G.711 law, which chunks (those before the first
 * video frame go, as the frames before it do), their durations, and the
 * FLAC frames.
 *
 * A-law or u-law is not in the records.  It is established from the
 * samples: G.711 puts the quietest codes next to each law's own zero
 * (A-law 0xd5/0x55, u-law 0xff/0x7f), and each law's quiet codes expand
 * to several hundred under the other law.  Cabin audio is mostly quiet,
 * so the law under which the track is quieter (the smaller sum of
 * magnitudes) is the one it was coded with.  The fixtures: -51 dB as
 * A-law, -33 dB as u-law.
 */

static int
dualcam_mp4_audio(dualcam_mp4_t *m, uint64_t *offset_us,
    uint32_t **durations, uint64_t *duration)
{
    size_t                i, k, n, kept, first;
    int16_t               pcm[DUALCAM_MP4_AUDIO_MAX];
    uint32_t             *d;
    uint64_t              number, pos, t, total, size_min, size_max;
    unsigned              block;
    unsigned char        *g, *out;
    dualcam_mp4_chunk_t  *c;

    n = m->chunks.nelts;
    c = m->chunks.elts;

    if (!m->conf.audio || n == 0) {
        return DUALCAM_MP4_OK;
    }

    m->info.g711 = (m->sum[DUALCAM_G711_ULAW] < m->sum[DUALCAM_G711_ALAW])
                   ? DUALCAM_G711_ULAW : DUALCAM_G711_ALAW;

    kept = 0;
    first = n;
    block = 0;
    m->variable = 0;

    for (i = 0; i < n; i++) {
        if (c[i].ts < m->t0) {
            c[i].drop = 1;
            m->info.audio_dropped++;
            continue;
        }

        if (first == n) {
            first = i;
            block = c[i].n;

        } else if (c[i].n != block && !(i == n - 1 && c[i].n < block)) {
            /* a fixed block size allows a shorter last block only */
            m->variable = 1;
        }

        kept++;
    }

    if (kept == 0) {
        return DUALCAM_MP4_OK;
    }

    d = malloc(n * sizeof(uint32_t));
    if (d == NULL) {
        return dualcam_mp4_fail(m, "out of memory");
    }

    *durations = d;
    *offset_us = (uint64_t) (c[first].ts - m->t0);

    pos = 0;
    number = 0;
    total = 0;
    size_min = UINT64_MAX;
    size_max = 0;
    k = 0;

    for (i = first; i < n; i++) {
        if (c[i].drop) {
            continue;
        }

        /* the next chunk's place by its time, in samples */

        d[k] = c[i].n;

        if (i + 1 < n) {
            t = (uint64_t) ((c[i + 1].ts - c[first].ts)
                            * DUALCAM_MP4_AUDIO_RATE + 500000) / 1000000;

            if (t > pos + c[i].n + c[i].n / 2 && t - pos <= UINT32_MAX) {
                d[k] = (uint32_t) (t - pos);
            }
        }

        pos += d[k];
        k++;

        g = (unsigned char *) m->g711.elts + c[i].g711;

        for (block = 0; block < c[i].n; block++) {
            pcm[block] = m->pcm[m->info.g711][g[block]];
        }

        out = dualcam_mp4_reserve(m, &m->flac, DUALCAM_FLAC_FRAME_MAX);
        if (out == NULL) {
            return DUALCAM_MP4_ERROR;
        }

        c[i].flac = m->flac.nelts;
        c[i].size = (uint32_t) dualcam_flac_frame(out, pcm, c[i].n,
                                                  m->variable ? total
                                                              : number,
                                                  m->variable);
        m->flac.nelts += c[i].size;

        size_min = (c[i].size < size_min) ? c[i].size : size_min;
        size_max = (c[i].size > size_max) ? c[i].size : size_max;

        number++;
        total += c[i].n;
    }

    *duration = pos;

    /* the FLAC frames are what the copy pass needs */
    free(m->g711.elts);
    m->g711.elts = NULL;
    m->g711.nelts = 0;
    m->g711.nalloc = 0;

    m->info.audio_rate = DUALCAM_MP4_AUDIO_RATE;
    m->info.audio_frames = kept;
    m->info.audio_samples = total;

    /* for STREAMINFO */
    m->frame_min = (uint32_t) size_min;
    m->frame_max = (uint32_t) size_max;

    return DUALCAM_MP4_OK;
}


/* mdat in input order: a chunk is a run of one track's samples */

static int
dualcam_mp4_layout(dualcam_mp4_t *m, dualcam_mp4_array_t *vruns,
    dualcam_mp4_array_t *aruns)
{
    int                   track, last;
    size_t                i;
    uint64_t              off, sample;
    dualcam_mp4_seg_t    *seg;
    dualcam_mp4_run_t    *run;
    dualcam_mp4_chunk_t  *c;

    seg = m->segs.elts;
    c = m->chunks.elts;

    off = 0;
    last = -1;
    run = NULL;
    sample = UINT64_MAX;

    for (i = 0; i < m->segs.nelts; i++) {

        if (seg[i].type == DUALCAM_SEG_AUDIO && c[seg[i].sample].drop) {
            seg[i].drop = 1;
        }

        if (seg[i].drop) {
            continue;
        }

        track = seg[i].type;

        if (track != last) {
            run = dualcam_mp4_push(m, track == DUALCAM_SEG_NAL ? vruns
                                                               : aruns);
            if (run == NULL) {
                return DUALCAM_MP4_ERROR;
            }

            run->off = off;
            last = track;
        }

        if (track == DUALCAM_SEG_NAL) {
            if (seg[i].sample != sample) {
                run->samples++;
                sample = seg[i].sample;
            }

            off += 4 + (uint64_t) seg[i].len;

        } else {
            run->samples++;
            off += c[seg[i].sample].size;
        }
    }

    m->mdat_len = off;

    return DUALCAM_MP4_OK;
}


static void
dualcam_mp4_boxes(dualcam_mp4_t *m, dualcam_w_t *w, const uint32_t *vdur,
    uint64_t vduration, const uint32_t *adur, uint64_t aduration,
    uint64_t aoffset_us, dualcam_mp4_array_t *vruns,
    dualcam_mp4_array_t *aruns, int co64, uint64_t base)
{
    int                   audio;
    size_t                i, moov, trak, mdia, minf, stbl, box, n;
    uint64_t              vms, ams, offms;
    dualcam_mp4_frame_t  *f;
    dualcam_mp4_chunk_t  *c;

    audio = (m->info.audio_frames > 0);
    f = m->frames.elts;
    c = m->chunks.elts;

    vms = (vduration * DUALCAM_MP4_MOVIE_SCALE + DUALCAM_MP4_TIMESCALE / 2)
          / DUALCAM_MP4_TIMESCALE;
    offms = (aoffset_us + 500) / 1000;
    ams = (aduration * DUALCAM_MP4_MOVIE_SCALE + DUALCAM_MP4_AUDIO_RATE / 2)
          / DUALCAM_MP4_AUDIO_RATE;

    box = dualcam_w_begin(w, "ftyp");
    dualcam_wbytes(w, "isom", 4);
    dualcam_w32(w, 0x200);
    dualcam_wbytes(w, "isomiso2mp41", 12);
    dualcam_w_end(w, box);

    moov = dualcam_w_begin(w, "moov");

    box = dualcam_w_begin(w, "mvhd");
    dualcam_w_full(w, 0, 0);
    dualcam_w32(w, 0);
    dualcam_w32(w, 0);
    dualcam_w32(w, DUALCAM_MP4_MOVIE_SCALE);
    dualcam_w32(w, (uint32_t) (audio && offms + ams > vms ? offms + ams
                                                          : vms));
    dualcam_w32(w, 0x00010000);
    dualcam_w16(w, 0x0100);
    dualcam_wbytes(w, "\0\0\0\0\0\0\0\0\0\0", 10);
    dualcam_w_matrix(w);

    for (i = 0; i < 6; i++) {
        dualcam_w32(w, 0);
    }

    dualcam_w32(w, audio ? 3 : 2);
    dualcam_w_end(w, box);

    /* the video track */

    trak = dualcam_w_begin(w, "trak");
    dualcam_mp4_tkhd(w, 1, vms, 0, m->info.width, m->info.height);

    if (m->ctts) {
        /* B-frames: presentation starts with the first frame shown */
        box = dualcam_w_begin(w, "edts");
        n = dualcam_w_begin(w, "elst");
        dualcam_w_full(w, 0, 0);
        dualcam_w32(w, 1);
        dualcam_w32(w, (uint32_t) vms);
        dualcam_w32(w, m->ctts_delay);
        dualcam_w32(w, 0x00010000);
        dualcam_w_end(w, n);
        dualcam_w_end(w, box);
    }

    mdia = dualcam_w_begin(w, "mdia");
    dualcam_mp4_mdhd_hdlr(w, DUALCAM_MP4_TIMESCALE, vduration, "vide",
                          "VideoHandler");

    minf = dualcam_w_begin(w, "minf");
    box = dualcam_w_begin(w, "vmhd");
    dualcam_w_full(w, 0, 1);
    dualcam_w16(w, 0);
    dualcam_w16(w, 0);
    dualcam_w16(w, 0);
    dualcam_w16(w, 0);
    dualcam_w_end(w, box);
    dualcam_mp4_dinf(w);

    stbl = dualcam_w_begin(w, "stbl");
    dualcam_mp4_video_stsd(m, w);
    dualcam_mp4_runs(w, "stts", vdur, m->frames.nelts);

    if (m->ctts) {
        dualcam_mp4_runs(w, "ctts", m->ctts, m->frames.nelts);
    }

    if (m->info.key_frames < m->info.frames) {
        box = dualcam_w_begin(w, "stss");
        dualcam_w_full(w, 0, 0);
        dualcam_w32(w, (uint32_t) m->info.key_frames);

        for (i = 0; i < m->frames.nelts; i++) {
            if (f[i].sync) {
                dualcam_w32(w, (uint32_t) (i + 1));
            }
        }

        dualcam_w_end(w, box);
    }

    box = dualcam_w_begin(w, "stsz");
    dualcam_w_full(w, 0, 0);
    dualcam_w32(w, 0);
    dualcam_w32(w, (uint32_t) m->frames.nelts);

    for (i = 0; i < m->frames.nelts; i++) {
        dualcam_w32(w, f[i].size);
    }

    dualcam_w_end(w, box);

    dualcam_mp4_chunks(w, vruns, co64, base);

    dualcam_w_end(w, stbl);
    dualcam_w_end(w, minf);
    dualcam_w_end(w, mdia);
    dualcam_w_end(w, trak);

    if (!audio) {
        dualcam_w_end(w, moov);
        return;
    }

    /* the audio track */

    trak = dualcam_w_begin(w, "trak");
    dualcam_mp4_tkhd(w, 2, offms + ams, 1, 0, 0);

    box = dualcam_w_begin(w, "edts");
    n = dualcam_w_begin(w, "elst");
    dualcam_w_full(w, 0, 0);
    dualcam_w32(w, offms ? 2 : 1);

    if (offms) {
        /* an empty edit: the sound starts when its first chunk did */
        dualcam_w32(w, (uint32_t) offms);
        dualcam_w32(w, 0xffffffff);
        dualcam_w32(w, 0x00010000);
    }

    dualcam_w32(w, (uint32_t) ams);
    dualcam_w32(w, 0);
    dualcam_w32(w, 0x00010000);
    dualcam_w_end(w, n);
    dualcam_w_end(w, box);

    mdia = dualcam_w_begin(w, "mdia");
    dualcam_mp4_mdhd_hdlr(w, DUALCAM_MP4_AUDIO_RATE, aduration, "soun",
                          "SoundHandler");

    minf = dualcam_w_begin(w, "minf");
    box = dualcam_w_begin(w, "smhd");
    dualcam_w_full(w, 0, 0);
    dualcam_w32(w, 0);
    dualcam_w_end(w, box);
    dualcam_mp4_dinf(w);

    stbl = dualcam_w_begin(w, "stbl");
    dualcam_mp4_audio_stsd(m, w);
    dualcam_mp4_runs(w, "stts", adur, m->info.audio_frames);

    box = dualcam_w_begin(w, "stsz");
    dualcam_w_full(w, 0, 0);
    dualcam_w32(w, 0);
    dualcam_w32(w, (uint32_t) m->info.audio_frames);

    for (i = 0; i < m->chunks.nelts; i++) {
        if (!c[i].drop) {
            dualcam_w32(w, c[i].size);
        }
    }

    dualcam_w_end(w, box);

    dualcam_mp4_chunks(w, aruns, co64, base);

    dualcam_w_end(w, stbl);
    dualcam_w_end(w, minf);
    dualcam_w_end(w, mdia);
    dualcam_w_end(w, trak);

    dualcam_w_end(w, moov);
}


/* hvc1 and its hvcC (ISO/IEC 14496-15 8.3.3.1) */

static void
dualcam_mp4_video_stsd(dualcam_mp4_t *m, dualcam_w_t *w)
{
    size_t               stsd, entry, hvcc, i;
    unsigned             type, count, arrays;
    dualcam_hevc_sps_t  *sps;

    sps = &m->sps;

    stsd = dualcam_w_begin(w, "stsd");
    dualcam_w_full(w, 0, 0);
    dualcam_w32(w, 1);

    entry = dualcam_w_begin(w, "hvc1");
    dualcam_wbytes(w, "\0\0\0\0\0\0", 6);
    dualcam_w16(w, 1);
    dualcam_wbytes(w, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
    dualcam_w16(w, m->info.width);
    dualcam_w16(w, m->info.height);
    dualcam_w32(w, 0x00480000);
    dualcam_w32(w, 0x00480000);
    dualcam_w32(w, 0);
    dualcam_w16(w, 1);
    dualcam_w8(w, 0);
    dualcam_wbytes(w, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
    dualcam_wbytes(w, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 15);
    dualcam_w16(w, 0x0018);
    dualcam_w16(w, 0xffff);

    hvcc = dualcam_w_begin(w, "hvcC");
    dualcam_w8(w, 1);
    dualcam_w8(w, sps->profile_space << 6 | sps->tier << 5
                  | sps->profile_idc);
    dualcam_w32(w, sps->compat);
    dualcam_w16(w, (unsigned) (sps->constraints >> 32));
    dualcam_w32(w, (uint32_t) sps->constraints);
    dualcam_w8(w, sps->level_idc);
    dualcam_w16(w, 0xf000);                  /* min_spatial_segmentation 0 */
    dualcam_w8(w, 0xfc);                     /* parallelismType unknown */
    dualcam_w8(w, 0xfc | sps->chroma_format_idc);
    dualcam_w8(w, 0xf8 | (sps->bit_depth_luma - 8));
    dualcam_w8(w, 0xf8 | (sps->bit_depth_chroma - 8));
    dualcam_w16(w, 0);                       /* avgFrameRate unknown */
    dualcam_w8(w, (sps->max_sub_layers & 7) << 3
                  | (sps->temporal_id_nesting & 1) << 2 | 3);

    arrays = 3;
    dualcam_w8(w, arrays);

    for (type = 32; type <= 34; type++) {
        count = 0;

        for (i = 0; i < m->nps; i++) {
            count += (m->ps[i].type == type);
        }

        dualcam_w8(w, 0x80 | type);          /* array_completeness */
        dualcam_w16(w, count);

        for (i = 0; i < m->nps; i++) {
            if (m->ps[i].type == type) {
                dualcam_w16(w, m->ps[i].len);
                dualcam_wbytes(w, m->ps[i].data, m->ps[i].len);
            }
        }
    }

    dualcam_w_end(w, hvcc);
    dualcam_w_end(w, entry);
    dualcam_w_end(w, stsd);
}


/* fLaC and its dfLa with STREAMINFO (FLAC in ISO BMFF, RFC 9639 8.2) */

static void
dualcam_mp4_audio_stsd(dualcam_mp4_t *m, dualcam_w_t *w)
{
    size_t                stsd, entry, dfla, i;
    unsigned              bmin, bmax;
    dualcam_mp4_chunk_t  *c;

    c = m->chunks.elts;
    bmin = DUALCAM_MP4_AUDIO_MAX;
    bmax = 0;

    for (i = 0; i < m->chunks.nelts; i++) {
        if (!c[i].drop) {
            bmin = (c[i].n < bmin) ? c[i].n : bmin;
            bmax = (c[i].n > bmax) ? c[i].n : bmax;
        }
    }

    if (!m->variable) {
        /* a shorter last block does not count */
        bmin = bmax;
    }

    stsd = dualcam_w_begin(w, "stsd");
    dualcam_w_full(w, 0, 0);
    dualcam_w32(w, 1);

    entry = dualcam_w_begin(w, "fLaC");
    dualcam_wbytes(w, "\0\0\0\0\0\0", 6);
    dualcam_w16(w, 1);
    dualcam_w32(w, 0);
    dualcam_w32(w, 0);
    dualcam_w16(w, 1);                       /* channels */
    dualcam_w16(w, 16);
    dualcam_w16(w, 0);
    dualcam_w16(w, 0);
    dualcam_w32(w, (uint32_t) DUALCAM_MP4_AUDIO_RATE << 16);

    dfla = dualcam_w_begin(w, "dfLa");
    dualcam_w_full(w, 0, 0);
    dualcam_w8(w, 0x80);                     /* the last block, STREAMINFO */
    dualcam_w8(w, 0);
    dualcam_w16(w, 34);
    dualcam_w16(w, bmin);
    dualcam_w16(w, bmax);
    dualcam_w8(w, m->frame_min >> 16);
    dualcam_w16(w, m->frame_min & 0xffff);
    dualcam_w8(w, m->frame_max >> 16);
    dualcam_w16(w, m->frame_max & 0xffff);

    /* 20 bits rate, 3 bits channels - 1, 5 bits bits - 1, 36 bits total */
    dualcam_w32(w, (uint32_t) DUALCAM_MP4_AUDIO_RATE << 12 | 0 << 9
                   | 15 << 4 | (uint32_t) (m->info.audio_samples >> 32));
    dualcam_w32(w, (uint32_t) m->info.audio_samples);
    dualcam_wbytes(w, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);  /* no MD5 */

    dualcam_w_end(w, dfla);
    dualcam_w_end(w, entry);
    dualcam_w_end(w, stsd);
}


/*
 * stts (durations) and ctts (composition offsets) share their form: a
 * run-length list of (count, value)
 */

static void
dualcam_mp4_runs(dualcam_w_t *w, const char *type, const uint32_t *d,
    size_t n)
{
    size_t  box, i, j, entries;

    entries = 0;

    for (i = 0; i < n; i = j) {
        for (j = i + 1; j < n && d[j] == d[i]; j++) { /* void */ }
        entries++;
    }

    box = dualcam_w_begin(w, type);
    dualcam_w_full(w, 0, 0);
    dualcam_w32(w, (uint32_t) entries);

    for (i = 0; i < n; i = j) {
        for (j = i + 1; j < n && d[j] == d[i]; j++) { /* void */ }
        dualcam_w32(w, (uint32_t) (j - i));
        dualcam_w32(w, d[i]);
    }

    dualcam_w_end(w, box);
}


/* stsc and stco (co64): base is where mdat's payload starts in the file */

static void
dualcam_mp4_chunks(dualcam_w_t *w, dualcam_mp4_array_t *runs, int co64,
    uint64_t base)
{
    size_t              box, i, entries;
    dualcam_mp4_run_t  *r;

    r = runs->elts;
    entries = 0;

    for (i = 0; i < runs->nelts; i++) {
        entries += (i == 0 || r[i].samples != r[i - 1].samples);
    }

    box = dualcam_w_begin(w, "stsc");
    dualcam_w_full(w, 0, 0);
    dualcam_w32(w, (uint32_t) entries);

    for (i = 0; i < runs->nelts; i++) {
        if (i == 0 || r[i].samples != r[i - 1].samples) {
            dualcam_w32(w, (uint32_t) (i + 1));
            dualcam_w32(w, r[i].samples);
            dualcam_w32(w, 1);
        }
    }

    dualcam_w_end(w, box);

    box = dualcam_w_begin(w, co64 ? "co64" : "stco");
    dualcam_w_full(w, 0, 0);
    dualcam_w32(w, (uint32_t) runs->nelts);

    for (i = 0; i < runs->nelts; i++) {
        if (co64) {
            dualcam_w64(w, base + r[i].off);

        } else {
            dualcam_w32(w, (uint32_t) (base + r[i].off));
        }
    }

    dualcam_w_end(w, box);
}


static void
dualcam_mp4_tkhd(dualcam_w_t *w, unsigned id, uint64_t duration, int audio,
    unsigned width, unsigned height)
{
    size_t  box;

    box = dualcam_w_begin(w, "tkhd");
    dualcam_w_full(w, 0, 3);                 /* enabled, in the movie */
    dualcam_w32(w, 0);
    dualcam_w32(w, 0);
    dualcam_w32(w, id);
    dualcam_w32(w, 0);
    dualcam_w32(w, (uint32_t) duration);
    dualcam_w32(w, 0);
    dualcam_w32(w, 0);
    dualcam_w16(w, 0);
    dualcam_w16(w, audio ? 1 : 0);           /* alternate group */
    dualcam_w16(w, audio ? 0x0100 : 0);
    dualcam_w16(w, 0);
    dualcam_w_matrix(w);
    dualcam_w32(w, (uint32_t) width << 16);
    dualcam_w32(w, (uint32_t) height << 16);
    dualcam_w_end(w, box);
}


static void
dualcam_mp4_mdhd_hdlr(dualcam_w_t *w, unsigned scale, uint64_t duration,
    const char *type, const char *name)
{
    size_t  box;

    box = dualcam_w_begin(w, "mdhd");

    if (duration > UINT32_MAX) {
        dualcam_w_full(w, 1, 0);
        dualcam_w64(w, 0);
        dualcam_w64(w, 0);
        dualcam_w32(w, scale);
        dualcam_w64(w, duration);

    } else {
        dualcam_w_full(w, 0, 0);
        dualcam_w32(w, 0);
        dualcam_w32(w, 0);
        dualcam_w32(w, scale);
        dualcam_w32(w, (uint32_t) duration);
    }

    dualcam_w16(w, 0x55c4);                  /* "und" */
    dualcam_w16(w, 0);
    dualcam_w_end(w, box);

    box = dualcam_w_begin(w, "hdlr");
    dualcam_w_full(w, 0, 0);
    dualcam_w32(w, 0);
    dualcam_wbytes(w, type, 4);
    dualcam_w32(w, 0);
    dualcam_w32(w, 0);
    dualcam_w32(w, 0);
    dualcam_wbytes(w, name, strlen(name) + 1);
    dualcam_w_end(w, box);
}


static void
dualcam_mp4_dinf(dualcam_w_t *w)
{
    size_t  dinf, dref, url;

    dinf = dualcam_w_begin(w, "dinf");
    dref = dualcam_w_begin(w, "dref");
    dualcam_w_full(w, 0, 0);
    dualcam_w32(w, 1);
    url = dualcam_w_begin(w, "url ");
    dualcam_w_full(w, 0, 1);                 /* the data is in this file */
    dualcam_w_end(w, url);
    dualcam_w_end(w, dref);
    dualcam_w_end(w, dinf);
}


static size_t
dualcam_w_begin(dualcam_w_t *w, const char *type)
{
    size_t  start;

    start = w->len;
    dualcam_w32(w, 0);
    dualcam_wbytes(w, type, 4);

    return start;
}


static void
dualcam_w_end(dualcam_w_t *w, size_t start)
{
    size_t  len;

    if (w->p) {
        len = w->len - start;
        w->p[start] = (unsigned char) (len >> 24);
        w->p[start + 1] = (unsigned char) (len >> 16);
        w->p[start + 2] = (unsigned char) (len >> 8);
        w->p[start + 3] = (unsigned char) len;
    }
}


static void
dualcam_w_full(dualcam_w_t *w, unsigned version, unsigned flags)
{
    dualcam_w32(w, (uint32_t) version << 24 | flags);
}


static void
dualcam_w8(dualcam_w_t *w, unsigned v)
{
    if (w->p) {
        w->p[w->len] = (unsigned char) v;
    }

    w->len++;
}


static void
dualcam_w16(dualcam_w_t *w, unsigned v)
{
    dualcam_w8(w, v >> 8);
    dualcam_w8(w, v);
}


static void
dualcam_w32(dualcam_w_t *w, uint32_t v)
{
    dualcam_w16(w, v >> 16);
    dualcam_w16(w, v & 0xffff);
}


static void
dualcam_w64(dualcam_w_t *w, uint64_t v)
{
    dualcam_w32(w, (uint32_t) (v >> 32));
    dualcam_w32(w, (uint32_t) v);
}


static void
dualcam_wbytes(dualcam_w_t *w, const void *p, size_t n)
{
    if (w->p) {
        memcpy(w->p + w->len, p, n);
    }

    w->len += n;
}


static void
dualcam_w_matrix(dualcam_w_t *w)
{
    dualcam_w32(w, 0x00010000);
    dualcam_w32(w, 0);
    dualcam_w32(w, 0);
    dualcam_w32(w, 0);
    dualcam_w32(w, 0x00010000);
    dualcam_w32(w, 0);
    dualcam_w32(w, 0);
    dualcam_w32(w, 0);
    dualcam_w32(w, 0x40000000);
}


/* the copy pass */

static size_t
dualcam_mp4_put(dualcam_mp4_io_t *io, const unsigned char *p, size_t n)
{
    n = (n < io->out_len) ? n : io->out_len;

    memcpy(io->out, p, n);
    io->out += n;
    io->out_len -= n;

    return n;
}


int
dualcam_mp4_copy(dualcam_mp4_t *m, dualcam_mp4_io_t *io)
{
    size_t                n;
    uint64_t              skip;
    dualcam_mp4_seg_t    *seg;
    dualcam_mp4_chunk_t  *c;

    if (m->failed || m->moov == NULL) {
        return dualcam_mp4_fail(m, "the copy pass before a complete plan");
    }

    if (m->moov_done < m->moov_len) {
        m->moov_done += dualcam_mp4_put(io, m->moov + m->moov_done,
                                        m->moov_len - m->moov_done);

        if (m->moov_done < m->moov_len) {
            return DUALCAM_MP4_AGAIN;
        }
    }

    seg = m->segs.elts;
    c = m->chunks.elts;

    while (m->seg < m->segs.nelts) {

        if (seg[m->seg].drop) {
            m->seg++;
            continue;
        }

        if (io->out_len == 0) {
            return DUALCAM_MP4_AGAIN;
        }

        if (seg[m->seg].type == DUALCAM_SEG_AUDIO) {

            /* made by the planning pass: no input needed */

            c = (dualcam_mp4_chunk_t *) m->chunks.elts + seg[m->seg].sample;

            m->seg_done += dualcam_mp4_put(io, (unsigned char *) m->flac.elts
                                               + c->flac + m->seg_done,
                                           c->size - m->seg_done);

            if (m->seg_done < c->size) {
                return DUALCAM_MP4_AGAIN;
            }

            m->seg++;
            m->seg_done = 0;
            continue;
        }

        if (m->prefix_done < 4) {
            m->prefix[0] = (unsigned char) (seg[m->seg].len >> 24);
            m->prefix[1] = (unsigned char) (seg[m->seg].len >> 16);
            m->prefix[2] = (unsigned char) (seg[m->seg].len >> 8);
            m->prefix[3] = (unsigned char) seg[m->seg].len;

            m->prefix_done += dualcam_mp4_put(io, m->prefix + m->prefix_done,
                                              4 - m->prefix_done);
            continue;
        }

        /* the input up to the NAL unit is not copied */

        if (io->in_len == 0) {
            return DUALCAM_MP4_AGAIN;
        }

        if (m->in_pos < seg[m->seg].off + m->seg_done) {
            skip = seg[m->seg].off + m->seg_done - m->in_pos;
            n = (skip < io->in_len) ? (size_t) skip : io->in_len;

            io->in += n;
            io->in_len -= n;
            m->in_pos += n;
            continue;
        }

        if (m->in_pos > seg[m->seg].off + m->seg_done) {
            return dualcam_mp4_fail(m, "the copy pass got input out of order");
        }

        n = seg[m->seg].len - m->seg_done;
        n = (n < io->in_len) ? n : io->in_len;
        n = dualcam_mp4_put(io, io->in, n);

        io->in += n;
        io->in_len -= n;
        m->in_pos += n;
        m->seg_done += n;

        if (m->seg_done == seg[m->seg].len) {
            m->seg++;
            m->seg_done = 0;
            m->prefix_done = 0;
        }
    }

    return DUALCAM_MP4_DONE;
}


size_t
dualcam_mp4_json(const dualcam_mp4_info_t *info, char *buf, size_t size)
{
    int  n;

    n = snprintf(buf, size,
                 "\"container\": \"%s\", \"size\": %llu, "
                 "\"codec\": \"%s\", \"width\": %u, \"height\": %u, "
                 "\"frames\": %llu, \"key_frames\": %llu, "
                 "\"duration\": %.3f, \"fps\": %.3f, \"dropped\": %llu",
                 info->container == DUALCAM_MP4_CONTAINER_PTMF ? "ptmf"
                                                               : "annexb",
                 (unsigned long long) info->size, info->codec,
                 info->width, info->height,
                 (unsigned long long) info->frames,
                 (unsigned long long) info->key_frames,
                 info->duration_us / 1e6,
                 info->duration_us
                 ? info->frames * 1e6 / info->duration_us : 0.0,
                 (unsigned long long) info->dropped);

    if (n < 0 || (size_t) n >= size) {
        return 0;
    }

    if (info->audio_rate == 0) {
        return (size_t) n + snprintf(buf + n, size - n,
                                     ", \"audio\": null");
    }

    return (size_t) n + snprintf(buf + n, size - n,
                 ", \"audio\": {\"codec\": \"flac\", \"source\": \"%s\", "
                 "\"sample_rate\": %u, \"channels\": 1, \"samples\": %llu, "
                 "\"frames\": %llu, \"dropped\": %llu}",
                 info->g711 == DUALCAM_G711_ALAW ? "pcm_alaw" : "pcm_mulaw",
                 info->audio_rate,
                 (unsigned long long) info->audio_samples,
                 (unsigned long long) info->audio_frames,
                 (unsigned long long) info->audio_dropped);
}
