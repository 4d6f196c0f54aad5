/*
 * lk_source_cli — `lakesupd source ...`: what discovery knows about the
 * source files (Databricks' cloud_files_state), read from state.db.
 *   source list [-c FILE] [--pending] [--json]
 *       every discovered file: state (pending, in batch N, committed in
 *       batch N, skipped: reason), size, discovery time, per-file rows /
 *       corrupt / rescued once committed, and what clean_source did.
 */
#ifndef LK_SOURCE_CLI_H
#define LK_SOURCE_CLI_H

#include "lk_config.h"

/* argv[0] is the sub-command ("list"). Returns an exit code. */
int lk_source_cli(const lk_config *cfg, int argc, char **argv);

#endif
