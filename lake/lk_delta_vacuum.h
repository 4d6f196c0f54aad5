/*
 * lk_delta_vacuum — deletes the files of a Delta table directory that no
 * retained version needs: data files neither live in the snapshot nor
 * removed within the retention (tombstones), deletion-vector files alike,
 * and orphans a killed writer left (data files never committed, our
 * `.*.tmp` files), but only files whose modification time is older than
 * the retention, so a writer's in-flight file is never taken. Files and
 * directories whose names start with '_' or '.' are Delta's or hidden and
 * are left alone (except our own temp files); _delta_log is log cleanup's.
 */
#ifndef LK_DELTA_VACUUM_H
#define LK_DELTA_VACUUM_H

#include <stdint.h>

#include "lk_delta.h"
#include "lk_error.h"

typedef struct lk_delta_vacuum_stats {
    int64_t files; /* deleted (or, dry run, to delete) */
    int64_t bytes;
    int64_t recent;   /* unreferenced but younger than the retention: kept */
    int64_t retained; /* referenced by the snapshot or a tombstone: kept */
} lk_delta_vacuum_stats;

/* Called for each file deleted (or to delete): path relative to the table. */
typedef void (*lk_delta_vacuum_fn)(void *ctx, const char *rel_path, int64_t size);

/*
 * Vacuums t (refreshed first) with retention retain_ms at time now_ms.
 * dry_run: only reports. Refuses (LK_EUNSUPPORTED) a table whose writer
 * protocol lakesupd does not implement (minWriterVersion > 2, e.g. the
 * vacuumProtocolCheck feature), naming it.
 */
int lk_delta_vacuum(lk_delta_table *t, int64_t retain_ms, int64_t now_ms, int dry_run,
                    lk_delta_vacuum_fn fn, void *ctx, lk_delta_vacuum_stats *st, lk_error *err);

#endif
