/* Unit tests for proto/lk_msg: round trips, batch reuse, hostile input. */
#include <check.h>
#include <msgpack.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_check.h"
#include "lk_ddl.h"
#include "lk_json_reader.h"
#include "lk_msg.h"
#include "lk_msg_v2.h"
#include "lk_raw.h"

/* ---- a schema of every type and a batch with nulls in various places ---- */

static lk_schema *all_types_schema(void)
{
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "b", LK_TYPE_BOOLEAN, 1);
    lk_schema_add(s, "y", LK_TYPE_BYTE, 1);
    lk_schema_add(s, "sh", LK_TYPE_SHORT, 1);
    lk_schema_add(s, "i", LK_TYPE_INTEGER, 1);
    lk_schema_add(s, "l", LK_TYPE_LONG, 0);
    lk_schema_add(s, "f", LK_TYPE_FLOAT, 1);
    lk_schema_add(s, "d", LK_TYPE_DOUBLE, 1);
    lk_schema_add(s, "str", LK_TYPE_STRING, 1);
    lk_schema_add(s, "bin", LK_TYPE_BINARY, 1);
    lk_schema_add(s, "dt", LK_TYPE_DATE, 1);
    lk_schema_add(s, "ts", LK_TYPE_TIMESTAMP, 1);
    lk_schema_add(s, "tsn", LK_TYPE_TIMESTAMP_NTZ, 1);
    lk_field *f = lk_schema_add(s, "dec10", LK_TYPE_DECIMAL, 1);
    f->precision = 10;
    f->scale = 2;
    f = lk_schema_add(s, "dec30", LK_TYPE_DECIMAL, 1);
    f->precision = 30;
    f->scale = 3;
    f = lk_schema_add(s, "st", LK_TYPE_STRUCT, 1);
    lk_field_add_child(f, "a", LK_TYPE_LONG, 1);
    lk_field *in = lk_field_add_child(f, "inner", LK_TYPE_STRUCT, 1);
    lk_field_add_child(in, "x", LK_TYPE_STRING, 1);
    lk_field_add_child(in, "y", LK_TYPE_DOUBLE, 1);
    f = lk_schema_add(s, "arr", LK_TYPE_ARRAY, 1);
    lk_field_add_child(f, "element", LK_TYPE_STRING, 1);
    f = lk_schema_add(s, "mp", LK_TYPE_MAP, 1);
    lk_field_add_child(f, "key", LK_TYPE_STRING, 0);
    lk_field_add_child(f, "value", LK_TYPE_LONG, 1);
    return s;
}

static void fill_all_types(lk_batch *b, int n, int seed)
{
    char tmp[64];
    for (int r = 0; r < n; r++) {
        int i = r + seed;
        lk_col *c = lk_batch_col(b, 0);
        if (i % 5 == 0)
            lk_col_append_null(c);
        else
            lk_col_append_bool(c, i & 1);
        int8_t y = (int8_t)(i * 7);
        if (i % 6 == 1)
            lk_col_append_null(lk_batch_col(b, 1));
        else
            lk_col_append_fixed(lk_batch_col(b, 1), &y);
        int16_t sh = (int16_t)(i * 300);
        lk_col_append_fixed(lk_batch_col(b, 2), &sh);
        if (r == n - 1)
            lk_col_append_null(lk_batch_col(b, 3));
        else
            lk_col_append_i32(lk_batch_col(b, 3), i * 100000);
        lk_col_append_i64(lk_batch_col(b, 4), (int64_t)i * 10000000000LL);
        lk_col_append_f32(lk_batch_col(b, 5), (float)i / 3.0f);
        if (r == 0)
            lk_col_append_null(lk_batch_col(b, 6));
        else
            lk_col_append_f64(lk_batch_col(b, 6), i * 1.5);
        if (i % 3 == 1) {
            lk_col_append_null(lk_batch_col(b, 7));
        } else {
            int k = snprintf(tmp, sizeof tmp, "s-%d-%s", i, i % 2 ? "odd" : "");
            lk_col_append_bytes(lk_batch_col(b, 7), tmp, (size_t)k);
        }
        uint8_t raw[4] = {(uint8_t)i, 0, 0xff, (uint8_t)(i >> 8)};
        lk_col_append_bytes(lk_batch_col(b, 8), raw, (size_t)(i % 5));
        lk_col_append_i32(lk_batch_col(b, 9), 19000 + i);
        lk_col_append_i64(lk_batch_col(b, 10), 1795512600123000LL + i);
        if (i % 8 == 7)
            lk_col_append_null(lk_batch_col(b, 11));
        else
            lk_col_append_i64(lk_batch_col(b, 11), -i);
        lk_col_append_i64(lk_batch_col(b, 12), (int64_t)i * 12345);
        uint8_t d16[16];
        memset(d16, 0, sizeof d16);
        d16[15] = (uint8_t)i;
        d16[0] = (uint8_t)(i % 2 ? 0xff : 0);
        if (i % 4 == 3)
            lk_col_append_null(lk_batch_col(b, 13));
        else
            lk_col_append_fixed(lk_batch_col(b, 13), d16);
        lk_col *st = lk_batch_col(b, 14);
        if (i % 4 == 2) {
            lk_col_append_null(st);
        } else {
            lk_col_append_struct(st);
            lk_col_append_i64(&st->children[0], i);
            lk_col *inner = &st->children[1];
            if (i % 3 == 0) {
                lk_col_append_null(inner);
            } else {
                lk_col_append_struct(inner);
                int k = snprintf(tmp, sizeof tmp, "in%d", i);
                lk_col_append_bytes(&inner->children[0], tmp, (size_t)k);
                if (i % 2)
                    lk_col_append_null(&inner->children[1]);
                else
                    lk_col_append_f64(&inner->children[1], i * 0.25);
            }
        }
        lk_col *arr = lk_batch_col(b, 15);
        if (i % 7 == 3) {
            lk_col_append_null(arr);
        } else {
            for (int e = 0; e < i % 3; e++) {
                if (e == 1 && i % 2)
                    lk_col_append_null(&arr->children[0]);
                else
                    lk_col_append_bytes(&arr->children[0], "el", 2);
            }
            lk_col_append_list(arr);
        }
        lk_col *mp = lk_batch_col(b, 16);
        for (int e = 0; e < i % 2 + (i % 5 == 0); e++) {
            int k = snprintf(tmp, sizeof tmp, "k%d", e);
            lk_col_append_bytes(&mp->children[0], tmp, (size_t)k);
            if (e)
                lk_col_append_null(&mp->children[1]);
            else
                lk_col_append_i64(&mp->children[1], i * 2);
        }
        lk_col_append_list(mp);
        lk_batch_end_row(b);
    }
}

static void col_eq(const lk_col *a, const lk_col *b)
{
    ck_assert_uint_eq(a->len, b->len);
    ck_assert_uint_eq(a->null_count, b->null_count);
    ck_assert(lk_field_equal(a->field, b->field));
    for (uint32_t i = 0; i < a->len; i++)
        ck_assert_int_eq(lk_col_is_null(a, i), lk_col_is_null(b, i));
    if (a->elem_size && a->len)
        ck_assert(!memcmp(a->values, b->values, (size_t)a->len * a->elem_size));
    if (a->offsets) {
        ck_assert(!memcmp(a->offsets, b->offsets, ((size_t)a->len + 1) * 4));
        if (a->field->type == LK_TYPE_STRING || a->field->type == LK_TYPE_BINARY) {
            ck_assert_uint_eq(a->data_len, b->data_len);
            ck_assert(!a->data_len || !memcmp(a->data, b->data, a->data_len));
        }
    }
    ck_assert_int_eq(a->n_children, b->n_children);
    for (int i = 0; i < a->n_children; i++)
        col_eq(&a->children[i], &b->children[i]);
}

static void batch_eq(const lk_batch *a, const lk_batch *b)
{
    ck_assert(lk_schema_equal(lk_batch_schema(a), lk_batch_schema(b)));
    ck_assert_uint_eq(lk_batch_nrows(a), lk_batch_nrows(b));
    for (int i = 0; i < lk_batch_ncols(a); i++)
        col_eq(lk_batch_col_const(a, i), lk_batch_col_const(b, i));
}

static lk_schema *small_schema(void)
{
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "id", LK_TYPE_STRING, 0);
    lk_schema_add(s, "n", LK_TYPE_LONG, 1);
    return s;
}

static void fill_small(lk_batch *b, int n)
{
    for (int i = 0; i < n; i++) {
        lk_col_append_bytes(lk_batch_col(b, 0), "abc", (size_t)(i % 4));
        if (i % 2)
            lk_col_append_null(lk_batch_col(b, 1));
        else
            lk_col_append_i64(lk_batch_col(b, 1), i);
        lk_batch_end_row(b);
    }
}

/* A records message with three parts: all types (37 rows), small (5), empty. */
static void make_records(lk_msg_records *m, lk_buf *out)
{
    memset(m, 0, sizeof *m);
    m->batch_id = 77;
    m->chunk_idx = 3;
    m->rows_in = 42;
    m->corrupt_rows = 1;
    m->rescued_rows = 2;
    lk_schema *s1 = all_types_schema(), *s2 = small_schema();
    m->parts[0].batch = lk_batch_new(s1);
    m->parts[1].batch = lk_batch_new(s2);
    m->parts[2].batch = lk_batch_new(s2);
    snprintf(m->parts[0].table, sizeof m->parts[0].table, "raw_events");
    snprintf(m->parts[1].table, sizeof m->parts[1].table, "processed_events");
    snprintf(m->parts[2].table, sizeof m->parts[2].table, "empty");
    fill_all_types(m->parts[0].batch, 37, 0);
    fill_small(m->parts[1].batch, 5);
    m->n_parts = 3;
    lk_schema_destroy(&s1);
    lk_schema_destroy(&s2);
    ck_assert_int_eq(lk_msg_records_encode(m, out), 0);
}

START_TEST(records_round_trip)
{
    lk_msg_records in, out;
    lk_buf buf = LK_BUF_INIT;
    make_records(&in, &buf);
    memset(&out, 0, sizeof out);
    lk_error err;
    lk_msg_type t;
    ck_assert_int_eq(lk_msg_peek(buf.data, buf.len, &t, &err), 0);
    ck_assert_int_eq(t, LK_MSG_RECORDS);
    ck_assert_int_eq(lk_msg_records_decode(buf.data, buf.len, &out, &err), 0);
    ck_assert_int_eq(out.batch_id, 77);
    ck_assert_int_eq(out.chunk_idx, 3);
    ck_assert_int_eq(out.rows_in, 42);
    ck_assert_int_eq(out.corrupt_rows, 1);
    ck_assert_int_eq(out.rescued_rows, 2);
    ck_assert_int_eq(out.n_parts, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_str_eq(out.parts[i].table, in.parts[i].table);
        batch_eq(in.parts[i].batch, out.parts[i].batch);
    }
    ck_assert_uint_eq(lk_batch_nrows(out.parts[2].batch), 0);
    /* spot check through the accessors */
    const lk_col *str = lk_batch_col_const(out.parts[0].batch, 7);
    size_t n;
    const char *p = lk_col_bytes(str, 2, &n);
    ck_assert_int_eq((int)n, 4);
    ck_assert(!memcmp(p, "s-2-", 4));
    ck_assert(lk_col_is_null(str, 1));

    /* second decode of the same schemas reuses the batch objects */
    lk_batch *b0 = out.parts[0].batch, *b1 = out.parts[1].batch;
    ck_assert_int_eq(lk_msg_records_decode(buf.data, buf.len, &out, &err), 0);
    ck_assert_ptr_eq(out.parts[0].batch, b0);
    ck_assert_ptr_eq(out.parts[1].batch, b1);
    batch_eq(in.parts[0].batch, out.parts[0].batch);

    /* different data, same schema: still reused, content replaced */
    lk_batch_reset(in.parts[0].batch);
    fill_all_types(in.parts[0].batch, 100, 5);
    ck_assert_int_eq(lk_msg_records_encode(&in, &buf), 0);
    ck_assert_int_eq(lk_msg_records_decode(buf.data, buf.len, &out, &err), 0);
    ck_assert_ptr_eq(out.parts[0].batch, b0);
    batch_eq(in.parts[0].batch, out.parts[0].batch);

    /* parts swapped: the schemas differ per slot, batches are replaced */
    lk_msg_part tmp = in.parts[0];
    in.parts[0] = in.parts[1];
    in.parts[1] = tmp;
    ck_assert_int_eq(lk_msg_records_encode(&in, &buf), 0);
    ck_assert_int_eq(lk_msg_records_decode(buf.data, buf.len, &out, &err), 0);
    for (int i = 0; i < 3; i++)
        batch_eq(in.parts[i].batch, out.parts[i].batch);

    lk_msg_records_clear(&in);
    lk_msg_records_clear(&out);
    ck_assert_ptr_null(out.parts[0].batch);
    lk_buf_free(&buf);
}
END_TEST

START_TEST(chunk_round_trip)
{
    lk_msg_chunk c, d;
    memset(&c, 0, sizeof c);
    c.batch_id = 9;
    c.chunk_idx = 2;
    c.schema_version = 4;
    c.file_id = 123;
    snprintf(c.file_path, sizeof c.file_path, "/data/in/events-001.jsonl");
    c.file_size = 1 << 20;
    c.file_mtime_us = 1795512600123000LL;
    c.offset = 4096;
    c.first_line = 57;
    c.data = "{\"a\":1}\n{\"a\":2}\n";
    c.len = strlen(c.data);
    lk_buf buf = LK_BUF_INIT;
    ck_assert_int_eq(lk_msg_chunk_encode(&c, &buf), 0);
    lk_error err;
    memset(&d, 0, sizeof d);
    ck_assert_int_eq(lk_msg_chunk_decode(buf.data, buf.len, &d, &err), 0);
    ck_assert_int_eq(d.batch_id, 9);
    ck_assert_int_eq(d.chunk_idx, 2);
    ck_assert_int_eq(d.schema_version, 4);
    ck_assert_int_eq(d.file_id, 123);
    ck_assert_str_eq(d.file_path, c.file_path);
    ck_assert_int_eq(d.file_size, 1 << 20);
    ck_assert_int_eq(d.file_mtime_us, c.file_mtime_us);
    ck_assert_int_eq(d.offset, 4096);
    ck_assert_int_eq(d.first_line, 57);
    ck_assert_uint_eq(d.len, c.len);
    ck_assert(!memcmp(d.data, c.data, c.len));
    /* zero-copy: data points into the message */
    ck_assert(d.data >= buf.data && d.data + d.len <= buf.data + buf.len);
    /* empty chunk */
    c.len = 0;
    ck_assert_int_eq(lk_msg_chunk_encode(&c, &buf), 0);
    ck_assert_int_eq(lk_msg_chunk_decode(buf.data, buf.len, &d, &err), 0);
    ck_assert_uint_eq(d.len, 0);
    ck_assert_uint_eq(d.header_len, 0);
    /* a csv chunk carries its file's header record */
    c.data = "1,2\n";
    c.len = 4;
    c.header = "b,\"a\"";
    c.header_len = strlen(c.header);
    lk_buf_reset(&buf);
    ck_assert_int_eq(lk_msg_chunk_encode(&c, &buf), 0);
    ck_assert_int_eq(lk_msg_chunk_decode(buf.data, buf.len, &d, &err), 0);
    ck_assert_uint_eq(d.header_len, c.header_len);
    ck_assert(!memcmp(d.header, c.header, c.header_len));
    ck_assert_uint_eq(d.len, 4);
    c.header_len = 0;
    /* by reference: where the bytes are and their digest, not the bytes; the csv header still
       travels */
    c.data = "{\"a\":1}\n";
    c.len = 2u << 20;
    c.by_ref = 1;
    c.digest = 0xfedcba9876543210ULL;
    c.ref_pid = 4321;
    c.ref_fd = 17;
    c.header = "x,y";
    c.header_len = 3;
    lk_buf_reset(&buf);
    ck_assert_int_eq(lk_msg_chunk_encode(&c, &buf), 0);
    ck_assert_uint_lt(buf.len, 200); /* not 2 MiB */
    memset(&d, 0, sizeof d);
    ck_assert_int_eq(lk_msg_chunk_decode(buf.data, buf.len, &d, &err), 0);
    ck_assert_int_eq(d.by_ref, 1);
    ck_assert(d.data == NULL);
    ck_assert_uint_eq(d.len, 2u << 20);
    ck_assert(d.digest == 0xfedcba9876543210ULL);
    ck_assert_int_eq(d.ref_pid, 4321);
    ck_assert_int_eq(d.ref_fd, 17);
    ck_assert_uint_eq(d.header_len, 3);
    ck_assert_int_eq(d.offset, 4096);
    ck_assert_str_eq(d.file_path, c.file_path);
    /* a length past LK_MSG_MAX_REF_BYTES is a malformed message, not an allocation */
    c.len = (size_t)LK_MSG_MAX_REF_BYTES + 1;
    lk_buf_reset(&buf);
    ck_assert_int_eq(lk_msg_chunk_encode(&c, &buf), 0);
    ck_assert_int_eq(lk_msg_chunk_decode(buf.data, buf.len, &d, &err), LK_EFORMAT);
    c.by_ref = 0;
    c.header_len = 0;
    c.len = 4;
    /* with bytes again: by_ref is cleared by the decode */
    lk_buf_reset(&buf);
    ck_assert_int_eq(lk_msg_chunk_encode(&c, &buf), 0);
    d.by_ref = 1;
    ck_assert_int_eq(lk_msg_chunk_decode(buf.data, buf.len, &d, &err), 0);
    ck_assert_int_eq(d.by_ref, 0);
    ck_assert_int_eq(d.ref_fd, -1);
    ck_assert_uint_eq(d.len, 4);
    /* a chunk is not an event */
    lk_msg_event e;
    ck_assert_int_eq(lk_msg_event_decode(buf.data, buf.len, &e, &err), LK_EFORMAT);
    lk_buf_free(&buf);
}
END_TEST

START_TEST(files_round_trip)
{
    lk_msg_files f, g;
    memset(&f, 0, sizeof f);
    memset(&g, 0, sizeof g);
    f.batch_id = 5;
    f.chunk_idx = 1;
    f.rows_in = 1000;
    f.corrupt_rows = 3;
    f.rescued_rows = 4;
    lk_msg_files_resize(&f, 2);
    snprintf(f.files[0].table, sizeof f.files[0].table, "raw_events");
    snprintf(f.files[0].path, sizeof f.files[0].path, "part-00000-abc.zstd.parquet");
    f.files[0].size = 12345;
    f.files[0].rows = 997;
    f.files[0].mtime_ms = 1795512600123LL;
    f.files[0].stats_json = strdup("{\"numRecords\":997}");
    snprintf(f.files[1].table, sizeof f.files[1].table, "errors");
    snprintf(f.files[1].path, sizeof f.files[1].path, "event_date=2026-11-24/x.parquet");
    f.files[1].rows = 3;
    f.files[1].partition_values_json = strdup("{\"event_date\":\"2026-11-24\"}");
    lk_buf buf = LK_BUF_INIT;
    ck_assert_int_eq(lk_msg_files_encode(&f, &buf), 0);
    lk_error err;
    ck_assert_int_eq(lk_msg_files_decode(buf.data, buf.len, &g, &err), 0);
    ck_assert_int_eq(g.batch_id, 5);
    ck_assert_int_eq(g.chunk_idx, 1);
    ck_assert_int_eq(g.rows_in, 1000);
    ck_assert_int_eq(g.corrupt_rows, 3);
    ck_assert_int_eq(g.rescued_rows, 4);
    ck_assert_int_eq(g.n_files, 2);
    ck_assert_str_eq(g.files[0].table, "raw_events");
    ck_assert_str_eq(g.files[0].path, "part-00000-abc.zstd.parquet");
    ck_assert_int_eq(g.files[0].size, 12345);
    ck_assert_int_eq(g.files[0].rows, 997);
    ck_assert_int_eq(g.files[0].mtime_ms, 1795512600123LL);
    ck_assert_str_eq(g.files[0].stats_json, "{\"numRecords\":997}");
    ck_assert_str_eq(g.files[1].table, "errors");
    ck_assert_ptr_null(g.files[1].stats_json);
    ck_assert_ptr_null(g.files[0].partition_values_json);
    ck_assert_str_eq(g.files[1].partition_values_json, "{\"event_date\":\"2026-11-24\"}");
    /* decoding again into g frees the previous stats */
    ck_assert_int_eq(lk_msg_files_decode(buf.data, buf.len, &g, &err), 0);
    lk_msg_files_clear(&f);
    lk_msg_files_clear(&g);
    ck_assert_int_eq(g.n_files, 0);
    lk_buf_free(&buf);
}
END_TEST

/* issue 16: a writer's HOLD (one chunk) and CLOSE (a batch's files and the chunks they hold) */
START_TEST(files_hold_close_round_trip)
{
    lk_msg_files f = {0}, g = {0};
    f.batch_id = 9;
    f.chunk_idx = LK_CHUNK_IDX(3, 0);
    f.kind = LK_FILES_CLOSE;
    f.session = -1234567890123LL;
    for (int k = 0; k < 40; k++)
        lk_msg_files_add_chunk(&f, 39 - k);
    lk_msg_files_resize(&f, 1);
    snprintf(f.files[0].table, sizeof f.files[0].table, "raw_events");
    snprintf(f.files[0].path, sizeof f.files[0].path, "part-00009-x.parquet");
    lk_buf buf = LK_BUF_INIT;
    ck_assert_int_eq(lk_msg_files_encode(&f, &buf), 0);
    lk_error err;
    ck_assert_int_eq(lk_msg_files_decode(buf.data, buf.len, &g, &err), 0);
    ck_assert_int_eq(g.kind, LK_FILES_CLOSE);
    ck_assert_int_eq(g.session, -1234567890123LL);
    ck_assert_int_eq(g.chunk_idx >> LK_CHUNK_GEN_SHIFT, 3);
    ck_assert_int_eq(g.n_chunks, 40);
    for (int k = 0; k < 40; k++)
        ck_assert_int_eq(g.chunks[k], 39 - k);
    ck_assert_int_eq(g.n_files, 1);
    ck_assert_str_eq(g.files[0].path, "part-00009-x.parquet");
    /* a HOLD: no files, no chunks list */
    lk_msg_files_clear(&f);
    f.batch_id = 9;
    f.chunk_idx = LK_CHUNK_IDX(3, 7);
    f.kind = LK_FILES_HOLD;
    f.session = 42;
    f.rows_in = 100;
    lk_buf_reset(&buf);
    ck_assert_int_eq(lk_msg_files_encode(&f, &buf), 0);
    ck_assert_int_eq(lk_msg_files_decode(buf.data, buf.len, &g, &err), 0);
    ck_assert_int_eq(g.kind, LK_FILES_HOLD);
    ck_assert_int_eq(g.session, 42);
    ck_assert_int_eq(g.n_chunks, 0);
    ck_assert_int_eq(g.n_files, 0);
    ck_assert_int_eq(g.rows_in, 100);
    /* an unknown kind is refused */
    f.kind = 7;
    lk_buf_reset(&buf);
    lk_msg_files_encode(&f, &buf);
    ck_assert_int_eq(lk_msg_files_decode(buf.data, buf.len, &g, &err), LK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "kind 7") != NULL, "%s", err.msg);
    /* the older form (kind 0) still decodes */
    f.kind = 0;
    lk_buf_reset(&buf);
    lk_msg_files_encode(&f, &buf);
    ck_assert_int_eq(lk_msg_files_decode(buf.data, buf.len, &g, &err), 0);
    ck_assert_int_eq(g.kind, 0);
    ck_assert_int_eq(g.session, 0);
    lk_msg_files_clear(&f);
    lk_msg_files_clear(&g);
    lk_buf_free(&buf);
}
END_TEST

START_TEST(event_round_trip)
{
    lk_msg_event e, d;
    lk_msg_event_init(&e, "committed");
    lk_msg_event_set_int(&e, "batch_id", 12);
    lk_msg_event_set_str(&e, "table", "raw_events");
    lk_msg_event_set_int(&e, "version", -1);
    lk_msg_event_set_int(&e, "version", 7); /* replaces */
    lk_msg_event_set_int(&e, "big", INT64_MIN);
    ck_assert_int_eq(e.n, 4);
    lk_buf buf = LK_BUF_INIT;
    ck_assert_int_eq(lk_msg_event_encode(&e, &buf), 0);
    lk_error err;
    ck_assert_int_eq(lk_msg_event_decode(buf.data, buf.len, &d, &err), 0);
    ck_assert_str_eq(d.name, "committed");
    ck_assert_int_eq(d.n, 4);
    ck_assert_int_eq(lk_msg_event_get_int(&d, "batch_id", 0), 12);
    ck_assert_int_eq(lk_msg_event_get_int(&d, "version", 0), 7);
    ck_assert_int_eq(lk_msg_event_get_int(&d, "big", 0), INT64_MIN);
    ck_assert_int_eq(lk_msg_event_get_int(&d, "missing", -5), -5);
    ck_assert_int_eq(lk_msg_event_get_int(&d, "table", -5), -5);
    ck_assert_str_eq(lk_msg_event_get_str(&d, "table"), "raw_events");
    ck_assert_ptr_null(lk_msg_event_get_str(&d, "batch_id"));
    /* too many keys are dropped, not overflowed */
    lk_msg_event_init(&e, "many");
    char k[32];
    for (int i = 0; i < LK_MSG_MAX_KV + 10; i++) {
        snprintf(k, sizeof k, "k%d", i);
        lk_msg_event_set_int(&e, k, i);
    }
    ck_assert_int_eq(e.n, LK_MSG_MAX_KV);
    ck_assert_int_eq(lk_msg_event_encode(&e, &buf), 0);
    ck_assert_int_eq(lk_msg_event_decode(buf.data, buf.len, &d, &err), 0);
    ck_assert_int_eq(d.n, LK_MSG_MAX_KV);
    ck_assert_int_eq(lk_msg_event_get_int(&d, "k47", 0), 47);
    lk_msg_type t;
    ck_assert_int_eq(lk_msg_peek(buf.data, buf.len, &t, &err), 0);
    ck_assert_int_eq(t, LK_MSG_EVENT);
    lk_buf_free(&buf);
}
END_TEST

static int buf_write(void *data, const char *p, size_t n)
{
    lk_buf_append((lk_buf *)data, p, n);
    return 0;
}

START_TEST(envelope_rejected)
{
    lk_buf b = LK_BUF_INIT;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, buf_write);
    lk_error err;
    lk_msg_type t;
    lk_msg_event e;
    /* version mismatch */
    msgpack_pack_array(&pk, 3);
    msgpack_pack_int(&pk, LK_MSG_EVENT);
    msgpack_pack_int(&pk, LK_PROTO_VERSION + 1);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_str(&pk, 1);
    msgpack_pack_str_body(&pk, "x", 1);
    msgpack_pack_map(&pk, 0);
    ck_assert_int_eq(lk_msg_peek(b.data, b.len, &t, &err), LK_EFORMAT);
    ck_assert_int_eq(lk_msg_event_decode(b.data, b.len, &e, &err), LK_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "version"));
    /* unknown type */
    lk_buf_reset(&b);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_int(&pk, 9);
    msgpack_pack_int(&pk, LK_PROTO_VERSION);
    msgpack_pack_nil(&pk);
    ck_assert_int_eq(lk_msg_peek(b.data, b.len, &t, &err), LK_EFORMAT);
    /* trailing bytes */
    lk_msg_event_init(&e, "x");
    lk_msg_event_encode(&e, &b);
    lk_buf_putc(&b, 0);
    ck_assert_int_eq(lk_msg_event_decode(b.data, b.len, &e, &err), LK_EFORMAT);
    /* a huge declared array count does not allocate */
    const uint8_t huge[] = {0x93, 0x04, 0x01, 0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0};
    ck_assert_int_eq(lk_msg_event_decode(huge, sizeof huge, &e, &err), LK_EFORMAT);
    const uint8_t huge_bin[] = {0xc6, 0xff, 0xff, 0xff, 0xff, 0x00};
    ck_assert_int_eq(lk_msg_peek(huge_bin, sizeof huge_bin, &t, &err), LK_EFORMAT);
    ck_assert_int_eq(lk_msg_peek(NULL, 0, &t, &err), LK_EFORMAT);
    lk_buf_free(&b);
}
END_TEST

/* A column equal to the same-named column of an earlier part travels as a
   reference and decodes to the same values; a column that differs, or a
   part of another length, is sent whole; a reference to a part not yet
   decoded or to a missing column is refused. */
/* m: raw_events with 37 rows of every type, and an empty processed_events of the same schema. */
static void raw_and_processed(lk_msg_records *m, const lk_schema *s)
{
    memset(m, 0, sizeof *m);
    m->n_parts = 2;
    snprintf(m->parts[0].table, sizeof m->parts[0].table, "raw_events");
    snprintf(m->parts[1].table, sizeof m->parts[1].table, "processed_events");
    m->parts[0].batch = lk_batch_new(s);
    m->parts[1].batch = lk_batch_new(s);
    fill_all_types(m->parts[0].batch, 37, 0);
}

START_TEST(records_repeated_columns)
{
    lk_schema *s = all_types_schema();
    lk_msg_records m, d;
    memset(&d, 0, sizeof d);
    raw_and_processed(&m, s);
    fill_all_types(m.parts[1].batch, 37, 0);
    lk_buf same = LK_BUF_INIT, other = LK_BUF_INIT;
    lk_error err;
    ck_assert_int_eq(lk_msg_records_encode(&m, &same), 0);
    ck_assert_int_eq(lk_msg_records_decode(same.data, same.len, &d, &err), 0);
    batch_eq(m.parts[0].batch, d.parts[0].batch);
    batch_eq(m.parts[1].batch, d.parts[1].batch);
    /* the second part's columns are references: it adds its schema and a
       few bytes per column to the first part's message */
    lk_buf base = LK_BUF_INIT;
    m.n_parts = 1;
    ck_assert_int_eq(lk_msg_records_encode(&m, &base), 0);
    m.n_parts = 2;
    lk_batch_reset(m.parts[1].batch);
    fill_all_types(m.parts[1].batch, 37, 1);
    ck_assert_int_eq(lk_msg_records_encode(&m, &other), 0);
    ck_assert_uint_lt((same.len - base.len) * 3, other.len - base.len);
    ck_assert_int_eq(lk_msg_records_decode(other.data, other.len, &d, &err), 0);
    batch_eq(m.parts[1].batch, d.parts[1].batch);
    /* one column differs in one row: that column alone is sent whole */
    lk_batch_reset(m.parts[1].batch);
    fill_all_types(m.parts[1].batch, 37, 0);
    lk_col *str = lk_batch_col(m.parts[1].batch, 7);
    str->data[str->offsets[3]] ^= 1;
    lk_buf one = LK_BUF_INIT;
    ck_assert_int_eq(lk_msg_records_encode(&m, &one), 0);
    ck_assert_uint_gt(one.len, same.len);
    ck_assert_uint_lt(one.len, other.len);
    ck_assert_int_eq(lk_msg_records_decode(one.data, one.len, &d, &err), 0);
    batch_eq(m.parts[1].batch, d.parts[1].batch);
    /* fewer rows: nothing is shared */
    lk_batch_reset(m.parts[1].batch);
    fill_all_types(m.parts[1].batch, 36, 0);
    ck_assert_int_eq(lk_msg_records_encode(&m, &one), 0);
    ck_assert_int_eq(lk_msg_records_decode(one.data, one.len, &d, &err), 0);
    batch_eq(m.parts[1].batch, d.parts[1].batch);
    lk_msg_records_clear(&m);

    /* hostile references: the message ends with part 1's last column, the
       reference [0, k] (0x92 0x00 k) */
    lk_schema *s1 = lk_schema_new();
    lk_schema_add(s1, "x", LK_TYPE_LONG, 1);
    memset(&m, 0, sizeof m);
    m.n_parts = 2;
    for (int i = 0; i < 2; i++) {
        snprintf(m.parts[i].table, sizeof m.parts[i].table, "t%d", i);
        m.parts[i].batch = lk_batch_new(s1);
        for (int r = 0; r < 3; r++) {
            lk_col_append_i64(lk_batch_col(m.parts[i].batch, 0), r);
            lk_batch_end_row(m.parts[i].batch);
        }
    }
    ck_assert_int_eq(lk_msg_records_encode(&m, &one), 0);
    ck_assert_uint_eq((uint8_t)one.data[one.len - 3], 0x92);
    ck_assert_int_eq(lk_msg_records_decode(one.data, one.len, &d, &err), 0);
    batch_eq(m.parts[1].batch, d.parts[1].batch);
    one.data[one.len - 2] = 1; /* part 1 refers to itself */
    ck_assert_int_eq(lk_msg_records_decode(one.data, one.len, &d, &err), LK_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "not sent"));
    one.data[one.len - 2] = 0;
    one.data[one.len - 1] = 5; /* no column 5 */
    ck_assert_int_eq(lk_msg_records_decode(one.data, one.len, &d, &err), LK_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "not sent"));
    lk_msg_records_clear(&m);
    lk_msg_records_clear(&d);
    lk_schema_destroy(&s);
    lk_schema_destroy(&s1);
    lk_buf_free(&same);
    lk_buf_free(&other);
    lk_buf_free(&one);
    lk_buf_free(&base);
}
END_TEST

/* A part whose rows are some of an earlier part's (a filter) sends its selection once and its
   columns taken unchanged from that part as [part, column, 1]: decoded to the same values, for a
   message about the size of the first part alone; a computed column is sent whole. A selection
   whose count is not the part's rows is refused; a hint whose count disagrees, or that selects
   every row, is ignored by the encoder (plain references instead). */
START_TEST(records_selected_rows)
{
    lk_schema *s = all_types_schema();
    lk_msg_records m, d;
    memset(&d, 0, sizeof d);
    raw_and_processed(&m, s);
    uint8_t keep[37];
    uint32_t sel[37], n = 0;
    for (uint32_t r = 0; r < 37; r++) {
        keep[r] = r % 3 != 1;
        if (keep[r]) sel[n++] = r;
    }
    int nc = lk_batch_ncols(m.parts[0].batch), cols[64];
    lk_batch *other = lk_batch_new(s);
    fill_all_types(other, 37, 5);
    for (int c = 0; c < nc; c++) {
        /* column 3 computed: another part's values */
        lk_col_append_sel(lk_batch_col(m.parts[1].batch, c),
                          lk_batch_col_const(c == 3 ? other : m.parts[0].batch, c), sel, n);
        cols[c] = c == 3 ? -1 : c;
    }
    lk_batch_set_nrows(m.parts[1].batch, n);
    lk_buf plain = LK_BUF_INIT, refs = LK_BUF_INIT, base = LK_BUF_INIT;
    lk_error err;
    ck_assert_int_eq(lk_msg_records_encode(&m, &plain), 0);
    m.parts[1].keep = keep;
    m.parts[1].cols = cols;
    m.parts[1].from = 0;
    ck_assert_int_eq(lk_msg_records_encode(&m, &refs), 0);
    ck_assert_int_eq(lk_msg_records_decode(refs.data, refs.len, &d, &err), 0);
    batch_eq(m.parts[0].batch, d.parts[0].batch);
    batch_eq(m.parts[1].batch, d.parts[1].batch);
    m.n_parts = 1;
    ck_assert_int_eq(lk_msg_records_encode(&m, &base), 0);
    m.n_parts = 2;
    ck_assert_uint_lt((refs.len - base.len) * 3, plain.len - base.len);
    /* the selection: [0, bitmap], the bitmap a bin8 of 5 bytes (0x92 0x00 0xc4 0x05 ...) */
    uint8_t sb[9] = {0x92, 0x00, 0xc4, 0x05};
    for (uint32_t r = 0; r < 37; r++)
        if (keep[r]) sb[4 + (r >> 3)] |= (uint8_t)(1u << (r & 7));
    char *at = memmem(refs.data, refs.len, sb, sizeof sb);
    ck_assert_ptr_nonnull(at);
    at[4] ^= 2; /* row 1 selected too: one row more than the part has */
    ck_assert_int_eq(lk_msg_records_decode(refs.data, refs.len, &d, &err), LK_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "does not select"));
    /* a hint whose count is not the part's rows: ignored, the values are sent */
    keep[1] = 1;
    lk_buf wrong = LK_BUF_INIT;
    ck_assert_int_eq(lk_msg_records_encode(&m, &wrong), 0);
    ck_assert_uint_eq(wrong.len, plain.len);
    ck_assert_int_eq(lk_msg_records_decode(wrong.data, wrong.len, &d, &err), 0);
    batch_eq(m.parts[1].batch, d.parts[1].batch);
    lk_batch_destroy(&other);
    lk_msg_records_clear(&m);
    lk_msg_records_clear(&d);
    lk_schema_destroy(&s);
    lk_buf_free(&plain);
    lk_buf_free(&refs);
    lk_buf_free(&base);
    lk_buf_free(&wrong);
}
END_TEST

/* RECORDS of version 2 (parts without a selection item) still decode: event_metrics' window state
   in state.db is such a message, written by the build before an upgrade; the [part, column]
   reference of that version too. Other messages of another version are refused. */
START_TEST(records_of_version_2_decode)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    const int64_t v[3] = {10, 20, 30};
    lk_msg_v2_records(&sb, 7, v, 3);
    lk_msg_records d;
    memset(&d, 0, sizeof d);
    lk_error err;
    ck_assert_msg(lk_msg_records_decode(sb.data, sb.size, &d, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(d.n_parts, 2);
    ck_assert_int_eq(d.batch_id, 7);
    for (int p = 0; p < 2; p++) {
        ck_assert_uint_eq(lk_batch_nrows(d.parts[p].batch), 3);
        const int64_t *got = lk_batch_col_const(d.parts[p].batch, 0)->values;
        ck_assert(got[0] == 10 && got[1] == 20 && got[2] == 30);
    }
    lk_msg_records_clear(&d);
    msgpack_sbuffer_destroy(&sb);
    /* an event of version 2: refused by name */
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_int(&pk, LK_MSG_EVENT);
    msgpack_pack_int(&pk, 2);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_str(&pk, 2);
    msgpack_pack_str_body(&pk, "go", 2);
    msgpack_pack_map(&pk, 0);
    lk_msg_event e;
    ck_assert_int_eq(lk_msg_event_decode(sb.data, sb.size, &e, &err), LK_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "version 2"));
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

#ifndef NDEBUG
/* Debug builds check a lineage hint before trusting it (lk_msg.c, check_lineage): a hint naming
   the wrong source column aborts the encoder, where a release build would send wrong values. */
START_TEST(records_wrong_lineage_caught)
{
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "x", LK_TYPE_LONG, 1);
    lk_schema_add(s, "y", LK_TYPE_LONG, 1);
    lk_msg_records m;
    memset(&m, 0, sizeof m);
    m.n_parts = 2;
    for (int p = 0; p < 2; p++) {
        snprintf(m.parts[p].table, sizeof m.parts[p].table, "t%d", p);
        m.parts[p].batch = lk_batch_new(s);
    }
    uint8_t keep[8];
    for (int r = 0; r < 8; r++) {
        lk_col_append_i64(lk_batch_col(m.parts[0].batch, 0), r);
        lk_col_append_i64(lk_batch_col(m.parts[0].batch, 1), 100 + r);
        lk_batch_end_row(m.parts[0].batch);
        keep[r] = r % 2;
        if (keep[r]) {
            lk_col_append_i64(lk_batch_col(m.parts[1].batch, 0), r);
            lk_col_append_i64(lk_batch_col(m.parts[1].batch, 1), 100 + r);
            lk_batch_end_row(m.parts[1].batch);
        }
    }
    int cols[2] = {1, 0}; /* swapped: wrong */
    m.parts[1].keep = keep;
    m.parts[1].cols = cols;
    m.parts[1].from = 0;
    lk_buf b = LK_BUF_INIT;
    lk_msg_records_encode(&m, &b); /* aborts */
}
END_TEST
#endif

/* Bad offsets, short bitmaps, wrong null counts are caught. */
START_TEST(records_inconsistent)
{
    lk_schema *s = small_schema();
    lk_msg_records m, d;
    memset(&m, 0, sizeof m);
    memset(&d, 0, sizeof d);
    m.n_parts = 1;
    snprintf(m.parts[0].table, sizeof m.parts[0].table, "t");
    m.parts[0].batch = lk_batch_new(s);
    fill_small(m.parts[0].batch, 9);
    lk_buf buf = LK_BUF_INIT;
    lk_error err;
    lk_col *id = lk_batch_col(m.parts[0].batch, 0);
    lk_col *n = lk_batch_col(m.parts[0].batch, 1);

    uint32_t save = id->offsets[3];
    id->offsets[3] = id->offsets[2] - 1; /* not monotonic */
    lk_msg_records_encode(&m, &buf);
    ck_assert_int_eq(lk_msg_records_decode(buf.data, buf.len, &d, &err), LK_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "monotonic"));
    id->offsets[3] = save;

    n->null_count--; /* disagrees with the bitmap */
    lk_msg_records_encode(&m, &buf);
    ck_assert_int_eq(lk_msg_records_decode(buf.data, buf.len, &d, &err), LK_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "null_count"));
    n->null_count++;

    lk_batch_set_nrows(m.parts[0].batch, 8); /* column len != nrows */
    lk_msg_records_encode(&m, &buf);
    ck_assert_int_eq(lk_msg_records_decode(buf.data, buf.len, &d, &err), LK_EFORMAT);
    lk_batch_set_nrows(m.parts[0].batch, 9);

    ck_assert_int_eq(lk_msg_records_encode(&m, &buf), 0);
    ck_assert_int_eq(lk_msg_records_decode(buf.data, buf.len, &d, &err), 0);
    batch_eq(m.parts[0].batch, d.parts[0].batch);
    lk_msg_records_clear(&m);
    lk_msg_records_clear(&d);
    lk_schema_destroy(&s);
    lk_buf_free(&buf);
}
END_TEST

/* Touches every value of a decoded column: what the decoder promises is
   that all of it is in bounds (ASan checks the reads). */
static uint64_t col_walk(const lk_col *c)
{
    uint64_t h = 0;
    for (uint32_t i = 0; i < c->len; i++) {
        h += (uint64_t)lk_col_is_null(c, i);
        if (c->elem_size)
            h += ((const uint8_t *)c->values)[(size_t)i * c->elem_size + c->elem_size - 1];
        if (c->field->type == LK_TYPE_STRING || c->field->type == LK_TYPE_BINARY) {
            size_t n;
            const char *p = lk_col_bytes(c, i, &n);
            ck_assert(c->offsets[i + 1] <= c->data_len);
            for (size_t k = 0; k < n; k++)
                h += (uint8_t)p[k];
        }
    }
    uint32_t child_len = c->len;
    if (c->field->type == LK_TYPE_ARRAY || c->field->type == LK_TYPE_MAP)
        child_len = c->offsets[c->len];
    for (int i = 0; i < c->n_children; i++) {
        ck_assert_uint_eq(c->children[i].len, child_len);
        h += col_walk(&c->children[i]);
    }
    return h;
}

/* Schema JSON text that differs (field metadata) while the schemas are
   equal still reuses the batch; a different schema replaces it. */
START_TEST(records_reuse_by_schema)
{
    lk_schema *s = small_schema();
    lk_msg_records m, d;
    memset(&m, 0, sizeof m);
    memset(&d, 0, sizeof d);
    m.n_parts = 1;
    m.parts[0].batch = lk_batch_new(s);
    fill_small(m.parts[0].batch, 4);
    lk_buf buf = LK_BUF_INIT;
    lk_error err;
    ck_assert_int_eq(lk_msg_records_encode(&m, &buf), 0);
    ck_assert_int_eq(lk_msg_records_decode(buf.data, buf.len, &d, &err), 0);
    lk_batch *first = d.parts[0].batch;

    lk_schema_field_mut(s, 0)->metadata_json = strdup("{\"comment\":\"the id\"}");
    lk_batch_destroy(&m.parts[0].batch);
    m.parts[0].batch = lk_batch_new(s);
    fill_small(m.parts[0].batch, 6);
    ck_assert_int_eq(lk_msg_records_encode(&m, &buf), 0);
    ck_assert_ptr_nonnull(strstr(buf.data + 10, "the id"));
    ck_assert_int_eq(lk_msg_records_decode(buf.data, buf.len, &d, &err), 0);
    ck_assert_ptr_eq(d.parts[0].batch, first);
    ck_assert_uint_eq(lk_batch_nrows(d.parts[0].batch), 6);

    lk_schema_add(s, "extra", LK_TYPE_INTEGER, 1);
    lk_batch_destroy(&m.parts[0].batch);
    m.parts[0].batch = lk_batch_new(s);
    fill_small(m.parts[0].batch, 3); /* extra is padded with nulls */
    ck_assert_int_eq(lk_msg_records_encode(&m, &buf), 0);
    ck_assert_int_eq(lk_msg_records_decode(buf.data, buf.len, &d, &err), 0);
    ck_assert_int_eq(lk_batch_ncols(d.parts[0].batch), 3);
    batch_eq(m.parts[0].batch, d.parts[0].batch);
    ck_assert_uint_eq(lk_batch_col_const(d.parts[0].batch, 2)->null_count, 3);

    lk_msg_records_clear(&m);
    lk_msg_records_clear(&d);
    lk_schema_destroy(&s);
    lk_buf_free(&buf);
}
END_TEST

typedef int (*decode_fn)(const void *, size_t, void *, lk_error *);

static int dec_records(const void *p, size_t n, void *m, lk_error *e)
{
    return lk_msg_records_decode(p, n, m, e);
}
static int dec_chunk(const void *p, size_t n, void *m, lk_error *e)
{
    return lk_msg_chunk_decode(p, n, m, e);
}
static int dec_files(const void *p, size_t n, void *m, lk_error *e)
{
    return lk_msg_files_decode(p, n, m, e);
}
static int dec_event(const void *p, size_t n, void *m, lk_error *e)
{
    return lk_msg_event_decode(p, n, m, e);
}

/* Every truncation fails; seeded random byte flips fail or decode. Decodes
   into a heap copy of exactly the given size so ASan sees any overread. */
static void hostile(const lk_buf *msg, decode_fn fn, void *m, unsigned seed, int flips)
{
    lk_error err;
    for (size_t n = 0; n < msg->len; n++) {
        char *p = malloc(n ? n : 1);
        memcpy(p, msg->data, n);
        ck_assert_int_lt(fn(p, n, m, &err), 0);
        free(p);
    }
    srand(seed);
    char *p = malloc(msg->len);
    int ok = 0;
    for (int k = 0; k < flips; k++) {
        memcpy(p, msg->data, msg->len);
        int nf = 1 + rand() % 3;
        for (int j = 0; j < nf; j++)
            p[rand() % (int)msg->len] = (char)(rand() & 0xff);
        int rc = fn(p, msg->len, m, &err);
        ck_assert(rc == 0 || rc < 0);
        ok += rc == 0;
        if (rc == 0 && fn == dec_records) {
            lk_msg_records *r = m;
            for (int i = 0; i < r->n_parts; i++) {
                const lk_batch *b = r->parts[i].batch;
                for (int c = 0; c < lk_batch_ncols(b); c++) {
                    ck_assert_uint_eq(lk_batch_col_const(b, c)->len, lk_batch_nrows(b));
                    (void)col_walk(lk_batch_col_const(b, c));
                }
            }
        }
    }
    free(p);
    /* the flips must sometimes miss the structure and sometimes hit it */
    ck_assert_int_gt(ok, 0);
    ck_assert_int_lt(ok, flips);
    ck_assert_int_eq(fn(msg->data, msg->len, m, &err), 0);
}

/* A schema of depth d shaped by pat (S struct, A array, M map, cycled) and one JSON line
   with a value at every level. */
static void deep_shape(const char *pat, int d, lk_buf *ddl, lk_buf *js)
{
    size_t pl = strlen(pat);
    lk_buf_puts(ddl, "c ");
    lk_buf_puts(js, "{\"c\":");
    for (int i = 0; i < d - 1; i++) {
        char k = pat[(size_t)i % pl];
        lk_buf_puts(ddl, k == 'S' ? "STRUCT<a: " : k == 'A' ? "ARRAY<" : "MAP<STRING, ");
        lk_buf_puts(js, k == 'S' ? "{\"a\":" : k == 'A' ? "[" : "{\"k\":");
    }
    lk_buf_puts(ddl, "LONG");
    lk_buf_puts(js, "1");
    for (int i = d - 2; i >= 0; i--) {
        lk_buf_putc(ddl, '>');
        lk_buf_putc(js, pat[(size_t)i % pl] == 'A' ? ']' : '}');
    }
    lk_buf_puts(js, "}\n");
}

/* LK_MSG_MAX_SCHEMA_DEPTH is the real limit: a schema that deep, of every shape, carries a
   value at every level through a RECORDS message; one level more does not decode (issue
   17: a deeper schema_hints made every message undecodable and stopped the pipeline). */
START_TEST(records_max_schema_depth)
{
    static const char *shapes[] = {"S", "A", "M", "SA", "AS", "SM", "AM"};
    for (size_t sh = 0; sh < sizeof shapes / sizeof *shapes; sh++) {
        for (int d = LK_MSG_MAX_SCHEMA_DEPTH; d <= LK_MSG_MAX_SCHEMA_DEPTH + 1; d++) {
            lk_buf ddl = LK_BUF_INIT, js = LK_BUF_INIT, enc = LK_BUF_INIT;
            deep_shape(shapes[sh], d, &ddl, &js);
            lk_schema *s = NULL;
            lk_error err = {0};
            ck_assert_msg(lk_ddl_parse(ddl.data, &s, &err) == 0, "%s", err.msg);
            ck_assert_int_eq(lk_schema_depth(s, NULL), d);
            lk_schema *raw = lk_raw_schema(s);
            lk_batch *b = lk_batch_new(raw);
            lk_json_reader *r = lk_json_reader_new();
            lk_source_meta m = {"/x", "x", 1, 1};
            lk_raw_stats st = {0};
            lk_json_reader_parse(r, js.data, js.len, &m, 0, b, &st, &err);
            ck_assert_int_eq(st.corrupt, 0);
            lk_msg_records rec = {0}, back = {0};
            rec.n_parts = 1;
            snprintf(rec.parts[0].table, sizeof rec.parts[0].table, "raw_events");
            rec.parts[0].batch = b;
            ck_assert_int_eq(lk_msg_records_encode(&rec, &enc), 0);
            int rc = lk_msg_records_decode(enc.data, enc.len, &back, &err);
            ck_assert_msg((rc == 0) == (d <= LK_MSG_MAX_SCHEMA_DEPTH), "%s depth %d: rc %d %s",
                          shapes[sh], d, rc, err.msg);
            lk_msg_records_clear(&back);
            lk_json_reader_destroy(&r);
            lk_batch_destroy(&b);
            lk_schema_destroy(&raw);
            lk_schema_destroy(&s);
            lk_buf_free(&ddl);
            lk_buf_free(&js);
            lk_buf_free(&enc);
        }
    }
}
END_TEST

START_TEST(hostile_input)
{
    lk_buf buf = LK_BUF_INIT;
    lk_msg_records in, out;
    make_records(&in, &buf);
    memset(&out, 0, sizeof out);
    hostile(&buf, dec_records, &out, 1, 3000);
    batch_eq(in.parts[0].batch, out.parts[0].batch);
    lk_msg_records_clear(&in);
    lk_msg_records_clear(&out);

    lk_msg_chunk c;
    memset(&c, 0, sizeof c);
    snprintf(c.file_path, sizeof c.file_path, "/x/y.jsonl");
    c.data = "line1\nline2\n";
    c.len = 12;
    c.batch_id = 1LL << 40;
    lk_msg_chunk_encode(&c, &buf);
    hostile(&buf, dec_chunk, &c, 2, 2000);

    lk_msg_files f;
    memset(&f, 0, sizeof f);
    lk_msg_files_resize(&f, 1);
    snprintf(f.files[0].path, sizeof f.files[0].path, "a.parquet");
    f.files[0].stats_json = strdup("{\"numRecords\":1}");
    lk_msg_files_encode(&f, &buf);
    lk_msg_files_clear(&f);
    hostile(&buf, dec_files, &f, 3, 2000);
    lk_msg_files_clear(&f);

    lk_msg_event e;
    lk_msg_event_init(&e, "heartbeat");
    lk_msg_event_set_int(&e, "pid", 1234);
    lk_msg_event_set_str(&e, "role", "writer");
    lk_msg_event_encode(&e, &buf);
    hostile(&buf, dec_event, &e, 4, 2000);
    lk_buf_free(&buf);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("msg");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, records_round_trip);
    tcase_add_test(tc, chunk_round_trip);
    tcase_add_test(tc, files_round_trip);
    tcase_add_test(tc, files_hold_close_round_trip);
    tcase_add_test(tc, event_round_trip);
    tcase_add_test(tc, envelope_rejected);
    tcase_add_test(tc, records_inconsistent);
    tcase_add_test(tc, records_repeated_columns);
    tcase_add_test(tc, records_selected_rows);
    tcase_add_test(tc, records_of_version_2_decode);
#ifndef NDEBUG
    tcase_add_test_raise_signal(tc, records_wrong_lineage_caught, SIGABRT);
#endif
    tcase_add_test(tc, records_reuse_by_schema);
    tcase_add_test(tc, hostile_input);
    tcase_add_test(tc, records_max_schema_depth);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
