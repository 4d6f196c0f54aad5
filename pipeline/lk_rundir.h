/*
 * lk_rundir — where a running pipeline keeps its sockets and lock.
 *
 * The run directory is <checkpoint_path>/run; every ZeroMQ endpoint of the
 * process tree is an ipc:// socket in it, named after its owner (see
 * docs/architecture.md for the topology). When that path would exceed the
 * 107-byte limit of a Unix socket address, a directory under /tmp named by
 * a hash of the absolute checkpoint path is used instead; the CLI finds it
 * the same way. The lock file <checkpoint_path>/lakesupd.lock (flock, with
 * the owner's pid in it) makes one supervisor per checkpoint; the kernel
 * drops it when the owner dies, so a kill -9 leaves nothing stale behind.
 */
#ifndef LK_RUNDIR_H
#define LK_RUNDIR_H

#include <stddef.h>
#include <sys/types.h>

#include "lk_config.h"
#include "lk_error.h"

/* Absolute run directory for cfg into out (creates checkpoint_path if asked). */
int lk_rundir_path(const lk_config *cfg, int create, char *out, size_t cap, lk_error *err);
/* Creates the run directory and removes stale sockets in it. */
int lk_rundir_prepare(const char *run_dir, lk_error *err);

/* Takes the exclusive lock of the checkpoint; returns the fd (kept open for
   the life of the process) or LK_ECONFLICT with *holder = the holding pid. */
int lk_rundir_lock(const lk_config *cfg, pid_t *holder, lk_error *err);
/* The pid holding the lock, or 0 if none. */
pid_t lk_rundir_lock_holder(const lk_config *cfg);

#endif
