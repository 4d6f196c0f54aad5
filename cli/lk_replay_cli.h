/*
 * lk_replay_cli — `lakesupd replay [--reason R] [--since TS] [--where EXPR]`:
 * quarantined rows back into the pipeline, as a micro-batch of their own,
 * exactly once.
 *
 * With the pipeline stopped (it takes the checkpoint's lock), replay picks
 * the quarantine rows not replayed yet that the transforms of processed_events
 * or of a derived table turned away (and match the options: reason, quarantined_at >= TS, a SQL
 * condition over the quarantine's columns), and plans a batch b in
 * state.db with the quarantine files that hold them (lk_state_replay_plan:
 * one transaction). Then, table by table in the pipeline's commit order,
 * each commit carrying txn(appId, b) and skipped when the table has it
 * already: raw_events gets an empty commit (the rows are in bronze since
 * their first batch); each row, re-parsed from its JSON record as a row of
 * the input of the table that quarantined it (its _rescued_data put back),
 * goes through that table's current transforms into it and the tables fed
 * from it (lk_tables_run_from; the others get empty commits); and
 * quarantine last: its files that held replayed rows are removed and added
 * back rewritten with replayed_in_batch = b (rows that fail again join
 * them, quarantined by b). A replay killed anywhere resumes (`lakesupd
 * replay` or `lakesupd start` first finishes it) from the same files with
 * the same filter, so each row lands once.
 */
#ifndef LK_REPLAY_CLI_H
#define LK_REPLAY_CLI_H

#include "lk_config.h"

/* argv[0] is "replay". Returns an exit code. */
int lk_replay_cli(const lk_config *cfg, int argc, char **argv);
/* Finishes a replay a kill interrupted (the caller holds no lock); 0 or an
   exit code. `lakesupd start` runs it before the supervisor. */
int lk_replay_resume(const lk_config *cfg);

#endif
