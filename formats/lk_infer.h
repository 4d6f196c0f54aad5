/*
 * lk_infer — schema inference from sample JSON lines, with Spark's rules.
 *
 * Feed lines (one JSON document each); lines that are not a JSON object are
 * ignored for inference. The result is a struct of the top-level keys in
 * first-seen order: integers → long, other numbers → double, true/false →
 * boolean, strings → string (ISO-8601 strings stay strings), objects →
 * struct (merged recursively), arrays → array of the merged element type.
 * Widening across lines: long + double → double; anything + string →
 * string; a field seen only as null (or an empty array's element) → string;
 * struct vs non-struct or array vs non-array → string. All fields nullable.
 * One departure from Spark: a top-level column whose values are numbers
 * (or booleans) in at least 90 % of at least 20 sampled values keeps that
 * type even if a few values are strings: those few are type mismatches,
 * rescued into _rescued_data, rather than a reason to turn the whole
 * column into text (docs/decisions.md).
 * Nesting is bounded: an object or array more than LK_INFER_MAX_NESTING
 * levels deep (a top-level column is level 1) is inferred as string and
 * kept as its JSON text. Deeper types do not fit a records message (each
 * level is two msgpack levels; msgpack-c unpacks at most 32).
 */
#ifndef LK_INFER_H
#define LK_INFER_H

#include <stddef.h>

#include "lk_schema.h"

#define LK_INFER_MAX_NESTING 10

/* A line whose objects hold more keys than this (all levels together) is not sampled: one
   object of 100,000 keys took minutes to infer (ingest was killed for silence, again and
   again) and would make as many columns; its keys are rescued by the reader instead. A line
   that is not well-formed UTF-8 is not sampled either (the reader makes it corrupt). */
#define LK_INFER_MAX_KEYS 1000
/* nor one of more than this many values (array elements included), at all levels */
#define LK_INFER_MAX_VALUES 10000

typedef struct lk_infer lk_infer;

lk_infer *lk_infer_new(void);
void lk_infer_destroy(lk_infer **inf);
/* 0, or LK_EFORMAT if the line is not a JSON object (then it is ignored). */
int lk_infer_line(lk_infer *inf, const char *line, size_t len);
/* Feeds every non-empty line of buf (LF or CRLF separated). Returns the
   number of lines that were JSON objects. */
long lk_infer_lines(lk_infer *inf, const char *buf, size_t len);
/* The schema inferred so far (new object, caller destroys); NULL if no
   object was seen. */
lk_schema *lk_infer_result(const lk_infer *inf);
/* Tests: on = every line parsed as a tree (no shortcut for a line of the
   shape of one that widened nothing); the result must not differ. */
void lk_infer_tree_only(lk_infer *inf, int on);
/* Lines so far that took the shortcut (the shape of a line that left the
   schema as it was: only their votes counted). */
long lk_infer_shortcuts(const lk_infer *inf);
/* Widens a with b by the rules above into a new schema (b's new fields are
   appended after a's). */
lk_schema *lk_infer_merge(const lk_schema *a, const lk_schema *b);

#endif
