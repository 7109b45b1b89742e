/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * What a broken or hostile device may send.  Every case must end with
 * the expected result, a file in flight aborted with only verified
 * bytes, and no read outside the input (run under ASan).
 */


#include <stdlib.h>
#include <string.h>

#include "tests.h"
#include "harness.h"


#define DUALCAM_B_IMEI  356307042441013ULL


static unsigned char  dualcam_b_data[16 * 1024];


typedef struct {
    dualcam_server_conf_t     conf;
    dualcam_server_t          s;
    dualcam_harness_t         h;
    dualcam_script_t          sc;
} dualcam_b_t;


static void
dualcam_b_init(dualcam_b_t *b)
{
    size_t  i;

    for (i = 0; i < sizeof(dualcam_b_data); i++) {
        dualcam_b_data[i] = (unsigned char) (i * 7 + (i >> 8));
    }

    memset(b, 0, sizeof(dualcam_b_t));

    b->conf.max_file_size = 1024 * 1024;
    b->conf.buffer_size = 4096;
    b->conf.max_crc_errors = 4;
    b->conf.max_resume_repeats = 2;

    dualcam_script_init(&b->sc);
}


/* runs the script in one read and byte by byte, which must agree */

static void
dualcam_b_run(dualcam_b_t *b, dualcam_result_e want)
{
    size_t             one;
    dualcam_harness_t  h2;
    dualcam_server_t   s2;

    dualcam_server_init(&b->s, &b->conf);
    dualcam_harness_init(&b->h, b->conf.buffer_size);
    dualcam_harness_feed(&b->h, &b->s, b->sc.p, b->sc.len, NULL, 0);

    ck_assert_msg(!b->h.error, "harness: %s", b->h.error_msg);
    ck_assert_msg(b->h.closed, "not closed");
    ck_assert_msg(b->h.result == want, "result %s, want %s: %s",
                  dualcam_result_name(b->h.result),
                  dualcam_result_name(want), b->h.logtext);

    one = 1;

    dualcam_server_init(&s2, &b->conf);
    dualcam_harness_init(&h2, b->conf.buffer_size);
    dualcam_harness_feed(&h2, &s2, b->sc.p, b->sc.len, &one, 1);

    ck_assert(!h2.error);
    ck_assert_int_eq(h2.result, b->h.result);
    ck_assert_uint_eq(h2.nsends, b->h.nsends);
    ck_assert_uint_eq(h2.aborts, b->h.aborts);
    ck_assert_uint_eq(h2.abort_received, b->h.abort_received);

    dualcam_harness_free(&h2);
}


static void
dualcam_b_free(dualcam_b_t *b)
{
    dualcam_harness_free(&b->h);
    dualcam_script_free(&b->sc);
}


/* the device's frames up to and including the SYNC of a photo */

static void
dualcam_b_to_sync(dualcam_b_t *b, uint32_t total)
{
    dualcam_script_hello(&b->sc, 5, DUALCAM_B_IMEI, 0x04);
    dualcam_script_start(&b->sc, total);
    dualcam_script_sync(&b->sc, 1);
}


START_TEST(test_bad_unknown_command)
{
    unsigned     cmd, i;
    dualcam_b_t  b;

    static const unsigned  cmds[] = {
        0x0000, 0x0002, 0x0006, 0x0007, 0x0008, 0x0009, 0x000a, 0x000c,
        0x000f, 0x0010, 0x0104, 0xffff
    };

    for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        cmd = cmds[i];

        /* after the init, and in the middle of a transfer */

        dualcam_b_init(&b);
        dualcam_script_hello(&b.sc, 5, DUALCAM_B_IMEI, 0x04);
        dualcam_script_frame(&b.sc, cmd, "\0\0\0\0", 4);
        dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
        ck_assert_uint_eq(b.h.aborts, 0);
        dualcam_b_free(&b);

        dualcam_b_init(&b);
        dualcam_b_to_sync(&b, 4);
        dualcam_script_data(&b.sc, dualcam_b_data, 1024);
        dualcam_script_frame(&b.sc, cmd, "\0\0\0\0", 4);
        dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
        ck_assert_uint_eq(b.h.aborts, 1);
        ck_assert_uint_eq(b.h.abort_received, 1024);
        ck_assert(dualcam_harness_logged(&b.h, "command 0x"));
        dualcam_b_free(&b);
    }

    /* known commands in the wrong place */

    dualcam_b_init(&b);
    dualcam_script_hello(&b.sc, 5, DUALCAM_B_IMEI, 0x04);
    dualcam_script_u32(&b.sc, DUALCAM_CMD_SYNC, 1);
    dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
    dualcam_b_free(&b);

    dualcam_b_init(&b);
    dualcam_b_to_sync(&b, 4);
    dualcam_script_start(&b.sc, 4);
    dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
    dualcam_b_free(&b);

    dualcam_b_init(&b);
    dualcam_script_hello(&b.sc, 5, DUALCAM_B_IMEI, 0x04);
    dualcam_script_frame(&b.sc, DUALCAM_CMD_METADATA, "\3", 1);
    dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
    dualcam_b_free(&b);

    dualcam_b_init(&b);
    dualcam_script_hello(&b.sc, 5, DUALCAM_B_IMEI, 0x04);
    dualcam_script_frame(&b.sc, DUALCAM_CMD_PATH, "a", 1);
    dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
    dualcam_b_free(&b);

    /* a START of a different size while waiting for SYNC */

    dualcam_b_init(&b);
    dualcam_script_hello(&b.sc, 5, DUALCAM_B_IMEI, 0x04);
    dualcam_script_start(&b.sc, 4);
    dualcam_script_start(&b.sc, 5);
    dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
    ck_assert_uint_eq(b.h.aborts, 1);
    dualcam_b_free(&b);

    /* garbage instead of the init */

    dualcam_b_init(&b);
    dualcam_script_raw(&b.sc, "GET / HTTP/1.1\r\n", 16);
    dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
    ck_assert_uint_eq(b.h.hellos, 0);
    dualcam_b_free(&b);
}
END_TEST


START_TEST(test_bad_data_before_sync)
{
    dualcam_b_t  b;

    dualcam_b_init(&b);
    dualcam_script_hello(&b.sc, 5, DUALCAM_B_IMEI, 0x04);
    dualcam_script_start(&b.sc, 4);
    dualcam_script_data(&b.sc, dualcam_b_data, 1024);
    dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
    ck_assert_uint_eq(b.h.aborts, 1);
    ck_assert_uint_eq(b.h.abort_received, 0);
    ck_assert_uint_eq(b.h.writes, 0);

    /* refused on its header: the body is never waited for */
    ck_assert_uint_eq(dualcam_harness_pending(&b.h), 1030);
    dualcam_b_free(&b);

    dualcam_b_init(&b);
    dualcam_script_hello(&b.sc, 5, DUALCAM_B_IMEI, 0x04);
    dualcam_script_data(&b.sc, dualcam_b_data, 10);
    dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
    dualcam_b_free(&b);

    dualcam_b_init(&b);
    dualcam_script_hello(&b.sc, 6, DUALCAM_B_IMEI, 0x02);
    dualcam_script_frame(&b.sc, DUALCAM_CMD_PATH, "p", 1);
    dualcam_script_start(&b.sc, 100);
    dualcam_script_enhanced(&b.sc, 0, dualcam_b_data, 100);
    dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
    dualcam_b_free(&b);
}
END_TEST


START_TEST(test_bad_data_length)
{
    unsigned char  hdr[4];
    dualcam_b_t    b;

    /* 1025 file bytes: refused from the header alone */

    dualcam_b_init(&b);
    dualcam_b_to_sync(&b, 4);
    dualcam_put16(hdr, DUALCAM_CMD_DATA);
    dualcam_put16(hdr + 2, 1025 + 2);
    dualcam_script_raw(&b.sc, hdr, 4);
    dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
    ck_assert_uint_eq(b.h.aborts, 1);
    dualcam_b_free(&b);

    /* 0 file bytes (a CRC only), and less than a CRC */

    dualcam_b_init(&b);
    dualcam_b_to_sync(&b, 4);
    dualcam_script_frame(&b.sc, DUALCAM_CMD_DATA, "\0\0", 2);
    dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
    dualcam_b_free(&b);

    dualcam_b_init(&b);
    dualcam_b_to_sync(&b, 4);
    dualcam_script_frame(&b.sc, DUALCAM_CMD_DATA, "", 0);
    dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
    dualcam_b_free(&b);

    /* 0x000E: 1025 bytes, and no file byte at all */

    dualcam_b_init(&b);
    dualcam_b_to_sync(&b, 4);
    dualcam_put16(hdr, DUALCAM_CMD_ENHANCED_DATA);
    dualcam_put16(hdr + 2, 1025 + 6);
    dualcam_script_raw(&b.sc, hdr, 4);
    dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
    dualcam_b_free(&b);

    dualcam_b_init(&b);
    dualcam_b_to_sync(&b, 4);
    dualcam_script_frame(&b.sc, DUALCAM_CMD_ENHANCED_DATA, "\0\0\0\0\0\0",
                         6);
    dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
    dualcam_b_free(&b);

    /* a short packet that is not the last */

    dualcam_b_init(&b);
    dualcam_b_to_sync(&b, 4);
    dualcam_script_data(&b.sc, dualcam_b_data, 1024);
    dualcam_script_data(&b.sc, dualcam_b_data + 1024, 1000);
    dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
    ck_assert_uint_eq(b.h.abort_received, 1024);
    dualcam_b_free(&b);

    /* more packets than START announced */

    dualcam_b_init(&b);
    dualcam_b_to_sync(&b, 2);
    dualcam_script_file(&b.sc, dualcam_b_data, 3 * 1024, 0);
    dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
    ck_assert_uint_eq(b.h.commits, 1);
    dualcam_b_free(&b);

    /* path mode: more bytes than START announced */

    dualcam_b_init(&b);
    dualcam_script_hello(&b.sc, 6, DUALCAM_B_IMEI, 0x02);
    dualcam_script_frame(&b.sc, DUALCAM_CMD_PATH, "p", 1);
    dualcam_script_start(&b.sc, 1500);
    dualcam_script_sync(&b.sc, 0);
    dualcam_script_data(&b.sc, dualcam_b_data, 1024);
    dualcam_script_data(&b.sc, dualcam_b_data + 1024, 1024);
    dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
    ck_assert_uint_eq(b.h.abort_received, 1024);
    dualcam_b_free(&b);

    /* STATUS and SYNC of the wrong length; paths of 0 and 256 bytes */

    dualcam_b_init(&b);
    dualcam_b_to_sync(&b, 4);
    dualcam_script_frame(&b.sc, DUALCAM_CMD_STATUS, "\0\0\0\0\0", 5);
    dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
    dualcam_b_free(&b);

    dualcam_b_init(&b);
    dualcam_b_to_sync(&b, 4);
    dualcam_script_frame(&b.sc, DUALCAM_CMD_SYNC, "\0\0\1", 3);
    dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
    dualcam_b_free(&b);

    dualcam_b_init(&b);
    dualcam_script_hello(&b.sc, 6, DUALCAM_B_IMEI, 0x02);
    dualcam_script_frame(&b.sc, DUALCAM_CMD_PATH, "", 0);
    dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
    dualcam_b_free(&b);

    dualcam_b_init(&b);
    dualcam_script_hello(&b.sc, 6, DUALCAM_B_IMEI, 0x02);
    dualcam_script_frame(&b.sc, DUALCAM_CMD_PATH, dualcam_b_data, 256);
    dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
    dualcam_b_free(&b);

    /* a 255-byte path of any bytes is fine, and logged safely */

    dualcam_b_init(&b);
    b.conf.metadata = 1;
    dualcam_script_hello(&b.sc, 6, DUALCAM_B_IMEI, 0x02);
    dualcam_script_frame(&b.sc, DUALCAM_CMD_PATH, dualcam_b_data, 255);
    dualcam_script_u32(&b.sc, DUALCAM_CMD_STATUS, 17);
    dualcam_b_run(&b, DUALCAM_RESULT_OK);
    ck_assert(dualcam_harness_logged(&b.h, "device status 17"));
    dualcam_b_free(&b);
}
END_TEST


/* a length field larger than the buffer: refused before buffering it */

START_TEST(test_bad_frame_too_large)
{
    size_t         i;
    unsigned char  hdr[4];
    dualcam_b_t    b;

    static const unsigned  cmds[] = {
        DUALCAM_CMD_METADATA, DUALCAM_CMD_DATA, DUALCAM_CMD_PATH,
        DUALCAM_CMD_ENHANCED_DATA, DUALCAM_CMD_START
    };

    for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        dualcam_b_init(&b);
        b.conf.metadata = 1;
        dualcam_script_hello(&b.sc, 5, DUALCAM_B_IMEI, 0x04);
        dualcam_put16(hdr, (uint16_t) cmds[i]);
        dualcam_put16(hdr + 2, 65535);
        dualcam_script_raw(&b.sc, hdr, 4);
        dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
        dualcam_b_free(&b);
    }

    /* metadata that fits the frame limit but not the buffer */

    dualcam_b_init(&b);
    b.conf.metadata = 1;
    b.conf.buffer_size = 2048;
    dualcam_script_hello(&b.sc, 5, DUALCAM_B_IMEI, 0x04);
    dualcam_put16(hdr, DUALCAM_CMD_METADATA);
    dualcam_put16(hdr + 2, 2045);
    dualcam_script_raw(&b.sc, hdr, 4);
    dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
    dualcam_b_free(&b);
}
END_TEST


START_TEST(test_bad_sync_beyond)
{
    dualcam_b_t  b;

    dualcam_b_init(&b);
    dualcam_script_hello(&b.sc, 5, DUALCAM_B_IMEI, 0x04);
    dualcam_script_start(&b.sc, 10);
    dualcam_script_sync(&b.sc, 5);
    dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
    ck_assert(dualcam_harness_logged(&b.h, "SYNC 5 beyond"));
    dualcam_b_free(&b);

    /* after 2 good packets SYNC 3 is fine, SYNC 4 is not */

    dualcam_b_init(&b);
    dualcam_b_to_sync(&b, 10);
    dualcam_script_file(&b.sc, dualcam_b_data, 2048, 0);
    dualcam_script_sync(&b.sc, 4);
    dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
    ck_assert_uint_eq(b.h.abort_received, 2048);
    dualcam_b_free(&b);

    dualcam_b_init(&b);
    dualcam_script_hello(&b.sc, 6, DUALCAM_B_IMEI, 0x02);
    dualcam_script_frame(&b.sc, DUALCAM_CMD_PATH, "p", 1);
    dualcam_script_start(&b.sc, 5000);
    dualcam_script_sync(&b.sc, 1);
    dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
    dualcam_b_free(&b);

    dualcam_b_init(&b);
    dualcam_b_to_sync(&b, 10);
    dualcam_script_sync(&b.sc, 0xffffffff);
    dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
    dualcam_b_free(&b);
}
END_TEST


START_TEST(test_bad_start_too_large)
{
    dualcam_b_t  b;

    /* packets: refused at once when even the smallest file is too big */

    dualcam_b_init(&b);
    b.conf.max_file_size = 10000;
    dualcam_script_hello(&b.sc, 5, DUALCAM_B_IMEI, 0x04);
    dualcam_script_start(&b.sc, 11);
    dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
    ck_assert_uint_eq(b.h.opens, 0);
    ck_assert(dualcam_harness_logged(&b.h, "at least 10241 bytes"));
    dualcam_b_free(&b);

    dualcam_b_init(&b);
    b.conf.max_file_size = 10000;
    dualcam_script_hello(&b.sc, 5, DUALCAM_B_IMEI, 0x04);
    dualcam_script_start(&b.sc, 9);
    dualcam_script_sync(&b.sc, 1);
    dualcam_script_file(&b.sc, dualcam_b_data, 9 * 1024, 0);
    dualcam_script_hello(&b.sc, 5, DUALCAM_B_IMEI, 0x00);
    dualcam_b_run(&b, DUALCAM_RESULT_OK);
    dualcam_b_free(&b);

    /* bytes */

    dualcam_b_init(&b);
    b.conf.max_file_size = 10000;
    dualcam_script_hello(&b.sc, 6, DUALCAM_B_IMEI, 0x02);
    dualcam_script_frame(&b.sc, DUALCAM_CMD_PATH, "p", 1);
    dualcam_script_start(&b.sc, 10001);
    dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
    dualcam_b_free(&b);

    /* the largest START with no limit does not overflow anything */

    dualcam_b_init(&b);
    b.conf.max_file_size = 0;
    dualcam_script_hello(&b.sc, 5, DUALCAM_B_IMEI, 0x04);
    dualcam_script_start(&b.sc, 0xffffffff);
    dualcam_script_sync(&b.sc, 1);
    dualcam_script_file(&b.sc, dualcam_b_data, 2048, 0);
    dualcam_script_u32(&b.sc, DUALCAM_CMD_STATUS, 4);
    dualcam_b_run(&b, DUALCAM_RESULT_DEVICE_STATUS);
    ck_assert_uint_eq(b.h.abort_received, 2048);
    dualcam_b_free(&b);
}
END_TEST


START_TEST(test_bad_imei)
{
    dualcam_b_t  b;

    dualcam_b_init(&b);
    dualcam_script_hello(&b.sc, 5, 1000000000000000ULL, 0x04);
    dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
    ck_assert_uint_eq(b.h.hellos, 0);
    ck_assert_uint_eq(b.h.nsends, 1);
    ck_assert(dualcam_harness_sent(&b.h, 0,
                                   (const unsigned char *) "\0\0\0\0", 4));
    ck_assert(dualcam_harness_logged(&b.h, "1000000000000000"));
    dualcam_b_free(&b);

    dualcam_b_init(&b);
    dualcam_script_hello(&b.sc, 5, 0xffffffffffffffffULL, 0x04);
    dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
    dualcam_b_free(&b);

    /* the largest 15-digit IMEI is fine */

    dualcam_b_init(&b);
    dualcam_script_hello(&b.sc, 5, 999999999999999ULL, 0x00);
    dualcam_b_run(&b, DUALCAM_RESULT_OK);
    ck_assert_uint_eq(b.s.imei, 999999999999999ULL);
    dualcam_b_free(&b);

    /* another IMEI in a repeated init */

    dualcam_b_init(&b);
    dualcam_script_hello(&b.sc, 5, DUALCAM_B_IMEI, 0x04);
    dualcam_script_start(&b.sc, 0);
    dualcam_script_hello(&b.sc, 5, DUALCAM_B_IMEI + 1, 0x04);
    dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
    ck_assert(dualcam_harness_logged(&b.h, "IMEI changed"));
    dualcam_b_free(&b);
}
END_TEST


/*
 * The stream stops inside a frame, at every byte of a small session: the
 * step asks for more, and ending the session aborts the file with the
 * verified packets only.
 */

START_TEST(test_bad_truncated)
{
    size_t             k, full, done;
    dualcam_script_t   sc;
    dualcam_server_t   s;
    dualcam_harness_t  h;
    dualcam_b_t        b;

    dualcam_b_init(&b);
    dualcam_script_init(&sc);
    dualcam_script_hello(&sc, 5, DUALCAM_B_IMEI, 0x04);
    dualcam_script_start(&sc, 3);
    dualcam_script_sync(&sc, 1);
    dualcam_script_file(&sc, dualcam_b_data, 2500, 0);

    full = sc.len;

    for (k = 0; k < full; k++) {
        dualcam_server_init(&s, &b.conf);
        dualcam_harness_init(&h, b.conf.buffer_size);
        dualcam_harness_feed(&h, &s, sc.p, k, NULL, 0);

        ck_assert(!h.error);
        ck_assert(!h.closed);

        dualcam_harness_end(&h, &s, DUALCAM_RESULT_CLOSED_BY_DEVICE);
        ck_assert_int_eq(h.result, DUALCAM_RESULT_CLOSED_BY_DEVICE);

        /* the DATA frames start after init, START and SYNC */
        done = k < 16 + 10 + 8 ? 0 : (k - 16 - 10 - 8) / 1030;

        ck_assert_uint_eq(h.aborts, k >= 16 + 10);

        if (h.aborts) {
            ck_assert_uint_eq(h.abort_received, done * 1024);
            ck_assert(done == 0
                      || memcmp(h.cur, dualcam_b_data, done * 1024) == 0);
        }

        dualcam_harness_free(&h);
    }

    dualcam_script_free(&sc);
    dualcam_b_free(&b);
}
END_TEST


/* every metadata length 0..64 but the valid ones, for each version */

/*
 * dualcam_max_file_size in packets is on the bytes received: a 900-byte
 * photo under a 1000-byte limit is stored.  For sizes up to 2 KiB past
 * the limit: stored when it fits; refused before FILE_OPEN only when
 * START x 1024 - 1023 exceeds the limit; otherwise ended at the packet
 * that goes over, with nothing committed.  Every size within a packet
 * of the limit and at each packet edge is tried, others sparsely.
 */

START_TEST(test_bad_max_size_received)
{
    size_t       size, total, limit;
    dualcam_b_t  b;

    static const size_t  limits[] = { 1000, 1024, 3077, 4096 };

    limit = limits[_i];

    for (size = 1; size <= limit + 2048; size++) {

        if (size + 1030 < limit || size > limit + 1030) {
            if (size % 1024 > 1 && size % 1024 < 1023 && size % 97 != 0) {
                continue;
            }
        }

        total = (size + 1023) / 1024;

        dualcam_b_init(&b);
        b.conf.max_file_size = limit;
        dualcam_script_hello(&b.sc, 5, DUALCAM_B_IMEI, 0x04);
        dualcam_script_start(&b.sc, (uint32_t) total);
        dualcam_script_sync(&b.sc, 1);
        dualcam_script_file(&b.sc, dualcam_b_data, size, 0);
        dualcam_script_hello(&b.sc, 5, DUALCAM_B_IMEI, 0x00);

        if (size <= limit) {
            dualcam_b_run(&b, DUALCAM_RESULT_OK);
            ck_assert_uint_eq(b.h.commits, 1);
            ck_assert_uint_eq(b.h.files[0].len, size);

        } else if (total * 1024 - 1023 > limit) {
            dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
            ck_assert_uint_eq(b.h.opens, 0);
            ck_assert(dualcam_harness_logged(&b.h, "at least"));

        } else {
            dualcam_b_run(&b, DUALCAM_RESULT_PROTOCOL_ERROR);
            ck_assert_uint_eq(b.h.opens, 1);
            ck_assert_uint_eq(b.h.commits, 0);
            ck_assert_uint_eq(b.h.aborts, 1);

            /* what was verified before the last packet is kept */
            ck_assert_uint_eq(b.h.abort_received, (total - 1) * 1024);
            ck_assert(dualcam_harness_logged(&b.h, "over the"));
        }

        dualcam_b_free(&b);
    }
}
END_TEST


START_TEST(test_bad_metadata_lengths)
{
    size_t         n;
    unsigned       v, ok;
    unsigned char  meta[64];
    dualcam_b_t    b;

    static const size_t  lens[] = { 0, 13, 14, 32, 40, 40, 40 };

    for (v = 0; v <= 6; v++) {
        for (n = 0; n <= 64; n++) {
            memset(meta, 0, sizeof(meta));
            meta[0] = (unsigned char) v;

            if (v == 0 || n == 0) {
                ok = 0;

            } else if (v <= 4) {
                ok = (n == lens[v] || n == lens[v] + 1);

            } else {
                ok = 1;     /* newer than we know: kept raw, goes on */
            }

            dualcam_b_init(&b);
            b.conf.metadata = 1;
            dualcam_script_hello(&b.sc, 5, DUALCAM_B_IMEI, 0x04);
            dualcam_script_frame(&b.sc, DUALCAM_CMD_METADATA, meta, n);

            if (ok) {
                dualcam_script_start(&b.sc, 0);
                dualcam_script_hello(&b.sc, 5, DUALCAM_B_IMEI, 0x00);
            }

            dualcam_b_run(&b, ok ? DUALCAM_RESULT_OK
                                 : DUALCAM_RESULT_PROTOCOL_ERROR);

            if (!ok) {
                ck_assert(dualcam_harness_logged(&b.h, "metadata"));
                ck_assert_uint_eq(b.h.metas, 0);

            } else {
                ck_assert_uint_eq(b.h.metas, 1);
            }

            dualcam_b_free(&b);
        }
    }

    /* path mode: only ADAS (15) and DSM (26) */

    for (n = 0; n <= 64; n++) {
        memset(meta, 0, sizeof(meta));

        dualcam_b_init(&b);
        b.conf.metadata = 1;
        dualcam_script_hello(&b.sc, 5, DUALCAM_B_IMEI, 0x02);
        dualcam_script_frame(&b.sc, DUALCAM_CMD_PATH, "p", 1);
        dualcam_script_frame(&b.sc, DUALCAM_CMD_METADATA, meta, n);

        ok = (n == 15 || n == 26);

        if (ok) {
            dualcam_script_start(&b.sc, 0);
            dualcam_script_hello(&b.sc, 5, DUALCAM_B_IMEI, 0x00);
        }

        dualcam_b_run(&b, ok ? DUALCAM_RESULT_OK
                             : DUALCAM_RESULT_PROTOCOL_ERROR);
        dualcam_b_free(&b);
    }
}
END_TEST


/*
 * Random bytes after a valid init and after a SYNC: whatever happens, no
 * crash, no contract violation, and a write only of verified data.
 */

START_TEST(test_bad_random)
{
    size_t             i, n, chunks[8];
    unsigned           seed;
    dualcam_b_t        b;

    for (seed = 1; seed <= 2000; seed++) {
        srand(seed);

        dualcam_b_init(&b);
        b.conf.metadata = seed & 1;

        if (seed & 2) {
            dualcam_b_to_sync(&b, 5);

        } else {
            dualcam_script_hello(&b.sc, 5 + (seed & 4 ? 1 : 0),
                                 DUALCAM_B_IMEI, (unsigned) rand());
        }

        n = 1 + (size_t) rand() % 3000;

        for (i = 0; i < n; i++) {
            unsigned char  c;

            /* mostly small values, so headers look plausible */
            c = (unsigned char) (rand() % 4 ? rand() % 16 : rand());
            dualcam_script_raw(&b.sc, &c, 1);
        }

        for (i = 0; i < 8; i++) {
            chunks[i] = 1 + (size_t) rand() % 700;
        }

        dualcam_server_init(&b.s, &b.conf);
        dualcam_harness_init(&b.h, b.conf.buffer_size);
        dualcam_harness_feed(&b.h, &b.s, b.sc.p, b.sc.len, chunks, 8);
        ck_assert_msg(!b.h.error, "seed %u: %s", seed, b.h.error_msg);

        dualcam_harness_end(&b.h, &b.s, DUALCAM_RESULT_CLOSED_BY_DEVICE);
        ck_assert(!b.h.error);
        ck_assert(b.h.result != DUALCAM_RESULT_NONE);

        dualcam_b_free(&b);
    }
}
END_TEST


Suite *
badinput_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("badinput");
    tc = tcase_create("badinput");
    tcase_set_timeout(tc, 300);

    tcase_add_test(tc, test_bad_unknown_command);
    tcase_add_test(tc, test_bad_data_before_sync);
    tcase_add_test(tc, test_bad_data_length);
    tcase_add_test(tc, test_bad_frame_too_large);
    tcase_add_test(tc, test_bad_sync_beyond);
    tcase_add_test(tc, test_bad_start_too_large);
    tcase_add_test(tc, test_bad_imei);
    tcase_add_test(tc, test_bad_truncated);
    tcase_add_test(tc, test_bad_metadata_lengths);
    tcase_add_loop_test(tc, test_bad_max_size_received, 0, 4);
    tcase_add_test(tc, test_bad_random);
    suite_add_tcase(s, tc);

    return s;
}
