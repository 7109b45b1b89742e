/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * Name tables: device status codes, triggers, kinds, sides, results and
 * the extension of a path-mode file.  Every lookup is bounded; a value the
 * device invents gets "unknown", never an out-of-range read.
 */


#include <stddef.h>

#include "dualcam.h"


#define dualcam_nelts(a)  (sizeof(a) / sizeof((a)[0]))


/* the generic Teltonika file-transfer list, RESEARCH.md a.5 */

static const char  *dualcam_status_texts[] = {
    "file successfully received",
    "reconnect limit reached",
    "failed to close GPRS",
    "failed to close socket",
    "device aborted file download",
    "invalid server response to init packet",
    "invalid server response to resume packet",
    "failed to create file on SD card",
    "failed to open file on SD card",
    "failed to write file on SD card",
    "failed to flush file on SD card",
    "undefined event",
    "failed to create FOTA file",
    "file CRC recalculation failed at the end of download",
    "failed to load configuration",
    "failed to validate file (bad header)",
    "failed to roll file pointer",
    "failed to read file (camera not configured or file not available)",
    "file header pointer is null",
    "platform ID mismatch",
    "update not allowed",
    "invalid query arguments",
    "XIM jobs failed",
    "forbidden by SPEC ID",
    "unsupported hardware",
    "incompatible firmware",
    "wrong bootloader version"
};


/* RESEARCH.md a.6: the three families number their triggers differently */

static const char  *dualcam_dualcam_triggers[] = {
    "server request", "DIN1", "DIN2", "crash", "towing", "idling",
    "geofence", "unplug", "green driving", "periodic", "DIN3", "DIN4"
};

static const char  *dualcam_adas_triggers[] = {
    "server request", "DIN1", "DIN2", "DIN3", "DIN4", "crash", "towing",
    "idling", "geofence", "unplug", "green driving"
};

static const char  *dualcam_dsm_triggers[] = {
    "none", "DIN1", "DIN2", "DIN3", "DIN4", "crash", "towing", "idling",
    "geofence", "unplug", "green driving", "server request", "periodic",
    "DSM event", "file retransmit"
};


static const char  *dualcam_result_names[] = {
    "none", "ok", "closed_by_device", "timeout", "protocol_error",
    "crc_limit", "refused", "store_error", "device_status"
};


/* the only extensions a device path may give a stored file */

static const char  *dualcam_extensions[] = {
    "jpg", "jpeg", "h265", "mp4", "avi"
};


const char *
dualcam_status_text(uint32_t code)
{
    if (code >= dualcam_nelts(dualcam_status_texts)) {
        return "unknown status";
    }

    return dualcam_status_texts[code];
}


const char *
dualcam_trigger_text(dualcam_meta_type_e type, unsigned trigger)
{
    size_t        n;
    const char  **t;

    switch (type) {

    case DUALCAM_META_DUALCAM:
        t = dualcam_dualcam_triggers;
        n = dualcam_nelts(dualcam_dualcam_triggers);
        break;

    case DUALCAM_META_ADAS:
        t = dualcam_adas_triggers;
        n = dualcam_nelts(dualcam_adas_triggers);
        break;

    case DUALCAM_META_DSM:
        t = dualcam_dsm_triggers;
        n = dualcam_nelts(dualcam_dsm_triggers);
        break;

    default:
        return "unknown";
    }

    return trigger < n ? t[trigger] : "unknown";
}


const char *
dualcam_kind_name(dualcam_kind_e kind)
{
    switch (kind) {

    case DUALCAM_KIND_PHOTO:
        return "photo";

    case DUALCAM_KIND_VIDEO:
        return "video";

    case DUALCAM_KIND_PATH:
        return "file";

    default:
        return "none";
    }
}


const char *
dualcam_side_name(dualcam_side_e side)
{
    switch (side) {

    case DUALCAM_SIDE_FRONT:
        return "front";

    case DUALCAM_SIDE_REAR:
        return "rear";

    default:
        return "none";
    }
}


const char *
dualcam_result_name(dualcam_result_e result)
{
    if ((size_t) result >= dualcam_nelts(dualcam_result_names)) {
        return "none";
    }

    return dualcam_result_names[result];
}


/*
 * The extension is looked for only after the last '/' (or '\'), ends at
 * the first NUL and must match the fixed list exactly, so nothing of the
 * device's path but one of these constant strings reaches a file name.
 */

const char *
dualcam_path_extension(const char *path, size_t len)
{
    char         c;
    size_t       i, start, dot, elen;
    unsigned     k;
    const char  *e;

    if (path == NULL) {
        return "bin";
    }

    for (i = 0; i < len && path[i] != '\0'; i++) {
        /* void */
    }

    len = i;
    start = 0;
    dot = len;

    for (i = 0; i < len; i++) {
        if (path[i] == '/' || path[i] == '\\') {
            start = i + 1;
            dot = len;

        } else if (path[i] == '.') {
            dot = i;
        }
    }

    if (dot == len || dot < start) {
        return "bin";
    }

    dot++;
    elen = len - dot;

    for (k = 0; k < dualcam_nelts(dualcam_extensions); k++) {
        e = dualcam_extensions[k];

        for (i = 0; i < elen && e[i] != '\0'; i++) {
            c = path[dot + i];

            if (c >= 'A' && c <= 'Z') {
                c = (char) (c - 'A' + 'a');
            }

            if (c != e[i]) {
                break;
            }
        }

        if (i == elen && e[i] == '\0') {
            return e;
        }
    }

    return "bin";
}
