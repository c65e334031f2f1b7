/*  test_contract.c - one contract, two backends: the same test bodies run against the real
    `xtbridge --backend sim` and `xtbridge --backend xtquant` with the stand-in package
    tests/xtquant_standin on PYTHONPATH (suites contract_sim and contract_xtquant).

    Each body drives a bridge over the wire with the C client: the quick-start flow (asset,
    order -> id, pushes on order.<acc>. and trade.<acc>., async order + its response,
    cancel, queries), every call both serve (the cancels by id and sysid, sync and async),
    idempotency (the same request_id twice is one order; a NOT_CONNECTED answer is not
    remembered), an account whose status is not OK (refused as a broker would), and session
    loss (disconnected., NOT_CONNECTED, hello/stats, connected. + account_status, orders
    again, the pushes in between in order and replayable).

    Where the backends legitimately differ (the shape of ids, the status pushes on entry,
    how a session is dropped, what an order on a blocked account returns) a profile holds
    each backend's exact value; the bodies assert that value, never "anything". The sim is
    set to the stand-in's market first: 600000.SH at 10.00 (the stand-in fills a BUY at or
    above 10.00 and rests anything below).
*/
#include <criterion/criterion.h>
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "xtb_client.h"

#define ACC "1000000365"
#define CODE "600000.SH"
#define BUY 23
#define FIX 11

typedef enum { SIM, XTQUANT } backend_t;

typedef struct {
    backend_t backend;
    const char *name;
    int64_t order_id_base;  /* order n (from 1) has id base + n */
    int64_t sysid_base;     /* and order_sysid base + n */
    const char *traded_id1; /* traded_id of the first fill */
    int32_t entry[2];       /* order statuses pushed on entry, before any fill */
    size_t n_entry;
    int32_t cancelled[2]; /* order statuses pushed by a successful cancel */
    size_t n_cancelled;
    const char *down_reason;  /* Disconnected.reason of a drop */
    const char *down_message; /* NOT_CONNECTED text for order_stock */
} profile_t;

static const profile_t SIM_PROFILE = {
    .backend = SIM,
    .name = "sim",
    .order_id_base = 0,       /* the sim numbers orders 1, 2, ... */
    .sysid_base = 20000000,   /* brg_sim_stock.c SYSID_BASE */
    .traded_id1 = "50000001", /* 50000000 + trade number */
    .entry = {48, 50},        /* one push per status change: unreported, reported */
    .n_entry = 2,
    .cancelled = {51, 54}, /* reported-cancel, then cancelled */
    .n_cancelled = 2,
    .down_reason = "sim session dropped by sim_set_session",
    .down_message = "sim session is down (sim_set_session); order_stock was not sent",
};

/* unused in a build without the xtquant backend (XTB_XTQUANT off): the sim half runs */
__attribute__((unused)) static const profile_t XTQUANT_PROFILE = {
    .backend = XTQUANT,
    .name = "xtquant",
    .order_id_base = 1082130432, /* the terminal's ids (stand-in ORDER_ID_BASE) */
    .sysid_base = 100000,
    .traded_id1 = "T1082130433", /* the stand-in's "T<order id>" */
    .entry = {50},               /* the stand-in reports at once */
    .n_entry = 1,
    .cancelled = {54}, /* the stand-in cancels at once */
    .n_cancelled = 1,
    .down_reason = "xtquant on_disconnected (session 100)",
    .down_message = "xtquant session is down (reconnecting); order_stock was not sent",
};

static xtbt_bridge_t *s_bridge;
static xtb_client_t *s_client;

static void start_sim(void) {
    /* one STOCK account, as the stand-in terminal has (the sim's default adds a FUTURE one) */
    s_bridge = xtbt_bridge_start("sim\n    account\n        id = \"" ACC "\"\n"
                                 "        cash = 1000000\n",
                                 NULL);
    cr_assert_not_null(s_bridge, "xtbridge --backend sim did not start");
    s_client = xtbt_bridge_client(s_bridge);
    /* the stand-in's market: 10.00, band 9.00..11.00 */
    Xtbridge__Reply *r = xtbt_call_ok(s_client, xtb_req_sim_set_price(CODE, 10.0, 10.0, 0),
                                      XTBRIDGE__REPLY__RESULT_SIM_SET_PRICE);
    xtb_reply_destroy(&r);
}

__attribute__((unused)) static void start_xtquant(void) {
    /* ASan's leak check would count the interpreter's process-lifetime allocations */
    setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
    setenv("PYTHONPATH", XTB_SOURCE_DIR "/tests/xtquant_standin", 1);
    /* reconnect_ms 1500: the down window the session tests work in */
    const char *config = "xtquant\n    qmt_path = \"userdata_mini\"\n    session_id = 100\n"
                         "    call_timeout_ms = 5000\n    reconnect_ms = 1500\n";
    const char *args[] = {"--backend", "xtquant", NULL};
    s_bridge = xtbt_bridge_start(config, args);
    cr_assert_not_null(s_bridge, "xtbridge --backend xtquant did not start");
    s_client = xtbt_bridge_client(s_bridge);
}

static void stop_bridge(void) {
    xtb_client_destroy(&s_client);
    if (s_bridge)
        cr_expect_eq(xtbt_bridge_stop(&s_bridge), 0, "xtbridge exit status after SIGTERM");
}

/* --- helpers --------------------------------------------------------------------------- */

static void listen_to(xtb_client_t *c, const char *const *topics) {
    for (size_t i = 0; topics[i]; i++)
        cr_assert_eq(xtb_client_subscribe(c, topics[i]), 0, "%s", xtb_client_error(c));
    cr_assert_eq(xtb_client_sync_subscriptions(c, 5000), 0, "%s", xtb_client_error(c));
}

/* The next push (heartbeats are not subscribed): exactly this topic and body. */
static Xtbridge__Event *expect_push(xtb_client_t *c, const char *topic,
                                    Xtbridge__Event__BodyCase body) {
    char *t = NULL;
    Xtbridge__Event *ev = NULL;
    cr_assert_eq(xtb_client_recv_event(c, 5000, &t, &ev), 0, "waiting for %s: %s", topic,
                 xtb_client_error(c));
    cr_assert_str_eq(t, topic, "expected a push on %s, got %s", topic, t);
    cr_assert_eq(ev->body_case, body, "push on %s: body %s", t, xtb_event_body_name(ev->body_case));
    free(t);
    return ev;
}

static void expect_order_push(xtb_client_t *c, int64_t id, int32_t status) {
    Xtbridge__Event *ev = expect_push(c, "order." ACC ".", XTBRIDGE__EVENT__BODY_ORDER);
    cr_assert_eq(ev->order->order_id, id);
    cr_assert_eq(ev->order->order_status, status, "order %lld: status %d, expected %d",
                 (long long)id, ev->order->order_status, status);
    xtb_event_destroy(&ev);
}

static void expect_entry(const profile_t *p, xtb_client_t *c, int64_t id) {
    for (size_t i = 0; i < p->n_entry; i++)
        expect_order_push(c, id, p->entry[i]);
}

static void expect_cancelled(const profile_t *p, xtb_client_t *c, int64_t id) {
    for (size_t i = 0; i < p->n_cancelled; i++)
        expect_order_push(c, id, p->cancelled[i]);
}

static int64_t order_id(const profile_t *p, int n) {
    return p->order_id_base + n;
}

static Xtbridge__Request *order_req(int64_t volume, double price, const char *strategy,
                                    bool async) {
    return xtb_req_order(ACC, CODE, BUY, volume, FIX, price, strategy, "contract", async);
}

static int64_t place(xtb_client_t *c, int64_t volume, double price, const char *strategy) {
    Xtbridge__Reply *r = xtbt_call_ok(c, order_req(volume, price, strategy, false),
                                      XTBRIDGE__REPLY__RESULT_ORDER_STOCK);
    int64_t id = r->order_stock->order_id;
    xtb_reply_destroy(&r);
    return id;
}

static size_t order_count(xtb_client_t *c, bool cancelable_only) {
    Xtbridge__Reply *r = xtbt_call_ok(c, xtb_req_query_orders(ACC, cancelable_only),
                                      XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ORDERS);
    size_t n = r->query_stock_orders->n_orders;
    xtb_reply_destroy(&r);
    return n;
}

static bool backend_connected(xtb_client_t *c) {
    Xtbridge__Reply *h = NULL;
    cr_assert_eq(xtb_client_hello(c, 5000, &h), 0, "%s", xtb_client_error(c));
    bool up = h->hello->backend_connected;
    xtb_reply_destroy(&h);
    Xtbridge__Reply *s = xtbt_call_ok(c, xtb_req_stats(), XTBRIDGE__REPLY__RESULT_STATS);
    cr_assert_eq(s->stats->backend_connected, up, "hello and stats disagree");
    xtb_reply_destroy(&s);
    return up;
}

/* Drop the session: sim_set_session{false}; the stand-in's hook (query_stock_position's
   code 'hook:drop' calls on_disconnected from its thread). */
static void drop_session(const profile_t *p, xtb_client_t *c) {
    Xtbridge__Reply *r = NULL;
    if (p->backend == SIM) {
        r = xtbt_call_ok(c, xtb_req_sim_set_session(false),
                         XTBRIDGE__REPLY__RESULT_SIM_SET_SESSION);
        cr_assert_str_eq(r->sim_set_session->message, "session down");
    } else {
        r = xtbt_call_ok(c, xtb_req_query_position(ACC, "hook:drop"),
                         XTBRIDGE__REPLY__RESULT_QUERY_STOCK_POSITION);
        cr_assert_not(r->query_stock_position->found);
    }
    xtb_reply_destroy(&r);
}

/* Restore it: sim_set_session{true}; xtquant reconnects by itself (reconnect_ms) on a new
   session id. The caller then waits for connected. */
static void restore_session(const profile_t *p, xtb_client_t *c) {
    if (p->backend == SIM) {
        Xtbridge__Reply *r =
            xtbt_call_ok(c, xtb_req_sim_set_session(true), XTBRIDGE__REPLY__RESULT_SIM_SET_SESSION);
        cr_assert_str_eq(r->sim_set_session->message, "session up");
        xtb_reply_destroy(&r);
    }
}

/* An account status change: sim_set_account_status; the stand-in's hook (code
   'hook:status:N' sets it and pushes on_account_status). */
static void set_account_status(const profile_t *p, xtb_client_t *c, int32_t status) {
    Xtbridge__Reply *r = NULL;
    if (p->backend == SIM)
        r = xtbt_call_ok(c, xtb_req_sim_set_account_status(ACC, status),
                         XTBRIDGE__REPLY__RESULT_SIM_SET_ACCOUNT_STATUS);
    else {
        char code[32];
        snprintf(code, sizeof code, "hook:status:%d", status);
        r = xtbt_call_ok(c, xtb_req_query_position(ACC, code),
                         XTBRIDGE__REPLY__RESULT_QUERY_STOCK_POSITION);
    }
    xtb_reply_destroy(&r);
}

/* --- bodies ---------------------------------------------------------------------------- */

static void quick_start(const profile_t *p) {
    xtb_client_t *c = s_client;
    Xtbridge__Reply *h = NULL;
    cr_assert_eq(xtb_client_hello(c, 5000, &h), 0, "%s", xtb_client_error(c));
    cr_assert_str_eq(h->hello->backend, p->name);
    cr_assert(h->hello->backend_connected);
    cr_assert_eq(h->hello->n_accounts, 1);
    cr_assert_str_eq(h->hello->accounts[0]->account_id, ACC);
    cr_assert_eq(h->hello->accounts[0]->account_type, 2);
    xtb_reply_destroy(&h);

    Xtbridge__Reply *r = xtbt_call_ok(c, xtb_req_account(XTBRIDGE__REQUEST__BODY_SUBSCRIBE, ACC),
                                      XTBRIDGE__REPLY__RESULT_SUBSCRIBE);
    cr_assert_eq(r->subscribe->result, 0);
    xtb_reply_destroy(&r);
    const char *topics[] = {"order." ACC ".", "trade." ACC ".", "order_error." ACC ".",
                            "order_async." ACC ".", NULL};
    listen_to(c, topics);

    r = xtbt_call_ok(c, xtb_req_account(XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ASSET, ACC),
                     XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ASSET);
    cr_assert(r->query_stock_asset->found);
    cr_assert_str_eq(r->query_stock_asset->asset->account_id, ACC);
    cr_assert(xtbt_money_eq(r->query_stock_asset->asset->cash, 1000000.0));
    cr_assert(xtbt_money_eq(r->query_stock_asset->asset->frozen_cash, 0));
    cr_assert(xtbt_money_eq(r->query_stock_asset->asset->total_asset, 1000000.0));
    xtb_reply_destroy(&r);

    /* BUY 1000 at 10.00 with the market at 10.00: filled at once */
    int64_t id = place(c, 1000, 10.0, "qs");
    cr_assert_eq(id, order_id(p, 1));
    for (size_t i = 0; i < p->n_entry; i++) {
        Xtbridge__Event *ev = expect_push(c, "order." ACC ".", XTBRIDGE__EVENT__BODY_ORDER);
        cr_assert_eq(ev->order->order_id, id);
        cr_assert_eq(ev->order->order_status, p->entry[i]);
        cr_assert_str_eq(ev->order->account_id, ACC);
        cr_assert_str_eq(ev->order->stock_code, CODE);
        cr_assert_eq(ev->order->order_volume, 1000);
        cr_assert_eq(ev->order->price, 10.0);
        cr_assert_eq(ev->order->order_type, BUY);
        cr_assert_str_eq(ev->order->strategy_name, "qs");
        cr_assert_str_eq(ev->order->order_remark, "contract");
        char sysid[24];
        snprintf(sysid, sizeof sysid, "%lld", (long long)(p->sysid_base + 1));
        cr_assert_str_eq(ev->order->order_sysid, sysid);
        xtb_event_destroy(&ev);
    }
    Xtbridge__Event *ev = expect_push(c, "trade." ACC ".", XTBRIDGE__EVENT__BODY_TRADE);
    cr_assert_eq(ev->trade->order_id, id);
    cr_assert_str_eq(ev->trade->traded_id, p->traded_id1);
    cr_assert_eq(ev->trade->traded_volume, 1000);
    cr_assert_eq(ev->trade->traded_price, 10.0);
    cr_assert(xtbt_money_eq(ev->trade->traded_amount, 10000.0));
    xtb_event_destroy(&ev);
    ev = expect_push(c, "order." ACC ".", XTBRIDGE__EVENT__BODY_ORDER);
    cr_assert_eq(ev->order->order_id, id);
    cr_assert_eq(ev->order->order_status, 56);
    cr_assert_eq(ev->order->traded_volume, 1000);
    xtb_event_destroy(&ev);

    /* queries see it */
    r = xtbt_call_ok(c, xtb_req_query_order(ACC, id), XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ORDER);
    cr_assert(r->query_stock_order->found);
    cr_assert_eq(r->query_stock_order->order->order_status, 56);
    xtb_reply_destroy(&r);
    r = xtbt_call_ok(c, xtb_req_query_order(ACC, order_id(p, 99)),
                     XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ORDER);
    cr_assert_not(r->query_stock_order->found);
    xtb_reply_destroy(&r);
    r = xtbt_call_ok(c, xtb_req_account(XTBRIDGE__REQUEST__BODY_QUERY_STOCK_TRADES, ACC),
                     XTBRIDGE__REPLY__RESULT_QUERY_STOCK_TRADES);
    cr_assert_eq(r->query_stock_trades->n_trades, 1);
    cr_assert_str_eq(r->query_stock_trades->trades[0]->traded_id, p->traded_id1);
    xtb_reply_destroy(&r);
    r = xtbt_call_ok(c, xtb_req_account(XTBRIDGE__REQUEST__BODY_QUERY_STOCK_POSITIONS, ACC),
                     XTBRIDGE__REPLY__RESULT_QUERY_STOCK_POSITIONS);
    cr_assert_eq(r->query_stock_positions->n_positions, 1);
    cr_assert_str_eq(r->query_stock_positions->positions[0]->stock_code, CODE);
    cr_assert_eq(r->query_stock_positions->positions[0]->volume, 1000);
    cr_assert_eq(r->query_stock_positions->positions[0]->can_use_volume, 0); /* T+1 */
    xtb_reply_destroy(&r);
    r = xtbt_call_ok(c, xtb_req_query_position(ACC, CODE),
                     XTBRIDGE__REPLY__RESULT_QUERY_STOCK_POSITION);
    cr_assert(r->query_stock_position->found);
    cr_assert_eq(r->query_stock_position->position->volume, 1000);
    xtb_reply_destroy(&r);
    r = xtbt_call_ok(c, xtb_req_query_position(ACC, "000001.SZ"),
                     XTBRIDGE__REPLY__RESULT_QUERY_STOCK_POSITION);
    cr_assert_not(r->query_stock_position->found);
    xtb_reply_destroy(&r);
    r = xtbt_call_ok(c, xtb_req_noargs(XTBRIDGE__REQUEST__BODY_QUERY_ACCOUNT_INFOS),
                     XTBRIDGE__REPLY__RESULT_QUERY_ACCOUNT_INFOS);
    cr_assert_eq(r->query_account_infos->n_accounts, 1);
    cr_assert_str_eq(r->query_account_infos->accounts[0]->account_id, ACC);
    cr_assert_eq(r->query_account_infos->accounts[0]->account_type, 2);
    xtb_reply_destroy(&r);
    r = xtbt_call_ok(c, xtb_req_noargs(XTBRIDGE__REQUEST__BODY_QUERY_ACCOUNT_STATUS),
                     XTBRIDGE__REPLY__RESULT_QUERY_ACCOUNT_STATUS);
    cr_assert_eq(r->query_account_status->n_statuses, 1);
    cr_assert_str_eq(r->query_account_status->statuses[0]->account_id, ACC);
    cr_assert_eq(r->query_account_status->statuses[0]->status, 0);
    xtb_reply_destroy(&r);

    /* async: seq 1, its response push first, then the order (9.50 rests) */
    r = xtbt_call_ok(c, order_req(200, 9.5, "as", true), XTBRIDGE__REPLY__RESULT_ORDER_STOCK_ASYNC);
    cr_assert_eq(r->order_stock_async->seq, 1);
    xtb_reply_destroy(&r);
    ev = expect_push(c, "order_async." ACC ".", XTBRIDGE__EVENT__BODY_ORDER_ASYNC);
    cr_assert_eq(ev->order_async->seq, 1);
    cr_assert_eq(ev->order_async->order_id, order_id(p, 2));
    cr_assert_str_eq(ev->order_async->strategy_name, "as");
    xtb_event_destroy(&ev);
    expect_entry(p, c, order_id(p, 2));

    /* cancel it: 0 and the cancelled order pushed; again: -1 */
    r = xtbt_call_ok(c, xtb_req_cancel(ACC, order_id(p, 2), false),
                     XTBRIDGE__REPLY__RESULT_CANCEL_ORDER_STOCK);
    cr_assert_eq(r->cancel_order_stock->result, 0);
    xtb_reply_destroy(&r);
    expect_cancelled(p, c, order_id(p, 2));
    r = xtbt_call_ok(c, xtb_req_cancel(ACC, order_id(p, 2), false),
                     XTBRIDGE__REPLY__RESULT_CANCEL_ORDER_STOCK);
    cr_assert_eq(r->cancel_order_stock->result, -1);
    xtb_reply_destroy(&r);

    /* the counter rejects a volume that is not whole lots: OK reply with the order id, the
       junk order (57) and order_error -61, the same reason on both */
    int64_t bad = place(c, 150, 10.0, "odd");
    cr_assert_eq(bad, order_id(p, 3));
    ev = expect_push(c, "order." ACC ".", XTBRIDGE__EVENT__BODY_ORDER);
    cr_assert_eq(ev->order->order_id, bad);
    cr_assert_eq(ev->order->order_status, 57);
    cr_assert_str_eq(ev->order->status_msg, "volume 150 is not a multiple of 100");
    xtb_event_destroy(&ev);
    ev = expect_push(c, "order_error." ACC ".", XTBRIDGE__EVENT__BODY_ORDER_ERROR);
    cr_assert_eq(ev->order_error->order_id, bad);
    cr_assert_eq(ev->order_error->error_id, -61);
    cr_assert_str_eq(ev->order_error->error_msg, "volume 150 is not a multiple of 100");
    xtb_event_destroy(&ev);
    cr_assert_eq(order_count(c, false), 3);
    cr_assert_eq(order_count(c, true), 0);

    r = xtbt_call_ok(c, xtb_req_account(XTBRIDGE__REQUEST__BODY_UNSUBSCRIBE, ACC),
                     XTBRIDGE__REPLY__RESULT_UNSUBSCRIBE);
    cr_assert_eq(r->unsubscribe->result, 0);
    xtb_reply_destroy(&r);
}

/* The cancel calls the quick start did not use: async by id, by sysid sync and async. */
static void every_cancel(const profile_t *p) {
    xtb_client_t *c = s_client;
    const char *topics[] = {"order." ACC ".", "cancel_async." ACC ".", "cancel_error." ACC ".",
                            NULL};
    listen_to(c, topics);
    for (int n = 1; n <= 3; n++) {
        cr_assert_eq(place(c, 100, 9.5, "rest"), order_id(p, n));
        expect_entry(p, c, order_id(p, n));
    }
    cr_assert_eq(order_count(c, true), 3);

    Xtbridge__Reply *r = xtbt_call_ok(c, xtb_req_cancel(ACC, order_id(p, 1), true),
                                      XTBRIDGE__REPLY__RESULT_CANCEL_ORDER_STOCK_ASYNC);
    cr_assert_eq(r->cancel_order_stock_async->seq, 1);
    xtb_reply_destroy(&r);
    Xtbridge__Event *ev =
        expect_push(c, "cancel_async." ACC ".", XTBRIDGE__EVENT__BODY_CANCEL_ASYNC);
    cr_assert_eq(ev->cancel_async->seq, 1);
    cr_assert_eq(ev->cancel_async->order_id, order_id(p, 1));
    cr_assert_eq(ev->cancel_async->cancel_result, 0);
    xtb_event_destroy(&ev);
    expect_cancelled(p, c, order_id(p, 1));

    char sysid[24];
    snprintf(sysid, sizeof sysid, "%lld", (long long)(p->sysid_base + 2));
    r = xtbt_call_ok(c, xtb_req_cancel_sysid(ACC, 0, sysid, false),
                     XTBRIDGE__REPLY__RESULT_CANCEL_ORDER_STOCK_SYSID);
    cr_assert_eq(r->cancel_order_stock_sysid->result, 0);
    xtb_reply_destroy(&r);
    expect_cancelled(p, c, order_id(p, 2));

    snprintf(sysid, sizeof sysid, "%lld", (long long)(p->sysid_base + 3));
    r = xtbt_call_ok(c, xtb_req_cancel_sysid(ACC, 0, sysid, true),
                     XTBRIDGE__REPLY__RESULT_CANCEL_ORDER_STOCK_SYSID_ASYNC);
    cr_assert_eq(r->cancel_order_stock_sysid_async->seq, 2);
    xtb_reply_destroy(&r);
    ev = expect_push(c, "cancel_async." ACC ".", XTBRIDGE__EVENT__BODY_CANCEL_ASYNC);
    cr_assert_eq(ev->cancel_async->seq, 2);
    cr_assert_eq(ev->cancel_async->order_id, order_id(p, 3));
    cr_assert_eq(ev->cancel_async->cancel_result, 0);
    xtb_event_destroy(&ev);
    expect_cancelled(p, c, order_id(p, 3));
    cr_assert_eq(order_count(c, true), 0);

    /* a failed cancel: -1 and cancel_error -63 */
    r = xtbt_call_ok(c, xtb_req_cancel(ACC, order_id(p, 1), false),
                     XTBRIDGE__REPLY__RESULT_CANCEL_ORDER_STOCK);
    cr_assert_eq(r->cancel_order_stock->result, -1);
    xtb_reply_destroy(&r);
    ev = expect_push(c, "cancel_error." ACC ".", XTBRIDGE__EVENT__BODY_CANCEL_ERROR);
    cr_assert_eq(ev->cancel_error->order_id, order_id(p, 1));
    cr_assert_eq(ev->cancel_error->error_id, -63);
    char text[96];
    snprintf(text, sizeof text, "cancel %lld: order already finished (status 54)",
             (long long)order_id(p, 1));
    cr_assert_str_eq(ev->cancel_error->error_msg, text);
    xtb_event_destroy(&ev);
}

static void idempotency(const profile_t *p) {
    xtb_client_t *c = s_client;
    Xtbridge__Request *req = order_req(100, 9.5, "idem", false);
    xtb_request_set_id(req, "contract-idem-1");
    Xtbridge__Reply *r1 = NULL, *r2 = NULL;
    cr_assert_eq(xtb_client_call_ok(c, req, 5000, &r1), 0, "%s", xtb_client_error(c));
    cr_assert_eq(xtb_client_call_ok(c, req, 5000, &r2), 0, "%s", xtb_client_error(c));
    cr_assert_eq(r1->order_stock->order_id, order_id(p, 1));
    cr_assert_eq(r2->order_stock->order_id, order_id(p, 1));
    xtb_reply_destroy(&r1);
    xtb_reply_destroy(&r2);
    xtb_request_destroy(&req);
    cr_assert_eq(order_count(c, false), 1);
    Xtbridge__Reply *s = xtbt_call_ok(c, xtb_req_stats(), XTBRIDGE__REPLY__RESULT_STATS);
    cr_assert_eq(s->stats->idempotent_hits, 1);
    xtb_reply_destroy(&s);

    /* NOT_CONNECTED is not the request's answer: the same request_id after the session is
       back places the order */
    const char *topics[] = {"connected.", "disconnected.", NULL};
    listen_to(c, topics);
    drop_session(p, c);
    Xtbridge__Event *ev = expect_push(c, "disconnected.", XTBRIDGE__EVENT__BODY_DISCONNECTED);
    xtb_event_destroy(&ev);
    req = order_req(100, 9.5, "idem", false);
    xtb_request_set_id(req, "contract-idem-2");
    cr_assert_eq(xtb_client_call(c, req, 5000, &r1), 0, "%s", xtb_client_error(c));
    cr_assert_eq(r1->error->code, XTBRIDGE__ERROR_CODE__NOT_CONNECTED);
    xtb_reply_destroy(&r1);
    restore_session(p, c);
    ev = xtbt_wait_event(c, "connected.", XTBRIDGE__EVENT__BODY_CONNECTED, 10000);
    cr_assert_not_null(ev, "no connected. after the session came back");
    xtb_event_destroy(&ev);
    cr_assert_eq(xtb_client_call_ok(c, req, 5000, &r1), 0, "%s", xtb_client_error(c));
    cr_assert_eq(r1->order_stock->order_id, order_id(p, 2));
    xtb_reply_destroy(&r1);
    xtb_request_destroy(&req);
    cr_assert_eq(order_count(c, false), 2);
}

static void account_not_ok(const profile_t *p) {
    xtb_client_t *c = s_client;
    const char *topics[] = {"account_status." ACC ".", "order." ACC ".", "order_error." ACC ".",
                            "order_async." ACC ".", NULL};
    listen_to(c, topics);
    set_account_status(p, c, 6);
    Xtbridge__Event *ev =
        expect_push(c, "account_status." ACC ".", XTBRIDGE__EVENT__BODY_ACCOUNT_STATUS);
    cr_assert_str_eq(ev->account_status->account_id, ACC);
    cr_assert_eq(ev->account_status->status, 6);
    xtb_event_destroy(&ev);

    /* refused as the broker refuses: an OK reply, order_error -61 with the reason. The sim
       is the counter and keeps a junk order (an id, order 57); the xtquant backend refuses
       before the terminal sees it, so there is no order (-1), as xtquant's failure value. */
    const char *why = "account status 6 (CLOSED) is not OK: no orders";
    int64_t id = place(c, 100, 9.5, "blocked");
    int64_t want = p->backend == SIM ? order_id(p, 1) : -1;
    cr_assert_eq(id, want, "order on a CLOSED account: %lld", (long long)id);
    if (p->backend == SIM)
        expect_order_push(c, id, 57);
    ev = expect_push(c, "order_error." ACC ".", XTBRIDGE__EVENT__BODY_ORDER_ERROR);
    cr_assert_eq(ev->order_error->order_id, want);
    cr_assert_eq(ev->order_error->error_id, -61);
    cr_assert_str_eq(ev->order_error->error_msg, why);
    cr_assert_str_eq(ev->order_error->strategy_name, "blocked");
    xtb_event_destroy(&ev);

    /* async: the sim answers a seq and its response; the xtquant backend -1 (nothing sent) */
    Xtbridge__Reply *r = xtbt_call_ok(c, order_req(100, 9.5, "blocked", true),
                                      XTBRIDGE__REPLY__RESULT_ORDER_STOCK_ASYNC);
    cr_assert_eq(r->order_stock_async->seq, p->backend == SIM ? 1 : -1);
    xtb_reply_destroy(&r);
    if (p->backend == SIM) {
        ev = expect_push(c, "order_async." ACC ".", XTBRIDGE__EVENT__BODY_ORDER_ASYNC);
        cr_assert_eq(ev->order_async->seq, 1);
        xtb_event_destroy(&ev);
        expect_order_push(c, order_id(p, 2), 57);
    }
    ev = expect_push(c, "order_error." ACC ".", XTBRIDGE__EVENT__BODY_ORDER_ERROR);
    cr_assert_eq(ev->order_error->error_id, -61);
    cr_assert_str_eq(ev->order_error->error_msg, why);
    cr_assert_eq(ev->order_error->seq, p->backend == SIM ? 1 : 0);
    xtb_event_destroy(&ev);
    cr_assert_eq(order_count(c, true), 0);

    /* OK again: orders are taken */
    set_account_status(p, c, 0);
    ev = expect_push(c, "account_status." ACC ".", XTBRIDGE__EVENT__BODY_ACCOUNT_STATUS);
    cr_assert_eq(ev->account_status->status, 0);
    xtb_event_destroy(&ev);
    int n = p->backend == SIM ? 3 : 1;
    cr_assert_eq(place(c, 100, 9.5, "open"), order_id(p, n));
    expect_entry(p, c, order_id(p, n));
    cr_assert_eq(order_count(c, true), 1);
}

static int collect(const Xtbridge__Event *event, void *arg) {
    zlist_t *list = (zlist_t *)arg;
    size_t size = xtbridge__event__get_packed_size(event);
    uint8_t *buf = (uint8_t *)malloc(size ? size : 1);
    xtbridge__event__pack(event, buf);
    zlist_append(list, xtbridge__event__unpack(NULL, size, buf));
    free(buf);
    return 0;
}

static void session_loss(const profile_t *p) {
    xtb_client_t *c = s_client;
    const char *topics[] = {"order." ACC ".", "connected.", "disconnected.",
                            "account_status." ACC ".", NULL};
    listen_to(c, topics);
    cr_assert(backend_connected(c));
    int64_t a = place(c, 100, 9.5, "before");
    cr_assert_eq(a, order_id(p, 1));
    expect_entry(p, c, a);

    drop_session(p, c);
    Xtbridge__Event *ev = expect_push(c, "disconnected.", XTBRIDGE__EVENT__BODY_DISCONNECTED);
    cr_assert_str_eq(ev->disconnected->reason, p->down_reason);
    xtb_event_destroy(&ev);
    /* down: backend calls are NOT_CONNECTED, bridge calls are served */
    Xtbridge__Reply *r = xtbt_call(c, order_req(100, 9.5, "down", false));
    cr_assert_eq(r->error->code, XTBRIDGE__ERROR_CODE__NOT_CONNECTED);
    cr_assert_str_eq(r->error->message, p->down_message);
    xtb_reply_destroy(&r);
    r = xtbt_call(c, xtb_req_query_orders(ACC, false));
    cr_assert_eq(r->error->code, XTBRIDGE__ERROR_CODE__NOT_CONNECTED);
    xtb_reply_destroy(&r);
    r = xtbt_call(c, xtb_req_cancel(ACC, a, false));
    cr_assert_eq(r->error->code, XTBRIDGE__ERROR_CODE__NOT_CONNECTED);
    xtb_reply_destroy(&r);
    cr_assert_not(backend_connected(c));

    /* back: connected. then the account's status, then orders again */
    restore_session(p, c);
    ev = xtbt_wait_event(c, "connected.", XTBRIDGE__EVENT__BODY_CONNECTED, 10000);
    cr_assert_not_null(ev, "no connected. after the drop");
    cr_assert_str_eq(ev->connected->backend, p->name);
    cr_assert_str_eq(ev->connected->instance_id, "");
    xtb_event_destroy(&ev);
    ev = expect_push(c, "account_status." ACC ".", XTBRIDGE__EVENT__BODY_ACCOUNT_STATUS);
    cr_assert_eq(ev->account_status->status, 0);
    xtb_event_destroy(&ev);
    cr_assert(backend_connected(c));
    int64_t b = place(c, 100, 9.5, "after");
    cr_assert_eq(b, order_id(p, 2));
    expect_entry(p, c, b);
    r = xtbt_call_ok(c, xtb_req_cancel(ACC, a, false), XTBRIDGE__REPLY__RESULT_CANCEL_ORDER_STOCK);
    cr_assert_eq(r->cancel_order_stock->result, 0);
    xtb_reply_destroy(&r);
    expect_cancelled(p, c, a);
    cr_assert_eq(order_count(c, false), 2);

    /* the journal has them all, in publish order, seqs without a gap */
    zlist_t *events = zlist_new();
    int n = xtb_client_replay(c, "order." ACC ".", NULL, NULL, 0, 5000, collect, events);
    size_t want = 2 * p->n_entry + p->n_cancelled;
    cr_assert_eq(n, (int)want, "replay of order.%s.: %d (%s)", ACC, n, xtb_client_error(c));
    cr_assert_eq(zlist_size(events), want);
    size_t i = 0;
    for (Xtbridge__Event *e = (Xtbridge__Event *)zlist_first(events); e;
         e = (Xtbridge__Event *)zlist_next(events), i++) {
        cr_assert_eq(e->seq, i + 1);
        int64_t id = i < p->n_entry ? a : i < 2 * p->n_entry ? b : a;
        int32_t status =
            i < 2 * p->n_entry ? p->entry[i % p->n_entry] : p->cancelled[i - 2 * p->n_entry];
        cr_assert_eq(e->order->order_id, id, "replayed push %zu", i);
        cr_assert_eq(e->order->order_status, status, "replayed push %zu", i);
    }
    for (Xtbridge__Event *e = (Xtbridge__Event *)zlist_first(events); e;
         e = (Xtbridge__Event *)zlist_next(events))
        xtbridge__event__free_unpacked(e, NULL);
    zlist_destroy(&events);
}

/* --- the two suites -------------------------------------------------------------------- */

#define CONTRACT_SIM(body)                                                                         \
    Test(contract_sim, body, .init = start_sim, .fini = stop_bridge, .timeout = 60) {              \
        body(&SIM_PROFILE);                                                                        \
    }
#define CONTRACT_XTQUANT(body)                                                                     \
    Test(contract_xtquant, body, .init = start_xtquant, .fini = stop_bridge, .timeout = 60) {      \
        body(&XTQUANT_PROFILE);                                                                    \
    }

CONTRACT_SIM(quick_start)
CONTRACT_SIM(every_cancel)
CONTRACT_SIM(idempotency)
CONTRACT_SIM(account_not_ok)
CONTRACT_SIM(session_loss)
#ifdef XTB_HAVE_XTQUANT
CONTRACT_XTQUANT(quick_start)
CONTRACT_XTQUANT(every_cancel)
CONTRACT_XTQUANT(idempotency)
CONTRACT_XTQUANT(account_not_ok)
CONTRACT_XTQUANT(session_loss)
#endif
