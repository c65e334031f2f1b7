/*  brg_store.h - the bridge's durable state in one SQLite database (WAL) under --data:
    the push journal (every event with its per-topic seq, written before it is published,
    so replay can serve gaps and seq survives restart), the per-topic seq counters (kept
    apart from the journal so pruning old events never lets a seq be reused), the journal
    epoch, and the idempotency table of state-changing requests keyed by (client, request_id).
*/
#ifndef BRG_STORE_H_INCLUDED
#define BRG_STORE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct brg_store brg_store_t;

/*  Open or create <data_dir>/xtbridge.db (creating data_dir if needed). NULL + err on
    failure. */
brg_store_t *brg_store_new(const char *data_dir, char *err, size_t errlen);
void brg_store_destroy(brg_store_t **self_p);

/*  Group commit: everything written between begin and commit is one transaction (one WAL
    commit instead of one per event and per reply). Callers that hand out what was written
    (publisher, router) hold it back until commit succeeds. Nests; returns 0 or -1. A
    failed commit rolls the whole batch back. */
int brg_store_begin(brg_store_t *self);
int brg_store_commit(brg_store_t *self);
bool brg_store_in_batch(brg_store_t *self);

/*  Epoch of the journal: random, set when the database is created, never 0. */
uint64_t brg_store_epoch(brg_store_t *self);

/*  Append one published event: takes the next seq of `topic` and journals the packed
    event bytes produced by `pack` for that seq, atomically (a savepoint, nested in the
    batch if one is open), so a seq is used only if its event is stored. `pack` writes the event for
   `seq` into a buffer it allocates with malloc and returns its size via *size (0 on failure).
   Returns 0 and sets *seq, *data (caller frees) / *size, or -1. */
typedef uint8_t *(brg_store_pack_fn)(void *arg, uint64_t seq, size_t *size);
int brg_store_journal_append(brg_store_t *self, const char *topic, brg_store_pack_fn *pack,
                             void *arg, uint64_t *seq, uint8_t **data, size_t *size);

/*  Walk journaled events whose topic starts with `prefix`, in publish order, starting after
    journal position `after_pos` (0 = from the start). The callback returns 0 to go on, 1 to
    stop. Returns the journal position of the last event visited (to resume), or -1 on error. */
typedef int(brg_store_event_fn)(void *arg, const char *topic, uint64_t seq, const uint8_t *data,
                                size_t size);
int64_t brg_store_journal_scan(brg_store_t *self, const char *prefix, int64_t after_pos,
                               brg_store_event_fn *fn, void *arg);

/*  Visit every topic `<kind>.<account_id>.` that has published, with its last seq.
    Returns the number visited, or -1 on error. */
typedef void(brg_store_topic_fn)(void *arg, const char *topic, uint64_t last_seq);
int brg_store_account_topics(brg_store_t *self, const char *account_id, brg_store_topic_fn *fn,
                             void *arg);

/*  Idempotency: the stored reply for (client, request_id). Returns 1 and a malloc'd copy
    (caller frees) when found, 0 when not, -1 on error. */
int brg_store_reply_get(brg_store_t *self, const char *client, const char *request_id,
                        uint8_t **data, size_t *size);
/*  Store the reply for (client, request_id). Returns 0 or -1. */
int brg_store_reply_put(brg_store_t *self, const char *client, const char *request_id,
                        const uint8_t *data, size_t size);

/*  Last SQLite error text, for logs. Owned by the store. */
const char *brg_store_error(brg_store_t *self);

#endif
