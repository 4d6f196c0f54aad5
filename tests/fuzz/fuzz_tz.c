/*
 * fuzz_tz — libFuzzer target for common/lk_tz.c: the TZif reader (RFC 8536, the files of
 * /usr/share/zoneinfo) and the POSIX TZ rule of a TZif footer ("CET-1CEST,M3.5.0,M10.5.0/3"),
 * through lk_tz_parse, the very function lk_tz_find runs on a file's bytes. An input that
 * begins with "TZif" is a TZif image (the seeds: real zone files, tests/fuzz/seeds/tz/); any
 * other is a POSIX TZ rule after one byte of options, which the target wraps in the smallest
 * TZif v2 image — no transition, or (byte & 1) one at 2000-01-01 from offset 0, the rule
 * governing past it — so that mutations reach the rule parser directly (seeds: rule-*).
 * On whatever parsed, the lookups run at fixed instants (the epoch, 1850, 2024, 2100, year
 * 200,000, the ends of the supported range +-2^47 s), monthly over a few years, at the
 * transition times the image's header lists, and at every change of offset found between
 * them (bisected to the second). A crash, a leak, undefined behaviour (ASan/UBSan), or any of
 * these is a bug (abort):
 *   - an offset beyond +-18 h (java.time's ZoneOffset bound; real zones stay within +-16 h);
 *   - a local time that exists (u + offset(u) for an instant u) does not come back from
 *     lk_tz_utc_of_local to an instant of that local time, or comes back later than u (in an
 *     overlap the earlier offset wins, as java.time's ZonedDateTime.of);
 *   - lk_tz_utc_of_local(L) more than 18 h from L, or, when L does not come back (a gap), an
 *     offset in force around L that would have given L (the gap is not one).
 *
 * Build: cmake -S . -B build-fuzz -DLK_FUZZ=ON -DCMAKE_C_COMPILER=clang-14
 * Run:   build-fuzz/fuzz_tz -max_total_time=300 tests/fuzz/seeds/tz
 *        (or tests/fuzz/run.sh --seconds 300 tz)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_OFF 64800                   /* 18 h */
#define RANGE ((int64_t)1 << 47)        /* +-4.4 million years: beyond Spark's 6-digit years */
#define YEAR_2024 ((int64_t)1704067200) /* 2024-01-01T00:00Z */

static const lk_tz *g_z;
static const uint8_t *g_data;
static size_t g_size;

static void fail(const char *what, int64_t a, int64_t b)
{
    fprintf(stderr, "fuzz_tz: %s (%lld, %lld)\n", what, (long long)a, (long long)b);
    abort();
}

static int32_t offset(int64_t u)
{
    int32_t o = lk_tz_offset_at(g_z, u);
    if (o > MAX_OFF || o < -MAX_OFF) fail("offset beyond 18 h", u, o);
    return o;
}

/* A local time that exists: the instant u's. */
static void check_instant(int64_t u)
{
    if (u < -RANGE || u > RANGE) return;
    int64_t local = u + offset(u);
    if (local < -RANGE || local > RANGE) return; /* beyond lk_tz's exact range */
    int64_t back = lk_tz_utc_of_local(g_z, local);
    if (back + offset(back) != local) fail("an existing local time does not come back", u, back);
    if (back > u) fail("an overlap's later instant", u, back);
}

/* Any local time. */
static void check_local(int64_t local)
{
    if (local < -RANGE + MAX_OFF || local > RANGE - MAX_OFF) return;
    int64_t u = lk_tz_utc_of_local(g_z, local);
    if (u < local - MAX_OFF || u > local + MAX_OFF) fail("utc_of_local beyond 18 h", local, u);
    if (u + offset(u) == local) return;
    /* a gap: no offset in force around it gives local */
    int64_t cand[] = {offset(local - MAX_OFF), offset(local + MAX_OFF),
                      offset(local),           offset(u),
                      offset(u - 1),           local - u};
    for (size_t k = 0; k < sizeof cand / sizeof *cand; k++)
        if (offset(local - cand[k]) == cand[k]) fail("a gap that is not one", local, cand[k]);
}

/* The changes of offset in (a, b] (oa at a, ob at b, oa != ob), bisected to the second; a few
   dozen at most per input. */
static int edges;
static void find_edges(int64_t a, int32_t oa, int64_t b, int32_t ob)
{
    if (edges >= 64) return;
    if (b - a > 1) {
        int64_t m = a + (b - a) / 2;
        int32_t om = offset(m);
        if (om != oa) find_edges(a, oa, m, om);
        if (om != ob) find_edges(m, om, b, ob);
        return;
    }
    /* b: the first second of ob */
    edges++;
    for (int64_t d = -2; d <= 2; d++) {
        check_instant(b + d);
        check_local(b + oa + d);
        check_local(b + ob + d);
    }
    check_local(b + (oa < ob ? oa : ob) + (oa > ob ? oa - ob : ob - oa) / 2); /* the middle */
}

static int cmp64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

/* The transition times of the image's header (v2's 64-bit data when there is one), unchecked:
   only probe points. */
static size_t header_times(const uint8_t *p, size_t n, int64_t *out, size_t cap)
{
    if (n < 44 || memcmp(p, "TZif", 4)) return 0;
    size_t k = 0, tsize = 4;
    uint32_t cnt[6];
    for (int i = 0; i < 6; i++)
        cnt[i] = (uint32_t)p[20 + 4 * i] << 24 | (uint32_t)p[21 + 4 * i] << 16 |
                 (uint32_t)p[22 + 4 * i] << 8 | p[23 + 4 * i];
    if (p[4] >= '2') { /* skip the v1 data */
        uint64_t body = (uint64_t)cnt[3] * 5 + (uint64_t)cnt[4] * 6 + cnt[5] +
                        (uint64_t)cnt[2] * 8 + cnt[1] + cnt[0];
        if (body > n - 44 || n - 44 - body < 44) return 0;
        p += 44 + body;
        n -= 44 + body;
        tsize = 8;
        for (int i = 0; i < 6; i++)
            cnt[i] = (uint32_t)p[20 + 4 * i] << 24 | (uint32_t)p[21 + 4 * i] << 16 |
                     (uint32_t)p[22 + 4 * i] << 8 | p[23 + 4 * i];
    }
    for (uint32_t i = 0; i < cnt[3] && k < cap && 44 + (i + 1) * tsize <= n; i++) {
        const uint8_t *t = p + 44 + i * tsize;
        uint64_t v = 0;
        for (size_t j = 0; j < tsize; j++)
            v = v << 8 | t[j];
        out[k++] = tsize == 8 ? (int64_t)v : (int64_t)(int32_t)(uint32_t)v;
    }
    return k;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void exercise(const uint8_t *image, size_t n)
{
    int64_t probe[512];
    size_t np = header_times(image, n, probe, 200);
    static const int64_t fixed[] = {-RANGE,
                                    -RANGE + 1,
                                    RANGE - 1,
                                    RANGE,
                                    0,
                                    -1,
                                    -3786825600 /* 1850 */,
                                    YEAR_2024,
                                    4102444800 /* 2100 */,
                                    6249223680000 /* ~200,000 */};
    for (size_t k = 0; k < sizeof fixed / sizeof *fixed; k++)
        probe[np++] = fixed[k];
    static const int64_t years[] = {
        0, YEAR_2024, YEAR_2024 + 31622400, 4102444800, 12622780800 /* 2370 */, 6249223680000};
    for (size_t y = 0; y < sizeof years / sizeof *years; y++)
        for (int m = 0; m <= 12; m++)
            probe[np++] = years[y] + m * 2635200; /* about a month */
    uint64_t seed = 0xcbf29ce484222325ULL;        /* a few instants of the input's own */
    for (size_t k = 0; k < g_size; k++)
        seed = (seed ^ g_data[k]) * 0x100000001b3ULL;
    for (int k = 0; k < 16; k++)
        probe[np++] = (int64_t)(splitmix(&seed) % (uint64_t)(2 * RANGE + 1)) - RANGE;
    for (size_t k = 0; k < np; k++) /* the header's times may be anything */
        probe[k] = probe[k] < -RANGE ? -RANGE : probe[k] > RANGE ? RANGE : probe[k];
    qsort(probe, np, sizeof *probe, cmp64);
    edges = 0;
    for (size_t k = 0; k < np; k++) {
        check_instant(probe[k]);
        check_instant(probe[k] - 1);
        check_local(probe[k]);
        if (k > 0 && probe[k] > probe[k - 1]) {
            int32_t oa = offset(probe[k - 1]), ob = offset(probe[k]);
            if (oa != ob) find_edges(probe[k - 1], oa, probe[k], ob);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const uint8_t *p = data;
    size_t n = size;
    uint8_t img[512];
    if (size < 4 || memcmp(data, "TZif", 4)) { /* a rule: wrap it */
        int tr = data[0] & 1;
        p = data + 1;
        n = size - 1;
        if (n > 200 || memchr(p, '\n', n)) return 0;
        memset(img, 0, 44);
        memcpy(img, "TZif2", 5);
        img[39] = 1;                             /* typecnt */
        img[43] = 4;                             /* charcnt */
        memcpy(img + 44, "\0\0\0\0\0\0UTC", 10); /* v1: the type and its name */
        size_t at = 54;
        memcpy(img + at, img, 44);
        img[at + 35] = (uint8_t)tr; /* timecnt */
        at += 44;
        if (tr) {
            static const uint8_t y2000[8] = {0, 0, 0, 0, 0x38, 0x6d, 0x43, 0x80};
            memcpy(img + at, y2000, 8);
            img[at + 8] = 0;
            at += 9;
        }
        memcpy(img + at, "\0\0\0\0\0\0UTC", 10);
        at += 10;
        img[at++] = '\n';
        memcpy(img + at, p, n);
        at += n;
        img[at++] = '\n';
        p = img;
        n = at;
    }
    lk_tz *z = lk_tz_parse(p, n);
    if (!z) return 0;
    g_z = z;
    g_data = data;
    g_size = size;
    exercise(p, n);
    lk_tz_free(z);
    return 0;
}
