
/*
 * Copyright (C) ngx_stream_dualcam authors
 *
 * The libcheck suites of the core.  Each t/unit/test_NAME.c defines one
 * suite, Suite *NAME_suite(void); test_main.c lists them (and declares
 * them from that list).  See test_main.c to add one.
 */


#ifndef _DUALCAM_TESTS_H_INCLUDED_
#define _DUALCAM_TESTS_H_INCLUDED_


#include <check.h>

#include "dualcam.h"


#endif /* _DUALCAM_TESTS_H_INCLUDED_ */
