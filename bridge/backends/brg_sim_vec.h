/*  brg_sim_vec.h - the growable arrays of the sim's books (dirty lists, ids, rows to
    delete): VEC(type) declares one, VEC_PUSH appends (doubling from 16; aborts on OOM like
    czmq). One definition for the stock and credit books, which each had their own.
    The owner frees `items`.
*/
#ifndef BRG_SIM_VEC_H_INCLUDED
#define BRG_SIM_VEC_H_INCLUDED

#include <stddef.h>
#include <stdlib.h>

#define VEC(type)                                                                                  \
    struct {                                                                                       \
        type *items;                                                                               \
        size_t size, capacity;                                                                     \
    }

#define VEC_PUSH(vec, item)                                                                        \
    do {                                                                                           \
        if ((vec).size == (vec).capacity) {                                                        \
            (vec).capacity = (vec).capacity ? (vec).capacity * 2 : 16;                             \
            (vec).items = realloc((vec).items, (vec).capacity * sizeof *(vec).items);              \
            if (!(vec).items)                                                                      \
                abort();                                                                           \
        }                                                                                          \
        (vec).items[(vec).size++] = (item);                                                        \
    } while (0)

#endif
