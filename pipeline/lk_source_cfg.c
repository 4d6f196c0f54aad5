/* lk_source_cfg — the source.* keys as the readers' options; see lk_source_cfg.h. */
#include "lk_source_cfg.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lk_ddl.h"
#include "lk_raw.h"

lk_source_kind lk_source_cfg_kind(const lk_config *cfg)
{
    return !strcmp(cfg->source.format, "kafka") ? LK_SOURCE_KAFKA : LK_SOURCE_FILES;
}

lk_source_format lk_source_cfg_format(const lk_config *cfg)
{
    const char *f = cfg->source.format;
    return !strcmp(f, "csv") ? LK_SOURCE_CSV : !strcmp(f, "text") ? LK_SOURCE_TEXT : LK_SOURCE_JSON;
}

/* A one-byte option ("" = none: -1). */
static int byte_opt(const char *s, int none)
{
    return s[0] ? (unsigned char)s[0] : none;
}

void lk_source_cfg_reader(const lk_config *cfg, lk_source_opts *o)
{
    memset(o, 0, sizeof *o);
    o->format = lk_source_cfg_format(cfg);
    o->multi_line = o->format == LK_SOURCE_JSON && cfg->source.multi_line;
    o->sep = byte_opt(cfg->source.sep, ',');
    o->quote = byte_opt(cfg->source.quote, -1);
    o->escape = byte_opt(cfg->source.escape, -1);
    o->comment = byte_opt(cfg->source.comment, -1);
    o->header = o->format == LK_SOURCE_CSV && cfg->source.header;
    o->chunk_bytes = (size_t)cfg->source.chunk_bytes;
    o->max_record_size = (size_t)cfg->source.max_record_size;
    /* every record of max_record_size bytes or more then starts a chunk
       and is cut at max_record_size: one rule for every format */
    if (o->chunk_bytes > o->max_record_size) o->chunk_bytes = o->max_record_size;
}

void lk_source_cfg_parser(const lk_config *cfg, lk_parser_options *o)
{
    memset(o, 0, sizeof *o);
    o->format = lk_source_cfg_format(cfg);
    o->multi_line = o->format == LK_SOURCE_JSON && cfg->source.multi_line;
    o->kafka = lk_source_cfg_kind(cfg) == LK_SOURCE_KAFKA;
    o->max_record_size = (size_t)cfg->source.max_record_size;
    int drop_unknown = lk_source_cfg_evolve_mode(cfg) == LK_EVOLVE_NONE;
    o->json.mode = !strcmp(cfg->source.mode, "DROPMALFORMED") ? LK_JSON_DROPMALFORMED
                   : !strcmp(cfg->source.mode, "FAILFAST")    ? LK_JSON_FAILFAST
                                                              : LK_JSON_PERMISSIVE;
    o->json.drop_unknown = drop_unknown;
    o->json.note_new_keys = lk_source_cfg_scans_keys(cfg);
    o->csv.sep = byte_opt(cfg->source.sep, ',');
    o->csv.quote = byte_opt(cfg->source.quote, -1);
    o->csv.escape = byte_opt(cfg->source.escape, -1);
    o->csv.comment = byte_opt(cfg->source.comment, -1);
    o->csv.header = cfg->source.header;
    snprintf(o->csv.null_value, sizeof o->csv.null_value, "%s", cfg->source.null_value);
    o->csv.max_record_size = (size_t)cfg->source.max_record_size;
    o->csv.drop_unknown = drop_unknown;
}

lk_evolve_mode lk_source_cfg_evolve_mode(const lk_config *cfg)
{
    const char *m = cfg->source.schema_evolution_mode;
    if (!strcmp(m, "rescue"))
        return LK_EVOLVE_RESCUE;
    if (!strcmp(m, "fail_on_new_columns"))
        return LK_EVOLVE_FAIL_ON_NEW_COLUMNS;
    if (!strcmp(m, "none"))
        return LK_EVOLVE_NONE;
    if (!strcmp(m, "add_new_columns"))
        return LK_EVOLVE_ADD_NEW_COLUMNS;
    return cfg->source.schema_ddl[0] ? LK_EVOLVE_RESCUE : LK_EVOLVE_ADD_NEW_COLUMNS;
}

int lk_source_cfg_scans_keys(const lk_config *cfg)
{
    if (lk_source_cfg_kind(cfg) != LK_SOURCE_FILES || lk_source_cfg_format(cfg) != LK_SOURCE_JSON ||
        cfg->source.multi_line || cfg->workers.remote.bind[0])
        return 0;
    lk_evolve_mode m = lk_source_cfg_evolve_mode(cfg);
    return m == LK_EVOLVE_ADD_NEW_COLUMNS || m == LK_EVOLVE_FAIL_ON_NEW_COLUMNS;
}

int lk_source_cfg_accepts(const lk_config *cfg, const char *name)
{
    if (name[0] == '.') return 0; /* hidden and temp files: a writer renames into place */
    if (cfg->source.path_glob_filter[0])
        return fnmatch(cfg->source.path_glob_filter, name, FNM_PERIOD) == 0;
    return lk_source_format_accepts(name, lk_source_cfg_format(cfg));
}

uint64_t lk_source_cfg_shard_hash(const char *rel)
{
    uint64_t h = 14695981039346656037ULL; /* FNV-1a 64 offset basis */
    for (const unsigned char *p = (const unsigned char *)rel; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return h;
}

int lk_source_cfg_in_shard(const lk_config *cfg, const char *path)
{
    int n = cfg->source.shard.count;
    if (n <= 1)
        return 1;
    size_t k = strlen(cfg->source_path);
    while (k > 1 && cfg->source_path[k - 1] == '/')
        k--;
    const char *rel = path;
    if (!strncmp(path, cfg->source_path, k) && path[k] == '/')
        rel = path + k + 1;
    while (*rel == '/')
        rel++;
    return (int)(lk_source_cfg_shard_hash(rel) % (uint64_t)n) == cfg->source.shard.index;
}

int lk_source_cfg_lists_dir(const char *name)
{
    return name[0] != '.' && name[0] != '_';
}

int lk_source_cfg_hints_not_applied(const lk_config *cfg, const lk_schema *raw, int version,
                                    lk_buf *out)
{
    lk_schema *hints = NULL;
    lk_error e;
    if (!raw || lk_ddl_parse(cfg->source.schema_hints, &hints, &e)) /* checked at load */
        return 0;
    lk_schema *data = lk_raw_data_schema(raw);
    int n = 0;
    for (int i = 0; i < lk_schema_nfields(hints); i++) {
        const lk_field *h = lk_schema_field(hints, i);
        for (int j = 0; j < lk_schema_nfields(data); j++) {
            const lk_field *f = lk_schema_field(data, j);
            if (strcasecmp(f->name, h->name) || lk_field_same_type(f, h)) continue;
            lk_buf_printf(out,
                          "schema_hints: column %s is %s in raw_events version %d; the hint's %s "
                          "is not applied (a column's type never changes: values that do not fit "
                          "are rescued)\n",
                          f->name, lk_type_name(f->type), version, lk_type_name(h->type));
            n++;
        }
    }
    lk_schema_destroy(&data);
    lk_schema_destroy(&hints);
    return n;
}
