/*
 * lk_source_reader — decompression and record-aligned chunking of a source
 * file; see lk_source_reader.h.
 *
 * The decompressed bytes go to one buffer that holds the unconsumed tail of
 * the stream; a chunk is a prefix of it cut after the last record end found
 * in the first chunk_bytes (more is read when a record is longer, up to
 * max_record_size). The csv scanner below must agree with lk_csv_reader on
 * where a record ends: a quote opens a quoted field only at the start of a
 * field, a doubled quote or escape+quote inside it is a literal quote, and a
 * comment line (comment byte at the start of a record) ends at its newline.
 */
#include "lk_source_reader.h"

#include <bzlib.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include <zlib.h>
#include <zstd.h>

#include "lk_log.h"

#define IN_BYTES (256 << 10)

typedef struct csv_scan {
    int in_q, esc, closed, fs, comment;
    int hold; /* header on, first chunk: no cut before the first real record */
    int nb;   /* the record so far has a byte other than CR */
} csv_scan;

/* The state at the start of a record (hold is kept). */
static void rec_start(csv_scan *s)
{
    int hold = s->hold;
    memset(s, 0, sizeof *s);
    s->fs = 2;
    s->hold = hold;
}

struct lk_source_reader {
    char path[1024];
    lk_source_opts o;
    lk_source_codec codec;
    int fd;
    int64_t foff, fend; /* next file byte to read, planned end */
    /* compressed input */
    unsigned char *in;
    size_t in_len, in_pos;
    int in_eof, member_end;
    z_stream z;
    ZSTD_DStream *zs;
    bz_stream bz;
    int codec_live;
    /* decompressed, unconsumed: buf[pos, len) at stream offset boff */
    char *buf;
    size_t cap, len, pos;
    int64_t boff, produced, line;
    int eof, failed, bom_checked;
    lk_error ferr;
    /* an oversized record being skipped */
    int skipping;
    csv_scan skip_st;
    int64_t skip_from;
    int64_t oversized;
    int sent_one; /* a chunk was returned */
};

static int ends_with(const char *s, size_t n, const char *suf)
{
    size_t k = strlen(suf);
    return n > k && !strcmp(s + n - k, suf);
}

lk_source_codec lk_source_codec_of(const char *name)
{
    size_t n = strlen(name);
    if (ends_with(name, n, ".gz")) return LK_CODEC_GZIP;
    if (ends_with(name, n, ".zst")) return LK_CODEC_ZSTD;
    if (ends_with(name, n, ".bz2")) return LK_CODEC_BZIP2;
    return LK_CODEC_NONE;
}

int lk_source_format_accepts(const char *name, lk_source_format format)
{
    if (name[0] == '.') return 0; /* hidden and temp files: a writer renames into place */
    size_t n = strlen(name);
    static const char *codec_ext[] = {".gz", ".zst", ".bz2"};
    for (size_t i = 0; i < sizeof codec_ext / sizeof codec_ext[0]; i++) {
        if (ends_with(name, n, codec_ext[i])) {
            n -= strlen(codec_ext[i]);
            break;
        }
    }
    static const char *json[] = {".json", ".jsonl", ".ndjson", NULL};
    static const char *csv[] = {".csv", ".tsv", NULL};
    static const char *text[] = {".txt", ".log", ".text", NULL};
    const char **ext = format == LK_SOURCE_CSV ? csv : format == LK_SOURCE_TEXT ? text : json;
    for (; *ext; ext++) {
        size_t k = strlen(*ext);
        if (n > k && !strncmp(name + n - k, *ext, k)) return 1;
    }
    return 0;
}

/* ---- the decompressed stream ---- */

static void fail(lk_source_reader *r, const char *what)
{
    if (r->failed) return;
    r->failed = 1;
    r->eof = 1;
    lk_error_set(
        &r->ferr, LK_EFORMAT, "%s file=%s offset=%lld (decompressed; compressed offset %lld): %s",
        r->codec == LK_CODEC_NONE ? "read error" : "damaged compressed stream", r->path,
        (long long)r->produced, (long long)(r->foff - (int64_t)(r->in_len - r->in_pos)), what);
}

static void read_in(lk_source_reader *r)
{
    if (r->in_pos > 0) {
        memmove(r->in, r->in + r->in_pos, r->in_len - r->in_pos);
        r->in_len -= r->in_pos;
        r->in_pos = 0;
    }
    size_t room = IN_BYTES - r->in_len;
    if (r->fend - r->foff < (int64_t)room) room = (size_t)(r->fend - r->foff);
    if (room == 0) {
        r->in_eof = 1;
        return;
    }
    ssize_t n;
    do
        n = pread(r->fd, r->in + r->in_len, room, r->foff);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        fail(r, strerror(errno));
        return;
    }
    if (n == 0) {
        r->in_eof = 1; /* shorter than planned */
        return;
    }
    r->in_len += (size_t)n;
    r->foff += n;
}

static int codec_start(lk_source_reader *r)
{
    switch (r->codec) {
    case LK_CODEC_GZIP:
        memset(&r->z, 0, sizeof r->z);
        if (inflateInit2(&r->z, 15 + 32) != Z_OK) return -1;
        break;
    case LK_CODEC_ZSTD:
        r->zs = ZSTD_createDStream();
        if (!r->zs) return -1;
        ZSTD_initDStream(r->zs);
        break;
    case LK_CODEC_BZIP2:
        memset(&r->bz, 0, sizeof r->bz);
        if (BZ2_bzDecompressInit(&r->bz, 0, 0) != BZ_OK) return -1;
        break;
    case LK_CODEC_NONE:
        break;
    }
    r->codec_live = 1;
    return 0;
}

static void codec_end(lk_source_reader *r)
{
    if (!r->codec_live) return;
    if (r->codec == LK_CODEC_GZIP)
        inflateEnd(&r->z);
    else if (r->codec == LK_CODEC_ZSTD)
        ZSTD_freeDStream(r->zs), r->zs = NULL;
    else if (r->codec == LK_CODEC_BZIP2)
        BZ2_bzDecompressEnd(&r->bz);
    r->codec_live = 0;
}

/* One decompression step into buf[len, cap). */
static void dstep(lk_source_reader *r)
{
    if (r->in_pos == r->in_len && !r->in_eof) read_in(r);
    if (r->failed) return;
    size_t avail = r->in_len - r->in_pos;
    if (r->member_end) {
        /* concatenated members (gzip) / frames (zstd) / streams (bzip2) */
        if (avail == 0) {
            r->eof = 1;
            return;
        }
        if (r->codec != LK_CODEC_ZSTD) {
            codec_end(r);
            if (codec_start(r)) {
                fail(r, "cannot start the decompressor");
                return;
            }
        }
        r->member_end = 0;
    }
    size_t out_room = r->cap - r->len, produced = 0, consumed = 0;
    int end = 0;
    if (r->codec == LK_CODEC_GZIP) {
        r->z.next_in = r->in + r->in_pos;
        r->z.avail_in = (uInt)avail;
        r->z.next_out = (Bytef *)r->buf + r->len;
        r->z.avail_out = (uInt)out_room;
        int rc = inflate(&r->z, Z_NO_FLUSH);
        consumed = avail - r->z.avail_in;
        produced = out_room - r->z.avail_out;
        if (rc == Z_STREAM_END)
            end = 1;
        else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            r->in_pos += consumed;
            r->len += produced;
            r->produced += (int64_t)produced;
            fail(r, r->z.msg ? r->z.msg : "inflate failed");
            return;
        }
    } else if (r->codec == LK_CODEC_ZSTD) {
        ZSTD_inBuffer ib = {r->in + r->in_pos, avail, 0};
        ZSTD_outBuffer ob = {r->buf + r->len, out_room, 0};
        size_t rc = ZSTD_decompressStream(r->zs, &ob, &ib);
        consumed = ib.pos;
        produced = ob.pos;
        if (ZSTD_isError(rc)) {
            r->in_pos += consumed;
            r->len += produced;
            r->produced += (int64_t)produced;
            fail(r, ZSTD_getErrorName(rc));
            return;
        }
        if (rc == 0) end = 1;
    } else {
        r->bz.next_in = (char *)r->in + r->in_pos;
        r->bz.avail_in = (unsigned)avail;
        r->bz.next_out = r->buf + r->len;
        r->bz.avail_out = (unsigned)out_room;
        int rc = BZ2_bzDecompress(&r->bz);
        consumed = avail - r->bz.avail_in;
        produced = out_room - r->bz.avail_out;
        if (rc == BZ_STREAM_END)
            end = 1;
        else if (rc != BZ_OK) {
            r->in_pos += consumed;
            r->len += produced;
            r->produced += (int64_t)produced;
            fail(r, "bzip2 data error");
            return;
        }
    }
    r->in_pos += consumed;
    r->len += produced;
    r->produced += (int64_t)produced;
    if (end)
        r->member_end = 1;
    else if (!produced && !consumed && r->in_eof && r->in_pos == r->in_len)
        fail(r, "unexpected end of file (truncated)");
}

static void rstep(lk_source_reader *r)
{
    int64_t left = r->fend - r->foff;
    size_t room = r->cap - r->len;
    if (left < (int64_t)room) room = (size_t)left;
    if (room == 0) {
        r->eof = 1;
        return;
    }
    ssize_t n;
    do
        n = pread(r->fd, r->buf + r->len, room, r->foff);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        fail(r, strerror(errno));
        return;
    }
    if (n == 0) {
        r->eof = 1; /* shorter than planned: the caller checked the size */
        return;
    }
    r->len += (size_t)n;
    r->foff += n;
    r->produced += n;
}

static size_t avail(const lk_source_reader *r)
{
    return r->len - r->pos;
}

/* Makes at least need unconsumed bytes available, or reaches the end. */
static void fill(lk_source_reader *r, size_t need)
{
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->pos = 0;
    }
    if (need > r->cap) {
        size_t cap = r->cap ? r->cap : 64 << 10;
        while (cap < need)
            cap *= 2;
        char *b = realloc(r->buf, cap);
        if (!b) abort();
        r->buf = b;
        r->cap = cap;
    }
    while (r->len < need && !r->eof) {
        if (r->codec == LK_CODEC_NONE)
            rstep(r);
        else
            dstep(r);
    }
    if (!r->bom_checked && (r->len >= 3 || r->eof)) {
        r->bom_checked = 1;
        if (r->len >= 3 && !memcmp(r->buf, "\xEF\xBB\xBF", 3)) {
            r->pos += 3;
            r->boff += 3;
        }
    }
}

static void consume(lk_source_reader *r, size_t n)
{
    const char *p = r->buf + r->pos, *e = p + n;
    while ((p = memchr(p, '\n', (size_t)(e - p)))) {
        r->line++;
        p++;
    }
    r->pos += n;
    r->boff += (int64_t)n;
}

/* ---- record boundaries ---- */

/* Scans d[from, to) and returns the position after the last record end
   found there, or 0. */
static size_t scan(const lk_source_reader *r, const char *d, size_t from, size_t to, csv_scan *s,
                   int first)
{
    size_t cut = 0;
    if (r->o.format != LK_SOURCE_CSV) {
        const char *nl = NULL;
        if (to > from)
            nl = first ? memchr(d + from, '\n', to - from) : memrchr(d + from, '\n', to - from);
        return nl ? (size_t)(nl - d) + 1 : 0;
    }
    int quote = r->o.quote, esc = r->o.escape, sep = r->o.sep, com = r->o.comment;
    for (size_t i = from; i < to; i++) {
        int ch = (unsigned char)d[i];
        if (s->comment) {
            if (ch == '\n') {
                rec_start(s);
                if (!s->hold) { /* the header is the first record that is not a comment */
                    cut = i + 1;
                    if (first) return cut;
                }
            }
            continue;
        }
        if (s->in_q) {
            if (s->esc)
                s->esc = 0;
            else if (ch == esc && esc != quote)
                s->esc = 1;
            else if (ch == quote)
                s->in_q = 0, s->closed = 1;
            continue;
        }
        if (s->closed && ch == quote) { /* "" inside a quoted field */
            s->in_q = 1, s->closed = 0;
            continue;
        }
        s->closed = 0;
        if (ch == '\n') {
            int blank = !s->nb;
            rec_start(s);
            if (s->hold && blank) continue; /* nor blank */
            s->hold = 0;
            cut = i + 1;
            if (first) return cut;
            continue;
        }
        if (s->fs == 2 && ch == com) { /* fs 2: the start of a record */
            s->comment = 1;
            continue;
        }
        if (ch != '\r') s->nb = 1;
        if (s->fs && ch == quote) s->in_q = 1;
        s->fs = ch == sep ? 1 : 0;
    }
    return cut;
}

static csv_scan scan_start(void)
{
    csv_scan s;
    memset(&s, 0, sizeof s);
    rec_start(&s);
    return s;
}

/* Discards the rest of an oversized record, up to its end (multi_line:
   up to the end of the file). */
static void skip_rest(lk_source_reader *r)
{
    int64_t from = r->skip_from;
    while (r->skipping) {
        fill(r, r->o.chunk_bytes);
        size_t a = avail(r);
        if (a == 0) break;
        size_t cut = r->o.multi_line ? 0 : scan(r, r->buf + r->pos, 0, a, &r->skip_st, 1);
        consume(r, cut ? cut : a);
        if (cut) break;
    }
    r->skipping = 0;
    if (!r->o.quiet)
        LK_WARN("record longer than max_record_size=%zu file=%s offset=%lld length=%lld: its "
                "first %zu bytes are kept in _corrupt_record",
                r->o.max_record_size, r->path, (long long)from, (long long)(r->boff - from),
                r->o.max_record_size);
}

/* Opens path for reading if it is a regular file; O_NONBLOCK: a FIFO or device put at the path
   since it was listed is refused, not waited on (a regular file ignores the flag). The
   descriptor (*sb filled), -errno when it cannot be opened, or LK_EFORMAT when it is not a
   regular file. */
static int open_regular(const char *path, struct stat *sb)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return -errno;
    if (fstat(fd, sb) != 0 || !S_ISREG(sb->st_mode)) {
        close(fd);
        return LK_EFORMAT;
    }
    return fd;
}

lk_source_reader *lk_source_reader_open(const char *path, int64_t start, int64_t end,
                                        const lk_source_opts *o, lk_error *err)
{
    lk_source_reader *r = calloc(1, sizeof *r);
    if (!r) abort();
    snprintf(r->path, sizeof r->path, "%s", path);
    r->o = *o;
    if (r->o.chunk_bytes < 1) r->o.chunk_bytes = 1;
    if (r->o.max_record_size < 2) r->o.max_record_size = 2;
    r->codec = lk_source_codec_of(path);
    struct stat sb;
    r->fd = open_regular(path, &sb);
    if (r->fd < 0) {
        if (r->fd == LK_EFORMAT)
            lk_error_set(err, -EINVAL, "cannot read file=%s: not a regular file", path);
        else
            lk_error_errno(err, r->fd, "cannot open file=%s", path);
        free(r);
        return NULL;
    }
    r->foff = r->codec == LK_CODEC_NONE ? start : 0;
    r->fend = end;
    r->boff = r->foff;
    r->produced = r->foff;
    r->line = 1;
    r->bom_checked = r->foff > 0;
    if (r->codec != LK_CODEC_NONE) {
        r->in = malloc(IN_BYTES);
        if (!r->in || codec_start(r)) {
            lk_error_set(err, -ENOMEM, "cannot start the decompressor for file=%s", path);
            lk_source_reader_destroy(&r);
            return NULL;
        }
    }
    return r;
}

int lk_source_reader_next(lk_source_reader *r, lk_source_chunk *c, lk_error *err)
{
    if (r->skipping) skip_rest(r);
    fill(r, 1);
    if (avail(r) == 0) {
        if (r->failed) {
            if (err) *err = r->ferr;
            return r->ferr.code ? r->ferr.code : LK_EFORMAT;
        }
        return 0;
    }
    size_t max = r->o.max_record_size, cut = 0;
    csv_scan s = scan_start();
    s.hold = r->o.header && !r->sent_one; /* the header is in the first chunk */
    if (r->o.multi_line) {
        fill(r, max + 1);
        if (avail(r) > max) {
            cut = max;
            r->skipping = 1; /* to the end of the file: no newline ends it */
        } else {
            cut = avail(r);
        }
    } else {
        size_t want = r->o.chunk_bytes, scanned = 0;
        for (;;) {
            fill(r, want);
            size_t a = avail(r), lim = a < want ? a : want;
            size_t k = scan(r, r->buf + r->pos, scanned, lim, &s, 0);
            if (k) cut = k;
            scanned = lim;
            if (cut) break;
            if (lim == a && r->eof) {
                cut = a; /* the last record, without its end */
                break;
            }
            if (scanned >= max) {
                /* no record end within max_record_size: its head is sent
                   alone (corrupt downstream), the rest skipped */
                cut = max;
                r->skipping = 1;
                if (r->o.format == LK_SOURCE_CSV) {
                    csv_scan t = scan_start();
                    scan(r, r->buf + r->pos, 0, max, &t, 0);
                    r->skip_st = t;
                }
                break;
            }
            want = scanned + r->o.chunk_bytes;
            if (want > max && scanned < max) want = max;
        }
    }
    if (r->skipping) r->skip_from = r->boff, r->oversized++;
    r->sent_one = 1;
    c->data = r->buf + r->pos;
    c->len = cut;
    c->offset = r->boff;
    c->first_line = r->line;
    c->file_bytes = r->codec == LK_CODEC_NONE;
    consume(r, cut);
    return 1;
}

int64_t lk_source_reader_oversized(const lk_source_reader *r)
{
    return r->oversized;
}

void lk_source_reader_destroy(lk_source_reader **pr)
{
    lk_source_reader *r = *pr;
    if (!r) return;
    codec_end(r);
    if (r->fd >= 0) close(r->fd);
    free(r->in);
    free(r->buf);
    free(r);
    *pr = NULL;
}

/* ---- chunks by reference ---- */

uint64_t lk_source_digest(const void *data, size_t len)
{
    return (uint64_t)XXH3_64bits(data, len);
}

int lk_source_reader_fd(const lk_source_reader *r)
{
    return r->fd;
}

/* The file to read: the sender's open file when it can be opened, else path; a regular file
   only (open_regular; *sb filled). -errno with err, or the fd. */
static int open_range(const char *path, int pid, int fd, struct stat *sb, lk_error *err)
{
    int f = -1;
    if (pid > 0 && fd >= 0) {
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/%d/fd/%d", pid, fd);
        f = open_regular(proc, sb);
        static int said;
        if ((f == -EACCES || f == -EPERM) && !said) {
            /* ENOENT is a descriptor closed since (its batch committed, or the sender died):
               a stale chunk; this is the process not allowed to look at the sender's */
            said = 1;
            LK_WARN("cannot open the sender's descriptor %s (%s): chunks by reference are read "
                    "by path; a file renamed over between the two reads then fails its digest "
                    "and its batch is replayed (source.chunks_by_reference: false sends the "
                    "bytes)",
                    proc, strerror(-f));
        }
    }
    if (f < 0 && f != LK_EFORMAT) f = open_regular(path, sb);
    if (f == LK_EFORMAT)
        return lk_error_set(err, -ESTALE, "file=%s is no longer a regular file", path);
    if (f < 0) return lk_error_set(err, f, "cannot open file=%s: %s", path, strerror(-f));
    return f;
}

int lk_source_read_range(const char *path, int pid, int fd, int64_t offset, size_t len,
                         uint64_t digest, lk_buf *out, lk_error *err)
{
    lk_buf_reset(out);
    struct stat sb;
    int f = open_range(path, pid, fd, &sb, err);
    if (f < 0) return f;
    if (sb.st_size < offset + (int64_t)len) {
        /* not even there: said before allocating what a bad length asks */
        close(f);
        return lk_error_set(err, -ESTALE, "file=%s is %lld bytes, shorter than the chunk's end "
                            "%lld: it changed since ingest read it",
                            path, (long long)sb.st_size, (long long)offset + (long long)len);
    }
    lk_buf_grow(out, len + 1);
    size_t got = 0;
    int rc = 0;
    while (got < len) {
        ssize_t n = pread(f, out->data + got, len - got, (off_t)(offset + (int64_t)got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            rc = lk_error_set(err, -errno, "cannot read file=%s offset=%lld: %s", path,
                              (long long)offset + (long long)got, strerror(errno));
            break;
        }
        if (n == 0) {
            rc = lk_error_set(err, -ESTALE, "file=%s ends at offset %lld, before the chunk's "
                              "end %lld: it changed since ingest read it",
                              path, (long long)offset + (long long)got,
                              (long long)offset + (long long)len);
            break;
        }
        got += (size_t)n;
    }
    close(f);
    if (rc) return rc;
    out->len = len;
    out->data[len] = '\0';
    if (lk_source_digest(out->data, len) != digest)
        return lk_error_set(err, -ESTALE, "file=%s bytes [%lld, %lld) are not the ones ingest "
                            "read: the file changed in place",
                            path, (long long)offset, (long long)offset + (long long)len);
    return 0;
}
