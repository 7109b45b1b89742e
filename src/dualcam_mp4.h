
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The remuxer: a DualCam recording (PTMF records holding H.265 Annex B
 * access units and G.711 audio, or plain Annex B H.265) into an ISO BMFF
 * file (MP4) without re-encoding a pixel: hvc1 + hvcC video, lossless
 * FLAC (fLaC + dfLa) audio, moov before mdat.  Plain C99 and libc: no
 * files, no clocks.  The caller owns the I/O:
 *
 *   m = dualcam_mp4_create(&conf);
 *   plan:  dualcam_mp4_plan(m, bytes, n) over the whole input, in order,
 *          split anywhere; then dualcam_mp4_plan_end(m)
 *   copy:  dualcam_mp4_copy(m, &io) over the whole input again, from its
 *          first byte, with room for output; the output is the MP4 from
 *          its first byte, dualcam_mp4_info(m)->size bytes in all
 *   dualcam_mp4_destroy(m);
 *
 * So a file is read twice, sequentially, and written once: the planning
 * pass finds every NAL unit and audio chunk and builds the sample tables
 * (moov must precede mdat, so it must be complete before the first byte
 * of the output); the copy pass writes moov, then copies the NAL units
 * with length prefixes and encodes the audio.  Any step that returns
 * DUALCAM_MP4_ERROR leaves the reason in dualcam_mp4_error(m).
 *
 * Memory: the object holds its sample tables (about 40 bytes per frame,
 * NAL unit and audio chunk) and the moov it writes, allocated with
 * malloc(); dualcam_mp4_destroy() frees everything.
 */


#ifndef _DUALCAM_MP4_H_INCLUDED_
#define _DUALCAM_MP4_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define DUALCAM_MP4_OK          0
#define DUALCAM_MP4_AGAIN       1   /* copy: more input or output room */
#define DUALCAM_MP4_DONE        2   /* copy: the MP4 is complete */
#define DUALCAM_MP4_ERROR       -1

#define DUALCAM_MP4_ERR_LEN     192
#define DUALCAM_MP4_CODEC_LEN   48
#define DUALCAM_MP4_JSON_MAX    640   /* dualcam_mp4_json(), with the NUL */

/* the limits of what is accepted, a refusal beyond them */
#define DUALCAM_MP4_PS_MAX      4096        /* a VPS, SPS or PPS */
#define DUALCAM_MP4_PS_COUNT    16          /* of each kind */
#define DUALCAM_MP4_RECORD_MAX  (64u << 20) /* a PTMF payload */
#define DUALCAM_MP4_AUDIO_MIN   16          /* samples in a chunk */
#define DUALCAM_MP4_AUDIO_MAX   8192
#define DUALCAM_MP4_ENTRIES     (1u << 20)  /* NAL units, chunks, frames:
                                               ~15 h at 20 fps */
#define DUALCAM_MP4_AU_NALS     1024        /* in a frame (H.265 allows
                                               600 slices at level 6.2) */

#define DUALCAM_MP4_AUDIO_RATE  8000        /* G.711 as the camera sends */
#define DUALCAM_MP4_TIMESCALE   90000       /* the video track's */


typedef enum {
    DUALCAM_MP4_CONTAINER_NONE = 0,
    DUALCAM_MP4_CONTAINER_PTMF,
    DUALCAM_MP4_CONTAINER_ANNEXB
} dualcam_mp4_container_e;


typedef enum {
    DUALCAM_G711_ALAW = 0,
    DUALCAM_G711_ULAW
} dualcam_g711_e;


typedef struct {
    unsigned                  fps_num;     /* plain Annex B: frame rate */
    unsigned                  fps_den;     /* (0: 20 fps) */
    unsigned                  audio:1;     /* keep the audio */
} dualcam_mp4_conf_t;


/* what the sidecar says, complete after dualcam_mp4_plan_end() */

typedef struct {
    dualcam_mp4_container_e   container;
    char                      codec[DUALCAM_MP4_CODEC_LEN];  /* RFC 6381 */
    unsigned                  width;       /* display: the SPS minus */
    unsigned                  height;      /* its conformance window */
    uint64_t                  frames;
    uint64_t                  key_frames;
    uint64_t                  dropped;     /* before the first IRAP */
    uint64_t                  duration_us; /* of the video track */
    uint64_t                  audio_frames;  /* chunks, FLAC frames */
    uint64_t                  audio_samples;
    uint64_t                  audio_dropped; /* before the first IRAP */
    unsigned                  audio_rate;  /* 0: no audio track */
    dualcam_g711_e            g711;        /* as established, see README */
    uint64_t                  size;        /* of the MP4 */
    uint64_t                  input;       /* bytes planned */
} dualcam_mp4_info_t;


/* the copy pass's buffers, advanced by dualcam_mp4_copy() */

typedef struct {
    const unsigned char      *in;
    size_t                    in_len;
    unsigned char            *out;
    size_t                    out_len;     /* room left */
} dualcam_mp4_io_t;


typedef struct dualcam_mp4_s  dualcam_mp4_t;


/* NULL: out of memory */
dualcam_mp4_t *dualcam_mp4_create(const dualcam_mp4_conf_t *conf);
void dualcam_mp4_destroy(dualcam_mp4_t *m);

int dualcam_mp4_plan(dualcam_mp4_t *m, const unsigned char *p, size_t n);
int dualcam_mp4_plan_end(dualcam_mp4_t *m);

/*
 * Consumes io->in (the input from where the last call stopped; the first
 * call gets the input's first bytes) and fills io->out.  DUALCAM_MP4_AGAIN:
 * call again with more input (io->in_len == 0) or output room
 * (io->out_len == 0); DUALCAM_MP4_DONE: the output is complete, the rest
 * of the input is not needed.
 */
int dualcam_mp4_copy(dualcam_mp4_t *m, dualcam_mp4_io_t *io);

const char *dualcam_mp4_error(dualcam_mp4_t *m);
const dualcam_mp4_info_t *dualcam_mp4_info(dualcam_mp4_t *m);

/*
 * The sidecar's members ("container": ..., "codec": ...), without braces
 * and without the file name, NUL-terminated; returns the length.
 */
size_t dualcam_mp4_json(const dualcam_mp4_info_t *info, char *buf,
    size_t size);

/* an ISO BMFF file already (a path-mode .mp4): ftyp first */
int dualcam_mp4_is_mp4(const unsigned char *p, size_t n);


/* the pieces, for the remuxer's own files and the unit tests */

typedef struct {
    unsigned                  profile_space;
    unsigned                  tier;
    unsigned                  profile_idc;
    uint32_t                  compat;        /* flag j at bit 31 - j */
    uint64_t                  constraints;   /* 48 bits */
    unsigned                  level_idc;
    unsigned                  sps_id;
    unsigned                  vps_id;
    unsigned                  max_sub_layers;
    unsigned                  temporal_id_nesting;
    unsigned                  chroma_format_idc;
    unsigned                  separate_colour_plane;
    unsigned                  coded_width;
    unsigned                  coded_height;
    unsigned                  width;         /* cropped */
    unsigned                  height;
    unsigned                  bit_depth_luma;
    unsigned                  bit_depth_chroma;
    unsigned                  log2_max_poc_lsb;
    unsigned                  max_num_reorder;
} dualcam_hevc_sps_t;


/* NAL unit bytes (header included, emulation prevention in place) */
int dualcam_hevc_parse_sps(const unsigned char *nal, size_t n,
    dualcam_hevc_sps_t *sps, char *err, size_t err_size);
/* the id of a PPS (-1: unreadable) */
int dualcam_hevc_pps_id(const unsigned char *nal, size_t n);

/* what a slice header's start depends on (its PPS and SPS) */
typedef struct {
    unsigned                  sps_id;
    unsigned                  dependent_slices;
    unsigned                  output_flag;
    unsigned                  extra_bits;
    unsigned                  separate_colour_plane;
    unsigned                  poc_bits;
} dualcam_hevc_slice_ctx_t;

/* a PPS: its id and the fields above (0, or -1: unreadable) */
int dualcam_hevc_parse_pps(const unsigned char *nal, size_t n,
    unsigned *pps_id, dualcam_hevc_slice_ctx_t *ctx);
/* a picture's first slice: its PPS id (-1: unreadable) */
int dualcam_hevc_slice_pps_id(const unsigned char *nal, size_t n);
/* ... and its slice_pic_order_cnt_lsb (0 for IDR; -1: unreadable) */
int dualcam_hevc_slice_poc_lsb(const unsigned char *nal, size_t n,
    const dualcam_hevc_slice_ctx_t *ctx, uint32_t *lsb);
/* "hvc1.1.6.L93.B0" */
void dualcam_hevc_codec(const dualcam_hevc_sps_t *sps, char *buf,
    size_t size);

/* G.711 expansion to 16-bit PCM, as ITU-T G.711 (and ffmpeg) does it */
int dualcam_g711_alaw(unsigned char a);
int dualcam_g711_ulaw(unsigned char u);

/*
 * One FLAC frame of n samples of mono 16-bit PCM at DUALCAM_MP4_AUDIO_RATE
 * into buf (room for DUALCAM_FLAC_FRAME_MAX bytes); number is the frame's
 * number (fixed block size) or its first sample's (variable).  Returns
 * its length.
 */
#define DUALCAM_FLAC_FRAME_MAX  (2 * DUALCAM_MP4_AUDIO_MAX + 64)

size_t dualcam_flac_frame(unsigned char *buf, const int16_t *pcm, size_t n,
    uint64_t number, int variable);


#endif /* _DUALCAM_MP4_H_INCLUDED_ */
