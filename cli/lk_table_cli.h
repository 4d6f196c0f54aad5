/*
 * lk_table_cli — `lakesupd table ...`: look at the pipeline's Delta tables
 * (or any Delta table by --path) with lakesupd's own reader.
 *   table list                          version, files, rows, bytes per table
 *   table read T [--version N] [--limit N] [--columns a,b] [--path DIR]
 *                                       rows as JSON lines (latest, or as of N)
 *   table history T [--limit N] [--json] one line per version, newest first
 */
#ifndef LK_TABLE_CLI_H
#define LK_TABLE_CLI_H

#include "lk_config.h"

/* argv[0] is the sub-command ("list", "read", ...). Returns an exit code. */
int lk_table_cli(const lk_config *cfg, int argc, char **argv);

#endif
