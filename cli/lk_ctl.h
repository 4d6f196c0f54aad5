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
#include "lk_msg.h"

/* Sends command ("status", "stop") and puts the JSON reply in reply.
   -ECONNREFUSED (with a message) when no supervisor is running. */
int lk_ctl_request(const lk_config *cfg, const char *command, lk_buf *reply, int timeout_ms,
                   lk_error *err);

/* Sends the event e (a command with arguments) and puts the JSON reply in reply. */
int lk_ctl_send(const lk_config *cfg, const lk_msg_event *e, lk_buf *reply, int timeout_ms,
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

/* `lakesupd scale`: asks for transform (a count, "auto", or NULL: unchanged)
   and writer (> 0, or unchanged) and waits up to wait_ms until the process
   tree follows (new workers ready, scaled-in ones drained). Exit code. */
int lk_ctl_scale(const lk_config *cfg, const char *transform, int writer, int wait_ms);
/* `lakesupd reload`: the supervisor re-reads its file (as SIGHUP); prints
   what was applied and what needs a restart. Exit code (100: the file is
   wrong; the running configuration is kept). */
int lk_ctl_reload(const lk_config *cfg);

#endif
