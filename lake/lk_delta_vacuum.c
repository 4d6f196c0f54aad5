/*
 * lk_delta_vacuum — see the header. The referenced set is built once as a
 * sorted array of decoded paths relative to the table root; the directory
 * walk then costs one binary search per file.
 */
#include "lk_delta_vacuum.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "lk_buf.h"
#include "lk_delta_dv.h"
#include "lk_fs.h"
#include "lk_json.h"

#define MAX_DEPTH 64

typedef struct refset {
    char **v;
    size_t n, cap;
    const char *root; /* table path: absolute log paths inside it become relative */
    size_t root_len;
} refset;

static void ref_add(refset *r, const char *rel)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 256;
        r->v = realloc(r->v, r->cap * sizeof *r->v);
        if (!r->v) abort();
    }
    r->v[r->n] = strdup(rel);
    if (!r->v[r->n]) abort();
    r->n++;
}

static void on_retained(void *ctx, const char *path, const char *dv_json)
{
    refset *r = ctx;
    lk_buf b = LK_BUF_INIT;
    lk_delta_url_decode(path, &b);
    lk_buf_append(&b, "", 0);
    const char *p = b.data;
    if (strncmp(p, "file:", 5) == 0) {
        p += 5;
        while (p[0] == '/' && p[1] == '/')
            p++;
    }
    if (p[0] == '/') { /* absolute: only one inside the table can be vacuumed */
        if (strncmp(p, r->root, r->root_len) == 0 && p[r->root_len] == '/')
            ref_add(r, p + r->root_len + 1);
    } else {
        ref_add(r, p);
    }
    lk_buf_free(&b);
    if (dv_json) {
        yajl_val dv = yajl_tree_parse(dv_json, NULL, 0);
        char rel[1024];
        if (lk_delta_dv_relative_path(dv, rel, sizeof rel)) ref_add(r, rel);
        yajl_tree_free(dv);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int referenced(const refset *r, const char *rel)
{
    return bsearch(&rel, r->v, r->n, sizeof *r->v, cmp_str) != NULL;
}

static int is_our_temp(const char *name)
{
    size_t n = strlen(name);
    return name[0] == '.' && n > 5 && strcmp(name + n - 4, ".tmp") == 0;
}

typedef struct walk {
    const refset *refs;
    int64_t cutoff_ms;
    int dry_run;
    lk_delta_vacuum_fn fn;
    void *ctx;
    lk_delta_vacuum_stats *st;
    lk_error *err;
} walk;

/* Deletes path (relative rel) if unreferenced and older than the cutoff. */
static int consider(walk *w, const char *path, const char *rel, const struct stat *sb,
                    int temp_only)
{
    int64_t mtime = (int64_t)sb->st_mtim.tv_sec * 1000 + sb->st_mtim.tv_nsec / 1000000;
    if (!temp_only && referenced(w->refs, rel)) {
        w->st->retained++;
        return 0;
    }
    if (mtime >= w->cutoff_ms) {
        w->st->recent++;
        return 0;
    }
    if (!w->dry_run && unlink(path) != 0 && errno != ENOENT)
        return lk_error_errno(w->err, -errno, "cannot remove '%s'", path);
    w->st->files++;
    w->st->bytes += sb->st_size;
    if (w->fn) w->fn(w->ctx, rel, sb->st_size);
    return 0;
}

static int walk_dir(walk *w, const char *dir, const char *rel_dir, int depth)
{
    if (depth > MAX_DEPTH)
        return lk_error_set(w->err, LK_ELIMIT, "%s: directories nested deeper than %d", dir,
                            MAX_DEPTH);
    DIR *d = opendir(dir);
    if (!d) return lk_error_errno(w->err, -errno, "cannot list '%s'", dir);
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d))) {
        const char *nm = de->d_name;
        if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0) continue;
        char path[4200], rel[4200];
        snprintf(path, sizeof path, "%s/%s", dir, nm);
        if (*rel_dir)
            snprintf(rel, sizeof rel, "%s/%s", rel_dir, nm);
        else
            snprintf(rel, sizeof rel, "%s", nm);
        struct stat sb;
        if (lstat(path, &sb) != 0) continue; /* gone meanwhile */
        int hidden = nm[0] == '_' || nm[0] == '.';
        if (S_ISDIR(sb.st_mode)) {
            if (depth == 0 && strcmp(nm, "_delta_log") == 0) {
                /* only our orphaned temp files: the rest is log cleanup's */
                DIR *ld = opendir(path);
                struct dirent *le;
                while (rc == 0 && ld && (le = readdir(ld))) {
                    if (!is_our_temp(le->d_name)) continue;
                    char lp[4400], lr[4400];
                    snprintf(lp, sizeof lp, "%s/%s", path, le->d_name);
                    snprintf(lr, sizeof lr, "_delta_log/%s", le->d_name);
                    struct stat ls;
                    if (lstat(lp, &ls) == 0 && S_ISREG(ls.st_mode))
                        rc = consider(w, lp, lr, &ls, 1);
                }
                if (ld) closedir(ld);
                continue;
            }
            if (hidden) continue;
            rc = walk_dir(w, path, rel, depth + 1);
        } else if (S_ISREG(sb.st_mode)) {
            if (is_our_temp(nm))
                rc = consider(w, path, rel, &sb, 1);
            else if (!hidden)
                rc = consider(w, path, rel, &sb, 0);
        }
    }
    closedir(d);
    return rc;
}

int lk_delta_vacuum(lk_delta_table *t, int64_t retain_ms, int64_t now_ms, int dry_run,
                    lk_delta_vacuum_fn fn, void *ctx, lk_delta_vacuum_stats *st, lk_error *err)
{
    memset(st, 0, sizeof *st);
    int rc = lk_delta_refresh(t, err);
    if (rc) return rc;
    if (lk_delta_version(t) < 0)
        return lk_error_set(err, LK_ENOTFOUND, "%s: no Delta table", lk_delta_path(t));
    yajl_val proto =
        yajl_tree_parse(lk_delta_protocol_json(t) ? lk_delta_protocol_json(t) : "{}", NULL, 0);
    yajl_val mw = lk_json_get(proto, "minWriterVersion");
    long long writer = mw && YAJL_IS_INTEGER(mw) ? YAJL_GET_INTEGER(mw) : 2;
    if (writer > 2) {
        lk_buf feats = LK_BUF_INIT;
        lk_json_text(lk_json_get(proto, "writerFeatures"), &feats);
        rc = lk_error_set(err, LK_EUNSUPPORTED,
                          "%s: vacuum refused: minWriterVersion %lld (writer features %s) is "
                          "not implemented by lakesupd",
                          lk_delta_path(t), writer, feats.data);
        lk_buf_free(&feats);
    }
    yajl_tree_free(proto);
    if (rc) return rc;
    refset refs = {0};
    refs.root = lk_delta_path(t);
    refs.root_len = strlen(refs.root);
    lk_delta_foreach_retained(t, now_ms - retain_ms, on_retained, &refs);
    if (refs.n) qsort(refs.v, refs.n, sizeof *refs.v, cmp_str);
    walk w = {&refs, now_ms - retain_ms, dry_run, fn, ctx, st, err};
    rc = walk_dir(&w, lk_delta_path(t), "", 0);
    for (size_t i = 0; i < refs.n; i++)
        free(refs.v[i]);
    free(refs.v);
    return rc;
}
