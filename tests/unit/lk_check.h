/* lk_check.h — what every Check suite's main() shares. */
#ifndef LK_CHECK_H
#define LK_CHECK_H

#include <check.h>
#include <stdlib.h>

/* Runs every test of s (CK_NORMAL output); the process exit status. */
static inline int lk_check_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
