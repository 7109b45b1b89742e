
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The sans-I/O core of the Teltonika camera file-transfer protocol
 * (DualCam, DashCam, ADAS, DSM): wire format, CRC, metadata and the server
 * and device state machines.  Plain C99 and libc: no nginx, no sockets,
 * no files, no clocks.  The caller owns every byte of I/O; the core only
 * says what to do (PROTOCOL.md, at the top of the repository, is the
 * protocol it implements; its sections are cited below).
 *
 * Input contract (both roles): the caller keeps a contiguous buffer of the
 * bytes received so far and calls a step function with [pos, last).  The
 * step function consumes whole frames only and reports how many bytes it
 * consumed; bytes of an incomplete frame stay unconsumed and must be
 * presented again, followed by what arrives next.  A frame larger than the
 * configured buffer limit is a protocol error, so a buffer of that size is
 * always enough.  The core never reads past the length it was given.
 */


#ifndef _DUALCAM_H_INCLUDED_
#define _DUALCAM_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


/* wire constants, PROTOCOL.md section 3 */

#define DUALCAM_CMD_CLOSE           0x0000  /* also: the device init */
#define DUALCAM_CMD_START           0x0001
#define DUALCAM_CMD_RESUME          0x0002
#define DUALCAM_CMD_SYNC            0x0003
#define DUALCAM_CMD_DATA            0x0004
#define DUALCAM_CMD_STATUS          0x0005
#define DUALCAM_CMD_FILE_REQUEST    0x0008
#define DUALCAM_CMD_REPEAT_INIT     0x0009
#define DUALCAM_CMD_METADATA_QUERY  0x000A
#define DUALCAM_CMD_METADATA        0x000B
#define DUALCAM_CMD_PATH_REQUEST    0x000C
#define DUALCAM_CMD_PATH            0x000D
#define DUALCAM_CMD_ENHANCED_DATA   0x000E

#define DUALCAM_INIT_LEN            16
#define DUALCAM_PACKET_SIZE         1024
#define DUALCAM_HEADER_LEN          4
/* 0x000E: header, offset, 1024 bytes, CRC */
#define DUALCAM_DATA_FRAME_MAX      (4 + 4 + DUALCAM_PACKET_SIZE + 2)
#define DUALCAM_IDENT_LEN           7
#define DUALCAM_PATH_MAX            255
#define DUALCAM_IMEI_MAX            999999999999999ULL

/* init settings, the byte at offset 12 */
#define DUALCAM_FLAG_PATH           0x02
#define DUALCAM_FLAG_PHOTO_FRONT    0x04
#define DUALCAM_FLAG_PHOTO_REAR     0x08
#define DUALCAM_FLAG_VIDEO_FRONT    0x10
#define DUALCAM_FLAG_VIDEO_REAR     0x20
#define DUALCAM_FLAG_FILES          0x3e


/* results of the step functions */

#define DUALCAM_AGAIN               0   /* all complete input consumed */
#define DUALCAM_ACTION              1   /* *action is filled in */


/* log levels, in nginx's order so the glue can map them 1:1 */

typedef enum {
    DUALCAM_LOG_ERR = 4,
    DUALCAM_LOG_WARN = 5,
    DUALCAM_LOG_NOTICE = 6,
    DUALCAM_LOG_INFO = 7,
    DUALCAM_LOG_DEBUG = 8
} dualcam_log_level_e;


/*
 * How a session (or one file of it) ended: $dualcam_result, the status
 * document and the zone's counters; names and $status codes are one
 * table in dualcam_names.c, indexed by this enum.
 */

typedef enum {
    DUALCAM_RESULT_NONE = 0,        /* still running */
    DUALCAM_RESULT_OK,              /* init without flags, CLOSE sent */
    DUALCAM_RESULT_CLOSED_BY_DEVICE,
    DUALCAM_RESULT_TIMEOUT,
    DUALCAM_RESULT_PROTOCOL_ERROR,
    DUALCAM_RESULT_CRC_LIMIT,
    DUALCAM_RESULT_REFUSED,
    DUALCAM_RESULT_STORE_ERROR,
    DUALCAM_RESULT_DEVICE_STATUS,   /* device sent STATUS != 0 */
    DUALCAM_RESULT_SHUTDOWN,        /* cut by worker_shutdown_timeout */
    DUALCAM_RESULT_DUPLICATE,       /* ok; a file offered was stored
                                       before: acknowledged, not stored
                                       again */
    DUALCAM_RESULT_INTERNAL_ERROR,  /* out of memory and the like */
    DUALCAM_RESULT_LAST
} dualcam_result_e;


typedef enum {
    DUALCAM_KIND_NONE = 0,
    DUALCAM_KIND_PHOTO,
    DUALCAM_KIND_VIDEO,
    DUALCAM_KIND_PATH,              /* ADAS, DSM, protocol >= 6 */
    DUALCAM_KIND_LAST
} dualcam_kind_e;


typedef enum {
    DUALCAM_SIDE_NONE = 0,
    DUALCAM_SIDE_FRONT,
    DUALCAM_SIDE_REAR,
    DUALCAM_SIDE_LAST
} dualcam_side_e;


/* what the caller made of a FILE_COMMIT, for dualcam_server_committed() */

typedef enum {
    DUALCAM_COMMIT_STORED = 0,
    DUALCAM_COMMIT_DUPLICATE        /* identical to a file stored before */
} dualcam_commit_e;


typedef enum {
    DUALCAM_META_NONE = 0,
    DUALCAM_META_DUALCAM,           /* binary v1..v4, or a later one:
                                       its known prefix decoded */
    DUALCAM_META_ADAS,              /* 15 bytes */
    DUALCAM_META_DSM,               /* 26 bytes */
    DUALCAM_META_JSON               /* protocol >= 6, verbatim */
} dualcam_meta_type_e;


/* the newest DualCam binary metadata version whose layout is known */
#define DUALCAM_META_VERSION_MAX    4

/* a LOG message before its device bytes are escaped (up to 4 times) */
#define DUALCAM_LOG_MSG             160


typedef struct {
    dualcam_meta_type_e       type;
    unsigned                  version;      /* DualCam binary version, as
                                               sent */
    unsigned                  layout;       /* DualCam: the known version
                                               whose fields were decoded
                                               (0..4); below version when
                                               the device's is newer */
    unsigned                  file_type;    /* as sent */
    uint64_t                  time_ms;      /* capture time, ms since epoch;
                                               0 when unknown */
    unsigned                  trigger;
    unsigned                  duration;     /* seconds */
    unsigned                  framerate;    /* v2+ */
    int                       tz_minutes;   /* v3+ */
    unsigned                  has_position:1;
    unsigned                  has_trigger_time:1;
    double                    latitude;
    double                    longitude;
    uint64_t                  trigger_time_ms;  /* v4 */
    unsigned                  dsm_events;   /* DSM bitmask */
    char                      driver[11];   /* DSM, NUL-terminated */

    /*
     * The payload, referenced, not copied: binary ones (any length the
     * frame allows) as raw, protocol-6 JSON as json.  The pointers are
     * valid during the METADATA action only (NULL afterwards).
     */
    const unsigned char      *raw;
    size_t                    raw_len;
    const unsigned char      *json;
    size_t                    json_len;
} dualcam_meta_t;


/* the file in flight, as the server knows it */

typedef struct {
    dualcam_kind_e            kind;
    dualcam_side_e            side;
    unsigned                  flag;         /* DUALCAM_FLAG_* requested */
    unsigned                  path_mode:1;  /* units are bytes */
    unsigned                  has_meta:1;

    /* "%photof" etc., or the device's path, NUL-terminated */
    char                      name[DUALCAM_PATH_MAX + 1];
    size_t                    name_len;     /* as on the wire (may include
                                               a trailing NUL) */

    uint32_t                  total;        /* START value, in units */
    uint64_t                  max_size;     /* total in bytes (packets:
                                               total * 1024, an upper
                                               bound) */
    uint64_t                  received;     /* verified bytes, contiguous */
    uint64_t                  resume_from;  /* verified bytes kept from an
                                               earlier connection */
    uint32_t                  packets;      /* DATA frames verified */
    uint32_t                  crc_errors;
    uint32_t                  resumes;      /* RESUMEs sent after a bad CRC */

    dualcam_meta_t            meta;
} dualcam_file_t;


typedef enum {
    DUALCAM_ACT_SEND = 1,       /* send data/len to the device */
    DUALCAM_ACT_HELLO,          /* init parsed: imei, protocol, flags; the
                                   caller may call dualcam_server_refuse() */
    DUALCAM_ACT_FILE_OPEN,      /* START accepted for file; the caller opens
                                   storage and may call
                                   dualcam_server_resume_from() */
    DUALCAM_ACT_FILE_WRITE,     /* data/len verified, at byte offset */
    DUALCAM_ACT_FILE_COMMIT,    /* file complete: offset = size in bytes;
                                   the caller stores it durably, then
                                   calls dualcam_server_committed();
                                   until then a step does nothing (the
                                   device waits for 00 09) */
    DUALCAM_ACT_FILE_ABORT,     /* file incomplete, session ending or the
                                   device skipped it; verified prefix is
                                   file->received bytes */
    DUALCAM_ACT_PROGRESS,       /* after a run of verified packets */
    DUALCAM_ACT_LOG,            /* level, msg (NUL-terminated) */
    DUALCAM_ACT_CLOSE,          /* session over: result; after any SEND
                                   queued before it has been flushed, the
                                   caller closes the connection */
    DUALCAM_ACT_METADATA        /* 0x000B decoded into file->meta (before
                                   FILE_OPEN); meta.raw and meta.json
                                   point into the input and are valid
                                   during this action only (NULL
                                   afterwards) */
} dualcam_action_type_e;


typedef struct {
    dualcam_action_type_e     type;
    const unsigned char      *data;         /* SEND, FILE_WRITE */
    size_t                    len;
    uint64_t                  offset;       /* FILE_WRITE, FILE_COMMIT */
    dualcam_file_t           *file;         /* FILE_* and PROGRESS */
    dualcam_log_level_e       level;        /* LOG */
    const char               *msg;          /* LOG */
    dualcam_result_e          result;       /* CLOSE */
} dualcam_action_t;


typedef struct {
    uint64_t                  max_file_size;    /* bytes, 0: no limit; on
                                                   the bytes received (a
                                                   START that cannot fit
                                                   is refused at once) */
    size_t                    buffer_size;      /* largest frame accepted,
                                                   >= DUALCAM_DATA_FRAME_MAX */
    unsigned                  max_crc_errors;   /* per file, 0: no limit */
    unsigned                  max_resume_repeats;  /* RESUMEs repeated on
                                                      silence, per error */
    unsigned                  metadata:1;       /* query 0x000A first */
} dualcam_server_conf_t;


/*
 * The server keeps no pointer into the caller's input after a step
 * returns, except action.data of FILE_WRITE and SEND, valid until the
 * next call into the server.
 */

/*
 * HELLO follows every init packet, the first one and those after each
 * 00 09 (s->inits tells them apart); s->imei, s->protocol and s->flags
 * hold what it carried.  After DUALCAM_ACT_CLOSE the step function
 * returns DUALCAM_AGAIN and consumes nothing.
 */

typedef struct dualcam_server_s  dualcam_server_t;

struct dualcam_server_s {
    int                       state;
    dualcam_server_conf_t     conf;

    uint64_t                  imei;
    unsigned                  protocol;
    unsigned                  flags;        /* of the last init */
    unsigned                  inits;        /* init packets seen */

    dualcam_file_t            file;
    unsigned                  file_open:1;
    unsigned                  refused:1;

    uint16_t                  crc;          /* running, since last SYNC */
    uint32_t                  next_packet;  /* 1-based, after SYNC */
    uint64_t                  write_pos;    /* bytes */
    unsigned                  resume_repeats;

    dualcam_result_e          result;
    unsigned                  pending;      /* queued follow-up action */

    /* totals for the session, counted by dualcam_server_committed() */
    unsigned                  files_done;   /* stored */
    uint64_t                  bytes_done;
    unsigned                  duplicates;   /* acknowledged, not stored */

    size_t                    out_len;
    unsigned char             out[4 + DUALCAM_PATH_MAX + 1];
    char                      msg[DUALCAM_LOG_MSG * 4 + 1];

    unsigned                  skip;         /* flags given up on in this
                                               session (START 0, STATUS
                                               instead of metadata) */
    unsigned                  discard:1;    /* bad CRC: drop data until
                                               the device's SYNC */
    uint32_t                  resume_value; /* last RESUME sent, units */
    unsigned                  unanswered;   /* RESUMEs sent, SYNC not
                                               yet seen */
    uint32_t                  device_status;    /* the last STATUS code */
    unsigned                  device_statuses;  /* STATUS frames that
                                                   were acted on */
    unsigned                  stale:1;      /* a late SYNC came after the
                                               file ended: drop its data
                                               until the next init */
    dualcam_log_level_e       log_level;    /* of the pending LOG */
};


void dualcam_server_init(dualcam_server_t *s,
    const dualcam_server_conf_t *conf);

/*
 * Consumes complete frames from in[0 .. len) until one action results.
 * Returns DUALCAM_ACTION with *action set, or DUALCAM_AGAIN when more
 * input is needed; *consumed is set in both cases.
 */
int dualcam_server_step(dualcam_server_t *s, const unsigned char *in,
    size_t len, size_t *consumed, dualcam_action_t *action);

/* during HELLO: answer with CLOSE and end with DUALCAM_RESULT_REFUSED */
void dualcam_server_refuse(dualcam_server_t *s);

/*
 * During FILE_OPEN: the caller holds `bytes` verified bytes of this file
 * from an earlier connection; the RESUME asks for what follows (rounded
 * down to whole packets in packet units).  Returns the bytes actually
 * reused (what the caller must keep).
 */
uint64_t dualcam_server_resume_from(dualcam_server_t *s, uint64_t bytes);

/*
 * After FILE_COMMIT: the file is stored (or was already), so the device
 * may hear 00 09; the next step hands that SEND out.  A commit that
 * failed is not reported here: the caller ends the session instead.
 */
void dualcam_server_committed(dualcam_server_t *s, dualcam_commit_e outcome);

/*
 * The caller's timer fired with no SYNC since the last RESUME (the caller
 * arms it, ~2 s, while dualcam_server_waiting_sync() is true).  Fills in
 * a SEND of the same RESUME again, or, when the repeats are used up, the
 * first of LOG, FILE_ABORT, CLOSE (timeout): the caller then collects the
 * rest with dualcam_server_step() as after any action.
 */
int dualcam_server_waiting_sync(dualcam_server_t *s);
int dualcam_server_timer(dualcam_server_t *s, dualcam_action_t *action);

/*
 * The connection ended from outside (device closed, timeout, store
 * error, shutdown): returns FILE_ABORT for a file in flight, if any, and
 * records the result.
 */
int dualcam_server_end(dualcam_server_t *s, dualcam_result_e result,
    dualcam_action_t *action);


/*
 * The init packet alone, stateless, for a caller that needs the device's
 * identity before (or without) a server session, e.g. to route it:
 * judged from a prefix p[0 .. n) of the connection's first bytes.
 * NOT_INIT as soon as one of the first two bytes is not zero; AGAIN
 * while fewer than 16 bytes are there; BAD_IMEI for more than 15 digits
 * (*init is filled in then, for the log); OK with *init filled in.
 */

typedef enum {
    DUALCAM_INIT_AGAIN = 0,
    DUALCAM_INIT_OK,
    DUALCAM_INIT_NOT_INIT,
    DUALCAM_INIT_BAD_IMEI
} dualcam_init_rc_e;


typedef struct {
    uint64_t                  imei;
    unsigned                  protocol;
    unsigned                  flags;        /* the byte at offset 12 */
} dualcam_init_t;


int dualcam_init_parse(dualcam_init_t *init, const unsigned char *p,
    size_t n);

/* what a server answers an init it refuses (CLOSE, 00 00 00 00) */
#define DUALCAM_CLOSE_FRAME         "\0\0\0\0"
#define DUALCAM_CLOSE_FRAME_LEN     4


/* CRC-16/KERMIT, running: crc = dualcam_crc16(crc, p, n), start with 0 */

uint16_t dualcam_crc16(uint16_t crc, const unsigned char *p, size_t n);
uint16_t dualcam_crc16_bytewise(uint16_t crc, const unsigned char *p,
    size_t n);
uint16_t dualcam_crc16_table(uint16_t crc, const unsigned char *p,
    size_t n);
uint16_t dualcam_crc16_slice8(uint16_t crc, const unsigned char *p,
    size_t n);
/* NULL when the CPU lacks PCLMULQDQ */
uint16_t (*dualcam_crc16_clmul_impl(void))(uint16_t crc,
    const unsigned char *p, size_t n);
const char *dualcam_crc16_impl_name(void);


/* metadata and names */

int dualcam_meta_decode(dualcam_meta_t *m, dualcam_meta_type_e hint,
    const unsigned char *p, size_t n);
const char *dualcam_status_text(uint32_t code);
const char *dualcam_trigger_text(dualcam_meta_type_e type, unsigned trigger);
const char *dualcam_kind_name(dualcam_kind_e kind);
const char *dualcam_side_name(dualcam_side_e side);
const char *dualcam_result_name(dualcam_result_e result);
/* the $status of a session ending so: 200, 400, 403, 500 or 503 */
unsigned dualcam_result_status(dualcam_result_e result);
const char *dualcam_meta_type_name(dualcam_meta_type_e type);
/* the word a stored file is named by: photo, video, adas, dsm, file */
const char *dualcam_file_word(const dualcam_file_t *file);
/* extension of a path-mode file from a fixed list, "bin" otherwise */
const char *dualcam_path_extension(const char *path, size_t len);


/* big-endian helpers */

static inline uint16_t
dualcam_get16(const unsigned char *p)
{
    return (uint16_t) ((p[0] << 8) | p[1]);
}


static inline uint32_t
dualcam_get32(const unsigned char *p)
{
    return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16)
           | ((uint32_t) p[2] << 8) | p[3];
}


static inline uint64_t
dualcam_get64(const unsigned char *p)
{
    return ((uint64_t) dualcam_get32(p) << 32) | dualcam_get32(p + 4);
}


static inline unsigned char *
dualcam_put16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char) (v >> 8);
    p[1] = (unsigned char) v;
    return p + 2;
}


static inline unsigned char *
dualcam_put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char) (v >> 24);
    p[1] = (unsigned char) (v >> 16);
    p[2] = (unsigned char) (v >> 8);
    p[3] = (unsigned char) v;
    return p + 4;
}


#endif /* _DUALCAM_H_INCLUDED_ */
