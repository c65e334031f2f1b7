/*  brg_sim_credit.h - the credit side of a simulated CREDIT (margin) account: financing
    and securities-lending compacts (StkCompacts), quotas, interest, the built-in table of
    margin subjects / lendable shares / collateral, and the securities-lending appointments
    (smt_*). The account's cash, positions, orders and trades stay in a brg_sim_stock_t
    book; this class plugs into it through brg_sim_stock_hooks_t, so credit orders are
    matched, filled, cancelled and expired exactly like stock orders.

    Order types (xtconstant): 23/24 collateral buy/sell (cash and held shares; a buy only
    of collateral); 27 margin buy (the amount is financed: a financing compact per order,
    fees paid in cash); 28 short sell (borrowed shares: a lending compact per order, the
    proceeds net of fees held as m_dSloSellBalance; the price may not be below the last
    price); 29 buy to return shares (bought shares repay lending compacts of the code,
    oldest first, and free their proceeds into cash); 30 return held shares directly;
    31 sell held shares to repay financing (interest first, oldest compact first; the rest
    is cash); 32 repay cash directly (amount = order_volume x price). 40-45 are 27-32 on
    the special quota: the same, with compacts of cashgroup_prop 1.

    Money is fen inside; interest accrues at each sim_next_day on what is still owed:
    financing 7.2 %/year, lending 9.0 %/year, 360-day year, rounded half-up to the fen.

    Durability: the whole credit book is one record (SimCredit) under "C/" <account id>,
    written by brg_sim_credit_persist when anything changed.
*/
#ifndef BRG_SIM_CREDIT_H_INCLUDED
#define BRG_SIM_CREDIT_H_INCLUDED

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

enum { BRG_SIM_ACCOUNT_CREDIT = 3 };

#define BRG_SIM_KEY_CREDIT "C/"
#define BRG_SIM_CREDIT_FIN_QUOTA 1000000.0 /* yuan: default financing line */
#define BRG_SIM_CREDIT_SLO_QUOTA 500000.0  /* yuan: default lending line */

typedef struct brg_sim_credit brg_sim_credit_t;

/*  New credit book for the account whose cash/positions live in `stock` (borrowed; this
    installs its hooks there and makes it a CREDIT book). Quotas in yuan. */
brg_sim_credit_t *brg_sim_credit_new(brg_sim_ctx_t *ctx, brg_sim_stock_t *stock,
                                     const char *account_id, double fin_quota, double slo_quota);
void brg_sim_credit_destroy(brg_sim_credit_t **self_p);

/*  The sim day (0, 1, ...; sim_next_day count): compacts opened today carry its date. */
void brg_sim_credit_set_day(brg_sim_credit_t *self, int32_t trading_day);
/*  Close the day: accrue one day of interest on every compact still owed, drop the
    compacts fully repaid. */
void brg_sim_credit_next_day(brg_sim_credit_t *self);
/*  The date (YYYYMMDD) of sim day `trading_day`: weekdays from Monday 2026-01-05. */
int32_t brg_sim_credit_date(int32_t trading_day);

/*  Queries. Strings are borrowed from the book (copy them to keep them). */
void brg_sim_credit_detail(brg_sim_credit_t *self, int32_t status, Xtbridge__XtCreditDetail *out);
size_t brg_sim_credit_compact_count(brg_sim_credit_t *self);
void brg_sim_credit_compact_at(brg_sim_credit_t *self, size_t index, Xtbridge__StkCompacts *out);
/*  The built-in table (same for every credit account; counts from the book). */
size_t brg_sim_credit_table_size(void);
void brg_sim_credit_subject_at(brg_sim_credit_t *self, size_t index, Xtbridge__CreditSubjects *out);
void brg_sim_credit_slo_code_at(brg_sim_credit_t *self, size_t index, Xtbridge__CreditSloCode *out);
void brg_sim_credit_assure_at(brg_sim_credit_t *self, size_t index, Xtbridge__CreditAssure *out);

/*  Securities-lending appointments: the lenders' offers (smt_query_quoter), an
    application (smt_negotiate_order_async: NULL and *apply_id set when granted, else the
    reason), the granted compacts (smt_query_compact). */
size_t brg_sim_credit_quoter_count(void);
void brg_sim_credit_quoter_at(size_t index, Xtbridge__SmtQuoter *out);
const char *brg_sim_credit_smt_apply(brg_sim_credit_t *self,
                                     const Xtbridge__SmtNegotiateOrderAsyncRequest *req,
                                     double sub_fare_rate, double fine_rate, char *apply_id,
                                     size_t idlen, char *buf, size_t len);
size_t brg_sim_credit_smt_count(brg_sim_credit_t *self);
void brg_sim_credit_smt_at(brg_sim_credit_t *self, size_t index, Xtbridge__SmtCompact *out);

/*  Durability: write the record if anything changed (0, or -1 when the write failed);
    load a stored record into a new book. */
int brg_sim_credit_persist(brg_sim_credit_t *self, brg_store_t *store);
int brg_sim_credit_load(brg_sim_credit_t *self, const Xtbridge__State__SimCredit *m);

#ifdef __cplusplus
}
#endif
#endif
