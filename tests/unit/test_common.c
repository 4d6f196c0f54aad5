/* Unit tests for common/: lk_buf, lk_time, lk_fs, lk_error, lk_log. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_check.h"
#include "lk_buf.h"
#include "lk_bytes.h"
#include "lk_child.h"
#include "lk_fault.h"
#include "lk_fs.h"
#include "lk_log.h"
#include "lk_time.h"
#include "lk_tz.h"

START_TEST(buf_json_escapes)
{
    lk_buf b = LK_BUF_INIT;
    lk_buf_json_string(&b, "a\"b\\c\n\x01", 7);
    ck_assert_str_eq(b.data, "\"a\\\"b\\\\c\\n\\u0001\"");
    lk_buf_reset(&b);
    ck_assert_uint_eq(b.len, 0);
    lk_buf_printf(&b, "%d-%s", 42, "x");
    ck_assert_str_eq(b.data, "42-x");
    lk_buf_free(&b);
}
END_TEST

/* Every byte sequence becomes valid UTF-8 JSON (issue 17: a file name's raw bytes made a
   Delta commit unreadable): well-formed sequences kept, anything else U+FFFD. */
START_TEST(buf_json_string_is_always_utf8)
{
    static const struct {
        const char *in;
        size_t n;
        const char *out;
    } cases[] = {
        {"caf\xc3\xa9 \xf0\x9f\x9a\x80", 10, "\"caf\xc3\xa9 \xf0\x9f\x9a\x80\""},
        {"caf\xe9", 4, "\"caf\\ufffd\""},                         /* Latin-1 */
        {"\x80\xbf", 2, "\"\\ufffd\\ufffd\""},                    /* lone continuations */
        {"\xc0\xaf", 2, "\"\\ufffd\\ufffd\""},                    /* overlong '/' */
        {"\xe0\x80\xaf", 3, "\"\\ufffd\\ufffd\\ufffd\""},          /* overlong, 3 bytes */
        {"\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\""},          /* a surrogate */
        {"\xf4\x90\x80\x80", 4, "\"\\ufffd\\ufffd\\ufffd\\ufffd\""}, /* above U+10FFFF */
        {"\xe2\x82", 2, "\"\\ufffd\\ufffd\""},                    /* truncated */
        {"a\0b\xff", 4, "\"a\\u0000b\\ufffd\""},
    };
    lk_buf b = LK_BUF_INIT;
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        lk_buf_reset(&b);
        lk_buf_json_string(&b, cases[k].in, cases[k].n);
        ck_assert_msg(!strcmp(b.data, cases[k].out), "case %zu: %s", k, b.data);
    }
    /* a long run of invalid bytes (the buffer grows by 6 per byte) */
    char bad[3000];
    memset(bad, 0xff, sizeof bad);
    lk_buf_reset(&b);
    lk_buf_json_string(&b, bad, sizeof bad);
    ck_assert_uint_eq(b.len, 2 + 6 * sizeof bad);
    lk_buf_free(&b);
}
END_TEST

START_TEST(buf_numbers_and_decimals)
{
    lk_buf b = LK_BUF_INIT;
    lk_buf_number(&b, 364.91, 0);
    lk_buf_putc(&b, ' ');
    lk_buf_number(&b, 0.1, 0);
    lk_buf_putc(&b, ' ');
    lk_buf_number(&b, 1e300, 0);
    ck_assert_str_eq(b.data, "364.91 0.1 1e+300");
    lk_buf_reset(&b);
    lk_buf_decimal_i64(&b, -12345, 2);
    lk_buf_putc(&b, ' ');
    lk_buf_decimal_i64(&b, 5, 3);
    lk_buf_putc(&b, ' ');
    lk_buf_decimal_i64(&b, 42, 0);
    ck_assert_str_eq(b.data, "-123.45 0.005 42");
    /* wider than 64 bits: 2^70 + 1 = 1180591620717411303425, and its negation */
    unsigned char be[16] = {0};
    be[7] = 0x40;
    be[15] = 1;
    lk_buf_reset(&b);
    lk_buf_decimal_be(&b, be, 16, 3);
    ck_assert_str_eq(b.data, "1180591620717411303.425");
    unsigned char neg[16];
    for (int i = 0; i < 16; i++)
        neg[i] = (unsigned char)~be[i];
    for (int i = 15; i >= 0 && ++neg[i] == 0; i--)
        ;
    lk_buf_reset(&b);
    lk_buf_decimal_be(&b, neg, 16, 3);
    ck_assert_str_eq(b.data, "-1180591620717411303.425");
    unsigned char short_neg[2] = {0xff, 0x85}; /* -123 in two bytes */
    lk_buf_reset(&b);
    lk_buf_decimal_be(&b, short_neg, 2, 1);
    ck_assert_str_eq(b.data, "-12.3");
    lk_buf_free(&b);
}
END_TEST

/* Region zones from the system's TZif files: transitions, the footer's rule past them, gaps and
   overlaps as java.time resolves them; names java.time would not take are not zones. */
START_TEST(tz_regions)
{
    const lk_tz *paris = lk_tz_find("Europe/Paris", 12);
    ck_assert_ptr_nonnull(paris);
    ck_assert_ptr_eq(lk_tz_find("Europe/Paris", 12), paris);    /* loaded once */
    ck_assert_int_eq(lk_tz_offset_at(paris, 1714989600), 7200); /* 2024-05-06: CEST */
    ck_assert_int_eq(lk_tz_offset_at(paris, 1704535200), 3600); /* 2024-01-06: CET */
    ck_assert_int_eq(lk_tz_offset_at(paris, 4118083200), 7200); /* 2100-07-01: the rule */
    ck_assert_int_eq(lk_tz_offset_at(paris, -2524521600), 561); /* 1890: Paris mean time */
    /* 2024-03-31 02:30 does not exist: 03:30 CEST; 2024-10-27 02:30 twice: the CEST one */
    ck_assert_int_eq(lk_tz_utc_of_local(paris, 1711852200), 1711848600);
    ck_assert_int_eq(lk_tz_utc_of_local(paris, 1729996200), 1729989000);
    const lk_tz *dublin = lk_tz_find("Europe/Dublin", 13); /* a negative DST in its rule */
    ck_assert_ptr_nonnull(dublin);
    ck_assert_int_eq(lk_tz_offset_at(dublin, 4102444800), 0);    /* 2100-01-01: GMT */
    ck_assert_int_eq(lk_tz_offset_at(dublin, 4118083200), 3600); /* 2100-07-01: IST */
    ck_assert_ptr_null(lk_tz_find("Mars/Base", 9));
    ck_assert_ptr_null(lk_tz_find("europe/paris", 12)); /* java.time's ids are case-sensitive */
    ck_assert_ptr_null(lk_tz_find("posixrules", 10));
    ck_assert_ptr_null(lk_tz_find("right/UTC", 9));
    ck_assert_ptr_null(lk_tz_find("../zoneinfo/UTC", 15));
    ck_assert_ptr_null(lk_tz_find("/etc/passwd", 11));
    ck_assert_ptr_null(lk_tz_find("zone.tab", 8)); /* a file, not a TZif one */
}
END_TEST

/* The smallest TZif v2 image of one type (offset off) and the transitions at[0..nt) (to that
   type), with the POSIX rule text as footer: what tests/fuzz/fuzz_tz.c wraps a rule in. */
static size_t tz_image(unsigned char *img, int32_t off, const int64_t *at, int nt, const char *rule)
{
    unsigned char type[10] = {0, 0, 0, 0, 0, 0, 'U', 'T', 'C'};
    for (int j = 0; j < 4; j++)
        type[j] = (unsigned char)((uint32_t)off >> (24 - 8 * j));
    memset(img, 0, 44);
    memcpy(img, "TZif2", 5);
    img[39] = 1;                /* typecnt */
    img[43] = 4;                /* charcnt */
    memcpy(img + 44, type, 10); /* v1: no transition, the type */
    size_t n = 54;
    memcpy(img + n, img, 44);
    img[n + 35] = (unsigned char)nt; /* timecnt */
    n += 44;
    for (int k = 0; k < nt; k++, n += 8)
        for (int j = 0; j < 8; j++)
            img[n + j] = (unsigned char)((uint64_t)at[k] >> (56 - 8 * j));
    memset(img + n, 0, (size_t)nt); /* indices */
    n += (size_t)nt;
    memcpy(img + n, type, 10);
    n += 10;
    img[n++] = '\n';
    memcpy(img + n, rule, strlen(rule));
    n += strlen(rule);
    img[n++] = '\n';
    return n;
}

/* fuzz_tz's findings and what the reader refuses (tests/fuzz/seeds/tz/regression-*). */
START_TEST(tz_parse_from_memory)
{
    unsigned char img[512];
    static const int64_t y2000[] = {946684800};
    /* seeds/tz/regression-two-changes-in-a-day: EDT ends 2024-01-01T00:00Z, starts again at 05:00Z
       (a local hour twice, then one missing, 5 h apart): the one-day bracket of the offsets took
       23:59:58 local for 03:59:58Z (a local 22:59:58) */
    lk_tz *z = lk_tz_parse(img, tz_image(img, 0, y2000, 1, "EST5EDT,0/0,J365/20"));
    ck_assert_ptr_nonnull(z);
    ck_assert_int_eq(lk_tz_offset_at(z, 1704067199), -14400);        /* 19:59:59 EDT */
    ck_assert_int_eq(lk_tz_offset_at(z, 1704067200), -18000);        /* 19:00 EST */
    ck_assert_int_eq(lk_tz_offset_at(z, 1704085200), -14400);        /* 01:00 EDT */
    ck_assert_int_eq(lk_tz_utc_of_local(z, 1704067198), 1704085198); /* 23:59:58 */
    ck_assert_int_eq(lk_tz_utc_of_local(z, 1704051000), 1704065400); /* 19:30: EDT's */
    ck_assert_int_eq(lk_tz_utc_of_local(z, 1704069000), 1704087000); /* 00:30: 01:30 EDT */
    lk_tz_free(z);
    /* offsets beyond +-18 h (java.time's bound): no zone, or no rule */
    ck_assert_ptr_null(lk_tz_parse(img, tz_image(img, 18 * 3600 + 1, NULL, 0, "")));
    z = lk_tz_parse(img, tz_image(img, -3600, NULL, 0, "AAA19"));
    ck_assert_ptr_nonnull(z);
    ck_assert_int_eq(lk_tz_offset_at(z, 0), -3600);
    lk_tz_free(z);
    /* strtol took "4294967299" for 3 and a sign: a month of three digits at most */
    z = lk_tz_parse(img, tz_image(img, 3600, y2000, 1, "CET-1CEST,M4294967299.5.0,M10.5.0/3"));
    ck_assert_ptr_nonnull(z);
    ck_assert_int_eq(lk_tz_offset_at(z, 1719792000), 3600); /* 2024-07-01: the type, no rule */
    lk_tz_free(z);
    z = lk_tz_parse(img, tz_image(img, 3600, y2000, 1, "CET-1CEST,M3.5.0,M10.5.0/3"));
    ck_assert_int_eq(lk_tz_offset_at(z, 1719792000), 7200);
    lk_tz_free(z);
    /* transitions out of order (RFC 8536: ascending) */
    static const int64_t sorted[] = {915148800, 946684800}, unsorted[] = {946684800, 915148800};
    ck_assert_ptr_nonnull((z = lk_tz_parse(img, tz_image(img, 0, sorted, 2, "UTC0"))));
    lk_tz_free(z);
    ck_assert_ptr_null(lk_tz_parse(img, tz_image(img, 0, unsorted, 2, "UTC0")));
    ck_assert_ptr_null(lk_tz_parse((const unsigned char *)"TZif2", 5));
    lk_tz_free(NULL);
}
END_TEST

/* Every TZif file of the system's database still reads (the bounds above refuse none). */
START_TEST(tz_every_system_zone_reads)
{
    FILE *p = popen("find -L /usr/share/zoneinfo -type f -size -128k 2>/dev/null", "r");
    ck_assert_ptr_nonnull(p);
    char path[1024];
    int n = 0;
    static unsigned char buf[1 << 17];
    while (fgets(path, sizeof path, p)) {
        path[strcspn(path, "\n")] = 0;
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        size_t len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        if (len < 4 || memcmp(buf, "TZif", 4)) continue;
        lk_tz *z = lk_tz_parse(buf, len);
        ck_assert_msg(z != NULL, "%s refused", path);
        lk_tz_free(z);
        n++;
    }
    pclose(p);
    ck_assert_int_ge(n, 300);
}
END_TEST

START_TEST(time_parse_iso)
{
    int64_t us;
    ck_assert_int_eq(lk_time_parse_iso("1970-01-01T00:00:00Z", 20, &us), 0);
    ck_assert_int_eq(us, 0);
    ck_assert_int_eq(lk_time_parse_iso("2026-11-24T09:30:00.123Z", 24, &us), 0);
    ck_assert_int_eq(us, 1795512600123000LL);
    ck_assert_int_eq(lk_time_parse_iso("2026-11-24T11:30:00.123+02:00", 29, &us), 0);
    ck_assert_int_eq(us, 1795512600123000LL);
    ck_assert_int_eq(lk_time_parse_iso("1969-12-31T23:59:59.5Z", 22, &us), 0);
    ck_assert_int_eq(us, -500000);
    ck_assert_int_eq(lk_time_parse_iso("2026-13-01", 10, &us), -1);
    ck_assert_int_eq(lk_time_parse_iso("hello", 5, &us), -1);
    ck_assert_int_eq(lk_time_parse_iso("2026-11-24T09:30:00Zjunk", 24, &us), -1);
    /* impossible dates and times are refused, never rolled over (java.time's LocalDate.of) */
    ck_assert_int_eq(lk_time_parse_iso("2024-04-31T10:00:00Z", 20, &us), -1);
    ck_assert_int_eq(lk_time_parse_iso("2023-02-29 10:00:00", 19, &us), -1);
    ck_assert_int_eq(lk_time_parse_iso("2024-06-31", 10, &us), -1);
    ck_assert_int_eq(lk_time_parse_iso("1900-02-29", 10, &us), -1);
    ck_assert_int_eq(lk_time_parse_iso("2024-05-06T23:59:60Z", 20, &us), -1);
    ck_assert_int_eq(lk_time_parse_iso("2024-05-06T10:00:00+19:00", 25, &us), -1);
    ck_assert_int_eq(lk_time_parse_iso("2024-05-06T10:00:00+01:60", 25, &us), -1);
    ck_assert_int_eq(lk_time_parse_iso("2024-02-29", 10, &us), 0);
    ck_assert_int_eq(lk_time_parse_iso("2000-02-29T23:59:59Z", 20, &us), 0);
    ck_assert_int_eq(lk_time_parse_iso("2024-05-06T10:00:00-18:00", 25, &us), 0);
    /* what JSON type detection took before stays taken */
    ck_assert_int_eq(lk_time_parse_iso("2024-05-06t10:00:00,5z", 22, &us), 0);
    ck_assert_int_eq(us, 1714989600500000LL);
    char out[40];
    lk_time_format_iso_ms(1795512600123000LL, out, sizeof out);
    ck_assert_str_eq(out, "2026-11-24T09:30:00.123Z");
    lk_time_format_iso_ms(-500000, out, sizeof out);
    ck_assert_str_eq(out, "1969-12-31T23:59:59.500Z");
}
END_TEST

/* lk_bytes_common_prefix against a byte loop: every length 0..40, a difference at every place. */
START_TEST(bytes_common_prefix)
{
    unsigned char a[48], b[48];
    for (size_t n = 0; n <= 40; n++) {
        for (size_t d = 0; d <= n; d++) {
            for (size_t i = 0; i < n; i++)
                a[i] = b[i] = (unsigned char)(i * 37 + n);
            if (d < n) b[d] ^= (unsigned char)(1u << (d % 8));
            size_t want = 0;
            while (want < n && a[want] == b[want])
                want++;
            ck_assert_uint_eq(lk_bytes_common_prefix(a, b, n), want);
            size_t m = n ? n - 1 : 0, want1 = 0; /* unaligned */
            while (want1 < m && a[1 + want1] == b[1 + want1])
                want1++;
            ck_assert_uint_eq(lk_bytes_common_prefix(a + 1, b + 1, m), want1);
        }
    }
}
END_TEST

START_TEST(fs_put_if_absent)
{
    char dir[256];
    lk_check_mkdtemp(dir, sizeof dir, "fs");
    char path[512];
    snprintf(path, sizeof path, "%s/a/b/00000.json", dir);
    char sub[512];
    snprintf(sub, sizeof sub, "%s/a/b", dir);
    lk_error err;
    ck_assert_int_eq(lk_fs_mkdirs(sub, &err), 0);
    ck_assert_int_eq(lk_fs_put_if_absent(path, "one", 3, &err), 0);
    ck_assert_int_eq(lk_fs_put_if_absent(path, "two", 3, &err), -EEXIST);
    lk_buf b = LK_BUF_INIT;
    ck_assert_int_eq(lk_fs_read_file(path, &b, 100, &err), 0);
    ck_assert_str_eq(b.data, "one");
    lk_buf_reset(&b);
    ck_assert_int_eq(lk_fs_read_file(path, &b, 2, &err), LK_ELIMIT);
    lk_buf_free(&b);
    /* a fault at the write point fails cleanly and leaves no file */
    setenv("LAKESUP_FAULT", "fs.write=ENOSPC", 1);
    lk_fault_reload();
    snprintf(path, sizeof path, "%s/a/b/00001.json", dir);
    ck_assert_int_eq(lk_fs_put_if_absent(path, "x", 1, &err), -ENOSPC);
    ck_assert(!lk_fs_exists(path));
    unsetenv("LAKESUP_FAULT");
    lk_fault_reload();
    lk_check_rm_rf(dir);
}
END_TEST

/* A child's environment made before fork: set replaces a variable of its name (not one whose name
   it only begins), drop removes one, the rest is this process's. */
START_TEST(child_environ_sets_and_drops)
{
    setenv("LK_T_A", "1", 1);
    setenv("LK_T_AB", "2", 1);
    setenv("LK_T_GONE", "3", 1);
    const char *set[] = {"LK_T_A=new", "LK_T_NEW=x"}, *drop[] = {"LK_T_GONE"};
    const char **e = lk_child_environ(set, 2, drop, 1);
    int a = 0, ab = 0, gone = 0, added = 0, path = 0, n = 0;
    for (; e[n]; n++) {
        a += !strcmp(e[n], "LK_T_A=new") * 10 + !strcmp(e[n], "LK_T_A=1");
        ab += !strcmp(e[n], "LK_T_AB=2");
        gone += !strncmp(e[n], "LK_T_GONE=", 10);
        added += !strcmp(e[n], "LK_T_NEW=x");
        path += !strncmp(e[n], "PATH=", 5);
    }
    ck_assert_int_eq(a, 10); /* the new value, once; the old one gone */
    ck_assert_int_eq(ab, 1);
    ck_assert_int_eq(gone, 0);
    ck_assert_int_eq(added, 1);
    ck_assert_int_eq(path, getenv("PATH") ? 1 : 0);
    free(e);
    unsetenv("LK_T_A");
    unsetenv("LK_T_AB");
    unsetenv("LK_T_GONE");
}
END_TEST

/* The last error a process reports (status): a condition's lines are withdrawn when it ends, and
   the line before them is the last error again; an INFO line, or a WARN below the level, marks
   nothing (an older line must never be withdrawn for it). */
START_TEST(log_last_error_withdrawn_when_over)
{
    lk_log_init("test", 0);
    ck_assert_str_eq(lk_log_last_error(), "");
    lk_log_cond alert = {0}, receiver = {0}, quiet = {0};
    LK_WARN("an older warning");
    LK_WARN("alert firing: backlog");
    lk_log_note(&alert);
    ck_assert_str_eq(lk_log_last_error(), "alert firing: backlog");
    LK_WARN("not delivered (attempt 1)");
    lk_log_note(&receiver);
    LK_WARN("not delivered (attempt 2)");
    lk_log_note(&receiver);
    LK_INFO("an info line");
    lk_log_note(&receiver); /* no WARN line logged: nothing noted */
    ck_assert_str_eq(lk_log_last_error(), "not delivered (attempt 2)");
    lk_log_over(&receiver);
    ck_assert_str_eq(lk_log_last_error(), "alert firing: backlog");
    lk_log_over(&alert);
    ck_assert_str_eq(lk_log_last_error(), "an older warning");
    lk_log_over(&alert); /* twice: nothing more */
    ck_assert_str_eq(lk_log_last_error(), "an older warning");
    /* a condition over after later lines withdraws its own only */
    LK_WARN("alert firing: lag");
    lk_log_note(&alert);
    LK_ERROR("disk full");
    lk_log_over(&alert);
    ck_assert_str_eq(lk_log_last_error(), "disk full");
    /* below the level: not logged, not kept, nothing to note */
    lk_log_set_level(LK_LOG_ERROR);
    LK_WARN("dropped");
    lk_log_note(&quiet);
    ck_assert_int_eq(quiet.n, 0);
    lk_log_over(&quiet);
    ck_assert_str_eq(lk_log_last_error(), "disk full");
    lk_log_set_level(LK_LOG_INFO);
    /* a condition noted more often than lines are kept: all of them withdrawn */
    for (int i = 0; i < 3 * LK_LOG_KEPT; i++) {
        LK_WARN("retry %d", i);
        lk_log_note(&receiver);
    }
    lk_log_over(&receiver);
    ck_assert_str_eq(lk_log_last_error(), "");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("common");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, buf_json_escapes);
    tcase_add_test(tc, buf_json_string_is_always_utf8);
    tcase_add_test(tc, buf_numbers_and_decimals);
    tcase_add_test(tc, time_parse_iso);
    tcase_add_test(tc, tz_regions);
    tcase_add_test(tc, tz_parse_from_memory);
    tcase_add_test(tc, tz_every_system_zone_reads);
    tcase_add_test(tc, fs_put_if_absent);
    tcase_add_test(tc, bytes_common_prefix);
    tcase_add_test(tc, child_environ_sets_and_drops);
    tcase_add_test(tc, log_last_error_withdrawn_when_over);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
