/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * Not a JSON parser: the capture is a list of objects whose "data" is a
 * string of comma-separated hex bytes, which is all that is read.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"


static char *dualcam_fixture_read(const char *path, size_t *len);
static int dualcam_fixture_hex(int c);


int
dualcam_fixture_load(dualcam_fixture_t *f, const char *name)
{
    int          hi, lo;
    char        *text, *p, *end;
    size_t       i, len, n;
    const char  *env;
    const char  *dirs[3];

    memset(f, 0, sizeof(dualcam_fixture_t));

    env = getenv("DUALCAM_FIXTURES");

    n = 0;

    if (env != NULL && env[0] != '\0') {
        dirs[n++] = env;
    }

    /* t/unit of the repository, with shared/ beside the repository */
    dirs[n++] = "../../../shared/fixtures";
    dirs[n++] = "../../shared/fixtures";

    text = NULL;

    for (i = 0; i < n; i++) {
        snprintf(f->path, sizeof(f->path), "%s/%s", dirs[i], name);
        text = dualcam_fixture_read(f->path, &len);

        if (text != NULL) {
            break;
        }
    }

    if (text == NULL) {
        snprintf(f->path, sizeof(f->path), "%s not found (set "
                 "DUALCAM_FIXTURES)", name);
        return -1;
    }

    /* every byte of the text is at most one byte of data */

    f->all = malloc(len + 1);

    if (f->all == NULL) {
        free(text);
        return -1;
    }

    p = text;

    while ((p = strstr(p, "\"data\"")) != NULL) {
        p += 6;

        while (*p == ' ' || *p == ':' || *p == '\t' || *p == '\n') {
            p++;
        }

        if (*p != '"' || f->nframes == DUALCAM_FIXTURE_FRAMES) {
            goto failed;
        }

        p++;
        end = strchr(p, '"');

        if (end == NULL) {
            goto failed;
        }

        f->frame[f->nframes] = f->all + f->all_len;

        while (p < end) {
            if (*p == ',' || *p == ' ') {
                p++;
                continue;
            }

            hi = dualcam_fixture_hex(p[0]);
            lo = p + 1 < end ? dualcam_fixture_hex(p[1]) : -1;

            if (hi < 0 || lo < 0) {
                goto failed;
            }

            f->all[f->all_len++] = (unsigned char) (hi << 4 | lo);
            p += 2;
        }

        f->len[f->nframes] = (size_t) (f->all + f->all_len
                                       - f->frame[f->nframes]);
        f->nframes++;
        p = end + 1;
    }

    free(text);

    return f->nframes > 0 ? 0 : -1;

failed:

    free(text);
    snprintf(f->path, sizeof(f->path), "%s: malformed", name);

    return -1;
}


void
dualcam_fixture_free(dualcam_fixture_t *f)
{
    free(f->all);
    memset(f, 0, sizeof(dualcam_fixture_t));
}


static char *
dualcam_fixture_read(const char *path, size_t *len)
{
    long   size;
    char  *text;
    FILE  *fp;

    fp = fopen(path, "rb");

    if (fp == NULL) {
        return NULL;
    }

    if (fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0
        || fseek(fp, 0, SEEK_SET) != 0)
    {
        fclose(fp);
        return NULL;
    }

    text = malloc((size_t) size + 1);

    if (text == NULL
        || fread(text, 1, (size_t) size, fp) != (size_t) size)
    {
        free(text);
        fclose(fp);
        return NULL;
    }

    fclose(fp);

    text[size] = '\0';
    *len = (size_t) size;

    return text;
}


static int
dualcam_fixture_hex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }

    return -1;
}
