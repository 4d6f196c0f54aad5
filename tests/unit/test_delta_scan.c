/* Unit tests for lake/lk_delta_scan (and lk_delta_dv): every table of
   tests/fixtures/delta-expected (Spark-written: checkpoints, v2 checkpoints,
   partitions, column mapping name/id, timestamp_ntz, deletion vectors
   inline and on file) read at its latest version equals Spark's expected
   rows as a multiset; projection, unknown columns, Z85. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lk_check.h"
#include "lk_delta.h"
#include "lk_delta_dv.h"
#include "lk_delta_scan.h"
#include "lk_parquet_reader.h"
#include "lk_rowjson.h"

#define EXPECTED LK_SOURCE_DIR "/tests/fixtures/delta-expected/"

typedef struct lines {
    char **v;
    size_t n, cap;
} lines;

static void lines_add(lines *l, const char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = strdup(s);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void lines_text(lines *l, lk_buf *out)
{
    if (l->n) qsort(l->v, l->n, sizeof *l->v, cmp_str);
    lk_buf_reset(out);
    for (size_t i = 0; i < l->n; i++) {
        lk_buf_puts(out, l->v[i]);
        lk_buf_putc(out, '\n');
        free(l->v[i]);
    }
    lk_buf_append(out, "", 0);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Spark's expected rows, projected to the table's columns in schema order. */
static void expected_rows(const char *dir, const lk_schema *s, lk_buf *out)
{
    lines l = {0};
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (de->d_name[0] == '.' || n < 8 || strcmp(de->d_name + n - 8, ".parquet")) continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        lk_pq_reader *r;
        lk_error err;
        ck_assert_msg(lk_pq_reader_open(p, &r, &err) == 0, "%s", err.msg);
        int idx[128], ni = 0;
        for (int i = 0; i < lk_schema_nfields(s) && ni < 128; i++) {
            idx[ni] = lk_schema_find(lk_pq_reader_schema(r), lk_schema_field(s, i)->name);
            ck_assert_msg(idx[ni] >= 0, "%s: no column %s", p, lk_schema_field(s, i)->name);
            ni++;
        }
        lk_batch *b = NULL;
        for (int g = 0; g < lk_pq_reader_num_row_groups(r); g++) {
            ck_assert_int_eq(lk_pq_reader_read_row_group(r, g, idx, ni, &b, &err), 0);
            for (uint32_t row = 0; row < lk_batch_nrows(b); row++) {
                lk_buf t = LK_BUF_INIT;
                lk_rowjson_append(b, row, &t);
                lines_add(&l, t.data);
                lk_buf_free(&t);
            }
        }
        lk_batch_destroy(&b);
        lk_pq_reader_destroy(&r);
    }
    closedir(d);
    lines_text(&l, out);
}

static void scan_rows(const lk_delta_table *t, const char *cols, lk_buf *out)
{
    lk_delta_scan *s;
    lk_error err;
    ck_assert_msg(lk_delta_scan_new(t, cols, &s, &err) == 0, "%s", err.msg);
    lines l = {0};
    lk_buf row = LK_BUF_INIT;
    int rc;
    while ((lk_buf_reset(&row), rc = lk_delta_scan_next(s, &row, &err)) == 1)
        lines_add(&l, row.data);
    ck_assert_msg(rc == 0, "%s", err.msg);
    lk_buf_free(&row);
    lk_delta_scan_destroy(&s);
    lines_text(&l, out);
}

static char *unpack(const char *name)
{
    static char dir[256];
    lk_check_mkdtemp(dir, sizeof dir, "scan");
    char archive[512];
    snprintf(archive, sizeof archive, EXPECTED "%s", name);
    lk_check_untar_zstd(archive, dir);
    return dir;
}

START_TEST(every_expected_table)
{
    DIR *d = opendir(EXPECTED);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    int tables = 0, with_rows = 0;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 8 || strcmp(de->d_name + n - 8, ".tar.zst")) continue;
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(n - 8), de->d_name);
        char *dir = unpack(de->d_name);
        char table[1024], exp[1024];
        snprintf(table, sizeof table, "%s/%s/delta", dir, name);
        snprintf(exp, sizeof exp, "%s/%s/expected", dir, name);
        struct stat sb;
        if (stat(exp, &sb) != 0) { /* a table to refuse or a file-list case: below */
            lk_check_rm_rf(dir);
            continue;
        }
        lk_delta_table *t;
        lk_error err;
        ck_assert_msg(lk_delta_open(table, &t, &err) == 0, "%s: %s", name, err.msg);
        lk_buf a = LK_BUF_INIT, b = LK_BUF_INIT;
        scan_rows(t, NULL, &a);
        expected_rows(exp, lk_delta_schema(t), &b);
        if (b.len > 1) with_rows++;
        ck_assert_msg(strcmp(a.data, b.data) == 0,
                      "%s: rows differ:\nours:\n%.2000s\nSpark:\n%.2000s", name, a.data, b.data);
        lk_buf_free(&a);
        lk_buf_free(&b);
        lk_delta_destroy(&t);
        lk_check_rm_rf(dir);
        tables++;
    }
    closedir(d);
    ck_assert_int_ge(tables, 20);
    ck_assert_int_ge(with_rows, 19);
}
END_TEST

START_TEST(projection_partition_dv)
{
    char *dir = unpack("dv-partitioned-with-checkpoint.tar.zst");
    char table[1024];
    snprintf(table, sizeof table, "%s/dv-partitioned-with-checkpoint/delta", dir);
    lk_delta_table *t;
    lk_error err;
    ck_assert_msg(lk_delta_open(table, &t, &err) == 0, "%s", err.msg);
    const lk_schema *s = lk_delta_schema(t);
    ck_assert_int_ge(lk_schema_nfields(s), 2);
    /* the last column first: order as asked, one key per column */
    char cols[256];
    const char *c0 = lk_schema_field(s, 0)->name,
               *cl = lk_schema_field(s, lk_schema_nfields(s) - 1)->name;
    snprintf(cols, sizeof cols, "%s,%s", cl, c0);
    lk_delta_scan *sc;
    ck_assert_int_eq(lk_delta_scan_new(t, cols, &sc, &err), 0);
    ck_assert_int_eq(lk_delta_scan_ncols(sc), 2);
    ck_assert_str_eq(lk_delta_scan_col(sc, 0)->name, cl);
    lk_buf row = LK_BUF_INIT;
    int n = 0;
    while (lk_delta_scan_next(sc, &row, &err) == 1) {
        char want[300];
        snprintf(want, sizeof want, "{\"%s\":", cl);
        ck_assert_msg(strncmp(row.data, want, strlen(want)) == 0, "%s", row.data);
        lk_buf_reset(&row);
        n++;
    }
    ck_assert_int_eq(n, 35); /* the deleted rows are gone */
    lk_buf_free(&row);
    lk_delta_scan_destroy(&sc);
    ck_assert_int_eq(lk_delta_scan_new(t, "nope", &sc, &err), LK_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err.msg, "'nope'"));
    lk_delta_destroy(&t);
    lk_check_rm_rf(dir);
}
END_TEST

/* Opens table NAME of a delta-expected archive; returns lk_delta_open's code. */
static int open_fixture(const char *name, lk_delta_table **t, lk_error *err)
{
    char file[256];
    snprintf(file, sizeof file, "%s.tar.zst", name);
    char *dir = unpack(file);
    char table[1024];
    snprintf(table, sizeof table, "%s/%s/delta", dir, name);
    return lk_delta_open(table, t, err);
}

START_TEST(refused_tables)
{
    static const struct {
        const char *name, *msg;
    } cases[] = {
        {"deltalog-state-reconstruction-from-checkpoint-missing-metadata",
         "00000000000000000010.checkpoint.parquet: checkpoint of version 10 has no metaData"},
        {"deltalog-state-reconstruction-from-checkpoint-missing-protocol",
         "00000000000000000010.checkpoint.parquet: checkpoint of version 10 has no protocol"},
        {"deltalog-state-reconstruction-without-metadata", "no metaData action in versions 0 to 0"},
        {"deltalog-state-reconstruction-without-protocol", "no protocol action in versions 0 to 0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lk_delta_table *t = NULL;
        lk_error err;
        ck_assert_int_eq(open_fixture(cases[i].name, &t, &err), LK_EFORMAT);
        ck_assert_msg(strstr(err.msg, cases[i].msg) != NULL, "%s: %s", cases[i].name, err.msg);
        ck_assert_ptr_null(t);
    }
    /* no _delta_log: no table, no rows */
    const char *none[] = {"hive", "no-delta-log-folder"};
    for (int i = 0; i < 2; i++) {
        lk_delta_table *t;
        lk_error err;
        ck_assert_int_eq(open_fixture(none[i], &t, &err), 0);
        ck_assert_int_eq(lk_delta_version(t), -1);
        lk_delta_scan *s;
        ck_assert_int_eq(lk_delta_scan_new(t, NULL, &s, &err), LK_ENOTFOUND);
        ck_assert_ptr_nonnull(strstr(err.msg, "no Delta table"));
        lk_delta_destroy(&t);
    }
    /* "checkpoint": file list only (its files are fake), from checkpoint 10 */
    lk_delta_table *t;
    lk_error err;
    ck_assert_int_eq(open_fixture("checkpoint", &t, &err), 0);
    ck_assert_int_eq(lk_delta_checkpoint_version(t), 10);
    ck_assert_int_eq(lk_delta_nfiles(t), 1);
    ck_assert_str_eq(lk_delta_file_at(t, 0)->path, "15");
    lk_delta_destroy(&t);
}
END_TEST

/* Time travel: each version with its own schema and partitioning. */
START_TEST(time_travel_schema_and_partitioning)
{
    char *dir = unpack("time-travel-schema-changes-b.tar.zst");
    char table[1024];
    snprintf(table, sizeof table, "%s/time-travel-schema-changes-b/delta", dir);
    lk_delta_table *t;
    lk_error err;
    lk_buf rows = LK_BUF_INIT;
    ck_assert_int_eq(lk_delta_open_version(table, 0, &t, &err), 0);
    ck_assert_int_eq(lk_schema_nfields(lk_delta_schema(t)), 1);
    scan_rows(t, NULL, &rows);
    ck_assert_ptr_nonnull(strstr(rows.data, "{\"id\":9}\n"));
    ck_assert_ptr_null(strstr(rows.data, "{\"id\":10"));
    lk_delta_destroy(&t);
    ck_assert_int_eq(lk_delta_open_version(table, 1, &t, &err), 0);
    ck_assert_int_eq(lk_schema_nfields(lk_delta_schema(t)), 2);
    scan_rows(t, NULL, &rows);
    /* files of version 0 lack the new column: null */
    ck_assert_ptr_nonnull(strstr(rows.data, "{\"id\":0,\"part\":null}\n"));
    lk_delta_destroy(&t);

    dir = unpack("time-travel-partition-changes-b.tar.zst");
    snprintf(table, sizeof table, "%s/time-travel-partition-changes-b/delta", dir);
    ck_assert_int_eq(lk_delta_open_version(table, 0, &t, &err), 0);
    scan_rows(t, NULL, &rows);
    ck_assert_ptr_nonnull(strstr(rows.data, "{\"id\":7,\"part5\":2}\n"));
    ck_assert_ptr_null(strstr(rows.data, "part2"));
    lk_delta_destroy(&t);
    ck_assert_int_eq(lk_delta_open_version(table, 1, &t, &err), 0);
    scan_rows(t, NULL, &rows);
    ck_assert_ptr_nonnull(strstr(rows.data, "{\"id\":17,\"part2\":1}\n"));
    ck_assert_ptr_null(strstr(rows.data, "part5"));
    lk_delta_destroy(&t);
    lk_buf_free(&rows);
}
END_TEST

START_TEST(z85)
{
    /* the ZeroMQ RFC 32 test vector */
    unsigned char out[8];
    ck_assert_int_eq(lk_delta_z85_decode("HelloWorld", 10, out, sizeof out), 8);
    const unsigned char want[8] = {0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B};
    ck_assert_int_eq(memcmp(out, want, 8), 0);
    ck_assert_int_eq(lk_delta_z85_decode("Hello", 4, out, sizeof out), -1);
    ck_assert_int_eq(lk_delta_z85_decode("Hel~o", 5, out, sizeof out), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("delta_scan");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, every_expected_table);
    tcase_add_test(tc, projection_partition_dv);
    tcase_add_test(tc, refused_tables);
    tcase_add_test(tc, time_travel_schema_and_partitioning);
    tcase_add_test(tc, z85);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
