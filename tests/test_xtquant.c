/*  test_xtquant.c - the `xtquant` backend end to end: the real `xtbridge --backend xtquant`
    with PYTHONPATH on the stand-in package tests/xtquant_standin (an `xtquant` written from
    the vendor's API description, driven through test hooks in the order's strategy_name).

    Covers the quick-start flow (connect, subscribe, order, fill pushes on the right topics,
    the queries, async seqs, cancel, order_error), idempotent retries, a Python exception
    (BACKEND_ERROR), a hung call (TIMEOUT), an object with a missing/ill-typed attribute,
    a session dropped mid-stream (disconnected., NOT_CONNECTED, a new session id,
    connected., orders again), 10,000 pushes fired from the stand-in's callback thread, and
    --python-home (used; one without a standard library refused at start).
*/
#include <criterion/criterion.h>
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "xtb_client.h"

#define ACC "1000000365"
#define BUY 23
#define FIX 11
#define ORDER_ID_BASE 1082130432LL /* the stand-in's order ids are of the terminal's size */

static xtbt_bridge_t *s_bridge;
static xtb_client_t *s_client;
static bool s_stopped;

static void start_with_args(const char *timeout_ms, const char *reconnect_ms,
                            const char *const *extra) {
    /* ASan's leak check would count the interpreter's process-lifetime allocations */
    setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
    setenv("PYTHONPATH", XTB_SOURCE_DIR "/tests/xtquant_standin", 1);
    char config[256];
    snprintf(config, sizeof config,
             "xtquant\n    qmt_path = \"userdata_mini\"\n    session_id = 100\n"
             "    call_timeout_ms = %s\n    reconnect_ms = %s\n",
             timeout_ms, reconnect_ms);
    const char *args[8] = {"--backend", "xtquant"};
    for (size_t i = 0; extra && extra[i] && i < 5; i++)
        args[2 + i] = extra[i];
    s_bridge = xtbt_bridge_start(config, args);
    cr_assert_not_null(s_bridge, "xtbridge --backend xtquant did not start");
    s_client = xtbt_bridge_client(s_bridge);
}

static void start_with_backoff(const char *timeout_ms, const char *reconnect_ms) {
    start_with_args(timeout_ms, reconnect_ms, NULL);
}

/* --qmt-path/--session-id override the config file's keys */
static void start_flags(void) {
    const char *extra[] = {"--qmt-path", "other_userdata_mini", "--session-id", "300", NULL};
    start_with_args("3000", "200", extra);
}

static void start_with(const char *timeout_ms) {
    start_with_backoff(timeout_ms, "200");
}

static void start_default(void) {
    start_with("3000");
}

static void start_short_timeout(void) {
    start_with("300");
}

static void stop_bridge(void) {
    xtb_client_destroy(&s_client);
    if (s_bridge) {
        int status = xtbt_bridge_stop(&s_bridge);
        if (!s_stopped) /* a test that stopped it checked the status itself */
            cr_expect_eq(status, 0, "xtbridge exit status %d after SIGTERM", status);
    }
}

static void listen_to(xtb_client_t *c, const char *const *topics) {
    for (size_t i = 0; topics[i]; i++)
        cr_assert_eq(xtb_client_subscribe(c, topics[i]), 0, "%s", xtb_client_error(c));
    cr_assert_eq(xtb_client_sync_subscriptions(c, 5000), 0, "%s", xtb_client_error(c));
}

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

static int64_t place(xtb_client_t *c, int64_t volume, double price, const char *strategy) {
    Xtbridge__Reply *r = xtbt_call_ok(
        c, xtb_req_order(ACC, "600000.SH", BUY, volume, FIX, price, strategy, "r1", false),
        XTBRIDGE__REPLY__RESULT_ORDER_STOCK);
    int64_t id = r->order_stock->order_id;
    xtb_reply_destroy(&r);
    return id;
}

static Xtbridge__HelloReply *hello(xtb_client_t *c, Xtbridge__Reply **owner) {
    cr_assert_eq(xtb_client_hello(c, 5000, owner), 0, "%s", xtb_client_error(c));
    return (*owner)->hello;
}

static size_t order_count(xtb_client_t *c) {
    Xtbridge__Reply *r = xtbt_call_ok(c, xtb_req_query_orders(ACC, false),
                                      XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ORDERS);
    size_t n = r->query_stock_orders->n_orders;
    xtb_reply_destroy(&r);
    return n;
}

static bool log_has(const char *text) {
    FILE *f = fopen(s_bridge->log_path, "r");
    cr_assert_not_null(f);
    char line[1024];
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, text) != NULL;
    fclose(f);
    return found;
}

Test(xtquant, quick_start_flow, .init = start_flags, .fini = stop_bridge, .timeout = 60) {
    xtb_client_t *c = s_client;
    Xtbridge__Reply *h = NULL;
    Xtbridge__HelloReply *hr = hello(c, &h);
    cr_assert_str_eq(hr->backend, "xtquant");
    cr_assert(hr->backend_connected);
    cr_assert_eq(hr->n_accounts, 1);
    cr_assert_str_eq(hr->accounts[0]->account_id, ACC);
    xtb_reply_destroy(&h);
    cr_assert(log_has("xtquant: connected, session 300, accounts 1000000365"));

    Xtbridge__Reply *r = xtbt_call_ok(c, xtb_req_account(XTBRIDGE__REQUEST__BODY_SUBSCRIBE, ACC),
                                      XTBRIDGE__REPLY__RESULT_SUBSCRIBE);
    cr_assert_eq(r->subscribe->result, 0);
    xtb_reply_destroy(&r);
    const char *topics[] = {"order." ACC ".", "trade." ACC ".", "order_error." ACC ".",
                            "order_async." ACC ".", NULL};
    listen_to(c, topics);

    /* BUY at 10.50 (>= the stand-in's fill price 10.0): reported, trade, succeeded */
    int64_t id = place(c, 1000, 10.50, "qs");
    cr_assert_eq(id, ORDER_ID_BASE + 1);
    Xtbridge__Event *ev = expect_push(c, "order." ACC ".", XTBRIDGE__EVENT__BODY_ORDER);
    cr_assert_eq(ev->order->order_id, id);
    cr_assert_eq(ev->order->order_status, 50);
    cr_assert_eq(ev->order->order_volume, 1000);
    cr_assert_eq(ev->order->price, 10.50);
    cr_assert_str_eq(ev->order->stock_code, "600000.SH");
    cr_assert_str_eq(ev->order->strategy_name, "qs");
    cr_assert_str_eq(ev->order->order_remark, "r1");
    cr_assert_str_eq(ev->order->order_sysid, "100001");
    /* the terminal's counter code passes through untouched (the stand-in, like MiniQMT,
       reports 50 for FIX_PRICE 11); the bridge's own extension stays unset */
    cr_assert_eq(ev->order->price_type, 50);
    cr_assert_eq(ev->order->requested_price_type, 0);
    xtb_event_destroy(&ev);
    ev = expect_push(c, "trade." ACC ".", XTBRIDGE__EVENT__BODY_TRADE);
    cr_assert_eq(ev->trade->order_id, id);
    cr_assert_eq(ev->trade->traded_volume, 1000);
    cr_assert_eq(ev->trade->traded_amount, 10500.0);
    cr_assert_str_eq(ev->trade->traded_id, "T1082130433");
    xtb_event_destroy(&ev);
    ev = expect_push(c, "order." ACC ".", XTBRIDGE__EVENT__BODY_ORDER);
    cr_assert_eq(ev->order->order_status, 56);
    cr_assert_eq(ev->order->traded_volume, 1000);
    xtb_event_destroy(&ev);

    r = xtbt_call_ok(c, xtb_req_query_order(ACC, id), XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ORDER);
    cr_assert(r->query_stock_order->found);
    cr_assert_eq(r->query_stock_order->order->order_status, 56);
    cr_assert_eq(r->query_stock_order->order->price_type, 50);
    cr_assert_eq(r->query_stock_order->order->requested_price_type, 0);
    xtb_reply_destroy(&r);
    r = xtbt_call_ok(c, xtb_req_query_order(ACC, 42), XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ORDER);
    cr_assert_not(r->query_stock_order->found);
    xtb_reply_destroy(&r);
    r = xtbt_call_ok(c, xtb_req_account(XTBRIDGE__REQUEST__BODY_QUERY_STOCK_TRADES, ACC),
                     XTBRIDGE__REPLY__RESULT_QUERY_STOCK_TRADES);
    cr_assert_eq(r->query_stock_trades->n_trades, 1);
    cr_assert_eq(r->query_stock_trades->trades[0]->traded_price, 10.50);
    xtb_reply_destroy(&r);
    r = xtbt_call_ok(c, xtb_req_account(XTBRIDGE__REQUEST__BODY_QUERY_STOCK_POSITIONS, ACC),
                     XTBRIDGE__REPLY__RESULT_QUERY_STOCK_POSITIONS);
    cr_assert_eq(r->query_stock_positions->n_positions, 1);
    cr_assert_eq(r->query_stock_positions->positions[0]->volume, 1000);
    xtb_reply_destroy(&r);
    r = xtbt_call_ok(c, xtb_req_query_position(ACC, "600000.SH"),
                     XTBRIDGE__REPLY__RESULT_QUERY_STOCK_POSITION);
    cr_assert(r->query_stock_position->found);
    cr_assert_eq(r->query_stock_position->position->volume, 1000);
    xtb_reply_destroy(&r);
    r = xtbt_call_ok(c, xtb_req_account(XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ASSET, ACC),
                     XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ASSET);
    cr_assert(r->query_stock_asset->found);
    cr_assert_eq(r->query_stock_asset->asset->cash, 1000000.0);
    xtb_reply_destroy(&r);
    r = xtbt_call_ok(c, xtb_req_noargs(XTBRIDGE__REQUEST__BODY_QUERY_ACCOUNT_INFOS),
                     XTBRIDGE__REPLY__RESULT_QUERY_ACCOUNT_INFOS);
    cr_assert_eq(r->query_account_infos->n_accounts, 1);
    cr_assert_str_eq(r->query_account_infos->accounts[0]->account_id, ACC);
    cr_assert_eq(r->query_account_infos->accounts[0]->broker_type, 2);
    xtb_reply_destroy(&r);
    r = xtbt_call_ok(c, xtb_req_noargs(XTBRIDGE__REQUEST__BODY_QUERY_ACCOUNT_STATUS),
                     XTBRIDGE__REPLY__RESULT_QUERY_ACCOUNT_STATUS);
    cr_assert_eq(r->query_account_status->n_statuses, 1);
    cr_assert_eq(r->query_account_status->statuses[0]->status, 0);
    xtb_reply_destroy(&r);

    /* async: a seq, then the response push carrying it; below 10.0 the order rests */
    r = xtbt_call_ok(c, xtb_req_order(ACC, "000001.SZ", BUY, 200, FIX, 9.0, "as", "", true),
                     XTBRIDGE__REPLY__RESULT_ORDER_STOCK_ASYNC);
    cr_assert_eq(r->order_stock_async->seq, 1);
    xtb_reply_destroy(&r);
    ev = expect_push(c, "order_async." ACC ".", XTBRIDGE__EVENT__BODY_ORDER_ASYNC);
    cr_assert_eq(ev->order_async->seq, 1);
    int64_t resting = ev->order_async->order_id;
    cr_assert_eq(resting, ORDER_ID_BASE + 2);
    xtb_event_destroy(&ev);
    ev = expect_push(c, "order." ACC ".", XTBRIDGE__EVENT__BODY_ORDER);
    cr_assert_eq(ev->order->order_status, 50);
    xtb_event_destroy(&ev);

    /* cancel it: 0, and the cancelled order pushed */
    r = xtbt_call_ok(c, xtb_req_cancel(ACC, resting, false),
                     XTBRIDGE__REPLY__RESULT_CANCEL_ORDER_STOCK);
    cr_assert_eq(r->cancel_order_stock->result, 0);
    xtb_reply_destroy(&r);
    ev = expect_push(c, "order." ACC ".", XTBRIDGE__EVENT__BODY_ORDER);
    cr_assert_eq(ev->order->order_id, resting);
    cr_assert_eq(ev->order->order_status, 54);
    xtb_event_destroy(&ev);
    /* again: the stand-in refuses (-1) */
    r = xtbt_call_ok(c, xtb_req_cancel_sysid(ACC, 0, "100002", false),
                     XTBRIDGE__REPLY__RESULT_CANCEL_ORDER_STOCK_SYSID);
    cr_assert_eq(r->cancel_order_stock_sysid->result, -1);
    xtb_reply_destroy(&r);

    /* a broker rejection is an OK reply, the junk order (57) and an order_error push */
    int64_t bad = place(c, 150, 10.50, "odd");
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

    /* no account: INVALID_ARGUMENT from the backend, the bridge serves on */
    r = xtbt_call(c, xtb_req_account(XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ASSET, ""));
    cr_assert_neq(r->error->code, XTBRIDGE__ERROR_CODE__OK);
    xtb_reply_destroy(&r);
    cr_assert_eq(order_count(c), 3); /* the rejected one is a junk order, as MiniQMT keeps it */
}

Test(xtquant, same_request_id_same_order, .init = start_default, .fini = stop_bridge,
     .timeout = 60) {
    xtb_client_t *c = s_client;
    Xtbridge__Request *req =
        xtb_req_order(ACC, "600000.SH", BUY, 1000, FIX, 9.0, "idem", "", false);
    xtb_request_set_id(req, "xtq-idem-1");
    Xtbridge__Reply *r1 = NULL, *r2 = NULL;
    cr_assert_eq(xtb_client_call_ok(c, req, 5000, &r1), 0, "%s", xtb_client_error(c));
    cr_assert_eq(xtb_client_call_ok(c, req, 5000, &r2), 0, "%s", xtb_client_error(c));
    cr_assert_eq(r1->order_stock->order_id, ORDER_ID_BASE + 1);
    cr_assert_eq(r2->order_stock->order_id, r1->order_stock->order_id);
    xtb_reply_destroy(&r1);
    xtb_reply_destroy(&r2);
    xtb_request_destroy(&req);
    cr_assert_eq(order_count(c), 1);
    Xtbridge__Reply *s = xtbt_call_ok(c, xtb_req_stats(), XTBRIDGE__REPLY__RESULT_STATS);
    cr_assert_eq(s->stats->idempotent_hits, 1);
    xtb_reply_destroy(&s);
}

Test(xtquant, python_exception_is_backend_error, .init = start_default, .fini = stop_bridge,
     .timeout = 60) {
    xtb_client_t *c = s_client;
    Xtbridge__Reply *r =
        xtbt_call(c, xtb_req_order(ACC, "600000.SH", BUY, 100, FIX, 9.0, "hook:raise", "", false));
    cr_assert_eq(r->error->code, XTBRIDGE__ERROR_CODE__BACKEND_ERROR);
    cr_assert_str_eq(r->error->message, "xtquant raised RuntimeError: stand-in: raised on request");
    xtb_reply_destroy(&r);
    cr_assert_eq(place(c, 100, 9.0, "after"), ORDER_ID_BASE + 1);
}

Test(xtquant, hung_call_times_out, .init = start_short_timeout, .fini = stop_bridge,
     .timeout = 60) {
    xtb_client_t *c = s_client;
    int64_t t0 = zclock_mono();
    Xtbridge__Reply *r = xtbt_call(
        c, xtb_req_order(ACC, "600000.SH", BUY, 100, FIX, 9.0, "hook:hang:1500", "", false));
    int64_t took = zclock_mono() - t0;
    cr_assert_eq(r->error->code, XTBRIDGE__ERROR_CODE__TIMEOUT, "code %d: %s", r->error->code,
                 r->error->message);
    cr_assert_str_eq(r->error->message, "xtquant order_stock did not answer within 300 ms");
    cr_assert(took >= 300 && took < 1400, "TIMEOUT after %lld ms", (long long)took);
    xtb_reply_destroy(&r);
    /* the bridge answers meanwhile; the backend again once the hung call has returned */
    Xtbridge__Reply *h = NULL;
    hello(c, &h);
    xtb_reply_destroy(&h);
    r = xtbt_call(c, xtb_req_query_orders(ACC, false));
    /* this one may itself wait out the hang: it is answered either way */
    if (r->error->code == XTBRIDGE__ERROR_CODE__TIMEOUT) {
        xtb_reply_destroy(&r);
        zclock_sleep(1500); /* the stand-in's hang is time-based; nothing to poll */
        r = xtbt_call(c, xtb_req_query_orders(ACC, false));
    }
    cr_assert_eq(r->error->code, XTBRIDGE__ERROR_CODE__OK, "%s", r->error->message);
    /* the hung order was placed by the terminal after all: the late result was dropped */
    cr_assert_eq(r->query_stock_orders->n_orders, 1);
    xtb_reply_destroy(&r);
    cr_assert(log_has("(answered TIMEOUT) dropped"));
}

Test(xtquant, missing_attribute_left_unset, .init = start_default, .fini = stop_bridge,
     .timeout = 60) {
    xtb_client_t *c = s_client;
    const char *topics[] = {"order." ACC ".", NULL};
    listen_to(c, topics);
    int64_t id = place(c, 100, 9.0, "hook:missing");
    Xtbridge__Event *ev = expect_push(c, "order." ACC ".", XTBRIDGE__EVENT__BODY_ORDER);
    cr_assert_eq(ev->order->order_id, id);
    cr_assert_eq(ev->order->order_status, 0); /* missing */
    cr_assert_eq(ev->order->price, 0);        /* 'n/a' */
    cr_assert_eq(ev->order->order_volume, 100);
    xtb_event_destroy(&ev);
    Xtbridge__Reply *r =
        xtbt_call_ok(c, xtb_req_query_order(ACC, id), XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ORDER);
    cr_assert(r->query_stock_order->found);
    cr_assert_eq(r->query_stock_order->order->order_status, 0);
    cr_assert_str_eq(r->query_stock_order->order->stock_code, "600000.SH");
    xtb_reply_destroy(&r);
    cr_assert_eq(place(c, 100, 9.0, "after"), id + 1);
    /* counted: order_status missing and price ill-typed, in the push and in the query;
       the stand-in's XtOrder also lacks the later additions stock_code1, secu_account and
       instrument_name (3 more missing per order: the push, the query, the "after" push) */
    s_stopped = true;
    cr_assert_eq(xtbt_bridge_kill(s_bridge), 0);
    cr_assert(log_has("xtquant: stopped; Xt* attributes left unset: 11 missing, 2 ill-typed; "
                      "0 late replies dropped"));
}

Test(xtquant, session_drop_reconnects_with_new_session, .init = start_default, .fini = stop_bridge,
     .timeout = 60) {
    xtb_client_t *c = s_client;
    const char *topics[] = {"order." ACC ".", "connected.", "disconnected.", NULL};
    listen_to(c, topics);
    int64_t id = place(c, 100, 9.0, "hook:drop");
    /* the pushes made before the drop, in order, then disconnected. */
    Xtbridge__Event *ev = expect_push(c, "order." ACC ".", XTBRIDGE__EVENT__BODY_ORDER);
    cr_assert_eq(ev->order->order_id, id);
    xtb_event_destroy(&ev);
    ev = expect_push(c, "disconnected.", XTBRIDGE__EVENT__BODY_DISCONNECTED);
    cr_assert_str_eq(ev->disconnected->reason, "xtquant on_disconnected (session 100)");
    xtb_event_destroy(&ev);
    /* reconnect_ms 200: the first attempt is 200 ms away */
    Xtbridge__Reply *r =
        xtbt_call(c, xtb_req_order(ACC, "600000.SH", BUY, 100, FIX, 9.0, "down", "", false));
    cr_assert_eq(r->error->code, XTBRIDGE__ERROR_CODE__NOT_CONNECTED);
    cr_assert_str_eq(r->error->message,
                     "xtquant session is down (reconnecting); order_stock was not sent");
    xtb_reply_destroy(&r);
    r = xtbt_call_ok(c, xtb_req_stats(), XTBRIDGE__REPLY__RESULT_STATS);
    cr_assert_not(r->stats->backend_connected);
    xtb_reply_destroy(&r);
    ev = expect_push(c, "connected.", XTBRIDGE__EVENT__BODY_CONNECTED);
    cr_assert_str_eq(ev->connected->backend, "xtquant");
    xtb_event_destroy(&ev);
    cr_assert(log_has("xtquant: connected, session 101, accounts 1000000365"));
    Xtbridge__Reply *h = NULL;
    cr_assert(hello(c, &h)->backend_connected);
    xtb_reply_destroy(&h);
    cr_assert_eq(place(c, 100, 9.0, "again"), id + 1);
    r = xtbt_call_ok(c, xtb_req_stats(), XTBRIDGE__REPLY__RESULT_STATS);
    cr_assert(r->stats->backend_connected);
    xtb_reply_destroy(&r);
    ev = expect_push(c, "order." ACC ".", XTBRIDGE__EVENT__BODY_ORDER);
    cr_assert_eq(ev->order->order_id, id + 1);
    xtb_event_destroy(&ev);
}

static int count_event(const Xtbridge__Event *event, void *arg) {
    cr_assert_eq(event->body_case, XTBRIDGE__EVENT__BODY_DISCONNECTED);
    cr_assert_str_eq(event->disconnected->reason, "xtquant connect() failed at start");
    (*(size_t *)arg)++;
    return 0;
}

/* Sessions 100 and 101 are taken: the bridge starts down, and connects on 102. */
static void start_sessions_taken(void) {
    setenv("XTQ_STANDIN_USED_SESSIONS", "100,101", 1);
    start_with_backoff("3000", "1500");
}

Test(xtquant, failed_connect_at_start, .init = start_sessions_taken, .fini = stop_bridge,
     .timeout = 60) {
    xtb_client_t *c = s_client;
    Xtbridge__Reply *h = NULL;
    cr_assert_not(hello(c, &h)->backend_connected);
    xtb_reply_destroy(&h);
    Xtbridge__Reply *r = xtbt_call(c, xtb_req_query_orders(ACC, false));
    cr_assert_eq(r->error->code, XTBRIDGE__ERROR_CODE__NOT_CONNECTED);
    xtb_reply_destroy(&r);
    const char *topics[] = {"connected.", NULL};
    listen_to(c, topics);
    /* 101 fails after 1.5 s, 102 works after 3 s more */
    Xtbridge__Event *ev = xtbt_wait_event(c, "connected.", XTBRIDGE__EVENT__BODY_CONNECTED, 15000);
    cr_assert_not_null(ev, "no connected. after the failed connect at start");
    xtb_event_destroy(&ev);
    cr_assert(log_has("xtquant: connect() on session 100 returned -1"));
    cr_assert(log_has("xtquant: connect() on session 101 returned -1"));
    cr_assert(log_has("xtquant: connected, session 102, accounts 1000000365"));
    cr_assert(hello(c, &h)->backend_connected);
    xtb_reply_destroy(&h);
    cr_assert_eq(order_count(c), 0);
    /* the disconnected. of the start is in the journal for late subscribers */
    size_t seen = 0;
    int n = xtb_client_replay(c, "disconnected.", NULL, NULL, 0, 5000, count_event, &seen);
    cr_assert_eq(n, 1, "replay of disconnected.: %d (%s)", n, xtb_client_error(c));
    cr_assert_eq(seen, 1);
}

Test(xtquant, ten_thousand_pushes_in_order, .init = start_default, .fini = stop_bridge,
     .timeout = 120) {
    enum { N = 10000 };
    xtb_client_t *c = s_client;
    const char *topics[] = {"order." ACC ".", NULL};
    listen_to(c, topics);
    int64_t t0 = zclock_usecs();
    int64_t id = place(c, 100, 9.0, "hook:burst:10000");
    uint64_t first_seq = 0;
    for (int i = 1; i <= N; i++) {
        char *t = NULL;
        Xtbridge__Event *ev = NULL;
        cr_assert_eq(xtb_client_recv_event(c, 10000, &t, &ev), 0, "push %d: %s", i,
                     xtb_client_error(c));
        cr_assert_str_eq(t, "order." ACC ".");
        cr_assert_eq(ev->order->order_id, id);
        cr_assert_eq(ev->order->order_volume, i, "push %d carries %lld", i,
                     (long long)ev->order->order_volume);
        if (i == 1)
            first_seq = ev->seq;
        cr_assert_eq(ev->seq, first_seq + (uint64_t)(i - 1));
        free(t);
        xtb_event_destroy(&ev);
    }
    double secs = (double)(zclock_usecs() - t0) / 1e6;
    fprintf(stderr, "xtquant: %d pushes from the stand-in's thread in %.3f s = %.0f pushes/s\n", N,
            secs, N / secs);
}

Test(xtquant, call_round_trip, .init = start_default, .fini = stop_bridge, .timeout = 60) {
    enum { N = 500 };
    xtb_client_t *c = s_client;
    int64_t t0 = zclock_usecs();
    for (int i = 0; i < N; i++) {
        Xtbridge__Reply *r =
            xtbt_call_ok(c, xtb_req_account(XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ASSET, ACC),
                         XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ASSET);
        cr_assert(r->query_stock_asset->found);
        xtb_reply_destroy(&r);
    }
    fprintf(stderr, "xtquant: query_stock_asset round trip %.1f us (avg over %d)\n",
            (double)(zclock_usecs() - t0) / N, N);
}

/* --python-home: the interpreter's home (the terminal's bundled Python on Windows). The
   system Python's own prefix works; a directory without a standard library stops the start
   with exit 2 and the reason, instead of aborting inside Python. */
static void start_python_home(void) {
    FILE *p = popen("/usr/bin/python3 -c 'import sys; print(sys.base_prefix)'", "r");
    cr_assert_not_null(p);
    static char home[256];
    cr_assert_not_null(fgets(home, sizeof home, p));
    cr_assert_eq(pclose(p), 0);
    home[strcspn(home, "\n")] = 0;
    const char *extra[] = {"--python-home", home, NULL};
    start_with_args("3000", "200", extra);
}

Test(xtquant, python_home_used, .init = start_python_home, .fini = stop_bridge, .timeout = 60) {
    Xtbridge__Reply *h = NULL;
    cr_assert(hello(s_client, &h)->backend_connected);
    xtb_reply_destroy(&h);
    cr_assert_eq(place(s_client, 100, 9.0, "home"), ORDER_ID_BASE + 1);
}

Test(xtquant, python_home_without_stdlib_refused, .timeout = 60) {
    setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
    setenv("PYTHONPATH", XTB_SOURCE_DIR "/tests/xtquant_standin", 1);
    char router[256], pub[256], data[300], log[300], cmd[1600];
    xtbt_endpoint(router, sizeof router, "home-router");
    xtbt_endpoint(pub, sizeof pub, "home-pub");
    snprintf(data, sizeof data, "%s/xtq-home-%d-data", xtbt_tmpdir(), (int)getpid());
    snprintf(log, sizeof log, "%s/xtq-home-%d.log", xtbt_tmpdir(), (int)getpid());
    snprintf(cmd, sizeof cmd,
             "'%s' --backend xtquant --python-home no-such-python-home --router '%s' --pub '%s' "
             "--data '%s' >'%s' 2>&1",
             XTB_BRIDGE_BIN, router, pub, data, log);
    int status = system(cmd);
    cr_assert(WIFEXITED(status), "xtbridge did not exit: %d", status);
    cr_assert_eq(WEXITSTATUS(status), 2, "exit status %d", WEXITSTATUS(status));
    FILE *f = fopen(log, "r");
    cr_assert_not_null(f);
    char line[1024];
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, "xtbridge: xtquant: cannot start Python with python_home "
                             "no-such-python-home: ") != NULL;
    fclose(f);
    cr_assert(found, "no start-up error naming the python home in %s", log);
    zsys_dir_delete(data);
}
