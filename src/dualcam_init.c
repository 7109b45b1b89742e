
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The init packet on its own (PROTOCOL.md section 2), for whoever needs
 * the device's identity before a session exists: the server state
 * machine, and a front that routes a connection by its IMEI before
 * forwarding the bytes untouched (the way ssl_preread reads the SNI).
 * Stateless: it judges the prefix it is given, so a caller that keeps
 * the bytes in a buffer calls it again with more of them.
 */


#include <string.h>

#include "dualcam.h"


int
dualcam_init_parse(dualcam_init_t *init, const unsigned char *p, size_t n)
{
    uint64_t  imei;

    /* the two zero bytes decide at once: garbage is not waited for */

    if (n >= 1 && p[0] != 0) {
        return DUALCAM_INIT_NOT_INIT;
    }

    if (n >= 2 && p[1] != 0) {
        return DUALCAM_INIT_NOT_INIT;
    }

    if (n < DUALCAM_INIT_LEN) {
        return DUALCAM_INIT_AGAIN;
    }

    imei = dualcam_get64(p + 4);

    memset(init, 0, sizeof(dualcam_init_t));
    init->imei = imei;
    init->protocol = dualcam_get16(p + 2);
    init->flags = p[12];

    if (imei > DUALCAM_IMEI_MAX) {
        return DUALCAM_INIT_BAD_IMEI;
    }

    return DUALCAM_INIT_OK;
}
