/*
 * bench_msg — encode and decode speed of a RECORDS message (proto/lk_msg).
 *
 * One event-like batch of 100k rows (id, user_id, event_type, ts, amount
 * nullable, country, device{os,version}, message: 10 leaf columns) is
 * encoded and decoded 5 times each; the median is reported as records/s
 * and MB/s of message bytes. Usage: bench_msg [rows]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lk_msg.h"
#include "lk_time.h"

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static lk_schema *event_schema(void)
{
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "id", LK_TYPE_STRING, 0);
    lk_schema_add(s, "user_id", LK_TYPE_LONG, 1);
    lk_schema_add(s, "event_type", LK_TYPE_STRING, 1);
    lk_schema_add(s, "ts", LK_TYPE_STRING, 1);
    lk_schema_add(s, "amount", LK_TYPE_DOUBLE, 1);
    lk_schema_add(s, "country", LK_TYPE_STRING, 1);
    lk_field *d = lk_schema_add(s, "device", LK_TYPE_STRUCT, 1);
    lk_field_add_child(d, "os", LK_TYPE_STRING, 1);
    lk_field_add_child(d, "version", LK_TYPE_STRING, 1);
    lk_schema_add(s, "message", LK_TYPE_STRING, 1);
    return s;
}

static void fill(lk_batch *b, int n)
{
    static const char *types[] = {"click", "view", "purchase", "signup", "logout"};
    static const char *countries[] = {"US", "DE", "FR", "BR", "JP", "IN"};
    static const char *oses[] = {"ios", "android", "web"};
    char tmp[128];
    unsigned x = 12345;
    for (int i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        int k = snprintf(tmp, sizeof tmp, "evt-%08d-%04x", i, x & 0xffff);
        lk_col_append_bytes(lk_batch_col(b, 0), tmp, (size_t)k);
        lk_col_append_i64(lk_batch_col(b, 1), (int64_t)(x % 1000000));
        const char *t = types[x % 5];
        lk_col_append_bytes(lk_batch_col(b, 2), t, strlen(t));
        k = snprintf(tmp, sizeof tmp, "2026-11-24T09:%02d:%02d.%03dZ", (i / 60000) % 60,
                     (i / 1000) % 60, i % 1000);
        lk_col_append_bytes(lk_batch_col(b, 3), tmp, (size_t)k);
        if (x % 3 == 0)
            lk_col_append_null(lk_batch_col(b, 4));
        else
            lk_col_append_f64(lk_batch_col(b, 4), (x % 10000) / 100.0);
        const char *c = countries[(x >> 8) % 6];
        lk_col_append_bytes(lk_batch_col(b, 5), c, 2);
        lk_col *dev = lk_batch_col(b, 6);
        lk_col_append_struct(dev);
        const char *os = oses[(x >> 4) % 3];
        lk_col_append_bytes(&dev->children[0], os, strlen(os));
        k = snprintf(tmp, sizeof tmp, "%u.%u", (x >> 12) % 20, (x >> 16) % 10);
        lk_col_append_bytes(&dev->children[1], tmp, (size_t)k);
        k = snprintf(tmp, sizeof tmp, "user %u did %s on page /p/%u", x % 1000000, t,
                     (x >> 3) % 500);
        lk_col_append_bytes(lk_batch_col(b, 7), tmp, (size_t)k);
        lk_batch_end_row(b);
    }
}

int main(int argc, char **argv)
{
    int rows = argc > 1 ? atoi(argv[1]) : 100000;
    enum { RUNS = 5 };
    lk_schema *s = event_schema();
    lk_msg_records m, d;
    memset(&m, 0, sizeof m);
    memset(&d, 0, sizeof d);
    m.n_parts = 1;
    snprintf(m.parts[0].table, sizeof m.parts[0].table, "raw_events");
    m.parts[0].batch = lk_batch_new(s);
    fill(m.parts[0].batch, rows);
    lk_buf buf = LK_BUF_INIT;
    lk_error err;
    double enc[RUNS], dec[RUNS];
    /* warm up: buffers and the decoded batch reach their final size */
    lk_msg_records_encode(&m, &buf);
    if (lk_msg_records_decode(buf.data, buf.len, &d, &err)) {
        fprintf(stderr, "decode failed: %s\n", err.msg);
        return 1;
    }
    for (int r = 0; r < RUNS; r++) {
        double t0 = lk_time_mono_s();
        lk_msg_records_encode(&m, &buf);
        double t1 = lk_time_mono_s();
        int rc = lk_msg_records_decode(buf.data, buf.len, &d, &err);
        double t2 = lk_time_mono_s();
        if (rc || lk_batch_nrows(d.parts[0].batch) != (uint32_t)rows) {
            fprintf(stderr, "decode failed: %s\n", err.msg);
            return 1;
        }
        enc[r] = t1 - t0;
        dec[r] = t2 - t1;
    }
    /* the decoded batch is the encoded one, buffer for buffer */
    for (int c = 0; c < lk_batch_ncols(m.parts[0].batch); c++) {
        const lk_col *a = lk_batch_col_const(m.parts[0].batch, c),
                     *b = lk_batch_col_const(d.parts[0].batch, c);
        if (a->len != b->len || a->null_count != b->null_count || a->data_len != b->data_len ||
            (a->data_len && memcmp(a->data, b->data, a->data_len))) {
            fprintf(stderr, "column %d differs after the round trip\n", c);
            return 1;
        }
    }
    qsort(enc, RUNS, sizeof enc[0], cmp_d);
    qsort(dec, RUNS, sizeof dec[0], cmp_d);
    double e = enc[RUNS / 2], dd = dec[RUNS / 2], mb = (double)buf.len / 1e6;
    printf("bench_msg: %d rows, 10 leaf columns, message %.2f MB (%.1f B/row)\n", rows, mb,
           (double)buf.len / rows);
    printf("  encode: %.3f ms  %.1f M records/s  %.0f MB/s\n", e * 1e3, rows / e / 1e6, mb / e);
    printf("  decode: %.3f ms  %.1f M records/s  %.0f MB/s\n", dd * 1e3, rows / dd / 1e6,
           mb / dd);
    printf("  round trip: %.1f M records/s\n", rows / (e + dd) / 1e6);
    lk_msg_records_clear(&m);
    lk_msg_records_clear(&d);
    lk_schema_destroy(&s);
    lk_buf_free(&buf);
    return 0;
}
