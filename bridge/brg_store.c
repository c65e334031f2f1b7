/*  brg_store.c - the durable store on LMDB (see brg_store.h for what it holds and why).

    Layout, one LMDB environment (data.mdb + lock.mdb in --data), named databases:
      meta       "epoch" -> u64; "wal" -> u64 the last batch the committed state holds
      topics     topic -> u64 last seq                  (never pruned: seq is never reused)
      journal    topic '\0' u64 seq (big-endian) -> [u64 pos][u64 time s][event]
      replies    idempotency key -> [u64 time s][packed Reply]
      state      backend keys -> backend values
    plus the redo log data.wal (brg_wal).

    The commit path. A batch's writes go into one long-lived LMDB write transaction and,
    as they are made, into the batch's redo record (db, put/del, key, value). Committing
    the batch appends that record to the mapped redo log: a copy into memory the OS keeps
    if the process dies (`power` syncs its pages). Every few milliseconds, and when the
    log is half full, a checkpoint commits the LMDB transaction (recording the last batch
    number in meta "wal") and empties the log. Why: a commit per batch copy-on-writes every
    page the batch touches (~10 for an order) and flips a meta page; inside the long
    transaction a page is copied once per checkpoint, shared by hundreds of batches.
    On open, the records after meta "wal" are applied again (a crash lost only the LMDB
    transaction, never a logged batch). A write's B-tree put comes later (`pend`): a reply
    waits for the record copy, not for the puts. Under pipelined load the applier thread
    makes them, in runs handed over every PEND_KICK bytes (brg_store_handoff after a
    pipelined batch's replies, or along a batch that passes PEND_KICK), while the loop goes
    on; a read of the transaction, a checkpoint and a failure wait for it first
    (applier_join). Otherwise the checkpoint applies them on the loop. Idempotency rows,
    looked up by every request, are read from memory until LMDB has committed them (the
    overlay), then from the committed state: that lookup never waits for the applier.

    A batch that fails (a write error, a full store, a caller's brg_store_fail_batch) must
    leave no trace, but LMDB can only abort the whole transaction: so it is aborted and
    rebuilt from the log (the batches since the checkpoint), then checkpointed. Readers on
    other threads see checkpoints only.

    The journal is keyed by (topic, seq): one B-tree put per event, and a replay page is a
    merge of per-topic cursors by `pos` (the global publish order kept in each record).
    Seq counters are cached in memory and written once per commit per topic, not once per
    event; a rolled-back batch drops the cache, which reloads from the table.

    MDB_WRITEMAP writes pages straight into the shared map, so a commit without sync costs
    no system call at all. Its danger is a sparse file: a page written into a hole when the
    disk is full raises SIGBUS. So the map never covers a hole: the file is reserved
    (posix_fallocate; brg_compat_reserve) and the map is only as large as the reserved part.
    After a checkpoint that leaves less than a quarter of it free, the store reserves more
    (doubling, up to --store-max-mb). A write that finds the map full commits the batches
    before it (their pages are reusable only after a commit) or grows the map, and goes
    on; when neither is possible the batch fails cleanly with "store is full".
*/
#include "brg_store.h"

#include "brg_compat.h"
#include "brg_log.h"
#include "brg_wal.h"

#include <czmq.h>
#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Longest idempotency key kept verbatim; longer ones keep a prefix and a hash of the
   whole (LMDB keys are limited to 511 bytes). */
#define IDEM_KEY_MAX 400
#define JOURNAL_HEADER 16 /* pos, time */
/* The first reservation of the data file; it doubles as the store fills. */
#define INITIAL_MAP_BYTES ((size_t)16 << 20)
/* The redo log's file; a checkpoint comes at the latest when half of it is used. */
#define WAL_BYTES ((size_t)16 << 20)
/* When this many bytes or writes wait for the B-tree (~85 orders; ~1,000 deletes of a
   day close, whose keys are spread over the tree and cost ~1.7 us each), the loop waits
   for a busy applier before it hands them over. Memory stays bounded, and so does what
   the loop may wait for (the applier's run, then at a checkpoint the rest: ~2 ms each at
   most; with 2,048 a day close's slice waited 11 ms). */
#define PEND_MAX ((size_t)128 << 10)
#define PEND_MAX_OPS 1024
/* Without hand-overs (requests one at a time: the checkpoint applies what waits, in the
   gaps between them) the loop applies the writes itself when twice that waits. Not the
   applier: in this mode it would run on the CPU of the client waiting for its reply,
   and delay that client's wake-up (sync p99 of filling orders 1.3x -> 6-8x). */
#define PEND_LIMIT (2 * PEND_MAX)
#define PEND_LIMIT_OPS (2 * PEND_MAX_OPS)
/* Deferred writes go to an idle applier in runs of at least this many bytes (~25
   filling orders) or writes (a day close's deletes are small): a hand-over costs a
   wake-up and the run's cursors. */
#define PEND_KICK ((size_t)32 << 10)
#define PEND_KICK_OPS 256
/* Free map below which a store that cannot grow commits LMDB at every batch: room for what
   the batches between two checkpoints may touch, with a wide margin. */
#define TIGHT_FREE (4 * WAL_BYTES)

/* The tables, as a redo record names them. */
enum { DB_META, DB_TOPICS, DB_JOURNAL, DB_REPLIES, DB_STATE, DB_COUNT };
enum { OP_PUT = 1, OP_DEL = 2 };
/* A redo record is a run of ops: this header, the key, the value. */
typedef struct {
    uint8_t db, kind;
    uint16_t klen;
    uint32_t vlen;
} op_t;

#define SEQ_CACHE 64

/* A topic's last seq as the open transaction sees it. */
typedef struct seq_entry {
    char topic[256];
    size_t tlen;
    uint64_t seq;
    bool dirty;
    struct seq_entry *next_dirty; /* the dirty list: no allocation per batch and topic */
} seq_entry_t;

struct brg_store {
    MDB_env *env;
    MDB_dbi dbis[DB_COUNT]; /* the tables, by DB_* */
    /* retention sweeps the idempotency rows a slice at a time from here ("" = start): no
       time index, so a request writes one row, not two */
    char sweep_key[IDEM_KEY_MAX + 32];
    size_t sweep_len;
    MDB_txn *wtxn; /* the long-lived write transaction: batches since the checkpoint */
    MDB_txn *rtxn; /* reused read transaction, reset between reads */
    int batch;     /* depth of brg_store_begin() */
    bool failed;   /* a write of the open batch failed: the batch cannot commit */
    bool dirty;    /* the open batch (or one call) has begun writing */
    bool broken;   /* the transaction could not be rebuilt from the log: restart needed */
    bool tight;    /* the map cannot grow and is nearly full: each batch commits LMDB */
    brg_wal_t *wal;
    uint8_t *log; /* the open batch's redo record */
    size_t log_len, log_cap, last_op;
    /* logged writes not yet applied to the transaction, in order: handed to the applier
       every PEND_KICK bytes, applied before a read of the transaction and at a checkpoint */
    uint8_t *pend;
    size_t pend_len, pend_cap, pend_ops;
    /* The applier thread: it puts a handed-over run of writes (job) into the write
       transaction while the loop goes on. The loop touches the transaction only when the
       applier is idle (applier_join()); the transaction begins and ends on the loop. */
    pthread_t applier;
    bool applier_started;
    pthread_mutex_t job_lock;
    pthread_cond_t job_cond, done_cond;
    uint8_t *job;
    size_t job_len, job_cap;
    bool job_stop;
    int job_busy;      /* atomic: a job is handed over and not finished */
    int job_rc;        /* the LMDB error of the last job, 0 */
    uint64_t handoffs; /* runs handed to the applier */
    /* Idempotency rows written since the last LMDB commit (the overlay): reply_get looks
       here, then in the committed state, and never needs the write transaction the
       applier may be using. An arena of ov_row_t + key + value; rows of the open batch
       start at ov_open. ov_slots: open addressing, arena offset + 1, 0 = free. */
    uint8_t *ov;
    size_t ov_len, ov_cap, ov_open;
    uint32_t *ov_slots;
    size_t ov_size, ov_count;
    uint64_t reply_cut;  /* retention's last cut: an older row counts as pruned */
    uint64_t wal_batch;  /* number of the last batch committed (logged) */
    uint64_t ckpt_batch; /* the last batch that LMDB's committed state holds */
    uint64_t checkpoints;
    size_t period_bytes; /* logged since the last checkpoint: how fast the map fills */
    brg_store_opts_t opts;
    uint64_t epoch;
    uint64_t next_pos, saved_next_pos;
    uint64_t count, saved_count;       /* events in the journal */
    zhash_t *seqs;                     /* topic -> seq_entry_t: last seq, written at commit */
    seq_entry_t *dirty_seqs;           /* changed in the open transaction, newest first */
    seq_entry_t *seq_cache[SEQ_CACHE]; /* in front of seqs, by seq_slot: the few topics
                                          of an order's pushes skip zhash's string hash */
    uint64_t commits, failures, pruned;
    brg_compat_lock_t *lock; /* the data dir's xtbridge.lock */
    size_t map_bytes;        /* current map size = the reserved part of the data file */
    size_t max_bytes;        /* --store-max-mb */
    bool no_space;           /* the last reservation failed: the disk is full */
    /* Readers on other threads (brg_store_journal_read_mt) hold it shared while their
       transaction is open; map_grow holds it exclusive, as mdb_env_set_mapsize wants no
       transaction active in the process. */
    pthread_rwlock_t resize_lock;
    char error[512];
};

void brg_store_opts_default(brg_store_opts_t *opts) {
    opts->durability = BRG_DURABILITY_PROCESS;
    opts->max_mb = 4096;
    opts->retention_s = 7 * 24 * 3600;
    opts->heartbeat_retention_s = 3600;
    opts->reply_retention_s = 2 * 24 * 3600;
}

static void set_error(brg_store_t *self, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_error(brg_store_t *self, const char *fmt, ...) {
    /* the first cause of a failed batch is the one to report: once a write has failed,
       later reads of the same transaction fail too (MDB_BAD_TXN) and say less */
    if (self->failed)
        return;
    va_list args;
    va_start(args, fmt);
    vsnprintf(self->error, sizeof self->error, fmt, args);
    va_end(args);
}

/* An LMDB error in words a user can act on. */
static const char *lmdb_text(int rc) {
    if (rc == MDB_MAP_FULL)
        return "store is full (its size limit --store-max-mb is reached, or the disk has no "
               "space to grow it)";
    if (rc == ENOSPC)
        return "no space left on device";
    return mdb_strerror(rc);
}

static void put_be64(uint8_t *p, uint64_t v) {
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get_u64(const void *p) {
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* topic '\0' seq(BE): a journal key; returns its length. buf holds >= topic + 9 bytes. */
static size_t index_key(uint8_t *buf, const char *topic, size_t tlen, uint64_t seq) {
    memcpy(buf, topic, tlen);
    buf[tlen] = 0;
    put_be64(buf + tlen + 1, seq);
    return tlen + 9;
}

/* --- transactions ------------------------------------------------------------------ */

static void map_check(brg_store_t *self);
static int map_grow_step(brg_store_t *self);
static int pend_apply(brg_store_t *self);
static int applier_join(brg_store_t *self);
static void ov_keep(brg_store_t *self, size_t from, size_t to);

static int now_txn_begin(brg_store_t *self) {
    int rc = mdb_txn_begin(self->env, NULL, 0, &self->wtxn);
    if (rc)
        self->wtxn = NULL;
    return rc;
}

/* Make room for `len` bytes after the `used` ones of *buf (doubling from `first`). */
static void buf_room(uint8_t **buf, size_t *cap, size_t used, size_t len, size_t first) {
    if (used + len <= *cap)
        return;
    size_t grown = *cap ? *cap : first;
    while (grown < used + len)
        grown *= 2;
    uint8_t *bigger = (uint8_t *)realloc(*buf, grown);
    if (!bigger)
        abort();
    *buf = bigger;
    *cap = grown;
}

/* Room for one op at the end of the open batch's redo record; returns where its value
   goes (the caller fills vlen bytes there). */
static uint8_t *log_reserve(brg_store_t *self, int db, int kind, const void *key, size_t klen,
                            size_t vlen) {
    size_t need = sizeof(op_t) + klen + vlen;
    buf_room(&self->log, &self->log_cap, self->log_len, need, 4096);
    op_t op = {(uint8_t)db, (uint8_t)kind, (uint16_t)klen, (uint32_t)vlen};
    uint8_t *at = self->log + self->log_len;
    memcpy(at, &op, sizeof op);
    memcpy(at + sizeof op, key, klen);
    self->last_op = self->log_len;
    self->log_len += need;
    return at + sizeof op + klen;
}

static void pend_add(brg_store_t *self, const uint8_t *op, size_t len) {
    buf_room(&self->pend, &self->pend_cap, self->pend_len, len, 16384);
    memcpy(self->pend + self->pend_len, op, len);
    self->pend_len += len;
    self->pend_ops++;
}

/* --- the idempotency overlay (see struct brg_store) ----------------------------------- */

typedef struct {
    uint32_t klen, vlen; /* then the key, the value ([u64 time][packed Reply]), padding */
} ov_row_t;

static uint64_t ov_hash(const uint8_t *key, size_t klen) {
    uint64_t hash = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < klen; i++)
        hash = (hash ^ key[i]) * 1099511628211ULL;
    return hash ^ (hash >> 29);
}

static ov_row_t ov_row(brg_store_t *self, size_t at) {
    ov_row_t row;
    memcpy(&row, self->ov + at, sizeof row);
    return row;
}

/* key's slot in ov_slots: its newest row's, or the free one where that would go */
static size_t ov_slot(brg_store_t *self, const uint8_t *key, size_t klen) {
    size_t mask = self->ov_size - 1, i = (size_t)ov_hash(key, klen) & mask;
    for (;; i = (i + 1) & mask) {
        uint32_t at = self->ov_slots[i];
        if (!at)
            return i;
        ov_row_t row = ov_row(self, at - 1);
        if (row.klen == klen && !memcmp(self->ov + at - 1 + sizeof row, key, klen))
            return i;
    }
}

/* Index the row at arena offset `at`, in arena order: a newer row of a key replaces it. */
static void ov_index(brg_store_t *self, size_t at) {
    size_t i = ov_slot(self, self->ov + at + sizeof(ov_row_t), ov_row(self, at).klen);
    if (!self->ov_slots[i])
        self->ov_count++;
    self->ov_slots[i] = (uint32_t)(at + 1);
}

static size_t ov_next(brg_store_t *self, size_t at) {
    ov_row_t row = ov_row(self, at);
    return at + ((sizeof row + row.klen + row.vlen + 7) & ~(size_t)7);
}

/* Index the arena afresh, in a table of `size` slots (a power of two). */
static void ov_reindex(brg_store_t *self, size_t size) {
    if (size != self->ov_size) {
        free(self->ov_slots);
        self->ov_slots = (uint32_t *)malloc(size * sizeof(uint32_t));
        if (!self->ov_slots)
            abort();
        self->ov_size = size;
    }
    memset(self->ov_slots, 0, size * sizeof(uint32_t));
    self->ov_count = 0;
    for (size_t at = 0; at < self->ov_len; at = ov_next(self, at))
        ov_index(self, at);
}

static void ov_put(brg_store_t *self, const uint8_t *key, size_t klen, const uint8_t *val,
                   size_t vlen) {
    ov_row_t row = {(uint32_t)klen, (uint32_t)vlen};
    size_t need = (sizeof row + klen + vlen + 7) & ~(size_t)7, at = self->ov_len;
    buf_room(&self->ov, &self->ov_cap, at, need, 16384);
    memcpy(self->ov + at, &row, sizeof row);
    memcpy(self->ov + at + sizeof row, key, klen);
    memcpy(self->ov + at + sizeof row + klen, val, vlen);
    self->ov_len += need;
    if ((self->ov_count + 1) * 2 > self->ov_size)
        ov_reindex(self, self->ov_size ? self->ov_size * 2 : 256); /* indexes this row too */
    else
        ov_index(self, at);
}

/* The newest row of key, valid until the next ov_put or ov_keep; false when none. */
static bool ov_get(brg_store_t *self, const uint8_t *key, size_t klen, MDB_val *val) {
    if (!self->ov_count)
        return false;
    uint32_t at = self->ov_slots[ov_slot(self, key, klen)];
    if (!at)
        return false;
    ov_row_t row = ov_row(self, at - 1);
    val->mv_size = row.vlen;
    val->mv_data = self->ov + at - 1 + sizeof row + row.klen;
    return true;
}

/* Keep only the rows at arena offsets from..to (the open batch's after a commit, the
   logged ones after an abort). */
static void ov_keep(brg_store_t *self, size_t from, size_t to) {
    if (from == 0 && to == self->ov_len)
        return;
    memmove(self->ov, self->ov + from, to - from);
    self->ov_len = to - from;
    self->ov_open = self->ov_open > from ? self->ov_open - from : 0;
    if (self->ov_open > self->ov_len)
        self->ov_open = self->ov_len;
    if (!self->ov_len && self->ov_cap > ((size_t)1 << 20)) {
        free(self->ov); /* a burst's arena is not kept for the quiet after it */
        self->ov = NULL;
        self->ov_cap = 0;
    }
    if (self->ov_count)
        ov_reindex(self, self->ov_size);
}

/* Puts of one apply_ops run, by key family: a topic's journal events (topic, then an
   8-byte big-endian seq) and the book's rows of one kind (its 2-byte prefix: orders and
   trades by rising id) come in rising key order. A cursor kept per family sits where
   the family's last put went, and LMDB's cursor put skips the search from the root when
   the next key falls on that leaf page, where mdb_put searches from the root every time:
   a checkpoint's deferred puts took ~2,400 instructions each, now ~1,000 (callgrind,
   pipelined resting orders). Any cursor of the table puts any key correctly; a family
   only decides which one is tried. */
#define CURSOR_FAMILIES 8
#define FAMILY_MAX 64
typedef struct {
    MDB_cursor *cursor;
    uint8_t db;
    uint8_t len;
    uint8_t prefix[FAMILY_MAX];
} family_t;

typedef struct {
    family_t slot[CURSOR_FAMILIES];
    size_t used, next; /* slots in use; the next one to reuse when all are */
} families_t;

/* The cursor for a put's key family, or NULL (then a plain mdb_put does it). */
static MDB_cursor *family_cursor(brg_store_t *self, families_t *f, uint8_t db, const uint8_t *key,
                                 size_t klen) {
    size_t plen = db == DB_JOURNAL && klen > 8 ? klen - 8 : db == DB_STATE && klen >= 2 ? 2 : 0;
    if (!plen || plen > FAMILY_MAX)
        return NULL;
    for (size_t i = 0; i < f->used; i++)
        if (f->slot[i].db == db && f->slot[i].len == plen && !memcmp(f->slot[i].prefix, key, plen))
            return f->slot[i].cursor;
    family_t *slot =
        f->used < CURSOR_FAMILIES ? &f->slot[f->used++] : &f->slot[f->next++ % CURSOR_FAMILIES];
    if (slot->cursor)
        mdb_cursor_close(slot->cursor);
    slot->cursor = NULL;
    if (mdb_cursor_open(self->wtxn, self->dbis[db], &slot->cursor))
        slot->cursor = NULL;
    slot->db = db;
    slot->len = (uint8_t)plen;
    memcpy(slot->prefix, key, plen);
    return slot->cursor;
}

/* Apply the ops of a redo record (or of the open batch's) to the write transaction.
   Returns 0 or the LMDB error. A delete of a missing key is no error. */
static int apply_ops(brg_store_t *self, const uint8_t *data, size_t size) {
    size_t at = 0;
    families_t families = {0};
    int rc = 0;
    while (at < size) {
        op_t op;
        if (size - at < sizeof op) {
            rc = MDB_CORRUPTED;
            break;
        }
        memcpy(&op, data + at, sizeof op);
        at += sizeof op;
        if (op.db >= DB_COUNT || size - at < (size_t)op.klen + op.vlen) {
            rc = MDB_CORRUPTED;
            break;
        }
        MDB_val k = {op.klen, (void *)(data + at)}, v = {op.vlen, (void *)(data + at + op.klen)};
        MDB_cursor *c = family_cursor(self, &families, op.db, k.mv_data, k.mv_size);
        if (op.kind == OP_PUT) {
            rc = c ? mdb_cursor_put(c, &k, &v, 0)
                   : mdb_put(self->wtxn, self->dbis[op.db], &k, &v, 0);
        } else {
            /* a day close deletes the book's rows in id order: the same page skip */
            MDB_val found;
            if (!c)
                rc = mdb_del(self->wtxn, self->dbis[op.db], &k, NULL);
            else if ((rc = mdb_cursor_get(c, &k, &found, MDB_SET)) == 0)
                rc = mdb_cursor_del(c, 0);
            if (rc == MDB_NOTFOUND)
                rc = 0;
        }
        if (rc)
            break;
        at += (size_t)op.klen + op.vlen;
    }
    /* before the caller may end the transaction (a cursor outlives no transaction) */
    for (size_t i = 0; i < families.used; i++)
        if (families.slot[i].cursor)
            mdb_cursor_close(families.slot[i].cursor);
    return rc;
}

/* Replaying the log: batches from..to must come in order, each once. Without `apply`
   only counted (open, before the transaction that applies them). */
typedef struct {
    brg_store_t *self;
    uint64_t next, to;
    bool started, apply;
    int rc;
} replay_t;

static int replay_record(void *arg, uint64_t batch, const uint8_t *data, size_t size) {
    replay_t *r = (replay_t *)arg;
    if (batch < r->next)
        return r->started; /* checkpointed before a crash emptied the log: skip; later: stale */
    if (batch != r->next || batch > r->to)
        return 1;
    r->started = true;
    if (r->apply && (r->rc = apply_ops(r->self, data, size)))
        return 1;
    r->next++;
    return 0;
}

/* The log's batches after the checkpoint, one LMDB commit each (as the store committed
   before it had a log): a long transaction cannot reuse the pages its own batches free,
   one per batch can. */
typedef struct {
    brg_store_t *self;
    bool started;
    int rc;
} drain_t;

static int drain_record(void *arg, uint64_t batch, const uint8_t *data, size_t size) {
    drain_t *d = (drain_t *)arg;
    brg_store_t *self = d->self;
    if (batch <= self->ckpt_batch)
        return d->started;
    if (batch != self->ckpt_batch + 1 || batch > self->wal_batch)
        return 1;
    d->started = true;
    MDB_val k = {3, (void *)"wal"}, v = {8, &batch};
    if ((d->rc = now_txn_begin(self)) == 0) {
        if ((d->rc = apply_ops(self, data, size)) == 0 &&
            (d->rc = mdb_put(self->wtxn, self->dbis[DB_META], &k, &v, 0)) == 0)
            d->rc = mdb_txn_commit(self->wtxn);
        else
            mdb_txn_abort(self->wtxn);
        self->wtxn = NULL;
    }
    if (d->rc)
        return 1;
    self->ckpt_batch = batch;
    return 0;
}

static void committed(brg_store_t *self) {
    ov_keep(self, self->ov_open, self->ov_len); /* the rows before the open batch's are in */
    brg_wal_reset(self->wal);
    self->checkpoints++;
    map_check(self);
    self->period_bytes = 0;
}

/* Commit the log's batches after the checkpoint one transaction each (no transaction is
   open before or after). 0 when all are committed (the log is then emptied), else the
   LMDB error of the one that could not be (0 is never returned for that: MDB_CORRUPTED
   when the log ends early). */
static int drain_log(brg_store_t *self) {
    drain_t d = {self, false, 0};
    brg_wal_scan(self->wal, drain_record, &d);
    if (self->ckpt_batch == self->wal_batch) {
        committed(self);
        return 0;
    }
    return d.rc ? d.rc : MDB_CORRUPTED;
}

/* A new write transaction holding the checkpoint plus every batch logged since, after the
   one holding them was aborted. When they do not fit in the map, it grows; when it cannot,
   they are committed one LMDB transaction each (drain) and no transaction is left open
   (the next write opens one). -1 (the store is broken until a restart, which replays the
   log into LMDB's committed state) if none of that can be done. */
static int rebuild(brg_store_t *self) {
    self->pend_len = self->pend_ops = 0; /* the log holds every deferred write of a logged batch */
    int rc = 0;
    for (;;) {
        replay_t r = {self, self->ckpt_batch + 1, self->wal_batch, false, true, 0};
        if (!self->wtxn && (r.rc = now_txn_begin(self)) == 0) {
            brg_wal_scan(self->wal, replay_record, &r);
            if (!r.rc && r.next != self->wal_batch + 1)
                r.rc = MDB_CORRUPTED;
        }
        if (!(rc = r.rc))
            return 0;
        if (self->wtxn)
            mdb_txn_abort(self->wtxn);
        self->wtxn = NULL;
        if (rc != MDB_MAP_FULL && rc != MDB_TXN_FULL)
            break;
        if (map_grow_step(self) == 0)
            continue;
        int drc = drain_log(self);
        if (drc == 0)
            return 0;
        rc = drc == MDB_CORRUPTED ? rc : drc;
        break;
    }
    self->broken = true;
    brg_error("the store cannot rebuild its state from the redo log (%s): every write fails "
              "until a restart (which replays the log; nothing committed is lost)",
              lmdb_text(rc));
    return -1;
}

/* Commit the write transaction as holding every batch up to `last` (wal_batch, or the
   batch after it when that one is committed directly instead of logged), and empty the
   log. When the logged batches do not fit in one commit, the map grows or they are
   committed one by one. On failure the transaction is rebuilt from the log. */
static int commit_txn(brg_store_t *self, uint64_t last) {
    if (pend_apply(self))
        return -1;
    for (;;) {
        if (!self->wtxn) /* rebuild committed the log's batches one by one */
            return last == self->ckpt_batch ? 0 : -1;
        MDB_val k = {3, (void *)"wal"}, v = {8, &last};
        int rc = mdb_put(self->wtxn, self->dbis[DB_META], &k, &v, 0);
        if (rc == 0)
            rc = mdb_txn_commit(self->wtxn);
        else
            mdb_txn_abort(self->wtxn);
        self->wtxn = NULL;
        if (rc == 0) {
            self->wal_batch = self->ckpt_batch = last;
            committed(self);
            return 0;
        }
        set_error(self, "cannot commit the store: %s", lmdb_text(rc));
        bool full = rc == MDB_MAP_FULL || rc == MDB_TXN_FULL;
        if (full && last == self->wal_batch && map_grow_step(self) == 0) {
            if (rebuild(self))
                return -1;
            continue;
        }
        if (full && last == self->wal_batch && drain_log(self) == 0)
            return 0;
        /* a batch committed directly (not logged) just fails: the router says so; the
           log's batches are never lost: say where they are */
        if (last == self->wal_batch)
            brg_warn("store checkpoint failed (%s); the redo log keeps the batches it holds",
                     lmdb_text(rc));
        rebuild(self);
        return -1;
    }
}

/* Commit what the log holds to LMDB, between batches. */
static int checkpoint(brg_store_t *self) {
    if (!self->wtxn || self->dirty || self->failed || self->broken)
        return 0;
    if (self->wal_batch == self->ckpt_batch) {
        /* nothing logged (a batch of reads): drop the transaction, nothing to keep */
        applier_join(self);
        self->pend_len = self->pend_ops = 0;
        mdb_txn_abort(self->wtxn);
        self->wtxn = NULL;
        return 0;
    }
    return commit_txn(self, self->wal_batch);
}

/* The write transaction for the next write: the long-lived one (opened lazily). The
   first write of a batch saves what a rollback restores. */
static int write_begin(brg_store_t *self) {
    if (self->failed)
        return -1;
    if (self->broken) {
        set_error(self, "the store must be restarted: its state could not be rebuilt after a "
                        "failed batch");
        self->failed = self->batch > 0;
        return -1;
    }
    int rc = self->wtxn ? 0 : now_txn_begin(self);
    if (rc) {
        set_error(self, "cannot begin a store transaction: %s", lmdb_text(rc));
        if (self->batch)
            self->failed = true;
        return -1;
    }
    if (!self->dirty) {
        self->dirty = true;
        self->log_len = 0;
        self->saved_next_pos = self->next_pos;
        self->saved_count = self->count;
    }
    return 0;
}

/* A write of the open batch found the map full (or the transaction's page list). The
   batches before it in the transaction hold pages that are reusable only after a commit:
   commit them; with none, grow the map. Then apply this batch's writes so far again (the
   failed one is the last of them). Returns 0 when all of it is applied, -1 when the store
   cannot hold it. */
static int make_room(brg_store_t *self) {
    for (;;) {
        mdb_txn_abort(self->wtxn);
        self->wtxn = NULL;
        if (self->wal_batch > self->ckpt_batch) {
            if (rebuild(self) || commit_txn(self, self->wal_batch))
                return -1;
        } else if (map_grow_step(self))
            return -1;
        int rc = now_txn_begin(self);
        if (rc == 0)
            rc = apply_ops(self, self->log, self->log_len);
        if (rc == 0) {
            self->pend_len = self->pend_ops =
                0; /* the open batch's deferred writes are applied with it */
            return 0;
        }
        if (rc != MDB_MAP_FULL && rc != MDB_TXN_FULL)
            return -1;
    }
}

/* --- the applier thread --------------------------------------------------------------

   The deferred writes' B-tree puts were a quarter of the loop's work under pipelined
   orders (~8,000 instructions of a resting order, ~17,500 of a filling one). They go to
   this thread in runs (PEND_KICK) while the loop answers the next requests: the reply
   waits for the redo log, never for the puts, as before, and now the loop does not
   either. LMDB binds a write transaction to the thread that began it only through its
   writer lock, taken at begin and released at commit or abort: so the loop begins and
   ends it, the applier only puts, and the two never use it at once (every loop use of
   self->wtxn comes after applier_join()). */

static void *applier_run(void *arg) {
    brg_store_t *self = (brg_store_t *)arg;
    pthread_mutex_lock(&self->job_lock);
    for (;;) {
        while (!self->job_len && !self->job_stop)
            pthread_cond_wait(&self->job_cond, &self->job_lock);
        if (!self->job_len)
            break;
        pthread_mutex_unlock(&self->job_lock);
        int rc = apply_ops(self, self->job, self->job_len);
        pthread_mutex_lock(&self->job_lock);
        self->job_rc = rc;
        self->job_len = 0;
        __atomic_store_n(&self->job_busy, 0, __ATOMIC_RELEASE);
        pthread_cond_signal(&self->done_cond);
    }
    pthread_mutex_unlock(&self->job_lock);
    return NULL;
}

/* Wait until the applier is idle; the LMDB error of its last run (once), or 0. */
static int applier_join(brg_store_t *self) {
    if (!__atomic_load_n(&self->job_busy, __ATOMIC_ACQUIRE) && !self->job_rc)
        return 0;
    pthread_mutex_lock(&self->job_lock);
    while (self->job_len)
        pthread_cond_wait(&self->done_cond, &self->job_lock);
    int rc = self->job_rc;
    self->job_rc = 0;
    pthread_mutex_unlock(&self->job_lock);
    return rc;
}

/* Hand the deferred writes to the idle applier (pend and job swap buffers). Without a
   thread (it could not be started) they are applied here. */
static int applier_kick(brg_store_t *self) {
    if (!self->applier_started) {
        int rc = apply_ops(self, self->pend, self->pend_len);
        self->pend_len = self->pend_ops = 0;
        return rc;
    }
    pthread_mutex_lock(&self->job_lock);
    uint8_t *buf = self->job;
    size_t cap = self->job_cap;
    self->job = self->pend;
    self->job_cap = self->pend_cap;
    self->job_len = self->pend_len;
    __atomic_store_n(&self->job_busy, 1, __ATOMIC_RELAXED);
    pthread_cond_signal(&self->job_cond);
    pthread_mutex_unlock(&self->job_lock);
    self->handoffs++;
    self->pend = buf;
    self->pend_cap = cap;
    self->pend_len = self->pend_ops = 0;
    return 0;
}

/* Started once the store is open, from the thread that opens it: before any CPU placement
   of the loop (brg_colocate), which the applier must not inherit. */
static void applier_start(brg_store_t *self) {
    self->applier_started = pthread_create(&self->applier, NULL, applier_run, self) == 0;
    if (!self->applier_started)
        brg_warn("store: no applier thread (%s): the loop applies its writes itself",
                 strerror(errno));
}

static void applier_stop(brg_store_t *self) {
    if (!self->applier_started)
        return;
    pthread_mutex_lock(&self->job_lock);
    self->job_stop = true;
    pthread_cond_signal(&self->job_cond);
    pthread_mutex_unlock(&self->job_lock);
    pthread_join(self->applier, NULL);
    self->applier_started = false;
}

/* A run of deferred writes failed with rc: the transaction is made room for (a full map)
   or rebuilt from the log; an open batch fails (its writes are gone). 0 when made room. */
static int pend_failed(brg_store_t *self, int rc) {
    self->pend_len = self->pend_ops = 0;
    if ((rc == MDB_MAP_FULL || rc == MDB_TXN_FULL) && make_room(self) == 0)
        return 0;
    set_error(self, "cannot write to the store: %s", lmdb_text(rc));
    if (self->wtxn)
        mdb_txn_abort(self->wtxn);
    self->wtxn = NULL;
    if (!self->broken)
        rebuild(self);
    if (self->batch)
        self->failed = true;
    return -1;
}

/* Apply every deferred write to the transaction (the applier's run first), so that the
   loop may use it. 0, or -1 when the store cannot hold them (pend_failed). */
static int pend_apply(brg_store_t *self) {
    int rc = applier_join(self);
    if (!rc && self->pend_len)
        rc = apply_ops(self, self->pend, self->pend_len);
    self->pend_len = self->pend_ops = 0;
    return rc ? pend_failed(self, rc) : 0;
}

/* Hand what waits to an idle applier once it is PEND_KICK bytes or PEND_KICK_OPS writes;
   when PEND_MAX waits, a busy applier is waited for (memory stays bounded). Between
   batches, or inside one (its writes may go to the applier: a batch that fails aborts the
   transaction all the same, and the log rebuilds it). */
static int pend_handoff(brg_store_t *self) {
    bool full = self->pend_len > PEND_MAX || self->pend_ops > PEND_MAX_OPS;
    bool enough = self->pend_len >= PEND_KICK || self->pend_ops >= PEND_KICK_OPS;
    if (!self->wtxn || (!full && (!enough || __atomic_load_n(&self->job_busy, __ATOMIC_ACQUIRE))))
        return 0;
    int rc = applier_join(self);
    if (!rc)
        rc = applier_kick(self);
    return rc ? pend_failed(self, rc) : 0;
}

/* The op just logged waits in pend for the applier (or a read, or a checkpoint). A big
   batch (pipelined requests, a price move's slice) hands its writes over as it goes,
   instead of all at its end; a small one leaves that to brg_store_handoff, after its
   replies. A failure fails the batch (pend_failed). */
static void apply_last(brg_store_t *self) {
    pend_add(self, self->log + self->last_op, self->log_len - self->last_op);
    if (self->batch && self->log_len >= PEND_KICK)
        pend_handoff(self);
}

/* One put or delete of the open batch: logged, applied later (apply_last). */
static void write_op(brg_store_t *self, int db, int kind, const void *key, size_t klen,
                     const void *val, size_t vlen) {
    uint8_t *at = log_reserve(self, db, kind, key, klen, vlen);
    if (vlen)
        memcpy(at, val, vlen);
    apply_last(self);
}

/* The cached seqs may hold values of a transaction that will not commit: forget them all
   (they reload from the table on use). */
static void seqs_drop(brg_store_t *self) {
    self->dirty_seqs = NULL; /* the entries go with the hash */
    memset(self->seq_cache, 0, sizeof self->seq_cache);
    zhash_destroy(&self->seqs);
    self->seqs = zhash_new();
}

/* Write the seqs the batch changed into the topics table. */
static void seqs_flush(brg_store_t *self) {
    seq_entry_t *entry;
    while ((entry = self->dirty_seqs)) {
        self->dirty_seqs = entry->next_dirty;
        entry->dirty = false;
        write_op(self, DB_TOPICS, OP_PUT, entry->topic, entry->tlen, &entry->seq, 8);
    }
}

/* The batch's record is done with: start the next one empty (a big batch's buffer, say a
   day close slice's, is not kept for the small ones after it). */
static void log_clear(brg_store_t *self) {
    self->dirty = false;
    self->log_len = 0;
    if (self->log_cap > ((size_t)1 << 20)) {
        free(self->log);
        self->log = NULL;
        self->log_cap = 0;
    }
}

/* The open batch's writes are discarded: the transaction goes, and is rebuilt from the
   log with the batches before this one. */
static void write_abort(brg_store_t *self) {
    applier_join(self); /* its writes go with the transaction; rebuild brings them back */
    if (self->wtxn)
        mdb_txn_abort(self->wtxn);
    self->wtxn = NULL;
    log_clear(self);
    ov_keep(self, 0, self->ov_open); /* the batch's idempotency rows are void */
    self->pend_len = self->pend_ops =
        0; /* this batch's are void, the logged ones come back by rebuild */
    self->next_pos = self->saved_next_pos;
    self->count = self->saved_count;
    seqs_drop(self);
    if (self->wal_batch > self->ckpt_batch && !self->broken) {
        if (rebuild(self) == 0)
            checkpoint(self);
    } else
        map_check(self); /* a batch that did not fit may fit once the map has grown */
}

/* The open batch's writes are complete: its redo record goes into the log, which makes
   it durable. A record the log has no room for is committed by a checkpoint instead. */
static int write_commit(brg_store_t *self) {
    seqs_flush(self);
    int rc = 0;
    if (self->log_len) {
        uint64_t batch = self->wal_batch + 1;
        /* a store near its limit commits each batch: a batch is acknowledged only once
           LMDB has room for it */
        rc = self->tight ? 1
                         : brg_wal_append(self->wal, batch, self->log, self->log_len,
                                          self->opts.durability == BRG_DURABILITY_POWER);
        self->period_bytes += self->log_len;
        if (rc == 0)
            self->wal_batch = batch;
        else if (rc == 1)
            rc = commit_txn(self, batch);
        else
            set_error(self, "cannot write the redo log: %s", strerror(errno));
    }
    if (rc) {
        write_abort(self);
        self->failures++;
        return -1;
    }
    log_clear(self);
    self->ov_open = self->ov_len; /* the batch's idempotency rows are logged */
    self->commits++;
    if ((self->pend_len > PEND_LIMIT || self->pend_ops > PEND_LIMIT_OPS) && pend_apply(self))
        brg_warn("store: %s (the redo log keeps the batches)", self->error);
    if (brg_wal_used(self->wal) > brg_wal_size(self->wal) / 2)
        checkpoint(self);
    return 0;
}

/* Reserve `bytes` of the data file and map that much. Only between transactions. */
static int map_grow(brg_store_t *self, size_t bytes) {
    if (bytes > self->max_bytes)
        bytes = self->max_bytes;
    if (bytes <= self->map_bytes)
        return 0;
    mdb_filehandle_t fd;
    if (mdb_env_get_fd(self->env, &fd))
        return -1;
    int rc = brg_compat_reserve(fd, bytes);
    if (rc) {
        /* EOPNOTSUPP: a filesystem without reservations; anything else: no space */
        self->no_space = rc != EOPNOTSUPP;
        if (self->no_space)
            return -1;
    }
    if (self->rtxn) {
        mdb_txn_abort(self->rtxn); /* resizing wants no transaction at all */
        self->rtxn = NULL;
    }
    pthread_rwlock_wrlock(&self->resize_lock);
    int mrc = mdb_env_set_mapsize(self->env, bytes);
    pthread_rwlock_unlock(&self->resize_lock);
    if (mrc)
        return -1;
    self->map_bytes = bytes;
    self->no_space = false;
    return 0;
}

/* Grow the map once: double it; on a nearly full disk take what it still has, down to
   1 MiB steps. -1 when it cannot grow (at the limit, or no space). */
static int map_grow_step(brg_store_t *self) {
    if (self->map_bytes >= self->max_bytes)
        return -1;
    for (size_t step = self->map_bytes; step >= ((size_t)1 << 20); step /= 2)
        if (map_grow(self, self->map_bytes + step) == 0)
            return 0;
    return -1;
}

/* After a checkpoint: keep a quarter of the map free for the next batches. A map that
   cannot grow any more, with less than TIGHT_FREE left, makes the store tight. */
static void map_check(brg_store_t *self) {
    if (self->wtxn)
        return;
    MDB_envinfo info;
    MDB_stat stat;
    if (mdb_env_info(self->env, &info) || mdb_env_stat(self->env, &stat))
        return;
    size_t used = ((size_t)info.me_last_pgno + 1) * stat.ms_psize;
    /* free room for a quarter of the map, and for 8x what the last checkpoint period
       logged: the next period's pages (copied, split, new) must fit in the long
       transaction, or a write finds the map full in the middle of a batch and the
       transaction is rebuilt (tens of ms) before the map can grow */
    size_t want = self->map_bytes / 4;
    if (want < 8 * self->period_bytes)
        want = 8 * self->period_bytes;
    for (int i = 0; i < 4 && self->map_bytes < self->max_bytes &&
                    (used > self->map_bytes || self->map_bytes - used < want);
         i++)
        if (map_grow_step(self))
            break;
    self->tight = (self->map_bytes >= self->max_bytes || self->no_space) &&
                  (used > self->map_bytes || self->map_bytes - used < TIGHT_FREE);
}

/* After a write: outside a batch commit (or abort) it now; inside, remember a failure so
   the whole batch fails (LMDB leaves a transaction unusable after an error). */
static int write_end(brg_store_t *self, int rc) {
    if (self->batch) {
        if (rc)
            self->failed = true;
        return rc;
    }
    if (rc) {
        write_abort(self);
        self->failures++;
        return -1;
    }
    return write_commit(self);
}

/* The reused read-only transaction: the state of the last LMDB commit. Pair with
   read_end(). */
static MDB_txn *snapshot_txn(brg_store_t *self) {
    int rc = self->rtxn ? mdb_txn_renew(self->rtxn)
                        : mdb_txn_begin(self->env, NULL, MDB_RDONLY, &self->rtxn);
    if (rc) {
        set_error(self, "cannot begin a store read: %s", lmdb_text(rc));
        if (self->rtxn) {
            mdb_txn_abort(self->rtxn);
            self->rtxn = NULL;
        }
        return NULL;
    }
    return self->rtxn;
}

/* A transaction to read the journal, the seq counters or the book from: the write
   transaction with every deferred write applied (so a batch sees its own writes and every
   logged batch before it), or the snapshot when none is open. Pair with read_end(). The
   idempotency rows are read through the overlay and the snapshot (brg_store_reply_get). */
static MDB_txn *read_begin(brg_store_t *self) {
    if (pend_apply(self))
        return NULL;
    return self->wtxn ? self->wtxn : snapshot_txn(self);
}

static void read_end(brg_store_t *self, MDB_txn *txn) {
    if (txn && txn == self->rtxn)
        mdb_txn_reset(self->rtxn);
}

int brg_store_begin(brg_store_t *self) {
    self->batch++;
    return 0;
}

int brg_store_commit(brg_store_t *self) {
    if (self->batch == 0 || --self->batch > 0)
        return 0;
    bool failed = self->failed;
    self->failed = false;
    if (!self->dirty) {
        if (failed)
            self->failures++;
        return failed ? -1 : 0;
    }
    if (failed) {
        write_abort(self);
        self->failures++;
        return -1;
    }
    return write_commit(self);
}

int brg_store_handoff(brg_store_t *self) {
    return pend_handoff(self);
}

uint64_t brg_store_handoffs(brg_store_t *self) {
    return self->handoffs;
}

int brg_store_checkpoint(brg_store_t *self) {
    if (self->batch)
        return 0;
    return checkpoint(self);
}

uint64_t brg_store_checkpoints(brg_store_t *self) {
    return self->checkpoints;
}

bool brg_store_in_batch(brg_store_t *self) {
    return self->batch > 0;
}

void brg_store_fail_batch(brg_store_t *self, const char *why) {
    if (!self->batch)
        return;
    /* the first cause is the one to report: a write that hit a full store, say, makes the
       backend's persist fail too */
    if (!self->failed)
        set_error(self, "%s", why);
    self->failed = true;
}

bool brg_store_batch_failed(brg_store_t *self) {
    return self->failed;
}

bool brg_store_batch_dirty(brg_store_t *self) {
    return self->dirty || self->failed;
}

/* --- open / close ------------------------------------------------------------------ */

static int lock_dir(brg_store_t *self, const char *data_dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/xtbridge.lock", data_dir);
    char pid[32];
    int rc = brg_compat_lock(path, &self->lock, pid, sizeof pid);
    if (rc < 0)
        set_error(self, "cannot open %s: %s", path, strerror(errno));
    else if (rc > 0 && *pid)
        set_error(self, "another xtbridge (pid %s) is using data dir '%s'", pid, data_dir);
    else if (rc > 0)
        set_error(self, "another xtbridge is using data dir '%s'", data_dir);
    return rc ? -1 : 0;
}

static int open_dbs(brg_store_t *self) {
    struct {
        const char *name;
        MDB_dbi *dbi;
    } dbs[] = {{"meta", &self->dbis[DB_META]},
               {"topics", &self->dbis[DB_TOPICS]},
               {"journal", &self->dbis[DB_JOURNAL]},
               {"replies", &self->dbis[DB_REPLIES]},
               {"state", &self->dbis[DB_STATE]}};
    for (size_t i = 0; i < sizeof dbs / sizeof dbs[0]; i++) {
        int rc = mdb_dbi_open(self->wtxn, dbs[i].name, MDB_CREATE, dbs[i].dbi);
        if (rc) {
            set_error(self, "cannot open table %s: %s", dbs[i].name, lmdb_text(rc));
            return -1;
        }
    }
    MDB_val key = {5, (void *)"epoch"}, val;
    if (mdb_get(self->wtxn, self->dbis[DB_META], &key, &val) == 0 && val.mv_size == 8)
        self->epoch = get_u64(val.mv_data);
    while (!self->epoch) {
        /* New store: a fresh random epoch tells clients their old seqs mean nothing here.
           The nanosecond clock and the pid go in too: two stores made in the same second
           (a data dir replaced at once) must not share one. splitmix64 spreads the bits. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = ((uint64_t)randof(1 << 30) << 30) ^ (uint64_t)randof(1 << 30) ^
                     ((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec) ^
                     ((uint64_t)getpid() << 40);
        x += 0x9E3779B97F4A7C15ULL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
        self->epoch = (x ^ (x >> 31)) & 0x7fffffffffffffffULL;
        MDB_val ek = {5, (void *)"epoch"}, ev = {8, &self->epoch};
        int rc = mdb_put(self->wtxn, self->dbis[DB_META], &ek, &ev, 0);
        if (rc) {
            set_error(self, "cannot write the epoch: %s", lmdb_text(rc));
            return -1;
        }
    }
    MDB_val wk = {3, (void *)"wal"}, wv;
    if (mdb_get(self->wtxn, self->dbis[DB_META], &wk, &wv) == 0 && wv.mv_size == 8)
        self->ckpt_batch = get_u64(wv.mv_data);
    return 0;
}

/* Open the redo log and commit the batches it holds beyond the committed state's (a
   process that died after logging them, before a checkpoint). */
static int wal_recover(brg_store_t *self, const char *data_dir) {
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/data.wal", data_dir);
    self->wal = brg_wal_new(path, WAL_BYTES, self->epoch, err, sizeof err);
    if (!self->wal) {
        set_error(self, "%s", err);
        return -1;
    }
    replay_t r = {self, self->ckpt_batch + 1, UINT64_MAX, false, false, 0};
    brg_wal_scan(self->wal, replay_record, &r);
    self->wal_batch = r.next - 1;
    if (self->wal_batch == self->ckpt_batch) {
        map_check(self);
        return 0;
    }
    uint64_t pending = self->wal_batch - self->ckpt_batch;
    if (rebuild(self) || commit_txn(self, self->wal_batch)) {
        set_error(self, "cannot apply the redo log %s: %s", path, self->error);
        return -1;
    }
    brg_info("store: %llu batches applied from the redo log", (unsigned long long)pending);
    return 0;
}

/* Where the journal stands: the next publish position and the number of events. */
static int journal_position(brg_store_t *self) {
    /* the next publish position follows the newest event of any topic */
    MDB_txn *txn = read_begin(self);
    MDB_cursor *cursor;
    if (!txn)
        return -1;
    if (mdb_cursor_open(txn, self->dbis[DB_TOPICS], &cursor)) {
        read_end(self, txn);
        return -1;
    }
    self->next_pos = 1;
    MDB_val k, v;
    for (int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
        uint8_t jkey[300];
        if (k.mv_size > 255 || v.mv_size != 8)
            continue;
        MDB_val jk = {index_key(jkey, (const char *)k.mv_data, k.mv_size, get_u64(v.mv_data)),
                      jkey},
                jv;
        if (mdb_get(txn, self->dbis[DB_JOURNAL], &jk, &jv) == 0 && jv.mv_size >= JOURNAL_HEADER &&
            get_u64(jv.mv_data) >= self->next_pos)
            self->next_pos = get_u64(jv.mv_data) + 1;
    }
    mdb_cursor_close(cursor);
    MDB_stat stat;
    if (mdb_stat(txn, self->dbis[DB_JOURNAL], &stat) == 0)
        self->count = stat.ms_entries;
    read_end(self, txn);
    return 0;
}

brg_store_t *brg_store_new(const char *data_dir, const brg_store_opts_t *opts, char *err,
                           size_t errlen) {
    if (zsys_dir_create("%s", data_dir)) {
        snprintf(err, errlen, "cannot create data directory '%s'", data_dir);
        return NULL;
    }
    brg_store_t *self = (brg_store_t *)zmalloc(sizeof(brg_store_t));
    pthread_rwlock_init(&self->resize_lock, NULL);
    pthread_mutex_init(&self->job_lock, NULL);
    pthread_cond_init(&self->job_cond, NULL);
    pthread_cond_init(&self->done_cond, NULL);
    self->seqs = zhash_new();
    if (opts)
        self->opts = *opts;
    else
        brg_store_opts_default(&self->opts);
    if (self->opts.max_mb < 1)
        self->opts.max_mb = 1;
    self->max_bytes = (size_t)self->opts.max_mb << 20;
    int rc = 0;
    if (lock_dir(self, data_dir))
        goto fail;
    /* Start with what the file already holds (a reopened store), at least the first
       reservation, at most the limit. */
    char file[4096];
    snprintf(file, sizeof file, "%s/data.mdb", data_dir);
    size_t have = (size_t)brg_compat_file_size(file);
    self->map_bytes = have > INITIAL_MAP_BYTES ? have : INITIAL_MAP_BYTES;
    if (self->map_bytes > self->max_bytes)
        self->map_bytes = have > self->max_bytes ? have : self->max_bytes;
    if ((rc = mdb_env_create(&self->env)) || (rc = mdb_env_set_maxdbs(self->env, 8)) ||
        (rc = mdb_env_set_mapsize(self->env, self->map_bytes))) {
        set_error(self, "cannot create the store: %s", lmdb_text(rc));
        goto fail;
    }
    /* process: the OS has every committed page even if we die; power: each commit syncs.
       NOTLS: the reused read transaction is not tied to a thread. NORDAHEAD (MADV_RANDOM):
       a write into a fresh page of the map faults, and with read-ahead the kernel then
       reads up to 8 MB of the reserved, unwritten file around it: 30-40 ms loop stalls
       in a day close's slices, 4-7 ms without. */
    unsigned flags = MDB_NOTLS | MDB_WRITEMAP | MDB_NORDAHEAD;
    if (self->opts.durability == BRG_DURABILITY_PROCESS)
        flags |= MDB_NOSYNC;
    if ((rc = mdb_env_open(self->env, data_dir, flags, 0644))) {
        set_error(self, "cannot open the store in '%s': %s", data_dir, lmdb_text(rc));
        goto fail;
    }
    /* LMDB sized the file to the map (sparse): reserve it before any page is written */
    size_t want = self->map_bytes;
    self->map_bytes = 0;
    if (map_grow(self, want)) {
        set_error(self, "cannot reserve %zu MiB for the store in '%s': %s", want >> 20, data_dir,
                  strerror(ENOSPC));
        goto fail;
    }
    /* the tables and the epoch first, committed on their own: the log's batches are
       applied after them (and may need commits of their own, see commit_txn) */
    if ((rc = now_txn_begin(self))) {
        set_error(self, "cannot begin a store transaction: %s", lmdb_text(rc));
        goto fail;
    }
    if (open_dbs(self)) {
        mdb_txn_abort(self->wtxn);
        self->wtxn = NULL;
        goto fail;
    }
    rc = mdb_txn_commit(self->wtxn);
    self->wtxn = NULL;
    if (rc) {
        set_error(self, "cannot create the store's tables: %s", lmdb_text(rc));
        goto fail;
    }
    if (wal_recover(self, data_dir) || journal_position(self))
        goto fail;
    applier_start(self);
    self->commits = self->failures = self->checkpoints = 0;
    char old[4096];
    snprintf(old, sizeof old, "%s/xtbridge.db", data_dir);
    if (zsys_file_exists(old))
        brg_warn("%s is the SQLite store of xtbridge before 0.2; it is not read (the book, journal "
                 "and idempotency rows start afresh in data.mdb): move it away to silence this",
                 old);
    return self;
fail:
    snprintf(err, errlen, "%s", self->error);
    brg_store_destroy(&self);
    return NULL;
}

void brg_store_destroy(brg_store_t **self_p) {
    if (!self_p || !*self_p)
        return;
    brg_store_t *self = *self_p;
    applier_join(self); /* a failed run is redone below (rebuild) or by the next open */
    applier_stop(self);
    /* logged batches go into LMDB now (a batch still open is dropped: it never committed);
       if that fails, the next open applies them from the log */
    if (self->wtxn && self->wal && !self->batch)
        checkpoint(self);
    if (self->wtxn)
        mdb_txn_abort(self->wtxn);
    if (self->rtxn)
        mdb_txn_abort(self->rtxn);
    if (self->env) {
        /* process durability: a clean stop leaves the data on disk too */
        mdb_env_sync(self->env, 1);
        mdb_env_close(self->env);
    }
    brg_wal_destroy(&self->wal);
    free(self->log);
    free(self->pend);
    free(self->job);
    free(self->ov);
    free(self->ov_slots);
    pthread_mutex_destroy(&self->job_lock);
    pthread_cond_destroy(&self->job_cond);
    pthread_cond_destroy(&self->done_cond);
    brg_compat_unlock(&self->lock);
    zhash_destroy(&self->seqs);
    pthread_rwlock_destroy(&self->resize_lock);
    free(self);
    *self_p = NULL;
}

uint64_t brg_store_epoch(brg_store_t *self) {
    return self->epoch;
}

brg_durability_t brg_store_durability(brg_store_t *self) {
    return self->opts.durability;
}

const char *brg_store_durability_name(brg_durability_t durability) {
    return durability == BRG_DURABILITY_POWER ? "power" : "process";
}

const char *brg_store_error(brg_store_t *self) {
    return self->error;
}

uint64_t brg_store_journal_count(brg_store_t *self) {
    return self->count;
}

uint64_t brg_store_pruned(brg_store_t *self) {
    return self->pruned;
}

uint64_t brg_store_commits(brg_store_t *self) {
    return self->commits;
}

uint64_t brg_store_failures(brg_store_t *self) {
    return self->failures;
}

/* --- journal ----------------------------------------------------------------------- */

/* A topic's slot in seq_cache: its length, its first byte (the kind) and the bytes
   before its final dot (the end of the account id). */
static size_t seq_slot(const char *topic, size_t tlen) {
    unsigned char a = (unsigned char)topic[0], b = (unsigned char)topic[tlen > 1 ? tlen - 2 : 0];
    unsigned char c = (unsigned char)topic[tlen > 2 ? tlen - 3 : 0];
    return (tlen * 7 + a * 3 + b * 5 + c) % SEQ_CACHE;
}

/* The cached seq entry of a topic, loaded from the table on first use. NULL on error. */
static seq_entry_t *seq_entry(brg_store_t *self, const char *topic, size_t tlen) {
    seq_entry_t **slot = &self->seq_cache[seq_slot(topic, tlen)];
    seq_entry_t *entry = *slot;
    if (entry && entry->tlen == tlen && memcmp(entry->topic, topic, tlen) == 0)
        return entry;
    entry = (seq_entry_t *)zhash_lookup(self->seqs, topic);
    if (entry)
        return *slot = entry;
    entry = (seq_entry_t *)zmalloc(sizeof(seq_entry_t));
    memcpy(entry->topic, topic, tlen);
    entry->tlen = tlen;
    MDB_val k = {tlen, (void *)topic}, v;
    /* a topic not seen since the start (or a rollback): rare, so the applier is simply
       waited for (its writes and the pending ones, then the table read) */
    MDB_txn *txn = read_begin(self);
    int rc = txn ? mdb_get(txn, self->dbis[DB_TOPICS], &k, &v) : EIO;
    if (rc == 0 && v.mv_size == 8)
        entry->seq = get_u64(v.mv_data);
    read_end(self, txn);
    if (rc && rc != MDB_NOTFOUND) {
        set_error(self, "cannot read seq counter: %s", lmdb_text(rc));
        free(entry);
        return NULL;
    }
    zhash_insert(self->seqs, topic, entry);
    zhash_freefn(self->seqs, topic, free);
    return *slot = entry;
}

int brg_store_journal_append(brg_store_t *self, const char *topic, brg_store_pack_fn *pack,
                             void *arg, uint64_t *seq_out, uint8_t **data_out, size_t *size_out) {
    size_t tlen = strlen(topic);
    if (tlen == 0 || tlen > 255) {
        set_error(self, "bad topic length %zu", tlen);
        return -1;
    }
    if (write_begin(self))
        return -1;
    seq_entry_t *entry = seq_entry(self, topic, tlen);
    uint64_t seq = entry ? entry->seq + 1 : 0;
    size_t size = 0;
    uint8_t *data = entry ? pack(arg, seq, &size) : NULL;
    int rc = -1;
    if (entry && (!data || !size))
        set_error(self, "cannot pack event for %s", topic);
    else if (entry) {
        uint8_t key[300];
        size_t klen = index_key(key, topic, tlen, seq);
        /* the record is built in the redo log and copied into the tree from there */
        uint8_t *rec = log_reserve(self, DB_JOURNAL, OP_PUT, key, klen, JOURNAL_HEADER + size);
        uint64_t now = (uint64_t)time(NULL);
        memcpy(rec, &self->next_pos, 8);
        memcpy(rec + 8, &now, 8);
        memcpy(rec + JOURNAL_HEADER, data, size);
        apply_last(self);
        self->next_pos++;
        self->count++;
        entry->seq = seq;
        if (!entry->dirty) {
            entry->dirty = true;
            entry->next_dirty = self->dirty_seqs;
            self->dirty_seqs = entry;
        }
        rc = 0;
    }
    if (write_end(self, rc)) {
        free(data);
        return -1;
    }
    *seq_out = seq;
    *data_out = data;
    *size_out = size;
    return 0;
}

/* One topic's place in a replay merge: the next event's journal position. */
typedef struct {
    uint64_t pos, seq;
    char *topic;
    size_t tlen;
    const uint8_t *event; /* in the map: valid for the read transaction */
    size_t size;
} head_t;

typedef struct {
    head_t *items;
    size_t size, capacity;
} heap_t;

static void heap_push(heap_t *h, head_t item) {
    if (h->size == h->capacity) {
        h->capacity = h->capacity ? h->capacity * 2 : 16;
        h->items = (head_t *)realloc(h->items, h->capacity * sizeof(head_t));
        if (!h->items)
            abort();
    }
    size_t i = h->size++;
    while (i > 0 && h->items[(i - 1) / 2].pos > item.pos) {
        h->items[i] = h->items[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->items[i] = item;
}

static head_t heap_pop(heap_t *h) {
    head_t top = h->items[0], last = h->items[--h->size];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->size)
            break;
        if (child + 1 < h->size && h->items[child + 1].pos < h->items[child].pos)
            child++;
        if (h->items[child].pos >= last.pos)
            break;
        h->items[i] = h->items[child];
        i = child;
    }
    if (h->size)
        h->items[i] = last;
    return top;
}

/* Position the head at the first journaled event of its topic with seq >= from; false
   when the topic has none. */
static bool head_seek(MDB_cursor *cursor, head_t *head, uint64_t from) {
    uint8_t key[300];
    MDB_val k = {index_key(key, head->topic, head->tlen, from), key}, v;
    if (mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE) || k.mv_size != head->tlen + 9 ||
        memcmp(k.mv_data, head->topic, head->tlen + 1) || v.mv_size < JOURNAL_HEADER)
        return false;
    head->seq = get_be64((const uint8_t *)k.mv_data + head->tlen + 1);
    head->pos = get_u64(v.mv_data);
    head->event = (const uint8_t *)v.mv_data + JOURNAL_HEADER;
    head->size = v.mv_size - JOURNAL_HEADER;
    return true;
}

/* read_begin for readers of the topics table: inside a batch, the seq counters of its own
   events must be in the table first. */
static MDB_txn *read_topics_begin(brg_store_t *self) {
    if (self->wtxn)
        seqs_flush(self);
    return read_begin(self);
}

/* The merge of journal_read in a given read transaction; -1 without setting an error
   (the callers on other threads must not touch self->error). */
static int journal_scan(brg_store_t *self, MDB_txn *txn, const char *prefix,
                        brg_store_after_fn *after, void *after_arg, size_t max,
                        brg_store_event_fn *fn, void *arg, bool *more) {
    *more = false;
    size_t plen = prefix ? strlen(prefix) : 0;
    heap_t heap = {NULL, 0, 0};
    MDB_cursor *topics = NULL, *index = NULL;
    int visited = -1;
    if (mdb_cursor_open(txn, self->dbis[DB_TOPICS], &topics) ||
        mdb_cursor_open(txn, self->dbis[DB_JOURNAL], &index))
        goto done;
    /* one head per matching topic that has something after the client's seq */
    MDB_val k = {plen, (void *)(prefix ? prefix : "")}, v;
    int rc = mdb_cursor_get(topics, &k, &v, plen ? MDB_SET_RANGE : MDB_FIRST);
    for (; rc == 0; rc = mdb_cursor_get(topics, &k, &v, MDB_NEXT)) {
        if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen))
            break;
        if (k.mv_size > 255 || v.mv_size != 8)
            continue;
        head_t head = {0,         0,    brg_compat_strndup((const char *)k.mv_data, k.mv_size),
                       k.mv_size, NULL, 0};
        uint64_t have = after ? after(after_arg, head.topic) : 0;
        if (get_u64(v.mv_data) > have && head_seek(index, &head, have + 1))
            heap_push(&heap, head);
        else
            free(head.topic);
    }
    visited = 0;
    while (heap.size && (size_t)visited < max) {
        head_t head = heap_pop(&heap);
        visited++;
        if (fn(arg, head.topic, head.seq, head.event, head.size)) {
            free(head.topic);
            break;
        }
        if (head_seek(index, &head, head.seq + 1))
            heap_push(&heap, head);
        else
            free(head.topic);
    }
    *more = heap.size > 0;
done:
    while (heap.size) {
        head_t head = heap_pop(&heap);
        free(head.topic);
    }
    free(heap.items);
    if (index)
        mdb_cursor_close(index);
    if (topics)
        mdb_cursor_close(topics);
    return visited;
}

int brg_store_journal_read(brg_store_t *self, const char *prefix, brg_store_after_fn *after,
                           void *after_arg, size_t max, brg_store_event_fn *fn, void *arg,
                           bool *more) {
    *more = false;
    MDB_txn *txn = read_topics_begin(self);
    if (!txn)
        return -1;
    int visited = journal_scan(self, txn, prefix, after, after_arg, max, fn, arg, more);
    if (visited < 0)
        set_error(self, "cannot read the journal");
    read_end(self, txn);
    return visited;
}

int brg_store_journal_read_mt(brg_store_t *self, const char *prefix, brg_store_after_fn *after,
                              void *after_arg, size_t max, brg_store_event_fn *fn, void *arg,
                              bool *more) {
    *more = false;
    pthread_rwlock_rdlock(&self->resize_lock);
    MDB_txn *txn = NULL;
    int visited = -1;
    /* MDB_NOTLS: a read transaction of this thread does not collide with the loop's */
    if (mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn) == 0) {
        visited = journal_scan(self, txn, prefix, after, after_arg, max, fn, arg, more);
        mdb_txn_abort(txn);
    }
    pthread_rwlock_unlock(&self->resize_lock);
    return visited;
}

int brg_store_account_topics(brg_store_t *self, const char *account_id, brg_store_topic_fn *fn,
                             void *arg) {
    char suffix[256];
    if (!account_id || !*account_id ||
        snprintf(suffix, sizeof suffix, ".%s.", account_id) >= (int)sizeof suffix)
        return -1;
    size_t slen = strlen(suffix);
    MDB_txn *txn = read_topics_begin(self);
    if (!txn)
        return -1;
    MDB_cursor *cursor;
    int count = -1;
    if (mdb_cursor_open(txn, self->dbis[DB_TOPICS], &cursor) == 0) {
        count = 0;
        MDB_val k, v;
        /* suffix match on ".<account>." so 1000000365 never picks up 10000003650 */
        for (int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
            if (k.mv_size <= slen || k.mv_size > 255 || v.mv_size != 8 ||
                memcmp((const char *)k.mv_data + k.mv_size - slen, suffix, slen))
                continue;
            char topic[256];
            memcpy(topic, k.mv_data, k.mv_size);
            topic[k.mv_size] = 0;
            fn(arg, topic, get_u64(v.mv_data));
            count++;
        }
        mdb_cursor_close(cursor);
    }
    read_end(self, txn);
    return count;
}

/* --- idempotency ------------------------------------------------------------------- */

static size_t idem_key(char *buf, const char *client, const char *request_id) {
    /* client \x1f request_id, as much as the buffer (IDEM_KEY_MAX + 32) holds; copied by
       hand: it is built twice for every state-changing request */
    size_t clen = strlen(client), rlen = strlen(request_id), len = clen + 1 + rlen;
    size_t room = IDEM_KEY_MAX + 31, c = clen < room ? clen : room;
    memcpy(buf, client, c);
    if (c < room) {
        buf[c++] = 0x1f;
        size_t r = rlen < room - c ? rlen : room - c;
        memcpy(buf + c, request_id, r);
        c += r;
    }
    buf[c] = 0;
    if (len <= IDEM_KEY_MAX)
        return len;
    /* too long for an LMDB key: a prefix plus a 64-bit FNV-1a of the whole key */
    uint64_t hash = 1469598103934665603ULL;
    for (const char *p = client; *p; p++)
        hash = (hash ^ (uint8_t)*p) * 1099511628211ULL;
    hash = (hash ^ 0x1f) * 1099511628211ULL;
    for (const char *p = request_id; *p; p++)
        hash = (hash ^ (uint8_t)*p) * 1099511628211ULL;
    return (size_t)snprintf(buf + IDEM_KEY_MAX - 20, 21, "#%016llx", (unsigned long long)hash) +
           IDEM_KEY_MAX - 20;
}

int brg_store_reply_get(brg_store_t *self, const char *client, const char *request_id,
                        uint8_t **data, size_t *size) {
    char key[IDEM_KEY_MAX + 32];
    size_t klen = idem_key(key, client, request_id);
    /* the rows since the last LMDB commit, else the committed state: the write
       transaction may be the applier's just now */
    MDB_val k = {klen, key}, v;
    MDB_txn *txn = NULL;
    int rc = 0, found = 0;
    if (!ov_get(self, (const uint8_t *)key, klen, &v)) {
        if (!(txn = snapshot_txn(self)))
            return -1;
        rc = mdb_get(txn, self->dbis[DB_REPLIES], &k, &v);
    }
    /* a row retention has cut is gone, though its delete may not be committed yet */
    if (rc == 0 && v.mv_size >= 8 && get_u64(v.mv_data) < self->reply_cut)
        rc = MDB_NOTFOUND;
    if (rc == 0 && v.mv_size >= 8) {
        *size = v.mv_size - 8;
        *data = (uint8_t *)malloc(*size ? *size : 1);
        memcpy(*data, (const uint8_t *)v.mv_data + 8, *size);
        found = 1;
    } else if (rc && rc != MDB_NOTFOUND) {
        set_error(self, "cannot read idempotency row: %s", lmdb_text(rc));
        found = -1;
    }
    read_end(self, txn);
    return found;
}

int brg_store_reply_put(brg_store_t *self, const char *client, const char *request_id,
                        const uint8_t *data, size_t size) {
    char key[IDEM_KEY_MAX + 32];
    size_t klen = idem_key(key, client, request_id);
    if (write_begin(self))
        return -1;
    uint64_t now = (uint64_t)time(NULL);
    uint8_t *row = log_reserve(self, DB_REPLIES, OP_PUT, key, klen, 8 + size);
    memcpy(row, &now, 8);
    memcpy(row + 8, data, size);
    ov_put(self, (const uint8_t *)key, klen, row, 8 + size);
    apply_last(self);
    return write_end(self, 0);
}

/* --- backend state ----------------------------------------------------------------- */

int brg_store_state_put(brg_store_t *self, const void *key, size_t klen, const void *val,
                        size_t vlen) {
    if (klen == 0 || klen > IDEM_KEY_MAX) {
        set_error(self, "state key of %zu bytes", klen);
        if (self->batch)
            self->failed = true;
        return -1;
    }
    if (write_begin(self))
        return -1;
    write_op(self, DB_STATE, OP_PUT, key, klen, val, vlen);
    return write_end(self, 0);
}

int brg_store_state_del(brg_store_t *self, const void *key, size_t klen) {
    if (klen == 0 || klen > IDEM_KEY_MAX)
        return 0;
    if (write_begin(self))
        return -1;
    write_op(self, DB_STATE, OP_DEL, key, klen, NULL, 0);
    return write_end(self, 0);
}

int brg_store_state_get(brg_store_t *self, const void *key, size_t klen, uint8_t **val,
                        size_t *vlen) {
    if (klen == 0 || klen > IDEM_KEY_MAX)
        return 0;
    MDB_txn *txn = read_begin(self);
    if (!txn)
        return -1;
    MDB_val k = {klen, (void *)key}, v;
    int rc = mdb_get(txn, self->dbis[DB_STATE], &k, &v), found = 0;
    if (rc == 0) {
        *vlen = v.mv_size;
        *val = (uint8_t *)malloc(v.mv_size ? v.mv_size : 1);
        memcpy(*val, v.mv_data, v.mv_size);
        found = 1;
    } else if (rc != MDB_NOTFOUND) {
        set_error(self, "cannot read state: %s", lmdb_text(rc));
        found = -1;
    }
    read_end(self, txn);
    return found;
}

int brg_store_state_scan(brg_store_t *self, const void *prefix, size_t plen, brg_store_kv_fn *fn,
                         void *arg) {
    MDB_txn *txn = read_begin(self);
    if (!txn)
        return -1;
    MDB_cursor *cursor;
    int count = -1;
    if (mdb_cursor_open(txn, self->dbis[DB_STATE], &cursor) == 0) {
        count = 0;
        MDB_val k = {plen, (void *)prefix}, v;
        for (int rc = mdb_cursor_get(cursor, &k, &v, plen ? MDB_SET_RANGE : MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
            if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen))
                break;
            count++;
            if (fn(arg, k.mv_data, k.mv_size, v.mv_data, v.mv_size))
                break;
        }
        mdb_cursor_close(cursor);
    } else
        set_error(self, "cannot scan state");
    read_end(self, txn);
    return count;
}

/* --- retention --------------------------------------------------------------------- */

int64_t brg_store_prune(brg_store_t *self, int64_t now_s, int64_t budget) {
    if (self->batch || budget <= 0)
        return 0;
    if (write_begin(self))
        return -1;
    int64_t removed = 0, seen = 0;
    int rc = 0;
    MDB_cursor *cursor = NULL, *topics = NULL;
    MDB_val k, v;
    /* each topic's events are in time order: drop from its front while they are old */
    if (pend_apply(self) || !self->wtxn ||
        mdb_cursor_open(self->wtxn, self->dbis[DB_TOPICS], &topics) ||
        mdb_cursor_open(self->wtxn, self->dbis[DB_JOURNAL], &cursor)) {
        rc = -1;
        goto done;
    }
    for (int t = mdb_cursor_get(topics, &k, &v, MDB_FIRST); t == 0 && seen < budget;
         t = mdb_cursor_get(topics, &k, &v, MDB_NEXT)) {
        if (k.mv_size > 255)
            continue;
        char topic[256];
        size_t tlen = k.mv_size;
        memcpy(topic, k.mv_data, tlen);
        topic[tlen] = 0;
        bool heartbeat = tlen == 10 && memcmp(topic, "heartbeat.", 10) == 0;
        uint64_t cut = (uint64_t)(now_s - (heartbeat ? self->opts.heartbeat_retention_s
                                                     : self->opts.retention_s));
        uint8_t key[300];
        MDB_val jk = {index_key(key, topic, tlen, 0), key}, jv;
        for (int r = mdb_cursor_get(cursor, &jk, &jv, MDB_SET_RANGE); r == 0 && seen < budget;
             r = mdb_cursor_get(cursor, &jk, &jv, MDB_NEXT), seen++) {
            if (jk.mv_size != tlen + 9 || memcmp(jk.mv_data, topic, tlen + 1) ||
                jv.mv_size < JOURNAL_HEADER || get_u64((const uint8_t *)jv.mv_data + 8) >= cut)
                break;
            /* after a delete the cursor already sits on the next record; MDB_NEXT knows */
            log_reserve(self, DB_JOURNAL, OP_DEL, jk.mv_data, jk.mv_size, 0);
            if (mdb_cursor_del(cursor, 0)) {
                rc = -1;
                goto done;
            }
            self->count--;
            removed++;
        }
    }
    mdb_cursor_close(cursor);
    cursor = NULL;
    /* idempotency rows: a slice of the sweep, wrapping round at the end */
    uint64_t reply_cut = (uint64_t)(now_s - self->opts.reply_retention_s);
    self->reply_cut = reply_cut;
    if (mdb_cursor_open(self->wtxn, self->dbis[DB_REPLIES], &cursor)) {
        rc = -1;
        goto done;
    }
    k.mv_size = self->sweep_len;
    k.mv_data = self->sweep_key;
    int r = mdb_cursor_get(cursor, &k, &v, self->sweep_len ? MDB_SET_RANGE : MDB_FIRST);
    for (; r == 0 && seen < budget; r = mdb_cursor_get(cursor, &k, &v, MDB_NEXT), seen++) {
        if (v.mv_size >= 8 && get_u64(v.mv_data) < reply_cut) {
            log_reserve(self, DB_REPLIES, OP_DEL, k.mv_data, k.mv_size, 0);
            if (mdb_cursor_del(cursor, 0)) {
                rc = -1;
                goto done;
            }
            removed++;
        }
    }
    if (r == 0 && k.mv_size <= sizeof self->sweep_key) {
        memcpy(self->sweep_key, k.mv_data, k.mv_size); /* go on from here next time */
        self->sweep_len = k.mv_size;
    } else
        self->sweep_len = 0;
done:
    if (cursor)
        mdb_cursor_close(cursor);
    if (topics)
        mdb_cursor_close(topics);
    if (rc)
        set_error(self, "retention pass failed");
    if (write_end(self, rc))
        return -1;
    self->pruned += (uint64_t)removed;
    return removed;
}
