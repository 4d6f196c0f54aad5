/*
 * lk_progress_cli — `lakesupd progress [-c FILE] [--last N] [--json]`: the
 * progress records of the last committed batches, from state.db (the
 * monitor writes one per batch; the pipeline need not be running). --json
 * prints them as a JSON array with Spark's StreamingQueryProgress names.
 */
#ifndef LK_PROGRESS_CLI_H
#define LK_PROGRESS_CLI_H

#include "lk_config.h"

/* Exit code. */
int lk_progress_cli(const lk_config *cfg, int last, int json);

#endif
