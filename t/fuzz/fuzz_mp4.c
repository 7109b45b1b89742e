
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * fuzz_mp4: the remuxer's parsers (PTMF records, Annex B NAL units, the
 * SPS, access units, G.711 and FLAC) on arbitrary device bytes, as the
 * module's commit task runs them.
 *
 * Input: one byte of options (bit 0: keep the audio; the rest: where the
 * input is split), then the recording.  The planning pass sees it split
 * at two points, a second plan at two others, and both must agree.  An
 * accepted recording is copied through small buffers of varying size,
 * and the MP4 must be exactly as long as planned and be ftyp, moov,
 * mdat, nothing else.
 */


#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "dualcam_mp4.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static dualcam_mp4_t *
fz_plan(const unsigned char *p, size_t n, int audio, size_t a, size_t b)
{
    size_t               cut[3], i, from;
    dualcam_mp4_t       *m;
    dualcam_mp4_conf_t   conf;

    memset(&conf, 0, sizeof(conf));
    conf.audio = audio;

    m = dualcam_mp4_create(&conf);
    fz_assert(m != NULL);

    cut[0] = a < b ? a : b;
    cut[1] = a < b ? b : a;
    cut[2] = n;
    from = 0;

    for (i = 0; i < 3; i++) {
        if (cut[i] > n || cut[i] < from) {
            continue;
        }

        if (dualcam_mp4_plan(m, p + from, cut[i] - from) != DUALCAM_MP4_OK) {
            fz_assert(dualcam_mp4_error(m) != NULL);
            return m;
        }

        from = cut[i];
    }

    if (dualcam_mp4_plan_end(m) != DUALCAM_MP4_OK) {
        fz_assert(dualcam_mp4_error(m) != NULL);
        fz_assert(dualcam_mp4_error(m)[0] != '\0');
    }

    return m;
}


static uint32_t
fz_be32(const unsigned char *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                        rc, audio;
    char                       json[DUALCAM_MP4_JSON_MAX];
    size_t                     n, off, len, chunk, i;
    uint64_t                   total;
    unsigned char             *out;
    const unsigned char       *p;
    dualcam_mp4_t             *m, *m2;
    dualcam_mp4_io_t           io;
    const dualcam_mp4_info_t  *info;

    if (size < 1) {
        return 0;
    }

    audio = data[0] & 1;
    chunk = 1 + (data[0] >> 1);
    p = data + 1;
    n = size - 1;

    m = fz_plan(p, n, audio, n / 3, n / 3 + chunk);
    m2 = fz_plan(p, n, audio, chunk, n);

    /* the same verdict however the input is split */

    fz_assert((dualcam_mp4_error(m) == NULL)
              == (dualcam_mp4_error(m2) == NULL));

    if (dualcam_mp4_error(m) != NULL) {
        fz_assert(strcmp(dualcam_mp4_error(m), dualcam_mp4_error(m2)) == 0);
        dualcam_mp4_destroy(m);
        dualcam_mp4_destroy(m2);
        return 0;
    }

    info = dualcam_mp4_info(m);
    fz_assert(info->size == dualcam_mp4_info(m2)->size);
    fz_assert(info->frames > 0 && info->key_frames > 0);
    fz_assert(info->key_frames <= info->frames);
    fz_assert(info->input == n);
    fz_assert(dualcam_mp4_json(info, json, sizeof(json)) > 0);
    fz_assert(strlen(json) < sizeof(json) - 1);

    out = malloc(info->size);
    fz_assert(out != NULL);

    off = 0;
    len = 0;
    io.in_len = 0;
    rc = DUALCAM_MP4_AGAIN;

    while (rc == DUALCAM_MP4_AGAIN) {
        if (io.in_len == 0) {
            io.in = p + off;
            io.in_len = (n - off < chunk) ? n - off : chunk;
            off += io.in_len;
        }

        io.out = out + len;
        io.out_len = info->size - len < 2 * chunk + 1
                     ? info->size - len : 2 * chunk + 1;

        rc = dualcam_mp4_copy(m, &io);
        fz_assert(rc != DUALCAM_MP4_ERROR);

        len = io.out - out;
        fz_assert(len <= info->size);

        /* the input ran out, and the MP4 is not done: a broken plan */
        fz_assert(!(rc == DUALCAM_MP4_AGAIN && io.in_len == 0 && off == n
                    && io.out_len > 0));
    }

    fz_assert(rc == DUALCAM_MP4_DONE);
    fz_assert(len == info->size);

    /* ftyp, moov, mdat: the sizes add up to the file */

    total = 0;

    for (i = 0; i < 3; i++) {
        fz_assert(total + 8 <= len);
        fz_assert(memcmp(out + total + 4, i == 0 ? "ftyp"
                                          : i == 1 ? "moov" : "mdat", 4)
                  == 0);
        fz_assert(fz_be32(out + total) >= 8 || fz_be32(out + total) == 1);
        total += fz_be32(out + total) == 1
                 ? ((uint64_t) fz_be32(out + total + 8) << 32
                    | fz_be32(out + total + 12))
                 : fz_be32(out + total);
    }

    fz_assert(total == len);

    free(out);
    dualcam_mp4_destroy(m);
    dualcam_mp4_destroy(m2);

    return 0;
}
