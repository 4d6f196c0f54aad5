/*
 * lk_sql_lex — the tokens of a Spark SQL expression.
 *
 * Identifiers (unquoted, or `back-quoted` with `` for a back-quote),
 * numbers (123, 123L, 1.5, 1.5D, 1e3, 1.5BD), strings ('..' or "..", with
 * Spark's backslash escapes), operators and punctuation. Every token keeps
 * its 0-based byte offset in the text, which error messages turn into a
 * 1-based column.
 */
#ifndef LK_SQL_LEX_H
#define LK_SQL_LEX_H

#include <stddef.h>

#include "lk_error.h"

typedef enum lk_sql_tok_kind {
    LK_TOK_EOF = 0,
    LK_TOK_IDENT,  /* unquoted: keywords are identifiers the parser recognises */
    LK_TOK_QIDENT, /* `quoted` */
    LK_TOK_INT,    /* 123, 123L (suffix in num_suffix) */
    LK_TOK_NUMBER, /* 1.5, 1e3, 1.5D, 1.5BD */
    LK_TOK_STRING,
    LK_TOK_OP, /* one of the operators: text in op */
} lk_sql_tok_kind;

typedef struct lk_sql_token {
    lk_sql_tok_kind kind;
    int pos; /* byte offset in the text */
    int len; /* bytes of the token in the text */
    char op[4];
    char suffix; /* numbers: 'L', 'D', 'B' (BD), 'S', 'Y' or 0 */
} lk_sql_token;

/* Tokenises text (n bytes) into *toks (malloc'ed, ending with an EOF token;
   the caller frees). 0, or LK_EFORMAT with "position N: ..." in err. */
int lk_sql_lex(const char *text, size_t n, lk_sql_token **toks, int *ntoks, lk_error *err);

/* The value of a STRING token (quotes removed, escapes decoded) into out
   (malloc'ed, NUL-terminated; *len its length). */
char *lk_sql_lex_string(const char *text, const lk_sql_token *t, size_t *len);
/* Writes code point cp as UTF-8 into out (room for 4 bytes); returns its length. */
size_t lk_sql_utf8_put(char *out, unsigned cp);

/* The name of an identifier token (back-quotes removed), malloc'ed. */
char *lk_sql_lex_ident(const char *text, const lk_sql_token *t);

#endif
