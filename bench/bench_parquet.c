/*
 * bench_parquet — single-core Parquet encode/decode speed on event-like rows:
 * event_id string, seq long, type string, ts timestamp, value double
 * (nullable), user string, device struct{os, version}, message string.
 * Usage: bench_parquet [rows=1000000] [codec=zstd] [dir=/tmp]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lk_parquet_reader.h"
#include "lk_parquet_writer.h"
#include "lk_time.h"

int main(int argc, char **argv)
{
    uint32_t rows = argc > 1 ? (uint32_t)atoi(argv[1]) : 1000000;
    lk_pq_codec codec = LK_PQ_ZSTD;
    if (argc > 2 && lk_pq_codec_parse(argv[2], &codec) < 0) {
        fprintf(stderr, "bad codec %s\n", argv[2]);
        return 2;
    }
    const char *dir = argc > 3 ? argv[3] : "/tmp";
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "event_id", LK_TYPE_STRING, 0);
    lk_schema_add(s, "seq", LK_TYPE_LONG, 0);
    lk_schema_add(s, "type", LK_TYPE_STRING, 1);
    lk_schema_add(s, "ts", LK_TYPE_TIMESTAMP, 1);
    lk_schema_add(s, "value", LK_TYPE_DOUBLE, 1);
    lk_schema_add(s, "user", LK_TYPE_STRING, 1);
    lk_field *dev = lk_schema_add(s, "device", LK_TYPE_STRUCT, 1);
    lk_field_add_child(dev, "os", LK_TYPE_STRING, 1);
    lk_field_add_child(dev, "version", LK_TYPE_STRING, 1);
    lk_schema_add(s, "message", LK_TYPE_STRING, 1);
    lk_batch *b = lk_batch_new(s);
    static const char *types[] = {"click", "view", "purchase", "login", "logout"};
    static const char *oses[] = {"ios", "android", "linux", "windows"};
    char tmp[128];
    const uint32_t chunk = 8192;
    lk_pq_options o;
    lk_pq_options_default(&o);
    o.codec = codec;
    o.fsync = 0;
    lk_pq_writer *w = lk_pq_writer_new(s, &o);
    char path[512];
    snprintf(path, sizeof path, "%s/bench_parquet_%d.parquet", dir, (int)getpid());
    lk_error err;
    if (lk_pq_writer_open(w, path, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    double t_build = 0, t_enc = 0;
    size_t raw = 0;
    for (uint32_t r0 = 0; r0 < rows; r0 += chunk) {
        double t0 = lk_time_mono_s();
        lk_batch_reset(b);
        for (uint32_t i = r0; i < r0 + chunk && i < rows; i++) {
            int n = snprintf(tmp, sizeof tmp, "%08x-%04x-4%03x-a%03x-%012x", i * 2654435761u, i & 0xffff,
                             i % 4096, (i * 7) % 4096, i * 40503u);
            lk_col_append_bytes(lk_batch_col(b, 0), tmp, (size_t)n);
            lk_col_append_i64(lk_batch_col(b, 1), i);
            const char *t = types[i % 5];
            lk_col_append_bytes(lk_batch_col(b, 2), t, strlen(t));
            lk_col_append_i64(lk_batch_col(b, 3), 1700000000000000LL + (int64_t)i * 1000);
            if (i % 10 == 0)
                lk_col_append_null(lk_batch_col(b, 4));
            else
                lk_col_append_f64(lk_batch_col(b, 4), (double)(i % 1000) * 0.37);
            n = snprintf(tmp, sizeof tmp, "user%u", i % 50000);
            lk_col_append_bytes(lk_batch_col(b, 5), tmp, (size_t)n);
            lk_col *d = lk_batch_col(b, 6);
            lk_col_append_struct(d);
            const char *os = oses[i % 4];
            lk_col_append_bytes(&d->children[0], os, strlen(os));
            n = snprintf(tmp, sizeof tmp, "%u.%u", i % 17, i % 5);
            lk_col_append_bytes(&d->children[1], tmp, (size_t)n);
            n = snprintf(tmp, sizeof tmp, "user %u did %s on page /p/%u after %u ms", i % 50000, t,
                         i % 313, i % 977);
            lk_col_append_bytes(lk_batch_col(b, 7), tmp, (size_t)n);
            lk_batch_end_row(b);
        }
        raw += lk_batch_bytes(b);
        double t1 = lk_time_mono_s();
        if (lk_pq_writer_write(w, b, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        double t2 = lk_time_mono_s();
        t_build += t1 - t0;
        t_enc += t2 - t1;
    }
    double t0 = lk_time_mono_s();
    lk_pq_file_info info;
    if (lk_pq_writer_close(w, &info, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    t_enc += lk_time_mono_s() - t0;
    /* decode */
    t0 = lk_time_mono_s();
    lk_pq_reader *r;
    if (lk_pq_reader_open(path, &r, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    lk_batch *rb = NULL;
    uint64_t got = 0;
    for (int g = 0; g < lk_pq_reader_num_row_groups(r); g++) {
        if (lk_pq_reader_read_row_group(r, g, NULL, 0, &rb, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        got += lk_batch_nrows(rb);
    }
    double t_dec = lk_time_mono_s() - t0;
    printf("rows=%u codec=%s raw=%.1f MB file=%.1f MB\n", rows, lk_pq_codec_name(codec), raw / 1e6,
           info.file_size / 1e6);
    printf("encode: %.2f s  %.0f rows/s  %.1f MB/s (raw)   [batch build %.2f s not counted]\n", t_enc,
           rows / t_enc, raw / 1e6 / t_enc, t_build);
    printf("decode: %.2f s  %.0f rows/s  %.1f MB/s (raw)   rows read %llu\n", t_dec, got / t_dec,
           raw / 1e6 / t_dec, (unsigned long long)got);
    lk_batch_destroy(&rb);
    lk_pq_reader_destroy(&r);
    unlink(path);
    lk_pq_writer_destroy(&w);
    lk_batch_destroy(&b);
    lk_schema_destroy(&s);
    return got == rows ? 0 : 1;
}
