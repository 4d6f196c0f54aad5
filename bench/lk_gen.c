/*
 * lk_gen — deterministic event generator (tests, benchmarks, sample data).
 *
 *   lk_gen --out DIR --files N --rows M [--seed S] [--start-id K]
 *          [--prefix events] [--corrupt-every K] [--empty-every K] [--stdout]
 *
 * Writes DIR/<prefix>-<NNNNN>.jsonl, N files of M events (ids numbered from
 * start-id, so runs with different start-ids are disjoint). Each line:
 *   {"event_id":"evt-<seed>-<10 digits>","user_id":<long>,"event_type":"...",
 *    "ts":"2026-11-24T09:30:00.123Z","amount":12.50|null,"country":"FR",
 *    "device":{"os":"ios","version":"17.2"},"message":"... escapes, UTF-8 ..."}
 * --corrupt-every K replaces every Kth line by a malformed one (rotating
 * kinds; it uses no event id); --empty-every K adds an empty line every K
 * lines. Files are written to a temp name and renamed into place, so a
 * watcher never sees a partial file.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lk_buf.h"
#include "lk_fs.h"
#include "lk_time.h"

static uint64_t g_rng;

static uint64_t rnd(void)
{
    /* splitmix64: deterministic and fast */
    uint64_t z = (g_rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static const char *TYPES[] = {"page_view", "click", "add_to_cart", "purchase",
                              "login",     "logout", "search",     "share"};
static const char *COUNTRIES[] = {"US", "FR", "DE", "JP", "BR", "IN",
                                  "GB", "ES", "IT", "CA", "MX", "KR"};
static const char *OS[] = {"android", "ios", "linux", "macos", "windows"};
/* JSON-encoded message fragments: escapes, raw UTF-8 and \\u escapes */
static const char *PHRASES[] = {
    "clicked \\\"buy now\\\"",  "path C:\\\\Users\\\\me",     "line one\\nline two",
    "tab\\tseparated",          "caf\xc3\xa9 cr\xc3\xa8me",   "gr\xc3\xbc\xc3\x9f" "e aus M\xc3\xbcnchen",
    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "launch \xf0\x9f\x9a\x80", "launch \\ud83d\\ude80",
    "na\\u00efve r\\u00e9sum\\u00e9", "plain ascii text",     "50% off, today only",
};
static const char *CORRUPT[] = {"{\"event_id\": \"broken", "[1,2,3]", "not json at all",
                                "{\"a\":1} trailing"};

int main(int argc, char **argv)
{
    const char *out = NULL, *prefix = "events";
    long files = 1, rows = 1000, seed = 1, corrupt_every = 0, empty_every = 0;
    long long start_id = 0;
    int to_stdout = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--stdout")) {
            to_stdout = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "lk_gen: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--out"))
            out = v;
        else if (!strcmp(a, "--files"))
            files = atol(v);
        else if (!strcmp(a, "--rows"))
            rows = atol(v);
        else if (!strcmp(a, "--seed"))
            seed = atol(v);
        else if (!strcmp(a, "--start-id"))
            start_id = atoll(v);
        else if (!strcmp(a, "--prefix"))
            prefix = v;
        else if (!strcmp(a, "--corrupt-every"))
            corrupt_every = atol(v);
        else if (!strcmp(a, "--empty-every"))
            empty_every = atol(v);
        else {
            fprintf(stderr, "lk_gen: unknown option %s\n", a);
            return 2;
        }
        i++;
    }
    if ((!out && !to_stdout) || files < 1 || rows < 0) {
        fprintf(stderr, "usage: lk_gen --out DIR --files N --rows M [--seed S] [--start-id K] "
                        "[--prefix P] [--corrupt-every K] [--empty-every K] [--stdout]\n");
        return 2;
    }
    if (out)
        lk_fs_mkdirs(out, NULL);
    g_rng = (uint64_t)seed * 0x9e3779b97f4a7c15ULL + 1;
    int64_t ts = 1795512600000LL + (int64_t)seed * 1000; /* 2026-11-24T09:30Z + seed s */
    long long id = start_id;
    long long total_bytes = 0, total_lines = 0;
    lk_buf b = LK_BUF_INIT;
    for (long f = 0; f < files; f++) {
        lk_buf_reset(&b);
        long line = 0;
        for (long r = 0; r < rows; r++) {
            line++;
            if (empty_every && line % empty_every == 0)
                lk_buf_putc(&b, '\n');
            if (corrupt_every && line % corrupt_every == 0) {
                lk_buf_puts(&b, CORRUPT[(line / corrupt_every) % 4]);
                lk_buf_putc(&b, '\n');
                total_lines++;
            }
            ts += (int64_t)(rnd() % 50);
            char tsb[40];
            lk_time_format_iso_ms(ts * 1000, tsb, sizeof tsb);
            uint64_t x = rnd();
            lk_buf_printf(&b,
                          "{\"event_id\":\"evt-%ld-%010lld\",\"user_id\":%llu,"
                          "\"event_type\":\"%s\",\"ts\":\"%s\",",
                          seed, id++, (unsigned long long)(x % 1000000), TYPES[(x >> 20) % 8], tsb);
            if ((x >> 24) % 10 < 3)
                lk_buf_puts(&b, "\"amount\":null,");
            else
                lk_buf_printf(&b, "\"amount\":%llu.%02llu,", (unsigned long long)((x >> 28) % 500),
                              (unsigned long long)((x >> 40) % 100));
            lk_buf_printf(&b,
                          "\"country\":\"%s\",\"device\":{\"os\":\"%s\",\"version\":\"%llu.%llu\"},"
                          "\"message\":\"%s; %s #%llu\"}\n",
                          COUNTRIES[(x >> 44) % 12], OS[(x >> 48) % 5],
                          (unsigned long long)((x >> 52) % 20 + 1), (unsigned long long)((x >> 56) % 10),
                          PHRASES[rnd() % 12], PHRASES[rnd() % 12],
                          (unsigned long long)(rnd() % 100000));
            total_lines++;
        }
        total_bytes += (long long)b.len;
        if (to_stdout) {
            fwrite(b.data, 1, b.len, stdout);
            continue;
        }
        char tmp[4096], final[4096];
        snprintf(final, sizeof final, "%s/%s-%05ld.jsonl", out, prefix, f);
        snprintf(tmp, sizeof tmp, "%s/.%s-%05ld.jsonl.tmp", out, prefix, f);
        FILE *fp = fopen(tmp, "wb");
        if (!fp || fwrite(b.data, 1, b.len, fp) != b.len || fclose(fp) != 0) {
            fprintf(stderr, "lk_gen: cannot write %s: %s\n", tmp, strerror(errno));
            return 1;
        }
        if (rename(tmp, final) != 0) {
            fprintf(stderr, "lk_gen: cannot rename %s: %s\n", tmp, strerror(errno));
            return 1;
        }
    }
    lk_buf_free(&b);
    fprintf(stderr, "lk_gen: %ld files, %lld lines, %lld bytes\n", files, total_lines, total_bytes);
    return 0;
}
