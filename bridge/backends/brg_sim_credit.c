/*  brg_sim_credit.c - the credit side of a simulated CREDIT account (see brg_sim_credit.h):
    compacts, quotas, reservations of open credit orders, interest, the built-in subject
    table and securities-lending appointments, plugged into the account's stock book as
    its hooks.

    Invariants kept in fen, exactly:
      financing enable quota = max - principal owed - reserved by open margin buys
      lending enable quota   = max - sale value owed  - reserved by open short sells
      m_dFinDebt = principal + unpaid interest of the financing compacts
    A margin buy of N fen at its fill therefore shows up as a compact of N, N less quota
    and N more debt; fees of credit orders are paid from cash (margin buy, buy to return)
    or from the proceeds (short sell, sell to repay).
*/
#include "brg_sim_credit.h"
#include "brg_sim_vec.h"
#include "brg_compat.h"

#include <czmq.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FIN_RATE_BP 720 /* 7.2 % a year */
#define SLO_RATE_BP 900 /* 9.0 % a year */
#define COMPACT_DAYS 182
#define TYPE_FIN 0
#define TYPE_SLO 1

/* The built-in margin table: subjects, collateral and lendable shares. */
typedef struct {
    const char *code;
    double fin_ratio, slo_ratio, assure_ratio;
    int32_t fin_status, slo_status, assure_status; /* 0 normal, 1 suspended */
    int64_t slo_amount;                            /* lendable shares */
} subject_t;

static const subject_t TABLE[] = {
    {"600000.SH", 1.0, 1.0, 0.70, 0, 0, 0, 100000}, {"000001.SZ", 1.0, 1.0, 0.70, 0, 0, 0, 100000},
    {"600519.SH", 1.0, 1.0, 0.70, 0, 0, 0, 10000},  {"300750.SZ", 1.0, 1.0, 0.60, 0, 0, 0, 20000},
    {"688981.SH", 1.0, 1.0, 0.60, 0, 0, 0, 50000},  {"000002.SZ", 1.0, 1.0, 0.60, 1, 1, 0, 0},
};
#define TABLE_SIZE (sizeof TABLE / sizeof TABLE[0])

/* Lenders' offers for appointments (smt_query_quoter). */
typedef struct {
    const char *code, *name, *exchange, *group;
    int32_t low_date, date; /* term in days: at least, at most */
    double used_rate, fine_rate, preend_rate, occupied_rate, unused_rate;
    int64_t amount;
} quoter_t;

static const quoter_t QUOTERS[] = {
    {"000001.SZ", "平安银行", "SZ", "G001", 7, 182, 0.2, 0.1, 0.1, 0.02, 0.01, 100000},
    {"600000.SH", "浦发银行", "SH", "G001", 7, 182, 0.2, 0.1, 0.1, 0.02, 0.01, 100000},
};
#define QUOTERS_SIZE (sizeof QUOTERS / sizeof QUOTERS[0])

typedef struct {
    char id[16];
    int32_t type, cashgroup_prop;
    char code[32];
    int32_t market, open_date, end_date;
    int64_t order_id, business_vol, real_vol, business_fen, real_fen, fare_fen, real_fare_fen,
        repaid_fare_fen, repaid_fen, sell_fen;
} compact_t;

typedef struct {
    int64_t order_id;
    int32_t order_type;
    char code[32];
    int64_t rest, price_fen;
} reserve_t;

typedef struct {
    char apply_id[16];
    char src_group_id[64];
    char code[32];
    int32_t date, create_date, end_date;
    int64_t amount;
    double apply_rate, sub_fare_rate, fine_rate;
} smt_t;

struct brg_sim_credit {
    brg_sim_ctx_t *ctx;
    brg_sim_stock_t *stock;
    char *account_id;
    int64_t fin_max, slo_max; /* fen */
    int64_t next_compact, next_apply;
    int32_t day;
    VEC(compact_t) compacts;
    VEC(reserve_t) reserves;
    VEC(smt_t) smt;
    brg_sim_stock_hooks_t hooks;
    bool dirty;
};

/* --- helpers ----------------------------------------------------------------------- */

static const subject_t *subject_find(const char *code) {
    for (size_t i = 0; i < TABLE_SIZE; i++)
        if (code && strcmp(TABLE[i].code, code) == 0)
            return &TABLE[i];
    return NULL;
}

static const quoter_t *quoter_find(const char *code) {
    for (size_t i = 0; i < QUOTERS_SIZE; i++)
        if (code && strcmp(QUOTERS[i].code, code) == 0)
            return &QUOTERS[i];
    return NULL;
}

/* 40-45 are 27-32 on the special quota. */
static int32_t base_type(int32_t order_type) {
    return order_type >= 40 && order_type <= 45 ? order_type - 13 : order_type;
}

static double last_of(brg_sim_credit_t *self, const char *code) {
    brg_sim_quote_t *quote = brg_sim_market_quote(self->ctx->market, code);
    return quote ? quote->last : 0.0;
}

/* A market-dependent amount in fen (sim_set_price takes any price): saturated at 10^13 fen
   (10^11 yuan, NaN included) so the detail's sums stay far from int64 overflow. */
static int64_t fen_sat(double yuan) {
    if (!(yuan < 1e11))
        return 10000000000000LL;
    if (yuan <= -1e11)
        return -10000000000000LL;
    return brg_sim_to_fen(yuan);
}

/* Half-up a / b for a >= 0, b > 0. */
static int64_t div_round(int64_t a, int64_t b) {
    return (a + b / 2) / b;
}

int32_t brg_sim_credit_date(int32_t trading_day) {
    /* Monday 2026-01-05 is day 0; each sim day is the next weekday */
    int32_t n = trading_day > 0 ? trading_day : 0;
    struct tm tm = {.tm_year = 2026 - 1900, .tm_mon = 0, .tm_mday = 5 + (n / 5) * 7 + n % 5};
    time_t t = brg_compat_timegm(&tm);
    struct tm out;
    gmtime_r(&t, &out);
    return (out.tm_year + 1900) * 10000 + (out.tm_mon + 1) * 100 + out.tm_mday;
}

static int32_t date_plus_days(int32_t date, int32_t days) {
    struct tm tm = {.tm_year = date / 10000 - 1900,
                    .tm_mon = date / 100 % 100 - 1,
                    .tm_mday = date % 100 + days};
    time_t t = brg_compat_timegm(&tm);
    struct tm out;
    gmtime_r(&t, &out);
    return (out.tm_year + 1900) * 10000 + (out.tm_mon + 1) * 100 + out.tm_mday;
}

static int64_t reserved(brg_sim_credit_t *self, int32_t base, const char *code, bool money) {
    int64_t sum = 0;
    for (size_t i = 0; i < self->reserves.size; i++) {
        reserve_t *r = &self->reserves.items[i];
        if (base_type(r->order_type) != base || (code && strcmp(r->code, code) != 0))
            continue;
        sum += money ? r->rest * r->price_fen : r->rest;
    }
    return sum;
}

static int64_t owed_fen(brg_sim_credit_t *self, int32_t type) {
    int64_t sum = 0;
    for (size_t i = 0; i < self->compacts.size; i++)
        if (self->compacts.items[i].type == type)
            sum += self->compacts.items[i].real_fen;
    return sum;
}

static int64_t owed_fare(brg_sim_credit_t *self, int32_t type) {
    int64_t sum = 0;
    for (size_t i = 0; i < self->compacts.size; i++)
        if (self->compacts.items[i].type == type)
            sum += self->compacts.items[i].real_fare_fen;
    return sum;
}

static int64_t owed_vol(brg_sim_credit_t *self, const char *code) {
    int64_t sum = 0;
    for (size_t i = 0; i < self->compacts.size; i++) {
        compact_t *c = &self->compacts.items[i];
        if (c->type == TYPE_SLO && strcmp(c->code, code) == 0)
            sum += c->real_vol;
    }
    return sum;
}

static int64_t fin_enable(brg_sim_credit_t *self) {
    return self->fin_max - owed_fen(self, TYPE_FIN) - reserved(self, 27, NULL, true);
}

static int64_t slo_enable(brg_sim_credit_t *self) {
    return self->slo_max - owed_fen(self, TYPE_SLO) - reserved(self, 28, NULL, true);
}

static int64_t smt_amount(brg_sim_credit_t *self, const char *code) {
    int64_t sum = 0;
    for (size_t i = 0; i < self->smt.size; i++)
        if (strcmp(self->smt.items[i].code, code) == 0)
            sum += self->smt.items[i].amount;
    return sum;
}

/* Shares of `code` this account may still borrow: the table's, plus appointments, less
   what it owes and what open short sells hold. */
static int64_t lendable(brg_sim_credit_t *self, const subject_t *sub) {
    int64_t n = sub->slo_amount + smt_amount(self, sub->code) - owed_vol(self, sub->code) -
                reserved(self, 28, sub->code, false);
    return n > 0 ? n : 0;
}

static compact_t *compact_for_order(brg_sim_credit_t *self, const brg_sim_hook_order_t *o,
                                    int32_t type) {
    for (size_t i = 0; i < self->compacts.size; i++)
        if (self->compacts.items[i].order_id == o->order_id)
            return &self->compacts.items[i];
    compact_t c;
    memset(&c, 0, sizeof c);
    snprintf(c.id, sizeof c.id, "%s%06" PRId64, type == TYPE_FIN ? "RZ" : "RQ",
             self->next_compact++);
    c.type = type;
    c.cashgroup_prop = o->order_type >= 40 ? 1 : 0;
    snprintf(c.code, sizeof c.code, "%s", o->code);
    c.market = o->market;
    c.open_date = brg_sim_credit_date(self->day);
    c.end_date = date_plus_days(c.open_date, COMPACT_DAYS);
    c.order_id = o->order_id;
    VEC_PUSH(self->compacts, c);
    return &self->compacts.items[self->compacts.size - 1];
}

/* Repay financing with `money` fen: interest first, then principal, oldest compact
   first. Returns what is left over. */
static int64_t repay_fin(brg_sim_credit_t *self, int64_t money) {
    for (size_t i = 0; i < self->compacts.size && money > 0; i++) {
        compact_t *c = &self->compacts.items[i];
        if (c->type != TYPE_FIN)
            continue;
        int64_t fare = c->real_fare_fen < money ? c->real_fare_fen : money;
        c->real_fare_fen -= fare;
        c->repaid_fare_fen += fare;
        money -= fare;
        int64_t principal = c->real_fen < money ? c->real_fen : money;
        c->real_fen -= principal;
        c->repaid_fen += principal;
        money -= principal;
        if (c->real_fen == 0 && c->real_fare_fen == 0)
            c->real_vol = 0;
    }
    self->dirty = true;
    return money;
}

/* Return `qty` shares of `code` to the lender, oldest compact first: each frees its share
   of the held proceeds, less the interest it owes. Returns the fen that reach cash (which
   may be negative); with `apply` false nothing changes (a preview). */
static int64_t return_shares(brg_sim_credit_t *self, const char *code, int64_t qty, bool apply) {
    int64_t cash = 0;
    for (size_t i = 0; i < self->compacts.size && qty > 0; i++) {
        compact_t *c = &self->compacts.items[i];
        if (c->type != TYPE_SLO || strcmp(c->code, code) != 0 || c->real_vol == 0)
            continue;
        int64_t n = c->real_vol < qty ? c->real_vol : qty;
        bool all = n == c->real_vol;
        int64_t sell = all ? c->sell_fen : c->sell_fen * n / c->real_vol;
        int64_t principal = all ? c->real_fen : c->real_fen * n / c->real_vol;
        int64_t fare = all ? c->real_fare_fen : c->real_fare_fen * n / c->real_vol;
        cash += sell - fare;
        qty -= n;
        if (!apply)
            continue;
        c->real_vol -= n;
        c->sell_fen -= sell;
        c->real_fen -= principal;
        c->repaid_fen += principal;
        c->real_fare_fen -= fare;
        c->repaid_fare_fen += fare;
    }
    if (apply)
        self->dirty = true;
    return cash;
}

static void reserve_add(brg_sim_credit_t *self, const brg_sim_hook_order_t *o) {
    reserve_t r;
    memset(&r, 0, sizeof r);
    r.order_id = o->order_id;
    r.order_type = o->order_type;
    snprintf(r.code, sizeof r.code, "%s", o->code);
    r.rest = o->volume;
    r.price_fen = brg_sim_to_fen(o->price);
    VEC_PUSH(self->reserves, r);
    self->dirty = true;
}

static void reserve_drop(brg_sim_credit_t *self, int64_t order_id, int64_t qty, bool all) {
    for (size_t i = 0; i < self->reserves.size; i++) {
        reserve_t *r = &self->reserves.items[i];
        if (r->order_id != order_id)
            continue;
        r->rest -= qty;
        if (all || r->rest <= 0) {
            memmove(r, r + 1, (self->reserves.size - i - 1) * sizeof *r);
            self->reserves.size--;
        }
        self->dirty = true;
        return;
    }
}

/* --- hooks ------------------------------------------------------------------------- */

/* volume x limit in fen; INT64_MAX when it does not fit (no quota covers that). */
static int64_t order_amount(const brg_sim_hook_order_t *o) {
    int64_t amount;
    if (__builtin_mul_overflow(o->volume, brg_sim_to_fen(o->price), &amount))
        return INT64_MAX;
    return amount;
}

static const char *hook_enter(void *arg, const brg_sim_hook_order_t *o, char *buf, size_t len) {
    brg_sim_credit_t *self = (brg_sim_credit_t *)arg;
    const subject_t *sub = subject_find(o->code);
    int32_t base = base_type(o->order_type);
    switch (base) {
    case 23:
        if (!sub || sub->assure_status != 0) {
            snprintf(buf, len, "%s is not collateral on this credit account: no collateral buy",
                     o->code);
            return buf;
        }
        return NULL;
    case 27: {
        if (!sub || sub->fin_status != 0) {
            snprintf(buf, len, "%s is not a margin-buy subject", o->code);
            return buf;
        }
        int64_t need = order_amount(o), avail = fin_enable(self);
        if (need > avail) {
            snprintf(buf, len, "insufficient financing quota: need %.2f, available %.2f",
                     brg_sim_yuan(need), brg_sim_yuan(avail));
            return buf;
        }
        reserve_add(self, o);
        return NULL;
    }
    case 28: {
        if (!sub || sub->slo_status != 0) {
            snprintf(buf, len, "%s is not a short-sell subject", o->code);
            return buf;
        }
        double last = last_of(self, o->code);
        if (o->price < last - 1e-9) {
            snprintf(buf, len, "short sell price %.2f is below the last price %.2f", o->price,
                     last);
            return buf;
        }
        int64_t can = lendable(self, sub);
        if (o->volume > can) {
            snprintf(buf, len,
                     "insufficient lendable shares of %s: sell %" PRId64 ", lendable %" PRId64,
                     o->code, o->volume, can);
            return buf;
        }
        int64_t need = order_amount(o), avail = slo_enable(self);
        if (need > avail) {
            snprintf(buf, len, "insufficient lending quota: need %.2f, available %.2f",
                     brg_sim_yuan(need), brg_sim_yuan(avail));
            return buf;
        }
        reserve_add(self, o);
        return NULL;
    }
    case 29:
    case 30: {
        int64_t owed = owed_vol(self, o->code) - reserved(self, 29, o->code, false);
        if (o->volume > owed) {
            snprintf(buf, len, "%s %" PRId64 " %s: owed %" PRId64,
                     base == 29 ? "buy to return" : "return", o->volume, o->code, owed);
            return buf;
        }
        if (base == 29) {
            reserve_add(self, o);
            return NULL;
        }
        int64_t can = brg_sim_stock_can_use(self->stock, o->code);
        if (o->volume > can) {
            snprintf(buf, len, "return %" PRId64 " %s: sellable %" PRId64, o->volume, o->code, can);
            return buf;
        }
        /* the returned part's proceeds less its interest: the interest may exceed them */
        int64_t cash = return_shares(self, o->code, o->volume, false);
        int64_t available = brg_sim_stock_cash_available(self->stock);
        if (cash < 0 && -cash > available) {
            snprintf(buf, len, "insufficient cash for the interest: need %.2f, available %.2f",
                     brg_sim_yuan(-cash), brg_sim_yuan(available));
            return buf;
        }
        brg_sim_stock_take_shares(self->stock, o->code, o->volume);
        return_shares(self, o->code, o->volume, true);
        brg_sim_stock_move_cash(self->stock, cash);
        return NULL;
    }
    case 31: {
        if (owed_fen(self, TYPE_FIN) + owed_fare(self, TYPE_FIN) == 0) {
            snprintf(buf, len, "no financing debt to repay");
            return buf;
        }
        reserve_add(self, o);
        return NULL;
    }
    case 32: {
        /* the price of a direct repayment is not a market price: bound it before fen */
        double yuan = (double)o->volume * o->price;
        if (!(yuan <= 1e13)) {
            snprintf(buf, len, "repay amount %.2f (order_volume x price) is too large", yuan);
            return buf;
        }
        int64_t amount = brg_sim_to_fen(yuan);
        int64_t debt = owed_fen(self, TYPE_FIN) + owed_fare(self, TYPE_FIN);
        int64_t cash = brg_sim_stock_cash_available(self->stock);
        if (amount <= 0) {
            snprintf(buf, len, "repay amount (order_volume x price) must be > 0");
            return buf;
        }
        if (amount > debt) {
            snprintf(buf, len, "repay %.2f exceeds the financing debt %.2f", brg_sim_yuan(amount),
                     brg_sim_yuan(debt));
            return buf;
        }
        if (amount > cash) {
            snprintf(buf, len, "insufficient cash: repay %.2f, available %.2f",
                     brg_sim_yuan(amount), brg_sim_yuan(cash));
            return buf;
        }
        repay_fin(self, amount);
        brg_sim_stock_move_cash(self->stock, -amount);
        return NULL;
    }
    default: /* 24: selling collateral needs nothing more */
        return NULL;
    }
}

static int64_t hook_fill(void *arg, const brg_sim_hook_order_t *o, int64_t qty, double price,
                         int64_t amount, int64_t fee) {
    (void)price;
    brg_sim_credit_t *self = (brg_sim_credit_t *)arg;
    reserve_drop(self, o->order_id, qty, false);
    self->dirty = true;
    switch (base_type(o->order_type)) {
    case 27: {
        compact_t *c = compact_for_order(self, o, TYPE_FIN);
        c->business_vol += qty;
        c->real_vol += qty;
        c->business_fen += amount;
        c->real_fen += amount;
        return 0;
    }
    case 28: {
        compact_t *c = compact_for_order(self, o, TYPE_SLO);
        c->business_vol += qty;
        c->real_vol += qty;
        c->business_fen += amount;
        c->real_fen += amount;
        c->sell_fen += amount - fee;
        return 0;
    }
    case 29:
        return return_shares(self, o->code, qty, true);
    case 31:
        return repay_fin(self, amount - fee);
    default:
        return 0;
    }
}

static void hook_release(void *arg, const brg_sim_hook_order_t *o, int64_t rest) {
    (void)rest;
    reserve_drop((brg_sim_credit_t *)arg, o->order_id, 0, true);
}

/* --- create / destroy -------------------------------------------------------------- */

brg_sim_credit_t *brg_sim_credit_new(brg_sim_ctx_t *ctx, brg_sim_stock_t *stock,
                                     const char *account_id, double fin_quota, double slo_quota) {
    brg_sim_credit_t *self = (brg_sim_credit_t *)zmalloc(sizeof(brg_sim_credit_t));
    self->ctx = ctx;
    self->stock = stock;
    self->account_id = strdup(account_id ? account_id : "");
    self->fin_max = brg_sim_to_fen(fin_quota);
    self->slo_max = brg_sim_to_fen(slo_quota);
    self->next_compact = 1;
    self->next_apply = 1;
    self->dirty = true; /* a new book is not stored yet */
    self->hooks.arg = self;
    self->hooks.enter = hook_enter;
    self->hooks.fill = hook_fill;
    self->hooks.release = hook_release;
    brg_sim_stock_set_hooks(stock, BRG_SIM_ACCOUNT_CREDIT, &self->hooks);
    return self;
}

void brg_sim_credit_destroy(brg_sim_credit_t **self_p) {
    if (!self_p || !*self_p)
        return;
    brg_sim_credit_t *self = *self_p;
    free(self->compacts.items);
    free(self->reserves.items);
    free(self->smt.items);
    free(self->account_id);
    free(self);
    *self_p = NULL;
}

void brg_sim_credit_set_day(brg_sim_credit_t *self, int32_t trading_day) {
    self->day = trading_day;
}

void brg_sim_credit_next_day(brg_sim_credit_t *self) {
    size_t kept = 0;
    for (size_t i = 0; i < self->compacts.size; i++) {
        compact_t *c = &self->compacts.items[i];
        if (c->real_fen == 0 && c->real_fare_fen == 0 && c->real_vol == 0)
            continue; /* fully repaid: the compact is closed */
        int64_t bp = c->type == TYPE_FIN ? FIN_RATE_BP : SLO_RATE_BP;
        int64_t interest = div_round(c->real_fen * bp, 10000 * 360);
        c->fare_fen += interest;
        c->real_fare_fen += interest;
        self->compacts.items[kept++] = *c;
    }
    self->compacts.size = kept;
    self->day++;
    self->dirty = true;
}

/* --- queries ----------------------------------------------------------------------- */

void brg_sim_credit_detail(brg_sim_credit_t *self, int32_t status, Xtbridge__XtCreditDetail *out) {
    xtbridge__xt_credit_detail__init(out);
    int64_t cash = 0, frozen = 0;
    brg_sim_stock_cash(self->stock, &cash, &frozen);
    int64_t market_value = 0, profit = 0, collateral = 0;
    size_t n = brg_sim_stock_position_count(self->stock);
    for (size_t i = 0; i < n; i++) {
        Xtbridge__XtPosition p;
        brg_sim_stock_position_at(self->stock, i, &p);
        int64_t mv = fen_sat(p.market_value);
        market_value += mv;
        profit += mv - fen_sat(p.avg_price * (double)p.volume);
        const subject_t *sub = subject_find(p.stock_code);
        if (sub && sub->assure_status == 0)
            collateral += (int64_t)llround((double)mv * sub->assure_ratio);
    }
    int64_t slo_mv = 0, slo_margin = 0, fin_margin = 0, sell = 0;
    for (size_t i = 0; i < self->compacts.size; i++) {
        compact_t *c = &self->compacts.items[i];
        const subject_t *sub = subject_find(c->code);
        if (c->type == TYPE_SLO) {
            int64_t mv = fen_sat((double)c->real_vol * last_of(self, c->code));
            slo_mv += mv;
            slo_margin += (int64_t)llround((double)mv * (sub ? sub->slo_ratio : 1.0));
            sell += c->sell_fen;
        } else {
            fin_margin += (int64_t)llround((double)c->real_fen * (sub ? sub->fin_ratio : 1.0));
        }
    }
    int64_t fin_principal = owed_fen(self, TYPE_FIN), fin_fee = owed_fare(self, TYPE_FIN);
    int64_t slo_fee = owed_fare(self, TYPE_SLO);
    int64_t fin_debt = fin_principal + fin_fee, slo_debt = slo_mv + slo_fee;
    int64_t total_debt = fin_debt + slo_debt;
    int64_t balance = cash + frozen + market_value + sell;
    int64_t fin_reserved = reserved(self, 27, NULL, true);
    int64_t slo_reserved = reserved(self, 28, NULL, true);
    out->account_type = BRG_SIM_ACCOUNT_CREDIT;
    out->account_id = self->account_id;
    out->m_nstatus = status;
    out->m_nupdatetime = (int64_t)time(NULL);
    out->m_dfrozencash = brg_sim_yuan(frozen);
    out->m_dbalance = brg_sim_yuan(balance);
    out->m_davailable = brg_sim_yuan(cash);
    out->m_dpositionprofit = brg_sim_yuan(profit);
    out->m_dmarketvalue = brg_sim_yuan(market_value);
    out->m_dstockvalue = brg_sim_yuan(market_value);
    /* withdrawable: what keeps the maintenance ratio at 300 % */
    int64_t fetch = total_debt ? balance - 3 * total_debt : cash;
    out->m_dfetchbalance = brg_sim_yuan(fetch < 0 ? 0 : fetch > cash ? cash : fetch);
    out->m_dtotaldebt = brg_sim_yuan(total_debt);
    out->m_denablebailbalance =
        brg_sim_yuan(cash + collateral - fin_margin - slo_margin - fin_fee - slo_fee);
    out->m_dperassurescalevalue = total_debt ? (double)balance / (double)total_debt : 0.0;
    out->m_dassureasset = brg_sim_yuan(balance - total_debt);
    out->m_dfindebt = brg_sim_yuan(fin_debt);
    out->m_dfindealavl = brg_sim_yuan(fin_principal);
    out->m_dfinfee = brg_sim_yuan(fin_fee);
    out->m_dslodebt = brg_sim_yuan(slo_debt);
    out->m_dslomarketvalue = brg_sim_yuan(slo_mv);
    out->m_dslofee = brg_sim_yuan(slo_fee);
    out->m_dfinmaxquota = brg_sim_yuan(self->fin_max);
    out->m_dfinenablequota = brg_sim_yuan(self->fin_max - fin_principal - fin_reserved);
    out->m_dfinusedquota = brg_sim_yuan(fin_reserved);
    out->m_dslomaxquota = brg_sim_yuan(self->slo_max);
    out->m_dsloenablequota = brg_sim_yuan(slo_enable(self));
    out->m_dslousedquota = brg_sim_yuan(slo_reserved);
    out->m_dslosellbalance = brg_sim_yuan(sell);
    out->m_dsurplusslosellbalance = brg_sim_yuan(sell);
}

size_t brg_sim_credit_compact_count(brg_sim_credit_t *self) {
    return self->compacts.size;
}

void brg_sim_credit_compact_at(brg_sim_credit_t *self, size_t index, Xtbridge__StkCompacts *out) {
    xtbridge__stk_compacts__init(out);
    compact_t *c = &self->compacts.items[index];
    out->account_type = BRG_SIM_ACCOUNT_CREDIT;
    out->account_id = self->account_id;
    out->compact_type = c->type;
    out->cashgroup_prop = c->cashgroup_prop;
    out->exchange_id = c->market;
    out->open_date = c->open_date;
    out->business_vol = c->business_vol;
    out->real_compact_vol = c->real_vol;
    out->ret_end_date = c->end_date;
    out->business_balance = brg_sim_yuan(c->business_fen);
    out->businessfare = brg_sim_yuan(c->fare_fen);
    out->real_compact_balance = brg_sim_yuan(c->real_fen);
    out->real_compact_fare = brg_sim_yuan(c->real_fare_fen);
    out->repaid_fare = brg_sim_yuan(c->repaid_fare_fen);
    out->repaid_balance = brg_sim_yuan(c->repaid_fen);
    out->instrument_id = c->code;
    out->compact_id = c->id;
    out->position_str = c->id;
}

size_t brg_sim_credit_table_size(void) {
    return TABLE_SIZE;
}

void brg_sim_credit_subject_at(brg_sim_credit_t *self, size_t index,
                               Xtbridge__CreditSubjects *out) {
    xtbridge__credit_subjects__init(out);
    const subject_t *s = &TABLE[index];
    out->account_type = BRG_SIM_ACCOUNT_CREDIT;
    out->account_id = self->account_id;
    out->slo_status = s->slo_status;
    out->fin_status = s->fin_status;
    out->exchange_id = brg_sim_code_market(s->code);
    out->slo_ratio = s->slo_ratio;
    out->fin_ratio = s->fin_ratio;
    out->instrument_id = (char *)s->code;
}

void brg_sim_credit_slo_code_at(brg_sim_credit_t *self, size_t index,
                                Xtbridge__CreditSloCode *out) {
    xtbridge__credit_slo_code__init(out);
    const subject_t *s = &TABLE[index];
    out->account_type = BRG_SIM_ACCOUNT_CREDIT;
    out->account_id = self->account_id;
    out->cashgroup_prop = 0;
    out->exchange_id = brg_sim_code_market(s->code);
    out->enable_amount = s->slo_status == 0 ? lendable(self, s) : 0;
    out->instrument_id = (char *)s->code;
}

void brg_sim_credit_assure_at(brg_sim_credit_t *self, size_t index, Xtbridge__CreditAssure *out) {
    xtbridge__credit_assure__init(out);
    const subject_t *s = &TABLE[index];
    out->account_type = BRG_SIM_ACCOUNT_CREDIT;
    out->account_id = self->account_id;
    out->assure_status = s->assure_status;
    out->exchange_id = brg_sim_code_market(s->code);
    out->assure_ratio = s->assure_ratio;
    out->instrument_id = (char *)s->code;
}

/* --- appointments (smt) ------------------------------------------------------------ */

size_t brg_sim_credit_quoter_count(void) {
    return QUOTERS_SIZE;
}

void brg_sim_credit_quoter_at(size_t index, Xtbridge__SmtQuoter *out) {
    xtbridge__smt_quoter__init(out);
    const quoter_t *q = &QUOTERS[index];
    out->success = true;
    out->error = (char *)"";
    out->fintype = (char *)"1"; /* securities */
    out->stocktype = (char *)"0";
    out->date = q->date;
    out->code = (char *)q->code;
    out->codename = (char *)q->name;
    out->exchangetype = (char *)q->exchange;
    out->fsmpoccupedrate = q->occupied_rate;
    out->finerate = q->fine_rate;
    out->fsmpreendrate = q->preend_rate;
    out->usedrate = q->used_rate;
    out->unuusedrate = q->unused_rate;
    out->initdate = brg_sim_credit_date(0);
    out->enddate = date_plus_days(brg_sim_credit_date(0), q->date);
    out->enablesloamountt0 = (double)q->amount;
    out->enablesloamountt3 = (double)q->amount;
    out->srcgroupid = (char *)q->group;
    out->applymode = (char *)"1"; /* stock on hand (库存券) */
    out->lowdate = q->low_date;
}

const char *brg_sim_credit_smt_apply(brg_sim_credit_t *self,
                                     const Xtbridge__SmtNegotiateOrderAsyncRequest *req,
                                     double sub_fare_rate, double fine_rate, char *apply_id,
                                     size_t idlen, char *buf, size_t len) {
    const quoter_t *q = quoter_find(req->order_code);
    const char *group = req->src_group_id ? req->src_group_id : "";
    if (!q) {
        snprintf(buf, len, "no lender offers %.40s", req->order_code ? req->order_code : "");
        return buf;
    }
    if (*group && strcmp(group, q->group) != 0) {
        snprintf(buf, len, "source group '%.40s' does not offer %s (it is %s)", group, q->code,
                 q->group);
        return buf;
    }
    if (req->date < q->low_date || req->date > q->date) {
        snprintf(buf, len, "term %" PRId64 " days is outside %d - %d", req->date, q->low_date,
                 q->date);
        return buf;
    }
    if (req->amount <= 0 || req->amount % 100 != 0) {
        snprintf(buf, len, "amount %" PRId64 " is not a positive multiple of 100", req->amount);
        return buf;
    }
    int64_t left = q->amount - smt_amount(self, q->code);
    if (req->amount > left) {
        snprintf(buf, len, "amount %" PRId64 " exceeds the %" PRId64 " still offered", req->amount,
                 left);
        return buf;
    }
    if (!(req->apply_rate >= q->used_rate - 1e-12)) {
        snprintf(buf, len, "apply rate %.4f is below the lender's %.4f", req->apply_rate,
                 q->used_rate);
        return buf;
    }
    smt_t s;
    memset(&s, 0, sizeof s);
    snprintf(s.apply_id, sizeof s.apply_id, "SMT%06" PRId64, self->next_apply++);
    snprintf(s.src_group_id, sizeof s.src_group_id, "%s", q->group);
    snprintf(s.code, sizeof s.code, "%s", q->code);
    s.date = (int32_t)req->date;
    s.amount = req->amount;
    s.apply_rate = req->apply_rate;
    s.sub_fare_rate = sub_fare_rate;
    s.fine_rate = fine_rate;
    s.create_date = brg_sim_credit_date(self->day);
    s.end_date = date_plus_days(s.create_date, s.date);
    VEC_PUSH(self->smt, s);
    self->dirty = true;
    snprintf(apply_id, idlen, "%s", s.apply_id);
    return NULL;
}

size_t brg_sim_credit_smt_count(brg_sim_credit_t *self) {
    return self->smt.size;
}

void brg_sim_credit_smt_at(brg_sim_credit_t *self, size_t index, Xtbridge__SmtCompact *out) {
    xtbridge__smt_compact__init(out);
    smt_t *s = &self->smt.items[index];
    const quoter_t *q = quoter_find(s->code);
    double balance = brg_sim_round2((double)s->amount * last_of(self, s->code));
    out->success = true;
    out->error = (char *)"";
    out->createdate = s->create_date;
    out->cashcompactid = s->apply_id;
    out->oricashcompactid = s->apply_id;
    out->applyid = s->apply_id;
    out->srcgroupid = s->src_group_id;
    out->comgroupid = s->src_group_id;
    out->fintype = (char *)"1";
    out->exchangetype = (char *)(q ? q->exchange : "");
    out->code = s->code;
    out->codename = (char *)(q ? q->name : "");
    out->date = s->date;
    out->begincompacamount = (double)s->amount;
    out->begincompacbalance = balance;
    out->compacamount = (double)s->amount;
    out->compacbalance = balance;
    out->fsmpoccupedrate = q ? q->occupied_rate : 0;
    out->finerate = s->fine_rate;
    out->preendrate = s->sub_fare_rate;
    out->compacttype = (char *)"1";
    out->compactstatus = (char *)"0"; /* not returned */
    out->lastinterestdate = s->create_date;
    out->interestenddate = s->end_date;
    out->validdate = s->end_date;
    out->usedrate = s->apply_rate;
    out->unuusedrate = q ? q->unused_rate : 0;
    out->srcgroupname = s->src_group_id;
    out->applymode = (char *)"1";
}

/* --- durability -------------------------------------------------------------------- */

int brg_sim_credit_persist(brg_sim_credit_t *self, brg_store_t *store) {
    if (!self->dirty)
        return 0;
    Xtbridge__State__SimCredit m = XTBRIDGE__STATE__SIM_CREDIT__INIT;
    m.account_id = self->account_id;
    m.fin_max_fen = self->fin_max;
    m.slo_max_fen = self->slo_max;
    m.next_compact = self->next_compact;
    m.next_apply = self->next_apply;
    size_t nc = self->compacts.size, nr = self->reserves.size, ns = self->smt.size;
    Xtbridge__State__SimCompact *cs = calloc(nc + 1, sizeof *cs);
    Xtbridge__State__SimCreditReserve *rs = calloc(nr + 1, sizeof *rs);
    Xtbridge__State__SimSmtCompact *ss = calloc(ns + 1, sizeof *ss);
    void **ptrs = calloc(nc + nr + ns + 1, sizeof(void *));
    if (!cs || !rs || !ss || !ptrs)
        abort();
    m.compacts = (Xtbridge__State__SimCompact **)ptrs;
    m.reserves = (Xtbridge__State__SimCreditReserve **)(ptrs + nc);
    m.smt = (Xtbridge__State__SimSmtCompact **)(ptrs + nc + nr);
    for (size_t i = 0; i < nc; i++) {
        compact_t *c = &self->compacts.items[i];
        xtbridge__state__sim_compact__init(&cs[i]);
        cs[i].id = c->id;
        cs[i].type = c->type;
        cs[i].cashgroup_prop = c->cashgroup_prop;
        cs[i].code = c->code;
        cs[i].market = c->market;
        cs[i].open_date = c->open_date;
        cs[i].end_date = c->end_date;
        cs[i].order_id = c->order_id;
        cs[i].business_vol = c->business_vol;
        cs[i].real_vol = c->real_vol;
        cs[i].business_fen = c->business_fen;
        cs[i].real_fen = c->real_fen;
        cs[i].fare_fen = c->fare_fen;
        cs[i].real_fare_fen = c->real_fare_fen;
        cs[i].repaid_fare_fen = c->repaid_fare_fen;
        cs[i].repaid_fen = c->repaid_fen;
        cs[i].sell_fen = c->sell_fen;
        m.compacts[m.n_compacts++] = &cs[i];
    }
    for (size_t i = 0; i < nr; i++) {
        reserve_t *r = &self->reserves.items[i];
        xtbridge__state__sim_credit_reserve__init(&rs[i]);
        rs[i].order_id = r->order_id;
        rs[i].order_type = r->order_type;
        rs[i].code = r->code;
        rs[i].rest = r->rest;
        rs[i].price_fen = r->price_fen;
        m.reserves[m.n_reserves++] = &rs[i];
    }
    for (size_t i = 0; i < ns; i++) {
        smt_t *s = &self->smt.items[i];
        xtbridge__state__sim_smt_compact__init(&ss[i]);
        ss[i].apply_id = s->apply_id;
        ss[i].src_group_id = s->src_group_id;
        ss[i].code = s->code;
        ss[i].date = s->date;
        ss[i].amount = s->amount;
        ss[i].apply_rate = s->apply_rate;
        ss[i].sub_fare_rate = s->sub_fare_rate;
        ss[i].fine_rate = s->fine_rate;
        ss[i].create_date = s->create_date;
        ss[i].end_date = s->end_date;
        m.smt[m.n_smt++] = &ss[i];
    }
    uint8_t key[BRG_SIM_KEY_MAX];
    size_t klen = brg_sim_key_str(key, BRG_SIM_KEY_CREDIT, self->account_id, NULL);
    int rc = brg_sim_state_put(store, key, klen, &m.base);
    free(cs);
    free(rs);
    free(ss);
    free(ptrs);
    if (rc == 0)
        self->dirty = false;
    return rc;
}

int brg_sim_credit_load(brg_sim_credit_t *self, const Xtbridge__State__SimCredit *m) {
    self->fin_max = m->fin_max_fen;
    self->slo_max = m->slo_max_fen;
    self->next_compact = m->next_compact > 0 ? m->next_compact : 1;
    self->next_apply = m->next_apply > 0 ? m->next_apply : 1;
    self->compacts.size = self->reserves.size = self->smt.size = 0;
    for (size_t i = 0; i < m->n_compacts; i++) {
        const Xtbridge__State__SimCompact *s = m->compacts[i];
        compact_t c;
        memset(&c, 0, sizeof c);
        if (!s->id || !s->code || (s->type != TYPE_FIN && s->type != TYPE_SLO))
            return -1;
        snprintf(c.id, sizeof c.id, "%s", s->id);
        c.type = s->type;
        c.cashgroup_prop = s->cashgroup_prop;
        snprintf(c.code, sizeof c.code, "%s", s->code);
        c.market = s->market;
        c.open_date = s->open_date;
        c.end_date = s->end_date;
        c.order_id = s->order_id;
        c.business_vol = s->business_vol;
        c.real_vol = s->real_vol;
        c.business_fen = s->business_fen;
        c.real_fen = s->real_fen;
        c.fare_fen = s->fare_fen;
        c.real_fare_fen = s->real_fare_fen;
        c.repaid_fare_fen = s->repaid_fare_fen;
        c.repaid_fen = s->repaid_fen;
        c.sell_fen = s->sell_fen;
        VEC_PUSH(self->compacts, c);
    }
    for (size_t i = 0; i < m->n_reserves; i++) {
        const Xtbridge__State__SimCreditReserve *s = m->reserves[i];
        reserve_t r;
        memset(&r, 0, sizeof r);
        r.order_id = s->order_id;
        r.order_type = s->order_type;
        snprintf(r.code, sizeof r.code, "%s", s->code ? s->code : "");
        r.rest = s->rest;
        r.price_fen = s->price_fen;
        VEC_PUSH(self->reserves, r);
    }
    for (size_t i = 0; i < m->n_smt; i++) {
        const Xtbridge__State__SimSmtCompact *s = m->smt[i];
        smt_t t;
        memset(&t, 0, sizeof t);
        snprintf(t.apply_id, sizeof t.apply_id, "%s", s->apply_id ? s->apply_id : "");
        snprintf(t.src_group_id, sizeof t.src_group_id, "%s",
                 s->src_group_id ? s->src_group_id : "");
        snprintf(t.code, sizeof t.code, "%s", s->code ? s->code : "");
        t.date = s->date;
        t.amount = s->amount;
        t.apply_rate = s->apply_rate;
        t.sub_fare_rate = s->sub_fare_rate;
        t.fine_rate = s->fine_rate;
        t.create_date = s->create_date;
        t.end_date = s->end_date;
        VEC_PUSH(self->smt, t);
    }
    self->dirty = false;
    return 0;
}
