/* lk_json_corpus — JSON lines for the differential tests of a fast path
   against yajl (test_json_fast: the reader's scanner; test_infer: the
   inference's shape scanner): a corpus of hand-written lines (BASE) and
   random mutations of them (mutate: bytes, escapes, numbers, literals,
   structure), from a fixed seed. Header only: each test is one program. */
#ifndef LK_JSON_CORPUS_H
#define LK_JSON_CORPUS_H

#include <string.h>

#include "lk_buf.h"

static const char *BASE[] = {
    "{\"event_id\":\"evt-42-0000000000\",\"user_id\":32302,\"event_type\":\"click\","
    "\"ts\":\"2026-11-24T09:30:00.021Z\",\"amount\":134.27,\"country\":\"BR\","
    "\"device\":{\"os\":\"macos\",\"version\":\"15.7\"},"
    "\"message\":\"escaped rocket \\ud83d\\ude80 here | \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e text\"}",
    "{\"event_id\":\"e2\",\"user_id\":-7,\"amount\":null,\"device\":{\"os\":\"linux\"},"
    "\"message\":\"mixed \\\"q\\\" \\\\ \\n end \\/ \\b\\f\\r\\t \\u00e9\\u20AC\"}",
    "{ \"n\" : 2147483647 , \"s\" : -32768, \"by\": 127, \"b\": true, \"f\": 1.5e3, "
    "\"d\": 12.5, \"t\": \"2026-01-02T03:04:05Z\", \"dt\": \"2026-01-02\" }",
    "{\"tags\":[\"a\",\"b\",null,1,true,{\"x\":1},[2]],\"m\":{\"k\":1,\"j\":-2,\"z\":1.5},"
    "\"extra\":{\"a\":[1,{\"b\":null}],\"c\":\"\\u0041\"}}",
    "{\"user_id\":12345678901234567890,\"amount\":0.1e-30,\"n\":2147483648,\"s\":40000,"
    "\"f\":-0.0,\"d\":\"12.50\",\"message\":{\"nested\":[1,2,{\"q\":\"\\\"\"}]}}",
    "{\"amount\":1e22,\"user_id\":-0,\"event_type\":false,\"country\":12.25,\"device\":\"str\","
    "\"tags\":[],\"m\":{},\"device\":{\"os\":\"dup\"}}",
    "{\"\xc3\xa9t\xc3\xa9\":1,\"\":2,\"a.b\":[[]],\"_metadata\":3,\"EVENT_ID\":\"case\"}",
    "{\"amount\":123456789012345678,\"user_id\":1.0,\"n\":1e2,\"amount\":2}",
    "{}",
    "  {\"event_id\" :\t\"tabs\"\t}  \r",
};

static const char *TOKENS[] = {
    "\\ud83d", "\\udc00", "\\u0000", "\\ud83d\\u0041", "1e400", "-0", "0.1e-30",
    "12345678901234567890", "true", "nul", "[1,2]", "{\"a\":1}", "\"\\u00e9\"", "\xed\xa0\x80",
    "\xc0\xaf", "\xf4\x90\x80\x80", "\xe2\x82", "01", "1.", ".5", "-", "1e", "1e+", "\\x",
    "\"", "\\", "}", "]", ",", ":", "\x0b", "\x0c", "\n", "/*c*/", "NaN", "Infinity",
    "9007199254740993", "0.30000000000000004", "1.7976931348623157e308", "4.9e-324",
};
static const char ALPHA[] = "{}[],:\"\\u019-+.eEtfn \t\rAazdDC8\x01\x7f\xc3\xa9\xed\xa0\x80\xf0\x9f"
                            "\x98\xff\x00";

static unsigned long long rng = 88172645463325252ull;
static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static void mutate(lk_buf *out, const char *line)
{
    lk_buf b = LK_BUF_INIT;
    lk_buf_append(&b, line, strlen(line));
    int k = 1 + (int)rnd(3);
    for (int m = 0; m < k; m++) {
        size_t at = b.len ? rnd((unsigned)b.len + 1) : 0;
        lk_buf t = LK_BUF_INIT;
        lk_buf_append(&t, b.data, at);
        switch (rnd(4)) {
        case 0: /* replace a byte */
            lk_buf_putc(&t, ALPHA[rnd(sizeof ALPHA - 1)]);
            if (at < b.len)
                at++;
            break;
        case 1: lk_buf_putc(&t, ALPHA[rnd(sizeof ALPHA - 1)]); break;
        case 2: if (at < b.len) at++; break; /* delete */
        default: lk_buf_puts(&t, TOKENS[rnd(sizeof TOKENS / sizeof *TOKENS)]); break;
        }
        lk_buf_append(&t, b.data + at, b.len - at);
        lk_buf_free(&b);
        b = t;
    }
    for (size_t i = 0; i < b.len; i++)
        if (b.data[i] == '\n')
            b.data[i] = ' '; /* one line per record */
    lk_buf_append(out, b.data, b.len);
    lk_buf_putc(out, '\n');
    lk_buf_free(&b);
}

/* n lines of BASE, one in every `raw` as it is, the others mutated. */
static void corpus_lines(lk_buf *out, int n, unsigned raw)
{
    for (int i = 0; i < n; i++) {
        const char *line = BASE[rnd(sizeof BASE / sizeof *BASE)];
        if (rnd(raw) == 0) {
            lk_buf_puts(out, line);
            lk_buf_putc(out, '\n');
        } else {
            mutate(out, line);
        }
    }
}

#endif
