/*  test_store.c - unit tests of brg_store (LMDB): per-topic seq from 1 that survives
    reopening, a stable epoch, pull-based journal reads by prefix in publish order (a prefix
    "trade.1000000365." never matches account 10000003650) that resume from an after map,
    the idempotency table, the backend keyspace, atomic batches (a failed batch leaves
    nothing, a full store fails the batch and the store serves on), one process per data
    dir, retention that never lets a seq be reused, and the redo log: batches logged before a
    crash are back after it, a torn last record is not, a failed batch takes only itself
    back, and readers on other threads see checkpoints.
*/
#include <criterion/criterion.h>
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "brg_store.h"
#include "testutil.h"

/* Each test runs in its own worker process: remove that process's data dirs (the store
   reserves its file, so leftovers would cost real disk). */
static void remove_dirs(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'/xtbt-store-%d-*", xtbt_tmpdir(), getpid());
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove test dirs\n");
}
TestSuite(store, .fini = remove_dirs);

static int s_dirs;

static void fresh_dir(char *dir, size_t len) {
    snprintf(dir, len, "%s/xtbt-store-%d-%d", xtbt_tmpdir(), getpid(), ++s_dirs);
    zsys_dir_create("%s", dir);
}

/* A store in a fresh dir, opened with the default options. */
static brg_store_t *open_fresh(char *dir, size_t len) {
    char err[256] = "";
    fresh_dir(dir, len);
    brg_store_t *store = brg_store_new(dir, NULL, err, sizeof err);
    cr_assert_not_null(store, "%s", err);
    return store;
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
    brg_store_t *store = open_fresh(dir, sizeof dir);
    uint64_t epoch = brg_store_epoch(store);
    cr_assert_neq(epoch, 0);
    cr_assert_eq(append(store, "trade.1.", "a"), 1);
    cr_assert_eq(append(store, "trade.1.", "b"), 2);
    cr_assert_eq(append(store, "order.1.", "c"), 1);
    brg_store_destroy(&store);
    cr_assert_null(store);

    store = brg_store_new(dir, NULL, err, sizeof err);
    cr_assert_not_null(store, "%s", err);
    cr_assert_eq(brg_store_epoch(store), epoch);
    cr_assert_eq(append(store, "trade.1.", "d"), 3);
    brg_store_destroy(&store);
}

/* A data dir replaced at once (in the same second) must still get a new epoch, or clients
   could not tell that the journal was reset. */
Test(store, stores_made_in_one_second_get_distinct_epochs) {
    enum { N = 16 };
    uint64_t epochs[N];
    for (int i = 0; i < N; i++) {
        char dir[256], err[256];
        fresh_dir(dir, sizeof dir);
        brg_store_t *store = brg_store_new(dir, NULL, err, sizeof err);
        cr_assert_not_null(store, "%s", err);
        epochs[i] = brg_store_epoch(store);
        cr_assert_neq(epochs[i], 0);
        cr_assert_lt(epochs[i], 1ULL << 63, "epochs stay positive as int64");
        brg_store_destroy(&store);
        for (int j = 0; j < i; j++)
            cr_assert_neq(epochs[i], epochs[j], "stores %d and %d share epoch %llu", j, i,
                          (unsigned long long)epochs[i]);
    }
}

Test(store, data_dir_is_created) {
    char dir[256], nested[300], err[256];
    fresh_dir(dir, sizeof dir);
    snprintf(nested, sizeof nested, "%s/a/b", dir);
    brg_store_t *store = brg_store_new(nested, NULL, err, sizeof err);
    cr_assert_not_null(store, "%s", err);
    brg_store_destroy(&store);
}

typedef struct {
    char seen[32][64];
    int count;
    int stop_after;
} scan_t;

static int collect(void *arg, const char *topic, uint64_t seq, const uint8_t *data, size_t size) {
    scan_t *scan = (scan_t *)arg;
    snprintf(scan->seen[scan->count++], 64, "%s%llu:%.*s", topic, (unsigned long long)seq,
             (int)size, (const char *)data);
    return scan->stop_after && scan->count >= scan->stop_after ? 1 : 0;
}

/* after map for reads: "topic=seq" pairs */
typedef struct {
    const char *topics[8];
    uint64_t seqs[8];
    int n;
} after_t;

static uint64_t after_of(void *arg, const char *topic) {
    after_t *after = (after_t *)arg;
    for (int i = 0; i < after->n; i++)
        if (strcmp(after->topics[i], topic) == 0)
            return after->seqs[i];
    return 0;
}

static int collect_kv(void *arg, const void *key, size_t klen, const void *val, size_t vlen) {
    scan_t *scan = (scan_t *)arg;
    snprintf(scan->seen[scan->count++], 64, "%.*s=%.*s", (int)klen, (const char *)key, (int)vlen,
             (const char *)val);
    return 0;
}

static int count_kv(void *arg, const void *key, size_t klen, const void *val, size_t vlen) {
    (void)key;
    (void)klen;
    (void)val;
    (void)vlen;
    ((scan_t *)arg)->count++;
    return 0;
}

Test(store, read_by_prefix_in_publish_order_and_resume) {
    char dir[256];
    brg_store_t *store = open_fresh(dir, sizeof dir);
    append(store, "trade.1000000365.", "x");
    append(store, "trade.10000003650.", "y");
    append(store, "order.1000000365.", "z");
    append(store, "trade.1000000365.", "w");

    scan_t scan = {0};
    bool more = true;
    cr_assert_eq(
        brg_store_journal_read(store, "trade.1000000365.", NULL, NULL, 10, collect, &scan, &more),
        2);
    cr_assert_not(more);
    cr_assert_str_eq(scan.seen[0], "trade.1000000365.1:x#1");
    cr_assert_str_eq(scan.seen[1], "trade.1000000365.2:w#2");

    scan_t all = {0};
    cr_assert_eq(brg_store_journal_read(store, "trade.", NULL, NULL, 10, collect, &all, &more), 3);
    cr_assert_str_eq(all.seen[0], "trade.1000000365.1:x#1");
    cr_assert_str_eq(all.seen[1], "trade.10000003650.1:y#1");
    cr_assert_str_eq(all.seen[2], "trade.1000000365.2:w#2");

    /* a page of one, then resume with the after map the client now holds */
    scan_t first = {0};
    cr_assert_eq(brg_store_journal_read(store, "", NULL, NULL, 1, collect, &first, &more), 1);
    cr_assert(more);
    cr_assert_str_eq(first.seen[0], "trade.1000000365.1:x#1");
    after_t after = {{"trade.1000000365."}, {1}, 1};
    scan_t rest = {0};
    cr_assert_eq(brg_store_journal_read(store, "", after_of, &after, 10, collect, &rest, &more), 3);
    cr_assert_not(more);
    cr_assert_str_eq(rest.seen[0], "trade.10000003650.1:y#1");
    cr_assert_str_eq(rest.seen[1], "order.1000000365.1:z#1");
    cr_assert_str_eq(rest.seen[2], "trade.1000000365.2:w#2");

    /* nothing after the last seq: an empty page, no more */
    after_t done = {{"trade.1000000365."}, {2}, 1};
    scan_t none = {0};
    cr_assert_eq(brg_store_journal_read(store, "trade.1000000365.", after_of, &done, 10, collect,
                                        &none, &more),
                 0);
    cr_assert_not(more);
    brg_store_destroy(&store);
}

Test(store, paged_read_of_many_topics_visits_each_event_once) {
    char dir[256];
    brg_store_t *store = open_fresh(dir, sizeof dir);
    const char *topics[] = {"order.a.", "trade.a.", "asset.a.", "order.b."};
    cr_assert_eq(brg_store_begin(store), 0);
    for (int i = 0; i < 1000; i++)
        append(store, topics[(i * 7) % 4], "e");
    cr_assert_eq(brg_store_commit(store), 0);
    after_t after = {{topics[0], topics[1], topics[2], topics[3]}, {0, 0, 0, 0}, 4};
    int pages = 0, total = 0;
    bool more = true;
    while (more) {
        scan_t page = {0};
        int n = brg_store_journal_read(store, "", after_of, &after, 16, collect, &page, &more);
        cr_assert(n >= 0 && n <= 16);
        for (int i = 0; i < n; i++) {
            /* each event continues its topic's sequence: nothing lost, nothing twice */
            char topic[64];
            unsigned long long seq;
            cr_assert_eq(sscanf(page.seen[i], "%63[^0-9]%llu:", topic, &seq), 2);
            int t = 0;
            while (strcmp(after.topics[t], topic) != 0)
                t++;
            cr_assert_eq(seq, after.seqs[t] + 1, "%s", page.seen[i]);
            after.seqs[t] = seq;
        }
        total += n;
        pages++;
    }
    cr_assert_eq(total, 1000);
    cr_assert_eq(pages, 63);
    cr_assert_eq(after.seqs[0] + after.seqs[1] + after.seqs[2] + after.seqs[3], 1000);
    brg_store_destroy(&store);
}

Test(store, replies_by_client_and_request_id) {
    char dir[256], err[256];
    brg_store_t *store = open_fresh(dir, sizeof dir);
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

    store = brg_store_new(dir, NULL, err, sizeof err);
    cr_assert_eq(brg_store_reply_get(store, "c1", "r1", &data, &size), 1);
    free(data);
    brg_store_destroy(&store);
}

Test(store, unusable_data_dir_is_an_error) {
    char err[256] = "";
    brg_store_t *store = brg_store_new("/proc/xtbridge-cannot-exist", NULL, err, sizeof err);
    cr_assert_null(store);
    cr_assert(strlen(err) > 0);
}

static void collect_topic(void *arg, const char *topic, uint64_t last_seq) {
    scan_t *scan = (scan_t *)arg;
    snprintf(scan->seen[scan->count++], 64, "%s=%llu", topic, (unsigned long long)last_seq);
}

Test(store, account_topics_match_the_exact_account) {
    char dir[256];
    brg_store_t *store = open_fresh(dir, sizeof dir);
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
    brg_store_t *store = open_fresh(dir, sizeof dir);
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

    store = brg_store_new(dir, NULL, err, sizeof err);
    cr_assert_eq(append(store, "trade.1.", "c"), 3);
    uint8_t *data = NULL;
    size_t size = 0;
    cr_assert_eq(brg_store_reply_get(store, "c", "r", &data, &size), 1);
    free(data);
    brg_store_destroy(&store);
}

Test(store, state_keyspace_puts_gets_scans_and_deletes) {
    char dir[256], err[256];
    brg_store_t *store = open_fresh(dir, sizeof dir);
    cr_assert_eq(brg_store_state_put(store, "o/2", 3, "two", 3), 0);
    cr_assert_eq(brg_store_state_put(store, "o/1", 3, "one", 3), 0);
    cr_assert_eq(brg_store_state_put(store, "p/1", 3, "pos", 3), 0);
    uint8_t *val = NULL;
    size_t vlen = 0;
    cr_assert_eq(brg_store_state_get(store, "o/1", 3, &val, &vlen), 1);
    cr_assert_eq(vlen, 3);
    cr_assert_eq(memcmp(val, "one", 3), 0);
    free(val);
    scan_t scan = {0};
    cr_assert_eq(brg_store_state_scan(store, "o/", 2, collect_kv, &scan), 2);
    cr_assert_str_eq(scan.seen[0], "o/1=one");
    cr_assert_str_eq(scan.seen[1], "o/2=two");
    cr_assert_eq(brg_store_state_del(store, "o/1", 3), 0);
    brg_store_destroy(&store);
    store = brg_store_new(dir, NULL, err, sizeof err);
    cr_assert_eq(brg_store_state_get(store, "o/1", 3, &val, &vlen), 0);
    scan_t again = {0};
    cr_assert_eq(brg_store_state_scan(store, "", 0, collect_kv, &again), 2);
    cr_assert_str_eq(again.seen[0], "o/2=two");
    cr_assert_str_eq(again.seen[1], "p/1=pos");
    brg_store_destroy(&store);
}

Test(store, a_failed_batch_leaves_nothing_and_takes_no_seq) {
    char dir[256];
    brg_store_t *store = open_fresh(dir, sizeof dir);
    cr_assert_eq(append(store, "order.a.", "1"), 1);
    brg_store_begin(store);
    cr_assert_eq(append(store, "order.a.", "2"), 2);
    cr_assert_eq(brg_store_state_put(store, "k", 1, "v", 1), 0);
    cr_assert_eq(brg_store_reply_put(store, "c", "r", (const uint8_t *)"x", 1), 0);
    cr_assert(brg_store_batch_dirty(store));
    brg_store_fail_batch(store, "backend could not write its state");
    cr_assert_eq(brg_store_commit(store), -1);
    cr_assert_str_eq(brg_store_error(store), "backend could not write its state");
    cr_assert_eq(brg_store_failures(store), 1);
    uint8_t *data = NULL;
    size_t size = 0;
    cr_assert_eq(brg_store_state_get(store, "k", 1, &data, &size), 0);
    cr_assert_eq(brg_store_reply_get(store, "c", "r", &data, &size), 0);
    cr_assert_eq(brg_store_journal_count(store), 1);
    /* the seq of the rolled-back event is taken again, never skipped or reused */
    cr_assert_eq(append(store, "order.a.", "2b"), 2);
    scan_t scan = {0};
    bool more;
    cr_assert_eq(brg_store_journal_read(store, "", NULL, NULL, 10, collect, &scan, &more), 2);
    cr_assert_str_eq(scan.seen[1], "order.a.2:2b#2");
    brg_store_destroy(&store);
}

Test(store, full_store_fails_the_batch_and_serves_on) {
    char dir[256], err[256];
    fresh_dir(dir, sizeof dir);
    brg_store_opts_t opts;
    brg_store_opts_default(&opts);
    opts.max_mb = 1;
    brg_store_t *store = brg_store_new(dir, &opts, err, sizeof err);
    cr_assert_not_null(store, "%s", err);
    char blob[2000];
    memset(blob, 'b', sizeof blob);
    int committed = 0, failed = 0;
    for (int i = 0; i < 2000 && !failed; i++) {
        char key[32];
        int klen = snprintf(key, sizeof key, "blob/%06d", i);
        brg_store_begin(store);
        brg_store_state_put(store, key, (size_t)klen, blob, sizeof blob);
        append(store, "order.a.", "x");
        if (brg_store_commit(store) == 0)
            committed++;
        else
            failed++;
    }
    cr_assert_eq(failed, 1, "1 MiB cannot hold 2000 batches of 2 kB");
    cr_assert(strstr(brg_store_error(store), "store is full"), "%s", brg_store_error(store));
    /* reads still work, and every committed batch is whole */
    cr_assert_eq((int)brg_store_journal_count(store), committed);
    scan_t scan = {0};
    cr_assert_eq(brg_store_state_scan(store, "blob/", 5, count_kv, &scan), committed);
    brg_store_destroy(&store);
    store = brg_store_new(dir, &opts, err, sizeof err);
    cr_assert_not_null(store, "%s", err);
    cr_assert_eq((int)brg_store_journal_count(store), committed);
    brg_store_destroy(&store);
}

Test(store, one_process_per_data_dir) {
    char dir[256], err[256] = "";
    brg_store_t *store = open_fresh(dir, sizeof dir);
    /* flock is per open file description: a second open in this process is refused too */
    brg_store_t *second = brg_store_new(dir, NULL, err, sizeof err);
    cr_assert_null(second);
    cr_assert(strstr(err, "another xtbridge") && strstr(err, dir), "%s", err);
    brg_store_destroy(&store);
    second = brg_store_new(dir, NULL, err, sizeof err);
    cr_assert_not_null(second, "free again once the first is closed: %s", err);
    brg_store_destroy(&second);
}

Test(store, retention_prunes_old_events_and_replies_but_never_seqs) {
    char dir[256];
    brg_store_t *store = open_fresh(dir, sizeof dir);
    append(store, "order.a.", "1");
    append(store, "heartbeat.", "h");
    append(store, "order.a.", "2");
    cr_assert_eq(brg_store_reply_put(store, "c", "r", (const uint8_t *)"x", 1), 0);
    int64_t now = (int64_t)time(NULL);
    cr_assert_eq(brg_store_prune(store, now, 1000), 0, "nothing is old yet");
    /* two hours later: the heartbeat is gone, orders and the reply stay */
    int64_t pruned = brg_store_prune(store, now + 2 * 3600, 1000);
    cr_assert_eq(pruned, 1, "pruned %lld: %s", (long long)pruned, brg_store_error(store));
    cr_assert_eq(brg_store_journal_count(store), 2);
    uint8_t *data = NULL;
    size_t size = 0;
    cr_assert_eq(brg_store_reply_get(store, "c", "r", &data, &size), 1);
    free(data);
    /* three days: the reply is gone; eight days: the events too */
    cr_assert_eq(brg_store_prune(store, now + 3 * 24 * 3600, 1000), 1);
    cr_assert_eq(brg_store_reply_get(store, "c", "r", &data, &size), 0);
    cr_assert_eq(brg_store_prune(store, now + 8 * 24 * 3600, 1), 1, "the budget bounds a pass");
    cr_assert_eq(brg_store_prune(store, now + 8 * 24 * 3600, 1000), 1);
    cr_assert_eq(brg_store_journal_count(store), 0);
    cr_assert_eq(brg_store_pruned(store), 4);
    bool more;
    scan_t scan = {0};
    cr_assert_eq(brg_store_journal_read(store, "", NULL, NULL, 10, collect, &scan, &more), 0);
    cr_assert_eq(append(store, "order.a.", "3"), 3, "seq counters outlive their events");
    cr_assert_eq(append(store, "heartbeat.", "h"), 2);
    brg_store_destroy(&store);
}

Test(store, long_idempotency_keys_are_kept_apart) {
    char dir[256];
    brg_store_t *store = open_fresh(dir, sizeof dir);
    char a[1200], b[1200];
    memset(a, 'r', sizeof a - 1);
    a[sizeof a - 1] = 0;
    memcpy(b, a, sizeof b);
    b[1000] = 's'; /* differs far past the kept prefix */
    cr_assert_eq(brg_store_reply_put(store, "client", a, (const uint8_t *)"A", 1), 0);
    uint8_t *data = NULL;
    size_t size = 0;
    cr_assert_eq(brg_store_reply_get(store, "client", b, &data, &size), 0);
    cr_assert_eq(brg_store_reply_get(store, "client", a, &data, &size), 1);
    cr_assert_eq(data[0], 'A');
    free(data);
    brg_store_destroy(&store);
}

/* The map starts at 16 MiB of reserved file and grows as the store fills: writing 40 MiB
   into a store limited to 64 MiB never fails, and the file is reserved, not sparse. */
Test(store, map_grows_with_reserved_file_up_to_the_limit) {
    char dir[256], err[256], file[300];
    fresh_dir(dir, sizeof dir);
    brg_store_opts_t opts;
    brg_store_opts_default(&opts);
    opts.max_mb = 64;
    brg_store_t *store = brg_store_new(dir, &opts, err, sizeof err);
    cr_assert_not_null(store, "%s", err);
    snprintf(file, sizeof file, "%s/data.mdb", dir);
    struct stat st;
    cr_assert_eq(stat(file, &st), 0);
    cr_assert_eq(st.st_size, 16 << 20);
    cr_assert_geq((int64_t)st.st_blocks * 512, 16 << 20, "reserved, not a sparse hole");
    static char blob[100000];
    memset(blob, 'g', sizeof blob);
    for (int i = 0; i < 400; i++) {
        char key[32];
        int klen = snprintf(key, sizeof key, "g/%04d", i);
        brg_store_begin(store);
        brg_store_state_put(store, key, (size_t)klen, blob, sizeof blob);
        cr_assert_eq(brg_store_commit(store), 0, "batch %d: %s", i, brg_store_error(store));
    }
    cr_assert_eq(stat(file, &st), 0);
    cr_assert_eq(st.st_size, 64 << 20);
    cr_assert_geq((int64_t)st.st_blocks * 512, 64 << 20);
    brg_store_destroy(&store);
    store = brg_store_new(dir, &opts, err, sizeof err);
    cr_assert_not_null(store, "%s", err);
    scan_t scan = {0};
    cr_assert_eq(brg_store_state_scan(store, "g/", 2, count_kv, &scan), 400);
    brg_store_destroy(&store);
}

/* --- the redo log ------------------------------------------------------------------- */

/* One batch as the bridge makes them: a book row, an event, an idempotency row. */
static void write_batch(brg_store_t *store, int i) {
    char key[32], val[32], rid[32];
    int klen = snprintf(key, sizeof key, "o/%06d", i);
    int vlen = snprintf(val, sizeof val, "order %d", i);
    snprintf(rid, sizeof rid, "r%d", i);
    brg_store_begin(store);
    cr_assert_eq(brg_store_state_put(store, key, (size_t)klen, val, (size_t)vlen), 0);
    append(store, "order.a.", val);
    cr_assert_eq(brg_store_reply_put(store, "c", rid, (const uint8_t *)val, (size_t)vlen), 0);
    cr_assert_eq(brg_store_commit(store), 0, "batch %d: %s", i, brg_store_error(store));
    /* as the router does after the replies: the applier thread takes the B-tree puts */
    cr_assert_eq(brg_store_handoff(store), 0, "batch %d: %s", i, brg_store_error(store));
}

/* The store as a process that dies leaves it: `n` batches committed, a checkpoint after
   `checkpoint_at` of them (0: none), no brg_store_destroy. Runs in a child process. */
static void die_after_batches(const char *dir, int n, int checkpoint_at,
                              brg_durability_t durability) {
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        char err[256];
        brg_store_opts_t opts;
        brg_store_opts_default(&opts);
        opts.durability = durability;
        brg_store_t *store = brg_store_new(dir, &opts, err, sizeof err);
        if (!store)
            _exit(3);
        for (int i = 1; i <= n; i++) {
            write_batch(store, i);
            if (i == checkpoint_at &&
                (brg_store_checkpoint(store) || brg_store_checkpoints(store) != 1))
                _exit(4);
        }
        _exit(0); /* no destroy, no checkpoint: what was logged must be enough */
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
}

/* What a reopened store holds: n batches, each whole, and the seq goes on after them. */
static void expect_batches(const char *dir, int n) {
    char err[256];
    brg_store_t *store = brg_store_new(dir, NULL, err, sizeof err);
    cr_assert_not_null(store, "%s", err);
    cr_assert_eq((int)brg_store_journal_count(store), n);
    scan_t scan = {0};
    cr_assert_eq(brg_store_state_scan(store, "o/", 2, count_kv, &scan), n);
    for (int i = 1; i <= n + 1; i++) {
        char rid[32];
        snprintf(rid, sizeof rid, "r%d", i);
        uint8_t *data = NULL;
        size_t size = 0;
        cr_assert_eq(brg_store_reply_get(store, "c", rid, &data, &size), i <= n ? 1 : 0, "r%d", i);
        free(data);
    }
    cr_assert_eq(append(store, "order.a.", "next"), (uint64_t)n + 1);
    brg_store_destroy(&store);
}

/* A fresh store whose writer dies after n batches (see die_after_batches) has them all
   when reopened. */
static void crash_and_reopen(int n, int checkpoint_at, brg_durability_t durability) {
    char dir[256];
    fresh_dir(dir, sizeof dir);
    die_after_batches(dir, n, checkpoint_at, durability);
    expect_batches(dir, n);
}

Test(store, batches_logged_before_a_crash_are_back_after_it) {
    crash_and_reopen(300, 0, BRG_DURABILITY_PROCESS);
    /* a checkpoint in the middle, the rest only in the log */
    crash_and_reopen(300, 120, BRG_DURABILITY_PROCESS);
    /* enough batches that the deferred writes are applied on the way (PEND_MAX) */
    crash_and_reopen(4000, 0, BRG_DURABILITY_PROCESS);
    /* power: each record synced (msync), the checkpoint synced too */
    crash_and_reopen(40, 25, BRG_DURABILITY_POWER);
}

/* A record the process was writing when it died (or a torn page) fails its checksum: the
   batches before it are back, it and anything after it are not. */
Test(store, a_torn_last_record_is_not_replayed) {
    char dir[256], path[300];
    fresh_dir(dir, sizeof dir);
    die_after_batches(dir, 50, 0, BRG_DURABILITY_PROCESS);
    snprintf(path, sizeof path, "%s/data.wal", dir);
    FILE *f = fopen(path, "r+b");
    cr_assert_not_null(f);
    /* walk the records: 32-byte header (u32 magic, u32 size, ...), payload padded to 8 */
    long at = 0, last = -1;
    for (int i = 0; i < 50; i++) {
        uint32_t head[2];
        cr_assert_eq(fseek(f, at, SEEK_SET), 0);
        cr_assert_eq(fread(head, 4, 2, f), 2);
        cr_assert_eq(head[0], 0x314c4157u, "record %d has the log's magic", i);
        last = at;
        at += 32 + (long)((head[1] + 7) & ~7u);
    }
    cr_assert_eq(fseek(f, last + 40, SEEK_SET), 0); /* a payload byte of record 50 */
    int c = fgetc(f);
    cr_assert_eq(fseek(f, last + 40, SEEK_SET), 0);
    fputc(c ^ 0x5a, f);
    fclose(f);
    expect_batches(dir, 49);
}

/* Journal, seq-counter and book writes are applied to LMDB late (at a read of them or a
   checkpoint): a batch still reads its own writes at once. */
Test(store, a_batch_reads_its_deferred_writes) {
    char dir[256];
    brg_store_t *store = open_fresh(dir, sizeof dir);
    brg_store_begin(store);
    cr_assert_eq(brg_store_state_put(store, "k/1", 3, "one", 3), 0);
    uint8_t *val = NULL;
    size_t vlen = 0;
    cr_assert_eq(brg_store_state_get(store, "k/1", 3, &val, &vlen), 1);
    cr_assert(vlen == 3 && memcmp(val, "one", 3) == 0);
    free(val);
    cr_assert_eq(brg_store_state_del(store, "k/1", 3), 0);
    cr_assert_eq(brg_store_state_put(store, "k/2", 3, "two", 3), 0);
    cr_assert_eq(brg_store_state_get(store, "k/1", 3, &val, &vlen), 0, "deleted in order");
    append(store, "order.a.", "x");
    append(store, "order.a.", "y");
    bool more = false;
    scan_t scan = {0};
    cr_assert_eq(brg_store_journal_read(store, "order.", NULL, NULL, 10, collect, &scan, &more), 2);
    cr_assert_str_eq(scan.seen[1], "order.a.2:y#2");
    cr_assert_eq(brg_store_commit(store), 0);
    /* after the commit (logged, not yet checkpointed) and after a checkpoint */
    scan_t kv = {0};
    cr_assert_eq(brg_store_state_scan(store, "k/", 2, collect_kv, &kv), 1);
    cr_assert_str_eq(kv.seen[0], "k/2=two");
    cr_assert_eq(brg_store_checkpoint(store), 0);
    cr_assert_eq(brg_store_state_get(store, "k/2", 3, &val, &vlen), 1);
    free(val);
    brg_store_destroy(&store);
}

/* A batch that fails after others were logged (and not yet checkpointed) takes only
   itself back. */
Test(store, a_failed_batch_leaves_the_logged_ones_before_it) {
    char dir[256];
    brg_store_t *store = open_fresh(dir, sizeof dir);
    for (int i = 1; i <= 3; i++)
        write_batch(store, i);
    brg_store_begin(store);
    cr_assert_eq(brg_store_state_put(store, "o/bad", 5, "x", 1), 0);
    append(store, "order.a.", "bad");
    brg_store_fail_batch(store, "the backend said no");
    cr_assert_eq(brg_store_commit(store), -1);
    cr_assert_str_eq(brg_store_error(store), "the backend said no");
    uint8_t *data = NULL;
    size_t size = 0;
    cr_assert_eq(brg_store_state_get(store, "o/bad", 5, &data, &size), 0);
    cr_assert_eq(brg_store_state_get(store, "o/000003", 8, &data, &size), 1);
    cr_assert_eq(size, 7);
    cr_assert_eq(memcmp(data, "order 3", 7), 0);
    free(data);
    cr_assert_eq((int)brg_store_journal_count(store), 3);
    write_batch(store, 4); /* takes seq 4: the failed batch's seq was never taken */
    brg_store_destroy(&store);
    expect_batches(dir, 4);
}

static int count_event(void *arg, const char *topic, uint64_t seq, const uint8_t *data,
                       size_t size) {
    (void)topic;
    (void)seq;
    (void)data;
    (void)size;
    ((scan_t *)arg)->count++;
    return 0;
}

/* Readers on other threads see checkpoints; the loop's own reads see every logged batch. */
Test(store, other_threads_see_batches_at_the_checkpoint) {
    char dir[256];
    brg_store_t *store = open_fresh(dir, sizeof dir);
    for (int i = 1; i <= 5; i++)
        write_batch(store, i);
    bool more = false;
    scan_t loop = {0}, other = {0};
    cr_assert_eq(brg_store_journal_read(store, "", NULL, NULL, 100, count_event, &loop, &more), 5);
    cr_assert_eq(brg_store_journal_read_mt(store, "", NULL, NULL, 100, count_event, &other, &more),
                 0);
    cr_assert_eq(brg_store_checkpoints(store), 0);
    cr_assert_eq(brg_store_checkpoint(store), 0);
    cr_assert_eq(brg_store_checkpoints(store), 1);
    cr_assert_eq(brg_store_checkpoint(store), 0, "nothing new: no-op");
    cr_assert_eq(brg_store_checkpoints(store), 1);
    other.count = 0;
    cr_assert_eq(brg_store_journal_read_mt(store, "", NULL, NULL, 100, count_event, &other, &more),
                 5);
    /* inside a batch a checkpoint waits */
    brg_store_begin(store);
    cr_assert_eq(brg_store_state_put(store, "o/x", 3, "x", 1), 0);
    cr_assert_eq(brg_store_checkpoint(store), 0);
    cr_assert_eq(brg_store_checkpoints(store), 1);
    cr_assert_eq(brg_store_commit(store), 0);
    brg_store_destroy(&store);
}

static int reply_found(brg_store_t *store, const char *rid, const char *want) {
    uint8_t *data = NULL;
    size_t size = 0;
    int found = brg_store_reply_get(store, "c", rid, &data, &size);
    if (found == 1)
        cr_assert(size == strlen(want) && memcmp(data, want, size) == 0, "%s: %.*s", rid, (int)size,
                  (const char *)data);
    free(data);
    return found;
}

/* Idempotency rows are read from memory until LMDB commits them (the write transaction
   may be the applier's): a row is there from its own batch on, through handoffs and
   checkpoints, and a failed batch takes its rows with it. */
Test(store, an_idempotency_row_lives_and_dies_with_its_batch) {
    char dir[256], err[256];
    brg_store_t *store = open_fresh(dir, sizeof dir);
    brg_store_begin(store);
    cr_assert_eq(brg_store_reply_put(store, "c", "kept", (const uint8_t *)"one", 3), 0);
    cr_assert_eq(reply_found(store, "kept", "one"), 1, "its own batch sees it");
    cr_assert_eq(brg_store_commit(store), 0);
    brg_store_begin(store);
    cr_assert_eq(brg_store_reply_put(store, "c", "void", (const uint8_t *)"two", 3), 0);
    cr_assert_eq(reply_found(store, "void", "two"), 1);
    brg_store_fail_batch(store, "the backend said no");
    cr_assert_eq(brg_store_commit(store), -1);
    cr_assert_eq(reply_found(store, "void", ""), 0, "gone with its batch");
    cr_assert_eq(reply_found(store, "kept", "one"), 1, "the logged batch before it stays");
    cr_assert_eq(brg_store_handoff(store), 0);
    cr_assert_eq(brg_store_checkpoint(store), 0);
    cr_assert_eq(reply_found(store, "kept", "one"), 1, "from LMDB after the checkpoint");
    /* a row after the checkpoint, then all of them after a reopen */
    brg_store_begin(store);
    cr_assert_eq(brg_store_reply_put(store, "c", "late", (const uint8_t *)"three", 5), 0);
    cr_assert_eq(brg_store_commit(store), 0);
    cr_assert_eq(reply_found(store, "late", "three"), 1);
    brg_store_destroy(&store);
    store = brg_store_new(dir, NULL, err, sizeof err);
    cr_assert_not_null(store, "%s", err);
    cr_assert_eq(reply_found(store, "kept", "one"), 1);
    cr_assert_eq(reply_found(store, "late", "three"), 1);
    cr_assert_eq(reply_found(store, "void", ""), 0);
    brg_store_destroy(&store);
}

/* The applier thread puts batches into the B-tree while the loop goes on writing and
   reading: every read sees every batch before it, the handoffs never lose or reorder a
   write, and the whole is there after a reopen. */
Test(store, the_loop_reads_every_batch_while_the_applier_puts_them) {
    char dir[256];
    brg_store_t *store = open_fresh(dir, sizeof dir);
    enum { N = 3000 };
    for (int i = 1; i <= N; i++) {
        write_batch(store, i);
        if (i % 97 == 0) {
            /* the newest batch (in memory), an old one (applied or committed), its book row */
            char rid[32], want[32], key[32];
            snprintf(rid, sizeof rid, "r%d", i);
            snprintf(want, sizeof want, "order %d", i);
            cr_assert_eq(reply_found(store, rid, want), 1);
            snprintf(rid, sizeof rid, "r%d", i / 2);
            snprintf(want, sizeof want, "order %d", i / 2);
            cr_assert_eq(reply_found(store, rid, want), 1);
            int klen = snprintf(key, sizeof key, "o/%06d", i);
            uint8_t *val = NULL;
            size_t vlen = 0;
            cr_assert_eq(brg_store_state_get(store, key, (size_t)klen, &val, &vlen), 1, "%s", key);
            free(val);
            scan_t scan = {0};
            bool more = true;
            cr_assert_eq(brg_store_journal_read(store, "order.", NULL, NULL, (size_t)N, count_event,
                                                &scan, &more),
                         i);
        }
        if (i % 1000 == 0)
            cr_assert_eq(brg_store_checkpoint(store), 0, "%s", brg_store_error(store));
    }
    cr_assert_gt(brg_store_handoffs(store), 10, "the applier did the puts: %llu runs",
                 (unsigned long long)brg_store_handoffs(store));
    cr_assert_eq(brg_store_checkpoint(store), 0);
    scan_t other = {0};
    bool more = true;
    cr_assert_eq(
        brg_store_journal_read_mt(store, "", NULL, NULL, (size_t)N, count_event, &other, &more), N,
        "a reader on another thread sees all of it after the checkpoint");
    brg_store_destroy(&store);
    expect_batches(dir, N);
}
