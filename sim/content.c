
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * dualcam-sim: file content and metadata.  Content is a pure function of
 * (seed, IMEI, file index, offset), computed per 8-byte word, so any
 * range can be produced at any time (resume, verify) without storing it.
 */


#include <stdio.h>
#include <string.h>

#include "sim.h"


static uint64_t
sim_mix(uint64_t x)
{
    /* splitmix64's finalizer: every input bit reaches every output bit */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;

    return x;
}


uint64_t
sim_rand(uint64_t *state)
{
    *state += 0x9e3779b97f4a7c15ULL;
    return sim_mix(*state);
}


double
sim_rand01(uint64_t *state)
{
    return (double) (sim_rand(state) >> 11) / 9007199254740992.0;
}


void
sim_content(const sim_opts_t *o, uint64_t imei, unsigned file,
    uint64_t offset, unsigned char *dst, size_t n)
{
    size_t             k, i;
    uint64_t           key, w, end;
    const sim_file_t  *f;
    unsigned char      word[8];
    static const unsigned char  jpeg_head[] = { 0xff, 0xd8, 0xff, 0xe0 };
    static const unsigned char  jpeg_tail[] = { 0xff, 0xd9 };
    static const unsigned char  h265_head[] = { 0x00, 0x00, 0x00, 0x01 };

    f = &o->files[file];

    if (f->from_file) {
        memcpy(dst, (f->data ? f->data : o->from) + offset, n);
        return;
    }

    key = sim_mix(o->seed ^ sim_mix(imei * 64 + file + 1));
    end = offset + n;
    k = 0;

    /* the unaligned head */
    while (k < n && ((offset + k) & 7)) {
        w = sim_mix(key ^ ((offset + k) >> 3));
        dst[k] = (unsigned char) (w >> (((offset + k) & 7) * 8));
        k++;
    }

    for ( /* void */ ; k + 8 <= n; k += 8) {
        w = sim_mix(key ^ ((offset + k) >> 3));
        for (i = 0; i < 8; i++) {
            word[i] = (unsigned char) (w >> (i * 8));
        }
        memcpy(dst + k, word, 8);
    }

    for ( /* void */ ; k < n; k++) {
        w = sim_mix(key ^ ((offset + k) >> 3));
        dst[k] = (unsigned char) (w >> (((offset + k) & 7) * 8));
    }

    /* what a viewer, or a server's sanity check, expects to see */

    if (f->jpeg && f->size >= 8) {
        for (i = 0; i < 4; i++) {
            if (i >= offset && i < end) {
                dst[i - offset] = jpeg_head[i];
            }
        }

        for (i = 0; i < 2; i++) {
            w = f->size - 2 + i;
            if (w >= offset && w < end) {
                dst[w - offset] = jpeg_tail[i];
            }
        }

    } else if (f->h265 && f->size >= 8) {
        for (i = 0; i < 4; i++) {
            if (i >= offset && i < end) {
                dst[i - offset] = h265_head[i];
            }
        }
    }
}


static unsigned char *
sim_put64(unsigned char *p, uint64_t v)
{
    p = dualcam_put32(p, (uint32_t) (v >> 32));
    return dualcam_put32(p, (uint32_t) v);
}


static unsigned char *
sim_put_double(unsigned char *p, double d)
{
    uint64_t  v;

    memcpy(&v, &d, sizeof(v));
    return sim_put64(p, v);
}


/*
 * The answer to a metadata query: DualCam v3 (the real capture's
 * version), ADAS 15 bytes, DSM 26 bytes or protocol 6 JSON.  Capture
 * times differ per file so that stored names do not collide.
 */

size_t
sim_meta(const sim_file_t *f, unsigned file, double capture_ms,
    unsigned char *dst)
{
    int             n;
    unsigned        type, duration, video;
    uint64_t        ms;
    double          lat, lon;
    unsigned char  *p;

    ms = (uint64_t) capture_ms + file * 1000;
    lat = 54.687157 + file * 0.0001;
    lon = 25.279652;
    video = f->h265 || (f->kind == DUALCAM_KIND_VIDEO)
            || strstr(f->name, "video") != NULL;
    /* a 720p H.265 tracker video is about 300 KB per second */
    duration = video ? (unsigned) (f->size / 300000) + 1 : 0;

    switch (f->meta_type) {

    case DUALCAM_META_DUALCAM:
        p = dst;
        *p++ = 3;
        *p++ = (unsigned char) dualcam_device_file_flag(
                   &(dualcam_device_file_t) { .kind = f->kind,
                                              .side = f->side });
        p = sim_put64(p, ms);
        *p++ = 0;                                   /* server request */
        p = dualcam_put16(p, (uint16_t) duration);
        *p++ = 25;                                  /* frame rate */
        p = dualcam_put16(p, 0);                    /* UTC */
        p = sim_put_double(p, lat);
        p = sim_put_double(p, lon);
        return (size_t) (p - dst);

    case DUALCAM_META_ADAS:
    case DUALCAM_META_DSM:
        type = video ? 0 : 1;                       /* video, snapshot */
        p = dualcam_put32(dst, (uint32_t) (ms / 1000));
        *p++ = (unsigned char) type;
        *p++ = 0;
        p = dualcam_put32(p, (uint32_t) (int32_t) (lat * 1e6));
        p = dualcam_put32(p, (uint32_t) (int32_t) (lon * 1e6));

        if (f->meta_type == DUALCAM_META_ADAS) {
            *p++ = (unsigned char) duration;
            return (size_t) (p - dst);
        }

        p = dualcam_put16(p, 0x0001);               /* drowsiness */
        memcpy(p, "SIMDRIVER ", 10);
        return (size_t) (p + 10 - dst);

    default:
        n = snprintf((char *) dst, SIM_META_MAX,
                     "{\"version\":1,\"file\":{\"file_type\":%u,"
                     "\"file_timestamp\":%llu,\"duration\":%u,"
                     "\"framerate\":25},\"fm_trigger\":{\"type\":0},"
                     "\"location\":{\"latitude\":%.6f,"
                     "\"longitude\":%.6f}}",
                     video ? 0 : 1, (unsigned long long) (ms / 1000),
                     duration, lat, lon);
        return (size_t) n;
    }
}
