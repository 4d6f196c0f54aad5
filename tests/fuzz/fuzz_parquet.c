/*
 * fuzz_parquet — libFuzzer target for the Parquet reader: the input is a
 * whole file in memory. It exercises the footer (Thrift compact, schema
 * conversion incl. legacy layouts, row group metadata) and, when the footer
 * parses, every page decoder (codecs, levels, PLAIN, dictionary, DELTA_xxx,
 * BYTE_STREAM_SPLIT values, assembly) through the public API only: open,
 * chunk metadata, a projected read of the last column, a full read.
 *
 * Build: cmake -S . -B build-fuzz -DLK_FUZZ=ON -DCMAKE_C_COMPILER=clang-14
 * Run:   build-fuzz/fuzz_parquet -max_total_time=900 corpus/ tests/fixtures/parquet-testing/
 * A crash, leak, hang or allocation over -malloc_limit_mb is a bug; each
 * input that found one goes to tests/fixtures/fuzz-regressions/.
 */
#include <stddef.h>
#include <stdint.h>

#include "lk_parquet_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lk_error err;
    lk_pq_reader *r = NULL;
    if (lk_pq_reader_open_mem(data, size, "fuzz.parquet", &r, &err) < 0) return 0;
    int nrg = lk_pq_reader_num_row_groups(r);
    int nleaves = lk_pq_reader_num_leaves(r);
    int nf = lk_schema_nfields(lk_pq_reader_schema(r));
    for (int g = 0; g < nrg && g < 8; g++) {
        for (int l = 0; l < nleaves && l < 64; l++) {
            lk_pq_chunk_meta m;
            lk_pq_reader_chunk_meta(r, g, l, &m, &err);
        }
        lk_batch *b = NULL;
        if (nf > 0) {
            int last = nf - 1;
            lk_pq_reader_read_row_group(r, g, &last, 1, &b, &err);
        }
        lk_pq_reader_read_row_group(r, g, NULL, 0, &b, &err);
        lk_batch_destroy(&b);
    }
    lk_pq_reader_destroy(&r);
    return 0;
}
