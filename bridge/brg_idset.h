/*  brg_idset.h - a set of positive 64-bit ids (order ids), open addressing with linear
    probing and backward-shift deletion: no per-entry allocation, no tombstones. The table
    doubles past 3/4 full (8 bytes per slot: 10.7 to 21.3 bytes per member, 14 at 300,000
    open orders) and goes back to its first size once emptied (a day close expires every
    open order). It exists because the risk module tracks every
    open order of every account on every order push: a string-keyed zhash cost a
    snprintf, a malloc and ~100 bytes per order on the hottest path of the bridge.
*/
#ifndef BRG_IDSET_H_INCLUDED
#define BRG_IDSET_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct brg_idset brg_idset_t;

/*  A new empty set; the caller owns it (brg_idset_destroy). Aborts only when out of memory. */
brg_idset_t *brg_idset_new(void);
void brg_idset_destroy(brg_idset_t **self_p);

/*  Add id (> 0; 0 and negative ids are ignored). Returns true when it was not there. */
bool brg_idset_add(brg_idset_t *self, int64_t id);
/*  Remove id. Returns true when it was there. */
bool brg_idset_remove(brg_idset_t *self, int64_t id);
bool brg_idset_has(const brg_idset_t *self, int64_t id);
size_t brg_idset_size(const brg_idset_t *self);
void brg_idset_clear(brg_idset_t *self);
/*  Bytes of the slot table (what the set costs besides its small header). */
size_t brg_idset_bytes(const brg_idset_t *self);
/*  Copy the members into a new array (caller frees), in no particular order; *count gets
    their number. NULL (and *count 0) when the set is empty. */
int64_t *brg_idset_members(const brg_idset_t *self, size_t *count);

#ifdef __cplusplus
}
#endif

#endif
