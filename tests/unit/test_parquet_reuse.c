/* Column chunk reuse between two Parquet writers (lk_pq_writer_reuse_from):
   a file written with reuse is byte-for-byte the file written without it
   (with tables.zstd_adaptive off: with it on, a writer's level per column
   follows the pages it compressed itself, so a reused chunk's pages can be at
   another level than a fresh encode's; the file then holds the same rows),
   the columns with the same levels and values are the ones reused, and a
   column that differs by one value is encoded afresh. A chunk holding some of the source
   chunk's rows in order (a filter) takes the source's dictionary page: its rows and its
   statistics are those of the chunk written without reuse. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_buf.h"
#include "lk_check.h"
#include "lk_parquet_reader.h"
#include "lk_parquet_writer.h"
#include "lk_rowjson.h"

static char g_dir[256];

static void setup(void)
{
    lk_check_mkdtemp(g_dir, sizeof g_dir, "pqreuse");
}

static void teardown(void)
{
    lk_check_rm_rf(g_dir);
}

/* raw-like: id, user, ts (string), device struct, tags list, msg, kind */
static lk_schema *src_schema(void)
{
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "id", LK_TYPE_STRING, 1);
    lk_schema_add(s, "user", LK_TYPE_LONG, 1);
    lk_schema_add(s, "ts", LK_TYPE_STRING, 1);
    lk_field *d = lk_schema_add(s, "device", LK_TYPE_STRUCT, 1);
    lk_field_add_child(d, "os", LK_TYPE_STRING, 1);
    lk_field *a = lk_schema_add(s, "tags", LK_TYPE_ARRAY, 1);
    lk_field_add_child(a, "element", LK_TYPE_INTEGER, 1);
    lk_schema_add(s, "msg", LK_TYPE_STRING, 1);
    lk_schema_add(s, "kind", LK_TYPE_STRING, 1);
    return s;
}

/* processed-like: the same names where the values are the same, ts a
   timestamp, device flattened, one more column */
static lk_schema *dst_schema(void)
{
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "id", LK_TYPE_STRING, 1);
    lk_schema_add(s, "user", LK_TYPE_LONG, 1);
    lk_schema_add(s, "ts", LK_TYPE_TIMESTAMP, 1);
    lk_schema_add(s, "device_os", LK_TYPE_STRING, 1);
    lk_field *a = lk_schema_add(s, "tags", LK_TYPE_ARRAY, 1);
    lk_field_add_child(a, "element", LK_TYPE_INTEGER, 1);
    lk_schema_add(s, "msg", LK_TYPE_STRING, 1);
    lk_schema_add(s, "kind", LK_TYPE_STRING, 1);
    lk_schema_add(s, "at", LK_TYPE_TIMESTAMP, 1);
    return s;
}

static const char *KINDS[] = {"click", "view", "buy", "logout"};

/* Rows [0, n) of the source; skip: a row left out of the destination's msg
   values (its msg differs), or -1. */
static void fill(lk_batch *b, int n, int is_dst, int skip)
{
    char s[128];
    for (int r = 0; r < n; r++) {
        int c = 0;
        snprintf(s, sizeof s, "evt-%08d", r);
        lk_col_append_bytes(lk_batch_col(b, c++), s, strlen(s));
        if (r % 11 == 3)
            lk_col_append_null(lk_batch_col(b, c++));
        else
            lk_col_append_i64(lk_batch_col(b, c++), (int64_t)(r * 7919) % 50000);
        if (is_dst) {
            lk_col_append_i64(lk_batch_col(b, c++), 1795512600000000LL + r * 1000LL);
            lk_col_append_bytes(lk_batch_col(b, c++), KINDS[r % 3], strlen(KINDS[r % 3]));
        } else {
            snprintf(s, sizeof s, "2026-11-24T09:30:%02d.%03dZ", r / 1000 % 60, r % 1000);
            lk_col_append_bytes(lk_batch_col(b, c++), s, strlen(s));
            lk_col *d = lk_batch_col(b, c++);
            lk_col_append_struct(d);
            lk_col_append_bytes(&d->children[0], KINDS[r % 3], strlen(KINDS[r % 3]));
        }
        lk_col *t = lk_batch_col(b, c++);
        for (int k = 0; k < r % 4; k++)
            lk_col_append_i32(&t->children[0], r + k);
        lk_col_append_list(t);
        snprintf(s, sizeof s, "message %d %s", r * 31 % 977, r == skip ? "changed" : "text");
        if (r % 7 == 0)
            lk_col_append_null(lk_batch_col(b, c++));
        else
            lk_col_append_bytes(lk_batch_col(b, c++), s, strlen(s));
        lk_col_append_bytes(lk_batch_col(b, c++), KINDS[r % 4], strlen(KINDS[r % 4]));
        if (is_dst)
            lk_col_append_i64(lk_batch_col(b, c++), 1795512600000000LL);
        lk_batch_end_row(b);
    }
}

static void read_back(const char *path, lk_buf *bytes)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    char tmp[65536];
    size_t n;
    lk_buf_reset(bytes);
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        lk_buf_append(bytes, tmp, n);
    fclose(f);
}

/* Every row of the file at path as JSON lines into out. */
static void rows_of(const char *path, lk_buf *out)
{
    lk_error err;
    lk_pq_reader *r = NULL;
    ck_assert_msg(lk_pq_reader_open(path, &r, &err) == 0, "%s", err.msg);
    lk_buf_reset(out);
    for (int g = 0; g < lk_pq_reader_num_row_groups(r); g++) {
        lk_batch *got = NULL;
        ck_assert_msg(lk_pq_reader_read_row_group(r, g, NULL, 0, &got, &err) == 0, "%s", err.msg);
        for (uint32_t i = 0; i < lk_batch_nrows(got); i++) {
            lk_rowjson_append(got, i, out);
            lk_buf_putc(out, '\n');
        }
        lk_batch_destroy(&got);
    }
    lk_pq_reader_destroy(&r);
}

static char g_last[512];

static void write_file(lk_pq_writer *w, const lk_batch *b, const char *name, lk_buf *bytes)
{
    char path[512];
    lk_error err = {0};
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    ck_assert_msg(lk_pq_writer_open(w, path, &err) == 0, "%s", err.msg);
    ck_assert_msg(lk_pq_writer_write(w, b, &err) == 0, "%s", err.msg);
    ck_assert_msg(lk_pq_writer_close(w, NULL, &err) == 0, "%s", err.msg);
    read_back(path, bytes);
    snprintf(g_last, sizeof g_last, "%s", path);
}

/* Writes the source, then the destination with and without reuse; returns
   the chunks reused. adaptive: tables.zstd_adaptive (the files then hold the
   same rows, not the same bytes). */
static int64_t check_(int rows, int skip, size_t page_bytes, int dictionary, int adaptive)
{
    lk_pq_options o;
    lk_pq_options_default(&o);
    o.fsync = 0;
    o.page_bytes = page_bytes;
    o.dictionary = dictionary;
    o.zstd_adaptive = adaptive;
    lk_schema *ss = src_schema(), *ds = dst_schema();
    lk_batch *sb = lk_batch_new(ss), *db = lk_batch_new(ds);
    fill(sb, rows, 0, -1);
    fill(db, rows, 1, skip);
    lk_pq_writer *src = lk_pq_writer_new(ss, &o), *dst = lk_pq_writer_new(ds, &o),
                 *plain = lk_pq_writer_new(ds, &o);
    lk_buf a = LK_BUF_INIT, b = LK_BUF_INIT;
    static int seq;
    char name[64];
    /* twice: the second round reuses chunks kept from the first source file */
    int64_t reused = 0;
    for (int round = 0; round < 2; round++) {
        lk_pq_writer_reuse_from(dst, src);
        snprintf(name, sizeof name, "src-%d.parquet", ++seq);
        write_file(src, sb, name, &a);
        snprintf(name, sizeof name, "dst-%d.parquet", ++seq);
        write_file(dst, db, name, &a);
        char dpath[512];
        snprintf(dpath, sizeof dpath, "%s", g_last);
        lk_pq_writer_reuse_from(dst, NULL);
        snprintf(name, sizeof name, "plain-%d.parquet", ++seq);
        write_file(plain, db, name, &b);
        if (adaptive) {
            rows_of(dpath, &a);
            rows_of(g_last, &b);
            ck_assert_msg(a.len == b.len && !memcmp(a.data, b.data, a.len),
                          "reuse changed the file's rows");
            ck_assert_uint_eq(a.len > 0, 1);
        } else {
            ck_assert_uint_eq(a.len, b.len);
            ck_assert_msg(!memcmp(a.data, b.data, a.len), "reuse changed the file's bytes");
        }
        reused = lk_pq_writer_reused_chunks(dst) - reused;
    }
    ck_assert_int_eq(lk_pq_writer_reused_chunks(plain), 0);
    lk_buf_free(&a);
    lk_buf_free(&b);
    lk_pq_writer_destroy(&src);
    lk_pq_writer_destroy(&dst);
    lk_pq_writer_destroy(&plain);
    lk_batch_destroy(&sb);
    lk_batch_destroy(&db);
    lk_schema_destroy(&ss);
    lk_schema_destroy(&ds);
    return reused;
}

static int64_t check(int rows, int skip, size_t page_bytes, int dictionary)
{
    return check_(rows, skip, page_bytes, dictionary, 0);
}

START_TEST(same_columns_are_reused_and_the_file_is_unchanged)
{
    /* id, user, tags.element, msg, kind: 5 chunks per file (ts, device_os
       and at differ in type, levels or name) */
    ck_assert_int_eq(check(5000, -1, 1u << 20, 1), 5);
    /* several data pages per chunk, and no dictionary */
    ck_assert_int_eq(check(20000, -1, 4096, 1), 5);
    ck_assert_int_eq(check(20000, -1, 4096, 0), 5);
}
END_TEST

START_TEST(a_column_that_differs_by_one_value_is_encoded)
{
    ck_assert_int_eq(check(5000, 4321, 1u << 20, 1), 4); /* msg differs in one row */
    ck_assert_int_eq(check(20000, 19998, 4096, 1), 4);
    /* pages of 256 KiB, adaptive ZSTD on: ZSTD probes run, the files hold the same rows */
    ck_assert_int_eq(check_(60000, 59998, 256 * 1024, 0, 1), 4);
}
END_TEST


/* Writes two row groups (sb[0]/db[0], then sb[1]/db[1]) to one file per writer; with src given,
   dst reuses from it and src lets go of its kept chunk after each cut, as lk_writer does. */
static void two_row_groups(lk_pq_writer *w, lk_batch *const *b, lk_pq_writer *src,
                           lk_batch *const *sb, const char *name, lk_buf *bytes)
{
    char path[512], spath[512];
    lk_error err = {0};
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    snprintf(spath, sizeof spath, "%s/src-%s", g_dir, name);
    ck_assert_msg(lk_pq_writer_open(w, path, &err) == 0, "%s", err.msg);
    if (src)
        ck_assert_msg(lk_pq_writer_open(src, spath, &err) == 0, "%s", err.msg);
    for (int g = 0; g < 2; g++) {
        if (src) {
            ck_assert_msg(lk_pq_writer_write(src, sb[g], &err) == 0, "%s", err.msg);
            ck_assert_msg(lk_pq_writer_flush(src, &err) == 0, "%s", err.msg);
        }
        ck_assert_msg(lk_pq_writer_write(w, b[g], &err) == 0, "%s", err.msg);
        ck_assert_msg(lk_pq_writer_flush(w, &err) == 0, "%s", err.msg);
        if (src)
            lk_pq_writer_release_kept(src);
    }
    ck_assert_msg(lk_pq_writer_close(w, NULL, &err) == 0, "%s", err.msg);
    if (src)
        ck_assert_msg(lk_pq_writer_close(src, NULL, &err) == 0, "%s", err.msg);
    read_back(path, bytes);
}

/* After a cut the source's kept buffers become its next row group's: that row group (smaller,
   other values) must hold only its own rows, the source file must be the one written without
   reuse, and the destination must reuse the chunks of both row groups. */
START_TEST(kept_buffers_take_the_next_row_group)
{
    lk_pq_options o;
    lk_pq_options_default(&o);
    o.fsync = 0;
    o.zstd_adaptive = 0; /* byte for byte */
    lk_schema *ss = src_schema(), *ds = dst_schema();
    lk_batch *sb[2] = {lk_batch_new(ss), lk_batch_new(ss)};
    lk_batch *db[2] = {lk_batch_new(ds), lk_batch_new(ds)};
    fill(sb[0], 6000, 0, -1);
    fill(db[0], 6000, 1, -1);
    fill(sb[1], 2500, 0, 1234);
    fill(db[1], 2500, 1, 1234);
    lk_pq_writer *src = lk_pq_writer_new(ss, &o), *dst = lk_pq_writer_new(ds, &o),
                 *psrc = lk_pq_writer_new(ss, &o), *pdst = lk_pq_writer_new(ds, &o);
    lk_buf a = LK_BUF_INIT, b = LK_BUF_INIT, sa = LK_BUF_INIT;
    lk_pq_writer_reuse_from(dst, src);
    two_row_groups(dst, db, src, sb, "rg-dst.parquet", &a);
    lk_pq_writer_reuse_from(dst, NULL);
    ck_assert_int_eq(lk_pq_writer_reused_chunks(dst), 10);
    two_row_groups(pdst, db, NULL, NULL, "rg-plain-dst.parquet", &b);
    ck_assert_uint_eq(a.len, b.len);
    ck_assert_msg(!memcmp(a.data, b.data, a.len), "reuse changed the destination's bytes");
    char path[512];
    snprintf(path, sizeof path, "%s/src-rg-dst.parquet", g_dir);
    read_back(path, &sa);
    two_row_groups(psrc, sb, NULL, NULL, "rg-plain-src.parquet", &b);
    ck_assert_uint_eq(sa.len, b.len);
    ck_assert_msg(!memcmp(sa.data, b.data, sa.len),
                  "the source's second row group is not the one written without reuse");
    lk_buf_free(&a);
    lk_buf_free(&b);
    lk_buf_free(&sa);
    lk_pq_writer_destroy(&src);
    lk_pq_writer_destroy(&dst);
    lk_pq_writer_destroy(&psrc);
    lk_pq_writer_destroy(&pdst);
    for (int g = 0; g < 2; g++) {
        lk_batch_destroy(&sb[g]);
        lk_batch_destroy(&db[g]);
    }
    lk_schema_destroy(&ss);
    lk_schema_destroy(&ds);
}
END_TEST


/* The source's rows less some (a filter that removes the greatest device.os and the least
   kind: the chunk's bounds are not the source dictionary's), the msg of row `changed` (when
   kept) altered, into b. */
static void fill_kept(lk_batch *b, int n, int changed)
{
    lk_batch *all = lk_batch_new(lk_batch_schema(b));
    fill(all, n, 0, changed);
    uint32_t *sel = malloc(sizeof *sel * (size_t)n);
    uint32_t k = 0;
    for (int r = 0; r < n; r++)
        if (r % 3 != 1 && r % 4 != 2) /* no "view" left in device.os, no "buy" in kind */
            sel[k++] = (uint32_t)r;
    for (int c = 0; c < lk_batch_ncols(b); c++)
        lk_col_append_sel(lk_batch_col(b, c), lk_batch_col_const(all, c), sel, k);
    lk_batch_set_nrows(b, k);
    free(sel);
    lk_batch_destroy(&all);
}

static const lk_pq_leaf_stats *leaf_stats(const lk_pq_file_info *fi, const char *path)
{
    for (int i = 0; i < fi->n_leaves; i++)
        if (!strcmp(fi->leaves[i].path, path))
            return &fi->leaves[i];
    ck_abort_msg("no leaf %s", path);
    return NULL;
}

/* Writes sb with src and db with dst (linked to src), then db with plain; the two files of db
   must hold the same rows and the same string bounds; returns the dictionaries dst took. */
static int64_t filtered(int rows, int changed, size_t page_bytes)
{
    lk_pq_options o;
    lk_pq_options_default(&o);
    o.fsync = 0;
    o.page_bytes = page_bytes;
    lk_schema *ss = src_schema();
    lk_batch *sb = lk_batch_new(ss), *db = lk_batch_new(ss);
    fill(sb, rows, 0, -1);
    fill_kept(db, rows, changed);
    lk_pq_writer *src = lk_pq_writer_new(ss, &o), *dst = lk_pq_writer_new(ss, &o),
                 *plain = lk_pq_writer_new(ss, &o);
    lk_buf a = LK_BUF_INIT, b = LK_BUF_INIT, bytes = LK_BUF_INIT;
    char path[512], dpath[512], ppath[512];
    lk_error err = {0};
    lk_pq_writer_reuse_from(dst, src);
    snprintf(path, sizeof path, "%s/fsrc-%d-%d.parquet", g_dir, rows, changed);
    write_file(src, sb, strrchr(path, '/') + 1, &bytes);
    snprintf(dpath, sizeof dpath, "%s/fdst-%d-%d.parquet", g_dir, rows, changed);
    lk_pq_file_info di, pi;
    ck_assert_msg(lk_pq_writer_open(dst, dpath, &err) == 0, "%s", err.msg);
    ck_assert_msg(lk_pq_writer_write(dst, db, &err) == 0, "%s", err.msg);
    ck_assert_msg(lk_pq_writer_close(dst, &di, &err) == 0, "%s", err.msg);
    snprintf(ppath, sizeof ppath, "%s/fplain-%d-%d.parquet", g_dir, rows, changed);
    ck_assert_msg(lk_pq_writer_open(plain, ppath, &err) == 0, "%s", err.msg);
    ck_assert_msg(lk_pq_writer_write(plain, db, &err) == 0, "%s", err.msg);
    ck_assert_msg(lk_pq_writer_close(plain, &pi, &err) == 0, "%s", err.msg);
    static const char *strs[] = {"id", "ts", "device.os", "msg", "kind"};
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
        const lk_pq_leaf_stats *x = leaf_stats(&di, strs[i]), *y = leaf_stats(&pi, strs[i]);
        ck_assert_int_eq(x->null_count, y->null_count);
        ck_assert_int_eq(x->min.is_set, y->min.is_set);
        ck_assert_msg(x->min.n == y->min.n && !memcmp(x->min.p, y->min.p, x->min.n) &&
                          x->max.n == y->max.n && !memcmp(x->max.p, y->max.p, x->max.n),
                      "%s: bounds differ from the file written without reuse", strs[i]);
    }
    rows_of(dpath, &a);
    rows_of(ppath, &b);
    ck_assert_uint_eq(a.len > 0, 1);
    ck_assert_msg(a.len == b.len && !memcmp(a.data, b.data, a.len),
                  "the filtered chunk's rows differ from the file written without reuse");
    ck_assert_int_eq(lk_pq_writer_reused_dictionaries(plain), 0);
    int64_t n = lk_pq_writer_reused_dictionaries(dst);
    lk_buf_free(&a);
    lk_buf_free(&b);
    lk_buf_free(&bytes);
    lk_pq_writer_destroy(&src);
    lk_pq_writer_destroy(&dst);
    lk_pq_writer_destroy(&plain);
    lk_batch_destroy(&sb);
    lk_batch_destroy(&db);
    lk_schema_destroy(&ss);
    return n;
}

START_TEST(a_filtered_chunk_takes_the_sources_dictionary)
{
    /* device.os (nested, its struct never null), msg (nulls) and kind have dictionaries in the
       source; id and ts are nearly unique (no dictionary) */
    ck_assert_int_eq(filtered(5000, -1, 1u << 20), 3);
    ck_assert_int_eq(filtered(20000, -1, 4096), 3); /* several data pages */
    /* a kept row's msg changed: msg is not some of the source's rows, it is encoded itself */
    ck_assert_int_eq(filtered(5000, 4304, 1u << 20), 2);
    /* the first and the last kept msg changed: found at either end */
    ck_assert_int_eq(filtered(5000, 3, 1u << 20), 2);
    ck_assert_int_eq(filtered(5000, 4997, 1u << 20), 2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("parquet_reuse");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, same_columns_are_reused_and_the_file_is_unchanged);
    tcase_add_test(tc, a_column_that_differs_by_one_value_is_encoded);
    tcase_add_test(tc, kept_buffers_take_the_next_row_group);
    tcase_add_test(tc, a_filtered_chunk_takes_the_sources_dictionary);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
