/* Unit tests for formats/lk_source_reader (decompression, record-aligned
   chunks) and formats/lk_csv_reader, lk_text_reader (formats). */
#include <bzlib.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "lk_check.h"
#include "lk_config.h"
#include "lk_csv_reader.h"
#include "lk_infer.h"
#include "lk_rowjson.h"
#include "lk_source_reader.h"
#include "lk_raw.h"
#include "lk_source_cfg.h"
#include "lk_text_reader.h"

/* A CSV reader with the options cfg's source.* keys give it. */
static lk_csv_reader *csv_new(const lk_config *cfg)
{
    lk_parser_options po;
    lk_source_cfg_parser(cfg, &po);
    return lk_csv_reader_new(&po.csv);
}

static char dir[256];

static void setup(void)
{
    lk_check_mkdtemp(dir, sizeof dir, "formats");
}

static void teardown(void)
{
    lk_check_rm_rf(dir);
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(p, 1, n, f), n);
    fclose(f);
}

static size_t gz(const char *in, size_t n, unsigned char *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    ck_assert_int_eq(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t len = cap - z.avail_out;
    deflateEnd(&z);
    return len;
}

static long fsize(const char *path)
{
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

/* All chunks of path, "offset:len|" each, and the concatenated data. */
static int chunks(const char *path, const lk_source_opts *o, char *sig, size_t cap, lk_buf *all,
                  lk_error *err)
{
    lk_source_reader *r = lk_source_reader_open(path, 0, fsize(path), o, err);
    ck_assert_ptr_nonnull(r);
    lk_source_chunk c;
    int rc;
    sig[0] = 0;
    while ((rc = lk_source_reader_next(r, &c, err)) == 1) {
        size_t n = strlen(sig);
        snprintf(sig + n, cap - n, "%lld:%zu|", (long long)c.offset, c.len);
        if (all) lk_buf_append(all, c.data, c.len);
    }
    lk_source_reader_destroy(&r);
    return rc;
}

static lk_source_opts opts(lk_source_format f, size_t chunk, size_t max)
{
    lk_source_opts o = {.format = f,
                        .sep = ',',
                        .quote = '"',
                        .escape = '\\',
                        .comment = -1,
                        .chunk_bytes = chunk,
                        .max_record_size = max};
    return o;
}

static char *lines(int n)
{
    lk_buf b = LK_BUF_INIT;
    for (int i = 0; i < n; i++) {
        char l[128];
        snprintf(l, sizeof l, "{\"id\":%d,\"s\":\"%0*d\"}\n", i, 1 + (i * 7) % 50, i);
        lk_buf_puts(&b, l);
    }
    return b.data;
}

/* Each codec with two concatenated members/frames/streams cuts exactly the
   chunks of the plain file. */
/* _metadata.file_path: absolute, valid UTF-8, the original bytes recoverable (issue 17) */
START_TEST(file_path_absolute_and_percent_encoded)
{
    static const struct {
        const char *cwd, *path, *out;
    } cases[] = {
        {"/srv/lake", "./incoming/x.jsonl", "/srv/lake/incoming/x.jsonl"},
        {"/srv/lake", "incoming//./x.jsonl", "/srv/lake/incoming/x.jsonl"},
        {"/srv/lake/", "x.jsonl", "/srv/lake/x.jsonl"},
        {"/srv/lake", "../in/x.jsonl", "/srv/lake/../in/x.jsonl"}, /* never resolved lexically */
        {"/srv", "/abs/caf\xe9.jsonl", "/abs/caf%E9.jsonl"},
        {"/srv", "/abs/caf\xc3\xa9.jsonl", "/abs/caf\xc3\xa9.jsonl"},
        {"/srv", "/abs/50% a\nb\x7f\x80.jsonl", "/abs/50%25 a%0Ab%7F%80.jsonl"},
        {"/s\xff", "x", "/s%FF/x"},
        {"/srv", "kafka://events/3", "kafka://events/3"},
        {"", "rel/x", "rel/x"},
    };
    lk_buf b = LK_BUF_INIT;
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        lk_raw_file_path(cases[k].cwd, cases[k].path, &b);
        ck_assert_msg(!strcmp(b.data, cases[k].out), "case %zu: %s, expected %s", k, b.data,
                      cases[k].out);
    }
    lk_buf_free(&b);
}
END_TEST

/* Chunks by reference: every chunk of an uncompressed file (a BOM, an oversized record's head
   included) is the file's own bytes at its offset, and lk_source_read_range gives them back,
   checked against their digest; a compressed file's chunks are not file bytes; a file changed
   in place, cut short or gone is refused with the file and range named. */
START_TEST(chunks_by_reference_read_range)
{
    char p[512];
    lk_error err;
    lk_buf t = LK_BUF_INIT, got = LK_BUF_INIT;
    lk_buf_append(&t, "\xEF\xBB\xBF", 3);
    char *text = lines(3000);
    lk_buf_append(&t, text, strlen(text));
    lk_buf_putc(&t, '{');
    for (int i = 0; i < 9000; i++) lk_buf_putc(&t, 'x'); /* longer than max_record_size */
    lk_buf_puts(&t, "}\n{\"a\":1}\n");
    snprintf(p, sizeof p, "%s/r.jsonl", dir);
    write_file(p, t.data, t.len);
    lk_source_opts o = opts(LK_SOURCE_JSON, 4096, 8192);
    o.quiet = 1;
    lk_source_reader *r = lk_source_reader_open(p, 0, (int64_t)t.len, &o, &err);
    ck_assert_ptr_nonnull(r);
    lk_source_chunk c;
    int n = 0;
    int64_t first_off = -1, last_off = 0;
    size_t last_len = 0;
    uint64_t last_digest = 0;
    while (lk_source_reader_next(r, &c, &err) == 1) {
        ck_assert_int_eq(c.file_bytes, 1);
        uint64_t dg = lk_source_digest(c.data, c.len);
        ck_assert_msg(lk_source_read_range(p, 0, -1, c.offset, c.len, dg, &got, &err) == 0, "%s", err.msg);
        ck_assert_uint_eq(got.len, c.len);
        ck_assert_int_eq(memcmp(got.data, c.data, c.len), 0);
        ck_assert_int_eq(got.data[got.len], '\0');
        if (first_off < 0) first_off = c.offset;
        last_off = c.offset, last_len = c.len, last_digest = dg;
        n++;
    }
    lk_source_reader_destroy(&r);
    ck_assert_int_gt(n, 10);
    ck_assert_int_eq(first_off, 3); /* after the BOM */
    /* through a descriptor the sender keeps open (/proc/<pid>/fd/<fd>): the bytes it read, even
       once the file at the path was replaced by another (renamed over it) */
    int keep = open(p, O_RDONLY);
    ck_assert_int_ge(keep, 0);
    char q[512];
    snprintf(q, sizeof q, "%s/other", dir);
    write_file(q, "{}\n", 3);
    ck_assert_int_eq(rename(q, p), 0);
    ck_assert_int_eq(lk_source_read_range(p, 0, -1, last_off, last_len, last_digest, &got, &err), -ESTALE);
    ck_assert_msg(lk_source_read_range(p, (int)getpid(), keep, last_off, last_len, last_digest, &got,
                                       &err) == 0, "%s", err.msg);
    /* a descriptor that cannot be opened: the path (here the other file: refused) */
    ck_assert_int_eq(lk_source_read_range(p, (int)getpid(), 999, last_off, last_len, last_digest, &got, &err), -ESTALE);
    /* not a regular file at the path (a FIFO: the open does not wait for a writer) */
    unlink(p);
    ck_assert_int_eq(mkfifo(p, 0600), 0);
    ck_assert_int_eq(lk_source_read_range(p, 0, -1, last_off, last_len, last_digest, &got, &err), -ESTALE);
    ck_assert_ptr_nonnull(strstr(err.msg, "no longer a regular file"));
    /* ingest's reader too: refused, not waited on */
    ck_assert_ptr_null(lk_source_reader_open(p, 0, 10, &o, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "not a regular file"));
    unlink(p);
    /* the sender's bytes, back at the path */
    write_file(p, t.data, t.len);
    close(keep);
    /* the same length, one byte other: the digest refuses it */
    FILE *f = fopen(p, "r+b");
    fseek(f, (long)last_off, SEEK_SET);
    fputc('[', f);
    fclose(f);
    ck_assert_int_eq(lk_source_read_range(p, 0, -1, last_off, last_len, last_digest, &got, &err), -ESTALE);
    ck_assert_ptr_nonnull(strstr(err.msg, "changed in place"));
    ck_assert_ptr_nonnull(strstr(err.msg, p));
    /* cut short */
    ck_assert_int_eq(truncate(p, last_off + 1), 0);
    ck_assert_int_eq(lk_source_read_range(p, 0, -1, last_off, last_len, last_digest, &got, &err), -ESTALE);
    ck_assert_ptr_nonnull(strstr(err.msg, "shorter"));
    /* gone */
    unlink(p);
    ck_assert_int_eq(lk_source_read_range(p, 0, -1, last_off, last_len, last_digest, &got, &err), -ENOENT);
    ck_assert_ptr_nonnull(strstr(err.msg, p));
    /* compressed: the chunks are decompressed bytes, never read by reference */
    size_t cap = strlen(text) + 1024;
    unsigned char *z = malloc(cap);
    size_t zn = gz(text, strlen(text), z, cap);
    snprintf(p, sizeof p, "%s/r.jsonl.gz", dir);
    write_file(p, z, zn);
    r = lk_source_reader_open(p, 0, (int64_t)zn, &o, &err);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(lk_source_reader_next(r, &c, &err), 1);
    ck_assert_int_eq(c.file_bytes, 0);
    lk_source_reader_destroy(&r);
    free(z);
    free(text);
    lk_buf_free(&t);
    lk_buf_free(&got);
}
END_TEST

START_TEST(gz_zst_bz2_chunks_equal_plain)
{
    char *text = lines(5000);
    size_t n = strlen(text);
    char p[512], sig0[65536], sig[65536];
    lk_error err;
    lk_source_opts o = opts(LK_SOURCE_JSON, 4096, 1 << 20);
    snprintf(p, sizeof p, "%s/a.jsonl", dir);
    write_file(p, text, n);
    lk_buf plain = LK_BUF_INIT;
    ck_assert_int_eq(chunks(p, &o, sig0, sizeof sig0, &plain, &err), 0);
    ck_assert_uint_eq(plain.len, n);
    ck_assert_int_eq(memcmp(plain.data, text, n), 0);
    ck_assert_ptr_nonnull(strstr(sig0, "0:40"));
    size_t cap = n + 1024;
    unsigned char *z = malloc(cap * 2);
    /* gzip, as two concatenated members */
    size_t half = n / 2;
    size_t m1 = gz(text, half, z, cap);
    size_t m2 = gz(text + half, n - half, z + m1, cap);
    snprintf(p, sizeof p, "%s/a.jsonl.gz", dir);
    write_file(p, z, m1 + m2);
    lk_buf got = LK_BUF_INIT;
    ck_assert_int_eq(chunks(p, &o, sig, sizeof sig, &got, &err), 0);
    ck_assert_str_eq(sig, sig0);
    ck_assert_uint_eq(got.len, n);
    /* zstd, as two frames */
    size_t zn = ZSTD_compress(z, cap, text, half, 3);
    ck_assert(!ZSTD_isError(zn));
    size_t zn2 = ZSTD_compress(z + zn, cap, text + half, n - half, 3);
    ck_assert(!ZSTD_isError(zn2));
    zn += zn2;
    snprintf(p, sizeof p, "%s/a.jsonl.zst", dir);
    write_file(p, z, zn);
    ck_assert_int_eq(chunks(p, &o, sig, sizeof sig, NULL, &err), 0);
    ck_assert_str_eq(sig, sig0);
    /* bzip2, as two streams */
    unsigned bn = (unsigned)cap, bn2 = (unsigned)cap;
    ck_assert_int_eq(BZ2_bzBuffToBuffCompress((char *)z, &bn, text, (unsigned)half, 9, 0, 0),
                     BZ_OK);
    ck_assert_int_eq(
        BZ2_bzBuffToBuffCompress((char *)z + bn, &bn2, text + half, (unsigned)(n - half), 9, 0, 0),
        BZ_OK);
    bn += bn2;
    snprintf(p, sizeof p, "%s/a.jsonl.bz2", dir);
    write_file(p, z, bn);
    ck_assert_int_eq(chunks(p, &o, sig, sizeof sig, NULL, &err), 0);
    ck_assert_str_eq(sig, sig0);
    lk_buf_free(&plain);
    lk_buf_free(&got);
    free(z);
    free(text);
}
END_TEST

START_TEST(truncated_and_corrupt_gz_keep_what_was_read)
{
    char *text = lines(20000);
    size_t n = strlen(text), cap = n + 1024;
    unsigned char *z = malloc(cap);
    size_t zn = gz(text, n, z, cap);
    char p[512], sig[1 << 17];
    lk_error err;
    lk_source_opts o = opts(LK_SOURCE_JSON, 4096, 1 << 20);
    snprintf(p, sizeof p, "%s/t.jsonl.gz", dir);
    write_file(p, z, zn / 2);
    lk_buf got = LK_BUF_INIT;
    int rc = chunks(p, &o, sig, sizeof sig, &got, &err);
    ck_assert_int_lt(rc, 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "t.jsonl.gz"));
    ck_assert_ptr_nonnull(strstr(err.msg, "truncated"));
    /* a good prefix of the text was delivered, and the offset is named */
    ck_assert_uint_gt(got.len, n / 4);
    ck_assert_int_eq(memcmp(got.data, text, got.len), 0);
    char off[64];
    snprintf(off, sizeof off, "offset=%zu", got.len);
    ck_assert_ptr_nonnull(strstr(err.msg, off));
    /* corrupt bytes in the middle */
    memset(z + zn / 2, 0xAA, 64);
    snprintf(p, sizeof p, "%s/c.jsonl.gz", dir);
    write_file(p, z, zn);
    lk_buf_reset(&got);
    rc = chunks(p, &o, sig, sizeof sig, &got, &err);
    ck_assert_int_lt(rc, 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "c.jsonl.gz"));
    /* deflate has no per-block check: bytes decoded just before the damage
       is detected may differ; the head is intact */
    ck_assert_uint_gt(got.len, n / 4);
    ck_assert_int_eq(memcmp(got.data, text, n / 4), 0);
    lk_buf_free(&got);
    free(z);
    free(text);
}
END_TEST

START_TEST(bom_crlf_last_line_oversized)
{
    const char *t =
        "\xEF\xBB\xBF{\"a\":1}\r\n{\"a\":2}\r\n"
        "{\"a\":\"0123456789012345678901234567890123456789012345678901234567890123456789\"}\n"
        "{\"a\":3}";
    char p[512], sig[4096];
    lk_error err;
    lk_source_opts o = opts(LK_SOURCE_JSON, 16, 64);
    snprintf(p, sizeof p, "%s/b.json", dir);
    write_file(p, t, strlen(t));
    lk_buf got = LK_BUF_INIT;
    ck_assert_int_eq(chunks(p, &o, sig, sizeof sig, &got, &err), 0);
    /* the BOM is skipped; the 80-byte line is cut at 64 and its rest skipped */
    ck_assert_str_eq(sig, "3:9|12:9|21:64|100:7|");
    ck_assert_int_eq(memcmp(got.data, "{\"a\":1}\r\n{\"a\":2}\r\n{\"a\":\"0123", 27), 0);
    ck_assert_int_eq(memcmp(got.data + got.len - 7, "{\"a\":3}", 7), 0);
    lk_buf_free(&got);
}
END_TEST

START_TEST(csv_chunks_never_cut_inside_quotes)
{
    const char *t = "id,msg\n1,\"a\nb\"\n2,\"x \"\"q\"\"\ny\"\n# c \"\n3,\"p\\\"\nq\"\n4,z\n";
    char p[512], sig[4096];
    lk_error err;
    lk_source_opts o = opts(LK_SOURCE_CSV, 1, 1 << 20);
    o.comment = '#';
    snprintf(p, sizeof p, "%s/q.csv", dir);
    write_file(p, t, strlen(t));
    ck_assert_int_eq(chunks(p, &o, sig, sizeof sig, NULL, &err), 0);
    /* one record per chunk at chunk_bytes 1: the newlines in quotes stay inside */
    ck_assert_str_eq(sig, "0:7|7:8|15:14|29:6|35:10|45:4|");
}
END_TEST

/* With a header, the first chunk holds the header record even past blank
   and comment lines (found by fuzz_csv: the header was lost otherwise). */
START_TEST(csv_header_stays_in_the_first_chunk)
{
    const char *t = "\r\n# c \"\n\nid,n\n1,2\n";
    char p[512], sig[4096];
    lk_error err;
    lk_source_opts o = opts(LK_SOURCE_CSV, 1, 1 << 20);
    o.comment = '#';
    o.header = 1;
    snprintf(p, sizeof p, "%s/h.csv", dir);
    write_file(p, t, strlen(t));
    ck_assert_int_eq(chunks(p, &o, sig, sizeof sig, NULL, &err), 0);
    ck_assert_str_eq(sig, "0:14|14:4|");
    o.header = 0;
    ck_assert_int_eq(chunks(p, &o, sig, sizeof sig, NULL, &err), 0);
    ck_assert_str_eq(sig, "0:2|2:6|8:1|9:5|14:4|");
}
END_TEST

static lk_config csv_config(void)
{
    lk_config cfg;
    lk_config_defaults(&cfg);
    snprintf(cfg.source.format, sizeof cfg.source.format, "csv");
    cfg.source.header = 1;
    cfg.source.max_record_size = 200;
    snprintf(cfg.source.comment, sizeof cfg.source.comment, "#");
    snprintf(cfg.source.null_value, sizeof cfg.source.null_value, "NA");
    return cfg;
}

static void row_json(const lk_batch *b, uint32_t r, char *out, size_t cap)
{
    lk_buf j = LK_BUF_INIT;
    lk_rowjson_append(b, r, &j);
    snprintf(out, cap, "%s", j.data);
    lk_buf_free(&j);
}

static const char *CSV = "id,name,score,ok,note\r\n"
                         "1,alice,1.5,true,\"hello, world\"\r\n"
                         "# a comment line, \"with a quote\n"
                         "\n"
                         "2,\"bob \"\"the\"\" builder\",2,false,\"two\nlines\"\n"
                         "3,NA,,TRUE,\"esc \\\" q\"\n"
                         "x4,carol,3,true,\"\"\n"
                         "5,dave,1\n"
                         "6,erin,1,true,a,extra\n"
                         "7,\"bad\"quote,1,true,n\n"
                         "8,frank,3.25,false,\"never closed\n";

START_TEST(csv_infer_and_parse_edge_cases)
{
    lk_config cfg = csv_config();
    lk_csv_reader *r = csv_new(&cfg);
    lk_infer *inf = lk_infer_new();
    /* well-formed rows with the header's column count: 1, 2, 3, x4 */
    ck_assert_int_eq(lk_csv_reader_infer(r, inf, CSV, strlen(CSV), 1), 4);
    lk_schema *data = lk_infer_result(inf);
    lk_infer_destroy(&inf);
    lk_buf ddl = LK_BUF_INIT;
    lk_schema_to_ddl(data, &ddl);
    ck_assert_str_eq(ddl.data, "id STRING, name STRING, score DOUBLE, ok BOOLEAN, note STRING");
    lk_buf_free(&ddl);
    /* a later chunk of the same file keeps the header's names */
    inf = lk_infer_new();
    ck_assert_int_eq(lk_csv_reader_infer(r, inf, "id,n\n", 5, 1), 0);
    ck_assert_int_eq(lk_csv_reader_infer(r, inf, "1,2\n", 4, 0), 1);
    lk_schema *later = lk_infer_result(inf);
    lk_infer_destroy(&inf);
    lk_schema_to_ddl(later, &ddl);
    ck_assert_str_eq(ddl.data, "id LONG, n LONG");
    lk_buf_free(&ddl);
    lk_schema_destroy(&later);
    lk_schema *raw = lk_raw_schema(data);
    lk_batch *b = lk_batch_new(raw);
    lk_source_meta meta = {"/in/f.csv", "f.csv", 999, 0};
    lk_raw_stats st = {0};
    lk_error err;
    ck_assert_int_eq(lk_csv_reader_parse(r, CSV, strlen(CSV), 1, &meta, 0, b, &st, &err), 0);
    ck_assert_int_eq(st.rows, 8);
    ck_assert_int_eq(st.corrupt, 4);
    ck_assert_int_eq(st.rescued, 0);
    char row[2048];
    for (uint32_t i = 0; getenv("LK_DUMP") && i < lk_batch_nrows(b); i++) {
        row_json(b, i, row, sizeof row);
        printf("%s\n", row);
    }
    row_json(b, 0, row, sizeof row);
    ck_assert_ptr_nonnull(strstr(row, "{\"id\":\"1\",\"name\":\"alice\",\"score\":1.5,\"ok\":true,"
                                      "\"note\":\"hello, world\",\"_rescued_data\":null,"
                                      "\"_corrupt_record\":null"));
    ck_assert_ptr_nonnull(strstr(row, "\"file_offset\":23}"));
    row_json(b, 1, row, sizeof row);
    ck_assert_ptr_nonnull(strstr(row, "\"name\":\"bob \\\"the\\\" builder\",\"score\":2,"
                                      "\"ok\":false,\"note\":\"two\\nlines\""));
    row_json(b, 2, row, sizeof row);
    /* NA is null; an empty unquoted field is a string "" here (null_value is NA) */
    ck_assert_ptr_nonnull(strstr(row, "\"name\":null,\"score\":null,\"ok\":true,"
                                      "\"note\":\"esc \\\" q\""));
    row_json(b, 3, row, sizeof row);
    ck_assert_ptr_nonnull(strstr(row, "\"id\":\"x4\""));
    ck_assert_ptr_nonnull(strstr(row, "\"note\":\"\""));
    row_json(b, 4, row, sizeof row);
    ck_assert_ptr_nonnull(strstr(row, "\"id\":null"));
    ck_assert_ptr_nonnull(strstr(row, "\"_corrupt_record\":\"5,dave,1\""));
    row_json(b, 5, row, sizeof row);
    ck_assert_ptr_nonnull(strstr(row, "\"_corrupt_record\":\"6,erin,1,true,a,extra\""));
    row_json(b, 6, row, sizeof row);
    ck_assert_ptr_nonnull(strstr(row, "\"_corrupt_record\":\"7,\\\"bad\\\"quote,1,true,n\""));
    row_json(b, 7, row, sizeof row);
    ck_assert_ptr_nonnull(
        strstr(row, "\"_corrupt_record\":\"8,frank,3.25,false,\\\"never closed\\n\""));
    lk_batch_destroy(&b);
    lk_schema_destroy(&raw);
    lk_schema_destroy(&data);
    lk_csv_reader_destroy(&r);
}
END_TEST

START_TEST(csv_typed_mismatch_rescued_and_no_header)
{
    lk_config cfg = csv_config();
    cfg.source.header = 0;
    cfg.source.null_value[0] = 0;
    lk_csv_reader *r = csv_new(&cfg);
    const char *head = "1,2.5,true,2026-11-24T09:30:00Z,2026-11-24\n"
                       "2,,false,2026-11-24 10:00:00.5,2026-11-25\n";
    lk_infer *inf = lk_infer_new();
    ck_assert_int_eq(lk_csv_reader_infer(r, inf, head, strlen(head), 1), 2);
    lk_schema *data = lk_csv_reader_infer_result(r, inf);
    lk_infer_destroy(&inf);
    lk_buf ddl = LK_BUF_INIT;
    lk_schema_to_ddl(data, &ddl);
    /* timestamps with a time part are inferred; bare dates stay strings */
    ck_assert_str_eq(ddl.data, "_c0 LONG, _c1 DOUBLE, _c2 BOOLEAN, _c3 TIMESTAMP, _c4 STRING");
    lk_buf_free(&ddl);
    lk_schema *raw = lk_raw_schema(data);
    lk_batch *b = lk_batch_new(raw);
    lk_source_meta meta = {"/in/g.csv", "g.csv", 9, 0};
    lk_raw_stats st = {0};
    lk_error err;
    const char *body = "7,,yes,2026-11-24T09:30:00.250Z,d\n"
                       "\xEF\xBB\xBF"
                       "8,1e3,false,soon,d\n"
                       "9";
    ck_assert_int_eq(lk_csv_reader_parse(r, body, strlen(body), 0, &meta, 1000, b, &st, &err), 0);
    ck_assert_int_eq(st.rows, 3);
    ck_assert_int_eq(st.rescued, 2);
    char row[1024];
    row_json(b, 0, row, sizeof row);
    ck_assert_ptr_nonnull(
        strstr(row, "{\"_c0\":7,\"_c1\":null,\"_c2\":null,\"_c3\":\"2026-11-24T09:30:00.250000Z\","
                    "\"_c4\":\"d\",\"_rescued_data\":"
                    "\"{\\\"_c2\\\":\\\"yes\\\",\\\"_file_path\\\":\\\"/in/g.csv\\\"}\""));
    ck_assert_ptr_nonnull(strstr(row, "\"file_offset\":1000}"));
    row_json(b, 1, row, sizeof row);
    if (getenv("LK_DUMP")) printf("%s\n", row);
    /* a BOM inside the file is data (here: not a long); the bad timestamp is rescued */
    ck_assert_ptr_nonnull(strstr(row, "\"_c0\":null,\"_c1\":1e+03,\"_c2\":false,\"_c3\":null"));
    ck_assert_ptr_nonnull(strstr(row, "\\\"_c3\\\":\\\"soon\\\""));
    row_json(b, 2, row, sizeof row);
    ck_assert_ptr_nonnull(strstr(row, "\"_corrupt_record\":\"9\""));
    lk_batch_destroy(&b);
    lk_schema_destroy(&raw);
    lk_schema_destroy(&data);
    lk_csv_reader_destroy(&r);
}
END_TEST

static void count_doc(void *ctx, const char *rec, size_t n, size_t offset)
{
    lk_buf *b = ctx;
    char l[64];
    snprintf(l, sizeof l, "%zu:", offset);
    lk_buf_puts(b, l);
    lk_buf_append(b, rec, n);
    lk_buf_putc(b, '|');
}

START_TEST(text_rows_and_multiline_docs)
{
    lk_infer *inf = lk_infer_new();
    lk_infer_line(inf, "{\"value\":\"\"}", 12);
    lk_schema *data = lk_infer_result(inf);
    lk_infer_destroy(&inf);
    lk_schema *raw = lk_raw_schema(data);
    lk_batch *b = lk_batch_new(raw);
    lk_source_meta meta = {"/in/t.txt", "t.txt", 9, 0};
    lk_raw_stats st = {0};
    lk_buf tmp = LK_BUF_INIT;
    lk_error err;
    const char *t = "hello\r\n\nbad \xff byte\n0123456789abcdef\nlast";
    ck_assert_int_eq(lk_text_reader_parse(t, strlen(t), &meta, 5, 16, b, &st, &tmp, &err), 0);
    ck_assert_int_eq(st.rows, 5);
    ck_assert_int_eq(st.corrupt, 1);
    char row[1024];
    row_json(b, 0, row, sizeof row);
    ck_assert_ptr_nonnull(strstr(row, "{\"value\":\"hello\",\"_rescued_data\":null"));
    ck_assert_ptr_nonnull(strstr(row, "\"file_offset\":5}"));
    row_json(b, 1, row, sizeof row);
    ck_assert_ptr_nonnull(strstr(row, "{\"value\":\"\""));
    row_json(b, 2, row, sizeof row);
    ck_assert_ptr_nonnull(strstr(row, "\"value\":\"bad \xef\xbf\xbd byte\""));
    row_json(b, 3, row, sizeof row);
    ck_assert_ptr_nonnull(strstr(row, "\"value\":null,\"_rescued_data\":null,\"_corrupt_record\":"
                                      "\"0123456789abcdef\""));
    row_json(b, 4, row, sizeof row);
    ck_assert_ptr_nonnull(strstr(row, "{\"value\":\"last\""));
    lk_buf out = LK_BUF_INIT;
    const char *arr = " [ {\"a\":1,\n \"b\":\"x]\"},\n{\"a\":[2,3]} ,{\"a\":\n4}]\n";
    ck_assert_int_eq(lk_text_json_doc(arr, strlen(arr), &tmp, count_doc, &out), 3);
    ck_assert_str_eq(out.data, "3:{\"a\":1,  \"b\":\"x]\"}|23:{\"a\":[2,3]}|36:{\"a\": 4}|");
    lk_buf_reset(&out);
    ck_assert_int_eq(lk_text_json_doc("\n{\"a\":\n1}\n", 10, &tmp, count_doc, &out), 1);
    ck_assert_str_eq(out.data, "1:{\"a\": 1}|");
    lk_buf_free(&out);
    lk_buf_free(&tmp);
    lk_batch_destroy(&b);
    lk_schema_destroy(&raw);
    lk_schema_destroy(&data);
}
END_TEST

START_TEST(discovery_by_format)
{
    lk_config cfg;
    lk_config_defaults(&cfg);
    ck_assert(lk_source_cfg_accepts(&cfg, "a.jsonl.gz"));
    ck_assert(lk_source_cfg_accepts(&cfg, "a.json.zst"));
    ck_assert(lk_source_cfg_accepts(&cfg, "a.ndjson"));
    ck_assert(!lk_source_cfg_accepts(&cfg, "a.csv"));
    ck_assert(!lk_source_cfg_accepts(&cfg, ".a.json"));
    ck_assert(!lk_source_cfg_accepts(&cfg, "a.gz"));
    snprintf(cfg.source.format, sizeof cfg.source.format, "csv");
    ck_assert(lk_source_cfg_accepts(&cfg, "a.csv"));
    ck_assert(lk_source_cfg_accepts(&cfg, "a.csv.gz"));
    ck_assert(lk_source_cfg_accepts(&cfg, "a.csv.bz2"));
    ck_assert(!lk_source_cfg_accepts(&cfg, "a.json"));
    snprintf(cfg.source.format, sizeof cfg.source.format, "text");
    ck_assert(lk_source_cfg_accepts(&cfg, "a.txt"));
    ck_assert(lk_source_cfg_accepts(&cfg, "a.log.zst"));
    ck_assert_int_eq(lk_source_codec_of("x.csv.gz"), LK_CODEC_GZIP);
    ck_assert_int_eq(lk_source_codec_of("x.csv"), LK_CODEC_NONE);
}
END_TEST

/* Random CSV with quotes, doubled quotes, escapes, separators and newlines
   inside quoted fields, comments, CRLF: cut by the chunker at tiny
   chunk_bytes and parsed chunk by chunk, it gives the same rows as parsed
   whole — no chunk boundary falls inside a record. */
START_TEST(csv_chunker_agrees_with_parser)
{
    lk_config cfg = csv_config();
    cfg.source.header = 0;
    cfg.source.max_record_size = 1 << 20;
    srand(42);
    lk_buf t = LK_BUF_INIT;
    static const char *atoms[] = {"a", "b c", ",", "\n", "\r\n", "\"\"", "\\\"", "#", "x"};
    for (int rec = 0; rec < 400; rec++) {
        if (rand() % 20 == 0) lk_buf_puts(&t, "# comment \" with a quote\n");
        for (int f = 0; f < 3; f++) {
            if (f) lk_buf_putc(&t, ',');
            int quoted = rand() % 2;
            if (quoted) lk_buf_putc(&t, '"');
            for (int k = rand() % 4; k > 0; k--) {
                const char *a = atoms[rand() % 9];
                if (!quoted && (a[0] == ',' || a[0] == '\n' || a[0] == '\r' || a[0] == '"' ||
                                a[0] == '\\' || a[0] == '#'))
                    a = "z";
                lk_buf_puts(&t, a);
            }
            if (quoted) lk_buf_putc(&t, '"');
        }
        lk_buf_puts(&t, rand() % 3 ? "\n" : "\r\n");
    }
    char p[512];
    snprintf(p, sizeof p, "%s/r.csv", dir);
    write_file(p, t.data, t.len);
    lk_schema *data = NULL;
    lk_error err;
    ck_assert_int_eq(
        lk_schema_from_json(
            "{\"type\":\"struct\",\"fields\":["
            "{\"name\":\"a\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}},"
            "{\"name\":\"b\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}},"
            "{\"name\":\"c\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}}]}",
            strlen("{\"type\":\"struct\",\"fields\":["
                   "{\"name\":\"a\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}},"
                   "{\"name\":\"b\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}},"
                   "{\"name\":\"c\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}}]}"),
            &data, &err),
        0);
    lk_schema *raw = lk_raw_schema(data);
    lk_batch *whole = lk_batch_new(raw), *parts = lk_batch_new(raw);
    lk_csv_reader *r = csv_new(&cfg);
    lk_source_meta meta = {"/in/r.csv", "r.csv", 1, 0};
    lk_raw_stats st = {0}, st2 = {0};
    ck_assert_int_eq(lk_csv_reader_parse(r, t.data, t.len, 1, &meta, 0, whole, &st, &err), 0);
    ck_assert_int_eq(st.rows, 400);
    ck_assert_int_eq(st.corrupt, 0);
    for (size_t cb = 1; cb <= 64; cb *= 4) {
        lk_batch_reset(parts);
        memset(&st2, 0, sizeof st2);
        lk_source_opts o = opts(LK_SOURCE_CSV, cb, 1 << 20);
        o.comment = '#';
        lk_source_reader *sr = lk_source_reader_open(p, 0, (int64_t)t.len, &o, &err);
        lk_source_chunk c;
        while (lk_source_reader_next(sr, &c, &err) == 1)
            ck_assert_int_eq(lk_csv_reader_parse(r, c.data, c.len, c.first_line == 1, &meta,
                                                 c.offset, parts, &st2, &err),
                             0);
        lk_source_reader_destroy(&sr);
        ck_assert_int_eq(st2.rows, 400);
        ck_assert_int_eq(st2.corrupt, 0);
        for (uint32_t i = 0; i < 400; i++) {
            char a[1024], b[1024];
            row_json(whole, i, a, sizeof a);
            row_json(parts, i, b, sizeof b);
            ck_assert_str_eq(a, b);
        }
    }
    lk_csv_reader_destroy(&r);
    lk_batch_destroy(&whole);
    lk_batch_destroy(&parts);
    lk_schema_destroy(&raw);
    lk_schema_destroy(&data);
    lk_buf_free(&t);
}
END_TEST

/* header on: each file's columns map by its header names, in any order;
   a column the file lacks is null, a name the schema lacks is rescued
   (or dropped under schema_evolution_mode none), a duplicate name is
   rescued, a record with another field count than the header is corrupt */
START_TEST(csv_columns_by_header_name)
{
    lk_config cfg = csv_config();
    lk_csv_reader *r = csv_new(&cfg);
    lk_schema *data = NULL;
    lk_error err;
    const char *js = "{\"type\":\"struct\",\"fields\":["
                     "{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}},"
                     "{\"name\":\"name\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}},"
                     "{\"name\":\"score\",\"type\":\"double\",\"nullable\":true,\"metadata\":{}}]}";
    ck_assert_int_eq(lk_schema_from_json(js, strlen(js), &data, &err), 0);
    lk_schema *raw = lk_raw_schema(data);
    lk_batch *b = lk_batch_new(raw);
    lk_source_meta meta = {"/in/h.csv", "h.csv", 1, 0};
    lk_raw_stats st = {0};
    /* the header is the first record that is not a comment or blank */
    const char *fa = "# made by hand\n\nscore,id,name\n2.5,1,ann\n";
    size_t hs, he;
    ck_assert_int_eq(lk_csv_reader_header(r, fa, strlen(fa), &hs, &he), 1);
    ck_assert_int_eq((int)(he - hs), 13);
    ck_assert(!memcmp(fa + hs, "score,id,name", 13));
    ck_assert_int_eq(lk_csv_reader_set_header(r, fa + hs, he - hs), 3);
    int n;
    const char *names = lk_csv_reader_header_names(r, &n);
    ck_assert_int_eq(n, 3);
    ck_assert_str_eq(names + 9, "name");
    ck_assert_int_eq(lk_csv_reader_parse(r, fa, strlen(fa), 1, &meta, 0, b, &st, &err), 0);
    /* a later chunk of the same file (no header in it) uses the header set */
    ck_assert_int_eq(lk_csv_reader_parse(r, "3.5,2,bob\n", 10, 0, &meta, 100, b, &st, &err), 0);
    /* another file: other order, no score, an extra column, a duplicate, a ragged record */
    const char *hb = "name,\"ID\",extra,id,,name";
    ck_assert_int_eq(lk_csv_reader_set_header(r, hb, strlen(hb)), 6);
    const char *fb = "name,\"ID\",extra,id,,name\ncid,9,x,3,y,dup\nshort,1\n";
    ck_assert_int_eq(lk_csv_reader_parse(r, fb, strlen(fb), 1, &meta, 0, b, &st, &err), 0);
    ck_assert_int_eq(st.rows, 4);
    ck_assert_int_eq(st.corrupt, 1);
    ck_assert_int_eq(st.rescued, 1);
    char row[2048];
    row_json(b, 0, row, sizeof row);
    ck_assert_ptr_nonnull(strstr(row, "{\"id\":1,\"name\":\"ann\",\"score\":2.5,"
                                      "\"_rescued_data\":null,\"_corrupt_record\":null"));
    row_json(b, 1, row, sizeof row);
    ck_assert_ptr_nonnull(strstr(row, "{\"id\":2,\"name\":\"bob\",\"score\":3.5,"));
    ck_assert_ptr_nonnull(strstr(row, "\"file_offset\":100}"));
    row_json(b, 2, row, sizeof row);
    ck_assert_msg(strstr(row, "{\"id\":3,\"name\":\"cid\",\"score\":null,\"_rescued_data\":"
                              "\"{\\\"ID\\\":\\\"9\\\",\\\"extra\\\":\\\"x\\\",\\\"_c4\\\":"
                              "\\\"y\\\",\\\"name\\\":\\\"dup\\\",\\\"_file_path\\\":"
                              "\\\"/in/h.csv\\\"}\""),
                  "%s", row);
    row_json(b, 3, row, sizeof row);
    ck_assert_ptr_nonnull(strstr(row, "\"_corrupt_record\":\"short,1\""));
    lk_csv_reader_destroy(&r);
    /* schema_evolution_mode none: names the schema lacks are dropped */
    snprintf(cfg.source.schema_evolution_mode, sizeof cfg.source.schema_evolution_mode, "none");
    r = csv_new(&cfg);
    lk_batch_reset(b);
    memset(&st, 0, sizeof st);
    ck_assert_int_eq(lk_csv_reader_set_header(r, "extra,id", 8), 2);
    ck_assert_int_eq(lk_csv_reader_parse(r, "x,5\n", 4, 0, &meta, 0, b, &st, &err), 0);
    ck_assert_int_eq(st.rescued, 0);
    row_json(b, 0, row, sizeof row);
    ck_assert_ptr_nonnull(strstr(row, "{\"id\":5,\"name\":null,\"score\":null,"
                                      "\"_rescued_data\":null"));
    /* no header set: by position, as before */
    ck_assert_int_eq(lk_csv_reader_set_header(r, "", 0), 0);
    ck_assert_int_eq(lk_csv_reader_parse(r, "6,f,1\n", 6, 0, &meta, 0, b, &st, &err), 0);
    row_json(b, 1, row, sizeof row);
    ck_assert_ptr_nonnull(strstr(row, "{\"id\":6,\"name\":\"f\",\"score\":1,"));
    lk_csv_reader_destroy(&r);
    lk_batch_destroy(&b);
    lk_schema_destroy(&raw);
    lk_schema_destroy(&data);
}
END_TEST

START_TEST(config_keys)
{
    char p[512];
    snprintf(p, sizeof p, "%s/c.yml", dir);
    const char *y =
        "source:\n  format: csv\n  header: true\n  sep: \";\"\n  quote: \"\"\n"
        "  escape: \"'\"\n  null_value: NULL\n  comment: \"#\"\n  max_record_size: 4096\n"
        "  multi_line: false\n";
    write_file(p, y, strlen(y));
    lk_config cfg;
    lk_error err;
    ck_assert_int_eq(lk_config_load(p, &cfg, &err), 0);
    ck_assert_str_eq(cfg.source.format, "csv");
    ck_assert_int_eq(cfg.source.header, 1);
    ck_assert_str_eq(cfg.source.sep, ";");
    ck_assert_str_eq(cfg.source.quote, "");
    ck_assert_str_eq(cfg.source.escape, "'");
    ck_assert_str_eq(cfg.source.null_value, "NULL");
    ck_assert_str_eq(cfg.source.comment, "#");
    ck_assert_int_eq(cfg.source.max_record_size, 4096);
    lk_source_opts o;
    lk_source_cfg_reader(&cfg, &o);
    ck_assert_int_eq(o.sep, ';');
    ck_assert_int_eq(o.quote, -1);
    ck_assert_uint_eq(o.chunk_bytes, 4096); /* clamped to max_record_size */
    lk_config_defaults(&cfg);
    ck_assert_str_eq(cfg.source.sep, ",");
    ck_assert_str_eq(cfg.source.quote, "\"");
    ck_assert_str_eq(cfg.source.escape, "\\");
    ck_assert_str_eq(cfg.source.null_value, "");
    ck_assert_int_eq(cfg.source.max_record_size, 16 << 20);
    ck_assert_int_eq(cfg.source.header, 0);
    /* max_record_bytes (issue 17's name) and max_record_size (its older one): either, not both */
    const char *nb = "source:\n  max_record_bytes: 8192\n";
    write_file(p, nb, strlen(nb));
    ck_assert_int_eq(lk_config_load(p, &cfg, &err), 0);
    ck_assert_int_eq(cfg.source.max_record_size, 8192);
    const char *both = "source:\n  max_record_size: 4096\n  max_record_bytes: 8192\n";
    write_file(p, both, strlen(both));
    ck_assert_int_ne(lk_config_load(p, &cfg, &err), 0);
    ck_assert_msg(strstr(err.msg, "source.max_record_bytes") && strstr(err.msg, "give one"), "%s",
                  err.msg);
    lk_config_defaults(&cfg);
    const char *bad[] = {"source:\n  sep: \"\"\n", "source:\n  sep: \";;\"\n",
                         "source:\n  format: parquet\n"};
    for (int i = 0; i < 3; i++) {
        write_file(p, bad[i], strlen(bad[i]));
        ck_assert_int_ne(lk_config_load(p, &cfg, &err), 0);
        ck_assert_ptr_nonnull(strstr(err.msg, i < 2 ? "source.sep" : "source.format"));
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("formats");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, gz_zst_bz2_chunks_equal_plain);
    tcase_add_test(tc, truncated_and_corrupt_gz_keep_what_was_read);
    tcase_add_test(tc, bom_crlf_last_line_oversized);
    tcase_add_test(tc, csv_chunks_never_cut_inside_quotes);
    tcase_add_test(tc, csv_header_stays_in_the_first_chunk);
    tcase_add_test(tc, csv_infer_and_parse_edge_cases);
    tcase_add_test(tc, csv_typed_mismatch_rescued_and_no_header);
    tcase_add_test(tc, text_rows_and_multiline_docs);
    tcase_add_test(tc, discovery_by_format);
    tcase_add_test(tc, csv_chunker_agrees_with_parser);
    tcase_add_test(tc, csv_columns_by_header_name);
    tcase_add_test(tc, config_keys);
    tcase_add_test(tc, file_path_absolute_and_percent_encoded);
    tcase_add_test(tc, chunks_by_reference_read_range);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
