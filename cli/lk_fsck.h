/*
 * lk_fsck — `lakesupd fsck [--repair]`: checks that state.db and the tables
 * agree, and explains what it finds.
 *
 * It checks state.db (opens, PRAGMA integrity_check), each table (log
 * replay), the pipeline's query id against each table's txn appIds, the
 * last committed batch in state.db against each table's txn version,
 * uncommitted batches whose source bytes are gone, and files no commit
 * references (left by replays and killed writers; `table vacuum`).
 *
 * --repair (only with the pipeline stopped) does what is safe:
 *  - an unreadable or corrupt state.db is moved aside and rebuilt from the
 *    tables: the query id from their txn appId, the last batch from their
 *    txn version, the raw schema from raw_events, and every source file
 *    that raw_events has rows of (_metadata.file_path) recorded as
 *    committed, so that nothing is ingested twice; files with no rows in
 *    the tables are ingested at the next start. format kafka: each
 *    topic-partition raw_events has rows of resumes after its highest
 *    `offset` (recorded as a committed range [lowest, highest + 1));
 *    partitions without rows start at starting_offsets. Refused when the tables
 *    disagree (a batch in one table and not the other): that needs the
 *    ranges only the lost state.db knew.
 *  - batches state.db records as committed but a table lacks (a table
 *    restored from an older copy) go back to planned and are replayed.
 *
 * Exit: 0 consistent (or repaired), 1 problems remain, 111 the pipeline is
 * running (for --repair), 100 configuration.
 */
#ifndef LK_FSCK_H
#define LK_FSCK_H

#include "lk_config.h"

int lk_fsck_main(const lk_config *cfg, int repair);

#endif
