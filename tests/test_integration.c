/*  test_integration.c - end-to-end tests: the real `xtbridge` binary (sim backend) started as
    a child process on fresh ipc:// endpoints, driven over the wire by the C client library
    and by the xtbctl binary.

    Covers the spec's worked example with exact cash/frozen/volume/fee values (buy, fill,
    T+1 rejection, cancel, next day sell), every broker rejection reason over the wire,
    topic isolation between accounts 1000000365 and 10000003650, garbage frames, unserved
    calls, idempotent retries, replay, xtbctl output and exit codes, and SIGTERM -> exit 0.
    Waits are poller/socket timeouts (never sleeps); pushes are synchronised with
    xtb_client_sync_subscriptions (the bridge runs with a 50 ms heartbeat).
*/
#include <criterion/criterion.h>
#include <czmq.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "testutil.h"
#include "xtb_client.h"

#define ACC "1000000365"
#define NEIGHBOUR "10000003650"
#define BUY 23
#define SELL 24
#define FIX 11

static xtbt_bridge_t *s_bridge;
static xtb_client_t *s_client;

static void start_with(const char *config) {
    s_bridge = xtbt_bridge_start(config, NULL);
    cr_assert_not_null(s_bridge, "xtbridge did not start (%s)", XTB_BRIDGE_BIN);
    s_client = xtbt_bridge_client(s_bridge);
}

static void start_default(void) {
    start_with(NULL);
}

static void stop_bridge(void) {
    xtb_client_destroy(&s_client);
    if (s_bridge) {
        int status = xtbt_bridge_stop(&s_bridge);
        cr_expect_eq(status, 0, "xtbridge exit status %d after SIGTERM", status);
    }
}

/* Subscribe to every kind of push of `account` (not heartbeats) and wait until live. */
static void subscribe_account(xtb_client_t *c, const char *account) {
    const char *kinds[] = {"order",       "trade",        "order_error", "cancel_error",
                           "order_async", "cancel_async", "position",    "asset"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        char topic[64];
        snprintf(topic, sizeof topic, "%s.%s.", kinds[i], account);
        cr_assert_eq(xtb_client_subscribe(c, topic), 0, "%s", xtb_client_error(c));
    }
    cr_assert_eq(xtb_client_sync_subscriptions(c, 5000), 0, "%s", xtb_client_error(c));
}

/* The next push, whatever it is; asserts its topic and body kind. */
static Xtbridge__Event *expect_push(xtb_client_t *c, const char *topic,
                                    Xtbridge__Event__BodyCase body) {
    char *t = NULL;
    Xtbridge__Event *ev = NULL;
    cr_assert_eq(xtb_client_recv_event(c, 3000, &t, &ev), 0, "waiting for %s: %s", topic,
                 xtb_client_error(c));
    cr_assert_str_eq(t, topic, "expected a push on %s, got %s (%s)", topic, t,
                     xtb_event_body_name(ev->body_case));
    cr_assert_eq(ev->body_case, body, "push on %s: body %s", t, xtb_event_body_name(ev->body_case));
    cr_assert_str_eq(ev->topic, topic);
    cr_assert_gt(ev->seq, 0);
    cr_assert_gt(ev->time_ns, 0);
    free(t);
    return ev;
}

/* The next push must be an order push for order_id with that status. */
static void expect_order_push(xtb_client_t *c, int64_t order_id, int32_t status) {
    Xtbridge__Event *ev = expect_push(c, "order." ACC ".", XTBRIDGE__EVENT__BODY_ORDER);
    cr_assert_eq(ev->order->order_id, order_id);
    cr_assert_eq(ev->order->order_status, status, "order %lld: status %d, expected %d",
                 (long long)order_id, ev->order->order_status, status);
    xtb_event_destroy(&ev);
}

/* An order push for order_id with that status, skipping anything else first. */
static void wait_order_push(xtb_client_t *c, int64_t order_id, int32_t status) {
    while (true) {
        Xtbridge__Event *ev =
            xtbt_wait_event(c, "order." ACC ".", XTBRIDGE__EVENT__BODY_ORDER, 3000);
        cr_assert_not_null(ev, "no order push for %lld status %d", (long long)order_id, status);
        bool match = ev->order->order_id == order_id;
        int32_t got = ev->order->order_status;
        xtb_event_destroy(&ev);
        if (match) {
            cr_assert_eq(got, status, "order %lld: status %d, expected %d", (long long)order_id,
                         got, status);
            return;
        }
    }
}

static int64_t place(xtb_client_t *c, const char *account, const char *code, int32_t type,
                     int64_t volume, double price) {
    Xtbridge__Reply *r =
        xtbt_call_ok(c, xtb_req_order(account, code, type, volume, FIX, price, "it", "", false),
                     XTBRIDGE__REPLY__RESULT_ORDER_STOCK);
    int64_t id = r->order_stock->order_id;
    xtb_reply_destroy(&r);
    return id;
}

/* query_stock_order; the reply owns *order. */
static Xtbridge__Reply *get_order(xtb_client_t *c, int64_t order_id,
                                  const Xtbridge__XtOrder **order) {
    Xtbridge__Reply *r = xtbt_call_ok(c, xtb_req_query_order(ACC, order_id),
                                      XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ORDER);
    cr_assert(r->query_stock_order->found, "order %lld not found", (long long)order_id);
    *order = r->query_stock_order->order;
    return r;
}

static void expect_asset(xtb_client_t *c, double cash, double frozen, double mv, double total) {
    Xtbridge__Reply *r =
        xtbt_call_ok(c, xtb_req_account(XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ASSET, ACC),
                     XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ASSET);
    cr_assert(r->query_stock_asset->found);
    Xtbridge__XtAsset *a = r->query_stock_asset->asset;
    cr_assert_str_eq(a->account_id, ACC);
    cr_assert(xtbt_money_eq(a->cash, cash), "cash %.4f, expected %.2f", a->cash, cash);
    cr_assert(xtbt_money_eq(a->frozen_cash, frozen), "frozen_cash %.4f, expected %.2f",
              a->frozen_cash, frozen);
    cr_assert(xtbt_money_eq(a->market_value, mv), "market_value %.4f, expected %.2f",
              a->market_value, mv);
    cr_assert(xtbt_money_eq(a->total_asset, total), "total_asset %.4f, expected %.2f",
              a->total_asset, total);
    xtb_reply_destroy(&r);
}

static size_t order_count(xtb_client_t *c, const char *account) {
    Xtbridge__Reply *r = xtbt_call_ok(c, xtb_req_query_orders(account, false),
                                      XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ORDERS);
    size_t n = r->query_stock_orders->n_orders;
    xtb_reply_destroy(&r);
    return n;
}

static void sim_price(xtb_client_t *c, const char *code, double last) {
    Xtbridge__Reply *r = xtbt_call_ok(c, xtb_req_sim_set_price(code, last, 0, -1),
                                      XTBRIDGE__REPLY__RESULT_SIM_SET_PRICE);
    xtb_reply_destroy(&r);
}

static void expect_ping(xtb_client_t *c) {
    Xtbridge__Reply *r = xtbt_call_ok(c, xtb_req_ping(12345), XTBRIDGE__REPLY__RESULT_PING);
    cr_assert_eq(r->ping->client_time_ns, 12345);
    xtb_reply_destroy(&r);
}

/* ---- (1) the worked example ---------------------------------------------------------- */

Test(integration, worked_example_buy_fill_t1_cancel_next_day, .init = start_default,
     .fini = stop_bridge, .timeout = 60) {
    xtb_client_t *c = s_client;
    Xtbridge__Reply *hello = NULL;
    cr_assert_eq(xtb_client_hello(c, 5000, &hello), 0, "%s", xtb_client_error(c));
    uint64_t epoch = hello->hello->bridge_epoch;
    cr_assert_str_eq(hello->hello->backend, "sim");
    cr_assert(hello->hello->backend_connected); /* the sim's session never drops */
    cr_assert_eq(hello->hello->protocol_version, 2);
    cr_assert_eq(hello->hello->n_pub_endpoints, 1);
    cr_assert_str_eq(hello->hello->pub_endpoints[0], s_bridge->pub_ep);
    xtb_reply_destroy(&hello);
    subscribe_account(c, ACC);
    expect_asset(c, 1000000.00, 0, 0, 1000000.00);

    /* Buy 1000 600000.SH FIX 10.50 with last 10.60: rests, freezes 10500 + 5.00 + 0.11. */
    int64_t buy = place(c, ACC, "600000.SH", BUY, 1000, 10.50);
    cr_assert_gt(buy, 0);
    Xtbridge__Event *ev = expect_push(c, "order." ACC ".", XTBRIDGE__EVENT__BODY_ORDER);
    cr_assert_eq(ev->seq, 1, "first order push has seq %llu", (unsigned long long)ev->seq);
    cr_assert_eq(ev->bridge_epoch, epoch);
    cr_assert_eq(ev->order->order_id, buy);
    cr_assert_eq(ev->order->order_status, 48);
    xtb_event_destroy(&ev);
    ev = expect_push(c, "order." ACC ".", XTBRIDGE__EVENT__BODY_ORDER);
    cr_assert_eq(ev->seq, 2);
    cr_assert_eq(ev->order->order_status, 50);
    xtb_event_destroy(&ev);
    /* the freeze is a change of cash: an asset push, as the broker sends */
    ev = expect_push(c, "asset." ACC ".", XTBRIDGE__EVENT__BODY_ASSET);
    cr_assert(xtbt_money_eq(ev->asset->cash, 989494.89), "cash %f", ev->asset->cash);
    cr_assert(xtbt_money_eq(ev->asset->frozen_cash, 10505.11), "frozen %f", ev->asset->frozen_cash);
    xtb_event_destroy(&ev);

    const Xtbridge__XtOrder *o;
    Xtbridge__Reply *r = get_order(c, buy, &o);
    cr_assert_eq(o->order_status, 50);
    cr_assert_str_eq(o->stock_code, "600000.SH");
    cr_assert_eq(o->order_type, BUY);
    cr_assert_eq(o->order_volume, 1000);
    cr_assert_eq(o->price, 10.50);
    cr_assert_eq(o->traded_volume, 0);
    cr_assert_str_not_empty(o->order_sysid);
    char idstr[32];
    snprintf(idstr, sizeof idstr, "%lld", (long long)buy);
    cr_assert_str_neq(o->order_sysid, idstr, "order_sysid must differ from the order id");
    xtb_reply_destroy(&r);
    expect_asset(c, 989494.89, 10505.11, 0, 1000000.00);

    /* Last moves to 10.40: the resting buy fills at its own limit 10.50. */
    sim_price(c, "600000.SH", 10.40);
    ev = expect_push(c, "trade." ACC ".", XTBRIDGE__EVENT__BODY_TRADE);
    cr_assert_eq(ev->seq, 1);
    Xtbridge__XtTrade *t = ev->trade;
    cr_assert_eq(t->order_id, buy);
    cr_assert_str_eq(t->stock_code, "600000.SH");
    cr_assert_eq(t->traded_volume, 1000);
    cr_assert(xtbt_money_eq(t->traded_price, 10.50), "traded_price %f", t->traded_price);
    cr_assert(xtbt_money_eq(t->traded_amount, 10500.00), "traded_amount %f", t->traded_amount);
    cr_assert(xtbt_money_eq(t->commission, 5.11), "commission %f", t->commission);
    xtb_event_destroy(&ev);
    expect_order_push(c, buy, 56);
    ev = expect_push(c, "position." ACC ".", XTBRIDGE__EVENT__BODY_POSITION);
    cr_assert_eq(ev->position->volume, 1000);
    cr_assert_eq(ev->position->can_use_volume, 0);
    xtb_event_destroy(&ev);
    ev = expect_push(c, "asset." ACC ".", XTBRIDGE__EVENT__BODY_ASSET);
    cr_assert(xtbt_money_eq(ev->asset->cash, 989494.89), "asset push cash %f", ev->asset->cash);
    cr_assert(xtbt_money_eq(ev->asset->frozen_cash, 0));
    xtb_event_destroy(&ev);

    expect_asset(c, 989494.89, 0, 10400.00, 999894.89);
    r = xtbt_call_ok(c, xtb_req_query_position(ACC, "600000.SH"),
                     XTBRIDGE__REPLY__RESULT_QUERY_STOCK_POSITION);
    cr_assert(r->query_stock_position->found);
    Xtbridge__XtPosition *p = r->query_stock_position->position;
    cr_assert_eq(p->volume, 1000);
    cr_assert_eq(p->can_use_volume, 0);
    cr_assert_eq(p->frozen_volume, 0);
    cr_assert_eq(p->yesterday_volume, 0);
    cr_assert(fabs(p->avg_price - 10.50511) < 1e-6, "avg_price %.8f", p->avg_price);
    cr_assert(fabs(p->open_price - 10.50) < 1e-6, "open_price %.8f", p->open_price);
    cr_assert(xtbt_money_eq(p->market_value, 10400.00), "market_value %f", p->market_value);
    cr_assert(xtbt_money_eq(p->last_price, 10.40));
    xtb_reply_destroy(&r);
    r = get_order(c, buy, &o);
    cr_assert_eq(o->order_status, 56);
    cr_assert_eq(o->traded_volume, 1000);
    cr_assert(xtbt_money_eq(o->traded_price, 10.50));
    xtb_reply_destroy(&r);

    /* Same-day sell: T+1 -> junk "insufficient shares" with an order_error push. */
    int64_t sell = place(c, ACC, "600000.SH", SELL, 1000, 10.40);
    cr_assert_gt(sell, 0);
    r = get_order(c, sell, &o);
    cr_assert_eq(o->order_status, 57);
    cr_assert_str_eq(o->status_msg, "insufficient shares: sell 1000, sellable 0");
    xtb_reply_destroy(&r);
    ev = xtbt_wait_event(c, "order_error." ACC ".", XTBRIDGE__EVENT__BODY_ORDER_ERROR, 3000);
    cr_assert_not_null(ev, "no order_error push for the T+1 sell");
    cr_assert_eq(ev->order_error->order_id, sell);
    cr_assert_eq(ev->order_error->error_id, -61);
    cr_assert_str_eq(ev->order_error->error_msg, "insufficient shares: sell 1000, sellable 0");
    xtb_event_destroy(&ev);
    expect_asset(c, 989494.89, 0, 10400.00, 999894.89);

    /* Cancel flow: a resting buy of 100 @10.00 freezes 1000 + 5.00 + 0.01 = 1005.01. */
    int64_t rest = place(c, ACC, "600000.SH", BUY, 100, 10.00);
    wait_order_push(c, rest, 48);
    expect_order_push(c, rest, 50);
    ev = expect_push(c, "asset." ACC ".", XTBRIDGE__EVENT__BODY_ASSET);
    cr_assert(xtbt_money_eq(ev->asset->frozen_cash, 1005.01));
    xtb_event_destroy(&ev);
    expect_asset(c, 988489.88, 1005.01, 10400.00, 999894.89);
    r = xtbt_call_ok(c, xtb_req_query_orders(ACC, true),
                     XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ORDERS);
    cr_assert_eq(r->query_stock_orders->n_orders, 1, "cancelable orders");
    cr_assert_eq(r->query_stock_orders->orders[0]->order_id, rest);
    xtb_reply_destroy(&r);
    r = xtbt_call_ok(c, xtb_req_cancel(ACC, rest, false),
                     XTBRIDGE__REPLY__RESULT_CANCEL_ORDER_STOCK);
    cr_assert_eq(r->cancel_order_stock->result, 0);
    xtb_reply_destroy(&r);
    expect_order_push(c, rest, 51);
    expect_order_push(c, rest, 54);
    ev = expect_push(c, "asset." ACC ".", XTBRIDGE__EVENT__BODY_ASSET);
    cr_assert(xtbt_money_eq(ev->asset->cash, 989494.89), "released cash %f", ev->asset->cash);
    cr_assert(xtbt_money_eq(ev->asset->frozen_cash, 0));
    xtb_event_destroy(&ev);
    r = get_order(c, rest, &o);
    cr_assert_eq(o->order_status, 54);
    xtb_reply_destroy(&r);
    expect_asset(c, 989494.89, 0, 10400.00, 999894.89);

    /* Cancelling a finished order fails: -1 and a cancel_error push (-63). */
    r = xtbt_call_ok(c, xtb_req_cancel(ACC, buy, false),
                     XTBRIDGE__REPLY__RESULT_CANCEL_ORDER_STOCK);
    cr_assert_eq(r->cancel_order_stock->result, -1);
    xtb_reply_destroy(&r);
    ev = xtbt_wait_event(c, "cancel_error." ACC ".", XTBRIDGE__EVENT__BODY_CANCEL_ERROR, 3000);
    cr_assert_not_null(ev, "no cancel_error push");
    cr_assert_eq(ev->cancel_error->order_id, buy);
    cr_assert_eq(ev->cancel_error->error_id, -63);
    xtb_event_destroy(&ev);

    /* Next day: T+1 settles, the sell at 10.40 fills at 10.40 with 5.00 + 5.20 + 0.10. */
    r = xtbt_call_ok(c, xtb_req_sim_next_day(), XTBRIDGE__REPLY__RESULT_SIM_NEXT_DAY);
    xtb_reply_destroy(&r);
    /* settlement changes can_use: a position push */
    ev = xtbt_wait_event(c, "position." ACC ".", XTBRIDGE__EVENT__BODY_POSITION, 3000);
    cr_assert_not_null(ev, "no position push for the T+1 settlement");
    cr_assert_eq(ev->position->can_use_volume, 1000);
    cr_assert_eq(ev->position->yesterday_volume, 1000);
    xtb_event_destroy(&ev);
    r = xtbt_call_ok(c, xtb_req_query_position(ACC, "600000.SH"),
                     XTBRIDGE__REPLY__RESULT_QUERY_STOCK_POSITION);
    cr_assert(r->query_stock_position->found);
    cr_assert_eq(r->query_stock_position->position->can_use_volume, 1000);
    cr_assert_eq(r->query_stock_position->position->yesterday_volume, 1000);
    xtb_reply_destroy(&r);
    cr_assert_eq(order_count(c, ACC), 0, "sim_next_day clears the day's orders");

    int64_t sell2 = place(c, ACC, "600000.SH", SELL, 1000, 10.40);
    cr_assert_gt(sell2, 0);
    wait_order_push(c, sell2, 48);
    expect_order_push(c, sell2, 50);
    /* the sell freezes the shares: can_use 1000 -> 0, frozen 1000 */
    ev = expect_push(c, "position." ACC ".", XTBRIDGE__EVENT__BODY_POSITION);
    cr_assert_eq(ev->position->can_use_volume, 0);
    cr_assert_eq(ev->position->frozen_volume, 1000);
    xtb_event_destroy(&ev);
    ev = expect_push(c, "trade." ACC ".", XTBRIDGE__EVENT__BODY_TRADE);
    cr_assert_eq(ev->trade->order_id, sell2);
    cr_assert_eq(ev->trade->traded_volume, 1000);
    cr_assert(xtbt_money_eq(ev->trade->traded_price, 10.40));
    cr_assert(xtbt_money_eq(ev->trade->traded_amount, 10400.00));
    cr_assert(xtbt_money_eq(ev->trade->commission, 10.30), "sell fees %f", ev->trade->commission);
    xtb_event_destroy(&ev);
    expect_order_push(c, sell2, 56);
    ev = expect_push(c, "position." ACC ".", XTBRIDGE__EVENT__BODY_POSITION);
    cr_assert_eq(ev->position->volume, 0);
    xtb_event_destroy(&ev);
    ev = expect_push(c, "asset." ACC ".", XTBRIDGE__EVENT__BODY_ASSET);
    cr_assert(xtbt_money_eq(ev->asset->cash, 999884.59));
    xtb_event_destroy(&ev);
    expect_asset(c, 999884.59, 0, 0, 999884.59);
}

/* ---- (2) every rejection reason over the wire ------------------------------------------ */

static const char *REJECT_CONFIG = "sim\n"
                                   "    account\n"
                                   "        id = 1000000365\n"
                                   "        type = STOCK\n"
                                   "        cash = 1000000\n"
                                   "        position\n"
                                   "            code = 600000.SH\n"
                                   "            volume = 550\n"
                                   "            avg_price = 10.00\n";

static void start_reject(void) {
    start_with(REJECT_CONFIG);
}

/* Place an order that the broker rejects: junk (57) with `reason`, order_error push. */
static void expect_junk(xtb_client_t *c, const char *code, int32_t type, int64_t volume,
                        double price, const char *reason) {
    int64_t id = place(c, ACC, code, type, volume, price);
    cr_assert_gt(id, 0, "%s %lld @%.3f: order_stock returned %lld (a junk order keeps its id)",
                 code, (long long)volume, price, (long long)id);
    const Xtbridge__XtOrder *o;
    Xtbridge__Reply *r = get_order(c, id, &o);
    cr_assert_eq(o->order_status, 57, "%s %lld @%.3f: status %d, expected junk (%s)", code,
                 (long long)volume, price, o->order_status, reason ? reason : "");
    if (reason)
        cr_assert_str_eq(o->status_msg, reason);
    else
        cr_assert_str_not_empty(o->status_msg);
    char msg[128];
    snprintf(msg, sizeof msg, "%s", o->status_msg);
    xtb_reply_destroy(&r);
    Xtbridge__Event *ev =
        xtbt_wait_event(c, "order_error." ACC ".", XTBRIDGE__EVENT__BODY_ORDER_ERROR, 3000);
    cr_assert_not_null(ev, "no order_error push for %s (%s)", code, msg);
    cr_assert_str_eq(ev->topic, "order_error." ACC ".");
    cr_assert_eq(ev->order_error->order_id, id);
    cr_assert_eq(ev->order_error->error_id, -61);
    cr_assert_str_eq(ev->order_error->error_msg, msg);
    cr_assert_str_eq(ev->order_error->account_id, ACC);
    xtb_event_destroy(&ev);
}

/* An order the broker accepts (not junk). */
static int64_t expect_accepted(xtb_client_t *c, const char *code, int32_t type, int64_t volume,
                               double price) {
    int64_t id = place(c, ACC, code, type, volume, price);
    cr_assert_gt(id, 0);
    const Xtbridge__XtOrder *o;
    Xtbridge__Reply *r = get_order(c, id, &o);
    cr_assert_neq(o->order_status, 57, "%s %lld @%.2f rejected: %s", code, (long long)volume, price,
                  o->status_msg);
    xtb_reply_destroy(&r);
    return id;
}

static void expect_invalid(xtb_client_t *c, Xtbridge__Request *req, const char *what) {
    Xtbridge__Reply *r = xtbt_call(c, req);
    cr_assert_eq(r->error->code, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT, "%s: got %s (%s)", what,
                 xtb_error_code_name(r->error->code), r->error->message);
    cr_assert_str_not_empty(r->error->message, "%s: no message", what);
    xtb_reply_destroy(&r);
}

Test(integration, every_rejection_reason, .init = start_reject, .fini = stop_bridge,
     .timeout = 60) {
    xtb_client_t *c = s_client;
    cr_assert_eq(xtb_client_subscribe(c, "order_error."), 0);
    cr_assert_eq(xtb_client_sync_subscriptions(c, 5000), 0);

    /* texts: the sim's, with the values that broke the rule */
    expect_junk(c, "600000.SH", BUY, 150, 10.60, "volume 150 is not a multiple of 100");
    expect_junk(c, "600000.SH", SELL, 600, 10.60, "insufficient shares: sell 600, sellable 550");
    expect_junk(c, "000001.SZ", SELL, 100, 11.00, "insufficient shares: sell 100, sellable 0");
    /* of 550 the odd 50 must go in one order (selling it alone is legal) */
    expect_junk(c, "600000.SH", SELL, 30, 10.60,
                "odd lot: sell 30 of sellable 550 must be lots of 100, plus the odd 50 in one "
                "order");
    expect_junk(c, "600519.SH", BUY, 700, 1500.00,
                "insufficient cash: need 1050273.00, available 1000000.00");
    expect_junk(c, "600000.SH", BUY, 100, 11.67, "price 11.67 outside price limits 9.54 - 11.66");
    expect_junk(c, "600000.SH", BUY, 100, 9.53, "price 9.53 outside price limits 9.54 - 11.66");
    expect_junk(c, "300750.SZ", BUY, 100, 240.01,
                "price 240.01 outside price limits 160.00 - 240.00");
    expect_junk(c, "688981.SH", BUY, 200, 60.01, "price 60.01 outside price limits 40.00 - 60.00");
    expect_junk(c, "430047.BJ", BUY, 100, 13.01, "price 13.01 outside price limits 7.00 - 13.00");
    expect_junk(c, "999999.SH", BUY, 100, 10.00, "unknown code 999999.SH");
    /* A credit order type (27 CREDIT_FIN_BUY) on a STOCK account; text: the sim's. */
    int64_t credit = place(c, ACC, "600000.SH", 27, 100, 10.60);
    cr_assert_gt(credit, 0);
    const Xtbridge__XtOrder *o;
    Xtbridge__Reply *r = get_order(c, credit, &o);
    cr_assert_eq(o->order_status, 57, "credit order type on STOCK: status %d", o->order_status);
    xtb_reply_destroy(&r);
    Xtbridge__Event *ev =
        xtbt_wait_event(c, "order_error." ACC ".", XTBRIDGE__EVENT__BODY_ORDER_ERROR, 3000);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->order_error->order_id, credit);
    xtb_event_destroy(&ev);

    /* Boundaries are accepted: limit up exactly, the whole odd-lot balance. */
    expect_accepted(c, "600000.SH", BUY, 100, 11.66);
    expect_accepted(c, "300750.SZ", BUY, 100, 240.00);
    expect_accepted(c, "600000.SH", SELL, 550, 10.60);

    /* Unknown account: -1 and an order_error push on order_error.<account>. */
    r = xtbt_call_ok(c,
                     xtb_req_order("999888777", "600000.SH", BUY, 100, FIX, 10.60, "", "", false),
                     XTBRIDGE__REPLY__RESULT_ORDER_STOCK);
    cr_assert_eq(r->order_stock->order_id, -1);
    xtb_reply_destroy(&r);
    ev = xtbt_wait_event(c, "order_error.999888777.", XTBRIDGE__EVENT__BODY_ORDER_ERROR, 3000);
    cr_assert_not_null(ev, "no order_error push for the unknown account");
    cr_assert_str_eq(ev->topic, "order_error.999888777.");
    cr_assert_str_eq(ev->order_error->account_id, "999888777");
    xtb_event_destroy(&ev);

    /* Bridge-side INVALID_ARGUMENT: nothing reaches the broker. */
    size_t before = order_count(c, ACC);
    expect_invalid(c, xtb_req_order(ACC, "600000.SH", BUY, 0, FIX, 10.60, "", "", false),
                   "volume 0");
    expect_invalid(c, xtb_req_order(ACC, "600000.SH", BUY, -100, FIX, 10.60, "", "", false),
                   "volume -100");
    expect_invalid(c, xtb_req_order(ACC, "600000.SH", BUY, 100, FIX, NAN, "", "", false),
                   "NaN price");
    expect_invalid(c, xtb_req_order(ACC, "600000.SH", BUY, 100, FIX, INFINITY, "", "", false),
                   "inf price");
    expect_invalid(c, xtb_req_order(ACC, "600000.SH", BUY, 100, FIX, -1.0, "", "", false),
                   "negative price");
    expect_invalid(c, xtb_req_order(ACC, "ABC", BUY, 100, FIX, 10.60, "", "", false),
                   "bad code syntax");
    expect_invalid(c, xtb_req_order(ACC, "600000.SH", 9999, 100, FIX, 10.60, "", "", false),
                   "unknown order_type");
    expect_invalid(c, xtb_req_order(ACC, "600000.SH", BUY, 100, 9999, 10.60, "", "", false),
                   "unknown price_type");
    expect_invalid(c, xtb_req_order(NULL, "600000.SH", BUY, 100, FIX, 10.60, "", "", false),
                   "missing account");
    cr_assert_eq(order_count(c, ACC), before, "an invalid request created an order");
}

/* ---- (3) topic isolation between neighbouring account ids ---------------------------- */

static const char *TWO_ACCOUNTS = "sim\n"
                                  "    account\n"
                                  "        id = 1000000365\n"
                                  "        type = STOCK\n"
                                  "        cash = 1000000\n"
                                  "    account\n"
                                  "        id = 10000003650\n"
                                  "        type = STOCK\n"
                                  "        cash = 1000000\n";

static void start_two(void) {
    start_with(TWO_ACCOUNTS);
}

Test(integration, push_reaches_own_topic_not_neighbour, .init = start_two, .fini = stop_bridge,
     .timeout = 60) {
    xtb_client_t *mine = xtbt_bridge_client(s_bridge);
    xtb_client_t *theirs = xtbt_bridge_client(s_bridge);
    xtb_client_t *all = xtbt_bridge_client(s_bridge);
    cr_assert_eq(xtb_client_subscribe(mine, "trade." ACC "."), 0);
    cr_assert_eq(xtb_client_subscribe(theirs, "trade." NEIGHBOUR "."), 0);
    cr_assert_eq(xtb_client_subscribe(all, "trade."), 0);
    cr_assert_eq(xtb_client_sync_subscriptions(mine, 5000), 0);
    cr_assert_eq(xtb_client_sync_subscriptions(theirs, 5000), 0);
    cr_assert_eq(xtb_client_sync_subscriptions(all, 5000), 0);

    Xtbridge__Reply *h = NULL;
    cr_assert_eq(xtb_client_hello(s_client, 5000, &h), 0);
    cr_assert_eq(h->hello->n_accounts, 2);
    xtb_reply_destroy(&h);

    /* Marketable buys fill at once: 100 for ACC, 200 for the neighbour. */
    int64_t a = place(s_client, ACC, "600000.SH", BUY, 100, 10.60);
    int64_t b = place(s_client, NEIGHBOUR, "000001.SZ", BUY, 200, 11.00);
    cr_assert_gt(a, 0);
    cr_assert_gt(b, 0);

    char *topic = NULL;
    Xtbridge__Event *ev = NULL;
    cr_assert_eq(xtb_client_recv_event(mine, 3000, &topic, &ev), 0, "%s", xtb_client_error(mine));
    cr_assert_str_eq(topic, "trade." ACC ".");
    cr_assert_str_eq(ev->trade->account_id, ACC);
    cr_assert_eq(ev->trade->order_id, a);
    cr_assert_eq(ev->trade->traded_volume, 100);
    free(topic);
    xtb_event_destroy(&ev);

    cr_assert_eq(xtb_client_recv_event(theirs, 3000, &topic, &ev), 0);
    cr_assert_str_eq(topic, "trade." NEIGHBOUR ".");
    cr_assert_str_eq(ev->trade->account_id, NEIGHBOUR);
    cr_assert_eq(ev->trade->order_id, b);
    cr_assert_eq(ev->trade->traded_volume, 200);
    free(topic);
    xtb_event_destroy(&ev);

    /* "trade." sees both, in publish order. */
    cr_assert_eq(xtb_client_recv_event(all, 3000, &topic, &ev), 0);
    cr_assert_str_eq(topic, "trade." ACC ".");
    free(topic);
    xtb_event_destroy(&ev);
    cr_assert_eq(xtb_client_recv_event(all, 3000, &topic, &ev), 0);
    cr_assert_str_eq(topic, "trade." NEIGHBOUR ".");
    free(topic);
    xtb_event_destroy(&ev);

    /* Both trades were published before the second order's reply: nothing else comes. */
    cr_assert_eq(xtb_client_recv_event(mine, 300, &topic, &ev), -1, "neighbour leaked: %s", topic);
    cr_assert_eq(xtb_client_recv_event(theirs, 300, &topic, &ev), -1, "leaked: %s", topic);
    xtb_client_destroy(&mine);
    xtb_client_destroy(&theirs);
    xtb_client_destroy(&all);
}

/* ---- (4) garbage frames --------------------------------------------------------------- */

static void expect_raw_error(xtb_client_t *c, const void *const *frames, const size_t *sizes,
                             size_t n, const char *id, Xtbridge__ErrorCode code, const char *what) {
    cr_assert_eq(xtb_client_send_raw(c, frames, sizes, n), 0);
    Xtbridge__Reply *r = NULL;
    cr_assert_eq(xtb_client_recv_reply(c, id, 3000, &r), 0, "%s: no reply with id \"%s\": %s", what,
                 id, xtb_client_error(c));
    cr_assert_not_null(r->error);
    cr_assert_eq(r->error->code, code, "%s: got %s (%s)", what, xtb_error_code_name(r->error->code),
                 r->error->message);
    cr_assert_eq(r->result_case, XTBRIDGE__REPLY__RESULT__NOT_SET);
    xtb_reply_destroy(&r);
    expect_ping(c);
}

Test(integration, garbage_frames_get_documented_replies, .init = start_default, .fini = stop_bridge,
     .timeout = 60) {
    xtb_client_t *c = s_client;
    const uint8_t junk[] = {0xff, 0xff, 0xff, 0x07, 0x13, 0x37};
    const void *f1[] = {junk};
    size_t s1[] = {sizeof junk};
    expect_raw_error(c, f1, s1, 1, "", XTBRIDGE__ERROR_CODE__MALFORMED, "random bytes");

    const void *f0[] = {""};
    size_t s0[] = {0};
    expect_raw_error(c, f0, s0, 1, "", XTBRIDGE__ERROR_CODE__MALFORMED, "empty frame");

    Xtbridge__Request *ping = xtb_req_ping(1);
    xtb_request_set_id(ping, "five-frames");
    uint8_t packed[128];
    size_t plen = xtbridge__request__pack(ping, packed);
    xtb_request_destroy(&ping);
    const void *f5[] = {packed, packed, packed, packed, packed};
    size_t s5[] = {plen, plen, plen, plen, plen};
    expect_raw_error(c, f5, s5, 5, "", XTBRIDGE__ERROR_CODE__MALFORMED, "5 frames");

    /* A valid request cut inside its request_id. */
    const void *ft[] = {packed};
    size_t st[] = {8};
    cr_assert_gt(plen, 8);
    expect_raw_error(c, ft, st, 1, "", XTBRIDGE__ERROR_CODE__MALFORMED, "truncated protobuf");

    /* request_id "u-77" + field 77 (tag (77 << 3) | 2 = 0x26a -> varint ea 04), empty. */
    const uint8_t unknown[] = {0x0a, 0x04, 'u', '-', '7', '7', 0xea, 0x04, 0x00};
    const void *fu[] = {unknown};
    size_t su[] = {sizeof unknown};
    expect_raw_error(c, fu, su, 1, "u-77", XTBRIDGE__ERROR_CODE__UNKNOWN_CALL, "field 77");

    /* request_id and no body at all. */
    const uint8_t nobody[] = {0x0a, 0x03, 'n', '-', '1'};
    const void *fn[] = {nobody};
    size_t sn[] = {sizeof nobody};
    expect_raw_error(c, fn, sn, 1, "n-1", XTBRIDGE__ERROR_CODE__UNKNOWN_CALL, "no body");

    Xtbridge__Reply *r = xtbt_call_ok(c, xtb_req_stats(), XTBRIDGE__REPLY__RESULT_STATS);
    cr_assert_eq(r->stats->malformed, 4, "stats.malformed %llu",
                 (unsigned long long)r->stats->malformed);
    xtb_reply_destroy(&r);
}

/* ---- (5) unserved call ------------------------------------------------------------------ */

Test(integration, unserved_call_is_unknown_call_naming_it, .init = start_default,
     .fini = stop_bridge, .timeout = 60) {
    /* the sim serves every xttrader call now: a call newer than this bridge (a Request
       body field it does not know, 199) stands in, named by its field number */
    const uint8_t frame[] = {0x0a, 0x03, 'u', 'n', 'k', 0xba, 0x0c, 0x00};
    const void *frames[] = {frame};
    size_t sizes[] = {sizeof frame};
    cr_assert_eq(xtb_client_send_raw(s_client, frames, sizes, 1), 0);
    Xtbridge__Reply *r = NULL;
    cr_assert_eq(xtb_client_recv_reply(s_client, "unk", 5000, &r), 0);
    cr_assert_eq(r->error->code, XTBRIDGE__ERROR_CODE__UNKNOWN_CALL, "got %s",
                 xtb_error_code_name(r->error->code));
    cr_assert(strstr(r->error->message, "199") != NULL, "message: %s", r->error->message);
    xtb_reply_destroy(&r);
    /* and hello lists every xttrader call of the vendor doc */
    const char *calls[] = {"fund_transfer",
                           "sync_transaction_from_external",
                           "query_credit_detail",
                           "query_stk_compacts",
                           "query_credit_subjects",
                           "query_credit_slo_code",
                           "query_credit_assure",
                           "query_com_fund",
                           "query_com_position",
                           "smt_query_quoter",
                           "smt_negotiate_order_async",
                           "smt_query_compact",
                           "query_position_statistics",
                           "query_new_purchase_limit",
                           "query_ipo_data",
                           "export_data",
                           "query_data",
                           "set_relaxed_response_order_enabled"};
    Xtbridge__Reply *h = NULL;
    cr_assert_eq(xtb_client_hello(s_client, 5000, &h), 0);
    for (size_t k = 0; k < sizeof calls / sizeof calls[0]; k++) {
        bool listed = false;
        for (size_t i = 0; i < h->hello->n_calls; i++)
            listed = listed || strcmp(h->hello->calls[i], calls[k]) == 0;
        cr_assert(listed, "hello does not list %s", calls[k]);
    }
    xtb_reply_destroy(&h);
    expect_ping(s_client);
}

/* ---- (6) idempotency ------------------------------------------------------------------ */

Test(integration, same_request_id_same_order, .init = start_default, .fini = stop_bridge,
     .timeout = 60) {
    xtb_client_t *c = s_client;
    Xtbridge__Request *req =
        xtb_req_order(ACC, "600000.SH", BUY, 1000, FIX, 10.50, "idem", "", false);
    xtb_request_set_id(req, "idem-order-1");
    Xtbridge__Reply *r1 = NULL, *r2 = NULL;
    cr_assert_eq(xtb_client_call_ok(c, req, 5000, &r1), 0, "%s", xtb_client_error(c));
    cr_assert_eq(xtb_client_call_ok(c, req, 5000, &r2), 0, "%s", xtb_client_error(c));
    cr_assert_str_eq(r2->request_id, "idem-order-1");
    cr_assert_gt(r1->order_stock->order_id, 0);
    cr_assert_eq(r2->order_stock->order_id, r1->order_stock->order_id);
    xtb_reply_destroy(&r1);
    xtb_reply_destroy(&r2);
    xtb_request_destroy(&req);
    cr_assert_eq(order_count(c, ACC), 1);
    expect_asset(c, 989494.89, 10505.11, 0, 1000000.00); /* frozen once */

    /* Another client (other routing id) with the same request_id is a new order. */
    xtb_client_t *other = xtbt_bridge_client(s_bridge);
    req = xtb_req_order(ACC, "600000.SH", BUY, 100, FIX, 10.50, "idem", "", false);
    xtb_request_set_id(req, "idem-order-1");
    cr_assert_eq(xtb_client_call_ok(other, req, 5000, &r1), 0);
    xtb_request_destroy(&req);
    xtb_reply_destroy(&r1);
    cr_assert_eq(order_count(c, ACC), 2);
    xtb_client_destroy(&other);

    Xtbridge__Reply *s = xtbt_call_ok(c, xtb_req_stats(), XTBRIDGE__REPLY__RESULT_STATS);
    cr_assert_eq(s->stats->idempotent_hits, 1);
    xtb_reply_destroy(&s);
}

/* ---- (7) replay ---------------------------------------------------------------------- */

typedef struct {
    size_t n;
    uint64_t seq[16];
    int32_t status[16];
    char topic[16][64];
} seen_t;

static int collect(const Xtbridge__Event *ev, void *arg) {
    seen_t *s = (seen_t *)arg;
    if (s->n < 16) {
        s->seq[s->n] = ev->seq;
        s->status[s->n] =
            ev->body_case == XTBRIDGE__EVENT__BODY_ORDER ? ev->order->order_status : -1;
        snprintf(s->topic[s->n], sizeof s->topic[0], "%s", ev->topic);
    }
    s->n++;
    return 0;
}

Test(integration, replay_returns_journaled_events_after_seq, .init = start_default,
     .fini = stop_bridge, .timeout = 60) {
    xtb_client_t *c = s_client;
    int64_t id = place(c, ACC, "600000.SH", BUY, 100, 10.00); /* rests: 48, 50 */
    Xtbridge__Reply *r =
        xtbt_call_ok(c, xtb_req_cancel(ACC, id, false), XTBRIDGE__REPLY__RESULT_CANCEL_ORDER_STOCK);
    cr_assert_eq(r->cancel_order_stock->result, 0); /* 51, 54 */
    xtb_reply_destroy(&r);

    seen_t all = {0};
    int n = xtb_client_replay(c, "order." ACC ".", NULL, NULL, 0, 5000, collect, &all);
    cr_assert_eq(n, 4, "replay of everything: %d events (%s)", n, xtb_client_error(c));
    int32_t want[] = {48, 50, 51, 54};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(all.seq[i], (uint64_t)i + 1);
        cr_assert_eq(all.status[i], want[i]);
        cr_assert_str_eq(all.topic[i], "order." ACC ".");
    }

    const char *topics[] = {"order." ACC "."};
    uint64_t after[] = {2};
    seen_t tail = {0};
    n = xtb_client_replay(c, "order." ACC ".", topics, after, 1, 5000, collect, &tail);
    cr_assert_eq(n, 2, "replay after seq 2: %d events", n);
    cr_assert_eq(tail.seq[0], 3);
    cr_assert_eq(tail.status[0], 51);
    cr_assert_eq(tail.seq[1], 4);
    cr_assert_eq(tail.status[1], 54);

    /* Prefix filter: the order's pushes only, no trade/asset topics. */
    seen_t none = {0};
    n = xtb_client_replay(c, "trade.", NULL, NULL, 0, 5000, collect, &none);
    cr_assert_eq(n, 0);

    /* Pull-based: one reply per request. max_events 1 gives the first event and more; no
       second reply comes for that request_id. */
    Xtbridge__Request *req = xtb_req_replay("order." ACC ".", NULL, NULL, 0, 1);
    cr_assert_eq(xtb_client_call_ok(c, req, 5000, &r), 0, "%s", xtb_client_error(c));
    xtb_request_destroy(&req);
    cr_assert_eq(r->result_case, XTBRIDGE__REPLY__RESULT_REPLAY);
    cr_assert_eq(r->replay->n_events, 1);
    cr_assert_eq(r->replay->events[0]->seq, 1);
    cr_assert(r->replay->more);
    cr_assert_neq(r->replay->bridge_epoch, 0);
    char rid[128];
    snprintf(rid, sizeof rid, "%s", r->request_id);
    xtb_reply_destroy(&r);
    cr_assert_eq(xtb_client_recv_reply(c, rid, 300, &r), -1, "a second reply to one request");
    cr_assert_eq(xtb_client_errkind(c), XTB_CLIENT_TIMEOUT);

    /* The client pages: 4 requests of 1 event; a full last page says no more. */
    seen_t paged = {0};
    n = xtb_client_replay_max(c, "order." ACC ".", NULL, NULL, 0, 1, 5000, collect, &paged);
    cr_assert_eq(n, 4, "%d (%s)", n, xtb_client_error(c));
    cr_assert_eq(xtb_client_replay_requests(c), 4);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(paged.seq[i], (uint64_t)i + 1);
        cr_assert_eq(paged.status[i], want[i]);
    }
    n = xtb_client_replay_max(c, "order." ACC ".", NULL, NULL, 0, 4, 5000, NULL, NULL);
    cr_assert_eq(n, 4);
    cr_assert_eq(xtb_client_replay_requests(c), 1);
}

/* Checks that replayed events of one topic come as seq 1, 2, 3 ... */
typedef struct {
    uint64_t next;
    size_t wrong;
} in_order_t;

static int in_order(const Xtbridge__Event *ev, void *arg) {
    in_order_t *s = (in_order_t *)arg;
    if (ev->seq != ++s->next)
        s->wrong++;
    return 0;
}

Test(integration, replay_pages_default_500_capped_at_1000, .init = start_default,
     .fini = stop_bridge, .timeout = 120) {
    xtb_client_t *c = s_client;
    /* 501 resting buys: 1002 order events (48, 50 each). */
    for (int i = 0; i < 501; i++)
        place(c, ACC, "600000.SH", BUY, 100, 10.00);
    const char *topic = "order." ACC ".";
    uint32_t max_events[] = {0, 5000, 1000, 7};
    size_t want_first[] = {500, 1000, 1000, 7};
    size_t want_requests[] = {3, 2, 2, 144}; /* 1002 = 500+500+2 = 1000+2 = 143*7+1 */
    for (size_t k = 0; k < 4; k++) {
        Xtbridge__Request *req = xtb_req_replay(topic, NULL, NULL, 0, max_events[k]);
        Xtbridge__Reply *r = NULL;
        cr_assert_eq(xtb_client_call_ok(c, req, 5000, &r), 0, "%s", xtb_client_error(c));
        xtb_request_destroy(&req);
        cr_assert_eq(r->replay->n_events, want_first[k], "max_events %u: first page of %zu",
                     max_events[k], r->replay->n_events);
        cr_assert(r->replay->more);
        xtb_reply_destroy(&r);

        in_order_t st = {0};
        int n = xtb_client_replay_max(c, topic, NULL, NULL, 0, max_events[k], 5000, in_order, &st);
        cr_assert_eq(n, 1002, "max_events %u: %d (%s)", max_events[k], n, xtb_client_error(c));
        cr_assert_eq(st.wrong, 0);
        cr_assert_eq(xtb_client_replay_requests(c), want_requests[k], "max_events %u: %zu",
                     max_events[k], xtb_client_replay_requests(c));
    }
}

/* ---- (8) xtbctl smoke ------------------------------------------------------------------ */

static int run_ctl(const char *args, char *out, size_t outlen) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s --router %s --timeout 3000 %s 2>&1", XTB_XTBCTL_BIN,
             s_bridge->router_ep, args);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t n = fread(out, 1, outlen - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(integration, xtbctl_smoke, .init = start_default, .fini = stop_bridge, .timeout = 60) {
    char out[8192];
    cr_assert_eq(run_ctl("hello", out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "backend:          sim\n") != NULL, "%s", out);
    cr_assert(strstr(out, "protocol_version: 2\n") != NULL, "%s", out);
    cr_assert(strstr(out, s_bridge->pub_ep) != NULL, "%s", out);
    cr_assert(strstr(out, "account:          1000000365 (type 2)") != NULL, "%s", out);

    cr_assert_eq(run_ctl("ping", out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "rtt=") != NULL, "%s", out);

    cr_assert_eq(run_ctl("order 600000.SH buy 1000 10.50", out, sizeof out), 0, "%s", out);
    cr_assert_str_eq(out, "order_id 1 ORDER_REPORTED\n");

    cr_assert_eq(run_ctl("orders", out, sizeof out), 0, "%s", out);
    cr_assert(strncmp(out, "ORDER_ID", 8) == 0, "%s", out);
    const char *row = strchr(out, '\n');
    cr_assert_not_null(row);
    /* the row's columns, in order: ORDER_ID SYSID CODE SIDE VOLUME PRICE ... */
    long long oid = 0, vol = 0;
    char sysid[32], code[32], side[16];
    double price = 0;
    cr_assert_eq(
        sscanf(row + 1, "%lld %31s %31s %15s %lld %lf", &oid, sysid, code, side, &vol, &price), 6,
        "%s", out);
    cr_assert_eq(oid, 1);
    cr_assert_str_eq(sysid, "20000001");
    cr_assert_str_eq(code, "600000.SH");
    cr_assert_str_eq(side, "BUY");
    cr_assert_eq(vol, 1000);
    cr_assert_float_eq(price, 10.5, 1e-9);
    cr_assert(strstr(row, "600000.SH") && strstr(row, "BUY") && strstr(row, "1000") &&
                  strstr(row, "10.500") && strstr(row, "ORDER_REPORTED"),
              "%s", out);

    cr_assert_eq(run_ctl("--json orders", out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "\"order_id\":1,") && strstr(out, "\"order_status\":50,"), "%s", out);
    cr_assert_eq(strchr(out, '\n') - out + 1, (long)strlen(out), "one line per order: %s", out);

    cr_assert_eq(run_ctl("asset", out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "cash:         989494.89\n") != NULL, "%s", out);
    cr_assert(strstr(out, "frozen_cash:  10505.11\n") != NULL, "%s", out);
    cr_assert(strstr(out, "total_asset:  1000000.00\n") != NULL, "%s", out);

    cr_assert_eq(run_ctl("--json asset", out, sizeof out), 0, "%s", out);
    cr_assert_str_eq(out, "{\"account_type\":2,\"account_id\":\"1000000365\",\"cash\":989494.89,"
                          "\"frozen_cash\":10505.11,\"market_value\":0,\"total_asset\":1000000}\n");

    /* A junk order: the broker rejected it, exit 4 with the reason. */
    cr_assert_eq(run_ctl("order 600000.SH buy 150 10.50", out, sizeof out), 4, "%s", out);
    cr_assert_str_eq(out, "order_id 2 ORDER_JUNK: volume 150 is not a multiple of 100\n");

    /* Bridge errors: exit 1 with the code name and message. */
    cr_assert_eq(run_ctl("order 600000.SH buy 0 10.50", out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "INVALID_ARGUMENT") != NULL, "%s", out);
    /* a failed cancel is the broker's rejection: exit 4 */
    cr_assert_eq(run_ctl("cancel 99", out, sizeof out), 4, "%s", out);
    cr_assert(strstr(out, "cancel result -1") != NULL, "%s", out);

    /* human text names xtconstant codes; JSON keeps the numbers */
    cr_assert_eq(run_ctl("replay order." ACC ".", out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "order_type=STOCK_BUY") && strstr(out, "order_status=ORDER_REPORTED") &&
                  strstr(out, " price_type=BROKER_PRICE_LIMIT ") &&
                  strstr(out, "requested_price_type=FIX_PRICE") &&
                  strstr(out, "order_status=ORDER_JUNK"),
              "%s", out);
    /* call NAME --arg k=v: any request, fields by dotted path */
    cr_assert_eq(run_ctl("call query_stock_asset", out, sizeof out), 0, "%s", out);
    cr_assert_str_eq(out, "query_stock_asset found=true asset={account_type=2 "
                          "account_id=1000000365 cash=989494.89 frozen_cash=10505.11 "
                          "total_asset=1000000}\n");
    cr_assert_eq(run_ctl("--json call query_stock_orders --arg account.account_id=" ACC
                         " --arg cancelable_only=true",
                         out, sizeof out),
                 0, "%s", out);
    cr_assert(strstr(out, "\"order_id\":1,") && strstr(out, "\"order_status\":50,") &&
                  !strstr(out, "\"order_id\":2,"),
              "only the open order: %s", out);
    cr_assert_eq(run_ctl("call order_stock --arg stock_code=600000.SH --arg order_type=23 "
                         "--arg order_volume=0 --arg price_type=11 --arg price=10",
                         out, sizeof out),
                 1, "%s", out);
    cr_assert(strstr(out, "INVALID_ARGUMENT") != NULL, "%s", out);
    cr_assert_eq(run_ctl("call frobnicate", out, sizeof out), 2, "%s", out);
    cr_assert(strstr(out, "'frobnicate' is not a request name") != NULL, "%s", out);
    cr_assert_eq(run_ctl("call query_stock_orders --arg cancelable=1", out, sizeof out), 2, "%s",
                 out);
    cr_assert(strstr(out, "has no field 'cancelable'") != NULL, "%s", out);
    cr_assert_eq(run_ctl("call sim_set_price --arg liquidity=lots", out, sizeof out), 2, "%s", out);
    cr_assert(strstr(out, "bad value 'lots' for") != NULL, "%s", out);
    cr_assert_eq(run_ctl("--version", out, sizeof out), 0, "%s", out);
    cr_assert_str_eq(out, "xtbctl " XTB_VERSION " (protocol 2)\n");
    cr_assert_eq(run_ctl("cancel 1", out, sizeof out), 0, "%s", out);
    cr_assert_eq(run_ctl("show-order 1", out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "ORDER_CANCELED") != NULL, "%s", out);
    cr_assert_eq(run_ctl("sim-price 600000.SH 10.40", out, sizeof out), 0, "%s", out);
    cr_assert_eq(run_ctl("positions", out, sizeof out), 0, "%s", out);
    cr_assert_eq(run_ctl("trades", out, sizeof out), 0, "%s", out);
    cr_assert_eq(run_ctl("status", out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "1000000365") != NULL, "%s", out);
    cr_assert_eq(run_ctl("stats", out, sizeof out), 0, "%s", out);
    cr_assert_eq(run_ctl("sim-next-day", out, sizeof out), 0, "%s", out);

    /* Usage errors exit 2, an unreachable bridge exits 3. */
    cr_assert_eq(run_ctl("order 600000.SH hold 100 10", out, sizeof out), 2, "%s", out);
    cr_assert_eq(run_ctl("frobnicate", out, sizeof out), 2, "%s", out);
    char cmd[1024];
    char ep[256];
    snprintf(cmd, sizeof cmd, "%s --router %s --timeout 200 ping >/dev/null 2>&1", XTB_XTBCTL_BIN,
             xtbt_endpoint(ep, sizeof ep, "nobody"));
    int st = system(cmd);
    cr_assert_eq(WEXITSTATUS(st), 3);

    /* watch hides heartbeats (one a second here) unless --heartbeats */
    for (int with = 0; with < 2; with++) {
        snprintf(cmd, sizeof cmd, "timeout 2.5 %s --router %s watch heartbeat. %s 2>/dev/null",
                 XTB_XTBCTL_BIN, s_bridge->router_ep, with ? "--heartbeats" : "");
        FILE *p = popen(cmd, "r");
        cr_assert_not_null(p);
        size_t n = fread(out, 1, sizeof out - 1, p);
        out[n] = '\0';
        pclose(p);
        if (with)
            cr_assert(strstr(out, " heartbeat. seq=") != NULL, "%s", out);
        else
            cr_assert_str_eq(out, "", "heartbeats shown without --heartbeats");
    }
}

/* ---- (9) SIGTERM exits 0, and round-trip times ------------------------------------------ */

Test(integration, sigterm_exits_zero, .timeout = 60) {
    xtbt_bridge_t *b = xtbt_bridge_start(NULL, NULL);
    cr_assert_not_null(b);
    xtb_client_t *c = xtbt_bridge_client(b);
    expect_ping(c);
    xtb_client_destroy(&c);
    int status = xtbt_bridge_stop(&b);
    cr_assert_eq(status, 0, "exit status %d", status);
}

Test(integration, round_trip_times, .init = start_default, .fini = stop_bridge, .timeout = 120) {
    xtb_client_t *c = s_client;
    const int pings = 1000, orders = 300;
    int64_t t0 = zclock_usecs();
    for (int i = 0; i < pings; i++)
        expect_ping(c);
    int64_t t1 = zclock_usecs();
    for (int i = 0; i < orders; i++)
        cr_assert_gt(place(c, ACC, "600000.SH", BUY, 100, 10.00), 0); /* rests */
    int64_t t2 = zclock_usecs();
    fprintf(stderr, "round trips: ping %.1f us, order_stock %.1f us (avg over %d / %d)\n",
            (double)(t1 - t0) / pings, (double)(t2 - t1) / orders, pings, orders);
    cr_assert_eq(order_count(c, ACC), (size_t)orders);
}

/* ---- async calls: the response push comes before the order's other pushes ----------- */

Test(integration, async_responses_precede_errors, .init = start_default, .fini = stop_bridge,
     .timeout = 60) {
    xtb_client_t *c = s_client;
    subscribe_account(c, ACC);

    /* A junk async order (odd lot buy): order_async(seq, order_id), then its order_error. */
    Xtbridge__Reply *r =
        xtbt_call_ok(c, xtb_req_order(ACC, "600000.SH", BUY, 150, FIX, 10.60, "a", "", true),
                     XTBRIDGE__REPLY__RESULT_ORDER_STOCK_ASYNC);
    int64_t seq = r->order_stock_async->seq;
    cr_assert_gt(seq, 0);
    xtb_reply_destroy(&r);
    Xtbridge__Event *ev = expect_push(c, "order_async." ACC ".", XTBRIDGE__EVENT__BODY_ORDER_ASYNC);
    cr_assert_eq(ev->order_async->seq, seq);
    int64_t order_id = ev->order_async->order_id;
    cr_assert_gt(order_id, 0);
    xtb_event_destroy(&ev);
    ev = xtbt_wait_event(c, "order_error." ACC ".", XTBRIDGE__EVENT__BODY_ORDER_ERROR, 3000);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->order_error->order_id, order_id);
    cr_assert_eq(ev->order_error->seq, seq);
    cr_assert_str_eq(ev->order_error->error_msg, "volume 150 is not a multiple of 100");
    xtb_event_destroy(&ev);

    /* A failing async cancel: cancel_async(cancel_result -1, seq), then cancel_error. */
    r = xtbt_call_ok(c, xtb_req_cancel(ACC, 987654, true),
                     XTBRIDGE__REPLY__RESULT_CANCEL_ORDER_STOCK_ASYNC);
    int64_t cseq = r->cancel_order_stock_async->seq;
    cr_assert_gt(cseq, seq, "async seq is a bridge-wide counter");
    xtb_reply_destroy(&r);
    ev = xtbt_wait_event(c, "cancel_async." ACC ".", XTBRIDGE__EVENT__BODY_CANCEL_ASYNC, 3000);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->cancel_async->seq, cseq);
    cr_assert_eq(ev->cancel_async->cancel_result, -1);
    xtb_event_destroy(&ev);
    ev = expect_push(c, "cancel_error." ACC ".", XTBRIDGE__EVENT__BODY_CANCEL_ERROR);
    cr_assert_eq(ev->cancel_error->seq, cseq);
    cr_assert_eq(ev->cancel_error->error_id, -63);
    xtb_event_destroy(&ev);
}

/* ---- oversize frames ----------------------------------------------------------------------- */

/* A frame over --max-msg-size is dropped by libzmq (ZMQ_MAXMSGSIZE), which closes that
   connection; nothing reaches the bridge, which goes on serving everyone. */
Test(integration, oversize_frame_is_dropped_and_bridge_serves_on, .timeout = 60) {
    const char *args[] = {"--max-msg-size", "4096", NULL};
    xtbt_bridge_t *bridge = xtbt_bridge_start(NULL, args);
    cr_assert_not_null(bridge);
    xtb_client_t *big = xtbt_bridge_client(bridge);
    xtb_client_t *other = xtbt_bridge_client(bridge);
    Xtbridge__Reply *r = xtbt_call_ok(other, xtb_req_ping(7), XTBRIDGE__REPLY__RESULT_PING);
    xtb_reply_destroy(&r);

    size_t size = 8192;
    uint8_t *blob = (uint8_t *)calloc(1, size);
    const void *frames[] = {blob};
    size_t sizes[] = {size};
    cr_assert_eq(xtb_client_send_raw(big, frames, sizes, 1), 0);
    Xtbridge__Reply *none = NULL;
    cr_assert_neq(xtb_client_recv_reply(big, "", 300, &none), 0, "an oversize frame got a reply");
    free(blob);

    r = xtbt_call_ok(other, xtb_req_stats(), XTBRIDGE__REPLY__RESULT_STATS);
    cr_assert_eq(r->stats->malformed, 0, "the frame never reached the decoder");
    xtb_reply_destroy(&r);
    /* the sender's DEALER reconnects by itself and is served again */
    r = xtbt_call_ok(big, xtb_req_ping(8), XTBRIDGE__REPLY__RESULT_PING);
    cr_assert_eq(r->ping->client_time_ns, 8);
    xtb_reply_destroy(&r);
    xtb_client_destroy(&big);
    xtb_client_destroy(&other);
    cr_assert_eq(xtbt_bridge_stop(&bridge), 0);
}
