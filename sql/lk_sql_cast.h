/*
 * lk_sql_cast — CAST(x AS type) with Spark's non-ANSI rules: a value that
 * does not convert is null (and marked failed for on_error), integral
 * narrowing wraps, double → integral saturates (Java), strings are trimmed
 * and parsed as Spark parses them (' 12 ' → 12, '1.5' → 1 as an int, 'yes'
 * → true), numbers print as Java prints them (Double.toString: 1.0E7,
 * 1.0E-4), timestamps as 'yyyy-MM-dd HH:mm:ss[.ffffff]' in UTC.
 */
#ifndef LK_SQL_CAST_H
#define LK_SQL_CAST_H

#include <stddef.h>
#include <stdint.h>

#include "lk_decimal.h"
#include "lk_error.h"
#include "lk_sql_func.h"

int lk_sql_cast_kernel(const lk_sql_node *node, lk_sql_kernel *k, lk_error *err);

/* Java's Double.toString(x) into out (at least 32 bytes); returns its length. */
size_t lk_sql_format_double(double x, char *out);
/* A double as Spark casts it to a decimal of scale `scale` (Decimal(double): through its shortest
   text, Java's Double.toString; HALF_UP): 0, or -1 for NaN, infinities and values beyond 38
   digits. The caller checks the precision. */
int lk_sql_dec_from_double(double d, int scale, lk_dec *out);
/* Spark's timestamp text (UTC, trailing fractional zeros dropped); returns its length. */
size_t lk_sql_format_timestamp(int64_t us, char *out);
/* 'yyyy-MM-dd'; returns its length. */
size_t lk_sql_format_date(int32_t days, char *out);
/* Parses a date as Spark's cast: '[+-]yyyy', '[+-]yyyy-[m]m', '[+-]yyyy-[m]m-[d]d' and
   anything after ' ' or 'T'; surrounding whitespace. 0 or -1. */
int lk_sql_parse_date(const char *s, size_t n, int32_t *days);
/* Parses a timestamp as Spark's cast (stringToTimestamp): '[+-]yyyy[-[m]m[-[d]d]]', a time after
   ' ' or 'T' ('[h]h[:[m]m[:[s]s[.ffffff]]]'), a time alone (today's), a zone id ('Z', '+hh:mm',
   'UTC+1', 'PST', 'Europe/Paris'); UTC without one; impossible dates and times fail. 0 or -1. */
int lk_sql_parse_timestamp(const char *s, size_t n, int64_t *us);
/* floor division of microseconds into days */
static inline int32_t lk_sql_us_to_days(int64_t us)
{
    return (int32_t)(us >= 0 ? us / 86400000000LL : -((-(us + 1)) / 86400000000LL) - 1);
}
/* the microseconds since midnight of us (0 .. 86399999999), without overflow at INT64_MIN */
static inline int64_t lk_sql_us_of_day(int64_t us)
{
    int64_t r = us % 86400000000LL;
    return r < 0 ? r + 86400000000LL : r;
}
/* Java's double → long (NaN 0, saturating). */
int64_t lk_sql_d2l(double x);
/* Spark's HALF_UP round of a double to d decimal places. */
double lk_sql_round_half_up(double x, int d);

#endif
