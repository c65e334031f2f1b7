/*  brg_sim_futures.h - one simulated FUTURE account book (account type 1): the product
    table (exchange, multiplier, tick, margin rate, fees) that makes a contract code
    `<product><yymm>.<suffix>` tradable, long and short positions with a today/yesterday
    split, the six-, four- and two-key order types 0-15 of xtconstant with open /
    close-today / close-yesterday semantics (SHFE and INE tell them apart, the other
    exchanges close FIFO), margin frozen at entry and charged on fill, the daily
    mark-to-market at the day close (settlement price = last), and XtPositionStatistics.

    Money is integer fen inside (balance, margins, fees, P&L); yuan doubles only in the
    snapshots. Pushes follow the stock book's order (order_async, order 48 -> 50, asset for
    an open's freeze / position for a close's freeze; per fill trade(s), order, position,
    asset; cancels cancel_async, 51/52 -> 54/53, asset/position; rejections order 57 +
    order_error).

    Durability: the whole book is one SimFuturesBook record under "F/" <account id>,
    rewritten by brg_sim_futures_persist when anything changed (see xtbridge_state.proto).
*/
#ifndef BRG_SIM_FUTURES_H_INCLUDED
#define BRG_SIM_FUTURES_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "brg_sim.h"
#include "brg_sim_stock.h"
#include "brg_store.h"
#include "xtbridge.pb-c.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { BRG_SIM_ACCOUNT_FUTURE = 1 };
#define BRG_SIM_KEY_FUTURES "F/"

/*  Whether `code` is a contract of a known product: letters of the product, the
    delivery month as yymm (CZCE also ymm), a dot and the product's exchange suffix
    (IF CFFEX, SF SHFE, DF DCE, ZF CZCE, INE INE), e.g. IF2412.IF, rb2410.SF, SR501.ZF. */
bool brg_sim_futures_code_valid(const char *code);
/*  Why a futures-looking code is not valid, for error replies (into buf). */
const char *brg_sim_futures_code_problem(const char *code, char *buf, size_t len);
/*  xtconstant market of a valid contract (2..6), or -1. */
int brg_sim_futures_code_market(const char *code);
/*  The contract multiplier of a valid futures code (300 for IF2412.IF), 0 otherwise. */
int64_t brg_sim_futures_code_multiplier(const char *code);

typedef struct brg_sim_futures brg_sim_futures_t;

brg_sim_futures_t *brg_sim_futures_new(brg_sim_ctx_t *ctx, const char *account_id, double cash);
void brg_sim_futures_destroy(brg_sim_futures_t **self_p);

/*  Enter an order (args as for the stock book; the code is a valid contract). Returns its
    order id (a rejected order also has one). */
int64_t brg_sim_futures_order(brg_sim_futures_t *self, const brg_sim_order_args_t *args);
int brg_sim_futures_cancel(brg_sim_futures_t *self, int64_t order_id, int64_t seq);
int brg_sim_futures_cancel_sysid(brg_sim_futures_t *self, int market, const char *order_sysid,
                                 int64_t seq);
/*  A piece of one matching pass of the resting orders on quote's code; as
    brg_sim_stock_match_some. */
int brg_sim_futures_match_some(brg_sim_futures_t *self, const brg_sim_quote_t *quote, int64_t *left,
                               size_t *at, size_t max);
/*  Day close: expire open orders, mark every position to the last price (the settlement
    price) into the balance, re-margin at it, today's lots become yesterday's, clear the
    day's orders, trades and statistics. */
void brg_sim_futures_next_day(brg_sim_futures_t *self);

/*  Snapshots (strings borrowed from the book, valid until it next changes). */
void brg_sim_futures_asset(brg_sim_futures_t *self, Xtbridge__XtAsset *out);
size_t brg_sim_futures_order_count(brg_sim_futures_t *self);
void brg_sim_futures_order_at(brg_sim_futures_t *self, size_t index, Xtbridge__XtOrder *out);
bool brg_sim_futures_order_get(brg_sim_futures_t *self, int64_t order_id, Xtbridge__XtOrder *out);
size_t brg_sim_futures_trade_count(brg_sim_futures_t *self);
void brg_sim_futures_trade_at(brg_sim_futures_t *self, size_t index, Xtbridge__XtTrade *out);
/*  Positions: one per (contract, direction), long before short. */
size_t brg_sim_futures_position_count(brg_sim_futures_t *self);
void brg_sim_futures_position_at(brg_sim_futures_t *self, size_t index, Xtbridge__XtPosition *out);
/*  The long position in `code` if any, else the short one; false if neither. */
bool brg_sim_futures_position_get(brg_sim_futures_t *self, const char *code,
                                  Xtbridge__XtPosition *out);
/*  XtPositionStatistics of position `index` (same order as position_at). */
void brg_sim_futures_statistics_at(brg_sim_futures_t *self, size_t index,
                                   Xtbridge__XtPositionStatistics *out);

/*  Durability: balance and frozen in fen for the account record; the dirty mark (cleared
    by persist); the book record; loading it back (-1 for a record that does not fit). */
void brg_sim_futures_cash(brg_sim_futures_t *self, int64_t *balance, int64_t *frozen);
bool brg_sim_futures_take_account_dirty(brg_sim_futures_t *self);
int brg_sim_futures_persist(brg_sim_futures_t *self, brg_store_t *store);
int brg_sim_futures_load(brg_sim_futures_t *self, brg_store_t *store, int64_t balance,
                         int64_t next_order_id, int64_t next_trade_id);

#ifdef __cplusplus
}
#endif
#endif
