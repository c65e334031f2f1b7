/*  brg_store.c - SQLite-backed journal, seq counters and idempotency table (see
    brg_store.h). WAL with synchronous=NORMAL: a crash of the process loses nothing, a power
    loss may lose the last transactions, which replay cannot serve anyway. Statements are
    prepared once; every call runs on the bridge loop thread.
*/
#include "brg_store.h"

#include <czmq.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Idempotency rows are kept two days: the protocol promises at least a trading day. */
#define REPLY_KEEP_SECONDS (2 * 24 * 3600)
/* Journaled events are kept a week (replay serves gaps, not history); heartbeats, which
   nobody replays, an hour. Seq counters live in `topics` and are never pruned. */
#define JOURNAL_KEEP_SECONDS (7 * 24 * 3600)
#define HEARTBEAT_KEEP_SECONDS 3600

struct brg_store {
    sqlite3 *db;
    int batch;  /* depth of brg_store_begin() */
    bool begun; /* the batch's transaction is open: begun lazily at its first write, so a
                   batch of reads (ping, queries) costs no BEGIN/COMMIT */
    uint64_t epoch;
    sqlite3_stmt *get_seq, *set_seq, *append, *scan, *reply_get, *reply_put, *topics;
};

static const char *const schema =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS topics (topic TEXT PRIMARY KEY, last_seq INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS journal (pos INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  topic TEXT NOT NULL, seq INTEGER NOT NULL, time INTEGER NOT NULL, event BLOB NOT NULL);"
    "CREATE INDEX IF NOT EXISTS journal_topic ON journal (topic, seq);"
    "CREATE TABLE IF NOT EXISTS replies (client TEXT NOT NULL, request_id TEXT NOT NULL,"
    "  time INTEGER NOT NULL, reply BLOB NOT NULL, PRIMARY KEY (client, request_id));";

static int prepare(brg_store_t *self, const char *sql, sqlite3_stmt **stmt) {
    return sqlite3_prepare_v3(self->db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL) == SQLITE_OK
               ? 0
               : -1;
}

static int load_epoch(brg_store_t *self) {
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(self->db, "SELECT value FROM meta WHERE key='epoch'", -1, &stmt, NULL) !=
        SQLITE_OK)
        return -1;
    if (sqlite3_step(stmt) == SQLITE_ROW)
        self->epoch = strtoull((const char *)sqlite3_column_text(stmt, 0), NULL, 10);
    sqlite3_finalize(stmt);
    if (self->epoch)
        return 0;
    /* New journal: a fresh random epoch tells clients their old seqs mean nothing here. */
    while (!self->epoch) {
        uint64_t a = (uint64_t)randof(1 << 30), b = (uint64_t)randof(1 << 30);
        self->epoch = ((a << 30) ^ b ^ (uint64_t)time(NULL)) & 0x7fffffffffffffffULL;
    }
    char sql[128];
    snprintf(sql, sizeof sql, "INSERT INTO meta (key, value) VALUES ('epoch', '%llu')",
             (unsigned long long)self->epoch);
    return sqlite3_exec(self->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

brg_store_t *brg_store_new(const char *data_dir, char *err, size_t errlen) {
    if (zsys_dir_create("%s", data_dir)) {
        snprintf(err, errlen, "cannot create data directory '%s'", data_dir);
        return NULL;
    }
    brg_store_t *self = (brg_store_t *)zmalloc(sizeof(brg_store_t));
    char path[4096];
    snprintf(path, sizeof path, "%s/xtbridge.db", data_dir);
    if (sqlite3_open(path, &self->db) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", path, sqlite3_errmsg(self->db));
        brg_store_destroy(&self);
        return NULL;
    }
    sqlite3_busy_timeout(self->db, 2000);
    char sql[512];
    long long now = (long long)time(NULL);
    snprintf(sql, sizeof sql,
             "DELETE FROM replies WHERE time < %lld;"
             "DELETE FROM journal WHERE time < %lld;"
             "DELETE FROM journal WHERE topic = 'heartbeat.' AND time < %lld;",
             now - REPLY_KEEP_SECONDS, now - JOURNAL_KEEP_SECONDS, now - HEARTBEAT_KEEP_SECONDS);
    if (sqlite3_exec(self->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(self->db, sql, NULL, NULL, NULL) != SQLITE_OK || load_epoch(self) ||
        prepare(self, "SELECT last_seq FROM topics WHERE topic=?", &self->get_seq) ||
        prepare(self, "INSERT OR REPLACE INTO topics (topic, last_seq) VALUES (?, ?)",
                &self->set_seq) ||
        prepare(self, "INSERT INTO journal (topic, seq, time, event) VALUES (?, ?, ?, ?)",
                &self->append) ||
        prepare(self,
                "SELECT pos, topic, seq, event FROM journal WHERE pos > ? AND "
                "substr(topic, 1, length(?2)) = ?2 ORDER BY pos",
                &self->scan) ||
        prepare(self, "SELECT reply FROM replies WHERE client=? AND request_id=?",
                &self->reply_get) ||
        prepare(self,
                "INSERT OR REPLACE INTO replies (client, request_id, time, reply) "
                "VALUES (?, ?, ?, ?)",
                &self->reply_put) ||
        /* suffix match on ".<account>." so 1000000365 never picks up 10000003650 */
        prepare(self,
                "SELECT topic, last_seq FROM topics WHERE length(topic) > length(?1) + 1 "
                "AND substr(topic, -length(?1)) = ?1 ORDER BY topic",
                &self->topics)) {
        snprintf(err, errlen, "cannot initialise %s: %s", path, sqlite3_errmsg(self->db));
        brg_store_destroy(&self);
        return NULL;
    }
    return self;
}

void brg_store_destroy(brg_store_t **self_p) {
    if (!self_p || !*self_p)
        return;
    brg_store_t *self = *self_p;
    sqlite3_stmt *stmts[] = {self->get_seq,   self->set_seq,   self->append, self->scan,
                             self->reply_get, self->reply_put, self->topics};
    for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++)
        sqlite3_finalize(stmts[i]);
    sqlite3_close(self->db);
    free(self);
    *self_p = NULL;
}

uint64_t brg_store_epoch(brg_store_t *self) {
    return self->epoch;
}

const char *brg_store_error(brg_store_t *self) {
    return sqlite3_errmsg(self->db);
}

int brg_store_begin(brg_store_t *self) {
    self->batch++;
    return 0;
}

/* Open the batch's transaction before its first write. */
static int begin_writes(brg_store_t *self) {
    if (self->batch == 0 || self->begun)
        return 0;
    if (sqlite3_exec(self->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    self->begun = true;
    return 0;
}

int brg_store_commit(brg_store_t *self) {
    if (self->batch == 0 || --self->batch > 0 || !self->begun)
        return 0;
    self->begun = false;
    if (sqlite3_exec(self->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        return 0;
    sqlite3_exec(self->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

bool brg_store_in_batch(brg_store_t *self) {
    return self->batch > 0;
}

static int step_done(sqlite3_stmt *stmt) {
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    return rc == SQLITE_DONE ? 0 : -1;
}

int brg_store_journal_append(brg_store_t *self, const char *topic, brg_store_pack_fn *pack,
                             void *arg, uint64_t *seq_out, uint8_t **data_out, size_t *size_out) {
    /* A savepoint is its own transaction outside a batch and a nested one inside it, so a
       failed append never takes the rest of the batch with it. */
    if (begin_writes(self) ||
        sqlite3_exec(self->db, "SAVEPOINT append", NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    uint64_t seq = 1;
    sqlite3_bind_text(self->get_seq, 1, topic, -1, SQLITE_STATIC);
    if (sqlite3_step(self->get_seq) == SQLITE_ROW)
        seq = (uint64_t)sqlite3_column_int64(self->get_seq, 0) + 1;
    sqlite3_reset(self->get_seq);

    size_t size = 0;
    uint8_t *data = pack(arg, seq, &size);
    int rc = -1;
    if (data && size) {
        sqlite3_bind_text(self->set_seq, 1, topic, -1, SQLITE_STATIC);
        sqlite3_bind_int64(self->set_seq, 2, (sqlite3_int64)seq);
        sqlite3_bind_text(self->append, 1, topic, -1, SQLITE_STATIC);
        sqlite3_bind_int64(self->append, 2, (sqlite3_int64)seq);
        sqlite3_bind_int64(self->append, 3, (sqlite3_int64)time(NULL));
        sqlite3_bind_blob(self->append, 4, data, (int)size, SQLITE_STATIC);
        if (step_done(self->set_seq) == 0 && step_done(self->append) == 0)
            rc = 0;
    }
    if (rc == 0 && sqlite3_exec(self->db, "RELEASE append", NULL, NULL, NULL) != SQLITE_OK)
        rc = -1;
    if (rc) {
        sqlite3_exec(self->db, "ROLLBACK TO append; RELEASE append", NULL, NULL, NULL);
        free(data);
        return -1;
    }
    *seq_out = seq;
    *data_out = data;
    *size_out = size;
    return 0;
}

int64_t brg_store_journal_scan(brg_store_t *self, const char *prefix, int64_t after_pos,
                               brg_store_event_fn *fn, void *arg) {
    sqlite3_stmt *stmt = self->scan;
    sqlite3_bind_int64(stmt, 1, after_pos);
    sqlite3_bind_text(stmt, 2, prefix ? prefix : "", -1, SQLITE_STATIC);
    int64_t pos = after_pos;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        pos = sqlite3_column_int64(stmt, 0);
        const char *topic = (const char *)sqlite3_column_text(stmt, 1);
        uint64_t seq = (uint64_t)sqlite3_column_int64(stmt, 2);
        const uint8_t *data = (const uint8_t *)sqlite3_column_blob(stmt, 3);
        size_t size = (size_t)sqlite3_column_bytes(stmt, 3);
        if (fn(arg, topic ? topic : "", seq, data, size))
            break;
    }
    int ok = rc == SQLITE_ROW || rc == SQLITE_DONE;
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return ok ? pos : -1;
}

int brg_store_account_topics(brg_store_t *self, const char *account_id, brg_store_topic_fn *fn,
                             void *arg) {
    char suffix[256];
    if (!account_id || !*account_id ||
        snprintf(suffix, sizeof suffix, ".%s.", account_id) >= (int)sizeof suffix)
        return -1;
    sqlite3_bind_text(self->topics, 1, suffix, -1, SQLITE_TRANSIENT);
    int count = 0, rc;
    while ((rc = sqlite3_step(self->topics)) == SQLITE_ROW) {
        fn(arg, (const char *)sqlite3_column_text(self->topics, 0),
           (uint64_t)sqlite3_column_int64(self->topics, 1));
        count++;
    }
    sqlite3_reset(self->topics);
    return rc == SQLITE_DONE ? count : -1;
}

int brg_store_reply_get(brg_store_t *self, const char *client, const char *request_id,
                        uint8_t **data, size_t *size) {
    sqlite3_stmt *stmt = self->reply_get;
    sqlite3_bind_text(stmt, 1, client, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, request_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt), found = 0;
    if (rc == SQLITE_ROW) {
        *size = (size_t)sqlite3_column_bytes(stmt, 0);
        *data = (uint8_t *)malloc(*size ? *size : 1);
        if (*size)
            memcpy(*data, sqlite3_column_blob(stmt, 0), *size);
        found = 1;
    } else if (rc != SQLITE_DONE)
        found = -1;
    sqlite3_reset(stmt);
    return found;
}

int brg_store_reply_put(brg_store_t *self, const char *client, const char *request_id,
                        const uint8_t *data, size_t size) {
    if (begin_writes(self))
        return -1;
    sqlite3_stmt *stmt = self->reply_put;
    sqlite3_bind_text(stmt, 1, client, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, request_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, (sqlite3_int64)time(NULL));
    sqlite3_bind_blob(stmt, 4, data, (int)size, SQLITE_STATIC);
    return step_done(stmt);
}
