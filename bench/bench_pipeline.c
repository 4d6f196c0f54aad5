/*
 * bench_pipeline — the parse → Parquet path of one chunk, in one process, for
 * profiling (valgrind --tool=callgrind, perf) and instructions per row.
 *
 *   build/bench_pipeline [--rows N] [--chunk-bytes B] [--codec zstd] [--level L]
 *                        [--dir DIR] [--fsync 0|1] [--stage all|parse|msg]
 *                        [--dictionary 0|1] [--tables both|raw|processed] [--reuse 0|1] [--keep 0|1]
 *                        [--config lakesup.yml]
 *
 * It makes the same calls, in the same order, as a transform and a writer do
 * for every chunk (workers/transform/lk_transform.c, workers/writer/lk_writer.c):
 * lk_json_reader_parse into the raw_events batch, lk_tables_run (processed_events
 * through the transforms: the default list, or --config's `transforms:`),
 * lk_msg_records_encode (transform), then lk_msg_records_decode and, per
 * table, lk_pq_writer open/write/close + lk_delta_stats_json (writer). Only
 * ZeroMQ, the supervisor and the commit are left out. The input is the
 * project's generator (lk_gen --stdout, seed 5), cut into chunks after the
 * last newline below --chunk-bytes as ingest does. --stage stops after the
 * parse (parse) or after the message round trip (msg) so that the stages'
 * costs can be told apart; --dictionary 0 and --tables (which tables get a
 * Parquet file) measure what the writer's options and each table cost;
 * --reuse 0 encodes processed_events' columns even where they are raw_events'
 * (the writer reuses identical column chunks, lk_pq_writer_reuse_from);
 * --keep 1 leaves the files in DIR as chunk-C-T.parquet (T 0 raw, 1
 * processed), to compare two builds' output byte for byte.
 * Prints one line of key=value pairs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lk_buf.h"
#include "lk_delta.h"
#include "lk_infer.h"
#include "lk_json_reader.h"
#include "lk_msg.h"
#include "lk_parquet_writer.h"
#include "lk_raw.h"
#include "lk_tables.h"
#include "lk_time.h"

int main(int argc, char **argv)
{
    long rows = 100000;
    size_t chunk_bytes = 4u << 20;
    const char *codec_name = "zstd", *dir = "/tmp", *stage = "all";
    int level = 3, do_fsync = 0, dictionary = 1, tables = 3; /* bit 0 raw, bit 1 processed */
    int reuse = 1, keep = 0;
    const char *config = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!strcmp(a, "--rows"))
            rows = atol(v);
        else if (!strcmp(a, "--chunk-bytes"))
            chunk_bytes = (size_t)atol(v);
        else if (!strcmp(a, "--codec"))
            codec_name = v;
        else if (!strcmp(a, "--level"))
            level = atoi(v);
        else if (!strcmp(a, "--dir"))
            dir = v;
        else if (!strcmp(a, "--fsync"))
            do_fsync = atoi(v);
        else if (!strcmp(a, "--stage"))
            stage = v;
        else if (!strcmp(a, "--dictionary"))
            dictionary = atoi(v);
        else if (!strcmp(a, "--reuse"))
            reuse = atoi(v);
        else if (!strcmp(a, "--keep"))
            keep = atoi(v);
        else if (!strcmp(a, "--config"))
            config = v;
        else if (!strcmp(a, "--tables"))
            tables = !strcmp(v, "raw") ? 1 : !strcmp(v, "processed") ? 2 : 3;
        else {
            fprintf(stderr, "bench_pipeline: unknown option %s\n", a);
            return 2;
        }
    }
    int upto = !strcmp(stage, "parse") ? 0 : !strcmp(stage, "msg") ? 1 : 2;
    /* lk_gen sits beside this program in the build directory */
    char self[4096], cmd[4600];
    ssize_t sn = readlink("/proc/self/exe", self, sizeof self - 1);
    self[sn > 0 ? sn : 0] = '\0';
    char *slash = strrchr(self, '/');
    if (slash) *slash = '\0';
    snprintf(cmd, sizeof cmd, "'%s/lk_gen' --stdout --rows %ld --seed 5 2>/dev/null",
             slash ? self : ".", rows);
    FILE *p = popen(cmd, "r");
    lk_buf in = LK_BUF_INIT;
    char tmp[65536];
    size_t n;
    while (p && (n = fread(tmp, 1, sizeof tmp, p)) > 0)
        lk_buf_append(&in, tmp, n);
    if (p) pclose(p);
    if (!in.len) {
        fprintf(stderr, "bench_pipeline: no input (is lk_gen built?)\n");
        return 1;
    }
    /* ingest's inference on the first MiB, the table schemas */
    lk_infer *inf = lk_infer_new();
    lk_infer_lines(inf, in.data, in.len < (1 << 20) ? in.len : (1 << 20));
    lk_schema *data = lk_infer_result(inf);
    lk_schema *raw_s = lk_raw_schema(data);
    lk_config cfg;
    lk_error cerr;
    if (lk_config_load(config, &cfg, &cerr)) {
        fprintf(stderr, "bench_pipeline: %s\n", cerr.msg);
        return 2;
    }
    lk_tables *tabs = NULL;
    if (lk_tables_new(&cfg, raw_s, &tabs, &cerr)) {
        fprintf(stderr, "bench_pipeline: %s\n", cerr.msg);
        return 2;
    }
    lk_schema *proc_s = lk_schema_clone(lk_tables_schema(tabs, 1));
    lk_batch *raw = lk_batch_new(raw_s), *proc = lk_tables_batch(tabs, 1);
    lk_json_reader *reader = lk_json_reader_new();
    lk_pq_options o;
    lk_pq_options_default(&o);
    if (lk_pq_codec_parse(codec_name, &o.codec)) {
        fprintf(stderr, "bench_pipeline: bad codec %s\n", codec_name);
        return 2;
    }
    o.zstd_level = level;
    o.fsync = do_fsync;
    o.dictionary = dictionary;
    lk_pq_writer *pw[2] = {NULL, NULL};
    lk_schema *wschema[2] = {NULL, NULL};
    lk_msg_records rec, dec;
    memset(&rec, 0, sizeof rec);
    memset(&dec, 0, sizeof dec);
    lk_buf msg = LK_BUF_INIT, stats = LK_BUF_INIT;
    lk_error err;
    double t_parse = 0, t_msg = 0, t_pq = 0;
    int64_t nrows = 0, out_bytes = 0, chunks = 0, files = 0, msg_bytes = 0;
    lk_source_meta meta = {"/data/incoming/events-00000.jsonl", "events-00000.jsonl",
                           (int64_t)in.len, 1795512600000000LL};
    for (size_t off = 0; off < in.len; chunks++) {
        size_t len = in.len - off;
        if (len > chunk_bytes) {
            const char *nl = memrchr(in.data + off, '\n', chunk_bytes);
            len = nl ? (size_t)(nl - (in.data + off)) + 1 : chunk_bytes;
        }
        double t0 = lk_time_mono_s();
        lk_batch_reset(raw);
        lk_raw_stats st = {0};
        if (lk_json_reader_parse(reader, in.data + off, len, &meta, (int64_t)off, raw, &st, &err) ||
            lk_tables_run(tabs, raw, 1795512600000000LL, 0, &err)) {
            fprintf(stderr, "bench_pipeline: %s\n", err.msg);
            return 1;
        }
        nrows += st.rows;
        double t1 = lk_time_mono_s();
        t_parse += t1 - t0;
        off += len;
        if (upto < 1) continue;
        rec.batch_id = 0;
        rec.chunk_idx = (int)chunks;
        rec.rows_in = st.rows;
        rec.n_parts = 2;
        snprintf(rec.parts[0].table, sizeof rec.parts[0].table, "%s", LK_TABLE_RAW);
        rec.parts[0].batch = raw;
        snprintf(rec.parts[1].table, sizeof rec.parts[1].table, "%s", LK_TABLE_PROCESSED);
        rec.parts[1].batch = proc;
        /* a filtered processed_events' unchanged columns as references, as the transform sends */
        rec.parts[1].from = lk_tables_lineage(tabs, 1, &rec.parts[1].keep, &rec.parts[1].cols);
        lk_buf_reset(&msg);
        lk_msg_records_encode(&rec, &msg);
        msg_bytes += (int64_t)msg.len;
        if (lk_msg_records_decode(msg.data, msg.len, &dec, &err)) {
            fprintf(stderr, "bench_pipeline: decode: %s\n", err.msg);
            return 1;
        }
        double t2 = lk_time_mono_s();
        t_msg += t2 - t1;
        if (upto < 2) continue;
        for (int k = 0; k < dec.n_parts && k < 2; k++) {
            const lk_schema *s = lk_batch_schema(dec.parts[k].batch);
            if (!pw[k] || !lk_schema_equal(wschema[k], s)) {
                lk_pq_writer_destroy(&pw[k]);
                lk_schema_destroy(&wschema[k]);
                wschema[k] = lk_schema_clone(s);
                pw[k] = lk_pq_writer_new(s, &o);
            }
        }
        /* as lk_writer does, but linked before the first chunk: the writer
           process misses the reuse on its very first chunk only */
        if (pw[1])
            lk_pq_writer_reuse_from(pw[1], reuse && (tables & 1) ? pw[0] : NULL);
        for (int k = 0; k < dec.n_parts && k < 2; k++) {
            if (!(tables & (1 << k))) continue;
            char path[1024];
            if (keep)
                snprintf(path, sizeof path, "%s/chunk-%lld-%d.parquet", dir, (long long)chunks, k);
            else
                snprintf(path, sizeof path, "%s/bench_pipeline_%d_%d.parquet", dir, (int)getpid(), k);
            lk_pq_file_info info;
            if (lk_pq_writer_open(pw[k], path, &err) ||
                lk_pq_writer_write(pw[k], dec.parts[k].batch, &err) ||
                lk_pq_writer_close(pw[k], &info, &err)) {
                fprintf(stderr, "bench_pipeline: parquet: %s\n", err.msg);
                return 1;
            }
            lk_buf_reset(&stats);
            lk_delta_stats_json(&info, &stats);
            out_bytes += info.file_size;
            files++;
            if (!keep)
                unlink(path);
        }
        t_pq += lk_time_mono_s() - t2;
    }
    double total = t_parse + t_msg + t_pq;
    printf("bench_pipeline: rows=%lld chunks=%lld json_bytes=%zu parquet_files=%lld "
           "parquet_bytes=%lld parse_s=%.3f msg_s=%.3f parquet_s=%.3f rows_per_s=%.0f "
           "parse_rows_per_s=%.0f parquet_rows_per_s=%.0f reused_chunks=%lld msg_bytes=%lld\n",
           (long long)nrows, (long long)chunks, in.len, (long long)files, (long long)out_bytes,
           t_parse, t_msg, t_pq, total > 0 ? (double)nrows / total : 0.0,
           t_parse > 0 ? (double)nrows / t_parse : 0.0, t_pq > 0 ? (double)nrows / t_pq : 0.0,
           (long long)(pw[1] ? lk_pq_writer_reused_chunks(pw[1]) : 0), (long long)msg_bytes);
    rec.parts[0].batch = rec.parts[1].batch = NULL;
    rec.n_parts = 0;
    lk_msg_records_clear(&dec);
    for (int k = 0; k < 2; k++) {
        lk_pq_writer_destroy(&pw[k]);
        lk_schema_destroy(&wschema[k]);
    }
    lk_json_reader_destroy(&reader);
    lk_batch_destroy(&raw);
    lk_tables_destroy(&tabs);
    lk_schema_destroy(&raw_s);
    lk_schema_destroy(&proc_s);
    lk_schema_destroy(&data);
    lk_infer_destroy(&inf);
    lk_buf_free(&in);
    lk_buf_free(&msg);
    lk_buf_free(&stats);
    return 0;
}
