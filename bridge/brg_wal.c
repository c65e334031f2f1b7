/*  brg_wal.c - the store's redo log (see brg_wal.h): records appended into a mapped file,
    checked by a checksum and the batch numbering on the way back.
*/
#include "brg_wal.h"

#include "brg_compat.h"

#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define WAL_MAGIC 0x314c4157u /* "WAL1" */
#define HEADER 32

typedef struct {
    uint32_t magic;
    uint32_t size; /* payload bytes */
    uint64_t batch;
    uint64_t epoch;
    uint64_t check;
} header_t;

struct brg_wal {
    brg_compat_map_t *map;
    uint8_t *base;
    size_t bytes;
    size_t tail; /* where the next record goes */
    uint64_t epoch;
};

/* Not a cryptographic hash: it only has to tell a torn or stale record from a whole one.
   Eight bytes a step keeps it far below the cost of the copy. */
static uint64_t checksum(const header_t *h, const uint8_t *data, size_t size) {
    uint64_t x = h->batch ^ (h->epoch * 0x9E3779B97F4A7C15ULL) ^ ((uint64_t)h->size << 32);
    size_t i = 0;
    for (; i + 8 <= size; i += 8) {
        uint64_t w;
        memcpy(&w, data + i, 8);
        x = (x ^ w) * 0xBF58476D1CE4E5B9ULL;
        x ^= x >> 29;
    }
    uint64_t w = 0;
    memcpy(&w, data + i, size - i);
    x = (x ^ w ^ size) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

static size_t padded(size_t size) {
    return (size + 7) & ~(size_t)7;
}

brg_wal_t *brg_wal_new(const char *path, size_t bytes, uint64_t epoch, char *err, size_t errlen) {
    uint8_t *base = NULL;
    brg_compat_map_t *map = brg_compat_map_open(path, bytes, &base);
    if (!map) {
        snprintf(err, errlen, "cannot map the redo log %s (%zu MiB): %s", path, bytes >> 20,
                 strerror(errno));
        return NULL;
    }
    brg_wal_t *self = (brg_wal_t *)zmalloc(sizeof *self);
    self->map = map;
    self->base = base;
    self->bytes = bytes;
    self->epoch = epoch;
    return self;
}

void brg_wal_destroy(brg_wal_t **self_p) {
    if (!self_p || !*self_p)
        return;
    brg_compat_map_close(&(*self_p)->map);
    free(*self_p);
    *self_p = NULL;
}

int brg_wal_append(brg_wal_t *self, uint64_t batch, const void *data, size_t size, bool sync) {
    size_t need = HEADER + padded(size);
    if (size > UINT32_MAX || need > self->bytes - self->tail)
        return 1;
    header_t h = {WAL_MAGIC, (uint32_t)size, batch, self->epoch, 0};
    h.check = checksum(&h, (const uint8_t *)data, size);
    uint8_t *at = self->base + self->tail;
    memcpy(at + HEADER, data, size);
    memcpy(at, &h, sizeof h);
    if (sync && brg_compat_map_sync(self->map, self->tail, need)) {
        int saved = errno;
        memset(at, 0, HEADER); /* not on disk as a whole: never replay it */
        errno = saved;
        return -1;
    }
    self->tail += need;
    return 0;
}

int brg_wal_scan(brg_wal_t *self, brg_wal_record_fn *fn, void *arg) {
    int visited = 0;
    size_t at = 0;
    while (self->bytes - at >= HEADER) {
        header_t h;
        memcpy(&h, self->base + at, sizeof h);
        const uint8_t *data = self->base + at + HEADER;
        if (h.magic != WAL_MAGIC || h.epoch != self->epoch || h.size > self->bytes - at - HEADER ||
            checksum(&h, data, h.size) != h.check)
            break;
        visited++;
        if (fn(arg, h.batch, data, h.size))
            break;
        at += HEADER + padded(h.size);
    }
    return visited;
}

void brg_wal_reset(brg_wal_t *self) {
    self->tail = 0;
}

size_t brg_wal_used(brg_wal_t *self) {
    return self->tail;
}

size_t brg_wal_size(brg_wal_t *self) {
    return self->bytes;
}
