/*
 * lk_supervisor — `lakesupd start`: the process tree, and nothing else.
 *
 * It takes the checkpoint lock, forks and execs every worker as a direct
 * child (`lakesupd worker ROLE INDEX ...`, so ps shows the role), starting
 * consumers before producers (monitor, committer, writers, transforms,
 * ingest) and waiting for each to report READY. It restarts a worker that
 * exits (exponential backoff, reset after a healthy period) and, when a
 * transform, writer or the committer dies, tells ingest to replay the
 * uncommitted batches (their in-flight messages died with it). It serves
 * the control socket (status, stop) and stops gracefully: ingest drains
 * (in-flight batches commit), then the rest exit in reverse start order,
 * SIGKILL after stop_timeout. It moves no data.
 */
#ifndef LK_SUPERVISOR_H
#define LK_SUPERVISOR_H

#include "lk_config.h"
#include "lk_exit.h"

/* Runs the pipeline in the foreground until it is done (available-now),
   stopped, or fails; returns the process exit code. */
int lk_supervisor_run(const lk_config *cfg);

#endif
