
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The device (tracker) side of the camera protocol, sans I/O: what a
 * DualCam/ADAS/DSM unit sends for the server frames it receives.  The
 * simulator and the pair tests drive it; it is the server core's
 * counterpart, so both roles are checked against each other and against
 * the real capture.
 *
 * Input: the same caller-retains contract as the server core (dualcam.h):
 * dualcam_device_step() consumes whole server frames only and never reads
 * past len.  Server frames are direction-specific: REPEAT INIT is the two
 * bytes 00 09, CLOSE is 00 00 00 00, every other frame is cmd len data.
 *
 * Output: control frames (init, START, SYNC, METADATA, PATH, STATUS) come
 * as SEND actions from step; DATA frames are produced in bulk by
 * dualcam_device_fill() straight into the caller's write buffer, so a
 * 64 KiB write carries ~63 frames and costs one CRC pass per frame.
 *
 * Calling pattern: call step until it returns DUALCAM_AGAIN (it returns
 * queued actions before it parses more input; call it with len 0 to
 * collect them), then, while dualcam_device_streaming(), fill, then step
 * again to collect what fill queued (DROP, STALL, ERROR).
 */


#ifndef _DUALCAM_DEVICE_H_INCLUDED_
#define _DUALCAM_DEVICE_H_INCLUDED_


#include "dualcam.h"


#define DUALCAM_DEVICE_FILES_MAX    32
#define DUALCAM_DEVICE_RESUMES_MAX  32
#define DUALCAM_DEVICE_META_MAX     1024
/* the largest server frame a device accepts: FILE REQUEST with a path */
#define DUALCAM_DEVICE_IN_MAX       (4 + DUALCAM_DEVICE_META_MAX)

/* STATUS codes the device core sends on its own */
#define DUALCAM_STATUS_BAD_RESUME   6
#define DUALCAM_STATUS_READ_FAILED  17


typedef struct {
    dualcam_kind_e            kind;         /* PHOTO, VIDEO or PATH */
    dualcam_side_e            side;         /* PHOTO, VIDEO */

    /* PATH: the path as sent in 0x000D (a trailing NUL included if any) */
    const unsigned char      *path;
    size_t                    path_len;

    uint64_t                  size;         /* bytes */

    /* the answer to 0x000A, sent verbatim; NULL: answer STATUS 17 */
    const unsigned char      *meta;
    size_t                    meta_len;

    unsigned                  enhanced:1;   /* DATA as 0x000E */
    unsigned                  no_meta_answer:1;  /* ignore 0x000A */

    /* fault injection; packets are 1-based, as on the wire */
    uint32_t                  crc_error_at; /* corrupt this packet's CRC,
                                               once per device object */
    uint32_t                  drop_after;   /* DROP after this packet */
    uint32_t                  stall_after;  /* STALL after this packet */
    uint32_t                  status;       /* answer status_on with */
    unsigned                  status_on;    /* DUALCAM_CMD_METADATA_QUERY,
                                               _FILE_REQUEST, _RESUME or
                                               0 (never) */
} dualcam_device_file_t;


/* copies n bytes of file `file` at byte offset into dst; 0 or -1 */
typedef int (*dualcam_device_get_pt)(void *ctx, unsigned file,
    uint64_t offset, unsigned char *dst, size_t n);

/* non-zero: send this packet with a wrong CRC (e.g. at a random rate) */
typedef int (*dualcam_device_corrupt_pt)(void *ctx, unsigned file,
    uint32_t packet);


typedef struct {
    uint64_t                  imei;
    unsigned                  protocol;     /* 5, or >= 6 */
    unsigned                  nfiles;
    dualcam_device_file_t     files[DUALCAM_DEVICE_FILES_MAX];
    dualcam_device_get_pt     get;
    dualcam_device_corrupt_pt corrupt;      /* may be NULL */
    void                     *ctx;
} dualcam_device_conf_t;


typedef enum {
    DUALCAM_DEV_SEND = 1,       /* send data/len to the server */
    DUALCAM_DEV_RESUME,         /* RESUME `value` received for `file` */
    DUALCAM_DEV_FILE_DONE,      /* 00 09 ended `file`: complete says
                                   whether all its bytes were sent;
                                   status != 0: the device answered a
                                   request for it with STATUS */
    DUALCAM_DEV_CLOSED,         /* server sent CLOSE: close the socket */
    DUALCAM_DEV_DROP,           /* fault injection: close the socket now,
                                   without a word (a GSM drop) */
    DUALCAM_DEV_STALL,          /* fault injection: send nothing more */
    DUALCAM_DEV_ERROR,          /* the server broke the protocol (or the
                                   get callback failed): close */
    DUALCAM_DEV_LOG             /* level, msg */
} dualcam_device_action_type_e;


typedef struct {
    dualcam_device_action_type_e  type;
    const unsigned char          *data;     /* SEND */
    size_t                        len;
    int                           file;     /* index in conf, or -1 */
    uint64_t                      value;    /* RESUME: as on the wire;
                                               FILE_DONE: bytes sent */
    uint32_t                      status;   /* FILE_DONE */
    unsigned                      complete:1;
    dualcam_log_level_e           level;    /* LOG */
    const char                   *msg;      /* LOG */
} dualcam_device_action_t;


typedef struct {
    unsigned                  file;
    uint32_t                  value;        /* RESUME as on the wire */
} dualcam_device_resume_t;


#define DUALCAM_DEVICE_QUEUE        8


typedef struct {
    const dualcam_device_conf_t  *conf;     /* the caller's, kept */
    int                           state;

    uint32_t                      pending;  /* files not done, bitmask */
    uint32_t                      injected; /* crc_error_at used, bitmask */
    int                           cur;      /* file requested, or -1 */
    int                           path_cur; /* file whose path was sent */

    uint64_t                      pos;      /* next file byte to send */
    uint32_t                      packet;   /* its 1-based packet number */
    uint16_t                      crc;      /* running, since last SYNC */
    unsigned                      sent_all:1;   /* every byte of cur sent
                                                   at least once */

    /* what the server asked for; tests assert on it */
    unsigned                      nresumes;
    dualcam_device_resume_t       resumes[DUALCAM_DEVICE_RESUMES_MAX];

    /* totals */
    uint64_t                      frames;   /* DATA frames produced */
    uint64_t                      bytes;    /* file bytes in them */
    unsigned                      inits;

    unsigned                      qhead;
    unsigned                      qlen;
    dualcam_device_action_t       queue[DUALCAM_DEVICE_QUEUE];

    size_t                        out_len;
    unsigned char                 out[4 + DUALCAM_DEVICE_META_MAX];
    char                          msg[160];
} dualcam_device_t;


/* conf must stay valid and unchanged while the device is in use */
void dualcam_device_init(dualcam_device_t *d,
    const dualcam_device_conf_t *conf);

/*
 * Returns a queued action, else consumes complete server frames from
 * in[0 .. len) until one results: DUALCAM_ACTION with *action set, or
 * DUALCAM_AGAIN; *consumed is set in both cases.  action.data of a SEND
 * is valid until the next call into the device.
 */
int dualcam_device_step(dualcam_device_t *d, const unsigned char *in,
    size_t len, size_t *consumed, dualcam_device_action_t *action);

/* non-zero while DATA frames remain to be produced by fill */
int dualcam_device_streaming(dualcam_device_t *d);

/*
 * Writes as many whole DATA frames as fit into buf[0 .. cap) and returns
 * the bytes written (0 when not streaming, or cap is less than the next
 * frame: DUALCAM_DATA_FRAME_MAX always suffices).
 */
size_t dualcam_device_fill(dualcam_device_t *d, unsigned char *buf,
    size_t cap);

/* non-zero when no file is pending any more */
int dualcam_device_idle(dualcam_device_t *d);

/* the init flag byte for file i: DUALCAM_FLAG_* */
unsigned dualcam_device_file_flag(const dualcam_device_file_t *f);

/* the START total of a file: packets, or bytes in path mode */
uint32_t dualcam_device_file_total(const dualcam_device_file_t *f);


#endif /* _DUALCAM_DEVICE_H_INCLUDED_ */
