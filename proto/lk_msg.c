/*
 * lk_msg — encode/decode of the inter-process messages (see lk_msg.h).
 *
 * Encoding uses msgpack-c's packer writing straight into an lk_buf; every
 * *_encode() replaces the content of its output buffer. Record batches go
 * column by column as [len, null_count, validity, values, offsets, data,
 * [children]] where the four buffers are raw little-endian bins: one memcpy
 * per buffer each way, nothing per row.
 *
 * Decoding first walks the raw bytes once (msg_check) to prove that every
 * declared array/map count and str/bin length fits in the bytes that remain:
 * msgpack-c allocates an array's objects from its declared count before it
 * has read them, so five hostile bytes could otherwise ask for 96 GiB. Only
 * then is msgpack_unpack_next() run; its str/bin objects point into the
 * caller's buffer, which keeps CHUNK data zero-copy. Every length a peer
 * sends is checked against the schema and the other buffers before use.
 */
#include "lk_msg.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_rowjson.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "lk_msg sends column buffers as raw little-endian memory"
#endif

/* Above this a column length is refused: lk_col capacities are uint32 and
   double while growing, and no chunk comes near it. */
#define LK_MSG_MAX_LEN (1u << 30)

/* ---- encoding ---- */

static int buf_write(void *data, const char *p, size_t n)
{
    if (n) /* empty buffers come as (NULL, 0): memcpy must not see NULL */
        lk_buf_append_fast((lk_buf *)data, p, n);
    return 0;
}

static void enc_begin(msgpack_packer *pk, lk_buf *out, lk_msg_type type, size_t body_items)
{
    lk_buf_reset(out);
    msgpack_packer_init(pk, out, buf_write);
    msgpack_pack_array(pk, 3);
    msgpack_pack_int(pk, (int)type);
    msgpack_pack_int(pk, LK_PROTO_VERSION);
    msgpack_pack_array(pk, body_items);
}

static void enc_end(lk_buf *out)
{
    lk_buf_grow(out, 0);
    out->data[out->len] = '\0';
}

static void pack_cstr(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void pack_bin(msgpack_packer *pk, const void *p, size_t n)
{
    msgpack_pack_bin(pk, n);
    msgpack_pack_bin_body(pk, p, n);
}

static int type_has_offsets(lk_type t)
{
    return t == LK_TYPE_STRING || t == LK_TYPE_BINARY || t == LK_TYPE_ARRAY || t == LK_TYPE_MAP;
}

static int type_has_data(lk_type t)
{
    return t == LK_TYPE_STRING || t == LK_TYPE_BINARY;
}

static void col_encode(msgpack_packer *pk, const lk_col *c)
{
    lk_type t = c->field->type;
    msgpack_pack_array(pk, 7);
    msgpack_pack_uint32(pk, c->len);
    msgpack_pack_uint32(pk, c->validity ? c->null_count : 0);
    if (c->validity && c->null_count)
        pack_bin(pk, c->validity, (c->len + 7) / 8);
    else
        msgpack_pack_nil(pk);
    if (c->elem_size)
        pack_bin(pk, c->values, (size_t)c->len * c->elem_size);
    else
        msgpack_pack_nil(pk);
    if (type_has_offsets(t))
        pack_bin(pk, c->offsets, ((size_t)c->len + 1) * sizeof(uint32_t));
    else
        msgpack_pack_nil(pk);
    if (type_has_data(t))
        pack_bin(pk, c->data, c->offsets[c->len]);
    else
        msgpack_pack_nil(pk);
    msgpack_pack_array(pk, (size_t)c->n_children);
    for (int i = 0; i < c->n_children; i++)
        col_encode(pk, &c->children[i]);
}

/* Same type and layout (names aside): a column of one can be copied into
   the other with lk_col_append_range. */
static int same_type(const lk_field *a, const lk_field *b)
{
    if (a->type != b->type || a->precision != b->precision || a->scale != b->scale ||
        a->n_children != b->n_children)
        return 0;
    for (int i = 0; i < a->n_children; i++)
        if (!same_type(&a->children[i], &b->children[i]))
            return 0;
    return 1;
}

/* a and b (same type) hold the same len slots: values, nulls and children.
   Costs a memcmp of the buffers, less than packing them. */
static int same_col(const lk_col *a, const lk_col *b, uint32_t len)
{
    if (a->len != len || b->len != len)
        return 0;
    uint32_t an = a->validity ? a->null_count : 0, bn = b->validity ? b->null_count : 0;
    if (an != bn)
        return 0;
    for (uint32_t i = 0; an && i < len; i++)
        if (lk_col_is_null(a, i) != lk_col_is_null(b, i))
            return 0;
    if (a->elem_size && len && memcmp(a->values, b->values, (size_t)len * a->elem_size))
        return 0;
    lk_type t = a->field->type;
    uint32_t child_len = len;
    if (type_has_offsets(t)) {
        if (memcmp(a->offsets, b->offsets, ((size_t)len + 1) * sizeof(uint32_t)))
            return 0;
        if (type_has_data(t) && a->offsets[len] &&
            memcmp(a->data, b->data, a->offsets[len]))
            return 0;
        if (!type_has_data(t))
            child_len = a->offsets[len];
    }
    for (int i = 0; i < a->n_children; i++)
        if (!same_col(&a->children[i], &b->children[i], child_len))
            return 0;
    return 1;
}

/* ---- decoding: the pre-walk ---- */

static int rd_be(const uint8_t *p, int n, uint64_t *v)
{
    uint64_t x = 0;
    for (int i = 0; i < n; i++)
        x = (x << 8) | p[i];
    *v = x;
    return 0;
}

/* Walks one complete msgpack value spanning exactly len bytes, proving that
   every declared count and length fits in what remains. msgpack is prefix
   coded, so a count of pending values replaces any stack. */
static int msg_check(const uint8_t *p, size_t len, lk_error *err)
{
    size_t off = 0;
    uint64_t pending = 1;
    while (pending) {
        if (off >= len)
            return lk_error_set(err, LK_EFORMAT, "message truncated at offset %zu", off);
        pending--;
        uint8_t b = p[off++];
        uint64_t skip = 0, items = 0, n = 0;
        int hdr = 0;
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
            continue;
        } else if (b <= 0x8f) {
            items = 2u * (b & 0x0f);
        } else if (b <= 0x9f) {
            items = b & 0x0f;
        } else if (b <= 0xbf) {
            skip = b & 0x1f;
        } else {
            switch (b) {
            case 0xc4: case 0xd9: hdr = 1; break;
            case 0xc5: case 0xda: hdr = 2; break;
            case 0xc6: case 0xdb: hdr = 4; break;
            case 0xc7: hdr = 1; skip = 1; break;
            case 0xc8: hdr = 2; skip = 1; break;
            case 0xc9: hdr = 4; skip = 1; break;
            case 0xca: skip = 4; break;
            case 0xcb: skip = 8; break;
            case 0xcc: case 0xd0: skip = 1; break;
            case 0xcd: case 0xd1: skip = 2; break;
            case 0xce: case 0xd2: skip = 4; break;
            case 0xcf: case 0xd3: skip = 8; break;
            case 0xd4: skip = 2; break;
            case 0xd5: skip = 3; break;
            case 0xd6: skip = 5; break;
            case 0xd7: skip = 9; break;
            case 0xd8: skip = 17; break;
            case 0xdc: case 0xde: hdr = 2; break;
            case 0xdd: case 0xdf: hdr = 4; break;
            default:
                return lk_error_set(err, LK_EFORMAT, "invalid msgpack byte 0x%02x at offset %zu",
                                    b, off - 1);
            }
            if (hdr) {
                if (len - off < (size_t)hdr)
                    return lk_error_set(err, LK_EFORMAT, "message truncated at offset %zu", off);
                rd_be(p + off, hdr, &n);
                off += (size_t)hdr;
                if (b == 0xdc || b == 0xdd)
                    items = n;
                else if (b == 0xde || b == 0xdf)
                    items = 2 * n;
                else
                    skip += n;
            }
        }
        /* every pending value needs at least one byte */
        if (items > len - off || pending + items > len - off)
            return lk_error_set(err, LK_EFORMAT,
                                "count %llu at offset %zu exceeds the %zu bytes left",
                                (unsigned long long)items, off, len - off);
        pending += items;
        if (skip > len - off)
            return lk_error_set(err, LK_EFORMAT,
                                "length %llu at offset %zu exceeds the %zu bytes left",
                                (unsigned long long)skip, off, len - off);
        off += (size_t)skip;
    }
    if (off != len)
        return lk_error_set(err, LK_EFORMAT, "%zu trailing bytes after the message", len - off);
    return 0;
}

/* ---- decoding: the envelope and field readers ---- */

typedef struct msg_in {
    msgpack_unpacked u;
    const msgpack_object *body;
    int version; /* LK_PROTO_VERSION, or an older one this build still reads (RECORDS) */
} msg_in;

static int msg_open(const void *data, size_t len, msg_in *in, lk_msg_type *type, lk_error *err)
{
    msgpack_unpacked_init(&in->u);
    in->body = NULL;
    in->version = 0;
    if (!data || len == 0)
        return lk_error_set(err, LK_EFORMAT, "empty message");
    int rc = msg_check(data, len, err);
    if (rc)
        return rc;
    size_t off = 0;
    msgpack_unpack_return r = msgpack_unpack_next(&in->u, data, len, &off);
    if (r != MSGPACK_UNPACK_SUCCESS || off != len)
        return lk_error_set(err, LK_EFORMAT, "message does not unpack (%d at offset %zu)", (int)r,
                            off);
    const msgpack_object *o = &in->u.data;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 3)
        return lk_error_set(err, LK_EFORMAT, "message is not a [type, version, body] array");
    const msgpack_object *t = &o->via.array.ptr[0], *v = &o->via.array.ptr[1];
    if (t->type != MSGPACK_OBJECT_POSITIVE_INTEGER || t->via.u64 < LK_MSG_CHUNK ||
        t->via.u64 > LK_MSG_PROGRESS)
        return lk_error_set(err, LK_EFORMAT, "unknown message type");
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return lk_error_set(err, LK_EFORMAT, "message without a version");
    /* RECORDS of an older layout are still read: event_metrics' window state is one, stored
       in state.db by the build that ran before an upgrade */
    int oldest = t->via.u64 == LK_MSG_RECORDS ? LK_PROTO_RECORDS_OLDEST : LK_PROTO_VERSION;
    if (v->via.u64 < (uint64_t)oldest || v->via.u64 > LK_PROTO_VERSION)
        return lk_error_set(err, LK_EFORMAT, "message version %llu, this build speaks %d",
                            (unsigned long long)v->via.u64, LK_PROTO_VERSION);
    in->version = (int)v->via.u64;
    *type = (lk_msg_type)t->via.u64;
    in->body = &o->via.array.ptr[2];
    return 0;
}

static void msg_close(msg_in *in)
{
    msgpack_unpacked_destroy(&in->u);
}

/* Opens data as a message of type want whose body is an array of n items. */
static int msg_open_body(const void *data, size_t len, lk_msg_type want, uint32_t n, msg_in *in,
                         const char *what, lk_error *err)
{
    lk_msg_type t;
    int rc = msg_open(data, len, in, &t, err);
    if (rc)
        return rc;
    if (t != want)
        return lk_error_set(err, LK_EFORMAT, "%s: message has type %d", what, (int)t);
    if (in->body->type != MSGPACK_OBJECT_ARRAY || in->body->via.array.size != n)
        return lk_error_set(err, LK_EFORMAT, "%s: body is not an array of %u", what, n);
    return 0;
}

static int get_i64(const msgpack_object *o, int64_t *v, const char *what, lk_error *err)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX)
        *v = (int64_t)o->via.u64;
    else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        *v = o->via.i64;
    else
        return lk_error_set(err, LK_EFORMAT, "%s is not an int64", what);
    return 0;
}

static int get_i32(const msgpack_object *o, int32_t *v, const char *what, lk_error *err)
{
    int64_t x = 0;
    int rc = get_i64(o, &x, what, err);
    if (rc)
        return rc;
    if (x < INT32_MIN || x > INT32_MAX)
        return lk_error_set(err, LK_EFORMAT, "%s is not an int32", what);
    *v = (int32_t)x;
    return 0;
}

static int get_u32(const msgpack_object *o, uint32_t max, uint32_t *v, const char *what,
                   lk_error *err)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > max)
        return lk_error_set(err, LK_EFORMAT, "%s is not an integer in [0, %u]", what, max);
    *v = (uint32_t)o->via.u64;
    return 0;
}

/* Copies a str into dst (cap bytes with the NUL); too long is an error. */
static int get_str(const msgpack_object *o, char *dst, size_t cap, const char *what,
                   lk_error *err)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return lk_error_set(err, LK_EFORMAT, "%s is not a string", what);
    if (o->via.str.size >= cap)
        return lk_error_set(err, LK_EFORMAT, "%s is longer than %zu bytes", what, cap - 1);
    if (o->via.str.size) /* msgpack-c gives empty strings a NULL ptr */
        memcpy(dst, o->via.str.ptr, o->via.str.size);
    dst[o->via.str.size] = '\0';
    return 0;
}

int lk_msg_peek(const void *data, size_t len, lk_msg_type *type, lk_error *err)
{
    msg_in in;
    int rc = msg_open(data, len, &in, type, err);
    msg_close(&in);
    return rc;
}

/* ---- CHUNK ---- */

int lk_msg_chunk_encode(const lk_msg_chunk *m, lk_buf *out)
{
    msgpack_packer pk;
    lk_buf_grow(out, (m->by_ref ? 0 : m->len) + m->header_len + strlen(m->file_path) + 128);
    /* the header item is only sent when there is one (10 items otherwise) */
    enc_begin(&pk, out, LK_MSG_CHUNK, m->header_len ? 11 : 10);
    msgpack_pack_int64(&pk, m->batch_id);
    msgpack_pack_int32(&pk, m->chunk_idx);
    msgpack_pack_int32(&pk, m->schema_version);
    msgpack_pack_int64(&pk, m->file_id);
    pack_cstr(&pk, m->file_path);
    msgpack_pack_int64(&pk, m->file_size);
    msgpack_pack_int64(&pk, m->file_mtime_us);
    msgpack_pack_int64(&pk, m->offset);
    msgpack_pack_int64(&pk, m->first_line);
    if (m->by_ref) { /* [len, digest, pid, fd]: the receiver reads the bytes from the file */
        msgpack_pack_array(&pk, 4);
        msgpack_pack_uint64(&pk, (uint64_t)m->len);
        msgpack_pack_uint64(&pk, m->digest);
        msgpack_pack_int32(&pk, m->ref_pid);
        msgpack_pack_int32(&pk, m->ref_fd);
    } else {
        pack_bin(&pk, m->data, m->len);
    }
    if (m->header_len)
        pack_bin(&pk, m->header, m->header_len);
    enc_end(out);
    return 0;
}

int lk_msg_chunk_decode(const void *data, size_t len, lk_msg_chunk *m, lk_error *err)
{
    msg_in in;
    lk_msg_type t;
    int rc = msg_open(data, len, &in, &t, err);
    if (rc)
        goto out;
    if (t != LK_MSG_CHUNK) {
        rc = lk_error_set(err, LK_EFORMAT, "chunk: message has type %d", (int)t);
        goto out;
    }
    if (in.body->type != MSGPACK_OBJECT_ARRAY ||
        (in.body->via.array.size != 10 && in.body->via.array.size != 11)) {
        rc = lk_error_set(err, LK_EFORMAT, "chunk: body is not an array of 10 or 11");
        goto out;
    }
    const msgpack_object *a = in.body->via.array.ptr;
    if ((rc = get_i64(&a[0], &m->batch_id, "chunk batch_id", err)) ||
        (rc = get_i32(&a[1], &m->chunk_idx, "chunk chunk_idx", err)) ||
        (rc = get_i32(&a[2], &m->schema_version, "chunk schema_version", err)) ||
        (rc = get_i64(&a[3], &m->file_id, "chunk file_id", err)) ||
        (rc = get_str(&a[4], m->file_path, sizeof m->file_path, "chunk file_path", err)) ||
        (rc = get_i64(&a[5], &m->file_size, "chunk file_size", err)) ||
        (rc = get_i64(&a[6], &m->file_mtime_us, "chunk file_mtime_us", err)) ||
        (rc = get_i64(&a[7], &m->offset, "chunk offset", err)) ||
        (rc = get_i64(&a[8], &m->first_line, "chunk first_line", err)))
        goto out;
    m->by_ref = 0;
    m->digest = 0;
    m->file_bytes = 0;
    m->ref_pid = 0;
    m->ref_fd = -1;
    const msgpack_object *r = a[9].type == MSGPACK_OBJECT_ARRAY ? a[9].via.array.ptr : NULL;
    if (r && a[9].via.array.size == 4 && r[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
        r[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER && r[0].via.u64 <= LK_MSG_MAX_REF_BYTES) {
        m->by_ref = 1;
        m->data = NULL;
        m->len = (size_t)r[0].via.u64;
        m->digest = r[1].via.u64;
        if ((rc = get_i32(&r[2], &m->ref_pid, "chunk reference pid", err)) ||
            (rc = get_i32(&r[3], &m->ref_fd, "chunk reference fd", err)))
            goto out;
    } else if (a[9].type != MSGPACK_OBJECT_BIN) {
        rc = lk_error_set(err, LK_EFORMAT,
                          "chunk data is neither a bin nor [len, digest, pid, fd]");
        goto out;
    } else {
        m->data = a[9].via.bin.size ? a[9].via.bin.ptr : "";
        m->len = a[9].via.bin.size;
    }
    m->header = "";
    m->header_len = 0;
    if (in.body->via.array.size == 11) {
        if (a[10].type != MSGPACK_OBJECT_BIN) {
            rc = lk_error_set(err, LK_EFORMAT, "chunk header is not a bin");
            goto out;
        }
        m->header = a[10].via.bin.size ? a[10].via.bin.ptr : "";
        m->header_len = a[10].via.bin.size;
    }
out:
    msg_close(&in);
    return rc;
}

/* ---- RECORDS ---- */

#ifndef NDEBUG
/* Debug builds (the tests' ASan build) check what a lineage hint claims before trusting it:
   col's row j is src's row sel_j (the j-th kept row), compared as JSON on up to 1,024 rows spread
   over the column. A wrong hint would write wrong values silently in a release build. */
static void check_lineage(const lk_col *src, const lk_col *col, const uint8_t *keep,
                          uint32_t nfrom, int part, int from, int k)
{
    lk_buf a = LK_BUF_INIT, b = LK_BUF_INIT;
    uint32_t step = col->len / 1024 + 1;
    for (uint32_t r = 0, j = 0; r < nfrom; r++) {
        if (!keep[r]) continue;
        if (j % step == 0) {
            lk_buf_reset(&a);
            lk_buf_reset(&b);
            lk_rowjson_value(src, r, &a);
            lk_rowjson_value(col, j, &b);
            if (a.len != b.len || memcmp(a.data, b.data, a.len)) {
                fprintf(stderr,
                        "lk_msg: part %d column '%s' row %u is %.*s, but its lineage says part %d "
                        "column %d row %u: %.*s\n",
                        part, col->field->name, j, (int)b.len, b.data, from, k, r, (int)a.len,
                        a.data);
                abort();
            }
        }
        j++;
    }
    lk_buf_free(&a);
    lk_buf_free(&b);
}
#endif

int lk_msg_records_encode(const lk_msg_records *m, lk_buf *out)
{
    if (m->n_parts < 0 || m->n_parts > LK_MSG_MAX_PARTS)
        return LK_ELIMIT;
    for (int i = 0; i < m->n_parts; i++)
        if (!m->parts[i].batch)
            return LK_EFORMAT;
    size_t est = 256;
    for (int i = 0; i < m->n_parts; i++)
        est += lk_batch_bytes(m->parts[i].batch) + 4096 +
               (size_t)lk_batch_nrows(m->parts[i].batch) / 2;
    lk_buf_grow(out, est);
    msgpack_packer pk;
    enc_begin(&pk, out, LK_MSG_RECORDS, 6);
    msgpack_pack_int64(&pk, m->batch_id);
    msgpack_pack_int32(&pk, m->chunk_idx);
    msgpack_pack_int64(&pk, m->rows_in);
    msgpack_pack_int64(&pk, m->corrupt_rows);
    msgpack_pack_int64(&pk, m->rescued_rows);
    msgpack_pack_array(&pk, (size_t)m->n_parts);
    lk_buf js = LK_BUF_INIT, bits = LK_BUF_INIT;
    for (int i = 0; i < m->n_parts; i++) {
        const lk_msg_part *part = &m->parts[i];
        const lk_batch *b = part->batch;
        int nc = lk_batch_ncols(b);
        uint32_t nrows = lk_batch_nrows(b);
        msgpack_pack_array(&pk, 4 + (size_t)nc);
        pack_cstr(&pk, part->table);
        lk_buf_reset(&js);
        lk_schema_to_json(lk_batch_schema(b), &js);
        msgpack_pack_str(&pk, js.len);
        msgpack_pack_str_body(&pk, js.data, js.len);
        msgpack_pack_uint32(&pk, nrows);
        /* the rows of an earlier part this part holds (a filter kept them): [part, bitmap] */
        const lk_batch *from = NULL;
        if (part->keep && part->cols && part->from >= 0 && part->from < i) {
            from = m->parts[part->from].batch;
            uint32_t nfrom = lk_batch_nrows(from), kept = 0;
            lk_buf_reset(&bits);
            lk_buf_grow(&bits, (size_t)nfrom / 8 + 1);
            memset(bits.data, 0, (size_t)nfrom / 8 + 1);
            for (uint32_t r = 0; r < nfrom; r++)
                if (part->keep[r]) {
                    ((uint8_t *)bits.data)[r >> 3] |= (uint8_t)(1u << (r & 7));
                    kept++;
                }
            /* all of them: the plain references below say it */
            if (kept != nrows || kept == nfrom)
                from = NULL;
            else
                bits.len = ((size_t)nfrom + 7) / 8;
        }
        if (part->deferred && !from) {
            /* lk_transforms defers only in runs that drop rows, into the rows keep says */
            fprintf(stderr, "lk_msg: part %s has empty columns but no selection to send\n",
                    part->table);
            abort();
        }
        if (from) {
            msgpack_pack_array(&pk, 2);
            msgpack_pack_uint32(&pk, (uint32_t)part->from);
            pack_bin(&pk, bits.data, bits.len);
        } else {
            msgpack_pack_nil(&pk);
        }
        for (int c = 0; c < nc; c++) {
            const lk_col *col = lk_batch_col_const(b, c);
            int k = from ? part->cols[c] : -1;
            if (k >= 0 && k < lk_batch_ncols(from)) {
                const lk_col *fc = lk_batch_col_const(from, k);
                int empty = part->deferred && col->len == 0 && nrows;
                if (same_type(fc->field, col->field) && fc->len == lk_batch_nrows(from) &&
                    (col->len == nrows || empty)) {
#ifndef NDEBUG
                    if (!empty)
                        check_lineage(fc, col, part->keep, fc->len, i, part->from, k);
#endif
                    msgpack_pack_array(&pk, 3);
                    msgpack_pack_uint32(&pk, (uint32_t)part->from);
                    msgpack_pack_uint32(&pk, (uint32_t)k);
                    msgpack_pack_uint32(&pk, 1);
                    continue;
                }
            }
            if (part->deferred && col->len != nrows) { /* deferred, not sent as a reference */
                fprintf(stderr, "lk_msg: part %s column %s holds %u of %u rows\n", part->table,
                        col->field->name, col->len, nrows);
                abort();
            }
            /* a column equal to the one of the same name in an earlier part
               (processed_events repeats most of raw_events' columns) is
               sent as [part, column]: the receiver copies it */
            int ref = 0;
            for (int j = 0; j < i && !ref; j++) {
                const lk_batch *e = m->parts[j].batch;
                int ek = lk_schema_find(lk_batch_schema(e), col->field->name);
                if (ek < 0 || lk_batch_nrows(e) != nrows)
                    continue;
                const lk_col *ec = lk_batch_col_const(e, ek);
                if (same_type(ec->field, col->field) && same_col(ec, col, nrows)) {
                    msgpack_pack_array(&pk, 2);
                    msgpack_pack_uint32(&pk, (uint32_t)j);
                    msgpack_pack_uint32(&pk, (uint32_t)ek);
                    ref = 1;
                }
            }
            if (!ref)
                col_encode(&pk, col);
        }
    }
    lk_buf_free(&js);
    lk_buf_free(&bits);
    enc_end(out);
    return 0;
}

/* Valid bits among the first len of a bitmap. __builtin_popcount is a
   GCC/Clang builtin (both compilers this project supports). */
static uint32_t count_valid(const uint8_t *v, uint32_t len)
{
    uint32_t n = 0, full = len / 8;
    for (uint32_t i = 0; i < full; i++)
        n += (uint32_t)__builtin_popcount(v[i]);
    if (len & 7)
        n += (uint32_t)__builtin_popcount(v[full] & ((1u << (len & 7)) - 1));
    return n;
}

static int bin_or_nil(const msgpack_object *o, const char **p, size_t *n)
{
    if (o->type == MSGPACK_OBJECT_NIL) {
        *p = NULL;
        *n = 0;
        return 0;
    }
    if (o->type != MSGPACK_OBJECT_BIN)
        return -1;
    *p = o->via.bin.ptr;
    *n = o->via.bin.size;
    return 1;
}

/* Decodes one column into c (empty after lk_batch_reset) which must end
   with want_len slots. path names the column in errors. */
static int col_decode(lk_col *c, const msgpack_object *o, uint32_t want_len, const char *path,
                      int depth, lk_error *err)
{
    const lk_field *f = c->field;
    lk_type t = f->type;
    if (depth > 64)
        return lk_error_set(err, LK_EFORMAT, "column '%s': nested too deep", path);
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 7)
        return lk_error_set(err, LK_EFORMAT, "column '%s' is not an array of 7", path);
    const msgpack_object *a = o->via.array.ptr;
    uint32_t len = 0, nulls = 0;
    if (get_u32(&a[0], LK_MSG_MAX_LEN, &len, "column len", err) ||
        get_u32(&a[1], LK_MSG_MAX_LEN, &nulls, "column null_count", err)) {
        lk_error_prefix(err, "column '%s'", path);
        return LK_EFORMAT;
    }
    if (len != want_len)
        return lk_error_set(err, LK_EFORMAT, "column '%s': len %u, expected %u", path, len,
                            want_len);
    if (nulls > len)
        return lk_error_set(err, LK_EFORMAT, "column '%s': null_count %u > len %u", path, nulls,
                            len);
    const char *vp = NULL, *valp = NULL, *offp = NULL, *dp = NULL;
    size_t vn = 0, valn = 0, offn = 0, dn = 0;
    int hv = bin_or_nil(&a[2], &vp, &vn), hval = bin_or_nil(&a[3], &valp, &valn),
        hoff = bin_or_nil(&a[4], &offp, &offn), hd = bin_or_nil(&a[5], &dp, &dn);
    if (hv < 0 || hval < 0 || hoff < 0 || hd < 0)
        return lk_error_set(err, LK_EFORMAT, "column '%s': a buffer is neither bin nor nil", path);
    if (!hv && nulls)
        return lk_error_set(err, LK_EFORMAT, "column '%s': %u nulls but no validity", path,
                            nulls);
    if (hv && vn < ((size_t)len + 7) / 8)
        return lk_error_set(err, LK_EFORMAT, "column '%s': validity of %zu bytes for %u slots",
                            path, vn, len);
    if (c->elem_size ? (size_t)len * c->elem_size != valn || (len && !hval) : hval)
        return lk_error_set(err, LK_EFORMAT, "column '%s': values of %zu bytes for %u slots",
                            path, valn, len);
    if (type_has_offsets(t) ? !hoff || offn != ((size_t)len + 1) * 4 : hoff)
        return lk_error_set(err, LK_EFORMAT, "column '%s': offsets of %zu bytes for %u slots",
                            path, offn, len);
    if (!type_has_data(t) && hd)
        return lk_error_set(err, LK_EFORMAT, "column '%s': unexpected data buffer", path);
    if (a[6].type != MSGPACK_OBJECT_ARRAY || a[6].via.array.size != (uint32_t)f->n_children)
        return lk_error_set(err, LK_EFORMAT, "column '%s': %s children, schema has %d", path,
                            a[6].type == MSGPACK_OBJECT_ARRAY ? "wrong number of" : "no",
                            f->n_children);

    /* a string column always gets a data buffer, so c->data is never NULL */
    lk_col_reserve(c, len, type_has_data(t) && !dn ? 1 : dn);
    if (hv && nulls) {
        lk_col_ensure_validity(c);
        memcpy(c->validity, vp, ((size_t)len + 7) / 8);
        if (len - count_valid(c->validity, len) != nulls)
            return lk_error_set(err, LK_EFORMAT,
                                "column '%s': null_count %u does not match the validity", path,
                                nulls);
    }
    if (valn)
        memcpy(c->values, valp, valn);
    uint32_t child_len = len;
    if (type_has_offsets(t)) {
        memcpy(c->offsets, offp, offn);
        if (c->offsets[0] != 0)
            return lk_error_set(err, LK_EFORMAT, "column '%s': offsets[0] is %u", path,
                                c->offsets[0]);
        for (uint32_t i = 0; i < len; i++)
            if (c->offsets[i + 1] < c->offsets[i])
                return lk_error_set(err, LK_EFORMAT,
                                    "column '%s': offsets not monotonic at slot %u", path, i);
        if (type_has_data(t)) {
            if (c->offsets[len] != dn)
                return lk_error_set(err, LK_EFORMAT,
                                    "column '%s': offsets end at %u, data has %zu bytes", path,
                                    c->offsets[len], dn);
            if (dn)
                memcpy(c->data, dp, dn);
            c->data_len = dn;
        } else {
            child_len = c->offsets[len];
            if (child_len > LK_MSG_MAX_LEN)
                return lk_error_set(err, LK_EFORMAT, "column '%s': %u elements", path, child_len);
        }
    }
    c->len = len;
    c->null_count = nulls;
    for (int i = 0; i < c->n_children; i++) {
        char sub[256];
        snprintf(sub, sizeof sub, "%s.%s", path, c->children[i].field->name);
        int rc = col_decode(&c->children[i], &a[6].via.array.ptr[i], child_len, sub, depth + 1,
                            err);
        if (rc)
            return rc;
    }
    return 0;
}

/* Makes slot's batch one for the schema in js (reused when equal), reset. */
static int part_batch(lk_msg_part *slot, const char *js, size_t jn, lk_error *err)
{
    if (slot->batch) {
        /* The encoder sends lk_schema_to_json() text, so the common case (the
           same schema as last time) is settled by comparing the text. */
        lk_buf cur = LK_BUF_INIT;
        lk_schema_to_json(lk_batch_schema(slot->batch), &cur);
        int same = cur.len == jn && !memcmp(cur.data, js, jn);
        lk_buf_free(&cur);
        if (same) {
            lk_batch_reset(slot->batch);
            return 0;
        }
    }
    lk_schema *s = NULL;
    int rc = lk_schema_from_json(js, jn, &s, err);
    if (rc) {
        lk_error_prefix(err, "part schema");
        return LK_EFORMAT;
    }
    if (slot->batch && lk_schema_equal(lk_batch_schema(slot->batch), s)) {
        lk_batch_reset(slot->batch);
    } else {
        lk_batch_destroy(&slot->batch);
        slot->batch = lk_batch_new(s);
    }
    lk_schema_destroy(&s);
    return 0;
}

/* A column sent as [part, column] of an earlier part: copied from there; as [part, column, 1]:
   that column at the rows sel[0..nsel) (the part's selection of part sel_from), gathered. */
static int col_copy(lk_msg_records *m, int idx, lk_col *col, const msgpack_object *o,
                    uint32_t nrows, int sel_from, lk_error *err)
{
    const msgpack_object *a = o->via.array.ptr;
    int take = o->via.array.size == 3;
    uint32_t j = 0, k = 0, one = 0;
    if (get_u32(&a[0], LK_MSG_MAX_PARTS, &j, "column reference part", err) ||
        get_u32(&a[1], LK_MSG_MAX_LEN, &k, "column reference column", err) ||
        (take && get_u32(&a[2], 1, &one, "column reference selection", err)))
        return LK_EFORMAT;
    if ((int)j >= idx || !m->parts[j].batch || (int)k >= lk_batch_ncols(m->parts[j].batch))
        return lk_error_set(err, LK_EFORMAT, "column '%s' refers to part %u column %u, not sent",
                            col->field->name, j, k);
    if (take && (!one || (int)j != sel_from))
        return lk_error_set(err, LK_EFORMAT,
                            "column '%s' takes rows of part %u, but the part selects from %d",
                            col->field->name, j, sel_from);
    const lk_col *src = lk_batch_col_const(m->parts[j].batch, (int)k);
    uint32_t want = take ? lk_batch_nrows(m->parts[j].batch) : nrows;
    if (!same_type(src->field, col->field) || src->len != want)
        return lk_error_set(err, LK_EFORMAT,
                            "column '%s' refers to part %u column '%s' of another type or length",
                            col->field->name, j, src->field->name);
    if (take)
        lk_col_append_sel(col, src, m->sel, nrows);
    else
        lk_col_append_range(col, src, 0, nrows);
    return 0;
}

/* A part's selection [part, bitmap] (or nil): m->sel becomes its rows, which must be nrows. The
   part it selects from, or -1. */
static int sel_decode(lk_msg_records *m, int idx, const msgpack_object *o, uint32_t nrows,
                      int *from, lk_error *err)
{
    *from = -1;
    if (o->type == MSGPACK_OBJECT_NIL)
        return 0;
    uint32_t j = 0;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 2 ||
        o->via.array.ptr[1].type != MSGPACK_OBJECT_BIN ||
        get_u32(&o->via.array.ptr[0], LK_MSG_MAX_PARTS, &j, "selection part", err))
        return lk_error_set(err, LK_EFORMAT, "selection is not [part, bitmap]");
    if ((int)j >= idx || !m->parts[j].batch)
        return lk_error_set(err, LK_EFORMAT, "selection of part %u, not sent", j);
    uint32_t nfrom = lk_batch_nrows(m->parts[j].batch);
    const msgpack_object_bin *bm = &o->via.array.ptr[1].via.bin;
    if (bm->size != ((size_t)nfrom + 7) / 8 ||
        count_valid((const uint8_t *)bm->ptr, nfrom) != nrows)
        return lk_error_set(err, LK_EFORMAT,
                            "selection of %u bytes does not select %u of part %u's %u rows",
                            bm->size, nrows, j, nfrom);
    if (nrows > m->sel_cap) {
        m->sel_cap = nrows + 1024;
        free(m->sel);
        m->sel = malloc(sizeof *m->sel * m->sel_cap);
        if (!m->sel)
            abort();
    }
    const uint8_t *p = (const uint8_t *)bm->ptr;
    uint32_t n = 0;
    for (uint32_t r = 0; r < nfrom; r++)
        if (p[r >> 3] >> (r & 7) & 1)
            m->sel[n++] = r;
    *from = (int)j;
    return 0;
}

/* A part: [table, schema, nrows, selection, column...]; version 2 had no selection. */
static int part_decode(lk_msg_records *m, int idx, const msgpack_object *o, int version,
                       lk_error *err)
{
    lk_msg_part *slot = &m->parts[idx];
    uint32_t head = version >= 3 ? 4 : 3; /* items before the columns */
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < head)
        return lk_error_set(err, LK_EFORMAT, "records part %d is not an array", idx);
    const msgpack_object *a = o->via.array.ptr;
    int rc;
    if ((rc = get_str(&a[0], slot->table, sizeof slot->table, "table", err)))
        goto fail;
    if (a[1].type != MSGPACK_OBJECT_STR) {
        rc = lk_error_set(err, LK_EFORMAT, "schema is not a string");
        goto fail;
    }
    uint32_t nrows = 0;
    if ((rc = get_u32(&a[2], LK_MSG_MAX_LEN, &nrows, "nrows", err)))
        goto fail;
    if ((rc = part_batch(slot, a[1].via.str.ptr, a[1].via.str.size, err)))
        goto fail;
    lk_batch *b = slot->batch;
    int nc = lk_batch_ncols(b), sel_from = -1;
    if (o->via.array.size != head + (uint32_t)nc) {
        rc = lk_error_set(err, LK_EFORMAT, "%u columns, schema has %d", o->via.array.size - head,
                          nc);
        goto fail;
    }
    if (head == 4 && (rc = sel_decode(m, idx, &a[3], nrows, &sel_from, err)))
        goto fail;
    for (int c = 0; c < nc; c++) {
        lk_col *col = lk_batch_col(b, c);
        const msgpack_object *co = &a[head + c];
        if (co->type == MSGPACK_OBJECT_ARRAY &&
            (co->via.array.size == 2 || co->via.array.size == 3))
            rc = col_copy(m, idx, col, co, nrows, sel_from, err);
        else
            rc = col_decode(col, co, nrows, col->field->name, 0, err);
        if (rc)
            goto fail;
    }
    lk_batch_set_nrows(b, nrows);
    return 0;
fail:
    if (slot->batch)
        lk_batch_reset(slot->batch);
    lk_error_prefix(err, "records part %d", idx);
    return LK_EFORMAT;
}

int lk_msg_records_decode(const void *data, size_t len, lk_msg_records *m, lk_error *err)
{
    msg_in in;
    int rc = msg_open_body(data, len, LK_MSG_RECORDS, 6, &in, "records", err);
    if (rc)
        goto out;
    const msgpack_object *a = in.body->via.array.ptr;
    if ((rc = get_i64(&a[0], &m->batch_id, "records batch_id", err)) ||
        (rc = get_i32(&a[1], &m->chunk_idx, "records chunk_idx", err)) ||
        (rc = get_i64(&a[2], &m->rows_in, "records rows_in", err)) ||
        (rc = get_i64(&a[3], &m->corrupt_rows, "records corrupt_rows", err)) ||
        (rc = get_i64(&a[4], &m->rescued_rows, "records rescued_rows", err)))
        goto out;
    if (a[5].type != MSGPACK_OBJECT_ARRAY || a[5].via.array.size > LK_MSG_MAX_PARTS) {
        rc = lk_error_set(err, LK_EFORMAT, "records parts is not an array of at most %d",
                          LK_MSG_MAX_PARTS);
        goto out;
    }
    m->n_parts = 0;
    uint32_t np = a[5].via.array.size;
    for (uint32_t i = 0; i < np; i++)
        if ((rc = part_decode(m, (int)i, &a[5].via.array.ptr[i], in.version, err)))
            goto out;
    m->n_parts = (int)np;
out:
    if (rc)
        m->n_parts = 0;
    msg_close(&in);
    return rc;
}

void lk_msg_records_clear(lk_msg_records *m)
{
    for (int i = 0; i < LK_MSG_MAX_PARTS; i++)
        lk_batch_destroy(&m->parts[i].batch);
    m->n_parts = 0;
    free(m->sel);
    m->sel = NULL;
    m->sel_cap = 0;
}

/* A NUL-terminated malloc'ed copy of a msgpack string. */
static char *dup_str(const msgpack_object *o)
{
    char *p = malloc(o->via.str.size + 1);
    if (!p)
        abort();
    if (o->via.str.size)
        memcpy(p, o->via.str.ptr, o->via.str.size);
    p[o->via.str.size] = '\0';
    return p;
}

/* ---- FILES ---- */

int lk_msg_files_encode(const lk_msg_files *m, lk_buf *out)
{
    if (m->n_files < 0 || m->n_files > LK_MSG_MAX_FILES)
        return LK_ELIMIT;
    msgpack_packer pk;
    enc_begin(&pk, out, LK_MSG_FILES,
              m->dedupe && m->kind ? 11 : m->partial && m->kind ? 10 : m->kind ? 9 : 6);
    msgpack_pack_int64(&pk, m->batch_id);
    msgpack_pack_int32(&pk, m->chunk_idx);
    msgpack_pack_int64(&pk, m->rows_in);
    msgpack_pack_int64(&pk, m->corrupt_rows);
    msgpack_pack_int64(&pk, m->rescued_rows);
    msgpack_pack_array(&pk, (size_t)m->n_files);
    for (int i = 0; i < m->n_files; i++) {
        const lk_msg_file *f = &m->files[i];
        msgpack_pack_array(&pk, f->partition_values_json ? 7 : 6);
        pack_cstr(&pk, f->table);
        pack_cstr(&pk, f->path);
        msgpack_pack_int64(&pk, f->size);
        msgpack_pack_int64(&pk, f->rows);
        msgpack_pack_int64(&pk, f->mtime_ms);
        if (f->stats_json)
            pack_cstr(&pk, f->stats_json);
        else
            msgpack_pack_nil(&pk);
        if (f->partition_values_json)
            pack_cstr(&pk, f->partition_values_json);
    }
    if (m->kind) {
        msgpack_pack_int32(&pk, m->kind);
        msgpack_pack_int64(&pk, m->session);
        msgpack_pack_array(&pk, (size_t)m->n_chunks);
        for (int i = 0; i < m->n_chunks; i++)
            msgpack_pack_int32(&pk, m->chunks[i]);
    }
    if ((m->partial || m->dedupe) && m->kind) {
        msgpack_pack_bin(&pk, m->partial ? m->partial_len : 0);
        if (m->partial) msgpack_pack_bin_body(&pk, m->partial, m->partial_len);
    }
    if (m->dedupe && m->kind) {
        msgpack_pack_bin(&pk, m->dedupe_len);
        msgpack_pack_bin_body(&pk, m->dedupe, m->dedupe_len);
    }
    enc_end(out);
    return 0;
}

/* m must be zeroed or hold a previous decode: its stats_json are freed first. */
int lk_msg_files_decode(const void *data, size_t len, lk_msg_files *m, lk_error *err)
{
    lk_msg_files_clear(m);
    msg_in in;
    lk_msg_type t;
    int rc = msg_open(data, len, &in, &t, err);
    if (rc == 0 && t != LK_MSG_FILES)
        rc = lk_error_set(err, LK_EFORMAT, "files: message has type %d", (int)t);
    /* 6 fields; HOLD and CLOSE add kind, session and chunks; a HOLD with
       event_metrics' partial of its chunk adds it, one with dedupe's key list
       adds that after it (the partial then possibly empty) */
    if (rc == 0 && (in.body->type != MSGPACK_OBJECT_ARRAY ||
                    (in.body->via.array.size != 6 && in.body->via.array.size != 9 &&
                     in.body->via.array.size != 10 && in.body->via.array.size != 11)))
        rc = lk_error_set(err, LK_EFORMAT, "files: body is not an array of 6, 9, 10 or 11");
    if (rc)
        goto out;
    const msgpack_object *a = in.body->via.array.ptr;
    if (in.body->via.array.size >= 9) {
        const msgpack_object *ck = &a[8];
        if ((rc = get_i32(&a[6], &m->kind, "files kind", err)) ||
            (rc = get_i64(&a[7], &m->session, "files session", err)))
            goto out;
        if (m->kind != LK_FILES_HOLD && m->kind != LK_FILES_CLOSE) {
            rc = lk_error_set(err, LK_EFORMAT, "files kind %d unknown", (int)m->kind);
            goto out;
        }
        if (ck->type != MSGPACK_OBJECT_ARRAY || ck->via.array.size > LK_CHUNK_K_MASK + 1) {
            rc = lk_error_set(err, LK_EFORMAT, "files chunks is not an array of at most %d",
                              LK_CHUNK_K_MASK + 1);
            goto out;
        }
        for (uint32_t i = 0; i < ck->via.array.size; i++) {
            int32_t k = 0;
            if ((rc = get_i32(&ck->via.array.ptr[i], &k, "files chunk", err)))
                goto out;
            lk_msg_files_add_chunk(m, k);
        }
    }
    if ((rc = get_i64(&a[0], &m->batch_id, "files batch_id", err)) ||
        (rc = get_i32(&a[1], &m->chunk_idx, "files chunk_idx", err)) ||
        (rc = get_i64(&a[2], &m->rows_in, "files rows_in", err)) ||
        (rc = get_i64(&a[3], &m->corrupt_rows, "files corrupt_rows", err)) ||
        (rc = get_i64(&a[4], &m->rescued_rows, "files rescued_rows", err)))
        goto out;
    if (a[5].type != MSGPACK_OBJECT_ARRAY || a[5].via.array.size > LK_MSG_MAX_FILES) {
        rc = lk_error_set(err, LK_EFORMAT, "files list is not an array of at most %d",
                          LK_MSG_MAX_FILES);
        goto out;
    }
    for (uint32_t i = 0; i < a[5].via.array.size; i++) {
        const msgpack_object *o = &a[5].via.array.ptr[i];
        lk_msg_file *f = lk_msg_files_add(m);
        if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 6 || o->via.array.size > 7) {
            rc = lk_error_set(err, LK_EFORMAT, "files entry %u is not an array of 6 or 7", i);
            goto out;
        }
        const msgpack_object *e = o->via.array.ptr;
        if ((rc = get_str(&e[0], f->table, sizeof f->table, "file table", err)) ||
            (rc = get_str(&e[1], f->path, sizeof f->path, "file path", err)) ||
            (rc = get_i64(&e[2], &f->size, "file size", err)) ||
            (rc = get_i64(&e[3], &f->rows, "file rows", err)) ||
            (rc = get_i64(&e[4], &f->mtime_ms, "file mtime_ms", err))) {
            lk_error_prefix(err, "files entry %u", i);
            goto out;
        }
        if (e[5].type == MSGPACK_OBJECT_STR) {
            f->stats_json = dup_str(&e[5]);
        } else if (e[5].type != MSGPACK_OBJECT_NIL) {
            rc = lk_error_set(err, LK_EFORMAT, "files entry %u: stats is not a string", i);
            goto out;
        }
        if (o->via.array.size == 7) {
            if (e[6].type != MSGPACK_OBJECT_STR) {
                rc = lk_error_set(err, LK_EFORMAT, "files entry %u: partition values are not a "
                                  "string", i);
                goto out;
            }
            f->partition_values_json = dup_str(&e[6]);
        }
    }
    if (in.body->via.array.size == 11) {
        if (a[10].type != MSGPACK_OBJECT_BIN) {
            rc = lk_error_set(err, LK_EFORMAT, "files: the dedupe key list is not binary");
            goto out;
        }
        if (a[10].via.bin.size) {
            m->dedupe = malloc(a[10].via.bin.size);
            if (!m->dedupe) abort();
            memcpy(m->dedupe, a[10].via.bin.ptr, a[10].via.bin.size);
            m->dedupe_len = a[10].via.bin.size;
        }
    }
    if (in.body->via.array.size >= 10) {
        if (a[9].type != MSGPACK_OBJECT_BIN) {
            rc = lk_error_set(err, LK_EFORMAT, "files: the window partial is not binary");
            goto out;
        }
        if (a[9].via.bin.size) {
            m->partial = malloc(a[9].via.bin.size);
            if (!m->partial) abort();
            memcpy(m->partial, a[9].via.bin.ptr, a[9].via.bin.size);
            m->partial_len = a[9].via.bin.size;
        }
    }
out:
    if (rc)
        lk_msg_files_clear(m);
    msg_close(&in);
    return rc;
}

lk_msg_file *lk_msg_files_add(lk_msg_files *m)
{
    if (lk_msg_files_resize(m, m->n_files + 1))
        return NULL;
    return &m->files[m->n_files - 1];
}

int lk_msg_files_resize(lk_msg_files *m, int n)
{
    if (n < 0 || n > LK_MSG_MAX_FILES)
        return LK_ELIMIT;
    if (n > m->cap_files) {
        int cap = m->cap_files ? m->cap_files : 4;
        while (cap < n)
            cap *= 2;
        lk_msg_file *f = realloc(m->files, (size_t)cap * sizeof *f);
        if (!f)
            abort();
        memset(f + m->cap_files, 0, (size_t)(cap - m->cap_files) * sizeof *f);
        m->files = f;
        m->cap_files = cap;
    }
    for (int i = m->n_files; i < n; i++)
        memset(&m->files[i], 0, sizeof m->files[i]);
    m->n_files = n;
    return 0;
}

void lk_msg_files_clear(lk_msg_files *m)
{
    for (int i = 0; i < m->n_files; i++) {
        free(m->files[i].stats_json);
        free(m->files[i].partition_values_json);
    }
    free(m->files);
    m->files = NULL;
    m->n_files = m->cap_files = 0;
    free(m->partial);
    m->partial = NULL;
    m->partial_len = 0;
    free(m->dedupe);
    m->dedupe = NULL;
    m->dedupe_len = 0;
    free(m->chunks);
    m->chunks = NULL;
    m->n_chunks = 0;
    m->kind = 0;
    m->session = 0;
}

void lk_msg_files_add_chunk(lk_msg_files *m, int32_t k)
{
    if ((m->n_chunks & (m->n_chunks - 1)) == 0 || m->n_chunks == 0) {
        size_t cap = m->n_chunks ? (size_t)m->n_chunks * 2 : 16;
        int32_t *c = realloc(m->chunks, cap * sizeof *c);
        if (!c)
            abort();
        m->chunks = c;
    }
    m->chunks[m->n_chunks++] = k;
}

/* ---- EVENT ---- */

void lk_msg_event_init(lk_msg_event *e, const char *name)
{
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
}

static lk_msg_kv *event_slot(lk_msg_event *e, const char *key)
{
    for (int i = 0; i < e->n; i++)
        if (!strncmp(e->kv[i].key, key, sizeof e->kv[i].key - 1))
            return &e->kv[i];
    if (e->n >= LK_MSG_MAX_KV)
        return NULL;
    lk_msg_kv *kv = &e->kv[e->n++];
    memset(kv, 0, sizeof *kv);
    snprintf(kv->key, sizeof kv->key, "%s", key);
    return kv;
}

void lk_msg_event_set_int(lk_msg_event *e, const char *key, int64_t v)
{
    lk_msg_kv *kv = event_slot(e, key);
    if (!kv)
        return;
    kv->is_str = 0;
    kv->i = v;
    kv->s[0] = '\0';
}

void lk_msg_event_set_str(lk_msg_event *e, const char *key, const char *v)
{
    lk_msg_kv *kv = event_slot(e, key);
    if (!kv)
        return;
    kv->is_str = 1;
    kv->i = 0;
    snprintf(kv->s, sizeof kv->s, "%s", v ? v : "");
}

static const lk_msg_kv *event_find(const lk_msg_event *e, const char *key)
{
    for (int i = 0; i < e->n; i++)
        if (!strcmp(e->kv[i].key, key))
            return &e->kv[i];
    return NULL;
}

int64_t lk_msg_event_get_int(const lk_msg_event *e, const char *key, int64_t dflt)
{
    const lk_msg_kv *kv = event_find(e, key);
    return kv && !kv->is_str ? kv->i : dflt;
}

const char *lk_msg_event_get_str(const lk_msg_event *e, const char *key)
{
    const lk_msg_kv *kv = event_find(e, key);
    return kv && kv->is_str ? kv->s : NULL;
}

int lk_msg_event_encode(const lk_msg_event *e, lk_buf *out)
{
    if (e->n < 0 || e->n > LK_MSG_MAX_KV)
        return LK_ELIMIT;
    msgpack_packer pk;
    enc_begin(&pk, out, LK_MSG_EVENT, 2);
    pack_cstr(&pk, e->name);
    msgpack_pack_map(&pk, (size_t)e->n);
    for (int i = 0; i < e->n; i++) {
        pack_cstr(&pk, e->kv[i].key);
        if (e->kv[i].is_str)
            pack_cstr(&pk, e->kv[i].s);
        else
            msgpack_pack_int64(&pk, e->kv[i].i);
    }
    enc_end(out);
    return 0;
}

int lk_msg_event_decode(const void *data, size_t len, lk_msg_event *e, lk_error *err)
{
    memset(e, 0, sizeof *e);
    msg_in in;
    int rc = msg_open_body(data, len, LK_MSG_EVENT, 2, &in, "event", err);
    if (rc)
        goto out;
    const msgpack_object *a = in.body->via.array.ptr;
    if ((rc = get_str(&a[0], e->name, sizeof e->name, "event name", err)))
        goto out;
    if (a[1].type != MSGPACK_OBJECT_MAP || a[1].via.map.size > LK_MSG_MAX_KV) {
        rc = lk_error_set(err, LK_EFORMAT, "event '%s': fields are not a map of at most %d",
                          e->name, LK_MSG_MAX_KV);
        goto out;
    }
    for (uint32_t i = 0; i < a[1].via.map.size; i++) {
        const msgpack_object_kv *p = &a[1].via.map.ptr[i];
        lk_msg_kv *kv = &e->kv[i];
        e->n = (int)i + 1;
        if ((rc = get_str(&p->key, kv->key, sizeof kv->key, "event key", err)))
            goto out;
        if (p->val.type == MSGPACK_OBJECT_STR) {
            kv->is_str = 1;
            rc = get_str(&p->val, kv->s, sizeof kv->s, kv->key, err);
        } else {
            rc = get_i64(&p->val, &kv->i, kv->key, err);
        }
        if (rc) {
            lk_error_prefix(err, "event '%s'", e->name);
            goto out;
        }
    }
out:
    if (rc) {
        char name[32];
        memcpy(name, e->name, sizeof name);
        memset(e, 0, sizeof *e);
        memcpy(e->name, name, sizeof name);
    }
    msg_close(&in);
    return rc;
}

/* ---- PROGRESS ---- */

const char *lk_phase_name(int phase)
{
    static const char *const names[LK_PHASE_N] = {"plan", "read", "parse", "write", "commit"};
    return phase >= 0 && phase < LK_PHASE_N ? names[phase] : "?";
}

int lk_msg_progress_encode(const lk_msg_progress *m, lk_buf *out)
{
    if (m->n_sources < 0 || m->n_sources > LK_MSG_MAX_SOURCES || m->n_tables < 0 ||
        m->n_tables > LK_MSG_MAX_PARTS || m->phase < 0 || m->phase >= LK_PHASE_N)
        return LK_ELIMIT;
    msgpack_packer pk;
    enc_begin(&pk, out, LK_MSG_PROGRESS, 21);
    pack_cstr(&pk, m->role);
    msgpack_pack_int32(&pk, m->index);
    msgpack_pack_int32(&pk, m->phase);
    msgpack_pack_int64(&pk, m->batch_id);
    msgpack_pack_int64(&pk, m->ts_us);
    msgpack_pack_int64(&pk, m->duration_us);
    msgpack_pack_int64(&pk, m->rows);
    msgpack_pack_int64(&pk, m->bytes);
    msgpack_pack_int64(&pk, m->corrupt);
    msgpack_pack_int64(&pk, m->rescued);
    msgpack_pack_int64(&pk, m->files);
    msgpack_pack_int64(&pk, m->event_min_us);
    msgpack_pack_int64(&pk, m->event_max_us);
    msgpack_pack_int64(&pk, m->event_n);
    msgpack_pack_double(&pk, m->event_sum_s);
    msgpack_pack_array(&pk, (size_t)m->n_sources);
    for (int i = 0; i < m->n_sources; i++) {
        const lk_msg_source *s = &m->sources[i];
        msgpack_pack_array(&pk, 5);
        pack_cstr(&pk, s->path);
        msgpack_pack_int64(&pk, s->start);
        msgpack_pack_int64(&pk, s->end);
        msgpack_pack_int64(&pk, s->latest);
        msgpack_pack_int64(&pk, s->input_time_us);
    }
    msgpack_pack_array(&pk, (size_t)m->n_tables);
    for (int i = 0; i < m->n_tables; i++) {
        msgpack_pack_array(&pk, 3);
        pack_cstr(&pk, m->tables[i].table);
        msgpack_pack_int64(&pk, m->tables[i].rows);
        msgpack_pack_int64(&pk, m->tables[i].version);
    }
    msgpack_pack_int64(&pk, m->late);
    msgpack_pack_int64(&pk, m->no_event_time);
    msgpack_pack_int64(&pk, m->watermark_us);
    msgpack_pack_int64(&pk, m->duplicates);
    enc_end(out);
    return 0;
}

int lk_msg_progress_decode(const void *data, size_t len, lk_msg_progress *m, lk_error *err)
{
    memset(m, 0, sizeof *m);
    msg_in in;
    int rc = msg_open_body(data, len, LK_MSG_PROGRESS, 21, &in, "progress", err);
    if (rc)
        goto out;
    const msgpack_object *a = in.body->via.array.ptr;
    if ((rc = get_str(&a[0], m->role, sizeof m->role, "progress role", err)) ||
        (rc = get_i32(&a[1], &m->index, "progress index", err)) ||
        (rc = get_i32(&a[2], &m->phase, "progress phase", err)) ||
        (rc = get_i64(&a[3], &m->batch_id, "progress batch_id", err)) ||
        (rc = get_i64(&a[4], &m->ts_us, "progress ts_us", err)) ||
        (rc = get_i64(&a[5], &m->duration_us, "progress duration_us", err)) ||
        (rc = get_i64(&a[6], &m->rows, "progress rows", err)) ||
        (rc = get_i64(&a[7], &m->bytes, "progress bytes", err)) ||
        (rc = get_i64(&a[8], &m->corrupt, "progress corrupt", err)) ||
        (rc = get_i64(&a[9], &m->rescued, "progress rescued", err)) ||
        (rc = get_i64(&a[10], &m->files, "progress files", err)) ||
        (rc = get_i64(&a[11], &m->event_min_us, "progress event_min_us", err)) ||
        (rc = get_i64(&a[12], &m->event_max_us, "progress event_max_us", err)) ||
        (rc = get_i64(&a[13], &m->event_n, "progress event_n", err)))
        goto out;
    if (a[14].type != MSGPACK_OBJECT_FLOAT64 && a[14].type != MSGPACK_OBJECT_FLOAT32) {
        rc = lk_error_set(err, LK_EFORMAT, "progress event_sum_s is not a float");
        goto out;
    }
    m->event_sum_s = a[14].via.f64;
    if (m->phase < 0 || m->phase >= LK_PHASE_N) {
        rc = lk_error_set(err, LK_EFORMAT, "progress phase %d is not a phase", (int)m->phase);
        goto out;
    }
    if (a[15].type != MSGPACK_OBJECT_ARRAY || a[15].via.array.size > LK_MSG_MAX_SOURCES) {
        rc = lk_error_set(err, LK_EFORMAT, "progress sources are not an array of at most %d",
                          LK_MSG_MAX_SOURCES);
        goto out;
    }
    for (uint32_t i = 0; i < a[15].via.array.size; i++) {
        const msgpack_object *o = &a[15].via.array.ptr[i];
        lk_msg_source *s = &m->sources[i];
        if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 5) {
            rc = lk_error_set(err, LK_EFORMAT, "progress source %u is not an array of 5", i);
            goto out;
        }
        const msgpack_object *e = o->via.array.ptr;
        if ((rc = get_str(&e[0], s->path, sizeof s->path, "source path", err)) ||
            (rc = get_i64(&e[1], &s->start, "source start", err)) ||
            (rc = get_i64(&e[2], &s->end, "source end", err)) ||
            (rc = get_i64(&e[3], &s->latest, "source latest", err)) ||
            (rc = get_i64(&e[4], &s->input_time_us, "source input_time_us", err))) {
            lk_error_prefix(err, "progress source %u", i);
            goto out;
        }
        m->n_sources = (int)i + 1;
    }
    if (a[16].type != MSGPACK_OBJECT_ARRAY || a[16].via.array.size > LK_MSG_MAX_PARTS) {
        rc = lk_error_set(err, LK_EFORMAT, "progress tables are not an array of at most %d",
                          LK_MSG_MAX_PARTS);
        goto out;
    }
    for (uint32_t i = 0; i < a[16].via.array.size; i++) {
        const msgpack_object *o = &a[16].via.array.ptr[i];
        lk_msg_table_out *t = &m->tables[i];
        if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 3) {
            rc = lk_error_set(err, LK_EFORMAT, "progress table %u is not an array of 3", i);
            goto out;
        }
        const msgpack_object *e = o->via.array.ptr;
        if ((rc = get_str(&e[0], t->table, sizeof t->table, "table name", err)) ||
            (rc = get_i64(&e[1], &t->rows, "table rows", err)) ||
            (rc = get_i64(&e[2], &t->version, "table version", err))) {
            lk_error_prefix(err, "progress table %u", i);
            goto out;
        }
        m->n_tables = (int)i + 1;
    }
    if ((rc = get_i64(&a[17], &m->late, "progress late", err)) ||
        (rc = get_i64(&a[18], &m->no_event_time, "progress no_event_time", err)) ||
        (rc = get_i64(&a[19], &m->watermark_us, "progress watermark_us", err)) ||
        (rc = get_i64(&a[20], &m->duplicates, "progress duplicates", err)))
        goto out;
out:
    if (rc)
        memset(m, 0, sizeof *m);
    msg_close(&in);
    return rc;
}
