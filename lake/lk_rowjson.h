/*
 * lk_rowjson — one row of an lk_batch as a JSON object (column names as
 * keys): what `lakesupd table read` prints and what tests compare. Types
 * map as Spark's to_json does: timestamps "2026-11-24T09:30:00.123456Z"
 * (timestamp_ntz without Z), dates "YYYY-MM-DD", decimals as exact decimal
 * text, binary as base64, NaN/Infinity as strings, maps as objects when the
 * key is a string (else arrays of {key, value}).
 */
#ifndef LK_ROWJSON_H
#define LK_ROWJSON_H

#include <stdint.h>

#include "lk_batch.h"
#include "lk_buf.h"

/* Appends row of b as a JSON object to out. */
void lk_rowjson_append(const lk_batch *b, uint32_t row, lk_buf *out);
/* Appends the value of slot i of c (any type; null as null). */
void lk_rowjson_value(const lk_col *c, uint32_t i, lk_buf *out);

#endif
