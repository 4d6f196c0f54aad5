/* lk_parser — a chunk of records → raw_events rows, by format; see lk_parser.h. */
#include "lk_parser.h"

#include <stdlib.h>
#include <string.h>

#include "lk_kafka_record.h"
#include "lk_text_reader.h"

struct lk_parser {
    lk_parser_options o;
    lk_json_reader *json;
    lk_csv_reader *csv;
    lk_batch *scratch; /* kafka: the other half of the swap in lk_kafka_record_fix_rows */
    lk_buf tmp;
    struct doc_ctx {
        lk_json_reader *reader;
        const lk_source_meta *meta;
        int64_t base;
        lk_batch *out;
        lk_raw_stats *st;
        lk_error *err;
    } doc; /* json, multi_line */
};

lk_parser *lk_parser_new(const lk_parser_options *o)
{
    lk_parser *p = calloc(1, sizeof *p);
    if (!p) abort();
    p->o = *o;
    p->json = lk_json_reader_new();
    lk_json_reader_set_options(p->json, &o->json);
    if (o->format == LK_SOURCE_CSV) p->csv = lk_csv_reader_new(&o->csv);
    return p;
}

void lk_parser_destroy(lk_parser **pp)
{
    lk_parser *p = *pp;
    if (!p) return;
    lk_json_reader_destroy(&p->json);
    lk_csv_reader_destroy(&p->csv);
    lk_batch_destroy(&p->scratch);
    lk_buf_free(&p->tmp);
    free(p);
    *pp = NULL;
}

void lk_parser_schema_changed(lk_parser *p)
{
    lk_batch_destroy(&p->scratch);
}

static void parse_doc(void *ctx, const char *rec, size_t n, size_t offset)
{
    struct doc_ctx *d = ctx;
    lk_json_reader_parse(d->reader, rec, n, d->meta, d->base + (int64_t)offset, d->out, d->st,
                         d->err);
}

int lk_parser_parse(lk_parser *p, const lk_parser_chunk *c, const lk_source_meta *meta,
                    lk_batch **out, lk_raw_stats *st, lk_error *err)
{
    size_t max = p->o.max_record_size;
    switch (p->o.format) {
    case LK_SOURCE_CSV:
        lk_csv_reader_set_header(p->csv, c->header, c->header ? c->header_len : 0);
        return lk_csv_reader_parse(p->csv, c->data, c->len, c->file_start, meta, c->offset, *out,
                                   st, err);
    case LK_SOURCE_TEXT:
        return lk_text_reader_parse(c->data, c->len, meta, c->offset, max, *out, st, &p->tmp, err);
    case LK_SOURCE_JSON:
        break;
    }
    /* a line or document ingest cut at max_record_size (no record end) */
    if (c->len >= max && (p->o.multi_line || !memchr(c->data, '\n', c->len))) {
        int nd = lk_raw_batch_ndata(*out, err);
        if (nd < 0) return nd;
        lk_raw_append_corrupt(*out, nd, &p->tmp, c->data, max, meta, c->offset);
        st->rows++;
        st->corrupt++;
        return 0;
    }
    if (p->o.multi_line) {
        p->doc = (struct doc_ctx){p->json, meta, c->offset, *out, st, err};
        lk_text_json_doc(c->data, c->len, &p->tmp, parse_doc, &p->doc);
        return 0;
    }
    int64_t corrupt0 = st->corrupt;
    int rc = lk_json_reader_parse(p->json, c->data, c->len, meta, c->offset, *out, st, err);
    if (rc == 0 && p->o.kafka && st->corrupt > corrupt0) {
        int fixed = lk_kafka_record_fix_rows(p->json, c->data, c->len, c->offset, meta, out,
                                             &p->scratch, &p->tmp, err);
        if (fixed < 0) return fixed;
    }
    return rc;
}
