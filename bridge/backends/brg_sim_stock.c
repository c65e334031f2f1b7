/*  brg_sim_stock.c - one simulated STOCK account book: cash and freeze, T+1 positions,
    orders, fills, cancels and the day close, with every change pushed in xtquant's
    order. See brg_sim_stock.h.

    Money (cash, freezes, amounts, fees) is kept in integer fen, so every sum is exact;
    yuan doubles exist only at the edge (snapshots, config, the request's price). A buy freezes
   volume*price plus the order's commission and transfer fee (commission is per order, minimum
   included once: brg_sim_fees_fill); each fill is paid out of the freeze and the last one gives
   back what is left, so cash never goes negative.

    Durability: every mutation marks what it changed (the account's cash/frozen, an order,
    a position; trades never change, so the ones not yet stored are simply the tail of the
    array) and the day close records which stored keys to delete. brg_sim_stock_persist()
    writes exactly that into the store's open batch, so an order costs a few small puts
    however many orders the day already has.
*/
#include "brg_sim_stock.h"
#include "brg_sim_vec.h"

#include <inttypes.h>
#include <stddef.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
enum { DIRECTION_LONG = 48, OFFSET_OPEN = 48, OFFSET_CLOSE = 49 };
/* order_sysid = SYSID_BASE + order id: a broker contract number that differs from the id */
#define SYSID_BASE 20000000LL
/* Stock market price types (xtconstant) */
enum {
    PT_SH_CONVERT_5_CANCEL = 42,
    PT_SH_CONVERT_5_LIMIT = 43,
    PT_PEER_PRICE_FIRST = 44,
    PT_MINE_PRICE_FIRST = 45,
    PT_SZ_INSTBUSI_RESTCANCEL = 46,
    PT_SZ_CONVERT_5_CANCEL = 47,
    PT_SZ_FULL_OR_CANCEL = 48,
};

/*  An order's code, instrument name and strategy: pooled by the book, one record per
    distinct triple (a day has few), so an order holds one pointer instead of three. The
    strings themselves are the book's interned ones, shared with the trades. */
typedef struct {
    char *code;
    char *name;
    char *strategy;
} order_names_t;

/*  One order of the day. Sized for books of hundreds of thousands of open orders: the
    numbers first, the small enums narrowed, code/name/strategy as one pointer to the
    book's pooled triple, and the two strings that differ per order (sysid, remark) right
    after the fields in the day's order blocks. 83 bytes of fields: with an 8-digit sysid
    and a remark of up to 4 bytes, 96 bytes (8-aligned). */
typedef struct {
    int64_t id;
    double price; /* the limit price (last price for LATEST_PRICE and market orders) */
    int64_t volume;
    int64_t traded;
    int64_t traded_amount;      /* fen */
    int64_t freeze;             /* buy: cash frozen at entry, fen */
    int64_t freeze_left;        /* buy: part of it not yet released, fen */
    char *status_msg;           /* NULL until the order is rejected, cancelled or expired */
    const order_names_t *names; /* code, name and strategy (pooled, never freed by it) */
    uint32_t time;              /* epoch seconds (good until 2106) */
    int16_t order_type;         /* xtconstant, up to 400 (validated before entry) */
    int8_t price_type; /* as requested (xtconstant, <= 48: validated before entry); reported
                          as brg_sim_broker_price_type */
    int8_t status;     /* ST_* (48..57) */
    uint8_t remark_at; /* the remark starts at sysid + remark_at (a sysid is <= 63 bytes) */
    int8_t market;
    bool dirty : 1;  /* in the book's dirty_orders list */
    bool stored : 1; /* has a record in the store (so the day close deletes it) */
    char sysid[];    /* sysid, NUL, remark, NUL */
} order_t;

#define ORDER_REMARK(o) ((char *)(o)->sysid + (o)->remark_at)

typedef struct {
    int64_t id; /* numeric trade id; traded_id is its text */
    char traded_id[24];
    char *code; /* interned, as name and strategy */
    char *name;
    int32_t order_type;
    int64_t time;
    double price;
    int64_t volume;
    int64_t amount;     /* fen */
    int64_t commission; /* fen: all fees of the fill */
    int64_t order_id;
    char sysid[24];
    char *strategy;
    char *remark;
} trade_t;

typedef struct {
    char *code;
    char *name;
    int64_t volume;
    int64_t can_use;
    int64_t frozen; /* shares held by open sell orders */
    int64_t yesterday;
    double open_price; /* average buy price without fees */
    double avg_price;  /* cost including fees per share */
    int64_t ord;       /* creation order in the book, kept across reloads */
    bool dirty;        /* in the book's dirty_positions list */
    bool stored;
} position_t;

typedef struct order_slab order_slab_t;

struct brg_sim_stock {
    brg_sim_ctx_t *ctx;
    char *account_id;
    int64_t cash;   /* available, fen */
    int64_t frozen; /* held by open buys, fen */
    order_t **orders;
    size_t norders, corders;
    trade_t **trades;
    size_t ntrades, ctrades;
    position_t **positions;
    size_t npositions, cpositions;
    int64_t next_position_ord;
    int32_t account_type;               /* xtconstant: 2 STOCK, 3 CREDIT */
    const brg_sim_stock_hooks_t *hooks; /* credit order types (NULL: STOCK only) */

    /* what persist writes: */
    bool account_dirty;    /* cash or frozen changed */
    size_t ntrades_stored; /* trades[0 .. ntrades_stored) have records */
    VEC(order_t *) dirty_orders;
    VEC(position_t *) dirty_positions;
    VEC(int64_t) del_orders; /* stored records the day close dropped */
    VEC(int64_t) del_trades;
    VEC(char *) del_positions; /* codes */

    /* a day close under way (brg_sim_stock_close_step): orders[0 .. close_orders) and
       trades[0 .. close_trades) are already freed */
    bool closing;
    size_t close_orders, close_trades;

    /* code, name and strategy strings of the day's orders and trades, one copy each;
       emptied when a day close has freed them all */
    zhashx_t *interned;
    zhashx_t *names; /* order_names_t by "<len>:code<len>:name<len>:strategy", likewise */
    /* the day's orders (order_alloc) */
    order_slab_t *slabs;
    size_t slab_bytes;
};

/* Append to a growable pointer array; aborts on OOM like czmq. */
static void push_ptr(void ***array, size_t *size, size_t *capacity, void *item) {
    if (*size == *capacity) {
        *capacity = *capacity ? *capacity * 2 : 16;
        *array = (void **)realloc(*array, *capacity * sizeof(void *));
        if (!*array)
            abort();
    }
    (*array)[(*size)++] = item;
}

/* Decimal text of a non-negative id (every order and fill formats one: no printf). */
static void format_id(char *buf, size_t len, int64_t id) {
    char tmp[24];
    size_t n = 0;
    uint64_t v = id > 0 ? (uint64_t)id : 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < sizeof tmp);
    size_t i = 0;
    for (; i < n && i + 1 < len; i++)
        buf[i] = tmp[n - 1 - i];
    buf[i] = 0;
}

static char *dup_or_empty(const char *s) {
    return strdup(s ? s : "");
}

/* The pooled copy of `s` (NULL = ""): one per distinct string. */
static char *intern(brg_sim_stock_t *self, const char *s) {
    if (!s)
        s = "";
    char *have = (char *)zhashx_lookup(self->interned, s);
    if (have)
        return have;
    char *copy = strdup(s);
    if (!copy)
        abort();
    zhashx_insert(self->interned, copy, copy);
    return copy;
}

/* The pooled triple of an order's code, name and strategy (NULL = ""). */
static const order_names_t *intern_names(brg_sim_stock_t *self, const char *code, const char *name,
                                         const char *strategy) {
    code = code ? code : "";
    name = name ? name : "";
    strategy = strategy ? strategy : "";
    /* length-prefixed parts ("6:600000" ...): no two triples make the same key. Built
       with copies, not snprintf: it runs for every order (~1,500 instructions less). */
    const char *parts[3] = {code, name, strategy};
    size_t lens[3] = {strlen(code), strlen(name), strlen(strategy)};
    char stack[256];
    size_t need = lens[0] + lens[1] + lens[2] + 3 * 21 + 1;
    char *key = need <= sizeof stack ? stack : (char *)malloc(need);
    if (!key)
        abort();
    size_t at = 0;
    for (int i = 0; i < 3; i++) {
        char digits[21];
        size_t n = 0, v = lens[i];
        do {
            digits[n++] = (char)('0' + v % 10);
            v /= 10;
        } while (v);
        while (n)
            key[at++] = digits[--n];
        key[at++] = ':';
        memcpy(key + at, parts[i], lens[i]);
        at += lens[i];
    }
    key[at] = 0;
    order_names_t *have = (order_names_t *)zhashx_lookup(self->names, key);
    if (!have) {
        have = (order_names_t *)malloc(sizeof *have);
        if (!have)
            abort();
        have->code = intern(self, code);
        have->name = intern(self, name);
        have->strategy = intern(self, strategy);
        zhashx_insert(self->names, key, have);
    }
    if (key != stack)
        free(key);
    return have;
}

/*  The day's orders live in big blocks of their own, one after the other: no allocator
    header or rounding per order, no holes between them from the requests' short-lived
    allocations, and all of it goes back to the system once the day close has dropped
    every order. Orders are never freed one by one before that. */
#define SLAB_BYTES (1u << 20)
/* a day close step frees one block per this many orders of its budget, plus one */
#define CLOSE_SLAB_ORDERS 8

struct order_slab {
    struct order_slab *next;
    size_t used, size;
    max_align_t data[]; /* orders, 8-byte aligned */
};

static void *slab_take(brg_sim_stock_t *self, size_t size) {
    size = (size + 7) & ~(size_t)7;
    order_slab_t *slab = self->slabs;
    if (!slab || slab->size - slab->used < size) {
        size_t bytes = offsetof(order_slab_t, data) + size;
        bytes = bytes < SLAB_BYTES ? SLAB_BYTES : bytes;
        /* malloc, not a raw mmap: glibc serves a block this big by mmap anyway (or from a
           heap that the day close trims), and leak checkers scan what malloc gave out
           (orders point at their status_msg) */
        slab = (order_slab_t *)malloc(bytes);
        if (!slab)
            abort(); /* out of memory, as zmalloc */
        slab->next = self->slabs;
        slab->used = 0;
        slab->size = bytes - offsetof(order_slab_t, data);
        self->slabs = slab;
        self->slab_bytes += bytes;
    }
    void *p = (char *)slab->data + slab->used;
    slab->used += size;
    memset(p, 0, size);
    return p;
}

/* Free up to `count` blocks (all of them with SIZE_MAX). */
static void slabs_release(brg_sim_stock_t *self, size_t count) {
    for (; self->slabs && count > 0; count--) {
        order_slab_t *next = self->slabs->next;
        self->slab_bytes -= offsetof(order_slab_t, data) + self->slabs->size;
        free(self->slabs);
        self->slabs = next;
    }
}

/* A new order with room for its sysid and remark. */
static order_t *order_alloc(brg_sim_stock_t *self, const char *sysid, const char *remark) {
    size_t ls = strlen(sysid ? sysid : ""), lr = strlen(remark ? remark : "");
    if (ls > 63)
        ls = 63; /* a sysid is the sim's own number: 8 digits today */
    if (lr > 65000)
        lr = 65000; /* the bridge's string limit is far below */
    /* the strings start right after the last field, not after sizeof's padding */
    order_t *o = (order_t *)slab_take(self, offsetof(order_t, sysid) + ls + 1 + lr + 1);
    memcpy(o->sysid, sysid ? sysid : "", ls);
    o->remark_at = (uint8_t)(ls + 1);
    memcpy(o->sysid + ls + 1, remark ? remark : "", lr);
    return o;
}

/* What an order owns besides its slab bytes (those go with the slab). */
static void order_free(order_t *o) {
    if (!o) /* freed by a day close that was under way */
        return;
    free(o->status_msg);
    o->status_msg = NULL;
}

static void trade_free(trade_t *t) {
    if (!t)
        return;
    free(t->remark);
    free(t);
}

static void position_free(position_t *p) {
    free(p->code);
    free(p->name);
    free(p);
}

static void intern_free(void **item) {
    free(*item);
    *item = NULL;
}

brg_sim_stock_t *brg_sim_stock_new(brg_sim_ctx_t *ctx, const char *account_id, double cash) {
    brg_sim_stock_t *self = (brg_sim_stock_t *)zmalloc(sizeof(brg_sim_stock_t));
    self->ctx = ctx;
    self->account_id = dup_or_empty(account_id);
    self->cash = brg_sim_to_fen(cash);
    self->account_type = BRG_SIM_ACCOUNT_STOCK;
    self->account_dirty = true; /* a new account is not in the store yet */
    self->interned = zhashx_new();
    zhashx_set_destructor(self->interned, intern_free);
    self->names = zhashx_new();
    zhashx_set_destructor(self->names, intern_free);
    return self;
}

void brg_sim_stock_destroy(brg_sim_stock_t **self_p) {
    if (!self_p || !*self_p)
        return;
    brg_sim_stock_t *self = *self_p;
    for (size_t i = 0; i < self->norders; i++)
        order_free(self->orders[i]);
    for (size_t i = 0; i < self->ntrades; i++)
        trade_free(self->trades[i]);
    for (size_t i = 0; i < self->npositions; i++)
        position_free(self->positions[i]);
    free(self->orders);
    free(self->trades);
    free(self->positions);
    for (size_t i = 0; i < self->del_positions.size; i++)
        free(self->del_positions.items[i]);
    free(self->dirty_orders.items);
    free(self->dirty_positions.items);
    free(self->del_orders.items);
    free(self->del_trades.items);
    free(self->del_positions.items);
    free(self->account_id);
    zhashx_destroy(&self->names);
    zhashx_destroy(&self->interned);
    slabs_release(self, SIZE_MAX);
    free(self);
    *self_p = NULL;
}

const char *brg_sim_stock_account_id(brg_sim_stock_t *self) {
    return self->account_id;
}

/* --- dirty marks ------------------------------------------------------------------- */

static void order_touch(brg_sim_stock_t *self, order_t *o) {
    if (!o->dirty) {
        o->dirty = true;
        VEC_PUSH(self->dirty_orders, o);
    }
}

static void position_touch(brg_sim_stock_t *self, position_t *p) {
    if (!p->dirty) {
        p->dirty = true;
        VEC_PUSH(self->dirty_positions, p);
    }
}

int32_t brg_sim_broker_price_type(int32_t requested) {
    /* Open-source gateways written against real terminals accept an order push only
       when price_type is one of these counter codes (vn.py's xt gateway: 50 limit, 88
       market), so the sim reports them exactly as the terminal does. */
    switch (requested) {
    case BRG_SIM_FIX_PRICE:
    case BRG_SIM_LATEST_PRICE:
        return 50;
    case PT_PEER_PRICE_FIRST:
        return 84;
    case PT_SH_CONVERT_5_LIMIT:
        return 85;
    case PT_MINE_PRICE_FIRST:
        return 86;
    case PT_SZ_INSTBUSI_RESTCANCEL:
        return 87;
    case PT_SH_CONVERT_5_CANCEL:
    case PT_SZ_CONVERT_5_CANCEL:
        return 88;
    case PT_SZ_FULL_OR_CANCEL:
        return 89;
    default:
        return requested;
    }
}

bool brg_sim_order_status_open(int32_t status) {
    return status == ST_UNREPORTED || status == 49 || status == ST_REPORTED ||
           status == ST_PART_SUCC;
}

/* Orders are appended with increasing ids (the counter is shared and only grows), so
   the day's array is sorted by id: binary search. */
static order_t *order_find(brg_sim_stock_t *self, int64_t order_id) {
    size_t lo = 0, hi = self->norders;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (self->orders[mid]->id < order_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < self->norders && self->orders[lo]->id == order_id ? self->orders[lo] : NULL;
}

static position_t *position_find(brg_sim_stock_t *self, const char *code) {
    for (size_t i = 0; i < self->npositions; i++)
        if (strcmp(self->positions[i]->code, code) == 0)
            return self->positions[i];
    return NULL;
}

static position_t *position_get(brg_sim_stock_t *self, const char *code, const char *name) {
    position_t *p = position_find(self, code);
    if (!p) {
        p = (position_t *)zmalloc(sizeof *p);
        p->code = dup_or_empty(code);
        p->name = dup_or_empty(name);
        p->ord = self->next_position_ord++;
        push_ptr((void ***)&self->positions, &self->npositions, &self->cpositions, p);
    }
    return p;
}

int brg_sim_stock_add_position(brg_sim_stock_t *self, const char *code, int64_t volume,
                               double avg_price) {
    brg_sim_quote_t *quote = brg_sim_market_quote(self->ctx->market, code);
    if (!quote || volume < 0 || !isfinite(avg_price) || avg_price < 0)
        return -1;
    position_t *p = position_get(self, code, quote->name);
    double cost = p->avg_price * (double)p->volume + avg_price * (double)volume;
    double paid = p->open_price * (double)p->volume + avg_price * (double)volume;
    p->volume += volume;
    p->can_use += volume;
    p->yesterday += volume;
    p->avg_price = p->volume ? cost / (double)p->volume : 0;
    p->open_price = p->volume ? paid / (double)p->volume : 0;
    position_touch(self, p);
    return 0;
}

/* --- message snapshots ------------------------------------------------------------- */

/* offset_flag tells buy (48) from sell (49): credit sells (short sell, sell to repay) and
   the direct return of shares are sells; the direct cash repayment counts as a buy. */
static int32_t offset_of(int32_t order_type) {
    brg_sim_flow_t flow;
    if (!brg_sim_order_flow(order_type, &flow))
        return OFFSET_OPEN;
    if (flow.instant)
        return order_type == 30 || order_type == 43 ? OFFSET_CLOSE : OFFSET_OPEN;
    return flow.buy ? OFFSET_OPEN : OFFSET_CLOSE;
}

static void fill_order_msg(brg_sim_stock_t *self, const order_t *o, Xtbridge__XtOrder *out) {
    xtbridge__xt_order__init(out);
    out->account_type = self->account_type;
    out->account_id = self->account_id;
    out->stock_code = o->names->code;
    out->stock_code1 = o->names->code;
    out->instrument_name = o->names->name;
    out->order_id = o->id;
    out->order_sysid = (char *)o->sysid;
    out->order_time = o->time;
    out->order_type = o->order_type;
    out->order_volume = o->volume;
    out->price_type = brg_sim_broker_price_type(o->price_type);
    out->requested_price_type = o->price_type;
    out->price = o->price;
    out->traded_volume = o->traded;
    out->traded_price = o->traded ? brg_sim_yuan(o->traded_amount) / (double)o->traded : 0.0;
    out->order_status = o->status;
    out->status_msg = o->status_msg ? o->status_msg : (char *)"";
    out->strategy_name = o->names->strategy;
    out->order_remark = ORDER_REMARK(o);
    out->direction = DIRECTION_LONG;
    out->offset_flag = offset_of(o->order_type);
}

static void fill_trade_msg(brg_sim_stock_t *self, const trade_t *t, Xtbridge__XtTrade *out) {
    xtbridge__xt_trade__init(out);
    out->account_type = self->account_type;
    out->account_id = self->account_id;
    out->stock_code = t->code;
    out->stock_code1 = t->code;
    out->instrument_name = t->name;
    out->order_type = t->order_type;
    out->traded_id = (char *)t->traded_id;
    out->traded_time = t->time;
    out->traded_price = t->price;
    out->traded_volume = t->volume;
    out->traded_amount = brg_sim_yuan(t->amount);
    out->order_id = t->order_id;
    out->order_sysid = (char *)t->sysid;
    out->strategy_name = t->strategy;
    out->order_remark = t->remark;
    out->direction = DIRECTION_LONG;
    out->offset_flag = offset_of(t->order_type);
    out->commission = brg_sim_yuan(t->commission);
}

static double last_of(brg_sim_stock_t *self, const char *code) {
    brg_sim_quote_t *quote = brg_sim_market_quote(self->ctx->market, code);
    return quote ? quote->last : 0.0;
}

static void fill_position_msg(brg_sim_stock_t *self, const position_t *p,
                              Xtbridge__XtPosition *out) {
    xtbridge__xt_position__init(out);
    double last = last_of(self, p->code);
    out->account_type = self->account_type;
    out->account_id = self->account_id;
    out->stock_code = p->code;
    out->stock_code1 = p->code;
    out->instrument_name = p->name;
    out->volume = p->volume;
    out->can_use_volume = p->can_use;
    out->frozen_volume = p->frozen;
    out->yesterday_volume = p->yesterday;
    out->open_price = p->open_price;
    out->avg_price = p->avg_price;
    out->market_value = brg_sim_round2((double)p->volume * last);
    out->last_price = last;
    out->direction = DIRECTION_LONG;
}

void brg_sim_stock_asset(brg_sim_stock_t *self, Xtbridge__XtAsset *out) {
    xtbridge__xt_asset__init(out);
    double market_value = 0;
    for (size_t i = 0; i < self->npositions; i++) {
        position_t *p = self->positions[i];
        market_value += brg_sim_round2((double)p->volume * last_of(self, p->code));
    }
    out->account_type = self->account_type;
    out->account_id = self->account_id;
    out->cash = brg_sim_yuan(self->cash);
    out->frozen_cash = brg_sim_yuan(self->frozen);
    out->market_value = brg_sim_round2(market_value);
    out->total_asset = brg_sim_yuan(self->cash + self->frozen + brg_sim_to_fen(market_value));
}

/* --- pushes ------------------------------------------------------------------------ */

static void emit(brg_sim_stock_t *self, const char *kind, Xtbridge__Event *event) {
    if (self->ctx->emit)
        self->ctx->emit(self->ctx->emit_arg, kind, self->account_id, event);
}

static void push_order(brg_sim_stock_t *self, const order_t *o) {
    Xtbridge__XtOrder msg;
    fill_order_msg(self, o, &msg);
    Xtbridge__Event event = XTBRIDGE__EVENT__INIT;
    event.body_case = XTBRIDGE__EVENT__BODY_ORDER;
    event.order = &msg;
    emit(self, "order", &event);
}

static void push_trade(brg_sim_stock_t *self, const trade_t *t) {
    Xtbridge__XtTrade msg;
    fill_trade_msg(self, t, &msg);
    Xtbridge__Event event = XTBRIDGE__EVENT__INIT;
    event.body_case = XTBRIDGE__EVENT__BODY_TRADE;
    event.trade = &msg;
    emit(self, "trade", &event);
}

static void push_position(brg_sim_stock_t *self, const position_t *p) {
    Xtbridge__XtPosition msg;
    fill_position_msg(self, p, &msg);
    Xtbridge__Event event = XTBRIDGE__EVENT__INIT;
    event.body_case = XTBRIDGE__EVENT__BODY_POSITION;
    event.position = &msg;
    emit(self, "position", &event);
}

static void push_asset(brg_sim_stock_t *self) {
    Xtbridge__XtAsset msg;
    brg_sim_stock_asset(self, &msg);
    Xtbridge__Event event = XTBRIDGE__EVENT__INIT;
    event.body_case = XTBRIDGE__EVENT__BODY_ASSET;
    event.asset = &msg;
    emit(self, "asset", &event);
}

static void push_order_async(brg_sim_stock_t *self, const order_t *o, int64_t seq) {
    Xtbridge__XtOrderResponse msg = XTBRIDGE__XT_ORDER_RESPONSE__INIT;
    msg.account_type = self->account_type;
    msg.account_id = self->account_id;
    msg.order_id = o->id;
    msg.strategy_name = o->names->strategy;
    msg.order_remark = ORDER_REMARK(o);
    msg.seq = seq;
    Xtbridge__Event event = XTBRIDGE__EVENT__INIT;
    event.body_case = XTBRIDGE__EVENT__BODY_ORDER_ASYNC;
    event.order_async = &msg;
    emit(self, "order_async", &event);
}

static void push_order_error(brg_sim_stock_t *self, const order_t *o, const char *reason,
                             int64_t seq) {
    Xtbridge__XtOrderError msg = XTBRIDGE__XT_ORDER_ERROR__INIT;
    msg.account_type = self->account_type;
    msg.account_id = self->account_id;
    msg.order_id = o->id;
    msg.error_id = BRG_SIM_ORDER_ERROR_ID;
    msg.error_msg = (char *)reason;
    msg.strategy_name = o->names->strategy;
    msg.order_remark = ORDER_REMARK(o);
    msg.seq = seq > 0 ? seq : 0;
    Xtbridge__Event event = XTBRIDGE__EVENT__INIT;
    event.body_case = XTBRIDGE__EVENT__BODY_ORDER_ERROR;
    event.order_error = &msg;
    emit(self, "order_error", &event);
}

static void push_cancel_result(brg_sim_stock_t *self, int64_t order_id, int market,
                               const char *sysid, const char *error, int64_t seq) {
    brg_sim_push_cancel_result(self->ctx, self->account_type, self->account_id, order_id, market,
                               sysid, error, seq);
}

/* --- order entry ------------------------------------------------------------------- */

/* The largest order amount taken, fen (10^15 yuan): sums of a few stay inside 64 bits. */
#define MAX_AMOUNT_FEN 100000000000000000LL

/* Fen of volume shares at an on-tick price: exact (price in fen times volume); past 64
   bits it saturates (a buy that size is refused for cash, never computed wrong). */
static int64_t amount_fen(int64_t volume, double price) {
    int64_t amount;
    if (__builtin_mul_overflow(volume, brg_sim_to_fen(price), &amount))
        return INT64_MAX;
    return amount;
}

/* Cash frozen for a buy of volume at price, fen: amount + the order's commission and
   transfer fee (the most its fills can cost: they fill at or below the limit). */
static int64_t buy_freeze(brg_sim_stock_t *self, const order_t *o) {
    int64_t amount = amount_fen(o->volume, o->price);
    brg_sim_fee_fen_t fee =
        brg_sim_fees_compute_fen(brg_sim_market_fees(self->ctx->market), amount, false);
    brg_sim_flow_t flow;
    brg_sim_order_flow(o->order_type, &flow);
    /* a financed buy (margin buy) freezes only its fees here: the amount is the hook's */
    return (flow.cash ? amount : 0) + fee.total;
}

bool brg_sim_order_flow(int32_t order_type, brg_sim_flow_t *flow) {
    memset(flow, 0, sizeof *flow);
    switch (order_type) {
    case BRG_SIM_STOCK_BUY: /* also CREDIT_BUY: collateral buy */
        *flow = (brg_sim_flow_t){.buy = true, .cash = true, .position = true};
        return true;
    case BRG_SIM_STOCK_SELL: /* also CREDIT_SELL: collateral sell */
        *flow = (brg_sim_flow_t){.cash = true, .position = true};
        return true;
    case 27: /* CREDIT_FIN_BUY, and 40 its special-quota twin */
    case 40:
        *flow = (brg_sim_flow_t){.buy = true, .position = true};
        return true;
    case 28: /* CREDIT_SLO_SELL: borrowed shares, proceeds held by the credit book */
    case 41:
        return true;
    case 29: /* CREDIT_BUY_SECU_REPAY: bought shares go back to the lender */
    case 42:
        *flow = (brg_sim_flow_t){.buy = true, .cash = true};
        return true;
    case 31: /* CREDIT_SELL_SECU_REPAY: proceeds repay the financing debt */
    case 44:
        *flow = (brg_sim_flow_t){.position = true};
        return true;
    case 30: /* CREDIT_DIRECT_SECU_REPAY, CREDIT_DIRECT_CASH_REPAY: no market order */
    case 43:
    case 32:
    case 45:
        *flow = (brg_sim_flow_t){.instant = true};
        return true;
    default:
        return false;
    }
}

static brg_sim_hook_order_t hook_order(const order_t *o) {
    return (brg_sim_hook_order_t){.order_id = o->id,
                                  .order_type = o->order_type,
                                  .code = o->names->code,
                                  .market = o->market,
                                  .volume = o->volume,
                                  .traded = o->traded,
                                  .price = o->price,
                                  .price_type = o->price_type};
}

static bool is_market_price_type(int32_t price_type) {
    return price_type >= PT_SH_CONVERT_5_CANCEL && price_type <= PT_SZ_FULL_OR_CANCEL;
}

static const char *market_name(int market) {
    return market == BRG_SIM_MARKET_SH ? "SH" : market == BRG_SIM_MARKET_SZ ? "SZ" : "BJ";
}

static const char *account_status_name(int32_t status) {
    static const char *names[] = {"INVALID",    "OK",           "WAITING_LOGIN", "LOGINING",
                                  "FAIL",       "INITING",      "CORRECTING",    "CLOSED",
                                  "ASSIS_FAIL", "DISABLEBYSYS", "DISABLEBYUSER"};
    return status >= -1 && status <= 9 ? names[status + 1] : "unknown";
}

/*  Volume rules of one order (SSE/SZSE/BSE trading rules), NULL or the reason in buf.
    Buys: main board and ChiNext in lots of 100; STAR (688/689.SH) at least 200, then any
    number of shares; Beijing at least 100, then any number.
    Sells, main board and ChiNext: "余额不足100股部分，应当一次性申报卖出" - only the odd
    remainder of the sellable balance (balance mod 100) must go in one order, so a sell is
    whole lots, optionally plus exactly that remainder: of 550 sellable, 500, 100, 50 and
    150 are legal, 30 and 120 are not. STAR and Beijing sells follow their buy minimum
    (200 / 100, then any number) unless the order sells the whole balance when it is below
    that minimum ("余额不足200股的，应当一次性申报卖出"). */
static const char *check_volume(const order_t *o, int64_t can_use, char *buf, size_t len) {
    bool star = o->market == BRG_SIM_MARKET_SH &&
                (strncmp(o->names->code, "688", 3) == 0 || strncmp(o->names->code, "689", 3) == 0);
    bool bj = o->market == BRG_SIM_MARKET_BJ;
    brg_sim_flow_t flow;
    bool buy = brg_sim_order_flow(o->order_type, &flow) && flow.buy;
    if (star || bj) {
        int64_t min = star ? 200 : 100;
        if (o->volume >= min || (!buy && o->volume == can_use))
            return NULL;
        if (!buy && can_use < min)
            snprintf(buf, len,
                     "odd lot: sell %" PRId64 " of sellable %" PRId64 "; a balance below %" PRId64
                     " is sold whole",
                     o->volume, can_use, min);
        else
            snprintf(buf, len, "volume %" PRId64 " is below the %s minimum of %" PRId64, o->volume,
                     star ? "STAR" : "Beijing", min);
        return buf;
    }
    if (buy) {
        if (o->volume % 100 == 0)
            return NULL;
        snprintf(buf, len, "volume %" PRId64 " is not a multiple of 100", o->volume);
        return buf;
    }
    int64_t odd = can_use % 100;
    if (o->volume % 100 == 0 || o->volume % 100 == odd)
        return NULL;
    if (odd)
        snprintf(buf, len,
                 "odd lot: sell %" PRId64 " of sellable %" PRId64
                 " must be lots of 100, plus the odd %" PRId64 " in one order",
                 o->volume, can_use, odd);
    else
        snprintf(buf, len, "odd lot: sell %" PRId64 " of sellable %" PRId64 " must be lots of 100",
                 o->volume, can_use);
    return buf;
}

/*  The broker's verdict on a well-formed order: NULL to accept, or the rejection reason
    (with the values that broke the rule, written into buf). Sets o->price for price types
    that take the last price. */
static const char *check_order(brg_sim_stock_t *self, order_t *o, const brg_sim_quote_t *quote,
                               int32_t account_status, char *buf, size_t len) {
    if (account_status != 0) {
        snprintf(buf, len, "account status %d (%s) is not OK: no orders", account_status,
                 account_status_name(account_status));
        return buf;
    }
    if (!quote) {
        snprintf(buf, len, "unknown code %s", o->names->code);
        return buf;
    }
    brg_sim_flow_t flow;
    bool stock_type = o->order_type == BRG_SIM_STOCK_BUY || o->order_type == BRG_SIM_STOCK_SELL;
    if ((!self->hooks && !stock_type) || !brg_sim_order_flow(o->order_type, &flow)) {
        snprintf(buf, len, "order type %d not supported on a %s account", o->order_type,
                 self->account_type == BRG_SIM_ACCOUNT_STOCK ? "STOCK" : "CREDIT");
        return buf;
    }
    if (flow.instant) /* a direct repayment: no market order, the hook decides (enter) */
        return NULL;
    if (o->price_type == BRG_SIM_LATEST_PRICE || is_market_price_type(o->price_type)) {
        /* 42/43 are SSE and BSE order types, 46/47/48 SZSE-only */
        bool bad_market =
            ((o->price_type == PT_SH_CONVERT_5_CANCEL || o->price_type == PT_SH_CONVERT_5_LIMIT) &&
             o->market == BRG_SIM_MARKET_SZ) ||
            (o->price_type >= PT_SZ_INSTBUSI_RESTCANCEL && o->market != BRG_SIM_MARKET_SZ);
        if (bad_market) {
            snprintf(buf, len, "price type %d not supported on %s", o->price_type,
                     market_name(o->market));
            return buf;
        }
        o->price = quote->last;
    } else if (o->price_type != BRG_SIM_FIX_PRICE) {
        snprintf(buf, len, "price type %d not supported for stocks", o->price_type);
        return buf;
    }
    if (!brg_sim_on_tick(o->price)) {
        snprintf(buf, len, "price %.10g is off the 0.01 tick", o->price);
        return buf;
    }
    double up = brg_sim_quote_limit_up(quote);
    double down = brg_sim_quote_limit_down(quote);
    if (o->price > up + 1e-9 || o->price < down - 1e-9) {
        snprintf(buf, len, "price %.2f outside price limits %.2f - %.2f", o->price, down, up);
        return buf;
    }
    /* price (<= 10^8 yuan) times volume (<= 10^12) can pass 64 bits of fen: such an order
       is refused here, so every amount of a live order (and sums of a few) fits */
    int64_t amount;
    if (__builtin_mul_overflow(o->volume, brg_sim_to_fen(o->price), &amount) ||
        amount > MAX_AMOUNT_FEN) {
        snprintf(buf, len, "order amount %.0f x %.2f is too large", (double)o->volume, o->price);
        return buf;
    }
    position_t *p = position_find(self, o->names->code);
    int64_t can_use = p && flow.position ? p->can_use : 0; /* a short sell holds none */
    if (!flow.buy && flow.position && o->volume > can_use) {
        snprintf(buf, len, "insufficient shares: sell %" PRId64 ", sellable %" PRId64, o->volume,
                 can_use);
        return buf;
    }
    const char *volume_rule = check_volume(o, can_use, buf, len);
    if (volume_rule)
        return volume_rule;
    if (flow.buy) {
        int64_t need = buy_freeze(self, o);
        if (need > self->cash) {
            snprintf(buf, len, "insufficient cash: need %.2f, available %.2f", brg_sim_yuan(need),
                     brg_sim_yuan(self->cash));
            return buf;
        }
    }
    return NULL;
}

/* Give back what an open order still holds (cash for a buy, shares for a sell). */
static void release_order(brg_sim_stock_t *self, order_t *o) {
    brg_sim_flow_t flow;
    brg_sim_order_flow(o->order_type, &flow);
    if (self->hooks && !(flow.cash && flow.position)) {
        brg_sim_hook_order_t h = hook_order(o);
        self->hooks->release(self->hooks->arg, &h, o->volume - o->traded);
    }
    if (flow.buy) {
        self->cash += o->freeze_left;
        self->frozen -= o->freeze_left;
        o->freeze_left = 0;
        self->account_dirty = true;
        order_touch(self, o);
    } else if (flow.position) {
        position_t *p = position_find(self, o->names->code);
        int64_t rest = o->volume - o->traded;
        if (p) {
            p->can_use += rest;
            p->frozen -= rest;
            position_touch(self, p);
        }
    }
}

/*  The push of what an order's entry or end changed: the asset for a buy (cash <->
    frozen), the position for a sell (can_use <-> frozen). */
static void push_holdings(brg_sim_stock_t *self, const order_t *o) {
    brg_sim_flow_t flow;
    brg_sim_order_flow(o->order_type, &flow);
    if (flow.buy || !flow.position) {
        push_asset(self);
    } else {
        position_t *p = position_find(self, o->names->code);
        if (p)
            push_position(self, p);
    }
}

/* Fill qty of order o at price: trade, order, position and asset pushes. */
static void fill(brg_sim_stock_t *self, order_t *o, int64_t qty, double price) {
    brg_sim_flow_t flow;
    brg_sim_order_flow(o->order_type, &flow);
    bool sell = !flow.buy;
    int64_t amount = amount_fen(qty, price);
    brg_sim_fee_fen_t fee = brg_sim_fees_fill_fen(brg_sim_market_fees(self->ctx->market),
                                                  o->traded_amount, amount, sell);
    /* a credit order type: the credit book takes the financed amount, the borrowed or
       returned shares, or the proceeds, and says what reaches available cash */
    int64_t hook_cash = 0;
    if (self->hooks && !(flow.cash && flow.position)) {
        brg_sim_hook_order_t h = hook_order(o);
        hook_cash = self->hooks->fill(self->hooks->arg, &h, qty, price, amount, fee.total);
    }
    position_t *p = flow.position ? position_get(self, o->names->code, o->names->name) : NULL;
    if (sell) {
        self->cash += flow.cash ? amount - fee.total : hook_cash;
        /* average-cost method: selling keeps open_price / avg_price */
        if (p) {
            p->volume -= qty;
            p->frozen -= qty;
        }
    } else {
        /* The fill is paid from the freeze (which covers the whole order's worst case:
           every fill is at or below the limit and the order's fees are those of its
           total), so available cash never dips; the last fill gives back the rest. */
        bool last_fill = o->traded + qty == o->volume;
        int64_t spent = (flow.cash ? amount : 0) + fee.total; /* financed: fees only */
        int64_t release = last_fill || spent > o->freeze_left ? o->freeze_left : spent;
        o->freeze_left -= release;
        self->frozen -= release;
        self->cash += release - spent + hook_cash;
        if (p) {
            /* per-share prices stay doubles (they are averages, not amounts of money) */
            double cost = p->avg_price * (double)p->volume + brg_sim_yuan(amount + fee.total);
            double paid = p->open_price * (double)p->volume + brg_sim_yuan(amount);
            p->volume += qty; /* T+1: not sellable before the next day */
            p->avg_price = cost / (double)p->volume;
            p->open_price = paid / (double)p->volume;
        }
    }
    o->traded += qty;
    o->traded_amount += amount;
    o->status = o->traded == o->volume ? ST_SUCCEEDED : ST_PART_SUCC;
    self->account_dirty = true;
    order_touch(self, o);
    if (p)
        position_touch(self, p);

    trade_t *t = (trade_t *)zmalloc(sizeof *t);
    t->id = self->ctx->next_trade_id++;
    format_id(t->traded_id, sizeof t->traded_id, 50000000 + t->id);
    t->code = o->names->code; /* the pool's strings: they stay until the day close */
    t->name = o->names->name;
    t->order_type = o->order_type;
    t->time = (int64_t)time(NULL);
    t->price = price;
    t->volume = qty;
    t->amount = amount;
    t->commission = fee.total;
    t->order_id = o->id;
    /* as snprintf "%s" would, without printf on every fill */
    size_t sysid_len = strnlen(o->sysid, sizeof t->sysid - 1);
    memcpy(t->sysid, o->sysid, sysid_len);
    t->sysid[sysid_len] = 0;
    t->strategy = o->names->strategy;
    t->remark = dup_or_empty(ORDER_REMARK(o));
    push_ptr((void ***)&self->trades, &self->ntrades, &self->ctrades, t);

    push_trade(self, t);
    push_order(self, o);
    if (p)
        push_position(self, p);
    push_asset(self);
}

/*  Try to fill an open order. At entry a marketable order takes the last price; a resting
    order fills at its own limit once the last price crosses it. */
static int match_order(brg_sim_stock_t *self, order_t *o, const brg_sim_quote_t *quote,
                       int64_t *left, bool entry) {
    if (!brg_sim_order_status_open(o->status) || strcmp(o->names->code, quote->code) != 0)
        return 0;
    brg_sim_flow_t flow;
    bool buy = brg_sim_order_flow(o->order_type, &flow) && flow.buy;
    bool crosses = buy ? quote->last <= o->price + 1e-9 : quote->last >= o->price - 1e-9;
    if (!crosses)
        return 0;
    int64_t qty = o->volume - o->traded;
    if (qty > *left)
        qty = *left;
    if (qty <= 0)
        return 0;
    *left -= qty;
    fill(self, o, qty, entry ? quote->last : o->price);
    return 1;
}

/* End an open order without a cancel request (market remainder, day close). */
static void expire_order(brg_sim_stock_t *self, order_t *o, const char *why) {
    release_order(self, o);
    o->status = o->traded ? ST_PART_CANCEL : ST_CANCELED;
    free(o->status_msg);
    o->status_msg = dup_or_empty(why);
    order_touch(self, o);
    push_order(self, o);
    push_holdings(self, o);
}

static void order_enter(brg_sim_stock_t *self, const brg_sim_order_args_t *args, order_t *o,
                        brg_sim_quote_t *quote);

int64_t brg_sim_stock_order(brg_sim_stock_t *self, const brg_sim_order_args_t *args) {
    brg_sim_quote_t *quote = brg_sim_market_quote(self->ctx->market, args->stock_code);
    int64_t id = self->ctx->next_order_id++;
    /* a broker's contract number: a different number space from the order id */
    char sysid[24];
    format_id(sysid, sizeof sysid, SYSID_BASE + id);
    order_t *o = order_alloc(self, sysid, args->order_remark);
    o->id = id;
    o->names = intern_names(self, args->stock_code, quote ? quote->name : "", args->strategy_name);
    o->market = (int8_t)brg_sim_code_market(o->names->code);
    o->order_type = (int16_t)args->order_type;
    o->price_type = (int8_t)args->price_type;
    o->price = args->price;
    o->volume = args->order_volume;
    o->time = (uint32_t)time(NULL);
    push_ptr((void ***)&self->orders, &self->norders, &self->corders, o);
    order_touch(self, o);

    /* set_relaxed_response_order_enabled: strict (default) answers an async order before
       anything it causes; relaxed lets the answer come after the order's own pushes, as
       the terminal's dedicated response thread may deliver it */
    bool relaxed = self->ctx->relaxed_order;
    if (args->seq > 0 && !relaxed)
        push_order_async(self, o, args->seq);
    order_enter(self, args, o, quote);
    if (args->seq > 0 && relaxed)
        push_order_async(self, o, args->seq);
    return o->id;
}

/* The order's checks, freeze, entry pushes and matching at entry. */
static void order_enter(brg_sim_stock_t *self, const brg_sim_order_args_t *args, order_t *o,
                        brg_sim_quote_t *quote) {
    char why[200];
    const char *reason = check_order(self, o, quote, args->account_status, why, sizeof why);
    brg_sim_flow_t flow;
    brg_sim_order_flow(o->order_type, &flow);
    if (!reason && self->hooks) {
        /* the credit book's rules (collateral, subjects, quotas, debts), and what it
           reserves; a direct repayment is done right here */
        brg_sim_hook_order_t h = hook_order(o);
        reason = self->hooks->enter(self->hooks->arg, &h, why, sizeof why);
    }
    if (reason) {
        o->status = ST_JUNK;
        o->status_msg = dup_or_empty(reason);
        push_order(self, o);
        push_order_error(self, o, reason, args->seq);
        return;
    }
    if (flow.instant) {
        o->status = ST_UNREPORTED;
        push_order(self, o);
        o->traded = o->volume;
        o->status = ST_SUCCEEDED;
        push_order(self, o);
        return;
    }
    if (flow.buy) {
        o->freeze = o->freeze_left = buy_freeze(self, o);
        self->cash -= o->freeze;
        self->frozen += o->freeze;
        self->account_dirty = true;
    } else if (flow.position) {
        position_t *p = position_find(self, o->names->code);
        p->can_use -= o->volume;
        p->frozen += o->volume;
        position_touch(self, p);
    }
    o->status = ST_UNREPORTED;
    push_order(self, o);
    o->status = ST_REPORTED;
    push_order(self, o);
    push_holdings(self, o);

    int64_t left = quote->liquidity > 0 ? quote->liquidity : INT64_MAX;
    if (o->price_type == PT_SZ_FULL_OR_CANCEL && left < o->volume) {
        expire_order(self, o, "fill or kill: not enough liquidity");
        return;
    }
    match_order(self, o, quote, &left, true);
    if (brg_sim_order_status_open(o->status) &&
        (o->price_type == PT_SH_CONVERT_5_CANCEL || o->price_type == PT_SZ_INSTBUSI_RESTCANCEL ||
         o->price_type == PT_SZ_CONVERT_5_CANCEL || o->price_type == PT_SZ_FULL_OR_CANCEL))
        expire_order(self, o, "market order remainder cancelled");
}

/* --- cancel ------------------------------------------------------------------------ */

static int cancel(brg_sim_stock_t *self, order_t *o, int64_t order_id, int market,
                  const char *sysid, int64_t seq) {
    if (!o || !brg_sim_order_status_open(o->status)) {
        char why[160];
        if (o)
            snprintf(why, sizeof why, "cancel %" PRId64 ": order already finished (status %d)",
                     o->id, o->status);
        else if (order_id < 0)
            snprintf(why, sizeof why, "cancel sysid %.40s on %s: no such order", sysid,
                     market_name(market));
        else
            snprintf(why, sizeof why, "cancel %" PRId64 ": no such order", order_id);
        push_cancel_result(self, o ? o->id : order_id, o ? o->market : market, o ? o->sysid : sysid,
                           why, seq);
        return -1;
    }
    bool relaxed = self->ctx->relaxed_order;
    if (!relaxed)
        push_cancel_result(self, o->id, o->market, o->sysid, NULL, seq);
    o->status = o->traded ? ST_PARTSUCC_CANCEL : ST_REPORTED_CANCEL;
    push_order(self, o);
    release_order(self, o);
    o->status = o->traded ? ST_PART_CANCEL : ST_CANCELED;
    order_touch(self, o);
    push_order(self, o);
    push_holdings(self, o);
    if (relaxed)
        push_cancel_result(self, o->id, o->market, o->sysid, NULL, seq);
    return 0;
}

int brg_sim_stock_cancel(brg_sim_stock_t *self, int64_t order_id, int64_t seq) {
    return cancel(self, order_find(self, order_id), order_id, -1, "", seq);
}

int brg_sim_stock_cancel_sysid(brg_sim_stock_t *self, int market, const char *order_sysid,
                               int64_t seq) {
    /* sysids are SYSID_BASE + order id: go straight to the candidate, then verify */
    char *end = NULL;
    long long number = order_sysid ? strtoll(order_sysid, &end, 10) : 0;
    order_t *found = NULL;
    if (end && !*end && number > SYSID_BASE) {
        order_t *o = order_find(self, number - SYSID_BASE);
        if (o && strcmp(o->sysid, order_sysid) == 0 && o->market == market)
            found = o;
    }
    return cancel(self, found, -1, market, order_sysid, seq);
}

/* --- matching and day close -------------------------------------------------------- */

int brg_sim_stock_match_some(brg_sim_stock_t *self, const brg_sim_quote_t *quote, int64_t *left,
                             size_t *at, size_t max) {
    int fills = 0;
    if (*at >= self->norders)
        return 0;
    /* time priority: orders are kept in entry order */
    for (size_t end = max < self->norders - *at ? *at + max : self->norders; *at<end && * left> 0;
         (*at)++) {
        if (!match_order(self, self->orders[*at], quote, left, false))
            continue;
        fills++;
        /* between two fills the book is whole: the bridge may commit and publish here */
        if (self->ctx->checkpoint && self->ctx->checkpoint(self->ctx->checkpoint_arg)) {
            *left = 0; /* that commit failed: the call's batch is lost, stop matching */
            break;
        }
    }
    return fills;
}

int brg_sim_stock_match(brg_sim_stock_t *self, const brg_sim_quote_t *quote, int64_t *left) {
    size_t at = 0;
    return brg_sim_stock_match_some(self, quote, left, &at, SIZE_MAX);
}

/* Give the day's arrays back to the allocator: after a big day they would otherwise
   hold megabytes of pointers for the rest of the process. */
static void release_day_arrays(brg_sim_stock_t *self) {
    free(self->orders);
    self->orders = NULL;
    self->norders = self->corders = 0;
    free(self->trades);
    self->trades = NULL;
    self->ntrades = self->ctrades = 0;
    self->ntrades_stored = 0;
    free(self->dirty_orders.items);
    self->dirty_orders.items = NULL;
    self->dirty_orders.size = self->dirty_orders.capacity = 0;
}

/* The positions part of the close: T+1 settles, emptied positions go. Few entries. */
static void close_positions(brg_sim_stock_t *self) {
    /* the dirty list is rebuilt from the survivors: emptied positions are freed */
    self->dirty_positions.size = 0;
    size_t kept = 0;
    for (size_t i = 0; i < self->npositions; i++) {
        position_t *p = self->positions[i];
        bool was_dirty = p->dirty;
        p->dirty = false;
        if (p->volume == 0) {
            if (p->stored)
                VEC_PUSH(self->del_positions, strdup(p->code));
            position_free(p);
            continue;
        }
        bool settles = p->can_use != p->volume; /* T+1: today's buys become sellable */
        bool changed = settles || p->yesterday != p->volume || p->frozen != 0;
        p->can_use = p->volume;
        p->yesterday = p->volume;
        p->frozen = 0;
        self->positions[kept++] = p;
        if (was_dirty || changed)
            position_touch(self, p);
        if (settles)
            push_position(self, p);
    }
    self->npositions = kept;
}

int brg_sim_stock_close_step(brg_sim_stock_t *self, size_t budget) {
    self->closing = true;
    if (budget == 0)
        budget = 1;
    /* orders first, in id order: expire the open ones (54/53 and the release pushed),
       then the day's orders go; stored ones leave a delete for persist */
    if (self->close_orders < self->norders) {
        size_t from = self->close_orders;
        size_t to = from + budget < self->norders ? from + budget : self->norders;
        for (size_t i = from; i < to; i++)
            if (brg_sim_order_status_open(self->orders[i]->status))
                expire_order(self, self->orders[i], "expired at day close");
        /* orders up to orders[to - 1] are freed below: none may stay on the dirty list
           (the expiry just put them there; their record is deleted, not rewritten) */
        int64_t last_id = self->orders[to - 1]->id;
        size_t kept = 0;
        for (size_t i = 0; i < self->dirty_orders.size; i++)
            if (self->dirty_orders.items[i]->id > last_id)
                self->dirty_orders.items[kept++] = self->dirty_orders.items[i];
        self->dirty_orders.size = kept;
        for (size_t i = from; i < to; i++) {
            if (self->orders[i]->stored)
                VEC_PUSH(self->del_orders, self->orders[i]->id);
            order_free(self->orders[i]);
            self->orders[i] = NULL;
        }
        self->close_orders = to;
        return 1;
    }
    if (self->close_trades < self->ntrades) {
        size_t from = self->close_trades;
        size_t to = from + budget < self->ntrades ? from + budget : self->ntrades;
        for (size_t i = from; i < to; i++) {
            if (i < self->ntrades_stored)
                VEC_PUSH(self->del_trades, self->trades[i]->id);
            trade_free(self->trades[i]);
            self->trades[i] = NULL;
        }
        self->close_trades = to;
        return 1;
    }
    if (self->orders || self->trades || self->dirty_orders.items) {
        release_day_arrays(self);
        zhashx_purge(self->names); /* no order or trade is left to use its strings */
        zhashx_purge(self->interned);
        self->close_orders = self->close_trades = 0;
        return 1;
    }
    if (self->slabs) {
        /* the order blocks go a few per step (a big book has hundreds): freeing a 1 MiB
           block cost ~45 us here, about what expiring a dozen orders does */
        slabs_release(self, budget / CLOSE_SLAB_ORDERS + 1);
        return 1;
    }
    zhashx_purge(self->names); /* (emptied above when the day had orders or trades) */
    zhashx_purge(self->interned);
    close_positions(self);
    self->closing = false;
    return 0;
}

bool brg_sim_stock_closing(brg_sim_stock_t *self) {
    return self->closing;
}

size_t brg_sim_stock_order_block_bytes(brg_sim_stock_t *self) {
    return self->slab_bytes;
}

size_t brg_sim_stock_order_record_size(void) {
    return offsetof(order_t, sysid);
}

size_t brg_sim_stock_close_left(brg_sim_stock_t *self) {
    if (!self->closing)
        return 0;
    return self->norders - self->close_orders + self->ntrades - self->close_trades;
}

size_t brg_sim_stock_close_deletes(brg_sim_stock_t *self) {
    return self->del_orders.size + self->del_trades.size;
}

void brg_sim_stock_next_day(brg_sim_stock_t *self) {
    while (brg_sim_stock_close_step(self, SIZE_MAX / 2))
        ;
}

/* --- the credit book's hooks and moves --------------------------------------------- */

void brg_sim_stock_set_hooks(brg_sim_stock_t *self, int32_t account_type,
                             const brg_sim_stock_hooks_t *hooks) {
    self->account_type = account_type;
    self->hooks = hooks;
}

int brg_sim_stock_move_cash(brg_sim_stock_t *self, int64_t delta) {
    if (self->cash + delta < 0)
        return -1;
    if (delta == 0)
        return 0;
    self->cash += delta;
    self->account_dirty = true;
    push_asset(self);
    return 0;
}

int64_t brg_sim_stock_cash_available(brg_sim_stock_t *self) {
    return self->cash;
}

int64_t brg_sim_stock_can_use(brg_sim_stock_t *self, const char *code) {
    position_t *p = position_find(self, code);
    return p ? p->can_use : 0;
}

int brg_sim_stock_take_shares(brg_sim_stock_t *self, const char *code, int64_t qty) {
    position_t *p = position_find(self, code);
    if (!p || qty <= 0 || p->can_use < qty)
        return -1;
    p->volume -= qty;
    p->can_use -= qty;
    p->yesterday = p->yesterday > qty ? p->yesterday - qty : 0;
    position_touch(self, p);
    push_position(self, p);
    return 0;
}

/* --- queries ----------------------------------------------------------------------- */

size_t brg_sim_stock_order_count(brg_sim_stock_t *self) {
    return self->norders;
}

void brg_sim_stock_order_at(brg_sim_stock_t *self, size_t index, Xtbridge__XtOrder *out) {
    fill_order_msg(self, self->orders[index], out);
}

bool brg_sim_stock_order_get(brg_sim_stock_t *self, int64_t order_id, Xtbridge__XtOrder *out) {
    order_t *o = order_find(self, order_id);
    if (o)
        fill_order_msg(self, o, out);
    return o != NULL;
}

size_t brg_sim_stock_trade_count(brg_sim_stock_t *self) {
    return self->ntrades;
}

void brg_sim_stock_trade_at(brg_sim_stock_t *self, size_t index, Xtbridge__XtTrade *out) {
    fill_trade_msg(self, self->trades[index], out);
}

size_t brg_sim_stock_position_count(brg_sim_stock_t *self) {
    return self->npositions;
}

void brg_sim_stock_position_at(brg_sim_stock_t *self, size_t index, Xtbridge__XtPosition *out) {
    fill_position_msg(self, self->positions[index], out);
}

bool brg_sim_stock_position_get(brg_sim_stock_t *self, const char *code,
                                Xtbridge__XtPosition *out) {
    position_t *p = code ? position_find(self, code) : NULL;
    if (!p)
        return false;
    fill_position_msg(self, p, out);
    return true;
}

/* --- durability -------------------------------------------------------------------- */

bool brg_sim_stock_take_account_dirty(brg_sim_stock_t *self) {
    bool dirty = self->account_dirty;
    self->account_dirty = false;
    return dirty;
}

void brg_sim_stock_cash(brg_sim_stock_t *self, int64_t *cash, int64_t *frozen) {
    *cash = self->cash;
    *frozen = self->frozen;
}

static int put_order(brg_sim_stock_t *self, brg_store_t *store, const order_t *o) {
    Xtbridge__State__SimOrder m = XTBRIDGE__STATE__SIM_ORDER__INIT;
    m.id = o->id;
    m.account_id = self->account_id;
    m.sysid = (char *)o->sysid;
    m.code = o->names->code;
    m.name = o->names->name;
    m.market = o->market;
    m.order_type = o->order_type;
    m.price_type = o->price_type;
    m.price = o->price;
    m.volume = o->volume;
    m.traded = o->traded;
    m.traded_amount_fen = o->traded_amount;
    m.status = o->status;
    m.status_msg = o->status_msg ? o->status_msg : (char *)"";
    m.strategy = o->names->strategy;
    m.remark = ORDER_REMARK(o);
    m.time = o->time;
    m.freeze_fen = o->freeze;
    m.freeze_left_fen = o->freeze_left;
    uint8_t key[BRG_SIM_KEY_MAX];
    size_t klen = brg_sim_key_id(key, BRG_SIM_KEY_ORDER, o->id);
    return brg_sim_state_put(store, key, klen, &m.base);
}

static int put_trade(brg_sim_stock_t *self, brg_store_t *store, const trade_t *t) {
    Xtbridge__State__SimTrade m = XTBRIDGE__STATE__SIM_TRADE__INIT;
    m.id = t->id;
    m.account_id = self->account_id;
    m.traded_id = (char *)t->traded_id;
    m.code = t->code;
    m.name = t->name;
    m.order_type = t->order_type;
    m.time = t->time;
    m.price = t->price;
    m.volume = t->volume;
    m.amount_fen = t->amount;
    m.commission_fen = t->commission;
    m.order_id = t->order_id;
    m.sysid = (char *)t->sysid;
    m.strategy = t->strategy;
    m.remark = t->remark;
    uint8_t key[BRG_SIM_KEY_MAX];
    size_t klen = brg_sim_key_id(key, BRG_SIM_KEY_TRADE, t->id);
    return brg_sim_state_put(store, key, klen, &m.base);
}

static int put_position(brg_sim_stock_t *self, brg_store_t *store, const position_t *p) {
    Xtbridge__State__SimPosition m = XTBRIDGE__STATE__SIM_POSITION__INIT;
    m.account_id = self->account_id;
    m.code = p->code;
    m.name = p->name;
    m.volume = p->volume;
    m.can_use = p->can_use;
    m.frozen = p->frozen;
    m.yesterday = p->yesterday;
    m.open_price = p->open_price;
    m.avg_price = p->avg_price;
    m.ord = p->ord;
    uint8_t key[BRG_SIM_KEY_MAX];
    size_t klen = brg_sim_key_str(key, BRG_SIM_KEY_POSITION, self->account_id, p->code);
    return brg_sim_state_put(store, key, klen, &m.base);
}

int brg_sim_stock_persist(brg_sim_stock_t *self, brg_store_t *store) {
    uint8_t key[BRG_SIM_KEY_MAX];
    /* deletes first: a position emptied at the day close may be bought again in the same
       batch, and its new record must win */
    for (size_t i = 0; i < self->del_orders.size; i++)
        if (brg_store_state_del(store, key,
                                brg_sim_key_id(key, BRG_SIM_KEY_ORDER, self->del_orders.items[i])))
            return -1;
    self->del_orders.size = 0;
    for (size_t i = 0; i < self->del_trades.size; i++)
        if (brg_store_state_del(store, key,
                                brg_sim_key_id(key, BRG_SIM_KEY_TRADE, self->del_trades.items[i])))
            return -1;
    self->del_trades.size = 0;
    for (size_t i = 0; i < self->del_positions.size; i++) {
        size_t klen = brg_sim_key_str(key, BRG_SIM_KEY_POSITION, self->account_id,
                                      self->del_positions.items[i]);
        if (brg_store_state_del(store, key, klen))
            return -1;
        free(self->del_positions.items[i]);
        self->del_positions.items[i] = NULL;
    }
    self->del_positions.size = 0;
    for (size_t i = 0; i < self->dirty_orders.size; i++) {
        order_t *o = self->dirty_orders.items[i];
        if (put_order(self, store, o))
            return -1;
        o->dirty = false;
        o->stored = true;
    }
    self->dirty_orders.size = 0;
    for (; self->ntrades_stored < self->ntrades; self->ntrades_stored++)
        if (put_trade(self, store, self->trades[self->ntrades_stored]))
            return -1;
    for (size_t i = 0; i < self->dirty_positions.size; i++) {
        position_t *p = self->dirty_positions.items[i];
        if (put_position(self, store, p))
            return -1;
        p->dirty = false;
        p->stored = true;
    }
    self->dirty_positions.size = 0;
    return 0;
}

int64_t brg_sim_stored_fen(int64_t fen, double yuan) {
    return fen == 0 && yuan != 0 ? brg_sim_to_fen(yuan) : fen;
}

void brg_sim_stock_load_cash(brg_sim_stock_t *self, int64_t cash, int64_t frozen) {
    self->cash = cash;
    self->frozen = frozen;
}

int brg_sim_stock_load_order(brg_sim_stock_t *self, const Xtbridge__State__SimOrder *m) {
    /* the day's array is sorted by id (order_find relies on it) */
    if (m->id <= 0 || (self->norders && self->orders[self->norders - 1]->id >= m->id))
        return -1;
    order_t *o = order_alloc(self, m->sysid, m->remark);
    o->id = m->id;
    o->names = intern_names(self, m->code, m->name, m->strategy);
    o->market = (int8_t)m->market;
    o->order_type = (int16_t)m->order_type;
    o->price_type = (int8_t)m->price_type;
    o->price = m->price;
    o->volume = m->volume;
    o->traded = m->traded;
    o->traded_amount = brg_sim_stored_fen(m->traded_amount_fen, m->traded_amount);
    o->status = (int8_t)m->status;
    o->status_msg = m->status_msg && *m->status_msg ? strdup(m->status_msg) : NULL;
    o->time = (uint32_t)m->time;
    o->freeze = brg_sim_stored_fen(m->freeze_fen, m->freeze);
    o->freeze_left = brg_sim_stored_fen(m->freeze_left_fen, m->freeze_left);
    o->stored = true;
    push_ptr((void ***)&self->orders, &self->norders, &self->corders, o);
    return 0;
}

int brg_sim_stock_load_trade(brg_sim_stock_t *self, const Xtbridge__State__SimTrade *m) {
    if (m->id <= 0 || (self->ntrades && self->trades[self->ntrades - 1]->id >= m->id))
        return -1;
    trade_t *t = (trade_t *)zmalloc(sizeof *t);
    t->id = m->id;
    snprintf(t->traded_id, sizeof t->traded_id, "%s", m->traded_id);
    t->code = intern(self, m->code);
    t->name = intern(self, m->name);
    t->order_type = m->order_type;
    t->time = m->time;
    t->price = m->price;
    t->volume = m->volume;
    t->amount = brg_sim_stored_fen(m->amount_fen, m->amount);
    t->commission = brg_sim_stored_fen(m->commission_fen, m->commission);
    t->order_id = m->order_id;
    snprintf(t->sysid, sizeof t->sysid, "%s", m->sysid);
    t->strategy = intern(self, m->strategy);
    t->remark = dup_or_empty(m->remark);
    push_ptr((void ***)&self->trades, &self->ntrades, &self->ctrades, t);
    self->ntrades_stored = self->ntrades;
    return 0;
}

int brg_sim_stock_load_position(brg_sim_stock_t *self, const Xtbridge__State__SimPosition *m) {
    if (!m->code || position_find(self, m->code))
        return -1;
    position_t *p = (position_t *)zmalloc(sizeof *p);
    p->code = dup_or_empty(m->code);
    p->name = dup_or_empty(m->name);
    p->volume = m->volume;
    p->can_use = m->can_use;
    p->frozen = m->frozen;
    p->yesterday = m->yesterday;
    p->open_price = m->open_price;
    p->avg_price = m->avg_price;
    p->ord = m->ord;
    p->stored = true;
    push_ptr((void ***)&self->positions, &self->npositions, &self->cpositions, p);
    if (p->ord >= self->next_position_ord)
        self->next_position_ord = p->ord + 1;
    return 0;
}

static int position_ord_cmp(const void *a, const void *b) {
    const position_t *pa = *(position_t *const *)a, *pb = *(position_t *const *)b;
    return pa->ord < pb->ord ? -1 : pa->ord > pb->ord;
}

void brg_sim_stock_load_done(brg_sim_stock_t *self) {
    /* records come in key (code) order; the book lists positions in creation order */
    if (self->npositions > 1)
        qsort(self->positions, self->npositions, sizeof *self->positions, position_ord_cmp);
    self->account_dirty = false;
}
