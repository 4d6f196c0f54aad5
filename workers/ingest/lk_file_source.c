/* lk_file_source — ingest's source of files; see lk_file_source.h. */
#include "lk_file_source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lk_clean_source.h"
#include "lk_csv_reader.h"
#include "lk_discovery.h"
#include "lk_fs.h"
#include "lk_infer.h"
#include "lk_log.h"
#include "lk_source_cfg.h"
#include "lk_source_reader.h"
#include "lk_text_reader.h"
#include "lk_time.h"

#define SAMPLE_PER_FILE (256 << 10) /* bytes of each file for inference (JSON) */
#define SAMPLE_READ (SAMPLE_PER_FILE + (64 << 10)) /* read for it: whole lines past the sample */
#define HOLD_MAX 256 /* files kept open for chunks sent by reference (then: with their bytes) */

/* A file of an uncommitted batch kept open: a transform reads the chunks sent by reference
   through /proc/<ingest>/fd/<fd>, the bytes ingest read even if the file was renamed,
   replaced or removed since. Closed when the batch (or a later one) commits. */
typedef struct held_fd {
    int64_t batch;
    int fd;
} held_fd;
typedef struct file_source {
    lk_source base;
    lk_discovery *disc;
    lk_clean_source *clean;
    lk_source_opts src; /* format, compression, chunking */
    lk_csv_reader *csv; /* format: csv (inference, header names) */
    lk_buf csv_hdr;     /* csv with header: the header record of the file being read */
    lk_buf tmp;
    held_fd held[HOLD_MAX];
    int nheld;
    int32_t pid; /* ours: where a transform finds the descriptors held */
    int by_ref; /* source.chunks_by_reference */
    int scan;          /* json lines: new keys are looked for in the chunks ... */
    int scan_replays;  /* ... of a batch's later readings only: the transforms note new keys in
                          its first (lk_source_cfg_scans_keys) */
    int skip_existing; /* first listing ever with include_existing_files: false */
} file_source;

/* ---- schema inference from the heads of the first files ---- */

static void infer_doc(void *ctx, const char *rec, size_t n, size_t offset)
{
    (void)offset;
    lk_infer_line(ctx, rec, n);
}

/* Feeds the (decompressed) heads of files to inf by the source format. */
static long sample_records(file_source *fs, lk_infer *inf, const lk_state_file *files, int n,
                           int64_t budget)
{
    if (fs->src.format == LK_SOURCE_TEXT) {
        static const char value[] = "{\"value\":\"\"}";
        lk_infer_line(inf, value, sizeof value - 1); /* text: one value column */
        return 1;
    }
    long objects = 0;
    lk_source_opts quiet = fs->src;
    quiet.quiet = 1; /* oversized records are logged when the batch is sent */
    /* JSON lines: read the sample, not a whole chunk (2 MiB by default, 8 times the sample,
       into a fresh buffer per file); a line longer than the margin is read whole as before */
    if (!fs->csv && !fs->src.multi_line && quiet.chunk_bytes > SAMPLE_READ)
        quiet.chunk_bytes = SAMPLE_READ;
    lk_error err;
    for (int i = 0; i < n && budget > 0; i++) {
        lk_source_reader *sr = lk_source_reader_open(files[i].path, 0, files[i].size, &quiet, &err);
        if (!sr) continue;
        lk_source_chunk c;
        int64_t took = 0;
        while (took < SAMPLE_PER_FILE && budget > 0 && lk_source_reader_next(sr, &c, &err) == 1) {
            if (fs->csv) {
                objects += lk_csv_reader_infer(fs->csv, inf, c.data, c.len, took == 0);
            } else if (fs->src.multi_line) {
                objects += lk_text_json_doc(c.data, c.len, &fs->tmp, infer_doc, inf);
            } else {
                /* JSON lines: at most SAMPLE_PER_FILE of the file, whole lines */
                size_t len = c.len;
                if ((int64_t)len > SAMPLE_PER_FILE - took) {
                    len = (size_t)(SAMPLE_PER_FILE - took);
                    while (len > 0 && c.data[len - 1] != '\n')
                        len--;
                    if (len == 0) len = c.len; /* one long line: take it whole */
                }
                objects += lk_infer_lines(inf, c.data, len);
                took += (int64_t)len;
                budget -= (int64_t)len;
                if (len < c.len) break;
                continue;
            }
            took += (int64_t)c.len;
            budget -= (int64_t)c.len;
        }
        lk_source_reader_destroy(&sr);
    }
    return objects;
}

/* Infers and stores the raw_events schema from the heads of files. */
static int infer_schema(file_source *fs, const lk_state_file *files, int n, lk_error *err)
{
    const lk_source_env *env = &fs->base.env;
    lk_infer *inf = lk_infer_new();
    int user = lk_evolve_has_user_schema(env->ev);
    if (user)
        n = 0;
    else if (n > env->cfg->source.schema_inference_sample_size)
        n = env->cfg->source.schema_inference_sample_size;
    long objects =
        sample_records(fs, inf, files, n, env->cfg->source.schema_inference_sample_bytes);
    lk_schema *data = fs->csv ? lk_csv_reader_infer_result(fs->csv, inf) : lk_infer_result(inf);
    lk_infer_destroy(&inf);
    int rc = lk_evolve_initial(env->ev, data, env->schema_version, err);
    if (rc == 0) {
        lk_buf ddl = LK_BUF_INIT;
        lk_evolve_ddl(env->ev, &ddl);
        LK_INFO("%s schema version=%d from %ld records: %s", user ? "user" : "inferred",
                *env->schema_version, objects, ddl.data ? ddl.data : "(no columns)");
        lk_buf_free(&ddl);
    }
    lk_schema_destroy(&data);
    return rc;
}

/* err's code: a failure is never mistaken for "nothing" (0). */
static int failed(const lk_error *err)
{
    return err->code < 0 ? err->code : -EIO;
}

/* ---- lk_source ---- */

static int fs_poll(lk_source *s, int64_t now_ms, int discover, lk_error *err)
{
    file_source *fs = (file_source *)s;
    const lk_source_env *env = &s->env;
    int rc = 0;
    if (discover) {
        rc = lk_discovery_poll(fs->disc, now_ms, err) < 0 ? failed(err) : 0;
        if (fs->skip_existing && lk_discovery_listed_once(fs->disc)) {
            fs->skip_existing = 0;
            lk_error e2;
            lk_state_meta_set(env->st, "initial_listing_done", "1", &e2);
        }
        int64_t taken, skipped, errors;
        lk_discovery_stats(fs->disc, &taken, &skipped, &errors);
        lk_worker_set(env->w, "files_discovered", taken);
        lk_worker_set(env->w, "files_skipped", skipped);
        lk_worker_set(env->w, "discovery_errors", errors);
    }
    lk_clean_source_poll(fs->clean, now_ms);
    return rc;
}

static int fs_caught_up(const lk_source *s)
{
    return lk_discovery_listed_once(((const file_source *)s)->disc);
}

static int fs_fd(const lk_source *s)
{
    return lk_discovery_fd(((const file_source *)s)->disc);
}

/* The first schema, inferred from files (the pending ones) when there is none yet: 0, or
   -1 with err (logged). */
static int first_schema(file_source *fs, const lk_state_file *files, int n, lk_error *err)
{
    if (*fs->base.env.schema_version != 0 || infer_schema(fs, files, n, err) == 0) return 0;
    if (err->code == LK_ECONFIG)
        LK_ERROR("the transforms do not fit the inferred schema: %s", err->msg);
    else
        LK_ERROR("cannot store the inferred schema: %s", err->msg);
    return -1;
}

/* The first schema from the first listing's pending files, while the other workers start
   (fs_plan would infer the same from the same list at the first plan). */
static int fs_prepare(lk_source *s, lk_error *err)
{
    file_source *fs = (file_source *)s;
    const lk_source_env *env = &s->env;
    if (*env->schema_version != 0 || !lk_discovery_listed_once(fs->disc)) return 0;
    lk_state_file *files = NULL;
    int n = 0;
    if (lk_state_files_pending(env->st, env->cfg->source.max_files_per_trigger, &files, &n, err)) {
        LK_ERROR("cannot list pending files: %s", err->msg);
        return failed(err);
    }
    int rc = n ? first_schema(fs, files, n, err) : 0;
    free(files);
    return rc ? failed(err) : 0;
}

static int fs_plan(lk_source *s, lk_state_range **out, int *nout, lk_error *err)
{
    file_source *fs = (file_source *)s;
    const lk_source_env *env = &s->env;
    lk_state_file *files = NULL;
    int n = 0;
    if (lk_state_files_pending(env->st, env->cfg->source.max_files_per_trigger, &files, &n, err)) {
        LK_ERROR("cannot list pending files: %s", err->msg);
        return failed(err);
    }
    if (n == 0) {
        free(files);
        return 0;
    }
    if (first_schema(fs, files, n, err)) {
        free(files);
        return failed(err);
    }
    lk_state_range *ranges = calloc((size_t)n, sizeof *ranges);
    if (!ranges) abort();
    int64_t bytes = 0, cap = env->cfg->source.max_bytes_per_trigger;
    int k = 0;
    for (int i = 0; i < n; i++) {
        /* max_bytes_per_trigger is soft: files are added until the batch
           is over it (the first file always goes, however large) */
        if (cap > 0 && bytes >= cap) break;
        ranges[k].file_id = files[i].id;
        snprintf(ranges[k].path, sizeof ranges[k].path, "%s", files[i].path);
        ranges[k].start = 0;
        ranges[k].end = files[i].size;
        ranges[k].file_size = files[i].size;
        ranges[k].mtime_us = files[i].mtime_us;
        bytes += files[i].size;
        k++;
    }
    free(files);
    *out = ranges;
    *nout = k;
    return 1;
}

/* What of a file its rows lack, for `lakesupd source list` (lk_state_file_note); the log
   has said it already, so a state.db that refuses the note costs a warning only. */
static void file_note(const lk_source_env *env, int64_t file_id, const char *note)
{
    lk_error e;
    if (lk_state_file_note(env->st, file_id, note, &e))
        LK_WARN("file id=%lld: cannot note \"%s\" in state.db: %s", (long long)file_id, note, e.msg);
}

static int fs_check(lk_source *s, int64_t batch, const lk_state_range *rg, lk_error *err)
{
    (void)err;
    struct stat sb;
    const char *why = NULL;
    char replaced[160];
    int64_t mtime_us = 0;
    if (stat(rg->path, &sb) != 0) {
        why = strerror(errno);
    } else {
        mtime_us = lk_fs_mtime_us(&sb);
        int ok = 0;
        int64_t head = 0;
        if (rg->inode && rg->head_hash && (int64_t)sb.st_ino != rg->inode &&
            mtime_us != rg->mtime_us)
            head = lk_discovery_head_hash(rg->path, &ok);
        if (ok && head != rg->head_hash) {
            /* another file renamed over it, with other first bytes: the planned file's rows
               are gone; the new one is a file of its own for discovery (allow_overwrites),
               never read under the planned one's id (it would be twice with allow_overwrites) */
            snprintf(replaced, sizeof replaced,
                     "replaced by another file: inode %lld, planned %lld, other first bytes",
                     (long long)sb.st_ino, (long long)rg->inode);
            why = replaced;
        } else if (sb.st_size < rg->end) {
            why = "it is shorter than when planned";
        }
    }
    if (why) {
        LK_ERROR("file=%s of batch=%lld cannot be read (%s): its bytes [%lld, %lld) are missing "
                 "from the batch",
                 rg->path, (long long)batch, why, (long long)rg->start, (long long)rg->end);
        lk_worker_add(s->env.w, "errors", 1);
        lk_worker_add(s->env.w, "lost_files", 1);
        char note[256];
        snprintf(note, sizeof note, "gone before batch %lld read it (%s): bytes %lld-%lld missing",
                 (long long)batch, why, (long long)rg->start, (long long)rg->end);
        file_note(&s->env, rg->file_id, note);
        return LK_RANGE_GONE;
    }
    return mtime_us != rg->mtime_us ? LK_RANGE_CHANGED : LK_RANGE_OK;
}

/* csv with header, the first chunk of a file: keeps the header record for
   every chunk of the file (transforms map columns by its names) and, when
   it names columns the schema lacks, evolves the schema by
   schema_evolution_mode with their types inferred from this chunk. */
static int csv_file_header(file_source *fs, const lk_source_chunk *sc, const char *path,
                           lk_error *err)
{
    const lk_source_env *env = &fs->base.env;
    size_t hs, he;
    lk_buf_reset(&fs->csv_hdr);
    if (!lk_csv_reader_header(fs->csv, sc->data, sc->len, &hs, &he)) return 0;
    lk_buf_append(&fs->csv_hdr, sc->data + hs, he - hs);
    int n;
    lk_csv_reader_set_header(fs->csv, fs->csv_hdr.data, fs->csv_hdr.len);
    const char *names = lk_csv_reader_header_names(fs->csv, &n);
    char first[256];
    if (lk_evolve_new_names(env->ev, names, n, first, sizeof first) == 0) return 0;
    lk_infer *inf = lk_infer_new();
    lk_csv_reader_infer(fs->csv, inf, sc->data, sc->len, 1);
    lk_schema *found = lk_csv_reader_infer_result(fs->csv, inf);
    if (!found) { /* a file with a header and no row: its new columns are strings */
        found = lk_schema_new();
        const char *nm = names;
        for (int i = 0; i < n; i++, nm += strlen(nm) + 1)
            lk_schema_add(found, nm, LK_TYPE_STRING, 1);
    }
    int rc = lk_evolve_columns(env->ev, found, path, 1, env->schema_version, err);
    lk_schema_destroy(&found);
    lk_infer_destroy(&inf);
    return rc;
}

/* Keeps the file sr reads open for batch's chunks sent by reference: the descriptor, or -1
   when HOLD_MAX are kept already (the chunks then carry their bytes). */
static int hold_fd(file_source *fs, int64_t batch, const lk_source_reader *sr)
{
    if (fs->nheld == HOLD_MAX) return -1;
    int fd = fcntl(lk_source_reader_fd(sr), F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
        LK_WARN("cannot keep a source file open for chunks by reference (%s): its chunks carry "
                "their bytes",
                strerror(errno));
        return -1;
    }
    fs->held[fs->nheld++] = (held_fd){batch, fd};
    return fd;
}

/* the lines at each end of a chunk ingest scans in a batch's first reading */
#define SAMPLE_LINES 16

static int fs_read(lk_source *s, int64_t batch, const lk_state_range *rg, lk_source_emit_fn emit,
                   void *ctx, lk_error *err)
{
    file_source *fs = (file_source *)s;
    const lk_source_env *env = &s->env;
    /* decompression and record-aligned cuts: lk_source_reader */
    lk_source_reader *sr = lk_source_reader_open(rg->path, rg->start, rg->end, &fs->src, err);
    if (!sr) {
        LK_ERROR("cannot read file=%s of batch=%lld: %s; its rows are missing from the batch",
                 rg->path, (long long)batch, err->msg);
        lk_worker_add(env->w, "errors", 1);
        char note[256];
        snprintf(note, sizeof note, "unreadable in batch %lld: %s", (long long)batch, err->msg);
        file_note(env, rg->file_id, note);
        return 0;
    }
    int csv_header = fs->csv && env->cfg->source.header, first = 1, rc;
    int held = -2; /* the kept descriptor for chunks by reference; -2: not tried, -1: none */
    lk_buf_reset(&fs->csv_hdr);
    lk_source_chunk sc;
    int64_t read_to = rg->start; /* the end of the last chunk read (decompressed bytes) */
    while ((rc = lk_source_reader_next(sr, &sc, err)) == 1) {
        read_to = sc.offset + (int64_t)sc.len;
        /* new columns: schema evolution before the chunk goes out (JSON
           lines; CSV: the header names of the file, in its first chunk) */
        int v0 = *env->schema_version;
        /* a batch's first reading: the chunk's first and last lines (where a key that arrives
           to stay shows first), the whole chunk when they have a new key; the transforms note
           the rest and ask for the batch again */
        int scan = fs->scan && (!fs->scan_replays || *env->gen > 0 ||
                                lk_evolve_sample(env->ev, sc.data, sc.len, SAMPLE_LINES));
        if ((scan && lk_evolve_chunk(env->ev, sc.data, sc.len, rg->path, sc.first_line,
                                         env->schema_version, err)) ||
            (csv_header && first && csv_file_header(fs, &sc, rg->path, err))) {
            LK_ERROR("batch=%lld: %s", (long long)batch, err->msg);
            lk_source_reader_destroy(&sr);
            return failed(err);
        }
        first = 0;
        if (*env->schema_version != v0) lk_worker_add(env->w, "schema_changes", 1);
        lk_msg_chunk m;
        memset(&m, 0, sizeof m);
        m.file_id = rg->file_id;
        snprintf(m.file_path, sizeof m.file_path, "%s", rg->path);
        m.file_size = rg->file_size;
        m.file_mtime_us = rg->mtime_us;
        m.offset = sc.offset;
        m.first_line = sc.first_line;
        m.data = sc.data;
        m.len = sc.len;
        m.header = fs->csv_hdr.data;
        m.header_len = fs->csv_hdr.len;
        if (held == -2 && sc.file_bytes && fs->by_ref) held = hold_fd(fs, batch, sr);
        m.file_bytes = sc.file_bytes && held >= 0;
        m.ref_pid = fs->pid;
        m.ref_fd = held;
        int e = emit(ctx, &m);
        if (e) {
            lk_source_reader_destroy(&sr);
            return e < 0 ? e : 0;
        }
    }
    if (rc < 0) {
        /* what was read before the damage is in the batch */
        LK_ERROR("%s batch=%lld: the rest of this file is missing from the batch", err->msg,
                 (long long)batch);
        lk_worker_add(env->w, "errors", 1);
        /* the reader's message names the file, then says what: the note keeps the what */
        const char *what = strrchr(err->msg, ':');
        char note[256];
        snprintf(note, sizeof note, "damaged: rows up to byte %lld of its content, the rest "
                 "unreadable (%s)", (long long)read_to, what ? what + 2 : err->msg);
        file_note(env, rg->file_id, note);
    }
    lk_worker_add(env->w, "oversized_records", lk_source_reader_oversized(sr));
    lk_source_reader_destroy(&sr);
    return 0;
}

static void fs_ack(lk_source *s, int64_t batch_id)
{
    file_source *fs = (file_source *)s;
    /* batches commit in order: what an earlier one kept open is done with too */
    for (int i = 0; i < fs->nheld; i++)
        if (fs->held[i].batch <= batch_id) {
            close(fs->held[i].fd);
            fs->held[i--] = fs->held[--fs->nheld];
        }
    lk_clean_source_nudge(fs->clean);
}

static void fs_drained(lk_source *s, int64_t now_ms)
{
    file_source *fs = (file_source *)s;
    lk_clean_source_nudge(fs->clean); /* what became due with the last commit */
    lk_clean_source_poll(fs->clean, now_ms);
}

static int fs_retryable(const lk_source *s, const lk_error *err)
{
    (void)s;
    (void)err;
    return 0;
}

static void fs_destroy(lk_source *s)
{
    file_source *fs = (file_source *)s;
    for (int i = 0; i < fs->nheld; i++)
        close(fs->held[i].fd);
    lk_discovery_destroy(&fs->disc);
    lk_clean_source_destroy(&fs->clean);
    lk_csv_reader_destroy(&fs->csv);
    lk_buf_free(&fs->csv_hdr);
    lk_buf_free(&fs->tmp);
    free(fs);
}

static const lk_source_ops g_file_ops = {
    "files",  "bytes", fs_poll, fs_caught_up, fs_fd,        fs_plan,
    fs_check, fs_read, fs_ack,  fs_drained,   fs_retryable, fs_destroy,
    fs_prepare,
};

lk_source *lk_file_source_new(const lk_source_env *env, lk_error *err)
{
    file_source *fs = calloc(1, sizeof *fs);
    if (!fs) abort();
    fs->base.ops = &g_file_ops;
    fs->base.env = *env;
    const lk_config *cfg = env->cfg;
    lk_source_cfg_reader(cfg, &fs->src);
    if (fs->src.format == LK_SOURCE_CSV) {
        lk_parser_options po;
        lk_source_cfg_parser(cfg, &po);
        fs->csv = lk_csv_reader_new(&po.csv);
    }
    fs->scan = fs->src.format == LK_SOURCE_JSON && !fs->src.multi_line;
    fs->scan_replays = lk_source_cfg_scans_keys(cfg);
    fs->by_ref = cfg->source.chunks_by_reference;
    fs->pid = (int32_t)getpid();
    /* include_existing_files: false skips what the very first listing finds */
    char flag[8];
    int found = 0;
    if (lk_state_meta_get(env->st, "initial_listing_done", flag, sizeof flag, &found, err) == 0 &&
        !found) {
        if (cfg->source.include_existing_files)
            lk_state_meta_set(env->st, "initial_listing_done", "1", err);
        else
            fs->skip_existing = 1;
    }
    lk_error_clear(err);
    if (lk_discovery_new(cfg, env->st, cfg->trigger == LK_TRIGGER_AVAILABLE_NOW, fs->skip_existing,
                         &fs->disc, err) ||
        lk_clean_source_new(cfg, env->st, &fs->clean, err)) {
        err->code = LK_ECONFIG; /* a source_path or clean_source set-up that cannot work */
        fs_destroy(&fs->base);
        return NULL;
    }
    return &fs->base;
}
