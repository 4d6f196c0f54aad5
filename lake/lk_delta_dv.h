/*
 * lk_delta_dv — Delta deletion vectors (PROTOCOL.md "Deletion Vectors"):
 * decodes a DV descriptor (inline Z85, or a file `u` relative to the table
 * / `p` absolute) into the sorted row indexes it deletes. The bitmap is the
 * protocol's RoaringBitmapArray (magic 1681511377, 64-bit keys over the
 * portable 32-bit Roaring format); decoded by hand, every length checked.
 */
#ifndef LK_DELTA_DV_H
#define LK_DELTA_DV_H

#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_tree.h>

#include "lk_error.h"

typedef struct lk_delta_dv lk_delta_dv;

/* Loads the deletion vector described by dv (the add action's
   deletionVector object) of a file of nrows rows in the table at
   table_path. A row index >= nrows is an error: it also bounds the memory
   a hostile bitmap can make us allocate. */
int lk_delta_dv_load(const char *table_path, yajl_val dv, uint64_t nrows, lk_delta_dv **out,
                     lk_error *err);
void lk_delta_dv_destroy(lk_delta_dv **d);
/* Number of deleted rows. */
size_t lk_delta_dv_count(const lk_delta_dv *d);
/* 1 if row (0-based index in the file) is deleted. */
int lk_delta_dv_contains(const lk_delta_dv *d, uint64_t row);

/* For a DV stored in a file of the table (storage type 'u'): appends the
   file's path relative to the table root to out and returns 1; else 0. */
int lk_delta_dv_relative_path(yajl_val dv, char *out, size_t cap);

/* Decodes Z85 text (length a multiple of 5) into out (4 bytes per 5 chars).
   Returns the number of bytes or -1 on a bad character/length. */
long lk_delta_z85_decode(const char *s, size_t n, unsigned char *out, size_t cap);

#endif
