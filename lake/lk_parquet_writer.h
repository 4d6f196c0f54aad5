/*
 * lk_parquet_writer — encodes lk_batch record batches into Parquet files.
 *
 * Hand-written (no packaged C library writes Parquet): Thrift compact
 * footer, data page V1, PLAIN encoding (RLE_DICTIONARY where it pays),
 * RLE/bit-packed definition and repetition levels, codecs ZSTD (default),
 * SNAPPY, GZIP, UNCOMPRESSED, and min/max/null_count statistics on every
 * leaf column chunk. Data pages are cut by page_bytes (on record
 * boundaries), row groups by row_group_bytes, files by target_file_bytes
 * (lk_pq_writer_full). One writer is reused for
 * many files: open → write* → close, again and again, without per-file or
 * per-row allocation once warm.
 *
 * Type mapping (lk_type → Parquet physical / logical):
 *   boolean BOOLEAN; byte INT32/INT(8); short INT32/INT(16); integer INT32;
 *   long INT64; float FLOAT; double DOUBLE; string BYTE_ARRAY/STRING;
 *   binary BYTE_ARRAY; date INT32/DATE; timestamp INT64/TIMESTAMP(MICROS,
 *   UTC); timestamp_ntz INT64/TIMESTAMP(MICROS, not UTC); decimal(p<=18)
 *   INT64/DECIMAL, decimal(p>18) FIXED_LEN_BYTE_ARRAY(16)/DECIMAL;
 *   struct group; array 3-level LIST; map 3-level MAP.
 */
#ifndef LK_PARQUET_WRITER_H
#define LK_PARQUET_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "lk_batch.h"
#include "lk_error.h"
#include "lk_schema.h"

/* Values are Parquet's CompressionCodec thrift enum. */
typedef enum lk_pq_codec {
    LK_PQ_UNCOMPRESSED = 0,
    LK_PQ_SNAPPY = 1,
    LK_PQ_GZIP = 2,
    LK_PQ_ZSTD = 6,
} lk_pq_codec;

typedef struct lk_pq_options {
    lk_pq_codec codec;       /* default ZSTD */
    int zstd_level;          /* default 3 */
    size_t row_group_bytes;  /* default 128 MiB (uncompressed estimate) */
    size_t page_bytes;       /* default 1 MiB */
    int dictionary;          /* default 1: RLE_DICTIONARY with fallback to PLAIN */
    size_t dictionary_bytes; /* default 1 MiB: above it the column falls back to PLAIN */
    int fsync;               /* default 1: fsync the file on close */
    const char *created_by;  /* default "lakesupd version <v>" */
    /* Added later; lk_pq_options_default sets them. */
    size_t target_file_bytes; /* default 128 MiB: lk_pq_writer_full() turns true past it; 0 = never */
    size_t stats_max_bytes;   /* default 64: longer string/binary bounds in the footer are truncated
                                 (marked inexact); lk_pq_file_info keeps the exact ones */
    unsigned encodings;       /* default LK_PQ_ENC_DEFAULT: the encodings a column chunk that is not
                                 dictionary-encoded may use instead of PLAIN; 0 = PLAIN only */
    int zstd_adaptive;        /* default 1: a column's pages may use zstd_level - 1 or - 2 where a
                                 probe finds its output no larger (lk_parquet_writer.c, zstd_page) */
} lk_pq_options;

enum {
    LK_PQ_ENC_DELTA_INT = 1,     /* DELTA_BINARY_PACKED for INT32/INT64 */
    LK_PQ_ENC_DELTA_STRINGS = 2, /* DELTA_BYTE_ARRAY for strings sharing prefixes */
    LK_PQ_ENC_BSS = 4,           /* BYTE_STREAM_SPLIT for FLOAT/DOUBLE */
    LK_PQ_ENC_ALL = 7,
    /* what pays on the benchmark's events (docs/parquet.md, "Encodings"): BYTE_STREAM_SPLIT made
       the amount column 47 % larger than PLAIN under ZSTD */
    LK_PQ_ENC_DEFAULT = LK_PQ_ENC_DELTA_INT | LK_PQ_ENC_DELTA_STRINGS,
};

void lk_pq_options_default(lk_pq_options *o);
/* Parses "zstd", "snappy", "gzip", "uncompressed"/"none"; 0 or LK_ECONFIG. */
int lk_pq_codec_parse(const char *s, lk_pq_codec *out);
const char *lk_pq_codec_name(lk_pq_codec c);

/* A typed value for statistics. For strings/binary, p/n point into memory
   owned by the writer (valid until the next open or destroy). */
typedef struct lk_value {
    int is_set;
    int64_t i;     /* boolean, integers, date, timestamps, decimal<=18 (unscaled) */
    double d;      /* float, double */
    const char *p; /* string, binary, decimal>18 (16 bytes big-endian) */
    size_t n;
} lk_value;

/* Statistics of one leaf column over the whole file. */
typedef struct lk_pq_leaf_stats {
    const char *path;      /* dotted path of top-level/struct names: "device.os" */
    const lk_field *field; /* the leaf's field (owned by the writer's schema) */
    int in_list;           /* 1 if the leaf is inside an array or map (Delta keeps no stats) */
    int64_t null_count;
    lk_value min, max; /* is_set = 0 when every value was null (or NaN only) */
} lk_pq_leaf_stats;

typedef struct lk_pq_file_info {
    int64_t num_rows;
    int64_t file_size;
    int n_leaves;
    const lk_pq_leaf_stats *leaves; /* owned by the writer, valid until the next open */
} lk_pq_file_info;

typedef struct lk_pq_writer lk_pq_writer;

/* A writer for files of schema (cloned). opt NULL = defaults. */
lk_pq_writer *lk_pq_writer_new(const lk_schema *schema, const lk_pq_options *opt);
void lk_pq_writer_destroy(lk_pq_writer **w);

/* Starts a new file at path; fails if it exists (O_EXCL). */
int lk_pq_writer_open(lk_pq_writer *w, const char *path, lk_error *err);
/* Appends the rows of b (its schema must equal the writer's). */
int lk_pq_writer_write(lk_pq_writer *w, const lk_batch *b, lk_error *err);
/* Bytes written plus bytes buffered uncompressed for the current file. */
size_t lk_pq_writer_bytes(const lk_pq_writer *w);
/* Bytes of the buffered (not yet written) row group, uncompressed. */
size_t lk_pq_writer_buffered(const lk_pq_writer *w);
/* Writes the buffered rows as a row group now (nothing when none): a caller
   that fills several writers with the same rows cuts their row groups
   together, so that lk_pq_writer_reuse_from finds equal column chunks. */
int lk_pq_writer_flush(lk_pq_writer *w, lk_error *err);
/* Bytes of the current file already written (complete row groups), 0 when
   no file is open. */
int64_t lk_pq_writer_file_bytes(const lk_pq_writer *w);
/* Estimated size of the current file if closed now: written bytes, the
   buffered row group scaled by the compression ratio this writer has seen
   so far (uncompressed before its first row group), and the footer. */
size_t lk_pq_writer_estimated_size(const lk_pq_writer *w);
/* 1 when the estimated size has reached target_file_bytes: the caller
   closes this file and opens the next one (write() also flushes a row group
   early when it is the one that crosses the target, so the size is known):
       write(batch); if (lk_pq_writer_full(w)) { close(); open(next); } */
int lk_pq_writer_full(const lk_pq_writer *w);
/* Column chunk reuse between two writers of the same rows (raw_events and
   processed_events share most columns): while src is set, a column chunk of
   w whose definition/repetition levels and values are byte-for-byte those
   of the last chunk src flushed for the leaf of the same path and type gets
   src's encoded pages (dictionary, data pages, page statistics) instead of
   being encoded and compressed again. The file is the one w would have
   written. src keeps its last chunk per leaf from then on (about one more
   chunk of buffers). Both writers need the same options; src must stay
   alive while set: NULL unsets it. */
void lk_pq_writer_reuse_from(lk_pq_writer *w, lk_pq_writer *src);
/* Lets go of the last chunk a source keeps for reuse, once every writer reusing from it has cut
   the same row group: its buffers become the source's next row group's (still empty right
   after the cut), else they are freed. */
void lk_pq_writer_release_kept(lk_pq_writer *w);
/* Writes what w holds of flushed row groups to its file and gives back the memory of its
   buffers (the row group's values and levels, the page and dictionary scratch), when no row
   is buffered (lk_pq_writer_flush first): for a file that stays open while nothing is
   written to it for a while (a batch waiting for its commit). The next write grows the
   buffers again. */
int lk_pq_writer_trim(lk_pq_writer *w, lk_error *err);
/* Column chunks w took from a source since it was created. */
int64_t lk_pq_writer_reused_chunks(const lk_pq_writer *w);
/* Column chunks that took the source's dictionary (some of its rows, in order) since w was
   created. */
int64_t lk_pq_writer_reused_dictionaries(const lk_pq_writer *w);
/* Flushes, writes the footer, fsyncs (per options) and closes the file. */
int lk_pq_writer_close(lk_pq_writer *w, lk_pq_file_info *info, lk_error *err);
/* Closes and removes a partly written file (after an error). */
void lk_pq_writer_abort(lk_pq_writer *w);

#endif
