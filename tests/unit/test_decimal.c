/* Unit tests for lake/lk_decimal: exact decimal text to DECIMAL(p,s)
   unscaled values, int64 up to p = 18 and 16-byte big-endian two's
   complement beyond, refusing anything lossy. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "lk_buf.h"
#include "lk_check.h"
#include "lk_decimal.h"

/* The decimal text of be16 at scale (lk_buf_decimal_be, as the tables print it). */
static const char *text(const unsigned char be[16], int scale)
{
    static char out[64];
    lk_buf b = LK_BUF_INIT;
    lk_buf_decimal_be(&b, be, 16, scale);
    snprintf(out, sizeof out, "%.*s", (int)b.len, b.data);
    lk_buf_free(&b);
    return out;
}

#define P(s, p, sc, v, be) lk_decimal_parse(s, strlen(s), p, sc, v, be)

START_TEST(wide_values_exact)
{
    unsigned char be[16];
    ck_assert_int_eq(P("1234567890123456789012345678.0123456789", 38, 10, NULL, be), 0);
    ck_assert_str_eq(text(be, 10), "1234567890123456789012345678.0123456789");
    ck_assert_int_eq(P("-1234567890123456789012345678.0123456789", 38, 10, NULL, be), 0);
    ck_assert_str_eq(text(be, 10), "-1234567890123456789012345678.0123456789");
    ck_assert(be[0] & 0x80); /* two's complement: negative */
    ck_assert_int_eq(P("99999999999999999999999999999999999999", 38, 0, NULL, be), 0);
    ck_assert_str_eq(text(be, 0), "99999999999999999999999999999999999999");
    ck_assert_int_eq(P("-99999999999999999999999999999999999999", 38, 0, NULL, be), 0);
    ck_assert_str_eq(text(be, 0), "-99999999999999999999999999999999999999");
    ck_assert_int_eq(P("100000000000000000000000000000000000000", 38, 0, NULL, be), -1);
    ck_assert_int_eq(P("0.5", 38, 10, NULL, be), 0);
    ck_assert_str_eq(text(be, 10), "0.5000000000");
    ck_assert_int_eq(P("-0", 20, 2, NULL, be), 0);
    ck_assert_str_eq(text(be, 2), "0.00");
    ck_assert_int_eq(P("+007.10", 20, 2, NULL, be), 0); /* leading zeros, trailing zero */
    ck_assert_str_eq(text(be, 2), "7.10");
    ck_assert_int_eq(P("1.0000000000000", 20, 2, NULL, be), 0); /* zeros past the scale */
    ck_assert_int_eq(P("1.001", 20, 2, NULL, be), -1);          /* lossy: refused */
    ck_assert_int_eq(P("123456789012345678901", 20, 0, NULL, be), -1); /* 21 digits > 20 */
    ck_assert_int_eq(P("12345678901234567890", 20, 1, NULL, be), -1);  /* 21 with the scale */
}
END_TEST

START_TEST(narrow_values_and_refusals)
{
    int64_t v = 0;
    ck_assert_int_eq(P("12.5", 10, 2, &v, NULL), 0);
    ck_assert_int_eq(v, 1250);
    ck_assert_int_eq(P("-999999999999999999", 18, 0, &v, NULL), 0);
    ck_assert_int_eq(v, -999999999999999999LL);
    ck_assert_int_eq(P("1234567890123456789", 18, 0, &v, NULL), -1);
    static const char *bad[] = {"", "-", ".", "1e3", "1.2.3", "0x10", " 1", "1 ", "--1", "1,5",
                                "NaN"};
    unsigned char be[16];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(P(bad[i], 38, 2, &v, be) == -1, "'%s' accepted", bad[i]);
        ck_assert_msg(P(bad[i], 10, 2, &v, be) == -1, "'%s' accepted", bad[i]);
    }
    ck_assert_int_eq(P(".5", 10, 2, &v, NULL), 0); /* as the JSON reader always did */
    ck_assert_int_eq(v, 50);
    ck_assert_int_eq(P("1", 0, 0, &v, NULL), -1);  /* precision out of range */
    ck_assert_int_eq(P("1", 39, 0, NULL, be), -1);
    ck_assert_int_eq(P("1", 5, 6, &v, NULL), -1);  /* scale > precision */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("decimal");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, wide_values_exact);
    tcase_add_test(tc, narrow_values_and_refusals);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
