/*
 * lk_source_reader — reads one source file as a stream of whole records.
 *
 * The file is decompressed by its extension (.gz with concatenated members,
 * .zst, .bz2; anything else is read as is) and cut into chunks of about
 * chunk_bytes that always end at a record boundary: a newline for json and
 * text, a newline outside quotes for csv (RFC 4180: a quoted field may hold
 * newlines), the whole file for json with multi_line. Chunks are identified
 * by their offset in the DECOMPRESSED stream, so a replay that decompresses
 * again from the start cuts exactly the same chunks (deterministic).
 *
 * A UTF-8 BOM at the start is skipped (the first chunk starts at offset 3).
 * A record longer than max_record_size is never held whole: its first
 * max_record_size bytes are sent as a chunk of their own, without an end of
 * record (the parsers make it a _corrupt_record), and the rest is skipped up
 * to the next record boundary; the reader logs its offset and length.
 * A truncated or corrupt compressed stream: every byte decompressed before
 * the damage is still returned as chunks, then next() fails with an error
 * naming the file and the decompressed offset.
 */
#ifndef LK_SOURCE_READER_H
#define LK_SOURCE_READER_H

#include <stddef.h>
#include <stdint.h>

#include "lk_buf.h"
#include "lk_error.h"

typedef enum lk_source_format {
    LK_SOURCE_JSON,
    LK_SOURCE_CSV,
    LK_SOURCE_TEXT,
} lk_source_format;

typedef enum lk_source_codec {
    LK_CODEC_NONE,
    LK_CODEC_GZIP,
    LK_CODEC_ZSTD,
    LK_CODEC_BZIP2,
} lk_source_codec;

typedef struct lk_source_opts {
    lk_source_format format;
    int multi_line;    /* json: the whole file is one chunk */
    int sep;           /* csv: the separator byte */
    int quote, escape; /* csv: the bytes, or -1 for none */
    int comment;       /* csv: comment byte at a record start, or -1 */
    int header;        /* csv: the first chunk holds the header record */
    size_t chunk_bytes;
    size_t max_record_size;
    int quiet; /* no log line for oversized records (schema sampling) */
} lk_source_opts;

typedef struct lk_source_chunk {
    const char *data; /* valid until the next call */
    size_t len;
    int64_t offset;     /* decompressed offset of data[0] */
    int64_t first_line; /* 1-based line number of data[0] */
    int file_bytes;     /* data is the file's own bytes [offset, offset + len) (no codec): a
                           reader of this host can read them itself (lk_source_read_range) */
} lk_source_chunk;

typedef struct lk_source_reader lk_source_reader;

/* The codec of a file name by its extension. */
lk_source_codec lk_source_codec_of(const char *name);
/* 1 if a file name is input of format: json → .json .jsonl .ndjson,
   csv → .csv .tsv, text → .txt .log .text, each optionally followed by
   .gz .zst .bz2; hidden files (".x") never. */
int lk_source_format_accepts(const char *name, lk_source_format format);

/* Opens path; [start, end) is the planned byte range of the FILE (a
   compressed file is always read whole: start must be 0). */
lk_source_reader *lk_source_reader_open(const char *path, int64_t start, int64_t end,
                                        const lk_source_opts *o, lk_error *err);
/* 1 and the next chunk, 0 at the end, or a negative error (a damaged
   stream, a read error: err names the file and offset; the chunks returned
   before are good). */
int lk_source_reader_next(lk_source_reader *r, lk_source_chunk *c, lk_error *err);
/* Records longer than max_record_size met so far. */
int64_t lk_source_reader_oversized(const lk_source_reader *r);
void lk_source_reader_destroy(lk_source_reader **r);

/* The reader's file descriptor (ingest keeps a duplicate open for chunks sent by reference). */
int lk_source_reader_fd(const lk_source_reader *r);

/* A chunk sent by reference (ingest → a transform of the same host, docs/decisions.md "Chunks by
   reference"): the digest of its bytes (XXH3, 64 bits) and the reading of them by the
   receiver, which checks they are the bytes the sender read. lk_source_read_range puts
   [offset, offset + len) into out (its content replaced), read through /proc/<pid>/fd/<fd>
   when pid > 0 and fd >= 0 (the file the sender holds open: the bytes it read even when the
   file was since renamed, replaced or removed), else (or when that cannot be opened) from
   path; a regular file only. 0, or a negative error naming the file and the range (-ENOENT
   and the like: it cannot be read here; -ESTALE: it is shorter, not a regular file, or its
   bytes are not the ones digested: the file changed in place). */
uint64_t lk_source_digest(const void *data, size_t len);
int lk_source_read_range(const char *path, int pid, int fd, int64_t offset, size_t len,
                         uint64_t digest, lk_buf *out, lk_error *err);

#endif
