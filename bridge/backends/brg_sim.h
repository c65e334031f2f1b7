/*  brg_sim.h - the `sim` session backend: an in-process A-share simulator behind the same
    ops table a real terminal backend uses.

    brg_sim.c owns the accounts, the market and the counters and dispatches requests;
    each account type is its own class (brg_sim_stock_t for STOCK today; credit and
    futures accounts will sit beside it) that receives a brg_sim_ctx_t to reach the
    shared market, the id counters and the event sink.

    Durability: with a store (env->store), the whole book lives in the store's backend
    keyspace, one record per account, quote, position, order and trade plus the counters
    (layout in proto/xtbridge_state.proto). Every class marks what it changes; the `persist`
    op writes only those records into the router's open batch, and `restore` reloads the
    book from the store when a batch failed to commit.
*/
#ifndef BRG_SIM_H_INCLUDED
#define BRG_SIM_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "brg_backend.h"
#include "brg_sim_market.h"
#include "xtbridge_state.pb-c.h"

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
    /* may be NULL: the bridge's mid-call commit, offered between two fills (see
       brg_backend_env_t.checkpoint) so a price move that fills thousands of orders
       publishes its first fills at once */
    int (*checkpoint)(void *arg);
    void *checkpoint_arg;
    /* set_relaxed_response_order_enabled: false (default) pushes an async call's answer
       before what the call causes; true lets it come after (a session flag, not stored) */
    bool relaxed_order;
} brg_sim_ctx_t;

extern const brg_backend_ops_t brg_sim_ops;

/*  The pushes of a cancel's outcome, as xttrader sends them: cancel_async when seq > 0
    (the async call's answer; cancel_result -1 on failure), and on failure cancel_error
    (error_id BRG_SIM_CANCEL_ERROR_ID). The answer comes first unless relaxed response
    order (ctx->relaxed_order) lets it come after. error NULL: a cancel that went through. */
void brg_sim_push_cancel_result(const brg_sim_ctx_t *ctx, int32_t account_type,
                                const char *account_id, int64_t order_id, int market,
                                const char *sysid, const char *error, int64_t seq);

/*  Version of the stored book's layout (SimCounters.format). */
#define BRG_SIM_STATE_FORMAT 2 /* 2: money in fen (int64); 1: yuan doubles, still read */

/*  Key prefixes in the store's backend keyspace (see xtbridge_state.proto). */
#define BRG_SIM_KEY_COUNTERS "c"
#define BRG_SIM_KEY_ACCOUNT "a/"
#define BRG_SIM_KEY_QUOTE "q/"
#define BRG_SIM_KEY_POSITION "p/"
#define BRG_SIM_KEY_ORDER "o/"
#define BRG_SIM_KEY_TRADE "t/"
/*  Longest key: "p/" + account id (<= 64) + NUL + code (< 32). */
#define BRG_SIM_KEY_MAX 128

/*  `prefix` (2 chars) followed by `id` as 8 bytes big-endian, so key order is id order.
    Returns the key length (10). */
size_t brg_sim_key_id(uint8_t *key, const char *prefix, int64_t id);
/*  `prefix` followed by `a`, and when b is not NULL, a NUL and `b`. Truncated to
    BRG_SIM_KEY_MAX. Returns the key length. */
size_t brg_sim_key_str(uint8_t *key, const char *prefix, const char *a, const char *b);
/*  Pack `msg` and put it under `key` in the store's open batch. Returns 0 or -1. */
int brg_sim_state_put(brg_store_t *store, const void *key, size_t klen,
                      const ProtobufCMessage *msg);

#ifdef __cplusplus
}
#endif
#endif
