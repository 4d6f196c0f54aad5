/*
 * lk_tz — region time zones ('Europe/Paris') from the system's tz database:
 * the TZif files under $TZDIR or /usr/share/zoneinfo, their transitions and,
 * past the last one, the POSIX rule of their footer. What Spark's
 * ZoneId.of(region) gives the expression engine, without touching the
 * process's TZ (localtime_r would read one global zone).
 */
#ifndef LK_TZ_H
#define LK_TZ_H

#include <stddef.h>
#include <stdint.h>

typedef struct lk_tz lk_tz;

/* The zone named name[0..n) (case-sensitive, as java.time), loaded once and kept for the life of
   the process (thread-safe); NULL if the name is not a zone of the database. */
const lk_tz *lk_tz_find(const char *name, size_t n);

/* The zone's offset from UTC in seconds at the instant utc_s (seconds since the epoch). */
int32_t lk_tz_offset_at(const lk_tz *z, int64_t utc_s);

/* The instant of the local date-time local_s (seconds since 1970-01-01T00:00 local) as
   java.time's ZonedDateTime.of resolves it: in a gap the time moves forward by the gap's length,
   in an overlap the earlier offset wins. Offsets are within +-18 h (a file or rule beyond is
   refused); both functions are exact within +-2^47 s (4.4 million years) and clamp past it. */
int64_t lk_tz_utc_of_local(const lk_tz *z, int64_t local_s);

/* For tests and fuzzing (tests/fuzz/fuzz_tz.c): the zone of the TZif image p[0..n) (RFC 8536),
   read as lk_tz_find reads a file of the database; NULL if it is not one. Not cached: the caller
   frees it with lk_tz_free. */
lk_tz *lk_tz_parse(const unsigned char *p, size_t n);
void lk_tz_free(lk_tz *z);

#endif
