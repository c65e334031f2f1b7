/*  test_risk.c - pre-trade risk (brg_risk): unit tests of every rule at its limit (accepted)
    and one past it (refused), the sliding 1 s rate window on an injected clock, the open-order
    count from order pushes, config errors; then the real binary: each rule over the wire
    (RISK_REJECTED / RATE_LIMITED, nothing placed, no push), the count rebuilt from the
    backend's book after a restart, the kill switch (stops orders, cancel_open cancels, lifts,
    survives a restart, xtbctl kill-switch), a refused request_id retried afresh, and bad
    risk config -> exit 1 with a message.
*/
#include <criterion/criterion.h>
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "brg_log.h"
#include "brg_risk.h"
#include "testutil.h"
#include "xtb_client.h"

#define ACC "1000000365"
#define OTHER "1000000366"
#define BUY 23
#define FIX 11

/* ---- unit: config and rules ---------------------------------------------------------- */

static int64_t s_now;
static int64_t fake_clock(void *arg) {
    (void)arg;
    return s_now;
}

static void quiet(void) {
    brg_log_set_level(BRG_LOG_WARN); /* rejections and the kill switch log at info */
}
TestSuite(risk_unit, .init = quiet);

static brg_risk_t *risk_from(const char *text, char *err, size_t errlen) {
    zchunk_t *chunk = zchunk_new(text, strlen(text));
    zconfig_t *config = zconfig_chunk_load(chunk);
    zchunk_destroy(&chunk);
    cr_assert_not_null(config, "ZPL did not parse:\n%s", text);
    brg_risk_t *risk = brg_risk_new(config, err, errlen);
    zconfig_destroy(&config);
    if (risk)
        brg_risk_set_clock(risk, fake_clock, NULL);
    return risk;
}

static brg_risk_t *risk_ok(const char *text) {
    char err[512] = "";
    brg_risk_t *risk = risk_from(text, err, sizeof err);
    cr_assert_not_null(risk, "config refused: %s", err);
    return risk;
}

static void expect_ok(brg_risk_t *risk, const char *acc, const char *code, int64_t volume,
                      double price) {
    char msg[320] = "";
    Xtbridge__ErrorCode rc = brg_risk_check(risk, acc, code, volume, price, msg, sizeof msg);
    cr_assert_eq(rc, XTBRIDGE__ERROR_CODE__OK, "%s %lld @ %.4f refused: %s", code,
                 (long long)volume, price, msg);
}

static void expect_refused(brg_risk_t *risk, const char *acc, const char *code, int64_t volume,
                           double price, Xtbridge__ErrorCode want, const char *message) {
    char msg[320] = "";
    Xtbridge__ErrorCode rc = brg_risk_check(risk, acc, code, volume, price, msg, sizeof msg);
    cr_assert_eq(rc, want, "%s %lld @ %.4f: code %d, want %d (%s)", code, (long long)volume, price,
                 rc, want, msg);
    cr_assert_str_eq(msg, message);
}

Test(risk_unit, no_section_no_limits) {
    char err[256] = "";
    brg_risk_t *risk = brg_risk_new(NULL, err, sizeof err);
    cr_assert_not_null(risk);
    expect_ok(risk, ACC, "600519.SH", 100000000, 1500);
    brg_risk_destroy(&risk);
    cr_assert_null(risk);
}

Test(risk_unit, max_order_volume_is_inclusive) {
    brg_risk_t *risk =
        risk_ok("risk\n    account\n        id = " ACC "\n        max_order_volume = 100000\n");
    expect_ok(risk, ACC, "600000.SH", 100000, 10.5);
    expect_refused(risk, ACC, "600000.SH", 100001, 10.5, XTBRIDGE__ERROR_CODE__RISK_REJECTED,
                   "max_order_volume 100000 exceeded: order_volume 100001");
    /* another account is not limited (no default) */
    expect_ok(risk, OTHER, "600000.SH", 100001, 10.5);
    brg_risk_destroy(&risk);
}

Test(risk_unit, max_notional_in_cents) {
    brg_risk_t *risk =
        risk_ok("risk\n    account\n        id = " ACC "\n        max_notional = 5000000\n");
    /* 10.50 x 476190 = 4999995.00; 12.50 x 400000 = 5000000.00 exactly */
    expect_ok(risk, ACC, "600000.SH", 476190, 10.5);
    expect_ok(risk, ACC, "600000.SH", 400000, 12.5);
    /* one cent over */
    expect_refused(risk, ACC, "600000.SH", 1, 5000000.01, XTBRIDGE__ERROR_CODE__RISK_REJECTED,
                   "max_notional 5000000.00 exceeded: 5000000.01 x 1 = 5000000.01");
    expect_refused(risk, ACC, "600000.SH", 600000, 10.5, XTBRIDGE__ERROR_CODE__RISK_REJECTED,
                   "max_notional 5000000.00 exceeded: 10.50 x 600000 = 6300000.00");
    /* a market order has no price to bound */
    expect_refused(risk, ACC, "600000.SH", 100, 0, XTBRIDGE__ERROR_CODE__RISK_REJECTED,
                   "max_notional 5000000.00 needs a limit price: price 0.00");
    brg_risk_destroy(&risk);
}

/* A futures lot is worth price x multiplier: the backend says the multiplier per code. */
static int64_t fake_multiplier(void *self, const char *code) {
    (void)self;
    return strcmp(code, "IF2612.IF") == 0 ? 300 : 0;
}

Test(risk_unit, max_notional_counts_a_futures_lot_at_its_multiplier) {
    static const brg_backend_ops_t ops = {.name = "fake", .multiplier = fake_multiplier};
    brg_risk_t *risk =
        risk_ok("risk\n    account\n        id = " ACC "\n        max_notional = 1200000\n");
    brg_risk_attach(risk, &ops, NULL, NULL);
    /* 4000 points x 1 lot x 300 = 1,200,000.00: at the limit; one point more is over */
    expect_ok(risk, ACC, "IF2612.IF", 1, 4000);
    expect_refused(risk, ACC, "IF2612.IF", 1, 4000.2, XTBRIDGE__ERROR_CODE__RISK_REJECTED,
                   "max_notional 1200000.00 exceeded: 4000.20 x 1 x 300 = 1200060.00");
    expect_refused(risk, ACC, "IF2612.IF", 2, 3000, XTBRIDGE__ERROR_CODE__RISK_REJECTED,
                   "max_notional 1200000.00 exceeded: 3000.00 x 2 x 300 = 1800000.00");
    /* a code the backend does not know as a contract counts 1 a unit */
    expect_ok(risk, ACC, "600000.SH", 100000, 12);
    brg_risk_destroy(&risk);
}

Test(risk_unit, codes_and_boards) {
    brg_risk_t *risk = risk_ok("risk\n    account\n        id = " ACC
                               "\n        allowed_codes = 600000.SH, 000001.SZ\n"
                               "    default\n        allowed_boards = STAR, BJ\n");
    expect_ok(risk, ACC, "600000.SH", 100, 10);
    expect_ok(risk, ACC, "000001.SZ", 100, 10);
    expect_refused(risk, ACC, "600519.SH", 100, 10, XTBRIDGE__ERROR_CODE__RISK_REJECTED,
                   "allowed_codes/allowed_boards: '600519.SH' (board SH_MAIN) is not allowed");
    /* OTHER falls under default */
    expect_ok(risk, OTHER, "688981.SH", 100, 50);
    expect_ok(risk, OTHER, "430047.BJ", 100, 10);
    expect_refused(risk, OTHER, "300750.SZ", 100, 200, XTBRIDGE__ERROR_CODE__RISK_REJECTED,
                   "allowed_codes/allowed_boards: '300750.SZ' (board CHINEXT) is not allowed");
    expect_refused(risk, OTHER, "510300.SH", 100, 4, XTBRIDGE__ERROR_CODE__RISK_REJECTED,
                   "allowed_codes/allowed_boards: '510300.SH' (board none) is not allowed");
    brg_risk_destroy(&risk);
}

Test(risk_unit, boards) {
    cr_assert_str_eq(brg_risk_board("600000.SH"), "SH_MAIN");
    cr_assert_str_eq(brg_risk_board("601318.SH"), "SH_MAIN");
    cr_assert_str_eq(brg_risk_board("688981.SH"), "STAR");
    cr_assert_str_eq(brg_risk_board("689009.SH"), "STAR");
    cr_assert_str_eq(brg_risk_board("000001.SZ"), "SZ_MAIN");
    cr_assert_str_eq(brg_risk_board("002594.SZ"), "SZ_MAIN");
    cr_assert_str_eq(brg_risk_board("300750.SZ"), "CHINEXT");
    cr_assert_str_eq(brg_risk_board("301000.SZ"), "CHINEXT");
    cr_assert_str_eq(brg_risk_board("430047.BJ"), "BJ");
    cr_assert_null(brg_risk_board("510300.SH"));
    cr_assert_null(brg_risk_board("159915.SZ"));
    cr_assert_null(brg_risk_board(""));
}

Test(risk_unit, rate_window_slides_over_1000_ms) {
    brg_risk_t *risk =
        risk_ok("risk\n    account\n        id = " ACC "\n        max_orders_per_second = 3\n");
    s_now = 10000;
    expect_ok(risk, ACC, "600000.SH", 100, 10);
    s_now = 10400;
    expect_ok(risk, ACC, "600000.SH", 100, 10);
    expect_ok(risk, ACC, "600000.SH", 100, 10); /* 3 in the window: exactly the limit */
    expect_refused(risk, ACC, "600000.SH", 100, 10, XTBRIDGE__ERROR_CODE__RATE_LIMITED,
                   "max_orders_per_second 3 exceeded: 3 orders in the last 1000 ms");
    s_now = 10999; /* the first is still inside (999 ms old) */
    expect_refused(risk, ACC, "600000.SH", 100, 10, XTBRIDGE__ERROR_CODE__RATE_LIMITED,
                   "max_orders_per_second 3 exceeded: 3 orders in the last 1000 ms");
    s_now = 11000; /* 1000 ms old: out */
    expect_ok(risk, ACC, "600000.SH", 100, 10);
    expect_refused(risk, ACC, "600000.SH", 100, 10, XTBRIDGE__ERROR_CODE__RATE_LIMITED,
                   "max_orders_per_second 3 exceeded: 3 orders in the last 1000 ms");
    s_now = 11400; /* both at 10400 are out; one (11000) left */
    expect_ok(risk, ACC, "600000.SH", 100, 10);
    expect_ok(risk, ACC, "600000.SH", 100, 10);
    expect_refused(risk, ACC, "600000.SH", 100, 10, XTBRIDGE__ERROR_CODE__RATE_LIMITED,
                   "max_orders_per_second 3 exceeded: 3 orders in the last 1000 ms");
    brg_risk_destroy(&risk);
}

Test(risk_unit, refused_orders_do_not_fill_the_window) {
    brg_risk_t *risk =
        risk_ok("risk\n    account\n        id = " ACC "\n        max_orders_per_second = 1\n"
                "        max_order_volume = 100\n");
    s_now = 5000;
    for (int i = 0; i < 5; i++)
        expect_refused(risk, ACC, "600000.SH", 200, 10, XTBRIDGE__ERROR_CODE__RISK_REJECTED,
                       "max_order_volume 100 exceeded: order_volume 200");
    expect_ok(risk, ACC, "600000.SH", 100, 10);
    brg_risk_destroy(&risk);
}

static void push_order(brg_risk_t *risk, const char *acc, int64_t order_id, int32_t status) {
    Xtbridge__Event event = XTBRIDGE__EVENT__INIT;
    Xtbridge__XtOrder order = XTBRIDGE__XT_ORDER__INIT;
    order.account_id = (char *)acc;
    order.account_type = 2;
    order.order_id = order_id;
    order.order_status = status;
    event.body_case = XTBRIDGE__EVENT__BODY_ORDER;
    event.order = &order;
    brg_risk_tap_fn(risk, "order", acc, &event);
}

Test(risk_unit, open_orders_from_pushes) {
    brg_risk_t *risk = risk_ok("risk\n    default\n        max_open_orders = 2\n");
    push_order(risk, ACC, 1, 48);
    push_order(risk, ACC, 1, 50); /* the same order again */
    cr_assert_eq(brg_risk_open_orders(risk, ACC), 1);
    expect_ok(risk, ACC, "600000.SH", 100, 10); /* 1 open: the 2nd is at the limit */
    push_order(risk, ACC, 2, 49);
    cr_assert_eq(brg_risk_open_orders(risk, ACC), 2);
    expect_refused(risk, ACC, "600000.SH", 100, 10, XTBRIDGE__ERROR_CODE__RISK_REJECTED,
                   "max_open_orders 2 reached: 2 orders open");
    push_order(risk, ACC, 2, 55); /* part filled: still open */
    cr_assert_eq(brg_risk_open_orders(risk, ACC), 2);
    push_order(risk, ACC, 1, 56); /* filled */
    cr_assert_eq(brg_risk_open_orders(risk, ACC), 1);
    expect_ok(risk, ACC, "600000.SH", 100, 10);
    push_order(risk, ACC, 2, 54); /* cancelled */
    push_order(risk, ACC, 3, 57); /* junk never opens */
    cr_assert_eq(brg_risk_open_orders(risk, ACC), 0);
    /* accounts are counted apart */
    push_order(risk, OTHER, 4, 50);
    push_order(risk, OTHER, 5, 50);
    cr_assert_eq(brg_risk_open_orders(risk, OTHER), 2);
    cr_assert_eq(brg_risk_open_orders(risk, ACC), 0);
    expect_refused(risk, OTHER, "600000.SH", 100, 10, XTBRIDGE__ERROR_CODE__RISK_REJECTED,
                   "max_open_orders 2 reached: 2 orders open");
    brg_risk_destroy(&risk);
}

static Xtbridge__Reply *kill_switch(brg_risk_t *risk, const char *acc, bool engaged) {
    Xtbridge__Request *req = xtb_req_risk_kill_switch(acc, engaged, false);
    xtb_request_set_id(req, "k1");
    /* the call owns an unpacked request: round-trip it */
    size_t size = xtbridge__request__get_packed_size(req);
    uint8_t *buf = malloc(size);
    xtbridge__request__pack(req, buf);
    xtb_request_destroy(&req);
    brg_call_t *call = brg_call_new(xtbridge__request__unpack(NULL, size, buf), "test");
    free(buf);
    brg_risk_kill_switch(risk, call);
    Xtbridge__Reply *reply = brg_call_reply(call);
    cr_assert_eq(reply->error->code, XTBRIDGE__ERROR_CODE__OK, "%s", reply->error->message);
    cr_assert_eq(reply->result_case, XTBRIDGE__REPLY__RESULT_RISK_KILL_SWITCH);
    size = xtbridge__reply__get_packed_size(reply);
    buf = malloc(size);
    xtbridge__reply__pack(reply, buf);
    Xtbridge__Reply *copy = xtbridge__reply__unpack(NULL, size, buf);
    free(buf);
    brg_call_destroy(&call);
    return copy;
}

Test(risk_unit, kill_switch_account_and_all) {
    char err[64];
    brg_risk_t *risk = brg_risk_new(NULL, err, sizeof err);
    Xtbridge__Reply *r = kill_switch(risk, ACC, true);
    cr_assert_eq(r->risk_kill_switch->n_engaged_accounts, 1);
    cr_assert_str_eq(r->risk_kill_switch->engaged_accounts[0], ACC);
    cr_assert_not(r->risk_kill_switch->all_engaged);
    xtbridge__reply__free_unpacked(r, NULL);
    expect_refused(risk, ACC, "600000.SH", 100, 10, XTBRIDGE__ERROR_CODE__RISK_REJECTED,
                   "kill switch engaged (" ACC ")");
    expect_ok(risk, OTHER, "600000.SH", 100, 10);
    r = kill_switch(risk, "", true);
    cr_assert(r->risk_kill_switch->all_engaged);
    xtbridge__reply__free_unpacked(r, NULL);
    expect_refused(risk, OTHER, "600000.SH", 100, 10, XTBRIDGE__ERROR_CODE__RISK_REJECTED,
                   "kill switch engaged (all accounts)");
    /* lifting one account leaves the global switch on */
    r = kill_switch(risk, ACC, false);
    cr_assert_eq(r->risk_kill_switch->n_engaged_accounts, 0);
    xtbridge__reply__free_unpacked(r, NULL);
    cr_assert(brg_risk_killed(risk, ACC));
    /* lifting all lifts everything */
    r = kill_switch(risk, OTHER, true);
    xtbridge__reply__free_unpacked(r, NULL);
    r = kill_switch(risk, "", false);
    cr_assert_not(r->risk_kill_switch->all_engaged);
    cr_assert_eq(r->risk_kill_switch->n_engaged_accounts, 0);
    xtbridge__reply__free_unpacked(r, NULL);
    expect_ok(risk, ACC, "600000.SH", 100, 10);
    expect_ok(risk, OTHER, "600000.SH", 100, 10);
    brg_risk_destroy(&risk);
}

/* A backend with a fixed book: answers query_stock_orders from it and records cancels. */
typedef struct {
    int64_t ids[8];
    int32_t statuses[8];
    size_t n;
    int64_t cancelled[8];
    size_t ncancelled;
} fake_book_t;

static fake_book_t s_book;

static bool fake_serves(void *self, Xtbridge__Request__BodyCase body) {
    (void)self;
    return body == XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ORDERS ||
           body == XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK;
}

static void fake_describe(void *self, brg_call_t *call, Xtbridge__HelloReply *hello) {
    (void)self;
    hello->accounts = (Xtbridge__Account **)brg_call_alloc(call, sizeof(void *));
    hello->accounts[0] = (Xtbridge__Account *)brg_call_alloc(call, sizeof(Xtbridge__Account));
    xtbridge__account__init(hello->accounts[0]);
    hello->accounts[0]->account_id = brg_call_strdup(call, ACC);
    hello->n_accounts = 1;
}

static int fake_handle(void *self, brg_call_t *call) {
    fake_book_t *book = (fake_book_t *)self;
    const Xtbridge__Request *req = brg_call_request(call);
    Xtbridge__Reply *reply = brg_call_reply(call);
    if (req->body_case == XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK) {
        cr_assert_str_eq(req->cancel_order_stock->account->account_id, ACC);
        book->cancelled[book->ncancelled++] = req->cancel_order_stock->order_id;
        Xtbridge__CancelReply *r = (Xtbridge__CancelReply *)brg_call_alloc(call, sizeof *r);
        xtbridge__cancel_reply__init(r);
        reply->result_case = XTBRIDGE__REPLY__RESULT_CANCEL_ORDER_STOCK;
        reply->cancel_order_stock = r;
        return BRG_CALL_DONE;
    }
    Xtbridge__OrdersReply *r = (Xtbridge__OrdersReply *)brg_call_alloc(call, sizeof *r);
    xtbridge__orders_reply__init(r);
    r->orders = (Xtbridge__XtOrder **)brg_call_alloc(call, sizeof(void *) * 8);
    for (size_t i = 0; i < book->n; i++) {
        Xtbridge__XtOrder *o = (Xtbridge__XtOrder *)brg_call_alloc(call, sizeof *o);
        xtbridge__xt_order__init(o);
        o->account_id = brg_call_strdup(call, ACC);
        o->order_id = book->ids[i];
        o->order_status = book->statuses[i];
        r->orders[r->n_orders++] = o;
    }
    reply->result_case = XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ORDERS;
    reply->query_stock_orders = r;
    return BRG_CALL_DONE;
}

static const brg_backend_ops_t fake_ops = {
    .name = "fake", .serves = fake_serves, .handle = fake_handle, .describe = fake_describe};

Test(risk_unit, open_orders_from_the_backend_book_and_rebuilt_after_a_rollback) {
    s_book = (fake_book_t){.ids = {1, 2, 3}, .statuses = {50, 56, 55}, .n = 3};
    brg_risk_t *risk = risk_ok("risk\n    default\n        max_open_orders = 3\n");
    brg_risk_attach(risk, &fake_ops, &s_book, NULL);
    brg_risk_resync(risk);
    cr_assert_eq(brg_risk_open_orders(risk, ACC), 2, "orders 1 (50) and 3 (55) are open");
    /* a push of a batch that then rolls back */
    push_order(risk, ACC, 4, 50);
    cr_assert_eq(brg_risk_open_orders(risk, ACC), 3);
    brg_risk_tap_fn(risk, NULL, NULL, NULL);
    /* the next check asks the backend again: order 4 never happened */
    expect_ok(risk, ACC, "600000.SH", 100, 10);
    cr_assert_eq(brg_risk_open_orders(risk, ACC), 2);
    /* kill switch with cancel_open: one cancel per open order, to the backend */
    Xtbridge__Request *req = xtb_req_risk_kill_switch(ACC, true, true);
    xtb_request_set_id(req, "k");
    size_t size = xtbridge__request__get_packed_size(req);
    uint8_t *buf = malloc(size);
    xtbridge__request__pack(req, buf);
    xtb_request_destroy(&req);
    brg_call_t *call = brg_call_new(xtbridge__request__unpack(NULL, size, buf), "test");
    free(buf);
    brg_risk_kill_switch(risk, call);
    Xtbridge__Reply *reply = brg_call_reply(call);
    cr_assert_eq(reply->error->code, XTBRIDGE__ERROR_CODE__OK, "%s", reply->error->message);
    cr_assert_eq(reply->risk_kill_switch->cancels_sent, 2);
    cr_assert_eq(reply->risk_kill_switch->cancels_failed, 0);
    brg_call_destroy(&call);
    cr_assert_eq(s_book.ncancelled, 2);
    int64_t a = s_book.cancelled[0], b = s_book.cancelled[1];
    cr_assert((a == 1 && b == 3) || (a == 3 && b == 1), "cancelled %lld and %lld", (long long)a,
              (long long)b);
    brg_risk_destroy(&risk);
}

static void expect_config_error(const char *text, const char *message) {
    char err[512] = "";
    brg_risk_t *risk = risk_from(text, err, sizeof err);
    cr_assert_null(risk, "accepted:\n%s", text);
    cr_assert_str_eq(err, message);
}

Test(risk_unit, config_errors) {
    expect_config_error("risk\n    account\n        id = 1\n        max_order_volume = abc\n",
                        "risk: account 1: max_order_volume 'abc' is not a positive integer");
    expect_config_error("risk\n    account\n        id = 1\n        max_open_orders = 0\n",
                        "risk: account 1: max_open_orders '0' is not a positive integer");
    expect_config_error("risk\n    account\n        id = 1\n        max_orders_per_second = 5x\n",
                        "risk: account 1: max_orders_per_second '5x' is not a positive integer");
    expect_config_error("risk\n    default\n        max_notional = -5\n",
                        "risk: default: max_notional '-5' is not a positive amount");
    expect_config_error("risk\n    default\n        max_notional = nan\n",
                        "risk: default: max_notional 'nan' is not a positive amount");
    expect_config_error("risk\n    account\n        max_notional = 5\n",
                        "risk: an account entry has no id");
    expect_config_error(
        "risk\n    account\n        id = 1\n        allowed_boards = SH_MAIN, GEM\n",
        "risk: account 1: allowed_boards: unknown board 'GEM' (have SH_MAIN, "
        "SZ_MAIN, CHINEXT, STAR, BJ)");
    expect_config_error("risk\n    account\n        id = 1\n        allowed_codes = ,\n",
                        "risk: account 1: allowed_codes is empty (give at least one)");
    expect_config_error("risk\n    account\n        id = 1\n        max_volume = 5\n",
                        "risk: account 1: unknown setting 'max_volume' (have max_order_volume, "
                        "max_notional, max_orders_per_second, max_open_orders, allowed_codes, "
                        "allowed_boards)");
    expect_config_error("risk\n    acount\n        id = 1\n",
                        "risk: unknown entry 'acount' (have account, default)");
    expect_config_error("risk\n    account\n        id = 1\n    account\n        id = 1\n",
                        "risk: account 1 is given twice");
}

/* ---- integration: the real binary ------------------------------------------------------ */

static xtbt_bridge_t *s_bridge;
static xtb_client_t *s_client;

/* A sim account with ample cash plus `risk_text` (a whole `risk` section). */
static void start_with_risk(const char *risk_text) {
    char config[2048];
    snprintf(config, sizeof config,
             "sim\n    account\n        id = " ACC "\n        type = STOCK\n"
             "        cash = 100000000\n%s",
             risk_text);
    s_bridge = xtbt_bridge_start(config, NULL);
    cr_assert_not_null(s_bridge, "xtbridge did not start (%s)", XTB_BRIDGE_BIN);
    s_client = xtbt_bridge_client(s_bridge);
    cr_assert_eq(xtb_client_subscribe(s_client, "order." ACC "."), 0, "%s",
                 xtb_client_error(s_client));
    cr_assert_eq(xtb_client_sync_subscriptions(s_client, 5000), 0, "%s",
                 xtb_client_error(s_client));
}

static void stop_bridge(void) {
    xtb_client_destroy(&s_client);
    if (s_bridge) {
        int status = xtbt_bridge_stop(&s_bridge);
        cr_expect_eq(status, 0, "xtbridge exit status %d after SIGTERM", status);
    }
}

static Xtbridge__Reply *order(const char *code, int64_t volume, double price, const char *id) {
    Xtbridge__Request *req = xtb_req_order(ACC, code, BUY, volume, FIX, price, "risk", "", false);
    if (id)
        xtb_request_set_id(req, id);
    return xtbt_call(s_client, req);
}

static int64_t place(const char *code, int64_t volume, double price) {
    Xtbridge__Reply *r = order(code, volume, price, NULL);
    cr_assert_eq(r->error->code, XTBRIDGE__ERROR_CODE__OK, "%s %lld @ %.2f: %s", code,
                 (long long)volume, price, r->error->message);
    cr_assert_eq(r->result_case, XTBRIDGE__REPLY__RESULT_ORDER_STOCK);
    int64_t id = r->order_stock->order_id;
    cr_assert_gt(id, 0);
    xtb_reply_destroy(&r);
    return id;
}

static void refused(const char *code, int64_t volume, double price, Xtbridge__ErrorCode want,
                    const char *message) {
    Xtbridge__Reply *r = order(code, volume, price, NULL);
    cr_assert_eq(r->error->code, want, "%s %lld @ %.2f: code %d (%s), want %d", code,
                 (long long)volume, price, r->error->code, r->error->message, want);
    cr_assert_str_eq(r->error->message, message);
    cr_assert_eq(r->result_case, XTBRIDGE__REPLY__RESULT__NOT_SET);
    xtb_reply_destroy(&r);
}

static size_t count_orders(void) {
    Xtbridge__Reply *r = xtbt_call_ok(s_client, xtb_req_query_orders(ACC, false),
                                      XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ORDERS);
    size_t n = r->query_stock_orders->n_orders;
    xtb_reply_destroy(&r);
    return n;
}

/* The next order push must be about `order_id` (so nothing was pushed for a refused order
   placed before it); skips the same order's further pushes up to `status`. */
static void next_order_push_is(int64_t order_id, int32_t status) {
    for (;;) {
        Xtbridge__Event *ev =
            xtbt_wait_event(s_client, "order." ACC ".", XTBRIDGE__EVENT__BODY_ORDER, 3000);
        cr_assert_not_null(ev, "no order push for order %lld", (long long)order_id);
        int64_t id = ev->order->order_id;
        int32_t got = ev->order->order_status;
        xtb_event_destroy(&ev);
        cr_assert_eq(id, order_id, "order push for %lld, expected %lld", (long long)id,
                     (long long)order_id);
        if (got == status)
            return;
    }
}

Test(risk_wire, volume_and_notional_at_and_over_the_limit, .fini = stop_bridge, .timeout = 60) {
    start_with_risk("risk\n    account\n        id = " ACC "\n        max_order_volume = 1000\n"
                    "        max_notional = 10500\n");
    refused("600000.SH", 1100, 10.00, XTBRIDGE__ERROR_CODE__RISK_REJECTED,
            "max_order_volume 1000 exceeded: order_volume 1100");
    refused("600000.SH", 1000, 10.51, XTBRIDGE__ERROR_CODE__RISK_REJECTED,
            "max_notional 10500.00 exceeded: 10.51 x 1000 = 10510.00");
    cr_assert_eq(count_orders(), 0, "a refused order reached the sim");
    /* and nothing was journaled: no order, order_error or order_async push */
    Xtbridge__Reply *j = xtbt_call_ok(s_client, xtb_req_replay("order", NULL, NULL, 0, 0),
                                      XTBRIDGE__REPLY__RESULT_REPLAY);
    cr_assert_eq(j->replay->n_events, 0, "refused orders left %zu journal rows",
                 j->replay->n_events);
    xtb_reply_destroy(&j);
    int64_t id = place("600000.SH", 1000, 10.50); /* both exactly at their limit */
    cr_assert_eq(id, 1, "the first order placed gets id 1: nothing was placed before it");
    next_order_push_is(id, 50);
    cr_assert_eq(count_orders(), 1);
}

/* A futures account of the sim (added to the config): an IF lot is 300 yuan a point, and
   the limit counts it so. */
Test(risk_wire, max_notional_of_a_futures_order, .fini = stop_bridge, .timeout = 60) {
    start_with_risk("    account\n        id = 1000000367\n        type = FUTURE\n"
                    "        cash = 1000000\n"
                    "risk\n    account\n        id = 1000000367\n"
                    "        max_notional = 1000000\n");
    Xtbridge__Reply *r = xtbt_call_ok(s_client, xtb_req_sim_set_price("IF2412.IF", 3350, 0, -1),
                                      XTBRIDGE__REPLY__RESULT_SIM_SET_PRICE);
    xtb_reply_destroy(&r);
    Xtbridge__Request *req = xtb_req_order("1000000367", "IF2412.IF", 0 /* FUTURE_OPEN_LONG */, 1,
                                           FIX, 3400, "risk", "", false);
    req->order_stock->account->account_type = 1; /* FUTURE */
    r = xtbt_call(s_client, req);
    cr_assert_eq(r->error->code, XTBRIDGE__ERROR_CODE__RISK_REJECTED, "%s", r->error->message);
    cr_assert_str_eq(r->error->message,
                     "max_notional 1000000.00 exceeded: 3400.00 x 1 x 300 = 1020000.00");
    xtb_reply_destroy(&r);
    req = xtb_req_order("1000000367", "IF2412.IF", 0, 1, FIX, 3300, "risk", "", false);
    req->order_stock->account->account_type = 1;
    r = xtbt_call(s_client, req);
    cr_assert_eq(r->error->code, XTBRIDGE__ERROR_CODE__OK, "3300 x 300 = 990,000: %s",
                 r->error->message);
    cr_assert_gt(r->order_stock->order_id, 0);
    xtb_reply_destroy(&r);
}

Test(risk_wire, allowed_codes_and_boards, .fini = stop_bridge, .timeout = 60) {
    start_with_risk("risk\n    account\n        id = " ACC "\n        allowed_codes = 600000.SH\n"
                    "        allowed_boards = CHINEXT\n");
    refused("000001.SZ", 100, 11.00, XTBRIDGE__ERROR_CODE__RISK_REJECTED,
            "allowed_codes/allowed_boards: '000001.SZ' (board SZ_MAIN) is not allowed");
    int64_t a = place("600000.SH", 100, 10.50);
    next_order_push_is(a, 50);
    int64_t b = place("300750.SZ", 100, 190.00);
    next_order_push_is(b, 50);
    cr_assert_eq(count_orders(), 2);
}

Test(risk_wire, open_orders_limit_holds_across_a_restart, .fini = stop_bridge, .timeout = 60) {
    start_with_risk("risk\n    account\n        id = " ACC "\n        max_open_orders = 2\n");
    int64_t a = place("600000.SH", 100, 10.50);
    int64_t b = place("600000.SH", 100, 10.40);
    refused("600000.SH", 100, 10.30, XTBRIDGE__ERROR_CODE__RISK_REJECTED,
            "max_open_orders 2 reached: 2 orders open");
    cr_assert_eq(count_orders(), 2);
    /* after a restart the count comes from the sim's book */
    xtb_client_destroy(&s_client);
    cr_assert_eq(xtbt_bridge_kill(s_bridge), 0);
    cr_assert_eq(xtbt_bridge_restart(s_bridge, NULL), 0, "xtbridge did not restart");
    s_client = xtbt_bridge_client(s_bridge);
    cr_assert_eq(xtb_client_subscribe(s_client, "order." ACC "."), 0);
    cr_assert_eq(xtb_client_sync_subscriptions(s_client, 5000), 0);
    refused("600000.SH", 100, 10.30, XTBRIDGE__ERROR_CODE__RISK_REJECTED,
            "max_open_orders 2 reached: 2 orders open");
    /* a cancel frees a place */
    Xtbridge__Reply *r = xtbt_call_ok(s_client, xtb_req_cancel(ACC, a, false),
                                      XTBRIDGE__REPLY__RESULT_CANCEL_ORDER_STOCK);
    cr_assert_eq(r->cancel_order_stock->result, 0);
    xtb_reply_destroy(&r);
    next_order_push_is(a, 54);
    int64_t c = place("600000.SH", 100, 10.30);
    cr_assert_eq(c, b + 1);
    /* a fill frees one too: b (10.40) fills, c (10.30) rests */
    r = xtbt_call_ok(s_client, xtb_req_sim_set_price("600000.SH", 10.35, 0, -1),
                     XTBRIDGE__REPLY__RESULT_SIM_SET_PRICE);
    xtb_reply_destroy(&r);
    int64_t d = place("600000.SH", 100, 10.20);
    cr_assert_eq(d, c + 1);
    refused("600000.SH", 100, 10.20, XTBRIDGE__ERROR_CODE__RISK_REJECTED,
            "max_open_orders 2 reached: 2 orders open");
}

Test(risk_wire, rate_limited, .fini = stop_bridge, .timeout = 60) {
    start_with_risk("risk\n    account\n        id = " ACC "\n        max_orders_per_second = 3\n");
    /* four calls well within one second (round trips of a few ms) */
    int64_t first = place("600000.SH", 100, 10.50);
    place("600000.SH", 100, 10.50);
    place("600000.SH", 100, 10.50);
    refused("600000.SH", 100, 10.50, XTBRIDGE__ERROR_CODE__RATE_LIMITED,
            "max_orders_per_second 3 exceeded: 3 orders in the last 1000 ms");
    cr_assert_eq(count_orders(), 3);
    cr_assert_eq(first, 1);
}

Test(risk_wire, kill_switch_stops_cancels_survives_restart_and_lifts, .fini = stop_bridge,
     .timeout = 60) {
    start_with_risk("");
    int64_t a = place("600000.SH", 100, 10.50);
    next_order_push_is(a, 50);
    int64_t b = place("000001.SZ", 200, 10.90);
    next_order_push_is(b, 50);
    Xtbridge__Reply *r = xtbt_call_ok(s_client, xtb_req_risk_kill_switch(ACC, true, true),
                                      XTBRIDGE__REPLY__RESULT_RISK_KILL_SWITCH);
    cr_assert_eq(r->risk_kill_switch->cancels_sent, 2);
    cr_assert_eq(r->risk_kill_switch->cancels_failed, 0);
    cr_assert_not(r->risk_kill_switch->all_engaged);
    cr_assert_eq(r->risk_kill_switch->n_engaged_accounts, 1);
    cr_assert_str_eq(r->risk_kill_switch->engaged_accounts[0], ACC);
    xtb_reply_destroy(&r);
    next_order_push_is(a, 54);
    next_order_push_is(b, 54);
    Xtbridge__Reply *o = xtbt_call_ok(s_client, xtb_req_query_orders(ACC, true),
                                      XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ORDERS);
    cr_assert_eq(o->query_stock_orders->n_orders, 0, "open orders left after cancel_open");
    xtb_reply_destroy(&o);

    refused("600000.SH", 100, 10.50, XTBRIDGE__ERROR_CODE__RISK_REJECTED,
            "kill switch engaged (" ACC ")");
    cr_assert_eq(count_orders(), 2);

    /* durable: still engaged after a restart */
    xtb_client_destroy(&s_client);
    cr_assert_eq(xtbt_bridge_kill(s_bridge), 0);
    cr_assert_eq(xtbt_bridge_restart(s_bridge, NULL), 0, "xtbridge did not restart");
    s_client = xtbt_bridge_client(s_bridge);
    cr_assert_eq(xtb_client_subscribe(s_client, "order." ACC "."), 0);
    cr_assert_eq(xtb_client_sync_subscriptions(s_client, 5000), 0);
    /* refused, and the refusal is not stored as the request's answer */
    r = order("600000.SH", 100, 10.50, "after-kill");
    cr_assert_eq(r->error->code, XTBRIDGE__ERROR_CODE__RISK_REJECTED);
    cr_assert_str_eq(r->error->message, "kill switch engaged (" ACC ")");
    xtb_reply_destroy(&r);

    r = xtbt_call_ok(s_client, xtb_req_risk_kill_switch(ACC, false, false),
                     XTBRIDGE__REPLY__RESULT_RISK_KILL_SWITCH);
    cr_assert_eq(r->risk_kill_switch->n_engaged_accounts, 0);
    xtb_reply_destroy(&r);
    /* the same client retries the refused request id: checked afresh, placed */
    r = order("600000.SH", 100, 10.50, "after-kill");
    cr_assert_eq(r->error->code, XTBRIDGE__ERROR_CODE__OK, "%s", r->error->message);
    cr_assert_eq(r->order_stock->order_id, b + 1);
    xtb_reply_destroy(&r);
    next_order_push_is(b + 1, 50);
    /* and now it is an accepted order: its retry gets the same answer, nothing new */
    r = order("600000.SH", 100, 10.50, "after-kill");
    cr_assert_eq(r->order_stock->order_id, b + 1);
    xtb_reply_destroy(&r);
    cr_assert_eq(count_orders(), 3);

    /* all accounts */
    r = xtbt_call_ok(s_client, xtb_req_risk_kill_switch(NULL, true, false),
                     XTBRIDGE__REPLY__RESULT_RISK_KILL_SWITCH);
    cr_assert(r->risk_kill_switch->all_engaged);
    xtb_reply_destroy(&r);
    refused("600000.SH", 100, 10.50, XTBRIDGE__ERROR_CODE__RISK_REJECTED,
            "kill switch engaged (all accounts)");
    r = xtbt_call_ok(s_client, xtb_req_risk_kill_switch(NULL, false, false),
                     XTBRIDGE__REPLY__RESULT_RISK_KILL_SWITCH);
    cr_assert_not(r->risk_kill_switch->all_engaged);
    xtb_reply_destroy(&r);
    place("600000.SH", 100, 10.50);
    cr_assert_eq(count_orders(), 4);
}

/* Run a shell command, return its exit status and output (caller frees). */
static int run(const char *cmd, char **out) {
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t cap = 8192, len = 0;
    char *buf = calloc(cap, 1);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0)
        len += n;
    buf[len] = 0;
    int status = pclose(p);
    *out = buf;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(risk_wire, xtbctl_kill_switch, .fini = stop_bridge, .timeout = 60) {
    start_with_risk("");
    char cmd[1024];
    char *out = NULL;
    snprintf(cmd, sizeof cmd, "%s --router %s kill-switch on 2>&1", XTB_XTBCTL_BIN,
             s_bridge->router_ep);
    cr_assert_eq(run(cmd, &out), 0, "%s", out);
    cr_assert_str_eq(out, "kill switch engaged for " ACC "\nall accounts:     off\n"
                          "engaged accounts: " ACC "\n");
    free(out);
    snprintf(cmd, sizeof cmd, "%s --router %s order 600000.SH buy 100 10.50 2>&1", XTB_XTBCTL_BIN,
             s_bridge->router_ep);
    cr_assert_eq(run(cmd, &out), 1, "%s", out);
    cr_assert_str_eq(out, "xtbctl: error RISK_REJECTED: kill switch engaged (" ACC ")\n");
    free(out);
    snprintf(cmd, sizeof cmd, "%s --router %s kill-switch off --all 2>&1", XTB_XTBCTL_BIN,
             s_bridge->router_ep);
    cr_assert_eq(run(cmd, &out), 0, "%s", out);
    cr_assert_str_eq(out, "kill switch lifted for all accounts\nall accounts:     off\n"
                          "engaged accounts: none\n");
    free(out);
    snprintf(cmd, sizeof cmd, "%s --router %s kill-switch sideways 2>&1", XTB_XTBCTL_BIN,
             s_bridge->router_ep);
    cr_assert_eq(run(cmd, &out), 2, "%s", out);
    free(out);
    place("600000.SH", 100, 10.50);
}

Test(risk_wire, bad_risk_config_exits_1_with_a_message, .timeout = 30) {
    char dir[200];
    snprintf(dir, sizeof dir, "%s/xtbt-risk-XXXXXX", xtbt_tmpdir());
    cr_assert_not_null(mkdtemp(dir));
    char path[300], cmd[2000];
    snprintf(path, sizeof path, "%s/bad.zpl", dir);
    FILE *f = fopen(path, "w");
    fputs("risk\n    account\n        id = " ACC "\n        max_notional = 5e\n", f);
    fclose(f);
    char router[256], pub[256];
    xtbt_endpoint(router, sizeof router, "router");
    xtbt_endpoint(pub, sizeof pub, "pub");
    snprintf(cmd, sizeof cmd, "%s --router %s --pub %s --data %s/data --config %s 2>&1",
             XTB_BRIDGE_BIN, router, pub, dir, path);
    char *out = NULL;
    cr_assert_eq(run(cmd, &out), 1, "%s", out);
    cr_assert_str_eq(out, "xtbridge: risk: account " ACC ": max_notional '5e' is not a positive "
                          "amount\n");
    free(out);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}
