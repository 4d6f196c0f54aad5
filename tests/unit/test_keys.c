/* Unit tests for workers/remote/lk_keys: CURVE key pairs for remote workers
   (generation, loading, the server key, and every refusal path), and a
   CURVE handshake that only a generated pair completes. */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lk_check.h"
#include "lk_config.h"
#include "lk_fs.h"
#include "lk_keys.h"

START_TEST(generate_and_load)
{
    char dir[256], prefix[512], secret[600];
    lk_check_mkdtemp(dir, sizeof dir, "keys");
    snprintf(prefix, sizeof prefix, "%s/host.key", dir);
    snprintf(secret, sizeof secret, "%s_secret", prefix);
    lk_error err;
    char pub[LK_KEY_TXT];
    ck_assert_int_eq(lk_keys_generate(prefix, pub, &err), 0);
    ck_assert_uint_eq(strlen(pub), 40);
    struct stat sb;
    ck_assert_int_eq(stat(secret, &sb), 0);
    ck_assert_uint_eq(sb.st_mode & 0777, 0600);
    ck_assert_int_eq(stat(prefix, &sb), 0);
    ck_assert_uint_eq(sb.st_mode & 0777, 0644);
    /* the public file has no secret in it */
    lk_buf b = LK_BUF_INIT;
    ck_assert_int_eq(lk_fs_read_file(prefix, &b, 1 << 16, &err), 0);
    lk_buf_putc(&b, '\0');
    ck_assert_ptr_null(strstr((const char *)b.data, "secret-key"));
    ck_assert_ptr_nonnull(strstr((const char *)b.data, pub));
    lk_buf_free(&b);
    /* never overwritten */
    char again[LK_KEY_TXT];
    ck_assert_int_lt(lk_keys_generate(prefix, again, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "already there"));
    /* the pair loads by either name, with the same public key */
    zcert_t *c = NULL;
    ck_assert_int_eq(lk_keys_load_pair(prefix, &c, &err), 0);
    ck_assert_str_eq(zcert_public_txt(c), pub);
    zcert_destroy(&c);
    ck_assert_int_eq(lk_keys_load_pair(secret, &c, &err), 0);
    ck_assert_str_eq(zcert_public_txt(c), pub);
    zcert_destroy(&c);
    char p2[LK_KEY_TXT];
    ck_assert_int_eq(lk_keys_load_public(prefix, p2, &err), 0);
    ck_assert_str_eq(p2, pub);
    lk_check_rm_rf(dir);
}
END_TEST

START_TEST(refusals)
{
    char dir[256], path[512];
    lk_check_mkdtemp(dir, sizeof dir, "keysbad");
    lk_error err;
    zcert_t *c = NULL;
    char pub[LK_KEY_TXT];
    /* no such file */
    snprintf(path, sizeof path, "%s/none.key", dir);
    ck_assert_int_lt(lk_keys_load_pair(path, &c, &err), 0);
    ck_assert_ptr_null(c);
    ck_assert_ptr_nonnull(strstr(err.msg, "no secret key"));
    ck_assert_int_lt(lk_keys_load_public(path, pub, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "no such key file"));
    /* a public file alone is not a pair */
    snprintf(path, sizeof path, "%s/pub.key", dir);
    ck_assert_int_eq(lk_keys_generate(path, pub, &err), 0);
    char secret[600];
    snprintf(secret, sizeof secret, "%s_secret", path);
    ck_assert_int_eq(unlink(secret), 0);
    ck_assert_int_lt(lk_keys_load_pair(path, &c, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "no secret key"));
    /* garbage in the files */
    snprintf(path, sizeof path, "%s/junk.key", dir);
    snprintf(secret, sizeof secret, "%s_secret", path);
    ck_assert_int_eq(lk_fs_replace(path, "hello\n", 6, &err), 0);
    ck_assert_int_eq(lk_fs_replace(secret, "hello\n", 6, &err), 0);
    ck_assert_int_lt(lk_keys_load_pair(path, &c, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "not a key pair"));
    ck_assert_int_lt(lk_keys_load_public(path, pub, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "not a public key"));
    /* a directory that cannot be written */
    ck_assert_int_lt(lk_keys_generate("/proc/no/such/dir/k.key", pub, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "cannot write"));
    ck_assert_int_lt(lk_keys_generate("", pub, &err), 0);
    /* allowed_keys: must be a directory; counts public files only */
    int n = -1;
    snprintf(path, sizeof path, "%s/missing", dir);
    ck_assert_int_lt(lk_keys_allowed(path, &n, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "workers.remote.allowed_keys"));
    ck_assert_int_eq(lk_keys_allowed(dir, &n, &err), 0);
    ck_assert_int_eq(n, 2); /* pub.key, junk.key (not junk.key_secret) */
    lk_check_rm_rf(dir);
}
END_TEST

/* The server key: made once under the checkpoint, the same on the next
   start; workers.remote.key names a pair of the user's, or fails naming the key. */
START_TEST(server_key)
{
    char dir[256];
    lk_check_mkdtemp(dir, sizeof dir, "keyssrv");
    lk_config cfg;
    lk_config_defaults(&cfg);
    snprintf(cfg.checkpoint_path, sizeof cfg.checkpoint_path, "%s/ck", dir);
    lk_error err;
    zcert_t *a = NULL, *b = NULL;
    char path[1200], path2[1200];
    ck_assert_int_eq(lk_keys_server(&cfg, &a, path, sizeof path, &err), 0);
    ck_assert_ptr_nonnull(strstr(path, "/ck/remote/server.key"));
    ck_assert_int_eq(lk_keys_server(&cfg, &b, path2, sizeof path2, &err), 0);
    ck_assert_str_eq(zcert_public_txt(a), zcert_public_txt(b));
    ck_assert_str_eq(path, path2);
    zcert_destroy(&a);
    zcert_destroy(&b);
    snprintf(cfg.workers.remote.key, sizeof cfg.workers.remote.key, "%s/mine.key", dir);
    ck_assert_int_lt(lk_keys_server(&cfg, &a, path, sizeof path, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "workers.remote.key"));
    char pub[LK_KEY_TXT];
    ck_assert_int_eq(lk_keys_generate(cfg.workers.remote.key, pub, &err), 0);
    ck_assert_int_eq(lk_keys_server(&cfg, &a, path, sizeof path, &err), 0);
    ck_assert_str_eq(zcert_public_txt(a), pub);
    zcert_destroy(&a);
    lk_check_rm_rf(dir);
}
END_TEST

/* A CURVE handshake with generated keys: the pinned server key works, the
   wrong one does not (the pair is usable by libzmq, not just well formed). */
START_TEST(curve_handshake)
{
    char dir[256], s[512], c[512], o[512];
    lk_check_mkdtemp(dir, sizeof dir, "keyszmq");
    snprintf(s, sizeof s, "%s/s.key", dir);
    snprintf(c, sizeof c, "%s/c.key", dir);
    snprintf(o, sizeof o, "%s/o.key", dir);
    lk_error err;
    char ps[LK_KEY_TXT], pc[LK_KEY_TXT], po[LK_KEY_TXT];
    ck_assert_int_eq(lk_keys_generate(s, ps, &err), 0);
    ck_assert_int_eq(lk_keys_generate(c, pc, &err), 0);
    ck_assert_int_eq(lk_keys_generate(o, po, &err), 0);
    zcert_t *server = NULL, *client = NULL;
    ck_assert_int_eq(lk_keys_load_pair(s, &server, &err), 0);
    ck_assert_int_eq(lk_keys_load_pair(c, &client, &err), 0);
    for (int wrong = 0; wrong < 2; wrong++) {
        zsock_t *srv = zsock_new(ZMQ_PULL), *cli = zsock_new(ZMQ_PUSH);
        zcert_apply(server, srv);
        zsock_set_curve_server(srv, 1);
        int port = zsock_bind(srv, "tcp://127.0.0.1:*");
        ck_assert_int_gt(port, 0);
        zcert_apply(client, cli);
        zsock_set_curve_serverkey(cli, wrong ? po : ps);
        zsock_set_linger(cli, 0);
        zsock_connect(cli, "tcp://127.0.0.1:%d", port);
        zsock_set_sndtimeo(cli, 2000);
        zstr_send(cli, "hello");
        zsock_set_rcvtimeo(srv, wrong ? 500 : 5000);
        char *got = zstr_recv(srv);
        if (wrong)
            ck_assert_ptr_null(got);
        else
            ck_assert_str_eq(got, "hello");
        zstr_free(&got);
        zsock_destroy(&cli);
        zsock_destroy(&srv);
    }
    zcert_destroy(&server);
    zcert_destroy(&client);
    lk_check_rm_rf(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("keys");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, generate_and_load);
    tcase_add_test(tc, refusals);
    tcase_add_test(tc, server_key);
    tcase_add_test(tc, curve_handshake);
    suite_add_tcase(s, tc);
    return lk_check_run(s);
}
