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

static inline int lk_check_cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts the lines of text (each ended by '\n') in place, byte order: a listing
   whose order is the file system's (readdir) compared as a set. */
static inline void lk_check_sort_lines(char *text)
{
    size_t len = strlen(text), n = 0;
    for (size_t i = 0; i < len; i++)
        n += text[i] == '\n';
    if (n < 2) return;
    char *copy = malloc(len + 1);
    char **v = malloc(n * sizeof *v);
    ck_assert(copy && v);
    memcpy(copy, text, len + 1);
    size_t k = 0;
    for (char *p = copy, *nl; k < n && (nl = strchr(p, '\n')); p = nl + 1) {
        *nl = 0;
        v[k++] = p;
    }
    qsort(v, k, sizeof *v, lk_check_cmp_line);
    char *out = text;
    for (size_t i = 0; i < k; i++) {
        size_t m = strlen(v[i]);
        memcpy(out, v[i], m);
        out[m] = '\n';
        out += m + 1;
    }
    /* text after the last '\n' (none in a listing) stays where it was */
    free(v);
    free(copy);
}

#endif
