/*  test_store.c - unit tests of brg_store: per-topic seq from 1 that survives reopening,
    a stable epoch, journal scans by prefix in publish order (a prefix "trade.1000000365."
    never matches account 10000003650), and the idempotency table.
*/
#include <criterion/criterion.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "brg_store.h"

static int s_dirs;

static void fresh_dir(char *dir, size_t len) {
    snprintf(dir, len, "/tmp/xtbt-store-%d-%d", getpid(), ++s_dirs);
    zsys_dir_create("%s", dir);
}

static uint8_t *pack_text(void *arg, uint64_t seq, size_t *size) {
    char *out = (char *)malloc(64);
    *size = (size_t)snprintf(out, 64, "%s#%llu", (const char *)arg, (unsigned long long)seq);
    return (uint8_t *)out;
}

static uint64_t append(brg_store_t *store, const char *topic, const char *text) {
    uint64_t seq = 0;
    uint8_t *data = NULL;
    size_t size = 0;
    cr_assert_eq(
        brg_store_journal_append(store, topic, pack_text, (void *)text, &seq, &data, &size), 0);
    free(data);
    return seq;
}

Test(store, seq_is_per_topic_and_survives_reopen) {
    char dir[256], err[256];
    fresh_dir(dir, sizeof dir);
    brg_store_t *store = brg_store_new(dir, err, sizeof err);
    cr_assert_not_null(store, "%s", err);
    uint64_t epoch = brg_store_epoch(store);
    cr_assert_neq(epoch, 0);
    cr_assert_eq(append(store, "trade.1.", "a"), 1);
    cr_assert_eq(append(store, "trade.1.", "b"), 2);
    cr_assert_eq(append(store, "order.1.", "c"), 1);
    brg_store_destroy(&store);
    cr_assert_null(store);

    store = brg_store_new(dir, err, sizeof err);
    cr_assert_not_null(store, "%s", err);
    cr_assert_eq(brg_store_epoch(store), epoch);
    cr_assert_eq(append(store, "trade.1.", "d"), 3);
    brg_store_destroy(&store);
}

Test(store, data_dir_is_created) {
    char dir[256], nested[300], err[256];
    fresh_dir(dir, sizeof dir);
    snprintf(nested, sizeof nested, "%s/a/b", dir);
    brg_store_t *store = brg_store_new(nested, err, sizeof err);
    cr_assert_not_null(store, "%s", err);
    brg_store_destroy(&store);
}

typedef struct {
    char seen[16][64];
    int count;
    int stop_after;
} scan_t;

static int collect(void *arg, const char *topic, uint64_t seq, const uint8_t *data, size_t size) {
    scan_t *scan = (scan_t *)arg;
    snprintf(scan->seen[scan->count++], 64, "%s%llu:%.*s", topic, (unsigned long long)seq,
             (int)size, (const char *)data);
    return scan->stop_after && scan->count >= scan->stop_after ? 1 : 0;
}

Test(store, scan_by_prefix_in_publish_order) {
    char dir[256], err[256];
    fresh_dir(dir, sizeof dir);
    brg_store_t *store = brg_store_new(dir, err, sizeof err);
    append(store, "trade.1000000365.", "x");
    append(store, "trade.10000003650.", "y");
    append(store, "order.1000000365.", "z");
    append(store, "trade.1000000365.", "w");

    scan_t scan = {0};
    cr_assert_gt(brg_store_journal_scan(store, "trade.1000000365.", 0, collect, &scan), 0);
    cr_assert_eq(scan.count, 2);
    cr_assert_str_eq(scan.seen[0], "trade.1000000365.1:x#1");
    cr_assert_str_eq(scan.seen[1], "trade.1000000365.2:w#2");

    scan_t all = {0};
    brg_store_journal_scan(store, "trade.", 0, collect, &all);
    cr_assert_eq(all.count, 3);
    cr_assert_str_eq(all.seen[1], "trade.10000003650.1:y#1");

    /* stop early, then resume from the returned position */
    scan_t first = {.stop_after = 1};
    int64_t pos = brg_store_journal_scan(store, "", 0, collect, &first);
    cr_assert_eq(first.count, 1);
    scan_t rest = {0};
    brg_store_journal_scan(store, "", pos, collect, &rest);
    cr_assert_eq(rest.count, 3);
    cr_assert_str_eq(rest.seen[0], "trade.10000003650.1:y#1");
    brg_store_destroy(&store);
}

Test(store, replies_by_client_and_request_id) {
    char dir[256], err[256];
    fresh_dir(dir, sizeof dir);
    brg_store_t *store = brg_store_new(dir, err, sizeof err);
    uint8_t *data = NULL;
    size_t size = 0;
    cr_assert_eq(brg_store_reply_get(store, "c1", "r1", &data, &size), 0);
    cr_assert_eq(brg_store_reply_put(store, "c1", "r1", (const uint8_t *)"abc", 3), 0);
    cr_assert_eq(brg_store_reply_get(store, "c1", "r1", &data, &size), 1);
    cr_assert_eq(size, 3);
    cr_assert_eq(memcmp(data, "abc", 3), 0);
    free(data);
    cr_assert_eq(brg_store_reply_get(store, "c2", "r1", &data, &size), 0);
    brg_store_destroy(&store);

    store = brg_store_new(dir, err, sizeof err);
    cr_assert_eq(brg_store_reply_get(store, "c1", "r1", &data, &size), 1);
    free(data);
    brg_store_destroy(&store);
}

Test(store, unusable_data_dir_is_an_error) {
    char err[256] = "";
    brg_store_t *store = brg_store_new("/proc/xtbridge-cannot-exist", err, sizeof err);
    cr_assert_null(store);
    cr_assert(strlen(err) > 0);
}

static void collect_topic(void *arg, const char *topic, uint64_t last_seq) {
    scan_t *scan = (scan_t *)arg;
    snprintf(scan->seen[scan->count++], 64, "%s=%llu", topic, (unsigned long long)last_seq);
}

Test(store, account_topics_match_the_exact_account) {
    char dir[256], err[256];
    fresh_dir(dir, sizeof dir);
    brg_store_t *store = brg_store_new(dir, err, sizeof err);
    append(store, "trade.1000000365.", "a");
    append(store, "trade.1000000365.", "b");
    append(store, "trade.10000003650.", "c");
    append(store, "order.1000000365.", "d");
    append(store, "heartbeat.", "e");
    scan_t scan = {0};
    cr_assert_eq(brg_store_account_topics(store, "1000000365", collect_topic, &scan), 2);
    cr_assert_str_eq(scan.seen[0], "order.1000000365.=1");
    cr_assert_str_eq(scan.seen[1], "trade.1000000365.=2");
    scan_t none = {0};
    cr_assert_eq(brg_store_account_topics(store, "365", collect_topic, &none), 0);
    cr_assert_eq(brg_store_account_topics(store, "", collect_topic, &none), -1);
    brg_store_destroy(&store);
}

Test(store, batch_nests_and_commits_once) {
    char dir[256], err[256];
    fresh_dir(dir, sizeof dir);
    brg_store_t *store = brg_store_new(dir, err, sizeof err);
    /* a batch with no writes opens no transaction */
    cr_assert_eq(brg_store_begin(store), 0);
    cr_assert(brg_store_in_batch(store));
    cr_assert_eq(brg_store_commit(store), 0);
    cr_assert_not(brg_store_in_batch(store));

    cr_assert_eq(brg_store_begin(store), 0);
    cr_assert_eq(brg_store_begin(store), 0);
    cr_assert_eq(append(store, "trade.1.", "a"), 1);
    cr_assert_eq(brg_store_reply_put(store, "c", "r", (const uint8_t *)"x", 1), 0);
    cr_assert_eq(brg_store_commit(store), 0);
    cr_assert(brg_store_in_batch(store), "the outer batch is still open");
    cr_assert_eq(append(store, "trade.1.", "b"), 2);
    cr_assert_eq(brg_store_commit(store), 0);
    cr_assert_not(brg_store_in_batch(store));
    cr_assert_eq(brg_store_commit(store), 0, "commit without a batch is a no-op");
    brg_store_destroy(&store);

    store = brg_store_new(dir, err, sizeof err);
    cr_assert_eq(append(store, "trade.1.", "c"), 3);
    uint8_t *data = NULL;
    size_t size = 0;
    cr_assert_eq(brg_store_reply_get(store, "c", "r", &data, &size), 1);
    free(data);
    brg_store_destroy(&store);
}
