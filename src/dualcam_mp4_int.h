
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The remuxer's state, shared by its planning pass (dualcam_ptmf.c: the
 * records, the NAL units, the access units) and its writer
 * (dualcam_mp4.c: the sample tables, the boxes, the copy pass).  Not for
 * the remuxer's users: they have dualcam_mp4.h.
 */


#ifndef _DUALCAM_MP4_INT_H_INCLUDED_
#define _DUALCAM_MP4_INT_H_INCLUDED_


#include "dualcam_mp4.h"


#define DUALCAM_PTMF_HEADER_LEN   36

#define DUALCAM_MP4_G711_MAX      (16u << 20)   /* 35 min of audio */

#define DUALCAM_SEG_NAL           0
#define DUALCAM_SEG_AUDIO         1


/* what the copy pass does with a range of the input, in input order */

typedef struct {
    uint64_t                  off;
    uint32_t                  len;
    uint32_t                  sample;   /* in its track */
    unsigned char             type;
    unsigned char             drop;
} dualcam_mp4_seg_t;


typedef struct {
    int64_t                   ts;       /* us; plain Annex B: 0 */
    uint32_t                  size;     /* in mdat */
    int32_t                   poc;      /* picture order count */
    uint32_t                  cvs;      /* coded video sequence */
    unsigned char             sync;
    unsigned char             drop;
} dualcam_mp4_frame_t;


/* what a slice header needs of a PPS and its SPS */

typedef struct {
    unsigned char             valid;
    unsigned char             sps_id;
    unsigned char             dependent_slices;
    unsigned char             output_flag;
    unsigned char             extra_bits;
} dualcam_mp4_pps_t;


typedef struct {
    int64_t                   ts;       /* us */
    uint64_t                  g711;     /* its bytes in m->g711 */
    uint64_t                  flac;     /* its FLAC frame in m->flac */
    uint32_t                  size;     /*   of this size, once encoded */
    uint16_t                  n;        /* samples */
    unsigned char             drop;
} dualcam_mp4_chunk_t;


typedef struct {
    uint16_t                  len;
    unsigned char             type;
    unsigned char             id;
    unsigned char            *data;
} dualcam_mp4_ps_t;


typedef struct {
    void                     *elts;
    size_t                    nelts;
    size_t                    nalloc;
    size_t                    size;
} dualcam_mp4_array_t;


/* a table of the moov: samples per chunk and chunk offsets */

typedef struct {
    uint64_t                  off;      /* in mdat's payload, then the
                                           file */
    uint32_t                  samples;
} dualcam_mp4_run_t;


struct dualcam_mp4_s {
    dualcam_mp4_conf_t        conf;
    dualcam_mp4_info_t        info;
    char                      err[DUALCAM_MP4_ERR_LEN];
    int                       failed;

    /* the planning pass */
    uint64_t                  pos;        /* input bytes seen */
    unsigned                  detected:1;
    unsigned                  ended:1;

    /* PTMF: the record being read */
    unsigned char             hdr[DUALCAM_PTMF_HEADER_LEN];
    size_t                    hdr_len;
    uint64_t                  record;     /* its number, from 0 */
    uint64_t                  record_off;
    uint32_t                  payload;    /* its payload length */
    uint32_t                  payload_left;
    unsigned char             record_type;
    int64_t                   ts;         /* unwrapped */
    int64_t                   last_ts;
    unsigned                  has_ts:1;
    int64_t                   video_ts;   /* the last of each kind */
    int64_t                   audio_ts;
    unsigned                  has_video_ts:1;
    unsigned                  has_audio_ts:1;
    unsigned                  record_pictures;
    unsigned                  record_vcl;

    /* the NAL scanner, over one region: a video record, or the file */
    unsigned                  in_nal:1;
    unsigned                  region_started:1;
    uint64_t                  nal_off;
    uint64_t                  zeros;      /* a run of 00 seen last */
    unsigned char             nal_hdr[3];
    size_t                    nal_hdr_len;
    unsigned char            *capture;    /* a parameter set's bytes */
    size_t                    capture_len;
    unsigned char             slice[32];  /* a slice's first bytes */
    size_t                    slice_len;

    /* access units */
    unsigned                  au_open:1;
    unsigned                  au_vcl:1;
    unsigned                  au_irap:1;
    unsigned                  au_rasl:1;
    size_t                    au_first_seg;
    uint64_t                  au_size;
    unsigned                  seen_irap:1;
    unsigned                  drop_rasl:1;
    unsigned                  after_eos:1;
    unsigned                  reorder:1;  /* presentation != decode order */
    int32_t                   au_poc;
    uint32_t                  cvs;
    int32_t                   prev_tid0_poc;
    dualcam_mp4_pps_t         pps[64];
    unsigned char             sps_poc_bits[16];  /* 0: no such SPS */
    unsigned char             sps_separate[16];
    uint64_t                  frames_seen;

    /*
     * audio: the G.711 bytes are kept from the planning pass (8 KB/s),
     * the law is known only once all are seen, and the FLAC frames are
     * made in plan_end(), so their sizes are known for the moov
     */
    uint64_t                  audio_len;  /* of the record being read */
    uint64_t                  sum[2];     /* |pcm| per G.711 law */
    int16_t                   pcm[2][256];  /* each law's expansion */
    uint64_t                  mag[256];     /* |A-law| | |u-law| << 32 */
    dualcam_mp4_array_t       g711;
    dualcam_mp4_array_t       flac;

    dualcam_mp4_array_t       segs;
    dualcam_mp4_array_t       frames;
    dualcam_mp4_array_t       chunks;

    dualcam_mp4_ps_t          ps[3 * DUALCAM_MP4_PS_COUNT];
    unsigned                  nps;
    dualcam_hevc_sps_t        sps;
    unsigned                  has_sps:1;

    /* plan_end: the moov */
    int64_t                   t0;         /* the first IRAP's time */
    unsigned char            *moov;       /* ftyp, moov, mdat header */
    size_t                    moov_len;
    uint64_t                  mdat_len;
    int                       variable;   /* FLAC block sizes */
    uint32_t                 *ctts;       /* composition offsets, or NULL:
                                             presented as decoded */
    uint32_t                  ctts_delay; /* the first presented, 90 kHz */
    uint32_t                  frame_min;  /* FLAC frame sizes */
    uint32_t                  frame_max;

    /* the copy pass */
    size_t                    moov_done;
    uint64_t                  in_pos;
    size_t                    seg;
    uint64_t                  seg_done;
    unsigned char             prefix[4];
    size_t                    prefix_done;
};


int dualcam_mp4_fail(dualcam_mp4_t *m, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void *dualcam_mp4_push(dualcam_mp4_t *m, dualcam_mp4_array_t *a);
/* room for n more elements, at the end */
void *dualcam_mp4_reserve(dualcam_mp4_t *m, dualcam_mp4_array_t *a,
    size_t n);

/* the planning pass's end, dualcam_ptmf.c */
int dualcam_ptmf_end(dualcam_mp4_t *m);


#endif /* _DUALCAM_MP4_INT_H_INCLUDED_ */
