/*
 * lk_sql_regex — LIKE / ILIKE (hand-written: % and _ over UTF-8
 * characters, an escape character) and the regular expressions of RLIKE,
 * split, regexp_extract and regexp_replace through PCRE2 (Debian's
 * libpcre2-8), compiled once per instruction with the JIT, invalid UTF-8
 * in the data matched as bytes rather than failing. Java's regular
 * expression syntax and PCRE2's agree on what users write; the
 * replacement text of regexp_replace is Java's ($1, \$).
 */
#ifndef LK_SQL_REGEX_H
#define LK_SQL_REGEX_H

#include <stddef.h>

#include "lk_error.h"
#include "lk_sql_func.h"

int lk_sql_regex_kernel(const lk_sql_node *node, const char *text, lk_sql_kernel *k, void **aux,
                        void (**aux_free)(void *), lk_error *err);

/* SQL LIKE: 1 when s matches pattern p (escape esc; ci: ASCII case-insensitive). */
int lk_sql_like_match(const char *s, size_t sn, const char *p, size_t pn, char esc, int ci);

#endif
