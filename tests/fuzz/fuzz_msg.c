/*
 * fuzz_msg — libFuzzer target for the messages between processes (proto/lk_msg): the input is
 * one message as a peer sends it, local or a remote worker through the gateway. It is peeked
 * and decoded by its type's decoder (CHUNK, RECORDS, FILES, EVENT, PROGRESS). A decoded RECORDS
 * or FILES message is encoded again and must decode to the same encoding (what a writer or the
 * committer forwards is what it understood). A crash, a leak, undefined behaviour (the ASan and
 * UBSan of -DLK_FUZZ), or a decoded message that does not survive its own round trip is a bug;
 * a refusal must say why (a non-empty message).
 *
 * Seeds: written by `fuzz_msg --write-seeds DIR` (tests/fuzz/run.sh does): one message of each
 * type, RECORDS with column references and a row selection, a RECORDS of version 2 (the layout
 * event_metrics' stored window state may have), FILES with a partial and stats.
 *
 * Build: cmake -S . -B build-fuzz -DLK_FUZZ=ON -DCMAKE_C_COMPILER=clang-14
 * Run:   build-fuzz/fuzz_msg -max_total_time=300 build-fuzz/corpus-msg tests/fuzz/seeds/msg
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_msg.h"
#include "../unit/lk_msg_v2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static void refused(const lk_error *err)
{
    if (!err->msg[0]) abort(); /* a refusal that does not say why */
}

/* x encoded again decodes, and encodes to the same bytes. */
static void records_again(const lk_msg_records *m)
{
    lk_buf a = LK_BUF_INIT, b = LK_BUF_INIT;
    lk_msg_records d;
    memset(&d, 0, sizeof d);
    lk_error err;
    if (lk_msg_records_encode(m, &a)) abort();
    if (lk_msg_records_decode(a.data, a.len, &d, &err)) abort();
    if (lk_msg_records_encode(&d, &b)) abort();
    if (a.len != b.len || memcmp(a.data, b.data, a.len)) abort();
    lk_msg_records_clear(&d);
    lk_buf_free(&a);
    lk_buf_free(&b);
}

static void files_again(const lk_msg_files *m)
{
    lk_buf a = LK_BUF_INIT, b = LK_BUF_INIT;
    lk_msg_files d;
    memset(&d, 0, sizeof d);
    lk_error err;
    if (lk_msg_files_encode(m, &a)) abort();
    if (lk_msg_files_decode(a.data, a.len, &d, &err)) abort();
    if (lk_msg_files_encode(&d, &b)) abort();
    if (a.len != b.len || memcmp(a.data, b.data, a.len)) abort();
    lk_msg_files_clear(&d);
    lk_buf_free(&a);
    lk_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lk_error err;
    memset(&err, 0, sizeof err);
    lk_msg_type t;
    if (lk_msg_peek(data, size, &t, &err)) {
        refused(&err);
        return 0;
    }
    switch (t) {
    case LK_MSG_CHUNK: {
        lk_msg_chunk c;
        if (lk_msg_chunk_decode(data, size, &c, &err)) refused(&err);
        break;
    }
    case LK_MSG_RECORDS: {
        lk_msg_records m;
        memset(&m, 0, sizeof m);
        if (lk_msg_records_decode(data, size, &m, &err))
            refused(&err);
        else
            records_again(&m);
        lk_msg_records_clear(&m);
        break;
    }
    case LK_MSG_FILES: {
        lk_msg_files m;
        memset(&m, 0, sizeof m);
        if (lk_msg_files_decode(data, size, &m, &err))
            refused(&err);
        else
            files_again(&m);
        lk_msg_files_clear(&m);
        break;
    }
    case LK_MSG_EVENT: {
        lk_msg_event e;
        if (lk_msg_event_decode(data, size, &e, &err)) refused(&err);
        break;
    }
    case LK_MSG_PROGRESS: {
        lk_msg_progress p;
        if (lk_msg_progress_decode(data, size, &p, &err)) refused(&err);
        break;
    }
    default:
        break;
    }
    return 0;
}

/* ---- seeds ---- */

static void put(const char *dir, const char *name, const lk_buf *b)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b->data, 1, b->len, f) != b->len || fclose(f)) {
        perror(path);
        exit(1);
    }
}

static lk_batch *rows(int n)
{
    lk_schema *s = lk_schema_new();
    lk_schema_add(s, "id", LK_TYPE_LONG, 1);
    lk_schema_add(s, "s", LK_TYPE_STRING, 1);
    lk_schema_add(s, "d", LK_TYPE_DOUBLE, 1);
    lk_field *st = lk_schema_add(s, "st", LK_TYPE_STRUCT, 1);
    lk_field_add_child(st, "a", LK_TYPE_INTEGER, 1);
    lk_field *ar = lk_schema_add(s, "ar", LK_TYPE_ARRAY, 1);
    lk_field_add_child(ar, "element", LK_TYPE_STRING, 1);
    lk_batch *b = lk_batch_new(s);
    lk_schema_destroy(&s);
    char tmp[32];
    for (int i = 0; i < n; i++) {
        if (i % 4 == 3)
            lk_col_append_null(lk_batch_col(b, 0));
        else
            lk_col_append_i64(lk_batch_col(b, 0), i * 7);
        int k = snprintf(tmp, sizeof tmp, "v%d", i % 5);
        lk_col_append_bytes(lk_batch_col(b, 1), tmp, (size_t)k);
        lk_col_append_f64(lk_batch_col(b, 2), i * 0.5);
        lk_col *c = lk_batch_col(b, 3);
        lk_col_append_i32(&c->children[0], i);
        lk_col_append_struct(c);
        c = lk_batch_col(b, 4);
        for (int j = 0; j < i % 3; j++)
            lk_col_append_bytes(&c->children[0], "x", 1);
        lk_col_append_list(c);
        lk_batch_end_row(b);
    }
    return b;
}

static void write_seeds(const char *dir)
{
    lk_buf b = LK_BUF_INIT;
    lk_msg_chunk c;
    memset(&c, 0, sizeof c);
    c.batch_id = 3;
    c.chunk_idx = LK_CHUNK_IDX(1, 2);
    c.schema_version = 1;
    c.file_id = 9;
    snprintf(c.file_path, sizeof c.file_path, "/in/a.jsonl");
    c.file_size = 100;
    c.offset = 10;
    c.first_line = 2;
    c.data = "{\"a\":1}\n";
    c.len = 8;
    lk_msg_chunk_encode(&c, &b);
    put(dir, "chunk", &b);
    lk_buf_reset(&b);
    c.by_ref = 1;
    c.digest = 0x1234;
    c.ref_pid = 42;
    c.ref_fd = 7;
    lk_msg_chunk_encode(&c, &b);
    put(dir, "chunk-by-ref", &b);

    /* RECORDS: raw, a part with the same rows (references), a filtered part (a selection) */
    lk_msg_records m;
    memset(&m, 0, sizeof m);
    m.batch_id = 3;
    m.n_parts = 3;
    lk_batch *raw = rows(11), *same = rows(11), *some = rows(0);
    uint8_t keep[11];
    uint32_t sel[11], n = 0;
    for (uint32_t r = 0; r < 11; r++)
        if ((keep[r] = r % 3 != 0)) sel[n++] = r;
    int cols[5] = {0, 1, -1, 3, 4}; /* d sent whole, as a computed column is */
    for (int k = 0; k < 5; k++)
        lk_col_append_sel(lk_batch_col(some, k), lk_batch_col_const(raw, k), sel, n);
    lk_batch_set_nrows(some, n);
    const char *names[3] = {"raw_events", "processed_events", "d"};
    lk_batch *parts[3] = {raw, same, some};
    for (int i = 0; i < 3; i++) {
        snprintf(m.parts[i].table, sizeof m.parts[i].table, "%s", names[i]);
        m.parts[i].batch = parts[i];
    }
    m.parts[2].keep = keep;
    m.parts[2].cols = cols;
    m.parts[2].from = 0;
    lk_buf_reset(&b);
    lk_msg_records_encode(&m, &b);
    put(dir, "records", &b);

    /* RECORDS of version 2 (tests/unit/lk_msg_v2.h) */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    const int64_t xv[2] = {1, 2};
    lk_msg_v2_records(&sb, 3, xv, 2);
    lk_buf_reset(&b);
    lk_buf_append(&b, sb.data, sb.size);
    put(dir, "records-v2", &b);
    msgpack_sbuffer_destroy(&sb);

    lk_msg_files f;
    memset(&f, 0, sizeof f);
    f.batch_id = 3;
    f.kind = LK_FILES_CLOSE;
    f.session = 77;
    lk_msg_file *e = lk_msg_files_add(&f);
    snprintf(e->table, sizeof e->table, "raw_events");
    snprintf(e->path, sizeof e->path, "part-0.parquet");
    e->size = 1000;
    e->rows = 11;
    e->stats_json = strdup("{\"numRecords\":11}");
    e->partition_values_json = strdup("{\"d\":\"2026-01-01\"}");
    lk_msg_files_add_chunk(&f, 2);
    m.n_parts = 1;
    lk_buf p = LK_BUF_INIT;
    lk_msg_records_encode(&m, &p);
    f.partial = p.data;
    f.partial_len = p.len;
    lk_buf_reset(&b);
    lk_msg_files_encode(&f, &b);
    put(dir, "files", &b);
    f.partial = NULL;
    lk_msg_files_clear(&f);
    lk_buf_free(&p);

    lk_msg_event ev;
    lk_msg_event_init(&ev, "committed");
    lk_msg_event_set_int(&ev, "batch", 3);
    lk_msg_event_set_str(&ev, "role", "committer");
    lk_buf_reset(&b);
    lk_msg_event_encode(&ev, &b);
    put(dir, "event", &b);

    lk_msg_progress pr;
    memset(&pr, 0, sizeof pr);
    snprintf(pr.role, sizeof pr.role, "writer");
    pr.phase = 3;
    pr.batch_id = 3;
    pr.n_sources = 1;
    snprintf(pr.sources[0].path, sizeof pr.sources[0].path, "/in/a.jsonl");
    pr.n_tables = 1;
    snprintf(pr.tables[0].table, sizeof pr.tables[0].table, "raw_events");
    lk_buf_reset(&b);
    lk_msg_progress_encode(&pr, &b);
    put(dir, "progress", &b);

    for (int i = 0; i < 3; i++)
        m.parts[i].batch = NULL;
    lk_batch_destroy(&raw);
    lk_batch_destroy(&same);
    lk_batch_destroy(&some);
    lk_buf_free(&b);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    for (int i = 1; i + 1 < *argc; i++)
        if (!strcmp((*argv)[i], "--write-seeds")) {
            write_seeds((*argv)[i + 1]);
            exit(0);
        }
    return 0;
}
