
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * device_suite: the device core's frames for scripted server
 * conversations, first of all the real capture: given the same server
 * frames, the same JPEG and the same metadata, the device core must send
 * what the real unit sent, frame for frame.
 */


#include <stdlib.h>
#include <string.h>

#include "tests.h"
#include "fixture.h"
#include "dualcam_device.h"


/* what the device sent, and the notes it made, in one conversation */

typedef struct {
    dualcam_device_t       dev;
    dualcam_device_conf_t  conf;
    const unsigned char   *content;

    unsigned char         *out;
    size_t                 out_len;
    size_t                 out_cap;

    unsigned               done;
    unsigned               complete;
    unsigned               closed;
    unsigned               dropped;
    unsigned               stalled;
    unsigned               errors;
    uint32_t               last_status;
} dev_run_t;


static int
dev_get(void *ctx, unsigned file, uint64_t offset, unsigned char *dst,
    size_t n)
{
    dev_run_t  *r;

    (void) file;

    r = ctx;
    memcpy(dst, r->content + offset, n);

    return 0;
}


static void
run_append(dev_run_t *r, const unsigned char *p, size_t n)
{
    if (r->out_len + n > r->out_cap) {
        r->out_cap = (r->out_len + n) * 2 + 4096;
        r->out = realloc(r->out, r->out_cap);
        ck_assert_ptr_nonnull(r->out);
    }

    memcpy(r->out + r->out_len, p, n);
    r->out_len += n;
}


static void
run_init(dev_run_t *r, uint64_t imei, unsigned protocol)
{
    memset(r, 0, sizeof(dev_run_t));
    r->conf.imei = imei;
    r->conf.protocol = protocol;
    r->conf.get = dev_get;
    r->conf.ctx = r;
}


static void
run_start(dev_run_t *r)
{
    dualcam_device_init(&r->dev, &r->conf);
}


/*
 * Feeds server bytes `step` at a time (0: all at once), collects every
 * action, and streams DATA through a buffer of `cap` bytes.
 */

static void
run_feed(dev_run_t *r, const unsigned char *in, size_t len, size_t step,
    size_t cap)
{
    int                       rc;
    size_t                    have, used, consumed, n;
    unsigned char            *buf;
    dualcam_device_action_t   a;

    buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);

    have = 0;
    used = 0;

    for ( ;; ) {
        if (step == 0) {
            have = len;

        } else if (have < len) {
            have += (len - have < step) ? len - have : step;
        }

        for ( ;; ) {
            rc = dualcam_device_step(&r->dev, in + used, have - used,
                                     &consumed, &a);
            used += consumed;
            ck_assert_uint_le(used, have);

            if (rc == DUALCAM_AGAIN) {
                if (!dualcam_device_streaming(&r->dev)) {
                    break;
                }

                n = dualcam_device_fill(&r->dev, buf, cap);
                ck_assert_uint_gt(n, 0);
                run_append(r, buf, n);
                continue;
            }

            switch (a.type) {
            case DUALCAM_DEV_SEND:
                run_append(r, a.data, a.len);
                break;
            case DUALCAM_DEV_FILE_DONE:
                r->done++;
                r->complete += a.complete;
                r->last_status = a.status;
                break;
            case DUALCAM_DEV_CLOSED:
                r->closed++;
                break;
            case DUALCAM_DEV_DROP:
                r->dropped++;
                break;
            case DUALCAM_DEV_STALL:
                r->stalled++;
                break;
            case DUALCAM_DEV_ERROR:
                r->errors++;
                break;
            default:
                break;
            }
        }

        if (have == len) {
            break;
        }
    }

    free(buf);
}


static void
run_free(dev_run_t *r)
{
    free(r->out);
    r->out = NULL;
}


/* take the next n output bytes and compare them */

static size_t
expect(dev_run_t *r, size_t at, const unsigned char *p, size_t n,
    const char *what)
{
    ck_assert_msg(at + n <= r->out_len, "%s: only %zu bytes sent, %zu wanted",
                  what, r->out_len - at, n);
    ck_assert_msg(memcmp(r->out + at, p, n) == 0, "%s differs", what);

    return at + n;
}


START_TEST(test_device_capture)
{
    size_t                  at, size, off;
    unsigned                i, k;
    dev_run_t               r;
    unsigned char          *jpeg, **f;
    dualcam_fixture_t       fix;
    static unsigned char    meta_q[] = "\x00\x0a\x00\x07%photof";
    static unsigned char    file_q[] = "\x00\x08\x00\x07%photof";
    static unsigned char    resume0[] = { 0, 2, 0, 4, 0, 0, 0, 0 };
    static unsigned char    repeat[] = { 0, 9 };
    static unsigned char    close_[] = { 0, 0, 0, 0 };

    if (dualcam_fixture_load(&fix, DUALCAM_FIXTURE_SESSION) != 0) {
        ck_abort_msg("%s", fix.path);
    }

    /* init, metadata, START, SYNC, 29 DATA, init */
    ck_assert_uint_eq(fix.nframes, 34);
    f = fix.frame;

    size = 0;
    for (i = 4; i < 33; i++) {
        size += fix.len[i] - 6;
    }

    ck_assert_uint_eq(size, 29395);

    jpeg = malloc(size);
    off = 0;
    for (i = 4; i < 33; i++) {
        memcpy(jpeg + off, f[i] + 4, fix.len[i] - 6);
        off += fix.len[i] - 6;
    }

    for (k = 0; k < 3; k++) {
        /* whole frames, byte by byte, and a small DATA buffer */
        run_init(&r, 863719061653375ULL, 5);
        r.content = jpeg;
        r.conf.nfiles = 1;
        r.conf.files[0].kind = DUALCAM_KIND_PHOTO;
        r.conf.files[0].side = DUALCAM_SIDE_FRONT;
        r.conf.files[0].size = size;
        r.conf.files[0].meta = f[1] + 4;
        r.conf.files[0].meta_len = fix.len[1] - 4;
        run_start(&r);

        run_feed(&r, NULL, 0, 0, 65536);
        at = expect(&r, 0, f[0], fix.len[0], "init");

        run_feed(&r, meta_q, 11, k, 65536);
        at = expect(&r, at, f[1], fix.len[1], "metadata");

        run_feed(&r, file_q, 11, k, 65536);
        at = expect(&r, at, f[2], fix.len[2], "START");

        run_feed(&r, resume0, 8, k, k == 2 ? DUALCAM_DATA_FRAME_MAX : 65536);
        at = expect(&r, at, f[3], fix.len[3], "SYNC");

        for (i = 4; i < 33; i++) {
            at = expect(&r, at, f[i], fix.len[i], "DATA");
        }

        ck_assert_uint_eq(at, r.out_len);
        ck_assert_uint_eq(r.dev.nresumes, 1);
        ck_assert_uint_eq(r.dev.resumes[0].value, 0);

        run_feed(&r, repeat, 2, k, 65536);
        ck_assert_uint_eq(r.done, 1);
        ck_assert_uint_eq(r.complete, 1);
        at = expect(&r, at, f[33], fix.len[33], "second init");
        ck_assert(dualcam_device_idle(&r.dev));

        run_feed(&r, close_, 4, k, 65536);
        ck_assert_uint_eq(r.closed, 1);
        ck_assert_uint_eq(at, r.out_len);
        ck_assert_uint_eq(r.errors, 0);

        run_free(&r);
    }

    free(jpeg);
    dualcam_fixture_free(&fix);
}
END_TEST


static unsigned char  content[8192];


static void
content_init(void)
{
    unsigned  i;

    for (i = 0; i < sizeof(content); i++) {
        content[i] = (unsigned char) (i * 7 + (i >> 8));
    }
}


START_TEST(test_device_flags)
{
    dev_run_t             r;
    static unsigned char  path[] = "dsm/picture/231020/231452.jpg";

    run_init(&r, 1, 6);
    r.conf.nfiles = 3;
    r.conf.files[0].kind = DUALCAM_KIND_VIDEO;
    r.conf.files[0].side = DUALCAM_SIDE_REAR;
    r.conf.files[1].kind = DUALCAM_KIND_PHOTO;
    r.conf.files[1].side = DUALCAM_SIDE_REAR;
    r.conf.files[2].kind = DUALCAM_KIND_PATH;
    r.conf.files[2].path = path;
    r.conf.files[2].path_len = sizeof(path);
    run_start(&r);
    run_feed(&r, NULL, 0, 0, 65536);

    ck_assert_uint_eq(r.out_len, 16);
    ck_assert_uint_eq(dualcam_get16(r.out + 2), 6);
    ck_assert_uint_eq(dualcam_get64(r.out + 4), 1);
    ck_assert_uint_eq(r.out[12], 0x40 | 0x20 | 0x08 | 0x02);
    ck_assert_uint_eq(r.out[14], 0x04);

    /* the path request is answered with the path, NUL included */
    run_feed(&r, (const unsigned char *) "\x00\x0c\x00\x02\x00\x00", 6, 1,
             65536);
    ck_assert_uint_eq(r.out_len, 16 + 4 + sizeof(path));
    ck_assert_uint_eq(dualcam_get16(r.out + 16), DUALCAM_CMD_PATH);
    ck_assert_uint_eq(dualcam_get16(r.out + 18), sizeof(path));
    ck_assert(memcmp(r.out + 20, path, sizeof(path)) == 0);

    /* an empty metadata query asks about that path: no metadata held */
    run_feed(&r, (const unsigned char *) "\x00\x0a\x00\x00", 4, 0, 65536);
    ck_assert_uint_eq(r.done, 1);
    ck_assert_uint_eq(r.last_status, DUALCAM_STATUS_READ_FAILED);

    run_feed(&r, (const unsigned char *) "\x00\x09", 2, 0, 65536);
    ck_assert_uint_eq(r.out[r.out_len - 4], 0x40 | 0x20 | 0x08);

    run_free(&r);
}
END_TEST


/* packet mode: START in packets, RESUME k mid-file, CRC chain restarts */

START_TEST(test_device_resume)
{
    size_t          at;
    uint16_t        crc;
    dev_run_t       r;
    unsigned char   req[12], frame[DUALCAM_DATA_FRAME_MAX];

    content_init();

    run_init(&r, 2, 5);
    r.content = content;
    r.conf.nfiles = 1;
    r.conf.files[0].kind = DUALCAM_KIND_VIDEO;
    r.conf.files[0].side = DUALCAM_SIDE_FRONT;
    r.conf.files[0].size = 3000;
    r.conf.files[0].crc_error_at = 2;
    run_start(&r);
    run_feed(&r, NULL, 0, 0, 65536);

    memcpy(req, "\x00\x08\x00\x07%videof", 11);
    run_feed(&r, req, 11, 0, 65536);
    ck_assert_uint_eq(dualcam_get16(r.out + 16), DUALCAM_CMD_START);
    ck_assert_uint_eq(dualcam_get32(r.out + 20), 3);

    /* RESUME 1 starts at the first packet, like RESUME 0 */
    run_feed(&r, (const unsigned char *) "\x00\x02\x00\x04\x00\x00\x00\x01",
             8, 0, 65536);
    at = 16 + 10;
    ck_assert_uint_eq(dualcam_get32(r.out + at + 4), 1);
    at += 8;

    /* three frames, the second one with a garbled CRC */
    ck_assert_uint_eq(r.out_len, at + 1030 + 1030 + 958);
    crc = dualcam_crc16(0, content, 1024);
    ck_assert_uint_eq(dualcam_get16(r.out + at + 1028), crc);
    crc = dualcam_crc16(crc, content + 1024, 1024);
    ck_assert_uint_ne(dualcam_get16(r.out + at + 2058), crc);

    /* the server asks for packet 2 again: SYNC 2, the chain from 0 */
    at = r.out_len;
    run_feed(&r, (const unsigned char *) "\x00\x02\x00\x04\x00\x00\x00\x02",
             8, 3, 65536);
    ck_assert_uint_eq(r.dev.nresumes, 2);
    ck_assert_uint_eq(r.dev.resumes[1].value, 2);
    ck_assert_uint_eq(dualcam_get16(r.out + at), DUALCAM_CMD_SYNC);
    ck_assert_uint_eq(dualcam_get32(r.out + at + 4), 2);
    at += 8;

    dualcam_put16(frame, DUALCAM_CMD_DATA);
    dualcam_put16(frame + 2, 1026);
    memcpy(frame + 4, content + 1024, 1024);
    crc = dualcam_crc16(0, content + 1024, 1024);
    dualcam_put16(frame + 1028, crc);
    at = expect(&r, at, frame, 1030, "packet 2 again");

    dualcam_put16(frame + 2, 954);
    memcpy(frame + 4, content + 2048, 952);
    crc = dualcam_crc16(crc, content + 2048, 952);
    dualcam_put16(frame + 956, crc);
    at = expect(&r, at, frame, 958, "packet 3 again");
    ck_assert_uint_eq(at, r.out_len);

    /* RESUME past the end is refused with STATUS 6 */
    run_feed(&r, (const unsigned char *) "\x00\x02\x00\x04\x00\x00\x00\x05",
             8, 0, 65536);
    ck_assert_uint_eq(dualcam_get16(r.out + at), DUALCAM_CMD_STATUS);
    ck_assert_uint_eq(dualcam_get32(r.out + at + 4), 6);
    ck_assert_uint_eq(r.done, 1);
    ck_assert_uint_eq(r.complete, 0);

    run_free(&r);
}
END_TEST


/*
 * The server repeated its RESUME while the device's SYNC was on its way:
 * the device sends the file again, and hears 00 09 in the middle of it.
 * It had sent every byte once, so the file counts as delivered.
 */

START_TEST(test_device_repeated_resume)
{
    dev_run_t      r;
    unsigned char  req[16];

    content_init();

    run_init(&r, 3, 5);
    r.content = content;
    r.conf.nfiles = 1;
    r.conf.files[0].kind = DUALCAM_KIND_PHOTO;
    r.conf.files[0].side = DUALCAM_SIDE_FRONT;
    r.conf.files[0].size = 5000;
    run_start(&r);
    run_feed(&r, NULL, 0, 0, 65536);

    memcpy(req, "\x00\x08\x00\x07%photof", 11);
    run_feed(&r, req, 11, 0, 65536);
    run_feed(&r, (const unsigned char *) "\x00\x02\x00\x04\x00\x00\x00\x00",
             8, 0, 65536);
    ck_assert_uint_eq(r.done, 0);

    /* the repeated RESUME, and 00 09 before the file went out again */
    memcpy(req, "\x00\x02\x00\x04\x00\x00\x00\x00\x00\x09", 10);
    run_feed(&r, req, 10, 0, 65536);
    ck_assert_uint_eq(r.done, 1);
    ck_assert_uint_eq(r.complete, 1);

    run_free(&r);
}
END_TEST


/* path mode: START in bytes, RESUME a byte offset, 0x000E frames */

START_TEST(test_device_path_enhanced)
{
    size_t                at;
    uint16_t              crc;
    dev_run_t             r;
    unsigned char         req[64];
    static unsigned char  path[] = "mdas9/video/x.mp4";
    static unsigned char  meta[] = "{\"version\":1}";

    content_init();

    run_init(&r, 3, 6);
    r.content = content;
    r.conf.nfiles = 1;
    r.conf.files[0].kind = DUALCAM_KIND_PATH;
    r.conf.files[0].path = path;
    r.conf.files[0].path_len = sizeof(path) - 1;
    r.conf.files[0].size = 2500;
    r.conf.files[0].meta = meta;
    r.conf.files[0].meta_len = sizeof(meta) - 1;
    r.conf.files[0].enhanced = 1;
    run_start(&r);
    run_feed(&r, NULL, 0, 0, 65536);

    run_feed(&r, (const unsigned char *) "\x00\x0c\x00\x02\x00\x00", 6, 0,
             65536);
    run_feed(&r, (const unsigned char *) "\x00\x0a\x00\x00", 4, 0, 65536);
    at = 16 + 4 + sizeof(path) - 1;
    ck_assert_uint_eq(dualcam_get16(r.out + at), DUALCAM_CMD_METADATA);
    ck_assert_uint_eq(dualcam_get16(r.out + at + 2), sizeof(meta) - 1);
    at += 4 + sizeof(meta) - 1;

    dualcam_put16(req, DUALCAM_CMD_FILE_REQUEST);
    dualcam_put16(req + 2, sizeof(path) - 1);
    memcpy(req + 4, path, sizeof(path) - 1);
    run_feed(&r, req, 4 + sizeof(path) - 1, 0, 65536);
    ck_assert_uint_eq(dualcam_get32(r.out + at + 4), 2500);
    at += 10;

    run_feed(&r, (const unsigned char *) "\x00\x02\x00\x04\x00\x00\x03\x00",
             8, 0, 65536);
    ck_assert_uint_eq(dualcam_get32(r.out + at + 4), 0x300);
    at += 8;

    /* bytes 768 .. 1792, then 1792 .. 2500 */
    ck_assert_uint_eq(dualcam_get16(r.out + at), DUALCAM_CMD_ENHANCED_DATA);
    ck_assert_uint_eq(dualcam_get16(r.out + at + 2), 1024 + 6);
    ck_assert_uint_eq(dualcam_get32(r.out + at + 4), 768);
    ck_assert(memcmp(r.out + at + 8, content + 768, 1024) == 0);
    crc = dualcam_crc16(0, content + 768, 1024);
    ck_assert_uint_eq(dualcam_get16(r.out + at + 8 + 1024), crc);
    at += 1034;
    ck_assert_uint_eq(dualcam_get16(r.out + at + 2), 708 + 6);
    ck_assert_uint_eq(dualcam_get32(r.out + at + 4), 1792);
    crc = dualcam_crc16(crc, content + 1792, 708);
    ck_assert_uint_eq(dualcam_get16(r.out + at + 8 + 708), crc);
    ck_assert_uint_eq(at + 8 + 708 + 2, r.out_len);

    run_feed(&r, (const unsigned char *) "\x00\x09\x00\x00\x00\x00", 6, 1,
             65536);
    ck_assert_uint_eq(r.complete, 1);
    ck_assert_uint_eq(r.closed, 1);

    run_free(&r);
}
END_TEST


/* fault injection: drop, stall, STATUS answers, unknown requests */

START_TEST(test_device_faults)
{
    dev_run_t  r;

    content_init();

    run_init(&r, 4, 5);
    r.content = content;
    r.conf.nfiles = 2;
    r.conf.files[0].kind = DUALCAM_KIND_PHOTO;
    r.conf.files[0].size = 5000;
    r.conf.files[0].drop_after = 2;
    r.conf.files[1].kind = DUALCAM_KIND_PHOTO;
    r.conf.files[1].side = DUALCAM_SIDE_REAR;
    r.conf.files[1].size = 100;
    r.conf.files[1].status = 17;
    r.conf.files[1].status_on = DUALCAM_CMD_FILE_REQUEST;
    run_start(&r);
    run_feed(&r, NULL, 0, 0, 65536);
    ck_assert_uint_eq(r.out[12], 0x4c);

    /* the rear photo is "not there" */
    run_feed(&r, (const unsigned char *) "\x00\x08\x00\x07%photor", 11, 0,
             65536);
    ck_assert_uint_eq(dualcam_get16(r.out + 16), DUALCAM_CMD_STATUS);
    ck_assert_uint_eq(dualcam_get32(r.out + 20), 17);
    ck_assert_uint_eq(r.last_status, 17);

    /* a file it does not hold */
    run_feed(&r, (const unsigned char *) "\x00\x08\x00\x07%videor", 11, 0,
             65536);
    ck_assert_uint_eq(dualcam_get32(r.out + 28), 17);

    run_feed(&r, (const unsigned char *) "\x00\x09", 2, 0, 65536);
    ck_assert_uint_eq(r.out[32 + 12], 0x44);

    run_feed(&r, (const unsigned char *) "\x00\x08\x00\x07%photof"
             "\x00\x02\x00\x04\x00\x00\x00\x00", 19, 0, 65536);
    ck_assert_uint_eq(r.dropped, 1);
    ck_assert_uint_eq(r.out_len, 48 + 10 + 8 + 2 * 1030);

    /* once dropped, nothing more is said */
    run_feed(&r, (const unsigned char *) "\x00\x09", 2, 0, 65536);
    ck_assert_uint_eq(r.out_len, 48 + 10 + 8 + 2 * 1030);
    run_free(&r);

    run_init(&r, 5, 5);
    r.content = content;
    r.conf.nfiles = 1;
    r.conf.files[0].kind = DUALCAM_KIND_PHOTO;
    r.conf.files[0].size = 5000;
    r.conf.files[0].stall_after = 1;
    run_start(&r);
    run_feed(&r, (const unsigned char *) "\x00\x08\x00\x07%photof"
             "\x00\x02\x00\x04\x00\x00\x00\x00", 19, 0, 65536);
    ck_assert_uint_eq(r.stalled, 1);
    ck_assert_uint_eq(r.out_len, 16 + 10 + 8 + 1030);

    /* a stalled unit does not even answer a repeated RESUME */
    run_feed(&r, (const unsigned char *) "\x00\x02\x00\x04\x00\x00\x00\x00",
             8, 0, 65536);
    ck_assert_uint_eq(r.out_len, 16 + 10 + 8 + 1030);

    run_feed(&r, (const unsigned char *) "\x00\x00\x00\x00", 4, 0, 65536);
    ck_assert_uint_eq(r.closed, 1);
    run_free(&r);

    /* an unknown command is an error */
    run_init(&r, 6, 5);
    r.conf.nfiles = 0;
    run_start(&r);
    run_feed(&r, (const unsigned char *) "\x00\x07\x00\x00", 4, 0, 65536);
    ck_assert_uint_eq(r.errors, 1);
    ck_assert_uint_eq(r.out[12], 0x40);
    run_free(&r);
}
END_TEST


Suite *
device_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("device");
    tc = tcase_create("device");
    tcase_add_test(tc, test_device_capture);
    tcase_add_test(tc, test_device_flags);
    tcase_add_test(tc, test_device_resume);
    tcase_add_test(tc, test_device_repeated_resume);
    tcase_add_test(tc, test_device_path_enhanced);
    tcase_add_test(tc, test_device_faults);
    suite_add_tcase(s, tc);

    return s;
}
