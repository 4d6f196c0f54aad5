/*
 * lk_msg — msgpack encoding and decoding of every inter-process message;
 * see lk_msg.h for the catalogue. Decoding uses msgpack_unpack_next, whose
 * str/bin objects point into the input buffer: CHUNK data and the column
 * buffers of RECORDS are copied at most once (into the reused batch).
 * Every count and length from the wire is checked against the schema and
 * the bytes present before it is used.
 */
#include "lk_msg.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

static int buf_write(void *data, const char *p, size_t n)
{
    lk_buf_append((lk_buf *)data, p, n);
    return 0;
}

static void pack_str(msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void pack_cstr(msgpack_packer *pk, const char *s)
{
    pack_str(pk, s, strlen(s));
}

static void pack_bin(msgpack_packer *pk, const void *p, size_t n)
{
    if (!p) {
        msgpack_pack_nil(pk);
        return;
    }
    msgpack_pack_bin(pk, n);
    msgpack_pack_bin_body(pk, p, n);
}

static void envelope(msgpack_packer *pk, lk_msg_type t)
{
    msgpack_pack_array(pk, 3);
    msgpack_pack_int(pk, (int)t);
    msgpack_pack_int(pk, LK_PROTO_VERSION);
}

/* ---- decoding helpers ---- */

typedef struct dec {
    msgpack_unpacked u;
    const msgpack_object *body;
} dec;

static int open_msg(const void *data, size_t len, lk_msg_type want, dec *d, lk_error *err)
{
    msgpack_unpacked_init(&d->u);
    size_t off = 0;
    if (msgpack_unpack_next(&d->u, data, len, &off) != MSGPACK_UNPACK_SUCCESS)
        return lk_error_set(err, LK_EFORMAT, "not a msgpack message (%zu bytes)", len);
    const msgpack_object *o = &d->u.data;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 3 ||
        o->via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        o->via.array.ptr[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return lk_error_set(err, LK_EFORMAT, "message without a [type, version, body] envelope");
    if (o->via.array.ptr[1].via.u64 != LK_PROTO_VERSION)
        return lk_error_set(err, LK_EFORMAT, "message version %llu, this build speaks %d",
                            (unsigned long long)o->via.array.ptr[1].via.u64, LK_PROTO_VERSION);
    if (want && o->via.array.ptr[0].via.u64 != (uint64_t)want)
        return lk_error_set(err, LK_EFORMAT, "message of type %llu where %d was expected",
                            (unsigned long long)o->via.array.ptr[0].via.u64, (int)want);
    d->body = &o->via.array.ptr[2];
    return 0;
}

static void close_msg(dec *d)
{
    msgpack_unpacked_destroy(&d->u);
}

static const msgpack_object *arr(const msgpack_object *o, uint32_t min)
{
    return o && o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size >= min ? o : NULL;
}

static int get_i64(const msgpack_object *o, int64_t *v)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX)
        *v = (int64_t)o->via.u64;
    else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        *v = o->via.i64;
    else
        return -1;
    return 0;
}

static int get_str(const msgpack_object *o, const char **p, size_t *n)
{
    if (o->type == MSGPACK_OBJECT_STR) {
        *p = o->via.str.ptr;
        *n = o->via.str.size;
    } else if (o->type == MSGPACK_OBJECT_BIN) {
        *p = o->via.bin.ptr;
        *n = o->via.bin.size;
    } else {
        return -1;
    }
    return 0;
}

static int copy_str(const msgpack_object *o, char *out, size_t cap)
{
    const char *p;
    size_t n;
    if (get_str(o, &p, &n) || n >= cap)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

int lk_msg_peek(const void *data, size_t len, lk_msg_type *type, lk_error *err)
{
    dec d;
    int rc = open_msg(data, len, 0, &d, err);
    if (rc == 0) {
        uint64_t t = d.u.data.via.array.ptr[0].via.u64;
        if (t < LK_MSG_CHUNK || t > LK_MSG_EVENT)
            rc = lk_error_set(err, LK_EFORMAT, "unknown message type %llu", (unsigned long long)t);
        else
            *type = (lk_msg_type)t;
    }
    close_msg(&d);
    return rc;
}

/* ---- CHUNK ---- */

int lk_msg_chunk_encode(const lk_msg_chunk *m, lk_buf *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, buf_write);
    envelope(&pk, LK_MSG_CHUNK);
    msgpack_pack_array(&pk, 10);
    msgpack_pack_int64(&pk, m->batch_id);
    msgpack_pack_int32(&pk, m->chunk_idx);
    msgpack_pack_int32(&pk, m->schema_version);
    msgpack_pack_int64(&pk, m->file_id);
    pack_cstr(&pk, m->file_path);
    msgpack_pack_int64(&pk, m->file_size);
    msgpack_pack_int64(&pk, m->file_mtime_us);
    msgpack_pack_int64(&pk, m->offset);
    msgpack_pack_int64(&pk, m->first_line);
    msgpack_pack_bin(&pk, m->len);
    msgpack_pack_bin_body(&pk, m->data, m->len);
    return 0;
}

int lk_msg_chunk_decode(const void *data, size_t len, lk_msg_chunk *m, lk_error *err)
{
    dec d;
    int rc = open_msg(data, len, LK_MSG_CHUNK, &d, err);
    if (rc) {
        close_msg(&d);
        return rc;
    }
    const msgpack_object *b = arr(d.body, 10);
    int64_t v[9] = {0};
    int bad = !b;
    if (!bad) {
        const msgpack_object *f = b->via.array.ptr;
        int idx[8] = {0, 1, 2, 3, 5, 6, 7, 8};
        for (int i = 0; i < 8 && !bad; i++)
            bad = get_i64(&f[idx[i]], &v[idx[i]]);
        bad = bad || copy_str(&f[4], m->file_path, sizeof m->file_path) ||
              get_str(&f[9], &m->data, &m->len);
    }
    if (bad) {
        close_msg(&d);
        return lk_error_set(err, LK_EFORMAT, "malformed CHUNK message");
    }
    m->batch_id = v[0];
    m->chunk_idx = (int32_t)v[1];
    m->schema_version = (int32_t)v[2];
    m->file_id = v[3];
    m->file_size = v[5];
    m->file_mtime_us = v[6];
    m->offset = v[7];
    m->first_line = v[8];
    close_msg(&d); /* data stays valid: it points into the input buffer */
    return 0;
}

/* ---- RECORDS ---- */

static void pack_col(msgpack_packer *pk, const lk_col *c)
{
    msgpack_pack_array(pk, 7);
    msgpack_pack_uint32(pk, c->len);
    msgpack_pack_uint32(pk, c->null_count);
    pack_bin(pk, c->validity && c->null_count ? c->validity : NULL, (c->len + 7) / 8);
    pack_bin(pk, c->elem_size ? c->values : NULL, (size_t)c->len * c->elem_size);
    pack_bin(pk, c->offsets, ((size_t)c->len + 1) * sizeof(uint32_t));
    int has_data = c->field->type == LK_TYPE_STRING || c->field->type == LK_TYPE_BINARY;
    pack_bin(pk, has_data ? (c->data ? c->data : "") : NULL, c->data_len);
    msgpack_pack_array(pk, (size_t)c->n_children);
    for (int i = 0; i < c->n_children; i++)
        pack_col(pk, &c->children[i]);
}

int lk_msg_records_encode(const lk_msg_records *m, lk_buf *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, buf_write);
    envelope(&pk, LK_MSG_RECORDS);
    msgpack_pack_array(&pk, 6);
    msgpack_pack_int64(&pk, m->batch_id);
    msgpack_pack_int32(&pk, m->chunk_idx);
    msgpack_pack_int64(&pk, m->rows_in);
    msgpack_pack_int64(&pk, m->corrupt_rows);
    msgpack_pack_int64(&pk, m->rescued_rows);
    msgpack_pack_array(&pk, (size_t)m->n_parts);
    lk_buf sj = LK_BUF_INIT;
    for (int i = 0; i < m->n_parts; i++) {
        const lk_batch *b = m->parts[i].batch;
        lk_buf_reset(&sj);
        lk_schema_to_json(lk_batch_schema(b), &sj);
        msgpack_pack_array(&pk, 4);
        pack_cstr(&pk, m->parts[i].table);
        pack_str(&pk, sj.data, sj.len);
        msgpack_pack_uint32(&pk, lk_batch_nrows(b));
        msgpack_pack_array(&pk, (size_t)lk_batch_ncols(b));
        for (int k = 0; k < lk_batch_ncols(b); k++)
            pack_col(&pk, lk_batch_col_const(b, k));
    }
    lk_buf_free(&sj);
    return 0;
}

/* Fills column c (empty, from a reset batch) from its wire form. */
static int unpack_col(const msgpack_object *o, lk_col *c, lk_error *err)
{
    const msgpack_object *a = arr(o, 7);
    int64_t len, nulls;
    if (!a || get_i64(&a->via.array.ptr[0], &len) || get_i64(&a->via.array.ptr[1], &nulls) ||
        len < 0 || len > (1 << 30) || nulls < 0 || nulls > len)
        return lk_error_set(err, LK_EFORMAT, "column '%s': malformed header", c->field->name);
    const msgpack_object *f = a->via.array.ptr;
    const char *p = NULL;
    size_t n = 0;
    uint32_t ulen = (uint32_t)len;
    int has_data = c->field->type == LK_TYPE_STRING || c->field->type == LK_TYPE_BINARY;
    size_t data_len = 0;
    if (has_data) {
        if (get_str(&f[5], &p, &data_len))
            return lk_error_set(err, LK_EFORMAT, "column '%s': no data", c->field->name);
    }
    lk_col_reserve(c, ulen, data_len);
    if (f[2].type != MSGPACK_OBJECT_NIL) {
        if (get_str(&f[2], &p, &n) || n != (ulen + 7) / 8)
            return lk_error_set(err, LK_EFORMAT, "column '%s': bad validity", c->field->name);
        lk_col_ensure_validity(c);
        lk_col_reserve(c, ulen, 0);
        memcpy(c->validity, p, n);
    }
    if (c->elem_size) {
        if (get_str(&f[3], &p, &n) || n != (size_t)ulen * c->elem_size)
            return lk_error_set(err, LK_EFORMAT, "column '%s': bad values", c->field->name);
        memcpy(c->values, p, n);
    }
    if (c->offsets) {
        if (get_str(&f[4], &p, &n) || n != ((size_t)ulen + 1) * 4)
            return lk_error_set(err, LK_EFORMAT, "column '%s': bad offsets", c->field->name);
        memcpy(c->offsets, p, n);
        if (c->offsets[0] != 0)
            return lk_error_set(err, LK_EFORMAT, "column '%s': offsets do not start at 0",
                                c->field->name);
        for (uint32_t i = 0; i < ulen; i++)
            if (c->offsets[i + 1] < c->offsets[i])
                return lk_error_set(err, LK_EFORMAT, "column '%s': offsets not monotonic",
                                    c->field->name);
    }
    if (has_data) {
        if (get_str(&f[5], &p, &n))
            return lk_error_set(err, LK_EFORMAT, "column '%s': no data", c->field->name);
        if (c->offsets[ulen] != n)
            return lk_error_set(err, LK_EFORMAT, "column '%s': offsets beyond data",
                                c->field->name);
        if (n)
            memcpy(c->data, p, n);
        c->data_len = n;
    }
    const msgpack_object *kids = arr(&f[6], 0);
    if (!kids || (int)kids->via.array.size != c->n_children)
        return lk_error_set(err, LK_EFORMAT, "column '%s': children do not match the schema",
                            c->field->name);
    c->len = ulen;
    for (int i = 0; i < c->n_children; i++) {
        int rc = unpack_col(&kids->via.array.ptr[i], &c->children[i], err);
        if (rc)
            return rc;
        lk_col *k = &c->children[i];
        uint32_t want = c->field->type == LK_TYPE_STRUCT ? ulen : c->offsets[ulen];
        if (k->len != want)
            return lk_error_set(err, LK_EFORMAT, "column '%s': child '%s' has %u values, not %u",
                                c->field->name, k->field->name, k->len, want);
    }
    lk_col_recount_nulls(c);
    if (c->null_count != (uint32_t)nulls)
        return lk_error_set(err, LK_EFORMAT, "column '%s': null count mismatch", c->field->name);
    return 0;
}

void lk_msg_records_clear(lk_msg_records *m)
{
    for (int i = 0; i < LK_MSG_MAX_PARTS; i++)
        lk_batch_destroy(&m->parts[i].batch);
    memset(m, 0, sizeof *m);
}

int lk_msg_records_decode(const void *data, size_t len, lk_msg_records *m, lk_error *err)
{
    dec d;
    int rc = open_msg(data, len, LK_MSG_RECORDS, &d, err);
    const msgpack_object *b = rc ? NULL : arr(d.body, 6);
    int64_t v[5] = {0};
    if (!rc && (!b || get_i64(&b->via.array.ptr[0], &v[0]) ||
                get_i64(&b->via.array.ptr[1], &v[1]) || get_i64(&b->via.array.ptr[2], &v[2]) ||
                get_i64(&b->via.array.ptr[3], &v[3]) || get_i64(&b->via.array.ptr[4], &v[4])))
        rc = lk_error_set(err, LK_EFORMAT, "malformed RECORDS message");
    const msgpack_object *parts = rc ? NULL : arr(&b->via.array.ptr[5], 0);
    if (!rc && (!parts || parts->via.array.size > LK_MSG_MAX_PARTS))
        rc = lk_error_set(err, LK_EFORMAT, "RECORDS message with a bad part list");
    if (rc) {
        close_msg(&d);
        return rc;
    }
    m->batch_id = v[0];
    m->chunk_idx = (int32_t)v[1];
    m->rows_in = v[2];
    m->corrupt_rows = v[3];
    m->rescued_rows = v[4];
    int np = (int)parts->via.array.size;
    for (int i = np; i < LK_MSG_MAX_PARTS; i++)
        lk_batch_destroy(&m->parts[i].batch);
    m->n_parts = 0;
    for (int i = 0; i < np && rc == 0; i++) {
        const msgpack_object *p = arr(&parts->via.array.ptr[i], 4);
        const char *sj;
        size_t sjn;
        int64_t nrows;
        if (!p || copy_str(&p->via.array.ptr[0], m->parts[i].table, sizeof m->parts[i].table) ||
            get_str(&p->via.array.ptr[1], &sj, &sjn) || get_i64(&p->via.array.ptr[2], &nrows) ||
            nrows < 0 || !arr(&p->via.array.ptr[3], 0)) {
            rc = lk_error_set(err, LK_EFORMAT, "RECORDS part %d is malformed", i);
            break;
        }
        lk_schema *s = NULL;
        if ((rc = lk_schema_from_json(sj, sjn, &s, err)))
            break;
        lk_batch *bt = m->parts[i].batch;
        if (bt && lk_schema_equal(lk_batch_schema(bt), s)) {
            lk_batch_reset(bt);
        } else {
            lk_batch_destroy(&m->parts[i].batch);
            bt = m->parts[i].batch = lk_batch_new(s);
        }
        lk_schema_destroy(&s);
        const msgpack_object *cols = &p->via.array.ptr[3];
        if ((int)cols->via.array.size != lk_batch_ncols(bt)) {
            rc = lk_error_set(err, LK_EFORMAT, "RECORDS part '%s': %u columns for a schema of %d",
                              m->parts[i].table, cols->via.array.size, lk_batch_ncols(bt));
            break;
        }
        for (int k = 0; k < lk_batch_ncols(bt) && rc == 0; k++) {
            rc = unpack_col(&cols->via.array.ptr[k], lk_batch_col(bt, k), err);
            if (rc == 0 && lk_batch_col(bt, k)->len != (uint32_t)nrows)
                rc = lk_error_set(err, LK_EFORMAT, "RECORDS part '%s': column %d has %u rows, "
                                  "not %lld", m->parts[i].table, k, lk_batch_col(bt, k)->len,
                                  (long long)nrows);
        }
        lk_batch_set_nrows(bt, (uint32_t)nrows);
        if (rc)
            lk_batch_reset(bt);
        m->n_parts = i + 1;
    }
    close_msg(&d);
    return rc;
}

/* ---- FILES ---- */

int lk_msg_files_encode(const lk_msg_files *m, lk_buf *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, buf_write);
    envelope(&pk, LK_MSG_FILES);
    msgpack_pack_array(&pk, 6);
    msgpack_pack_int64(&pk, m->batch_id);
    msgpack_pack_int32(&pk, m->chunk_idx);
    msgpack_pack_int64(&pk, m->rows_in);
    msgpack_pack_int64(&pk, m->corrupt_rows);
    msgpack_pack_int64(&pk, m->rescued_rows);
    msgpack_pack_array(&pk, (size_t)m->n_files);
    for (int i = 0; i < m->n_files; i++) {
        const lk_msg_file *f = &m->files[i];
        msgpack_pack_array(&pk, 6);
        pack_cstr(&pk, f->table);
        pack_cstr(&pk, f->path);
        msgpack_pack_int64(&pk, f->size);
        msgpack_pack_int64(&pk, f->rows);
        msgpack_pack_int64(&pk, f->mtime_ms);
        if (f->stats_json)
            pack_cstr(&pk, f->stats_json);
        else
            msgpack_pack_nil(&pk);
    }
    return 0;
}

void lk_msg_files_clear(lk_msg_files *m)
{
    for (int i = 0; i < m->n_files && i < LK_MSG_MAX_FILES; i++)
        free(m->files[i].stats_json);
    memset(m, 0, sizeof *m);
}

int lk_msg_files_decode(const void *data, size_t len, lk_msg_files *m, lk_error *err)
{
    lk_msg_files_clear(m);
    dec d;
    int rc = open_msg(data, len, LK_MSG_FILES, &d, err);
    const msgpack_object *b = rc ? NULL : arr(d.body, 6);
    int64_t v[5] = {0};
    const msgpack_object *files = NULL;
    if (!rc) {
        if (!b || get_i64(&b->via.array.ptr[0], &v[0]) || get_i64(&b->via.array.ptr[1], &v[1]) ||
            get_i64(&b->via.array.ptr[2], &v[2]) || get_i64(&b->via.array.ptr[3], &v[3]) ||
            get_i64(&b->via.array.ptr[4], &v[4]) || !(files = arr(&b->via.array.ptr[5], 0)) ||
            files->via.array.size > LK_MSG_MAX_FILES)
            rc = lk_error_set(err, LK_EFORMAT, "malformed FILES message");
    }
    for (uint32_t i = 0; rc == 0 && i < files->via.array.size; i++) {
        const msgpack_object *f = arr(&files->via.array.ptr[i], 6);
        lk_msg_file *out = &m->files[i];
        const char *sj;
        size_t sjn;
        if (!f || copy_str(&f->via.array.ptr[0], out->table, sizeof out->table) ||
            copy_str(&f->via.array.ptr[1], out->path, sizeof out->path) ||
            get_i64(&f->via.array.ptr[2], &out->size) || get_i64(&f->via.array.ptr[3], &out->rows) ||
            get_i64(&f->via.array.ptr[4], &out->mtime_ms)) {
            rc = lk_error_set(err, LK_EFORMAT, "FILES entry %u is malformed", i);
            break;
        }
        if (get_str(&f->via.array.ptr[5], &sj, &sjn) == 0) {
            out->stats_json = malloc(sjn + 1);
            if (!out->stats_json)
                abort();
            memcpy(out->stats_json, sj, sjn);
            out->stats_json[sjn] = '\0';
        }
        m->n_files = (int)i + 1;
    }
    if (rc == 0) {
        m->batch_id = v[0];
        m->chunk_idx = (int32_t)v[1];
        m->rows_in = v[2];
        m->corrupt_rows = v[3];
        m->rescued_rows = v[4];
    } else {
        lk_msg_files_clear(m);
    }
    close_msg(&d);
    return rc;
}

/* ---- EVENT ---- */

void lk_msg_event_init(lk_msg_event *e, const char *name)
{
    e->n = 0;
    snprintf(e->name, sizeof e->name, "%s", name);
}

static lk_msg_kv *slot(lk_msg_event *e, const char *key)
{
    for (int i = 0; i < e->n; i++)
        if (!strcmp(e->kv[i].key, key))
            return &e->kv[i];
    if (e->n == LK_MSG_MAX_KV)
        return NULL;
    lk_msg_kv *kv = &e->kv[e->n++];
    snprintf(kv->key, sizeof kv->key, "%s", key);
    return kv;
}

void lk_msg_event_set_int(lk_msg_event *e, const char *key, int64_t v)
{
    lk_msg_kv *kv = slot(e, key);
    if (kv) {
        kv->is_str = 0;
        kv->i = v;
    }
}

void lk_msg_event_set_str(lk_msg_event *e, const char *key, const char *v)
{
    lk_msg_kv *kv = slot(e, key);
    if (kv) {
        kv->is_str = 1;
        snprintf(kv->s, sizeof kv->s, "%s", v);
    }
}

int64_t lk_msg_event_get_int(const lk_msg_event *e, const char *key, int64_t dflt)
{
    for (int i = 0; i < e->n; i++)
        if (!strcmp(e->kv[i].key, key))
            return e->kv[i].is_str ? dflt : e->kv[i].i;
    return dflt;
}

const char *lk_msg_event_get_str(const lk_msg_event *e, const char *key)
{
    for (int i = 0; i < e->n; i++)
        if (!strcmp(e->kv[i].key, key))
            return e->kv[i].is_str ? e->kv[i].s : NULL;
    return NULL;
}

int lk_msg_event_encode(const lk_msg_event *e, lk_buf *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, buf_write);
    envelope(&pk, LK_MSG_EVENT);
    msgpack_pack_array(&pk, 2);
    pack_cstr(&pk, e->name);
    msgpack_pack_map(&pk, (size_t)e->n);
    for (int i = 0; i < e->n; i++) {
        pack_cstr(&pk, e->kv[i].key);
        if (e->kv[i].is_str)
            pack_cstr(&pk, e->kv[i].s);
        else
            msgpack_pack_int64(&pk, e->kv[i].i);
    }
    return 0;
}

int lk_msg_event_decode(const void *data, size_t len, lk_msg_event *e, lk_error *err)
{
    dec d;
    int rc = open_msg(data, len, LK_MSG_EVENT, &d, err);
    const msgpack_object *b = rc ? NULL : arr(d.body, 2);
    if (!rc && (!b || copy_str(&b->via.array.ptr[0], e->name, sizeof e->name) ||
                b->via.array.ptr[1].type != MSGPACK_OBJECT_MAP ||
                b->via.array.ptr[1].via.map.size > LK_MSG_MAX_KV))
        rc = lk_error_set(err, LK_EFORMAT, "malformed EVENT message");
    if (rc) {
        close_msg(&d);
        return rc;
    }
    const msgpack_object_map *mp = &b->via.array.ptr[1].via.map;
    e->n = 0;
    for (uint32_t i = 0; i < mp->size; i++) {
        lk_msg_kv *kv = &e->kv[e->n];
        if (copy_str(&mp->ptr[i].key, kv->key, sizeof kv->key))
            continue;
        const msgpack_object *v = &mp->ptr[i].val;
        if (get_i64(v, &kv->i) == 0) {
            kv->is_str = 0;
        } else if (copy_str(v, kv->s, sizeof kv->s) == 0) {
            kv->is_str = 1;
        } else {
            continue;
        }
        e->n++;
    }
    close_msg(&d);
    return 0;
}
