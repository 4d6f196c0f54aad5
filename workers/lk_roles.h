/*
 * lk_roles — the worker roles and their entry points: what
 * `lakesupd worker ROLE INDEX --run-dir DIR -c FILE` runs. The supervisor
 * execs that command line for every worker it starts; this table is the
 * one place that knows which roles exist, so the CLI reaches a role only
 * through it and never includes a role's own header.
 */
#ifndef LK_ROLES_H
#define LK_ROLES_H

#include <stddef.h>

#include "lk_config.h"
#include "lk_error.h"

/* 1 if role names a worker role (ingest, transform, writer, committer, monitor). */
int lk_roles_known(const char *role);

/* Runs worker role/index of the pipeline cfg (the running configuration
   the supervisor wrote) with its sockets in run_dir, until it is told to
   stop; returns the process exit code (lk_exit.h). */
int lk_roles_run(const char *role, int index, const lk_config *cfg, const char *run_dir);

/* `lakesupd keygen`: a CURVE key pair at prefix (public) and
   prefix_secret (0600); pub gets the public key. 0 or -1 (err). */
/* `lakesupd worker compaction TABLE [--check]`: the committer's auto-compaction of TABLE, in a
   process of its own (lk_committer_compact); the exit code tells the committer what it did. */
int lk_roles_compaction(const char *table, int check, const lk_config *cfg);
int lk_roles_keygen(const char *prefix, char *pub, size_t cap, lk_error *err);

/* `lakesupd worker-host`: transforms=N transform processes of the pipeline
   whose gateway listens at connect; a process exit code. */
int lk_roles_worker_host(const char *connect, const char *key, const char *server_key,
                         const char *dir, int transforms, const char *log_level);

#endif
