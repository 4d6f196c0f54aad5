/*
 * lk_schema_cli — `lakesupd schema ...`: the pipeline's table schemas as
 * state.db holds them (the pipeline may be running).
 *   schema show [--table T] [--json]   current schema as DDL (and Spark JSON), version
 *   schema history [--table T] [--json] every version with its time and what changed
 * T is raw_events (default) or processed_events (derived from raw_events:
 * its versions are raw_events' versions).
 */
#ifndef LK_SCHEMA_CLI_H
#define LK_SCHEMA_CLI_H

#include "lk_config.h"

/* argv[0] is the sub-command ("show", "history"). Returns an exit code. */
int lk_schema_cli(const lk_config *cfg, int argc, char **argv);

#endif
