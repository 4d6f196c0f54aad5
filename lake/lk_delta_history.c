/*
 * lk_delta_history — commit timestamps and commitInfo per version; see the
 * header. The table is opened once (lk_delta_open) for its properties and
 * to make sure it is readable; the commit files are then read directly,
 * since history is about the log, not the snapshot.
 *
 * Time travel by timestamp (lk_delta_open_timestamp, declared with the rest
 * of the table API in lk_delta.h) lives here too: it is a history lookup
 * followed by lk_delta_open_version. Keeping it on this side makes the
 * dependency run one way: history uses lk_delta, lk_delta knows nothing of
 * history.
 */
#include "lk_delta_history.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yajl/yajl_tree.h>

#include "lk_buf.h"
#include "lk_delta.h"
#include "lk_delta_internal.h"
#include "lk_fs.h"
#include "lk_json.h"
#include "lk_time.h"

#define COMMIT_MAX_BYTES ((size_t)1 << 30)

struct lk_delta_history {
    lk_delta_history_entry *e;
    int n;
};

/* The commitInfo line of a commit file (Spark writes it first; any line
   is accepted). */
static yajl_val commit_info(const char *text)
{
    const char *p = strstr(text, "{\"commitInfo\"");
    if (!p) return NULL;
    const char *nl = strchr(p, '\n');
    char *line = strndup(p, nl ? (size_t)(nl - p) : strlen(p));
    if (!line) abort();
    yajl_val v = yajl_tree_parse(line, NULL, 0);
    free(line);
    return v;
}

int lk_delta_history_open(const char *table_path, lk_delta_history **out, lk_error *err)
{
    *out = NULL;
    lk_delta_table *t = NULL;
    int rc = lk_delta_open(table_path, &t, err);
    if (rc) return rc;
    int64_t latest = lk_delta_version(t);
    const char *ict = lk_delta_property(t, "delta.enableInCommitTimestamps");
    int ict_on = ict && strcmp(ict, "true") == 0;
    const char *ev = lk_delta_property(t, "delta.inCommitTimestampEnablementVersion");
    int64_t ict_from = ict_on ? (ev ? strtoll(ev, NULL, 10) : 0) : INT64_MAX;
    lk_delta_destroy(&t);
    if (latest < 0)
        return lk_error_set(err, LK_ENOTFOUND, "%s: no Delta table (no commit)", table_path);

    char log_dir[4200];
    snprintf(log_dir, sizeof log_dir, "%s/_delta_log", table_path);
    DIR *d = opendir(log_dir);
    if (!d) return lk_error_errno(err, -errno, "cannot list '%s'", log_dir);
    int64_t *jv = NULL, oldest_cp = INT64_MAX;
    int nj = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *n = de->d_name;
        if (!lk_delta_all_digits(n, 20) || n[20] != '.') continue;
        int64_t v = strtoll(n, NULL, 10);
        if (strcmp(n + 20, ".json") == 0) {
            if (nj == cap) {
                cap = cap ? cap * 2 : 64;
                jv = realloc(jv, (size_t)cap * sizeof *jv);
                if (!jv) abort();
            }
            jv[nj++] = v;
        } else if (strncmp(n + 20, ".checkpoint", 11) == 0 && v < oldest_cp) {
            oldest_cp = v;
        }
    }
    closedir(d);
    if (nj) qsort(jv, (size_t)nj, sizeof *jv, lk_delta_cmp_i64);
    /* the contiguous run of commits ending at the latest version */
    int first = nj;
    while (first > 0 && jv[first - 1] == (first == nj ? latest : jv[first] - 1))
        first--;
    /* a version is reconstructable from version 0 or from a checkpoint */
    while (first < nj && jv[first] != 0 && jv[first] < oldest_cp)
        first++;

    lk_delta_history *h = calloc(1, sizeof *h);
    if (!h) abort();
    h->e = calloc((size_t)(nj - first) + 1, sizeof *h->e);
    if (!h->e) abort();
    lk_buf text = LK_BUF_INIT, ci = LK_BUF_INIT;
    int64_t prev = INT64_MIN;
    for (int i = first; i < nj && rc == 0; i++) {
        char path[4300];
        snprintf(path, sizeof path, "%s/%020" PRId64 ".json", log_dir, jv[i]);
        struct stat st;
        lk_buf_reset(&text);
        if (stat(path, &st) != 0) {
            rc = lk_error_errno(err, -errno, "cannot stat '%s'", path);
            break;
        }
        if ((rc = lk_fs_read_file(path, &text, COMMIT_MAX_BYTES, err))) break;
        lk_delta_history_entry *e = &h->e[h->n++];
        e->version = jv[i];
        e->file_mtime = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
        e->in_commit_timestamp = -1;
        yajl_val root = commit_info(text.data ? text.data : "");
        yajl_val info = lk_json_get(root, "commitInfo");
        if (info) {
            lk_buf_reset(&ci);
            lk_json_text(info, &ci);
            e->commit_info_json = strdup(ci.data);
            yajl_val x = lk_json_get(info, "inCommitTimestamp");
            if (x && YAJL_IS_INTEGER(x)) e->in_commit_timestamp = YAJL_GET_INTEGER(x);
        }
        yajl_tree_free(root);
        if (e->version >= ict_from && e->in_commit_timestamp >= 0) {
            e->timestamp = e->in_commit_timestamp;
        } else {
            e->timestamp = e->file_mtime;
            if (prev != INT64_MIN && e->timestamp <= prev) e->timestamp = prev + 1;
        }
        prev = e->timestamp;
    }
    lk_buf_free(&text);
    lk_buf_free(&ci);
    free(jv);
    if (rc == 0 && h->n == 0)
        rc = lk_error_set(err, LK_ENOTFOUND, "%s: no retained commit file", log_dir);
    if (rc) {
        lk_delta_history_destroy(&h);
        return rc;
    }
    *out = h;
    return 0;
}

void lk_delta_history_destroy(lk_delta_history **hp)
{
    lk_delta_history *h = hp ? *hp : NULL;
    if (!h) return;
    for (int i = 0; i < h->n; i++)
        free((char *)h->e[i].commit_info_json);
    free(h->e);
    free(h);
    *hp = NULL;
}

int lk_delta_history_count(const lk_delta_history *h)
{
    return h->n;
}

const lk_delta_history_entry *lk_delta_history_at(const lk_delta_history *h, int i)
{
    return i >= 0 && i < h->n ? &h->e[i] : NULL;
}

static void iso(int64_t ms, char *out, size_t cap)
{
    lk_time_format_iso_ms(ms * 1000, out, cap);
}

int lk_delta_history_version_at(const lk_delta_history *h, int64_t ts_ms, int64_t *version,
                                lk_error *err)
{
    char a[64], b[64];
    const lk_delta_history_entry *first = &h->e[0], *last = &h->e[h->n - 1];
    if (ts_ms < first->timestamp) {
        iso(ts_ms, a, sizeof a);
        iso(first->timestamp, b, sizeof b);
        return lk_error_set(err, LK_ENOTFOUND,
                            "timestamp %s is before the earliest retained version %" PRId64
                            " (committed %s)",
                            a, first->version, b);
    }
    if (ts_ms > last->timestamp) {
        iso(ts_ms, a, sizeof a);
        iso(last->timestamp, b, sizeof b);
        return lk_error_set(err, LK_ENOTFOUND,
                            "timestamp %s is after the latest version %" PRId64 " (committed %s)",
                            a, last->version, b);
    }
    /* timestamps are increasing: binary search for the last <= ts_ms */
    int lo = 0, hi = h->n - 1;
    while (lo < hi) {
        int mid = lo + (hi - lo + 1) / 2;
        if (h->e[mid].timestamp <= ts_ms)
            lo = mid;
        else
            hi = mid - 1;
    }
    *version = h->e[lo].version;
    return 0;
}

int lk_delta_parse_timestamp(const char *s, int64_t *ms, lk_error *err)
{
    if (s && *s && lk_delta_all_digits(s, strlen(s)) && strlen(s) <= 18) {
        *ms = strtoll(s, NULL, 10);
        return 0;
    }
    int64_t us;
    if (s && lk_time_parse_iso(s, strlen(s), &us) == 0) {
        *ms = us / 1000 - (us % 1000 < 0); /* floor */
        return 0;
    }
    return lk_error_set(err, LK_ECONFIG,
                        "bad timestamp '%s' (want milliseconds since the epoch or ISO-8601)",
                        s ? s : "");
}

/* ---------- time travel by timestamp ---------- */

int lk_delta_open_timestamp(const char *table_path, int64_t ts_ms, lk_delta_table **out,
                            lk_error *err)
{
    *out = NULL;
    lk_delta_history *h = NULL;
    int rc = lk_delta_history_open(table_path, &h, err);
    int64_t v = -1;
    if (rc == 0) rc = lk_delta_history_version_at(h, ts_ms, &v, err);
    lk_delta_history_destroy(&h);
    if (rc) {
        lk_error_prefix(err, "%s", table_path);
        return rc;
    }
    return lk_delta_open_version(table_path, v, out, err);
}
