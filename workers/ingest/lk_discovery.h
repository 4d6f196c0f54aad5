/*
 * lk_discovery — finds source files and records each one exactly once in
 * state.db (Auto Loader's file discovery).
 *
 * Two ways in, one way to record:
 *  - inotify (source.use_notifications): a file closed after writing
 *    (IN_CLOSE_WRITE) or renamed into place (IN_MOVED_TO) is complete and is
 *    taken at once; new subdirectories are watched as they appear; an event
 *    queue overflow triggers a full listing;
 *  - a recursive listing at the first poll, every backfill_interval (with
 *    notifications) or every 100 ms (without), and after an overflow. A file
 *    found by listing is taken once unchanged for file_ready_delay (its
 *    mtime older than that, or the same size and mtime seen that long).
 * A file inotify saw being modified and not yet closed is left to its close.
 *
 * Identity is device + inode + size + mtime + a hash of the first 4 KiB
 * (stored in state.db): the same file renamed within the source is not
 * taken twice; a path rewritten with new content is either skipped with a
 * warning or, with allow_overwrites, recorded as a new version. Files
 * outside modified_after / modified_before / max_file_age are recorded as
 * skipped with the reason (said once in the log and in `source list`).
 */
#ifndef LK_DISCOVERY_H
#define LK_DISCOVERY_H

#include <stdint.h>

#include "lk_config.h"
#include "lk_error.h"
#include "lk_state.h"

typedef struct lk_discovery lk_discovery;

/* Starts discovery of cfg->source_path into st (borrowed: both must
   outlive d). take_at_once: every file found is complete (available-now).
   skip_existing: files found by the first listing are recorded as skipped
   (include_existing_files: false on the very first start). Watches are set
   up here, before the first listing, so no file falls between them. */
int lk_discovery_new(const lk_config *cfg, lk_state *st, int take_at_once, int skip_existing,
                     lk_discovery **out, lk_error *err);
void lk_discovery_destroy(lk_discovery **d);

/* Does whatever is due at now_ms (monotonic): reads pending notifications,
   lists when a listing is due, re-checks files waiting for
   file_ready_delay. Returns the number of new pending files recorded, or a
   negative code (err filled) when a file could not be recorded; such a file
   is retried at the next poll, nothing is lost. */
int lk_discovery_poll(lk_discovery *d, int64_t now_ms, lk_error *err);

/* 1 once a full listing completed without an error (available-now stops
   after its first one). */
int lk_discovery_listed_once(const lk_discovery *d);

/* The inotify descriptor (to poll on), or -1 without notifications. */
int lk_discovery_fd(const lk_discovery *d);

/* Asks for a full listing at the next poll. */
void lk_discovery_request_listing(lk_discovery *d);

/* Totals since this object was made: files recorded pending, recorded
   skipped (with a reason), and errors (a listing or a record that failed). */
void lk_discovery_stats(const lk_discovery *d, int64_t *taken, int64_t *skipped, int64_t *errors);

/* FNV-1a 64 of the first 4 KiB of path (0 on a read error, *ok 0). */
int64_t lk_discovery_head_hash(const char *path, int *ok);

#endif
