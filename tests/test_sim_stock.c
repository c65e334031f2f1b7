/*  test_sim_stock.c - unit tests of brg_sim_stock_t on its own, without the backend: a
    book built on a bare brg_sim_ctx_t (market + counters + counting emit), to check the
    class contract the backend relies on: add_position validation, shared id counters
    across books, snapshots, match with a shared liquidity budget, and destroy.
*/
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "brg_sim_stock.h"

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
    /* 5250 + 5.05, 2100 + 5.02, 3150 + 5.03 */
    cr_assert_float_eq(asset.cash, 100000 - 10515.10, 1e-6);

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
