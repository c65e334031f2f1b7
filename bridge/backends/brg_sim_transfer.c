/*  brg_sim_transfer.c - the ordinary counter, the other node and external deals beside a
    simulated account (see brg_sim_transfer.h). Money in fen. */
#include "brg_sim_transfer.h"
#include "brg_compat.h"

#include <czmq.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "brg_sim_json.h"

#define COM_CASH_FEN 10000000 /* 100,000.00 */

typedef struct {
    char code[32];
    char name[64];
    int64_t volume, enable;
    double cost_price;
} com_position_t;

typedef struct {
    char trade_id[64];
    char order_sysid[64];
    char exchange_id[16];
    char instrument_id[48];
    char code[64]; /* as the trade is listed: instrument.exchange */
    double price;
    int64_t volume;
    char trade_date[16];
} deal_t;

struct brg_sim_transfer {
    brg_sim_ctx_t *ctx;
    char *account_id;
    int32_t account_type;
    int64_t com_cash, node_cash;
    com_position_t *com;
    size_t ncom;
    deal_t *deals;
    size_t ndeals;
    bool dirty;
};

brg_sim_transfer_t *brg_sim_transfer_new(brg_sim_ctx_t *ctx, const char *account_id,
                                         int32_t account_type) {
    brg_sim_transfer_t *self = (brg_sim_transfer_t *)zmalloc(sizeof(brg_sim_transfer_t));
    self->ctx = ctx;
    self->account_id = strdup(account_id ? account_id : "");
    self->account_type = account_type;
    self->com_cash = COM_CASH_FEN;
    self->com = (com_position_t *)zmalloc(sizeof(com_position_t));
    snprintf(self->com[0].code, sizeof self->com[0].code, "000001.SZ");
    snprintf(self->com[0].name, sizeof self->com[0].name, "平安银行");
    self->com[0].volume = self->com[0].enable = 1000;
    self->com[0].cost_price = 10.00;
    self->ncom = 1;
    self->dirty = true;
    return self;
}

void brg_sim_transfer_destroy(brg_sim_transfer_t **self_p) {
    if (!self_p || !*self_p)
        return;
    brg_sim_transfer_t *self = *self_p;
    free(self->com);
    free(self->deals);
    free(self->account_id);
    free(self);
    *self_p = NULL;
}

int64_t brg_sim_transfer_node_cash(brg_sim_transfer_t *self) {
    return self->node_cash;
}

bool brg_sim_transfer_fund(brg_sim_transfer_t *self, brg_sim_stock_t *stock, int32_t direction,
                           int64_t amount, int64_t withdrawable, char *msg, size_t len) {
    bool in =
        direction == BRG_SIM_TRANSFER_NORMAL_TO_SPEED || direction == BRG_SIM_TRANSFER_SZ_TO_SH;
    bool com = direction == BRG_SIM_TRANSFER_NORMAL_TO_SPEED ||
               direction == BRG_SIM_TRANSFER_SPEED_TO_NORMAL;
    int64_t *other = com ? &self->com_cash : &self->node_cash;
    const char *where = com ? "the ordinary counter" : "the SZ node";
    if (in) {
        if (amount > *other) {
            snprintf(msg, len, "insufficient funds on %s: transfer %.2f, available %.2f", where,
                     brg_sim_yuan(amount), brg_sim_yuan(*other));
            return false;
        }
        *other -= amount;
        brg_sim_stock_move_cash(stock, amount);
    } else {
        int64_t cash = brg_sim_stock_cash_available(stock);
        int64_t can = withdrawable < cash ? withdrawable : cash;
        if (can < 0)
            can = 0;
        if (amount > can) {
            snprintf(msg, len, "insufficient funds: transfer %.2f, transferable %.2f",
                     brg_sim_yuan(amount), brg_sim_yuan(can));
            return false;
        }
        brg_sim_stock_move_cash(stock, -amount);
        *other += amount;
    }
    self->dirty = true;
    snprintf(msg, len, "transferred %.2f %s %s", brg_sim_yuan(amount), in ? "from" : "to", where);
    return true;
}

static double com_market_value(brg_sim_transfer_t *self) {
    double mv = 0;
    for (size_t i = 0; i < self->ncom; i++) {
        brg_sim_quote_t *q = brg_sim_market_quote(self->ctx->market, self->com[i].code);
        mv += brg_sim_round2((double)self->com[i].volume * (q ? q->last : 0));
    }
    return brg_sim_round2(mv);
}

void brg_sim_transfer_com_fund(brg_sim_transfer_t *self, Xtbridge__ComFund *out) {
    xtbridge__com_fund__init(out);
    double cash = brg_sim_yuan(self->com_cash), mv = com_market_value(self);
    out->success = true;
    out->erro = (char *)"";
    out->currentbalance = cash;
    out->enablebalance = cash;
    out->fetchbalance = cash;
    out->interest = 0;
    out->assetbalance = brg_sim_round2(cash + mv);
    out->fetchcash = cash;
    out->marketvalue = mv;
    out->debt = 0;
}

size_t brg_sim_transfer_com_position_count(brg_sim_transfer_t *self) {
    return self->ncom;
}

void brg_sim_transfer_com_position_at(brg_sim_transfer_t *self, size_t index,
                                      Xtbridge__ComPosition *out) {
    xtbridge__com_position__init(out);
    com_position_t *p = &self->com[index];
    brg_sim_quote_t *q = brg_sim_market_quote(self->ctx->market, p->code);
    double last = q ? q->last : 0;
    double mv = brg_sim_round2((double)p->volume * last);
    double cost = brg_sim_round2((double)p->volume * p->cost_price);
    int market = brg_sim_code_market(p->code);
    out->success = true;
    out->error = (char *)"";
    out->stockaccount = (char *)(market == BRG_SIM_MARKET_SZ ? "0123456789" : "A123456789");
    out->exchangetype = (char *)(market == BRG_SIM_MARKET_SZ   ? "SZ"
                                 : market == BRG_SIM_MARKET_BJ ? "BJ"
                                                               : "SH");
    out->stockcode = p->code;
    out->stockname = p->name;
    out->totalamt = (double)p->volume;
    out->enableamount = (double)p->enable;
    out->lastprice = last;
    out->costprice = p->cost_price;
    out->income = brg_sim_round2(mv - cost);
    out->incomerate = cost > 0 ? (mv - cost) / cost : 0;
    out->marketvalue = mv;
    out->costbalance = cost;
}

/* --- external deals ---------------------------------------------------------------- */

typedef struct {
    deal_t deal;
    bool has_price, has_volume;
    char *err;
    size_t errlen;
} deal_parse_t;

static int copy_field(deal_parse_t *d, const char *key, brg_json_type_t type, const char *text,
                      char *to, size_t tolen) {
    if (type != BRG_JSON_STRING) {
        snprintf(d->err, d->errlen, "%s must be a string", key);
        return 1;
    }
    if (strlen(text) >= tolen) {
        snprintf(d->err, d->errlen, "%s is too long (at most %zu bytes)", key, tolen - 1);
        return 1;
    }
    snprintf(to, tolen, "%s", text);
    return 0;
}

static int deal_member(void *arg, const char *key, brg_json_type_t type, const char *text,
                       double number) {
    deal_parse_t *d = (deal_parse_t *)arg;
    deal_t *x = &d->deal;
    if (strcmp(key, "m_strExchangeID") == 0)
        return copy_field(d, key, type, text, x->exchange_id, sizeof x->exchange_id);
    if (strcmp(key, "m_strInstrumentID") == 0)
        return copy_field(d, key, type, text, x->instrument_id, sizeof x->instrument_id);
    if (strcmp(key, "m_strTradeID") == 0)
        return copy_field(d, key, type, text, x->trade_id, sizeof x->trade_id);
    if (strcmp(key, "m_strOrderSysID") == 0)
        return copy_field(d, key, type, text, x->order_sysid, sizeof x->order_sysid);
    if (strcmp(key, "m_strTradeDate") == 0)
        return copy_field(d, key, type, text, x->trade_date, sizeof x->trade_date);
    if (strcmp(key, "m_dPrice") == 0 || strcmp(key, "m_nVolume") == 0) {
        bool price = key[2] == 'd';
        if (type != BRG_JSON_NUMBER || !isfinite(number) || number <= 0 ||
            (!price && (number != floor(number) || number > 1e15))) {
            snprintf(d->err, d->errlen, "%s must be a %s > 0 (got %.40s)", key,
                     price ? "number" : "whole number", text);
            return 1;
        }
        if (price) {
            x->price = number;
            d->has_price = true;
        } else {
            x->volume = (int64_t)number;
            d->has_volume = true;
        }
    }
    return 0; /* other keys of the vendor's Deal dictionary are accepted and not kept */
}

/* Parse deal `index`; 0, or -1 with the reason in buf. */
static int parse_deal(const char *json, size_t index, deal_t *out, char *buf, size_t len) {
    char why[200] = "";
    deal_parse_t d;
    memset(&d, 0, sizeof d);
    d.err = why;
    d.errlen = sizeof why;
    if (brg_sim_json_object(json, deal_member, &d, why, sizeof why) != 0) {
        snprintf(buf, len, "deal %zu: %s", index, why);
        return -1;
    }
    const char *missing = !*d.deal.trade_id        ? "m_strTradeID"
                          : !*d.deal.instrument_id ? "m_strInstrumentID"
                          : !d.has_price           ? "m_dPrice"
                          : !d.has_volume          ? "m_nVolume"
                                                   : NULL;
    if (missing) {
        snprintf(buf, len, "deal %zu: %s is required", index, missing);
        return -1;
    }
    if (strchr(d.deal.instrument_id, '.') || !*d.deal.exchange_id)
        snprintf(d.deal.code, sizeof d.deal.code, "%s", d.deal.instrument_id);
    else
        snprintf(d.deal.code, sizeof d.deal.code, "%s.%s", d.deal.instrument_id,
                 d.deal.exchange_id);
    *out = d.deal;
    return 0;
}

static deal_t *deal_find(deal_t *deals, size_t n, const char *trade_id) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(deals[i].trade_id, trade_id) == 0)
            return &deals[i];
    return NULL;
}

const char *brg_sim_transfer_sync(brg_sim_transfer_t *self, const char *operation,
                                  const char *data_type, char *const *deals, size_t ndeals,
                                  char *buf, size_t len) {
    const char *op = operation ? operation : "";
    bool add = strcmp(op, "ADD") == 0, update = strcmp(op, "UPDATE") == 0,
         replace = strcmp(op, "REPLACE") == 0, del = strcmp(op, "DELETE") == 0;
    if (!add && !update && !replace && !del) {
        snprintf(buf, len, "invalid operation type: %.40s (ADD, UPDATE, REPLACE or DELETE)", op);
        return buf;
    }
    if (!data_type || strcmp(data_type, "DEAL") != 0) {
        snprintf(buf, len, "invalid data type: %.40s (DEAL)", data_type ? data_type : "");
        return buf;
    }
    /* work on a copy: a bad deal anywhere changes nothing */
    size_t cap = self->ndeals + ndeals + 1;
    deal_t *next = (deal_t *)calloc(cap, sizeof(deal_t));
    if (!next)
        abort();
    size_t n = 0;
    if (!replace && self->ndeals) {
        memcpy(next, self->deals, self->ndeals * sizeof(deal_t));
        n = self->ndeals;
    }
    for (size_t i = 0; i < ndeals; i++) {
        deal_t d;
        if (parse_deal(deals[i], i, &d, buf, len) != 0) {
            free(next);
            return buf;
        }
        deal_t *have = deal_find(next, n, d.trade_id);
        if ((add || replace) && have) {
            snprintf(buf, len, "deal %zu: trade %.40s already recorded", i, d.trade_id);
            free(next);
            return buf;
        }
        if ((update || del) && !have) {
            snprintf(buf, len, "deal %zu: no recorded trade %.40s", i, d.trade_id);
            free(next);
            return buf;
        }
        if (del) {
            memmove(have, have + 1, (size_t)(next + n - have - 1) * sizeof(deal_t));
            n--;
        } else if (update) {
            *have = d;
        } else {
            next[n++] = d;
        }
    }
    free(self->deals);
    self->deals = next;
    self->ndeals = n;
    self->dirty = true;
    return NULL;
}

size_t brg_sim_transfer_deal_count(brg_sim_transfer_t *self) {
    return self->ndeals;
}

/* m_strTradeDate YYYYMMDD as epoch seconds of that day's start in China (UTC+8), like
   every other time the sim reports; 0 when absent or not a date. */
static int64_t date_epoch(const char *date) {
    int y, m, d;
    char end;
    if (!date || sscanf(date, "%4d%2d%2d%c", &y, &m, &d, &end) != 3 || m < 1 || m > 12 || d < 1 ||
        d > 31)
        return 0;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d};
    return (int64_t)brg_compat_timegm(&tm) - 8 * 3600;
}

void brg_sim_transfer_deal_at(brg_sim_transfer_t *self, size_t index, Xtbridge__XtTrade *out) {
    xtbridge__xt_trade__init(out);
    deal_t *d = &self->deals[index];
    out->account_type = self->account_type;
    out->account_id = self->account_id;
    out->stock_code = d->code;
    out->stock_code1 = d->code;
    out->traded_id = d->trade_id;
    out->traded_time = date_epoch(d->trade_date);
    out->traded_price = d->price;
    out->traded_volume = d->volume;
    out->traded_amount = brg_sim_round2(d->price * (double)d->volume);
    out->order_sysid = d->order_sysid;
    out->strategy_name = (char *)"";
    out->order_remark = (char *)"external";
}

/* --- durability -------------------------------------------------------------------- */

int brg_sim_transfer_persist(brg_sim_transfer_t *self, brg_store_t *store) {
    if (!self->dirty)
        return 0;
    Xtbridge__State__SimTransfer m = XTBRIDGE__STATE__SIM_TRANSFER__INIT;
    m.account_id = self->account_id;
    m.com_cash_fen = self->com_cash;
    m.node_cash_fen = self->node_cash;
    Xtbridge__State__SimComPosition *ps = calloc(self->ncom + 1, sizeof *ps);
    Xtbridge__State__SimExternalDeal *ds = calloc(self->ndeals + 1, sizeof *ds);
    void **ptrs = calloc(self->ncom + self->ndeals + 1, sizeof(void *));
    if (!ps || !ds || !ptrs)
        abort();
    m.com_positions = (Xtbridge__State__SimComPosition **)ptrs;
    m.deals = (Xtbridge__State__SimExternalDeal **)(ptrs + self->ncom);
    for (size_t i = 0; i < self->ncom; i++) {
        xtbridge__state__sim_com_position__init(&ps[i]);
        ps[i].code = self->com[i].code;
        ps[i].name = self->com[i].name;
        ps[i].volume = self->com[i].volume;
        ps[i].enable = self->com[i].enable;
        ps[i].cost_price = self->com[i].cost_price;
        m.com_positions[m.n_com_positions++] = &ps[i];
    }
    for (size_t i = 0; i < self->ndeals; i++) {
        deal_t *d = &self->deals[i];
        xtbridge__state__sim_external_deal__init(&ds[i]);
        ds[i].trade_id = d->trade_id;
        ds[i].order_sysid = d->order_sysid;
        ds[i].exchange_id = d->exchange_id;
        ds[i].instrument_id = d->instrument_id;
        ds[i].price = d->price;
        ds[i].volume = d->volume;
        ds[i].trade_date = d->trade_date;
        m.deals[m.n_deals++] = &ds[i];
    }
    uint8_t key[BRG_SIM_KEY_MAX];
    size_t klen = brg_sim_key_str(key, BRG_SIM_KEY_TRANSFER, self->account_id, NULL);
    int rc = brg_sim_state_put(store, key, klen, &m.base);
    free(ps);
    free(ds);
    free(ptrs);
    if (rc == 0)
        self->dirty = false;
    return rc;
}

int brg_sim_transfer_load(brg_sim_transfer_t *self, const Xtbridge__State__SimTransfer *m) {
    self->com_cash = m->com_cash_fen;
    self->node_cash = m->node_cash_fen;
    free(self->com);
    free(self->deals);
    self->com = (com_position_t *)calloc(m->n_com_positions + 1, sizeof(com_position_t));
    self->deals = (deal_t *)calloc(m->n_deals + 1, sizeof(deal_t));
    if (!self->com || !self->deals)
        abort();
    self->ncom = m->n_com_positions;
    for (size_t i = 0; i < self->ncom; i++) {
        const Xtbridge__State__SimComPosition *p = m->com_positions[i];
        snprintf(self->com[i].code, sizeof self->com[i].code, "%s", p->code ? p->code : "");
        snprintf(self->com[i].name, sizeof self->com[i].name, "%s", p->name ? p->name : "");
        self->com[i].volume = p->volume;
        self->com[i].enable = p->enable;
        self->com[i].cost_price = p->cost_price;
    }
    self->ndeals = m->n_deals;
    for (size_t i = 0; i < self->ndeals; i++) {
        const Xtbridge__State__SimExternalDeal *s = m->deals[i];
        deal_t *d = &self->deals[i];
#define COPY_S(field, from) snprintf(d->field, sizeof d->field, "%s", (from) ? (from) : "")
        COPY_S(trade_id, s->trade_id);
        COPY_S(order_sysid, s->order_sysid);
        COPY_S(exchange_id, s->exchange_id);
        COPY_S(instrument_id, s->instrument_id);
        COPY_S(trade_date, s->trade_date);
#undef COPY_S
        d->price = s->price;
        d->volume = s->volume;
        if (strchr(d->instrument_id, '.') || !*d->exchange_id)
            snprintf(d->code, sizeof d->code, "%s", d->instrument_id);
        else
            snprintf(d->code, sizeof d->code, "%s.%s", d->instrument_id, d->exchange_id);
    }
    self->dirty = false;
    return 0;
}
