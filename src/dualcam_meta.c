/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The 0x000B metadata payloads, PROTOCOL.md section 6.  Every length is
 * checked before a byte is read: the payload comes from the device and a
 * wrong length is an error, never a short read.  Nothing is copied: the
 * decoded fields refer to the payload (raw, json) where they are bytes.
 */


#include <string.h>

#include "dualcam.h"


static int dualcam_meta_dualcam(dualcam_meta_t *m, const unsigned char *p,
    size_t n);
static int dualcam_meta_adas(dualcam_meta_t *m, const unsigned char *p,
    size_t n);
static int dualcam_meta_dsm(dualcam_meta_t *m, const unsigned char *p,
    size_t n);
static double dualcam_meta_double(const unsigned char *p);
static double dualcam_meta_micro(const unsigned char *p);


int
dualcam_meta_decode(dualcam_meta_t *m, dualcam_meta_type_e hint,
    const unsigned char *p, size_t n)
{
    int  rc;

    memset(m, 0, sizeof(dualcam_meta_t));

    if (hint == DUALCAM_META_NONE) {

        /* path mode without protocol knowledge: the length tells */

        if (n > 0 && p[0] == '{') {
            hint = DUALCAM_META_JSON;

        } else if (n == 15) {
            hint = DUALCAM_META_ADAS;

        } else if (n == 26) {
            hint = DUALCAM_META_DSM;

        } else {
            return -1;
        }
    }

    switch (hint) {

    case DUALCAM_META_DUALCAM:
        rc = dualcam_meta_dualcam(m, p, n);
        break;

    case DUALCAM_META_ADAS:
        rc = dualcam_meta_adas(m, p, n);
        break;

    case DUALCAM_META_DSM:
        rc = dualcam_meta_dsm(m, p, n);
        break;

    case DUALCAM_META_JSON:
        if (n == 0 || p[0] != '{') {
            rc = -1;
            break;
        }

        m->json = p;
        m->json_len = n;
        rc = 0;
        break;

    default:
        rc = -1;
    }

    if (rc != 0) {
        memset(m, 0, sizeof(dualcam_meta_t));
        return -1;
    }

    m->type = hint;

    if (hint != DUALCAM_META_JSON) {
        m->raw = p;
        m->raw_len = n;
    }

    return 0;
}


/*
 * The length of each known version (PROTOCOL.md section 6): every version
 * appended fields to the one before it, so each layout is a prefix of the
 * next.
 */

static const size_t  dualcam_meta_len[DUALCAM_META_VERSION_MAX + 1] = {
    0, 13, 14, 32, 40
};


static int
dualcam_meta_dualcam(dualcam_meta_t *m, const unsigned char *p, size_t n)
{
    unsigned  version, layout;

    if (n == 0 || p[0] == 0) {
        return -1;
    }

    version = p[0];

    if (version <= DUALCAM_META_VERSION_MAX) {

        /*
         * A known version has its length.  One extra trailing byte is
         * tolerated: some v1/v2 firmware appends the frame rate without
         * counting it (PROTOCOL.md section 6).
         */

        if (n != dualcam_meta_len[version]
            && n != dualcam_meta_len[version] + 1)
        {
            return -1;
        }

        layout = version;

    } else {

        /*
         * A newer version than we know (firmware is ahead of us) must not
         * stop the upload: any length the frame allows is accepted and
         * kept in raw.  Since the versions so far only appended, the
         * fields of the longest known layout that the payload covers
         * are decoded; shorter than v1, nothing is (the file is then
         * named by its arrival time).
         */

        for (layout = DUALCAM_META_VERSION_MAX; layout > 0; layout--) {
            if (n >= dualcam_meta_len[layout]) {
                break;
            }
        }
    }

    m->version = version;
    m->layout = layout;

    if (layout >= 1) {
        m->file_type = p[1];
        m->time_ms = dualcam_get64(p + 2);
        m->trigger = p[10];
        m->duration = dualcam_get16(p + 11);
    }

    if (layout >= 2) {
        m->framerate = p[13];
    }

    if (layout >= 3) {
        m->tz_minutes = (int16_t) dualcam_get16(p + 14);
        m->latitude = dualcam_meta_double(p + 16);
        m->longitude = dualcam_meta_double(p + 24);
        m->has_position = 1;
    }

    if (layout >= 4) {
        m->trigger_time_ms = dualcam_get64(p + 32);
        m->has_trigger_time = 1;
    }

    return 0;
}


static int
dualcam_meta_adas(dualcam_meta_t *m, const unsigned char *p, size_t n)
{
    if (n != 15) {
        return -1;
    }

    m->time_ms = (uint64_t) dualcam_get32(p) * 1000;
    m->file_type = p[4];
    m->trigger = p[5];
    m->latitude = dualcam_meta_micro(p + 6);
    m->longitude = dualcam_meta_micro(p + 10);
    m->has_position = 1;
    m->duration = p[14];

    return 0;
}


static int
dualcam_meta_dsm(dualcam_meta_t *m, const unsigned char *p, size_t n)
{
    size_t  i, len;

    if (n != 26) {
        return -1;
    }

    m->time_ms = (uint64_t) dualcam_get32(p) * 1000;
    m->file_type = p[4];
    m->trigger = p[5];
    m->latitude = dualcam_meta_micro(p + 6);
    m->longitude = dualcam_meta_micro(p + 10);
    m->has_position = 1;
    m->dsm_events = dualcam_get16(p + 14);

    /*
     * The name ends at the first NUL; anything but printable ASCII
     * becomes '?', so the string is safe in logs and JSON sidecars.
     */

    for (len = 0; len < 10 && p[16 + len] != '\0'; len++) {
        /* void */
    }

    while (len > 0 && p[16 + len - 1] == ' ') {
        len--;
    }

    for (i = 0; i < len; i++) {
        m->driver[i] = (p[16 + i] >= 0x20 && p[16 + i] < 0x7f
                        && p[16 + i] != '"' && p[16 + i] != '\\')
                       ? (char) p[16 + i] : '?';
    }

    m->driver[len] = '\0';

    return 0;
}


static double
dualcam_meta_double(const unsigned char *p)
{
    double    d;
    uint64_t  v;

    v = dualcam_get64(p);
    memcpy(&d, &v, sizeof(double));

    return d;
}


static double
dualcam_meta_micro(const unsigned char *p)
{
    return (double) (int32_t) dualcam_get32(p) / 1000000.0;
}
