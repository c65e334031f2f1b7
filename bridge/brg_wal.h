/*  brg_wal.h - the store's redo log: a fixed-size file, mapped, holding the records of the
    batches committed since the store's last checkpoint.

    Why: an LMDB commit per batch copies every B-tree page the batch touches and flips a
    meta page; most of an order's store cost. With the log, a batch's commit is one record
    copied into the map (a process that dies leaves it in the OS page cache; `power`
    durability syncs its pages), while LMDB commits every few milliseconds (a checkpoint)
    whatever accumulated. After a checkpoint the log starts again from its beginning.

    A record: a 32-byte header (magic, payload size, batch number, the store's epoch, a
    64-bit checksum of all of it) and the payload, padded to 8 bytes. A scan stops at the
    first header that is not a whole, valid record of this epoch; the caller decides by
    batch number which records are new (the bytes after the last record written since the
    last reset are older records or garbage).

    Threading: the loop thread only.
*/
#ifndef BRG_WAL_H_INCLUDED
#define BRG_WAL_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct brg_wal brg_wal_t;

/*  Open or create the log at `path`, `bytes` long (reserved on disk), for records of
    `epoch`. NULL and a message in err on failure. */
brg_wal_t *brg_wal_new(const char *path, size_t bytes, uint64_t epoch, char *err, size_t errlen);
void brg_wal_destroy(brg_wal_t **self_p);

/*  Append a record. Returns 0; 1 when it does not fit in what is left (nothing written:
    checkpoint, then brg_wal_reset); -1 when `sync` was asked and the pages could not be
    put on disk (errno set; the record is erased again, so a restart does not replay it). */
int brg_wal_append(brg_wal_t *self, uint64_t batch, const void *data, size_t size, bool sync);

/*  Visit the valid records from the start, in order: fn gets each record's batch number and
    payload (borrowed for the call) and returns 0 to go on, 1 to stop. Returns how many
    were visited. */
typedef int(brg_wal_record_fn)(void *arg, uint64_t batch, const uint8_t *data, size_t size);
int brg_wal_scan(brg_wal_t *self, brg_wal_record_fn *fn, void *arg);

/*  Everything logged is checkpointed: the next record goes at the start. */
void brg_wal_reset(brg_wal_t *self);

/*  Bytes in use since the last reset; the log's size. */
size_t brg_wal_used(brg_wal_t *self);
size_t brg_wal_size(brg_wal_t *self);

#ifdef __cplusplus
}
#endif
#endif
