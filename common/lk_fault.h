/*
 * lk_fault — built-in fault injection for tests (in the spirit of SQLite's
 * test VFS). The environment variable LAKESUP_FAULT holds a comma-separated
 * list of rules "point=action[@N]" such as
 *
 *     LAKESUP_FAULT="fs.write=ENOSPC@3,committer.after_delta_commit=abort"
 *
 * meaning: the 3rd time the point is reached, fail with ENOSPC (without @N:
 * every time). "@while:PATH" instead of "@N" fails every time while the
 * file PATH exists: a test fills the "disk" and frees it by removing PATH;
 * "@2@while:PATH" fails the 2nd time while PATH exists.
 * Actions: ENOSPC, EIO, EACCES, short (a short write, then ENOSPC),
 * corrupt (the caller damages what it was about to send or write),
 * abort (the process aborts, as a crash at that step), exit (_exit(99)),
 * sleep<MS> (the step takes MS ms longer and succeeds: a slow stage), hold (with
 * "@while:PATH" only: the step waits while PATH exists, 120 s at most, then succeeds: a test
 * does something at that very step and removes PATH).
 * Points wired in: fs.write, fs.fsync, fs.link (lk_fs: Delta commits),
 * parquet.write (data files), state.commit (state.db transactions),
 * committer.commit (before a batch's commit), committer.after_delta_commit
 * (between a table's Delta commit and state.db), delta.checkpoint (a
 * checkpoint written to its temp file, before it is linked into _delta_log),
 * delta.last_checkpoint (between a checkpoint and its _last_checkpoint),
 * <role>.start (e.g. transform.start: a worker before READY; a crash loop),
 * transform.records (corrupt: a RECORDS message cut to half its length),
 * transform.chunk (each chunk a transform parses), transform.read_ref (a chunk sent by
 * reference, before the transform reads its bytes from the file),
 * replay.after_commit (lakesupd replay, between one table's commit and the next),
 * committer.dedupe_before_replay (transform.dedupe: a drop list stored, the
 * replay not asked for yet), committer.dedupe_before_state (before the dedupe
 * state of a batch is stored), committer.compaction (sleep: a long
 * auto-compaction), committer.flush (sleep: the writers wait longer for a
 * batch's "flush"), writer.park (a writer writing a waiting batch's row
 * groups early, when a newer batch's chunk arrives), worker_host.auth_event (EIO:
 * a worker host ignores the event of its refused key, as if libzmq had not sent it).
 * A point is any string; code calls lk_fault_check("point") where a test may
 * want it to fail. With LAKESUP_FAULT unset the check is one branch.
 */
#ifndef LK_FAULT_H
#define LK_FAULT_H

#define LK_FAULT_SHORT_WRITE 1
#define LK_FAULT_CORRUPT 5 /* not 4: the sleep action's */

/* Returns 0 (no fault), a negative errno to fail with, LK_FAULT_SHORT_WRITE or LK_FAULT_CORRUPT.
   Aborts or exits the process for the abort/exit actions. */
int lk_fault_check(const char *point);

/* Re-reads LAKESUP_FAULT (tests that change it at run time). */
void lk_fault_reload(void);

#endif
