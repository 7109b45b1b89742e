/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The server state machine, one behaviour at a time: resume, SYNC, bad
 * CRCs, limits, empty files, file order, path mode, 0x000E, device
 * STATUS, the RESUME timer, refusing.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests.h"
#include "harness.h"


#define DUALCAM_T_IMEI  863719061653375ULL
#define DUALCAM_T_SIZE  (9 * 1024 + 300)    /* 10 packets, the last short */


static unsigned char  dualcam_t_data[64 * 1024];

static const unsigned char  dualcam_t_repeat[] = { 0x00, 0x09 };
static const unsigned char  dualcam_t_close[] = { 0x00, 0x00, 0x00, 0x00 };
static const unsigned char  dualcam_t_path_req[] = {
    0x00, 0x0c, 0x00, 0x02, 0x00, 0x00
};
static const char  dualcam_t_path[] = "dsm/picture/231020/231452.jpg";


typedef struct {
    dualcam_server_conf_t     conf;
    dualcam_server_t          s;
    dualcam_harness_t         h;
    dualcam_script_t          sc;
} dualcam_t_t;


static void
dualcam_t_setup(void)
{
    size_t    i;
    uint32_t  x;

    x = 12345;

    for (i = 0; i < sizeof(dualcam_t_data); i++) {
        x = x * 1103515245 + 12345;
        dualcam_t_data[i] = (unsigned char) (x >> 16);
    }
}


static void
dualcam_t_init(dualcam_t_t *t)
{
    memset(t, 0, sizeof(dualcam_t_t));

    t->conf.max_file_size = 1024 * 1024;
    t->conf.buffer_size = 4096;
    t->conf.max_crc_errors = 4;
    t->conf.max_resume_repeats = 2;
    t->conf.metadata = 0;

    dualcam_script_init(&t->sc);
}


/* after the knobs are set: server and harness, then the whole script */

static void
dualcam_t_run(dualcam_t_t *t)
{
    dualcam_server_init(&t->s, &t->conf);
    dualcam_harness_init(&t->h, t->conf.buffer_size);
}


static void
dualcam_t_feed(dualcam_t_t *t)
{
    dualcam_harness_feed(&t->h, &t->s, t->sc.p, t->sc.len, NULL, 0);
    ck_assert_msg(!t->h.error, "harness: %s", t->h.error_msg);
}


static void
dualcam_t_free(dualcam_t_t *t)
{
    dualcam_harness_free(&t->h);
    dualcam_script_free(&t->sc);
}


static int
dualcam_t_sent_cmd(dualcam_t_t *t, size_t i, unsigned cmd, const void *data,
    size_t len)
{
    unsigned char  b[4 + DUALCAM_PATH_MAX + 1];

    dualcam_put16(b, (uint16_t) cmd);
    dualcam_put16(b + 2, (uint16_t) len);
    memcpy(b + 4, data, len);

    return dualcam_harness_sent(&t->h, i, b, 4 + len);
}


static int
dualcam_t_sent_resume(dualcam_t_t *t, size_t i, uint32_t v)
{
    unsigned char  b[4];

    dualcam_put32(b, v);

    return dualcam_t_sent_cmd(t, i, DUALCAM_CMD_RESUME, b, 4);
}


static int
dualcam_t_sent_req(dualcam_t_t *t, size_t i, const char *name, size_t len)
{
    return dualcam_t_sent_cmd(t, i, DUALCAM_CMD_FILE_REQUEST, name, len);
}


static int
dualcam_t_sent_repeat(dualcam_t_t *t, size_t i)
{
    return dualcam_harness_sent(&t->h, i, dualcam_t_repeat, 2);
}


static int
dualcam_t_sent_close(dualcam_t_t *t, size_t i)
{
    return dualcam_harness_sent(&t->h, i, dualcam_t_close, 4);
}


/* the device's side of one photo transfer, from the file request on */

static void
dualcam_t_photo(dualcam_script_t *sc, size_t size, uint32_t sync,
    size_t from)
{
    dualcam_script_start(sc, (uint32_t) ((size + 1023) / 1024));
    dualcam_script_sync(sc, sync);
    dualcam_script_file(sc, dualcam_t_data, size, from);
}


static void
dualcam_t_check_file(dualcam_t_t *t, size_t i, size_t size)
{
    ck_assert_uint_gt(t->h.nfiles, i);
    ck_assert_uint_eq(t->h.files[i].len, size);
    ck_assert(memcmp(t->h.files[i].data, dualcam_t_data, size) == 0);
}


START_TEST(test_server_plain)
{
    dualcam_t_t  t;

    dualcam_t_init(&t);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x44);
    dualcam_t_photo(&t.sc, DUALCAM_T_SIZE, 1, 0);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x40);

    dualcam_t_run(&t);
    dualcam_t_feed(&t);

    ck_assert_int_eq(t.h.result, DUALCAM_RESULT_OK);
    ck_assert_uint_eq(t.h.nsends, 4);
    ck_assert(dualcam_t_sent_req(&t, 0, "%photof", 7));
    ck_assert(dualcam_t_sent_resume(&t, 1, 0));
    ck_assert(dualcam_t_sent_repeat(&t, 2));
    ck_assert(dualcam_t_sent_close(&t, 3));
    dualcam_t_check_file(&t, 0, DUALCAM_T_SIZE);
    ck_assert_uint_eq(t.h.files[0].file.packets, 10);
    ck_assert_uint_eq(t.h.files[0].file.max_size, 10 * 1024);

    /* after CLOSE nothing more is consumed */
    {
        size_t            consumed;
        dualcam_action_t  act;

        ck_assert_int_eq(dualcam_server_step(&t.s, t.sc.p, t.sc.len,
                                             &consumed, &act),
                         DUALCAM_AGAIN);
        ck_assert_uint_eq(consumed, 0);
        ck_assert_int_eq(dualcam_server_end(&t.s,
                                            DUALCAM_RESULT_CLOSED_BY_DEVICE,
                                            &act), DUALCAM_AGAIN);
        ck_assert_int_eq(t.s.result, DUALCAM_RESULT_OK);
    }

    dualcam_t_free(&t);
}
END_TEST


/*
 * The device hears 00 09 only once the caller has stored the file: a
 * step before dualcam_server_committed() sends and consumes nothing.
 */

START_TEST(test_server_commit_waits)
{
    size_t            consumed;
    dualcam_t_t       t;
    dualcam_action_t  act;
    unsigned char     init[16];

    dualcam_t_init(&t);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x44);
    dualcam_t_photo(&t.sc, DUALCAM_T_SIZE, 1, 0);

    dualcam_t_run(&t);
    t.h.commit_hold = 1;
    dualcam_t_feed(&t);

    ck_assert_uint_eq(t.h.commits, 1);
    ck_assert_uint_eq(t.h.nsends, 2);
    ck_assert_uint_eq(t.s.files_done, 0);

    memset(init, 0, sizeof(init));
    dualcam_put16(init + 2, 5);
    ck_assert_int_eq(dualcam_server_step(&t.s, init, sizeof(init),
                                         &consumed, &act), DUALCAM_AGAIN);
    ck_assert_uint_eq(consumed, 0);

    dualcam_server_committed(&t.s, DUALCAM_COMMIT_STORED);
    ck_assert_uint_eq(t.s.files_done, 1);
    ck_assert_uint_eq(t.s.bytes_done, DUALCAM_T_SIZE);

    ck_assert_int_eq(dualcam_server_step(&t.s, NULL, 0, &consumed, &act),
                     DUALCAM_ACTION);
    ck_assert_int_eq(act.type, DUALCAM_ACT_SEND);
    ck_assert_uint_eq(act.len, 2);
    ck_assert(memcmp(act.data, dualcam_t_repeat, 2) == 0);

    /* a second report changes nothing */
    dualcam_server_committed(&t.s, DUALCAM_COMMIT_STORED);
    ck_assert_uint_eq(t.s.files_done, 1);

    dualcam_t_free(&t);
}
END_TEST


/* a file stored before: acknowledged, counted apart, the session says so */

START_TEST(test_server_duplicate)
{
    dualcam_t_t  t;

    dualcam_t_init(&t);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x44);
    dualcam_t_photo(&t.sc, DUALCAM_T_SIZE, 1, 0);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x40);

    dualcam_t_run(&t);
    t.h.commit_outcome = DUALCAM_COMMIT_DUPLICATE;
    dualcam_t_feed(&t);

    ck_assert_int_eq(t.h.result, DUALCAM_RESULT_DUPLICATE);
    ck_assert(dualcam_t_sent_repeat(&t, 2));
    ck_assert(dualcam_t_sent_close(&t, 3));
    ck_assert_uint_eq(t.s.files_done, 0);
    ck_assert_uint_eq(t.s.bytes_done, 0);
    ck_assert_uint_eq(t.s.duplicates, 1);
    ck_assert_uint_eq(dualcam_result_status(t.h.result), 200);

    dualcam_t_free(&t);
}
END_TEST


START_TEST(test_server_resume_from)
{
    dualcam_t_t  t;

    /* 3 packets and a half kept: 3 are reused, RESUME 4 */

    dualcam_t_init(&t);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x04);
    dualcam_t_photo(&t.sc, DUALCAM_T_SIZE, 4, 3 * 1024);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x00);

    dualcam_t_run(&t);
    t.h.resume_data = dualcam_t_data;
    t.h.resume_len = 3 * 1024 + 500;
    dualcam_t_feed(&t);

    ck_assert_int_eq(t.h.result, DUALCAM_RESULT_OK);
    ck_assert(dualcam_t_sent_resume(&t, 1, 4));
    dualcam_t_check_file(&t, 0, DUALCAM_T_SIZE);
    ck_assert_uint_eq(t.h.files[0].file.resume_from, 3 * 1024);
    ck_assert_uint_eq(t.h.files[0].file.packets, 10);
    dualcam_t_free(&t);

    /* more than the file: the last packet is fetched again */

    dualcam_t_init(&t);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x04);
    dualcam_t_photo(&t.sc, DUALCAM_T_SIZE, 10, 9 * 1024);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x00);

    dualcam_t_run(&t);
    t.h.resume_data = dualcam_t_data;
    t.h.resume_len = 20000;
    dualcam_t_feed(&t);

    ck_assert_int_eq(t.h.result, DUALCAM_RESULT_OK);
    ck_assert(dualcam_t_sent_resume(&t, 1, 10));
    dualcam_t_check_file(&t, 0, DUALCAM_T_SIZE);
    dualcam_t_free(&t);

    /* less than a packet: from the start, RESUME 0 */

    dualcam_t_init(&t);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x04);
    dualcam_t_photo(&t.sc, DUALCAM_T_SIZE, 1, 0);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x00);

    dualcam_t_run(&t);
    t.h.resume_data = dualcam_t_data;
    t.h.resume_len = 1023;
    dualcam_t_feed(&t);

    ck_assert(dualcam_t_sent_resume(&t, 1, 0));
    dualcam_t_check_file(&t, 0, DUALCAM_T_SIZE);
    ck_assert_uint_eq(t.h.files[0].file.resume_from, 0);
    dualcam_t_free(&t);

    /* outside FILE_OPEN it does nothing */

    dualcam_t_init(&t);
    dualcam_t_run(&t);
    ck_assert_uint_eq(dualcam_server_resume_from(&t.s, 5000), 0);
    dualcam_t_free(&t);
}
END_TEST


START_TEST(test_server_sync)
{
    dualcam_t_t  t;

    /* SYNC 0 is "from the first packet" */

    dualcam_t_init(&t);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x04);
    dualcam_t_photo(&t.sc, DUALCAM_T_SIZE, 0, 0);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x00);

    dualcam_t_run(&t);
    dualcam_t_feed(&t);

    ck_assert_int_eq(t.h.result, DUALCAM_RESULT_OK);
    dualcam_t_check_file(&t, 0, DUALCAM_T_SIZE);
    dualcam_t_free(&t);

    /* the device may go back: the write position follows its SYNC */

    dualcam_t_init(&t);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x04);
    dualcam_t_photo(&t.sc, DUALCAM_T_SIZE, 2, 1024);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x00);

    dualcam_t_run(&t);
    t.h.resume_data = dualcam_t_data;
    t.h.resume_len = 3 * 1024;
    dualcam_t_feed(&t);

    ck_assert_int_eq(t.h.result, DUALCAM_RESULT_OK);
    ck_assert(dualcam_t_sent_resume(&t, 1, 4));
    dualcam_t_check_file(&t, 0, DUALCAM_T_SIZE);
    dualcam_t_free(&t);

    /* a second SYNC in the middle of the stream restarts the chain */

    dualcam_t_init(&t);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x04);
    dualcam_script_start(&t.sc, 10);
    dualcam_script_sync(&t.sc, 1);
    dualcam_script_file(&t.sc, dualcam_t_data, 5 * 1024, 0);
    dualcam_script_sync(&t.sc, 6);
    dualcam_script_file(&t.sc, dualcam_t_data, DUALCAM_T_SIZE, 5 * 1024);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x00);

    dualcam_t_run(&t);
    dualcam_t_feed(&t);

    ck_assert_int_eq(t.h.result, DUALCAM_RESULT_OK);
    dualcam_t_check_file(&t, 0, DUALCAM_T_SIZE);
    dualcam_t_free(&t);
}
END_TEST


/*
 * A bad CRC in the first, a middle and the last packet: RESUME with the
 * packet's number, the frames the device streamed meanwhile dropped, the
 * chain restarted at its SYNC, the file intact.
 */

START_TEST(test_server_bad_crc)
{
    size_t       b, i, bads[3] = { 0, 4, 9 };
    char         text[64];
    dualcam_t_t  t;

    for (i = 0; i < 3; i++) {
        b = bads[i];

        dualcam_t_init(&t);
        dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x04);
        dualcam_script_start(&t.sc, 10);
        dualcam_script_sync(&t.sc, 1);
        dualcam_script_file(&t.sc, dualcam_t_data, b * 1024, 0);
        dualcam_script_data_bad(&t.sc, dualcam_t_data + b * 1024,
                                b == 9 ? 300 : 1024);

        if (b < 9) {
            /* in flight before the device saw the RESUME */
            dualcam_script_file(&t.sc, dualcam_t_data, (b + 3) * 1024,
                                (b + 1) * 1024);
        }

        dualcam_script_sync(&t.sc, (uint32_t) b + 1);
        dualcam_script_file(&t.sc, dualcam_t_data, DUALCAM_T_SIZE,
                            b * 1024);
        dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x00);

        dualcam_t_run(&t);
        dualcam_t_feed(&t);

        ck_assert_int_eq(t.h.result, DUALCAM_RESULT_OK);
        ck_assert_uint_eq(t.h.nsends, 5);
        ck_assert(dualcam_t_sent_resume(&t, 1, 0));
        ck_assert(dualcam_t_sent_resume(&t, 2, (uint32_t) b + 1));
        ck_assert(dualcam_t_sent_repeat(&t, 3));
        dualcam_t_check_file(&t, 0, DUALCAM_T_SIZE);
        ck_assert_uint_eq(t.h.files[0].file.crc_errors, 1);
        ck_assert_uint_eq(t.h.files[0].file.resumes, 1);
        ck_assert_uint_eq(t.h.logs_at[DUALCAM_LOG_INFO], 1);

        snprintf(text, sizeof(text), "CRC mismatch in packet %zu", b + 1);
        ck_assert_msg(dualcam_harness_logged(&t.h, text), "%s", t.h.logtext);

        dualcam_t_free(&t);
    }
}
END_TEST


START_TEST(test_server_crc_limit)
{
    int          k;
    dualcam_t_t  t;

    dualcam_t_init(&t);
    t.conf.max_crc_errors = 2;

    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x04);
    dualcam_script_start(&t.sc, 10);
    dualcam_script_sync(&t.sc, 1);
    dualcam_script_data(&t.sc, dualcam_t_data, 1024);

    for (k = 0; k < 3; k++) {
        dualcam_script_data_bad(&t.sc, dualcam_t_data + 1024, 1024);
        dualcam_script_sync(&t.sc, 2);
    }

    dualcam_t_run(&t);
    dualcam_t_feed(&t);

    ck_assert_int_eq(t.h.result, DUALCAM_RESULT_CRC_LIMIT);
    ck_assert_uint_eq(t.h.aborts, 1);
    ck_assert_uint_eq(t.h.abort_received, 1024);
    ck_assert_uint_eq(t.h.commits, 0);
    ck_assert_uint_eq(t.h.nsends, 4);
    ck_assert(dualcam_t_sent_resume(&t, 2, 2));
    ck_assert(dualcam_t_sent_resume(&t, 3, 2));
    ck_assert_uint_eq(t.h.logs_at[DUALCAM_LOG_NOTICE], 1);
    ck_assert(dualcam_harness_logged(&t.h, "3 bad packets, limit 2"));

    /* what was left unconsumed: the last SYNC */
    ck_assert_uint_eq(dualcam_harness_pending(&t.h), 8);
    dualcam_t_free(&t);

    /* 0: no limit */

    dualcam_t_init(&t);
    t.conf.max_crc_errors = 0;

    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x04);
    dualcam_script_start(&t.sc, 10);
    dualcam_script_sync(&t.sc, 1);

    for (k = 0; k < 20; k++) {
        dualcam_script_data_bad(&t.sc, dualcam_t_data, 1024);
        dualcam_script_sync(&t.sc, 1);
    }

    dualcam_script_file(&t.sc, dualcam_t_data, DUALCAM_T_SIZE, 0);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x00);

    dualcam_t_run(&t);
    dualcam_t_feed(&t);

    ck_assert_int_eq(t.h.result, DUALCAM_RESULT_OK);
    ck_assert_uint_eq(t.h.files[0].file.crc_errors, 20);
    dualcam_t_check_file(&t, 0, DUALCAM_T_SIZE);
    dualcam_t_free(&t);
}
END_TEST


/*
 * START 0: the file is skipped with 00 09, and not asked for again in
 * this session even if the device keeps offering it.
 */

START_TEST(test_server_start_zero)
{
    dualcam_t_t  t;

    dualcam_t_init(&t);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x54);
    dualcam_script_start(&t.sc, 0);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x54);
    dualcam_t_photo(&t.sc, 100, 1, 0);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x44);

    dualcam_t_run(&t);
    dualcam_t_feed(&t);

    ck_assert_int_eq(t.h.result, DUALCAM_RESULT_OK);
    ck_assert_uint_eq(t.h.nsends, 6);
    ck_assert(dualcam_t_sent_req(&t, 0, "%photof", 7));
    ck_assert(dualcam_t_sent_repeat(&t, 1));
    ck_assert(dualcam_t_sent_req(&t, 2, "%videof", 7));
    ck_assert(dualcam_t_sent_resume(&t, 3, 0));
    ck_assert(dualcam_t_sent_repeat(&t, 4));
    ck_assert(dualcam_t_sent_close(&t, 5));
    ck_assert_uint_eq(t.h.opens, 1);
    dualcam_t_check_file(&t, 0, 100);
    ck_assert_int_eq(t.h.files[0].file.kind, DUALCAM_KIND_VIDEO);
    ck_assert_int_eq(t.h.files[0].file.side, DUALCAM_SIDE_FRONT);
    ck_assert(dualcam_harness_logged(&t.h, "START 0"));
    dualcam_t_free(&t);
}
END_TEST


/* photos before videos, front before rear, the path-mode file last */

START_TEST(test_server_order)
{
    size_t       i;
    unsigned     flags;
    dualcam_t_t  t;

    static const char  *names[] = {
        "%photof", "%photor", "%videof", "%videor"
    };
    static const dualcam_kind_e  kinds[] = {
        DUALCAM_KIND_PHOTO, DUALCAM_KIND_PHOTO, DUALCAM_KIND_VIDEO,
        DUALCAM_KIND_VIDEO, DUALCAM_KIND_PATH
    };
    static const dualcam_side_e  sides[] = {
        DUALCAM_SIDE_FRONT, DUALCAM_SIDE_REAR, DUALCAM_SIDE_FRONT,
        DUALCAM_SIDE_REAR, DUALCAM_SIDE_NONE
    };

    dualcam_t_init(&t);

    flags = 0x7e;

    for (i = 0; i < 4; i++) {
        dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, flags);
        dualcam_t_photo(&t.sc, 1000 + i, 1, 0);
        flags &= ~(0x04u << i);
    }

    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, flags);
    dualcam_script_frame(&t.sc, DUALCAM_CMD_PATH, "a.jpg", 5);
    dualcam_script_start(&t.sc, 1004);
    dualcam_script_sync(&t.sc, 0);
    dualcam_script_file(&t.sc, dualcam_t_data, 1004, 0);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x40);

    dualcam_t_run(&t);
    dualcam_t_feed(&t);

    ck_assert_int_eq(t.h.result, DUALCAM_RESULT_OK);
    ck_assert_uint_eq(t.h.nfiles, 5);

    for (i = 0; i < 4; i++) {
        ck_assert(dualcam_t_sent_req(&t, i * 3, names[i], 7));
        ck_assert_str_eq(t.h.files[i].file.name, names[i]);
    }

    ck_assert(dualcam_harness_sent(&t.h, 12, dualcam_t_path_req, 6));
    ck_assert(dualcam_t_sent_req(&t, 13, "a.jpg", 5));

    for (i = 0; i < 5; i++) {
        dualcam_t_check_file(&t, i, 1000 + i);
        ck_assert_int_eq(t.h.files[i].file.kind, kinds[i]);
        ck_assert_int_eq(t.h.files[i].file.side, sides[i]);
    }

    ck_assert(t.h.files[4].file.path_mode);
    ck_assert_uint_eq(t.s.files_done, 5);
    ck_assert_uint_eq(t.s.bytes_done, 5 * 1000 + 10);
    dualcam_t_free(&t);
}
END_TEST


/*
 * Path mode (ADAS/DSM, protocol >= 6): units are bytes, the path is
 * echoed with its NUL, the metadata query is empty.
 */

START_TEST(test_server_path_mode)
{
    unsigned char  dsm[26];
    dualcam_t_t    t;

    memset(dsm, 0, sizeof(dsm));
    dualcam_put32(dsm, 1697800000);
    dsm[5] = 13;
    memcpy(dsm + 16, "Driver", 6);

    dualcam_t_init(&t);
    t.conf.metadata = 1;

    dualcam_script_hello(&t.sc, 6, DUALCAM_T_IMEI, 0x42);
    dualcam_script_frame(&t.sc, DUALCAM_CMD_PATH, dualcam_t_path,
                         sizeof(dualcam_t_path));
    dualcam_script_frame(&t.sc, DUALCAM_CMD_METADATA, dsm, sizeof(dsm));
    dualcam_script_start(&t.sc, 3000);
    dualcam_script_sync(&t.sc, 0);
    dualcam_script_data(&t.sc, dualcam_t_data, 1024);
    dualcam_script_data_bad(&t.sc, dualcam_t_data + 1024, 1024);
    dualcam_script_data(&t.sc, dualcam_t_data + 2048, 952);
    dualcam_script_sync(&t.sc, 1024);
    dualcam_script_file(&t.sc, dualcam_t_data, 3000, 1024);
    dualcam_script_hello(&t.sc, 6, DUALCAM_T_IMEI, 0x40);

    dualcam_t_run(&t);
    dualcam_t_feed(&t);

    ck_assert_int_eq(t.h.result, DUALCAM_RESULT_OK);
    ck_assert_uint_eq(t.h.nsends, 7);
    ck_assert(dualcam_harness_sent(&t.h, 0, dualcam_t_path_req, 6));
    ck_assert(dualcam_t_sent_cmd(&t, 1, DUALCAM_CMD_METADATA_QUERY, "", 0));
    ck_assert(dualcam_t_sent_req(&t, 2, dualcam_t_path,
                                 sizeof(dualcam_t_path)));
    ck_assert(dualcam_t_sent_resume(&t, 3, 0));
    ck_assert(dualcam_t_sent_resume(&t, 4, 1024));
    ck_assert(dualcam_t_sent_repeat(&t, 5));
    ck_assert(dualcam_t_sent_close(&t, 6));

    dualcam_t_check_file(&t, 0, 3000);
    ck_assert(t.h.files[0].file.path_mode);
    ck_assert_int_eq(t.h.files[0].file.kind, DUALCAM_KIND_PATH);
    ck_assert_uint_eq(t.h.files[0].file.flag, DUALCAM_FLAG_PATH);
    ck_assert_str_eq(t.h.files[0].file.name, dualcam_t_path);
    ck_assert_uint_eq(t.h.files[0].file.name_len, sizeof(dualcam_t_path));
    ck_assert_uint_eq(t.h.files[0].file.total, 3000);
    ck_assert_uint_eq(t.h.files[0].file.max_size, 3000);
    ck_assert_uint_eq(t.h.files[0].file.crc_errors, 1);
    ck_assert(t.h.files[0].file.has_meta);
    ck_assert_int_eq(t.h.files[0].file.meta.type, DUALCAM_META_DSM);
    ck_assert_str_eq(t.h.files[0].file.meta.driver, "Driver");
    ck_assert_str_eq(dualcam_path_extension(t.h.files[0].file.name,
                                            t.h.files[0].file.name_len),
                     "jpg");
    dualcam_t_free(&t);

    /* resumed from a byte offset */

    dualcam_t_init(&t);
    dualcam_script_hello(&t.sc, 6, DUALCAM_T_IMEI, 0x02);
    dualcam_script_frame(&t.sc, DUALCAM_CMD_PATH, dualcam_t_path,
                         sizeof(dualcam_t_path) - 1);
    dualcam_script_start(&t.sc, 3000);
    dualcam_script_sync(&t.sc, 1500);
    dualcam_script_file(&t.sc, dualcam_t_data, 3000, 1500);
    dualcam_script_hello(&t.sc, 6, DUALCAM_T_IMEI, 0x00);

    dualcam_t_run(&t);
    t.h.resume_data = dualcam_t_data;
    t.h.resume_len = 1500;
    dualcam_t_feed(&t);

    ck_assert_int_eq(t.h.result, DUALCAM_RESULT_OK);
    ck_assert(dualcam_t_sent_req(&t, 1, dualcam_t_path,
                                 sizeof(dualcam_t_path) - 1));
    ck_assert(dualcam_t_sent_resume(&t, 2, 1500));
    dualcam_t_check_file(&t, 0, 3000);
    ck_assert_uint_eq(t.h.files[0].file.resume_from, 1500);
    dualcam_t_free(&t);
}
END_TEST


/* 0x000E: the offset must be where we are, else it is a RESUME */

START_TEST(test_server_enhanced)
{
    dualcam_t_t  t;

    dualcam_t_init(&t);
    dualcam_script_hello(&t.sc, 6, DUALCAM_T_IMEI, 0x02);
    dualcam_script_frame(&t.sc, DUALCAM_CMD_PATH, "x.mp4", 5);
    dualcam_script_start(&t.sc, 2500);
    dualcam_script_sync(&t.sc, 0);
    dualcam_script_enhanced(&t.sc, 0, dualcam_t_data, 1000);
    dualcam_script_enhanced(&t.sc, 1000, dualcam_t_data + 1000, 1000);
    dualcam_script_enhanced(&t.sc, 2000, dualcam_t_data + 2000, 500);
    dualcam_script_hello(&t.sc, 6, DUALCAM_T_IMEI, 0x00);

    dualcam_t_run(&t);
    dualcam_t_feed(&t);

    ck_assert_int_eq(t.h.result, DUALCAM_RESULT_OK);
    dualcam_t_check_file(&t, 0, 2500);
    ck_assert_uint_eq(t.h.files[0].file.crc_errors, 0);
    dualcam_t_free(&t);

    /* an offset that skips ahead */

    dualcam_t_init(&t);
    dualcam_script_hello(&t.sc, 6, DUALCAM_T_IMEI, 0x02);
    dualcam_script_frame(&t.sc, DUALCAM_CMD_PATH, "x.mp4", 5);
    dualcam_script_start(&t.sc, 2500);
    dualcam_script_sync(&t.sc, 0);
    dualcam_script_enhanced(&t.sc, 0, dualcam_t_data, 1000);
    dualcam_script_enhanced(&t.sc, 1500, dualcam_t_data + 1500, 1000);
    dualcam_script_sync(&t.sc, 1000);
    dualcam_script_enhanced(&t.sc, 1000, dualcam_t_data + 1000, 1000);
    dualcam_script_data(&t.sc, dualcam_t_data + 2000, 500);
    dualcam_script_hello(&t.sc, 6, DUALCAM_T_IMEI, 0x00);

    dualcam_t_run(&t);
    dualcam_t_feed(&t);

    ck_assert_int_eq(t.h.result, DUALCAM_RESULT_OK);
    ck_assert(dualcam_t_sent_resume(&t, 3, 1000));
    dualcam_t_check_file(&t, 0, 2500);
    ck_assert_uint_eq(t.h.files[0].file.crc_errors, 1);
    ck_assert(dualcam_harness_logged(&t.h, "offset 1500, expected 1000"));
    dualcam_t_free(&t);
}
END_TEST


START_TEST(test_server_json_metadata)
{
    static const char  json[] = "{\"version\":1,\"file\":{\"duration\":5}}";
    dualcam_t_t        t;

    dualcam_t_init(&t);
    t.conf.metadata = 1;

    dualcam_script_hello(&t.sc, 6, DUALCAM_T_IMEI, 0x02);
    dualcam_script_frame(&t.sc, DUALCAM_CMD_PATH, "dualcam_front/1.h265",
                         20);
    dualcam_script_frame(&t.sc, DUALCAM_CMD_METADATA, json,
                         sizeof(json) - 1);
    dualcam_script_start(&t.sc, 10);
    dualcam_script_sync(&t.sc, 0);
    dualcam_script_data(&t.sc, dualcam_t_data, 10);
    dualcam_script_hello(&t.sc, 6, DUALCAM_T_IMEI, 0x00);

    dualcam_t_run(&t);
    dualcam_t_feed(&t);

    /* the harness checked the pointer was inside that step's input */
    ck_assert_int_eq(t.h.result, DUALCAM_RESULT_OK);
    ck_assert_uint_eq(t.h.metas, 1);
    ck_assert_int_eq(t.h.meta.type, DUALCAM_META_JSON);
    ck_assert_uint_eq(t.h.meta.json_len, sizeof(json) - 1);
    ck_assert_ptr_null(t.s.file.meta.json);
    dualcam_t_check_file(&t, 0, 10);
    dualcam_t_free(&t);
}
END_TEST


/* the integration test's case: STATUS 0x11 instead of START */

START_TEST(test_server_status_on_request)
{
    dualcam_t_t  t;

    dualcam_t_init(&t);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x04);
    dualcam_script_u32(&t.sc, DUALCAM_CMD_STATUS, 0x11);

    dualcam_t_run(&t);
    dualcam_t_feed(&t);

    ck_assert_int_eq(t.h.result, DUALCAM_RESULT_DEVICE_STATUS);
    ck_assert_uint_eq(t.h.opens, 0);
    ck_assert_uint_eq(t.h.commits, 0);
    ck_assert_uint_eq(t.h.aborts, 0);
    ck_assert_uint_eq(t.h.nsends, 2);
    ck_assert(dualcam_t_sent_req(&t, 0, "%photof", 7));
    ck_assert(dualcam_t_sent_close(&t, 1));
    ck_assert_uint_eq(t.h.logs_at[DUALCAM_LOG_NOTICE], 1);
    ck_assert_msg(dualcam_harness_logged(&t.h, "device status 17: failed to "
                                         "read file"), "%s", t.h.logtext);
    dualcam_t_free(&t);

    /* STATUS 0 instead of START: skipped like START 0 */

    dualcam_t_init(&t);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x04);
    dualcam_script_u32(&t.sc, DUALCAM_CMD_STATUS, 0);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x04);

    dualcam_t_run(&t);
    dualcam_t_feed(&t);

    ck_assert_int_eq(t.h.result, DUALCAM_RESULT_OK);
    ck_assert_uint_eq(t.h.nsends, 3);
    ck_assert(dualcam_t_sent_repeat(&t, 1));
    ck_assert(dualcam_t_sent_close(&t, 2));
    dualcam_t_free(&t);
}
END_TEST


/* STATUS answering the metadata query: that file is skipped */

START_TEST(test_server_status_on_metadata)
{
    unsigned char  meta[32];
    dualcam_t_t    t;

    memset(meta, 0, sizeof(meta));
    meta[0] = 3;
    meta[1] = 8;

    dualcam_t_init(&t);
    t.conf.metadata = 1;

    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x4c);
    dualcam_script_u32(&t.sc, DUALCAM_CMD_STATUS, 0x11);
    dualcam_script_frame(&t.sc, DUALCAM_CMD_METADATA, meta, sizeof(meta));
    dualcam_t_photo(&t.sc, 2000, 1, 0);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x44);

    dualcam_t_run(&t);
    dualcam_t_feed(&t);

    ck_assert_int_eq(t.h.result, DUALCAM_RESULT_OK);
    ck_assert_uint_eq(t.h.nsends, 6);
    ck_assert(dualcam_t_sent_cmd(&t, 0, DUALCAM_CMD_METADATA_QUERY,
                                 "%photof", 7));
    ck_assert(dualcam_t_sent_cmd(&t, 1, DUALCAM_CMD_METADATA_QUERY,
                                 "%photor", 7));
    ck_assert(dualcam_t_sent_req(&t, 2, "%photor", 7));
    ck_assert(dualcam_t_sent_resume(&t, 3, 0));
    ck_assert(dualcam_t_sent_repeat(&t, 4));
    ck_assert(dualcam_t_sent_close(&t, 5));
    dualcam_t_check_file(&t, 0, 2000);
    ck_assert_int_eq(t.h.files[0].file.side, DUALCAM_SIDE_REAR);
    ck_assert(dualcam_harness_logged(&t.h, "device status 17"));
    ck_assert(dualcam_harness_logged(&t.h, "skipping"));
    dualcam_t_free(&t);
}
END_TEST


START_TEST(test_server_status_in_transfer)
{
    dualcam_t_t  t;

    /* code 0 means nothing */

    dualcam_t_init(&t);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x04);
    dualcam_script_start(&t.sc, 10);
    dualcam_script_sync(&t.sc, 1);
    dualcam_script_file(&t.sc, dualcam_t_data, 2048, 0);
    dualcam_script_u32(&t.sc, DUALCAM_CMD_STATUS, 0);
    dualcam_script_file(&t.sc, dualcam_t_data, DUALCAM_T_SIZE, 2048);
    dualcam_script_u32(&t.sc, DUALCAM_CMD_STATUS, 0);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x00);

    dualcam_t_run(&t);
    dualcam_t_feed(&t);

    ck_assert_int_eq(t.h.result, DUALCAM_RESULT_OK);
    dualcam_t_check_file(&t, 0, DUALCAM_T_SIZE);
    dualcam_t_free(&t);

    /* anything else ends the session, the verified part kept */

    dualcam_t_init(&t);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x04);
    dualcam_script_start(&t.sc, 10);
    dualcam_script_sync(&t.sc, 1);
    dualcam_script_file(&t.sc, dualcam_t_data, 2048, 0);
    dualcam_script_u32(&t.sc, DUALCAM_CMD_STATUS, 4);

    dualcam_t_run(&t);
    dualcam_t_feed(&t);

    ck_assert_int_eq(t.h.result, DUALCAM_RESULT_DEVICE_STATUS);
    ck_assert_uint_eq(t.h.aborts, 1);
    ck_assert_uint_eq(t.h.abort_received, 2048);
    ck_assert(dualcam_t_sent_close(&t, t.h.nsends - 1));
    ck_assert(dualcam_harness_logged(&t.h, "device status 4: device aborted"));
    dualcam_t_free(&t);
}
END_TEST


START_TEST(test_server_timer)
{
    size_t            consumed;
    dualcam_t_t       t;
    dualcam_action_t  act;

    dualcam_t_init(&t);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x04);
    dualcam_script_start(&t.sc, 10);

    dualcam_t_run(&t);

    ck_assert(!dualcam_server_waiting_sync(&t.s));
    ck_assert_int_eq(dualcam_server_timer(&t.s, &act), DUALCAM_AGAIN);

    dualcam_t_feed(&t);

    ck_assert(dualcam_server_waiting_sync(&t.s));

    /* repeated twice (max_resume_repeats), the same RESUME */

    ck_assert_int_eq(dualcam_server_timer(&t.s, &act), DUALCAM_ACTION);
    dualcam_harness_record(&t.h, &t.s, &act);
    dualcam_harness_pump(&t.h, &t.s);
    ck_assert(dualcam_server_waiting_sync(&t.s));
    ck_assert_int_eq(dualcam_server_timer(&t.s, &act), DUALCAM_ACTION);
    dualcam_harness_record(&t.h, &t.s, &act);
    dualcam_harness_pump(&t.h, &t.s);

    ck_assert_uint_eq(t.h.nsends, 4);
    ck_assert(dualcam_t_sent_resume(&t, 1, 0));
    ck_assert(dualcam_t_sent_resume(&t, 2, 0));
    ck_assert(dualcam_t_sent_resume(&t, 3, 0));
    ck_assert(!t.h.closed);

    /* then the session ends: LOG, FILE_ABORT, CLOSE timeout */

    ck_assert_int_eq(dualcam_server_timer(&t.s, &act), DUALCAM_ACTION);
    ck_assert_int_eq(act.type, DUALCAM_ACT_LOG);
    ck_assert(strstr(act.msg, "RESUME 0 repeated 2 times") != NULL);
    dualcam_harness_record(&t.h, &t.s, &act);
    dualcam_harness_pump(&t.h, &t.s);

    ck_assert(!t.h.error);
    ck_assert_int_eq(t.h.result, DUALCAM_RESULT_TIMEOUT);
    ck_assert_uint_eq(t.h.aborts, 1);
    ck_assert_uint_eq(t.h.abort_received, 0);
    ck_assert(!dualcam_server_waiting_sync(&t.s));
    ck_assert_int_eq(dualcam_server_step(&t.s, NULL, 0, &consumed, &act),
                     DUALCAM_AGAIN);
    dualcam_t_free(&t);

    /* after a bad CRC the repeated RESUME is the bad packet's number */

    dualcam_t_init(&t);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x04);
    dualcam_script_start(&t.sc, 10);
    dualcam_script_sync(&t.sc, 1);
    dualcam_script_file(&t.sc, dualcam_t_data, 3 * 1024, 0);
    dualcam_script_data_bad(&t.sc, dualcam_t_data + 3 * 1024, 1024);

    dualcam_t_run(&t);
    dualcam_t_feed(&t);

    ck_assert(dualcam_server_waiting_sync(&t.s));
    ck_assert_int_eq(dualcam_server_timer(&t.s, &act), DUALCAM_ACTION);
    dualcam_harness_record(&t.h, &t.s, &act);
    ck_assert(dualcam_t_sent_resume(&t, 2, 4));
    ck_assert(dualcam_t_sent_resume(&t, 3, 4));

    /* and the SYNC ends the waiting */

    dualcam_script_free(&t.sc);
    dualcam_script_sync(&t.sc, 4);
    dualcam_t_feed(&t);
    ck_assert(!dualcam_server_waiting_sync(&t.s));
    dualcam_t_free(&t);
}
END_TEST


/*
 * The RESUME timer fires while the device's SYNC is on its way: the
 * device answers both RESUMEs, so a second SYNC and the file again come
 * after the file was complete and 00 09 sent; they are dropped until the
 * init, and the session goes on.
 */

START_TEST(test_server_late_sync)
{
    dualcam_t_t       t;
    dualcam_action_t  act;

    dualcam_t_init(&t);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x04);
    dualcam_script_start(&t.sc, 3);

    dualcam_t_run(&t);
    dualcam_t_feed(&t);

    ck_assert(dualcam_server_waiting_sync(&t.s));
    ck_assert_int_eq(dualcam_server_timer(&t.s, &act), DUALCAM_ACTION);
    dualcam_harness_record(&t.h, &t.s, &act);

    dualcam_script_free(&t.sc);
    dualcam_script_sync(&t.sc, 1);
    dualcam_script_file(&t.sc, dualcam_t_data, 3 * 1024, 0);
    dualcam_script_sync(&t.sc, 1);
    dualcam_script_file(&t.sc, dualcam_t_data, 2 * 1024, 0);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x00);
    dualcam_t_feed(&t);

    ck_assert(!t.h.error);
    ck_assert_int_eq(t.h.result, DUALCAM_RESULT_OK);
    ck_assert_uint_eq(t.h.commits, 1);
    dualcam_t_check_file(&t, 0, 3 * 1024);
    ck_assert(dualcam_t_sent_close(&t, t.h.nsends - 1));
    dualcam_t_free(&t);

    /* a SYNC after 00 09 with no RESUME unanswered is still an error */

    dualcam_t_init(&t);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x04);
    dualcam_script_start(&t.sc, 1);
    dualcam_script_sync(&t.sc, 1);
    dualcam_script_file(&t.sc, dualcam_t_data, 1024, 0);
    dualcam_script_sync(&t.sc, 1);

    dualcam_t_run(&t);
    dualcam_t_feed(&t);

    ck_assert_int_eq(t.h.result, DUALCAM_RESULT_PROTOCOL_ERROR);
    dualcam_t_free(&t);
}
END_TEST


/*
 * A repeated RESUME 4 and then a bad CRC's RESUME 6: the device's second
 * SYNC 4 (the answer to the repeat) must not rewind what the SYNC 6 that
 * follows counts on.
 */

START_TEST(test_server_stale_sync)
{
    dualcam_t_t       t;
    dualcam_action_t  act;

    dualcam_t_init(&t);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x04);
    dualcam_script_start(&t.sc, 10);
    dualcam_script_sync(&t.sc, 1);
    dualcam_script_file(&t.sc, dualcam_t_data, 3 * 1024, 0);
    dualcam_script_data_bad(&t.sc, dualcam_t_data + 3 * 1024, 1024);

    dualcam_t_run(&t);
    dualcam_t_feed(&t);
    ck_assert(dualcam_t_sent_resume(&t, t.h.nsends - 1, 4));

    ck_assert_int_eq(dualcam_server_timer(&t.s, &act), DUALCAM_ACTION);
    dualcam_harness_record(&t.h, &t.s, &act);
    ck_assert(dualcam_t_sent_resume(&t, t.h.nsends - 1, 4));

    /* the answer to the first RESUME 4, then a bad CRC at packet 6 */

    dualcam_script_free(&t.sc);
    dualcam_script_sync(&t.sc, 4);
    dualcam_script_file(&t.sc, dualcam_t_data + 3 * 1024, 2 * 1024, 0);
    dualcam_script_data_bad(&t.sc, dualcam_t_data + 5 * 1024, 1024);
    dualcam_t_feed(&t);
    ck_assert(dualcam_t_sent_resume(&t, t.h.nsends - 1, 6));

    /* the answer to the repeated RESUME 4, cut short by the RESUME 6 */

    dualcam_script_free(&t.sc);
    dualcam_script_sync(&t.sc, 4);
    dualcam_script_file(&t.sc, dualcam_t_data + 3 * 1024, 1024, 0);
    dualcam_script_sync(&t.sc, 6);
    dualcam_script_file(&t.sc, dualcam_t_data + 5 * 1024,
                        DUALCAM_T_SIZE - 5 * 1024, 0);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x00);
    dualcam_t_feed(&t);

    ck_assert(!t.h.error);
    ck_assert_int_eq(t.h.result, DUALCAM_RESULT_OK);
    dualcam_t_check_file(&t, 0, DUALCAM_T_SIZE);
    dualcam_t_free(&t);
}
END_TEST


START_TEST(test_server_refuse)
{
    dualcam_t_t  t;

    dualcam_t_init(&t);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x04);

    dualcam_t_run(&t);
    t.h.refuse = 1;
    dualcam_t_feed(&t);

    ck_assert_int_eq(t.h.result, DUALCAM_RESULT_REFUSED);
    ck_assert_uint_eq(t.h.nsends, 1);
    ck_assert(dualcam_t_sent_close(&t, 0));
    ck_assert_uint_eq(t.h.hellos, 1);
    dualcam_t_free(&t);
}
END_TEST


START_TEST(test_server_progress)
{
    dualcam_t_t  t;

    dualcam_t_init(&t);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x10);
    dualcam_t_photo(&t.sc, 40 * 1024, 1, 0);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x00);

    dualcam_t_run(&t);
    dualcam_t_feed(&t);

    ck_assert_int_eq(t.h.result, DUALCAM_RESULT_OK);
    ck_assert_uint_eq(t.h.writes, 40);
    ck_assert_uint_eq(t.h.progress, 3);
    dualcam_t_check_file(&t, 0, 40 * 1024);
    ck_assert_uint_eq(t.h.files[0].file.total, 40);
    dualcam_t_free(&t);
}
END_TEST


/* a device that waits for the RESUME repeats its START */

START_TEST(test_server_repeated_start)
{
    dualcam_t_t  t;

    dualcam_t_init(&t);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x04);
    dualcam_script_start(&t.sc, 10);
    dualcam_script_start(&t.sc, 10);
    dualcam_script_sync(&t.sc, 1);
    dualcam_script_file(&t.sc, dualcam_t_data, DUALCAM_T_SIZE, 0);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x00);

    dualcam_t_run(&t);
    dualcam_t_feed(&t);

    ck_assert_int_eq(t.h.result, DUALCAM_RESULT_OK);
    ck_assert_uint_eq(t.h.opens, 1);
    dualcam_t_check_file(&t, 0, DUALCAM_T_SIZE);
    dualcam_t_free(&t);
}
END_TEST


START_TEST(test_server_end)
{
    dualcam_t_t  t;

    /* the device goes away mid-file: the verified packets are kept */

    dualcam_t_init(&t);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x04);
    dualcam_script_start(&t.sc, 10);
    dualcam_script_sync(&t.sc, 1);
    dualcam_script_file(&t.sc, dualcam_t_data, 6 * 1024, 0);

    /* the sixth DATA frame cut: 700 of its 1030 bytes arrived */
    t.sc.len -= 330;

    dualcam_t_run(&t);
    dualcam_t_feed(&t);

    ck_assert(!t.h.closed);
    ck_assert_uint_eq(dualcam_harness_pending(&t.h), 700);

    dualcam_harness_end(&t.h, &t.s, DUALCAM_RESULT_CLOSED_BY_DEVICE);
    ck_assert_int_eq(t.h.result, DUALCAM_RESULT_CLOSED_BY_DEVICE);
    ck_assert_uint_eq(t.h.aborts, 1);
    ck_assert_uint_eq(t.h.abort_received, 5 * 1024);
    dualcam_t_free(&t);

    /* between files there is nothing to abort */

    dualcam_t_init(&t);
    dualcam_script_hello(&t.sc, 5, DUALCAM_T_IMEI, 0x04);

    dualcam_t_run(&t);
    dualcam_t_feed(&t);

    dualcam_harness_end(&t.h, &t.s, DUALCAM_RESULT_STORE_ERROR);
    ck_assert_int_eq(t.h.result, DUALCAM_RESULT_STORE_ERROR);
    ck_assert_uint_eq(t.h.aborts, 0);
    dualcam_t_free(&t);
}
END_TEST


Suite *
server_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("server");
    tc = tcase_create("server");

    tcase_add_unchecked_fixture(tc, dualcam_t_setup, NULL);

    tcase_add_test(tc, test_server_plain);
    tcase_add_test(tc, test_server_commit_waits);
    tcase_add_test(tc, test_server_duplicate);
    tcase_add_test(tc, test_server_resume_from);
    tcase_add_test(tc, test_server_sync);
    tcase_add_test(tc, test_server_bad_crc);
    tcase_add_test(tc, test_server_crc_limit);
    tcase_add_test(tc, test_server_start_zero);
    tcase_add_test(tc, test_server_order);
    tcase_add_test(tc, test_server_path_mode);
    tcase_add_test(tc, test_server_enhanced);
    tcase_add_test(tc, test_server_json_metadata);
    tcase_add_test(tc, test_server_status_on_request);
    tcase_add_test(tc, test_server_status_on_metadata);
    tcase_add_test(tc, test_server_status_in_transfer);
    tcase_add_test(tc, test_server_timer);
    tcase_add_test(tc, test_server_late_sync);
    tcase_add_test(tc, test_server_stale_sync);
    tcase_add_test(tc, test_server_refuse);
    tcase_add_test(tc, test_server_progress);
    tcase_add_test(tc, test_server_repeated_start);
    tcase_add_test(tc, test_server_end);
    suite_add_tcase(s, tc);

    return s;
}
