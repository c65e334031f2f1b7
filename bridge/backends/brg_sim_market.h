/*  brg_sim_market.h - the simulator's market: a price table and the A-share rules that
    depend only on the instrument, not on an account.

    brg_sim_market_t holds one quote per code (name, pre_close, last, liquidity), seeded
    with a few well-known built-in codes and extended from the `sim` config section or by
    sim_set_price. Each quote carries a dirty mark (set by brg_sim_market_set and
    brg_sim_market_touch) so the backend writes only changed quotes to the store. Free
    functions give the pure rules: code syntax (CODE.SUFFIX with a
    known exchange suffix), the board's daily limit percentage, limit-up/limit-down prices,
    the per-fill fees, and half-up cent rounding that is robust to binary floating point
    (0.105 yuan is 0.11, not 0.10). Account classes (stock today, credit/futures later)
    share one market.
*/
#ifndef BRG_SIM_MARKET_H_INCLUDED
#define BRG_SIM_MARKET_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* xtconstant market codes */
enum { BRG_SIM_MARKET_SH = 0, BRG_SIM_MARKET_SZ = 1, BRG_SIM_MARKET_BJ = 70 };

typedef struct {
    char code[32];
    char name[64];
    double pre_close;
    double last;
    int64_t liquidity; /* per matching pass fill cap in shares; 0 = unlimited */
    bool st;           /* ST / *ST: main-board limit ±5% (config `st = 1`) */
    bool dirty;        /* changed since the backend last stored it */
} brg_sim_quote_t;

typedef struct {
    double commission_rate;
    double min_commission;
    double stamp_duty_rate;
    double transfer_fee_rate;
} brg_sim_fees_t;

/* Fees of one fill, each already rounded to the cent. */
typedef struct {
    double commission;
    double transfer_fee;
    double stamp_duty;
    double total;
} brg_sim_fee_t;

typedef struct brg_sim_market brg_sim_market_t;

/*  New market with the built-in quotes and the default fee schedule. */
brg_sim_market_t *brg_sim_market_new(void);
void brg_sim_market_destroy(brg_sim_market_t **self_p);

/*  Read `price` and `fees` children of the `sim` config section (may be NULL). Returns
    0, or -1 with a message in err for a bad entry. */
int brg_sim_market_load(brg_sim_market_t *self, zconfig_t *sim, char *err, size_t errlen);
/*  The same, but a `price` entry whose code `skip` accepts is validated and not applied
    (codes whose quote comes from the store). skip may be NULL. */
typedef bool(brg_sim_skip_fn)(void *arg, const char *code);
int brg_sim_market_load_skip(brg_sim_market_t *self, zconfig_t *sim, brg_sim_skip_fn *skip,
                             void *arg, char *err, size_t errlen);

/*  Add or replace a quote and mark it dirty. Returns the stored quote (owned by the
    market, valid until the market is destroyed), or NULL if the code syntax is bad. */
brg_sim_quote_t *brg_sim_market_set(brg_sim_market_t *self, const char *code, const char *name,
                                    double pre_close, double last, int64_t liquidity);
/*  The quote for `code`, or NULL if unknown. Owned by the market. */
brg_sim_quote_t *brg_sim_market_quote(brg_sim_market_t *self, const char *code);
/*  Quotes in insertion order, for "all codes" passes. Owned by the market. */
size_t brg_sim_market_size(brg_sim_market_t *self);
brg_sim_quote_t *brg_sim_market_at(brg_sim_market_t *self, size_t index);
/*  Mark a quote changed (after writing its fields directly) / stored. The market counts
    dirty quotes so a persist with nothing to write costs nothing. */
void brg_sim_market_touch(brg_sim_market_t *self, brg_sim_quote_t *quote);
void brg_sim_market_clean(brg_sim_market_t *self, brg_sim_quote_t *quote);
/*  How many quotes are dirty. */
size_t brg_sim_market_dirty(brg_sim_market_t *self);
/*  The fee schedule; owned by the market, may be modified. */
brg_sim_fees_t *brg_sim_market_fees(brg_sim_market_t *self);

/*  Whether `code` is CODE.SUFFIX with CODE 6 digits and SUFFIX SH, SZ or BJ. */
bool brg_sim_code_valid(const char *code);

/*  Parse a config number: finite, non-negative, trailing blanks allowed. 0, or -1 if the
    text is not one. */
int brg_sim_parse_number(const char *text, double *out);
/*  xtconstant market of a valid code (BRG_SIM_MARKET_*), or -1. */
int brg_sim_code_market(const char *code);
/*  Daily limit as a fraction: 0.10 main board, 0.20 ChiNext (300/301 .SZ) and STAR
    (688/689 .SH), 0.30 Beijing. */
double brg_sim_limit_pct(const char *code);
double brg_sim_limit_up(const char *code, double pre_close);
double brg_sim_limit_down(const char *code, double pre_close);

/*  The quote's limit percentage and prices: brg_sim_limit_pct of its code, but ±5% for an
    ST stock of the main board (ChiNext, STAR and Beijing ST stocks keep their board's
    limit). */
double brg_sim_quote_limit_pct(const brg_sim_quote_t *quote);
double brg_sim_quote_limit_up(const brg_sim_quote_t *quote);
double brg_sim_quote_limit_down(const brg_sim_quote_t *quote);

/*  Round half-up to 0.01, treating values within float noise of a half cent as the half
    cent (so 0.105 -> 0.11, 2.675 -> 2.68). Symmetric for negatives. */
double brg_sim_round2(double value);
/*  Whether `price` is a whole number of cents (within float noise). */
bool brg_sim_on_tick(double price);
/*  Fees of one fill of `amount` yuan: commission max(amount*rate, min), transfer fee on
    both sides, stamp duty on sells only; each rounded to the cent. */
brg_sim_fee_t brg_sim_fees_compute(const brg_sim_fees_t *fees, double amount, bool sell);
/*  The same in fen (the sim's money unit: integers, so sums are exact): fees of an order
    whose traded amount is `amount` fen; each part rounded half-up to the fen. */
typedef struct {
    int64_t commission;
    int64_t transfer_fee;
    int64_t stamp_duty;
    int64_t total;
} brg_sim_fee_fen_t;
brg_sim_fee_fen_t brg_sim_fees_compute_fen(const brg_sim_fees_t *fees, int64_t amount, bool sell);
/*  Fees of one fill of `amount` fen of an order that had traded `before` fen: what the
    order's fees (brg_sim_fees_compute_fen of its running total) grow by, see below. */
brg_sim_fee_fen_t brg_sim_fees_fill_fen(const brg_sim_fees_t *fees, int64_t before, int64_t amount,
                                        bool sell);
/*  Yuan <-> fen at the wire edge: a yuan value rounded half-up to the fen, and back. */
int64_t brg_sim_to_fen(double yuan);
double brg_sim_yuan(int64_t fen);

/*  Fees of one fill of `amount` yuan of an order that has already traded `before` yuan.
    A Chinese broker charges commission per order (委托), not per fill: the order's
    commission is max(total*rate, min) on its whole traded amount, so a fill pays what
    that grows by (the first fill pays at least the minimum, later ones only the rate);
    the transfer fee and stamp duty likewise, so an order's fees are those of
    brg_sim_fees_compute on its total however it fills, and a buy's freeze covers them. */
brg_sim_fee_t brg_sim_fees_fill(const brg_sim_fees_t *fees, double before, double amount,
                                bool sell);

#ifdef __cplusplus
}
#endif
#endif
