/*
 * lk_gen — deterministic JSON-lines event generator for benchmarks and e2e tests.
 *
 * Every row is a pure function of (seed, global row number), so two runs with the
 * same arguments write byte-identical files, and runs with disjoint --start-id
 * ranges write disjoint event ids. Messages mix JSON escapes, raw UTF-8 and \u
 * escapes (with a surrogate pair) so that readers are checked on unicode.
 * Each file is built in memory and written once to a temp name, then renamed,
 * so a directory watcher never sees a partial file.
 *
 *   lk_gen --out DIR --files N --rows M [--seed S] [--start-id K] [--prefix events]
 *          [--ts-step-ms 50]
 *          [--corrupt-every K] [--empty-every K] [--stdout]
 *
 * --rows M is the number of valid events per file; corrupt lines (every Kth line)
 * and empty lines (every Kth line) come in addition and consume no event id.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lk_buf.h"

static const char *const gen_types[8] = {"page_view", "click",  "add_to_cart", "purchase",
                                         "login",     "logout", "search",      "share"};
static const char *const gen_countries[12] = {"US", "FR", "DE", "JP", "BR", "IN",
                                              "GB", "CA", "ES", "IT", "KR", "AU"};
static const char *const gen_os[5] = {"android", "ios", "linux", "macos", "windows"};
/* Phrases as JSON string contents (already escaped). */
static const char *const gen_phrases[] = {
    "hello world",
    "caf\xc3\xa9 ouvert",
    "say \\\"hi\\\" twice",
    "path C:\\\\tmp\\\\x",
    "line one\\nline two",
    "col\\tsep",
    "gr\xc3\xbc\xc3\x9f dich",
    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e text",
    "launch \xf0\x9f\x9a\x80 now",
    "escaped rocket \\ud83d\\ude80 here",
    "escaped e \\u00e9 and \\u65e5\\u672c",
    "plain ascii phrase",
    "mixed \\\"q\\\" \\\\ \\n end",
};
#define GEN_NPHRASES (sizeof(gen_phrases) / sizeof(gen_phrases[0]))
static const char *const gen_corrupt[4] = {"{\"event_id\": \"broken", "[1,2,3]", "not json at all",
                                           "{\"a\":1} trailing"};

/* splitmix64: a good, tiny, seekable mixer. */
static uint64_t gen_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static void gen_u64(lk_buf *b, uint64_t v, int width)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n < width)
        tmp[n++] = '0';
    lk_buf_grow(b, (size_t)n);
    while (n)
        b->data[b->len++] = tmp[--n];
}

/* Days since 1970-01-01 to y/m/d (Howard Hinnant's civil_from_days). */
static void gen_civil(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

static void gen_ts(lk_buf *b, int64_t ms)
{
    int64_t days = ms / 86400000, rem = ms % 86400000;
    int y, mo, d;
    gen_civil(days, &y, &mo, &d);
    gen_u64(b, (uint64_t)y, 4);
    lk_buf_putc(b, '-');
    gen_u64(b, (uint64_t)mo, 2);
    lk_buf_putc(b, '-');
    gen_u64(b, (uint64_t)d, 2);
    lk_buf_putc(b, 'T');
    gen_u64(b, (uint64_t)(rem / 3600000), 2);
    lk_buf_putc(b, ':');
    gen_u64(b, (uint64_t)(rem / 60000 % 60), 2);
    lk_buf_putc(b, ':');
    gen_u64(b, (uint64_t)(rem / 1000 % 60), 2);
    lk_buf_putc(b, '.');
    gen_u64(b, (uint64_t)(rem % 1000), 3);
    lk_buf_putc(b, 'Z');
}

/* 2026-11-24T09:30:00.000Z: rows step 50 ms with 0..29 ms jitter, so ts strictly increases. */
#define GEN_BASE_MS 1795512600000LL
static int64_t g_ts_step_ms = 50; /* --ts-step-ms: 3600000 spreads rows over days */

static void gen_event(lk_buf *b, uint64_t seed, uint64_t row)
{
    uint64_t r1 = gen_mix(seed * 0x100000001b3ULL ^ row);
    uint64_t r2 = gen_mix(r1);
    uint64_t r3 = gen_mix(r2);
    lk_buf_puts(b, "{\"event_id\":\"evt-");
    gen_u64(b, seed, 1);
    lk_buf_putc(b, '-');
    gen_u64(b, row, 10);
    lk_buf_puts(b, "\",\"user_id\":");
    gen_u64(b, 1000 + r1 % 100000, 1);
    lk_buf_puts(b, ",\"event_type\":\"");
    lk_buf_puts(b, gen_types[(r1 >> 20) % 8]);
    lk_buf_puts(b, "\",\"ts\":\"");
    gen_ts(b, GEN_BASE_MS + (int64_t)row * g_ts_step_ms + (int64_t)((r1 >> 24) % 30));
    lk_buf_puts(b, "\",\"amount\":");
    if ((r2 % 100) < 30) {
        lk_buf_puts(b, "null");
    } else {
        uint64_t cents = (r2 >> 8) % 100000;
        gen_u64(b, cents / 100, 1);
        lk_buf_putc(b, '.');
        gen_u64(b, cents % 100, 2);
    }
    lk_buf_puts(b, ",\"country\":\"");
    lk_buf_puts(b, gen_countries[(r2 >> 32) % 12]);
    lk_buf_puts(b, "\",\"device\":{\"os\":\"");
    lk_buf_puts(b, gen_os[(r2 >> 40) % 5]);
    lk_buf_puts(b, "\",\"version\":\"");
    gen_u64(b, 1 + (r2 >> 44) % 17, 1);
    lk_buf_putc(b, '.');
    gen_u64(b, (r2 >> 50) % 10, 1);
    lk_buf_puts(b, "\"},\"message\":\"");
    /* Two to four phrases: 20..80 bytes. */
    int n = 2 + (int)(r3 % 3);
    for (int i = 0; i < n; i++) {
        if (i)
            lk_buf_puts(b, " | ");
        lk_buf_puts(b, gen_phrases[(r3 >> (8 + 5 * i)) % GEN_NPHRASES]);
    }
    lk_buf_puts(b, "\"}\n");
}

static void gen_usage(void)
{
    fprintf(stderr, "usage: lk_gen --out DIR --files N --rows M [--seed S] [--start-id K]\n"
                    "              [--prefix events] [--corrupt-every K] [--empty-every K] [--stdout]\n");
}

static int gen_write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* mkdir -p: creates every missing parent of dir. */
static int gen_mkdirs(const char *dir)
{
    char p[4096];
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            return -1;
        *s = '/';
    }
    return mkdir(p, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

int main(int argc, char **argv)
{
    const char *out = NULL, *prefix = "events";
    uint64_t files = 1, rows = 1000, seed = 42, start = 0, corrupt_every = 0, empty_every = 0;
    int to_stdout = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--stdout")) {
            to_stdout = 1;
            continue;
        }
        if (!v) {
            gen_usage();
            return 2;
        }
        i++;
        if (!strcmp(a, "--out"))
            out = v;
        else if (!strcmp(a, "--prefix"))
            prefix = v;
        else if (!strcmp(a, "--files"))
            files = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--rows"))
            rows = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--seed"))
            seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--start-id"))
            start = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--ts-step-ms"))
            g_ts_step_ms = (int64_t)strtoull(v, NULL, 10);
        else if (!strcmp(a, "--corrupt-every"))
            corrupt_every = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--empty-every"))
            empty_every = strtoull(v, NULL, 10);
        else {
            gen_usage();
            return 2;
        }
    }
    if (!to_stdout && !out) {
        gen_usage();
        return 2;
    }
    if (to_stdout)
        files = 1;
    if (out && !to_stdout && gen_mkdirs(out) < 0) {
        fprintf(stderr, "lk_gen: mkdir %s: %s\n", out, strerror(errno));
        return 1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    lk_buf b = LK_BUF_INIT;
    uint64_t row = start, line = 0, ncorrupt = 0, total_bytes = 0, total_rows = 0;
    for (uint64_t f = 0; f < files; f++) {
        lk_buf_reset(&b);
        uint64_t done = 0;
        while (done < rows) {
            line++;
            if (empty_every && line % empty_every == 0) {
                lk_buf_putc(&b, '\n');
                continue;
            }
            if (corrupt_every && line % corrupt_every == 0) {
                lk_buf_puts(&b, gen_corrupt[ncorrupt++ % 4]);
                lk_buf_putc(&b, '\n');
                continue;
            }
            gen_event(&b, seed, row++);
            done++;
        }
        total_rows += done;
        total_bytes += b.len;
        if (to_stdout) {
            if (gen_write_all(1, b.data ? b.data : "", b.len) < 0) {
                fprintf(stderr, "lk_gen: write stdout: %s\n", strerror(errno));
                return 1;
            }
            break;
        }
        char final[4096], tmp[4200];
        /* File numbers continue across runs with --start-id so names do not collide. */
        snprintf(final, sizeof final, "%s/%s-%05" PRIu64 ".jsonl", out, prefix,
                 (rows ? start / rows : 0) + f);
        snprintf(tmp, sizeof tmp, "%s/.%s-%05" PRIu64 ".jsonl.tmp", out, prefix,
                 (rows ? start / rows : 0) + f);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) {
            fprintf(stderr, "lk_gen: open %s: %s\n", tmp, strerror(errno));
            return 1;
        }
        int rc = gen_write_all(fd, b.data ? b.data : "", b.len);
        if (rc < 0 || close(fd) < 0 || rename(tmp, final) < 0) {
            fprintf(stderr, "lk_gen: write %s: %s\n", final, strerror(rc < 0 ? -rc : errno));
            unlink(tmp);
            return 1;
        }
    }
    lk_buf_free(&b);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(to_stdout ? stderr : stdout,
            "lk_gen: files=%" PRIu64 " rows=%" PRIu64 " corrupt=%" PRIu64 " bytes=%" PRIu64
            " seconds=%.3f MB/s=%.1f\n",
            files, total_rows, ncorrupt, total_bytes, s, s > 0 ? (double)total_bytes / 1e6 / s : 0.0);
    return 0;
}
