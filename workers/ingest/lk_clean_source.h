/*
 * lk_clean_source — Auto Loader's cleanSource: deletes or moves source files
 * once their batch is committed in every table, after
 * clean_source_retention_duration.
 *
 * Runs inside ingest (state.db's files are ingest's to write). A file is
 * touched only when state.db says, just before, that it and its batch are
 * committed, and only if it is still the version that was ingested (same
 * size and mtime): a file rewritten since is left alone. A move keeps the
 * path relative to source_path under clean_source_move_destination. Each
 * action is logged; a failure is logged and retried later, never fatal.
 */
#ifndef LK_CLEAN_SOURCE_H
#define LK_CLEAN_SOURCE_H

#include <stdint.h>

#include "lk_config.h"
#include "lk_error.h"
#include "lk_state.h"

typedef struct lk_clean_source lk_clean_source;

/* cfg and st are borrowed. With clean_source: off, polls do nothing. */
int lk_clean_source_new(const lk_config *cfg, lk_state *st, lk_clean_source **out, lk_error *err);
void lk_clean_source_destroy(lk_clean_source **c);

/* A batch was committed: look again at the next poll. */
void lk_clean_source_nudge(lk_clean_source *c);

/* Cleans what is due (at most every second, or at once after a nudge).
   Returns the number of files cleaned. */
int lk_clean_source_poll(lk_clean_source *c, int64_t now_ms);

#endif
