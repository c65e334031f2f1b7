/*  brg_plans.h - a table from a protobuf-c message descriptor to a "plan" built from it
    once and kept for the process: brg_pbenc's packing plans and brg_validate's walks each
    keep one. A plan is any malloc'd struct whose first member is a brg_plan_head_t.

    Lock-free (C11 atomics): two threads that meet a new type at once both build its plan
    and one is dropped. Inline, as the encoder looks a plan up for every message it packs.
*/
#ifndef BRG_PLANS_H_INCLUDED
#define BRG_PLANS_H_INCLUDED

#include <protobuf-c/protobuf-c.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  What every plan starts with: its message type and the number of steps after it (the
    steps are each module's own). */
typedef struct {
    const ProtobufCMessageDescriptor *desc;
    unsigned n;
} brg_plan_head_t;

/*  Builds the plan of desc (malloc'd, a brg_plan_head_t first), or NULL. */
typedef void *brg_plan_build_fn(const ProtobufCMessageDescriptor *desc);

/*  The plan of desc in `slots` (a zeroed array of nslots, kept for the process), built by
    `build` the first time. NULL when build fails or every slot holds another type's plan.
    The table owns the plans. */
static inline void *brg_plans_of(_Atomic(void *) *slots, size_t nslots,
                                 const ProtobufCMessageDescriptor *desc, brg_plan_build_fn *build) {
    size_t h = ((uintptr_t)desc >> 4) * 0x9E3779B97F4A7C15ULL >> 32;
    for (size_t probe = 0; probe < nslots; probe++) {
        _Atomic(void *) *slot = &slots[(h + probe) % nslots];
        void *p = atomic_load_explicit(slot, memory_order_acquire);
        if (p && ((const brg_plan_head_t *)p)->desc == desc)
            return p;
        if (p)
            continue;
        void *mine = build(desc);
        if (!mine)
            return NULL;
        void *expected = NULL;
        if (atomic_compare_exchange_strong(slot, &expected, mine))
            return mine;
        free(mine);
        if (((const brg_plan_head_t *)expected)->desc == desc)
            return expected;
    }
    return NULL;
}

#ifdef __cplusplus
}
#endif
#endif
