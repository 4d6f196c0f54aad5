/* lk_sql_regex — LIKE and PCRE2 kernels; see lk_sql_regex.h. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "lk_sql_regex.h"

#include <ctype.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "lk_bytes.h"

static size_t clen(const char *s, size_t i, size_t n)
{
    size_t l = lk_utf8_len((const unsigned char *)s + i, (const unsigned char *)s + n);
    return l ? l : 1;
}

static int ascii(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80) return 0;
    return 1;
}

int lk_sql_like_match(const char *s, size_t sn, const char *p, size_t pn, char esc, int ci)
{
    size_t si = 0, pi = 0, star_p = (size_t)-1, star_s = 0;
    while (si < sn) {
        if (pi < pn) {
            char pc = p[pi];
            if (pc == '%') {
                star_p = ++pi;
                star_s = si;
                continue;
            }
            if (pc == '_') {
                si += clen(s, si, sn);
                pi++;
                continue;
            }
            size_t lit = pi, ll;
            if (pc == esc && esc && pi + 1 < pn) lit = pi + 1;
            ll = clen(p, lit, pn);
            size_t sl = clen(s, si, sn);
            int eq = ll == sl && !memcmp(p + lit, s + si, ll);
            if (!eq && ci && ll == 1 && sl == 1)
                eq = tolower((unsigned char)p[lit]) == tolower((unsigned char)s[si]);
            if (eq) {
                si += sl;
                pi = lit + ll;
                continue;
            }
        }
        if (star_p == (size_t)-1) return 0;
        pi = star_p;
        star_s += clen(s, star_s, sn);
        si = star_s;
    }
    while (pi < pn && p[pi] == '%')
        pi++;
    return pi == pn;
}

static void k_like(lk_sql_kctx *k)
{
    char esc = '\\';
    int ci = k->node->fn == LK_FN_ILIKE;
    if (k->na == 3) {
        const lk_sql_node *e = k->node->args[2];
        e = lk_sql_node_value(e);
        esc = e->slen ? e->s[0] : 0;
    }
    lk_sql_out_fixed(k->out, k->n);
    lk_sql_out_and_validity(k->out, k->a, 2, k->n);
    uint8_t *o = k->out->values;
    lk_buf ls = LK_BUF_INIT, lp = LK_BUF_INIT;
    for (uint32_t i = 0; i < k->n; i++) {
        size_t sn, pn;
        const char *s = lk_col_bytes(k->a[0], i, &sn), *p = lk_col_bytes(k->a[1], i, &pn);
        if (ci && !(ascii(s, sn) && ascii(p, pn))) {
            /* Spark: ILIKE is lower(s) LIKE lower(pattern), Unicode's full lower case */
            lk_sql_case_full(s, sn, 0, &ls);
            lk_sql_case_full(p, pn, 0, &lp);
            o[i] = (uint8_t)lk_sql_like_match(ls.len ? ls.data : "", ls.len,
                                              lp.len ? lp.data : "", lp.len, esc, 0);
            continue;
        }
        o[i] = (uint8_t)lk_sql_like_match(s, sn, p, pn, esc, ci);
    }
    lk_buf_free(&ls);
    lk_buf_free(&lp);
    lk_sql_out_done(k->out);
}

typedef struct rx {
    pcre2_code *re;
    pcre2_match_data *md;
    uint32_t groups;
    int group; /* regexp_extract with a constant group, or -1 */
} rx;

static void rx_free(void *p)
{
    rx *r = p;
    if (!r) return;
    pcre2_match_data_free(r->md);
    pcre2_code_free(r->re);
    free(r);
}

static int match(rx *r, const char *s, size_t n, size_t start)
{
    int rc = pcre2_match(r->re, (PCRE2_SPTR)s, n, start, 0, r->md, NULL);
    return rc;
}

static void k_rlike(lk_sql_kctx *k)
{
    rx *r = k->aux;
    lk_sql_out_fixed(k->out, k->n);
    lk_sql_out_and_validity(k->out, k->a, 2, k->n);
    uint8_t *o = k->out->values;
    for (uint32_t i = 0; i < k->n; i++) {
        size_t n;
        const char *s = lk_col_bytes(k->a[0], i, &n);
        o[i] = (uint8_t)(!lk_col_is_null(k->a[0], i) && match(r, s, n, 0) >= 0);
    }
    lk_sql_out_done(k->out);
}

/* Java's split(regex, limit): trailing empty strings kept (limit -1), a
   zero-width match at the start makes no leading empty string. */
static void k_split(lk_sql_kctx *k)
{
    rx *r = k->aux;
    lk_col *out = k->out, *el = &out->children[0];
    for (uint32_t i = 0; i < k->n; i++) {
        if (!lk_sql_valid(k->a, k->na, i)) {
            lk_col_append_null(out);
            continue;
        }
        int limit = k->na > 2 ? ((const int32_t *)k->a[2]->values)[i] : -1;
        size_t n;
        const char *s = lk_col_bytes(k->a[0], i, &n);
        size_t prev = 0, pos = 0;
        int pieces = 0;
        while (pos <= n && (limit <= 0 || pieces < limit - 1)) {
            if (match(r, s, n, pos) < 0) break;
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->md);
            size_t ms = ov[0], me = ov[1];
            if (me == ms) {
                if (ms >= n) break;
                if (ms == 0) { /* no leading empty piece */
                    pos = clen(s, 0, n);
                    continue;
                }
            }
            lk_col_append_bytes(el, s + prev, ms - prev);
            pieces++;
            prev = me;
            pos = me > ms ? me : ms + clen(s, ms, n);
        }
        lk_col_append_bytes(el, s + prev, n - prev);
        lk_col_append_list(out);
    }
}

static void k_extract(lk_sql_kctx *k)
{
    rx *r = k->aux;
    for (uint32_t i = 0; i < k->n; i++) {
        if (!lk_sql_valid(k->a, k->na, i)) {
            lk_col_append_null(k->out);
            continue;
        }
        int g = k->na > 2 ? ((const int32_t *)k->a[2]->values)[i] : 1;
        if (g < 0 || (uint32_t)g > r->groups) {
            lk_col_append_null(k->out);
            lk_sql_fail(k, i);
            continue;
        }
        size_t n;
        const char *s = lk_col_bytes(k->a[0], i, &n);
        if (match(r, s, n, 0) < 0) {
            lk_col_append_bytes(k->out, "", 0);
            continue;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->md);
        if (ov[2 * g] == PCRE2_UNSET)
            lk_col_append_bytes(k->out, "", 0);
        else
            lk_col_append_bytes(k->out, s + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
    }
}

static void k_replace(lk_sql_kctx *k)
{
    rx *r = k->aux;
    lk_buf *b = k->tmp;
    for (uint32_t i = 0; i < k->n; i++) {
        if (!lk_sql_valid(k->a, k->na, i)) {
            lk_col_append_null(k->out);
            continue;
        }
        size_t n, rn;
        const char *s = lk_col_bytes(k->a[0], i, &n), *rep = lk_col_bytes(k->a[2], i, &rn);
        lk_buf_reset(b);
        if (k->na > 3) {
            /* Spark's position: the matcher's region starts at that UTF-16 index of the Java
               string (a character past the BMP counts 2), its anchoring bounds on (^ matches
               there) and opaque (no lookbehind before it): the search runs over the rest as a
               subject of its own, behind the text before it unchanged. At or past the end (but
               for position 1) the string is returned as it is. */
            int64_t units = (int64_t)((const int32_t *)k->a[3]->values)[i] - 1, u = 0;
            size_t off = 0;
            while (off < n && u < units) {
                size_t l = clen(s, off, n);
                u += l == 4 ? 2 : 1;
                off += l;
            }
            if (units > 0 && off == n && u <= units) {
                lk_col_append_bytes(k->out, n ? s : "", n);
                continue;
            }
            if (off) lk_buf_append(b, s, off);
            s += off;
            n -= off;
        }
        size_t prev = 0, pos = 0;
        while (pos <= n && match(r, s, n, pos) >= 0) {
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->md);
            size_t ms = ov[0], me = ov[1];
            lk_buf_append(b, s + prev, ms - prev);
            for (size_t j = 0; j < rn; j++) { /* Java's replacement: $n and \x */
                if (rep[j] == '\\' && j + 1 < rn) {
                    lk_buf_putc(b, rep[++j]);
                } else if (rep[j] == '$' && j + 1 < rn && isdigit((unsigned char)rep[j + 1])) {
                    uint32_t g = (uint32_t)(rep[++j] - '0');
                    while (j + 1 < rn && isdigit((unsigned char)rep[j + 1]) &&
                           g * 10 + (uint32_t)(rep[j + 1] - '0') <= r->groups)
                        g = g * 10 + (uint32_t)(rep[++j] - '0');
                    if (g <= r->groups && ov[2 * g] != PCRE2_UNSET)
                        lk_buf_append(b, s + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
                } else {
                    lk_buf_putc(b, rep[j]);
                }
            }
            prev = me;
            if (me == ms) {
                if (ms >= n) break;
                size_t l = clen(s, ms, n);
                lk_buf_append(b, s + ms, l);
                prev = ms + l;
                pos = prev;
            } else {
                pos = me;
            }
        }
        if (prev < n) lk_buf_append(b, s + prev, n - prev);
        lk_col_append_bytes(k->out, b->data ? b->data : "", b->len);
    }
}

int lk_sql_regex_kernel(const lk_sql_node *node, const char *text, lk_sql_kernel *kp, void **aux,
                        void (**aux_free)(void *), lk_error *err)
{
    if (node->fn == LK_FN_LIKE || node->fn == LK_FN_ILIKE) {
        *kp = k_like;
        return 0;
    }
    const lk_sql_node *pat = node->args[1];
    pat = lk_sql_node_value(pat);
    if (pat->kind != LK_SQL_LIT || !pat->lit_type)
        pat = NULL; /* a NULL pattern: every result is null (the arguments' validity) */
    int ec;
    PCRE2_SIZE eo;
    const char *src = pat ? pat->s : "(*FAIL)";
    size_t srcn = pat ? pat->slen : 7;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)src, srcn, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &ec, &eo, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(ec, msg, sizeof msg);
        return lk_error_set(
            err, LK_EFORMAT, "position %d: bad regular expression '%s': %s at offset %zu",
            lk_sql_column_of(text, node->args[1]->pos), src, (const char *)msg, (size_t)eo);
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* falls back to the interpreter when unavailable */
    rx *r = calloc(1, sizeof *r);
    if (!r) abort();
    r->re = re;
    r->md = pcre2_match_data_create_from_pattern(re, NULL);
    pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &r->groups);
    if (node->fn == LK_FN_REGEXP_EXTRACT && node->nargs == 3) {
        const lk_sql_node *g = node->args[2];
        g = lk_sql_node_value(g);
        if (g->kind == LK_SQL_LIT && g->lit_type && (g->i < 0 || g->i > (int64_t)r->groups)) {
            uint32_t groups = r->groups;
            rx_free(r);
            return lk_error_set(err, LK_EFORMAT,
                                "position %d: regexp_extract: group %lld, but the pattern has %u",
                                lk_sql_column_of(text, g->pos), (long long)g->i, groups);
        }
    }
    *aux = r;
    *aux_free = rx_free;
    switch (node->fn) {
    case LK_FN_RLIKE:
        *kp = k_rlike;
        break;
    case LK_FN_SPLIT:
        *kp = k_split;
        break;
    case LK_FN_REGEXP_EXTRACT:
        *kp = k_extract;
        break;
    default:
        *kp = k_replace;
        break;
    }
    return 0;
}
