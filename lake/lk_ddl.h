/*
 * lk_ddl — Spark DDL column lists → lk_schema.
 *
 * The text of `schema:` and `schema_hints:` in lakesup.yml:
 *   "ts TIMESTAMP, amount DECIMAL(10,2), tags ARRAY<STRING>,
 *    device STRUCT<os: STRING, version: INT>, attrs MAP<STRING, LONG>"
 * Names are identifiers or `back-quoted`; type names are case-insensitive:
 * STRING (VARCHAR(n), CHAR(n)), BOOLEAN, TINYINT/BYTE, SMALLINT/SHORT,
 * INT/INTEGER, BIGINT/LONG, FLOAT/REAL, DOUBLE, DECIMAL[(p[,s])] (DEC,
 * NUMERIC), DATE, TIMESTAMP (TIMESTAMP_LTZ), TIMESTAMP_NTZ, BINARY,
 * STRUCT<name[:] type, ...>, ARRAY<type>, MAP<type, type>. A column may
 * end with NOT NULL and COMMENT '...'. Errors name the character position.
 */
#ifndef LK_DDL_H
#define LK_DDL_H

#include "lk_error.h"
#include "lk_schema.h"

/* Parses text into a new schema (*out, caller destroys). An empty text is
   an empty schema. Returns 0 or LK_EFORMAT with the position in err. */
int lk_ddl_parse(const char *text, lk_schema **out, lk_error *err);
/* Parses a struct's type into f (made a STRUCT; its children appended): either
   "STRUCT<a: INT, ...>" or the bare list "a INT, b STRING" (a ':' after a name
   allowed), as from_json's schema. Positions in err are into text. Returns 0 or
   LK_EFORMAT. */
int lk_ddl_parse_struct(const char *text, lk_field *f, lk_error *err);

#endif
