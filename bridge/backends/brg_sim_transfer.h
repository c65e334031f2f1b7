/*  brg_sim_transfer.h - what lies beside a simulated account's own book: the ordinary
    counter (普通柜台: its cash and holdings, query_com_fund / query_com_position), the
    other node's cash, and deals recorded from outside the counter
    (sync_transaction_from_external), which query_stock_trades lists after the day's own.

    fund_transfer moves cash, never creates it: 510 ordinary counter -> this account,
    511 this account -> ordinary counter, 512 this (SH) node -> SZ node, 513 SZ node ->
    this node. Every account starts with 100,000.00 on the ordinary counter and 1,000
    000001.SZ held there; the other node starts empty.

    Durability: one record (SimTransfer) under "X/" <account id>, written when changed.
*/
#ifndef BRG_SIM_TRANSFER_H_INCLUDED
#define BRG_SIM_TRANSFER_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "brg_sim.h"
#include "brg_sim_stock.h"
#include "brg_store.h"
#include "xtbridge.pb-c.h"
#include "xtbridge_state.pb-c.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BRG_SIM_KEY_TRANSFER "X/"
enum {
    BRG_SIM_TRANSFER_NORMAL_TO_SPEED = 510,
    BRG_SIM_TRANSFER_SPEED_TO_NORMAL = 511,
    BRG_SIM_TRANSFER_SH_TO_SZ = 512,
    BRG_SIM_TRANSFER_SZ_TO_SH = 513,
};

typedef struct brg_sim_transfer brg_sim_transfer_t;

brg_sim_transfer_t *brg_sim_transfer_new(brg_sim_ctx_t *ctx, const char *account_id,
                                         int32_t account_type);
void brg_sim_transfer_destroy(brg_sim_transfer_t **self_p);

/*  Move `amount` fen (> 0) in `direction` (510..513) between `stock`'s available cash
    and the other side; `withdrawable` caps what may leave the account (a credit account
    keeps its maintenance ratio). true, or false with the reason in msg. */
bool brg_sim_transfer_fund(brg_sim_transfer_t *self, brg_sim_stock_t *stock, int32_t direction,
                           int64_t amount, int64_t withdrawable, char *msg, size_t len);
/*  The other node's cash, fen. */
int64_t brg_sim_transfer_node_cash(brg_sim_transfer_t *self);

void brg_sim_transfer_com_fund(brg_sim_transfer_t *self, Xtbridge__ComFund *out);
size_t brg_sim_transfer_com_position_count(brg_sim_transfer_t *self);
void brg_sim_transfer_com_position_at(brg_sim_transfer_t *self, size_t index,
                                      Xtbridge__ComPosition *out);

/*  sync_transaction_from_external: `operation` ADD, UPDATE, REPLACE or DELETE of deals
    (one flat JSON object each). NULL when done, else the reason (nothing changed). */
const char *brg_sim_transfer_sync(brg_sim_transfer_t *self, const char *operation,
                                  const char *data_type, char *const *deals, size_t ndeals,
                                  char *buf, size_t len);
size_t brg_sim_transfer_deal_count(brg_sim_transfer_t *self);
void brg_sim_transfer_deal_at(brg_sim_transfer_t *self, size_t index, Xtbridge__XtTrade *out);

int brg_sim_transfer_persist(brg_sim_transfer_t *self, brg_store_t *store);
int brg_sim_transfer_load(brg_sim_transfer_t *self, const Xtbridge__State__SimTransfer *m);

#ifdef __cplusplus
}
#endif
#endif
