/* lk_time — clocks and timestamp formatting shared by every process. */
#ifndef LK_TIME_H
#define LK_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Wall clock, microseconds since the Unix epoch. */
int64_t lk_time_now_us(void);
/* Wall clock, milliseconds since the Unix epoch. */
int64_t lk_time_now_ms(void);
/* Monotonic clock, milliseconds (for deadlines and durations). */
int64_t lk_time_mono_ms(void);
/* Monotonic clock in seconds with nanosecond resolution (benchmarks' timings). */
double lk_time_mono_s(void);

/* Formats micros-since-epoch as "2026-11-24T09:30:00.123Z" (ms precision) into out. */
void lk_time_format_iso_ms(int64_t us, char *out, size_t cap);
/* Formats micros-since-epoch as "2026-11-24 09:30:00.123456" (Spark timestamp text). */
void lk_time_format_spark(int64_t us, char *out, size_t cap);

/*
 * Parses an ISO-8601 / RFC 3339 timestamp ("2026-11-24T09:30:00.123Z",
 * "2026-11-24 09:30:00", "+02:00" offsets, up to 9 fractional digits,
 * a bare date) into micros since epoch UTC. Returns 0 or -1 if s is not one.
 */
int lk_time_parse_iso(const char *s, size_t n, int64_t *out_us);

/* Days since 1970-01-01 for a civil date (proleptic Gregorian). */
int64_t lk_time_days_from_civil(int64_t y, unsigned m, unsigned d);
/* The civil date (proleptic Gregorian) of days since 1970-01-01: the inverse. */
void lk_time_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);
/* The days of month m (1..12) of year y (proleptic Gregorian). */
int lk_time_days_in_month(int64_t y, unsigned m);

#endif
