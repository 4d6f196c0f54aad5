/*
 * lk_parquet_internal — what the Parquet writer and reader share: the
 * format's enum values, the RLE/bit-packed hybrid, the codecs and the
 * lk_type ↔ Parquet physical type mapping. Not part of the public API.
 */
#ifndef LK_PARQUET_INTERNAL_H
#define LK_PARQUET_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "lk_buf.h"
#include "lk_error.h"
#include "lk_schema.h"

enum { PQ_BOOLEAN = 0, PQ_INT32, PQ_INT64, PQ_INT96, PQ_FLOAT, PQ_DOUBLE, PQ_BYTE_ARRAY, PQ_FLBA };
enum { PQ_REQUIRED = 0, PQ_OPTIONAL = 1, PQ_REPEATED = 2 };
enum { PQ_ENC_PLAIN = 0, PQ_ENC_PLAIN_DICTIONARY = 2, PQ_ENC_RLE = 3, PQ_ENC_BIT_PACKED = 4,
       PQ_ENC_RLE_DICTIONARY = 8 };
enum { PQ_PAGE_DATA = 0, PQ_PAGE_INDEX = 1, PQ_PAGE_DICTIONARY = 2, PQ_PAGE_DATA_V2 = 3 };
enum { PQ_CT_UTF8 = 0, PQ_CT_MAP = 1, PQ_CT_MAP_KEY_VALUE = 2, PQ_CT_LIST = 3, PQ_CT_DECIMAL = 5,
       PQ_CT_DATE = 6, PQ_CT_TIMESTAMP_MILLIS = 9, PQ_CT_TIMESTAMP_MICROS = 10, PQ_CT_INT_8 = 15,
       PQ_CT_INT_16 = 16, PQ_CT_INT_32 = 17, PQ_CT_INT_64 = 18 };

/* Physical type of a leaf lk_field. */
int lk_pq_physical(const lk_field *f);

/* Bit width needed for values 0..max. */
int lk_pq_bit_width(uint32_t max);
/* Appends levels (values < 2^bw) in the RLE/bit-packed hybrid encoding. */
void lk_pq_rle_encode(const uint8_t *levels, size_t n, int bw, lk_buf *out);
/* Decodes n values of width bw from [p, p+len) into out (uint32). Returns 0
   or -1 when the input ends early or is malformed. */
int lk_pq_rle_decode(const uint8_t *p, size_t len, int bw, uint32_t *out, size_t n);

/* Compresses/decompresses with a Parquet codec. dst is reset first. */
int lk_pq_compress(int codec, int level, const void *src, size_t n, lk_buf *dst, lk_error *err);
int lk_pq_decompress(int codec, const void *src, size_t n, size_t raw_size, lk_buf *dst,
                     lk_error *err);

#endif
