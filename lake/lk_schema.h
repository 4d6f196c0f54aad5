/*
 * lk_schema — the table schema model: Spark/Delta types as a tree of fields.
 *
 * One schema describes one table (raw_events, processed_events, ...). It is
 * serialised as Spark's JSON `schemaString` (Delta metaData, state.db) and
 * mapped to Parquet by lake/. lk_field is a public descriptor (read freely);
 * lk_schema is opaque and owns every field, name and child.
 */
#ifndef LK_SCHEMA_H
#define LK_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "lk_buf.h"
#include "lk_error.h"

typedef enum lk_type {
    LK_TYPE_BOOLEAN = 1,
    LK_TYPE_BYTE,    /* int8 */
    LK_TYPE_SHORT,   /* int16 */
    LK_TYPE_INTEGER, /* int32 */
    LK_TYPE_LONG,    /* int64 */
    LK_TYPE_FLOAT,
    LK_TYPE_DOUBLE,
    LK_TYPE_STRING,
    LK_TYPE_BINARY,
    LK_TYPE_DATE,          /* int32 days since epoch */
    LK_TYPE_TIMESTAMP,     /* int64 micros since epoch, UTC-adjusted */
    LK_TYPE_TIMESTAMP_NTZ, /* int64 micros, no time zone */
    LK_TYPE_DECIMAL,       /* precision <= 18: int64 unscaled; above: 16-byte big-endian */
    LK_TYPE_STRUCT,
    LK_TYPE_ARRAY, /* children[0] = element (its nullable = containsNull) */
    LK_TYPE_MAP,   /* children[0] = key, children[1] = value (valueContainsNull) */
} lk_type;

typedef struct lk_field {
    char *name;
    lk_type type;
    int nullable;
    int precision, scale; /* decimal only */
    int n_children;
    struct lk_field *children;
    char *metadata_json; /* field metadata object as JSON text, or NULL for {} */
} lk_field;

typedef struct lk_schema lk_schema;

lk_schema *lk_schema_new(void);
void lk_schema_destroy(lk_schema **s);
lk_schema *lk_schema_clone(const lk_schema *s);

/* Top-level fields. */
int lk_schema_nfields(const lk_schema *s);
/* The depth of the deepest column's type tree (a primitive top-level column is 1, each
   STRUCT, ARRAY or MAP level adds one) and in *name the top-level column that has it
   (NULL allowed); 0 for an empty schema. */
int lk_schema_depth(const lk_schema *s, const char **name);
const lk_field *lk_schema_field(const lk_schema *s, int i);
/* Index of the top-level field named name (exact match), or -1. */
int lk_schema_find(const lk_schema *s, const char *name);
/* The field at a dotted path ("device.os"), or NULL. */
const lk_field *lk_schema_find_path(const lk_schema *s, const char *path);

/* Appends a top-level field; returns it (owned by s; valid until the next add). */
lk_field *lk_schema_add(lk_schema *s, const char *name, lk_type type, int nullable);
/* Appends a deep copy of f as a top-level field; returns it. */
lk_field *lk_schema_add_copy(lk_schema *s, const lk_field *f);
/* Appends a child to a struct/array/map field; returns it. */
lk_field *lk_field_add_child(lk_field *parent, const char *name, lk_type type, int nullable);
/* dst (just added, under any name and nullability) takes src's precision,
   scale and a deep copy of its children (names, types, nullability; not
   field metadata). */
void lk_field_copy_children(lk_field *dst, const lk_field *src);
/* Mutable access to a top-level field (schema building only). */
lk_field *lk_schema_field_mut(lk_schema *s, int i);

/* A table's schema after a write of batch's: batch's fields in its order (a field of both, its
   name compared without case as Delta does, is batch's), and every field of table the batch
   lacks, after the field table had before it (first when none is left). A write never drops a
   column from the table: the batch's files lack it and it reads as null, as a Delta append with
   fewer columns. The same holds inside a column of both: a struct keeps the table's children in
   the table's order and names (one the batch lacks becomes nullable), the batch's new ones
   appended, names without case; an array's element and a map's key and value likewise. A
   top-level column whose own type differs is the batch's; a child whose type differs (a struct's
   field, an element, a key or value) cannot be merged: NULL, and err (LK_ECONFIG) names its path
   ("device.version", "items.element.price") and both types. */
lk_schema *lk_schema_union(const lk_schema *table, const lk_schema *batch, lk_error *err);
/* Whether a value of ours fits the table's field as it is (the union would not change it): the
   same type at every level, every struct child of ours among the table's (names without case,
   types alike), nullable where ours is. */
int lk_field_covers(const lk_field *table, const lk_field *ours);

/* The same type at this level: a decimal's precision and scale too (not names, nullability or
   children). */
int lk_field_same_type(const lk_field *a, const lk_field *b);
/* Deep equality (names, types, nullability, children). */
int lk_schema_equal(const lk_schema *a, const lk_schema *b);
int lk_field_equal(const lk_field *a, const lk_field *b);

/* Spark's name of a type: "long", "string", "timestamp", "decimal(10,2)", "struct", ... */
const char *lk_type_name(lk_type t);
/* Parses a Spark primitive type name ("long", "decimal(10,2)"...); 0 or LK_EFORMAT. */
int lk_type_parse(const char *name, lk_type *t, int *precision, int *scale);
int lk_type_is_nested(lk_type t);

/* Spark JSON schemaString: {"type":"struct","fields":[...]}; appended to out. */
void lk_schema_to_json(const lk_schema *s, lk_buf *out);
/* Parses a Spark JSON schemaString. */
int lk_schema_from_json(const char *json, size_t len, lk_schema **out, lk_error *err);

/* Human-readable DDL-like text: "event_id STRING, device STRUCT<os: STRING, ...>". */
void lk_schema_to_ddl(const lk_schema *s, lk_buf *out);
/* The same text of one field's type ("DECIMAL(23,1)", "STRUCT<a: INT>"), appended to out. */
void lk_field_type_ddl(const lk_field *f, lk_buf *out);

#endif
