/* Unit tests for proto/lk_msg: round trips and hostile input. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_check.h"
#include "lk_msg.h"
#include "lk_rowjson.h"

static lk_batch *sample_batch(int rows)
{
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "id", LK_TYPE_STRING, 1);
    lk_schema_add(s, "n", LK_TYPE_LONG, 1);
    lk_schema_add(s, "x", LK_TYPE_DOUBLE, 1);
    lk_field *d = lk_schema_add(s, "dev", LK_TYPE_STRUCT, 1);
    lk_field_add_child(d, "os", LK_TYPE_STRING, 1);
    lk_field *a = lk_schema_add(s, "tags", LK_TYPE_ARRAY, 1);
    lk_field_add_child(a, "element", LK_TYPE_STRING, 1);
    lk_field *m = lk_schema_add(s, "m", LK_TYPE_MAP, 1);
    lk_field_add_child(m, "key", LK_TYPE_STRING, 0);
    lk_field_add_child(m, "value", LK_TYPE_LONG, 1);
    lk_field *dec = lk_schema_add(s, "big", LK_TYPE_DECIMAL, 1);
    dec->precision = 30;
    lk_batch *b = lk_batch_new(s);
    lk_schema_destroy(&s);
    for (int r = 0; r < rows; r++) {
        char id[16];
        int n = snprintf(id, sizeof id, "e%d", r);
        lk_col_append_bytes(lk_batch_col(b, 0), id, (size_t)n);
        if (r % 3)
            lk_col_append_i64(lk_batch_col(b, 1), r);
        if (r % 2)
            lk_col_append_f64(lk_batch_col(b, 2), r / 2.0);
        if (r % 4) {
            lk_col *dv = lk_batch_col(b, 3);
            lk_col_append_struct(dv);
            lk_col_append_bytes(&dv->children[0], "ios", 3);
        }
        lk_col *t = lk_batch_col(b, 4);
        for (int k = 0; k < r % 3; k++)
            lk_col_append_bytes(&t->children[0], "t", 1);
        lk_col_append_list(t);
        lk_col *mm = lk_batch_col(b, 5);
        lk_col_append_bytes(&mm->children[0], "k", 1);
        lk_col_append_i64(&mm->children[1], r);
        lk_col_append_list(mm);
        unsigned char be[16] = {0};
        be[15] = (unsigned char)r;
        lk_col_append_fixed(lk_batch_col(b, 6), be);
        lk_batch_end_row(b);
    }
    return b;
}

static int same_rows(const lk_batch *a, const lk_batch *b)
{
    if (lk_batch_nrows(a) != lk_batch_nrows(b))
        return 0;
    lk_buf x = LK_BUF_INIT, y = LK_BUF_INIT;
    int ok = 1;
    for (uint32_t r = 0; r < lk_batch_nrows(a) && ok; r++) {
        lk_buf_reset(&x);
        lk_buf_reset(&y);
        lk_rowjson_append(a, r, &x);
        lk_rowjson_append(b, r, &y);
        ok = !strcmp(x.data, y.data);
    }
    lk_buf_free(&x);
    lk_buf_free(&y);
    return ok;
}

START_TEST(records_round_trip_and_reuse)
{
    lk_batch *b = sample_batch(300);
    lk_msg_records m = {0};
    m.batch_id = 7;
    m.chunk_idx = 3;
    m.rows_in = 300;
    m.corrupt_rows = 2;
    m.n_parts = 2;
    strcpy(m.parts[0].table, "raw_events");
    m.parts[0].batch = b;
    strcpy(m.parts[1].table, "processed_events");
    m.parts[1].batch = b;
    lk_buf enc = LK_BUF_INIT;
    ck_assert_int_eq(lk_msg_records_encode(&m, &enc), 0);
    lk_msg_type t;
    lk_error err;
    ck_assert_int_eq(lk_msg_peek(enc.data, enc.len, &t, &err), 0);
    ck_assert_int_eq(t, LK_MSG_RECORDS);
    lk_msg_records d = {0};
    ck_assert_msg(lk_msg_records_decode(enc.data, enc.len, &d, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(d.batch_id, 7);
    ck_assert_int_eq(d.chunk_idx, 3);
    ck_assert_int_eq(d.corrupt_rows, 2);
    ck_assert_int_eq(d.n_parts, 2);
    ck_assert_str_eq(d.parts[1].table, "processed_events");
    ck_assert(same_rows(b, d.parts[0].batch));
    lk_batch *first = d.parts[0].batch;
    ck_assert_int_eq(lk_msg_records_decode(enc.data, enc.len, &d, &err), 0);
    ck_assert_ptr_eq(d.parts[0].batch, first); /* same schema: reused */
    ck_assert(same_rows(b, d.parts[1].batch));

    /* hostile input: truncations and flips decode to an error or a valid batch */
    unsigned seed = 3;
    for (int trial = 0; trial < 3000; trial++) {
        lk_buf c = LK_BUF_INIT;
        lk_buf_append(&c, enc.data, enc.len);
        size_t len = enc.len;
        if (trial < 1000) {
            len = (size_t)trial * enc.len / 1000;
        } else {
            seed = seed * 1103515245u + 12345u;
            c.data[(seed >> 8) % enc.len] ^= (char)(1 + (seed >> 16) % 255);
        }
        if (lk_msg_records_decode(c.data, len, &d, &err) == 0)
            for (int p = 0; p < d.n_parts; p++)
                for (int k = 0; k < lk_batch_ncols(d.parts[p].batch); k++)
                    ck_assert_uint_eq(lk_batch_col(d.parts[p].batch, k)->len,
                                      lk_batch_nrows(d.parts[p].batch));
        lk_buf_free(&c);
    }
    /* a version this build does not speak is refused */
    lk_buf_reset(&enc);
    lk_msg_event e;
    lk_msg_event_init(&e, "ready");
    lk_msg_event_encode(&e, &enc);
    enc.data[2] = 9; /* [type=4, version=9, ...] */
    ck_assert_int_eq(lk_msg_peek(enc.data, enc.len, &t, &err), LK_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "version 9"));
    lk_msg_records_clear(&d);
    lk_buf_free(&enc);
    lk_batch_destroy(&b);
}
END_TEST

START_TEST(chunk_files_event_round_trip)
{
    lk_msg_chunk c = {0};
    c.batch_id = 12;
    c.chunk_idx = 4;
    c.schema_version = 2;
    c.file_id = 99;
    strcpy(c.file_path, "/in/a b.jsonl");
    c.file_size = 1000;
    c.file_mtime_us = 123;
    c.offset = 4096;
    c.first_line = 77;
    c.data = "{\"a\":1}\n";
    c.len = 8;
    lk_buf enc = LK_BUF_INIT;
    lk_msg_chunk_encode(&c, &enc);
    lk_msg_chunk d;
    lk_error err;
    ck_assert_int_eq(lk_msg_chunk_decode(enc.data, enc.len, &d, &err), 0);
    ck_assert_int_eq(d.batch_id, 12);
    ck_assert_int_eq(d.first_line, 77);
    ck_assert_str_eq(d.file_path, "/in/a b.jsonl");
    ck_assert_int_eq((int)d.len, 8);
    ck_assert(d.data >= enc.data && d.data < enc.data + enc.len); /* zero-copy */
    ck_assert_int_eq(lk_msg_files_decode(enc.data, enc.len, &(lk_msg_files){0}, &err), LK_EFORMAT);

    lk_msg_files f = {0};
    f.batch_id = 5;
    lk_msg_files_resize(&f, 2);
    strcpy(f.files[0].table, "raw_events");
    strcpy(f.files[0].path, "part-1.parquet");
    f.files[0].rows = 10;
    f.files[0].stats_json = strdup("{\"numRecords\":10}");
    strcpy(f.files[1].table, "processed_events");
    strcpy(f.files[1].path, "part-2.parquet");
    lk_buf_reset(&enc);
    lk_msg_files_encode(&f, &enc);
    lk_msg_files g = {0};
    ck_assert_int_eq(lk_msg_files_decode(enc.data, enc.len, &g, &err), 0);
    ck_assert_int_eq(g.n_files, 2);
    ck_assert_str_eq(g.files[0].stats_json, "{\"numRecords\":10}");
    ck_assert_ptr_null(g.files[1].stats_json);
    lk_msg_files_clear(&f);
    lk_msg_files_clear(&g);

    lk_msg_event e;
    lk_msg_event_init(&e, "sealed");
    lk_msg_event_set_int(&e, "batch", 41);
    lk_msg_event_set_str(&e, "why", "x");
    lk_msg_event_set_int(&e, "batch", 42); /* replaces */
    lk_buf_reset(&enc);
    lk_msg_event_encode(&e, &enc);
    lk_msg_event e2;
    ck_assert_int_eq(lk_msg_event_decode(enc.data, enc.len, &e2, &err), 0);
    ck_assert_str_eq(e2.name, "sealed");
    ck_assert_int_eq(e2.n, 2);
    ck_assert_int_eq(lk_msg_event_get_int(&e2, "batch", -1), 42);
    ck_assert_str_eq(lk_msg_event_get_str(&e2, "why"), "x");
    ck_assert_int_eq(lk_msg_event_get_int(&e2, "nope", -1), -1);
    lk_buf_free(&enc);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("msg_pipeline");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, records_round_trip_and_reuse);
    tcase_add_test(tc, chunk_files_event_round_trip);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
