/* Every input in tests/fixtures/fuzz-regressions/ once crashed, leaked, hung
   or over-allocated in the Parquet reader under tests/fuzz/fuzz_parquet.c.
   Each must now fail cleanly — from a file and from memory — with an error
   naming the file and an offset (run under -DLK_SANITIZE=ON to be sure of
   "no crash"). */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_check.h"
#include "lk_buf.h"
#include "lk_parquet_reader.h"

#define DIR_ LK_SOURCE_DIR "/tests/fixtures/fuzz-regressions/"

/* Opens (from path, or from memory when data != NULL) and reads every row
   group, with chunk metadata and a projection as the fuzz target does. */
static int read_all(const char *path, const lk_buf *data, lk_error *err)
{
    lk_pq_reader *r = NULL;
    int rc = data ? lk_pq_reader_open_mem(data->data, data->len, path, &r, err)
                  : lk_pq_reader_open(path, &r, err);
    if (rc < 0) return rc;
    int nf = lk_schema_nfields(lk_pq_reader_schema(r));
    lk_batch *b = NULL;
    for (int g = 0; g < lk_pq_reader_num_row_groups(r); g++) {
        for (int l = 0; l < lk_pq_reader_num_leaves(r); l++) {
            lk_pq_chunk_meta m;
            lk_error e2;
            lk_pq_reader_chunk_meta(r, g, l, &m, &e2);
        }
        if (nf > 0) {
            int last = nf - 1;
            lk_error e3;
            lk_pq_reader_read_row_group(r, g, &last, 1, &b, &e3);
        }
        if (rc == 0) rc = lk_pq_reader_read_row_group(r, g, NULL, 0, &b, err);
    }
    lk_batch_destroy(&b);
    lk_pq_reader_destroy(&r);
    return rc;
}

START_TEST(every_regression_fails_cleanly)
{
    DIR *d = opendir(DIR_);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || !strcmp(de->d_name, "README.md")) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s%s", DIR_, de->d_name);
        lk_error err;
        int rc = read_all(path, NULL, &err);
        ck_assert_msg(rc < 0, "%s: read without error", de->d_name);
        ck_assert_msg(strstr(err.msg, path), "%s: error does not name the file: %s", de->d_name,
                      err.msg);
        ck_assert_msg(strstr(err.msg, "offset") || strstr(err.msg, "element"),
                      "%s: error does not say where: %s", de->d_name, err.msg);
        /* the same bytes from memory */
        lk_buf data = LK_BUF_INIT;
        FILE *f = fopen(path, "rb");
        ck_assert_ptr_nonnull(f);
        char tmp[4096];
        size_t k;
        while ((k = fread(tmp, 1, sizeof tmp, f)) > 0)
            lk_buf_append(&data, tmp, k);
        fclose(f);
        ck_assert_int_lt(read_all(de->d_name, &data, &err), 0);
        ck_assert_msg(strstr(err.msg, de->d_name), "%s", err.msg);
        lk_buf_free(&data);
        n++;
    }
    closedir(d);
    ck_assert_int_ge(n, 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("parquet_fuzz_regressions");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, every_regression_fails_cleanly);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
