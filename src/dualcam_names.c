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


/* the generic Teltonika file-transfer list, PROTOCOL.md section 7 */

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


/* PROTOCOL.md section 6: the families number their triggers differently */

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


/*
 * One table per vocabulary, indexed by its enum: the names are what the
 * sidecar, the status document, Prometheus labels and $dualcam_result
 * print, so they never change once released.
 */

typedef struct {
    const char               *name;
    unsigned                  status;       /* $status */
} dualcam_result_t;


static const dualcam_result_t  dualcam_results[] = {
    { "none", 200 },
    { "ok", 200 },
    { "closed_by_device", 200 },            /* what GSM links do */
    { "timeout", 200 },
    { "protocol_error", 400 },
    { "crc_limit", 400 },
    { "refused", 403 },
    { "store_error", 500 },
    { "device_status", 200 },
    { "shutdown", 503 },
    { "duplicate", 200 },
    { "internal_error", 500 }
};


static const char  *dualcam_kind_names[] = {
    "none", "photo", "video", "path"
};


static const char  *dualcam_side_names[] = {
    "none", "front", "rear"
};


static const char  *dualcam_meta_type_names[] = {
    "none", "dualcam", "adas", "dsm", "json"
};


typedef char  dualcam_results_complete[
    dualcam_nelts(dualcam_results) == DUALCAM_RESULT_LAST ? 1 : -1];
typedef char  dualcam_kinds_complete[
    dualcam_nelts(dualcam_kind_names) == DUALCAM_KIND_LAST ? 1 : -1];
typedef char  dualcam_sides_complete[
    dualcam_nelts(dualcam_side_names) == DUALCAM_SIDE_LAST ? 1 : -1];


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
    return (size_t) kind < dualcam_nelts(dualcam_kind_names)
           ? dualcam_kind_names[kind] : "none";
}


const char *
dualcam_side_name(dualcam_side_e side)
{
    return (size_t) side < dualcam_nelts(dualcam_side_names)
           ? dualcam_side_names[side] : "none";
}


const char *
dualcam_result_name(dualcam_result_e result)
{
    return (size_t) result < dualcam_nelts(dualcam_results)
           ? dualcam_results[result].name : "none";
}


unsigned
dualcam_result_status(dualcam_result_e result)
{
    return (size_t) result < dualcam_nelts(dualcam_results)
           ? dualcam_results[result].status : 500;
}


const char *
dualcam_meta_type_name(dualcam_meta_type_e type)
{
    return (size_t) type < dualcam_nelts(dualcam_meta_type_names)
           ? dualcam_meta_type_names[type] : "none";
}


/*
 * A path-mode file is named for what its metadata says it is; "file"
 * when that is unknown.
 */

const char *
dualcam_file_word(const dualcam_file_t *file)
{
    if (file->kind != DUALCAM_KIND_PATH) {
        return dualcam_kind_name(file->kind);
    }

    if (file->has_meta && file->meta.type == DUALCAM_META_ADAS) {
        return "adas";
    }

    if (file->has_meta && file->meta.type == DUALCAM_META_DSM) {
        return "dsm";
    }

    return "file";
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
