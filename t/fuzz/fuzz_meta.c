
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * fuzz_meta: dualcam_meta_decode() for every hint type, and
 * dualcam_path_extension(), on arbitrary bytes.
 *
 * Input: one byte choosing the hint (and, for the extension, where the
 * path ends), then the payload.  The payload is decoded with every hint;
 * the first byte's choice also gets the payload cut to every length up to
 * 48, so short and truncated payloads are always tried.
 */


#include <stdlib.h>
#include <string.h>

#include "fuzz.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static const dualcam_meta_type_e  fz_hints[] = {
    DUALCAM_META_NONE, DUALCAM_META_DUALCAM, DUALCAM_META_ADAS,
    DUALCAM_META_DSM, DUALCAM_META_JSON
};

#define FZ_NHINTS  (sizeof(fz_hints) / sizeof(fz_hints[0]))


static void
fz_decode(dualcam_meta_type_e hint, const unsigned char *p, size_t n)
{
    int              rc;
    unsigned char   *copy;
    dualcam_meta_t   m;
    const char      *t;

    /* an exactly sized copy: a read past the end is an ASan report */
    copy = malloc(n + 1);
    fz_assert(copy != NULL);
    memcpy(copy + (n == 0), p, n);

    memset(&m, 0xa5, sizeof(m));
    rc = dualcam_meta_decode(&m, hint, copy + (n == 0), n);

    if (rc == 0) {
        fz_assert(m.raw_len <= n);
        fz_assert(m.raw_len == 0
                  || (m.raw == copy + (n == 0) && m.raw_len == n));
        fz_assert(m.type != DUALCAM_META_DUALCAM
                  || (m.layout <= DUALCAM_META_VERSION_MAX
                      && m.layout <= m.version));
        fz_assert(memchr(m.driver, '\0', sizeof(m.driver)) != NULL);

        if (m.type == DUALCAM_META_JSON) {
            fz_assert(m.json_len <= n);
            fz_assert(m.json_len == 0
                      || (m.json >= copy + (n == 0)
                          && m.json + m.json_len <= copy + (n == 0) + n));
        }

        t = dualcam_trigger_text(m.type, m.trigger);
        if (t != NULL) {
            fz_assert(strlen(t) < 256);
        }
    }

    free(copy);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t       i, n, cut;
    unsigned     sel;
    const char  *ext;
    char        *path;

    if (size == 0) {
        return 0;
    }

    sel = data[0];
    data++;
    size--;

    for (i = 0; i < FZ_NHINTS; i++) {
        fz_decode(fz_hints[i], data, size);
    }

    for (n = 0; n <= 48 && n <= size; n++) {
        fz_decode(fz_hints[sel % FZ_NHINTS], data, n);
    }

    /* the path as it comes from 0x000D: any bytes, maybe a NUL inside */
    cut = size;
    if (sel & 0x80) {
        cut = size > 0 ? (sel & 0x7f) % (size + 1) : 0;
    }

    path = malloc(cut + 1);
    fz_assert(path != NULL);
    memcpy(path + (cut == 0), data, cut);

    ext = dualcam_path_extension(path + (cut == 0), cut);
    fz_assert(ext != NULL);
    fz_assert(strcmp(ext, "jpg") == 0 || strcmp(ext, "jpeg") == 0
              || strcmp(ext, "h265") == 0 || strcmp(ext, "mp4") == 0
              || strcmp(ext, "avi") == 0 || strcmp(ext, "bin") == 0);

    free(path);

    for (i = 0; i < 16; i++) {
        (void) dualcam_status_text(i == 15 ? (uint32_t) sel << 24 : i);
    }

    return 0;
}
