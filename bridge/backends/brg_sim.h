/*  brg_sim.h - the `sim` session backend: an in-process A-share simulator behind the same
    ops table a real terminal backend uses.

    brg_sim.c owns the accounts, the market and the counters and dispatches requests;
    each account type is its own class (brg_sim_stock_t for STOCK today; credit and
    futures accounts will sit beside it) that receives a brg_sim_ctx_t to reach the
    shared market, the id counters and the event sink.
*/
#ifndef BRG_SIM_H_INCLUDED
#define BRG_SIM_H_INCLUDED

#include <stdint.h>

#include "brg_backend.h"
#include "brg_sim_market.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  State shared by all accounts of one sim backend. Owned by the backend; account
    classes keep a borrowed pointer. */
typedef struct {
    brg_emit_fn *emit; /* may be NULL: pushes are then dropped */
    void *emit_arg;
    brg_sim_market_t *market;
    int64_t next_order_id; /* order ids are unique across accounts, from 1 */
    int64_t next_trade_id;
} brg_sim_ctx_t;

extern const brg_backend_ops_t brg_sim_ops;

#ifdef __cplusplus
}
#endif
#endif
