
/*
 * Copyright (C) ngx_stream_dualcam authors
 */


#include <stdio.h>
#include <stdlib.h>

#include "tests.h"


/*
 * Every suite, one line each: DUALCAM_SUITE(NAME) runs NAME_suite(),
 * defined in t/unit/test_NAME.c.  To add a suite, write test_NAME.c and
 * add its line here, anywhere in the list (keep the backslash).
 *
 * The references are strong on purpose: a suite listed here whose file
 * is gone fails the link ("undefined reference to `NAME_suite'"), and
 * `make unit` refuses a t/unit/test_NAME.c that has no line here, so
 * neither a deleted nor a forgotten suite can pass unnoticed.
 */

#define DUALCAM_SUITES                                                        \
    DUALCAM_SUITE(crc)                                                        \
    DUALCAM_SUITE(meta)                                                       \
    DUALCAM_SUITE(server)                                                     \
    DUALCAM_SUITE(capture)                                                    \
    DUALCAM_SUITE(badinput)                                                   \
    DUALCAM_SUITE(device)                                                     \
    DUALCAM_SUITE(pair)                                                       \
    DUALCAM_SUITE(json)                                                       \
    DUALCAM_SUITE(init)                                                       \
    DUALCAM_SUITE(mp4)                                                        \
    DUALCAM_SUITE(http)                                                       \
    DUALCAM_SUITE(query)                                                      \
    /* the list ends here */


#define DUALCAM_SUITE(name)  Suite *name##_suite(void);
DUALCAM_SUITES
#undef DUALCAM_SUITE


int
main(void)
{
    int        failed, run;
    size_t     i;
    SRunner   *sr;
    Suite   *(*suites[])(void) = {
#define DUALCAM_SUITE(name)  name##_suite,
        DUALCAM_SUITES
#undef DUALCAM_SUITE
    };

    sr = srunner_create(NULL);

    for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
        srunner_add_suite(sr, suites[i]());
    }

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    run = srunner_ntests_run(sr);
    srunner_free(sr);

    /* suites that lost their test cases checked nothing */

    if (run == 0) {
        fprintf(stderr, "test-unit: no test ran\n");
        return EXIT_FAILURE;
    }

    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
