/*
 * lk_evolve — schema evolution on the ingest side (schema_evolution_mode).
 *
 * Ingest holds every chunk's bytes before it sends them; lk_evolve scans
 * them for top-level keys (and keys of known struct columns, and of the
 * struct elements of known array columns) that the current raw_events
 * schema lacks. The scan only tokenises keys; a line is
 * fully inferred only when it has something new. What happens then
 * depends on the mode:
 *   add_new_columns  the new columns (inferred, hinted types winning) are
 *                    appended, stored in state.db as the next raw_events
 *                    version BEFORE the chunk goes out, and the chunk is
 *                    tagged with it; the committer then commits metaData.
 *   fail_on_new_columns  an LK_EFORMAT error naming file, line and column.
 *   rescue / none    nothing is scanned: the schema never changes (the
 *                    transform rescues or drops unknown keys).
 * Replays re-read the same bytes and the schema only grows, so the latest
 * version always holds what an old batch needs. A key equal to a column
 * but for case is not new (the transform rescues it), and a new key is
 * never added twice in different case (Delta columns are case-insensitive).
 */
#ifndef LK_EVOLVE_H
#define LK_EVOLVE_H

#include <stddef.h>
#include <stdint.h>

#include "lk_config.h"
#include "lk_error.h"
#include "lk_schema.h"
#include "lk_source_cfg.h" /* lk_evolve_mode */
#include "lk_state.h"

typedef struct lk_evolve lk_evolve;

/* add_new_columns stops adding past this many fields (nested ones included): later keys stay
   in _rescued_data, so a producer sending ever new keys cannot grow every batch without end. */
#define LK_EVOLVE_MAX_FIELDS 4096

/* cfg and st are borrowed and must outlive the object. */
lk_evolve *lk_evolve_new(const lk_config *cfg, lk_state *st);
void lk_evolve_destroy(lk_evolve **ev);

/* Loads the latest raw_events schema (version 0: none yet). When one
   exists and schema_hints / schema name columns it lacks, they are added
   as a new version (how a pipeline stopped by fail_on_new_columns
   resumes). */
int lk_evolve_load(lk_evolve *ev, int *version, lk_error *err);
/* 1 if there is a user schema (`schema:`): no inference needed. */
int lk_evolve_has_user_schema(const lk_evolve *ev);
/* Stores the first raw_events schema from inferred data columns (may be
   NULL): user schema or inferred, infer_column_types applied, hints
   overriding types and adding their columns. */
/* The transforms are then checked against it: a configuration error
   (LK_ECONFIG, the schema stays stored) when they do not fit. */
int lk_evolve_initial(lk_evolve *ev, const lk_schema *inferred, int *version, lk_error *err);
/* Scans a chunk of whole lines (file, line number of its first line);
   may store a new version into *version (see above). Returns 0 or an
   error (fail_on_new_columns, state.db). */
int lk_evolve_chunk(lk_evolve *ev, const char *data, size_t len, const char *file,
                    int64_t first_line, int *version, lk_error *err);
/* 1 if one of the first or last `lines` lines of the chunk has a key the schema lacks (the
   scan's rule): the sample ingest looks at in a batch's first reading, where the transforms note
   the rest (docs/decisions.md, "New keys found by the transforms"). A chunk whose sample has one
   is scanned whole (lk_evolve_chunk) before it goes out. 0 under rescue / none. */
int lk_evolve_sample(const lk_evolve *ev, const char *data, size_t len, int lines);
/* format csv with header: how many of the n header names (NUL-separated)
   the schema lacks (not equal to a column but for case, not reserved);
   the first goes to first. 0 under rescue / none (nothing is added). */
int lk_evolve_new_names(const lk_evolve *ev, const char *names, int n, char *first, size_t cap);
/* Columns found by other means than the JSON key scan (a CSV header,
   inferred from the file's head): under add_new_columns the ones the
   schema lacks are stored as the next version (*version), hinted types
   winning; under fail_on_new_columns the first of them is an LK_EFORMAT
   error naming file and line; nothing under rescue / none. */
int lk_evolve_columns(lk_evolve *ev, const lk_schema *found, const char *file, int64_t line,
                      int *version, lk_error *err);
/* The current data schema as DDL into out (for logs and tests). */
void lk_evolve_ddl(const lk_evolve *ev, lk_buf *out);

/* Pure helpers (tested directly). */
/* A new schema: cur with every field of add that cur lacks (compared
   case-insensitively) appended, recursively inside structs present in
   both and inside the element structs of arrays (of arrays) of structs
   present in both; the names added go comma-separated into added (may be
   NULL). */
lk_schema *lk_evolve_add_missing(const lk_schema *cur, const lk_schema *add, lk_buf *added);
/* A new schema: data with the types of hints' columns, hint columns it
   lacks appended; all_strings turns every non-hinted column into STRING. */
lk_schema *lk_evolve_apply_hints(const lk_schema *data, const lk_schema *hints, int all_strings);
/* 1 if the JSON line has a key (top level, or inside an object whose
   column in data is a struct, or an element object of an array of
   structs) that data lacks; its dotted name goes to
   key. 0 if not (or the line is not an object). Reserved top-level names
   (_rescued_data, _corrupt_record, _metadata, and rescued, the configured
   rescued data column) are never new. */
int lk_evolve_scan_line(const lk_schema *data, const char *rescued, const char *line, size_t len,
                        char *key, size_t cap);

#endif
