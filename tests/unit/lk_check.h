/* lk_check.h — what every Check suite's main() shares. */
#ifndef LK_CHECK_H
#define LK_CHECK_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs every test of s (CK_NORMAL output); the process exit status. */
static inline int lk_check_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Makes a fresh directory from the mkdtemp template tmpl ("/tmp/name_XXXXXX") into dir. */
static inline void lk_check_mkdtemp(char *dir, size_t cap, const char *tmpl)
{
    ck_assert_uint_lt(strlen(tmpl), cap);
    strcpy(dir, tmpl);
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* Removes dir and everything below it. */
static inline void lk_check_rm_rf(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

#endif
