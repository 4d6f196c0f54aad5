/* Property test of the Parquet writer and reader: random schemas (every
   primitive type, structs, arrays and maps nested up to three levels, nulls
   everywhere they are allowed) × random rows × random writer options (codec,
   tiny pages and row groups, dictionary on/off) → write → read back: every
   row, as JSON, equal to what was written, and the schema the same.
   Seeded: LK_PROPERTY_SEED repeats a run, LK_PROPERTY_ROUNDS makes it longer.
   LK_PROPERTY_KEEP=DIR keeps every file with the rows written as JSON lines
   (rN.parquet, rN.jsonl) and LK_PROPERTY_DUCK=1 limits the types to those
   DuckDB renders as the same JSON: tests/e2e/parquet_property.test.mjs then
   checks that DuckDB reads the same rows. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_check.h"
#include "lk_batch.h"
#include "lk_parquet_reader.h"
#include "lk_parquet_writer.h"
#include "lk_rowjson.h"

static uint64_t g_rng;
static int g_duck; /* only types whose JSON DuckDB renders the same */

static uint32_t rnd(uint32_t n)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return n ? (uint32_t)(g_rng % n) : 0;
}

static const lk_type k_prims[] = {LK_TYPE_BOOLEAN,   LK_TYPE_BYTE,      LK_TYPE_SHORT,
                                  LK_TYPE_INTEGER,   LK_TYPE_LONG,      LK_TYPE_FLOAT,
                                  LK_TYPE_DOUBLE,    LK_TYPE_STRING,    LK_TYPE_BINARY,
                                  LK_TYPE_DATE,      LK_TYPE_TIMESTAMP, LK_TYPE_TIMESTAMP_NTZ,
                                  LK_TYPE_DECIMAL};

/* A primitive type for a new field (DuckDB mode: no float, binary, decimal). */
static lk_type prim(void)
{
    for (;;) {
        lk_type t = k_prims[rnd(13)];
        if (!g_duck || (t != LK_TYPE_FLOAT && t != LK_TYPE_BINARY && t != LK_TYPE_DECIMAL))
            return t;
    }
}

static void set_prim(lk_field *f)
{
    if (f->type == LK_TYPE_DECIMAL) {
        f->precision = rnd(2) ? 1 + (int)rnd(18) : 19 + (int)rnd(20);
        f->scale = (int)rnd((uint32_t)f->precision + 1);
    }
}

static void add_type(lk_field *f, int depth);

static void fill_field(lk_field *f, int depth)
{
    if (f->type == LK_TYPE_STRUCT) {
        int n = 1 + (int)rnd(3);
        for (int k = 0; k < n; k++) {
            char name[16];
            snprintf(name, sizeof name, "c%d", k);
            lk_type t = depth < 3 && rnd(4) == 0 ? (rnd(3) == 0   ? LK_TYPE_STRUCT
                                                   : rnd(2) == 0 ? LK_TYPE_ARRAY
                                                                 : LK_TYPE_MAP)
                                                : prim();
            lk_field *c = lk_field_add_child(f, name, t, 1);
            add_type(c, depth + 1);
        }
    } else if (f->type == LK_TYPE_ARRAY) {
        lk_type t = depth < 3 && rnd(4) == 0 ? LK_TYPE_STRUCT : prim();
        lk_field *e = lk_field_add_child(f, "element", t, 1);
        add_type(e, depth + 1);
    } else if (f->type == LK_TYPE_MAP) {
        lk_field *k = lk_field_add_child(f, "key", rnd(2) || g_duck ? LK_TYPE_STRING : LK_TYPE_LONG, 0);
        (void)k;
        lk_type t = depth < 3 && rnd(4) == 0 ? LK_TYPE_ARRAY : prim();
        lk_field *v = lk_field_add_child(f, "value", t, 1);
        add_type(v, depth + 1);
    } else {
        set_prim(f);
    }
}

static void add_type(lk_field *f, int depth)
{
    fill_field(f, depth);
}

static lk_schema *random_schema(void)
{
    lk_schema *s = lk_schema_new();
    int n = 1 + (int)rnd(6);
    for (int i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "f%d", i);
        uint32_t r = rnd(10);
        lk_type t = r < 6 ? prim() : r < 8 ? LK_TYPE_STRUCT : r < 9 ? LK_TYPE_ARRAY : LK_TYPE_MAP;
        lk_field *f = lk_schema_add(s, name, t, 1);
        add_type(f, 1);
    }
    return s;
}

static void append_value(lk_col *c, int allow_null);

static void append_prim(lk_col *c)
{
    const lk_field *f = c->field;
    switch (f->type) {
    case LK_TYPE_BOOLEAN: lk_col_append_bool(c, (int)rnd(2)); break;
    case LK_TYPE_BYTE:
    case LK_TYPE_SHORT:
    case LK_TYPE_INTEGER: {
        int32_t lim = f->type == LK_TYPE_BYTE ? 128 : f->type == LK_TYPE_SHORT ? 32768 : 1 << 30;
        int32_t v = (int32_t)rnd((uint32_t)lim) * (rnd(2) ? 1 : -1);
        if (f->type == LK_TYPE_BYTE) {
            int8_t b = (int8_t)v;
            lk_col_append_fixed(c, &b);
        } else if (f->type == LK_TYPE_SHORT) {
            int16_t h = (int16_t)v;
            lk_col_append_fixed(c, &h);
        } else {
            lk_col_append_i32(c, v);
        }
        break;
    }
    case LK_TYPE_DATE: lk_col_append_i32(c, (int32_t)rnd(40000) - 10000); break;
    case LK_TYPE_LONG:
    case LK_TYPE_TIMESTAMP:
    case LK_TYPE_TIMESTAMP_NTZ:
        lk_col_append_i64(c, ((int64_t)rnd(1u << 31) << 20) * (rnd(2) ? 1 : -1) / 7);
        break;
    case LK_TYPE_FLOAT: lk_col_append_f32(c, (float)((int)rnd(100000) - 50000) / 64.0f); break;
    case LK_TYPE_DOUBLE: lk_col_append_f64(c, ((double)rnd(1u << 30) - (1 << 29)) / 1024.0); break;
    case LK_TYPE_STRING: {
        /* few distinct values or many: dictionaries and their fallback */
        char buf[64];
        int n = rnd(2) ? snprintf(buf, sizeof buf, "v%u", rnd(8))
                       : snprintf(buf, sizeof buf, "s-%u-é€-%u", rnd(1u << 30), rnd(1000));
        lk_col_append_bytes(c, buf, (size_t)n);
        break;
    }
    case LK_TYPE_BINARY: {
        unsigned char buf[24];
        size_t n = rnd(24);
        for (size_t i = 0; i < n; i++)
            buf[i] = (unsigned char)rnd(256);
        lk_col_append_bytes(c, buf, n);
        break;
    }
    case LK_TYPE_DECIMAL:
        if (f->precision <= 18) {
            int64_t lim = 1;
            for (int k = 0; k < f->precision && k < 9; k++)
                lim *= 10;
            lk_col_append_i64(c, (int64_t)rnd((uint32_t)(lim > 2000000000 ? 2000000000 : lim)) *
                                     (rnd(2) ? 1 : -1));
        } else {
            unsigned char be[16];
            int neg = (int)rnd(2);
            memset(be, neg ? 0xff : 0, 8);
            for (int i = 8; i < 16; i++)
                be[i] = (unsigned char)rnd(256);
            be[8] = neg ? (unsigned char)(be[8] | 0x80) : (unsigned char)(be[8] & 0x3f);
            lk_col_append_fixed(c, be);
        }
        break;
    default: break;
    }
}

static void append_value(lk_col *c, int allow_null)
{
    if (allow_null && rnd(5) == 0) {
        lk_col_append_null(c);
        return;
    }
    switch (c->field->type) {
    case LK_TYPE_STRUCT:
        lk_col_append_struct(c);
        for (int k = 0; k < c->n_children; k++)
            append_value(&c->children[k], 1);
        break;
    case LK_TYPE_ARRAY: {
        int n = (int)rnd(4);
        for (int k = 0; k < n; k++)
            append_value(&c->children[0], 1);
        lk_col_append_list(c);
        break;
    }
    case LK_TYPE_MAP: {
        int n = (int)rnd(4);
        for (int k = 0; k < n; k++) {
            /* distinct keys within one map */
            lk_col *key = &c->children[0];
            if (key->field->type == LK_TYPE_STRING) {
                char kb[16];
                int kn = snprintf(kb, sizeof kb, "k%d", k);
                lk_col_append_bytes(key, kb, (size_t)kn);
            } else {
                lk_col_append_i64(key, k * 7 - 3);
            }
            append_value(&c->children[1], 1);
        }
        lk_col_append_list(c);
        break;
    }
    default: append_prim(c); break;
    }
}

START_TEST(random_schemas_round_trip)
{
    const char *seed_env = getenv("LK_PROPERTY_SEED");
    const char *rounds_env = getenv("LK_PROPERTY_ROUNDS");
    uint64_t seed = seed_env ? strtoull(seed_env, NULL, 10) : 20261130;
    int rounds = rounds_env ? atoi(rounds_env) : 150;
    const char *keep = getenv("LK_PROPERTY_KEEP");
    g_duck = getenv("LK_PROPERTY_DUCK") != NULL;
    char dir[256];
    lk_check_mkdtemp(dir, sizeof dir, "pq-prop");
    lk_buf a = LK_BUF_INIT, b = LK_BUF_INIT, ddl_a = LK_BUF_INIT, ddl_b = LK_BUF_INIT;
    for (int round = 0; round < rounds; round++) {
        g_rng = (seed + (uint64_t)round) * 0x9e3779b97f4a7c15ull | 1;
        lk_schema *s = random_schema();
        lk_batch *in = lk_batch_new(s);
        uint32_t rows = 1 + rnd(400);
        for (uint32_t r = 0; r < rows; r++) {
            for (int i = 0; i < lk_batch_ncols(in); i++)
                append_value(lk_batch_col(in, i), 1);
            lk_batch_end_row(in);
        }
        lk_pq_options o;
        lk_pq_options_default(&o);
        o.fsync = 0;
        static const lk_pq_codec codecs[] = {LK_PQ_UNCOMPRESSED, LK_PQ_SNAPPY, LK_PQ_GZIP,
                                             LK_PQ_ZSTD};
        o.codec = codecs[rnd(4)];
        o.dictionary = (int)rnd(2);
        o.page_bytes = 256 + rnd(8192);
        o.row_group_bytes = rnd(3) ? 1024 + rnd(32768) : 128u << 20;
        o.encodings = (unsigned)rnd(8); /* DELTA_BINARY_PACKED, DELTA_BYTE_ARRAY, BYTE_STREAM_SPLIT */
        char path[1200];
        snprintf(path, sizeof path, "%s/r%d.parquet", keep ? keep : dir, round);
        lk_pq_writer *w = lk_pq_writer_new(s, &o);
        lk_error err;
        ck_assert_msg(lk_pq_writer_open(w, path, &err) == 0, "round %d: %s", round, err.msg);
        ck_assert_msg(lk_pq_writer_write(w, in, &err) == 0, "round %d: %s", round, err.msg);
        ck_assert_msg(lk_pq_writer_close(w, NULL, &err) == 0, "round %d: %s", round, err.msg);
        lk_pq_writer_destroy(&w);

        lk_pq_reader *r = NULL;
        ck_assert_msg(lk_pq_reader_open(path, &r, &err) == 0, "round %d: %s", round, err.msg);
        lk_buf_reset(&ddl_a);
        lk_buf_reset(&ddl_b);
        lk_schema_to_ddl(s, &ddl_a);
        lk_schema_to_ddl(lk_pq_reader_schema(r), &ddl_b);
        lk_buf_putc(&ddl_a, '\0');
        lk_buf_putc(&ddl_b, '\0');
        ck_assert_msg(!strcmp(ddl_a.data, ddl_b.data), "round %d (seed %llu): schema %s read as %s",
                      round, (unsigned long long)seed, ddl_a.data, ddl_b.data);
        ck_assert_int_eq(lk_pq_reader_num_rows(r), rows);
        uint32_t at = 0;
        lk_batch *got = NULL;
        for (int g = 0; g < lk_pq_reader_num_row_groups(r); g++) {
            ck_assert_msg(lk_pq_reader_read_row_group(r, g, NULL, 0, &got, &err) == 0,
                          "round %d group %d: %s", round, g, err.msg);
            for (uint32_t i = 0; i < lk_batch_nrows(got); i++, at++) {
                lk_buf_reset(&a);
                lk_buf_reset(&b);
                lk_rowjson_append(in, at, &a);
                lk_rowjson_append(got, i, &b);
                lk_buf_putc(&a, '\0');
                lk_buf_putc(&b, '\0');
                ck_assert_msg(!strcmp(a.data, b.data),
                              "round %d (seed %llu, codec %s, dict %d) row %u:\n wrote %s\n read  %s\n schema %s",
                              round, (unsigned long long)seed, lk_pq_codec_name(o.codec),
                              o.dictionary, at, a.data, b.data, ddl_a.data);
            }
        }
        ck_assert_uint_eq(at, rows);
        lk_batch_destroy(&got);
        lk_pq_reader_destroy(&r);
        if (keep) {
            char jpath[1300];
            snprintf(jpath, sizeof jpath, "%s/r%d.jsonl", keep, round);
            FILE *jf = fopen(jpath, "w");
            ck_assert_ptr_nonnull(jf);
            for (uint32_t i = 0; i < rows; i++) {
                lk_buf_reset(&a);
                lk_rowjson_append(in, i, &a);
                fwrite(a.data, 1, a.len, jf);
                fputc('\n', jf);
            }
            fclose(jf);
        } else {
            unlink(path);
        }
        lk_batch_destroy(&in);
        lk_schema_destroy(&s);
    }
    lk_buf_free(&a);
    lk_buf_free(&b);
    lk_buf_free(&ddl_a);
    lk_buf_free(&ddl_b);
    rmdir(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("parquet_property");
    TCase *tc = tcase_create("round_trip");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, random_schemas_round_trip);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
