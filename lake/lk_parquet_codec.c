/*
 * lk_parquet_codec — Parquet's RLE/bit-packed hybrid and page compression
 * (ZSTD via libzstd, SNAPPY via libsnappy, GZIP via zlib).
 */
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "lk_parquet_internal.h"
#include "lk_parquet_writer.h"

int lk_pq_physical(const lk_field *f)
{
    switch (f->type) {
    case LK_TYPE_BOOLEAN: return PQ_BOOLEAN;
    case LK_TYPE_BYTE:
    case LK_TYPE_SHORT:
    case LK_TYPE_INTEGER:
    case LK_TYPE_DATE: return PQ_INT32;
    case LK_TYPE_LONG:
    case LK_TYPE_TIMESTAMP:
    case LK_TYPE_TIMESTAMP_NTZ: return PQ_INT64;
    case LK_TYPE_FLOAT: return PQ_FLOAT;
    case LK_TYPE_DOUBLE: return PQ_DOUBLE;
    case LK_TYPE_DECIMAL: return f->precision <= 18 ? PQ_INT64 : PQ_FLBA;
    default: return PQ_BYTE_ARRAY;
    }
}

int lk_pq_bit_width(uint32_t max)
{
    int bw = 0;
    while (max) {
        bw++;
        max >>= 1;
    }
    return bw;
}

static void put_varint(lk_buf *b, uint32_t v)
{
    while (v >= 0x80) {
        lk_buf_putc(b, (char)(v | 0x80));
        v >>= 7;
    }
    lk_buf_putc(b, (char)v);
}

static size_t run_at(const uint8_t *v, size_t n, size_t i)
{
    size_t r = 1;
    while (i + r < n && v[i + r] == v[i])
        r++;
    return r;
}

void lk_pq_rle_encode(const uint8_t *v, size_t n, int bw, lk_buf *out)
{
    size_t bytes = (size_t)(bw + 7) / 8;
    size_t i = 0;
    while (i < n) {
        size_t r = run_at(v, n, i);
        if (r >= 8) {
            put_varint(out, (uint32_t)(r << 1));
            for (size_t k = 0; k < bytes; k++)
                lk_buf_putc(out, (char)(v[i] >> (8 * k)));
            i += r;
            continue;
        }
        /* literal groups of 8 until a long run starts (at most 63 groups) */
        size_t start = i, groups = 0;
        do {
            i += 8;
            groups++;
        } while (i < n && groups < 63 && run_at(v, n, i) < 8);
        put_varint(out, (uint32_t)(groups << 1 | 1));
        size_t nbits = groups * 8 * (size_t)bw;
        lk_buf_grow(out, nbits / 8 + 1);
        uint8_t *p = (uint8_t *)out->data + out->len;
        memset(p, 0, nbits / 8);
        for (size_t k = 0; k < groups * 8; k++) {
            uint32_t x = start + k < n ? v[start + k] : 0;
            size_t bit = k * (size_t)bw;
            for (int b = 0; b < bw; b++, bit++)
                if (x >> b & 1)
                    p[bit >> 3] |= (uint8_t)(1u << (bit & 7));
        }
        out->len += nbits / 8;
    }
}

int lk_pq_rle_decode(const uint8_t *p, size_t len, int bw, uint32_t *out, size_t n)
{
    const uint8_t *end = p + len;
    size_t got = 0, bytes = (size_t)(bw + 7) / 8;
    if (bw > 32)
        return -1;
    while (got < n) {
        uint32_t h = 0;
        int shift = 0;
        for (;;) {
            if (p >= end || shift > 28)
                return -1;
            uint8_t b = *p++;
            h |= (uint32_t)(b & 0x7f) << shift;
            shift += 7;
            if (!(b & 0x80))
                break;
        }
        if (h & 1) {
            size_t count = (size_t)(h >> 1) * 8, nbytes = count * (size_t)bw / 8;
            if (nbytes > (size_t)(end - p))
                return -1;
            for (size_t k = 0; k < count && got < n; k++, got++) {
                uint32_t x = 0;
                size_t bit = k * (size_t)bw;
                for (int b = 0; b < bw; b++, bit++)
                    x |= (uint32_t)(p[bit >> 3] >> (bit & 7) & 1) << b;
                out[got] = x;
            }
            p += nbytes;
        } else {
            size_t count = h >> 1;
            if (count == 0 || bytes > (size_t)(end - p))
                return -1;
            uint32_t x = 0;
            for (size_t k = 0; k < bytes; k++)
                x |= (uint32_t)p[k] << (8 * k);
            p += bytes;
            for (size_t k = 0; k < count && got < n; k++)
                out[got++] = x;
        }
    }
    return 0;
}

int lk_pq_compress(int codec, int level, const void *src, size_t n, lk_buf *dst, lk_error *err)
{
    lk_buf_reset(dst);
    switch (codec) {
    case LK_PQ_UNCOMPRESSED: lk_buf_append(dst, src, n); return 0;
    case LK_PQ_ZSTD: {
        static ZSTD_CCtx *cctx; /* one per process: workers are single-threaded */
        if (!cctx)
            cctx = ZSTD_createCCtx();
        size_t cap = ZSTD_compressBound(n);
        lk_buf_grow(dst, cap);
        size_t r = ZSTD_compressCCtx(cctx, dst->data, cap, src, n, level);
        if (ZSTD_isError(r))
            return lk_error_set(err, LK_EFORMAT, "zstd: %s", ZSTD_getErrorName(r));
        dst->len = r;
        return 0;
    }
    case LK_PQ_SNAPPY: {
        size_t cap = snappy_max_compressed_length(n);
        lk_buf_grow(dst, cap);
        if (snappy_compress(src, n, dst->data, &cap) != SNAPPY_OK)
            return lk_error_set(err, LK_EFORMAT, "snappy compression failed");
        dst->len = cap;
        return 0;
    }
    case LK_PQ_GZIP: {
        z_stream z;
        memset(&z, 0, sizeof z);
        if (deflateInit2(&z, level > 9 ? 6 : level < 1 ? 6 : level, Z_DEFLATED, 31, 8,
                         Z_DEFAULT_STRATEGY) != Z_OK)
            return lk_error_set(err, LK_EFORMAT, "gzip: deflateInit failed");
        size_t cap = deflateBound(&z, (uLong)n) + 32;
        lk_buf_grow(dst, cap);
        z.next_in = (Bytef *)src;
        z.avail_in = (uInt)n;
        z.next_out = (Bytef *)dst->data;
        z.avail_out = (uInt)cap;
        int r = deflate(&z, Z_FINISH);
        dst->len = z.total_out;
        deflateEnd(&z);
        if (r != Z_STREAM_END)
            return lk_error_set(err, LK_EFORMAT, "gzip compression failed");
        return 0;
    }
    default: return lk_error_set(err, LK_EUNSUPPORTED, "compression codec %d", codec);
    }
}

int lk_pq_decompress(int codec, const void *src, size_t n, size_t raw, lk_buf *dst, lk_error *err)
{
    lk_buf_reset(dst);
    lk_buf_grow(dst, raw);
    switch (codec) {
    case LK_PQ_UNCOMPRESSED:
        if (n != raw)
            return lk_error_set(err, LK_EFORMAT, "uncompressed page: %zu bytes, header says %zu",
                                n, raw);
        memcpy(dst->data, src, n);
        dst->len = n;
        return 0;
    case LK_PQ_ZSTD: {
        size_t r = ZSTD_decompress(dst->data, raw, src, n);
        if (ZSTD_isError(r) || r != raw)
            return lk_error_set(err, LK_EFORMAT, "zstd page: %s",
                                ZSTD_isError(r) ? ZSTD_getErrorName(r) : "size mismatch");
        dst->len = r;
        return 0;
    }
    case LK_PQ_SNAPPY: {
        size_t out = 0;
        if (snappy_uncompressed_length(src, n, &out) != SNAPPY_OK || out != raw ||
            snappy_uncompress(src, n, dst->data, &out) != SNAPPY_OK)
            return lk_error_set(err, LK_EFORMAT, "snappy page is corrupt");
        dst->len = out;
        return 0;
    }
    case LK_PQ_GZIP: {
        z_stream z;
        memset(&z, 0, sizeof z);
        if (inflateInit2(&z, 47) != Z_OK)
            return lk_error_set(err, LK_EFORMAT, "gzip: inflateInit failed");
        z.next_in = (Bytef *)src;
        z.avail_in = (uInt)n;
        z.next_out = (Bytef *)dst->data;
        z.avail_out = (uInt)raw;
        int r = inflate(&z, Z_FINISH);
        dst->len = z.total_out;
        inflateEnd(&z);
        if (r != Z_STREAM_END || dst->len != raw)
            return lk_error_set(err, LK_EFORMAT, "gzip page is corrupt");
        return 0;
    }
    default:
        return lk_error_set(err, LK_EUNSUPPORTED, "unsupported compression codec %d (%s)", codec,
                            codec == 3 ? "LZO" : codec == 4 ? "BROTLI" : codec == 5 ? "LZ4"
                            : codec == 7 ? "LZ4_RAW" : "unknown");
    }
}
