/*  test_sim_stock.c - unit tests of brg_sim_stock_t on its own, without the backend: a
    book built on a bare brg_sim_ctx_t (market + counters + counting emit), to check the
    class contract the backend relies on: add_position validation, shared id counters
    across books, snapshots, match with a shared liquidity budget, and destroy; and its
    persistence against a real store: persist writes only what changed (a record tampered
    in the store stays tampered until its order changes again) and the day close deletes
    the day's order and trade records and rewrites the settled positions.
*/
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "brg_sim_stock.h"
#include "brg_store.h"
#include "testutil.h"

static int emitted;

static int count_emit(void *arg, const char *kind, const char *account_id, Xtbridge__Event *event) {
    (void)arg;
    (void)kind;
    (void)account_id;
    (void)event;
    emitted++;
    return 0;
}

static brg_sim_ctx_t ctx;

static void setup(void) {
    memset(&ctx, 0, sizeof ctx);
    ctx.emit = count_emit;
    ctx.market = brg_sim_market_new();
    ctx.next_order_id = 1;
    ctx.next_trade_id = 1;
    emitted = 0;
}

static void teardown(void) {
    brg_sim_market_destroy(&ctx.market);
}

TestSuite(sim_stock, .init = setup, .fini = teardown);

static brg_sim_order_args_t args(const char *code, int type, int64_t volume, double price) {
    brg_sim_order_args_t a = {.stock_code = code,
                              .order_type = type,
                              .order_volume = volume,
                              .price_type = BRG_SIM_FIX_PRICE,
                              .price = price};
    return a;
}

Test(sim_stock, add_position_validation) {
    brg_sim_stock_t *book = brg_sim_stock_new(&ctx, "A", 1000);
    cr_assert_str_eq(brg_sim_stock_account_id(book), "A");
    cr_assert_eq(brg_sim_stock_add_position(book, "601398.SH", 100, 5), -1); /* no price */
    cr_assert_eq(brg_sim_stock_add_position(book, "600000.SH", -1, 5), -1);
    cr_assert_eq(brg_sim_stock_add_position(book, "600000.SH", 100, -5), -1);
    cr_assert_eq(brg_sim_stock_add_position(book, "600000.SH", 100, 10), 0);
    cr_assert_eq(brg_sim_stock_add_position(book, "600000.SH", 100, 11), 0);
    Xtbridge__XtPosition p;
    cr_assert(brg_sim_stock_position_get(book, "600000.SH", &p));
    cr_assert_eq(p.volume, 200);
    cr_assert_eq(p.can_use_volume, 200);
    cr_assert_eq(p.yesterday_volume, 200);
    cr_assert_float_eq(p.avg_price, 10.5, 1e-9);
    cr_assert_float_eq(p.market_value, 2120.0, 1e-9);
    cr_assert_eq(brg_sim_stock_position_count(book), 1);
    cr_assert_not(brg_sim_stock_position_get(book, NULL, &p));
    brg_sim_stock_destroy(&book);
    cr_assert_null(book);
    brg_sim_stock_destroy(&book); /* NULL is fine */
    cr_assert_eq(emitted, 0);
}

Test(sim_stock, books_share_ids_and_liquidity) {
    brg_sim_stock_t *a = brg_sim_stock_new(&ctx, "A", 100000);
    brg_sim_stock_t *b = brg_sim_stock_new(&ctx, "B", 100000);
    brg_sim_order_args_t o = args("600000.SH", BRG_SIM_STOCK_BUY, 500, 10.50);
    cr_assert_eq(brg_sim_stock_order(a, &o), 1);
    cr_assert_eq(brg_sim_stock_order(b, &o), 2);
    cr_assert_eq(brg_sim_stock_order(a, &o), 3);
    cr_assert_eq(emitted, 9); /* 48, 50 and the asset (freeze) for each */

    brg_sim_quote_t *q = brg_sim_market_quote(ctx.market, "600000.SH");
    q->last = 10.40;
    int64_t left = 700;
    /* time priority within the book: order 1 takes 500, order 3 the remaining 200 */
    cr_assert_eq(brg_sim_stock_match(a, q, &left), 2);
    cr_assert_eq(left, 0);
    Xtbridge__XtOrder order;
    cr_assert(brg_sim_stock_order_get(a, 1, &order));
    cr_assert_eq(order.order_status, 56);
    cr_assert(brg_sim_stock_order_get(a, 3, &order));
    cr_assert_eq(order.order_status, 55);
    cr_assert_eq(order.traded_volume, 200);
    cr_assert_not(brg_sim_stock_order_get(a, 2, &order)); /* b's */
    left = INT64_MAX;
    cr_assert_eq(brg_sim_stock_match(b, q, &left), 1);
    cr_assert_eq(brg_sim_stock_match(a, q, &left), 1);
    cr_assert_eq(brg_sim_stock_trade_count(a), 3);
    Xtbridge__XtTrade trade;
    brg_sim_stock_trade_at(a, 2, &trade);
    cr_assert_eq(trade.order_id, 3);
    cr_assert_eq(trade.traded_volume, 300);
    cr_assert_str_neq(trade.traded_id, "");
    Xtbridge__XtAsset asset;
    brg_sim_stock_asset(a, &asset);
    cr_assert_float_eq(asset.frozen_cash, 0, 1e-9);
    cr_assert_float_eq(asset.market_value, 10400.00, 1e-9);
    /* 5250 + 5.05 for each order: commission is per order, so order 3's two fills
       (2100 + 5.00 + 0.02, then 3150 + 0.03) pay the 5 CNY minimum once */
    cr_assert_float_eq(asset.cash, 100000 - 10510.10, 1e-6);

    /* the day close drops nothing held, resets T+1 */
    brg_sim_stock_next_day(a);
    cr_assert_eq(brg_sim_stock_order_count(a), 0);
    cr_assert_eq(brg_sim_stock_trade_count(a), 0);
    Xtbridge__XtPosition p;
    brg_sim_stock_position_at(a, 0, &p);
    cr_assert_eq(p.can_use_volume, 1000);
    brg_sim_stock_destroy(&a);
    brg_sim_stock_destroy(&b);
}

/* Found in review: the freeze held the 5 CNY minimum once but every fill paid it, so
   four fills took cash to -15.00. */
Test(sim_stock, cash_never_negative_min_commission_per_order) {
    /* 1000 @ 10.00 = 10000 + commission 5.00 (2.50 < the minimum) + transfer fee 0.10 */
    brg_sim_stock_t *a = brg_sim_stock_new(&ctx, "A", 10005.10);
    brg_sim_quote_t *q = brg_sim_market_set(ctx.market, "600000.SH", NULL, 10.00, 10.00, 300);
    cr_assert_not_null(q);
    brg_sim_order_args_t o = args("600000.SH", BRG_SIM_STOCK_BUY, 1000, 10.00);
    int64_t id = brg_sim_stock_order(a, &o);
    Xtbridge__XtAsset asset;
    Xtbridge__XtOrder order;
    brg_sim_stock_asset(a, &asset);
    cr_assert_float_eq(asset.cash, 0, 1e-9);
    cr_assert_float_eq(asset.frozen_cash, 7000.07, 1e-9, "%.2f",
                       asset.frozen_cash); /* 300 filled at entry */
    for (int pass = 0; pass < 3; pass++) {
        int64_t left = q->liquidity;
        cr_assert_eq(brg_sim_stock_match(a, q, &left), 1);
        brg_sim_stock_asset(a, &asset);
        cr_assert_geq(asset.cash, 0, "pass %d: cash %.2f", pass, asset.cash);
    }
    cr_assert(brg_sim_stock_order_get(a, id, &order));
    cr_assert_eq(order.order_status, 56);
    cr_assert_eq(order.traded_volume, 1000);
    brg_sim_stock_asset(a, &asset);
    cr_assert_float_eq(asset.cash, 0, 1e-9, "%.2f", asset.cash);
    cr_assert_float_eq(asset.frozen_cash, 0, 1e-9);
    cr_assert_eq(brg_sim_stock_trade_count(a), 4);
    Xtbridge__XtTrade t;
    double fees[4] = {5.03, 0.03, 0.03, 0.01}; /* 5 once; transfer 0.03 0.03 0.03 0.01 */
    double total = 0;
    for (size_t i = 0; i < 4; i++) {
        brg_sim_stock_trade_at(a, i, &t);
        cr_assert_float_eq(t.commission, fees[i], 1e-9, "fill %zu: %.2f", i, t.commission);
        total += t.traded_amount + t.commission;
    }
    cr_assert_float_eq(total, 10005.10, 1e-6);
    brg_sim_stock_destroy(&a);
}

Test(sim_stock, match_ignores_other_codes_and_finished_orders) {
    brg_sim_stock_t *a = brg_sim_stock_new(&ctx, "A", 100000);
    brg_sim_order_args_t o = args("600000.SH", BRG_SIM_STOCK_BUY, 100, 10.50);
    int64_t id = brg_sim_stock_order(a, &o);
    cr_assert_eq(brg_sim_stock_cancel(a, id, 0), 0);
    brg_sim_quote_t *q = brg_sim_market_quote(ctx.market, "600000.SH");
    q->last = 10.00;
    int64_t left = INT64_MAX;
    cr_assert_eq(brg_sim_stock_match(a, q, &left), 0);
    o.stock_code = "000001.SZ";
    brg_sim_stock_order(a, &o);
    cr_assert_eq(brg_sim_stock_match(a, q, &left), 0);
    cr_assert_eq(left, INT64_MAX);
    cr_assert(brg_sim_order_status_open(50));
    cr_assert(brg_sim_order_status_open(55));
    cr_assert_not(brg_sim_order_status_open(56));
    cr_assert_not(brg_sim_order_status_open(57));
    brg_sim_stock_destroy(&a);
}

/* ---- persistence --------------------------------------------------------------------- */

static int count_kv(void *arg, const void *key, size_t klen, const void *val, size_t vlen) {
    (void)key;
    (void)klen;
    (void)val;
    (void)vlen;
    (*(int *)arg)++;
    return 0;
}

static int count_prefix(brg_store_t *store, const char *prefix) {
    int n = 0;
    cr_assert_eq(brg_store_state_scan(store, prefix, strlen(prefix), count_kv, &n), n);
    return n;
}

/* The stored value under `key` (malloc'd, *len set), or NULL. */
static uint8_t *get(brg_store_t *store, const uint8_t *key, size_t klen, size_t *len) {
    uint8_t *val = NULL;
    int rc = brg_store_state_get(store, key, klen, &val, len);
    cr_assert_geq(rc, 0);
    return rc ? val : NULL;
}

static Xtbridge__State__SimOrder *stored_order(brg_store_t *store, int64_t id) {
    uint8_t key[BRG_SIM_KEY_MAX];
    size_t len = 0;
    uint8_t *val = get(store, key, brg_sim_key_id(key, BRG_SIM_KEY_ORDER, id), &len);
    cr_assert_not_null(val, "order %lld not stored", (long long)id);
    Xtbridge__State__SimOrder *o = xtbridge__state__sim_order__unpack(NULL, len, val);
    free(val);
    cr_assert_not_null(o);
    return o;
}

static void persist_commit(brg_store_t *store, brg_sim_stock_t *book) {
    cr_assert_eq(brg_store_begin(store), 0);
    cr_assert_eq(brg_sim_stock_persist(book, store), 0);
    cr_assert_eq(brg_store_commit(store), 0, "%s", brg_store_error(store));
}

Test(sim_stock, persist_writes_only_what_changed) {
    char dir[128], err[256] = "";
    snprintf(dir, sizeof dir, "%s/xtbt-simstock-%d", xtbt_tmpdir(), getpid());
    cr_assert_eq(zsys_dir_create("%s", dir), 0);
    brg_store_t *store = brg_store_new(dir, NULL, err, sizeof err);
    cr_assert_not_null(store, "%s", err);

    brg_sim_stock_t *a = brg_sim_stock_new(&ctx, "A", 100000);
    cr_assert(brg_sim_stock_take_account_dirty(a)); /* a new account must be written */
    cr_assert_not(brg_sim_stock_take_account_dirty(a));
    cr_assert_eq(brg_sim_stock_add_position(a, "600000.SH", 1000, 10), 0);
    brg_sim_order_args_t rest = args("600000.SH", BRG_SIM_STOCK_BUY, 100, 10.00);
    brg_sim_order_args_t fill = args("000001.SZ", BRG_SIM_STOCK_BUY, 200, 11.00);
    brg_sim_order_args_t sell = args("600000.SH", BRG_SIM_STOCK_SELL, 300, 10.80);
    cr_assert_eq(brg_sim_stock_order(a, &rest), 1);
    cr_assert_eq(brg_sim_stock_order(a, &fill), 2);
    cr_assert_eq(brg_sim_stock_order(a, &sell), 3);
    cr_assert(brg_sim_stock_take_account_dirty(a));
    persist_commit(store, a);
    cr_assert_eq(count_prefix(store, BRG_SIM_KEY_ORDER), 3);
    cr_assert_eq(count_prefix(store, BRG_SIM_KEY_TRADE), 1);
    cr_assert_eq(count_prefix(store, BRG_SIM_KEY_POSITION), 2);
    Xtbridge__State__SimOrder *o = stored_order(store, 2);
    cr_assert_eq(o->status, 56);
    cr_assert_eq(o->traded, 200);
    cr_assert_str_eq(o->account_id, "A");
    cr_assert_str_eq(o->strategy, "");
    cr_assert_eq(o->freeze_left_fen, 0);
    cr_assert_eq(o->traded_amount_fen, 220000); /* money is stored in fen */
    xtbridge__state__sim_order__free_unpacked(o, NULL);

    /* tamper with order 1's and the 600000.SH position's records: a persist that rewrote
       unchanged records would repair them */
    uint8_t k1[BRG_SIM_KEY_MAX], kp[BRG_SIM_KEY_MAX];
    size_t k1len = brg_sim_key_id(k1, BRG_SIM_KEY_ORDER, 1);
    size_t kplen = brg_sim_key_str(kp, BRG_SIM_KEY_POSITION, "A", "600000.SH");
    cr_assert_eq(kplen, strlen("p/A") + 1 + strlen("600000.SH"));
    cr_assert_eq(brg_store_state_put(store, k1, k1len, "tampered", 8), 0);
    cr_assert_eq(brg_store_state_put(store, kp, kplen, "tampered", 8), 0);
    brg_sim_order_args_t other = args("000002.SZ", BRG_SIM_STOCK_BUY, 100, 6.90);
    cr_assert_eq(brg_sim_stock_order(a, &other), 4);
    persist_commit(store, a);
    size_t len = 0;
    uint8_t *val = get(store, k1, k1len, &len);
    cr_assert(len == 8 && memcmp(val, "tampered", 8) == 0, "order 1 was rewritten");
    free(val);
    val = get(store, kp, kplen, &len);
    cr_assert(len == 8 && memcmp(val, "tampered", 8) == 0, "the position was rewritten");
    free(val);
    o = stored_order(store, 4);
    cr_assert_eq(o->status, 50);
    cr_assert_eq(o->freeze_fen, 69501); /* 690 + 5.00 + 0.01 */
    cr_assert_eq(o->freeze_left_fen, 69501);
    cr_assert_float_eq(o->freeze, 0, 0, "format 2 writes no yuan doubles");
    xtbridge__state__sim_order__free_unpacked(o, NULL);

    /* a cancel of the sell rewrites that order and the position it releases */
    cr_assert_eq(brg_sim_stock_cancel(a, 3, 0), 0);
    persist_commit(store, a);
    val = get(store, k1, k1len, &len);
    cr_assert(len == 8 && memcmp(val, "tampered", 8) == 0);
    free(val);
    val = get(store, kp, kplen, &len);
    Xtbridge__State__SimPosition *p = xtbridge__state__sim_position__unpack(NULL, len, val);
    free(val);
    cr_assert_not_null(p);
    cr_assert_eq(p->can_use, 1000);
    cr_assert_eq(p->frozen, 0);
    xtbridge__state__sim_position__free_unpacked(p, NULL);

    /* the day close: every order and trade record goes, positions are settled */
    brg_sim_stock_next_day(a);
    persist_commit(store, a);
    cr_assert_eq(count_prefix(store, BRG_SIM_KEY_ORDER), 0);
    cr_assert_eq(count_prefix(store, BRG_SIM_KEY_TRADE), 0);
    cr_assert_eq(count_prefix(store, BRG_SIM_KEY_POSITION), 2);
    kplen = brg_sim_key_str(kp, BRG_SIM_KEY_POSITION, "A", "000001.SZ");
    val = get(store, kp, kplen, &len);
    p = xtbridge__state__sim_position__unpack(NULL, len, val);
    free(val);
    cr_assert_not_null(p);
    cr_assert_eq(p->volume, 200);
    cr_assert_eq(p->can_use, 200);
    cr_assert_eq(p->yesterday, 200);
    cr_assert_eq(p->ord, 1); /* created after 600000.SH */
    xtbridge__state__sim_position__free_unpacked(p, NULL);

    brg_sim_stock_destroy(&a);
    brg_store_destroy(&store);
    char path[256];
    const char *files[] = {"data.mdb", "lock.mdb", "data.wal", "xtbridge.lock"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    cr_assert_eq(rmdir(dir), 0, "unexpected files left in %s", dir);
}

/* ---- terminal fidelity ----------------------------------------------------------------
   What a real MiniQMT terminal does where its doc is silent or says otherwise, and what
   open-source gateways written against terminals rely on (docs/protocol.md §6.5). The
   facts, copied here from the vendor's code table (xtconstant "as returned by queries and
   pushes") and from such gateways:
   - XtOrder.price_type is the counter's code (EBrokerPriceType), not the value sent:
     FIX_PRICE 11 -> 50; 44 -> 84, 43 -> 85, 45 -> 86, 46 -> 87, 42 and 47 -> 88,
     48 -> 89; vn.py's xt gateway keeps only order pushes with 50 (limit) or 88 (market).
   - one order: on_order_stock_async_response first, then on_stock_order 48 (unreported),
     50 (reported); fills: on_stock_trade, then the order at 55 (part) / 56 (all); a cancel:
     51 (reported, cancel pending) then 54; no 49 for an order the counter took at once.
   - order_time and traded_time are epoch seconds; order_sysid and traded_id are strings;
     order_remark (the gateway's local order id) comes back unchanged in every push and
     query, including order_error. */

enum { MAX_RECS = 64 };
static struct {
    char kind[24];
    Xtbridge__Event *event;
} recs[MAX_RECS];
static int nrecs;

static int record_emit(void *arg, const char *kind, const char *account_id,
                       Xtbridge__Event *event) {
    (void)arg;
    (void)account_id;
    cr_assert_lt(nrecs, MAX_RECS);
    snprintf(recs[nrecs].kind, sizeof recs[nrecs].kind, "%s", kind);
    /* the event is borrowed: keep a copy */
    size_t len = xtbridge__event__get_packed_size(event);
    uint8_t *buf = malloc(len ? len : 1);
    xtbridge__event__pack(event, buf);
    recs[nrecs].event = xtbridge__event__unpack(NULL, len, buf);
    free(buf);
    nrecs++;
    return 0;
}

static void clear_recs(void) {
    for (int i = 0; i < nrecs; i++)
        xtbridge__event__free_unpacked(recs[i].event, NULL);
    nrecs = 0;
}

static void fidelity_setup(void) {
    setup();
    ctx.emit = record_emit;
    nrecs = 0;
}

static void fidelity_teardown(void) {
    clear_recs();
    teardown();
}

/* "kind[:status],..." of the pushes recorded from index `from` */
static void expect_pushes(int from, const char *want) {
    char got[512] = "";
    for (int i = from; i < nrecs; i++) {
        char one[48];
        if (recs[i].event->body_case == XTBRIDGE__EVENT__BODY_ORDER)
            snprintf(one, sizeof one, "%s%s:%d", i > from ? "," : "", recs[i].kind,
                     recs[i].event->order->order_status);
        else
            snprintf(one, sizeof one, "%s%s", i > from ? "," : "", recs[i].kind);
        strncat(got, one, sizeof got - strlen(got) - 1);
    }
    cr_assert_str_eq(got, want);
}

static bool all_digits(const char *s) {
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

Test(sim_stock, fidelity_price_type_is_the_counter_code, .init = fidelity_setup,
     .fini = fidelity_teardown) {
    const int32_t sent[] = {11, 5, 42, 43, 44, 45, 46, 47, 48};
    const int32_t reported[] = {50, 50, 88, 85, 84, 86, 87, 88, 89};
    for (size_t i = 0; i < sizeof sent / sizeof sent[0]; i++)
        cr_assert_eq(brg_sim_broker_price_type(sent[i]), reported[i], "sent %d", sent[i]);
    cr_assert_eq(brg_sim_broker_price_type(3), 3); /* not a stock price type: as sent */

    brg_sim_stock_t *a = brg_sim_stock_new(&ctx, "A", 10000000);
    const struct {
        const char *code;
        int32_t sent, reported, status;
    } cases[] = {
        {"600000.SH", 11, 50, 50}, /* rests below the last price 10.60 */
        {"600000.SH", 5, 50, 56},  /* priced at the last price: a limit order that fills */
        {"600000.SH", 42, 88, 56}, {"600000.SH", 43, 85, 56}, {"000001.SZ", 44, 84, 56},
        {"000001.SZ", 45, 86, 56}, {"000001.SZ", 46, 87, 56}, {"000001.SZ", 47, 88, 56},
        {"000001.SZ", 48, 89, 56}, {"000001.SZ", 42, 88, 57}, /* junk ("not supported on SZ"): still
                                                                 the counter code */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        brg_sim_order_args_t o = args(cases[i].code, BRG_SIM_STOCK_BUY, 100, 10.50);
        o.price_type = cases[i].sent;
        int from = nrecs;
        int64_t id = brg_sim_stock_order(a, &o);
        /* every order push of it, and the query, report the counter code */
        int orders = 0;
        for (int k = from; k < nrecs; k++) {
            if (recs[k].event->body_case != XTBRIDGE__EVENT__BODY_ORDER)
                continue;
            orders++;
            cr_assert_eq(recs[k].event->order->price_type, cases[i].reported, "case %zu", i);
            cr_assert_eq(recs[k].event->order->requested_price_type, cases[i].sent);
        }
        cr_assert_geq(orders, 1);
        Xtbridge__XtOrder q;
        cr_assert(brg_sim_stock_order_get(a, id, &q));
        cr_assert_eq(q.order_status, cases[i].status, "case %zu: %s", i, q.status_msg);
        cr_assert_eq(q.price_type, cases[i].reported);
        cr_assert_eq(q.requested_price_type, cases[i].sent);
    }
    cr_assert_eq(brg_sim_stock_order_count(a), 10);
    brg_sim_stock_destroy(&a);
}

Test(sim_stock, fidelity_pushes_of_one_order_times_ids_and_remark, .init = fidelity_setup,
     .fini = fidelity_teardown) {
    const char *local_id = "1113020455000001"; /* a gateway's 16-digit local order id */
    brg_sim_stock_t *a = brg_sim_stock_new(&ctx, "A", 100000);
    int64_t t0 = (int64_t)time(NULL);
    brg_sim_order_args_t o = args("600000.SH", BRG_SIM_STOCK_BUY, 1000, 10.50);
    o.order_remark = local_id;
    o.strategy_name = "gw";
    o.seq = 7;
    int64_t id = brg_sim_stock_order(a, &o);
    /* the async response first, then 48 -> 50 (never 49), then the freeze */
    expect_pushes(0, "order_async,order:48,order:50,asset");
    Xtbridge__XtOrderResponse *resp = recs[0].event->order_async;
    cr_assert_eq(resp->seq, 7);
    cr_assert_eq(resp->order_id, id);
    cr_assert_str_eq(resp->order_remark, local_id);
    Xtbridge__XtOrder *pushed = recs[2].event->order;
    cr_assert_str_eq(pushed->order_remark, local_id);
    cr_assert_str_eq(pushed->strategy_name, "gw");
    /* order_sysid: the counter's contract number, a string of digits, not the order id */
    char id_text[24];
    snprintf(id_text, sizeof id_text, "%lld", (long long)id);
    cr_assert(all_digits(pushed->order_sysid), "%s", pushed->order_sysid);
    cr_assert_str_neq(pushed->order_sysid, id_text);
    char sysid[24];
    snprintf(sysid, sizeof sysid, "%s", pushed->order_sysid);

    /* two fills: trade, then the order at 55 / 56 (then the holdings) */
    brg_sim_quote_t *q = brg_sim_market_quote(ctx.market, "600000.SH");
    q->last = 10.40;
    int from = nrecs;
    int64_t left = 400;
    cr_assert_eq(brg_sim_stock_match(a, q, &left), 1);
    left = INT64_MAX;
    cr_assert_eq(brg_sim_stock_match(a, q, &left), 1);
    int64_t t1 = (int64_t)time(NULL);
    expect_pushes(from, "trade,order:55,position,asset,trade,order:56,position,asset");
    Xtbridge__XtTrade *t = recs[from].event->trade;
    Xtbridge__XtTrade *t2 = recs[from + 4].event->trade;
    cr_assert_str_eq(t->order_remark, local_id);
    cr_assert_str_eq(t->order_sysid, sysid);
    cr_assert(all_digits(t->traded_id) && all_digits(t2->traded_id));
    cr_assert_str_neq(t->traded_id, t2->traded_id);
    cr_assert_eq(recs[from + 1].event->order->traded_volume, 400);
    cr_assert_eq(recs[from + 5].event->order->traded_volume, 1000);
    /* epoch seconds (milliseconds would be ~1000 times larger) */
    cr_assert(pushed->order_time >= t0 && pushed->order_time <= t1, "%lld",
              (long long)pushed->order_time);
    cr_assert(t->traded_time >= t0 && t->traded_time <= t1, "%lld", (long long)t->traded_time);
    Xtbridge__XtTrade qt;
    brg_sim_stock_trade_at(a, 1, &qt);
    cr_assert_str_eq(qt.order_remark, local_id);
    cr_assert_str_eq(qt.traded_id, t2->traded_id);

    /* cancel by sysid, async: the response, 51, 54, then the released freeze */
    o.order_remark = "1113020455000002";
    o.seq = 8;
    o.price = 10.00;
    int64_t id2 = brg_sim_stock_order(a, &o);
    Xtbridge__XtOrder q2;
    cr_assert(brg_sim_stock_order_get(a, id2, &q2));
    snprintf(sysid, sizeof sysid, "%s", q2.order_sysid);
    from = nrecs;
    cr_assert_eq(brg_sim_stock_cancel_sysid(a, BRG_SIM_MARKET_SH, sysid, 9), 0);
    expect_pushes(from, "cancel_async,order:51,order:54,asset");
    cr_assert_eq(recs[from].event->cancel_async->seq, 9);
    cr_assert_eq(recs[from].event->cancel_async->cancel_result, 0);
    cr_assert_str_eq(recs[from].event->cancel_async->order_sysid, sysid);
    cr_assert_str_eq(recs[from + 2].event->order->order_remark, "1113020455000002");

    /* a rejection: the response, the order at 57, order_error carrying the remark */
    o.order_remark = "1113020455000003";
    o.order_volume = 150;
    o.seq = 10;
    from = nrecs;
    brg_sim_stock_order(a, &o);
    expect_pushes(from, "order_async,order:57,order_error");
    Xtbridge__XtOrderError *err = recs[from + 2].event->order_error;
    cr_assert_str_eq(err->order_remark, "1113020455000003");
    cr_assert_eq(err->error_id, -61);
    cr_assert_eq(err->seq, 10);
    brg_sim_stock_destroy(&a);
}

/* --- memory per open order ----------------------------------------------------------- */

/* Bytes the allocator has handed out now: ASan's own count under the sanitizer build
   (user bytes), glibc's in-use chunk bytes otherwise (headers and rounding included). */
#if defined(__SANITIZE_ADDRESS__)
/* libasan's interface (its header is not packaged on every distribution) */
size_t __sanitizer_get_current_allocated_bytes(void);
static size_t heap_in_use(void) {
    return __sanitizer_get_current_allocated_bytes();
}
#define HEAP_CHUNK_OVERHEAD 0
#else
#include <malloc.h>
static size_t heap_in_use(void) {
    return mallinfo2().uordblks;
}
#define HEAP_CHUNK_OVERHEAD 24 /* glibc: 8-byte header, 16-byte rounding */
#endif

Test(sim_stock, bytes_per_open_order_and_returned_at_day_close) {
    enum { N = 100000 };
    brg_sim_stock_t *book = brg_sim_stock_new(&ctx, "A", 1e12);
    /* warm up: the code, name and strategy strings are pooled by the first order */
    brg_sim_order_args_t o = args("600000.SH", BRG_SIM_STOCK_BUY, 100, 10.00);
    o.strategy_name = "bench";
    o.order_remark = "r";
    brg_sim_stock_order(book, &o);
    size_t before = heap_in_use(), blocks_before = brg_sim_stock_order_block_bytes(book);
    for (int i = 1; i < N; i++)
        cr_assert_gt(brg_sim_stock_order(book, &o), 0);
    size_t after = heap_in_use(), blocks = brg_sim_stock_order_block_bytes(book);
    Xtbridge__XtOrder check;
    cr_assert(brg_sim_stock_order_get(book, N, &check));
    cr_assert_eq(check.order_status, 50); /* resting: all N are open */
    cr_assert_str_eq(check.order_sysid, "20100000");
    cr_assert_str_eq(check.order_remark, "r");
    cr_assert_str_eq(check.strategy_name, "bench");
    cr_assert_str_eq(check.stock_code, "600000.SH");

    /* the orders sit in blocks of their own (malloc'd, so counted in the heap too) */
    double per_order = (double)(after - before) / (N - 1);
    /* what an order must hold: its record, its sysid ("20000123" + NUL) and remark ("r" +
       NUL), 8-byte aligned, plus its slot in the day's array and in the dirty list (8
       bytes each, at most doubled by the growth policy), plus a block's unused tail */
    size_t record = (brg_sim_stock_order_record_size() + 9 + 2 + 7) / 8 * 8;
    double bound = (double)(record + HEAP_CHUNK_OVERHEAD + 2 * 16) + (double)(1u << 20) / (N - 1);
    cr_log_info("heap bytes per open order %.1f (record %zu, with strings %zu; blocks %.1f)",
                per_order, brg_sim_stock_order_record_size(), record,
                (double)(blocks - blocks_before) / (N - 1));
    cr_assert_leq((double)(blocks - blocks_before) / (N - 1),
                  (double)record + (double)(1u << 20) / (N - 1),
                  "the order blocks hold more than the records");
    cr_assert_leq(per_order, bound, "%.1f bytes per open order, expected <= %.0f", per_order,
                  bound);
    cr_assert_leq(per_order, 125.0); /* 115 measured under ASan, 136 before the 96-byte record */
    /* 83 bytes of fields: with its sysid and remark, an order takes 96 in a block */
    cr_assert_eq(brg_sim_stock_order_record_size(), 83);
    cr_assert_eq(record, 96);

    /* the day close gives it all back (orders, arrays, pooled strings) */
    brg_sim_stock_next_day(book);
    cr_assert_eq(brg_sim_stock_order_count(book), 0);
    size_t closed = heap_in_use();
    cr_assert_eq(brg_sim_stock_order_block_bytes(book), 0);
    cr_assert_lt(closed, before + 4096, "%zu bytes still held after the day close",
                 closed > before ? closed - before : 0);
    brg_sim_stock_destroy(&book);
}

/* The day close's last steps free the order blocks a few at a time (a step frees one block
   per 8 orders of its budget, plus one), so a slice stays short however big the day was. */
Test(sim_stock, day_close_frees_the_order_blocks_a_few_per_step) {
    enum { N = 50000 };
    brg_sim_stock_t *book = brg_sim_stock_new(&ctx, "A", 1e12);
    brg_sim_order_args_t o = args("600000.SH", BRG_SIM_STOCK_BUY, 100, 10.00);
    for (int i = 0; i < N; i++)
        cr_assert_gt(brg_sim_stock_order(book, &o), 0);
    /* 96 bytes per order (no remark), 10,922 to a 1 MiB block: 5 blocks */
    cr_assert_eq(brg_sim_stock_order_block_bytes(book), (size_t)5 << 20);
    size_t before = brg_sim_stock_order_block_bytes(book);
    int steps = 0, freeing = 0;
    while (brg_sim_stock_close_step(book, 8)) {
        steps++;
        size_t now = brg_sim_stock_order_block_bytes(book);
        cr_assert_leq(before - now, (size_t)2 << 20, "step %d freed %zu bytes of blocks", steps,
                      before - now);
        if (now < before)
            freeing++;
        before = now;
    }
    /* 6,250 steps of 8 orders, one for the day's arrays, three for the blocks (2, 2, 1) */
    cr_assert_eq(steps, N / 8 + 1 + 3);
    cr_assert_eq(freeing, 3);
    cr_assert_eq(brg_sim_stock_order_block_bytes(book), 0);
    cr_assert_eq(brg_sim_stock_order_count(book), 0);
    cr_assert_not(brg_sim_stock_closing(book));
    brg_sim_stock_destroy(&book);
}

/* What a close step leaves for the store to delete is counted, so the sim can end a slice
   on it: freeing a stored trade costs little in memory but a row delete in the commit. */
Test(sim_stock, day_close_counts_the_deletes_it_leaves_for_the_store) {
    brg_sim_stock_t *book = brg_sim_stock_new(&ctx, "A", 1e6);
    for (int64_t id = 1; id <= 100; id++) {
        Xtbridge__State__SimTrade m = XTBRIDGE__STATE__SIM_TRADE__INIT;
        m.id = id;
        m.traded_id = (char *)"t";
        m.code = (char *)"600000.SH";
        m.volume = 100;
        m.order_id = id;
        cr_assert_eq(brg_sim_stock_load_trade(book, &m), 0);
    }
    cr_assert_eq(brg_sim_stock_close_deletes(book), 0);
    cr_assert_eq(brg_sim_stock_close_step(book, 32), 1);
    cr_assert_eq(brg_sim_stock_close_deletes(book), 32);
    cr_assert_eq(brg_sim_stock_close_step(book, 32), 1);
    cr_assert_eq(brg_sim_stock_close_deletes(book), 64);
    while (brg_sim_stock_close_step(book, 32))
        ;
    cr_assert_eq(brg_sim_stock_close_deletes(book), 100);
    /* persist writes them into the store's batch and forgets them */
    char dir[128], err[256] = "";
    snprintf(dir, sizeof dir, "%s/xtbt-simstock-del-%d", xtbt_tmpdir(), getpid());
    cr_assert_eq(zsys_dir_create("%s", dir), 0);
    brg_store_t *store = brg_store_new(dir, NULL, err, sizeof err);
    cr_assert_not_null(store, "%s", err);
    persist_commit(store, book);
    cr_assert_eq(brg_sim_stock_close_deletes(book), 0);
    brg_store_destroy(&store);
    brg_sim_stock_destroy(&book);
}
