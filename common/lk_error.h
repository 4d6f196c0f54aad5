/*
 * lk_error — the one error facility of lakesupd.
 *
 * Functions return 0 on success or a negative error code (a negated errno, or
 * one of the LK_E* codes below) and, when given an lk_error, fill it with a
 * message that names the file, line, offset or key at fault. Callers add
 * context with lk_error_prefix() as the error travels up.
 */
#ifndef LK_ERROR_H
#define LK_ERROR_H

#include <stddef.h>

/* Project error codes, below every errno value. */
enum {
    LK_EFORMAT = -1000,   /* malformed input: bad JSON, bad Parquet, bad log */
    LK_ECONFIG = -1001,   /* invalid configuration */
    LK_ECONFLICT = -1002, /* optimistic concurrency: a concurrent commit won */
    LK_EUNSUPPORTED = -1003,
    LK_ESTATE = -1004, /* state.db inconsistent */
    LK_ENOTFOUND = -1005,
    LK_ELIMIT = -1006, /* a size or count bound was exceeded */
};

typedef struct lk_error {
    int code;
    char msg[1024];
} lk_error;

/* Sets err (if not NULL) to code and a formatted message; returns code. */
int lk_error_set(lk_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets err from errno-style code (negative) with "what: strerror". Returns code. */
int lk_error_errno(lk_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to the existing message. */
void lk_error_prefix(lk_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clears err. */
void lk_error_clear(lk_error *err);

/* A short name for a code: "ENOSPC", "LK_EFORMAT", ... */
const char *lk_error_name(int code);

#endif
