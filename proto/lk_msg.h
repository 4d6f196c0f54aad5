/*
 * lk_msg — every message between lakesupd processes, defined once.
 *
 * Wire format: msgpack (msgpack-c), each message an array
 * [type, version, body] where body is the type's array below. Decoders
 * check type and version and reject anything malformed with LK_EFORMAT
 * (never trust a peer's lengths). Record batches are columnar: per column
 * its validity bitmap, values/offsets as raw little-endian bins and its
 * children, not a map per row.
 *
 *   CHUNK    ingest → transform    raw lines of one file range of a batch
 *   RECORDS  transform → writer    one columnar batch per table for a chunk;
 *            a column equal to the same-named column of an earlier part
 *            is sent as [part, column] and copied from it on decode; a
 *            part whose rows are some of an earlier part's (a filter) says
 *            which, and its columns taken unchanged from that part are sent
 *            as [part, column, 1]: gathered from it on decode
 *   FILES    writer → committer    the Parquet files written for a chunk
 *   EVENT    anything else: small named messages with key/value fields
 *            (ready, heartbeat, sealed, committed, replay, stop, done, ...)
 *   PROGRESS every role → monitor: what it did for one batch (a phase:
 *            plan, read, parse, write, commit, with its duration and
 *            counts); the monitor assembles the batch's progress record
 */
#ifndef LK_MSG_H
#define LK_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "lk_batch.h"
#include "lk_buf.h"
#include "lk_error.h"

/* 2: RECORDS columns may be [part, column] references, CHUNK may carry an 11th item (the CSV
   header). 3: a RECORDS part carries its rows' selection of an earlier part, and columns may be
   [part, column, 1] (that part's column at those rows). Peers of different versions refuse each
   other's messages by name instead of misreading them (a worker restarted from a newer binary
   beside older ones). */
#define LK_PROTO_VERSION 3
/* The oldest RECORDS layout this build reads: event_metrics' window state in state.db is a
   RECORDS message, and a restart on a newer build must read what the older one stored (a live
   RECORDS of that version, from an older remote transform, reads the same). Every other message
   must be of this version. */
#define LK_PROTO_RECORDS_OLDEST 2
#define LK_MSG_MAX_PARTS 16 /* raw, processed, up to 8 derived tables, quarantine */
#define LK_MSG_MAX_FILES 4096 /* data files one chunk may produce (partitions) */
#define LK_MSG_MAX_KV 48

typedef enum lk_msg_type {
    LK_MSG_CHUNK = 1,
    LK_MSG_RECORDS = 2,
    LK_MSG_FILES = 3,
    LK_MSG_EVENT = 4,
    LK_MSG_PROGRESS = 5,
} lk_msg_type;

/* Reads the envelope: type and version (LK_EFORMAT if not a message or a
   version this build does not speak). */
int lk_msg_peek(const void *data, size_t len, lk_msg_type *type, lk_error *err);

/* A chunk index carries its batch's generation in the high bits: a batch
   replayed after one of its files changed or vanished is re-planned as the
   next generation, and the committer keeps only the chunks of the latest
   one, so chunks of an earlier attempt can never stand in for new ones. */
#define LK_CHUNK_GEN_SHIFT 20
#define LK_CHUNK_K_MASK ((1 << LK_CHUNK_GEN_SHIFT) - 1)
#define LK_CHUNK_IDX(gen, k) ((int32_t)(((gen) << LK_CHUNK_GEN_SHIFT) | (k)))

/* ---- CHUNK: whole lines [offset, offset+len) of one source file ---- */
#define LK_MSG_MAX_REF_BYTES (1ULL << 40) /* a by-reference length past this is malformed */
typedef struct lk_msg_chunk {
    int64_t batch_id;
    int32_t chunk_idx;
    int32_t schema_version; /* of raw_events in state.db */
    int64_t file_id;
    char file_path[1024];
    int64_t file_size;
    int64_t file_mtime_us;
    int64_t offset;     /* byte offset of data in the file */
    int64_t first_line; /* 1-based line number of the first line of data */
    const char *data;   /* points into the message (zero-copy on decode) */
    size_t len;
    /* csv with header: the file's header record (raw bytes, no line end) on
       every chunk of the file, so that a transform maps columns by name
       whichever chunk it gets; header_len 0 otherwise. Zero-copy like data. */
    const char *header;
    size_t header_len;
    /* By reference (to a transform of this host, one that said so: lk_flow's "l"): the
       message carries len and the digest of the bytes (lk_source_digest) instead of them,
       and the sender's pid and the descriptor it keeps open on the file (ref_fd -1: none);
       data is NULL after decode and the receiver reads [offset, offset + len) itself
       (lk_source_read_range). Encoded so when by_ref is set. */
    int by_ref;
    uint64_t digest;
    int32_t ref_pid, ref_fd;
    /* The sender's own mark, not on the wire: data is the file's bytes at offset (no
       codec), so the chunk may go by reference. */
    int file_bytes;
} lk_msg_chunk;

int lk_msg_chunk_encode(const lk_msg_chunk *m, lk_buf *out);
/* m->data points into data (zero-copy): valid as long as data is. */
int lk_msg_chunk_decode(const void *data, size_t len, lk_msg_chunk *m, lk_error *err);

/* ---- RECORDS: the columnar batches of one chunk, one per table ---- */

/* The deepest column type a RECORDS message carries (lk_schema_depth): each type level is
   two msgpack levels and msgpack-c unpacks at most 32 (test_msg holds the number). The
   configuration refuses deeper schemas; inference never makes one (LK_INFER_MAX_NESTING). */
#define LK_MSG_MAX_SCHEMA_DEPTH 14
typedef struct lk_msg_part {
    char table[64];
    lk_batch *batch; /* owned by the message struct */
    /* Encoding only (lk_tables_lineage gives them): when keep is set, this part's rows are the
       rows r of the earlier part `from` with keep[r] != 0, in order, and its column c holds that
       part's column cols[c] at those rows where cols[c] >= 0. Those columns travel as
       [from, cols[c], 1]; the decoder gathers them. Ignored when the counts disagree. */
    const uint8_t *keep;
    const int *cols;
    int from;
    /* the columns cols names are empty in batch (lk_tables_deferred): they must travel as
       references */
    int deferred;
} lk_msg_part;

typedef struct lk_msg_records {
    int64_t batch_id;
    int32_t chunk_idx;
    int64_t rows_in;      /* non-empty lines parsed */
    int64_t corrupt_rows; /* lines kept in _corrupt_record */
    int64_t rescued_rows; /* rows with a _rescued_data value */
    int n_parts;
    lk_msg_part parts[LK_MSG_MAX_PARTS];
    uint32_t *sel; /* decoding scratch: a part's selected rows */
    uint32_t sel_cap;
} lk_msg_records;

/* Encodes m (batches are only read). Each part carries its schema (Spark
   JSON) so that the message is self-describing. */
int lk_msg_records_encode(const lk_msg_records *m, lk_buf *out);
/* Decodes into m. Batches already in m->parts whose schema equals the
   incoming one are reset and reused; others are replaced. */
int lk_msg_records_decode(const void *data, size_t len, lk_msg_records *m, lk_error *err);
/* Frees the batches and the scratch; m is left empty. */
void lk_msg_records_clear(lk_msg_records *m);

/* ---- FILES: a writer's reports to the committer ----
   A writer fills one file per table (per partition value) of a batch with the
   rows of many chunks, so a chunk is reported twice (docs/architecture.md,
   "A batch, step by step"):
   - HOLD: chunk_idx (generation and index) is in this writer session's open
     files of the batch; rows_in/corrupt/rescued count it; no files;
   - CLOSE: the committer asked for the batch (a "flush" event): the files the
     session wrote for batch_id at the generation of chunk_idx (index 0), and
     in chunks[] the chunk indices (without generation) whose rows they hold.
   CHUNK (0) is the older form: the complete files of one chunk. */
enum { LK_FILES_CHUNK = 0, LK_FILES_HOLD = 1, LK_FILES_CLOSE = 2 };
typedef struct lk_msg_file {
    char table[64];
    char path[512]; /* relative to the table root */
    int64_t size;
    int64_t rows;
    int64_t mtime_ms;
    char *stats_json; /* Delta stats, malloc'ed; freed by lk_msg_files_clear */
    char *partition_values_json; /* {"col":"value",...} for a partitioned table, else NULL;
                                    malloc'ed, freed by lk_msg_files_clear */
} lk_msg_file;

typedef struct lk_msg_files {
    int64_t batch_id;
    int32_t chunk_idx;
    int64_t rows_in, corrupt_rows, rescued_rows;
    int n_files, cap_files;
    lk_msg_file *files; /* malloc'ed; freed by lk_msg_files_clear */
    int32_t kind;       /* LK_FILES_* */
    int64_t session;    /* the writer process's random id (HOLD, CLOSE) */
    int n_chunks;       /* CLOSE: chunks[] (malloc'ed; freed by lk_msg_files_clear) */
    int32_t *chunks;
    /* event_metrics' partial window aggregates of the chunk: a RECORDS
       message of one part (lk_windows' partial batch), or NULL; malloc'ed,
       freed by lk_msg_files_clear */
    void *partial;
    size_t partial_len;
    /* transform.dedupe's key list of the chunk: a RECORDS message of one
       part (pipeline/lk_dedupe), or NULL; malloc'ed, freed by
       lk_msg_files_clear */
    void *dedupe;
    size_t dedupe_len;
} lk_msg_files;

/* Appends a zeroed file entry (NULL beyond LK_MSG_MAX_FILES). */
lk_msg_file *lk_msg_files_add(lk_msg_files *m);
/* Sets the number of entries to n (new ones zeroed); 0 or LK_ELIMIT. */
int lk_msg_files_resize(lk_msg_files *m, int n);
/* Appends k to chunks[] (CLOSE). */
void lk_msg_files_add_chunk(lk_msg_files *m, int32_t k);

int lk_msg_files_encode(const lk_msg_files *m, lk_buf *out);
int lk_msg_files_decode(const void *data, size_t len, lk_msg_files *m, lk_error *err);
/* Frees the entries (their strings and the array); m can be reused. */
void lk_msg_files_clear(lk_msg_files *m);

/* ---- EVENT: a name and up to LK_MSG_MAX_KV key/value fields ---- */
typedef struct lk_msg_kv {
    char key[32];
    int is_str;
    int64_t i;
    char s[256];
} lk_msg_kv;

typedef struct lk_msg_event {
    char name[32];
    int n;
    lk_msg_kv kv[LK_MSG_MAX_KV];
} lk_msg_event;

void lk_msg_event_init(lk_msg_event *e, const char *name);
/* Setting an existing key replaces it; past LK_MSG_MAX_KV keys are dropped. */
void lk_msg_event_set_int(lk_msg_event *e, const char *key, int64_t v);
void lk_msg_event_set_str(lk_msg_event *e, const char *key, const char *v);
int64_t lk_msg_event_get_int(const lk_msg_event *e, const char *key, int64_t dflt);
/* NULL if absent or not a string. */
const char *lk_msg_event_get_str(const lk_msg_event *e, const char *key);
int lk_msg_event_encode(const lk_msg_event *e, lk_buf *out);
int lk_msg_event_decode(const void *data, size_t len, lk_msg_event *e, lk_error *err);

/* ---- PROGRESS: one role's share of one batch (typed; one schema for every role) ---- */
typedef enum lk_phase {
    LK_PHASE_PLAN = 0,   /* ingest: deciding the batch's ranges and recording them */
    LK_PHASE_READ = 1,   /* ingest: reading the ranges into chunks and sending them */
    LK_PHASE_PARSE = 2,  /* transform: one chunk parsed into both tables' batches */
    LK_PHASE_WRITE = 3,  /* writer: one chunk's Parquet files */
    LK_PHASE_COMMIT = 4, /* committer: the batch's Delta commits and state.db */
    LK_PHASE_N = 5,
} lk_phase;

#define LK_MSG_MAX_SOURCES 32 /* ranges listed in a PLAN report (the rest are counted) */

/* A source range of a PLAN report: bytes of a file, or offsets of a Kafka
   partition ("kafka://topic/partition") with latest = its high watermark
   when the batch was planned (file: its size). */
typedef struct lk_msg_source {
    char path[512];
    int64_t start, end, latest;
    int64_t input_time_us; /* file: mtime (the file's close); Kafka: 0 */
} lk_msg_source;

typedef struct lk_msg_table_out {
    char table[64];
    int64_t rows, version;
} lk_msg_table_out;

typedef struct lk_msg_progress {
    char role[16];
    int32_t index;
    int32_t phase;        /* lk_phase */
    int64_t batch_id;
    int64_t ts_us;        /* wall clock when the phase ended */
    int64_t duration_us;
    int64_t rows;         /* parse: rows parsed; write: rows written; commit: input rows */
    int64_t bytes;        /* read: bytes sent; write: bytes of data files */
    int64_t corrupt, rescued; /* parse, commit */
    int64_t files;        /* plan: ranges in the batch; write: data files */
    /* parse: event time (the `ts` column) of the chunk's rows; n 0 when none */
    int64_t event_min_us, event_max_us, event_n;
    double event_sum_s;
    int n_sources;        /* plan */
    lk_msg_source sources[LK_MSG_MAX_SOURCES];
    int n_tables;         /* commit: rows and version per table */
    lk_msg_table_out tables[LK_MSG_MAX_PARTS];
    /* commit, with event_metrics: rows turned away (late for the watermark,
       no event time) and the watermark after the batch (0 = none) */
    int64_t late, no_event_time, watermark_us;
    int64_t duplicates; /* commit: rows transform.dedupe dropped from the batch */
} lk_msg_progress;

/* Name of a phase ("plan", "read", "parse", "write", "commit"), or "?". */
const char *lk_phase_name(int phase);
int lk_msg_progress_encode(const lk_msg_progress *m, lk_buf *out);
int lk_msg_progress_decode(const void *data, size_t len, lk_msg_progress *m, lk_error *err);

#endif
