/*  brg_store.h - the bridge's one durable truth, an LMDB environment under --data:

    - the push journal: every event with its per-topic seq, in publish order, plus an index
      by (topic, seq), so replay reads exactly the page it serves;
    - the per-topic seq counters (kept apart from the journal, never pruned, so a seq is
      never reused);
    - the idempotency table of state-changing requests keyed by (client, request_id);
    - the backend's `state` keyspace (the sim's whole book: accounts, orders, trades,
      positions, quotes, id counters), opaque keys and values owned by the backend.

    Everything written between brg_store_begin() and brg_store_commit() is one atomic
    batch: a batch's book changes, journal rows and idempotency rows become durable
    together or not at all. Callers hold back what they hand out (pushes, replies) until
    commit succeeds. A batch is durable once its record is in the redo log (data.wal,
    brg_wal); LMDB's own commit (a checkpoint) follows every few milliseconds
    (brg_store_checkpoint, from a loop timer) and applies to many batches at once.

    Durability: BRG_DURABILITY_PROCESS loses nothing acknowledged when the process dies
    (the log and the LMDB map are shared file maps: the OS has every byte written);
    BRG_DURABILITY_POWER syncs each batch's log record and each checkpoint, so an
    acknowledged batch is on disk. MDB_WRITEMAP over a data file whose blocks are reserved
    with posix_fallocate before the map grows over them, so a full disk is a failed
    reservation the batch can report, never a SIGBUS.

    One bridge per data dir: brg_store_new() takes an exclusive lock on <data>/xtbridge.lock
    and fails if another process holds it.

    Threading: every call runs on the bridge loop thread, except brg_store_journal_read_mt
    and brg_store_epoch (which see checkpoints only). The store has a thread of its own,
    the applier, that puts logged batches into the B-tree (brg_store_handoff); it never
    calls back into the caller.
*/
#ifndef BRG_STORE_H_INCLUDED
#define BRG_STORE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct brg_store brg_store_t;

typedef enum { BRG_DURABILITY_PROCESS = 0, BRG_DURABILITY_POWER = 1 } brg_durability_t;

typedef struct {
    brg_durability_t durability;
    int64_t max_mb;                /* LMDB map size in MiB: the store's size limit */
    int64_t retention_s;           /* journal events older than this are pruned */
    int64_t heartbeat_retention_s; /* heartbeat. events, kept shorter */
    int64_t reply_retention_s;     /* idempotency rows */
} brg_store_opts_t;

/*  Defaults: process durability, 4096 MiB, events a week, heartbeats an hour, replies
    two days. */
void brg_store_opts_default(brg_store_opts_t *opts);

/*  Open or create the store in data_dir (created if needed). NULL + err on failure,
    including "another xtbridge uses this data dir". opts may be NULL for defaults. */
brg_store_t *brg_store_new(const char *data_dir, const brg_store_opts_t *opts, char *err,
                           size_t errlen);
void brg_store_destroy(brg_store_t **self_p);

/*  Group commit. begin nests; the write transaction opens lazily at the first write, so
    a batch of reads costs nothing. commit returns 0, or -1 when the transaction could not
    be committed (map full, I/O error, or an earlier write of the batch failed): then
    nothing of the batch is stored and brg_store_error() names the cause. */
int brg_store_begin(brg_store_t *self);
int brg_store_commit(brg_store_t *self);
bool brg_store_in_batch(brg_store_t *self);
/*  Commit to LMDB the batches the redo log holds (outside a batch; a no-op inside one or
    when there is nothing). The loop calls it every few ms so readers on other threads
    (brg_store_journal_read_mt) see recent batches and a restart has little to replay.
    0, or -1 when LMDB could not commit (the log keeps the batches; nothing is lost). */
int brg_store_checkpoint(brg_store_t *self);
/*  Between batches, after their replies are out: hand the writes that wait for the
    B-tree (journal, seq counters, book, idempotency rows) to the store's applier thread
    once enough of them wait (a batch that passes 32 KiB hands them over on its own).
    Without it they wait for the checkpoint, or a commit applies them on the calling
    thread when 256 KiB wait: the right thing for requests that come one at a time, whose
    clients the applier's runs would slow down (the router calls this after pipelined
    batches only). 0, or -1
    when an earlier run of the applier failed and the store could not recover (the redo
    log keeps the batches; brg_store_error() says why). */
int brg_store_handoff(brg_store_t *self);
/*  Runs of writes handed to the applier since open. */
uint64_t brg_store_handoffs(brg_store_t *self);
/*  Checkpoints since open. */
uint64_t brg_store_checkpoints(brg_store_t *self);
/*  Make the open batch fail at commit (a caller could not write what it must), with
    `why` as the error unless a write of the batch already failed (its cause is kept).
    No-op outside a batch. */
void brg_store_fail_batch(brg_store_t *self, const char *why);
/*  Whether a write of the open batch has failed (it cannot commit any more). */
bool brg_store_batch_failed(brg_store_t *self);
/*  Whether the open batch has written anything yet. */
bool brg_store_batch_dirty(brg_store_t *self);

/*  Epoch of the journal: random, set when the store is created, never 0. */
uint64_t brg_store_epoch(brg_store_t *self);
brg_durability_t brg_store_durability(brg_store_t *self);
const char *brg_store_durability_name(brg_durability_t durability);

/*  Append one published event: takes the next seq of `topic` and journals the bytes that
    `pack` produces for that seq (malloc'd, size via *size, NULL/0 on failure). Outside a
    batch it is a batch of its own. Returns 0 and sets *seq, *data (caller frees), *size;
    or -1 (the seq is not taken). */
typedef uint8_t *(brg_store_pack_fn)(void *arg, uint64_t seq, size_t *size);
int brg_store_journal_append(brg_store_t *self, const char *topic, brg_store_pack_fn *pack,
                             void *arg, uint64_t *seq, uint8_t **data, size_t *size);

/*  Pull-based replay read: events of topics starting with `prefix`, in publish order,
    skipping events with seq <= after(topic) (`after` returns 0 for a topic the client has
    not seen), at most `max` events. Calls fn for each (data borrowed for the call). Sets
    *more when matching events remain after the last one visited. Reads through the
    (topic, seq) index: cost is O(topics matched + events returned), memory O(topics).
    Returns the number visited, or -1 on error. */
typedef uint64_t(brg_store_after_fn)(void *arg, const char *topic);
typedef int(brg_store_event_fn)(void *arg, const char *topic, uint64_t seq, const uint8_t *data,
                                size_t size);
int brg_store_journal_read(brg_store_t *self, const char *prefix, brg_store_after_fn *after,
                           void *after_arg, size_t max, brg_store_event_fn *fn, void *arg,
                           bool *more);

/*  The same read for a thread other than the loop's (the JetStream forwarder): its own
    read transaction, which never blocks the writer; it sees the last checkpoint. Only this
    and brg_store_epoch may be called off the loop thread. -1 on error (no
    brg_store_error text: that belongs to the loop thread). */
int brg_store_journal_read_mt(brg_store_t *self, const char *prefix, brg_store_after_fn *after,
                              void *after_arg, size_t max, brg_store_event_fn *fn, void *arg,
                              bool *more);

/*  Visit every topic `<kind>.<account_id>.` that has published, with its last seq.
    Returns the number visited, or -1 on error. */
typedef void(brg_store_topic_fn)(void *arg, const char *topic, uint64_t last_seq);
int brg_store_account_topics(brg_store_t *self, const char *account_id, brg_store_topic_fn *fn,
                             void *arg);

/*  Idempotency: the stored reply for (client, request_id). Returns 1 and a malloc'd copy
    (caller frees) when found, 0 when not, -1 on error. */
int brg_store_reply_get(brg_store_t *self, const char *client, const char *request_id,
                        uint8_t **data, size_t *size);
/*  Store the reply for (client, request_id) in the open batch. Returns 0 or -1. */
int brg_store_reply_put(brg_store_t *self, const char *client, const char *request_id,
                        const uint8_t *data, size_t size);

/*  The backend's keyspace. put/del write into the open batch (a batch of their own
    outside one); get/scan see the batch's own writes. Keys are at most 400 bytes.
    get returns 1 with a malloc'd copy (caller frees), 0 when absent, -1 on error.
    scan visits keys starting with `prefix` in key order (bytes borrowed for the call; fn
    returns 0 to go on, 1 to stop) and returns the number visited or -1. */
int brg_store_state_put(brg_store_t *self, const void *key, size_t klen, const void *val,
                        size_t vlen);
int brg_store_state_del(brg_store_t *self, const void *key, size_t klen);
int brg_store_state_get(brg_store_t *self, const void *key, size_t klen, uint8_t **val,
                        size_t *vlen);
typedef int(brg_store_kv_fn)(void *arg, const void *key, size_t klen, const void *val, size_t vlen);
int brg_store_state_scan(brg_store_t *self, const void *prefix, size_t plen, brg_store_kv_fn *fn,
                         void *arg);

/*  Retention: remove at most `budget` expired journal events and idempotency rows (never
    seq counters). Runs as a batch of its own (call it outside a batch). Returns how many
    were removed, or -1. */
int64_t brg_store_prune(brg_store_t *self, int64_t now_s, int64_t budget);
/*  Events in the journal now; events pruned since open. */
uint64_t brg_store_journal_count(brg_store_t *self);
uint64_t brg_store_pruned(brg_store_t *self);
/*  Batches committed / rolled back since open. */
uint64_t brg_store_commits(brg_store_t *self);
uint64_t brg_store_failures(brg_store_t *self);

/*  Text of the last error, for logs and BACKEND_ERROR replies. Owned by the store. */
const char *brg_store_error(brg_store_t *self);

#ifdef __cplusplus
}
#endif
#endif
