/*
 * lk_file_source — ingest's source of files in source_path (lk_source).
 *
 * poll runs discovery (lk_discovery: inotify and backfill listings; each
 * file recorded once in state.db) and clean_source (lk_clean_source). A
 * plan takes pending files, oldest first, up to max_files_per_trigger and
 * max_bytes_per_trigger (soft: the first file always goes), each whole;
 * the first plan infers the schema from the heads of the pending files
 * (JSON lines, multi_line documents, CSV with header types, text). read
 * decompresses and cuts each file into record-aligned chunks
 * (formats/lk_source_reader) and, before a chunk goes out, evolves the
 * schema by schema_evolution_mode: new JSON keys of the chunk, or the CSV
 * header names of the file. A file that vanished or shrank since it was
 * planned is logged and its bytes are missing from the batch; a damaged
 * compressed stream keeps what was read before the damage.
 *
 * include_existing_files: false on the very first start records the files
 * of the first listing as skipped (state.db remembers that it was done).
 */
#ifndef LK_FILE_SOURCE_H
#define LK_FILE_SOURCE_H

#include "lk_source.h"

lk_source *lk_file_source_new(const lk_source_env *env, lk_error *err);

#endif
