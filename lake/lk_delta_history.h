/*
 * lk_delta_history — the commit history of a Delta table: one entry per
 * retained version with its commit timestamp and commitInfo, for time
 * travel by timestamp and `lakesupd table history`.
 *
 * Commit timestamps follow PROTOCOL.md: with In-Commit Timestamps enabled
 * (delta.enableInCommitTimestamps), versions from
 * delta.inCommitTimestampEnablementVersion on use commitInfo.inCommitTimestamp;
 * other versions use the commit file's modification time, made strictly
 * increasing as Spark's DeltaHistoryManager does (a version whose time is
 * not after its predecessor's gets the predecessor's + 1 ms).
 */
#ifndef LK_DELTA_HISTORY_H
#define LK_DELTA_HISTORY_H

#include <stdint.h>

#include "lk_error.h"

typedef struct lk_delta_history lk_delta_history;

typedef struct lk_delta_history_entry {
    int64_t version;
    int64_t timestamp;            /* commit timestamp (ms), as time travel uses it */
    int64_t file_mtime;           /* the commit file's mtime (ms) */
    int64_t in_commit_timestamp;  /* commitInfo.inCommitTimestamp, or -1 */
    const char *commit_info_json; /* the commitInfo object, or NULL */
} lk_delta_history_entry;

/* Reads the history of the table at table_path: every version from the
   oldest one that can still be reconstructed (version 0, or the oldest
   checkpoint) to the latest. LK_ENOTFOUND when the table has no commit. */
int lk_delta_history_open(const char *table_path, lk_delta_history **out, lk_error *err);
void lk_delta_history_destroy(lk_delta_history **h);

int lk_delta_history_count(const lk_delta_history *h);
/* Entry i, oldest first. */
const lk_delta_history_entry *lk_delta_history_at(const lk_delta_history *h, int i);

/* The latest version whose commit timestamp is <= ts_ms. LK_ENOTFOUND (the
   message names the earliest/latest version and its timestamp) when ts_ms
   is before the earliest retained commit or after the latest one. */
int lk_delta_history_version_at(const lk_delta_history *h, int64_t ts_ms, int64_t *version,
                                lk_error *err);

/* Parses a --timestamp argument: milliseconds since the epoch ("1700000000000")
   or ISO-8601 ("2026-11-24T09:30:00Z", "2026-11-24 09:30:00.123", a date). */
int lk_delta_parse_timestamp(const char *s, int64_t *ms, lk_error *err);

#endif
