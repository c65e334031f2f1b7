/*  test_sim_credit.c - the sim's CREDIT account (brg_sim_credit), its transfers and
    ordinary counter (brg_sim_transfer), external deals and securities-lending appointments,
    end to end: the real `xtbridge` binary on fresh ipc:// endpoints, driven by the C client
    and by `xtbctl call`.

    Exact numbers throughout (default fees: commission 0.025 % min 5.00, transfer fee
    0.001 %, stamp duty 0.05 % on sells; financing 7.2 %/year and lending 9.0 %/year over
    360 days): a margin buy of 10,000.00 is a compact of 10,000.00, 10,000.00 less quota
    and 10,000.00 more debt; a day adds 2.00 interest; selling to repay and repaying
    directly clear it; a short sell holds its proceeds and buying to return frees them; a
    transfer moves money between both counters and creates none; a restart keeps every
    compact, appointment, deal and counter to the fen. Bad inputs get INVALID_ARGUMENT or
    a junk order / failure with the reason.
*/
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "testutil.h"
#include "xtb_client.h"

#define CREDIT "1208970161"
#define STOCK "1000000365"
#define FIX 11

static xtbt_bridge_t *s_bridge;
static xtb_client_t *s_client;

static void start(void) {
    s_bridge = xtbt_bridge_start(NULL, NULL);
    cr_assert_not_null(s_bridge, "xtbridge did not start (%s)", XTB_BRIDGE_BIN);
    s_client = xtbt_bridge_client(s_bridge);
}

static void stop(void) {
    xtb_client_destroy(&s_client);
    if (s_bridge) {
        int status = xtbt_bridge_stop(&s_bridge);
        cr_expect_eq(status, 0, "xtbridge exit status %d after SIGTERM", status);
    }
}

/* ---- request builders --------------------------------------------------------------- */

/* An AccountRequest call on `account` with account_type `type`. */
static Xtbridge__Request *acc_req(Xtbridge__Request__BodyCase body, const char *account,
                                  int32_t type) {
    Xtbridge__Request *req = xtb_req_account(body, account);
    cr_assert_not_null(req);
    /* every AccountRequest member of the oneof aliases the same pointer */
    req->query_credit_detail->account->account_type = type;
    return req;
}

static Xtbridge__Reply *credit_call(Xtbridge__Request__BodyCase body,
                                    Xtbridge__Reply__ResultCase result) {
    return xtbt_call_ok(s_client, acc_req(body, CREDIT, 3), result);
}

static int64_t order_on(const char *account, int32_t type, const char *code, int32_t order_type,
                        int64_t volume, double price) {
    Xtbridge__Request *req =
        xtb_req_order(account, code, order_type, volume, FIX, price, "t", "r", false);
    req->order_stock->account->account_type = type;
    Xtbridge__Reply *reply = xtbt_call_ok(s_client, req, XTBRIDGE__REPLY__RESULT_ORDER_STOCK);
    int64_t id = reply->order_stock->order_id;
    xtb_reply_destroy(&reply);
    return id;
}

static int64_t credit_order(const char *code, int32_t order_type, int64_t volume, double price) {
    return order_on(CREDIT, 3, code, order_type, volume, price);
}

/* The order's status and status_msg (copied into msg). */
static int32_t order_status(const char *account, int32_t type, int64_t order_id, char *msg,
                            size_t len) {
    Xtbridge__Request *req = xtb_req_query_order(account, order_id);
    req->query_stock_order->account->account_type = type;
    Xtbridge__Reply *reply = xtbt_call_ok(s_client, req, XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ORDER);
    cr_assert(reply->query_stock_order->found, "order %lld not found", (long long)order_id);
    int32_t status = reply->query_stock_order->order->order_status;
    if (msg)
        snprintf(msg, len, "%s", reply->query_stock_order->order->status_msg);
    xtb_reply_destroy(&reply);
    return status;
}

static void expect_junk(int64_t order_id, const char *reason) {
    char msg[256];
    cr_assert_gt(order_id, 0);
    cr_assert_eq(order_status(CREDIT, 3, order_id, msg, sizeof msg), 57, "order %lld: %s",
                 (long long)order_id, msg);
    cr_assert_str_eq(msg, reason);
}

static void sim_call(Xtbridge__Request *req, Xtbridge__Reply__ResultCase result) {
    Xtbridge__Reply *reply = xtbt_call_ok(s_client, req, result);
    xtb_reply_destroy(&reply);
}

static void set_price(const char *code, double last) {
    sim_call(xtb_req_sim_set_price(code, last, 0, -1), XTBRIDGE__REPLY__RESULT_SIM_SET_PRICE);
}

static void next_day(void) {
    sim_call(xtb_req_sim_next_day(), XTBRIDGE__REPLY__RESULT_SIM_NEXT_DAY);
}

/* The credit detail (a copy the caller frees with free()). */
static Xtbridge__XtCreditDetail detail(void) {
    Xtbridge__Reply *reply = credit_call(XTBRIDGE__REQUEST__BODY_QUERY_CREDIT_DETAIL,
                                         XTBRIDGE__REPLY__RESULT_QUERY_CREDIT_DETAIL);
    cr_assert_eq(reply->query_credit_detail->n_details, 1);
    Xtbridge__XtCreditDetail d = *reply->query_credit_detail->details[0];
    d.account_id = NULL; /* borrowed: gone with the reply */
    xtb_reply_destroy(&reply);
    return d;
}

static double cash_of(const char *account, int32_t type) {
    Xtbridge__Reply *reply =
        xtbt_call_ok(s_client, acc_req(XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ASSET, account, type),
                     XTBRIDGE__REPLY__RESULT_QUERY_STOCK_ASSET);
    cr_assert(reply->query_stock_asset->found);
    double cash = reply->query_stock_asset->asset->cash;
    xtb_reply_destroy(&reply);
    return cash;
}

#define MONEY_EQ(a, b) cr_assert(xtbt_money_eq((a), (b)), "%s = %.4f, expected %.4f", #a, (a), (b))

static Xtbridge__Request *fund_transfer_req(const char *account, int32_t type, int32_t direction,
                                            double amount) {
    Xtbridge__Request *req = xtb_req_account(XTBRIDGE__REQUEST__BODY_QUERY_STOCK_ASSET, account);
    Xtbridge__Account *acc = req->query_stock_asset->account;
    req->query_stock_asset->account = NULL;
    xtbridge__account_request__free_unpacked(req->query_stock_asset, NULL);
    acc->account_type = type;
    Xtbridge__FundTransferRequest *f = malloc(sizeof *f);
    xtbridge__fund_transfer_request__init(f);
    f->account = acc;
    f->transfer_direction = direction;
    f->price = amount;
    req->body_case = XTBRIDGE__REQUEST__BODY_FUND_TRANSFER;
    req->fund_transfer = f;
    return req;
}

/* fund_transfer: success, msg copied. */
static bool transfer(const char *account, int32_t type, int32_t direction, double amount, char *msg,
                     size_t len) {
    Xtbridge__Reply *reply =
        xtbt_call_ok(s_client, fund_transfer_req(account, type, direction, amount),
                     XTBRIDGE__REPLY__RESULT_FUND_TRANSFER);
    bool ok = reply->fund_transfer->success;
    snprintf(msg, len, "%s", reply->fund_transfer->msg);
    xtb_reply_destroy(&reply);
    return ok;
}

static double com_cash(const char *account, int32_t type) {
    Xtbridge__Reply *reply =
        xtbt_call_ok(s_client, acc_req(XTBRIDGE__REQUEST__BODY_QUERY_COM_FUND, account, type),
                     XTBRIDGE__REPLY__RESULT_QUERY_COM_FUND);
    cr_assert(reply->query_com_fund->fund->success);
    double cash = reply->query_com_fund->fund->currentbalance;
    xtb_reply_destroy(&reply);
    return cash;
}

/* sync_transaction_from_external with n deals; the result JSON copied into out. */
static void sync_deals(const char *op, const char *data_type, const char *const *deals, size_t n,
                       const char *account, char *out, size_t len) {
    Xtbridge__Request *req = fund_transfer_req(account, 3, 510, 1);
    Xtbridge__Account *acc = req->fund_transfer->account;
    req->fund_transfer->account = NULL;
    xtbridge__fund_transfer_request__free_unpacked(req->fund_transfer, NULL);
    Xtbridge__SyncTransactionFromExternalRequest *s = malloc(sizeof *s);
    xtbridge__sync_transaction_from_external_request__init(s);
    s->operation = strdup(op);
    s->data_type = strdup(data_type);
    s->account = acc;
    s->deal_list_json = calloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        s->deal_list_json[i] = strdup(deals[i]);
    s->n_deal_list_json = n;
    req->body_case = XTBRIDGE__REQUEST__BODY_SYNC_TRANSACTION_FROM_EXTERNAL;
    req->sync_transaction_from_external = s;
    Xtbridge__Reply *reply =
        xtbt_call_ok(s_client, req, XTBRIDGE__REPLY__RESULT_SYNC_TRANSACTION_FROM_EXTERNAL);
    snprintf(out, len, "%s", reply->sync_transaction_from_external->json);
    xtb_reply_destroy(&reply);
}

static Xtbridge__Request *smt_req(const char *code, int64_t date, int64_t amount, double rate,
                                  const char *dict_json) {
    Xtbridge__Request *req = fund_transfer_req(CREDIT, 3, 510, 1);
    Xtbridge__Account *acc = req->fund_transfer->account;
    req->fund_transfer->account = NULL;
    xtbridge__fund_transfer_request__free_unpacked(req->fund_transfer, NULL);
    Xtbridge__SmtNegotiateOrderAsyncRequest *s = malloc(sizeof *s);
    xtbridge__smt_negotiate_order_async_request__init(s);
    s->account = acc;
    s->src_group_id = strdup("");
    s->order_code = strdup(code);
    s->date = date;
    s->amount = amount;
    s->apply_rate = rate;
    s->dict_param_json = strdup(dict_json);
    req->body_case = XTBRIDGE__REQUEST__BODY_SMT_NEGOTIATE_ORDER_ASYNC;
    req->smt_negotiate_order_async = s;
    return req;
}

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

/* ---- the account --------------------------------------------------------------------- */

Test(credit, default_account_listed_with_its_status_push, .init = start, .fini = stop,
     .timeout = 60) {
    Xtbridge__Reply *reply =
        xtbt_call_ok(s_client, xtb_req_noargs(XTBRIDGE__REQUEST__BODY_QUERY_ACCOUNT_INFOS),
                     XTBRIDGE__REPLY__RESULT_QUERY_ACCOUNT_INFOS);
    Xtbridge__AccountInfosReply *infos = reply->query_account_infos;
    bool found = false;
    for (size_t i = 0; i < infos->n_accounts; i++)
        if (strcmp(infos->accounts[i]->account_id, CREDIT) == 0) {
            found = true;
            cr_assert_eq(infos->accounts[i]->account_type, 3);
            cr_assert_eq(infos->accounts[i]->broker_type, 3);
        }
    cr_assert(found, "credit account %s not listed", CREDIT);
    xtb_reply_destroy(&reply);

    /* its own account_status push at start, in the journal */
    const char *topic = "account_status." CREDIT ".";
    reply = xtbt_call_ok(s_client, xtb_req_replay(topic, NULL, NULL, 0, 0),
                         XTBRIDGE__REPLY__RESULT_REPLAY);
    cr_assert_eq(reply->replay->n_events, 1);
    cr_assert_eq(reply->replay->events[0]->account_status->account_type, 3);
    cr_assert_eq(reply->replay->events[0]->account_status->status, 0);
    xtb_reply_destroy(&reply);

    /* and a fresh credit book: full quotas, no debt */
    Xtbridge__XtCreditDetail d = detail();
    MONEY_EQ(d.m_davailable, 1000000.00);
    MONEY_EQ(d.m_dfinmaxquota, 1000000.00);
    MONEY_EQ(d.m_dfinenablequota, 1000000.00);
    MONEY_EQ(d.m_dslomaxquota, 500000.00);
    MONEY_EQ(d.m_dsloenablequota, 500000.00);
    MONEY_EQ(d.m_dtotaldebt, 0);
    cr_assert_eq(d.m_dperassurescalevalue, 0.0);

    /* its status is its own: a CLOSED credit account refuses orders, the stock one trades */
    Xtbridge__Request *st = xtb_req_sim_set_account_status(CREDIT, 6);
    st->sim_set_account_status->account->account_type = 3;
    sim_call(st, XTBRIDGE__REPLY__RESULT_SIM_SET_ACCOUNT_STATUS);
    expect_junk(credit_order("600000.SH", 27, 100, 10.60),
                "account status 6 (CLOSED) is not OK: no orders");
    char msg[256];
    int64_t id = order_on(STOCK, 2, "600000.SH", 23, 100, 10.60);
    cr_assert_eq(order_status(STOCK, 2, id, msg, sizeof msg), 56, "%s", msg);
    reply = xtbt_call_ok(s_client, xtb_req_replay(topic, NULL, NULL, 0, 0),
                         XTBRIDGE__REPLY__RESULT_REPLAY);
    cr_assert_eq(reply->replay->n_events, 2);
    cr_assert_eq(reply->replay->events[1]->account_status->status, 6);
    xtb_reply_destroy(&reply);
    cr_assert_eq(detail().m_nstatus, 6);
}

/* ---- margin buy -> compact, quota, debt, ratio; interest; repayments ------------------ */

Test(credit, margin_buy_compact_quota_debt_ratio_interest_and_repayments, .init = start,
     .fini = stop, .timeout = 60) {
    set_price("600000.SH", 10.00);
    int64_t id = credit_order("600000.SH", 27, 1000, 10.00);
    char msg[256];
    cr_assert_eq(order_status(CREDIT, 3, id, msg, sizeof msg), 56, "%s", msg);

    Xtbridge__Reply *reply = credit_call(XTBRIDGE__REQUEST__BODY_QUERY_STK_COMPACTS,
                                         XTBRIDGE__REPLY__RESULT_QUERY_STK_COMPACTS);
    cr_assert_eq(reply->query_stk_compacts->n_compacts, 1);
    Xtbridge__StkCompacts *c = reply->query_stk_compacts->compacts[0];
    cr_assert_eq(c->compact_type, 0);
    cr_assert_eq(c->cashgroup_prop, 0);
    cr_assert_eq(c->exchange_id, 0);
    cr_assert_eq(c->open_date, 20260105);
    cr_assert_eq(c->ret_end_date, 20260706);
    cr_assert_eq(c->business_vol, 1000);
    cr_assert_eq(c->real_compact_vol, 1000);
    MONEY_EQ(c->business_balance, 10000.00);
    MONEY_EQ(c->real_compact_balance, 10000.00);
    MONEY_EQ(c->real_compact_fare, 0);
    cr_assert_str_eq(c->instrument_id, "600000.SH");
    cr_assert_str_eq(c->compact_id, "RZ000001");
    xtb_reply_destroy(&reply);

    /* fees 5.00 commission + 0.10 transfer fee are paid in cash; the amount is financed */
    Xtbridge__XtCreditDetail d = detail();
    MONEY_EQ(d.m_davailable, 999994.90);
    MONEY_EQ(d.m_dmarketvalue, 10000.00);
    MONEY_EQ(d.m_dfinenablequota, 990000.00);
    MONEY_EQ(d.m_dfinusedquota, 0);
    MONEY_EQ(d.m_dfindebt, 10000.00);
    MONEY_EQ(d.m_dfindealavl, 10000.00);
    MONEY_EQ(d.m_dtotaldebt, 10000.00);
    MONEY_EQ(d.m_dbalance, 1009994.90);
    MONEY_EQ(d.m_dassureasset, 999994.90);
    cr_assert(fabs(d.m_dperassurescalevalue - 1009994.90 / 10000.00) < 1e-9, "ratio %.10f",
              d.m_dperassurescalevalue);
    /* withdrawable keeps 300 %: 1009994.90 - 3 x 10000 */
    MONEY_EQ(d.m_dfetchbalance, 979994.90);

    /* a day of interest: 10000 x 7.2 % / 360 = 2.00 */
    next_day();
    d = detail();
    MONEY_EQ(d.m_dfinfee, 2.00);
    MONEY_EQ(d.m_dfindebt, 10002.00);
    MONEY_EQ(d.m_dfinenablequota, 990000.00);

    /* sell to repay: 10000 - 5.00 - 5.00 stamp - 0.10 = 9989.90 repays 2.00 interest, then
       9987.90 principal; nothing reaches cash */
    id = credit_order("600000.SH", 31, 1000, 10.00);
    cr_assert_eq(order_status(CREDIT, 3, id, msg, sizeof msg), 56, "%s", msg);
    d = detail();
    MONEY_EQ(d.m_davailable, 999994.90);
    MONEY_EQ(d.m_dfinfee, 0);
    MONEY_EQ(d.m_dfindebt, 12.10);
    MONEY_EQ(d.m_dfinenablequota, 999987.90);
    MONEY_EQ(d.m_dmarketvalue, 0);

    /* repaying more than owed is a junk order with the reason; the rest in cash clears it */
    expect_junk(credit_order("600000.SH", 32, 1, 20.00),
                "repay 20.00 exceeds the financing debt 12.10");
    id = credit_order("600000.SH", 32, 1, 12.10);
    cr_assert_eq(order_status(CREDIT, 3, id, msg, sizeof msg), 56, "%s", msg);
    d = detail();
    MONEY_EQ(d.m_davailable, 999982.80);
    MONEY_EQ(d.m_dfindebt, 0);
    MONEY_EQ(d.m_dfinenablequota, 1000000.00);
    reply = credit_call(XTBRIDGE__REQUEST__BODY_QUERY_STK_COMPACTS,
                        XTBRIDGE__REPLY__RESULT_QUERY_STK_COMPACTS);
    c = reply->query_stk_compacts->compacts[0];
    MONEY_EQ(c->real_compact_balance, 0);
    MONEY_EQ(c->repaid_balance, 10000.00);
    MONEY_EQ(c->repaid_fare, 2.00);
    MONEY_EQ(c->businessfare, 2.00);
    xtb_reply_destroy(&reply);
    expect_junk(credit_order("600000.SH", 32, 1, 1.00),
                "repay 1.00 exceeds the financing debt 0.00");

    /* a repaid compact is closed at the day's end */
    next_day();
    reply = credit_call(XTBRIDGE__REQUEST__BODY_QUERY_STK_COMPACTS,
                        XTBRIDGE__REPLY__RESULT_QUERY_STK_COMPACTS);
    cr_assert_eq(reply->query_stk_compacts->n_compacts, 0);
    xtb_reply_destroy(&reply);
}

Test(credit, resting_margin_buy_holds_quota_until_cancelled, .init = start, .fini = stop,
     .timeout = 60) {
    /* last 10.60: a buy at 10.00 rests and holds 10000.00 of the quota (special quota: 40) */
    int64_t id = credit_order("600000.SH", 40, 1000, 10.00);
    char msg[256];
    cr_assert_eq(order_status(CREDIT, 3, id, msg, sizeof msg), 50, "%s", msg);
    Xtbridge__XtCreditDetail d = detail();
    MONEY_EQ(d.m_dfinusedquota, 10000.00);
    MONEY_EQ(d.m_dfinenablequota, 990000.00);
    MONEY_EQ(d.m_dfindebt, 0);
    MONEY_EQ(d.m_dfrozencash, 5.10); /* only the fees are frozen in cash */
    Xtbridge__Request *cancel = xtb_req_cancel(CREDIT, id, false);
    cancel->cancel_order_stock->account->account_type = 3;
    Xtbridge__Reply *reply =
        xtbt_call_ok(s_client, cancel, XTBRIDGE__REPLY__RESULT_CANCEL_ORDER_STOCK);
    cr_assert_eq(reply->cancel_order_stock->result, 0);
    xtb_reply_destroy(&reply);
    d = detail();
    MONEY_EQ(d.m_dfinusedquota, 0);
    MONEY_EQ(d.m_dfinenablequota, 1000000.00);
    MONEY_EQ(d.m_dfrozencash, 0);
    MONEY_EQ(d.m_davailable, 1000000.00);

    /* the special variant's compact is on the special quota (cashgroup_prop 1) */
    set_price("600000.SH", 10.00);
    id = credit_order("600000.SH", 40, 100, 10.00);
    reply = credit_call(XTBRIDGE__REQUEST__BODY_QUERY_STK_COMPACTS,
                        XTBRIDGE__REPLY__RESULT_QUERY_STK_COMPACTS);
    cr_assert_eq(reply->query_stk_compacts->n_compacts, 1);
    cr_assert_eq(reply->query_stk_compacts->compacts[0]->cashgroup_prop, 1);
    MONEY_EQ(reply->query_stk_compacts->compacts[0]->business_balance, 1000.00);
    xtb_reply_destroy(&reply);
}

/* ---- short sell, buy to return, direct return ---------------------------------------- */

Test(credit, short_sell_buy_to_return_and_direct_return, .init = start, .fini = stop,
     .timeout = 60) {
    /* 500 @ 10.60: proceeds 5300.00 less 5.00 + 2.65 stamp + 0.05 = 5292.30 held */
    int64_t id = credit_order("600000.SH", 28, 500, 10.60);
    char msg[256];
    cr_assert_eq(order_status(CREDIT, 3, id, msg, sizeof msg), 56, "%s", msg);
    Xtbridge__XtCreditDetail d = detail();
    MONEY_EQ(d.m_davailable, 1000000.00);
    MONEY_EQ(d.m_dslosellbalance, 5292.30);
    MONEY_EQ(d.m_dslomarketvalue, 5300.00);
    MONEY_EQ(d.m_dslodebt, 5300.00);
    MONEY_EQ(d.m_dsloenablequota, 494700.00);
    MONEY_EQ(d.m_dbalance, 1005292.30);

    Xtbridge__Reply *reply = credit_call(XTBRIDGE__REQUEST__BODY_QUERY_STK_COMPACTS,
                                         XTBRIDGE__REPLY__RESULT_QUERY_STK_COMPACTS);
    cr_assert_eq(reply->query_stk_compacts->n_compacts, 1);
    Xtbridge__StkCompacts *c = reply->query_stk_compacts->compacts[0];
    cr_assert_eq(c->compact_type, 1);
    cr_assert_eq(c->business_vol, 500);
    cr_assert_eq(c->real_compact_vol, 500);
    MONEY_EQ(c->business_balance, 5300.00);
    xtb_reply_destroy(&reply);

    /* the lendable count went down by what was borrowed */
    reply = credit_call(XTBRIDGE__REQUEST__BODY_QUERY_CREDIT_SLO_CODE,
                        XTBRIDGE__REPLY__RESULT_QUERY_CREDIT_SLO_CODE);
    bool seen = false;
    for (size_t i = 0; i < reply->query_credit_slo_code->n_slo_codes; i++) {
        Xtbridge__CreditSloCode *s = reply->query_credit_slo_code->slo_codes[i];
        if (strcmp(s->instrument_id, "600000.SH") == 0) {
            cr_assert_eq(s->enable_amount, 99500);
            seen = true;
        }
    }
    cr_assert(seen);
    xtb_reply_destroy(&reply);

    expect_junk(credit_order("600000.SH", 28, 100, 10.50),
                "short sell price 10.50 is below the last price 10.60");
    expect_junk(credit_order("600000.SH", 29, 600, 10.60), "buy to return 600 600000.SH: owed 500");
    expect_junk(credit_order("600000.SH", 30, 100, 10.60), "return 100 600000.SH: sellable 0");

    /* buy 300 to return: 3180.00 + 5.00 + 0.03 from cash; frees 3/5 of the proceeds
       (3175.38) */
    id = credit_order("600000.SH", 29, 300, 10.60);
    cr_assert_eq(order_status(CREDIT, 3, id, msg, sizeof msg), 56, "%s", msg);
    d = detail();
    MONEY_EQ(d.m_davailable, 1000000.00 - 3185.03 + 3175.38);
    MONEY_EQ(d.m_dslosellbalance, 5292.30 - 3175.38);
    MONEY_EQ(d.m_dslomarketvalue, 2120.00);
    MONEY_EQ(d.m_dmarketvalue, 0); /* the bought shares went to the lender */

    /* hold 200 shares (collateral buy), then return them directly the next day */
    id = credit_order("600000.SH", 23, 200, 10.60);
    cr_assert_eq(order_status(CREDIT, 3, id, msg, sizeof msg), 56, "%s", msg);
    next_day(); /* a day of lending interest on 2120.00: 0.53 */
    d = detail();
    MONEY_EQ(d.m_dslofee, 0.53);
    double cash = d.m_davailable;
    /* held shares, but no financing to repay */
    expect_junk(credit_order("600000.SH", 31, 100, 10.60), "no financing debt to repay");
    id = credit_order("600000.SH", 30, 200, 10.60);
    cr_assert_eq(order_status(CREDIT, 3, id, msg, sizeof msg), 56, "%s", msg);
    d = detail();
    MONEY_EQ(d.m_dslomarketvalue, 0);
    MONEY_EQ(d.m_dslosellbalance, 0);
    MONEY_EQ(d.m_dslodebt, 0);
    MONEY_EQ(d.m_dmarketvalue, 0);
    MONEY_EQ(d.m_davailable, cash + 2116.92 - 0.53); /* freed proceeds less the interest */
    MONEY_EQ(d.m_dsloenablequota, 500000.00);
}

/* ---- transfers ------------------------------------------------------------------------ */

Test(credit, fund_transfer_moves_money_between_both_counters, .init = start, .fini = stop,
     .timeout = 60) {
    char msg[256];
    cr_assert(transfer(CREDIT, 3, 510, 1000.00, msg, sizeof msg), "%s", msg);
    cr_assert_str_eq(msg, "transferred 1000.00 from the ordinary counter");
    MONEY_EQ(cash_of(CREDIT, 3), 1001000.00);
    MONEY_EQ(com_cash(CREDIT, 3), 99000.00);

    cr_assert(transfer(CREDIT, 3, 511, 2500.50, msg, sizeof msg), "%s", msg);
    MONEY_EQ(cash_of(CREDIT, 3), 998499.50);
    MONEY_EQ(com_cash(CREDIT, 3), 101500.50);

    /* to the other node and back, never more than is there */
    cr_assert(transfer(CREDIT, 3, 512, 500.00, msg, sizeof msg), "%s", msg);
    cr_assert_not(transfer(CREDIT, 3, 513, 600.00, msg, sizeof msg));
    cr_assert_str_eq(msg, "insufficient funds on the SZ node: transfer 600.00, available 500.00");
    cr_assert(transfer(CREDIT, 3, 513, 500.00, msg, sizeof msg), "%s", msg);
    MONEY_EQ(cash_of(CREDIT, 3), 998499.50);
    cr_assert_not(transfer(CREDIT, 3, 510, 200000.00, msg, sizeof msg));
    cr_assert_str_eq(msg,
                     "insufficient funds on the ordinary counter: transfer 200000.00, available "
                     "101500.50");
    /* money is conserved: account + ordinary counter */
    MONEY_EQ(cash_of(CREDIT, 3) + com_cash(CREDIT, 3), 1100000.00);

    /* a STOCK account transfers the same way; its ordinary counter is its own */
    cr_assert(transfer(STOCK, 2, 511, 100.00, msg, sizeof msg), "%s", msg);
    MONEY_EQ(cash_of(STOCK, 2), 999900.00);
    MONEY_EQ(com_cash(STOCK, 2), 100100.00);
    MONEY_EQ(com_cash(CREDIT, 3), 101500.50);

    /* a credit account in debt keeps its maintenance ratio: at most balance - 3 x debt */
    set_price("600000.SH", 10.00);
    credit_order("600000.SH", 27, 10000, 10.00); /* 100000.00 financed */
    Xtbridge__XtCreditDetail d = detail();
    cr_assert_not(transfer(CREDIT, 3, 511, 900000.00, msg, sizeof msg));
    char want[200];
    snprintf(want, sizeof want, "insufficient funds: transfer 900000.00, transferable %.2f",
             d.m_dfetchbalance);
    cr_assert_str_eq(msg, want);

    /* the other side's holdings */
    Xtbridge__Reply *reply =
        xtbt_call_ok(s_client, acc_req(XTBRIDGE__REQUEST__BODY_QUERY_COM_POSITION, CREDIT, 3),
                     XTBRIDGE__REPLY__RESULT_QUERY_COM_POSITION);
    cr_assert_eq(reply->query_com_position->n_positions, 1);
    Xtbridge__ComPosition *p = reply->query_com_position->positions[0];
    cr_assert_str_eq(p->stockcode, "000001.SZ");
    cr_assert_eq(p->totalamt, 1000);
    MONEY_EQ(p->lastprice, 11.00);
    MONEY_EQ(p->marketvalue, 11000.00);
    MONEY_EQ(p->income, 1000.00);
    xtb_reply_destroy(&reply);
}

Test(credit, fund_transfer_bad_inputs, .init = start, .fini = stop, .timeout = 60) {
    struct {
        int32_t direction;
        double amount;
        const char *text;
    } bad[] = {
        {510, -5.0, "must be a number > 0"},
        {510, 0.0, "must be a number > 0"},
        {510, NAN, "must be a number > 0"},
        {510, 1.005, "not a whole number of fen"},
        {520, 10.0, "transfer_direction 520 is not a fund transfer"},
        {0, 10.0, "transfer_direction 0 is not a fund transfer"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        Xtbridge__Reply *reply =
            xtbt_call(s_client, fund_transfer_req(CREDIT, 3, bad[i].direction, bad[i].amount));
        cr_assert_eq(reply->error->code, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT, "case %zu", i);
        cr_assert(strstr(reply->error->message, bad[i].text), "case %zu: %s", i,
                  reply->error->message);
        xtb_reply_destroy(&reply);
    }
    char msg[256];
    cr_assert_not(transfer("42", 3, 510, 10.0, msg, sizeof msg));
    cr_assert_str_eq(msg, "unknown account 42; have 1000000365, 1000000367, 1208970161");
    /* the ordinary counter of an unknown account: success false with the reason */
    Xtbridge__Reply *reply =
        xtbt_call_ok(s_client, acc_req(XTBRIDGE__REQUEST__BODY_QUERY_COM_FUND, "42", 3),
                     XTBRIDGE__REPLY__RESULT_QUERY_COM_FUND);
    cr_assert_not(reply->query_com_fund->fund->success);
    cr_assert_str_eq(reply->query_com_fund->fund->erro,
                     "unknown account 42; have 1000000365, 1000000367, 1208970161");
    xtb_reply_destroy(&reply);
    reply = xtbt_call_ok(s_client, acc_req(XTBRIDGE__REQUEST__BODY_QUERY_COM_POSITION, "42", 3),
                         XTBRIDGE__REPLY__RESULT_QUERY_COM_POSITION);
    cr_assert_eq(reply->query_com_position->n_positions, 0);
    xtb_reply_destroy(&reply);
    MONEY_EQ(cash_of(CREDIT, 3), 1000000.00);
    MONEY_EQ(com_cash(CREDIT, 3), 100000.00);
}

/* ---- broker rejections and bad arguments ---------------------------------------------- */

Test(credit, rejections_and_invalid_arguments, .init = start, .fini = stop, .timeout = 60) {
    /* credit order types on a STOCK account */
    int64_t id = order_on(STOCK, 2, "600000.SH", 27, 100, 10.60);
    char msg[256];
    cr_assert_eq(order_status(STOCK, 2, id, msg, sizeof msg), 57);
    cr_assert_str_eq(msg, "order type 27 not supported on a STOCK account");
    /* futures types on the CREDIT account */
    expect_junk(credit_order("600000.SH", 0, 100, 10.60),
                "order type 0 not supported on a CREDIT account");
    expect_junk(credit_order("430047.BJ", 23, 100, 10.00),
                "430047.BJ is not collateral on this credit account: no collateral buy");
    expect_junk(credit_order("000002.SZ", 27, 100, 7.00), "000002.SZ is not a margin-buy subject");
    expect_junk(credit_order("000002.SZ", 28, 100, 7.00), "000002.SZ is not a short-sell subject");
    expect_junk(credit_order("600519.SH", 27, 1000, 1500.00),
                "insufficient financing quota: need 1500000.00, available 1000000.00");
    expect_junk(credit_order("600519.SH", 28, 11000, 1500.00),
                "insufficient lendable shares of 600519.SH: sell 11000, lendable 10000");
    expect_junk(credit_order("600000.SH", 31, 100, 10.60),
                "insufficient shares: sell 100, sellable 0");
    expect_junk(credit_order("600000.SH", 24, 100, 10.60),
                "insufficient shares: sell 100, sellable 0");
    expect_junk(credit_order("600000.SH", 32, 1, 0.00),
                "repay amount (order_volume x price) must be > 0");

    expect_junk(credit_order("600000.SH", 32, 1000000, 1e8),
                "repay amount 100000000000000.00 (order_volume x price) is too large");
    Xtbridge__Request *huge =
        xtb_req_order(CREDIT, "600000.SH", 27, 2000000000000LL, FIX, 10.60, "t", "r", false);
    huge->order_stock->account->account_type = 3;
    Xtbridge__Reply *refused = xtbt_call(s_client, huge);
    cr_assert_eq(refused->error->code, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT);
    cr_assert_str_eq(refused->error->message,
                     "order_volume 2000000000000 is over the limit of 1000000000000");
    xtb_reply_destroy(&refused);
    /* over the sim's highest price: refused before any amount is computed (a fuzzer's 1e300
       last price overflowed a market order's amount) */
    Xtbridge__Request *dear =
        xtb_req_order(CREDIT, "600000.SH", 32, 1000000, FIX, 1e12, "t", "r", false);
    dear->order_stock->account->account_type = 3;
    refused = xtbt_call(s_client, dear);
    cr_assert_eq(refused->error->code, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT);
    cr_assert_str_eq(refused->error->message, "price must be a finite number from 0 to 100000000");
    xtb_reply_destroy(&refused);

    /* credit queries need a CREDIT account; an unknown one has nothing */
    Xtbridge__Request__BodyCase bodies[] = {
        XTBRIDGE__REQUEST__BODY_QUERY_CREDIT_DETAIL,
        XTBRIDGE__REQUEST__BODY_QUERY_STK_COMPACTS,
        XTBRIDGE__REQUEST__BODY_QUERY_CREDIT_SUBJECTS,
        XTBRIDGE__REQUEST__BODY_QUERY_CREDIT_SLO_CODE,
        XTBRIDGE__REQUEST__BODY_QUERY_CREDIT_ASSURE,
        XTBRIDGE__REQUEST__BODY_SMT_QUERY_QUOTER,
        XTBRIDGE__REQUEST__BODY_SMT_QUERY_COMPACT,
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        Xtbridge__Reply *reply = xtbt_call(s_client, acc_req(bodies[i], STOCK, 2));
        cr_assert_eq(reply->error->code, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT, "%s",
                     xtb_request_body_name(bodies[i]));
        cr_assert(strstr(reply->error->message, "needs a CREDIT account (account_type 3)"), "%s",
                  reply->error->message);
        xtb_reply_destroy(&reply);
        reply = xtbt_call(s_client, acc_req(bodies[i], "42", 3));
        cr_assert_eq(reply->error->code, XTBRIDGE__ERROR_CODE__OK);
        xtb_reply_destroy(&reply);
    }
    Xtbridge__Reply *reply =
        xtbt_call(s_client, acc_req(XTBRIDGE__REQUEST__BODY_QUERY_CREDIT_DETAIL, "no.dots", 3));
    cr_assert_eq(reply->error->code, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT);
    xtb_reply_destroy(&reply);

    /* nothing of it changed the book */
    Xtbridge__XtCreditDetail d = detail();
    MONEY_EQ(d.m_davailable, 1000000.00);
    MONEY_EQ(d.m_dfinenablequota, 1000000.00);
    MONEY_EQ(d.m_dsloenablequota, 500000.00);
}

/* ---- the built-in table ---------------------------------------------------------------- */

Test(credit, subjects_slo_codes_and_collateral_include_the_doc_examples, .init = start,
     .fini = stop, .timeout = 60) {
    Xtbridge__Reply *reply = credit_call(XTBRIDGE__REQUEST__BODY_QUERY_CREDIT_SUBJECTS,
                                         XTBRIDGE__REPLY__RESULT_QUERY_CREDIT_SUBJECTS);
    int found = 0;
    for (size_t i = 0; i < reply->query_credit_subjects->n_subjects; i++) {
        Xtbridge__CreditSubjects *s = reply->query_credit_subjects->subjects[i];
        cr_assert_str_eq(s->account_id, CREDIT);
        if (strcmp(s->instrument_id, "600000.SH") == 0 ||
            strcmp(s->instrument_id, "000001.SZ") == 0) {
            found++;
            cr_assert_eq(s->fin_status, 0);
            cr_assert_eq(s->slo_status, 0);
            cr_assert_eq(s->fin_ratio, 1.0);
            cr_assert_eq(s->slo_ratio, 1.0);
            cr_assert_eq(s->exchange_id, s->instrument_id[8] == 'H' ? 0 : 1);
        }
    }
    cr_assert_eq(found, 2);
    xtb_reply_destroy(&reply);

    reply = credit_call(XTBRIDGE__REQUEST__BODY_QUERY_CREDIT_ASSURE,
                        XTBRIDGE__REPLY__RESULT_QUERY_CREDIT_ASSURE);
    found = 0;
    for (size_t i = 0; i < reply->query_credit_assure->n_assures; i++) {
        Xtbridge__CreditAssure *a = reply->query_credit_assure->assures[i];
        if (strcmp(a->instrument_id, "600000.SH") == 0 ||
            strcmp(a->instrument_id, "000001.SZ") == 0) {
            found++;
            cr_assert_eq(a->assure_status, 0);
            cr_assert_eq(a->assure_ratio, 0.70);
        }
    }
    cr_assert_eq(found, 2);
    xtb_reply_destroy(&reply);

    reply = credit_call(XTBRIDGE__REQUEST__BODY_QUERY_CREDIT_SLO_CODE,
                        XTBRIDGE__REPLY__RESULT_QUERY_CREDIT_SLO_CODE);
    found = 0;
    for (size_t i = 0; i < reply->query_credit_slo_code->n_slo_codes; i++) {
        Xtbridge__CreditSloCode *s = reply->query_credit_slo_code->slo_codes[i];
        if (strcmp(s->instrument_id, "000001.SZ") == 0) {
            found++;
            cr_assert_eq(s->enable_amount, 100000);
        }
    }
    cr_assert_eq(found, 1);
    xtb_reply_destroy(&reply);
}

/* ---- appointments (smt) ----------------------------------------------------------------- */

Test(credit, smt_negotiate_pushes_its_answer_and_adds_a_compact, .init = start, .fini = stop,
     .timeout = 60) {
    cr_assert_eq(xtb_client_subscribe(s_client, "smt_appointment." CREDIT "."), 0);
    cr_assert_eq(xtb_client_sync_subscriptions(s_client, 5000), 0);

    Xtbridge__Reply *reply = credit_call(XTBRIDGE__REQUEST__BODY_SMT_QUERY_QUOTER,
                                         XTBRIDGE__REPLY__RESULT_SMT_QUERY_QUOTER);
    cr_assert_eq(reply->smt_query_quoter->n_quoters, 2);
    Xtbridge__SmtQuoter *q = reply->smt_query_quoter->quoters[0];
    cr_assert_str_eq(q->code, "000001.SZ");
    cr_assert_eq(q->lowdate, 7);
    cr_assert_eq(q->enablesloamountt0, 100000);
    xtb_reply_destroy(&reply);

    /* the vendor doc's example: ('', '000001.SZ', 7, 100, 0.2, {subFareRate, fineRate}) */
    reply = xtbt_call_ok(
        s_client, smt_req("000001.SZ", 7, 100, 0.2, "{\"subFareRate\":0.1,\"fineRate\":0.1}"),
        XTBRIDGE__REPLY__RESULT_SMT_NEGOTIATE_ORDER_ASYNC);
    int64_t seq = reply->smt_negotiate_order_async->seq;
    cr_assert_gt(seq, 0);
    xtb_reply_destroy(&reply);
    Xtbridge__Event *ev = xtbt_wait_event(s_client, "smt_appointment." CREDIT ".",
                                          XTBRIDGE__EVENT__BODY_SMT_APPOINTMENT, 5000);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->smt_appointment->seq, seq);
    cr_assert(ev->smt_appointment->success);
    cr_assert_str_eq(ev->smt_appointment->apply_id, "SMT000001");
    xtb_event_destroy(&ev);

    reply = credit_call(XTBRIDGE__REQUEST__BODY_SMT_QUERY_COMPACT,
                        XTBRIDGE__REPLY__RESULT_SMT_QUERY_COMPACT);
    cr_assert_eq(reply->smt_query_compact->n_compacts, 1);
    Xtbridge__SmtCompact *c = reply->smt_query_compact->compacts[0];
    cr_assert_str_eq(c->applyid, "SMT000001");
    cr_assert_str_eq(c->code, "000001.SZ");
    cr_assert_eq(c->compacamount, 100);
    MONEY_EQ(c->compacbalance, 1100.00);
    cr_assert_eq(c->usedrate, 0.2);
    cr_assert_eq(c->preendrate, 0.1);
    cr_assert_eq(c->createdate, 20260105);
    cr_assert_eq(c->validdate, 20260112);
    xtb_reply_destroy(&reply);

    /* the appointment adds to the lendable shares */
    reply = credit_call(XTBRIDGE__REQUEST__BODY_QUERY_CREDIT_SLO_CODE,
                        XTBRIDGE__REPLY__RESULT_QUERY_CREDIT_SLO_CODE);
    for (size_t i = 0; i < reply->query_credit_slo_code->n_slo_codes; i++)
        if (strcmp(reply->query_credit_slo_code->slo_codes[i]->instrument_id, "000001.SZ") == 0)
            cr_assert_eq(reply->query_credit_slo_code->slo_codes[i]->enable_amount, 100100);
    xtb_reply_destroy(&reply);

    /* refused by the lender: pushed with success false and the reason */
    reply = xtbt_call_ok(s_client, smt_req("000001.SZ", 365, 100, 0.2, ""),
                         XTBRIDGE__REPLY__RESULT_SMT_NEGOTIATE_ORDER_ASYNC);
    seq = reply->smt_negotiate_order_async->seq;
    xtb_reply_destroy(&reply);
    ev = xtbt_wait_event(s_client, "smt_appointment." CREDIT ".",
                         XTBRIDGE__EVENT__BODY_SMT_APPOINTMENT, 5000);
    cr_assert_not_null(ev);
    cr_assert_eq(ev->smt_appointment->seq, seq);
    cr_assert_not(ev->smt_appointment->success);
    cr_assert_str_eq(ev->smt_appointment->apply_id, "-1");
    cr_assert_str_eq(ev->smt_appointment->msg, "term 365 days is outside 7 - 182");
    xtb_event_destroy(&ev);

    /* bad arguments: nothing sent, nothing pushed */
    const char *bad_dict[] = {"{\"subFareRate\": \"x\"}", "{\"other\": 1}", "[1]"};
    for (size_t i = 0; i < 3; i++) {
        reply = xtbt_call(s_client, smt_req("000001.SZ", 7, 100, 0.2, bad_dict[i]));
        cr_assert_eq(reply->error->code, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT, "%s", bad_dict[i]);
        xtb_reply_destroy(&reply);
    }
    reply = xtbt_call(s_client, smt_req("000001.SZ", 7, -100, 0.2, ""));
    cr_assert_eq(reply->error->code, XTBRIDGE__ERROR_CODE__INVALID_ARGUMENT);
    cr_assert(strstr(reply->error->message, "amount must be > 0"), "%s", reply->error->message);
    xtb_reply_destroy(&reply);
}

/* ---- external deals ---------------------------------------------------------------------- */

Test(credit, sync_transaction_from_external_records_deals, .init = start, .fini = stop,
     .timeout = 60) {
    char out[512];
    const char *deal[] = {"{\"m_strExchangeID\":\"SH\", \"m_strInstrumentID\":\"600000\", "
                          "\"m_strTradeID\":\"123456\", \"m_strOrderSysID\":\"1234566\", "
                          "\"m_dPrice\":10.5, \"m_nVolume\":300, \"m_strTradeDate\":\"20240627\"}"};
    sync_deals("ADDD", "DEAL", deal, 1, CREDIT, out, sizeof out);
    cr_assert_str_eq(out, "{\"error\": {\"msg\": \"[0-0: invalid operation type: ADDD (ADD, "
                          "UPDATE, REPLACE or DELETE)], \"}}");
    sync_deals("ADD", "DEAL", deal, 1, CREDIT, out, sizeof out);
    cr_assert_str_eq(out, "{\"msg\": \"sync transaction from external success\"}");
    sync_deals("ADD", "DEAL", deal, 1, CREDIT, out, sizeof out);
    cr_assert(strstr(out, "trade 123456 already recorded"), "%s", out);
    const char *broken[] = {"{\"m_strTradeID\":\"9\", \"m_dPrice\":-1, \"m_nVolume\":1, "
                            "\"m_strInstrumentID\":\"600000\"}"};
    sync_deals("ADD", "DEAL", broken, 1, CREDIT, out, sizeof out);
    cr_assert(strstr(out, "m_dPrice must be a number > 0"), "%s", out);
    sync_deals("ADD", "DEAL", deal, 1, "42", out, sizeof out);
    cr_assert(strstr(out, "can not find account info, accountID:42 accountType:3"), "%s", out);

    Xtbridge__Reply *reply = credit_call(XTBRIDGE__REQUEST__BODY_QUERY_STOCK_TRADES,
                                         XTBRIDGE__REPLY__RESULT_QUERY_STOCK_TRADES);
    cr_assert_eq(reply->query_stock_trades->n_trades, 1);
    Xtbridge__XtTrade *t = reply->query_stock_trades->trades[0];
    cr_assert_str_eq(t->stock_code, "600000.SH");
    cr_assert_str_eq(t->traded_id, "123456");
    cr_assert_str_eq(t->order_sysid, "1234566");
    cr_assert_eq(t->traded_volume, 300);
    cr_assert_eq(t->traded_time, 1719417600); /* 2024-06-27 00:00 in China, epoch seconds */
    MONEY_EQ(t->traded_price, 10.50);
    MONEY_EQ(t->traded_amount, 3150.00);
    xtb_reply_destroy(&reply);

    const char *updated[] = {"{\"m_strExchangeID\":\"SH\", \"m_strInstrumentID\":\"600000\", "
                             "\"m_strTradeID\":\"123456\", \"m_dPrice\":10.4, \"m_nVolume\":200}"};
    sync_deals("UPDATE", "DEAL", updated, 1, CREDIT, out, sizeof out);
    cr_assert_str_eq(out, "{\"msg\": \"sync transaction from external success\"}");
    reply = credit_call(XTBRIDGE__REQUEST__BODY_QUERY_STOCK_TRADES,
                        XTBRIDGE__REPLY__RESULT_QUERY_STOCK_TRADES);
    cr_assert_eq(reply->query_stock_trades->trades[0]->traded_volume, 200);
    xtb_reply_destroy(&reply);
    sync_deals("DELETE", "DEAL", updated, 1, CREDIT, out, sizeof out);
    cr_assert_str_eq(out, "{\"msg\": \"sync transaction from external success\"}");
    sync_deals("DELETE", "DEAL", updated, 1, CREDIT, out, sizeof out);
    cr_assert(strstr(out, "no recorded trade 123456"), "%s", out);
    reply = credit_call(XTBRIDGE__REQUEST__BODY_QUERY_STOCK_TRADES,
                        XTBRIDGE__REPLY__RESULT_QUERY_STOCK_TRADES);
    cr_assert_eq(reply->query_stock_trades->n_trades, 0);
    xtb_reply_destroy(&reply);
}

/* ---- durability ------------------------------------------------------------------------- */

Test(credit, restart_keeps_compacts_quotas_appointments_deals_and_counters, .init = start,
     .fini = stop, .timeout = 60) {
    set_price("600000.SH", 10.00);
    credit_order("600000.SH", 27, 1000, 10.00);                 /* financing compact RZ000001 */
    credit_order("600000.SH", 28, 500, 10.00);                  /* lending compact RQ000002 */
    int64_t resting = credit_order("600000.SH", 27, 100, 9.50); /* holds 950.00 of quota */
    char msg[256], out[256];
    cr_assert(transfer(CREDIT, 3, 510, 123.45, msg, sizeof msg), "%s", msg);
    Xtbridge__Reply *reply = xtbt_call_ok(s_client, smt_req("600000.SH", 14, 200, 0.25, ""),
                                          XTBRIDGE__REPLY__RESULT_SMT_NEGOTIATE_ORDER_ASYNC);
    xtb_reply_destroy(&reply);
    const char *deal[] = {"{\"m_strInstrumentID\":\"000001.SZ\", \"m_strTradeID\":\"T1\", "
                          "\"m_dPrice\":11, \"m_nVolume\":100}"};
    sync_deals("ADD", "DEAL", deal, 1, CREDIT, out, sizeof out);
    next_day(); /* interest: 2.00 financing, 1.25 lending */
    Xtbridge__XtCreditDetail before = detail();
    double com_before = com_cash(CREDIT, 3);

    xtb_client_destroy(&s_client);
    cr_assert_eq(xtbt_bridge_kill(s_bridge), 0);
    cr_assert_eq(xtbt_bridge_restart(s_bridge, NULL), 0);
    s_client = xtbt_bridge_client(s_bridge);

    Xtbridge__XtCreditDetail after = detail();
    MONEY_EQ(after.m_davailable, before.m_davailable);
    MONEY_EQ(after.m_dfindebt, 10002.00);
    MONEY_EQ(after.m_dfinfee, 2.00);
    MONEY_EQ(after.m_dslofee, 1.25);
    MONEY_EQ(after.m_dfinenablequota, 990000.00); /* the resting order expired at day close */
    MONEY_EQ(after.m_dslosellbalance, before.m_dslosellbalance);
    MONEY_EQ(after.m_dsloenablequota, before.m_dsloenablequota);
    MONEY_EQ(com_cash(CREDIT, 3), com_before);
    (void)resting;

    reply = credit_call(XTBRIDGE__REQUEST__BODY_QUERY_STK_COMPACTS,
                        XTBRIDGE__REPLY__RESULT_QUERY_STK_COMPACTS);
    cr_assert_eq(reply->query_stk_compacts->n_compacts, 2);
    cr_assert_str_eq(reply->query_stk_compacts->compacts[0]->compact_id, "RZ000001");
    cr_assert_str_eq(reply->query_stk_compacts->compacts[1]->compact_id, "RQ000002");
    MONEY_EQ(reply->query_stk_compacts->compacts[1]->real_compact_fare, 1.25);
    xtb_reply_destroy(&reply);
    reply = credit_call(XTBRIDGE__REQUEST__BODY_SMT_QUERY_COMPACT,
                        XTBRIDGE__REPLY__RESULT_SMT_QUERY_COMPACT);
    cr_assert_eq(reply->smt_query_compact->n_compacts, 1);
    cr_assert_str_eq(reply->smt_query_compact->compacts[0]->applyid, "SMT000001");
    xtb_reply_destroy(&reply);
    reply = credit_call(XTBRIDGE__REQUEST__BODY_QUERY_STOCK_TRADES,
                        XTBRIDGE__REPLY__RESULT_QUERY_STOCK_TRADES);
    cr_assert_eq(reply->query_stock_trades->n_trades, 1);
    cr_assert_str_eq(reply->query_stock_trades->trades[0]->traded_id, "T1");
    xtb_reply_destroy(&reply);

    /* and it goes on: a resting margin buy after the restart holds quota exactly */
    credit_order("600000.SH", 27, 100, 9.50);
    MONEY_EQ(detail().m_dfinenablequota, 989050.00);
    next_day();
    MONEY_EQ(detail().m_dfinfee, 4.00);
    reply = credit_call(XTBRIDGE__REQUEST__BODY_QUERY_STK_COMPACTS,
                        XTBRIDGE__REPLY__RESULT_QUERY_STK_COMPACTS);
    cr_assert_str_eq(reply->query_stk_compacts->compacts[0]->compact_id, "RZ000001");
    xtb_reply_destroy(&reply);
    credit_order("600000.SH", 27, 100, 10.00);
    reply = credit_call(XTBRIDGE__REQUEST__BODY_QUERY_STK_COMPACTS,
                        XTBRIDGE__REPLY__RESULT_QUERY_STK_COMPACTS);
    cr_assert_eq(reply->query_stk_compacts->n_compacts, 3);
    cr_assert_str_eq(reply->query_stk_compacts->compacts[2]->compact_id, "RZ000003");
    cr_assert_eq(reply->query_stk_compacts->compacts[2]->open_date, 20260107);
    xtb_reply_destroy(&reply);
}

/* ---- xtbctl call reaches the new calls ---------------------------------------------------- */

Test(credit, xtbctl_call_reaches_the_credit_calls, .init = start, .fini = stop, .timeout = 60) {
    char out[8192];
    const char *acc = "--arg account.account_id=" CREDIT " --arg account.account_type=3";
    char args[1024];
    set_price("600000.SH", 10.00);
    snprintf(args, sizeof args,
             "call order_stock %s --arg stock_code=600000.SH --arg order_type=27 "
             "--arg order_volume=1000 --arg price_type=11 --arg price=10.00",
             acc);
    cr_assert_eq(run_ctl(args, out, sizeof out), 0, "%s", out);
    snprintf(args, sizeof args, "call query_stk_compacts %s", acc);
    cr_assert_eq(run_ctl(args, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "compact_id=RZ000001"), "%s", out);
    cr_assert(strstr(out, "business_balance=10000"), "%s", out);
    snprintf(args, sizeof args, "call query_credit_detail %s", acc);
    cr_assert_eq(run_ctl(args, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "m_dFinDebt=10000"), "%s", out);
    cr_assert(strstr(out, "m_dFinEnableQuota=990000"), "%s", out);
    const char *calls[] = {"query_credit_subjects", "query_credit_slo_code", "query_credit_assure",
                           "query_com_fund",        "query_com_position",    "smt_query_quoter",
                           "smt_query_compact"};
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        snprintf(args, sizeof args, "call %s %s", calls[i], acc);
        cr_assert_eq(run_ctl(args, out, sizeof out), 0, "%s: %s", calls[i], out);
        cr_assert(strstr(out, calls[i]), "%s", out);
    }
    snprintf(args, sizeof args, "call fund_transfer %s --arg transfer_direction=510 --arg price=10",
             acc);
    cr_assert_eq(run_ctl(args, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "success=true"), "%s", out);
    snprintf(args, sizeof args,
             "call smt_negotiate_order_async %s --arg order_code=000001.SZ --arg date=7 "
             "--arg amount=100 --arg apply_rate=0.2",
             acc);
    cr_assert_eq(run_ctl(args, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "seq="), "%s", out);
    snprintf(args, sizeof args,
             "call sync_transaction_from_external %s --arg operation=ADD --arg data_type=DEAL "
             "--arg 'deal_list_json={\"m_strInstrumentID\":\"600000.SH\",\"m_strTradeID\":\"X\","
             "\"m_dPrice\":10,\"m_nVolume\":100}'",
             acc);
    cr_assert_eq(run_ctl(args, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "sync transaction from external success"), "%s", out);
    /* --account fills in the id of an account given only its type */
    cr_assert_eq(run_ctl("--account " CREDIT
                         " call query_stk_compacts --arg account.account_type=3",
                         out, sizeof out),
                 0, "%s", out);
    cr_assert(strstr(out, "compact_id=RZ000001"), "%s", out);
    /* --account-type makes the ordinary commands work on the CREDIT account */
    cr_assert_eq(run_ctl("--account " CREDIT " --account-type 3 order 600000.SH buy 100 10.00 "
                         "--type 27",
                         out, sizeof out),
                 0, "%s", out);
    cr_assert_eq(run_ctl("--account " CREDIT " --account-type 3 asset", out, sizeof out), 0, "%s",
                 out);
    /* fees 5.10 + 5.01 of two margin buys, 10.00 transferred in */
    cr_assert(strstr(out, "cash:         999999.89"), "%s", out);
    cr_assert(strstr(out, "market_value: 11000.00"), "%s", out);
    /* a wrong account type is the bridge's refusal: exit 1 with the reason */
    cr_assert_eq(
        run_ctl("call query_stk_compacts --arg account.account_id=" STOCK, out, sizeof out), 1,
        "%s", out);
    cr_assert(strstr(out, "needs a CREDIT account"), "%s", out);
}
