/*
 * lk_parquet_schema — internal to lake/: the Parquet view of an lk_schema.
 * Flattens a schema into leaf column descriptors (Dremel levels along the
 * path of every leaf) used by both the writer (shredding) and the reader
 * (assembly), and writes the footer's SchemaElement list.
 */
#ifndef LK_PARQUET_SCHEMA_H
#define LK_PARQUET_SCHEMA_H

#include <stdint.h>

#include "lk_schema.h"
#include "lk_thrift.h"

#define LK_PQ_MAX_DEPTH 32

/* Parquet physical types */
enum { PQ_BOOLEAN, PQ_INT32, PQ_INT64, PQ_INT96, PQ_FLOAT, PQ_DOUBLE, PQ_BYTE_ARRAY, PQ_FLBA };

/* One lk node on the path from a top-level column to a leaf. */
typedef struct lk_pq_node {
    const lk_field *f;
    int child;     /* index of the next node among f's children (-1 at the leaf) */
    int rep;       /* repetition level of a new slot of this node */
    int dslot;     /* definition level at which a slot of this node exists */
    int dval;      /* definition level at which the slot holds a value */
    int owner;     /* the leaf is the first one under this node: it builds its slots */
} lk_pq_node;

typedef struct lk_pq_leaf {
    int top; /* top-level field index */
    int depth;
    lk_pq_node nodes[LK_PQ_MAX_DEPTH];
    int max_def, max_rep;
    int phys, type_length;
    int in_list;
    const lk_field *field;
    char dotted[512];      /* "device.os" (lk names only) */
    int n_path;            /* Parquet path_in_schema */
    const char *path[LK_PQ_MAX_DEPTH * 2];
} lk_pq_leaf;

/* Leaf descriptors of s in Parquet column order (malloc'd array, caller frees).
   0, or LK_EUNSUPPORTED when nesting is too deep. */
int lk_pq_leaves_build(const lk_schema *s, lk_pq_leaf **out, int *n);
int lk_pq_phys_type(const lk_field *f, int *type_length);
/* Writes FileMetaData field 2 (list<SchemaElement>) for s. */
void lk_pq_schema_write(lk_tc_w *w, const lk_schema *s);

#endif
