/*  brg_risk.c - pre-trade risk limits and the kill switch (see brg_risk.h).

    Comparisons are exact where money is concerned: a notional is compared in cents
    (rounded), so an order of exactly max_notional passes and one cent more does not. Every
    limit is "at most": volume <= max_order_volume, notional <= max_notional, open orders
    after this one <= max_open_orders, orders in any 1000 ms window <= max_orders_per_second.
*/
#include "brg_risk.h"

#include "brg_idset.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "brg_log.h"

#define KILL_PREFIX "bridge/risk/kill/"
#define KILL_ALL_KEY KILL_PREFIX "*"
#define RATE_WINDOW_MS 1000

enum { BOARD_SH_MAIN = 1, BOARD_SZ_MAIN = 2, BOARD_CHINEXT = 4, BOARD_STAR = 8, BOARD_BJ = 16 };

static const struct {
    const char *name;
    unsigned bit;
} boards[] = {{"SH_MAIN", BOARD_SH_MAIN},
              {"SZ_MAIN", BOARD_SZ_MAIN},
              {"CHINEXT", BOARD_CHINEXT},
              {"STAR", BOARD_STAR},
              {"BJ", BOARD_BJ}};

/* One `account` or `default` entry. 0 / empty = no such limit. */
typedef struct {
    char *id;
    int64_t max_order_volume;
    double max_notional;
    int64_t max_notional_cents;
    int64_t max_orders_per_second;
    int64_t max_open_orders;
    char **codes;
    size_t ncodes;
    unsigned boards;
    bool restrict_codes; /* allowed_codes or allowed_boards was given */
} limits_t;

/* What the bridge knows of one account at run time. */
typedef struct {
    char id[128];
    int32_t account_type; /* from its order pushes, for synthesized cancels */
    const limits_t *limits;
    brg_idset_t *open; /* ids of the orders still working */
    int64_t *stamps;   /* ring of the accepted orders' times in the last window */
    size_t head, count, capacity;
    bool killed;
} account_t;

struct brg_risk {
    limits_t *entries; /* configured accounts */
    size_t nentries;
    limits_t *fallback; /* `default`, or NULL */
    zhash_t *accounts;  /* id -> account_t */
    bool kill_all;
    bool dirty; /* pushes were dropped: rebuild the open orders before the next check */
    brg_risk_clock_fn *clock;
    void *clock_arg;
    const brg_backend_ops_t *ops;
    void *backend;
    brg_store_t *store;
};

static int64_t mono_ms(void *arg) {
    (void)arg;
    return zclock_mono();
}

/* ---------------------------------------------------------------------------------- */
/* Config */

static void limits_free(limits_t *l) {
    free(l->id);
    for (size_t i = 0; i < l->ncodes; i++)
        free(l->codes[i]);
    free(l->codes);
}

static int parse_int(const char *where, const char *key, const char *value, int64_t *out, char *err,
                     size_t errlen) {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (!*value || errno || *end || v <= 0) {
        snprintf(err, errlen, "risk: %s: %s '%s' is not a positive integer", where, key, value);
        return -1;
    }
    *out = v;
    return 0;
}

/* Split a comma list; each item trimmed and non-empty. */
static int parse_list(const char *where, const char *key, const char *value, char ***items,
                      size_t *n, char *err, size_t errlen) {
    char *copy = strdup(value);
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ' || *tok == '\t')
            tok++;
        size_t len = strlen(tok);
        while (len && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
            tok[--len] = 0;
        if (!len)
            continue;
        *items = (char **)realloc(*items, (*n + 1) * sizeof(char *));
        (*items)[(*n)++] = strdup(tok);
    }
    free(copy);
    if (*n == 0) {
        snprintf(err, errlen, "risk: %s: %s is empty (give at least one)", where, key);
        return -1;
    }
    return 0;
}

static int parse_entry(zconfig_t *node, bool is_default, limits_t *l, char *err, size_t errlen) {
    memset(l, 0, sizeof *l);
    const char *id = zconfig_get(node, "id", NULL);
    if (!is_default && (!id || !*id)) {
        snprintf(err, errlen, "risk: an account entry has no id");
        return -1;
    }
    if (is_default && id) {
        snprintf(err, errlen,
                 "risk: default: 'id' is not allowed here (default is for "
                 "accounts not listed)");
        return -1;
    }
    char where[160];
    snprintf(where, sizeof where, is_default ? "default" : "account %s", id);
    l->id = strdup(is_default ? "" : id);
    for (zconfig_t *c = zconfig_child(node); c; c = zconfig_next(c)) {
        const char *key = zconfig_name(c);
        const char *value = zconfig_value(c) ? zconfig_value(c) : "";
        int rc = 0;
        if (strcmp(key, "id") == 0)
            continue;
        else if (strcmp(key, "max_order_volume") == 0)
            rc = parse_int(where, key, value, &l->max_order_volume, err, errlen);
        else if (strcmp(key, "max_orders_per_second") == 0)
            rc = parse_int(where, key, value, &l->max_orders_per_second, err, errlen);
        else if (strcmp(key, "max_open_orders") == 0)
            rc = parse_int(where, key, value, &l->max_open_orders, err, errlen);
        else if (strcmp(key, "max_notional") == 0) {
            char *end = NULL;
            errno = 0;
            double v = strtod(value, &end);
            if (!*value || errno || *end || !isfinite(v) || v <= 0 || v > 1e15) {
                snprintf(err, errlen, "risk: %s: max_notional '%s' is not a positive amount", where,
                         value);
                rc = -1;
            } else {
                l->max_notional = v;
                l->max_notional_cents = llround(v * 100.0);
            }
        } else if (strcmp(key, "allowed_codes") == 0) {
            rc = parse_list(where, key, value, &l->codes, &l->ncodes, err, errlen);
            l->restrict_codes = true;
        } else if (strcmp(key, "allowed_boards") == 0) {
            char **names = NULL;
            size_t n = 0;
            rc = parse_list(where, key, value, &names, &n, err, errlen);
            for (size_t i = 0; i < n; i++) {
                unsigned bit = 0;
                for (size_t b = 0; b < sizeof boards / sizeof boards[0]; b++)
                    if (strcasecmp(names[i], boards[b].name) == 0)
                        bit = boards[b].bit;
                if (!bit && rc == 0) {
                    snprintf(err, errlen,
                             "risk: %s: allowed_boards: unknown board '%s' (have SH_MAIN, "
                             "SZ_MAIN, CHINEXT, STAR, BJ)",
                             where, names[i]);
                    rc = -1;
                }
                l->boards |= bit;
                free(names[i]);
            }
            free(names);
            l->restrict_codes = true;
        } else {
            snprintf(err, errlen,
                     "risk: %s: unknown setting '%s' (have max_order_volume, max_notional, "
                     "max_orders_per_second, max_open_orders, allowed_codes, allowed_boards)",
                     where, key);
            rc = -1;
        }
        if (rc)
            return -1;
    }
    return 0;
}

static void account_free(void *p) {
    account_t *a = (account_t *)p;
    brg_idset_destroy(&a->open);
    free(a->stamps);
    free(a);
}

brg_risk_t *brg_risk_new(zconfig_t *config, char *err, size_t errlen) {
    brg_risk_t *self = (brg_risk_t *)zmalloc(sizeof(brg_risk_t));
    self->accounts = zhash_new();
    self->clock = mono_ms;
    zconfig_t *section = config ? zconfig_locate(config, "risk") : NULL;
    for (zconfig_t *c = section ? zconfig_child(section) : NULL; c; c = zconfig_next(c)) {
        const char *name = zconfig_name(c);
        bool is_default = strcmp(name, "default") == 0;
        if (!is_default && strcmp(name, "account") != 0) {
            snprintf(err, errlen, "risk: unknown entry '%s' (have account, default)", name);
            brg_risk_destroy(&self);
            return NULL;
        }
        if (is_default && self->fallback) {
            snprintf(err, errlen, "risk: default is given twice");
            brg_risk_destroy(&self);
            return NULL;
        }
        limits_t l;
        if (parse_entry(c, is_default, &l, err, errlen)) {
            limits_free(&l);
            brg_risk_destroy(&self);
            return NULL;
        }
        if (is_default) {
            self->fallback = (limits_t *)zmalloc(sizeof(limits_t));
            *self->fallback = l;
            continue;
        }
        for (size_t i = 0; i < self->nentries; i++)
            if (strcmp(self->entries[i].id, l.id) == 0) {
                snprintf(err, errlen, "risk: account %s is given twice", l.id);
                limits_free(&l);
                brg_risk_destroy(&self);
                return NULL;
            }
        self->entries = (limits_t *)realloc(self->entries, (self->nentries + 1) * sizeof(limits_t));
        self->entries[self->nentries++] = l;
    }
    return self;
}

void brg_risk_destroy(brg_risk_t **self_p) {
    if (!self_p || !*self_p)
        return;
    brg_risk_t *self = *self_p;
    for (size_t i = 0; i < self->nentries; i++)
        limits_free(&self->entries[i]);
    free(self->entries);
    if (self->fallback)
        limits_free(self->fallback);
    free(self->fallback);
    zhash_destroy(&self->accounts);
    free(self);
    *self_p = NULL;
}

void brg_risk_set_clock(brg_risk_t *self, brg_risk_clock_fn *clock, void *arg) {
    self->clock = clock ? clock : mono_ms;
    self->clock_arg = arg;
}

void brg_risk_attach(brg_risk_t *self, const brg_backend_ops_t *ops, void *backend,
                     brg_store_t *store) {
    self->ops = ops;
    self->backend = backend;
    self->store = store;
}

/* ---------------------------------------------------------------------------------- */
/* Accounts */

static const limits_t *limits_of(brg_risk_t *self, const char *id) {
    for (size_t i = 0; i < self->nentries; i++)
        if (strcmp(self->entries[i].id, id) == 0)
            return &self->entries[i];
    return NULL;
}

static account_t *account_get(brg_risk_t *self, const char *id) {
    account_t *a = (account_t *)zhash_lookup(self->accounts, id);
    if (a)
        return a;
    a = (account_t *)zmalloc(sizeof(account_t));
    snprintf(a->id, sizeof a->id, "%s", id);
    a->account_type = 2; /* STOCK until a push says otherwise */
    a->open = brg_idset_new();
    a->limits = limits_of(self, id);
    if (!a->limits)
        a->limits = self->fallback;
    zhash_insert(self->accounts, id, a);
    zhash_freefn(self->accounts, id, account_free);
    return a;
}

static bool status_open(int32_t status) {
    /* unreported, wait reporting, reported, partly filled: still working at the exchange.
       51/52 (cancel requested) are on their way out. */
    return status == 48 || status == 49 || status == 50 || status == 55;
}

static void observe_order(brg_risk_t *self, const char *account_id, const Xtbridge__XtOrder *o) {
    const char *id = o->account_id && *o->account_id ? o->account_id : account_id;
    if (!id || !*id)
        return;
    account_t *a = account_get(self, id);
    if (o->account_type)
        a->account_type = o->account_type;
    if (status_open(o->order_status))
        brg_idset_add(a->open, o->order_id);
    else
        brg_idset_remove(a->open, o->order_id);
}

void brg_risk_tap_fn(void *arg, const char *kind, const char *account_id,
                     const Xtbridge__Event *event) {
    brg_risk_t *self = (brg_risk_t *)arg;
    if (!event) {
        /* a batch's events were dropped: what we counted from them may not have happened */
        self->dirty = true;
        return;
    }
    (void)kind;
    if (event->body_case == XTBRIDGE__EVENT__BODY_ORDER && event->order)
        observe_order(self, account_id, event->order);
}

size_t brg_risk_open_orders(brg_risk_t *self, const char *account_id) {
    account_t *a = (account_t *)zhash_lookup(self->accounts, account_id);
    return a ? brg_idset_size(a->open) : 0;
}

bool brg_risk_killed(brg_risk_t *self, const char *account_id) {
    if (self->kill_all)
        return true;
    account_t *a = (account_t *)zhash_lookup(self->accounts, account_id);
    return a && a->killed;
}

/* ---------------------------------------------------------------------------------- */
/* Calls the bridge makes to the backend itself */

/* A call the backend can own like any other: the request is packed and decoded into the
   call's own memory, as the router does with a client's. */
static brg_call_t *synth_call(const Xtbridge__Request *req) {
    size_t size = xtbridge__request__get_packed_size(req);
    uint8_t *buf = (uint8_t *)malloc(size ? size : 1);
    if (!buf)
        abort();
    xtbridge__request__pack(req, buf);
    brg_call_t *call = brg_call_decode(buf, size, "bridge:risk");
    free(buf);
    if (!call)
        abort(); /* we just packed it */
    return call;
}

/* The backend's answer to query_stock_orders: it is the truth about open orders. */
static void snapshot_done(brg_call_t *call, void *arg) {
    brg_risk_t *self = (brg_risk_t *)arg;
    const Xtbridge__Request *req = brg_call_request(call);
    Xtbridge__Reply *reply = brg_call_reply(call);
    const char *id = req->query_stock_orders->account->account_id;
    if (reply->error->code != XTBRIDGE__ERROR_CODE__OK ||
        reply->result_case != XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ORDERS) {
        brg_warn("risk: cannot rebuild open orders of %s: %s", id,
                 reply->error->message ? reply->error->message : "no orders in the reply");
    } else {
        account_t *a = account_get(self, id);
        brg_idset_clear(a->open);
        for (size_t i = 0; i < reply->query_stock_orders->n_orders; i++)
            observe_order(self, id, reply->query_stock_orders->orders[i]);
        brg_debug("risk: %s has %zu open orders", id, brg_idset_size(a->open));
    }
    brg_call_destroy(&call);
}

static void load_kills(brg_risk_t *self);

void brg_risk_resync(brg_risk_t *self) {
    self->dirty = false;
    load_kills(self);
    if (!self->ops || !self->backend || !self->ops->describe ||
        !self->ops->serves(self->backend, XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ORDERS))
        return;
    Xtbridge__Request hreq = XTBRIDGE__REQUEST__INIT;
    Xtbridge__HelloRequest hbody = XTBRIDGE__HELLO_REQUEST__INIT;
    hreq.request_id = (char *)"risk-resync";
    hreq.body_case = XTBRIDGE__REQUEST__BODY_HELLO;
    hreq.hello = &hbody;
    brg_call_t *hcall = synth_call(&hreq);
    Xtbridge__HelloReply hello = XTBRIDGE__HELLO_REPLY__INIT;
    self->ops->describe(self->backend, hcall, &hello);
    for (size_t i = 0; i < hello.n_accounts; i++) {
        Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
        Xtbridge__QueryStockOrdersRequest body = XTBRIDGE__QUERY_STOCK_ORDERS_REQUEST__INIT;
        req.request_id = (char *)"risk-resync";
        req.body_case = XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ORDERS;
        req.query_stock_orders = &body;
        body.account = hello.accounts[i];
        brg_call_t *call = synth_call(&req);
        brg_call_set_done(call, snapshot_done, self);
        /* a backend that answers later completes it through snapshot_done */
        if (self->ops->handle(self->backend, call) == BRG_CALL_DONE)
            snapshot_done(call, self);
    }
    brg_call_destroy(&hcall);
}

typedef struct {
    int sent, failed;
} cancels_t;

static void cancel_done(brg_call_t *call, void *arg) {
    (void)arg;
    Xtbridge__Reply *reply = brg_call_reply(call);
    if (reply->error->code != XTBRIDGE__ERROR_CODE__OK)
        brg_warn("risk: kill switch cancel failed: %s", reply->error->message);
    brg_call_destroy(&call);
}

static void cancel_open(brg_risk_t *self, account_t *a, cancels_t *n) {
    if (!self->ops || !self->backend ||
        !self->ops->serves(self->backend, XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK))
        return;
    /* the cancels' own pushes change the set: walk a copy */
    size_t count;
    int64_t *ids = brg_idset_members(a->open, &count);
    for (size_t i = 0; i < count; i++) {
        Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
        Xtbridge__CancelOrderStockRequest body = XTBRIDGE__CANCEL_ORDER_STOCK_REQUEST__INIT;
        Xtbridge__Account account = XTBRIDGE__ACCOUNT__INIT;
        account.account_id = a->id;
        account.account_type = a->account_type;
        body.account = &account;
        body.order_id = ids[i];
        req.request_id = (char *)"risk-kill-switch";
        req.body_case = XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK;
        req.cancel_order_stock = &body;
        brg_call_t *call = synth_call(&req);
        brg_call_set_done(call, cancel_done, self);
        if (self->ops->handle(self->backend, call) == BRG_CALL_PENDING) {
            n->sent++; /* the backend answers later; cancel_done logs a failure */
            continue;
        }
        Xtbridge__Reply *reply = brg_call_reply(call);
        bool ok = reply->error->code == XTBRIDGE__ERROR_CODE__OK &&
                  reply->result_case == XTBRIDGE__REPLY__RESULT_CANCEL_ORDER_STOCK &&
                  reply->cancel_order_stock->result == 0;
        if (ok)
            n->sent++;
        else {
            n->failed++;
            brg_warn("risk: kill switch could not cancel order %lld of %s: %s", (long long)ids[i],
                     a->id, reply->error->code ? reply->error->message : "backend answered -1");
        }
        brg_call_destroy(&call);
    }
    free(ids);
}

/* ---------------------------------------------------------------------------------- */
/* Kill switch */

static int kill_scan(void *arg, const void *key, size_t klen, const void *val, size_t vlen) {
    (void)val;
    (void)vlen;
    brg_risk_t *self = (brg_risk_t *)arg;
    size_t plen = strlen(KILL_PREFIX);
    char id[128];
    size_t n = klen - plen < sizeof id - 1 ? klen - plen : sizeof id - 1;
    memcpy(id, (const char *)key + plen, n);
    id[n] = 0;
    if (strcmp(id, "*") == 0)
        self->kill_all = true;
    else
        account_get(self, id)->killed = true;
    return 0;
}

static void load_kills(brg_risk_t *self) {
    if (!self->store)
        return;
    self->kill_all = false;
    for (account_t *a = (account_t *)zhash_first(self->accounts); a;
         a = (account_t *)zhash_next(self->accounts))
        a->killed = false;
    if (brg_store_state_scan(self->store, KILL_PREFIX, strlen(KILL_PREFIX), kill_scan, self) < 0)
        brg_error("risk: cannot read the kill switches: %s", brg_store_error(self->store));
}

static int kill_store(brg_risk_t *self, const char *id, bool engaged) {
    if (!self->store)
        return 0;
    char key[200];
    int klen = snprintf(key, sizeof key, "%s%s", KILL_PREFIX, *id ? id : "*");
    if (klen <= 0 || (size_t)klen >= sizeof key)
        return -1;
    if (engaged)
        return brg_store_state_put(self->store, key, (size_t)klen, "1", 1);
    uint8_t *val = NULL;
    size_t vlen = 0;
    int found = brg_store_state_get(self->store, key, (size_t)klen, &val, &vlen);
    free(val);
    if (found <= 0)
        return found;
    return brg_store_state_del(self->store, key, (size_t)klen);
}

void brg_risk_kill_switch(brg_risk_t *self, brg_call_t *call) {
    if (self->dirty)
        brg_risk_resync(self);
    const Xtbridge__RiskKillSwitchRequest *req = brg_call_request(call)->risk_kill_switch;
    const char *id = req->account && req->account->account_id ? req->account->account_id : "";
    if (strlen(id) >= sizeof(((account_t *)0)->id)) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT,
                      "account_id of %zu bytes is too long", strlen(id));
        return;
    }
    int rc = 0;
    cancels_t n = {0, 0};
    if (*id) {
        account_t *a = account_get(self, id);
        a->killed = req->engaged;
        rc = kill_store(self, id, req->engaged);
        if (req->engaged && req->cancel_open)
            cancel_open(self, a, &n);
    } else {
        self->kill_all = req->engaged;
        rc = kill_store(self, "", req->engaged);
        for (account_t *a = (account_t *)zhash_first(self->accounts); a && !req->engaged;
             a = (account_t *)zhash_next(self->accounts)) {
            if (a->killed && kill_store(self, a->id, false))
                rc = -1;
            a->killed = false;
        }
        if (req->engaged && req->cancel_open) {
            /* cancel_open adds no accounts, so the hash is not changed while we walk it */
            zlist_t *ids = zhash_keys(self->accounts);
            for (char *key = (char *)zlist_first(ids); key; key = (char *)zlist_next(ids))
                cancel_open(self, (account_t *)zhash_lookup(self->accounts, key), &n);
            zlist_destroy(&ids);
        }
    }
    brg_info("risk: kill switch %s for %s (%d cancels sent, %d failed)",
             req->engaged ? "engaged" : "lifted", *id ? id : "all accounts", n.sent, n.failed);
    if (rc) {
        brg_call_fail(call, XTBRIDGE__ERROR_CODE__BACKEND_ERROR,
                      "kill switch is %s in memory but could not be stored: %s",
                      req->engaged ? "engaged" : "lifted",
                      self->store ? brg_store_error(self->store) : "no store");
        return;
    }
    Xtbridge__RiskKillSwitchReply *body =
        (Xtbridge__RiskKillSwitchReply *)brg_call_alloc(call, sizeof *body);
    xtbridge__risk_kill_switch_reply__init(body);
    body->all_engaged = self->kill_all;
    body->engaged_accounts =
        (char **)brg_call_alloc(call, sizeof(char *) * (zhash_size(self->accounts) + 1));
    for (account_t *a = (account_t *)zhash_first(self->accounts); a;
         a = (account_t *)zhash_next(self->accounts))
        if (a->killed)
            body->engaged_accounts[body->n_engaged_accounts++] = brg_call_strdup(call, a->id);
    body->cancels_sent = n.sent;
    body->cancels_failed = n.failed;
    Xtbridge__Reply *reply = brg_call_reply(call);
    reply->result_case = XTBRIDGE__REPLY__RESULT_RISK_KILL_SWITCH;
    reply->risk_kill_switch = body;
}

/* ---------------------------------------------------------------------------------- */
/* Rules */

const char *brg_risk_board(const char *code) {
    if (!code)
        return NULL;
    size_t len = strlen(code);
    if (len < 4)
        return NULL;
    const char *suffix = code + len - 3;
    if (strcasecmp(suffix, ".BJ") == 0)
        return "BJ";
    if (strcasecmp(suffix, ".SH") == 0) {
        if (strncmp(code, "688", 3) == 0 || strncmp(code, "689", 3) == 0)
            return "STAR";
        if (strncmp(code, "60", 2) == 0)
            return "SH_MAIN";
        return NULL;
    }
    if (strcasecmp(suffix, ".SZ") == 0) {
        if (strncmp(code, "300", 3) == 0 || strncmp(code, "301", 3) == 0)
            return "CHINEXT";
        if (strncmp(code, "000", 3) == 0 || strncmp(code, "001", 3) == 0 ||
            strncmp(code, "002", 3) == 0 || strncmp(code, "003", 3) == 0)
            return "SZ_MAIN";
    }
    return NULL;
}

static bool code_allowed(const limits_t *l, const char *code) {
    for (size_t i = 0; i < l->ncodes; i++)
        if (strcasecmp(l->codes[i], code) == 0)
            return true;
    const char *board = brg_risk_board(code);
    for (size_t b = 0; board && b < sizeof boards / sizeof boards[0]; b++)
        if ((l->boards & boards[b].bit) && strcmp(boards[b].name, board) == 0)
            return true;
    return false;
}

/* A price as the client wrote it: cents, or more digits when it has them. */
static const char *fmt_price(char *buf, size_t len, double price) {
    double cents = price * 100.0;
    snprintf(buf, len, fabs(cents - round(cents)) < 1e-6 ? "%.2f" : "%.4f", price);
    return buf;
}

Xtbridge__ErrorCode brg_risk_check(brg_risk_t *self, const char *account_id, const char *stock_code,
                                   int64_t volume, double price, char *msg, size_t msglen) {
    if (self->dirty)
        brg_risk_resync(self);
    /* No record for an account without limits that we never heard of: a client naming
       made-up accounts must not grow our memory. */
    account_t *a = (account_t *)zhash_lookup(self->accounts, account_id);
    if (!a && !self->fallback && !limits_of(self, account_id)) {
        if (!self->kill_all)
            return XTBRIDGE__ERROR_CODE__OK;
        snprintf(msg, msglen, "kill switch engaged (all accounts)");
        return XTBRIDGE__ERROR_CODE__RISK_REJECTED;
    }
    if (!a)
        a = account_get(self, account_id);
    if (self->kill_all || a->killed) {
        snprintf(msg, msglen, "kill switch engaged (%s)",
                 self->kill_all ? "all accounts" : account_id);
        return XTBRIDGE__ERROR_CODE__RISK_REJECTED;
    }
    const limits_t *l = a->limits;
    if (!l)
        return XTBRIDGE__ERROR_CODE__OK;
    const char *code = stock_code ? stock_code : "";
    if (l->restrict_codes && !code_allowed(l, code)) {
        const char *board = brg_risk_board(code);
        snprintf(msg, msglen, "allowed_codes/allowed_boards: '%s' (board %s) is not allowed", code,
                 board ? board : "none");
        return XTBRIDGE__ERROR_CODE__RISK_REJECTED;
    }
    if (l->max_order_volume && volume > l->max_order_volume) {
        snprintf(msg, msglen, "max_order_volume %lld exceeded: order_volume %lld",
                 (long long)l->max_order_volume, (long long)volume);
        return XTBRIDGE__ERROR_CODE__RISK_REJECTED;
    }
    if (l->max_notional_cents) {
        char p[64];
        if (!(price > 0) || !isfinite(price)) {
            /* a market order has no price to bound it: refuse rather than guess */
            snprintf(msg, msglen, "max_notional %.2f needs a limit price: price %s",
                     l->max_notional, fmt_price(p, sizeof p, price));
            return XTBRIDGE__ERROR_CODE__RISK_REJECTED;
        }
        /* a futures lot is worth price x multiplier (IF: 300 yuan a point) */
        int64_t mult = self->ops && self->ops->multiplier && code[0]
                           ? self->ops->multiplier(self->backend, code)
                           : 0;
        if (mult < 1)
            mult = 1;
        long double notional = (long double)price * (long double)volume * (long double)mult;
        if (llroundl(notional * 100.0L) > l->max_notional_cents) {
            char times[48] = "";
            if (mult > 1)
                snprintf(times, sizeof times, " x %lld", (long long)mult);
            snprintf(msg, msglen, "max_notional %.2f exceeded: %s x %lld%s = %.2Lf",
                     l->max_notional, fmt_price(p, sizeof p, price), (long long)volume, times,
                     notional);
            return XTBRIDGE__ERROR_CODE__RISK_REJECTED;
        }
    }
    if (l->max_open_orders && (int64_t)brg_idset_size(a->open) >= l->max_open_orders) {
        snprintf(msg, msglen, "max_open_orders %lld reached: %zu orders open",
                 (long long)l->max_open_orders, brg_idset_size(a->open));
        return XTBRIDGE__ERROR_CODE__RISK_REJECTED;
    }
    if (l->max_orders_per_second) {
        int64_t now = self->clock(self->clock_arg);
        if (a->capacity != (size_t)l->max_orders_per_second) {
            free(a->stamps);
            a->capacity = (size_t)l->max_orders_per_second;
            a->stamps = (int64_t *)calloc(a->capacity, sizeof(int64_t));
            if (!a->stamps)
                abort();
            a->head = a->count = 0;
        }
        /* sliding window: an order at t counts until t + 1000 ms */
        while (a->count && a->stamps[a->head] <= now - RATE_WINDOW_MS) {
            a->head = (a->head + 1) % a->capacity;
            a->count--;
        }
        if (a->count >= a->capacity) {
            snprintf(msg, msglen,
                     "max_orders_per_second %lld exceeded: %zu orders in the last %d ms",
                     (long long)l->max_orders_per_second, a->count, RATE_WINDOW_MS);
            return XTBRIDGE__ERROR_CODE__RATE_LIMITED;
        }
        a->stamps[(a->head + a->count) % a->capacity] = now;
        a->count++;
    }
    return XTBRIDGE__ERROR_CODE__OK;
}

bool brg_risk_is_order_call(Xtbridge__Request__BodyCase body) {
    return body == XTBRIDGE__REQUEST__BODY_ORDER_STOCK ||
           body == XTBRIDGE__REQUEST__BODY_ORDER_STOCK_ASYNC;
}

int brg_risk_check_call(brg_risk_t *self, brg_call_t *call) {
    const Xtbridge__Request *req = brg_call_request(call);
    if (!brg_risk_is_order_call(req->body_case))
        return 0;
    const Xtbridge__OrderStockRequest *o = req->body_case == XTBRIDGE__REQUEST__BODY_ORDER_STOCK
                                               ? req->order_stock
                                               : req->order_stock_async;
    /* no account: the backend answers INVALID_ARGUMENT naming what is missing */
    if (!o || !o->account || !o->account->account_id || !*o->account->account_id ||
        strlen(o->account->account_id) >= sizeof(((account_t *)0)->id))
        return 0;
    char msg[320];
    Xtbridge__ErrorCode code = brg_risk_check(self, o->account->account_id, o->stock_code,
                                              o->order_volume, o->price, msg, sizeof msg);
    if (code == XTBRIDGE__ERROR_CODE__OK)
        return 0;
    brg_info("risk: %s '%s' of %s rejected: %s", brg_call_name(call), req->request_id,
             o->account->account_id, msg);
    brg_call_fail(call, code, "%s", msg);
    return -1;
}
