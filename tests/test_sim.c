/*  test_sim.c - unit tests of the `sim` backend through its ops table: the spec's worked
    example with exact cents, every broker-style rejection (junk order + order_error),
    INVALID_ARGUMENT cases, cancels by id and sysid (sync and async), async push order,
    partial fills under a liquidity cap, the day close, queries and unknown accounts; the
    asset/position pushes of every freeze, release and settlement; and durability: a book
    kept in a real store (temp dir) survives destroy + reopen to the cent, and `restore`
    after a failed commit (a full 1 MiB store, or a batch failed on purpose) returns to the
    last committed book.

    No sockets: a fake env records every emitted push as (kind, account, decoded event), so
    the tests assert exact push sequences and values. Requests are built on the stack,
    packed and unpacked (brg_call_new frees with the unpack allocator) and handed to
    ops->handle; the reply is read back from brg_call_reply().
*/
#include <criterion/criterion.h>
#include <czmq.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <string.h>
#include <unistd.h>

#include "brg_backend.h"
#include "brg_call.h"
#include "brg_sim.h"
#include "brg_store.h"
#include "xtbridge_state.pb-c.h"
#include "testutil.h"

extern const brg_backend_ops_t brg_sim_ops;

#define ACCT "1000000365"
#define MAX_PUSHES 512

/* ---- fake env: records pushes ---------------------------------------------------- */

typedef struct {
    char kind[32];
    char account[64];
    Xtbridge__Event *event;
} push_t;

static push_t pushes[MAX_PUSHES];
static size_t npushes;
static void *sim;
static zconfig_t *config;
static brg_store_t *store; /* NULL: the sim keeps its book in memory only */

static int record_emit(void *arg, const char *kind, const char *account_id,
                       Xtbridge__Event *event) {
    (void)arg;
    cr_assert_lt(npushes, MAX_PUSHES, "too many pushes");
    cr_assert_eq(event->body_case != XTBRIDGE__EVENT__BODY__NOT_SET, true);
    size_t size = xtbridge__event__get_packed_size(event);
    uint8_t *buf = malloc(size ? size : 1);
    xtbridge__event__pack(event, buf);
    push_t *p = &pushes[npushes++];
    snprintf(p->kind, sizeof p->kind, "%s", kind);
    snprintf(p->account, sizeof p->account, "%s", account_id ? account_id : "");
    p->event = xtbridge__event__unpack(NULL, size, buf);
    free(buf);
    cr_assert_not_null(p->event);
    return 0;
}

static void clear_pushes(void) {
    for (size_t i = 0; i < npushes; i++)
        xtbridge__event__free_unpacked(pushes[i].event, NULL);
    npushes = 0;
}

/* Create the sim with an optional ZPL config text. */
static void *make_sim(const char *config_text, char *err, size_t errlen) {
    if (config)
        zconfig_destroy(&config);
    config = config_text ? zconfig_str_load(config_text) : NULL;
    if (config_text)
        cr_assert_not_null(config, "config text does not parse");
    brg_backend_env_t env = {
        .config = config,
        .data_dir = ".", /* the book is in env.store; only export_data/query_data write files
                            (<data_dir>/export), and these tests do not call them */
        .loop = NULL,
        .emit = record_emit,
        .emit_arg = NULL,
        .store = store,
    };
    return brg_sim_ops.create(&env, err, errlen);
}

static void start_sim(const char *config_text) {
    char err[256] = "";
    sim = make_sim(config_text, err, sizeof err);
    cr_assert_not_null(sim, "create failed: %s", err);
}

static void setup(void) {
    npushes = 0;
    start_sim(NULL);
}

static char store_dir[256]; /* "" when no test store was made */

static void remove_store_dir(void) {
    if (!*store_dir)
        return;
    DIR *dir = opendir(store_dir);
    if (dir) {
        struct dirent *entry;
        while ((entry = readdir(dir)))
            if (strcmp(entry->d_name, ".") && strcmp(entry->d_name, "..")) {
                char path[600];
                snprintf(path, sizeof path, "%s/%s", store_dir, entry->d_name);
                unlink(path);
            }
        closedir(dir);
    }
    rmdir(store_dir);
    *store_dir = 0;
}

static void teardown(void) {
    if (sim)
        brg_sim_ops.destroy(&sim);
    cr_assert_null(sim);
    clear_pushes();
    zconfig_destroy(&config);
    brg_store_destroy(&store);
    remove_store_dir();
}

TestSuite(sim, .init = setup, .fini = teardown);

/* ---- request helpers ------------------------------------------------------------- */

/* Handle a stack-built request; returns the call (caller destroys). */
static brg_call_t *run(Xtbridge__Request *stack_req) {
    size_t size = xtbridge__request__get_packed_size(stack_req);
    uint8_t *buf = malloc(size ? size : 1);
    xtbridge__request__pack(stack_req, buf);
    Xtbridge__Request *copy = xtbridge__request__unpack(NULL, size, buf);
    free(buf);
    cr_assert_not_null(copy);
    brg_call_t *call = brg_call_new(copy, "client");
    int rc = brg_sim_ops.handle(sim, call);
    cr_assert_eq(rc, BRG_CALL_DONE);
    Xtbridge__Reply *reply = brg_call_reply(call);
    /* the reply must always pack: it goes on the wire next */
    cr_assert_gt(xtbridge__reply__get_packed_size(reply), 0);
    return call;
}

static Xtbridge__Account account_of(const char *id) {
    Xtbridge__Account account = XTBRIDGE__ACCOUNT__INIT;
    account.account_id = (char *)id;
    account.account_type = 2;
    return account;
}

static Xtbridge__OrderStockRequest order_req(Xtbridge__Account *account, const char *code, int type,
                                             int64_t volume, int price_type, double price) {
    Xtbridge__OrderStockRequest o = XTBRIDGE__ORDER_STOCK_REQUEST__INIT;
    o.account = account;
    o.stock_code = (char *)code;
    o.order_type = type;
    o.order_volume = volume;
    o.price_type = price_type;
    o.price = price;
    o.strategy_name = (char *)"strat";
    o.order_remark = (char *)"remark";
    return o;
}

/* Run an order_stock call; expects OK and returns the order id. */
static int64_t order_on(const char *acct, const char *code, int type, int64_t volume,
                        int price_type, double price) {
    Xtbridge__Account account = account_of(acct);
    Xtbridge__OrderStockRequest o = order_req(&account, code, type, volume, price_type, price);
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    req.request_id = (char *)"r";
    req.body_case = XTBRIDGE__REQUEST__BODY_ORDER_STOCK;
    req.order_stock = &o;
    brg_call_t *call = run(&req);
    Xtbridge__Reply *reply = brg_call_reply(call);
    cr_assert_eq(reply->error->code, XTBRIDGE__ERROR_CODE__OK, "order failed: %s",
                 reply->error->message);
    cr_assert_eq(reply->result_case, XTBRIDGE__REPLY__RESULT_ORDER_STOCK);
    int64_t id = reply->order_stock->order_id;
    brg_call_destroy(&call);
    return id;
}

static int64_t order(const char *code, int type, int64_t volume, int price_type, double price) {
    return order_on(ACCT, code, type, volume, price_type, price);
}

/* Run an order_stock_async call; returns the seq. */
static int64_t order_async(const char *code, int type, int64_t volume, int price_type,
                           double price) {
    Xtbridge__Account account = account_of(ACCT);
    Xtbridge__OrderStockRequest o = order_req(&account, code, type, volume, price_type, price);
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    req.body_case = XTBRIDGE__REQUEST__BODY_ORDER_STOCK_ASYNC;
    req.order_stock_async = &o;
    brg_call_t *call = run(&req);
    Xtbridge__Reply *reply = brg_call_reply(call);
    cr_assert_eq(reply->error->code, XTBRIDGE__ERROR_CODE__OK, "%s", reply->error->message);
    cr_assert_eq(reply->result_case, XTBRIDGE__REPLY__RESULT_ORDER_STOCK_ASYNC);
    int64_t seq = reply->order_stock_async->seq;
    brg_call_destroy(&call);
    return seq;
}

/* Expect an order request to fail INVALID_ARGUMENT, with no push. */
static void expect_invalid_order(Xtbridge__OrderStockRequest *o, const char *what) {
    size_t before = npushes;
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    req.body_case = XTBRIDGE__REQUEST__BODY_ORDER_STOCK;
    req.order_stock = o;
    brg_call_t *call = run(&req);
    Xtbridge__Reply *reply = brg_call_reply(call);
    cr_assert_eq(reply->error->code, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT, "%s: got code %d",
                 what, reply->error->code);
    cr_assert_eq(reply->result_case, XTBRIDGE__REPLY__RESULT__NOT_SET, "%s", what);
    cr_assert_gt(strlen(reply->error->message), 0, "%s", what);
    cr_assert_eq(npushes, before, "%s: pushed something", what);
    brg_call_destroy(&call);
    /* the async variant validates the same way */
    req.body_case = XTBRIDGE__REQUEST__BODY_ORDER_STOCK_ASYNC;
    req.order_stock_async = o;
    call = run(&req);
    cr_assert_eq(brg_call_reply(call)->error->code, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT,
                 "%s (async)", what);
    cr_assert_eq(npushes, before, "%s (async): pushed something", what);
    brg_call_destroy(&call);
}

/* Cancel by order id; sync returns result, async returns seq. */
static int64_t cancel_typed(const char *acct, int32_t account_type, int64_t order_id, bool async) {
    Xtbridge__Account account = account_of(acct);
    account.account_type = account_type;
    Xtbridge__CancelOrderStockRequest c = XTBRIDGE__CANCEL_ORDER_STOCK_REQUEST__INIT;
    c.account = &account;
    c.order_id = order_id;
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    if (async) {
        req.body_case = XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK_ASYNC;
        req.cancel_order_stock_async = &c;
    } else {
        req.body_case = XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK;
        req.cancel_order_stock = &c;
    }
    brg_call_t *call = run(&req);
    Xtbridge__Reply *reply = brg_call_reply(call);
    cr_assert_eq(reply->error->code, XTBRIDGE__ERROR_CODE__OK, "%s", reply->error->message);
    int64_t result;
    if (async) {
        cr_assert_eq(reply->result_case, XTBRIDGE__REPLY__RESULT_CANCEL_ORDER_STOCK_ASYNC);
        result = reply->cancel_order_stock_async->seq;
    } else {
        cr_assert_eq(reply->result_case, XTBRIDGE__REPLY__RESULT_CANCEL_ORDER_STOCK);
        result = reply->cancel_order_stock->result;
    }
    brg_call_destroy(&call);
    return result;
}

static int64_t cancel_on(const char *acct, int64_t order_id, bool async) {
    return cancel_typed(acct, 2, order_id, async);
}

static int64_t cancel(int64_t order_id, bool async) {
    return cancel_on(ACCT, order_id, async);
}

static int64_t cancel_sysid(int market, const char *sysid, bool async) {
    Xtbridge__Account account = account_of(ACCT);
    Xtbridge__CancelOrderStockSysidRequest c = XTBRIDGE__CANCEL_ORDER_STOCK_SYSID_REQUEST__INIT;
    c.account = &account;
    c.market = market;
    c.order_sysid = (char *)sysid;
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    if (async) {
        req.body_case = XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK_SYSID_ASYNC;
        req.cancel_order_stock_sysid_async = &c;
    } else {
        req.body_case = XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK_SYSID;
        req.cancel_order_stock_sysid = &c;
    }
    brg_call_t *call = run(&req);
    Xtbridge__Reply *reply = brg_call_reply(call);
    cr_assert_eq(reply->error->code, XTBRIDGE__ERROR_CODE__OK, "%s", reply->error->message);
    int64_t result = async ? reply->cancel_order_stock_sysid_async->seq
                           : reply->cancel_order_stock_sysid->result;
    cr_assert_eq(reply->result_case, async ? XTBRIDGE__REPLY__RESULT_CANCEL_ORDER_STOCK_SYSID_ASYNC
                                           : XTBRIDGE__REPLY__RESULT_CANCEL_ORDER_STOCK_SYSID);
    brg_call_destroy(&call);
    return result;
}

static void set_price(const char *code, double last, double pre_close, int64_t liquidity) {
    Xtbridge__SimSetPriceRequest s = XTBRIDGE__SIM_SET_PRICE_REQUEST__INIT;
    s.stock_code = (char *)code;
    s.last_price = last;
    s.pre_close = pre_close;
    s.liquidity = liquidity;
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    req.body_case = XTBRIDGE__REQUEST__BODY_SIM_SET_PRICE;
    req.sim_set_price = &s;
    brg_call_t *call = run(&req);
    cr_assert_eq(brg_call_reply(call)->error->code, XTBRIDGE__ERROR_CODE__OK, "%s",
                 brg_call_reply(call)->error->message);
    cr_assert_eq(brg_call_reply(call)->result_case, XTBRIDGE__REPLY__RESULT_SIM_SET_PRICE);
    brg_call_destroy(&call);
}

static void tick(const char *code, double last) {
    Xtbridge__SimTickRequest s = XTBRIDGE__SIM_TICK_REQUEST__INIT;
    s.stock_code = (char *)code;
    s.last_price = last;
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    req.body_case = XTBRIDGE__REQUEST__BODY_SIM_TICK;
    req.sim_tick = &s;
    brg_call_t *call = run(&req);
    cr_assert_eq(brg_call_reply(call)->error->code, XTBRIDGE__ERROR_CODE__OK, "%s",
                 brg_call_reply(call)->error->message);
    brg_call_destroy(&call);
}

static void next_day(void) {
    Xtbridge__SimNextDayRequest s = XTBRIDGE__SIM_NEXT_DAY_REQUEST__INIT;
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    req.body_case = XTBRIDGE__REQUEST__BODY_SIM_NEXT_DAY;
    req.sim_next_day = &s;
    brg_call_t *call = run(&req);
    cr_assert_eq(brg_call_reply(call)->error->code, XTBRIDGE__ERROR_CODE__OK);
    cr_assert_eq(brg_call_reply(call)->result_case, XTBRIDGE__REPLY__RESULT_SIM_NEXT_DAY);
    brg_call_destroy(&call);
}

/* Query asset of ACCT into out values. */
static void asset(double *cash, double *frozen, double *market_value, double *total) {
    Xtbridge__Account account = account_of(ACCT);
    Xtbridge__AccountRequest a = XTBRIDGE__ACCOUNT_REQUEST__INIT;
    a.account = &account;
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    req.body_case = XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ASSET;
    req.query_stock_asset = &a;
    brg_call_t *call = run(&req);
    Xtbridge__Reply *reply = brg_call_reply(call);
    cr_assert_eq(reply->result_case, XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ASSET);
    cr_assert(reply->query_stock_asset->found);
    Xtbridge__XtAsset *as = reply->query_stock_asset->asset;
    cr_assert_str_eq(as->account_id, ACCT);
    cr_assert_eq(as->account_type, 2);
    if (cash)
        *cash = as->cash;
    if (frozen)
        *frozen = as->frozen_cash;
    if (market_value)
        *market_value = as->market_value;
    if (total)
        *total = as->total_asset;
    brg_call_destroy(&call);
}

/* Query position; returns a call the caller destroys, *out points into it (NULL if none). */
static brg_call_t *position(const char *code, Xtbridge__XtPosition **out) {
    Xtbridge__Account account = account_of(ACCT);
    Xtbridge__QueryStockPositionRequest q = XTBRIDGE__QUERY_STOCK_POSITION_REQUEST__INIT;
    q.account = &account;
    q.stock_code = (char *)code;
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    req.body_case = XTBRIDGE__REQUEST__BODY_QUERY_STOCK_POSITION;
    req.query_stock_position = &q;
    brg_call_t *call = run(&req);
    Xtbridge__Reply *reply = brg_call_reply(call);
    cr_assert_eq(reply->result_case, XTBRIDGE__REPLY__RESULT_QUERY_STOCK_POSITION);
    *out = reply->query_stock_position->found ? reply->query_stock_position->position : NULL;
    return call;
}

static brg_call_t *query_order(int64_t order_id, Xtbridge__XtOrder **out) {
    Xtbridge__Account account = account_of(ACCT);
    Xtbridge__QueryStockOrderRequest q = XTBRIDGE__QUERY_STOCK_ORDER_REQUEST__INIT;
    q.account = &account;
    q.order_id = order_id;
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    req.body_case = XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ORDER;
    req.query_stock_order = &q;
    brg_call_t *call = run(&req);
    Xtbridge__Reply *reply = brg_call_reply(call);
    cr_assert_eq(reply->result_case, XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ORDER);
    *out = reply->query_stock_order->found ? reply->query_stock_order->order : NULL;
    return call;
}

static brg_call_t *query_orders(bool cancelable_only, Xtbridge__OrdersReply **out) {
    Xtbridge__Account account = account_of(ACCT);
    Xtbridge__QueryStockOrdersRequest q = XTBRIDGE__QUERY_STOCK_ORDERS_REQUEST__INIT;
    q.account = &account;
    q.cancelable_only = cancelable_only;
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    req.body_case = XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ORDERS;
    req.query_stock_orders = &q;
    brg_call_t *call = run(&req);
    cr_assert_eq(brg_call_reply(call)->result_case, XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ORDERS);
    *out = brg_call_reply(call)->query_stock_orders;
    return call;
}

static bool money_eq(double a, double b) {
    return fabs(a - b) < 0.005;
}

#define cr_assert_money(actual, expected)                                                          \
    cr_assert(money_eq((actual), (expected)), "%s = %.4f, expected %.4f", #actual,                 \
              (double)(actual), (double)(expected))

/* Assert the kinds of pushes [from, npushes) are exactly the comma-separated list. */
static void expect_kinds(size_t from, const char *list) {
    char got[2048] = "";
    for (size_t i = from; i < npushes; i++) {
        if (i > from)
            strncat(got, ",", sizeof got - strlen(got) - 1);
        strncat(got, pushes[i].kind, sizeof got - strlen(got) - 1);
    }
    cr_assert_str_eq(got, list, "push kinds: got [%s] expected [%s]", got, list);
}

/* Order statuses of the order pushes in [from, npushes), as "48,50,...". */
static void expect_order_statuses(size_t from, const char *list) {
    char got[512] = "";
    for (size_t i = from; i < npushes; i++) {
        if (pushes[i].event->body_case != XTBRIDGE__EVENT__BODY_ORDER)
            continue;
        char item[16];
        snprintf(item, sizeof item, "%s%d", *got ? "," : "", pushes[i].event->order->order_status);
        strncat(got, item, sizeof got - strlen(got) - 1);
    }
    cr_assert_str_eq(got, list, "order statuses: got [%s] expected [%s]", got, list);
}

/* The last push of a kind. */
static Xtbridge__Event *last_push(const char *kind) {
    for (size_t i = npushes; i > 0; i--)
        if (strcmp(pushes[i - 1].kind, kind) == 0)
            return pushes[i - 1].event;
    cr_assert_fail("no %s push", kind);
    return NULL;
}

/* ---- the worked example ------------------------------------------------------------ */

Test(sim, worked_example_exact_values) {
    double cash, frozen, mv, total;
    asset(&cash, &frozen, &mv, &total);
    cr_assert_money(cash, 1000000.00);
    cr_assert_money(total, 1000000.00);

    size_t mark = npushes;
    int64_t id = order("600000.SH", 23, 1000, 11, 10.50);
    cr_assert_eq(id, 1);
    /* the freeze is an asset change: pushed after the order's 50 */
    expect_kinds(mark, "order,order,asset");
    expect_order_statuses(mark, "48,50");
    Xtbridge__XtAsset *frozen_push = pushes[mark + 2].event->asset;
    cr_assert_str_eq(pushes[mark + 2].account, ACCT);
    cr_assert_money(frozen_push->cash, 989494.89);
    cr_assert_money(frozen_push->frozen_cash, 10505.11);
    cr_assert_money(frozen_push->market_value, 0);
    cr_assert_money(frozen_push->total_asset, 1000000.00);
    Xtbridge__XtOrder *o = pushes[mark + 1].event->order;
    cr_assert_str_eq(pushes[mark].account, ACCT);
    cr_assert_eq(o->order_id, 1);
    cr_assert_str_eq(o->stock_code, "600000.SH");
    cr_assert_str_eq(o->instrument_name, "浦发银行");
    cr_assert_eq(o->order_type, 23);
    cr_assert_eq(o->order_volume, 1000);
    cr_assert_eq(o->price_type, 50); /* the counter's limit code, as MiniQMT reports it */
    cr_assert_eq(o->requested_price_type, 11);
    cr_assert_float_eq(o->price, 10.50, 1e-9);
    cr_assert_str_eq(o->strategy_name, "strat");
    cr_assert_str_eq(o->order_remark, "remark");
    cr_assert_eq(o->offset_flag, 48);
    cr_assert_gt(o->order_time, 0);
    cr_assert_gt(strlen(o->order_sysid), 0);
    cr_assert_str_neq(o->order_sysid, "1");

    asset(&cash, &frozen, &mv, &total);
    cr_assert_money(cash, 989494.89);
    cr_assert_money(frozen, 10505.11);
    cr_assert_money(total, 1000000.00);

    mark = npushes;
    set_price("600000.SH", 10.40, 0, -1);
    expect_kinds(mark, "trade,order,position,asset");
    Xtbridge__XtTrade *t = pushes[mark].event->trade;
    cr_assert_float_eq(t->traded_price, 10.50, 1e-9);
    cr_assert_eq(t->traded_volume, 1000);
    cr_assert_money(t->traded_amount, 10500.00);
    cr_assert_money(t->commission, 5.11);
    cr_assert_eq(t->order_id, id);
    cr_assert_str_eq(t->order_sysid, o->order_sysid);
    cr_assert_gt(strlen(t->traded_id), 0);
    cr_assert_eq(pushes[mark + 1].event->order->order_status, 56);
    cr_assert_eq(pushes[mark + 1].event->order->traded_volume, 1000);
    cr_assert_float_eq(pushes[mark + 1].event->order->traded_price, 10.50, 1e-9);
    Xtbridge__XtPosition *pp = pushes[mark + 2].event->position;
    cr_assert_eq(pp->volume, 1000);
    cr_assert_eq(pp->can_use_volume, 0);
    Xtbridge__XtAsset *pa = pushes[mark + 3].event->asset;
    cr_assert_money(pa->cash, 989494.89);
    cr_assert_money(pa->frozen_cash, 0);
    cr_assert_money(pa->market_value, 10400.00);

    asset(&cash, &frozen, &mv, &total);
    cr_assert_money(cash, 989494.89);
    cr_assert_money(frozen, 0.00);
    cr_assert_money(mv, 10400.00);
    cr_assert_money(total, 999894.89);

    Xtbridge__XtPosition *p;
    brg_call_t *call = position("600000.SH", &p);
    cr_assert_not_null(p);
    cr_assert_eq(p->volume, 1000);
    cr_assert_eq(p->can_use_volume, 0);
    cr_assert_eq(p->yesterday_volume, 0);
    cr_assert_eq(p->frozen_volume, 0);
    cr_assert_float_eq(p->avg_price, 10.50511, 1e-9);
    cr_assert_float_eq(p->open_price, 10.50, 1e-9);
    cr_assert_money(p->market_value, 10400.00);
    cr_assert_float_eq(p->last_price, 10.40, 1e-9);
    brg_call_destroy(&call);

    /* T+1: nothing sellable today */
    mark = npushes;
    int64_t junk = order("600000.SH", 24, 1000, 11, 10.40);
    cr_assert_eq(junk, 2);
    expect_kinds(mark, "order,order_error");
    cr_assert_eq(pushes[mark].event->order->order_status, 57);
    cr_assert_str_eq(pushes[mark].event->order->status_msg,
                     "insufficient shares: sell 1000, sellable 0");
    cr_assert_eq(pushes[mark + 1].event->order_error->error_id, -61);
    cr_assert_str_eq(pushes[mark + 1].event->order_error->error_msg,
                     "insufficient shares: sell 1000, sellable 0");
    cr_assert_eq(pushes[mark + 1].event->order_error->order_id, 2);

    mark = npushes;
    next_day();
    /* T+1 settlement is a holdings change: one position push */
    expect_kinds(mark, "position");
    pp = pushes[mark].event->position;
    cr_assert_str_eq(pp->stock_code, "600000.SH");
    cr_assert_eq(pp->volume, 1000);
    cr_assert_eq(pp->can_use_volume, 1000);
    cr_assert_eq(pp->yesterday_volume, 1000);
    cr_assert_eq(pp->frozen_volume, 0);
    call = position("600000.SH", &p);
    cr_assert_eq(p->can_use_volume, 1000);
    cr_assert_eq(p->yesterday_volume, 1000);
    brg_call_destroy(&call);

    mark = npushes;
    int64_t sell = order("600000.SH", 24, 1000, 11, 10.40);
    cr_assert_eq(sell, 3);
    /* the sell freezes its shares (position push) before it fills */
    expect_kinds(mark, "order,order,position,trade,order,position,asset");
    expect_order_statuses(mark, "48,50,56");
    pp = pushes[mark + 2].event->position;
    cr_assert_eq(pp->volume, 1000);
    cr_assert_eq(pp->can_use_volume, 0);
    cr_assert_eq(pp->frozen_volume, 1000);
    pp = pushes[mark + 5].event->position;
    cr_assert_eq(pp->volume, 0);
    cr_assert_eq(pp->can_use_volume, 0);
    cr_assert_eq(pp->frozen_volume, 0);
    t = pushes[mark + 3].event->trade;
    cr_assert_float_eq(t->traded_price, 10.40, 1e-9);
    cr_assert_money(t->traded_amount, 10400.00);
    cr_assert_money(t->commission, 10.30);
    cr_assert_eq(t->offset_flag, 49);
    asset(&cash, &frozen, &mv, &total);
    cr_assert_money(cash, 999884.59);
    cr_assert_money(frozen, 0);
    cr_assert_money(mv, 0);
    cr_assert_money(total, 999884.59);
    call = position("600000.SH", &p);
    cr_assert_eq(p->volume, 0);
    cr_assert_eq(p->can_use_volume, 0);
    brg_call_destroy(&call);
}

/* ---- rejections ------------------------------------------------------------------ */

/* Place an order expected to be junk with `reason`; checks the pushes. */
static void expect_junk(const char *code, int type, int64_t volume, int price_type, double price,
                        const char *reason) {
    size_t mark = npushes;
    int64_t id = order(code, type, volume, price_type, price);
    cr_assert_gt(id, 0, "%s: junk orders still get an id", reason);
    expect_kinds(mark, "order,order_error");
    Xtbridge__XtOrder *o = pushes[mark].event->order;
    cr_assert_eq(o->order_status, 57, "%s", reason);
    cr_assert_str_eq(o->status_msg, reason);
    cr_assert_eq(o->order_id, id);
    Xtbridge__XtOrderError *e = pushes[mark + 1].event->order_error;
    cr_assert_str_eq(pushes[mark + 1].account, ACCT);
    cr_assert_eq(e->order_id, id);
    cr_assert_eq(e->error_id, -61);
    cr_assert_str_eq(e->error_msg, reason);
    cr_assert_eq(e->seq, 0);
    cr_assert_str_eq(e->strategy_name, "strat");
    /* and the order is queryable as junk */
    Xtbridge__XtOrder *q;
    brg_call_t *call = query_order(id, &q);
    cr_assert_not_null(q);
    cr_assert_eq(q->order_status, 57);
    cr_assert_str_eq(q->status_msg, reason);
    brg_call_destroy(&call);
}

Test(sim, reject_lot) {
    expect_junk("600000.SH", 23, 150, 11, 10.60, "volume 150 is not a multiple of 100");
    expect_junk("600000.SH", 23, 99, 11, 10.60, "volume 99 is not a multiple of 100");
    expect_junk("000001.SZ", 23, 1, 11, 11.00, "volume 1 is not a multiple of 100");
    expect_junk("300750.SZ", 23, 250, 11, 200.00, "volume 250 is not a multiple of 100");
    double cash, frozen;
    asset(&cash, &frozen, NULL, NULL);
    cr_assert_money(cash, 1000000.00);
    cr_assert_money(frozen, 0);
}

Test(sim, reject_insufficient_cash) {
    /* 1000 * 1500 = 1.5M > 1M */
    expect_junk("600519.SH", 23, 1000, 11, 1500.00,
                "insufficient cash: need 1500390.00, available 1000000.00");
    /* 600 shares: 894000 + 223.50 + 8.94 fits; then 100 more does not */
    order("600519.SH", 23, 600, 11, 1490.00);
    expect_junk("600519.SH", 23, 100, 11, 1490.00,
                "insufficient cash: need 149038.74, available 105767.56");
}

Test(sim, reject_insufficient_shares_and_t1) {
    expect_junk("000001.SZ", 24, 100, 11, 11.00, "insufficient shares: sell 100, sellable 0");
    /* bought today (filled): still not sellable */
    order("000001.SZ", 23, 100, 11, 11.00);
    cr_assert_eq(last_push("trade")->trade->traded_volume, 100);
    expect_junk("000001.SZ", 24, 100, 11, 11.00, "insufficient shares: sell 100, sellable 0");
}

Test(sim, reject_odd_lot_unless_clearing) {
    teardown();
    start_sim("sim\n"
              "    account\n"
              "        id = 1000000365\n"
              "        cash = 500000\n"
              "        position\n"
              "            code = 600000.SH\n"
              "            volume = 550\n"
              "            avg_price = 10.00\n");
    /* Of 550 sellable only the odd 50 must go in one order: 30 or 120 split it */
    expect_junk("600000.SH", 24, 30, 11, 10.60,
                "odd lot: sell 30 of sellable 550 must be lots of 100, plus the odd 50 in one "
                "order");
    expect_junk("600000.SH", 24, 120, 11, 10.60,
                "odd lot: sell 120 of sellable 550 must be lots of 100, plus the odd 50 in one "
                "order");
    expect_junk("600000.SH", 24, 600, 11, 10.60, "insufficient shares: sell 600, sellable 550");
    /* selling the odd 50 alone is legal (found in review: it was refused) */
    size_t mark = npushes;
    order("600000.SH", 24, 50, 11, 10.60);
    expect_order_statuses(mark, "48,50,56");
    /* 500 in lots is fine; 150 would be too (a lot plus the odd part) but nothing is odd now */
    expect_junk("600000.SH", 24, 150, 11, 10.70,
                "odd lot: sell 150 of sellable 500 must be lots of 100");
    mark = npushes;
    order("600000.SH", 24, 500, 11, 10.70); /* rests above last */
    expect_order_statuses(mark, "48,50");
    expect_junk("600000.SH", 24, 100, 11, 10.60, "insufficient shares: sell 100, sellable 0");
    Xtbridge__XtPosition *p;
    brg_call_t *call = position("600000.SH", &p);
    cr_assert_eq(p->volume, 500);
    cr_assert_eq(p->can_use_volume, 0);
    cr_assert_eq(p->frozen_volume, 500);
    cr_assert_eq(p->yesterday_volume, 550);
    cr_assert_float_eq(p->avg_price, 10.00, 1e-9);
    brg_call_destroy(&call);
    double cash;
    asset(&cash, NULL, NULL, NULL);
    /* 50 * 10.60 = 530; fees 5.00 + 0.27 (stamp 0.265) + 0.01 (transfer 0.0053) */
    cr_assert_money(cash, 500000 + 530 - 5.28);
}

Test(sim, reject_outside_price_limits_by_board) {
    /* main board 600000.SH pre 10.60: 9.54 .. 11.66 */
    expect_junk("600000.SH", 23, 100, 11, 11.67, "price 11.67 outside price limits 9.54 - 11.66");
    expect_junk("600000.SH", 23, 100, 11, 9.53, "price 9.53 outside price limits 9.54 - 11.66");
    order("600000.SH", 23, 100, 11, 9.54);
    cr_assert_eq(last_push("order")->order->order_status, 50);
    order("600000.SH", 23, 100, 11, 11.66);
    cr_assert_eq(last_push("order")->order->order_status, 56);
    /* ChiNext 300750.SZ pre 200: 160 .. 240 */
    expect_junk("300750.SZ", 23, 100, 11, 240.01,
                "price 240.01 outside price limits 160.00 - 240.00");
    expect_junk("300750.SZ", 23, 100, 11, 159.99,
                "price 159.99 outside price limits 160.00 - 240.00");
    order("300750.SZ", 23, 100, 11, 240.00);
    cr_assert_eq(last_push("order")->order->order_status, 56);
    /* STAR 688981.SH pre 50: 40 .. 60 */
    expect_junk("688981.SH", 23, 200, 11, 60.01, "price 60.01 outside price limits 40.00 - 60.00");
    order("688981.SH", 23, 200, 11, 40.00);
    cr_assert_eq(last_push("order")->order->order_status, 50);
    /* Beijing 430047.BJ pre 10: 7 .. 13 */
    expect_junk("430047.BJ", 23, 100, 11, 13.01, "price 13.01 outside price limits 7.00 - 13.00");
    expect_junk("430047.BJ", 23, 100, 11, 6.99, "price 6.99 outside price limits 7.00 - 13.00");
    order("430047.BJ", 23, 100, 11, 13.00);
    cr_assert_eq(last_push("order")->order->order_status, 56);
    /* a main-board SZ code at +20% is out */
    expect_junk("000001.SZ", 23, 100, 11, 13.20, "price 13.20 outside price limits 9.90 - 12.10");
}

Test(sim, reject_unknown_code) {
    expect_junk("600001.SH", 23, 100, 11, 10.00, "unknown code 600001.SH");
    expect_junk("999999.SZ", 24, 100, 5, 0, "unknown code 999999.SZ");
}

Test(sim, reject_non_stock_order_type) {
    expect_junk("600000.SH", 27, 100, 11, 10.60, "order type 27 not supported on a STOCK account");
    expect_junk("600000.SH", 0, 100, 11, 10.60, "order type 0 not supported on a STOCK account");
    expect_junk("600000.SH", 48, 100, 11, 10.60, "order type 48 not supported on a STOCK account");
}

Test(sim, reject_price_tick_and_futures_price_type) {
    expect_junk("600000.SH", 23, 100, 11, 10.555, "price 10.555 is off the 0.01 tick");
    expect_junk("600000.SH", 23, 100, 18, 10.60, "price type 18 not supported for stocks");
    /* SSE/BSE market order types on an SZ code, SZSE ones on SH and BJ */
    expect_junk("000001.SZ", 23, 100, 42, 0, "price type 42 not supported on SZ");
    expect_junk("000001.SZ", 23, 100, 43, 0, "price type 43 not supported on SZ");
    expect_junk("600000.SH", 23, 100, 48, 0, "price type 48 not supported on SH");
    expect_junk("430047.BJ", 23, 100, 46, 0, "price type 46 not supported on BJ");
}

/* STAR buys: at least 200, then any number; Beijing at least 100, then any number. */
Test(sim, star_and_beijing_volume_rules) {
    expect_junk("688981.SH", 23, 100, 11, 50.00, "volume 100 is below the STAR minimum of 200");
    expect_junk("688981.SH", 23, 199, 11, 50.00, "volume 199 is below the STAR minimum of 200");
    size_t mark = npushes;
    order("688981.SH", 23, 201, 11, 50.00);
    expect_order_statuses(mark, "48,50,56");
    cr_assert_eq(last_push("trade")->trade->traded_volume, 201);
    expect_junk("430047.BJ", 23, 99, 11, 10.00, "volume 99 is below the Beijing minimum of 100");
    mark = npushes;
    order("430047.BJ", 23, 101, 11, 10.00);
    expect_order_statuses(mark, "48,50,56");
    cr_assert_eq(last_push("trade")->trade->traded_volume, 101);
    /* market price types 42/43 are valid on the BSE */
    mark = npushes;
    order("430047.BJ", 23, 100, 42, 0);
    expect_order_statuses(mark, "48,50,56");
    mark = npushes;
    order("430047.BJ", 23, 150, 43, 0);
    expect_order_statuses(mark, "48,50,56");
}

Test(sim, star_and_beijing_sells) {
    teardown();
    start_sim("sim\n"
              "    account\n"
              "        id = 1000000365\n"
              "        position\n"
              "            code = 688981.SH\n"
              "            volume = 250\n"
              "        position\n"
              "            code = 430047.BJ\n"
              "            volume = 150\n");
    expect_junk("688981.SH", 24, 100, 11, 50.00, "volume 100 is below the STAR minimum of 200");
    size_t mark = npushes;
    order("688981.SH", 24, 200, 11, 50.00);
    expect_order_statuses(mark, "48,50,56");
    /* 50 left, below the minimum: only the whole balance may go */
    expect_junk("688981.SH", 24, 20, 11, 50.00,
                "odd lot: sell 20 of sellable 50; a balance below 200 is sold whole");
    mark = npushes;
    order("688981.SH", 24, 50, 11, 50.00);
    expect_order_statuses(mark, "48,50,56");
    mark = npushes;
    order("430047.BJ", 24, 101, 11, 10.00);
    expect_order_statuses(mark, "48,50,56");
    expect_junk("430047.BJ", 24, 48, 11, 10.00,
                "odd lot: sell 48 of sellable 49; a balance below 100 is sold whole");
    mark = npushes;
    order("430047.BJ", 24, 49, 11, 10.00);
    expect_order_statuses(mark, "48,50,56");
}

/* A main-board ST stock (`st = 1` in the price table) moves ±5%; a ChiNext one keeps 20%. */
Test(sim, st_stocks_limit_5_percent) {
    teardown();
    start_sim("sim\n"
              "    price\n"
              "        code = 600002.SH\n"
              "        pre_close = 10.00\n"
              "        st = 1\n"
              "    price\n"
              "        code = 300001.SZ\n"
              "        pre_close = 10.00\n"
              "        st = 1\n");
    expect_junk("600002.SH", 23, 100, 11, 10.51, "price 10.51 outside price limits 9.50 - 10.50");
    expect_junk("600002.SH", 23, 100, 11, 9.49, "price 9.49 outside price limits 9.50 - 10.50");
    size_t mark = npushes;
    order("600002.SH", 23, 100, 11, 10.50);
    expect_order_statuses(mark, "48,50,56");
    mark = npushes;
    order("300001.SZ", 23, 100, 11, 12.00);
    expect_order_statuses(mark, "48,50,56");
    char err[256] = "";
    teardown();
    cr_assert_null(make_sim("sim\n    price\n        code = 600002.SH\n        pre_close = 10\n"
                            "        st = yes\n",
                            err, sizeof err));
    cr_assert_str_eq(err, "sim/price 600002.SH: st must be 0 or 1, not 'yes'");
    start_sim(NULL);
}

/* An account whose status is not OK (0) refuses orders, like a broker's counter. */
Test(sim, account_not_ok_refuses_orders) {
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    Xtbridge__SimSetAccountStatusRequest ss = XTBRIDGE__SIM_SET_ACCOUNT_STATUS_REQUEST__INIT;
    Xtbridge__Account account = account_of(ACCT);
    ss.account = &account;
    ss.status = 6;
    req.body_case = XTBRIDGE__REQUEST__BODY_SIM_SET_ACCOUNT_STATUS;
    req.sim_set_account_status = &ss;
    brg_call_t *call = run(&req);
    cr_assert_eq(brg_call_reply(call)->error->code, XTBRIDGE__ERROR_CODE__OK);
    brg_call_destroy(&call);
    expect_junk("600000.SH", 23, 100, 11, 10.60, "account status 6 (CLOSED) is not OK: no orders");
    double cash, frozen;
    asset(&cash, &frozen, NULL, NULL);
    cr_assert_money(cash, 1000000.00);
    cr_assert_money(frozen, 0);
    ss.status = 0;
    call = run(&req);
    brg_call_destroy(&call);
    size_t mark = npushes;
    order("600000.SH", 23, 100, 11, 10.60);
    expect_order_statuses(mark, "48,50,56");
}

/* sim_set_session: down publishes disconnected. and refuses every call but sim_* with
   NOT_CONNECTED; up publishes connected. then each account's status; a repeat is a no-op. */
static brg_call_t *set_session(bool connected) {
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    Xtbridge__SimSetSessionRequest ss = XTBRIDGE__SIM_SET_SESSION_REQUEST__INIT;
    ss.connected = connected;
    req.body_case = XTBRIDGE__REQUEST__BODY_SIM_SET_SESSION;
    req.sim_set_session = &ss;
    brg_call_t *call = run(&req);
    cr_assert_eq(brg_call_reply(call)->error->code, XTBRIDGE__ERROR_CODE__OK);
    cr_assert_eq(brg_call_reply(call)->result_case, XTBRIDGE__REPLY__RESULT_SIM_SET_SESSION);
    return call;
}

/* hello's backend_connected, as the router asks describe() for it */
static bool hello_connected(void) {
    brg_call_t *call = brg_call_new(NULL, NULL); /* describe() allocates the accounts in it */
    Xtbridge__HelloReply hello = XTBRIDGE__HELLO_REPLY__INIT;
    brg_sim_ops.describe(sim, call, &hello);
    bool up = hello.backend_connected;
    brg_call_destroy(&call);
    return up;
}

Test(sim, session_drop_and_restore) {
    size_t mark = npushes;
    brg_call_t *call = set_session(false);
    cr_assert_str_eq(brg_call_reply(call)->sim_set_session->message, "session down");
    brg_call_destroy(&call);
    cr_assert_eq(npushes, mark + 1);
    cr_assert_str_eq(pushes[mark].kind, "disconnected");
    cr_assert_str_eq(pushes[mark].event->disconnected->reason,
                     "sim session dropped by sim_set_session");
    cr_assert_not(hello_connected());
    call = set_session(false);
    cr_assert_str_eq(brg_call_reply(call)->sim_set_session->message, "session already down");
    brg_call_destroy(&call);
    cr_assert_eq(npushes, mark + 1);

    /* an order is not sent; a sim_* call still runs */
    Xtbridge__Account account = account_of(ACCT);
    Xtbridge__OrderStockRequest o = order_req(&account, "600000.SH", 23, 100, 11, 10.60);
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    req.body_case = XTBRIDGE__REQUEST__BODY_ORDER_STOCK;
    req.order_stock = &o;
    call = run(&req);
    cr_assert_eq(brg_call_reply(call)->error->code, XTBRIDGE__ERROR_CODE__NOT_CONNECTED);
    cr_assert_str_eq(brg_call_reply(call)->error->message,
                     "sim session is down (sim_set_session); order_stock was not sent");
    brg_call_destroy(&call);
    Xtbridge__SimTickRequest tick = XTBRIDGE__SIM_TICK_REQUEST__INIT;
    req.body_case = XTBRIDGE__REQUEST__BODY_SIM_TICK;
    req.sim_tick = &tick;
    call = run(&req);
    cr_assert_eq(brg_call_reply(call)->error->code, XTBRIDGE__ERROR_CODE__OK);
    brg_call_destroy(&call);
    cr_assert_eq(npushes, mark + 1);

    call = set_session(true);
    cr_assert_str_eq(brg_call_reply(call)->sim_set_session->message, "session up");
    brg_call_destroy(&call);
    /* the default book: the STOCK account, the FUTURE one and the CREDIT one */
    cr_assert_eq(npushes, mark + 5);
    cr_assert_str_eq(pushes[mark + 1].kind, "connected");
    cr_assert_str_eq(pushes[mark + 1].event->connected->backend, "sim");
    cr_assert_str_eq(pushes[mark + 2].kind, "account_status");
    cr_assert_str_eq(pushes[mark + 2].account, ACCT);
    cr_assert_eq(pushes[mark + 2].event->account_status->status, 0);
    cr_assert_str_eq(pushes[mark + 3].kind, "account_status");
    cr_assert_str_eq(pushes[mark + 3].account, "1000000367");
    cr_assert_eq(pushes[mark + 3].event->account_status->account_type, 1);
    cr_assert_str_eq(pushes[mark + 4].kind, "account_status");
    cr_assert_str_eq(pushes[mark + 4].account, "1208970161");
    cr_assert_eq(pushes[mark + 4].event->account_status->account_type, 3);
    cr_assert(hello_connected());
    mark = npushes;
    order("600000.SH", 23, 100, 11, 10.60);
    expect_order_statuses(mark, "48,50,56");
}

/* A typo in a `sim` key stops the start, naming the key. */
Test(sim, config_typo_names_the_key) {
    const struct {
        const char *text, *err;
    } bad[] = {
        {"sim\n    acount\n        id = A1\n",
         "sim: unknown key 'acount' (known: account, price, fees)"},
        {"sim\n    account\n        id = A1\n        csh = 5\n",
         "sim/account A1: unknown key 'csh' (known: id, type, cash, position, fin_quota, "
         "slo_quota)"},
        {"sim\n    account\n        id = A1\n        position\n            code = 600000.SH\n"
         "            volume = 100\n            avgprice = 5\n",
         "sim/account A1/position: unknown key 'avgprice' (known: code, volume, avg_price)"},
        {"sim\n    price\n        code = 600000.SH\n        preclose = 5\n",
         "sim/price 600000.SH: unknown key 'preclose' (code, name, pre_close, last, liquidity, "
         "st)"},
        {"sim\n    fees\n        min_comission = 1\n",
         "sim/fees: unknown key 'min_comission' (commission_rate, min_commission, "
         "stamp_duty_rate, transfer_fee_rate)"},
    };
    teardown();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        void *s = make_sim(bad[i].text, err, sizeof err);
        cr_assert_null(s, "config %zu accepted", i);
        cr_assert_str_eq(err, bad[i].err);
    }
    start_sim(NULL);
}

/* ---- INVALID_ARGUMENT -------------------------------------------------------------- */

Test(sim, invalid_arguments) {
    Xtbridge__Account account = account_of(ACCT);
    Xtbridge__Account empty = account_of("");
    Xtbridge__Account dotted = account_of("10.00");
    Xtbridge__Account badtype = account_of(ACCT);
    badtype.account_type = 4;
    Xtbridge__OrderStockRequest o;

    o = order_req(NULL, "600000.SH", 23, 100, 11, 10.60);
    expect_invalid_order(&o, "missing account");
    o = order_req(&empty, "600000.SH", 23, 100, 11, 10.60);
    expect_invalid_order(&o, "empty account id");
    o = order_req(&dotted, "600000.SH", 23, 100, 11, 10.60);
    expect_invalid_order(&o, "account id with a dot");
    o = order_req(&badtype, "600000.SH", 23, 100, 11, 10.60);
    expect_invalid_order(&o, "unknown account type");
    const char *bad_codes[] = {"",          "600000",    "600000.HK", "60000.SH", "6000000.SH",
                               "60000A.SH", "600000.sh", "600000SH",  "abc"};
    for (size_t i = 0; i < sizeof bad_codes / sizeof bad_codes[0]; i++) {
        o = order_req(&account, bad_codes[i], 23, 100, 11, 10.60);
        expect_invalid_order(&o, bad_codes[i]);
    }
    o = order_req(&account, NULL, 23, 100, 11, 10.60);
    expect_invalid_order(&o, "no code");
    o = order_req(&account, "600000.SH", 23, 0, 11, 10.60);
    expect_invalid_order(&o, "volume 0");
    o = order_req(&account, "600000.SH", 23, -100, 11, 10.60);
    expect_invalid_order(&o, "volume < 0");
    o = order_req(&account, "600000.SH", 23, 100, 11, NAN);
    expect_invalid_order(&o, "NaN price");
    o = order_req(&account, "600000.SH", 23, 100, 11, INFINITY);
    expect_invalid_order(&o, "inf price");
    o = order_req(&account, "600000.SH", 23, 100, 11, -INFINITY);
    expect_invalid_order(&o, "-inf price");
    o = order_req(&account, "600000.SH", 23, 100, 11, -1.0);
    expect_invalid_order(&o, "negative price");
    o = order_req(&account, "600000.SH", 26, 100, 11, 10.60);
    expect_invalid_order(&o, "order_type 26");
    o = order_req(&account, "600000.SH", -1, 100, 11, 10.60);
    expect_invalid_order(&o, "order_type -1");
    o = order_req(&account, "600000.SH", 23, 100, 99, 10.60);
    expect_invalid_order(&o, "price_type 99");
    o = order_req(&account, "600000.SH", 23, 100, 0, 10.60);
    expect_invalid_order(&o, "price_type 0");

    /* no order id was used by any of them */
    cr_assert_eq(order("600000.SH", 23, 100, 11, 10.50), 1);
}

Test(sim, invalid_arguments_other_calls) {
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    brg_call_t *call;

    /* cancel without account / with order_id 0 */
    Xtbridge__CancelOrderStockRequest c = XTBRIDGE__CANCEL_ORDER_STOCK_REQUEST__INIT;
    req.body_case = XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK;
    req.cancel_order_stock = &c;
    call = run(&req);
    cr_assert_eq(brg_call_reply(call)->error->code, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT);
    brg_call_destroy(&call);
    Xtbridge__Account account = account_of(ACCT);
    c.account = &account;
    call = run(&req);
    cr_assert_eq(brg_call_reply(call)->error->code, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT);
    brg_call_destroy(&call);

    /* sysid cancel: missing sysid, bad market */
    Xtbridge__CancelOrderStockSysidRequest s = XTBRIDGE__CANCEL_ORDER_STOCK_SYSID_REQUEST__INIT;
    s.account = &account;
    req.body_case = XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK_SYSID;
    req.cancel_order_stock_sysid = &s;
    call = run(&req);
    cr_assert_eq(brg_call_reply(call)->error->code, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT);
    brg_call_destroy(&call);
    s.order_sysid = (char *)"20000001";
    s.market = 3;
    call = run(&req);
    cr_assert_eq(brg_call_reply(call)->error->code, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT);
    brg_call_destroy(&call);

    /* queries without account */
    Xtbridge__AccountRequest a = XTBRIDGE__ACCOUNT_REQUEST__INIT;
    req.body_case = XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ASSET;
    req.query_stock_asset = &a;
    call = run(&req);
    cr_assert_eq(brg_call_reply(call)->error->code, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT);
    brg_call_destroy(&call);
    req.body_case = XTBRIDGE__REQUEST__BODY_QUERY_STOCK_POSITIONS;
    req.query_stock_positions = &a; /* present but without an account */
    call = run(&req);
    cr_assert_eq(brg_call_reply(call)->error->code, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT);
    brg_call_destroy(&call);

    /* query position with a bad code */
    Xtbridge__QueryStockPositionRequest qp = XTBRIDGE__QUERY_STOCK_POSITION_REQUEST__INIT;
    qp.account = &account;
    qp.stock_code = (char *)"600000";
    req.body_case = XTBRIDGE__REQUEST__BODY_QUERY_STOCK_POSITION;
    req.query_stock_position = &qp;
    call = run(&req);
    cr_assert_eq(brg_call_reply(call)->error->code, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT);
    brg_call_destroy(&call);

    /* sim_set_price: bad code, NaN, negative liquidity, new code without price */
    Xtbridge__SimSetPriceRequest sp = XTBRIDGE__SIM_SET_PRICE_REQUEST__INIT;
    req.body_case = XTBRIDGE__REQUEST__BODY_SIM_SET_PRICE;
    req.sim_set_price = &sp;
    sp.stock_code = (char *)"600000.XX";
    sp.last_price = 10;
    call = run(&req);
    cr_assert_eq(brg_call_reply(call)->error->code, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT);
    brg_call_destroy(&call);
    sp.stock_code = (char *)"600000.SH";
    sp.last_price = NAN;
    call = run(&req);
    cr_assert_eq(brg_call_reply(call)->error->code, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT);
    brg_call_destroy(&call);
    sp.last_price = 10;
    sp.liquidity = -2;
    call = run(&req);
    cr_assert_eq(brg_call_reply(call)->error->code, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT);
    brg_call_destroy(&call);
    sp.stock_code = (char *)"601398.SH";
    sp.last_price = 0;
    sp.liquidity = 0;
    call = run(&req);
    cr_assert_eq(brg_call_reply(call)->error->code, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT);
    brg_call_destroy(&call);

    /* sim_tick: unknown code, bad code, price without code */
    Xtbridge__SimTickRequest st = XTBRIDGE__SIM_TICK_REQUEST__INIT;
    req.body_case = XTBRIDGE__REQUEST__BODY_SIM_TICK;
    req.sim_tick = &st;
    st.stock_code = (char *)"601398.SH";
    call = run(&req);
    cr_assert_eq(brg_call_reply(call)->error->code, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT);
    brg_call_destroy(&call);
    st.stock_code = (char *)"xx";
    call = run(&req);
    cr_assert_eq(brg_call_reply(call)->error->code, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT);
    brg_call_destroy(&call);
    st.stock_code = (char *)"";
    st.last_price = 10;
    call = run(&req);
    cr_assert_eq(brg_call_reply(call)->error->code, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT);
    brg_call_destroy(&call);

    /* sim_set_account_status: unknown account, bad status */
    Xtbridge__SimSetAccountStatusRequest ss = XTBRIDGE__SIM_SET_ACCOUNT_STATUS_REQUEST__INIT;
    Xtbridge__Account other = account_of("42");
    ss.account = &other;
    req.body_case = XTBRIDGE__REQUEST__BODY_SIM_SET_ACCOUNT_STATUS;
    req.sim_set_account_status = &ss;
    call = run(&req);
    cr_assert_eq(brg_call_reply(call)->error->code, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT);
    brg_call_destroy(&call);
    ss.account = &account;
    ss.status = 10;
    call = run(&req);
    cr_assert_eq(brg_call_reply(call)->error->code, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT);
    brg_call_destroy(&call);
    cr_assert_eq(npushes, 0);
}

/* ---- cancels ----------------------------------------------------------------------- */

Test(sim, cancel_by_id_sync) {
    int64_t id = order("600000.SH", 23, 1000, 11, 10.50);
    size_t mark = npushes;
    cr_assert_eq(cancel(id, false), 0);
    /* the released freeze is an asset change, pushed after the order's 54 */
    expect_kinds(mark, "order,order,asset");
    expect_order_statuses(mark, "51,54");
    cr_assert_money(pushes[mark + 2].event->asset->cash, 1000000.00);
    cr_assert_money(pushes[mark + 2].event->asset->frozen_cash, 0);
    double cash, frozen;
    asset(&cash, &frozen, NULL, NULL);
    cr_assert_money(cash, 1000000.00);
    cr_assert_money(frozen, 0);

    /* again: finished -> -1 and cancel_error */
    mark = npushes;
    cr_assert_eq(cancel(id, false), -1);
    expect_kinds(mark, "cancel_error");
    Xtbridge__XtCancelError *e = pushes[mark].event->cancel_error;
    cr_assert_eq(e->order_id, id);
    cr_assert_eq(e->error_id, -63);
    cr_assert_eq(e->seq, 0);
    cr_assert_eq(e->market, 0);
    cr_assert_str_eq(e->error_msg, "cancel 1: order already finished (status 54)");
    cr_assert_str_eq(pushes[mark].account, ACCT);

    /* unknown order id */
    mark = npushes;
    cr_assert_eq(cancel(999, false), -1);
    expect_kinds(mark, "cancel_error");
    cr_assert_eq(pushes[mark].event->cancel_error->order_id, 999);
    cr_assert_str_eq(pushes[mark].event->cancel_error->error_msg, "cancel 999: no such order");

    /* a filled order cannot be cancelled */
    int64_t filled = order("600000.SH", 23, 100, 11, 10.60);
    cr_assert_eq(last_push("order")->order->order_status, 56);
    mark = npushes;
    cr_assert_eq(cancel(filled, false), -1);
    expect_kinds(mark, "cancel_error");
    /* nor a junk one */
    int64_t junk = order("600000.SH", 23, 150, 11, 10.60);
    mark = npushes;
    cr_assert_eq(cancel(junk, false), -1);
    expect_kinds(mark, "cancel_error");
}

Test(sim, cancel_by_id_async) {
    int64_t id = order("600000.SH", 23, 200, 11, 10.00);
    size_t mark = npushes;
    int64_t seq = cancel(id, true);
    cr_assert_eq(seq, 1);
    expect_kinds(mark, "cancel_async,order,order,asset");
    cr_assert_money(pushes[mark + 3].event->asset->frozen_cash, 0);
    Xtbridge__XtCancelOrderResponse *r = pushes[mark].event->cancel_async;
    cr_assert_eq(r->seq, 1);
    cr_assert_eq(r->cancel_result, 0);
    cr_assert_eq(r->order_id, id);
    cr_assert_gt(strlen(r->order_sysid), 0);
    expect_order_statuses(mark, "51,54");

    mark = npushes;
    seq = cancel(id, true);
    cr_assert_eq(seq, 2);
    expect_kinds(mark, "cancel_async,cancel_error");
    cr_assert_eq(pushes[mark].event->cancel_async->cancel_result, -1);
    cr_assert_eq(pushes[mark].event->cancel_async->seq, 2);
    cr_assert_eq(pushes[mark + 1].event->cancel_error->seq, 2);
    cr_assert_eq(pushes[mark + 1].event->cancel_error->error_id, -63);
}

Test(sim, cancel_by_sysid_sync_and_async) {
    int64_t a = order("000001.SZ", 23, 100, 11, 10.50);
    Xtbridge__XtOrder *o;
    brg_call_t *call = query_order(a, &o);
    char sysid[32];
    snprintf(sysid, sizeof sysid, "%s", o->order_sysid);
    brg_call_destroy(&call);

    /* wrong market does not find it */
    size_t mark = npushes;
    cr_assert_eq(cancel_sysid(0, sysid, false), -1);
    expect_kinds(mark, "cancel_error");
    cr_assert_str_eq(pushes[mark].event->cancel_error->order_sysid, sysid);
    cr_assert_eq(pushes[mark].event->cancel_error->market, 0);
    char want[96];
    snprintf(want, sizeof want, "cancel sysid %s on SH: no such order", sysid);
    cr_assert_str_eq(pushes[mark].event->cancel_error->error_msg, want);

    mark = npushes;
    cr_assert_eq(cancel_sysid(1, sysid, false), 0);
    expect_kinds(mark, "order,order,asset");
    expect_order_statuses(mark, "51,54");
    mark = npushes;
    cr_assert_eq(cancel_sysid(1, sysid, false), -1);
    expect_kinds(mark, "cancel_error");
    cr_assert_eq(pushes[mark].event->cancel_error->order_id, a);
    cr_assert_eq(pushes[mark].event->cancel_error->market, 1);

    /* async */
    int64_t b = order("600000.SH", 23, 100, 11, 10.50);
    call = query_order(b, &o);
    snprintf(sysid, sizeof sysid, "%s", o->order_sysid);
    brg_call_destroy(&call);
    mark = npushes;
    int64_t seq = cancel_sysid(0, sysid, true);
    cr_assert_gt(seq, 0);
    expect_kinds(mark, "cancel_async,order,order,asset");
    cr_assert_eq(pushes[mark].event->cancel_async->seq, seq);
    cr_assert_eq(pushes[mark].event->cancel_async->cancel_result, 0);
    cr_assert_eq(pushes[mark].event->cancel_async->order_id, b);
    mark = npushes;
    int64_t seq2 = cancel_sysid(0, sysid, true);
    cr_assert_eq(seq2, seq + 1);
    expect_kinds(mark, "cancel_async,cancel_error");
    cr_assert_eq(pushes[mark].event->cancel_async->cancel_result, -1);
    cr_assert_eq(pushes[mark + 1].event->cancel_error->seq, seq2);
    double cash, frozen;
    asset(&cash, &frozen, NULL, NULL);
    cr_assert_money(cash, 1000000.00);
    cr_assert_money(frozen, 0);
}

/* ---- async orders ------------------------------------------------------------------ */

Test(sim, order_async_push_ordering) {
    size_t mark = npushes;
    int64_t seq = order_async("600000.SH", 23, 100, 11, 10.50);
    cr_assert_eq(seq, 1);
    expect_kinds(mark, "order_async,order,order,asset");
    Xtbridge__XtOrderResponse *r = pushes[mark].event->order_async;
    cr_assert_eq(r->seq, 1);
    cr_assert_eq(r->order_id, 1);
    cr_assert_str_eq(r->account_id, ACCT);
    cr_assert_str_eq(r->strategy_name, "strat");
    cr_assert_str_eq(r->order_remark, "remark");
    cr_assert_eq(pushes[mark + 1].event->order->order_id, 1);

    /* a junk async order: order_async, order 57, order_error with seq */
    mark = npushes;
    seq = order_async("600000.SH", 23, 150, 11, 10.50);
    cr_assert_eq(seq, 2);
    expect_kinds(mark, "order_async,order,order_error");
    cr_assert_eq(pushes[mark].event->order_async->order_id, 2);
    cr_assert_eq(pushes[mark + 1].event->order->order_status, 57);
    cr_assert_eq(pushes[mark + 2].event->order_error->seq, 2);
    cr_assert_eq(pushes[mark + 2].event->order_error->order_id, 2);
    cr_assert_str_eq(pushes[mark + 2].event->order_error->error_msg,
                     "volume 150 is not a multiple of 100");

    /* a marketable async order: order_async first, then the whole walk */
    mark = npushes;
    seq = order_async("600000.SH", 23, 100, 5, 0);
    cr_assert_eq(seq, 3);
    expect_kinds(mark, "order_async,order,order,asset,trade,order,position,asset");
    cr_assert_float_eq(pushes[mark + 4].event->trade->traded_price, 10.60, 1e-9);

    /* seq is shared with async cancels */
    cr_assert_eq(cancel(1, true), 4);
}

/* ---- partial fills ------------------------------------------------------------------ */

Test(sim, partial_fills_with_liquidity_cap) {
    set_price("600000.SH", 10.60, 0, 300);
    size_t mark = npushes;
    int64_t id = order("600000.SH", 23, 1000, 11, 10.60);
    expect_kinds(mark, "order,order,asset,trade,order,position,asset");
    expect_order_statuses(mark, "48,50,55");
    cr_assert_money(pushes[mark + 2].event->asset->frozen_cash, 10605.11);
    cr_assert_eq(pushes[mark + 3].event->trade->traded_volume, 300);
    cr_assert_money(pushes[mark + 3].event->trade->commission, 5.03);
    cr_assert_money(pushes[mark + 6].event->asset->frozen_cash, 10605.11 - 3185.03);
    double cash, frozen;
    asset(&cash, &frozen, NULL, NULL);
    /* freeze 10600 + 5.00 + 0.11 = 10605.11; the fill's cost 3180 + 5.00 + 0.03 is paid
       out of it, available cash does not move */
    cr_assert_money(frozen, 10605.11 - 3185.03);
    cr_assert_money(cash, 1000000 - 10605.11);

    mark = npushes;
    tick("600000.SH", 0);
    expect_kinds(mark, "trade,order,position,asset");
    cr_assert_eq(pushes[mark].event->trade->traded_volume, 300);
    cr_assert_float_eq(pushes[mark].event->trade->traded_price, 10.60, 1e-9);
    cr_assert_eq(pushes[mark + 1].event->order->order_status, 55);
    cr_assert_eq(pushes[mark + 1].event->order->traded_volume, 600);
    asset(&cash, &frozen, NULL, NULL);
    /* the second fill pays no minimum again (commission is per order): 3180 + 0.03 */
    cr_assert_money(frozen, 10605.11 - 3185.03 - 3180.03);
    cr_assert_money(cash, 1000000 - 10605.11);

    /* cancel the rest: 52 then 53, the remaining freeze is released */
    mark = npushes;
    cr_assert_eq(cancel(id, false), 0);
    expect_kinds(mark, "order,order,asset");
    expect_order_statuses(mark, "52,53");
    cr_assert_eq(pushes[mark + 1].event->order->traded_volume, 600);
    cr_assert_money(pushes[mark + 2].event->asset->frozen_cash, 0);
    cr_assert_money(pushes[mark + 2].event->asset->cash, 1000000 - 6360 - 5.06);
    asset(&cash, &frozen, NULL, NULL);
    cr_assert_money(frozen, 0);
    cr_assert_money(cash, 1000000 - 6360 - 5.06);

    Xtbridge__XtPosition *p;
    brg_call_t *call = position("600000.SH", &p);
    cr_assert_eq(p->volume, 600);
    cr_assert_float_eq(p->avg_price, (6360 + 5.06) / 600.0, 1e-9);
    brg_call_destroy(&call);
}

Test(sim, liquidity_is_shared_and_fills_complete) {
    set_price("600000.SH", 10.60, 0, 500);
    int64_t a = order("600000.SH", 23, 400, 11, 10.50);
    int64_t b = order("600000.SH", 23, 400, 11, 10.50);
    size_t mark = npushes;
    set_price("600000.SH", 10.40, 0, -1);
    /* time priority: a fills 400, b gets the remaining 100 */
    expect_kinds(mark, "trade,order,position,asset,trade,order,position,asset");
    cr_assert_eq(pushes[mark].event->trade->order_id, a);
    cr_assert_eq(pushes[mark + 1].event->order->order_status, 56);
    cr_assert_eq(pushes[mark + 4].event->trade->order_id, b);
    cr_assert_eq(pushes[mark + 4].event->trade->traded_volume, 100);
    cr_assert_eq(pushes[mark + 5].event->order->order_status, 55);
    mark = npushes;
    tick("", 0);
    expect_kinds(mark, "trade,order,position,asset");
    cr_assert_eq(pushes[mark + 1].event->order->order_status, 56);
    double cash, frozen;
    asset(&cash, &frozen, NULL, NULL);
    cr_assert_money(frozen, 0);
    /* a: 4200 + 5 + 0.04; b: 1050 + 5 + 0.01, 3150 + 0.03 (the minimum once per order) */
    cr_assert_money(cash, 1000000 - 4205.04 - 1055.01 - 3150.03);
}

Test(sim, resting_sell_fills_at_limit) {
    teardown();
    start_sim("sim\n"
              "    account\n"
              "        id = 1000000365\n"
              "        position\n"
              "            code = 000002.SZ\n"
              "            volume = 1000\n"
              "            avg_price = 6.50\n");
    size_t mark = npushes;
    int64_t id = order("000002.SZ", 24, 1000, 11, 7.20);
    /* a sell freezes shares, not cash: a position push, no asset push */
    expect_kinds(mark, "order,order,position");
    Xtbridge__XtPosition *pushed = pushes[mark + 2].event->position;
    cr_assert_str_eq(pushed->stock_code, "000002.SZ");
    cr_assert_eq(pushed->volume, 1000);
    cr_assert_eq(pushed->can_use_volume, 0);
    cr_assert_eq(pushed->frozen_volume, 1000);
    Xtbridge__XtPosition *p;
    brg_call_t *call = position("000002.SZ", &p);
    cr_assert_eq(p->can_use_volume, 0);
    cr_assert_eq(p->frozen_volume, 1000);
    brg_call_destroy(&call);
    mark = npushes;
    set_price("000002.SZ", 7.19, 0, -1);
    cr_assert_eq(npushes, mark);
    set_price("000002.SZ", 7.50, 0, -1);
    expect_kinds(mark, "trade,order,position,asset");
    cr_assert_float_eq(pushes[mark].event->trade->traded_price, 7.20, 1e-9);
    cr_assert_eq(pushes[mark].event->trade->order_id, id);
    /* 7200: commission 5.00, stamp 3.60, transfer 0.07 */
    cr_assert_money(pushes[mark].event->trade->commission, 8.67);
    double cash;
    asset(&cash, NULL, NULL, NULL);
    cr_assert_money(cash, 1000000 + 7200 - 8.67);
}

Test(sim, cancel_partly_filled_sell_restores_shares) {
    teardown();
    start_sim("sim\n"
              "    account\n"
              "        id = 1000000365\n"
              "        position\n"
              "            code = 600000.SH\n"
              "            volume = 1000\n"
              "            avg_price = 10\n"
              "    price\n"
              "        code = 600000.SH\n"
              "        pre_close = 10.60\n"
              "        liquidity = 200\n");
    size_t mark = npushes;
    int64_t id = order("600000.SH", 24, 1000, 11, 10.60);
    expect_kinds(mark, "order,order,position,trade,order,position,asset");
    cr_assert_eq(pushes[mark + 2].event->position->frozen_volume, 1000);
    cr_assert_eq(pushes[mark + 5].event->position->volume, 800);
    cr_assert_eq(pushes[mark + 5].event->position->frozen_volume, 800);
    cr_assert_eq(last_push("order")->order->order_status, 55);
    mark = npushes;
    cr_assert_eq(cancel(id, false), 0);
    /* the unfilled 800 go back to can_use: a position push after the order's 53 */
    expect_kinds(mark, "order,order,position");
    expect_order_statuses(mark, "52,53");
    cr_assert_eq(pushes[mark + 2].event->position->volume, 800);
    cr_assert_eq(pushes[mark + 2].event->position->can_use_volume, 800);
    cr_assert_eq(pushes[mark + 2].event->position->frozen_volume, 0);
    Xtbridge__XtPosition *p;
    brg_call_t *call = position("600000.SH", &p);
    cr_assert_eq(p->volume, 800);
    cr_assert_eq(p->can_use_volume, 800);
    cr_assert_eq(p->frozen_volume, 0);
    brg_call_destroy(&call);
}

/* ---- day close --------------------------------------------------------------------- */

Test(sim, next_day_expires_settles_and_clears) {
    int64_t resting = order("600000.SH", 23, 1000, 11, 10.00);
    order("000001.SZ", 23, 500, 11, 11.00); /* fills */
    set_price("600000.SH", 11.00, 0, -1);
    size_t mark = npushes;
    next_day();
    /* expiry (order 54 + the released cash), then T+1 settlement of today's buy */
    expect_kinds(mark, "order,asset,position");
    cr_assert_eq(pushes[mark].event->order->order_id, resting);
    cr_assert_eq(pushes[mark].event->order->order_status, 54);
    cr_assert_str_eq(pushes[mark].event->order->status_msg, "expired at day close");
    cr_assert_money(pushes[mark + 1].event->asset->frozen_cash, 0);
    cr_assert_money(pushes[mark + 1].event->asset->cash, 1000000 - 5500 - 5.00 - 0.06);
    cr_assert_str_eq(pushes[mark + 2].event->position->stock_code, "000001.SZ");
    cr_assert_eq(pushes[mark + 2].event->position->can_use_volume, 500);
    cr_assert_eq(pushes[mark + 2].event->position->yesterday_volume, 500);
    double cash, frozen, mv;
    asset(&cash, &frozen, &mv, NULL);
    cr_assert_money(frozen, 0);
    cr_assert_money(cash, 1000000 - 5500 - 5.00 - 0.06);
    cr_assert_money(mv, 5500);

    Xtbridge__OrdersReply *orders;
    brg_call_t *call = query_orders(false, &orders);
    cr_assert_eq(orders->n_orders, 0);
    brg_call_destroy(&call);
    Xtbridge__Account account = account_of(ACCT);
    Xtbridge__AccountRequest a = XTBRIDGE__ACCOUNT_REQUEST__INIT;
    a.account = &account;
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    req.body_case = XTBRIDGE__REQUEST__BODY_QUERY_STOCK_TRADES;
    req.query_stock_trades = &a;
    call = run(&req);
    cr_assert_eq(brg_call_reply(call)->query_stock_trades->n_trades, 0);
    brg_call_destroy(&call);

    Xtbridge__XtPosition *p;
    call = position("000001.SZ", &p);
    cr_assert_eq(p->volume, 500);
    cr_assert_eq(p->can_use_volume, 500);
    cr_assert_eq(p->yesterday_volume, 500);
    brg_call_destroy(&call);

    /* pre_close is now 11.00: 12.10 is the new limit up */
    order("600000.SH", 23, 100, 11, 12.10);
    cr_assert_eq(last_push("order")->order->order_status, 56);
    cr_assert_eq(last_push("order")->order->order_id, 3); /* ids keep counting */
    /* the odd lot rule applies to what is sellable: 500 in lots is fine */
    order("000001.SZ", 24, 500, 11, 11.00);
    cr_assert_eq(last_push("order")->order->order_status, 56);
    /* an emptied position disappears at the next close (no push: nothing to settle) */
    mark = npushes;
    next_day();
    expect_kinds(mark, "position");
    cr_assert_str_eq(pushes[mark].event->position->stock_code, "600000.SH");
    cr_assert_eq(pushes[mark].event->position->can_use_volume, 100);
    call = position("000001.SZ", &p);
    cr_assert_null(p);
    brg_call_destroy(&call);
}

Test(sim, next_day_expires_partly_filled_as_53) {
    set_price("600000.SH", 10.60, 0, 300);
    int64_t id = order("600000.SH", 23, 1000, 11, 10.60);
    size_t mark = npushes;
    next_day();
    expect_kinds(mark, "order,asset,position");
    cr_assert_eq(pushes[mark].event->order->order_id, id);
    cr_assert_eq(pushes[mark].event->order->order_status, 53);
    cr_assert_money(pushes[mark + 1].event->asset->frozen_cash, 0);
    cr_assert_eq(pushes[mark + 2].event->position->volume, 300);
    cr_assert_eq(pushes[mark + 2].event->position->can_use_volume, 300);
    double cash, frozen;
    asset(&cash, &frozen, NULL, NULL);
    cr_assert_money(frozen, 0);
    cr_assert_money(cash, 1000000 - 3185.03);
}

/* ---- queries ----------------------------------------------------------------------- */

Test(sim, queries) {
    int64_t open = order("600000.SH", 23, 100, 11, 10.00);
    int64_t filled = order("600000.SH", 23, 100, 11, 10.60);
    int64_t junk = order("600000.SH", 23, 10, 11, 10.60);
    int64_t cancelled = order("000001.SZ", 23, 100, 11, 10.00);
    cancel(cancelled, false);

    Xtbridge__OrdersReply *orders;
    brg_call_t *call = query_orders(false, &orders);
    cr_assert_eq(orders->n_orders, 4);
    cr_assert_eq(orders->orders[0]->order_id, open);
    cr_assert_eq(orders->orders[1]->order_id, filled);
    cr_assert_eq(orders->orders[1]->order_status, 56);
    cr_assert_eq(orders->orders[2]->order_id, junk);
    cr_assert_eq(orders->orders[2]->order_status, 57);
    cr_assert_eq(orders->orders[3]->order_status, 54);
    brg_call_destroy(&call);
    call = query_orders(true, &orders);
    cr_assert_eq(orders->n_orders, 1);
    cr_assert_eq(orders->orders[0]->order_id, open);
    cr_assert_eq(orders->orders[0]->order_status, 50);
    brg_call_destroy(&call);

    Xtbridge__XtOrder *o;
    call = query_order(filled, &o);
    cr_assert_not_null(o);
    cr_assert_eq(o->traded_volume, 100);
    brg_call_destroy(&call);
    call = query_order(12345, &o);
    cr_assert_null(o);
    brg_call_destroy(&call);

    Xtbridge__Account account = account_of(ACCT);
    Xtbridge__AccountRequest a = XTBRIDGE__ACCOUNT_REQUEST__INIT;
    a.account = &account;
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    req.body_case = XTBRIDGE__REQUEST__BODY_QUERY_STOCK_TRADES;
    req.query_stock_trades = &a;
    call = run(&req);
    Xtbridge__TradesReply *trades = brg_call_reply(call)->query_stock_trades;
    cr_assert_eq(trades->n_trades, 1);
    cr_assert_eq(trades->trades[0]->order_id, filled);
    cr_assert_money(trades->trades[0]->traded_amount, 1060.00);
    cr_assert_money(trades->trades[0]->commission, 5.01);
    brg_call_destroy(&call);

    req.body_case = XTBRIDGE__REQUEST__BODY_QUERY_STOCK_POSITIONS;
    req.query_stock_positions = &a;
    call = run(&req);
    Xtbridge__PositionsReply *positions = brg_call_reply(call)->query_stock_positions;
    cr_assert_eq(positions->n_positions, 1);
    cr_assert_str_eq(positions->positions[0]->stock_code, "600000.SH");
    cr_assert_eq(positions->positions[0]->volume, 100);
    brg_call_destroy(&call);

    Xtbridge__XtPosition *p;
    call = position("000002.SZ", &p);
    cr_assert_null(p);
    brg_call_destroy(&call);

    Xtbridge__NoArgsRequest none = XTBRIDGE__NO_ARGS_REQUEST__INIT;
    req.body_case = XTBRIDGE__REQUEST__BODY_QUERY_ACCOUNT_INFOS;
    req.query_account_infos = &none;
    call = run(&req);
    Xtbridge__AccountInfosReply *infos = brg_call_reply(call)->query_account_infos;
    cr_assert_eq(infos->n_accounts, 3);
    cr_assert_str_eq(infos->accounts[0]->account_id, ACCT);
    cr_assert_eq(infos->accounts[0]->account_type, 2);
    cr_assert_str_eq(infos->accounts[2]->account_id, "1208970161");
    cr_assert_eq(infos->accounts[2]->account_type, 3);
    cr_assert_str_eq(infos->accounts[1]->account_id, "1000000367");
    cr_assert_eq(infos->accounts[1]->account_type, 1);
    brg_call_destroy(&call);

    req.body_case = XTBRIDGE__REQUEST__BODY_QUERY_ACCOUNT_STATUS;
    req.query_account_status = &none;
    call = run(&req);
    Xtbridge__AccountStatusReply *statuses = brg_call_reply(call)->query_account_status;
    cr_assert_eq(statuses->n_statuses, 3);
    cr_assert_str_eq(statuses->statuses[0]->account_id, ACCT);
    cr_assert_eq(statuses->statuses[0]->status, 0);
    brg_call_destroy(&call);

    req.body_case = XTBRIDGE__REQUEST__BODY_SUBSCRIBE;
    req.subscribe = &a;
    call = run(&req);
    cr_assert_eq(brg_call_reply(call)->result_case, XTBRIDGE__REPLY__RESULT_SUBSCRIBE);
    cr_assert_eq(brg_call_reply(call)->subscribe->result, 0);
    brg_call_destroy(&call);
    req.body_case = XTBRIDGE__REQUEST__BODY_UNSUBSCRIBE;
    req.unsubscribe = &a;
    call = run(&req);
    cr_assert_eq(brg_call_reply(call)->result_case, XTBRIDGE__REPLY__RESULT_UNSUBSCRIBE);
    cr_assert_eq(brg_call_reply(call)->unsubscribe->result, 0);
    brg_call_destroy(&call);

    Xtbridge__SetRelaxedResponseOrderEnabledRequest rel =
        XTBRIDGE__SET_RELAXED_RESPONSE_ORDER_ENABLED_REQUEST__INIT;
    rel.enabled = true;
    req.body_case = XTBRIDGE__REQUEST__BODY_SET_RELAXED_RESPONSE_ORDER_ENABLED;
    req.set_relaxed_response_order_enabled = &rel;
    call = run(&req);
    cr_assert_eq(brg_call_reply(call)->error->code, XTBRIDGE__ERROR_CODE__OK);
    cr_assert_eq(brg_call_reply(call)->result_case,
                 XTBRIDGE__REPLY__RESULT_SET_RELAXED_RESPONSE_ORDER_ENABLED);
    brg_call_destroy(&call);
}

/* ---- unknown account ---------------------------------------------------------------- */

Test(sim, unknown_account) {
    size_t mark = npushes;
    cr_assert_eq(order_on("42", "600000.SH", 23, 100, 11, 10.60), -1);
    expect_kinds(mark, "order_error");
    cr_assert_str_eq(pushes[mark].account, "42");
    cr_assert_eq(pushes[mark].event->order_error->error_id, -61);
    cr_assert_str_eq(pushes[mark].event->order_error->account_id, "42");
    cr_assert_str_eq(pushes[mark].event->order_error->error_msg,
                     "unknown account 42; have 1000000365, 1000000367, 1208970161");

    /* the known id with another account type is another account */
    Xtbridge__Account credit = account_of(ACCT);
    credit.account_type = 3;
    Xtbridge__OrderStockRequest o = order_req(&credit, "600000.SH", 23, 100, 11, 10.60);
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    req.body_case = XTBRIDGE__REQUEST__BODY_ORDER_STOCK;
    req.order_stock = &o;
    mark = npushes;
    brg_call_t *call = run(&req);
    cr_assert_eq(brg_call_reply(call)->order_stock->order_id, -1);
    brg_call_destroy(&call);
    expect_kinds(mark, "order_error");
    cr_assert_str_eq(pushes[mark].event->order_error->error_msg,
                     "unknown account 1000000365 of type 3; have 1000000365, 1000000367, "
                     "1208970161");

    /* async: seq, then order_async (order_id -1), then order_error with the seq */
    Xtbridge__Account other = account_of("42");
    o = order_req(&other, "600000.SH", 23, 100, 11, 10.60);
    req.body_case = XTBRIDGE__REQUEST__BODY_ORDER_STOCK_ASYNC;
    req.order_stock_async = &o;
    mark = npushes;
    call = run(&req);
    int64_t seq = brg_call_reply(call)->order_stock_async->seq;
    cr_assert_gt(seq, 0);
    brg_call_destroy(&call);
    expect_kinds(mark, "order_async,order_error");
    cr_assert_eq(pushes[mark].event->order_async->order_id, -1);
    cr_assert_eq(pushes[mark].event->order_async->seq, seq);
    cr_assert_eq(pushes[mark + 1].event->order_error->seq, seq);

    mark = npushes;
    cr_assert_eq(cancel_on("42", 1, false), -1);
    expect_kinds(mark, "cancel_error");
    cr_assert_str_eq(pushes[mark].account, "42");
    cr_assert_eq(pushes[mark].event->cancel_error->error_id, -63);
    mark = npushes;
    seq = cancel_on("42", 1, true);
    cr_assert_gt(seq, 0);
    expect_kinds(mark, "cancel_async,cancel_error");
    cr_assert_eq(pushes[mark].event->cancel_async->cancel_result, -1);

    Xtbridge__AccountRequest a = XTBRIDGE__ACCOUNT_REQUEST__INIT;
    a.account = &other;
    req.body_case = XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ASSET;
    req.query_stock_asset = &a;
    call = run(&req);
    cr_assert_eq(brg_call_reply(call)->error->code, XTBRIDGE__ERROR_CODE__OK);
    cr_assert_not(brg_call_reply(call)->query_stock_asset->found);
    brg_call_destroy(&call);
    req.body_case = XTBRIDGE__REQUEST__BODY_QUERY_STOCK_POSITIONS;
    req.query_stock_positions = &a;
    call = run(&req);
    cr_assert_eq(brg_call_reply(call)->query_stock_positions->n_positions, 0);
    brg_call_destroy(&call);
    Xtbridge__QueryStockOrdersRequest qo = XTBRIDGE__QUERY_STOCK_ORDERS_REQUEST__INIT;
    qo.account = &other;
    req.body_case = XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ORDERS;
    req.query_stock_orders = &qo;
    call = run(&req);
    cr_assert_eq(brg_call_reply(call)->query_stock_orders->n_orders, 0);
    brg_call_destroy(&call);
    req.body_case = XTBRIDGE__REQUEST__BODY_SUBSCRIBE;
    req.subscribe = &a;
    call = run(&req);
    cr_assert_eq(brg_call_reply(call)->subscribe->result, -1);
    brg_call_destroy(&call);
    req.body_case = XTBRIDGE__REQUEST__BODY_UNSUBSCRIBE;
    req.unsubscribe = &a;
    call = run(&req);
    cr_assert_eq(brg_call_reply(call)->unsubscribe->result, -1);
    brg_call_destroy(&call);

    /* nothing touched the real account */
    double cash;
    asset(&cash, NULL, NULL, NULL);
    cr_assert_money(cash, 1000000);
}

/* ---- ops table: serves, describe, start, account status ---------------------------- */

Test(sim, serves_only_what_it_implements) {
    Xtbridge__Request__BodyCase served[] = {
        XTBRIDGE__REQUEST__BODY_ORDER_STOCK,
        XTBRIDGE__REQUEST__BODY_ORDER_STOCK_ASYNC,
        XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK,
        XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK_ASYNC,
        XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK_SYSID,
        XTBRIDGE__REQUEST__BODY_CANCEL_ORDER_STOCK_SYSID_ASYNC,
        XTBRIDGE__REQUEST__BODY_SUBSCRIBE,
        XTBRIDGE__REQUEST__BODY_UNSUBSCRIBE,
        XTBRIDGE__REQUEST__BODY_SET_RELAXED_RESPONSE_ORDER_ENABLED,
        XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ASSET,
        XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ORDER,
        XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ORDERS,
        XTBRIDGE__REQUEST__BODY_QUERY_STOCK_TRADES,
        XTBRIDGE__REQUEST__BODY_QUERY_STOCK_POSITION,
        XTBRIDGE__REQUEST__BODY_QUERY_STOCK_POSITIONS,
        XTBRIDGE__REQUEST__BODY_QUERY_ACCOUNT_INFOS,
        XTBRIDGE__REQUEST__BODY_QUERY_ACCOUNT_STATUS,
        XTBRIDGE__REQUEST__BODY_SIM_SET_PRICE,
        XTBRIDGE__REQUEST__BODY_SIM_TICK,
        XTBRIDGE__REQUEST__BODY_SIM_NEXT_DAY,
        XTBRIDGE__REQUEST__BODY_SIM_SET_ACCOUNT_STATUS,
        XTBRIDGE__REQUEST__BODY_FUND_TRANSFER,
        XTBRIDGE__REQUEST__BODY_SYNC_TRANSACTION_FROM_EXTERNAL,
        XTBRIDGE__REQUEST__BODY_QUERY_CREDIT_DETAIL,
        XTBRIDGE__REQUEST__BODY_QUERY_STK_COMPACTS,
        XTBRIDGE__REQUEST__BODY_QUERY_CREDIT_SUBJECTS,
        XTBRIDGE__REQUEST__BODY_QUERY_CREDIT_SLO_CODE,
        XTBRIDGE__REQUEST__BODY_QUERY_CREDIT_ASSURE,
        XTBRIDGE__REQUEST__BODY_QUERY_COM_FUND,
        XTBRIDGE__REQUEST__BODY_QUERY_COM_POSITION,
        XTBRIDGE__REQUEST__BODY_SMT_QUERY_QUOTER,
        XTBRIDGE__REQUEST__BODY_SMT_NEGOTIATE_ORDER_ASYNC,
        XTBRIDGE__REQUEST__BODY_SMT_QUERY_COMPACT,
        XTBRIDGE__REQUEST__BODY_QUERY_POSITION_STATISTICS,
        XTBRIDGE__REQUEST__BODY_QUERY_NEW_PURCHASE_LIMIT,
        XTBRIDGE__REQUEST__BODY_QUERY_IPO_DATA,
        XTBRIDGE__REQUEST__BODY_EXPORT_DATA,
        XTBRIDGE__REQUEST__BODY_QUERY_DATA,
    };
    size_t n = sizeof served / sizeof served[0];
    for (size_t i = 0; i < n; i++)
        cr_assert(brg_sim_ops.serves(sim, served[i]), "%s", brg_call_body_name(served[i]));
    Xtbridge__Request__BodyCase not_served[] = {
        XTBRIDGE__REQUEST__BODY__NOT_SET,
        XTBRIDGE__REQUEST__BODY_HELLO,
        XTBRIDGE__REQUEST__BODY_PING,
    };
    for (size_t i = 0; i < sizeof not_served / sizeof not_served[0]; i++)
        cr_assert_not(brg_sim_ops.serves(sim, not_served[i]), "%d", not_served[i]);

    /* a direct call to an unserved body is UNKNOWN_CALL naming it, never success */
    /* (every xttrader call is served now: a bridge call stands in) */
    Xtbridge__PingRequest ping = XTBRIDGE__PING_REQUEST__INIT;
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    req.body_case = XTBRIDGE__REQUEST__BODY_PING;
    req.ping = &ping;
    brg_call_t *call = run(&req);
    cr_assert_eq(brg_call_reply(call)->error->code, XTBRIDGE__ERROR_CODE__UNKNOWN_CALL);
    cr_assert(strstr(brg_call_reply(call)->error->message, "ping"));
    brg_call_destroy(&call);
}

Test(sim, describe_start_and_account_status) {
    cr_assert_str_eq(brg_sim_ops.name, "sim");
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    Xtbridge__HelloRequest h = XTBRIDGE__HELLO_REQUEST__INIT;
    req.body_case = XTBRIDGE__REQUEST__BODY_HELLO;
    req.hello = &h;
    size_t size = xtbridge__request__get_packed_size(&req);
    uint8_t buf[64];
    xtbridge__request__pack(&req, buf);
    brg_call_t *call = brg_call_new(xtbridge__request__unpack(NULL, size, buf), "c");
    Xtbridge__HelloReply hello = XTBRIDGE__HELLO_REPLY__INIT;
    brg_sim_ops.describe(sim, call, &hello);
    /* the default book: the stock, FUTURE and CREDIT accounts */
    cr_assert_eq(hello.n_accounts, 3);
    cr_assert_str_eq(hello.accounts[0]->account_id, ACCT);
    cr_assert_eq(hello.accounts[0]->account_type, 2);
    cr_assert_str_eq(hello.accounts[1]->account_id, "1000000367");
    cr_assert_eq(hello.accounts[1]->account_type, 1);
    cr_assert_str_eq(hello.accounts[2]->account_id, "1208970161");
    cr_assert_eq(hello.accounts[2]->account_type, 3);
    brg_call_destroy(&call);

    brg_sim_ops.start(sim);
    expect_kinds(0, "account_status,account_status,account_status");
    cr_assert_str_eq(pushes[0].account, ACCT);
    cr_assert_eq(pushes[0].event->account_status->status, 0);
    cr_assert_eq(pushes[0].event->account_status->account_type, 2);
    cr_assert_str_eq(pushes[1].account, "1000000367");
    cr_assert_eq(pushes[1].event->account_status->account_type, 1);
    cr_assert_str_eq(pushes[2].account, "1208970161");
    cr_assert_eq(pushes[2].event->account_status->account_type, 3);
    clear_pushes();

    Xtbridge__SimSetAccountStatusRequest s = XTBRIDGE__SIM_SET_ACCOUNT_STATUS_REQUEST__INIT;
    Xtbridge__Account account = account_of(ACCT);
    s.account = &account;
    s.status = 6;
    req.body_case = XTBRIDGE__REQUEST__BODY_SIM_SET_ACCOUNT_STATUS;
    req.sim_set_account_status = &s;
    call = run(&req);
    cr_assert_eq(brg_call_reply(call)->error->code, XTBRIDGE__ERROR_CODE__OK);
    cr_assert_eq(brg_call_reply(call)->result_case, XTBRIDGE__REPLY__RESULT_SIM_SET_ACCOUNT_STATUS);
    brg_call_destroy(&call);
    expect_kinds(0, "account_status");
    cr_assert_eq(pushes[0].event->account_status->status, 6);

    Xtbridge__NoArgsRequest none = XTBRIDGE__NO_ARGS_REQUEST__INIT;
    req.body_case = XTBRIDGE__REQUEST__BODY_QUERY_ACCOUNT_STATUS;
    req.query_account_status = &none;
    call = run(&req);
    cr_assert_eq(brg_call_reply(call)->query_account_status->statuses[0]->status, 6);
    brg_call_destroy(&call);
}

/* ---- config ------------------------------------------------------------------------ */

Test(sim, config_accounts_prices_and_fees) {
    teardown();
    start_sim("sim\n"
              "    account\n"
              "        id = A1\n"
              "        type = STOCK\n"
              "        cash = 20000\n"
              "    account\n"
              "        id = A2\n"
              "        cash = 5000.50\n"
              "    price\n"
              "        code = 601398.SH\n"
              "        name = 工商银行\n"
              "        pre_close = 5.00\n"
              "        last = 5.10\n"
              "    fees\n"
              "        commission_rate = 0.001\n"
              "        min_commission = 1\n");
    /* only configured accounts exist */
    cr_assert_eq(order_on(ACCT, "601398.SH", 23, 100, 11, 5.10), -1);
    size_t mark = npushes;
    int64_t id = order_on("A1", "601398.SH", 23, 1000, 11, 5.10);
    cr_assert_eq(id, 1);
    expect_kinds(mark, "order,order,asset,trade,order,position,asset");
    /* freeze 5100 + 5.10 + 0.05 with the configured fees */
    cr_assert_str_eq(pushes[mark + 2].account, "A1");
    cr_assert_money(pushes[mark + 2].event->asset->frozen_cash, 5105.15);
    /* 5100: commission 5.10 (0.1%), transfer 0.05 (0.051) */
    cr_assert_money(pushes[mark + 3].event->trade->commission, 5.15);
    cr_assert_str_eq(pushes[mark + 3].event->trade->instrument_name, "工商银行");
    Xtbridge__XtAsset *as = pushes[mark + 6].event->asset;
    cr_assert_str_eq(as->account_id, "A1");
    cr_assert_money(as->cash, 20000 - 5105.15);
    /* limits from the configured pre_close: 5.50 is the cap */
    mark = npushes;
    order_on("A2", "601398.SH", 23, 100, 11, 5.51);
    cr_assert_str_eq(pushes[mark].event->order->status_msg,
                     "price 5.51 outside price limits 4.50 - 5.50");
}

Test(sim, bad_config_fails_create) {
    const char *bad[] = {
        "sim\n    account\n        id = A.1\n",
        "sim\n    account\n        id = A1\n        type = HUGANGTONG\n",
        "sim\n    account\n        id = A1\n        fin_quota = 1000\n",
        "sim\n    account\n        id = A1\n        cash = lots\n",
        "sim\n    account\n        id = A1\n    account\n        id = A1\n",
        "sim\n    account\n        id = A1\n        position\n            code = 601398.SH\n"
        "            volume = 100\n",
        "sim\n    account\n        id = A1\n        position\n            code = 600000.SH\n"
        "            volume = 1.5\n",
        "sim\n    price\n        code = 601398\n        pre_close = 5\n",
        "sim\n    price\n        code = 601398.SH\n",
        "sim\n    fees\n        commission_rate = -1\n",
    };
    teardown();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        void *s = make_sim(bad[i], err, sizeof err);
        cr_assert_null(s, "config %zu accepted", i);
        cr_assert_gt(strlen(err), 0, "config %zu: no message", i);
    }
    /* and a NULL env config gives the default account */
    start_sim(NULL);
}

/* ---- market price types and new codes -------------------------------------------- */

Test(sim, market_order_types_with_liquidity) {
    set_price("600000.SH", 10.60, 0, 300);
    /* 42 (SSE best five then cancel): 300 fill, the rest is cancelled */
    size_t mark = npushes;
    order("600000.SH", 23, 1000, 42, 0);
    expect_kinds(mark, "order,order,asset,trade,order,position,asset,order,asset");
    cr_assert_money(pushes[mark + 8].event->asset->frozen_cash, 0);
    expect_order_statuses(mark, "48,50,55,53");
    cr_assert_float_eq(pushes[mark + 1].event->order->price, 10.60, 1e-9);
    double cash, frozen;
    asset(&cash, &frozen, NULL, NULL);
    cr_assert_money(frozen, 0);
    cr_assert_money(cash, 1000000 - 3185.03);

    /* 43 (SSE best five then limit): the rest stays open at the last price */
    mark = npushes;
    int64_t id = order("600000.SH", 23, 1000, 43, 0);
    expect_order_statuses(mark, "48,50,55");
    Xtbridge__OrdersReply *orders;
    brg_call_t *call = query_orders(true, &orders);
    cr_assert_eq(orders->n_orders, 1);
    cr_assert_eq(orders->orders[0]->order_id, id);
    brg_call_destroy(&call);

    /* 48 (SZSE fill or kill): all or nothing */
    set_price("000001.SZ", 11.00, 0, 300);
    asset(&cash, &frozen, NULL, NULL); /* order 43's rest is still frozen */
    cr_assert_money(frozen, 7420.08);
    mark = npushes;
    order("000001.SZ", 23, 1000, 48, 0);
    /* freeze on entry (11000 + 5.00 + 0.11), released when it is killed */
    expect_kinds(mark, "order,order,asset,order,asset");
    cr_assert_money(pushes[mark + 2].event->asset->frozen_cash, 7420.08 + 11005.11);
    cr_assert_money(pushes[mark + 4].event->asset->frozen_cash, 7420.08);
    cr_assert_money(pushes[mark + 4].event->asset->cash, cash);
    expect_order_statuses(mark, "48,50,54");
    mark = npushes;
    order("000001.SZ", 23, 300, 48, 0);
    expect_order_statuses(mark, "48,50,56");
    /* 46 (SZSE immediate then cancel) */
    mark = npushes;
    order("000001.SZ", 23, 500, 46, 0);
    expect_order_statuses(mark, "48,50,55,53");
}

Test(sim, set_price_adds_a_code) {
    set_price("601398.SH", 5.10, 5.00, 0);
    size_t mark = npushes;
    order("601398.SH", 23, 100, 11, 5.10);
    expect_order_statuses(mark, "48,50,56");
    cr_assert_str_eq(pushes[mark].event->order->instrument_name, "601398.SH");
    /* limits follow the given pre_close: 5.50 */
    mark = npushes;
    order("601398.SH", 23, 100, 11, 5.51);
    expect_order_statuses(mark, "57");
    /* pre_close 0 keeps, liquidity -1 keeps */
    set_price("601398.SH", 5.40, 0, -1);
    mark = npushes;
    order("601398.SH", 23, 100, 11, 5.50);
    expect_order_statuses(mark, "48,50,56");
    cr_assert_float_eq(last_push("trade")->trade->traded_price, 5.40, 1e-9);
}

Test(sim, works_without_emit) {
    brg_sim_ops.destroy(&sim);
    char err[64];
    sim = brg_sim_ops.create(NULL, err, sizeof err);
    cr_assert_not_null(sim);
    brg_sim_ops.start(sim);
    order("600000.SH", 23, 100, 11, 10.60);
    cr_assert_eq(cancel(1, true), 1);
    cr_assert_eq(npushes, 0);
}

/* ---- durability: the book in a real store ------------------------------------------ */

/* Open (or reopen) the test store in store_dir, making a fresh dir the first time. */
static void open_store(int64_t max_mb) {
    static int dirs;
    if (!*store_dir) {
        snprintf(store_dir, sizeof store_dir, "%s/xtbt-sim-%d-%d", xtbt_tmpdir(), getpid(), ++dirs);
        cr_assert_eq(zsys_dir_create("%s", store_dir), 0);
    }
    brg_store_opts_t opts;
    brg_store_opts_default(&opts);
    if (max_mb > 0)
        opts.max_mb = max_mb;
    char err[256] = "";
    store = brg_store_new(store_dir, &opts, err, sizeof err);
    cr_assert_not_null(store, "store: %s", err);
}

/* A sim on a (new or reopened) store, with config_text. */
static void start_stored(const char *config_text, int64_t max_mb) {
    if (sim)
        brg_sim_ops.destroy(&sim);
    brg_store_destroy(&store);
    open_store(max_mb);
    start_sim(config_text);
}

/* What the router does around a batch: persist the book's changes, then commit. */
static int commit(void) {
    if (brg_sim_ops.persist(sim) != 0)
        brg_store_fail_batch(store, "sim could not write its book");
    return brg_store_commit(store);
}

/* Destroy the backend and the store, open both again (the "restart"). */
static void restart(const char *config_text) {
    brg_sim_ops.destroy(&sim);
    brg_store_destroy(&store);
    clear_pushes();
    open_store(0);
    start_sim(config_text);
}

static void book_account(FILE *out, const char *id) {
    Xtbridge__Account account = account_of(id);
    Xtbridge__AccountRequest a = XTBRIDGE__ACCOUNT_REQUEST__INIT;
    a.account = &account;
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    req.body_case = XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ASSET;
    req.query_stock_asset = &a;
    brg_call_t *call = run(&req);
    Xtbridge__XtAsset *as = brg_call_reply(call)->query_stock_asset->asset;
    fprintf(out, "asset %s cash %.17g frozen %.17g mv %.17g total %.17g\n", as->account_id,
            as->cash, as->frozen_cash, as->market_value, as->total_asset);
    brg_call_destroy(&call);

    Xtbridge__QueryStockOrdersRequest q = XTBRIDGE__QUERY_STOCK_ORDERS_REQUEST__INIT;
    q.account = &account;
    req.body_case = XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ORDERS;
    req.query_stock_orders = &q;
    call = run(&req);
    Xtbridge__OrdersReply *orders = brg_call_reply(call)->query_stock_orders;
    for (size_t i = 0; i < orders->n_orders; i++) {
        Xtbridge__XtOrder *o = orders->orders[i];
        fprintf(out,
                "order %lld sysid %s %s %s type %d vol %lld pt %d price %.17g traded %lld "
                "at %.17g status %d '%s' strat '%s' remark '%.40s' time %lld\n",
                (long long)o->order_id, o->order_sysid, o->stock_code, o->instrument_name,
                o->order_type, (long long)o->order_volume, o->price_type, o->price,
                (long long)o->traded_volume, o->traded_price, o->order_status, o->status_msg,
                o->strategy_name, o->order_remark, (long long)o->order_time);
    }
    brg_call_destroy(&call);

    req.body_case = XTBRIDGE__REQUEST__BODY_QUERY_STOCK_TRADES;
    req.query_stock_trades = &a;
    call = run(&req);
    Xtbridge__TradesReply *trades = brg_call_reply(call)->query_stock_trades;
    for (size_t i = 0; i < trades->n_trades; i++) {
        Xtbridge__XtTrade *t = trades->trades[i];
        fprintf(out,
                "trade %s order %lld sysid %s %s type %d price %.17g vol %lld amount %.17g "
                "fee %.17g time %lld\n",
                t->traded_id, (long long)t->order_id, t->order_sysid, t->stock_code, t->order_type,
                t->traded_price, (long long)t->traded_volume, t->traded_amount, t->commission,
                (long long)t->traded_time);
    }
    brg_call_destroy(&call);

    req.body_case = XTBRIDGE__REQUEST__BODY_QUERY_STOCK_POSITIONS;
    req.query_stock_positions = &a;
    call = run(&req);
    Xtbridge__PositionsReply *positions = brg_call_reply(call)->query_stock_positions;
    for (size_t i = 0; i < positions->n_positions; i++) {
        Xtbridge__XtPosition *p = positions->positions[i];
        fprintf(out,
                "position %s %s vol %lld can_use %lld frozen %lld yesterday %lld open %.17g "
                "avg %.17g mv %.17g last %.17g\n",
                p->stock_code, p->instrument_name, (long long)p->volume,
                (long long)p->can_use_volume, (long long)p->frozen_volume,
                (long long)p->yesterday_volume, p->open_price, p->avg_price, p->market_value,
                p->last_price);
    }
    brg_call_destroy(&call);
}

/* The whole book as text, every account in hello order (malloc'd). */
static char *book_text(void) {
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    cr_assert_not_null(out);
    Xtbridge__HelloReply hello = XTBRIDGE__HELLO_REPLY__INIT;
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    Xtbridge__NoArgsRequest none = XTBRIDGE__NO_ARGS_REQUEST__INIT;
    req.body_case = XTBRIDGE__REQUEST__BODY_QUERY_ACCOUNT_STATUS;
    req.query_account_status = &none;
    brg_call_t *call = run(&req);
    Xtbridge__AccountStatusReply *statuses = brg_call_reply(call)->query_account_status;
    brg_sim_ops.describe(sim, call, &hello);
    cr_assert_eq(hello.n_accounts, statuses->n_statuses);
    for (size_t i = 0; i < hello.n_accounts; i++) {
        fprintf(out, "account %s type %d status %d\n", hello.accounts[i]->account_id,
                hello.accounts[i]->account_type, statuses->statuses[i]->status);
        book_account(out, hello.accounts[i]->account_id);
    }
    brg_call_destroy(&call);
    fclose(out);
    return text;
}

#define DURABLE_CONFIG                                                                             \
    "sim\n"                                                                                        \
    "    account\n"                                                                                \
    "        id = 1000000365\n"                                                                    \
    "        cash = 1000000\n"                                                                     \
    "        position\n"                                                                           \
    "            code = 600000.SH\n"                                                               \
    "            volume = 1000\n"                                                                  \
    "            avg_price = 10.00\n"                                                              \
    "    price\n"                                                                                  \
    "        code = 000001.SZ\n"                                                                   \
    "        pre_close = 11.00\n"                                                                  \
    "        liquidity = 300\n"

Test(sim, durable_book_survives_restart) {
    teardown();
    start_stored(DURABLE_CONFIG, 0);

    cr_assert_eq(brg_store_begin(store), 0);
    int64_t buy = order("600000.SH", 23, 1000, 11, 10.50);         /* rests */
    int64_t part = order("000001.SZ", 23, 1000, 11, 11.00);        /* 300 fill */
    int64_t sell = order("600000.SH", 24, 500, 11, 10.70);         /* rests */
    cr_assert_eq(order_async("600000.SH", 23, 100, 11, 10.00), 1); /* order 4 */
    cr_assert_eq(cancel(4, true), 2);
    int64_t junk = order("600000.SH", 23, 150, 11, 10.50);
    cr_assert_eq(commit(), 0);
    cr_assert_eq(buy, 1);
    cr_assert_eq(part, 2);
    cr_assert_eq(sell, 3);
    cr_assert_eq(junk, 5);
    char *before = book_text();

    restart(DURABLE_CONFIG);
    char *after = book_text();
    cr_assert_str_eq(after, before);
    free(before);
    free(after);
    /* exact values, not only "the same as before" */
    double cash, frozen, mv, total;
    asset(&cash, &frozen, &mv, &total);
    /* freezes: 10505.11 (order 1) + 11005.11 (order 2), of which its 300 fill paid
       3300 + 5.00 + 0.03 */
    cr_assert_money(frozen, 10505.11 + 11005.11 - 3305.03);
    cr_assert_money(cash, 1000000 - 10505.11 - 11005.11);
    Xtbridge__OrdersReply *orders;
    brg_call_t *call = query_orders(false, &orders);
    cr_assert_eq(orders->n_orders, 5);
    const int32_t statuses[] = {50, 55, 50, 54, 57};
    const int64_t traded[] = {0, 300, 0, 0, 0};
    for (size_t i = 0; i < 5; i++) {
        cr_assert_eq(orders->orders[i]->order_id, (int64_t)i + 1);
        cr_assert_eq(orders->orders[i]->order_status, statuses[i], "order %zu", i + 1);
        cr_assert_eq(orders->orders[i]->traded_volume, traded[i], "order %zu", i + 1);
        cr_assert_str_eq(orders->orders[i]->strategy_name, "strat");
        cr_assert_str_eq(orders->orders[i]->order_remark, "remark");
    }
    cr_assert_str_eq(orders->orders[4]->status_msg, "volume 150 is not a multiple of 100");
    cr_assert_float_eq(orders->orders[1]->traded_price, 11.00, 1e-9);
    brg_call_destroy(&call);
    Xtbridge__XtPosition *p;
    call = position("600000.SH", &p);
    cr_assert_eq(p->volume, 1000);
    cr_assert_eq(p->can_use_volume, 500);
    cr_assert_eq(p->frozen_volume, 500);
    cr_assert_eq(p->yesterday_volume, 1000);
    brg_call_destroy(&call);
    call = position("000001.SZ", &p);
    cr_assert_eq(p->volume, 300);
    cr_assert_eq(p->can_use_volume, 0);
    cr_assert_eq(p->yesterday_volume, 0);
    cr_assert_float_eq(p->avg_price, 3305.03 / 300, 1e-9);
    brg_call_destroy(&call);

    /* the counters continue: order id 6, async seq 3, trade 2; resting orders still work */
    cr_assert_eq(brg_store_begin(store), 0);
    size_t mark = npushes;
    set_price("600000.SH", 10.40, 0, -1);
    expect_kinds(mark, "trade,order,position,asset");
    cr_assert_str_eq(pushes[mark].event->trade->traded_id, "50000002");
    cr_assert_eq(pushes[mark].event->trade->order_id, buy);
    cr_assert_money(pushes[mark + 3].event->asset->frozen_cash, 11005.11 - 3305.03);
    cr_assert_eq(order("600000.SH", 23, 100, 11, 10.00), 6);
    cr_assert_eq(order_async("600000.SH", 23, 100, 11, 10.00), 3);
    mark = npushes;
    cr_assert_eq(cancel(part, false), 0);
    expect_kinds(mark, "order,order,asset");
    expect_order_statuses(mark, "52,53");
    cr_assert_eq(commit(), 0);

    /* the day close, durable too: orders and trades gone, T+1 settled, pre_close rolled */
    cr_assert_eq(brg_store_begin(store), 0);
    cr_assert_eq(cancel(6, false), 0);
    cr_assert_eq(cancel(7, false), 0);
    next_day();
    cr_assert_eq(commit(), 0);
    before = book_text();
    restart(DURABLE_CONFIG);
    after = book_text();
    cr_assert_str_eq(after, before);
    free(before);
    free(after);
    call = query_orders(false, &orders);
    cr_assert_eq(orders->n_orders, 0);
    brg_call_destroy(&call);
    call = position("600000.SH", &p);
    cr_assert_eq(p->volume, 2000);
    cr_assert_eq(p->can_use_volume, 2000);
    cr_assert_eq(p->frozen_volume, 0);
    cr_assert_eq(p->yesterday_volume, 2000);
    brg_call_destroy(&call);
    call = position("000001.SZ", &p);
    cr_assert_eq(p->can_use_volume, 300);
    cr_assert_eq(p->yesterday_volume, 300);
    brg_call_destroy(&call);
    asset(&cash, &frozen, NULL, NULL);
    cr_assert_money(frozen, 0);
    /* paid: 3305.03 (000001.SZ) + 10500 + 5.00 + 0.11 (600000.SH at 10.50) */
    cr_assert_money(cash, 1000000 - 3305.03 - 10505.11);
    /* 600000.SH closed at 10.40: its new limit up is 11.44 */
    mark = npushes;
    cr_assert_eq(order("600000.SH", 23, 100, 11, 11.45), 8);
    expect_order_statuses(mark, "57");
    /* the sell of 500 at 10.70 expired: all 2000 are sellable */
    mark = npushes;
    order("600000.SH", 24, 2000, 11, 10.40);
    expect_order_statuses(mark, "48,50,56");
}

Test(sim, stored_book_wins_over_config) {
    teardown();
    start_stored("sim\n"
                 "    account\n"
                 "        id = A1\n"
                 "        cash = 50000\n"
                 "    price\n"
                 "        code = 601398.SH\n"
                 "        pre_close = 5.00\n",
                 0);
    cr_assert_eq(brg_store_begin(store), 0);
    cr_assert_eq(order_on("A1", "601398.SH", 23, 1000, 11, 5.00), 1);
    Xtbridge__SimSetAccountStatusRequest ss = XTBRIDGE__SIM_SET_ACCOUNT_STATUS_REQUEST__INIT;
    Xtbridge__Account a1 = account_of("A1");
    ss.account = &a1;
    ss.status = 3;
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    req.body_case = XTBRIDGE__REQUEST__BODY_SIM_SET_ACCOUNT_STATUS;
    req.sim_set_account_status = &ss;
    brg_call_t *call = run(&req);
    cr_assert_eq(brg_call_reply(call)->error->code, XTBRIDGE__ERROR_CODE__OK);
    brg_call_destroy(&call);
    cr_assert_eq(commit(), 0);

    /* the new config gives A1 other cash and a position, moves 601398.SH, adds A2 and a
       code: the store keeps A1's book and 601398.SH's price; A2 and the new code come in */
    restart("sim\n"
            "    account\n"
            "        id = A2\n"
            "        cash = 7000\n"
            "    account\n"
            "        id = A1\n"
            "        cash = 1\n"
            "        position\n"
            "            code = 600000.SH\n"
            "            volume = 100\n"
            "    price\n"
            "        code = 601398.SH\n"
            "        pre_close = 9.00\n"
            "    price\n"
            "        code = 000333.SZ\n"
            "        pre_close = 60\n");
    char *text = book_text();
    /* stored accounts first (their order), then the config's new ones */
    const char *expect_head = "account A1 type 2 status 3\n"
                              "asset A1 cash 44994.949999999997 frozen 0 mv 5000 total "
                              "49994.949999999997\n";
    cr_assert(strncmp(text, expect_head, strlen(expect_head)) == 0, "%s", text);
    cr_assert(strstr(text, "account A2 type 2 status 0\nasset A2 cash 7000 frozen 0 mv 0 total "
                           "7000\n"),
              "%s", text);
    cr_assert_null(strstr(text, "600000.SH"), "%s", text);
    free(text);
    /* 601398.SH keeps pre_close 5.00 (limit up 5.50), 000333.SZ is tradable at 60 */
    size_t mark = npushes;
    order_on("A1", "601398.SH", 23, 100, 11, 5.51);
    expect_order_statuses(mark, "57");
    mark = npushes;
    order_on("A2", "000333.SZ", 23, 100, 11, 60.00);
    expect_order_statuses(mark, "48,50,56");
    /* ids continue after the stored book's */
    cr_assert_eq(pushes[mark].event->order->order_id, 3);
}

Test(sim, restore_without_store_cannot_undo) {
    order("600000.SH", 23, 100, 11, 10.00);
    cr_assert_eq(brg_sim_ops.persist(sim), 0); /* nothing to write anywhere */
    cr_assert_eq(brg_sim_ops.restore(sim), -1);
    Xtbridge__XtOrder *o;
    brg_call_t *call = query_order(1, &o);
    cr_assert_not_null(o); /* the book is as it was */
    brg_call_destroy(&call);
}

Test(sim, restore_after_failed_first_batch_rebuilds_from_config) {
    teardown();
    start_stored(DURABLE_CONFIG, 0);
    char *initial = book_text();
    cr_assert_eq(brg_store_begin(store), 0);
    order("600000.SH", 23, 1000, 11, 10.50);
    order("600000.SH", 24, 500, 11, 10.40);
    next_day();
    cr_assert_eq(brg_sim_ops.persist(sim), 0);
    brg_store_fail_batch(store, "test: the batch fails");
    cr_assert_eq(brg_store_commit(store), -1);
    cr_assert_eq(brg_sim_ops.restore(sim), 0);
    char *text = book_text();
    cr_assert_str_eq(text, initial);
    free(text);
    /* nothing of the batch counted: ids start again at 1 */
    cr_assert_eq(brg_store_begin(store), 0);
    cr_assert_eq(order("600000.SH", 23, 100, 11, 10.00), 1);
    cr_assert_eq(commit(), 0);
    text = book_text();
    restart(DURABLE_CONFIG);
    char *after = book_text();
    cr_assert_str_eq(after, text);
    free(after);
    free(text);
    free(initial);
}

/* A 1 MiB store fills up: the failing batch (a price move, a cancel and a new order)
   is taken back by restore, and the book is exactly the last committed one. */
Test(sim, restore_after_store_full_returns_to_last_commit) {
    teardown();
    start_stored("sim\n"
                 "    account\n"
                 "        id = 1000000365\n"
                 "        cash = 100000000\n"
                 "        position\n"
                 "            code = 600000.SH\n"
                 "            volume = 1000\n"
                 "            avg_price = 10.00\n",
                 1);
    char remark[6001];
    memset(remark, 'r', sizeof remark - 1);
    remark[sizeof remark - 1] = 0;
    Xtbridge__Account account = account_of(ACCT);
    char *committed = NULL;
    int64_t last_id = 0;
    int failed_at = -1;
    for (int i = 0; i < 400 && failed_at < 0; i++) {
        cr_assert_eq(brg_store_begin(store), 0);
        set_price("600000.SH", 10.60 + 0.01 * (i % 50), 0, -1);
        if (last_id > 0)
            cr_assert_eq(cancel(last_id, false), 0);
        Xtbridge__OrderStockRequest o = order_req(&account, "600000.SH", 23, 100, 11, 9.60);
        o.order_remark = remark;
        Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
        req.body_case = XTBRIDGE__REQUEST__BODY_ORDER_STOCK;
        req.order_stock = &o;
        brg_call_t *call = run(&req);
        int64_t id = brg_call_reply(call)->order_stock->order_id;
        brg_call_destroy(&call);
        cr_assert_eq(id, i + 1);
        if (commit() != 0) {
            failed_at = i;
            break;
        }
        last_id = id;
        free(committed);
        committed = book_text();
        clear_pushes();
    }
    cr_assert_gt(failed_at, 5, "the store filled up too early (%d)", failed_at);
    cr_assert_not_null(committed);
    cr_assert_eq(brg_sim_ops.restore(sim), 0);
    char *text = book_text();
    cr_assert_str_eq(text, committed);
    free(text);
    /* the last committed order is open again, its freeze back; the next id is the failed
       batch's (it was never handed out) */
    Xtbridge__XtOrder *o;
    brg_call_t *call = query_order(last_id, &o);
    cr_assert_eq(o->order_status, 50);
    brg_call_destroy(&call);
    call = query_order(last_id + 1, &o);
    cr_assert_null(o);
    brg_call_destroy(&call);
    double frozen;
    asset(NULL, &frozen, NULL, NULL);
    cr_assert_money(frozen, 960 + 5.00 + 0.01);
    /* and the store still holds that book across a restart */
    free(committed);
    committed = book_text();
    brg_sim_ops.destroy(&sim);
    brg_store_destroy(&store);
    clear_pushes();
    open_store(1);
    start_sim("sim\n"
              "    account\n"
              "        id = 1000000365\n"
              "        cash = 100000000\n");
    text = book_text();
    cr_assert_str_eq(text, committed);
    free(text);
    free(committed);
}

/* The ST mark is part of a stored quote: after a restart whose config no longer marks the
   stock (the stored quote wins over the config's), the ±5% limit holds. */
Test(sim, st_mark_survives_restart) {
    teardown();
    start_stored("sim\n    price\n        code = 600002.SH\n        pre_close = 10.00\n"
                 "        st = 1\n",
                 0);
    cr_assert_eq(brg_store_begin(store), 0);
    order("600002.SH", 23, 100, 11, 10.50); /* a change, so the batch writes the book */
    cr_assert_eq(commit(), 0);
    restart("sim\n    price\n        code = 600002.SH\n        pre_close = 10.00\n");
    expect_junk("600002.SH", 23, 100, 11, 10.51, "price 10.51 outside price limits 9.50 - 10.50");
}

/* Re-encode a stored record in place. */
static ProtobufCMessage *stored_get(const ProtobufCMessageDescriptor *d, const uint8_t *key,
                                    size_t klen) {
    uint8_t *val = NULL;
    size_t len = 0;
    cr_assert_eq(brg_store_state_get(store, key, klen, &val, &len), 1);
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len, val);
    free(val);
    cr_assert_not_null(m);
    return m;
}

static void stored_put(ProtobufCMessage *m, const uint8_t *key, size_t klen) {
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = (uint8_t *)malloc(len + 1);
    protobuf_c_message_pack(m, buf);
    cr_assert_eq(brg_store_state_put(store, key, klen, buf, len), 0);
    free(buf);
    protobuf_c_message_free_unpacked(m, NULL);
}

/* Format 1 kept money in yuan doubles: such a book is read (each record converted to fen
   as it loads) and rewritten in fen as it changes; an unknown format is refused. */
Test(sim, format_1_book_in_yuan_is_converted) {
    teardown();
    start_stored(DURABLE_CONFIG, 0);
    cr_assert_eq(brg_store_begin(store), 0);
    cr_assert_eq(order("600000.SH", 23, 1000, 11, 10.50), 1); /* rests: 10505.11 frozen */
    cr_assert_eq(commit(), 0);

    /* turn the stored book into what a format-1 bridge wrote */
    cr_assert_eq(brg_store_begin(store), 0);
    uint8_t key[BRG_SIM_KEY_MAX];
    size_t klen = brg_sim_key_str(key, BRG_SIM_KEY_ACCOUNT, ACCT, NULL);
    Xtbridge__State__SimAccount *a = (Xtbridge__State__SimAccount *)stored_get(
        &xtbridge__state__sim_account__descriptor, key, klen);
    cr_assert_eq(a->cash_fen, 100000000 - 1050511);
    cr_assert_eq(a->frozen_fen, 1050511);
    a->cash = 1000000 - 10505.11;
    a->frozen = 10505.11;
    a->cash_fen = a->frozen_fen = 0;
    stored_put(&a->base, key, klen);
    klen = brg_sim_key_id(key, BRG_SIM_KEY_ORDER, 1);
    Xtbridge__State__SimOrder *o =
        (Xtbridge__State__SimOrder *)stored_get(&xtbridge__state__sim_order__descriptor, key, klen);
    o->freeze = o->freeze_left = 10505.11;
    o->freeze_fen = o->freeze_left_fen = 0;
    stored_put(&o->base, key, klen);
    Xtbridge__State__SimCounters *c = (Xtbridge__State__SimCounters *)stored_get(
        &xtbridge__state__sim_counters__descriptor, (const uint8_t *)BRG_SIM_KEY_COUNTERS, 1);
    cr_assert_eq(c->format, 2);
    c->format = 1;
    stored_put(&c->base, (const uint8_t *)BRG_SIM_KEY_COUNTERS, 1);
    cr_assert_eq(brg_store_commit(store), 0);

    restart(DURABLE_CONFIG);
    double cash, frozen;
    asset(&cash, &frozen, NULL, NULL);
    cr_assert_money(cash, 1000000 - 10505.11);
    cr_assert_money(frozen, 10505.11);
    /* its record holds the price type as sent (11): reported as the counter's 50 */
    Xtbridge__OrdersReply *orders;
    brg_call_t *call = query_orders(false, &orders);
    cr_assert_eq(orders->n_orders, 1);
    cr_assert_eq(orders->orders[0]->price_type, 50);
    cr_assert_eq(orders->orders[0]->requested_price_type, 11);
    brg_call_destroy(&call);
    /* the freeze came back from yuan to the fen: a cancel returns exactly all of it */
    cr_assert_eq(brg_store_begin(store), 0);
    cr_assert_eq(cancel(1, false), 0);
    cr_assert_eq(commit(), 0);
    asset(&cash, &frozen, NULL, NULL);
    cr_assert_money(cash, 1000000);
    cr_assert_money(frozen, 0);
    klen = brg_sim_key_str(key, BRG_SIM_KEY_ACCOUNT, ACCT, NULL);
    a = (Xtbridge__State__SimAccount *)stored_get(&xtbridge__state__sim_account__descriptor, key,
                                                  klen);
    cr_assert_eq(a->cash_fen, 100000000, "rewritten in fen");
    protobuf_c_message_free_unpacked(&a->base, NULL);

    /* a format this bridge does not know is refused, naming it */
    cr_assert_eq(brg_store_begin(store), 0);
    c = (Xtbridge__State__SimCounters *)stored_get(&xtbridge__state__sim_counters__descriptor,
                                                   (const uint8_t *)BRG_SIM_KEY_COUNTERS, 1);
    c->format = 3;
    stored_put(&c->base, (const uint8_t *)BRG_SIM_KEY_COUNTERS, 1);
    cr_assert_eq(brg_store_commit(store), 0);
    brg_sim_ops.destroy(&sim);
    brg_store_destroy(&store);
    open_store(0);
    char err[256] = "";
    cr_assert_null(make_sim(DURABLE_CONFIG, err, sizeof err));
    cr_assert_str_eq(err, "store: the stored sim book has format 3, this bridge reads formats 1 "
                          "and 2 (a newer bridge wrote it: run that one, or start on an empty "
                          "--data)");
}

/* ---- set_relaxed_response_order_enabled --------------------------------------------- */

static void set_relaxed(bool enabled) {
    Xtbridge__SetRelaxedResponseOrderEnabledRequest r =
        XTBRIDGE__SET_RELAXED_RESPONSE_ORDER_ENABLED_REQUEST__INIT;
    r.enabled = enabled;
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    req.body_case = XTBRIDGE__REQUEST__BODY_SET_RELAXED_RESPONSE_ORDER_ENABLED;
    req.set_relaxed_response_order_enabled = &r;
    brg_call_t *call = run(&req);
    cr_assert_eq(brg_call_reply(call)->error->code, XTBRIDGE__ERROR_CODE__OK);
    cr_assert_eq(brg_call_reply(call)->result_case,
                 XTBRIDGE__REPLY__RESULT_SET_RELAXED_RESPONSE_ORDER_ENABLED);
    brg_call_destroy(&call);
}

Test(sim, relaxed_response_order_lets_the_answer_come_after) {
    /* strict (default): the async answer precedes what the call causes */
    size_t mark = npushes;
    order_async("600000.SH", 23, 150, 11, 10.50);
    expect_kinds(mark, "order_async,order,order_error");

    /* relaxed: the answer comes after the order's own pushes, as from a response thread */
    set_relaxed(true);
    mark = npushes;
    int64_t seq = order_async("600000.SH", 23, 150, 11, 10.50);
    expect_kinds(mark, "order,order_error,order_async");
    cr_assert_eq(pushes[mark + 2].event->order_async->seq, seq);
    cr_assert_eq(pushes[mark + 1].event->order_error->seq, seq);
    mark = npushes;
    order_async("600000.SH", 23, 100, 11, 10.50); /* rests */
    expect_kinds(mark, "order,order,asset,order_async");
    int64_t resting = pushes[mark].event->order->order_id;
    mark = npushes;
    cancel(resting, true);
    expect_kinds(mark, "order,order,asset,cancel_async");
    mark = npushes;
    cancel(99999, true);
    expect_kinds(mark, "cancel_error,cancel_async");
    /* the FUTURE account's book answers in the same order (it used to ignore the flag) */
    mark = npushes;
    cancel_typed("1000000367", 1, 99999, true);
    expect_kinds(mark, "cancel_error,cancel_async");
    cr_assert_str_eq(pushes[mark].account, "1000000367");
    cr_assert_eq(pushes[mark].event->cancel_error->account_type, 1);
    mark = npushes;
    Xtbridge__Account other = account_of("42");
    Xtbridge__OrderStockRequest o = order_req(&other, "600000.SH", 23, 100, 11, 10.60);
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    req.body_case = XTBRIDGE__REQUEST__BODY_ORDER_STOCK_ASYNC;
    req.order_stock_async = &o;
    brg_call_t *call = run(&req);
    brg_call_destroy(&call);
    expect_kinds(mark, "order_error,order_async");

    /* and back to strict */
    set_relaxed(false);
    mark = npushes;
    order_async("600000.SH", 23, 150, 11, 10.50);
    expect_kinds(mark, "order_async,order,order_error");
    mark = npushes;
    cancel_typed("1000000367", 1, 99999, true);
    expect_kinds(mark, "cancel_async,cancel_error");
}

/* A store seeded with the defaults before the CREDIT account existed gets it, fresh. */
Test(sim, default_store_without_the_credit_account_gets_it) {
    teardown();
    start_stored(NULL, 0);
    cr_assert_eq(brg_store_begin(store), 0);
    cr_assert_eq(commit(), 0);
    /* what an older bridge stored: the STOCK account only */
    cr_assert_eq(brg_store_begin(store), 0);
    const char *prefixes[] = {BRG_SIM_KEY_ACCOUNT, "C/", "X/"};
    for (size_t i = 0; i < 3; i++) {
        uint8_t key[BRG_SIM_KEY_MAX];
        size_t klen = brg_sim_key_str(key, prefixes[i], "1208970161", NULL);
        cr_assert_eq(brg_store_state_del(store, key, klen), 0, "%s", prefixes[i]);
    }
    cr_assert_eq(brg_store_commit(store), 0);
    restart(NULL);
    Xtbridge__NoArgsRequest none = XTBRIDGE__NO_ARGS_REQUEST__INIT;
    Xtbridge__Request req = XTBRIDGE__REQUEST__INIT;
    req.body_case = XTBRIDGE__REQUEST__BODY_QUERY_ACCOUNT_INFOS;
    req.query_account_infos = &none;
    brg_call_t *call = run(&req);
    Xtbridge__AccountInfosReply *infos = brg_call_reply(call)->query_account_infos;
    cr_assert_eq(infos->n_accounts, 3);
    cr_assert_str_eq(infos->accounts[2]->account_id, "1208970161");
    cr_assert_eq(infos->accounts[2]->account_type, 3);
    brg_call_destroy(&call);
    /* (not committed) a config that lists accounts adds no default: the stored STOCK and
       FUTURE accounts stay, no CREDIT one appears */
    restart("sim\n    account\n        id = 1000000365\n");
    call = run(&req);
    cr_assert_eq(brg_call_reply(call)->query_account_infos->n_accounts, 2);
    brg_call_destroy(&call);
}

/* The stored order keeps the price type it was sent with (SimOrder.price_type, as before
   this field was reported differently); XtOrder reports the counter's code derived from
   it, in pushes and queries, before and after a restart (docs/protocol.md §6.5). */
Test(sim, price_type_is_the_counter_code_across_restart) {
    teardown();
    start_stored(DURABLE_CONFIG, 0);
    cr_assert_eq(brg_store_begin(store), 0);
    size_t mark = npushes;
    cr_assert_eq(order("600000.SH", 23, 100, 11, 10.00), 1); /* FIX_PRICE: rests */
    expect_kinds(mark, "order,order,asset");
    cr_assert_eq(pushes[mark + 1].event->order->price_type, 50);
    cr_assert_eq(pushes[mark + 1].event->order->requested_price_type, 11);
    cr_assert_eq(order("000001.SZ", 23, 100, 47, 0), 2); /* best 5 then cancel: fills */
    cr_assert_eq(order("600000.SH", 23, 100, 5, 0), 3);  /* LATEST_PRICE: fills */
    cr_assert_eq(commit(), 0);
    const int32_t sent[] = {11, 47, 5}, reported[] = {50, 88, 50}, status[] = {50, 56, 56};
    for (int64_t id = 1; id <= 3; id++) {
        uint8_t key[BRG_SIM_KEY_MAX];
        size_t klen = brg_sim_key_id(key, BRG_SIM_KEY_ORDER, id);
        Xtbridge__State__SimOrder *o = (Xtbridge__State__SimOrder *)stored_get(
            &xtbridge__state__sim_order__descriptor, key, klen);
        cr_assert_eq(o->price_type, sent[id - 1], "order %lld", (long long)id);
        protobuf_c_message_free_unpacked(&o->base, NULL);
    }
    restart(DURABLE_CONFIG);
    Xtbridge__OrdersReply *orders;
    brg_call_t *call = query_orders(false, &orders);
    cr_assert_eq(orders->n_orders, 3);
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(orders->orders[i]->order_status, status[i], "order %zu", i + 1);
        cr_assert_eq(orders->orders[i]->price_type, reported[i], "order %zu", i + 1);
        cr_assert_eq(orders->orders[i]->requested_price_type, sent[i], "order %zu", i + 1);
    }
    brg_call_destroy(&call);
    /* and a cancel after the restart still reports the counter code */
    cr_assert_eq(brg_store_begin(store), 0);
    mark = npushes;
    cr_assert_eq(cancel(1, false), 0);
    expect_kinds(mark, "order,order,asset");
    cr_assert_eq(pushes[mark + 1].event->order->order_status, 54);
    cr_assert_eq(pushes[mark + 1].event->order->price_type, 50);
    cr_assert_eq(commit(), 0);
}
