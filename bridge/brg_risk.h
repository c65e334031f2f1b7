/*  brg_risk.h - pre-trade risk, enforced by the bridge for every backend.

    Per-account limits from the config's `risk` section (an `account` entry per account
    id, an optional `default` entry for accounts not listed): max_order_volume,
    max_notional (price x volume of one order, x the backend's contract multiplier for a
    futures lot), max_orders_per_second (sliding 1 s window), max_open_orders,
    allowed_codes / allowed_boards; and a kill switch per account or for all accounts (an
    admin call, durable in the store).

    The router asks brg_risk_check_call() before it hands an order call to the backend; a
    rejected call is answered RISK_REJECTED or RATE_LIMITED naming the rule, its limit and
    the value, and nothing reaches the backend. The open-order count comes from the
    backend's own book: at start (and after a batch whose pushes were dropped) the bridge
    asks the backend query_stock_orders for every account it describes; between those, the
    order pushes the publisher journals keep it current (brg_risk_tap_fn). So it is right
    after a restart and counts orders placed outside the bridge too.

    Threading: every call runs on the bridge loop thread.
*/
#ifndef BRG_RISK_H_INCLUDED
#define BRG_RISK_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>

#include "brg_backend.h"
#include "brg_call.h"
#include "brg_store.h"
#include "xtbridge.pb-c.h"

typedef struct brg_risk brg_risk_t;

/*  Parse the `risk` section of `config` (NULL or no section: no limits, the kill switch
    still works). NULL + err naming the entry and the bad value on a config error. */
brg_risk_t *brg_risk_new(zconfig_t *config, char *err, size_t errlen);
void brg_risk_destroy(brg_risk_t **self_p);

/*  Monotonic milliseconds for the rate window; tests inject their own clock. */
typedef int64_t(brg_risk_clock_fn)(void *arg);
void brg_risk_set_clock(brg_risk_t *self, brg_risk_clock_fn *clock, void *arg);

/*  The backend (for the open-order resync and the kill switch's cancels) and the store
    (the kill switch's durable state, keys under "bridge/risk/"). Either may be NULL in unit
    tests. Borrowed: they must outlive the risk module's use of them. */
void brg_risk_attach(brg_risk_t *self, const brg_backend_ops_t *ops, void *backend,
                     brg_store_t *store);

/*  Reload the kill switches from the store and rebuild every described account's open
    orders from the backend (query_stock_orders). Called at start; later done by itself
    when published events were dropped (brg_risk_tap_fn with no event). */
void brg_risk_resync(brg_risk_t *self);

/*  Whether `body` is an order call the risk rules apply to. */
bool brg_risk_is_order_call(Xtbridge__Request__BodyCase body);

/*  Check one order. Returns OK (and counts it in the account's rate window), or
    RISK_REJECTED / RATE_LIMITED with the reason in msg. */
Xtbridge__ErrorCode brg_risk_check(brg_risk_t *self, const char *account_id, const char *stock_code,
                                   int64_t volume, double price, char *msg, size_t msglen);

/*  Router entry: for an order call, check it; on rejection fail the call (its reply is
    the error) and return -1. Other calls and accepted orders: 0. */
int brg_risk_check_call(brg_risk_t *self, brg_call_t *call);

/*  Serve a risk_kill_switch request: fill the reply (or fail the call). */
void brg_risk_kill_switch(brg_risk_t *self, brg_call_t *call);

/*  Publisher tap (brg_publisher_set_tap): every journaled event; event NULL means the
    held events of a failed batch were dropped (the counts are rebuilt before the next
    check). `arg` is the brg_risk_t. */
void brg_risk_tap_fn(void *arg, const char *kind, const char *account_id,
                     const Xtbridge__Event *event);

/*  For tests and logs. */
size_t brg_risk_open_orders(brg_risk_t *self, const char *account_id);
bool brg_risk_killed(brg_risk_t *self, const char *account_id);

/*  The board of a code ("SH_MAIN", "SZ_MAIN", "CHINEXT", "STAR", "BJ") or NULL. */
const char *brg_risk_board(const char *stock_code);

#endif
