/*
 * fuzz_source — libFuzzer target for lk_source_reader: arbitrary bytes as a
 * .gz, .zst, .bz2 or plain file (the first input byte picks the codec, the
 * format and the chunk and record limits). Whatever the input — damaged
 * streams, concatenated members, huge lines — the reader must not crash,
 * leak or hold more than chunk_bytes + max_record_size, every chunk but an
 * oversized record's head must end at a record end or the end of the
 * stream, and the offsets must be increasing and match the bytes returned
 * (contiguous except over a skipped oversized record).
 *
 * Build: cmake -S . -B build-fuzz -DLK_FUZZ=ON -DCMAKE_C_COMPILER=clang-14
 * Run:   build-fuzz/fuzz_source -max_total_time=300
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_source_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t k = data[0];
    data++, size--;
    static const char *ext[] = {".jsonl", ".jsonl.gz", ".jsonl.zst", ".jsonl.bz2"};
    /* a file of its own below $TMPDIR for each input, removed after it: nothing is left
       behind (tests/run.sh checks) and parallel runs (-jobs) do not share one */
    const char *tmp = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/fuzz_source_XXXXXX%s", tmp && *tmp ? tmp : "/tmp", ext[k & 3]);
    int fd = mkstemps(path, (int)strlen(ext[k & 3]));
    FILE *f = fd < 0 ? NULL : fdopen(fd, "wb");
    if (!f || fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
    lk_source_opts o = {.format = (k & 4) ? LK_SOURCE_CSV : LK_SOURCE_JSON,
                        .multi_line = (k & 0x30) == 0x30,
                        .sep = ',',
                        .quote = '"',
                        .escape = '\\',
                        .comment = '#',
                        .header = (k >> 6) & 1,
                        .chunk_bytes = 1 + ((k >> 4) & 3) * 7,
                        .max_record_size = (k & 8) ? 32 : 4096,
                        .quiet = 1};
    lk_error err;
    lk_source_reader *r = lk_source_reader_open(path, 0, (int64_t)size, &o, &err);
    if (!r)
        abort();
    lk_source_chunk c;
    int64_t next = -1, oversized = 0, total = 0, chunks = 0;
    int rc, head = 0; /* the previous chunk was an oversized record's head */
    /* a small input can decompress to megabytes of tiny records (a bz2 of 1.5 M empty lines
       took 24 s under ASan with 1-byte chunks; with 50,000 chunks a 242-byte bz2 still took
       1.8 s, each 1-byte chunk moving the 64 KiB buffer's rest, and over 20 s on a loaded
       machine: a libFuzzer timeout. chunk_bytes is at least 64 KiB outside this harness):
       1 MiB or 10,000 chunks say what there is to say */
    while (total < (1 << 20) && chunks++ < 10000 && (rc = lk_source_reader_next(r, &c, &err)) == 1) {
        total += (int64_t)c.len;
        if (c.len == 0)
            abort(); /* no empty chunks */
        if (next >= 0 && c.offset < next)
            abort();
        if (next >= 0 && c.offset != next && !head)
            abort(); /* a gap without a skipped record */
        head = lk_source_reader_oversized(r) > oversized;
        if (head && c.len != o.max_record_size)
            abort(); /* the head is exactly max_record_size bytes */
        oversized = lk_source_reader_oversized(r);
        next = c.offset + (int64_t)c.len;
        if (!o.multi_line && c.len > o.max_record_size + o.chunk_bytes)
            abort();
    }
    lk_source_reader_destroy(&r);
    unlink(path);
    return 0;
}
