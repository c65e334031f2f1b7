/*  brg_sim.c - the `sim` session backend: reads the `sim` config section, owns the market,
    the accounts and the id/seq counters, validates requests (INVALID_ARGUMENT is decided
    here, broker-style rejections in the account classes) and dispatches each call to
    the account's class by account type. Only the calls it really implements are in
    serves(); the router answers UNKNOWN_CALL for the rest, so nothing is faked.

    Durability: the whole book (brg_sim_t) is built either from the store's backend
    keyspace (a book is stored: the counters key exists) or from the config. The ops
    handle is a small sim_backend_t that points at the current book, so `restore` can build
    a fresh book from the last committed state and swap it in only once that worked.
    This file writes the counters, accounts and quotes; each account class writes its own
    orders, trades and positions (brg_sim_stock_persist).
*/
#include "brg_sim.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brg_compat.h"
#include "brg_log.h"
#include "brg_stall.h"
#include "brg_pbenc.h"
#include "brg_sim_credit.h"
#include "brg_sim_export.h"
#include "brg_sim_futures.h"
#include "brg_sim_json.h"
#include "brg_sim_market.h"
#include "brg_sim_stock.h"
#include "brg_sim_transfer.h"

#define SIM_DEFAULT_ACCOUNT "1000000365"
#define SIM_DEFAULT_CASH 1000000.0
#define SIM_DEFAULT_CREDIT_ACCOUNT "1208970161" /* the vendor doc's credit examples */
#define SIM_DEFAULT_FUTURE_ACCOUNT "1000000367" /* type 1 (FUTURE) */

typedef struct {
    char *id;
    int32_t type;           /* xtconstant account type: STOCK (2), CREDIT (3) or FUTURE (1) */
    int32_t status;         /* XtAccountStatus.status */
    bool dirty;             /* id/type/status not yet stored (cash and frozen: the class's mark) */
    brg_sim_stock_t *stock; /* STOCK and CREDIT accounts */
    brg_sim_futures_t *futures;   /* FUTURE accounts (stock is NULL) */
    brg_sim_credit_t *credit;     /* CREDIT accounts: compacts, quotas (hooks into stock) */
    brg_sim_transfer_t *transfer; /* ordinary counter, other node, external deals */
} sim_account_t;

/* The day's orders and trades of an account, whichever book it has (stock or futures). */
static size_t account_orders(sim_account_t *a) {
    return a->futures ? brg_sim_futures_order_count(a->futures)
                      : brg_sim_stock_order_count(a->stock);
}

static size_t account_trades(sim_account_t *a) {
    return a->futures ? brg_sim_futures_trade_count(a->futures)
                      : brg_sim_stock_trade_count(a->stock);
}

static void account_order_at(sim_account_t *a, size_t i, Xtbridge__XtOrder *out) {
    if (a->futures)
        brg_sim_futures_order_at(a->futures, i, out);
    else
        brg_sim_stock_order_at(a->stock, i, out);
}

static void account_trade_at(sim_account_t *a, size_t i, Xtbridge__XtTrade *out) {
    if (a->futures)
        brg_sim_futures_trade_at(a->futures, i, out);
    else
        brg_sim_stock_trade_at(a->stock, i, out);
}

/* The book: everything the store holds, plus the session flag below. */
typedef struct {
    brg_sim_ctx_t ctx;
    sim_account_t *accounts;
    size_t naccounts;
    int64_t next_seq;                    /* async seq, shared by all accounts */
    int32_t trading_day;                 /* sim_next_day count */
    Xtbridge__State__SimCounters stored; /* counters as last written or loaded */
    bool counters_stored;
} brg_sim_t;

/* The ops handle. */
typedef struct {
    brg_sim_t *book;
    brg_store_t *store; /* NULL: memory only */
    zconfig_t *config;  /* own copy of the `sim` section's children (NULL if none) */
    char *data_dir;     /* the bridge's data directory: export files go to <it>/export */
    brg_emit_fn *emit;
    void *emit_arg;
    int (*checkpoint)(void *arg);
    void *checkpoint_arg;
    zloop_t *loop; /* NULL in unit tests: the day close then runs at once */
    void (*group_begin)(void *arg);
    int (*group_end)(void *arg);
    void *group_arg;
    /* a day close under way: its call, the timer that runs its slices, the account it is
       at; calls that touch the book are answered BUSY until it ends */
    brg_call_t *close_call;
    int close_timer;
    size_t close_account;
    uint64_t close_slices;
    size_t close_orders, close_trades; /* what the close under way has to clear */
    int64_t close_longest_us;          /* its longest slice */
    bool close_trim;                   /* all slices done: the next turn trims, then replies */
    /* sim_set_session {connected: false}: the session is down until restored (a session
       flag like a terminal's, not state: a restart brings it up) */
    bool session_down;
    struct list_job *jobs; /* long queries being packed a slice at a time */
    struct move_job *move; /* a price move being matched a slice at a time */
} sim_backend_t;

/* Work budget of one day-close slice: a slice stops after this much time (checked every
   CLOSE_CHUNK orders), then persists and commits what it did. Keeps the loop answering
   within a few ms while 300k orders expire. */
#define CLOSE_SLICE_US 2000
#define CLOSE_CHUNK 32
/* ... and after this many store deletes: a slice that only frees trades (cheap in memory)
   dropped ~20,000 stored rows in its 2 ms, and their deletes took 71 ms in its commit */
#define CLOSE_SLICE_DELETES 512

/* --- keys and records -------------------------------------------------------------- */

size_t brg_sim_key_id(uint8_t *key, const char *prefix, int64_t id) {
    key[0] = (uint8_t)prefix[0];
    key[1] = (uint8_t)prefix[1];
    uint64_t v = (uint64_t)id;
    for (int i = 0; i < 8; i++)
        key[2 + i] = (uint8_t)(v >> (56 - 8 * i));
    return 10;
}

size_t brg_sim_key_str(uint8_t *key, const char *prefix, const char *a, const char *b) {
    size_t len = 0;
    for (const char *s = prefix; *s && len < BRG_SIM_KEY_MAX; s++)
        key[len++] = (uint8_t)*s;
    for (const char *s = a ? a : ""; *s && len < BRG_SIM_KEY_MAX; s++)
        key[len++] = (uint8_t)*s;
    if (b) {
        if (len < BRG_SIM_KEY_MAX)
            key[len++] = 0;
        for (const char *s = b; *s && len < BRG_SIM_KEY_MAX; s++)
            key[len++] = (uint8_t)*s;
    }
    return len;
}

int brg_sim_state_put(brg_store_t *store, const void *key, size_t klen,
                      const ProtobufCMessage *msg) {
    /* one pass into the stack (brg_pbenc: a fill rewrites its order and adds a trade);
       protobuf-c's size + pack for a record too big for it or with repeated fields */
    uint8_t stack[512];
    uint8_t *buf = stack;
    size_t size = brg_pbenc_pack(msg, stack, sizeof stack);
    if (size == SIZE_MAX) {
        size = protobuf_c_message_get_packed_size(msg);
        buf = size <= sizeof stack ? stack : (uint8_t *)malloc(size);
        if (!buf)
            return -1;
        protobuf_c_message_pack(msg, buf);
    }
    int rc = brg_store_state_put(store, key, klen, buf, size);
    if (buf != stack)
        free(buf);
    return rc == 0 ? 0 : -1;
}

/* --- create / destroy -------------------------------------------------------------- */

static void book_destroy(brg_sim_t **self_p) {
    if (!self_p || !*self_p)
        return;
    brg_sim_t *self = *self_p;
    for (size_t i = 0; i < self->naccounts; i++) {
        brg_sim_credit_destroy(&self->accounts[i].credit);
        brg_sim_transfer_destroy(&self->accounts[i].transfer);
        brg_sim_stock_destroy(&self->accounts[i].stock);
        brg_sim_futures_destroy(&self->accounts[i].futures);
        free(self->accounts[i].id);
    }
    free(self->accounts);
    brg_sim_market_destroy(&self->ctx.market);
    free(self);
    *self_p = NULL;
}

static void jobs_end(sim_backend_t *backend, const char *why);
static void move_end(sim_backend_t *backend, const char *why);

static void sim_destroy(void **self_p) {
    if (!self_p || !*self_p)
        return;
    sim_backend_t *self = (sim_backend_t *)*self_p;
    jobs_end(self, NULL);
    move_end(self, NULL);
    if (self->close_call) {
        /* a close cut short by shutdown: its call belongs to a router that is gone by now;
           the stored book is as of the last slice and the client runs the close again */
        if (self->loop)
            zloop_timer_end(self->loop, self->close_timer);
        brg_call_destroy(&self->close_call);
    }
    book_destroy(&self->book);
    zconfig_destroy(&self->config);
    free(self->data_dir);
    free(self);
    *self_p = NULL;
}

/* Account ids become part of topics ("order.<id>."): keep them to a safe alphabet. */
static bool account_id_ok(const char *id) {
    size_t len = id ? strlen(id) : 0;
    if (len == 0 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)id[i]) && id[i] != '_' && id[i] != '-')
            return false;
    return true;
}

static sim_account_t *add_account(brg_sim_t *self, const char *id, int32_t type, double cash) {
    sim_account_t *grown =
        (sim_account_t *)realloc(self->accounts, (self->naccounts + 1) * sizeof(sim_account_t));
    if (!grown)
        abort();
    self->accounts = grown;
    sim_account_t *account = &self->accounts[self->naccounts++];
    memset(account, 0, sizeof *account);
    account->id = strdup(id);
    account->type = type;
    account->status = 0;
    account->dirty = true;
    if (type == BRG_SIM_ACCOUNT_FUTURE)
        account->futures = brg_sim_futures_new(&self->ctx, id, cash);
    else
        account->stock = brg_sim_stock_new(&self->ctx, id, cash);
    account->transfer = brg_sim_transfer_new(&self->ctx, id, account->type);
    return account;
}

/* Make `account` a CREDIT account: its stock book gets the credit book's hooks. */
static void make_credit(brg_sim_t *self, sim_account_t *account, double fin_quota,
                        double slo_quota) {
    account->type = BRG_SIM_ACCOUNT_CREDIT;
    account->credit =
        brg_sim_credit_new(&self->ctx, account->stock, account->id, fin_quota, slo_quota);
    brg_sim_credit_set_day(account->credit, self->trading_day);
    brg_sim_transfer_destroy(&account->transfer);
    account->transfer = brg_sim_transfer_new(&self->ctx, account->id, account->type);
}

static sim_account_t *find_account_id(brg_sim_t *self, const char *id) {
    for (size_t i = 0; i < self->naccounts; i++)
        if (id && strcmp(self->accounts[i].id, id) == 0)
            return &self->accounts[i];
    return NULL;
}

/*  Whether every child of `node` is named in `keys` (NULL-terminated); otherwise an error
    naming the first unknown key, its place and the keys that are allowed. A typo must stop
    the start, not silently fall back to a default. */
static int known_keys(zconfig_t *node, const char *where, const char *const *keys, char *err,
                      size_t errlen) {
    for (zconfig_t *child = zconfig_child(node); child; child = zconfig_next(child)) {
        const char *name = zconfig_name(child);
        bool found = false;
        for (size_t i = 0; keys[i] && !found; i++)
            found = streq(name, keys[i]);
        if (found)
            continue;
        char list[200] = "";
        for (size_t i = 0; keys[i]; i++) {
            size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", keys[i]);
        }
        snprintf(err, errlen, "%s: unknown key '%s' (known: %s)", where, name, list);
        return -1;
    }
    return 0;
}

static int check_config_keys(zconfig_t *section, char *err, size_t errlen) {
    static const char *const top[] = {"account", "price", "fees", NULL};
    static const char *const account[] = {"id",        "type",      "cash", "position",
                                          "fin_quota", "slo_quota", NULL};
    static const char *const position[] = {"code", "volume", "avg_price", NULL};
    if (!section)
        return 0;
    if (known_keys(section, "sim", top, err, errlen))
        return -1;
    for (zconfig_t *a = zconfig_child(section); a; a = zconfig_next(a)) {
        if (!streq(zconfig_name(a), "account"))
            continue;
        char where[96];
        snprintf(where, sizeof where, "sim/account %.40s", zconfig_get(a, "id", ""));
        if (known_keys(a, where, account, err, errlen))
            return -1;
        for (zconfig_t *p = zconfig_child(a); p; p = zconfig_next(p))
            if (streq(zconfig_name(p), "position")) {
                char pwhere[160];
                snprintf(pwhere, sizeof pwhere, "%s/position", where);
                if (known_keys(p, pwhere, position, err, errlen))
                    return -1;
            }
    }
    return 0;
}

/*  One `account` entry of the config. `nstored` is the number of accounts loaded from
    the store: an entry for one of those is checked but not applied (the stored book wins:
    its cash and positions moved on since the config was written). */
static int load_account(brg_sim_t *self, zconfig_t *node, size_t nstored, char *err,
                        size_t errlen) {
    const char *id = zconfig_get(node, "id", "");
    if (!account_id_ok(id)) {
        snprintf(err, errlen, "sim/account: bad or missing id '%s'", id);
        return -1;
    }
    sim_account_t *known = find_account_id(self, id);
    if (known && known >= self->accounts + nstored) {
        snprintf(err, errlen, "sim/account %s: defined twice", id);
        return -1;
    }
    const char *type = zconfig_get(node, "type", "STOCK");
    bool credit = streq(type, "CREDIT") || streq(type, "3");
    bool future = streq(type, "FUTURE") || streq(type, "1");
    if (!streq(type, "STOCK") && !streq(type, "2") && !credit && !future) {
        snprintf(err, errlen, "sim/account %s: account type '%s' is not simulated yet", id, type);
        return -1;
    }
    double fin_quota = BRG_SIM_CREDIT_FIN_QUOTA, slo_quota = BRG_SIM_CREDIT_SLO_QUOTA;
    if ((zconfig_locate(node, "fin_quota") &&
         brg_sim_parse_number(zconfig_get(node, "fin_quota", ""), &fin_quota)) ||
        (zconfig_locate(node, "slo_quota") &&
         brg_sim_parse_number(zconfig_get(node, "slo_quota", ""), &slo_quota))) {
        snprintf(err, errlen, "sim/account %s: bad fin_quota or slo_quota", id);
        return -1;
    }
    if (!credit && (zconfig_locate(node, "fin_quota") || zconfig_locate(node, "slo_quota"))) {
        snprintf(err, errlen, "sim/account %s: fin_quota and slo_quota are for CREDIT accounts",
                 id);
        return -1;
    }
    double cash = SIM_DEFAULT_CASH;
    if (zconfig_locate(node, "cash") &&
        brg_sim_parse_number(zconfig_get(node, "cash", ""), &cash)) {
        snprintf(err, errlen, "sim/account %s: bad cash", id);
        return -1;
    }
    if (known) {
        /* stored; a second entry for it in the config must still be caught */
        for (zconfig_t *other = zconfig_next(node); other; other = zconfig_next(other))
            if (streq(zconfig_name(other), "account") && streq(zconfig_get(other, "id", ""), id)) {
                snprintf(err, errlen, "sim/account %s: defined twice", id);
                return -1;
            }
        return 0;
    }
    sim_account_t *account = add_account(self, id,
                                         future   ? BRG_SIM_ACCOUNT_FUTURE
                                         : credit ? BRG_SIM_ACCOUNT_CREDIT
                                                  : BRG_SIM_ACCOUNT_STOCK,
                                         cash);
    if (credit)
        make_credit(self, account, fin_quota, slo_quota);
    for (zconfig_t *child = zconfig_child(node); child; child = zconfig_next(child)) {
        if (!streq(zconfig_name(child), "position"))
            continue;
        if (future) {
            snprintf(err, errlen, "sim/account %s: a FUTURE account starts flat (no position)", id);
            return -1;
        }
        const char *code = zconfig_get(child, "code", "");
        double volume = 0, avg_price = 0;
        if (!brg_sim_code_valid(code)) {
            snprintf(err, errlen, "sim/account %s: position code '%s' is not a stock code", id,
                     code);
            return -1;
        }
        if (!brg_sim_market_quote(self->ctx.market, code)) {
            snprintf(err, errlen, "sim/account %s: position code '%s' has no price", id, code);
            return -1;
        }
        if (brg_sim_parse_number(zconfig_get(child, "volume", ""), &volume) ||
            volume != floor(volume) || volume > 1e15 ||
            brg_sim_parse_number(zconfig_get(child, "avg_price", "0"), &avg_price) ||
            brg_sim_stock_add_position(account->stock, code, (int64_t)volume, avg_price)) {
            snprintf(err, errlen, "sim/account %s: bad position %s", id, code);
            return -1;
        }
    }
    return 0;
}

/* --- loading a stored book --------------------------------------------------------- */

typedef struct {
    ProtobufCMessage **items; /* decoded records, for the kinds kept in `ord` order */
    size_t size, capacity;
    char *err;
    size_t errlen;
    const ProtobufCMessageDescriptor *descriptor;
} load_t;

static int collect(void *arg, const void *key, size_t klen, const void *val, size_t vlen) {
    (void)key;
    (void)klen;
    load_t *l = (load_t *)arg;
    ProtobufCMessage *m = protobuf_c_message_unpack(l->descriptor, NULL, vlen, val);
    if (!m) {
        snprintf(l->err, l->errlen, "store: a %s record does not decode",
                 l->descriptor->short_name);
        return 1;
    }
    if (l->size == l->capacity) {
        l->capacity = l->capacity ? l->capacity * 2 : 16;
        l->items = (ProtobufCMessage **)realloc(l->items, l->capacity * sizeof *l->items);
        if (!l->items)
            abort();
    }
    l->items[l->size++] = m;
    return 0;
}

static void collected_free(load_t *l) {
    for (size_t i = 0; i < l->size; i++)
        protobuf_c_message_free_unpacked(l->items[i], NULL);
    free(l->items);
    l->items = NULL;
    l->size = l->capacity = 0;
}

/* Read every record under `prefix`; -1 (with err) on a store error or a bad record. */
static int collect_all(brg_store_t *store, const char *prefix,
                       const ProtobufCMessageDescriptor *descriptor, load_t *l) {
    l->descriptor = descriptor;
    size_t before = l->size;
    int n = brg_store_state_scan(store, prefix, strlen(prefix), collect, l);
    if (n < 0) {
        snprintf(l->err, l->errlen, "store: reading the sim book failed: %s",
                 brg_store_error(store));
        return -1;
    }
    /* a decode failure stops the scan early: fewer records than visited */
    return (size_t)n == l->size - before ? 0 : -1;
}

static int64_t ord_of(const ProtobufCMessage *m) {
    if (m->descriptor == &xtbridge__state__sim_account__descriptor)
        return ((const Xtbridge__State__SimAccount *)m)->ord;
    return ((const Xtbridge__State__SimQuote *)m)->ord;
}

static int ord_cmp(const void *a, const void *b) {
    int64_t x = ord_of(*(ProtobufCMessage *const *)a), y = ord_of(*(ProtobufCMessage *const *)b);
    return x < y ? -1 : x > y;
}

static bool quote_stored(void *arg, const char *code) {
    load_t *l = (load_t *)arg;
    for (size_t i = 0; i < l->size; i++)
        if (streq(((Xtbridge__State__SimQuote *)l->items[i])->code, code))
            return true;
    return false;
}

/*  Quotes of a stored book go in first (in their stored order, over the built-ins), so
    config prices can skip the codes the store has. */
static int load_quotes(brg_sim_t *self, brg_store_t *store, load_t *l) {
    if (collect_all(store, BRG_SIM_KEY_QUOTE, &xtbridge__state__sim_quote__descriptor, l))
        return -1;
    qsort(l->items, l->size, sizeof *l->items, ord_cmp);
    for (size_t i = 0; i < l->size; i++) {
        Xtbridge__State__SimQuote *q = (Xtbridge__State__SimQuote *)l->items[i];
        brg_sim_quote_t *quote = brg_sim_market_set(self->ctx.market, q->code, q->name,
                                                    q->pre_close, q->last, q->liquidity);
        if (!quote) {
            snprintf(l->err, l->errlen, "store: stored quote with bad code '%.40s'", q->code);
            return -1;
        }
        quote->st = q->st;
        brg_sim_market_clean(self->ctx.market, quote);
    }
    return 0;
}

static int load_accounts(brg_sim_t *self, brg_store_t *store, load_t *l) {
    if (collect_all(store, BRG_SIM_KEY_ACCOUNT, &xtbridge__state__sim_account__descriptor, l))
        return -1;
    qsort(l->items, l->size, sizeof *l->items, ord_cmp);
    for (size_t i = 0; i < l->size; i++) {
        Xtbridge__State__SimAccount *a = (Xtbridge__State__SimAccount *)l->items[i];
        if (!account_id_ok(a->id) || find_account_id(self, a->id) ||
            (a->type != BRG_SIM_ACCOUNT_STOCK && a->type != BRG_SIM_ACCOUNT_CREDIT &&
             a->type != BRG_SIM_ACCOUNT_FUTURE)) {
            snprintf(l->err, l->errlen, "store: bad stored account '%.64s'", a->id);
            return -1;
        }
        sim_account_t *account = add_account(self, a->id, a->type, 0);
        if (a->type == BRG_SIM_ACCOUNT_CREDIT)
            make_credit(self, account, 0, 0); /* quotas come with its credit record */
        account->status = a->status;
        account->dirty = false;
        if (account->futures) {
            if (brg_sim_futures_load(account->futures, store, a->cash_fen, self->ctx.next_order_id,
                                     self->ctx.next_trade_id)) {
                snprintf(l->err, l->errlen, "store: bad stored futures book of '%.64s'", a->id);
                return -1;
            }
            continue;
        }
        brg_sim_stock_load_cash(account->stock, brg_sim_stored_fen(a->cash_fen, a->cash),
                                brg_sim_stored_fen(a->frozen_fen, a->frozen));
    }
    return 0;
}

/* Orders, trades and positions: each record names its account. */
static int load_records(brg_sim_t *self, brg_store_t *store, load_t *l) {
    if (collect_all(store, BRG_SIM_KEY_POSITION, &xtbridge__state__sim_position__descriptor, l))
        return -1;
    for (size_t i = 0; i < l->size; i++) {
        Xtbridge__State__SimPosition *p = (Xtbridge__State__SimPosition *)l->items[i];
        sim_account_t *account = find_account_id(self, p->account_id);
        if (!account || !account->stock || brg_sim_stock_load_position(account->stock, p)) {
            snprintf(l->err, l->errlen, "store: bad stored position %.64s %.32s", p->account_id,
                     p->code);
            return -1;
        }
    }
    collected_free(l);
    if (collect_all(store, BRG_SIM_KEY_ORDER, &xtbridge__state__sim_order__descriptor, l))
        return -1;
    for (size_t i = 0; i < l->size; i++) {
        Xtbridge__State__SimOrder *o = (Xtbridge__State__SimOrder *)l->items[i];
        sim_account_t *account = find_account_id(self, o->account_id);
        if (!account || !account->stock || brg_sim_stock_load_order(account->stock, o) ||
            o->id >= self->ctx.next_order_id) {
            snprintf(l->err, l->errlen, "store: bad stored order %lld", (long long)o->id);
            return -1;
        }
    }
    collected_free(l);
    if (collect_all(store, BRG_SIM_KEY_TRADE, &xtbridge__state__sim_trade__descriptor, l))
        return -1;
    for (size_t i = 0; i < l->size; i++) {
        Xtbridge__State__SimTrade *t = (Xtbridge__State__SimTrade *)l->items[i];
        sim_account_t *account = find_account_id(self, t->account_id);
        if (!account || !account->stock || brg_sim_stock_load_trade(account->stock, t) ||
            t->id >= self->ctx.next_trade_id) {
            snprintf(l->err, l->errlen, "store: bad stored trade %lld", (long long)t->id);
            return -1;
        }
    }
    collected_free(l);
    if (collect_all(store, BRG_SIM_KEY_CREDIT, &xtbridge__state__sim_credit__descriptor, l))
        return -1;
    for (size_t i = 0; i < l->size; i++) {
        Xtbridge__State__SimCredit *c = (Xtbridge__State__SimCredit *)l->items[i];
        sim_account_t *account = find_account_id(self, c->account_id);
        if (!account || !account->credit || brg_sim_credit_load(account->credit, c)) {
            snprintf(l->err, l->errlen, "store: bad stored credit book %.64s", c->account_id);
            return -1;
        }
    }
    collected_free(l);
    if (collect_all(store, BRG_SIM_KEY_TRANSFER, &xtbridge__state__sim_transfer__descriptor, l))
        return -1;
    for (size_t i = 0; i < l->size; i++) {
        Xtbridge__State__SimTransfer *x = (Xtbridge__State__SimTransfer *)l->items[i];
        sim_account_t *account = find_account_id(self, x->account_id);
        if (!account || brg_sim_transfer_load(account->transfer, x)) {
            snprintf(l->err, l->errlen, "store: bad stored counter record %.64s", x->account_id);
            return -1;
        }
    }
    return 0;
}

/*  The stored counters: 1 and *out filled, 0 when the store holds no book, -1 (err) on a
    read error or a book of another format. */
static int read_counters(brg_store_t *store, Xtbridge__State__SimCounters *out, char *err,
                         size_t errlen) {
    uint8_t *val = NULL;
    size_t vlen = 0;
    int rc =
        brg_store_state_get(store, BRG_SIM_KEY_COUNTERS, strlen(BRG_SIM_KEY_COUNTERS), &val, &vlen);
    if (rc < 0) {
        snprintf(err, errlen, "store: reading the sim book failed: %s", brg_store_error(store));
        return -1;
    }
    if (rc == 0)
        return 0;
    Xtbridge__State__SimCounters *c = xtbridge__state__sim_counters__unpack(NULL, vlen, val);
    free(val);
    if (!c || c->next_order_id < 1 || c->next_trade_id < 1 || c->next_seq < 1) {
        snprintf(err, errlen, "store: the sim book's counters record is damaged");
        if (c)
            xtbridge__state__sim_counters__free_unpacked(c, NULL);
        return -1;
    }
    /* Format 1 kept money in yuan doubles; its records are read field by field
       (brg_sim_stored_fen) and rewritten in fen as they change. */
    if (c->format != BRG_SIM_STATE_FORMAT && c->format != 1) {
        snprintf(err, errlen,
                 "store: the stored sim book has format %d, this bridge reads formats 1 and %d "
                 "(a newer bridge wrote it: run that one, or start on an empty --data)",
                 c->format, BRG_SIM_STATE_FORMAT);
        xtbridge__state__sim_counters__free_unpacked(c, NULL);
        return -1;
    }
    *out = *c;
    out->base.n_unknown_fields = 0; /* the copy must not point into the freed message */
    out->base.unknown_fields = NULL;
    xtbridge__state__sim_counters__free_unpacked(c, NULL);
    return 1;
}

/*  Build a book: from the store when it holds one (config accounts and prices only for
    what the store does not have), else from the config alone with everything dirty so the
    first persist writes it all. NULL + err on a bad config or an unreadable store. */
static brg_sim_t *book_build(sim_backend_t *backend, char *err, size_t errlen) {
    brg_sim_t *self = (brg_sim_t *)zmalloc(sizeof(brg_sim_t));
    self->ctx.emit = backend->emit;
    self->ctx.emit_arg = backend->emit_arg;
    self->ctx.checkpoint = backend->checkpoint;
    self->ctx.checkpoint_arg = backend->checkpoint_arg;
    self->ctx.market = brg_sim_market_new();
    self->ctx.next_order_id = 1;
    self->ctx.next_trade_id = 1;
    self->next_seq = 1;
    xtbridge__state__sim_counters__init(&self->stored);
    load_t l = {.err = err, .errlen = errlen};
    size_t nstored = 0;
    zconfig_t *section = backend->config;
    if (check_config_keys(section, err, errlen))
        goto fail;
    if (backend->store) {
        int rc = read_counters(backend->store, &self->stored, err, errlen);
        if (rc < 0)
            goto fail;
        if (rc == 1) {
            self->counters_stored = true;
            self->ctx.next_order_id = self->stored.next_order_id;
            self->ctx.next_trade_id = self->stored.next_trade_id;
            self->next_seq = self->stored.next_seq;
            self->trading_day = self->stored.trading_day;
            if (load_quotes(self, backend->store, &l))
                goto fail;
        }
    }
    if (brg_sim_market_load_skip(self->ctx.market, section, quote_stored, &l, err, errlen) != 0)
        goto fail;
    collected_free(&l);
    if (self->counters_stored) {
        if (load_accounts(self, backend->store, &l))
            goto fail;
        collected_free(&l);
        nstored = self->naccounts;
    }
    for (zconfig_t *child = section ? zconfig_child(section) : NULL; child;
         child = zconfig_next(child))
        if (streq(zconfig_name(child), "account") &&
            load_account(self, child, nstored, err, errlen) != 0)
            goto fail;
    bool config_accounts = section && zconfig_locate(section, "account");
    if (self->naccounts == 0) {
        add_account(self, SIM_DEFAULT_ACCOUNT, BRG_SIM_ACCOUNT_STOCK, SIM_DEFAULT_CASH);
        add_account(self, SIM_DEFAULT_FUTURE_ACCOUNT, BRG_SIM_ACCOUNT_FUTURE, SIM_DEFAULT_CASH);
    }
    /* the default CREDIT account; a store seeded with the defaults before it existed
       gets it too (fresh, like an account added to the config later) */
    if (!config_accounts && find_account_id(self, SIM_DEFAULT_ACCOUNT) &&
        !find_account_id(self, SIM_DEFAULT_CREDIT_ACCOUNT))
        make_credit(
            self,
            add_account(self, SIM_DEFAULT_CREDIT_ACCOUNT, BRG_SIM_ACCOUNT_CREDIT, SIM_DEFAULT_CASH),
            BRG_SIM_CREDIT_FIN_QUOTA, BRG_SIM_CREDIT_SLO_QUOTA);
    if (self->counters_stored) {
        if (load_records(self, backend->store, &l))
            goto fail;
        collected_free(&l);
        for (size_t i = 0; i < nstored; i++)
            if (self->accounts[i].stock)
                brg_sim_stock_load_done(self->accounts[i].stock);
    }
    return self;
fail:
    collected_free(&l);
    book_destroy(&self);
    return NULL;
}

/* A copy of a config subtree's children under `to` (zconfig_dup is draft API). */
static void config_copy(zconfig_t *from, zconfig_t *to) {
    for (zconfig_t *child = zconfig_child(from); child; child = zconfig_next(child)) {
        zconfig_t *copy = zconfig_new(zconfig_name(child), to);
        if (zconfig_value(child))
            zconfig_set_value(copy, "%s", zconfig_value(child));
        config_copy(child, copy);
    }
}

static void *sim_create(const brg_backend_env_t *env, char *err, size_t errlen) {
    sim_backend_t *self = (sim_backend_t *)zmalloc(sizeof(sim_backend_t));
    self->emit = env ? env->emit : NULL;
    self->emit_arg = env ? env->emit_arg : NULL;
    self->store = env ? env->store : NULL;
    self->checkpoint = env ? env->checkpoint : NULL;
    self->checkpoint_arg = env ? env->checkpoint_arg : NULL;
    self->loop = env ? env->loop : NULL;
    self->group_begin = env ? env->group_begin : NULL;
    self->group_end = env ? env->group_end : NULL;
    self->group_arg = env ? env->group_arg : NULL;
    self->data_dir = env && env->data_dir ? strdup(env->data_dir) : NULL;
    /* restore rebuilds from the config too (accounts the store does not have yet), and
       the caller's tree need not outlive create: keep a copy */
    zconfig_t *section = env && env->config ? zconfig_locate(env->config, "sim") : NULL;
    if (section) {
        self->config = zconfig_new("sim", NULL);
        config_copy(section, self->config);
    }
    self->book = book_build(self, err, errlen);
    if (!self->book)
        sim_destroy((void **)&self);
    return self;
}

/* --- persist / restore ------------------------------------------------------------- */

static int put_account(brg_store_t *store, sim_account_t *account, size_t ord) {
    Xtbridge__State__SimAccount m = XTBRIDGE__STATE__SIM_ACCOUNT__INIT;
    m.id = account->id;
    m.type = account->type;
    if (account->futures)
        brg_sim_futures_cash(account->futures, &m.cash_fen, &m.frozen_fen);
    else
        brg_sim_stock_cash(account->stock, &m.cash_fen, &m.frozen_fen);
    m.status = account->status;
    m.ord = (int64_t)ord;
    uint8_t key[BRG_SIM_KEY_MAX];
    size_t klen = brg_sim_key_str(key, BRG_SIM_KEY_ACCOUNT, account->id, NULL);
    return brg_sim_state_put(store, key, klen, &m.base);
}

static int put_quote(brg_store_t *store, const brg_sim_quote_t *quote, size_t ord) {
    Xtbridge__State__SimQuote m = XTBRIDGE__STATE__SIM_QUOTE__INIT;
    m.code = (char *)quote->code;
    m.name = (char *)quote->name;
    m.pre_close = quote->pre_close;
    m.last = quote->last;
    m.liquidity = quote->liquidity;
    m.st = quote->st;
    m.ord = (int64_t)ord;
    uint8_t key[BRG_SIM_KEY_MAX];
    size_t klen = brg_sim_key_str(key, BRG_SIM_KEY_QUOTE, quote->code, NULL);
    return brg_sim_state_put(store, key, klen, &m.base);
}

static int sim_persist(void *handle) {
    sim_backend_t *backend = (sim_backend_t *)handle;
    brg_sim_t *self = backend->book;
    brg_store_t *store = backend->store;
    if (!store)
        return 0;
    /* only what changed: per account its record, then its class's orders, trades and
       positions; then dirty quotes and the counters */
    for (size_t i = 0; i < self->naccounts; i++) {
        sim_account_t *account = &self->accounts[i];
        if (account->futures) {
            if ((brg_sim_futures_take_account_dirty(account->futures) || account->dirty) &&
                put_account(store, account, i))
                return -1;
            account->dirty = false;
            if (brg_sim_futures_persist(account->futures, store) ||
                brg_sim_transfer_persist(account->transfer, store))
                return -1;
            continue;
        }
        bool dirty = brg_sim_stock_take_account_dirty(account->stock) || account->dirty;
        if (dirty && put_account(store, account, i))
            return -1;
        account->dirty = false;
        if (brg_sim_stock_persist(account->stock, store))
            return -1;
        if (account->credit && brg_sim_credit_persist(account->credit, store))
            return -1;
        if (brg_sim_transfer_persist(account->transfer, store))
            return -1;
    }
    brg_sim_market_t *market = self->ctx.market;
    for (size_t i = 0; brg_sim_market_dirty(market) && i < brg_sim_market_size(market); i++) {
        brg_sim_quote_t *quote = brg_sim_market_at(market, i);
        if (!quote->dirty)
            continue;
        if (put_quote(store, quote, i))
            return -1;
        brg_sim_market_clean(market, quote);
    }
    Xtbridge__State__SimCounters *c = &self->stored;
    if (!self->counters_stored || c->next_order_id != self->ctx.next_order_id ||
        c->next_trade_id != self->ctx.next_trade_id || c->next_seq != self->next_seq ||
        c->trading_day != self->trading_day) {
        c->next_order_id = self->ctx.next_order_id;
        c->next_trade_id = self->ctx.next_trade_id;
        c->next_seq = self->next_seq;
        c->trading_day = self->trading_day;
        c->format = BRG_SIM_STATE_FORMAT;
        if (brg_sim_state_put(store, BRG_SIM_KEY_COUNTERS, strlen(BRG_SIM_KEY_COUNTERS), &c->base))
            return -1;
        self->counters_stored = true;
    }
    return 0;
}

static int sim_restore(void *handle) {
    sim_backend_t *backend = (sim_backend_t *)handle;
    if (!backend->store)
        return -1;
    /* a long query half packed read the book that is being dropped */
    jobs_end(backend, "the book was reloaded after a failed store commit while this list "
                      "was being read; query again");
    move_end(backend, "the book was reloaded after a failed store commit during this price "
                      "move; the fills stored before it stay, sim_tick matches the rest");
    char err[256] = "";
    brg_sim_t *book = book_build(backend, err, sizeof err);
    if (!book) {
        /* the old book stays; the bridge marks itself degraded */
        brg_error("sim: cannot reload the book after a failed commit: %s", err);
        return -1;
    }
    book->ctx.relaxed_order = backend->book->ctx.relaxed_order; /* a session flag, not state */
    book_destroy(&backend->book);
    backend->book = book;
    return 0;
}

/* --- pushes ------------------------------------------------------------------------ */

static void emit(brg_sim_t *self, const char *kind, const char *account_id,
                 Xtbridge__Event *event) {
    if (self->ctx.emit)
        self->ctx.emit(self->ctx.emit_arg, kind, account_id, event);
}

static void push_account_status(brg_sim_t *self, const sim_account_t *account) {
    Xtbridge__XtAccountStatus msg = XTBRIDGE__XT_ACCOUNT_STATUS__INIT;
    msg.account_type = account->type;
    msg.account_id = account->id;
    msg.status = account->status;
    Xtbridge__Event event = XTBRIDGE__EVENT__INIT;
    event.body_case = XTBRIDGE__EVENT__BODY_ACCOUNT_STATUS;
    event.account_status = &msg;
    emit(self, "account_status", account->id, &event);
}

static void sim_start(void *handle) {
    brg_sim_t *self = ((sim_backend_t *)handle)->book;
    for (size_t i = 0; i < self->naccounts; i++)
        push_account_status(self, &self->accounts[i]);
}

/* --- request validation ------------------------------------------------------------ */

static bool known_account_type(int32_t type) {
    switch (type) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 5:
    case 6:
    case 7:
    case 8:
    case 10:
    case 11:
        return true;
    default:
        return false;
    }
}

static bool known_order_type(int32_t t) {
    return (t >= 0 && t <= 24) || (t >= 27 && t <= 32) || (t >= 40 && t <= 45) ||
           (t >= 48 && t <= 57) || t == 100 || (t >= 110 && t <= 119) || t == 134 || t == 135 ||
           (t >= 137 && t <= 139) || t == 400;
}

static bool known_price_type(int32_t t) {
    return t == 5 || t == 11 || (t >= 18 && t <= 24) || (t >= 42 && t <= 48);
}

/*  Resolve a request's account. Returns 0 with *out set (NULL when the account is
    well-formed but not ours), or -1 after failing the call with INVALID_ARGUMENT. */
static int resolve_account(brg_sim_t *self, brg_call_t *call, const Xtbridge__Account *account,
                           sim_account_t **out) {
    *out = NULL;
    if (!account || !account->account_id || !*account->account_id) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT, "missing account");
        return -1;
    }
    if (!account_id_ok(account->account_id)) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT, "bad account id");
        return -1;
    }
    if (!known_account_type(account->account_type)) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT, "unknown account_type %d",
                      account->account_type);
        return -1;
    }
    sim_account_t *found = find_account_id(self, account->account_id);
    int32_t type = account->account_type ? account->account_type : BRG_SIM_ACCOUNT_STOCK;
    /* xtquant keys accounts by (id, type): the same id with another type is another one */
    *out = found && found->type == type ? found : NULL;
    return 0;
}

static int32_t request_account_type(const Xtbridge__Account *account) {
    return account->account_type ? account->account_type : BRG_SIM_ACCOUNT_STOCK;
}

/* The highest price the sim takes (yuan): far above any listed price, and low enough that
   its fen fit 64 bits with room (a fuzzer set a last price of 1e300, and a market order at
   it overflowed); an order's amount is checked on entry too (brg_sim_stock). */
#define MAX_PRICE 100000000.0

static bool bad_price(double price) {
    return !isfinite(price) || price < 0 || price > MAX_PRICE;
}

/* --- order and cancel -------------------------------------------------------------- */

/*  "unknown account 42; have 1000000365, 1000000366": the reason a broker would give,
    with the accounts this counter has (at most a few, then "..."). */
static const char *unknown_account_text(brg_sim_t *self, const Xtbridge__Account *account,
                                        char *buf, size_t len) {
    const char *id = account->account_id ? account->account_id : "";
    /* a known id asked with another account type is another account: say which type */
    int n = find_account_id(self, id)
                ? snprintf(buf, len, "unknown account %.40s of type %d; have ", id,
                           request_account_type(account))
                : snprintf(buf, len, "unknown account %.40s; have ", id);
    for (size_t i = 0; i < self->naccounts && n > 0 && (size_t)n < len; i++) {
        if (i == 4) {
            snprintf(buf + n, len - (size_t)n, ", ...");
            break;
        }
        n += snprintf(buf + n, len - (size_t)n, "%s%.40s", i ? ", " : "", self->accounts[i].id);
    }
    return buf;
}

/* Unknown account: xtquant answers -1 and an order_error on that account's topic. */
static void push_unknown_account_order(brg_sim_t *self, const Xtbridge__OrderStockRequest *req,
                                       int64_t seq) {
    char buf[300];
    const char *msg_text = unknown_account_text(self, req->account, buf, sizeof buf);
    Xtbridge__XtOrderResponse resp = XTBRIDGE__XT_ORDER_RESPONSE__INIT;
    resp.account_type = request_account_type(req->account);
    resp.account_id = req->account->account_id;
    resp.order_id = -1;
    resp.strategy_name = req->strategy_name;
    resp.order_remark = req->order_remark;
    resp.seq = seq;
    resp.error_msg = (char *)msg_text;
    Xtbridge__Event resp_event = XTBRIDGE__EVENT__INIT;
    resp_event.body_case = XTBRIDGE__EVENT__BODY_ORDER_ASYNC;
    resp_event.order_async = &resp;
    /* the async answer first, unless relaxed response order lets it come after */
    if (seq > 0 && !self->ctx.relaxed_order)
        emit(self, "order_async", req->account->account_id, &resp_event);
    Xtbridge__XtOrderError msg = XTBRIDGE__XT_ORDER_ERROR__INIT;
    msg.account_type = request_account_type(req->account);
    msg.account_id = req->account->account_id;
    msg.order_id = -1;
    msg.error_id = BRG_SIM_ORDER_ERROR_ID;
    msg.error_msg = (char *)msg_text;
    msg.strategy_name = req->strategy_name;
    msg.order_remark = req->order_remark;
    msg.seq = seq;
    Xtbridge__Event event = XTBRIDGE__EVENT__INIT;
    event.body_case = XTBRIDGE__EVENT__BODY_ORDER_ERROR;
    event.order_error = &msg;
    emit(self, "order_error", req->account->account_id, &event);
    if (seq > 0 && self->ctx.relaxed_order)
        emit(self, "order_async", req->account->account_id, &resp_event);
}

static void handle_order(brg_sim_t *self, brg_call_t *call, const Xtbridge__OrderStockRequest *req,
                         bool async) {
    sim_account_t *account;
    if (!req) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT, "missing order");
        return;
    }
    if (resolve_account(self, call, req->account, &account) != 0)
        return;
    /* a FUTURE account trades contracts, the others stocks; an unknown account either */
    bool futures_code = brg_sim_futures_code_valid(req->stock_code);
    if (account && account->futures && !futures_code) {
        char why[200];
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT, "%s",
                      brg_sim_futures_code_problem(req->stock_code, why, sizeof why));
        return;
    }
    if (!brg_sim_code_valid(req->stock_code) && !(futures_code && !(account && account->stock))) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT,
                      "bad stock code '%.40s' (want CODE.SH, CODE.SZ or CODE.BJ%s)",
                      req->stock_code ? req->stock_code : "",
                      futures_code ? "; futures contracts trade on a FUTURE account" : "");
        return;
    }
    if (req->order_volume <= 0) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT, "order_volume must be > 0");
        return;
    }
    if (req->order_volume > 1000000000000LL) {
        /* more than any listed share count; keeps volume x price in fen far from overflow */
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT,
                      "order_volume %lld is over the limit of 1000000000000",
                      (long long)req->order_volume);
        return;
    }
    if (bad_price(req->price)) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT,
                      "price must be a finite number from 0 to 100000000");
        return;
    }
    if (!known_order_type(req->order_type)) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT, "unknown order_type %d",
                      req->order_type);
        return;
    }
    if (!known_price_type(req->price_type)) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT, "unknown price_type %d",
                      req->price_type);
        return;
    }
    int64_t seq = async ? self->next_seq++ : 0;
    int64_t order_id = -1;
    if (account) {
        brg_sim_order_args_t args = {
            .stock_code = req->stock_code,
            .order_type = req->order_type,
            .order_volume = req->order_volume,
            .price_type = req->price_type,
            .price = req->price,
            .strategy_name = req->strategy_name,
            .order_remark = req->order_remark,
            .seq = seq,
            .account_status = account->status,
        };
        order_id = account->futures ? brg_sim_futures_order(account->futures, &args)
                                    : brg_sim_stock_order(account->stock, &args);
    } else {
        push_unknown_account_order(self, req, seq);
    }
    Xtbridge__Reply *reply = brg_call_reply(call);
    if (async) {
        Xtbridge__OrderStockAsyncReply *r =
            (Xtbridge__OrderStockAsyncReply *)brg_call_alloc(call, sizeof *r);
        xtbridge__order_stock_async_reply__init(r);
        r->seq = seq;
        reply->result_case = XTBRIDGE__REPLY__RESULT_ORDER_STOCK_ASYNC;
        reply->order_stock_async = r;
    } else {
        Xtbridge__OrderStockReply *r = (Xtbridge__OrderStockReply *)brg_call_alloc(call, sizeof *r);
        xtbridge__order_stock_reply__init(r);
        r->order_id = order_id;
        reply->result_case = XTBRIDGE__REPLY__RESULT_ORDER_STOCK;
        reply->order_stock = r;
    }
}

void brg_sim_push_cancel_result(const brg_sim_ctx_t *ctx, int32_t account_type,
                                const char *account_id, int64_t order_id, int market,
                                const char *sysid, const char *error, int64_t seq) {
    if (!ctx->emit)
        return;
    Xtbridge__XtCancelOrderResponse resp = XTBRIDGE__XT_CANCEL_ORDER_RESPONSE__INIT;
    resp.account_type = account_type;
    resp.account_id = (char *)account_id;
    resp.order_id = order_id;
    resp.order_sysid = (char *)(sysid ? sysid : "");
    resp.cancel_result = error ? -1 : 0;
    resp.seq = seq;
    resp.error_msg = (char *)(error ? error : "");
    Xtbridge__Event resp_event = XTBRIDGE__EVENT__INIT;
    resp_event.body_case = XTBRIDGE__EVENT__BODY_CANCEL_ASYNC;
    resp_event.cancel_async = &resp;
    Xtbridge__XtCancelError msg = XTBRIDGE__XT_CANCEL_ERROR__INIT;
    msg.account_type = account_type;
    msg.account_id = (char *)account_id;
    msg.order_id = order_id;
    msg.market = market;
    msg.order_sysid = (char *)(sysid ? sysid : "");
    msg.error_id = BRG_SIM_CANCEL_ERROR_ID;
    msg.error_msg = (char *)(error ? error : "");
    msg.seq = seq > 0 ? seq : 0;
    Xtbridge__Event event = XTBRIDGE__EVENT__INIT;
    event.body_case = XTBRIDGE__EVENT__BODY_CANCEL_ERROR;
    event.cancel_error = &msg;
    bool answer = seq > 0;
    if (answer && !ctx->relaxed_order)
        ctx->emit(ctx->emit_arg, "cancel_async", account_id, &resp_event);
    if (error)
        ctx->emit(ctx->emit_arg, "cancel_error", account_id, &event);
    if (answer && ctx->relaxed_order)
        ctx->emit(ctx->emit_arg, "cancel_async", account_id, &resp_event);
}

static void push_unknown_account_cancel(brg_sim_t *self, const Xtbridge__Account *account,
                                        int64_t order_id, int market, const char *sysid,
                                        int64_t seq) {
    char buf[300];
    const char *text = unknown_account_text(self, account, buf, sizeof buf);
    brg_sim_push_cancel_result(&self->ctx, request_account_type(account), account->account_id,
                               order_id, market, sysid, text, seq);
}

static void set_cancel_reply(brg_call_t *call, Xtbridge__Reply__ResultCase result_case, bool async,
                             int result, int64_t seq) {
    Xtbridge__Reply *reply = brg_call_reply(call);
    reply->result_case = result_case;
    if (async) {
        Xtbridge__CancelAsyncReply *r =
            (Xtbridge__CancelAsyncReply *)brg_call_alloc(call, sizeof *r);
        xtbridge__cancel_async_reply__init(r);
        r->seq = seq;
        if (result_case == XTBRIDGE__REPLY__RESULT_CANCEL_ORDER_STOCK_ASYNC)
            reply->cancel_order_stock_async = r;
        else
            reply->cancel_order_stock_sysid_async = r;
    } else {
        Xtbridge__CancelReply *r = (Xtbridge__CancelReply *)brg_call_alloc(call, sizeof *r);
        xtbridge__cancel_reply__init(r);
        r->result = result;
        if (result_case == XTBRIDGE__REPLY__RESULT_CANCEL_ORDER_STOCK)
            reply->cancel_order_stock = r;
        else
            reply->cancel_order_stock_sysid = r;
    }
}

static void handle_cancel(brg_sim_t *self, brg_call_t *call,
                          const Xtbridge__CancelOrderStockRequest *req, bool async) {
    sim_account_t *account;
    if (!req) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT, "missing cancel");
        return;
    }
    if (resolve_account(self, call, req->account, &account) != 0)
        return;
    if (req->order_id <= 0) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT, "order_id must be > 0");
        return;
    }
    int64_t seq = async ? self->next_seq++ : 0;
    int result = -1;
    if (account)
        result = account->futures ? brg_sim_futures_cancel(account->futures, req->order_id, seq)
                                  : brg_sim_stock_cancel(account->stock, req->order_id, seq);
    else
        push_unknown_account_cancel(self, req->account, req->order_id, -1, "", seq);
    set_cancel_reply(call,
                     async ? XTBRIDGE__REPLY__RESULT_CANCEL_ORDER_STOCK_ASYNC
                           : XTBRIDGE__REPLY__RESULT_CANCEL_ORDER_STOCK,
                     async, result, seq);
}

static void handle_cancel_sysid(brg_sim_t *self, brg_call_t *call,
                                const Xtbridge__CancelOrderStockSysidRequest *req, bool async) {
    sim_account_t *account;
    if (!req) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT, "missing cancel");
        return;
    }
    if (resolve_account(self, call, req->account, &account) != 0)
        return;
    if (!req->order_sysid || !*req->order_sysid) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT, "missing order_sysid");
        return;
    }
    if (account && account->futures) {
        if (req->market < 2 || req->market > 6) {
            brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT,
                          "market %d is not a futures market (CFFEX 2, SHFE 3, DCE 4, CZCE 5, "
                          "INE 6)",
                          req->market);
            return;
        }
    } else if (req->market != BRG_SIM_MARKET_SH && req->market != BRG_SIM_MARKET_SZ &&
               req->market != BRG_SIM_MARKET_BJ &&
               !(!account && req->market >= 2 && req->market <= 6)) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT,
                      "market %d is not a stock market (SH 0, SZ 1, BJ 70)", req->market);
        return;
    }
    int64_t seq = async ? self->next_seq++ : 0;
    int result = -1;
    if (account && account->futures)
        result = brg_sim_futures_cancel_sysid(account->futures, req->market, req->order_sysid, seq);
    else if (account)
        result = brg_sim_stock_cancel_sysid(account->stock, req->market, req->order_sysid, seq);
    else
        push_unknown_account_cancel(self, req->account, -1, req->market, req->order_sysid, seq);
    set_cancel_reply(call,
                     async ? XTBRIDGE__REPLY__RESULT_CANCEL_ORDER_STOCK_SYSID_ASYNC
                           : XTBRIDGE__REPLY__RESULT_CANCEL_ORDER_STOCK_SYSID,
                     async, result, seq);
}

/* --- queries ----------------------------------------------------------------------- */

/* Arena copy of a snapshot whose strings are borrowed from a book. */
#define COPY(call, msg) ((void *)brg_call_copy_message((call), &(msg)->base))

static void handle_query_asset(brg_sim_t *self, brg_call_t *call,
                               const Xtbridge__AccountRequest *req) {
    sim_account_t *account;
    if (resolve_account(self, call, req ? req->account : NULL, &account) != 0)
        return;
    Xtbridge__AssetReply *r = (Xtbridge__AssetReply *)brg_call_alloc(call, sizeof *r);
    xtbridge__asset_reply__init(r);
    if (account) {
        Xtbridge__XtAsset asset;
        if (account->futures)
            brg_sim_futures_asset(account->futures, &asset);
        else
            brg_sim_stock_asset(account->stock, &asset);
        r->found = true;
        r->asset = (Xtbridge__XtAsset *)COPY(call, &asset);
    }
    brg_call_reply(call)->result_case = XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ASSET;
    brg_call_reply(call)->query_stock_asset = r;
}

static void handle_query_order(brg_sim_t *self, brg_call_t *call,
                               const Xtbridge__QueryStockOrderRequest *req) {
    sim_account_t *account;
    if (resolve_account(self, call, req ? req->account : NULL, &account) != 0)
        return;
    Xtbridge__OrderReply *r = (Xtbridge__OrderReply *)brg_call_alloc(call, sizeof *r);
    xtbridge__order_reply__init(r);
    Xtbridge__XtOrder order;
    if (account &&
        (account->futures ? brg_sim_futures_order_get(account->futures, req->order_id, &order)
                          : brg_sim_stock_order_get(account->stock, req->order_id, &order))) {
        r->found = true;
        r->order = (Xtbridge__XtOrder *)COPY(call, &order);
    }
    brg_call_reply(call)->result_case = XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ORDER;
    brg_call_reply(call)->query_stock_order = r;
}

static void handle_query_orders(brg_sim_t *self, brg_call_t *call,
                                const Xtbridge__QueryStockOrdersRequest *req) {
    sim_account_t *account;
    if (resolve_account(self, call, req ? req->account : NULL, &account) != 0)
        return;
    Xtbridge__OrdersReply *r = (Xtbridge__OrdersReply *)brg_call_alloc(call, sizeof *r);
    xtbridge__orders_reply__init(r);
    size_t count = account ? account_orders(account) : 0;
    r->orders = (Xtbridge__XtOrder **)brg_call_alloc(call, (count + 1) * sizeof(void *));
    /* The snapshots borrow the book's strings instead of copying each message (a copy
       cost a pack, an unpack and a dozen allocations per order: 100,000 orders took
       seconds): the reply is packed before this call returns, and nothing changes the
       book in between (one loop thread). */
    Xtbridge__XtOrder *slots =
        (Xtbridge__XtOrder *)brg_call_alloc(call, (count + 1) * sizeof(Xtbridge__XtOrder));
    for (size_t i = 0; i < count; i++) {
        Xtbridge__XtOrder *order = &slots[r->n_orders];
        account_order_at(account, i, order);
        if (req->cancelable_only && !brg_sim_order_status_open(order->order_status))
            continue;
        r->orders[r->n_orders++] = order;
    }
    brg_call_reply(call)->result_case = XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ORDERS;
    brg_call_reply(call)->query_stock_orders = r;
}

static void handle_query_trades(brg_sim_t *self, brg_call_t *call,
                                const Xtbridge__AccountRequest *req) {
    sim_account_t *account;
    if (resolve_account(self, call, req ? req->account : NULL, &account) != 0)
        return;
    Xtbridge__TradesReply *r = (Xtbridge__TradesReply *)brg_call_alloc(call, sizeof *r);
    xtbridge__trades_reply__init(r);
    size_t count = account ? account_trades(account) : 0;
    r->trades = (Xtbridge__XtTrade **)brg_call_alloc(call, (count + 1) * sizeof(void *));
    /* borrowed strings, as handle_query_orders */
    Xtbridge__XtTrade *slots =
        (Xtbridge__XtTrade *)brg_call_alloc(call, (count + 1) * sizeof(Xtbridge__XtTrade));
    for (size_t i = 0; i < count; i++) {
        account_trade_at(account, i, &slots[i]);
        r->trades[r->n_trades++] = &slots[i];
    }
    /* deals recorded by sync_transaction_from_external follow the counter's own */
    size_t deals = account ? brg_sim_transfer_deal_count(account->transfer) : 0;
    if (deals) {
        Xtbridge__XtTrade **all =
            (Xtbridge__XtTrade **)brg_call_alloc(call, (count + deals + 1) * sizeof(void *));
        memcpy(all, r->trades, r->n_trades * sizeof(void *));
        r->trades = all;
        for (size_t i = 0; i < deals; i++) {
            Xtbridge__XtTrade trade;
            brg_sim_transfer_deal_at(account->transfer, i, &trade);
            r->trades[r->n_trades++] = (Xtbridge__XtTrade *)COPY(call, &trade);
        }
    }
    brg_call_reply(call)->result_case = XTBRIDGE__REPLY__RESULT_QUERY_STOCK_TRADES;
    brg_call_reply(call)->query_stock_trades = r;
}

/* --- long lists, a slice at a time ---------------------------------------------- */

/* A query_stock_orders / query_stock_trades answer longer than LIST_SLICE_MIN items is
   packed a slice at a time from a loop timer (at most LIST_SLICE_US of work per loop
   turn), straight into the bytes of its reply, which goes out after the last slice:
   100,000 orders built as messages and packed in one turn kept the loop from every
   other client for 75-100 ms. Each item is packed as it is at its slice, and the list
   holds the items the book had when the query came (later orders are not in it). */
#define LIST_SLICE_MIN 1000
#define LIST_SLICE_US 2000

typedef struct list_job {
    sim_backend_t *backend;
    brg_call_t *call;
    size_t account;       /* index in the book's accounts */
    bool trades;          /* query_stock_trades, else query_stock_orders */
    bool cancelable_only; /* query_stock_orders(cancelable_only) */
    size_t next, end;     /* the book's items [next, end) are still to pack */
    uint8_t *buf;         /* the packed OrdersReply / TradesReply so far */
    size_t len, cap;
    uint8_t *item; /* one item packed, before it joins buf (brg_pbenc_pack_alloc's) */
    size_t item_cap;
    int timer;
    struct list_job *next_job;
} list_job_t;

/* Append one item to the list's bytes: field 1 (both replies' list), length-delimited. */
static void job_append(list_job_t *job, const ProtobufCMessage *msg) {
    size_t n = brg_pbenc_pack_alloc(msg, &job->item, &job->item_cap);
    if (n == SIZE_MAX)
        abort(); /* out of memory, as zmalloc */
    if (job->cap - job->len < n + BRG_PBENC_LEN_PREFIX_MAX) {
        size_t need = job->len + n + BRG_PBENC_LEN_PREFIX_MAX;
        size_t cap = job->cap * 2 > need ? job->cap * 2 : need;
        uint8_t *grown = (uint8_t *)realloc(job->buf, cap);
        if (!grown)
            abort(); /* out of memory, as zmalloc */
        job->buf = grown;
        job->cap = cap;
    }
    job->len += brg_pbenc_len_prefix(job->buf + job->len, 1, n);
    memcpy(job->buf + job->len, job->item, n);
    job->len += n;
}

/* Pack items until the list is done (0) or `budget_us` has passed (1; 0 = no budget). */
static int job_step(list_job_t *job, int64_t budget_us) {
    sim_account_t *account = &job->backend->book->accounts[job->account];
    int64_t start = brg_stall_now_us();
    while (job->next < job->end) {
        for (int k = 0; k < 64 && job->next < job->end; k++, job->next++) {
            if (job->trades) {
                Xtbridge__XtTrade trade;
                account_trade_at(account, job->next, &trade);
                job_append(job, &trade.base);
                continue;
            }
            Xtbridge__XtOrder order;
            account_order_at(account, job->next, &order);
            if (!job->cancelable_only || brg_sim_order_status_open(order.order_status))
                job_append(job, &order.base);
        }
        if (budget_us && brg_stall_now_us() - start >= budget_us)
            return 1;
    }
    /* deals recorded by sync_transaction_from_external follow the counter's own trades */
    for (size_t i = 0; job->trades && i < brg_sim_transfer_deal_count(account->transfer); i++) {
        Xtbridge__XtTrade trade;
        brg_sim_transfer_deal_at(account->transfer, i, &trade);
        job_append(job, &trade.base);
    }
    return 0;
}

static void job_unlink(list_job_t *job) {
    for (list_job_t **at = &job->backend->jobs; *at; at = &(*at)->next_job)
        if (*at == job) {
            *at = job->next_job;
            break;
        }
    if (job->backend->loop && job->timer >= 0)
        zloop_timer_end(job->backend->loop, job->timer);
}

/* Give the job's call its list (why == NULL) or fail it, and drop the job. Returns the
   call, to be completed (or returned BRG_CALL_DONE from the handler). */
static brg_call_t *job_close(list_job_t *job, const char *why) {
    job_unlink(job);
    brg_call_t *call = job->call;
    if (why) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__BACKEND_ERROR, "%s", why);
        free(job->buf);
    } else
        brg_call_set_packed_result(call,
                                   job->trades ? XTBRIDGE__REPLY__RESULT_QUERY_STOCK_TRADES
                                               : XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ORDERS,
                                   job->buf, job->len);
    free(job->item);
    free(job);
    return call;
}

static void job_done(list_job_t *job, const char *why) {
    brg_call_complete(job_close(job, why));
}

/* Every long query under way: failed with `why`, or (NULL) dropped with its call, whose
   router is gone (shutdown). */
static void jobs_end(sim_backend_t *backend, const char *why) {
    while (backend->jobs) {
        brg_call_t *call = job_close(backend->jobs, why ? why : "shutting down");
        if (why)
            brg_call_complete(call);
        else
            brg_call_destroy(&call);
    }
}

/* Pack what is left of every long query now (the day close is about to drop the items). */
static void jobs_finish(sim_backend_t *backend) {
    while (backend->jobs) {
        job_step(backend->jobs, 0);
        job_done(backend->jobs, NULL);
    }
}

static int on_list_slice(zloop_t *loop, int timer, void *arg) {
    (void)loop;
    (void)timer;
    list_job_t *job = (list_job_t *)arg;
    int64_t start = brg_stall_now_us();
    if (!job_step(job, LIST_SLICE_US))
        job_done(job, NULL); /* the reply's send counts in this loop run */
    brg_stall_note(start);
    return 0;
}

/* A long list's query as a job: BRG_CALL_PENDING, or BRG_CALL_DONE when the call was
   answered (a bad account), or -1 when the list is short or there is no loop to slice
   on (unit tests) or a day close runs (it drops items): the plain handler answers it. */
static int list_start(sim_backend_t *backend, brg_call_t *call, bool trades) {
    const Xtbridge__Request *req = brg_call_request(call);
    const Xtbridge__Account *named =
        trades ? (req->query_stock_trades ? req->query_stock_trades->account : NULL)
               : (req->query_stock_orders ? req->query_stock_orders->account : NULL);
    if (!backend->loop || backend->close_call || !named || !brg_call_packed_allowed(call))
        return -1;
    brg_sim_t *self = backend->book;
    sim_account_t *account;
    if (resolve_account(self, call, named, &account) != 0)
        return BRG_CALL_DONE;
    if (!account)
        return -1;
    size_t count = trades ? account_trades(account) : account_orders(account);
    if (count <= LIST_SLICE_MIN)
        return -1;
    list_job_t *job = (list_job_t *)calloc(1, sizeof *job);
    if (!job)
        abort();
    job->backend = backend;
    job->call = call;
    job->account = (size_t)(account - self->accounts);
    job->trades = trades;
    job->cancelable_only = !trades && req->query_stock_orders->cancelable_only;
    job->end = count;
    job->cap = 64 * 1024;
    job->buf = (uint8_t *)malloc(job->cap);
    if (!job->buf)
        abort();
    job->timer = -1;
    job->next_job = backend->jobs;
    backend->jobs = job;
    if (job_step(job, LIST_SLICE_US) &&
        (job->timer = zloop_timer(backend->loop, 1, 0, on_list_slice, job)) >= 0)
        return BRG_CALL_PENDING;
    job_step(job, 0); /* all of it in this turn (or no timer to be had): answered now */
    job_close(job, NULL);
    return BRG_CALL_DONE;
}

static void handle_query_position(brg_sim_t *self, brg_call_t *call,
                                  const Xtbridge__QueryStockPositionRequest *req) {
    sim_account_t *account;
    if (resolve_account(self, call, req ? req->account : NULL, &account) != 0)
        return;
    if (!brg_sim_code_valid(req->stock_code) && !brg_sim_futures_code_valid(req->stock_code)) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT, "bad stock code '%.40s'",
                      req->stock_code ? req->stock_code : "");
        return;
    }
    Xtbridge__PositionReply *r = (Xtbridge__PositionReply *)brg_call_alloc(call, sizeof *r);
    xtbridge__position_reply__init(r);
    Xtbridge__XtPosition position;
    if (account && (account->futures
                        ? brg_sim_futures_position_get(account->futures, req->stock_code, &position)
                        : brg_sim_stock_position_get(account->stock, req->stock_code, &position))) {
        r->found = true;
        r->position = (Xtbridge__XtPosition *)COPY(call, &position);
    }
    brg_call_reply(call)->result_case = XTBRIDGE__REPLY__RESULT_QUERY_STOCK_POSITION;
    brg_call_reply(call)->query_stock_position = r;
}

static void handle_query_positions(brg_sim_t *self, brg_call_t *call,
                                   const Xtbridge__AccountRequest *req) {
    sim_account_t *account;
    if (resolve_account(self, call, req ? req->account : NULL, &account) != 0)
        return;
    Xtbridge__PositionsReply *r = (Xtbridge__PositionsReply *)brg_call_alloc(call, sizeof *r);
    xtbridge__positions_reply__init(r);
    size_t count = !account           ? 0
                   : account->futures ? brg_sim_futures_position_count(account->futures)
                                      : brg_sim_stock_position_count(account->stock);
    r->positions = (Xtbridge__XtPosition **)brg_call_alloc(call, (count + 1) * sizeof(void *));
    for (size_t i = 0; i < count; i++) {
        Xtbridge__XtPosition position;
        if (account->futures)
            brg_sim_futures_position_at(account->futures, i, &position);
        else
            brg_sim_stock_position_at(account->stock, i, &position);
        r->positions[r->n_positions++] = (Xtbridge__XtPosition *)COPY(call, &position);
    }
    brg_call_reply(call)->result_case = XTBRIDGE__REPLY__RESULT_QUERY_STOCK_POSITIONS;
    brg_call_reply(call)->query_stock_positions = r;
}

static void handle_account_infos(brg_sim_t *self, brg_call_t *call) {
    Xtbridge__AccountInfosReply *r = (Xtbridge__AccountInfosReply *)brg_call_alloc(call, sizeof *r);
    xtbridge__account_infos_reply__init(r);
    r->accounts =
        (Xtbridge__XtAccountInfo **)brg_call_alloc(call, (self->naccounts + 1) * sizeof(void *));
    for (size_t i = 0; i < self->naccounts; i++) {
        Xtbridge__XtAccountInfo *info =
            (Xtbridge__XtAccountInfo *)brg_call_alloc(call, sizeof *info);
        xtbridge__xt_account_info__init(info);
        info->account_type = self->accounts[i].type;
        info->account_id = brg_call_strdup(call, self->accounts[i].id);
        info->broker_type = self->accounts[i].type;
        info->login_status = self->accounts[i].status;
        r->accounts[r->n_accounts++] = info;
    }
    brg_call_reply(call)->result_case = XTBRIDGE__REPLY__RESULT_QUERY_ACCOUNT_INFOS;
    brg_call_reply(call)->query_account_infos = r;
}

static void handle_account_status(brg_sim_t *self, brg_call_t *call) {
    Xtbridge__AccountStatusReply *r =
        (Xtbridge__AccountStatusReply *)brg_call_alloc(call, sizeof *r);
    xtbridge__account_status_reply__init(r);
    r->statuses =
        (Xtbridge__XtAccountStatus **)brg_call_alloc(call, (self->naccounts + 1) * sizeof(void *));
    for (size_t i = 0; i < self->naccounts; i++) {
        Xtbridge__XtAccountStatus *status =
            (Xtbridge__XtAccountStatus *)brg_call_alloc(call, sizeof *status);
        xtbridge__xt_account_status__init(status);
        status->account_type = self->accounts[i].type;
        status->account_id = brg_call_strdup(call, self->accounts[i].id);
        status->status = self->accounts[i].status;
        r->statuses[r->n_statuses++] = status;
    }
    brg_call_reply(call)->result_case = XTBRIDGE__REPLY__RESULT_QUERY_ACCOUNT_STATUS;
    brg_call_reply(call)->query_account_status = r;
}

static void handle_subscribe(brg_sim_t *self, brg_call_t *call, const Xtbridge__AccountRequest *req,
                             bool subscribe) {
    sim_account_t *account;
    if (resolve_account(self, call, req ? req->account : NULL, &account) != 0)
        return;
    Xtbridge__SubscribeReply *r = (Xtbridge__SubscribeReply *)brg_call_alloc(call, sizeof *r);
    xtbridge__subscribe_reply__init(r);
    r->result = account ? 0 : -1;
    Xtbridge__Reply *reply = brg_call_reply(call);
    if (subscribe) {
        reply->result_case = XTBRIDGE__REPLY__RESULT_SUBSCRIBE;
        reply->subscribe = r;
    } else {
        reply->result_case = XTBRIDGE__REPLY__RESULT_UNSUBSCRIBE;
        reply->unsubscribe = r;
    }
}

/* --- credit, transfers, external deals, appointments --------------------------------- */

/*  Resolve the account of a call that only a CREDIT account has: a request whose
    account_type is not 3 is INVALID_ARGUMENT (the call cannot mean anything for it); a
    well-formed CREDIT account the sim does not have gets *out NULL (xtquant's empty
    answer). -1 when the call was failed. */
static int resolve_credit(brg_sim_t *self, brg_call_t *call, const Xtbridge__Account *account,
                          sim_account_t **out) {
    if (resolve_account(self, call, account, out) != 0)
        return -1;
    if (account->account_type != BRG_SIM_ACCOUNT_CREDIT) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT,
                      "%s needs a CREDIT account (account_type 3); account %.40s has type %d",
                      brg_call_name(call), account->account_id, request_account_type(account));
        *out = NULL;
        return -1;
    }
    return 0;
}

/* Reply slot of a repeated list: allocate `count` pointers (plus one). */
#define LIST(call, count) brg_call_alloc((call), ((count) + 1) * sizeof(void *))

static void handle_credit_detail(brg_sim_t *self, brg_call_t *call,
                                 const Xtbridge__AccountRequest *req) {
    sim_account_t *account;
    if (resolve_credit(self, call, req ? req->account : NULL, &account) != 0)
        return;
    Xtbridge__CreditDetailReply *r = (Xtbridge__CreditDetailReply *)brg_call_alloc(call, sizeof *r);
    xtbridge__credit_detail_reply__init(r);
    r->details = (Xtbridge__XtCreditDetail **)LIST(call, 1);
    if (account) {
        Xtbridge__XtCreditDetail detail;
        brg_sim_credit_detail(account->credit, account->status, &detail);
        r->details[r->n_details++] = (Xtbridge__XtCreditDetail *)COPY(call, &detail);
    }
    brg_call_reply(call)->result_case = XTBRIDGE__REPLY__RESULT_QUERY_CREDIT_DETAIL;
    brg_call_reply(call)->query_credit_detail = r;
}

static void handle_stk_compacts(brg_sim_t *self, brg_call_t *call,
                                const Xtbridge__AccountRequest *req) {
    sim_account_t *account;
    if (resolve_credit(self, call, req ? req->account : NULL, &account) != 0)
        return;
    Xtbridge__StkCompactsReply *r = (Xtbridge__StkCompactsReply *)brg_call_alloc(call, sizeof *r);
    xtbridge__stk_compacts_reply__init(r);
    size_t n = account ? brg_sim_credit_compact_count(account->credit) : 0;
    r->compacts = (Xtbridge__StkCompacts **)LIST(call, n);
    for (size_t i = 0; i < n; i++) {
        Xtbridge__StkCompacts c;
        brg_sim_credit_compact_at(account->credit, i, &c);
        r->compacts[r->n_compacts++] = (Xtbridge__StkCompacts *)COPY(call, &c);
    }
    brg_call_reply(call)->result_case = XTBRIDGE__REPLY__RESULT_QUERY_STK_COMPACTS;
    brg_call_reply(call)->query_stk_compacts = r;
}

/* query_credit_subjects / _slo_code / _assure: one row per built-in table entry. */
static void handle_credit_table(brg_sim_t *self, brg_call_t *call,
                                const Xtbridge__AccountRequest *req,
                                Xtbridge__Reply__ResultCase which) {
    sim_account_t *account;
    if (resolve_credit(self, call, req ? req->account : NULL, &account) != 0)
        return;
    size_t n = account ? brg_sim_credit_table_size() : 0;
    Xtbridge__Reply *reply = brg_call_reply(call);
    reply->result_case = which;
    if (which == XTBRIDGE__REPLY__RESULT_QUERY_CREDIT_SUBJECTS) {
        Xtbridge__CreditSubjectsReply *r = brg_call_alloc(call, sizeof *r);
        xtbridge__credit_subjects_reply__init(r);
        r->subjects = (Xtbridge__CreditSubjects **)LIST(call, n);
        for (size_t i = 0; i < n; i++) {
            Xtbridge__CreditSubjects m;
            brg_sim_credit_subject_at(account->credit, i, &m);
            r->subjects[r->n_subjects++] = (Xtbridge__CreditSubjects *)COPY(call, &m);
        }
        reply->query_credit_subjects = r;
    } else if (which == XTBRIDGE__REPLY__RESULT_QUERY_CREDIT_SLO_CODE) {
        Xtbridge__CreditSloCodeReply *r = brg_call_alloc(call, sizeof *r);
        xtbridge__credit_slo_code_reply__init(r);
        r->slo_codes = (Xtbridge__CreditSloCode **)LIST(call, n);
        for (size_t i = 0; i < n; i++) {
            Xtbridge__CreditSloCode m;
            brg_sim_credit_slo_code_at(account->credit, i, &m);
            r->slo_codes[r->n_slo_codes++] = (Xtbridge__CreditSloCode *)COPY(call, &m);
        }
        reply->query_credit_slo_code = r;
    } else {
        Xtbridge__CreditAssureReply *r = brg_call_alloc(call, sizeof *r);
        xtbridge__credit_assure_reply__init(r);
        r->assures = (Xtbridge__CreditAssure **)LIST(call, n);
        for (size_t i = 0; i < n; i++) {
            Xtbridge__CreditAssure m;
            brg_sim_credit_assure_at(account->credit, i, &m);
            r->assures[r->n_assures++] = (Xtbridge__CreditAssure *)COPY(call, &m);
        }
        reply->query_credit_assure = r;
    }
}

static void success_msg_reply(brg_call_t *call, bool success, const char *msg) {
    Xtbridge__SuccessMsgReply *r = (Xtbridge__SuccessMsgReply *)brg_call_alloc(call, sizeof *r);
    xtbridge__success_msg_reply__init(r);
    r->success = success;
    r->msg = brg_call_strdup(call, msg);
    brg_call_reply(call)->result_case = XTBRIDGE__REPLY__RESULT_FUND_TRANSFER;
    brg_call_reply(call)->fund_transfer = r;
}

static void handle_fund_transfer(brg_sim_t *self, brg_call_t *call,
                                 const Xtbridge__FundTransferRequest *req) {
    sim_account_t *account;
    if (!req) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT, "missing fund_transfer");
        return;
    }
    if (resolve_account(self, call, req->account, &account) != 0)
        return;
    if (req->transfer_direction < BRG_SIM_TRANSFER_NORMAL_TO_SPEED ||
        req->transfer_direction > BRG_SIM_TRANSFER_SZ_TO_SH) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT,
                      "transfer_direction %d is not a fund transfer (510 normal->speed, 511 "
                      "speed->normal, 512 SH->SZ node, 513 SZ->SH node)",
                      req->transfer_direction);
        return;
    }
    if (!isfinite(req->price) || req->price <= 0 || req->price > 1e13) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT,
                      "transfer amount (price) must be a number > 0, got %g", req->price);
        return;
    }
    if (!brg_sim_on_tick(req->price)) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT,
                      "transfer amount %.10g is not a whole number of fen", req->price);
        return;
    }
    char msg[300];
    if (!account) {
        success_msg_reply(call, false, unknown_account_text(self, req->account, msg, sizeof msg));
        return;
    }
    if (!account->stock) {
        /* an account class without a stock book (none yet) keeps its cash elsewhere */
        success_msg_reply(call, false,
                          "fund transfers are simulated for STOCK and CREDIT accounts");
        return;
    }
    int64_t withdrawable = brg_sim_stock_cash_available(account->stock);
    if (account->credit) {
        /* a credit account may only take out what keeps its maintenance ratio */
        Xtbridge__XtCreditDetail detail;
        brg_sim_credit_detail(account->credit, account->status, &detail);
        withdrawable = brg_sim_to_fen(detail.m_dfetchbalance);
    }
    bool ok = brg_sim_transfer_fund(account->transfer, account->stock, req->transfer_direction,
                                    brg_sim_to_fen(req->price), withdrawable, msg, sizeof msg);
    success_msg_reply(call, ok, msg);
}

static void handle_com_fund(brg_sim_t *self, brg_call_t *call,
                            const Xtbridge__AccountRequest *req) {
    sim_account_t *account;
    if (resolve_account(self, call, req ? req->account : NULL, &account) != 0)
        return;
    Xtbridge__ComFundReply *r = (Xtbridge__ComFundReply *)brg_call_alloc(call, sizeof *r);
    xtbridge__com_fund_reply__init(r);
    Xtbridge__ComFund fund;
    char text[300]; /* the reason must live until the copy below */
    if (account) {
        brg_sim_transfer_com_fund(account->transfer, &fund);
    } else {
        xtbridge__com_fund__init(&fund);
        fund.erro = (char *)unknown_account_text(self, req->account, text, sizeof text);
    }
    r->fund = (Xtbridge__ComFund *)COPY(call, &fund);
    brg_call_reply(call)->result_case = XTBRIDGE__REPLY__RESULT_QUERY_COM_FUND;
    brg_call_reply(call)->query_com_fund = r;
}

static void handle_com_position(brg_sim_t *self, brg_call_t *call,
                                const Xtbridge__AccountRequest *req) {
    sim_account_t *account;
    if (resolve_account(self, call, req ? req->account : NULL, &account) != 0)
        return;
    Xtbridge__ComPositionReply *r = (Xtbridge__ComPositionReply *)brg_call_alloc(call, sizeof *r);
    xtbridge__com_position_reply__init(r);
    size_t n = account ? brg_sim_transfer_com_position_count(account->transfer) : 0;
    r->positions = (Xtbridge__ComPosition **)LIST(call, n);
    for (size_t i = 0; i < n; i++) {
        Xtbridge__ComPosition p;
        brg_sim_transfer_com_position_at(account->transfer, i, &p);
        r->positions[r->n_positions++] = (Xtbridge__ComPosition *)COPY(call, &p);
    }
    brg_call_reply(call)->result_case = XTBRIDGE__REPLY__RESULT_QUERY_COM_POSITION;
    brg_call_reply(call)->query_com_position = r;
}

/* `text` as a JSON string body (quotes, backslashes and control characters escaped): paths
   and messages in the dicts of sync_transaction_from_external and export_data. */
static void json_escape(const char *text, char *out, size_t len) {
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p && n + 7 < len; p++) {
        if (*p == '"' || *p == '\\') {
            out[n++] = '\\';
            out[n++] = (char)*p;
        } else if (*p < 0x20) {
            n += (size_t)snprintf(out + n, len - n, "\\u%04x", *p);
        } else {
            out[n++] = (char)*p;
        }
    }
    out[n] = 0;
}

static void handle_sync_external(brg_sim_t *self, brg_call_t *call,
                                 const Xtbridge__SyncTransactionFromExternalRequest *req) {
    sim_account_t *account;
    if (!req) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT,
                      "missing sync_transaction_from_external");
        return;
    }
    if (resolve_account(self, call, req->account, &account) != 0)
        return;
    char why[300], escaped[700], json[800];
    const char *reason = NULL;
    if (!account) {
        snprintf(why, sizeof why, "can not find account info, accountID:%.40s accountType:%d",
                 req->account->account_id, request_account_type(req->account));
        reason = why;
    } else {
        reason = brg_sim_transfer_sync(account->transfer, req->operation, req->data_type,
                                       req->deal_list_json, req->n_deal_list_json, why, sizeof why);
    }
    if (reason) {
        /* the vendor's failure dict: {'error': {'msg': '[0-0: invalid operation type: ADDD], '}} */
        json_escape(reason, escaped, sizeof escaped);
        snprintf(json, sizeof json, "{\"error\": {\"msg\": \"[0-0: %s], \"}}", escaped);
    } else {
        snprintf(json, sizeof json, "{\"msg\": \"sync transaction from external success\"}");
    }
    Xtbridge__JsonReply *r = (Xtbridge__JsonReply *)brg_call_alloc(call, sizeof *r);
    xtbridge__json_reply__init(r);
    r->json = brg_call_strdup(call, json);
    brg_call_reply(call)->result_case = XTBRIDGE__REPLY__RESULT_SYNC_TRANSACTION_FROM_EXTERNAL;
    brg_call_reply(call)->sync_transaction_from_external = r;
}

static void handle_smt_quoter(brg_sim_t *self, brg_call_t *call,
                              const Xtbridge__AccountRequest *req) {
    sim_account_t *account;
    if (resolve_credit(self, call, req ? req->account : NULL, &account) != 0)
        return;
    Xtbridge__SmtQuoterReply *r = (Xtbridge__SmtQuoterReply *)brg_call_alloc(call, sizeof *r);
    xtbridge__smt_quoter_reply__init(r);
    size_t n = account ? brg_sim_credit_quoter_count() : 0;
    r->quoters = (Xtbridge__SmtQuoter **)LIST(call, n);
    for (size_t i = 0; i < n; i++) {
        Xtbridge__SmtQuoter q;
        brg_sim_credit_quoter_at(i, &q);
        r->quoters[r->n_quoters++] = (Xtbridge__SmtQuoter *)COPY(call, &q);
    }
    brg_call_reply(call)->result_case = XTBRIDGE__REPLY__RESULT_SMT_QUERY_QUOTER;
    brg_call_reply(call)->smt_query_quoter = r;
}

static void handle_smt_compact(brg_sim_t *self, brg_call_t *call,
                               const Xtbridge__AccountRequest *req) {
    sim_account_t *account;
    if (resolve_credit(self, call, req ? req->account : NULL, &account) != 0)
        return;
    Xtbridge__SmtCompactReply *r = (Xtbridge__SmtCompactReply *)brg_call_alloc(call, sizeof *r);
    xtbridge__smt_compact_reply__init(r);
    size_t n = account ? brg_sim_credit_smt_count(account->credit) : 0;
    r->compacts = (Xtbridge__SmtCompact **)LIST(call, n);
    for (size_t i = 0; i < n; i++) {
        Xtbridge__SmtCompact c;
        brg_sim_credit_smt_at(account->credit, i, &c);
        r->compacts[r->n_compacts++] = (Xtbridge__SmtCompact *)COPY(call, &c);
    }
    brg_call_reply(call)->result_case = XTBRIDGE__REPLY__RESULT_SMT_QUERY_COMPACT;
    brg_call_reply(call)->smt_query_compact = r;
}

typedef struct {
    double sub_fare_rate, fine_rate;
    char *err;
    size_t errlen;
} smt_param_t;

static int smt_param_member(void *arg, const char *key, brg_json_type_t type, const char *text,
                            double number) {
    smt_param_t *p = (smt_param_t *)arg;
    bool sub = strcmp(key, "subFareRate") == 0, fine = strcmp(key, "fineRate") == 0;
    if (!sub && !fine) {
        snprintf(p->err, p->errlen, "dict_param: unknown key '%.40s' (subFareRate, fineRate)", key);
        return 1;
    }
    if (type != BRG_JSON_NUMBER || number < 0) {
        snprintf(p->err, p->errlen, "dict_param: %s must be a number >= 0, got %.40s", key, text);
        return 1;
    }
    *(sub ? &p->sub_fare_rate : &p->fine_rate) = number;
    return 0;
}

static void handle_smt_negotiate(brg_sim_t *self, brg_call_t *call,
                                 const Xtbridge__SmtNegotiateOrderAsyncRequest *req) {
    sim_account_t *account;
    if (!req) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT,
                      "missing smt_negotiate_order_async");
        return;
    }
    if (resolve_credit(self, call, req->account, &account) != 0)
        return;
    if (!brg_sim_code_valid(req->order_code)) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT, "bad order_code '%.40s'",
                      req->order_code ? req->order_code : "");
        return;
    }
    if (req->date <= 0 || req->amount <= 0) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT,
                      "date (days) and amount must be > 0, got %lld and %lld", (long long)req->date,
                      (long long)req->amount);
        return;
    }
    if (!isfinite(req->apply_rate) || req->apply_rate < 0) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT,
                      "apply_rate must be a number >= 0");
        return;
    }
    char err[200] = "";
    smt_param_t param = {.err = err, .errlen = sizeof err};
    if (req->dict_param_json && *req->dict_param_json &&
        brg_sim_json_object(req->dict_param_json, smt_param_member, &param, err, sizeof err)) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT, "%s", err);
        return;
    }
    int64_t seq = self->next_seq++;
    char why[300], apply_id[32] = "-1";
    const char *reason =
        account
            ? brg_sim_credit_smt_apply(account->credit, req, param.sub_fare_rate, param.fine_rate,
                                       apply_id, sizeof apply_id, why, sizeof why)
            : unknown_account_text(self, req->account, why, sizeof why);
    Xtbridge__XtSmtAppointmentResponse msg = XTBRIDGE__XT_SMT_APPOINTMENT_RESPONSE__INIT;
    msg.seq = seq;
    msg.success = reason == NULL;
    msg.msg = (char *)(reason ? reason : "appointment granted");
    msg.apply_id = reason ? (char *)"-1" : apply_id;
    msg.account_id = req->account->account_id;
    msg.account_type = BRG_SIM_ACCOUNT_CREDIT;
    msg.error_id = reason ? -1 : 0;
    msg.error_msg = (char *)(reason ? reason : "");
    Xtbridge__Event event = XTBRIDGE__EVENT__INIT;
    event.body_case = XTBRIDGE__EVENT__BODY_SMT_APPOINTMENT;
    event.smt_appointment = &msg;
    emit(self, "smt_appointment", req->account->account_id, &event);
    Xtbridge__SmtNegotiateOrderAsyncReply *r =
        (Xtbridge__SmtNegotiateOrderAsyncReply *)brg_call_alloc(call, sizeof *r);
    xtbridge__smt_negotiate_order_async_reply__init(r);
    r->seq = seq;
    brg_call_reply(call)->result_case = XTBRIDGE__REPLY__RESULT_SMT_NEGOTIATE_ORDER_ASYNC;
    brg_call_reply(call)->smt_negotiate_order_async = r;
}

/* --- sim admin calls --------------------------------------------------------------- */

static void sim_reply(brg_call_t *call, Xtbridge__Reply__ResultCase result_case, const char *fmt,
                      ...) __attribute__((format(printf, 3, 4)));
static void sim_reply(brg_call_t *call, Xtbridge__Reply__ResultCase result_case, const char *fmt,
                      ...) {
    char text[256];
    va_list args;
    va_start(args, fmt);
    vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    Xtbridge__SimReply *r = (Xtbridge__SimReply *)brg_call_alloc(call, sizeof *r);
    xtbridge__sim_reply__init(r);
    r->message = brg_call_strdup(call, text);
    Xtbridge__Reply *reply = brg_call_reply(call);
    reply->result_case = result_case;
    /* every sim_* result is a SimReply in the same union slot type */
    switch (result_case) {
    case XTBRIDGE__REPLY__RESULT_SIM_SET_PRICE:
        reply->sim_set_price = r;
        break;
    case XTBRIDGE__REPLY__RESULT_SIM_TICK:
        reply->sim_tick = r;
        break;
    case XTBRIDGE__REPLY__RESULT_SIM_NEXT_DAY:
        reply->sim_next_day = r;
        break;
    case XTBRIDGE__REPLY__RESULT_SIM_SET_SESSION:
        reply->sim_set_session = r;
        break;
    default:
        reply->sim_set_account_status = r;
        break;
    }
}

/* --- price moves, a slice at a time ------------------------------------------------ */

/* A price move (sim_set_price, sim_tick) fills the resting orders its price crosses, one
   matching pass per code across all accounts, the code's liquidity shared. What does not
   fit MOVE_SLICE_US in the call's own loop turn goes on in slices from a loop timer, each
   slice its own commit (its fills stored, then pushed), the reply after the last: 20,000
   fills in one call held the loop for 150-250 ms. Calls are served between the slices
   and see the book part-way through the move; another move or a day close first finishes
   this one. */
#define MOVE_SLICE_US 2000
#define MOVE_STEP 64 /* orders looked at between two looks at the clock */
/* A slice also ends after this many fills: ~256 pushes, as often as a call's own
   checkpoints publish (BRG_CHECKPOINT_EVENTS), so the subscribers and libzmq's I/O thread
   work on one group while the loop matches the next. Slices of 2 ms alone (~500-800
   pushes each) cut the fan-out rate by ~15%, and 8 ms slices did no better. */
#define MOVE_SLICE_FILLS 64

typedef struct move_job {
    brg_call_t *call;
    Xtbridge__Reply__ResultCase result; /* SIM_SET_PRICE or SIM_TICK */
    size_t code, code_end;              /* market entries still to match: [code, code_end) */
    size_t account, at;                 /* the current code's account, its order number */
    int64_t left;                       /* liquidity left on the current code */
    int fills;
    char text[160]; /* the reply's message before ": N fill(s)" */
    int timer;
} move_job_t;

static int64_t code_liquidity(brg_sim_t *self, size_t code) {
    const brg_sim_quote_t *quote = brg_sim_market_at(self->ctx.market, code);
    return quote->liquidity > 0 ? quote->liquidity : INT64_MAX;
}

/* Match until the move is done (0), or until `budget_us` has passed or MOVE_SLICE_FILLS
   orders filled (1; budget 0 = to the end). */
static int move_step(sim_backend_t *backend, move_job_t *job, int64_t budget_us) {
    brg_sim_t *self = backend->book;
    int64_t start = brg_stall_now_us();
    int fills_before = job->fills;
    while (job->code < job->code_end) {
        const brg_sim_quote_t *quote = brg_sim_market_at(self->ctx.market, job->code);
        while (job->account < self->naccounts && job->left > 0) {
            sim_account_t *a = &self->accounts[job->account];
            if (job->at >= account_orders(a)) {
                job->account++;
                job->at = 0;
                continue;
            }
            job->fills +=
                a->futures
                    ? brg_sim_futures_match_some(a->futures, quote, &job->left, &job->at, MOVE_STEP)
                    : brg_sim_stock_match_some(a->stock, quote, &job->left, &job->at, MOVE_STEP);
            if (budget_us && (brg_stall_now_us() - start >= budget_us ||
                              job->fills - fills_before >= MOVE_SLICE_FILLS))
                return 1;
        }
        job->code++;
        job->account = job->at = 0;
        if (job->code < job->code_end)
            job->left = code_liquidity(self, job->code);
    }
    return 0;
}

static void move_reply(move_job_t *job) {
    sim_reply(job->call, job->result, "%s: %d fill(s)", job->text, job->fills);
}

/* The move under way, taken off the loop (NULL if none). */
static move_job_t *move_detach(sim_backend_t *backend) {
    move_job_t *job = backend->move;
    backend->move = NULL;
    if (job && backend->loop && job->timer >= 0)
        zloop_timer_end(backend->loop, job->timer);
    return job;
}

/* Finish the move under way at once, in the caller's batch: another move or a day close
   comes, and goes after it. */
static void move_finish(sim_backend_t *backend) {
    move_job_t *job = move_detach(backend);
    if (!job)
        return;
    move_step(backend, job, 0);
    move_reply(job);
    brg_call_complete(job->call);
    free(job);
}

/* Fail the move under way (its stored fills stay), or with why == NULL drop it with its
   call (shutdown: the router that would answer is gone). */
static void move_end(sim_backend_t *backend, const char *why) {
    move_job_t *job = move_detach(backend);
    if (!job)
        return;
    if (why) {
        brg_call_fail(job->call, XTBRIDGE__ERROR_CODE__BACKEND_ERROR, "%s (%d fill(s) stored)", why,
                      job->fills);
        brg_call_complete(job->call);
    } else
        brg_call_destroy(&job->call);
    free(job);
}

static void slice_begin(sim_backend_t *backend) {
    if (backend->group_begin)
        backend->group_begin(backend->group_arg);
}

/* End a loop timer's slice of a long call: its book writes and pushes commit as a group
   of their own. Returns 0, or -1 when that could not be stored. */
static int slice_end(sim_backend_t *backend) {
    int failed = sim_persist(backend);
    if (backend->group_end && backend->group_end(backend->group_arg))
        failed = -1;
    return failed;
}

static int on_move_slice(zloop_t *loop, int timer, void *arg) {
    (void)loop;
    (void)timer;
    sim_backend_t *backend = (sim_backend_t *)arg;
    move_job_t *job = backend->move;
    int64_t start = brg_stall_now_us();
    slice_begin(backend);
    int more = move_step(backend, job, MOVE_SLICE_US);
    int failed = slice_end(backend);
    brg_stall_note(start);
    if (failed) {
        /* this slice is lost: the book goes back to the last stored one (move_end from
           sim_restore answers the call) */
        if (sim_restore(backend))
            brg_error("sim: the book could not be reloaded after a failed price-move slice");
        move_end(backend, "the price move could not be stored");
    } else if (!more)
        move_finish(backend); /* nothing left to match: it answers and ends the timer */
    return 0;
}

/* Match codes [code, code_end) after a price change: in the call's own turn when it fits
   MOVE_SLICE_US (or there is no loop: unit tests), else in slices (BRG_CALL_PENDING). */
static int move_start(sim_backend_t *backend, brg_call_t *call, Xtbridge__Reply__ResultCase result,
                      size_t code, size_t code_end, const char *text) {
    move_job_t *job = (move_job_t *)calloc(1, sizeof *job);
    if (!job)
        abort();
    job->call = call;
    job->result = result;
    job->code = code;
    job->code_end = code_end;
    job->left = code < code_end ? code_liquidity(backend->book, code) : 0;
    job->timer = -1;
    snprintf(job->text, sizeof job->text, "%s", text);
    if (backend->loop && move_step(backend, job, MOVE_SLICE_US) &&
        (job->timer = zloop_timer(backend->loop, 0, 0, on_move_slice, backend)) >= 0) {
        backend->move = job;
        return BRG_CALL_PENDING;
    }
    move_step(backend, job, 0);
    move_reply(job);
    free(job);
    return BRG_CALL_DONE;
}

static size_t quote_index(brg_sim_market_t *market, const brg_sim_quote_t *quote) {
    size_t i = 0;
    while (i < brg_sim_market_size(market) && brg_sim_market_at(market, i) != quote)
        i++;
    return i;
}

static int handle_set_price(sim_backend_t *backend, brg_call_t *call,
                            const Xtbridge__SimSetPriceRequest *req) {
    brg_sim_t *self = backend->book;
    if (!req ||
        (!brg_sim_code_valid(req->stock_code) && !brg_sim_futures_code_valid(req->stock_code))) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT, "bad stock code '%.40s'",
                      req && req->stock_code ? req->stock_code : "");
        return BRG_CALL_DONE;
    }
    if (bad_price(req->last_price) || bad_price(req->pre_close)) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT,
                      "prices must be finite numbers from 0 to 100000000");
        return BRG_CALL_DONE;
    }
    if (req->liquidity < -1) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT,
                      "liquidity must be >= 0 (or -1 to keep)");
        return BRG_CALL_DONE;
    }
    brg_sim_quote_t *quote = brg_sim_market_quote(self->ctx.market, req->stock_code);
    if (!quote && req->last_price <= 0) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT,
                      "new code %s needs a last_price", req->stock_code);
        return BRG_CALL_DONE;
    }
    move_finish(backend); /* a move under way comes first */
    double last = req->last_price > 0 ? req->last_price : quote->last;
    double pre_close = req->pre_close > 0 ? req->pre_close : quote ? quote->pre_close : last;
    int64_t liquidity = req->liquidity >= 0 ? req->liquidity : quote ? quote->liquidity : 0;
    quote = brg_sim_market_set(self->ctx.market, req->stock_code,
                               quote ? quote->name : req->stock_code, pre_close, last, liquidity);
    char text[160];
    snprintf(text, sizeof text, "%s last %.2f pre_close %.2f", quote->code, quote->last,
             quote->pre_close);
    size_t at = quote_index(self->ctx.market, quote);
    return move_start(backend, call, XTBRIDGE__REPLY__RESULT_SIM_SET_PRICE, at, at + 1, text);
}

static int handle_tick(sim_backend_t *backend, brg_call_t *call,
                       const Xtbridge__SimTickRequest *req) {
    brg_sim_t *self = backend->book;
    const char *code = req && req->stock_code ? req->stock_code : "";
    double last_price = req ? req->last_price : 0;
    if (bad_price(last_price)) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT,
                      "last_price must be a finite number from 0 to 100000000");
        return BRG_CALL_DONE;
    }
    if (!*code) {
        if (last_price > 0) {
            brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT,
                          "last_price needs a stock_code");
            return BRG_CALL_DONE;
        }
        move_finish(backend);
        return move_start(backend, call, XTBRIDGE__REPLY__RESULT_SIM_TICK, 0,
                          brg_sim_market_size(self->ctx.market), "all codes");
    }
    if (!brg_sim_code_valid(code) && !brg_sim_futures_code_valid(code)) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT, "bad stock code '%.40s'", code);
        return BRG_CALL_DONE;
    }
    brg_sim_quote_t *quote = brg_sim_market_quote(self->ctx.market, code);
    if (!quote) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT, "unknown code %s", code);
        return BRG_CALL_DONE;
    }
    move_finish(backend);
    if (last_price > 0) {
        quote->last = last_price;
        brg_sim_market_touch(self->ctx.market, quote);
    }
    char text[160];
    snprintf(text, sizeof text, "%s last %.2f", quote->code, quote->last);
    size_t at = quote_index(self->ctx.market, quote);
    return move_start(backend, call, XTBRIDGE__REPLY__RESULT_SIM_TICK, at, at + 1, text);
}

/* The day is closed in every account: roll the pre-close, count the day. */
static void finish_day(brg_sim_t *self) {
    for (size_t i = 0; i < brg_sim_market_size(self->ctx.market); i++) {
        brg_sim_quote_t *quote = brg_sim_market_at(self->ctx.market, i);
        if (quote->pre_close != quote->last) {
            quote->pre_close = quote->last;
            brg_sim_market_touch(self->ctx.market, quote);
        }
    }
    self->trading_day++;
}

/* Run the close for at most `budget_us`; returns 1 while work is left, 0 when the day is
   closed. */
static int close_some(sim_backend_t *backend, int64_t budget_us) {
    brg_sim_t *self = backend->book;
    int64_t start = brg_stall_now_us();
    while (backend->close_account < self->naccounts) {
        sim_account_t *account = &self->accounts[backend->close_account];
        if (account->futures) {
            /* futures books are small: settled (at the last price) in one go */
            brg_sim_futures_next_day(account->futures);
            backend->close_account++;
        } else if (!brg_sim_stock_close_step(account->stock, CLOSE_CHUNK)) {
            if (account->credit)
                brg_sim_credit_next_day(account->credit); /* a day of interest */
            backend->close_account++;
        } else if (brg_sim_stock_close_deletes(account->stock) >= CLOSE_SLICE_DELETES)
            return 1; /* the slice's persist and commit have enough to do */
        if (brg_stall_now_us() - start >= budget_us)
            return backend->close_account < self->naccounts ? 1 : (finish_day(self), 0);
    }
    finish_day(self);
    return 0;
}

/* glibc keeps freed memory in its arenas; after a day close that freed hundreds of
   thousands of orders, hand what it can back to the kernel (other allocators return it
   on their own). */
static void trim_heap(void) {
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

static void close_done(sim_backend_t *backend) {
    brg_call_t *call = backend->close_call;
    backend->close_call = NULL;
    backend->close_account = 0;
    backend->close_trim = false;
    sim_reply(call, XTBRIDGE__REPLY__RESULT_SIM_NEXT_DAY,
              "next day: %zu orders and %zu trades cleared in %llu slices (longest %lld us)",
              backend->close_orders, backend->close_trades,
              (unsigned long long)backend->close_slices, (long long)backend->close_longest_us);
    brg_call_complete(call);
}

/* One slice of a day close, from the loop: its own store commit, its pushes published
   when it commits. The reply goes after the last slice, so a client that sees it sees
   the whole close. */
static int on_close_slice(zloop_t *loop, int timer, void *arg) {
    sim_backend_t *backend = (sim_backend_t *)arg;
    int64_t start = brg_stall_now_us();
    if (backend->close_trim) {
        /* the day's orders are freed: give the heap's free pages back to the system, in
           a loop turn of its own (it costs a few ms after a big day), then answer */
        trim_heap();
        brg_stall_note(start);
        zloop_timer_end(loop, timer);
        close_done(backend);
        return 0;
    }
    slice_begin(backend);
    int more = close_some(backend, CLOSE_SLICE_US);
    backend->close_slices++;
    int failed = slice_end(backend);
    brg_stall_note(start);
    if (brg_stall_now_us() - start > backend->close_longest_us)
        backend->close_longest_us = brg_stall_now_us() - start;
    if (failed) {
        /* the slice is lost: back to the last commit (the days's orders partly expired,
           the day not counted); the client may run the close again */
        zloop_timer_end(loop, timer);
        brg_call_t *call = backend->close_call;
        backend->close_call = NULL;
        backend->close_account = 0;
        if (sim_restore(backend))
            brg_error("sim: the book could not be reloaded after a failed day-close slice");
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__BACKEND_ERROR,
                      "the day close could not be stored after %llu slice(s); the book is as "
                      "of the last stored slice, run sim_next_day again",
                      (unsigned long long)backend->close_slices);
        brg_call_complete(call);
        return 0;
    }
    if (!more)
        backend->close_trim = true; /* the next turn trims and answers */
    return 0;
}

/* Close the day: at once without a loop (unit tests); on the bridge in slices from a
   loop timer, the call answered after the last one. */
static int handle_next_day(sim_backend_t *backend, brg_call_t *call) {
    brg_sim_t *self = backend->book;
    size_t orders = 0, trades = 0;
    for (size_t i = 0; i < self->naccounts; i++) {
        orders += account_orders(&self->accounts[i]);
        trades += account_trades(&self->accounts[i]);
    }
    if (!backend->loop) {
        for (size_t i = 0; i < self->naccounts; i++) {
            if (self->accounts[i].futures)
                brg_sim_futures_next_day(self->accounts[i].futures); /* at the last price */
            else
                brg_sim_stock_next_day(self->accounts[i].stock);
            if (self->accounts[i].credit)
                brg_sim_credit_next_day(self->accounts[i].credit); /* a day of interest */
        }
        finish_day(self);
        trim_heap();
        sim_reply(call, XTBRIDGE__REPLY__RESULT_SIM_NEXT_DAY,
                  "next day: %zu orders and %zu trades cleared at once", orders, trades);
        return BRG_CALL_DONE;
    }
    jobs_finish(backend); /* the close drops the items they are reading */
    move_finish(backend);
    backend->close_call = call;
    backend->close_account = 0;
    backend->close_slices = 0;
    backend->close_orders = orders;
    backend->close_trades = trades;
    backend->close_longest_us = 0;
    backend->close_timer = zloop_timer(backend->loop, 1, 0, on_close_slice, backend);
    if (backend->close_timer < 0) {
        backend->close_call = NULL;
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__BACKEND_ERROR,
                      "cannot schedule the day close on the loop");
        return BRG_CALL_DONE;
    }
    return BRG_CALL_PENDING;
}

/* While a day close runs, the book is half-closed: only calls that do not read or change
   it are served. */
static bool served_while_closing(Xtbridge__Request__BodyCase body) {
    return body == XTBRIDGE__REQUEST__BODY_SUBSCRIBE ||
           body == XTBRIDGE__REQUEST__BODY_UNSUBSCRIBE ||
           body == XTBRIDGE__REQUEST__BODY_SET_RELAXED_RESPONSE_ORDER_ENABLED ||
           body == XTBRIDGE__REQUEST__BODY_QUERY_ACCOUNT_INFOS ||
           body == XTBRIDGE__REQUEST__BODY_QUERY_ACCOUNT_STATUS ||
           body == XTBRIDGE__REQUEST__BODY_SIM_SET_SESSION;
}

static void handle_set_account_status(brg_sim_t *self, brg_call_t *call,
                                      const Xtbridge__SimSetAccountStatusRequest *req) {
    sim_account_t *account;
    if (resolve_account(self, call, req ? req->account : NULL, &account) != 0)
        return;
    if (!account) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT, "unknown account %s",
                      req->account->account_id);
        return;
    }
    if (req->status < -1 || req->status > 9) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT,
                      "unknown account status %d (-1..9)", req->status);
        return;
    }
    account->status = req->status;
    account->dirty = true;
    push_account_status(self, account);
    sim_reply(call, XTBRIDGE__REPLY__RESULT_SIM_SET_ACCOUNT_STATUS, "%s status %d", account->id,
              account->status);
}

/*  Drop or restore the session, as a terminal's session drops and comes back (§6.4):
    down publishes `disconnected.`, up publishes `connected.` and every account's status. */
static void handle_set_session(sim_backend_t *backend, brg_call_t *call,
                               const Xtbridge__SimSetSessionRequest *req) {
    brg_sim_t *self = backend->book;
    bool up = req && req->connected;
    if (up == !backend->session_down) {
        sim_reply(call, XTBRIDGE__REPLY__RESULT_SIM_SET_SESSION, "session already %s",
                  up ? "up" : "down");
        return;
    }
    backend->session_down = !up;
    Xtbridge__Event event = XTBRIDGE__EVENT__INIT;
    if (up) {
        Xtbridge__Connected msg = XTBRIDGE__CONNECTED__INIT;
        msg.backend = "sim";
        event.body_case = XTBRIDGE__EVENT__BODY_CONNECTED;
        event.connected = &msg;
        emit(self, "connected", NULL, &event);
        for (size_t i = 0; i < self->naccounts; i++)
            push_account_status(self, &self->accounts[i]);
    } else {
        Xtbridge__Disconnected msg = XTBRIDGE__DISCONNECTED__INIT;
        msg.reason = "sim session dropped by sim_set_session";
        event.body_case = XTBRIDGE__EVENT__BODY_DISCONNECTED;
        event.disconnected = &msg;
        emit(self, "disconnected", NULL, &event);
    }
    sim_reply(call, XTBRIDGE__REPLY__RESULT_SIM_SET_SESSION, "session %s", up ? "up" : "down");
}

/* --- futures statistics, IPO, export ------------------------------------------------ */

static void handle_position_statistics(brg_sim_t *self, brg_call_t *call,
                                       const Xtbridge__AccountRequest *req) {
    sim_account_t *account;
    if (resolve_account(self, call, req ? req->account : NULL, &account) != 0)
        return;
    Xtbridge__PositionStatisticsReply *r =
        (Xtbridge__PositionStatisticsReply *)brg_call_alloc(call, sizeof *r);
    xtbridge__position_statistics_reply__init(r);
    /* futures position statistics: a FUTURE account's; any other account has none */
    size_t count =
        account && account->futures ? brg_sim_futures_position_count(account->futures) : 0;
    r->statistics =
        (Xtbridge__XtPositionStatistics **)brg_call_alloc(call, (count + 1) * sizeof(void *));
    for (size_t i = 0; i < count; i++) {
        Xtbridge__XtPositionStatistics st;
        brg_sim_futures_statistics_at(account->futures, i, &st);
        r->statistics[r->n_statistics++] = (Xtbridge__XtPositionStatistics *)COPY(call, &st);
    }
    brg_call_reply(call)->result_case = XTBRIDGE__REPLY__RESULT_QUERY_POSITION_STATISTICS;
    brg_call_reply(call)->query_position_statistics = r;
}

/*  The sim's IPO calendar: what query_ipo_data lists on each sim trading day (day 0 is the
    vendor doc's example; purchaseDate counts from its 20220627). */
static const struct {
    int day;
    const char *code, *name, *type;
    int64_t min, max;
    double price;
} ipo_calendar[] = {
    {0, "754810.SH", "丰山发债", "BOND", 10, 10000, 100.0},
    {0, "301208.SZ", "中亦科技", "STOCK", 500, 16500, 46.06},
    {1, "787520.SH", "示例微电", "STOCK", 500, 4500, 32.50},
    {1, "001389.SZ", "示例电子", "STOCK", 500, 10000, 18.88},
    {2, "370660.SZ", "示例转债", "BOND", 10, 10000, 100.0},
};

static void handle_ipo_data(brg_sim_t *self, brg_call_t *call) {
    Xtbridge__IpoDataReply *r = (Xtbridge__IpoDataReply *)brg_call_alloc(call, sizeof *r);
    xtbridge__ipo_data_reply__init(r);
    size_t n = sizeof ipo_calendar / sizeof ipo_calendar[0];
    r->ipos = (Xtbridge__IpoInfo **)brg_call_alloc(call, (n + 1) * sizeof(void *));
    struct tm day = {.tm_year = 2022 - 1900, .tm_mon = 5, .tm_mday = 27 + self->trading_day};
    time_t t = brg_compat_timegm(&day); /* normalises the day count into a date */
    struct tm date;
    gmtime_r(&t, &date);
    char text[40];
    snprintf(text, sizeof text, "%04d%02d%02d", date.tm_year + 1900, date.tm_mon + 1, date.tm_mday);
    for (size_t i = 0; i < n; i++) {
        if (ipo_calendar[i].day != self->trading_day)
            continue;
        Xtbridge__IpoInfo *info = (Xtbridge__IpoInfo *)brg_call_alloc(call, sizeof *info);
        xtbridge__ipo_info__init(info);
        info->stock_code = brg_call_strdup(call, ipo_calendar[i].code);
        info->name = brg_call_strdup(call, ipo_calendar[i].name);
        info->type = brg_call_strdup(call, ipo_calendar[i].type);
        info->minpurchasenum = ipo_calendar[i].min;
        info->maxpurchasenum = ipo_calendar[i].max;
        info->purchasedate = brg_call_strdup(call, text);
        info->issueprice = ipo_calendar[i].price;
        r->ipos[r->n_ipos++] = info;
    }
    brg_call_reply(call)->result_case = XTBRIDGE__REPLY__RESULT_QUERY_IPO_DATA;
    brg_call_reply(call)->query_ipo_data = r;
}

/*  New-share quota from the holdings' market value (the exchanges' rule, on today's value
    instead of a 20-day average): SH 1,000 shares per 10,000 CNY of Shanghai holdings,
    KCB (STAR) 500 per 5,000 of the same, SZ 500 per 5,000 of Shenzhen holdings. Accounts
    without a stock book (FUTURE) have no quota: an empty dict. */
static void handle_purchase_limit(brg_sim_t *self, brg_call_t *call,
                                  const Xtbridge__AccountRequest *req) {
    sim_account_t *account;
    if (resolve_account(self, call, req ? req->account : NULL, &account) != 0)
        return;
    Xtbridge__NewPurchaseLimitReply *r =
        (Xtbridge__NewPurchaseLimitReply *)brg_call_alloc(call, sizeof *r);
    xtbridge__new_purchase_limit_reply__init(r);
    r->limits = (Xtbridge__PurchaseLimit **)brg_call_alloc(call, 4 * sizeof(void *));
    if (account && account->stock) {
        int64_t sh = 0, sz = 0; /* fen */
        for (size_t i = 0; i < brg_sim_stock_position_count(account->stock); i++) {
            Xtbridge__XtPosition p;
            brg_sim_stock_position_at(account->stock, i, &p);
            int market = brg_sim_code_market(p.stock_code);
            if (market == BRG_SIM_MARKET_SH)
                sh += brg_sim_to_fen(p.market_value);
            else if (market == BRG_SIM_MARKET_SZ)
                sz += brg_sim_to_fen(p.market_value);
        }
        const char *types[] = {"KCB", "SH", "SZ"};
        int64_t numbers[] = {sh / 500000 * 500, sh / 1000000 * 1000, sz / 500000 * 500};
        for (size_t i = 0; i < 3; i++) {
            Xtbridge__PurchaseLimit *l = (Xtbridge__PurchaseLimit *)brg_call_alloc(call, sizeof *l);
            xtbridge__purchase_limit__init(l);
            l->type = brg_call_strdup(call, types[i]);
            l->number = numbers[i];
            r->limits[r->n_limits++] = l;
        }
    }
    brg_call_reply(call)->result_case = XTBRIDGE__REPLY__RESULT_QUERY_NEW_PURCHASE_LIMIT;
    brg_call_reply(call)->query_new_purchase_limit = r;
}

static void export_rows(sim_account_t *account, FILE *out, int kind) {
    brg_sim_futures_t *fu = account->futures;
    brg_sim_stock_t *st = account->stock;
    if (kind == BRG_SIM_EXPORT_DEAL) {
        for (size_t i = 0; i < account_trades(account); i++) {
            Xtbridge__XtTrade t;
            account_trade_at(account, i, &t);
            brg_sim_export_trade(out, &t);
        }
    } else if (kind == BRG_SIM_EXPORT_ORDER) {
        for (size_t i = 0; i < account_orders(account); i++) {
            Xtbridge__XtOrder o;
            account_order_at(account, i, &o);
            brg_sim_export_order(out, &o);
        }
    } else {
        size_t n = fu ? brg_sim_futures_position_count(fu) : brg_sim_stock_position_count(st);
        for (size_t i = 0; i < n; i++) {
            Xtbridge__XtPosition p;
            if (fu)
                brg_sim_futures_position_at(fu, i, &p);
            else
                brg_sim_stock_position_at(st, i, &p);
            brg_sim_export_position(out, &p);
        }
    }
}

static void json_reply(brg_call_t *call, bool query, const char *json) {
    Xtbridge__JsonReply *r = (Xtbridge__JsonReply *)brg_call_alloc(call, sizeof *r);
    xtbridge__json_reply__init(r);
    r->json = brg_call_strdup(call, json);
    Xtbridge__Reply *reply = brg_call_reply(call);
    if (query) {
        reply->result_case = XTBRIDGE__REPLY__RESULT_QUERY_DATA;
        reply->query_data = r;
    } else {
        reply->result_case = XTBRIDGE__REPLY__RESULT_EXPORT_DATA;
        reply->export_data = r;
    }
}

/*  export_data / query_data: write the account's deals, orders or positions as CSV under
    <data dir>/export (only the file name of result_path counts); export answers
    {"msg": "export success: <path>"}, query the rows as JSON and removes the file. An
    unknown account gets the vendor's error dict. */
static void handle_export(sim_backend_t *backend, brg_call_t *call,
                          const Xtbridge__ExportDataRequest *req, bool query) {
    brg_sim_t *self = backend->book;
    sim_account_t *account;
    if (!req) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT, "missing request");
        return;
    }
    if (resolve_account(self, call, req->account, &account) != 0)
        return;
    int kind = brg_sim_export_kind(req->data_type);
    if (kind < 0) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT,
                      "data_type '%.40s' is not deal, order or position",
                      req->data_type ? req->data_type : "");
        return;
    }
    char name[160], err[400];
    if (brg_sim_export_file_name(req->result_path, name, sizeof name, err, sizeof err)) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT, "%s", err);
        return;
    }
    char json[1400], escaped[1100];
    if (!account) {
        snprintf(json, sizeof json,
                 "{\"error\": {\"errorMsg\": \"can not find account info, accountID:%.64s "
                 "accountType:%d\"}}",
                 req->account->account_id, request_account_type(req->account));
        json_reply(call, query, json);
        return;
    }
    if (!backend->data_dir) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__BACKEND_ERROR,
                      "this sim has no data directory to export into");
        return;
    }
    char path[1100];
    FILE *out = brg_sim_export_open(backend->data_dir, name, path, sizeof path, err, sizeof err);
    if (!out) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__BACKEND_ERROR, "%s", err);
        return;
    }
    brg_sim_export_header(out, (brg_sim_export_kind_t)kind);
    export_rows(account, out, kind);
    if (fclose(out) != 0) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__BACKEND_ERROR, "writing %s failed", path);
        return;
    }
    if (!query) {
        json_escape(path, escaped, sizeof escaped);
        snprintf(json, sizeof json, "{\"msg\": \"export success: %s\"}", escaped);
        json_reply(call, false, json);
        return;
    }
    char *rows = brg_sim_export_read_json(path, err, sizeof err);
    unlink(path); /* query_data reads the export and removes it */
    if (!rows) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__BACKEND_ERROR, "%s", err);
        return;
    }
    json_reply(call, true, rows);
    free(rows);
}

/* --- ops --------------------------------------------------------------------------- */

static bool sim_serves(void *handle, Xtbridge__Request__BodyCase body) {
    (void)handle;
    switch (body) {
    case XTBRIDGE__REQUEST__BODY_ORDER_STOCK:
    case XTBRIDGE__REQUEST__BODY_ORDER_STOCK_ASYNC:
    case XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK:
    case XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK_ASYNC:
    case XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK_SYSID:
    case XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK_SYSID_ASYNC:
    case XTBRIDGE__REQUEST__BODY_SUBSCRIBE:
    case XTBRIDGE__REQUEST__BODY_UNSUBSCRIBE:
    case XTBRIDGE__REQUEST__BODY_SET_RELAXED_RESPONSE_ORDER_ENABLED:
    case XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ASSET:
    case XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ORDER:
    case XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ORDERS:
    case XTBRIDGE__REQUEST__BODY_QUERY_STOCK_TRADES:
    case XTBRIDGE__REQUEST__BODY_QUERY_STOCK_POSITION:
    case XTBRIDGE__REQUEST__BODY_QUERY_STOCK_POSITIONS:
    case XTBRIDGE__REQUEST__BODY_QUERY_ACCOUNT_INFOS:
    case XTBRIDGE__REQUEST__BODY_QUERY_ACCOUNT_STATUS:
    case XTBRIDGE__REQUEST__BODY_SIM_SET_PRICE:
    case XTBRIDGE__REQUEST__BODY_SIM_TICK:
    case XTBRIDGE__REQUEST__BODY_SIM_NEXT_DAY:
    case XTBRIDGE__REQUEST__BODY_SIM_SET_ACCOUNT_STATUS:
    case XTBRIDGE__REQUEST__BODY_QUERY_CREDIT_DETAIL:
    case XTBRIDGE__REQUEST__BODY_QUERY_STK_COMPACTS:
    case XTBRIDGE__REQUEST__BODY_QUERY_CREDIT_SUBJECTS:
    case XTBRIDGE__REQUEST__BODY_QUERY_CREDIT_SLO_CODE:
    case XTBRIDGE__REQUEST__BODY_QUERY_CREDIT_ASSURE:
    case XTBRIDGE__REQUEST__BODY_FUND_TRANSFER:
    case XTBRIDGE__REQUEST__BODY_QUERY_COM_FUND:
    case XTBRIDGE__REQUEST__BODY_QUERY_COM_POSITION:
    case XTBRIDGE__REQUEST__BODY_SYNC_TRANSACTION_FROM_EXTERNAL:
    case XTBRIDGE__REQUEST__BODY_SMT_QUERY_QUOTER:
    case XTBRIDGE__REQUEST__BODY_SMT_NEGOTIATE_ORDER_ASYNC:
    case XTBRIDGE__REQUEST__BODY_SMT_QUERY_COMPACT:
    case XTBRIDGE__REQUEST__BODY_SIM_SET_SESSION:
    case XTBRIDGE__REQUEST__BODY_QUERY_POSITION_STATISTICS:
    case XTBRIDGE__REQUEST__BODY_QUERY_NEW_PURCHASE_LIMIT:
    case XTBRIDGE__REQUEST__BODY_QUERY_IPO_DATA:
    case XTBRIDGE__REQUEST__BODY_EXPORT_DATA:
    case XTBRIDGE__REQUEST__BODY_QUERY_DATA:
        return true;
    default:
        return false;
    }
}

static int sim_handle(void *handle, brg_call_t *call) {
    sim_backend_t *backend = (sim_backend_t *)handle;
    brg_sim_t *self = backend->book;
    const Xtbridge__Request *req = brg_call_request(call);
    if (!req) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__MALFORMED, "no request");
        return BRG_CALL_DONE;
    }
    /* session down: the terminal calls are not sent (as the xtquant backend); the sim_*
       admin calls still work, so a test can move prices or bring the session back */
    const char *name = brg_call_name(call);
    if (backend->session_down && !(name && strncmp(name, "sim_", 4) == 0)) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__NOT_CONNECTED,
                      "sim session is down (sim_set_session); %s was not sent", name);
        return BRG_CALL_DONE;
    }
    if (backend->close_call && !served_while_closing(req->body_case)) {
        size_t orders = 0, left = 0;
        for (size_t i = 0; i < self->naccounts; i++) {
            if (!self->accounts[i].stock)
                continue; /* futures accounts close in one step */
            orders += brg_sim_stock_order_count(self->accounts[i].stock);
            left += brg_sim_stock_close_left(self->accounts[i].stock);
        }
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__BUSY,
                      "%s: the day close (sim_next_day) is under way, %zu of %zu orders and "
                      "trades still to close; retry when it has answered",
                      brg_call_name(call), left, orders);
        return BRG_CALL_DONE;
    }
    switch (req->body_case) {
    case XTBRIDGE__REQUEST__BODY_ORDER_STOCK:
        handle_order(self, call, req->order_stock, false);
        break;
    case XTBRIDGE__REQUEST__BODY_ORDER_STOCK_ASYNC:
        handle_order(self, call, req->order_stock_async, true);
        break;
    case XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK:
        handle_cancel(self, call, req->cancel_order_stock, false);
        break;
    case XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK_ASYNC:
        handle_cancel(self, call, req->cancel_order_stock_async, true);
        break;
    case XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK_SYSID:
        handle_cancel_sysid(self, call, req->cancel_order_stock_sysid, false);
        break;
    case XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK_SYSID_ASYNC:
        handle_cancel_sysid(self, call, req->cancel_order_stock_sysid_async, true);
        break;
    case XTBRIDGE__REQUEST__BODY_SUBSCRIBE:
        handle_subscribe(self, call, req->subscribe, true);
        break;
    case XTBRIDGE__REQUEST__BODY_UNSUBSCRIBE:
        handle_subscribe(self, call, req->unsubscribe, false);
        break;
    case XTBRIDGE__REQUEST__BODY_SET_RELAXED_RESPONSE_ORDER_ENABLED: {
        /* read by the account classes when they push an async call's answer */
        self->ctx.relaxed_order = req->set_relaxed_response_order_enabled &&
                                  req->set_relaxed_response_order_enabled->enabled;
        Xtbridge__EmptyReply *r = (Xtbridge__EmptyReply *)brg_call_alloc(call, sizeof *r);
        xtbridge__empty_reply__init(r);
        brg_call_reply(call)->result_case =
            XTBRIDGE__REPLY__RESULT_SET_RELAXED_RESPONSE_ORDER_ENABLED;
        brg_call_reply(call)->set_relaxed_response_order_enabled = r;
        break;
    }
    case XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ASSET:
        handle_query_asset(self, call, req->query_stock_asset);
        break;
    case XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ORDER:
        handle_query_order(self, call, req->query_stock_order);
        break;
    case XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ORDERS:
    case XTBRIDGE__REQUEST__BODY_QUERY_STOCK_TRADES: {
        bool trades = req->body_case == XTBRIDGE__REQUEST__BODY_QUERY_STOCK_TRADES;
        int rc = list_start(backend, call, trades);
        if (rc >= 0)
            return rc;
        if (trades)
            handle_query_trades(self, call, req->query_stock_trades);
        else
            handle_query_orders(self, call, req->query_stock_orders);
        break;
    }
    case XTBRIDGE__REQUEST__BODY_QUERY_STOCK_POSITION:
        handle_query_position(self, call, req->query_stock_position);
        break;
    case XTBRIDGE__REQUEST__BODY_QUERY_STOCK_POSITIONS:
        handle_query_positions(self, call, req->query_stock_positions);
        break;
    case XTBRIDGE__REQUEST__BODY_QUERY_ACCOUNT_INFOS:
        handle_account_infos(self, call);
        break;
    case XTBRIDGE__REQUEST__BODY_QUERY_ACCOUNT_STATUS:
        handle_account_status(self, call);
        break;
    case XTBRIDGE__REQUEST__BODY_SIM_SET_PRICE:
        return handle_set_price(backend, call, req->sim_set_price);
    case XTBRIDGE__REQUEST__BODY_SIM_TICK:
        return handle_tick(backend, call, req->sim_tick);
    case XTBRIDGE__REQUEST__BODY_SIM_NEXT_DAY:
        return handle_next_day(backend, call);
    case XTBRIDGE__REQUEST__BODY_SIM_SET_ACCOUNT_STATUS:
        handle_set_account_status(self, call, req->sim_set_account_status);
        break;
    case XTBRIDGE__REQUEST__BODY_QUERY_CREDIT_DETAIL:
        handle_credit_detail(self, call, req->query_credit_detail);
        break;
    case XTBRIDGE__REQUEST__BODY_QUERY_STK_COMPACTS:
        handle_stk_compacts(self, call, req->query_stk_compacts);
        break;
    case XTBRIDGE__REQUEST__BODY_QUERY_CREDIT_SUBJECTS:
        handle_credit_table(self, call, req->query_credit_subjects,
                            XTBRIDGE__REPLY__RESULT_QUERY_CREDIT_SUBJECTS);
        break;
    case XTBRIDGE__REQUEST__BODY_QUERY_CREDIT_SLO_CODE:
        handle_credit_table(self, call, req->query_credit_slo_code,
                            XTBRIDGE__REPLY__RESULT_QUERY_CREDIT_SLO_CODE);
        break;
    case XTBRIDGE__REQUEST__BODY_QUERY_CREDIT_ASSURE:
        handle_credit_table(self, call, req->query_credit_assure,
                            XTBRIDGE__REPLY__RESULT_QUERY_CREDIT_ASSURE);
        break;
    case XTBRIDGE__REQUEST__BODY_FUND_TRANSFER:
        handle_fund_transfer(self, call, req->fund_transfer);
        break;
    case XTBRIDGE__REQUEST__BODY_QUERY_COM_FUND:
        handle_com_fund(self, call, req->query_com_fund);
        break;
    case XTBRIDGE__REQUEST__BODY_QUERY_COM_POSITION:
        handle_com_position(self, call, req->query_com_position);
        break;
    case XTBRIDGE__REQUEST__BODY_SYNC_TRANSACTION_FROM_EXTERNAL:
        handle_sync_external(self, call, req->sync_transaction_from_external);
        break;
    case XTBRIDGE__REQUEST__BODY_SMT_QUERY_QUOTER:
        handle_smt_quoter(self, call, req->smt_query_quoter);
        break;
    case XTBRIDGE__REQUEST__BODY_SMT_NEGOTIATE_ORDER_ASYNC:
        handle_smt_negotiate(self, call, req->smt_negotiate_order_async);
        break;
    case XTBRIDGE__REQUEST__BODY_SMT_QUERY_COMPACT:
        handle_smt_compact(self, call, req->smt_query_compact);
        break;
    case XTBRIDGE__REQUEST__BODY_SIM_SET_SESSION:
        handle_set_session(backend, call, req->sim_set_session);
        break;
    case XTBRIDGE__REQUEST__BODY_QUERY_POSITION_STATISTICS:
        handle_position_statistics(self, call, req->query_position_statistics);
        break;
    case XTBRIDGE__REQUEST__BODY_QUERY_NEW_PURCHASE_LIMIT:
        handle_purchase_limit(self, call, req->query_new_purchase_limit);
        break;
    case XTBRIDGE__REQUEST__BODY_QUERY_IPO_DATA:
        handle_ipo_data(self, call);
        break;
    case XTBRIDGE__REQUEST__BODY_EXPORT_DATA:
        handle_export((sim_backend_t *)handle, call, req->export_data, false);
        break;
    case XTBRIDGE__REQUEST__BODY_QUERY_DATA:
        handle_export((sim_backend_t *)handle, call, req->query_data, true);
        break;
    default:
        /* the router checks serves() first; this guards direct callers */
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__UNKNOWN_CALL, "sim does not serve %s",
                      brg_call_name(call));
        break;
    }
    return BRG_CALL_DONE;
}

static void sim_describe(void *handle, brg_call_t *call, Xtbridge__HelloReply *hello) {
    brg_sim_t *self = ((sim_backend_t *)handle)->book;
    hello->backend_connected = !((sim_backend_t *)handle)->session_down; /* sim_set_session */
    hello->accounts =
        (Xtbridge__Account **)brg_call_alloc(call, (self->naccounts + 1) * sizeof(void *));
    hello->n_accounts = 0;
    for (size_t i = 0; i < self->naccounts; i++) {
        Xtbridge__Account *account = (Xtbridge__Account *)brg_call_alloc(call, sizeof *account);
        xtbridge__account__init(account);
        account->account_id = brg_call_strdup(call, self->accounts[i].id);
        account->account_type = self->accounts[i].type;
        hello->accounts[hello->n_accounts++] = account;
    }
}

/* The risk module's notional: a futures lot is multiplier x price (stock codes: 0 = 1). */
static int64_t sim_multiplier(void *self, const char *code) {
    (void)self;
    return brg_sim_futures_code_multiplier(code);
}

const brg_backend_ops_t brg_sim_ops = {
    .name = "sim",
    .create = sim_create,
    .destroy = sim_destroy,
    .start = sim_start,
    .serves = sim_serves,
    .handle = sim_handle,
    .describe = sim_describe,
    .persist = sim_persist,
    .restore = sim_restore,
    .multiplier = sim_multiplier,
};
