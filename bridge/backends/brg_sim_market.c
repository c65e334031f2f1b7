/*  brg_sim_market.c - the simulator's price table and instrument rules (code syntax,
    board limits, fees, cent rounding). See brg_sim_market.h.
*/
#include "brg_sim_market.h"
#include "brg_sim_futures.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct brg_sim_market {
    brg_sim_quote_t **quotes; /* insertion order; each quote is its own allocation so a
                                 returned pointer stays valid when the array grows */
    size_t size;
    size_t capacity;
    size_t ndirty; /* quotes with dirty set */
    brg_sim_fees_t fees;
};

static const struct {
    const char *code;
    const char *name;
    double price;
} builtins[] = {
    {"600000.SH", "浦发银行", 10.60},   {"000001.SZ", "平安银行", 11.00},
    {"600519.SH", "贵州茅台", 1500.00}, {"000002.SZ", "万科A", 7.00},
    {"300750.SZ", "宁德时代", 200.00},  {"688981.SH", "中芯国际", 50.00},
    {"430047.BJ", "诺思兰德", 10.00},
};

brg_sim_market_t *brg_sim_market_new(void) {
    brg_sim_market_t *self = (brg_sim_market_t *)zmalloc(sizeof(brg_sim_market_t));
    self->fees.commission_rate = 0.00025;
    self->fees.min_commission = 5.0;
    self->fees.stamp_duty_rate = 0.0005;
    self->fees.transfer_fee_rate = 0.00001;
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        brg_sim_market_set(self, builtins[i].code, builtins[i].name, builtins[i].price,
                           builtins[i].price, 0);
    return self;
}

void brg_sim_market_destroy(brg_sim_market_t **self_p) {
    if (!self_p || !*self_p)
        return;
    brg_sim_market_t *self = *self_p;
    for (size_t i = 0; i < self->size; i++)
        free(self->quotes[i]);
    free(self->quotes);
    free(self);
    *self_p = NULL;
}

brg_sim_quote_t *brg_sim_market_quote(brg_sim_market_t *self, const char *code) {
    if (!code)
        return NULL;
    for (size_t i = 0; i < self->size; i++)
        if (strcmp(self->quotes[i]->code, code) == 0)
            return self->quotes[i];
    return NULL;
}

brg_sim_quote_t *brg_sim_market_set(brg_sim_market_t *self, const char *code, const char *name,
                                    double pre_close, double last, int64_t liquidity) {
    if (!brg_sim_code_valid(code) && !brg_sim_futures_code_valid(code))
        return NULL;
    brg_sim_quote_t *quote = brg_sim_market_quote(self, code);
    if (!quote) {
        if (self->size == self->capacity) {
            self->capacity = self->capacity ? self->capacity * 2 : 16;
            self->quotes =
                (brg_sim_quote_t **)realloc(self->quotes, self->capacity * sizeof *self->quotes);
            if (!self->quotes)
                abort();
        }
        quote = (brg_sim_quote_t *)zmalloc(sizeof *quote);
        snprintf(quote->code, sizeof quote->code, "%s", code);
        self->quotes[self->size++] = quote;
    }
    if (name && name != quote->name) /* set(q->name) would overlap itself */
        snprintf(quote->name, sizeof quote->name, "%s", name);
    quote->pre_close = pre_close;
    quote->last = last;
    quote->liquidity = liquidity;
    brg_sim_market_touch(self, quote);
    return quote;
}

void brg_sim_market_touch(brg_sim_market_t *self, brg_sim_quote_t *quote) {
    if (!quote->dirty) {
        quote->dirty = true;
        self->ndirty++;
    }
}

void brg_sim_market_clean(brg_sim_market_t *self, brg_sim_quote_t *quote) {
    if (quote->dirty) {
        quote->dirty = false;
        self->ndirty--;
    }
}

size_t brg_sim_market_dirty(brg_sim_market_t *self) {
    return self->ndirty;
}

size_t brg_sim_market_size(brg_sim_market_t *self) {
    return self->size;
}

brg_sim_quote_t *brg_sim_market_at(brg_sim_market_t *self, size_t index) {
    return index < self->size ? self->quotes[index] : NULL;
}

brg_sim_fees_t *brg_sim_market_fees(brg_sim_market_t *self) {
    return &self->fees;
}

/* --- config ------------------------------------------------------------------------ */

int brg_sim_parse_number(const char *text, double *out) {
    if (!text || !*text)
        return -1;
    char *end = NULL;
    errno = 0;
    double value = strtod(text, &end);
    while (end && isspace((unsigned char)*end))
        end++;
    if (errno || !end || *end || !isfinite(value) || value < 0)
        return -1;
    *out = value;
    return 0;
}

static int load_fee(zconfig_t *fees, const char *key, double *field, char *err, size_t errlen) {
    zconfig_t *item = zconfig_locate(fees, key);
    if (!item)
        return 0;
    if (brg_sim_parse_number(zconfig_value(item), field) != 0) {
        snprintf(err, errlen, "sim/fees/%s: bad number '%s'", key, zconfig_value(item));
        return -1;
    }
    return 0;
}

static int load_price(brg_sim_market_t *self, zconfig_t *price, brg_sim_skip_fn *skip, void *arg,
                      char *err, size_t errlen) {
    const char *code = zconfig_get(price, "code", "");
    if (!brg_sim_code_valid(code) && !brg_sim_futures_code_valid(code)) {
        snprintf(err, errlen, "sim/price: bad code '%s'", code);
        return -1;
    }
    brg_sim_quote_t *known = brg_sim_market_quote(self, code);
    double pre_close = known ? known->pre_close : 0;
    double liquidity = 0;
    if (zconfig_locate(price, "pre_close") &&
        brg_sim_parse_number(zconfig_get(price, "pre_close", ""), &pre_close) != 0) {
        snprintf(err, errlen, "sim/price %s: bad pre_close", code);
        return -1;
    }
    if (pre_close <= 0) {
        snprintf(err, errlen, "sim/price %s: pre_close must be > 0", code);
        return -1;
    }
    double last = pre_close;
    if (zconfig_locate(price, "last") &&
        (brg_sim_parse_number(zconfig_get(price, "last", ""), &last) || last <= 0)) {
        snprintf(err, errlen, "sim/price %s: bad last", code);
        return -1;
    }
    if (zconfig_locate(price, "liquidity") &&
        (brg_sim_parse_number(zconfig_get(price, "liquidity", ""), &liquidity) ||
         liquidity != floor(liquidity) || liquidity > 1e15)) {
        snprintf(err, errlen, "sim/price %s: bad liquidity", code);
        return -1;
    }
    const char *st = zconfig_get(price, "st", NULL);
    if (st && !streq(st, "0") && !streq(st, "1")) {
        snprintf(err, errlen, "sim/price %s: st must be 0 or 1, not '%s'", code, st);
        return -1;
    }
    for (zconfig_t *key = zconfig_child(price); key; key = zconfig_next(key)) {
        const char *k = zconfig_name(key);
        if (!streq(k, "code") && !streq(k, "name") && !streq(k, "pre_close") && !streq(k, "last") &&
            !streq(k, "liquidity") && !streq(k, "st")) {
            snprintf(err, errlen,
                     "sim/price %s: unknown key '%s' (code, name, pre_close, last, "
                     "liquidity, st)",
                     code, k);
            return -1;
        }
    }
    if (skip && skip(arg, code))
        return 0;
    const char *name = zconfig_get(price, "name", known ? known->name : code);
    brg_sim_quote_t *quote =
        brg_sim_market_set(self, code, name, pre_close, last, (int64_t)liquidity);
    if (st)
        quote->st = streq(st, "1");
    return 0;
}

int brg_sim_market_load(brg_sim_market_t *self, zconfig_t *sim, char *err, size_t errlen) {
    return brg_sim_market_load_skip(self, sim, NULL, NULL, err, errlen);
}

int brg_sim_market_load_skip(brg_sim_market_t *self, zconfig_t *sim, brg_sim_skip_fn *skip,
                             void *arg, char *err, size_t errlen) {
    if (!sim)
        return 0;
    for (zconfig_t *child = zconfig_child(sim); child; child = zconfig_next(child)) {
        const char *name = zconfig_name(child);
        if (streq(name, "fees")) {
            for (zconfig_t *key = zconfig_child(child); key; key = zconfig_next(key)) {
                const char *k = zconfig_name(key);
                if (!streq(k, "commission_rate") && !streq(k, "min_commission") &&
                    !streq(k, "stamp_duty_rate") && !streq(k, "transfer_fee_rate")) {
                    snprintf(err, errlen,
                             "sim/fees: unknown key '%s' (commission_rate, min_commission, "
                             "stamp_duty_rate, transfer_fee_rate)",
                             k);
                    return -1;
                }
            }
        }
        if (streq(name, "price")) {
            if (load_price(self, child, skip, arg, err, errlen) != 0)
                return -1;
        } else if (streq(name, "fees")) {
            if (load_fee(child, "commission_rate", &self->fees.commission_rate, err, errlen) ||
                load_fee(child, "min_commission", &self->fees.min_commission, err, errlen) ||
                load_fee(child, "stamp_duty_rate", &self->fees.stamp_duty_rate, err, errlen) ||
                load_fee(child, "transfer_fee_rate", &self->fees.transfer_fee_rate, err, errlen))
                return -1;
        }
    }
    return 0;
}

/* --- rules ------------------------------------------------------------------------- */

bool brg_sim_code_valid(const char *code) {
    if (!code || strlen(code) != 9 || code[6] != '.')
        return false;
    for (int i = 0; i < 6; i++)
        if (!isdigit((unsigned char)code[i]))
            return false;
    return brg_sim_code_market(code) >= 0;
}

int brg_sim_code_market(const char *code) {
    const char *dot = code ? strchr(code, '.') : NULL;
    if (!dot)
        return -1;
    if (streq(dot + 1, "SH"))
        return BRG_SIM_MARKET_SH;
    if (streq(dot + 1, "SZ"))
        return BRG_SIM_MARKET_SZ;
    if (streq(dot + 1, "BJ"))
        return BRG_SIM_MARKET_BJ;
    return -1;
}

double brg_sim_limit_pct(const char *code) {
    int market = brg_sim_code_market(code);
    if (market == BRG_SIM_MARKET_BJ)
        return 0.30;
    if (market == BRG_SIM_MARKET_SZ &&
        (strncmp(code, "300", 3) == 0 || strncmp(code, "301", 3) == 0))
        return 0.20;
    if (market == BRG_SIM_MARKET_SH &&
        (strncmp(code, "688", 3) == 0 || strncmp(code, "689", 3) == 0))
        return 0.20;
    return 0.10;
}

double brg_sim_limit_up(const char *code, double pre_close) {
    return brg_sim_round2(pre_close * (1.0 + brg_sim_limit_pct(code)));
}

double brg_sim_limit_down(const char *code, double pre_close) {
    return brg_sim_round2(pre_close * (1.0 - brg_sim_limit_pct(code)));
}

double brg_sim_quote_limit_pct(const brg_sim_quote_t *quote) {
    double pct = brg_sim_limit_pct(quote->code);
    return quote->st && pct == 0.10 ? 0.05 : pct;
}

double brg_sim_quote_limit_up(const brg_sim_quote_t *quote) {
    return brg_sim_round2(quote->pre_close * (1.0 + brg_sim_quote_limit_pct(quote)));
}

double brg_sim_quote_limit_down(const brg_sim_quote_t *quote) {
    return brg_sim_round2(quote->pre_close * (1.0 - brg_sim_quote_limit_pct(quote)));
}

double brg_sim_round2(double value) {
    if (!isfinite(value))
        return value;
    if (value < 0)
        return -brg_sim_round2(-value);
    double cents = value * 100.0;
    /* The product carries a few ulps of error (0.105 * 100 = 10.4999999999999982); a
       tolerance of ~1e-9 cent plus a relative 1e-13 swallows that without moving any
       value a real amount could have. */
    double nudge = 1e-9 + cents * 1e-13;
    return floor(cents + 0.5 + nudge) / 100.0;
}

bool brg_sim_on_tick(double price) {
    double cents = price * 100.0;
    return fabs(cents - floor(cents + 0.5)) < 1e-6 * (1.0 + cents * 1e-6);
}

brg_sim_fee_t brg_sim_fees_compute(const brg_sim_fees_t *fees, double amount, bool sell) {
    brg_sim_fee_t fee;
    double commission = amount * fees->commission_rate;
    if (commission < fees->min_commission)
        commission = fees->min_commission;
    fee.commission = brg_sim_round2(commission);
    fee.transfer_fee = brg_sim_round2(amount * fees->transfer_fee_rate);
    fee.stamp_duty = sell ? brg_sim_round2(amount * fees->stamp_duty_rate) : 0.0;
    fee.total = brg_sim_round2(fee.commission + fee.transfer_fee + fee.stamp_duty);
    return fee;
}

brg_sim_fee_t brg_sim_fees_fill(const brg_sim_fees_t *fees, double before, double amount,
                                bool sell) {
    brg_sim_fee_t after = brg_sim_fees_compute(fees, brg_sim_round2(before + amount), sell);
    if (before <= 0)
        return after;
    brg_sim_fee_t prior = brg_sim_fees_compute(fees, before, sell);
    brg_sim_fee_t fee;
    fee.commission = brg_sim_round2(after.commission - prior.commission);
    fee.transfer_fee = brg_sim_round2(after.transfer_fee - prior.transfer_fee);
    fee.stamp_duty = brg_sim_round2(after.stamp_duty - prior.stamp_duty);
    fee.total = brg_sim_round2(fee.commission + fee.transfer_fee + fee.stamp_duty);
    return fee;
}

int64_t brg_sim_to_fen(double yuan) {
    return (int64_t)llround(brg_sim_round2(yuan) * 100.0);
}

double brg_sim_yuan(int64_t fen) {
    return (double)fen / 100.0;
}

/* x fen (a rate times an amount, not whole) rounded half-up, robust to float noise. */
static int64_t round_fen(double x) {
    return (int64_t)floor(x + 0.5 + 1e-9 + x * 1e-13);
}

brg_sim_fee_fen_t brg_sim_fees_compute_fen(const brg_sim_fees_t *fees, int64_t amount, bool sell) {
    brg_sim_fee_fen_t fee;
    double a = (double)amount;
    int64_t min = brg_sim_to_fen(fees->min_commission);
    fee.commission = round_fen(a * fees->commission_rate);
    if (fee.commission < min)
        fee.commission = min;
    fee.transfer_fee = round_fen(a * fees->transfer_fee_rate);
    fee.stamp_duty = sell ? round_fen(a * fees->stamp_duty_rate) : 0;
    fee.total = fee.commission + fee.transfer_fee + fee.stamp_duty;
    return fee;
}

brg_sim_fee_fen_t brg_sim_fees_fill_fen(const brg_sim_fees_t *fees, int64_t before, int64_t amount,
                                        bool sell) {
    brg_sim_fee_fen_t after = brg_sim_fees_compute_fen(fees, before + amount, sell);
    if (before <= 0)
        return after;
    brg_sim_fee_fen_t prior = brg_sim_fees_compute_fen(fees, before, sell);
    brg_sim_fee_fen_t fee;
    fee.commission = after.commission - prior.commission;
    fee.transfer_fee = after.transfer_fee - prior.transfer_fee;
    fee.stamp_duty = after.stamp_duty - prior.stamp_duty;
    fee.total = fee.commission + fee.transfer_fee + fee.stamp_duty;
    return fee;
}
