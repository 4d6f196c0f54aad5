/*
 * lk_notify_out — delivers alert notices to the receivers of `notify:`:
 *
 *   webhook  POST of a JSON array of alerts in Alertmanager's API v2
 *            format (labels, annotations, startsAt, endsAt, generatorURL)
 *            through libcurl's multi interface;
 *   exec     a program (no shell) that gets the notice as JSON on stdin,
 *            with LAKESUP_ALERT and LAKESUP_ALERT_STATUS in its environment;
 *   log      one log line per notice.
 *
 * Nothing blocks: each receiver has a queue (at most LK_NOTIFY_QUEUE
 * notices; past that the oldest is dropped and logged), one delivery in
 * flight, and a failed one is retried with a delay from 1 s doubling to
 * 60 s; the monitor calls lk_notify_out_run() from its loop. Every
 * failure is logged with the receiver and the attempt; those lines stop
 * being the monitor's last error (status) once the receiver delivers, as
 * the log receiver's firing line once its alert resolves (lk_log_over).
 */
#ifndef LK_NOTIFY_OUT_H
#define LK_NOTIFY_OUT_H

#include <stdint.h>

#include "lk_alerts.h"
#include "lk_config.h"

#define LK_NOTIFY_QUEUE 256

typedef struct lk_notify_out lk_notify_out;

/* pipeline and generator_url label and link every alert. Sets SIGPIPE to be
   ignored (an exec receiver may exit before it read its stdin). */
lk_notify_out *lk_notify_out_new(const char *pipeline, const char *generator_url);
void lk_notify_out_destroy(lk_notify_out **n);
/* The generatorURL of the notices made from now on (the monitor's address, once it listens);
   the queues, retries and counters stay. */
void lk_notify_out_set_generator(lk_notify_out *n, const char *generator_url);
/* (Re)sets the receivers; a receiver that stays keeps its queue. */
void lk_notify_out_set_targets(lk_notify_out *n, const lk_notify_target *t, int count);
/* Queues a notice on every receiver. */
void lk_notify_out_send(lk_notify_out *n, const lk_alert_notice *a);
/* Queues a firing notice again on the webhook receivers only (a refresh). */
void lk_notify_out_refresh(lk_notify_out *n, const lk_alert_notice *a);
/* Advances deliveries and retries; never blocks. Returns 1 while a delivery is in flight (the
   caller polls again soon), else 0. */
int lk_notify_out_run(lk_notify_out *n, int64_t now_ms);
/* Notices delivered, failed attempts, dropped (queue full), queued now. */
void lk_notify_out_counts(const lk_notify_out *n, long long *sent, long long *failed,
                          long long *dropped, long long *queued);
/* The Alertmanager v2 JSON object of one alert (no enclosing array) into b. */
void lk_notify_out_alert_json(const char *pipeline, const char *generator_url,
                              const lk_alert_notice *a, lk_buf *b);

#endif
