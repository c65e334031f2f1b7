/*  test_idset.c - brg_idset: exact membership against a plain bitmap through a long seeded
    random run of adds and removes (so backward-shift deletion meets wrapped chains and
    growth), plus the edge cases the risk module relies on.
*/
#include <criterion/criterion.h>
#include <stdlib.h>

#include "brg_idset.h"

Test(idset, add_remove_has_size) {
    brg_idset_t *set = brg_idset_new();
    cr_assert(brg_idset_add(set, 7));
    cr_assert_not(brg_idset_add(set, 7), "a second add of 7 is not new");
    cr_assert(brg_idset_has(set, 7));
    cr_assert_not(brg_idset_has(set, 8));
    cr_assert_eq(brg_idset_size(set), 1);
    cr_assert_not(brg_idset_add(set, 0), "0 is not an id");
    cr_assert_not(brg_idset_add(set, -5), "negative ids are ignored");
    cr_assert_eq(brg_idset_size(set), 1);
    cr_assert(brg_idset_remove(set, 7));
    cr_assert_not(brg_idset_remove(set, 7));
    cr_assert_eq(brg_idset_size(set), 0);
    size_t n = 99;
    cr_assert_null(brg_idset_members(set, &n));
    cr_assert_eq(n, 0);
    brg_idset_destroy(&set);
    cr_assert_null(set, "destroy NULLs the pointer");
    brg_idset_destroy(&set); /* and a second destroy is harmless */
}

Test(idset, random_against_bitmap) {
    enum { RANGE = 5000, STEPS = 400000 };
    static bool ref[RANGE + 1];
    size_t ref_size = 0;
    brg_idset_t *set = brg_idset_new();
    srand(20261130);
    for (int i = 0; i < STEPS; i++) {
        int64_t id = 1 + rand() % RANGE;
        /* mostly adds early, mostly removes late: the table grows, fills, drains */
        bool add = (rand() % 100) < (i < STEPS / 2 ? 60 : 40);
        if (add) {
            cr_assert_eq(brg_idset_add(set, id), !ref[id], "add %lld at step %d", (long long)id, i);
            if (!ref[id])
                ref_size++;
            ref[id] = true;
        } else {
            cr_assert_eq(brg_idset_remove(set, id), ref[id], "remove %lld at step %d",
                         (long long)id, i);
            if (ref[id])
                ref_size--;
            ref[id] = false;
        }
        cr_assert_eq(brg_idset_size(set), ref_size);
        if (i % 50000 == 0)
            for (int64_t k = 1; k <= RANGE; k++)
                cr_assert_eq(brg_idset_has(set, k), ref[k], "has %lld at step %d", (long long)k, i);
    }
    size_t n = 0;
    int64_t *members = brg_idset_members(set, &n);
    cr_assert_eq(n, ref_size);
    size_t seen = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert(members[i] >= 1 && members[i] <= RANGE && ref[members[i]]);
        seen++;
    }
    cr_assert_eq(seen, ref_size);
    free(members);
    brg_idset_clear(set);
    cr_assert_eq(brg_idset_size(set), 0);
    for (int64_t k = 1; k <= RANGE; k++)
        cr_assert_not(brg_idset_has(set, k));
    brg_idset_destroy(&set);
}

Test(idset, grows_past_three_quarters_and_shrinks_when_emptied) {
    brg_idset_t *set = brg_idset_new();
    cr_assert_eq(brg_idset_bytes(set), 16 * sizeof(int64_t));
    for (int64_t id = 1; id <= 12; id++) /* 12 of 16 slots: 3/4, still the first table */
        cr_assert(brg_idset_add(set, id));
    cr_assert_eq(brg_idset_bytes(set), 16 * sizeof(int64_t));
    cr_assert(brg_idset_add(set, 13));
    cr_assert_eq(brg_idset_bytes(set), 32 * sizeof(int64_t));
    /* 300,000 open orders fit 2^19 slots (4 MiB, 14 bytes per member) */
    for (int64_t id = 14; id <= 300000; id++)
        cr_assert(brg_idset_add(set, id));
    cr_assert_eq(brg_idset_bytes(set), ((size_t)1 << 19) * sizeof(int64_t));
    for (int64_t id = 1; id <= 300000; id++)
        cr_assert(brg_idset_has(set, id));
    cr_assert_not(brg_idset_has(set, 300001));
    /* a day close expires them all: the big table goes */
    for (int64_t id = 300000; id >= 2; id--)
        cr_assert(brg_idset_remove(set, id));
    cr_assert_eq(brg_idset_bytes(set), ((size_t)1 << 19) * sizeof(int64_t));
    cr_assert(brg_idset_remove(set, 1));
    cr_assert_eq(brg_idset_size(set), 0);
    cr_assert_eq(brg_idset_bytes(set), 16 * sizeof(int64_t));
    cr_assert_not(brg_idset_has(set, 1));
    /* and it works as before */
    cr_assert(brg_idset_add(set, 7));
    cr_assert(brg_idset_has(set, 7));
    for (int64_t id = 100; id < 200; id++)
        cr_assert(brg_idset_add(set, id));
    cr_assert_eq(brg_idset_bytes(set), 256 * sizeof(int64_t));
    brg_idset_clear(set);
    cr_assert_eq(brg_idset_size(set), 0);
    cr_assert_eq(brg_idset_bytes(set), 16 * sizeof(int64_t));
    cr_assert_not(brg_idset_has(set, 7));
    brg_idset_destroy(&set);
}
