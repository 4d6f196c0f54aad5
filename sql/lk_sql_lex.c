/* lk_sql_lex — tokens of a Spark SQL expression; see lk_sql_lex.h. */
#include "lk_sql_lex.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lk_bytes.h"

static const char *const ops[] = {"<=>", "<>", "!=", "<=", ">=", "==", "||", "&&", "=", "<",
                                  ">",   "+",  "-",  "*",  "/",  "%",  "(",  ")",  ",", ".",
                                  "[",   "]",  "!",  "&",  "|",  "^",  "~",  ":"};

int lk_sql_lex(const char *s, size_t n, lk_sql_token **out, int *nout, lk_error *err)
{
    int cap = 16, k = 0;
    lk_sql_token *t = malloc(sizeof *t * (size_t)cap);
    if (!t) abort();
    size_t i = 0;
    for (;;) {
        while (i < n && isspace((unsigned char)s[i]))
            i++;
        if (k + 1 >= cap) {
            cap *= 2;
            t = realloc(t, sizeof *t * (size_t)cap);
            if (!t) abort();
        }
        lk_sql_token *tk = &t[k];
        memset(tk, 0, sizeof *tk);
        tk->pos = (int)i;
        if (i >= n) {
            tk->kind = LK_TOK_EOF;
            k++;
            break;
        }
        unsigned char c = (unsigned char)s[i];
        if (c == '-' && i + 1 < n && s[i + 1] == '-') { /* a comment to the end of the line */
            while (i < n && s[i] != '\n')
                i++;
            continue;
        }
        if (isalpha(c) || c == '_' || c >= 0x80) {
            size_t j = i;
            while (j < n &&
                   (isalnum((unsigned char)s[j]) || s[j] == '_' || (unsigned char)s[j] >= 0x80))
                j++;
            tk->kind = LK_TOK_IDENT;
            tk->len = (int)(j - i);
            i = j;
        } else if (c == '`') {
            size_t j = i + 1;
            for (;;) {
                if (j >= n) {
                    free(t);
                    return lk_error_set(err, LK_EFORMAT, "position %zu: unterminated `identifier`",
                                        i + 1);
                }
                if (s[j] == '`') {
                    if (j + 1 < n && s[j + 1] == '`') {
                        j += 2;
                        continue;
                    }
                    break;
                }
                j++;
            }
            tk->kind = LK_TOK_QIDENT;
            tk->len = (int)(j + 1 - i);
            i = j + 1;
        } else if (isdigit(c) || (c == '.' && i + 1 < n && isdigit((unsigned char)s[i + 1]))) {
            size_t j = i;
            int is_int = 1;
            while (j < n && isdigit((unsigned char)s[j]))
                j++;
            if (j < n && s[j] == '.') {
                is_int = 0;
                j++;
                while (j < n && isdigit((unsigned char)s[j]))
                    j++;
            }
            if (j < n && (s[j] == 'e' || s[j] == 'E')) {
                size_t e = j + 1;
                if (e < n && (s[e] == '+' || s[e] == '-')) e++;
                if (e < n && isdigit((unsigned char)s[e])) {
                    while (e < n && isdigit((unsigned char)s[e]))
                        e++;
                    j = e;
                    is_int = 0;
                    tk->suffix = 'E';
                }
            }
            tk->kind = is_int ? LK_TOK_INT : LK_TOK_NUMBER;
            if (j + 1 < n && (s[j] == 'B' || s[j] == 'b') && (s[j + 1] == 'D' || s[j + 1] == 'd')) {
                tk->suffix = 'B';
                tk->kind = LK_TOK_NUMBER;
                j += 2;
            } else if (j < n && strchr("LlDdSsYyFf", s[j]) &&
                       !(j + 1 < n && (isalnum((unsigned char)s[j + 1]) || s[j + 1] == '_'))) {
                tk->suffix = (char)toupper((unsigned char)s[j]);
                if (tk->suffix == 'D' || tk->suffix == 'F')
                    tk->kind = LK_TOK_NUMBER;
                else if (!is_int) {
                    free(t);
                    return lk_error_set(err, LK_EFORMAT,
                                        "position %zu: suffix %c needs an integer literal", j + 1,
                                        s[j]);
                }
                j++;
            }
            if (j < n && (isalpha((unsigned char)s[j]) || s[j] == '_')) {
                free(t);
                return lk_error_set(err, LK_EFORMAT, "position %zu: malformed number", i + 1);
            }
            tk->len = (int)(j - i);
            i = j;
        } else if (c == '\'' || c == '"') {
            size_t j = i + 1;
            while (j < n && (unsigned char)s[j] != c) {
                if (s[j] == '\\' && j + 1 < n) j++;
                j++;
            }
            if (j >= n) {
                free(t);
                return lk_error_set(err, LK_EFORMAT, "position %zu: unterminated string", i + 1);
            }
            tk->kind = LK_TOK_STRING;
            tk->len = (int)(j + 1 - i);
            i = j + 1;
        } else {
            size_t m = 0;
            for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++) {
                size_t l = strlen(ops[o]);
                if (i + l <= n && !memcmp(s + i, ops[o], l)) {
                    m = l;
                    memcpy(tk->op, ops[o], l);
                    break;
                }
            }
            if (!m) {
                free(t);
                return lk_error_set(err, LK_EFORMAT, "position %zu: unexpected character '%c'",
                                    i + 1, c);
            }
            tk->kind = LK_TOK_OP;
            tk->len = (int)m;
            i += m;
        }
        k++;
    }
    *out = t;
    *nout = k;
    return 0;
}

size_t lk_sql_utf8_put(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

char *lk_sql_lex_string(const char *text, const lk_sql_token *t, size_t *len)
{
    const char *s = text + t->pos + 1;
    size_t n = (size_t)t->len - 2, o = 0;
    char *out = malloc(n * 2 + 1);
    if (!out) abort();
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\' || i + 1 >= n) {
            out[o++] = s[i];
            continue;
        }
        char e = s[++i];
        switch (e) { /* Spark's unescapeSQLString */
        case 'n':
            out[o++] = '\n';
            break;
        case 't':
            out[o++] = '\t';
            break;
        case 'r':
            out[o++] = '\r';
            break;
        case 'b':
            out[o++] = '\b';
            break;
        case '0':
            out[o++] = '\0';
            break;
        case 'Z':
            out[o++] = 26;
            break;
        case 'u':
            if (i + 4 < n) {
                unsigned cp = 0;
                int ok = 1;
                for (int k = 1; k <= 4; k++) {
                    char h = s[i + (size_t)k];
                    cp <<= 4;
                    if (h >= '0' && h <= '9')
                        cp |= (unsigned)(h - '0');
                    else if (h >= 'a' && h <= 'f')
                        cp |= (unsigned)(h - 'a' + 10);
                    else if (h >= 'A' && h <= 'F')
                        cp |= (unsigned)(h - 'A' + 10);
                    else
                        ok = 0;
                }
                if (ok) {
                    o += lk_sql_utf8_put(out + o, cp);
                    i += 4;
                    break;
                }
            }
            out[o++] = 'u';
            break;
        default:
            out[o++] = e;
            break; /* \' \" \\ \% \_ and any other: the character */
        }
    }
    out[o] = 0;
    *len = o;
    return out;
}

char *lk_sql_lex_ident(const char *text, const lk_sql_token *t)
{
    if (t->kind != LK_TOK_QIDENT) {
        char *r = malloc((size_t)t->len + 1);
        if (!r) abort();
        memcpy(r, text + t->pos, (size_t)t->len);
        r[t->len] = 0;
        return r;
    }
    const char *s = text + t->pos + 1;
    size_t n = (size_t)t->len - 2, o = 0;
    char *r = malloc(n + 1);
    if (!r) abort();
    for (size_t i = 0; i < n; i++) {
        r[o++] = s[i];
        if (s[i] == '`') i++; /* `` is one back-quote */
    }
    r[o] = 0;
    return r;
}
