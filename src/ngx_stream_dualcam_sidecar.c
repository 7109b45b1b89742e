
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The ".json" sidecar of a stored file: the metadata and the transfer
 * facts.  Rendered by a commit stage (computation only, into a buffer
 * sized beforehand), so it can run in a thread.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_stream_dualcam_commit.h"
#include "ngx_stream_dualcam_mp4.h"
#include "dualcam_json.h"


static u_char *ngx_stream_dualcam_json_degrees(u_char *p, double v);
static u_char *ngx_stream_dualcam_json_meta(u_char *p, dualcam_meta_t *m,
    ngx_stream_dualcam_commit_t *cm);


/* an upper bound: every string may grow sixfold when escaped */

size_t
ngx_stream_dualcam_sidecar_size(ngx_stream_dualcam_commit_t *cm)
{
    return 2048
           + DUALCAM_JSON_ESCAPE_MAX
             * (cm->file->name_len + cm->peer.len + NGX_MAX_PATH
                + cm->meta_json.len)
           + 2 * cm->meta_raw.len
           + 2 * NGX_STREAM_DUALCAM_SHA256_LEN
           + ngx_stream_dualcam_mp4_sidecar_size(cm);
}


u_char *
ngx_stream_dualcam_sidecar(u_char *p, ngx_stream_dualcam_commit_t *cm)
{
    u_char          *name;
    dualcam_file_t  *file;

    file = cm->file;

    /* the name in the IMEI directory */

    name = cm->artifacts[0].path + ngx_strlen(cm->artifacts[0].path);

    while (name > cm->artifacts[0].path && name[-1] != '/') {
        name--;
    }

    p = ngx_sprintf(p, "{\n  \"imei\": \"" NGX_STREAM_DUALCAM_IMEI_FMT
                    "\",\n  \"peer\": ", cm->imei);
    p = ngx_stream_dualcam_json_str(p, cm->peer.data, cm->peer.len);
    p = ngx_sprintf(p, ",\n  \"protocol\": %ui,\n  \"side\": \"%s\",\n"
                    "  \"kind\": \"%s\",\n  \"name\": ",
                    cm->protocol, dualcam_side_name(file->side),
                    dualcam_kind_name(file->kind));
    p = ngx_stream_dualcam_json_str(p, (u_char *) file->name,
                                    ngx_strnlen((u_char *) file->name,
                                                file->name_len));
    p = ngx_sprintf(p, ",\n  \"file\": ");
    p = ngx_stream_dualcam_json_str(p, name, ngx_strlen(name));
    p = ngx_sprintf(p, ",\n  \"size\": %uL,\n", cm->size);

    if (cm->conf->sha256) {
        p = ngx_sprintf(p, "  \"sha256\": \"%*xs\",\n",
                        (size_t) NGX_STREAM_DUALCAM_SHA256_LEN, cm->sha256);
    }

    p = ngx_sprintf(p, "  \"packets\": %uD,\n"
                    "  \"crc_failures\": %uD,\n  \"resumes\": %uD,\n"
                    "  \"resumed_from\": %uL,\n  \"started\": ",
                    file->packets, file->crc_errors, file->resumes,
                    file->resume_from);
    p = ngx_stream_dualcam_json_time(p, cm->started_ms);
    p = ngx_sprintf(p, ",\n  \"finished\": ");
    p = ngx_stream_dualcam_json_time(p, cm->finished_ms);

    if (file->has_meta) {
        p = ngx_sprintf(p, ",\n  \"metadata\": ");
        p = ngx_stream_dualcam_json_meta(p, &file->meta, cm);
    }

    p = ngx_stream_dualcam_mp4_sidecar(p, cm);

    return ngx_sprintf(p, "\n}\n");
}


/*
 * Every string of a document the module writes (sidecar, events) goes
 * through the core's escaper: a strict parser takes it whatever bytes a
 * device sent.
 */

u_char *
ngx_stream_dualcam_json_str(u_char *p, u_char *s, size_t len)
{
    *p++ = '"';
    p = dualcam_json_escape(p, s, len);
    *p++ = '"';

    return p;
}


u_char *
ngx_stream_dualcam_json_time(u_char *p, uint64_t ms)
{
    ngx_tm_t  tm;

    ngx_gmtime((time_t) (ms / 1000), &tm);

    return ngx_sprintf(p, "\"%4d-%02d-%02dT%02d:%02d:%02d.%03uDZ\"",
                       tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                       tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec,
                       (uint32_t) (ms % 1000));
}


/*
 * A v3+ position is an IEEE double as the device sent it: NaN, an
 * infinity or a huge value has no JSON number (and would overflow
 * ngx_sprintf()'s "%f"), so it is written as null; "raw" keeps the bytes.
 */

static u_char *
ngx_stream_dualcam_json_degrees(u_char *p, double v)
{
    if (!dualcam_json_number_ok(v)) {
        return ngx_cpymem(p, "null", 4);
    }

    return ngx_sprintf(p, "%.7f", v);
}


/*
 * A DualCam payload gets the fields of the layout that was decoded
 * (m->layout: for a version newer than the core knows, a prefix of it;
 * for one shorter than v1, none); "raw" always has every byte.
 */

static u_char *
ngx_stream_dualcam_json_meta(u_char *p, dualcam_meta_t *m,
    ngx_stream_dualcam_commit_t *cm)
{
    ngx_uint_t  binary, dualcam;

    dualcam = (m->type == DUALCAM_META_DUALCAM);
    binary = (m->type != DUALCAM_META_JSON);

    p = ngx_sprintf(p, "{\n    \"type\": \"%s\"",
                    dualcam_meta_type_name(m->type));

    if (dualcam) {
        p = ngx_sprintf(p, ",\n    \"version\": %ud", m->version);
    }

    if (binary && (!dualcam || m->layout >= 1)) {
        p = ngx_sprintf(p, ",\n    \"file_type\": %ud", m->file_type);
    }

    if (m->time_ms) {
        p = ngx_sprintf(p, ",\n    \"capture_time\": ");
        p = ngx_stream_dualcam_json_time(p, m->time_ms);
        p = ngx_sprintf(p, ",\n    \"capture_time_ms\": %uL", m->time_ms);
    }

    if (binary && (!dualcam || m->layout >= 1)) {
        p = ngx_sprintf(p, ",\n    \"trigger\": %ud,\n"
                        "    \"trigger_text\": \"%s\"", m->trigger,
                        dualcam_trigger_text(m->type, m->trigger));
    }

    if ((dualcam && m->layout >= 1) || m->type == DUALCAM_META_ADAS) {
        p = ngx_sprintf(p, ",\n    \"duration\": %ud", m->duration);
    }

    if (dualcam && m->layout >= 2) {
        p = ngx_sprintf(p, ",\n    \"framerate\": %ud", m->framerate);
    }

    if (dualcam && m->layout >= 3) {
        p = ngx_sprintf(p, ",\n    \"timezone_minutes\": %d",
                        m->tz_minutes);
    }

    if (m->has_position) {
        p = ngx_sprintf(p, ",\n    \"latitude\": ");
        p = ngx_stream_dualcam_json_degrees(p, m->latitude);
        p = ngx_sprintf(p, ",\n    \"longitude\": ");
        p = ngx_stream_dualcam_json_degrees(p, m->longitude);
    }

    if (m->has_trigger_time) {
        p = ngx_sprintf(p, ",\n    \"trigger_time\": ");
        p = ngx_stream_dualcam_json_time(p, m->trigger_time_ms);
    }

    if (m->type == DUALCAM_META_DSM) {
        p = ngx_sprintf(p, ",\n    \"dsm_events\": %ud,\n    \"driver\": ",
                        m->dsm_events);
        p = ngx_stream_dualcam_json_str(p, (u_char *) m->driver,
                                        ngx_strnlen((u_char *) m->driver,
                                                    sizeof(m->driver)));
    }

    if (cm->meta_json.len) {
        p = ngx_sprintf(p, ",\n    \"json\": ");
        p = ngx_stream_dualcam_json_str(p, cm->meta_json.data,
                                        cm->meta_json.len);
    }

    if (cm->meta_raw.len) {
        p = ngx_sprintf(p, ",\n    \"raw\": \"");
        p = ngx_hex_dump(p, cm->meta_raw.data, cm->meta_raw.len);
        *p++ = '"';
    }

    return ngx_sprintf(p, "\n  }");
}
