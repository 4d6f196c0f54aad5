/*
 * lk_ctl — the CLI side of the control socket: `lakesupd status` and
 * `lakesupd stop` talk to a running supervisor (REQ/REP on
 * <run_dir>/control.ipc), found from the same configuration.
 */
#ifndef LK_CTL_H
#define LK_CTL_H

#include "lk_buf.h"
#include "lk_config.h"
#include "lk_error.h"

/* Sends command ("status", "stop") and puts the JSON reply in reply.
   -ECONNREFUSED (with a message) when no supervisor is running. */
int lk_ctl_request(const lk_config *cfg, const char *command, lk_buf *reply, int timeout_ms,
                   lk_error *err);

/* `lakesupd status`: prints the worker tree and tables (or JSON). Exit code. */
int lk_ctl_status(const lk_config *cfg, int json);
/* `lakesupd status --watch`: the status redrawn in place every interval_s
   (plain ANSI: home, clear to end of line), with rates, backlog, latency,
   watermark and the last error, until Ctrl-C. Exit code. */
int lk_ctl_watch(const lk_config *cfg, double interval_s);
/* `lakesupd stop`: asks for a graceful stop and waits until the supervisor
   has exited (up to timeout_ms). Exit code. */
int lk_ctl_stop(const lk_config *cfg, int timeout_ms);

#endif
