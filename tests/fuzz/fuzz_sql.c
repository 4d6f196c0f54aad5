/*
 * fuzz_sql — libFuzzer target for the expression layer (sql/): the input is
 * an expression text. It is parsed, checked against a schema of every type
 * (columns i INT, l BIGINT, d DOUBLE, s STRING, b BOOLEAN, ts TIMESTAMP,
 * dt DATE, st STRUCT<a: STRING, n: INT>, j STRING, dc DECIMAL(10,2),
 * dw DECIMAL(38,10)) and, when it compiles,
 * evaluated over a small batch with nulls, empty and invalid UTF-8 strings,
 * extremes and NaN. A crash, a leak, undefined behaviour (the ASan/UBSan
 * instrumentation of -DLK_FUZZ) or an evaluation error on an expression
 * that compiled is a bug; a refused text must say where (a position).
 *
 * Build: cmake -S . -B build-fuzz -DLK_FUZZ=ON -DCMAKE_C_COMPILER=clang-14
 * Run:   build-fuzz/fuzz_sql -max_total_time=300 -dict=tests/fuzz/sql.dict
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lk_ddl.h"
#include "lk_sql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lk_batch *g_batch;

static lk_batch *batch(void)
{
    if (g_batch) return g_batch;
    lk_schema *s = NULL;
    lk_error err;
    if (lk_ddl_parse("i INT, l BIGINT, d DOUBLE, s STRING, b BOOLEAN, ts TIMESTAMP, dt DATE, "
                     "st STRUCT<a: STRING, n: INT>, j STRING, dc DECIMAL(10,2), dw DECIMAL(38,10), "
                     "m MAP<STRING, INT>, ar ARRAY<STRING>, sa ARRAY<STRUCT<x: INT>>",
                     &s, &err))
        abort();
    g_batch = lk_batch_new(s);
    lk_schema_destroy(&s);
    static const int32_t iv[] = {0, -1, 2147483647, (int32_t)0x80000000};
    static const int64_t lv[] = {0, -9223372036854775807LL - 1, 9223372036854775807LL, 42};
    static const double dv[] = {0.0, -2.5, 1e308, NAN};
    static const char *const sv[] = {"", "caf\xc3\xa9", "\xff\xfe", "2026-11-24T09:30:00Z"};
    static const char *const jv[] = {"{\"a\":{\"b\":[1,2]}}", "[", "{}", "null"};
    for (int r = 0; r < 5; r++) {
        if (r == 4) { /* a row of nulls */
            lk_batch_end_row(g_batch);
            break;
        }
        lk_col_append_i32(lk_batch_col(g_batch, 0), iv[r]);
        lk_col_append_i64(lk_batch_col(g_batch, 1), lv[r]);
        lk_col_append_f64(lk_batch_col(g_batch, 2), dv[r]);
        lk_col_append_bytes(lk_batch_col(g_batch, 3), sv[r], strlen(sv[r]));
        lk_col_append_bool(lk_batch_col(g_batch, 4), r & 1);
        lk_col_append_i64(lk_batch_col(g_batch, 5), lv[r] / 1000);
        lk_col_append_i32(lk_batch_col(g_batch, 6), iv[r]);
        lk_col *st = lk_batch_col(g_batch, 7);
        lk_col_append_struct(st);
        lk_col_append_bytes(&st->children[0], sv[r], strlen(sv[r]));
        lk_col_append_i32(&st->children[1], iv[r]);
        lk_col_append_bytes(lk_batch_col(g_batch, 8), jv[r], strlen(jv[r]));
        /* decimals at their extremes: 0, negative, the largest of the precision */
        static const int64_t dcv[] = {0, -12345, 9999999999LL, 1};
        lk_col_append_i64(lk_batch_col(g_batch, 9), dcv[r]);
        unsigned char be[16];
        __extension__ unsigned __int128 w = r == 2   ? (unsigned __int128)0x4b3b4ca85a86c47aULL << 64 |
                                                             0x098a223fffffffffULL /* 10^38 - 1 */
                                            : r == 1 ? (unsigned __int128)-(__int128)123456789
                                                     : (unsigned __int128)r;
        for (int k = 15; k >= 0; k--, w >>= 8)
            be[k] = (unsigned char)(w & 0xff);
        lk_col_append_fixed(lk_batch_col(g_batch, 10), be);
        /* arrays and maps of r elements (r = 0: empty), a null element in the third */
        lk_col *m = lk_batch_col(g_batch, 11), *ar = lk_batch_col(g_batch, 12),
               *sa = lk_batch_col(g_batch, 13);
        for (int k = 0; k < r; k++) {
            lk_col_append_bytes(&m->children[0], sv[k], strlen(sv[k]));
            lk_col_append_i32(&m->children[1], iv[k]);
            if (k == 2) {
                lk_col_append_null(&ar->children[0]);
                lk_col_append_null(&sa->children[0]);
                continue;
            }
            lk_col_append_bytes(&ar->children[0], sv[k], strlen(sv[k]));
            lk_col_append_struct(&sa->children[0]);
            lk_col_append_i32(&sa->children[0].children[0], iv[k]);
        }
        lk_col_append_list(m);
        lk_col_append_list(ar);
        lk_col_append_list(sa);
        lk_batch_end_row(g_batch);
    }
    return g_batch;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    if (strlen(text) != size) { /* a NUL inside: not an expression text */
        free(text);
        return 0;
    }
    lk_batch *b = batch();
    lk_sql_program *p = lk_sql_program_new(lk_batch_schema(b));
    lk_error err = {0};
    int reg;
    char *alias = NULL;
    if (lk_sql_program_compile(p, text, NULL, &reg, &alias, &err) == 0) {
        if (lk_sql_program_run(p, b, 1795512600000000LL, &err))
            abort(); /* compiled, then failed: a bug */
        if (lk_sql_program_result(p, reg)->len < lk_batch_nrows(b)) abort();
    } else if (!strstr(err.msg, "position ")) {
        abort(); /* every refusal names where */
    }
    free(alias);
    lk_sql_program_destroy(&p);
    free(text);
    return 0;
}
