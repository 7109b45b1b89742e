
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The libcheck suites of the core.  Each t/unit/test_*.c file defines one
 * suite; test_main.c runs every suite that is linked in.
 */


#ifndef _DUALCAM_TESTS_H_INCLUDED_
#define _DUALCAM_TESTS_H_INCLUDED_


#include <check.h>

#include "dualcam.h"


/* weak, so a suite that is not written yet does not break the build */
Suite *crc_suite(void) __attribute__((weak));
Suite *meta_suite(void) __attribute__((weak));
Suite *server_suite(void) __attribute__((weak));
Suite *capture_suite(void) __attribute__((weak));
Suite *badinput_suite(void) __attribute__((weak));
Suite *device_suite(void) __attribute__((weak));
Suite *pair_suite(void) __attribute__((weak));


#endif /* _DUALCAM_TESTS_H_INCLUDED_ */
