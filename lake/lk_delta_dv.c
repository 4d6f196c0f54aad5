/*
 * lk_delta_dv — deletion vectors; see the header.
 *
 * The deleted row indexes are expanded into one sorted uint64 array: DVs
 * are bounded by the rows of one data file, and a sorted array makes the
 * per-row test a binary search with no allocation while scanning.
 */
#include "lk_delta_dv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_buf.h"
#include "lk_fs.h"
#include "lk_json.h"

#define DV_MAGIC 1681511377u
#define DV_FILE_MAX ((size_t)1 << 30)
#define ROARING_COOKIE_NORUN 12346u
#define ROARING_COOKIE_RUN 12347u
#define ROARING_NO_OFFSET_THRESHOLD 4

struct lk_delta_dv {
    uint64_t *rows;
    size_t n, cap;
    uint64_t nrows; /* rows of the data file: every index must be below */
    int overflow;   /* an index >= nrows was seen (or a duplicate flood) */
};

static void push(lk_delta_dv *d, uint64_t v)
{
    if (v >= d->nrows || d->n >= d->nrows) {
        d->overflow = 1;
        return;
    }
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 256;
        d->rows = realloc(d->rows, d->cap * sizeof *d->rows);
        if (!d->rows) abort();
    }
    d->rows[d->n++] = v;
}

long lk_delta_z85_decode(const char *s, size_t n, unsigned char *out, size_t cap)
{
    static const char alphabet[] =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
    if (n % 5 || n / 5 * 4 > cap) return -1;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 5) {
        uint64_t v = 0;
        for (int k = 0; k < 5; k++) {
            const char *p = s[i + k] ? strchr(alphabet, s[i + k]) : NULL;
            if (!p) return -1;
            v = v * 85 + (uint64_t)(p - alphabet);
        }
        if (v > 0xFFFFFFFFu) return -1;
        out[o++] = (unsigned char)(v >> 24);
        out[o++] = (unsigned char)(v >> 16);
        out[o++] = (unsigned char)(v >> 8);
        out[o++] = (unsigned char)v;
    }
    return (long)o;
}

typedef struct rd {
    const unsigned char *p;
    size_t n, off;
    const char *what;
    lk_error *err;
} rd;

static int need(rd *r, size_t k)
{
    if (r->n - r->off < k)
        return lk_error_set(r->err, LK_EFORMAT, "%s: deletion vector truncated at offset %zu",
                            r->what, r->off);
    return 0;
}

static uint32_t le32(rd *r)
{
    const unsigned char *p = r->p + r->off;
    r->off += 4;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(rd *r)
{
    const unsigned char *p = r->p + r->off;
    r->off += 2;
    return (uint16_t)(p[0] | p[1] << 8);
}

/* One portable-format 32-bit Roaring bitmap; values get high << 32 added. */
static int roaring32(rd *r, uint64_t high, lk_delta_dv *d)
{
    int rc;
    if ((rc = need(r, 4))) return rc;
    uint32_t cookie = le32(r);
    uint32_t size;
    const unsigned char *runs = NULL;
    if ((cookie & 0xFFFF) == ROARING_COOKIE_RUN) {
        size = (cookie >> 16) + 1;
        if ((rc = need(r, (size + 7) / 8))) return rc;
        runs = r->p + r->off;
        r->off += (size + 7) / 8;
    } else if (cookie == ROARING_COOKIE_NORUN) {
        if ((rc = need(r, 4))) return rc;
        size = le32(r);
    } else {
        return lk_error_set(r->err, LK_EFORMAT, "%s: bad Roaring cookie %u at offset %zu", r->what,
                            cookie, r->off - 4);
    }
    if (size > 65536)
        return lk_error_set(r->err, LK_EFORMAT, "%s: %u Roaring containers", r->what, size);
    if ((rc = need(r, (size_t)size * 4))) return rc;
    size_t hdr = r->off;
    r->off += (size_t)size * 4;
    if (!runs || size >= ROARING_NO_OFFSET_THRESHOLD) {
        if ((rc = need(r, (size_t)size * 4))) return rc;
        r->off += (size_t)size * 4; /* offsets: containers follow in order anyway */
    }
    for (uint32_t i = 0; i < size; i++) {
        rd h = {r->p, r->n, hdr + (size_t)i * 4, r->what, r->err};
        uint64_t key = le16(&h);
        uint32_t card = (uint32_t)le16(&h) + 1;
        uint64_t base = high << 32 | key << 16;
        if (runs && (runs[i / 8] >> (i % 8) & 1)) {
            if ((rc = need(r, 2))) return rc;
            uint32_t nruns = le16(r);
            if ((rc = need(r, (size_t)nruns * 4))) return rc;
            for (uint32_t k = 0; k < nruns; k++) {
                uint32_t start = le16(r), len = le16(r);
                for (uint32_t v = start; v <= start + len && v < 65536 && !d->overflow; v++)
                    push(d, base | v);
            }
        } else if (card > 4096) {
            if ((rc = need(r, 8192))) return rc;
            for (uint32_t w = 0; w < 8192; w++) {
                unsigned char b = r->p[r->off + w];
                for (int bit = 0; bit < 8; bit++)
                    if (b >> bit & 1) push(d, base | (w * 8 + (uint32_t)bit));
            }
            r->off += 8192;
        } else {
            if ((rc = need(r, (size_t)card * 2))) return rc;
            for (uint32_t k = 0; k < card; k++)
                push(d, base | le16(r));
        }
    }
    return 0;
}

/* RoaringBitmapArray: magic, int64 count, then (uint32 high key, bitmap)... */
static int decode_bitmap(const unsigned char *p, size_t n, const char *what, lk_delta_dv *d,
                         lk_error *err)
{
    rd r = {p, n, 0, what, err};
    int rc;
    if ((rc = need(&r, 12))) return rc;
    uint32_t magic = le32(&r);
    if (magic != DV_MAGIC)
        return lk_error_set(err, LK_EFORMAT, "%s: not a deletion vector (magic %u)", what, magic);
    uint64_t count = le32(&r);
    count |= (uint64_t)le32(&r) << 32;
    if (count > 1u << 20)
        return lk_error_set(err, LK_EFORMAT, "%s: %" PRIu64 " bitmaps", what, count);
    for (uint64_t i = 0; i < count; i++) {
        if ((rc = need(&r, 4))) return rc;
        uint64_t high = le32(&r);
        if ((rc = roaring32(&r, high, d))) return rc;
        if (d->overflow)
            return lk_error_set(err, LK_EFORMAT,
                                "%s: deletion vector deletes a row past the file's %" PRIu64
                                " rows",
                                what, d->nrows);
    }
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static const char *str(yajl_val o, const char *k)
{
    yajl_val v = lk_json_get(o, k);
    return v && YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
}

int lk_delta_dv_relative_path(yajl_val dv, char *out, size_t cap)
{
    const char *st = str(dv, "storageType"), *pd = str(dv, "pathOrInlineDv");
    if (!st || !pd || strcmp(st, "u") != 0) return 0;
    /* <random prefix><20 chars of Z85: the file's UUID> */
    size_t n = strlen(pd);
    unsigned char u[16];
    if (n < 20 || lk_delta_z85_decode(pd + n - 20, 20, u, sizeof u) != 16) return 0;
    int plen = (int)(n - 20);
    snprintf(out, cap,
             "%.*s%sdeletion_vector_%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x"
             "%02x%02x.bin",
             plen, pd, plen ? "/" : "", u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
             u[10], u[11], u[12], u[13], u[14], u[15]);
    return 1;
}

int lk_delta_dv_load(const char *table_path, yajl_val dv, uint64_t nrows, lk_delta_dv **out,
                     lk_error *err)
{
    *out = NULL;
    const char *st = str(dv, "storageType"), *pd = str(dv, "pathOrInlineDv");
    yajl_val offv = lk_json_get(dv, "offset"), sizev = lk_json_get(dv, "sizeInBytes");
    int64_t off = offv && YAJL_IS_INTEGER(offv) ? YAJL_GET_INTEGER(offv) : 0;
    int64_t size = sizev && YAJL_IS_INTEGER(sizev) ? YAJL_GET_INTEGER(sizev) : -1;
    if (!st || !pd || size < 0)
        return lk_error_set(err, LK_EFORMAT,
                            "%s: deletionVector without storageType, "
                            "pathOrInlineDv or sizeInBytes",
                            table_path);
    lk_delta_dv *d = calloc(1, sizeof *d);
    if (!d) abort();
    d->nrows = nrows;
    int rc = 0;
    char what[4400];
    unsigned char *bytes = NULL;
    if (strcmp(st, "i") == 0) {
        snprintf(what, sizeof what, "%s: inline deletion vector", table_path);
        size_t n = strlen(pd);
        bytes = malloc(n / 5 * 4 + 4);
        if (!bytes) abort();
        long got = lk_delta_z85_decode(pd, n, bytes, n / 5 * 4 + 4);
        if (got < 0 || got < size)
            rc = lk_error_set(err, LK_EFORMAT, "%s: bad Z85 text", what);
        else
            rc = decode_bitmap(bytes, (size_t)size, what, d, err);
    } else if (strcmp(st, "u") == 0 || strcmp(st, "p") == 0) {
        char path[4200];
        if (st[0] == 'u') {
            char rel[1024];
            if (!lk_delta_dv_relative_path(dv, rel, sizeof rel)) {
                rc = lk_error_set(err, LK_EFORMAT, "%s: bad deletion vector path '%s'", table_path,
                                  pd);
                goto out;
            }
            snprintf(path, sizeof path, "%s/%s", table_path, rel);
        } else {
            lk_buf dec = LK_BUF_INIT;
            const char *p = pd;
            if (strncmp(p, "file:", 5) == 0) p += 5;
            while (p[0] == '/' && p[1] == '/')
                p++;
            for (const char *q = p; *q; q++) {
                int h, l;
                if (*q == '%' && sscanf(q + 1, "%1x%1x", &h, &l) == 2) {
                    lk_buf_putc(&dec, (char)(h * 16 + l));
                    q += 2;
                } else {
                    lk_buf_putc(&dec, *q);
                }
            }
            lk_buf_append(&dec, "", 0);
            snprintf(path, sizeof path, "%s", dec.data);
            lk_buf_free(&dec);
        }
        snprintf(what, sizeof what, "%s", path);
        lk_buf file = LK_BUF_INIT;
        rc = lk_fs_read_file(path, &file, DV_FILE_MAX, err);
        /* at offset: int32 big-endian size, the bitmap, a CRC-32 */
        if (rc == 0 && (off < 0 || (size_t)off + 4 + (size_t)size > file.len))
            rc = lk_error_set(err, LK_EFORMAT,
                              "%s: deletion vector at offset %" PRId64 " (%" PRId64
                              " bytes) past the end of the file",
                              path, off, size);
        if (rc == 0) {
            const unsigned char *p = (const unsigned char *)file.data + off;
            uint32_t len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
            if (len != (uint32_t)size)
                rc = lk_error_set(err, LK_EFORMAT,
                                  "%s: deletion vector size %u at offset %" PRId64
                                  " but the log says %" PRId64,
                                  path, len, off, size);
            else
                rc = decode_bitmap(p + 4, (size_t)size, what, d, err);
        }
        lk_buf_free(&file);
    } else {
        rc = lk_error_set(err, LK_EUNSUPPORTED, "%s: deletion vector storage type '%s'", table_path,
                          st);
    }
out:
    free(bytes);
    if (rc) {
        lk_delta_dv_destroy(&d);
        return rc;
    }
    if (d->n) qsort(d->rows, d->n, sizeof *d->rows, cmp_u64);
    *out = d;
    return 0;
}

void lk_delta_dv_destroy(lk_delta_dv **dp)
{
    lk_delta_dv *d = dp ? *dp : NULL;
    if (!d) return;
    free(d->rows);
    free(d);
    *dp = NULL;
}

size_t lk_delta_dv_count(const lk_delta_dv *d)
{
    return d->n;
}

int lk_delta_dv_contains(const lk_delta_dv *d, uint64_t row)
{
    size_t lo = 0, hi = d->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->rows[mid] < row)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < d->n && d->rows[lo] == row;
}
