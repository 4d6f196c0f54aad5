/*
 * lk_log — one line per event, for every process of lakesupd.
 *
 * Format (text):  2026-11-24T09:30:00.123Z INFO transform[1] 4242: message key=value ...
 * Format (json):  {"ts":"...","level":"INFO","role":"transform","index":1,"pid":4242,"msg":"..."}
 * Lines go to stderr (the supervisor's stderr is the journal under systemd)
 * and are written with one write(2) so that lines of concurrent processes
 * never interleave. When stderr is journald's stream (JOURNAL_STREAM), each
 * line starts with <N>, the level as a syslog priority (debug 7, info 6,
 * warn 4, error 3), which journald takes as the entry's PRIORITY.
 */
#ifndef LK_LOG_H
#define LK_LOG_H

typedef enum lk_log_level {
    LK_LOG_DEBUG = 0,
    LK_LOG_INFO = 1,
    LK_LOG_WARN = 2,
    LK_LOG_ERROR = 3,
} lk_log_level;

/* Names this process in every line: role ("supervisor", "ingest", ...) and index. */
void lk_log_init(const char *role, int index);

/* Lines below level are dropped. Default INFO; LAKESUP_LOG_LEVEL=debug overrides. */
void lk_log_set_level(lk_log_level level);
lk_log_level lk_log_get_level(void);

/* Selects the JSON line format (LAKESUP_LOG_FORMAT=json also does). */
void lk_log_set_json(int on);

/* The configuration's log_level and log_format ("text" | "json"), each
   unless its environment variable (LAKESUP_LOG_LEVEL, LAKESUP_LOG_FORMAT)
   says otherwise; NULL or an unknown value changes nothing. */
void lk_log_configure(const char *level, const char *format);

/* Parses "debug", "info", "warn", "error"; returns -1 for anything else. */
int lk_log_level_parse(const char *s);

void lk_log(lk_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last WARN/ERROR line this process logged (status, crash reports), "" when none: of the
   last LK_LOG_KEPT such lines, the newest not withdrawn by lk_log_over. */
const char *lk_log_last_error(void);

/*
 * A condition that WARN/ERROR lines report and that can end: an alert that fires, a receiver
 * whose deliveries fail. lk_log_note(c) right after such a line marks it as c's (nothing when
 * that call logged no WARN/ERROR line: below the level); lk_log_over(c), when the condition
 * ends, withdraws c's lines from lk_log_last_error, which reports the line before them again,
 * or none, as before the condition began. The lines themselves stay in the log. A zeroed
 * lk_log_cond is empty.
 */
#define LK_LOG_KEPT 8
typedef struct lk_log_cond {
    unsigned long id[LK_LOG_KEPT]; /* of its lines; more than LK_LOG_KEPT wrap (older ones are
                                      out of the kept lines anyway) */
    int n;
} lk_log_cond;
void lk_log_note(lk_log_cond *c);
void lk_log_over(lk_log_cond *c);

#define LK_DEBUG(...) lk_log(LK_LOG_DEBUG, __VA_ARGS__)
#define LK_INFO(...) lk_log(LK_LOG_INFO, __VA_ARGS__)
#define LK_WARN(...) lk_log(LK_LOG_WARN, __VA_ARGS__)
#define LK_ERROR(...) lk_log(LK_LOG_ERROR, __VA_ARGS__)

#endif
