
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The remuxer's planning pass: what a recording holds.  A DualCam sends
 * PTMF records (a 36-byte header, then the payload; see PROTOCOL.md
 * section 9): "I" and "P" hold an access unit
 * as H.265 Annex B, "A" a G.711 chunk.  Older firmware sends plain
 * Annex B.  The records are parsed by their lengths and anything
 * inconsistent is refused with a reason; the NAL units are found by
 * their start codes (memchr() for the 01 of 00 00 01, so the pass runs
 * at memory speed) and grouped into access units (H.265 7.4.2.4.4).
 * Input may be split anywhere.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dualcam_mp4_int.h"


#define dualcam_ptmf_le32(p)                                                 \
    ((uint32_t) (p)[0] | (uint32_t) (p)[1] << 8 | (uint32_t) (p)[2] << 16    \
     | (uint32_t) (p)[3] << 24)

#define DUALCAM_HEVC_VPS   32
#define DUALCAM_HEVC_SPS   33
#define DUALCAM_HEVC_PPS   34


static int dualcam_ptmf_detect(dualcam_mp4_t *m, int end);
static int dualcam_ptmf_feed(dualcam_mp4_t *m, const unsigned char *p,
    size_t n);
static int dualcam_ptmf_header(dualcam_mp4_t *m);
static int dualcam_ptmf_record_end(dualcam_mp4_t *m);
static void dualcam_ptmf_audio_bytes(dualcam_mp4_t *m,
    const unsigned char *p, size_t n);
static int dualcam_ptmf_audio(dualcam_mp4_t *m);
static int dualcam_nal_scan(dualcam_mp4_t *m, const unsigned char *p,
    size_t n, uint64_t base);
static int dualcam_nal_data(dualcam_mp4_t *m, const unsigned char *p,
    size_t n, uint64_t off);
static int dualcam_nal_region_end(dualcam_mp4_t *m, uint64_t end);
static int dualcam_nal_end(dualcam_mp4_t *m, uint64_t off, uint64_t len);
static int dualcam_nal_ps(dualcam_mp4_t *m, unsigned type, uint64_t off,
    size_t len);
static int dualcam_nal_poc(dualcam_mp4_t *m, unsigned type, uint64_t off,
    uint64_t len);
static int dualcam_au_close(dualcam_mp4_t *m, int64_t ts);


static const char  *dualcam_ps_names[] = { "VPS", "SPS", "PPS" };


int
dualcam_mp4_plan(dualcam_mp4_t *m, const unsigned char *p, size_t n)
{
    size_t  k;

    if (m->failed) {
        return DUALCAM_MP4_ERROR;
    }

    if (!m->detected) {

        /* the first 8 bytes tell PTMF, Annex B and an MP4's ftyp apart */

        k = 8 - m->hdr_len;
        k = (n < k) ? n : k;

        memcpy(m->hdr + m->hdr_len, p, k);
        m->hdr_len += k;
        p += k;
        n -= k;

        if (m->hdr_len < 8) {
            return DUALCAM_MP4_OK;
        }

        if (dualcam_ptmf_detect(m, 0) != DUALCAM_MP4_OK) {
            return DUALCAM_MP4_ERROR;
        }
    }

    return dualcam_ptmf_feed(m, p, n);
}


static int
dualcam_ptmf_detect(dualcam_mp4_t *m, int end)
{
    size_t         n;
    unsigned char  head[8];

    n = m->hdr_len;
    memcpy(head, m->hdr, n);

    m->detected = 1;
    m->hdr_len = 0;

    if (end && n > 0 && n < 4 && memcmp(head, "PTMF", n) == 0) {
        return dualcam_mp4_fail(m, "the file ends in the header of record "
                                "0 at byte 0 (%zu of %u bytes)", n,
                                DUALCAM_PTMF_HEADER_LEN);
    }

    if (n >= 4 && memcmp(head, "PTMF", 4) == 0) {
        m->info.container = DUALCAM_MP4_CONTAINER_PTMF;

    } else if (dualcam_mp4_is_mp4(head, n)) {
        return dualcam_mp4_fail(m, "already an MP4 (an ftyp box first)");

    } else if (n > 0 && head[0] == 0) {
        m->info.container = DUALCAM_MP4_CONTAINER_ANNEXB;

    } else if (n == 0 && end) {
        return dualcam_mp4_fail(m, "an empty file");

    } else {
        return dualcam_mp4_fail(m, "neither PTMF records nor H.265 Annex B "
                                "(the first byte is 0x%02x)", head[0]);
    }

    return dualcam_ptmf_feed(m, head, n);
}


static int
dualcam_ptmf_feed(dualcam_mp4_t *m, const unsigned char *p, size_t n)
{
    size_t  k;

    if (m->info.container == DUALCAM_MP4_CONTAINER_ANNEXB) {
        if (dualcam_nal_scan(m, p, n, m->pos) != DUALCAM_MP4_OK) {
            return DUALCAM_MP4_ERROR;
        }

        m->pos += n;
        return DUALCAM_MP4_OK;
    }

    while (n) {

        if (m->hdr_len < DUALCAM_PTMF_HEADER_LEN) {
            k = DUALCAM_PTMF_HEADER_LEN - m->hdr_len;
            k = (n < k) ? n : k;

            memcpy(m->hdr + m->hdr_len, p, k);
            m->hdr_len += k;
            m->pos += k;
            p += k;
            n -= k;

            if (m->hdr_len < DUALCAM_PTMF_HEADER_LEN) {
                break;
            }

            if (dualcam_ptmf_header(m) != DUALCAM_MP4_OK) {
                return DUALCAM_MP4_ERROR;
            }

            if (m->payload_left == 0) {
                if (dualcam_ptmf_record_end(m) != DUALCAM_MP4_OK) {
                    return DUALCAM_MP4_ERROR;
                }
            }

            continue;
        }

        k = (n < m->payload_left) ? n : m->payload_left;

        if (m->record_type == 'A') {
            dualcam_ptmf_audio_bytes(m, p, k);

        } else if (dualcam_nal_scan(m, p, k, m->pos) != DUALCAM_MP4_OK) {
            return DUALCAM_MP4_ERROR;
        }

        m->pos += k;
        p += k;
        n -= k;
        m->payload_left -= k;

        if (m->payload_left == 0) {
            if (dualcam_ptmf_record_end(m) != DUALCAM_MP4_OK) {
                return DUALCAM_MP4_ERROR;
            }
        }
    }

    return DUALCAM_MP4_OK;
}


static int
dualcam_ptmf_header(dualcam_mp4_t *m)
{
    uint32_t        raw, len;
    unsigned char  *h;

    h = m->hdr;
    m->record_off = m->pos - DUALCAM_PTMF_HEADER_LEN;

    if (memcmp(h, "PTMF", 4) != 0) {
        return dualcam_mp4_fail(m, "record %llu at byte %llu: no PTMF magic "
                                "(%02x %02x %02x %02x)",
                                (unsigned long long) m->record,
                                (unsigned long long) m->record_off,
                                h[0], h[1], h[2], h[3]);
    }

    m->record_type = h[5];
    len = dualcam_ptmf_le32(h + 24);
    raw = dualcam_ptmf_le32(h + 28);

    if (h[5] != 'I' && h[5] != 'P' && h[5] != 'A') {
        return dualcam_mp4_fail(m, "record %llu at byte %llu: unknown type "
                                "0x%02x", (unsigned long long) m->record,
                                (unsigned long long) m->record_off, h[5]);
    }

    if (len > DUALCAM_MP4_RECORD_MAX) {
        return dualcam_mp4_fail(m, "record %llu at byte %llu: a payload of "
                                "%u bytes", (unsigned long long) m->record,
                                (unsigned long long) m->record_off, len);
    }

    if (h[5] == 'A'
        && (len < 4 + DUALCAM_MP4_AUDIO_MIN
            || len > 4 + DUALCAM_MP4_AUDIO_MAX))
    {
        return dualcam_mp4_fail(m, "audio record %llu at byte %llu: a "
                                "payload of %u bytes (4 + %u to %u samples "
                                "expected)", (unsigned long long) m->record,
                                (unsigned long long) m->record_off, len,
                                DUALCAM_MP4_AUDIO_MIN, DUALCAM_MP4_AUDIO_MAX);
    }

    /*
     * The time is 32 bits of microseconds, which wrap every 71 minutes:
     * unwrapped against the last record's of either kind, as the two
     * kinds interleave within a few tens of milliseconds.
     */

    if (m->has_ts) {
        m->ts = m->last_ts + (int32_t) (raw - (uint32_t) m->last_ts);

    } else {
        m->ts = raw;
        m->has_ts = 1;
    }

    m->last_ts = m->ts;

    if (h[5] == 'A') {
        if (m->has_audio_ts && m->ts <= m->audio_ts) {
            return dualcam_mp4_fail(m, "audio record %llu at byte %llu: its "
                                    "time is not after the last chunk's",
                                    (unsigned long long) m->record,
                                    (unsigned long long) m->record_off);
        }

        m->audio_ts = m->ts;
        m->has_audio_ts = 1;
        m->audio_len = 0;

    } else {
        if (m->has_video_ts && m->ts <= m->video_ts) {
            return dualcam_mp4_fail(m, "video record %llu at byte %llu: its "
                                    "time is not after the last frame's",
                                    (unsigned long long) m->record,
                                    (unsigned long long) m->record_off);
        }

        m->video_ts = m->ts;
        m->has_video_ts = 1;

        /* a record is a region of NAL units, and one access unit */

        m->in_nal = 0;
        m->zeros = 0;
        m->record_pictures = 0;
        m->record_vcl = 0;
        m->au_open = 1;
        m->au_vcl = 0;
        m->au_irap = 0;
        m->au_rasl = 0;
        m->au_size = 0;
        m->au_first_seg = m->segs.nelts;
    }

    m->payload = len;
    m->payload_left = len;

    return DUALCAM_MP4_OK;
}


static int
dualcam_ptmf_record_end(dualcam_mp4_t *m)
{
    int  rc;

    if (m->record_type == 'A') {
        rc = dualcam_ptmf_audio(m);

    } else {
        rc = dualcam_nal_region_end(m, m->pos);

        if (rc == DUALCAM_MP4_OK && m->record_vcl == 0) {
            rc = dualcam_mp4_fail(m, "video record %llu at byte %llu holds "
                                  "no picture",
                                  (unsigned long long) m->record,
                                  (unsigned long long) m->record_off);
        }

        if (rc == DUALCAM_MP4_OK && m->record_pictures != 1) {
            rc = dualcam_mp4_fail(m, "video record %llu at byte %llu holds "
                                  "%u pictures",
                                  (unsigned long long) m->record,
                                  (unsigned long long) m->record_off,
                                  m->record_pictures);
        }

        if (rc == DUALCAM_MP4_OK) {
            rc = dualcam_au_close(m, m->ts);
        }
    }

    m->hdr_len = 0;
    m->record++;

    return rc;
}


/* the chunk's 4-byte header (00 01 a0 00 as observed) is not audio */

static void
dualcam_ptmf_audio_bytes(dualcam_mp4_t *m, const unsigned char *p, size_t n)
{
    size_t  skip;

    skip = (m->audio_len < 4) ? 4 - m->audio_len : 0;
    skip = (skip < n) ? skip : n;

    m->audio_len += n;

    if (!m->conf.audio || m->failed) {
        return;
    }

    n -= skip;

    if (n && dualcam_mp4_reserve(m, &m->g711, n) != NULL) {
        memcpy((unsigned char *) m->g711.elts + m->g711.nelts, p + skip, n);
        m->g711.nelts += n;
    }
}


static int
dualcam_ptmf_audio(dualcam_mp4_t *m)
{
    size_t                i, n;
    uint64_t              sum;
    const unsigned char  *g;
    dualcam_mp4_seg_t    *seg;
    dualcam_mp4_chunk_t  *c;

    if (!m->conf.audio) {
        return DUALCAM_MP4_OK;
    }

    if (m->failed) {
        /* out of memory in dualcam_ptmf_audio_bytes() */
        return DUALCAM_MP4_ERROR;
    }

    if (m->g711.nelts > DUALCAM_MP4_G711_MAX) {
        return dualcam_mp4_fail(m, "more than %u bytes of audio",
                                DUALCAM_MP4_G711_MAX);
    }

    n = m->payload - 4;

    c = dualcam_mp4_push(m, &m->chunks);
    seg = dualcam_mp4_push(m, &m->segs);

    if (c == NULL || seg == NULL) {
        return DUALCAM_MP4_ERROR;
    }

    c->ts = m->ts;
    c->g711 = m->g711.nelts - n;
    c->n = (uint16_t) n;

    seg->off = m->record_off + DUALCAM_PTMF_HEADER_LEN + 4;
    seg->len = (uint32_t) n;
    seg->sample = (uint32_t) (m->chunks.nelts - 1);
    seg->type = DUALCAM_SEG_AUDIO;

    /* which law: see dualcam_mp4_plan_end() */

    g = (unsigned char *) m->g711.elts + c->g711;

    /* both laws' magnitudes in one sum: 8192 x 32767 fit in 32 bits */

    sum = 0;

    for (i = 0; i < n; i++) {
        sum += m->mag[g[i]];
    }

    m->sum[DUALCAM_G711_ALAW] += sum & 0xffffffff;
    m->sum[DUALCAM_G711_ULAW] += sum >> 32;

    return DUALCAM_MP4_OK;
}


/*
 * The NAL units of a region: the bytes up to each 01 are NAL data; an 01
 * after two or more 00 is a start code, and the zeros before it are not
 * the NAL unit's (H.265 B.2).
 */

static int
dualcam_nal_scan(dualcam_mp4_t *m, const unsigned char *p, size_t n,
    uint64_t base)
{
    size_t                i, j;
    const unsigned char  *q;

    i = 0;

    while (i < n) {
        q = memchr(p + i, 0x01, n - i);
        j = (q != NULL) ? (size_t) (q - p) : n;

        if (j > i && dualcam_nal_data(m, p + i, j - i, base + i)
                     != DUALCAM_MP4_OK)
        {
            return DUALCAM_MP4_ERROR;
        }

        if (q == NULL) {
            break;
        }

        if (m->zeros >= 2) {

            if (m->in_nal
                && dualcam_nal_end(m, m->nal_off,
                                   base + j - m->zeros - m->nal_off)
                   != DUALCAM_MP4_OK)
            {
                return DUALCAM_MP4_ERROR;
            }

            m->in_nal = 1;
            m->nal_off = base + j + 1;
            m->nal_hdr_len = 0;
            m->capture_len = 0;
            m->slice_len = 0;
            m->zeros = 0;

        } else if (dualcam_nal_data(m, p + j, 1, base + j) != DUALCAM_MP4_OK) {
            return DUALCAM_MP4_ERROR;
        }

        i = j + 1;
    }

    return DUALCAM_MP4_OK;
}


static int
dualcam_nal_data(dualcam_mp4_t *m, const unsigned char *p, size_t n,
    uint64_t off)
{
    size_t    i, k;
    unsigned  type;

    if (!m->in_nal) {

        /* before the first start code: leading_zero_8bits only */

        for (i = 0; i < n; i++) {
            if (p[i] != 0) {
                if (m->info.container == DUALCAM_MP4_CONTAINER_PTMF) {
                    return dualcam_mp4_fail(m, "video record %llu at byte "
                                            "%llu: byte %llu is not a start "
                                            "code",
                                            (unsigned long long) m->record,
                                            (unsigned long long)
                                            m->record_off,
                                            (unsigned long long) (off + i));
                }

                return dualcam_mp4_fail(m, "no H.265 start code at byte %llu",
                                        (unsigned long long) (off + i));
            }
        }

        m->zeros += n;
        return DUALCAM_MP4_OK;
    }

    if (m->nal_hdr_len < 3) {
        k = 3 - m->nal_hdr_len;
        k = (n < k) ? n : k;
        memcpy(m->nal_hdr + m->nal_hdr_len, p, k);
        m->nal_hdr_len += k;
    }

    type = (m->nal_hdr[0] >> 1) & 0x3f;

    if (type >= DUALCAM_HEVC_VPS && type <= DUALCAM_HEVC_PPS) {

        /* a parameter set's bytes, for the hvcC; a longer one is refused */

        k = DUALCAM_MP4_PS_MAX + 4 - m->capture_len;
        k = (n < k) ? n : k;
        memcpy(m->capture + m->capture_len, p, k);
        m->capture_len += k;

    } else if (type < 32 && m->slice_len < sizeof(m->slice)) {

        /* a slice header's start, for its picture order count */

        k = sizeof(m->slice) - m->slice_len;
        k = (n < k) ? n : k;
        memcpy(m->slice + m->slice_len, p, k);
        m->slice_len += k;
    }

    for (i = n; i > 0 && p[i - 1] == 0; i--) { /* void */ }

    m->zeros = (i == 0) ? m->zeros + n : n - i;

    return DUALCAM_MP4_OK;
}


static int
dualcam_nal_region_end(dualcam_mp4_t *m, uint64_t end)
{
    int  rc;

    if (!m->in_nal) {
        if (m->info.container == DUALCAM_MP4_CONTAINER_PTMF) {
            return dualcam_mp4_fail(m, "video record %llu at byte %llu holds "
                                    "no start code",
                                    (unsigned long long) m->record,
                                    (unsigned long long) m->record_off);
        }

        return dualcam_mp4_fail(m, "no H.265 start code in %llu bytes",
                                (unsigned long long) end);
    }

    /* trailing_zero_8bits are not the last NAL unit's */

    rc = dualcam_nal_end(m, m->nal_off, end - m->zeros - m->nal_off);

    m->in_nal = 0;
    m->zeros = 0;

    return rc;
}


static int
dualcam_nal_end(dualcam_mp4_t *m, uint64_t off, uint64_t len)
{
    int                 vcl, first_slice, boundary;
    unsigned            type;
    dualcam_mp4_seg_t  *seg;

    if (len == 0) {
        /* two start codes in a row */
        return DUALCAM_MP4_OK;
    }

    if (len < 2 || (m->nal_hdr[0] & 0x80) || (m->nal_hdr[1] & 7) == 0) {
        return dualcam_mp4_fail(m, "an invalid NAL unit (%llu bytes) at "
                                "byte %llu", (unsigned long long) len,
                                (unsigned long long) off);
    }

    if (len > UINT32_MAX - 4) {
        return dualcam_mp4_fail(m, "a NAL unit of %llu bytes at byte %llu",
                                (unsigned long long) len,
                                (unsigned long long) off);
    }

    type = (m->nal_hdr[0] >> 1) & 0x3f;
    vcl = (type < 32);
    first_slice = vcl && len >= 3 && (m->nal_hdr[2] & 0x80);

    if (m->info.container == DUALCAM_MP4_CONTAINER_ANNEXB) {

        /*
         * 7.4.2.4.4: a picture's first slice, or a parameter set, an
         * access unit delimiter, a prefix SEI or a reserved type after
         * the pictures's slices starts the next access unit
         */

        boundary = first_slice
                   || (type >= 32 && type <= 35) || type == 39
                   || (type >= 41 && type <= 44)
                   || (type >= 48 && type <= 55);

        if (m->au_open && m->au_vcl && boundary
            && dualcam_au_close(m, 0) != DUALCAM_MP4_OK)
        {
            return DUALCAM_MP4_ERROR;
        }

        if (!m->au_open) {
            m->au_open = 1;
            m->au_vcl = 0;
            m->au_irap = 0;
            m->au_rasl = 0;
            m->au_size = 0;
            m->au_first_seg = m->segs.nelts;
        }

        if (first_slice && (m->seen_irap || (type >= 16 && type <= 23))
            && dualcam_nal_poc(m, type, off, len) != DUALCAM_MP4_OK)
        {
            return DUALCAM_MP4_ERROR;
        }

        if (type == 36) {
            /* end of sequence: the next IRAP starts a new one */
            m->after_eos = 1;
        }

    } else if (vcl) {

        if (m->record_vcl == 0 && !first_slice) {
            return dualcam_mp4_fail(m, "video record %llu at byte %llu "
                                    "starts within a picture",
                                    (unsigned long long) m->record,
                                    (unsigned long long) m->record_off);
        }

        m->record_vcl++;
        m->record_pictures += first_slice;
    }

    if (type >= DUALCAM_HEVC_VPS && type <= DUALCAM_HEVC_PPS) {
        /* in the hvcC only, as hvc1 requires */
        return dualcam_nal_ps(m, type, off, (size_t) len);
    }

    if (m->segs.nelts - m->au_first_seg >= DUALCAM_MP4_AU_NALS) {
        return dualcam_mp4_fail(m, "a frame of more than %u NAL units at "
                                "byte %llu", DUALCAM_MP4_AU_NALS,
                                (unsigned long long) off);
    }

    seg = dualcam_mp4_push(m, &m->segs);
    if (seg == NULL) {
        return DUALCAM_MP4_ERROR;
    }

    seg->off = off;
    seg->len = (uint32_t) len;
    seg->sample = (uint32_t) m->frames.nelts;
    seg->type = DUALCAM_SEG_NAL;

    m->au_size += 4 + len;

    if (vcl) {
        m->au_vcl = 1;

        if (type >= 16 && type <= 23) {
            m->au_irap = 1;
        }

        if (type == 8 || type == 9) {
            m->au_rasl = 1;
        }
    }

    return DUALCAM_MP4_OK;
}


/*
 * A parameter set: the first of each id goes into the hvcC, the same
 * again is dropped, another with the same id would need a second sample
 * entry (hvc1 allows parameter sets nowhere else), which is refused
 */

static int
dualcam_nal_ps(dualcam_mp4_t *m, unsigned type, uint64_t off, size_t len)
{
    int                        id;
    char                       err[DUALCAM_MP4_ERR_LEN];
    unsigned                   i, count, pps_id;
    dualcam_hevc_slice_ctx_t   ctx;
    const char          *name;
    unsigned char       *nal;
    dualcam_mp4_ps_t    *ps;
    dualcam_hevc_sps_t   sps;

    name = dualcam_ps_names[type - DUALCAM_HEVC_VPS];

    if (len > DUALCAM_MP4_PS_MAX || m->capture_len < len) {
        return dualcam_mp4_fail(m, "a %s of %zu bytes at byte %llu", name,
                                len, (unsigned long long) off);
    }

    nal = m->capture;

    switch (type) {

    case DUALCAM_HEVC_VPS:
        id = (len > 2) ? nal[2] >> 4 : -1;
        break;

    case DUALCAM_HEVC_SPS:
        if (dualcam_hevc_parse_sps(nal, len, &sps, err, sizeof(err)) != 0) {
            return dualcam_mp4_fail(m, "%s at byte %llu", err,
                                    (unsigned long long) off);
        }

        id = (int) sps.sps_id;
        break;

    default:
        if (dualcam_hevc_parse_pps(nal, len, &pps_id, &ctx) != 0) {
            id = -1;
            break;
        }

        id = (int) pps_id;
    }

    if (id < 0) {
        return dualcam_mp4_fail(m, "an unreadable %s at byte %llu", name,
                                (unsigned long long) off);
    }

    count = 0;

    for (i = 0; i < m->nps; i++) {
        ps = &m->ps[i];

        if (ps->type != type) {
            continue;
        }

        count++;

        if (ps->id != id) {
            continue;
        }

        if (ps->len == len && memcmp(ps->data, nal, len) == 0) {
            return DUALCAM_MP4_OK;
        }

        return dualcam_mp4_fail(m, "%s %d changes at byte %llu", name, id,
                                (unsigned long long) off);
    }

    if (count == DUALCAM_MP4_PS_COUNT) {
        return dualcam_mp4_fail(m, "more than %u of %s at byte %llu",
                                DUALCAM_MP4_PS_COUNT, name,
                                (unsigned long long) off);
    }

    if (type == DUALCAM_HEVC_PPS) {
        m->pps[id].valid = 1;
        m->pps[id].sps_id = (unsigned char) ctx.sps_id;
        m->pps[id].dependent_slices = (unsigned char) ctx.dependent_slices;
        m->pps[id].output_flag = (unsigned char) ctx.output_flag;
        m->pps[id].extra_bits = (unsigned char) ctx.extra_bits;
    }

    if (type == DUALCAM_HEVC_SPS) {

        m->sps_poc_bits[id] = (unsigned char) sps.log2_max_poc_lsb;
        m->sps_separate[id] = (unsigned char) sps.separate_colour_plane;

        /*
         * PTMF records carry one time per frame, and nothing says whether
         * it is the decoding or the presentation time of a reordered one
         */

        if (sps.max_num_reorder
            && m->info.container == DUALCAM_MP4_CONTAINER_PTMF)
        {
            return dualcam_mp4_fail(m, "the SPS at byte %llu allows "
                                    "reordered pictures (B-frames), which "
                                    "are not supported in PTMF records",
                                    (unsigned long long) off);
        }

        if (!m->has_sps) {
            m->sps = sps;
            m->has_sps = 1;
        }
    }

    ps = &m->ps[m->nps];

    ps->data = malloc(len);
    if (ps->data == NULL) {
        return dualcam_mp4_fail(m, "out of memory");
    }

    memcpy(ps->data, nal, len);
    ps->len = (uint16_t) len;
    ps->type = (unsigned char) type;
    ps->id = (unsigned char) id;
    m->nps++;

    return DUALCAM_MP4_OK;
}


/*
 * The picture order count of a picture (H.265 8.3.1), from its first
 * slice: plain Annex B may reorder pictures (B-frames), and the MP4 then
 * needs each one's presentation order
 */

static int
dualcam_nal_poc(dualcam_mp4_t *m, unsigned type, uint64_t off, uint64_t len)
{
    int                        id;
    size_t                     n;
    int32_t                    max, prev_lsb, prev_msb, msb;
    uint32_t                   lsb;
    unsigned                   tid;
    dualcam_mp4_pps_t         *pps;
    dualcam_hevc_slice_ctx_t   ctx;

    n = (len < m->slice_len) ? (size_t) len : m->slice_len;

    id = dualcam_hevc_slice_pps_id(m->slice, n);

    if (id < 0 || !m->pps[id].valid
        || m->sps_poc_bits[m->pps[id].sps_id] == 0)
    {
        return dualcam_mp4_fail(m, "the slice at byte %llu refers to a "
                                "parameter set not sent before it",
                                (unsigned long long) off);
    }

    pps = &m->pps[id];

    ctx.sps_id = pps->sps_id;
    ctx.dependent_slices = pps->dependent_slices;
    ctx.output_flag = pps->output_flag;
    ctx.extra_bits = pps->extra_bits;
    ctx.separate_colour_plane = m->sps_separate[pps->sps_id];
    ctx.poc_bits = m->sps_poc_bits[pps->sps_id];

    if (dualcam_hevc_slice_poc_lsb(m->slice, n, &ctx, &lsb) != 0) {
        return dualcam_mp4_fail(m, "an unreadable slice header at byte %llu",
                                (unsigned long long) off);
    }

    max = (int32_t) 1 << ctx.poc_bits;

    if (type >= 16 && type <= 23
        && (type <= 20 || !m->seen_irap || m->after_eos))
    {
        /* an IRAP that starts a coded video sequence */
        msb = 0;
        m->cvs++;
        m->after_eos = 0;

    } else {
        prev_lsb = m->prev_tid0_poc & (max - 1);
        prev_msb = m->prev_tid0_poc - prev_lsb;

        if ((int32_t) lsb < prev_lsb && prev_lsb - (int32_t) lsb >= max / 2) {
            msb = prev_msb + max;

        } else if ((int32_t) lsb > prev_lsb
                   && (int32_t) lsb - prev_lsb > max / 2)
        {
            msb = prev_msb - max;

        } else {
            msb = prev_msb;
        }
    }

    m->au_poc = msb + (int32_t) lsb;

    /* prevTid0Pic: temporal layer 0, not RADL, RASL or a sub-layer
       non-reference picture */

    tid = (m->nal_hdr[1] & 7) - 1;

    if (tid == 0 && !(type >= 6 && type <= 9)
        && !(type <= 14 && type % 2 == 0))
    {
        m->prev_tid0_poc = m->au_poc;
    }

    return DUALCAM_MP4_OK;
}


/*
 * An access unit is complete: a frame of the track, or dropped before
 * the first IRAP picture (nothing before it can be decoded), and so are
 * the RASL pictures of a first CRA or BLA
 */

static int
dualcam_au_close(dualcam_mp4_t *m, int64_t ts)
{
    int                   drop;
    dualcam_mp4_frame_t  *f;

    m->au_open = 0;

    /*
     * What is not shown is forgotten: its NAL units are the last ones
     * (an access unit is contiguous; audio records come between them
     * only), so memory holds only the frames that are kept
     */

    if (!m->au_vcl) {
        /* SEI or the like with no picture at the end: nothing to show */
        m->segs.nelts = m->au_first_seg;
        return DUALCAM_MP4_OK;
    }

    m->frames_seen++;
    drop = 0;

    if (m->au_irap) {
        if (!m->seen_irap) {
            m->seen_irap = 1;
            m->drop_rasl = 1;

        } else {
            m->drop_rasl = 0;
        }

    } else if (!m->seen_irap || (m->au_rasl && m->drop_rasl)) {
        drop = 1;
    }

    if (drop) {
        m->info.dropped++;
        m->segs.nelts = m->au_first_seg;
        return DUALCAM_MP4_OK;
    }

    if (m->au_size > UINT32_MAX) {
        return dualcam_mp4_fail(m, "a frame of %llu bytes",
                                (unsigned long long) m->au_size);
    }

    f = dualcam_mp4_push(m, &m->frames);
    if (f == NULL) {
        return DUALCAM_MP4_ERROR;
    }

    f->ts = ts;
    f->size = (uint32_t) m->au_size;
    f->sync = m->au_irap;
    f->poc = m->au_poc;
    f->cvs = m->cvs;

    return DUALCAM_MP4_OK;
}


/* the end of the input: a record cut short is refused */

int
dualcam_ptmf_end(dualcam_mp4_t *m)
{
    if (!m->detected && dualcam_ptmf_detect(m, 1) != DUALCAM_MP4_OK) {
        return DUALCAM_MP4_ERROR;
    }

    if (m->info.container == DUALCAM_MP4_CONTAINER_ANNEXB) {

        if (dualcam_nal_region_end(m, m->pos) != DUALCAM_MP4_OK) {
            return DUALCAM_MP4_ERROR;
        }

        if (m->au_open && dualcam_au_close(m, 0) != DUALCAM_MP4_OK) {
            return DUALCAM_MP4_ERROR;
        }

        return DUALCAM_MP4_OK;
    }

    if (m->hdr_len > 0 && m->hdr_len < DUALCAM_PTMF_HEADER_LEN) {
        return dualcam_mp4_fail(m, "the file ends in the header of record "
                                "%llu at byte %llu (%zu of %u bytes)",
                                (unsigned long long) m->record,
                                (unsigned long long) (m->pos - m->hdr_len),
                                m->hdr_len, DUALCAM_PTMF_HEADER_LEN);
    }

    if (m->hdr_len == DUALCAM_PTMF_HEADER_LEN) {
        return dualcam_mp4_fail(m, "the file ends in record %llu at byte "
                                "%llu (%u of its %u payload bytes missing)",
                                (unsigned long long) m->record,
                                (unsigned long long) m->record_off,
                                m->payload_left, m->payload);
    }

    return DUALCAM_MP4_OK;
}
