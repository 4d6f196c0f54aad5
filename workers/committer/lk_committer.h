/* lk_committer — the committer worker's main loop (see lk_committer.c for what it does). */
#ifndef LK_COMMITTER_H
#define LK_COMMITTER_H

#include "lk_worker.h"

/* Runs until the worker is told to stop; returns a process exit code. */
int lk_committer_run(lk_worker *w);
/* Auto-compaction of one table (`lakesupd worker compaction TABLE [--check]`, started by the
   committer): OPTIMIZE into tables.target_file_size files, one commit with dataChange=false.
   With check, first counts the table's small files and compacts only when they are more than
   tables.compaction.min_files; when it does not, it writes "counted N" (N small files) on its
   standard output. The exit code: 0 done, nothing to do or counted; 1 gave up. */
int lk_committer_compact(const lk_config *cfg, const char *table, int check);

#endif
