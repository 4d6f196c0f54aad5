/* Unit tests for the writer side of lk_delta beyond plain appends:
   partitioned adds (partitionValues, Hive-style escaped directories,
   partitionColumns) read back typed through lk_delta_scan and through a
   checkpoint; writers refusing tables whose writer features they lack. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_check.h"
#include "lk_delta.h"
#include "lk_delta_scan.h"
#include "lk_fs.h"
#include "lk_parquet_writer.h"
#include "lk_time.h"

static char *tmp_dir(void)
{
    static char dir[256];
    lk_check_mkdtemp(dir, sizeof dir, "dw");
    return dir;
}

/* A new table in a fresh directory (*dir) and a schema of its first column, id LONG NOT NULL. */
static lk_delta_table *new_table(char **dir, lk_schema **s)
{
    *dir = tmp_dir();
    lk_delta_table *t;
    lk_error err;
    ck_assert_int_eq(lk_delta_open(*dir, &t, &err), 0);
    *s = lk_schema_new();
    lk_schema_add(*s, "id", LK_TYPE_LONG, 0);
    return t;
}

/* A Parquet file at dir/rel with column id = ids[0..n). */
static int64_t write_ids(const char *dir, const char *rel, const int64_t *ids, int n)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    char *slash = strrchr(p, '/');
    *slash = 0;
    lk_error err;
    ck_assert_int_eq(lk_fs_mkdirs(p, &err), 0);
    *slash = '/';
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "id", LK_TYPE_LONG, 0);
    lk_batch *b = lk_batch_new(s);
    for (int i = 0; i < n; i++) {
        lk_col_append_i64(lk_batch_col(b, 0), ids[i]);
        lk_batch_end_row(b);
    }
    lk_pq_writer *w = lk_pq_writer_new(s, NULL);
    ck_assert_int_eq(lk_pq_writer_open(w, p, &err), 0);
    ck_assert_int_eq(lk_pq_writer_write(w, b, &err), 0);
    lk_pq_file_info info;
    ck_assert_int_eq(lk_pq_writer_close(w, &info, &err), 0);
    lk_pq_writer_destroy(&w);
    lk_batch_destroy(&b);
    lk_schema_destroy(&s);
    return info.file_size;
}

static void scan_all(const lk_delta_table *t, lk_buf *out)
{
    lk_delta_scan *s;
    lk_error err;
    ck_assert_int_eq(lk_delta_scan_new(t, NULL, &s, &err), 0);
    lk_buf_reset(out);
    int rc;
    while ((rc = lk_delta_scan_next(s, out, &err)) == 1)
        lk_buf_putc(out, '\n');
    ck_assert_msg(rc == 0, "%s", err.msg);
    lk_buf_append(out, "", 0);
    lk_delta_scan_destroy(&s);
}

START_TEST(partition_dir_escaping)
{
    lk_buf b = LK_BUF_INIT;
    lk_delta_partition_dir("d", "2024-01-02", &b);
    lk_buf_putc(&b, '/');
    lk_delta_partition_dir("s", "a b/c:d=e%f#", &b);
    lk_buf_putc(&b, '/');
    lk_delta_partition_dir("n", NULL, &b);
    ck_assert_str_eq(b.data, "d=2024-01-02/s=a b%2Fc%3Ad%3De%25f%23/n=__HIVE_DEFAULT_PARTITION__");
    lk_buf_free(&b);
}
END_TEST

/* The commitInfo.timestamp of version v of the table at dir. */
static int64_t commit_ts(const char *dir, int v)
{
    char p[512];
    snprintf(p, sizeof p, "%s/_delta_log/%020d.json", dir, v);
    lk_buf log = LK_BUF_INIT;
    lk_error err;
    ck_assert_int_eq(lk_fs_read_file(p, &log, 1 << 20, &err), 0);
    const char *ts = strstr(log.data, "\"timestamp\":");
    ck_assert_ptr_nonnull(ts);
    int64_t x = strtoll(ts + 12, NULL, 10);
    lk_buf_free(&log);
    return x;
}

/* A clock that jumped back (here: a commit an hour in the future) never makes the next
   commit's timestamp go back: by replay, and from a handle that starts at a checkpoint. */
START_TEST(commit_timestamps_never_go_back)
{
    char *dir;
    lk_schema *s;
    lk_delta_table *t = new_table(&dir, &s);
    lk_error err;
    lk_delta_commit *c = lk_delta_commit_new(t, "WRITE");
    lk_delta_commit_set_schema(c, s);
    int64_t v;
    ck_assert_int_eq(lk_delta_commit_run(c, &v, &err), 0);
    lk_delta_commit_destroy(&c);
    lk_delta_destroy(&t);
    /* version 1 written by a writer whose clock is an hour ahead */
    int64_t ahead = lk_time_now_ms() + 3600000;
    char p[512], body[256];
    snprintf(p, sizeof p, "%s/_delta_log/%020d.json", dir, 1);
    int n = snprintf(body, sizeof body,
                     "{\"commitInfo\":{\"timestamp\":%lld,\"operation\":\"WRITE\"}}\n",
                     (long long)ahead);
    ck_assert_int_eq(lk_fs_put_if_absent(p, body, (size_t)n, &err), 0);
    for (int from_checkpoint = 0; from_checkpoint < 2; from_checkpoint++) {
        ck_assert_int_eq(lk_delta_open_log(dir, &t, &err), 0);
        if (from_checkpoint) { /* a checkpoint at the latest version, then a fresh handle */
            ck_assert_int_eq(lk_delta_checkpoint(t, &err), 0);
            lk_delta_destroy(&t);
            ck_assert_int_eq(lk_delta_open_log(dir, &t, &err), 0);
        }
        int64_t before = commit_ts(dir, (int)lk_delta_version(t));
        c = lk_delta_commit_new(t, "WRITE");
        ck_assert_int_eq(lk_delta_commit_run(c, &v, &err), 0);
        lk_delta_commit_destroy(&c);
        ck_assert_int_gt(commit_ts(dir, (int)v), before);
        ck_assert_int_ge(commit_ts(dir, (int)v), ahead + 1);
        lk_delta_destroy(&t);
    }
    lk_schema_destroy(&s);
}
END_TEST

START_TEST(partitioned_round_trip)
{
    char *dir;
    lk_schema *s;
    lk_delta_table *t = new_table(&dir, &s);
    lk_error err;
    lk_schema_add(s, "d", LK_TYPE_DATE, 1);
    lk_schema_add(s, "s", LK_TYPE_STRING, 1);
    const char *pcols[] = {"d", "s"};
    lk_buf rel = LK_BUF_INIT;
    lk_delta_partition_dir("d", "2024-01-02", &rel);
    lk_buf_putc(&rel, '/');
    lk_delta_partition_dir("s", "a b:c", &rel);
    lk_buf_puts(&rel, "/part-0.parquet");
    const int64_t ids1[] = {1, 2}, ids2[] = {3};
    int64_t size1 = write_ids(dir, rel.data, ids1, 2);
    int64_t size2 = write_ids(dir, "d=__HIVE_DEFAULT_PARTITION__/s=x/part-1.parquet", ids2, 1);

    lk_delta_commit *c = lk_delta_commit_new(t, "WRITE");
    lk_delta_commit_set_schema(c, s);
    lk_delta_commit_set_partition_columns(c, pcols, 2);
    lk_delta_commit_add_file_partitioned(c, rel.data, "{\"d\":\"2024-01-02\",\"s\":\"a b:c\"}",
                                         size1, 1, "{\"numRecords\":2}", 1);
    lk_delta_commit_add_file_partitioned(c, "d=__HIVE_DEFAULT_PARTITION__/s=x/part-1.parquet",
                                         "{\"d\":null,\"s\":\"x\"}", size2, 1, NULL, 1);
    int64_t v;
    ck_assert_msg(lk_delta_commit_run(c, &v, &err) == 0, "%s", err.msg);
    lk_delta_commit_destroy(&c);

    /* the log: escaped directory, URL-encoded path, values as given */
    char p[512];
    snprintf(p, sizeof p, "%s/_delta_log/%020d.json", dir, 0);
    lk_buf log = LK_BUF_INIT;
    ck_assert_int_eq(lk_fs_read_file(p, &log, 1 << 20, &err), 0);
    ck_assert_ptr_nonnull(strstr(log.data, "\"partitionColumns\":[\"d\",\"s\"]"));
    ck_assert_ptr_nonnull(strstr(log.data,
                                 "\"path\":\"d=2024-01-02/s=a%20b%253Ac/part-0.parquet\","
                                 "\"partitionValues\":{\"d\":\"2024-01-02\",\"s\":\"a b:c\"}"));

    lk_buf rows = LK_BUF_INIT;
    lk_delta_table *r;
    ck_assert_int_eq(lk_delta_open(dir, &r, &err), 0);
    scan_all(r, &rows);
    ck_assert_ptr_nonnull(strstr(rows.data, "{\"id\":1,\"d\":\"2024-01-02\",\"s\":\"a b:c\"}\n"));
    ck_assert_ptr_nonnull(strstr(rows.data, "{\"id\":2,\"d\":\"2024-01-02\",\"s\":\"a b:c\"}\n"));
    ck_assert_ptr_nonnull(strstr(rows.data, "{\"id\":3,\"d\":null,\"s\":\"x\"}\n"));
    lk_delta_destroy(&r);

    /* removing keeps the partitionValues; a checkpoint carries them */
    c = lk_delta_commit_new(t, "DELETE");
    lk_delta_commit_remove_file(c, "d=__HIVE_DEFAULT_PARTITION__/s=x/part-1.parquet", 1);
    ck_assert_int_eq(lk_delta_commit_run(c, &v, &err), 0);
    lk_delta_commit_destroy(&c);
    snprintf(p, sizeof p, "%s/_delta_log/%020d.json", dir, 1);
    lk_buf_reset(&log);
    ck_assert_int_eq(lk_fs_read_file(p, &log, 1 << 20, &err), 0);
    ck_assert_ptr_nonnull(strstr(log.data, "\"partitionValues\":{\"d\":null,\"s\":\"x\"}"));
    ck_assert_int_eq(lk_delta_checkpoint(t, &err), 0);
    snprintf(p, sizeof p, "%s/_delta_log/%020d.json", dir, 0);
    ck_assert_int_eq(unlink(p), 0);
    ck_assert_int_eq(lk_delta_open(dir, &r, &err), 0);
    ck_assert_int_eq(lk_delta_checkpoint_version(r), 1);
    scan_all(r, &rows);
    ck_assert_str_eq(rows.data, "{\"id\":1,\"d\":\"2024-01-02\",\"s\":\"a b:c\"}\n"
                                "{\"id\":2,\"d\":\"2024-01-02\",\"s\":\"a b:c\"}\n");
    lk_delta_destroy(&r);
    lk_delta_destroy(&t);
    lk_buf_free(&rows);
    lk_buf_free(&log);
    lk_buf_free(&rel);
    lk_schema_destroy(&s);
}
END_TEST

/* A table whose version 0 is the protocol line proto and a metaData with
   one column id (field metadata fmeta) and configuration conf. */
static lk_delta_table *table_with(const char *proto, const char *conf, const char *fmeta)
{
    char *dir = tmp_dir();
    char p[512];
    snprintf(p, sizeof p, "%s/_delta_log/%020d.json", dir, 0);
    lk_error err;
    ck_assert_int_eq(lk_fs_mkdirs(p, &err), 0);
    rmdir(p);
    char schema[512];
    snprintf(schema, sizeof schema,
             "{\"type\":\"struct\",\"fields\":[{\"name\":\"id\",\"type\":\"long\","
             "\"nullable\":true,\"metadata\":{%s}}]}",
             fmeta);
    lk_buf log = LK_BUF_INIT;
    lk_buf_printf(&log,
                  "%s\n{\"metaData\":{\"id\":\"x\",\"format\":{\"provider\":\"parquet\","
                  "\"options\":{}},\"schemaString\":",
                  proto);
    lk_buf_json_string(&log, schema, strlen(schema));
    lk_buf_printf(&log, ",\"partitionColumns\":[],\"configuration\":{%s},\"createdTime\":1}}\n",
                  conf);
    ck_assert_int_eq(lk_fs_put_if_absent(p, log.data, log.len, &err), 0);
    lk_buf_free(&log);
    lk_delta_table *t;
    ck_assert_msg(lk_delta_open(dir, &t, &err) == 0, "%s", err.msg);
    return t;
}

static int try_commit(lk_delta_table *t, int remove, lk_error *err)
{
    lk_delta_commit *c = lk_delta_commit_new(t, "WRITE");
    lk_delta_commit_add_file(c, "new.parquet", 1, 1, NULL, 1);
    if (remove) lk_delta_commit_remove_file(c, "old.parquet", 1);
    int64_t v;
    int rc = lk_delta_commit_run(c, &v, err);
    lk_delta_commit_destroy(&c);
    return rc;
}

START_TEST(writer_features_refused)
{
    lk_error err;
    lk_delta_table *t = table_with("{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":7,"
                                   "\"writerFeatures\":[\"appendOnly\",\"rowTracking\"]}}",
                                   "", "");
    ck_assert_int_eq(try_commit(t, 0, &err), LK_EUNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.msg, "rowTracking"));
    lk_delta_destroy(&t);

    t = table_with("{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":4}}", "", "");
    ck_assert_int_eq(try_commit(t, 0, &err), LK_EUNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.msg, "changeDataFeed"));
    lk_delta_destroy(&t);

    t = table_with(
        "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}", "",
        "\"delta.invariants\":\"{\\\"expression\\\":{\\\"expression\\\":\\\"id > 0\\\"}}\"");
    ck_assert_int_eq(try_commit(t, 0, &err), LK_EUNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.msg, "invariants"));
    lk_delta_destroy(&t);

    /* appendOnly: appends are fine, removes are refused */
    t = table_with("{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}",
                   "\"delta.appendOnly\":\"true\"", "");
    ck_assert_int_eq(try_commit(t, 1, &err), LK_EUNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.msg, "delta.appendOnly"));
    ck_assert_int_eq(try_commit(t, 0, &err), 0);
    ck_assert_int_eq(lk_delta_version(t), 1);
    lk_delta_destroy(&t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("delta_writer");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, partition_dir_escaping);
    tcase_add_test(tc, partitioned_round_trip);
    tcase_add_test(tc, commit_timestamps_never_go_back);
    tcase_add_test(tc, writer_features_refused);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
