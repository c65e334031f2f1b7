/*  test_sim_futures.c - the sim's FUTURE account (brg_sim_futures), IPO calls and
    export_data / query_data, through the real xtbridge binary and the C client: exact
    money for a futures round trip (points x multiplier less fees), margin frozen at entry
    and released by a cancel, close-today vs close-yesterday on SHFE, the day close's
    mark-to-market, a restart that keeps the book, every bad input answered with
    INVALID_ARGUMENT or a broker rejection with its reason, the export files kept inside
    <data dir>/export whatever path the client names, and `xtbctl call` reaching the calls.

    Product facts the tests rely on (the sim's table, docs/protocol.md): IF x300, tick 0.2,
    margin 12%, fees 0.23/10000 open, 3.45/10000 close-today; rb x10, tick 1, 10%, 1/10000;
    cu x5, tick 10, 10%, 0.5/10000 open and close-yesterday, 1/10000 close-today; au x1000,
    tick 0.02, 10%, 2 CNY a lot to open. xtconstant: FUTURE account type 1, order types
    0 open long, 1 close long yesterday, 2 close long today, 3 open short, 4 close short
    yesterday, 5 close short today; direction 48 long/buy, 49 short/sell; offset_flag 48
    open, 49 close, 51 close today, 52 close yesterday.
*/
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define FUT "1000000367"
#define STK "1000000365"
#define FIX 11

static xtbt_bridge_t *s_bridge;
static xtb_client_t *s_client;

static void start_with(const char *config) {
    s_bridge = xtbt_bridge_start(config, NULL);
    cr_assert_not_null(s_bridge, "xtbridge did not start");
    s_client = xtbt_bridge_client(s_bridge);
}

static void stop_bridge(void) {
    xtb_client_destroy(&s_client);
    if (s_bridge) {
        int status = xtbt_bridge_stop(&s_bridge);
        cr_expect_eq(status, 0, "xtbridge exit status %d", status);
    }
}

TestSuite(sim_futures, .fini = stop_bridge, .timeout = 60);

/* Make the request's account (whatever its body) the FUTURE account type. */
static Xtbridge__Request *fut(Xtbridge__Request *req) {
    const ProtobufCFieldDescriptor *body = protobuf_c_message_descriptor_get_field(
        &xtbridge__request__descriptor, (unsigned)req->body_case);
    cr_assert_not_null(body);
    ProtobufCMessage *m = *(ProtobufCMessage **)((char *)req + body->offset);
    const ProtobufCFieldDescriptor *acc =
        protobuf_c_message_descriptor_get_field_by_name(m->descriptor, "account");
    cr_assert_not_null(acc);
    Xtbridge__Account *account = *(Xtbridge__Account **)((char *)m + acc->offset);
    account->account_type = 1;
    return req;
}

static void set_price(const char *code, double last) {
    Xtbridge__Reply *r = xtbt_call_ok(s_client, xtb_req_sim_set_price(code, last, 0, -1),
                                      XTBRIDGE__REPLY__RESULT_SIM_SET_PRICE);
    xtb_reply_destroy(&r);
}

static void next_day(void) {
    Xtbridge__Reply *r =
        xtbt_call_ok(s_client, xtb_req_sim_next_day(), XTBRIDGE__REPLY__RESULT_SIM_NEXT_DAY);
    xtb_reply_destroy(&r);
}

/* A futures order at a limit price; returns its id. */
static int64_t forder(const char *code, int type, int64_t lots, double price) {
    Xtbridge__Reply *r = xtbt_call_ok(
        s_client, fut(xtb_req_order(FUT, code, type, lots, FIX, price, "fut", "t", false)),
        XTBRIDGE__REPLY__RESULT_ORDER_STOCK);
    int64_t id = r->order_stock->order_id;
    xtb_reply_destroy(&r);
    cr_assert_gt(id, 0);
    return id;
}

/* The order's status and status_msg (copied into msg). */
static int32_t fstatus(int64_t id, char *msg, size_t len) {
    Xtbridge__Reply *r = xtbt_call_ok(s_client, fut(xtb_req_query_order(FUT, id)),
                                      XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ORDER);
    cr_assert(r->query_stock_order->found, "order %lld", (long long)id);
    int32_t status = r->query_stock_order->order->order_status;
    if (msg)
        snprintf(msg, len, "%s", r->query_stock_order->order->status_msg);
    xtb_reply_destroy(&r);
    return status;
}

/* An order the broker rejects: junk (57) whose reason contains `reason`. */
static void expect_junk(const char *code, int type, int64_t lots, double price,
                        const char *reason) {
    char msg[300];
    int64_t id = forder(code, type, lots, price);
    cr_assert_eq(fstatus(id, msg, sizeof msg), 57, "%s %d x%lld: %s", code, type, (long long)lots,
                 msg);
    cr_assert(strstr(msg, reason), "reason '%s' lacks '%s'", msg, reason);
}

static void expect_invalid(Xtbridge__Request *req, const char *what) {
    Xtbridge__Reply *r = xtbt_call(s_client, req);
    cr_assert_eq(r->error->code, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT, "%s: %s", what,
                 r->error->message);
    cr_assert(strstr(r->error->message, what), "'%s' lacks '%s'", r->error->message, what);
    xtb_reply_destroy(&r);
}

typedef struct {
    double cash, frozen, market_value, total;
} asset_t;

static asset_t fasset(void) {
    Xtbridge__Reply *r =
        xtbt_call_ok(s_client, fut(xtb_req_account(XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ASSET, FUT)),
                     XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ASSET);
    cr_assert(r->query_stock_asset->found);
    Xtbridge__XtAsset *a = r->query_stock_asset->asset;
    cr_assert_eq(a->account_type, 1);
    asset_t out = {a->cash, a->frozen_cash, a->market_value, a->total_asset};
    xtb_reply_destroy(&r);
    return out;
}

static void expect_asset(double cash, double frozen, double market_value, double total) {
    asset_t a = fasset();
    cr_assert(xtbt_money_eq(a.cash, cash), "cash %.2f, want %.2f", a.cash, cash);
    cr_assert(xtbt_money_eq(a.frozen, frozen), "frozen %.2f, want %.2f", a.frozen, frozen);
    cr_assert(xtbt_money_eq(a.market_value, market_value), "market_value %.2f, want %.2f",
              a.market_value, market_value);
    cr_assert(xtbt_money_eq(a.total, total), "total %.2f, want %.2f", a.total, total);
}

static Xtbridge__Reply *fstats(void) {
    return xtbt_call_ok(
        s_client, fut(xtb_req_account(XTBRIDGE__REQUEST__BODY_QUERY_POSITION_STATISTICS, FUT)),
        XTBRIDGE__REPLY__RESULT_QUERY_POSITION_STATISTICS);
}

static Xtbridge__Reply *ftrades(void) {
    return xtbt_call_ok(s_client,
                        fut(xtb_req_account(XTBRIDGE__REQUEST__BODY_QUERY_STOCK_TRADES, FUT)),
                        XTBRIDGE__REPLY__RESULT_QUERY_STOCK_TRADES);
}

/* ---- accounts ------------------------------------------------------------------------ */

Test(sim_futures, default_future_account_listed_with_status_pushes) {
    start_with(NULL);
    Xtbridge__Reply *r =
        xtbt_call_ok(s_client, xtb_req_noargs(XTBRIDGE__REQUEST__BODY_QUERY_ACCOUNT_INFOS),
                     XTBRIDGE__REPLY__RESULT_QUERY_ACCOUNT_INFOS);
    cr_assert_eq(r->query_account_infos->n_accounts, 3); /* and the CREDIT account */
    cr_assert_str_eq(r->query_account_infos->accounts[0]->account_id, STK);
    cr_assert_eq(r->query_account_infos->accounts[0]->account_type, 2);
    cr_assert_str_eq(r->query_account_infos->accounts[1]->account_id, FUT);
    cr_assert_eq(r->query_account_infos->accounts[1]->account_type, 1);
    xtb_reply_destroy(&r);
    expect_asset(1000000.00, 0, 0, 1000000.00);

    /* order_stock_async on the FUTURE account: seq, then order_async with the order id */
    set_price("rb2501.SF", 3500);
    cr_assert_eq(xtb_client_subscribe(s_client, "order_async." FUT "."), 0);
    cr_assert_eq(xtb_client_sync_subscriptions(s_client, 5000), 0);
    r = xtbt_call_ok(s_client, fut(xtb_req_order(FUT, "rb2501.SF", 0, 1, FIX, 3400, "", "", true)),
                     XTBRIDGE__REPLY__RESULT_ORDER_STOCK_ASYNC);
    int64_t seq = r->order_stock_async->seq;
    cr_assert_gt(seq, 0);
    xtb_reply_destroy(&r);
    Xtbridge__Event *ev =
        xtbt_wait_event(s_client, "order_async." FUT ".", XTBRIDGE__EVENT__BODY_ORDER_ASYNC, 3000);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->order_async->seq, seq);
    cr_assert_eq(ev->order_async->account_type, 1);
    cr_assert_eq(fstatus(ev->order_async->order_id, NULL, 0), 50);
    xtb_event_destroy(&ev);

    cr_assert_eq(xtb_client_subscribe(s_client, "account_status." FUT "."), 0);
    cr_assert_eq(xtb_client_sync_subscriptions(s_client, 5000), 0);
    r = xtbt_call_ok(s_client, fut(xtb_req_sim_set_account_status(FUT, 6)),
                     XTBRIDGE__REPLY__RESULT_SIM_SET_ACCOUNT_STATUS);
    xtb_reply_destroy(&r);
    ev = xtbt_wait_event(s_client, "account_status." FUT ".", XTBRIDGE__EVENT__BODY_ACCOUNT_STATUS,
                         3000);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->account_status->account_type, 1);
    cr_assert_eq(ev->account_status->status, 6);
    xtb_event_destroy(&ev);
    /* an account that is not OK refuses orders */
    expect_junk("rb2501.SF", 0, 1, 3500, "account status 6 (CLOSED) is not OK");
}

/* ---- a round trip: points x multiplier less fees ------------------------------------- */

Test(sim_futures, cffex_round_trip_exact_money) {
    start_with(NULL);
    cr_assert_eq(xtb_client_subscribe(s_client, "trade." FUT "."), 0);
    cr_assert_eq(xtb_client_sync_subscriptions(s_client, 5000), 0);
    set_price("IF2412.IF", 3500.0);
    int64_t open = forder("IF2412.IF", 0, 2, 3500.0);
    cr_assert_eq(fstatus(open, NULL, 0), 56);
    Xtbridge__Event *ev =
        xtbt_wait_event(s_client, "trade." FUT ".", XTBRIDGE__EVENT__BODY_TRADE, 3000);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->trade->account_type, 1);
    cr_assert_eq(ev->trade->direction, 48);
    cr_assert_eq(ev->trade->offset_flag, 48);
    cr_assert_eq(ev->trade->traded_volume, 2);
    cr_assert(xtbt_money_eq(ev->trade->traded_amount, 2100000.00));
    cr_assert(xtbt_money_eq(ev->trade->commission, 48.30)); /* 2,100,000 x 0.23/10000 */
    xtb_event_destroy(&ev);
    /* margin 3500 x 300 x 12% = 126,000 a lot; balance less the fee */
    expect_asset(1000000 - 48.30 - 252000, 0, 2100000.00, 1000000 - 48.30);

    set_price("IF2412.IF", 3510.0); /* +10 points x 300 x 2 lots = 6,000 floating */
    expect_asset(1000000 - 48.30 - 252000 + 6000, 0, 2106000.00, 1000000 - 48.30 + 6000);

    int64_t close = forder("IF2412.IF", 2, 2, 3510.0); /* CFFEX closes FIFO */
    cr_assert_eq(fstatus(close, NULL, 0), 56);
    ev = xtbt_wait_event(s_client, "trade." FUT ".", XTBRIDGE__EVENT__BODY_TRADE, 3000);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->trade->direction, 49);
    cr_assert_eq(ev->trade->offset_flag, 49);
    /* close-today 2,106,000 x 3.45/10000 = 726.57 */
    cr_assert(xtbt_money_eq(ev->trade->commission, 726.57), "%.2f", ev->trade->commission);
    cr_assert(xtbt_money_eq(ev->trade->traded_price, 3510.0));
    xtb_event_destroy(&ev);
    /* 10 points x 300 x 2 = 6,000 less 48.30 + 726.57 in fees = 5,225.13 */
    expect_asset(1005225.13, 0, 0, 1005225.13);

    Xtbridge__Reply *r = xtbt_call_ok(s_client, fut(xtb_req_query_orders(FUT, false)),
                                      XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ORDERS);
    cr_assert_eq(r->query_stock_orders->n_orders, 2);
    Xtbridge__XtOrder *o = r->query_stock_orders->orders[1];
    cr_assert_eq(o->direction, 49);
    cr_assert_eq(o->offset_flag, 49);
    cr_assert_eq(o->order_type, 2);
    cr_assert_eq(o->price_type, 50); /* the broker's limit-price code */
    cr_assert_eq(o->requested_price_type, 11);
    cr_assert(xtbt_money_eq(o->traded_price, 3510.0));
    cr_assert_eq(o->account_type, 1);
    xtb_reply_destroy(&r);

    r = fstats();
    cr_assert_eq(r->query_position_statistics->n_statistics, 1);
    Xtbridge__XtPositionStatistics *st = r->query_position_statistics->statistics[0];
    cr_assert_str_eq(st->exchange_id, "CFFEX");
    cr_assert_str_eq(st->product_id, "IF");
    cr_assert_str_eq(st->instrument_id, "IF2412");
    cr_assert_eq(st->direction, 48);
    cr_assert_eq(st->position, 0);
    cr_assert_eq(st->open_times, 1);
    cr_assert_eq(st->open_volume, 2);
    cr_assert(xtbt_money_eq(st->close_profit, 6000.00));
    cr_assert(xtbt_money_eq(st->used_commission, 774.87));
    cr_assert(xtbt_money_eq(st->used_margin, 0));
    xtb_reply_destroy(&r);
}

/* ---- margin frozen at entry, released by a cancel ------------------------------------ */

Test(sim_futures, margin_frozen_then_released_by_cancel) {
    start_with(NULL);
    set_price("rb2501.SF", 3500);
    int64_t id = forder("rb2501.SF", 0, 3, 3400); /* rests below the market */
    cr_assert_eq(fstatus(id, NULL, 0), 50);
    /* per lot: margin 3400 x 10 x 10% = 3,400 + open fee 34,000 x 1/10000 = 3.40 */
    expect_asset(1000000 - 10210.20, 10210.20, 0, 1000000.00);
    Xtbridge__Reply *r = fstats();
    cr_assert_eq(r->query_position_statistics->n_statistics, 0);
    xtb_reply_destroy(&r);

    r = xtbt_call_ok(s_client, fut(xtb_req_cancel(FUT, id, false)),
                     XTBRIDGE__REPLY__RESULT_CANCEL_ORDER_STOCK);
    cr_assert_eq(r->cancel_order_stock->result, 0);
    xtb_reply_destroy(&r);
    cr_assert_eq(fstatus(id, NULL, 0), 54);
    expect_asset(1000000.00, 0, 0, 1000000.00);
    r = fstats();
    cr_assert_eq(r->query_position_statistics->n_statistics, 1);
    cr_assert_eq(r->query_position_statistics->statistics[0]->cancel_times, 1);
    cr_assert_eq(r->query_position_statistics->statistics[0]->position, 0);
    xtb_reply_destroy(&r);

    /* a resting order fills at its limit when the market comes down: freeze -> margin */
    id = forder("rb2501.SF", 0, 2, 3400);
    set_price("rb2501.SF", 3390);
    cr_assert_eq(fstatus(id, NULL, 0), 56);
    /* balance - 6.80 fee; margin 6,800; floating (3390 - 3400) x 10 x 2 = -200 */
    expect_asset(1000000 - 6.80 - 6800 - 200, 0, 67800.00, 1000000 - 6.80 - 200);

    /* more margin than the account has */
    expect_junk("rb2501.SF", 0, 3000, 3390, "insufficient funds: margin and fees");
}

/* ---- SHFE: close today vs close yesterday -------------------------------------------- */

Test(sim_futures, shfe_close_today_and_yesterday) {
    start_with(NULL);
    set_price("cu2501.SF", 70000);
    forder("cu2501.SF", 0, 2, 70000); /* 2 lots, fee 350,000 x 0.5/10000 x 2 = 35.00 */
    next_day();                       /* settle at 70000: no mark-to-market */
    forder("cu2501.SF", 0, 1, 70000); /* 1 lot today, 17.50 */
    Xtbridge__Reply *r = fstats();
    cr_assert_eq(r->query_position_statistics->n_statistics, 1);
    Xtbridge__XtPositionStatistics *st = r->query_position_statistics->statistics[0];
    cr_assert_eq(st->position, 3);
    cr_assert_eq(st->yesterday_position, 2);
    cr_assert_eq(st->today_position, 1);
    cr_assert_eq(st->yesterday_init_position, 2);
    cr_assert(xtbt_money_eq(st->used_margin, 105000.00)); /* 35,000 a lot */
    xtb_reply_destroy(&r);

    expect_junk("cu2501.SF", 2, 2, 70000, "close 2 lots of today's long cu2501.SF: only 1");
    expect_junk("cu2501.SF", 1, 3, 70000, "close 3 lots of yesterday's long cu2501.SF: only 2");
    expect_junk("cu2501.SF", 5, 1, 70000, "close 1 lots of today's short cu2501.SF: only 0");

    set_price("cu2501.SF", 70100);
    int64_t today = forder("cu2501.SF", 2, 1, 70100);
    int64_t yd = forder("cu2501.SF", 1, 2, 70100);
    cr_assert_eq(fstatus(today, NULL, 0), 56);
    cr_assert_eq(fstatus(yd, NULL, 0), 56);
    r = ftrades();
    cr_assert_eq(r->query_stock_trades->n_trades, 3);
    Xtbridge__XtTrade *t = r->query_stock_trades->trades[1];
    cr_assert_eq(t->offset_flag, 51);
    cr_assert_eq(t->direction, 49);
    cr_assert(xtbt_money_eq(t->commission, 35.05)); /* 350,500 x 1/10000 */
    t = r->query_stock_trades->trades[2];
    cr_assert_eq(t->offset_flag, 52);
    cr_assert(xtbt_money_eq(t->commission, 35.05)); /* 701,000 x 0.5/10000 */
    xtb_reply_destroy(&r);
    /* +100 x 5 on each lot = 1,500; fees 35.00 + 17.50 + 35.05 + 35.05 */
    expect_asset(1001377.40, 0, 0, 1001377.40);
    /* nothing left to close */
    expect_junk("cu2501.SF", 7, 1, 70100, "only 0 closable");
}

/* Two-key style: type 10 sells, closing today's longs first, then yesterday's, and opens
   short with the rest; type 13 buys, closing yesterday's shorts first. */
Test(sim_futures, two_key_close_then_open) {
    start_with(NULL);
    set_price("rb2505.SF", 3000);
    forder("rb2505.SF", 0, 1, 3000); /* long 1 (yesterday after the day close) */
    next_day();
    forder("rb2505.SF", 0, 1, 3000);               /* long 1 today */
    int64_t id = forder("rb2505.SF", 10, 4, 3000); /* close 1 today + 1 yd, open 2 short */
    cr_assert_eq(fstatus(id, NULL, 0), 56);
    Xtbridge__Reply *r = ftrades();
    cr_assert_eq(r->query_stock_trades->n_trades, 4);
    Xtbridge__XtTrade *const *t = r->query_stock_trades->trades;
    cr_assert_eq(t[1]->offset_flag, 51);
    cr_assert_eq(t[1]->traded_volume, 1);
    cr_assert_eq(t[2]->offset_flag, 52);
    cr_assert_eq(t[2]->traded_volume, 1);
    cr_assert_eq(t[3]->offset_flag, 48);
    cr_assert_eq(t[3]->traded_volume, 2);
    for (size_t i = 1; i < 4; i++) {
        cr_assert_eq(t[i]->direction, 49);
        cr_assert_eq(t[i]->order_id, id);
    }
    xtb_reply_destroy(&r);
    r = xtbt_call_ok(s_client, fut(xtb_req_query_order(FUT, id)),
                     XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ORDER);
    cr_assert_eq(r->query_stock_order->order->offset_flag, 51); /* its first leg */
    cr_assert_eq(r->query_stock_order->order->direction, 49);
    xtb_reply_destroy(&r);
    r = fstats();
    cr_assert_eq(r->query_position_statistics->n_statistics, 2);
    Xtbridge__XtPositionStatistics *const *st = r->query_position_statistics->statistics;
    cr_assert_eq(st[0]->direction, 48);
    cr_assert_eq(st[0]->position, 0);
    cr_assert_eq(st[1]->direction, 49);
    cr_assert_eq(st[1]->position, 2);
    cr_assert_eq(st[1]->today_position, 2);
    xtb_reply_destroy(&r);
    /* 13: buy, close the 2 shorts (today's: no yesterday's left), open long 1 */
    id = forder("rb2505.SF", 13, 3, 3000);
    cr_assert_eq(fstatus(id, NULL, 0), 56);
    r = fstats();
    st = r->query_position_statistics->statistics;
    cr_assert_eq(st[0]->position, 1);
    cr_assert_eq(st[1]->position, 0);
    xtb_reply_destroy(&r);
    /* fees: 1/10000 of 30,000 a lot = 3.00, for 1 + 1 + 4 + 3 lots; no price moved */
    expect_asset(1000000 - 27 - 3000, 0, 30000.00, 1000000 - 27);
}

/* FIFO exchanges close yesterday's lots first whatever the six-key type says. */
Test(sim_futures, dce_closes_fifo) {
    start_with(NULL);
    set_price("i2501.DF", 800.0);    /* x100, 13%, 1/10000 both ways */
    forder("i2501.DF", 3, 1, 800.0); /* short 1: fee 8.00 */
    next_day();
    forder("i2501.DF", 3, 1, 800.0);              /* short 1 today: fee 8.00 */
    int64_t id = forder("i2501.DF", 5, 1, 800.0); /* "close short today": FIFO takes yesterday */
    cr_assert_eq(fstatus(id, NULL, 0), 56);
    Xtbridge__Reply *r = fstats();
    Xtbridge__XtPositionStatistics *st = r->query_position_statistics->statistics[0];
    cr_assert_eq(st->direction, 49);
    cr_assert_eq(st->yesterday_position, 0);
    cr_assert_eq(st->today_position, 1);
    xtb_reply_destroy(&r);
    r = ftrades();
    cr_assert_eq(r->query_stock_trades->trades[1]->offset_flag, 49);
    cr_assert_eq(r->query_stock_trades->trades[1]->direction, 48);
    xtb_reply_destroy(&r);
}

/* ---- day close: mark-to-market; restart keeps the book ------------------------------- */

Test(sim_futures, next_day_marks_to_market_and_restart_keeps_it) {
    start_with(NULL);
    set_price("au2412.SF", 600.00);
    forder("au2412.SF", 3, 1, 600.00); /* short 1 lot: 2.00 fee, margin 60,000 */
    expect_asset(1000000 - 2 - 60000, 0, 600000.00, 999998.00);
    set_price("au2412.SF", 590.00); /* short gains 10 x 1000 */
    expect_asset(1000000 - 2 - 60000 + 10000, 0, 590000.00, 1009998.00);
    next_day(); /* settle 590: +10,000 into the balance, margin now 59,000 */
    expect_asset(1009998.00 - 59000, 0, 590000.00, 1009998.00);
    Xtbridge__Reply *r = fstats();
    Xtbridge__XtPositionStatistics *st = r->query_position_statistics->statistics[0];
    cr_assert_eq(st->direction, 49);
    cr_assert_eq(st->yesterday_position, 1);
    cr_assert_eq(st->today_position, 0);
    cr_assert(xtbt_money_eq(st->position_profit, 0));
    cr_assert(xtbt_money_eq(st->float_profit, 10000.00)); /* against the open price */
    cr_assert(xtbt_money_eq(st->open_price, 600.00));
    cr_assert(xtbt_money_eq(st->avg_price, 590.00));
    cr_assert(xtbt_money_eq(st->used_margin, 59000.00));
    cr_assert_eq(st->open_times, 0); /* today's counters start again */
    xtb_reply_destroy(&r);
    r = xtbt_call_ok(s_client, fut(xtb_req_query_position(FUT, "au2412.SF")),
                     XTBRIDGE__REPLY__RESULT_QUERY_STOCK_POSITION);
    cr_assert(r->query_stock_position->found);
    cr_assert_eq(r->query_stock_position->position->direction, 49);
    cr_assert_eq(r->query_stock_position->position->yesterday_volume, 1);
    xtb_reply_destroy(&r);
    /* a resting close that survives the restart with its frozen lot */
    int64_t resting = forder("au2412.SF", 4, 1, 585.00);
    cr_assert_eq(fstatus(resting, NULL, 0), 50);

    xtb_client_destroy(&s_client);
    cr_assert_eq(xtbt_bridge_kill(s_bridge), 0);
    cr_assert_eq(xtbt_bridge_restart(s_bridge, NULL), 0);
    s_client = xtbt_bridge_client(s_bridge);

    expect_asset(1009998.00 - 59000, 0, 590000.00, 1009998.00);
    cr_assert_eq(fstatus(resting, NULL, 0), 50);
    expect_junk("au2412.SF", 4, 1, 595.00, "only 0 closable"); /* still frozen */
    Xtbridge__Reply *c = xtbt_call_ok(s_client, fut(xtb_req_cancel(FUT, resting, false)),
                                      XTBRIDGE__REPLY__RESULT_CANCEL_ORDER_STOCK);
    cr_assert_eq(c->cancel_order_stock->result, 0);
    xtb_reply_destroy(&c);
    int64_t close = forder("au2412.SF", 4, 1, 585.00); /* buy back below the market */
    cr_assert_eq(fstatus(close, NULL, 0), 50);
    set_price("au2412.SF", 585.00);
    cr_assert_eq(fstatus(close, NULL, 0), 56);
    /* +5 x 1000 against the settlement, 2.00 close fee; the ids went on from the store */
    expect_asset(1009998.00 + 5000 - 2, 0, 0, 1009998.00 + 5000 - 2);
    cr_assert_gt(close, resting);
}

/* ---- bad inputs ---------------------------------------------------------------------- */

Test(sim_futures, bad_inputs_get_reasons) {
    start_with(NULL);
    set_price("rb2501.SF", 3500);
    set_price("m2501.DF", 3000);
    expect_invalid(fut(xtb_req_order(FUT, "xx2501.SF", 0, 1, FIX, 10, "", "", false)),
                   "unknown futures product 'xx'");
    expect_invalid(fut(xtb_req_order(FUT, "rb2501.IF", 0, 1, FIX, 10, "", "", false)),
                   "product rb trades on .SF, not .IF");
    expect_invalid(fut(xtb_req_order(FUT, "rb2513.SF", 0, 1, FIX, 10, "", "", false)),
                   "month 13 is not 01-12");
    expect_invalid(fut(xtb_req_order(FUT, "600000.SH", 0, 1, FIX, 10, "", "", false)),
                   "bad futures code '600000.SH'");
    expect_invalid(xtb_req_order(STK, "rb2501.SF", 23, 1, FIX, 3500, "", "", false),
                   "futures contracts trade on a FUTURE account");
    expect_invalid(fut(xtb_req_order(FUT, "rb2501.SF", 0, 0, FIX, 3500, "", "", false)),
                   "order_volume must be > 0");
    expect_invalid(fut(xtb_req_order(FUT, "rb2501.SF", 999, 1, FIX, 3500, "", "", false)),
                   "unknown order_type 999");
    expect_junk("rb2501.SF", 23, 1, 3500, "order type 23 not supported on a FUTURE account");
    expect_junk("rb2501.SF", 19, 1, 3500, "order type 19 (renew) needs a combination contract");
    expect_junk("rb2501.SF", 16, 1, 3500, "order type 16 (arbitrage)");
    expect_junk("rb2501.SF", 0, 1, 3500.5, "price 3500.50 is off the 1.00 tick of rb");
    expect_junk("rb2505.SF", 0, 1, 3500, "rb2505.SF has no price yet");
    expect_junk("rb2501.SF", 4, 1, 3500, "close 1 lots of yesterday's short rb2501.SF: only 0");
    expect_junk("m2501.DF", 1, 2, 3000, "close 2 lots of long m2501.DF: only 0 closable");
    /* a market price type of another exchange */
    Xtbridge__Reply *r =
        xtbt_call_ok(s_client, fut(xtb_req_order(FUT, "rb2501.SF", 0, 1, 19, 0, "", "", false)),
                     XTBRIDGE__REPLY__RESULT_ORDER_STOCK);
    char msg[300];
    cr_assert_eq(fstatus(r->order_stock->order_id, msg, sizeof msg), 57);
    cr_assert(strstr(msg, "price type 19 not supported on .SF"), "%s", msg);
    xtb_reply_destroy(&r);
    /* a stock order type on the stock account keeps the stock rules; futures types junk */
    r = xtbt_call_ok(s_client, xtb_req_order(STK, "600000.SH", 0, 100, FIX, 10.60, "", "", false),
                     XTBRIDGE__REPLY__RESULT_ORDER_STOCK);
    Xtbridge__Reply *q = xtbt_call_ok(s_client, xtb_req_query_order(STK, r->order_stock->order_id),
                                      XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ORDER);
    cr_assert_eq(q->query_stock_order->order->order_status, 57);
    cr_assert(strstr(q->query_stock_order->order->status_msg,
                     "order type 0 not supported on a STOCK account"));
    xtb_reply_destroy(&q);
    xtb_reply_destroy(&r);
    /* unknown account of type FUTURE: -1 and order_error naming the accounts */
    cr_assert_eq(xtb_client_subscribe(s_client, "order_error.42."), 0);
    cr_assert_eq(xtb_client_sync_subscriptions(s_client, 5000), 0);
    r = xtbt_call_ok(s_client,
                     fut(xtb_req_order("42", "rb2501.SF", 0, 1, FIX, 3500, "", "", false)),
                     XTBRIDGE__REPLY__RESULT_ORDER_STOCK);
    cr_assert_eq(r->order_stock->order_id, -1);
    xtb_reply_destroy(&r);
    Xtbridge__Event *ev =
        xtbt_wait_event(s_client, "order_error.42.", XTBRIDGE__EVENT__BODY_ORDER_ERROR, 3000);
    cr_assert_not_null(ev);
    cr_assert_str_eq(ev->order_error->error_msg,
                     "unknown account 42; have 1000000365, 1000000367, 1208970161");
    xtb_event_destroy(&ev);
    /* cancel on a futures market that has no such order; a stock market on a futures account */
    r = xtbt_call_ok(s_client, fut(xtb_req_cancel_sysid(FUT, 3, "30000099", false)),
                     XTBRIDGE__REPLY__RESULT_CANCEL_ORDER_STOCK_SYSID);
    cr_assert_eq(r->cancel_order_stock_sysid->result, -1);
    xtb_reply_destroy(&r);
    expect_invalid(fut(xtb_req_cancel_sysid(FUT, 0, "30000001", false)),
                   "market 0 is not a futures market");
    /* the balance never moved */
    expect_asset(1000000.00, 0, 0, 1000000.00);
}

/* ---- IPO ----------------------------------------------------------------------------- */

static const char *IPO_CONFIG = "sim\n"
                                "    account\n"
                                "        id = 1000000365\n"
                                "        cash = 1000000\n"
                                "        position\n"
                                "            code = 600000.SH\n"
                                "            volume = 10000\n"
                                "            avg_price = 10.00\n"
                                "        position\n"
                                "            code = 000001.SZ\n"
                                "            volume = 1000\n"
                                "            avg_price = 10.00\n"
                                "    account\n"
                                "        id = 1000000367\n"
                                "        type = FUTURE\n"
                                "        cash = 500000\n";

Test(sim_futures, ipo_calendar_and_purchase_limit) {
    start_with(IPO_CONFIG);
    Xtbridge__Reply *r =
        xtbt_call_ok(s_client, xtb_req_noargs(XTBRIDGE__REQUEST__BODY_QUERY_IPO_DATA),
                     XTBRIDGE__REPLY__RESULT_QUERY_IPO_DATA);
    /* day 0 is the vendor doc's example */
    cr_assert_eq(r->query_ipo_data->n_ipos, 2);
    Xtbridge__IpoInfo *i = r->query_ipo_data->ipos[0];
    cr_assert_str_eq(i->stock_code, "754810.SH");
    cr_assert_str_eq(i->name, "丰山发债");
    cr_assert_str_eq(i->type, "BOND");
    cr_assert_eq(i->minpurchasenum, 10);
    cr_assert_eq(i->maxpurchasenum, 10000);
    cr_assert_str_eq(i->purchasedate, "20220627");
    cr_assert_float_eq(i->issueprice, 100.0, 1e-9);
    i = r->query_ipo_data->ipos[1];
    cr_assert_str_eq(i->stock_code, "301208.SZ");
    cr_assert_str_eq(i->type, "STOCK");
    cr_assert_eq(i->minpurchasenum, 500);
    cr_assert_eq(i->maxpurchasenum, 16500);
    cr_assert_float_eq(i->issueprice, 46.06, 1e-9);
    xtb_reply_destroy(&r);

    /* SH holdings 10,000 x 10.60 = 106,000: SH 10 x 1,000, KCB 21 x 500; SZ 11,000: 2 x 500 */
    r = xtbt_call_ok(s_client,
                     xtb_req_account(XTBRIDGE__REQUEST__BODY_QUERY_NEW_PURCHASE_LIMIT, STK),
                     XTBRIDGE__REPLY__RESULT_QUERY_NEW_PURCHASE_LIMIT);
    Xtbridge__NewPurchaseLimitReply *l = r->query_new_purchase_limit;
    cr_assert_eq(l->n_limits, 3);
    cr_assert_str_eq(l->limits[0]->type, "KCB");
    cr_assert_eq(l->limits[0]->number, 10500);
    cr_assert_str_eq(l->limits[1]->type, "SH");
    cr_assert_eq(l->limits[1]->number, 10000);
    cr_assert_str_eq(l->limits[2]->type, "SZ");
    cr_assert_eq(l->limits[2]->number, 1000);
    xtb_reply_destroy(&r);
    r = xtbt_call_ok(s_client,
                     fut(xtb_req_account(XTBRIDGE__REQUEST__BODY_QUERY_NEW_PURCHASE_LIMIT, FUT)),
                     XTBRIDGE__REPLY__RESULT_QUERY_NEW_PURCHASE_LIMIT);
    cr_assert_eq(r->query_new_purchase_limit->n_limits, 0); /* a futures account has none */
    xtb_reply_destroy(&r);
    expect_asset(500000.00, 0, 0, 500000.00); /* the configured FUTURE account */

    next_day();
    r = xtbt_call_ok(s_client, xtb_req_noargs(XTBRIDGE__REQUEST__BODY_QUERY_IPO_DATA),
                     XTBRIDGE__REPLY__RESULT_QUERY_IPO_DATA);
    cr_assert_eq(r->query_ipo_data->n_ipos, 2);
    cr_assert_str_eq(r->query_ipo_data->ipos[0]->stock_code, "787520.SH");
    cr_assert_str_eq(r->query_ipo_data->ipos[0]->purchasedate, "20220628");
    xtb_reply_destroy(&r);
}

/* ---- export_data / query_data -------------------------------------------------------- */

static Xtbridge__Request *export_req(const char *account, int type, const char *path,
                                     const char *data_type, bool query) {
    Xtbridge__ExportDataRequest *m = calloc(1, sizeof *m);
    xtbridge__export_data_request__init(m);
    m->account = calloc(1, sizeof *m->account);
    xtbridge__account__init(m->account);
    m->account->account_id = strdup(account);
    m->account->account_type = type;
    m->result_path = strdup(path);
    m->data_type = strdup(data_type);
    Xtbridge__Request *req = calloc(1, sizeof *req);
    xtbridge__request__init(req);
    if (query) {
        req->body_case = XTBRIDGE__REQUEST__BODY_QUERY_DATA;
        req->query_data = m;
    } else {
        req->body_case = XTBRIDGE__REQUEST__BODY_EXPORT_DATA;
        req->export_data = m;
    }
    return req;
}

static char *export_json(const char *account, int type, const char *path, const char *data_type,
                         bool query) {
    Xtbridge__Reply *r = xtbt_call_ok(s_client, export_req(account, type, path, data_type, query),
                                      query ? XTBRIDGE__REPLY__RESULT_QUERY_DATA
                                            : XTBRIDGE__REPLY__RESULT_EXPORT_DATA);
    char *json = strdup(query ? r->query_data->json : r->export_data->json);
    xtb_reply_destroy(&r);
    return json;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static bool exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

Test(sim_futures, export_and_query_data_round_trip) {
    start_with(NULL);
    Xtbridge__Reply *r = xtbt_call_ok(
        s_client, xtb_req_order(STK, "600000.SH", 23, 100, FIX, 10.60, "s,1", "r\"q", false),
        XTBRIDGE__REPLY__RESULT_ORDER_STOCK);
    int64_t id = r->order_stock->order_id;
    xtb_reply_destroy(&r);

    char dir[400], file[500];
    char *real = realpath(s_bridge->data_dir, NULL);
    cr_assert_not_null(real);
    snprintf(dir, sizeof dir, "%s/export", real);
    free(real);
    /* a Windows path names the file only */
    char *json = export_json(STK, 2, "C:\\Users\\Desktop\\test\\deal.csv", "deal", false);
    char want[700];
    snprintf(want, sizeof want, "{\"msg\": \"export success: %s/deal.csv\"}", dir);
    cr_assert_str_eq(json, want);
    free(json);
    snprintf(file, sizeof file, "%s/deal.csv", dir);
    char *text = slurp(file);
    cr_assert_not_null(text, "%s", file);
    const char *header =
        "account_id,account_Type,stock_code,order_type,traded_id,traded_time,traded_price,"
        "traded_volume,traded_amount,order_id,order_sysid,strategy_name,order_remark,direction,"
        "offset_flag,commission\n";
    cr_assert_eq(strncmp(text, header, strlen(header)), 0, "%s", text);
    char row[400];
    snprintf(row, sizeof row, "1000000365,2,600000.SH,23,");
    cr_assert(strstr(text, row), "%s", text);
    /* 1,060 + commission 5.00 (minimum) + transfer fee 0.01; quoted cells */
    cr_assert(strstr(text, ",10.6000,100,1060.00,"), "%s", text);
    cr_assert(strstr(text, ",\"s,1\",\"r\"\"q\",48,48,5.01\n"), "%s", text);
    free(text);

    /* query_data: the rows as JSON, then the file is gone */
    json = export_json(STK, 2, "deal2.csv", "deal", true);
    cr_assert(
        strstr(json, "\"account_id\":1000000365,\"account_Type\":2,\"stock_code\":\"600000.SH\""),
        "%s", json);
    cr_assert(strstr(json, "\"traded_amount\":1060.00"), "%s", json);
    cr_assert(strstr(json, "\"strategy_name\":\"s,1\",\"order_remark\":\"r\\\"q\""), "%s", json);
    free(json);
    snprintf(file, sizeof file, "%s/deal2.csv", dir);
    cr_assert_not(exists(file));

    json = export_json(STK, 2, "orders.csv", "order", true);
    char idtext[64];
    snprintf(idtext, sizeof idtext, "\"order_id\":%lld,", (long long)id);
    cr_assert(strstr(json, idtext), "%s", json);
    cr_assert(strstr(json, "\"order_status\":56"), "%s", json);
    free(json);

    /* nothing yet: an empty list */
    json = export_json(FUT, 1, "empty.csv", "deal", true);
    cr_assert_str_eq(json, "[]");
    free(json);
    /* futures positions */
    set_price("rb2501.SF", 3500);
    forder("rb2501.SF", 3, 2, 3500);
    json = export_json(FUT, 1, "pos.csv", "position", true);
    cr_assert_str_eq(json, "[{\"account_id\":1000000367,\"account_Type\":1,\"stock_code\":"
                           "\"rb2501.SF\",\"volume\":2,\"can_use_volume\":2,\"open_price\":"
                           "3500.0000,\"market_value\":70000.00,\"frozen_volume\":0,"
                           "\"on_road_volume\":0,\"yesterday_volume\":0,\"avg_price\":3500.0000,"
                           "\"direction\":49}]");
    free(json);
    json = export_json(STK, 2, "stock.csv", "position", true);
    cr_assert_str_eq(json, "[{\"account_id\":1000000365,\"account_Type\":2,\"stock_code\":"
                           "\"600000.SH\",\"volume\":100,\"can_use_volume\":0,\"open_price\":"
                           "10.6000,\"market_value\":1060.00,\"frozen_volume\":0,"
                           "\"on_road_volume\":0,\"yesterday_volume\":0,\"avg_price\":10.6501,"
                           "\"direction\":48}]");
    free(json);

    /* an unknown account: the vendor's error dict */
    json = export_json("2000449", 2, "x.csv", "deal", false);
    cr_assert_str_eq(json,
                     "{\"error\": {\"errorMsg\": \"can not find account info, accountID:2000449 "
                     "accountType:2\"}}");
    free(json);
}

Test(sim_futures, export_paths_never_leave_the_export_dir) {
    start_with(NULL);
    char dir[400], file[600];
    char *real = realpath(s_bridge->data_dir, NULL);
    cr_assert_not_null(real);
    snprintf(dir, sizeof dir, "%s/export", real);
    /* escapes: each lands in <data>/export under its last component; the absolute one
       names the data dir itself, a place the bridge could write to */
    char absolute[600];
    snprintf(absolute, sizeof absolute, "%s/escape2.csv", real);
    const char *escapes[] = {"../../escape1.csv", absolute, "..\\..\\escape3.csv",
                             "C:/Windows/escape4.csv", "a/b/../../../escape5.csv"};
    for (size_t i = 0; i < 5; i++) {
        char *json = export_json(STK, 2, escapes[i], "deal", false);
        char name[32];
        snprintf(name, sizeof name, "escape%zu.csv", i + 1);
        snprintf(file, sizeof file, "%s/%s", dir, name);
        cr_assert(strstr(json, file), "%s: %s", escapes[i], json);
        cr_assert(exists(file), "%s", file);
        free(json);
        char outside[600];
        snprintf(outside, sizeof outside, "%s/../../%s", dir, name);
        cr_assert_not(exists(outside), "%s", outside);
        snprintf(outside, sizeof outside, "%s/%s", real, name);
        cr_assert_not(exists(outside), "%s", outside);
    }
    /* a symlink planted in the export dir is not followed */
    snprintf(file, sizeof file, "%s/link.csv", dir);
    char target[600];
    snprintf(target, sizeof target, "%s/target.txt", real);
    cr_assert_eq(symlink(target, file), 0);
    Xtbridge__Reply *r = xtbt_call(s_client, export_req(STK, 2, "link.csv", "deal", false));
    cr_assert_eq(r->error->code, XTBRIDGE__ERROR_CODE__BACKEND_ERROR, "%s", r->error->message);
    cr_assert(strstr(r->error->message, "cannot write"), "%s", r->error->message);
    xtb_reply_destroy(&r);
    cr_assert_not(exists(target));
    free(real);
    /* names that are not a plain .csv file */
    const char *bad[] = {"..", "", "deal.txt", "dir/", ".hidden.csv", "a/..", "de al.csv", "C:\\"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_invalid(export_req(STK, 2, bad[i], "deal", i % 2 == 0),
                       "must end in a file name like deal.csv");
    expect_invalid(export_req(STK, 2, "x.csv", "trades", false),
                   "data_type 'trades' is not deal, order or position");
}

/* ---- xtbctl call --------------------------------------------------------------------- */

static int run_xtbctl(const char *const *args, char *buf, size_t len) {
    char out[512];
    snprintf(out, sizeof out, "%s/xtbt-fut-out-XXXXXX", xtbt_tmpdir());
    int fd = mkstemp(out);
    cr_assert_geq(fd, 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd, 2);
        dup2(fd, 1);
        const char *argv[40] = {XTB_XTBCTL_BIN, "--router", s_bridge->router_ep, "--pub",
                                s_bridge->pub_ep};
        int n = 5;
        for (int i = 0; args[i] && n < 39; i++)
            argv[n++] = args[i];
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    lseek(fd, 0, SEEK_SET);
    ssize_t got = read(fd, buf, len - 1);
    buf[got > 0 ? got : 0] = 0;
    close(fd);
    unlink(out);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(sim_futures, xtbctl_call_reaches_the_new_calls) {
    start_with(NULL);
    char out[8192];
    const char *price[] = {"sim-price", "SR501.ZF", "6000", NULL};
    cr_assert_eq(run_xtbctl(price, out, sizeof out), 0, "%s", out);
    const char *order[] = {"--account", FUT,
                           "call",      "order_stock",
                           "--arg",     "account.account_type=1",
                           "--arg",     "stock_code=SR501.ZF",
                           "--arg",     "order_type=0",
                           "--arg",     "order_volume=1",
                           "--arg",     "price_type=11",
                           "--arg",     "price=6000",
                           NULL};
    cr_assert_eq(run_xtbctl(order, out, sizeof out), 0, "%s", out);
    const char *stats[] = {
        "--account", FUT, "call", "query_position_statistics", "--arg", "account.account_type=1",
        NULL};
    cr_assert_eq(run_xtbctl(stats, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "exchange_id=CZCE"), "%s", out);
    cr_assert(strstr(out, "instrument_id=SR501"), "%s", out);
    cr_assert(strstr(out, "used_margin=5400"), "%s", out); /* 6000 x 10 x 9% */
    cr_assert(strstr(out, "used_commission=3"), "%s", out);
    const char *ipo[] = {"call", "query_ipo_data", NULL};
    cr_assert_eq(run_xtbctl(ipo, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "stock_code=301208.SZ"), "%s", out);
    const char *limit[] = {"call", "query_new_purchase_limit", NULL};
    cr_assert_eq(run_xtbctl(limit, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "type=KCB"), "%s", out);
    const char *query[] = {"--account", FUT,
                           "call",      "query_data",
                           "--arg",     "account.account_type=1",
                           "--arg",     "result_path=../deals.csv",
                           "--arg",     "data_type=deal",
                           NULL};
    cr_assert_eq(run_xtbctl(query, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "SR501.ZF"), "%s", out);
    const char *bad[] = {"call",  "export_data",    "--arg", "result_path=..",
                         "--arg", "data_type=deal", NULL};
    cr_assert_neq(run_xtbctl(bad, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "INVALID_ARGUMENT"), "%s", out);
}
