/*  brg_sim_futures.c - one simulated FUTURE account book. See brg_sim_futures.h.

    Model (a CTP-style counter, simplified):
    - balance: static equity in fen. Fees are taken from it on each fill, closing profit
      (against the lot's reference price) is added on each close, and the day close adds
      every position's mark-to-market (settlement - reference) and makes the settlement
      price the new reference.
    - a position (contract, direction) is a FIFO list of lots, one entry per fill, each with
      its open price, reference price, margin per lot and a today flag. Margin per lot is
      price x multiplier x margin rate, rounded to the fen, at the open price during the day
      and at the settlement price after.
    - an order is a plan of legs fixed at entry (close today, close yesterday, close FIFO,
      open) from what the position can close then; close legs freeze lots, the open leg
      freezes margin + open fee per lot at the order's price. Each fill releases the freeze
      of its lots (the last one what is left) and charges margin and fee at the fill price.
    - available (XtAsset.cash) = balance + position profit - used margin - frozen;
      total_asset = balance + position profit (dynamic equity); market_value = the value of
      the contracts held at the last price; frozen_cash = frozen.
    Price limits are not simulated for futures; ticks are.
*/
#include "brg_sim_futures.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum {
    ST_UNREPORTED = 48,
    ST_REPORTED = 50,
    ST_REPORTED_CANCEL = 51,
    ST_PARTSUCC_CANCEL = 52,
    ST_PART_CANCEL = 53,
    ST_CANCELED = 54,
    ST_PART_SUCC = 55,
    ST_SUCCEEDED = 56,
    ST_JUNK = 57,
};
/* DIR_: windows.h (through czmq) has types named LONG and SHORT */
enum { DIR_LONG = 48, DIR_SHORT = 49, BUY = 48, SELL = 49 };
enum {
    OFFSET_OPEN = 48,
    OFFSET_CLOSE = 49,
    OFFSET_CLOSETODAY = 51,
    OFFSET_CLOSEYESTERDAY = 52,
};
enum { HEDGE_SPECULATION = 49 }; /* EHedgeFlagType '1' */
enum { LEG_OPEN = 0, LEG_CLOSE_TODAY = 1, LEG_CLOSE_YD = 2, LEG_CLOSE_FIFO = 3 };
/* broker price types reported in XtOrder.price_type (EBrokerPriceType) */
enum { BROKER_PRICE_ANY = 49, BROKER_PRICE_LIMIT = 50 };
/* futures price types of xtconstant */
enum {
    PT_MARKET_BEST = 18,
    PT_MARKET_CANCEL = 19,
    PT_MARKET_CANCEL_ALL = 20,
    PT_MARKET_CANCEL_1 = 21,
    PT_MARKET_CANCEL_5 = 22,
    PT_MARKET_CONVERT_1 = 23,
    PT_MARKET_CONVERT_5 = 24,
};
#define SYSID_BASE 30000000LL
#define MAX_LEGS 3

/* --- products ---------------------------------------------------------------------- */

typedef struct {
    const char *suffix;
    const char *id; /* exchange_id */
    const char *name;
    int market;
} exchange_t;

static const exchange_t exchanges[] = {
    {"IF", "CFFEX", "中国金融期货交易所", 2},  {"SF", "SHFE", "上海期货交易所", 3},
    {"DF", "DCE", "大连商品交易所", 4},        {"ZF", "CZCE", "郑州商品交易所", 5},
    {"INE", "INE", "上海国际能源交易中心", 6},
};

/*  The sim's product specs: contract size, tick, margin rate and fees as a typical
    futures company charges them (exchange fee plus a little). Fees are a rate of the
    turnover (parts per million) plus a fixed amount per lot, for opening, closing
    yesterday's lots and closing today's. */
typedef struct {
    const char *id;
    const char *name;
    const char *suffix;
    int64_t multiplier;
    int64_t tick_fen;
    int64_t margin_bp; /* 1/10000 of the contract value */
    int64_t open_ppm, close_ppm, close_today_ppm;
    int64_t open_lot_fen, close_lot_fen, close_today_lot_fen;
} product_t;

static const product_t products[] = {
    {"IF", "沪深300股指", "IF", 300, 20, 1200, 23, 23, 345, 0, 0, 0},
    {"IH", "上证50股指", "IF", 300, 20, 1200, 23, 23, 345, 0, 0, 0},
    {"IC", "中证500股指", "IF", 200, 20, 1200, 23, 23, 345, 0, 0, 0},
    {"IM", "中证1000股指", "IF", 200, 20, 1200, 23, 23, 345, 0, 0, 0},
    {"rb", "螺纹钢", "SF", 10, 100, 1000, 100, 100, 100, 0, 0, 0},
    {"cu", "沪铜", "SF", 5, 1000, 1000, 50, 50, 100, 0, 0, 0},
    {"au", "沪金", "SF", 1000, 2, 1000, 0, 0, 0, 200, 200, 0},
    {"i", "铁矿石", "DF", 100, 50, 1300, 100, 100, 100, 0, 0, 0},
    {"m", "豆粕", "DF", 10, 100, 1000, 0, 0, 0, 150, 150, 150},
    {"SR", "白糖", "ZF", 10, 100, 900, 0, 0, 0, 300, 300, 300},
    {"CF", "棉花", "ZF", 5, 500, 900, 0, 0, 0, 430, 430, 430},
    {"sc", "原油", "INE", 1000, 10, 1000, 0, 0, 0, 2000, 2000, 0},
};

static const exchange_t *exchange_of(const char *suffix) {
    for (size_t i = 0; i < sizeof exchanges / sizeof exchanges[0]; i++)
        if (strcmp(exchanges[i].suffix, suffix) == 0)
            return &exchanges[i];
    return NULL;
}

/*  The product of a contract code, or NULL with the reason in buf (when buf is not NULL). */
static const product_t *parse_code(const char *code, char *buf, size_t len) {
    const char *dot = code ? strchr(code, '.') : NULL;
    if (!dot || strlen(code) > 20) {
        if (buf)
            snprintf(buf, len, "bad futures code '%.30s' (want <product><yymm>.<IF|SF|DF|ZF|INE>)",
                     code ? code : "");
        return NULL;
    }
    const exchange_t *exchange = exchange_of(dot + 1);
    size_t letters = 0;
    while (code + letters < dot && isalpha((unsigned char)code[letters]))
        letters++;
    size_t digits = (size_t)(dot - code) - letters;
    bool all_digits = true;
    for (const char *s = code + letters; s < dot; s++)
        all_digits = all_digits && isdigit((unsigned char)*s);
    if (!exchange || letters == 0 || letters > 2 || !all_digits) {
        if (buf)
            snprintf(buf, len, "bad futures code '%.30s' (want <product><yymm>.<IF|SF|DF|ZF|INE>)",
                     code);
        return NULL;
    }
    const product_t *product = NULL;
    for (size_t i = 0; i < sizeof products / sizeof products[0] && !product; i++)
        if (strlen(products[i].id) == letters && strncmp(products[i].id, code, letters) == 0)
            product = &products[i];
    if (!product) {
        if (buf)
            snprintf(buf, len,
                     "unknown futures product '%.*s' in %.30s (known: IF IH IC IM rb cu au i m SR "
                     "CF sc)",
                     (int)letters, code, code);
        return NULL;
    }
    if (strcmp(product->suffix, exchange->suffix) != 0) {
        if (buf)
            snprintf(buf, len, "%.30s: product %s trades on .%s, not .%s", code, product->id,
                     product->suffix, exchange->suffix);
        return NULL;
    }
    /* yymm; CZCE writes ymm */
    bool czce = strcmp(exchange->suffix, "ZF") == 0;
    if (!(digits == 4 || (czce && digits == 3))) {
        if (buf)
            snprintf(buf, len, "%.30s: the month must be yymm%s", code, czce ? " or ymm" : "");
        return NULL;
    }
    int month = (code[letters + digits - 2] - '0') * 10 + (code[letters + digits - 1] - '0');
    if (month < 1 || month > 12) {
        if (buf)
            snprintf(buf, len, "%.30s: month %02d is not 01-12", code, month);
        return NULL;
    }
    return product;
}

bool brg_sim_futures_code_valid(const char *code) {
    /* asked of every order's code, stock codes included: no message to format */
    return parse_code(code, NULL, 0) != NULL;
}

const char *brg_sim_futures_code_problem(const char *code, char *buf, size_t len) {
    return parse_code(code, buf, len) ? NULL : buf;
}

int brg_sim_futures_code_market(const char *code) {
    char buf[160];
    const product_t *p = parse_code(code, buf, sizeof buf);
    return p ? exchange_of(p->suffix)->market : -1;
}

static const product_t *product_of(const char *code) {
    return parse_code(code, NULL, 0);
}

int64_t brg_sim_futures_code_multiplier(const char *code) {
    const product_t *p = product_of(code);
    return p ? p->multiplier : 0;
}

/* SHFE and INE tell close-today from close-yesterday; the others close FIFO. */
static bool split_today(const product_t *p) {
    return strcmp(p->suffix, "SF") == 0 || strcmp(p->suffix, "INE") == 0;
}

/* Half-up integer division of a non-negative numerator. */
static int64_t div_round(int64_t num, int64_t den) {
    return num >= 0 ? (num + den / 2) / den : -((-num + den / 2) / den);
}

static int64_t lot_value(const product_t *p, int64_t price_fen) {
    return price_fen * p->multiplier;
}

static int64_t margin_per_lot(const product_t *p, int64_t price_fen) {
    return div_round(lot_value(p, price_fen) * p->margin_bp, 10000);
}

/* Fee of `lots` at price: the rate on the turnover plus the per-lot amount. */
static int64_t fee_of(const product_t *p, int leg, bool today_lots, int64_t lots,
                      int64_t price_fen) {
    int64_t ppm = leg == LEG_OPEN ? p->open_ppm : today_lots ? p->close_today_ppm : p->close_ppm;
    int64_t per_lot = leg == LEG_OPEN ? p->open_lot_fen
                      : today_lots    ? p->close_today_lot_fen
                                      : p->close_lot_fen;
    return div_round(lot_value(p, price_fen) * lots * ppm, 1000000) + per_lot * lots;
}

/* --- the book ---------------------------------------------------------------------- */

typedef struct {
    int64_t volume, open_price, ref_price, margin, frozen;
    bool today;
} lot_t;

typedef struct {
    char code[32];
    char instrument[24]; /* code without the suffix */
    char expire[12];
    const product_t *product;
    int32_t direction;
    lot_t *lots;
    size_t nlots, clots;
    int64_t open_times, open_volume, cancel_times, commission, close_profit, yesterday_init;
} position_t;

typedef struct {
    int32_t kind;
    int64_t volume, done;
} leg_t;

typedef struct {
    int64_t id;
    char sysid[24];
    char code[32];
    char *name;
    const product_t *product;
    int32_t order_type, price_type;
    int64_t price; /* fen */
    int64_t volume, traded, traded_amount;
    int32_t status;
    char *status_msg;
    char *strategy, *remark;
    int64_t time;
    int32_t side;
    leg_t legs[MAX_LEGS];
    size_t nlegs;
    int64_t freeze_per_lot, freeze_left;
} order_t;

typedef struct {
    int64_t id;
    char traded_id[24];
    int64_t order_id;
    char sysid[24];
    char code[32];
    char *name;
    int32_t order_type;
    int64_t time, price, volume, amount, commission;
    int32_t side, offset_flag;
    char *strategy, *remark;
} trade_t;

struct brg_sim_futures {
    brg_sim_ctx_t *ctx;
    char *account_id;
    int64_t balance, frozen;
    position_t **positions;
    size_t npositions, cpositions;
    order_t **orders;
    size_t norders, corders;
    trade_t **trades;
    size_t ntrades, ctrades;
    bool dirty;
};

static void grow(void ***array, size_t *size, size_t *capacity, void *item) {
    if (*size == *capacity) {
        *capacity = *capacity ? *capacity * 2 : 8;
        *array = (void **)realloc(*array, *capacity * sizeof(void *));
        if (!*array)
            abort();
    }
    (*array)[(*size)++] = item;
}

static char *dup_or_empty(const char *s) {
    char *copy = strdup(s ? s : "");
    if (!copy)
        abort();
    return copy;
}

static void order_free(order_t *o) {
    free(o->name);
    free(o->status_msg);
    free(o->strategy);
    free(o->remark);
    free(o);
}

static void trade_free(trade_t *t) {
    free(t->name);
    free(t->strategy);
    free(t->remark);
    free(t);
}

static void position_free(position_t *p) {
    free(p->lots);
    free(p);
}

brg_sim_futures_t *brg_sim_futures_new(brg_sim_ctx_t *ctx, const char *account_id, double cash) {
    brg_sim_futures_t *self = (brg_sim_futures_t *)calloc(1, sizeof *self);
    if (!self)
        abort();
    self->ctx = ctx;
    self->account_id = dup_or_empty(account_id);
    self->balance = brg_sim_to_fen(cash);
    self->dirty = true;
    return self;
}

void brg_sim_futures_destroy(brg_sim_futures_t **self_p) {
    if (!self_p || !*self_p)
        return;
    brg_sim_futures_t *self = *self_p;
    for (size_t i = 0; i < self->npositions; i++)
        position_free(self->positions[i]);
    for (size_t i = 0; i < self->norders; i++)
        order_free(self->orders[i]);
    for (size_t i = 0; i < self->ntrades; i++)
        trade_free(self->trades[i]);
    free(self->positions);
    free(self->orders);
    free(self->trades);
    free(self->account_id);
    free(self);
    *self_p = NULL;
}

static void format_id(char *buf, size_t len, int64_t id) {
    snprintf(buf, len, "%" PRId64, id);
}

static int64_t last_fen(brg_sim_futures_t *self, const char *code) {
    brg_sim_quote_t *q = brg_sim_market_quote(self->ctx->market, code);
    return q ? brg_sim_to_fen(q->last) : 0;
}

static position_t *position_find(brg_sim_futures_t *self, const char *code, int32_t direction) {
    for (size_t i = 0; i < self->npositions; i++)
        if (self->positions[i]->direction == direction &&
            strcmp(self->positions[i]->code, code) == 0)
            return self->positions[i];
    return NULL;
}

static position_t *position_new(brg_sim_futures_t *self, const char *code, int32_t direction) {
    position_t *p = (position_t *)calloc(1, sizeof *p);
    if (!p)
        abort();
    snprintf(p->code, sizeof p->code, "%s", code);
    const char *dot = strchr(p->code, '.');
    size_t n = dot ? (size_t)(dot - p->code) : strlen(p->code);
    snprintf(p->instrument, sizeof p->instrument, "%.*s", (int)n, p->code);
    p->product = product_of(code);
    /* delivery month: yymm (ymm on CZCE: this decade); the sim puts expiry on the 15th */
    size_t letters = strlen(p->product->id);
    const char *digits = p->instrument + letters;
    if (strlen(digits) == 3)
        snprintf(p->expire, sizeof p->expire, "202%c%c%c15", digits[0], digits[1], digits[2]);
    else
        snprintf(p->expire, sizeof p->expire, "20%.4s15", digits);
    p->direction = direction;
    grow((void ***)&self->positions, &self->npositions, &self->cpositions, p);
    /* long before short, then code order of creation: keep a stable listing */
    return p;
}

static position_t *position_get(brg_sim_futures_t *self, const char *code, int32_t direction) {
    position_t *p = position_find(self, code, direction);
    return p ? p : position_new(self, code, direction);
}

static int64_t position_volume(const position_t *p, int which) {
    /* which: 0 all, 1 today, 2 yesterday */
    int64_t v = 0;
    for (size_t i = 0; i < p->nlots; i++)
        if (which == 0 || (which == 1) == p->lots[i].today)
            v += p->lots[i].volume;
    return v;
}

static int64_t position_frozen(const position_t *p) {
    int64_t v = 0;
    for (size_t i = 0; i < p->nlots; i++)
        v += p->lots[i].frozen;
    return v;
}

/* Lots a close leg of `kind` may still take (not frozen by another close). */
static int64_t closable(const position_t *p, int kind) {
    int64_t v = 0;
    for (size_t i = 0; p && i < p->nlots; i++) {
        const lot_t *l = &p->lots[i];
        if (kind == LEG_CLOSE_FIFO || (kind == LEG_CLOSE_TODAY) == l->today)
            v += l->volume - l->frozen;
    }
    return v;
}

/*  Visit the lots a close leg of `kind` takes, in its order: today's lots for close-today
    (FIFO among them), yesterday's for close-yesterday, all in entry order for FIFO (a
    yesterday lot is always older than a today one). */
static bool lot_matches(const lot_t *l, int kind) {
    return kind == LEG_CLOSE_FIFO || (kind == LEG_CLOSE_TODAY) == l->today;
}

static void freeze_lots(position_t *p, int kind, int64_t volume) {
    for (size_t i = 0; i < p->nlots && volume > 0; i++) {
        lot_t *l = &p->lots[i];
        if (!lot_matches(l, kind))
            continue;
        int64_t take = l->volume - l->frozen < volume ? l->volume - l->frozen : volume;
        l->frozen += take;
        volume -= take;
    }
}

static void unfreeze_lots(position_t *p, int kind, int64_t volume) {
    for (size_t i = p->nlots; i-- > 0 && volume > 0;) {
        lot_t *l = &p->lots[i];
        if (!lot_matches(l, kind))
            continue;
        int64_t take = l->frozen < volume ? l->frozen : volume;
        l->frozen -= take;
        volume -= take;
    }
}

static void drop_empty_lots(position_t *p) {
    size_t kept = 0;
    for (size_t i = 0; i < p->nlots; i++)
        if (p->lots[i].volume > 0)
            p->lots[kept++] = p->lots[i];
    p->nlots = kept;
}

static int64_t used_margin(const position_t *p) {
    int64_t m = 0;
    for (size_t i = 0; i < p->nlots; i++)
        m += p->lots[i].margin * p->lots[i].volume;
    return m;
}

/* Mark-to-market profit of a position against its reference prices, at price `last`. */
static int64_t position_profit(const position_t *p, int64_t last) {
    int64_t sign = p->direction == DIR_LONG ? 1 : -1, v = 0;
    for (size_t i = 0; i < p->nlots; i++)
        v += sign * (last - p->lots[i].ref_price) * p->product->multiplier * p->lots[i].volume;
    return v;
}

static int64_t float_profit(const position_t *p, int64_t last) {
    int64_t sign = p->direction == DIR_LONG ? 1 : -1, v = 0;
    for (size_t i = 0; i < p->nlots; i++)
        v += sign * (last - p->lots[i].open_price) * p->product->multiplier * p->lots[i].volume;
    return v;
}

typedef struct {
    int64_t profit, margin, value;
} totals_t;

static totals_t totals(brg_sim_futures_t *self) {
    totals_t t = {0, 0, 0};
    for (size_t i = 0; i < self->npositions; i++) {
        position_t *p = self->positions[i];
        int64_t last = last_fen(self, p->code);
        t.profit += position_profit(p, last);
        t.margin += used_margin(p);
        t.value += lot_value(p->product, last) * position_volume(p, 0);
    }
    return t;
}

static int64_t available(brg_sim_futures_t *self) {
    totals_t t = totals(self);
    return self->balance + t.profit - t.margin - self->frozen;
}

/* --- snapshots --------------------------------------------------------------------- */

static int32_t order_offset(const order_t *o) {
    int kind = o->nlegs ? o->legs[0].kind : LEG_OPEN;
    return kind == LEG_OPEN          ? OFFSET_OPEN
           : kind == LEG_CLOSE_TODAY ? OFFSET_CLOSETODAY
           : kind == LEG_CLOSE_YD    ? OFFSET_CLOSEYESTERDAY
                                     : OFFSET_CLOSE;
}

static void fill_order_msg(brg_sim_futures_t *self, const order_t *o, Xtbridge__XtOrder *out) {
    xtbridge__xt_order__init(out);
    out->account_type = BRG_SIM_ACCOUNT_FUTURE;
    out->account_id = self->account_id;
    out->stock_code = (char *)o->code;
    out->stock_code1 = (char *)o->code;
    out->instrument_name = o->name;
    out->order_id = o->id;
    out->order_sysid = (char *)o->sysid;
    out->order_time = o->time;
    out->order_type = o->order_type;
    out->order_volume = o->volume;
    out->price_type = o->price_type == BRG_SIM_FIX_PRICE || o->price_type == BRG_SIM_LATEST_PRICE ||
                              o->price_type == PT_MARKET_CONVERT_1 ||
                              o->price_type == PT_MARKET_CONVERT_5
                          ? BROKER_PRICE_LIMIT
                          : BROKER_PRICE_ANY;
    out->requested_price_type = o->price_type; /* what was sent (protocol.md §6.5) */
    out->price = brg_sim_yuan(o->price);
    out->traded_volume = o->traded;
    out->traded_price = o->traded && o->product ? brg_sim_yuan(o->traded_amount) /
                                                      (double)(o->traded * o->product->multiplier)
                                                : 0.0;
    out->order_status = o->status;
    out->status_msg = o->status_msg ? o->status_msg : (char *)"";
    out->strategy_name = o->strategy;
    out->order_remark = o->remark;
    out->direction = o->side;
    out->offset_flag = order_offset(o);
}

static void fill_trade_msg(brg_sim_futures_t *self, const trade_t *t, Xtbridge__XtTrade *out) {
    xtbridge__xt_trade__init(out);
    out->account_type = BRG_SIM_ACCOUNT_FUTURE;
    out->account_id = self->account_id;
    out->stock_code = (char *)t->code;
    out->stock_code1 = (char *)t->code;
    out->instrument_name = t->name;
    out->order_type = t->order_type;
    out->traded_id = (char *)t->traded_id;
    out->traded_time = t->time;
    out->traded_price = brg_sim_yuan(t->price);
    out->traded_volume = t->volume;
    out->traded_amount = brg_sim_yuan(t->amount);
    out->order_id = t->order_id;
    out->order_sysid = (char *)t->sysid;
    out->strategy_name = t->strategy;
    out->order_remark = t->remark;
    out->direction = t->side;
    out->offset_flag = t->offset_flag;
    out->commission = brg_sim_yuan(t->commission);
}

/* Average of the lots' price `field` (open or reference), yuan per unit. */
static double avg_price(const position_t *p, bool open) {
    int64_t volume = position_volume(p, 0), sum = 0;
    for (size_t i = 0; i < p->nlots; i++)
        sum += (open ? p->lots[i].open_price : p->lots[i].ref_price) * p->lots[i].volume;
    return volume ? brg_sim_yuan(sum) / (double)volume : 0.0;
}

static const char *position_name(brg_sim_futures_t *self, const position_t *p) {
    brg_sim_quote_t *q = brg_sim_market_quote(self->ctx->market, p->code);
    return q ? q->name : p->code;
}

static void fill_position_msg(brg_sim_futures_t *self, const position_t *p,
                              Xtbridge__XtPosition *out) {
    xtbridge__xt_position__init(out);
    int64_t last = last_fen(self, p->code);
    int64_t volume = position_volume(p, 0), frozen = position_frozen(p);
    out->account_type = BRG_SIM_ACCOUNT_FUTURE;
    out->account_id = self->account_id;
    out->stock_code = (char *)p->code;
    out->stock_code1 = (char *)p->code;
    out->instrument_name = (char *)position_name(self, p);
    out->volume = volume;
    out->can_use_volume = volume - frozen;
    out->frozen_volume = frozen;
    out->yesterday_volume = position_volume(p, 2);
    out->open_price = avg_price(p, true);
    out->avg_price = avg_price(p, false);
    out->market_value = brg_sim_yuan(lot_value(p->product, last) * volume);
    out->last_price = brg_sim_yuan(last);
    out->direction = p->direction;
}

void brg_sim_futures_asset(brg_sim_futures_t *self, Xtbridge__XtAsset *out) {
    xtbridge__xt_asset__init(out);
    totals_t t = totals(self);
    out->account_type = BRG_SIM_ACCOUNT_FUTURE;
    out->account_id = self->account_id;
    out->cash = brg_sim_yuan(self->balance + t.profit - t.margin - self->frozen);
    out->frozen_cash = brg_sim_yuan(self->frozen);
    out->market_value = brg_sim_yuan(t.value);
    out->total_asset = brg_sim_yuan(self->balance + t.profit);
}

/* --- pushes ------------------------------------------------------------------------ */

static void emit(brg_sim_futures_t *self, const char *kind, Xtbridge__Event *event) {
    if (self->ctx->emit)
        self->ctx->emit(self->ctx->emit_arg, kind, self->account_id, event);
}

static void push_order(brg_sim_futures_t *self, const order_t *o) {
    Xtbridge__XtOrder msg;
    fill_order_msg(self, o, &msg);
    Xtbridge__Event event = XTBRIDGE__EVENT__INIT;
    event.body_case = XTBRIDGE__EVENT__BODY_ORDER;
    event.order = &msg;
    emit(self, "order", &event);
}

static void push_trade(brg_sim_futures_t *self, const trade_t *t) {
    Xtbridge__XtTrade msg;
    fill_trade_msg(self, t, &msg);
    Xtbridge__Event event = XTBRIDGE__EVENT__INIT;
    event.body_case = XTBRIDGE__EVENT__BODY_TRADE;
    event.trade = &msg;
    emit(self, "trade", &event);
}

static void push_position(brg_sim_futures_t *self, const position_t *p) {
    Xtbridge__XtPosition msg;
    fill_position_msg(self, p, &msg);
    Xtbridge__Event event = XTBRIDGE__EVENT__INIT;
    event.body_case = XTBRIDGE__EVENT__BODY_POSITION;
    event.position = &msg;
    emit(self, "position", &event);
}

static void push_asset(brg_sim_futures_t *self) {
    Xtbridge__XtAsset msg;
    brg_sim_futures_asset(self, &msg);
    Xtbridge__Event event = XTBRIDGE__EVENT__INIT;
    event.body_case = XTBRIDGE__EVENT__BODY_ASSET;
    event.asset = &msg;
    emit(self, "asset", &event);
}

static void push_order_async(brg_sim_futures_t *self, const order_t *o, int64_t seq) {
    Xtbridge__XtOrderResponse msg = XTBRIDGE__XT_ORDER_RESPONSE__INIT;
    msg.account_type = BRG_SIM_ACCOUNT_FUTURE;
    msg.account_id = self->account_id;
    msg.order_id = o->id;
    msg.strategy_name = o->strategy;
    msg.order_remark = o->remark;
    msg.seq = seq;
    Xtbridge__Event event = XTBRIDGE__EVENT__INIT;
    event.body_case = XTBRIDGE__EVENT__BODY_ORDER_ASYNC;
    event.order_async = &msg;
    emit(self, "order_async", &event);
}

static void push_order_error(brg_sim_futures_t *self, const order_t *o, const char *reason,
                             int64_t seq) {
    Xtbridge__XtOrderError msg = XTBRIDGE__XT_ORDER_ERROR__INIT;
    msg.account_type = BRG_SIM_ACCOUNT_FUTURE;
    msg.account_id = self->account_id;
    msg.order_id = o->id;
    msg.error_id = BRG_SIM_ORDER_ERROR_ID;
    msg.error_msg = (char *)reason;
    msg.strategy_name = o->strategy;
    msg.order_remark = o->remark;
    msg.seq = seq > 0 ? seq : 0;
    Xtbridge__Event event = XTBRIDGE__EVENT__INIT;
    event.body_case = XTBRIDGE__EVENT__BODY_ORDER_ERROR;
    event.order_error = &msg;
    emit(self, "order_error", &event);
}

/* cancel_async and cancel_error as the stock book sends them (relaxed order included) */
static void push_cancel_result(brg_sim_futures_t *self, int64_t order_id, int market,
                               const char *sysid, const char *error, int64_t seq) {
    brg_sim_push_cancel_result(self->ctx, BRG_SIM_ACCOUNT_FUTURE, self->account_id, order_id,
                               market, sysid, error, seq);
}

/* Pushes of the positions an order touches (its close legs' and its open leg's). */
static void push_order_positions(brg_sim_futures_t *self, const order_t *o) {
    int32_t open_dir = o->side == BUY ? DIR_LONG : DIR_SHORT;
    int32_t close_dir = o->side == BUY ? DIR_SHORT : DIR_LONG;
    bool closes = false, opens = false;
    for (size_t i = 0; i < o->nlegs; i++)
        *(o->legs[i].kind == LEG_OPEN ? &opens : &closes) = true;
    position_t *p;
    if (closes && (p = position_find(self, o->code, close_dir)))
        push_position(self, p);
    if (opens && (p = position_find(self, o->code, open_dir)))
        push_position(self, p);
}

/* --- order entry ------------------------------------------------------------------- */

static const char *account_status_name(int32_t status) {
    static const char *names[] = {"INVALID",    "OK",           "WAITING_LOGIN", "LOGINING",
                                  "FAIL",       "INITING",      "CORRECTING",    "CLOSED",
                                  "ASSIS_FAIL", "DISABLEBYSYS", "DISABLEBYUSER"};
    return status >= -1 && status <= 9 ? names[status + 1] : "unknown";
}

/*  The order's side and legs from its type and what the position can close now; NULL or
    the rejection reason. `first` is the preferred close bucket of the four- and two-key
    styles. */
static const char *plan(brg_sim_futures_t *self, order_t *o, char *buf, size_t len) {
    int t = o->order_type;
    bool split = split_today(o->product);
    /* side, close bucket (-1 none), then-open, strict (no other bucket) */
    int side, kind = -1, second = -1;
    bool then_open = false, open = false;
    switch (t) {
    case 0:
    case 14:
        side = BUY, open = true;
        break;
    case 3:
    case 15:
        side = SELL, open = true;
        break;
    case 1:
    case 4:
        side = t == 1 ? SELL : BUY, kind = split ? LEG_CLOSE_YD : LEG_CLOSE_FIFO;
        break;
    case 2:
    case 5:
        side = t == 2 ? SELL : BUY, kind = split ? LEG_CLOSE_TODAY : LEG_CLOSE_FIFO;
        break;
    case 6:
    case 8:
    case 10:
    case 12:
        side = (t == 6 || t == 10) ? SELL : BUY;
        kind = split ? LEG_CLOSE_TODAY : LEG_CLOSE_FIFO;
        second = split ? LEG_CLOSE_YD : -1;
        then_open = t >= 10;
        break;
    case 7:
    case 9:
    case 11:
    case 13:
        side = (t == 7 || t == 11) ? SELL : BUY;
        kind = split ? LEG_CLOSE_YD : LEG_CLOSE_FIFO;
        second = split ? LEG_CLOSE_TODAY : -1;
        then_open = t >= 10;
        break;
    default:
        if (t >= 16 && t <= 22)
            snprintf(buf, len,
                     "order type %d (%s) needs a combination contract; the sim trades single "
                     "contracts only",
                     t, t <= 18 ? "arbitrage" : "renew");
        else
            snprintf(buf, len, "order type %d not supported on a FUTURE account", t);
        return buf;
    }
    o->side = side;
    int64_t left = o->volume;
    if (kind >= 0) {
        position_t *p = position_find(self, o->code, side == BUY ? DIR_SHORT : DIR_LONG);
        int64_t first_can = closable(p, kind);
        int64_t second_can = second >= 0 ? closable(p, second) : 0;
        int64_t take = first_can < left ? first_can : left;
        if (take > 0)
            o->legs[o->nlegs++] = (leg_t){kind, take, 0};
        left -= take;
        take = second_can < left ? second_can : left;
        if (take > 0)
            o->legs[o->nlegs++] = (leg_t){second, take, 0};
        left -= take;
        if (left > 0 && !then_open) {
            const char *what = kind == LEG_CLOSE_TODAY && second < 0 ? "today's "
                               : kind == LEG_CLOSE_YD && second < 0  ? "yesterday's "
                                                                     : "";
            snprintf(buf, len, "close %" PRId64 " lots of %s%s %s: only %" PRId64 " closable",
                     o->volume, what, side == BUY ? "short" : "long", o->code,
                     first_can + second_can);
            return buf;
        }
        open = left > 0;
    }
    if (open)
        o->legs[o->nlegs++] = (leg_t){LEG_OPEN, left, 0};
    return NULL;
}

static bool is_market_type(int32_t pt) {
    return pt >= PT_MARKET_BEST && pt <= PT_MARKET_CONVERT_5;
}

static const char *check_order(brg_sim_futures_t *self, order_t *o, const brg_sim_quote_t *quote,
                               int32_t account_status, char *buf, size_t len) {
    if (account_status != 0) {
        snprintf(buf, len, "account status %d (%s) is not OK: no orders", account_status,
                 account_status_name(account_status));
        return buf;
    }
    if (!quote) {
        snprintf(buf, len, "%s has no price yet (sim_set_price it first)", o->code);
        return buf;
    }
    const char *suffix = o->product->suffix;
    if (o->price_type == BRG_SIM_LATEST_PRICE || is_market_type(o->price_type)) {
        /* market price types are per exchange (xtconstant) */
        bool ok = o->price_type == BRG_SIM_LATEST_PRICE ||
                  (o->price_type == PT_MARKET_BEST && strcmp(suffix, "ZF") == 0) ||
                  ((o->price_type == PT_MARKET_CANCEL || o->price_type == PT_MARKET_CANCEL_ALL) &&
                   strcmp(suffix, "DF") == 0) ||
                  (o->price_type >= PT_MARKET_CANCEL_1 && strcmp(suffix, "IF") == 0);
        if (!ok) {
            snprintf(buf, len, "price type %d not supported on .%s", o->price_type, suffix);
            return buf;
        }
        o->price = brg_sim_to_fen(quote->last);
    } else if (o->price_type != BRG_SIM_FIX_PRICE) {
        snprintf(buf, len, "price type %d not supported for futures", o->price_type);
        return buf;
    }
    if (o->price <= 0 || o->price % o->product->tick_fen != 0) {
        snprintf(buf, len, "price %.2f is off the %.2f tick of %s", brg_sim_yuan(o->price),
                 brg_sim_yuan(o->product->tick_fen), o->product->id);
        return buf;
    }
    const char *why = plan(self, o, buf, len);
    if (why)
        return why;
    for (size_t i = 0; i < o->nlegs; i++)
        if (o->legs[i].kind == LEG_OPEN) {
            o->freeze_per_lot = margin_per_lot(o->product, o->price) +
                                fee_of(o->product, LEG_OPEN, false, 1, o->price);
            int64_t need;
            /* a price near the sim's cap times a huge volume passes 64 bits: refused for
               funds like any order too big for the account, never computed wrong */
            if (__builtin_mul_overflow(o->freeze_per_lot, o->legs[i].volume, &need))
                need = INT64_MAX;
            int64_t have = available(self);
            if (need > have) {
                snprintf(buf, len,
                         "insufficient funds: margin and fees %.2f for %" PRId64
                         " lots, available %.2f",
                         brg_sim_yuan(need), o->legs[i].volume, brg_sim_yuan(have));
                o->nlegs = 0;
                return buf;
            }
            o->freeze_left = need;
        }
    return NULL;
}

static void order_freeze(brg_sim_futures_t *self, order_t *o) {
    position_t *p = position_find(self, o->code, o->side == BUY ? DIR_SHORT : DIR_LONG);
    for (size_t i = 0; i < o->nlegs; i++)
        if (o->legs[i].kind != LEG_OPEN && p)
            freeze_lots(p, o->legs[i].kind, o->legs[i].volume);
    self->frozen += o->freeze_left;
}

static void order_release(brg_sim_futures_t *self, order_t *o) {
    position_t *p = position_find(self, o->code, o->side == BUY ? DIR_SHORT : DIR_LONG);
    for (size_t i = 0; i < o->nlegs; i++)
        if (o->legs[i].kind != LEG_OPEN && p)
            unfreeze_lots(p, o->legs[i].kind, o->legs[i].volume - o->legs[i].done);
    self->frozen -= o->freeze_left;
    o->freeze_left = 0;
    self->dirty = true;
}

static trade_t *new_trade(brg_sim_futures_t *self, order_t *o, int64_t qty, int64_t price,
                          int32_t offset_flag) {
    trade_t *t = (trade_t *)calloc(1, sizeof *t);
    if (!t)
        abort();
    t->id = self->ctx->next_trade_id++;
    format_id(t->traded_id, sizeof t->traded_id, 60000000 + t->id);
    t->order_id = o->id;
    memcpy(t->sysid, o->sysid, sizeof t->sysid);
    memcpy(t->code, o->code, sizeof t->code);
    t->name = dup_or_empty(o->name);
    t->order_type = o->order_type;
    t->time = (int64_t)time(NULL);
    t->price = price;
    t->volume = qty;
    t->amount = lot_value(o->product, price) * qty;
    t->side = o->side;
    t->offset_flag = offset_flag;
    t->strategy = dup_or_empty(o->strategy);
    t->remark = dup_or_empty(o->remark);
    grow((void ***)&self->trades, &self->ntrades, &self->ctrades, t);
    return t;
}

/* Close `qty` frozen lots of leg `kind` at `price`: profit and fees into the balance. */
static int64_t close_lots(brg_sim_futures_t *self, position_t *p, int kind, int64_t qty,
                          int64_t price) {
    int64_t sign = p->direction == DIR_LONG ? 1 : -1, fee = 0;
    for (size_t i = 0; i < p->nlots && qty > 0; i++) {
        lot_t *l = &p->lots[i];
        if (!lot_matches(l, kind) || l->frozen == 0)
            continue;
        int64_t take = l->frozen < qty ? l->frozen : qty;
        int64_t profit = sign * (price - l->ref_price) * p->product->multiplier * take;
        fee += fee_of(p->product, kind, l->today, take, price);
        self->balance += profit;
        p->close_profit += profit;
        l->frozen -= take;
        l->volume -= take;
        qty -= take;
    }
    drop_empty_lots(p);
    return fee;
}

static void fill(brg_sim_futures_t *self, order_t *o, int64_t qty, int64_t price) {
    int32_t open_dir = o->side == BUY ? DIR_LONG : DIR_SHORT;
    int32_t close_dir = o->side == BUY ? DIR_SHORT : DIR_LONG;
    size_t first_trade = self->ntrades;
    for (size_t i = 0; i < o->nlegs && qty > 0; i++) {
        leg_t *leg = &o->legs[i];
        int64_t take = leg->volume - leg->done < qty ? leg->volume - leg->done : qty;
        if (take <= 0)
            continue;
        int64_t fee;
        int32_t offset;
        position_t *p;
        if (leg->kind == LEG_OPEN) {
            p = position_get(self, o->code, open_dir);
            fee = fee_of(o->product, LEG_OPEN, false, take, price);
            lot_t lot = {take, price, price, margin_per_lot(o->product, price), 0, true};
            if (p->nlots == p->clots) {
                p->clots = p->clots ? p->clots * 2 : 4;
                p->lots = (lot_t *)realloc(p->lots, p->clots * sizeof(lot_t));
                if (!p->lots)
                    abort();
            }
            p->lots[p->nlots++] = lot;
            p->open_times += leg->done == 0 ? 1 : 0;
            p->open_volume += take;
            /* the freeze of these lots goes back; the last open fill gives back the rest */
            bool last = leg->done + take == leg->volume;
            int64_t release = last ? o->freeze_left : o->freeze_per_lot * take;
            if (release > o->freeze_left)
                release = o->freeze_left;
            o->freeze_left -= release;
            self->frozen -= release;
            offset = OFFSET_OPEN;
        } else {
            p = position_find(self, o->code, close_dir);
            fee = close_lots(self, p, leg->kind, take, price);
            offset = leg->kind == LEG_CLOSE_TODAY ? OFFSET_CLOSETODAY
                     : leg->kind == LEG_CLOSE_YD  ? OFFSET_CLOSEYESTERDAY
                                                  : OFFSET_CLOSE;
        }
        self->balance -= fee;
        p->commission += fee;
        leg->done += take;
        qty -= take;
        o->traded += take;
        o->traded_amount += lot_value(o->product, price) * take;
        trade_t *t = new_trade(self, o, take, price, offset);
        t->commission = fee;
    }
    o->status = o->traded == o->volume ? ST_SUCCEEDED : ST_PART_SUCC;
    self->dirty = true;
    for (size_t i = first_trade; i < self->ntrades; i++)
        push_trade(self, self->trades[i]);
    push_order(self, o);
    push_order_positions(self, o);
    push_asset(self);
}

static bool order_open(const order_t *o) {
    return brg_sim_order_status_open(o->status);
}

static int match_order(brg_sim_futures_t *self, order_t *o, const brg_sim_quote_t *quote,
                       int64_t *left, bool entry) {
    if (!order_open(o) || strcmp(o->code, quote->code) != 0)
        return 0;
    int64_t last = brg_sim_to_fen(quote->last);
    bool crosses = o->side == BUY ? last <= o->price : last >= o->price;
    if (!crosses)
        return 0;
    int64_t qty = o->volume - o->traded;
    if (qty > *left)
        qty = *left;
    if (qty <= 0)
        return 0;
    *left -= qty;
    fill(self, o, qty, entry ? last : o->price);
    return 1;
}

static void push_release(brg_sim_futures_t *self, const order_t *o) {
    push_order_positions(self, o);
    push_asset(self);
}

static void expire_order(brg_sim_futures_t *self, order_t *o, const char *why) {
    order_release(self, o);
    o->status = o->traded ? ST_PART_CANCEL : ST_CANCELED;
    free(o->status_msg);
    o->status_msg = dup_or_empty(why);
    push_order(self, o);
    push_release(self, o);
}

int64_t brg_sim_futures_order(brg_sim_futures_t *self, const brg_sim_order_args_t *args) {
    brg_sim_quote_t *quote = brg_sim_market_quote(self->ctx->market, args->stock_code);
    order_t *o = (order_t *)calloc(1, sizeof *o);
    if (!o)
        abort();
    o->id = self->ctx->next_order_id++;
    format_id(o->sysid, sizeof o->sysid, SYSID_BASE + o->id);
    snprintf(o->code, sizeof o->code, "%s", args->stock_code ? args->stock_code : "");
    o->product = product_of(o->code); /* the backend checked the code */
    o->name = dup_or_empty(quote ? quote->name : o->code);
    o->order_type = args->order_type;
    o->price_type = args->price_type;
    o->price = brg_sim_to_fen(args->price);
    o->volume = args->order_volume;
    o->strategy = dup_or_empty(args->strategy_name);
    o->remark = dup_or_empty(args->order_remark);
    o->time = (int64_t)time(NULL);
    o->side =
        (o->order_type == 3 || o->order_type == 15 || o->order_type == 1 || o->order_type == 2 ||
         o->order_type == 6 || o->order_type == 7 || o->order_type == 10 || o->order_type == 11)
            ? SELL
            : BUY;
    grow((void ***)&self->orders, &self->norders, &self->corders, o);
    self->dirty = true;

    if (args->seq > 0)
        push_order_async(self, o, args->seq);
    char why[240];
    const char *reason = o->product
                             ? check_order(self, o, quote, args->account_status, why, sizeof why)
                             : "bad code";
    if (reason) {
        o->status = ST_JUNK;
        o->status_msg = dup_or_empty(reason);
        o->freeze_left = 0;
        push_order(self, o);
        push_order_error(self, o, reason, args->seq);
        return o->id;
    }
    order_freeze(self, o);
    o->status = ST_UNREPORTED;
    push_order(self, o);
    o->status = ST_REPORTED;
    push_order(self, o);
    push_release(self, o); /* what the entry froze: lots, margin */

    int64_t left = quote->liquidity > 0 ? quote->liquidity : INT64_MAX;
    if (o->price_type == PT_MARKET_CANCEL_ALL && left < o->volume) {
        expire_order(self, o, "fill or kill: not enough liquidity");
        return o->id;
    }
    match_order(self, o, quote, &left, true);
    if (order_open(o) && is_market_type(o->price_type) && o->price_type != PT_MARKET_CONVERT_1 &&
        o->price_type != PT_MARKET_CONVERT_5)
        expire_order(self, o, "market order remainder cancelled");
    return o->id;
}

/* --- cancel ------------------------------------------------------------------------ */

static order_t *order_find(brg_sim_futures_t *self, int64_t id) {
    for (size_t i = 0; i < self->norders; i++)
        if (self->orders[i]->id == id)
            return self->orders[i];
    return NULL;
}

static int cancel(brg_sim_futures_t *self, order_t *o, int64_t order_id, int market,
                  const char *sysid, int64_t seq) {
    if (!o || !order_open(o)) {
        char why[160];
        if (o)
            snprintf(why, sizeof why, "cancel %" PRId64 ": order already finished (status %d)",
                     o->id, o->status);
        else if (order_id < 0)
            snprintf(why, sizeof why, "cancel sysid %.40s on market %d: no such order", sysid,
                     market);
        else
            snprintf(why, sizeof why, "cancel %" PRId64 ": no such order", order_id);
        push_cancel_result(self, o ? o->id : order_id, market, o ? o->sysid : sysid, why, seq);
        return -1;
    }
    int o_market = exchange_of(o->product->suffix)->market;
    push_cancel_result(self, o->id, o_market, o->sysid, NULL, seq);
    o->status = o->traded ? ST_PARTSUCC_CANCEL : ST_REPORTED_CANCEL;
    push_order(self, o);
    order_release(self, o);
    o->status = o->traded ? ST_PART_CANCEL : ST_CANCELED;
    /* the statistics count cancels on the position the order would open or close */
    int32_t dir = o->nlegs && o->legs[0].kind != LEG_OPEN ? (o->side == BUY ? DIR_SHORT : DIR_LONG)
                                                          : (o->side == BUY ? DIR_LONG : DIR_SHORT);
    position_get(self, o->code, dir)->cancel_times++;
    push_order(self, o);
    push_release(self, o);
    return 0;
}

int brg_sim_futures_cancel(brg_sim_futures_t *self, int64_t order_id, int64_t seq) {
    return cancel(self, order_find(self, order_id), order_id, -1, "", seq);
}

int brg_sim_futures_cancel_sysid(brg_sim_futures_t *self, int market, const char *order_sysid,
                                 int64_t seq) {
    order_t *found = NULL;
    for (size_t i = 0; i < self->norders && !found; i++) {
        order_t *o = self->orders[i];
        if (order_sysid && strcmp(o->sysid, order_sysid) == 0 && o->product &&
            exchange_of(o->product->suffix)->market == market)
            found = o;
    }
    return cancel(self, found, -1, market, order_sysid, seq);
}

/* --- matching and day close -------------------------------------------------------- */

int brg_sim_futures_match_some(brg_sim_futures_t *self, const brg_sim_quote_t *quote, int64_t *left,
                               size_t *at, size_t max) {
    int fills = 0;
    if (*at >= self->norders)
        return 0;
    for (size_t end = max < self->norders - *at ? *at + max : self->norders; *at<end && * left> 0;
         (*at)++) {
        if (!match_order(self, self->orders[*at], quote, left, false))
            continue;
        fills++;
        if (self->ctx->checkpoint && self->ctx->checkpoint(self->ctx->checkpoint_arg)) {
            *left = 0;
            break;
        }
    }
    return fills;
}

void brg_sim_futures_next_day(brg_sim_futures_t *self) {
    /* a flat book with no orders has nothing to settle and pushes nothing */
    if (self->npositions == 0 && self->norders == 0)
        return;
    for (size_t i = 0; i < self->norders; i++)
        if (order_open(self->orders[i]))
            expire_order(self, self->orders[i], "expired at day close");
    for (size_t i = 0; i < self->norders; i++)
        order_free(self->orders[i]);
    self->norders = 0;
    for (size_t i = 0; i < self->ntrades; i++)
        trade_free(self->trades[i]);
    self->ntrades = 0;
    /* settlement: mark every lot to the last price, re-margin at it */
    size_t kept = 0;
    for (size_t i = 0; i < self->npositions; i++) {
        position_t *p = self->positions[i];
        int64_t settle = last_fen(self, p->code);
        if (settle > 0) {
            self->balance += position_profit(p, settle);
            for (size_t j = 0; j < p->nlots; j++) {
                p->lots[j].ref_price = settle;
                p->lots[j].margin = margin_per_lot(p->product, settle);
            }
        }
        for (size_t j = 0; j < p->nlots; j++) {
            p->lots[j].today = false;
            p->lots[j].frozen = 0;
        }
        p->open_times = p->open_volume = p->cancel_times = 0;
        p->commission = p->close_profit = 0;
        p->yesterday_init = position_volume(p, 0);
        if (p->nlots == 0) {
            position_free(p);
            continue;
        }
        self->positions[kept++] = p;
        push_position(self, p);
    }
    self->npositions = kept;
    self->frozen = 0;
    self->dirty = true;
    push_asset(self);
}

/* --- queries ----------------------------------------------------------------------- */

size_t brg_sim_futures_order_count(brg_sim_futures_t *self) {
    return self->norders;
}

void brg_sim_futures_order_at(brg_sim_futures_t *self, size_t index, Xtbridge__XtOrder *out) {
    fill_order_msg(self, self->orders[index], out);
}

bool brg_sim_futures_order_get(brg_sim_futures_t *self, int64_t order_id, Xtbridge__XtOrder *out) {
    order_t *o = order_find(self, order_id);
    if (o)
        fill_order_msg(self, o, out);
    return o != NULL;
}

size_t brg_sim_futures_trade_count(brg_sim_futures_t *self) {
    return self->ntrades;
}

void brg_sim_futures_trade_at(brg_sim_futures_t *self, size_t index, Xtbridge__XtTrade *out) {
    fill_trade_msg(self, self->trades[index], out);
}

size_t brg_sim_futures_position_count(brg_sim_futures_t *self) {
    return self->npositions;
}

void brg_sim_futures_position_at(brg_sim_futures_t *self, size_t index, Xtbridge__XtPosition *out) {
    fill_position_msg(self, self->positions[index], out);
}

bool brg_sim_futures_position_get(brg_sim_futures_t *self, const char *code,
                                  Xtbridge__XtPosition *out) {
    position_t *p = code ? position_find(self, code, DIR_LONG) : NULL;
    if (!p && code)
        p = position_find(self, code, DIR_SHORT);
    if (p)
        fill_position_msg(self, p, out);
    return p != NULL;
}

static double ratio(int64_t num, int64_t den) {
    return den ? (double)num / (double)den : 0.0;
}

void brg_sim_futures_statistics_at(brg_sim_futures_t *self, size_t index,
                                   Xtbridge__XtPositionStatistics *out) {
    position_t *p = self->positions[index];
    xtbridge__xt_position_statistics__init(out);
    const exchange_t *ex = exchange_of(p->product->suffix);
    brg_sim_quote_t *q = brg_sim_market_quote(self->ctx->market, p->code);
    int64_t last = last_fen(self, p->code);
    int64_t pre = q ? brg_sim_to_fen(q->pre_close) : 0;
    int64_t volume = position_volume(p, 0), mult = p->product->multiplier;
    int64_t cost = 0, open_cost = 0;
    for (size_t i = 0; i < p->nlots; i++) {
        cost += p->lots[i].ref_price * mult * p->lots[i].volume;
        open_cost += p->lots[i].open_price * mult * p->lots[i].volume;
    }
    int64_t frozen_margin = 0, frozen_fee = 0;
    for (size_t i = 0; i < self->norders; i++) {
        order_t *o = self->orders[i];
        if (!order_open(o) || strcmp(o->code, p->code) != 0 ||
            (o->side == BUY ? DIR_LONG : DIR_SHORT) != p->direction)
            continue;
        for (size_t j = 0; j < o->nlegs; j++)
            if (o->legs[j].kind == LEG_OPEN) {
                int64_t lots = o->legs[j].volume - o->legs[j].done;
                frozen_margin += margin_per_lot(o->product, o->price) * lots;
                frozen_fee += fee_of(o->product, LEG_OPEN, false, 1, o->price) * lots;
            }
    }
    totals_t t = totals(self);
    int64_t pos_profit = position_profit(p, last), flt = float_profit(p, last);
    int64_t margin = used_margin(p), dynamic = self->balance + t.profit;
    out->account_id = self->account_id;
    out->exchange_id = (char *)ex->id;
    out->exchange_name = (char *)ex->name;
    out->product_id = (char *)p->product->id;
    out->instrument_id = p->instrument;
    out->instrument_name = (char *)position_name(self, p);
    out->direction = p->direction;
    out->hedge_flag = HEDGE_SPECULATION;
    out->position = volume;
    out->yesterday_position = position_volume(p, 2);
    out->today_position = position_volume(p, 1);
    out->can_close_vol = volume - position_frozen(p);
    out->position_cost = brg_sim_yuan(cost);
    out->avg_price = avg_price(p, false);
    out->position_profit = brg_sim_yuan(pos_profit);
    out->float_profit = brg_sim_yuan(flt);
    out->open_price = avg_price(p, true);
    out->open_cost = brg_sim_yuan(open_cost);
    out->used_margin = brg_sim_yuan(margin);
    out->used_commission = brg_sim_yuan(p->commission);
    out->frozen_margin = brg_sim_yuan(frozen_margin);
    out->frozen_commission = brg_sim_yuan(frozen_fee);
    out->instrument_value = brg_sim_yuan(last * mult * volume);
    out->open_times = p->open_times;
    out->open_volume = p->open_volume;
    out->cancel_times = p->cancel_times;
    out->last_price = brg_sim_yuan(last);
    out->rise_ratio = pre ? 100.0 * (double)(last - pre) / (double)pre : 0.0;
    out->product_name = (char *)p->product->name;
    out->royalty = 0;
    out->expire_date = p->expire;
    out->assest_weight = ratio(margin, dynamic);
    out->increase_by_settlement = out->rise_ratio; /* pre_close is the last settlement */
    out->margin_ratio = (double)p->product->margin_bp / 10000.0;
    out->float_profit_divide_by_used_margin = ratio(flt, margin);
    out->float_profit_divide_by_balance = ratio(flt, dynamic);
    out->today_profit_loss = brg_sim_yuan(pos_profit + p->close_profit);
    out->yesterday_init_position = p->yesterday_init;
    out->frozen_royalty = 0;
    out->today_close_profit_loss = brg_sim_yuan(p->close_profit);
    out->close_profit = brg_sim_yuan(p->close_profit);
    out->ft_product_name = (char *)p->product->name;
}

/* --- durability -------------------------------------------------------------------- */

void brg_sim_futures_cash(brg_sim_futures_t *self, int64_t *balance, int64_t *frozen) {
    *balance = self->balance;
    *frozen = self->frozen;
}

bool brg_sim_futures_take_account_dirty(brg_sim_futures_t *self) {
    /* the book record carries the balance too; the account record follows the same mark
       (persist clears it) */
    return self->dirty;
}

int brg_sim_futures_persist(brg_sim_futures_t *self, brg_store_t *store) {
    if (!self->dirty || !store)
        return 0;
    Xtbridge__State__SimFuturesBook book = XTBRIDGE__STATE__SIM_FUTURES_BOOK__INIT;
    book.balance_fen = self->balance;
    book.frozen_fen = self->frozen;
    size_t nlots = 0;
    for (size_t i = 0; i < self->npositions; i++)
        nlots += self->positions[i]->nlots;
    Xtbridge__State__SimFuturesPosition *pos =
        calloc(self->npositions + 1, sizeof(Xtbridge__State__SimFuturesPosition));
    Xtbridge__State__SimFuturesPosition **ppos = calloc(self->npositions + 1, sizeof(void *));
    Xtbridge__State__SimFuturesLot *lots =
        calloc(nlots + 1, sizeof(Xtbridge__State__SimFuturesLot));
    Xtbridge__State__SimFuturesLot **plots = calloc(nlots + 1, sizeof(void *));
    Xtbridge__State__SimFuturesOrder *ord =
        calloc(self->norders + 1, sizeof(Xtbridge__State__SimFuturesOrder));
    Xtbridge__State__SimFuturesOrder **pord = calloc(self->norders + 1, sizeof(void *));
    Xtbridge__State__SimFuturesLeg *legs =
        calloc(self->norders * MAX_LEGS + 1, sizeof(Xtbridge__State__SimFuturesLeg));
    Xtbridge__State__SimFuturesLeg **plegs = calloc(self->norders * MAX_LEGS + 1, sizeof(void *));
    Xtbridge__State__SimFuturesTrade *trd =
        calloc(self->ntrades + 1, sizeof(Xtbridge__State__SimFuturesTrade));
    Xtbridge__State__SimFuturesTrade **ptrd = calloc(self->ntrades + 1, sizeof(void *));
    if (!pos || !ppos || !lots || !plots || !ord || !pord || !legs || !plegs || !trd || !ptrd)
        abort();
    size_t li = 0;
    for (size_t i = 0; i < self->npositions; i++) {
        position_t *p = self->positions[i];
        Xtbridge__State__SimFuturesPosition *m = &pos[i];
        xtbridge__state__sim_futures_position__init(m);
        m->code = p->code;
        m->direction = p->direction;
        m->lots = &plots[li];
        for (size_t j = 0; j < p->nlots; j++, li++) {
            xtbridge__state__sim_futures_lot__init(&lots[li]);
            lots[li].volume = p->lots[j].volume;
            lots[li].open_price_fen = p->lots[j].open_price;
            lots[li].ref_price_fen = p->lots[j].ref_price;
            lots[li].margin_fen = p->lots[j].margin;
            lots[li].today = p->lots[j].today;
            lots[li].frozen = p->lots[j].frozen;
            plots[li] = &lots[li];
        }
        m->n_lots = p->nlots;
        m->open_times = p->open_times;
        m->open_volume = p->open_volume;
        m->cancel_times = p->cancel_times;
        m->commission_fen = p->commission;
        m->close_profit_fen = p->close_profit;
        m->yesterday_init = p->yesterday_init;
        ppos[i] = m;
    }
    book.positions = ppos;
    book.n_positions = self->npositions;
    size_t gi = 0;
    for (size_t i = 0; i < self->norders; i++) {
        order_t *o = self->orders[i];
        Xtbridge__State__SimFuturesOrder *m = &ord[i];
        xtbridge__state__sim_futures_order__init(m);
        m->id = o->id;
        m->code = o->code;
        m->name = o->name;
        m->order_type = o->order_type;
        m->price_type = o->price_type;
        m->price_fen = o->price;
        m->volume = o->volume;
        m->traded = o->traded;
        m->traded_amount_fen = o->traded_amount;
        m->status = o->status;
        m->status_msg = o->status_msg ? o->status_msg : (char *)"";
        m->strategy = o->strategy;
        m->remark = o->remark;
        m->time = o->time;
        m->side = o->side;
        m->legs = &plegs[gi];
        for (size_t j = 0; j < o->nlegs; j++, gi++) {
            xtbridge__state__sim_futures_leg__init(&legs[gi]);
            legs[gi].kind = o->legs[j].kind;
            legs[gi].volume = o->legs[j].volume;
            legs[gi].done = o->legs[j].done;
            plegs[gi] = &legs[gi];
        }
        m->n_legs = o->nlegs;
        m->freeze_per_lot_fen = o->freeze_per_lot;
        m->freeze_left_fen = o->freeze_left;
        pord[i] = m;
    }
    book.orders = pord;
    book.n_orders = self->norders;
    for (size_t i = 0; i < self->ntrades; i++) {
        trade_t *t = self->trades[i];
        Xtbridge__State__SimFuturesTrade *m = &trd[i];
        xtbridge__state__sim_futures_trade__init(m);
        m->id = t->id;
        m->order_id = t->order_id;
        m->code = t->code;
        m->name = t->name;
        m->order_type = t->order_type;
        m->time = t->time;
        m->price_fen = t->price;
        m->volume = t->volume;
        m->amount_fen = t->amount;
        m->commission_fen = t->commission;
        m->side = t->side;
        m->offset_flag = t->offset_flag;
        m->strategy = t->strategy;
        m->remark = t->remark;
        ptrd[i] = m;
    }
    book.trades = ptrd;
    book.n_trades = self->ntrades;
    uint8_t key[BRG_SIM_KEY_MAX];
    size_t klen = brg_sim_key_str(key, BRG_SIM_KEY_FUTURES, self->account_id, NULL);
    int rc = brg_sim_state_put(store, key, klen, &book.base);
    free(pos);
    free(ppos);
    free(lots);
    free(plots);
    free(ord);
    free(pord);
    free(legs);
    free(plegs);
    free(trd);
    free(ptrd);
    if (rc == 0)
        self->dirty = false;
    return rc;
}

int brg_sim_futures_load(brg_sim_futures_t *self, brg_store_t *store, int64_t balance,
                         int64_t next_order_id, int64_t next_trade_id) {
    self->balance = balance;
    self->dirty = false;
    uint8_t key[BRG_SIM_KEY_MAX];
    size_t klen = brg_sim_key_str(key, BRG_SIM_KEY_FUTURES, self->account_id, NULL);
    uint8_t *val = NULL;
    size_t vlen = 0;
    int rc = brg_store_state_get(store, key, klen, &val, &vlen);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return 0; /* stored before its first change: the account record holds it all */
    Xtbridge__State__SimFuturesBook *b = xtbridge__state__sim_futures_book__unpack(NULL, vlen, val);
    free(val);
    if (!b)
        return -1;
    int result = 0;
    self->balance = b->balance_fen;
    self->frozen = b->frozen_fen;
    for (size_t i = 0; i < b->n_positions && result == 0; i++) {
        Xtbridge__State__SimFuturesPosition *m = b->positions[i];
        if (!brg_sim_futures_code_valid(m->code) ||
            (m->direction != DIR_LONG && m->direction != DIR_SHORT) ||
            position_find(self, m->code, m->direction)) {
            result = -1;
            break;
        }
        position_t *p = position_new(self, m->code, m->direction);
        p->lots = (lot_t *)calloc(m->n_lots + 1, sizeof(lot_t));
        if (!p->lots)
            abort();
        p->clots = m->n_lots + 1;
        for (size_t j = 0; j < m->n_lots; j++) {
            Xtbridge__State__SimFuturesLot *l = m->lots[j];
            if (l->volume <= 0 || l->frozen < 0 || l->frozen > l->volume)
                result = -1;
            p->lots[p->nlots++] = (lot_t){l->volume,     l->open_price_fen, l->ref_price_fen,
                                          l->margin_fen, l->frozen,         l->today};
        }
        p->open_times = m->open_times;
        p->open_volume = m->open_volume;
        p->cancel_times = m->cancel_times;
        p->commission = m->commission_fen;
        p->close_profit = m->close_profit_fen;
        p->yesterday_init = m->yesterday_init;
    }
    for (size_t i = 0; i < b->n_orders && result == 0; i++) {
        Xtbridge__State__SimFuturesOrder *m = b->orders[i];
        if (m->id >= next_order_id || m->n_legs > MAX_LEGS ||
            !brg_sim_futures_code_valid(m->code)) {
            result = -1;
            break;
        }
        order_t *o = (order_t *)calloc(1, sizeof *o);
        if (!o)
            abort();
        o->id = m->id;
        format_id(o->sysid, sizeof o->sysid, SYSID_BASE + o->id);
        snprintf(o->code, sizeof o->code, "%s", m->code);
        o->product = product_of(o->code);
        o->name = dup_or_empty(m->name);
        o->order_type = m->order_type;
        o->price_type = m->price_type;
        o->price = m->price_fen;
        o->volume = m->volume;
        o->traded = m->traded;
        o->traded_amount = m->traded_amount_fen;
        o->status = m->status;
        o->status_msg = dup_or_empty(m->status_msg);
        o->strategy = dup_or_empty(m->strategy);
        o->remark = dup_or_empty(m->remark);
        o->time = m->time;
        o->side = m->side;
        for (size_t j = 0; j < m->n_legs; j++)
            o->legs[o->nlegs++] = (leg_t){m->legs[j]->kind, m->legs[j]->volume, m->legs[j]->done};
        o->freeze_per_lot = m->freeze_per_lot_fen;
        o->freeze_left = m->freeze_left_fen;
        grow((void ***)&self->orders, &self->norders, &self->corders, o);
    }
    for (size_t i = 0; i < b->n_trades && result == 0; i++) {
        Xtbridge__State__SimFuturesTrade *m = b->trades[i];
        if (m->id >= next_trade_id) {
            result = -1;
            break;
        }
        trade_t *t = (trade_t *)calloc(1, sizeof *t);
        if (!t)
            abort();
        t->id = m->id;
        format_id(t->traded_id, sizeof t->traded_id, 60000000 + t->id);
        t->order_id = m->order_id;
        format_id(t->sysid, sizeof t->sysid, SYSID_BASE + t->order_id);
        snprintf(t->code, sizeof t->code, "%s", m->code);
        t->name = dup_or_empty(m->name);
        t->order_type = m->order_type;
        t->time = m->time;
        t->price = m->price_fen;
        t->volume = m->volume;
        t->amount = m->amount_fen;
        t->commission = m->commission_fen;
        t->side = m->side;
        t->offset_flag = m->offset_flag;
        t->strategy = dup_or_empty(m->strategy);
        t->remark = dup_or_empty(m->remark);
        grow((void ***)&self->trades, &self->ntrades, &self->ctrades, t);
    }
    xtbridge__state__sim_futures_book__free_unpacked(b, NULL);
    return result;
}
