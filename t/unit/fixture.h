/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The real DualCam capture (../../shared/fixtures/, PROTOCOL.md section 7):
 * every frame the device sent, in order.  The file is looked for in
 * $DUALCAM_FIXTURES, then relative to t/unit (where the tests run).
 */


#ifndef _DUALCAM_FIXTURE_H_INCLUDED_
#define _DUALCAM_FIXTURE_H_INCLUDED_


#include <stddef.h>


#define DUALCAM_FIXTURE_SESSION  "dualcam-session-2024-10-30.json"
#define DUALCAM_FIXTURE_FRAMES   64


typedef struct {
    size_t           nframes;
    unsigned char   *frame[DUALCAM_FIXTURE_FRAMES];  /* into all */
    size_t           len[DUALCAM_FIXTURE_FRAMES];

    unsigned char   *all;           /* every frame, concatenated */
    size_t           all_len;

    char             path[512];     /* where it was found */
} dualcam_fixture_t;


/* 0 on success; -1 with a message in f->path when missing or malformed */
int dualcam_fixture_load(dualcam_fixture_t *f, const char *name);
void dualcam_fixture_free(dualcam_fixture_t *f);


#endif /* _DUALCAM_FIXTURE_H_INCLUDED_ */
