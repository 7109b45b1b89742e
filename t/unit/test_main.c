
/*
 * Copyright (C) ngx_stream_dualcam authors
 */


#include <stdlib.h>

#include "tests.h"


int
main(void)
{
    int        failed;
    size_t     i;
    SRunner   *sr;
    Suite   *(*suites[])(void) = {
        crc_suite, meta_suite, server_suite, capture_suite, badinput_suite,
        device_suite, pair_suite
    };

    sr = NULL;

    for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
        if (suites[i] == NULL) {
            continue;
        }

        if (sr == NULL) {
            sr = srunner_create(suites[i]());

        } else {
            srunner_add_suite(sr, suites[i]());
        }
    }

    if (sr == NULL) {
        return EXIT_FAILURE;
    }

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
