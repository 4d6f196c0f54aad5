/*
 * lk_source_cfg — what the source.* keys of the configuration mean to the
 * readers of formats/: the one place that turns their text into the typed
 * options of lk_source_reader (chunking, decompression), lk_parser (JSON,
 * CSV, text, Kafka records) and into discovery's file filter. Every
 * process that reads the source (ingest, the transform, fsck) asks here,
 * so they agree.
 */
#ifndef LK_SOURCE_CFG_H
#define LK_SOURCE_CFG_H

#include <stdint.h>

#include "lk_buf.h"
#include "lk_config.h"
#include "lk_parser.h"
#include "lk_schema.h"
#include "lk_source_reader.h"

/* Where the source's records come from. */
typedef enum lk_source_kind {
    LK_SOURCE_FILES = 0, /* files in source_path */
    LK_SOURCE_KAFKA,     /* topics of a Kafka cluster (source.format: kafka) */
} lk_source_kind;

lk_source_kind lk_source_cfg_kind(const lk_config *cfg);
/* The format of the records: json, csv or text (kafka: value_format json). */
lk_source_format lk_source_cfg_format(const lk_config *cfg);

/* Options of the file reader (chunk_bytes, max_record_size, CSV quoting). */
void lk_source_cfg_reader(const lk_config *cfg, lk_source_opts *o);
/* Options of the parser (format, mode, CSV dialect, multi_line, ...). */
void lk_source_cfg_parser(const lk_config *cfg, lk_parser_options *o);

/* source.schema_evolution_mode: what a key the schema lacks does. */
typedef enum lk_evolve_mode {
    LK_EVOLVE_ADD_NEW_COLUMNS = 0,
    LK_EVOLVE_RESCUE,
    LK_EVOLVE_FAIL_ON_NEW_COLUMNS,
    LK_EVOLVE_NONE,
} lk_evolve_mode;

/* The mode in force: the key's, else rescue under a user schema (`schema:`) and
   add_new_columns without one. */
lk_evolve_mode lk_source_cfg_evolve_mode(const lk_config *cfg);

/* 1 if new keys of the input become columns (schema_evolution_mode add_new_columns, the
   default without a user schema) or stop the stream (fail_on_new_columns), for records that a
   key scan can see: JSON lines of files (not multi_line documents, not CSV, whose header is its
   own, not Kafka), when no transform of another host may join (workers.remote.bind unset: such
   a transform cannot ask this host's ingest for a batch). Then the transforms note keys no
   column has in a batch read the first time (generation 0), and ask for it again with its keys
   scanned by ingest (docs/decisions.md, "New keys found by the transforms"); ingest scans a
   batch's keys only on such a reading. Otherwise ingest scans every batch's keys. */
int lk_source_cfg_scans_keys(const lk_config *cfg);

/* The schema_hints a stored raw_events schema does not take: each hint naming one of raw's data
   columns (case-insensitively) with another type, since a column's type never changes (ingest
   adds only the hinted columns raw lacks: lk_evolve). One message per such hint ("schema_hints:
   column n is long in raw_events version 3; the hint's integer is not applied (...)"), each
   ending with a newline, appended to out; returns how many. The supervisor says them once at
   each start, before any worker runs. */
int lk_source_cfg_hints_not_applied(const lk_config *cfg, const lk_schema *raw, int version,
                                    lk_buf *out);

/* 1 if a file of this name is source input: not hidden, and
   path_glob_filter matches it, or else its extension is one of the
   format's (lk_source_format_accepts). Discovery and fsck --repair walk
   the same way. */
int lk_source_cfg_accepts(const lk_config *cfg, const char *name);
/* 1 if a subdirectory of this name is listed (not hidden, not "_..."). */
int lk_source_cfg_lists_dir(const char *name);
/* source.shard: 1 if the file at path (under source_path) is this
   instance's: the FNV-1a 64-bit hash of its path relative to source_path,
   modulo shard.count, is shard.index. Relative, so that hosts mounting a
   shared directory at different places agree; always 1 when count is 1. */
int lk_source_cfg_in_shard(const lk_config *cfg, const char *path);
/* The shard hash itself (FNV-1a 64 of rel), for tests and tools. */
uint64_t lk_source_cfg_shard_hash(const char *rel);

#endif
