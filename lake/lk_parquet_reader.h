/*
 * lk_parquet_reader — decodes Parquet files into lk_batch record batches.
 *
 * Reads what lk_parquet_writer writes and what Spark/Arrow write: data page
 * V1 and V2, PLAIN, RLE_DICTIONARY/PLAIN_DICTIONARY, RLE/bit-packed levels,
 * UNCOMPRESSED/SNAPPY/GZIP/ZSTD, nested struct/list/map (incl. legacy
 * layouts), INT96 and millis timestamps. Every length and offset read from
 * the file is bounds-checked: a corrupt or hostile file gives LK_EFORMAT
 * naming the file and offset, never a crash or an unbounded allocation.
 */
#ifndef LK_PARQUET_READER_H
#define LK_PARQUET_READER_H

#include <stdint.h>

#include "lk_batch.h"
#include "lk_error.h"
#include "lk_schema.h"

typedef struct lk_pq_reader lk_pq_reader;

int lk_pq_reader_open(const char *path, lk_pq_reader **out, lk_error *err);
/* The same over a file already in memory (data[0..size) must outlive the
   reader; it is not copied); name stands for the path in errors. */
int lk_pq_reader_open_mem(const void *data, size_t size, const char *name, lk_pq_reader **out,
                          lk_error *err);
void lk_pq_reader_destroy(lk_pq_reader **r);

/* The file's schema mapped to lk types (owned by the reader). */
const lk_schema *lk_pq_reader_schema(const lk_pq_reader *r);
int64_t lk_pq_reader_num_rows(const lk_pq_reader *r);
int lk_pq_reader_num_row_groups(const lk_pq_reader *r);
/* Rows of row group rg as the footer says (-1 if there is no such group):
   decoding allocates in proportion to it (a constant column of millions of
   rows may take a few bytes on disk), so a caller reading untrusted files
   can refuse a row group before reading it. */
int64_t lk_pq_reader_row_group_rows(const lk_pq_reader *r, int rg);
/* The footer's created_by, or "". */
const char *lk_pq_reader_created_by(const lk_pq_reader *r);

/*
 * Decodes row group rg. columns: indices of top-level fields to read (in
 * that order), or NULL for all; ncols their count. *out is created on first
 * use (schema = the projected fields) and reused (reset) on later calls with
 * the same projection; the caller destroys it.
 */
int lk_pq_reader_read_row_group(lk_pq_reader *r, int rg, const int *columns, int ncols,
                                lk_batch **out, lk_error *err);

/* Footer facts about one column chunk (leaf in Parquet column order, see
   lk_pq_reader_num_leaves) of row group rg: for tests, tools and for
   taking file statistics without reading data. */
typedef struct lk_pq_chunk_meta {
    const char *path;   /* dotted path of the leaf (lk names) */
    int codec;          /* Parquet CompressionCodec (values of lk_pq_codec) */
    int64_t num_values, compressed_bytes, uncompressed_bytes;
    int has_stats;
    int64_t null_count;         /* -1 when absent */
    const uint8_t *min, *max;   /* PLAIN-encoded bounds (into the file), NULL when absent */
    size_t min_len, max_len;
    int min_exact, max_exact;   /* 1 exact, 0 truncated bound, -1 not said */
    int data_pages;             /* data pages (V1 and V2) */
    int dictionary_page;        /* 1 when the chunk has a dictionary page */
    unsigned page_encodings;    /* 1 << Parquet Encoding of each data page's values */
} lk_pq_chunk_meta;

int lk_pq_reader_num_leaves(const lk_pq_reader *r);
/* Number of the footer's ColumnOrders that are TypeDefinedOrder. */
int lk_pq_reader_type_defined_orders(const lk_pq_reader *r);
/* Fills m (pointers valid while r lives); walks the chunk's page headers. */
int lk_pq_reader_chunk_meta(lk_pq_reader *r, int rg, int leaf, lk_pq_chunk_meta *m, lk_error *err);

#endif
