/*
 * lk_discovery — source file discovery: inotify plus listing, one record per
 * file version in state.db (see lk_discovery.h for the rules).
 *
 * Memory per file is a path and a "size:mtime" signature in `seen` (so a
 * listing does not query state.db for files it already knows); state.db is
 * the truth, and a restarted process rebuilds `seen` from it lazily, one
 * lookup per file at its first listing.
 */
#include "lk_discovery.h"

#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/inotify.h>
#endif

#include "lk_fs.h"
#include "lk_log.h"
#include "lk_source_cfg.h"
#include "lk_time.h"

#define LK_DISCOVERY_LIST_MS 100 /* listing period without notifications */
#define LK_DISCOVERY_DEPTH 16
#define LK_DISCOVERY_HEAD 4096

typedef struct settle {
    char sig[64];
    int64_t since_ms; /* monotonic: first seen with this signature */
} settle;

struct lk_discovery {
    const lk_config *cfg;
    lk_state *st;
    int take_at_once;
    int skip_existing;   /* until the first listing is done */
    int fd;              /* inotify, or -1 */
    zhash_t *wd_dir;     /* "wd" → directory path */
    zhash_t *seen;       /* path → "size:mtime" recorded (or refused) */
    zhash_t *settling;   /* path → settle, found by listing, not yet ready */
    zhash_t *writing;    /* path → "" modified, not closed yet (inotify) */
    zhash_t *unreadable; /* path → "size:mtime" whose read failure was said */
    int64_t next_list_ms;
    int64_t last_list_ms, every_ms; /* the last listing and the interval it used */
    int list_due;
    int listed_once;
    int errors;              /* files not recorded in this poll */
    lk_state_file_rec *recs; /* queued for the next flush */
    int nrecs, caprecs;
    int skipped_existing;
    int64_t n_taken, n_skipped, n_errors;
    int failing; /* a record failed; cleared by a listing that records everything */
    int64_t after_us, before_us;
    lk_error last_err;
};

static int is_candidate(const lk_discovery *d, const char *name)
{
    return lk_source_cfg_accepts(d->cfg, name);
}

int64_t lk_discovery_head_hash(const char *path, int *ok)
{
    unsigned char buf[LK_DISCOVERY_HEAD];
    *ok = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    size_t n = 0;
    while (n < sizeof buf) {
        ssize_t r = pread(fd, buf + n, sizeof buf - n, (off_t)n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            close(fd);
            return 0;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= buf[i];
        h *= 0x100000001b3ULL;
    }
    *ok = 1;
    return (int64_t)h;
}

static void put_str(zhash_t *h, const char *key, const char *value)
{
    zhash_update(h, key, strdup(value));
    zhash_freefn(h, key, free);
}

/* Queues a complete file to be recorded in state.db: pending, or skipped
   with a reason (written by flush, one transaction per poll). Returns <0 on
   a state.db error. */
static int record(lk_discovery *d, const char *path, const struct stat *sb, lk_error *err)
{
    char sig[64];
    int64_t mtime_us = lk_fs_mtime_us(sb);
    snprintf(sig, sizeof sig, "%lld:%lld", (long long)sb->st_size, (long long)mtime_us);
    int found = 0;
    int r = lk_state_file_lookup(d->st, path, sb->st_size, mtime_us, NULL, &found, err);
    if (r < 0) return r;
    if (found) { /* recorded before (an earlier process, or a listing raced an event) */
        put_str(d->seen, path, sig);
        zhash_delete(d->settling, path);
        return 0;
    }
    int ok = 0;
    int64_t hash = lk_discovery_head_hash(path, &ok);
    if (!ok) {
        /* said once per version; tried again at every listing */
        const char *said = zhash_lookup(d->unreadable, path);
        if (!said || strcmp(said, sig)) {
            LK_WARN("cannot read file=%s: %s (tried again at every listing)", path,
                    strerror(errno));
            put_str(d->unreadable, path, sig);
        }
        return 0;
    }
    zhash_delete(d->unreadable, path);
    if (d->nrecs == d->caprecs) {
        d->caprecs = d->caprecs ? d->caprecs * 2 : 64;
        d->recs = realloc(d->recs, (size_t)d->caprecs * sizeof *d->recs);
        if (!d->recs) abort();
    }
    lk_state_file_rec *rec = &d->recs[d->nrecs];
    memset(rec, 0, sizeof *rec);
    char *why = rec->why;
    size_t cap = sizeof rec->why;
    int64_t now_us = lk_time_now_us();
    const lk_config *c = d->cfg;
    lk_state_file prev;
    if (d->after_us && mtime_us <= d->after_us)
        snprintf(why, cap, "modified at or before modified_after (%s)", c->source.modified_after);
    else if (d->before_us && mtime_us >= d->before_us)
        snprintf(why, cap, "modified at or after modified_before (%s)", c->source.modified_before);
    else if (c->source.max_file_age_ms > 0 && now_us - mtime_us > c->source.max_file_age_ms * 1000)
        snprintf(why, cap, "older than max_file_age (%lld s)",
                 (long long)(c->source.max_file_age_ms / 1000));
    else if (d->skip_existing)
        snprintf(why, cap, "present before the first start (include_existing_files: false)");
    if (!why[0]) {
        r = lk_state_file_same(d->st, (int64_t)sb->st_dev, (int64_t)sb->st_ino, sb->st_size,
                               mtime_us, hash, &prev, &found, err);
        if (r < 0) return r;
        if (found && strcmp(prev.path, path))
            snprintf(why, cap,
                     "the same file as %.300s (renamed or moved: same device, inode, size, "
                     "mtime and head)",
                     prev.path);
    }
    rec->is_new = 0;
    if (!why[0]) {
        r = lk_state_file_taken(d->st, path, &prev, &found, err);
        if (r < 0) return r;
        if (found && !c->source.allow_overwrites)
            snprintf(why, cap, "changed after it was ingested (allow_overwrites: false)");
        else if (found)
            rec->is_new = -1; /* a new version: said when recorded */
    }
    lk_state_file *f = &rec->file;
    snprintf(f->path, sizeof f->path, "%s", path);
    f->size = sb->st_size;
    f->mtime_us = mtime_us;
    f->inode = (int64_t)sb->st_ino;
    f->device = (int64_t)sb->st_dev;
    f->batch_id = -1;
    rec->head_hash = hash;
    d->nrecs++;
    put_str(d->seen, path, sig);
    zhash_delete(d->settling, path);
    return 0;
}

/* Writes the queued records in one transaction and says what was recorded.
   Returns the number of new pending files, or <0 (nothing recorded: the
   records stay queued for the next poll). */
static int flush(lk_discovery *d, lk_error *err)
{
    if (d->nrecs == 0) return 0;
    int n = d->nrecs;
    d->nrecs = 0;
    char *version = malloc((size_t)n);
    if (!version) abort();
    for (int i = 0; i < n; i++)
        version[i] = d->recs[i].is_new == -1;
    int r = lk_state_files_record(d->st, d->recs, n, err);
    if (r < 0) {
        /* kept queued and retried at every poll: a file whose close event
           was consumed is still known complete */
        if (!d->failing)
            LK_ERROR("cannot record %d discovered file(s), first=%s: %s (retried)", n,
                     d->recs[0].file.path, err->msg);
        for (int i = 0; i < n; i++)
            d->recs[i].is_new = version[i] ? -1 : 0;
        d->nrecs = n;
        d->errors++;
        d->last_err = *err;
        free(version);
        return r;
    }
    int added = 0;
    for (int i = 0; i < n; i++) {
        const lk_state_file_rec *rec = &d->recs[i];
        const char *path = rec->file.path;
        if (!rec->is_new) continue;
        if (rec->why[0]) {
            d->n_skipped++;
            if (strstr(rec->why, "changed after"))
                LK_WARN("file changed after it was ingested; the new content is not taken "
                        "(allow_overwrites: false) file=%s size=%lld",
                        path, (long long)rec->file.size);
            else if (strstr(rec->why, "include_existing_files"))
                d->skipped_existing++;
            else
                LK_INFO("file skipped file=%s reason=%s", path, rec->why);
            continue;
        }
        if (version[i])
            LK_INFO("file rewritten: ingested again as a new version (allow_overwrites: true) "
                    "file=%s size=%lld",
                    path, (long long)rec->file.size);
        else
            LK_DEBUG("discovered file=%s size=%lld", path, (long long)rec->file.size);
        added++;
    }
    d->n_taken += added;
    free(version);
    return added;
}

/* A file seen by listing: taken once unchanged for file_ready_delay. */
static int consider(lk_discovery *d, const char *path, const char *name, const struct stat *sb,
                    int complete, int64_t now_ms, lk_error *err)
{
    if (!S_ISREG(sb->st_mode) || !is_candidate(d, name)) return 0;
    if (!lk_source_cfg_in_shard(d->cfg, path)) return 0; /* another instance's (source.shard) */
    if (sb->st_size == 0) return 0; /* nothing to take yet; taken when it has content */
    char sig[64];
    snprintf(sig, sizeof sig, "%lld:%lld", (long long)sb->st_size, (long long)lk_fs_mtime_us(sb));
    const char *known = zhash_lookup(d->seen, path);
    if (known && !strcmp(known, sig)) return 0;
    if (!complete && !d->take_at_once && !d->skip_existing) {
        if (zhash_lookup(d->writing, path))
            return 0; /* open for writing (inotify): its close takes it */
        int64_t delay = d->cfg->source.file_ready_delay_ms;
        int64_t age_ms = (lk_time_now_us() - lk_fs_mtime_us(sb)) / 1000;
        if (age_ms < delay) {
            settle *s = zhash_lookup(d->settling, path);
            if (!s || strcmp(s->sig, sig)) {
                settle *n = calloc(1, sizeof *n);
                if (!n) abort();
                snprintf(n->sig, sizeof n->sig, "%s", sig);
                n->since_ms = now_ms;
                zhash_update(d->settling, path, n);
                zhash_freefn(d->settling, path, free);
                return 0;
            }
            if (now_ms - s->since_ms < delay) return 0;
        }
    }
    if (record(d, path, sb, err) < 0) {
        LK_ERROR("cannot look up discovered file %s: %s", path, err->msg);
        d->errors++;
        d->last_err = *err;
    }
    return 0; /* counted when flushed; on an error retried at the next listing */
}

static void watch_dir(lk_discovery *d, const char *dir)
{
#ifdef __linux__
    if (d->fd < 0) return;
    int wd = inotify_add_watch(d->fd, dir,
                               IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_MODIFY | IN_ONLYDIR);
    if (wd < 0) {
        LK_WARN("cannot watch directory=%s: %s (found by the backfill listing instead)", dir,
                strerror(errno));
        return;
    }
    char key[16];
    snprintf(key, sizeof key, "%d", wd);
    put_str(d->wd_dir, key, dir);
#else
    (void)d;
    (void)dir;
#endif
}

/* Recursive listing; watches every directory it enters (inotify_add_watch
   on a watched directory returns the same wd: harmless). */
static int list_dir(lk_discovery *d, const char *dir, int depth, int64_t now_ms, lk_error *err)
{
    if (d->fd >= 0) watch_dir(d, dir);
    DIR *dh = opendir(dir);
    if (!dh) {
        if (depth == 0) {
            LK_WARN("cannot list source_path %s: %s", dir, strerror(errno));
            d->n_errors++;
        }
        return 0;
    }
    int added = 0;
    struct dirent *e;
    while ((e = readdir(dh))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char path[1024];
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path) {
            LK_WARN("path too long, skipped: %s/%s", dir, e->d_name);
            continue;
        }
        struct stat sb;
        if (stat(path, &sb) != 0) continue; /* vanished between readdir and stat */
        if (S_ISDIR(sb.st_mode)) {
            if (depth < LK_DISCOVERY_DEPTH && lk_source_cfg_lists_dir(e->d_name))
                added += list_dir(d, path, depth + 1, now_ms, err);
            continue;
        }
        added += consider(d, path, e->d_name, &sb, 0, now_ms, err);
    }
    closedir(dh);
    return added;
}

/* Reads every queued inotify event. */
static int read_events(lk_discovery *d, int64_t now_ms, lk_error *err)
{
    int added = 0;
#ifdef __linux__
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(d->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            p += sizeof *ev + ev->len;
            if (ev->mask & IN_Q_OVERFLOW) {
                LK_WARN("inotify event queue overflowed: a full listing follows");
                zhash_destroy(&d->writing); /* a close may have been lost */
                d->writing = zhash_new();
                d->list_due = 1;
                continue;
            }
            char key[16];
            snprintf(key, sizeof key, "%d", ev->wd);
            if (ev->mask & IN_IGNORED) {
                zhash_delete(d->wd_dir, key);
                continue;
            }
            const char *dir = zhash_lookup(d->wd_dir, key);
            if (!dir || !ev->len || !ev->name[0]) continue;
            char path[1024];
            if (snprintf(path, sizeof path, "%s/%s", dir, ev->name) >= (int)sizeof path) continue;
            if (ev->mask & IN_ISDIR) {
                /* a new (or moved-in) subdirectory: watch it, then list it
                   for what arrived before the watch */
                if ((ev->mask & (IN_CREATE | IN_MOVED_TO)) && lk_source_cfg_lists_dir(ev->name)) {
                    added += list_dir(d, path, 1, now_ms, err);
                    /* said once the watch is set (list_dir sets it first) */
                    LK_DEBUG("watching new directory=%s", path);
                }
                continue;
            }
            if (ev->mask & IN_MODIFY) {
                if (!zhash_lookup(d->writing, path) && is_candidate(d, ev->name))
                    put_str(d->writing, path, "");
                continue;
            }
            if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
                zhash_delete(d->writing, path);
                struct stat sb;
                if (stat(path, &sb) == 0) added += consider(d, path, ev->name, &sb, 1, now_ms, err);
            }
        }
    }
#else
    (void)d;
    (void)now_ms;
    (void)err;
#endif
    return added;
}

/* Files found by listing that were not ready: checked again when their
   delay has passed, without waiting for the next listing. */
static int recheck_settling(lk_discovery *d, int64_t now_ms, lk_error *err)
{
    if (zhash_size(d->settling) == 0) return 0;
    zlist_t *keys = zhash_keys(d->settling);
    int added = 0;
    for (char *path = zlist_first(keys); path; path = zlist_next(keys)) {
        settle *s = zhash_lookup(d->settling, path);
        if (!s || now_ms - s->since_ms < d->cfg->source.file_ready_delay_ms) continue;
        struct stat sb;
        if (stat(path, &sb) != 0) {
            zhash_delete(d->settling, path); /* gone before it was ready */
            continue;
        }
        const char *slash = strrchr(path, '/');
        added += consider(d, path, slash ? slash + 1 : path, &sb, 0, now_ms, err);
    }
    zlist_destroy(&keys);
    return added;
}

int lk_discovery_new(const lk_config *cfg, lk_state *st, int take_at_once, int skip_existing,
                     lk_discovery **out, lk_error *err)
{
    *out = NULL;
    lk_discovery *d = calloc(1, sizeof *d);
    if (!d) return lk_error_errno(err, -ENOMEM, "discovery");
    d->cfg = cfg;
    d->st = st;
    d->take_at_once = take_at_once;
    d->skip_existing = skip_existing;
    d->fd = -1;
    d->wd_dir = zhash_new();
    d->seen = zhash_new();
    d->settling = zhash_new();
    d->writing = zhash_new();
    d->unreadable = zhash_new();
    d->list_due = 1;
    if (cfg->source.modified_after[0] &&
        lk_time_parse_iso(cfg->source.modified_after, strlen(cfg->source.modified_after),
                          &d->after_us)) {
        lk_discovery_destroy(&d);
        return lk_error_set(err, LK_ECONFIG, "source.modified_after: bad timestamp '%s'",
                            cfg->source.modified_after);
    }
    if (cfg->source.modified_before[0] &&
        lk_time_parse_iso(cfg->source.modified_before, strlen(cfg->source.modified_before),
                          &d->before_us)) {
        lk_discovery_destroy(&d);
        return lk_error_set(err, LK_ECONFIG, "source.modified_before: bad timestamp '%s'",
                            cfg->source.modified_before);
    }
#ifdef __linux__
    if (cfg->source.use_notifications && !take_at_once) {
        d->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (d->fd < 0)
            LK_WARN("inotify unavailable (%s): discovery lists every %d ms instead",
                    strerror(errno), LK_DISCOVERY_LIST_MS);
    }
#endif
    LK_INFO("discovery path=%s notifications=%s backfill_interval_ms=%lld file_ready_delay_ms=%lld "
            "glob=%s",
            cfg->source_path, d->fd >= 0 ? "inotify" : "off",
            (long long)cfg->source.backfill_interval_ms, (long long)cfg->source.file_ready_delay_ms,
            cfg->source.path_glob_filter[0] ? cfg->source.path_glob_filter : "(json extensions)");
    if (cfg->source.shard.count > 1)
        LK_INFO("source.shard: index %d of %d: this instance takes the files whose path under %s "
                "hashes to %d (the other %d instance(s) take the rest)",
                cfg->source.shard.index, cfg->source.shard.count, cfg->source_path,
                cfg->source.shard.index, cfg->source.shard.count - 1);
    *out = d;
    return 0;
}

void lk_discovery_destroy(lk_discovery **dp)
{
    lk_discovery *d = *dp;
    if (!d) return;
    if (d->fd >= 0) close(d->fd);
    zhash_destroy(&d->wd_dir);
    zhash_destroy(&d->seen);
    zhash_destroy(&d->settling);
    zhash_destroy(&d->writing);
    zhash_destroy(&d->unreadable);
    free(d->recs);
    free(d);
    *dp = NULL;
}

int lk_discovery_poll(lk_discovery *d, int64_t now_ms, lk_error *err)
{
    d->errors = 0;
    int added = 0;
    if (d->fd >= 0) read_events(d, now_ms, err);
    int64_t every = d->fd >= 0 ? d->cfg->source.backfill_interval_ms : LK_DISCOVERY_LIST_MS;
    if (d->listed_once && every != d->every_ms && !d->failing) {
        /* backfill_interval changed (SIGHUP): the next listing is due by the new one */
        d->next_list_ms = d->last_list_ms + every;
        d->every_ms = every;
    }
    if (d->list_due || now_ms >= d->next_list_ms) {
        int first = !d->listed_once;
        d->list_due = 0;
        list_dir(d, d->cfg->source_path, 0, now_ms, err);
        int n = flush(d, err);
        if (d->errors == 0) {
            added += n;
            if (d->skip_existing) {
                LK_INFO("include_existing_files is false: %d file(s) present at the first start "
                        "are skipped",
                        d->skipped_existing);
                d->skip_existing = 0;
                added = 0;
            }
            d->listed_once = 1;
            if (first) LK_INFO("first listing done: %d new file(s)", n);
        }
        d->next_list_ms = now_ms + every;
        d->last_list_ms = now_ms;
        d->every_ms = every;
    }
    recheck_settling(d, now_ms, err);
    int n = flush(d, err);
    added += n > 0 ? n : 0;
    d->n_errors += d->errors;
    if (d->errors) {
        /* queued records are retried at every poll; a file whose lookup
           failed is not in `seen`: a listing finds it again in a second */
        if (d->next_list_ms > now_ms + 1000) d->next_list_ms = now_ms + 1000;
        d->failing = 1;
    } else if (d->nrecs == 0) {
        d->failing = 0;
    }
    if (d->failing) { /* until everything queued is recorded */
        *err = d->last_err;
        return err->code < 0 ? err->code : -1;
    }
    return added;
}

int lk_discovery_listed_once(const lk_discovery *d)
{
    return d->listed_once;
}

int lk_discovery_fd(const lk_discovery *d)
{
    return d->fd;
}

void lk_discovery_request_listing(lk_discovery *d)
{
    d->list_due = 1;
}

void lk_discovery_stats(const lk_discovery *d, int64_t *taken, int64_t *skipped, int64_t *errors)
{
    *taken = d->n_taken;
    *skipped = d->n_skipped;
    *errors = d->n_errors;
}
