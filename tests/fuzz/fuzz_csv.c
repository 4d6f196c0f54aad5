/*
 * fuzz_csv — libFuzzer target for the CSV path: lk_source_reader's chunker
 * (record boundaries outside quotes, max_record_size cuts) and
 * lk_csv_reader's parser must agree. The first input byte picks the options
 * (header, escape, comment, chunk size, max_record_size); the rest is the
 * file. Parsed whole and parsed chunk by chunk, the rows must be the same
 * (same count, same corrupt count, same values); a crash, leak or a
 * difference (abort) is a bug.
 *
 * Build: cmake -S . -B build-fuzz -DLK_FUZZ=ON -DCMAKE_C_COMPILER=clang-14
 * Run:   build-fuzz/fuzz_csv -max_total_time=300
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lk_csv_reader.h"
#include "lk_rowjson.h"
#include "lk_source_reader.h"
#include "lk_raw.h"
#include "lk_source_cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lk_schema *three_strings(void)
{
    static const char j[] =
        "{\"type\":\"struct\",\"fields\":["
        "{\"name\":\"a\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}},"
        "{\"name\":\"b\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}},"
        "{\"name\":\"c\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}}]}";
    lk_schema *s = NULL;
    lk_error err;
    if (lk_schema_from_json(j, sizeof j - 1, &s, &err)) abort();
    return s;
}

static void dump(lk_batch *b, lk_buf *out)
{
    for (uint32_t i = 0; i < lk_batch_nrows(b); i++) {
        lk_rowjson_append(b, i, out);
        lk_buf_putc(out, '\n');
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    uint8_t k = data[0];
    data++, size--;
    lk_config cfg;
    lk_config_defaults(&cfg);
    snprintf(cfg.source.format, sizeof cfg.source.format, "csv");
    cfg.source.header = k & 1;
    if (k & 2) cfg.source.escape[0] = 0;
    if (k & 4) snprintf(cfg.source.comment, sizeof cfg.source.comment, "#");
    cfg.source.max_record_size = (k & 8) ? 16 : 1 << 20;
    cfg.source.chunk_bytes = 1 + ((k >> 4) & 7);
    int fd = memfd_create("fuzz.csv", 0);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size) abort();
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    lk_schema *data_s = three_strings();
    lk_schema *raw = lk_raw_schema(data_s);
    lk_batch *whole = lk_batch_new(raw), *parts = lk_batch_new(raw);
    lk_parser_options po;
    lk_source_cfg_parser(&cfg, &po);
    lk_csv_reader *r = lk_csv_reader_new(&po.csv);
    lk_source_meta meta = {"f.csv", "f.csv", (int64_t)size, 0};
    lk_raw_stats s1 = {0}, s2 = {0};
    lk_error err;
    lk_source_opts o;
    lk_source_cfg_reader(&cfg, &o);
    o.quiet = 1;
    /* the whole file as one chunk, unless the chunker had to cut a record */
    lk_source_reader *sr = lk_source_reader_open(path, 0, (int64_t)size, &o, &err);
    lk_source_chunk c;
    while (sr && lk_source_reader_next(sr, &c, &err) == 1)
        lk_csv_reader_parse(r, c.data, c.len, c.first_line == 1, &meta, c.offset, parts, &s2, &err);
    int cut = sr && lk_source_reader_oversized(sr) > 0;
    lk_source_reader_destroy(&sr);
    /* BOM: the reader skips it; skip it here too */
    size_t bom = size >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3) ? 3 : 0;
    lk_csv_reader_parse(r, (const char *)data + bom, size - bom, 1, &meta, (int64_t)bom, whole, &s1,
                        &err);
    if (!cut) {
        lk_buf a = LK_BUF_INIT, b = LK_BUF_INIT;
        dump(whole, &a);
        dump(parts, &b);
        if (s1.rows != s2.rows || s1.corrupt != s2.corrupt || a.len != b.len ||
            (a.len && memcmp(a.data, b.data, a.len))) {
            fprintf(stderr, "whole:\n%.*s\nchunked:\n%.*s\n", (int)a.len, a.data ? a.data : "",
                    (int)b.len, b.data ? b.data : "");
            abort();
        }
        lk_buf_free(&a);
        lk_buf_free(&b);
    }
    close(fd);
    lk_csv_reader_destroy(&r);
    lk_batch_destroy(&whole);
    lk_batch_destroy(&parts);
    lk_schema_destroy(&raw);
    lk_schema_destroy(&data_s);
    return 0;
}
