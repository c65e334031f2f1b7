/*  brg_sim_stock.h - one simulated STOCK (cash) account book: available and frozen cash,
    positions with T+1 settlement, the day's orders and trades, order entry with the
    A-share rejection rules, matching against the shared market, cancels and the day
    close. Every state change is pushed through the ctx's emit in xtquant's order:
    order_async, order 48 -> 50, then asset (buy: cash frozen) or position (sell: shares
    frozen); each fill trade, order 55/56, position, asset; cancels cancel_async, 51/52 ->
    54/53, then asset or position for what was released (expiry the same without 51/52);
    the day close a position push per holding whose can_use settles. Rejections push
    order 57 + order_error (nothing was frozen, so no asset/position), failed cancels
    cancel_error.

    Durability: the book marks what each change touched; brg_sim_stock_persist writes those
    records (and the deletes of the day close) into the store's open batch. The backend
    loads a stored book with brg_sim_stock_load_* and brg_sim_stock_load_done.

    Request validation that is the bridge's business (code syntax, volume <= 0, NaN
    price, unknown enum codes) happens before these functions are called; what they
    reject is what a broker would reject (junk orders, failed cancels).
*/
#ifndef BRG_SIM_STOCK_H_INCLUDED
#define BRG_SIM_STOCK_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "brg_sim.h"
#include "brg_store.h"
#include "xtbridge.pb-c.h"
#include "xtbridge_state.pb-c.h"

#ifdef __cplusplus
extern "C" {
#endif

/* xtconstant values the stock book uses */
enum {
    BRG_SIM_STOCK_BUY = 23,
    BRG_SIM_STOCK_SELL = 24,
    BRG_SIM_LATEST_PRICE = 5,
    BRG_SIM_FIX_PRICE = 11,
    BRG_SIM_ACCOUNT_STOCK = 2,
    BRG_SIM_ORDER_ERROR_ID = -61,
    BRG_SIM_CANCEL_ERROR_ID = -63,
};

typedef struct {
    const char *stock_code;
    int32_t order_type;
    int64_t order_volume;
    int32_t price_type;
    double price;
    const char *strategy_name;
    const char *order_remark;
    int64_t seq; /* > 0 for order_stock_async: pushes order_async first, tags order_error */
    int32_t account_status; /* xtquant account status; anything but 0 (OK) is refused */
} brg_sim_order_args_t;

typedef struct brg_sim_stock brg_sim_stock_t;

/*  How an order type moves money and shares in this book (xtquant's stock and credit
    types; brg_sim_order_flow). */
typedef struct {
    bool buy;      /* matched as a buy */
    bool cash;     /* buy: amount + fees frozen from and paid with available cash (else only
                      the fees: the credit book finances the amount); sell: proceeds to cash
                      (else to the credit book, which returns what reaches cash) */
    bool position; /* buy: bought shares enter the position (else they go to the lender);
                      sell: held shares are frozen and sold (else they are borrowed) */
    bool instant;  /* no market order (direct repayments): the credit book does it at entry */
} brg_sim_flow_t;

/*  The flow of `order_type`: false for a type this book cannot carry (futures, options).
    23/24 are plain buys and sells; 27-32 and 40-45 are the credit types. */
bool brg_sim_order_flow(int32_t order_type, brg_sim_flow_t *flow);

/*  An order as the credit book's hooks see it (strings borrowed for the call). */
typedef struct {
    int64_t order_id;
    int32_t order_type;
    const char *code;
    int market;
    int64_t volume;
    int64_t traded; /* before the fill being reported */
    double price;   /* the limit (last price for market orders) */
    int32_t price_type;
} brg_sim_hook_order_t;

/*  A CREDIT account's book is this book plus hooks (brg_sim_credit): every order passes
    `enter` after the book's own rules (NULL accepts; the hook reserves quota, or performs
    an instant order), and every order whose flow is not plain cash-and-position reports
    its fills (`fill` returns fen to add to available cash) and the unfilled rest when it
    ends (`release`). */
typedef struct {
    void *arg;
    const char *(*enter)(void *arg, const brg_sim_hook_order_t *o, char *buf, size_t len);
    int64_t (*fill)(void *arg, const brg_sim_hook_order_t *o, int64_t qty, double price,
                    int64_t amount, int64_t fee);
    void (*release)(void *arg, const brg_sim_hook_order_t *o, int64_t rest);
} brg_sim_stock_hooks_t;

/*  New book with `cash` available. `ctx` is borrowed and must outlive the book. */
brg_sim_stock_t *brg_sim_stock_new(brg_sim_ctx_t *ctx, const char *account_id, double cash);
void brg_sim_stock_destroy(brg_sim_stock_t **self_p);
/*  The account id; owned by the book. */
const char *brg_sim_stock_account_id(brg_sim_stock_t *self);

/*  Add a holding carried from yesterday (sellable today). The code must be in the
    market. Returns 0, or -1 for a bad code / volume / price. */
int brg_sim_stock_add_position(brg_sim_stock_t *self, const char *code, int64_t volume,
                               double avg_price);

/*  Enter an order. Returns its order id (a junk order also has one). */
int64_t brg_sim_stock_order(brg_sim_stock_t *self, const brg_sim_order_args_t *args);
/*  Cancel by order id, or by (market, order_sysid). Returns 0 if cancelled, -1 (with a
    cancel_error push) if the order is unknown or already finished. `seq` > 0 marks an
    async cancel: cancel_async is pushed first. */
int brg_sim_stock_cancel(brg_sim_stock_t *self, int64_t order_id, int64_t seq);
int brg_sim_stock_cancel_sysid(brg_sim_stock_t *self, int market, const char *order_sysid,
                               int64_t seq);

/*  One matching pass of this book's resting orders on `quote`'s code against its last
    price. `*left` is the liquidity still available in this pass (INT64_MAX when
    unlimited) and is decreased by what fills. Returns the number of fills. */
int brg_sim_stock_match(brg_sim_stock_t *self, const brg_sim_quote_t *quote, int64_t *left);
/*  The same pass a piece at a time: from the book's order number *at, at most `max`
    orders (*at advanced past those looked at). The pass is over when *at reaches
    brg_sim_stock_order_count() or *left is 0. */
int brg_sim_stock_match_some(brg_sim_stock_t *self, const brg_sim_quote_t *quote, int64_t *left,
                             size_t *at, size_t max);

/*  Close the day: expire open orders (54/53 pushed, freeze released), settle T+1, drop
    emptied positions, clear the day's orders and trades. All at once: the same as
    brg_sim_stock_close_step until it returns 0. */
void brg_sim_stock_next_day(brg_sim_stock_t *self);

/*  One slice of the day close, so that a bridge with hundreds of thousands of orders
    keeps answering between slices: works on up to `budget` orders or trades (expire,
    record the delete for persist, free), and once they are all gone settles the
    positions and returns the day's arrays to the allocator. Returns 1 while work is
    left, 0 when the day is closed. Between slices the book is half-closed: the caller
    must not enter, match, cancel or query orders until 0 was returned (the sim answers
    such calls BUSY); persisting between slices is fine. */
int brg_sim_stock_close_step(brg_sim_stock_t *self, size_t budget);
/*  Whether a close is under way (close_step ran and has not returned 0 yet). */
bool brg_sim_stock_closing(brg_sim_stock_t *self);
/*  sizeof of the book's order record (before its sysid and remark), for tests that
    compare memory per open order with what an order has to hold. */
size_t brg_sim_stock_order_record_size(void);
/*  Bytes mapped for the day's orders (they live in blocks of their own, not the heap). */
size_t brg_sim_stock_order_block_bytes(brg_sim_stock_t *self);

/*  Orders and trades the close under way has not freed yet (0 when none runs). */
size_t brg_sim_stock_close_left(brg_sim_stock_t *self);
/*  Stored records the close has dropped and the next persist deletes: the store's share
    of a slice's work (freeing a trade in memory is far cheaper than deleting its row). */
size_t brg_sim_stock_close_deletes(brg_sim_stock_t *self);

/*  Snapshots. Strings in the filled messages are borrowed from the book and valid until
    the next call that changes it; copy them (brg_call_copy_message) to keep them. */
void brg_sim_stock_asset(brg_sim_stock_t *self, Xtbridge__XtAsset *out);
size_t brg_sim_stock_order_count(brg_sim_stock_t *self);
void brg_sim_stock_order_at(brg_sim_stock_t *self, size_t index, Xtbridge__XtOrder *out);
/*  Fill `out` with order `order_id`; false if the book has no such order today. */
bool brg_sim_stock_order_get(brg_sim_stock_t *self, int64_t order_id, Xtbridge__XtOrder *out);
size_t brg_sim_stock_trade_count(brg_sim_stock_t *self);
void brg_sim_stock_trade_at(brg_sim_stock_t *self, size_t index, Xtbridge__XtTrade *out);
size_t brg_sim_stock_position_count(brg_sim_stock_t *self);
void brg_sim_stock_position_at(brg_sim_stock_t *self, size_t index, Xtbridge__XtPosition *out);
/*  Fill `out` with the position in `code`; false if none. */
bool brg_sim_stock_position_get(brg_sim_stock_t *self, const char *code, Xtbridge__XtPosition *out);
/*  The counter's own price type code ("EBrokerPriceType") that MiniQMT reports in
    XtOrder.price_type (pushes and queries) for an order sent with xtconstant `requested`:
    FIX_PRICE 11 -> 50 (limit); LATEST_PRICE 5 -> 50 (the terminal prices it at the last
    price and sends a limit order); 44 -> 84, 43 -> 85, 45 -> 86, 46 -> 87, 42 and 47 ->
    88 (best 5 then cancel), 48 -> 89 (fill or kill). Any other value comes back as it was
    (the sim junks such an order anyway). The requested code stays in
    XtOrder.requested_price_type. */
int32_t brg_sim_broker_price_type(int32_t requested);
/*  Whether an xtquant order status is still open (cancelable): 48, 49, 50, 55. */
bool brg_sim_order_status_open(int32_t status);

/*  Durability. Available and frozen cash in fen (for the account record the backend
    writes). */
void brg_sim_stock_cash(brg_sim_stock_t *self, int64_t *cash, int64_t *frozen);
/*  Whether cash or frozen changed since the last call (clears the mark). */
bool brg_sim_stock_take_account_dirty(brg_sim_stock_t *self);
/*  Write the changed orders, new trades, changed positions and the day close's deletes
    into the store's open batch. Returns 0, or -1 when a write failed. */
int brg_sim_stock_persist(brg_sim_stock_t *self, brg_store_t *store);
/*  Load a stored book into a new, empty one: cash, then records of this account (orders
    and trades in increasing id, positions in any order), then load_done. Loaded records
    are clean. The loaders return -1 for a record that cannot belong (duplicate, id out of
    order). */
void brg_sim_stock_load_cash(brg_sim_stock_t *self, int64_t cash, int64_t frozen);
/*  A stored money field: the format-2 fen value, or for a format-1 record (written before
    money was kept in fen: the fen field is absent, 0) its yuan double converted. */
int64_t brg_sim_stored_fen(int64_t fen, double yuan);
int brg_sim_stock_load_order(brg_sim_stock_t *self, const Xtbridge__State__SimOrder *m);
int brg_sim_stock_load_trade(brg_sim_stock_t *self, const Xtbridge__State__SimTrade *m);
int brg_sim_stock_load_position(brg_sim_stock_t *self, const Xtbridge__State__SimPosition *m);
void brg_sim_stock_load_done(brg_sim_stock_t *self);

/*  Make this the book of an account of `account_type` (3 CREDIT) whose credit order
    types go through `hooks` (borrowed; must outlive the book). */
void brg_sim_stock_set_hooks(brg_sim_stock_t *self, int32_t account_type,
                             const brg_sim_stock_hooks_t *hooks);
/*  Add `delta` fen to available cash (a transfer, a repayment, released short-sale
    proceeds) and push the asset. -1 (nothing changed) if cash would go negative. */
int brg_sim_stock_move_cash(brg_sim_stock_t *self, int64_t delta);
int64_t brg_sim_stock_cash_available(brg_sim_stock_t *self);
/*  Sellable shares of `code` (0 if none). */
int64_t brg_sim_stock_can_use(brg_sim_stock_t *self, const char *code);
/*  Take `qty` sellable shares out of the position (direct return of borrowed shares) and
    push it. -1 (nothing changed) if fewer are sellable. */
int brg_sim_stock_take_shares(brg_sim_stock_t *self, const char *code, int64_t qty);

#ifdef __cplusplus
}
#endif
#endif
