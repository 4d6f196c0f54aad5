/* A RECORDS message of protocol version 2, built by hand for the tests (test_msg) and the message
   fuzzer's seeds (fuzz_msg): what an earlier build stored as event_metrics' window state. Two
   parts "t0" and "t1" of one nullable long column x holding v[0..n); t1's column is the
   reference [0, 0]. Version 2 parts are [table, schema, nrows, column...]: no selection item. */
#ifndef LK_MSG_V2_H
#define LK_MSG_V2_H

#include <msgpack.h>
#include <stdint.h>

#include "lk_msg.h"

static inline void lk_msg_v2_records(msgpack_sbuffer *sb, int64_t batch_id, const int64_t *v,
                                     uint32_t n)
{
    static const char js[] = "{\"type\":\"struct\",\"fields\":[{\"name\":\"x\",\"type\":\"long\","
                             "\"nullable\":true,\"metadata\":{}}]}";
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_int(&pk, LK_MSG_RECORDS);
    msgpack_pack_int(&pk, 2);
    msgpack_pack_array(&pk, 6); /* batch, chunk, rows_in, corrupt, rescued, parts */
    msgpack_pack_int64(&pk, batch_id);
    msgpack_pack_int32(&pk, 0);
    msgpack_pack_int64(&pk, n);
    msgpack_pack_int64(&pk, 0);
    msgpack_pack_int64(&pk, 0);
    msgpack_pack_array(&pk, 2);
    for (int p = 0; p < 2; p++) {
        msgpack_pack_array(&pk, 4);
        msgpack_pack_str(&pk, 2);
        msgpack_pack_str_body(&pk, p ? "t1" : "t0", 2);
        msgpack_pack_str(&pk, sizeof js - 1);
        msgpack_pack_str_body(&pk, js, sizeof js - 1);
        msgpack_pack_uint32(&pk, n);
        if (p) {
            msgpack_pack_array(&pk, 2);
            msgpack_pack_uint32(&pk, 0);
            msgpack_pack_uint32(&pk, 0);
        } else { /* [len, nulls, validity, values, offsets, data, children] */
            msgpack_pack_array(&pk, 7);
            msgpack_pack_uint32(&pk, n);
            msgpack_pack_uint32(&pk, 0);
            msgpack_pack_nil(&pk);
            msgpack_pack_bin(&pk, n * 8);
            msgpack_pack_bin_body(&pk, v, n * 8);
            msgpack_pack_nil(&pk);
            msgpack_pack_nil(&pk);
            msgpack_pack_array(&pk, 0);
        }
    }
}

#endif
