/* lk_tables — the pipeline's tables from the configuration; see lk_tables.h. */
#include "lk_tables.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lk_ddl.h"
#include "lk_dedupe.h"
#include "lk_delta.h"
#include "lk_fs.h"
#include "lk_gold.h"
#include "lk_rowjson.h"
#include "lk_raw.h"
#include "lk_sql_check.h"
#include "lk_sql_parse.h"
#include "lk_transforms.h"

static int quarantines(const lk_config *cfg, lk_step_list l)
{
    for (int i = 0; i < l.n; i++)
        if (cfg->xf.step[l.first + i].on_error == LK_ON_ERROR_QUARANTINE) return 1;
    return 0;
}

int lk_tables_names(const lk_config *cfg, const char *names[LK_TABLES_MAX])
{
    int n = 0, q = quarantines(cfg, cfg->transforms);
    names[n++] = LK_TABLE_RAW;
    names[n++] = LK_TABLE_PROCESSED;
    /* derived tables once their from is listed (check_derived refused cycles) */
    int placed[LK_MAX_DERIVED] = {0}, progress = 1;
    while (progress) {
        progress = 0;
        for (int i = 0; i < cfg->tables.nderived; i++) {
            const lk_derived_table *d = &cfg->tables.derived[i];
            if (placed[i]) continue;
            int ready = 0;
            for (int k = 0; k < n; k++)
                ready |= !strcmp(names[k], d->from);
            if (!ready) continue;
            names[n++] = d->name;
            placed[i] = progress = 1;
            q |= quarantines(cfg, d->transforms);
        }
    }
    if (cfg->metrics.set) names[n++] = LK_TABLE_METRICS;
    if (q || cfg->metrics.set) names[n++] = LK_TABLE_QUARANTINE;
    return n;
}

const char *lk_tables_partition_missing(const lk_config *cfg, const char *table,
                                        const lk_schema *schema)
{
    const lk_name_list *pb = lk_config_partition_by(cfg, table);
    for (int k = 0; pb && k < pb->n; k++)
        if (lk_schema_find(schema, pb->name[k]) < 0) return pb->name[k];
    return NULL;
}

/* A partition column that table (schema) lacks, while the input's columns are known (raw has
   data columns: declared, stored or inferred), fails the start, as Spark's partitionBy of a
   column the DataFrame lacks; before the first file, when nothing is known, the writer finds it
   in the table's first batch (docs/decisions.md, "A partition column the table lacks"). */
static int partition_columns_missing(const lk_config *cfg, const char *table, const lk_schema *raw,
                                     const lk_schema *schema, lk_error *err)
{
    const char *missing =
        lk_raw_ndata(raw) ? lk_tables_partition_missing(cfg, table, schema) : NULL;
    if (!missing) return 0;
    lk_buf cols = LK_BUF_INIT;
    for (int i = 0; i < lk_schema_nfields(schema); i++)
        lk_buf_printf(&cols, "%s%s", i ? ", " : "", lk_schema_field(schema, i)->name);
    char at[1100]; /* a file name (at most 1,023 bytes), ":" and a line */
    lk_error_set(err, LK_ECONFIG,
                 "%s: key 'tables.%s.partition_by': column '%s' is not a column of %s "
                 "(columns: %s)%s",
                 lk_config_at(cfg, lk_config_partition_by(cfg, table)->line, at, sizeof at), table,
                 missing, table, cols.data ? cols.data : "",
                 strcmp(table, LK_TABLE_RAW) ? "; derive it in the transforms that build it" : "");
    lk_buf_free(&cols);
    return err->code;
}

struct lk_tables {
    int n;
    const char *names[LK_TABLES_MAX];
    lk_schema *schemas[LK_TABLES_MAX];
    lk_transforms *xf[LK_TABLES_MAX]; /* NULL for raw_events and quarantine */
    int from[LK_TABLES_MAX];          /* the table each is fed from */
    lk_batch *batches[LK_TABLES_MAX];
    int quarantine; /* its index, or -1 */
    int metrics;    /* event_metrics' index, or -1 */
    lk_gold *m;
    int64_t watermark;
    lk_batch *datarow; /* one raw row's data columns: a turned-away row's record */
    lk_buf json;
    int64_t quarantined, rescued, late, no_et;
    /* transform.dedupe: the chunk's key list, the rows to drop (borrowed,
       lk_tables_set_drops), and which raw rows still reach processed_events
       once they are dropped (run_metrics maps processed rows to raw ones) */
    lk_dedupe *dd;
    lk_batch *dd_keys, *dd_scratch;
    const int32_t *drop;
    int ndrop;
    int64_t src;
    uint8_t *alive, *pkept;
    uint32_t alive_cap, pkept_cap, map_cap;
    int32_t *p2r, *r2p, *pdrop;
    int use_alive;
    int64_t dropped;
};

int lk_tables_new(const lk_config *cfg, const lk_schema *raw, lk_tables **out, lk_error *err)
{
    *out = NULL;
    lk_tables *t = calloc(1, sizeof *t);
    if (!t) abort();
    t->n = lk_tables_names(cfg, t->names);
    t->quarantine = t->metrics = -1;
    t->watermark = INT64_MIN;
    int rc_idx = lk_raw_rescued_index(raw);
    const char *rescued = rc_idx >= 0 ? lk_schema_field(raw, rc_idx)->name : NULL;
    t->schemas[0] = lk_schema_clone(raw);
    if (partition_columns_missing(cfg, t->names[0], raw, raw, err)) {
        lk_tables_destroy(&t);
        return err->code;
    }
    for (int i = 1; i < t->n; i++) {
        if (!strcmp(t->names[i], LK_TABLE_QUARANTINE)) {
            t->quarantine = i;
            t->schemas[i] = lk_transforms_quarantine_schema();
            t->batches[i] = lk_batch_new(t->schemas[i]);
            continue;
        }
        if (!strcmp(t->names[i], LK_TABLE_METRICS)) {
            t->metrics = i;
            t->from[i] = 1;
            if (lk_gold_new(cfg, t->schemas[1], &t->m, err)) {
                lk_tables_destroy(&t);
                return err->code;
            }
            t->schemas[i] = lk_schema_clone(lk_gold_output_schema(t->m));
            t->batches[i] = lk_batch_new(lk_gold_partial_schema(t->m));
            continue;
        }
        lk_transforms_opts o = {.table = t->names[i], .rescued = rescued};
        lk_step_list list;
        char key[300];
        const char *from;
        if (i == 1) {
            list = cfg->transforms;
            from = LK_TABLE_RAW;
            o.key = "transforms";
            o.silver = 1;
        } else {
            const lk_derived_table *d = lk_config_derived(cfg, t->names[i]);
            list = d->transforms;
            from = d->from;
            snprintf(key, sizeof key, "tables.%s.transforms", d->name);
            o.key = key;
        }
        o.keep = lk_config_partition_by(cfg, t->names[i]);
        t->from[i] = -1;
        for (int k = 0; k < i; k++)
            if (!strcmp(t->names[k], from)) t->from[i] = k;
        if (lk_transforms_compile(cfg, list, t->schemas[t->from[i]], &o, &t->xf[i], err)) {
            lk_tables_destroy(&t);
            return err->code;
        }
        t->schemas[i] = lk_schema_clone(lk_transforms_schema(t->xf[i]));
        t->batches[i] = lk_batch_new(t->schemas[i]);
        if (partition_columns_missing(cfg, t->names[i], raw, t->schemas[i], err)) {
            lk_tables_destroy(&t);
            return err->code;
        }
        if (i == 1 && cfg->event.dedupe.set) {
            if (lk_dedupe_new(cfg, t->schemas[1], &t->dd, err)) {
                lk_tables_destroy(&t);
                return err->code;
            }
            t->dd_keys = lk_batch_new(lk_dedupe_keys_schema(t->dd));
            t->dd_scratch = lk_batch_new(t->schemas[1]);
        }
    }
    *out = t;
    return 0;
}

void lk_tables_destroy(lk_tables **tp)
{
    if (!tp || !*tp) return;
    lk_tables *t = *tp;
    for (int i = 0; i < LK_TABLES_MAX; i++) {
        lk_transforms_destroy(&t->xf[i]);
        lk_schema_destroy(&t->schemas[i]);
        lk_batch_destroy(&t->batches[i]);
    }
    lk_gold_destroy(&t->m);
    lk_dedupe_destroy(&t->dd);
    lk_batch_destroy(&t->dd_keys);
    lk_batch_destroy(&t->dd_scratch);
    free(t->alive);
    free(t->pkept);
    free(t->p2r);
    free(t->r2p);
    free(t->pdrop);
    lk_batch_destroy(&t->datarow);
    lk_buf_free(&t->json);
    free(t);
    *tp = NULL;
}

int lk_tables_count(const lk_tables *t)
{
    return t->n;
}

const char *lk_tables_name(const lk_tables *t, int i)
{
    return t->names[i];
}

const lk_schema *lk_tables_schema(const lk_tables *t, int i)
{
    return t->schemas[i];
}

lk_batch *lk_tables_batch(lk_tables *t, int i)
{
    return t->batches[i];
}

int lk_tables_lineage(const lk_tables *t, int i, const uint8_t **keep, const int **cols)
{
    *keep = NULL;
    *cols = NULL;
    if (i <= 0 || i >= t->n || !t->xf[i] || !lk_transforms_sources(t->xf[i])) return -1;
    /* transform.dedupe drops processed_events rows after its transforms: t->alive is then
       the raw rows that reach it */
    *keep = i == 1 && t->use_alive ? t->alive : lk_transforms_kept(t->xf[i]);
    *cols = lk_transforms_sources(t->xf[i]);
    return t->from[i];
}

static int run_metrics(lk_tables *t, const lk_batch *raw, int64_t now_us, int64_t batch,
                       lk_error *err);

void lk_tables_defer(lk_tables *t, int on)
{
    for (int i = 1; i < t->n; i++) {
        if (!t->xf[i]) continue;
        int read = i == 1 && (t->metrics >= 0 || t->dd);
        for (int j = 1; j < t->n && !read; j++)
            read = t->xf[j] && t->from[j] == i;
        lk_transforms_defer(t->xf[i], on && !read, i == 1 ? "ts" : NULL);
    }
}

int lk_tables_deferred(const lk_tables *t, int i)
{
    return i > 0 && i < t->n && t->xf[i] && lk_transforms_deferred(t->xf[i]);
}

static void grow(uint8_t **p, uint32_t *cap, uint32_t n)
{
    if (n <= *cap) return;
    *p = realloc(*p, n);
    if (!*p) abort();
    *cap = n;
}

/* transform.dedupe's share of a chunk (lk_dedupe.h): processed_events'
   key list, then the rows the committer found duplicated removed from it,
   before anything else is made from it. Rows are named by their raw row
   (the parser's output, a function of the chunk's bytes alone) rather than
   their place in processed_events, which a transform that is not a
   function of the row (a filter on current_timestamp(), rand()) could
   change between two readings of a batch. */
static int run_dedupe(lk_tables *t, const lk_batch *raw, int64_t now_us, lk_error *err)
{
    lk_batch *p = t->batches[1];
    uint32_t np = lk_batch_nrows(p), nraw = lk_batch_nrows(raw);
    const uint8_t *alive = lk_transforms_kept(t->xf[1]);
    /* processed row j is raw row p2r[j]; raw row r is processed row r2p[r] (-1: filtered) */
    if (nraw + 1 > t->map_cap) {
        t->map_cap = nraw + 1;
        t->p2r = realloc(t->p2r, sizeof *t->p2r * t->map_cap);
        t->r2p = realloc(t->r2p, sizeof *t->r2p * t->map_cap);
        t->pdrop = realloc(t->pdrop, sizeof *t->pdrop * t->map_cap);
        if (!t->p2r || !t->r2p || !t->pdrop) abort();
    }
    uint32_t j = 0;
    for (uint32_t r = 0; r < nraw; r++) {
        t->r2p[r] = alive[r] && j < np ? (int32_t)j : -1;
        if (alive[r] && j < np) t->p2r[j++] = (int32_t)r;
    }
    int npdrop = 0;
    for (int k = 0; k < t->ndrop; k++) /* ascending raw rows: ascending processed rows */
        if (t->drop[k] >= 0 && (uint32_t)t->drop[k] < nraw && t->r2p[t->drop[k]] >= 0)
            t->pdrop[npdrop++] = t->r2p[t->drop[k]];
    if (lk_dedupe_run(t->dd, p, t->pdrop, npdrop, t->src, now_us, t->dd_keys, err)) return -1;
    lk_col *rows = lk_batch_col(t->dd_keys, 3); /* row 0 is the header (row -1) */
    for (uint32_t i = 1; i < lk_batch_nrows(t->dd_keys); i++)
        ((int32_t *)rows->values)[i] = t->p2r[((int32_t *)rows->values)[i]];
    if (!npdrop) return 0;
    grow(&t->pkept, &t->pkept_cap, np + 1);
    t->dropped = lk_dedupe_filter(p, t->pdrop, npdrop, t->dd_scratch, t->pkept);
    t->batches[1] = t->dd_scratch;
    t->dd_scratch = p;
    /* raw row r reaches processed_events if its processed row is kept */
    grow(&t->alive, &t->alive_cap, nraw + 1);
    for (uint32_t r = 0; r < nraw; r++)
        t->alive[r] = t->r2p[r] >= 0 && t->pkept[t->r2p[r]];
    t->use_alive = 1;
    return 0;
}

int lk_tables_from(const lk_tables *t, int i)
{
    return i > 0 && i < t->n && t->xf[i] ? t->from[i] : -1;
}

/* Table entry's rows from in (entry 0: raw_events' rows, every table is fed) and the tables fed
   from it, in order; the others stay empty. */
static int run_tables(lk_tables *t, int entry, const lk_batch *in, int64_t now_us, int64_t batch,
                      lk_error *err)
{
    t->quarantined = t->rescued = t->late = t->no_et = t->dropped = 0;
    t->use_alive = 0;
    lk_batch *q = t->quarantine >= 0 ? t->batches[t->quarantine] : NULL;
    if (q) lk_batch_reset(q);
    if (t->metrics >= 0) lk_batch_reset(t->batches[t->metrics]);
    uint8_t fed[LK_TABLES_MAX] = {0};
    fed[0] = entry == 0;
    for (int i = 1; i < t->n; i++) {
        if (!t->xf[i]) continue;
        lk_batch_reset(t->batches[i]);
        if (i < entry || (i > entry && !fed[t->from[i]])) continue;
        fed[i] = 1;
        const lk_batch *src = i == entry || t->from[i] == 0 ? in : t->batches[t->from[i]];
        if (lk_transforms_run(t->xf[i], src, now_us, batch, t->batches[i], q, err)) {
            lk_error_prefix(err, "table %s", t->names[i]);
            return -1;
        }
        t->quarantined += lk_transforms_quarantined(t->xf[i]);
        t->rescued += lk_transforms_rescued(t->xf[i]);
        if (i == 1 && t->dd && run_dedupe(t, in, now_us, err)) return -1;
    }
    if (entry <= 1 && t->metrics >= 0) return run_metrics(t, in, now_us, batch, err);
    return 0;
}

int lk_tables_run(lk_tables *t, const lk_batch *raw, int64_t now_us, int64_t batch, lk_error *err)
{
    return run_tables(t, 0, raw, now_us, batch, err);
}

int lk_tables_run_from(lk_tables *t, int entry, const lk_batch *in, int64_t now_us, int64_t batch,
                       lk_error *err)
{
    if (lk_tables_from(t, entry) < 0)
        return lk_error_set(err, LK_EUNSUPPORTED, "table %s has no transforms to run",
                            entry > 0 && entry < t->n ? t->names[entry] : "?");
    return run_tables(t, entry, in, now_us, batch, err);
}

void lk_tables_set_drops(lk_tables *t, const int32_t *rows, int n, int64_t src)
{
    t->drop = rows;
    t->ndrop = n;
    t->src = src;
}

lk_batch *lk_tables_dedupe_keys(lk_tables *t)
{
    return t->dd ? t->dd_keys : NULL;
}

int64_t lk_tables_dropped(const lk_tables *t)
{
    return t->dropped;
}

int lk_tables_metrics_index(const lk_tables *t)
{
    return t->metrics;
}

struct lk_gold *lk_tables_metrics(lk_tables *t)
{
    return t->m;
}

void lk_tables_set_watermark(lk_tables *t, int64_t watermark_us)
{
    t->watermark = watermark_us;
}

int64_t lk_tables_late(const lk_tables *t)
{
    return t->late;
}

int64_t lk_tables_no_event_time(const lk_tables *t)
{
    return t->no_et;
}

/* A row event_metrics turned away, into quarantine: raw row r's data
   columns as the record (what replay re-injects), its _metadata. */
static void quarantine_away(lk_tables *t, const lk_batch *raw, uint32_t r, const char *reason,
                            int64_t batch, int64_t now_us, lk_batch *q)
{
    const lk_schema *rs = lk_batch_schema(raw);
    if (!t->datarow) {
        lk_schema *d = lk_raw_data_schema(rs);
        t->datarow = lk_batch_new(d);
        lk_schema_destroy(&d);
    }
    lk_batch_reset(t->datarow);
    const lk_schema *ds = lk_batch_schema(t->datarow);
    for (int c = 0; c < lk_schema_nfields(ds); c++)
        lk_col_append_range(lk_batch_col(t->datarow, c),
                            lk_batch_col_const(raw, lk_schema_find(rs, lk_schema_field(ds, c)->name)),
                            r, 1);
    lk_batch_set_nrows(t->datarow, 1);
    lk_buf_reset(&t->json);
    lk_rowjson_append(t->datarow, 0, &t->json);
    lk_col_append_bytes(lk_batch_col(q, LK_Q_RECORD), t->json.data, t->json.len);
    lk_col_append_bytes(lk_batch_col(q, LK_Q_REASON), reason, strlen(reason));
    const char *why = !strcmp(reason, LK_REASON_LATE) ? "event time older than the watermark"
                                                       : "no event time (null or unparsable)";
    lk_col_append_bytes(lk_batch_col(q, LK_Q_ERROR), why, strlen(why));
    lk_col_append_bytes(lk_batch_col(q, LK_Q_TABLE), LK_TABLE_METRICS, strlen(LK_TABLE_METRICS));
    lk_col *meta = lk_batch_col(q, LK_Q_METADATA);
    int mi = lk_schema_find(rs, LK_RAW_METADATA);
    if (mi >= 0 && lk_field_equal(lk_batch_col_const(raw, mi)->field, meta->field))
        lk_col_append_range(meta, lk_batch_col_const(raw, mi), r, 1);
    else
        lk_col_append_null(meta);
    if (t->watermark == INT64_MIN)
        lk_col_append_null(lk_batch_col(q, LK_Q_WATERMARK));
    else
        lk_col_append_i64(lk_batch_col(q, LK_Q_WATERMARK), t->watermark);
    lk_col_append_i64(lk_batch_col(q, LK_Q_BATCH), batch);
    lk_col_append_i64(lk_batch_col(q, LK_Q_AT), now_us);
    lk_col_append_null(lk_batch_col(q, LK_Q_REPLAYED));
    lk_batch_set_nrows(q, lk_batch_nrows(q) + 1);
}

/* event_metrics' share of a chunk: processed_events' rows folded into a
   partial, the turned-away ones to quarantine (row j of processed_events
   is the j-th raw row silver kept). */
static int run_metrics(lk_tables *t, const lk_batch *raw, int64_t now_us, int64_t batch,
                       lk_error *err)
{
    lk_batch *part = t->batches[t->metrics];
    lk_batch_reset(part);
    if (lk_gold_run(t->m, t->batches[1], t->watermark, now_us, err)) {
        lk_error_prefix(err, "table %s", LK_TABLE_METRICS);
        return -1;
    }
    lk_gold_partial(t->m, part);
    const uint32_t *rows;
    const char *const *why;
    uint32_t n = lk_gold_turned_away(t->m, &rows, &why);
    if (!n) return 0;
    const uint8_t *alive = t->use_alive ? t->alive : lk_transforms_kept(t->xf[1]);
    uint32_t nraw = lk_batch_nrows(raw), r = 0, j = 0;
    lk_batch *q = t->batches[t->quarantine];
    for (uint32_t k = 0; k < n; k++) {
        /* rows ascend: walk raw once */
        while (r < nraw && (!alive[r] || j < rows[k])) {
            j += alive[r];
            r++;
        }
        if (r >= nraw) break;
        quarantine_away(t, raw, r, why[k], batch, now_us, q);
        if (!strcmp(why[k], LK_REASON_LATE))
            t->late++;
        else
            t->no_et++;
    }
    t->quarantined += t->late + t->no_et;
    return 0;
}

int64_t lk_tables_quarantined(const lk_tables *t)
{
    return t->quarantined;
}

int64_t lk_tables_rescued(const lk_tables *t)
{
    return t->rescued;
}

lk_schema *lk_tables_processed_schema(const lk_schema *raw)
{
    lk_config cfg;
    lk_config_defaults(&cfg);
    lk_tables *t = NULL;
    lk_error err;
    if (lk_tables_new(&cfg, raw, &t, &err)) return NULL;
    lk_schema *s = lk_schema_clone(lk_tables_schema(t, 1));
    lk_tables_destroy(&t);
    return s;
}

int lk_tables_to_processed(const lk_batch *raw, int64_t processed_at_us, lk_batch *out,
                           lk_error *err)
{
    if (lk_schema_find(lk_batch_schema(raw), LK_RAW_CORRUPT) < 0)
        return lk_error_set(err, -22, "not a raw_events batch");
    lk_config cfg;
    lk_config_defaults(&cfg);
    lk_tables *t = NULL;
    if (lk_tables_new(&cfg, lk_batch_schema(raw), &t, err)) return -1;
    int rc = lk_tables_run(t, raw, processed_at_us, 0, err);
    if (rc == 0) lk_batch_append(out, lk_tables_batch(t, 1));
    lk_tables_destroy(&t);
    return rc;
}

static int check_list(const lk_config *cfg, lk_step_list l, const char *key, lk_error *err)
{
    static const char *const kinds[] = {"",     "filter", "derive", "select",
                                        "drop", "rename", "cast",   "flatten"};
    const char *file = lk_config_file_name(cfg);
    for (int s = 0; s < l.n; s++) {
        const lk_step *st = &cfg->xf.step[l.first + s];
        if (st->kind != LK_STEP_FILTER && st->kind != LK_STEP_DERIVE && st->kind != LK_STEP_SELECT)
            continue;
        for (int i = 0; i < st->nitems; i++) {
            const lk_step_item *it = &cfg->xf.item[st->item0 + i];
            char k[600];
            if (st->kind == LK_STEP_DERIVE)
                snprintf(k, sizeof k, "%s[%d].%s.%s", key, s, kinds[st->kind],
                         lk_config_xf_text(cfg, it->name));
            else if (st->kind == LK_STEP_SELECT)
                snprintf(k, sizeof k, "%s[%d].%s[%d]", key, s, kinds[st->kind], i);
            else
                snprintf(k, sizeof k, "%s[%d].%s", key, s, kinds[st->kind]);
            lk_sql_ast *ast = NULL;
            lk_error e = {0};
            const char *text = lk_config_xf_text(cfg, it->text);
            int rc = lk_sql_parse(text, st->kind == LK_STEP_SELECT, &ast, &e);
            const lk_sql_node *u = rc ? NULL : lk_sql_check_unknown_call(lk_sql_ast_root(ast));
            if (u)
                lk_error_set(&e, LK_EFORMAT, "position %d: unknown function '%s'",
                             lk_sql_column_of(text, u->pos), u->name);
            lk_sql_ast_destroy(&ast);
            if (rc || u)
                return lk_error_set(err, LK_ECONFIG, "%s:%d: key '%s': %s", file, it->line, k,
                                    e.msg);
        }
    }
    return 0;
}

int lk_tables_check(const lk_config *cfg, const lk_schema *raw, lk_error *err)
{
    lk_schema *declared = NULL;
    if (!raw && cfg->source.schema_ddl[0]) { /* source.schema: the schema is known */
        lk_schema *data = NULL;
        lk_error e = {0};
        if (lk_ddl_parse(cfg->source.schema_ddl, &data, &e) == 0)
            raw = declared = lk_raw_schema_opt(data, cfg->source.rescued_data_column);
        lk_schema_destroy(&data);
    }
    if (raw) {
        lk_tables *t = NULL;
        int rc = lk_tables_new(cfg, raw, &t, err);
        lk_tables_destroy(&t);
        lk_schema_destroy(&declared);
        return rc;
    }
    if (check_list(cfg, cfg->transforms, "transforms", err)) return LK_ECONFIG;
    if (cfg->metrics.set && lk_gold_check(cfg, err)) return LK_ECONFIG;
    for (int i = 0; i < cfg->tables.nderived; i++) {
        char key[300];
        snprintf(key, sizeof key, "tables.%s.transforms", cfg->tables.derived[i].name);
        if (check_list(cfg, cfg->tables.derived[i].transforms, key, err)) return LK_ECONFIG;
    }
    return 0;
}

/* b (ours) can be written where the table has a: the same type, precision and scale; a struct's
   fields matched by name (case-insensitive) wherever both have them (a field one side lacks is
   schema evolution, not a change: old files read it as null); arrays and maps element by element.
   Nullability aside. */
static int same_type(const lk_field *a, const lk_field *b)
{
    if (!lk_field_same_type(a, b)) return 0;
    if (a->type == LK_TYPE_STRUCT) {
        for (int j = 0; j < b->n_children; j++)
            for (int i = 0; i < a->n_children; i++)
                if (!strcasecmp(a->children[i].name, b->children[j].name) &&
                    !same_type(&a->children[i], &b->children[j]))
                    return 0;
        return 1;
    }
    if (a->n_children != b->n_children) return 0;
    for (int i = 0; i < a->n_children; i++)
        if (!same_type(&a->children[i], &b->children[i])) return 0;
    return 1;
}

int lk_tables_kept_types(const lk_config *cfg, const char *name, int metrics, const lk_schema *cur,
                         const lk_schema *ours, lk_error *err)
{
    int rc = 0;
    for (int f = 0; cur && f < lk_schema_nfields(ours) && !rc; f++) {
        const lk_field *mine = lk_schema_field(ours, f);
        for (int k = 0; k < lk_schema_nfields(cur); k++) {
            const lk_field *theirs = lk_schema_field(cur, k);
            if (strcasecmp(theirs->name, mine->name)) continue;
            if (same_type(theirs, mine)) break; /* the column, kept */
            lk_buf was = LK_BUF_INIT, now = LK_BUF_INIT;
            lk_field_type_ddl(theirs, &was);
            lk_field_type_ddl(mine, &now);
            char key[300];
            int agg = 0; /* metrics: an aggregate's column, else a group key's */
            if (metrics) {
                snprintf(key, sizeof key, "metrics.group_by");
                for (int a = 0; a < cfg->metrics.nagg; a++)
                    if (!strcasecmp(cfg->metrics.agg_name[a], mine->name)) {
                        snprintf(key, sizeof key, "metrics.aggregates.%s", mine->name);
                        agg = 1;
                    }
            } else if (!strcmp(name, LK_TABLE_PROCESSED))
                snprintf(key, sizeof key, "transforms");
            else
                snprintf(key, sizeof key, "tables.%s.transforms", name);
            lk_buf m = LK_BUF_INIT;
            lk_buf_printf(&m,
                          "%s: key '%s': column '%s' of %s is %s in the table, and the "
                          "%s make it %s: the table's files cannot be read as that "
                          "type. ",
                          lk_config_file_name(cfg), key, mine->name, name,
                          was.data, metrics ? "metrics" : "transforms", now.data);
            if (metrics && !agg)
                lk_buf_printf(&m,
                              "Keep its type with a cast of the key (\"CAST(... AS %s) AS "
                              "%s\"), or give the key another alias",
                              was.data, mine->name);
            else if (metrics) {
                /* the argument's type that gives the table's: sum adds 10 digits to a
                   decimal, avg 4 and 4 */
                char arg[64];
                const char *fn = "";
                for (int a = 0; a < cfg->metrics.nagg; a++)
                    if (!strcasecmp(cfg->metrics.agg_name[a], mine->name))
                        fn = cfg->metrics.agg_expr[a];
                while (*fn == ' ')
                    fn++;
                int P = theirs->precision, S = theirs->scale;
                if (theirs->type != LK_TYPE_DECIMAL)
                    snprintf(arg, sizeof arg, "%s", was.data);
                else if (!strncasecmp(fn, "sum", 3))
                    snprintf(arg, sizeof arg, "DECIMAL(%d,%d)", P < 38 ? P - 10 : 28, S);
                else if (!strncasecmp(fn, "avg", 3) || !strncasecmp(fn, "mean", 4))
                    snprintf(arg, sizeof arg, "DECIMAL(%d,%d)", P < 38 ? P - 4 : 34,
                             S >= 4 ? S - 4 : 0);
                else
                    snprintf(arg, sizeof arg, "%s", was.data);
                lk_buf_printf(&m,
                              "Keep its type with a cast of the aggregate's argument "
                              "(CAST(x AS %s)), or give the aggregate another name "
                              "(aggregates of decimals are exact, as Spark's: the sum of "
                              "a DECIMAL(p,s) is a DECIMAL(p+10,s), its avg a "
                              "DECIMAL(p+4,s+4))",
                              arg);
            } else if (lk_type_is_nested(theirs->type) || lk_type_is_nested(mine->type))
                lk_buf_printf(&m, "Keep the expression's type, or give");
            else
                lk_buf_printf(&m, "Keep its type with a cast step ({%s: %s}), or give", mine->name,
                              was.data);
            if (!metrics)
                lk_buf_printf(&m, " the new values another column name (decimals compute "
                                  "exactly: an integer times a literal such as 1.5 is a "
                                  "decimal; 1.5D is a double)");
            rc = lk_error_set(err, LK_ECONFIG, "%s", m.data);
            lk_buf_free(&m);
            lk_buf_free(&was);
            lk_buf_free(&now);
            break;
        }
    }
    return rc;
}

int lk_tables_check_types(const lk_config *cfg, const lk_schema *raw, lk_error *err)
{
    if (!raw) return 0;
    lk_tables *t = NULL;
    if (lk_tables_new(cfg, raw, &t, err)) return LK_ECONFIG;
    int rc = 0;
    for (int i = 1; i < lk_tables_count(t) && !rc; i++) {
        const char *name = lk_tables_name(t, i);
        if (!strcmp(name, LK_TABLE_QUARANTINE)) continue;
        int metrics = i == lk_tables_metrics_index(t);
        char path[2048], log[2100];
        lk_config_table_path(cfg, name, path, sizeof path);
        snprintf(log, sizeof log, "%s/_delta_log", path);
        if (!lk_fs_exists(log)) continue;
        lk_delta_table *dt = NULL;
        lk_error e = {0};
        if (lk_delta_open_log(path, &dt, &e)) continue;
        rc = lk_tables_kept_types(cfg, name, metrics, lk_delta_schema(dt), lk_tables_schema(t, i),
                                  err);
        lk_delta_destroy(&dt);
    }
    lk_tables_destroy(&t);
    return rc;
}
