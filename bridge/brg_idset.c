/*  brg_idset.c - see brg_idset.h. Slots hold the id itself (0 = empty); the table doubles
    when 3/4 full (consecutive ids hashed by Fibonacci multiplication land evenly spaced, so
    the probe chains stay short at that load) and returns to its first size when the last
    member goes. Backward-shift deletion keeps every probe chain unbroken, so a lookup
    stops at the first empty slot.
*/
#include "brg_idset.h"

#include <stdlib.h>
#include <string.h>

#define FIRST_SLOTS 16

struct brg_idset {
    int64_t *slots;
    size_t nslots; /* a power of two */
    size_t size;
};

static size_t slot_of(const brg_idset_t *self, int64_t id) {
    /* ids are mostly consecutive: a multiplicative hash spreads them over the table */
    uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ULL;
    return (size_t)(h >> 20) & (self->nslots - 1);
}

static int64_t *alloc_slots(size_t n) {
    int64_t *slots = (int64_t *)calloc(n, sizeof(int64_t));
    if (!slots)
        abort();
    return slots;
}

brg_idset_t *brg_idset_new(void) {
    brg_idset_t *self = (brg_idset_t *)calloc(1, sizeof(brg_idset_t));
    if (!self)
        abort();
    self->nslots = FIRST_SLOTS;
    self->slots = alloc_slots(self->nslots);
    return self;
}

void brg_idset_destroy(brg_idset_t **self_p) {
    if (!self_p || !*self_p)
        return;
    free((*self_p)->slots);
    free(*self_p);
    *self_p = NULL;
}

/* Empty again, at the first size (a big table is freed, a small one zeroed). */
static void reset(brg_idset_t *self) {
    if (self->nslots == FIRST_SLOTS) {
        memset(self->slots, 0, FIRST_SLOTS * sizeof(int64_t));
        return;
    }
    free(self->slots);
    self->nslots = FIRST_SLOTS;
    self->slots = alloc_slots(self->nslots);
}

static void grow(brg_idset_t *self) {
    int64_t *old = self->slots;
    size_t n = self->nslots;
    self->nslots = n * 2;
    self->slots = alloc_slots(self->nslots);
    for (size_t i = 0; i < n; i++) {
        if (!old[i])
            continue;
        size_t s = slot_of(self, old[i]);
        while (self->slots[s])
            s = (s + 1) & (self->nslots - 1);
        self->slots[s] = old[i];
    }
    free(old);
}

bool brg_idset_add(brg_idset_t *self, int64_t id) {
    if (id <= 0)
        return false;
    if ((self->size + 1) * 4 > self->nslots * 3)
        grow(self);
    size_t s = slot_of(self, id);
    while (self->slots[s]) {
        if (self->slots[s] == id)
            return false;
        s = (s + 1) & (self->nslots - 1);
    }
    self->slots[s] = id;
    self->size++;
    return true;
}

bool brg_idset_has(const brg_idset_t *self, int64_t id) {
    if (id <= 0)
        return false;
    for (size_t s = slot_of(self, id); self->slots[s]; s = (s + 1) & (self->nslots - 1))
        if (self->slots[s] == id)
            return true;
    return false;
}

bool brg_idset_remove(brg_idset_t *self, int64_t id) {
    if (id <= 0)
        return false;
    size_t mask = self->nslots - 1, s = slot_of(self, id);
    while (self->slots[s] != id) {
        if (!self->slots[s])
            return false;
        s = (s + 1) & mask;
    }
    /* shift back every later member of the chain that may sit in the hole */
    size_t hole = s;
    for (size_t j = (hole + 1) & mask; self->slots[j]; j = (j + 1) & mask) {
        size_t home = slot_of(self, self->slots[j]);
        /* j's member may move to the hole unless its home lies cyclically in (hole, j] */
        bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!stays) {
            self->slots[hole] = self->slots[j];
            hole = j;
        }
    }
    self->slots[hole] = 0;
    self->size--;
    if (!self->size)
        reset(self); /* a big table emptied (a day close): give it back */
    return true;
}

size_t brg_idset_size(const brg_idset_t *self) {
    return self->size;
}

void brg_idset_clear(brg_idset_t *self) {
    self->size = 0;
    reset(self);
}

size_t brg_idset_bytes(const brg_idset_t *self) {
    return self->nslots * sizeof(int64_t);
}

int64_t *brg_idset_members(const brg_idset_t *self, size_t *count) {
    *count = 0;
    if (!self->size)
        return NULL;
    int64_t *out = (int64_t *)malloc(self->size * sizeof(int64_t));
    if (!out)
        abort();
    for (size_t i = 0; i < self->nslots; i++)
        if (self->slots[i])
            out[(*count)++] = self->slots[i];
    return out;
}
